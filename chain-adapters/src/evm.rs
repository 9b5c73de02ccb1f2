//! An EVM chain: delivered reports from the hub's logs, and oracle state.

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_enclave::{DeliveredReport, SolvencyAttestation};
use tracing::debug;

use crate::{Backoff, Error, error::is_transient};

/// One registered chain, over alloy.
#[derive(Clone, Debug)]
pub struct EvmAdapter {
    name: String,
    selector: u64,
    provider: DynProvider,
    backoff: Backoff,
}

/// What a chain's oracle says now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleState {
    /// `isSolvent()`.
    pub solvent: bool,
    /// `latestAttestation()`.
    pub attestation: SolvencyAttestation,
    /// The block the reads were made at.
    pub block: u64,
    /// That block's timestamp.
    pub block_timestamp: u64,
}

impl EvmAdapter {
    /// An adapter for `rpc_url` (no request is made yet).
    pub fn connect(
        name: &str,
        selector: u64,
        rpc_url: &str,
        backoff: Backoff,
    ) -> Result<Self, Error> {
        let provider = solvency_ccip::provider::connect(rpc_url)
            .map_err(|source| Error::Url { chain: name.to_owned(), source })?;
        Ok(Self { name: name.to_owned(), selector, provider, backoff })
    }

    /// The chain's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The chain's selector.
    pub fn selector(&self) -> u64 {
        self.selector
    }

    /// The underlying provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn rpc(
        &self,
        action: impl Into<String>,
    ) -> impl FnOnce(alloy::transports::TransportError) -> Error + '_ {
        let action = action.into();
        move |source| Error::Rpc { chain: self.name.clone(), action, source: Box::new(source) }
    }

    /// The latest block number, retried on transport failures.
    pub async fn head(&self) -> Result<u64, Error> {
        self.backoff
            .retry(|| self.provider.get_block_number(), is_transient)
            .await
            .map_err(self.rpc("read the latest block number"))
    }

    /// `ReportDelivered` logs of `hub` in `from..=to`, fetched in pages of `page` blocks, in
    /// chain order.
    pub async fn delivered_reports(
        &self,
        hub: Address,
        from: u64,
        to: u64,
        page: u64,
    ) -> Result<Vec<(u64, DeliveredReport)>, Error> {
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(page.max(1) - 1));
            let filter = Filter::new()
                .address(hub)
                .event_signature(SolvencyHub::ReportDelivered::SIGNATURE_HASH)
                .from_block(start)
                .to_block(end);
            let logs = self
                .backoff
                .retry(|| self.provider.get_logs(&filter), is_transient)
                .await
                .map_err(
                self.rpc(format!("read ReportDelivered logs in blocks {start}..={end}")),
            )?;
            debug!(target: "adapters::evm", chain = %self.name, start, end, logs = logs.len(), "page read");
            for log in logs {
                let bad = || Error::BadLog {
                    chain: self.name.clone(),
                    tx_hash: log.transaction_hash,
                    log_index: log.log_index,
                };
                let event = log.log_decode::<SolvencyHub::ReportDelivered>().map_err(|_| bad())?;
                let block = log.block_number.ok_or_else(bad)?;
                let e = event.inner.data;
                out.push((
                    block,
                    DeliveredReport {
                        message_id: e.messageId,
                        source_chain_selector: e.sourceChainSelector,
                        seq: e.seq,
                        payload: e.payload,
                    },
                ));
            }
            start = end + 1;
        }
        Ok(out)
    }

    /// `isSolvent()` and `latestAttestation()` of the chain's oracle, at one block.
    pub async fn read_oracle(&self, oracle: Address) -> Result<OracleState, Error> {
        let block = self
            .backoff
            .retry(|| async { self.provider.get_block(Default::default()).await }, is_transient)
            .await
            .map_err(self.rpc("read the latest block"))?
            .ok_or_else(|| Error::Missing { chain: self.name.clone(), what: "latest block" })?;
        let number = block.header.number;
        let instance = SolvencyHub::new(oracle, &self.provider);
        let contract = |action: &str| {
            let action = action.to_owned();
            move |source| Error::Contract {
                chain: self.name.clone(),
                action,
                source: Box::new(source),
            }
        };
        let solvent = self
            .backoff
            .retry(
                || async { instance.isSolvent().block(number.into()).call().await },
                |e| matches!(e, alloy::contract::Error::TransportError(t) if is_transient(t)),
            )
            .await
            .map_err(contract("call isSolvent()"))?;
        let attestation = self
            .backoff
            .retry(
                || async { instance.latestAttestation().block(number.into()).call().await },
                |e| matches!(e, alloy::contract::Error::TransportError(t) if is_transient(t)),
            )
            .await
            .map_err(contract("call latestAttestation()"))?;
        Ok(OracleState {
            solvent,
            attestation: attestation.into(),
            block: number,
            block_timestamp: block.header.timestamp,
        })
    }
}
