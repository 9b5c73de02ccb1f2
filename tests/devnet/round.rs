//! The confidential round over the devnet: bad input gets a clear error and changes nothing,
//! and the next honest round still succeeds.

use alloy::{
    primitives::{Bytes, U256},
    providers::Provider,
    sol_types::SolValue,
};
use solvency_aggregator::orchestrator::{Event, NotReady};
use solvency_ccip::bindings::{
    hub::SolvencyHub,
    router::{Client, MockCCIPRouter},
    spoke::SolvencySpoke,
};
use solvency_chain_adapters::PublishError;
use solvency_devnet::{DevAccount, MessageState};
use solvency_enclave::{AssessError, AttestationSigner, IngestError, SolvencyAttestation};
use solvency_enclave_host::Refusal;
use solvency_registry::schema::PolicySection;
use solvency_tests::{
    WAIT, as_account, deploy_probe_sender, probe_send, reader,
    round::{Round, healthy, now, sinking},
};

/// The rule a refused report broke.
fn rule(event: &Event) -> &IngestError {
    match event {
        Event::ReportRefused { refusal: Refusal::Report { error }, .. } => error,
        other => panic!("not a refused report: {other:?}"),
    }
}

#[tokio::test]
async fn bad_reports_are_refused_with_their_reason_and_the_next_honest_round_succeeds() {
    let mut round = Round::start(3, PolicySection::default()).await;
    let (epoch, solvent) = round.honest_round(1, |_| healthy()).await;
    assert_eq!((epoch, solvent), (1, true));
    let mut seq = 1;

    // Each bad report comes from chain 1 (a spoke): the hub delivers it, the enclave refuses it.
    type Rule = fn(&IngestError) -> bool;
    let bad: Vec<(&str, Rule)> = vec![
        ("flipped bit", |e| matches!(e, IngestError::OpenFailed { .. })),
        (
            "another chain's reporter key",
            |e| matches!(e, IngestError::WrongReporter { sealed_by, .. } if sealed_by == "devnet-3"),
        ),
        ("replayed seq", |e| matches!(e, IngestError::Replay { .. })),
        ("observedAt too old", |e| matches!(e, IngestError::Stale { max_age: 600, .. })),
        ("observedAt in the future", |e| {
            matches!(e, IngestError::FromTheFuture { max_skew: 30, .. })
        }),
        ("a seq no clock could give", |e| matches!(e, IngestError::SeqTooLarge { .. })),
    ];
    for (what, expected) in bad {
        seq += 1;
        let payload = match what {
            "flipped bit" => {
                let mut bytes = round.seal(1, 1, seq, now(), sinking()).to_vec();
                bytes[300] ^= 0x10;
                Bytes::from(bytes)
            }
            "another chain's reporter key" => round.seal(1, 2, seq, now(), sinking()),
            // The very bytes chain 1 sent in the last honest round, taken from the hub's logs.
            "replayed seq" => round.last_delivered_payload(1).await,
            "observedAt too old" => round.seal(1, 1, seq, now() - 601, sinking()),
            "observedAt in the future" => round.seal(1, 1, seq, now() + 120, sinking()),
            _ => round.seal(1, 1, u64::MAX, now(), sinking()),
        };
        let submitted_seq = match what {
            "replayed seq" => seq - 1,
            "a seq no clock could give" => u64::MAX,
            _ => seq,
        };
        let hub_epoch = round.hub_epoch().await;
        round.submit_payload(1, submitted_seq, payload).await;
        let event = round.next_event(|e| matches!(e, Event::ReportRefused { .. })).await;
        assert!(expected(rule(&event)), "{what}: {event:?}");
        assert_eq!(round.hub_epoch().await, hub_epoch, "{what}: nothing was published");

        seq += 1;
        let (next, solvent) = round.honest_round(seq, |_| healthy()).await;
        assert_eq!(next, hub_epoch + 1, "{what}: the next honest round publishes the next epoch");
        assert!(solvent, "{what}: the refused figures were not counted");
    }
    round.stop().await;
}

#[tokio::test]
async fn a_report_from_a_sender_not_allow_listed_never_reaches_the_enclave() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    let spoke_chain = round.devnet.chain(2).clone();
    let intruder = deploy_probe_sender(&spoke_chain).await;
    let hub = round.devnet.hub().clone();
    // A well-formed (SolvencySpoke-shaped) message from an unknown contract on a known chain.
    let forged = (2u64, round.seal(2, 2, 2, now(), sinking())).abi_encode_params();
    probe_send(
        &spoke_chain,
        &DevAccount::user(0),
        intruder,
        &hub,
        hub.hub.unwrap(),
        &forged,
        Some(300_000),
    )
    .await;
    let relayer = round.devnet.relayer().unwrap();
    let messages = relayer
        .wait_for("the forged message to fail", WAIT, |m| {
            m.iter().any(|m| m.sender == intruder && m.state.is_final())
        })
        .await
        .unwrap();
    let forged = messages.iter().find(|m| m.sender == intruder).unwrap();
    assert!(matches!(&forged.state, MessageState::Failed { .. }), "{forged:?}");

    let (epoch, solvent) = round.honest_round(2, |_| healthy()).await;
    assert_eq!((epoch, solvent), (2, true));
    round.stop().await;
}

#[tokio::test]
async fn a_silent_required_chain_stops_attestations_and_consumers_fail_closed() {
    let policy = PolicySection {
        max_report_age_secs: 60,
        attestation_validity_secs: 30,
        attestation_interval_secs: 1,
        ..PolicySection::default()
    };
    let mut round = Round::start(3, policy).await;
    // Chain 2's report is accepted but will be stale in ~10 s (a margin for a loaded machine
    // between sealing and ingest).
    for i in 0..3 {
        let observed = if i == 2 { now() - 50 } else { now() };
        let payload = round.seal(i, i, 1, observed, healthy());
        round.submit_payload(i, 1, payload).await;
    }
    round.published_and_delivered(0).await;

    // Chains 0 and 1 keep reporting; chain 2 is silent. The enclave stops attesting.
    for i in 0..2 {
        let payload = round.seal(i, i, 2, now(), healthy());
        round.submit_payload(i, 2, payload).await;
    }
    round
        .next_event(|e| {
            matches!(e, Event::NotReady { reason: NotReady::Assess(AssessError::StaleReport { chain, .. }) }
                if chain == "devnet-3")
        })
        .await;
    let frozen = round.hub_epoch().await;
    // Several more cadence ticks: still no attestation.
    for _ in 0..3 {
        let event = round
            .next_event(|e| matches!(e, Event::NotReady { .. } | Event::Published { .. }))
            .await;
        assert!(matches!(event, Event::NotReady { .. }), "{event:?}");
    }
    assert_eq!(round.hub_epoch().await, frozen);

    // Chain 2 speaks again: the next round publishes.
    round.submit_all(3, |_| healthy()).await;
    round.published_and_delivered(frozen).await;

    // Then the aggregator falls silent: once validUntil passes, every chain reads false.
    round.expect_fail_closed_after(31).await;
    round.stop().await;
}

#[tokio::test]
async fn an_older_epoch_arriving_after_a_newer_one_is_ignored() {
    // On MockCCIPRouter, whose `routeMessage` the late delivery below is sent through by hand.
    let mut round = Round::start_mock(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    let (newer, _) = round.honest_round(2, |_| healthy()).await;

    // A late CCIP delivery of an older, validly signed attestation (solvent = false) from the
    // hub to spoke 1, through the spoke chain's router as the relayer would deliver it.
    let keys = round.enclave_keys();
    let hub = round.devnet.hub().clone();
    let spoke_chain = round.devnet.chain(1).clone();
    let stale = SolvencyAttestation {
        deploymentId: round.devnet.deployment().deployment_id,
        epoch: newer - 1,
        solvent: false,
        issuedAt: now(),
        validUntil: now() + 600,
        policyDigest: round.registry.network().unwrap().policy.digest(),
        quoteRound: 0,
        quoteHead: Default::default(),
        ..Default::default()
    };
    let signatures = AttestationSigner::sign_all(&[&keys.signer], &stale);
    // A late message in the v2 format: its leaf and proof are not even checked, the epoch is.
    let data = (
        solvency_ccip::bindings::spoke::SolvencyAttestation::Attestation::from(&stale),
        signatures,
        solvency_ccip::bindings::spoke::SolvencyAttestation::ChainLeaf::from(
            &solvency_enclave::ChainLeaf::default(),
        ),
        Vec::<alloy::primitives::B256>::new(),
        Bytes::from_static(b"late instruction"),
    )
        .abi_encode_params();
    let relayer_account = as_account(&spoke_chain, &spoke_chain.relayer);
    let router = MockCCIPRouter::new(spoke_chain.router, &relayer_account);
    let receipt = router
        .routeMessage(
            Client::Any2EVMMessage {
                messageId: alloy::primitives::keccak256("late"),
                sourceChainSelector: hub.selector,
                sender: hub.hub.unwrap().abi_encode().into(),
                data: data.into(),
                destTokenAmounts: vec![],
            },
            5_000,
            U256::from(300_000u64),
            spoke_chain.spoke.unwrap(),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let executed = receipt
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<MockCCIPRouter::MsgExecuted>().ok())
        .expect("the router called the spoke");
    assert!(executed.inner.success, "ignored, not reverted: the CCIP message must not stay FAILED");
    let ignored = receipt
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<SolvencySpoke::AttestationIgnored>().ok())
        .expect("AttestationIgnored emitted");
    assert_eq!((ignored.inner.epoch, ignored.inner.latestEpoch), (newer - 1, newer));
    let state = &round.oracles().await[1];
    assert_eq!(state.attestation.epoch, newer);
    assert!(state.solvent, "the late insolvent epoch did not overwrite the newer one");

    let (next, solvent) = round.honest_round(3, |_| healthy()).await;
    assert_eq!((next, solvent), (newer + 1, true));
    round.stop().await;
}

#[tokio::test]
async fn the_enclave_state_survives_aggregator_restarts() {
    // A short cadence: after the restart, an attestation comes without any new report.
    let policy = PolicySection { attestation_interval_secs: 2, ..PolicySection::default() };
    let mut round = Round::start(2, policy).await;
    let (first, _) = round.honest_round(1, |_| healthy()).await;
    // Restarted with its state: the ledger comes back from the hub's logs (it held amounts and
    // was not persisted), the epoch, the seqs and the report digests from the state file.
    round.restart_aggregator(false).await;
    // Without fresh reports, the cadence attests again from the restored ledger: the enclave
    // recognised its last accepted reports.
    let (again, solvent) = round.published_and_delivered(first).await;
    assert_eq!((again, solvent), (first + 1, true));
    // A replay of the last round's exact bytes is still a replay after the restart.
    let replayed = round.last_delivered_payload(1).await;
    round.submit_payload(1, 1, replayed).await;
    let event = round.next_event(|e| matches!(e, Event::ReportRefused { .. })).await;
    assert!(matches!(rule(&event), IngestError::Replay { seq: 1, last_seq: 1, .. }), "{event:?}");
    let (second, _) = round.honest_round(2, |_| healthy()).await;
    assert_eq!(second, again + 1);
    // A new instance that remembers nothing still goes above what the hub holds.
    round.restart_aggregator(true).await;
    let (third, _) = round.honest_round(3, |_| healthy()).await;
    assert_eq!(third, second + 1);
    round.stop().await;
}

#[tokio::test]
async fn the_rust_digest_equals_the_contracts_digest() {
    let round = Round::start(2, PolicySection::default()).await;
    let hub_chain = round.devnet.hub().clone();
    let hub = SolvencyHub::new(hub_chain.hub.unwrap(), reader(&hub_chain));
    for epoch in [1u64, 7, u64::MAX] {
        let attestation = SolvencyAttestation {
            deploymentId: alloy::primitives::keccak256(epoch.to_be_bytes()),
            epoch,
            solvent: epoch % 2 == 1,
            issuedAt: now(),
            validUntil: now() + epoch % 1000,
            reportsDigest: alloy::primitives::keccak256("reports"),
            chainsRoot: alloy::primitives::keccak256("chains"),
            ledgerRoot: alloy::primitives::keccak256("ledger"),
            parentLedgerRoot: alloy::primitives::keccak256("parent"),
            policyDigest: alloy::primitives::keccak256("policy"),
            quoteRound: 0,
            quoteHead: Default::default(),
        };
        let onchain = hub.attestationDigest((&attestation).into()).call().await.unwrap();
        assert_eq!(onchain, attestation.digest(), "epoch {epoch}");
    }
    round.stop().await;
}

#[tokio::test]
async fn a_hub_that_cannot_pay_fees_gets_a_clear_error_and_the_round_resumes_once_funded() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    let hub_chain = round.devnet.hub().clone();
    let hub_address = hub_chain.hub.unwrap();
    let owner = as_account(&hub_chain, &hub_chain.deployer);
    let balance = solvency_tests::drain_hub(&hub_chain).await;

    round.submit_all(2, |_| healthy()).await;
    let Event::PublishFailed { error } =
        round.next_event(|e| matches!(e, Event::PublishFailed { .. })).await
    else {
        unreachable!()
    };
    assert!(
        matches!(&error, PublishError::HubCannotPay { available, .. } if available.is_zero()),
        "{error}"
    );
    assert!(error.to_string().contains("fund it"), "{error}");
    assert_eq!(round.hub_epoch().await, 1, "nothing was published, nothing was spent");

    // Fund the hub again: the failed publish is retried with the statement signed for it, so
    // no epoch is used up by the failures.
    let tx = alloy::rpc::types::TransactionRequest::default().to(hub_address).value(balance);
    owner.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    let deadline = tokio::time::Instant::now() + solvency_tests::WAIT;
    let retried = loop {
        let event = tokio::time::timeout_at(deadline, round.events.recv()).await.unwrap().unwrap();
        if let Event::Published { published, .. } = event {
            break published;
        }
    };
    assert_eq!(retried.epoch, 2, "the statement signed while the hub could not pay");
    let (epoch, solvent) = round.honest_round(3, |_| healthy()).await;
    assert_eq!((epoch, solvent), (3, true));
    round.stop().await;
}

#[tokio::test]
async fn an_aggregator_given_an_edited_policy_refuses_to_start() {
    let mut round = Round::start(2, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    // The operator lowers the ratio in networks.toml to call a sinking deployment solvent. The
    // contracts' owner set the policy digest: the aggregator says so and does not start (and
    // were it to, the hub would refuse every attestation — the contracts' tests show that).
    round.restart_with_policy(|p| p.solvency_ratio_bps = 1).await;
    let refused = round.aggregator_exit().await.unwrap_err().to_string();
    assert!(
        refused.contains("refusing to start") && refused.contains("policy digest"),
        "{refused}"
    );
    assert!(round.oracles().await.iter().all(|o| o.attestation.epoch == 1), "nothing published");
    round.stop().await;
}

#[tokio::test]
async fn a_statement_signed_before_a_restart_is_the_one_published_after_it() {
    let mut round = Round::start(2, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    // The hub cannot pay: epoch 2 is signed, not published.
    let hub_chain = round.devnet.hub().clone();
    let hub_address = hub_chain.hub.unwrap();
    let owner = as_account(&hub_chain, &hub_chain.deployer);
    let balance = solvency_tests::drain_hub(&hub_chain).await;
    round.submit_all(2, |_| healthy()).await;
    round.next_event(|e| matches!(e, Event::PublishFailed { .. })).await;
    round.stop_aggregator().await;
    let state_file =
        round.registry.aggregator.state_dir.join(solvency_aggregator::orchestrator::ENCLAVE_STATE);
    let state: solvency_enclave::EnclaveState =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    let signed = state.last_signed.expect("epoch 2 was signed").attestation;
    assert_eq!(signed.epoch, 2);

    // Later (a second on, so a new statement would carry another issuedAt), restarted and
    // funded: the enclave remembers what it signed for epoch 2 and publishes exactly that, never
    // a second statement for the same epoch.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let tx = alloy::rpc::types::TransactionRequest::default().to(hub_address).value(balance);
    owner.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    round.restart_aggregator(false).await;
    let (epoch, _) = round.published_and_delivered(1).await;
    assert_eq!(epoch, 2);
    let onchain: SolvencyAttestation = SolvencyHub::new(hub_address, reader(&hub_chain))
        .latestAttestation()
        .call()
        .await
        .unwrap()
        .into();
    assert_eq!(onchain, signed, "the statement signed before the restart");
    round.stop().await;
}
