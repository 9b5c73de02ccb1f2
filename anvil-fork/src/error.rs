//! The devnet's error type.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};

/// Everything that can go wrong starting, running or querying a devnet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process owns the state directory (a running devnet or relayer), or a file in it
    /// cannot be written.
    #[error(transparent)]
    Durable(#[from] solvency_durable::Error),
    /// An anvil process could not be started or stopped.
    #[error("anvil for chain id {chain_id}: {reason}")]
    Anvil {
        /// The chain it was meant to run.
        chain_id: u64,
        /// What happened.
        reason: String,
    },
    /// The requested number of chains is outside what the CCIP test registry offers.
    #[error(
        "a devnet runs 1 to {max} chains (the CCIP test chain ids 90000001..), {asked} were asked for"
    )]
    ChainCount {
        /// What was asked.
        asked: usize,
        /// The most the registry allows.
        max: usize,
    },
    /// A chain to fork cannot be forked as asked: its endpoint, its chain id, its Router or a
    /// CCIP lane between two forked chains.
    #[error("fork {chain}: {reason}")]
    Fork {
        /// The chain's name.
        chain: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A JSON-RPC call to a chain failed.
    #[error("chain {chain}: {action}: {source}")]
    Rpc {
        /// The chain's name.
        chain: String,
        /// What the devnet was doing.
        action: String,
        /// The transport error.
        #[source]
        source: Box<alloy::transports::TransportError>,
    },
    /// A contract deployment or call failed.
    #[error("chain {chain}: {action}: {source}")]
    Contract {
        /// The chain's name.
        chain: String,
        /// What the devnet was doing.
        action: String,
        /// The contract error (revert data decoded where possible).
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// A transaction was mined but reverted.
    #[error("chain {chain}: {action}: transaction {tx_hash} reverted")]
    Reverted {
        /// The chain's name.
        chain: String,
        /// What the devnet was doing.
        action: String,
        /// The reverted transaction.
        tx_hash: B256,
    },
    /// Waiting for a receipt failed.
    #[error("chain {chain}: {action}: {source}")]
    Pending {
        /// The chain's name.
        chain: String,
        /// What the devnet was doing.
        action: String,
        /// The error.
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    /// A receiver contract's address holds code on another chain too, so `MockCCIPRouter`
    /// would deliver to it on the source chain by mistake.
    #[error(
        "same-address trap: receiver {address} on {chain} also has code on {other_chain}; \
         deploy receivers from chain-specific deployers"
    )]
    SameAddressTrap {
        /// The receiver's address.
        address: Address,
        /// Where it is meant to live.
        chain: String,
        /// Where the same address also has code.
        other_chain: String,
    },
    /// A file of the state directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what the devnet wrote.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// No message with this id was seen by the relayer.
    #[error("no message {0} is known to the relayer (`solvency devnet messages` lists them)")]
    UnknownMessage(B256),
    /// Only a failed message can be retried.
    #[error("message {id} is {state}: only a FAILED message can be retried")]
    NotRetryable {
        /// The message.
        id: B256,
        /// Its current state.
        state: &'static str,
    },
    /// The relayer has stopped.
    #[error("the relayer is not running")]
    RelayerStopped,
    /// The relayer's control endpoint could not be reached or answered with an error.
    #[error("relayer control at {url}: {reason}")]
    Control {
        /// The endpoint.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Waiting for a condition ran out of time.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
