//! What a view of the deployment reads from each chain: the oracle's state at the head, its
//! policy digest, and the events that make the history (attestations accepted on every chain;
//! reports delivered, attestations sent, signers and the fee balance on the hub). Public state
//! only: no key, no figure.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use solvency_ccip::bindings::{hub::SolvencyHub, oracle::SolvencyOracleBase};
use solvency_registry::ChainConfig;

use crate::{ChainClient, Error};

/// What one chain's oracle (and, on the hub, its signers, fees and events) says.
#[derive(Clone, Debug)]
pub struct ViewRead {
    /// The head.
    pub block: u64,
    /// Its timestamp.
    pub block_time: u64,
    /// `isSolvent()`.
    pub solvent: bool,
    /// The epoch held.
    pub epoch: u64,
    /// Its `issuedAt`.
    pub issued_at: u64,
    /// Its `validUntil`.
    pub valid_until: u64,
    /// `getPolicyDigest()`.
    pub policy_digest: B256,
    /// The block to read events from next time.
    pub next_block: u64,
    /// Events since the last read, in order.
    pub events: Vec<ViewEvent>,
    /// On the hub: the threshold and every signer with its registration's end.
    pub signers: Option<(u8, Vec<(Address, u64)>)>,
    /// On the hub: its fee balance.
    pub balance: Option<U256>,
    /// RPC requests this read made.
    pub requests: u64,
}

/// An event of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewEvent {
    /// The chain accepted an attestation (at: the chain's time).
    Accepted {
        /// The epoch.
        epoch: u64,
        /// Its verdict.
        solvent: bool,
        /// Its `validUntil`.
        valid_until: u64,
        /// When.
        at: u64,
    },
    /// The hub emitted a report.
    Delivered {
        /// The reporting chain.
        source: u64,
        /// Its seq.
        seq: u64,
        /// When.
        at: u64,
    },
    /// The hub sent an attestation to a spoke.
    Sent {
        /// The spoke's selector.
        dest: u64,
        /// The epoch.
        epoch: u64,
        /// The CCIP fee paid.
        fee: U256,
        /// When.
        at: u64,
    },
}

/// Reads a chain's oracle at its head, and the events after `since` (or, on a first read,
/// from `lookback` blocks back, and never before the hub's `from_block`).
pub async fn read_view(
    client: &ChainClient,
    config: &ChainConfig,
    since: Option<u64>,
    lookback: u64,
) -> Result<ViewRead, Error> {
    let requests = AtomicU64::new(0);
    let mut read = read_chain(client, config, since, lookback, &requests).await?;
    read.requests = requests.load(Ordering::Relaxed);
    Ok(read)
}

async fn read_chain(
    client: &ChainClient,
    config: &ChainConfig,
    since: Option<u64>,
    lookback: u64,
    requests: &AtomicU64,
) -> Result<ViewRead, Error> {
    let count = |n: u64| requests.fetch_add(n, Ordering::Relaxed);
    let (block, block_time) = client.latest_block().await?;
    let oracle = SolvencyOracleBase::new(config.oracle(), client.provider());
    count(4);
    let at = block.into();
    let solvent = match client
        .call("call isSolvent()", || async { oracle.isSolvent().block(at).call().await })
        .await
    {
        Ok(solvent) => solvent,
        Err(e) => {
            return Err(crate::oracle::no_contract(client, config.oracle(), "oracle")
                .await
                .unwrap_or(e));
        }
    };
    let attestation = client
        .call("call latestAttestation()", || async {
            oracle.latestAttestation().block(at).call().await
        })
        .await?;
    let policy_digest = client
        .call("call getPolicyDigest()", || async {
            oracle.getPolicyDigest().block(at).call().await
        })
        .await?;

    // Events since the last read (or a look-back window on the first).
    let is_hub = config.role.is_hub();
    let first = match since {
        Some(next) => next,
        None if is_hub => config.from_block.max(block.saturating_sub(lookback)),
        None => block.saturating_sub(lookback),
    };
    let mut events = Vec::new();
    let mut times: HashMap<u64, u64> = HashMap::new();
    let mut start = first;
    let page = config.log_page_blocks.max(1);
    while start <= block {
        let end = block.min(start.saturating_add(page - 1));
        let mut signatures = vec![SolvencyOracleBase::AttestationAccepted::SIGNATURE_HASH];
        if is_hub {
            signatures.push(SolvencyHub::ReportDelivered::SIGNATURE_HASH);
            signatures.push(SolvencyHub::AttestationSent::SIGNATURE_HASH);
        }
        let filter = Filter::new()
            .address(config.oracle())
            .event_signature(signatures)
            .from_block(start)
            .to_block(end);
        count(1);
        let logs: Vec<Log> =
            client.read("read events", || client.provider().get_logs(&filter)).await?;
        for log in logs {
            let Some(number) = log.block_number else { continue };
            let at = match times.get(&number) {
                Some(at) => *at,
                None => {
                    count(1);
                    let block = client
                        .read("read a block", || async {
                            client.provider().get_block(number.into()).await
                        })
                        .await?;
                    let at = block.map_or(0, |b| b.header.timestamp);
                    times.insert(number, at);
                    at
                }
            };
            if let Ok(e) = log.log_decode::<SolvencyOracleBase::AttestationAccepted>() {
                let e = e.inner.data;
                events.push(ViewEvent::Accepted {
                    epoch: e.epoch,
                    solvent: e.solvent,
                    valid_until: e.validUntil,
                    at,
                });
            } else if let Ok(e) = log.log_decode::<SolvencyHub::ReportDelivered>() {
                let e = e.inner.data;
                events.push(ViewEvent::Delivered { source: e.sourceChainSelector, seq: e.seq, at });
            } else if let Ok(e) = log.log_decode::<SolvencyHub::AttestationSent>() {
                let e = e.inner.data;
                events.push(ViewEvent::Sent {
                    dest: e.destChainSelector,
                    epoch: e.epoch,
                    fee: e.fee,
                    at,
                });
            }
        }
        start = end + 1;
    }

    let (signers, balance) = if is_hub {
        count(2);
        let set = client
            .call("call getSigners()", || async { oracle.getSigners().block(at).call().await })
            .await?;
        let mut signers = Vec::with_capacity(set.signers.len());
        for address in set.signers {
            count(1);
            let info = client
                .call("call getSigner()", || async {
                    oracle.getSigner(address).block(at).call().await
                })
                .await?;
            signers.push((address, info.expiresAt));
        }
        let balance = client
            .read("read the hub balance", || async {
                client.provider().get_balance(config.oracle()).block_id(at).await
            })
            .await?;
        (Some((set.threshold, signers)), Some(balance))
    } else {
        (None, None)
    };
    Ok(ViewRead {
        block,
        block_time,
        solvent,
        epoch: attestation.epoch,
        issued_at: attestation.issuedAt,
        valid_until: attestation.validUntil,
        policy_digest,
        next_block: block + 1,
        events,
        signers,
        balance,
        requests: 0,
    })
}
