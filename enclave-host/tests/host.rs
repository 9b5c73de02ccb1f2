//! The host persists before it releases: a change that cannot be written is undone and refused,
//! and the same request succeeds once the disk is back. One process owns a state file.

use std::sync::Arc;

use alloy::primitives::{B256, U256, keccak256};
use solvency_enclave::{
    AssetPolicy, ChainPolicy, DeliveredReport, EnclaveKeys, Policy, Position, ReportV1,
    X25519KeyPair, asset_id, seal_report,
};
use solvency_enclave_host::{EnclaveClient, Host, HostError, Refusal, Store, unix_now};

fn policy(reporter: &X25519KeyPair) -> Policy {
    Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: keccak256("host test"),
        chains: vec![ChainPolicy {
            vault: Default::default(),
            vault_asset: Default::default(),
            name: "alpha".into(),
            selector: 7,
            reporter: reporter.public(),
            treasury: X25519KeyPair::generate().public(),
            required: true,
            assets: vec![AssetPolicy {
                symbol: "USDC".into(),
                id: asset_id("USDC"),
                decimals: 6,
                price_e18: U256::from(10u64.pow(18)),
                haircut_bps: 0,
            }],
        }],
        max_report_age: 600,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 11_000,
        attestation_validity: 900,
    }
}

#[tokio::test]
async fn a_change_that_cannot_be_persisted_is_undone_and_can_be_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enclave.state.json");
    let reporter = X25519KeyPair::generate();
    let keys = EnclaveKeys::generate();
    let enclave_public = keys.public().hpke_public_key;
    let policy = policy(&reporter);
    let deployment = policy.deployment_id;
    let (store, enclave) = Store::open_state_file(&path, keys, policy).unwrap();
    let attestor = Box::new(solvency_enclave::DevAttestor::with_measurement(B256::ZERO));
    let client = EnclaveClient::local(Arc::new(Host::new(enclave, attestor, store)));

    let report =
        ReportV1::new(7, 1, unix_now(), vec![Position::new("USDC", U256::from(5u64), U256::ZERO)]);
    let payload = seal_report(&report, &deployment, &reporter, &enclave_public).unwrap();
    let delivered = DeliveredReport {
        head: Default::default(),
        message_id: B256::repeat_byte(1),
        source_chain_selector: 7,
        seq: 1,
        payload,
    };

    // The disk is full: every write of the state fails (the temporary file is /dev/full).
    let tmp = dir.path().join(format!(".enclave.state.json.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let err = client.ingest(delivered.clone(), unix_now()).await.unwrap_err();
    assert!(matches!(err.refusal(), Some(Refusal::NotPersisted { .. })), "{err}");
    // Nothing was counted: the enclave cannot attest, and nothing reached the file.
    let not_ready = client.readiness(unix_now()).await.unwrap_err();
    assert!(matches!(not_ready.refusal(), Some(Refusal::NotReady { .. })), "{not_ready}");
    assert!(!path.exists());

    // Disk back (the failed write took its temporary file, the link, away with it): the same
    // report is accepted, as new (it was never recorded).
    let _ = std::fs::remove_file(&tmp);
    let accepted = client.ingest(delivered, unix_now()).await.unwrap();
    assert_eq!((accepted.seq, accepted.again), (1, false));
    assert!(client.readiness(unix_now()).await.is_ok());
    let state: solvency_enclave::EnclaveState =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(state.last_seq[&7], 1);
}

#[test]
fn one_process_owns_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enclave.state.json");
    let reporter = X25519KeyPair::generate();
    let _first = Store::open_state_file(&path, EnclaveKeys::generate(), policy(&reporter)).unwrap();
    let second = Store::open_state_file(&path, EnclaveKeys::generate(), policy(&reporter));
    assert!(
        matches!(second, Err(HostError::Durable(solvency_durable::Error::Locked { .. }))),
        "{second:?}"
    );
}
