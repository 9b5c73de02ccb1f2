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

fn client(url: &Url) -> alloy::rpc::client::RpcClient {
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let http = alloy::transports::http::reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds");
    let client = ClientBuilder::default().http_with_client(http, url.clone());
    if local { client.with_poll_interval(Duration::from_millis(20)) } else { client }
}

/// A read-only provider.
pub fn connect(url: &Url) -> DynProvider {
    ProviderBuilder::new().connect_client(client(url)).erased()
}

/// A provider that signs and sends transactions from `signer` (nonce, gas and chain id filled).
///
/// Nonces are read from the node for every transaction rather than cached: alloy's cached
/// nonce manager hands out a nonce before gas estimation, so a transaction whose estimation
/// reverts (a refused `publish`, a replayed registration) would leave a gap, and every later
/// transaction from the account would wait forever behind it.
pub fn connect_with_signer(url: &Url, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(client(url))
        .erased()
}

/// Connection failures, timeouts and server errors are transient; an error response to a
/// well-formed request (a revert, an unknown method) is not.
pub fn is_transient(error: &alloy::transports::TransportError) -> bool {
    !matches!(error, alloy::transports::RpcError::ErrorResp(_))
}

/// An error's text with the endpoint's full URL (which may carry an API key: reqwest puts the
/// URL in its messages) replaced by `shown`.
pub fn redact(error: &impl std::fmt::Display, url: &Url, shown: &str) -> String {
    let full = url.as_str();
    error.to_string().replace(full, shown).replace(full.trim_end_matches('/'), shown)
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
