//! The ownership ledger in the attestation: the protocol's vault share counts as reserves once a
//! report's head vouches for its deposits; entries the vault never logged count for nothing;
//! standby is drawn when the protocol falls short; the ledger root chains to the hub's; a
//! restarted enclave reproduces the hub's root from its sealed checkpoint (or, for a ledger
//! no recovery ever touched, from the public logs) before it signs; a rolled-back one refuses.

use alloy::primitives::{Address, B256, U256, address, keccak256};
use solvency_enclave::{
    AssetPolicy, AttestError, ChainPolicy, DeliveredReport, Enclave, EnclaveKeys, EnclaveState,
    Policy, Position, ReportV1, SignedAttestation, VaultHead, X25519KeyPair, asset_id,
    ownership::{EntryKind, VaultEntry, next_head},
    seal_report,
};

const A: u64 = 11;
const B: u64 = 22;
const NOW: u64 = 1_750_000_000;
const PROTOCOL: Address = address!("0x00000000000000000000000000000000000000a1");
const MAKER: Address = address!("0x00000000000000000000000000000000000000b2");
const VAULT: Address = address!("0x00000000000000000000000000000000000000c3");

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

struct World {
    keys: [u8; 32],
    signer: B256,
    policy: Policy,
    reporters: Vec<X25519KeyPair>,
}

impl World {
    fn new() -> Self {
        let reporters = vec![X25519KeyPair::generate(), X25519KeyPair::generate()];
        let chain = |name: &str, selector, reporter: &X25519KeyPair, vault: Address| ChainPolicy {
            name: name.into(),
            selector,
            reporter: reporter.public(),
            treasury: X25519KeyPair::generate().public(),
            required: true,
            assets: vec![AssetPolicy {
                symbol: "USDC".into(),
                id: asset_id("USDC"),
                decimals: 6,
                price_e18: U256::from(10u64).pow(U256::from(18)),
                haircut_bps: 0,
            }],
            vault,
            vault_asset: if vault.is_zero() { B256::ZERO } else { asset_id("USDC") },
        };
        let policy = Policy {
            protocol: PROTOCOL,
            recovery: Default::default(),
            deployment_id: keccak256("vaults"),
            chains: vec![
                chain("a", A, &reporters[0], VAULT),
                chain("b", B, &reporters[1], Address::ZERO),
            ],
            max_report_age: 300,
            max_clock_skew: 30,
            solvency_ratio_bps: 10_000,
            recovery_ratio_bps: 12_000,
            attestation_validity: 600,
        };
        Self { keys: keccak256("hpke").0, signer: keccak256("signer"), policy, reporters }
    }

    fn enclave(&self, state: EnclaveState) -> Enclave {
        let keys = EnclaveKeys {
            hpke: X25519KeyPair::from_secret_bytes(self.keys),
            signer: solvency_enclave::AttestationSigner::from_bytes(&self.signer).unwrap(),
        };
        Enclave::new(keys, self.policy.clone(), state)
    }

    /// Chain `i` reports `held` and `owed` USDC (held elsewhere than the vault), with its vault
    /// at `head`.
    fn report(
        &self,
        enclave: &mut Enclave,
        i: usize,
        seq: u64,
        held: u64,
        owed: u64,
        head: VaultHead,
    ) -> DeliveredReport {
        let selector = self.policy.chains[i].selector;
        let payload = seal_report(
            &ReportV1::new(selector, seq, NOW, vec![Position::new("USDC", usdc(held), usdc(owed))]),
            &self.policy.deployment_id,
            &self.reporters[i],
            &enclave.public().hpke_public_key,
        )
        .unwrap();
        let delivered = DeliveredReport {
            message_id: keccak256(&payload),
            source_chain_selector: selector,
            seq,
            payload,
            head,
        };
        enclave.ingest(&delivered, NOW).unwrap();
        delivered
    }
}

/// Vault entries and the head after the last.
fn log(entries: &[(EntryKind, Address, u64)]) -> (Vec<VaultEntry>, VaultHead) {
    let mut head = B256::ZERO;
    let entries: Vec<VaultEntry> = entries
        .iter()
        .enumerate()
        .map(|(i, &(kind, account, whole))| {
            let entry = VaultEntry {
                index: i as u64 + 1,
                kind,
                account,
                amount: usdc(whole),
                timestamp: NOW,
                reference: B256::ZERO,
            };
            head = next_head(head, &entry);
            entry
        })
        .collect();
    let count = entries.len() as u64;
    (entries, VaultHead { count, head })
}

fn leaf_head(signed: &SignedAttestation, selector: u64) -> (u64, VaultHead) {
    let leaf = &signed.messages.iter().find(|m| m.leaf.chainSelector == selector).unwrap().leaf;
    (leaf.reportSeq, VaultHead { count: leaf.logCount, head: leaf.logHead })
}

#[test]
fn the_protocols_vault_share_counts_once_a_report_vouches_for_it() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    // Reported elsewhere: 900 held against 1,000 owed on chain a, 100 against 0 on b: 100 %.
    // Then 900 against 1,100 owed: insolvent, unless the vault counts.
    world.report(&mut enclave, 0, 1, 900, 1_100, VaultHead::default());
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let before = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    assert!(!before.attestation.solvent);

    // The protocol deposits 200 and a market maker 5,000: only the protocol's share counts.
    let (entries, head) =
        log(&[(EntryKind::Deposit, PROTOCOL, 200), (EntryKind::Deposit, MAKER, 5_000)]);
    assert_eq!(enclave.feed_vault(A, &entries), Ok(2));
    let fed_only = enclave.attest(NOW, 0, before.attestation.ledgerRoot).unwrap();
    assert!(!fed_only.attestation.solvent, "given, but no report vouches for the entries yet");
    world.report(&mut enclave, 0, 2, 900, 1_100, head);
    let after = enclave.attest(NOW, 0, fed_only.attestation.ledgerRoot).unwrap();
    assert!(after.attestation.solvent, "900 + 200 held against 1,100 owed");
    assert_eq!(leaf_head(&after, A), (2, head), "the leaf carries the report's head");
    assert_eq!(after.attestation.parentLedgerRoot, fed_only.attestation.ledgerRoot);
    assert_ne!(after.attestation.ledgerRoot, fed_only.attestation.ledgerRoot);
}

#[test]
fn entries_the_vault_never_logged_count_for_nothing() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let (true_entries, head) = log(&[(EntryKind::Deposit, MAKER, 200)]);
    // The host claims the deposit was the protocol's: the entries do not hash to the head.
    let mut invented = true_entries.clone();
    invented[0].account = PROTOCOL;
    enclave.feed_vault(A, &invented).unwrap();
    world.report(&mut enclave, 0, 1, 900, 1_100, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let signed = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    assert!(!signed.attestation.solvent, "the invented share does not count");
    // The leaf still carries the report's head (the hub checks that one), and the ledger is
    // the one without the invented entry.
    assert_eq!(leaf_head(&signed, A), (1, head));
    let honest = {
        let mut e = world.enclave(EnclaveState::default());
        world.report(&mut e, 0, 1, 900, 1_100, head);
        world.report(&mut e, 1, 1, 100, 0, VaultHead::default());
        e.attest(NOW, 0, B256::ZERO).unwrap()
    };
    assert_eq!(signed.attestation.ledgerRoot, honest.attestation.ledgerRoot);
}

#[test]
fn a_restarted_enclave_resumes_from_its_sealed_checkpoint_and_a_rolled_back_one_refuses() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    // Short on chain a (1,000 against 1,100 owed, under the 120 % recovery ratio) with a
    // market maker's standby in its vault: the planner draws some of it, a move no public log
    // shows.
    let (entries, head) = log(&[(EntryKind::Deposit, MAKER, 5_000)]);
    enclave.feed_vault(A, &entries).unwrap();
    let reports = [
        world.report(&mut enclave, 0, 1, 900, 1_100, head),
        world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default()),
    ];
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    assert!(first.attestation.solvent, "the drawn standby counts as the protocol's");
    let rolled_back_state = enclave.state().clone();
    let published = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    let hub_root = published.attestation.ledgerRoot;

    // Restarted from its persisted state, without the vault logs: the sealed checkpoint gives
    // the ledger back, and it reproduces the hub's root.
    let mut restarted = world.enclave(enclave.state().clone());
    for report in &reports {
        assert!(restarted.ingest(report, NOW).unwrap().again);
    }
    let next = restarted.attest(NOW, 2, hub_root).unwrap();
    assert_eq!(next.attestation.parentLedgerRoot, hub_root);
    assert!(next.attestation.solvent, "the draw survived the restart");

    // The checkpoint opens only with the deployment's key.
    let mut other = World::new();
    other.keys = keccak256("another deployment key").0;
    let mut stranger = other.enclave(enclave.state().clone());
    assert!(matches!(
        stranger.attest(NOW, 2, hub_root),
        Err(AttestError::LedgerNotReproduced { root, .. }) if root == hub_root
    ));

    // A state from before the published epoch does not know the hub's root, and the public
    // logs alone do not give it (the draw is private): it refuses rather than sign over a
    // ledger it cannot vouch for. So does an instance that lost its state.
    for state in [rolled_back_state, EnclaveState::default()] {
        let mut behind = world.enclave(state);
        behind.feed_vault(A, &entries).unwrap();
        for report in &reports {
            behind.ingest(report, NOW).unwrap();
        }
        assert_eq!(
            behind.attest(NOW, 2, hub_root),
            Err(AttestError::UnknownLedgerRoot { root: hub_root })
        );
    }
}

#[test]
fn an_instance_that_lost_its_state_resumes_a_ledger_the_public_logs_give() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    // Only public facts: the protocol's deposit and an inflow; healthy, so nothing is planned.
    let (entries, head) =
        log(&[(EntryKind::Deposit, PROTOCOL, 200), (EntryKind::Inflow, MAKER, 10)]);
    enclave.feed_vault(A, &entries).unwrap();
    let reports = [
        world.report(&mut enclave, 0, 1, 1_200, 1_100, head),
        world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default()),
    ];
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    let hub = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    let (hub_epoch, hub_root) = (hub.attestation.epoch, hub.attestation.ledgerRoot);

    let mut fresh = world.enclave(EnclaveState::default());
    for report in &reports {
        fresh.ingest(report, NOW).unwrap();
    }
    // Without the log, the root cannot be rebuilt.
    assert_eq!(
        fresh.attest(NOW, hub_epoch, hub_root),
        Err(AttestError::UnknownLedgerRoot { root: hub_root })
    );
    fresh.feed_vault(A, &entries).unwrap();
    let next = fresh.attest(NOW, hub_epoch, hub_root).unwrap();
    assert_eq!(next.attestation.epoch, hub_epoch + 1);
    assert_eq!(next.attestation.parentLedgerRoot, hub_root);
}
