//! CCIP for Self-Healing Reserve: contract bindings generated with alloy `sol!` from the Foundry
//! artifacts, pure message building (extra args, message ids), and conversions between the
//! enclave's attestation types and the contracts'.
//!
//! Bindings are generated from `contracts/out`, so the contracts must be built first (`make`
//! does it). Nothing here holds a secret or sees an amount.

pub mod bindings;
pub mod broadcast;
pub mod extra_args;
pub mod provider;

pub use extra_args::{DEFAULT_GAS_LIMIT, ExtraArgs};
