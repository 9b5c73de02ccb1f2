//! A local "upstream": anvil chains that stand in for public chains where CCIP runs, so that the
//! devnet's fork mode can be tried and tested without a public endpoint.
//!
//! Each chain gets CCIP's real `Router` (contracts-ccip 1.6.2) over the canonical WETH9, an RMN
//! that never curses, and lanes to every other upstream chain: an on-ramp that emits OnRamp 1.6's
//! `CCIPMessageSent` (the real OnRamp needs a FeeQuoter with live prices and a NonceManager; its
//! pools are registered on it directly) and an off-ramp the Router accepts.
//! Each chain also has a burn/mint token lane to every other: a `BurnMintERC20` "USDC" (6
//! decimals) and CCIP's `BurnMintTokenPool` over it, registered with the ramps, with outbound and
//! inbound rate limits per lane; the off-ramp executes token messages for its executor, the
//! devnet relayer's account on that chain. `solvency devnet up --fork` then forks these chains
//! as it would forks of public ones.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use solvency_ccip::bindings::{
    ccip_router::Router,
    on_ramp::StandInOnRamp,
    token_pool::{BurnMintERC20, BurnMintTokenPool},
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
    /// Each lane's token bucket, outbound and inbound: capacity and refill per second, in the
    /// token's smallest unit.
    pub lane_capacity: u128,
    /// See `lane_capacity`.
    pub lane_rate: u128,
    /// Accounts given `minted` of each chain's token.
    pub token_holders: Vec<Address>,
    /// See `token_holders`.
    pub minted: U256,
    /// Accounts that may mint the lane token themselves (a devnet's users, as its own token
    /// lets anyone).
    pub minters: Vec<Address>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            chains: 3,
            anvil: crate::anvil::anvil_binary(),
            fee: U256::from(10u64.pow(15)),
            // 1,000,000 USDC, refilled at 1,000 USDC a second.
            lane_capacity: 1_000_000 * 10u128.pow(6),
            lane_rate: 1_000 * 10u128.pow(6),
            token_holders: Vec::new(),
            minted: U256::ZERO,
            minters: Vec::new(),
        }
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
    /// The lanes' token (`BurnMintERC20`, "USDC", 6 decimals).
    pub token: Address,
    /// CCIP's `BurnMintTokenPool` over it.
    pub pool: Address,
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
        let targets: Vec<_> = tests
            .iter()
            .zip(&anvils)
            .map(|(t, anvil)| (format!("upstream-{}", t.chain_id - 90_000_000), *t, anvil.url()))
            .collect();
        let chains = deploy_lanes(&config, &targets).await?;
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
                collateral: Some(c.token),
            })
            .collect()
    }

    /// Stops every chain and waits for them.
    pub async fn shutdown(self) {
        crate::anvil::stop_all(self.anvils).await;
    }
}

/// Deploys CCIP's Router, the stand-in ramps and a burn/mint token lane on each of these
/// running chains (name, test chain, endpoint), with lanes between every two: what an upstream
/// is made of, and what a devnet with token lanes gets ([`crate::DevnetConfig::lanes`]).
pub(crate) async fn deploy_lanes(
    config: &UpstreamConfig,
    targets: &[(String, chains::TestChain, String)],
) -> Result<Vec<UpstreamChain>> {
    let selectors: Vec<u64> = targets.iter().map(|(_, t, _)| t.selector).collect();
    let chains = futures::future::try_join_all(
        targets.iter().map(|(name, t, url)| deploy(config, name, t, url, &selectors)),
    )
    .await?;
    // Every pool knows every other chain's pool and token, and its lane's limits.
    futures::future::try_join_all(chains.iter().map(|c| connect_pool(config, c, &chains))).await?;
    Ok(chains)
}

async fn deploy(
    config: &UpstreamConfig,
    name: &str,
    test: &chains::TestChain,
    url: &str,
    selectors: &[u64],
) -> Result<UpstreamChain> {
    let name = name.to_owned();
    let deployer = DevAccount::derive(format!("upstream@{}", test.chain_id));
    let provider = rpc::connect_str_with_signer(url, deployer.signer())
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
    // The token lane: the token, its pool (minting and burning), the pool registered with both
    // ramps, and the off-ramp executing for the devnet relayer's account on this chain.
    let token = BurnMintERC20::deploy(
        &provider,
        "USD Coin".into(),
        "USDC".into(),
        6,
        U256::ZERO,
        U256::ZERO,
    )
    .await
    .map_err(failed("deploy the lane token"))?;
    let pool = BurnMintTokenPool::deploy(
        &provider,
        *token.address(),
        6,
        Vec::new(),
        *rmn.address(),
        *router.address(),
    )
    .await
    .map_err(failed("deploy the token pool"))?;
    let step = |action: &'static str| (name.as_str(), action);
    let (chain, action) = step("let the pool mint and burn");
    crate::deploy::confirm(
        chain,
        action,
        token.grantMintAndBurnRoles(*pool.address()).send().await,
    )
    .await?;
    let (chain, action) = step("register the pool with the on-ramp");
    crate::deploy::confirm(
        chain,
        action,
        on_ramp.setPool(*token.address(), *pool.address()).send().await,
    )
    .await?;
    let (chain, action) = step("register the pool with the off-ramp");
    crate::deploy::confirm(
        chain,
        action,
        off_ramp.setPool(*token.address(), *pool.address()).send().await,
    )
    .await?;
    let relayer = DevAccount::relayer(test.chain_id).address;
    let (chain, action) = step("name the off-ramp's executor");
    crate::deploy::confirm(
        chain,
        action,
        off_ramp.configure(*router.address(), relayer).send().await,
    )
    .await?;
    let minter = token.MINTER_ROLE().call().await.map_err(failed("read the minter role"))?;
    for account in &config.minters {
        let (chain, action) = step("let an account mint");
        crate::deploy::confirm(chain, action, token.grantRole(minter, *account).send().await)
            .await?;
    }
    if !config.token_holders.is_empty() && !config.minted.is_zero() {
        let (chain, action) = step("let the deployer mint");
        crate::deploy::confirm(
            chain,
            action,
            token.grantRole(minter, deployer.address).send().await,
        )
        .await?;
        for holder in &config.token_holders {
            let (chain, action) = step("mint lane tokens");
            crate::deploy::confirm(chain, action, token.mint(*holder, config.minted).send().await)
                .await?;
        }
    }
    info!(target: "devnet::upstream", chain = %name, router = %router.address(), token = %token.address(), "CCIP deployed");
    Ok(UpstreamChain {
        name,
        chain_id: test.chain_id,
        selector: test.selector,
        url: url.to_owned(),
        router: *router.address(),
        on_ramp: *on_ramp.address(),
        off_ramp: *off_ramp.address(),
        token: *token.address(),
        pool: *pool.address(),
    })
}

/// Tells `chain`'s pool of every other chain's pool and token, with the lane's rate limits.
async fn connect_pool(
    config: &UpstreamConfig,
    chain: &UpstreamChain,
    chains: &[UpstreamChain],
) -> Result<()> {
    use alloy::sol_types::SolValue;
    use solvency_ccip::bindings::token_pool::{RateLimiter, TokenPool::ChainUpdate};
    let deployer = DevAccount::derive(format!("upstream@{}", chain.chain_id));
    let provider = rpc::connect_str_with_signer(&chain.url, deployer.signer())
        .map_err(|e| Error::Anvil { chain_id: chain.chain_id, reason: e.to_string() })?;
    let limit = RateLimiter::Config {
        isEnabled: true,
        capacity: config.lane_capacity,
        rate: config.lane_rate,
    };
    let updates: Vec<ChainUpdate> = chains
        .iter()
        .filter(|other| other.selector != chain.selector)
        .map(|other| ChainUpdate {
            remoteChainSelector: other.selector,
            remotePoolAddresses: vec![other.pool.abi_encode().into()],
            remoteTokenAddress: other.token.abi_encode().into(),
            outboundRateLimiterConfig: limit.clone(),
            inboundRateLimiterConfig: limit.clone(),
        })
        .collect();
    let pool = BurnMintTokenPool::new(chain.pool, &provider);
    crate::deploy::confirm(
        &chain.name,
        "connect the token pool's lanes",
        pool.applyChainUpdates(Vec::new(), updates).send().await,
    )
    .await
}
