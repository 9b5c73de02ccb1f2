//! Option groups shared by several commands, flattened into each (as cast and forge do).

use std::path::PathBuf;

use alloy::primitives::U256;
use clap::Args;
use solvency_registry::Registry;

/// The chain registry.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The chain registry (`networks.toml`).
    #[arg(long, env = "SOLVENCY_CONFIG", default_value = "networks.toml")]
    pub config: PathBuf,
}

impl ConfigArgs {
    /// Loads and validates the registry.
    pub fn load(&self) -> anyhow::Result<Registry> {
        Ok(Registry::load(&self.config)?)
    }
}

/// Output as JSON.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where a devnet keeps its files.
#[derive(Debug, Clone, Args)]
pub struct DevnetDirArgs {
    /// The devnet's state directory.
    #[arg(long, env = "SOLVENCY_DEVNET_DIR", default_value = ".devnet")]
    pub state_dir: PathBuf,
}

/// One asset's figures: `SYMBOL=RESERVES:LIABILITIES`, in the asset's smallest unit.
#[derive(Debug, Clone)]
pub struct PositionArg {
    /// The asset symbol.
    pub symbol: String,
    /// Reserves, smallest unit.
    pub reserves: U256,
    /// Liabilities, smallest unit.
    pub liabilities: U256,
}

impl std::str::FromStr for PositionArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            "expected SYMBOL=RESERVES:LIABILITIES in the asset's smallest unit, e.g. USDC=2500000000:1000000".to_owned()
        };
        let (symbol, amounts) = s.split_once('=').ok_or_else(bad)?;
        let (reserves, liabilities) = amounts.split_once(':').ok_or_else(bad)?;
        let parse = |v: &str| U256::from_str_radix(v.trim(), 10).map_err(|_| bad());
        Ok(Self {
            symbol: symbol.trim().to_owned(),
            reserves: parse(reserves)?,
            liabilities: parse(liabilities)?,
        })
    }
}

impl PositionArg {
    /// As the enclave's report position.
    pub fn position(&self) -> solvency_enclave::Position {
        solvency_enclave::Position::new(&self.symbol, self.reserves, self.liabilities)
    }
}

/// A secp256k1 secret key given on the command line or in the environment.
pub fn secret_key(text: &str) -> Result<alloy::primitives::B256, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected a secp256k1 secret key: 0x followed by 64 hex digits".to_owned())
}

/// A deployment id given on the command line: 0x-bytes32, or a name hashed with keccak256.
pub fn deployment_id(text: &str) -> alloy::primitives::B256 {
    text.parse().unwrap_or_else(|_| alloy::primitives::keccak256(text.as_bytes()))
}
