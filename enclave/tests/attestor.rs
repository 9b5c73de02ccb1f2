//! Evidence: a real AWS Nitro attestation document verifies offline and every corruption of it
//! fails with its own error, never a panic; dev evidence round-trips, says it is insecure and is
//! refused when altered, stale or not allowed.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, b256, hex};
use solvency_enclave::{
    Attestor, DevAttestor, EnclaveKeys, EnclavePublic, Evidence, EvidenceError, EvidenceKind,
    EvidencePolicy, NitroAttestor, NitroEvidence, VerifiedEvidence, X25519Public,
    attestor::{
        AWS_NITRO_ROOT_SHA256, MAX_DOCUMENT_LEN, enclave_user_data, measure_current_exe,
        measure_file, signer_from_user_data, verify_nitro_document,
    },
};

/// Published by marlinprotocol/NitroProver as test data; see shared/data/nitro/README.md.
const DOCUMENT: &[u8] = include_bytes!("data/nitro-sample-attestation.bin");

/// The leaf certificate's window: 2024-02-26T06:59:33Z .. 2024-02-26T09:59:36Z.
const LEAF_NOT_BEFORE: u64 = 1_708_930_773;
const LEAF_NOT_AFTER: u64 = 1_708_941_576;
/// 2024-02-26T07:05:00Z: inside the window, three minutes after the document (07:02:01.439Z).
const NOW: u64 = 1_708_931_100;
const DOCUMENT_MS: u64 = 1_708_930_921_439;

const PCR0: &str = "17bf8f048519797be90497001a7559a3d555395937117d76f8baaedf56ca6d97952de79479bc0c76e5d176d20f663790";
const PCR1: &str = "5d3938eb05288e20a981038b1861062ff4174884968a39aee5982b312894e60561883576cc7381d1a7d05b809936bd16";
const PCR2: &str = "249037310daa90f4eb0703e7b105a241fdb09f12d3c40b7aea2f39e57b07b887e6ff4e4f9757943e127e391626b5e4d5";
const PUBLIC_KEY: &str = "d239fd059dd0e0a01e280bec44903bb8143bae7e578b9844c6df5fd6351eddc0";
const USER_DATA: &[u8] = br#"{"total_memory":2091298816,"total_cpus":1}"#;

fn bytes(hex_str: &str) -> Bytes {
    Bytes::from(hex::decode(hex_str).unwrap())
}

fn verify(document: &[u8], policy: &EvidencePolicy, now: u64) -> Result<(), EvidenceError> {
    verify_nitro_document(document, policy, now).map(drop)
}

/// A copy of the document with `xor` applied at `at`.
fn flipped(at: usize, xor: u8) -> Vec<u8> {
    let mut copy = DOCUMENT.to_vec();
    copy[at] ^= xor;
    copy
}

fn find(needle: &[u8]) -> usize {
    DOCUMENT.windows(needle.len()).position(|w| w == needle).expect("present in the document")
}

mod nitro {
    use super::*;

    #[test]
    fn the_real_document_verifies_offline() {
        let policy = EvidencePolicy {
            pcrs: BTreeMap::from([(0, bytes(PCR0)), (1, bytes(PCR1)), (2, bytes(PCR2))]),
            ..EvidencePolicy::default()
        };
        let facts = verify_nitro_document(DOCUMENT, &policy, NOW).unwrap();
        assert_eq!(facts.module_id, "i-0df237f0418feb41e-enc018d1c7ef94eb110");
        assert_eq!(facts.digest, "SHA384");
        assert_eq!(facts.timestamp_ms, DOCUMENT_MS);
        assert_eq!(facts.pcrs.len(), 16);
        assert!(facts.pcrs.values().all(|pcr| pcr.len() == 48));
        assert_eq!(facts.pcrs[&0], bytes(PCR0));
        assert_eq!(facts.pcrs[&1], bytes(PCR1));
        assert_eq!(facts.pcrs[&2], bytes(PCR2));
        assert_eq!(facts.pcrs[&8], Bytes::from(vec![0u8; 48]));
        assert_eq!(facts.public_key, Some(bytes(PUBLIC_KEY)));
        assert_eq!(facts.user_data.as_ref().map(|d| d.as_ref()), Some(USER_DATA));
        assert_eq!(facts.nonce, None);
        assert_eq!(facts.root_sha256, AWS_NITRO_ROOT_SHA256);
        assert_eq!(facts.certificates_valid_until, LEAF_NOT_AFTER);
        assert_eq!(facts.enclave, None, "its user_data is JSON, not this project's binding");
        assert!(!facts.insecure);

        let verified = Evidence::Nitro(NitroEvidence { document: Bytes::from_static(DOCUMENT) })
            .verify(&policy, NOW)
            .unwrap();
        assert_eq!(verified.kind(), EvidenceKind::AwsNitro);
        assert!(!verified.is_insecure());
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["kind"], "aws-nitro");
        assert_eq!(json["insecure"], false);
        assert_eq!(json["pcrs"]["0"], format!("0x{PCR0}"));
        assert!(verified.to_string().contains("i-0df237f0418feb41e-enc018d1c7ef94eb110"));
        assert!(!verified.to_string().to_lowercase().contains("insecure"));
    }

    #[test]
    fn a_tagged_cose_sign1_verifies_too() {
        let mut tagged = vec![0xd2]; // tag(18)
        tagged.extend_from_slice(DOCUMENT);
        verify(&tagged, &EvidencePolicy::default(), NOW).unwrap();
        tagged[0] = 0xd1; // tag(17): COSE_Mac0
        assert!(matches!(
            verify(&tagged, &EvidencePolicy::default(), NOW),
            Err(EvidenceError::Malformed { .. })
        ));
    }

    #[test]
    fn a_flipped_payload_byte_breaks_the_cose_signature() {
        // Bytes inside text and byte strings: the CBOR stays valid, only the signature can tell.
        let module_id = find(b"i-0df237f0418feb41e-enc018d1c7ef94eb110");
        for at in [find(b"total_memory"), find(&hex::decode(PCR1).unwrap()) + 7, module_id] {
            let err = verify(&flipped(at, 0x01), &EvidencePolicy::default(), NOW).unwrap_err();
            assert!(matches!(err, EvidenceError::CoseSignature { .. }), "byte {at}: {err}");
            assert!(!err.needs_fresh_evidence());
        }
        let err = verify(&flipped(module_id, 0x01), &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(err.to_string().contains("h-0df237f0418feb41e"), "{err}");
    }

    #[test]
    fn a_flipped_signature_byte_breaks_the_cose_signature() {
        let signature = DOCUMENT.len() - 96;
        for at in [signature, signature + 1, signature + 47, signature + 48, DOCUMENT.len() - 1] {
            for xor in [0x01, 0x80] {
                let err = verify(&flipped(at, xor), &EvidencePolicy::default(), NOW).unwrap_err();
                assert!(matches!(err, EvidenceError::CoseSignature { .. }), "byte {at}: {err}");
            }
        }
    }

    #[test]
    fn an_altered_certificate_breaks_the_chain() {
        // The leaf certificate (642 bytes) starts with this header; its last byte is in `s`.
        let leaf = find(&hex::decode("3082027e30820203a003020102").unwrap());
        let err = verify(&flipped(leaf + 641, 0x01), &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::ChainSignature { which, issuer }
                if which == "certificate (leaf)" && issuer == "cabundle[3]"),
            "{err}"
        );
        // A byte in its tbsCertificate (the serial number).
        let err = verify(&flipped(leaf + 20, 0x01), &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(matches!(err, EvidenceError::ChainSignature { .. }), "{err}");
        // Its outer SEQUENCE header: no longer DER.
        let err = verify(&flipped(leaf + 1, 0x01), &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(matches!(err, EvidenceError::Certificate { .. }), "{err}");
    }

    #[test]
    fn expected_pcrs_must_match_and_be_present() {
        let mut wrong = hex::decode(PCR1).unwrap();
        wrong[0] ^= 0xff;
        let policy = EvidencePolicy {
            pcrs: BTreeMap::from([(0, bytes(PCR0)), (1, Bytes::from(wrong.clone()))]),
            ..EvidencePolicy::default()
        };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::PcrMismatch { index: 1, expected, found }
                if expected.as_ref() == wrong.as_slice() && *found == bytes(PCR1)),
            "{err}"
        );
        assert!(err.to_string().contains("PCR1"));

        let policy =
            EvidencePolicy { pcrs: BTreeMap::from([(16, bytes(PCR0))]), ..Default::default() };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(matches!(err, EvidenceError::PcrMissing { index: 16 }), "{err}");
    }

    #[test]
    fn the_time_must_be_inside_every_certificate_window() {
        verify(
            DOCUMENT,
            &EvidencePolicy { max_age: 4 * 3600, ..Default::default() },
            LEAF_NOT_AFTER,
        )
        .unwrap();
        let policy =
            EvidencePolicy { max_age: u64::MAX, max_clock_skew: u64::MAX, ..Default::default() };
        for now in [LEAF_NOT_BEFORE - 1, LEAF_NOT_AFTER + 1] {
            let err = verify(DOCUMENT, &policy, now).unwrap_err();
            assert!(
                matches!(&err, EvidenceError::CertificateNotValid { which, not_before, not_after, now: at }
                    if which == "certificate (leaf)" && *not_before == LEAF_NOT_BEFORE
                        && *not_after == LEAF_NOT_AFTER && *at == now),
                "{err}"
            );
            assert!(err.needs_fresh_evidence());
            assert!(err.to_string().contains("2024-02-26T06:59:33Z"), "{err}");
        }
        // Years later the first certificate to have expired is the first intermediate.
        let err = verify(DOCUMENT, &policy, 1_900_000_000).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::CertificateNotValid { which, .. } if which == "cabundle[1]"),
            "{err}"
        );
    }

    #[test]
    fn the_document_must_be_fresh() {
        let policy = EvidencePolicy { max_age: 300, max_clock_skew: 60, ..Default::default() };
        verify(DOCUMENT, &policy, DOCUMENT_MS / 1000 + 300).unwrap();
        let err = verify(DOCUMENT, &policy, DOCUMENT_MS / 1000 + 301).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::TooOld {
                    kind: EvidenceKind::AwsNitro,
                    issued_at: 1_708_930_921,
                    max_age: 300,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.needs_fresh_evidence());
        // 06:59:40Z: inside the leaf window, 141 s before the document.
        let err = verify(DOCUMENT, &policy, LEAF_NOT_BEFORE + 7).unwrap_err();
        assert!(matches!(err, EvidenceError::FromTheFuture { max_skew: 60, .. }), "{err}");
    }

    #[test]
    fn the_root_is_pinned() {
        let other = b256!("00000000000000000000000000000000000000000000000000000000000000aa");
        let policy = EvidencePolicy { nitro_root_sha256: other, ..Default::default() };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(
            matches!(err, EvidenceError::UntrustedRoot { expected, found }
                if expected == other && found == AWS_NITRO_ROOT_SHA256),
            "{err}"
        );
        assert!(err.to_string().to_lowercase().contains("641a0321a3e244ef"), "{err}");
    }

    #[test]
    fn nonce_and_enclave_binding_are_checked_when_the_policy_asks() {
        let nonce = Bytes::from_static(b"verifier nonce");
        let policy = EvidencePolicy { nonce: Some(nonce.clone()), ..Default::default() };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(matches!(&err, EvidenceError::NonceMissing { expected } if *expected == nonce));

        let ours = EnclaveKeys::generate().public();
        let policy = EvidencePolicy { enclave: Some(ours), ..Default::default() };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::KeyBinding { what, found, .. }
                if what.contains("HPKE") && found.contains(PUBLIC_KEY)),
            "{err}"
        );

        // The document's HPKE-sized key matches, but its user_data is not our signer binding.
        let hpke_public_key = X25519Public(hex::decode(PUBLIC_KEY).unwrap().try_into().unwrap());
        let policy = EvidencePolicy {
            enclave: Some(EnclavePublic { hpke_public_key, signer: ours.signer }),
            ..Default::default()
        };
        let err = verify(DOCUMENT, &policy, NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::KeyBinding { what, found, .. }
                if what.contains("signer") && found.contains("not the shr-enclave-v1 encoding")),
            "{err}"
        );
    }

    #[test]
    fn every_truncation_fails_as_malformed() {
        for len in 0..DOCUMENT.len() {
            let err = verify(&DOCUMENT[..len], &EvidencePolicy::default(), NOW).unwrap_err();
            assert!(matches!(err, EvidenceError::Malformed { .. }), "{len} bytes: {err}");
        }
        let mut longer = DOCUMENT.to_vec();
        longer.push(0);
        let err = verify(&longer, &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(err.to_string().contains("1 bytes after the CBOR item"), "{err}");
    }

    #[test]
    fn garbage_fails_without_panicking() {
        let mut deep = vec![0x81; 10_000];
        deep.push(0x00);
        let mut random = Vec::with_capacity(4096);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            random.push(x as u8);
        }
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("a break byte", vec![0xff]),
            ("a byte string of 2^64-1 bytes", [&[0x5b][..], &[0xff; 8]].concat()),
            ("an array of 2^64-1 items", [&[0x9b][..], &[0xff; 8]].concat()),
            ("a map of 2^32-1 entries", [&[0xba][..], &[0xff; 4]].concat()),
            ("10 000 nested arrays", deep),
            ("an array of 4 integers", vec![0x84, 0x01, 0x02, 0x03, 0x04]),
            ("an array of 3 byte strings", vec![0x83, 0x40, 0x40, 0x40]),
            ("an empty protected header", vec![0x84, 0x40, 0xa0, 0x40, 0x40]),
            ("a detached payload", vec![0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0xf6, 0x40]),
            ("a text string", b"\x6bhello world".to_vec()),
            ("4 KiB of noise", random),
        ];
        for (what, input) in cases {
            let err = verify(&input, &EvidencePolicy::default(), NOW).unwrap_err();
            assert!(
                matches!(
                    err,
                    EvidenceError::Malformed { .. } | EvidenceError::UnsupportedAlgorithm { .. }
                ),
                "{what}: {err}"
            );
        }
        let huge = vec![0u8; MAX_DOCUMENT_LEN + 1];
        assert!(matches!(
            verify(&huge, &EvidencePolicy::default(), NOW),
            Err(EvidenceError::TooLarge { .. })
        ));
    }

    /// The real document with its protected header or payload rewritten, the signature kept.
    fn rebuilt(protected: Option<&[u8]>, edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
        let Value::Array(mut items) = ciborium::from_reader::<Value, _>(DOCUMENT).unwrap() else {
            unreachable!()
        };
        if let Some(protected) = protected {
            items[0] = Value::Bytes(protected.to_vec());
        }
        let Value::Bytes(payload) = &items[2] else { unreachable!() };
        let Value::Map(mut map) = ciborium::from_reader::<Value, _>(payload.as_slice()).unwrap()
        else {
            unreachable!()
        };
        edit(&mut map);
        let mut payload = Vec::new();
        ciborium::into_writer(&Value::Map(map), &mut payload).unwrap();
        items[2] = Value::Bytes(payload);
        let mut out = Vec::new();
        ciborium::into_writer(&Value::Array(items), &mut out).unwrap();
        out
    }

    fn set(map: &mut [(Value, Value)], key: &str, value: Value) {
        map.iter_mut().find(|(k, _)| k.as_text() == Some(key)).unwrap().1 = value;
    }

    use ciborium::value::Value;

    #[test]
    fn a_reencoded_unchanged_document_still_verifies() {
        // Guards the helper below: re-encoding alone changes nothing the signature covers.
        verify(&rebuilt(None, |_| {}), &EvidencePolicy::default(), NOW).unwrap();
    }

    #[test]
    fn other_algorithms_are_refused() {
        // {1: -7}: ES256.
        let err =
            verify(&rebuilt(Some(&[0xa1, 0x01, 0x26]), |_| {}), &EvidencePolicy::default(), NOW)
                .unwrap_err();
        assert!(
            matches!(&err, EvidenceError::UnsupportedAlgorithm { found, .. } if found == "COSE -7"),
            "{err}"
        );
        let doc = rebuilt(None, |map| set(map, "digest", Value::Text("SHA256".into())));
        let err = verify(&doc, &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::UnsupportedAlgorithm { at, .. } if at == "payload.digest"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_in_the_payload_say_where() {
        type Edit = Box<dyn FnOnce(&mut Vec<(Value, Value)>)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("payload.module_id", Box::new(|m| set(m, "module_id", Value::Integer(5.into())))),
            ("payload.timestamp", Box::new(|m| set(m, "timestamp", Value::Integer((-1).into())))),
            ("payload.pcrs", Box::new(|m| set(m, "pcrs", Value::Array(vec![])))),
            (
                "payload.pcrs[0]",
                Box::new(|m| {
                    set(
                        m,
                        "pcrs",
                        Value::Map(vec![(Value::Integer(0.into()), Value::Bytes(vec![0; 47]))]),
                    )
                }),
            ),
            ("payload.cabundle", Box::new(|m| set(m, "cabundle", Value::Array(vec![])))),
            (
                "payload.cabundle[1]",
                Box::new(|m| {
                    let Some((_, Value::Array(certs))) =
                        m.iter_mut().find(|(k, _)| k.as_text() == Some("cabundle"))
                    else {
                        unreachable!()
                    };
                    certs[1] = Value::Text("not a certificate".into());
                }),
            ),
            (
                "payload.certificate",
                Box::new(|m| set(m, "certificate", Value::Bytes(vec![0; 2000]))),
            ),
            ("payload.nonce", Box::new(|m| set(m, "nonce", Value::Bytes(vec![0; 513])))),
            (
                "payload.certificate",
                Box::new(|m| m.retain(|(k, _)| k.as_text() != Some("certificate"))),
            ),
            (
                "payload.digest",
                Box::new(|m| {
                    let digest =
                        m.iter().find(|(k, _)| k.as_text() == Some("digest")).unwrap().clone();
                    m.push(digest);
                }),
            ),
        ];
        for (at, edit) in cases {
            let err = verify(&rebuilt(None, edit), &EvidencePolicy::default(), NOW).unwrap_err();
            assert!(
                matches!(&err, EvidenceError::Malformed { at: found, .. } if found == at),
                "{at}: {err}"
            );
        }
        // A certificate that is not DER.
        let doc = rebuilt(None, |m| set(m, "certificate", Value::Bytes(b"not DER".to_vec())));
        let err = verify(&doc, &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::Certificate { which, .. } if which == "certificate (leaf)"),
            "{err}"
        );
    }

    #[test]
    fn a_chain_in_the_wrong_order_is_refused() {
        let doc = rebuilt(None, |m| {
            let Some((_, Value::Array(certs))) =
                m.iter_mut().find(|(k, _)| k.as_text() == Some("cabundle"))
            else {
                unreachable!()
            };
            certs.swap(1, 2);
        });
        let err = verify(&doc, &EvidencePolicy::default(), NOW).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::ChainLink { which, issuer, .. }
                if which == "cabundle[1]" && issuer == "cabundle[0] (root)"),
            "{err}"
        );
    }

    #[test]
    fn producing_a_document_says_this_build_cannot() {
        let keys = EnclaveKeys::generate();
        let err = NitroAttestor::new().attest(&keys, b"nonce", NOW).unwrap_err();
        assert!(matches!(err, EvidenceError::NitroUnavailable { .. }), "{err}");
        assert!(err.to_string().contains("does not implement the Nitro Security Module"), "{err}");
        assert_eq!(NitroAttestor::new().kind(), EvidenceKind::AwsNitro);
    }

    #[test]
    fn the_user_data_binding_round_trips() {
        let signer = Address::repeat_byte(0x5a);
        let data = enclave_user_data(signer);
        assert_eq!(&data[..15], b"shr-enclave-v1:");
        assert_eq!(signer_from_user_data(&data), Some(signer));
        assert_eq!(signer_from_user_data(&data[..34]), None);
        assert_eq!(signer_from_user_data(USER_DATA), None);
    }
}

mod dev {
    use super::*;

    const MEASUREMENT: B256 =
        b256!("1111111111111111111111111111111111111111111111111111111111111111");
    const T: u64 = 1_750_000_000;

    fn dev_policy(keys: &EnclaveKeys, nonce: &[u8]) -> EvidencePolicy {
        EvidencePolicy {
            allow_dev: true,
            measurement: Some(MEASUREMENT),
            nonce: Some(Bytes::copy_from_slice(nonce)),
            enclave: Some(keys.public()),
            ..EvidencePolicy::default()
        }
    }

    fn attest(keys: &EnclaveKeys, nonce: &[u8], at: u64) -> Evidence {
        DevAttestor::with_measurement(MEASUREMENT).attest(keys, nonce, at).unwrap()
    }

    #[test]
    fn dev_evidence_round_trips_through_json_and_says_insecure() {
        let keys = EnclaveKeys::generate();
        let evidence = attest(&keys, b"nonce-1", T);
        assert_eq!(evidence.kind(), EvidenceKind::DevInsecure);
        let json = serde_json::to_string(&evidence).unwrap();
        assert!(json.contains(r#""kind":"dev-insecure""#) && json.contains(r#""insecure":true"#));
        let parsed: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, evidence);

        let verified = parsed.verify(&dev_policy(&keys, b"nonce-1"), T + 10).unwrap();
        assert!(verified.is_insecure());
        assert_eq!(verified.enclave(), Some(keys.public()));
        let VerifiedEvidence::Dev(facts) = &verified else { panic!("dev facts") };
        assert_eq!(facts.measurement, MEASUREMENT);
        assert_eq!(facts.nonce.as_ref(), b"nonce-1");
        assert_eq!(facts.timestamp, T);
        assert!(verified.to_string().starts_with("INSECURE"), "{verified}");
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["kind"], "dev-insecure");
        assert_eq!(json["insecure"], true);
        assert!(json["warning"].as_str().unwrap().contains("INSECURE"));
    }

    #[test]
    fn dev_evidence_is_refused_unless_allowed() {
        let keys = EnclaveKeys::generate();
        let evidence = attest(&keys, b"n", T);
        let err = evidence.verify(&EvidencePolicy::default(), T).unwrap_err();
        assert!(
            matches!(err, EvidenceError::DevNotAllowed { signer } if signer == keys.signer.address()),
            "{err}"
        );
        let json = serde_json::to_string(&evidence)
            .unwrap()
            .replace(r#""insecure":true"#, r#""insecure":false"#);
        let err = serde_json::from_str::<Evidence>(&json).unwrap_err();
        assert!(err.to_string().contains("always insecure"), "{err}");
    }

    #[test]
    fn tampered_dev_evidence_fails_its_signature() {
        let keys = EnclaveKeys::generate();
        let other = EnclaveKeys::generate().public();
        let Evidence::Dev(evidence) = attest(&keys, b"nonce", T) else { unreachable!() };
        let policy = EvidencePolicy { allow_dev: true, ..Default::default() };
        type Edit = fn(&mut solvency_enclave::DevEvidence, &EnclavePublic);
        let edits: [(&str, Edit); 7] = [
            ("nonce", |e, _| e.nonce = Bytes::from_static(b"nonce2")),
            ("timestamp", |e, _| e.timestamp += 1),
            ("measurement", |e, _| e.measurement = B256::ZERO),
            ("hpke key", |e, o| e.enclave.hpke_public_key = o.hpke_public_key),
            ("signer", |e, o| e.enclave.signer = o.signer),
            ("signature byte", |e, _| {
                let mut s = e.signature.to_vec();
                s[10] ^= 1;
                e.signature = s.into();
            }),
            ("short signature", |e, _| e.signature = e.signature.slice(..64)),
        ];
        for (what, edit) in edits {
            let mut tampered = evidence.clone();
            edit(&mut tampered, &other);
            let err = tampered.verify(&policy, T).unwrap_err();
            assert!(matches!(err, EvidenceError::DevSignature { .. }), "{what}: {err}");
        }
        evidence.verify(&policy, T).unwrap();
    }

    #[test]
    fn stale_or_future_dev_evidence_is_refused() {
        let keys = EnclaveKeys::generate();
        let evidence = attest(&keys, b"n", T);
        let policy = EvidencePolicy { max_age: 300, max_clock_skew: 60, ..dev_policy(&keys, b"n") };
        evidence.verify(&policy, T + 300).unwrap();
        let err = evidence.verify(&policy, T + 301).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::TooOld { kind: EvidenceKind::DevInsecure, issued_at: T, .. }
            ),
            "{err}"
        );
        evidence.verify(&policy, T - 60).unwrap();
        let err = evidence.verify(&policy, T - 61).unwrap_err();
        assert!(matches!(err, EvidenceError::FromTheFuture { .. }), "{err}");
    }

    #[test]
    fn dev_evidence_must_match_the_policy() {
        let keys = EnclaveKeys::generate();
        let policy = dev_policy(&keys, b"nonce");

        let other_build = DevAttestor::with_measurement(B256::repeat_byte(2));
        let err = other_build.attest(&keys, b"nonce", T).unwrap().verify(&policy, T).unwrap_err();
        assert!(matches!(err, EvidenceError::MeasurementMismatch { .. }), "{err}");

        let err = attest(&keys, b"other", T).verify(&policy, T).unwrap_err();
        assert!(matches!(err, EvidenceError::NonceMismatch { .. }), "{err}");

        let impostor = EnclaveKeys::generate();
        let err = attest(&impostor, b"nonce", T).verify(&policy, T).unwrap_err();
        assert!(matches!(err, EvidenceError::KeyBinding { .. }), "{err}");

        let err =
            DevAttestor::with_measurement(MEASUREMENT).attest(&keys, &[0; 513], T).unwrap_err();
        assert!(matches!(err, EvidenceError::NonceTooLong { len: 513, max: 512 }), "{err}");
    }

    #[test]
    fn the_measurement_is_the_sha256_of_the_running_binary() {
        let measured = measure_current_exe().unwrap();
        assert_ne!(measured, B256::ZERO);
        assert_eq!(measured, measure_file(&std::env::current_exe().unwrap()).unwrap());
        assert_eq!(DevAttestor::from_current_exe().unwrap().measurement(), measured);
        let err = measure_file(std::path::Path::new("/nonexistent/enclave")).unwrap_err();
        assert!(matches!(err, EvidenceError::Measure { .. }), "{err}");
    }
}

#[test]
fn utc_times_parse_to_unix_seconds() {
    assert_eq!(solvency_enclave::attestor::parse_utc("2024-02-26T07:02:01Z"), Some(1_708_930_921));
    assert_eq!(solvency_enclave::attestor::parse_utc("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(solvency_enclave::attestor::parse_utc("yesterday"), None);
}
