//! `SealedHeader::parse` on any bytes: no panic, `Ok` exactly for long enough messages of the
//! supported version, and a header round-trips through its bytes.

use super::*;
use solvency_enclave::{SealError, seal::SEALED_VERSION};

/// Arbitrary bytes around the minimum length, half of them with the supported version.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let raw = proptest::collection::vec(any::<u8>(), 0..160);
    prop_oneof![
        raw.clone(),
        raw.prop_map(|mut v| {
            if let Some(first) = v.first_mut() {
                *first = SEALED_VERSION;
            }
            v
        }),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn parse_accepts_exactly_long_enough_messages_of_the_supported_version(bytes in bytes()) {
        let long_enough = bytes.len() >= PREFIX_LEN + TAG_LEN;
        let supported = bytes.first() == Some(&SEALED_VERSION);
        let parsed = SealedHeader::parse(&bytes);
        prop_assert_eq!(parsed.is_ok(), long_enough && supported, "{:?}", parsed);
        match parsed {
            Ok(header) => prop_assert_eq!(&header.to_bytes()[..], &bytes[..HEADER_LEN]),
            Err(SealError::TooShort(len)) => {
                prop_assert!(!long_enough);
                prop_assert_eq!(len, bytes.len());
            }
            Err(SealError::UnsupportedVersion(version)) => {
                prop_assert!(long_enough && !supported);
                prop_assert_eq!(version, bytes[0]);
            }
            Err(other) => prop_assert!(false, "parse cannot fail with {other:?}"),
        }
    }

    #[test]
    fn a_header_round_trips_through_its_bytes(
        chain_selector: u64,
        counter: u64,
        rest in proptest::collection::vec(any::<u8>(), 48..120),
    ) {
        let header = SealedHeader { chain_selector, counter };
        let message = [&header.to_bytes()[..], &rest].concat();
        prop_assert_eq!(SealedHeader::parse(&message), Ok(header));
        // Header, enc and tag are required: one byte less is refused.
        let short = &message[..PREFIX_LEN + TAG_LEN - 1];
        prop_assert_eq!(SealedHeader::parse(short), Err(SealError::TooShort(short.len())));
    }
}
