//! The enclave instances the aggregator asks, and how many must agree.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, Bytes};
use solvency_chain_adapters::vault::VaultReader;
use solvency_enclave::{
    Accepted, AssessError, AttestError, DeliveredReport, SignedAttestation,
    ownership::{OwnershipError, VaultEntry},
};
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
    /// The reserve vault logs, mirrored from the chains and given to every member.
    vaults: Mutex<VaultSync>,
    /// Owners' withdrawal requests, given to every member until authorized.
    pub(crate) withdrawals: std::sync::Arc<super::withdrawals::Withdrawals>,
    /// The hub's quote board, mirrored and given to every member.
    quotes: Mutex<QuoteSync>,
}

/// Quote board entries per request to a member (an entry is about 0.7 kB of JSON; a served
/// instance takes lines of up to 1 MiB).
const QUOTES_PER_FEED: usize = 256;

/// The hub's quote board as read, and how much of it every member was given.
#[derive(Default)]
struct QuoteSync {
    /// The hub: its chain (to read the board), its oracle, and a client to ask it for its
    /// board until it names one.
    hub: Option<(solvency_registry::ChainConfig, Address, solvency_chain_adapters::ChainClient)>,
    reader: Option<solvency_chain_adapters::quotes::QuoteReader>,
    log: Vec<solvency_enclave::quote::QuoteEntry>,
    /// Per member: how many entries it has.
    given: BTreeMap<usize, u64>,
}

/// The vault logs as read from the chains, and how much of each every member was given.
#[derive(Default)]
struct VaultSync {
    readers: Vec<VaultReader>,
    logs: BTreeMap<u64, Vec<VaultEntry>>,
    /// Per (member, chain selector): how many entries the member has.
    given: BTreeMap<(usize, u64), u64>,
}

impl Quorum {
    pub(crate) fn new(members: Vec<EnclaveClient>, threshold: usize) -> Self {
        let all = (0..members.len()).collect();
        Self {
            members,
            threshold,
            behind: Mutex::new(all),
            vaults: Mutex::default(),
            withdrawals: Default::default(),
            quotes: Mutex::default(),
        }
    }

    /// The same quorum, also mirroring the quote board the hub names, once it names one.
    pub(crate) fn with_quotes(self, hub: solvency_registry::ChainConfig) -> Self {
        let (oracle, client) =
            (hub.oracle(), solvency_chain_adapters::ChainClient::new(&hub, Default::default()));
        let sync = QuoteSync { hub: Some((hub, oracle, client)), ..QuoteSync::default() };
        Self { quotes: Mutex::new(sync), ..self }
    }

    /// Reads the quotes the board took since the last call, gives every member the entries it
    /// lacks, and returns the board's last closed round and head, which the attestation must
    /// commit to ((0, 0) while the hub names no board).
    pub(crate) async fn sync_quotes(&self) -> Result<(u64, B256), String> {
        let mut sync = self.quotes.lock().await;
        let QuoteSync { hub, reader, log, given } = &mut *sync;
        let Some((hub, oracle, client)) = hub else { return Ok((0, B256::ZERO)) };
        if reader.is_none() {
            match solvency_chain_adapters::quotes::quote_board(client, *oracle).await {
                Ok(Some(board)) => {
                    *reader = Some(solvency_chain_adapters::quotes::QuoteReader::new(hub, board))
                }
                Ok(None) => return Ok((0, B256::ZERO)),
                Err(e) => return Err(format!("finding the hub's quote board: {e}")),
            }
        }
        let reader = reader.as_mut().expect("set above");
        match reader.read().await {
            Ok(entries) => log.extend(entries),
            Err(e) => {
                warn!(target: "aggregator", error = %e, "reading the quote board failed; trying again later")
            }
        }
        for (i, member) in self.members.iter().enumerate() {
            let mut have = given.get(&i).copied().unwrap_or(0) as usize;
            if have >= log.len() && given.contains_key(&i) {
                continue;
            }
            // In pieces: an instance takes requests of a bounded size. Bounded: every step
            // either feeds a piece or restarts from what the member holds, once.
            let mut steps = log.len() / QUOTES_PER_FEED + 3;
            let fed = loop {
                steps -= 1;
                let to = log.len().min(have + QUOTES_PER_FEED);
                let answer = match member.feed_quotes(have as u64, log[have..to].to_vec()).await {
                    // A member that restarted lacks earlier entries: give it from where it is.
                    Err(CallError::Refused {
                        refusal:
                            Refusal::Quotes {
                                error:
                                    solvency_enclave::quote::QuoteFeedError::Gap { have: held, .. },
                            },
                        ..
                    }) if steps > 0 => {
                        have = (held as usize).min(log.len());
                        continue;
                    }
                    answer => answer,
                };
                match answer {
                    Ok(len) if (len as usize) < log.len() && len as usize > have && steps > 0 => {
                        have = len as usize
                    }
                    other => break other,
                }
            };
            match fed {
                Ok(len) => {
                    given.insert(i, len);
                }
                Err(e) => {
                    given.remove(&i);
                    warn!(target: "aggregator", member = %member.location(), error = %e, "an enclave instance could not take quote board entries")
                }
            }
        }
        reader.closed().await.map_err(|e| format!("reading the quote board's closed round: {e}"))
    }

    /// The same quorum, taking withdrawal requests from `withdrawals`.
    pub(crate) fn with_withdrawals(
        self,
        withdrawals: std::sync::Arc<super::withdrawals::Withdrawals>,
    ) -> Self {
        Self { withdrawals, ..self }
    }

    /// Gives every member every withdrawal request still queued, and records what they made of
    /// it: an id (some member took it), a rule (every member refused it), or nothing (no member
    /// answered: given again next time).
    pub(crate) async fn give_withdrawals(&self, epoch: u64) {
        for (handle, request) in self.withdrawals.to_give() {
            let answers = futures::future::join_all(
                self.members.iter().map(|m| m.take_withdrawal(request.clone())),
            )
            .await;
            let mut refused = None;
            let mut taken = None;
            for answer in answers {
                match answer {
                    Ok(id) => taken = taken.or(Some(id)),
                    Err(CallError::Refused { refusal: Refusal::Withdrawal { error }, .. }) => {
                        refused = refused.or(Some(error));
                    }
                    Err(e) => {
                        warn!(target: "aggregator", error = %e, "an enclave instance could not take a withdrawal request")
                    }
                }
            }
            match (taken, refused) {
                (Some(id), _) => self.withdrawals.judged(&handle, Ok(id), epoch),
                (None, Some(error)) => self.withdrawals.judged(&handle, Err(error), epoch),
                (None, None) => {}
            }
        }
    }

    /// The same quorum, also mirroring the vaults these readers read.
    pub(crate) fn with_vaults(self, readers: Vec<VaultReader>) -> Self {
        Self { vaults: Mutex::new(VaultSync { readers, ..VaultSync::default() }), ..self }
    }

    /// Reads what the vaults logged since the last call and gives every member the entries it
    /// lacks. A chain that cannot be read is read again next time: its vault's credits wait,
    /// nothing else does.
    pub(crate) async fn sync_vaults(&self) {
        let mut sync = self.vaults.lock().await;
        let VaultSync { readers, logs, given } = &mut *sync;
        for reader in readers.iter_mut() {
            match reader.read().await {
                Ok(entries) => logs.entry(reader.chain_selector()).or_default().extend(entries),
                Err(e) => {
                    warn!(target: "aggregator", error = %e, "reading a vault log failed; trying again later")
                }
            }
        }
        for (i, member) in self.members.iter().enumerate() {
            for (&chain, log) in logs.iter() {
                let have = given.get(&(i, chain)).copied().unwrap_or(0) as usize;
                if have >= log.len() {
                    continue;
                }
                let answer = match member.feed_vault(chain, log[have..].to_vec()).await {
                    // A member that restarted lacks earlier entries: give it from where it is.
                    Err(CallError::Refused {
                        refusal:
                            Refusal::Vault { error: OwnershipError::OutOfOrder { expected, .. } },
                        ..
                    }) => {
                        let from = (expected.saturating_sub(1) as usize).min(log.len());
                        member.feed_vault(chain, log[from..].to_vec()).await
                    }
                    answer => answer,
                };
                match answer {
                    Ok(len) => {
                        given.insert((i, chain), len);
                    }
                    Err(e) => {
                        given.remove(&(i, chain));
                        warn!(target: "aggregator", member = %member.location(), chain, error = %e, "an enclave instance could not take vault entries")
                    }
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    async fn mark_behind(&self, member: usize) {
        self.behind.lock().await.insert(member);
        // A member that may have restarted gets the vault logs and the quote board again too.
        self.vaults.lock().await.given.retain(|(m, _), _| *m != member);
        self.quotes.lock().await.given.remove(&member);
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
        (quote_round, quote_head): (u64, B256),
    ) -> Result<(SignedAttestation, Vec<(Address, Bytes)>), SignFailure> {
        let ask = |epoch| {
            futures::future::join_all(
                self.members
                    .iter()
                    .map(move |m| m.attest_with_quotes(at, epoch, parent, quote_round, quote_head)),
            )
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
                // The member lacks vault entries (it restarted since it was given them): it
                // gets the logs again from the start before the next round.
                Err(
                    e @ CallError::Refused {
                        refusal: Refusal::Attest { error: AttestError::LedgerNotReproduced { .. } },
                        ..
                    },
                ) => {
                    self.vaults.lock().await.given.retain(|(m, _), _| *m != i);
                    problems.push(e.to_string());
                }
                // The member lacks quote board entries (it restarted, or the board's last
                // round was not read yet): it gets the board again from the start.
                Err(
                    e @ CallError::Refused {
                        refusal: Refusal::Attest { error: AttestError::Quotes { .. } },
                        ..
                    },
                ) => {
                    self.quotes.lock().await.given.remove(&i);
                    problems.push(e.to_string());
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
