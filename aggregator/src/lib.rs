//! The Self-Healing Reserve aggregator and the `solvency` command.
//!
//! The [`orchestrator`] (hub reports → enclave instances → trigger → publishing), registration
//! on evidence ([`registration`]), the reporter's side ([`reporter`]), key files ([`keyfiles`]),
//! a devnet with the round wired ([`wired`]), and the command line ([`cli`], one module per
//! command). The binary's `main` only parses, sets up tracing and maps errors to an exit code.
//!
//! Nothing in this crate may print, log or return a plaintext amount: reports are sealed before
//! they reach it and only the enclave opens them (the one exception is `solvency enclave open`,
//! a development command that says so).

pub mod accounts;
pub mod cli;
pub mod keyfiles;
pub mod maker;
pub mod observe;
pub mod orchestrator;
pub mod registration;
pub mod reporter;
mod shutdown;
mod table;
pub mod treasury;
pub mod wired;

pub use cli::{Cli, run};

/// The host's clock in Unix seconds: the enclave's `now`, the reporters' `observedAt`.
pub(crate) fn unix_now() -> u64 {
    solvency_enclave_host::unix_now()
}
