//! Owners' withdrawal requests on their way through the aggregator (docs/self-healing.md,
//! "Withdrawal requests"): sealed bytes in, sealed replies and statements out. The aggregator cannot read either; it
//! hands each request to every enclave instance before every attestation until the hub's ledger
//! authorizes it (or the enclave refuses it), and keeps the latest reply — the authorization and
//! its proof under the latest leaf, sealed to the owner — for the owner to fetch.
//!
//! Requests live in memory: after a restart of the aggregator, an owner whose request shows as
//! unknown sends it again (the enclave authorizes a nonce once, so sending twice is harmless).

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes, keccak256};
use serde::Serialize;
use solvency_enclave::withdrawal::WithdrawalError;
use std::sync::Mutex;

/// The most requests waiting at once, and the largest request taken.
const MAX_REQUESTS: usize = 4_096;
const MAX_REQUEST_BYTES: usize = 4_096;
/// Requests settled, refused or expired are forgotten this many epochs later.
const KEEP_EPOCHS: u64 = 64;
/// A request the enclaves took but did not authorize within this many published epochs
/// expires: the owner's available balance did not cover it, or its nonce was used.
const EXPIRE_EPOCHS: u64 = 8;

/// Where a request stands, as `GET /api/v1/withdrawals/{handle}` shows it. Never an amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WithdrawalState {
    /// Waiting for the next attestation.
    Queued,
    /// An enclave refused it (for a rule; sending it again gets the same answer).
    Refused {
        /// Why.
        error: WithdrawalError,
    },
    /// Authorized in the published epoch `epoch`: `reply` is the authorization and its proof
    /// under that epoch's leaf, sealed to the owner's reply key. A later epoch brings a new
    /// reply (the proof changes every epoch).
    Authorized {
        /// The authorization id.
        id: B256,
        /// The published epoch whose leaf commits it.
        epoch: u64,
        /// The sealed reply.
        reply: Bytes,
    },
    /// Taken, but not authorized within a few published epochs: the owner's available balance
    /// did not cover it, or its nonce was not above every nonce of that owner authorized
    /// before. Ask again (with a new nonce) for what is available.
    Expired {
        /// The authorization id it would have had.
        id: B256,
    },
    /// Authorized before and no longer committed: the vault paid it.
    Settled {
        /// The authorization id.
        id: B256,
        /// The first published epoch without it.
        epoch: u64,
    },
}

struct Entry {
    request: Bytes,
    state: WithdrawalState,
    /// The authorization id, once an enclave opened the request.
    id: Option<B256>,
    /// The epoch its state last changed.
    since: u64,
}

/// The requests, shared by the HTTP server and the round, and the latest statement of every
/// subscribed owner.
#[derive(Default)]
pub struct Withdrawals {
    entries: Mutex<BTreeMap<B256, Entry>>,
    statements: Mutex<BTreeMap<alloy::primitives::Address, (u64, Bytes)>>,
}

/// Why a request was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    /// Empty or too large.
    #[error("a withdrawal request is between 1 and {MAX_REQUEST_BYTES} bytes")]
    Size,
    /// Too many waiting.
    #[error("too many withdrawal requests are waiting; send it again after the next epoch")]
    Full,
}

impl Withdrawals {
    /// Takes a sealed request; returns its handle, `keccak256` of its bytes (the same request
    /// twice is one entry).
    pub fn submit(&self, request: Bytes) -> Result<B256, SubmitError> {
        if request.is_empty() || request.len() > MAX_REQUEST_BYTES {
            return Err(SubmitError::Size);
        }
        let handle = keccak256(&request);
        let mut entries = self.entries.lock().expect("not poisoned");
        if !entries.contains_key(&handle) && entries.len() >= MAX_REQUESTS {
            return Err(SubmitError::Full);
        }
        entries.entry(handle).or_insert(Entry {
            request,
            state: WithdrawalState::Queued,
            id: None,
            since: 0,
        });
        Ok(handle)
    }

    /// Where a request stands; `None` if unknown (never sent, forgotten, or sent before a
    /// restart of the aggregator).
    pub fn state(&self, handle: &B256) -> Option<WithdrawalState> {
        self.entries.lock().expect("not poisoned").get(handle).map(|e| e.state.clone())
    }

    /// Every request's handle.
    pub fn handles(&self) -> Vec<B256> {
        self.entries.lock().expect("not poisoned").keys().copied().collect()
    }

    /// The requests to give the enclaves before an attestation: every one still queued.
    pub(crate) fn to_give(&self) -> Vec<(B256, Bytes)> {
        self.entries
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(_, e)| e.state == WithdrawalState::Queued)
            .map(|(&handle, e)| (handle, e.request.clone()))
            .collect()
    }

    /// What the enclaves made of a request: its id, or the rule it breaks.
    pub(crate) fn judged(&self, handle: &B256, outcome: Result<B256, WithdrawalError>, epoch: u64) {
        let mut entries = self.entries.lock().expect("not poisoned");
        if let Some(entry) = entries.get_mut(handle) {
            match outcome {
                Ok(id) => {
                    if entry.id.is_none() {
                        entry.since = epoch;
                    }
                    entry.id = Some(id);
                }
                Err(error) => {
                    entry.state = WithdrawalState::Refused { error };
                    entry.since = epoch;
                }
            }
        }
    }

    /// An owner's latest statement: the published epoch and the statement sealed to the
    /// owner's statement key.
    pub fn statement(&self, owner: &alloy::primitives::Address) -> Option<(u64, Bytes)> {
        self.statements.lock().expect("not poisoned").get(owner).cloned()
    }

    /// A published attestation's statements.
    pub(crate) fn statements_published(
        &self,
        epoch: u64,
        statements: &[(alloy::primitives::Address, Bytes)],
    ) {
        let mut latest = self.statements.lock().expect("not poisoned");
        for (owner, sealed) in statements {
            latest.insert(*owner, (epoch, sealed.clone()));
        }
    }

    /// A published attestation's replies: requests it authorizes get (or renew) their reply;
    /// requests authorized before and absent now are settled.
    pub(crate) fn published(&self, epoch: u64, replies: &[(B256, Bytes)]) {
        let replies: BTreeMap<B256, &Bytes> = replies.iter().map(|(id, r)| (*id, r)).collect();
        let mut entries = self.entries.lock().expect("not poisoned");
        for entry in entries.values_mut() {
            let Some(id) = entry.id else { continue };
            match (replies.get(&id), &entry.state) {
                (Some(reply), _) => {
                    entry.state =
                        WithdrawalState::Authorized { id, epoch, reply: (*reply).clone() };
                    entry.since = epoch;
                }
                (None, WithdrawalState::Authorized { .. }) => {
                    entry.state = WithdrawalState::Settled { id, epoch };
                    entry.since = epoch;
                }
                (None, WithdrawalState::Queued) if epoch >= entry.since + EXPIRE_EPOCHS => {
                    entry.state = WithdrawalState::Expired { id };
                    entry.since = epoch;
                }
                _ => {}
            }
        }
        entries.retain(|_, e| {
            !matches!(
                e.state,
                WithdrawalState::Settled { .. }
                    | WithdrawalState::Refused { .. }
                    | WithdrawalState::Expired { .. }
            ) || e.since + KEEP_EPOCHS > epoch
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_queued_authorized_renewed_and_settled() {
        let w = Withdrawals::default();
        assert_eq!(w.submit(Bytes::new()), Err(SubmitError::Size));
        let handle = w.submit(Bytes::from_static(b"sealed")).unwrap();
        assert_eq!(w.submit(Bytes::from_static(b"sealed")), Ok(handle), "one entry per request");
        assert_eq!(w.state(&handle), Some(WithdrawalState::Queued));
        assert_eq!(w.to_give().len(), 1);
        let id = B256::repeat_byte(1);
        w.judged(&handle, Ok(id), 3);
        // Not published yet: still queued, given again.
        w.published(3, &[]);
        assert_eq!(w.state(&handle), Some(WithdrawalState::Queued));
        w.published(4, &[(id, Bytes::from_static(b"reply 4"))]);
        assert!(matches!(w.state(&handle), Some(WithdrawalState::Authorized { epoch: 4, .. })));
        assert!(w.to_give().is_empty(), "authorized: the ledger has it");
        w.published(5, &[(id, Bytes::from_static(b"reply 5"))]);
        assert!(
            matches!(w.state(&handle), Some(WithdrawalState::Authorized { epoch: 5, reply, .. }) if reply.as_ref() == b"reply 5")
        );
        w.published(6, &[]);
        assert_eq!(w.state(&handle), Some(WithdrawalState::Settled { id, epoch: 6 }));
        w.published(6 + KEEP_EPOCHS, &[]);
        assert_eq!(w.state(&handle), None, "forgotten in time");
    }

    #[test]
    fn a_request_never_authorized_expires() {
        let w = Withdrawals::default();
        let handle = w.submit(Bytes::from_static(b"too much")).unwrap();
        let id = B256::repeat_byte(2);
        w.judged(&handle, Ok(id), 10);
        w.published(10 + EXPIRE_EPOCHS - 1, &[]);
        assert_eq!(w.state(&handle), Some(WithdrawalState::Queued));
        w.published(10 + EXPIRE_EPOCHS, &[]);
        assert_eq!(w.state(&handle), Some(WithdrawalState::Expired { id }));
        assert!(w.to_give().is_empty());
    }

    #[test]
    fn a_refused_request_says_why() {
        let w = Withdrawals::default();
        let handle = w.submit(Bytes::from_static(b"forged")).unwrap();
        w.judged(&handle, Err(WithdrawalError::Malformed), 1);
        assert_eq!(
            w.state(&handle),
            Some(WithdrawalState::Refused { error: WithdrawalError::Malformed })
        );
        assert!(w.to_give().is_empty());
    }
}
