//! `docs/report-format.md` carries a worked example of a sealed report. This test rebuilds it
//! from its inputs and checks every byte, and opens the documented ciphertext.

use alloy::primitives::{U256, keccak256};
use solvency_enclave::{
    EnclaveKeys, Position, Purpose, ReportV1, SealedHeader, X25519KeyPair, seal,
};

mod common;

fn documented() -> std::collections::HashMap<String, Vec<u8>> {
    common::documented(include_str!("../../docs/report-format.md"))
}

#[test]
fn the_documented_example_is_reproduced_byte_for_byte() {
    let doc = documented();
    let get = |key: &str| {
        doc.get(key).unwrap_or_else(|| panic!("docs/report-format.md lacks `{key}: 0x…`")).clone()
    };

    let deployment_id = keccak256("self-healing-reserve/devnet");
    let enclave = X25519KeyPair::from_secret_bytes(keccak256("worked-example/enclave").0);
    let reporter = X25519KeyPair::from_secret_bytes(keccak256("worked-example/reporter").0);
    let report = ReportV1::new(
        5548718428018410741,
        1,
        1750000000,
        vec![Position::new(
            "USDC",
            U256::from(2_500_000_000_000u64),
            U256::from(1_000_000_000_000u64),
        )],
    );
    let plaintext = report.to_padded().unwrap();
    let header = SealedHeader { chain_selector: report.chainSelector, counter: report.seq };
    let mut rng = seal::KeccakRng::new(keccak256("worked-example/ephemeral").as_slice());
    let sealed = seal::seal_with_rng(
        Purpose::Report,
        &deployment_id,
        header,
        &plaintext,
        &reporter,
        &enclave.public(),
        &mut rng,
    )
    .unwrap();

    // HPKE draws the ephemeral key as DeriveKeyPair(ikmE) with ikmE the generator's first 32
    // bytes: keccak256(seed || 0u64).
    let ikm_e =
        keccak256([keccak256("worked-example/ephemeral").as_slice(), &0u64.to_be_bytes()].concat());
    let sk_e = {
        use hpke::{Kem, Serializable};
        hpke::kem::X25519HkdfSha256::derive_keypair(ikm_e.as_slice()).0.to_bytes().to_vec()
    };
    let computed = [
        ("deployment_id", deployment_id.to_vec()),
        ("enclave_secret_key", keccak256("worked-example/enclave").to_vec()),
        ("reporter_secret_key", keccak256("worked-example/reporter").to_vec()),
        ("ikm_e", ikm_e.to_vec()),
        ("sk_e", sk_e),
        ("enclave_public_key", enclave.public().0.to_vec()),
        ("reporter_public_key", reporter.public().0.to_vec()),
        ("info", Purpose::Report.info(&deployment_id)),
        ("aad", header.to_bytes().to_vec()),
        ("abi_body", report.abi_body()),
        ("plaintext", plaintext.clone()),
        ("enc", sealed[17..49].to_vec()),
        ("ciphertext", sealed[49..].to_vec()),
        ("sealed_payload", sealed.clone()),
    ];
    let mut mismatches = Vec::new();
    for (key, value) in &computed {
        if get(key) != *value {
            mismatches.push(format!("{key}: 0x{}", hex::encode(value)));
        }
    }
    assert!(
        mismatches.is_empty(),
        "docs/report-format.md differs; computed:\n{}",
        mismatches.join("\n")
    );

    // And the documented bytes open to the documented report.
    let keys = EnclaveKeys { hpke: enclave, signer: solvency_enclave::AttestationSigner::random() };
    let (got_header, opened) = seal::open(
        Purpose::Report,
        &deployment_id,
        &get("sealed_payload"),
        &keys.hpke,
        &reporter.public(),
    )
    .unwrap();
    assert_eq!(got_header, header);
    assert_eq!(ReportV1::from_padded(&opened).unwrap(), report);
}
