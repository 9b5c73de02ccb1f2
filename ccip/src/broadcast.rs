//! The broadcaster: publishes a signed attestation on the hub, which sends it over CCIP to every
//! spoke, then watches each spoke until the attestation has landed.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
};
use solvency_enclave::{Instruction, SolvencyAttestation};
use tracing::{info, instrument, warn};

use crate::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};

/// How long after publishing a spoke may still be checking signatures (CCIP delivery time with
/// room to spare): a signer whose registration on a spoke ends sooner is not relied on.
pub const DELIVERY_MARGIN: Duration = Duration::from_secs(600);

/// A chain an attestation must reach.
#[derive(Clone, Debug)]
pub struct Destination {
    /// The chain's name.
    pub name: String,
    /// Its selector.
    pub selector: u64,
    /// Its `SolvencySpoke`.
    pub spoke: Address,
    /// A provider for reads.
    pub provider: DynProvider,
}

/// Why an attestation was not published.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
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
    /// The hub refused the attestation (decoded custom error where known).
    #[error("the hub on {chain} refused epoch {epoch}: {reason}")]
    Rejected {
        /// The hub chain.
        chain: String,
        /// The epoch.
        epoch: u64,
        /// The revert, decoded.
        reason: String,
    },
    /// An RPC call failed.
    #[error("{chain}: {action}: {reason}")]
    Rpc {
        /// The chain.
        chain: String,
        /// What the broadcaster was doing.
        action: String,
        /// The error.
        reason: String,
    },
}

impl BroadcastError {
    /// Worth trying again (a transport failure); a refusal or a short balance is not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Rpc { .. })
    }
}

/// One spoke's view of a publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The chain.
    pub chain: String,
    /// How long after the publish transaction was mined the spoke held the epoch, or `None` if
    /// it did not within the timeout.
    pub landed_after: Option<Duration>,
}

/// What a publication did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    /// The epoch.
    pub epoch: u64,
    /// The `publish` transaction.
    pub tx_hash: B256,
    /// CCIP fees paid by the hub.
    pub fee: U256,
    /// Per spoke.
    pub deliveries: Vec<Delivery>,
}

impl Publication {
    /// True when every spoke holds the epoch.
    pub fn fully_delivered(&self) -> bool {
        self.deliveries.iter().all(|d| d.landed_after.is_some())
    }
}

/// Publishes attestations from one account on the hub.
#[derive(Clone, Debug)]
pub struct Broadcaster {
    hub_chain: String,
    hub: Address,
    provider: DynProvider,
    destinations: Vec<Destination>,
    delivery_timeout: Duration,
}

impl Broadcaster {
    /// `provider` signs and sends from the publisher account (it pays gas; the hub pays fees).
    pub fn new(
        hub_chain: impl Into<String>,
        hub: Address,
        provider: DynProvider,
        destinations: Vec<Destination>,
        delivery_timeout: Duration,
    ) -> Self {
        Self { hub_chain: hub_chain.into(), hub, provider, destinations, delivery_timeout }
    }

    fn rpc(&self, action: &str) -> impl FnOnce(String) -> BroadcastError + '_ {
        let action = action.to_owned();
        move |reason| BroadcastError::Rpc { chain: self.hub_chain.clone(), action, reason }
    }

    /// The epoch the hub holds now.
    pub async fn onchain_epoch(&self) -> Result<u64, BroadcastError> {
        let hub = SolvencyHub::new(self.hub, &self.provider);
        let latest = hub
            .latestAttestation()
            .call()
            .await
            .map_err(|e| self.rpc("read latestAttestation")(e.to_string()))?;
        Ok(latest.epoch)
    }

    /// Of `signers`, those every chain counts: registered and not expired on the hub now, and on
    /// every spoke still [`DELIVERY_MARGIN`] from now, when the attestation arrives there. Each
    /// chain keeps its own registry and clock; a signature a spoke does not count would make its
    /// delivery fail.
    pub async fn active_signers(
        &self,
        signers: Vec<Address>,
    ) -> Result<Vec<Address>, BroadcastError> {
        let mut active = signers;
        let chains = std::iter::once((self.hub_chain.as_str(), self.hub, &self.provider, 0)).chain(
            self.destinations
                .iter()
                .map(|d| (d.name.as_str(), d.spoke, &d.provider, DELIVERY_MARGIN.as_secs())),
        );
        for (chain, oracle, provider, margin) in chains {
            let rpc = |action: &str, reason: String| BroadcastError::Rpc {
                chain: chain.to_owned(),
                action: action.to_owned(),
                reason,
            };
            let block = provider
                .get_block(Default::default())
                .await
                .map_err(|e| rpc("read the latest block", e.to_string()))?
                .ok_or_else(|| rpc("read the latest block", "no block".into()))?;
            let deadline = block.header.timestamp + margin;
            let registry = SolvencyHub::new(oracle, provider);
            let mut kept = Vec::with_capacity(active.len());
            for signer in active {
                let info = registry
                    .getSigner(signer)
                    .call()
                    .await
                    .map_err(|e| rpc("read a signer", e.to_string()))?;
                if info.expiresAt >= deadline {
                    kept.push(signer);
                }
            }
            active = kept;
        }
        Ok(active)
    }

    /// Quotes the fee, checks the hub can pay, publishes, and waits for every spoke.
    #[instrument(skip_all, fields(epoch = attestation.epoch, chain = %self.hub_chain))]
    pub async fn publish(
        &self,
        attestation: &SolvencyAttestation,
        signatures: Vec<Bytes>,
        instructions: &[Instruction],
    ) -> Result<Publication, BroadcastError> {
        let hub = SolvencyHub::new(self.hub, &self.provider);
        let att: crate::bindings::hub::SolvencyAttestation::Attestation = attestation.into();
        let ins: Vec<_> = instructions.iter().map(Into::into).collect();
        let epoch = attestation.epoch;
        let reject = |e: alloy::contract::Error| BroadcastError::Rejected {
            chain: self.hub_chain.clone(),
            epoch,
            reason: decode_revert(&e),
        };

        let fee = hub
            .quotePublish(att.clone(), signatures.clone(), ins.clone())
            .call()
            .await
            .map_err(reject)?;
        let available = self
            .provider
            .get_balance(self.hub)
            .await
            .map_err(|e| self.rpc("read the hub balance")(e.to_string()))?;
        if available < fee {
            return Err(BroadcastError::HubCannotPay {
                chain: self.hub_chain.clone(),
                hub: self.hub,
                required: fee,
                available,
            });
        }

        let pending = hub.publish(att, signatures, ins).send().await.map_err(reject)?;
        let receipt = crate::provider::confirm(pending).await.map_err(|e| match e {
            crate::provider::ConfirmError::Reverted(_) => BroadcastError::Rejected {
                chain: self.hub_chain.clone(),
                epoch,
                reason: e.to_string(),
            },
            e @ crate::provider::ConfirmError::Pending { .. } => {
                self.rpc("wait for the publish receipt")(e.to_string())
            }
        })?;
        let mined = Instant::now();
        info!(target: "ccip::broadcast", epoch, tx = %receipt.transaction_hash, %fee, "published on the hub");
        let deliveries =
            futures_wait(&self.destinations, epoch, mined, self.delivery_timeout).await;
        for d in &deliveries {
            match d.landed_after {
                Some(after) => {
                    info!(target: "ccip::broadcast", epoch, chain = %d.chain, ?after, "landed")
                }
                None => {
                    warn!(target: "ccip::broadcast", epoch, chain = %d.chain, "not landed within the timeout")
                }
            }
        }
        Ok(Publication { epoch, tx_hash: receipt.transaction_hash, fee, deliveries })
    }
}

/// Polls every destination until it holds `epoch` (or a later one), or the timeout passes.
async fn futures_wait(
    destinations: &[Destination],
    epoch: u64,
    since: Instant,
    timeout: Duration,
) -> Vec<Delivery> {
    let waits = destinations.iter().map(|d| async move {
        let spoke = SolvencySpoke::new(d.spoke, &d.provider);
        let deadline = since + timeout;
        loop {
            if let Ok(latest) = spoke.latestAttestation().call().await
                && latest.epoch >= epoch
            {
                return Delivery { chain: d.name.clone(), landed_after: Some(since.elapsed()) };
            }
            if Instant::now() >= deadline {
                return Delivery { chain: d.name.clone(), landed_after: None };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    futures::future::join_all(waits).await
}

/// A contract error as a readable string: the hub's custom error if it is one.
pub fn decode_revert(error: &alloy::contract::Error) -> String {
    match error.as_decoded_interface_error::<SolvencyHub::SolvencyHubErrors>() {
        Some(decoded) => format!("{decoded:?}"),
        None => error.to_string(),
    }
}
