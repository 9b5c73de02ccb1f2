//! The enclave: keys, policy, ledger and epoch, behind three calls — `ingest`, `assess`,
//! `attest`.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    EnclaveKeys, EnclavePublic, SealError, SolvencyAttestation, VaultHead,
    assess::{AssessError, Assessment},
    attestation::{ChainLeaf, ChainMessage},
    instruction::seal_instruction,
    ledger::{self, Accepted, DeliveredReport, IngestError, Ledger},
    merkle::MerkleTree,
    ownership::{Ownership, OwnershipError, VaultEntry, VaultLogs},
    policy::Policy,
};

/// How many signed ledger roots an enclave remembers (the hub holds one of the latest).
const MAX_LEDGER_CHECKPOINTS: usize = 16;

/// A ledger root this enclave signed, with the ledger behind it, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCheckpoint {
    /// The attestation's epoch.
    pub epoch: u64,
    /// Its `ledgerRoot`.
    pub root: B256,
    /// The ownership ledger, HPKE-sealed to the deployment's ledger key (`[enclave.ledger]`,
    /// released only to code the policy lists: [`crate::key_release`]): amounts leave the
    /// enclave only so.
    pub sealed: alloy::primitives::Bytes,
}

/// What the enclave keeps across restarts. No amount in the clear: the report ledger lives in
/// memory, the ownership ledger's checkpoints are sealed. A
/// restarted enclave refills it from the reports themselves, which stay on the hub chain: the
/// host hands it the latest accepted report of each chain again, and the enclave takes exactly
/// the one whose digest it recorded ([`Accepted::again`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclaveState {
    /// The last epoch this enclave signed.
    pub last_epoch: u64,
    /// The last accepted seq per chain selector (replay protection survives restarts).
    pub last_seq: BTreeMap<u64, u64>,
    /// Per chain selector, the digest of the last accepted delivery (its message id and
    /// payload, [`delivery_digest`]): identifies the one delivery that may be taken again after
    /// a restart. The same payload in another message is a replay.
    #[serde(default)]
    pub last_delivery: BTreeMap<u64, B256>,
    /// The last attestation this enclave signed. If publishing it failed, it is handed out
    /// again (while nothing has changed and it is still valid for long enough) instead of
    /// signing a new epoch: failed publishes do not use up epochs. (One of an older format,
    /// which could not be published any more, reads as none.)
    #[serde(default, deserialize_with = "lenient")]
    pub last_signed: Option<SignedAttestation>,
    /// How many times the HPKE key was rotated: the key in force is derived from the key file's
    /// (generation 0) and this number, so every instance of a quorum derives the same one.
    #[serde(default)]
    pub hpke_generation: u64,
    /// Until when (Unix seconds) reports sealed to the previous generation are accepted.
    #[serde(default)]
    pub previous_key_valid_until: u64,
    /// The ledger roots this enclave signed last, newest last: the hub's root must be one of
    /// them (or zero, before the first) for the enclave to build on it.
    #[serde(default)]
    pub ledger_checkpoints: Vec<LedgerCheckpoint>,
}

/// A value that may be of an older format: taken if it parses, none if not.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

/// An attestation signed by this enclave, with what the hub sends each chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAttestation {
    /// The statement.
    pub attestation: SolvencyAttestation,
    /// This enclave's signature over its EIP-712 digest.
    pub signature: Bytes,
    /// This enclave's signer address.
    pub signer: Address,
    /// One message per chain (its leaf, the leaf's proof, its sealed instruction), by
    /// ascending selector: `publish` takes them as they are.
    pub messages: Vec<ChainMessage>,
    /// Per withdrawal authorized in this attestation, its id and its authorization and proof
    /// sealed to the owner's reply key ([`crate::withdrawal`]): for the host to pass on.
    #[serde(default)]
    pub replies: Vec<(B256, Bytes)>,
    /// Per owner with a statement key, its statement sealed to that key
    /// ([`crate::statement`]): for the host to pass on.
    #[serde(default)]
    pub statements: Vec<(Address, Bytes)>,
}

/// Why no attestation was signed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestError {
    /// The reports do not allow an assessment (a required chain is missing or stale).
    #[error("not attesting: {0}")]
    NotReady(#[from] AssessError),
    /// This instance already signed this epoch or a later one.
    #[error("epoch {epoch} is not above the last epoch this enclave signed ({last_epoch})")]
    EpochUsed {
        /// The epoch asked for.
        epoch: u64,
        /// The last one signed.
        last_epoch: u64,
    },
    /// The hub holds a ledger root this enclave never signed (or has forgotten): it cannot build
    /// on it. A rolled-back or foreign state: restore the enclave's own state.
    #[error(
        "the hub's ledger root {root} is not one this enclave signed: restore its state (or its sealed state) rather than start it afresh"
    )]
    UnknownLedgerRoot {
        /// The hub's root.
        root: B256,
    },
    /// The policy names a ledger key this instance does not hold: it could neither open a
    /// checkpoint nor seal one.
    #[error(
        "this instance does not hold the deployment's ledger key: start it with --ledger-key FILE (the deployment's first instance) or --join SOCKET (an instance that holds it)"
    )]
    NoLedgerKey,
    /// A ledger root this enclave signed could not be rebuilt from the vault logs given.
    #[error("the ledger of root {root} cannot be rebuilt yet: {reason}")]
    LedgerNotReproduced {
        /// The root.
        root: B256,
        /// Why (entries not given yet, or not the vault's).
        reason: String,
    },
    /// The quote entries given do not lead to the board head the attestation must commit to.
    #[error(
        "the quotes given do not reach the board's closed round {round} (head {head}): {reason}; give every quote of the board's closed rounds"
    )]
    Quotes {
        /// The board's last closed round.
        round: u64,
        /// Its head.
        head: B256,
        /// What is wrong.
        reason: String,
    },
    /// An instruction could not be sealed (a treasury key is invalid).
    #[error("sealing the instruction for {chain}: {source}")]
    Seal {
        /// The chain.
        chain: String,
        /// The error.
        #[source]
        source: SealError,
    },
}

/// Whether the enclave can attest now, and whether its verdict differs from the one it signed
/// last (bad news is attested at once rather than at the next cadence tick).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// True when the verdict differs from the last signed one, or nothing was signed yet.
    pub verdict_changed: bool,
}

/// The mutable part of an enclave at one moment, to undo a change that could not be persisted.
/// Holds amounts (the ledger): it never leaves the enclave's memory.
pub struct Checkpoint {
    state: EnclaveState,
    ledger: Ledger,
    /// The ledger key's and the outstanding key request's secrets, if any.
    ledger_key: Option<zeroize::Zeroizing<[u8; 32]>>,
    key_request: Option<zeroize::Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint").field("state", &self.state).finish_non_exhaustive()
    }
}

/// An enclave's secrets, ledger and state, as sealed state holds them.
pub(crate) struct Parts<'a> {
    /// The generation-0 HPKE secret.
    pub base_hpke: &'a [u8; 32],
    /// The signing secret.
    pub signing: zeroize::Zeroizing<[u8; 32]>,
    /// The ledger key's secret, if held (and not derived).
    pub ledger_key: Option<zeroize::Zeroizing<[u8; 32]>>,
    /// The report ledger.
    pub ledger: &'a Ledger,
    /// The state.
    pub state: &'a EnclaveState,
}

/// The trusted core.
pub struct Enclave {
    /// `keys.hpke` is the key in force (generation `state.hpke_generation`).
    keys: EnclaveKeys,
    /// The generation-0 HPKE secret every generation is derived from.
    base_hpke: zeroize::Zeroizing<[u8; 32]>,
    /// The previous generation's key, while a rotation's grace period may still apply.
    previous: Option<crate::X25519KeyPair>,
    policy: Policy,
    ledger: Ledger,
    state: EnclaveState,
    /// Every vault's log as the host gave it (public; given again after a restart).
    vault_logs: VaultLogs,
    /// The hub's quote board as the host gave it (public; given again after a restart).
    quote_log: crate::quote::QuoteLog,
    /// The quotes of the board's closed rounds the last attestation committed to.
    quotes: Vec<crate::market::Quote>,
    /// The ownership ledger behind each signed root still remembered.
    ledgers: BTreeMap<B256, Ownership>,
    /// Withdrawal requests taken and not yet in the hub's ledger, by id (the host gives them
    /// again until they are).
    incoming: BTreeMap<B256, crate::withdrawal::CheckedRequest>,
    /// The deployment's ledger key, when the policy names one and this instance holds it.
    ledger_key: Option<crate::X25519KeyPair>,
    /// The ephemeral key of this instance's outstanding ledger key request.
    key_request: Option<crate::X25519KeyPair>,
}

/// `keccak256(messageId || keccak256(payload))`: one delivery of one report.
pub fn delivery_digest(delivered: &DeliveredReport) -> B256 {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(delivered.message_id.as_slice());
    bytes[32..].copy_from_slice(keccak256(&delivered.payload).as_slice());
    keccak256(bytes)
}

/// The HPKE key of a generation: generation 0 is the key file's, each later one is derived from
/// it, so instances that share the key file derive the same keys without exchanging secrets.
fn hpke_generation(base: &[u8; 32], generation: u64) -> crate::X25519KeyPair {
    if generation == 0 {
        return crate::X25519KeyPair::from_secret_bytes(*base);
    }
    let mut material = zeroize::Zeroizing::new(b"self-healing-reserve/hpke-rotation/v1".to_vec());
    material.extend_from_slice(base);
    material.extend_from_slice(&generation.to_be_bytes());
    crate::X25519KeyPair::from_secret_bytes(alloy::primitives::keccak256(material.as_slice()).0)
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enclave")
            .field("public", &self.keys.public())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Enclave {
    /// An enclave with its keys (as in the key file: generation 0), the policy and the state it
    /// persisted last.
    pub fn new(keys: EnclaveKeys, policy: Policy, state: EnclaveState) -> Self {
        let EnclaveKeys { hpke, signer } = keys;
        let base_hpke = hpke.secret_bytes();
        let generation = state.hpke_generation;
        let current = if generation == 0 { hpke } else { hpke_generation(&base_hpke, generation) };
        let previous = (generation > 0).then(|| hpke_generation(&base_hpke, generation - 1));
        let mut enclave = Self {
            keys: EnclaveKeys { hpke: current, signer },
            base_hpke,
            previous,
            policy,
            ledger: Ledger::default(),
            state,
            vault_logs: VaultLogs::default(),
            quote_log: Default::default(),
            quotes: Vec::new(),
            ledgers: BTreeMap::new(),
            incoming: BTreeMap::new(),
            ledger_key: None,
            key_request: None,
        };
        enclave.open_checkpoints();
        enclave
    }

    /// Opens the checkpoints that open and reproduce their roots; any other is reported when
    /// the hub's root is one of them.
    fn open_checkpoints(&mut self) {
        let opened: Vec<(B256, Ownership)> = self
            .state
            .ledger_checkpoints
            .iter()
            .filter(|c| !self.ledgers.contains_key(&c.root))
            .filter_map(|c| self.open_checkpoint(c).ok().map(|o| (c.root, o)))
            .collect();
        self.ledgers.extend(opened);
    }

    /// Drops the opened ledgers whose checkpoints are no longer kept.
    fn forget_dropped_ledgers(&mut self) {
        let kept: Vec<B256> = self.state.ledger_checkpoints.iter().map(|c| c.root).collect();
        self.ledgers.retain(|root, _| kept.contains(root));
    }

    /// Gives this instance the deployment's ledger key (the deployment's first instance, from
    /// its key file). Refused unless it is the key `[enclave.ledger]` names.
    pub fn set_ledger_key(
        &mut self,
        key: crate::X25519KeyPair,
    ) -> Result<(), crate::KeyReleaseError> {
        let terms = self.policy.ledger.as_ref().ok_or(crate::KeyReleaseError::NotConfigured)?;
        crate::key_release::check_key(terms, &key)?;
        self.ledger_key = Some(key);
        self.open_checkpoints();
        Ok(())
    }

    /// Whether this instance can seal and open checkpoints: it holds the ledger key the policy
    /// names (or the policy names none, and the key is derived).
    pub fn holds_ledger_key(&self) -> bool {
        self.ledger_key().is_some()
    }

    /// Starts a ledger key request: evidence from `attestor` whose nonce carries a fresh
    /// ephemeral key ([`crate::key_release`]), for an instance that holds the key to answer with
    /// [`Enclave::release_ledger_key`]. A later request replaces this one.
    pub fn request_ledger_key(
        &mut self,
        attestor: &dyn crate::Attestor,
        now: u64,
    ) -> Result<crate::Evidence, crate::KeyReleaseError> {
        if self.policy.ledger.is_none() {
            return Err(crate::KeyReleaseError::NotConfigured);
        }
        let ephemeral = crate::X25519KeyPair::generate();
        let nonce = crate::key_release::request_nonce(&ephemeral.public());
        let evidence = attestor
            .attest(&self.keys, &nonce, now)
            .map_err(|e| crate::KeyReleaseError::Evidence { reason: e.to_string() })?;
        self.key_request = Some(ephemeral);
        Ok(evidence)
    }

    /// Answers another instance's ledger key request: if its evidence verifies at `now` and
    /// shows code `[enclave.ledger]` lists, the ledger key sealed to the key its nonce carries,
    /// with this instance's checkpoints.
    pub fn release_ledger_key(
        &self,
        evidence: &crate::Evidence,
        now: u64,
    ) -> Result<crate::LedgerKeyRelease, crate::KeyReleaseError> {
        let terms = self.policy.ledger.as_ref().ok_or(crate::KeyReleaseError::NotConfigured)?;
        let key = self.ledger_key.as_ref().ok_or(crate::KeyReleaseError::NotHeld)?;
        crate::key_release::release(
            terms,
            &self.policy.deployment_id,
            key,
            evidence,
            now,
            self.state.ledger_checkpoints.clone(),
        )
    }

    /// Takes the answer to this instance's outstanding request: the ledger key, and every
    /// checkpoint given that opens, reproduces its root and is not known yet. Returns how many
    /// checkpoints it took.
    pub fn accept_ledger_key(
        &mut self,
        release: &crate::LedgerKeyRelease,
    ) -> Result<usize, crate::KeyReleaseError> {
        let terms = self.policy.ledger.as_ref().ok_or(crate::KeyReleaseError::NotConfigured)?;
        let ephemeral = self.key_request.as_ref().ok_or(crate::KeyReleaseError::NoRequest)?;
        let key = crate::key_release::open(terms, &self.policy.deployment_id, ephemeral, release)?;
        self.key_request = None;
        self.ledger_key = Some(key);
        let mut taken = 0;
        for checkpoint in &release.checkpoints {
            let known = self.state.ledger_checkpoints.iter().any(|c| c.root == checkpoint.root);
            if known {
                continue;
            }
            // Opened once: kept with its ledger, so `open_checkpoints` below skips it.
            if let Ok(ownership) = self.open_checkpoint(checkpoint) {
                self.ledgers.insert(checkpoint.root, ownership);
                self.state.ledger_checkpoints.push(checkpoint.clone());
                taken += 1;
            }
        }
        self.state.ledger_checkpoints.sort_by_key(|c| c.epoch);
        let excess = self.state.ledger_checkpoints.len().saturating_sub(MAX_LEDGER_CHECKPOINTS);
        self.state.ledger_checkpoints.drain(..excess);
        self.forget_dropped_ledgers();
        // This instance's own checkpoints, which the key it lacked until now opens.
        self.open_checkpoints();
        Ok(taken)
    }

    /// Rotates the HPKE key to the next generation. Reports sealed to the key it replaces are
    /// accepted until `grace_until` (Unix seconds), then refused. Returns the new public key, to
    /// publish in the registry.
    pub fn rotate_hpke(&mut self, grace_until: u64) -> crate::X25519Public {
        self.state.hpke_generation += 1;
        self.state.previous_key_valid_until = grace_until;
        let next = hpke_generation(&self.base_hpke, self.state.hpke_generation);
        self.previous = Some(std::mem::replace(&mut self.keys.hpke, next));
        self.keys.hpke.public()
    }

    /// What sealed state holds, for sealing.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            base_hpke: &self.base_hpke,
            signing: self.keys.secrets().1,
            ledger_key: self.ledger_key.as_ref().map(crate::X25519KeyPair::secret_bytes),
            ledger: &self.ledger,
            state: &self.state,
        }
    }

    /// An enclave restored from sealed parts (`keys` as in the key file: generation 0). A
    /// sealed ledger key that is not the policy's is dropped (the instance joins again).
    pub(crate) fn from_parts(
        keys: EnclaveKeys,
        policy: Policy,
        ledger_key: Option<crate::X25519KeyPair>,
        ledger: Ledger,
        state: EnclaveState,
    ) -> Self {
        let mut enclave = Self::new(keys, policy, state);
        if let Some(key) = ledger_key {
            let _ = enclave.set_ledger_key(key);
        }
        enclave.ledger = ledger;
        enclave
    }

    /// The public halves of the keys.
    pub fn public(&self) -> EnclavePublic {
        self.keys.public()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// What to persist (after every accepted report and every attestation).
    pub fn state(&self) -> &EnclaveState {
        &self.state
    }

    /// Checks a delivered report against every rule and records it. A refused report changes
    /// nothing.
    ///
    /// The report accepted last for its chain, given again, is not a replay: it is how a
    /// restarted enclave gets its ledger back from the hub's logs. It passes every rule but the
    /// seq order again, refills the ledger if the entry is missing, and changes no state.
    pub fn ingest(
        &mut self,
        delivered: &DeliveredReport,
        now: u64,
    ) -> Result<Accepted, IngestError> {
        let selector = delivered.source_chain_selector;
        let last_seq = self.state.last_seq.get(&selector).copied();
        let again = last_seq == Some(delivered.seq)
            && self.state.last_delivery.get(&selector) == Some(&delivery_digest(delivered));
        let recipients = ledger::Recipients {
            current: &self.keys.hpke,
            previous: self.previous.as_ref().map(|p| (p, self.state.previous_key_valid_until)),
        };
        if again {
            if let Some(entry) = self.ledger.get(selector)
                && entry.seq == delivered.seq
            {
                let chain = self.policy.chain(selector).map(|c| c.name.clone()).unwrap_or_default();
                return Ok(Accepted {
                    chain,
                    selector,
                    seq: entry.seq,
                    message_id: entry.message_id,
                    again: true,
                });
            }
            let previous = delivered.seq.checked_sub(1);
            let (mut accepted, entry) =
                ledger::check(delivered, &self.policy, recipients, previous, now)?;
            accepted.again = true;
            self.ledger.insert(accepted.selector, entry);
            return Ok(accepted);
        }
        let (accepted, entry) = ledger::check(delivered, &self.policy, recipients, last_seq, now)?;
        self.state.last_seq.insert(accepted.selector, accepted.seq);
        self.state.last_delivery.insert(accepted.selector, delivery_digest(delivered));
        self.ledger.insert(accepted.selector, entry);
        Ok(accepted)
    }

    /// Whether an attestation can be made now, and whether its verdict would differ from the
    /// last one signed.
    pub fn readiness(&self, now: u64) -> Result<Readiness, AssessError> {
        let assessment = self.assess(now)?;
        let verdict_changed = self
            .state
            .last_signed
            .as_ref()
            .is_none_or(|last| last.attestation.solvent != assessment.solvent);
        Ok(Readiness { verdict_changed })
    }

    /// The mutable state as it is now.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            state: self.state.clone(),
            ledger: self.ledger.clone(),
            ledger_key: self.ledger_key.as_ref().map(crate::X25519KeyPair::secret_bytes),
            key_request: self.key_request.as_ref().map(crate::X25519KeyPair::secret_bytes),
        }
    }

    /// Goes back to a checkpoint (a change that could not be persisted is undone, so that
    /// nothing is counted that a restart would forget).
    pub fn rollback(&mut self, checkpoint: Checkpoint) {
        let generation = checkpoint.state.hpke_generation;
        if generation != self.state.hpke_generation {
            self.keys.hpke = hpke_generation(&self.base_hpke, generation);
            self.previous =
                (generation > 0).then(|| hpke_generation(&self.base_hpke, generation - 1));
        }
        self.state = checkpoint.state;
        self.ledger = checkpoint.ledger;
        // A ledger key taken in a change that could not be persisted is given back too: the
        // caller is told nothing changed.
        let key = |secret: Option<zeroize::Zeroizing<[u8; 32]>>| {
            secret.map(|s| crate::X25519KeyPair::from_secret_bytes(*s))
        };
        self.ledger_key = key(checkpoint.ledger_key);
        self.key_request = key(checkpoint.key_request);
        self.forget_dropped_ledgers();
    }

    /// Evidence binding this enclave's public keys and a verifier's nonce.
    pub fn evidence(
        &self,
        attestor: &dyn crate::Attestor,
        nonce: &[u8],
        now: u64,
    ) -> Result<crate::Evidence, crate::EvidenceError> {
        // A key request's nonce carries a key of the requester's: given by a host, it would be
        // the host's, and the holder would seal the ledger key to it.
        if nonce.starts_with(crate::key_release::REQUEST_NONCE_PREFIX) {
            return Err(crate::EvidenceError::ReservedNonce);
        }
        attestor.attest(&self.keys, nonce, now)
    }

    /// Assesses the latest reports at `now`.
    pub fn assess(&self, now: u64) -> Result<Assessment, AssessError> {
        Ok(self.planned(&self.next_ownership(&self.latest_ownership()), now, &self.quotes)?.1)
    }

    /// `credited` after this epoch's recovery plan ([`crate::planner`]), and the assessment of
    /// the chains' books at `now` with the planned vault shares (the books drawn up once).
    fn planned(
        &self,
        credited: &Ownership,
        now: u64,
        quotes: &[crate::market::Quote],
    ) -> Result<(Ownership, Assessment), AssessError> {
        let (books, used) = crate::assess::chain_books(&self.ledger, &self.policy, now)?;
        let ownership = if self.policy.protocol.is_zero() {
            // No protocol account: no vault share counts, and there is nothing to heal with.
            credited.clone()
        } else {
            crate::planner::plan_with_quotes(
                credited,
                &books,
                self.policy.recovery_ratio_bps,
                &self.policy.recovery,
                now,
                quotes,
            )
            .0
        };
        let assessment = crate::assess::assess_books(&books, &used, &self.policy, |c| {
            ownership.protocol_share(c)
        })?;
        Ok((ownership, assessment))
    }

    /// Takes a chain's next vault log entries, in order (entries given before are checked and
    /// skipped). They count once a report's head — checked by the hub at publish — vouches for
    /// them.
    pub fn feed_vault(
        &mut self,
        chain_selector: u64,
        entries: &[VaultEntry],
    ) -> Result<usize, OwnershipError> {
        self.vault_logs.feed(chain_selector, entries)
    }

    /// How many entries of a chain's vault log were given.
    pub fn vault_log_len(&self, chain_selector: u64) -> u64 {
        self.vault_logs.len(chain_selector)
    }

    /// Takes the hub's quote board entries `from..` (board order; entries given before are
    /// checked and skipped). They count once an attestation commits to a closed round's head
    /// they lead to. Returns how many are held.
    pub fn feed_quotes(
        &mut self,
        from: u64,
        entries: &[crate::quote::QuoteEntry],
    ) -> Result<u64, crate::quote::QuoteFeedError> {
        self.quote_log.feed(from, entries)
    }

    /// How many quote board entries were given.
    pub fn quote_log_len(&self) -> u64 {
        self.quote_log.len()
    }

    /// Whether `owner`'s live quote (of `live`, with the market on) keeps `amount` of its
    /// standby in `chain`'s vault: what stays available across the vaults of the chain's class
    /// after the withdrawal would fall below what the quote still offers (its size, less what
    /// is drawn of the maker already).
    fn quote_locks(
        &self,
        ownership: &Ownership,
        live: &[crate::market::Quote],
        owner: Address,
        chain: u64,
        amount: alloy::primitives::U256,
    ) -> bool {
        if self.policy.recovery.market.is_none() {
            return false;
        }
        let Some(policy) = self.policy.chain(chain) else { return false };
        let class_of = |c: &crate::policy::ChainPolicy| {
            c.asset(&c.vault_asset)
                .map(|a| crate::market::Class { asset: a.id, decimals: a.decimals })
        };
        let Some(class) = class_of(policy) else { return false };
        let Some(quote) = live.iter().find(|q| q.maker == owner && q.class == class) else {
            return false;
        };
        // What stays available and what is drawn already (not yet given back, so it counts
        // against the quote's size), across the class's vaults.
        let (available, drawn) = self
            .policy
            .chains
            .iter()
            .filter(|c| !c.vault.is_zero() && class_of(c) == Some(class))
            .fold((alloy::primitives::U256::ZERO, alloy::primitives::U256::ZERO), |(a, d), c| {
                (
                    a.saturating_add(ownership.available(owner, c.selector)),
                    d.saturating_add(ownership.claim(owner, c.selector).drawn),
                )
            });
        available.saturating_sub(amount) < quote.size.saturating_sub(drawn)
    }

    /// The quotes of every board round up to `round`, if the entries given lead to `head`.
    fn quotes_through(
        &mut self,
        round: u64,
        head: B256,
    ) -> Result<Vec<crate::market::Quote>, AttestError> {
        // Opened with the key in force and, through a rotation's grace period, the previous
        // one: quotes sealed before a rotation still count. The header's selector is not
        // judged (the host names the hub; the deployment id in `info` binds the quote).
        let mut keys = vec![&self.keys.hpke];
        keys.extend(self.previous.as_ref());
        self.quote_log
            .open_through(round, &self.policy.deployment_id, &keys, head)
            .map(|opened| opened.quotes)
            .map_err(|e| AttestError::Quotes { round, head, reason: e.to_string() })
    }

    /// The ownership ledger behind `parent`, the root the hub holds, signed at `parent_epoch`:
    /// none before the first (zero), or one of this enclave's checkpoints, which must
    /// reproduce the root. An instance that lost its checkpoints may resume only if the root is
    /// what the public vault logs alone give at its reports' heads (no recovery ever moved
    /// ownership); otherwise its state must be restored.
    fn ownership_for(&self, parent: B256, parent_epoch: u64) -> Result<Ownership, AttestError> {
        let genesis = Ownership::new(self.policy.protocol);
        if parent == B256::ZERO {
            return Ok(genesis);
        }
        if let Some(known) = self.ledgers.get(&parent) {
            return Ok(known.clone());
        }
        if let Some(checkpoint) = self.state.ledger_checkpoints.iter().find(|c| c.root == parent) {
            return self.open_checkpoint(checkpoint);
        }
        let public = self.next_ownership(&genesis);
        if self.ownership_root(&public, parent_epoch) == parent {
            return Ok(public);
        }
        Err(AttestError::UnknownLedgerRoot { root: parent })
    }

    /// The deployment's ledger key: the one `[enclave.ledger]` names, if this instance holds
    /// it; without `[enclave.ledger]`, derived from the generation-0 HPKE secret (a dev
    /// registry: every holder of the HPKE key file can derive it).
    fn ledger_key(&self) -> Option<crate::X25519KeyPair> {
        if self.policy.ledger.is_some() {
            return self
                .ledger_key
                .as_ref()
                .map(|key| crate::X25519KeyPair::from_secret_bytes(*key.secret_bytes()));
        }
        let mut material = zeroize::Zeroizing::new(b"self-healing-reserve/ledger-key/v1".to_vec());
        material.extend_from_slice(self.base_hpke.as_ref());
        Some(crate::X25519KeyPair::from_secret_bytes(keccak256(material.as_slice()).0))
    }

    fn seal_checkpoint(
        &self,
        key: &crate::X25519KeyPair,
        epoch: u64,
        ownership: &Ownership,
    ) -> alloy::primitives::Bytes {
        let mut plaintext = zeroize::Zeroizing::new(Vec::new());
        ciborium::into_writer(ownership, &mut *plaintext).expect("a ledger serializes");
        crate::seal::seal(
            crate::Purpose::Ledger,
            &self.policy.deployment_id,
            crate::SealedHeader { chain_selector: 0, counter: epoch },
            &plaintext,
            key,
            &key.public(),
        )
        .expect("a ledger key is a valid X25519 key")
        .into()
    }

    fn open_checkpoint(&self, checkpoint: &LedgerCheckpoint) -> Result<Ownership, AttestError> {
        let not = |reason: &str| AttestError::LedgerNotReproduced {
            root: checkpoint.root,
            reason: reason.into(),
        };
        let key = self.ledger_key().ok_or(AttestError::NoLedgerKey)?;
        let (_, plaintext) = crate::seal::open(
            crate::Purpose::Ledger,
            &self.policy.deployment_id,
            &checkpoint.sealed,
            &key,
            &key.public(),
        )
        .map_err(|_| not("its checkpoint does not open with this deployment's key"))?;
        let plaintext = zeroize::Zeroizing::new(plaintext);
        let ownership: Ownership = ciborium::from_reader(plaintext.as_slice())
            .map_err(|_| not("its checkpoint is damaged"))?;
        if self.ownership_root(&ownership, checkpoint.epoch) != checkpoint.root {
            return Err(not("its checkpoint has another root"));
        }
        Ok(ownership)
    }

    /// The ledger behind the last root signed (or none yet), for readiness.
    fn latest_ownership(&self) -> Ownership {
        self.state
            .ledger_checkpoints
            .last()
            .and_then(|c| self.ownership_for(c.root, c.epoch).ok())
            .unwrap_or_else(|| Ownership::new(self.policy.protocol))
    }

    /// `base` with every vault credited up to the head of its chain's latest report.
    fn next_ownership(&self, base: &Ownership) -> Ownership {
        let heads: Vec<(u64, VaultHead)> = self
            .policy
            .chains
            .iter()
            .filter(|c| !c.vault.is_zero())
            .filter_map(|c| self.ledger.get(c.selector).map(|e| (c.selector, e.head)))
            .collect();
        base.advanced(&self.vault_logs, &heads).0
    }

    /// The root of an ownership ledger at `epoch` (its leaves salted for that epoch).
    fn ownership_root(&self, ownership: &Ownership, epoch: u64) -> B256 {
        MerkleTree::new(
            self.ownership_leaves(ownership, epoch).iter().map(crate::LedgerLeaf::hash).collect(),
        )
        .root()
    }

    /// The leaves of an ownership ledger at `epoch`.
    fn ownership_leaves(&self, ownership: &Ownership, epoch: u64) -> Vec<crate::LedgerLeaf> {
        ownership.leaves(
            |chain| self.policy.chain(chain).map_or(Address::ZERO, |c| c.vault),
            |owner, chain| self.ledger_salt(epoch, owner, chain),
        )
    }

    /// The latest accepted seq of a chain, if any.
    pub fn latest_seq(&self, selector: u64) -> Option<u64> {
        self.ledger.get(selector).map(|e| e.seq)
    }

    /// Signs the next attestation. Its epoch is above both what this enclave signed last and
    /// `onchain_epoch` (what the hub holds), so epochs keep increasing across restarts.
    pub fn attest(
        &mut self,
        now: u64,
        onchain_epoch: u64,
        parent_ledger_root: B256,
    ) -> Result<SignedAttestation, AttestError> {
        let epoch = self.state.last_epoch.max(onchain_epoch).checked_add(1).ok_or(
            AttestError::EpochUsed {
                epoch: u64::MAX,
                last_epoch: self.state.last_epoch.max(onchain_epoch),
            },
        )?;
        self.attest_epoch(now, epoch, parent_ledger_root)
    }

    /// Signs an attestation for a given epoch, as a quorum member does when the aggregator
    /// proposes the epoch and the time to every instance. Refuses an epoch at or below the last
    /// one it signed: an instance never signs two statements for one epoch. Given the same
    /// reports, policy, HPKE key, epoch and time, every instance signs the same attestation.
    ///
    /// If the last attestation this enclave signed has an epoch at or above `epoch` (so it was
    /// never published: the caller asks above what the hub holds), says the same thing about the
    /// same reports, and stays valid for at least half the validity window, that very
    /// attestation is returned again: a publish that failed does not use up an epoch.
    pub fn attest_epoch(
        &mut self,
        now: u64,
        epoch: u64,
        parent_ledger_root: B256,
    ) -> Result<SignedAttestation, AttestError> {
        self.attest_epoch_with_quotes(now, epoch, parent_ledger_root, 0, B256::ZERO)
    }

    /// [`Self::attest_epoch`] committing to the hub's quote board as of its last closed round
    /// `quote_round` and the head `quote_head` after it (`getClosedQuotes()`, which the hub
    /// checks at publish): the quotes given through that round must lead to that head, and
    /// the plan clears against them.
    pub fn attest_epoch_with_quotes(
        &mut self,
        now: u64,
        epoch: u64,
        parent_ledger_root: B256,
        quote_round: u64,
        quote_head: B256,
    ) -> Result<SignedAttestation, AttestError> {
        let ledger_key = self.ledger_key().ok_or(AttestError::NoLedgerKey)?;
        let quotes = self.quotes_through(quote_round, quote_head)?;
        // The hub's root was signed at the epoch below the one asked for (the aggregator asks
        // one above the hub's).
        let base = self.ownership_for(parent_ledger_root, epoch.saturating_sub(1))?;
        // Requests the hub's ledger already authorized are done with — but for one that asks
        // for an authorized, unpaid withdrawal again from another reply key (its owner lost the
        // first: a killed command), which moves the replies to the new key.
        self.incoming.retain(|&id, r| {
            r.request.nonce > base.nonce(r.request.owner) || base.renews_reply_key(id, &r.request)
        });
        let mut credited = self.next_ownership(&base);
        let mut requests: Vec<_> = self.incoming.iter().collect();
        requests.sort_by_key(|(_, r)| (r.request.owner, r.request.nonce));
        // Subscriptions taken in this epoch: acknowledged by a reply of amount zero (under no
        // root: nothing to withdraw), so the owner and the host see them done.
        let mut subscribed = Vec::new();
        let live = crate::market::live(&quotes, now);
        for (&id, checked) in requests {
            let r = &checked.request;
            if credited.renew_reply_key(id, r) {
                continue;
            }
            if r.amount.is_zero() {
                if credited.subscribe(r.owner, r.nonce, r.replyKey) {
                    subscribed.push((
                        r.replyKey,
                        crate::Authorization {
                            chainSelector: r.chainSelector,
                            vault: r.vault,
                            owner: r.owner,
                            amount: alloy::primitives::U256::ZERO,
                            id,
                        },
                    ));
                }
                continue;
            }
            // A quoted size is locked until its quote expires: a maker cannot take out, across
            // the class's vaults, what it offered the market.
            if self.quote_locks(&credited, &live, r.owner, r.chainSelector, r.amount) {
                continue;
            }
            credited.authorize(
                id,
                r.nonce,
                crate::ownership::Pending {
                    owner: r.owner,
                    chain_selector: r.chainSelector,
                    amount: r.amount,
                    reply_key: r.replyKey,
                },
            );
        }
        // A need the market timed out waits for the calendar: at a slot it is offered again.
        if let (Some(calendar), Some(market)) =
            (&self.policy.recovery.calendar, &self.policy.recovery.market)
        {
            credited = crate::calendar::reopen_timed_out(credited, calendar, market, epoch);
        }
        let (ownership, assessment) = self.planned(&credited, now, &quotes)?;
        // The calendar's lots to send: after the plan, so that what it drew is not moved, and
        // from what the plan left available. Lots scheduled before are listed until sent,
        // calendar or not.
        let (ownership, listed) = crate::calendar::schedule(
            ownership,
            &self.lane_ends(),
            self.policy.recovery.calendar.as_ref(),
            self.lot_salt(epoch),
            epoch,
        );
        self.quotes = quotes;
        if let Some(last) = &self.state.last_signed {
            let a = &last.attestation;
            if a.epoch >= epoch
                && a.quoteRound == quote_round
                && a.quoteHead == quote_head
                && a.reportsDigest == assessment.reports_digest
                && a.solvent == assessment.solvent
                && a.policyDigest == self.policy.digest()
                && a.parentLedgerRoot == parent_ledger_root
                && a.validUntil >= now.saturating_add(self.policy.attestation_validity / 2)
            {
                return Ok(last.clone());
            }
        }
        if epoch <= self.state.last_epoch {
            return Err(AttestError::EpochUsed { epoch, last_epoch: self.state.last_epoch });
        }
        let mut chains: Vec<_> = self.policy.chains.iter().collect();
        chains.sort_by_key(|c| c.selector);
        let mut leaves = Vec::with_capacity(chains.len());
        let mut instructions = Vec::with_capacity(chains.len());
        let mut replies = Vec::new();
        for (key, authorization) in subscribed {
            let id = authorization.id;
            let reply =
                crate::withdrawal::WithdrawalReply { epoch, authorization, proof: Vec::new() };
            let sealed = crate::withdrawal::seal_reply(
                &reply,
                &self.policy.deployment_id,
                &key,
                &self.keys.hpke,
            )
            .map_err(|source| AttestError::Seal { chain: format!("subscription {id}"), source })?;
            replies.push((id, sealed));
        }
        for chain in &chains {
            // Every chain gets an instruction of one size every epoch, listing lots only at
            // the slots that send some: size and cadence never change.
            let ChainAuthorizations { root: auth_root, replies: sealed, lots } =
                self.authorizations(epoch, chain.selector, chain.vault, &ownership, &listed)?;
            replies.extend(sealed);
            let instruction = seal_instruction(
                &self.policy,
                &self.keys,
                chain,
                epoch,
                &assessment.reports_digest,
                lots,
            )
            .map_err(|source| AttestError::Seal { chain: chain.name.clone(), source })?;
            // The vault head of the chain's latest report: the hub checks it against the head
            // it received with that report.
            let (report_seq, head) = self
                .ledger
                .get(chain.selector)
                .map_or((0, Default::default()), |entry| (entry.seq, entry.head));
            leaves.push(ChainLeaf {
                chainSelector: chain.selector,
                vault: chain.vault,
                instructionHash: keccak256(&instruction),
                reportSeq: report_seq,
                logCount: head.count,
                logHead: head.head,
                authRoot: auth_root,
            });
            instructions.push(instruction);
        }
        let tree = MerkleTree::new(leaves.iter().map(ChainLeaf::hash).collect());
        let ledger_leaves = self.ownership_leaves(&ownership, epoch);
        let ledger_tree =
            MerkleTree::new(ledger_leaves.iter().map(crate::LedgerLeaf::hash).collect());
        let ledger_root = ledger_tree.root();
        let mut statements = Vec::new();
        for (owner, key, statement) in crate::statement::statements(
            epoch,
            &ledger_tree,
            &ownership,
            &ledger_leaves,
            &self.policy,
        ) {
            let sealed = crate::statement::seal_statement(
                &statement,
                &self.policy.deployment_id,
                &key,
                &self.keys.hpke,
            )
            .map_err(|source| AttestError::Seal {
                chain: format!("statement of {owner}"),
                source,
            })?;
            statements.push((owner, sealed));
        }
        let attestation = SolvencyAttestation {
            deploymentId: self.policy.deployment_id,
            epoch,
            solvent: assessment.solvent,
            issuedAt: now,
            validUntil: now.saturating_add(self.policy.attestation_validity),
            reportsDigest: assessment.reports_digest,
            chainsRoot: tree.root(),
            ledgerRoot: ledger_root,
            parentLedgerRoot: parent_ledger_root,
            policyDigest: self.policy.digest(),
            quoteRound: quote_round,
            quoteHead: quote_head,
        };
        let messages = leaves
            .into_iter()
            .zip(instructions)
            .enumerate()
            .map(|(i, (leaf, instruction))| ChainMessage {
                leaf,
                proof: tree.proof(i),
                instruction,
            })
            .collect();
        let signature = self.keys.signer.sign(&attestation);
        let signed = SignedAttestation {
            attestation,
            signature,
            signer: self.keys.signer.address(),
            messages,
            replies,
            statements,
        };
        let root = signed.attestation.ledgerRoot;
        let sealed = self.seal_checkpoint(&ledger_key, epoch, &ownership);
        self.state.ledger_checkpoints.push(LedgerCheckpoint { epoch, root, sealed });
        if self.state.ledger_checkpoints.len() > MAX_LEDGER_CHECKPOINTS {
            self.state.ledger_checkpoints.remove(0);
        }
        self.ledgers.insert(root, ownership);
        self.forget_dropped_ledgers();
        self.state.last_epoch = epoch;
        self.state.last_signed = Some(signed.clone());
        Ok(signed)
    }
}

/// What one chain's leaf authorizes in an epoch.
struct ChainAuthorizations {
    /// The leaf's `authRoot`.
    root: B256,
    /// Each withdrawal's reply, sealed to its owner, by authorization id.
    replies: Vec<(B256, Bytes)>,
    /// The lots the chain's instruction lists, with their proofs.
    lots: Vec<crate::instruction::LotOrder>,
}

impl Enclave {
    /// Each chain's vault and collateral, as the calendar sees them.
    fn lane_ends(&self) -> Vec<crate::calendar::LaneEnd> {
        self.policy
            .chains
            .iter()
            .map(|c| {
                let asset = c.asset(&c.vault_asset);
                crate::calendar::LaneEnd {
                    selector: c.selector,
                    // A vault whose collateral the chain does not list takes no lots.
                    vault: if asset.is_some() { c.vault } else { Address::ZERO },
                    asset: c.vault_asset,
                    decimals: asset.map_or(0, |a| a.decimals),
                }
            })
            .collect()
    }

    /// A chain's `authRoot` for an epoch, with every withdrawal authorized there sealed to its
    /// owner's reply key, and the orders of the lots listed from it at this slot: the root over
    /// the pending authorizations (by id), those lots, and one salted dummy (amount 0, which
    /// every vault refuses), so the root is new and non-zero every epoch whether or not
    /// anything is authorized — the oracle's stored leaf never flips from zero to non-zero
    /// only in a recovery (docs/self-healing.md). Orders that would not fit the instruction's
    /// fixed size (with their proofs) wait for the next slot.
    fn authorizations(
        &self,
        epoch: u64,
        chain_selector: u64,
        vault: Address,
        ownership: &Ownership,
        listed: &[(u64, B256)],
    ) -> Result<ChainAuthorizations, AttestError> {
        let mut auths = vec![crate::Authorization {
            chainSelector: chain_selector,
            vault,
            owner: Address::ZERO,
            amount: alloy::primitives::U256::ZERO,
            id: self.ledger_salt(epoch, Address::ZERO, chain_selector ^ u64::MAX),
        }];
        let mut keys = vec![B256::ZERO];
        for (id, pending) in ownership.pending().filter(|(_, p)| p.chain_selector == chain_selector)
        {
            auths.push(crate::Authorization {
                chainSelector: chain_selector,
                vault,
                owner: pending.owner,
                amount: pending.amount,
                id,
            });
            keys.push(pending.reply_key);
        }
        let lots: Vec<crate::Lot> = listed
            .iter()
            .filter(|(source, _)| *source == chain_selector)
            .filter_map(|(_, id)| ownership.lots().find(|(i, _)| i == id))
            .map(|(id, lot)| crate::Lot {
                chainSelector: chain_selector,
                vault,
                destChainSelector: lot.dest,
                destVault: lot.dest_vault,
                amount: lot.amount,
                id,
            })
            .collect();
        let tree = MerkleTree::new(
            auths
                .iter()
                .map(crate::Authorization::hash)
                .chain(lots.iter().map(crate::Lot::hash))
                .collect(),
        );
        let mut orders = Vec::new();
        for (i, lot) in lots.into_iter().enumerate() {
            orders.push(crate::instruction::LotOrder {
                id: lot.id,
                destChainSelector: lot.destChainSelector,
                destVault: lot.destVault,
                amount: lot.amount,
                proof: tree.proof(auths.len() + i),
            });
            if !crate::instruction::fits(chain_selector, epoch, &orders) {
                orders.pop();
                break;
            }
        }
        let mut replies = Vec::new();
        for (i, (authorization, key)) in auths.into_iter().zip(keys).enumerate().skip(1) {
            let id = authorization.id;
            let reply =
                crate::withdrawal::WithdrawalReply { epoch, authorization, proof: tree.proof(i) };
            let sealed = crate::withdrawal::seal_reply(
                &reply,
                &self.policy.deployment_id,
                &key,
                &self.keys.hpke,
            )
            .map_err(|source| AttestError::Seal {
                chain: format!("withdrawal reply {id}"),
                source,
            })?;
            replies.push((id, sealed));
        }
        Ok(ChainAuthorizations { root: tree.root(), replies, lots: orders })
    }

    /// Takes an owner's sealed withdrawal request ([`crate::withdrawal`]); it is authorized at
    /// the next attestation if the owner's available balance covers it then. Returns its id.
    pub fn take_withdrawal(
        &mut self,
        bytes: &[u8],
    ) -> Result<B256, crate::withdrawal::WithdrawalError> {
        let checked = crate::withdrawal::open_request(bytes, &self.policy, &self.keys.hpke)
            .or_else(|e| match &self.previous {
                Some(previous) => crate::withdrawal::open_request(bytes, &self.policy, previous),
                None => Err(e),
            })?;
        let id = checked.request.id();
        self.incoming.insert(id, checked);
        Ok(id)
    }

    /// The salt of the lot ids scheduled in an epoch: keccak256 keyed with the HPKE secret.
    fn lot_salt(&self, epoch: u64) -> B256 {
        let mut material = zeroize::Zeroizing::new(b"self-healing-reserve/lot-id".to_vec());
        material.extend_from_slice(self.base_hpke.as_ref());
        material.extend_from_slice(&epoch.to_be_bytes());
        keccak256(material.as_slice())
    }

    /// The salt of an owner's leaf for one vault in one epoch: keccak256 keyed with the HPKE
    /// secret, unpredictable to anyone but the enclave's instances.
    fn ledger_salt(&self, epoch: u64, owner: Address, chain_selector: u64) -> B256 {
        let mut material = zeroize::Zeroizing::new(b"self-healing-reserve/ledger-salt".to_vec());
        // Generation 0, so that a root signed before a key rotation is reproduced after it.
        material.extend_from_slice(self.base_hpke.as_ref());
        material.extend_from_slice(&epoch.to_be_bytes());
        material.extend_from_slice(owner.as_slice());
        material.extend_from_slice(&chain_selector.to_be_bytes());
        keccak256(material.as_slice())
    }
}
