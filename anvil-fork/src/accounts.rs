//! Devnet accounts: derived from labels, so that every run has the same addresses, and distinct
//! per chain where that matters.
//!
//! Each chain's contracts are deployed by a deployer of its own. That is how the devnet avoids
//! `MockCCIPRouter`'s same-address trap: its `ccipSend` calls `receiver` on the *source* chain
//! when code lives there, and two chains deploying from one account at one nonce would put the
//! hub and a spoke at the same address. With chain-specific deployers, no receiver address
//! repeats across chains (and `deploy` checks it).
//!
//! These keys are public by construction: dev only, never for a real network.

use alloy::{
    primitives::{Address, B256, keccak256},
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};

/// A funded devnet account. Its key is derived from a public label: dev only.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevAccount {
    /// What the account is for, e.g. `deployer@90000001`.
    pub label: String,
    /// Its address.
    pub address: Address,
    /// Its private key (public knowledge: derived from the label).
    pub private_key: B256,
}

impl DevAccount {
    /// The account derived from `label`.
    pub fn derive(label: impl Into<String>) -> Self {
        let label = label.into();
        let private_key = keccak256(format!("self-healing-reserve/devnet/{label}"));
        let address = PrivateKeySigner::from_bytes(&private_key)
            .expect("a keccak digest is a valid secp256k1 scalar with overwhelming probability")
            .address();
        Self { label, address, private_key }
    }

    /// The signer for this account.
    pub fn signer(&self) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&self.private_key).expect("derived key is valid")
    }

    /// The chain's deployer and contract owner.
    pub fn deployer(chain_id: u64) -> Self {
        Self::derive(format!("deployer@{chain_id}"))
    }

    /// The account the relayer delivers from on a chain.
    pub fn relayer(chain_id: u64) -> Self {
        Self::derive(format!("relayer@{chain_id}"))
    }

    /// The chain's reporter (allowed to call `submitReport`).
    pub fn reporter(chain_id: u64) -> Self {
        Self::derive(format!("reporter@{chain_id}"))
    }

    /// The account that sends `publish` on the hub (pays gas; the hub pays CCIP fees).
    pub fn publisher() -> Self {
        Self::derive("publisher")
    }

    /// The protocol's account in the reserve vaults, the same on every chain: its deposits are
    /// the protocol's share, which counts as reserves.
    pub fn protocol() -> Self {
        Self::derive("protocol")
    }

    /// A general-purpose funded account, the same on every chain.
    pub fn user(index: usize) -> Self {
        Self::derive(format!("user-{index}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_chain_specific() {
        assert_eq!(DevAccount::deployer(90000001), DevAccount::deployer(90000001));
        assert_ne!(DevAccount::deployer(90000001).address, DevAccount::deployer(90000002).address);
        assert_ne!(DevAccount::deployer(90000001).address, DevAccount::relayer(90000001).address);
        assert_eq!(DevAccount::user(0).signer().address(), DevAccount::user(0).address);
    }
}
