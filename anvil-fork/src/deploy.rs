//! Deploys the CCIP router and the solvency contracts on every devnet chain and wires them.
//!
//! Each chain also gets a `SolvencyFeed` over its oracle (the hub on the hub chain, the spoke
//! elsewhere), so that consumers written against Chainlink's `AggregatorV3Interface` can be
//! tried on the devnet unchanged.

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, PendingTransactionBuilder, Provider},
};
use futures::future::try_join_all;
use solvency_ccip::bindings::{
    feed::SolvencyFeed, hub::SolvencyHub, router::MockCCIPRouter, spoke::SolvencySpoke,
};
use solvency_chain_adapters::rpc;
use tracing::info;

use crate::{ChainDeployment, DevAccount, DevnetConfig, Error, Result, chains::TestChain};

/// Balance given to every devnet account (10,000 ETH).
const ACCOUNT_BALANCE: u128 = 10_000 * 10u128.pow(18);

/// A chain whose anvil is up, about to be deployed on.
pub(crate) struct LiveChain {
    pub(crate) name: String,
    pub(crate) chain: TestChain,
    pub(crate) url: String,
    pub(crate) pid: u32,
}

/// Deploys and wires every chain; the first chain is the hub.
pub(crate) async fn deploy_all(
    config: &DevnetConfig,
    live: &[LiveChain],
) -> Result<Vec<ChainDeployment>> {
    // Routers, on every chain at once.
    let routers = try_join_all(live.iter().map(|chain| deploy_router(config, chain))).await?;

    let hub_chain = &live[0];
    let hub = deploy_hub(config, hub_chain, routers[0]).await?;
    let spokes = try_join_all(live.iter().zip(&routers).skip(1).map(|(chain, router)| {
        deploy_spoke(config, chain, *router, hub_chain.chain.selector, hub)
    }))
    .await?;

    // Hub wiring: allow-list every spoke, then fund fees.
    let hub_provider = deployer_provider(hub_chain)?;
    let hub_instance = SolvencyHub::new(hub, &hub_provider);
    for (chain, spoke) in live.iter().skip(1).zip(&spokes) {
        confirm(
            hub_chain,
            "allow-list spoke",
            hub_instance.addSpoke(chain.chain.selector, *spoke).send().await,
        )
        .await?;
    }
    if !config.hub_funding.is_zero() {
        let tx = alloy::rpc::types::TransactionRequest::default().to(hub).value(config.hub_funding);
        confirm(
            hub_chain,
            "fund hub fees",
            hub_provider.send_transaction(tx).await.map_err(Into::into),
        )
        .await?;
    }

    // Feeds, on every chain at once: each chain's deployer has no transaction in flight now.
    let oracles = std::iter::once(hub).chain(spokes.iter().copied());
    let feeds =
        try_join_all(live.iter().zip(oracles).map(|(chain, oracle)| deploy_feed(chain, oracle)))
            .await?;

    let mut deployments = Vec::with_capacity(live.len());
    for (i, chain) in live.iter().enumerate() {
        deployments.push(ChainDeployment {
            name: chain.name.clone(),
            chain_id: chain.chain.chain_id,
            selector: chain.chain.selector,
            rpc_url: chain.url.clone(),
            router: routers[i],
            hub: (i == 0).then_some(hub),
            spoke: (i > 0).then(|| spokes[i - 1]),
            feed: feeds[i],
            deployer: DevAccount::deployer(chain.chain.chain_id),
            reporter: DevAccount::reporter(chain.chain.chain_id),
            relayer: DevAccount::relayer(chain.chain.chain_id),
            anvil_pid: chain.pid,
        });
    }
    check_no_shared_receivers(&deployments).await?;
    Ok(deployments)
}

/// Funds the chain's accounts: its deployer, reporter and relayer, and the shared users.
pub(crate) async fn fund_accounts(chain: &LiveChain, users: &[DevAccount]) -> Result<()> {
    let provider = rpc::connect_str(&chain.url)
        .map_err(|e| Error::Anvil { chain_id: chain.chain.chain_id, reason: e.to_string() })?;
    let id = chain.chain.chain_id;
    let own = [
        DevAccount::deployer(id),
        DevAccount::reporter(id),
        DevAccount::relayer(id),
        DevAccount::publisher(),
    ];
    for account in own.iter().chain(users) {
        provider
            .raw_request::<_, ()>(
                "anvil_setBalance".into(),
                (account.address, U256::from(ACCOUNT_BALANCE)),
            )
            .await
            .map_err(|source| Error::Rpc {
                chain: chain.name.clone(),
                action: format!("fund {}", account.label),
                source: Box::new(source),
            })?;
    }
    Ok(())
}

fn deployer_provider(chain: &LiveChain) -> Result<DynProvider> {
    rpc::connect_str_with_signer(&chain.url, DevAccount::deployer(chain.chain.chain_id).signer())
        .map_err(|e| Error::Anvil { chain_id: chain.chain.chain_id, reason: e.to_string() })
}

async fn deploy_router(config: &DevnetConfig, chain: &LiveChain) -> Result<Address> {
    let provider = deployer_provider(chain)?;
    let router = MockCCIPRouter::deploy(&provider).await.map_err(|source| Error::Contract {
        chain: chain.name.clone(),
        action: "deploy MockCCIPRouter".into(),
        source: Box::new(source),
    })?;
    if !config.ccip_fee.is_zero() {
        confirm(chain, "set CCIP fee", router.setFee(config.ccip_fee).send().await).await?;
    }
    info!(target: "devnet::deploy", chain = %chain.name, router = %router.address(), "router deployed");
    Ok(*router.address())
}

async fn deploy_hub(config: &DevnetConfig, chain: &LiveChain, router: Address) -> Result<Address> {
    let provider = deployer_provider(chain)?;
    let hub = SolvencyHub::deploy(
        &provider,
        router,
        chain.chain.selector,
        config.deployment_id,
        config.attestation_gas_limit,
    )
    .await
    .map_err(|source| Error::Contract {
        chain: chain.name.clone(),
        action: "deploy SolvencyHub".into(),
        source: Box::new(source),
    })?;
    let address = *hub.address();
    configure_oracle(config, chain, &provider, address).await?;
    info!(target: "devnet::deploy", chain = %chain.name, hub = %address, "hub deployed");
    Ok(address)
}

async fn deploy_spoke(
    config: &DevnetConfig,
    chain: &LiveChain,
    router: Address,
    hub_selector: u64,
    hub: Address,
) -> Result<Address> {
    let provider = deployer_provider(chain)?;
    let spoke = SolvencySpoke::deploy(
        &provider,
        router,
        hub_selector,
        hub,
        config.deployment_id,
        config.report_gas_limit,
    )
    .await
    .map_err(|source| Error::Contract {
        chain: chain.name.clone(),
        action: "deploy SolvencySpoke".into(),
        source: Box::new(source),
    })?;
    let address = *spoke.address();
    configure_oracle(config, chain, &provider, address).await?;
    info!(target: "devnet::deploy", chain = %chain.name, spoke = %address, "spoke deployed");
    Ok(address)
}

/// A `SolvencyFeed` over the chain's oracle. It has no owner and nothing to configure.
async fn deploy_feed(chain: &LiveChain, oracle: Address) -> Result<Address> {
    let provider = deployer_provider(chain)?;
    let feed = SolvencyFeed::deploy(&provider, oracle).await.map_err(|source| Error::Contract {
        chain: chain.name.clone(),
        action: "deploy SolvencyFeed".into(),
        source: Box::new(source),
    })?;
    let address = *feed.address();
    info!(target: "devnet::deploy", chain = %chain.name, feed = %address, %oracle, "feed deployed");
    Ok(address)
}

/// Signers, threshold and reporter: the same functions on hub and spoke (`SolvencyOracleBase`).
async fn configure_oracle(
    config: &DevnetConfig,
    chain: &LiveChain,
    provider: &DynProvider,
    oracle: Address,
) -> Result<()> {
    // The hub's binding covers every SolvencyOracleBase function, so it serves spokes too.
    let instance = SolvencyHub::new(oracle, provider);
    let now = provider
        .get_block(Default::default())
        .await
        .ok()
        .flatten()
        .map_or(0, |b| b.header.timestamp);
    let expires_at = now + config.signer_validity.as_secs();
    for signer in &config.signers {
        confirm(
            chain,
            "register enclave signer",
            instance.setSigner(*signer, expires_at, B256::ZERO).send().await,
        )
        .await?;
    }
    if !config.signers.is_empty() {
        confirm(chain, "set threshold", instance.setThreshold(config.threshold).send().await)
            .await?;
    }
    let reporter = DevAccount::reporter(chain.chain.chain_id).address;
    confirm(chain, "set reporter", instance.setReporter(reporter).send().await).await?;
    Ok(())
}

/// Waits for a sent transaction and checks it succeeded.
pub(crate) async fn confirm(
    chain: &LiveChain,
    action: &str,
    sent: std::result::Result<
        PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<()> {
    let pending = sent.map_err(|source| Error::Contract {
        chain: chain.name.clone(),
        action: action.into(),
        source: Box::new(source),
    })?;
    match rpc::confirm(pending).await {
        Ok(_) => Ok(()),
        Err(rpc::ConfirmError::Reverted(tx_hash)) => {
            Err(Error::Reverted { chain: chain.name.clone(), action: action.into(), tx_hash })
        }
        Err(rpc::ConfirmError::Pending { source, .. }) => {
            Err(Error::Pending { chain: chain.name.clone(), action: action.into(), source })
        }
    }
}

/// The same-address trap cannot happen if no receiver's address holds code on another chain.
async fn check_no_shared_receivers(chains: &[ChainDeployment]) -> Result<()> {
    for chain in chains {
        let receiver = chain.oracle();
        for other in chains.iter().filter(|o| o.selector != chain.selector) {
            let provider = rpc::connect_str(&other.rpc_url)
                .map_err(|e| Error::Anvil { chain_id: other.chain_id, reason: e.to_string() })?;
            let code = provider.get_code_at(receiver).await.map_err(|source| Error::Rpc {
                chain: other.name.clone(),
                action: format!("read code at {receiver}"),
                source: Box::new(source),
            })?;
            if !code.is_empty() {
                return Err(Error::SameAddressTrap {
                    address: receiver,
                    chain: chain.name.clone(),
                    other_chain: other.name.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use solvency_ccip::bindings::feed::SolvencyFeed;
    use solvency_chain_adapters::rpc;

    use crate::{Devnet, DevnetConfig};

    /// Every chain gets a feed over its own oracle, reading "no data yet" before an attestation.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_chain_has_a_feed_over_its_oracle() {
        let devnet =
            Devnet::start(DevnetConfig { chains: 3, users: 0, relay: false, ..Default::default() })
                .await
                .expect("devnet starts");
        for chain in &devnet.deployment().chains {
            let provider = rpc::connect_str(&chain.rpc_url).unwrap();
            let feed = SolvencyFeed::new(chain.feed, &provider);
            assert_eq!(feed.getOracle().call().await.unwrap(), chain.oracle(), "{}", chain.name);
            assert_eq!(feed.decimals().call().await.unwrap(), 0);
            let round = feed.latestRoundData().call().await.unwrap();
            assert_eq!(round.roundId, 0, "{}: no round before the first attestation", chain.name);
            assert!(round.answer.is_zero());
            assert_eq!(round.updatedAt, U256::ZERO);
        }
        let feeds: std::collections::HashSet<_> =
            devnet.deployment().chains.iter().map(|c| c.feed).collect();
        assert_eq!(feeds.len(), 3, "one feed per chain");
        devnet.shutdown().await;
    }
}
