//! The adapters' error type.

use alloy::primitives::{Address, B256};

/// What can go wrong talking to a chain. Messages never carry an RPC URL's secrets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A JSON-RPC call failed (after retries, when it was retryable).
    #[error("chain {chain}: {action}: {reason}")]
    Rpc {
        /// The chain.
        chain: String,
        /// What the adapter was doing.
        action: String,
        /// The transport's message, URL redacted.
        reason: String,
    },
    /// A contract refused a call or a transaction (its custom error decoded where known).
    #[error("chain {chain}: {action} refused: {reason}")]
    Refused {
        /// The chain.
        chain: String,
        /// What was attempted.
        action: String,
        /// The revert, decoded.
        reason: String,
    },
    /// A sent transaction was not confirmed.
    #[error("chain {chain}: {action}: {source}")]
    Confirm {
        /// The chain.
        chain: String,
        /// What the transaction did.
        action: String,
        /// Why.
        #[source]
        source: crate::rpc::ConfirmError,
    },
    /// A log does not decode as the event it claims to be.
    #[error("chain {chain}: log {tx_hash:?}#{log_index:?} is not a valid {event} event")]
    BadLog {
        /// The chain.
        chain: String,
        /// The event.
        event: &'static str,
        /// The transaction that emitted it.
        tx_hash: Option<B256>,
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
    /// The node serves another chain than the registry says.
    #[error(
        "chain {chain}: the RPC endpoint serves chain id {actual}, the registry says {expected}; \
         fix its rpc_url or chain_id"
    )]
    WrongChain {
        /// The chain.
        chain: String,
        /// The registry's chain id.
        expected: u64,
        /// The node's.
        actual: u64,
    },
    /// No contract at an address the registry gives.
    #[error(
        "chain {chain}: no contract at {address} (the registry's {what}); is it deployed there?"
    )]
    NoContract {
        /// The chain.
        chain: String,
        /// The address.
        address: Address,
        /// Which one.
        what: &'static str,
    },
}

impl Error {
    /// A word for what went wrong, for a status column: `unreachable` (the endpoint did not
    /// answer), `no contract` (nothing deployed at the registry's address), `wrong chain` (the
    /// endpoint serves another chain), `refused` (the contract refused), `bad data`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rpc { .. } | Self::Confirm { .. } => "unreachable",
            Self::NoContract { .. } => "no contract",
            Self::WrongChain { .. } => "wrong chain",
            Self::Refused { .. } => "refused",
            Self::BadLog { .. } | Self::Missing { .. } => "bad data",
        }
    }
}

/// The hub's (and every oracle's) custom errors, decoded from a contract error; anything else
/// as its text.
pub fn decode_revert(error: &alloy::contract::Error) -> String {
    use solvency_ccip::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};
    if let Some(decoded) = error.as_decoded_interface_error::<SolvencyHub::SolvencyHubErrors>() {
        return format!("{decoded:?}");
    }
    if let Some(decoded) = error.as_decoded_interface_error::<SolvencySpoke::SolvencySpokeErrors>()
    {
        return format!("{decoded:?}");
    }
    error.to_string()
}
