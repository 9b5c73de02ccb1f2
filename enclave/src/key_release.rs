//! The deployment's ledger key and its release: the ownership ledger's checkpoints are sealed to
//! one X25519 key per deployment, and an instance that does not hold it gets it only from an
//! instance that does, by showing evidence of code the policy lists.
//!
//! # The exchange
//!
//! 1. The joining instance makes an ephemeral X25519 key pair (kept in its memory only) and asks
//!    its attestor for evidence whose nonce is [`REQUEST_NONCE_PREFIX`] followed by the 32
//!    bytes of that public key ([`request_nonce`]).
//! 2. The holder verifies the evidence against the policy's `[enclave.ledger]` terms
//!    ([`LedgerKeyPolicy`]): the kind allowed (`allow_dev`), its age, and its measurement
//!    ([`evidence_measurement`]) among `measurements`. It then seals the 32-byte ledger secret
//!    to the ephemeral key, in this crate's HPKE Auth format from the ledger key itself
//!    (`Purpose::LedgerKey`, header `(0, 0)`), and adds its ledger checkpoints (already sealed
//!    to the ledger key): a [`LedgerKeyRelease`].
//! 3. The joining instance opens it with its ephemeral secret, expecting the policy's ledger
//!    public key as the sender, checks that the secret it got has that public key, and keeps
//!    the checkpoints that open and reproduce their roots.
//!
//! The host carries both messages and learns nothing: the secret is sealed to a key only the
//! joining enclave holds, and the evidence binds that key to the code that made it. Evidence
//! replayed by a host gets the key sealed to an ephemeral key no running code holds. A release
//! forged by a host does not open: it is not authenticated by the ledger key.
//!
//! # Measurements
//!
//! Dev evidence's measurement is the SHA-256 of the enclave binary. A Nitro document's is
//! `keccak256(PCR0 || PCR1 || PCR2)` (image, kernel and application): the three that name the
//! code.

use alloy::primitives::{B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    Evidence, EvidencePolicy, LedgerCheckpoint, Purpose, SealedHeader, VerifiedEvidence,
    X25519KeyPair, X25519Public, seal,
};

/// What a key request's evidence nonce starts with; the requester's ephemeral X25519 public key
/// follows.
pub const REQUEST_NONCE_PREFIX: &[u8; 26] = b"shr-ledger-key-request-v1:";

/// `[enclave.ledger]`: the deployment's ledger key and the code it may be released to. In the
/// policy digest, so the contracts' owner decides which code may hold the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerKeyPolicy {
    /// The ledger key's public half: releases must come from it, and a key given at start-up
    /// must have it.
    pub public_key: X25519Public,
    /// The measurements ([`evidence_measurement`]) of code the key may be released to.
    pub measurements: Vec<B256>,
    /// Release on insecure dev evidence (a devnet): anyone can forge it, so a deployment that
    /// allows it gives its ledger key to anyone who asks with a listed measurement.
    pub allow_dev: bool,
    /// Oldest evidence a release accepts, in seconds.
    pub max_evidence_age: u64,
}

/// The ledger key, sealed to a requester's ephemeral key, and the holder's checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerKeyRelease {
    /// The 32-byte ledger secret, sealed from the ledger key to the requester's ephemeral key.
    pub sealed_key: Bytes,
    /// The holder's ledger checkpoints (sealed to the ledger key), oldest first.
    pub checkpoints: Vec<LedgerCheckpoint>,
}

/// Why the ledger key was not released or not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyReleaseError {
    /// The policy has no `[enclave.ledger]`: the ledger key is derived from the HPKE key and
    /// nothing is released.
    #[error(
        "the registry has no [enclave.ledger]: this deployment's ledger key is derived from its HPKE key and is never released"
    )]
    NotConfigured,
    /// This instance does not hold the ledger key.
    #[error(
        "this instance does not hold the deployment's ledger key: ask one that does (it was started with --ledger-key, or joined)"
    )]
    NotHeld,
    /// The evidence does not verify.
    #[error("the key request's evidence does not verify: {reason}")]
    Evidence {
        /// Why.
        reason: String,
    },
    /// The evidence shows code the policy does not list.
    #[error(
        "the key request comes from code with measurement {measurement}, which [enclave.ledger] measurements does not list"
    )]
    NotListed {
        /// The requester's measurement.
        measurement: B256,
    },
    /// The evidence's nonce is not a key request.
    #[error(
        "the evidence's nonce is not a ledger key request (shr-ledger-key-request-v1: and a usable X25519 key)"
    )]
    NotARequest,
    /// This instance has no key request outstanding.
    #[error("this instance asked for no ledger key (or took one already): ask for a new request")]
    NoRequest,
    /// The release does not open with the outstanding request's key and the policy's ledger
    /// key.
    #[error(
        "the release does not open: it answers another request or does not come from the deployment's ledger key"
    )]
    DoesNotOpen,
    /// A key whose public half is not the policy's.
    #[error("the ledger key given has public key {found}, [enclave.ledger] says {expected}")]
    WrongKey {
        /// The policy's.
        expected: X25519Public,
        /// The key's.
        found: X25519Public,
    },
}

/// The evidence nonce of a key request for `ephemeral`.
pub fn request_nonce(ephemeral: &X25519Public) -> Vec<u8> {
    [REQUEST_NONCE_PREFIX.as_slice(), ephemeral.0.as_slice()].concat()
}

/// The ephemeral key a key request's nonce carries.
fn requested_key(nonce: &[u8]) -> Option<X25519Public> {
    let key = nonce.strip_prefix(REQUEST_NONCE_PREFIX.as_slice())?;
    let key = X25519Public(key.try_into().ok()?);
    key.is_usable().then_some(key)
}

/// The measurement of verified evidence: dev, the binary's SHA-256; Nitro,
/// `keccak256(PCR0 || PCR1 || PCR2)`, or `None` if one of them is missing.
pub fn evidence_measurement(facts: &VerifiedEvidence) -> Option<B256> {
    match facts {
        VerifiedEvidence::Dev(dev) => Some(dev.measurement),
        VerifiedEvidence::Nitro(nitro) => {
            let mut pcrs = Vec::with_capacity(3 * 48);
            for index in 0..3 {
                pcrs.extend_from_slice(nitro.pcrs.get(&index)?);
            }
            Some(keccak256(pcrs))
        }
    }
}

fn nonce_of(facts: &VerifiedEvidence) -> Option<&[u8]> {
    match facts {
        VerifiedEvidence::Dev(dev) => Some(&dev.nonce),
        VerifiedEvidence::Nitro(nitro) => nitro.nonce.as_ref().map(|n| n.as_ref()),
    }
}

/// Checks a key request's evidence at `now` and seals `ledger_key` to the key it carries.
pub(crate) fn release(
    terms: &LedgerKeyPolicy,
    deployment_id: &B256,
    ledger_key: &X25519KeyPair,
    evidence: &Evidence,
    now: u64,
    checkpoints: Vec<LedgerCheckpoint>,
) -> Result<LedgerKeyRelease, KeyReleaseError> {
    let policy = EvidencePolicy {
        allow_dev: terms.allow_dev,
        max_age: terms.max_evidence_age,
        ..EvidencePolicy::default()
    };
    let facts = evidence
        .verify(&policy, now)
        .map_err(|e| KeyReleaseError::Evidence { reason: e.to_string() })?;
    let measurement = evidence_measurement(&facts).ok_or_else(|| KeyReleaseError::Evidence {
        reason: "the document lacks PCR0, PCR1 or PCR2".into(),
    })?;
    if !terms.measurements.contains(&measurement) {
        return Err(KeyReleaseError::NotListed { measurement });
    }
    let ephemeral = nonce_of(&facts).and_then(requested_key).ok_or(KeyReleaseError::NotARequest)?;
    let secret = ledger_key.secret_bytes();
    let sealed = seal::seal(
        Purpose::LedgerKey,
        deployment_id,
        SealedHeader { chain_selector: 0, counter: 0 },
        secret.as_slice(),
        ledger_key,
        &ephemeral,
    )
    .map_err(|_| KeyReleaseError::NotARequest)?;
    Ok(LedgerKeyRelease { sealed_key: sealed.into(), checkpoints })
}

/// Opens a release with the request's ephemeral key, expecting the policy's ledger key.
pub(crate) fn open(
    terms: &LedgerKeyPolicy,
    deployment_id: &B256,
    ephemeral: &X25519KeyPair,
    release: &LedgerKeyRelease,
) -> Result<X25519KeyPair, KeyReleaseError> {
    let (_, secret) = seal::open(
        Purpose::LedgerKey,
        deployment_id,
        &release.sealed_key,
        ephemeral,
        &terms.public_key,
    )
    .map_err(|_| KeyReleaseError::DoesNotOpen)?;
    let secret = zeroize::Zeroizing::new(
        <[u8; 32]>::try_from(secret.as_slice()).map_err(|_| KeyReleaseError::DoesNotOpen)?,
    );
    let key = X25519KeyPair::from_secret_bytes(*secret);
    check_key(terms, &key)?;
    Ok(key)
}

/// Checks that `key` is the policy's ledger key.
pub(crate) fn check_key(
    terms: &LedgerKeyPolicy,
    key: &X25519KeyPair,
) -> Result<(), KeyReleaseError> {
    if key.public() != terms.public_key {
        return Err(KeyReleaseError::WrongKey { expected: terms.public_key, found: key.public() });
    }
    Ok(())
}
