//! Hosting the Self-Healing Reserve enclave: the only code a TEE image needs besides
//! `solvency-enclave`.
//!
//! - [`Host`]: one [`solvency_enclave::Enclave`], its attestor and its [`Store`]; every change
//!   is persisted before its result leaves, and undone if persisting fails.
//! - [`Store`]: a JSON state file (epochs, seqs, report digests, the last signed attestation:
//!   never a secret or an amount) or sealed state (keys and ledger too, under a key bound to the
//!   measurement). Either is locked: one process owns it at a time.
//! - [`serve`]: the host on a `0600` Unix socket, one JSON line per request and answer.
//! - [`EnclaveClient`]: the same typed calls to an in-process host or a served instance.
//! - [`protocol`]: [`Request`], [`Response`] and [`Refusal`], whose variants callers match.
//!
//! Nothing here opens a network connection, and nothing here logs or returns an amount.

mod client;
mod host;
pub mod protocol;
mod server;
mod store;

use std::path::PathBuf;

pub use client::{CALL_TIMEOUT, CallError, EnclaveClient};
pub use host::Host;
pub use protocol::{Refusal, Request, Response};
pub use server::serve;
pub use store::{Store, load_state};

/// Why an enclave could not be hosted.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The state is locked by another process, or cannot be written.
    #[error(transparent)]
    Durable(#[from] solvency_durable::Error),
    /// A state file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON state file is damaged.
    #[error("{}: {reason}", path.display())]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Sealed state could not be opened.
    #[error("{}: {source}", path.display())]
    Sealed {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: solvency_enclave::SealedStateError,
    },
    /// No sealed state yet and no keys to start from.
    #[error("{}: no sealed state yet: give the instance's key file for its first start", path.display())]
    NoKeys {
        /// The sealed state file.
        path: PathBuf,
    },
    /// Another live instance serves on the socket.
    #[error("{}: another enclave instance is serving on this socket; stop it first or choose another socket", socket.display())]
    SocketInUse {
        /// The socket.
        socket: PathBuf,
    },
    /// The socket cannot be created.
    #[error("{}: cannot listen: {source}", socket.display())]
    Listen {
        /// The socket.
        socket: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The host's clock in Unix seconds (the enclave's `now`).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
