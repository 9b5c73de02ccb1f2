//! COSE_Sign1 (RFC 9052) as Nitro uses it: `[protected, unprotected, payload, signature]`,
//! tagged (18) or not, ES384 in the protected header, no detached payload, no external AAD.
//!
//! CBOR is decoded with `ciborium` into owned values: documents are a few KiB, so the copies cost
//! nothing next to one P-384 verification, and every length is bounded by the input's.

use ciborium::value::Value;

use super::EvidenceError;

/// The CBOR tag of a COSE_Sign1.
const COSE_SIGN1_TAG: u64 = 18;
/// COSE header label `alg`.
const LABEL_ALG: i128 = 1;
/// COSE header label `crit`.
const LABEL_CRIT: i128 = 2;
/// COSE algorithm ES384 (ECDSA P-384 with SHA-384).
const ES384: i128 = -35;
/// Nesting deeper than this is not an attestation document.
const MAX_DEPTH: usize = 16;

/// A parsed COSE_Sign1 whose algorithm is ES384.
pub(super) struct CoseSign1 {
    protected: Vec<u8>,
    pub(super) payload: Vec<u8>,
    pub(super) signature: Vec<u8>,
}

impl CoseSign1 {
    /// Parses a COSE_Sign1 and checks that its protected header says ES384.
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, EvidenceError> {
        let value = match decode(bytes, "COSE_Sign1")? {
            Value::Tag(COSE_SIGN1_TAG, inner) => *inner,
            Value::Tag(tag, _) => {
                return Err(malformed(
                    "COSE_Sign1",
                    format!("CBOR tag {tag}, expected 18 or none"),
                ));
            }
            value => value,
        };
        let Value::Array(items) = value else {
            return Err(malformed("COSE_Sign1", format!("{}, expected an array", kind(&value))));
        };
        let Ok([protected, unprotected, payload, signature]) = <[Value; 4]>::try_from(items) else {
            return Err(malformed("COSE_Sign1", "not an array of 4 items".into()));
        };
        let protected = bytes_of(protected, "COSE_Sign1[0] (protected header)")?;
        if !matches!(unprotected, Value::Map(_)) {
            return Err(malformed(
                "COSE_Sign1[1] (unprotected header)",
                format!("{}, expected a map", kind(&unprotected)),
            ));
        }
        let payload = match payload {
            Value::Null => {
                return Err(malformed("COSE_Sign1[2] (payload)", "detached (null)".into()));
            }
            payload => bytes_of(payload, "COSE_Sign1[2] (payload)")?,
        };
        let signature = bytes_of(signature, "COSE_Sign1[3] (signature)")?;
        check_es384(&protected)?;
        Ok(Self { protected, payload, signature })
    }

    /// The bytes signed: `Sig_structure = ["Signature1", protected, h'' (external_aad), payload]`.
    pub(super) fn to_be_signed(&self) -> Vec<u8> {
        const CONTEXT: &[u8] = b"Signature1";
        let mut out = Vec::with_capacity(32 + self.protected.len() + self.payload.len());
        out.push(0x84); // array(4)
        put_header(&mut out, 3, CONTEXT.len());
        out.extend_from_slice(CONTEXT);
        put_header(&mut out, 2, self.protected.len());
        out.extend_from_slice(&self.protected);
        put_header(&mut out, 2, 0);
        put_header(&mut out, 2, self.payload.len());
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Checks that the protected header is a map with `alg` = ES384 and no `crit`.
fn check_es384(protected: &[u8]) -> Result<(), EvidenceError> {
    const AT: &str = "COSE_Sign1[0] (protected header)";
    let Value::Map(entries) = decode(protected, AT)? else {
        return Err(malformed(AT, "not a map".into()));
    };
    let mut alg = None;
    for (label, value) in &entries {
        match label.as_integer().map(i128::from) {
            Some(LABEL_ALG) if alg.is_some() => {
                return Err(malformed(AT, "alg (1) appears twice".into()));
            }
            Some(LABEL_ALG) => alg = Some(value),
            Some(LABEL_CRIT) => {
                return Err(malformed(AT, "critical headers (crit, 2) are not supported".into()));
            }
            _ => {}
        }
    }
    match alg {
        Some(Value::Integer(i)) if i128::from(*i) == ES384 => Ok(()),
        found => Err(EvidenceError::UnsupportedAlgorithm {
            at: format!("{AT} alg"),
            found: match found {
                Some(Value::Integer(i)) => format!("COSE {}", i128::from(*i)),
                Some(Value::Text(t)) => format!("{t:?}"),
                Some(other) => kind(other).into(),
                None => "none".into(),
            },
            expected: "ES384 (COSE -35)",
        }),
    }
}

/// Decodes exactly one CBOR item spanning all of `bytes`.
pub(super) fn decode(bytes: &[u8], at: &str) -> Result<Value, EvidenceError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|e| malformed(at, format!("invalid CBOR ({})", describe(&e))))?;
    if !rest.is_empty() {
        return Err(malformed(at, format!("{} bytes after the CBOR item", rest.len())));
    }
    Ok(value)
}

/// A short description of a CBOR decoding error.
fn describe(error: &ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match error {
        Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "truncated".into(),
        Error::Io(e) => e.to_string(),
        Error::Syntax(offset) => format!("syntax error at byte {offset}"),
        Error::Semantic(Some(offset), msg) => format!("{msg} at byte {offset}"),
        Error::Semantic(None, msg) => msg.clone(),
        Error::RecursionLimitExceeded => format!("nested deeper than {MAX_DEPTH}"),
    }
}

/// The bytes of a byte string.
pub(super) fn bytes_of(value: Value, at: &str) -> Result<Vec<u8>, EvidenceError> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        other => Err(malformed(at, format!("{}, expected a byte string", kind(&other)))),
    }
}

/// A CBOR unsigned integer as `u64`.
pub(super) fn u64_of(value: &Value, at: &str) -> Result<u64, EvidenceError> {
    match value {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| {
            malformed(at, format!("{}, expected an unsigned integer", i128::from(*i)))
        }),
        other => Err(malformed(at, format!("{}, expected an unsigned integer", kind(other)))),
    }
}

/// What kind of CBOR item a value is, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "an integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Tag(..) => "a tagged item",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown CBOR item",
    }
}

/// A [`EvidenceError::Malformed`].
pub(super) fn malformed(at: impl Into<String>, reason: String) -> EvidenceError {
    EvidenceError::Malformed { at: at.into(), reason }
}

/// Appends a CBOR head of major type `major` with argument `len`.
fn put_header(out: &mut Vec<u8>, major: u8, len: usize) {
    let major = major << 5;
    let len = len as u64;
    match len {
        0..24 => out.push(major | len as u8),
        24..0x100 => out.extend_from_slice(&[major | 24, len as u8]),
        0x100..0x1_0000 => {
            out.push(major | 25);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..0x1_0000_0000 => {
            out.push(major | 26);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}
