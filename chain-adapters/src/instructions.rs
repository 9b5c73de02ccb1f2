//! A chain's sealed instructions, as its oracle (hub or spoke) emits them on delivery
//! (`InstructionDelivered(uint64 indexed epoch, bytes payload)`), for the chain's treasury.

use alloy::{primitives::Bytes, rpc::types::Log, sol_types::SolEvent};
use solvency_ccip::bindings::spoke::SolvencySpoke;
use solvency_registry::ChainConfig;

use crate::{Error, follow::LogFollower};

/// One delivered instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Its epoch.
    pub epoch: u64,
    /// The sealed instruction.
    pub payload: Bytes,
    /// The block it was delivered in.
    pub block: u64,
}

/// Reads a chain's delivered instructions onwards from where it left off.
pub struct InstructionReader {
    follower: LogFollower,
}

impl InstructionReader {
    /// A reader of `chain`'s instructions from `from_block`.
    pub fn new(chain: &ChainConfig, from_block: u64) -> Self {
        Self {
            follower: LogFollower::new(
                chain,
                chain.oracle(),
                // The hub emits the same event for its own chain.
                SolvencySpoke::InstructionDelivered::SIGNATURE_HASH,
                from_block,
            ),
        }
    }

    /// The chain's latest block (to start a reader at).
    pub async fn head(chain: &ChainConfig) -> Result<u64, Error> {
        crate::ChainClient::new(chain, crate::Backoff::default()).head().await
    }

    /// The instructions delivered since the last read, in order.
    pub async fn read(&mut self) -> Result<Vec<Delivered>, Error> {
        let logs = self.follower.read("read the delivered instructions").await?;
        let delivered = logs.iter().map(|log| self.delivered(log)).collect::<Result<_, _>>()?;
        self.follower.commit();
        Ok(delivered)
    }

    fn delivered(&self, log: &Log) -> Result<Delivered, Error> {
        let e = log
            .log_decode::<SolvencySpoke::InstructionDelivered>()
            .map_err(|_| Error::BadLog {
                chain: self.follower.client.name().to_owned(),
                event: "InstructionDelivered",
                tx_hash: log.transaction_hash,
                log_index: log.log_index,
            })?
            .inner
            .data;
        Ok(Delivered { epoch: e.epoch, payload: e.payload, block: log.block_number.unwrap_or(0) })
    }
}
