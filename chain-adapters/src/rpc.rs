//! JSON-RPC plumbing shared by every chain client: providers, receipts, transient errors.
//!
//! Providers are type-erased ([`DynProvider`]) so that callers hold one type whatever fillers
//! they need. Loopback endpoints poll every 20 ms: anvil mines on arrival, so a receipt is there
//! at once, and alloy's default 250 ms would dominate every devnet round trip.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    primitives::B256,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{client::ClientBuilder, types::TransactionReceipt},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};

/// How long one JSON-RPC request may take before it fails (and is retried where that is safe):
/// a hung endpoint must not stall anything.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a sent transaction is waited for. anvil mines at once and real chains within
/// minutes; a transaction stuck longer is reported rather than waited for forever.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a sent transaction did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// No receipt within [`RECEIPT_TIMEOUT`], or the node failed to answer.
    #[error("waiting for transaction {tx_hash}: {source}")]
    Pending {
        /// The transaction.
        tx_hash: B256,
        /// Why.
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    /// Mined, but reverted.
    #[error("transaction {0} reverted")]
    Reverted(B256),
}

/// Waits at most [`RECEIPT_TIMEOUT`] for a sent transaction and checks that it succeeded.
pub async fn confirm(
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) -> Result<TransactionReceipt, ConfirmError> {
    let tx_hash = *pending.tx_hash();
    let provider = pending.provider().clone();
    let receipt = match pending.with_timeout(Some(RECEIPT_TIMEOUT)).get_receipt().await {
        Ok(receipt) => receipt,
        // The transaction was sent; a request that failed on the way (a connection refused or
        // reset, a node busy for a moment) says nothing about it. Ask for its receipt again
        // rather than report a transaction as failed that may well be mined.
        Err(alloy::providers::PendingTransactionError::TransportError(error))
            if is_transient(&error) =>
        {
            crate::Backoff::default()
                .retry(
                    || async {
                        match provider.get_transaction_receipt(tx_hash).await {
                            Ok(Some(receipt)) => Ok(receipt),
                            Ok(None) => Err(alloy::providers::PendingTransactionError::TxWatcher(
                                alloy::providers::WatchTxError::Timeout,
                            )),
                            Err(e) => Err(e.into()),
                        }
                    },
                    |e| match e {
                        alloy::providers::PendingTransactionError::TransportError(t) => {
                            is_transient(t)
                        }
                        alloy::providers::PendingTransactionError::TxWatcher(_) => true,
                        _ => false,
                    },
                )
                .await
                .map_err(|source| ConfirmError::Pending { tx_hash, source: Box::new(source) })?
        }
        Err(source) => return Err(ConfirmError::Pending { tx_hash, source: Box::new(source) }),
    };
    if !receipt.status() {
        return Err(ConfirmError::Reverted(tx_hash));
    }
    Ok(receipt)
}

/// Why a provider could not be built from a string.
#[derive(Debug, thiserror::Error)]
#[error("RPC URL is not a valid URL ({reason}); give a full URL such as http://127.0.0.1:8545")]
pub struct InvalidRpcUrl {
    /// What the parser said.
    pub reason: String,
}

/// Parses a URL given as text (devnet and test endpoints; registries carry parsed URLs).
pub fn parse_url(url: &str) -> Result<Url, InvalidRpcUrl> {
    Url::parse(url).map_err(|e| InvalidRpcUrl { reason: e.to_string() })
}

/// How often a rate-limited request (HTTP 429 or 503, or a JSON-RPC rate-limit error) is
/// asked again, after the wait the endpoint asks for (`Retry-After`, at most five minutes) or
/// [`RATE_LIMIT_BACKOFF_MS`].
pub const RATE_LIMIT_RETRIES: u32 = 10;
/// The wait before asking a rate-limited request again when the endpoint names none.
pub const RATE_LIMIT_BACKOFF_MS: u64 = 1_000;

fn client(urls: &[Url], chain_id: Option<u64>) -> alloy::rpc::client::RpcClient {
    assert!(!urls.is_empty(), "a chain has at least one RPC endpoint");
    let local =
        urls.iter().all(|url| matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")));
    let http = alloy::transports::http::reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client builds");
    let transports =
        urls.iter()
            .map(|url| match url.scheme() {
                "ws" | "wss" => alloy::transports::BoxTransport::new(LazyWs::new(url)),
                _ => alloy::transports::BoxTransport::new(
                    alloy::transports::http::Http::with_client(http.clone(), url.clone()),
                ),
            })
            .collect();
    // Rate limits are honoured by alloy's retry layer (its compute-unit budget left
    // unbounded: endpoints say when they are busy); endpoint failures fall over in order.
    let client = ClientBuilder::default()
        .layer(alloy::transports::layers::RetryBackoffLayer::new(
            RATE_LIMIT_RETRIES,
            RATE_LIMIT_BACKOFF_MS,
            u64::MAX,
        ))
        .transport(Failover::new(transports, urls, chain_id), local);
    if local { client.with_poll_interval(Duration::from_millis(20)) } else { client }
}

/// Endpoints of one chain tried in order: a request goes to the endpoint in use, and one that
/// fails at the transport (refused, reset, timed out, an HTTP error status) is sent to the next
/// endpoint, which stays in use from then on. A JSON-RPC error answer (a revert, an unknown
/// method) is an answer, not a failure: every endpoint would give it.
///
/// Written here because alloy's `FallbackLayer` does not fit: it ranks endpoints by a score in
/// which one never used ranks below one that failed after earlier successes, so with one active
/// endpoint it never falls over, and with several it sends every request to all of them —
/// multiplying the load on rate-limited providers.
///
/// With `chain_id`, each endpoint's `eth_chainId` is checked before its first use: one that
/// serves another chain (a fallback URL of the wrong network) is never used, so nothing is
/// read from or signed for the wrong chain.
///
/// Every transport failure leaves here with its causes spelled out and each endpoint's URL
/// shown as `scheme://host:port/…`: whoever reports it — a chain client, a command calling a
/// provider directly, a log line — cannot show an endpoint's key.
#[derive(Clone)]
pub struct Failover {
    transports: std::sync::Arc<[alloy::transports::BoxTransport]>,
    /// Per endpoint, its URL and how it may be shown.
    urls: std::sync::Arc<[(Url, String)]>,
    current: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    chain_id: Option<u64>,
    /// Per endpoint, once checked: whether it serves `chain_id`.
    serves: std::sync::Arc<[tokio::sync::OnceCell<bool>]>,
}

impl Failover {
    /// Endpoints (the transports of `urls`) in the order to try them, of the chain `chain_id`
    /// if given.
    pub fn new(
        transports: Vec<alloy::transports::BoxTransport>,
        urls: &[Url],
        chain_id: Option<u64>,
    ) -> Self {
        let serves = transports.iter().map(|_| tokio::sync::OnceCell::new()).collect();
        let urls = urls.iter().map(|url| (url.clone(), shown(url))).collect();
        Self { transports: transports.into(), urls, current: Default::default(), chain_id, serves }
    }

    /// A transport failure of endpoint `index`, its causes spelled out and its URL redacted.
    fn scrub(
        &self,
        index: usize,
        error: alloy::transports::TransportError,
    ) -> alloy::transports::TransportError {
        match error {
            alloy::transports::RpcError::Transport(
                alloy::transports::TransportErrorKind::Custom(cause),
            ) => {
                let (url, shown) = &self.urls[index];
                alloy::transports::TransportErrorKind::custom_str(&redact(
                    &describe(cause.as_ref()),
                    url,
                    shown,
                ))
            }
            other => other,
        }
    }

    /// Whether endpoint `index` serves the expected chain (asked once; an endpoint that does
    /// not answer is asked again next time).
    async fn serves_chain(&self, index: usize) -> Result<bool, alloy::transports::TransportError> {
        let Some(expected) = self.chain_id else { return Ok(true) };
        let transport = self.transports[index].clone();
        self.serves[index]
            .get_or_try_init(|| async move {
                let request = alloy::rpc::json_rpc::Request::new(
                    "eth_chainId",
                    alloy::rpc::json_rpc::Id::Number(0),
                    (),
                )
                .serialize()
                .map_err(alloy::transports::TransportError::ser_err)?;
                let answer =
                    bounded(transport, alloy::rpc::json_rpc::RequestPacket::Single(request))
                        .await?;
                let served = match answer {
                    alloy::rpc::json_rpc::ResponsePacket::Single(
                        alloy::rpc::json_rpc::Response {
                            payload: alloy::rpc::json_rpc::ResponsePayload::Success(raw),
                            ..
                        },
                    ) => serde_json::from_str::<alloy::primitives::U64>(raw.get())
                        .ok()
                        .map(|id| id.to::<u64>()),
                    _ => None,
                };
                if served != Some(expected) {
                    tracing::warn!(target: "adapters::rpc", endpoint = index + 1,
                        served = ?served, expected,
                        "an RPC endpoint serves another chain; it is not used");
                }
                Ok(served == Some(expected))
            })
            .await
            .copied()
    }
}

/// One request to one endpoint, bounded by [`REQUEST_TIMEOUT`] here too: a WebSocket request
/// has no timeout of its own, and an endpoint that takes a request and never answers must not
/// hold the chain up.
async fn bounded(
    mut transport: alloy::transports::BoxTransport,
    request: alloy::rpc::json_rpc::RequestPacket,
) -> Result<alloy::rpc::json_rpc::ResponsePacket, alloy::transports::TransportError> {
    tokio::time::timeout(REQUEST_TIMEOUT, tower::Service::call(&mut transport, request))
        .await
        .unwrap_or_else(|_| {
            Err(alloy::transports::TransportErrorKind::custom_str("no answer in time"))
        })
}

impl tower::Service<alloy::rpc::json_rpc::RequestPacket> for Failover {
    type Response = alloy::rpc::json_rpc::ResponsePacket;
    type Error = alloy::transports::TransportError;
    type Future = alloy::transports::TransportFut<'static>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: alloy::rpc::json_rpc::RequestPacket) -> Self::Future {
        use std::sync::atomic::Ordering;
        let this = self.clone();
        Box::pin(async move {
            let n = this.transports.len();
            let first = this.current.load(Ordering::Relaxed) % n;
            let mut last = None;
            for step in 0..n {
                let index = (first + step) % n;
                match this.serves_chain(index).await {
                    Ok(true) => {}
                    Ok(false) => {
                        last = Some(alloy::transports::TransportErrorKind::custom_str(&format!(
                            "endpoint {} of {n} serves another chain than chain id {}",
                            index + 1,
                            this.chain_id.unwrap_or_default()
                        )));
                        continue;
                    }
                    Err(e) => {
                        last = Some(this.scrub(index, e));
                        continue;
                    }
                }
                match bounded(this.transports[index].clone(), request.clone()).await {
                    Ok(response) => {
                        if step > 0 {
                            // Only the position: an endpoint's URL may carry a key.
                            tracing::warn!(target: "adapters::rpc", endpoint = index + 1,
                                of = n, "an RPC endpoint failed; using the next one");
                            this.current.store(index, Ordering::Relaxed);
                        }
                        return Ok(scrub_answer(response));
                    }
                    Err(e @ alloy::transports::RpcError::Transport(_)) => {
                        last = Some(this.scrub(index, e));
                    }
                    Err(other) => return Err(other),
                }
            }
            Err(last.expect("at least one endpoint was tried"))
        })
    }
}

/// A WebSocket endpoint, connected at its first request (providers are built without awaiting)
/// and again after its connection is gone for good; while it lives, alloy's pub-sub service
/// reconnects by itself.
#[derive(Clone)]
struct LazyWs {
    url: String,
    frontend: std::sync::Arc<tokio::sync::Mutex<Option<alloy::pubsub::PubSubFrontend>>>,
}

impl LazyWs {
    fn new(url: &Url) -> Self {
        Self { url: url.to_string(), frontend: Default::default() }
    }
}

impl tower::Service<alloy::rpc::json_rpc::RequestPacket> for LazyWs {
    type Response = alloy::rpc::json_rpc::ResponsePacket;
    type Error = alloy::transports::TransportError;
    type Future = alloy::transports::TransportFut<'static>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: alloy::rpc::json_rpc::RequestPacket) -> Self::Future {
        use alloy::pubsub::PubSubConnect;
        let this = self.clone();
        Box::pin(async move {
            let mut frontend = {
                let mut guard = this.frontend.lock().await;
                if guard.is_none() {
                    let connect = alloy::transports::ws::WsConnect::new(this.url.clone());
                    let connected = tokio::time::timeout(REQUEST_TIMEOUT, connect.into_service())
                        .await
                        .map_err(|_| {
                            alloy::transports::TransportErrorKind::custom_str(
                                "the WebSocket did not connect in time",
                            )
                        })??;
                    *guard = Some(connected);
                }
                guard.clone().expect("connected")
            };
            let result = tower::Service::call(&mut frontend, request).await;
            if let Err(alloy::transports::RpcError::Transport(
                alloy::transports::TransportErrorKind::BackendGone,
            )) = &result
            {
                *this.frontend.lock().await = None;
            }
            result
        })
    }
}

/// A read-only provider over a chain's endpoints (in the order to try them).
pub fn connect_all(urls: &[Url], chain_id: Option<u64>) -> DynProvider {
    ProviderBuilder::new().connect_client(client(urls, chain_id)).erased()
}

/// A read-only provider.
pub fn connect(url: &Url) -> DynProvider {
    connect_all(std::slice::from_ref(url), None)
}

/// A provider that signs and sends transactions from `signer` (nonce, gas and chain id filled).
///
/// Nonces are read from the node for every transaction rather than cached: alloy's cached
/// nonce manager hands out a nonce before gas estimation, so a transaction whose estimation
/// reverts (a refused `publish`, a replayed registration) would leave a gap, and every later
/// transaction from the account would wait forever behind it.
pub fn connect_with_signer(url: &Url, signer: PrivateKeySigner) -> DynProvider {
    connect_all_with_signer(std::slice::from_ref(url), None, signer)
}

/// [`connect_with_signer`] over a chain's endpoints (in the order to try them), each checked to
/// serve `chain_id` if given.
pub fn connect_all_with_signer(
    urls: &[Url],
    chain_id: Option<u64>,
    signer: PrivateKeySigner,
) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(client(urls, chain_id))
        .erased()
}

/// Connection failures, timeouts and server errors are transient; an error response to a
/// well-formed request (a revert, an unknown method) is not.
pub fn is_transient(error: &alloy::transports::TransportError) -> bool {
    !matches!(error, alloy::transports::RpcError::ErrorResp(_))
}

/// An error answer with every URL in its message shown as [`shown`] does: a node that proxies
/// another one (an anvil fork reading its upstream) quotes that endpoint's URL, key included,
/// when the upstream fails.
fn scrub_answer(
    packet: alloy::rpc::json_rpc::ResponsePacket,
) -> alloy::rpc::json_rpc::ResponsePacket {
    use alloy::rpc::json_rpc::{Response, ResponsePacket, ResponsePayload};
    let scrub = |mut response: Response| {
        if let ResponsePayload::Failure(error) = &mut response.payload
            && error.message.contains("://")
        {
            error.message = redact_urls(&error.message).into();
        }
        response
    };
    match packet {
        ResponsePacket::Single(response) => ResponsePacket::Single(scrub(response)),
        ResponsePacket::Batch(responses) => {
            ResponsePacket::Batch(responses.into_iter().map(scrub).collect())
        }
    }
}

/// `text` with every `http(s)://` and `ws(s)://` URL in it shown as [`shown`] does.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | ';' | ',' | '>'))
            .unwrap_or(tail.len());
        match Url::parse(&tail[..end]) {
            Ok(url) => out.push_str(&shown(&url)),
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// An error and its causes, each once: "error sending request" alone does not say that a
/// certificate was refused or a connection reset.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// How an endpoint is shown: `scheme://host:port`, and `/…` when it has a path, query or user
/// part (where keys live).
fn shown(url: &Url) -> String {
    solvency_registry::RpcUrl::parse(url.as_str()).map_or_else(
        |_| format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
        |u| u.to_string(),
    )
}

/// An error's text with the endpoint's full URL (which may carry an API key: reqwest puts the
/// URL in its messages) replaced by `shown`.
pub fn redact(error: &impl std::fmt::Display, url: &Url, shown: &str) -> String {
    // reqwest shows the URL without its user part: both forms are replaced.
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    let mut text = error.to_string();
    for form in [url.as_str(), bare.as_str()] {
        text = text.replace(form, shown).replace(form.trim_end_matches('/'), shown);
    }
    text
}

/// A read-only provider for an endpoint given as text (devnet chains and tests).
pub fn connect_str(url: &str) -> Result<DynProvider, InvalidRpcUrl> {
    Ok(connect(&parse_url(url)?))
}

/// A sending provider for an endpoint given as text (devnet chains and tests).
pub fn connect_str_with_signer(
    url: &str,
    signer: PrivateKeySigner,
) -> Result<DynProvider, InvalidRpcUrl> {
    Ok(connect_with_signer(&parse_url(url)?, signer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_quoted_in_an_answer_are_shown_without_their_keys() {
        let text = "failed to get account: error sending request for url \
                    (https://eth.example/v3/APIKEY?x=1); client error (Connect), also \
                    wss://user:PASSWORD@ws.example:8546/ and http://127.0.0.1:8545";
        let shown = redact_urls(text);
        assert!(!shown.contains("APIKEY") && !shown.contains("PASSWORD"), "{shown}");
        assert!(shown.contains("(https://eth.example/…); client error (Connect)"), "{shown}");
        assert!(shown.contains("wss://ws.example:8546/…"), "{shown}");
        assert!(shown.ends_with("http://127.0.0.1:8545"), "{shown}");
    }

    #[test]
    fn redaction_covers_the_url_with_and_without_its_user_part() {
        let url = parse_url("https://operator:PASSWORD@rpc.example/v3/APIKEY").unwrap();
        let shown = "https://rpc.example/…";
        // As reqwest quotes it (without the user part), and whole.
        for quoted in ["https://rpc.example/v3/APIKEY", url.as_str()] {
            let text = redact(&format!("error sending request for url ({quoted})"), &url, shown);
            assert!(!text.contains("APIKEY") && !text.contains("PASSWORD"), "{text}");
            assert!(text.contains(shown), "{text}");
        }
    }
}
