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
    /// Collateral came in for the protocol (a calendar transfer).
    Inflow = 3,
    /// `account` claimed its last balance by exodus.
    Exodus = 4,
}

impl EntryKind {
    /// From the log's `uint8`.
    pub fn from_u8(kind: u8) -> Option<Self> {
        match kind {
            1 => Some(Self::Deposit),
            2 => Some(Self::Withdrawal),
            3 => Some(Self::Inflow),
            4 => Some(Self::Exodus),
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
    /// The authorization id (withdrawal), the ledger leaf hash (exodus), or zero.
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

/// Why vault entries were not taken.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum OwnershipError {
    /// An entry arrived out of order (the host skipped or repeated one).
    #[error("chain {chain_selector}: vault entry {got} arrived where entry {expected} was due")]
    OutOfOrder {
        /// The chain.
        chain_selector: u64,
        /// The index due next.
        expected: u64,
        /// The index given.
        got: u64,
    },
    /// The entries do not hash to the head a report vouched for: invented, hidden or
    /// reordered. They were dropped; feed the vault's log again.
    #[error(
        "chain {chain_selector}: the vault entries given do not hash to the head its report carried at entry {count}; they were dropped"
    )]
    HeadMismatch {
        /// The chain.
        chain_selector: u64,
        /// Where the heads differ.
        count: u64,
    },
    /// A report vouched for fewer entries than an earlier one: a vault log never shrinks.
    #[error(
        "chain {chain_selector}: a report's vault head ({count} entries) is behind one already vouched ({vouched})"
    )]
    HeadBehind {
        /// The chain.
        chain_selector: u64,
        /// The report's count.
        count: u64,
        /// What was vouched before.
        vouched: u64,
    },
}

/// One owner's position in one vault.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// What it owns in the vault.
    pub balance: U256,
    /// What it was paid from the vault (withdrawals and exodus), all told.
    pub withdrawn: U256,
}

impl std::fmt::Debug for Holding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Holding(<redacted>)")
    }
}

/// One vault's log as far as the enclave has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct VaultLog {
    /// Credited: vouched by a report's head.
    credited: VaultHead,
    /// The furthest head a report vouched for.
    vouched: VaultHead,
    /// Fed, not yet credited, each with the running hash after it.
    pending: Vec<(VaultEntry, B256)>,
}

/// Who owns what in every vault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    vaults: BTreeMap<u64, VaultLog>,
    holdings: BTreeMap<(Address, u64), Holding>,
    /// Who an inflow belongs to (the protocol).
    protocol: Address,
}

impl Ownership {
    /// An empty ledger; inflows are credited to `protocol`.
    pub fn new(protocol: Address) -> Self {
        Self { protocol, ..Self::default() }
    }

    /// The next entries of a chain's vault log, in order from the first not yet given. They
    /// are credited once a report vouches for them ([`Ownership::vouch`]).
    pub fn feed(
        &mut self,
        chain_selector: u64,
        entries: &[VaultEntry],
    ) -> Result<usize, OwnershipError> {
        let log = self.vaults.entry(chain_selector).or_default();
        let (mut count, mut head) = match log.pending.last() {
            Some((entry, head)) => (entry.index, *head),
            None => (log.credited.count, log.credited.head),
        };
        let mut taken = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.index <= count {
                // Already given: the host reads with overlap after a restart.
                continue;
            }
            if entry.index != count + 1 {
                return Err(OwnershipError::OutOfOrder {
                    chain_selector,
                    expected: count + 1,
                    got: entry.index,
                });
            }
            head = next_head(head, entry);
            count = entry.index;
            taken.push((entry.clone(), head));
        }
        let fed = taken.len();
        log.pending.extend(taken);
        self.credit(chain_selector)?;
        Ok(fed)
    }

    /// A report of the chain carried `head` (the hub will check it at publish): entries up to
    /// it may now be credited.
    pub fn vouch(&mut self, chain_selector: u64, head: VaultHead) -> Result<(), OwnershipError> {
        let log = self.vaults.entry(chain_selector).or_default();
        if head.count < log.vouched.count {
            return Err(OwnershipError::HeadBehind {
                chain_selector,
                count: head.count,
                vouched: log.vouched.count,
            });
        }
        log.vouched = head;
        self.credit(chain_selector)
    }

    /// Credits pending entries up to the vouched head, if they hash to it.
    fn credit(&mut self, chain_selector: u64) -> Result<(), OwnershipError> {
        let log = self.vaults.get_mut(&chain_selector).expect("the vault's log exists");
        let vouched = log.vouched;
        if vouched.count <= log.credited.count {
            return Ok(());
        }
        let upto = (vouched.count - log.credited.count) as usize;
        if log.pending.len() < upto {
            // Not all entries given yet.
            return Ok(());
        }
        if log.pending[upto - 1].1 != vouched.head {
            log.pending.clear();
            return Err(OwnershipError::HeadMismatch { chain_selector, count: vouched.count });
        }
        let credited: Vec<(VaultEntry, B256)> = log.pending.drain(..upto).collect();
        log.credited = vouched;
        for (entry, _) in credited {
            self.apply(chain_selector, &entry);
        }
        Ok(())
    }

    fn apply(&mut self, chain_selector: u64, entry: &VaultEntry) {
        let owner = match entry.kind {
            EntryKind::Inflow => self.protocol,
            _ => entry.account,
        };
        let holding = self.holdings.entry((owner, chain_selector)).or_default();
        match entry.kind {
            EntryKind::Deposit | EntryKind::Inflow => {
                holding.balance = holding.balance.saturating_add(entry.amount);
            }
            // The vault pays only what the enclave authorized, and an exodus only a proven
            // balance: either way the owner's balance falls by what left the vault.
            EntryKind::Withdrawal | EntryKind::Exodus => {
                holding.balance = holding.balance.saturating_sub(entry.amount);
                holding.withdrawn = holding.withdrawn.saturating_add(entry.amount);
            }
        }
    }

    /// How far a chain's vault log is credited.
    pub fn credited(&self, chain_selector: u64) -> VaultHead {
        self.vaults.get(&chain_selector).map(|l| l.credited).unwrap_or_default()
    }

    /// An owner's position in a chain's vault.
    pub fn holding(&self, owner: Address, chain_selector: u64) -> Holding {
        self.holdings.get(&(owner, chain_selector)).copied().unwrap_or_default()
    }

    /// The total credited in a chain's vault.
    pub fn vault_total(&self, chain_selector: u64) -> U256 {
        self.holdings
            .iter()
            .filter(|((_, chain), _)| *chain == chain_selector)
            .fold(U256::ZERO, |sum, (_, h)| sum.saturating_add(h.balance))
    }

    /// The ledger's leaves for an epoch — one per (owner, vault), salted by `salt(owner,
    /// chain)` — after the sentinel leaf, in a fixed order (owner, then chain).
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
    fn nothing_is_credited_until_a_report_vouches_for_it() {
        let (entries, heads) = log();
        let mut ledger = Ownership::new(PROTOCOL);
        assert_eq!(ledger.feed(CHAIN, &entries), Ok(4));
        assert_eq!(ledger.holding(MAKER, CHAIN), Holding::default(), "fed, not vouched");
        ledger.vouch(CHAIN, heads[1]).unwrap();
        assert_eq!(ledger.credited(CHAIN), heads[1]);
        assert_eq!(ledger.holding(PROTOCOL, CHAIN).balance, U256::from(500));
        assert_eq!(ledger.holding(MAKER, CHAIN).balance, U256::from(300));
        ledger.vouch(CHAIN, heads[3]).unwrap();
        // The inflow is the protocol's; the withdrawal leaves the maker's balance.
        assert_eq!(ledger.holding(PROTOCOL, CHAIN).balance, U256::from(550));
        assert_eq!(
            ledger.holding(MAKER, CHAIN),
            Holding { balance: U256::from(200), withdrawn: U256::from(100) }
        );
        assert_eq!(ledger.vault_total(CHAIN), U256::from(750));
    }

    #[test]
    fn a_head_may_come_before_its_entries() {
        let (entries, heads) = log();
        let mut ledger = Ownership::new(PROTOCOL);
        ledger.vouch(CHAIN, heads[2]).unwrap();
        ledger.feed(CHAIN, &entries[..1]).unwrap();
        assert_eq!(ledger.credited(CHAIN).count, 0, "not all entries up to the head yet");
        ledger.feed(CHAIN, &entries[1..]).unwrap();
        assert_eq!(ledger.credited(CHAIN), heads[2]);
        // Entries given again (a host reading with overlap) change nothing.
        assert_eq!(ledger.feed(CHAIN, &entries), Ok(0));
        ledger.vouch(CHAIN, heads[3]).unwrap();
        assert_eq!(ledger.credited(CHAIN), heads[3]);
    }

    #[test]
    fn invented_hidden_or_reordered_entries_credit_nothing() {
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
            let mut ledger = Ownership::new(PROTOCOL);
            ledger.feed(CHAIN, &given).unwrap();
            assert_eq!(
                ledger.vouch(CHAIN, heads[3]),
                Err(OwnershipError::HeadMismatch { chain_selector: CHAIN, count: 4 }),
                "{name}"
            );
            assert_eq!(ledger.vault_total(CHAIN), U256::ZERO, "{name}: nothing credited");
            // The true log, given again, is credited.
            ledger.feed(CHAIN, &entries).unwrap();
            assert_eq!(ledger.credited(CHAIN), heads[3], "{name}");
        }
        // A hidden entry is a gap.
        let mut ledger = Ownership::new(PROTOCOL);
        let hidden = [entries[0].clone(), entries[2].clone()];
        assert_eq!(
            ledger.feed(CHAIN, &hidden),
            Err(OwnershipError::OutOfOrder { chain_selector: CHAIN, expected: 2, got: 3 })
        );
        assert_eq!(ledger.vault_total(CHAIN), U256::ZERO);
        // A head going backwards is refused.
        ledger.vouch(CHAIN, heads[1]).unwrap();
        assert!(matches!(ledger.vouch(CHAIN, heads[0]), Err(OwnershipError::HeadBehind { .. })));
    }

    #[test]
    fn leaves_are_salted_and_ordered_and_debug_hides_amounts() {
        let (entries, heads) = log();
        let mut ledger = Ownership::new(PROTOCOL);
        ledger.feed(CHAIN, &entries).unwrap();
        ledger.vouch(CHAIN, heads[3]).unwrap();
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
