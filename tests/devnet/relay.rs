//! The relayer carries any contract's CCIP messages between chains, as CCIP would — over the
//! devnet's token lanes (CCIP's Router and the stand-in ramps, the default) and over
//! `MockCCIPRouter` alike.

use alloy::{
    primitives::{Bytes, U256},
    providers::Provider,
    sol_types::{SolError, SolValue},
};
use solvency_ccip::bindings::{hub::SolvencyHub, probe_receiver::ProbeReceiver};
use solvency_devnet::{DevAccount, MessageState, relayer::ControlClient};
use solvency_tests::{
    WAIT, as_account, deploy_probe_receiver, deploy_probe_sender, devnet, devnet_on, probe_send,
    reader,
};

#[tokio::test]
async fn message_reaches_receiver_with_source_selector_sender_and_gas_limit() {
    reaches_receiver(false).await;
}

#[tokio::test]
async fn over_lanes_a_message_reaches_receiver_with_source_selector_sender_and_gas_limit() {
    reaches_receiver(true).await;
}

async fn reaches_receiver(lanes: bool) {
    let devnet = devnet_on(3, lanes).await;
    let (a, b) = (devnet.chain(0), devnet.chain(1));
    let sender = deploy_probe_sender(a).await;
    let receiver = deploy_probe_receiver(b).await;
    let user = DevAccount::user(0);

    probe_send(a, &user, sender, b, receiver, b"hello chain b", Some(250_000)).await;
    let relayer = devnet.relayer().unwrap();
    let messages =
        relayer.wait_for("one message", solvency_tests::WAIT, |m| m.len() == 1).await.unwrap();
    let delivered = relayer.wait_final(messages[0].id, WAIT).await.unwrap();
    assert!(
        matches!(delivered.state, MessageState::Success { receiver_called: true, .. }),
        "{delivered:?}"
    );
    assert_eq!(delivered.source_chain_selector, a.selector);
    assert_eq!(delivered.dest_chain_selector, b.selector);
    assert_eq!(delivered.sender, sender);
    assert_eq!(delivered.gas_limit, U256::from(250_000u64));

    let probe = ProbeReceiver::new(receiver, reader(b));
    assert_eq!(probe.s_received().call().await.unwrap(), U256::from(1u64));
    assert_eq!(probe.s_lastSourceChainSelector().call().await.unwrap(), a.selector);
    assert_eq!(probe.s_lastSender().call().await.unwrap(), sender);
    assert_eq!(probe.s_lastMessageId().call().await.unwrap(), delivered.id);
    assert_eq!(probe.s_lastData().call().await.unwrap(), Bytes::from_static(b"hello chain b"));
    // The receiver ran under the gas limit of the message's extraArgs, not the 200k default.
    let gas_left = probe.s_lastGasLeft().call().await.unwrap();
    assert!(gas_left > U256::from(200_000u64) && gas_left < U256::from(250_000u64), "{gas_left}");

    devnet.shutdown().await;
}

#[tokio::test]
async fn reverting_receiver_stays_failed_until_retried_after_the_fix() {
    failed_until_retried(false).await;
}

#[tokio::test]
async fn over_lanes_a_reverting_receiver_stays_failed_until_retried_after_the_fix() {
    failed_until_retried(true).await;
}

async fn failed_until_retried(lanes: bool) {
    let devnet = devnet_on(3, lanes).await;
    let (a, c) = (devnet.chain(0), devnet.chain(2));
    let sender = deploy_probe_sender(a).await;
    let receiver = deploy_probe_receiver(c).await;
    let owner = as_account(c, &c.deployer);
    let probe = ProbeReceiver::new(receiver, &owner);
    probe.setReject(true).send().await.unwrap().get_receipt().await.unwrap();
    let user = DevAccount::user(1);
    let relayer = devnet.relayer().unwrap();

    probe_send(a, &user, sender, c, receiver, b"first", None).await;
    let first = relayer.wait_for("a message", WAIT, |m| m.len() == 1).await.unwrap()[0].id;
    let failed = relayer.wait_final(first, WAIT).await.unwrap();
    let MessageState::Failed { revert_data, .. } = &failed.state else {
        panic!("expected FAILED, got {failed:?}")
    };
    let expected = ProbeReceiver::ProbeRejected { messageId: first }.abi_encode();
    assert_eq!(revert_data.as_ref(), expected.as_slice(), "revert data is the receiver's error");

    // More traffic goes by; the failed message is not retried on its own.
    probe_send(a, &user, sender, c, receiver, b"second", None).await;
    let messages = relayer
        .wait_for("the second message to fail", WAIT, |m| m.len() == 2 && m[1].state.is_final())
        .await
        .unwrap();
    assert_eq!(messages[0].state, failed.state, "still FAILED, untouched");
    assert_eq!(messages[0].attempts, 1);

    // Fix the receiver, retry through the control endpoint (what `solvency devnet retry` does).
    probe.setReject(false).send().await.unwrap().get_receipt().await.unwrap();
    let client = ControlClient::new(devnet.deployment().relayer_url.clone());
    client.retry(first).await.unwrap();
    let retried = relayer.wait_final(first, WAIT).await.unwrap();
    assert!(matches!(retried.state, MessageState::Success { .. }), "{retried:?}");
    assert_eq!(retried.attempts, 2);
    assert_eq!(
        ProbeReceiver::new(receiver, reader(c)).s_lastData().call().await.unwrap(),
        Bytes::from_static(b"first")
    );

    // A delivered message cannot be delivered again.
    let again = client.retry(first).await.unwrap_err();
    assert!(again.to_string().contains("SUCCESS"), "{again}");

    devnet.shutdown().await;
}

#[tokio::test]
async fn relayer_restart_neither_loses_nor_repeats_a_message() {
    restart_neither_loses_nor_repeats(false).await;
}

#[tokio::test]
async fn over_lanes_a_relayer_restart_neither_loses_nor_repeats_a_message() {
    restart_neither_loses_nor_repeats(true).await;
}

async fn restart_neither_loses_nor_repeats(lanes: bool) {
    let mut devnet = devnet_on(2, lanes).await;
    let (a, b) = (devnet.chain(0).clone(), devnet.chain(1).clone());
    let sender = deploy_probe_sender(&a).await;
    let receiver = deploy_probe_receiver(&b).await;
    let user = DevAccount::user(0);

    probe_send(&a, &user, sender, &b, receiver, b"before", None).await;
    let relayer = devnet.relayer().unwrap();
    relayer
        .wait_for("the first delivery", WAIT, |m| m.len() == 1 && m[0].state.name() == "SUCCESS")
        .await
        .unwrap();

    devnet.stop_relayer().await;
    // Two identical messages while the relayer is down: both must arrive, once each.
    probe_send(&a, &user, sender, &b, receiver, b"while down", None).await;
    probe_send(&a, &user, sender, &b, receiver, b"while down", None).await;
    devnet.start_relayer().await.unwrap();

    let relayer = devnet.relayer().unwrap();
    let messages = relayer
        .wait_for("three deliveries", WAIT, |m| {
            m.len() == 3 && m.iter().all(|m| m.state.name() == "SUCCESS")
        })
        .await
        .unwrap();
    assert_ne!(messages[1].id, messages[2].id, "identical sends are distinct messages");
    assert!(messages.iter().all(|m| m.attempts == 1), "nothing was sent twice: {messages:?}");
    let probe = ProbeReceiver::new(receiver, reader(&b));
    assert_eq!(probe.s_received().call().await.unwrap(), U256::from(3u64));

    devnet.shutdown().await;
}

#[tokio::test]
async fn message_from_a_sender_not_allow_listed_is_refused_by_the_hub() {
    let devnet = devnet(3, vec![]).await;
    let (hub, spoke_chain) = (devnet.hub().clone(), devnet.chain(1).clone());
    let intruder = deploy_probe_sender(&spoke_chain).await;
    let hub_address = hub.hub.unwrap();

    probe_send(&spoke_chain, &DevAccount::user(0), intruder, &hub, hub_address, b"forged", None)
        .await;
    let relayer = devnet.relayer().unwrap();
    let id = relayer.wait_for("a message", WAIT, |m| m.len() == 1).await.unwrap()[0].id;
    let refused = relayer.wait_final(id, WAIT).await.unwrap();
    let MessageState::Failed { revert_data, .. } = &refused.state else {
        panic!("expected FAILED, got {refused:?}")
    };
    let expected = SolvencyHub::UnknownSender {
        sourceChainSelector: spoke_chain.selector,
        sender: intruder.abi_encode().into(),
    }
    .abi_encode();
    assert_eq!(revert_data.as_ref(), expected.as_slice());
    let delivered = SolvencyHub::new(hub_address, reader(&hub))
        .ReportDelivered_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert!(delivered.is_empty(), "the hub emitted nothing for the forged report");

    devnet.shutdown().await;
}

#[tokio::test]
async fn the_same_address_trap_cannot_happen() {
    let devnet = devnet(3, vec![]).await;
    let chains = &devnet.deployment().chains;

    // Every receiver of the deployment has code only on its own chain.
    for chain in chains {
        for other in chains.iter().filter(|o| o.selector != chain.selector) {
            let code = reader(other).get_code_at(chain.oracle()).await.unwrap();
            assert!(code.is_empty(), "{} receiver has code on {}", chain.name, other.name);
        }
    }

    // A report from a spoke goes to the hub only: nothing runs on the spoke's own chain.
    let spoke_chain = &chains[1];
    let spoke = solvency_ccip::bindings::spoke::SolvencySpoke::new(
        spoke_chain.spoke.unwrap(),
        as_account(spoke_chain, &spoke_chain.reporter),
    );
    spoke
        .submitReport(1, Bytes::from_static(b"sealed"))
        .value(U256::from(10u64.pow(16)))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let relayer = devnet.relayer().unwrap();
    let id = relayer.wait_for("the report", WAIT, |m| m.len() == 1).await.unwrap()[0].id;
    let report = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(!report.delivered_on_source);

    // Why the rule matters: one account deploying the same receiver on two chains at the same
    // nonce gets the same address, and the mock router calls it on the source chain too. The
    // relayer flags it.
    let (a, b) = (&chains[0], &chains[1]);
    let careless = DevAccount::user(3);
    let on_a = *ProbeReceiver::deploy(as_account(a, &careless), a.router).await.unwrap().address();
    let on_b = *ProbeReceiver::deploy(as_account(b, &careless), b.router).await.unwrap().address();
    assert_eq!(on_a, on_b);
    let sender = deploy_probe_sender(a).await;
    probe_send(a, &careless, sender, b, on_b, b"oops", None).await;
    let trapped =
        relayer.wait_for("the trapped send", WAIT, |m| m.len() == 2).await.unwrap()[1].clone();
    assert!(trapped.delivered_on_source, "the relayer flags the trap");
    let local = ProbeReceiver::new(on_a, reader(a)).s_received().call().await.unwrap();
    assert_eq!(local, U256::from(1u64), "the source-chain twin was called by mistake");

    devnet.shutdown().await;
}

#[tokio::test]
async fn a_delivery_the_node_refuses_fails_and_does_not_hold_up_later_messages() {
    let devnet = devnet(2, vec![]).await;
    let (a, b) = (devnet.chain(0).clone(), devnet.chain(1).clone());
    let sender = deploy_probe_sender(&a).await;
    let receiver = deploy_probe_receiver(&b).await;
    let user = DevAccount::user(0);
    let relayer = devnet.relayer().unwrap();
    // The relayer's account on chain b cannot pay for gas: the node refuses the delivery outright.
    let provider = reader(&b);
    let funded = provider.get_balance(b.relayer.address).await.unwrap();
    let set_balance = |balance: U256| {
        let provider = provider.clone();
        let account = b.relayer.address;
        async move {
            provider
                .raw_request::<_, ()>("anvil_setBalance".into(), (account, balance))
                .await
                .unwrap();
        }
    };
    set_balance(U256::ZERO).await;
    probe_send(&a, &user, sender, &b, receiver, b"refused", None).await;
    let first = relayer.wait_for("a message", WAIT, |m| m.len() == 1).await.unwrap()[0].id;
    let refused = relayer.wait_final(first, WAIT).await.unwrap();
    let MessageState::Failed { reason, tx_hash: None, .. } = &refused.state else {
        panic!("expected FAILED without a mined transaction, got {refused:?}")
    };
    assert!(reason.contains("the node refused the delivery transaction"), "{reason}");

    // Funded again: a later message is delivered (nothing waits behind the refused one), and
    // the refused one is delivered by a retry, once.
    set_balance(funded).await;
    probe_send(&a, &user, sender, &b, receiver, b"later", None).await;
    let messages = relayer
        .wait_for("the later message", WAIT, |m| m.len() == 2 && m[1].state.is_final())
        .await
        .unwrap();
    assert!(matches!(messages[1].state, MessageState::Success { .. }), "{:?}", messages[1]);
    relayer.retry(first).unwrap();
    let retried = relayer.wait_final(first, WAIT).await.unwrap();
    assert!(matches!(retried.state, MessageState::Success { .. }), "{retried:?}");
    assert_eq!(
        ProbeReceiver::new(receiver, reader(&b)).s_received().call().await.unwrap(),
        U256::from(2u64)
    );
    devnet.shutdown().await;
}
