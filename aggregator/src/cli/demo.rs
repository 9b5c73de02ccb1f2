//! `solvency demo`: the main job on a fresh local devnet.
//!
//! Keys are generated, the devnet starts with the enclave's signer registered, the aggregator
//! runs in-process (with its API on loopback), and reporters on every chain play eight rounds:
//! healthy reserves (every chain reads solvent); one chain's reserves fall (every chain reads
//! not solvent); a market maker parks standby in that chain's vault and the enclave draws it as
//! junior capital (solvent again, on the same figures); reserves recover (the draw goes back);
//! the protocol keeps part of its reserves in the first chain's vault (a quiet round); the
//! fallen chain's own coverage falls (a location swap heals it); it falls as in the second
//! round (this time the standby is drawn before the boolean turns); reserves recover. Each round prints a
//! per-chain table and its time; each healing round, whether its public traffic has the shape
//! of a quiet round's (`solvency_chain_adapters::traffic`); and, once the maker subscribed, what
//! only the maker sees — its statement, as percentages of its own standby. The demo exits 0 only
//! if every chain showed the expected value at every step and every healing step looked quiet
//! (docs/self-healing.md).
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
/// Steady figures of every chain once the vaults are in play: about 125 %, above the release
/// ratio, so nothing is drawn and a draw is given back.
pub const STEADY: Figures = (271_828_182, 231_415_926, 19_634_954, 14_142_135);
/// The fallen chain's figures when only its own coverage falls (about 77 %) while the whole
/// stays above the recovery ratio: a location swap's case.
pub const LOCAL: Figures = (271_828_182, 231_415_926, 12_020_569, 14_142_135);

/// What the protocol keeps in the first chain's vault, and a market maker parks as standby in
/// the fallen chain's vault, in whole USDC (public: deposits are).
const PROTOCOL_SHARE: u64 = 12_000_000_000;
const STANDBY: u64 = 40_000_000_000;

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
    // The aggregator's API, for the market maker's subscription and statements.
    let view = crate::observe::launch(
        registry,
        // The demo's hub is funded for a demo, not for 48 rounds.
        crate::cli::status::LimitArgs { min_fee_rounds: 1, ..Default::default() }.limits(registry),
        Duration::from_secs(5),
        true,
        Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        cancel.clone(),
    )
    .await?;
    view.observatory.take_withdrawals(setup.withdrawals());
    let api: url::Url = format!("http://{}/", view.addr.expect("serving")).parse()?;
    let aggregator = tokio::spawn(orchestrator::run(setup, cancel.clone(), Some(events_tx)));
    let _stop = cancel.clone().drop_guard();

    let fallen_chain = 1; // the first spoke
    let fallen_name = network.chains[fallen_chain].name.clone();
    let first_name = network.chains[0].name.clone();
    let maker = DevAccount::user(3);
    // The maker's statement key (a fresh one per run; a maker keeps its own in a key file).
    let statement_secret = keccak256(format!("demo statement key {}", crate::unix_now())).0;
    let statement_key = solvency_enclave::X25519KeyPair::from_secret_bytes(statement_secret);
    let mut subscribed = false;
    // (what, expected, figures of each chain, who deposits first)
    type Step = (String, bool, Box<dyn Fn(usize) -> Figures>, Option<Depositor>);
    let fall = move |fallen: Figures, rest: Figures| -> Box<dyn Fn(usize) -> Figures> {
        Box::new(move |i| if i == fallen_chain { fallen } else { rest })
    };
    let rounds: Vec<Step> = vec![
        ("every chain reports healthy reserves".into(), true, Box::new(|_| HEALTHY), None),
        (
            format!("{fallen_name}'s reserves fall below its liabilities"),
            false,
            fall(FALLEN, HEALTHY),
            None,
        ),
        (
            format!(
                "a market maker parks standby collateral in {fallen_name}'s vault and subscribes to statements (public: a deposit); the figures stay those of step 2 — the enclave draws the standby as junior capital"
            ),
            true,
            fall(FALLEN, HEALTHY),
            Some(Depositor::Maker),
        ),
        (
            "reserves recover — the draw goes back to the maker with its premium".into(),
            true,
            Box::new(|_| STEADY),
            None,
        ),
        (
            format!(
                "the protocol keeps part of its reserves in {first_name}'s vault (public: a deposit); a quiet step"
            ),
            true,
            Box::new(|_| STEADY),
            Some(Depositor::Protocol),
        ),
        (
            format!(
                "{fallen_name}'s own coverage falls while the whole stays healthy — a location swap: the maker's standby there becomes the protocol's, the maker gets protocol share on {first_name}"
            ),
            true,
            fall(LOCAL, STEADY),
            None,
        ),
        (
            format!(
                "{fallen_name}'s reserves fall exactly as in step 2 — this time the enclave draws the standby before the boolean turns"
            ),
            true,
            fall(FALLEN, STEADY),
            None,
        ),
        (
            "reserves recover — the draw goes back to the maker".into(),
            true,
            Box::new(|_| STEADY),
            None,
        ),
    ];
    let mut all_ok = true;
    let quiet_step =
        rounds.iter().position(|r| r.3 == Some(Depositor::Protocol)).expect("a quiet step");
    let mut quiet_traffic: Option<Vec<Vec<solvency_chain_adapters::traffic::Shape>>> = None;
    for (round, (what, expected, figures_of, depositor)) in rounds.iter().enumerate() {
        let seq = round as u64 + 1;
        say(format!(
            "\nstep {}: {what} — expecting isSolvent() == {expected} on every chain",
            round + 1
        ));
        let started = Instant::now();
        let before = heads(wired).await?;
        match depositor {
            Some(Depositor::Maker) => {
                deposit(wired, fallen_chain, &DevAccount::user(3), STANDBY).await?
            }
            Some(Depositor::Protocol) => {
                deposit(wired, 0, &DevAccount::protocol(), PROTOCOL_SHARE).await?
            }
            None => {}
        }
        let subscription = if *depositor == Some(Depositor::Maker) {
            let registry = registry.clone();
            let api = api.clone();
            let key = solvency_enclave::X25519KeyPair::from_secret_bytes(statement_secret);
            Some(tokio::spawn(async move {
                crate::maker::Subscription {
                    registry: &registry,
                    key: &key,
                    nonce: 1,
                    account: DevAccount::user(3).signer(),
                    aggregator: api,
                    timeout: ROUND_TIMEOUT,
                    poll: Duration::from_millis(50),
                }
                .run()
                .await
            }))
        } else {
            None
        };
        if subscription.is_some() {
            // The subscription reaches the aggregator before this step's reports.
            let deadline = Instant::now() + ROUND_TIMEOUT;
            while view.observatory.withdrawals().is_some_and(|w| w.handles().is_empty()) {
                if Instant::now() > deadline {
                    bail!("the maker's subscription never reached the aggregator");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let now = crate::unix_now();
        let mut used = Vec::new();
        for (i, chain) in network.chains.iter().enumerate() {
            let figures = figures_of(i);
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
        say(table::render(&["chain", "isSolvent()", "epoch", "valid for", "check"], &rows));
        // The system's public traffic of the step (reports, publish, deliveries; the users'
        // deposits left out), against the first step with the vaults in play, a quiet one.
        let traffic = system_traffic(wired, &before).await?;
        let mut like_quiet = serde_json::Value::Null;
        if round == quiet_step {
            quiet_traffic = Some(traffic);
        } else if let Some(quiet) = &quiet_traffic {
            let same = *quiet == traffic;
            ok &= same;
            like_quiet = same.into();
            say(format!(
                "public traffic of this step, per chain — senders, targets, selectors, calldata lengths, logs, call trees, storage slots touched: {}",
                if same {
                    format!(
                        "the same as step {}'s, a quiet one ({} transactions)",
                        quiet_step + 1,
                        traffic.iter().map(Vec::len).sum::<usize>()
                    )
                } else {
                    "UNEXPECTED: it differs from a quiet step's".into()
                }
            ));
        }
        all_ok &= ok;
        if let Some(subscription) = subscription {
            subscription.await.context("the subscription task panicked")??;
            subscribed = true;
        }
        let mut maker_view = serde_json::Value::Null;
        if subscribed {
            let (rows, json) = maker_sees(registry, &maker, &statement_key, &api).await?;
            say(format!(
                "what only the market maker sees — its statement, opened with its key and proven under the ledger root every chain holds (% of the standby it deposited):\n{}",
                table::render(
                    &["vault", "its balance", "drawn (junior claim)", "owed to it"],
                    &rows
                )
            ));
            maker_view = json;
        }
        say(format!(
            "step {} took {:.2?} (reports submitted → attestation on every chain; decision → every spoke: {:.2?})",
            round + 1,
            started.elapsed(),
            took
        ));
        steps.push(serde_json::json!({
            "step": round + 1, "what": what, "expected": expected, "ok": ok, "chains": chains, "maker_view": maker_view, "traffic_like_quiet": like_quiet,
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

/// Who deposits into a vault before a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Depositor {
    /// The market maker: [`STANDBY`] in the fallen chain's vault.
    Maker,
    /// The protocol: [`PROTOCOL_SHARE`] in the first chain's vault.
    Protocol,
}

/// `account` deposits `whole` devnet USDC (minted first) into `chain`'s vault.
async fn deposit(
    wired: &WiredDevnet,
    chain: usize,
    account: &DevAccount,
    whole: u64,
) -> anyhow::Result<()> {
    use solvency_ccip::bindings::devnet_token::DevnetToken;
    let network = wired.registry.network()?;
    let deployment = wired.devnet.chain(chain);
    let wallet = solvency_chain_adapters::rpc::connect_str_with_signer(
        &deployment.rpc_url,
        account.signer(),
    )?;
    let mint = DevnetToken::new(deployment.collateral, &wallet)
        .mint(account.address, usdc(whole))
        .send()
        .await?;
    solvency_chain_adapters::rpc::confirm(mint).await.context("minting devnet USDC")?;
    crate::maker::deposit(
        &wired.registry,
        &network.chains[chain].name,
        usdc(whole),
        account.signer(),
    )
    .await?;
    Ok(())
}

/// Every chain's latest block.
async fn heads(wired: &WiredDevnet) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::new();
    for chain in &wired.devnet.deployment().chains {
        let provider = solvency_chain_adapters::rpc::connect_str(&chain.rpc_url)?;
        out.push(alloy::providers::Provider::get_block_number(&provider).await?);
    }
    Ok(out)
}

/// Per chain, the shapes of the system's transactions since `before` (the demo's own users —
/// the protocol's and the maker's deposits — left out).
async fn system_traffic(
    wired: &WiredDevnet,
    before: &[u64],
) -> anyhow::Result<Vec<Vec<solvency_chain_adapters::traffic::Shape>>> {
    let users = [DevAccount::protocol().address, DevAccount::user(3).address];
    let mut out = Vec::new();
    for (chain, &from) in wired.devnet.deployment().chains.iter().zip(before) {
        let provider = solvency_chain_adapters::rpc::connect_str(&chain.rpc_url)?;
        let to = alloy::providers::Provider::get_block_number(&provider).await?;
        let traffic = solvency_chain_adapters::traffic::traffic(&provider, from, to)
            .await
            .with_context(|| format!("reading {}'s traffic", chain.name))?;
        out.push(
            traffic
                .into_iter()
                .map(|(shape, _)| shape)
                .filter(|shape| !users.contains(&shape.from))
                .collect(),
        );
    }
    Ok(out)
}

/// The maker's statement as a table of percentages of its standby (and as JSON): what it owns
/// in each vault, what of it is drawn as junior capital, what it is owed.
async fn maker_sees(
    registry: &Registry,
    maker: &DevAccount,
    key: &solvency_enclave::X25519KeyPair,
    api: &url::Url,
) -> anyhow::Result<(Vec<Vec<String>>, serde_json::Value)> {
    let (statement, _) = crate::maker::statement(registry, maker.address, key, api).await?;
    let network = registry.network()?;
    let standby = usdc(STANDBY);
    let percent = |amount: U256| {
        // Tenths of a percent, rounded down.
        let tenths = amount * U256::from(1_000u64) / standby;
        let tenths = u64::try_from(tenths).unwrap_or(u64::MAX);
        format!("{}.{} %", tenths / 10, tenths % 10)
    };
    let mut rows = Vec::new();
    let mut json = Vec::new();
    // In the registry's order of chains.
    for (chain, entry) in network.chains.iter().filter_map(|c| {
        statement
            .entries
            .iter()
            .find(|e| e.chainSelector == c.selector)
            .map(|e| (c.name.clone(), e))
    }) {
        rows.push(vec![
            chain.clone(),
            percent(entry.balance),
            percent(entry.drawn),
            percent(entry.owed),
        ]);
        json.push(serde_json::json!({
            "vault": chain, "balance": percent(entry.balance), "drawn": percent(entry.drawn),
            "owed": percent(entry.owed),
        }));
    }
    Ok((rows, serde_json::json!({ "epoch": statement.epoch, "entries": json })))
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
