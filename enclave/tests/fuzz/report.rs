//! `ReportV1::from_padded` on any bytes: no panic, a typed refusal, and only canonical plaintexts
//! accepted; any valid report round-trips through its padding, and an altered length prefix or
//! padding byte is refused.

use super::*;
use proptest::sample::Index;
use solvency_enclave::{ReportError, report::BUCKETS};

/// Positions that fit the largest bucket.
const MAX_POSITIONS: usize = 168;

fn amount() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::MAX),
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn position() -> impl Strategy<Value = Position> {
    (any::<[u8; 32]>(), amount(), amount()).prop_map(|(id, reserves, liabilities)| Position {
        assetId: B256::from(id),
        reserves,
        liabilities,
    })
}

/// Any valid report: each bucket equally often, and its edges.
pub(super) fn report() -> impl Strategy<Value = ReportV1> {
    let count = prop_oneof![
        0..=8usize,
        9..=40usize,
        41..=MAX_POSITIONS,
        proptest::sample::select(vec![0, 8, 9, 40, 41, MAX_POSITIONS]),
    ];
    let positions = count.prop_flat_map(|n| proptest::collection::vec(position(), n));
    (any::<u64>(), any::<u64>(), any::<u64>(), positions).prop_map(
        |(selector, seq, observed_at, positions)| {
            ReportV1::new(selector, seq, observed_at, positions)
        },
    )
}

/// `u32_be(len) || abi body || zeros`: the body is 6 head-and-length words and 3 words per
/// position.
fn smallest_bucket(positions: usize) -> usize {
    let needed = 4 + 32 * (6 + 3 * positions);
    BUCKETS.into_iter().find(|&b| b >= needed).expect("fits")
}

/// Bucket-sized plaintexts with a length prefix and a body that may or may not agree, and
/// arbitrary lengths: most fail early, the rest reach the ABI decoder.
fn plaintext_like() -> impl Strategy<Value = Vec<u8>> {
    let bucketed = (
        proptest::sample::select(BUCKETS.to_vec()),
        prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        proptest::collection::vec(any::<u8>(), 0..1100),
    )
        .prop_map(|(bucket, prefix, body)| {
            let body = &body[..body.len().min(bucket - 4)];
            let prefix = prefix.unwrap_or(body.len() as u32);
            let mut out = prefix.to_be_bytes().to_vec();
            out.extend_from_slice(body);
            out.resize(bucket, 0);
            out
        });
    prop_oneof![bucketed, proptest::collection::vec(any::<u8>(), 0..1100)]
}

/// Valid plaintexts with a few bytes overwritten anywhere.
fn damaged() -> impl Strategy<Value = Vec<u8>> {
    (report(), proptest::collection::vec((any::<Index>(), any::<u8>()), 1..6)).prop_map(
        |(report, edits)| {
            let mut padded = report.to_padded().unwrap();
            for (at, byte) in edits {
                let at = at.index(padded.len());
                padded[at] = byte;
            }
            padded
        },
    )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn from_padded_never_panics_and_accepts_only_canonical_reports(
        plaintext in prop_oneof![plaintext_like(), damaged()],
    ) {
        match ReportV1::from_padded(&plaintext) {
            // A plaintext reads as a report only if it is that report's padding (in its
            // bucket or a larger one): one report, one byte string.
            Ok(report) => {
                let body = report.abi_body();
                prop_assert_eq!(&plaintext[..4], &(body.len() as u32).to_be_bytes()[..]);
                prop_assert_eq!(&plaintext[4..4 + body.len()], &body[..]);
                prop_assert!(plaintext[4 + body.len()..].iter().all(|&b| b == 0));
            }
            Err(ReportError::BadBucket(len)) => {
                prop_assert_eq!(len, plaintext.len());
                prop_assert!(!BUCKETS.contains(&len));
            }
            Err(ReportError::TooLarge { .. }) => prop_assert!(false, "parsing never says TooLarge"),
            Err(
                ReportError::BadPadding
                | ReportError::BadEncoding
                | ReportError::UnsupportedVersion(_),
            ) => prop_assert!(BUCKETS.contains(&plaintext.len())),
        }
    }

    #[test]
    fn a_valid_report_round_trips_through_its_smallest_bucket(report in report()) {
        let padded = report.to_padded().unwrap();
        prop_assert_eq!(padded.len(), smallest_bucket(report.positions.len()));
        prop_assert_eq!(ReportV1::from_padded(&padded), Ok(report));
    }

    #[test]
    fn an_altered_length_prefix_is_refused(
        report in report(),
        at in 0..4usize,
        mask in 1..=u8::MAX,
    ) {
        let mut padded = report.to_padded().unwrap();
        padded[at] ^= mask;
        let parsed = ReportV1::from_padded(&padded);
        prop_assert!(
            matches!(parsed, Err(ReportError::BadPadding | ReportError::BadEncoding)),
            "length prefix byte {} ^ {:#04x} gave {:?}", at, mask, parsed
        );
    }

    #[test]
    fn altered_padding_is_refused(report in report(), at: Index, mask in 1..=u8::MAX) {
        let mut padded = report.to_padded().unwrap();
        let padding = 4 + report.abi_body().len()..padded.len();
        prop_assert!(!padding.is_empty(), "every bucket keeps some padding");
        let at = padding.start + at.index(padding.len());
        padded[at] ^= mask;
        prop_assert_eq!(ReportV1::from_padded(&padded), Err(ReportError::BadPadding));
    }
}
