//! The hub's delivered reports as a stream: past a number of confirmations, paged, resumable from
//! a persisted cursor.
//!
//! Delivery is at least once: the cursor is saved after a page has been handed over, so a
//! restart may hand over the tail of the last page again. Consumers drop duplicates by CCIP
//! message id, and the enclave refuses replayed seqs anyway.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use solvency_enclave::DeliveredReport;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{Error, EvmAdapter};

/// How the stream reads the hub.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// The `SolvencyHub`.
    pub hub: Address,
    /// A log is read once its block has this many blocks on top of it.
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` request.
    pub page_blocks: u64,
    /// Pause between polls when caught up.
    pub poll_interval: Duration,
    /// Where the next block to read is kept (`None`: start from block 0 every time).
    pub cursor: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    next_block: u64,
}

/// Reads the saved cursor, or 0 without one.
pub fn load_cursor(path: &Path) -> Result<u64, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Cursor>(&bytes).map(|c| c.next_block).map_err(|e| {
            Error::Cursor {
                path: path.to_owned(),
                reason: format!(
                    "not a cursor file ({e}); delete it to rescan the hub from block 0"
                ),
            }
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::Cursor { path: path.to_owned(), reason: e.to_string() }),
    }
}

fn save_cursor(path: &Path, next_block: u64) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, serde_json::to_vec(&Cursor { next_block }).expect("serializes"))?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| Error::Cursor { path: path.to_owned(), reason: e.to_string() })
}

/// Starts streaming; the task ends on `cancel` or when the receiver is dropped.
pub fn spawn_report_stream(
    adapter: EvmAdapter,
    config: StreamConfig,
    cancel: CancellationToken,
) -> Result<(mpsc::Receiver<DeliveredReport>, JoinHandle<()>), Error> {
    let mut next = match &config.cursor {
        Some(path) => load_cursor(path)?,
        None => 0,
    };
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(async move {
        info!(target: "adapters::stream", chain = %adapter.name(), from = next, "streaming delivered reports");
        loop {
            let pause = match poll(&adapter, &config, next, &tx).await {
                Ok(Some(new_next)) => {
                    next = new_next;
                    if let Some(path) = &config.cursor
                        && let Err(e) = save_cursor(path, next)
                    {
                        warn!(target: "adapters::stream", error = %e, "cursor not saved");
                    }
                    Duration::ZERO
                }
                Ok(None) => config.poll_interval,
                Err(PollError::Closed) => return,
                Err(PollError::Adapter(e)) => {
                    warn!(target: "adapters::stream", chain = %adapter.name(), error = %e, "reading the hub failed; retrying");
                    config.poll_interval.max(Duration::from_millis(500))
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    });
    Ok((rx, task))
}

enum PollError {
    Closed,
    Adapter(Error),
}

/// Reads one page past the cursor; returns the new cursor, or `None` when caught up.
async fn poll(
    adapter: &EvmAdapter,
    config: &StreamConfig,
    next: u64,
    tx: &mpsc::Sender<DeliveredReport>,
) -> Result<Option<u64>, PollError> {
    let head = adapter.head().await.map_err(PollError::Adapter)?;
    let Some(safe) = head.checked_sub(config.confirmations) else { return Ok(None) };
    if safe < next {
        return Ok(None);
    }
    let to = safe.min(next.saturating_add(config.page_blocks.max(1) - 1));
    let reports = adapter
        .delivered_reports(config.hub, next, to, config.page_blocks)
        .await
        .map_err(PollError::Adapter)?;
    for (_, report) in reports {
        tx.send(report).await.map_err(|_| PollError::Closed)?;
    }
    Ok(Some(to + 1))
}
