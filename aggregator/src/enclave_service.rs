//! Enclave instances as services: `solvency enclave serve` hosts one [`Enclave`] behind a local
//! Unix socket, and [`EnclaveClient`] talks to it — or to an enclave in the same process — so the
//! orchestrator can gather signatures from a k-of-n quorum.
//!
//! The protocol is one JSON object per line each way. It carries sealed reports in, and
//! signatures, public keys and outcomes out: never a plaintext amount.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use alloy::primitives::B256;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use solvency_enclave::{
    AttestError, Attestor, DeliveredReport, Enclave, EnclavePublic, EnclaveState, Evidence,
    SealingKey, SignedAttestation,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A request to an enclave instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Its public keys.
    Public,
    /// Check and record a delivered report.
    Ingest {
        /// The report.
        report: DeliveredReport,
        /// The aggregator's time (the instance checks it against its own clock).
        now: u64,
    },
    /// Could it attest now?
    Ready {
        /// The aggregator's time.
        now: u64,
    },
    /// Evidence (from the instance's attestor) binding its keys and `nonce`.
    Evidence {
        /// The verifier's fresh nonce.
        nonce: alloy::primitives::Bytes,
    },
    /// Rotate the HPKE key; reports sealed to the old one are accepted until `grace_until`.
    Rotate {
        /// Unix seconds.
        grace_until: u64,
    },
    /// Sign the attestation of `epoch` at `now`.
    Attest {
        /// The aggregator's time, used as `issuedAt` so that every member signs the same
        /// statement.
        now: u64,
        /// The proposed epoch.
        epoch: u64,
    },
}

/// An enclave instance's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Its public keys.
    Public {
        /// The keys.
        public: EnclavePublic,
    },
    /// The report passed every rule.
    Accepted {
        /// The chain.
        chain: String,
        /// The seq.
        seq: u64,
    },
    /// The report was refused.
    Refused {
        /// Which rule, with context (never an amount).
        reason: String,
    },
    /// It can attest.
    Ready,
    /// It cannot attest yet.
    NotReady {
        /// Why.
        reason: String,
    },
    /// The HPKE key is rotated.
    Rotated {
        /// The new public key, to publish in the registry.
        hpke_public_key: solvency_enclave::X25519Public,
    },
    /// Evidence about the instance.
    Evidence {
        /// The evidence.
        evidence: Box<Evidence>,
    },
    /// A signed attestation.
    Attested {
        /// The attestation, signature and instructions.
        signed: Box<SignedAttestation>,
    },
    /// This instance already signed `last_epoch`; propose a later epoch.
    EpochUsed {
        /// The last epoch it signed.
        last_epoch: u64,
    },
    /// The request was refused (bad clock, malformed request).
    Error {
        /// Why.
        reason: String,
    },
}

/// Where an enclave instance keeps what must survive a restart.
pub enum Persist {
    /// Nowhere (tests).
    Nothing,
    /// Epochs and seqs only, as JSON (no secret, no amount): a restarted instance needs fresh
    /// reports before it attests again.
    State(PathBuf),
    /// Keys, ledger and epochs, sealed under a key bound to the instance's measurement: a
    /// restarted instance resumes where it stopped.
    Sealed {
        /// The sealed blob's file.
        path: PathBuf,
        /// The sealing key.
        key: SealingKey,
        /// The instance's measurement.
        measurement: B256,
    },
}

impl Persist {
    fn save(&self, enclave: &Enclave) -> anyhow::Result<()> {
        match self {
            Self::Nothing => Ok(()),
            Self::State(path) => {
                write_atomically(path, &serde_json::to_vec_pretty(enclave.state())?)
            }
            Self::Sealed { path, key, measurement } => {
                write_atomically(path, &solvency_enclave::seal_enclave(enclave, key, measurement))
            }
        }
    }
}

/// One enclave and where its state is persisted; shared by the server and the local client.
struct Hosted {
    enclave: Mutex<Enclave>,
    attestor: Box<dyn Attestor + Send + Sync>,
    persist: Persist,
}

impl Hosted {
    fn handle(&self, request: Request) -> Response {
        let mut enclave = self.enclave.lock().expect("enclave lock poisoned");
        let skew = enclave.policy().max_clock_skew;
        let clock_ok = |now: u64| crate::unix_now().abs_diff(now) <= skew;
        let response = match request {
            Request::Public => Response::Public { public: enclave.public() },
            Request::Evidence { nonce } => {
                match enclave.evidence(self.attestor.as_ref(), &nonce, crate::unix_now()) {
                    Ok(evidence) => Response::Evidence { evidence: Box::new(evidence) },
                    Err(e) => Response::Error { reason: e.to_string() },
                }
            }
            Request::Ingest { now, .. } | Request::Ready { now } | Request::Attest { now, .. }
                if !clock_ok(now) =>
            {
                Response::Error {
                    reason: format!(
                        "proposed time {now} is more than {skew} s from this enclave's clock ({})",
                        crate::unix_now()
                    ),
                }
            }
            Request::Ingest { report, now } => match enclave.ingest(&report, now) {
                Ok(accepted) => Response::Accepted { chain: accepted.chain, seq: accepted.seq },
                Err(e) => Response::Refused { reason: e.to_string() },
            },
            Request::Rotate { grace_until } => {
                Response::Rotated { hpke_public_key: enclave.rotate_hpke(grace_until) }
            }
            Request::Ready { now } => match enclave.assess(now) {
                Ok(_) => Response::Ready,
                Err(e) => Response::NotReady { reason: e.to_string() },
            },
            Request::Attest { now, epoch } => match enclave.attest_epoch(now, epoch) {
                Ok(signed) => Response::Attested { signed: Box::new(signed) },
                Err(AttestError::EpochUsed { last_epoch, .. }) => {
                    Response::EpochUsed { last_epoch }
                }
                Err(AttestError::NotReady(e)) => Response::NotReady { reason: e.to_string() },
                Err(e) => Response::Error { reason: e.to_string() },
            },
        };
        // Nothing leaves before it is persisted: a signature released but forgotten by a
        // restart could be followed by a different statement for the same epoch.
        if matches!(
            response,
            Response::Accepted { .. } | Response::Attested { .. } | Response::Rotated { .. }
        ) && let Err(e) = self.persist.save(&enclave)
        {
            warn!(target: "enclave::serve", error = %e, "persisting the enclave state failed");
            return Response::Error {
                reason: format!(
                    "persisting the enclave state failed ({e:#}); the result was not released"
                ),
            };
        }
        response
    }
}

/// Serves one enclave on a Unix socket (created `0600`) until `cancel`.
pub async fn serve(
    enclave: Enclave,
    attestor: Box<dyn Attestor + Send + Sync>,
    socket: PathBuf,
    persist: Persist,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let socket = socket.as_path();
    if socket.exists() {
        std::fs::remove_file(socket)
            .with_context(|| format!("removing the stale socket {}", socket.display()))?;
    }
    let listener =
        UnixListener::bind(socket).with_context(|| format!("listening on {}", socket.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    }
    let signer = enclave.public().signer;
    let hosted = Arc::new(Hosted { enclave: Mutex::new(enclave), attestor, persist });
    info!(target: "enclave::serve", %signer, socket = %socket.display(), "enclave serving");
    loop {
        let (stream, _) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted?,
        };
        let hosted = hosted.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, hosted, cancel).await {
                warn!(target: "enclave::serve", error = %e, "connection ended");
            }
        });
    }
    let _ = std::fs::remove_file(socket);
    info!(target: "enclave::serve", %signer, "enclave stopped");
    Ok(())
}

async fn connection(
    stream: UnixStream,
    hosted: Arc<Hosted>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            line = lines.next_line() => match line? { Some(line) => line, None => return Ok(()) },
        };
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                let hosted = hosted.clone();
                // Opening HPKE and signing are CPU work: keep them off the async workers.
                tokio::task::spawn_blocking(move || hosted.handle(request)).await?
            }
            Err(e) => Response::Error { reason: format!("not a request: {e}") },
        };
        let mut out = serde_json::to_vec(&response)?;
        out.push(b'\n');
        write.write_all(&out).await?;
    }
}

/// How long an instance gets to answer one request.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why an enclave instance could not be asked.
#[derive(Debug, thiserror::Error)]
#[error("enclave at {where_}: {reason}")]
pub struct Unavailable {
    /// The socket (or "in-process").
    pub where_: String,
    /// What happened.
    pub reason: String,
}

/// An enclave the orchestrator can ask: in this process, or an instance behind a socket.
pub struct EnclaveClient(Inner);

enum Inner {
    Local(Arc<Hosted>),
    Remote { socket: PathBuf, conn: tokio::sync::Mutex<Option<BufReader<UnixStream>>> },
}

impl EnclaveClient {
    /// An enclave in this process.
    pub fn local(
        enclave: Enclave,
        attestor: Box<dyn Attestor + Send + Sync>,
        persist: Persist,
    ) -> Self {
        Self(Inner::Local(Arc::new(Hosted { enclave: Mutex::new(enclave), attestor, persist })))
    }

    /// An instance served at `socket` (`solvency enclave serve`); connected on first use and
    /// again after any failure.
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

    /// Sends one request.
    pub async fn call(&self, request: Request) -> Result<Response, Unavailable> {
        match &self.0 {
            Inner::Local(hosted) => {
                let hosted = hosted.clone();
                tokio::task::spawn_blocking(move || hosted.handle(request))
                    .await
                    .map_err(|e| Unavailable { where_: "in-process".into(), reason: e.to_string() })
            }
            Inner::Remote { socket, conn } => {
                let unavailable =
                    |reason: String| Unavailable { where_: socket.display().to_string(), reason };
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
                // A hung instance must not hold up the quorum: give up, and drop the connection
                // so that a late answer is never read as the answer to the next request.
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
                    Ok(answer) => serde_json::from_str(&answer)
                        .map_err(|e| unavailable(format!("bad answer: {e}"))),
                    Err(e) => {
                        *guard = None;
                        Err(unavailable(e.to_string()))
                    }
                }
            }
        }
    }
}

/// The persisted state of an enclave (epochs and seqs, never amounts).
pub fn load_state(path: &Path) -> anyhow::Result<EnclaveState> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{}: not an enclave state file; move it away to start from epoch 0",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EnclaveState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all().with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}
