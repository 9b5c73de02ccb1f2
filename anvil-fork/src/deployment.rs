//! `deployment.json`: everything a client needs to use a running devnet.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{DevAccount, Error, Result};

/// The file name inside the state directory.
pub const DEPLOYMENT_FILE: &str = "deployment.json";

/// A deployed devnet: written once everything is ready, read by `solvency devnet status` and by
/// anything that wants to talk to the chains.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deployment {
    /// The deployment id every attestation must carry.
    pub deployment_id: B256,
    /// The hub chain's selector.
    pub hub_chain_selector: u64,
    /// The relayer's control endpoint (loopback HTTP).
    pub relayer_url: String,
    /// Registered enclave signers and the threshold k.
    pub signers: Vec<Address>,
    /// k of the k-of-n signer set.
    pub threshold: u8,
    /// Every chain, the hub first.
    pub chains: Vec<ChainDeployment>,
    /// Funded accounts that are the same on every chain (keys derived from public labels).
    pub dev_accounts: Vec<DevAccount>,
}

/// One chain of the devnet.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainDeployment {
    /// A short name, `devnet-<n>` for chain id 9000000n.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// CCIP chain selector.
    pub selector: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain's CCIP router: CCIP's `Router` (the devnet's token lanes, or on a fork the one
    /// deployed there), or a chainlink-local `MockCCIPRouter` (`[devnet] lanes = false`).
    pub router: Address,
    /// The `SolvencyHub`, on the hub chain only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<Address>,
    /// The hub's `QuoteBoard` (the dark pool's sealed quotes), on the hub chain of a devnet
    /// started with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_board: Option<Address>,
    /// The `SolvencySpoke`, on every other chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoke: Option<Address>,
    /// The `SolvencyFeed` over the chain's oracle: its answer as a Chainlink
    /// `AggregatorV3Interface` feed. Zero in files written before the devnet deployed feeds.
    #[serde(default)]
    pub feed: Address,
    /// The chain's `ReserveVault`, set on its oracle. Zero in files written before the devnet
    /// deployed vaults.
    #[serde(default)]
    pub vault: Address,
    /// The vault's collateral: a `DevnetToken` ("USDC", 6 decimals) anyone can mint — or, on
    /// forks of a local upstream, the upstream's lane token (`BurnMintERC20`, which only its
    /// pool and its holders' transfers move; its holders are the upstream's `token_holders`).
    /// Zero in files written before the devnet deployed vaults.
    #[serde(default)]
    pub collateral: Address,
    /// Deployer and owner of the chain's contracts.
    pub deployer: DevAccount,
    /// The account allowed to submit the chain's report.
    pub reporter: DevAccount,
    /// The account the relayer delivers from (over `MockCCIPRouter`) or executes token
    /// messages from (the off-ramp's executor on lanes).
    pub relayer: DevAccount,
    /// The anvil process id.
    pub anvil_pid: u32,
    /// Where the chain was forked from; `None` for a chain started empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<crate::ForkOrigin>,
    /// The block from which the relayer reads the chain's on-ramps: the chain runs CCIP's
    /// Router with ramps (a fork, or a devnet with token lanes) rather than `MockCCIPRouter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramps_from_block: Option<u64>,
}

impl ChainDeployment {
    /// The chain's oracle (`ISolvencyOracle`): the hub on the hub chain, else the spoke.
    pub fn oracle(&self) -> Address {
        self.hub.or(self.spoke).expect("every devnet chain has a hub or a spoke")
    }

    /// True on the hub chain.
    pub fn is_hub(&self) -> bool {
        self.hub.is_some()
    }
}

impl Deployment {
    /// The hub chain.
    pub fn hub(&self) -> &ChainDeployment {
        self.chains.iter().find(|c| c.is_hub()).expect("a deployment has a hub chain")
    }

    /// The spoke chains.
    pub fn spokes(&self) -> impl Iterator<Item = &ChainDeployment> {
        self.chains.iter().filter(|c| !c.is_hub())
    }

    /// The chain with this selector.
    pub fn chain(&self, selector: u64) -> Option<&ChainDeployment> {
        self.chains.iter().find(|c| c.selector == selector)
    }

    /// The chain with this name.
    pub fn chain_by_name(&self, name: &str) -> Option<&ChainDeployment> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// Writes `DIR/deployment.json` atomically and durably: a reader sees the old file or the
    /// new one, never a part.
    pub fn write(&self, state_dir: &Path) -> Result<PathBuf> {
        let path = state_dir.join(DEPLOYMENT_FILE);
        let json = serde_json::to_vec_pretty(self).expect("a deployment serializes");
        solvency_durable::write_atomic(&path, &json, 0o644)?;
        Ok(path)
    }

    /// Reads `DIR/deployment.json`.
    pub fn read(state_dir: &Path) -> Result<Self> {
        let path = state_dir.join(DEPLOYMENT_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Corrupt {
                    path: path.clone(),
                    reason: "no devnet here: start one with `solvency devnet up --state-dir DIR`"
                        .into(),
                }
            } else {
                Error::io(&path, e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path,
            reason: format!("not a devnet deployment file ({e}); restart the devnet to rewrite it"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `deployment.json` written before the devnet deployed feeds and vaults still loads,
    /// with those addresses zero.
    #[test]
    fn chain_without_feed_or_vault_still_loads() {
        let account = DevAccount::deployer(90_000_001);
        let json = serde_json::json!({
            "name": "devnet-1",
            "chain_id": 90_000_001,
            "selector": 909_606_746_561_742_123_u64,
            "rpc_url": "http://127.0.0.1:8545",
            "router": Address::repeat_byte(1),
            "hub": Address::repeat_byte(2),
            "deployer": account,
            "reporter": account,
            "relayer": account,
            "anvil_pid": 1,
        });
        let chain: ChainDeployment = serde_json::from_value(json).unwrap();
        assert_eq!(chain.feed, Address::ZERO);
        assert_eq!(chain.vault, Address::ZERO);
        assert_eq!(chain.collateral, Address::ZERO);
        assert_eq!(chain.oracle(), Address::repeat_byte(2));

        let with_all = ChainDeployment {
            feed: Address::repeat_byte(3),
            vault: Address::repeat_byte(4),
            collateral: Address::repeat_byte(5),
            ..chain
        };
        let round_trip: ChainDeployment =
            serde_json::from_str(&serde_json::to_string(&with_all).unwrap()).unwrap();
        assert_eq!(round_trip, with_all);
    }
}
