//! Key files of a deployment (dev keys: `solvency keys generate`, the devnet): the enclave key,
//! the ledger key, quorum instances' keys, and a reporter and a treasury key per chain, all
//! created `0600` and never overwritten.

use std::path::{Path, PathBuf};

use anyhow::Context;
use solvency_enclave::{EnclaveKeys, KeyError, X25519KeyPair};

/// The key files of a keys directory, loaded.
pub struct KeyDir {
    /// `DIR/keys`.
    pub dir: PathBuf,
    /// The enclave.
    pub enclave: EnclaveKeys,
    /// The deployment's ledger key (`[enclave.ledger]`): the first instance's, released by
    /// evidence to the others.
    pub ledger: X25519KeyPair,
    /// One reporter key per chain, in chain order.
    pub reporters: Vec<X25519KeyPair>,
    /// One treasury key per chain, in chain order.
    pub treasuries: Vec<X25519KeyPair>,
}

/// The enclave key file in a keys directory.
pub fn enclave_key_file(dir: &Path) -> PathBuf {
    dir.join("enclave.key")
}

/// The ledger key file in a keys directory.
pub fn ledger_key_file(dir: &Path) -> PathBuf {
    dir.join("ledger.key")
}

/// The kind tag of a ledger key file.
pub const LEDGER_KIND: &str = "ledger";

/// Gives `enclave` the ledger key in `file` (the deployment's first instance, or an in-process
/// enclave), refusing a file whose key is not the one `[enclave.ledger]` names.
pub fn give_ledger_key(enclave: &mut solvency_enclave::Enclave, file: &Path) -> anyhow::Result<()> {
    let key = X25519KeyPair::load(file, LEDGER_KIND)?;
    enclave.set_ledger_key(key).with_context(|| format!("{}", file.display()))?;
    Ok(())
}

/// The key file of quorum instance `i`.
pub fn instance_key_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("enclave-{i}.key"))
}

/// Keys of `n` quorum instances in `dir`: `enclave-<i>.key`, each sharing the HPKE key of
/// `enclave.key` with a signing key of its own. Existing files are loaded, missing ones made.
pub fn prepare_instance_keys(
    dir: &Path,
    base: &EnclaveKeys,
    n: usize,
) -> anyhow::Result<Vec<EnclaveKeys>> {
    (0..n)
        .map(|i| {
            let path = instance_key_file(dir, i);
            match EnclaveKeys::load(&path) {
                Ok(keys) if keys.public().hpke_public_key == base.public().hpke_public_key => {
                    Ok(keys)
                }
                Ok(_) => {
                    anyhow::bail!("{} does not share the HPKE key of enclave.key", path.display())
                }
                Err(KeyError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    let keys = base.sibling();
                    keys.save(&path)?;
                    Ok(keys)
                }
                Err(e) => Err(e.into()),
            }
        })
        .collect()
}

/// A chain's reporter key file.
pub fn reporter_key_file(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("reporter-{chain}.key"))
}

/// A chain's treasury key file.
pub fn treasury_key_file(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("treasury-{chain}.key"))
}

/// Loads the keys in `dir`, generating (and saving) any that are missing.
pub fn prepare_keys(dir: &Path, chain_names: &[String]) -> anyhow::Result<KeyDir> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let enclave_file = enclave_key_file(dir);
    let enclave = match EnclaveKeys::load(&enclave_file) {
        Ok(keys) => keys,
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let keys = EnclaveKeys::generate();
            keys.save(&enclave_file)?;
            keys
        }
        Err(e) => return Err(e.into()),
    };
    let load_or_generate = |path: PathBuf, kind: &'static str| -> anyhow::Result<X25519KeyPair> {
        match X25519KeyPair::load(&path, kind) {
            Ok(key) => Ok(key),
            Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let key = X25519KeyPair::generate();
                key.save(&path, kind)?;
                Ok(key)
            }
            Err(e) => Err(e.into()),
        }
    };
    let ledger = load_or_generate(ledger_key_file(dir), LEDGER_KIND)?;
    let reporters = chain_names
        .iter()
        .map(|name| load_or_generate(reporter_key_file(dir, name), "reporter"))
        .collect::<anyhow::Result<_>>()?;
    let treasuries = chain_names
        .iter()
        .map(|name| load_or_generate(treasury_key_file(dir, name), "treasury"))
        .collect::<anyhow::Result<_>>()?;
    Ok(KeyDir { dir: dir.to_owned(), enclave, ledger, reporters, treasuries })
}
