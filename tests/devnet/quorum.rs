//! A k-of-n quorum of enclave instances (served on Unix sockets), and registration on evidence.

use alloy::{primitives::B256, providers::Provider};
use solvency_aggregator::{orchestrator::Event, registration::Registrar};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_chain_adapters::{DELIVERY_MARGIN, PublishError, decode_revert};
use solvency_devnet::DevAccount;
use solvency_enclave_host::EnclaveClient;
use solvency_registry::schema::PolicySection;
use solvency_tests::{
    as_account, reader,
    round::{Member, Round, healthy, now, sinking},
};

/// Fewer signatures than k came from registered signers.
fn short_of_signatures(counted: usize, needed: usize) -> impl Fn(&Event) -> bool {
    move |e| {
        matches!(e, Event::PublishFailed { error: PublishError::NotEnoughSignatures { counted: c, threshold, .. } }
            if *c == counted && *threshold == needed)
    }
}

const HONEST: [Member; 3] = [Member::Honest; 3];

#[tokio::test]
async fn two_of_three_survives_one_stopped_instance_but_not_two() {
    let mut round = Round::start_quorum(3, PolicySection::default(), &HONEST, 2).await;
    let (first, solvent) = round.honest_round(1, |_| healthy()).await;
    assert_eq!((first, solvent), (1, true));

    round.instances[0].stop().await;
    let (second, solvent) = round.honest_round(2, |_| healthy()).await;
    assert_eq!((second, solvent), (2, true), "2 of 3 still sign");

    round.instances[1].stop().await;
    round.submit_all(3, |_| healthy()).await;
    round.next_event(short_of_signatures(1, 2)).await;
    assert_eq!(round.hub_epoch().await, 2, "no attestation with one instance");

    // Consumers fail closed once the last attestation's validUntil passes.
    round.expect_fail_closed_after(901).await;
    round.stop().await;
}

#[tokio::test]
async fn an_instance_that_signs_the_opposite_verdict_cannot_make_it_pass() {
    // Instance 2 runs the same code and policy as the others but signs the opposite verdict:
    // well-formed, validly signed by a registered signer, and wrong.
    let members = [Member::Honest, Member::Honest, Member::Liar];
    let mut round = Round::start_quorum(3, PolicySection::default(), &members, 2).await;
    let (_, solvent) = round.honest_round(1, |_| healthy()).await;
    assert!(solvent, "outvoted: the honest statement was published");
    let (epoch, solvent) =
        round.honest_round(2, |i| if i == 1 { sinking() } else { healthy() }).await;
    assert!(!solvent, "outvoted again: the two honest instances' statement was published");

    // The liar's own statement for the next epoch, signed by it alone.
    let liar = EnclaveClient::remote(&round.instances[2].socket);
    let parent = round.oracles().await[0].attestation.ledgerRoot;
    let signed = liar.attest(now(), epoch + 1, parent).await.unwrap();
    assert!(signed.attestation.solvent, "it does claim solvency");
    let honest = EnclaveClient::remote(&round.instances[0].socket);
    let honest_signed = honest.attest(now(), epoch + 1, parent).await.unwrap();
    assert_eq!(
        signed.attestation.policyDigest, honest_signed.attestation.policyDigest,
        "the same policy: only the verdict differs"
    );
    assert!(!honest_signed.attestation.solvent);
    let hub_chain = round.devnet.hub().clone();
    let caller = as_account(&hub_chain, &DevAccount::user(1));
    let hub = SolvencyHub::new(hub_chain.hub.unwrap(), &caller);
    let instructions: Vec<_> = signed.messages.iter().map(Into::into).collect();
    let alone = hub
        .publish((&signed.attestation).into(), vec![signed.signature.clone()], instructions.clone())
        .call()
        .await
        .unwrap_err();
    let reason = decode_revert(&alone);
    assert!(reason.contains("NotEnoughSignatures"), "{reason}");

    // Padding it with an honest instance's signature of the honest statement does not help:
    // that signature recovers to someone else for the liar's digest.
    let mut pair = [
        (signed.signer, signed.signature.clone()),
        (honest_signed.signer, honest_signed.signature.clone()),
    ];
    pair.sort_by_key(|(s, _)| *s);
    let padded = hub
        .publish(
            (&signed.attestation).into(),
            pair.iter().map(|(_, s)| s.clone()).collect(),
            instructions,
        )
        .call()
        .await
        .unwrap_err();
    let reason = decode_revert(&padded);
    assert!(reason.contains("UnknownSigner") || reason.contains("SignersNotAscending"), "{reason}");
    assert!(!round.oracles().await[0].solvent);
    round.stop().await;
}

#[tokio::test]
async fn an_expired_registration_stops_counting() {
    let mut round = Round::start_quorum(2, PolicySection::default(), &HONEST, 2).await;
    round.honest_round(1, |_| healthy()).await;

    // Instance 2's registration is renewed to expire 60 s after the publisher's delivery margin
    // (it only relies on signers still registered on every chain when the attestation lands).
    let expiring = round.instances[2].signer;
    for chain in &round.devnet.deployment().chains {
        let owner = as_account(chain, &chain.deployer);
        let block = owner.get_block(Default::default()).await.unwrap().unwrap();
        SolvencyHub::new(chain.oracle(), &owner)
            .setSigner(
                expiring,
                block.header.timestamp + DELIVERY_MARGIN.as_secs() + 60,
                B256::repeat_byte(7),
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    round.instances[0].stop().await;
    let (epoch, _) = round.honest_round(2, |_| healthy()).await;
    assert_eq!(epoch, 2, "instances 1 and 2 still count");

    round.advance_chains(DELIVERY_MARGIN.as_secs() + 61).await;
    round.submit_all(3, |_| healthy()).await;
    round.next_event(short_of_signatures(1, 2)).await;
    assert_eq!(round.hub_epoch().await, 2, "the expired signer did not count");
    round.stop().await;
}

#[tokio::test]
async fn registration_needs_fresh_evidence_and_refuses_a_replay() {
    let round = Round::start_quorum(2, PolicySection::default(), &HONEST[..2], 1).await;
    let deployment = round.devnet.deployment().clone();
    let registrar = Registrar::new(&round.registry, |chain| {
        Ok(deployment.chain_by_name(chain).unwrap().deployer.signer())
    })
    .unwrap();
    let instance = EnclaveClient::remote(&round.instances[1].socket);
    let evidence = |nonce: alloy::primitives::Bytes| {
        let instance = &instance;
        async move { instance.evidence(nonce).await.unwrap() }
    };

    let nonce = Registrar::nonce();
    let fresh = evidence(nonce.clone()).await;
    let registration = registrar.register(&fresh, &nonce).await.unwrap();
    assert_eq!(registration.signer, round.instances[1].signer);
    assert!(registration.facts.is_insecure(), "devnet evidence is dev evidence, and says so");
    for chain in &deployment.chains {
        let info = SolvencyHub::new(chain.oracle(), reader(chain))
            .getSigner(registration.signer)
            .call()
            .await
            .unwrap();
        assert_eq!(info.evidenceDigest, registration.evidence_digest);
        assert!(info.expiresAt > now());
    }

    // The same document for a new registration: its nonce is not the one just issued.
    let err = registrar.register(&fresh, &Registrar::nonce()).await.unwrap_err();
    assert!(format!("{err:#}").contains("nonce"), "{err:#}");
    // Even with its own nonce, the chains have seen its digest.
    let err = registrar.register(&fresh, &nonce).await.unwrap_err();
    assert!(format!("{err:#}").contains("EvidenceAlreadyUsed"), "{err:#}");
    // Fresh evidence renews the registration.
    let renewal = Registrar::nonce();
    registrar.register(&evidence(renewal.clone()).await, &renewal).await.unwrap();
    round.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_and_the_old_one_lasts_its_grace_period() {
    let mut round = Round::start_quorum(2, PolicySection::default(), &HONEST, 2).await;
    round.honest_round(1, |_| healthy()).await;
    let old = round.enclave_public;

    // Every instance rotates; they derive the same key without exchanging secrets.
    let mut rotated = Vec::new();
    for instance in &round.instances {
        let client = EnclaveClient::remote(&instance.socket);
        rotated.push(client.rotate(now() + 600).await.unwrap());
    }
    assert!(rotated.iter().all(|k| *k == rotated[0]) && rotated[0] != old);
    let new = rotated[0];

    // The key is published in the registry, in place.
    solvency_registry::edit::set_hpke_public_key(round.registry.path(), &new).unwrap();
    let published = solvency_registry::Registry::load(round.registry.path()).unwrap();
    assert_eq!(published.network().unwrap().enclave.hpke_public_key, new);

    // Chain 0's reporter has not picked up the new key yet; chain 1's has.
    let stale_reporter = round.seal(0, 0, 2, now(), healthy());
    round.enclave_public = new;
    let fresh_reporter = round.seal(1, 1, 2, now(), healthy());
    round.submit_payload(0, 2, stale_reporter).await;
    round.submit_payload(1, 2, fresh_reporter).await;
    let (epoch, _) = round.published_and_delivered(1).await;
    assert_eq!(epoch, 2, "both reports counted: the old key is within its grace period");
    let (epoch, solvent) = round.honest_round(3, |_| healthy()).await;
    assert_eq!((epoch, solvent), (3, true));
    round.stop().await;
}
