//! `ReportV1`: one chain's reserves and liabilities, per asset, as the reporter seals them.
//!
//! Plaintext layout before sealing (see `docs/report-format.md`):
//!
//! ```text
//! u32 big-endian length L || abi.encode(uint8 version, uint64 chainSelector, uint64 seq,
//!     uint64 observedAt, (bytes32 assetId, uint256 reserves, uint256 liabilities)[] positions)
//!     (L bytes) || zero bytes up to the bucket size
//! ```
//!
//! The bucket is the smallest of [`BUCKETS`] that fits, so a ciphertext's length tells only the
//! bucket, never the number of positions within it. `Debug` never prints an amount.

use std::fmt;

use alloy::{
    primitives::{B256, U256},
    sol,
    sol_types::SolValue,
};

sol! {
    /// One asset's figures on one chain, in the asset's smallest unit.
    #[derive(PartialEq, Eq)]
    struct Position {
        /// `keccak256` of the asset's symbol as registered in `networks.toml`.
        bytes32 assetId;
        /// What the protocol holds.
        uint256 reserves;
        /// What the protocol owes.
        uint256 liabilities;
    }

    /// The fields of a report, in wire order.
    #[derive(PartialEq, Eq)]
    struct ReportV1 {
        /// Always [`REPORT_VERSION`].
        uint8 version;
        /// The CCIP selector of the reporting chain.
        uint64 chainSelector;
        /// Strictly increasing per chain.
        uint64 seq;
        /// When the figures were observed (Unix seconds).
        uint64 observedAt;
        /// One entry per asset.
        Position[] positions;
    }
}

/// The only report version.
pub const REPORT_VERSION: u8 = 1;

/// Padded plaintext sizes. A report must fit the largest (168 positions).
pub const BUCKETS: [usize; 3] = [1024, 4096, 16384];

/// Why a plaintext is not a report.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReportError {
    /// Too many positions for the largest bucket.
    #[error("a report of {positions} positions does not fit the largest bucket ({max} bytes)")]
    TooLarge {
        /// Positions in the report.
        positions: usize,
        /// The largest bucket.
        max: usize,
    },
    /// The plaintext is not one of the bucket sizes.
    #[error("plaintext of {0} bytes is not a report bucket size")]
    BadBucket(usize),
    /// The length prefix is not the body's length, or the padding is not zero.
    #[error("bad length prefix or non-zero padding")]
    BadPadding,
    /// The ABI body does not decode, or is not the canonical encoding of what it decodes to.
    #[error("report body is not ABI-encoded ReportV1")]
    BadEncoding,
    /// The version byte is not [`REPORT_VERSION`].
    #[error("report version {0} is not supported (only 1)")]
    UnsupportedVersion(u8),
}

impl ReportV1 {
    /// A version-1 report.
    pub fn new(chain_selector: u64, seq: u64, observed_at: u64, positions: Vec<Position>) -> Self {
        Self {
            version: REPORT_VERSION,
            chainSelector: chain_selector,
            seq,
            observedAt: observed_at,
            positions,
        }
    }

    /// `abi.encode(version, chainSelector, seq, observedAt, positions)`.
    pub fn abi_body(&self) -> Vec<u8> {
        self.abi_encode_params()
    }

    /// The padded plaintext that gets sealed.
    pub fn to_padded(&self) -> Result<Vec<u8>, ReportError> {
        let body = self.abi_body();
        let needed = 4 + body.len();
        let bucket =
            BUCKETS.iter().copied().find(|&b| b >= needed).ok_or(ReportError::TooLarge {
                positions: self.positions.len(),
                max: BUCKETS[BUCKETS.len() - 1],
            })?;
        let mut out = Vec::with_capacity(bucket);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out.resize(bucket, 0);
        Ok(out)
    }

    /// Parses a padded plaintext.
    pub fn from_padded(plaintext: &[u8]) -> Result<Self, ReportError> {
        if !BUCKETS.contains(&plaintext.len()) {
            return Err(ReportError::BadBucket(plaintext.len()));
        }
        let len = u32::from_be_bytes(plaintext[..4].try_into().expect("4 bytes")) as usize;
        let end = 4usize
            .checked_add(len)
            .filter(|&e| e <= plaintext.len())
            .ok_or(ReportError::BadPadding)?;
        if plaintext[end..].iter().any(|&b| b != 0) {
            return Err(ReportError::BadPadding);
        }
        let report = Self::abi_decode_params_validate(&plaintext[4..end])
            .map_err(|_| ReportError::BadEncoding)?;
        // The decoder tolerates trailing bytes and offsets that leave gaps. Re-encoding refuses
        // a length prefix that reaches into the padding, and leaves one plaintext per report.
        let body = report.abi_body();
        if body != plaintext[4..end] {
            return Err(if plaintext[4..end].starts_with(&body) {
                ReportError::BadPadding
            } else {
                ReportError::BadEncoding
            });
        }
        if report.version != REPORT_VERSION {
            return Err(ReportError::UnsupportedVersion(report.version));
        }
        Ok(report)
    }
}

impl Position {
    /// A position of `asset` (its registered symbol).
    pub fn new(asset: &str, reserves: U256, liabilities: U256) -> Self {
        Self { assetId: asset_id(asset), reserves, liabilities }
    }
}

/// The id of an asset: `keccak256(symbol)`.
pub fn asset_id(symbol: &str) -> B256 {
    alloy::primitives::keccak256(symbol.as_bytes())
}

impl fmt::Debug for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Position")
            .field("assetId", &self.assetId)
            .field("reserves", &"<redacted>")
            .field("liabilities", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for ReportV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportV1")
            .field("version", &self.version)
            .field("chainSelector", &self.chainSelector)
            .field("seq", &self.seq)
            .field("observedAt", &self.observedAt)
            .field("positions", &self.positions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize) -> ReportV1 {
        let positions = (0..n)
            .map(|i| {
                Position::new(
                    &format!("A{i}"),
                    U256::from(1_000_000u64 + i as u64),
                    U256::from(7u64),
                )
            })
            .collect();
        ReportV1::new(909606746561742123, 3, 1_750_000_000, positions)
    }

    #[test]
    fn round_trips_and_pads_to_a_bucket() {
        for (n, bucket) in [(0, 1024), (8, 1024), (9, 4096), (40, 4096), (41, 16384), (168, 16384)]
        {
            let r = report(n);
            let padded = r.to_padded().unwrap();
            assert_eq!(padded.len(), bucket, "{n} positions");
            assert_eq!(ReportV1::from_padded(&padded).unwrap(), r);
        }
        assert!(matches!(
            report(169).to_padded(),
            Err(ReportError::TooLarge { positions: 169, .. })
        ));
    }

    #[test]
    fn refuses_bad_plaintexts() {
        let mut padded = report(2).to_padded().unwrap();
        assert_eq!(ReportV1::from_padded(&padded[..1000]), Err(ReportError::BadBucket(1000)));
        padded[1023] = 1;
        assert_eq!(ReportV1::from_padded(&padded), Err(ReportError::BadPadding));
        let mut padded = report(2).to_padded().unwrap();
        padded[..4].copy_from_slice(&5000u32.to_be_bytes());
        assert_eq!(ReportV1::from_padded(&padded), Err(ReportError::BadPadding));
        // A length prefix that takes padding zeros into the body.
        let mut padded = report(2).to_padded().unwrap();
        let len = u32::from_be_bytes(padded[..4].try_into().unwrap());
        padded[..4].copy_from_slice(&(len + 32).to_be_bytes());
        assert_eq!(ReportV1::from_padded(&padded), Err(ReportError::BadPadding));
        // The positions' offset moved one word on, over a gap: the same report, not canonical.
        let body = report(2).abi_body();
        let mut gapped = body[..160].to_vec();
        gapped[128..160].copy_from_slice(&U256::from(192u64).to_be_bytes::<32>());
        gapped.extend_from_slice(&[0u8; 32]);
        gapped.extend_from_slice(&body[160..]);
        assert_eq!(ReportV1::abi_decode_params_validate(&gapped).unwrap(), report(2));
        let mut padded = (gapped.len() as u32).to_be_bytes().to_vec();
        padded.extend_from_slice(&gapped);
        padded.resize(1024, 0);
        assert_eq!(ReportV1::from_padded(&padded), Err(ReportError::BadEncoding));
        let mut wrong = report(1);
        wrong.version = 2;
        assert_eq!(
            ReportV1::from_padded(&wrong.to_padded().unwrap()),
            Err(ReportError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn debug_redacts_amounts() {
        let r = ReportV1::new(
            1,
            1,
            1,
            vec![Position::new("USDC", U256::from(987654321u64), U256::from(123456789u64))],
        );
        let shown = format!("{r:?}");
        assert!(!shown.contains("987654321") && !shown.contains("123456789"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

/// Seals a report as a reporter does: padded, HPKE Auth from the reporter's key to the
/// enclave's, header `(chainSelector, seq)`. The result is the `payload` of `submitReport`.
pub fn seal_report(
    report: &ReportV1,
    deployment_id: &B256,
    reporter: &crate::X25519KeyPair,
    enclave: &crate::X25519Public,
) -> Result<alloy::primitives::Bytes, SealReportError> {
    let plaintext = zeroize::Zeroizing::new(report.to_padded()?);
    let header = crate::SealedHeader { chain_selector: report.chainSelector, counter: report.seq };
    Ok(crate::seal::seal(
        crate::Purpose::Report,
        deployment_id,
        header,
        &plaintext,
        reporter,
        enclave,
    )?
    .into())
}

/// Why a report could not be sealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealReportError {
    /// The report does not fit.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// HPKE failed (an invalid enclave key).
    #[error(transparent)]
    Seal(#[from] crate::SealError),
}
