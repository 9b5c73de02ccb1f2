//! Several RPC endpoints per chain: a request that fails at one endpoint goes to the next, so a
//! hub endpoint that dies mid-round loses nothing; errors never show an endpoint's secrets.

#[path = "../../aggregator/tests/faults/proxy.rs"]
mod proxy;

use std::net::SocketAddr;

use alloy::{primitives::U256, providers::Provider, rpc::types::TransactionRequest};
use proxy::Proxy;
use solvency_chain_adapters::{Backoff, ChainClient};
use solvency_devnet::DevAccount;
use solvency_registry::{Registry, schema::PolicySection};
use solvency_tests::{
    devnet,
    round::{Round, healthy},
};

fn socket(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap()
}

/// A one-chain registry whose endpoints are `urls`, in order.
fn registry_with(chain: &solvency_devnet::ChainDeployment, urls: &[String]) -> Registry {
    let text = format!(
        r#"deployment_id = "fallback"
[enclave]
hpke_public_key = "0x{key}"
signers = ["0x00000000000000000000000000000000000000aa"]

[[chains]]
name = "only"
chain_id = {id}
selector = {selector}
rpc_url = "{first}"
fallback_rpc_urls = [{rest}]
router = "{router}"
hub = "0x0000000000000000000000000000000000000002"
reporter_public_key = "0x{key}"
treasury_public_key = "0x{key}"
assets = [{{ symbol = "USDC", decimals = 6, price_usd = "1" }}]
"#,
        key = "11".repeat(32),
        id = chain.chain_id,
        selector = chain.selector,
        first = urls[0],
        rest = urls[1..].iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", "),
        router = chain.router,
    );
    Registry::parse(&text, "fallback.toml", &|_| None).unwrap()
}

#[tokio::test]
async fn a_request_that_fails_at_one_endpoint_goes_to_the_next() {
    let devnet = devnet(1, vec![]).await;
    let chain = devnet.hub().clone();
    let proxy = Proxy::start(socket(&chain.rpc_url)).await;
    // The first endpoint carries a password, as provider URLs carry keys.
    let secret = proxy.url.replace("http://", "http://operator:SECRET-KEY@");
    let registry = registry_with(&chain, &[secret.clone(), chain.rpc_url.clone()]);
    let config = &registry.network().unwrap().chains[0];
    // No retries of our own: the fallback happens within one request.
    let client = ChainClient::new(config, Backoff { attempts: 1, ..Backoff::default() });
    let before = client.head().await.unwrap();
    proxy.set_up(false);
    assert!(client.head().await.unwrap() >= before, "read through the second endpoint");
    // A transaction, too.
    let sender = client.sender(DevAccount::user(0).signer());
    let tx = TransactionRequest::default().to(DevAccount::user(1).address).value(U256::from(1u64));
    let receipt = sender.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());

    // Alone and dead, the endpoint fails clearly, and its secret is nowhere in the error — a
    // key in the path too, which the transport's own message quotes.
    let alone = registry_with(&chain, &[format!("{secret}/v3/SECRET-KEY")]);
    let client = ChainClient::new(
        &alone.network().unwrap().chains[0],
        Backoff { attempts: 1, ..Backoff::default() },
    );
    let error = client.head().await.unwrap_err().to_string();
    assert!(!error.contains("SECRET-KEY") && !error.contains("operator"), "{error}");
    assert!(error.contains("chain only"), "{error}");
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_hub_endpoint_that_dies_mid_round_loses_nothing() {
    let mut round = Round::start(2, PolicySection::default()).await;
    let hub = round.devnet.hub().clone();
    let proxy = Proxy::start(socket(&hub.rpc_url)).await;
    // The aggregator reaches the hub through the proxy first, the node itself second.
    let url = proxy.url.clone();
    round
        .restart_with(|file| {
            let chain = file.chains.iter_mut().find(|c| c.hub.is_some()).unwrap();
            chain.fallback_rpc_urls = vec![chain.rpc_url.clone()];
            chain.rpc_url = url;
        })
        .await;
    let (first, _) = round.honest_round(1, |_| healthy()).await;
    // The first endpoint dies with the next round's reports on their way: without the second
    // the aggregator could neither read them nor publish.
    let digest = round.submit_all(2, |_| healthy()).await;
    proxy.set_up(false);
    let (second, solvent) = round.landed_with(digest).await;
    assert_eq!((first, second, solvent), (1, 2, true), "every report of round 2 counted, once");
    for state in round.oracles().await {
        assert_eq!(state.attestation.epoch, 2);
    }
    round.stop().await;
}
