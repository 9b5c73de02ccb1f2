//! Reading every chain for the operator's view, and keeping the history it shows. The reads
//! themselves are `solvency_chain_adapters::view`'s; this keeps what they add up to.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use alloy::primitives::{B256, U256};
use solvency_chain_adapters::{
    Backoff, ChainClient,
    view::{ViewEvent, read_view},
};
use solvency_registry::{ChainConfig, Registry};

use super::model::{
    ChainStatus, Delivery, EpochPage, EpochRecord, HubFees, LastReport, SignerStatus, Signers,
    Status,
};

/// How far back a view that starts now reads events: the history it shows begins there.
const LOOKBACK_BLOCKS: u64 = 10_000;

/// Per chain: what has been read so far.
struct Tracked {
    config: ChainConfig,
    client: ChainClient,
    /// The next block whose events are not read yet.
    next_block: Option<u64>,
    /// Epochs this chain accepted, and when (its time).
    accepted: BTreeMap<u64, u64>,
    /// RPC requests made, for the measurement of the view's load.
    requests: u64,
}

/// Reads every chain of a registry and keeps the history.
pub struct Collector {
    deployment_id: B256,
    policy_digest: B256,
    delivery_timeout: Duration,
    chains: Vec<Tracked>,
    /// On the hub: per source selector, the latest delivered report (seq, hub time).
    delivered: HashMap<u64, (u64, u64)>,
    /// On the hub: per epoch, the fees paid and when it was sent.
    sent: BTreeMap<u64, (U256, u64)>,
    /// On the hub: per destination selector, the latest epoch sent there.
    sent_to: HashMap<u64, u64>,
    /// The hub's accepted attestations: epoch → (solvent, validUntil).
    verdicts: BTreeMap<u64, (bool, u64)>,
}

impl Collector {
    /// A collector for a registry with `[[chains]]`.
    pub fn new(registry: &Registry) -> anyhow::Result<Self> {
        let network = registry.network()?;
        let backoff = Backoff { attempts: 2, ..Backoff::default() };
        Ok(Self {
            deployment_id: registry.deployment_id,
            policy_digest: network.policy.digest(),
            delivery_timeout: registry.aggregator.delivery_timeout,
            chains: network
                .chains
                .iter()
                .map(|c| Tracked {
                    config: c.clone(),
                    client: ChainClient::new(c, backoff),
                    next_block: None,
                    accepted: BTreeMap::new(),
                    requests: 0,
                })
                .collect(),
            delivered: HashMap::new(),
            sent: BTreeMap::new(),
            sent_to: HashMap::new(),
            verdicts: BTreeMap::new(),
        })
    }

    /// RPC requests made so far, per chain name.
    pub fn requests(&self) -> Vec<(String, u64)> {
        self.chains.iter().map(|c| (c.config.name.clone(), c.requests)).collect()
    }

    /// Reads every chain once (concurrently) and returns what they show now.
    pub async fn collect(&mut self, now: u64) -> Status {
        let reads = futures::future::join_all(
            self.chains
                .iter()
                .map(|t| read_view(&t.client, &t.config, t.next_block, LOOKBACK_BLOCKS)),
        )
        .await;
        let mut chains = Vec::with_capacity(reads.len());
        let mut signers = Signers::default();
        let mut hub = HubFees::default();
        for (tracked, read) in self.chains.iter_mut().zip(reads) {
            let config = &tracked.config;
            let mut status = ChainStatus {
                name: config.name.clone(),
                selector: config.selector,
                role: config.role.name(),
                required: config.required,
                ..ChainStatus::default()
            };
            let read = match read {
                Ok(read) => read,
                Err(e) => {
                    status.error = Some(e.kind().to_owned());
                    tracing::debug!(target: "observe", chain = %config.name, error = %e, "read failed");
                    chains.push(status);
                    continue;
                }
            };
            tracked.requests += read.requests;
            status.reachable = true;
            status.block = read.block;
            status.is_solvent = read.solvent;
            status.epoch = read.epoch;
            status.issued_at = read.issued_at;
            status.valid_until = read.valid_until;
            // By the wall clock: a quiet chain's last block can be old, and its next block is stamped
            // with the time it is made.
            status.valid_for_secs = read.valid_until.saturating_sub(now.max(read.block_time));
            status.stale = read.epoch == 0 || read.block_time > read.valid_until;
            status.policy_digest_matches = read.policy_digest == self.policy_digest;
            tracked.next_block = Some(read.next_block);
            for event in read.events {
                match event {
                    ViewEvent::Accepted { epoch, solvent, valid_until, at } => {
                        tracked.accepted.insert(epoch, at);
                        if config.role.is_hub() {
                            self.verdicts.insert(epoch, (solvent, valid_until));
                        }
                    }
                    ViewEvent::Delivered { source, seq, at } => {
                        self.delivered.insert(source, (seq, at));
                    }
                    ViewEvent::Sent { dest, epoch, fee, at } => {
                        self.sent.entry(epoch).or_insert((U256::ZERO, at)).0 += fee;
                        let latest = self.sent_to.entry(dest).or_insert(epoch);
                        *latest = (*latest).max(epoch);
                    }
                }
            }
            if let Some((threshold, list)) = read.signers {
                signers = Signers {
                    threshold,
                    signers: list
                        .into_iter()
                        .map(|(address, expires_at)| SignerStatus {
                            address,
                            expires_at,
                            expires_in_secs: expires_at.saturating_sub(read.block_time),
                        })
                        .collect(),
                };
            }
            if let Some(balance) = read.balance {
                hub.balance = balance;
                hub.fee_balance_wei = balance.to_string();
            }
            chains.push(status);
        }
        // Reports as the hub delivered them; deliveries from the hub's sends and the spokes'
        // acceptances.
        for (status, tracked) in chains.iter_mut().zip(&self.chains) {
            if let Some(&(seq, at)) = self.delivered.get(&status.selector) {
                status.last_report = Some(LastReport {
                    seq,
                    at,
                    age_secs: now.saturating_sub(at),
                    source: "delivered",
                });
            }
            if let Some(&epoch) = self.sent_to.get(&status.selector) {
                let sent_at = self.sent.get(&epoch).map_or(0, |(_, at)| *at);
                let landed_at = tracked.accepted.range(epoch..).next().map(|(_, at)| *at);
                let state = match landed_at {
                    Some(_) => "landed",
                    None if now.saturating_sub(sent_at) > self.delivery_timeout.as_secs() => "late",
                    None => "pending",
                };
                status.delivery = Some(Delivery { epoch, state, sent_at, landed_at });
            }
        }
        if let Some((fee, _)) = self.sent.values().next_back() {
            hub.fee_per_round_wei = Some(fee.to_string());
            hub.rounds_left =
                (!fee.is_zero()).then(|| u64::try_from(hub.balance / *fee).unwrap_or(u64::MAX));
        }
        Status {
            deployment_id: self.deployment_id,
            mode: "dashboard",
            checked_at: now,
            chains,
            signers,
            hub,
            aggregator: None,
            alerts: Vec::new(),
        }
    }

    /// The attestation history, newest first: at most `limit` epochs below `before`.
    pub fn epochs(&self, before: Option<u64>, limit: usize) -> EpochPage {
        let hub = self.chains.iter().find(|c| c.config.role.is_hub());
        let epochs: Vec<EpochRecord> = self
            .verdicts
            .range(..before.unwrap_or(u64::MAX))
            .rev()
            .take(limit)
            .map(|(&epoch, &(solvent, valid_until))| EpochRecord {
                epoch,
                solvent,
                valid_until,
                accepted_at: hub.and_then(|h| h.accepted.get(&epoch).copied()).unwrap_or(0),
                landed: self
                    .chains
                    .iter()
                    .filter(|c| !c.config.role.is_hub())
                    .filter_map(|c| {
                        c.accepted.range(epoch..).next().map(|(_, at)| (c.config.name.clone(), *at))
                    })
                    .collect(),
            })
            .collect();
        let next_before = (epochs.len() == limit).then(|| epochs.last().map(|e| e.epoch)).flatten();
        EpochPage { epochs, next_before }
    }
}
