//! `EnvironmentActor`: owns one environment (its compiled template and episode pool) and opens episodes.
//!
//! Episodes are made here (a pooled database checked out on a worker, the opening journaled) and handed to the
//! environment's [`EpisodeSupervisor`](crate::episode_supervisor), a sibling under the root supervisor. So a
//! crash of this actor (whose work is the risky part: compiling, checking out, journaling) never takes live
//! episodes with it: ractor stops an actor's children with it. A restarted environment actor recompiles its
//! environment from the spec.

use std::sync::Arc;
use std::time::Instant;

use agentworld_runtime::journal::Record;
use agentworld_runtime::{Environment, Episode};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::api::{EpisodeInfo, RuntimeError};
use crate::context::Shared;
use crate::episode_supervisor::SupervisorMsg;
use crate::faults::Fault;
use crate::metrics::Op;

pub(crate) enum EnvMsg {
    /// Open `count` episodes of `task`; `group` makes them one GRPO group.
    Open {
        task: Option<String>,
        count: usize,
        group: bool,
        reply: RpcReplyPort<Result<Vec<EpisodeInfo>, RuntimeError>>,
    },
}

pub(crate) struct EnvironmentActor;

pub(crate) struct EnvArgs {
    pub env: Arc<Environment>,
    pub shared: Arc<Shared>,
    /// Recompile the environment from its spec (a restart) instead of using `env` as it is.
    pub rebuild: bool,
}

pub(crate) struct EnvState {
    env: Arc<Environment>,
    shared: Arc<Shared>,
}

impl Actor for EnvironmentActor {
    type Msg = EnvMsg;
    type State = EnvState;
    type Arguments = EnvArgs;

    async fn pre_start(&self, _myself: ActorRef<EnvMsg>, args: EnvArgs) -> Result<EnvState, ActorProcessingErr> {
        let env = if args.rebuild {
            let old = args.env.clone();
            let shared = args.shared.clone();
            let rebuilt = shared
                .pool
                .run(&shared.metrics, move || Environment::compile(old.spec.clone(), old.source.clone()))
                .await?
                .ok_or("the worker died while rebuilding the environment")?;
            Arc::new(rebuilt.map_err(|e| e.to_string())?)
        } else {
            args.env
        };
        Ok(EnvState { env, shared: args.shared })
    }

    async fn handle(
        &self,
        _myself: ActorRef<EnvMsg>,
        msg: EnvMsg,
        state: &mut EnvState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            EnvMsg::Open { task, count, group, reply } => {
                let started = Instant::now();
                if state.shared.faults.take(&[Fault::CrashEnvironment], state.env.name(), None, 0).is_some() {
                    panic!("injected fault: environment actor '{}' panics opening an episode", state.env.name());
                }
                let r = open(state, task, count, group).await;
                state.shared.metrics.time(Op::Open, started.elapsed());
                let _ = reply.send(r);
            }
        }
        Ok(())
    }
}

fn infra(cause: impl Into<String>) -> RuntimeError {
    RuntimeError::Infra { episode: None, cause: cause.into(), resample: None }
}

async fn open(
    state: &mut EnvState,
    task: Option<String>,
    count: usize,
    group: bool,
) -> Result<Vec<EpisodeInfo>, RuntimeError> {
    if count == 0 {
        return Err(RuntimeError::Invalid("open at least one episode".into()));
    }
    if let Some(t) = &task
        && state.env.task(t).is_none()
    {
        return Err(RuntimeError::UnknownTask { env: state.env.name().to_string(), task: t.clone() });
    }
    let limit = state.shared.config.runtime.max_episodes;
    if limit > 0 && state.shared.metrics.live().max(0) as usize + count > limit {
        return Err(RuntimeError::TooManyEpisodes { limit });
    }
    let env = state.env.clone();
    let shared = state.shared.clone();
    let made = shared
        .pool
        .run(&shared.metrics, move || -> Result<Vec<Episode>, String> {
            (0..count).map(|_| Episode::open(env.clone(), task.as_deref()).map_err(|e| e.to_string())).collect()
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| infra("the worker died opening episodes"))?
        .map_err(infra)?;
    let group = group.then(agentworld_runtime::episode::next_episode_id);
    adopt(&state.shared, state.env.name(), made, group, None).await
}

/// Journals the episodes' opening, then has the environment's episode supervisor give each its actor.
pub(crate) async fn adopt(
    shared: &Arc<Shared>,
    env: &str,
    episodes: Vec<Episode>,
    group: Option<u64>,
    parent_group: Option<u64>,
) -> Result<Vec<EpisodeInfo>, RuntimeError> {
    let infos: Vec<Arc<EpisodeInfo>> = episodes
        .iter()
        .map(|ep| {
            Arc::new(EpisodeInfo {
                id: ep.id(),
                env: ep.env().name().to_string(),
                task: ep.task_id().map(str::to_string),
                group: group.or(parent_group),
                lineage: ep.lineage(),
            })
        })
        .collect();
    let supervisor =
        shared.envs.read().ok().and_then(|e| e.get(env).and_then(|e| e.episodes.clone())).ok_or_else(|| {
            RuntimeError::Unavailable { env: env.to_string(), reason: "its episode supervisor is restarting".into() }
        })?;
    let episodes = if let Some(j) = shared.journal.clone() {
        let groups: Vec<Option<u64>> = infos.iter().map(|i| i.group).collect();
        shared
            .pool
            .run(&shared.metrics, move || {
                let recs = episodes.iter().zip(&groups).map(|(ep, g)| Record::opened(ep, *g)).collect();
                j.record(recs).map(|_| episodes).map_err(|e| e.to_string())
            })
            .await
            .ok()
            .flatten()
            .ok_or_else(|| infra("the worker died journaling"))?
            .map_err(infra)?
    } else {
        episodes
    };
    let pairs: Vec<(Box<Episode>, Arc<EpisodeInfo>)> =
        episodes.into_iter().map(Box::new).zip(infos.iter().cloned()).collect();
    match supervisor.call(|reply| SupervisorMsg::Adopt { episodes: pairs, reply }, None).await {
        Ok(CallResult::Success(r)) => r?,
        _ => {
            return Err(RuntimeError::Unavailable {
                env: env.to_string(),
                reason: "its episode supervisor stopped".into(),
            });
        }
    }
    shared.metrics.opened(infos.len());
    Ok(infos.iter().map(|i| (**i).clone()).collect())
}
