//! Asking an enclave: in this process, or an instance behind a Unix socket, with the same typed
//! calls.

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::primitives::{B256, Bytes};
use solvency_enclave::{
    Accepted, DeliveredReport, EnclavePublic, Evidence, LedgerKeyRelease, Readiness,
    SignedAttestation, X25519Public, ownership::VaultEntry,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

use crate::{Host, Refusal, Request, Response};

/// How long an instance gets to answer one request: a hung instance must not hold up a quorum.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call did not give the answer asked for.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The instance could not be reached, or did not answer in time.
    #[error("enclave at {at}: {reason}")]
    Unavailable {
        /// Its socket, or "in-process".
        at: String,
        /// What happened.
        reason: String,
    },
    /// The instance refused.
    #[error("enclave at {at}: {refusal}")]
    Refused {
        /// Its socket, or "in-process".
        at: String,
        /// Why.
        refusal: Refusal,
    },
    /// The instance answered something else than the request calls for.
    #[error("enclave at {at}: unexpected answer {answer}")]
    Unexpected {
        /// Its socket, or "in-process".
        at: String,
        /// The answer, as JSON (never holds an amount).
        answer: String,
    },
}

impl CallError {
    /// The refusal, if the instance refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}

/// An enclave the aggregator can ask.
pub struct EnclaveClient(Inner);

enum Inner {
    Local(Arc<Host>),
    Remote { socket: PathBuf, conn: tokio::sync::Mutex<Option<BufReader<UnixStream>>> },
}

impl std::fmt::Debug for EnclaveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnclaveClient({})", self.location())
    }
}

macro_rules! expect {
    ($self:ident, $request:expr, $pattern:pat => $value:expr) => {{
        let at = || $self.location();
        match $self.call($request).await? {
            $pattern => Ok($value),
            Response::Refused { refusal } => Err(CallError::Refused { at: at(), refusal }),
            other => Err(CallError::Unexpected {
                at: at(),
                answer: serde_json::to_string(&other).unwrap_or_default(),
            }),
        }
    }};
}

impl EnclaveClient {
    /// An enclave hosted in this process.
    pub fn local(host: Arc<Host>) -> Self {
        Self(Inner::Local(host))
    }

    /// An instance served at `socket`; connected on first use and again after any failure.
    pub fn remote(socket: impl Into<PathBuf>) -> Self {
        Self(Inner::Remote { socket: socket.into(), conn: tokio::sync::Mutex::new(None) })
    }

    /// Where it is, for messages.
    pub fn location(&self) -> String {
        match &self.0 {
            Inner::Local(_) => "in-process".into(),
            Inner::Remote { socket, .. } => socket.display().to_string(),
        }
    }

    /// Sends one request and returns the answer, whatever it is.
    pub async fn call(&self, request: Request) -> Result<Response, CallError> {
        match &self.0 {
            Inner::Local(host) => {
                let host = host.clone();
                tokio::task::spawn_blocking(move || host.handle(request)).await.map_err(|e| {
                    CallError::Unavailable { at: "in-process".into(), reason: e.to_string() }
                })
            }
            Inner::Remote { socket, conn } => {
                let unavailable = |reason: String| CallError::Unavailable {
                    at: socket.display().to_string(),
                    reason,
                };
                let mut guard = conn.lock().await;
                if guard.is_none() {
                    let stream = UnixStream::connect(socket)
                        .await
                        .map_err(|e| unavailable(format!("cannot connect: {e}")))?;
                    *guard = Some(BufReader::new(stream));
                }
                let stream = guard.as_mut().expect("connected");
                let mut line = serde_json::to_vec(&request).expect("requests serialize");
                line.push(b'\n');
                let exchange = async {
                    stream.get_mut().write_all(&line).await?;
                    let mut answer = String::new();
                    if stream.read_line(&mut answer).await? == 0 {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the enclave closed the connection",
                        ));
                    }
                    Ok(answer)
                };
                let result = match tokio::time::timeout(CALL_TIMEOUT, exchange).await {
                    Ok(result) => result,
                    Err(_) => {
                        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))
                    }
                };
                match result {
                    Ok(answer) => serde_json::from_str(&answer).map_err(|e| {
                        *guard = None;
                        unavailable(format!("bad answer: {e}"))
                    }),
                    Err(e) => {
                        // Drop the connection so that a late answer is never read as the answer
                        // to the next request.
                        *guard = None;
                        Err(unavailable(e.to_string()))
                    }
                }
            }
        }
    }

    /// Its public keys.
    pub async fn public(&self) -> Result<EnclavePublic, CallError> {
        expect!(self, Request::Public, Response::Public { public } => public)
    }

    /// Checks and records a delivered report.
    pub async fn ingest(&self, report: DeliveredReport, now: u64) -> Result<Accepted, CallError> {
        expect!(self, Request::Ingest { report, now }, Response::Accepted { accepted } => accepted)
    }

    /// Whether it can attest now, and whether the verdict changed.
    pub async fn readiness(&self, now: u64) -> Result<Readiness, CallError> {
        expect!(self, Request::Readiness { now }, Response::Ready { readiness } => readiness)
    }

    /// Gives a chain's next vault log entries; returns how many the instance now has.
    pub async fn feed_vault(
        &self,
        chain_selector: u64,
        entries: Vec<VaultEntry>,
    ) -> Result<u64, CallError> {
        expect!(
            self,
            Request::FeedVault { chain_selector, entries },
            Response::Fed { len, .. } => len
        )
    }

    /// Gives an owner's sealed withdrawal request; returns its authorization id.
    pub async fn take_withdrawal(&self, request: Bytes) -> Result<B256, CallError> {
        expect!(self, Request::Withdraw { request }, Response::WithdrawalTaken { id } => id)
    }

    /// Signs the attestation of `epoch` at `now`, over the hub's ledger root `parent`, without
    /// a quote board.
    pub async fn attest(
        &self,
        now: u64,
        epoch: u64,
        parent: B256,
    ) -> Result<SignedAttestation, CallError> {
        self.attest_with_quotes(now, epoch, parent, 0, B256::ZERO).await
    }

    /// Signs the attestation of `epoch` at `now`, over the hub's ledger root `parent`,
    /// committing to the quote board's last closed round and head.
    pub async fn attest_with_quotes(
        &self,
        now: u64,
        epoch: u64,
        parent: B256,
        quote_round: u64,
        quote_head: B256,
    ) -> Result<SignedAttestation, CallError> {
        expect!(
            self,
            Request::Attest { now, epoch, parent_ledger_root: parent, quote_round, quote_head },
            Response::Attested { signed } => *signed
        )
    }

    /// Gives the quote board's entries `from..`; returns how many the instance now holds.
    pub async fn feed_quotes(
        &self,
        from: u64,
        entries: Vec<solvency_enclave::quote::QuoteEntry>,
    ) -> Result<u64, CallError> {
        expect!(
            self,
            Request::FeedQuotes { from, entries },
            Response::QuotesFed { len } => len
        )
    }

    /// Evidence binding its keys and `nonce`.
    pub async fn evidence(&self, nonce: Bytes) -> Result<Evidence, CallError> {
        expect!(self, Request::Evidence { nonce }, Response::Evidence { evidence } => *evidence)
    }

    /// Starts a ledger key request: its evidence, for an instance that holds the key.
    pub async fn request_ledger_key(&self) -> Result<Evidence, CallError> {
        expect!(self, Request::RequestLedgerKey, Response::Evidence { evidence } => *evidence)
    }

    /// Asks this instance (which holds the ledger key) to answer another's request.
    pub async fn release_ledger_key(
        &self,
        evidence: Evidence,
    ) -> Result<LedgerKeyRelease, CallError> {
        expect!(
            self,
            Request::ReleaseLedgerKey { evidence: Box::new(evidence) },
            Response::LedgerKeyReleased { release } => release
        )
    }

    /// Gives this instance the answer to its request; returns how many checkpoints it took.
    pub async fn accept_ledger_key(&self, release: LedgerKeyRelease) -> Result<usize, CallError> {
        expect!(
            self,
            Request::AcceptLedgerKey { release },
            Response::LedgerKeyAccepted { checkpoints } => checkpoints
        )
    }

    /// Asks `holder` for the ledger key on this instance's behalf: a request from this one,
    /// released by `holder`, taken by this one. Returns how many checkpoints it took.
    pub async fn join(&self, holder: &EnclaveClient) -> Result<usize, CallError> {
        let evidence = self.request_ledger_key().await?;
        let release = holder.release_ledger_key(evidence).await?;
        self.accept_ledger_key(release).await
    }

    /// Rotates its HPKE key.
    pub async fn rotate(&self, grace_until: u64) -> Result<X25519Public, CallError> {
        expect!(self, Request::Rotate { grace_until }, Response::Rotated { hpke_public_key } => hpke_public_key)
    }
}
