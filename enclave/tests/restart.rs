//! What an enclave keeps across restarts and failures: the ledger comes back from the reports
//! themselves, a failed publish does not use up an epoch, an absurd seq cannot lock a chain out,
//! and a change that could not be persisted is undone.

use alloy::primitives::{B256, Bytes, U256, keccak256};
use solvency_enclave::{
    AssessError, AssetPolicy, AttestError, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys,
    EnclaveState, IngestError, Policy, Position, ReportV1, X25519KeyPair, asset_id, seal_report,
};

const A: u64 = 909606746561742123;
const B: u64 = 5548718428018410741;
const NOW: u64 = 1_750_000_000;

struct World {
    keys: [u8; 32],
    reporters: Vec<X25519KeyPair>,
    policy: Policy,
}

fn world() -> World {
    let reporters = vec![X25519KeyPair::generate(), X25519KeyPair::generate()];
    let usdc = AssetPolicy {
        symbol: "USDC".into(),
        id: asset_id("USDC"),
        decimals: 6,
        price_e18: U256::from(10u64.pow(18)),
        haircut_bps: 0,
    };
    let chain = |name: &str, selector, reporter: &X25519KeyPair| ChainPolicy {
        vault: Default::default(),
        vault_asset: Default::default(),
        name: name.into(),
        selector,
        reporter: reporter.public(),
        treasury: X25519KeyPair::generate().public(),
        required: true,
        assets: vec![usdc.clone()],
    };
    let policy = Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: keccak256("restart test"),
        chains: vec![chain("alpha", A, &reporters[0]), chain("beta", B, &reporters[1])],
        max_report_age: 3_600,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 11_000,
        attestation_validity: 600,
    };
    World { keys: [7; 32], reporters, policy }
}

impl World {
    /// The same enclave (same keys) from a persisted state, with an empty ledger.
    fn enclave(&self, state: EnclaveState) -> Enclave {
        let keys = EnclaveKeys {
            hpke: X25519KeyPair::from_secret_bytes(self.keys),
            signer: solvency_enclave::AttestationSigner::from_bytes(&B256::repeat_byte(1)).unwrap(),
        };
        Enclave::new(keys, self.policy.clone(), state)
    }

    fn report(&self, chain: usize, seq: u64, held: u64, owed: u64) -> DeliveredReport {
        let selector = [A, B][chain];
        let positions = vec![Position::new("USDC", U256::from(held), U256::from(owed))];
        let enclave_public = X25519KeyPair::from_secret_bytes(self.keys).public();
        let payload: Bytes = seal_report(
            &ReportV1::new(selector, seq, NOW, positions),
            &self.policy.deployment_id,
            &self.reporters[chain],
            &enclave_public,
        )
        .unwrap();
        DeliveredReport {
            head: Default::default(),
            message_id: keccak256(&payload),
            source_chain_selector: selector,
            seq,
            payload,
        }
    }
}

#[test]
fn the_last_accepted_report_given_again_refills_the_ledger_after_a_restart() {
    let w = world();
    let mut enclave = w.enclave(EnclaveState::default());
    let (a1, b1) = (w.report(0, 1, 2_000_000, 1_000_000), w.report(1, 1, 0, 500_000));
    assert!(!enclave.ingest(&a1, NOW).unwrap().again);
    assert!(!enclave.ingest(&b1, NOW).unwrap().again);
    let first = enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap();

    // A restart: the persisted state has no amounts, so the ledger is empty.
    let mut restarted = w.enclave(enclave.state().clone());
    assert!(matches!(
        restarted.attest(NOW, 1, alloy::primitives::B256::ZERO),
        Err(AttestError::NotReady(AssessError::MissingReport { .. }))
    ));
    // The same bytes from the hub's logs are taken again, and change no state...
    let state = restarted.state().clone();
    assert!(restarted.ingest(&a1, NOW).unwrap().again);
    assert!(restarted.ingest(&b1, NOW).unwrap().again);
    assert_eq!(restarted.state(), &state);
    // ...and the enclave attests the same verdict above what it signed before.
    let next = restarted.attest(NOW, 1, alloy::primitives::B256::ZERO).unwrap();
    assert_eq!(next.attestation.epoch, first.attestation.epoch + 1);
    assert_eq!(next.attestation.reportsDigest, first.attestation.reportsDigest);
    // Given again once more, it is a no-op; anything else with that seq is a replay: other
    // figures in the same message, or the very same bytes in another message.
    assert!(restarted.ingest(&a1, NOW).unwrap().again);
    let mut altered = w.report(0, 1, 9_000_000, 0);
    altered.message_id = a1.message_id;
    let mut resent = a1.clone();
    resent.message_id = B256::repeat_byte(0xee);
    for replay in [altered, resent] {
        assert!(matches!(
            restarted.ingest(&replay, NOW),
            Err(IngestError::Replay { seq: 1, last_seq: 1, .. })
        ));
    }
}

#[test]
fn a_seq_no_clock_could_give_is_refused_and_does_not_lock_the_chain_out() {
    let w = world();
    let mut enclave = w.enclave(EnclaveState::default());
    let err = enclave.ingest(&w.report(0, u64::MAX, 1, 0), NOW).unwrap_err();
    assert!(matches!(err, IngestError::SeqTooLarge { seq: u64::MAX, .. }), "{err}");
    // The Unix time in milliseconds, the reporters' default, is accepted...
    let ms = NOW * 1_000;
    enclave.ingest(&w.report(0, ms, 1, 0), NOW).unwrap();
    // ...and so is the next one: nothing was locked.
    enclave.ingest(&w.report(0, ms + 1, 1, 0), NOW).unwrap();
    assert_eq!(enclave.state().last_seq[&A], ms + 1);
}

#[test]
fn a_publish_that_failed_gets_the_same_attestation_again_not_a_new_epoch() {
    let w = world();
    let mut enclave = w.enclave(EnclaveState::default());
    enclave.ingest(&w.report(0, 1, 2_000_000, 1_000_000), NOW).unwrap();
    enclave.ingest(&w.report(1, 1, 0, 500_000), NOW).unwrap();
    let signed = enclave.attest_epoch(NOW, 1, alloy::primitives::B256::ZERO).unwrap();
    // The hub still holds epoch 0: the host asks for epoch 1 again, again and again.
    for later in [NOW + 1, NOW + 60, NOW + 300] {
        assert_eq!(enclave.attest_epoch(later, 1, alloy::primitives::B256::ZERO).unwrap(), signed);
    }
    assert_eq!(enclave.state().last_epoch, 1, "no epoch used up");
    // Past half its validity, a fresh statement is signed.
    let fresh = enclave.attest_epoch(NOW + 301, 1, alloy::primitives::B256::ZERO);
    assert!(matches!(fresh, Err(AttestError::EpochUsed { epoch: 1, last_epoch: 1 })));
    assert_eq!(
        enclave
            .attest_epoch(NOW + 301, 2, alloy::primitives::B256::ZERO)
            .unwrap()
            .attestation
            .epoch,
        2
    );
}

#[test]
fn readiness_says_when_the_verdict_changes() {
    let w = world();
    let mut enclave = w.enclave(EnclaveState::default());
    enclave.ingest(&w.report(0, 1, 2_000_000, 1_000_000), NOW).unwrap();
    enclave.ingest(&w.report(1, 1, 0, 500_000), NOW).unwrap();
    assert!(enclave.readiness(NOW).unwrap().verdict_changed, "nothing signed yet");
    enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap();
    assert!(!enclave.readiness(NOW).unwrap().verdict_changed);
    enclave.ingest(&w.report(0, 2, 2_000_000, 1_100_000), NOW).unwrap();
    assert!(!enclave.readiness(NOW).unwrap().verdict_changed, "still solvent");
    enclave.ingest(&w.report(1, 2, 0, 5_000_000), NOW).unwrap();
    assert!(enclave.readiness(NOW).unwrap().verdict_changed, "now insolvent");
}

#[test]
fn a_rollback_undoes_an_accepted_report() {
    let w = world();
    let mut enclave = w.enclave(EnclaveState::default());
    enclave.ingest(&w.report(0, 1, 2_000_000, 1_000_000), NOW).unwrap();
    let before = enclave.state().clone();
    let checkpoint = enclave.checkpoint();
    enclave.ingest(&w.report(1, 1, 0, 500_000), NOW).unwrap();
    enclave.rollback(checkpoint);
    assert_eq!(enclave.state(), &before);
    assert!(matches!(enclave.readiness(NOW), Err(AssessError::MissingReport { .. })));
    // The undone report can be taken for real later.
    enclave.ingest(&w.report(1, 1, 0, 500_000), NOW).unwrap();
    assert!(enclave.readiness(NOW).is_ok());
}
