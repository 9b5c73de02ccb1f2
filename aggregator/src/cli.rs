//! The `solvency` command line.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use clap::{Args, Parser, Subcommand};

use crate::config;

/// Self-Healing Reserve: confidential, cross-chain proof of solvency.
#[derive(Debug, Parser)]
#[command(name = "solvency", version, about)]
pub struct Cli {
    /// The chain registry.
    #[arg(long, global = true, env = "SOLVENCY_CONFIG", default_value = "networks.toml")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A local multi-chain CCIP devnet.
    #[command(subcommand)]
    Devnet(DevnetCommand),
    /// The main job for a newcomer: on a fresh devnet, reports sealed on every chain, the
    /// enclave's one boolean on every chain — healthy, insolvent, restored.
    ///
    /// Example: `solvency demo`
    Demo(DemoArgs),
}

/// `solvency devnet …`
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start anvil chains with CCIP routers and the solvency contracts, write
    /// DIR/deployment.json, and relay CCIP messages until Ctrl-C or SIGTERM.
    ///
    /// Example: `solvency devnet up --chains 3 --state-dir .devnet`
    Up(UpArgs),
    /// Per chain: head block, oracle state and relayer progress of a running devnet.
    Status(StateDirArgs),
    /// Every CCIP message the relayer has seen, with its state.
    Messages(StateDirArgs),
    /// Deliver a FAILED message again (after fixing its receiver).
    ///
    /// Example: `solvency devnet retry 0x3f…`
    Retry {
        /// The message id, from `solvency devnet messages`.
        message_id: B256,
        /// Where the devnet keeps its files.
        #[command(flatten)]
        state: StateDirArgs,
    },
}

/// Where a devnet keeps its files.
#[derive(Debug, Args)]
pub struct StateDirArgs {
    /// The devnet's state directory.
    #[arg(long, env = "SOLVENCY_DEVNET_DIR", default_value = ".devnet")]
    pub state_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `solvency devnet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Number of chains (default from `[devnet] chains` in networks.toml).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Where deployment.json and the relayer journal go.
    #[arg(long, env = "SOLVENCY_DEVNET_DIR", default_value = ".devnet")]
    pub state_dir: PathBuf,
    /// An enclave signer address to register on every chain (repeatable).
    #[arg(long = "signer")]
    pub signers: Vec<Address>,
    /// How many of the signers an attestation needs.
    #[arg(long, default_value_t = 1)]
    pub threshold: u8,
}

/// `solvency demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of chains (default from `[devnet] chains` in networks.toml).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Keep keys, the devnet files and the aggregator state here (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Devnet(command) => {
            let needs_config = matches!(command, DevnetCommand::Up(_));
            let networks = if needs_config { Some(load_config(&cli.config)?) } else { None };
            crate::devnet_cmd::run(command, networks).await
        }
        Command::Demo(args) => crate::demo::run(load_config(&cli.config)?, args).await,
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<config::NetworksFile> {
    let file = config::load(path)?;
    file.validate()?;
    Ok(file)
}
