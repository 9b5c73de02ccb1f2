//! The ingest corpus: more than 10,000 altered ciphertexts of honest reports, and wrong reports
//! sealed with registered keys, each refused by the rule that should refuse it, leaving the
//! enclave exactly as it was; the honest reports are accepted afterwards.

use std::{collections::BTreeMap, time::Instant};

use solvency_enclave::report::REPORT_VERSION;

use super::*;

/// Every way the enclave may refuse what the corpus delivers.
const EXPECTED: [&str; 9] = [
    "Malformed",
    "SelectorMismatch",
    "SeqMismatch",
    "OpenFailed",
    "WrongReporter",
    "BadPlaintext",
    "PlaintextMismatch",
    "UnknownChain",
    "Replay",
];

/// xorshift64 from a fixed seed: the same corpus on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// An honest sealed report that the corpus alters.
struct Base {
    selector: u64,
    seq: u64,
    payload: Vec<u8>,
}

impl Base {
    fn new(selector: u64, seq: u64, payload: &[u8]) -> Self {
        Self { selector, seq, payload: payload.to_vec() }
    }
}

/// One delivery the enclave must refuse, and the rule that must refuse it.
struct Case {
    family: &'static str,
    delivered: DeliveredReport,
    expected: &'static str,
}

struct Corpus {
    rng: XorShift,
    /// Every honest message, none of which the corpus may deliver unaltered.
    honest: Vec<Vec<u8>>,
    cases: Vec<Case>,
}

impl Corpus {
    /// An altered ciphertext, delivered mostly with the seq and selector its header now
    /// claims, sometimes with the original or random ones; under its own message id, the
    /// original's, or zero.
    fn altered(&mut self, family: &'static str, base: &Base, payload: Vec<u8>) {
        assert!(!self.honest.contains(&payload), "{family}: the edit left an honest message");
        let (mut selector, mut seq) = (base.selector, base.seq);
        match self.rng.below(8) {
            0..=4 if payload.len() >= HEADER_LEN => {
                selector = u64::from_be_bytes(payload[1..9].try_into().unwrap());
                seq = u64::from_be_bytes(payload[9..17].try_into().unwrap());
            }
            0..=6 => {}
            _ => {
                selector = [A, B, self.rng.next()][self.rng.below(3)];
                seq = [0, 1, 2, 3, self.rng.next()][self.rng.below(5)];
            }
        }
        let message_id = match self.rng.below(16) {
            0 => B256::ZERO,
            1 | 2 => keccak256(&base.payload),
            _ => keccak256(&payload),
        };
        let delivered = DeliveredReport {
            head: Default::default(),
            message_id,
            source_chain_selector: selector,
            seq,
            payload: payload.into(),
        };
        let expected = refusal_of_altered(&delivered);
        self.cases.push(Case { family, delivered, expected });
    }

    /// Like [`Self::altered`], unless the edit happened to change nothing.
    fn altered_if_changed(&mut self, family: &'static str, base: &Base, payload: Vec<u8>) {
        if payload != base.payload {
            self.altered(family, base, payload);
        }
    }

    /// A message sealed with a registered reporter key that must still be refused.
    fn authenticated(&mut self, delivered: DeliveredReport, expected: &'static str) {
        self.cases.push(Case { family: "sealed by a registered key", delivered, expected });
    }
}

/// More than 10,000 altered ciphertexts of four honest reports, and ~100 wrong reports
/// sealed with registered keys.
fn corpus() -> Corpus {
    let h = &*HONEST;
    let bases = [
        Base::new(A, 1, &h.a1),
        Base::new(A, 2, &h.a2),
        Base::new(A, 3, &h.a3),
        Base::new(B, 2, &h.b2),
    ];
    // Other honest reports to take parts from (each valid in itself).
    let donors: Vec<Vec<u8>> = (0..16)
        .map(|i| honest(&format!("donor {i}"), [A, B][i % 2], 2 + i as u64 / 2, 1))
        .collect();
    // Honest reports of the same chains, sealed for another deployment.
    let elsewhere = keccak256("another deployment");
    let foreign: Vec<Base> = [(A, 2, 1), (A, 3, 10), (B, 2, 1)]
        .into_iter()
        .map(|(selector, seq, count)| {
            let label = format!("foreign {selector} {seq}");
            Base::new(selector, seq, &sealed_under(&label, &elsewhere, selector, seq, count))
        })
        .collect();
    let honest = [&h.a1, &h.b1, &h.a2, &h.a3, &h.b2].into_iter().chain(&donors).cloned().collect();
    let mut c = Corpus { rng: XorShift(0x5eed_f00d_cafe_b0ba), honest, cases: Vec::new() };

    for base in &bases {
        let len = base.payload.len();
        // Every bit of header, enc and tag; random bits of the ciphertext.
        let edges = (0..PREFIX_LEN * 8).chain((len - TAG_LEN) * 8..len * 8);
        for bit in edges {
            c.altered("bit flip", base, mutate::flip_bit(&base.payload, bit));
        }
        for _ in 0..600 {
            let bit = PREFIX_LEN * 8 + c.rng.below((len - PREFIX_LEN - TAG_LEN) * 8);
            c.altered("bit flip", base, mutate::flip_bit(&base.payload, bit));
        }

        // Truncations: every length of a2 and b2; the layout's edges and random lengths of a1
        // and a3.
        let lengths: Vec<usize> = if base.seq == 2 {
            (0..len).collect()
        } else {
            let edges = [0, 1, 16, 17, 48, 49, 64, 65, len - 17, len - 16, len - 1];
            edges.into_iter().chain((0..300).map(|_| c.rng.below(len))).collect()
        };
        for n in lengths {
            c.altered("truncation", base, base.payload[..n].to_vec());
        }

        // Appended zeros, random bytes, or a second copy of the tag.
        for _ in 0..250 {
            let tail = match c.rng.below(3) {
                0 => vec![0; 1 + c.rng.below(64)],
                1 => {
                    let n = 1 + c.rng.below(64);
                    c.rng.bytes(n)
                }
                _ => base.payload[len - TAG_LEN..].to_vec(),
            };
            c.altered("extension", base, [&base.payload[..], &tail].concat());
        }

        // Header edits: swapped fields, the other chain, neighbouring and extreme seqs,
        // random values, every other version byte.
        let other = if base.selector == A { B } else { A };
        c.altered("header edit", base, mutate::swap_header_fields(&base.payload));
        let mut headers = vec![
            (other, base.seq),
            (base.selector, base.seq + 1),
            (base.selector, base.seq - 1),
            (base.selector, 0),
            (base.selector, u64::MAX),
            (base.seq, base.selector),
        ];
        for _ in 0..30 {
            let selector = [A, B, c.rng.next()][c.rng.below(3)];
            let seq = [c.rng.below(4) as u64, c.rng.next()][c.rng.below(2)];
            headers.push((selector, seq));
        }
        for (selector, seq) in headers {
            let payload = mutate::with_header(&base.payload, selector, seq);
            c.altered_if_changed("header edit", base, payload);
        }
        let versions: Vec<u8> = if base.seq == 2 {
            (0..=u8::MAX).collect()
        } else {
            (0..16).map(|_| c.rng.next() as u8).collect()
        };
        for version in versions {
            let payload = mutate::with_version(&base.payload, version);
            c.altered_if_changed("header edit", base, payload);
        }

        // Parts of other messages: enc, or the whole ciphertext and tag, from each of the
        // other bases, the donors and the foreign reports, each delivered twice.
        let others = bases
            .iter()
            .map(|b| &b.payload)
            .chain(&donors)
            .chain(foreign.iter().map(|f| &f.payload))
            .filter(|p| *p != &base.payload);
        for donor in others {
            for _ in 0..2 {
                c.altered("enc from another", base, mutate::enc_from(&base.payload, donor));
                let spliced = mutate::ciphertext_from(&base.payload, donor);
                c.altered_if_changed("ciphertext spliced", base, spliced);
            }
        }
        // Random stretches of a donor at the same offsets.
        for _ in 0..100 {
            let donor = &donors[c.rng.below(donors.len())];
            let start = PREFIX_LEN + c.rng.below(donor.len().min(len) - PREFIX_LEN);
            let end = (start + 1 + c.rng.below(64)).min(donor.len().min(len));
            let spliced = mutate::splice(&base.payload, donor, start..end);
            c.altered_if_changed("ciphertext spliced", base, spliced);
        }

        // A few bytes overwritten anywhere.
        for _ in 0..250 {
            let mut payload = base.payload.clone();
            for _ in 0..1 + c.rng.below(8) {
                let at = c.rng.below(len);
                payload[at] ^= 1 + c.rng.below(255) as u8;
            }
            c.altered_if_changed("overwrite", base, payload);
        }
    }

    // Whole reports of another deployment, their bit flips, and their header and enc around
    // this deployment's ciphertexts.
    for f in &foreign {
        for _ in 0..4 {
            c.altered("another deployment", f, f.payload.clone());
        }
        for _ in 0..150 {
            let bit = c.rng.below(f.payload.len() * 8);
            c.altered("another deployment", f, mutate::flip_bit(&f.payload, bit));
        }
        for base in &bases {
            let spliced = mutate::ciphertext_from(&f.payload, &base.payload);
            c.altered("another deployment", f, spliced);
        }
    }

    authenticated(&mut c);
    c
}

/// Reports sealed by a registered reporter that are still wrong: replays, another chain's
/// key, a plaintext that contradicts its header, plaintexts that are not reports.
fn authenticated(c: &mut Corpus) {
    let h = &*HONEST;
    let padded = |selector: u64, seq: u64| {
        ReportV1::new(selector, seq, NOW, positions(selector, 1, seq + 7)).to_padded().unwrap()
    };
    let seal = |header: (u64, u64), plaintext: &[u8], sender: u64| {
        let label = format!("{header:?} {sender} {}", hex_digest(plaintext));
        let header = SealedHeader { chain_selector: header.0, counter: header.1 };
        seal_with(&label, &deployment(), header, plaintext, &reporter(sender))
    };

    // Replays: the accepted bytes in another message, other figures at the same or a lower
    // seq.
    let mut resent = deliver(A, 1, &h.a1);
    resent.message_id = B256::ZERO;
    c.authenticated(resent, "Replay");
    for (selector, seq) in [(A, 0), (A, 1), (B, 1), (B, 0)] {
        let payload = seal((selector, seq), &padded(selector, seq), selector);
        c.authenticated(deliver(selector, seq, &payload), "Replay");
    }

    // Sealed with the other chain's reporter key.
    for (selector, seq, sender) in [(A, 2, B), (B, 2, A), (A, 5, B)] {
        let payload = seal((selector, seq), &padded(selector, seq), sender);
        c.authenticated(deliver(selector, seq, &payload), "WrongReporter");
    }

    // The plaintext names another chain or seq than the authenticated header.
    for (header, report) in [((A, 2), (A, 3)), ((A, 2), (B, 2)), ((A, 2), (A, 1)), ((B, 2), (B, 9))]
    {
        let payload = seal(header, &padded(report.0, report.1), header.0);
        c.authenticated(deliver(header.0, header.1, &payload), "PlaintextMismatch");
    }

    // Plaintexts that are not a padded report: every bit of the length prefix, non-zero
    // padding, another version, another size, a body that is not ABI.
    let good = padded(A, 2);
    let body_len = u32::from_be_bytes(good[..4].try_into().unwrap()) as usize;
    let mut bad: Vec<Vec<u8>> = (0..32).map(|bit| mutate::flip_bit(&good, bit)).collect();
    for _ in 0..24 {
        let at = 4 + body_len + c.rng.below(good.len() - 4 - body_len);
        let mut plaintext = good.clone();
        plaintext[at] = 1 + c.rng.below(255) as u8;
        bad.push(plaintext);
    }
    for version in [0, REPORT_VERSION + 1, u8::MAX] {
        let mut report = ReportV1::new(A, 2, NOW, positions(A, 1, 0));
        report.version = version;
        bad.push(report.to_padded().unwrap());
    }
    for size in [0, 4, 1000, 1025, 2048] {
        let mut plaintext = good.clone();
        plaintext.resize(size, 0);
        bad.push(plaintext);
    }
    for _ in 0..16 {
        let n = 64 + c.rng.below(900);
        let mut plaintext = (n as u32).to_be_bytes().to_vec();
        plaintext.extend(c.rng.bytes(n));
        plaintext.resize(1024, 0);
        bad.push(plaintext);
    }
    for plaintext in bad {
        let payload = seal((A, 2), &plaintext, A);
        c.authenticated(deliver(A, 2, &payload), "BadPlaintext");
    }
}

/// What differs between two observations, without the long attestation bytes.
fn changes(before: &Observed, after: &Observed) -> String {
    let (b, a) = (&before.state, &after.state);
    let mut changed = Vec::new();
    if b.last_seq != a.last_seq {
        changed.push(format!("last_seq {:?} -> {:?}", b.last_seq, a.last_seq));
    }
    if b.last_delivery != a.last_delivery {
        changed.push(format!("last_delivery {:?} -> {:?}", b.last_delivery, a.last_delivery));
    }
    if b.last_epoch != a.last_epoch || b.last_signed != a.last_signed {
        changed.push("the last signed attestation".into());
    }
    if (b.hpke_generation, b.previous_key_valid_until)
        != (a.hpke_generation, a.previous_key_valid_until)
    {
        changed.push("the HPKE generation".into());
    }
    if before.assessment != after.assessment {
        changed.push(format!("assessment {:?} -> {:?}", before.assessment, after.assessment));
    }
    if before.readiness != after.readiness {
        changed.push(format!("readiness {:?} -> {:?}", before.readiness, after.readiness));
    }
    changed.join("; ")
}

/// A short name for a plaintext, to seal each with its own ephemeral key.
fn hex_digest(bytes: &[u8]) -> String {
    keccak256(bytes).to_string()
}

#[test]
fn ten_thousand_altered_reports_are_refused_and_change_nothing() {
    let started = Instant::now();
    let corpus = corpus();
    let built = started.elapsed();
    let mut enclave = primed();
    let before = observe(&enclave);
    assert!(before.assessment.is_ok() && before.state.last_signed.is_some());

    let mut by_variant = BTreeMap::<&str, usize>::new();
    let mut by_family = BTreeMap::<&str, usize>::new();
    for (i, case) in corpus.cases.iter().enumerate() {
        let d = &case.delivered;
        let context = format!(
            "case {i} ({}): {} bytes delivered from {} with seq {}",
            case.family,
            d.payload.len(),
            d.source_chain_selector,
            d.seq
        );
        let err = match enclave.ingest(d, NOW) {
            Ok(accepted) => panic!("{context}: accepted {accepted:?}"),
            Err(err) => err,
        };
        let got = variant(&err);
        assert!(EXPECTED.contains(&got), "{context}: unexpected refusal {err:?}");
        assert_eq!(got, case.expected, "{context}: refused by the wrong rule: {err}");
        let after = observe(&enclave);
        assert!(
            after == before,
            "{context}: a refused report changed {}",
            changes(&before, &after)
        );
        *by_variant.entry(got).or_default() += 1;
        *by_family.entry(case.family).or_default() += 1;
    }

    let altered = corpus.cases.iter().filter(|c| c.family != "sealed by a registered key");
    let altered = altered.count();
    println!(
        "{} deliveries refused ({altered} altered ciphertexts) in {:?} (corpus built in {built:?})",
        corpus.cases.len(),
        started.elapsed() - built,
    );
    println!("by rule:   {by_variant:?}");
    println!("by family: {by_family:?}");
    assert!(altered >= 10_000, "only {altered} altered ciphertexts");

    // The honest reports that were altered are still accepted, in order.
    let h = &*HONEST;
    for (selector, seq, payload) in [(A, 2, &h.a2), (A, 3, &h.a3), (B, 2, &h.b2)] {
        let accepted = enclave.ingest(&deliver(selector, seq, payload), NOW).unwrap();
        assert_eq!((accepted.selector, accepted.seq, accepted.again), (selector, seq, false));
    }
    assert_eq!(enclave.state().last_seq, BTreeMap::from([(A, 3), (B, 2)]));
    assert_ne!(observe(&enclave).assessment, before.assessment);
}
