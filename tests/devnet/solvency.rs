//! Reports travel spoke → hub, attestations hub → every spoke, over the relayer.

use alloy::{
    primitives::{Bytes, U256, keccak256},
    providers::Provider,
};
use solvency_ccip::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};
use solvency_devnet::{DevAccount, MessageState};
use solvency_enclave::{AttestationSigner, SolvencyAttestation};
use solvency_tests::{WAIT, as_account, chain_time, devnet, reader};

#[tokio::test]
async fn report_submitted_on_a_spoke_arrives_on_the_hub_as_report_delivered() {
    let devnet = devnet(3, vec![]).await;
    let spoke_chain = devnet.chain(2);
    let spoke = SolvencySpoke::new(
        spoke_chain.spoke.unwrap(),
        as_account(spoke_chain, &spoke_chain.reporter),
    );
    let fee = spoke.getReportFee(7, Bytes::from_static(b"enc||ct")).call().await.unwrap();
    assert!(fee > U256::ZERO, "the devnet router charges a fee");
    spoke
        .submitReport(7, Bytes::from_static(b"enc||ct"))
        .value(fee)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    let relayer = devnet.relayer().unwrap();
    let id = relayer.wait_for("the report", WAIT, |m| m.len() == 1).await.unwrap()[0].id;
    let message = relayer.wait_final(id, WAIT).await.unwrap();
    assert!(
        matches!(message.state, MessageState::Success { receiver_called: true, .. }),
        "{message:?}"
    );

    let hub = devnet.hub();
    let logs = SolvencyHub::new(hub.hub.unwrap(), reader(hub))
        .ReportDelivered_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    let (event, _) = &logs[0];
    assert_eq!(event.messageId, id);
    assert_eq!(event.sourceChainSelector, spoke_chain.selector);
    assert_eq!(event.seq, 7);
    assert_eq!(event.payload, Bytes::from_static(b"enc||ct"));

    devnet.shutdown().await;
}

/// Publishes a signed attestation on the hub with one instruction per chain.
async fn publish(
    devnet: &solvency_devnet::Devnet,
    signer: &AttestationSigner,
    epoch: u64,
    solvent: bool,
) -> SolvencyAttestation {
    let hub = devnet.hub();
    let (chains_root, messages) = solvency_tests::bare_messages(devnet.deployment());
    let parent = SolvencyHub::new(hub.hub.unwrap(), reader(hub))
        .latestAttestation()
        .call()
        .await
        .unwrap()
        .ledgerRoot;
    let now = chain_time(hub).await;
    let attestation = SolvencyAttestation {
        deploymentId: devnet.deployment().deployment_id,
        epoch,
        solvent,
        issuedAt: now,
        validUntil: now + 600,
        reportsDigest: keccak256(format!("reports of epoch {epoch}")),
        chainsRoot: chains_root,
        ledgerRoot: keccak256(format!("ledger of epoch {epoch}")),
        parentLedgerRoot: parent,
        // A bare devnet's contracts expect no particular policy (the digest is unset).
        policyDigest: Default::default(),
        quoteRound: 0,
        quoteHead: Default::default(),
    };
    let signatures = AttestationSigner::sign_all(&[signer], &attestation);
    let caller = as_account(hub, &DevAccount::user(2));
    let contract = SolvencyHub::new(hub.hub.unwrap(), &caller);
    let call = contract.publish(
        (&attestation).into(),
        signatures,
        messages.iter().map(Into::into).collect(),
    );
    // As the publisher does: an estimate made in one second and mined in the next runs short by
    // the slot the hub rewrites with the block's timestamp (a reverted publish, one run in a few).
    let estimate = call.estimate_gas().await.expect("publish accepted");
    let receipt = call
        .gas(estimate + (estimate / 4).max(50_000))
        .send()
        .await
        .expect("publish accepted")
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    attestation
}

#[tokio::test]
async fn attestation_published_on_the_hub_reaches_every_spoke() {
    let enclave = AttestationSigner::random();
    let devnet = devnet(3, vec![enclave.address()]).await;
    let relayer = devnet.relayer().unwrap();
    let chains = devnet.deployment().chains.clone();

    for chain in &chains {
        let oracle = SolvencyHub::new(chain.oracle(), reader(chain));
        assert!(
            !oracle.isSolvent().call().await.unwrap(),
            "{}: not solvent before any attestation",
            chain.name
        );
    }

    for (epoch, solvent) in [(1, true), (2, false), (3, true)] {
        publish(&devnet, &enclave, epoch, solvent).await;
        let spokes = chains.len() - 1;
        relayer
            .wait_for("attestations on every spoke", WAIT, |m| {
                m.iter().filter(|m| m.state.name() == "SUCCESS").count() == spokes * epoch as usize
            })
            .await
            .unwrap();
        for chain in &chains {
            let oracle = SolvencyHub::new(chain.oracle(), reader(chain));
            assert_eq!(
                oracle.isSolvent().call().await.unwrap(),
                solvent,
                "{} at epoch {epoch}",
                chain.name
            );
            assert_eq!(oracle.latestAttestation().call().await.unwrap().epoch, epoch);
        }
    }

    // Fail closed: once validUntil passes with no new attestation, every chain reads false.
    for chain in &chains {
        let provider = reader(chain);
        provider
            .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (601u64,))
            .await
            .unwrap();
        provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
        let oracle = SolvencyHub::new(chain.oracle(), &provider);
        assert!(!oracle.isSolvent().call().await.unwrap(), "{} after validUntil", chain.name);
    }

    devnet.shutdown().await;
}
