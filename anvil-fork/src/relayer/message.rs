//! What the relayer carries, and the states a message goes through.

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

/// One CCIP message seen leaving a devnet router.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RelayMessage {
    /// The message id the receiver sees: unique per send (see [`message_id`](super::scan)).
    pub id: B256,
    /// The source chain's CCIP selector.
    pub source_chain_selector: u64,
    /// The destination chain's CCIP selector.
    pub dest_chain_selector: u64,
    /// The contract (or account) that called `ccipSend`.
    pub sender: Address,
    /// The receiver on the destination chain.
    pub receiver: Address,
    /// The payload.
    pub data: Bytes,
    /// Gas the receiver gets, from the message's `extraArgs`.
    pub gas_limit: U256,
    /// What `MockCCIPRouter.ccipSend` returned (a hash of the message body, which repeats
    /// for identical bodies, hence the relayer's own `id`).
    pub router_message_id: B256,
    /// The transaction that sent it.
    pub source_tx: B256,
    /// Its block.
    pub source_block: u64,
    /// Token transfers requested. Over `MockCCIPRouter` they are not carried (its `ccipSend`
    /// moves the tokens to the receiver's address on the source chain); over a stand-in lane
    /// they are in `tokens`.
    pub token_transfers: usize,
    /// The on-ramp's sequence number on the lane (forks only; the off-ramp keys executions by
    /// it).
    #[serde(default)]
    pub sequence_number: u64,
    /// The tokens the message carries, as the on-ramp's pools burned them (forks only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenTransfer>,
    /// True if `ccipSend` also called a receiver on the source chain: the same-address trap.
    pub delivered_on_source: bool,
    /// Where the message is.
    #[serde(flatten)]
    pub state: MessageState,
    /// Delivery transactions sent so far.
    pub attempts: u32,
    /// When the relayer first saw it (Unix milliseconds).
    pub detected_at_ms: u64,
    /// When it reached SUCCESS or FAILED last (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
}

/// One token a message carries, as the source pool burned or locked it: what the destination's
/// off-ramp needs to have its pool mint or release it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenTransfer {
    /// The source chain's pool.
    pub source_pool: Address,
    /// The token on the destination chain.
    pub dest_token: Address,
    /// Gas the destination's pool call gets.
    pub dest_gas: u32,
    /// The source pool's data for the destination pool (its decimals).
    pub extra_data: Bytes,
    /// Amount, in the source token's units.
    pub amount: U256,
}

/// The life of a message: PENDING → IN_FLIGHT (`InFlight`, or `Routing` on a fork) → SUCCESS |
/// FAILED (→ PENDING on retry).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageState {
    /// Queued for delivery.
    Pending,
    /// A delivery transaction is signed and sent (or about to be); kept in full so that a
    /// restarted relayer can check its receipt or re-send the very same bytes, never a second
    /// delivery.
    InFlight {
        /// Hash of the delivery transaction.
        tx_hash: B256,
        /// The signed transaction.
        raw_tx: Bytes,
    },
    /// On a fork: the delivery is sent as the off-ramp the destination's Router accepts (anvil
    /// impersonation) — or, for a message that carries tokens, to the stand-in off-ramp by its
    /// executor, the relayer's account — with this nonce of the sender's, journaled before
    /// sending. Only one transaction can ever be mined at that nonce, so a restarted relayer
    /// sends it again (never a second delivery) unless the message was executed already.
    Routing {
        /// The account the delivery is sent as.
        off_ramp: Address,
        /// Its nonce for this delivery.
        nonce: u64,
        /// The delivery transaction, once sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx_hash: Option<B256>,
    },
    /// Delivered: the receiver ran without reverting (or has no code, as on real CCIP).
    Success {
        /// The delivery transaction.
        tx_hash: B256,
        /// False when the receiver has no code or no CCIP interface (nothing was called).
        receiver_called: bool,
    },
    /// The receiver reverted (or the delivery transaction did); stays so until retried.
    Failed {
        /// The delivery transaction, if one was mined.
        tx_hash: Option<B256>,
        /// The receiver's revert data.
        revert_data: Bytes,
        /// What went wrong.
        reason: String,
    },
    /// The destination selector is not a chain of this devnet.
    Unroutable {
        /// Why.
        reason: String,
    },
}

impl MessageState {
    /// The state's name as shown to users.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InFlight { .. } | Self::Routing { .. } => "IN_FLIGHT",
            Self::Success { .. } => "SUCCESS",
            Self::Failed { .. } => "FAILED",
            Self::Unroutable { .. } => "UNROUTABLE",
        }
    }

    /// True once nothing more will happen without a retry.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success { .. } | Self::Failed { .. } | Self::Unroutable { .. })
    }
}
