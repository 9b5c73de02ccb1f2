//! `solvency status`: what every chain's oracle says now.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use solvency_chain_adapters::{Backoff, ChainReading, read_all};

use crate::{
    cli::args::{ConfigArgs, JsonArgs},
    observe::{self, alerts},
};

/// `solvency status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    json: JsonArgs,
    /// Wait up to this many seconds until every chain holds the same, fresh attestation (at or
    /// above `--min-epoch`); exit 1 if they do not.
    #[arg(long, value_name = "SECS")]
    wait: Option<u64>,
    /// With `--wait`: the epoch every chain must have reached.
    #[arg(long, default_value_t = 1, requires = "wait")]
    min_epoch: u64,
    /// Check every condition an operator must act on and exit with its code (0: none; see
    /// "Alerts" in docs/operations.md): for cron, systemd and Kubernetes probes.
    #[arg(long, conflicts_with = "wait")]
    check: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// What `status --check`, `run` and `dashboard` compare against.
#[derive(Debug, Clone, Copy, Args)]
pub struct LimitArgs {
    /// Alert when the hub's fee balance pays for fewer rounds than this.
    #[arg(long, default_value_t = LimitArgs::default().min_fee_rounds, value_name = "ROUNDS")]
    pub min_fee_rounds: u64,
    /// Alert when, within this many seconds, fewer than k signers would stay registered.
    #[arg(long, default_value_t = LimitArgs::default().signer_horizon_secs, value_name = "SECS")]
    pub signer_horizon_secs: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self { min_fee_rounds: 48, signer_horizon_secs: 86_400 }
    }
}

impl LimitArgs {
    /// The limits for a registry: a required chain is silent past the policy's report age.
    pub fn limits(&self, registry: &solvency_registry::Registry) -> alerts::Limits {
        alerts::Limits {
            max_report_age: registry.policy.max_report_age.as_secs(),
            min_fee_rounds: self.min_fee_rounds,
            signer_horizon: self.signer_horizon_secs,
        }
    }
}

/// `status --check` found conditions to act on: the alerts are printed, and the process exits
/// with `code` (the most urgent alert's).
#[derive(Debug)]
pub struct AlertsRaised {
    /// The exit code.
    pub code: u8,
}

impl std::fmt::Display for AlertsRaised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "alerts raised (exit code {})", self.code)
    }
}

impl std::error::Error for AlertsRaised {}

/// `status --check`: every alert, printed; the most urgent one's exit code.
async fn check(args: &StatusArgs, registry: &solvency_registry::Registry) -> anyhow::Result<()> {
    let status = observe::check_once(registry, args.limits.limits(registry)).await?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        let rows: Vec<Vec<String>> = status
            .chains
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    if c.reachable {
                        c.is_solvent.to_string()
                    } else {
                        c.error.clone().unwrap_or_default()
                    },
                    c.epoch.to_string(),
                    c.last_report
                        .as_ref()
                        .map_or("-".into(), |r| format!("seq {}, {} s ago", r.seq, r.age_secs)),
                ]
            })
            .collect();
        println!(
            "{}",
            crate::table::render(&["chain", "isSolvent()", "epoch", "last report"], &rows)
        );
        if status.alerts.is_empty() {
            println!("no alert");
        }
        for alert in &status.alerts {
            println!("{} {}: {}", alert.severity, alert.alert, alert.message);
        }
    }
    match alerts::exit_code(&status.alerts) {
        0 => Ok(()),
        code => Err(AlertsRaised { code }.into()),
    }
}

/// Every chain holds the same epoch, at least `min_epoch`, still valid.
fn settled(readings: &[ChainReading], min_epoch: u64) -> bool {
    let epochs: Vec<Option<u64>> = readings
        .iter()
        .map(|r| r.state.as_ref().ok().filter(|s| !s.stale()).map(|s| s.attestation.epoch))
        .collect();
    epochs.iter().all(|e| e.is_some_and(|e| e >= min_epoch))
        && epochs.windows(2).all(|w| w[0] == w[1])
}

pub(super) async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    if args.check {
        return check(&args, &registry).await;
    }
    let network = registry.network()?;
    let backoff = Backoff { attempts: 2, ..Backoff::default() };
    let mut readings = read_all(&network.chains, backoff).await;
    if let Some(secs) = args.wait {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !settled(&readings, args.min_epoch) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            readings = read_all(&network.chains, backoff).await;
        }
    }
    let now = crate::unix_now();
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for reading in &readings {
        match &reading.state {
            Ok(state) => {
                let a = &state.attestation;
                // Age by the wall clock: a quiet devnet chain's last block can be old.
                let age = (a.epoch > 0).then(|| now.saturating_sub(a.issuedAt));
                rows.push(vec![
                    reading.chain.clone(),
                    state.solvent.to_string(),
                    a.epoch.to_string(),
                    age.map_or("-".into(), |s| format!("{s} s")),
                    if state.stale() { "stale" } else { "fresh" }.into(),
                ]);
                out.push(serde_json::json!({
                    "chain": reading.chain, "selector": reading.selector, "is_solvent": state.solvent,
                    "epoch": a.epoch, "issued_at": a.issuedAt, "valid_until": a.validUntil,
                    "age_secs": age, "stale": state.stale(), "block": state.block,
                }));
            }
            Err(e) => {
                rows.push(vec![
                    reading.chain.clone(),
                    e.kind().into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                out.push(serde_json::json!({
                    "chain": reading.chain, "selector": reading.selector, "error": e.kind(),
                    "reason": e.to_string(),
                }));
            }
        }
    }
    if args.json.json {
        let report = serde_json::json!({ "checked_at": now, "chains": out });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}",
            crate::table::render(&["chain", "isSolvent()", "epoch", "age", "attestation"], &rows)
        );
        for reading in &readings {
            if let Err(e) = &reading.state {
                eprintln!("{}: {e}", reading.chain);
            }
        }
    }
    if readings.iter().any(|r| r.state.is_err()) {
        bail!("some chains could not be read");
    }
    if args.wait.is_some() && !settled(&readings, args.min_epoch) {
        bail!(
            "not every chain holds the same fresh attestation (epoch {} or later) yet",
            args.min_epoch
        );
    }
    Ok(())
}
