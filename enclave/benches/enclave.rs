//! Enclave benchmarks, printed as plain figures (no timed assertions):
//!
//! 1. `Enclave::ingest` throughput (HPKE open, parsing, every acceptance rule, ledger insert)
//!    against raw `seal::open` on the same sealed reports, measured side by side in one run, and
//!    their ratio. Reports carry 3 positions, so they pad to the 1024-byte bucket.
//! 2. For 1,000 chains × 10 assets (reports in the 4096-byte bucket): `Enclave::assess` alone,
//!    and `Enclave::attest` (assess, 1,000 instruction seals, one signature), with a breakdown of
//!    the instruction seals and the signature measured alone.
//!
//! Run with `cargo bench -p solvency-enclave --bench enclave`.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use alloy::primitives::{B256, U256, keccak256};
use solvency_enclave::{
    AssetPolicy, AttestationSigner, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys,
    EnclaveState, Policy, Position, Purpose, ReportV1, X25519KeyPair, X25519Public, asset_id,
    instruction::seal_instruction, seal, seal_report,
};

/// The enclave's clock for every call; every report is observed at this instant.
const NOW: u64 = 1_750_000_000;
/// Timed repetitions of each measurement (after one untimed warm-up).
const REPEATS: usize = 5;
/// Chains and seqs per chain of the ingest benchmark: N = 8 × 500 = 4,000 reports.
const INGEST_CHAINS: usize = 8;
const SEQS_PER_CHAIN: u64 = 500;
/// Positions per report in the ingest benchmark (1024-byte bucket).
const INGEST_POSITIONS: usize = 3;
/// The assessment benchmark: 1,000 chains × 10 assets.
const BIG_CHAINS: usize = 1_000;
/// Runs of the (cheap) assessment alone and of the signature alone.
const ASSESS_REPEATS: usize = 11;
const SIGN_REPEATS: usize = 101;

/// Symbol, decimals, price in thousandths of a USD, haircut in basis points.
const ASSETS: [(&str, u8, u64, u16); 10] = [
    ("USDC", 6, 1_000, 0),
    ("USDT", 6, 1_000, 0),
    ("WETH", 18, 3_000_000, 500),
    ("DAI", 18, 1_000, 50),
    ("WBTC", 8, 60_000_000, 700),
    ("LINK", 18, 15_000, 1_500),
    ("UNI", 18, 8_000, 2_000),
    ("AAVE", 18, 90_000, 1_500),
    ("stETH", 18, 2_990_000, 600),
    ("ARB", 18, 1_100, 2_500),
];

/// A policy of `chains` required chains with `assets` assets each, and the reporters' keys.
struct World {
    policy: Policy,
    reporters: Vec<X25519KeyPair>,
    enclave_public: X25519Public,
}

impl World {
    fn new(chains: usize, assets: usize) -> Self {
        let reporters: Vec<_> = (0..chains).map(|_| X25519KeyPair::generate()).collect();
        let assets: Vec<_> = ASSETS[..assets]
            .iter()
            .map(|&(symbol, decimals, price_milli, haircut_bps)| AssetPolicy {
                symbol: symbol.into(),
                id: asset_id(symbol),
                decimals,
                price_e18: U256::from(price_milli) * U256::from(10u64.pow(15)),
                haircut_bps,
            })
            .collect();
        let chains = reporters
            .iter()
            .enumerate()
            .map(|(i, reporter)| ChainPolicy {
                vault: Default::default(),
                vault_asset: Default::default(),
                name: format!("chain-{i}"),
                selector: selector(i),
                reporter: reporter.public(),
                treasury: X25519KeyPair::generate().public(),
                required: true,
                assets: assets.clone(),
            })
            .collect();
        let policy = Policy {
            protocol: Default::default(),
            recovery: Default::default(),
            ledger: None,
            deployment_id: keccak256("self-healing-reserve/bench"),
            chains,
            max_report_age: 3_600,
            max_clock_skew: 30,
            solvency_ratio_bps: 10_000,
            recovery_ratio_bps: 11_000,
            attestation_validity: 600,
        };
        Self { policy, reporters, enclave_public: enclave_keys().public().hpke_public_key }
    }

    /// Chain `i`'s report `seq`, sealed and delivered as the hub would emit it. Reserves are
    /// twice the liabilities, so the whole deployment is solvent after haircuts.
    fn delivered(&self, i: usize, seq: u64) -> DeliveredReport {
        let chain = &self.policy.chains[i];
        let positions = chain
            .assets
            .iter()
            .enumerate()
            .map(|(a, asset)| {
                let units = U256::from(1_000 + 10 * a + i % 97);
                let one = U256::from(10u8).pow(U256::from(asset.decimals));
                Position::new(&asset.symbol, units * one * U256::from(2u8), units * one)
            })
            .collect();
        let report = ReportV1::new(chain.selector, seq, NOW, positions);
        let payload = seal_report(
            &report,
            &self.policy.deployment_id,
            &self.reporters[i],
            &self.enclave_public,
        )
        .expect("a bench report seals");
        DeliveredReport {
            head: Default::default(),
            message_id: keccak256(&payload),
            source_chain_selector: chain.selector,
            seq,
            payload,
        }
    }
}

/// A distinct, CCIP-looking selector per chain.
fn selector(i: usize) -> u64 {
    0x5eed_0000_0000_0000 + 1_000_000_007 * (i as u64 + 1)
}

/// The same enclave keys every time, so each repetition can start a fresh `Enclave`.
fn enclave_keys() -> EnclaveKeys {
    EnclaveKeys {
        hpke: X25519KeyPair::from_secret_bytes(keccak256("bench/enclave/hpke").0),
        signer: AttestationSigner::from_bytes(&keccak256("bench/enclave/signer"))
            .expect("a keccak digest is a valid secp256k1 scalar"),
    }
}

fn fresh_enclave(policy: &Policy) -> Enclave {
    Enclave::new(enclave_keys(), policy.clone(), EnclaveState::default())
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn rate(items: usize, elapsed: Duration) -> f64 {
    items as f64 / elapsed.as_secs_f64()
}

/// `12345.6` → `12,346`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn bench_ingest_vs_open() {
    let world = World::new(INGEST_CHAINS, INGEST_POSITIONS);
    // Seq ascending, chains interleaved: each chain sees 1, 2, 3, … in order.
    let delivered: Vec<(DeliveredReport, X25519Public)> = (1..=SEQS_PER_CHAIN)
        .flat_map(|seq| (0..INGEST_CHAINS).map(move |i| (i, seq)))
        .map(|(i, seq)| (world.delivered(i, seq), world.reporters[i].public()))
        .collect();
    let n = delivered.len();
    for (d, _) in &delivered {
        assert_eq!(d.payload.len(), seal::PREFIX_LEN + 1024 + seal::TAG_LEN, "1024-byte bucket");
    }
    let enclave_hpke = enclave_keys().hpke;
    let deployment = world.policy.deployment_id;

    let ingest_all = || {
        let mut enclave = fresh_enclave(&world.policy);
        let (elapsed, ()) = time(|| {
            for (d, _) in &delivered {
                let accepted = enclave.ingest(d, NOW).expect("every prepared report is accepted");
                black_box(accepted);
            }
        });
        for i in 0..INGEST_CHAINS {
            assert_eq!(enclave.latest_seq(selector(i)), Some(SEQS_PER_CHAIN));
        }
        elapsed
    };
    let open_all = || {
        time(|| {
            for (d, reporter) in &delivered {
                let opened =
                    seal::open(Purpose::Report, &deployment, &d.payload, &enclave_hpke, reporter)
                        .expect("every prepared report opens");
                black_box(opened);
            }
        })
        .0
    };

    // One untimed warm-up of each, then interleaved repetitions so both see the same machine.
    ingest_all();
    open_all();
    let (mut ingest, mut open) = (Vec::new(), Vec::new());
    for _ in 0..REPEATS {
        ingest.push(ingest_all());
        open.push(open_all());
    }
    let range = |samples: &[Duration]| {
        let rates: Vec<f64> = samples.iter().map(|&d| rate(n, d)).collect();
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        format!("{}–{}", thousands(lo), thousands(hi))
    };
    let (ingest_med, open_med) = (median(ingest.clone()), median(open.clone()));
    let (ingest_rate, open_rate) = (rate(n, ingest_med), rate(n, open_med));
    let count = thousands(n as f64);
    println!(
        "== ingest vs raw HPKE open: {count} reports ({INGEST_CHAINS} chains × seq \
         1..={SEQS_PER_CHAIN}), {INGEST_POSITIONS} positions each, 1024-byte bucket"
    );
    println!(
        "ingest: {} reports/s (median of {REPEATS}) | raw HPKE open: {} opens/s | \
         ratio ingest/open: {:.2}",
        thousands(ingest_rate),
        thousands(open_rate),
        ingest_rate / open_rate,
    );
    println!(
        "  spread over {REPEATS} runs: ingest {} /s, open {} /s",
        range(&ingest),
        range(&open)
    );
    println!(
        "  per report: ingest {}, open {}, beyond the open {}",
        us(ingest_med / n as u32),
        us(open_med / n as u32),
        us(ingest_med.saturating_sub(open_med) / n as u32),
    );
}

fn bench_assess_and_attest() {
    let world = World::new(BIG_CHAINS, ASSETS.len());
    let delivered: Vec<_> = (0..BIG_CHAINS).map(|i| world.delivered(i, 1)).collect();
    for d in &delivered {
        assert_eq!(d.payload.len(), seal::PREFIX_LEN + 4096 + seal::TAG_LEN, "4096-byte bucket");
    }
    let mut enclave = fresh_enclave(&world.policy);
    let (fill, ()) = time(|| {
        for d in &delivered {
            enclave.ingest(d, NOW).expect("every prepared report is accepted");
        }
    });

    let assess_once = || {
        let (elapsed, assessment) = time(|| enclave.assess(NOW).expect("the ledger is complete"));
        assert!(assessment.solvent);
        assert_eq!(assessment.reports.len(), BIG_CHAINS);
        elapsed
    };
    assess_once();
    let assess = median((0..ASSESS_REPEATS).map(|_| assess_once()).collect());

    let mut attest_once = |expected_epoch: u64| {
        let (elapsed, signed) = time(|| {
            enclave
                .attest(NOW, 0, alloy::primitives::B256::ZERO)
                .expect("the enclave attests a complete ledger")
        });
        assert_eq!(signed.attestation.epoch, expected_epoch);
        assert!(signed.attestation.solvent);
        assert_eq!(signed.messages.len(), BIG_CHAINS);
        assert_eq!(signed.signature.len(), 65);
        (elapsed, signed.attestation)
    };
    attest_once(1);
    let mut attest_samples = Vec::new();
    let mut last = None;
    for epoch in 2..2 + REPEATS as u64 {
        let (elapsed, attestation) = attest_once(epoch);
        attest_samples.push(elapsed);
        last = Some(attestation);
    }
    let attest_range = format!(
        "{}–{}",
        ms(*attest_samples.iter().min().expect("samples")),
        ms(*attest_samples.iter().max().expect("samples")),
    );
    let attest = median(attest_samples);

    // Breakdown: the 1,000 instruction seals and the signature, measured alone with the same keys.
    let keys = enclave_keys();
    let seal_all = || {
        time(|| {
            for chain in &world.policy.chains {
                let sealed =
                    seal_instruction(&world.policy, &keys, chain, 99, &B256::ZERO, Vec::new())
                        .expect("an empty instruction seals");
                black_box(sealed);
            }
        })
        .0
    };
    seal_all();
    let seals = median((0..REPEATS).map(|_| seal_all()).collect());
    let attestation = last.expect("attested at least once");
    let sign = median(
        (0..SIGN_REPEATS).map(|_| time(|| black_box(keys.signer.sign(&attestation))).0).collect(),
    );

    let big = thousands(BIG_CHAINS as f64);
    println!();
    println!(
        "== assessment and attestation: {big} chains × {} assets (one report per chain, \
         4096-byte bucket)",
        ASSETS.len()
    );
    println!(
        "ledger fill: {big} ingests in {} ({} reports/s, single run)",
        ms(fill),
        thousands(rate(BIG_CHAINS, fill)),
    );
    println!("assess alone: {} (median of {ASSESS_REPEATS})", ms(assess));
    println!(
        "attest (assess + {big} instruction seals + signature): {} (median of {REPEATS}, \
         range {attest_range})",
        ms(attest)
    );
    println!(
        "  breakdown, measured alone: {big} instruction seals {} ({} each, median of \
         {REPEATS}) | signature {} (median of {SIGN_REPEATS})",
        ms(seals),
        us(seals / BIG_CHAINS as u32),
        us(sign),
    );
}

fn main() {
    println!(
        "solvency-enclave bench (release build, single thread; medians after one warm-up run)"
    );
    bench_ingest_vs_open();
    bench_assess_and_attest();
    bench_nitro_verify();
}

/// Verifying one real AWS Nitro attestation document: COSE ES384 signature, a five-certificate
/// P-384 chain to the pinned root, PCRs.
fn bench_nitro_verify() {
    const RUNS: usize = 101;
    let document = include_bytes!("../tests/data/nitro-sample-attestation.bin");
    // Inside the leaf certificate's validity window, a minute after the document was made.
    let at = 1_708_930_981;
    let policy = solvency_enclave::EvidencePolicy { max_age: 3_600, ..Default::default() };
    solvency_enclave::attestor::verify_nitro_document(document, &policy, at)
        .expect("the sample verifies");
    let samples = (0..RUNS)
        .map(|_| {
            time(|| {
                solvency_enclave::attestor::verify_nitro_document(document, &policy, at).unwrap()
            })
            .0
        })
        .collect();
    println!(
        "\n== evidence\nverify one AWS Nitro document ({} bytes, 5-certificate chain): {} (median of {RUNS})",
        document.len(),
        us(median(samples))
    );
}
