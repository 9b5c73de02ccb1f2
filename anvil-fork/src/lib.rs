//! A local multi-chain CCIP devnet for Self-Healing Reserve.
//!
//! [`Devnet::start`] runs N anvil chains with the official CCIP test chain ids and selectors,
//! deploys chainlink-local's `MockCCIPRouter` and the solvency contracts on each (hub or spoke, a
//! `ReserveVault` over a USDC-like `DevnetToken`, a `SolvencyFeed`), wires hub, spokes,
//! allow-lists and vaults, funds the hub for fees, and runs the [`relayer`] that carries CCIP
//! messages between chains. Every process it starts is stopped when the handle is dropped, also
//! when a test panics.
//!
//! With [`DevnetConfig::forks`] it forks chains where CCIP runs instead ([`fork`]): their own
//! Routers are used, the relayer reads the on-ramps' events and delivers as an off-ramp the
//! Router accepts. [`upstream`] stands in for such chains locally.
//!
//! This crate is for development and tests only: its keys are derived from public labels.

mod accounts;
pub mod anvil;
pub mod chains;
mod deploy;
mod deployment;
mod devnet;
mod error;
pub mod fork;
pub mod relayer;
pub mod upstream;

pub use accounts::DevAccount;
pub use anvil::{AnvilOptions, AnvilProcess};
pub use deployment::{ChainDeployment, DEPLOYMENT_FILE, Deployment};
pub use devnet::{Devnet, DevnetConfig, RELAYER_JOURNAL, VaultConfig, chain_name};
pub use error::Error;
pub use fork::{ForkOrigin, ForkSpec};
pub use relayer::{MessageState, RelayMessage, Relayer, RelayerHandle, TokenTransfer};

/// The devnet's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
