//! The trusted core of Self-Healing Reserve.
//!
//! Everything that must be true for the public boolean to be trustworthy lives here: keys,
//! sealed reports, the acceptance rules, the ledger of latest reports, assessment, instructions
//! and attestation signing.
//!
//! This crate must never touch the network, spawn tasks, or put a plaintext amount in a log
//! line, an error, a `Debug` output or a file: it is meant to run inside a TEE, is synchronous,
//! and depends on no other crate of the project.

pub mod assess;
pub mod attestation;
pub mod attestor;
pub mod calendar;
mod enclave;
pub mod instruction;
pub mod key_release;
pub mod keys;
pub mod ledger;
pub mod market;
pub mod merkle;
pub mod ownership;
pub mod planner;
pub mod policy;
pub mod quote;
pub mod report;
pub mod seal;
pub mod sealed;
pub mod statement;
pub mod withdrawal;

pub use assess::{
    AssessError, Assessment, ChainBook, VaultTerms, assess, assess_with_vaults, chain_books,
    reports_digest,
};
pub use attestation::{
    ATTESTATION_DOMAIN, AttestationSigner, Authorization, ChainLeaf, ChainMessage, LedgerLeaf, Lot,
    SolvencyAttestation,
};
pub use attestor::{
    Attestor, DevAttestor, DevEvidence, DevFacts, Evidence, EvidenceError, EvidenceKind,
    EvidencePolicy, NitroAttestor, NitroEvidence, NitroFacts, VerifiedEvidence,
};
pub use enclave::{
    AttestError, Checkpoint, Enclave, EnclaveState, LedgerCheckpoint, Readiness, SignedAttestation,
    delivery_digest,
};
pub use key_release::{KeyReleaseError, LedgerKeyPolicy, LedgerKeyRelease};
pub use keys::{EnclaveKeys, EnclavePublic, KeyError, SealingKey, X25519KeyPair, X25519Public};
pub use ledger::{Accepted, DeliveredReport, IngestError, Ledger, ReportField, VaultHead};
pub use policy::{AssetPolicy, ChainPolicy, Policy};
pub use report::{Position, ReportError, ReportV1, SealReportError, asset_id, seal_report};
pub use seal::{Purpose, SealError, SealedHeader};
pub use sealed::{SealedStateError, seal_enclave, unseal_enclave};
