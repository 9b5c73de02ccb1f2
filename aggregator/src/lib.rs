//! The Self-Healing Reserve aggregator and the `solvency` command.
//!
//! `networks.toml` ([`config`]), the [`orchestrator`] (hub stream → dedupe → enclave instances →
//! trigger → broadcaster), enclave instances as services ([`enclave_service`]), registration on
//! evidence ([`registration`]), the reporter's side ([`reporter`]), the devnet commands and the
//! demo. The binary's `main` only parses, sets up tracing and maps errors to an exit code.
//!
//! Nothing in this crate may print, log or return a plaintext amount: reports are sealed before
//! they reach it and only the enclave opens them (the one exception is `solvency enclave open`,
//! a development command that says so).

pub mod cli;
mod commands;
pub mod config;
pub mod demo;
mod devnet_cmd;
pub mod devnet_setup;
pub mod enclave_service;
pub mod orchestrator;
pub mod registration;
pub mod reporter;
mod table;

pub use cli::{Cli, run};

/// The host's clock in Unix seconds: the enclave's `now`, the reporters' `observedAt`.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
