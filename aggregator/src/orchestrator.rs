//! The orchestrator: hub adapter → dedupe by CCIP message id → enclave → trigger → broadcaster,
//! under one shutdown signal.
//!
//! One task owns the enclave, so ingest and attest never race. An attestation is made when every
//! required chain has reported since the last one (a round is complete), and at least every
//! `attestation_interval_secs` while the enclave can attest, so consumers never see a valid
//! attestation expire while reports keep coming.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use anyhow::Context;
use moka::future::Cache;
use solvency_ccip::broadcast::{BroadcastError, Broadcaster, Destination, Publication};
use solvency_chain_adapters::{Backoff, EvmAdapter, StreamConfig, spawn_report_stream};
use solvency_enclave::{DeliveredReport, Enclave, EnclaveKeys, EnclaveState};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::NetworksFile;

/// What the orchestrator did, for the demo, tests and monitoring. Never carries an amount.
#[derive(Debug, Clone)]
pub enum Event {
    /// A report passed every rule.
    ReportAccepted {
        /// The chain.
        chain: String,
        /// Its seq.
        seq: u64,
        /// The CCIP message.
        message_id: B256,
    },
    /// A report was refused; the reason names the rule.
    ReportRefused {
        /// The CCIP message.
        message_id: B256,
        /// Why.
        reason: String,
    },
    /// A delivery seen before was dropped.
    Duplicate {
        /// The CCIP message.
        message_id: B256,
    },
    /// The enclave could not attest (a required chain is missing or stale).
    NotReady {
        /// Why.
        reason: String,
    },
    /// An attestation was published.
    Published {
        /// Its outcome.
        solvent: bool,
        /// What the broadcaster saw.
        publication: Publication,
        /// From the trigger to the last spoke holding it.
        took: Duration,
    },
    /// Publishing failed; the next trigger tries again.
    PublishFailed {
        /// Why.
        reason: String,
    },
}

/// Everything `run` needs.
pub struct Setup {
    /// A validated registry with `[[chains]]` and `[enclave]`.
    pub networks: NetworksFile,
    /// The enclave's keys.
    pub keys: EnclaveKeys,
    /// The account that sends `publish`.
    pub publisher: PrivateKeySigner,
    /// Where the cursor and the enclave's non-secret state live.
    pub state_dir: PathBuf,
}

const ENCLAVE_STATE: &str = "enclave-state.json";
const HUB_CURSOR: &str = "hub-cursor.json";

/// Runs until `cancel`. `events` (if any) receives what happens.
pub async fn run(
    setup: Setup,
    cancel: CancellationToken,
    events: Option<mpsc::UnboundedSender<Event>>,
) -> anyhow::Result<()> {
    let Setup { networks, keys, publisher, state_dir } = setup;
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    let hub = networks.hub_chain().context("the registry has no hub chain")?.clone();
    let hub_address = hub.hub.expect("the hub chain has a hub");
    let policy = networks.enclave_policy();
    let required: BTreeSet<u64> =
        policy.chains.iter().filter(|c| c.required).map(|c| c.selector).collect();
    let interval = Duration::from_secs(networks.policy.attestation_interval_secs);
    let state = load_state(&state_dir.join(ENCLAVE_STATE))?;
    let mut enclave = Enclave::new(keys, policy, state);
    info!(target: "aggregator", signer = %enclave.public().signer, chains = networks.chains.len(), "aggregator starting");

    let poll = Duration::from_millis(networks.aggregator.poll_interval_ms);
    let adapter = EvmAdapter::connect(&hub.name, hub.selector, &hub.rpc_url, Backoff::default())?;
    let (mut reports, stream_task) = spawn_report_stream(
        adapter,
        StreamConfig {
            hub: hub_address,
            confirmations: hub.confirmations,
            page_blocks: hub.log_page_blocks,
            poll_interval: poll,
            cursor: Some(state_dir.join(HUB_CURSOR)),
        },
        cancel.clone(),
    )?;
    let broadcaster = broadcaster(&networks, publisher)?;
    let seen: Cache<B256, ()> = Cache::new(networks.aggregator.dedupe_capacity);
    let emit = |event: Event| {
        if let Some(events) = &events {
            let _ = events.send(event);
        }
    };

    let mut reported: BTreeSet<u64> = BTreeSet::new();
    let mut cadence = tokio::time::interval(interval);
    cadence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    cadence.tick().await; // the first tick is immediate
    loop {
        let trigger = tokio::select! {
            _ = cancel.cancelled() => break,
            report = reports.recv() => match report {
                None => break,
                Some(report) => {
                    if seen.contains_key(&report.message_id) {
                        emit(Event::Duplicate { message_id: report.message_id });
                        continue;
                    }
                    seen.insert(report.message_id, ()).await;
                    match ingest(&mut enclave, &report, &state_dir) {
                        Ok(event) => {
                            if let Event::ReportAccepted { .. } = &event {
                                reported.insert(report.source_chain_selector);
                            }
                            emit(event);
                        }
                        Err(e) => warn!(target: "aggregator", error = %e, "saving the enclave state failed"),
                    }
                    required.is_subset(&reported)
                }
            },
            _ = cadence.tick() => true,
        };
        if !trigger {
            continue;
        }
        let started = Instant::now();
        match attest_and_publish(&mut enclave, &broadcaster, &state_dir).await {
            Ok(Some((solvent, publication))) => {
                reported.clear();
                cadence.reset();
                emit(Event::Published { solvent, publication, took: started.elapsed() });
            }
            Ok(None) => {}
            Err(Outcome::NotReady(reason)) => {
                info!(target: "aggregator", %reason, "not attesting yet");
                emit(Event::NotReady { reason });
            }
            Err(Outcome::Failed(reason)) => {
                warn!(target: "aggregator", %reason, "publish failed; the next trigger retries");
                emit(Event::PublishFailed { reason });
            }
        }
    }
    cancel.cancel();
    let _ = stream_task.await;
    info!(target: "aggregator", "aggregator stopped");
    Ok(())
}

enum Outcome {
    NotReady(String),
    Failed(String),
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Ingests one report and persists the enclave's state when it was accepted.
fn ingest(
    enclave: &mut Enclave,
    report: &DeliveredReport,
    state_dir: &Path,
) -> anyhow::Result<Event> {
    Ok(match enclave.ingest(report, now()) {
        Ok(accepted) => {
            save_state(&state_dir.join(ENCLAVE_STATE), enclave.state())?;
            info!(target: "aggregator", chain = %accepted.chain, seq = accepted.seq, id = %accepted.message_id, "report accepted");
            Event::ReportAccepted {
                chain: accepted.chain,
                seq: accepted.seq,
                message_id: accepted.message_id,
            }
        }
        Err(e) => {
            warn!(target: "aggregator", id = %report.message_id, error = %e, "report refused");
            Event::ReportRefused { message_id: report.message_id, reason: e.to_string() }
        }
    })
}

async fn attest_and_publish(
    enclave: &mut Enclave,
    broadcaster: &Broadcaster,
    state_dir: &Path,
) -> Result<Option<(bool, Publication)>, Outcome> {
    // Check readiness before reading the chain, so a quiet deployment costs no RPC.
    if let Err(e) = enclave.assess(now()) {
        return Err(Outcome::NotReady(e.to_string()));
    }
    let onchain = broadcaster.onchain_epoch().await.map_err(|e| Outcome::Failed(e.to_string()))?;
    let signed = enclave.attest(now(), onchain).map_err(|e| Outcome::NotReady(e.to_string()))?;
    save_state(&state_dir.join(ENCLAVE_STATE), enclave.state())
        .map_err(|e| Outcome::Failed(e.to_string()))?;
    let a = &signed.attestation;
    info!(target: "aggregator", epoch = a.epoch, solvent = a.solvent, "attestation signed");
    match broadcaster.publish(a, vec![signed.signature.clone()], &signed.instructions).await {
        Ok(publication) => Ok(Some((a.solvent, publication))),
        Err(e @ BroadcastError::HubCannotPay { .. }) => Err(Outcome::Failed(e.to_string())),
        Err(e) => Err(Outcome::Failed(e.to_string())),
    }
}

fn broadcaster(
    networks: &NetworksFile,
    publisher: PrivateKeySigner,
) -> anyhow::Result<Broadcaster> {
    let hub = networks.hub_chain().context("no hub chain")?;
    let provider = solvency_ccip::provider::connect_with_signer(&hub.rpc_url, publisher)?;
    let destinations = networks
        .chains
        .iter()
        .filter_map(|c| c.spoke.map(|spoke| (c, spoke)))
        .map(|(c, spoke)| {
            Ok(Destination {
                name: c.name.clone(),
                selector: c.selector,
                spoke,
                provider: solvency_ccip::provider::connect(&c.rpc_url)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Broadcaster::new(
        hub.name.clone(),
        hub.hub.expect("hub chain"),
        provider,
        destinations,
        Duration::from_secs(networks.aggregator.delivery_timeout_secs),
    ))
}

/// The enclave's persisted state (epochs and seqs, never amounts).
pub fn load_state(path: &Path) -> anyhow::Result<EnclaveState> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{}: not an enclave state file; move it away to start from epoch 0",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EnclaveState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_state(path: &Path, state: &EnclaveState) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
