//! `solvency status`: what every chain's oracle says now.

use clap::Args;
use solvency_chain_adapters::{Backoff, read_all};

use crate::cli::args::{ConfigArgs, JsonArgs};

/// `solvency status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    json: JsonArgs,
}

pub(super) async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let readings = read_all(&network.chains, Backoff { attempts: 2, ..Backoff::default() }).await;
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for reading in &readings {
        match &reading.state {
            Ok(state) => {
                let a = &state.attestation;
                rows.push(vec![
                    reading.chain.clone(),
                    state.solvent.to_string(),
                    a.epoch.to_string(),
                    state.age().map_or("-".into(), |s| format!("{s} s")),
                    if state.stale() { "stale" } else { "fresh" }.into(),
                ]);
                out.push(serde_json::json!({
                    "chain": reading.chain, "selector": reading.selector, "is_solvent": state.solvent,
                    "epoch": a.epoch, "issued_at": a.issuedAt, "valid_until": a.validUntil,
                    "age_secs": state.age(), "stale": state.stale(), "block": state.block,
                }));
            }
            Err(e) => {
                rows.push(vec![
                    reading.chain.clone(),
                    "unreachable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                out.push(serde_json::json!({ "chain": reading.chain, "selector": reading.selector, "error": e.to_string() }));
            }
        }
    }
    if args.json.json {
        let report = serde_json::json!({ "checked_at": crate::unix_now(), "chains": out });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}",
            crate::table::render(&["chain", "isSolvent()", "epoch", "age", "attestation"], &rows)
        );
    }
    Ok(())
}
