//! Where an enclave instance keeps what must survive a restart, owned by one process at a time.

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use solvency_durable::StateLock;
use solvency_enclave::{Enclave, EnclaveKeys, EnclaveState, Policy, SealingKey};

use crate::HostError;

/// An enclave's persistence.
pub enum Store {
    /// Nowhere: the instance forgets everything on restart (tests).
    Memory,
    /// Epochs, seqs, report digests and the last signed attestation, as JSON (no secret, no
    /// amount). A restarted instance gets its ledger back from the reports on the hub.
    StateFile {
        /// The file.
        path: PathBuf,
        /// Held while the instance runs.
        _lock: StateLock,
    },
    /// Keys, ledger and state, sealed under a key bound to the instance's measurement: a
    /// restarted instance resumes where it stopped.
    Sealed {
        /// The sealed blob's file.
        path: PathBuf,
        /// The sealing key.
        key: SealingKey,
        /// The instance's measurement.
        measurement: B256,
        /// Held while the instance runs.
        _lock: StateLock,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Store::Memory"),
            Self::StateFile { path, .. } => write!(f, "Store::StateFile({})", path.display()),
            Self::Sealed { path, .. } => write!(f, "Store::Sealed({})", path.display()),
        }
    }
}

fn lock_for(path: &Path) -> Result<StateLock, HostError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    Ok(StateLock::acquire(Path::new(&name))?)
}

impl Store {
    /// Opens a JSON state file (locking it) and builds the enclave from `keys` and what the
    /// file holds (a fresh state when there is no file yet).
    pub fn open_state_file(
        path: &Path,
        keys: EnclaveKeys,
        policy: Policy,
    ) -> Result<(Self, Enclave), HostError> {
        let lock = lock_for(path)?;
        let state = load_state(path)?;
        Ok((
            Self::StateFile { path: path.to_owned(), _lock: lock },
            Enclave::new(keys, policy, state),
        ))
    }

    /// Opens sealed state (locking it): resumes from the blob when there is one, else starts
    /// from `keys` (needed only for the first start).
    pub fn open_sealed(
        path: &Path,
        sealing_key: SealingKey,
        measurement: B256,
        keys: Option<EnclaveKeys>,
        policy: Policy,
    ) -> Result<(Self, Enclave, bool), HostError> {
        let lock = lock_for(path)?;
        let (enclave, resumed) = match std::fs::read(path) {
            Ok(blob) => {
                let enclave =
                    solvency_enclave::unseal_enclave(&blob, &sealing_key, &measurement, policy)
                        .map_err(|source| HostError::Sealed { path: path.to_owned(), source })?;
                (enclave, true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = keys.ok_or_else(|| HostError::NoKeys { path: path.to_owned() })?;
                (Enclave::new(keys, policy, EnclaveState::default()), false)
            }
            Err(source) => return Err(HostError::Read { path: path.to_owned(), source }),
        };
        let store =
            Self::Sealed { path: path.to_owned(), key: sealing_key, measurement, _lock: lock };
        Ok((store, enclave, resumed))
    }

    /// Writes the enclave's state durably (atomic replace, fsync).
    pub(crate) fn save(&self, enclave: &Enclave) -> Result<(), solvency_durable::Error> {
        match self {
            Self::Memory => Ok(()),
            Self::StateFile { path, .. } => {
                let json = serde_json::to_vec_pretty(enclave.state()).expect("state serializes");
                solvency_durable::write_atomic(path, &json, 0o600)
            }
            Self::Sealed { path, key, measurement, .. } => solvency_durable::write_atomic(
                path,
                &solvency_enclave::seal_enclave(enclave, key, measurement),
                0o600,
            ),
        }
    }
}

/// Reads a JSON state file; no file is a fresh state.
pub fn load_state(path: &Path) -> Result<EnclaveState, HostError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| HostError::StateFile {
            path: path.to_owned(),
            reason: format!(
                "not an enclave state file ({e}); move it away to start afresh (epochs continue \
                 above what the hub holds; reports must then be sent again)"
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EnclaveState::default()),
        Err(source) => Err(HostError::Read { path: path.to_owned(), source }),
    }
}
