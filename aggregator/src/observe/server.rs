//! The HTTP side of the view, on axum:
//!
//! - `GET /` — the web page (assets embedded in the binary; it works offline);
//! - `GET /api/v1/status` — every chain, the signers, the hub's fees, the aggregator's side, the
//!   alerts;
//! - `GET /api/v1/epochs?before=N&limit=M` — the attestation history, newest first, paged;
//! - `GET /metrics` — Prometheus (OpenMetrics text);
//! - `GET /healthz` — 200 while the process serves and its refresh loop runs (a liveness probe:
//!   restart on failure);
//! - `GET /readyz` — 200 when every chain could be read at the last refresh and, for the
//!   aggregator, it has caught up with the hub and an enclave answers; 503 with the reasons
//!   otherwise (a readiness probe: do not route to it yet, do not restart it);
//! - `POST /api/v1/withdrawals` — `{"request": "0x…"}`, an owner's sealed withdrawal request
//!   (aggregator only): 202 with its `handle`;
//! - `GET /api/v1/withdrawals/{handle}` — where it stands: queued, refused (the rule), expired,
//!   authorized (the epoch and the reply sealed to the owner) or settled. Only ciphertext and
//!   ids: never an amount;
//! - `GET /api/v1/statements/{owner}` — the owner's latest statement, sealed to its statement
//!   key, and its epoch.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::Observatory;

/// The page, with `/*INITIAL*/null` replaced by the status at serving time so that the first
/// render needs no request.
const PAGE: &str = include_str!("page.html");

/// Serves the view on `addr` until `cancel`; returns the address it listens on.
pub async fn serve(
    observatory: Arc<Observatory>,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (another process there? give another address)"
        )
    })?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/", get(page))
        .route("/api/v1/status", get(status))
        .route("/api/v1/epochs", get(epochs))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/withdrawals", axum::routing::post(submit_withdrawal))
        .route("/api/v1/withdrawals/{handle}", get(withdrawal))
        .route("/api/v1/statements/{owner}", get(statement))
        .with_state(observatory);
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        if let Err(e) = server.await {
            tracing::warn!(target: "observe", error = %e, "the HTTP server stopped");
        }
    });
    Ok((local, task))
}

async fn page(State(view): State<Arc<Observatory>>) -> Html<String> {
    let initial = serde_json::to_string(&*view.status()).unwrap_or_else(|_| "null".into());
    let epochs = serde_json::to_string(&view.epochs(None, 60)).unwrap_or_else(|_| "null".into());
    // Inside a <script> element, "</" would end it.
    let initial = initial.replace("</", "<\\/");
    let epochs = epochs.replace("</", "<\\/");
    Html(PAGE.replace("/*INITIAL*/null", &initial).replace("/*EPOCHS*/null", &epochs))
}

async fn status(State(view): State<Arc<Observatory>>) -> Response {
    Json(&*view.status()).into_response()
}

#[derive(Deserialize)]
struct EpochQuery {
    before: Option<u64>,
    limit: Option<usize>,
}

async fn epochs(State(view): State<Arc<Observatory>>, Query(q): Query<EpochQuery>) -> Response {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Json(view.epochs(q.before, limit)).into_response()
}

async fn metrics(State(view): State<Arc<Observatory>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        view.metrics.encode(),
    )
        .into_response()
}

async fn healthz(State(view): State<Arc<Observatory>>) -> Response {
    if view.healthy() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "the refresh loop has not run recently\n").into_response()
    }
}

async fn readyz(State(view): State<Arc<Observatory>>) -> Response {
    let reasons = view.not_ready();
    let code = if reasons.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(serde_json::json!({ "ready": reasons.is_empty(), "reasons": reasons })))
        .into_response()
}

#[derive(Deserialize)]
struct WithdrawalBody {
    request: alloy::primitives::Bytes,
}

/// `{"error": text}` with `code`.
fn refused(code: StatusCode, text: impl std::fmt::Display) -> Response {
    (code, Json(serde_json::json!({ "error": text.to_string() }))).into_response()
}

fn no_withdrawals() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "this server takes no withdrawal requests: send them to the aggregator's (solvency run --http)",
    )
}

async fn submit_withdrawal(
    State(view): State<Arc<Observatory>>,
    body: Result<Json<WithdrawalBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(withdrawals) = view.withdrawals() else { return no_withdrawals() };
    let Ok(Json(body)) = body else {
        return refused(
            StatusCode::BAD_REQUEST,
            "expected {\"request\": \"0x…\"} (the sealed request in hex)",
        );
    };
    match withdrawals.submit(body.request) {
        Ok(handle) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "handle": handle }))).into_response()
        }
        Err(e @ crate::orchestrator::withdrawals::SubmitError::Full) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, e)
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn withdrawal(
    State(view): State<Arc<Observatory>>,
    axum::extract::Path(handle): axum::extract::Path<String>,
) -> Response {
    let Some(withdrawals) = view.withdrawals() else { return no_withdrawals() };
    let Ok(handle) = handle.parse::<alloy::primitives::B256>() else {
        return refused(StatusCode::BAD_REQUEST, "a handle is 0x + 64 hex digits");
    };
    match withdrawals.state(&handle) {
        Some(state) => Json(state).into_response(),
        None => refused(
            StatusCode::NOT_FOUND,
            "unknown request: never sent, forgotten, or sent before the aggregator restarted — send it again",
        ),
    }
}

async fn statement(
    State(view): State<Arc<Observatory>>,
    axum::extract::Path(owner): axum::extract::Path<String>,
) -> Response {
    let Some(withdrawals) = view.withdrawals() else { return no_withdrawals() };
    let Ok(owner) = owner.parse::<alloy::primitives::Address>() else {
        return refused(StatusCode::BAD_REQUEST, "an owner is 0x + 40 hex digits");
    };
    match withdrawals.statement(&owner) {
        Some((epoch, statement)) => {
            Json(serde_json::json!({ "epoch": epoch, "statement": statement })).into_response()
        }
        None => refused(
            StatusCode::NOT_FOUND,
            "no statement for this owner since the aggregator started: subscribe (solvency maker subscribe) and wait for an epoch",
        ),
    }
}
