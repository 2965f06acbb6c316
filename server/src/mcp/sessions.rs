//! The MCP session table: rmcp's [`LocalSessionManager`], with `tools/call` answered on the request's own task.
//!
//! Why: rmcp hands every request of a session to a per-session worker task, which hands it to the session's
//! service loop, which spawns a task to run the handler; the reply travels back the same way. That is four
//! hand-offs between tasks per call before the episode actor is even asked. On 2 cores that held MCP to
//! 14-22k calls/s with 64 sessions (9-10k with 10,000), where the same calls over the HTTP API ran at ~40k;
//! answered directly, 24-33k (14-17k). So a `tools/call` on a session whose
//! episode is bound is answered here, by the code the handler runs ([`super::call_bound`]), and streamed back as
//! the one event rmcp would have sent. Everything else (`initialize`, `tools/list`, notifications, `GET`
//! streams, `DELETE`) goes through rmcp unchanged, as do all calls when `server.mcp_direct_calls` is off.
//!
//! What a direct call gives up: a `notifications/cancelled` for it is not seen (the call runs to its end, which
//! the tool's deadline bounds), and it cannot send server-to-client requests (no tool here does).
//!
//! Because rmcp's worker no longer sees every request, the idle limit (`mcp_session_idle_ms`) is kept here:
//! each session's last request is stamped, and a reaper closes sessions idle that long (closing the session
//! closes its episode; see [`super::EpisodeServer`]'s `Drop`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, GetExtensions, JsonRpcMessage, JsonRpcRequest, ServerJsonRpcMessage,
    ServerResult,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId, SessionManager};

use super::Bound;
use crate::state::AppState;

/// What one MCP session plays, shared by its rmcp handler and the direct path.
#[derive(Debug, Default)]
pub(super) struct SessionCell {
    bound: Mutex<Option<Bound>>,
    /// Milliseconds since the table's epoch at the last request.
    last_used_ms: AtomicU64,
    /// Direct calls running now (a session is never reaped under one).
    in_flight: AtomicUsize,
}

impl SessionCell {
    pub(super) fn bound(&self) -> Option<Bound> {
        self.bound.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set_bound(&self, b: Bound) {
        *self.bound.lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
    }

    pub(super) fn take_bound(&self) -> Option<Bound> {
        self.bound.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Carried in the `initialize` request's extensions, so the session's handler shares the table's cell.
#[derive(Debug, Clone)]
pub(super) struct SharedCell(pub Arc<SessionCell>);

/// The session manager `agentworld serve` uses (see the module documentation). [`super::service`] builds it;
/// an application embedding the MCP service mounts that rather than building this itself.
pub struct EpisodeSessions {
    inner: LocalSessionManager,
    app: Arc<AppState>,
    cells: RwLock<HashMap<SessionId, Arc<SessionCell>>>,
    epoch: Instant,
    idle: Duration,
    direct_calls: bool,
    reaper: OnceLock<()>,
    me: Weak<EpisodeSessions>,
}

type SseStream = Pin<Box<dyn Stream<Item = ServerSseMessage> + Send + Sync + 'static>>;

impl EpisodeSessions {
    pub fn new(app: Arc<AppState>) -> Arc<EpisodeSessions> {
        let idle = Duration::from_millis(app.settings.mcp_session_idle_ms.max(1));
        let direct_calls = app.settings.mcp_direct_calls;
        let mut inner = LocalSessionManager::default();
        // The idle limit is kept by this table (rmcp's worker would close a session whose calls went direct).
        inner.session_config.keep_alive = None;
        // No SSE priming event before each reply: replies are one event on a stream that closes after it.
        inner.session_config.sse_retry = None;
        Arc::new_cyclic(|me| EpisodeSessions {
            inner,
            app,
            cells: RwLock::default(),
            epoch: Instant::now(),
            idle,
            direct_calls,
            reaper: OnceLock::new(),
            me: me.clone(),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, Arc<SessionCell>>> {
        // The map holds plain handles; a panic elsewhere while it was held cannot leave it inconsistent.
        self.cells.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, Arc<SessionCell>>> {
        self.cells.write().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The session's cell, stamped as used now.
    fn touch(&self, id: &SessionId) -> Option<Arc<SessionCell>> {
        let cell = self.read().get(id).cloned()?;
        cell.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        Some(cell)
    }

    /// Starts the idle reaper on the first session (a tokio runtime is certain to be running then).
    fn start_reaper(&self) {
        self.reaper.get_or_init(|| {
            let me = self.me.clone();
            let every = (self.idle / 4).clamp(Duration::from_millis(5), Duration::from_secs(5));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(sessions) = me.upgrade() else { return };
                    sessions.close_idle().await;
                }
            });
        });
    }

    async fn close_idle(&self) {
        let cutoff = self.now_ms().saturating_sub(self.idle.as_millis() as u64);
        let idle: Vec<SessionId> = self
            .read()
            .iter()
            .filter(|(_, c)| {
                c.last_used_ms.load(Ordering::Relaxed) < cutoff && c.in_flight.load(Ordering::Acquire) == 0
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            tracing::debug!(session = %id, "MCP session idle: closing it");
            if let Err(e) = self.close_session(&id).await {
                tracing::warn!(session = %id, "closing an idle MCP session: {e}");
            }
        }
    }

    /// Answers `tools/call` itself when the session's episode is bound; hands the message back otherwise.
    async fn call_directly(
        &self,
        cell: &SessionCell,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerSseMessage, ClientJsonRpcMessage> {
        let Some(bound) = cell.bound() else { return Err(message) };
        let (request_id, call) = match message {
            JsonRpcMessage::Request(JsonRpcRequest { id, request: ClientRequest::CallToolRequest(call), .. }) => {
                (id, call)
            }
            other => return Err(other),
        };
        let result = {
            let _running = InFlight::start(self, cell);
            super::call_bound(&self.app, cell, bound, call.params).await
        };
        // As rmcp's handler does for the protocol versions that have sessions (all before 2026-07-28).
        let mut result = ServerResult::CallToolResult(result);
        result.strip_result_type_for_legacy_peer();
        result.strip_non_object_output_for_legacy_peer();
        let reply = ServerJsonRpcMessage::response(result, request_id);
        Ok(ServerSseMessage::from_message(reply))
    }
}

/// A direct call running on a session: the reaper leaves the session alone until it ends, and its end counts as
/// the session's last use. A guard, because the request's future may be dropped mid-call (the client hung up).
struct InFlight<'a> {
    sessions: &'a EpisodeSessions,
    cell: &'a SessionCell,
}

impl<'a> InFlight<'a> {
    fn start(sessions: &'a EpisodeSessions, cell: &'a SessionCell) -> InFlight<'a> {
        cell.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight { sessions, cell }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.cell.last_used_ms.store(self.sessions.now_ms(), Ordering::Relaxed);
        self.cell.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SessionManager for EpisodeSessions {
    type Error = <LocalSessionManager as SessionManager>::Error;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.start_reaper();
        let (id, transport) = self.inner.create_session().await?;
        let cell = Arc::new(SessionCell::default());
        cell.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        self.write().insert(id.clone(), cell);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        mut message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        if let (Some(cell), JsonRpcMessage::Request(request)) = (self.touch(id), &mut message) {
            request.request.extensions_mut().insert(SharedCell(cell));
        }
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.write().remove(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let message = match self.touch(id) {
            Some(cell) if self.direct_calls => match self.call_directly(&cell, message).await {
                Ok(reply) => return Ok(Box::pin(futures::stream::once(async move { reply })) as SseStream),
                Err(message) => message,
            },
            _ => message,
        };
        let stream = self.inner.create_stream(id, message).await?;
        Ok(Box::pin(stream) as SseStream)
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }
}
