//! The whole round on anvil forks of chains where CCIP's real `Router` runs: a local upstream
//! (contracts-ccip 1.6.2's `Router`, an on-ramp emitting OnRamp 1.6's `CCIPMessageSent`, an
//! off-ramp the Router accepts) stands in for public chains, and the devnet forks it as it would
//! fork them.

use alloy::{primitives::Address, providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use solvency_ccip::bindings::ccip_router::Router::MessageExecuted;
use solvency_chain_adapters::rpc::connect_str;
use solvency_devnet::{
    MessageState,
    upstream::{Upstream, UpstreamConfig},
};
use solvency_registry::schema::PolicySection;
use solvency_tests::round::{Round, healthy};

fn reader(url: &str) -> alloy::providers::DynProvider {
    connect_str(url).expect("a loopback URL")
}

#[tokio::test]
async fn a_whole_round_runs_on_forks_of_a_real_ccip_deployment() {
    let upstream = Upstream::start(UpstreamConfig::default()).await.expect("upstream starts");
    let mut upstream_heads = Vec::new();
    for chain in upstream.chains() {
        upstream_heads.push(reader(&chain.url).get_block_number().await.unwrap());
    }
    let mut round = Round::start_forked(upstream.forks(), PolicySection::default()).await;

    // Each chain is a fork of its upstream chain and uses the Router deployed there.
    let deployment = round.devnet.deployment().clone();
    for (chain, up) in deployment.chains.iter().zip(upstream.chains()) {
        assert_eq!((chain.chain_id, chain.selector), (up.chain_id, up.selector), "{}", chain.name);
        assert_eq!(chain.router, up.router, "{}: the upstream's own Router", chain.name);
        let fork = chain.fork.as_ref().expect("a forked chain says where from");
        assert!(fork.block >= 1, "{}", chain.name);
    }

    // Two rounds: reports in through the spokes' on-ramps, attestations out to every chain.
    assert_eq!(round.honest_round(1, |_| healthy()).await, (1, true));
    assert_eq!(round.honest_round(2, |_| healthy()).await, (2, true));

    // Every message went through an on-ramp (its id is the on-ramp's) and was executed by the
    // destination's Router once, as the off-ramp that Router accepts.
    let messages = round.devnet.relayer().unwrap().messages();
    assert!(messages.len() >= 2 * 4, "2 reports and 2 attestations per round: {messages:?}");
    for message in &messages {
        assert!(
            matches!(message.state, MessageState::Success { receiver_called: true, .. }),
            "{message:?}"
        );
        assert_eq!(message.id, message.router_message_id, "the on-ramp's message id");
    }
    for (chain, up) in deployment.chains.iter().zip(upstream.chains()) {
        let fork = chain.fork.as_ref().unwrap();
        let logs = reader(&chain.rpc_url)
            .get_logs(
                &Filter::new()
                    .address(chain.router)
                    .event_signature(MessageExecuted::SIGNATURE_HASH)
                    .from_block(fork.block + 1),
            )
            .await
            .unwrap();
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
        assert_eq!(reader(&chain.url).get_block_number().await.unwrap(), head, "{}", chain.name);
    }
    round.stop().await;
    upstream.shutdown().await;
}
