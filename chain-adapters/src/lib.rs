//! Per-chain adapters of Self-Healing Reserve: one per registered chain, speaking alloy.
//!
//! They stream the hub's `ReportDelivered` logs past a number of confirmations, resume from a
//! persisted cursor, page `eth_getLogs` by block range, read each chain's oracle state, and
//! retry RPC failures with capped exponential backoff ([`retry`]).
//!
//! Adapters only move ciphertexts and public state; they never hold a key or see an amount.

pub mod retry;

pub use retry::Backoff;
