//! `solvency maker withdraw`: a market maker (or the protocol) takes collateral out of a
//! reserve vault ([`crate::maker`]).

use std::time::Duration;

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use clap::{Args, Subcommand};

use crate::cli::args::ConfigArgs;

/// `solvency maker …`
#[derive(Debug, Subcommand)]
pub enum MakerCommand {
    /// Withdraw from a chain's reserve vault: the request is signed by the account, sealed to
    /// the enclave, authorized at the next epoch if the account's available balance covers it,
    /// then queued and — after the vault's delay, in chain time — executed. Exits 0 once paid.
    ///
    /// Example: `solvency maker withdraw --config .devnet/networks.toml --chain devnet-2
    /// --amount 1000000 --aggregator http://127.0.0.1:8080` (with SOLVENCY_MAKER_KEY set)
    Withdraw(WithdrawArgs),
}

impl MakerCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Withdraw(args) => withdraw(args).await,
        }
    }
}

/// `solvency maker withdraw`
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The vault's chain (its name in the registry).
    #[arg(long)]
    chain: String,
    /// How much, in the collateral's smallest unit.
    #[arg(long)]
    amount: U256,
    /// The owner's account: signs the request, pays gas, is paid.
    #[arg(
        long,
        env = "SOLVENCY_MAKER_KEY",
        hide_env_values = true,
        value_parser = crate::cli::args::secret_key
    )]
    account_key: B256,
    /// The aggregator's API (`solvency run --http`).
    #[arg(long, env = "SOLVENCY_AGGREGATOR_URL", value_name = "URL")]
    aggregator: url::Url,
    /// Above every nonce this account used before (default: Unix time in milliseconds).
    #[arg(long)]
    nonce: Option<u64>,
    /// Stop once the withdrawal is queued (anyone may execute it later; the owner alone is
    /// paid).
    #[arg(long)]
    queue_only: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    timeout: u64,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

async fn withdraw(args: WithdrawArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let account = PrivateKeySigner::from_bytes(&args.account_key)
        .context("the account key is not a valid secp256k1 key")?;
    let outcome = crate::maker::Withdrawal {
        registry: &registry,
        chain: &args.chain,
        amount: args.amount,
        nonce: args.nonce.unwrap_or_else(crate::maker::default_nonce),
        account,
        aggregator: args.aggregator,
        queue_only: args.queue_only,
        timeout: Duration::from_secs(args.timeout),
        poll: registry.aggregator.poll_interval.max(Duration::from_millis(200)),
    }
    .run()
    .await?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        match outcome.executed_tx {
            Some(tx) => println!(
                "withdrawal {} paid on {} (authorized in epoch {}, queued in {}, executed in {tx})",
                outcome.id, outcome.chain, outcome.authorized_in, outcome.queued_tx
            ),
            None => println!(
                "withdrawal {} queued on {} (authorized in epoch {}, tx {}); execute it after the vault's delay",
                outcome.id, outcome.chain, outcome.authorized_in, outcome.queued_tx
            ),
        }
    }
    Ok(())
}
