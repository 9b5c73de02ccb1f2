//! Following one event of one contract, page by page past a chain's confirmations: the vault
//! logs and the delivered instructions are read so.

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log},
};
use solvency_registry::ChainConfig;

use crate::{Backoff, ChainClient, Error};

/// Follows one event of one contract past a chain's confirmations, page by page, from where it
/// left off. Nothing moves until the caller [`LogFollower::commit`]s what it read: a failed
/// read, or logs the caller could not use, are read again next time.
pub(crate) struct LogFollower {
    pub(crate) client: ChainClient,
    address: Address,
    topic0: alloy::primitives::B256,
    confirmations: u64,
    page: u64,
    next_block: u64,
    read_to: u64,
}

impl LogFollower {
    pub(crate) fn new(
        chain: &ChainConfig,
        address: Address,
        topic0: alloy::primitives::B256,
        from_block: u64,
    ) -> Self {
        Self {
            client: ChainClient::new(chain, Backoff::default()),
            address,
            topic0,
            confirmations: chain.confirmations,
            page: chain.log_page_blocks.max(1),
            next_block: from_block,
            read_to: from_block,
        }
    }

    /// Marks the logs of the last read as taken: the next read starts after them.
    pub(crate) fn commit(&mut self) {
        self.next_block = self.read_to;
    }

    /// The logs since the last commit, in order, up to the confirmed head.
    pub(crate) async fn read(&mut self, action: &str) -> Result<Vec<Log>, Error> {
        let head = self.client.head().await?;
        let confirmed = head.saturating_sub(self.confirmations);
        let mut out = Vec::new();
        let mut next = self.next_block;
        while next <= confirmed {
            let end = confirmed.min(next.saturating_add(self.page - 1));
            let filter = Filter::new()
                .address(self.address)
                .event_signature(self.topic0)
                .from_block(next)
                .to_block(end);
            let logs: Vec<Log> =
                self.client.read(action, || self.client.provider().get_logs(&filter)).await?;
            out.extend(logs);
            next = end + 1;
        }
        self.read_to = next;
        Ok(out)
    }
}
