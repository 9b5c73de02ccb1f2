//! Never a wrong answer: reports survive restarts, a restart never publishes the past, one
//! aggregator owns its state, one dead endpoint does not stop every chain, bad news goes out
//! at once, and the devnet relayer never wedges.

use alloy::{primitives::Bytes, providers::Provider};
use solvency_aggregator::orchestrator::{self, Event, Setup};
use solvency_devnet::{DevAccount, Devnet, DevnetConfig};
use solvency_registry::{Registry, schema::PolicySection};
use solvency_tests::{
    WAIT,
    round::{Round, healthy, sinking},
};
use tokio_util::sync::CancellationToken;

/// The first attestation published from now on: (epoch, verdict, reports digest).
async fn first_published(round: &mut Round) -> (u64, bool, alloy::primitives::B256) {
    let Event::Published { published, .. } =
        round.next_event(|e| matches!(e, Event::Published { .. })).await
    else {
        unreachable!()
    };
    (published.epoch, published.solvent, published.reports_digest)
}

#[tokio::test]
async fn reports_sent_while_the_aggregator_was_down_are_judged_and_only_the_latest_is_published() {
    let mut round = Round::start(3, PolicySection::default()).await;
    let (first, _) = round.honest_round(1, |_| healthy()).await;
    round.stop_aggregator().await;
    // A backlog of three rounds, the last one insolvent, lands while nobody reads the hub.
    round.submit_all(2, |_| healthy()).await;
    round.submit_all(3, |_| healthy()).await;
    let latest = round.submit_all(4, |i| if i == 1 { sinking() } else { healthy() }).await;
    // Every report of the backlog is on the hub before the aggregator comes back.
    round.wait_on_hub(4).await;
    round.restart_aggregator(false).await;
    // The backlog is judged in full before anything is attested: the first (and only) answer
    // is about the latest reports. Publishing round 2 or 3 first would tell consumers `true`
    // after an insolvent report had reached the hub.
    let (epoch, solvent, digest) = first_published(&mut round).await;
    assert_eq!((epoch, solvent, digest), (first + 1, false, latest));
    round.stop().await;
}

#[tokio::test]
async fn a_lost_state_directory_does_not_replay_history() {
    let mut round = Round::start(2, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    round.honest_round(2, |i| if i == 1 { sinking() } else { healthy() }).await;
    let latest = round.submit_all(3, |_| healthy()).await;
    round.published_and_delivered(2).await;
    round.stop_aggregator().await;
    // Everything the aggregator kept is gone: cursor, enclave state, all of it.
    std::fs::remove_dir_all(&round.registry.aggregator.state_dir).unwrap();
    round.restart_aggregator(false).await;
    // Every report on the hub is read again from block 0, but the only answer is the latest.
    let (epoch, solvent, digest) = first_published(&mut round).await;
    assert_eq!((epoch, solvent, digest), (4, true, latest), "no superseded answer first");
    round.stop().await;
}

#[tokio::test]
async fn a_state_directory_of_another_hub_is_refused_with_what_to_do() {
    let mut round = Round::start(2, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    round.stop_aggregator().await;
    // The same directory, as a devnet started again on it would find it: another genesis.
    let path = round.registry.aggregator.state_dir.join(orchestrator::state::STATE_FILE);
    let mut state: orchestrator::state::AggregatorState =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state.identity.genesis = alloy::primitives::B256::repeat_byte(7);
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    let setup = Setup::in_process(
        round.registry.clone(),
        round.enclave_keys(),
        DevAccount::publisher().signer(),
    )
    .unwrap();
    let err =
        orchestrator::run(setup, CancellationToken::new(), None).await.unwrap_err().to_string();
    assert!(err.contains("belongs to another deployment or chain"), "{err}");
    assert!(err.contains("move the old one away"), "{err}");
    round.stop().await;
}

#[tokio::test]
async fn two_aggregators_cannot_share_a_state_directory() {
    let round = Round::start(2, PolicySection::default()).await;
    // The round's aggregator runs; a second one on the same registry is refused before it
    // does anything.
    let err = Setup::in_process(
        round.registry.clone(),
        round.enclave_keys(),
        DevAccount::publisher().signer(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("in use by another process"), "{err}");
    assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
    round.stop().await;
}

#[tokio::test]
async fn one_unreachable_spoke_endpoint_does_not_stop_attestations_on_every_chain() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    // The aggregator loses its endpoint for chain 2 (the chain itself runs on: CCIP, here the
    // relayer, still delivers there).
    let mut file = round.registry.source().clone();
    file.chains[2].rpc_url = "http://127.0.0.1:9".into();
    round.registry =
        Registry::from_source(file, &round.registry.path().display().to_string()).unwrap();
    round.restart_aggregator(false).await;
    round.submit_all(2, |i| if i == 1 { sinking() } else { healthy() }).await;
    let (epoch, solvent, _) = first_published(&mut round).await;
    assert!(!solvent);
    // Every chain, the one the aggregator cannot reach included, holds the new epoch.
    let readable = round.wired.registry.network().unwrap().chains.clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let states = solvency_chain_adapters::read_all(
            &readable,
            solvency_chain_adapters::Backoff::default(),
        )
        .await;
        if states
            .iter()
            .all(|s| s.state.as_ref().is_ok_and(|s| s.attestation.epoch == epoch && !s.solvent))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "epoch {epoch} did not reach every chain");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    round.stop().await;
}

#[tokio::test]
async fn bad_news_is_attested_at_once_not_at_the_next_tick_or_round() {
    // A cadence far beyond the test's patience: only the changed verdict can trigger.
    let policy = PolicySection { attestation_interval_secs: 600, ..PolicySection::default() };
    let mut round = Round::start(3, policy).await;
    let (first, _) = round.honest_round(1, |_| healthy()).await;
    // Only chain 1 reports, and it sinks the deployment; chains 0 and 2 stay quiet.
    let payload = round.seal(1, 1, 2, solvency_tests::round::now(), sinking());
    round.submit_payload(1, 2, payload).await;
    let (epoch, solvent, _) = first_published(&mut round).await;
    assert_eq!((epoch, solvent), (first + 1, false));
    round.stop().await;
}

#[tokio::test]
async fn an_oversized_report_fails_its_delivery_and_does_not_wedge_the_relayer() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    // 40 KB from chain 1's reporter: more calldata than the old gas formula paid for.
    round.submit_payload(1, 2, Bytes::from(vec![0xa5; 40_000])).await;
    let relayer = round.devnet.relayer().unwrap();
    let messages = relayer
        .wait_for("the oversized message to finish", WAIT, |m| {
            m.iter().any(|m| m.data.len() > 40_000 && m.state.is_final())
        })
        .await
        .unwrap();
    let oversized = messages.iter().find(|m| m.data.len() > 40_000).unwrap();
    assert!(
        oversized.state.name() == "FAILED" || oversized.state.name() == "SUCCESS",
        "{oversized:?}"
    );
    // Whatever the enclave makes of it, later messages to the hub flow.
    let (epoch, _) = round.honest_round(3, |_| healthy()).await;
    assert_eq!(epoch, 2);
    round.stop().await;
}

#[tokio::test]
async fn a_second_devnet_on_a_running_devnets_directory_is_refused_and_harms_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = || DevnetConfig {
        chains: 2,
        state_dir: Some(dir.path().to_owned()),
        ..DevnetConfig::default()
    };
    let first = Devnet::start(config()).await.unwrap();
    let deployment = std::fs::read(dir.path().join(solvency_devnet::DEPLOYMENT_FILE)).unwrap();
    let err = Devnet::start(config()).await.err().expect("refused").to_string();
    assert!(err.contains("in use by another process"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(solvency_devnet::DEPLOYMENT_FILE)).unwrap(),
        deployment
    );
    assert!(dir.path().join(solvency_devnet::RELAYER_JOURNAL).exists());
    let hub = first.hub().clone();
    assert!(
        solvency_tests::reader(&hub).get_block_number().await.is_ok(),
        "the first devnet still runs"
    );
    first.shutdown().await;
}

#[tokio::test]
async fn ingestion_and_publishing_go_on_while_a_delivery_is_held_back() {
    let mut round = Round::start(3, PolicySection::default()).await;
    let (first, _) = round.honest_round(1, |_| healthy()).await;
    // CCIP delivery stops: no attestation reaches a spoke until it resumes.
    round.wired.devnet.stop_relayer().await;
    // The hub chain's reporter reports directly: bad news, then good news.
    for (seq, figures, solvent) in [(2, sinking(), false), (3, healthy(), true)] {
        let payload = round.seal(0, 0, seq, solvency_tests::round::now(), figures);
        round.submit_payload(0, seq, payload).await;
        let (epoch, published_solvent, _) = first_published(&mut round).await;
        assert_eq!((epoch, published_solvent), (first + seq - 1, solvent));
    }
    // Both epochs were published while neither had landed on a spoke.
    let states = round.oracles().await;
    assert_eq!(states[0].attestation.epoch, first + 2);
    assert!(states[1..].iter().all(|s| s.attestation.epoch == first), "{states:?}");
    // Delivery resumes: every spoke gets the latest answer.
    round.wired.devnet.start_relayer().await.unwrap();
    let mut waiting: std::collections::BTreeSet<String> =
        round.registry.network().unwrap().spokes().map(|c| c.name.clone()).collect();
    while !waiting.is_empty() {
        let Event::Delivered { chain, .. } = round
            .next_event(
                |e| matches!(e, Event::Delivered { accepted, .. } if *accepted == first + 2),
            )
            .await
        else {
            unreachable!()
        };
        waiting.remove(&chain);
    }
    assert!(round.oracles().await.iter().all(|s| s.attestation.epoch == first + 2 && s.solvent));
    round.stop().await;
}
