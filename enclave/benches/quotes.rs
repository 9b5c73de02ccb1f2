//! What the dark pool's quotes cost the enclave at each attestation, printed as plain figures
//! (no timed assertions), for board histories of 1,000 and 10,000 quotes from 50 makers:
//! opening the whole history (HPKE Auth open and decode per quote), only chaining its heads
//! (the check that the host gave every quote), and what the enclave's `QuoteLog` does at an
//! attestation once a round of 50 new quotes closed — open those 50, check the head it keeps —
//! with ratios in one run.
//!
//! Run with `cargo bench -p solvency-enclave --bench quotes`.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256, U256, keccak256};
use solvency_enclave::{
    X25519KeyPair, asset_id,
    market::Class,
    quote::{QuoteEntry, QuoteLog, QuoteTerms, next_quote_head, open_chain, seal_quote},
};

const MAKERS: usize = 50;
const HUB: u64 = 5_009_297_550_715_157_269;
const RUNS: usize = 5;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let deployment = keccak256("bench deployment");
    let enclave = X25519KeyPair::from_secret_bytes(keccak256("bench enclave").0);
    let makers: Vec<(Address, X25519KeyPair)> = (0..MAKERS)
        .map(|i| {
            let secret = keccak256(format!("maker {i}")).0;
            (Address::from_word(keccak256(secret)), X25519KeyPair::from_secret_bytes(secret))
        })
        .collect();
    println!(
        "{:>8} {:>14} {:>12} {:>12} {:>8} {:>16} {:>8}",
        "quotes", "open (median)", "per quote", "heads only", "ratio", "log: 50 new", "ratio"
    );
    for total in [1_000usize, 10_000] {
        let entries: Vec<QuoteEntry> = (0..total + MAKERS)
            .map(|i| {
                let (maker, key) = &makers[i % MAKERS];
                let terms = QuoteTerms {
                    class: Class { asset: asset_id("USDC"), decimals: 6 },
                    size: U256::from(1_000_000_000u64 + i as u64),
                    premium_bps: 30 + (i % 20) as u32,
                    expires_at: 1_800_000_000,
                };
                let sealed = seal_quote(
                    &deployment,
                    HUB,
                    *maker,
                    i as u64 + 1,
                    &terms,
                    key,
                    &enclave.public(),
                )
                .unwrap();
                QuoteEntry {
                    round: (i / MAKERS) as u64,
                    maker: *maker,
                    maker_key: key.public(),
                    sealed: sealed.into(),
                }
            })
            .collect();
        let (history, next_round) = entries.split_at(total);
        let entries = history;
        let head = entries.iter().fold(B256::ZERO, next_quote_head);
        // The log as an attestation finds it: the history opened at earlier attestations, a
        // round of 50 new quotes since.
        let logged = |with_next: bool| {
            let mut log = QuoteLog::default();
            log.feed(0, entries).unwrap();
            let last = entries.last().unwrap().round;
            log.open_through(last, &deployment, &[&enclave], head).unwrap();
            if with_next {
                log.feed(total as u64, next_round).unwrap();
            }
            log
        };
        let all = history.iter().chain(next_round).fold(B256::ZERO, next_quote_head);
        let next = next_round[0].round;
        let incremental = median(
            (0..RUNS)
                .map(|_| {
                    let mut log = logged(true);
                    let started = Instant::now();
                    let opened = log.open_through(next, &deployment, &[&enclave], all).unwrap();
                    assert_eq!(opened.quotes.len(), total + MAKERS);
                    black_box(opened);
                    started.elapsed()
                })
                .collect(),
        );
        let open = median(
            (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    let opened =
                        open_chain(&deployment, None, &[&enclave], B256::ZERO, entries, head)
                            .unwrap();
                    assert_eq!(opened.quotes.len(), total);
                    black_box(opened);
                    started.elapsed()
                })
                .collect(),
        );
        let heads = median(
            (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    black_box(entries.iter().fold(B256::ZERO, next_quote_head));
                    started.elapsed()
                })
                .collect(),
        );
        println!(
            "{:>8} {:>14.2?} {:>12.2?} {:>12.2?} {:>7.1}x {:>16.2?} {:>7.1}x",
            total,
            open,
            open / total as u32,
            heads,
            open.as_secs_f64() / heads.as_secs_f64(),
            incremental,
            open.as_secs_f64() / incremental.as_secs_f64()
        );
    }
}
