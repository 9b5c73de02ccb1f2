//! End-to-end latency of the confidential round on a 3-chain devnet: from the last report's
//! delivery on the hub to the attestation on every spoke, over 20 rounds.
//!
//! Run with `cargo bench -p solvency-tests --bench round`. Times come from the relayer's
//! clock (when it saw a delivery succeed), so hub delivery and spoke delivery are measured the
//! same way. Prints median and worst; asserts nothing about time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use solvency_devnet::MessageState;
use solvency_registry::schema::PolicySection;
use solvency_tests::round::{Round, healthy, now};

const ROUNDS: usize = 20;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::main]
async fn main() {
    let mut round = Round::start(3, PolicySection::default()).await;
    let hub = round.registry.network().unwrap().hub().selector;
    let relayer = round.devnet.relayer().unwrap();
    let mut latencies = Vec::new();
    for r in 1..=ROUNDS as u64 {
        let seen_before = relayer.messages().len();
        let before = round.hub_epoch().await;
        // The hub chain's report is delivered when its submitReport is mined.
        let hub_payload = round.seal(0, 0, r, now(), healthy());
        round.submit_payload(0, r, hub_payload).await;
        let hub_delivered = now_ms();
        for i in 1..3 {
            let payload = round.seal(i, i, r, now(), healthy());
            round.submit_payload(i, r, payload).await;
        }
        round.published_and_delivered(before).await;
        let messages = relayer
            .wait_for("the round's messages", Duration::from_secs(60), |m| {
                m.len() >= seen_before + 4 && m[seen_before..].iter().all(|m| m.state.is_final())
            })
            .await
            .unwrap();
        let new = &messages[seen_before..];
        assert!(new.iter().all(|m| matches!(m.state, MessageState::Success { .. })));
        let last_report = new
            .iter()
            .filter(|m| m.dest_chain_selector == hub)
            .filter_map(|m| m.finished_at_ms)
            .chain([hub_delivered])
            .max()
            .unwrap();
        let last_landing = new
            .iter()
            .filter(|m| m.source_chain_selector == hub)
            .filter_map(|m| m.finished_at_ms)
            .max()
            .unwrap();
        latencies.push(Duration::from_millis(last_landing.saturating_sub(last_report)));
    }
    latencies.sort();
    println!(
        "end to end, last report delivered on the hub -> attestation on every spoke ({ROUNDS} rounds, 3 chains): \
         median {:.0?}, worst {:.0?}, best {:.0?}",
        latencies[ROUNDS / 2],
        latencies[ROUNDS - 1],
        latencies[0]
    );
    round.stop().await;
}
