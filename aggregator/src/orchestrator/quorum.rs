//! The enclave instances the aggregator asks, and how many must agree.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, Bytes};
use solvency_enclave::{Accepted, AssessError, DeliveredReport, SignedAttestation};
use solvency_enclave_host::{CallError, EnclaveClient, Refusal};
use tokio::sync::Mutex;
use tracing::warn;

/// What the members made of a report.
#[derive(Debug)]
pub(crate) enum Judged {
    /// Accepted (by at least one member).
    Accepted(Accepted),
    /// Refused by a rule: judged, and will be refused again.
    Refused(Refusal),
    /// No member could judge it (unreachable, a clock or disk problem): try again later.
    Undecided(String),
}

/// Why no statement was signed.
#[derive(Debug)]
pub(crate) enum SignFailure {
    /// The enclaves cannot attest yet.
    NotReady(crate::orchestrator::NotReady),
    /// Something else went wrong.
    Failed(String),
}

/// k of n enclave instances.
pub(crate) struct Quorum {
    members: Vec<EnclaveClient>,
    pub(crate) threshold: usize,
    /// Members that may have missed reports (a failed call, a reconnection, a member that says
    /// a report is missing): given the latest reports again before the next attestation.
    behind: Mutex<BTreeSet<usize>>,
}

impl Quorum {
    pub(crate) fn new(members: Vec<EnclaveClient>, threshold: usize) -> Self {
        let all = (0..members.len()).collect();
        Self { members, threshold, behind: Mutex::new(all) }
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    async fn mark_behind(&self, member: usize) {
        self.behind.lock().await.insert(member);
    }

    /// Members to give the latest reports again; they are taken off the list.
    pub(crate) async fn take_behind(&self) -> Vec<usize> {
        std::mem::take(&mut *self.behind.lock().await).into_iter().collect()
    }

    /// Puts members back on the list (their refeed failed).
    pub(crate) async fn put_back(&self, members: impl IntoIterator<Item = usize>) {
        self.behind.lock().await.extend(members);
    }

    /// Ingests a report into every member at once.
    pub(crate) async fn ingest(&self, report: &DeliveredReport, now: u64) -> Judged {
        let answers =
            futures::future::join_all(self.members.iter().map(|m| m.ingest(report.clone(), now)))
                .await;
        let mut refused = None;
        let mut problems = Vec::new();
        let mut accepted = None;
        for (i, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(a) => accepted = accepted.or(Some(a)),
                Err(CallError::Refused { refusal: refusal @ Refusal::Report { .. }, .. }) => {
                    refused = refused.or(Some(refusal));
                }
                Err(e) => {
                    warn!(target: "aggregator", member = %self.members[i].location(), error = %e, "an enclave instance could not judge a report");
                    self.mark_behind(i).await;
                    problems.push(e.to_string());
                }
            }
        }
        match (accepted, refused) {
            (Some(accepted), other) => {
                if let Some(refusal) = other {
                    warn!(target: "aggregator", %refusal, "enclave instances disagree about a report");
                }
                Judged::Accepted(accepted)
            }
            (None, Some(refusal)) => Judged::Refused(refusal),
            (None, None) => Judged::Undecided(
                problems.into_iter().next().unwrap_or_else(|| "no enclave instance".into()),
            ),
        }
    }

    /// Gives one member a report again (after a restart or a missed call). Returns whether the
    /// member now holds it.
    pub(crate) async fn refeed(&self, member: usize, report: &DeliveredReport, now: u64) -> bool {
        match self.members[member].ingest(report.clone(), now).await {
            Ok(_) => true,
            // Superseded or too old by now: the member has what it can have.
            Err(CallError::Refused { refusal: Refusal::Report { .. }, .. }) => true,
            Err(e) => {
                warn!(target: "aggregator", member = %self.members[member].location(), error = %e, "giving a report again failed");
                false
            }
        }
    }

    /// Whether any member can attest now and says the verdict changed; `Err` says why none can.
    pub(crate) async fn readiness(&self, now: u64) -> Result<bool, crate::orchestrator::NotReady> {
        let answers =
            futures::future::join_all(self.members.iter().map(|m| m.readiness(now))).await;
        let mut changed = None;
        let mut reason = None;
        for (i, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(readiness) => {
                    changed = Some(changed.unwrap_or(false) || readiness.verdict_changed)
                }
                Err(CallError::Refused { refusal: Refusal::NotReady { error }, .. }) => {
                    if matches!(error, AssessError::MissingReport { .. }) {
                        self.mark_behind(i).await;
                    }
                    reason = reason.or(Some(crate::orchestrator::NotReady::Assess(error)));
                }
                Err(e) => {
                    self.mark_behind(i).await;
                    reason =
                        reason.or(Some(crate::orchestrator::NotReady::NoAnswer(e.to_string())));
                }
            }
        }
        changed.ok_or_else(|| {
            reason.unwrap_or(crate::orchestrator::NotReady::NoAnswer("no enclave instance".into()))
        })
    }

    /// Asks every member to sign `epoch` (once more above the highest epoch a member already
    /// signed, if any did), and returns the statement most members signed, with their
    /// signatures.
    pub(crate) async fn sign(
        &self,
        at: u64,
        epoch: u64,
        parent: B256,
    ) -> Result<(SignedAttestation, Vec<(Address, Bytes)>), SignFailure> {
        let ask = |epoch| {
            futures::future::join_all(self.members.iter().map(move |m| m.attest(at, epoch, parent)))
        };
        let mut answers = ask(epoch).await;
        let highest_used = answers
            .iter()
            .filter_map(|a| match a {
                Err(CallError::Refused {
                    refusal: Refusal::EpochUsed { last_epoch, .. }, ..
                }) => Some(*last_epoch),
                _ => None,
            })
            .max();
        if let Some(last) = highest_used {
            answers = ask(last + 1).await;
        }
        let mut groups: Vec<(SignedAttestation, Vec<(Address, Bytes)>)> = Vec::new();
        let mut not_ready = None;
        let mut problems = Vec::new();
        for (i, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(signed) => {
                    let signature = (signed.signer, signed.signature.clone());
                    match groups.iter_mut().find(|(s, _)| {
                        s.attestation == signed.attestation && s.messages == signed.messages
                    }) {
                        Some((_, signatures)) => signatures.push(signature),
                        None => groups.push((signed, vec![signature])),
                    }
                }
                Err(CallError::Refused { refusal: Refusal::NotReady { error }, .. }) => {
                    not_ready = not_ready.or(Some(error));
                }
                Err(e) => {
                    if !matches!(e, CallError::Refused { .. }) {
                        self.mark_behind(i).await;
                    }
                    problems.push(e.to_string());
                }
            }
        }
        if groups.len() > 1 {
            warn!(target: "aggregator", epoch, statements = groups.len(), "enclave instances signed different statements");
        }
        groups.sort_by_key(|(_, signatures)| std::cmp::Reverse(signatures.len()));
        match groups.into_iter().next() {
            Some(best) => Ok(best),
            None => Err(match not_ready {
                Some(error) => SignFailure::NotReady(crate::orchestrator::NotReady::Assess(error)),
                None => SignFailure::Failed(
                    problems
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| "no enclave instance answered".into()),
                ),
            }),
        }
    }
}
