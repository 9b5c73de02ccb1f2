//! One chain reached over its RPC endpoint: the provider, retries, and errors that name the
//! chain and never the URL's secrets.

use alloy::{
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use solvency_registry::ChainConfig;

use crate::{
    Backoff, Error,
    error::decode_revert,
    rpc::{self, InvalidRpcUrl, is_transient},
};

/// One chain's endpoint.
#[derive(Clone)]
pub struct ChainClient {
    name: String,
    selector: u64,
    /// The chain id every endpoint must serve (a registered chain's).
    chain_id: Option<u64>,
    /// Every endpoint, in the order to try them, with how each may be shown.
    urls: Vec<(Url, String)>,
    provider: DynProvider,
    backoff: Backoff,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("name", &self.name)
            .field("selector", &self.selector)
            .field("urls", &self.urls.iter().map(|(_, shown)| shown).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ChainClient {
    /// A client for a registered chain (no request is made yet).
    pub fn new(chain: &ChainConfig, backoff: Backoff) -> Self {
        let urls: Vec<(Url, String)> =
            chain.rpc_urls().map(|u| (u.expose().clone(), u.to_string())).collect();
        let endpoints: Vec<Url> = urls.iter().map(|(u, _)| u.clone()).collect();
        Self {
            name: chain.name.clone(),
            selector: chain.selector,
            provider: rpc::connect_all(&endpoints, Some(chain.chain_id)),
            chain_id: Some(chain.chain_id),
            urls,
            backoff,
        }
    }

    /// A client for one of a registered chain's endpoints alone (`index` into
    /// [`ChainConfig::rpc_urls`]), not checked to serve the chain: for asking it which chain it
    /// serves.
    pub fn endpoint(chain: &ChainConfig, index: usize, backoff: Backoff) -> Option<Self> {
        let url = chain.rpc_urls().nth(index)?;
        let (exposed, shown) = (url.expose().clone(), url.to_string());
        Some(Self {
            name: chain.name.clone(),
            selector: chain.selector,
            provider: rpc::connect(&exposed),
            chain_id: None,
            urls: vec![(exposed, shown)],
            backoff,
        })
    }

    /// A client for an endpoint given as text (devnet chains and tests).
    pub fn from_url(
        name: &str,
        selector: u64,
        url: &str,
        backoff: Backoff,
    ) -> Result<Self, InvalidRpcUrl> {
        let url = rpc::parse_url(url)?;
        Ok(Self {
            name: name.to_owned(),
            selector,
            provider: rpc::connect(&url),
            chain_id: None,
            urls: vec![(url.clone(), url.to_string())],
            backoff,
        })
    }

    /// The chain's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The chain's selector.
    pub fn selector(&self) -> u64 {
        self.selector
    }

    /// The read-only provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// A provider that sends transactions from `signer`.
    pub fn sender(&self, signer: PrivateKeySigner) -> DynProvider {
        let endpoints: Vec<Url> = self.urls.iter().map(|(u, _)| u.clone()).collect();
        rpc::connect_all_with_signer(&endpoints, self.chain_id, signer)
    }

    /// An RPC error, with its causes (endpoint URLs are already redacted by the transport,
    /// [`rpc::Failover`]).
    pub(crate) fn rpc_error(
        &self,
        action: impl Into<String>,
        error: &(dyn std::error::Error + 'static),
    ) -> Error {
        Error::Rpc { chain: self.name.clone(), action: action.into(), reason: rpc::describe(error) }
    }

    /// A contract error: a refusal (decoded) or a transport failure.
    pub(crate) fn contract_error(
        &self,
        action: impl Into<String>,
        error: &alloy::contract::Error,
    ) -> Error {
        let action = action.into();
        match error {
            alloy::contract::Error::TransportError(t) if is_transient(t) => {
                self.rpc_error(action, t)
            }
            _ => Error::Refused { chain: self.name.clone(), action, reason: decode_revert(error) },
        }
    }

    /// A confirmation failure.
    pub(crate) fn confirm_error(
        &self,
        action: impl Into<String>,
        source: rpc::ConfirmError,
    ) -> Error {
        Error::Confirm { chain: self.name.clone(), action: action.into(), source }
    }

    /// Runs a read with the client's backoff, retrying transient transport failures.
    pub(crate) async fn read<T, F, Fut>(&self, action: &str, op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, alloy::transports::TransportError>>,
    {
        self.backoff.retry(op, is_transient).await.map_err(|e| self.rpc_error(action, &e))
    }

    /// Runs a contract read with the client's backoff.
    pub(crate) async fn call<T, F, Fut>(&self, action: &str, op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, alloy::contract::Error>>,
    {
        self.backoff
            .retry(
                op,
                |e| matches!(e, alloy::contract::Error::TransportError(t) if is_transient(t)),
            )
            .await
            .map_err(|e| self.contract_error(action, &e))
    }

    /// The latest block number.
    pub async fn head(&self) -> Result<u64, Error> {
        self.read("read the latest block number", || self.provider.get_block_number()).await
    }

    /// The latest block's number and timestamp.
    pub async fn latest_block(&self) -> Result<(u64, u64), Error> {
        let block = self
            .read("read the latest block", || async {
                self.provider.get_block(Default::default()).await
            })
            .await?
            .ok_or_else(|| Error::Missing { chain: self.name.clone(), what: "latest block" })?;
        Ok((block.header.number, block.header.timestamp))
    }

    /// The chain id the endpoint serves, checked against `expected`.
    pub async fn check_chain_id(&self, expected: u64) -> Result<(), Error> {
        let actual = self.read("read the chain id", || self.provider.get_chain_id()).await?;
        if actual != expected {
            return Err(Error::WrongChain { chain: self.name.clone(), expected, actual });
        }
        Ok(())
    }

    /// The hash of block 0: tells one chain from another that reuses its chain id (a devnet
    /// started again).
    pub async fn genesis_hash(&self) -> Result<alloy::primitives::B256, Error> {
        let block = self
            .read("read block 0", || async { self.provider.get_block(0.into()).await })
            .await?
            .ok_or_else(|| Error::Missing { chain: self.name.clone(), what: "block 0" })?;
        Ok(block.header.hash)
    }
}
