//! `solvency reporter run|check`: a chain's reporter as a daemon that reads its figures from
//! their sources.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::{
    cli::{args::ConfigArgs, report::ReporterIdentity},
    reporter::{daemon::Daemon, feedback::AggregatorApi, sources::read_positions},
};

/// `solvency reporter …`
#[derive(Debug, Subcommand)]
pub enum ReporterCommand {
    /// Report a chain from its sources until Ctrl-C or SIGTERM: at start, on the heartbeat,
    /// when a figure moves past the deviation threshold, and when the aggregator asks.
    ///
    /// Example: `solvency reporter run --config .devnet/networks.toml --devnet .devnet --chain
    /// devnet-2 --aggregator http://127.0.0.1:8645`
    Run(Box<RunArgs>),
    /// Read a chain's sources once and say whether each works (no figure is printed); exit 1
    /// if one does not.
    Check(CheckArgs),
}

impl ReporterCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Run(args) => run(*args).await,
            Self::Check(args) => check(args).await,
        }
    }
}

/// `solvency reporter run`
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    identity: ReporterIdentity,
    /// The aggregator's API (`solvency run --http`): the daemon learns whether each report was
    /// accepted, and reports at once when the aggregator asks (after a restart).
    #[arg(long, env = "SOLVENCY_AGGREGATOR_URL", value_name = "URL")]
    aggregator: Option<url::Url>,
    /// Where the daemon keeps its lock and last seq (default: the registry's
    /// `[aggregator] state_dir`).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Say so when the aggregator has not judged a report after this long.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    feedback_timeout_secs: u64,
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let reporter = args.identity.resolve(&registry).await?;
    let daemon = Daemon {
        deployment_id: registry.deployment_id,
        enclave: network.enclave.hpke_public_key,
        reporter: reporter.key,
        account: reporter.account,
        aggregator: args.aggregator.as_ref().map(AggregatorApi::new).transpose()?,
        state_dir: args.state_dir.unwrap_or_else(|| registry.aggregator.state_dir.clone()),
        feedback_timeout: Duration::from_secs(args.feedback_timeout_secs),
        chain: reporter.chain,
    };
    let cancel = CancellationToken::new();
    let mut task = tokio::spawn(daemon.run(cancel.clone(), None));
    tokio::select! {
        result = &mut task => return result.context("the reporter panicked")?,
        _ = crate::shutdown::signal() => {}
    }
    cancel.cancel();
    task.await.context("the reporter panicked")?
}

/// `solvency reporter check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The chain (its name in the registry).
    #[arg(long)]
    chain: String,
}

async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let chain = network.chain(&registry, &args.chain)?;
    anyhow::ensure!(
        !chain.sources.is_empty(),
        "{} has no sources in {}: give its assets [[chains.assets.reserves]] and [[chains.assets.liabilities]] (see docs/reporters.md)",
        chain.name,
        registry.path().display()
    );
    let client = solvency_chain_adapters::ChainClient::new(
        chain,
        solvency_chain_adapters::Backoff::default(),
    );
    let http = reqwest::Client::builder().build().context("an HTTP client")?;
    let positions = read_positions(&client, &http, chain, crate::unix_now()).await?;
    for asset in &chain.sources {
        println!(
            "{} {}: {} reserve source(s), {} liability source(s): ok",
            chain.name,
            asset.symbol,
            asset.reserves.len(),
            asset.liabilities.len()
        );
    }
    println!("{} can report {} asset(s)", chain.name, positions.len());
    Ok(())
}
