//! The recovery planner: worked examples of each step, then properties over random ledgers —
//! value is conserved apart from fees and premiums, caps hold, only standby is drawn, a chain is
//! healed whenever the standby exists, and two runs give the same bytes.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use proptest::prelude::*;
use solvency_enclave::{
    ChainBook, VaultHead, VaultTerms, asset_id,
    ownership::{EntryKind, Ownership, VaultEntry, VaultLogs, next_head},
    planner::{MoveKind, Plan, RecoveryTerms, plan},
};

const PROTOCOL: Address = Address::repeat_byte(0xa1);
const NOW: u64 = 1_750_000_000;

fn maker(i: u8) -> Address {
    Address::repeat_byte(0xb0 + i)
}

/// Whole USDC in its smallest unit (and, at a price of 1, in USD × 10^18 / 10^12).
fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// USD value, scaled by 10^18.
fn usd(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

fn terms(haircut_bps: u16) -> VaultTerms {
    VaultTerms {
        asset: asset_id("USDC"),
        decimals: 6,
        price_e18: U256::from(10u64).pow(U256::from(18)),
        haircut_bps,
    }
}

fn book(selector: u64, reserves: u64, liabilities: u64, haircut_bps: u16) -> ChainBook {
    ChainBook {
        selector,
        reserves: usd(reserves),
        liabilities: usd(liabilities),
        vault: Some(terms(haircut_bps)),
    }
}

/// A ledger with these deposits (owner, chain, whole USDC) credited.
fn ledger(deposits: &[(Address, u64, u64)]) -> Ownership {
    let mut logs = VaultLogs::default();
    let mut heads: BTreeMap<u64, VaultHead> = BTreeMap::new();
    for &(owner, chain, whole) in deposits {
        let head = heads.entry(chain).or_default();
        let entry = VaultEntry {
            index: head.count + 1,
            kind: EntryKind::Deposit,
            account: owner,
            amount: usdc(whole),
            timestamp: NOW,
            reference: B256::ZERO,
        };
        *head = VaultHead { count: entry.index, head: next_head(head.head, &entry) };
        logs.feed(chain, &[entry]).unwrap();
    }
    let heads: Vec<_> = heads.into_iter().collect();
    let (ownership, problems) = Ownership::new(PROTOCOL).advanced(&logs, &heads);
    assert!(problems.is_empty());
    ownership
}

fn quiet_terms() -> RecoveryTerms {
    RecoveryTerms {
        local_recovery_bps: 10_000,
        release_ratio_bps: 12_000,
        draw_premium_bps: 100,
        standby_fee_bps_per_year: 0,
        max_moved_per_epoch: U256::MAX,
        ..RecoveryTerms::default()
    }
}

/// Reserves (reported + the protocol's share, after haircuts) and liabilities of `chains`.
fn sides(o: &Ownership, books: &[ChainBook], chains: &[u64]) -> (U256, U256) {
    books.iter().filter(|b| chains.contains(&b.selector)).fold(
        (U256::ZERO, U256::ZERO),
        |(r, l), b| {
            let share =
                b.vault.map_or(U256::ZERO, |t| t.value(o.protocol_share(b.selector)).unwrap());
            (r + b.reserves + share, l + b.liabilities)
        },
    )
}

fn ratio_at_least(o: &Ownership, books: &[ChainBook], chains: &[u64], bps: u32) -> bool {
    let (r, l) = sides(o, books, chains);
    r * U256::from(10_000) >= l * U256::from(bps)
}

#[test]
fn a_chain_short_locally_takes_standby_and_pays_with_surplus_elsewhere() {
    // Chain 1 holds 800 against 1,000 owed; chain 2 holds 1,000 against 500, and the protocol
    // has 600 in chain 2's vault. A maker has 1,000 standby on chain 1.
    let books = [book(1, 800, 1_000, 0), book(2, 1_000, 500, 0)];
    let before = ledger(&[(PROTOCOL, 2, 600), (maker(1), 1, 1_000)]);
    let (after, plan) = plan(&before, &books, 10_000, &quiet_terms(), NOW);
    // Globally 2,400 against 1,500: no draw. Locally chain 1 lacks 200: a swap of 200.
    assert_eq!(plan.moves.len(), 2);
    assert!(plan.moves.iter().all(|m| m.kind == MoveKind::Swap && m.amount == usdc(200)));
    assert_eq!(after.protocol_share(1), usdc(200));
    assert_eq!(after.protocol_share(2), usdc(400));
    assert_eq!(after.holding(maker(1), 1).balance, usdc(800));
    assert_eq!(after.holding(maker(1), 2).balance, usdc(200));
    assert!(ratio_at_least(&after, &books, &[1], 10_000), "chain 1 is covered again");
    assert!(ratio_at_least(&after, &books, &[2], 10_000), "chain 2 stays covered");
    assert!(plan.premiums.is_empty(), "a swap is premium-free");
}

#[test]
fn standby_is_drawn_under_the_recovery_ratio_and_released_above_the_release_ratio() {
    // 1,000 held against 1,000 owed: under a 110 % recovery ratio by 100.
    let books = [book(1, 1_000, 1_000, 0)];
    let before = ledger(&[(maker(1), 1, 300)]);
    let (drawn, plan1) = plan(&before, &books, 11_000, &quiet_terms(), NOW);
    assert_eq!(plan1.moves.len(), 1);
    assert_eq!((plan1.moves[0].kind, plan1.moves[0].amount), (MoveKind::Draw, usdc(100)));
    assert_eq!(drawn.protocol_share(1), usdc(100));
    let claim = drawn.claim(maker(1), 1);
    assert_eq!((claim.drawn, claim.owed), (usdc(100), usdc(1)), "1 % premium");
    assert!(ratio_at_least(&drawn, &books, &[1], 11_000));

    // Still 1,000 against 1,000: the draw stays (releasing would sink it again).
    let (held, plan2) = plan(&drawn, &books, 11_000, &quiet_terms(), NOW + 60);
    assert!(plan2.is_quiet());
    assert_eq!(held.protocol_share(1), drawn.protocol_share(1));
    assert_eq!(held.claim(maker(1), 1), drawn.claim(maker(1), 1));

    // Health recovers to 1,400 against 1,000: the draw and its premium go back to the maker.
    let healthy = [book(1, 1_400, 1_000, 0)];
    let (released, plan3) = plan(&drawn, &healthy, 11_000, &quiet_terms(), NOW + 120);
    let kinds: Vec<_> = plan3.moves.iter().map(|m| (m.kind, m.amount)).collect();
    assert_eq!(kinds, vec![(MoveKind::Release, usdc(100))], "no share left to pay the premium");
    assert_eq!(released.holding(maker(1), 1).balance, usdc(300));
    assert_eq!(released.claim(maker(1), 1).owed, usdc(1), "the premium is still owed");
}

#[test]
fn standby_fees_accrue_per_second_and_are_paid_when_health_allows() {
    let books = [book(1, 2_000, 1_000, 0)];
    let terms = RecoveryTerms { standby_fee_bps_per_year: 1_000, ..quiet_terms() };
    let before = ledger(&[(PROTOCOL, 1, 500), (maker(1), 1, 1_000)]);
    let (started, first) = plan(&before, &books, 11_000, &terms, NOW);
    assert!(first.fees.is_empty(), "no fee before a first accrual time");
    // A year later: 10 % of 1,000, paid from the protocol's share at once (200 % health).
    let (paid, plan) = plan(&started, &books, 11_000, &terms, NOW + 365 * 24 * 3600);
    assert_eq!(plan.fees, vec![(maker(1), 1, usdc(100))]);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!((plan.moves[0].kind, plan.moves[0].amount), (MoveKind::Settle, usdc(100)));
    assert_eq!(paid.holding(maker(1), 1).balance, usdc(1_100));
    assert_eq!(paid.protocol_share(1), usdc(400));
    assert_eq!(paid.claim(maker(1), 1).owed, U256::ZERO);
}

#[test]
fn the_per_epoch_cap_limits_a_draw() {
    let books = [book(1, 1_000, 1_000, 0)];
    let terms = RecoveryTerms { max_moved_per_epoch: usd(40), ..quiet_terms() };
    let (after, plan) = plan(&ledger(&[(maker(1), 1, 300)]), &books, 11_000, &terms, NOW);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(plan.moves[0].amount, usdc(40));
    assert_eq!(after.protocol_share(1), usdc(40));
}

#[test]
fn a_move_hides_its_amount() {
    let books = [book(1, 1_000, 1_000, 0)];
    let (after, plan) =
        plan(&ledger(&[(maker(1), 1, 123_457)]), &books, 11_000, &quiet_terms(), NOW);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(plan.premiums.len(), 1);
    let shown = format!("{plan:?} {after:?}");
    // The draw (100 USDC), its premium (1 USDC), the maker's balances before and after.
    for figure in [usdc(100), usdc(1), usdc(123_457), usdc(123_357)] {
        for text in [figure.to_string(), format!("{figure:x}"), format!("{figure:?}")] {
            assert!(!shown.contains(&text), "{text} in {shown}");
        }
    }
}

/// A random world: chains (reserves, liabilities, haircut), deposits, and terms.
#[derive(Debug, Clone)]
struct World {
    books: Vec<ChainBook>,
    deposits: Vec<(Address, u64, u64)>,
    recovery_bps: u32,
    terms: RecoveryTerms,
}

fn world(local: bool) -> impl Strategy<Value = World> {
    (
        prop::collection::vec((0u64..5_000, 0u64..5_000, 0u16..3_000), 1..5),
        prop::collection::vec((0u8..4, 0usize..4, 1u64..3_000), 0..12),
        10_000u32..13_000,
        0u32..3_000,
        0u32..500,
        prop::option::of(1u64..2_000),
        0u32..15_000,
    )
        .prop_map(
            move |(chains, deposits, recovery_bps, release_above, premium, cap, local_bps)| {
                let books: Vec<ChainBook> = chains
                    .iter()
                    .enumerate()
                    .map(|(i, &(r, l, h))| book(i as u64 + 1, r, l, h))
                    .collect();
                let n = books.len();
                let deposits = deposits
                    .into_iter()
                    .map(|(who, chain, amount)| {
                        let owner = if who == 0 { PROTOCOL } else { maker(who) };
                        (owner, (chain % n) as u64 + 1, amount)
                    })
                    .collect();
                World {
                    books,
                    deposits,
                    recovery_bps,
                    terms: RecoveryTerms {
                        local_recovery_bps: if local { local_bps } else { 0 },
                        release_ratio_bps: recovery_bps + release_above,
                        draw_premium_bps: premium,
                        standby_fee_bps_per_year: 0,
                        max_moved_per_epoch: cap.map_or(U256::MAX, usd),
                        ..RecoveryTerms::default()
                    },
                }
            },
        )
}

/// Per owner, balances summed over chains plus (for makers) claims; for the protocol, its
/// balances less every claim.
fn positions(o: &Ownership, chains: usize) -> BTreeMap<Address, (U256, U256)> {
    let mut out: BTreeMap<Address, (U256, U256)> = BTreeMap::new();
    let mut owners: Vec<Address> = o.makers().map(|(m, _, _)| m).collect();
    owners.push(PROTOCOL);
    for owner in owners {
        let mut plus = U256::ZERO;
        for chain in 1..=chains as u64 {
            plus += o.holding(owner, chain).balance;
        }
        out.insert(owner, (plus, U256::ZERO));
    }
    for (m, _, c) in o.claims() {
        out.entry(m).or_default().0 += c.drawn + c.owed;
        out.entry(PROTOCOL).or_default().1 += c.drawn + c.owed;
    }
    out
}

fn charged_value(plan: &Plan, books: &[ChainBook]) -> U256 {
    let terms = |chain: u64| books.iter().find(|b| b.selector == chain).unwrap().vault.unwrap();
    let mut total = U256::ZERO;
    let mut swap_half = false;
    for m in &plan.moves {
        let charged = match m.kind {
            // Swaps come in pairs; the first half (the short chain's) is charged.
            MoveKind::Swap => {
                swap_half = !swap_half;
                swap_half
            }
            _ => true,
        };
        if charged {
            total += terms(m.chain_selector).value(m.amount).unwrap();
        }
    }
    total
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn value_is_conserved_caps_hold_and_only_standby_is_drawn(w in world(true)) {
        let before = ledger(&w.deposits);
        let (after, plan) = plan(&before, &w.books, w.recovery_bps, &w.terms, NOW);
        let n = w.books.len();
        for chain in 1..=n as u64 {
            prop_assert_eq!(before.vault_total(chain), after.vault_total(chain), "vault {}", chain);
        }
        let premiums: U256 = plan.premiums.iter().map(|p| p.2).sum();
        let (was, now) = (positions(&before, n), positions(&after, n));
        for (owner, (plus, minus)) in &now {
            let (was_plus, was_minus) = was.get(owner).copied().unwrap_or_default();
            if *owner == PROTOCOL {
                // The protocol's net position falls by exactly the premiums it owes.
                prop_assert_eq!(*plus + was_minus + premiums, was_plus + *minus);
            } else {
                let mine: U256 = plan.premiums.iter().filter(|p| p.0 == *owner).map(|p| p.2).sum();
                prop_assert_eq!(*plus, was_plus + mine, "maker {}", owner);
            }
        }
        if w.terms.max_moved_per_epoch != U256::MAX {
            prop_assert!(charged_value(&plan, &w.books) <= w.terms.max_moved_per_epoch);
        }
        // Only a maker's own standby leaves it: never more than it had on that chain, or was
        // given there earlier in the plan.
        let mut held: BTreeMap<(Address, u64), U256> = BTreeMap::new();
        for m in &plan.moves {
            if m.from != PROTOCOL {
                prop_assert!(matches!(m.kind, MoveKind::Swap | MoveKind::Draw));
                let have = held
                    .entry((m.from, m.chain_selector))
                    .or_insert_with(|| before.holding(m.from, m.chain_selector).balance);
                prop_assert!(m.amount <= *have);
                *have -= m.amount;
            }
            if m.to != PROTOCOL {
                *held
                    .entry((m.to, m.chain_selector))
                    .or_insert_with(|| before.holding(m.to, m.chain_selector).balance) += m.amount;
            }
        }
        // Same input, same bytes.
        let (again, replan) = solvency_enclave::planner::plan(&before, &w.books, w.recovery_bps, &w.terms, NOW);
        prop_assert_eq!(replan.digest(), plan.digest());
        prop_assert_eq!(again, after);
    }

    #[test]
    fn the_ratio_is_restored_whenever_the_standby_suffices(w in world(false)) {
        let uncapped = RecoveryTerms { max_moved_per_epoch: U256::MAX, ..w.terms.clone() };
        let before = ledger(&w.deposits);
        let all: Vec<u64> = w.books.iter().map(|b| b.selector).collect();
        let (r, l) = sides(&before, &w.books, &all);
        let target = (l * U256::from(w.recovery_bps)).div_ceil(U256::from(10_000));
        let standby: U256 = before
            .makers()
            .map(|(_, chain, h)| w.books[chain as usize - 1].vault.unwrap().value(h.balance).unwrap())
            .sum();
        let (after, _) = plan(&before, &w.books, w.recovery_bps, &uncapped, NOW);
        if r + standby >= target {
            prop_assert!(ratio_at_least(&after, &w.books, &all, w.recovery_bps));
        } else {
            // Not enough: every unit of standby was drawn.
            prop_assert!(after.makers().all(|(_, _, h)| h.balance.is_zero()));
        }
    }

    #[test]
    fn a_short_chain_is_covered_whenever_standby_and_surplus_exist(
        short in (0u64..2_000, 1u64..3_000),
        standby in 0u64..3_000,
        surplus_share in 0u64..3_000,
        haircuts in (0u16..3_000, 0u16..3_000),
    ) {
        // Chain 1 short; chain 2 covered by its reports alone, with the protocol's share on top.
        let books = [book(1, short.0, short.1, haircuts.0), book(2, 5_000, 1_000, haircuts.1)];
        let before = ledger(&[(maker(1), 1, standby), (PROTOCOL, 2, surplus_share)]);
        let terms = RecoveryTerms { local_recovery_bps: 10_000, ..quiet_terms() };
        // A recovery ratio of 1 % keeps the capital step out of it.
        let (after, _) = plan(&before, &books, 100, &terms, NOW);
        let (r, l) = sides(&before, &books, &[1]);
        let need = terms_of(&books[0]).amount_for(l.saturating_sub(r)).unwrap();
        if need <= usdc(standby) && need <= usdc(surplus_share) {
            prop_assert!(ratio_at_least(&after, &books, &[1], 10_000));
        }
        prop_assert!(ratio_at_least(&after, &books, &[2], 10_000), "the donor stays covered");
    }
}

fn terms_of(book: &ChainBook) -> VaultTerms {
    book.vault.unwrap()
}

// ---- The dark pool: draws clear against quotes ----

use solvency_enclave::{
    market::{Class, MarketTerms, Quote},
    planner::plan_with_quotes,
};

fn usdc_class() -> Class {
    Class { asset: asset_id("USDC"), decimals: 6 }
}

fn market_terms() -> RecoveryTerms {
    RecoveryTerms {
        market: Some(MarketTerms { start_bps: 50, step_bps: 50, max_bps: 200, timeout_epochs: 4 }),
        ..quiet_terms()
    }
}

fn offer(i: u8, whole: u64, premium_bps: u32) -> Quote {
    Quote {
        maker: maker(i),
        class: usdc_class(),
        size: usdc(whole),
        premium_bps,
        seq: 1,
        expires_at: NOW + 3_600,
    }
}

#[test]
fn the_cheapest_quotes_fill_at_one_clearing_premium_and_the_others_are_untouched() {
    // 1,000 held against 1,000 owed, under 110 %: 100 USDC lacking. Four makers hold 500 each;
    // maker 4 has not quoted, maker 3 quotes above the reserve price.
    let books = [book(1, 1_000, 1_000, 0), book(2, 0, 0, 0)];
    let before =
        ledger(&[(maker(1), 1, 500), (maker(2), 2, 500), (maker(3), 1, 500), (maker(4), 1, 500)]);
    let quotes = [offer(1, 60, 40), offer(2, 80, 20), offer(3, 500, 90)];
    let (after, plan) = plan_with_quotes(&before, &books, 11_000, &market_terms(), NOW, &quotes);
    // Maker 2 (20 bps) in full: 80; maker 1 (40 bps) the 20 left; both paid 40 bps.
    let draws: Vec<_> =
        plan.moves.iter().map(|m| (m.kind, m.chain_selector, m.from, m.amount)).collect();
    assert_eq!(
        draws,
        [(MoveKind::Draw, 1, maker(1), usdc(20)), (MoveKind::Draw, 2, maker(2), usdc(80))]
    );
    assert_eq!(
        plan.premiums,
        [
            (maker(1), 1, usdc(20) * U256::from(40) / U256::from(10_000)),
            (maker(2), 2, usdc(80) * U256::from(40) / U256::from(10_000))
        ],
        "one uniform premium: the marginal quote's"
    );
    for untouched in [maker(3), maker(4)] {
        assert_eq!(after.holding(untouched, 1).balance, usdc(500));
        assert_eq!(after.claim(untouched, 1), Default::default());
    }
    assert!(ratio_at_least(&after, &books, &[1, 2], 11_000));
    assert_eq!(after.unfilled_epochs(usdc_class()), 0, "filled: the schedule starts over");
}

#[test]
fn an_unfilled_need_raises_the_reserve_price_each_epoch_up_to_the_timeout() {
    let books = [book(1, 1_000, 1_000, 0)];
    let before = ledger(&[(maker(1), 1, 500)]);
    // The only quote asks 150 bps: above the start (50) and the next step (100).
    let quotes = [offer(1, 500, 150)];
    let terms = market_terms();
    let mut ledger = before;
    for epoch in 0..2u64 {
        let (after, plan) =
            plan_with_quotes(&ledger, &books, 11_000, &terms, NOW + epoch * 60, &quotes);
        assert!(plan.is_quiet(), "epoch {epoch}: the quote is above the reserve price");
        assert_eq!(after.unfilled_epochs(usdc_class()), epoch as u32 + 1);
        ledger = after;
    }
    // Third epoch: the reserve price reaches 150 and the quote fills.
    let (after, plan) = plan_with_quotes(&ledger, &books, 11_000, &terms, NOW + 120, &quotes);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(plan.premiums[0].2, usdc(100) * U256::from(150) / U256::from(10_000));
    assert_eq!(after.unfilled_epochs(usdc_class()), 0);

    // Quoting 250 bps (above the maximum, 200): unfilled for the schedule's four epochs, then
    // no longer offered (it waits for a calendar slot), however the quote changes.
    let mut ledger = ledger.clone();
    for epoch in 0..4u64 {
        let (after, plan) = plan_with_quotes(
            &ledger,
            &books,
            11_000,
            &terms,
            NOW + epoch * 60,
            &[offer(1, 500, 250)],
        );
        assert!(plan.is_quiet());
        ledger = after;
    }
    assert_eq!(ledger.unfilled_epochs(usdc_class()), 4);
    let (after, plan) =
        plan_with_quotes(&ledger, &books, 11_000, &terms, NOW + 300, &[offer(1, 500, 10)]);
    assert!(plan.is_quiet(), "timed out: not offered");
    assert_eq!(after.unfilled_epochs(usdc_class()), 4);
    // Once nothing is lacking, the need is gone and its schedule starts over.
    let healthy = [book(1, 1_200, 1_000, 0)];
    let (after, _) = plan_with_quotes(&after, &healthy, 11_000, &terms, NOW + 360, &[]);
    assert_eq!(after.unfilled_epochs(usdc_class()), 0);
}

#[test]
fn only_quoted_standby_earns_the_fee_and_the_paid_cap_bounds_fees_and_premiums() {
    let books = [book(1, 2_000, 1_000, 0)];
    let terms = RecoveryTerms {
        standby_fee_bps_per_year: 1_000,
        max_paid_per_epoch: usd(30),
        ..market_terms()
    };
    let before = ledger(&[(maker(1), 1, 1_000), (maker(2), 1, 1_000)]);
    let (started, _) = plan_with_quotes(&before, &books, 11_000, &terms, NOW, &[]);
    // A year later, maker 1 quotes 400 of its 1,000; maker 2 quotes nothing.
    let year = NOW + 365 * 24 * 3600;
    let quote = Quote { expires_at: year + 60, ..offer(1, 400, 50) };
    let (_, plan) = plan_with_quotes(&started, &books, 11_000, &terms, year, &[quote]);
    // 10 % of the 400 quoted is 40, capped at 30 for the epoch.
    assert_eq!(plan.fees, [(maker(1), 1, usdc(30))]);
    // An expired quote earns nothing.
    let expired = Quote { expires_at: year, ..offer(1, 400, 50) };
    let (_, plan) = plan_with_quotes(&started, &books, 11_000, &terms, year, &[expired]);
    assert!(plan.fees.is_empty());
}

#[test]
fn a_maker_is_never_drawn_above_its_quote_nor_beyond_its_standby() {
    let books = [book(1, 1_000, 2_000, 0)];
    let before = ledger(&[(maker(1), 1, 500), (maker(2), 1, 500)]);
    // Need 1,200; maker 1 quotes 300 of its 500, maker 2 quotes 5,000 of its 500.
    let quotes = [offer(1, 300, 10), offer(2, 5_000, 10)];
    let (after, plan) = plan_with_quotes(&before, &books, 11_000, &market_terms(), NOW, &quotes);
    assert_eq!(after.holding(maker(1), 1).balance, usdc(200), "300 quoted, 300 drawn");
    assert_eq!(after.holding(maker(2), 1).balance, U256::ZERO, "its whole standby, no more");
    assert_eq!(plan.moves.len(), 2);
    assert_eq!(after.unfilled_epochs(usdc_class()), 1, "400 still lacking");
}

#[test]
fn a_quote_bounds_what_is_drawn_of_its_maker_while_draws_are_out_not_each_epoch() {
    // Need 1,200 epoch after epoch; maker 1 quotes 300 of its 1,000.
    let books = [book(1, 1_000, 2_000, 0)];
    let before = ledger(&[(maker(1), 1, 1_000)]);
    let quotes = [offer(1, 300, 10)];
    let terms = market_terms();
    let (first, plan) = plan_with_quotes(&before, &books, 11_000, &terms, NOW, &quotes);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(first.claim(maker(1), 1).drawn, usdc(300));
    // Next epoch, the same quote: its 300 are out already, nothing more is drawn.
    let (second, plan) = plan_with_quotes(&first, &books, 11_000, &terms, NOW + 60, &quotes);
    assert!(plan.moves.is_empty(), "{:?}", plan.moves);
    assert_eq!(second.holding(maker(1), 1).balance, usdc(700));
    // A larger quote (a newer one) offers what it adds.
    let larger = [Quote { seq: 2, ..offer(1, 500, 10) }];
    let (third, _) = plan_with_quotes(&second, &books, 11_000, &terms, NOW + 120, &larger);
    assert_eq!(third.claim(maker(1), 1).drawn, usdc(500));
}

#[test]
fn a_capped_draw_from_a_chain_that_values_the_collateral_higher_is_cut_not_dropped() {
    // Chain 1 (20 % haircut) is the lowest covered; the only standby sits on chain 2 (no
    // haircut), where each unit is worth more. The 100 USD cap must hold at chain 2's value.
    let books = [book(1, 500, 1_000, 2_000), book(2, 2_000, 1_000, 0)];
    let before = ledger(&[(maker(1), 2, 1_000)]);
    let terms = RecoveryTerms { max_moved_per_epoch: usd(100), ..market_terms() };
    let (after, plan) =
        plan_with_quotes(&before, &books, 13_000, &terms, NOW, &[offer(1, 1_000, 10)]);
    assert_eq!(plan.moves.len(), 1, "drawn, within the cap, not an empty plan");
    assert_eq!((plan.moves[0].chain_selector, plan.moves[0].amount), (2, usdc(100)));
    assert_eq!(after.protocol_share(2), usdc(100));
}

#[test]
fn a_quote_above_the_schedules_maximum_earns_no_fee() {
    let books = [book(1, 2_000, 1_000, 0)];
    let terms = RecoveryTerms { standby_fee_bps_per_year: 1_000, ..market_terms() };
    let before = ledger(&[(maker(1), 1, 1_000)]);
    let (started, _) = plan_with_quotes(&before, &books, 11_000, &terms, NOW, &[]);
    let year = NOW + 365 * 24 * 3600;
    let above = Quote { expires_at: year + 60, ..offer(1, 1_000, 201) };
    let (_, plan) = plan_with_quotes(&started, &books, 11_000, &terms, year, &[above]);
    assert!(plan.fees.is_empty(), "201 bps is above the 200 bps maximum: never drawable");
    let within = Quote { expires_at: year + 60, ..offer(1, 1_000, 200) };
    let (_, plan) = plan_with_quotes(&started, &books, 11_000, &terms, year, &[within]);
    assert_eq!(plan.fees, [(maker(1), 1, usdc(100))]);
}

fn quote_book() -> impl Strategy<Value = Vec<Quote>> {
    prop::collection::vec((1u8..=4, 0u64..600, 0u32..300, 1u64..4, prop::bool::ANY), 0..10)
        .prop_map(|qs| {
            qs.into_iter()
                .map(|(i, whole, premium, seq, live)| Quote {
                    seq,
                    expires_at: if live { NOW + 60 } else { NOW },
                    ..offer(i, whole, premium)
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With quotes: vault totals never change; a maker is drawn only through its live quote,
    /// never beyond its size, all at one premium per epoch; value is conserved but premiums;
    /// the same input gives the same bytes.
    #[test]
    fn market_draws_are_bounded_by_live_quotes_at_one_premium(
        w in world(false),
        quotes in quote_book(),
        unfilled_start in 0u32..3,
    ) {
        let before = ledger(&w.deposits);
        let terms = RecoveryTerms {
            market: Some(MarketTerms { start_bps: 50, step_bps: 60, max_bps: 250, timeout_epochs: 5 }),
            ..w.terms.clone()
        };
        // Walk the schedule to `unfilled_start` by epochs nobody quotes in.
        let mut ledger = before.clone();
        for _ in 0..unfilled_start {
            ledger = plan_with_quotes(&ledger, &w.books, w.recovery_bps, &terms, NOW, &[]).0;
        }
        let (after, plan) = plan_with_quotes(&ledger, &w.books, w.recovery_bps, &terms, NOW, &quotes);
        let n = w.books.len();
        for chain in 1..=n as u64 {
            prop_assert_eq!(ledger.vault_total(chain), after.vault_total(chain));
        }
        let live = solvency_enclave::market::live(&quotes, NOW);
        let mut drawn: BTreeMap<Address, U256> = BTreeMap::new();
        for m in plan.moves.iter().filter(|m| m.kind == MoveKind::Draw) {
            *drawn.entry(m.from).or_default() += m.amount;
        }
        for (who, amount) in &drawn {
            let quote = live.iter().find(|q| q.maker == *who);
            prop_assert!(quote.is_some(), "drawn without a live quote");
            prop_assert!(*amount <= quote.unwrap().size);
        }
        // One premium rate for every draw, at or under the reserve price: some rate R gives
        // each draw's premium as floor(amount × R / 10 000).
        let reserve = terms.market.as_ref().unwrap().reserve_bps(ledger.unfilled_epochs(usdc_class()));
        let draws: Vec<(U256, U256)> = plan
            .moves
            .iter()
            .filter(|m| m.kind == MoveKind::Draw)
            .map(|m| {
                let premium = plan
                    .premiums
                    .iter()
                    .find(|p| p.0 == m.from && p.1 == m.chain_selector)
                    .map_or(U256::ZERO, |p| p.2);
                (m.amount, premium)
            })
            .collect();
        let uniform = (0..=reserve).any(|rate| {
            draws.iter().all(|&(amount, premium)| amount * U256::from(rate) / U256::from(10_000) == premium)
        });
        prop_assert!(uniform, "no single rate under {} gives {:?}", reserve, draws);
        prop_assert_eq!(
            plan_with_quotes(&ledger, &w.books, w.recovery_bps, &terms, NOW, &quotes).1.digest(),
            plan.digest()
        );
    }
}
