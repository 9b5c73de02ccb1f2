//! The trusted core of Self-Healing Reserve.
//!
//! Everything that must be true for the public boolean to be trustworthy lives here: keys,
//! sealed reports, the ledger of latest reports, the acceptance rules, assessment and attestation
//! signing.
//!
//! This crate must never touch the network, spawn tasks, or put a plaintext amount in a log
//! line, an error, a `Debug` output or a file: it is meant to run inside a TEE, is synchronous,
//! and depends on no other crate of the project.

pub mod attestation;
pub mod keys;
pub mod report;
pub mod seal;

pub use attestation::{
    ATTESTATION_DOMAIN, AttestationSigner, Instruction, SolvencyAttestation, instructions_digest,
};
pub use keys::{EnclaveKeys, EnclavePublic, KeyError, X25519KeyPair, X25519Public};
pub use report::{Position, ReportError, ReportV1, asset_id};
pub use seal::{Purpose, SealError, SealedHeader};
