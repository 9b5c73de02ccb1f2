//! A chain's reserve vault log, read from its `Logged` events past the chain's confirmations,
//! page by page, for the enclave: public data (deposits and withdrawals are public by design).
//! The enclave believes the entries only as far as a report's head, checked by the hub, vouches
//! for them.

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use solvency_ccip::bindings::vault::ReserveVault;
use solvency_enclave::ownership::{EntryKind, VaultEntry};
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

/// Reads one vault's log onwards from where it left off.
pub struct VaultReader {
    follower: LogFollower,
    chain_selector: u64,
}

impl VaultReader {
    /// A reader of `chain`'s vault from its first block.
    pub fn new(chain: &ChainConfig, vault: Address) -> Self {
        Self {
            follower: LogFollower::new(chain, vault, ReserveVault::Logged::SIGNATURE_HASH, 0),
            chain_selector: chain.selector,
        }
    }

    /// The chain's selector.
    pub fn chain_selector(&self) -> u64 {
        self.chain_selector
    }

    /// The entries logged since the last read, in order, up to the confirmed head.
    ///
    /// A failed read returns nothing and moves nothing: the next read starts where this one did.
    pub async fn read(&mut self) -> Result<Vec<VaultEntry>, Error> {
        let logs = self.follower.read("read the vault log").await?;
        let entries = logs.iter().map(|log| self.entry(log)).collect::<Result<_, _>>()?;
        self.follower.commit();
        Ok(entries)
    }

    fn entry(&self, log: &Log) -> Result<VaultEntry, Error> {
        let bad = || Error::BadLog {
            chain: self.follower.client.name().to_owned(),
            event: "Logged",
            tx_hash: log.transaction_hash,
            log_index: log.log_index,
        };
        let e = log.log_decode::<ReserveVault::Logged>().map_err(|_| bad())?.inner.data;
        Ok(VaultEntry {
            index: e.index,
            kind: EntryKind::from_u8(e.kind).ok_or_else(bad)?,
            account: e.account,
            amount: e.amount,
            timestamp: e.timestamp,
            reference: e.r#ref,
        })
    }
}
