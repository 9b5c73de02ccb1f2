//! Reserve vaults in the running round: a deposit's log head, as the enclave recomputes it from
//! the vault's `Logged` event, is the vault's; the next report carries it; the enclave puts it in
//! the chain's leaf; the hub checks it against what it received, and every chain keeps its leaf.

use alloy::primitives::U256;
use solvency_ccip::bindings::{devnet_token::DevnetToken, hub::SolvencyHub, vault::ReserveVault};
use solvency_devnet::DevAccount;
use solvency_enclave::{
    Position, VaultHead,
    ownership::{EntryKind, VaultEntry, next_head},
};
use solvency_registry::schema::PolicySection;
use solvency_tests::{
    deposit, reader,
    round::{Round, healthy, sinking},
};

/// 1,000 USDC held and 1,200 owed on every chain: short by 200 per chain.
fn short() -> Vec<Position> {
    vec![Position::new("USDC", U256::from(1_000_000_000u64), U256::from(1_200_000_000u64))]
}

#[tokio::test]
async fn a_deposit_reaches_the_chain_leaf_through_the_report_and_the_hubs_check() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    let chain = round.devnet.chain(1).clone();
    assert!(!chain.vault.is_zero(), "the devnet deploys a vault on every chain");

    // A market maker deposits standby collateral into the spoke's vault.
    let maker = DevAccount::user(3);
    let logged = deposit(&chain, &maker, U256::from(5_000_000_000u64)).await;

    // The enclave's recomputation of the head from the event is the vault's head.
    let entry = VaultEntry {
        index: logged.index,
        kind: EntryKind::from_u8(logged.kind).unwrap(),
        account: logged.account,
        amount: logged.amount,
        timestamp: logged.timestamp,
        reference: logged.r#ref,
    };
    assert_eq!((entry.index, entry.kind, entry.account), (1, EntryKind::Deposit, maker.address));
    let head = ReserveVault::new(chain.vault, reader(&chain)).getLogHead().call().await.unwrap();
    assert_eq!(next_head(Default::default(), &entry), head.logHead);
    assert_eq!(logged.head, head.logHead);

    // The next round's report carries the head; the published leaf has it, and the hub
    // accepted it (it refuses any head other than the one it received).
    let (epoch, solvent) = round.honest_round(2, |_| healthy()).await;
    assert!(solvent);
    let leaf = SolvencyHub::new(chain.oracle(), reader(&chain)).latestLeaf().call().await.unwrap();
    assert_eq!(
        VaultHead { count: leaf.leaf.logCount, head: leaf.leaf.logHead },
        VaultHead { count: 1, head: head.logHead },
        "epoch {epoch}"
    );
    assert_eq!(leaf.leaf.vault, chain.vault);
    let hub = round.devnet.hub().clone();
    let stored = SolvencyHub::new(hub.hub.unwrap(), reader(&hub))
        .getReportHead(chain.selector, leaf.leaf.reportSeq)
        .call()
        .await
        .unwrap();
    assert!(stored.set);
    assert_eq!((stored.logCount, stored.logHead), (1, head.logHead));
    round.stop().await;
}

#[tokio::test]
async fn the_protocols_vault_deposit_counts_as_reserves() {
    let mut round = Round::start(2, PolicySection::default()).await;
    let (_, solvent) = round.honest_round(1, |_| short()).await;
    assert!(!solvent, "short by 200 USDC on each of two chains");
    let chain = round.devnet.chain(1).clone();

    // The protocol's own deposit of 500 USDC (USDC has no haircut) covers the 400 it is short,
    // once the next report's head vouches for it.
    let logged = deposit(&chain, &DevAccount::protocol(), U256::from(500_000_000u64)).await;
    assert_eq!(logged.index, 1);
    let (epoch, solvent) = round.honest_round(2, |_| short()).await;
    assert!(solvent, "epoch {epoch}: the protocol's vault share counts as reserves");
    let leaf = SolvencyHub::new(chain.oracle(), reader(&chain)).latestLeaf().call().await.unwrap();
    assert_eq!((leaf.leaf.logCount, leaf.leaf.logHead), (1, logged.head));
    round.stop().await;
}

#[tokio::test]
async fn a_market_makers_standby_heals_the_reserve_before_the_boolean_turns() {
    let mut round = Round::start(2, PolicySection::default()).await;
    // A market maker parks 1,000 USDC of standby in the spoke's vault while all is well.
    let chain = round.devnet.chain(1).clone();
    deposit(&chain, &DevAccount::user(3), U256::from(1_000_000_000u64)).await;
    let (_, solvent) = round.honest_round(1, |_| healthy()).await;
    assert!(solvent);

    // The reports alone now say insolvent (short by 400): the enclave draws standby as junior
    // capital, and the public boolean never turns.
    let (epoch, solvent) = round.honest_round(2, |_| short()).await;
    assert!(solvent, "epoch {epoch}: healed by the maker's standby, on every chain");

    // A deficit beyond all standby (20,000 owed, nothing held) cannot be healed: the boolean
    // tells the truth.
    let (epoch, solvent) = round.honest_round(3, |_| sinking()).await;
    assert!(!solvent, "epoch {epoch}: 1,000 of standby does not cover 20,000");
    round.stop().await;
}

#[tokio::test]
async fn a_market_maker_withdraws_its_standby_through_the_aggregator_and_the_vault() {
    use solvency_aggregator::orchestrator::WithdrawalState;
    let (mut round, api, chain, maker) = with_a_makers_standby().await;

    // The maker asks for 400 of its 1,000 USDC back; its command waits for an epoch, queues,
    // waits the vault's delay in chain time, and executes.
    let withdrawal = spawn_withdrawal(&round, &api, &maker, 400_000_000, 1, false);
    // The next epoch authorizes it (the request is given to the enclave before it signs).
    let handle = loop {
        if let Some(handle) = only_request(&round) {
            break handle;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    round.honest_round(2, |_| healthy()).await;
    let vault = ReserveVault::new(chain.vault, reader(&chain));
    let token = DevnetToken::new(chain.collateral, reader(&chain));
    let before = token.balanceOf(maker.address).call().await.unwrap();
    // Queued by the command; the vault's delay passes in chain time.
    let deadline = tokio::time::Instant::now() + solvency_tests::WAIT;
    let id = loop {
        if let Some(WithdrawalState::Authorized { id, .. }) = round.withdrawals.state(&handle)
            && vault.getWithdrawal(id).call().await.unwrap().queuedAt != 0
        {
            break id;
        }
        assert!(tokio::time::Instant::now() < deadline, "the withdrawal was not queued");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    round.advance_chains(vault.getWithdrawalDelay().call().await.unwrap() + 1).await;
    let outcome = withdrawal.await.unwrap().expect("the withdrawal is paid");
    assert_eq!(outcome.id, id);
    assert!(outcome.executed_tx.is_some());
    let after = token.balanceOf(maker.address).call().await.unwrap();
    assert_eq!(after - before, U256::from(400_000_000u64), "paid to the maker");
    assert!(vault.getWithdrawal(id).call().await.unwrap().executed);

    // The vault logged the payment; the next report vouches for it and the ledger settles it.
    round.honest_round(3, |_| healthy()).await;
    assert!(matches!(round.withdrawals.state(&handle), Some(WithdrawalState::Settled { .. })));

    // Asking for more than is left (600) is never authorized: the request expires.
    let over = spawn_withdrawal(&round, &api, &maker, 700_000_000, 2, true);
    while round.withdrawals.handles().len() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for seq in 4..4 + 9 {
        round.honest_round(seq, |_| healthy()).await;
    }
    let error = over.await.unwrap().expect_err("more than available is not authorized");
    assert!(error.to_string().contains("more than this account has available"), "{error:#}");
    round.stop().await;
}

/// A 2-chain round serving its API, a maker with 1,000 USDC of standby in the spoke's vault,
/// credited by a first round.
async fn with_a_makers_standby() -> (Round, url::Url, solvency_devnet::ChainDeployment, DevAccount)
{
    let mut round = Round::start(2, PolicySection::default()).await;
    let api = round.serve_http().await;
    let chain = round.devnet.chain(1).clone();
    let maker = DevAccount::user(3);
    deposit(&chain, &maker, U256::from(1_000_000_000u64)).await;
    round.honest_round(1, |_| healthy()).await;
    (round, api, chain, maker)
}

/// `solvency maker withdraw`'s flow for `maker`, from the first spoke's vault, as a task.
fn spawn_withdrawal(
    round: &Round,
    api: &url::Url,
    maker: &DevAccount,
    units: u64,
    nonce: u64,
    queue_only: bool,
) -> tokio::task::JoinHandle<anyhow::Result<solvency_aggregator::maker::Outcome>> {
    let registry = round.registry.clone();
    let api = api.clone();
    let account = maker.signer();
    tokio::spawn(async move {
        solvency_aggregator::maker::Withdrawal {
            registry: &registry,
            chain: &chain_name(&registry, 1),
            amount: U256::from(units),
            nonce,
            account,
            aggregator: api,
            queue_only,
            timeout: std::time::Duration::from_secs(120),
            poll: std::time::Duration::from_millis(20),
        }
        .run()
        .await
    })
}

fn chain_name(registry: &solvency_registry::Registry, i: usize) -> String {
    registry.network().unwrap().chains[i].name.clone()
}

/// The handle of the one request the aggregator holds, once it holds one.
fn only_request(round: &Round) -> Option<alloy::primitives::B256> {
    round.withdrawals.handles().into_iter().next()
}

#[tokio::test]
async fn a_subscribed_market_maker_reads_its_statement_and_sees_the_draw_no_chain_shows() {
    use solvency_aggregator::maker::statement;
    let (mut round, api, chain, maker) = with_a_makers_standby().await;

    let secret = alloy::primitives::keccak256("statement key").0;
    let key = solvency_enclave::X25519KeyPair::from_secret_bytes(secret);
    let subscription = round.subscribe(&api, &maker, secret).await;
    let (epoch, _) = round.honest_round(2, |_| healthy()).await;
    assert_eq!(subscription.await.unwrap().unwrap(), epoch);

    let (_, solvent) = round.honest_round(3, |_| healthy()).await;
    assert!(solvent);
    let (quiet, vouched_by) = statement(&round.registry, maker.address, &key, &api).await.unwrap();
    assert!(!vouched_by.is_empty());
    let entry = quiet.entries.iter().find(|e| e.chainSelector == chain.selector).unwrap();
    assert_eq!(
        (entry.held, entry.balance, entry.drawn),
        (true, U256::from(1_000_000_000u64), U256::ZERO)
    );

    // Short: the enclave draws standby; the maker's statement shows the junior claim, proven
    // under the root every chain holds. Nothing public changed but the boolean staying true.
    let (_, solvent) = round.honest_round(4, |_| short()).await;
    assert!(solvent);
    let (drawn, _) = statement(&round.registry, maker.address, &key, &api).await.unwrap();
    let entry = drawn.entries.iter().find(|e| e.chainSelector == chain.selector).unwrap();
    assert!(entry.drawn > U256::ZERO, "the draw shows in the statement");
    assert_eq!(entry.balance + entry.drawn, U256::from(1_000_000_000u64));
    assert!(entry.owed > U256::ZERO, "and the premium owed for it");
    // Another key opens nothing.
    let stranger = solvency_enclave::X25519KeyPair::generate();
    assert!(statement(&round.registry, maker.address, &stranger, &api).await.is_err());
    round.stop().await;
}
