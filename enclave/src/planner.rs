//! The recovery planner: from the ownership ledger, the chains' books and the policy's recovery
//! terms to the epoch's moves of ownership inside the vaults. Pure and deterministic — the same
//! input gives the same plan, byte for byte, on every instance of a quorum — and it always
//! returns a plan: on any arithmetic failure the plan is empty and the ledger unchanged, so a
//! recovery never shows as a late or missing epoch.
//!
//! Written here rather than taken from a library: this is the project's own accounting
//! (docs/self-healing.md, "The planner"), in checked 256-bit integers, in four steps:
//!
//! 1. **Fees.** Every market maker's standby (its balance in a vault) accrues the policy's
//!    standby fee, per year, pro rata to the seconds since the last plan; owed by the protocol.
//! 2. **Location.** A chain whose coverage — (reported reserves + the protocol's vault share) /
//!    liabilities — is under `local_recovery_bps` takes market makers' standby in its vault; each
//!    maker gets the same amount of the protocol's share in a vault of the same collateral (asset
//!    id and decimals) on a chain that stays at or above `local_recovery_bps`. Zero-sum, no
//!    premium.
//! 3. **Capital.** While the global ratio is under `recovery_ratio_bps`, standby is drawn as
//!    junior capital — the lowest-covered chains first — until the ratio is back at it: the
//!    drawn collateral becomes the protocol's share, and the maker gets a junior claim on the
//!    protocol for it plus the draw premium. With the dark pool ([`RecoveryTerms::market`]),
//!    only quoted standby is drawable: each fungibility class's need is cleared against the
//!    makers' live quotes ([`crate::market`]) at or under the sliding reserve price, at one
//!    uniform premium, and a need left unfilled raises next epoch's reserve price.
//! 4. **Release.** When nothing was drawn this epoch and the global ratio is at or above
//!    `release_ratio_bps`, drawn collateral goes back to its makers, then what they are owed
//!    (premiums, fees) is paid from the protocol's share on the same chain, then in any vault of
//!    the same collateral, as far as the ratio stays at or above `release_ratio_bps`.
//!
//! Everything moved (value, after haircuts) counts against the per-epoch cap; every fee and
//! premium added to makers' claims (value) against `max_paid_per_epoch`. Standby fees accrue on
//! drawable standby only: never on what a maker asked to withdraw, and with the dark pool only
//! on what its live quote offers.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::{
    assess::{ChainBook, VaultTerms},
    market::{Class, MarketTerms, Quote},
    ownership::Ownership,
};

const BPS: u64 = 10_000;
const YEAR_SECS: u64 = 365 * 24 * 3600;

/// The policy's recovery terms (besides `recovery_ratio_bps`, which the policy has).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryTerms {
    /// A chain whose own coverage is under this takes standby by a location swap (0: never).
    pub local_recovery_bps: u32,
    /// Drawn standby is released while the global ratio stays at or above this.
    pub release_ratio_bps: u32,
    /// The premium on each draw, owed to the maker drawn.
    pub draw_premium_bps: u32,
    /// The standby fee, per year, on every maker's balance in the vaults.
    pub standby_fee_bps_per_year: u32,
    /// The most value (USD, scaled by 10^18, after haircuts) the moves of one epoch may carry
    /// (`U256::MAX`: no cap).
    pub max_moved_per_epoch: U256,
    /// The dark pool: draws clear against makers' sealed quotes (`None`: every maker's
    /// available standby is drawable, at `draw_premium_bps`).
    #[serde(default)]
    pub market: Option<MarketTerms>,
    /// The most value (USD × 10^18, after haircuts) the standby fees and premiums of one epoch
    /// may add to makers' claims (`U256::MAX`: no cap).
    #[serde(default = "no_cap")]
    pub max_paid_per_epoch: U256,
    /// Calendar lots ([`crate::calendar`]; `None`: collateral never moves between chains).
    #[serde(default)]
    pub calendar: Option<crate::calendar::CalendarTerms>,
}

fn no_cap() -> U256 {
    U256::MAX
}

impl Default for RecoveryTerms {
    fn default() -> Self {
        Self {
            local_recovery_bps: 10_000,
            release_ratio_bps: 12_000,
            draw_premium_bps: 100,
            standby_fee_bps_per_year: 200,
            max_moved_per_epoch: U256::MAX,
            market: None,
            max_paid_per_epoch: U256::MAX,
            calendar: None,
        }
    }
}

/// What a move does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// Half of a location swap: standby to the protocol on the short chain, or the protocol's
    /// share to the maker on the surplus chain.
    Swap,
    /// Standby drawn as junior capital.
    Draw,
    /// Drawn standby given back.
    Release,
    /// Premiums and fees paid from the protocol's share.
    Settle,
}

/// One change of ownership inside one vault.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// What it does.
    pub kind: MoveKind,
    /// The vault's chain.
    pub chain_selector: u64,
    /// Who gives.
    pub from: Address,
    /// Who gets.
    pub to: Address,
    /// How much, in the vault collateral's smallest unit.
    pub amount: U256,
}

impl std::fmt::Debug for Move {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Move")
            .field("kind", &self.kind)
            .field("chain_selector", &self.chain_selector)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// An epoch's plan: its moves, in order, and what fees and premiums it added to makers'
/// claims (by maker and chain). `Debug` shows the moves without their amounts.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The moves.
    pub moves: Vec<Move>,
    /// Standby fees accrued, per (maker, chain).
    pub fees: Vec<(Address, u64, U256)>,
    /// Draw premiums owed, per (maker, chain).
    pub premiums: Vec<(Address, u64, U256)>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("moves", &self.moves)
            .field("fees", &self.fees.len())
            .field("premiums", &self.premiums.len())
            .finish()
    }
}

impl Plan {
    /// Whether the plan moves anything.
    pub fn is_quiet(&self) -> bool {
        self.moves.is_empty()
    }

    /// A digest of the plan, for comparing instances' plans without showing them.
    pub fn digest(&self) -> B256 {
        let mut bytes = Vec::new();
        ciborium::into_writer(self, &mut bytes).expect("a plan serializes");
        alloy::primitives::keccak256(bytes)
    }
}

/// Plans the epoch at `now`: the ledger after the plan, and the plan. `recovery_ratio_bps` is
/// the policy's. On any arithmetic failure, the ledger as given and an empty plan. Without
/// quotes: see [`plan_with_quotes`].
pub fn plan(
    ownership: &Ownership,
    books: &[ChainBook],
    recovery_ratio_bps: u32,
    terms: &RecoveryTerms,
    now: u64,
) -> (Ownership, Plan) {
    plan_with_quotes(ownership, books, recovery_ratio_bps, terms, now, &[])
}

/// [`plan`] with the makers' quotes (the ones that count at `now` are taken: see
/// [`crate::market::live`]); they matter only with [`RecoveryTerms::market`].
pub fn plan_with_quotes(
    ownership: &Ownership,
    books: &[ChainBook],
    recovery_ratio_bps: u32,
    terms: &RecoveryTerms,
    now: u64,
    quotes: &[Quote],
) -> (Ownership, Plan) {
    let mut planner = Planner {
        ledger: ownership.clone(),
        books: books.iter().map(|b| (b.selector, b)).collect(),
        terms,
        plan: Plan::default(),
        budget: (terms.max_moved_per_epoch != U256::MAX).then_some(terms.max_moved_per_epoch),
        paid: (terms.max_paid_per_epoch != U256::MAX).then_some(terms.max_paid_per_epoch),
        quotes: if terms.market.is_some() { crate::market::live(quotes, now) } else { Vec::new() },
    };
    planner.open_quotes();
    let planned = (|| {
        planner.accrue_fees(now)?;
        if terms.local_recovery_bps > 0 {
            planner.heal_locations()?;
        }
        let drew = match &terms.market {
            None => planner.draw(recovery_ratio_bps)?,
            Some(market) => planner.draw_from_market(recovery_ratio_bps, market)?,
        };
        if !drew {
            planner.release()?;
        }
        Some(())
    })();
    match planned {
        Some(()) => {
            planner.ledger.prune_claims();
            (planner.ledger, planner.plan)
        }
        None => (ownership.clone(), Plan::default()),
    }
}

struct Planner<'a> {
    ledger: Ownership,
    books: BTreeMap<u64, &'a ChainBook>,
    terms: &'a RecoveryTerms,
    plan: Plan,
    /// Value the epoch may still move (`None`: no cap).
    budget: Option<U256>,
    /// Value of fees and premiums the epoch may still add to claims (`None`: no cap).
    paid: Option<U256>,
    /// The quotes that count (empty without the dark pool).
    quotes: Vec<Quote>,
}

impl Planner<'_> {
    fn protocol(&self) -> Address {
        self.ledger.protocol()
    }

    fn vault(&self, chain: u64) -> Option<VaultTerms> {
        self.books.get(&chain).and_then(|b| b.vault)
    }

    /// A chain's reserves (reported + the protocol's vault share) and liabilities.
    fn chain_sides(&self, chain: u64) -> Option<(U256, U256)> {
        let book = self.books.get(&chain)?;
        let share = match book.vault {
            Some(terms) => terms.value(self.ledger.protocol_share(chain))?,
            None => U256::ZERO,
        };
        Some((book.reserves.checked_add(share)?, book.liabilities))
    }

    /// Every chain's sides, summed.
    fn global_sides(&self) -> Option<(U256, U256)> {
        let mut reserves = U256::ZERO;
        let mut liabilities = U256::ZERO;
        for &chain in self.books.keys() {
            let (r, l) = self.chain_sides(chain)?;
            reserves = reserves.checked_add(r)?;
            liabilities = liabilities.checked_add(l)?;
        }
        Some((reserves, liabilities))
    }

    /// How much value `reserves` lacks to reach `liabilities × bps` (zero if none).
    fn shortfall(reserves: U256, liabilities: U256, bps: u32) -> Option<U256> {
        let target = liabilities.checked_mul(U256::from(bps))?.div_ceil(U256::from(BPS));
        Some(target.saturating_sub(reserves))
    }

    /// How much value `reserves` has above `liabilities × bps` (zero if none).
    fn headroom(reserves: U256, liabilities: U256, bps: u32) -> Option<U256> {
        let target = liabilities.checked_mul(U256::from(bps))?.div_ceil(U256::from(BPS));
        Some(reserves.saturating_sub(target))
    }

    /// A chain's coverage in basis points (`U256::MAX` without liabilities).
    fn coverage(&self, chain: u64) -> Option<U256> {
        let (reserves, liabilities) = self.chain_sides(chain)?;
        if liabilities.is_zero() {
            return Some(U256::MAX);
        }
        Some(reserves.checked_mul(U256::from(BPS))? / liabilities)
    }

    /// Chains with a vault, the lowest-covered first (then by selector).
    fn chains_by_coverage(&self) -> Option<Vec<u64>> {
        let mut chains = Vec::new();
        for &chain in self.books.keys() {
            if self.vault(chain).is_some() {
                chains.push((self.coverage(chain)?, chain));
            }
        }
        chains.sort();
        Some(chains.into_iter().map(|(_, chain)| chain).collect())
    }

    /// The makers' standby in a chain's vault (less what they asked to withdraw), by address.
    fn standby(&self, chain: u64) -> Vec<(Address, U256)> {
        self.ledger
            .makers()
            .filter(|&(_, c, _)| c == chain)
            .map(|(owner, _, _)| (owner, self.ledger.available(owner, chain)))
            .filter(|(_, available)| !available.is_zero())
            .collect()
    }

    /// Moves `amount` and records it; spends its value (at `chain`'s terms) from the budget.
    fn shift(
        &mut self,
        kind: MoveKind,
        chain: u64,
        from: Address,
        to: Address,
        amount: U256,
        charge: bool,
    ) -> Option<()> {
        if amount.is_zero() {
            return Some(());
        }
        if let (true, Some(budget)) = (charge, self.budget) {
            let worth = self.vault(chain)?.value(amount)?;
            self.budget = Some(budget.checked_sub(worth)?);
        }
        self.ledger.shift(chain, from, to, amount)?;
        self.plan.moves.push(Move { kind, chain_selector: chain, from, to, amount });
        Some(())
    }

    /// The most of `chain`'s collateral the budget still allows.
    fn budget_amount(&self, chain: u64) -> Option<U256> {
        match self.budget {
            None => Some(U256::MAX),
            Some(budget) => self.vault(chain)?.amount_within(budget),
        }
    }

    fn accrue_fees(&mut self, now: u64) -> Option<()> {
        let since = self.ledger.accrued_at();
        if since != 0 && now > since && self.terms.standby_fee_bps_per_year > 0 {
            let elapsed = U256::from(now - since);
            let rate = U256::from(self.terms.standby_fee_bps_per_year);
            let per = U256::from(BPS).checked_mul(U256::from(YEAR_SECS))?;
            let makers: Vec<_> = self
                .ledger
                .makers()
                .filter(|&(_, chain, _)| self.vault(chain).is_some())
                .map(|(maker, chain, _)| (maker, chain))
                .collect();
            for (maker, chain) in makers {
                let drawable = self.drawable_on(maker, chain)?;
                let fee = drawable.checked_mul(rate)?.checked_mul(elapsed)? / per;
                let fee = self.within_paid(chain, fee)?;
                if fee.is_zero() {
                    continue;
                }
                let claim = self.ledger.claim_mut(maker, chain);
                claim.owed = claim.owed.checked_add(fee)?;
                self.plan.fees.push((maker, chain, fee));
            }
        }
        if now > since {
            self.ledger.set_accrued_at(now);
        }
        Some(())
    }

    fn heal_locations(&mut self) -> Option<()> {
        let local = self.terms.local_recovery_bps;
        for short in self.chains_by_coverage()? {
            let (reserves, liabilities) = self.chain_sides(short)?;
            let lacking = Self::shortfall(reserves, liabilities, local)?;
            if lacking.is_zero() {
                // Sorted by coverage: every later chain is covered too.
                break;
            }
            let terms = self.vault(short)?;
            let mut need = terms.amount_for(lacking)?;
            // Donors: chains of the same collateral that stay covered, the most surplus first.
            let mut donors = Vec::new();
            for &chain in self.books.keys() {
                let Some(donor) = self.vault(chain) else { continue };
                if chain == short || donor.asset != terms.asset || donor.decimals != terms.decimals
                {
                    continue;
                }
                let (r, l) = self.chain_sides(chain)?;
                let spare = donor
                    .amount_within(Self::headroom(r, l, local)?)?
                    .min(self.ledger.protocol_share(chain));
                if !spare.is_zero() {
                    donors.push((std::cmp::Reverse(spare), chain));
                }
            }
            donors.sort();
            for (std::cmp::Reverse(mut spare), donor) in donors {
                for (maker, standby) in self.standby(short) {
                    let amount = need.min(spare).min(standby).min(self.budget_amount(short)?);
                    if amount.is_zero() {
                        break;
                    }
                    let protocol = self.protocol();
                    self.shift(MoveKind::Swap, short, maker, protocol, amount, true)?;
                    self.shift(MoveKind::Swap, donor, protocol, maker, amount, false)?;
                    need -= amount;
                    spare -= amount;
                }
                if need.is_zero() {
                    break;
                }
            }
        }
        Some(())
    }

    /// Draws standby while the global ratio is under `recovery_bps`; whether anything was drawn.
    fn draw(&mut self, recovery_bps: u32) -> Option<bool> {
        let (reserves, liabilities) = self.global_sides()?;
        let mut lacking = Self::shortfall(reserves, liabilities, recovery_bps)?;
        let mut drew = false;
        if lacking.is_zero() {
            return Some(false);
        }
        for chain in self.chains_by_coverage()? {
            let terms = self.vault(chain)?;
            for (maker, standby) in self.standby(chain) {
                if lacking.is_zero() {
                    return Some(drew);
                }
                let amount =
                    terms.amount_for(lacking)?.min(standby).min(self.budget_amount(chain)?);
                if amount.is_zero() {
                    return Some(drew);
                }
                let protocol = self.protocol();
                self.shift(MoveKind::Draw, chain, maker, protocol, amount, true)?;
                let premium =
                    amount.checked_mul(U256::from(self.terms.draw_premium_bps))? / U256::from(BPS);
                let premium = self.within_paid(chain, premium)?;
                let claim = self.ledger.claim_mut(maker, chain);
                claim.drawn = claim.drawn.checked_add(amount)?;
                claim.owed = claim.owed.checked_add(premium)?;
                if !premium.is_zero() {
                    self.plan.premiums.push((maker, chain, premium));
                }
                lacking = lacking.saturating_sub(terms.value(amount)?);
                drew = true;
            }
        }
        Some(drew)
    }

    /// A chain's fungibility class, if it has a vault.
    fn class(&self, chain: u64) -> Option<Class> {
        self.vault(chain).map(|t| Class { asset: t.asset, decimals: t.decimals })
    }

    /// A maker's live quote for a class.
    fn quote(&self, maker: Address, class: Class) -> Option<&Quote> {
        self.quotes.iter().find(|q| q.maker == maker && q.class == class)
    }

    /// Cuts each quote to what it still offers: a quote offers its size at any one time, so
    /// what is drawn of its maker in its class and not yet given back is taken. Once, before
    /// the epoch's steps: within an epoch only the class being drawn changes, after its
    /// offers are made.
    fn open_quotes(&mut self) {
        let mut drawn: BTreeMap<(Address, Class), U256> = BTreeMap::new();
        for (owner, chain, claim) in self.ledger.claims() {
            if let Some(class) = self.class(chain) {
                let sum = drawn.entry((owner, class)).or_default();
                *sum = sum.saturating_add(claim.drawn);
            }
        }
        for quote in &mut self.quotes {
            let taken = drawn.get(&(quote.maker, quote.class)).copied().unwrap_or_default();
            quote.size = quote.size.saturating_sub(taken);
        }
    }

    /// What of a maker's standby in a chain's vault could be drawn: all it has available
    /// without the dark pool; with it, what its quote still offers, taken from the class's
    /// vaults by ascending selector.
    fn drawable_on(&self, maker: Address, chain: u64) -> Option<U256> {
        let available = self.ledger.available(maker, chain);
        if self.terms.market.is_none() {
            return Some(available);
        }
        let Some(class) = self.class(chain) else { return Some(U256::ZERO) };
        let Some(quote) = self.quote(maker, class) else { return Some(U256::ZERO) };
        // A quote the market could never fill — above the schedule's maximum, or for a class
        // no longer offered — makes nothing drawable, and earns no fee.
        let market = self.terms.market.as_ref()?;
        if quote.premium_bps > market.max_bps || !market.offered(self.ledger.unfilled_epochs(class))
        {
            return Some(U256::ZERO);
        }
        let mut left = quote.size;
        for &other in self.books.keys() {
            if other == chain {
                return Some(left.min(available));
            }
            if self.class(other) == Some(class) {
                left = left.saturating_sub(self.ledger.available(maker, other));
            }
        }
        Some(U256::ZERO)
    }

    /// The most of `amount` (a fee or premium in `chain`'s collateral) the paid cap allows,
    /// spent from it.
    fn within_paid(&mut self, chain: u64, amount: U256) -> Option<U256> {
        let Some(paid) = self.paid else { return Some(amount) };
        let terms = self.vault(chain)?;
        let allowed = amount.min(terms.amount_within(paid)?);
        self.paid = Some(paid.saturating_sub(terms.value(allowed)?));
        Some(allowed)
    }

    /// The capital step with the dark pool: per fungibility class, in the order of its
    /// lowest-covered chain, the need clears against the class's live quotes at or under the
    /// sliding reserve price; each fill is drawn from the maker's vaults of the class, the
    /// lowest-covered first, at the clearing premium. Whether anything was drawn.
    fn draw_from_market(&mut self, recovery_bps: u32, market: &MarketTerms) -> Option<bool> {
        let (reserves, liabilities) = self.global_sides()?;
        let mut lacking = Self::shortfall(reserves, liabilities, recovery_bps)?;
        let order = self.chains_by_coverage()?;
        let mut classes: Vec<Class> = Vec::new();
        for &chain in &order {
            let class = self.class(chain)?;
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
        let mut drew = false;
        let mut unfilled = Vec::new();
        for class in classes {
            if lacking.is_zero() {
                break;
            }
            let epochs = self.ledger.unfilled_epochs(class);
            if !market.offered(epochs) {
                // Offered for the schedule's whole span: it waits for the next calendar slot.
                unfilled.push((class, epochs));
                continue;
            }
            let chains: Vec<u64> =
                order.iter().copied().filter(|&c| self.class(c) == Some(class)).collect();
            let terms = self.vault(chains[0])?;
            let need = terms.amount_for(lacking)?.min(self.budget_amount(chains[0])?);
            let mut offers = Vec::new();
            for quote in self.quotes.iter().filter(|q| q.class == class) {
                let standby = chains.iter().try_fold(U256::ZERO, |sum, &c| {
                    sum.checked_add(self.ledger.available(quote.maker, c))
                })?;
                offers.push((quote.maker, quote.size.min(standby), quote.premium_bps));
            }
            let reserve = market.reserve_bps(epochs);
            let mut cleared = crate::market::clear(need, &offers, reserve)?;
            // The paid cap: fill no more than the premiums it still allows.
            if let Some(paid) = self.paid {
                let filled = need - cleared.unfilled;
                let premium =
                    filled.checked_mul(U256::from(cleared.premium_bps))? / U256::from(BPS);
                if terms.value(premium)? > paid && cleared.premium_bps > 0 {
                    let most = terms.amount_within(paid)?.checked_mul(U256::from(BPS))?
                        / U256::from(cleared.premium_bps);
                    cleared = crate::market::clear(need.min(most), &offers, reserve)?;
                }
            }
            let mut filled = U256::ZERO;
            for &(maker, amount) in &cleared.fills {
                let mut left = amount;
                for &chain in &chains {
                    // Each chain's own value counts against the cap: a class's chains may
                    // value the same collateral differently.
                    let take = left
                        .min(self.ledger.available(maker, chain))
                        .min(self.budget_amount(chain)?);
                    if take.is_zero() {
                        continue;
                    }
                    let protocol = self.protocol();
                    self.shift(MoveKind::Draw, chain, maker, protocol, take, true)?;
                    let premium =
                        take.checked_mul(U256::from(cleared.premium_bps))? / U256::from(BPS);
                    let premium = self.within_paid(chain, premium)?;
                    let claim = self.ledger.claim_mut(maker, chain);
                    claim.drawn = claim.drawn.checked_add(take)?;
                    claim.owed = claim.owed.checked_add(premium)?;
                    if !premium.is_zero() {
                        self.plan.premiums.push((maker, chain, premium));
                    }
                    left -= take;
                    filled = filled.checked_add(take)?;
                    if left.is_zero() {
                        break;
                    }
                }
            }
            drew |= !filled.is_zero();
            lacking = lacking.saturating_sub(terms.value(filled)?);
            if filled < need {
                unfilled.push((class, epochs.saturating_add(1)));
            }
        }
        // A class filled, or without a need, starts its next need at the schedule's start.
        self.ledger.set_unfilled(unfilled);
        Some(drew)
    }

    fn release(&mut self) -> Option<()> {
        let release_bps = self.terms.release_ratio_bps;
        let claims: Vec<_> = self.ledger.claims().collect();
        // Principal first (every claim, from the protocol's share where it was drawn), then
        // what is owed (from the protocol's share there, then in any vault of the same
        // collateral: a premium is owed in units, wherever the protocol has them).
        for settle in [false, true] {
            for &(maker, chain, _) in &claims {
                let Some(terms) = self.vault(chain) else { continue };
                let mut payers = vec![chain];
                if settle {
                    payers.extend(self.books.keys().copied().filter(|&c| {
                        c != chain
                            && self.vault(c).is_some_and(|t| {
                                t.asset == terms.asset && t.decimals == terms.decimals
                            })
                    }));
                }
                for payer in payers {
                    let claim = self.ledger.claim(maker, chain);
                    let due = if settle { claim.owed } else { claim.drawn };
                    if due.is_zero() {
                        // Paid in full: the other payers are not asked (nor the ratio read
                        // again, which costs a pass over every chain).
                        break;
                    }
                    let payer_terms = self.vault(payer)?;
                    let (reserves, liabilities) = self.global_sides()?;
                    let room = Self::headroom(reserves, liabilities, release_bps)?;
                    if room.is_zero() {
                        // Every payment lowers the ratio: once at the release ratio, nothing
                        // more is paid this epoch, to anyone.
                        return Some(());
                    }
                    let amount = due
                        .min(self.ledger.protocol_share(payer))
                        .min(payer_terms.amount_within(room)?)
                        .min(self.budget_amount(payer)?);
                    if amount.is_zero() {
                        continue;
                    }
                    let (kind, protocol) = (
                        if settle { MoveKind::Settle } else { MoveKind::Release },
                        self.protocol(),
                    );
                    self.shift(kind, payer, protocol, maker, amount, true)?;
                    let claim = self.ledger.claim_mut(maker, chain);
                    if settle {
                        claim.owed -= amount;
                    } else {
                        claim.drawn -= amount;
                    }
                }
            }
        }
        Some(())
    }
}
