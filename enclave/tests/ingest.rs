//! The acceptance rules, one table row per rule: a refused report gets its own error and
//! changes nothing; the next honest report is still accepted.

use alloy::primitives::{B256, Bytes, U256, keccak256};
use solvency_enclave::{
    AssetPolicy, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys, EnclaveState, IngestError,
    Policy, Position, Purpose, ReportError, ReportV1, SealError, SealedHeader, X25519KeyPair,
    asset_id, seal, seal_report,
};

const A: u64 = 909606746561742123;
const B: u64 = 5548718428018410741;
const NOW: u64 = 1_750_000_000;

struct World {
    enclave: Enclave,
    enclave_public: solvency_enclave::X25519Public,
    reporters: Vec<X25519KeyPair>,
    deployment: B256,
}

fn usdc() -> AssetPolicy {
    AssetPolicy {
        symbol: "USDC".into(),
        id: asset_id("USDC"),
        decimals: 6,
        price_e18: U256::from(10u64.pow(18)),
        haircut_bps: 0,
    }
}

fn world() -> World {
    let keys = EnclaveKeys::generate();
    let enclave_public = keys.public().hpke_public_key;
    let reporters = vec![X25519KeyPair::generate(), X25519KeyPair::generate()];
    let deployment = keccak256("test deployment");
    let chain = |name: &str, selector, reporter: &X25519KeyPair| ChainPolicy {
        vault: Default::default(),
        vault_asset: Default::default(),
        name: name.into(),
        selector,
        reporter: reporter.public(),
        treasury: X25519KeyPair::generate().public(),
        required: true,
        assets: vec![usdc()],
    };
    let policy = Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: deployment,
        chains: vec![chain("alpha", A, &reporters[0]), chain("beta", B, &reporters[1])],
        max_report_age: 300,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 11_000,
        attestation_validity: 600,
    };
    World {
        enclave: Enclave::new(keys, policy, EnclaveState::default()),
        enclave_public,
        reporters,
        deployment,
    }
}

fn positions() -> Vec<Position> {
    vec![Position::new("USDC", U256::from(2_000_000u64), U256::from(1_000_000u64))]
}

impl World {
    fn sealed(&self, report: &ReportV1, reporter: usize) -> Bytes {
        seal_report(report, &self.deployment, &self.reporters[reporter], &self.enclave_public)
            .unwrap()
    }

    fn delivered(&self, from: u64, seq: u64, payload: Bytes) -> DeliveredReport {
        DeliveredReport {
            head: Default::default(),
            message_id: keccak256(payload.as_ref()),
            source_chain_selector: from,
            seq,
            payload,
        }
    }

    fn honest(&self, seq: u64) -> DeliveredReport {
        self.delivered(A, seq, self.sealed(&ReportV1::new(A, seq, NOW, positions()), 0))
    }
}

type Case = (&'static str, fn(&World) -> DeliveredReport, fn(&IngestError) -> bool);

#[test]
fn every_rule_refuses_with_its_own_error_and_changes_nothing() {
    let cases: Vec<Case> = vec![
        (
            "unregistered chain",
            |w| w.delivered(42, 2, w.honest(2).payload),
            |e| matches!(e, IngestError::UnknownChain { selector: 42, .. }),
        ),
        (
            "one flipped bit",
            |w| {
                let mut d = w.honest(2);
                let mut bytes = d.payload.to_vec();
                bytes[200] ^= 0x01;
                d.payload = bytes.into();
                d
            },
            |e| matches!(e, IngestError::OpenFailed { .. }),
        ),
        (
            "truncated payload",
            |w| w.delivered(A, 2, Bytes::from_static(&[1u8; 20])),
            |e| matches!(e, IngestError::Malformed { reason: SealError::TooShort(20), .. }),
        ),
        (
            "sealed with another chain's reporter key",
            |w| w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW, positions()), 1)),
            |e| matches!(e, IngestError::WrongReporter { sealed_by, .. } if sealed_by == "beta"),
        ),
        (
            "delivered from another chain than its header",
            |w| w.delivered(B, 2, w.honest(2).payload),
            |e| matches!(e, IngestError::SelectorMismatch { ccip: B, header: A, .. }),
        ),
        (
            "hub seq differs from the header seq",
            |w| w.delivered(A, 3, w.honest(2).payload),
            |e| matches!(e, IngestError::SeqMismatch { delivered: 3, header: 2, .. }),
        ),
        (
            "plaintext selector differs from the header",
            |w| {
                // Sealed by A's reporter with A's header around a report that claims chain B.
                let report = ReportV1::new(B, 2, NOW, positions());
                let plaintext = report.to_padded().unwrap();
                let header = SealedHeader { chain_selector: A, counter: 2 };
                let sealed = seal::seal(
                    Purpose::Report,
                    &w.deployment,
                    header,
                    &plaintext,
                    &w.reporters[0],
                    &w.enclave_public,
                )
                .unwrap();
                w.delivered(A, 2, sealed.into())
            },
            |e| {
                matches!(
                    e,
                    IngestError::PlaintextMismatch {
                        field: solvency_enclave::ReportField::ChainSelector,
                        ..
                    }
                )
            },
        ),
        (
            "replayed seq",
            |w| w.honest(1),
            |e| matches!(e, IngestError::Replay { seq: 1, last_seq: 1, .. }),
        ),
        (
            "observedAt too old",
            |w| w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW - 301, positions()), 0)),
            |e| matches!(e, IngestError::Stale { max_age: 300, .. }),
        ),
        (
            "observedAt in the future",
            |w| w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW + 31, positions()), 0)),
            |e| matches!(e, IngestError::FromTheFuture { max_skew: 30, .. }),
        ),
        (
            "unknown asset",
            |w| {
                let p = vec![Position::new("DOGE", U256::from(1u64), U256::ZERO)];
                w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW, p), 0))
            },
            |e| matches!(e, IngestError::UnknownAsset { asset_id, .. } if *asset_id == solvency_enclave::asset_id("DOGE")),
        ),
        (
            "duplicate asset",
            |w| {
                let mut p = positions();
                p.extend(positions());
                w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW, p), 0))
            },
            |e| matches!(e, IngestError::DuplicateAsset { .. }),
        ),
        (
            "value overflows",
            |w| {
                let p = vec![Position::new("USDC", U256::MAX, U256::ZERO)];
                w.delivered(A, 2, w.sealed(&ReportV1::new(A, 2, NOW, p), 0))
            },
            |e| matches!(e, IngestError::Overflow { .. }),
        ),
        (
            "another deployment",
            |w| {
                let report = ReportV1::new(A, 2, NOW, positions());
                let sealed =
                    seal_report(&report, &B256::ZERO, &w.reporters[0], &w.enclave_public).unwrap();
                w.delivered(A, 2, sealed)
            },
            |e| matches!(e, IngestError::OpenFailed { .. }),
        ),
        (
            "unsupported plaintext version",
            |w| {
                let mut report = ReportV1::new(A, 2, NOW, positions());
                report.version = 9;
                w.delivered(A, 2, w.sealed(&report, 0))
            },
            |e| {
                matches!(
                    e,
                    IngestError::BadPlaintext { reason: ReportError::UnsupportedVersion(9), .. }
                )
            },
        ),
    ];

    for (name, make, expected) in cases {
        let mut w = world();
        w.enclave.ingest(&w.honest(1), NOW).expect("the first honest report is accepted");
        let before = w.enclave.state().clone();
        let bad = make(&w);
        let err = w.enclave.ingest(&bad, NOW).expect_err(name);
        assert!(expected(&err), "{name}: unexpected error {err:?}");
        assert_eq!(w.enclave.state(), &before, "{name}: state changed");
        assert_eq!(w.enclave.latest_seq(A), Some(1), "{name}: ledger changed");
        // The next honest report still goes through.
        w.enclave
            .ingest(&w.honest(2), NOW)
            .unwrap_or_else(|e| panic!("{name}: honest report refused: {e}"));
    }
}

#[test]
fn errors_never_carry_amounts() {
    let w = world();
    let distinctive = U256::from(918_273_645_546_372_819u64);
    let p = vec![Position::new("DOGE", distinctive, distinctive)];
    let mut enclave = w.enclave;
    let payload = seal_report(
        &ReportV1::new(A, 2, NOW, p),
        &w.deployment,
        &w.reporters[0],
        &w.enclave_public,
    )
    .unwrap();
    let err = enclave
        .ingest(
            &DeliveredReport {
                head: Default::default(),
                message_id: B256::ZERO,
                source_chain_selector: A,
                seq: 2,
                payload,
            },
            NOW,
        )
        .unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("918273645546372819"), "{shown}");
        assert!(!shown.to_lowercase().contains(&format!("{distinctive:x}")), "{shown}");
    }
}
