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
    /// transaction for an empty one, and, with an account, send the lots a calendar slot lists
    /// from the chain's vault (once each; the account pays gas and the lanes' fees).
    ///
    /// Example: `solvency treasury run --config .devnet/networks.toml --chain devnet-2 --key
    /// .devnet/keys/treasury-devnet-2.key --account-key 0x…`
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
    /// The account that sends the slots' lots and pays for them (without one, lots are
    /// reported and not sent).
    #[arg(
        long,
        env = "SOLVENCY_TREASURY_ACCOUNT_KEY",
        hide_env_values = true,
        value_parser = crate::cli::args::secret_key
    )]
    account_key: Option<alloy::primitives::B256>,
    /// The account from an encrypted keystore instead (password from
    /// SOLVENCY_KEYSTORE_PASSWORD or SOLVENCY_KEYSTORE_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "account_key")]
    account_keystore: Option<PathBuf>,
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
    let account = crate::accounts::account(args.account_key, args.account_keystore.as_deref())?;
    let mut treasury = crate::treasury::Treasury::new(&registry, &args.chain, key, from, account)?;
    let poll = registry.aggregator.poll_interval;
    info!(target: "treasury", chain = %treasury.chain().name, from_block = from, sends_lots = treasury.sends(), "watching the chain's instructions; Ctrl-C or SIGTERM stops it");
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
                        Checked::Lots { epoch, lots } => {
                            info!(target: "treasury", epoch, count = lots.len(), "instruction checked: a calendar slot with lots to send");
                            report_lots(epoch, treasury.send_lots(epoch, &lots).await);
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

/// Logs what became of a slot's lots (ids and transactions; never an amount).
fn report_lots(epoch: u64, outcomes: anyhow::Result<Vec<crate::treasury::LotOutcome>>) {
    use crate::treasury::LotOutcome;
    match outcomes {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    LotOutcome::Sent { id, tx, fee, gas_used } => {
                        info!(target: "treasury", epoch, lot = %id, %tx, fee_wei = %fee, gas_used, "lot sent")
                    }
                    LotOutcome::AlreadySent { id } => {
                        info!(target: "treasury", epoch, lot = %id, "lot already sent; skipped")
                    }
                    LotOutcome::Superseded { id } => {
                        warn!(target: "treasury", epoch, lot = %id, "a later epoch's leaf is the chain's latest: the lot waits for the next slot")
                    }
                    LotOutcome::Failed { id, reason } => {
                        error!(target: "treasury", epoch, lot = %id, %reason, "sending the lot failed: it waits for the next slot")
                    }
                }
            }
        }
        Err(e) => error!(target: "treasury", epoch, error = %e, "the slot's lots were not sent"),
    }
}
