//! Finding CCIP sends in a block: every successful call to a devnet router's `ccipSend`, by any
//! contract or account, read from anvil's call traces.
//!
//! `MockCCIPRouter` emits no event when it sends, so logs cannot be used. The geth `callTracer`
//! shows every call frame with its caller, input and output, and marks frames that reverted:
//! a send inside a reverted frame (or under one) never happened and is skipped.

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    sol_types::{SolCall, SolValue},
};
use serde::Deserialize;
use solvency_ccip::{
    ExtraArgs,
    bindings::{probe_receiver::ProbeReceiver, router::MockCCIPRouter},
};

/// One transaction's trace, as `debug_traceBlockByNumber` returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct TxTrace {
    #[serde(rename = "txHash")]
    pub(crate) tx_hash: B256,
    pub(crate) result: CallFrame,
}

/// A call frame of the geth `callTracer`.
#[derive(Debug, Deserialize)]
pub(crate) struct CallFrame {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) from: Address,
    #[serde(default)]
    pub(crate) to: Option<Address>,
    #[serde(default)]
    pub(crate) input: Bytes,
    #[serde(default)]
    pub(crate) output: Option<Bytes>,
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) calls: Vec<CallFrame>,
}

/// A send found in a trace, before the relayer decides where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundSend {
    pub(crate) id: B256,
    pub(crate) dest_chain_selector: u64,
    pub(crate) sender: Address,
    pub(crate) receiver: Option<Address>,
    pub(crate) data: Bytes,
    pub(crate) extra_args: Bytes,
    pub(crate) router_message_id: B256,
    pub(crate) source_tx: B256,
    pub(crate) token_transfers: usize,
    pub(crate) delivered_on_source: bool,
    /// The on-ramp's sequence number (forks only).
    pub(crate) sequence_number: u64,
    /// The tokens carried (forks only).
    pub(crate) tokens: Vec<super::TokenTransfer>,
}

/// The id the relayer gives a message: unique per send, deterministic so that a rescan after a
/// restart finds the same id. `MockCCIPRouter`'s own id hashes only the message body, so two
/// identical sends (or the same body from two senders) would collide.
pub(crate) fn message_id(
    source_chain_selector: u64,
    source_tx: B256,
    frame_index: u64,
    router_message_id: B256,
) -> B256 {
    keccak256((source_chain_selector, source_tx, frame_index, router_message_id).abi_encode())
}

/// Every successful `ccipSend` to `router` in a block's traces, in execution order.
pub(crate) fn find_sends(
    traces: &[TxTrace],
    router: Address,
    source_chain_selector: u64,
) -> Vec<FoundSend> {
    let mut found = Vec::new();
    for trace in traces {
        let mut index = 0u64;
        walk(&trace.result, router, source_chain_selector, trace.tx_hash, &mut index, &mut found);
    }
    found
}

fn walk(
    frame: &CallFrame,
    router: Address,
    source_chain_selector: u64,
    tx: B256,
    index: &mut u64,
    found: &mut Vec<FoundSend>,
) {
    let frame_index = *index;
    *index += 1;
    if frame.error.is_some() {
        // Reverted: nothing in this subtree happened. Keep numbering stable anyway.
        *index += count(frame) - 1;
        return;
    }
    if frame.kind == "CALL"
        && frame.to == Some(router)
        && frame.input.len() >= 4
        && frame.input[..4] == MockCCIPRouter::ccipSendCall::SELECTOR
        && let Ok(call) = MockCCIPRouter::ccipSendCall::abi_decode(&frame.input)
    {
        let router_message_id =
            frame.output.as_ref().and_then(|out| B256::abi_decode(out).ok()).unwrap_or_default();
        let message = call.message;
        let receiver = Address::abi_decode(&message.receiver).ok();
        found.push(FoundSend {
            id: message_id(source_chain_selector, tx, frame_index, router_message_id),
            dest_chain_selector: call.destinationChainSelector,
            sender: frame.from,
            receiver,
            delivered_on_source: receiver.is_some_and(|r| calls_ccip_receive(frame, r)),
            data: message.data,
            extra_args: message.extraArgs,
            router_message_id,
            source_tx: tx,
            token_transfers: message.tokenAmounts.len(),
            sequence_number: 0,
            tokens: Vec::new(),
        });
    }
    for call in &frame.calls {
        walk(call, router, source_chain_selector, tx, index, found);
    }
}

fn count(frame: &CallFrame) -> u64 {
    1 + frame.calls.iter().map(count).sum::<u64>()
}

/// Did this `ccipSend` frame call `receiver.ccipReceive` on the source chain?
fn calls_ccip_receive(frame: &CallFrame, receiver: Address) -> bool {
    frame.calls.iter().any(|call| {
        (call.to == Some(receiver)
            && call.input.len() >= 4
            && call.input[..4] == ProbeReceiver::ccipReceiveCall::SELECTOR)
            || calls_ccip_receive(call, receiver)
    })
}

/// A send read from an on-ramp's `CCIPMessageSent` (on a fork): the message id is the
/// on-ramp's own, as CCIP's off-ramp delivers it. `None` for a log that is not one.
pub(crate) fn found_in_log(log: &alloy::rpc::types::Log) -> Option<FoundSend> {
    use solvency_ccip::bindings::on_ramp::StandInOnRamp::CCIPMessageSent;
    let message = log.log_decode::<CCIPMessageSent>().ok()?.inner.data.message;
    // A transfer whose destination token or gas does not decode is carried with a zero token:
    // its execution then fails, and says so, rather than the message being dropped.
    let tokens = message
        .tokenAmounts
        .iter()
        .map(|t| super::TokenTransfer {
            source_pool: t.sourcePoolAddress,
            dest_token: Address::abi_decode(&t.destTokenAddress).unwrap_or_default(),
            dest_gas: alloy::primitives::U256::abi_decode(&t.destExecData)
                .ok()
                .and_then(|gas| u32::try_from(gas).ok())
                .unwrap_or_default(),
            extra_data: t.extraData.clone(),
            amount: t.amount,
        })
        .collect();
    Some(FoundSend {
        sequence_number: message.header.sequenceNumber,
        tokens,
        id: message.header.messageId,
        dest_chain_selector: message.header.destChainSelector,
        sender: message.sender,
        receiver: Address::abi_decode(&message.receiver).ok(),
        data: message.data,
        extra_args: message.extraArgs,
        router_message_id: message.header.messageId,
        source_tx: log.transaction_hash.unwrap_or_default(),
        token_transfers: message.tokenAmounts.len(),
        delivered_on_source: false,
    })
}

/// The gas limit a found send asks for, or why it cannot be delivered.
pub(crate) fn gas_limit(send: &FoundSend) -> Result<alloy::primitives::U256, String> {
    ExtraArgs::decode(&send.extra_args).map(|args| args.gas_limit).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{U256, address};
    use solvency_ccip::bindings::router::Client;

    const ROUTER: Address = address!("0x1000000000000000000000000000000000000001");
    const SENDER: Address = address!("0x2000000000000000000000000000000000000002");
    const RECEIVER: Address = address!("0x3000000000000000000000000000000000000003");

    fn send_frame(error: Option<&str>) -> CallFrame {
        let call = MockCCIPRouter::ccipSendCall {
            destinationChainSelector: 42,
            message: Client::EVM2AnyMessage {
                receiver: RECEIVER.abi_encode().into(),
                data: Bytes::from_static(b"payload"),
                tokenAmounts: vec![],
                feeToken: Address::ZERO,
                extraArgs: ExtraArgs::v2(300_000).encode(),
            },
        };
        CallFrame {
            kind: "CALL".into(),
            from: SENDER,
            to: Some(ROUTER),
            input: call.abi_encode().into(),
            output: Some(B256::repeat_byte(7).abi_encode().into()),
            error: error.map(Into::into),
            calls: vec![],
        }
    }

    fn tx(root: CallFrame) -> TxTrace {
        TxTrace { tx_hash: B256::repeat_byte(1), result: root }
    }

    fn wrapper(calls: Vec<CallFrame>, error: Option<&str>) -> CallFrame {
        CallFrame {
            kind: "CALL".into(),
            from: Address::repeat_byte(9),
            to: Some(SENDER),
            input: Bytes::new(),
            output: None,
            error: error.map(Into::into),
            calls,
        }
    }

    #[test]
    fn finds_a_nested_send_with_sender_receiver_and_gas() {
        let found = find_sends(&[tx(wrapper(vec![send_frame(None)], None))], ROUTER, 5);
        assert_eq!(found.len(), 1);
        let send = &found[0];
        assert_eq!(send.sender, SENDER);
        assert_eq!(send.receiver, Some(RECEIVER));
        assert_eq!(send.dest_chain_selector, 42);
        assert_eq!(send.data, Bytes::from_static(b"payload"));
        assert_eq!(send.router_message_id, B256::repeat_byte(7));
        assert_eq!(gas_limit(send).unwrap(), U256::from(300_000u64));
        assert!(!send.delivered_on_source);
    }

    #[test]
    fn skips_sends_that_reverted_or_sit_under_a_revert() {
        assert!(find_sends(&[tx(send_frame(Some("execution reverted")))], ROUTER, 5).is_empty());
        let under = wrapper(vec![send_frame(None)], Some("execution reverted"));
        assert!(find_sends(&[tx(under)], ROUTER, 5).is_empty());
    }

    #[test]
    fn ignores_other_routers_and_other_functions() {
        let mut other = send_frame(None);
        other.to = Some(Address::repeat_byte(0xee));
        assert!(find_sends(&[tx(other)], ROUTER, 5).is_empty());
        let mut fee_query = send_frame(None);
        fee_query.input = MockCCIPRouter::getFeeCall::SELECTOR.to_vec().into();
        assert!(find_sends(&[tx(fee_query)], ROUTER, 5).is_empty());
    }

    #[test]
    fn identical_sends_get_distinct_ids() {
        let root = wrapper(vec![send_frame(None), send_frame(None)], None);
        let found = find_sends(&[tx(root)], ROUTER, 5);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].router_message_id, found[1].router_message_id);
        assert_ne!(found[0].id, found[1].id);
    }

    #[test]
    fn flags_the_same_address_trap() {
        let mut send = send_frame(None);
        send.calls.push(CallFrame {
            kind: "CALL".into(),
            from: ROUTER,
            to: Some(RECEIVER),
            input: ProbeReceiver::ccipReceiveCall::SELECTOR.to_vec().into(),
            output: None,
            error: None,
            calls: vec![],
        });
        assert!(find_sends(&[tx(send)], ROUTER, 5)[0].delivered_on_source);
    }
}
