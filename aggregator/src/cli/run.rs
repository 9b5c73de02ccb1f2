//! `solvency run`: the aggregator daemon.

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::{
    cli::args::ConfigArgs,
    orchestrator::{self, Setup},
};

/// `solvency run`
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Secret key of the account that sends `publish` (pays gas; the hub pays CCIP fees).
    /// Overrides `[aggregator] publisher_key`.
    #[arg(long, env = "SOLVENCY_PUBLISHER_KEY", hide_env_values = true, value_parser = crate::cli::args::secret_key)]
    publisher_key: Option<B256>,
}

pub(super) async fn run(args: RunArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let publisher = match args.publisher_key {
        Some(key) => PrivateKeySigner::from_bytes(&key)
            .context("the publisher key is not a secp256k1 key")?,
        None => match (&registry.aggregator.publisher, &registry.aggregator.publisher_unset) {
            (Some(publisher), _) => publisher.clone(),
            (None, Some(problem)) => anyhow::bail!("{problem}; or give --publisher-key"),
            (None, None) => anyhow::bail!(
                "give the account that sends publish: --publisher-key, SOLVENCY_PUBLISHER_KEY or [aggregator] publisher_key"
            ),
        },
    };
    let setup = Setup::from_registry(registry, publisher)?;
    let cancel = CancellationToken::new();
    let mut task = tokio::spawn(orchestrator::run(setup, cancel.clone(), None));
    eprintln!("aggregator running; Ctrl-C or SIGTERM stops it (RUST_LOG=info shows what it does)");
    tokio::select! {
        result = &mut task => return result.context("the aggregator panicked")?,
        _ = crate::shutdown::signal() => {}
    }
    eprintln!("stopping…");
    cancel.cancel();
    task.await.context("the aggregator panicked")?
}
