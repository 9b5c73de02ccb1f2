//! The orchestrator: the hub's reports → the enclave instances → the trigger → publishing, under
//! one shutdown signal.
//!
//! - Reports are read page by page from a cursor that moves past a report only once the
//!   enclave has judged it (accepted or refused by a rule), and is persisted after that: a
//!   crash at any point loses no report, and a report re-read after a restart is recognised
//!   (the enclave takes its last accepted report again, which also gives a restarted enclave its
//!   ledger back).
//! - Nothing is attested while the cursor is behind the hub's head: a backlog (after a restart,
//!   or with a state directory lost) is judged in full first, so no superseded answer is ever
//!   published.
//! - An attestation is due when every required chain has reported since the last one, when the
//!   verdict changed (bad news goes out at once), and every `attestation_interval_secs`.
//! - Publishing runs beside ingestion and returns once mined; delivery on each spoke is watched
//!   from events. A failed publish is retried with backoff and reuses the statement it signed.

mod quorum;
pub mod state;
pub mod withdrawals;

pub use withdrawals::{WithdrawalState, Withdrawals};

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use solvency_chain_adapters::vault::VaultReader;
use solvency_chain_adapters::{
    Backoff, ChainClient, DeliveryEvent, HubReader, LogPosition, PublishError, Published,
    Publisher, spawn_delivery_watcher,
};
use solvency_durable::StateLock;
use solvency_enclave::{AssessError, EnclaveKeys};
use solvency_enclave_host::{EnclaveClient, Host, Refusal, Store};
use solvency_registry::{EnclaveMode, Registry};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use quorum::{Judged, Quorum, SignFailure};
use state::{AggregatorState, HubIdentity, LatestReport, StateFile};

/// True when every required chain has reported after the seq the last round covered.
fn round_complete(required: &BTreeSet<u64>, state: &AggregatorState) -> bool {
    required.iter().all(|selector| {
        state.latest.get(selector).is_some_and(|latest| {
            state.covered.get(selector).is_none_or(|covered| latest.seq > *covered)
        })
    })
}

/// The in-process enclave's state file inside the aggregator's state directory.
pub const ENCLAVE_STATE: &str = "enclave-state.json";

/// Why no attestation could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// The enclaves' assessment cannot be made (a required chain is missing or stale).
    Assess(AssessError),
    /// No enclave instance answered.
    NoAnswer(String),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Assess(e) => write!(f, "{e}"),
            Self::NoAnswer(reason) => write!(f, "no enclave instance answered: {reason}"),
        }
    }
}

/// What the orchestrator did, for the demo, tests and monitoring. Never carries an amount.
#[derive(Debug)]
pub enum Event {
    /// A report passed every rule.
    ReportAccepted {
        /// The chain.
        chain: String,
        /// Its seq.
        seq: u64,
        /// The CCIP message.
        message_id: B256,
        /// The report accepted last for its chain, read again (after a restart).
        again: bool,
    },
    /// A report was refused by a rule.
    ReportRefused {
        /// The CCIP message.
        message_id: B256,
        /// The source chain's selector, as the hub delivered it.
        selector: u64,
        /// The seq beside the payload, as the hub delivered it.
        seq: u64,
        /// Which rule.
        refusal: Refusal,
    },
    /// No enclave instance could judge a report; it is read again later.
    IngestStalled {
        /// The CCIP message.
        message_id: B256,
        /// Why.
        reason: String,
    },
    /// Every report up to the hub's confirmed head is judged (first time after a start).
    CaughtUp {
        /// The next position to read.
        cursor: LogPosition,
    },
    /// The enclaves could not attest.
    NotReady {
        /// Why.
        reason: NotReady,
    },
    /// An attestation was mined on the hub.
    Published {
        /// What was published.
        published: Published,
        /// From the decision to attest to the receipt.
        took: Duration,
    },
    /// Publishing failed; it is tried again after a pause.
    PublishFailed {
        /// Why.
        error: PublishError,
    },
    /// A spoke accepted a published epoch (or a later one).
    Delivered {
        /// The spoke.
        chain: String,
        /// The epoch published.
        epoch: u64,
        /// What the spoke accepted.
        accepted: u64,
        /// Since the publish receipt.
        after: Duration,
    },
    /// A spoke has not accepted an epoch within the registry's delivery timeout (still watched).
    DeliveryLate {
        /// The spoke.
        chain: String,
        /// The epoch.
        epoch: u64,
        /// How long it has been.
        waited: Duration,
    },
}

/// Everything [`run`] needs, with the state directory locked to this process.
pub struct Setup {
    registry: Registry,
    enclaves: Vec<EnclaveClient>,
    threshold: usize,
    publisher: PrivateKeySigner,
    withdrawals: Arc<Withdrawals>,
    _lock: StateLock,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("enclaves", &self.enclaves)
            .field("threshold", &self.threshold)
            .field("publisher", &self.publisher.address())
            .finish_non_exhaustive()
    }
}

fn lock_state_dir(registry: &Registry) -> anyhow::Result<StateLock> {
    Ok(StateLock::for_dir(&registry.aggregator.state_dir, "aggregator")?)
}

impl Setup {
    /// As the registry's `[enclave]` says: an in-process enclave from its key file, or served
    /// instances.
    pub fn from_registry(registry: Registry, publisher: PrivateKeySigner) -> anyhow::Result<Self> {
        let network = registry.network()?;
        match network.enclave.mode.clone() {
            Some(EnclaveMode::InProcess { key_file }) => {
                let keys = EnclaveKeys::load(&key_file)?;
                Self::in_process(registry, keys, publisher)
            }
            Some(EnclaveMode::Quorum { instances, threshold }) => {
                Self::quorum(registry, instances, threshold.into(), publisher)
            }
            None => bail!(
                "{}: [enclave] has neither `instances` (served enclaves) nor `key_file` (an in-process enclave)",
                registry.path().display()
            ),
        }
    }

    /// One enclave in this process, keeping its state in the aggregator's state directory.
    pub fn in_process(
        registry: Registry,
        keys: EnclaveKeys,
        publisher: PrivateKeySigner,
    ) -> anyhow::Result<Self> {
        let network = registry.network()?;
        let signer = keys.signer.address();
        if !network.enclave.signers.contains(&signer) {
            bail!(
                "the enclave key's signer {signer} is not among [enclave] signers: the contracts would refuse its attestations"
            );
        }
        let lock = lock_state_dir(&registry)?;
        let (store, mut enclave) = Store::open_state_file(
            &registry.aggregator.state_dir.join(ENCLAVE_STATE),
            keys,
            network.policy.clone(),
        )?;
        if let Some(ledger) = &network.enclave.ledger {
            let file = ledger.key_file.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: [enclave.ledger] has no key_file: an in-process enclave seals its ledger with that key",
                    registry.path().display()
                )
            })?;
            crate::keyfiles::give_ledger_key(&mut enclave, file)?;
        }
        let attestor = solvency_enclave::DevAttestor::from_current_exe()?;
        let host = Arc::new(Host::new(enclave, Box::new(attestor), store));
        Ok(Self {
            registry,
            enclaves: vec![EnclaveClient::local(host)],
            threshold: 1,
            publisher,
            withdrawals: Arc::default(),
            _lock: lock,
        })
    }

    /// The withdrawal requests this aggregator takes (for the HTTP server to add to).
    pub fn withdrawals(&self) -> Arc<Withdrawals> {
        self.withdrawals.clone()
    }

    /// The same setup, taking withdrawal requests from `withdrawals` (kept across restarts of
    /// the round in one process).
    pub fn with_withdrawals(self, withdrawals: Arc<Withdrawals>) -> Self {
        Self { withdrawals, ..self }
    }

    /// Served instances at `sockets`, `threshold` of which must sign the same statement.
    pub fn quorum(
        registry: Registry,
        sockets: Vec<PathBuf>,
        threshold: usize,
        publisher: PrivateKeySigner,
    ) -> anyhow::Result<Self> {
        if sockets.is_empty() || threshold == 0 || threshold > sockets.len() {
            bail!("a quorum needs 1 <= k <= n instances (k = {threshold}, n = {})", sockets.len());
        }
        let lock = lock_state_dir(&registry)?;
        let enclaves = sockets.into_iter().map(EnclaveClient::remote).collect();
        Ok(Self {
            registry,
            enclaves,
            threshold,
            publisher,
            withdrawals: Arc::default(),
            _lock: lock,
        })
    }
}

/// `solvency check`'s findings at start: any error but an unreachable spoke refuses the start,
/// naming every one; warnings (and unreachable spokes: a spoke down must not stop the other
/// chains) are logged.
async fn preflight(registry: &Registry) -> anyhow::Result<()> {
    use solvency_chain_adapters::preflight::{Check, Severity};
    let hub = registry.network()?.hub().name.clone();
    let mut errors = Vec::new();
    for finding in solvency_chain_adapters::preflight::preflight(registry).await? {
        let spoke_down = finding.check == Check::Rpc && finding.chain != hub;
        if finding.severity == Severity::Error && !spoke_down {
            errors.push(finding.to_string());
        } else {
            warn!(target: "aggregator", chain = %finding.chain, check = ?finding.check,
                "{}", finding.message);
        }
    }
    if !errors.is_empty() {
        bail!(
            "refusing to start ({} problem(s); `solvency check` lists them too):\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(())
}

/// The clock the enclave's `now` comes from.
fn now() -> u64 {
    solvency_enclave_host::unix_now()
}

/// Outcome of one attempt to attest and publish (run beside ingestion).
enum Attempt {
    Published(Published, Duration),
    NotReady(NotReady),
    Failed(PublishError),
}

/// Runs until `cancel`. `events` (if any) receives what happens.
pub async fn run(
    setup: Setup,
    cancel: CancellationToken,
    events: Option<mpsc::UnboundedSender<Event>>,
) -> anyhow::Result<()> {
    let Setup { registry, enclaves, threshold, publisher, withdrawals, _lock } = setup;
    let network = registry.network()?.clone();
    let hub = network.hub().clone();
    let poll = registry.aggregator.poll_interval;
    let emit = |event: Event| {
        if let Some(events) = &events {
            let _ = events.send(event);
        }
    };

    // Every chain as `solvency check` sees it (the hub's chain id among the rest), before
    // anything is read or written for this state directory.
    preflight(&registry).await?;
    // The hub this state directory belongs to.
    let hub_client = ChainClient::new(&hub, Backoff::default());
    let identity = HubIdentity {
        deployment_id: registry.deployment_id,
        chain_id: hub.chain_id,
        genesis: hub_client.genesis_hash().await?,
        hub: hub.oracle(),
    };
    let mut state = StateFile::open(&registry.aggregator.state_dir, identity, hub.from_block)?;
    let reader = HubReader::new(hub_client, hub.oracle(), hub.confirmations, hub.log_page_blocks);
    let vaults = network
        .chains
        .iter()
        .filter_map(|c| c.vault.map(|vault| VaultReader::new(c, vault)))
        .collect();
    let quorum = Arc::new(
        Quorum::new(enclaves, threshold)
            .with_vaults(vaults)
            .with_withdrawals(withdrawals)
            .with_quotes(hub.clone()),
    );
    let publisher = Arc::new(Publisher::new(&network, publisher, Backoff::default()));
    let (watch, mut deliveries, watcher) = spawn_delivery_watcher(
        publisher.destinations().to_vec(),
        poll,
        registry.aggregator.delivery_timeout,
        cancel.clone(),
    );
    let required: BTreeSet<u64> =
        network.policy.chains.iter().filter(|c| c.required).map(|c| c.selector).collect();
    info!(target: "aggregator", enclaves = quorum.len(), threshold, chains = network.chains.len(),
        cursor = ?state.state.cursor, "aggregator starting");

    // A round completed before a restart is still owed its attestation.
    let mut due = round_complete(&required, &state.state);
    let mut ledger_changed = false;
    let mut caught_up = false;
    let mut told_caught_up = false;
    let mut next_read = tokio::time::Instant::now();
    let mut cadence = tokio::time::interval(registry.policy.attestation_interval);
    cadence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    cadence.tick().await; // the first tick is immediate
    let mut attempt: Option<JoinHandle<Attempt>> = None;
    // The seqs a running round attempt covers; the round's base once it is published.
    let mut attempting: Option<BTreeMap<u64, u64>> = None;
    let mut failures = 0u32;
    let mut retry_at: Option<tokio::time::Instant> = None;

    loop {
        // Whatever woke us, see whether an attestation should start.
        if caught_up
            && attempt.is_none()
            && retry_at.is_none_or(|at| tokio::time::Instant::now() >= at)
        {
            // Bad news goes out at once, not at the next tick or round. Such an attestation
            // does not complete the round: the rest of the round's reports still make one.
            let verdict_changed = !due
                && std::mem::take(&mut ledger_changed)
                && matches!(
                    until_cancelled(&cancel, quorum.readiness(now())).await,
                    Some(Ok(true))
                );
            if due || verdict_changed {
                attempting = due.then(|| {
                    state
                        .state
                        .latest
                        .iter()
                        .map(|(selector, latest)| (*selector, latest.seq))
                        .collect()
                });
                due = false;
                if until_cancelled(&cancel, refeed(&quorum, &reader, &state)).await.is_none() {
                    break;
                }
                let (quorum, publisher) = (quorum.clone(), publisher.clone());
                attempt =
                    Some(tokio::spawn(
                        async move { attest_and_publish(&quorum, &publisher).await },
                    ));
            }
        }
        let retry_sleep = async {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let attempt_done = async {
            match &mut attempt {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next_read) => {
                let Some(page) = until_cancelled(&cancel, reader.read_page(state.state.cursor)).await
                else {
                    break;
                };
                match page {
                    Err(e) => {
                        warn!(target: "aggregator", error = %e, "reading the hub failed; retrying");
                        next_read = tokio::time::Instant::now() + poll.max(Duration::from_millis(500));
                    }
                    Ok(page) => {
                        let mut stalled = false;
                        let mut stopping = false;
                        for delivered in page.reports {
                            let report = &delivered.report;
                            let Some(judged) = until_cancelled(&cancel, quorum.ingest(report, now())).await
                            else {
                                // Not judged: the cursor stays before it.
                                stopping = true;
                                break;
                            };
                            match judged {
                                Judged::Accepted(accepted) => {
                                    state.state.latest.insert(
                                        accepted.selector,
                                        LatestReport { at: delivered.at, seq: accepted.seq },
                                    );
                                    if !accepted.again {
                                        info!(target: "aggregator", chain = %accepted.chain, seq = accepted.seq, id = %report.message_id, "report accepted");
                                    }
                                    // A report taken again after a restart may be the one that
                                    // completes the round (its record was lost with the crash).
                                    ledger_changed = true;
                                    due |= round_complete(&required, &state.state);
                                    emit(Event::ReportAccepted {
                                        chain: accepted.chain,
                                        seq: accepted.seq,
                                        message_id: accepted.message_id,
                                        again: accepted.again,
                                    });
                                }
                                Judged::Refused(refusal) => {
                                    warn!(target: "aggregator", id = %report.message_id, %refusal, "report refused");
                                    emit(Event::ReportRefused {
                                        message_id: report.message_id,
                                        selector: report.source_chain_selector,
                                        seq: report.seq,
                                        refusal,
                                    });
                                }
                                Judged::Undecided(reason) => {
                                    warn!(target: "aggregator", id = %report.message_id, %reason, "no enclave instance could judge a report; reading it again later");
                                    emit(Event::IngestStalled { message_id: report.message_id, reason });
                                    stalled = true;
                                    break;
                                }
                            }
                            // Persisted only now that the enclave has judged the report.
                            state.state.cursor = delivered.at.next();
                            state.save().context("saving the aggregator's cursor")?;
                        }
                        if stopping {
                            break;
                        }
                        if stalled {
                            caught_up = false;
                            next_read = tokio::time::Instant::now() + poll.max(Duration::from_millis(500));
                            continue;
                        }
                        if page.next > state.state.cursor {
                            state.state.cursor = page.next;
                            state.save().context("saving the aggregator's cursor")?;
                        }
                        caught_up = page.caught_up;
                        if caught_up && !told_caught_up {
                            told_caught_up = true;
                            info!(target: "aggregator", cursor = ?state.state.cursor, "caught up with the hub");
                            emit(Event::CaughtUp { cursor: state.state.cursor });
                        }
                        next_read = tokio::time::Instant::now() + if caught_up { poll } else { Duration::ZERO };
                    }
                }
            }
            _ = cadence.tick() => due = true,
            _ = retry_sleep => retry_at = None,
            done = attempt_done => {
                attempt = None;
                match done.context("the attestation task panicked")? {
                    Attempt::Published(published, took) => {
                        failures = 0;
                        cadence.reset();
                        if let Some(covered) = attempting.take() {
                            state.state.covered = covered;
                            state.save().context("saving the aggregator's state")?;
                        }
                        let _ = watch.send((published.epoch, published.mined_at));
                        emit(Event::Published { published, took });
                    }
                    Attempt::NotReady(reason) => {
                        info!(target: "aggregator", %reason, "not attesting yet");
                        attempting = None;
                        if matches!(reason, NotReady::NoAnswer(_)) {
                            // Instances restarting or unreachable: ask again soon.
                            retry_at = Some(tokio::time::Instant::now() + poll.max(Duration::from_secs(1)));
                            due = true;
                        }
                        emit(Event::NotReady { reason });
                    }
                    Attempt::Failed(error) => {
                        failures += 1;
                        let pause = Duration::from_secs(1u64 << failures.min(5).saturating_sub(1)).min(Duration::from_secs(30));
                        warn!(target: "aggregator", error = %error, ?pause, "publishing failed; trying again after a pause");
                        retry_at = Some(tokio::time::Instant::now() + pause);
                        attempting = None;
                        due = true;
                        emit(Event::PublishFailed { error });
                    }
                }
            }
            Some(delivery) = deliveries.recv() => match delivery {
                DeliveryEvent::Landed { chain, epoch, accepted, after } => {
                    emit(Event::Delivered { chain, epoch, accepted, after });
                }
                DeliveryEvent::Late { chain, epoch, waited } => {
                    emit(Event::DeliveryLate { chain, epoch, waited });
                }
            },
        }
    }
    cancel.cancel();
    if let Some(task) = attempt {
        task.abort();
    }
    let _ = watcher.await;
    info!(target: "aggregator", "aggregator stopped");
    Ok(())
}

/// `fut`, or `None` as soon as `cancel` fires: shutting down never waits for a slow chain or
/// enclave.
async fn until_cancelled<T>(cancel: &CancellationToken, fut: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        value = fut => Some(value),
    }
}

/// Gives members that may have missed reports the latest accepted report of every chain again,
/// read back from the hub.
async fn refeed(quorum: &Quorum, reader: &HubReader, state: &StateFile) {
    let members = quorum.take_behind().await;
    if members.is_empty() || state.state.latest.is_empty() {
        return;
    }
    let mut failed = BTreeSet::new();
    for (&selector, latest) in &state.state.latest {
        let at = latest.at;
        match reader.report_at(at).await {
            Ok(Some(report)) => {
                for &member in &members {
                    if !quorum.refeed(member, &report, now()).await {
                        failed.insert(member);
                    }
                }
            }
            Ok(None) => {
                warn!(target: "aggregator", selector, ?at, "the hub no longer shows a report the aggregator recorded")
            }
            Err(e) => {
                warn!(target: "aggregator", error = %e, "reading a report back from the hub failed");
                failed.extend(members.iter().copied());
            }
        }
    }
    quorum.put_back(failed).await;
}

async fn attest_and_publish(quorum: &Quorum, publisher: &Publisher) -> Attempt {
    let started = Instant::now();
    // Check readiness before reading any chain, so a quiet deployment costs no RPC.
    let at = now();
    if let Err(reason) = quorum.readiness(at).await {
        return Attempt::NotReady(reason);
    }
    // The hub's epoch and ledger root: the new attestation goes above the one and chains to
    // the other (the hub refuses any other parent).
    let (onchain, parent) = match publisher.onchain().await {
        Ok(held) => held,
        Err(e) => return Attempt::Failed(e.into()),
    };
    // Every member gets the vault entries logged since (their credits wait for a report's
    // head to vouch for them).
    quorum.sync_vaults().await;
    quorum.give_withdrawals(onchain + 1).await;
    // Every member gets the quotes the hub's board took; the attestation commits to its last
    // closed round (the hub checks it).
    let quotes = match quorum.sync_quotes().await {
        Ok(closed) => closed,
        Err(reason) => return Attempt::NotReady(NotReady::NoAnswer(reason)),
    };
    let (signed, signatures) = match quorum.sign(at, onchain + 1, parent, quotes).await {
        Ok(signed) => signed,
        Err(SignFailure::NotReady(reason)) => return Attempt::NotReady(reason),
        Err(SignFailure::Failed(reason)) => {
            return Attempt::NotReady(NotReady::NoAnswer(reason));
        }
    };
    // Only signatures of signers every chain counts; any other would make publish revert.
    let registered = match publisher
        .active_signers(signatures.iter().map(|(signer, _)| *signer).collect())
        .await
    {
        Ok(registered) => registered,
        Err(e) => return Attempt::Failed(e.into()),
    };
    let mut counted: Vec<(Address, Bytes)> =
        signatures.into_iter().filter(|(s, _)| registered.contains(s)).collect();
    counted.sort_by_key(|(signer, _)| *signer);
    // Exactly k: every extra signature costs gas on every spoke, and is one more registration
    // a spoke (with its own registry and clock) could disagree about.
    counted.truncate(quorum.threshold);
    let a = &signed.attestation;
    if counted.len() < quorum.threshold {
        return Attempt::Failed(PublishError::NotEnoughSignatures {
            epoch: a.epoch,
            counted: counted.len(),
            threshold: quorum.threshold,
        });
    }
    info!(target: "aggregator", epoch = a.epoch, solvent = a.solvent, signatures = counted.len(), "attestation signed");
    match publisher
        .publish(a, counted.into_iter().map(|(_, s)| s).collect(), &signed.messages)
        .await
    {
        Ok(published) => {
            quorum.withdrawals.published(a.epoch, &signed.replies);
            quorum.withdrawals.statements_published(a.epoch, &signed.statements);
            Attempt::Published(published, started.elapsed())
        }
        Err(e) => Attempt::Failed(e),
    }
}
