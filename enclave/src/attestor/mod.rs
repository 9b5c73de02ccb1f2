//! Evidence: what an enclave shows a verifier to prove which code runs it and which keys it
//! holds, and how that evidence is verified.
//!
//! An [`Attestor`] produces [`Evidence`] that binds the enclave's public keys
//! ([`EnclavePublic`]: the X25519 HPKE key reporters seal to and the secp256k1 signer the
//! contracts register) and a verifier's nonce. [`verify`] checks evidence against an
//! [`EvidencePolicy`] at a time the caller gives and returns [`VerifiedEvidence`]: plain facts,
//! serializable, that say what was proven.
//!
//! Two kinds exist:
//!
//! - **`aws-nitro`** ([`NitroAttestor`], [`NitroEvidence`]): an AWS Nitro Enclaves attestation
//!   document, a COSE_Sign1 (ES384) signed by a certificate that chains to the AWS Nitro root.
//!   Producing one needs the Nitro Security Module, which this build does not drive yet; verifying one
//!   works on any machine, offline, in this crate. The root is pinned by the SHA-256 of its DER
//!   ([`AWS_NITRO_ROOT_SHA256`]). Revocation (the CRL distribution points of the intermediate
//!   certificates) is not checked: this crate never touches the network.
//! - **`dev-insecure`** ([`DevAttestor`], [`DevEvidence`]): software evidence for development and
//!   tests. The enclave signs a measurement of its own binary with its own key, which proves
//!   nothing about the machine: anyone with the key can forge it. It is refused unless the policy
//!   sets [`EvidencePolicy::allow_dev`], and every output that carries it says `insecure`.
//!
//! # Binding the enclave's keys into a Nitro document
//!
//! A Nitro document has two fields the enclave chooses when it asks the NSM for a document:
//!
//! - `public_key` = the 32 bytes of the enclave's X25519 HPKE public key;
//! - `user_data` = the ASCII bytes `shr-enclave-v1:` followed by the 20 bytes of the enclave's
//!   signer address: 35 bytes in all ([`enclave_user_data`]; [`signer_from_user_data`] reads it).
//!
//! A verifier that expects a given enclave ([`EvidencePolicy::enclave`]) checks both fields; a
//! verifier that does not reports what it found ([`NitroFacts::enclave`] is set when both fields
//! follow this encoding), so documents from other software (whose `user_data` may be anything)
//! can still be inspected.
//!
//! # Dev evidence signature
//!
//! The enclave's signer signs, with no prefix, the 32-byte digest
//! `keccak256(abi.encode("self-healing-reserve/dev-insecure-evidence/v1", measurement,
//! hpkePublicKey, signer, nonce, timestamp))` with types `(string, bytes32, bytes32, address,
//! bytes, uint64)`. An ABI encoding that starts with a string offset can never equal the
//! `0x1901`-prefixed preimage of an EIP-712 attestation digest, so such a signature cannot be
//! replayed as an attestation.

mod chain;
mod cose;
mod dev;
mod error;
mod nitro;

use std::{collections::BTreeMap, fmt};

use alloy::primitives::{Address, B256, Bytes, b256};
use serde::{Deserialize, Serialize};

pub use dev::{DevAttestor, DevEvidence, DevFacts, measure_current_exe, measure_file};

pub use error::EvidenceError;
pub use nitro::{
    MAX_DOCUMENT_LEN, NitroAttestor, NitroEvidence, NitroFacts, verify_nitro_document,
};

use crate::{EnclaveKeys, EnclavePublic, X25519Public};

/// SHA-256 of the DER of the AWS Nitro Enclaves root certificate ("aws.nitro-enclaves", P-384,
/// valid 2019-10-28 to 2049-10-28), as AWS publishes it.
pub const AWS_NITRO_ROOT_SHA256: B256 =
    b256!("641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B");

/// The longest nonce evidence may carry (the NSM's own limit).
pub const MAX_NONCE_LEN: usize = 512;

/// The prefix of [`enclave_user_data`].
pub const ENCLAVE_USER_DATA_PREFIX: &[u8; 15] = b"shr-enclave-v1:";

/// Produces evidence for an enclave's keys. Narrow on purpose: the enclave asks for evidence, a
/// verifier elsewhere checks it with [`verify`].
pub trait Attestor {
    /// The kind of evidence this attestor produces.
    fn kind(&self) -> EvidenceKind;

    /// Evidence that binds the public halves of `keys` and the verifier's `nonce` (at most
    /// [`MAX_NONCE_LEN`] bytes), produced at `now` (Unix seconds) where the attestor keeps the
    /// time itself.
    fn attest(&self, keys: &EnclaveKeys, nonce: &[u8], now: u64)
    -> Result<Evidence, EvidenceError>;
}

/// Which kind of evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EvidenceKind {
    /// Software evidence signed by the enclave's own key: insecure, for development only.
    #[serde(rename = "dev-insecure")]
    DevInsecure,
    /// An AWS Nitro Enclaves attestation document.
    #[serde(rename = "aws-nitro")]
    AwsNitro,
}

impl EvidenceKind {
    /// The name used in JSON: `dev-insecure` or `aws-nitro`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DevInsecure => "dev-insecure",
            Self::AwsNitro => "aws-nitro",
        }
    }
}

impl fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Evidence as it travels: JSON with a `kind` tag (`dev-insecure` or `aws-nitro`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Evidence {
    /// Software evidence: insecure.
    #[serde(rename = "dev-insecure")]
    Dev(DevEvidence),
    /// An AWS Nitro attestation document.
    #[serde(rename = "aws-nitro")]
    Nitro(NitroEvidence),
}

impl Evidence {
    /// What registers this evidence on-chain (the contracts refuse a digest seen before): the
    /// signed digest of dev evidence, `keccak256` of a Nitro document. Both cover the nonce, so
    /// fresh evidence always has a fresh digest.
    pub fn fingerprint(&self) -> B256 {
        match self {
            Self::Dev(dev) => dev.digest(),
            Self::Nitro(nitro) => alloy::primitives::keccak256(&nitro.document),
        }
    }

    /// The kind of this evidence.
    pub fn kind(&self) -> EvidenceKind {
        match self {
            Self::Dev(_) => EvidenceKind::DevInsecure,
            Self::Nitro(_) => EvidenceKind::AwsNitro,
        }
    }

    /// Verifies this evidence; see [`verify`].
    pub fn verify(
        &self,
        policy: &EvidencePolicy,
        now: u64,
    ) -> Result<VerifiedEvidence, EvidenceError> {
        verify(self, policy, now)
    }
}

/// What a verifier requires of evidence.
///
/// The default is strict where it can be: dev evidence refused, the AWS root pinned, documents
/// at most five minutes old. It cannot know which enclave image to expect: set
/// [`EvidencePolicy::pcrs`] (Nitro) or [`EvidencePolicy::measurement`] (dev) to accept only that
/// code, otherwise any enclave passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidencePolicy {
    /// Accept `dev-insecure` evidence. Never in production.
    pub allow_dev: bool,
    /// Oldest acceptable evidence, in seconds before now.
    pub max_age: u64,
    /// How far in the future evidence may be dated, in seconds (clock skew).
    pub max_clock_skew: u64,
    /// SHA-256 of the DER of the only trusted Nitro root certificate.
    pub nitro_root_sha256: B256,
    /// Expected Nitro PCR values by index; PCRs not listed are not checked.
    pub pcrs: BTreeMap<u8, Bytes>,
    /// Expected dev measurement (SHA-256 of the enclave binary), if any.
    pub measurement: Option<B256>,
    /// The nonce the verifier sent, if any; evidence must carry exactly it.
    pub nonce: Option<Bytes>,
    /// The enclave the evidence must speak for, if any.
    pub enclave: Option<EnclavePublic>,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self {
            allow_dev: false,
            max_age: 300,
            max_clock_skew: 60,
            nitro_root_sha256: AWS_NITRO_ROOT_SHA256,
            pcrs: BTreeMap::new(),
            measurement: None,
            nonce: None,
            enclave: None,
        }
    }
}

/// Facts proven by evidence that verified. JSON carries `kind` and `insecure`; `Display` of dev
/// facts starts with `INSECURE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum VerifiedEvidence {
    /// Dev evidence: proves only that the holder of the signer key said so.
    #[serde(rename = "dev-insecure")]
    Dev(DevFacts),
    /// A Nitro document that chains to the pinned root.
    #[serde(rename = "aws-nitro")]
    Nitro(NitroFacts),
}

impl VerifiedEvidence {
    /// The kind of evidence that was verified.
    pub fn kind(&self) -> EvidenceKind {
        match self {
            Self::Dev(_) => EvidenceKind::DevInsecure,
            Self::Nitro(_) => EvidenceKind::AwsNitro,
        }
    }

    /// Whether the evidence proves nothing about the hardware (dev evidence).
    pub fn is_insecure(&self) -> bool {
        matches!(self, Self::Dev(_))
    }

    /// The enclave keys the evidence binds, when it binds them in this project's encoding.
    pub fn enclave(&self) -> Option<EnclavePublic> {
        match self {
            Self::Dev(facts) => Some(facts.enclave),
            Self::Nitro(facts) => facts.enclave,
        }
    }
}

impl fmt::Display for VerifiedEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dev(facts) => facts.fmt(f),
            Self::Nitro(facts) => facts.fmt(f),
        }
    }
}

/// Verifies `evidence` against `policy` at `now` (Unix seconds).
pub fn verify(
    evidence: &Evidence,
    policy: &EvidencePolicy,
    now: u64,
) -> Result<VerifiedEvidence, EvidenceError> {
    match evidence {
        Evidence::Dev(dev) => dev.verify(policy, now).map(VerifiedEvidence::Dev),
        Evidence::Nitro(nitro) => {
            verify_nitro_document(&nitro.document, policy, now).map(VerifiedEvidence::Nitro)
        }
    }
}

/// The Nitro `user_data` that binds `signer`: [`ENCLAVE_USER_DATA_PREFIX`] then the 20 address
/// bytes.
pub fn enclave_user_data(signer: Address) -> [u8; 35] {
    let mut out = [0u8; 35];
    out[..15].copy_from_slice(ENCLAVE_USER_DATA_PREFIX);
    out[15..].copy_from_slice(signer.as_slice());
    out
}

/// The signer address in a `user_data` made by [`enclave_user_data`]; `None` for anything else.
pub fn signer_from_user_data(user_data: &[u8]) -> Option<Address> {
    let address = user_data.strip_prefix(ENCLAVE_USER_DATA_PREFIX.as_slice())?;
    (address.len() == 20).then(|| Address::from_slice(address))
}

/// The enclave a Nitro `public_key` and `user_data` bind, if both follow the encoding above.
fn enclave_from_binding(
    public_key: Option<&[u8]>,
    user_data: Option<&[u8]>,
) -> Option<EnclavePublic> {
    let hpke_public_key = X25519Public(public_key?.try_into().ok()?);
    let signer = signer_from_user_data(user_data?)?;
    Some(EnclavePublic { hpke_public_key, signer })
}

/// Checks the evidence's time (`issued_at_ms`, Unix milliseconds) against `now` (Unix seconds).
fn check_freshness(
    kind: EvidenceKind,
    issued_at_ms: u64,
    policy: &EvidencePolicy,
    now: u64,
) -> Result<(), EvidenceError> {
    let now_ms = now.saturating_mul(1000);
    let issued_at = issued_at_ms / 1000;
    if issued_at_ms > now_ms.saturating_add(policy.max_clock_skew.saturating_mul(1000)) {
        return Err(EvidenceError::FromTheFuture {
            kind,
            issued_at,
            now,
            max_skew: policy.max_clock_skew,
        });
    }
    if issued_at_ms.saturating_add(policy.max_age.saturating_mul(1000)) < now_ms {
        return Err(EvidenceError::TooOld { kind, issued_at, now, max_age: policy.max_age });
    }
    Ok(())
}

/// Checks the evidence's nonce against the one the policy expects.
fn check_nonce(policy: &EvidencePolicy, found: Option<&[u8]>) -> Result<(), EvidenceError> {
    let Some(expected) = &policy.nonce else { return Ok(()) };
    match found {
        None => Err(EvidenceError::NonceMissing { expected: expected.clone() }),
        Some(found) if found != expected.as_ref() => Err(EvidenceError::NonceMismatch {
            expected: expected.clone(),
            found: Bytes::copy_from_slice(found),
        }),
        Some(_) => Ok(()),
    }
}

/// Checks that `found` is the enclave the policy expects.
fn check_enclave(
    policy: &EvidencePolicy,
    found_hpke: Option<&[u8]>,
    found_signer: Option<Address>,
    found_user_data: Option<&[u8]>,
) -> Result<(), EvidenceError> {
    let Some(expected) = &policy.enclave else { return Ok(()) };
    if found_hpke != Some(expected.hpke_public_key.0.as_slice()) {
        return Err(EvidenceError::KeyBinding {
            what: "HPKE public key (public_key)",
            expected: expected.hpke_public_key.to_string(),
            found: found_hpke.map_or_else(|| "nothing".into(), show_bytes),
        });
    }
    if found_signer != Some(expected.signer) {
        return Err(EvidenceError::KeyBinding {
            what: "signer address (user_data)",
            expected: expected.signer.to_string(),
            found: match (found_signer, found_user_data) {
                (Some(signer), _) => signer.to_string(),
                (None, Some(data)) => {
                    format!("{} (not the shr-enclave-v1 encoding)", show_bytes(data))
                }
                (None, None) => "nothing".into(),
            },
        });
    }
    Ok(())
}

/// `0x`-hex of at most 64 bytes, for error messages.
fn show_bytes(bytes: &[u8]) -> String {
    if bytes.len() <= 64 {
        format!("0x{}", hex::encode(bytes))
    } else {
        format!("0x{}… ({} bytes)", hex::encode(&bytes[..64]), bytes.len())
    }
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ` (or raw seconds past year 9999).
fn utc(secs: u64) -> String {
    x509_cert::der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_or_else(|_| format!("{secs} (Unix seconds)"), |t| t.to_string())
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 in UTC, whole seconds) to Unix seconds.
pub fn parse_utc(text: &str) -> Option<u64> {
    text.trim().parse::<x509_cert::der::DateTime>().ok().map(|t| t.unix_duration().as_secs())
}
