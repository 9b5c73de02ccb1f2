//! The adapters' error type.

use std::path::PathBuf;

/// What can go wrong talking to a chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The RPC URL is not usable.
    #[error("chain {chain}: {source}")]
    Url {
        /// The chain.
        chain: String,
        /// Why.
        #[source]
        source: solvency_ccip::provider::InvalidRpcUrl,
    },
    /// A JSON-RPC call failed (after retries, when it was retryable).
    #[error("chain {chain}: {action}: {source}")]
    Rpc {
        /// The chain.
        chain: String,
        /// What the adapter was doing.
        action: String,
        /// The transport error.
        #[source]
        source: Box<alloy::transports::TransportError>,
    },
    /// A contract call failed or returned something that does not decode.
    #[error("chain {chain}: {action}: {source}")]
    Contract {
        /// The chain.
        chain: String,
        /// What the adapter was doing.
        action: String,
        /// The error.
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// A log does not decode as the event it claims to be.
    #[error("chain {chain}: log {tx_hash:?}#{log_index:?} is not a valid ReportDelivered event")]
    BadLog {
        /// The chain.
        chain: String,
        /// The transaction that emitted it.
        tx_hash: Option<alloy::primitives::B256>,
        /// Its index in the block.
        log_index: Option<u64>,
    },
    /// The node answered without the data asked for.
    #[error("chain {chain}: the node returned no {what}")]
    Missing {
        /// The chain.
        chain: String,
        /// What was missing.
        what: &'static str,
    },
    /// The cursor file cannot be read or written.
    #[error("{}: {reason}", path.display())]
    Cursor {
        /// The file.
        path: PathBuf,
        /// What happened and what to do.
        reason: String,
    },
}

impl Error {
    /// Worth trying again later: transport failures, not bad data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Rpc { source, .. } => is_transient(source),
            Self::Contract { source, .. } => {
                matches!(source.as_ref(), alloy::contract::Error::TransportError(t) if is_transient(t))
            }
            _ => false,
        }
    }
}

/// Connection failures and server errors are transient; an error response to a well-formed
/// request (a revert, an unknown method) is not.
pub(crate) fn is_transient(error: &alloy::transports::TransportError) -> bool {
    !matches!(error, alloy::transports::RpcError::ErrorResp(_))
}
