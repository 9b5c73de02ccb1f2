//! The relayer's control endpoint, on loopback HTTP, and its client.
//!
//! `GET /status`, `GET /messages`, `GET /messages/{id}`, `POST /messages/{id}/retry`. Messages
//! carry only what crossed a public chain already (ciphertexts, addresses), never a secret.

use std::net::SocketAddr;

use alloy::primitives::B256;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{RelayMessage, RelayerHandle, RelayerStatus};
use crate::{Error, Result};

/// Starts the endpoint; returns its URL and the server task (which ends on `cancel`).
pub(crate) async fn serve(
    handle: RelayerHandle,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> Result<(String, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::Control {
        url: addr.to_string(),
        reason: format!("cannot listen: {e}"),
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Control { url: addr.to_string(), reason: e.to_string() })?;
    let app = Router::new()
        .route("/status", get(status))
        .route("/messages", get(messages))
        .route("/messages/{id}", get(message))
        .route("/messages/{id}/retry", post(retry))
        .with_state(handle);
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        if let Err(e) = server.await {
            tracing::warn!(target: "devnet::relayer", error = %e, "control endpoint stopped");
        }
    });
    Ok((format!("http://{local}"), task))
}

async fn status(State(handle): State<RelayerHandle>) -> Json<RelayerStatus> {
    Json(handle.status())
}

async fn messages(State(handle): State<RelayerHandle>) -> Json<Vec<RelayMessage>> {
    Json(handle.messages())
}

async fn message(State(handle): State<RelayerHandle>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<B256>() else { return bad_id(&id) };
    match handle.message(id) {
        Some(message) => Json(message).into_response(),
        None => error_response(&Error::UnknownMessage(id)),
    }
}

async fn retry(State(handle): State<RelayerHandle>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<B256>() else { return bad_id(&id) };
    match handle.retry(id) {
        Ok(()) => Json(handle.message(id)).into_response(),
        Err(e) => error_response(&e),
    }
}

fn bad_id(id: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{id:?} is not a message id (0x + 64 hex digits)"))
        .into_response()
}

fn error_response(error: &Error) -> Response {
    let status = match error {
        Error::UnknownMessage(_) => StatusCode::NOT_FOUND,
        Error::NotRetryable { .. } => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, error.to_string()).into_response()
}

/// A client of a running relayer's control endpoint (what `solvency devnet` uses).
#[derive(Clone, Debug)]
pub struct ControlClient {
    url: String,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client for the endpoint at `url` (from `deployment.json`).
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), http: reqwest::Client::new() }
    }

    /// Scan progress and counts.
    pub async fn status(&self) -> Result<RelayerStatus> {
        self.get("/status").await
    }

    /// Every message.
    pub async fn messages(&self) -> Result<Vec<RelayMessage>> {
        self.get("/messages").await
    }

    /// Queues a FAILED message for another attempt; returns it as it now stands.
    pub async fn retry(&self, id: B256) -> Result<RelayMessage> {
        let response = self
            .http
            .post(format!("{}/messages/{id}/retry", self.url))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.json(response).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.json(response).await
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, response: reqwest::Response) -> Result<T> {
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Control { url: self.url.clone(), reason: body });
        }
        response.json().await.map_err(|e| Error::Control {
            url: self.url.clone(),
            reason: format!("bad answer: {e}"),
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> Error {
        Error::Control {
            url: self.url.clone(),
            reason: format!("not reachable ({e}); is `solvency devnet up` still running?"),
        }
    }
}
