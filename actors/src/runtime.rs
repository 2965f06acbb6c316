//! [`Runtime`]: the handle a program embeds. It starts the supervision tree, routes requests to environment and
//! episode actors, and shuts everything down in order (episodes ended and journaled, actors stopped, journal
//! flushed).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agentworld_runtime::{Environment, EpisodeId, Journal};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef, MessagingErr};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::api::{CallReply, EndStatus, EnvSummary, EpisodeInfo, FinishReply, RuntimeError, Status, Trajectory};
use crate::config::RuntimeConfig;
use crate::context::{Directory, Shared};
use crate::env_actor::EnvMsg;
use crate::episode_actor::{EpisodeMsg, Reply};
use crate::faults::Faults;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::pool::WorkerPool;
use crate::supervisor::{RootMsg, RootSupervisor};

/// The actor runtime. Cheap to clone (all clones drive the same runtime).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use agentworld_actors::{Runtime, RuntimeConfig};
/// use agentworld_runtime::Environment;
///
/// let env = Arc::new(Environment::load("envspecs/shop.toml".as_ref())?);
/// let rt = Runtime::start(RuntimeConfig::default(), vec![env]).await?;
/// let group = rt.open_group("shop", "yoga-mat-rating", 8).await?;
/// for ep in &group {
///     let reply = rt.call(ep.id, "search_products", serde_json::json!({"query": "yoga mat"})).await?;
///     println!("{:?} {:?}", reply.status, reply.result);
///     let done = rt.finish(ep.id, "The mat is rated 4.5").await?;
///     println!("reward {}", done.verdict.reward);
/// }
/// rt.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
    root: ActorRef<RootMsg>,
}

/// What [`Runtime::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Episodes still live at shutdown, ended as `interrupted` (trajectories journaled).
    pub interrupted: usize,
}

fn lost<T>(e: MessagingErr<T>) -> String {
    match e {
        MessagingErr::SendErr(_) => "the actor is not running".into(),
        MessagingErr::ChannelClosed => "the actor's mailbox is closed".into(),
        MessagingErr::InvalidActorType => "wrong actor type".into(),
    }
}

impl Runtime {
    /// Starts the runtime serving `envs` (each must have a distinct name) on the current tokio runtime.
    pub async fn start(config: RuntimeConfig, envs: Vec<Arc<Environment>>) -> Result<Runtime, RuntimeError> {
        let mut names = std::collections::HashSet::new();
        for env in &envs {
            if !names.insert(env.name().to_string()) {
                return Err(RuntimeError::Invalid(format!("two environments are named '{}'", env.name())));
            }
        }
        let journal = match &config.journal.path {
            Some(path) => {
                let (path, options) = (path.clone(), config.journal.options());
                let envs = envs.clone();
                let j = tokio::task::spawn_blocking(move || -> Result<Journal, String> {
                    let j = Journal::open_with(&path, options).map_err(|e| format!("{}: {e}", path.display()))?;
                    for env in &envs {
                        j.record_environment(env).map_err(|e| e.to_string())?;
                    }
                    Ok(j)
                })
                .await
                .map_err(|e| RuntimeError::Invalid(e.to_string()))?
                .map_err(|cause| RuntimeError::Infra { episode: None, cause, resample: None })?;
                Some(j)
            }
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        let pool = WorkerPool::new(config.runtime.worker_count(), config.runtime.queue_per_worker, metrics.clone());
        let shared = Arc::new(Shared {
            directory: Directory::new(config.runtime.ended_cache),
            config,
            pool,
            journal,
            metrics,
            faults: Faults::default(),
            calls: Default::default(),
            envs: Default::default(),
            shutting_down: Default::default(),
        });
        tokio::spawn(watch_overdue_calls(Arc::downgrade(&shared)));
        let (root, _) = Actor::spawn(None, RootSupervisor, shared.clone())
            .await
            .map_err(|e| RuntimeError::Invalid(format!("the root supervisor did not start: {e}")))?;
        for env in envs {
            let name = env.name().to_string();
            match root.call(|reply| RootMsg::Start { env, reply }, None).await {
                Ok(CallResult::Success(Ok(()))) => {}
                Ok(CallResult::Success(Err(reason))) => return Err(RuntimeError::Unavailable { env: name, reason }),
                _ => return Err(RuntimeError::Unavailable { env: name, reason: "the supervisor stopped".into() }),
            }
        }
        Ok(Runtime { shared, root })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.shared.config
    }

    pub fn environments(&self) -> Vec<EnvSummary> {
        let Ok(envs) = self.shared.envs.read() else { return Vec::new() };
        let mut out: Vec<EnvSummary> = envs
            .values()
            .map(|e| EnvSummary {
                name: e.env.name().to_string(),
                description: e.env.spec.env.description.clone(),
                tools: e.env.tools().len(),
                tasks: e.env.tasks().iter().map(|t| t.id().to_string()).collect(),
                available: e.actor.is_some() && e.episodes.is_some(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The compiled environment (tools, tasks, schemas) served under `name`.
    pub fn environment(&self, name: &str) -> Option<Arc<Environment>> {
        self.shared.envs.read().ok()?.get(name).map(|e| e.env.clone())
    }

    /// Live episodes.
    pub fn live_episodes(&self) -> usize {
        self.shared.directory.live_count()
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// Fault injection (tests only; nothing else can arm it).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.shared.journal.as_ref()
    }

    fn env_actor(&self, env: &str) -> Result<ActorRef<EnvMsg>, RuntimeError> {
        if self.shared.shutting_down.load(Ordering::Acquire) {
            return Err(RuntimeError::ShuttingDown);
        }
        let envs = self.shared.envs.read().map_err(|_| RuntimeError::ShuttingDown)?;
        let entry = envs.get(env).ok_or_else(|| RuntimeError::UnknownEnvironment(env.to_string()))?;
        entry.actor.clone().ok_or_else(|| RuntimeError::Unavailable {
            env: env.to_string(),
            reason: entry.unavailable.clone().unwrap_or_else(|| "not started".into()),
        })
    }

    async fn open_n(
        &self,
        env: &str,
        task: Option<&str>,
        count: usize,
        group: bool,
    ) -> Result<Vec<EpisodeInfo>, RuntimeError> {
        let actor = self.env_actor(env)?;
        let task = task.map(str::to_string);
        match actor.call(|reply| EnvMsg::Open { task, count, group, reply }, None).await {
            Ok(CallResult::Success(r)) => r,
            Ok(_) => Err(RuntimeError::Unavailable {
                env: env.to_string(),
                reason: "its actor failed while opening; it is being restarted, retry".into(),
            }),
            Err(e) => Err(RuntimeError::Unavailable { env: env.to_string(), reason: lost(e) }),
        }
    }

    /// Opens an episode of `env` on a fresh copy of its initial state (for `task`, or free play with `None`).
    pub async fn open(&self, env: &str, task: Option<&str>) -> Result<EpisodeInfo, RuntimeError> {
        let mut v = self.open_n(env, task, 1, false).await?;
        v.pop().ok_or_else(|| RuntimeError::Invalid("no episode opened".into()))
    }

    /// Opens a GRPO group: `size` episodes of one task from one snapshot, sharing a group id.
    pub async fn open_group(&self, env: &str, task: &str, size: usize) -> Result<Vec<EpisodeInfo>, RuntimeError> {
        self.open_n(env, Some(task), size, true).await
    }

    fn episode(&self, id: EpisodeId) -> Result<ActorRef<EpisodeMsg>, RuntimeError> {
        if let Some(a) = self.shared.directory.actor(id) {
            return Ok(a);
        }
        Err(self.ended_error(id))
    }

    fn ended_error(&self, id: EpisodeId) -> RuntimeError {
        match self.shared.directory.ended_trajectory(id) {
            Some(t) => {
                RuntimeError::EpisodeEnded { id, status: t.ended.unwrap_or(EndStatus::Closed), cause: t.cause.clone() }
            }
            None => RuntimeError::UnknownEpisode(id),
        }
    }

    /// What a request to an episode whose actor vanished mid-request gets: the supervisor's record of why (it
    /// may take a moment to arrive).
    async fn vanished(&self, id: EpisodeId) -> RuntimeError {
        for _ in 0..100 {
            if let Some(t) = self.shared.directory.ended_trajectory(id) {
                if t.ended == Some(EndStatus::InfraError) {
                    let cause = t.cause.clone().unwrap_or_default();
                    return RuntimeError::Infra {
                        episode: Some(id),
                        resample: Some(Box::new(crate::api::ResampleHint::new(&t.info, cause.clone()))),
                        cause,
                    };
                }
                return self.ended_error(id);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        RuntimeError::Infra {
            episode: Some(id),
            cause: "the episode's actor stopped while handling the request".into(),
            resample: None,
        }
    }

    /// Calls a tool in an episode. Tool failures, timeouts and infrastructure failures are replies with a
    /// [`Status`]; `Err` means the request itself could not be served (unknown or ended episode).
    pub async fn call(&self, id: EpisodeId, tool: &str, args: Value) -> Result<CallReply, RuntimeError> {
        let actor = self.episode(id)?;
        let tool = tool.to_string();
        match actor.call(|port| EpisodeMsg::Call { tool, args, reply: Reply::Port(port) }, None).await {
            Ok(CallResult::Success(r)) => Ok(r),
            _ => match self.vanished(id).await {
                RuntimeError::Infra { cause, resample: Some(hint), .. } => {
                    let hint = *hint;
                    let info = EpisodeInfo { id, env: hint.env, task: hint.task, group: hint.group, lineage: None };
                    Ok(CallReply::refused(&info, Status::InfraError, "infra_error", cause))
                }
                other => Err(other),
            },
        }
    }

    /// Submits many calls at once (EnvPool style); results arrive as they complete, with their index.
    pub fn call_batch(&self, calls: Vec<(EpisodeId, String, Value)>) -> Batch {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ready = VecDeque::new();
        let mut pending = HashMap::new();
        for (index, (id, tool, args)) in calls.into_iter().enumerate() {
            match self.episode(id) {
                Ok(actor) => {
                    let msg = EpisodeMsg::Call { tool, args, reply: Reply::Batch { tx: tx.clone(), index } };
                    match actor.send_message(msg) {
                        Ok(()) => {
                            pending.insert(index, id);
                        }
                        Err(_) => ready.push_back(BatchResult { index, episode: id, reply: Err(self.ended_error(id)) }),
                    }
                }
                Err(e) => ready.push_back(BatchResult { index, episode: id, reply: Err(e) }),
            }
        }
        Batch { rx, ready, pending, runtime: self.clone() }
    }

    /// Ends the episode with the agent's answer and verifies it.
    pub async fn finish(&self, id: EpisodeId, answer: &str) -> Result<FinishReply, RuntimeError> {
        let actor = self.episode(id)?;
        let answer = answer.to_string();
        match actor.call(|reply| EpisodeMsg::Finish { answer, reply }, None).await {
            Ok(CallResult::Success(r)) => r,
            _ => Err(self.vanished(id).await),
        }
    }

    /// `count` new episodes continuing from this one's current state (a GRPO group from a mid-episode snapshot
    /// when `count > 1`).
    pub async fn branch(&self, id: EpisodeId, count: usize) -> Result<Vec<EpisodeInfo>, RuntimeError> {
        let actor = self.episode(id)?;
        match actor.call(|reply| EpisodeMsg::Branch { count, reply }, None).await {
            Ok(CallResult::Success(r)) => r,
            _ => Err(self.vanished(id).await),
        }
    }

    /// Ends the episode without a verdict; returns its trajectory. Closing an ended episode returns its
    /// trajectory too (while it is remembered).
    pub async fn close(&self, id: EpisodeId) -> Result<Trajectory, RuntimeError> {
        self.end(id, EndStatus::Closed, None).await
    }

    async fn end(&self, id: EpisodeId, status: EndStatus, cause: Option<String>) -> Result<Trajectory, RuntimeError> {
        let Some(actor) = self.shared.directory.actor(id) else {
            return self.remembered(id).ok_or(RuntimeError::UnknownEpisode(id));
        };
        match actor.call(|reply| EpisodeMsg::End { status, cause, reply: Some(reply) }, None).await {
            Ok(CallResult::Success(t)) => Ok(t),
            _ => match self.remembered(id) {
                Some(t) => Ok(t),
                None => Err(self.vanished(id).await),
            },
        }
    }

    /// An ended episode's kept trajectory, copied (the directory keeps its own).
    fn remembered(&self, id: EpisodeId) -> Option<Trajectory> {
        self.shared.directory.ended_trajectory(id).map(|t| (*t).clone())
    }

    /// The episode's steps so far (or final, for an ended episode still remembered).
    pub async fn trajectory(&self, id: EpisodeId) -> Result<Trajectory, RuntimeError> {
        let Some(actor) = self.shared.directory.actor(id) else {
            return self.remembered(id).ok_or(RuntimeError::UnknownEpisode(id));
        };
        match actor.call(|reply| EpisodeMsg::Trajectory { reply }, None).await {
            Ok(CallResult::Success(t)) => Ok(t),
            _ => match self.remembered(id) {
                Some(t) => Ok(t),
                None => Err(self.vanished(id).await),
            },
        }
    }

    /// Stops accepting work, ends every live episode as `interrupted` (journaled with its trajectory), stops the
    /// actors and flushes the journal.
    pub async fn shutdown(&self) -> Result<ShutdownReport, RuntimeError> {
        if self.shared.shutting_down.swap(true, Ordering::AcqRel) {
            return Ok(ShutdownReport { interrupted: 0 });
        }
        let live = self.shared.directory.live(None);
        let interrupted = live.len();
        let mut ends = tokio::task::JoinSet::new();
        for (_, actor) in live {
            ends.spawn(async move {
                let cause = Some("the runtime shut down".to_string());
                let _ = actor
                    .call(|reply| EpisodeMsg::End { status: EndStatus::Interrupted, cause, reply: Some(reply) }, None)
                    .await;
            });
        }
        while ends.join_next().await.is_some() {}
        let timeout = Some(Duration::from_secs(10));
        self.root.get_cell().stop_children_and_wait(Some("shutdown".into()), timeout).await;
        let _ = self.root.stop_and_wait(Some("shutdown".into()), timeout).await;
        self.shared.pool.close();
        if let Some(j) = self.shared.journal.clone() {
            tokio::task::spawn_blocking(move || j.flush())
                .await
                .map_err(|e| RuntimeError::Invalid(e.to_string()))?
                .map_err(|e| RuntimeError::Infra { episode: None, cause: e.to_string(), resample: None })?;
        }
        Ok(ShutdownReport { interrupted })
    }
}

/// How often the watchdog looks for calls past their deadline.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(500);
/// How long past its deadline a call must still be out before the watchdog acts. Workers stop SQL at the deadline
/// themselves; acting sooner would interrupt a worker that is wrapping up after its own stop (and fail the
/// episode with it). Only a worker stuck outside SQLite is still out a second later.
const WATCHDOG_SLACK: Duration = Duration::from_secs(1);

/// Has the actor of every call still out `WATCHDOG_SLACK` past its deadline settle it (see
/// [`crate::context::CallsInFlight`]): the actor interrupts the statement, waits its grace period and, if the worker
/// is still out, answers `infra_error` and ends the episode. Ends with the runtime.
async fn watch_overdue_calls(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(WATCHDOG_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        if shared.shutting_down.load(Ordering::Acquire) {
            return;
        }
        let Some(cutoff) = Instant::now().checked_sub(WATCHDOG_SLACK) else { continue };
        for (id, actor) in shared.calls.overdue(cutoff) {
            if actor.cast(EpisodeMsg::Settle).is_err() {
                // the actor is gone: nobody will settle this call
                shared.calls.done(id);
            }
        }
    }
}

/// One result of a [`Batch`].
#[derive(Debug, Clone)]
pub struct BatchResult {
    /// Position of the call in the submitted batch.
    pub index: usize,
    pub episode: EpisodeId,
    pub reply: Result<CallReply, RuntimeError>,
}

/// Results of [`Runtime::call_batch`], in completion order.
pub struct Batch {
    rx: mpsc::UnboundedReceiver<(usize, CallReply)>,
    ready: VecDeque<BatchResult>,
    pending: HashMap<usize, EpisodeId>,
    runtime: Runtime,
}

impl Batch {
    /// Calls not yet answered.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.ready.len()
    }

    /// The next result to complete; `None` when all are delivered.
    pub async fn next(&mut self) -> Option<BatchResult> {
        if let Some(r) = self.ready.pop_front() {
            return Some(r);
        }
        if self.pending.is_empty() {
            return None;
        }
        match self.rx.recv().await {
            Some((index, reply)) => {
                let episode = self.pending.remove(&index).unwrap_or(reply.episode);
                Some(BatchResult { index, episode, reply: Ok(reply) })
            }
            None => {
                // Every reply channel is gone: the remaining calls' actors stopped without answering.
                let index = *self.pending.keys().next()?;
                let episode = self.pending.remove(&index)?;
                Some(BatchResult { index, episode, reply: Err(self.runtime.vanished(episode).await) })
            }
        }
    }

    /// The first `k` results to complete (fewer if the batch is smaller).
    pub async fn first(&mut self, k: usize) -> Vec<BatchResult> {
        let mut out = Vec::with_capacity(k.min(self.pending()));
        while out.len() < k {
            match self.next().await {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }

    /// All results, in submission order.
    pub async fn all(mut self) -> Vec<BatchResult> {
        let mut out = self.first(usize::MAX).await;
        out.sort_by_key(|r| r.index);
        out
    }

    /// Waits at most until `deadline` for results.
    pub async fn until(&mut self, deadline: Instant) -> Vec<BatchResult> {
        let mut out = Vec::new();
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline.into(), self.next()).await {
            out.push(r);
        }
        out
    }
}
