//! Token lanes over the devnet: forks of a local upstream whose chains carry a burn/mint
//! "USDC" between them through CCIP's real `Router` and `BurnMintTokenPool`. A transfer is burned
//! on the source when it is sent and minted to the receiver on the destination when the relayer
//! has the stand-in off-ramp execute it; the two chains' supplies always add up to what was
//! minted less what is in flight — through a plain transfer, a delivery that fails and is
//! retried, a relayer stopped with a transfer waiting, and a transfer over the lane's capacity
//! (refused at the send, before anything moves).

use alloy::primitives::{Address, Bytes, U256};
use solvency_ccip::bindings::{
    ccip_router::{Client, Router},
    probe_receiver::ProbeReceiver,
    token_pool::BurnMintERC20,
    upstream::StandInOffRamp,
};
use solvency_devnet::{
    ChainDeployment, DevAccount, Devnet, DevnetConfig, MessageState,
    upstream::{Upstream, UpstreamConfig},
};
use solvency_tests::{WAIT, as_account, deploy_probe_receiver, reader};

/// Whole USDC in the lane token's 6-decimal units.
fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// `amount` of the sender's lane token on `from`, sent to `receiver` on `to` (with `data` and a
/// gas limit when the receiver is a contract); returns the message id the on-ramp gave it.
async fn send(
    from: &ChainDeployment,
    token: Address,
    sender: &DevAccount,
    to: &ChainDeployment,
    receiver: Address,
    amount: U256,
    data: &[u8],
) -> alloy::contract::Result<alloy::primitives::B256> {
    let wallet = as_account(from, sender);
    let erc20 = BurnMintERC20::new(token, &wallet);
    assert!(erc20.approve(from.router, amount).send().await?.get_receipt().await?.status());
    let router = Router::new(from.router, &wallet);
    let message = Client::EVM2AnyMessage {
        receiver: alloy::sol_types::SolValue::abi_encode(&receiver).into(),
        data: Bytes::copy_from_slice(data),
        tokenAmounts: vec![Client::EVMTokenAmount { token, amount }],
        feeToken: Address::ZERO,
        extraArgs: solvency_ccip::extra_args::ExtraArgs::v2(if data.is_empty() {
            0
        } else {
            200_000
        })
        .encode(),
    };
    let fee = router.getFee(to.selector, message.clone()).call().await?;
    let call = router.ccipSend(to.selector, message).value(fee);
    // What the pool's token bucket writes depends on the block's second (a refill a second
    // later writes more than none in the estimate's): a margin over the estimate, which
    // refuses a send over the lane's capacity as the chain would.
    let estimate = call.estimate_gas().await?;
    let sent = call.gas(estimate + 50_000).send().await?;
    let receipt = sent.get_receipt().await?;
    assert!(receipt.status());
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| {
            log.log_decode::<solvency_ccip::bindings::on_ramp::StandInOnRamp::CCIPMessageSent>()
                .ok()
        })
        .expect("the on-ramp's CCIPMessageSent");
    Ok(event.inner.data.message.header.messageId)
}

/// A 2-chain upstream with token lanes (`config`'s mint going to user 0) and a devnet forking
/// it.
async fn lanes(config: UpstreamConfig) -> (Upstream, Devnet) {
    let config =
        UpstreamConfig { chains: 2, token_holders: vec![DevAccount::user(0).address], ..config };
    let upstream = Upstream::start(config).await.expect("the upstream starts");
    let devnet =
        Devnet::start(DevnetConfig { forks: upstream.forks(), users: 1, ..Default::default() })
            .await
            .expect("the fork devnet starts");
    (upstream, devnet)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_cross_a_lane_once_through_failure_retry_and_a_relayer_restart() {
    let user = DevAccount::user(0);
    let (upstream, mut devnet) = lanes(UpstreamConfig {
        minted: usdc(10_000),
        lane_capacity: 1_000 * 1_000_000,
        lane_rate: 1_000_000,
        ..Default::default()
    })
    .await;
    let (a, b) = (devnet.chain(0).clone(), devnet.chain(1).clone());
    let (token_a, token_b) = (upstream.chains()[0].token, upstream.chains()[1].token);
    let supply = |chain: &ChainDeployment, token: Address| {
        let provider = reader(chain);
        async move { BurnMintERC20::new(token, provider).totalSupply().call().await.unwrap() }
    };
    let supplies = || async { supply(&a, token_a).await + supply(&b, token_b).await };
    let balance = |chain: &ChainDeployment, token: Address, who: Address| {
        let provider = reader(chain);
        async move { BurnMintERC20::new(token, provider).balanceOf(who).call().await.unwrap() }
    };
    let start = supplies().await;
    assert_eq!(start, usdc(20_000), "10,000 minted to the user on each chain");

    // A plain transfer to an account: burned on A, minted on B, once.
    let payee = Address::repeat_byte(0x5e);
    let id = send(&a, token_a, &user, &b, payee, usdc(400), b"").await.unwrap();
    assert_eq!(supply(&a, token_a).await, usdc(10_000 - 400), "burned on the source at once");
    let relayer = devnet.relayer().unwrap();
    let done = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(
        matches!(done.state, MessageState::Success { receiver_called: false, .. }),
        "an account: minted, nothing called: {:?}",
        done.state
    );
    assert_eq!(done.tokens.len(), 1);
    assert_eq!(balance(&b, token_b, payee).await, usdc(400));
    assert_eq!(supplies().await, start, "conserved across the lane");
    // What one lot costs and takes, printed (run with `--nocapture`): the send's gas on the
    // source (approve apart), the execution's on the destination, and from the relayer seeing
    // the send to its execution mined.
    if let MessageState::Success { tx_hash, .. } = done.state {
        use alloy::providers::Provider;
        let sent = reader(&a).get_transaction_receipt(done.source_tx).await.unwrap().unwrap();
        let executed = reader(&b).get_transaction_receipt(tx_hash).await.unwrap().unwrap();
        println!(
            "one lot A→B: ccipSend {} gas, execute {} gas, seen → executed {} ms",
            sent.gas_used,
            executed.gas_used,
            done.finished_at_ms.unwrap_or_default().saturating_sub(done.detected_at_ms)
        );
    }

    // A receiver that refuses: FAILED, nothing minted, the 250 held by the lane; fixed and
    // retried: minted once.
    let receiver = deploy_probe_receiver(&b).await;
    let probe = ProbeReceiver::new(receiver, as_account(&b, &b.deployer));
    probe.setReject(true).send().await.unwrap().get_receipt().await.unwrap();
    let id = send(&a, token_a, &user, &b, receiver, usdc(250), b"with tokens").await.unwrap();
    let failed = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(matches!(failed.state, MessageState::Failed { .. }), "{:?}", failed.state);
    assert_eq!(balance(&b, token_b, receiver).await, U256::ZERO);
    assert_eq!(supplies().await + usdc(250), start, "in flight until executed");
    probe.setReject(false).send().await.unwrap().get_receipt().await.unwrap();
    relayer.retry(id).unwrap();
    let retried = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(
        matches!(retried.state, MessageState::Success { receiver_called: true, .. }),
        "{:?}",
        retried.state
    );
    assert_eq!(probe.s_lastData().call().await.unwrap().as_ref(), b"with tokens");
    assert_eq!(balance(&b, token_b, receiver).await, usdc(250));
    assert_eq!(supplies().await, start);
    let off_ramp = StandInOffRamp::new(upstream.chains()[1].off_ramp, reader(&b));
    let state = off_ramp.getExecutionState(a.selector, retried.sequence_number).call().await;
    assert_eq!(state.unwrap(), 2, "SUCCESS: never executed again");

    // Sent while the relayer is stopped: delivered once it is back, and only once.
    devnet.stop_relayer().await;
    let id = send(&a, token_a, &user, &b, payee, usdc(100), b"").await.unwrap();
    assert_eq!(supplies().await + usdc(100), start);
    devnet.start_relayer().await.unwrap();
    let relayer = devnet.relayer().unwrap();
    let later = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(matches!(later.state, MessageState::Success { .. }), "{:?}", later.state);
    assert_eq!(balance(&b, token_b, payee).await, usdc(500));
    assert_eq!(supplies().await, start);

    // Over the lane's capacity (1,000): refused at the send, nothing leaves the user.
    let before = balance(&a, token_a, user.address).await;
    let refused = send(&a, token_a, &user, &b, payee, usdc(1_001), b"").await.unwrap_err();
    let selector =
        alloy::primitives::keccak256("TokenMaxCapacityExceeded(uint256,uint256,address)");
    let reverted = refused.as_revert_data().expect("a revert");
    assert_eq!(&reverted[..4], &selector[..4], "the lane's capacity: {refused}");
    assert_eq!(balance(&a, token_a, user.address).await, before);
    assert_eq!(supplies().await, start);
    devnet.shutdown().await;
    upstream.shutdown().await;
}

type RampMessage = solvency_ccip::bindings::on_ramp::Internal::EVM2AnyRampMessage;

/// The message the on-ramp emitted in a send's transaction.
async fn sent_message(chain: &ChainDeployment, id: alloy::primitives::B256) -> RampMessage {
    use alloy::{providers::Provider, rpc::types::Filter, sol_types::SolEvent};
    use solvency_ccip::bindings::on_ramp::StandInOnRamp::CCIPMessageSent;
    let filter = Filter::new()
        .event_signature(CCIPMessageSent::SIGNATURE_HASH)
        .from_block(chain.fork.as_ref().expect("a fork").block + 1);
    let logs = reader(chain).get_logs(&filter).await.unwrap();
    logs.iter()
        .map(|log| log.log_decode::<CCIPMessageSent>().unwrap().inner.data.message)
        .find(|m| m.header.messageId == id)
        .expect("the send's CCIPMessageSent")
}

/// What the relayer journals for a message that carries tokens, ROUTING at `nonce` of its own
/// account, as it writes before sending the execution.
fn journal_routing(
    journal: &std::path::Path,
    dest: &ChainDeployment,
    sent: &RampMessage,
    nonce: u64,
) {
    use alloy::sol_types::SolValue;
    let message = solvency_devnet::RelayMessage {
        id: sent.header.messageId,
        source_chain_selector: sent.header.sourceChainSelector,
        dest_chain_selector: sent.header.destChainSelector,
        sender: sent.sender,
        receiver: Address::abi_decode(&sent.receiver).unwrap(),
        data: sent.data.clone(),
        gas_limit: U256::ZERO,
        router_message_id: sent.header.messageId,
        source_tx: Default::default(),
        source_block: 0,
        token_transfers: sent.tokenAmounts.len(),
        sequence_number: sent.header.sequenceNumber,
        tokens: sent
            .tokenAmounts
            .iter()
            .map(|t| solvency_devnet::TokenTransfer {
                source_pool: t.sourcePoolAddress,
                dest_token: Address::abi_decode(&t.destTokenAddress).unwrap(),
                dest_gas: u32::try_from(U256::abi_decode(&t.destExecData).unwrap()).unwrap(),
                extra_data: t.extraData.clone(),
                amount: t.amount,
            })
            .collect(),
        delivered_on_source: false,
        state: MessageState::Routing { off_ramp: dest.relayer.address, nonce, tx_hash: None },
        attempts: 1,
        detected_at_ms: 0,
        finished_at_ms: None,
    };
    solvency_tests::journal_message(journal, &message);
}

/// Executes `sent` on `dest`'s stand-in off-ramp as its executor (the relayer's account) at its
/// next nonce, by hand, as the relayer would have before it was killed.
async fn execute_by_hand(
    dest: &ChainDeployment,
    off_ramp: Address,
    sent: &RampMessage,
) -> alloy::rpc::types::TransactionReceipt {
    use alloy::sol_types::SolValue;
    use solvency_ccip::bindings::upstream::Internal;
    let message = Internal::Any2EVMRampMessage {
        header: Internal::RampMessageHeader {
            messageId: sent.header.messageId,
            sourceChainSelector: sent.header.sourceChainSelector,
            destChainSelector: sent.header.destChainSelector,
            sequenceNumber: sent.header.sequenceNumber,
            nonce: 0,
        },
        sender: sent.sender.abi_encode().into(),
        data: sent.data.clone(),
        receiver: Address::abi_decode(&sent.receiver).unwrap(),
        gasLimit: U256::ZERO,
        tokenAmounts: sent
            .tokenAmounts
            .iter()
            .map(|t| Internal::Any2EVMTokenTransfer {
                sourcePoolAddress: t.sourcePoolAddress.abi_encode().into(),
                destTokenAddress: Address::abi_decode(&t.destTokenAddress).unwrap(),
                destGasAmount: 90_000,
                extraData: t.extraData.clone(),
                amount: t.amount,
            })
            .collect(),
    };
    let executor = as_account(dest, &dest.relayer);
    let receipt = StandInOffRamp::new(off_ramp, &executor)
        .execute(message)
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    receipt
}

/// A relayer killed after journaling two executions (ROUTING at its account's next two
/// nonces, as it journals before sending): the first was sent and mined, the second was not.
/// Started again, it records the first's execution — no second mint — and sends the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayer_killed_between_journaling_and_recording_an_execution_mints_once() {
    use alloy::providers::Provider;
    let user = DevAccount::user(0);
    let (upstream, mut devnet) =
        lanes(UpstreamConfig { minted: usdc(1_000), ..Default::default() }).await;
    let (a, b) = (devnet.chain(0).clone(), devnet.chain(1).clone());
    let (token_a, token_b) = (upstream.chains()[0].token, upstream.chains()[1].token);
    let off_ramp = upstream.chains()[1].off_ramp;
    let payee = Address::repeat_byte(0x5f);

    devnet.stop_relayer().await;
    let first = send(&a, token_a, &user, &b, payee, usdc(30), b"").await.unwrap();
    let second = send(&a, token_a, &user, &b, payee, usdc(40), b"").await.unwrap();
    let (first, second) = (sent_message(&a, first).await, sent_message(&a, second).await);
    let nonce = reader(&b).get_transaction_count(b.relayer.address).await.unwrap();
    let mined = execute_by_hand(&b, off_ramp, &first).await;
    let journal = devnet.state_dir().join(solvency_devnet::RELAYER_JOURNAL);
    journal_routing(&journal, &b, &first, nonce);
    journal_routing(&journal, &b, &second, nonce + 1);

    devnet.start_relayer().await.unwrap();
    let relayer = devnet.relayer().unwrap();
    let first = relayer.wait_final(first.header.messageId, WAIT).await.unwrap();
    assert_eq!(
        first.state,
        MessageState::Success { tx_hash: mined.transaction_hash, receiver_called: false },
        "the execution mined at the journaled nonce, not a new one"
    );
    let second = relayer.wait_final(second.header.messageId, WAIT).await.unwrap();
    assert!(matches!(second.state, MessageState::Success { .. }), "{:?}", second.state);
    let balance = BurnMintERC20::new(token_b, reader(&b)).balanceOf(payee).call().await.unwrap();
    assert_eq!(balance, usdc(70), "each minted once");
    let supply_a = BurnMintERC20::new(token_a, reader(&a)).totalSupply().call().await.unwrap();
    let supply_b = BurnMintERC20::new(token_b, reader(&b)).totalSupply().call().await.unwrap();
    assert_eq!(supply_a + supply_b, usdc(2_000));
    devnet.shutdown().await;
    upstream.shutdown().await;
}
