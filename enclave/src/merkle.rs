//! Merkle trees as OpenZeppelin's `MerkleProof` verifies them: sorted-pair keccak256, leaves in
//! the order given, an odd node carried up unchanged, one leaf's root its own hash.
//!
//! Written here rather than taken from a crate: the contracts verify with OpenZeppelin 5's
//! commutative hashing, and the enclave must build byte-identical roots and proofs without
//! pulling a dependency into the trusted core for thirty lines.

use alloy::primitives::{B256, keccak256};

/// `keccak256(min(a, b) ‖ max(a, b))`, OpenZeppelin's `Hashes.commutativeKeccak256`.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(low.as_slice());
    both[32..].copy_from_slice(high.as_slice());
    keccak256(both)
}

/// A tree over leaf hashes, every level kept for proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<B256>>,
}

impl MerkleTree {
    /// The tree over `leaves` (leaf hashes, in order). Panics on no leaf: every tree this
    /// project builds has at least one (a chain, or the ledger's sentinel).
    pub fn new(leaves: Vec<B256>) -> Self {
        assert!(!leaves.is_empty(), "a Merkle tree needs at least one leaf");
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("one level at least");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_pair(*a, *b),
                    [odd] => *odd,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.levels.last().expect("one level at least")[0]
    }

    /// The proof of leaf `index`: its siblings from the bottom up (a level where it has none
    /// adds nothing).
    pub fn proof(&self, index: usize) -> Vec<B256> {
        let mut proof = Vec::new();
        let mut at = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = at ^ 1;
            if sibling < level.len() {
                proof.push(level[sibling]);
            }
            at /= 2;
        }
        proof
    }
}

/// Whether `proof` takes `leaf` to `root`, as `MerkleProof.verify` decides.
pub fn verify(proof: &[B256], root: B256, leaf: B256) -> bool {
    proof.iter().fold(leaf, |node, sibling| hash_pair(node, *sibling)) == root
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaf(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    #[test]
    fn small_trees_by_hand() {
        let (a, b, c) = (leaf(1), leaf(2), leaf(3));
        assert_eq!(MerkleTree::new(vec![a]).root(), a);
        assert!(MerkleTree::new(vec![a]).proof(0).is_empty());
        assert_eq!(MerkleTree::new(vec![a, b]).root(), hash_pair(a, b));
        assert_eq!(hash_pair(a, b), hash_pair(b, a), "commutative");
        let three = MerkleTree::new(vec![a, b, c]);
        assert_eq!(three.root(), hash_pair(hash_pair(a, b), c), "an odd node is carried up");
        assert_eq!(three.proof(2), vec![hash_pair(a, b)]);
        assert_eq!(three.proof(0), vec![b, c]);
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(n in 1usize..40, wrong in any::<u64>()) {
            let leaves: Vec<B256> = (0..n as u64).map(leaf).collect();
            let tree = MerkleTree::new(leaves.clone());
            for (i, l) in leaves.iter().enumerate() {
                prop_assert!(verify(&tree.proof(i), tree.root(), *l));
            }
            let outsider = keccak256(wrong.to_le_bytes());
            prop_assume!(!leaves.contains(&outsider));
            prop_assert!(!verify(&tree.proof(0), tree.root(), outsider));
        }
    }
}
