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

/// Reads one vault's log onwards from where it left off.
pub struct VaultReader {
    client: ChainClient,
    chain_selector: u64,
    vault: Address,
    confirmations: u64,
    page: u64,
    next_block: u64,
}

impl VaultReader {
    /// A reader of `chain`'s vault from its first block.
    pub fn new(chain: &ChainConfig, vault: Address) -> Self {
        Self {
            client: ChainClient::new(chain, Backoff::default()),
            chain_selector: chain.selector,
            vault,
            confirmations: chain.confirmations,
            page: chain.log_page_blocks.max(1),
            next_block: 0,
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
        let head = self.client.head().await?;
        let confirmed = head.saturating_sub(self.confirmations);
        let mut entries = Vec::new();
        let mut next = self.next_block;
        while next <= confirmed {
            let end = confirmed.min(next.saturating_add(self.page - 1));
            let filter = Filter::new()
                .address(self.vault)
                .event_signature(ReserveVault::Logged::SIGNATURE_HASH)
                .from_block(next)
                .to_block(end);
            let logs: Vec<Log> = self
                .client
                .read("read the vault log", || self.client.provider().get_logs(&filter))
                .await?;
            for log in logs {
                entries.push(self.entry(&log)?);
            }
            next = end + 1;
        }
        self.next_block = next;
        Ok(entries)
    }

    fn entry(&self, log: &Log) -> Result<VaultEntry, Error> {
        let bad = || Error::BadLog {
            chain: self.client.name().to_owned(),
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
