//! Devnet figures: start-up time for 3 and 10 chains, and relayer delivery latency per message.
//!
//! Run with `cargo bench -p solvency-devnet --bench devnet`. Prints medians; asserts nothing
//! about time.

use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, U256};
use solvency_ccip::bindings::{probe_receiver::ProbeReceiver, probe_sender::ProbeSender};
use solvency_chain_adapters::rpc;
use solvency_devnet::{DevAccount, Devnet, DevnetConfig, MessageState};

const STARTS: usize = 5;
const MESSAGES: usize = 60;

#[tokio::main]
async fn main() {
    for chains in [3, 10] {
        let mut took = Vec::new();
        for _ in 0..STARTS {
            let started = Instant::now();
            let devnet = Devnet::start(DevnetConfig { chains, ..DevnetConfig::default() })
                .await
                .expect("devnet starts");
            took.push(started.elapsed());
            devnet.shutdown().await;
        }
        report(&format!("devnet start, {chains} chains ({STARTS} runs)"), &mut took);
    }

    let devnet = Devnet::start(DevnetConfig::default()).await.expect("devnet starts");
    let (a, b) = (devnet.chain(0), devnet.chain(1));
    let on_a = rpc::connect_str_with_signer(&a.rpc_url, a.deployer.signer()).unwrap();
    let on_b = rpc::connect_str_with_signer(&b.rpc_url, b.deployer.signer()).unwrap();
    let sender = *ProbeSender::deploy(&on_a, a.router).await.unwrap().address();
    let receiver = *ProbeReceiver::deploy(&on_b, b.router).await.unwrap().address();
    let user = rpc::connect_str_with_signer(&a.rpc_url, DevAccount::user(0).signer()).unwrap();
    let probe = ProbeSender::new(sender, &user);
    let relayer = devnet.relayer().unwrap();

    let mut end_to_end = Vec::new();
    let mut in_relayer = Vec::new();
    for i in 0..MESSAGES {
        let payload = Bytes::from(format!("message {i}").into_bytes());
        probe
            .send(b.selector, receiver, payload, Bytes::new())
            .value(U256::from(10u64.pow(16)))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let mined = Instant::now();
        let seen = relayer
            .wait_for("the send", Duration::from_secs(60), |m| m.len() == i + 1)
            .await
            .unwrap();
        let message = relayer.wait_final(seen[i].id, Duration::from_secs(60)).await.unwrap();
        end_to_end.push(mined.elapsed());
        assert!(matches!(message.state, MessageState::Success { .. }));
        in_relayer.push(Duration::from_millis(
            message.finished_at_ms.unwrap().saturating_sub(message.detected_at_ms),
        ));
    }
    report(
        &format!("relay latency, send mined -> delivered ({MESSAGES} messages)"),
        &mut end_to_end,
    );
    report(&format!("relay latency, detected -> delivered ({MESSAGES} messages)"), &mut in_relayer);
    devnet.shutdown().await;
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p90 = samples[samples.len() * 9 / 10];
    println!(
        "{what}: median {median:.1?}, p90 {p90:.1?}, min {:.1?}, max {:.1?}",
        samples[0],
        samples[samples.len() - 1]
    );
}
