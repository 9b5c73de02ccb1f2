//! Publishing an attestation on the hub: quote every fee first, check the hub can pay, send,
//! and return once the transaction is mined. Delivery to the spokes is watched elsewhere
//! ([`crate::watch`]): on real CCIP lanes it takes minutes to hours, and nothing waits for it.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_enclave::{ChainMessage, SolvencyAttestation};
use solvency_registry::Network;
use tracing::{info, warn};

use crate::{Backoff, ChainClient, Error, oracle::signer_expiry, rpc};

/// How long after publishing a spoke may still be checking signatures (CCIP delivery time with
/// room to spare): a signer whose registration on a spoke ends sooner is not relied on.
pub const DELIVERY_MARGIN: Duration = Duration::from_secs(600);

/// A chain an attestation must reach.
#[derive(Clone, Debug)]
pub struct Destination {
    /// Its `SolvencySpoke`.
    pub spoke: Address,
    /// The chain.
    pub client: ChainClient,
}

/// Why an attestation was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The hub's balance does not cover the CCIP fees (checked before sending anything).
    #[error(
        "the hub {hub} on {chain} holds {available} wei but publishing to every spoke costs {required} wei: \
         fund it by sending native currency to the hub's address"
    )]
    HubCannotPay {
        /// The hub chain.
        chain: String,
        /// The hub.
        hub: Address,
        /// The quoted fee.
        required: U256,
        /// The hub's balance.
        available: U256,
    },
    /// The hub refused the attestation (its custom error, decoded).
    #[error("the hub on {chain} refused epoch {epoch}: {reason}")]
    Rejected {
        /// The hub chain.
        chain: String,
        /// The epoch.
        epoch: u64,
        /// The revert, decoded.
        reason: String,
    },
    /// Fewer than k signatures from signers every chain counts.
    #[error(
        "epoch {epoch}: {counted} matching signature(s) from registered signers, {threshold} needed"
    )]
    NotEnoughSignatures {
        /// The epoch.
        epoch: u64,
        /// Signatures that count.
        counted: usize,
        /// k.
        threshold: usize,
    },
    /// A chain could not be read or written.
    #[error(transparent)]
    Chain(#[from] Error),
}

/// An attestation mined on the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The epoch.
    pub epoch: u64,
    /// Its verdict.
    pub solvent: bool,
    /// The reports it was judged on ([`solvency_enclave::reports_digest`]).
    pub reports_digest: B256,
    /// The `publish` transaction.
    pub tx_hash: B256,
    /// CCIP fees paid by the hub.
    pub fee: U256,
    /// When the receipt was seen.
    pub mined_at: Instant,
}

/// Publishes attestations from one account on the hub.
#[derive(Debug)]
pub struct Publisher {
    hub_client: ChainClient,
    hub: Address,
    sender: DynProvider,
    destinations: Vec<Destination>,
    /// Last known registration end per (chain selector, signer), for spokes that cannot be read
    /// right now: one unreachable spoke must not stop attestations on every chain.
    expiries: Mutex<HashMap<(u64, Address), u64>>,
}

impl Publisher {
    /// A publisher for a registry's hub, sending from `publisher` (it pays gas; the hub pays
    /// CCIP fees).
    pub fn new(network: &Network, publisher: PrivateKeySigner, backoff: Backoff) -> Self {
        let hub = network.hub();
        let hub_client = ChainClient::new(hub, backoff);
        // Spokes are only consulted about signer registrations: one quick retry, then the last
        // known answer.
        let quick = Backoff { attempts: 2, ..backoff };
        Self {
            sender: hub_client.sender(publisher),
            hub_client,
            hub: hub.oracle(),
            destinations: network
                .spokes()
                .map(|c| Destination { spoke: c.oracle(), client: ChainClient::new(c, quick) })
                .collect(),
            expiries: Mutex::new(HashMap::new()),
        }
    }

    /// The spokes.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// The epoch the hub holds now.
    pub async fn onchain_epoch(&self) -> Result<u64, Error> {
        Ok(self.onchain().await?.0)
    }

    /// The epoch the hub holds and its ledger root (the next attestation's parent).
    pub async fn onchain(&self) -> Result<(u64, B256), Error> {
        let hub = SolvencyHub::new(self.hub, self.hub_client.provider());
        let latest = self
            .hub_client
            .call("read latestAttestation", || async { hub.latestAttestation().call().await })
            .await?;
        Ok((latest.epoch, latest.ledgerRoot))
    }

    /// Of `signers`, those every chain counts: registered and unexpired on the hub now, and on
    /// every spoke still [`DELIVERY_MARGIN`] from now, when the attestation arrives there. A
    /// spoke that cannot be read is judged by what it said last (or, never read, like the hub),
    /// with a warning: its delivery may then fail and be retried, but the other chains go on.
    pub async fn active_signers(&self, signers: Vec<Address>) -> Result<Vec<Address>, Error> {
        let (_, hub_time) = self.hub_client.latest_block().await?;
        let mut active = Vec::with_capacity(signers.len());
        for signer in signers {
            if signer_expiry(&self.hub_client, self.hub, signer).await? >= hub_time {
                active.push(signer);
            }
        }
        for d in &self.destinations {
            let selector = d.client.selector();
            let deadline = |now: u64| now + DELIVERY_MARGIN.as_secs();
            let now = match d.client.latest_block().await {
                Ok((_, time)) => time,
                Err(e) => {
                    warn!(target: "adapters::publish", chain = %d.client.name(), error = %e,
                        "spoke unreachable: judging its signer registrations by what it said last");
                    let cache = self.expiries.lock().expect("cache lock");
                    active.retain(|s| {
                        cache.get(&(selector, *s)).is_none_or(|&e| e >= deadline(hub_time))
                    });
                    continue;
                }
            };
            let mut kept = Vec::with_capacity(active.len());
            for signer in active {
                match signer_expiry(&d.client, d.spoke, signer).await {
                    Ok(expiry) => {
                        self.expiries
                            .lock()
                            .expect("cache lock")
                            .insert((selector, signer), expiry);
                        if expiry >= deadline(now) {
                            kept.push(signer);
                        }
                    }
                    Err(e) => {
                        warn!(target: "adapters::publish", chain = %d.client.name(), error = %e,
                            "reading a signer failed: judging it by what the spoke said last");
                        let known = self
                            .expiries
                            .lock()
                            .expect("cache lock")
                            .get(&(selector, signer))
                            .copied();
                        if known.is_none_or(|e| e >= deadline(now)) {
                            kept.push(signer);
                        }
                    }
                }
            }
            active = kept;
        }
        Ok(active)
    }

    /// Quotes the fee, checks the hub can pay, publishes, and returns once the transaction is
    /// mined (not when the spokes hold it).
    pub async fn publish(
        &self,
        attestation: &SolvencyAttestation,
        signatures: Vec<Bytes>,
        messages: &[ChainMessage],
    ) -> Result<Published, PublishError> {
        let chain = self.hub_client.name().to_owned();
        let hub = SolvencyHub::new(self.hub, &self.sender);
        let att: solvency_ccip::bindings::hub::SolvencyAttestation::Attestation =
            attestation.into();
        let ins: Vec<_> = messages.iter().map(Into::into).collect();
        let epoch = attestation.epoch;
        let refused =
            |e: &alloy::contract::Error| match self.hub_client.contract_error("publish", e) {
                Error::Refused { reason, .. } => {
                    PublishError::Rejected { chain: chain.clone(), epoch, reason }
                }
                other => PublishError::Chain(other),
            };

        let fee = hub
            .quotePublish(att.clone(), signatures.clone(), ins.clone())
            .call()
            .await
            .map_err(|e| refused(&e))?;
        let available = self
            .hub_client
            .read("read the hub balance", || async {
                self.hub_client.provider().get_balance(self.hub).await
            })
            .await?;
        if available < fee {
            return Err(PublishError::HubCannotPay {
                chain,
                hub: self.hub,
                required: fee,
                available,
            });
        }
        // The estimate runs in one block and the transaction is mined in a later one: a slot the
        // hub rewrites with the block's timestamp costs 2,900 gas more when the second has
        // changed in between than when it has not, so an exact estimate can run out of gas.
        // A quarter more (at least 50,000) covers it; unused gas is not paid for.
        let call = hub.publish(att, signatures, ins);
        let estimate = call.estimate_gas().await.map_err(|e| refused(&e))?;
        let pending = call
            .gas(estimate.saturating_add((estimate / 4).max(50_000)))
            .send()
            .await
            .map_err(|e| refused(&e))?;
        let receipt = rpc::confirm(pending).await.map_err(|e| match e {
            rpc::ConfirmError::Reverted(_) => {
                PublishError::Rejected { chain: chain.clone(), epoch, reason: e.to_string() }
            }
            e => PublishError::Chain(self.hub_client.confirm_error("publish", e)),
        })?;
        info!(target: "adapters::publish", epoch, tx = %receipt.transaction_hash, %fee, "published on the hub");
        Ok(Published {
            epoch,
            solvent: attestation.solvent,
            reports_digest: attestation.reportsDigest,
            tx_hash: receipt.transaction_hash,
            fee,
            mined_at: Instant::now(),
        })
    }
}
