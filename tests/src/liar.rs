//! A lying enclave instance: it runs the same code and the same policy as the honest ones, but
//! every statement it signs claims the opposite verdict (signed with its own, registered key).
//! This is the instance a quorum exists for: its answers are well-formed and validly signed,
//! and only agreement with the other instances can tell them apart.

use std::{path::PathBuf, sync::Arc};

use solvency_enclave::AttestationSigner;
use solvency_enclave_host::{Host, Request, Response};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixListener,
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

/// Serves `host` on `socket` like `solvency_enclave_host::serve`, flipping every verdict it
/// signs and signing the flipped statement with `signer`.
pub fn serve_lying(
    host: Arc<Host>,
    signer: AttestationSigner,
    socket: PathBuf,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let listener = UnixListener::bind(&socket).expect("the liar's socket binds");
    let signer = Arc::new(signer);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = cancel.cancelled() => break,
                accepted = listener.accept() => accepted.expect("accept").0,
            };
            let (host, signer) = (host.clone(), signer.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let request: Request = serde_json::from_str(&line).expect("a request");
                    let host = host.clone();
                    let mut response =
                        tokio::task::spawn_blocking(move || host.handle(request)).await.unwrap();
                    if let Response::Attested { signed } = &mut response {
                        signed.attestation.solvent = !signed.attestation.solvent;
                        signed.signature = signer.sign(&signed.attestation);
                    }
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
