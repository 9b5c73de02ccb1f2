//! What the operator's view costs, on a 25-chain devnet after a few rounds: requests per second
//! its HTTP server sustains on loopback for `/api/v1/status`, side by side with `/healthz` (the
//! server's floor), `/metrics` and the page; and the RPC requests its reads add to each chain's
//! endpoint per minute, at the default refresh and while the server is under that load.
//!
//! Run with `cargo bench -p solvency-tests --bench view`. Prints the figures; asserts nothing
//! about time.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use solvency_aggregator::observe::{self, alerts::Limits};
use solvency_registry::schema::PolicySection;
use solvency_tests::round::{Round, healthy};
use tokio_util::sync::CancellationToken;

const CHAINS: usize = 25;
const ROUNDS: u64 = 3;
/// The default of `--refresh-secs`.
const REFRESH: Duration = Duration::from_secs(5);
const CONNECTIONS: usize = 16;
const PER_ENDPOINT: Duration = Duration::from_secs(10);

/// Requests per second `path` sustains with `CONNECTIONS` keep-alive connections, and the body
/// size.
async fn hammer(base: &str, path: &str) -> (f64, usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap();
    let url = format!("{base}{path}");
    let size = client.get(&url).send().await.unwrap().bytes().await.unwrap().len();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, done, stop) =
                (client.clone(), url.clone(), done.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let response = client.get(&url).send().await.unwrap();
                    assert!(response.status().is_success(), "{url}: {}", response.status());
                    response.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(PER_ENDPOINT).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), size)
}

/// `solvency_view_rpc_requests_total` per chain, from `/metrics`.
async fn rpc_requests(base: &str) -> BTreeMap<String, f64> {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("solvency_view_rpc_requests_total{chain=\""))
        .map(|rest| {
            let (chain, value) = rest.split_once("\"} ").unwrap();
            (chain.to_owned(), value.trim().parse().unwrap())
        })
        .collect()
}

/// The counts right after the next refresh, and when they were read: measuring between two
/// refreshes' ends counts whole refreshes only.
async fn after_next_refresh(base: &str) -> (BTreeMap<String, f64>, Instant) {
    let now = rpc_requests(base).await;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let next = rpc_requests(base).await;
        if next != now {
            return (next, Instant::now());
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut round = Round::start(CHAINS, PolicySection::default()).await;
    for seq in 1..=ROUNDS {
        let before = round.hub_epoch().await;
        round.submit_all(seq, |_| healthy()).await;
        round.published_and_delivered(before).await;
    }
    let cancel = CancellationToken::new();
    let limits = Limits { max_report_age: 600, min_fee_rounds: 48, signer_horizon: 86_400 };
    let view = observe::launch(
        &round.registry,
        limits,
        REFRESH,
        false,
        Some("127.0.0.1:0".parse().unwrap()),
        cancel.clone(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", view.addr.unwrap());
    while view.observatory.status().checked_at == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(view.observatory.status().chains.len(), CHAINS);

    let (before, counted_from) = after_next_refresh(&base).await;
    println!(
        "{CHAINS} chains, {ROUNDS} rounds of history, {CONNECTIONS} connections, {} s per endpoint",
        PER_ENDPOINT.as_secs()
    );
    println!("{:<16} {:>10} {:>10} {:>12}", "endpoint", "req/s", "body", "vs /healthz");
    let (floor, _) = hammer(&base, "/healthz").await;
    println!("{:<16} {:>10.0} {:>10} {:>12}", "/healthz", floor, "-", "1.00");
    for path in ["/api/v1/status", "/api/v1/epochs", "/metrics", "/"] {
        let (rps, size) = hammer(&base, path).await;
        println!("{path:<16} {rps:>10.0} {:>9}B {:>12.2}", size, rps / floor);
    }
    let (after, counted_to) = after_next_refresh(&base).await;
    let minutes = (counted_to - counted_from).as_secs_f64() / 60.0;
    let per_minute: Vec<(String, f64)> = after
        .iter()
        .map(|(chain, n)| {
            (chain.clone(), (n - before.get(chain).copied().unwrap_or(0.0)) / minutes)
        })
        .collect();
    let hub = &round.registry.network().unwrap().hub().name;
    let spokes: Vec<f64> = per_minute.iter().filter(|(c, _)| c != hub).map(|(_, n)| *n).collect();
    let hub_rate = per_minute.iter().find(|(c, _)| c == hub).map_or(0.0, |(_, n)| *n);
    println!(
        "RPC load over {:.0} s at a {} s refresh, the server busy throughout: hub {:.1} requests/min; spokes {:.1}–{:.1} requests/min each",
        minutes * 60.0,
        REFRESH.as_secs(),
        hub_rate,
        spokes.iter().copied().fold(f64::INFINITY, f64::min),
        spokes.iter().copied().fold(0.0, f64::max),
    );
    cancel.cancel();
    view.join().await;
    round.stop().await;
}
