//! The HTTP reset/step API under `/v1` (JSON in, JSON out), for RL trainers:
//!
//! | method and path                   | does                                                        |
//! |-----------------------------------|-------------------------------------------------------------|
//! | `GET /v1/environments`            | environments with their tool and task counts                |
//! | `GET /v1/environments/{env}`      | one environment: tools (JSON Schemas), tasks (instructions) |
//! | `POST /v1/episodes`               | open (reset) an episode: `{"env", "task"?}`                 |
//! | `POST /v1/groups`                 | open a GRPO group of `size` episodes of one task            |
//! | `POST /v1/episodes/{id}/calls`    | call a tool (step): `{"tool", "arguments"}`                 |
//! | `POST /v1/calls`                  | many calls over many episodes; results as they complete     |
//! | `POST /v1/episodes/{id}/finish`   | finish with `{"answer"}`: the verdict with per-check detail |
//! | `POST /v1/episodes/{id}/branch`   | `count` copies of the episode's current state               |
//! | `GET /v1/episodes/{id}`           | the trajectory                                              |
//! | `DELETE /v1/episodes/{id}`        | close without a verdict; returns the trajectory             |
//! | `POST /v1/jobs`                   | start a managed `train` or `rollout` job: `{"kind", "args"}`  |
//! | `GET /v1/jobs`, `GET /v1/jobs/{id}` | jobs; one job's state, log tails and report               |
//! | `POST /v1/jobs/{id}/stop`         | stop a job (it is not restarted)                            |
//!
//! A tool call that the agent got wrong is not an HTTP error: it is `200` with `"status": "tool_error"` and the
//! error as the observation. HTTP errors are for requests the service cannot serve (see [`ApiError`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agentworld_actors::{CallReply, EpisodeInfo, RuntimeError};
use agentworld_runtime::EpisodeId;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;

type Shared = State<Arc<AppState>>;
type ApiResult<T> = Result<Json<T>, ApiError>;

pub fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/v1/environments", get(list_environments))
        .route("/v1/environments/{env}", get(environment))
        .route("/v1/episodes", post(open_episode))
        .route("/v1/groups", post(open_group))
        .route("/v1/calls", post(call_batch))
        .route("/v1/episodes/{id}", get(trajectory).delete(close))
        .route("/v1/episodes/{id}/calls", post(call))
        .route("/v1/episodes/{id}/finish", post(finish))
        .route("/v1/episodes/{id}/branch", post(branch))
        .route("/v1/jobs", get(list_jobs).post(start_job))
        .route("/v1/jobs/{id}", get(job_status))
        .route("/v1/jobs/{id}/stop", post(stop_job))
}

/// Who is asking, for the per-client episode limit: the `X-Client-Id` header, else the peer's IP address.
pub fn client_id(headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    match headers.get("x-client-id").and_then(|v| v.to_str().ok()) {
        Some(id) if !id.is_empty() => id.chars().take(128).collect(),
        _ => peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "unknown".into()),
    }
}

fn episode_id(raw: &str) -> Result<EpisodeId, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid(format!("episode id '{raw}' is not a number")))
}

async fn list_environments(State(app): Shared) -> Json<Value> {
    let mut envs = serde_json::to_value(app.runtime.environments()).unwrap_or_else(|_| json!([]));
    if let (Some(host), Some(list)) = (&app.awm, envs.as_array_mut()) {
        for e in host.environments() {
            let tasks: Vec<&str> = e.tasks().iter().map(|t| t.id.as_str()).collect();
            list.push(json!({
                "name": e.name(), "description": e.manifest.description, "tools": e.tools().len(),
                "tasks": tasks, "available": true, "kind": "awm",
            }));
        }
    }
    Json(json!({ "environments": envs }))
}

/// An imported AWM environment: the tools as its running program lists them.
fn awm_environment(e: &agentworld_awm::AwmEnvironment) -> Value {
    let tools: Vec<Value> = e
        .tools()
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
        .collect();
    let tasks: Vec<Value> =
        e.tasks().iter().map(|t| json!({"id": t.id, "instruction": t.instruction, "kind": "awm"})).collect();
    json!({"name": e.name(), "description": e.manifest.description, "kind": "awm", "source": e.manifest.source,
           "tools": tools, "tasks": tasks})
}

async fn environment(State(app): Shared, Path(env): Path<String>) -> ApiResult<Value> {
    if let Some(e) = app.awm_env(&env).and_then(|h| h.environment(&env)) {
        return Ok(Json(awm_environment(e)));
    }
    let e = app.runtime.environment(&env).ok_or_else(|| ApiError::from(RuntimeError::UnknownEnvironment(env)))?;
    let tools: Vec<Value> = e
        .tools()
        .iter()
        .map(|t| json!({"name": t.name(), "description": t.spec.description, "input_schema": t.input_schema()}))
        .collect();
    let tasks: Vec<Value> = e
        .tasks()
        .iter()
        .map(|t| json!({"id": t.id(), "instruction": t.spec.instruction, "kind": t.spec.kind}))
        .collect();
    Ok(Json(json!({
        "name": e.name(),
        "description": e.spec.env.description,
        "tools": tools,
        "tasks": tasks,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    env: String,
    task: Option<String>,
}

/// An opened episode and what the agent needs to start: the task's instruction.
#[derive(Serialize)]
struct Opened {
    #[serde(flatten)]
    info: EpisodeInfo,
    instruction: Option<String>,
}

fn opened(app: &AppState, info: EpisodeInfo) -> Opened {
    let instruction = info
        .task
        .as_deref()
        .and_then(|t| app.runtime.environment(&info.env).and_then(|e| e.task(t).map(|t| t.spec.instruction.clone())));
    Opened { info, instruction }
}

async fn open_episode(
    State(app): Shared,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<Response, ApiError> {
    let client = client_id(&headers, peer.map(|p| p.0.0));
    app.admit(&client, 1).await?;
    if let Some(host) = app.awm_env(&req.env) {
        let o = host.open(&req.env, req.task.as_deref()).await?;
        app.opened(&client, [o.id]);
        return Ok((StatusCode::CREATED, Json(awm_opened(o))).into_response());
    }
    let info = app.runtime.open(&req.env, req.task.as_deref()).await?;
    app.opened(&client, [info.id]);
    Ok((StatusCode::CREATED, Json(opened(&app, info))).into_response())
}

/// An opened AWM episode, in the same shape as a native one.
fn awm_opened(o: agentworld_awm::host::OpenedEpisode) -> Value {
    json!({"id": o.id, "env": o.env, "task": o.task, "group": null, "lineage": null, "instruction": o.instruction})
}

/// An AWM call's reply, in the shape of [`CallReply`] plus the observation text AWM's agents were trained on.
fn awm_reply(r: agentworld_awm::host::CallOutcome) -> Value {
    let ok = r.status == agentworld_awm::StepStatus::Ok;
    json!({
        "episode": r.episode, "step": r.step, "status": r.status,
        "result": if ok { Value::from(r.observation.clone()) } else { Value::Null },
        "error": if ok { Value::Null } else { json!({"code": r.status.as_str(), "message": r.observation, "argument": null}) },
        "observation": r.observation, "truncated": false, "duration_us": r.duration_us,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRequest {
    env: String,
    task: String,
    size: usize,
}

async fn open_group(
    State(app): Shared,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<GroupRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if req.size == 0 || req.size > 1024 {
        return Err(ApiError::invalid(format!("size must be between 1 and 1024 (got {})", req.size)));
    }
    let client = client_id(&headers, peer.map(|p| p.0.0));
    app.admit(&client, req.size).await?;
    if let Some(host) = app.awm_env(&req.env) {
        let mut episodes = Vec::with_capacity(req.size);
        for _ in 0..req.size {
            let o = host.open(&req.env, Some(&req.task)).await?;
            app.opened(&client, [o.id]);
            episodes.push(awm_opened(o));
        }
        return Ok((StatusCode::CREATED, Json(json!({ "group": null, "episodes": episodes }))));
    }
    let infos = app.runtime.open_group(&req.env, &req.task, req.size).await?;
    app.opened(&client, infos.iter().map(|i| i.id));
    let group = infos.first().and_then(|i| i.group);
    let episodes: Vec<Opened> = infos.into_iter().map(|i| opened(&app, i)).collect();
    Ok((StatusCode::CREATED, Json(json!({ "group": group, "episodes": episodes }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRequest {
    tool: String,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Checks the arguments' shape and size before they reach an episode.
pub fn check_arguments(app: &AppState, tool: &str, args: Option<Value>) -> Result<Value, String> {
    let args = args.unwrap_or_else(|| json!({}));
    if !args.is_object() {
        return Err(format!(
            "arguments of '{tool}' must be a JSON object, got {}",
            agentworld_runtime::args::describe(&args)
        ));
    }
    let size = agentworld_runtime::args::approx_size(&args);
    if size > app.settings.max_argument_bytes {
        return Err(format!(
            "arguments of '{tool}' are {size} bytes, over the limit of {} bytes",
            app.settings.max_argument_bytes
        ));
    }
    Ok(args)
}

async fn call(
    State(app): Shared,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CallRequest>,
) -> Result<Response, ApiError> {
    let id = episode_id(&id)?;
    let args = check_arguments(&app, &req.tool, req.arguments)
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_arguments", m))?;
    if let Some(host) = app.awm_episode(id) {
        return Ok(Json(awm_reply(host.call(id, &req.tool, args).await?)).into_response());
    }
    let reply: CallReply = app.runtime.call(id, &req.tool, args).await?;
    Ok(Json(reply).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchCall {
    episode: EpisodeId,
    tool: String,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    calls: Vec<BatchCall>,
    /// Return once this many calls have completed (default: all).
    first: Option<usize>,
    /// Return what completed within this many milliseconds (default: wait).
    timeout_ms: Option<u64>,
}

/// EnvPool-style: submit calls for many episodes, get results as they complete (the first `first`, or all
/// within `timeout_ms`), each with its position in the request and its episode. Calls not returned still run.
async fn call_batch(State(app): Shared, JsonBody(req): JsonBody<BatchRequest>) -> ApiResult<Value> {
    if req.calls.len() > 100_000 {
        return Err(ApiError::invalid(format!("{} calls in one batch (limit 100000)", req.calls.len())));
    }
    let mut calls = Vec::with_capacity(req.calls.len());
    for (i, c) in req.calls.into_iter().enumerate() {
        let args = check_arguments(&app, &c.tool, c.arguments)
            .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_arguments", format!("calls[{i}]: {m}")))?;
        calls.push((c.episode, c.tool, args));
    }
    let total = calls.len();
    let mut batch = app.runtime.call_batch(calls);
    let want = req.first.unwrap_or(total).min(total);
    let results = match req.timeout_ms {
        Some(ms) => {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
            let mut got = Vec::new();
            while got.len() < want {
                match tokio::time::timeout_at(deadline, batch.next()).await {
                    Ok(Some(r)) => got.push(r),
                    _ => break,
                }
            }
            got
        }
        None => batch.first(want).await,
    };
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| match r.reply {
            Ok(reply) => json!({"index": r.index, "episode": r.episode, "reply": reply}),
            Err(e) => {
                json!({"index": r.index, "episode": r.episode, "error": {"code": e.code(), "message": e.to_string()}})
            }
        })
        .collect();
    Ok(Json(json!({ "results": results, "pending": total - results.len() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishRequest {
    answer: String,
}

async fn finish(
    State(app): Shared,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<FinishRequest>,
) -> ApiResult<Value> {
    let id = episode_id(&id)?;
    if let Some(host) = app.awm_episode(id) {
        let done = host.finish(id, &req.answer).await;
        app.ended(id);
        return Ok(Json(serde_json::to_value(done?).map_err(|e| ApiError::invalid(e.to_string()))?));
    }
    let done = app.runtime.finish(id, &req.answer).await?;
    app.ended(id);
    Ok(Json(serde_json::to_value(done).map_err(|e| ApiError::invalid(e.to_string()))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchRequest {
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn branch(
    State(app): Shared,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<BranchRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = episode_id(&id)?;
    if req.count == 0 || req.count > 1024 {
        return Err(ApiError::invalid(format!("count must be between 1 and 1024 (got {})", req.count)));
    }
    if app.awm_episode(id).is_some() {
        return Err(ApiError::invalid(format!(
            "episode {id} plays an imported AWM environment, whose state lives in a Python worker: it cannot be branched"
        )));
    }
    let client = client_id(&headers, peer.map(|p| p.0.0));
    app.admit(&client, req.count).await?;
    let infos = app.runtime.branch(id, req.count).await?;
    app.opened(&client, infos.iter().map(|i| i.id));
    let episodes: Vec<Opened> = infos.into_iter().map(|i| opened(&app, i)).collect();
    Ok((StatusCode::CREATED, Json(json!({ "episodes": episodes }))))
}

async fn trajectory(State(app): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = episode_id(&id)?;
    if let Some(host) = app.awm_episode(id) {
        return Ok(Json(host.trajectory(id).await?).into_response());
    }
    Ok(Json(app.runtime.trajectory(id).await?).into_response())
}

async fn close(State(app): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = episode_id(&id)?;
    if let Some(host) = app.awm_episode(id) {
        let t = host.close(id).await;
        app.ended(id);
        return Ok(Json(t?).into_response());
    }
    let t = app.runtime.close(id).await?;
    app.ended(id);
    Ok(Json(t).into_response())
}

fn jobs(app: &AppState) -> Result<Arc<crate::jobs::Jobs>, ApiError> {
    app.jobs.clone().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "managed jobs are off ([server] jobs_dir is empty)")
    })
}

fn job_error(e: crate::jobs::JobError) -> ApiError {
    match e {
        crate::jobs::JobError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_job", e.to_string()),
        crate::jobs::JobError::Invalid(_) => ApiError::invalid(e.to_string()),
        crate::jobs::JobError::Io { .. } => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "job_error", e.to_string())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    kind: crate::jobs::JobKind,
    #[serde(default)]
    args: Vec<String>,
}

async fn start_job(
    State(app): Shared,
    JsonBody(req): JsonBody<JobRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if app.is_draining() {
        return Err(RuntimeError::ShuttingDown.into());
    }
    let jobs = jobs(&app)?;
    let record = tokio::task::spawn_blocking(move || jobs.start(req.kind, req.args))
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?
        .map_err(job_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "job": record }))))
}

async fn list_jobs(State(app): Shared) -> ApiResult<Value> {
    let jobs = jobs(&app)?;
    let list = tokio::task::spawn_blocking(move || jobs.list()).await.map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(json!({ "jobs": list })))
}

async fn job_status(State(app): Shared, Path(id): Path<String>) -> ApiResult<Value> {
    let jobs = jobs(&app)?;
    let status = tokio::task::spawn_blocking(move || jobs.status(&id))
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?
        .map_err(job_error)?;
    Ok(Json(status))
}

async fn stop_job(State(app): Shared, Path(id): Path<String>) -> ApiResult<Value> {
    let jobs = jobs(&app)?;
    let record = tokio::task::spawn_blocking(move || jobs.stop(&id))
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?
        .map_err(job_error)?;
    Ok(Json(json!({ "job": record })))
}
