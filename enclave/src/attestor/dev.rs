//! `dev-insecure` evidence: the enclave signs a measurement of its own binary, its public keys,
//! the verifier's nonce and the time with its own secp256k1 key.
//!
//! This proves only that whoever holds the signer key said so — nothing about the machine or the
//! code that runs. It exists so the whole flow (request evidence, verify, register the signer)
//! can run on a laptop and in CI. Verifiers refuse it unless their policy allows dev evidence,
//! and every output that carries it says `insecure`.

use std::{fmt, fs::File, io, path::Path};

use alloy::{
    primitives::{B256, Bytes, keccak256},
    signers::{Signature, SignerSync, local::PrivateKeySigner},
    sol_types::SolValue,
};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Attestor, Evidence, EvidenceError, EvidenceKind, EvidencePolicy, MAX_NONCE_LEN, check_enclave,
    check_freshness, check_nonce, utc,
};
use crate::{EnclaveKeys, EnclavePublic};

/// The domain string hashed into every dev evidence digest.
const DEV_DOMAIN: &str = "self-healing-reserve/dev-insecure-evidence/v1";

/// Produces [`DevEvidence`]: insecure, for development and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevAttestor {
    measurement: B256,
}

impl DevAttestor {
    /// An attestor that reports the SHA-256 of the running binary.
    pub fn from_current_exe() -> Result<Self, EvidenceError> {
        Ok(Self { measurement: measure_current_exe()? })
    }

    /// An attestor that reports `measurement` (tests, or a binary measured elsewhere).
    pub fn with_measurement(measurement: B256) -> Self {
        Self { measurement }
    }

    /// The measurement this attestor reports.
    pub fn measurement(&self) -> B256 {
        self.measurement
    }
}

impl Attestor for DevAttestor {
    fn kind(&self) -> EvidenceKind {
        EvidenceKind::DevInsecure
    }

    fn attest(
        &self,
        keys: &EnclaveKeys,
        nonce: &[u8],
        now: u64,
    ) -> Result<Evidence, EvidenceError> {
        if nonce.len() > MAX_NONCE_LEN {
            return Err(EvidenceError::NonceTooLong { len: nonce.len(), max: MAX_NONCE_LEN });
        }
        let mut evidence = DevEvidence {
            insecure: true,
            measurement: self.measurement,
            enclave: keys.public(),
            nonce: Bytes::copy_from_slice(nonce),
            timestamp: now,
            signature: Bytes::new(),
        };
        // `AttestationSigner` signs only attestations; a local signer over the same secret signs
        // this domain-separated digest (see the module docs of `attestor`). Both copies of the
        // secret are wiped on drop.
        let signer = PrivateKeySigner::from_slice(keys.signer.secret_bytes().as_ref())
            .expect("an AttestationSigner holds a valid secp256k1 scalar");
        let signature = signer
            .sign_hash_sync(&evidence.digest())
            .expect("signing a 32-byte digest with a valid key cannot fail");
        evidence.signature = Bytes::copy_from_slice(&signature.as_bytes());
        Ok(Evidence::Dev(evidence))
    }
}

/// Software evidence signed by the enclave's own key. Insecure: see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevEvidence {
    /// Always `true`; JSON that says otherwise does not parse.
    #[serde(deserialize_with = "must_be_true")]
    pub insecure: bool,
    /// SHA-256 of the enclave binary.
    pub measurement: B256,
    /// The enclave's public keys.
    pub enclave: EnclavePublic,
    /// The verifier's nonce.
    pub nonce: Bytes,
    /// When it was produced, Unix seconds.
    pub timestamp: u64,
    /// 65 bytes `r || s || v` by `enclave.signer` over [`DevEvidence::digest`].
    pub signature: Bytes,
}

impl DevEvidence {
    /// The digest the signer signs (everything but the signature; see the module docs).
    pub fn digest(&self) -> B256 {
        keccak256(
            (
                DEV_DOMAIN,
                self.measurement,
                B256::from(self.enclave.hpke_public_key),
                self.enclave.signer,
                self.nonce.clone(),
                self.timestamp,
            )
                .abi_encode_params(),
        )
    }

    /// Verifies this evidence against `policy` at `now` (Unix seconds): dev evidence allowed,
    /// signature by the claimed signer, measurement, age, nonce and enclave keys as the policy
    /// expects.
    pub fn verify(&self, policy: &EvidencePolicy, now: u64) -> Result<DevFacts, EvidenceError> {
        let signer = self.enclave.signer;
        if !policy.allow_dev {
            return Err(EvidenceError::DevNotAllowed { signer });
        }
        if self.nonce.len() > MAX_NONCE_LEN {
            return Err(EvidenceError::NonceTooLong { len: self.nonce.len(), max: MAX_NONCE_LEN });
        }
        let bad = |reason: String| EvidenceError::DevSignature { signer, reason };
        let signature = Signature::try_from(self.signature.as_ref()).map_err(|_| {
            bad(format!("the signature is {} bytes, not r || s || v (65)", self.signature.len()))
        })?;
        let recovered = signature
            .recover_address_from_prehash(&self.digest())
            .map_err(|_| bad("the signature recovers no address".into()))?;
        if recovered != signer {
            return Err(bad(format!("the signature recovers {recovered}")));
        }
        if let Some(expected) = policy.measurement
            && expected != self.measurement
        {
            return Err(EvidenceError::MeasurementMismatch { expected, found: self.measurement });
        }
        check_freshness(
            EvidenceKind::DevInsecure,
            self.timestamp.saturating_mul(1000),
            policy,
            now,
        )?;
        check_nonce(policy, Some(&self.nonce))?;
        check_enclave(policy, Some(self.enclave.hpke_public_key.0.as_slice()), Some(signer), None)?;
        Ok(DevFacts {
            insecure: true,
            warning: DEV_WARNING,
            measurement: self.measurement,
            enclave: self.enclave,
            nonce: self.nonce.clone(),
            timestamp: self.timestamp,
        })
    }
}

const DEV_WARNING: &str = "INSECURE dev evidence: signed by the enclave's own key, it proves \
                           nothing about the machine or the code it runs";

/// What verified dev evidence shows — which is only what its signer claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DevFacts {
    /// Always `true`.
    pub insecure: bool,
    /// A sentence saying why this is insecure, for whoever reads the JSON.
    pub warning: &'static str,
    /// The claimed SHA-256 of the enclave binary.
    pub measurement: B256,
    /// The enclave's public keys (the signer is proven: it signed).
    pub enclave: EnclavePublic,
    /// The nonce.
    pub nonce: Bytes,
    /// When it was produced, Unix seconds.
    pub timestamp: u64,
}

impl fmt::Display for DevFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{DEV_WARNING}. Claimed: binary SHA-256 {}, HPKE key {}, signer {}, nonce 0x{}, at {}",
            self.measurement,
            self.enclave.hpke_public_key,
            self.enclave.signer,
            hex::encode(&self.nonce),
            utc(self.timestamp)
        )
    }
}

/// SHA-256 of the running binary (`std::env::current_exe()`).
pub fn measure_current_exe() -> Result<B256, EvidenceError> {
    let path = std::env::current_exe()
        .map_err(|source| EvidenceError::Measure { path: "<current exe>".into(), source })?;
    measure_file(&path)
}

/// SHA-256 of a file's contents, read in a stream.
pub fn measure_file(path: &Path) -> Result<B256, EvidenceError> {
    let io = |source| EvidenceError::Measure { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io)?;
    Ok(B256::from(<[u8; 32]>::from(hasher.finalize())))
}

fn must_be_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    if bool::deserialize(deserializer)? {
        Ok(true)
    } else {
        Err(serde::de::Error::custom("dev evidence is always insecure: `insecure` must be true"))
    }
}
