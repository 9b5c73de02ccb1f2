//! The orchestrator: hub adapter → dedupe by CCIP message id → enclave → trigger → broadcaster,
//! under one shutdown signal.
//!
//! Reports go to every enclave instance; when an attestation is due, every instance is asked to
//! sign the same epoch at the same time, the statement most of them signed is kept, and it is
//! published with the signatures of currently registered signers if there are at least k. An
//! attestation is due when every required chain has reported since the last one (a round is
//! complete), and at least every `attestation_interval_secs` while the enclaves can attest, so
//! consumers never see a valid attestation expire while reports keep coming.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use moka::future::Cache;
use solvency_ccip::broadcast::{Broadcaster, Destination, Publication};
use solvency_chain_adapters::{Backoff, EvmAdapter, StreamConfig, spawn_report_stream};
use solvency_enclave::{DeliveredReport, Enclave, EnclaveKeys, SignedAttestation};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    config::NetworksFile,
    enclave_service::{EnclaveClient, Persist, Request, Response, load_state},
};

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
    /// The enclave instances (one in-process enclave, or a quorum of served ones).
    pub enclaves: Vec<EnclaveClient>,
    /// How many matching signatures an attestation needs (k of the k-of-n set).
    pub threshold: usize,
    /// The account that sends `publish`.
    pub publisher: PrivateKeySigner,
    /// Where the cursor lives.
    pub state_dir: PathBuf,
}

impl Setup {
    /// One enclave in this process, persisting its state in `state_dir`.
    pub fn single(
        networks: NetworksFile,
        keys: EnclaveKeys,
        publisher: PrivateKeySigner,
        state_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let state_file = state_dir.join(ENCLAVE_STATE);
        let enclave = Enclave::new(keys, networks.enclave_policy(), load_state(&state_file)?);
        Ok(Self {
            networks,
            enclaves: vec![EnclaveClient::local(
                enclave,
                Box::new(solvency_enclave::DevAttestor::from_current_exe()?),
                Persist::State(state_file),
            )],
            threshold: 1,
            publisher,
            state_dir,
        })
    }
}

const ENCLAVE_STATE: &str = "enclave-state.json";
const HUB_CURSOR: &str = "hub-cursor.json";

/// Runs until `cancel`. `events` (if any) receives what happens.
pub async fn run(
    setup: Setup,
    cancel: CancellationToken,
    events: Option<mpsc::UnboundedSender<Event>>,
) -> anyhow::Result<()> {
    let Setup { networks, enclaves, threshold, publisher, state_dir } = setup;
    anyhow::ensure!(
        !enclaves.is_empty() && threshold >= 1,
        "no enclave to ask, or a threshold of 0"
    );
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    let hub = networks.hub_chain().context("the registry has no hub chain")?.clone();
    let hub_address = hub.hub.expect("the hub chain has a hub");
    let policy = networks.enclave_policy();
    let required: BTreeSet<u64> =
        policy.chains.iter().filter(|c| c.required).map(|c| c.selector).collect();
    let interval = Duration::from_secs(networks.policy.attestation_interval_secs);
    let quorum = Quorum { members: enclaves, threshold };
    info!(target: "aggregator", enclaves = quorum.members.len(), threshold, chains = networks.chains.len(), "aggregator starting");

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
                    let (event, decided) = quorum.ingest(&report).await;
                    // Only a report some instance judged is "seen"; one no instance could take
                    // is not remembered, so a re-delivery is still ingested.
                    if decided {
                        seen.insert(report.message_id, ()).await;
                    }
                    if let Event::ReportAccepted { .. } = &event {
                        reported.insert(report.source_chain_selector);
                    }
                    emit(event);
                    required.is_subset(&reported)
                }
            },
            _ = cadence.tick() => true,
        };
        if !trigger {
            continue;
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = cancel.cancelled() => break,
            outcome = attest_and_publish(&quorum, &broadcaster) => outcome,
        };
        match outcome {
            Ok((solvent, publication)) => {
                reported.clear();
                cadence.reset();
                emit(Event::Published { solvent, publication, took: started.elapsed() });
            }
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

/// The enclave instances and how many must agree.
struct Quorum {
    members: Vec<EnclaveClient>,
    threshold: usize,
}

impl Quorum {
    /// Asks every member at once; answers that did not come are logged.
    async fn ask(&self, request: &Request) -> Vec<Response> {
        let answers =
            futures::future::join_all(self.members.iter().map(|m| m.call(request.clone()))).await;
        answers
            .into_iter()
            .filter_map(|answer| {
                answer
                    .map_err(|e| warn!(target: "aggregator", error = %e, "enclave unavailable"))
                    .ok()
            })
            .collect()
    }

    /// Ingests a report into every member; the flag says whether any member judged it.
    async fn ingest(&self, report: &DeliveredReport) -> (Event, bool) {
        let answers =
            self.ask(&Request::Ingest { report: report.clone(), now: crate::unix_now() }).await;
        let accepted = answers.iter().find_map(|a| match a {
            Response::Accepted { chain, seq } => Some((chain.clone(), *seq)),
            _ => None,
        });
        if let Some((chain, seq)) = accepted {
            info!(target: "aggregator", %chain, seq, id = %report.message_id, "report accepted");
            return (Event::ReportAccepted { chain, seq, message_id: report.message_id }, true);
        }
        let refused = answers.iter().find_map(|a| match a {
            Response::Refused { reason } => Some(reason.clone()),
            _ => None,
        });
        let decided = refused.is_some();
        let reason = refused
            .or_else(|| {
                answers.iter().find_map(|a| match a {
                    Response::Error { reason } => Some(reason.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| "no enclave instance could be reached".into());
        warn!(target: "aggregator", id = %report.message_id, %reason, "report refused");
        (Event::ReportRefused { message_id: report.message_id, reason }, decided)
    }

    /// Asks every member to sign `epoch` (once more above the highest epoch a member already
    /// signed, if any did), and returns the attestation most members signed, with their
    /// signatures.
    async fn sign(
        &self,
        at: u64,
        epoch: u64,
    ) -> Result<(SignedAttestation, Vec<(Address, Bytes)>), Outcome> {
        let mut epoch = epoch;
        let mut answers = self.ask(&Request::Attest { now: at, epoch }).await;
        let highest_used = answers
            .iter()
            .filter_map(|a| match a {
                Response::EpochUsed { last_epoch } => Some(*last_epoch),
                _ => None,
            })
            .max();
        if let Some(last) = highest_used {
            epoch = last + 1;
            answers = self.ask(&Request::Attest { now: at, epoch }).await;
        }
        let mut groups: Vec<(SignedAttestation, Vec<(Address, Bytes)>)> = Vec::new();
        let mut reasons = Vec::new();
        for answer in answers {
            match answer {
                Response::Attested { signed } => {
                    let signature = (signed.signer, signed.signature.clone());
                    match groups.iter_mut().find(|(s, _)| {
                        s.attestation == signed.attestation && s.instructions == signed.instructions
                    }) {
                        Some((_, signatures)) => signatures.push(signature),
                        None => groups.push((*signed, vec![signature])),
                    }
                }
                Response::NotReady { reason } | Response::Error { reason } => reasons.push(reason),
                other => reasons.push(format!("{other:?}")),
            }
        }
        if groups.len() > 1 {
            warn!(target: "aggregator", epoch, statements = groups.len(), "enclave instances signed different statements");
        }
        groups.sort_by_key(|(_, signatures)| std::cmp::Reverse(signatures.len()));
        match groups.into_iter().next() {
            Some(best) => Ok(best),
            None => Err(Outcome::NotReady(
                reasons.into_iter().next().unwrap_or_else(|| "no enclave instance answered".into()),
            )),
        }
    }
}

async fn attest_and_publish(
    quorum: &Quorum,
    broadcaster: &Broadcaster,
) -> Result<(bool, Publication), Outcome> {
    // Check readiness before reading the chain, so a quiet deployment costs no RPC.
    let at = crate::unix_now();
    let ready = quorum.ask(&Request::Ready { now: at }).await;
    if !ready.iter().any(|a| matches!(a, Response::Ready)) {
        let reason = ready
            .into_iter()
            .find_map(|a| match a {
                Response::NotReady { reason } | Response::Error { reason } => Some(reason),
                _ => None,
            })
            .unwrap_or_else(|| "no enclave instance answered".into());
        return Err(Outcome::NotReady(reason));
    }
    let onchain = broadcaster.onchain_epoch().await.map_err(|e| Outcome::Failed(e.to_string()))?;
    let (signed, signatures) = quorum.sign(at, onchain + 1).await?;
    // Only signatures of currently registered signers count on-chain; any other would make
    // publish revert.
    let registered = broadcaster
        .active_signers(signatures.iter().map(|(signer, _)| *signer).collect())
        .await
        .map_err(|e| Outcome::Failed(e.to_string()))?;
    let mut counted: Vec<(Address, Bytes)> =
        signatures.into_iter().filter(|(s, _)| registered.contains(s)).collect();
    counted.sort_by_key(|(signer, _)| *signer);
    // Exactly k: every extra signature costs gas on every spoke, and is one more registration
    // a spoke (with its own registry and clock) could disagree about.
    counted.truncate(quorum.threshold);
    let a = &signed.attestation;
    if counted.len() < quorum.threshold {
        return Err(Outcome::Failed(format!(
            "epoch {}: {} matching signature(s) from registered signers, {} needed",
            a.epoch,
            counted.len(),
            quorum.threshold
        )));
    }
    info!(target: "aggregator", epoch = a.epoch, solvent = a.solvent, signatures = counted.len(), "attestation signed");
    broadcaster
        .publish(
            a,
            counted.into_iter().map(|(_, signature)| signature).collect(),
            &signed.instructions,
        )
        .await
        .map(|publication| (a.solvent, publication))
        .map_err(|e| Outcome::Failed(e.to_string()))
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
