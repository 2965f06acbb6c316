//! # agentworld-server
//!
//! The network face of agentworld: what `agentworld serve` runs. Agents and trainers reach the actor runtime
//! ([`agentworld_actors::Runtime`]) the way they already work:
//!
//! - **MCP** over Streamable HTTP with the official `rmcp` crate, one session per episode ([`mcp`]);
//! - a **JSON HTTP API** under `/v1` for RL trainers: reset, step, batch steps, GRPO groups, finish with a
//!   verdict, branch, close, trajectories ([`api`]), described by `/openapi.json`;
//! - **operations**: `/healthz`, `/readyz`, Prometheus `/metrics`, request ids ([`ops`]).
//!
//! ```text
//! TcpListener ─▶ axum Router ─┬─ /v1/...           api.rs   ─┐
//!                             ├─ /mcp[/{env}[/{task}]] mcp.rs ├─▶ Runtime (actors) ─▶ episodes, journal
//!                             └─ /healthz /readyz /metrics     ┘
//! ```
//!
//! A [`Server`] serves until its shutdown future resolves, then drains: `/readyz` turns 503, new connections
//! are refused, requests in flight finish (up to `drain_timeout_ms`), MCP sessions end, and the runtime shuts
//! down, which flushes the journal and marks the episodes still open as interrupted.
//!
//! The [`loadgen`] module drives any server speaking this HTTP API or any MCP endpoint (ours or another), for
//! benchmarks and side-by-side comparisons.
//!
//! ```no_run
//! # async fn demo(runtime: agentworld_actors::Runtime) -> Result<(), Box<dyn std::error::Error>> {
//! use agentworld_actors::ServerSettings;
//! let server = agentworld_server::Server::bind(runtime, ServerSettings { port: 0, ..Default::default() }).await?;
//! println!("MCP at http://{}/mcp/shop", server.local_addr());
//! let report = server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! println!("{} episodes interrupted", report.interrupted);
//! # Ok(()) }
//! ```

pub mod api;
mod body;
mod error;
pub mod jobs;
pub mod loadgen;
pub mod mcp;
mod openapi;
pub mod ops;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentworld_actors::{Runtime, RuntimeError, ServerSettings};
use axum::extract::DefaultBodyLimit;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use openapi::document as openapi_document;
pub use state::AppState;

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// What a drained service did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeReport {
    /// Episodes still open at shutdown, ended as `interrupted` (their trajectories are in the journal).
    pub interrupted: usize,
    /// HTTP requests answered over the service's life.
    pub requests: u64,
    /// Whether requests were still running when the drain timeout ran out.
    pub drain_timed_out: bool,
}

/// A bound, not yet serving, service.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Arc<AppState>,
}

impl Server {
    /// Listens on `settings.bind:settings.port` (port 0 picks a free one; see [`Server::local_addr`]).
    pub async fn bind(runtime: Runtime, settings: ServerSettings) -> Result<Server, ServeError> {
        Server::bind_with(runtime, None, settings).await
    }

    /// [`Server::bind`], also serving the imported AWM environments of `awm`.
    pub async fn bind_with(
        runtime: Runtime,
        awm: Option<agentworld_awm::AwmHost>,
        settings: ServerSettings,
    ) -> Result<Server, ServeError> {
        let addr = format!("{}:{}", settings.bind, settings.port);
        let listener =
            tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let mut app = AppState::new(runtime, settings);
        app.awm = awm;
        if !app.settings.jobs_dir.is_empty() {
            let program = std::env::current_exe().map_err(ServeError::Io)?;
            let dir = std::path::PathBuf::from(&app.settings.jobs_dir);
            app.jobs = Some(
                tokio::task::spawn_blocking(move || jobs::Jobs::open(dir, program))
                    .await
                    .map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))?,
            );
        }
        Ok(Server { listener, app: Arc::new(app) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> Arc<AppState> {
        self.app.clone()
    }

    /// The routes, for embedding the service in a larger axum application.
    pub fn router(app: Arc<AppState>, mcp_shutdown: CancellationToken) -> axum::Router {
        let mcp = mcp::service(app.clone(), mcp_shutdown);
        axum::Router::new()
            .merge(api::router())
            .merge(ops::router())
            .route_service("/mcp", mcp.clone())
            .route_service("/mcp/{a}", mcp.clone())
            .route_service("/mcp/{a}/{b}", mcp.clone())
            .route_service("/mcp/{a}/{b}/{*rest}", mcp)
            .fallback(ops::not_found)
            .method_not_allowed_fallback(ops::method_not_allowed)
            .layer(DefaultBodyLimit::max(app.settings.max_body_bytes))
            .layer(axum::middleware::from_fn_with_state(app.clone(), ops::request_id))
            .with_state(app)
    }

    /// Serves until `shutdown` resolves, then drains (see the crate documentation) and shuts the runtime down.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<ServeReport, ServeError> {
        let Server { listener, app } = self;
        let mcp_shutdown = CancellationToken::new();
        let router = Self::router(app.clone(), mcp_shutdown.clone());
        let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
        let draining = {
            let app = app.clone();
            let mcp_shutdown = mcp_shutdown.clone();
            async move {
                shutdown.await;
                app.draining.store(true, Ordering::SeqCst);
                tracing::info!("draining: no new connections; requests in flight finish");
                mcp_shutdown.cancel();
                let _ = drain_tx.send(());
            }
        };
        // Small responses (an SSE event, then the end of the chunked stream) must not wait for Nagle's algorithm
        // and the client's delayed ACK: about 40 ms per MCP call without this.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(draining);
        let mut serve = tokio::spawn(async move { serve.await });
        let drain_timeout = Duration::from_millis(app.settings.drain_timeout_ms);
        let mut drain_timed_out = false;
        tokio::select! {
            done = &mut serve => { done.map_err(|e| std::io::Error::other(e.to_string()))??; }
            _ = drain_rx => {
                match tokio::time::timeout(drain_timeout, &mut serve).await {
                    Ok(done) => { done.map_err(|e| std::io::Error::other(e.to_string()))??; }
                    Err(_) => {
                        drain_timed_out = true;
                        tracing::warn!("drain timeout: closing the connections still open");
                        serve.abort();
                    }
                }
            }
        }
        if let Some(jobs) = app.jobs.clone() {
            let _ = tokio::task::spawn_blocking(move || jobs.shutdown()).await;
        }
        if let Some(awm) = &app.awm {
            awm.shutdown().await;
        }
        let report = app.runtime.shutdown().await?;
        Ok(ServeReport {
            interrupted: report.interrupted,
            requests: app.counters.http_requests.load(Ordering::Relaxed),
            drain_timed_out,
        })
    }
}
