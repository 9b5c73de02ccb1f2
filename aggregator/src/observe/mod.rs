//! The operator's view: what every chain says, what the aggregator does, and what needs acting
//! on — as JSON (`/api/v1/status`, `/api/v1/epochs`), Prometheus metrics (`/metrics`), probes
//! (`/healthz`, `/readyz`), a web page, alert log lines, and `solvency status --check`.
//!
//! Everything shown is public: chain state, seqs, epochs, times, fees, reasons. The aggregator
//! adds what only it knows (accepted and refused reports by chain and rule, publish failures,
//! why it is not attesting), which carries no figure either.

pub mod alerts;
mod collect;
pub mod metrics;
pub mod model;
mod server;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use collect::Collector;
pub use server::serve;

use crate::orchestrator::Event;
use model::{AggregatorStatus, EpochPage, EpochRecord, LastReport, Refused, RefusedReport, Status};

/// The shared state the HTTP server reads and the refresh loop and the aggregator's events
/// write.
pub struct Observatory {
    mode: &'static str,
    limits: alerts::Limits,
    interval: Duration,
    status: RwLock<Arc<Status>>,
    /// The last read of the chains, before the aggregator's side and the alerts are added.
    read: Mutex<Option<Status>>,
    history: RwLock<Vec<EpochRecord>>,
    /// In aggregator mode: what only the aggregator knows.
    aggregator: Option<Mutex<AggregatorView>>,
    /// Held while the status is rebuilt.
    rebuilding: Mutex<()>,
    /// When the last refresh finished.
    refreshed: Mutex<Option<Instant>>,
    /// The metrics.
    pub metrics: metrics::Metrics,
    /// In aggregator mode: the withdrawal requests `POST /api/v1/withdrawals` adds to.
    withdrawals: std::sync::OnceLock<Arc<crate::orchestrator::Withdrawals>>,
}

/// The aggregator's side of the view, kept from its events.
#[derive(Default)]
struct AggregatorView {
    status: AggregatorStatus,
    /// Per chain name: the last accepted report (seq, Unix seconds).
    accepted: BTreeMap<String, (u64, u64)>,
    /// Per chain selector: the last refused report.
    refused: BTreeMap<u64, RefusedReport>,
    /// Chains that sent a report this process judged first (not one read again from the hub
    /// after a restart).
    fresh: BTreeSet<String>,
}

impl Observatory {
    /// Takes owners' withdrawal requests into `withdrawals` (the aggregator's, from
    /// [`crate::orchestrator::Setup::withdrawals`]).
    pub fn take_withdrawals(&self, withdrawals: Arc<crate::orchestrator::Withdrawals>) {
        let _ = self.withdrawals.set(withdrawals);
    }

    /// The withdrawal requests this server takes, if it is an aggregator's.
    pub fn withdrawals(&self) -> Option<&Arc<crate::orchestrator::Withdrawals>> {
        self.withdrawals.get()
    }

    /// A view: `aggregator` adds what `solvency run` knows to what chains say.
    pub fn new(limits: alerts::Limits, interval: Duration, aggregator: bool) -> Arc<Self> {
        Arc::new(Self {
            mode: if aggregator { "aggregator" } else { "dashboard" },
            limits,
            interval,
            status: RwLock::new(Arc::new(Status::default())),
            read: Mutex::new(None),
            history: RwLock::new(Vec::new()),
            aggregator: aggregator.then(|| {
                Mutex::new(AggregatorView {
                    status: AggregatorStatus {
                        started_at_ms: std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64),
                        ..AggregatorStatus::default()
                    },
                    ..AggregatorView::default()
                })
            }),
            rebuilding: Mutex::new(()),
            refreshed: Mutex::new(None),
            withdrawals: std::sync::OnceLock::new(),
            metrics: metrics::Metrics::new(),
        })
    }

    /// The latest status.
    pub fn status(&self) -> Arc<Status> {
        self.status.read().expect("status lock").clone()
    }

    /// A page of the attestation history, newest first.
    pub fn epochs(&self, before: Option<u64>, limit: usize) -> EpochPage {
        let history = self.history.read().expect("history lock");
        let upper = before.unwrap_or(u64::MAX);
        let epochs: Vec<EpochRecord> =
            history.iter().rev().filter(|e| e.epoch < upper).take(limit).cloned().collect();
        let next_before = (epochs.len() == limit).then(|| epochs.last().map(|e| e.epoch)).flatten();
        EpochPage { epochs, next_before }
    }

    /// True while the refresh loop keeps running (it finished within three intervals).
    pub fn healthy(&self) -> bool {
        self.refreshed
            .lock()
            .expect("refresh lock")
            .is_some_and(|at| at.elapsed() < self.interval * 3 + Duration::from_secs(30))
    }

    /// Why the view (or the aggregator) is not ready, if it is not: a chain unreadable, or the
    /// aggregator not caught up with the hub or without an enclave answer.
    pub fn not_ready(&self) -> Vec<String> {
        let status = self.status();
        let mut reasons: Vec<String> = status
            .chains
            .iter()
            .filter(|c| !c.reachable)
            .map(|c| format!("{} cannot be read", c.name))
            .collect();
        if status.checked_at == 0 {
            reasons.push("no chain read yet".into());
        }
        if let Some(aggregator) = &status.aggregator {
            if !aggregator.caught_up {
                reasons.push("the aggregator has not caught up with the hub".into());
            }
            if let Some(reason) = &aggregator.not_ready
                && reason.starts_with("no enclave instance answered")
            {
                reasons.push(reason.clone());
            }
        }
        reasons
    }

    /// Takes in one of the aggregator's events.
    pub fn record(&self, event: &Event) {
        let Some(view) = &self.aggregator else { return };
        {
            let mut view = view.lock().expect("aggregator view lock");
            self.take(&mut view, event);
        }
        // The page and the API show it now, not at the next read of the chains.
        let read = self.read.lock().expect("read lock").clone();
        if let Some(read) = read {
            self.rebuild(read);
        }
    }

    fn take(&self, view: &mut AggregatorView, event: &Event) {
        let now = crate::unix_now();
        let m = &self.metrics;
        match event {
            Event::ReportAccepted { chain, seq, again, .. } => {
                view.accepted.insert(chain.clone(), (*seq, now));
                if !again {
                    view.fresh.insert(chain.clone());
                }
                m.reports_accepted
                    .get_or_create(&metrics::ChainLabel { chain: chain.clone() })
                    .inc();
            }
            Event::ReportRefused { message_id, selector, seq, refusal } => {
                let rule = refusal_rule(refusal);
                m.reports_refused.get_or_create(&metrics::RuleLabel { rule: rule.clone() }).inc();
                view.refused.insert(
                    *selector,
                    RefusedReport {
                        seq: *seq,
                        rule: rule.clone(),
                        message_id: *message_id,
                        at: now,
                    },
                );
                view.status.last_refusal = Some(Refused { message_id: *message_id, rule, at: now });
            }
            Event::CaughtUp { .. } => view.status.caught_up = true,
            Event::NotReady { reason } => view.status.not_ready = Some(reason.to_string()),
            Event::Published { published, took } => {
                view.status.last_published_epoch = Some(published.epoch);
                view.status.not_ready = None;
                view.status.last_publish_error = None;
                m.published.inc();
                m.attestation_latency.observe(took.as_secs_f64());
            }
            Event::PublishFailed { error } => {
                view.status.publish_failures += 1;
                view.status.last_publish_error = Some(error.to_string());
                let kind = match error {
                    solvency_chain_adapters::PublishError::HubCannotPay { .. } => "hub_cannot_pay",
                    solvency_chain_adapters::PublishError::Rejected { .. } => "rejected",
                    solvency_chain_adapters::PublishError::NotEnoughSignatures { .. } => {
                        "not_enough_signatures"
                    }
                    solvency_chain_adapters::PublishError::Chain(_) => "chain",
                };
                m.publish_failures.get_or_create(&metrics::KindLabel { kind: kind.into() }).inc();
            }
            Event::Delivered { chain, after, .. } => {
                m.delivery_latency
                    .get_or_create(&metrics::ChainLabel { chain: chain.clone() })
                    .observe(after.as_secs_f64());
            }
            Event::IngestStalled { .. } | Event::DeliveryLate { .. } => {}
        }
    }

    /// Stores a fresh read of the chains and the history, and rebuilds the status.
    fn publish(&self, read: Status, history: Vec<EpochRecord>) {
        *self.history.write().expect("history lock") = history;
        *self.read.lock().expect("read lock") = Some(read.clone());
        self.rebuild(read);
        *self.refreshed.lock().expect("refresh lock") = Some(Instant::now());
    }

    /// The status from a read of the chains, the aggregator's side, the alerts and the metrics;
    /// logs the alerts that start and clear.
    fn rebuild(&self, mut status: Status) {
        // One rebuild at a time, so that alerts are compared with the status just before.
        let _turn = self.rebuilding.lock().expect("rebuild lock");
        status.mode = self.mode;
        if let Some(view) = &self.aggregator {
            let view = view.lock().expect("aggregator view lock");
            let half_age = self.limits.max_report_age / 2;
            for chain in &mut status.chains {
                let delivered = chain.last_report.take();
                chain.last_report = view.accepted.get(&chain.name).map(|&(seq, accepted_at)| {
                    // Its age from when the hub delivered it, when that is known: a report
                    // taken again after a restart is no younger than its delivery.
                    let at = delivered
                        .as_ref()
                        .filter(|d| d.seq == seq)
                        .map_or(accepted_at, |d| d.at.min(accepted_at));
                    LastReport {
                        seq,
                        at,
                        age_secs: status.checked_at.saturating_sub(at),
                        source: "accepted",
                    }
                });
                chain.last_refused = view.refused.get(&chain.selector).cloned();
                // A restarted aggregator asks every chain for a report of its own once it has
                // caught up, and any chain whose report is past half its allowed age.
                chain.wants_report = Some(
                    (view.status.caught_up && !view.fresh.contains(&chain.name))
                        || chain.last_report.as_ref().is_some_and(|r| r.age_secs > half_age),
                );
            }
            status.aggregator = Some(view.status.clone());
        }
        status.alerts = alerts::evaluate(&status, self.limits);
        let before: BTreeSet<(String, String)> =
            self.status().alerts.iter().map(|a| (a.alert.to_owned(), a.subject.clone())).collect();
        let now: BTreeSet<(String, String)> =
            status.alerts.iter().map(|a| (a.alert.to_owned(), a.subject.clone())).collect();
        for alert in &status.alerts {
            if !before.contains(&(alert.alert.to_owned(), alert.subject.clone())) {
                match alert.severity {
                    "error" => {
                        error!(target: "observe", alert = alert.alert, subject = %alert.subject, "{}", alert.message)
                    }
                    _ => {
                        warn!(target: "observe", alert = alert.alert, subject = %alert.subject, "{}", alert.message)
                    }
                }
            }
        }
        for (alert, subject) in before.difference(&now) {
            info!(target: "observe", alert = %alert, subject = %subject, "alert cleared");
        }
        self.metrics.observe(&status);
        *self.status.write().expect("status lock") = Arc::new(status);
    }
}

/// The rule a refusal names (its variant), never its text.
fn refusal_rule(refusal: &solvency_enclave_host::Refusal) -> String {
    use solvency_enclave_host::Refusal;
    match refusal {
        Refusal::Report { error } => serde_json::to_value(error)
            .ok()
            .and_then(|v| v.get("rule").and_then(|r| r.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "report".into()),
        Refusal::NotReady { .. } => "not_ready".into(),
        Refusal::EpochUsed { .. } => "epoch_used".into(),
        Refusal::Attest { .. } => "attest".into(),
        Refusal::Clock { .. } => "clock".into(),
        Refusal::Evidence { .. } => "evidence".into(),
        Refusal::KeyRelease { .. } => "key_release".into(),
        Refusal::NotPersisted { .. } => "not_persisted".into(),
        Refusal::Vault { .. } => "vault".into(),
        Refusal::Quotes { .. } => "quotes".into(),
        Refusal::Withdrawal { .. } => "withdrawal".into(),
        Refusal::BadRequest { .. } => "bad_request".into(),
    }
}

/// Reads every chain every `interval` into the view, until `cancel`.
pub async fn refresh(
    observatory: Arc<Observatory>,
    mut collector: Collector,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(observatory.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let before = collector.requests();
        let status = tokio::select! {
            _ = cancel.cancelled() => return,
            status = collector.collect(crate::unix_now()) => status,
        };
        for ((chain, after), (_, before)) in collector.requests().into_iter().zip(before) {
            observatory
                .metrics
                .view_rpc_requests
                .get_or_create(&metrics::ChainLabel { chain })
                .inc_by(after - before);
        }
        let history = collector.epochs(None, usize::MAX).epochs.into_iter().rev().collect();
        observatory.publish(status, history);
    }
}

/// Collects once and evaluates the alerts (for `solvency status --check`, which prints them
/// itself: nothing is logged).
pub async fn check_once(
    registry: &solvency_registry::Registry,
    limits: alerts::Limits,
) -> anyhow::Result<Status> {
    let mut collector = Collector::new(registry)?;
    let mut status = collector.collect(crate::unix_now()).await;
    status.alerts = alerts::evaluate(&status, limits);
    Ok(status)
}

/// A running view: its refresh loop and, when asked for, its HTTP server.
pub struct Launched {
    /// The view's shared state.
    pub observatory: Arc<Observatory>,
    /// Where the HTTP server listens, when there is one.
    pub addr: Option<std::net::SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Launched {
    /// Waits for the refresh loop and the server to end (after the cancellation given to
    /// [`launch`]).
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the view of a registry's chains: a refresh every `interval` (alerts are logged as
/// they start and clear) and, with `http`, the server. `aggregator` adds what `solvency run`
/// knows (feed it with [`Observatory::record`]).
pub async fn launch(
    registry: &solvency_registry::Registry,
    limits: alerts::Limits,
    interval: Duration,
    aggregator: bool,
    http: Option<std::net::SocketAddr>,
    cancel: CancellationToken,
) -> anyhow::Result<Launched> {
    let collector = Collector::new(registry)?;
    let observatory = Observatory::new(limits, interval, aggregator);
    let mut tasks = Vec::new();
    let mut addr = None;
    if let Some(http) = http {
        let (local, task) = serve(observatory.clone(), http, cancel.clone()).await?;
        if !local.ip().is_loopback() {
            warn!(target: "observe", %local, "the view listens beyond loopback: anyone who can reach it sees chain state and alerts (never an amount)");
        }
        info!(target: "observe", url = %format!("http://{local}/"), "serving the view");
        addr = Some(local);
        tasks.push(task);
    }
    tasks.push(tokio::spawn(refresh(observatory.clone(), collector, cancel)));
    Ok(Launched { observatory, addr, tasks })
}
