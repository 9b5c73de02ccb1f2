//! Honest payloads under arbitrary delivery fields (message id, selector, seq).

use solvency_enclave::delivery_digest;

use super::*;

proptest! {
    #![proptest_config(config(256))]

    /// Honest payloads under arbitrary delivery fields: accepted exactly when the fields
    /// match the header and the seq is new (or it is the very delivery accepted last), and
    /// only an acceptance of a new report changes anything.
    #[test]
    fn delivery_fields_change_nothing_unless_the_report_is_valid(
        which in 0..4usize,
        own_id: bool,
        id: [u8; 32],
        selector in prop_oneof![Just(A), Just(B), any::<u64>()],
        seq in prop_oneof![1..=3u64, any::<u64>()],
    ) {
        let h = &*HONEST;
        let payload = [&h.a1, &h.a2, &h.a3, &h.b2][which];
        let header = SealedHeader::parse(payload).unwrap();
        let message_id = if own_id { keccak256(payload) } else { B256::from(id) };
        let delivered = DeliveredReport { head: Default::default(),
            message_id,
            source_chain_selector: selector,
            seq,
            payload: payload.to_vec().into(),
        };
        let mut enclave = primed();
        let before = observe(&enclave);
        let result = enclave.ingest(&delivered, NOW);
        let after = observe(&enclave);

        let again = which == 0 && own_id;
        let expected = if selector != A && selector != B {
            Err("UnknownChain")
        } else if selector != header.chain_selector {
            Err("SelectorMismatch")
        } else if seq != header.counter {
            Err("SeqMismatch")
        } else if which == 0 && !again {
            Err("Replay")
        } else {
            Ok(again)
        };
        prop_assert_eq!(result.as_ref().map(|a| a.again).map_err(variant), expected);
        match result {
            Ok(accepted) if !accepted.again => {
                let mut state = before.state.clone();
                state.last_seq.insert(selector, seq);
                state.last_delivery.insert(selector, delivery_digest(&delivered));
                prop_assert_eq!(&after.state, &state);
                prop_assert!(after.assessment.unwrap().reports.contains(&(selector, seq)));
            }
            _ => prop_assert_eq!(after, before),
        }
    }
}
