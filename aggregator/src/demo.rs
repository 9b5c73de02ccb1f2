//! `solvency demo`: the main job on a fresh local devnet.
//!
//! Keys are generated, the devnet starts with the enclave's signer registered, the aggregator
//! runs in-process, and reporters on every chain play three rounds: healthy reserves (every
//! chain reads solvent), one chain's reserves fall (every chain reads not solvent), reserves
//! restored (solvent again). Each round prints a per-chain table and its time. The demo exits 0
//! only if every chain showed the expected value at every step.
//!
//! The figures are the reporters' secrets: the demo never prints them, and no log line does.

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use anyhow::{Context, bail};
use solvency_chain_adapters::{Backoff, EvmAdapter};
use solvency_devnet::{DevAccount, Devnet};
use solvency_enclave::{Position, ReportV1};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    cli::DemoArgs,
    config::NetworksFile,
    devnet_setup::{self, DevnetKeys},
    orchestrator::{self, Event, Setup},
    reporter, table,
};

/// How long one round may take before the demo gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

/// One chain's figures in whole units: (USDC reserves, USDC liabilities, WETH reserves,
/// WETH liabilities). Distinctive on purpose, so a test can prove none of them leaks.
pub type Figures = (u64, u64, u64, u64);

/// Healthy figures of every chain: about 103 % once WETH's 10 % haircut is applied.
pub const HEALTHY: Figures = (271_828_182, 231_415_926, 16_180_339, 14_142_135);
/// The fallen chain's figures in the second round: the total drops to about 71 %.
pub const FALLEN: Figures = (11_235_813, 231_415_926, 1_123_581, 14_142_135);

/// Every amount the demo seals, in the asset's smallest unit (for leak tests).
pub fn secret_amounts() -> Vec<U256> {
    [HEALTHY, FALLEN].iter().flat_map(|f| [usdc(f.0), usdc(f.1), weth(f.2), weth(f.3)]).collect()
}

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64.pow(6))
}

fn weth(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

fn positions(f: Figures) -> Vec<Position> {
    vec![Position::new("USDC", usdc(f.0), usdc(f.1)), Position::new("WETH", weth(f.2), weth(f.3))]
}

pub(crate) async fn run(networks: NetworksFile, args: DemoArgs) -> anyhow::Result<()> {
    let mut config = networks.devnet_config();
    if let Some(chains) = args.chains {
        config.chains = chains;
    }
    if config.chains < 2 {
        bail!("the demo needs at least 2 chains (asked for {})", config.chains);
    }
    let state = match &args.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Err(dir.canonicalize()?)
        }
        None => Ok(tempfile::Builder::new().prefix("solvency-demo-").tempdir()?),
    };
    let state_dir = match &state {
        Ok(temp) => temp.path().to_owned(),
        Err(dir) => dir.clone(),
    };
    let names: Vec<String> = (0..config.chains)
        .map(|i| {
            solvency_devnet::chain_name(
                solvency_devnet::chains::test_chain(i).expect("validated").chain_id,
            )
        })
        .collect();
    let keys = devnet_setup::prepare_keys(&state_dir.join("keys"), &names)?;
    config.signers = vec![keys.enclave.public().signer];
    config.state_dir = Some(state_dir.join("devnet"));

    eprintln!("starting a {}-chain devnet…", config.chains);
    let started = Instant::now();
    let devnet = Devnet::start(config).await?;
    eprintln!("devnet ready in {:.2?}", started.elapsed());
    let registry = devnet_setup::registry(&networks, devnet.deployment(), &keys, &state_dir);
    registry.validate()?;
    registry.write(&state_dir.join("networks.toml"))?;
    devnet_setup::apply_policy(devnet.deployment(), &registry).await?;

    let outcome = story(&registry, &devnet, keys).await;
    devnet.shutdown().await;
    eprintln!("devnet stopped");
    outcome
}

async fn story(registry: &NetworksFile, devnet: &Devnet, keys: DevnetKeys) -> anyhow::Result<()> {
    let DevnetKeys { enclave, reporters, .. } = keys;
    let enclave_public = enclave.public().hpke_public_key;
    let publisher = DevAccount::publisher().signer();
    let cancel = CancellationToken::new();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let setup =
        Setup::single(registry.clone(), enclave, publisher, registry.aggregator.state_dir.clone())?;
    let aggregator = tokio::spawn(orchestrator::run(setup, cancel.clone(), Some(events_tx)));
    let _stop = cancel.clone().drop_guard();

    let fallen = 1; // the first spoke
    let rounds: [(String, bool, Option<usize>); 3] = [
        ("every chain reports healthy reserves".into(), true, None),
        (
            format!("{}'s reserves fall below its liabilities", registry.chains[fallen].name),
            false,
            Some(fallen),
        ),
        ("reserves restored".into(), true, None),
    ];
    let mut all_ok = true;
    let mut last_epoch = 0;
    for (round, (what, expected, fallen)) in rounds.iter().enumerate() {
        let seq = round as u64 + 1;
        println!(
            "\nstep {}: {what} — expecting isSolvent() == {expected} on every chain",
            round + 1
        );
        let started = Instant::now();
        let now = crate::unix_now();
        for (i, chain) in registry.chains.iter().enumerate() {
            let figures = if Some(i) == *fallen { FALLEN } else { HEALTHY };
            let report = ReportV1::new(chain.selector, seq, now, positions(figures));
            let sender = devnet.chain(i).reporter.signer();
            reporter::submit(
                chain,
                &registry.deployment_id(),
                &enclave_public,
                &reporters[i],
                sender,
                &report,
            )
            .await
            .with_context(|| format!("submitting {}'s report", chain.name))?;
        }
        let published = wait_published(&mut events, last_epoch).await?;
        let Event::Published { solvent, publication, took } = published else { unreachable!() };
        last_epoch = publication.epoch;
        let rows = read_every_chain(registry).await?;
        let ok = rows.iter().all(|r| r.1 == *expected)
            && solvent == *expected
            && publication.fully_delivered();
        all_ok &= ok;
        let table_rows: Vec<Vec<String>> = rows
            .iter()
            .map(|(name, is_solvent, epoch, valid_for)| {
                vec![
                    name.clone(),
                    is_solvent.to_string(),
                    epoch.to_string(),
                    format!("{valid_for} s"),
                    if *is_solvent == *expected { "ok" } else { "UNEXPECTED" }.into(),
                ]
            })
            .collect();
        println!(
            "{}",
            table::render(&["chain", "isSolvent()", "epoch", "valid for", "check"], &table_rows)
        );
        println!(
            "step {} took {:.2?} (reports submitted → attestation on every chain; last report delivered → all spokes: {:.2?})",
            round + 1,
            started.elapsed(),
            took
        );
    }
    cancel.cancel();
    aggregator.await.context("the aggregator task panicked")??;
    if !all_ok {
        bail!("some chain did not show the expected value");
    }
    println!("\nok: every chain showed the expected value at every step");
    Ok(())
}

/// Waits for the next publication, failing on a refused report.
async fn wait_published(
    events: &mut mpsc::UnboundedReceiver<Event>,
    after_epoch: u64,
) -> anyhow::Result<Event> {
    let deadline = tokio::time::Instant::now() + ROUND_TIMEOUT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .context("no attestation within the round's time limit")?
            .context("the aggregator stopped")?;
        match event {
            Event::Published { ref publication, .. } if publication.epoch > after_epoch => {
                return Ok(event);
            }
            Event::ReportRefused { reason, .. } => bail!("the enclave refused a report: {reason}"),
            Event::PublishFailed { reason } => bail!("publishing failed: {reason}"),
            _ => {}
        }
    }
}

/// (chain, isSolvent, epoch, seconds of validity left) for every chain, read from the chain.
async fn read_every_chain(
    registry: &NetworksFile,
) -> anyhow::Result<Vec<(String, bool, u64, u64)>> {
    let mut rows = Vec::new();
    for chain in &registry.chains {
        let adapter =
            EvmAdapter::connect(&chain.name, chain.selector, &chain.rpc_url, Backoff::default())?;
        let oracle = chain.hub.or(chain.spoke).expect("validated");
        let state = adapter.read_oracle(oracle).await?;
        rows.push((
            chain.name.clone(),
            state.solvent,
            state.attestation.epoch,
            state.attestation.validUntil.saturating_sub(state.block_timestamp),
        ));
    }
    Ok(rows)
}
