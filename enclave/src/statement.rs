//! Statements: every epoch, every owner with a statement key gets what the ledger says it owns,
//! sealed to that key, with the Merkle proof of each of its leaves under the epoch's
//! `ledgerRoot` — so it can check that the root every chain holds commits to exactly these
//! balances, and what its junior claims are (drawn standby, premiums and fees owed), which no
//! chain shows.
//!
//! One fixed size per deployment: one entry per vault chain of the policy (by ascending
//! selector) whether the owner holds anything there or not, each proof padded to
//! [`MAX_DEPTH`] words. A statement's length says nothing about its owner.
//!
//! Plaintext: `abi.encode(Statement)`; sealed from the enclave's HPKE key to the owner's
//! statement key (`Purpose::Statement`, header `(0, epoch)`). docs/self-healing.md has the
//! layout and a worked example.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, Bytes},
    sol,
    sol_types::SolValue,
};

use crate::{
    LedgerLeaf, Purpose, SealedHeader, X25519KeyPair, X25519Public, merkle::MerkleTree,
    ownership::Ownership, policy::Policy, seal,
};

/// The deepest ledger tree a statement proves into (16.7 million leaves).
pub const MAX_DEPTH: usize = 24;

sol! {
    /// An owner's position in one vault.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct StatementEntry {
        /// The vault's chain.
        uint64 chainSelector;
        /// The vault.
        address vault;
        /// Whether the owner has a leaf there (if not, the leaf fields and proof are zero).
        bool held;
        /// The leaf's balance.
        uint256 balance;
        /// The leaf's withdrawnTotal.
        uint256 withdrawnTotal;
        /// The leaf's salt.
        bytes32 salt;
        /// How many words of `proof` are the proof.
        uint8 depth;
        /// The leaf's Merkle proof under `ledgerRoot`, padded with zero words.
        bytes32[24] proof;
        /// The balance less withdrawals authorized and not yet paid.
        uint256 available;
        /// Standby drawn as junior capital, not yet released (a claim on the protocol).
        uint256 drawn;
        /// Premiums and standby fees owed, not yet paid (a claim on the protocol).
        uint256 owed;
    }

    /// What an owner receives every epoch.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Statement {
        /// The epoch.
        uint64 epoch;
        /// The owner.
        address owner;
        /// The epoch's ledger root (every chain holds it once the epoch lands).
        bytes32 ledgerRoot;
        /// One per vault chain of the policy, by ascending selector.
        StatementEntry[] entries;
    }
}

impl StatementEntry {
    /// The ledger leaf this entry proves (if `held`).
    pub fn leaf(&self, owner: Address) -> LedgerLeaf {
        LedgerLeaf {
            owner,
            chainSelector: self.chainSelector,
            vault: self.vault,
            balance: self.balance,
            withdrawnTotal: self.withdrawnTotal,
            salt: self.salt,
        }
    }

    /// Whether the entry's leaf proves under `root` (an entry not held proves nothing and is
    /// true only if it claims nothing).
    pub fn verifies(&self, owner: Address, root: B256) -> bool {
        if !self.held {
            return self.balance.is_zero() && self.withdrawnTotal.is_zero();
        }
        let depth = usize::from(self.depth);
        depth <= MAX_DEPTH
            && crate::merkle::verify(&self.proof[..depth], root, self.leaf(owner).hash())
    }
}

impl Statement {
    /// Whether every entry verifies under `root` (the ledger root the chains hold).
    pub fn verifies(&self, root: B256) -> bool {
        self.ledgerRoot == root && self.entries.iter().all(|e| e.verifies(self.owner, root))
    }
}

/// Every statement of an epoch: `(owner, statement key, plaintext statement)` for every owner
/// with a statement key. `leaves` are the ledger's leaves and `tree` the tree its root is of.
pub(crate) fn statements(
    epoch: u64,
    tree: &MerkleTree,
    ownership: &Ownership,
    leaves: &[LedgerLeaf],
    policy: &Policy,
) -> Vec<(Address, B256, Statement)> {
    if ownership.statement_keys().next().is_none() {
        return Vec::new();
    }
    let mut chains: Vec<_> = policy.chains.iter().filter(|c| !c.vault.is_zero()).collect();
    chains.sort_by_key(|c| c.selector);
    // Leaf 0 is the sentinel; every other names its owner and chain.
    let position: BTreeMap<(Address, u64), usize> =
        leaves.iter().enumerate().skip(1).map(|(i, l)| ((l.owner, l.chainSelector), i)).collect();
    let mut out = Vec::new();
    for (owner, key) in ownership.statement_keys() {
        let mut entries = Vec::with_capacity(chains.len());
        let mut too_deep = false;
        for chain in &chains {
            let claim = ownership.claim(owner, chain.selector);
            let mut entry = StatementEntry {
                chainSelector: chain.selector,
                vault: chain.vault,
                available: ownership.available(owner, chain.selector),
                drawn: claim.drawn,
                owed: claim.owed,
                ..StatementEntry::default()
            };
            if let Some(&i) = position.get(&(owner, chain.selector)) {
                let leaf = &leaves[i];
                let proof = tree.proof(i);
                if proof.len() > MAX_DEPTH {
                    too_deep = true;
                    break;
                }
                entry.held = true;
                entry.balance = leaf.balance;
                entry.withdrawnTotal = leaf.withdrawnTotal;
                entry.salt = leaf.salt;
                entry.depth = proof.len() as u8;
                entry.proof[..proof.len()].copy_from_slice(&proof);
            }
            entries.push(entry);
        }
        if !too_deep {
            out.push((owner, key, Statement { epoch, owner, ledgerRoot: tree.root(), entries }));
        }
    }
    out
}

/// Seals a statement to its owner's key.
pub fn seal_statement(
    statement: &Statement,
    deployment_id: &B256,
    key: &B256,
    enclave: &X25519KeyPair,
) -> Result<Bytes, crate::SealError> {
    let plaintext = zeroize::Zeroizing::new(statement.abi_encode());
    seal::seal(
        Purpose::Statement,
        deployment_id,
        SealedHeader { chain_selector: 0, counter: statement.epoch },
        &plaintext,
        enclave,
        &X25519Public(key.0),
    )
    .map(Into::into)
}

/// Opens a statement (the owner's side): the enclave must have sealed it.
pub fn open_statement(
    sealed: &[u8],
    deployment_id: &B256,
    key: &X25519KeyPair,
    enclave: &X25519Public,
) -> Option<Statement> {
    let (_, plaintext) =
        seal::open(Purpose::Statement, deployment_id, sealed, key, enclave).ok()?;
    Statement::abi_decode(&plaintext).ok()
}
