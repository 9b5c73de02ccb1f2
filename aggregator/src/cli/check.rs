//! `solvency check`: what must hold on every chain before `solvency run` — each RPC's chain id,
//! the contracts and their wiring, the policy digest, the enclave's signers, the hub's fee
//! balance — and the freshness windows against each lane's CCIP latency.

use clap::Args;
use solvency_chain_adapters::preflight::{self, Severity};

use crate::cli::args::{ConfigArgs, JsonArgs};

/// `solvency check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    json: JsonArgs,
}

/// Errors were found (printed); the process exits 1.
#[derive(Debug)]
pub struct CheckFailed {
    /// How many errors.
    pub errors: usize,
}

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error(s): `solvency run` would refuse to start", self.errors)
    }
}

impl std::error::Error for CheckFailed {}

pub(super) async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let chains = registry.network()?.chains.len();
    let findings = preflight::preflight(&registry).await?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else if findings.is_empty() {
        println!("all checks passed on {chains} chain(s)");
    } else {
        for finding in &findings {
            println!("{finding}");
        }
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    if errors > 0 {
        return Err(CheckFailed { errors }.into());
    }
    Ok(())
}
