//! `solvency reporter run`: a chain's reporter as a daemon. It reads the chain's figures from
//! their sources every `poll_secs` and seals and submits a report
//!
//! - when it starts (it keeps no figure on disk, so it has nothing to compare with),
//! - on the heartbeat (`heartbeat_secs` after the last report),
//! - when a figure moved by more than `deviation_bps` since the last report, and
//! - when the aggregator asks for one (its API's `wants_report`: it restarted and has no fresh
//!   report from this chain), if the daemon was given the aggregator's URL.
//!
//! Every report has one size (the payload is padded), so a deviation report looks the same
//! on-chain as a heartbeat report; only its timing differs (see docs/reporters.md).
//!
//! A source that fails skips the report with an error that names it: a missing figure is never
//! reported as zero. With the aggregator's URL, the daemon learns whether each report was
//! accepted, or refused and why. One daemon owns a state directory at a time; it persists only
//! the last seq it used, after the report is mined.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use solvency_chain_adapters::{Backoff, ChainClient};
use solvency_durable::StateLock;
use solvency_enclave::{Position, ReportV1, X25519KeyPair, X25519Public};
use solvency_registry::ChainConfig;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{
    feedback::{AggregatorApi, Answer, advice},
    sources::read_positions,
};

/// Why a report was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The daemon's first report.
    Start,
    /// `heartbeat_secs` passed.
    Heartbeat,
    /// A figure moved past `deviation_bps`.
    Deviation,
    /// The aggregator asked for one.
    Requested,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Start => "start",
            Self::Heartbeat => "heartbeat",
            Self::Deviation => "deviation",
            Self::Requested => "requested by the aggregator",
        })
    }
}

/// What the daemon did, for tests and benchmarks. Never carries a figure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReporterEvent {
    /// A report was mined on the chain.
    Submitted {
        /// Its seq.
        seq: u64,
        /// Why it was sent.
        reason: Reason,
        /// The submitting transaction.
        tx: B256,
    },
    /// The aggregator accepted it (or a later one).
    Accepted {
        /// Its seq.
        seq: u64,
    },
    /// The enclave refused it.
    Refused {
        /// Its seq.
        seq: u64,
        /// The rule it broke.
        rule: String,
    },
    /// A source failed: no report this time.
    SourceFailed {
        /// The error (names the source, never a figure).
        error: String,
    },
    /// Submitting failed: tried again at the next poll.
    SubmitFailed {
        /// Why.
        error: String,
    },
}

/// Everything a daemon needs.
pub struct Daemon {
    /// The chain, with its sources and reporting settings.
    pub chain: ChainConfig,
    /// The deployment id reports are bound to.
    pub deployment_id: B256,
    /// The enclave's HPKE key.
    pub enclave: X25519Public,
    /// The chain's reporter key (seals).
    pub reporter: X25519KeyPair,
    /// The chain's reporter account (pays gas and the CCIP fee).
    pub account: PrivateKeySigner,
    /// The aggregator's API, for feedback and requests.
    pub aggregator: Option<AggregatorApi>,
    /// Where the daemon keeps its lock and last seq.
    pub state_dir: PathBuf,
    /// How long to wait for the aggregator's answer about a report before saying so.
    pub feedback_timeout: Duration,
}

/// The only thing kept on disk: no figure.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    last_seq: u64,
}

/// The last report, in memory only.
struct Last {
    positions: Vec<Position>,
    at: Instant,
}

/// A report whose fate the aggregator has not told yet.
struct Pending {
    seq: u64,
    /// The accepted seq when it was sent.
    before: Option<u64>,
    since: Instant,
}

fn state_path(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("reporter-{chain}.json"))
}

impl Daemon {
    /// Runs until `cancel`. Fails at once if another daemon owns the state directory or the
    /// chain has no sources.
    pub async fn run(
        self,
        cancel: CancellationToken,
        events: Option<mpsc::UnboundedSender<ReporterEvent>>,
    ) -> anyhow::Result<()> {
        let chain = &self.chain;
        anyhow::ensure!(
            !chain.sources.is_empty(),
            "{} has no sources: give its assets [[chains.assets.reserves]] and [[chains.assets.liabilities]] in the registry (see docs/reporters.md)",
            chain.name
        );
        for asset in &chain.assets {
            if !chain.sources.iter().any(|s| s.symbol == asset.symbol) {
                warn!(target: "reporter", chain = %chain.name, asset = %asset.symbol, "the asset has no sources: it is left out of the reports");
            }
        }
        let _lock = StateLock::for_dir(&self.state_dir, &format!("reporter-{}", chain.name))
            .context("another reporter daemon owns this state directory")?;
        let path = state_path(&self.state_dir, &chain.name);
        let mut state: State = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a reporter state file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let emit = |event: ReporterEvent| {
            if let Some(events) = &events {
                let _ = events.send(event);
            }
        };
        let client = ChainClient::new(chain, Backoff::default());
        let http = reqwest::Client::builder().build().context("an HTTP client")?;
        let settings = &chain.reporting;
        info!(target: "reporter", chain = %chain.name, heartbeat_secs = settings.heartbeat.as_secs(), deviation_bps = settings.deviation_bps, poll_secs = settings.poll.as_secs(), feedback = self.aggregator.is_some(), "reporter running");
        let mut last: Option<Last> = None;
        let mut pending: Option<Pending> = None;
        let mut aggregator_started: Option<u64> = None;
        let mut accepted: Option<u64> = None;
        let mut tick = tokio::time::interval(settings.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            // What the aggregator says: the fate of the pending report, and whether it asks.
            let mut requested = false;
            if let Some(api) = &self.aggregator {
                match api.chain(&chain.name).await {
                    Ok(feedback) => {
                        if aggregator_started.is_some_and(|at| at != feedback.started_at) {
                            // A new aggregator process: it may never judge what was pending.
                            info!(target: "reporter", chain = %chain.name, "the aggregator restarted");
                            pending = None;
                        }
                        aggregator_started = Some(feedback.started_at);
                        accepted = feedback.accepted;
                        if let Some(p) = &pending {
                            match feedback.answer(p.seq, p.before) {
                                Answer::Accepted { .. } => {
                                    info!(target: "reporter", chain = %chain.name, seq = p.seq, "the enclave accepted the report");
                                    emit(ReporterEvent::Accepted { seq: p.seq });
                                    pending = None;
                                }
                                Answer::Refused { rule } => {
                                    error!(target: "reporter", chain = %chain.name, seq = p.seq, %rule, "the enclave refused the report: {}", advice(&rule));
                                    emit(ReporterEvent::Refused { seq: p.seq, rule });
                                    pending = None;
                                }
                                Answer::Pending if p.since.elapsed() > self.feedback_timeout => {
                                    warn!(target: "reporter", chain = %chain.name, seq = p.seq, waited_secs = p.since.elapsed().as_secs(), "no word from the aggregator about the report yet; is its CCIP message stuck?");
                                    pending = None;
                                }
                                Answer::Pending => {}
                            }
                        }
                        requested = feedback.wants_report && pending.is_none();
                    }
                    Err(e) => {
                        warn!(target: "reporter", chain = %chain.name, error = %format!("{e:#}"), "cannot ask the aggregator; reporting on the heartbeat")
                    }
                }
            }
            let positions = match read_positions(&client, &http, chain, crate::unix_now()).await {
                Ok(positions) => positions,
                Err(e) => {
                    error!(target: "reporter", chain = %chain.name, error = %e, "a source failed: no report this time");
                    emit(ReporterEvent::SourceFailed { error: e.to_string() });
                    continue;
                }
            };
            let reason = match &last {
                None => Some(Reason::Start),
                Some(last) if last.at.elapsed() >= settings.heartbeat => Some(Reason::Heartbeat),
                Some(last) if deviated(&last.positions, &positions, settings.deviation_bps) => {
                    Some(Reason::Deviation)
                }
                Some(_) if requested => Some(Reason::Requested),
                Some(_) => None,
            };
            let Some(reason) = reason else { continue };
            let seq = next_seq(state.last_seq);
            let report = ReportV1::new(chain.selector, seq, crate::unix_now(), positions.clone());
            match super::submit(
                chain,
                &self.deployment_id,
                &self.enclave,
                &self.reporter,
                self.account.clone(),
                &report,
            )
            .await
            {
                Ok(tx) => {
                    state.last_seq = seq;
                    // After the effect: a crash before this line means the next seq is
                    // taken from the clock, above this one.
                    let bytes = serde_json::to_vec(&state).expect("the state serializes");
                    solvency_durable::write_atomic(&path, &bytes, 0o600)
                        .with_context(|| format!("saving {}", path.display()))?;
                    info!(target: "reporter", chain = %chain.name, seq, %reason, %tx, "report submitted");
                    emit(ReporterEvent::Submitted { seq, reason, tx });
                    last = Some(Last { positions, at: Instant::now() });
                    pending = Some(Pending { seq, before: accepted, since: Instant::now() });
                }
                Err(e) => {
                    error!(target: "reporter", chain = %chain.name, seq, error = %format!("{e:#}"), "submitting the report failed; trying again at the next poll");
                    emit(ReporterEvent::SubmitFailed { error: format!("{e:#}") });
                }
            }
        }
        info!(target: "reporter", chain = %chain.name, "reporter stopped");
        Ok(())
    }
}

/// The next seq: above the last, and the time in milliseconds when that is higher (so that a
/// lost state file never sends a seq backwards while the clock moves forward).
fn next_seq(last: u64) -> u64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    now_ms.max(last.saturating_add(1))
}

/// Whether any figure moved by more than `bps` basis points of its last reported value (a
/// figure that was zero moved if it is not zero now; an asset that appeared or vanished moved).
/// `bps` 0 never triggers.
fn deviated(last: &[Position], now: &[Position], bps: u32) -> bool {
    if bps == 0 {
        return false;
    }
    if last.len() != now.len() {
        return true;
    }
    let moved = |before: U256, after: U256| {
        let diff = before.abs_diff(after);
        // diff / before > bps / 10 000, without division or overflow.
        match (diff.checked_mul(U256::from(10_000u32)), before.checked_mul(U256::from(bps))) {
            (Some(lhs), Some(rhs)) => lhs > rhs,
            _ => diff > before / U256::from(10_000u32) * U256::from(bps),
        }
    };
    last.iter().zip(now).any(|(a, b)| {
        a.assetId != b.assetId
            || moved(a.reserves, b.reserves)
            || moved(a.liabilities, b.liabilities)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(asset: &str, reserves: u64, liabilities: u64) -> Position {
        Position::new(asset, U256::from(reserves), U256::from(liabilities))
    }

    #[test]
    fn deviation_is_relative_to_the_last_reported_figure() {
        let last = [p("USDC", 10_000, 5_000)];
        assert!(
            !deviated(&last, &[p("USDC", 10_100, 5_000)], 100),
            "exactly 1 % is not more than 1 %"
        );
        assert!(deviated(&last, &[p("USDC", 10_101, 5_000)], 100));
        assert!(deviated(&last, &[p("USDC", 9_899, 5_000)], 100), "down counts as much as up");
        assert!(deviated(&last, &[p("USDC", 10_000, 5_051)], 100), "liabilities count too");
        assert!(!deviated(&last, &[p("USDC", 20_000, 5_000)], 0), "0 bps: heartbeat only");
        assert!(deviated(&[p("USDC", 0, 0)], &[p("USDC", 1, 0)], 100), "from zero, any move");
        assert!(!deviated(&[p("USDC", 0, 0)], &[p("USDC", 0, 0)], 100));
        assert!(deviated(&last, &[p("WETH", 10_000, 5_000)], 100), "another asset");
        assert!(
            deviated(&last, &[p("USDC", 10_000, 5_000), p("WETH", 1, 1)], 100),
            "an asset more"
        );
        let huge = Position::new("USDC", U256::MAX, U256::MAX);
        assert!(
            !deviated(std::slice::from_ref(&huge), std::slice::from_ref(&huge), 100),
            "no overflow"
        );
    }

    #[test]
    fn seqs_only_go_up() {
        let now = next_seq(0);
        assert!(now > 1_700_000_000_000, "the time in milliseconds");
        assert_eq!(
            next_seq(u64::MAX - 1),
            u64::MAX,
            "above the last even when the clock is behind"
        );
        assert!(next_seq(now) > now);
    }
}
