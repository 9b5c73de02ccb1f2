//! `aws-nitro` evidence: AWS Nitro Enclaves attestation documents.
//!
//! A document is a COSE_Sign1 (ES384) whose payload is a CBOR map: `module_id`, `digest`,
//! `timestamp` (Unix ms), `pcrs`, `certificate` (the leaf, whose key signs the COSE), `cabundle`
//! (root first), and the optional `public_key`, `user_data` and `nonce` the enclave asked the NSM
//! to include. [`verify_nitro_document`] checks all of it offline; producing a document needs the
//! Nitro Security Module, which only exists inside an enclave (not implemented yet).

use std::{collections::BTreeMap, fmt};

use alloy::primitives::{B256, Bytes};
use ciborium::value::Value;
use p384::ecdsa::{Signature, signature::Verifier};
use serde::{Deserialize, Serialize};

use super::{
    Attestor, Evidence, EvidenceError, EvidenceKind, EvidencePolicy, MAX_NONCE_LEN,
    chain::verify_chain,
    check_enclave, check_freshness, check_nonce,
    cose::{CoseSign1, bytes_of, decode, kind, malformed, u64_of},
    enclave_from_binding, signer_from_user_data, utc,
};
use crate::{EnclaveKeys, EnclavePublic};

/// No Nitro document is this large: 16 certificates of at most 1 KiB, 32 PCRs and small fields.
pub const MAX_DOCUMENT_LEN: usize = 32 * 1024;
/// More CA certificates than this is not a Nitro chain (AWS uses four).
const MAX_CABUNDLE: usize = 16;
/// The NSM's limit on a certificate, a public key.
const MAX_CERT_LEN: usize = 1024;
/// The NSM's limit on `user_data`.
const MAX_USER_DATA_LEN: usize = 512;

/// Would produce [`NitroEvidence`] through the Nitro Security Module.
///
/// Not implemented yet: the NSM request (an ioctl on `/dev/nsm`, inside an enclave) is not
/// written, so this attestor always answers that it cannot produce a document. Verifying Nitro
/// documents is implemented and needs no NSM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NitroAttestor;

impl NitroAttestor {
    /// The attestor.
    pub fn new() -> Self {
        Self
    }
}

impl Attestor for NitroAttestor {
    fn kind(&self) -> EvidenceKind {
        EvidenceKind::AwsNitro
    }

    fn attest(
        &self,
        _keys: &EnclaveKeys,
        nonce: &[u8],
        _now: u64,
    ) -> Result<Evidence, EvidenceError> {
        if nonce.len() > MAX_NONCE_LEN {
            return Err(EvidenceError::NonceTooLong { len: nonce.len(), max: MAX_NONCE_LEN });
        }
        // Once implemented: ask the NSM for a document with `public_key` = the HPKE key,
        // `user_data` = `enclave_user_data(signer)` and `nonce`; the NSM stamps the time itself.
        Err(EvidenceError::NitroUnavailable {
            reason: "this build does not implement the Nitro Security Module request: it \
                     verifies Nitro documents but cannot produce one; use the dev attestor",
        })
    }
}

/// An AWS Nitro attestation document, as the NSM returned it (JSON: 0x-hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NitroEvidence {
    /// The raw COSE_Sign1 bytes.
    pub document: Bytes,
}

/// What a verified Nitro document proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NitroFacts {
    /// Always `false`: the hardware vouches for these facts.
    pub insecure: bool,
    /// The enclave instance, e.g. `i-0df237f0418feb41e-enc018d1c7ef94eb110`.
    pub module_id: String,
    /// When the NSM produced the document, Unix milliseconds.
    pub timestamp_ms: u64,
    /// The PCR hash, `SHA384`.
    pub digest: String,
    /// Every PCR in the document, by index.
    pub pcrs: BTreeMap<u8, Bytes>,
    /// `public_key`, if any: the enclave's HPKE key when it follows this project's binding.
    pub public_key: Option<Bytes>,
    /// `user_data`, if any: the enclave's signer when it follows this project's binding.
    pub user_data: Option<Bytes>,
    /// `nonce`, if any.
    pub nonce: Option<Bytes>,
    /// The SHA-256 of the root certificate the chain ends in.
    pub root_sha256: B256,
    /// The earliest `notAfter` of the chain, Unix seconds: the document proves nothing after it.
    pub certificates_valid_until: u64,
    /// The enclave keys `public_key` and `user_data` bind, when both follow the binding.
    pub enclave: Option<EnclavePublic>,
}

impl fmt::Display for NitroFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AWS Nitro attestation (hardware-backed, root SHA-256 {}): module {}, at {}",
            self.root_sha256,
            self.module_id,
            utc(self.timestamp_ms / 1000)
        )?;
        for index in 0..3 {
            if let Some(pcr) = self.pcrs.get(&index) {
                write!(f, ", PCR{index} {pcr}")?;
            }
        }
        match &self.enclave {
            Some(e) => write!(f, ", HPKE key {}, signer {}", e.hpke_public_key, e.signer)?,
            None => f.write_str(", no enclave keys bound")?,
        }
        match &self.nonce {
            Some(nonce) => write!(f, ", nonce {nonce}"),
            None => f.write_str(", no nonce"),
        }
    }
}

/// Verifies an AWS Nitro attestation document against `policy` at `now` (Unix seconds): COSE
/// structure and ES384, the certificate chain to the pinned root (signatures, names, CA
/// constraints, validity at `now`), the COSE signature by the leaf, the document's age, and the
/// PCRs, nonce and enclave keys the policy expects.
pub fn verify_nitro_document(
    document: &[u8],
    policy: &EvidencePolicy,
    now: u64,
) -> Result<NitroFacts, EvidenceError> {
    if document.len() > MAX_DOCUMENT_LEN {
        return Err(EvidenceError::TooLarge { len: document.len(), max: MAX_DOCUMENT_LEN });
    }
    let cose = CoseSign1::parse(document)?;
    let doc = Document::parse(&cose.payload)?;
    let chain = verify_chain(&doc.cabundle, &doc.certificate, &policy.nitro_root_sha256, now)?;

    if cose.signature.len() != 96 {
        return Err(malformed(
            "COSE_Sign1[3] (signature)",
            format!("{} bytes, ES384 signatures are 96 (r || s)", cose.signature.len()),
        ));
    }
    let bad_signature = || EvidenceError::CoseSignature { module_id: doc.module_id.clone() };
    let signature = Signature::from_slice(&cose.signature).map_err(|_| bad_signature())?;
    chain.leaf_key.verify(&cose.to_be_signed(), &signature).map_err(|_| bad_signature())?;

    check_freshness(EvidenceKind::AwsNitro, doc.timestamp, policy, now)?;
    for (&index, expected) in &policy.pcrs {
        let found = doc.pcrs.get(&index).ok_or(EvidenceError::PcrMissing { index })?;
        if found.as_slice() != expected.as_ref() {
            return Err(EvidenceError::PcrMismatch {
                index,
                expected: expected.clone(),
                found: Bytes::copy_from_slice(found),
            });
        }
    }
    check_nonce(policy, doc.nonce.as_deref())?;
    let user_data = doc.user_data.as_deref();
    check_enclave(
        policy,
        doc.public_key.as_deref(),
        user_data.and_then(signer_from_user_data),
        user_data,
    )?;

    Ok(NitroFacts {
        insecure: false,
        enclave: enclave_from_binding(doc.public_key.as_deref(), user_data),
        module_id: doc.module_id,
        timestamp_ms: doc.timestamp,
        digest: doc.digest,
        pcrs: doc.pcrs.into_iter().map(|(i, v)| (i, Bytes::from(v))).collect(),
        public_key: doc.public_key.map(Bytes::from),
        user_data: doc.user_data.map(Bytes::from),
        nonce: doc.nonce.map(Bytes::from),
        root_sha256: chain.root_sha256,
        certificates_valid_until: chain.valid_until,
    })
}

/// The payload of a COSE_Sign1 from the NSM, checked against the NSM's own constraints.
struct Document {
    module_id: String,
    digest: String,
    timestamp: u64,
    pcrs: BTreeMap<u8, Vec<u8>>,
    certificate: Vec<u8>,
    cabundle: Vec<Vec<u8>>,
    public_key: Option<Vec<u8>>,
    user_data: Option<Vec<u8>>,
    nonce: Option<Vec<u8>>,
}

impl Document {
    fn parse(payload: &[u8]) -> Result<Self, EvidenceError> {
        let Value::Map(entries) = decode(payload, "payload")? else {
            return Err(malformed("payload", "not a map".into()));
        };
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        for (key, value) in entries {
            let Value::Text(key) = key else {
                return Err(malformed("payload", format!("{} as a map key", kind(&key))));
            };
            if fields.contains_key(&key) {
                return Err(malformed(format!("payload.{key}"), "appears twice".into()));
            }
            fields.insert(key, value);
        }
        let mut take = |name: &'static str| {
            fields
                .remove(name)
                .ok_or_else(|| malformed(format!("payload.{name}"), "missing".into()))
        };

        let module_id = match take("module_id")? {
            Value::Text(id) if !id.is_empty() => id,
            other => return Err(expected("payload.module_id", "a non-empty text string", &other)),
        };
        let digest = match take("digest")? {
            Value::Text(digest) if digest == "SHA384" => digest,
            Value::Text(digest) => {
                return Err(EvidenceError::UnsupportedAlgorithm {
                    at: "payload.digest".into(),
                    found: digest,
                    expected: "SHA384",
                });
            }
            other => return Err(expected("payload.digest", "a text string", &other)),
        };
        let timestamp = u64_of(&take("timestamp")?, "payload.timestamp")?;
        if timestamp == 0 {
            return Err(malformed("payload.timestamp", "zero".into()));
        }
        let pcrs = parse_pcrs(take("pcrs")?)?;
        let certificate = sized(take("certificate")?, "payload.certificate", 1, MAX_CERT_LEN)?;
        let cabundle = match take("cabundle")? {
            Value::Array(certs) if (1..=MAX_CABUNDLE).contains(&certs.len()) => certs
                .into_iter()
                .enumerate()
                .map(|(i, c)| sized(c, &format!("payload.cabundle[{i}]"), 1, MAX_CERT_LEN))
                .collect::<Result<Vec<_>, _>>()?,
            Value::Array(certs) => {
                return Err(malformed(
                    "payload.cabundle",
                    format!("{} certificates, expected 1 to {MAX_CABUNDLE}", certs.len()),
                ));
            }
            other => return Err(expected("payload.cabundle", "an array", &other)),
        };
        let mut optional = |name: &'static str, min: usize, max: usize| match fields.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => sized(value, &format!("payload.{name}"), min, max).map(Some),
        };
        Ok(Self {
            module_id,
            digest,
            timestamp,
            pcrs,
            certificate,
            cabundle,
            public_key: optional("public_key", 1, MAX_CERT_LEN)?,
            user_data: optional("user_data", 0, MAX_USER_DATA_LEN)?,
            nonce: optional("nonce", 0, MAX_NONCE_LEN)?,
        })
    }
}

/// `pcrs`: 1 to 32 entries, index 0–31 → 32, 48 or 64 bytes.
fn parse_pcrs(value: Value) -> Result<BTreeMap<u8, Vec<u8>>, EvidenceError> {
    let Value::Map(entries) = value else {
        return Err(expected("payload.pcrs", "a map", &value));
    };
    if !(1..=32).contains(&entries.len()) {
        return Err(malformed(
            "payload.pcrs",
            format!("{} entries, expected 1 to 32", entries.len()),
        ));
    }
    let mut pcrs = BTreeMap::new();
    for (index, value) in entries {
        let index = u64_of(&index, "payload.pcrs key")?;
        let index = u8::try_from(index).ok().filter(|i| *i < 32).ok_or_else(|| {
            malformed("payload.pcrs", format!("PCR index {index}, expected 0 to 31"))
        })?;
        let at = format!("payload.pcrs[{index}]");
        let value = bytes_of(value, &at)?;
        if ![32, 48, 64].contains(&value.len()) {
            return Err(malformed(at, format!("{} bytes, expected 32, 48 or 64", value.len())));
        }
        if pcrs.insert(index, value).is_some() {
            return Err(malformed(at, "appears twice".into()));
        }
    }
    Ok(pcrs)
}

/// A byte string of `min..=max` bytes.
fn sized(value: Value, at: &str, min: usize, max: usize) -> Result<Vec<u8>, EvidenceError> {
    let bytes = bytes_of(value, at)?;
    if !(min..=max).contains(&bytes.len()) {
        return Err(malformed(at, format!("{} bytes, expected {min} to {max}", bytes.len())));
    }
    Ok(bytes)
}

/// A [`EvidenceError::Malformed`] for a value of the wrong type.
fn expected(at: &str, what: &str, found: &Value) -> EvidenceError {
    malformed(at, format!("{}, expected {what}", kind(found)))
}
