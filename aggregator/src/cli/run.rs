//! `solvency run`: the aggregator daemon.

use alloy::primitives::B256;
use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{
    cli::{args::ConfigArgs, dashboard::ViewArgs},
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
    /// The publisher from an encrypted keystore instead (password from
    /// SOLVENCY_KEYSTORE_PASSWORD or SOLVENCY_KEYSTORE_PASSWORD_FILE). Overrides
    /// `[aggregator] publisher_keystore`.
    #[arg(long, value_name = "FILE", conflicts_with = "publisher_key")]
    publisher_keystore: Option<std::path::PathBuf>,
    /// Serve the operator's view (web page, `/api/v1/*`, `/metrics`, `/healthz`, `/readyz`) on
    /// this address, e.g. `127.0.0.1:8645`. Without it, alerts are still logged.
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
    #[command(flatten)]
    view: ViewArgs,
}

pub(super) async fn run(args: RunArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let keystore = args.publisher_keystore.as_deref().or((args.publisher_key.is_none())
        .then_some(registry.aggregator.publisher_keystore.as_deref())
        .flatten());
    let publisher = match crate::accounts::account(args.publisher_key, keystore)? {
        Some(publisher) => publisher,
        None => match (&registry.aggregator.publisher, &registry.aggregator.publisher_unset) {
            (Some(publisher), _) => publisher.clone(),
            (None, Some(problem)) => anyhow::bail!("{problem}; or give --publisher-key"),
            (None, None) => anyhow::bail!(
                "give the account that sends publish: --publisher-keystore, --publisher-key, SOLVENCY_PUBLISHER_KEY, or [aggregator] publisher_keystore"
            ),
        },
    };
    let cancel = CancellationToken::new();
    let view = args.view.launch(&registry, true, args.http, cancel.clone()).await?;
    let setup = Setup::from_registry(registry, publisher)?;
    view.observatory.take_withdrawals(setup.withdrawals());
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let observatory = view.observatory.clone();
    let recorder = tokio::spawn(async move {
        while let Some(event) = received.recv().await {
            observatory.record(&event);
        }
    });
    let mut task = tokio::spawn(orchestrator::run(setup, cancel.clone(), Some(events)));
    match view.addr {
        Some(addr) => {
            info!(target: "aggregator", view = %format!("http://{addr}/"), "running; Ctrl-C or SIGTERM stops it")
        }
        None => info!(target: "aggregator", "running; Ctrl-C or SIGTERM stops it"),
    }
    let result = tokio::select! {
        result = &mut task => result,
        _ = crate::shutdown::signal() => {
            info!(target: "aggregator", "stopping");
            cancel.cancel();
            task.await
        }
    };
    cancel.cancel();
    view.join().await;
    let _ = recorder.await;
    result.context("the aggregator panicked")?
}
