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
    let sent = router.ccipSend(to.selector, message).value(fee).send().await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_cross_a_lane_once_through_failure_retry_and_a_relayer_restart() {
    let user = DevAccount::user(0);
    let upstream = Upstream::start(UpstreamConfig {
        chains: 2,
        token_holders: vec![user.address],
        minted: usdc(10_000),
        lane_capacity: 1_000 * 1_000_000,
        lane_rate: 1_000_000,
        ..Default::default()
    })
    .await
    .expect("the upstream starts");
    let mut devnet =
        Devnet::start(DevnetConfig { forks: upstream.forks(), users: 1, ..Default::default() })
            .await
            .expect("the fork devnet starts");
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
    assert!(matches!(done.state, MessageState::Success { .. }), "{:?}", done.state);
    assert_eq!(done.tokens.len(), 1);
    assert_eq!(balance(&b, token_b, payee).await, usdc(400));
    assert_eq!(supplies().await, start, "conserved across the lane");

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
    assert!(matches!(retried.state, MessageState::Success { .. }), "{:?}", retried.state);
    assert_eq!(balance(&b, token_b, receiver).await, usdc(250));
    assert_eq!(supplies().await, start);
    let off_ramp = StandInOffRamp::new(upstream.chains()[1].off_ramp, reader(&b));
    let state = off_ramp.getExecutionState(a.selector, done.sequence_number + 1).call().await;
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
    let refused = send(&a, token_a, &user, &b, payee, usdc(1_001), b"").await;
    assert!(refused.is_err(), "over capacity");
    assert_eq!(balance(&a, token_a, user.address).await, before);
    assert_eq!(supplies().await, start);
    devnet.shutdown().await;
    upstream.shutdown().await;
}
