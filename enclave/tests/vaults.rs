//! The ownership ledger in the attestation: the protocol's vault share counts as reserves once a
//! report's head vouches for its deposits; entries the vault never logged count for nothing;
//! standby is drawn when the protocol falls short; the ledger root chains to the hub's; a
//! restarted enclave reproduces the hub's root from its sealed checkpoint (or, for a ledger
//! no recovery ever touched, from the public logs) before it signs; a rolled-back one refuses;
//! a new instance gets the deployment's ledger key (and the checkpoints) only by evidence of
//! code the policy lists.

use alloy::primitives::{Address, B256, U256, address, keccak256};
use solvency_enclave::{
    AssetPolicy, AttestError, ChainPolicy, DeliveredReport, DevAttestor, Enclave, EnclaveKeys,
    EnclaveState, Evidence, KeyReleaseError, LedgerKeyPolicy, LedgerKeyRelease, Policy, Position,
    Purpose, ReportV1, SealedHeader, SealingKey, SignedAttestation, VaultHead, X25519KeyPair,
    asset_id,
    ownership::{EntryKind, VaultEntry, next_head},
    seal_report,
    statement::{Statement, open_statement},
    withdrawal::{WithdrawalError, WithdrawalReply, WithdrawalRequest, open_reply, seal_request},
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
            ledger: None,
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

    /// The same world with `[enclave.ledger]`: `ledger`'s key, released to `measurements`.
    fn with_ledger(mut self, ledger: &X25519KeyPair, measurements: Vec<B256>) -> Self {
        self.policy.ledger = Some(LedgerKeyPolicy {
            public_key: ledger.public(),
            measurements,
            allow_dev: true,
            max_evidence_age: 300,
        });
        self
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

/// A maker with an EVM key (it signs its requests) and a reply key.
struct Maker {
    signer: alloy::signers::local::PrivateKeySigner,
    reply: X25519KeyPair,
    nonce: u64,
}

impl Maker {
    fn new(seed: &str) -> Self {
        Self {
            signer: alloy::signers::local::PrivateKeySigner::from_bytes(&keccak256(seed)).unwrap(),
            reply: X25519KeyPair::generate(),
            nonce: 0,
        }
    }

    fn address(&self) -> Address {
        self.signer.address()
    }

    /// A signed request for `whole` USDC from chain a's vault, sealed to `enclave`.
    fn request(
        &mut self,
        world: &World,
        enclave: &Enclave,
        whole: u64,
    ) -> alloy::primitives::Bytes {
        use alloy::signers::SignerSync;
        self.nonce += 1;
        let request = WithdrawalRequest {
            chainSelector: A,
            vault: VAULT,
            owner: self.address(),
            amount: usdc(whole),
            nonce: self.nonce,
            replyKey: B256::from(self.reply.public().0),
        };
        let signature = self.signer.sign_hash_sync(&request.digest()).unwrap().as_bytes();
        seal_request(
            &request,
            &signature,
            &world.policy.deployment_id,
            &self.reply,
            &enclave.public().hpke_public_key,
        )
        .unwrap()
    }

    /// The authorizations of this maker an attestation carries, opened.
    fn replies(
        &self,
        world: &World,
        enclave: &Enclave,
        signed: &SignedAttestation,
    ) -> Vec<WithdrawalReply> {
        signed
            .replies
            .iter()
            .filter_map(|(_, sealed)| {
                open_reply(
                    sealed,
                    &world.policy.deployment_id,
                    &self.reply,
                    &enclave.public().hpke_public_key,
                )
                .ok()
            })
            .collect()
    }
}

#[test]
fn a_maker_withdraws_what_it_has_once_and_the_vault_payment_settles_it() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let mut maker = Maker::new("maker");
    let (mut entries, head) = log(&[(EntryKind::Deposit, maker.address(), 5_000)]);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 1, 2_000, 1_000, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    assert!(first.replies.is_empty());

    // 1,000 asked and authorized: the reply opens with the maker's reply key only, and the
    // authorization proves under chain a's authRoot in this attestation.
    let request = maker.request(&world, &enclave, 1_000);
    let id = enclave.take_withdrawal(&request).unwrap();
    let signed = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    let replies = maker.replies(&world, &enclave, &signed);
    assert_eq!(replies.len(), 1);
    let auth = &replies[0].authorization;
    assert_eq!(
        (auth.id, auth.owner, auth.amount, auth.chainSelector, auth.vault),
        (id, maker.address(), usdc(1_000), A, VAULT)
    );
    let leaf = &signed.messages.iter().find(|m| m.leaf.chainSelector == A).unwrap().leaf;
    assert!(solvency_enclave::merkle::verify(&replies[0].proof, leaf.authRoot, auth.hash()));
    assert!(Maker::new("someone else").replies(&world, &enclave, &signed).is_empty());

    // More than is left (4,000), and the same request again: neither is authorized.
    let over = maker.request(&world, &enclave, 4_500);
    enclave.take_withdrawal(&over).unwrap();
    enclave.take_withdrawal(&request).unwrap();
    let next = enclave.attest(NOW, 2, signed.attestation.ledgerRoot).unwrap();
    let replies = maker.replies(&world, &enclave, &next);
    assert_eq!(replies.len(), 1, "still only the first, committed again");
    assert_eq!(replies[0].authorization.id, id);

    // The vault pays it (its log says so and the next report vouches): it is settled.
    let paid = VaultEntry {
        index: 2,
        kind: EntryKind::Withdrawal,
        account: maker.address(),
        amount: usdc(1_000),
        timestamp: NOW,
        reference: id,
    };
    let head = VaultHead { count: 2, head: next_head(head.head, &paid) };
    entries.push(paid);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 2, 2_000, 1_000, head);
    let settled = enclave.attest(NOW, 3, next.attestation.ledgerRoot).unwrap();
    assert!(maker.replies(&world, &enclave, &settled).is_empty(), "paid: no longer authorized");
    // What is left, 4,000, can be asked for now.
    let rest = maker.request(&world, &enclave, 4_000);
    enclave.take_withdrawal(&rest).unwrap();
    let last = enclave.attest(NOW, 4, settled.attestation.ledgerRoot).unwrap();
    assert_eq!(maker.replies(&world, &enclave, &last)[0].authorization.amount, usdc(4_000));
}

#[test]
fn a_withdrawal_request_not_the_owners_or_not_for_this_vault_is_refused() {
    use alloy::signers::SignerSync;
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let maker = Maker::new("maker");
    let thief = Maker::new("thief");
    let request = |owner: Address, vault: Address, amount: u64, chain: u64| WithdrawalRequest {
        chainSelector: chain,
        vault,
        owner,
        amount: usdc(amount),
        nonce: 1,
        replyKey: B256::from(thief.reply.public().0),
    };
    let enclave_key = enclave.public().hpke_public_key;
    let seal = |r: &WithdrawalRequest, by: &Maker| {
        let signature = by.signer.sign_hash_sync(&r.digest()).unwrap().as_bytes();
        seal_request(r, &signature, &world.policy.deployment_id, &thief.reply, &enclave_key)
            .unwrap()
    };
    // Signed by the thief in the maker's name.
    let forged = seal(&request(maker.address(), VAULT, 10, A), &thief);
    assert_eq!(
        enclave.take_withdrawal(&forged),
        Err(WithdrawalError::BadSignature { owner: maker.address() })
    );
    // Another vault, a chain without a vault.
    let elsewhere = seal(&request(thief.address(), Address::repeat_byte(9), 10, A), &thief);
    assert!(matches!(
        enclave.take_withdrawal(&elsewhere),
        Err(WithdrawalError::UnknownVault { .. })
    ));
    let no_vault = seal(&request(thief.address(), Address::ZERO, 10, B), &thief);
    assert!(matches!(
        enclave.take_withdrawal(&no_vault),
        Err(WithdrawalError::UnknownVault { .. })
    ));
    // Damaged, truncated, or sealed to another enclave.
    let mut damaged = seal(&request(thief.address(), VAULT, 10, A), &thief).to_vec();
    *damaged.last_mut().unwrap() ^= 1;
    assert_eq!(enclave.take_withdrawal(&damaged), Err(WithdrawalError::Malformed));
    assert_eq!(enclave.take_withdrawal(&damaged[..20]), Err(WithdrawalError::Malformed));
    let r = request(thief.address(), VAULT, 10, A);
    let signature = thief.signer.sign_hash_sync(&r.digest()).unwrap().as_bytes();
    let elsewhere_sealed = seal_request(
        &r,
        &signature,
        &world.policy.deployment_id,
        &thief.reply,
        &X25519KeyPair::generate().public(),
    )
    .unwrap();
    assert_eq!(enclave.take_withdrawal(&elsewhere_sealed), Err(WithdrawalError::Malformed));
    // The errors never carry the amount.
    assert!(!format!("{:?}", enclave.take_withdrawal(&forged)).contains("10000000"));
}

#[test]
fn standby_asked_back_is_never_drawn() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let mut maker = Maker::new("maker");
    let (entries, head) = log(&[(EntryKind::Deposit, maker.address(), 300)]);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 1, 2_000, 1_000, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    // The maker asks for all of it back; then chain a holds 900 against 1,100 owed (1,000 in
    // all, insolvent): its 300 would cover the gap, but it is no longer standby.
    let request = maker.request(&world, &enclave, 300);
    enclave.take_withdrawal(&request).unwrap();
    let asked = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    assert!(asked.attestation.solvent);
    world.report(&mut enclave, 0, 2, 900, 1_100, head);
    let short = enclave.attest(NOW, 2, asked.attestation.ledgerRoot).unwrap();
    assert!(!short.attestation.solvent, "1,000 held against 1,100 owed and nothing to draw");
    assert_eq!(maker.replies(&world, &enclave, &short)[0].authorization.amount, usdc(300));
}

impl Maker {
    /// A subscription: a request of amount zero, whose reply key becomes the statement key.
    fn subscribe(&mut self, world: &World, enclave: &Enclave) -> alloy::primitives::Bytes {
        self.request(world, enclave, 0)
    }

    fn statement(
        &self,
        world: &World,
        enclave: &Enclave,
        signed: &SignedAttestation,
    ) -> Option<(usize, Statement)> {
        let (_, sealed) = signed.statements.iter().find(|(owner, _)| *owner == self.address())?;
        let statement = open_statement(
            sealed,
            &world.policy.deployment_id,
            &self.reply,
            &enclave.public().hpke_public_key,
        )?;
        Some((sealed.len(), statement))
    }
}

#[test]
fn every_subscribed_owner_gets_a_statement_that_proves_under_the_ledger_root() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let mut maker = Maker::new("maker");
    let mut other = Maker::new("other maker");
    let (entries, head) = log(&[
        (EntryKind::Deposit, maker.address(), 300),
        (EntryKind::Deposit, other.address(), 5_000),
        (EntryKind::Deposit, PROTOCOL, 100),
    ]);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 1, 2_000, 1_000, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    assert!(first.statements.is_empty(), "nobody subscribed");
    for m in [&mut maker, &mut other] {
        let subscription = m.subscribe(&world, &enclave);
        enclave.take_withdrawal(&subscription).unwrap();
    }
    let signed = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    // Each subscription is acknowledged by a reply of amount zero, under no authRoot.
    let acks = maker.replies(&world, &enclave, &signed);
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].authorization.amount, acks[0].proof.len()), (U256::ZERO, 0));
    let leaf = &signed.messages.iter().find(|m| m.leaf.chainSelector == A).unwrap().leaf;
    assert!(!solvency_enclave::merkle::verify(&[], leaf.authRoot, acks[0].authorization.hash()));
    let (size, statement) = maker.statement(&world, &enclave, &signed).expect("a statement");
    let (other_size, _) = other.statement(&world, &enclave, &signed).expect("a statement");
    assert_eq!(size, other_size, "one size for every owner");
    assert!(statement.verifies(signed.attestation.ledgerRoot));
    assert_eq!(statement.entries.len(), 1, "one entry per vault chain");
    let entry = &statement.entries[0];
    assert_eq!(
        (entry.held, entry.balance, entry.available, entry.drawn),
        (true, usdc(300), usdc(300), U256::ZERO)
    );
    assert!(
        Maker::new("maker").statement(&world, &enclave, &signed).is_none(),
        "sealed to the key"
    );

    // Short: 1,000 + 100 held elsewhere and 100 in the vault against 1,100 owed at a 120 %
    // recovery ratio. The draw shows in the statements and nowhere public.
    world.report(&mut enclave, 0, 2, 1_000, 1_100, head);
    let short = enclave.attest(NOW, 2, signed.attestation.ledgerRoot).unwrap();
    assert!(short.attestation.solvent);
    let (size_then, drawn) = maker.statement(&world, &enclave, &short).unwrap();
    let (_, other_drawn) = other.statement(&world, &enclave, &short).unwrap();
    assert_eq!(size_then, size, "the same size in a recovery");
    assert!(drawn.verifies(short.attestation.ledgerRoot));
    let (mine, theirs) = (&drawn.entries[0], &other_drawn.entries[0]);
    // 120 % of 1,100 is 1,320; 1,200 is held: 120 drawn, from the first maker by address.
    let total = mine.drawn + theirs.drawn;
    assert_eq!(total, usdc(120));
    assert_eq!(mine.balance + mine.drawn, usdc(300), "the leaf shows what is left in the vault");
    assert_eq!(mine.owed, mine.drawn / U256::from(100), "a 1 % premium on a draw");
    // A changed balance no longer proves.
    let mut forged = drawn.clone();
    forged.entries[0].balance += U256::from(1);
    assert!(!forged.verifies(short.attestation.ledgerRoot));
}

#[test]
fn an_owner_who_lost_its_reply_key_asks_again_and_the_replies_follow() {
    let world = World::new();
    let mut enclave = world.enclave(EnclaveState::default());
    let mut maker = Maker::new("maker");
    let (entries, head) = log(&[(EntryKind::Deposit, maker.address(), 5_000)]);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 1, 2_000, 1_000, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let first = enclave.attest(NOW, 0, B256::ZERO).unwrap();
    let request = maker.request(&world, &enclave, 1_000);
    let id = enclave.take_withdrawal(&request).unwrap();
    let authorized = enclave.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    assert_eq!(maker.replies(&world, &enclave, &authorized).len(), 1);

    // Its command was killed with the reply key: the same account asks for the same withdrawal
    // (same nonce, same amount) from a new reply key. The one authorization now answers there.
    let mut again = Maker::new("maker");
    let renewed = again.request(&world, &enclave, 1_000);
    assert_eq!(enclave.take_withdrawal(&renewed).unwrap(), id);
    let next = enclave.attest(NOW, 2, authorized.attestation.ledgerRoot).unwrap();
    let replies = again.replies(&world, &enclave, &next);
    assert_eq!(replies.len(), 1);
    assert_eq!((replies[0].authorization.id, replies[0].authorization.amount), (id, usdc(1_000)));
    assert!(maker.replies(&world, &enclave, &next).is_empty(), "the lost key reads nothing now");
    assert_eq!(next.replies.len(), 1, "still one authorization");

    // Another amount under the same nonce is not the same withdrawal: nothing moves.
    let mut other = Maker::new("maker");
    let different = other.request(&world, &enclave, 999);
    enclave.take_withdrawal(&different).unwrap();
    let last = enclave.attest(NOW, 3, next.attestation.ledgerRoot).unwrap();
    assert!(other.replies(&world, &enclave, &last).is_empty());
    assert_eq!(again.replies(&world, &enclave, &last).len(), 1);
}

/// The code the tests' policy lists, and code it does not.
const LISTED: B256 = B256::repeat_byte(0x11);
const UNLISTED: B256 = B256::repeat_byte(0x22);

#[test]
fn a_new_instance_gets_the_ledger_key_by_evidence_and_resumes_a_ledger_only_checkpoints_know() {
    let ledger = X25519KeyPair::generate();
    let world = World::new().with_ledger(&ledger, vec![LISTED]);
    let mut holder = world.enclave(EnclaveState::default());
    assert_eq!(holder.attest(NOW, 0, B256::ZERO).map(|_| ()), Err(AttestError::NoLedgerKey));
    holder.set_ledger_key(X25519KeyPair::from_secret_bytes(keccak256("not it").0)).unwrap_err();
    holder.set_ledger_key(ledger).unwrap();
    // A draw the public logs do not show, as in the restart test: only a checkpoint knows it.
    let (entries, head) = log(&[(EntryKind::Deposit, MAKER, 5_000)]);
    holder.feed_vault(A, &entries).unwrap();
    let reports = [
        world.report(&mut holder, 0, 1, 900, 1_100, head),
        world.report(&mut holder, 1, 1, 100, 0, VaultHead::default()),
    ];
    let first = holder.attest(NOW, 0, B256::ZERO).unwrap();
    let hub = holder.attest(NOW, 1, first.attestation.ledgerRoot).unwrap();
    let hub_root = hub.attestation.ledgerRoot;

    let mut newcomer = world.enclave(EnclaveState::default());
    newcomer.feed_vault(A, &entries).unwrap();
    for report in &reports {
        newcomer.ingest(report, NOW).unwrap();
    }
    assert_eq!(newcomer.attest(NOW, 2, hub_root).map(|_| ()), Err(AttestError::NoLedgerKey));
    let evidence =
        newcomer.request_ledger_key(&DevAttestor::with_measurement(LISTED), NOW).unwrap();
    let release = holder.release_ledger_key(&evidence, NOW).unwrap();
    assert_eq!(newcomer.accept_ledger_key(&release), Ok(2), "both checkpoints taken");
    assert!(newcomer.holds_ledger_key());
    // The release answers one request once.
    assert_eq!(newcomer.accept_ledger_key(&release), Err(KeyReleaseError::NoRequest));

    // It now builds on the hub's root — a ledger the public logs could not give it — and signs
    // what the holder signs.
    let joined = newcomer.attest(NOW, 2, hub_root).unwrap();
    let held = holder.attest(NOW, 2, hub_root).unwrap();
    assert_eq!(joined.attestation, held.attestation);
    assert!(joined.attestation.solvent, "the draw came with the checkpoint");

    // Sealed, it keeps the key across a restart (no need to join again).
    let sealing = SealingKey::generate();
    let blob = solvency_enclave::seal_enclave(&newcomer, &sealing, &LISTED);
    let restarted =
        solvency_enclave::unseal_enclave(&blob, &sealing, &LISTED, world.policy.clone()).unwrap();
    assert!(restarted.holds_ledger_key());
}

#[test]
fn the_ledger_key_goes_only_to_listed_code_and_only_to_the_requester() {
    let ledger = X25519KeyPair::generate();
    let ledger_public = ledger.public();
    let world = World::new().with_ledger(&ledger, vec![LISTED]);
    let listed = DevAttestor::with_measurement(LISTED);
    let mut holder = world.enclave(EnclaveState::default());
    let mut newcomer = world.enclave(EnclaveState::default());
    let evidence = newcomer.request_ledger_key(&listed, NOW).unwrap();
    assert_eq!(holder.release_ledger_key(&evidence, NOW), Err(KeyReleaseError::NotHeld));
    holder.set_ledger_key(ledger).unwrap();

    // Code the policy does not list.
    let mut stranger = world.enclave(EnclaveState::default());
    let foreign =
        stranger.request_ledger_key(&DevAttestor::with_measurement(UNLISTED), NOW).unwrap();
    assert_eq!(
        holder.release_ledger_key(&foreign, NOW),
        Err(KeyReleaseError::NotListed { measurement: UNLISTED })
    );
    // Evidence that does not ask for the key (its nonce carries no key of the requester's).
    let plain = newcomer.evidence(&listed, b"a registration nonce", NOW).unwrap();
    assert_eq!(holder.release_ledger_key(&plain, NOW), Err(KeyReleaseError::NotARequest));
    // A host cannot have listed code attest to a key request of its own: evidence for a nonce
    // of that form is refused (else the holder would seal the key to the host's key).
    let hosts = X25519KeyPair::generate();
    let forged_request = solvency_enclave::key_release::request_nonce(&hosts.public());
    assert!(matches!(
        newcomer.evidence(&listed, &forged_request, NOW),
        Err(solvency_enclave::EvidenceError::ReservedNonce)
    ));
    // Stale evidence.
    assert!(matches!(
        holder.release_ledger_key(&evidence, NOW + 301),
        Err(KeyReleaseError::Evidence { .. })
    ));
    // Dev evidence, where the policy does not allow it.
    let strict_key = X25519KeyPair::generate();
    let mut strict = World::new().with_ledger(&strict_key, vec![LISTED]);
    strict.policy.ledger.as_mut().unwrap().allow_dev = false;
    let mut strict_holder = strict.enclave(EnclaveState::default());
    strict_holder.set_ledger_key(strict_key).unwrap();
    assert!(matches!(
        strict_holder.release_ledger_key(&evidence, NOW),
        Err(KeyReleaseError::Evidence { reason }) if reason.contains("dev")
    ));

    // A release meant for another request does not open for this one.
    let mut other = world.enclave(EnclaveState::default());
    let other_evidence = other.request_ledger_key(&listed, NOW).unwrap();
    let for_other = holder.release_ledger_key(&other_evidence, NOW).unwrap();
    assert_eq!(newcomer.accept_ledger_key(&for_other), Err(KeyReleaseError::DoesNotOpen));
    // Nor does one a host forges: sealed to the requester's key from a key of its own.
    let Evidence::Dev(dev) = &evidence else { panic!("dev evidence") };
    let ephemeral = solvency_enclave::X25519Public(dev.nonce[26..].try_into().unwrap());
    let impostor = X25519KeyPair::generate();
    let forged = LedgerKeyRelease {
        sealed_key: solvency_enclave::seal::seal(
            Purpose::LedgerKey,
            &world.policy.deployment_id,
            SealedHeader { chain_selector: 0, counter: 0 },
            &[7u8; 32],
            &impostor,
            &ephemeral,
        )
        .unwrap()
        .into(),
        checkpoints: Vec::new(),
    };
    assert_eq!(newcomer.accept_ledger_key(&forged), Err(KeyReleaseError::DoesNotOpen));
    assert!(!newcomer.holds_ledger_key(), "nothing refused was taken");
    // The genuine answer still opens: refusals consumed nothing.
    let release = holder.release_ledger_key(&evidence, NOW).unwrap();
    assert_eq!(newcomer.accept_ledger_key(&release), Ok(0));
    assert!(newcomer.holds_ledger_key());

    // The key and the code it may go to are in the policy digest: the contracts' owner decides.
    let mut widened = world.policy.clone();
    widened.ledger.as_mut().unwrap().measurements.push(UNLISTED);
    assert_ne!(widened.digest(), world.policy.digest());
    let mut rekeyed = world.policy.clone();
    rekeyed.ledger.as_mut().unwrap().public_key = X25519KeyPair::generate().public();
    assert_ne!(rekeyed.digest(), world.policy.digest());
    assert_ne!(ledger_public, rekeyed.ledger.unwrap().public_key);

    // Without [enclave.ledger] nothing is released: the key is derived from the HPKE key.
    let mut derived = World::new().enclave(EnclaveState::default());
    assert!(derived.holds_ledger_key());
    assert_eq!(
        derived.request_ledger_key(&listed, NOW).map(|_| ()),
        Err(KeyReleaseError::NotConfigured)
    );
}

/// The dark pool in the attestation: the quotes the hub's board took through its last closed
/// round are opened, the need clears against them, and the attestation commits to that round
/// and head; quotes that do not lead to the head the hub will check are refused whole.
#[test]
fn a_draw_clears_against_the_quotes_of_the_boards_closed_rounds() {
    use solvency_enclave::{
        market::{Class, MarketTerms},
        quote::{QuoteEntry, QuoteTerms, next_quote_head, seal_quote},
    };
    let mut world = World::new();
    world.policy.recovery.market =
        Some(MarketTerms { start_bps: 50, step_bps: 50, max_bps: 200, timeout_epochs: 4 });
    let (cheap, dear) = (Address::repeat_byte(0xd1), Address::repeat_byte(0xd2));
    let (entries, head) = log(&[(EntryKind::Deposit, cheap, 300), (EntryKind::Deposit, dear, 300)]);
    // 900 held against 1,100 owed on chain a, 100 held on chain b: 1,000 against 1,100.
    let setup = |enclave: &mut Enclave| {
        enclave.feed_vault(A, &entries).unwrap();
        world.report(enclave, 0, 1, 900, 1_100, head);
        world.report(enclave, 1, 1, 100, 0, VaultHead::default());
    };
    let hub = A;
    let keys = [X25519KeyPair::generate(), X25519KeyPair::generate()];
    let quoting = world.enclave(EnclaveState::default());
    let enclave_key = quoting.public().hpke_public_key;
    let quote = |i: usize, maker: Address, premium_bps: u32, round: u64, seq: u64| {
        let terms = QuoteTerms {
            class: Class { asset: asset_id("USDC"), decimals: 6 },
            size: usdc(300),
            premium_bps,
            expires_at: NOW + 600,
        };
        let sealed = seal_quote(
            &world.policy.deployment_id,
            hub,
            maker,
            seq,
            &terms,
            &keys[i],
            &enclave_key,
        )
        .unwrap();
        QuoteEntry { round, maker, maker_key: keys[i].public(), sealed: sealed.into() }
    };
    // Round 10: the cheap maker at 30 bps (under the 50 bps start), the dear one at 80.
    // Round 11, still open: the dear one at 10 bps.
    let board = [quote(0, cheap, 30, 10, 1), quote(1, dear, 80, 10, 1), quote(1, dear, 10, 11, 2)];
    let closed = board[..2].iter().fold(B256::ZERO, next_quote_head);

    // Without quotes (a board with none closed): nothing is drawable, insolvent.
    let mut without = world.enclave(EnclaveState::default());
    setup(&mut without);
    let none = without.attest_epoch_with_quotes(NOW, 1, B256::ZERO, 0, B256::ZERO).unwrap();
    assert!(!none.attestation.solvent);

    let mut enclave = quoting;
    setup(&mut enclave);
    assert_eq!(enclave.feed_quotes(0, &board[..1]).unwrap(), 1);
    // Withheld: the dear maker's round-10 quote was not given.
    let err = enclave.attest_epoch_with_quotes(NOW, 1, B256::ZERO, 10, closed).unwrap_err();
    assert!(matches!(err, AttestError::Quotes { round: 10, .. }), "{err}");
    // Given again from the start with the rest: taken, the overlap checked.
    assert_eq!(enclave.feed_quotes(0, &board).unwrap(), 3);
    let rewritten = enclave.feed_quotes(1, &board[..1]).unwrap_err();
    assert_eq!(rewritten, solvency_enclave::quote::QuoteFeedError::Rewritten { index: 1 });
    let signed = enclave.attest_epoch_with_quotes(NOW, 1, B256::ZERO, 10, closed).unwrap();
    assert_eq!((signed.attestation.quoteRound, signed.attestation.quoteHead), (10, closed));
    // The cheap maker's 300 drawn: 1,300 against 1,100. The open round's quote did not count
    // (the dear maker at 10 bps would have been drawn first).
    assert!(signed.attestation.solvent);
    assert_ne!(signed.attestation.ledgerRoot, none.attestation.ledgerRoot);
    // Once round 11 is closed too, the dear maker's newer, cheaper quote counts: another plan.
    let mut later = world.enclave(EnclaveState::default());
    setup(&mut later);
    later.feed_quotes(0, &board).unwrap();
    let all = board.iter().fold(B256::ZERO, next_quote_head);
    let through_11 = later.attest_epoch_with_quotes(NOW, 1, B256::ZERO, 11, all).unwrap();
    assert!(through_11.attestation.solvent);
    assert_ne!(through_11.attestation.ledgerRoot, signed.attestation.ledgerRoot);
}

/// A quoted size is locked until its quote stops counting: a maker that quotes all its standby
/// and then asks for part of it back is authorized only once a null quote (or expiry) withdraws
/// the offer.
#[test]
fn a_maker_cannot_withdraw_what_its_live_quote_offers() {
    use solvency_enclave::{
        market::{Class, MarketTerms},
        quote::{QuoteEntry, QuoteTerms, next_quote_head, seal_quote},
    };
    let mut world = World::new();
    world.policy.recovery.market =
        Some(MarketTerms { start_bps: 50, step_bps: 50, max_bps: 200, timeout_epochs: 4 });
    let mut enclave = world.enclave(EnclaveState::default());
    let mut maker = Maker::new("quoting maker");
    let (entries, head) = log(&[(EntryKind::Deposit, maker.address(), 300)]);
    enclave.feed_vault(A, &entries).unwrap();
    world.report(&mut enclave, 0, 1, 2_000, 1_000, head);
    world.report(&mut enclave, 1, 1, 100, 0, VaultHead::default());
    let key = X25519KeyPair::generate();
    let (enclave_key, maker_address) = (enclave.public().hpke_public_key, maker.address());
    let quote = |seq: u64, size: u64, round: u64| {
        let terms = QuoteTerms {
            class: Class { asset: asset_id("USDC"), decimals: 6 },
            size: usdc(size),
            premium_bps: 30,
            expires_at: NOW + 600,
        };
        let sealed = seal_quote(
            &world.policy.deployment_id,
            A,
            maker_address,
            seq,
            &terms,
            &key,
            &enclave_key,
        )
        .unwrap();
        QuoteEntry { round, maker: maker_address, maker_key: key.public(), sealed: sealed.into() }
    };
    // The maker offers all 300 in round 10.
    let mut board = vec![quote(1, 300, 10)];
    let head_10 = board.iter().fold(B256::ZERO, next_quote_head);
    enclave.feed_quotes(0, &board).unwrap();
    let first = enclave.attest_epoch_with_quotes(NOW, 1, B256::ZERO, 10, head_10).unwrap();

    // It asks for 100 back: 200 would stay, under the 300 it offers — not authorized.
    let request = maker.request(&world, &enclave, 100);
    enclave.take_withdrawal(&request).unwrap();
    let held = enclave
        .attest_epoch_with_quotes(NOW, 2, first.attestation.ledgerRoot, 10, head_10)
        .unwrap();
    assert!(maker.replies(&world, &enclave, &held).is_empty(), "locked by the live quote");

    // A null quote in round 11 withdraws the offer; once that round is committed, it is.
    board.push(quote(2, 0, 11));
    let head_11 = board.iter().fold(B256::ZERO, next_quote_head);
    enclave.feed_quotes(0, &board).unwrap();
    let freed =
        enclave.attest_epoch_with_quotes(NOW, 3, held.attestation.ledgerRoot, 11, head_11).unwrap();
    let replies = maker.replies(&world, &enclave, &freed);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].authorization.amount, usdc(100));
}
