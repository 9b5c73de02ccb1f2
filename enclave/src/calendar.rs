//! Calendar lots: the only physical movement of collateral between chains.
//!
//! Recovery changes who owns what inside the vaults; it never moves a token at the moment of
//! distress. What a location swap leaves behind — a market maker's standby now on a chain where
//! it did not park it, and missing where it did — is put back by moving collateral over the
//! chains' CCIP token lanes. Lots are scheduled only at **slots** of a public calendar (every
//! `period_epochs` epochs, whatever happened), only in **fixed lots**, and at most
//! `lots_per_lane` lots per lane and [`MAX_LOTS_PER_SOURCE`] per source chain at a time, so
//! that a slot never asks a lane for more than its token bucket holds (`solvency check`
//! compares the two). A lot scheduled and not yet sent is listed in its source chain's
//! instruction every epoch, under the same id, until the source vault logs it sent — a
//! treasury that misses the slot's epoch sends it at the next. It counts as its owner's on the
//! source chain, and stays reserved there, until the destination vault logs it arrived
//! ([`crate::ownership`]); none is ever cancelled.
//!
//! Scheduling is pure and deterministic: the same ledger, chains, terms and epoch give the same
//! lots, so a quorum agrees.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};
use serde::{Deserialize, Serialize};

use crate::ownership::{Lot, Ownership};

/// The most lots one chain's instruction lists at a slot (what its fixed size holds with their
/// proofs; [`crate::instruction`]).
pub const MAX_LOTS_PER_SOURCE: usize = 2;

/// The calendar's public terms (`[policy.calendar]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarTerms {
    /// A slot every this many epochs (epochs divisible by it).
    pub period_epochs: u64,
    /// One lot, in whole units of each vault's collateral.
    pub lot_whole_units: u64,
    /// The most lots one lane (source → destination) carries per slot.
    pub lots_per_lane: u32,
}

impl CalendarTerms {
    /// Whether `epoch` is a slot.
    pub fn is_slot(&self, epoch: u64) -> bool {
        self.period_epochs > 0 && epoch.is_multiple_of(self.period_epochs)
    }
}

/// A chain as the calendar sees it: its vault and the vault's collateral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneEnd {
    /// CCIP selector.
    pub selector: u64,
    /// Its vault (zero: none, no lane).
    pub vault: Address,
    /// The vault's collateral asset id: lots move only between vaults of one asset.
    pub asset: B256,
    /// The asset's decimals here.
    pub decimals: u8,
}

impl LaneEnd {
    fn lot(&self, terms: &CalendarTerms) -> Option<U256> {
        U256::from(terms.lot_whole_units)
            .checked_mul(U256::from(10u64).checked_pow(U256::from(self.decimals))?)
            .filter(|lot| !lot.is_zero())
    }
}

/// A lot's id: `keccak256(abi.encode("lot", salt, source, dest, epoch, n))`, `n` its place
/// among the slot's new lots and `salt` the enclave's secret for the epoch, so that an id says
/// nothing of the lots not sent.
pub fn lot_id(salt: B256, source: u64, dest: u64, epoch: u64, n: u64) -> B256 {
    keccak256(("lot".to_owned(), salt, source, dest, epoch, n).abi_encode_params())
}

/// The lots to list at `epoch`: every lot scheduled and not yet sent — listed every epoch from
/// its slot until the source vault logs it sent, so a treasury that misses the slot's epoch
/// sends it at the next — and, with a calendar and at a slot, new lots that put makers'
/// standby back where they parked it, within the lanes' and sources' caps. A lot stays
/// reserved until the destination vault logs it arrived: none is ever cancelled, since an older
/// leaf that commits it may still be a chain's latest, or its send not yet reported. One its
/// owner's balance at the source no longer covers (with what else the owner has leaving there)
/// is not listed. Returns the ledger with the new lots scheduled, and the ids of the lots
/// listed, by source chain.
pub fn schedule(
    ownership: Ownership,
    chains: &[LaneEnd],
    terms: Option<&CalendarTerms>,
    salt: B256,
    epoch: u64,
) -> (Ownership, Vec<(u64, B256)>) {
    // Taken by value: the ledger is the epoch's own, and a copy of it costs more than all the
    // scheduling (`--bench planner`).
    let mut next = ownership;
    let mut chains = chains.to_vec();
    chains.sort_by_key(|c| c.selector);
    let lots_per_lane = terms.map_or(MAX_LOTS_PER_SOURCE, |t| t.lots_per_lane as usize);
    let mut listed: Vec<(u64, B256, u64)> = Vec::new();
    let fits = |listed: &[(u64, B256, u64)], source: u64, dest: u64| {
        listed.iter().filter(|(s, ..)| *s == source).count() < MAX_LOTS_PER_SOURCE
            && listed.iter().filter(|(s, _, d)| *s == source && *d == dest).count() < lots_per_lane
    };
    // Lots still to send, oldest slot first, each listed if its owner's balance at the source
    // covers it on top of the owner's withdrawals authorized there, its lots in flight from
    // there, and the lots before it.
    let mut unsent: Vec<(B256, Lot)> = next.lots().filter(|(_, l)| !l.sent).collect();
    unsent.sort_by_key(|(id, l)| (l.scheduled, l.source, *id));
    let mut committed: std::collections::BTreeMap<(Address, u64), U256> = Default::default();
    for (_, pending) in next.pending() {
        let sum = committed.entry((pending.owner, pending.chain_selector)).or_default();
        *sum = sum.saturating_add(pending.amount);
    }
    for (_, lot) in next.lots().filter(|(_, l)| l.sent) {
        let sum = committed.entry((lot.owner, lot.source)).or_default();
        *sum = sum.saturating_add(lot.amount);
    }
    for (id, lot) in unsent {
        let sum = committed.entry((lot.owner, lot.source)).or_default();
        *sum = sum.saturating_add(lot.amount);
        if *sum <= next.holding(lot.owner, lot.source).balance
            && fits(&listed, lot.source, lot.dest)
        {
            listed.push((lot.source, id, lot.dest));
        }
    }

    let Some(terms) = terms else {
        return (next, listed.into_iter().map(|(source, id, _)| (source, id)).collect());
    };
    if terms.is_slot(epoch) {
        let makers: std::collections::BTreeSet<Address> =
            next.makers().map(|(owner, _, _)| owner).collect();
        let vaults: Vec<&LaneEnd> = chains.iter().filter(|c| !c.vault.is_zero()).collect();
        let mut n = 0u64;
        for maker in makers {
            // What the maker lacks and has to spare on each chain, kept as lots are scheduled
            // (a lot takes `lot` off both), rather than read again for every pair.
            let mut short: Vec<U256> =
                vaults.iter().map(|c| shortfall(&next, maker, c.selector)).collect();
            if short.iter().all(U256::is_zero) {
                continue;
            }
            let mut spare: Vec<U256> =
                vaults.iter().map(|c| surplus(&next, maker, c.selector)).collect();
            for (d, dest) in vaults.iter().enumerate() {
                let Some(lot) = dest.lot(terms) else { continue };
                for (s, source) in vaults.iter().enumerate() {
                    if s == d || source.asset != dest.asset || source.lot(terms) != Some(lot) {
                        continue;
                    }
                    while short[d] >= lot
                        && spare[s] >= lot
                        && fits(&listed, source.selector, dest.selector)
                    {
                        let id = lot_id(salt, source.selector, dest.selector, epoch, n);
                        n += 1;
                        let scheduled = Lot {
                            owner: maker,
                            source: source.selector,
                            source_vault: source.vault,
                            dest: dest.selector,
                            dest_vault: dest.vault,
                            amount: lot,
                            scheduled: epoch,
                            sent: false,
                        };
                        if next.schedule_lot(id, scheduled).is_none() {
                            break;
                        }
                        short[d] -= lot;
                        spare[s] -= lot;
                        listed.push((source.selector, id, dest.selector));
                    }
                }
            }
        }
    }
    (next, listed.into_iter().map(|(source, id, _)| (source, id)).collect())
}

/// At a slot, a need the market left unfilled for its whole timeout is offered again, from the
/// schedule's start: it waited for the calendar (`[policy.market] timeout_epochs`). Between
/// slots, and below the timeout, nothing changes.
pub fn reopen_timed_out(
    ownership: Ownership,
    terms: &CalendarTerms,
    market: &crate::market::MarketTerms,
    epoch: u64,
) -> Ownership {
    let mut next = ownership;
    if terms.is_slot(epoch) {
        next.restart_timed_out(market.timeout_epochs);
    }
    next
}

/// Where a maker's standby belongs on a chain: what it deposited there less what it was paid
/// from there.
fn home(ownership: &Ownership, maker: Address, chain: u64) -> U256 {
    let holding = ownership.holding(maker, chain);
    holding.deposited.saturating_sub(holding.withdrawn)
}

/// A maker's balance on a chain once every lot scheduled arrives.
fn position(ownership: &Ownership, maker: Address, chain: u64) -> U256 {
    let (mut plus, mut minus) = (U256::ZERO, U256::ZERO);
    for (_, lot) in ownership.lots().filter(|(_, l)| l.owner == maker) {
        if lot.dest == chain {
            plus = plus.saturating_add(lot.amount);
        }
        if lot.source == chain {
            minus = minus.saturating_add(lot.amount);
        }
    }
    ownership.holding(maker, chain).balance.saturating_add(plus).saturating_sub(minus)
}

fn shortfall(ownership: &Ownership, maker: Address, chain: u64) -> U256 {
    home(ownership, maker, chain).saturating_sub(position(ownership, maker, chain))
}

/// What a maker holds on a chain beyond where its standby belongs, and may move (not drawn, not
/// asked back, not already leaving).
fn surplus(ownership: &Ownership, maker: Address, chain: u64) -> U256 {
    position(ownership, maker, chain)
        .saturating_sub(home(ownership, maker, chain))
        .min(ownership.available(maker, chain))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;
    use crate::{
        VaultHead,
        ownership::{EntryKind, VaultEntry, VaultLogs, next_head},
    };

    const A: u64 = 1;
    const B: u64 = 2;
    const PROTOCOL: Address = address!("0x00000000000000000000000000000000000000a1");
    const MAKER: Address = address!("0x00000000000000000000000000000000000000b2");
    const TERMS: CalendarTerms =
        CalendarTerms { period_epochs: 4, lot_whole_units: 100, lots_per_lane: 1 };

    fn chains() -> [LaneEnd; 2] {
        let usdc = keccak256("USDC");
        [
            LaneEnd { selector: A, vault: Address::repeat_byte(0xa), asset: usdc, decimals: 0 },
            LaneEnd { selector: B, vault: Address::repeat_byte(0xb), asset: usdc, decimals: 0 },
        ]
    }

    /// Credits `entries` to `chain` as its vault would log them.
    fn credit(
        ownership: &Ownership,
        logs: &mut VaultLogs,
        chain: u64,
        entries: &[(EntryKind, Address, u64, B256)],
    ) -> Ownership {
        let mut head = ownership.credited(chain);
        let mut given = Vec::new();
        for &(kind, account, amount, reference) in entries {
            let entry = VaultEntry {
                index: head.count + 1,
                kind,
                account,
                amount: U256::from(amount),
                timestamp: 1_000,
                reference,
            };
            head = VaultHead { count: entry.index, head: next_head(head.head, &entry) };
            given.push(entry);
        }
        logs.feed(chain, &given).unwrap();
        let (next, problems) = ownership.advanced(logs, &[(chain, head)]);
        assert!(problems.is_empty(), "{problems:?}");
        next
    }

    /// A maker parked 300 on each chain; a location swap gave 200 of its standby on B to the
    /// protocol for 200 of the protocol's share on A.
    fn after_a_swap() -> (Ownership, VaultLogs) {
        let mut logs = VaultLogs::default();
        let deposit = |who, amount| (EntryKind::Deposit, who, amount, B256::ZERO);
        let mut o = Ownership::new(PROTOCOL);
        o = credit(&o, &mut logs, A, &[deposit(MAKER, 300), deposit(PROTOCOL, 500)]);
        o = credit(&o, &mut logs, B, &[deposit(MAKER, 300)]);
        o.shift(B, MAKER, PROTOCOL, U256::from(200)).unwrap();
        o.shift(A, PROTOCOL, MAKER, U256::from(200)).unwrap();
        (o, logs)
    }

    #[test]
    fn lots_come_only_at_slots_within_the_lane_and_put_standby_back_where_it_was_parked() {
        let (o, mut logs) = after_a_swap();
        let id = B256::repeat_byte(9);
        for epoch in [1, 2, 3, 5] {
            let (same, listed) = schedule(o.clone(), &chains(), Some(&TERMS), id, epoch);
            assert!(listed.is_empty(), "epoch {epoch} is not a slot");
            assert_eq!(same, o);
        }
        // Slot 4: two lots are due (200 back to B), the lane carries one per slot.
        let (four, listed) = schedule(o.clone(), &chains(), Some(&TERMS), id, 4);
        let first = lot_id(id, A, B, 4, 0);
        assert_eq!(listed, [(A, first)]);
        let lot = four.lots().next().unwrap().1;
        assert_eq!((lot.owner, lot.source, lot.dest, lot.amount), (MAKER, A, B, U256::from(100)));
        assert_eq!(four.available(MAKER, A), U256::from(400), "500 less the lot leaving");
        assert_eq!(schedule(o.clone(), &chains(), Some(&TERMS), id, 4).0, four, "deterministic");

        // Not sent at its slot (a treasury that missed it): listed again every epoch under its
        // id, and at slot 8 it still fills the lane, so no second lot yet.
        assert_eq!(schedule(four.clone(), &chains(), Some(&TERMS), id, 5).1, [(A, first)]);
        let (eight, listed) = schedule(four.clone(), &chains(), Some(&TERMS), id, 8);
        assert_eq!(listed, [(A, first)]);
        assert_eq!(eight.lots().count(), 1);
        // The chains' order in the policy changes nothing.
        let mut reversed = chains();
        reversed.reverse();
        assert_eq!(
            schedule(o.clone(), &reversed, Some(&TERMS), id, 4),
            schedule(o.clone(), &chains(), Some(&TERMS), id, 4)
        );

        // Sent (in flight): the lane is free at slot 12 for the second, and no third is due.
        let sent =
            credit(&eight, &mut logs, A, &[(EntryKind::LotSent, chains()[1].vault, 100, first)]);
        let (twelve, listed) = schedule(sent.clone(), &chains(), Some(&TERMS), id, 12);
        let second = lot_id(id, A, B, 12, 0);
        assert_eq!(listed, [(A, second)]);
        assert_eq!(twelve.lots().count(), 2);

        // Both arrive: the maker has 300 on each chain again, and nothing more is due.
        let arrive = |lot_id| {
            (EntryKind::LotReceived, chains()[0].vault, 100, Lot::arrival_reference(A, lot_id))
        };
        let sent =
            credit(&twelve, &mut logs, A, &[(EntryKind::LotSent, chains()[1].vault, 100, second)]);
        let home = credit(&sent, &mut logs, B, &[arrive(first), arrive(second)]);
        assert_eq!(home.holding(MAKER, A).balance, U256::from(300));
        assert_eq!(home.holding(MAKER, B).balance, U256::from(300));
        assert_eq!(home.lots().count(), 0);
        assert!(schedule(home.clone(), &chains(), Some(&TERMS), id, 16).1.is_empty());
    }

    #[test]
    fn an_unsent_lot_stays_reserved_and_is_listed_only_while_its_owner_covers_it() {
        let (o, mut logs) = after_a_swap();
        let salt = B256::repeat_byte(7);
        let (four, listed) = schedule(o.clone(), &chains(), Some(&TERMS), salt, 4);
        let first = listed[0].1;
        // Never sent: listed on, slot after slot, under its id, still filling the lane.
        for epoch in [5, 8, 40, 400] {
            let (later, listed) = schedule(four.clone(), &chains(), Some(&TERMS), salt, epoch);
            assert_eq!(listed, [(A, first)], "epoch {epoch}");
            assert_eq!(later.lots().count(), 1, "epoch {epoch}: no second lot behind it");
        }
        // Without a calendar any more: still listed until sent, nothing new.
        let (same, listed) = schedule(four.clone(), &chains(), None, salt, 8);
        assert_eq!((same, listed), (four.clone(), vec![(A, first)]));

        // An exodus paid the maker 450 of its 500 at the source: what is left does not cover
        // the lot, which is not listed (no proof for the treasury) but stays reserved, in case
        // an older leaf still commits it there.
        let exodus = credit(&four, &mut logs, A, &[(EntryKind::Exodus, MAKER, 450, B256::ZERO)]);
        let (after, listed) = schedule(exodus.clone(), &chains(), Some(&TERMS), salt, 8);
        assert!(listed.is_empty());
        assert_eq!(after.lots().count(), 1);
        assert_eq!(after.available(MAKER, A), U256::ZERO);

        // What the owner has leaving already counts: an authorized withdrawal of 350 of the
        // 500 leaves 150, which covers the one lot of 100 and not a second.
        let mut withdrawing = four.clone();
        assert!(withdrawing.authorize(
            B256::repeat_byte(3),
            1,
            crate::ownership::Pending {
                owner: MAKER,
                chain_selector: A,
                amount: U256::from(350),
                reply_key: B256::ZERO,
            },
        ));
        let two = CalendarTerms { lots_per_lane: 2, ..TERMS };
        let (_, listed) = schedule(withdrawing.clone(), &chains(), Some(&two), salt, 8);
        assert_eq!(listed, [(A, first)], "no second lot: 350 + 100 + 100 is over 500");
    }

    #[test]
    fn a_need_the_market_timed_out_is_offered_again_at_the_next_slot() {
        use crate::market::{Class, MarketTerms};
        let market = MarketTerms { start_bps: 50, step_bps: 25, max_bps: 150, timeout_epochs: 3 };
        let (usdc, weth) = (
            Class { asset: keccak256("USDC"), decimals: 6 },
            Class { asset: keccak256("WETH"), decimals: 18 },
        );
        let mut o = Ownership::new(PROTOCOL);
        o.set_unfilled(vec![(usdc, 3), (weth, 2)]);
        assert!(!market.offered(o.unfilled_epochs(usdc)), "timed out");
        let between = reopen_timed_out(o.clone(), &TERMS, &market, 5);
        assert_eq!(between.unfilled_epochs(usdc), 3, "not offered until the slot");
        let slot = reopen_timed_out(o.clone(), &TERMS, &market, 8);
        assert_eq!(slot.unfilled_epochs(usdc), 0, "offered again from the start");
        assert!(market.offered(slot.unfilled_epochs(usdc)));
        assert_eq!(slot.unfilled_epochs(weth), 2, "still within its timeout: its price goes on");
    }

    #[test]
    fn no_lot_without_a_whole_lot_of_surplus_or_between_different_collateral() {
        let (o, _) = after_a_swap();
        let id = B256::ZERO;
        let big = CalendarTerms { lot_whole_units: 201, ..TERMS };
        assert!(
            schedule(o.clone(), &chains(), Some(&big), id, 4).1.is_empty(),
            "200 is not a lot of 201"
        );
        let mut other = chains();
        other[1].asset = keccak256("USDT");
        assert!(schedule(o.clone(), &other, Some(&TERMS), id, 4).1.is_empty());
        other = chains();
        other[1].vault = Address::ZERO;
        assert!(schedule(o.clone(), &other, Some(&TERMS), id, 4).1.is_empty());
        // Two lanes per slot: both lots at once.
        let two = CalendarTerms { lots_per_lane: 2, ..TERMS };
        assert_eq!(schedule(o.clone(), &chains(), Some(&two), id, 4).1.len(), 2);
        // Drawn standby is not the maker's to move: the protocol's own share is never moved.
        let mut drawn = o.clone();
        drawn.shift(A, MAKER, PROTOCOL, U256::from(200)).unwrap();
        assert!(schedule(drawn.clone(), &chains(), Some(&TERMS), id, 4).1.is_empty());
    }
}
