//! `AwmHost`: serves imported environments to the network interfaces. Each live episode is an
//! `AwmEpisodeActor` (ractor) that owns its [`AwmEpisode`] and serialises what is done to it; bridge I/O runs on
//! the blocking pool so the async executors stay free. An actor that dies (a panic while handling a message)
//! takes only its episode with it: the client is told `infra_error`, never a reward.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use agentworld_runtime::{EpisodeId, Journal};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, rpc::CallResult};
use serde::Serialize;
use serde_json::Value;

use crate::bridge::BridgePool;
use crate::episode::{AwmEnvironment, AwmEpisode, AwmStep, AwmVerdict, StepStatus};
use crate::error::AwmError;
use crate::manifest::Manifest;

/// Why a request to the host could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("unknown AWM environment '{0}'")]
    UnknownEnvironment(String),
    #[error("unknown task '{task}' in '{env}'")]
    UnknownTask { env: String, task: String },
    #[error("unknown or ended episode {0}")]
    UnknownEpisode(EpisodeId),
    #[error("{0}")]
    Infra(String),
    #[error("{0}")]
    Invalid(String),
}

impl HostError {
    /// Machine-readable code, as the HTTP API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            HostError::UnknownEnvironment(_) => "unknown_environment",
            HostError::UnknownTask { .. } => "unknown_task",
            HostError::UnknownEpisode(_) => "unknown_episode",
            HostError::Infra(_) => "infra_error",
            HostError::Invalid(_) => "invalid_request",
        }
    }
}

/// An opened episode.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedEpisode {
    pub id: EpisodeId,
    pub env: String,
    pub task: Option<String>,
    pub instruction: Option<String>,
}

/// The reply to one tool call.
#[derive(Debug, Clone, Serialize)]
pub struct CallOutcome {
    pub episode: EpisodeId,
    pub step: usize,
    /// `ok`, `tool_error` or `infra_error`.
    pub status: StepStatus,
    /// The observation in AWM's words (an error observation when `status` is not `ok`).
    pub observation: String,
    pub duration_us: u64,
}

/// What `finish` returns.
#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    pub episode: EpisodeId,
    pub steps: usize,
    pub verdict: AwmVerdict,
}

/// An episode's history.
#[derive(Debug, Clone, Serialize)]
pub struct AwmTrajectory {
    pub episode: EpisodeId,
    pub env: String,
    pub task: Option<String>,
    pub steps: Vec<AwmStep>,
    pub verdict: Option<AwmVerdict>,
    pub failure: Option<String>,
}

enum EpisodeMsg {
    Call { tool: String, args: Value, reply: RpcReplyPort<CallOutcome> },
    Finish { answer: String, reply: RpcReplyPort<Result<Finished, HostError>> },
    Trajectory { reply: RpcReplyPort<AwmTrajectory> },
    Close { reply: RpcReplyPort<AwmTrajectory> },
}

struct AwmEpisodeActor;

struct EpisodeState {
    episode: Option<AwmEpisode>,
    host: Arc<HostInner>,
}

impl EpisodeState {
    fn trajectory(&self) -> AwmTrajectory {
        match &self.episode {
            Some(ep) => AwmTrajectory {
                episode: ep.id(),
                env: ep.env().name().into(),
                task: ep.task_id().map(str::to_string),
                steps: ep.steps().to_vec(),
                verdict: ep.verdict().cloned(),
                failure: ep.failure().map(str::to_string),
            },
            None => AwmTrajectory {
                episode: 0,
                env: String::new(),
                task: None,
                steps: Vec::new(),
                verdict: None,
                failure: Some("the episode was lost".into()),
            },
        }
    }

    /// Runs `f` on the episode on the blocking pool and puts the episode back.
    async fn with_episode<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut AwmEpisode) -> T + Send + 'static,
    ) -> Result<T, HostError> {
        let mut ep = self.episode.take().ok_or_else(|| HostError::Infra("the episode was lost".into()))?;
        match tokio::task::spawn_blocking(move || {
            let out = f(&mut ep);
            (ep, out)
        })
        .await
        {
            Ok((ep, out)) => {
                self.episode = Some(ep);
                Ok(out)
            }
            Err(e) => Err(HostError::Infra(format!("the episode's call panicked: {e}"))),
        }
    }
}

impl Actor for AwmEpisodeActor {
    type Msg = EpisodeMsg;
    type State = EpisodeState;
    type Arguments = (AwmEpisode, Arc<HostInner>);

    async fn pre_start(
        &self,
        _myself: ActorRef<EpisodeMsg>,
        (episode, host): (AwmEpisode, Arc<HostInner>),
    ) -> Result<EpisodeState, ActorProcessingErr> {
        Ok(EpisodeState { episode: Some(episode), host })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<EpisodeMsg>,
        state: &mut EpisodeState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(ep) = state.episode.take() {
            state.host.forget(ep.id());
            // Dropping the episode ends it in the record (closed, or infra_error if its worker was lost).
            let _ = tokio::task::spawn_blocking(move || drop(ep)).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<EpisodeMsg>,
        msg: EpisodeMsg,
        state: &mut EpisodeState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            EpisodeMsg::Call { tool, args, reply } => {
                let id = state.episode.as_ref().map_or(0, AwmEpisode::id);
                let out = state
                    .with_episode(move |ep| {
                        let episode = ep.id();
                        let step = ep.call(&tool, &args);
                        CallOutcome {
                            episode,
                            step: step.index,
                            status: step.status,
                            observation: step.observation.clone(),
                            duration_us: step.duration_us,
                        }
                    })
                    .await
                    .unwrap_or_else(|e| CallOutcome {
                        episode: id,
                        step: 0,
                        status: StepStatus::InfraError,
                        observation: e.to_string(),
                        duration_us: 0,
                    });
                let _ = reply.send(out);
            }
            EpisodeMsg::Finish { answer, reply } => {
                let out = state
                    .with_episode(move |ep| match ep.finish(&answer).cloned() {
                        Ok(v) => Ok(Finished { episode: ep.id(), steps: ep.steps().len(), verdict: v }),
                        Err(AwmError::Bridge(e)) => Err(HostError::Infra(e.to_string())),
                        Err(e) => Err(HostError::Invalid(e.to_string())),
                    })
                    .await
                    .and_then(|r| r);
                let _ = reply.send(out);
                myself.stop(None);
            }
            EpisodeMsg::Trajectory { reply } => {
                let _ = reply.send(state.trajectory());
            }
            EpisodeMsg::Close { reply } => {
                let _ = reply.send(state.trajectory());
                myself.stop(None);
            }
        }
        Ok(())
    }
}

struct HostInner {
    envs: Vec<Arc<AwmEnvironment>>,
    episodes: Mutex<HashMap<EpisodeId, ActorRef<EpisodeMsg>>>,
    /// Ended episodes' trajectories, so `GET` still answers after `finish` (bounded).
    ended: Mutex<HashMap<EpisodeId, AwmTrajectory>>,
    journal: Option<Arc<Journal>>,
    pool: BridgePool,
}

impl HostInner {
    fn forget(&self, id: EpisodeId) {
        if let Ok(mut e) = self.episodes.lock() {
            e.remove(&id);
        }
    }

    fn remember(&self, t: AwmTrajectory) {
        if let Ok(mut ended) = self.ended.lock() {
            if ended.len() >= 10_000 {
                ended.clear();
            }
            ended.insert(t.episode, t);
        }
    }
}

/// Serves imported AWM environments: open, call, finish, close, trajectory. Cheap to clone.
#[derive(Clone)]
pub struct AwmHost {
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for AwmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwmHost").field("envs", &self.inner.envs.len()).finish_non_exhaustive()
    }
}

impl AwmHost {
    /// Loads every imported environment with a program under `paths` (each a folder of environment folders, or
    /// one), hosting them on `pool`. Returns the host and the folders skipped, with why.
    pub fn load(
        paths: &[PathBuf],
        pool: BridgePool,
        journal: Option<Arc<Journal>>,
    ) -> Result<(AwmHost, Vec<String>), AwmError> {
        let mut dirs = Vec::new();
        for path in paths {
            if Manifest::is_awm_env(path) {
                dirs.push(path.to_path_buf());
                continue;
            }
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| AwmError::io(path, e))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| Manifest::is_awm_env(p))
                .collect();
            found.sort();
            dirs.extend(found);
        }
        let mut envs = Vec::new();
        let mut skipped = Vec::new();
        for dir in dirs {
            match AwmEnvironment::load(&dir, &pool) {
                Ok(env) => {
                    if let Some(j) = &journal {
                        j.record(vec![env.record()?]).map_err(|e| AwmError::Journal(e.to_string()))?;
                    }
                    envs.push(env)
                }
                Err(e) => skipped.push(format!("{}: {e}", dir.display())),
            }
        }
        Ok((AwmHost::new(envs, pool, journal), skipped))
    }

    pub fn new(envs: Vec<Arc<AwmEnvironment>>, pool: BridgePool, journal: Option<Arc<Journal>>) -> AwmHost {
        AwmHost {
            inner: Arc::new(HostInner {
                envs,
                episodes: Mutex::new(HashMap::new()),
                ended: Mutex::new(HashMap::new()),
                journal,
                pool,
            }),
        }
    }

    pub fn environments(&self) -> &[Arc<AwmEnvironment>] {
        &self.inner.envs
    }

    pub fn environment(&self, name: &str) -> Option<&Arc<AwmEnvironment>> {
        self.inner.envs.iter().find(|e| e.name() == name)
    }

    pub fn pool(&self) -> &BridgePool {
        &self.inner.pool
    }

    /// Whether `id` is (or was recently) one of this host's episodes.
    pub fn owns(&self, id: EpisodeId) -> bool {
        self.inner.episodes.lock().is_ok_and(|e| e.contains_key(&id))
            || self.inner.ended.lock().is_ok_and(|e| e.contains_key(&id))
    }

    pub fn live_episodes(&self) -> usize {
        self.inner.episodes.lock().map_or(0, |e| e.len())
    }

    /// Opens an episode (reset): a fresh copy of the initial state on the least busy bridge worker.
    pub async fn open(&self, env: &str, task: Option<&str>) -> Result<OpenedEpisode, HostError> {
        let e = self.environment(env).ok_or_else(|| HostError::UnknownEnvironment(env.into()))?.clone();
        let task = match task {
            Some(t) if e.task(t).is_none() => {
                return Err(HostError::UnknownTask { env: env.into(), task: t.into() });
            }
            Some(t) => Some(t.to_string()),
            None => e.tasks().first().map(|t| t.id.clone()),
        };
        let journal = self.inner.journal.clone();
        let task_for_open = task.clone();
        let env_for_open = e.clone();
        let episode = tokio::task::spawn_blocking(move || {
            AwmEpisode::open_recorded(env_for_open, task_for_open.as_deref(), journal)
        })
        .await
        .map_err(|err| HostError::Infra(err.to_string()))?
        .map_err(|err| match err {
            AwmError::UnknownTask { env, task } => HostError::UnknownTask { env, task },
            other => HostError::Infra(other.to_string()),
        })?;
        let id = episode.id();
        let instruction = task.as_deref().and_then(|t| e.task(t)).map(|t| t.instruction.clone());
        let (actor, _) = Actor::spawn(None, AwmEpisodeActor, (episode, self.inner.clone()))
            .await
            .map_err(|err| HostError::Infra(format!("starting the episode's actor: {err}")))?;
        if let Ok(mut eps) = self.inner.episodes.lock() {
            eps.insert(id, actor);
        }
        Ok(OpenedEpisode { id, env: env.into(), task, instruction })
    }

    fn actor(&self, id: EpisodeId) -> Result<ActorRef<EpisodeMsg>, HostError> {
        self.inner.episodes.lock().ok().and_then(|e| e.get(&id).cloned()).ok_or(HostError::UnknownEpisode(id))
    }

    /// Calls a tool. App errors and bridge failures are replies (`tool_error`, `infra_error`).
    pub async fn call(&self, id: EpisodeId, tool: &str, args: Value) -> Result<CallOutcome, HostError> {
        let actor = self.actor(id)?;
        let tool = tool.to_string();
        match actor.call(|reply| EpisodeMsg::Call { tool, args, reply }, None).await {
            Ok(CallResult::Success(out)) => Ok(out),
            _ => {
                self.inner.forget(id);
                Ok(CallOutcome {
                    episode: id,
                    step: 0,
                    status: StepStatus::InfraError,
                    observation: "the episode's actor stopped; the episode is failed and will not be scored".into(),
                    duration_us: 0,
                })
            }
        }
    }

    /// Ends the episode with an answer and runs its task's verifiers in the sandbox.
    pub async fn finish(&self, id: EpisodeId, answer: &str) -> Result<Finished, HostError> {
        let actor = self.actor(id)?;
        let answer = answer.to_string();
        let traj = actor.call(|reply| EpisodeMsg::Trajectory { reply }, None).await;
        let out = match actor.call(|reply| EpisodeMsg::Finish { answer, reply }, None).await {
            Ok(CallResult::Success(r)) => r,
            _ => Err(HostError::Infra("the episode's actor stopped".into())),
        };
        if let Ok(CallResult::Success(mut t)) = traj {
            if let Ok(f) = &out {
                t.verdict = Some(f.verdict.clone());
            }
            self.inner.remember(t);
        }
        self.inner.forget(id);
        out
    }

    pub async fn trajectory(&self, id: EpisodeId) -> Result<AwmTrajectory, HostError> {
        match self.actor(id) {
            Ok(actor) => match actor.call(|reply| EpisodeMsg::Trajectory { reply }, None).await {
                Ok(CallResult::Success(t)) => Ok(t),
                _ => Err(HostError::Infra("the episode's actor stopped".into())),
            },
            Err(e) => self.inner.ended.lock().ok().and_then(|m| m.get(&id).cloned()).ok_or(e),
        }
    }

    /// Ends an episode without a verdict; returns its trajectory.
    pub async fn close(&self, id: EpisodeId) -> Result<AwmTrajectory, HostError> {
        let actor = self.actor(id)?;
        let t = match actor.call(|reply| EpisodeMsg::Close { reply }, None).await {
            Ok(CallResult::Success(t)) => t,
            _ => return Err(HostError::Infra("the episode's actor stopped".into())),
        };
        self.inner.forget(id);
        self.inner.remember(t.clone());
        Ok(t)
    }

    /// Closes every live episode and stops the bridge workers.
    pub async fn shutdown(&self) {
        let ids: Vec<EpisodeId> = self.inner.episodes.lock().map(|e| e.keys().copied().collect()).unwrap_or_default();
        for id in ids {
            let _ = self.close(id).await;
        }
        self.inner.pool.shutdown();
    }
}
