//! The public shape of a chain's traffic, for measuring that recovery is invisible
//! (docs/self-healing.md, "Public and hidden"): per transaction, its sender, target, selector
//! and calldata length, its logs (`topics[0]` and data length), its call tree and the storage
//! slots it touched — everything but the values — and its gas.

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    transports::TransportResult,
};

/// One transaction's public shape, without its gas.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shape {
    /// The sender.
    pub from: Address,
    /// The target (zero for a creation).
    pub to: Address,
    /// The first four bytes of the calldata.
    pub selector: [u8; 4],
    /// The calldata's length.
    pub calldata: usize,
    /// (topics[0], data length) of each log, in order.
    pub logs: Vec<(B256, usize)>,
    /// The call tree, depth first: (type, to, input length) of every call.
    pub calls: Vec<(String, Address, usize)>,
    /// Storage slots touched (read or written), per contract, in address order.
    pub slots: Vec<(Address, usize)>,
}

/// The call tree of a transaction, depth first (anvil's `callTracer`).
fn flatten(call: &serde_json::Value, out: &mut Vec<(String, Address, usize)>) {
    let to = call["to"].as_str().and_then(|a| a.parse().ok()).unwrap_or_default();
    let input = call["input"].as_str().map_or(0, |i| i.len().saturating_sub(2) / 2);
    out.push((call["type"].as_str().unwrap_or_default().to_owned(), to, input));
    for inner in call["calls"].as_array().into_iter().flatten() {
        flatten(inner, out);
    }
}

/// Storage slots touched, per contract (anvil's `prestateTracer`). Touched rather than changed:
/// whether a write changes a value depends on the value (two epochs in one second leave a
/// timestamp as it was), and what matters here is which slots the code path writes; a
/// zero-to-non-zero write shows in `gasUsed`.
fn touched_slots(prestate: &serde_json::Value) -> Vec<(Address, usize)> {
    let mut out: Vec<(Address, usize)> = prestate
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(address, state)| {
            let slots = state["storage"].as_object().map_or(0, |s| s.len());
            (slots > 0).then(|| (address.parse().unwrap_or_default(), slots))
        })
        .collect();
    out.sort();
    out
}

/// Every transaction a chain mined between two blocks: its shape and gas.
///
/// Needs a node that traces (`debug_traceTransaction` with geth's `callTracer` and
/// `prestateTracer`, as anvil does).
pub async fn traffic(
    provider: &DynProvider,
    from: u64,
    to: u64,
) -> TransportResult<Vec<(Shape, u64)>> {
    let mut out = Vec::new();
    for number in from + 1..=to {
        let receipts = provider.get_block_receipts(number.into()).await?.unwrap_or_default();
        for receipt in receipts {
            let Some(tx) = provider.get_transaction_by_hash(receipt.transaction_hash).await? else {
                continue;
            };
            let input = tx.input();
            let trace = |tracer: serde_json::Value| {
                let provider = provider.clone();
                let hash = receipt.transaction_hash;
                async move {
                    provider
                        .raw_request::<_, serde_json::Value>(
                            "debug_traceTransaction".into(),
                            (hash, tracer),
                        )
                        .await
                }
            };
            let mut calls = Vec::new();
            flatten(&trace(serde_json::json!({ "tracer": "callTracer" })).await?, &mut calls);
            let slots =
                touched_slots(&trace(serde_json::json!({ "tracer": "prestateTracer" })).await?);
            out.push((
                Shape {
                    from: receipt.from,
                    to: receipt.to.unwrap_or_default(),
                    selector: input.get(..4).map_or([0; 4], |s| s.try_into().unwrap()),
                    calldata: input.len(),
                    logs: receipt
                        .inner
                        .logs()
                        .iter()
                        .map(|l| {
                            (l.topics().first().copied().unwrap_or_default(), l.data().data.len())
                        })
                        .collect(),
                    calls,
                    slots,
                },
                receipt.gas_used,
            ));
        }
    }
    out.sort();
    Ok(out)
}
