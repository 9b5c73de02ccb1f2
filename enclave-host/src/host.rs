//! One enclave, its attestor and its store: the request handler the server and the in-process
//! client share.

use std::sync::Mutex;

use solvency_enclave::{Attestor, Enclave};
use tracing::warn;

use crate::{Refusal, Request, Response, Store, unix_now};

/// A hosted enclave.
pub struct Host {
    enclave: Mutex<Enclave>,
    attestor: Box<dyn Attestor + Send + Sync>,
    store: Store,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("store", &self.store).finish_non_exhaustive()
    }
}

impl Host {
    /// Hosts `enclave`, persisting through `store`.
    pub fn new(enclave: Enclave, attestor: Box<dyn Attestor + Send + Sync>, store: Store) -> Self {
        Self { enclave: Mutex::new(enclave), attestor, store }
    }

    /// The enclave's public keys.
    pub fn public(&self) -> solvency_enclave::EnclavePublic {
        self.lock().public()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Enclave> {
        // A panic while holding the lock cannot leave the enclave half-changed in a way that
        // matters: every change is persisted (or undone) before the lock is released.
        self.enclave.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Handles one request. A change is persisted before its result is released; if persisting
    /// fails, the change is undone and the request refused, so nothing is counted (or signed)
    /// that a restart would forget.
    pub fn handle(&self, request: Request) -> Response {
        let mut enclave = self.lock();
        let max_skew = enclave.policy().max_clock_skew;
        let refused = |refusal| Response::Refused { refusal };
        let local = unix_now();
        if let Request::Ingest { now, .. }
        | Request::Readiness { now }
        | Request::Attest { now, .. } = &request
            && local.abs_diff(*now) > max_skew
        {
            return refused(Refusal::Clock { proposed: *now, local, max_skew });
        }
        let checkpoint = enclave.checkpoint();
        let response = match request {
            Request::Public => Response::Public { public: enclave.public() },
            Request::Evidence { nonce } => {
                match enclave.evidence(self.attestor.as_ref(), &nonce, local) {
                    Ok(evidence) => Response::Evidence { evidence: Box::new(evidence) },
                    Err(e) => refused(Refusal::Evidence { reason: e.to_string() }),
                }
            }
            Request::Ingest { report, now } => match enclave.ingest(&report, now) {
                Ok(accepted) => Response::Accepted { accepted },
                Err(error) => refused(Refusal::Report { error }),
            },
            Request::Readiness { now } => match enclave.readiness(now) {
                Ok(readiness) => Response::Ready { readiness },
                Err(error) => refused(Refusal::NotReady { error }),
            },
            Request::Rotate { grace_until } => {
                Response::Rotated { hpke_public_key: enclave.rotate_hpke(grace_until) }
            }
            Request::FeedVault { chain_selector, entries } => {
                match enclave.feed_vault(chain_selector, &entries) {
                    Ok(taken) => {
                        Response::Fed { taken, len: enclave.vault_log_len(chain_selector) }
                    }
                    Err(error) => refused(Refusal::Vault { error }),
                }
            }
            Request::FeedQuotes { from, entries } => match enclave.feed_quotes(from, &entries) {
                Ok(len) => Response::QuotesFed { len },
                Err(error) => refused(Refusal::Quotes { error }),
            },
            Request::Withdraw { request } => match enclave.take_withdrawal(&request) {
                Ok(id) => Response::WithdrawalTaken { id },
                Err(error) => refused(Refusal::Withdrawal { error }),
            },
            Request::RequestLedgerKey => {
                match enclave.request_ledger_key(self.attestor.as_ref(), local) {
                    Ok(evidence) => Response::Evidence { evidence: Box::new(evidence) },
                    Err(error) => refused(Refusal::KeyRelease { error }),
                }
            }
            // Evidence is judged by this instance's clock, never the caller's.
            Request::ReleaseLedgerKey { evidence } => {
                match enclave.release_ledger_key(&evidence, local) {
                    Ok(release) => Response::LedgerKeyReleased { release },
                    Err(error) => refused(Refusal::KeyRelease { error }),
                }
            }
            Request::AcceptLedgerKey { release } => match enclave.accept_ledger_key(&release) {
                Ok(checkpoints) => Response::LedgerKeyAccepted { checkpoints },
                Err(error) => refused(Refusal::KeyRelease { error }),
            },
            Request::Attest { now, epoch, parent_ledger_root, quote_round, quote_head } => {
                match enclave.attest_epoch_with_quotes(
                    now,
                    epoch,
                    parent_ledger_root,
                    quote_round,
                    quote_head,
                ) {
                    Ok(signed) => Response::Attested { signed: Box::new(signed) },
                    Err(e) => refused(e.into()),
                }
            }
        };
        let changed = matches!(
            response,
            Response::Accepted { .. }
                | Response::Attested { .. }
                | Response::Rotated { .. }
                | Response::LedgerKeyAccepted { .. }
        );
        if changed && let Err(e) = self.store.save(&enclave) {
            enclave.rollback(checkpoint);
            warn!(target: "enclave::host", error = %e, "persisting the enclave state failed; the change was undone");
            return refused(Refusal::NotPersisted { reason: e.to_string() });
        }
        response
    }
}
