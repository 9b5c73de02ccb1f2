//! The hub's delivered reports, read page by page past a number of confirmations.
//!
//! The reader is pulled, not pushed: the caller asks for the page after a [`LogPosition`] and
//! decides when a position counts as done. The aggregator moves its cursor past a report only
//! once the enclave has judged it, so a crash at any point loses no report.

use std::sync::atomic::{AtomicBool, Ordering};

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use serde::{Deserialize, Serialize};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_enclave::DeliveredReport;
use tracing::{debug, warn};

use crate::{ChainClient, Error};

/// A place in the hub's log: a block, and a log index within it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogPosition {
    /// The block.
    pub block: u64,
    /// The log's index in the block.
    pub log_index: u64,
}

impl LogPosition {
    /// The start of a block.
    pub fn block_start(block: u64) -> Self {
        Self { block, log_index: 0 }
    }

    /// The position right after this one.
    pub fn next(self) -> Self {
        Self { block: self.block, log_index: self.log_index + 1 }
    }
}

/// A delivered report and where it is in the hub's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Where.
    pub at: LogPosition,
    /// The report as the hub emitted it.
    pub report: DeliveredReport,
}

/// One page of reports.
#[derive(Clone, Debug)]
pub struct Page {
    /// The reports, in log order.
    pub reports: Vec<Delivered>,
    /// Where the next page starts.
    pub next: LogPosition,
    /// True when the page reached the confirmed head: nothing more is there to read now.
    pub caught_up: bool,
}

/// Reads `ReportDelivered` from one `SolvencyHub`.
#[derive(Debug)]
pub struct HubReader {
    client: ChainClient,
    hub: Address,
    confirmations: u64,
    page_blocks: u64,
    told_low_head: AtomicBool,
}

impl HubReader {
    /// A reader of `hub` on `client`'s chain.
    pub fn new(client: ChainClient, hub: Address, confirmations: u64, page_blocks: u64) -> Self {
        Self {
            client,
            hub,
            confirmations,
            page_blocks: page_blocks.max(1),
            told_low_head: AtomicBool::new(false),
        }
    }

    /// The chain client.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    /// The reports from `from` up to at most one page of blocks, all under the required number
    /// of confirmations.
    pub async fn read_page(&self, from: LogPosition) -> Result<Page, Error> {
        let head = self.client.head().await?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            if !self.told_low_head.swap(true, Ordering::Relaxed) {
                warn!(target: "adapters::hub", chain = %self.client.name(), head,
                    confirmations = self.confirmations,
                    "the hub chain is lower than the confirmations asked for: no report is read until it passes them");
            }
            return Ok(Page { reports: Vec::new(), next: from, caught_up: true });
        };
        if safe < from.block {
            return Ok(Page { reports: Vec::new(), next: from, caught_up: true });
        }
        let to = safe.min(from.block.saturating_add(self.page_blocks - 1));
        let reports =
            self.logs(from.block, to).await?.into_iter().filter(|d| d.at >= from).collect();
        Ok(Page { reports, next: LogPosition::block_start(to + 1), caught_up: to == safe })
    }

    /// The report at `at`, if there is one (to give an enclave its last accepted report again).
    pub async fn report_at(&self, at: LogPosition) -> Result<Option<DeliveredReport>, Error> {
        Ok(self.logs(at.block, at.block).await?.into_iter().find(|d| d.at == at).map(|d| d.report))
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Delivered>, Error> {
        let filter = Filter::new()
            .address(self.hub)
            .event_signature(SolvencyHub::ReportDelivered::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = self
            .client
            .read(&format!("read ReportDelivered logs in blocks {from}..={to}"), || {
                self.client.provider().get_logs(&filter)
            })
            .await?;
        debug!(target: "adapters::hub", chain = %self.client.name(), from, to, logs = logs.len(), "page read");
        let mut out = logs.iter().map(|log| self.decode(log)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|d| d.at);
        Ok(out)
    }

    fn decode(&self, log: &Log) -> Result<Delivered, Error> {
        let bad = || Error::BadLog {
            chain: self.client.name().to_owned(),
            event: "ReportDelivered",
            tx_hash: log.transaction_hash,
            log_index: log.log_index,
        };
        let event = log.log_decode::<SolvencyHub::ReportDelivered>().map_err(|_| bad())?;
        let at = LogPosition {
            block: log.block_number.ok_or_else(bad)?,
            log_index: log.log_index.ok_or_else(bad)?,
        };
        let e = event.inner.data;
        Ok(Delivered {
            at,
            report: DeliveredReport {
                message_id: e.messageId,
                source_chain_selector: e.sourceChainSelector,
                seq: e.seq,
                payload: e.payload,
                // The vault head the report carried, as the hub keeps it for `publish`.
                head: solvency_enclave::VaultHead { count: e.logCount, head: e.logHead },
            },
        })
    }
}
