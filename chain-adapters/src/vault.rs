//! A chain's reserve vault log, read from its `Logged` events past the chain's confirmations,
//! page by page, for the enclave: public data (deposits and withdrawals are public by design).
//! The enclave believes the entries only as far as a report's head, checked by the hub, vouches
//! for them.

use alloy::{primitives::Address, rpc::types::Log, sol_types::SolEvent};
use solvency_ccip::bindings::vault::ReserveVault;
use solvency_enclave::ownership::{EntryKind, VaultEntry};
use solvency_registry::ChainConfig;

use crate::{Error, follow::LogFollower};

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
