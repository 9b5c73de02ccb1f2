//! Keys: X25519 (HPKE) key pairs for the enclave, reporters and treasuries, and the enclave's
//! secp256k1 attestation key. Generated, saved to files created `0600`, loaded only from files
//! no one else can read; zeroized on drop; `Debug` prints public halves only.

use std::{
    fmt,
    fs::{self, OpenOptions},
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::AttestationSigner;

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file already exists; keys are never overwritten.
    #[error("{}: already exists; refusing to overwrite a key (move it away first)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Group or others may read the file.
    #[error("{}: mode {mode:o} lets others read a secret key; run `chmod 600 {}`", path.display(), path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a key of the expected kind.
    #[error("{}: not a {expected} key file ({reason})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The kind that was expected.
        expected: &'static str,
        /// What is wrong (never the key itself).
        reason: String,
    },
}

/// An X25519 key pair, used with HPKE DHKEM(X25519, HKDF-SHA256).
pub struct X25519KeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl X25519KeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        Self::from_secret(StaticSecret::random())
    }

    /// The key pair of a 32-byte secret (clamped as X25519 requires).
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        Self::from_secret(StaticSecret::from(bytes))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The public key, as published in `networks.toml`.
    pub fn public(&self) -> X25519Public {
        X25519Public(self.public.to_bytes())
    }

    /// The secret scalar, for HPKE; wiped when dropped.
    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }
}

impl fmt::Debug for X25519KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X25519KeyPair").field("public", &self.public()).finish_non_exhaustive()
    }
}

/// An X25519 public key (32 bytes), shown and parsed as 0x-hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "B256", from = "B256")]
pub struct X25519Public(pub [u8; 32]);

impl From<X25519Public> for B256 {
    fn from(key: X25519Public) -> Self {
        B256::from(key.0)
    }
}

impl From<B256> for X25519Public {
    fn from(bytes: B256) -> Self {
        Self(bytes.0)
    }
}

impl fmt::Debug for X25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", B256::from(self.0))
    }
}

impl fmt::Display for X25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", B256::from(self.0))
    }
}

impl X25519Public {
    /// False for the low-order points (all zeros among them): no one holds their secret and a
    /// Diffie-Hellman with them gives a shared secret anyone can compute, so no message can be
    /// sealed to or authenticated by such a key.
    pub fn is_usable(&self) -> bool {
        // Any fixed non-zero scalar works: the output is non-contributory exactly for the
        // low-order points.
        StaticSecret::from([0x42; 32]).diffie_hellman(&PublicKey::from(self.0)).was_contributory()
    }
}

impl std::str::FromStr for X25519Public {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<B256>()
            .map(Self::from)
            .map_err(|_| format!("{s:?} is not an X25519 public key (0x + 64 hex digits)"))
    }
}

/// The enclave's keys: HPKE (opens reports, seals instructions) and secp256k1 (signs attestations).
pub struct EnclaveKeys {
    /// Opens reports and seals instructions.
    pub hpke: X25519KeyPair,
    /// Signs attestations.
    pub signer: AttestationSigner,
}

/// The public halves of the enclave's keys: what reporters and contracts need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclavePublic {
    /// Reporters seal to this key.
    pub hpke_public_key: X25519Public,
    /// Contracts register this signer.
    pub signer: Address,
}

impl EnclaveKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Self { hpke: X25519KeyPair::generate(), signer: AttestationSigner::random() }
    }

    /// Another instance of the same enclave: the same HPKE key (reporters seal to one key and
    /// every instance of a quorum must open their reports), a signing key of its own.
    pub fn sibling(&self) -> Self {
        Self {
            hpke: X25519KeyPair::from_secret_bytes(*self.hpke.secret_bytes()),
            signer: AttestationSigner::random(),
        }
    }

    /// The public halves.
    pub fn public(&self) -> EnclavePublic {
        EnclavePublic { hpke_public_key: self.hpke.public(), signer: self.signer.address() }
    }

    /// Writes the keys to a new file created with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let file = SecretFile {
            kind: ENCLAVE_KIND.into(),
            secrets: vec![
                hex_secret(&self.hpke.secret_bytes()),
                hex_secret(&self.signer.secret_bytes()),
            ],
        };
        write_secret_file(path, &file)
    }

    /// Loads keys saved with [`EnclaveKeys::save`].
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let file = read_secret_file(path, ENCLAVE_KIND, 2)?;
        let hpke =
            X25519KeyPair::from_secret_bytes(*parse_secret(path, ENCLAVE_KIND, &file.secrets[0])?);
        let signing = parse_secret(path, ENCLAVE_KIND, &file.secrets[1])?;
        let signer =
            AttestationSigner::from_bytes(&B256::from(*signing)).map_err(|_| KeyError::Format {
                path: path.to_owned(),
                expected: ENCLAVE_KIND,
                reason: "the signing key is not a valid secp256k1 scalar".into(),
            })?;
        Ok(Self { hpke, signer })
    }
}

impl fmt::Debug for EnclaveKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnclaveKeys")
            .field("hpke_public_key", &self.hpke.public())
            .field("signer", &self.signer.address())
            .finish_non_exhaustive()
    }
}

impl X25519KeyPair {
    /// Writes the secret to a new file created with mode 0600, tagged with its `kind`
    /// (`reporter`, `treasury`).
    pub fn save(&self, path: &Path, kind: &'static str) -> Result<(), KeyError> {
        write_secret_file(
            path,
            &SecretFile { kind: kind.into(), secrets: vec![hex_secret(&self.secret_bytes())] },
        )
    }

    /// Loads a key pair saved with [`X25519KeyPair::save`] under the same `kind`.
    pub fn load(path: &Path, kind: &'static str) -> Result<Self, KeyError> {
        let file = read_secret_file(path, kind, 1)?;
        Ok(Self::from_secret_bytes(*parse_secret(path, kind, &file.secrets[0])?))
    }
}

const ENCLAVE_KIND: &str = "enclave";
const SEALING_KIND: &str = "sealing";

/// The key an enclave instance seals its state under, together with its measurement.
///
/// In a TEE it comes from the platform (on AWS Nitro, a KMS key whose policy releases it only to
/// an enclave with the expected PCRs); on a developer machine it is a local file, and sealing is
/// only as good as that file's permissions.
pub struct SealingKey(Zeroizing<[u8; 32]>);

impl SealingKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(X25519KeyPair::generate().secret_bytes().as_ref());
        Self(bytes)
    }

    /// Writes the key to a new file created with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        write_secret_file(
            path,
            &SecretFile { kind: SEALING_KIND.into(), secrets: vec![hex_secret(&self.0)] },
        )
    }

    /// Loads a key saved with [`SealingKey::save`].
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let file = read_secret_file(path, SEALING_KIND, 1)?;
        Ok(Self(parse_secret(path, SEALING_KIND, &file.secrets[0])?))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

impl EnclaveKeys {
    /// The secret halves, for sealed state only.
    pub(crate) fn secrets(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        (self.hpke.secret_bytes(), self.signer.secret_bytes())
    }

    /// Keys from their secret halves (sealed state only).
    pub(crate) fn from_secrets(hpke: &[u8; 32], signing: &[u8; 32]) -> Option<Self> {
        Some(Self {
            hpke: X25519KeyPair::from_secret_bytes(*hpke),
            signer: AttestationSigner::from_bytes(&B256::from(*signing)).ok()?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct SecretFile {
    kind: String,
    secrets: Vec<String>,
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        self.secrets.iter_mut().for_each(Zeroize::zeroize);
    }
}

fn hex_secret(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn parse_secret(
    path: &Path,
    kind: &'static str,
    text: &str,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim_start_matches("0x"), out.as_mut()).map_err(|_| {
        KeyError::Format {
            path: path.to_owned(),
            expected: kind,
            reason: "a secret is not 32 bytes of hex".into(),
        }
    })?;
    Ok(out)
}

fn write_secret_file(path: &Path, file: &SecretFile) -> Result<(), KeyError> {
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    let mut out = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyError::Exists { path: path.to_owned() });
        }
        Err(e) => return Err(io(e)),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(file).expect("a key file serializes"));
    out.write_all(text.as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)
}

fn read_secret_file(
    path: &Path,
    kind: &'static str,
    secrets: usize,
) -> Result<SecretFile, KeyError> {
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { path: path.to_owned(), mode });
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    let file: SecretFile = serde_json::from_str(&text).map_err(|_| KeyError::Format {
        path: path.to_owned(),
        expected: kind,
        reason: "not JSON of the expected shape".into(),
    })?;
    if file.kind != kind || file.secrets.len() != secrets {
        return Err(KeyError::Format {
            path: path.to_owned(),
            expected: kind,
            reason: format!("it holds a {} key", file.kind),
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclave_keys_round_trip_through_a_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enclave.key");
        let keys = EnclaveKeys::generate();
        keys.save(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let loaded = EnclaveKeys::load(&path).unwrap();
        assert_eq!(loaded.public(), keys.public());
    }

    #[test]
    fn refuses_to_overwrite_and_to_load_readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reporter.key");
        let key = X25519KeyPair::generate();
        key.save(&path, "reporter").unwrap();
        assert!(matches!(key.save(&path, "reporter"), Err(KeyError::Exists { .. })));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = X25519KeyPair::load(&path, "reporter").unwrap_err();
        assert!(matches!(err, KeyError::TooOpen { mode: 0o644, .. }), "{err}");
        assert!(err.to_string().contains("chmod 600"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(X25519KeyPair::load(&path, "reporter").unwrap().public(), key.public());
        assert!(matches!(X25519KeyPair::load(&path, "treasury"), Err(KeyError::Format { .. })));
    }

    #[test]
    fn debug_and_errors_show_public_halves_only() {
        let keys = EnclaveKeys::generate();
        let secret_hex = hex::encode(keys.hpke.secret_bytes().as_ref());
        let signing_hex = hex::encode(keys.signer.secret_bytes().as_ref());
        let shown = format!("{keys:?} {:?}", keys.hpke);
        assert!(shown.contains(&keys.hpke.public().to_string()));
        assert!(!shown.contains(&secret_hex) && !shown.contains(&signing_hex));
    }
}
