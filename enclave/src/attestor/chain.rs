//! The certificate chain of a Nitro document: `cabundle[0]` (the root, pinned by the SHA-256 of
//! its DER), then each `cabundle[i]` issued by the one before, then the leaf `certificate` issued
//! by the last. Every certificate must be valid at the verification time.
//!
//! AWS signs the whole chain with ECDSA P-384 / SHA-384 (`ecdsa-with-SHA384`, P-384 keys), so
//! that is the only algorithm accepted. Beyond signatures and validity, each link checks what
//! RFC 5280 path validation checks that matters here: the child's issuer name is the issuer's
//! subject name, the issuer is a CA (`basicConstraints cA`) within its path length and may sign
//! certificates (`keyUsage keyCertSign`, when present), and no certificate carries a critical
//! extension this verifier does not understand. Revocation is not checked (no network).

use alloy::primitives::B256;
use p384::ecdsa::{Signature, VerifyingKey, signature::Verifier};
use sha2::{Digest, Sha256};
use x509_cert::{
    Certificate,
    der::{Decode, Header, Reader, SliceReader, asn1::ObjectIdentifier, oid::AssociatedOid},
    ext::pkix::{BasicConstraints, KeyUsage},
};

use super::EvidenceError;

/// `ecdsa-with-SHA384` (RFC 5758).
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// `id-ecPublicKey` (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp384r1` (RFC 5480).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A chain that verified.
pub(super) struct VerifiedChain {
    /// The leaf certificate's key: it signs the COSE_Sign1.
    pub(super) leaf_key: VerifyingKey,
    /// The SHA-256 of the root's DER.
    pub(super) root_sha256: B256,
    /// The earliest `notAfter` in the chain, Unix seconds.
    pub(super) valid_until: u64,
}

/// One parsed certificate, with the exact bytes its issuer signed.
struct Parsed<'a> {
    which: String,
    cert: Certificate,
    tbs: &'a [u8],
    key: VerifyingKey,
}

/// Verifies `cabundle` (root first) and `leaf` against the pinned root at `now` (Unix seconds).
pub(super) fn verify_chain(
    cabundle: &[Vec<u8>],
    leaf: &[u8],
    root_sha256: &B256,
    now: u64,
) -> Result<VerifiedChain, EvidenceError> {
    let Some(root) = cabundle.first() else {
        return Err(super::cose::malformed("payload.cabundle", "empty".into()));
    };
    let found = B256::from(<[u8; 32]>::from(Sha256::digest(root)));
    if found != *root_sha256 {
        return Err(EvidenceError::UntrustedRoot { expected: *root_sha256, found });
    }
    let last = cabundle.len();
    let certs = cabundle
        .iter()
        .map(Vec::as_slice)
        .chain(std::iter::once(leaf))
        .enumerate()
        .map(|(i, der)| {
            let which = if i == last {
                "certificate (leaf)".to_owned()
            } else if i == 0 {
                "cabundle[0] (root)".to_owned()
            } else {
                format!("cabundle[{i}]")
            };
            parse(which, der)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut valid_until = u64::MAX;
    for cert in &certs {
        let validity = &cert.cert.tbs_certificate.validity;
        let not_before = validity.not_before.to_unix_duration().as_secs();
        let not_after = validity.not_after.to_unix_duration().as_secs();
        if now < not_before || now > not_after {
            return Err(EvidenceError::CertificateNotValid {
                which: cert.which.clone(),
                not_before,
                not_after,
                now,
            });
        }
        valid_until = valid_until.min(not_after);
    }

    for i in 1..certs.len() {
        let (issuer, child) = (&certs[i - 1], &certs[i]);
        // Intermediate CAs between the issuer and the leaf, which its pathLenConstraint bounds.
        let below = last - i;
        check_link(issuer, child, below)?;
        let signature = Signature::from_der(child.cert.signature.raw_bytes()).map_err(|_| {
            EvidenceError::ChainSignature {
                which: child.which.clone(),
                issuer: issuer.which.clone(),
            }
        })?;
        issuer.key.verify(child.tbs, &signature).map_err(|_| EvidenceError::ChainSignature {
            which: child.which.clone(),
            issuer: issuer.which.clone(),
        })?;
    }

    // `certs` holds the cabundle (at least the root) and then the leaf.
    let leaf = &certs[last];
    if let Some(usage) = extension::<KeyUsage>(leaf)?
        && !usage.digital_signature()
    {
        return Err(EvidenceError::ChainLink {
            which: leaf.which.clone(),
            issuer: certs[last - 1].which.clone(),
            reason: "its keyUsage does not allow digitalSignature, so it cannot sign documents"
                .into(),
        });
    }
    Ok(VerifiedChain { leaf_key: leaf.key, root_sha256: found, valid_until })
}

/// Parses a certificate and its P-384 key, and checks its algorithms and critical extensions.
fn parse(which: String, der: &[u8]) -> Result<Parsed<'_>, EvidenceError> {
    let invalid = |which: &str, reason: String| EvidenceError::Certificate {
        which: which.to_owned(),
        reason,
    };
    let cert = Certificate::from_der(der).map_err(|e| invalid(&which, e.to_string()))?;
    // The issuer signed these exact bytes; re-encoding the parsed value could differ.
    let tbs = tbs_bytes(der).map_err(|e| invalid(&which, e.to_string()))?;

    let algorithm = &cert.signature_algorithm;
    if algorithm.oid != ECDSA_WITH_SHA384 || algorithm.parameters.is_some() {
        return Err(EvidenceError::UnsupportedAlgorithm {
            at: format!("{which} signatureAlgorithm"),
            found: algorithm.oid.to_string(),
            expected: "ecdsa-with-SHA384 (1.2.840.10045.4.3.3)",
        });
    }
    if cert.tbs_certificate.signature != *algorithm {
        return Err(invalid(
            &which,
            "tbsCertificate.signature differs from signatureAlgorithm".into(),
        ));
    }

    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve =
        spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(SECP384R1) {
        return Err(EvidenceError::UnsupportedAlgorithm {
            at: format!("{which} subjectPublicKeyInfo"),
            found: match curve {
                Some(curve) => format!("{} on {curve}", spki.algorithm.oid),
                None => spki.algorithm.oid.to_string(),
            },
            expected: "id-ecPublicKey on secp384r1 (P-384)",
        });
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| invalid(&which, "the public key is not a whole number of bytes".into()))?;
    let key = VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| invalid(&which, "the public key is not a point on P-384".into()))?;

    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.critical && ext.extn_id != BasicConstraints::OID && ext.extn_id != KeyUsage::OID {
            return Err(invalid(
                &which,
                format!("critical extension {} is not understood by this verifier", ext.extn_id),
            ));
        }
    }
    Ok(Parsed { which, cert, tbs, key })
}

/// Checks that `issuer` may have issued `child`, with `below` intermediate CAs under `issuer`.
fn check_link(issuer: &Parsed<'_>, child: &Parsed<'_>, below: usize) -> Result<(), EvidenceError> {
    let broken = |reason: String| EvidenceError::ChainLink {
        which: child.which.clone(),
        issuer: issuer.which.clone(),
        reason,
    };
    let (issuer_name, subject) =
        (&child.cert.tbs_certificate.issuer, &issuer.cert.tbs_certificate.subject);
    if issuer_name != subject {
        return Err(broken(format!(
            "its issuer is \"{issuer_name}\", the issuer's subject is \"{subject}\""
        )));
    }
    match extension::<BasicConstraints>(issuer)? {
        Some(BasicConstraints { ca: true, path_len_constraint }) => {
            if let Some(max) = path_len_constraint
                && below > usize::from(max)
            {
                return Err(broken(format!(
                    "the issuer allows {max} CA certificates below it, the chain has {below}"
                )));
            }
        }
        _ => return Err(broken("the issuer is not a CA (basicConstraints cA is not set)".into())),
    }
    if let Some(usage) = extension::<KeyUsage>(issuer)?
        && !usage.key_cert_sign()
    {
        return Err(broken("the issuer's keyUsage does not allow keyCertSign".into()));
    }
    Ok(())
}

/// The extension `T` of a certificate, if present once; an error if malformed or repeated.
fn extension<'a, T: Decode<'a> + AssociatedOid>(
    cert: &'a Parsed<'_>,
) -> Result<Option<T>, EvidenceError> {
    cert.cert.tbs_certificate.get::<T>().map(|found| found.map(|(_, value)| value)).map_err(|e| {
        EvidenceError::Certificate {
            which: cert.which.clone(),
            reason: format!("extension {}: {e}", T::OID),
        }
    })
}

/// The DER of the `tbsCertificate` inside a certificate's DER.
fn tbs_bytes(der: &[u8]) -> x509_cert::der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    Header::decode(&mut reader)?;
    reader.tlv_bytes()
}
