//! The recovery planner's cost per epoch, printed as plain figures (no timed assertions): 25
//! chains × 50 owners (the protocol and 49 market makers with standby in every vault), in a
//! quiet epoch (nothing to heal: only the checks) and in a recovery epoch (every chain short
//! locally, the whole under the recovery ratio: swaps and draws), side by side with what the
//! enclave already does every epoch on the same ledger — its root (1,251 salted leaves) and
//! sealing its checkpoint — and their ratios; and an epoch that draws standby, at the fixed
//! premium and through the dark pool (49 quotes cleared), side by side; and the calendar's
//! scheduling of lots after the recovery epoch's swaps, at a slot and between slots.
//!
//! Run with `cargo bench -p solvency-enclave --bench planner`.

use std::{
    collections::BTreeMap,
    hint::black_box,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256, U256, keccak256};
use solvency_enclave::{
    ChainBook, Purpose, SealedHeader, VaultHead, VaultTerms, X25519KeyPair, asset_id,
    calendar::{CalendarTerms, LaneEnd, schedule},
    market::{Class, MarketTerms, Quote},
    ownership::{EntryKind, Ownership, VaultEntry, VaultLogs, next_head},
    planner::{RecoveryTerms, plan, plan_with_quotes},
    seal,
};

const CHAINS: u64 = 25;
const MAKERS: u8 = 49;
const NOW: u64 = 1_750_000_000;
const RUNS: usize = 21;

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

fn usd(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

fn ledger() -> Ownership {
    let protocol = Address::repeat_byte(0xa1);
    let mut logs = VaultLogs::default();
    let mut heads = BTreeMap::new();
    for chain in 1..=CHAINS {
        let owners = std::iter::once(protocol).chain((1..=MAKERS).map(|i| {
            let mut bytes = [0u8; 20];
            bytes[0] = i;
            Address::from(bytes)
        }));
        let mut head = VaultHead::default();
        for (i, owner) in owners.enumerate() {
            let entry = VaultEntry {
                index: i as u64 + 1,
                kind: EntryKind::Deposit,
                account: owner,
                amount: usdc(1_000 + i as u64),
                timestamp: NOW,
                reference: B256::ZERO,
            };
            head = VaultHead { count: entry.index, head: next_head(head.head, &entry) };
            logs.feed(chain, &[entry]).unwrap();
        }
        heads.insert(chain, head);
    }
    let heads: Vec<_> = heads.into_iter().collect();
    Ownership::new(protocol).advanced(&logs, &heads).0
}

fn books(short: bool) -> Vec<ChainBook> {
    let terms = VaultTerms {
        asset: asset_id("USDC"),
        decimals: 6,
        price_e18: U256::from(10u64).pow(U256::from(18)),
        haircut_bps: 0,
    };
    (1..=CHAINS)
        .map(|selector| ChainBook {
            selector,
            // Quiet: 3× covered. Recovery: odd chains short by far more than the protocol's
            // share, even chains covered with the protocol's share to spare.
            reserves: usd(if !short {
                30_000
            } else if selector % 2 == 1 {
                2_000
            } else {
                20_000
            }),
            liabilities: usd(10_000),
            vault: Some(terms),
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure<T>(mut f: impl FnMut() -> T) -> Duration {
    black_box(f());
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

/// [`measure`] of `f` on a fresh input from `input` each run, made outside the timing.
fn measure_consuming<I, T>(input: impl Fn() -> I, f: impl Fn(I) -> T) -> Duration {
    black_box(f(input()));
    median(
        (0..RUNS)
            .map(|_| {
                let given = input();
                let start = Instant::now();
                black_box(f(given));
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let ownership = ledger();
    let terms = RecoveryTerms { standby_fee_bps_per_year: 200, ..RecoveryTerms::default() };
    // A ledger that accrued fees once, so the quiet epoch also accrues and settles them.
    let (accrued, _) = plan(&ownership, &books(false), 11_000, &terms, NOW);
    let quiet_books = books(false);
    let short_books = books(true);
    let (_, quiet_plan) = plan(&accrued, &quiet_books, 11_000, &terms, NOW + 60);
    let (_, recovery_plan) = plan(&accrued, &short_books, 11_000, &terms, NOW + 60);
    assert!(!recovery_plan.moves.is_empty(), "the recovery epoch moves ownership");

    // The dark pool: every maker quotes a different premium for part of its standby (one
    // fungibility class over the 25 vaults), the reserve price admits most of them.
    let market_terms = RecoveryTerms {
        market: Some(MarketTerms { start_bps: 150, step_bps: 50, max_bps: 500, timeout_epochs: 8 }),
        ..terms.clone()
    };
    let quotes: Vec<Quote> = (1..=MAKERS)
        .map(|i| {
            let mut bytes = [0u8; 20];
            bytes[0] = i;
            Quote {
                maker: Address::from(bytes),
                class: Class { asset: asset_id("USDC"), decimals: 6 },
                size: usdc(5_000 + 100 * u64::from(i)),
                premium_bps: 10 + 4 * u32::from(i % 40),
                seq: 1,
                expires_at: NOW + 3_600,
            }
        })
        .collect();
    // A recovery ratio of 125 %, which the swaps alone do not reach: standby is drawn, with
    // and without the dark pool.
    const DRAW_RATIO: u32 = 12_500;
    let (_, fixed_plan) = plan(&accrued, &short_books, DRAW_RATIO, &terms, NOW + 60);
    let (_, market_plan) =
        plan_with_quotes(&accrued, &short_books, DRAW_RATIO, &market_terms, NOW + 60, &quotes);
    assert!(
        market_plan.moves.iter().any(|m| m.kind == solvency_enclave::planner::MoveKind::Draw),
        "the market epoch draws"
    );
    let market = measure(|| {
        plan_with_quotes(&accrued, &short_books, DRAW_RATIO, &market_terms, NOW + 60, &quotes)
    });
    let fixed = measure(|| plan(&accrued, &short_books, DRAW_RATIO, &terms, NOW + 60));
    let quiet = measure(|| plan(&accrued, &quiet_books, 11_000, &terms, NOW + 60));
    let recovery = measure(|| plan(&accrued, &short_books, 11_000, &terms, NOW + 60));
    // The calendar after the recovery epoch's swaps: makers' standby moved between chains, lots
    // of 100 USDC, one per lane and two per source at a slot.
    let (swapped, _) = plan(&accrued, &short_books, 11_000, &terms, NOW + 60);
    let ends: Vec<LaneEnd> = (1..=CHAINS)
        .map(|selector| LaneEnd {
            selector,
            vault: Address::repeat_byte(selector as u8),
            asset: asset_id("USDC"),
            decimals: 6,
        })
        .collect();
    let calendar = CalendarTerms { period_epochs: 6, lot_whole_units: 100, lots_per_lane: 1 };
    let (scheduled, slot_lots) = schedule(swapped.clone(), &ends, Some(&calendar), B256::ZERO, 6);
    assert!(!slot_lots.is_empty(), "the swaps leave lots due");
    // `schedule` takes the epoch's ledger by value: each run gets a copy made outside the
    // timing.
    let slot = measure_consuming(
        || swapped.clone(),
        |ledger| schedule(ledger, &ends, Some(&calendar), B256::ZERO, 6),
    );
    let between = measure_consuming(
        || scheduled.clone(),
        |ledger| schedule(ledger, &ends, Some(&calendar), B256::ZERO, 7),
    );
    let salt =
        |owner: Address, chain: u64| keccak256([owner.as_slice(), &chain.to_be_bytes()].concat());
    let root = measure(|| accrued.root(|_| Address::ZERO, salt));
    let key = X25519KeyPair::from_secret_bytes(keccak256("ledger key").0);
    let mut plaintext = Vec::new();
    ciborium::into_writer(&accrued, &mut plaintext).unwrap();
    let checkpoint = measure(|| {
        let mut bytes = Vec::new();
        ciborium::into_writer(&accrued, &mut bytes).unwrap();
        seal::seal(
            Purpose::Ledger,
            &B256::ZERO,
            SealedHeader { chain_selector: 0, counter: 1 },
            &bytes,
            &key,
            &key.public(),
        )
        .unwrap()
    });

    println!("solvency-enclave planner bench (release build, single thread; medians of {RUNS})");
    println!(
        "ledger: {CHAINS} chains × {} owners = {} holdings; checkpoint plaintext {} bytes",
        MAKERS as usize + 1,
        CHAINS as usize * (MAKERS as usize + 1),
        plaintext.len()
    );
    println!(
        "plan, quiet epoch ({} moves: fees settled):           {:>10.1} µs",
        quiet_plan.moves.len(),
        quiet.as_secs_f64() * 1e6
    );
    println!(
        "plan, recovery epoch ({} moves: swaps and draws):     {:>10.1} µs",
        recovery_plan.moves.len(),
        recovery.as_secs_f64() * 1e6
    );
    println!(
        "plan, draw epoch, fixed premium ({} moves):         {:>10.1} µs",
        fixed_plan.moves.len(),
        fixed.as_secs_f64() * 1e6
    );
    println!(
        "plan, draw epoch, dark pool ({} moves, {} quotes):   {:>10.1} µs",
        market_plan.moves.len(),
        quotes.len(),
        market.as_secs_f64() * 1e6
    );
    println!(
        "calendar, slot after the swaps ({} lots listed):     {:>10.1} µs",
        slot_lots.len(),
        slot.as_secs_f64() * 1e6
    );
    println!(
        "calendar, epoch between slots (lots listed again): {:>10.1} µs",
        between.as_secs_f64() * 1e6
    );
    println!(
        "ledger root (salted leaves, Merkle tree):            {:>10.1} µs",
        root.as_secs_f64() * 1e6
    );
    println!(
        "checkpoint (CBOR + HPKE seal):                       {:>10.1} µs",
        checkpoint.as_secs_f64() * 1e6
    );
    println!(
        "ratios: recovery / quiet {:.2}; dark pool / fixed premium {:.2}; recovery plan / ledger root {:.2}; recovery plan / checkpoint {:.2}; calendar slot / recovery plan {:.2}",
        recovery.as_secs_f64() / quiet.as_secs_f64(),
        market.as_secs_f64() / fixed.as_secs_f64(),
        recovery.as_secs_f64() / root.as_secs_f64(),
        recovery.as_secs_f64() / checkpoint.as_secs_f64(),
        slot.as_secs_f64() / recovery.as_secs_f64()
    );
}
