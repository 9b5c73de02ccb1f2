//! `solvency status`: what every chain's oracle says now.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use solvency_chain_adapters::{Backoff, ChainReading, read_all};

use crate::cli::args::{ConfigArgs, JsonArgs};

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
