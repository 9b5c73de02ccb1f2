//! `solvency dashboard`: the operator's view from chain reads alone, for anyone.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::{
    cli::{args::ConfigArgs, status::LimitArgs},
    observe,
};

/// `solvency dashboard`
#[derive(Debug, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Where to serve the page, `/api/v1/*` and `/metrics`. Loopback by default; give
    /// `0.0.0.0:8645` to let others reach it.
    #[arg(long, default_value = "127.0.0.1:8645", value_name = "ADDR")]
    listen: SocketAddr,
    #[command(flatten)]
    view: ViewArgs,
}

/// How often the view reads the chains, and what its alerts compare against.
#[derive(Debug, Clone, Copy, Args)]
pub struct ViewArgs {
    /// Read every chain this often (each read is a few RPC requests per chain; see
    /// docs/operations.md for the load).
    #[arg(long, default_value_t = 5, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub refresh_secs: u64,
    /// The alerts' limits.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl ViewArgs {
    /// Starts the view of `registry`.
    pub async fn launch(
        &self,
        registry: &solvency_registry::Registry,
        aggregator: bool,
        http: Option<SocketAddr>,
        cancel: CancellationToken,
    ) -> anyhow::Result<observe::Launched> {
        observe::launch(
            registry,
            self.limits.limits(registry),
            Duration::from_secs(self.refresh_secs),
            aggregator,
            http,
            cancel,
        )
        .await
    }
}

pub(super) async fn run(args: DashboardArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let cancel = CancellationToken::new();
    let launched = args.view.launch(&registry, false, Some(args.listen), cancel.clone()).await?;
    let addr = launched.addr.context("the dashboard has no address")?;
    println!(
        "dashboard on http://{addr}/ (read-only, from chain reads alone); Ctrl-C or SIGTERM stops it"
    );
    crate::shutdown::signal().await;
    cancel.cancel();
    launched.join().await;
    Ok(())
}
