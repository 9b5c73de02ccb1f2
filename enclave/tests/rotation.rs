//! HPKE key rotation: reports sealed to the previous key are accepted during a grace period
//! only; every instance sharing the key file derives the same new key; restarts keep it.

use alloy::primitives::{B256, U256, keccak256};
use solvency_enclave::{
    AssetPolicy, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys, EnclaveState, IngestError,
    Policy, Position, ReportV1, SealingKey, X25519KeyPair, X25519Public, asset_id, seal_enclave,
    seal_report, unseal_enclave,
};

const NOW: u64 = 1_750_000_000;

fn policy(reporter: &X25519KeyPair) -> Policy {
    Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: keccak256("rotation"),
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
        max_report_age: 100_000,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 11_000,
        attestation_validity: 900,
    }
}

fn report(reporter: &X25519KeyPair, to: &X25519Public, seq: u64) -> DeliveredReport {
    let r =
        ReportV1::new(7, seq, NOW, vec![Position::new("USDC", U256::from(2u64), U256::from(1u64))]);
    let payload = seal_report(&r, &keccak256("rotation"), reporter, to).unwrap();
    DeliveredReport {
        head: Default::default(),
        message_id: B256::repeat_byte(seq as u8),
        source_chain_selector: 7,
        seq,
        payload,
    }
}

#[test]
fn the_previous_key_is_accepted_for_the_grace_period_only() {
    let reporter = X25519KeyPair::generate();
    let keys = EnclaveKeys::generate();
    let sibling = keys.sibling();
    let mut enclave = Enclave::new(keys, policy(&reporter), EnclaveState::default());
    let old = enclave.public().hpke_public_key;
    enclave.ingest(&report(&reporter, &old, 1), NOW).unwrap();

    let new = enclave.rotate_hpke(NOW + 100);
    assert_ne!(new, old);
    assert_eq!(enclave.public().hpke_public_key, new);
    enclave.ingest(&report(&reporter, &old, 2), NOW + 50).expect("old key within the grace period");
    enclave.ingest(&report(&reporter, &new, 3), NOW + 50).expect("new key");
    let err = enclave.ingest(&report(&reporter, &old, 4), NOW + 101).unwrap_err();
    assert!(
        matches!(err, IngestError::RetiredKey { valid_until, .. } if valid_until == NOW + 100),
        "{err}"
    );
    enclave.ingest(&report(&reporter, &new, 4), NOW + 101).expect("the new key keeps working");

    // Another instance of the same enclave rotates to the same key, without any exchange.
    let mut other = Enclave::new(sibling, policy(&reporter), EnclaveState::default());
    assert_eq!(other.rotate_hpke(NOW + 100), new);
}

#[test]
fn a_rotation_survives_a_restart_from_state_or_sealed_state() {
    let reporter = X25519KeyPair::generate();
    let secret = keccak256("enclave key file").0;
    let signing = keccak256("signing").0;
    let from_file = || EnclaveKeys {
        hpke: X25519KeyPair::from_secret_bytes(secret),
        signer: solvency_enclave::AttestationSigner::from_bytes(&B256::from(signing)).unwrap(),
    };
    let mut enclave = Enclave::new(from_file(), policy(&reporter), EnclaveState::default());
    let old = enclave.public().hpke_public_key;
    let new = enclave.rotate_hpke(NOW + 100);

    // Restarted from the key file and its persisted (non-secret) state.
    let mut restarted = Enclave::new(from_file(), policy(&reporter), enclave.state().clone());
    assert_eq!(restarted.public().hpke_public_key, new);
    restarted.ingest(&report(&reporter, &old, 1), NOW + 10).expect("grace period still applies");

    // Restarted from sealed state.
    let key = SealingKey::generate();
    let blob = seal_enclave(&enclave, &key, &B256::ZERO);
    let mut unsealed = unseal_enclave(&blob, &key, &B256::ZERO, policy(&reporter)).unwrap();
    assert_eq!(unsealed.public().hpke_public_key, new);
    unsealed.ingest(&report(&reporter, &new, 1), NOW).unwrap();
}
