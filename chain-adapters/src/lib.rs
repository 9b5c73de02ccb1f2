//! Chain I/O of Self-Healing Reserve: every read and write of the solvency contracts, over
//! alloy, in one place.
//!
//! - [`ChainClient`]: one registered chain's endpoint, with retries ([`Backoff`]) and errors that
//!   name the chain and never an RPC URL's secrets; [`rpc`] has the providers underneath.
//! - [`admin`]: the owner's operations, planned from the registry, sent or batched for a Safe.
//! - [`hub`]: the hub's `ReportDelivered` logs, page by page past confirmations, from a
//!   position the caller keeps.
//! - [`oracle`]: every chain's `isSolvent()` and latest attestation, and the owner's setters.
//! - [`preflight`]: what must hold on every chain before the round runs (`solvency check`).
//! - [`publish`]: quote, check the hub can pay, publish; returns once mined.
//! - [`watch`]: delivery on each spoke, from its events, without blocking anything.
//! - [`report`]: a reporter's `submitReport`.
//! - [`sources`]: a reporter's on-chain figures (ERC-20 balances and supplies, Chainlink feeds).
//! - [`vault`]: a chain's reserve vault log, for the enclave's ownership ledger.
//! - [`view`]: what a dashboard reads from each chain (state, history events, signers, fees).
//!
//! Adapters only move ciphertexts and public state; they never hold an enclave key or see an
//! amount. The only keys they use are accounts that pay gas.

pub mod admin;
mod client;
mod error;
mod follow;
pub mod hub;
pub mod instructions;
pub mod oracle;
pub mod preflight;
pub mod publish;
pub mod quotes;
pub mod report;
pub mod retry;
pub mod rpc;
pub mod sources;
pub mod traffic;
pub mod vault;
pub mod view;
pub mod watch;

pub use client::ChainClient;
pub use error::{Error, decode_revert};
pub use hub::{Delivered, HubReader, LogPosition, Page};
pub use oracle::{ChainReading, OracleOwner, OracleState, read_all, read_oracle, reporter};
pub use publish::{DELIVERY_MARGIN, Destination, PublishError, Published, Publisher};
pub use report::submit_report;
pub use retry::Backoff;
pub use watch::{DeliveryEvent, spawn_delivery_watcher};
