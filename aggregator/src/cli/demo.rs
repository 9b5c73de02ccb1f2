//! `solvency demo`: the main job on a fresh local devnet.
//!
//! Keys are generated, the devnet starts with the enclave's signer registered, the aggregator
//! runs in-process (with its API on loopback), and reporters on every chain play eight rounds:
//! healthy reserves (every chain reads solvent); one chain's reserves fall (every chain reads
//! not solvent); three market makers park standby in that chain's vault and quote it on the hub's
//! board, sealed, at different premiums — the enclave clears the need against the cheapest at one
//! clearing premium and draws it as junior capital (solvent again, on the same figures), the
//! dearest untouched; reserves recover (the draw goes back);
//! the protocol keeps part of its reserves in the first chain's vault (a quiet round); the
//! fallen chain's own coverage falls (a location swap heals it); it falls as in the second
//! round (this time the standby is drawn before the boolean turns); reserves recover. Each round prints a
//! per-chain table and its time; each healing round, whether its public traffic has the shape
//! of a quiet round's (`solvency_chain_adapters::traffic`); and, once the makers subscribed, what
//! only each maker sees — its statement, as percentages of its own standby. The demo exits 0 only
//! if every chain showed the expected value at every step, every healing step looked quiet and
//! the market cleared as it should: the cheapest quotes filled at one premium, the one above the
//! reserve price untouched (docs/self-healing.md).
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

/// What the protocol keeps in the first chain's vault, and each market maker parks as standby
/// in the fallen chain's vault (and quotes, all of it), in whole USDC (public: deposits are).
const PROTOCOL_SHARE: u64 = 12_000_000_000;
const STANDBY: u64 = 30_000_000_000;

/// The dark pool's makers: a name, the devnet user account, the premium each quotes (bps), all
/// under the reserve price. The step-3 need (about 50 billion) takes all of A's and part of B's
/// at B's premium, the clearing one; C, the dearest, is not needed and never drawn.
const MAKERS: [(&str, usize, u32); 3] =
    [("maker A", 1, 25), ("maker B", 2, 40), ("maker C", 3, 90)];

/// One of the demo's market makers: its account and its two keys (quotes, statements).
struct Maker {
    name: &'static str,
    account: DevAccount,
    premium_bps: u32,
    quote_key: solvency_enclave::X25519KeyPair,
    statement_key: std::sync::Arc<solvency_enclave::X25519KeyPair>,
}

impl Maker {
    /// The demo's makers, with fresh random keys (a maker keeps its own in key files).
    fn all() -> Vec<Self> {
        MAKERS
            .iter()
            .map(|&(name, user, premium_bps)| Self {
                name,
                account: DevAccount::user(user),
                premium_bps,
                quote_key: solvency_enclave::X25519KeyPair::generate(),
                statement_key: solvency_enclave::X25519KeyPair::generate().into(),
            })
            .collect()
    }
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
    let makers = Maker::all();
    // The operator registers the makers' quote keys on the hub's board (public, before the
    // story: a maker is registered once).
    let board = wired.devnet.hub().quote_board.context(
        "the demo's capital step goes through the dark pool: the registry needs [policy.market] \
         (the devnet then deploys the hub's quote board)",
    )?;
    register_makers(wired, board, &makers).await?;
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
                "three market makers park standby collateral in {fallen_name}'s vault (public: deposits), subscribe to statements and quote it on the hub's board, sealed (public: one 289-byte quote each); the figures stay those of step 2 — the enclave clears the need against the cheapest quotes at one premium and draws their standby as junior capital"
            ),
            true,
            fall(FALLEN, HEALTHY),
            Some(Depositor::Maker),
        ),
        (
            "reserves recover — the draw goes back to the makers with their premium".into(),
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
                "{fallen_name}'s own coverage falls while the whole stays healthy — a location swap: makers' standby there becomes the protocol's, they get protocol share on {first_name}"
            ),
            true,
            fall(LOCAL, STEADY),
            None,
        ),
        (
            format!(
                "{fallen_name}'s reserves fall exactly as in step 2 — this time the enclave draws quoted standby before the boolean turns"
            ),
            true,
            fall(FALLEN, STEADY),
            None,
        ),
        (
            "reserves recover — the draw goes back to the makers".into(),
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
        let mut subscriptions = Vec::new();
        match depositor {
            Some(Depositor::Maker) => {
                for maker in &makers {
                    deposit(wired, fallen_chain, &maker.account, STANDBY).await?;
                    let registry = registry.clone();
                    let api = api.clone();
                    let key = maker.statement_key.clone();
                    let account = maker.account.signer();
                    subscriptions.push(tokio::spawn(async move {
                        crate::maker::Subscription {
                            registry: &registry,
                            key: &key,
                            nonce: 1,
                            account,
                            aggregator: api,
                            timeout: ROUND_TIMEOUT,
                            poll: Duration::from_millis(50),
                        }
                        .run()
                        .await
                    }));
                }
                // The subscriptions reach the aggregator before this step's reports.
                let deadline = Instant::now() + ROUND_TIMEOUT;
                while view
                    .observatory
                    .withdrawals()
                    .is_some_and(|w| w.handles().len() < makers.len())
                {
                    if Instant::now() > deadline {
                        bail!("the makers' subscriptions never reached the aggregator");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let quoted = quote(registry, &makers).await?;
                close_quote_round(wired, board, quoted).await?;
            }
            Some(Depositor::Protocol) => {
                deposit(wired, 0, &DevAccount::protocol(), PROTOCOL_SHARE).await?
            }
            None => {}
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
        for subscription in subscriptions {
            subscription.await.context("a subscription task panicked")??;
            subscribed = true;
        }
        let mut maker_view = serde_json::Value::Null;
        if subscribed {
            let seen = makers_see(registry, &makers, &api).await?;
            say(format!(
                "what only each market maker sees — its own statement, opened with its key and proven under the ledger root every chain holds (% of the standby it deposited; vaults where it has nothing left out):\n{}",
                table::render(
                    &[
                        "maker",
                        "quoted",
                        "vault",
                        "its balance",
                        "drawn (junior claim)",
                        "owed to it"
                    ],
                    &seen.rows
                )
            ));
            if *depositor == Some(Depositor::Maker) {
                let cleared = seen.check_clearing(&makers);
                say(match &cleared {
                    Ok(line) => format!("the dark pool: {line}"),
                    Err(problem) => format!("the dark pool: UNEXPECTED: {problem}"),
                });
                ok &= cleared.is_ok();
                all_ok &= cleared.is_ok();
                say(format!(
                    "what the operator and everyone else sees of it: {} deposits and {} quotes of the same size on the board — not who was drawn, nor how much, nor at what premium",
                    makers.len(),
                    makers.len()
                ));
            }
            maker_view = seen.json;
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
        bail!("a step did not go as expected (see UNEXPECTED above)");
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
/// the protocol's and the makers' deposits, the makers' quotes — left out).
async fn system_traffic(
    wired: &WiredDevnet,
    before: &[u64],
) -> anyhow::Result<Vec<Vec<solvency_chain_adapters::traffic::Shape>>> {
    let mut users = vec![DevAccount::protocol().address];
    users.extend(MAKERS.iter().map(|&(_, user, _)| DevAccount::user(user).address));
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

/// The hub's owner (the devnet's deployer) registers each maker's quote key on the board.
async fn register_makers(
    wired: &WiredDevnet,
    board: alloy::primitives::Address,
    makers: &[Maker],
) -> anyhow::Result<()> {
    use solvency_ccip::bindings::quote_board::QuoteBoard;
    let hub = wired.devnet.hub();
    let owner =
        solvency_chain_adapters::rpc::connect_str_with_signer(&hub.rpc_url, hub.deployer.signer())?;
    let board = QuoteBoard::new(board, &owner);
    for maker in makers {
        let key = alloy::primitives::B256::from(maker.quote_key.public());
        let sent = board.setMaker(maker.account.address, key).send().await;
        solvency_chain_adapters::rpc::confirm(sent?)
            .await
            .with_context(|| format!("registering {}'s quote key", maker.name))?;
    }
    Ok(())
}

/// Every maker quotes all its standby at its premium, for an hour, as `solvency maker quote`
/// does; returns the last board round the quotes went into (their events say which).
async fn quote(registry: &Registry, makers: &[Maker]) -> anyhow::Result<u64> {
    let expires_at = crate::unix_now() + 3_600;
    let mut round = 0;
    for maker in makers {
        let offer = crate::maker::QuoteOffer {
            asset: "USDC".into(),
            size: usdc(STANDBY),
            premium_bps: maker.premium_bps,
            expires_at,
            seq: 1,
        };
        let submitted =
            crate::maker::submit_quote(registry, maker.account.signer(), &maker.quote_key, &offer)
                .await
                .with_context(|| format!("{}'s quote", maker.name))?;
        round = round.max(submitted.round);
    }
    Ok(round)
}

/// Waits until the board's round `round` is closed — the enclave counts only quotes of closed
/// rounds — mining an empty hub block now and then so that the hub's time moves on.
async fn close_quote_round(
    wired: &WiredDevnet,
    board: alloy::primitives::Address,
    round: u64,
) -> anyhow::Result<()> {
    use alloy::providers::Provider;
    let client = solvency_chain_adapters::ChainClient::new(
        wired.registry.network()?.hub(),
        Default::default(),
    );
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let (closed, _) = solvency_chain_adapters::quotes::closed_quotes(&client, board).await?;
        if closed >= round {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the quote board's round {round} never closed");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        client.provider().raw_request::<_, String>("evm_mine".into(), ()).await?;
    }
}

/// What the makers' statements show, as a table of percentages of each one's standby (and as
/// JSON), with each one's fill and premium for the clearing check.
struct MakersSee {
    rows: Vec<Vec<String>>,
    json: serde_json::Value,
    /// Per maker: (drawn, owed) summed over vaults.
    claims: Vec<(U256, U256)>,
}

impl MakersSee {
    /// The dark pool cleared as the demo's quotes and need say it must: the cheapest maker
    /// drawn in full, the next one in part, the dearest untouched, and both filled paid the
    /// marginal (second) quote's premium — owed over drawn within a basis point of it above
    /// (standby fees, a few seconds' worth, add to what is owed). Returns the line to print.
    fn check_clearing(&self, makers: &[Maker]) -> Result<String, String> {
        let standby = usdc(STANDBY);
        let [(a_drawn, a_owed), (b_drawn, b_owed), (c_drawn, _)] = self.claims[..] else {
            return Err(format!("{} makers' statements, not 3", self.claims.len()));
        };
        let [a, b, c] = [&makers[0], &makers[1], &makers[2]];
        if a_drawn != standby {
            return Err(format!("{}, the cheapest, was not drawn in full", a.name));
        }
        if b_drawn.is_zero() || b_drawn >= standby {
            return Err(format!("{}, the marginal quote, was not drawn in part", b.name));
        }
        if !c_drawn.is_zero() {
            return Err(format!("{}, the dearest, was drawn", c.name));
        }
        let clearing = U256::from(b.premium_bps);
        let bps = U256::from(10_000u64);
        let paid_clearing = |drawn: U256, owed: U256| {
            drawn * clearing / bps <= owed && owed * bps < drawn * (clearing + U256::from(1u64))
        };
        for (maker, drawn, owed) in [(a, a_drawn, a_owed), (b, b_drawn, b_owed)] {
            if !paid_clearing(drawn, owed) {
                return Err(format!(
                    "{} was not paid the clearing {clearing} bps (owed {} bps of what was drawn)",
                    maker.name,
                    owed * bps / drawn
                ));
            }
        }
        Ok(format!(
            "{} and {} filled at one clearing premium of {clearing} bps, the marginal quote's ({} quoted {} bps); {} untouched",
            a.name, b.name, a.name, a.premium_bps, c.name
        ))
    }
}

/// Each maker's statement, opened with its key and proven under a chain's ledger root: what it
/// owns in each vault, what of it is drawn as junior capital, what it is owed.
async fn makers_see(
    registry: &Registry,
    makers: &[Maker],
    api: &url::Url,
) -> anyhow::Result<MakersSee> {
    let network = registry.network()?;
    let standby = usdc(STANDBY);
    let percent = |amount: U256| {
        // Hundredths of a percent, rounded down.
        let hundredths = amount * U256::from(10_000u64) / standby;
        let hundredths = u64::try_from(hundredths).unwrap_or(u64::MAX);
        format!("{}.{:02} %", hundredths / 100, hundredths % 100)
    };
    let mut seen =
        MakersSee { rows: Vec::new(), json: serde_json::Value::Null, claims: Vec::new() };
    let mut json = Vec::new();
    for maker in makers {
        let (statement, _) =
            crate::maker::statement(registry, maker.account.address, &maker.statement_key, api)
                .await
                .with_context(|| format!("{}'s statement", maker.name))?;
        let mut claim = (U256::ZERO, U256::ZERO);
        let mut vaults = Vec::new();
        // In the registry's order of chains.
        for chain in &network.chains {
            let Some(entry) = statement.entries.iter().find(|e| e.chainSelector == chain.selector)
            else {
                continue;
            };
            claim = (claim.0 + entry.drawn, claim.1 + entry.owed);
            if (entry.balance | entry.drawn | entry.owed).is_zero() {
                continue;
            }
            seen.rows.push(vec![
                maker.name.into(),
                format!("{} bps", maker.premium_bps),
                chain.name.clone(),
                percent(entry.balance),
                percent(entry.drawn),
                percent(entry.owed),
            ]);
            vaults.push(serde_json::json!({
                "vault": chain.name, "balance": percent(entry.balance),
                "drawn": percent(entry.drawn), "owed": percent(entry.owed),
            }));
        }
        seen.claims.push(claim);
        json.push(serde_json::json!({
            "maker": maker.name, "quoted_bps": maker.premium_bps, "epoch": statement.epoch,
            "entries": vaults,
        }));
    }
    seen.json = serde_json::Value::Array(json);
    Ok(seen)
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
