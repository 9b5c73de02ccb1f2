//! Forks of chains where CCIP runs: one anvil per chain, forked from the chain's endpoint, using
//! the CCIP `Router` deployed there as it is, with its lanes between the forked chains checked
//! before anything is deployed.

use std::collections::HashMap;

use alloy::{primitives::Address, providers::Provider};
use serde::{Deserialize, Serialize};
use solvency_ccip::bindings::{ccip_router::Router, on_ramp::StandInOnRamp};
use solvency_chain_adapters::rpc;

use crate::{Error, Result};

/// What an on-ramp's `typeAndVersion` starts with when the relayer can read its events.
const ON_RAMP_VERSION: &str = "OnRamp 1.6";

/// A chain to fork instead of starting empty (`solvency devnet up --fork NAME=URL --router
/// NAME=ADDRESS`).
#[derive(Clone, PartialEq, Eq)]
pub struct ForkSpec {
    /// The chain's name in the devnet and its registry.
    pub name: String,
    /// The endpoint to fork. It may carry an API key: it is shown as `scheme://host:port/…`
    /// and written nowhere.
    pub url: String,
    /// The CCIP Router deployed on that chain.
    pub router: Address,
    /// A token on that chain to be the vault's collateral — one a CCIP token pool carries, so
    /// that calendar lots can cross (`None`: the devnet deploys its own `DevnetToken`, which no
    /// lane carries).
    pub collateral: Option<Address>,
}

impl std::fmt::Debug for ForkSpec {
    /// The URL as `scheme://host:port/…`: its path, query or user part may hold a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForkSpec")
            .field("name", &self.name)
            .field("url", &rpc::redact_urls(&self.url))
            .field("router", &self.router)
            .finish()
    }
}

/// Where a forked chain came from, as `deployment.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForkOrigin {
    /// The forked endpoint, without its path, query or user part (where keys live).
    pub upstream: String,
    /// The block the fork was taken at: every later block is the devnet's own.
    pub block: u64,
}

/// A chain to fork, its chain id read from its endpoint and its selector from CCIP's official
/// table.
#[derive(Clone)]
pub(crate) struct ForkTarget {
    pub(crate) spec: ForkSpec,
    pub(crate) chain_id: u64,
    pub(crate) selector: u64,
    pub(crate) shown: String,
}

/// Reads the chain id the endpoint serves and finds its official selector.
pub(crate) async fn resolve(spec: &ForkSpec) -> Result<ForkTarget> {
    let fail = |reason: String| Error::Fork { chain: spec.name.clone(), reason };
    let shown = solvency_registry::RpcUrl::parse(&spec.url)
        .map_err(|e| fail(format!("the endpoint to fork: {e}")))?
        .to_string();
    let provider = rpc::connect_str(&spec.url).map_err(|e| fail(e.to_string()))?;
    let chain_id = provider.get_chain_id().await.map_err(|e| {
        fail(format!(
            "cannot read the chain id from {shown} ({}); check the URL and that the endpoint answers",
            rpc::describe(&e)
        ))
    })?;
    let official = solvency_registry::selectors::by_chain_id(chain_id).ok_or_else(|| {
        fail(format!(
            "{shown} serves chain id {chain_id}, which CCIP's official selector table does not \
             list: CCIP does not run there"
        ))
    })?;
    Ok(ForkTarget { spec: spec.clone(), chain_id, selector: official.selector, shown })
}

/// A chain's CCIP lanes to the other chains of a devnet, as its Router has them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lanes {
    /// The on-ramp a message to each other chain goes through, by destination selector.
    pub(crate) on_ramps: HashMap<u64, Address>,
    /// The off-ramp the Router accepts deliveries from, by source selector.
    pub(crate) off_ramps: HashMap<u64, Address>,
}

impl Lanes {
    /// Reads the Router's ramps for every other chain of a devnet (`selectors`: all of them,
    /// `own` included).
    pub(crate) async fn read(
        chain: &str,
        url: &str,
        router: Address,
        own: u64,
        selectors: &[u64],
    ) -> Result<Self> {
        let others: Vec<u64> = selectors.iter().copied().filter(|&s| s != own).collect();
        let fail = |reason: String| Error::Fork { chain: chain.to_owned(), reason };
        let provider = rpc::connect_str(url).map_err(|e| fail(e.to_string()))?;
        let code = provider.get_code_at(router).await.map_err(|source| Error::Rpc {
            chain: chain.to_owned(),
            action: format!("read code at the Router {router}"),
            source: Box::new(source),
        })?;
        if code.is_empty() {
            return Err(fail(format!(
                "no contract at {router}: give the CCIP Router deployed on this chain \
                 (--router {chain}=ADDRESS, from CCIP's directory of deployments)"
            )));
        }
        let not_a_router = |e: alloy::contract::Error| {
            fail(format!("{router} does not answer as a CCIP Router ({e})"))
        };
        let instance = Router::new(router, &provider);
        let registered = instance.getOffRamps().call().await.map_err(not_a_router)?;
        let mut lanes = Self::default();
        for &other in &others {
            let on_ramp = instance.getOnRamp(other).call().await.map_err(not_a_router)?;
            if on_ramp.is_zero() {
                continue;
            }
            // The relayer reads OnRamp 1.6's CCIPMessageSent; an older on-ramp emits another
            // event, whose messages would never be seen.
            let version = StandInOnRamp::new(on_ramp, &provider)
                .typeAndVersion()
                .call()
                .await
                .unwrap_or_default();
            if !version.starts_with(ON_RAMP_VERSION) {
                return Err(fail(format!(
                    "the on-ramp {on_ramp} to selector {other} is {:?}, not an {ON_RAMP_VERSION}: \
                     the devnet reads OnRamp 1.6's events only",
                    if version.is_empty() { "unknown" } else { version.as_str() }
                )));
            }
            lanes.on_ramps.insert(other, on_ramp);
        }
        for ramp in registered {
            if others.contains(&ramp.sourceChainSelector) {
                lanes.off_ramps.insert(ramp.sourceChainSelector, ramp.offRamp);
            }
        }
        Ok(lanes)
    }
}

/// Refuses a set of forked chains unless every ordered pair has a lane: an on-ramp on the
/// source's Router and an off-ramp for the source on the destination's.
pub(crate) fn check_lanes(chains: &[(String, u64, Lanes)]) -> Result<()> {
    for (from, from_selector, from_lanes) in chains {
        for (to, to_selector, to_lanes) in chains.iter().filter(|(_, s, _)| s != from_selector) {
            let missing = if !from_lanes.on_ramps.contains_key(to_selector) {
                Some(format!(
                    "the Router on {from} has no on-ramp to {to} (selector {to_selector})"
                ))
            } else if !to_lanes.off_ramps.contains_key(from_selector) {
                Some(format!(
                    "the Router on {to} accepts no off-ramp for messages from {from} (selector \
                     {from_selector})"
                ))
            } else {
                None
            };
            if let Some(missing) = missing {
                return Err(Error::Fork {
                    chain: from.clone(),
                    reason: format!(
                        "no CCIP lane from {from} to {to}: {missing}; fork only chains CCIP \
                         connects to each other"
                    ),
                });
            }
        }
    }
    Ok(())
}
