//! A local "upstream": anvil chains that stand in for public chains where CCIP runs, so that the
//! devnet's fork mode can be tried and tested without a public endpoint.
//!
//! Each chain gets CCIP's real `Router` (contracts-ccip 1.6.2) over the canonical WETH9, an RMN
//! that never curses, and lanes to every other upstream chain: an on-ramp that emits OnRamp 1.6's
//! `CCIPMessageSent` (the real OnRamp needs a FeeQuoter with live prices, a NonceManager and a
//! token registry, none of which a data-only message uses) and an off-ramp address the Router
//! accepts. `solvency devnet up --fork` then forks these chains as it would forks of public ones.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use solvency_ccip::bindings::{
    ccip_router::Router,
    on_ramp::StandInOnRamp,
    upstream::{StandInOffRamp, StandInRMN, WETH9},
};
use solvency_chain_adapters::rpc;
use tracing::info;

use crate::{
    AnvilOptions, AnvilProcess, DevAccount, Error, ForkSpec, Result,
    chains::{self, MAX_CHAINS},
};

/// How to start an upstream.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Number of chains (test chain ids 90000001..).
    pub chains: usize,
    /// The anvil executable.
    pub anvil: PathBuf,
    /// The fee each on-ramp quotes per message, in wei.
    pub fee: U256,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self { chains: 3, anvil: crate::anvil::anvil_binary(), fee: U256::from(10u64.pow(15)) }
    }
}

/// One upstream chain and its CCIP contracts.
#[derive(Clone, Debug)]
pub struct UpstreamChain {
    /// `upstream-<n>`.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Its official CCIP selector.
    pub selector: u64,
    /// Its JSON-RPC endpoint (loopback).
    pub url: String,
    /// CCIP's `Router`.
    pub router: Address,
    /// The on-ramp every lane from this chain goes through.
    pub on_ramp: Address,
    /// The off-ramp the Router accepts deliveries from, for every source chain.
    pub off_ramp: Address,
}

/// Running upstream chains. Dropping it stops them.
pub struct Upstream {
    chains: Vec<UpstreamChain>,
    anvils: Vec<AnvilProcess>,
}

impl Upstream {
    /// Starts the chains and deploys CCIP on each, with lanes between every two.
    pub async fn start(config: UpstreamConfig) -> Result<Self> {
        if config.chains == 0 || config.chains > MAX_CHAINS {
            return Err(Error::ChainCount { asked: config.chains, max: MAX_CHAINS });
        }
        let tests: Vec<_> =
            (0..config.chains).map(|i| chains::test_chain(i).expect("count checked")).collect();
        let anvils = crate::devnet::spawn_anvils(tests.iter().map(|t| AnvilOptions {
            binary: config.anvil.clone(),
            chain_id: t.chain_id,
            state_file: None,
            fork_url: None,
        }))
        .await?;
        let selectors: Vec<u64> = tests.iter().map(|t| t.selector).collect();
        let chains = futures::future::try_join_all(
            tests.iter().zip(&anvils).map(|(t, anvil)| deploy(&config, t, anvil, &selectors)),
        )
        .await?;
        Ok(Self { chains, anvils })
    }

    /// The chains.
    pub fn chains(&self) -> &[UpstreamChain] {
        &self.chains
    }

    /// What forks every chain, named `fork-<n>` (the first becomes the devnet's hub).
    pub fn forks(&self) -> Vec<ForkSpec> {
        self.chains
            .iter()
            .enumerate()
            .map(|(i, c)| ForkSpec {
                name: format!("fork-{}", i + 1),
                url: c.url.clone(),
                router: c.router,
            })
            .collect()
    }

    /// Stops every chain and waits for them.
    pub async fn shutdown(self) {
        crate::anvil::stop_all(self.anvils).await;
    }
}

async fn deploy(
    config: &UpstreamConfig,
    test: &chains::TestChain,
    anvil: &AnvilProcess,
    selectors: &[u64],
) -> Result<UpstreamChain> {
    let name = format!("upstream-{}", test.chain_id - 90_000_000);
    let deployer = DevAccount::derive(format!("upstream@{}", test.chain_id));
    let provider = rpc::connect_str_with_signer(&anvil.url(), deployer.signer())
        .map_err(|e| Error::Anvil { chain_id: test.chain_id, reason: e.to_string() })?;
    provider
        .raw_request::<_, ()>(
            "anvil_setBalance".into(),
            (deployer.address, U256::from(10_000u128 * 10u128.pow(18))),
        )
        .await
        .map_err(|source| Error::Rpc {
            chain: name.clone(),
            action: "fund the upstream deployer".into(),
            source: Box::new(source),
        })?;
    let failed = |action: &'static str| {
        let chain = name.clone();
        move |source| Error::Contract { chain, action: action.into(), source: Box::new(source) }
    };
    let weth = WETH9::deploy(&provider).await.map_err(failed("deploy WETH9"))?;
    let rmn = StandInRMN::deploy(&provider).await.map_err(failed("deploy the RMN"))?;
    let router = Router::deploy(&provider, *weth.address(), *rmn.address())
        .await
        .map_err(failed("deploy CCIP's Router"))?;
    let on_ramp = StandInOnRamp::deploy(&provider, test.selector, *router.address(), config.fee)
        .await
        .map_err(failed("deploy the on-ramp"))?;
    let off_ramp =
        StandInOffRamp::deploy(&provider).await.map_err(failed("deploy the off-ramp"))?;
    let others = selectors.iter().copied().filter(|s| *s != test.selector);
    let on_ramps: Vec<Router::OnRamp> = others
        .clone()
        .map(|s| Router::OnRamp { destChainSelector: s, onRamp: *on_ramp.address() })
        .collect();
    let off_ramps: Vec<Router::OffRamp> = others
        .map(|s| Router::OffRamp { sourceChainSelector: s, offRamp: *off_ramp.address() })
        .collect();
    crate::deploy::confirm(
        &name,
        "register the ramps",
        router.applyRampUpdates(on_ramps, Vec::new(), off_ramps).send().await,
    )
    .await?;
    info!(target: "devnet::upstream", chain = %name, router = %router.address(), "CCIP deployed");
    Ok(UpstreamChain {
        name,
        chain_id: test.chain_id,
        selector: test.selector,
        url: anvil.url(),
        router: *router.address(),
        on_ramp: *on_ramp.address(),
        off_ramp: *off_ramp.address(),
    })
}
