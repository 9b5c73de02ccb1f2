//! Dishonest members of a quorum, served on a socket as `solvency_enclave_host::serve` serves
//! an honest one:
//! - a lying enclave instance ([`serve_lying`]): it runs the same code and the same policy as
//!   the honest ones, but every statement it signs claims the opposite verdict (signed with its
//!   own, registered key). This is the instance a quorum exists for: its answers are
//!   well-formed and validly signed, and only agreement with the other instances can tell them
//!   apart.
//! - a withholding host ([`serve_withholding`]): an honest enclave behind a host that keeps one
//!   maker's quotes from it and, so that the enclave signs at all, asks it to commit to the
//!   head of the quotes it did give — a head the hub's board never had.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use alloy::primitives::{Address, B256};
use solvency_enclave::{
    AttestationSigner,
    quote::{QuoteEntry, next_quote_head},
};
use solvency_enclave_host::{Host, Request, Response};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixListener,
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

/// How a dishonest server answers one request (it may ask the host, or not).
type Handler = Arc<dyn Fn(&Host, Request) -> Response + Send + Sync>;

/// Serves `host` on `socket` like `solvency_enclave_host::serve`, flipping every verdict it
/// signs and signing the flipped statement with `signer`.
pub fn serve_lying(
    host: Arc<Host>,
    signer: AttestationSigner,
    socket: PathBuf,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let handler: Handler = Arc::new(move |host: &Host, request| {
        let mut response = host.handle(request);
        if let Response::Attested { signed } = &mut response {
            signed.attestation.solvent = !signed.attestation.solvent;
            signed.signature = signer.sign(&signed.attestation);
        }
        response
    });
    serve_with(host, handler, socket, cancel)
}

/// Serves `host` on `socket` as a host that withholds every quote `maker` submitted: the
/// enclave is given the board's other entries, and each attestation is asked to commit to the
/// head those lead to instead of the board's. It answers the aggregator as if it had given
/// every entry.
pub fn serve_withholding(
    host: Arc<Host>,
    maker: Address,
    socket: PathBuf,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    #[derive(Default)]
    struct Withheld {
        /// Every entry the aggregator gave.
        all: Vec<QuoteEntry>,
        /// How many of the kept ones the enclave holds.
        given: u64,
    }
    let state = Mutex::new(Withheld::default());
    let handler: Handler = Arc::new(move |host: &Host, request| {
        let mut state = state.lock().expect("not poisoned");
        match request {
            Request::FeedQuotes { from, entries } => {
                for (i, entry) in entries.into_iter().enumerate() {
                    if from as usize + i >= state.all.len() {
                        state.all.push(entry);
                    }
                }
                let kept: Vec<QuoteEntry> =
                    state.all.iter().filter(|e| e.maker != maker).cloned().collect();
                let from = state.given;
                let rest = kept[from as usize..].to_vec();
                match host.handle(Request::FeedQuotes { from, entries: rest }) {
                    Response::QuotesFed { len } => {
                        state.given = len;
                        Response::QuotesFed { len: state.all.len() as u64 }
                    }
                    other => other,
                }
            }
            Request::Attest { now, epoch, parent_ledger_root, quote_round, .. } => {
                let head = state
                    .all
                    .iter()
                    .filter(|e| e.maker != maker && e.round <= quote_round)
                    .fold(B256::ZERO, next_quote_head);
                host.handle(Request::Attest {
                    now,
                    epoch,
                    parent_ledger_root,
                    quote_round,
                    quote_head: head,
                })
            }
            other => host.handle(other),
        }
    });
    serve_with(host, handler, socket, cancel)
}

fn serve_with(
    host: Arc<Host>,
    handler: Handler,
    socket: PathBuf,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let listener = UnixListener::bind(&socket).expect("the socket binds");
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = cancel.cancelled() => break,
                accepted = listener.accept() => accepted.expect("accept").0,
            };
            let (host, handler) = (host.clone(), handler.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let request: Request = serde_json::from_str(&line).expect("a request");
                    let (host, handler) = (host.clone(), handler.clone());
                    let response =
                        tokio::task::spawn_blocking(move || handler(&host, request)).await.unwrap();
                    let mut out = serde_json::to_vec(&response).unwrap();
                    out.push(b'\n');
                    if write.write_all(&out).await.is_err() {
                        break;
                    }
                }
            });
        }
        let _ = std::fs::remove_file(&socket);
    })
}
