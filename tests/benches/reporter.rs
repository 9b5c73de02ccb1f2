//! What a reporter daemon delivers, on a 3-chain devnet with the aggregator running:
//!
//! - end to end: from a reserve token transfer mined on one chain (its reserves fall past the
//!   deviation threshold, or come back) to every chain's `isSolvent()` reading the new verdict,
//!   with the daemons reading their sources every second (the shortest `poll_secs`); split at
//!   the moment the daemon's report is mined;
//! - throughput: reports per minute one daemon sustains when every read is due (poll and
//!   heartbeat of 1 ms), on the hub chain (a direct `submitReport`) and on a spoke (through
//!   CCIP, paying the fee).
//!
//! Run with `cargo bench -p solvency-tests --bench reporter`. Prints the figures; asserts
//! nothing about time.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256, address};
use solvency_aggregator::reporter::daemon::{Daemon, ReporterEvent};
use solvency_ccip::bindings::devnet_token::DevnetToken;
use solvency_enclave::X25519KeyPair;
use solvency_registry::{
    AssetSources, ChainConfig, Reporting, Source, SourceKind, schema::PolicySection,
};
use solvency_tests::round::Round;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const VAULT: Address = address!("0x00000000000000000000000000000000000a0017");
/// USDC, whole units: healthy reserves and liabilities of every chain, and fallen reserves
/// (one fallen chain sinks the deployment to about 80 %).
const HEALTHY: (u64, u64) = (271_828_182, 231_415_926);
const FALLEN: u64 = 11_235_813;
const ROUNDS: usize = 10;
const THROUGHPUT_FOR: Duration = Duration::from_secs(30);

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// Per chain: the reserve token (balance of the vault) and the liability token (its supply).
async fn tokens(round: &Round) -> Vec<(Address, Address)> {
    let owner = round.wired.devnet.deployment().dev_accounts[0].signer();
    let mut out = Vec::new();
    for chain in &round.wired.devnet.deployment().chains {
        let provider =
            solvency_chain_adapters::rpc::connect_str_with_signer(&chain.rpc_url, owner.clone())
                .unwrap();
        let reserves =
            DevnetToken::deploy(&provider, "USD Coin".into(), "USDC".into(), 6).await.unwrap();
        let liabilities = DevnetToken::deploy(&provider, "USDC receipts".into(), "rUSDC".into(), 6)
            .await
            .unwrap();
        reserves.mint(VAULT, usdc(HEALTHY.0)).send().await.unwrap().get_receipt().await.unwrap();
        liabilities
            .mint(owner.address(), usdc(HEALTHY.1))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        out.push((*reserves.address(), *liabilities.address()));
    }
    out
}

/// Sets chain `i`'s reserves to `whole` USDC; returns when the transaction is mined.
async fn set_reserves(round: &Round, token: Address, i: usize, whole: u64) {
    let owner = round.wired.devnet.deployment().dev_accounts[0].signer();
    let provider = solvency_chain_adapters::rpc::connect_str_with_signer(
        &round.wired.devnet.deployment().chains[i].rpc_url,
        owner,
    )
    .unwrap();
    let token = DevnetToken::new(token, &provider);
    let now = token.balanceOf(VAULT).call().await.unwrap();
    let target = usdc(whole);
    let pending = if now > target {
        token.burn(VAULT, now - target).send().await
    } else {
        token.mint(VAULT, target - now).send().await
    };
    pending.unwrap().get_receipt().await.unwrap();
}

/// Chain `i` with its USDC sources and `reporting`.
fn chain_with_sources(
    round: &Round,
    i: usize,
    tokens: (Address, Address),
    reporting: Reporting,
) -> ChainConfig {
    let mut chain = round.registry.network().unwrap().chains[i].clone();
    let source = |kind| Source { kind, timeout: Duration::from_secs(10) };
    chain.sources = vec![AssetSources {
        symbol: "USDC".into(),
        decimals: 6,
        reserves: vec![source(SourceKind::Erc20Balance { token: tokens.0, holders: vec![VAULT] })],
        liabilities: vec![source(SourceKind::Erc20Supply { token: tokens.1 })],
    }];
    chain.reporting = reporting;
    chain
}

fn daemon(round: &Round, chain: ChainConfig, i: usize, state: &std::path::Path) -> Daemon {
    let key = solvency_aggregator::keyfiles::reporter_key_file(&round.wired.keys.dir, &chain.name);
    Daemon {
        deployment_id: round.registry.deployment_id,
        enclave: round.enclave_public,
        reporter: X25519KeyPair::load(&key, "reporter").unwrap(),
        account: round.wired.devnet.deployment().chains[i].reporter.signer(),
        aggregator: None,
        state_dir: state.to_owned(),
        feedback_timeout: Duration::from_secs(600),
        chain,
    }
}

/// Waits until every chain reads `solvent`.
async fn every_chain(round: &Round, solvent: bool) {
    loop {
        if round.oracles().await.iter().all(|o| o.solvent == solvent) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "median {:>7.0} ms, worst {:>7.0} ms",
        samples[samples.len() / 2].as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let round = Round::start(3, PolicySection::default()).await;
    let tokens = tokens(&round).await;
    let state = tempfile::tempdir().unwrap();

    // End to end, with the daemons as an operator would run them.
    let every_second = Reporting {
        heartbeat: Duration::from_secs(240),
        deviation_bps: 100,
        poll: Duration::from_secs(1),
    };
    let cancel = CancellationToken::new();
    let (events, mut seen) = mpsc::unbounded_channel();
    let mut daemons = Vec::new();
    for (i, pair) in tokens.iter().enumerate() {
        let d = daemon(
            &round,
            chain_with_sources(&round, i, *pair, every_second.clone()),
            i,
            state.path(),
        );
        daemons.push(tokio::spawn(d.run(cancel.clone(), Some(events.clone()))));
    }
    every_chain(&round, true).await;
    let mut to_report = Vec::new();
    let mut to_chains = Vec::new();
    let mut total = Vec::new();
    for r in 0..ROUNDS * 2 {
        let (whole, verdict) = if r % 2 == 0 { (FALLEN, false) } else { (HEALTHY.0, true) };
        while seen.try_recv().is_ok() {}
        set_reserves(&round, tokens[1].0, 1, whole).await;
        let moved = Instant::now();
        // The fallen chain's daemon reports the deviation.
        let reported = loop {
            if let Some(ReporterEvent::Submitted { .. }) = seen.recv().await {
                break Instant::now();
            }
        };
        every_chain(&round, verdict).await;
        let done = Instant::now();
        to_report.push(reported - moved);
        to_chains.push(done - reported);
        total.push(done - moved);
    }
    cancel.cancel();
    for d in daemons {
        d.await.unwrap().unwrap();
    }
    println!(
        "3 chains, daemons reading every 1 s, deviation 1 %, {} moves (fall and back, {ROUNDS} each):",
        ROUNDS * 2
    );
    println!("  source moved → report mined        {}", summary(to_report));
    println!("  report mined → every chain reads it {}", summary(to_chains));
    println!("  source moved → every chain reads it {}", summary(total));

    // Throughput: every read is due.
    let flat_out = Reporting {
        heartbeat: Duration::from_millis(1),
        deviation_bps: 100,
        poll: Duration::from_millis(1),
    };
    for i in [0usize, 1] {
        let cancel = CancellationToken::new();
        let (events, mut seen) = mpsc::unbounded_channel();
        let d = daemon(
            &round,
            chain_with_sources(&round, i, tokens[i], flat_out.clone()),
            i,
            state.path(),
        );
        let task = tokio::spawn(d.run(cancel.clone(), Some(events)));
        let started = Instant::now();
        tokio::time::sleep(THROUGHPUT_FOR).await;
        cancel.cancel();
        task.await.unwrap().unwrap();
        let elapsed = started.elapsed();
        let mut submitted = 0;
        while let Ok(event) = seen.try_recv() {
            match event {
                ReporterEvent::Submitted { .. } => submitted += 1,
                other => panic!("{other:?}"),
            }
        }
        let role = if i == 0 {
            "hub chain (direct submitReport)"
        } else {
            "spoke (through CCIP, fee paid)"
        };
        println!(
            "one daemon, {role}: {submitted} reports in {:.0} s = {:.0} reports/min",
            elapsed.as_secs_f64(),
            submitted as f64 * 60.0 / elapsed.as_secs_f64()
        );
    }
    round.stop().await;
}
