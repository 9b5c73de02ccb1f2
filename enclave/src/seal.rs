//! HPKE sealing of reports (reporter → enclave) and instructions (enclave → treasury).
//!
//! RFC 9180, mode Auth, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305, from
//! RustCrypto's `hpke`. Mode Auth proves who sealed: opening with the expected sender's public
//! key fails for anyone else's ciphertext.
//!
//! Wire layout of a sealed message (`docs/report-format.md`):
//!
//! ```text
//! offset  size  field
//! 0       1     format version (1)
//! 1       8     chain selector, big-endian
//! 9       8     counter, big-endian (a report's seq, an instruction's epoch)
//! 17      32    enc: the sender's ephemeral X25519 public key
//! 49      n+16  ciphertext of the n-byte padded plaintext, with the Poly1305 tag
//! ```
//!
//! The first 17 bytes travel in the clear so the hub and the enclave can cross-check them, and
//! are the AEAD's `aad`; `info` is a label followed by the 32-byte deployment id.

use alloy::primitives::B256;
use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256, rand_core::CryptoRng,
};

use crate::{X25519KeyPair, X25519Public};

type Kem = X25519HkdfSha256;

/// The format version byte.
pub const SEALED_VERSION: u8 = 1;
/// Bytes before the ciphertext: header and `enc`.
pub const HEADER_LEN: usize = 17;
/// Header plus `enc`.
pub const PREFIX_LEN: usize = HEADER_LEN + 32;
/// The Poly1305 tag.
pub const TAG_LEN: usize = 16;

/// What is sealed: it picks the `info` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A reporter's ReportV1 to the enclave.
    Report,
    /// The enclave's instruction to a chain's treasury.
    Instruction,
    /// An enclave instance's own sealed state (keys, ledger, epochs).
    State,
    /// An ownership ledger checkpoint (enclave → itself, [`crate::LedgerCheckpoint`]).
    Ledger,
    /// A withdrawal request (owner → enclave, [`crate::withdrawal`]).
    Withdrawal,
    /// An authorization and its proof (enclave → owner).
    WithdrawalReply,
    /// An owner's statement (enclave → owner, [`crate::statement`]).
    Statement,
    /// The deployment's ledger key, released to an instance whose evidence the policy accepts
    /// (enclave → enclave, [`crate::key_release`]).
    LedgerKey,
    /// A market maker's quote (maker → enclave, [`crate::quote`]).
    Quote,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Report => b"self-healing-reserve/report/v1",
            Self::Instruction => b"self-healing-reserve/instruction/v1",
            Self::State => b"self-healing-reserve/sealed-state/v1",
            Self::Ledger => b"self-healing-reserve/ledger-checkpoint/v1",
            Self::Withdrawal => b"self-healing-reserve/withdrawal-request/v1",
            Self::WithdrawalReply => b"self-healing-reserve/withdrawal-reply/v1",
            Self::Statement => b"self-healing-reserve/statement/v1",
            Self::LedgerKey => b"self-healing-reserve/ledger-key-release/v1",
            Self::Quote => b"self-healing-reserve/quote/v1",
        }
    }

    /// HPKE `info`: the label, then the deployment id.
    pub fn info(self, deployment_id: &B256) -> Vec<u8> {
        [self.label(), deployment_id.as_slice()].concat()
    }
}

/// The clear header of a sealed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// The chain the message is about.
    pub chain_selector: u64,
    /// A report's seq or an instruction's epoch.
    pub counter: u64,
}

impl SealedHeader {
    /// The 17 header bytes, which are also the `aad`.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = SEALED_VERSION;
        out[1..9].copy_from_slice(&self.chain_selector.to_be_bytes());
        out[9..17].copy_from_slice(&self.counter.to_be_bytes());
        out
    }

    /// Reads the header of a sealed message.
    pub fn parse(sealed: &[u8]) -> Result<Self, SealError> {
        if sealed.len() < PREFIX_LEN + TAG_LEN {
            return Err(SealError::TooShort(sealed.len()));
        }
        if sealed[0] != SEALED_VERSION {
            return Err(SealError::UnsupportedVersion(sealed[0]));
        }
        Ok(Self {
            chain_selector: u64::from_be_bytes(sealed[1..9].try_into().expect("8 bytes")),
            counter: u64::from_be_bytes(sealed[9..17].try_into().expect("8 bytes")),
        })
    }
}

/// Why sealing or opening failed. Carries no plaintext.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SealError {
    /// Shorter than header, `enc` and tag.
    #[error("sealed message of {0} bytes is shorter than its header, enc and tag")]
    TooShort(usize),
    /// The version byte is unknown.
    #[error("sealed message version {0} is not supported (only 1)")]
    UnsupportedVersion(u8),
    /// A key is not a valid X25519 public key.
    #[error("invalid X25519 public key")]
    BadKey,
    /// Authentication failed: wrong sender key, wrong recipient key, wrong deployment, or the
    /// bytes were altered.
    #[error("HPKE open failed: not sealed by the expected sender to this key, or altered")]
    Open,
    /// HPKE refused to seal.
    #[error("HPKE seal failed")]
    Seal,
}

fn public_key(key: &X25519Public) -> Result<<Kem as hpke::Kem>::PublicKey, SealError> {
    <Kem as hpke::Kem>::PublicKey::from_bytes(&key.0).map_err(|_| SealError::BadKey)
}

fn private_key(pair: &X25519KeyPair) -> <Kem as hpke::Kem>::PrivateKey {
    <Kem as hpke::Kem>::PrivateKey::from_bytes(pair.secret_bytes().as_ref())
        .expect("any 32 bytes are an X25519 private key")
}

/// Seals `plaintext` from `sender` to `recipient` with the operating system's random generator.
pub fn seal(
    purpose: Purpose,
    deployment_id: &B256,
    header: SealedHeader,
    plaintext: &[u8],
    sender: &X25519KeyPair,
    recipient: &X25519Public,
) -> Result<Vec<u8>, SealError> {
    let aad = header.to_bytes();
    let sealed = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &sender_mode(sender)?,
        &public_key(recipient)?,
        &purpose.info(deployment_id),
        plaintext,
        &aad,
    );
    assemble(&aad, sealed)
}

/// Seals with a caller's random generator (tests and worked examples use a fixed one).
pub fn seal_with_rng(
    purpose: Purpose,
    deployment_id: &B256,
    header: SealedHeader,
    plaintext: &[u8],
    sender: &X25519KeyPair,
    recipient: &X25519Public,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, SealError> {
    let aad = header.to_bytes();
    let sealed = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &sender_mode(sender)?,
        &public_key(recipient)?,
        &purpose.info(deployment_id),
        plaintext,
        &aad,
        rng,
    );
    assemble(&aad, sealed)
}

/// A deterministic generator: 32-byte blocks `keccak256(seed || counter)`, counter a big-endian
/// u64 from 0. Used where sealing must be reproducible: instructions (the seed starts with the
/// enclave's secret, so only its instances can predict it) and worked examples (a public seed).
pub struct KeccakRng {
    seed: zeroize::Zeroizing<Vec<u8>>,
    counter: u64,
    block: zeroize::Zeroizing<[u8; 32]>,
    used: usize,
}

impl KeccakRng {
    /// A generator over `seed`.
    pub fn new(seed: &[u8]) -> Self {
        Self {
            seed: zeroize::Zeroizing::new(seed.to_vec()),
            counter: 0,
            block: zeroize::Zeroizing::new([0; 32]),
            used: 32,
        }
    }
}

impl std::fmt::Debug for KeccakRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeccakRng(<redacted>)")
    }
}

impl hpke::rand_core::TryRng for KeccakRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            if self.used == 32 {
                let mut input = zeroize::Zeroizing::new(self.seed.to_vec());
                input.extend_from_slice(&self.counter.to_be_bytes());
                *self.block = alloy::primitives::keccak256(input.as_slice()).0;
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for KeccakRng {}

fn sender_mode(sender: &X25519KeyPair) -> Result<OpModeS<'static, Kem>, SealError> {
    Ok(OpModeS::Auth((private_key(sender), public_key(&sender.public())?)))
}

fn assemble(
    aad: &[u8; HEADER_LEN],
    sealed: Result<(<Kem as hpke::Kem>::EncappedKey, Vec<u8>), hpke::HpkeError>,
) -> Result<Vec<u8>, SealError> {
    let (enc, ciphertext) = sealed.map_err(|_| SealError::Seal)?;
    let mut out = Vec::with_capacity(PREFIX_LEN + ciphertext.len());
    out.extend_from_slice(aad);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a sealed message that `sender` must have sealed to `recipient`; returns its header and
/// plaintext.
pub fn open(
    purpose: Purpose,
    deployment_id: &B256,
    sealed: &[u8],
    recipient: &X25519KeyPair,
    sender: &X25519Public,
) -> Result<(SealedHeader, zeroize::Zeroizing<Vec<u8>>), SealError> {
    let header = SealedHeader::parse(sealed)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&sealed[HEADER_LEN..PREFIX_LEN])
        .map_err(|_| SealError::Open)?;
    let plaintext = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Auth(public_key(sender)?),
        &private_key(recipient),
        &enc,
        &purpose.info(deployment_id),
        &sealed[PREFIX_LEN..],
        &sealed[..HEADER_LEN],
    )
    .map_err(|_| SealError::Open)?;
    Ok((header, zeroize::Zeroizing::new(plaintext)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (B256, X25519KeyPair, X25519KeyPair) {
        (B256::repeat_byte(0x11), X25519KeyPair::generate(), X25519KeyPair::generate())
    }

    #[test]
    fn seal_open_round_trip_and_layout() {
        let (deployment, reporter, enclave) = setup();
        let header = SealedHeader { chain_selector: 42, counter: 7 };
        let sealed =
            seal(Purpose::Report, &deployment, header, &[9u8; 1024], &reporter, &enclave.public())
                .unwrap();
        assert_eq!(sealed.len(), PREFIX_LEN + 1024 + TAG_LEN);
        assert_eq!(SealedHeader::parse(&sealed).unwrap(), header);
        let (got, plaintext) =
            open(Purpose::Report, &deployment, &sealed, &enclave, &reporter.public()).unwrap();
        assert_eq!(got, header);
        assert_eq!(plaintext.as_slice(), &[9u8; 1024]);
    }

    #[test]
    fn open_fails_for_any_wrong_input() {
        let (deployment, reporter, enclave) = setup();
        let other = X25519KeyPair::generate();
        let header = SealedHeader { chain_selector: 42, counter: 7 };
        let sealed =
            seal(Purpose::Report, &deployment, header, b"figures", &reporter, &enclave.public())
                .unwrap();
        let try_open =
            |bytes: &[u8], recipient: &X25519KeyPair, sender: &X25519Public, purpose, d: &B256| {
                open(purpose, d, bytes, recipient, sender).map(|_| ())
            };
        // Another sender key, another recipient, another deployment, another purpose.
        assert_eq!(
            try_open(&sealed, &enclave, &other.public(), Purpose::Report, &deployment),
            Err(SealError::Open)
        );
        assert_eq!(
            try_open(&sealed, &other, &reporter.public(), Purpose::Report, &deployment),
            Err(SealError::Open)
        );
        assert_eq!(
            try_open(&sealed, &enclave, &reporter.public(), Purpose::Report, &B256::ZERO),
            Err(SealError::Open)
        );
        assert_eq!(
            try_open(&sealed, &enclave, &reporter.public(), Purpose::Instruction, &deployment),
            Err(SealError::Open)
        );
        // Every single flipped bit, header included.
        for i in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            let result =
                try_open(&flipped, &enclave, &reporter.public(), Purpose::Report, &deployment);
            assert!(result.is_err(), "bit {i} flipped still opened");
        }
        assert_eq!(
            try_open(&sealed[..40], &enclave, &reporter.public(), Purpose::Report, &deployment),
            Err(SealError::TooShort(40))
        );
    }
}
