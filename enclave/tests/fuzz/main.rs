//! Property-based fuzzing of every input an attacker controls: the sealed header, the padded
//! report, HPKE open, and `Enclave::ingest` over a fixed corpus of more than 10,000 mutated
//! ciphertexts. Whatever the bytes, nothing panics, a refusal is a typed error, and a refused
//! report changes nothing.
//!
//! The corpus is deterministic (a fixed-seed xorshift; reports sealed with a fixed-seed
//! generator). The proptest properties draw fresh cases on each run and write no regression
//! files: a failure prints its shrunk input instead.

use std::sync::LazyLock;

use alloy::primitives::{B256, U256, keccak256};
use proptest::prelude::*;
use solvency_enclave::{
    AssessError, Assessment, AssetPolicy, AttestationSigner, ChainPolicy, DeliveredReport, Enclave,
    EnclaveKeys, EnclaveState, IngestError, Policy, Position, Purpose, Readiness, ReportV1,
    SealedHeader, X25519KeyPair, asset_id,
    seal::{self, HEADER_LEN, KeccakRng, PREFIX_LEN, TAG_LEN},
};

mod corpus;
mod delivered;
mod header;
mod open;
mod report;

const A: u64 = 909606746561742123;
const B: u64 = 5548718428018410741;
const NOW: u64 = 1_750_000_000;

/// Explicit case counts, and no `proptest-regressions/` files written by CI.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn keypair(byte: u8) -> X25519KeyPair {
    X25519KeyPair::from_secret_bytes([byte; 32])
}

fn enclave_key() -> X25519KeyPair {
    keypair(0x07)
}

fn reporter(selector: u64) -> X25519KeyPair {
    keypair(if selector == A { 0xa1 } else { 0xb1 })
}

fn deployment() -> B256 {
    keccak256("fuzz deployment")
}

/// Alpha registers ten assets, so that an honest report can fill the 4096-byte bucket.
fn symbols(selector: u64) -> Vec<String> {
    let extra = if selector == A { 9 } else { 0 };
    std::iter::once("USDC".to_string()).chain((0..extra).map(|i| format!("T{i}"))).collect()
}

fn policy() -> Policy {
    let chain = |name: &str, selector: u64, treasury: u8| ChainPolicy {
        vault: Default::default(),
        vault_asset: Default::default(),
        name: name.into(),
        selector,
        reporter: reporter(selector).public(),
        treasury: keypair(treasury).public(),
        required: true,
        assets: symbols(selector)
            .iter()
            .map(|symbol| AssetPolicy {
                symbol: symbol.clone(),
                id: asset_id(symbol),
                decimals: 6,
                price_e18: U256::from(10u64.pow(18)),
                haircut_bps: 0,
            })
            .collect(),
    };
    Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: deployment(),
        chains: vec![chain("alpha", A, 0xa2), chain("beta", B, 0xb2)],
        max_report_age: 3_600,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 11_000,
        attestation_validity: 600,
    }
}

/// `count` positions of the chain's registered assets; `salt` varies the figures.
fn positions(selector: u64, count: usize, salt: u64) -> Vec<Position> {
    symbols(selector)
        .iter()
        .take(count)
        .map(|s| Position::new(s, U256::from(2_000_000 + salt), U256::from(1_000_000u64)))
        .collect()
}

/// Seals as a reporter does, with a generator seeded by `label`: one label, one byte string.
fn seal_with(
    label: &str,
    deployment: &B256,
    header: SealedHeader,
    plaintext: &[u8],
    sender: &X25519KeyPair,
) -> Vec<u8> {
    let mut rng = KeccakRng::new(label.as_bytes());
    let recipient = enclave_key().public();
    seal::seal_with_rng(
        Purpose::Report,
        deployment,
        header,
        plaintext,
        sender,
        &recipient,
        &mut rng,
    )
    .expect("valid keys")
}

/// An honest sealed report of `count` positions, under `deployment`.
fn sealed_under(label: &str, deployment: &B256, selector: u64, seq: u64, count: usize) -> Vec<u8> {
    let report = ReportV1::new(selector, seq, NOW, positions(selector, count, seq));
    let header = SealedHeader { chain_selector: selector, counter: seq };
    seal_with(label, deployment, header, &report.to_padded().unwrap(), &reporter(selector))
}

fn honest(label: &str, selector: u64, seq: u64, count: usize) -> Vec<u8> {
    sealed_under(label, &deployment(), selector, seq, count)
}

fn deliver(selector: u64, seq: u64, payload: &[u8]) -> DeliveredReport {
    DeliveredReport {
        head: Default::default(),
        message_id: keccak256(payload),
        source_chain_selector: selector,
        seq,
        payload: payload.to_vec().into(),
    }
}

/// The honest reports every module starts from. `a1` and `b1` are accepted by [`primed`].
struct Honest {
    a1: Vec<u8>,
    b1: Vec<u8>,
    a2: Vec<u8>,
    /// Ten positions: the 4096-byte bucket.
    a3: Vec<u8>,
    b2: Vec<u8>,
}

static HONEST: LazyLock<Honest> = LazyLock::new(|| Honest {
    a1: honest("a1", A, 1, 1),
    b1: honest("b1", B, 1, 1),
    a2: honest("a2", A, 2, 1),
    a3: honest("a3", A, 3, 10),
    b2: honest("b2", B, 2, 1),
});

/// An enclave that accepted `a1` and `b1` and signed an attestation: every part of its state
/// is set.
fn primed() -> Enclave {
    let keys = EnclaveKeys {
        hpke: enclave_key(),
        signer: AttestationSigner::from_bytes(&B256::repeat_byte(1)).unwrap(),
    };
    let mut enclave = Enclave::new(keys, policy(), EnclaveState::default());
    enclave.ingest(&deliver(A, 1, &HONEST.a1), NOW).expect("a1 is honest");
    enclave.ingest(&deliver(B, 1, &HONEST.b1), NOW).expect("b1 is honest");
    enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).expect("both chains reported");
    enclave
}

/// What a refused report must leave untouched: the persisted state, and what an attestation
/// made now would say.
#[derive(Debug, PartialEq)]
struct Observed {
    state: EnclaveState,
    assessment: Result<Assessment, AssessError>,
    readiness: Result<Readiness, AssessError>,
}

fn observe(enclave: &Enclave) -> Observed {
    Observed {
        state: enclave.state().clone(),
        assessment: enclave.assess(NOW),
        readiness: enclave.readiness(NOW),
    }
}

/// The name of a refusal's variant (exhaustive: a new rule must be placed here).
fn variant(err: &IngestError) -> &'static str {
    match err {
        IngestError::UnknownChain { .. } => "UnknownChain",
        IngestError::Malformed { .. } => "Malformed",
        IngestError::SelectorMismatch { .. } => "SelectorMismatch",
        IngestError::SeqMismatch { .. } => "SeqMismatch",
        IngestError::WrongReporter { .. } => "WrongReporter",
        IngestError::OpenFailed { .. } => "OpenFailed",
        IngestError::RetiredKey { .. } => "RetiredKey",
        IngestError::BadPlaintext { .. } => "BadPlaintext",
        IngestError::PlaintextMismatch { .. } => "PlaintextMismatch",
        IngestError::Replay { .. } => "Replay",
        IngestError::SeqTooLarge { .. } => "SeqTooLarge",
        IngestError::FromTheFuture { .. } => "FromTheFuture",
        IngestError::Stale { .. } => "Stale",
        IngestError::UnknownAsset { .. } => "UnknownAsset",
        IngestError::DuplicateAsset { .. } => "DuplicateAsset",
        IngestError::Overflow { .. } => "Overflow",
    }
}

/// The rules that stand between bytes and the ledger before any figure is read: which one
/// refuses a delivery whose ciphertext was altered.
fn refusal_of_altered(delivered: &DeliveredReport) -> &'static str {
    if delivered.source_chain_selector != A && delivered.source_chain_selector != B {
        return "UnknownChain";
    }
    match SealedHeader::parse(&delivered.payload) {
        Err(_) => "Malformed",
        Ok(h) if h.chain_selector != delivered.source_chain_selector => "SelectorMismatch",
        Ok(h) if h.counter != delivered.seq => "SeqMismatch",
        Ok(_) => "OpenFailed",
    }
}

/// Byte-level edits of a sealed message, shared by the properties and the corpus.
mod mutate {
    use super::*;

    pub(crate) fn flip_bit(msg: &[u8], bit: usize) -> Vec<u8> {
        let mut out = msg.to_vec();
        out[bit / 8] ^= 1 << (bit % 8);
        out
    }

    pub(crate) fn with_header(msg: &[u8], selector: u64, counter: u64) -> Vec<u8> {
        let mut out = msg.to_vec();
        out[..HEADER_LEN]
            .copy_from_slice(&SealedHeader { chain_selector: selector, counter }.to_bytes());
        out[0] = msg[0];
        out
    }

    pub(crate) fn swap_header_fields(msg: &[u8]) -> Vec<u8> {
        let mut out = msg.to_vec();
        out[1..9].copy_from_slice(&msg[9..17]);
        out[9..17].copy_from_slice(&msg[1..9]);
        out
    }

    pub(crate) fn with_version(msg: &[u8], version: u8) -> Vec<u8> {
        let mut out = msg.to_vec();
        out[0] = version;
        out
    }

    /// `msg` with the bytes at `range` taken from `donor`, at the same offsets.
    pub(crate) fn splice(msg: &[u8], donor: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
        let mut out = msg[..range.start].to_vec();
        out.extend_from_slice(&donor[range.clone()]);
        out.extend_from_slice(msg.get(range.end..).unwrap_or_default());
        out
    }

    pub(crate) fn enc_from(msg: &[u8], donor: &[u8]) -> Vec<u8> {
        splice(msg, donor, HEADER_LEN..PREFIX_LEN)
    }

    /// The header and `enc` of `msg`, the ciphertext and tag of `donor`.
    pub(crate) fn ciphertext_from(msg: &[u8], donor: &[u8]) -> Vec<u8> {
        [&msg[..PREFIX_LEN], &donor[PREFIX_LEN..]].concat()
    }
}
