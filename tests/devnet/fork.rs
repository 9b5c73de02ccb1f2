//! The whole round on anvil forks of chains where CCIP's real `Router` runs: a local upstream
//! (contracts-ccip 1.6.2's `Router`, an on-ramp emitting OnRamp 1.6's `CCIPMessageSent`, an
//! off-ramp the Router accepts) stands in for public chains, and the devnet forks it as it would
//! fork them.

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::Filter,
    sol_types::{SolError, SolEvent},
};
use solvency_ccip::bindings::{
    ccip_router::Router::{self, MessageExecuted},
    on_ramp::StandInOnRamp::CCIPMessageSent,
    probe_receiver::ProbeReceiver,
};
use solvency_chain_adapters::rpc::connect_str;
use solvency_devnet::{
    DevAccount, Devnet, DevnetConfig, Error, ForkSpec, MessageState,
    upstream::{Upstream, UpstreamConfig},
};
use solvency_registry::schema::PolicySection;
use solvency_tests::{
    WAIT, as_account, deploy_probe_receiver, deploy_probe_sender, probe_send,
    round::{Round, healthy},
};

fn at(url: &str) -> alloy::providers::DynProvider {
    connect_str(url).expect("a loopback URL")
}

#[tokio::test]
async fn a_whole_round_runs_on_forks_of_a_real_ccip_deployment() {
    let upstream = Upstream::start(UpstreamConfig::default()).await.expect("upstream starts");
    let mut upstream_heads = Vec::new();
    for chain in upstream.chains() {
        upstream_heads.push(at(&chain.url).get_block_number().await.unwrap());
    }
    let mut round = Round::start_forked(upstream.forks(), PolicySection::default()).await;

    // Each chain is a fork of its upstream chain and uses the Router deployed there.
    let deployment = round.devnet.deployment().clone();
    for ((chain, up), head) in deployment.chains.iter().zip(upstream.chains()).zip(&upstream_heads)
    {
        assert_eq!((chain.chain_id, chain.selector), (up.chain_id, up.selector), "{}", chain.name);
        assert_eq!(chain.router, up.router, "{}: the upstream's own Router", chain.name);
        let fork = chain.fork.as_ref().expect("a forked chain says where from");
        assert_eq!(fork.block, *head, "{}: forked at the upstream's head", chain.name);
    }

    // The registry it wrote passes `solvency check` (its devnet key on forks included); the
    // same registry pointed at the upstream chains themselves — not forks — is refused.
    use solvency_chain_adapters::preflight::{Check, preflight};
    let findings = preflight(&round.registry).await.unwrap();
    assert!(!solvency_chain_adapters::preflight::has_errors(&findings), "{findings:?}");
    let mut upstream_file = round.registry.source().clone();
    assert!(upstream_file.devnet.forked);
    for (chain, up) in upstream_file.chains.iter_mut().zip(upstream.chains()) {
        chain.rpc_url = up.url.clone();
    }
    let not_forks =
        solvency_registry::Registry::from_source(upstream_file, "upstream.toml").unwrap();
    let findings = preflight(&not_forks).await.unwrap();
    assert_eq!(findings.iter().filter(|f| f.check == Check::Fork).count(), 3, "{findings:?}");

    // Two rounds: reports in through the spokes' on-ramps, attestations out to every chain.
    assert_eq!(round.honest_round(1, |_| healthy()).await, (1, true));
    assert_eq!(round.honest_round(2, |_| healthy()).await, (2, true));

    // Every message went through an on-ramp (its id is the on-ramp's) and was executed by the
    // destination's Router once, as the off-ramp that Router accepts.
    // (A spoke's state changes before the relayer has recorded the delivery's outcome.)
    let messages = round
        .devnet
        .relayer()
        .unwrap()
        .wait_for("every message final", WAIT, |all| all.iter().all(|m| m.state.is_final()))
        .await
        .unwrap();
    assert!(messages.len() >= 2 * 4, "2 reports and 2 attestations per round: {messages:?}");
    let mut sent = Vec::new();
    for chain in &deployment.chains {
        let logs = since_fork::<CCIPMessageSent>(chain, None).await;
        sent.extend(logs.iter().map(|l| {
            l.log_decode::<CCIPMessageSent>().unwrap().inner.data.message.header.messageId
        }));
    }
    assert_eq!(sent.len(), messages.len(), "every on-ramp message relayed, nothing else");
    for message in &messages {
        assert!(
            matches!(message.state, MessageState::Success { receiver_called: true, .. }),
            "{message:?}"
        );
        assert!(sent.contains(&message.id), "the on-ramp's message id: {message:?}");
    }
    for (chain, up) in deployment.chains.iter().zip(upstream.chains()) {
        let logs = since_fork::<MessageExecuted>(chain, Some(chain.router)).await;
        let executed: Vec<_> =
            logs.iter().map(|l| l.log_decode::<MessageExecuted>().unwrap().inner.data).collect();
        let expected: Vec<_> =
            messages.iter().filter(|m| m.dest_chain_selector == chain.selector).collect();
        assert_eq!(executed.len(), expected.len(), "{}: each message executed once", chain.name);
        for message in expected {
            let runs = executed.iter().filter(|e| e.messageId == message.id).count();
            assert_eq!(runs, 1, "{}: {}", chain.name, message.id);
        }
        assert!(executed.iter().all(|e| e.offRamp == up.off_ramp), "{}", chain.name);
        assert_ne!(up.off_ramp, Address::ZERO);
    }

    // The upstream chains saw none of it.
    for (chain, head) in upstream.chains().iter().zip(upstream_heads) {
        assert_eq!(at(&chain.url).get_block_number().await.unwrap(), head, "{}", chain.name);
    }
    round.stop().await;
    upstream.shutdown().await;
}

/// Every `E` a forked chain logged since the fork (emitted by `address` only, if given).
async fn since_fork<E: SolEvent>(
    chain: &solvency_devnet::ChainDeployment,
    address: Option<Address>,
) -> Vec<alloy::rpc::types::Log> {
    let mut filter = Filter::new()
        .event_signature(E::SIGNATURE_HASH)
        .from_block(chain.fork.as_ref().expect("a forked chain").block + 1);
    if let Some(address) = address {
        filter = filter.address(address);
    }
    at(&chain.rpc_url).get_logs(&filter).await.unwrap()
}

type RampMessage = solvency_ccip::bindings::on_ramp::Internal::EVM2AnyRampMessage;

/// The last message the on-ramps of a forked chain sent, and its transaction.
async fn last_sent(
    chain: &solvency_devnet::ChainDeployment,
) -> (RampMessage, alloy::primitives::B256) {
    let logs = since_fork::<CCIPMessageSent>(chain, None).await;
    let log = logs.last().expect("a message was sent");
    (log.log_decode::<CCIPMessageSent>().unwrap().inner.data.message, log.transaction_hash.unwrap())
}

/// Delivers `sent` to `receiver` on `dest` as `off_ramp`, as a relayer would, by hand.
async fn deliver_by_hand(
    source: &solvency_devnet::ChainDeployment,
    dest: &solvency_devnet::ChainDeployment,
    off_ramp: Address,
    sent: &RampMessage,
    receiver: Address,
) -> alloy::rpc::types::TransactionReceipt {
    let by_hand = at(&dest.rpc_url);
    by_hand.raw_request::<_, ()>("anvil_impersonateAccount".into(), (off_ramp,)).await.unwrap();
    by_hand
        .raw_request::<_, ()>(
            "anvil_setBalance".into(),
            (off_ramp, alloy::primitives::U256::from(10u128.pow(18))),
        )
        .await
        .unwrap();
    let delivered = Router::new(dest.router, &by_hand)
        .routeMessage(
            solvency_ccip::bindings::ccip_router::Client::Any2EVMMessage {
                messageId: sent.header.messageId,
                sourceChainSelector: source.selector,
                sender: alloy::sol_types::SolValue::abi_encode(&sent.sender).into(),
                data: sent.data.clone(),
                destTokenAmounts: vec![],
            },
            5_000,
            alloy::primitives::U256::from(200_000u64),
            receiver,
        )
        .from(off_ramp)
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(delivered.status());
    delivered
}

/// Appends to a relayer journal what the relayer writes before it sends a delivery on a fork.
fn journal_routing(
    journal: &std::path::Path,
    source: &solvency_devnet::ChainDeployment,
    receiver: Address,
    sent: &RampMessage,
    source_tx: alloy::primitives::B256,
    off_ramp: Address,
    nonce: u64,
) {
    let message = solvency_devnet::RelayMessage {
        id: sent.header.messageId,
        source_chain_selector: source.selector,
        dest_chain_selector: sent.header.destChainSelector,
        sender: sent.sender,
        receiver,
        data: sent.data.clone(),
        gas_limit: alloy::primitives::U256::from(200_000u64),
        router_message_id: sent.header.messageId,
        source_tx,
        source_block: 0,
        token_transfers: 0,
        sequence_number: sent.header.sequenceNumber,
        tokens: Vec::new(),
        delivered_on_source: false,
        state: MessageState::Routing { off_ramp, nonce, tx_hash: None },
        attempts: 1,
        detected_at_ms: 0,
        finished_at_ms: None,
    };
    solvency_tests::journal_message(journal, &message);
}

/// Executions of message `id` by the Router on a forked chain since the fork.
async fn executions(
    chain: &solvency_devnet::ChainDeployment,
    id: alloy::primitives::B256,
) -> usize {
    let logs = since_fork::<MessageExecuted>(chain, Some(chain.router)).await;
    logs.iter()
        .filter(|l| l.log_decode::<MessageExecuted>().unwrap().inner.data.messageId == id)
        .count()
}

/// On forks, a third party's message whose receiver reverts stays FAILED with the receiver's
/// revert data (the Router returns it, as CCIP's off-ramp records a failed execution), and
/// `retry` delivers it again. A message the Router already executed — a delivery sent before
/// the relayer stopped, its outcome never journaled — is recorded as delivered, not sent again.
#[tokio::test]
async fn forked_deliveries_fail_are_retried_and_never_repeat() {
    let upstream =
        Upstream::start(UpstreamConfig { chains: 2, ..Default::default() }).await.unwrap();
    let mut devnet =
        Devnet::start(DevnetConfig { forks: upstream.forks(), users: 1, ..Default::default() })
            .await
            .expect("the fork devnet starts");
    let (source, dest) = (devnet.chain(0).clone(), devnet.chain(1).clone());
    let sender = deploy_probe_sender(&source).await;
    let receiver = deploy_probe_receiver(&dest).await;
    let probe = ProbeReceiver::new(receiver, as_account(&dest, &dest.deployer));
    probe.setReject(true).send().await.unwrap().get_receipt().await.unwrap();
    let user = DevAccount::user(0);

    // The receiver reverts: FAILED with its revert data.
    probe_send(&source, &user, sender, &dest, receiver, b"first", Some(200_000)).await;
    let relayer = devnet.relayer().unwrap();
    let seen = relayer
        .wait_for("the first message", WAIT, |all| all.iter().any(|m| m.state.is_final()))
        .await
        .unwrap();
    let first = seen.into_iter().find(|m| m.state.is_final()).unwrap();
    match &first.state {
        MessageState::Failed { revert_data, .. } => assert_eq!(
            &revert_data[..4],
            &ProbeReceiver::ProbeRejected::SELECTOR[..],
            "the receiver's own revert"
        ),
        other => panic!("not failed: {other:?}"),
    }
    assert_eq!(probe.s_received().call().await.unwrap(), alloy::primitives::U256::ZERO);

    // Fixed and retried: delivered, once more executed by the Router.
    probe.setReject(false).send().await.unwrap().get_receipt().await.unwrap();
    relayer.retry(first.id).unwrap();
    let retried = relayer.wait_final(first.id, WAIT).await.unwrap();
    assert!(matches!(retried.state, MessageState::Success { receiver_called: true, .. }));
    assert_eq!(probe.s_lastData().call().await.unwrap().as_ref(), b"first");
    assert_eq!(executions(&dest, first.id).await, 2, "the failed execution and the retry");

    // A delivery the relayer never recorded: sent as the off-ramp while it was stopped.
    devnet.stop_relayer().await;
    probe_send(&source, &user, sender, &dest, receiver, b"second", Some(200_000)).await;
    let (sent, _) = last_sent(&source).await;
    let off_ramp = upstream.chains()[1].off_ramp;
    let delivered = deliver_by_hand(&source, &dest, off_ramp, &sent, receiver).await;
    devnet.start_relayer().await.unwrap();
    let second = devnet.relayer().unwrap().wait_final(sent.header.messageId, WAIT).await.unwrap();
    assert_eq!(
        second.state,
        MessageState::Success { tx_hash: delivered.transaction_hash, receiver_called: true },
        "the execution already made, not a new one"
    );
    assert_eq!(executions(&dest, second.id).await, 1);
    assert_eq!(probe.s_received().call().await.unwrap(), alloy::primitives::U256::from(2u64));

    // A relayer killed after journaling two deliveries (ROUTING at the off-ramp's next two
    // nonces, as it journals before sending): the first was sent and mined — and its receiver
    // reverted, so only the nonce says it was sent — the second was not sent.
    devnet.stop_relayer().await;
    probe_send(&source, &user, sender, &dest, receiver, b"third", Some(200_000)).await;
    let third = last_sent(&source).await;
    probe_send(&source, &user, sender, &dest, receiver, b"fourth", Some(200_000)).await;
    let fourth = last_sent(&source).await;
    let nonce = at(&dest.rpc_url).get_transaction_count(off_ramp).await.unwrap();
    probe.setReject(true).send().await.unwrap().get_receipt().await.unwrap();
    let mined = deliver_by_hand(&source, &dest, off_ramp, &third.0, receiver).await;
    probe.setReject(false).send().await.unwrap().get_receipt().await.unwrap();
    let journal = devnet.state_dir().join(solvency_devnet::RELAYER_JOURNAL);
    for ((message, source_tx), nonce) in [(&third, nonce), (&fourth, nonce + 1)] {
        journal_routing(&journal, &source, receiver, message, *source_tx, off_ramp, nonce);
    }
    devnet.start_relayer().await.unwrap();
    let relayer = devnet.relayer().unwrap();
    let third = relayer.wait_final(third.0.header.messageId, WAIT).await.unwrap();
    match &third.state {
        MessageState::Failed { tx_hash, revert_data, .. } => {
            assert_eq!(*tx_hash, Some(mined.transaction_hash), "the one mined at the nonce");
            assert_eq!(&revert_data[..4], &ProbeReceiver::ProbeRejected::SELECTOR[..]);
        }
        other => panic!("not the mined execution's outcome: {other:?}"),
    }
    let fourth = relayer.wait_final(fourth.0.header.messageId, WAIT).await.unwrap();
    assert!(matches!(fourth.state, MessageState::Success { receiver_called: true, .. }));
    assert_eq!((executions(&dest, third.id).await, executions(&dest, fourth.id).await), (1, 1));
    assert_eq!(probe.s_received().call().await.unwrap(), alloy::primitives::U256::from(3u64));
    assert_eq!(probe.s_lastData().call().await.unwrap().as_ref(), b"fourth");
    devnet.shutdown().await;
    upstream.shutdown().await;
}

/// What cannot be forked as asked is refused before anything is deployed, naming the chain and
/// what to do: an endpoint that does not answer, an address that is not a Router, and two chains
/// with no CCIP lane between them.
#[tokio::test]
async fn forks_without_a_router_or_a_lane_are_refused() {
    let upstream =
        Upstream::start(UpstreamConfig { chains: 2, ..Default::default() }).await.unwrap();
    let start = |forks: Vec<ForkSpec>| {
        Devnet::start(DevnetConfig { forks, users: 0, ..Default::default() })
    };
    let refusal = |result: Result<Devnet, Error>| match result {
        Err(e @ Error::Fork { .. }) => e.to_string(),
        Err(other) => panic!("not a fork refusal: {other}"),
        Ok(_) => panic!("started"),
    };

    let mut dead = upstream.forks();
    // An endpoint that takes connections and closes them unanswered (held for the whole
    // test, so that no other process gets its port).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            drop(stream);
        }
    });
    dead[1].url = format!("http://127.0.0.1:{port}/SECRET-KEY");
    let text = refusal(start(dead).await);
    assert!(text.contains("fork fork-2: cannot read the chain id from http://127.0.0.1"), "{text}");
    assert!(!text.contains("SECRET-KEY"), "the URL's path is not shown: {text}");

    let mut not_a_router = upstream.forks();
    not_a_router[0].router = upstream.chains()[0].on_ramp;
    let text = refusal(start(not_a_router).await);
    assert!(text.contains("does not answer as a CCIP Router"), "{text}");
    let mut nothing = upstream.forks();
    nothing[0].router = Address::repeat_byte(0x11);
    let text = refusal(start(nothing).await);
    assert!(text.contains("no contract at") && text.contains("--router fork-1="), "{text}");

    // The upstream's owner points chain 1's lane to chain 2 at a contract that is no OnRamp 1.6.
    let (first, second) = (&upstream.chains()[0], &upstream.chains()[1]);
    let owner = DevAccount::derive(format!("upstream@{}", first.chain_id));
    let wallet =
        solvency_chain_adapters::rpc::connect_str_with_signer(&first.url, owner.signer()).unwrap();
    let lane = |on_ramp| Router::OnRamp { destChainSelector: second.selector, onRamp: on_ramp };
    let router = Router::new(first.router, &wallet);
    let apply = |on_ramp| router.applyRampUpdates(vec![lane(on_ramp)], vec![], vec![]);
    assert!(apply(first.off_ramp).send().await.unwrap().get_receipt().await.unwrap().status());
    let text = refusal(start(upstream.forks()).await);
    assert!(text.contains("is \"StandInOffRamp 1.6.0\", not an OnRamp 1.6"), "{text}");
    assert!(apply(first.on_ramp).send().await.unwrap().get_receipt().await.unwrap().status());

    // The upstream's owner removes the lane from chain 1 to chain 2.
    let owner = DevAccount::derive(format!("upstream@{}", upstream.chains()[1].chain_id));
    let wallet =
        solvency_chain_adapters::rpc::connect_str_with_signer(&second.url, owner.signer()).unwrap();
    let removed = Router::new(second.router, &wallet)
        .applyRampUpdates(
            vec![],
            vec![Router::OffRamp {
                sourceChainSelector: upstream.chains()[0].selector,
                offRamp: second.off_ramp,
            }],
            vec![],
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(removed.status());
    let text = refusal(start(upstream.forks()).await);
    assert!(
        text.contains("no CCIP lane from fork-1 to fork-2")
            && text.contains("accepts no off-ramp for messages from fork-1"),
        "{text}"
    );
    upstream.shutdown().await;
}
