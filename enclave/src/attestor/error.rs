//! Why evidence was not produced or did not verify: one variant per failure, each with the
//! context needed to act on it.

use std::path::PathBuf;

use alloy::primitives::{Address, B256, Bytes};

use super::{EvidenceKind, utc};

/// Why evidence was not produced or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The document is larger than any attestation document the NSM produces.
    #[error(
        "attestation document: {len} bytes, more than the {max} a Nitro document can have; \
         pass the raw COSE_Sign1 bytes, not a file or an encoding of them"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not well-formed CBOR, COSE_Sign1 or an attestation document.
    #[error(
        "attestation document: {at}: {reason}; it is not an AWS Nitro attestation document \
         (pass the raw bytes the NSM returned, not base64 or hex)"
    )]
    Malformed {
        /// Where in the document: `COSE_Sign1[2] (payload)`, `payload.pcrs[3]`, ...
        at: String,
        /// What is wrong there.
        reason: String,
    },
    /// An algorithm this verifier does not accept.
    #[error("{at}: algorithm {found} is not supported (expected {expected})")]
    UnsupportedAlgorithm {
        /// Where it was found.
        at: String,
        /// The algorithm found (a COSE label or an OID).
        found: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The COSE_Sign1 signature does not verify with the leaf certificate's key.
    #[error(
        "attestation document of {module_id}: the COSE signature does not verify with the key of \
         its certificate; the document was altered or not signed by that enclave — request a new one"
    )]
    CoseSignature {
        /// The `module_id` the document claims.
        module_id: String,
    },
    /// A certificate cannot be parsed as X.509 DER.
    #[error("{which}: not a valid X.509 certificate ({reason})")]
    Certificate {
        /// Which certificate: `cabundle[i]` or `certificate` (the leaf).
        which: String,
        /// The parse error.
        reason: String,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error(
        "{which}: its signature does not verify with the key of {issuer}; the certificate chain \
         was altered or assembled from different chains"
    )]
    ChainSignature {
        /// Which certificate.
        which: String,
        /// The certificate whose key should have signed it.
        issuer: String,
    },
    /// A certificate cannot follow the previous one in the chain (names, CA constraints).
    #[error("{which}: cannot be issued by {issuer}: {reason}")]
    ChainLink {
        /// Which certificate.
        which: String,
        /// Its would-be issuer.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// The root of the chain is not the pinned root.
    #[error(
        "cabundle[0]: root certificate SHA-256 is {found}, not the trusted {expected}; the document \
         does not chain to the AWS Nitro root (set EvidencePolicy::nitro_root_sha256 only for tests)"
    )]
    UntrustedRoot {
        /// The pinned fingerprint.
        expected: B256,
        /// The fingerprint of `cabundle[0]`.
        found: B256,
    },
    /// A certificate is not valid at the verification time.
    #[error(
        "{which}: valid from {} to {}, not at {}; request a fresh attestation document or check \
         the verifier's clock",
        utc(*not_before), utc(*not_after), utc(*now)
    )]
    CertificateNotValid {
        /// Which certificate.
        which: String,
        /// Start of its validity, Unix seconds.
        not_before: u64,
        /// End of its validity, Unix seconds.
        not_after: u64,
        /// The verification time, Unix seconds.
        now: u64,
    },
    /// The evidence is older than the policy allows.
    #[error(
        "{kind} evidence issued at {}, more than {max_age} s before now ({}); request fresh evidence",
        utc(*issued_at), utc(*now)
    )]
    TooOld {
        /// The kind of evidence.
        kind: EvidenceKind,
        /// When it was issued, Unix seconds.
        issued_at: u64,
        /// The verification time, Unix seconds.
        now: u64,
        /// The policy's limit, seconds.
        max_age: u64,
    },
    /// The evidence is dated in the future.
    #[error(
        "{kind} evidence issued at {}, more than {max_skew} s after now ({}); check the clocks of \
         the enclave and the verifier",
        utc(*issued_at), utc(*now)
    )]
    FromTheFuture {
        /// The kind of evidence.
        kind: EvidenceKind,
        /// When it claims to be issued, Unix seconds.
        issued_at: u64,
        /// The verification time, Unix seconds.
        now: u64,
        /// The tolerated skew, seconds.
        max_skew: u64,
    },
    /// A PCR the policy expects is not in the document.
    #[error(
        "PCR{index} is not in the attestation document; the policy expects it — check the index"
    )]
    PcrMissing {
        /// The PCR index.
        index: u8,
    },
    /// A PCR differs from the expected value: the enclave runs other code.
    #[error(
        "PCR{index} is {found}, expected {expected}; the enclave runs another image — rebuild it \
         reproducibly or update the expected PCRs"
    )]
    PcrMismatch {
        /// The PCR index.
        index: u8,
        /// The expected value.
        expected: Bytes,
        /// The value in the document.
        found: Bytes,
    },
    /// The policy expects a nonce and the evidence has none.
    #[error("the evidence carries no nonce, expected {expected}; request evidence with the nonce")]
    NonceMissing {
        /// The expected nonce.
        expected: Bytes,
    },
    /// The evidence carries another nonce: it answers another request or is replayed.
    #[error(
        "the evidence carries nonce {found}, expected {expected}; it answers another request or \
         is replayed — request evidence with this nonce"
    )]
    NonceMismatch {
        /// The expected nonce.
        expected: Bytes,
        /// The nonce in the evidence.
        found: Bytes,
    },
    /// The evidence does not bind the expected enclave key.
    #[error(
        "the evidence binds {what} {found}, expected {expected}; it comes from another enclave or \
         was produced without binding this enclave's keys"
    )]
    KeyBinding {
        /// Which key.
        what: &'static str,
        /// The expected value.
        expected: String,
        /// What the evidence holds.
        found: String,
    },
    /// The dev measurement differs from the expected one: another binary produced it.
    #[error(
        "dev-insecure evidence measures the binary as {found}, expected {expected}; another build \
         produced it — update the expected measurement"
    )]
    MeasurementMismatch {
        /// The expected SHA-256.
        expected: B256,
        /// The measurement in the evidence.
        found: B256,
    },
    /// The policy refuses dev evidence.
    #[error(
        "dev-insecure evidence from signer {signer} refused: it proves nothing about the machine; \
         run the enclave with the nitro attestor, or allow dev evidence in a development policy"
    )]
    DevNotAllowed {
        /// The signer the evidence claims.
        signer: Address,
    },
    /// The dev evidence's signature is not by the signer it claims.
    #[error(
        "dev-insecure evidence claims signer {signer}: {reason}; it was altered — request new evidence"
    )]
    DevSignature {
        /// The claimed signer.
        signer: Address,
        /// What is wrong with the signature.
        reason: String,
    },
    /// The nonce is longer than evidence may carry.
    #[error("nonce of {len} bytes, more than the {max} evidence may carry; use a shorter nonce")]
    NonceTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The nonce has the form of a ledger key request, which only the enclave itself may make
    /// (`crate::key_release`): evidence with it would have the deployment's ledger key sealed
    /// to whoever chose the nonce.
    #[error(
        "a nonce starting with shr-ledger-key-request-v1: is reserved for the enclave's own ledger key requests; use another nonce"
    )]
    ReservedNonce,
    /// Nitro evidence cannot be produced here.
    #[error("cannot produce an AWS Nitro attestation document: {reason}")]
    NitroUnavailable {
        /// Why, and what to do.
        reason: &'static str,
    },
    /// The enclave binary could not be read to measure it.
    #[error("{}: cannot read the binary to measure it: {source}", path.display())]
    Measure {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl EvidenceError {
    /// Whether asking the enclave for fresh evidence (new time, the right nonce) may succeed,
    /// as opposed to evidence that is forged, altered or from the wrong code.
    pub fn needs_fresh_evidence(&self) -> bool {
        matches!(
            self,
            Self::TooOld { .. }
                | Self::CertificateNotValid { .. }
                | Self::NonceMissing { .. }
                | Self::NonceMismatch { .. }
        )
    }
}
