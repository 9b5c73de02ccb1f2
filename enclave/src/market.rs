//! The dark pool's matching: market makers' opened quotes in, one epoch's fills out.
//!
//! Pure and deterministic, like the planner that uses it: every instance of a quorum clears the
//! same quotes to the same fills, byte for byte. Written here rather than taken from a library:
//! a uniform-price, pro-rata clearing of a handful of quotes is a few lines of checked integer
//! arithmetic, and what matters is exactly the project's rules (docs/self-healing.md, "The
//! dark pool"):
//!
//! - **Which quotes count** ([`live`]): per maker and fungibility class, the latest (highest
//!   sequence number) wins, and it counts only before it expires (hub time). A quote of size
//!   zero is a null quote: it withdraws the maker's offer and says nothing else.
//! - **The reserve price** ([`MarketTerms::reserve_bps`]): the most premium the planner pays,
//!   private, rising by the public step each epoch a need stays unfilled, from the public start,
//!   never above the public maximum.
//! - **Clearing** ([`clear`]): quotes at or under the reserve price, cheapest first; one
//!   uniform clearing premium — the marginal quote's — paid on every fill; the makers quoting
//!   the marginal premium share what is left of the need pro rata to their sizes (the units a
//!   floor leaves go one each to the largest, then lowest-address, quotes at that premium).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// A fungibility class: collateral of one asset id and decimals, wherever it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Class {
    /// The asset id.
    pub asset: B256,
    /// Decimals of its smallest unit.
    pub decimals: u8,
}

/// A maker's opened quote: how much of a class it offers to be drawn for, at what premium.
/// `Debug` leaves the size and premium out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The maker (its vault account).
    pub maker: Address,
    /// The collateral it quotes for.
    pub class: Class,
    /// The most it may be drawn for, in the class's smallest unit (zero: a null quote).
    pub size: U256,
    /// The premium it asks on what is drawn, in basis points.
    pub premium_bps: u32,
    /// The maker's sequence number: its latest quote wins.
    pub seq: u64,
    /// Hub time (seconds) from which the quote no longer counts.
    pub expires_at: u64,
}

impl std::fmt::Debug for Quote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quote")
            .field("maker", &self.maker)
            .field("class", &self.class)
            .field("seq", &self.seq)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The market's public terms: the sliding schedule's bounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketTerms {
    /// The reserve price of a need's first epoch, in basis points.
    pub start_bps: u32,
    /// What it rises by each epoch the need stays unfilled.
    pub step_bps: u32,
    /// The most it ever reaches.
    pub max_bps: u32,
    /// How many epochs a need is offered before it waits for the next calendar slot.
    pub timeout_epochs: u32,
}

impl MarketTerms {
    /// The reserve price after `unfilled_epochs` epochs without a complete fill:
    /// `min(start + step × unfilled_epochs, max)`.
    pub fn reserve_bps(&self, unfilled_epochs: u32) -> u32 {
        self.start_bps
            .saturating_add(self.step_bps.saturating_mul(unfilled_epochs))
            .min(self.max_bps)
    }

    /// Whether a need unfilled for `unfilled_epochs` epochs is still offered to the market.
    pub fn offered(&self, unfilled_epochs: u32) -> bool {
        unfilled_epochs < self.timeout_epochs
    }
}

/// The quotes that count at `now`: per (maker, class) the one with the highest sequence number,
/// if it has not expired and is not a null quote; ordered by class, then maker.
pub fn live(quotes: &[Quote], now: u64) -> Vec<Quote> {
    let mut latest: BTreeMap<(Class, Address), &Quote> = BTreeMap::new();
    for quote in quotes {
        let key = (quote.class, quote.maker);
        match latest.get(&key) {
            Some(held) if held.seq >= quote.seq => {}
            _ => {
                latest.insert(key, quote);
            }
        }
    }
    latest.into_values().filter(|q| q.expires_at > now && !q.size.is_zero()).cloned().collect()
}

/// One epoch's clearing of one need.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clearing {
    /// The uniform premium every fill is paid, in basis points (0 when nothing was filled).
    pub premium_bps: u32,
    /// What each filled maker is drawn for, by ascending address; never zero.
    pub fills: Vec<(Address, U256)>,
    /// What the quotes under the reserve price could not cover.
    pub unfilled: U256,
}

impl std::fmt::Debug for Clearing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clearing").field("fills", &self.fills.len()).finish_non_exhaustive()
    }
}

/// Clears `need` (in the class's smallest unit) against `offers` — (maker, size it can be drawn
/// for now, premium) of one class, each maker once — at or under `reserve_bps`. `None` only on
/// an arithmetic overflow.
pub fn clear(need: U256, offers: &[(Address, U256, u32)], reserve_bps: u32) -> Option<Clearing> {
    let mut levels: BTreeMap<u32, Vec<(Address, U256)>> = BTreeMap::new();
    for &(maker, size, premium) in offers {
        if premium <= reserve_bps && !size.is_zero() {
            levels.entry(premium).or_default().push((maker, size));
        }
    }
    let mut clearing = Clearing::default();
    let mut left = need;
    let mut fills: BTreeMap<Address, U256> = BTreeMap::new();
    for (premium, quotes) in levels {
        if left.is_zero() {
            break;
        }
        clearing.premium_bps = premium;
        let total = quotes.iter().try_fold(U256::ZERO, |sum, (_, size)| sum.checked_add(*size))?;
        if total <= left {
            for (maker, size) in quotes {
                fills.insert(maker, size);
            }
            left -= total;
            continue;
        }
        // The marginal premium: what is left, pro rata to size, floors first.
        let mut shares: Vec<(Address, U256, U256)> = Vec::with_capacity(quotes.len());
        let mut given = U256::ZERO;
        for (maker, size) in &quotes {
            let share = left.checked_mul(*size)? / total;
            given = given.checked_add(share)?;
            shares.push((*maker, *size, share));
        }
        // The units the floors left (fewer than the quotes): one each, largest size first.
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|&a, &b| shares[b].1.cmp(&shares[a].1).then(shares[a].0.cmp(&shares[b].0)));
        let mut spare = left - given;
        for i in order {
            if spare.is_zero() {
                break;
            }
            if shares[i].2 < shares[i].1 {
                shares[i].2 += U256::from(1);
                spare -= U256::from(1);
            }
        }
        for (maker, _, share) in shares {
            if !share.is_zero() {
                fills.insert(maker, share);
            }
        }
        left = U256::ZERO;
    }
    clearing.unfilled = left;
    clearing.fills = fills.into_iter().collect();
    if clearing.fills.is_empty() {
        clearing.premium_bps = 0;
    }
    Some(clearing)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn maker(i: u8) -> Address {
        Address::repeat_byte(i)
    }

    const USDC: Class = Class { asset: B256::repeat_byte(1), decimals: 6 };

    fn quote(i: u8, size: u64, premium_bps: u32, seq: u64, expires_at: u64) -> Quote {
        Quote { maker: maker(i), class: USDC, size: U256::from(size), premium_bps, seq, expires_at }
    }

    #[test]
    fn the_latest_unexpired_quote_of_each_maker_counts() {
        let quotes = [
            quote(1, 100, 50, 1, 1_000),
            quote(1, 300, 40, 2, 1_000), // newer: replaces seq 1
            quote(2, 100, 30, 5, 1_000),
            quote(2, 0, 0, 6, 1_000), // a null quote withdraws maker 2's offer
            quote(3, 100, 30, 1, 500), // expired at 500
            quote(4, 100, 30, 9, 1_000),
            quote(4, 500, 10, 8, 1_000), // older than seq 9: ignored
        ];
        let live = live(&quotes, 500);
        let seen: Vec<_> = live.iter().map(|q| (q.maker, q.seq)).collect();
        assert_eq!(seen, [(maker(1), 2), (maker(4), 9)]);
    }

    #[test]
    fn the_schedule_rises_by_its_step_up_to_its_maximum_then_times_out() {
        let terms = MarketTerms { start_bps: 50, step_bps: 25, max_bps: 120, timeout_epochs: 6 };
        let prices: Vec<_> = (0..6).map(|n| terms.reserve_bps(n)).collect();
        assert_eq!(prices, [50, 75, 100, 120, 120, 120]);
        assert!(terms.offered(5) && !terms.offered(6));
        assert_eq!(terms.reserve_bps(u32::MAX), 120, "no overflow");
    }

    #[test]
    fn cheapest_first_at_one_uniform_premium_with_the_marginal_level_pro_rata() {
        let offers = [
            (maker(1), U256::from(100u64), 30),
            (maker(2), U256::from(100u64), 10),
            (maker(3), U256::from(300u64), 30),
            (maker(4), U256::from(500u64), 90), // above the reserve price
        ];
        let cleared = clear(U256::from(300u64), &offers, 80).unwrap();
        // Maker 2 in full (100); the 200 left shared 1:3 between makers 1 and 3 at 30.
        assert_eq!(cleared.premium_bps, 30, "the marginal quote's premium, paid to all");
        assert_eq!(
            cleared.fills,
            [
                (maker(1), U256::from(50u64)),
                (maker(2), U256::from(100u64)),
                (maker(3), U256::from(150u64))
            ]
        );
        assert!(cleared.unfilled.is_zero());
        // More than every quote under the reserve: all of them, and the rest unfilled.
        let cleared = clear(U256::from(1_000u64), &offers, 80).unwrap();
        assert_eq!(cleared.fills.len(), 3);
        assert_eq!(cleared.unfilled, U256::from(500u64));
        // Nothing under the reserve: nothing filled, no premium.
        let cleared = clear(U256::from(10u64), &offers, 5).unwrap();
        assert_eq!((cleared.premium_bps, cleared.fills.len()), (0, 0));
        assert_eq!(cleared.unfilled, U256::from(10u64));
    }

    fn offers() -> impl Strategy<Value = Vec<(Address, U256, u32)>> {
        prop::collection::btree_map(1u8..=60, (1u64..1_000_000, 0u32..300), 0..20).prop_map(|m| {
            m.into_iter()
                .map(|(i, (size, premium))| (maker(i), U256::from(size), premium))
                .collect()
        })
    }

    proptest! {
        /// Every property of a clearing a maker or the protocol relies on.
        #[test]
        fn clearing_is_uniform_cheapest_first_pro_rata_and_bounded(
            offers in offers(),
            need in 0u64..20_000_000,
            reserve in 0u32..300,
        ) {
            let need = U256::from(need);
            let cleared = clear(need, &offers, reserve).unwrap();
            let size_of = |m: Address| offers.iter().find(|o| o.0 == m).unwrap().1;
            let premium_of = |m: Address| offers.iter().find(|o| o.0 == m).unwrap().2;
            let filled = cleared.fills.iter().fold(U256::ZERO, |s, f| s + f.1);
            // Conserves the need; never more than a quote's size; never above the reserve.
            prop_assert_eq!(filled + cleared.unfilled, need);
            for &(m, amount) in &cleared.fills {
                prop_assert!(!amount.is_zero() && amount <= size_of(m));
                prop_assert!(premium_of(m) <= cleared.premium_bps);
            }
            prop_assert!(cleared.fills.is_empty() || cleared.premium_bps <= reserve);
            // Uniform: the clearing premium is a filled quote's own.
            if !cleared.fills.is_empty() {
                prop_assert!(cleared.fills.iter().any(|f| premium_of(f.0) == cleared.premium_bps));
            }
            // Cheapest first: a quote cheaper than the clearing premium is filled in full, and
            // none dearer than it is filled at all.
            for &(m, size, premium) in &offers {
                let got = cleared.fills.iter().find(|f| f.0 == m).map_or(U256::ZERO, |f| f.1);
                if !cleared.fills.is_empty() && premium < cleared.premium_bps {
                    prop_assert_eq!(got, size);
                }
                if premium > cleared.premium_bps || premium > reserve {
                    prop_assert!(got.is_zero());
                }
            }
            // Unfilled only when every quote under the reserve is filled in full.
            if !cleared.unfilled.is_zero() {
                for &(m, size, premium) in &offers {
                    if premium <= reserve {
                        let got = cleared.fills.iter().find(|f| f.0 == m).map_or(U256::ZERO, |f| f.1);
                        prop_assert_eq!(got, size);
                    }
                }
            }
            // Pro rata at the marginal premium: shares differ from exact proportion by less
            // than one unit.
            let marginal: Vec<_> =
                offers.iter().filter(|o| o.2 == cleared.premium_bps && o.2 <= reserve).collect();
            let level_total = marginal.iter().fold(U256::ZERO, |s, o| s + o.1);
            let level_filled = marginal.iter().fold(U256::ZERO, |s, o| {
                s + cleared.fills.iter().find(|f| f.0 == o.0).map_or(U256::ZERO, |f| f.1)
            });
            if !cleared.fills.is_empty() && level_filled < level_total {
                for o in &marginal {
                    let got = cleared.fills.iter().find(|f| f.0 == o.0).map_or(U256::ZERO, |f| f.1);
                    let exact_floor = level_filled * o.1 / level_total;
                    prop_assert!(got >= exact_floor && got <= exact_floor + U256::from(1));
                }
            }
            // Deterministic, whatever the order the quotes came in.
            let mut reversed = offers.clone();
            reversed.reverse();
            prop_assert_eq!(clear(need, &reversed, reserve).unwrap(), cleared);
        }

        /// The reserve price never leaves [min(start, max), max] and never falls as epochs pass.
        #[test]
        fn the_schedule_stays_within_its_public_bounds(
            start in 0u32..1_000, step in 0u32..1_000, max in 0u32..2_000, n in 0u32..10_000,
        ) {
            let terms = MarketTerms { start_bps: start, step_bps: step, max_bps: max, timeout_epochs: 10 };
            let price = terms.reserve_bps(n);
            prop_assert!(price <= max && price >= start.min(max));
            prop_assert!(terms.reserve_bps(n + 1) >= price);
        }
    }
}
