//! Operations endpoints and request plumbing: `/healthz` (the process answers), `/readyz` (environments loaded
//! and not draining), Prometheus `/metrics` (the runtime's histograms and counters plus the service's own),
//! request ids on every response, and JSON answers for unknown paths and methods.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    let envs = app.runtime.environments();
    let available = envs.iter().filter(|e| e.available).count();
    let body = json!({
        "ready": !app.is_draining() && available > 0,
        "draining": app.is_draining(),
        "environments": envs.len(),
        "available": available,
        "live_episodes": app.runtime.live_episodes(),
    });
    let status = if body["ready"] == true { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let mut text = app.runtime.metrics().prometheus();
    let c = &app.counters;
    let counters = [
        ("agentworld_http_requests_total", "HTTP requests served (all interfaces)", &c.http_requests),
        ("agentworld_http_client_errors_total", "HTTP responses with a 4xx status", &c.http_client_errors),
        ("agentworld_http_server_errors_total", "HTTP responses with a 5xx status", &c.http_server_errors),
        ("agentworld_mcp_sessions_opened_total", "MCP sessions that opened an episode", &c.mcp_sessions_opened),
        ("agentworld_mcp_tool_calls_total", "MCP tools/call requests", &c.mcp_tool_calls),
    ];
    for (name, help, value) in counters {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
    text.push_str(
        "# HELP agentworld_http_request_latency_us Time from a request reaching the router to its response head\n\
         # TYPE agentworld_http_request_latency_us summary\n",
    );
    c.http_latency.snapshot().write_prometheus(&mut text, "agentworld_http_request_latency_us", "", true);
    let live = c.mcp_sessions_live.load(Ordering::Relaxed);
    text.push_str(&format!(
        "# HELP agentworld_mcp_sessions_live MCP session handlers alive\n# TYPE agentworld_mcp_sessions_live gauge\nagentworld_mcp_sessions_live {live}\n"
    ));
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}

/// Gives every request an id (the client's `X-Request-Id`, else a fresh one), returns it on the response,
/// counts outcomes, and logs failures with it.
pub async fn request_id(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = match req.headers().get("x-request-id") {
        Some(v) if !v.is_empty() && v.len() <= 128 => v.clone(),
        _ => HeaderValue::from(NEXT.fetch_add(1, Ordering::Relaxed)),
    };
    let method = req.method().clone();
    // The URI is reference-counted: kept for the log line without copying the path.
    let uri = req.uri().clone();
    let started = Instant::now();
    let mut resp = next.run(req).await;
    app.counters.http_latency.record(started.elapsed());
    if method == axum::http::Method::DELETE && resp.status() == StatusCode::ACCEPTED && uri.path().starts_with("/mcp") {
        // rmcp answers a session's DELETE with 202; the official Python SDK expects 200 or 204 and warns otherwise.
        *resp.status_mut() = StatusCode::OK;
    }
    app.counters.http_requests.fetch_add(1, Ordering::Relaxed);
    let status = resp.status();
    if status.is_client_error() {
        app.counters.http_client_errors.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(request_id = ?id, %method, path = uri.path(), status = status.as_u16(), "request refused");
    } else if status.is_server_error() {
        app.counters.http_server_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(request_id = ?id, %method, path = uri.path(), status = status.as_u16(), "request failed");
    }
    resp.headers_mut().insert("x-request-id", id);
    resp
}

pub async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no endpoint {} {} (see /openapi.json)", req.method(), req.uri().path()),
    )
}

pub async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {} (see /openapi.json)", req.method(), req.uri().path()),
    )
}
