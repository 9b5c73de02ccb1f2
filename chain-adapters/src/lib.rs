//! Per-chain adapters of Self-Healing Reserve: one per registered chain, speaking alloy.
//!
//! They stream the hub's `ReportDelivered` logs past a number of confirmations, resume from a
//! persisted cursor, page `eth_getLogs` by block range ([`stream`]), read each chain's oracle
//! state ([`EvmAdapter::read_oracle`]), and retry RPC failures with capped exponential backoff
//! ([`retry`]).
//!
//! Adapters only move ciphertexts and public state; they never hold a key or see an amount.

mod error;
mod evm;
pub mod retry;
pub mod stream;

pub use error::Error;
pub use evm::{EvmAdapter, OracleState};
pub use retry::Backoff;
pub use stream::{StreamConfig, spawn_report_stream};
