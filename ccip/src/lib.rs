//! CCIP for Self-Healing Reserve: contract bindings generated with alloy `sol!` from the Foundry
//! artifacts (with conversions from the enclave's attestation types), CCIP `extraArgs`, HTTP
//! providers, and the [`broadcast`]er that publishes attestations and watches them land.
//!
//! Bindings are generated from `contracts/out`, so the contracts must be built first (`make`
//! does it). Nothing here holds an enclave secret or sees an amount; the only key it uses is the
//! publisher account's, which pays gas.

pub mod bindings;
pub mod broadcast;
pub mod extra_args;
pub mod provider;

pub use extra_args::{DEFAULT_GAS_LIMIT, ExtraArgs};
