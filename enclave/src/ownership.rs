//! Who owns what inside the reserve vaults: the enclave's ownership ledger.
//!
//! Every vault keeps one append-only log of deposits, executed withdrawals, inflows and exodus
//! claims with a running hash (docs/self-healing.md). The host hands the enclave each vault's
//! entries, in order; the enclave believes them only once a report of that chain carries a
//! head — checked by the hub when the attestation is published — that the entries hash to
//! (the rule of evidence). A host that invents, hides or reorders an entry gets nothing
//! credited: the running hash at the vouched count differs, and the entries are dropped.
//!
//! Amounts here are other people's collateral: `Debug` shows counts and owners, never an
//! amount.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};
use serde::{Deserialize, Serialize};

use crate::{LedgerLeaf, VaultHead, merkle::MerkleTree};

/// What an entry of a vault log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Collateral came in from `account`, credited to it.
    Deposit = 1,
    /// An authorized withdrawal was paid to `account`.
    Withdrawal = 2,
    /// Collateral came in for the protocol (a top-up).
    Inflow = 3,
    /// `account` claimed its last balance by exodus.
    Exodus = 4,
    /// A calendar lot left for `account` (the destination vault); `reference` is its id.
    LotSent = 5,
    /// Tokens arrived over a CCIP lane from `account` (the sender on the source chain);
    /// `reference` is `keccak256(abi.encode(sourceChainSelector, lotId))`.
    LotReceived = 6,
}

impl EntryKind {
    /// From the log's `uint8`.
    pub fn from_u8(kind: u8) -> Option<Self> {
        match kind {
            1 => Some(Self::Deposit),
            2 => Some(Self::Withdrawal),
            3 => Some(Self::Inflow),
            4 => Some(Self::Exodus),
            5 => Some(Self::LotSent),
            6 => Some(Self::LotReceived),
            _ => None,
        }
    }
}

/// One entry of a vault log, as the vault's `Logged` event carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultEntry {
    /// Its position in the log, from 1.
    pub index: u64,
    /// What it records.
    pub kind: EntryKind,
    /// Who deposited, was paid, or claimed.
    pub account: Address,
    /// How much, in the collateral's smallest unit.
    pub amount: U256,
    /// The vault's block time.
    pub timestamp: u64,
    /// The authorization id (withdrawal), the ledger leaf hash (exodus), the lot id (lot sent),
    /// `keccak256(abi.encode(source, id))` (lot received), or zero.
    pub reference: B256,
}

impl std::fmt::Debug for VaultEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultEntry")
            .field("index", &self.index)
            .field("kind", &self.kind)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

alloy::sol! {
    /// What the vault hashes into its running head for each entry.
    struct HeadStep {
        bytes32 head;
        uint64 index;
        uint8 kind;
        address account;
        uint256 amount;
        uint64 timestamp;
        bytes32 reference;
    }
}

/// The running hash after `entry`, as the vault computes it:
/// `keccak256(abi.encode(head, index, kind, account, amount, timestamp, ref))`.
pub fn next_head(head: B256, entry: &VaultEntry) -> B256 {
    let step = HeadStep {
        head,
        index: entry.index,
        kind: entry.kind as u8,
        account: entry.account,
        amount: entry.amount,
        timestamp: entry.timestamp,
        reference: entry.reference,
    };
    keccak256(step.abi_encode())
}

/// Why vault entries were not taken, or a vault's credits could not advance.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum OwnershipError {
    /// An entry arrived out of order (the host skipped one): feed from `expected`.
    #[error("chain {chain_selector}: vault entry {got} arrived where entry {expected} was due")]
    OutOfOrder {
        /// The chain.
        chain_selector: u64,
        /// The index due next.
        expected: u64,
        /// The index given.
        got: u64,
    },
    /// An entry given again differs from the one given before: a vault log never changes.
    #[error("chain {chain_selector}: vault entry {index} differs from the one given before")]
    Rewritten {
        /// The chain.
        chain_selector: u64,
        /// The entry.
        index: u64,
    },
    /// The entries do not hash to the head a report carried: invented, hidden or reordered.
    /// Nothing of them is credited.
    #[error(
        "chain {chain_selector}: the vault entries given do not hash to the head its report carried at entry {count}"
    )]
    HeadMismatch {
        /// The chain.
        chain_selector: u64,
        /// Where the heads differ.
        count: u64,
    },
    /// A report carries fewer entries than already credited: a vault log never shrinks.
    #[error(
        "chain {chain_selector}: a report's vault head ({count} entries) is behind what is credited ({credited})"
    )]
    HeadBehind {
        /// The chain.
        chain_selector: u64,
        /// The report's count.
        count: u64,
        /// What is credited.
        credited: u64,
    },
    /// Not every entry up to the report's head was given yet: credited at the next epoch.
    #[error("chain {chain_selector}: vault entries up to {count} not given yet ({have} so far)")]
    Missing {
        /// The chain.
        chain_selector: u64,
        /// The report's count.
        count: u64,
        /// Entries given.
        have: u64,
    },
}

/// One owner's position in one vault.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// What it owns in the vault.
    pub balance: U256,
    /// What it was paid from the vault (withdrawals and exodus), all told.
    pub withdrawn: U256,
    /// What it deposited into the vault, all told: with `withdrawn`, where its standby belongs
    /// (the depth calendar lots restore).
    #[serde(default)]
    pub deposited: U256,
}

impl std::fmt::Debug for Holding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Holding(<redacted>)")
    }
}

/// The vault logs as the host gave them: public data, kept in memory only (a restarted enclave
/// is given them again).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VaultLogs {
    logs: BTreeMap<u64, Vec<VaultEntry>>,
}

impl VaultLogs {
    /// Takes a chain's next entries, in order. Entries already given are checked to be the same
    /// and skipped (a host reads with overlap after a restart); a gap is refused. Returns how
    /// many were new.
    pub fn feed(
        &mut self,
        chain_selector: u64,
        entries: &[VaultEntry],
    ) -> Result<usize, OwnershipError> {
        let log = self.logs.entry(chain_selector).or_default();
        let mut taken = 0;
        for entry in entries {
            let have = log.len() as u64;
            if entry.index == 0 || entry.index > have + 1 {
                return Err(OwnershipError::OutOfOrder {
                    chain_selector,
                    expected: have + 1,
                    got: entry.index,
                });
            }
            if entry.index <= have {
                if log[entry.index as usize - 1] != *entry {
                    return Err(OwnershipError::Rewritten { chain_selector, index: entry.index });
                }
                continue;
            }
            log.push(entry.clone());
            taken += 1;
        }
        Ok(taken)
    }

    /// How many entries of a chain's log were given.
    pub fn len(&self, chain_selector: u64) -> u64 {
        self.logs.get(&chain_selector).map_or(0, |l| l.len() as u64)
    }

    /// Entries `from + 1 ..= to` of a chain's log, if all were given.
    fn range(&self, chain_selector: u64, from: u64, to: u64) -> Option<&[VaultEntry]> {
        self.logs.get(&chain_selector).and_then(|l| l.get(from as usize..to as usize))
    }
}

/// Who owns what in every vault, as of each vault's credited head.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    credited: BTreeMap<u64, VaultHead>,
    holdings: BTreeMap<(Address, u64), Holding>,
    /// Who an inflow belongs to (the protocol).
    protocol: Address,
    /// Per (market maker, chain): standby the planner drew as junior capital (now the
    /// protocol's share) and what the protocol owes for it. Not in the ledger's leaves: a junior
    /// claim is on the protocol, not on a vault.
    claims: BTreeMap<(Address, u64), Claim>,
    /// When standby fees were last accrued (Unix seconds; zero: not yet).
    accrued_at: u64,
    /// Withdrawals authorized and not yet paid, by authorization id: committed under their
    /// chain's `authRoot` every epoch until the vault logs the payment.
    #[serde(default)]
    pending: BTreeMap<B256, Pending>,
    /// Per owner, the highest withdrawal nonce authorized.
    #[serde(default)]
    nonces: BTreeMap<Address, u64>,
    /// Per owner, the X25519 key its statements are sealed to (a request of amount zero sets
    /// it).
    #[serde(default)]
    statement_keys: BTreeMap<Address, B256>,
    /// Calendar lots scheduled and not yet arrived, by id: committed under their source chain's
    /// `authRoot` at each slot until the source vault logs them sent; counted as their owner's
    /// on the source chain until the destination vault logs them arrived.
    #[serde(default)]
    lots: BTreeMap<B256, Lot>,
    /// Per fungibility class with a need the market has not filled: for how many epochs in a
    /// row (the sliding reserve price's position). Sealed with the ledger, never published.
    #[serde(default)]
    unfilled: Unfilled,
}

/// Per class, the epochs its need went unfilled. `Debug` shows nothing: that a need exists at
/// all is what the system hides.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct Unfilled(Vec<(crate::market::Class, u32)>);

impl std::fmt::Debug for Unfilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unfilled(<redacted>)")
    }
}

/// A withdrawal authorized and not yet paid.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Who is paid.
    pub owner: Address,
    /// The vault's chain.
    pub chain_selector: u64,
    /// How much.
    pub amount: U256,
    /// Where the owner reads its authorization.
    pub reply_key: B256,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("owner", &self.owner)
            .field("chain_selector", &self.chain_selector)
            .finish_non_exhaustive()
    }
}

/// A calendar lot: `amount` of `owner`'s collateral moving from one chain's vault to
/// another's, over the chains' CCIP token lane.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// Whose collateral moves.
    pub owner: Address,
    /// The source chain and its vault.
    pub source: u64,
    /// See `source`.
    pub source_vault: Address,
    /// The destination chain and its vault.
    pub dest: u64,
    /// See `dest`.
    pub dest_vault: Address,
    /// How much (one fixed lot).
    pub amount: U256,
    /// The epoch of the slot that scheduled it.
    pub scheduled: u64,
    /// Whether the source vault logged it sent (it is in flight).
    pub sent: bool,
}

impl std::fmt::Debug for Lot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lot")
            .field("source", &self.source)
            .field("dest", &self.dest)
            .field("scheduled", &self.scheduled)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Lot {
    /// What the destination vault logs as the arrival's reference:
    /// `keccak256(abi.encode(sourceChainSelector, id))`.
    pub fn arrival_reference(source: u64, id: B256) -> B256 {
        keccak256((source, id).abi_encode_params())
    }
}

/// A market maker's junior claim on the protocol for one chain's standby, in that vault's
/// collateral units.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Standby drawn and not yet released: it counts as the protocol's reserves.
    pub drawn: U256,
    /// Premiums and standby fees owed and not yet paid.
    pub owed: U256,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Claim(<redacted>)")
    }
}

impl Ownership {
    /// An empty ledger; inflows are credited to `protocol`.
    pub fn new(protocol: Address) -> Self {
        Self { protocol, ..Self::default() }
    }

    /// This ledger with each chain's vault credited up to `heads` (the heads of the reports the
    /// attestation's leaves carry, which the hub checks): a chain advances only if every entry
    /// up to its head was given and they hash to it from the credited head; otherwise it stays
    /// where it was, and the reason is returned.
    pub fn advanced(
        &self,
        logs: &VaultLogs,
        heads: &[(u64, VaultHead)],
    ) -> (Self, Vec<OwnershipError>) {
        let mut next = self.clone();
        let mut problems = Vec::new();
        for &(chain_selector, head) in heads {
            let credited = next.credited(chain_selector);
            if head.count < credited.count {
                problems.push(OwnershipError::HeadBehind {
                    chain_selector,
                    count: head.count,
                    credited: credited.count,
                });
                continue;
            }
            if head.count == credited.count {
                if head.head != credited.head {
                    problems
                        .push(OwnershipError::HeadMismatch { chain_selector, count: head.count });
                }
                continue;
            }
            let Some(entries) = logs.range(chain_selector, credited.count, head.count) else {
                problems.push(OwnershipError::Missing {
                    chain_selector,
                    count: head.count,
                    have: logs.len(chain_selector),
                });
                continue;
            };
            let reached = entries.iter().fold(credited.head, next_head);
            if reached != head.head {
                problems.push(OwnershipError::HeadMismatch { chain_selector, count: head.count });
                continue;
            }
            for entry in entries {
                next.apply(chain_selector, entry);
            }
            next.credited.insert(chain_selector, head);
        }
        (next, problems)
    }

    fn apply(&mut self, chain_selector: u64, entry: &VaultEntry) {
        match entry.kind {
            // Still the owner's on the source chain while in flight.
            EntryKind::LotSent => {
                if let Some(lot) = self.lots.get_mut(&entry.reference)
                    && lot.source == chain_selector
                {
                    lot.sent = true;
                }
                return;
            }
            EntryKind::LotReceived => {
                if let Some(id) = self.arriving(chain_selector, entry) {
                    let lot = self.lots.remove(&id).expect("found above");
                    // The lot leaves the source's books and enters the destination's, whole. It
                    // is the owner's as far as the owner still holds it at the source; should an
                    // exodus have paid the owner there meanwhile (out of the others' share), the
                    // rest is the protocol's: the protocol's share at the source bears what the
                    // exodus overpaid, and its share at the destination gets the tokens.
                    let from = self.holdings.entry((lot.owner, lot.source)).or_default();
                    let moved = from.balance.min(lot.amount);
                    from.balance -= moved;
                    let to = self.holdings.entry((lot.owner, lot.dest)).or_default();
                    to.balance = to.balance.saturating_add(moved);
                    let rest = lot.amount - moved;
                    if !rest.is_zero() {
                        let at_source =
                            self.holdings.entry((self.protocol, lot.source)).or_default();
                        at_source.balance = at_source.balance.saturating_sub(rest);
                        let at_dest = self.holdings.entry((self.protocol, lot.dest)).or_default();
                        at_dest.balance = at_dest.balance.saturating_add(rest);
                    }
                    return;
                }
                // Not a lot of ours: tokens in the vault all the same, the protocol's.
            }
            _ => {}
        }
        let owner = match entry.kind {
            EntryKind::Inflow | EntryKind::LotReceived => self.protocol,
            _ => entry.account,
        };
        let holding = self.holdings.entry((owner, chain_selector)).or_default();
        match entry.kind {
            EntryKind::Deposit => {
                holding.balance = holding.balance.saturating_add(entry.amount);
                holding.deposited = holding.deposited.saturating_add(entry.amount);
            }
            EntryKind::Inflow | EntryKind::LotReceived => {
                holding.balance = holding.balance.saturating_add(entry.amount);
            }
            EntryKind::LotSent => {}
            // The vault pays only what the enclave authorized, and an exodus only a proven
            // balance: either way the owner's balance falls by what left the vault.
            EntryKind::Withdrawal | EntryKind::Exodus => {
                holding.balance = holding.balance.saturating_sub(entry.amount);
                holding.withdrawn = holding.withdrawn.saturating_add(entry.amount);
            }
        }
        if entry.kind == EntryKind::Withdrawal {
            // Paid: no longer authorized.
            self.pending.remove(&entry.reference);
        }
    }

    /// The lot an arrival on `chain_selector` completes: one of ours for this chain, with the
    /// reference, sender (its source vault) and amount the destination vault logged. A lot not
    /// yet logged sent at its source (that log is behind) arrives all the same.
    fn arriving(&self, chain_selector: u64, entry: &VaultEntry) -> Option<B256> {
        self.lots
            .iter()
            .find(|(id, lot)| {
                lot.dest == chain_selector
                    && lot.source_vault == entry.account
                    && lot.amount == entry.amount
                    && Lot::arrival_reference(lot.source, **id) == entry.reference
            })
            .map(|(id, _)| *id)
    }

    /// Lots scheduled and not yet arrived, by id.
    pub fn lots(&self) -> impl Iterator<Item = (B256, Lot)> + '_ {
        self.lots.iter().map(|(&id, &lot)| (id, lot))
    }

    /// Schedules a lot; `None` (and nothing scheduled) if its owner's available balance on the
    /// source chain does not cover it or the id is taken.
    pub(crate) fn schedule_lot(&mut self, id: B256, lot: Lot) -> Option<()> {
        if self.lots.contains_key(&id) || lot.amount > self.available(lot.owner, lot.source) {
            return None;
        }
        self.lots.insert(id, lot);
        Some(())
    }

    /// How far a chain's vault log is credited.
    pub fn credited(&self, chain_selector: u64) -> VaultHead {
        self.credited.get(&chain_selector).copied().unwrap_or_default()
    }

    /// Every chain's credited head.
    pub fn heads(&self) -> Vec<(u64, VaultHead)> {
        self.credited.iter().map(|(&c, &h)| (c, h)).collect()
    }

    /// An owner's position in a chain's vault.
    pub fn holding(&self, owner: Address, chain_selector: u64) -> Holding {
        self.holdings.get(&(owner, chain_selector)).copied().unwrap_or_default()
    }

    /// The protocol's share of a chain's vault: its balance less what it asked to withdraw.
    pub fn protocol_share(&self, chain_selector: u64) -> U256 {
        self.available(self.protocol, chain_selector)
    }

    /// An owner's balance in a vault less its withdrawals authorized and not yet paid and its
    /// lots leaving that vault: what it may still withdraw, and all of its standby the planner
    /// may use.
    pub fn available(&self, owner: Address, chain_selector: u64) -> U256 {
        let held = self
            .pending
            .values()
            .filter(|p| p.owner == owner && p.chain_selector == chain_selector)
            .fold(U256::ZERO, |sum, p| sum.saturating_add(p.amount));
        // Called for every maker and chain at every step of a plan: no lots, no walk.
        let leaving = if self.lots.is_empty() {
            U256::ZERO
        } else {
            self.lots
                .values()
                .filter(|l| l.owner == owner && l.source == chain_selector)
                .fold(U256::ZERO, |sum, l| sum.saturating_add(l.amount))
        };
        self.holding(owner, chain_selector).balance.saturating_sub(held.saturating_add(leaving))
    }

    /// Withdrawals authorized and not yet paid, by id.
    pub fn pending(&self) -> impl Iterator<Item = (B256, Pending)> + '_ {
        self.pending.iter().map(|(&id, &p)| (id, p))
    }

    /// The highest withdrawal nonce authorized for `owner` (zero: none).
    pub fn nonce(&self, owner: Address) -> u64 {
        self.nonces.get(&owner).copied().unwrap_or(0)
    }

    /// Authorizes a withdrawal if its nonce is new for the owner and the owner's available
    /// balance covers it; returns whether it did.
    pub(crate) fn authorize(&mut self, id: B256, nonce: u64, pending: Pending) -> bool {
        if nonce <= self.nonce(pending.owner)
            || pending.amount.is_zero()
            || pending.amount > self.available(pending.owner, pending.chain_selector)
        {
            return false;
        }
        self.nonces.insert(pending.owner, nonce);
        self.pending.insert(id, pending);
        true
    }

    /// Whether `request` asks again for the authorized, unpaid withdrawal `id` (same owner and
    /// amount) from another reply key.
    pub fn renews_reply_key(
        &self,
        id: B256,
        request: &crate::withdrawal::WithdrawalRequest,
    ) -> bool {
        self.pending.get(&id).is_some_and(|p| {
            p.owner == request.owner
                && p.amount == request.amount
                && p.chain_selector == request.chainSelector
                && p.reply_key != request.replyKey
        })
    }

    /// Sends the replies of the authorized, unpaid withdrawal `id` to `request`'s reply key, if
    /// [`Ownership::renews_reply_key`]; returns whether it did.
    pub(crate) fn renew_reply_key(
        &mut self,
        id: B256,
        request: &crate::withdrawal::WithdrawalRequest,
    ) -> bool {
        if !self.renews_reply_key(id, request) {
            return false;
        }
        if let Some(pending) = self.pending.get_mut(&id) {
            pending.reply_key = request.replyKey;
        }
        true
    }

    /// Sets an owner's statement key, if `nonce` is new for the owner; returns whether it did.
    pub(crate) fn subscribe(&mut self, owner: Address, nonce: u64, key: B256) -> bool {
        if nonce <= self.nonce(owner) {
            return false;
        }
        self.nonces.insert(owner, nonce);
        self.statement_keys.insert(owner, key);
        true
    }

    /// Every owner with a statement key, and the key.
    pub fn statement_keys(&self) -> impl Iterator<Item = (Address, B256)> + '_ {
        self.statement_keys.iter().map(|(&owner, &key)| (owner, key))
    }

    /// The protocol's account.
    pub fn protocol(&self) -> Address {
        self.protocol
    }

    /// Every market maker's position in every vault, by (owner, chain).
    pub fn makers(&self) -> impl Iterator<Item = (Address, u64, Holding)> + '_ {
        self.holdings
            .iter()
            .filter(|((owner, _), _)| *owner != self.protocol)
            .map(|(&(owner, chain), &h)| (owner, chain, h))
    }

    /// A market maker's junior claim for one chain's standby.
    pub fn claim(&self, owner: Address, chain_selector: u64) -> Claim {
        self.claims.get(&(owner, chain_selector)).copied().unwrap_or_default()
    }

    /// Every junior claim, by (owner, chain).
    pub fn claims(&self) -> impl Iterator<Item = (Address, u64, Claim)> + '_ {
        self.claims.iter().map(|(&(owner, chain), &c)| (owner, chain, c))
    }

    /// When standby fees were last accrued (zero: not yet).
    pub fn accrued_at(&self) -> u64 {
        self.accrued_at
    }

    pub(crate) fn set_accrued_at(&mut self, at: u64) {
        self.accrued_at = at;
    }

    /// For how many epochs in a row a class's need has gone unfilled (zero: none).
    pub fn unfilled_epochs(&self, class: crate::market::Class) -> u32 {
        self.unfilled.0.iter().find(|(c, _)| *c == class).map_or(0, |&(_, n)| n)
    }

    /// Every class's need that went unfilled for `timeout` epochs or more starts over (offered
    /// again from the schedule's start).
    pub(crate) fn restart_timed_out(&mut self, timeout: u32) {
        let kept = self.unfilled.0.iter().copied().filter(|&(_, n)| n < timeout).collect();
        self.set_unfilled(kept);
    }

    pub(crate) fn set_unfilled(&mut self, mut unfilled: Vec<(crate::market::Class, u32)>) {
        unfilled.retain(|&(_, n)| n > 0);
        unfilled.sort();
        self.unfilled = Unfilled(unfilled);
    }

    pub(crate) fn claim_mut(&mut self, owner: Address, chain_selector: u64) -> &mut Claim {
        self.claims.entry((owner, chain_selector)).or_default()
    }

    /// Drops claims that are settled (nothing drawn, nothing owed).
    pub(crate) fn prune_claims(&mut self) {
        self.claims.retain(|_, c| !(c.drawn.is_zero() && c.owed.is_zero()));
    }

    /// Moves `amount` of one vault's balance from one owner to another; `None` (and nothing
    /// moved) if `from` holds less.
    pub(crate) fn shift(
        &mut self,
        chain_selector: u64,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Option<()> {
        // Never what the owner asked to withdraw.
        self.available(from, chain_selector).checked_sub(amount)?;
        let left = self.holding(from, chain_selector).balance.checked_sub(amount)?;
        if from == to {
            return Some(());
        }
        let gained = self.holding(to, chain_selector).balance.checked_add(amount)?;
        self.holdings.entry((from, chain_selector)).or_default().balance = left;
        self.holdings.entry((to, chain_selector)).or_default().balance = gained;
        Some(())
    }

    /// The total credited in a chain's vault.
    pub fn vault_total(&self, chain_selector: u64) -> U256 {
        self.holdings
            .iter()
            .filter(|((_, chain), _)| *chain == chain_selector)
            .fold(U256::ZERO, |sum, (_, h)| sum.saturating_add(h.balance))
    }

    /// The ledger's leaves for an epoch — the sentinel, then one per (owner, vault) in a fixed
    /// order — each salted by `salt(owner, chain)`.
    pub fn leaves(
        &self,
        vault_of: impl Fn(u64) -> Address,
        salt: impl Fn(Address, u64) -> B256,
    ) -> Vec<LedgerLeaf> {
        let mut leaves = vec![LedgerLeaf { salt: salt(Address::ZERO, 0), ..LedgerLeaf::default() }];
        for (&(owner, chain), holding) in &self.holdings {
            leaves.push(LedgerLeaf {
                owner,
                chainSelector: chain,
                vault: vault_of(chain),
                balance: holding.balance,
                withdrawnTotal: holding.withdrawn,
                salt: salt(owner, chain),
            });
        }
        leaves
    }

    /// The root of [`Ownership::leaves`].
    pub fn root(
        &self,
        vault_of: impl Fn(u64) -> Address,
        salt: impl Fn(Address, u64) -> B256,
    ) -> B256 {
        MerkleTree::new(self.leaves(vault_of, salt).iter().map(LedgerLeaf::hash).collect()).root()
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;

    const CHAIN: u64 = 7;
    const PROTOCOL: Address = address!("0x00000000000000000000000000000000000000a1");
    const MAKER: Address = address!("0x00000000000000000000000000000000000000b2");

    fn entry(index: u64, kind: EntryKind, account: Address, amount: u64) -> VaultEntry {
        VaultEntry {
            index,
            kind,
            account,
            amount: U256::from(amount),
            timestamp: 1_000 + index,
            reference: B256::ZERO,
        }
    }

    /// A log and the head after each entry, as the vault would compute them.
    fn log() -> (Vec<VaultEntry>, Vec<VaultHead>) {
        let entries = vec![
            entry(1, EntryKind::Deposit, PROTOCOL, 500),
            entry(2, EntryKind::Deposit, MAKER, 300),
            entry(3, EntryKind::Inflow, MAKER, 50),
            entry(4, EntryKind::Withdrawal, MAKER, 100),
        ];
        let mut head = B256::ZERO;
        let heads = entries
            .iter()
            .map(|e| {
                head = next_head(head, e);
                VaultHead { count: e.index, head }
            })
            .collect();
        (entries, heads)
    }

    #[test]
    fn entries_are_credited_up_to_a_reports_head_and_no_further() {
        let (entries, heads) = log();
        let mut logs = VaultLogs::default();
        assert_eq!(logs.feed(CHAIN, &entries), Ok(4));
        let genesis = Ownership::new(PROTOCOL);
        assert_eq!(genesis.holding(MAKER, CHAIN), Holding::default(), "given, not vouched");
        let (two, problems) = genesis.advanced(&logs, &[(CHAIN, heads[1])]);
        assert!(problems.is_empty());
        assert_eq!(two.credited(CHAIN), heads[1]);
        assert_eq!(two.protocol_share(CHAIN), U256::from(500));
        assert_eq!(two.holding(MAKER, CHAIN).balance, U256::from(300));
        let (four, _) = two.advanced(&logs, &[(CHAIN, heads[3])]);
        // The inflow is the protocol's; the withdrawal leaves the maker's balance.
        assert_eq!(four.protocol_share(CHAIN), U256::from(550));
        assert_eq!(
            four.holding(MAKER, CHAIN),
            Holding {
                balance: U256::from(200),
                withdrawn: U256::from(100),
                deposited: U256::from(300)
            }
        );
        assert_eq!(four.vault_total(CHAIN), U256::from(750));
        assert_eq!(two.credited(CHAIN), heads[1], "advancing leaves the base as it was");
    }

    /// Feeds `entries` (indices and heads filled in after what `logs` holds) and advances
    /// `ownership` to them.
    fn credit(
        ownership: &Ownership,
        logs: &mut VaultLogs,
        chain: u64,
        mut entries: Vec<VaultEntry>,
    ) -> Ownership {
        let mut head = ownership.credited(chain);
        for e in &mut entries {
            e.index = head.count + 1;
            head = VaultHead { count: e.index, head: next_head(head.head, e) };
        }
        logs.feed(chain, &entries).unwrap();
        let (next, problems) = ownership.advanced(logs, &[(chain, head)]);
        assert!(problems.is_empty(), "{problems:?}");
        next
    }

    #[test]
    fn a_lot_counts_as_its_owners_at_the_source_until_the_destination_logs_it_arrived() {
        const DEST: u64 = 9;
        let (vault, dest_vault) = (Address::repeat_byte(0x5a), Address::repeat_byte(0xda));
        let mut logs = VaultLogs::default();
        let start = credit(
            &Ownership::new(PROTOCOL),
            &mut logs,
            CHAIN,
            vec![entry(0, EntryKind::Deposit, MAKER, 300)],
        );
        let id = B256::repeat_byte(1);
        let lot = Lot {
            owner: MAKER,
            source: CHAIN,
            source_vault: vault,
            dest: DEST,
            dest_vault,
            amount: U256::from(100),
            scheduled: 4,
            sent: false,
        };
        let mut scheduled = start.clone();
        assert_eq!(scheduled.schedule_lot(id, lot), Some(()));
        assert_eq!(scheduled.schedule_lot(id, lot), None, "an id once");
        let too_much = Lot { amount: U256::from(201), ..lot };
        assert_eq!(scheduled.schedule_lot(B256::repeat_byte(2), too_much), None, "200 left");
        assert_eq!(scheduled.available(MAKER, CHAIN), U256::from(200), "not drawable while out");
        assert_eq!(scheduled.holding(MAKER, CHAIN).balance, U256::from(300));

        // Sent: in flight, still the maker's at the source.
        let sent = VaultEntry { reference: id, ..entry(0, EntryKind::LotSent, dest_vault, 100) };
        let mut logs_at_schedule = logs.clone();
        let in_flight = credit(&scheduled, &mut logs, CHAIN, vec![sent.clone()]);
        assert!(in_flight.lots().all(|(_, l)| l.sent));
        assert_eq!(in_flight.holding(MAKER, CHAIN).balance, U256::from(300));
        assert_eq!(in_flight.available(MAKER, CHAIN), U256::from(200));

        // Arrivals that are not the lot — another sender, amount or reference — are the
        // protocol's inflows; the lot's own moves the maker's balance.
        let arrival = |account, amount, reference| VaultEntry {
            reference,
            ..entry(0, EntryKind::LotReceived, account, amount)
        };
        let reference = Lot::arrival_reference(CHAIN, id);
        let strays = vec![
            arrival(MAKER, 100, reference),
            arrival(vault, 99, reference),
            arrival(vault, 100, Lot::arrival_reference(DEST, id)),
        ];
        let strayed = credit(&in_flight, &mut logs, DEST, strays);
        assert_eq!(strayed.protocol_share(DEST), U256::from(299));
        assert_eq!(strayed.lots().count(), 1, "still in flight");
        let arrived = credit(&strayed, &mut logs, DEST, vec![arrival(vault, 100, reference)]);
        assert_eq!(arrived.lots().count(), 0);
        assert_eq!(arrived.holding(MAKER, CHAIN).balance, U256::from(200));
        assert_eq!(arrived.holding(MAKER, DEST).balance, U256::from(100));
        assert_eq!(arrived.available(MAKER, CHAIN), U256::from(200));
        assert_eq!(arrived.protocol_share(DEST), U256::from(299), "the lot is not an inflow");
        // Arriving again (a replayed message the lane would refuse) is only an inflow.
        let again = credit(&arrived, &mut logs, DEST, vec![arrival(vault, 100, reference)]);
        assert_eq!(again.holding(MAKER, DEST).balance, U256::from(100));
        assert_eq!(again.protocol_share(DEST), U256::from(399));

        // An arrival logged before the source's log shows it sent completes it all the same,
        // and the later sent entry changes nothing.
        let logs = &mut logs_at_schedule;
        let early = credit(&scheduled, logs, DEST, vec![arrival(vault, 100, reference)]);
        let late = credit(&early, logs, CHAIN, vec![sent]);
        assert_eq!(late.holding(MAKER, CHAIN).balance, U256::from(200));
        assert_eq!(late.holding(MAKER, DEST).balance, U256::from(100));
        assert_eq!(late.lots().count(), 0);
    }

    #[test]
    fn a_lot_arriving_after_its_owner_left_the_source_creates_nothing() {
        const DEST: u64 = 9;
        let (vault, dest_vault) = (Address::repeat_byte(0x5a), Address::repeat_byte(0xda));
        let mut logs = VaultLogs::default();
        let deposits = vec![
            entry(0, EntryKind::Deposit, PROTOCOL, 500),
            entry(0, EntryKind::Deposit, MAKER, 300),
        ];
        let mut o = credit(&Ownership::new(PROTOCOL), &mut logs, CHAIN, deposits);
        let id = B256::repeat_byte(1);
        let lot = Lot {
            owner: MAKER,
            source: CHAIN,
            source_vault: vault,
            dest: DEST,
            dest_vault,
            amount: U256::from(100),
            scheduled: 4,
            sent: false,
        };
        o.schedule_lot(id, lot).unwrap();
        // Sent (the vault holds 700), then the leaves stop and an exodus pays the maker 260 of
        // the 300 its leaf says (the lot counted in it): the vault holds 440, while the books
        // there say 500 + 40 with the lot in flight.
        let sent = VaultEntry { reference: id, ..entry(0, EntryKind::LotSent, dest_vault, 100) };
        let exodus = entry(0, EntryKind::Exodus, MAKER, 260);
        let o = credit(&o, &mut logs, CHAIN, vec![sent, exodus]);
        assert_eq!(o.vault_total(CHAIN), U256::from(540), "440 held and the 100 in flight");
        let arrival = VaultEntry {
            reference: Lot::arrival_reference(CHAIN, id),
            ..entry(0, EntryKind::LotReceived, vault, 100)
        };
        let o = credit(&o, &mut logs, DEST, vec![arrival]);
        // The 40 the maker still had moves; the protocol bears the 60 the exodus overpaid at
        // the source and gets the 60 that arrived: each chain's books are what its vault holds.
        assert_eq!(o.holding(MAKER, CHAIN).balance, U256::ZERO);
        assert_eq!(o.holding(MAKER, DEST).balance, U256::from(40));
        assert_eq!(o.protocol_share(CHAIN), U256::from(440));
        assert_eq!(o.protocol_share(DEST), U256::from(60));
        assert_eq!(o.vault_total(CHAIN), U256::from(440), "what the source vault holds");
        assert_eq!(o.vault_total(DEST), U256::from(100), "what the destination vault holds");
    }

    #[test]
    fn a_head_before_its_entries_waits_and_overlap_is_harmless() {
        let (entries, heads) = log();
        let mut logs = VaultLogs::default();
        logs.feed(CHAIN, &entries[..1]).unwrap();
        let (same, problems) = Ownership::new(PROTOCOL).advanced(&logs, &[(CHAIN, heads[2])]);
        assert_eq!(
            problems,
            [OwnershipError::Missing { chain_selector: CHAIN, count: 3, have: 1 }]
        );
        assert_eq!(same.credited(CHAIN).count, 0);
        assert_eq!(logs.feed(CHAIN, &entries), Ok(3), "entries given again are skipped");
        let (three, problems) = same.advanced(&logs, &[(CHAIN, heads[2])]);
        assert!(problems.is_empty());
        assert_eq!(three.credited(CHAIN), heads[2]);
    }

    #[test]
    fn invented_hidden_reordered_or_rewritten_entries_credit_nothing() {
        let (entries, heads) = log();
        let invented = {
            let mut e = entries.clone();
            e[1].amount = U256::from(3_000);
            e
        };
        let reordered = {
            let mut e = entries.clone();
            e.swap(0, 1);
            e[0].index = 1;
            e[1].index = 2;
            e
        };
        for (name, given) in [("invented", invented), ("reordered", reordered)] {
            let mut logs = VaultLogs::default();
            logs.feed(CHAIN, &given).unwrap();
            let (next, problems) = Ownership::new(PROTOCOL).advanced(&logs, &[(CHAIN, heads[3])]);
            assert_eq!(
                problems,
                [OwnershipError::HeadMismatch { chain_selector: CHAIN, count: 4 }],
                "{name}"
            );
            assert_eq!(next.vault_total(CHAIN), U256::ZERO, "{name}: nothing credited");
            // The true log cannot replace what was given: a log never changes.
            assert_eq!(
                logs.feed(CHAIN, &entries),
                Err(OwnershipError::Rewritten {
                    chain_selector: CHAIN,
                    index: if name == "invented" { 2 } else { 1 }
                }),
                "{name}"
            );
        }
        let mut logs = VaultLogs::default();
        assert_eq!(
            logs.feed(CHAIN, &[entries[0].clone(), entries[2].clone()]),
            Err(OwnershipError::OutOfOrder { chain_selector: CHAIN, expected: 2, got: 3 }),
            "a hidden entry is a gap"
        );
        logs.feed(CHAIN, &entries).unwrap();
        let (two, _) = Ownership::new(PROTOCOL).advanced(&logs, &[(CHAIN, heads[1])]);
        let (_, problems) = two.advanced(&logs, &[(CHAIN, heads[0])]);
        assert!(matches!(problems[..], [OwnershipError::HeadBehind { .. }]), "heads never go back");
    }

    #[test]
    fn leaves_are_salted_and_ordered_and_debug_hides_amounts() {
        let (entries, heads) = log();
        let mut logs = VaultLogs::default();
        logs.feed(CHAIN, &entries).unwrap();
        let (ledger, _) = Ownership::new(PROTOCOL).advanced(&logs, &[(CHAIN, heads[3])]);
        let vault = address!("0x00000000000000000000000000000000000000c3");
        let salt = |epoch: u64| {
            move |owner: Address, chain: u64| keccak256((epoch, owner, chain).abi_encode())
        };
        let leaves = ledger.leaves(|_| vault, salt(1));
        assert_eq!(leaves.len(), 3, "sentinel, protocol, maker");
        assert_eq!(leaves[0].owner, Address::ZERO);
        assert_eq!((leaves[1].owner, leaves[2].owner), (PROTOCOL, MAKER));
        assert_ne!(
            ledger.root(|_| vault, salt(1)),
            ledger.root(|_| vault, salt(2)),
            "new every epoch"
        );
        let shown = format!("{ledger:?}");
        assert!(!shown.contains("500") && !shown.contains("300"), "{shown}");
    }
}
