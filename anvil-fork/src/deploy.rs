//! Deploys the CCIP router and the solvency contracts on every devnet chain and wires them.
//!
//! Each chain also gets a `ReserveVault` over a USDC-like collateral (`DevnetToken`, 6 decimals)
//! and its oracle (the hub on the hub chain, the spoke elsewhere), set as the oracle's vault so
//! that every report carries its log head; and a `SolvencyFeed` over the oracle, so that
//! consumers written against Chainlink's `AggregatorV3Interface` can be tried on the devnet
//! unchanged.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, PendingTransactionBuilder, Provider},
};
use futures::future::try_join_all;
use solvency_ccip::bindings::{
    devnet_token::DevnetToken, feed::SolvencyFeed, hub::SolvencyHub, quote_board::QuoteBoard,
    router::MockCCIPRouter, spoke::SolvencySpoke, vault::ReserveVault,
};
use solvency_chain_adapters::rpc;
use tracing::info;

use crate::{
    ChainDeployment, DevAccount, DevnetConfig, Error, Result, VaultConfig, chains::TestChain,
};

/// The collateral every devnet vault holds: a USDC-like `DevnetToken`.
const COLLATERAL_NAME: &str = "USD Coin";
const COLLATERAL_SYMBOL: &str = "USDC";
const COLLATERAL_DECIMALS: u8 = 6;

/// Balance given to every devnet account (10,000 ETH).
const ACCOUNT_BALANCE: u128 = 10_000 * 10u128.pow(18);

/// A chain whose anvil is up, about to be deployed on.
pub(crate) struct LiveChain {
    pub(crate) name: String,
    pub(crate) chain: TestChain,
    pub(crate) url: String,
    pub(crate) pid: u32,
    /// The CCIP Router already on the chain (a fork); `None` deploys a `MockCCIPRouter`.
    pub(crate) router: Option<Address>,
    /// Where a forked chain came from.
    pub(crate) fork: Option<crate::ForkOrigin>,
    /// The vault's collateral already on the chain (a lane token); `None` deploys a
    /// `DevnetToken`.
    pub(crate) collateral: Option<Address>,
    /// Where the relayer reads the Router's on-ramps from (`router` is CCIP's Router with
    /// ramps); `None`: a `MockCCIPRouter`.
    pub(crate) ramps_from_block: Option<u64>,
}

/// Deploys and wires every chain; the first chain is the hub.
pub(crate) async fn deploy_all(
    config: &DevnetConfig,
    live: &[LiveChain],
) -> Result<Vec<ChainDeployment>> {
    // Routers, on every chain at once (a fork's own is used as it is).
    let routers = try_join_all(live.iter().map(|chain| async move {
        match chain.router {
            Some(router) => Ok(router),
            None => deploy_router(config, chain).await,
        }
    }))
    .await?;

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
            &hub_chain.name,
            "allow-list spoke",
            hub_instance.addSpoke(chain.chain.selector, *spoke).send().await,
        )
        .await?;
    }
    if !config.hub_funding.is_zero() {
        let tx = alloy::rpc::types::TransactionRequest::default().to(hub).value(config.hub_funding);
        confirm(
            &hub_chain.name,
            "fund hub fees",
            hub_provider.send_transaction(tx).await.map_err(Into::into),
        )
        .await?;
    }
    let quote_board = match config.quote_round {
        Some(round) => Some(deploy_quote_board(hub_chain, &hub_provider, hub, round).await?),
        None => None,
    };

    // Vaults and feeds, on every chain at once: each chain's deployer has no transaction in
    // flight now, and sends its own one after another.
    let oracles = std::iter::once(hub).chain(spokes.iter().copied());
    let extras = try_join_all(live.iter().zip(oracles).zip(&routers).map(
        |((chain, oracle), router)| async move {
            let (collateral, vault) = deploy_vault(&config.vault, chain, oracle, *router).await?;
            let feed = deploy_feed(chain, oracle).await?;
            Ok::<_, Error>(ChainExtras { collateral, vault, feed })
        },
    ))
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
            quote_board: quote_board.filter(|_| i == 0),
            spoke: (i > 0).then(|| spokes[i - 1]),
            feed: extras[i].feed,
            vault: extras[i].vault,
            collateral: extras[i].collateral,
            deployer: DevAccount::deployer(chain.chain.chain_id),
            reporter: DevAccount::reporter(chain.chain.chain_id),
            relayer: DevAccount::relayer(chain.chain.chain_id),
            anvil_pid: chain.pid,
            fork: chain.fork.clone(),
            ramps_from_block: chain.ramps_from_block,
        });
    }
    check_no_shared_receivers(&deployments).await?;
    Ok(deployments)
}

/// What each chain gets besides its router and oracle.
struct ChainExtras {
    collateral: Address,
    vault: Address,
    feed: Address,
}

/// Funds the chain's accounts: its deployer, reporter and relayer, the publisher, the protocol's
/// vault account, and the shared users.
pub(crate) async fn fund_accounts(chain: &LiveChain, users: &[DevAccount]) -> Result<()> {
    let provider = rpc::connect_str(&chain.url)
        .map_err(|e| Error::Anvil { chain_id: chain.chain.chain_id, reason: e.to_string() })?;
    let id = chain.chain.chain_id;
    let own = [
        DevAccount::deployer(id),
        DevAccount::reporter(id),
        DevAccount::relayer(id),
        DevAccount::publisher(),
        DevAccount::protocol(),
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
        confirm(&chain.name, "set CCIP fee", router.setFee(config.ccip_fee).send().await).await?;
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
        chain.chain.selector,
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

/// A `QuoteBoard` with rounds of `round` (whole seconds, at least one), owned by the hub's
/// deployer and set as the hub's board (a devnet has no config timelock).
async fn deploy_quote_board(
    chain: &LiveChain,
    provider: &DynProvider,
    hub: Address,
    round: Duration,
) -> Result<Address> {
    let board = QuoteBoard::deploy(provider, round.as_secs().max(1)).await.map_err(|source| {
        Error::Contract {
            chain: chain.name.clone(),
            action: "deploy QuoteBoard".into(),
            source: Box::new(source),
        }
    })?;
    let address = *board.address();
    let hub_instance = SolvencyHub::new(hub, provider);
    confirm(
        &chain.name,
        "set the hub's quote board",
        hub_instance.setQuoteBoard(address).send().await,
    )
    .await?;
    info!(target: "devnet::deploy", chain = %chain.name, board = %address, "quote board deployed");
    Ok(address)
}

/// The chain's collateral and a `ReserveVault` over it, the chain's oracle and its CCIP router
/// (which lots leave and arrive through), set as the oracle's vault (once: the oracle refuses a
/// second).
async fn deploy_vault(
    config: &VaultConfig,
    chain: &LiveChain,
    oracle: Address,
    router: Address,
) -> Result<(Address, Address)> {
    let provider = deployer_provider(chain)?;
    let contract_error = |action: &str| {
        let chain = chain.name.clone();
        let action = action.to_owned();
        move |source| Error::Contract { chain, action, source: Box::new(source) }
    };
    let collateral = match chain.collateral {
        Some(token) => token,
        None => *DevnetToken::deploy(
            &provider,
            COLLATERAL_NAME.into(),
            COLLATERAL_SYMBOL.into(),
            COLLATERAL_DECIMALS,
        )
        .await
        .map_err(contract_error("deploy DevnetToken collateral"))?
        .address(),
    };
    let vault = ReserveVault::deploy(
        &provider,
        collateral,
        oracle,
        config.withdrawal_delay.as_secs(),
        config.outflow_limit,
        config.outflow_window.as_secs(),
        config.exodus_delay.as_secs(),
        router,
    )
    .await
    .map_err(contract_error("deploy ReserveVault"))?;
    // The hub's binding covers every SolvencyOracleBase function, so it serves spokes too.
    let instance = SolvencyHub::new(oracle, &provider);
    confirm(
        &chain.name,
        "set the oracle's vault",
        instance.setVault(*vault.address()).send().await,
    )
    .await?;
    info!(
        target: "devnet::deploy",
        chain = %chain.name,
        vault = %vault.address(),
        collateral = %collateral,
        %oracle,
        "vault deployed"
    );
    Ok((collateral, *vault.address()))
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
            &chain.name,
            "register enclave signer",
            instance.setSigner(*signer, expires_at, B256::ZERO).send().await,
        )
        .await?;
    }
    if !config.signers.is_empty() {
        confirm(&chain.name, "set threshold", instance.setThreshold(config.threshold).send().await)
            .await?;
    }
    let reporter = DevAccount::reporter(chain.chain.chain_id).address;
    confirm(&chain.name, "set reporter", instance.setReporter(reporter).send().await).await?;
    Ok(())
}

/// Waits for a sent transaction and checks it succeeded.
pub(crate) async fn confirm(
    chain: &str,
    action: &str,
    sent: std::result::Result<
        PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<()> {
    let pending = sent.map_err(|source| Error::Contract {
        chain: chain.into(),
        action: action.into(),
        source: Box::new(source),
    })?;
    match rpc::confirm(pending).await {
        Ok(_) => Ok(()),
        Err(rpc::ConfirmError::Reverted(tx_hash)) => {
            Err(Error::Reverted { chain: chain.into(), action: action.into(), tx_hash })
        }
        Err(rpc::ConfirmError::Pending { source, .. }) => {
            Err(Error::Pending { chain: chain.into(), action: action.into(), source })
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
    use std::{collections::HashSet, time::Duration};

    use alloy::{
        primitives::{B256, Bytes, U256, keccak256},
        providers::Provider,
    };
    use solvency_ccip::bindings::{
        devnet_token::DevnetToken,
        feed::SolvencyFeed,
        hub::{self, SolvencyHub},
        spoke::SolvencySpoke,
        vault::ReserveVault,
    };
    use solvency_chain_adapters::rpc;
    use solvency_enclave::{
        AttestationSigner, ChainLeaf, ChainMessage, SolvencyAttestation, merkle::MerkleTree,
    };

    use crate::{DevAccount, Devnet, DevnetConfig, MessageState, RelayMessage, VaultConfig};

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
        let feeds: HashSet<_> = devnet.deployment().chains.iter().map(|c| c.feed).collect();
        assert_eq!(feeds.len(), 3, "one feed per chain");
        devnet.shutdown().await;
    }

    /// Every chain gets a vault over USDC and its own oracle, set as the oracle's vault, with the
    /// devnet's parameters.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_chain_has_a_vault_set_on_its_oracle() {
        let devnet =
            Devnet::start(DevnetConfig { chains: 3, users: 0, relay: false, ..Default::default() })
                .await
                .expect("devnet starts");
        let expected = VaultConfig::default();
        for chain in &devnet.deployment().chains {
            let provider = rpc::connect_str(&chain.rpc_url).unwrap();
            let vault = ReserveVault::new(chain.vault, &provider);
            assert_eq!(vault.getOracle().call().await.unwrap(), chain.oracle(), "{}", chain.name);
            assert_eq!(vault.getToken().call().await.unwrap(), chain.collateral);
            assert_eq!(vault.getLocalChainSelector().call().await.unwrap(), chain.selector);
            assert_eq!(
                vault.getWithdrawalDelay().call().await.unwrap(),
                expected.withdrawal_delay.as_secs()
            );
            let outflow = vault.getOutflowLimit().call().await.unwrap();
            assert_eq!(outflow.limit, expected.outflow_limit);
            assert_eq!(outflow.window, expected.outflow_window.as_secs());
            assert_eq!(
                vault.getExodusDelay().call().await.unwrap(),
                expected.exodus_delay.as_secs()
            );
            let head = vault.getLogHead().call().await.unwrap();
            assert_eq!((head.logCount, head.logHead), (0, B256::ZERO), "an empty log");

            let oracle = SolvencyHub::new(chain.oracle(), &provider);
            assert_eq!(oracle.getVault().call().await.unwrap(), chain.vault, "{}", chain.name);
            let token = DevnetToken::new(chain.collateral, &provider);
            assert_eq!(token.symbol().call().await.unwrap(), "USDC");
            assert_eq!(token.decimals().call().await.unwrap(), 6);
        }
        let vaults: HashSet<_> = devnet.deployment().chains.iter().map(|c| c.vault).collect();
        assert_eq!(vaults.len(), 3, "one vault per chain");
        devnet.shutdown().await;
    }

    /// A sealed instruction of the production size (HPKE prefix, 1,024 padded bytes, tag).
    fn instruction(selector: u64) -> Bytes {
        let mut bytes = vec![0u8; 1089];
        bytes[..8].copy_from_slice(&selector.to_be_bytes());
        bytes.into()
    }

    /// Waits until `count` messages to or from `selector` are final, and checks they succeeded.
    async fn delivered(
        devnet: &Devnet,
        what: &str,
        count: usize,
        mine: impl Fn(&RelayMessage) -> bool,
    ) -> Vec<RelayMessage> {
        let messages = devnet
            .relayer()
            .unwrap()
            .wait_for(what, Duration::from_secs(60), |all| {
                all.iter().filter(|m| mine(m) && m.state.is_final()).count() >= count
            })
            .await
            .expect("delivered in time");
        let mine: Vec<_> = messages.into_iter().filter(|m| mine(m)).collect();
        for message in &mine {
            assert!(
                matches!(message.state, MessageState::Success { receiver_called: true, .. }),
                "{what}: {:?}",
                message.state
            );
        }
        mine
    }

    /// The stage-1 wire across the devnet: a deposit's log head travels with the spoke's report
    /// to the hub; an attestation v2 whose leaves name every vault and that head is published,
    /// relayed, and accepted by every spoke within the devnet's gas limit (a first delivery, the
    /// dearest: every slot written from zero), each keeping its own leaf.
    #[tokio::test(flavor = "multi_thread")]
    async fn vault_heads_and_v2_attestations_cross_the_devnet() {
        // Three of three: the most signatures a devnet test verifies, so the most gas.
        let signers =
            [AttestationSigner::random(), AttestationSigner::random(), AttestationSigner::random()];
        let devnet = Devnet::start(DevnetConfig {
            chains: 3,
            users: 1,
            signers: signers.iter().map(AttestationSigner::address).collect(),
            threshold: 3,
            ..Default::default()
        })
        .await
        .expect("devnet starts");
        let hub_chain = devnet.hub().clone();
        let spoke_chain = devnet.chain(1).clone();

        // A deposit into the spoke chain's vault.
        let user = DevAccount::user(0);
        let on_spoke = rpc::connect_str_with_signer(&spoke_chain.rpc_url, user.signer()).unwrap();
        let amount = U256::from(1_000_000_000u64); // 1,000 USDC
        let token = DevnetToken::new(spoke_chain.collateral, &on_spoke);
        let vault = ReserveVault::new(spoke_chain.vault, &on_spoke);
        // One after another, each mined before the next is sent: anvil's automine can leave a
        // same-sender transaction sent behind another unmined (foundry-rs/foundry#10122).
        let minted = token.mint(user.address, amount).send().await.unwrap();
        assert!(minted.get_receipt().await.unwrap().status());
        let approved = token.approve(spoke_chain.vault, amount).send().await.unwrap();
        assert!(approved.get_receipt().await.unwrap().status());
        let deposited = vault.deposit(amount).send().await.unwrap();
        assert!(deposited.get_receipt().await.unwrap().status());
        let head = vault.getLogHead().call().await.unwrap();
        assert_eq!(head.logCount, 1);

        // The spoke's report carries the head to the hub.
        let reporter =
            rpc::connect_str_with_signer(&spoke_chain.rpc_url, spoke_chain.reporter.signer())
                .unwrap();
        let spoke = SolvencySpoke::new(spoke_chain.spoke.unwrap(), &reporter);
        let payload = Bytes::from(vec![0x5a; 1089]);
        let fee = spoke.getReportFee(5, payload.clone()).call().await.unwrap();
        let sent = spoke.submitReport(5, payload).value(fee).send().await.unwrap();
        assert!(sent.get_receipt().await.unwrap().status());
        delivered(&devnet, "the report", 1, |m| m.dest_chain_selector == hub_chain.selector).await;
        let hub_reader = rpc::connect_str(&hub_chain.rpc_url).unwrap();
        let held = SolvencyHub::new(hub_chain.oracle(), &hub_reader)
            .getReportHead(spoke_chain.selector, 5)
            .call()
            .await
            .unwrap();
        assert!(held.set);
        assert_eq!((held.logCount, held.logHead), (1, head.logHead));

        // An attestation over every chain: each leaf names its chain's vault, the spoke's names
        // the report and its head.
        let mut leaves: Vec<ChainLeaf> = devnet
            .deployment()
            .chains
            .iter()
            .map(|c| ChainLeaf {
                chainSelector: c.selector,
                vault: c.vault,
                instructionHash: keccak256(instruction(c.selector)),
                ..Default::default()
            })
            .collect();
        leaves.sort_by_key(|l| l.chainSelector);
        let spoke_leaf = leaves.iter_mut().find(|l| l.chainSelector == spoke_chain.selector);
        let spoke_leaf = spoke_leaf.unwrap();
        (spoke_leaf.reportSeq, spoke_leaf.logCount, spoke_leaf.logHead) = (5, 1, head.logHead);
        let tree = MerkleTree::new(leaves.iter().map(ChainLeaf::hash).collect());
        let now = hub_reader.get_block(Default::default()).await.unwrap().unwrap().header.timestamp;
        let attestation = SolvencyAttestation {
            deploymentId: devnet.deployment().deployment_id,
            epoch: 1,
            solvent: true,
            issuedAt: now,
            validUntil: now + 3600,
            reportsDigest: keccak256("reports"),
            chainsRoot: tree.root(),
            ledgerRoot: keccak256("ledger after epoch 1"),
            parentLedgerRoot: B256::ZERO,
            policyDigest: B256::ZERO,
            quoteRound: 0,
            quoteHead: Default::default(),
        };
        let messages: Vec<hub::SolvencyAttestation::ChainMessage> = leaves
            .iter()
            .enumerate()
            .map(|(i, leaf)| {
                let message = ChainMessage {
                    leaf: leaf.clone(),
                    proof: tree.proof(i),
                    instruction: instruction(leaf.chainSelector),
                };
                (&message).into()
            })
            .collect();
        let signatures =
            AttestationSigner::sign_all(&signers.iter().collect::<Vec<_>>(), &attestation);
        let publisher =
            rpc::connect_str_with_signer(&hub_chain.rpc_url, DevAccount::publisher().signer())
                .unwrap();
        let published = SolvencyHub::new(hub_chain.oracle(), &publisher)
            .publish((&attestation).into(), signatures, messages)
            .send()
            .await
            .unwrap();
        assert!(published.get_receipt().await.unwrap().status());

        // Every spoke accepts it and keeps its own leaf; so does the hub.
        let sent = delivered(&devnet, "the attestations", 2, |m| {
            m.source_chain_selector == hub_chain.selector
        })
        .await;
        assert_eq!(sent.len(), 2);
        for chain in &devnet.deployment().chains {
            let reader = rpc::connect_str(&chain.rpc_url).unwrap();
            let oracle = SolvencyHub::new(chain.oracle(), &reader);
            let kept = oracle.latestLeaf().call().await.unwrap();
            let expected = leaves.iter().find(|l| l.chainSelector == chain.selector).unwrap();
            assert_eq!(&ChainLeaf::from(kept.leaf), expected, "{}", chain.name);
            assert!(kept.receivedAt > 0);
            assert!(oracle.isSolvent().call().await.unwrap(), "{}", chain.name);
            assert_eq!(oracle.getLedgerRoot().call().await.unwrap(), attestation.ledgerRoot);
        }
        devnet.shutdown().await;
    }
}
