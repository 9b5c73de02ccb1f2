//! Integration tests over a real multi-chain devnet: anvil chains, chainlink-local routers,
//! the solvency contracts and the relayer.

mod adapters;
mod check;
mod fallback;
mod fork;
mod indistinguishable;
mod lots;
mod market;
mod quorum;
mod relay;
mod reliability;
mod round;
mod solvency;
mod tokens;
mod vaults;
