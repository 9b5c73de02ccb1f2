//! What the operator's view shows: plain serializable data, public by construction (chain
//! state, seqs, epochs, times, fees in wei, reasons). Nothing here can hold an amount.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

/// One chain as the view sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainStatus {
    /// Its name in the registry.
    pub name: String,
    /// CCIP selector.
    pub selector: u64,
    /// `hub` or `spoke`.
    pub role: &'static str,
    /// A required chain blocks attestations when silent.
    pub required: bool,
    /// Whether the last read succeeded; `error` says why not.
    pub reachable: bool,
    /// `unreachable`, `no contract`, `wrong chain`, …
    pub error: Option<String>,
    /// `isSolvent()`.
    pub is_solvent: bool,
    /// The epoch the chain holds.
    pub epoch: u64,
    /// When that attestation was issued (Unix seconds).
    pub issued_at: u64,
    /// Until when it is valid (the chain's time, Unix seconds).
    pub valid_until: u64,
    /// Seconds of validity left (by the later of the wall clock and the chain's head).
    pub valid_for_secs: u64,
    /// No attestation, or past its validity: consumers read false.
    pub stale: bool,
    /// Whether the chain's policy digest is the registry's.
    pub policy_digest_matches: bool,
    /// The chain's latest report.
    pub last_report: Option<LastReport>,
    /// The latest attestation sent to this chain and where it is.
    pub delivery: Option<Delivery>,
    /// The chain's latest refused report (aggregator only): its seq and the rule it broke.
    pub last_refused: Option<RefusedReport>,
    /// The aggregator asks for a fresh report from this chain: since it started (and caught up
    /// with the hub) it has judged none sent after its start, or the latest is past half the
    /// policy's report age (aggregator only; reporter daemons watch this).
    pub wants_report: Option<bool>,
    /// The chain's head when read.
    pub block: u64,
}

/// A chain's latest report: its seq and when it was seen (never a figure).
#[derive(Clone, Debug, Serialize)]
pub struct LastReport {
    /// Its seq.
    pub seq: u64,
    /// When (Unix seconds): accepted by the enclave (aggregator) or delivered on the hub
    /// (dashboard).
    pub at: u64,
    /// Seconds since.
    pub age_secs: u64,
    /// `accepted` or `delivered`.
    pub source: &'static str,
}

/// Where the latest attestation sent to a spoke is.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// The epoch.
    pub epoch: u64,
    /// `landed`, `pending`, or `late` (pending past the registry's delivery timeout).
    pub state: &'static str,
    /// When the hub sent it (Unix seconds).
    pub sent_at: u64,
    /// When the spoke accepted it (Unix seconds).
    pub landed_at: Option<u64>,
}

/// A registered enclave signer.
#[derive(Clone, Debug, Serialize)]
pub struct SignerStatus {
    /// Its address.
    pub address: Address,
    /// When its registration on the hub ends (hub time, Unix seconds).
    pub expires_at: u64,
    /// Seconds until then (0 once expired).
    pub expires_in_secs: u64,
}

/// The signer set on the hub.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Signers {
    /// k.
    pub threshold: u8,
    /// The registered signers.
    pub signers: Vec<SignerStatus>,
}

/// The hub's fee account.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HubFees {
    /// Its balance, in wei (a decimal string: wei amounts exceed JSON's safe integers).
    pub fee_balance_wei: String,
    /// What the latest round's messages cost, in wei.
    pub fee_per_round_wei: Option<String>,
    /// How many more rounds the balance pays for at that cost.
    pub rounds_left: Option<u64>,
    #[serde(skip)]
    pub(crate) balance: U256,
}

/// What only the aggregator knows (not shown by `solvency dashboard`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AggregatorStatus {
    /// When this aggregator process started (Unix milliseconds): a change means a restart.
    pub started_at_ms: u64,
    /// Every report up to the hub's confirmed head is judged.
    pub caught_up: bool,
    /// Why it is not attesting, when it is not.
    pub not_ready: Option<String>,
    /// The last epoch it published.
    pub last_published_epoch: Option<u64>,
    /// Publishing attempts that failed since start.
    pub publish_failures: u64,
    /// Why the last attempt failed, while it is the last outcome.
    pub last_publish_error: Option<String>,
    /// The last report refused: its message and the rule it broke (no figure).
    pub last_refusal: Option<Refused>,
}

/// A chain's refused report.
#[derive(Clone, Debug, Serialize)]
pub struct RefusedReport {
    /// Its seq.
    pub seq: u64,
    /// The rule, as the enclave names it (`replay`, `stale`, `from_the_future`, …).
    pub rule: String,
    /// The CCIP message.
    pub message_id: B256,
    /// When it was refused (Unix seconds).
    pub at: u64,
}

/// A refused report.
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    /// The CCIP message.
    pub message_id: B256,
    /// The rule, as the enclave names it.
    pub rule: String,
    /// When (Unix seconds).
    pub at: u64,
}

/// A condition an operator must act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Its name (see [`crate::observe::alerts`]).
    pub alert: &'static str,
    /// `warning` or `error`.
    pub severity: &'static str,
    /// What it is about: a chain, a signer, `hub`, `aggregator`.
    pub subject: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// `GET /api/v1/status`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The deployment.
    pub deployment_id: B256,
    /// `aggregator` (`solvency run --http`) or `dashboard` (chain reads alone).
    pub mode: &'static str,
    /// When this was read (Unix seconds).
    pub checked_at: u64,
    /// Every chain, in registry order.
    pub chains: Vec<ChainStatus>,
    /// The hub's signer set.
    pub signers: Signers,
    /// The hub's fee account.
    pub hub: HubFees,
    /// The aggregator's own view, when this is the aggregator.
    pub aggregator: Option<AggregatorStatus>,
    /// Conditions to act on.
    pub alerts: Vec<Alert>,
}

/// One attestation in the history.
#[derive(Clone, Debug, Serialize)]
pub struct EpochRecord {
    /// The epoch.
    pub epoch: u64,
    /// Its verdict.
    pub solvent: bool,
    /// Until when it is valid.
    pub valid_until: u64,
    /// When the hub accepted it (hub time, Unix seconds).
    pub accepted_at: u64,
    /// Per spoke: when it accepted this epoch.
    pub landed: BTreeMap<String, u64>,
}

/// `GET /api/v1/epochs`.
#[derive(Clone, Debug, Serialize)]
pub struct EpochPage {
    /// Newest first.
    pub epochs: Vec<EpochRecord>,
    /// Ask with `before=` this for the next (older) page.
    pub next_before: Option<u64>,
}
