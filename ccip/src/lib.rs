//! CCIP for Self-Healing Reserve, pure: contract bindings generated with alloy `sol!` from the
//! Foundry artifacts (with conversions from the enclave's attestation types) and CCIP
//! `extraArgs`.
//!
//! Bindings are generated from `contracts/out`, so the contracts must be built first (`make`
//! does it). Nothing here does I/O: reading and writing chains is `solvency-chain-adapters`'.

pub mod bindings;
pub mod extra_args;

pub use extra_args::{DEFAULT_GAS_LIMIT, ExtraArgs};
