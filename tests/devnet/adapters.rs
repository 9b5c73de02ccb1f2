//! The hub adapter: confirmations, paging, and a cursor that resumes without repeating.

use std::time::Duration;

use alloy::{primitives::Bytes, providers::Provider};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_chain_adapters::{Backoff, EvmAdapter, StreamConfig, spawn_report_stream};
use solvency_enclave::DeliveredReport;
use solvency_tests::{WAIT, as_account, devnet, reader};
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

async fn recv(rx: &mut Receiver<DeliveredReport>) -> DeliveredReport {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("a report in time").expect("stream open")
}

async fn nothing_more(rx: &mut Receiver<DeliveredReport>) {
    // The stream polls every 10 ms: after 20 polls with new blocks mined it would have sent it.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.is_err(),
        "unexpected report"
    );
}

#[tokio::test]
async fn the_report_stream_waits_for_confirmations_pages_and_resumes_from_its_cursor() {
    let devnet = devnet(2, vec![]).await;
    let hub_chain = devnet.hub().clone();
    let hub = hub_chain.hub.unwrap();
    let reporter = as_account(&hub_chain, &hub_chain.reporter);
    let submit = |seq: u64| {
        let reporter = reporter.clone();
        async move {
            SolvencyHub::new(hub, &reporter)
                .submitReport(seq, Bytes::from(vec![seq as u8; 8]))
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap()
        }
    };
    let mine = |blocks: u64| {
        let provider = reader(&hub_chain);
        async move {
            for _ in 0..blocks {
                provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
            }
        }
    };
    for seq in 1..=3 {
        submit(seq).await;
    }

    // Paged reads: one block per request still returns every report, in chain order.
    let adapter = EvmAdapter::connect(
        &hub_chain.name,
        hub_chain.selector,
        &hub_chain.rpc_url,
        Backoff::default(),
    )
    .unwrap();
    let head = adapter.head().await.unwrap();
    let all = adapter.delivered_reports(hub, 0, head, 1).await.unwrap();
    assert_eq!(all.iter().map(|(_, r)| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(all.iter().all(|(_, r)| r.source_chain_selector == hub_chain.selector));

    // With 2 confirmations the newest report waits for two more blocks.
    let dir = tempfile::tempdir().unwrap();
    let config = StreamConfig {
        hub,
        confirmations: 2,
        page_blocks: 1,
        poll_interval: Duration::from_millis(10),
        cursor: Some(dir.path().join("cursor.json")),
    };
    let cancel = CancellationToken::new();
    let (mut rx, task) =
        spawn_report_stream(adapter.clone(), config.clone(), cancel.clone()).unwrap();
    assert_eq!(recv(&mut rx).await.seq, 1);
    nothing_more(&mut rx).await;
    mine(1).await;
    assert_eq!(recv(&mut rx).await.seq, 2);
    nothing_more(&mut rx).await;
    mine(1).await;
    assert_eq!(recv(&mut rx).await.seq, 3);
    cancel.cancel();
    task.await.unwrap();

    // Restarted from the cursor: only what is new arrives.
    submit(4).await;
    mine(2).await;
    let cancel = CancellationToken::new();
    let (mut rx, task) = spawn_report_stream(adapter, config, cancel.clone()).unwrap();
    assert_eq!(recv(&mut rx).await.seq, 4);
    nothing_more(&mut rx).await;
    cancel.cancel();
    task.await.unwrap();
    devnet.shutdown().await;
}
