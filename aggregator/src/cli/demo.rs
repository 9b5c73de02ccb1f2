//! `solvency demo`: the main job on a fresh local devnet.
//!
//! Keys are generated, the devnet starts with the enclave's signer registered, the aggregator
//! runs in-process, and reporters on every chain play five rounds: healthy reserves (every
//! chain reads solvent), one chain's reserves fall (every chain reads not solvent), reserves
//! restored (solvent again); then a market maker parks standby collateral in that chain's
//! reserve vault, and the same fall no longer shows: the enclave draws the standby as junior
//! capital and the boolean never turns (docs/self-healing.md). Each round prints a per-chain
//! table and its time. The demo exits 0 only if every chain showed the expected value at every
//! step.
//!
//! The figures are the reporters' secrets: the demo never prints them, and no log line does.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::primitives::{U256, keccak256};
use anyhow::{Context, bail};
use clap::Args;
use solvency_chain_adapters::{Backoff, read_all};
use solvency_devnet::DevAccount;
use solvency_enclave::{Position, ReportV1, reports_digest, seal_report};
use solvency_registry::Registry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    cli::args::ConfigArgs,
    orchestrator::{self, Event, Setup},
    table,
    wired::{WiredDevnet, WiredOptions},
};

/// How long one round may take before the demo gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

/// `solvency demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The registry whose `[devnet]` and `[policy]` the demo runs with.
    #[command(flatten)]
    config: ConfigArgs,
    /// Number of chains (default from `[devnet] chains` in the registry).
    #[arg(long)]
    chains: Option<usize>,
    /// Keep keys, the devnet files and the aggregator state here (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Print the steps' results as JSON on stdout (the tables go to stderr).
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

/// One chain's figures in whole units: (USDC reserves, USDC liabilities, WETH reserves,
/// WETH liabilities). Distinctive on purpose, so a test can prove none of them leaks.
pub type Figures = (u64, u64, u64, u64);

/// Healthy figures of every chain: about 103 % once WETH's 10 % haircut is applied.
pub const HEALTHY: Figures = (271_828_182, 231_415_926, 16_180_339, 14_142_135);
/// The fallen chain's figures in the second round: the total drops to about 71 %.
pub const FALLEN: Figures = (11_235_813, 231_415_926, 1_123_581, 14_142_135);

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64.pow(6))
}

fn weth(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

fn positions(f: Figures) -> Vec<Position> {
    vec![Position::new("USDC", usdc(f.0), usdc(f.1)), Position::new("WETH", weth(f.2), weth(f.3))]
}

pub(super) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let base = args.config.load()?;
    let chains = args.chains.unwrap_or(base.devnet.chains);
    if chains < 2 {
        bail!("the demo needs at least 2 chains (asked for {chains})");
    }
    eprintln!("starting a {chains}-chain devnet…");
    let started = Instant::now();
    let wired = WiredDevnet::start(
        &base,
        WiredOptions { chains: Some(chains), state_dir: args.state_dir, ..WiredOptions::default() },
    )
    .await?;
    eprintln!("devnet ready in {:.2?}", started.elapsed());
    let outcome = story(&wired, args.json.json).await;
    wired.shutdown().await;
    eprintln!("devnet stopped");
    outcome
}

async fn story(wired: &WiredDevnet, json: bool) -> anyhow::Result<()> {
    // Human output on stdout, or on stderr when stdout carries JSON.
    let say = |text: String| if json { eprintln!("{text}") } else { println!("{text}") };
    let mut steps = Vec::new();
    let registry = &wired.registry;
    let network = registry.network()?;
    let enclave =
        solvency_enclave::EnclaveKeys::load(&crate::keyfiles::enclave_key_file(&wired.keys.dir))?;
    let enclave_public = network.enclave.hpke_public_key;
    let cancel = CancellationToken::new();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let setup = Setup::in_process(registry.clone(), enclave, DevAccount::publisher().signer())?;
    let aggregator = tokio::spawn(orchestrator::run(setup, cancel.clone(), Some(events_tx)));
    let _stop = cancel.clone().drop_guard();

    let fallen_chain = 1; // the first spoke
    let fallen_name = &network.chains[fallen_chain].name;
    let rounds: [(String, bool, Option<usize>, bool); 5] = [
        ("every chain reports healthy reserves".into(), true, None, false),
        (
            format!("{fallen_name}'s reserves fall below its liabilities"),
            false,
            Some(fallen_chain),
            false,
        ),
        ("reserves restored".into(), true, None, false),
        (
            format!(
                "a market maker parks standby collateral in {fallen_name}'s reserve vault (public: a deposit)"
            ),
            true,
            None,
            true,
        ),
        (
            format!(
                "{fallen_name}'s reserves fall exactly as in step 2 — the enclave draws the standby as junior capital, unseen"
            ),
            true,
            Some(fallen_chain),
            false,
        ),
    ];
    let mut all_ok = true;
    for (round, (what, expected, fallen, park)) in rounds.iter().enumerate() {
        let seq = round as u64 + 1;
        say(format!(
            "\nstep {}: {what} — expecting isSolvent() == {expected} on every chain",
            round + 1
        ));
        let started = Instant::now();
        if *park {
            park_standby(wired.devnet.chain(fallen_chain), network.chains.len()).await?;
        }
        let now = crate::unix_now();
        let mut used = Vec::new();
        for (i, chain) in network.chains.iter().enumerate() {
            let figures = if Some(i) == *fallen { FALLEN } else { HEALTHY };
            let report = ReportV1::new(chain.selector, seq, now, positions(figures));
            let payload = seal_report(
                &report,
                &registry.deployment_id,
                &wired.keys.reporters[i],
                &enclave_public,
            )?;
            used.push((chain.selector, seq, keccak256(&payload)));
            let sender = wired.devnet.chain(i).reporter.signer();
            solvency_chain_adapters::submit_report(chain, sender, seq, payload)
                .await
                .with_context(|| format!("submitting {}'s report", chain.name))?;
        }
        used.sort_by_key(|(selector, ..)| *selector);
        // The answer about exactly these reports (a changed verdict may be attested earlier,
        // on some of them).
        let (solvent, took) = wait_delivered(&mut events, registry, reports_digest(&used)).await?;
        let readings = read_all(&network.chains, Backoff::default()).await;
        let mut ok = solvent == *expected;
        let mut rows = Vec::new();
        let mut chains = Vec::new();
        for reading in readings {
            let state = reading.state.with_context(|| format!("reading {}", reading.chain))?;
            let right = state.solvent == *expected;
            ok &= right;
            chains.push(serde_json::json!({
                "chain": reading.chain, "is_solvent": state.solvent,
                "epoch": state.attestation.epoch, "valid_for_secs": state.valid_for(), "ok": right,
            }));
            rows.push(vec![
                reading.chain,
                state.solvent.to_string(),
                state.attestation.epoch.to_string(),
                format!("{} s", state.valid_for()),
                if right { "ok" } else { "UNEXPECTED" }.into(),
            ]);
        }
        all_ok &= ok;
        say(table::render(&["chain", "isSolvent()", "epoch", "valid for", "check"], &rows));
        say(format!(
            "step {} took {:.2?} (reports submitted → attestation on every chain; decision → every spoke: {:.2?})",
            round + 1,
            started.elapsed(),
            took
        ));
        steps.push(serde_json::json!({
            "step": round + 1, "what": what, "expected": expected, "ok": ok, "chains": chains,
            "took_ms": started.elapsed().as_millis() as u64, "decision_to_every_spoke_ms": took.as_millis() as u64,
        }));
    }
    cancel.cancel();
    aggregator.await.context("the aggregator task panicked")??;
    if json {
        let out = serde_json::json!({ "ok": all_ok, "steps": steps });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if !all_ok {
        bail!("some chain did not show the expected value");
    }
    say("\nok: every chain showed the expected value at every step".into());
    Ok(())
}

/// A market maker (a dev account) mints devnet USDC and deposits it into `chain`'s reserve
/// vault: enough standby to lift the demo's fallen total ([`FALLEN`] on one chain of
/// `chains`, about 71 %) back above the recovery ratio.
async fn park_standby(
    chain: &solvency_devnet::ChainDeployment,
    chains: usize,
) -> anyhow::Result<()> {
    use solvency_ccip::bindings::{devnet_token::DevnetToken, vault::ReserveVault};
    // The deficit to 110 % is about 3 billion USD per chain plus 41 billion; 5 per chain plus
    // 50 covers it with room.
    let amount = usdc((5 * chains as u64 + 50) * 1_000_000_000);
    let maker = DevAccount::user(3);
    let wallet =
        solvency_chain_adapters::rpc::connect_str_with_signer(&chain.rpc_url, maker.signer())?;
    let token = DevnetToken::new(chain.collateral, &wallet);
    let vault = ReserveVault::new(chain.vault, &wallet);
    let confirm = |what: &'static str| {
        move |r: alloy::rpc::types::TransactionReceipt| {
            if r.status() { Ok(()) } else { Err(anyhow::anyhow!("{what} reverted")) }
        }
    };
    confirm("minting standby")(
        token.mint(maker.address, amount).send().await?.get_receipt().await?,
    )?;
    confirm("approving the vault")(
        token.approve(chain.vault, amount).send().await?.get_receipt().await?,
    )?;
    confirm("the deposit")(vault.deposit(amount).send().await?.get_receipt().await?)?;
    Ok(())
}

/// Waits for the publication judged on the reports with `digest` to land on every spoke; fails
/// on a refused report or a failed publish. Returns its verdict and the time from the decision
/// to attest to the last spoke holding it.
async fn wait_delivered(
    events: &mut mpsc::UnboundedReceiver<Event>,
    registry: &Registry,
    digest: alloy::primitives::B256,
) -> anyhow::Result<(bool, Duration)> {
    let spokes: BTreeSet<String> = registry.network()?.spokes().map(|c| c.name.clone()).collect();
    let deadline = tokio::time::Instant::now() + ROUND_TIMEOUT;
    let mut published: Option<(u64, bool, Duration, Instant)> = None;
    let mut landed = BTreeSet::new();
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .context("no attestation on every chain within the round's time limit")?
            .context("the aggregator stopped")?;
        match event {
            Event::Published { published: p, took } if p.reports_digest == digest => {
                published = Some((p.epoch, p.solvent, took, p.mined_at));
                landed.clear();
            }
            Event::Delivered { chain, accepted, .. }
                if published.is_some_and(|(epoch, ..)| accepted >= epoch) =>
            {
                landed.insert(chain);
            }
            Event::ReportRefused { refusal, .. } => {
                bail!("the enclave refused a report: {refusal}")
            }
            Event::PublishFailed { error } => bail!("publishing failed: {error}"),
            _ => {}
        }
        if let Some((_, solvent, took, mined_at)) = published
            && landed == spokes
        {
            return Ok((solvent, took + mined_at.elapsed()));
        }
    }
}
