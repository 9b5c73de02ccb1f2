//! What the aggregator says about a chain's reports, from its API (`solvency run --http`):
//! the last accepted seq, the last refused seq and the rule it broke, and whether it wants a
//! fresh report. Never a figure: the API has none.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The aggregator's API.
#[derive(Clone, Debug)]
pub struct AggregatorApi {
    http: reqwest::Client,
    status: url::Url,
}

/// One chain as the aggregator sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainFeedback {
    /// The last report the enclave accepted.
    pub accepted: Option<u64>,
    /// The last report refused, and the rule it broke.
    pub refused: Option<(u64, String)>,
    /// The aggregator asks for a fresh report.
    pub wants_report: bool,
    /// When the aggregator process started, in Unix milliseconds (a change means it
    /// restarted).
    pub started_at: u64,
}

/// What became of one report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Accepted (`latest` is the newest accepted seq: this report's or a later one's).
    Accepted {
        /// The newest accepted seq.
        latest: u64,
    },
    /// Refused by `rule`.
    Refused {
        /// The rule, as the enclave names it.
        rule: String,
    },
    /// Not judged yet (not delivered to the hub, or not read yet).
    Pending,
}

#[derive(Deserialize)]
struct Status {
    chains: Vec<Chain>,
    aggregator: Option<Aggregator>,
}

#[derive(Deserialize)]
struct Chain {
    name: String,
    last_report: Option<Report>,
    last_refused: Option<Report>,
    wants_report: Option<bool>,
}

#[derive(Deserialize)]
struct Report {
    seq: u64,
    source: Option<String>,
    rule: Option<String>,
}

#[derive(Deserialize)]
struct Aggregator {
    started_at_ms: u64,
}

impl AggregatorApi {
    /// The API at `base` (e.g. `http://127.0.0.1:8645`).
    pub fn new(base: &url::Url) -> anyhow::Result<Self> {
        let status = base.join("api/v1/status").context("the aggregator's URL")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("an HTTP client")?;
        Ok(Self { http, status })
    }

    /// What the aggregator says about `chain`.
    pub async fn chain(&self, chain: &str) -> anyhow::Result<ChainFeedback> {
        let what = || {
            format!(
                "asking the aggregator at {} about {chain} (is `solvency run --http` running there?)",
                self.status.origin().ascii_serialization()
            )
        };
        let status: Status = self
            .http
            .get(self.status.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| anyhow::anyhow!("{}", e.without_url()))
            .with_context(what)?
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.without_url()))
            .with_context(what)?;
        let Some(aggregator) = status.aggregator else {
            anyhow::bail!(
                "{} is a read-only dashboard, not an aggregator: give the URL of `solvency run --http`",
                self.status.origin().ascii_serialization()
            );
        };
        let entry = status
            .chains
            .into_iter()
            .find(|c| c.name == chain)
            .with_context(|| format!("the aggregator does not know a chain named {chain}"))?;
        Ok(ChainFeedback {
            accepted: entry
                .last_report
                .filter(|r| r.source.as_deref() == Some("accepted"))
                .map(|r| r.seq),
            refused: entry.last_refused.map(|r| (r.seq, r.rule.unwrap_or_default())),
            wants_report: entry.wants_report.unwrap_or(false),
            started_at: aggregator.started_at_ms,
        })
    }

    /// Asks until report `seq` of `chain` is accepted or refused, or `timeout` passes
    /// (then [`Answer::Pending`]). `before` is the accepted seq when the report was sent.
    pub async fn wait_for(
        &self,
        chain: &str,
        seq: u64,
        before: Option<u64>,
        timeout: Duration,
    ) -> anyhow::Result<Answer> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self.chain(chain).await?.answer(seq, before);
            if answer != Answer::Pending || tokio::time::Instant::now() >= deadline {
                return Ok(answer);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl ChainFeedback {
    /// What became of report `seq`, sent when the accepted seq was `before`. A later report
    /// accepted since counts as an answer (seqs only go up: it would have been refused as a
    /// replay had this one not been judged first); a report sent below `before` can only be
    /// refused.
    pub fn answer(&self, seq: u64, before: Option<u64>) -> Answer {
        let above_before = before.is_none_or(|b| seq > b);
        match (&self.refused, self.accepted) {
            (Some((refused, rule)), _) if *refused == seq => Answer::Refused { rule: rule.clone() },
            (_, Some(latest)) if latest == seq || (latest > seq && above_before) => {
                Answer::Accepted { latest }
            }
            _ => Answer::Pending,
        }
    }
}

/// What to do about a refusal, by rule.
pub fn advice(rule: &str) -> &'static str {
    match rule {
        "replay" => {
            "its seq is not above the last accepted one: leave --seq out (it defaults to the time in milliseconds) or give a higher one"
        }
        "seq_too_large" => {
            "its seq is above the current time in milliseconds: check --seq and the reporter's clock"
        }
        "stale" => {
            "it was observed longer ago than [policy] max_report_age_secs: report fresh figures"
        }
        "from_the_future" => "it was observed in the future: check the reporter's clock",
        "wrong_reporter" | "open_failed" | "malformed" | "bad_plaintext" | "plaintext_mismatch" => {
            "it was sealed with another key, or to another enclave key or deployment: check the reporter key and the registry"
        }
        "retired_key" => {
            "it was sealed to the enclave's previous key: reload the registry (the enclave rotated its key)"
        }
        "unknown_asset" | "duplicate_asset" => {
            "its assets do not match the chain's assets in the registry"
        }
        "overflow" => "its figures overflow when summed: check the sources",
        _ => "see the aggregator's log for the rule",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_about_the_seq_asked() {
        let feedback = ChainFeedback {
            accepted: Some(10),
            refused: Some((7, "replay".into())),
            wants_report: false,
            started_at: 1,
        };
        assert_eq!(feedback.answer(7, Some(10)), Answer::Refused { rule: "replay".into() });
        assert_eq!(feedback.answer(10, Some(4)), Answer::Accepted { latest: 10 });
        assert_eq!(
            feedback.answer(9, Some(4)),
            Answer::Accepted { latest: 10 },
            "superseded by a later accepted seq"
        );
        assert_eq!(
            feedback.answer(5, Some(10)),
            Answer::Pending,
            "below what was accepted: only a refusal can come"
        );
        assert_eq!(feedback.answer(11, Some(10)), Answer::Pending);
        assert_eq!(ChainFeedback::default().answer(1, None), Answer::Pending);
    }
}
