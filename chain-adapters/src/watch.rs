//! Watching attestations land on the spokes, from their `AttestationAccepted` events, at the
//! aggregator's polling interval. Publishing never waits for this: a delivery that takes an
//! hour is normal on real lanes, and the watcher only reports.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use alloy::{providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use solvency_ccip::bindings::oracle::SolvencyOracleBase;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{Error, publish::Destination};

/// What the watcher saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// A spoke accepted the epoch (or a later one, which supersedes it there).
    Landed {
        /// The chain.
        chain: String,
        /// The epoch published.
        epoch: u64,
        /// The epoch the spoke accepted (the same, or later).
        accepted: u64,
        /// From the publish receipt to the poll that saw it.
        after: Duration,
    },
    /// Not landed after the registry's `delivery_timeout_secs`; still watched.
    Late {
        /// The chain.
        chain: String,
        /// The epoch.
        epoch: u64,
        /// How long it has been.
        waited: Duration,
    },
}

struct Pending {
    epoch: u64,
    since: Instant,
    told_late: bool,
}

struct Spoke {
    destination: Destination,
    /// The next block to read events from; set at the first successful poll.
    next_block: Option<u64>,
    pending: BTreeMap<u64, Pending>,
    failing: bool,
}

/// Starts watching. Send `(epoch, mined_at)` for every publication; events come back. The task
/// ends on `cancel` or when the sender is dropped.
pub fn spawn_delivery_watcher(
    destinations: Vec<Destination>,
    poll: Duration,
    late_after: Duration,
    cancel: CancellationToken,
) -> (mpsc::UnboundedSender<(u64, Instant)>, mpsc::UnboundedReceiver<DeliveryEvent>, JoinHandle<()>)
{
    let (watch_tx, mut watch_rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut spokes: Vec<Spoke> = destinations
            .into_iter()
            .map(|destination| Spoke {
                destination,
                next_block: None,
                pending: BTreeMap::new(),
                failing: false,
            })
            .collect();
        // Where every spoke's events start: before anything is published.
        for spoke in &mut spokes {
            spoke.next_block = spoke.destination.client.head().await.ok();
        }
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                watch = watch_rx.recv() => match watch {
                    None => return,
                    Some((epoch, since)) => {
                        for spoke in &mut spokes {
                            spoke.pending.insert(epoch, Pending { epoch, since, told_late: false });
                        }
                    }
                },
                _ = tick.tick() => {
                    for spoke in &mut spokes {
                        if spoke.pending.is_empty() {
                            continue;
                        }
                        match poll_spoke(spoke).await {
                            Ok(events) => {
                                if spoke.failing {
                                    info!(target: "adapters::watch", chain = %spoke.destination.client.name(), "spoke reachable again");
                                    spoke.failing = false;
                                }
                                for event in events {
                                    let _ = events_tx.send(event);
                                }
                            }
                            Err(e) => {
                                if !spoke.failing {
                                    warn!(target: "adapters::watch", chain = %spoke.destination.client.name(), error = %e,
                                        "watching deliveries failed; retrying");
                                    spoke.failing = true;
                                }
                            }
                        }
                        for pending in spoke.pending.values_mut() {
                            let waited = pending.since.elapsed();
                            if !pending.told_late && waited >= late_after {
                                pending.told_late = true;
                                warn!(target: "adapters::watch", chain = %spoke.destination.client.name(), epoch = pending.epoch, ?waited,
                                    "attestation not delivered yet; still watching");
                                let _ = events_tx.send(DeliveryEvent::Late {
                                    chain: spoke.destination.client.name().to_owned(),
                                    epoch: pending.epoch,
                                    waited,
                                });
                            }
                        }
                    }
                }
            }
        }
    });
    (watch_tx, events_rx, task)
}

/// Reads the spoke's `AttestationAccepted` events since the last poll.
async fn poll_spoke(spoke: &mut Spoke) -> Result<Vec<DeliveryEvent>, Error> {
    let client = &spoke.destination.client;
    let head = client.head().await?;
    let from = match spoke.next_block {
        Some(from) => from,
        // Never reached before: the earliest pending publication is after now's head at worst
        // one poll late, so start a little back.
        None => head.saturating_sub(64),
    };
    let mut out = Vec::new();
    if head >= from {
        let filter = Filter::new()
            .address(spoke.destination.spoke)
            .event_signature(SolvencyOracleBase::AttestationAccepted::SIGNATURE_HASH)
            .from_block(from)
            .to_block(head);
        let logs = client
            .read("read AttestationAccepted logs", || client.provider().get_logs(&filter))
            .await?;
        for log in logs {
            let Ok(event) = log.log_decode::<SolvencyOracleBase::AttestationAccepted>() else {
                continue;
            };
            let accepted = event.inner.data.epoch;
            let landed: Vec<u64> = spoke.pending.range(..=accepted).map(|(e, _)| *e).collect();
            for epoch in landed {
                let pending = spoke.pending.remove(&epoch).expect("listed");
                let after = pending.since.elapsed();
                info!(target: "adapters::watch", chain = %client.name(), epoch, accepted, ?after, "landed");
                out.push(DeliveryEvent::Landed {
                    chain: client.name().to_owned(),
                    epoch,
                    accepted,
                    after,
                });
            }
        }
        spoke.next_block = Some(head + 1);
    }
    Ok(out)
}
