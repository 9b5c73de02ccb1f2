//! How long a round takes with a 2-of-3 quorum of served enclave instances, against 1-of-1 on
//! the same devnet: from the last report mined to the attestation held by every spoke.
//!
//! Run with `cargo bench -p solvency-tests --bench quorum`. Prints medians and their ratio;
//! asserts nothing about time.

use std::time::{Duration, Instant};

use solvency_registry::schema::PolicySection;
use solvency_tests::round::{Member, Round, healthy};

const ROUNDS: usize = 20;

async fn rounds(round: &mut Round, first_seq: u64) -> Vec<Duration> {
    let mut took = Vec::new();
    for seq in first_seq..first_seq + ROUNDS as u64 {
        let before = round.hub_epoch().await;
        round.submit_all(seq, |_| healthy()).await;
        let last_mined = Instant::now();
        round.published_and_delivered(before).await;
        took.push(last_mined.elapsed());
    }
    took.sort();
    took
}

#[tokio::main]
async fn main() {
    let mut round = Round::start_quorum(3, PolicySection::default(), &[Member::Honest; 3], 1).await;
    round.use_quorum(&[0], 1).await;
    let single = rounds(&mut round, 1).await;
    round.use_quorum(&[0, 1, 2], 2).await;
    let quorum = rounds(&mut round, 1 + ROUNDS as u64).await;
    let (a, b) = (single[ROUNDS / 2], quorum[ROUNDS / 2]);
    println!(
        "round, last report mined -> attestation on every spoke, 3 chains, {ROUNDS} rounds each, same devnet:"
    );
    println!("  1-of-1: median {a:.1?}, worst {:.1?}", single[ROUNDS - 1]);
    println!("  2-of-3: median {b:.1?}, worst {:.1?}", quorum[ROUNDS - 1]);
    println!("  ratio 2-of-3 / 1-of-1 (medians): {:.2}", b.as_secs_f64() / a.as_secs_f64());
    round.stop().await;
}
