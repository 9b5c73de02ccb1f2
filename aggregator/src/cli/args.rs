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

/// How much to log, and in what form. Logs go to standard error; `RUST_LOG`, when set, takes
/// precedence over `-v`/`-q`.
#[derive(Debug, Clone, Copy, Args)]
pub struct LogArgs {
    /// More log lines: `-v` adds debug, `-vv` trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Fewer log lines: `-q` keeps errors only, `-qq` none.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; colour only when standard error is a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogArgs {
    /// The level filter: `default` moved up by `-v` and down by `-q`.
    pub fn level(&self, default: tracing::Level) -> tracing::level_filters::LevelFilter {
        use tracing::level_filters::LevelFilter;
        const LADDER: [LevelFilter; 6] = [
            LevelFilter::OFF,
            LevelFilter::ERROR,
            LevelFilter::WARN,
            LevelFilter::INFO,
            LevelFilter::DEBUG,
            LevelFilter::TRACE,
        ];
        let start = LADDER.iter().position(|l| *l == LevelFilter::from_level(default)).unwrap_or(2);
        let index = (start + usize::from(self.verbose)).saturating_sub(usize::from(self.quiet));
        LADDER[index.min(LADDER.len() - 1)]
    }
}
