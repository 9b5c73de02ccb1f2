//! `seal::open` with `Purpose::Report` on arbitrary bytes and on altered honest messages: no
//! panic, and never a plaintext.

use super::*;
use proptest::sample::Index;
use solvency_enclave::{SealError, seal::SEALED_VERSION};

/// Whatever happened to the bytes, the one answer `open` may give.
fn refusal(bytes: &[u8]) -> SealError {
    if bytes.len() < PREFIX_LEN + TAG_LEN {
        SealError::TooShort(bytes.len())
    } else if bytes[0] != SEALED_VERSION {
        SealError::UnsupportedVersion(bytes[0])
    } else {
        SealError::Open
    }
}

fn open(bytes: &[u8]) -> Result<(), SealError> {
    seal::open(Purpose::Report, &deployment(), bytes, &enclave_key(), &reporter(A).public())
        .map(|_| ())
}

#[derive(Clone, Debug)]
enum Edit {
    FlipBit(Index),
    Truncate(Index),
    Extend(Vec<u8>),
    Header(u64, u64),
    SwapHeaderFields,
    Version(u8),
    Overwrite(Index, Vec<u8>),
    EncFrom,
    CiphertextFrom,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => any::<Index>().prop_map(Edit::FlipBit),
        2 => any::<Index>().prop_map(Edit::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Edit::Extend),
        1 => (prop_oneof![Just(A), Just(B), any::<u64>()], prop_oneof![0..4u64, any::<u64>()])
            .prop_map(|(s, c)| Edit::Header(s, c)),
        1 => Just(Edit::SwapHeaderFields),
        1 => any::<u8>().prop_map(Edit::Version),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Overwrite(at, bytes)),
        1 => Just(Edit::EncFrom),
        1 => Just(Edit::CiphertextFrom),
    ]
}

fn apply(msg: &[u8], edit: &Edit) -> Vec<u8> {
    let donor = &HONEST.b2;
    match edit {
        Edit::FlipBit(bit) => mutate::flip_bit(msg, bit.index(msg.len() * 8)),
        Edit::Truncate(len) => msg[..len.index(msg.len())].to_vec(),
        Edit::Extend(tail) => [msg, tail].concat(),
        Edit::Header(selector, counter) => mutate::with_header(msg, *selector, *counter),
        Edit::SwapHeaderFields => mutate::swap_header_fields(msg),
        Edit::Version(v) => mutate::with_version(msg, *v),
        Edit::Overwrite(at, bytes) => {
            let mut out = msg.to_vec();
            let at = at.index(msg.len());
            let end = (at + bytes.len()).min(msg.len());
            out[at..end].copy_from_slice(&bytes[..end - at]);
            out
        }
        Edit::EncFrom => mutate::enc_from(msg, donor),
        Edit::CiphertextFrom => mutate::ciphertext_from(msg, donor),
    }
}

#[test]
fn the_honest_messages_open() {
    assert_eq!(open(&HONEST.a2), Ok(()));
    assert_eq!(open(&HONEST.a3), Ok(()));
    // Any other purpose, deployment or sender key is refused.
    let a2 = &HONEST.a2;
    let (key, sender) = (enclave_key(), reporter(A).public());
    for purpose in [Purpose::Instruction, Purpose::State] {
        assert!(seal::open(purpose, &deployment(), a2, &key, &sender).is_err());
    }
    assert!(seal::open(Purpose::Report, &B256::ZERO, a2, &key, &sender).is_err());
    assert!(seal::open(Purpose::Report, &deployment(), a2, &key, &reporter(B).public()).is_err());
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_bytes_never_open(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..1200),
        versioned: bool,
    ) {
        if versioned && !bytes.is_empty() {
            bytes[0] = SEALED_VERSION;
        }
        prop_assert_eq!(open(&bytes), Err(refusal(&bytes)));
    }

    #[test]
    fn an_altered_message_never_opens(edits in proptest::collection::vec(edit(), 1..4)) {
        let honest = &HONEST.a2;
        let altered = edits.iter().fold(honest.clone(), |msg, edit| {
            // Edits past a truncation below the header have nothing to work on.
            if msg.len() < PREFIX_LEN + TAG_LEN { msg } else { apply(&msg, edit) }
        });
        prop_assume!(&altered != honest);
        prop_assert_eq!(open(&altered), Err(refusal(&altered)));
    }
}
