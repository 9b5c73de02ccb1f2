//! The trusted core of Self-Healing Reserve.
//!
//! Everything that must be true for the public boolean to be trustworthy lives here: keys,
//! sealed reports, the ledger of latest reports, assessment and attestation signing.
//!
//! This crate must never touch the network, spawn tasks or log a plaintext amount: it is meant to
//! run inside a TEE, is synchronous, and depends on no other crate of the project.

pub mod attestation;

pub use attestation::{
    ATTESTATION_DOMAIN, AttestationSigner, Instruction, SolvencyAttestation, instructions_digest,
};
