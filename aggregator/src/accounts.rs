//! EVM accounts (publisher, reporter, maker, owner): from an encrypted keystore — the Web3
//! Secret Storage format geth, foundry's `cast wallet` and alloy read — or from a secret key
//! in an environment variable or flag. A keystore's password comes from
//! `SOLVENCY_KEYSTORE_PASSWORD` or the file `SOLVENCY_KEYSTORE_PASSWORD_FILE` names; it never
//! reaches a log line or an error.

use std::path::Path;

use alloy::{
    primitives::{Address, B256},
    signers::local::{LocalSignerError, PrivateKeySigner},
};
use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// The environment variable that holds a keystore's password.
pub const PASSWORD_ENV: &str = "SOLVENCY_KEYSTORE_PASSWORD";
/// The environment variable that names a file holding a keystore's password.
pub const PASSWORD_FILE_ENV: &str = "SOLVENCY_KEYSTORE_PASSWORD_FILE";

/// The keystore password, from the environment.
fn password() -> anyhow::Result<Zeroizing<String>> {
    if let Some(password) = std::env::var_os(PASSWORD_ENV) {
        return Ok(Zeroizing::new(password.to_string_lossy().into_owned()));
    }
    if let Some(file) = std::env::var_os(PASSWORD_FILE_ENV) {
        let text = Zeroizing::new(std::fs::read_to_string(&file).with_context(|| {
            format!("reading the keystore password from {}", Path::new(&file).display())
        })?);
        return Ok(Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned()));
    }
    bail!(
        "a keystore needs its password: set {PASSWORD_ENV}, or {PASSWORD_FILE_ENV} to a file holding it"
    )
}

/// The account in an encrypted keystore file.
pub fn from_keystore(path: &Path) -> anyhow::Result<PrivateKeySigner> {
    let password = password()?;
    PrivateKeySigner::decrypt_keystore(path, password.as_bytes()).map_err(|e| match e {
        LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::MacMismatch) => {
            anyhow::anyhow!(
                "{}: wrong password for this keystore (or the file was altered); nothing was signed",
                path.display()
            )
        }
        LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::StdIo(e)) => {
            anyhow::anyhow!("{}: {e}", path.display())
        }
        other => anyhow::anyhow!("{}: not a usable keystore ({other})", path.display()),
    })
}

/// The account a command uses: from `keystore` if given, else the secret key (from a flag or
/// its environment variable), else none.
pub fn account(
    key: Option<B256>,
    keystore: Option<&Path>,
) -> anyhow::Result<Option<PrivateKeySigner>> {
    match (key, keystore) {
        (_, Some(path)) => from_keystore(path).map(Some),
        (Some(key), None) => PrivateKeySigner::from_bytes(&key)
            .map(Some)
            .map_err(|_| anyhow::anyhow!("the secret key is not a valid secp256k1 key")),
        (None, None) => Ok(None),
    }
}

/// Writes `key` (or a new random key) to a new keystore file at `path`, encrypted with the
/// environment's password; returns its address. Never overwrites a file.
pub fn create_keystore(path: &Path, key: Option<B256>) -> anyhow::Result<Address> {
    if path.exists() {
        bail!("{}: already exists; refusing to overwrite a keystore", path.display());
    }
    let password = password()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: not a file name", path.display()))?;
    let secret = Zeroizing::new(key.unwrap_or_else(|| PrivateKeySigner::random().to_bytes()).0);
    let (signer, _) = PrivateKeySigner::encrypt_keystore(
        dir,
        &mut rand08::thread_rng(),
        secret.as_slice(),
        password.as_bytes(),
        Some(name),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(signer.address())
}
