//! Serving a hosted enclave on a Unix socket (`solvency enclave serve`).

use std::{path::Path, sync::Arc};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{Host, HostError, Refusal, Request, Response};

/// The longest request line an instance reads: a report is at most 16 KiB sealed, so 1 MiB of
/// JSON is far more than any request needs, and a bigger line is a client bug or an attack.
const MAX_LINE: usize = 1 << 20;

/// Serves `host` on `socket` (created `0600`) until `cancel`, then removes the socket.
///
/// A socket file left by a dead instance is replaced; a socket some live process still serves
/// is not (two instances never share one socket).
pub async fn serve(
    host: Arc<Host>,
    socket: &Path,
    cancel: CancellationToken,
) -> Result<(), HostError> {
    if socket.exists() {
        if UnixStream::connect(socket).await.is_ok() {
            return Err(HostError::SocketInUse { socket: socket.to_owned() });
        }
        std::fs::remove_file(socket)
            .map_err(|source| HostError::Listen { socket: socket.to_owned(), source })?;
    }
    let listener = UnixListener::bind(socket)
        .map_err(|source| HostError::Listen { socket: socket.to_owned(), source })?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| HostError::Listen { socket: socket.to_owned(), source })?;
    }
    let signer = host.public().signer;
    info!(target: "enclave::serve", %signer, socket = %socket.display(), "enclave serving");
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(target: "enclave::serve", error = %e, "accept failed");
                    continue;
                }
            },
        };
        let host = host.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, host, cancel).await {
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
    host: Arc<Host>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let read = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            read = limited.read_until(b'\n', &mut line) => read?,
        };
        if read == 0 {
            return Ok(());
        }
        let response = if line.len() > MAX_LINE {
            // Not a line we can resynchronise after: answer, then close.
            let refusal = Refusal::BadRequest {
                reason: format!("a request line is longer than {MAX_LINE} bytes"),
            };
            write_response(&mut write, &Response::Refused { refusal }).await?;
            return Ok(());
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(request) => {
                    let host = host.clone();
                    // Opening HPKE and signing are CPU work: keep them off the async workers.
                    tokio::task::spawn_blocking(move || host.handle(request))
                        .await
                        .map_err(std::io::Error::other)?
                }
                Err(e) => {
                    Response::Refused { refusal: Refusal::BadRequest { reason: e.to_string() } }
                }
            }
        };
        write_response(&mut write, &response).await?;
    }
}

async fn write_response(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    response: &Response,
) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(response).expect("responses serialize");
    out.push(b'\n');
    write.write_all(&out).await
}
