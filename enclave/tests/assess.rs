//! Assessment and attestation: several assets per chain with decimals, prices and haircuts;
//! the solvency ratio; required chains; overflow; epochs; instructions.

use alloy::primitives::{B256, U256, keccak256};
use solvency_enclave::{
    AssessError, AssetPolicy, AttestError, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys,
    EnclaveState, Ledger, Policy, Position, ReportV1, X25519KeyPair, assess, asset_id,
    instruction::{SEALED_INSTRUCTION_LEN, open_instruction},
    ledger::LedgerEntry,
    seal_report,
};

const A: u64 = 11;
const B: u64 = 22;
const C: u64 = 33;
const NOW: u64 = 1_750_000_000;

fn e18(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

fn asset(symbol: &str, decimals: u8, price_usd: u64, haircut_bps: u16) -> AssetPolicy {
    AssetPolicy {
        symbol: symbol.into(),
        id: asset_id(symbol),
        decimals,
        price_e18: e18(price_usd),
        haircut_bps,
    }
}

fn chain(name: &str, selector: u64, required: bool) -> ChainPolicy {
    ChainPolicy {
        vault: Default::default(),
        vault_asset: Default::default(),
        name: name.into(),
        selector,
        reporter: X25519KeyPair::generate().public(),
        treasury: X25519KeyPair::generate().public(),
        required,
        assets: vec![asset("USDC", 6, 1, 0), asset("WETH", 18, 3000, 1000)],
    }
}

fn policy() -> Policy {
    Policy {
        protocol: Default::default(),
        recovery: Default::default(),
        ledger: None,
        deployment_id: keccak256("assess"),
        chains: vec![chain("a", A, true), chain("b", B, true), chain("c", C, false)],
        max_report_age: 300,
        max_clock_skew: 30,
        solvency_ratio_bps: 10_000,
        recovery_ratio_bps: 12_000,
        attestation_validity: 600,
    }
}

/// `usdc` and `weth` in whole units.
fn entry(seq: u64, observed_at: u64, usdc: (u64, u64), weth: (u64, u64)) -> LedgerEntry {
    let six = U256::from(10u64.pow(6));
    let eighteen = U256::from(10u64).pow(U256::from(18));
    LedgerEntry {
        head: Default::default(),
        seq,
        observed_at,
        message_id: B256::repeat_byte(seq as u8),
        payload_digest: keccak256(seq.to_be_bytes()),
        positions: vec![
            Position::new("USDC", U256::from(usdc.0) * six, U256::from(usdc.1) * six),
            Position::new("WETH", U256::from(weth.0) * eighteen, U256::from(weth.1) * eighteen),
        ],
    }
}

#[test]
fn values_assets_with_decimals_prices_and_haircuts_across_chains() {
    let mut ledger = Ledger::default();
    // a: 1,000 USDC + 1 WETH (3,000 × 90 % = 2,700) held; 3,000 USDC owed.
    ledger.insert(A, entry(1, NOW, (1_000, 3_000), (1, 0)));
    // b: nothing held, 690 USDC owed. Total held 3,700, owed 3,690: solvent at 100 %.
    ledger.insert(B, entry(1, NOW, (0, 690), (0, 0)));
    let outcome = assess(&ledger, &policy(), NOW).unwrap();
    assert!(outcome.solvent);
    assert_eq!(outcome.health_bps, 3_700 * 10_000 / 3_690);
    assert!(outcome.needs_recovery, "100.27 % is under the 120 % recovery line");

    // 11 more USDC owed on b tips it: 3,700 < 3,701. Without the WETH haircut it would not.
    ledger.insert(B, entry(2, NOW, (0, 701), (0, 0)));
    assert!(!assess(&ledger, &policy(), NOW).unwrap().solvent);
}

#[test]
fn the_ratio_policy_sets_the_threshold() {
    let mut ledger = Ledger::default();
    ledger.insert(A, entry(1, NOW, (1_500, 1_000), (0, 0)));
    ledger.insert(B, entry(1, NOW, (0, 0), (0, 0)));
    let mut p = policy();
    for (ratio, solvent) in [(10_000, true), (15_000, true), (15_001, false)] {
        p.solvency_ratio_bps = ratio;
        assert_eq!(assess(&ledger, &p, NOW).unwrap().solvent, solvent, "ratio {ratio}");
    }
}

#[test]
fn every_required_chain_needs_a_fresh_report() {
    let mut ledger = Ledger::default();
    ledger.insert(A, entry(1, NOW, (1, 0), (0, 0)));
    assert_eq!(
        assess(&ledger, &policy(), NOW),
        Err(AssessError::MissingReport { chain: "b".into() })
    );
    ledger.insert(B, entry(1, NOW - 301, (1, 0), (0, 0)));
    assert!(
        matches!(assess(&ledger, &policy(), NOW), Err(AssessError::StaleReport { chain, .. }) if chain == "b")
    );
    ledger.insert(B, entry(2, NOW - 300, (1, 0), (0, 0)));
    let outcome = assess(&ledger, &policy(), NOW).unwrap();
    // The optional chain c never reported: it is simply not part of the digest.
    assert_eq!(outcome.reports, vec![(A, 1), (B, 2)]);
}

#[test]
fn a_stale_optional_chain_still_owes_but_its_reserves_no_longer_count() {
    let mut ledger = Ledger::default();
    ledger.insert(A, entry(1, NOW, (5, 0), (0, 0)));
    ledger.insert(B, entry(1, NOW, (5, 0), (0, 0)));
    let without = assess(&ledger, &policy(), NOW).unwrap();
    assert!(without.solvent);
    // Chain c once reported plenty held and a little owed, then fell silent.
    ledger.insert(C, entry(1, NOW - 1_000, (1_000_000, 11), (0, 0)));
    let stale = assess(&ledger, &policy(), NOW).unwrap();
    assert!(!stale.solvent, "its 11 owed count, its 1,000,000 held do not: 10 < 11");
    assert_eq!(stale.reports, vec![(A, 1), (B, 1), (C, 1)], "the digest says it was used");
    // Fresh again, its reserves count again.
    ledger.insert(C, entry(2, NOW, (1_000_000, 11), (0, 0)));
    let fresh = assess(&ledger, &policy(), NOW).unwrap();
    assert!(fresh.solvent);
    assert_ne!(fresh.reports_digest, stale.reports_digest);
}

#[test]
fn overflow_is_an_error_not_a_wrapped_number() {
    let mut ledger = Ledger::default();
    let huge = LedgerEntry {
        // amount × price overflows: 10^58 × 10^18 > 2^256.
        positions: vec![Position::new("USDC", U256::MAX / U256::from(10u64.pow(17)), U256::ZERO)],
        ..entry(1, NOW, (0, 0), (0, 0))
    };
    ledger.insert(A, huge.clone());
    ledger.insert(B, huge);
    assert!(matches!(assess(&ledger, &policy(), NOW), Err(AssessError::Overflow { .. })));
}

#[test]
fn debug_of_an_assessment_hides_the_health_ratio() {
    let mut ledger = Ledger::default();
    ledger.insert(A, entry(1, NOW, (123_456, 1), (0, 0)));
    ledger.insert(B, entry(1, NOW, (0, 0), (0, 0)));
    let outcome = assess(&ledger, &policy(), NOW).unwrap();
    assert!(!format!("{outcome:?}").contains(&outcome.health_bps.to_string()));
}

fn enclave_with_reporters(
    state: EnclaveState,
) -> (Enclave, Vec<X25519KeyPair>, Vec<X25519KeyPair>, solvency_enclave::X25519Public) {
    let keys = EnclaveKeys::generate();
    let enclave_public = keys.public().hpke_public_key;
    let reporters = vec![X25519KeyPair::generate(), X25519KeyPair::generate()];
    let treasuries = vec![X25519KeyPair::generate(), X25519KeyPair::generate()];
    let mut p = policy();
    p.chains.truncate(2);
    for (i, chain) in p.chains.iter_mut().enumerate() {
        chain.reporter = reporters[i].public();
        chain.treasury = treasuries[i].public();
    }
    (Enclave::new(keys, p, state), reporters, treasuries, enclave_public)
}

fn report(
    enclave: &mut Enclave,
    reporter: &X25519KeyPair,
    enclave_public: &solvency_enclave::X25519Public,
    selector: u64,
    seq: u64,
) {
    let usdc = vec![Position::new("USDC", U256::from(10u64.pow(6)), U256::ZERO)];
    let deployment = enclave.policy().deployment_id;
    let payload = seal_report(
        &ReportV1::new(selector, seq, NOW, usdc),
        &deployment,
        reporter,
        enclave_public,
    )
    .unwrap();
    let delivered = DeliveredReport {
        head: Default::default(),
        message_id: keccak256(&payload),
        source_chain_selector: selector,
        seq,
        payload,
    };
    enclave.ingest(&delivered, NOW).unwrap();
}

#[test]
fn attestation_epochs_continue_above_memory_and_chain() {
    let (mut enclave, reporters, _, enclave_public) =
        enclave_with_reporters(EnclaveState::default());
    assert!(matches!(
        enclave.attest(NOW, 0, alloy::primitives::B256::ZERO),
        Err(AttestError::NotReady(AssessError::MissingReport { .. }))
    ));
    assert_eq!(enclave.state().last_epoch, 0, "no attestation, no epoch consumed");
    report(&mut enclave, &reporters[0], &enclave_public, A, 1);
    report(&mut enclave, &reporters[1], &enclave_public, B, 1);
    assert_eq!(enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap().attestation.epoch, 1);
    assert_eq!(enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap().attestation.epoch, 2);
    // The hub holds a later epoch (another enclave instance published): go above it.
    assert_eq!(
        enclave.attest(NOW, 40, alloy::primitives::B256::ZERO).unwrap().attestation.epoch,
        41
    );
    // A restarted enclave remembers its epoch and seqs through its persisted state; it needs
    // fresh reports before it attests again, and its epochs go on above both.
    let state = enclave.state().clone();
    assert_eq!(state.last_epoch, 41);
    let (mut restarted, reporters, _, enclave_public) = enclave_with_reporters(state);
    assert!(matches!(
        restarted.attest(NOW, 0, alloy::primitives::B256::ZERO),
        Err(AttestError::NotReady(_))
    ));
    report(&mut restarted, &reporters[0], &enclave_public, A, 2);
    report(&mut restarted, &reporters[1], &enclave_public, B, 2);
    assert_eq!(
        restarted.attest(NOW, 5, alloy::primitives::B256::ZERO).unwrap().attestation.epoch,
        42
    );
}

#[test]
fn attestation_is_signed_and_commits_to_constant_size_instructions() {
    let (mut enclave, reporters, treasuries, enclave_public) =
        enclave_with_reporters(EnclaveState::default());
    report(&mut enclave, &reporters[0], &enclave_public, A, 1);
    report(&mut enclave, &reporters[1], &enclave_public, B, 1);
    let signed = enclave.attest(NOW, 0, alloy::primitives::B256::ZERO).unwrap();
    let a = &signed.attestation;
    assert!(a.solvent);
    assert_eq!(a.validUntil, NOW + 600);
    assert_eq!(a.deploymentId, enclave.policy().deployment_id);
    let signature = alloy::signers::Signature::try_from(signed.signature.as_ref()).unwrap();
    assert_eq!(
        signature.recover_address_from_prehash(&a.digest()).unwrap(),
        enclave.public().signer
    );

    let selectors: Vec<u64> = signed.messages.iter().map(|m| m.leaf.chainSelector).collect();
    assert_eq!(selectors, vec![A, B], "one per chain, ascending");
    assert!(signed.messages.iter().all(|m| m.instruction.len() == SEALED_INSTRUCTION_LEN));
    for m in &signed.messages {
        // Each leaf commits to its instruction and proves under chainsRoot; the reports' heads
        // and seqs are the ones delivered.
        assert_eq!(m.leaf.instructionHash, keccak256(&m.instruction));
        assert!(solvency_enclave::merkle::verify(&m.proof, a.chainsRoot, m.leaf.hash()));
        assert_eq!((m.leaf.reportSeq, m.leaf.logCount), (1, 0));
        // A salted authRoot every epoch, never zero, never repeated across chains.
        assert_ne!(m.leaf.authRoot, B256::ZERO);
    }
    assert_ne!(signed.messages[0].leaf.authRoot, signed.messages[1].leaf.authRoot);
    assert!(!solvency_enclave::merkle::verify(
        &signed.messages[0].proof,
        a.chainsRoot,
        signed.messages[1].leaf.hash()
    ));
    assert_eq!(a.parentLedgerRoot, B256::ZERO);
    assert_ne!(a.ledgerRoot, B256::ZERO);
    let opened = open_instruction(
        &a.deploymentId,
        &signed.messages[1].instruction,
        &treasuries[1],
        &enclave_public,
    )
    .unwrap();
    assert_eq!((opened.chainSelector, opened.epoch, opened.lots.len()), (B, a.epoch, 0));
    assert!(
        open_instruction(
            &a.deploymentId,
            &signed.messages[1].instruction,
            &treasuries[0],
            &enclave_public
        )
        .is_err()
    );
}

#[test]
fn quorum_members_with_the_same_reports_sign_the_same_attestation() {
    let hpke_secret = keccak256("shared report key").0;
    let mut p = policy();
    p.chains.truncate(2);
    let reporters = [X25519KeyPair::generate(), X25519KeyPair::generate()];
    for (chain, reporter) in p.chains.iter_mut().zip(&reporters) {
        chain.reporter = reporter.public();
    }
    let member = || {
        let keys = EnclaveKeys {
            hpke: X25519KeyPair::from_secret_bytes(hpke_secret),
            signer: solvency_enclave::AttestationSigner::random(),
        };
        Enclave::new(keys, p.clone(), EnclaveState::default())
    };
    let (mut a, mut b) = (member(), member());
    let enclave_public = a.public().hpke_public_key;
    for (i, selector) in [A, B].into_iter().enumerate() {
        let usdc = vec![Position::new("USDC", U256::from(10u64.pow(6)), U256::ZERO)];
        let payload = seal_report(
            &ReportV1::new(selector, 1, NOW, usdc),
            &p.deployment_id,
            &reporters[i],
            &enclave_public,
        )
        .unwrap();
        let delivered = DeliveredReport {
            head: Default::default(),
            message_id: keccak256(&payload),
            source_chain_selector: selector,
            seq: 1,
            payload,
        };
        a.ingest(&delivered, NOW).unwrap();
        b.ingest(&delivered, NOW).unwrap();
    }
    let (sa, sb) = (
        a.attest_epoch(NOW, 5, alloy::primitives::B256::ZERO).unwrap(),
        b.attest_epoch(NOW, 5, alloy::primitives::B256::ZERO).unwrap(),
    );
    assert_eq!(sa.attestation, sb.attestation, "same statement, instructions included");
    assert_eq!(sa.messages, sb.messages);
    assert_ne!(sa.signer, sb.signer);
    // Each member signs one statement per epoch: asked again while nothing changed, it hands
    // out the same one (a failed publish does not use up an epoch)...
    assert_eq!(a.attest_epoch(NOW + 1, 5, alloy::primitives::B256::ZERO).unwrap(), sa);
    // ...and once its reports change, it refuses that epoch.
    let usdc = vec![Position::new("USDC", U256::from(2 * 10u64.pow(6)), U256::ZERO)];
    let payload = seal_report(
        &ReportV1::new(A, 2, NOW, usdc),
        &p.deployment_id,
        &reporters[0],
        &enclave_public,
    )
    .unwrap();
    let delivered = DeliveredReport {
        head: Default::default(),
        message_id: keccak256(&payload),
        source_chain_selector: A,
        seq: 2,
        payload,
    };
    a.ingest(&delivered, NOW).unwrap();
    assert!(matches!(
        a.attest_epoch(NOW, 5, alloy::primitives::B256::ZERO),
        Err(AttestError::EpochUsed { epoch: 5, last_epoch: 5 })
    ));
    // A later epoch seals different ephemeral keys: no ciphertext repeats.
    let later = a.attest_epoch(NOW, 6, alloy::primitives::B256::ZERO).unwrap();
    assert!(later.messages.iter().zip(&sa.messages).all(|(x, y)| x.instruction != y.instruction));
    // The ledger root is new every epoch, and the same in both members.
    b.ingest(&delivered, NOW).unwrap();
    let next = a.attest_epoch(NOW, 60, sa.attestation.ledgerRoot).unwrap();
    assert_ne!(next.attestation.ledgerRoot, sa.attestation.ledgerRoot);
    assert_eq!(next.attestation.parentLedgerRoot, sa.attestation.ledgerRoot);
    assert_eq!(
        b.attest_epoch(NOW, 60, sa.attestation.ledgerRoot).unwrap().attestation,
        next.attestation
    );
}

#[test]
fn the_policy_digest_covers_every_term_but_not_order_or_names() {
    let p = policy();
    let digest = p.digest();
    let mut reordered = p.clone();
    reordered.chains.reverse();
    reordered.chains[0].assets.reverse();
    reordered.chains[1].name = "renamed".into();
    assert_eq!(reordered.digest(), digest);

    type Change = Box<dyn Fn(&mut Policy)>;
    let changes: Vec<Change> = vec![
        Box::new(|p| p.solvency_ratio_bps += 1),
        Box::new(|p| p.recovery_ratio_bps += 1),
        Box::new(|p| p.max_report_age += 1),
        Box::new(|p| p.attestation_validity += 1),
        Box::new(|p| p.deployment_id = B256::ZERO),
        Box::new(|p| p.chains[0].required = !p.chains[0].required),
        Box::new(|p| p.chains[0].reporter = X25519KeyPair::generate().public()),
        Box::new(|p| p.chains[1].treasury = X25519KeyPair::generate().public()),
        Box::new(|p| p.chains[1].assets[1].price_e18 += U256::from(1u64)),
        Box::new(|p| p.chains[1].assets[1].haircut_bps += 1),
        Box::new(|p| p.chains[2].assets[0].decimals += 1),
        Box::new(|p| {
            p.chains.pop();
        }),
        Box::new(|p| p.recovery.max_paid_per_epoch = U256::from(1u64)),
        Box::new(|p| {
            p.recovery.market = Some(solvency_enclave::market::MarketTerms {
                start_bps: 0,
                step_bps: 0,
                max_bps: 0,
                timeout_epochs: 0,
            })
        }),
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut changed = p.clone();
        change(&mut changed);
        assert_ne!(changed.digest(), digest, "change {i} must move the digest");
    }
}

#[test]
fn an_instruction_lists_lots_with_their_proofs_as_far_as_its_fixed_size_holds() {
    use solvency_enclave::instruction::{LotOrder, fits, seal_instruction};
    let order = |depth: usize| LotOrder {
        id: B256::repeat_byte(1),
        destChainSelector: B,
        destVault: alloy::primitives::Address::repeat_byte(2),
        amount: U256::from(100_000_000u64),
        proof: vec![B256::repeat_byte(3); depth],
    };
    // 1024 bytes of plaintext: one lot with a proof of up to 19 hashes, two of up to 6 each.
    assert!(fits(A, 7, &[order(19)]));
    assert!(!fits(A, 7, &[order(20)]));
    assert!(fits(A, 7, &[order(6), order(6)]));
    assert!(!fits(A, 7, &[order(6), order(7)]));

    // What fits seals to the one fixed size and opens back as it was.
    let policy = policy();
    let keys = EnclaveKeys::generate();
    let treasury = X25519KeyPair::generate();
    let mut a = policy.chains[0].clone();
    a.treasury = treasury.public();
    let lots = vec![order(6), order(6)];
    let sealed = seal_instruction(&policy, &keys, &a, 7, &B256::ZERO, lots.clone()).unwrap();
    assert_eq!(sealed.len(), SEALED_INSTRUCTION_LEN);
    let opened =
        open_instruction(&policy.deployment_id, &sealed, &treasury, &keys.hpke.public()).unwrap();
    assert_eq!((opened.version, opened.epoch, opened.lots), (2, 7, lots));
}
