//! The protocol between the aggregator and an enclave instance: one JSON object per line each
//! way. Sealed reports go in; public keys, signatures, outcomes and typed refusals come out —
//! never a plaintext amount.

use alloy::primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};
use solvency_enclave::{
    Accepted, AssessError, AttestError, DeliveredReport, EnclavePublic, Evidence, IngestError,
    KeyReleaseError, LedgerKeyRelease, Readiness, SignedAttestation, X25519Public,
    ownership::{OwnershipError, VaultEntry},
};

/// A request to an enclave instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Its public keys.
    Public,
    /// Check and record a delivered report.
    Ingest {
        /// The report.
        report: DeliveredReport,
        /// The aggregator's time (the instance checks it against its own clock).
        now: u64,
    },
    /// Could it attest now, and would the verdict change?
    Readiness {
        /// The aggregator's time.
        now: u64,
    },
    /// Evidence (from the instance's attestor) binding its keys and `nonce`.
    Evidence {
        /// The verifier's fresh nonce.
        nonce: Bytes,
    },
    /// Rotate the HPKE key; reports sealed to the old one are accepted until `grace_until`.
    Rotate {
        /// Unix seconds.
        grace_until: u64,
    },
    /// Take a chain's next reserve-vault log entries (public; given again after a restart).
    FeedVault {
        /// The chain.
        chain_selector: u64,
        /// Its entries, in order, from any already given onwards.
        entries: Vec<VaultEntry>,
    },
    /// Take the hub's quote board entries `from..` (public; given again after a restart).
    FeedQuotes {
        /// The index of the first entry, in the board's order.
        from: u64,
        /// The entries.
        entries: Vec<solvency_enclave::quote::QuoteEntry>,
    },
    /// Take an owner's sealed withdrawal request (`solvency_enclave::withdrawal`).
    Withdraw {
        /// `replyKey || sealed`.
        request: Bytes,
    },
    /// Start a ledger key request: evidence whose nonce carries a fresh ephemeral key
    /// (`solvency_enclave::key_release`), for an instance that holds the key.
    RequestLedgerKey,
    /// Answer another instance's ledger key request.
    ReleaseLedgerKey {
        /// The requester's evidence.
        evidence: Box<Evidence>,
    },
    /// Take the answer to this instance's ledger key request.
    AcceptLedgerKey {
        /// The holder's answer.
        release: LedgerKeyRelease,
    },
    /// Sign the attestation of `epoch` at `now`.
    Attest {
        /// The aggregator's time, used as `issuedAt` so that every member signs the same
        /// statement.
        now: u64,
        /// The proposed epoch.
        epoch: u64,
        /// The ledger root the hub holds: the new attestation's parent (the hub refuses any
        /// other).
        #[serde(default)]
        parent_ledger_root: B256,
        /// The hub's quote board's last closed round and the head after it (what the hub
        /// checks at publish; zero without a board).
        #[serde(default)]
        quote_round: u64,
        /// See `quote_round`.
        #[serde(default)]
        quote_head: B256,
    },
}

/// An enclave instance's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Its public keys.
    Public {
        /// The keys.
        public: EnclavePublic,
    },
    /// The report passed every rule.
    Accepted {
        /// Which report.
        accepted: Accepted,
    },
    /// It can attest.
    Ready {
        /// And whether the verdict changed.
        readiness: Readiness,
    },
    /// Evidence about the instance.
    Evidence {
        /// The evidence.
        evidence: Box<Evidence>,
    },
    /// The HPKE key is rotated.
    Rotated {
        /// The new public key, to publish in the registry.
        hpke_public_key: X25519Public,
    },
    /// Vault entries taken.
    Fed {
        /// How many were new.
        taken: usize,
        /// How many of the chain's entries the instance now has.
        len: u64,
    },
    /// Quote board entries taken.
    QuotesFed {
        /// How many the instance now holds.
        len: u64,
    },
    /// A withdrawal request taken: authorized at the next attestation if the balance covers it.
    WithdrawalTaken {
        /// Its authorization id.
        id: B256,
    },
    /// The ledger key, sealed to a requester.
    LedgerKeyReleased {
        /// The key and the holder's checkpoints.
        release: LedgerKeyRelease,
    },
    /// The ledger key taken (and persisted).
    LedgerKeyAccepted {
        /// How many of the holder's checkpoints were new.
        checkpoints: usize,
    },
    /// A signed attestation.
    Attested {
        /// The attestation, signature and instructions.
        signed: Box<SignedAttestation>,
    },
    /// The request was refused.
    Refused {
        /// Why.
        refusal: Refusal,
    },
}

/// Why an instance refused a request. Callers match these variants, never their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The report breaks a rule. It is judged: it will be refused again, whoever asks.
    #[error("{error}")]
    Report {
        /// The rule.
        error: IngestError,
    },
    /// No attestation can be made yet (a required chain is missing or stale).
    #[error("{error}")]
    NotReady {
        /// Why.
        error: AssessError,
    },
    /// This instance already signed `epoch` or a later one: propose a later epoch.
    #[error("epoch {epoch} is not above the last epoch this instance signed ({last_epoch})")]
    EpochUsed {
        /// The epoch asked for.
        epoch: u64,
        /// The last one it signed.
        last_epoch: u64,
    },
    /// Signing failed for another reason (an instruction could not be sealed).
    #[error("{error}")]
    Attest {
        /// Why.
        error: AttestError,
    },
    /// The proposed time is further from the instance's clock than the policy's skew allows.
    #[error(
        "proposed time {proposed} is more than {max_skew} s from this enclave's clock ({local}); \
         check both clocks"
    )]
    Clock {
        /// The time the aggregator proposed.
        proposed: u64,
        /// The instance's clock.
        local: u64,
        /// The allowed skew.
        max_skew: u64,
    },
    /// Quote board entries that leave a gap or differ from those given before.
    #[error("{error}")]
    Quotes {
        /// Why.
        error: solvency_enclave::quote::QuoteFeedError,
    },
    /// A withdrawal request breaks a rule.
    #[error("{error}")]
    Withdrawal {
        /// The rule.
        error: solvency_enclave::withdrawal::WithdrawalError,
    },
    /// Evidence could not be produced.
    #[error("no evidence: {reason}")]
    Evidence {
        /// Why.
        reason: String,
    },
    /// The new state could not be persisted: the change was undone and nothing was released,
    /// so asking again once the disk is fixed is safe.
    #[error("the enclave state could not be persisted ({reason}); nothing was changed or released")]
    NotPersisted {
        /// The file system's error.
        reason: String,
    },
    /// A ledger key request, release or answer refused.
    #[error("{error}")]
    KeyRelease {
        /// Why.
        error: KeyReleaseError,
    },
    /// Vault entries out of order, or different from those given before.
    #[error("{error}")]
    Vault {
        /// Why.
        error: OwnershipError,
    },
    /// The request is not one this instance understands.
    #[error("not a request: {reason}")]
    BadRequest {
        /// The parser's message.
        reason: String,
    },
}

impl From<AttestError> for Refusal {
    fn from(error: AttestError) -> Self {
        match error {
            AttestError::NotReady(error) => Self::NotReady { error },
            AttestError::EpochUsed { epoch, last_epoch } => Self::EpochUsed { epoch, last_epoch },
            error => Self::Attest { error },
        }
    }
}
