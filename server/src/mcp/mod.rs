//! MCP over Streamable HTTP (the official `rmcp` crate): one MCP session is one episode.
//!
//! The endpoint path picks what the session plays, with nothing outside standard MCP:
//! - `/mcp/{env}/{task}`: a new episode of that task, opened at `initialize`;
//! - `/mcp/{env}`: a new episode of the environment's first task;
//! - `/mcp`: the first environment's first task;
//! - `/mcp/episodes/{id}`: an episode opened through the HTTP API (`POST /v1/episodes`). This also serves
//!   stateless clients (protocol 2026-07-28, which has no sessions): every request names the episode by its URL.
//!
//! `initialize` returns the task's instruction as the server's `instructions`. `tools/list` returns the
//! environment's tools with their JSON Schemas plus [`FINISH_TOOL`]; calling it with `{"answer": "..."}` ends
//! the episode and returns the verdict (reward and per-check detail) as JSON. Tool failures come back as
//! `isError` results whose text names the error code and what was wrong. Closing the session (HTTP `DELETE`,
//! or `mcp_session_idle_ms` without a request) closes an unfinished episode; its trajectory stays in the record.
//!
//! Sessions are kept by [`EpisodeSessions`], which answers a bound session's `tools/call` without the
//! per-session task hops of rmcp's own session manager (see [`sessions`] for why and what that gives up).

mod sessions;

pub use sessions::EpisodeSessions;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use agentworld_actors::{RuntimeError, Status};
use agentworld_runtime::EpisodeId;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, InitializeRequestParams,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::api::{check_arguments, client_id};
use crate::state::AppState;
use sessions::{SessionCell, SharedCell};

/// The tool that ends an episode with an answer and returns its verdict.
pub const FINISH_TOOL: &str = "finish_episode";

/// The MCP service, to mount on `/mcp`, `/mcp/{a}` and `/mcp/{a}/{b}`.
pub fn service(
    app: Arc<AppState>,
    shutdown: CancellationToken,
) -> StreamableHttpService<EpisodeServer, EpisodeSessions> {
    let sessions = EpisodeSessions::new(app.clone());
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(shutdown)
        .with_max_request_body_bytes(app.settings.max_body_bytes)
        .with_sse_keep_alive(None)
        .with_sse_retry(None);
    if !is_loopback(&app.settings.bind) {
        // Served beyond this machine: Host checks would refuse every real hostname.
        config = config.disable_allowed_hosts();
    }
    StreamableHttpService::new(move || Ok(EpisodeServer::new(app.clone())), sessions, config)
}

fn is_loopback(bind: &str) -> bool {
    matches!(bind, "127.0.0.1" | "localhost" | "::1")
}

/// What an endpoint path asks for.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A new episode of `env` (first environment when `None`) and `task` (its first task when `None`).
    New {
        env: Option<String>,
        task: Option<String>,
    },
    Existing(EpisodeId),
}

fn target_of(path: &str) -> Result<Target, String> {
    let rest = path.strip_prefix("/mcp").unwrap_or(path).trim_matches('/');
    let parts: Vec<&str> = if rest.is_empty() { vec![] } else { rest.split('/').collect() };
    match parts.as_slice() {
        [] => Ok(Target::New { env: None, task: None }),
        ["episodes", id] => {
            id.parse().map(Target::Existing).map_err(|_| format!("episode id '{id}' in the URL is not a number"))
        }
        [env] => Ok(Target::New { env: Some(decode(env)), task: None }),
        [env, task] => Ok(Target::New { env: Some(decode(env)), task: Some(decode(task)) }),
        _ => Err(format!(
            "'{path}' is not an MCP endpoint: use /mcp/{{env}}/{{task}}, /mcp/{{env}} or /mcp/episodes/{{id}}"
        )),
    }
}

/// Percent-decoding of a path segment (task ids are plain, but a client may encode them anyway).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        if let Some(b) = escaped {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The episode a session (or a stateless request) plays.
#[derive(Debug, Clone)]
struct Bound {
    id: EpisodeId,
    env: String,
    /// Opened by this session (closed with it), rather than attached by URL.
    owned: bool,
    finished: bool,
    /// An imported AWM environment's episode (played by the AWM host).
    awm: bool,
}

/// One MCP session's handler. rmcp builds one per session (and one per stateless request).
pub struct EpisodeServer {
    app: Arc<AppState>,
    /// What the session plays: shared with the session table when there is a session (set at `initialize`),
    /// the handler's own otherwise.
    cell: OnceLock<Arc<SessionCell>>,
}

impl EpisodeServer {
    fn new(app: Arc<AppState>) -> EpisodeServer {
        app.counters.mcp_sessions_live.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        EpisodeServer { app, cell: OnceLock::new() }
    }

    fn cell(&self) -> &Arc<SessionCell> {
        self.cell.get_or_init(Arc::default)
    }

    fn bound(&self) -> Option<Bound> {
        self.cell().bound()
    }

    fn set_bound(&self, b: Bound) {
        self.cell().set_bound(b)
    }

    fn path(context: &RequestContext<RoleServer>) -> String {
        context.extensions.get::<Parts>().map(|p| p.uri.path().to_string()).unwrap_or_else(|| "/mcp".into())
    }

    /// Resolves a `New` target's environment and task names, or explains what exists.
    fn resolve(&self, env: Option<String>, task: Option<String>) -> Result<(String, String), String> {
        if let Some(e) = env.as_deref().and_then(|e| self.app.awm_env(e)?.environment(e)) {
            let ids: Vec<&str> = e.tasks().iter().map(|t| t.id.as_str()).collect();
            let task = match task {
                Some(t) if ids.contains(&t.as_str()) => t,
                Some(t) => return Err(format!("unknown task '{t}' in '{}'; tasks: {}", e.name(), ids.join(", "))),
                None => ids
                    .first()
                    .map(|t| t.to_string())
                    .ok_or_else(|| format!("environment '{}' has no tasks", e.name()))?,
            };
            return Ok((e.name().to_string(), task));
        }
        let envs = self.app.runtime.environments();
        let env = match env {
            Some(e) => e,
            None => envs.first().map(|e| e.name.clone()).ok_or("no environments are loaded")?,
        };
        let summary = envs.iter().find(|e| e.name == env).ok_or_else(|| {
            let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
            format!("unknown environment '{env}'; environments: {}", names.join(", "))
        })?;
        let task = match task {
            Some(t) if summary.tasks.contains(&t) => t,
            Some(t) => return Err(format!("unknown task '{t}' in '{env}'; tasks: {}", summary.tasks.join(", "))),
            None => summary.tasks.first().cloned().ok_or_else(|| format!("environment '{env}' has no tasks"))?,
        };
        Ok((env, task))
    }

    /// Binds an `/mcp/episodes/{id}` request to its episode (stateless requests arrive without `initialize`).
    /// Also returns the episode's task, if it has one.
    async fn attach(&self, id: EpisodeId) -> Result<(Bound, Option<String>), String> {
        if let Some(host) = self.app.awm_episode(id) {
            let t = host.trajectory(id).await.map_err(|e| e.to_string())?;
            let finished = t.verdict.is_some() || t.failure.is_some();
            let b = Bound { id, env: t.env, owned: false, finished, awm: true };
            self.set_bound(b.clone());
            return Ok((b, t.task));
        }
        let t = self.app.runtime.trajectory(id).await.map_err(|e| e.to_string())?;
        let b = Bound { id, env: t.info.env, owned: false, finished: t.ended.is_some(), awm: false };
        self.set_bound(b.clone());
        Ok((b, t.info.task))
    }

    async fn bind_for_call(&self, context: &RequestContext<RoleServer>) -> Result<Bound, String> {
        if let Some(b) = self.bound() {
            return Ok(b);
        }
        match target_of(&Self::path(context))? {
            Target::Existing(id) => self.attach(id).await.map(|(b, _)| b),
            Target::New { .. } => Err("this request belongs to no MCP session, so it has no episode: initialize a \
                                        session first, or open an episode with POST /v1/episodes and use the URL \
                                        /mcp/episodes/{id}"
                .into()),
        }
    }

    fn tools_of(&self, env: &str) -> Vec<Tool> {
        let as_object = |v: Value| match v {
            Value::Object(m) => m,
            _ => Default::default(),
        };
        let mut tools: Vec<Tool> = if let Some(e) = self.app.awm_env(env).and_then(|h| h.environment(env)) {
            // Names and schemas exactly as the environment's own program lists them.
            e.tools()
                .iter()
                .map(|t| Tool::new(t.name.clone(), t.description.clone(), Arc::new(as_object(t.input_schema.clone()))))
                .collect()
        } else if let Some(e) = self.app.runtime.environment(env) {
            e.tools()
                .iter()
                .map(|t| {
                    Tool::new(t.name().to_string(), t.spec.description.clone(), Arc::new(as_object(t.input_schema())))
                })
                .collect()
        } else {
            return vec![];
        };
        let schema = json!({
            "type": "object",
            "properties": {"answer": {"type": "string", "description": "Your final answer to the task, in words."}},
            "required": ["answer"],
        });
        let Value::Object(schema) = schema else { return tools };
        tools.push(Tool::new(
            FINISH_TOOL,
            "Finish the task: give your final answer. Ends the episode and returns its verdict (reward and the \
             result of every check). Call it once, after the work is done.",
            Arc::new(schema),
        ));
        tools
    }
}

/// The server's `instructions` at `initialize`: the task, and how to end the episode.
fn instructions(instruction: Option<String>, episode: EpisodeId) -> String {
    format!(
        "{}\n\nUse the tools to do the task. When you are done, call {FINISH_TOOL} with your final answer. \
         (agentworld episode {episode})",
        instruction.unwrap_or_else(|| "Explore the environment with its tools.".into())
    )
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn error_result(code: &str, message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("{code}: {message}"))])
}

fn runtime_error(e: RuntimeError) -> CallToolResult {
    error_result(e.code(), e.to_string())
}

impl ServerHandler for EpisodeServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = InitializeResult::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("agentworld", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        if let Some(SharedCell(cell)) = context.extensions.get::<SharedCell>() {
            // A session: what it plays lives in the session table's cell, where direct calls find it.
            let _ = self.cell.set(cell.clone());
        }
        let path = Self::path(&context);
        let target = target_of(&path).map_err(|m| McpError::invalid_params(m, None))?;
        let (b, instruction) = match target {
            Target::Existing(id) => {
                let (b, task) = self.attach(id).await.map_err(|m| McpError::invalid_params(m, None))?;
                let instruction = task.and_then(|task| {
                    self.app.runtime.environment(&b.env)?.task(&task).map(|t| t.spec.instruction.clone())
                });
                (b, instruction)
            }
            Target::New { env, task } => {
                let (env, task) = self.resolve(env, task).map_err(|m| McpError::invalid_params(m, None))?;
                let client = match context.extensions.get::<Parts>() {
                    Some(p) => client_id(&p.headers, p.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)),
                    None => client_id(&Default::default(), None),
                };
                self.app.admit(&client, 1).await.map_err(|e| McpError::invalid_request(e.message, None))?;
                if let Some(host) = self.app.awm_env(&env) {
                    let o = host
                        .open(&env, Some(&task))
                        .await
                        .map_err(|e| McpError::invalid_request(e.to_string(), None))?;
                    self.app.opened(&client, [o.id]);
                    self.app.counters.mcp_sessions_opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let b = Bound { id: o.id, env, owned: true, finished: false, awm: true };
                    let episode = b.id;
                    self.set_bound(b);
                    context.peer.set_peer_info(request.clone());
                    let mut result = self.negotiate_initialize(&request)?;
                    result.instructions = Some(instructions(o.instruction, episode));
                    return Ok(result);
                }
                let info = self
                    .app
                    .runtime
                    .open(&env, Some(&task))
                    .await
                    .map_err(|e| McpError::invalid_request(e.to_string(), None))?;
                self.app.opened(&client, [info.id]);
                self.app.counters.mcp_sessions_opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let instruction =
                    self.app.runtime.environment(&env).and_then(|e| e.task(&task).map(|t| t.spec.instruction.clone()));
                (Bound { id: info.id, env, owned: true, finished: false, awm: false }, instruction)
            }
        };
        let episode = b.id;
        self.set_bound(b);
        context.peer.set_peer_info(request.clone());
        let mut result = self.negotiate_initialize(&request)?;
        result.instructions = Some(instructions(instruction, episode));
        Ok(result)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let env = match self.bound() {
            Some(b) => b.env,
            None => match target_of(&Self::path(&context)).map_err(|m| McpError::invalid_params(m, None))? {
                Target::Existing(id) => self.attach(id).await.map_err(|m| McpError::invalid_params(m, None))?.0.env,
                Target::New { env, task } => self.resolve(env, task).map_err(|m| McpError::invalid_params(m, None))?.0,
            },
        };
        Ok(ListToolsResult::with_all_items(self.tools_of(&env)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let b = match self.bind_for_call(&context).await {
            Ok(b) => b,
            Err(m) => {
                self.app.counters.mcp_tool_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(error_result("no_episode", m).into());
            }
        };
        Ok(call_bound(&self.app, self.cell(), b, request).await.into())
    }
}

/// Runs `tools/call` on a bound episode: the session handler's path and the session table's direct path.
async fn call_bound(app: &AppState, cell: &SessionCell, b: Bound, request: CallToolRequestParams) -> CallToolResult {
    app.counters.mcp_tool_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if request.name == FINISH_TOOL {
        return finish(app, cell, &b, request.arguments.as_ref()).await;
    }
    let args = request.arguments.map(Value::Object);
    let args = match check_arguments(app, &request.name, args) {
        Ok(a) => a,
        Err(m) => return error_result("invalid_arguments", m),
    };
    if b.awm {
        let Some(host) = app.awm.as_ref() else {
            return error_result("unknown_episode", "no AWM host".into());
        };
        return match host.call(b.id, &request.name, args).await {
            // The observation exactly as AWM's MCP server words it.
            Ok(r) if r.status == agentworld_awm::StepStatus::Ok => {
                CallToolResult::success(vec![ContentBlock::text(r.observation)])
            }
            Ok(r) if r.status == agentworld_awm::StepStatus::InfraError => {
                CallToolResult::error(vec![ContentBlock::text(format!(
                    "infra_error: {} (infrastructure failure: this episode is failed and will not be scored)",
                    r.observation
                ))])
            }
            Ok(r) => CallToolResult::error(vec![ContentBlock::text(r.observation)]),
            Err(e) => error_result(e.code(), e.to_string()),
        };
    }
    let reply = match app.runtime.call(b.id, &request.name, args).await {
        Ok(r) => r,
        Err(e) => return runtime_error(e),
    };
    match (reply.status, reply.result, reply.error) {
        (Status::Ok, Some(v), _) => CallToolResult::success(vec![ContentBlock::text(pretty(&v.to_value()))]),
        (Status::Ok, None, _) => CallToolResult::success(vec![ContentBlock::text("null")]),
        (status, _, Some(e)) => {
            let mut text = format!("{}: {}", e.code, e.message);
            if status == Status::InfraError {
                text.push_str(" (infrastructure failure: this episode is failed and will not be scored)");
            }
            CallToolResult::error(vec![ContentBlock::text(text)])
        }
        (status, _, None) => error_result(status.as_str(), "the call failed".into()),
    }
}

/// Ends a bound episode with the `answer` argument and returns its verdict.
async fn finish(
    app: &AppState,
    cell: &SessionCell,
    b: &Bound,
    args: Option<&serde_json::Map<String, Value>>,
) -> CallToolResult {
    let Some(answer) = args.and_then(|a| a.get("answer")) else {
        return error_result("invalid_arguments", format!("{FINISH_TOOL}: missing required argument 'answer'"));
    };
    let Some(answer) = answer.as_str() else {
        return error_result("invalid_arguments", format!("{FINISH_TOOL}: 'answer' must be a string"));
    };
    // The verdict as JSON, from whichever host plays the episode.
    let done = if b.awm {
        let Some(host) = app.awm.as_ref() else {
            return error_result("unknown_episode", "no AWM host".into());
        };
        host.finish(b.id, answer)
            .await
            .map(|d| json!({"episode": b.id, "steps": d.steps, "verdict": d.verdict}))
            .map_err(|e| error_result(e.code(), e.to_string()))
    } else {
        app.runtime
            .finish(b.id, answer)
            .await
            .map(|d| json!({"episode": b.id, "steps": d.steps, "verdict": d.verdict}))
            .map_err(runtime_error)
    };
    match done {
        Ok(body) => {
            cell.set_bound(Bound { finished: true, ..b.clone() });
            app.ended(b.id);
            CallToolResult::success(vec![ContentBlock::text(pretty(&body))])
        }
        Err(failed) => failed,
    }
}

impl Drop for EpisodeServer {
    fn drop(&mut self) {
        self.app.counters.mcp_sessions_live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let Some(b) = self.cell.get().and_then(|c| c.take_bound()) else { return };
        if !b.owned || b.finished {
            return;
        }
        // The session ended without an answer: close the episode (its trajectory stays in the record).
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let app = self.app.clone();
            handle.spawn(async move {
                match app.awm.as_ref().filter(|_| b.awm) {
                    Some(host) => {
                        let _ = host.close(b.id).await;
                    }
                    None => {
                        let _ = app.runtime.close(b.id).await;
                    }
                }
                app.ended(b.id);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths_name_what_a_session_plays() {
        assert_eq!(target_of("/mcp").unwrap(), Target::New { env: None, task: None });
        assert_eq!(target_of("/mcp/shop").unwrap(), Target::New { env: Some("shop".into()), task: None });
        assert_eq!(
            target_of("/mcp/shop/t%2D1/").unwrap(),
            Target::New { env: Some("shop".into()), task: Some("t-1".into()) }
        );
        assert_eq!(target_of("/mcp/episodes/42").unwrap(), Target::Existing(42));
        assert!(target_of("/mcp/episodes/x").unwrap_err().contains("'x'"));
        assert!(target_of("/mcp/a/b/c").unwrap_err().contains("not an MCP endpoint"));
    }
}
