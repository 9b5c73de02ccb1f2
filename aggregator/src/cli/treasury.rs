//! `solvency treasury run`: a chain's treasury agent ([`crate::treasury`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use tracing::{error, info, warn};

use crate::{cli::args::ConfigArgs, treasury::Checked};

/// `solvency treasury …`
#[derive(Debug, Subcommand)]
pub enum TreasuryCommand {
    /// Open and check the chain's instruction every epoch until Ctrl-C or SIGTERM; send no
    /// transaction for an empty one.
    ///
    /// Example: `solvency treasury run --config .devnet/networks.toml --chain devnet-2 --key
    /// .devnet/keys/treasury-devnet-2.key`
    Run(RunArgs),
}

impl TreasuryCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Run(args) => run(args).await,
        }
    }
}

/// `solvency treasury run`
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The chain (its name in the registry).
    #[arg(long)]
    chain: String,
    /// The chain's treasury key file (X25519).
    #[arg(long)]
    key: PathBuf,
    /// Check instructions delivered from this block on (default: from the chain's head).
    #[arg(long)]
    from_block: Option<u64>,
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let key = solvency_enclave::X25519KeyPair::load(&args.key, "treasury")?;
    let network = registry.network()?;
    let chain = network.chain(&registry, &args.chain)?;
    let from = match args.from_block {
        Some(block) => block,
        None => solvency_chain_adapters::instructions::InstructionReader::head(chain)
            .await
            .with_context(|| format!("reading {}'s head", chain.name))?,
    };
    let mut treasury = crate::treasury::Treasury::new(&registry, &args.chain, key, from)?;
    let poll = registry.aggregator.poll_interval;
    info!(target: "treasury", chain = %treasury.chain().name, from_block = from, "watching the chain's instructions; Ctrl-C or SIGTERM stops it");
    let stop = crate::shutdown::signal();
    tokio::pin!(stop);
    loop {
        match treasury.check_new().await {
            Ok(checked) => {
                for c in checked {
                    match c {
                        Checked::Empty { epoch } => {
                            info!(target: "treasury", epoch, "instruction checked: empty, nothing to send")
                        }
                        Checked::Transfers { epoch, count } => {
                            warn!(target: "treasury", epoch, count, "instruction checked: it carries transfers, which this build does not execute")
                        }
                        Checked::Refused { epoch, reason } => {
                            error!(target: "treasury", epoch, %reason, "instruction refused")
                        }
                    }
                }
            }
            Err(e) => {
                warn!(target: "treasury", error = %e, "reading the instructions failed; trying again")
            }
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(poll) => {}
        }
    }
    info!(target: "treasury", "stopped");
    Ok(())
}
