//! Sealed state: an instance resumes with its keys and ledger; other code, another sealing key
//! or an altered blob cannot.

use alloy::primitives::{B256, U256, keccak256};
use solvency_enclave::{
    AssetPolicy, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys, EnclaveState, Policy,
    Position, ReportV1, SealedStateError, SealingKey, X25519KeyPair, asset_id, seal_enclave,
    seal_report, unseal_enclave,
};

const NOW: u64 = 1_750_000_000;

fn setup() -> (Enclave, Policy) {
    let reporter = X25519KeyPair::from_secret_bytes(keccak256("reporter").0);
    let policy = Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: keccak256("sealed"),
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
    };
    let mut enclave =
        Enclave::new(EnclaveKeys::generate(), policy.clone(), EnclaveState::default());
    let report =
        ReportV1::new(7, 1, NOW, vec![Position::new("USDC", U256::from(5u64), U256::from(1u64))]);
    let payload =
        seal_report(&report, &policy.deployment_id, &reporter, &enclave.public().hpke_public_key)
            .unwrap();
    enclave
        .ingest(
            &DeliveredReport {
                head: Default::default(),
                message_id: B256::ZERO,
                source_chain_selector: 7,
                seq: 1,
                payload,
            },
            NOW,
        )
        .unwrap();
    enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap();
    (enclave, policy)
}

#[test]
fn a_restarted_instance_resumes_with_its_keys_ledger_and_epoch() {
    let (enclave, policy) = setup();
    let key = SealingKey::generate();
    let measurement = keccak256("binary v1");
    let blob = seal_enclave(&enclave, &key, &measurement);
    let mut restored = unseal_enclave(&blob, &key, &measurement, policy).unwrap();
    assert_eq!(restored.public(), enclave.public());
    assert_eq!(restored.state(), enclave.state());
    // The ledger came back: it can attest without fresh reports, at the next epoch.
    let next = restored.attest(NOW + 1, 0, alloy::primitives::B256::ZERO).unwrap();
    assert_eq!(next.attestation.epoch, 2);
    assert!(next.attestation.solvent);
}

#[test]
fn other_code_another_key_or_an_altered_blob_cannot_read_it() {
    let (enclave, policy) = setup();
    let key = SealingKey::generate();
    let measurement = keccak256("binary v1");
    let blob = seal_enclave(&enclave, &key, &measurement);
    let other = keccak256("binary v2");
    assert_eq!(
        unseal_enclave(&blob, &key, &other, policy.clone()).unwrap_err(),
        SealedStateError::OtherMeasurement { sealed_for: measurement, ours: other }
    );
    // A forged header claiming the right measurement does not help: the key is derived from it.
    let mut relabelled = seal_enclave(&enclave, &key, &other);
    relabelled[1..33].copy_from_slice(measurement.as_slice());
    assert_eq!(
        unseal_enclave(&relabelled, &key, &measurement, policy.clone()).unwrap_err(),
        SealedStateError::Open
    );
    assert_eq!(
        unseal_enclave(&blob, &SealingKey::generate(), &measurement, policy.clone()).unwrap_err(),
        SealedStateError::Open
    );
    let mut altered = blob.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert_eq!(
        unseal_enclave(&altered, &key, &measurement, policy.clone()).unwrap_err(),
        SealedStateError::Open
    );
    assert_eq!(
        unseal_enclave(&blob[..20], &key, &measurement, policy).unwrap_err(),
        SealedStateError::Format
    );
}

#[test]
fn the_sealing_key_file_is_private_and_debug_hides_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealing.key");
    let key = SealingKey::generate();
    key.save(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let loaded = SealingKey::load(&path).unwrap();
    let (enclave, policy) = setup();
    let blob = seal_enclave(&enclave, &key, &B256::ZERO);
    assert!(unseal_enclave(&blob, &loaded, &B256::ZERO, policy).is_ok());
    assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
}
