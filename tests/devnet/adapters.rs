//! The hub reader: confirmations, paging, and positions that resume exactly where the caller's
//! cursor says, also in the middle of a block.

use alloy::{primitives::Bytes, providers::Provider};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_chain_adapters::{Backoff, ChainClient, HubReader, LogPosition};
use solvency_tests::{as_account, devnet, reader};

/// Every report from `from` until the reader says it caught up: (seq, position).
async fn read_all_from(reader: &HubReader, mut from: LogPosition) -> Vec<(u64, LogPosition)> {
    let mut out = Vec::new();
    for _ in 0..1_000 {
        let page = reader.read_page(from).await.unwrap();
        out.extend(page.reports.iter().map(|d| (d.report.seq, d.at)));
        from = page.next;
        if page.caught_up {
            return out;
        }
    }
    panic!("never caught up");
}

#[tokio::test]
async fn the_hub_reader_waits_for_confirmations_pages_and_resumes_at_a_log_position() {
    let devnet = devnet(2, vec![]).await;
    let hub_chain = devnet.hub().clone();
    let hub = hub_chain.hub.unwrap();
    let reporter = as_account(&hub_chain, &hub_chain.reporter);
    let contract = SolvencyHub::new(hub, &reporter);
    let provider = reader(&hub_chain);
    let mine = |blocks: u64| {
        let provider = provider.clone();
        async move {
            for _ in 0..blocks {
                provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
            }
        }
    };
    for seq in 1..=3u64 {
        contract
            .submitReport(seq, Bytes::from(vec![seq as u8; 8]))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    // Two reports in one block.
    provider.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await.unwrap();
    let p4 = contract.submitReport(4, Bytes::from_static(b"four")).send().await.unwrap();
    let p5 = contract.submitReport(5, Bytes::from_static(b"five")).send().await.unwrap();
    mine(1).await;
    provider.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,)).await.unwrap();
    p4.get_receipt().await.unwrap();
    p5.get_receipt().await.unwrap();

    let client = ChainClient::from_url(
        &hub_chain.name,
        hub_chain.selector,
        &hub_chain.rpc_url,
        Backoff::default(),
    )
    .unwrap();
    // One block per page still returns every report, in log order, with increasing positions.
    let paged = HubReader::new(client.clone(), hub, 0, 1);
    let all = read_all_from(&paged, LogPosition::default()).await;
    assert_eq!(all.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert!(all.windows(2).all(|w| w[0].1 < w[1].1));
    let (four, five) = (all[3].1, all[4].1);
    assert_eq!(
        (four.block, four.log_index + 1),
        (five.block, five.log_index),
        "one block, two logs"
    );

    // Resuming inside that block gives only what follows the position.
    let resumed = read_all_from(&paged, four.next()).await;
    assert_eq!(resumed.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![5]);
    assert_eq!(paged.report_at(five).await.unwrap().unwrap().seq, 5);
    assert_eq!(paged.report_at(five.next()).await.unwrap(), None);

    // With 2 confirmations a block waits for two more on top of it: the blocks of seq 3 and of
    // seqs 4 and 5 are not read yet.
    let confirmed = HubReader::new(client, hub, 2, 1000);
    let seen = read_all_from(&confirmed, LogPosition::default()).await;
    assert_eq!(seen.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2]);
    mine(1).await;
    assert_eq!(read_all_from(&confirmed, LogPosition::default()).await.len(), 3);
    mine(1).await;
    assert_eq!(read_all_from(&confirmed, LogPosition::default()).await.len(), 5);
    devnet.shutdown().await;
}
