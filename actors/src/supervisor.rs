//! The root supervisor: starts, per environment, an `EpisodeSupervisor` (parent of its episode actors) and an
//! `EnvironmentActor` (opens episodes), and restarts a failed one with exponential backoff, at most
//! `max_restarts` times within `window_ms`; past that the environment is marked unavailable (with the reason)
//! rather than restarted in a loop. Either way the rest of the service runs on. A failed episode supervisor
//! took its episode actors with it (ractor stops an actor's children with it): each of those episodes is
//! ended `infra_error` and reported.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_runtime::Environment;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use crate::context::{EnvEntry, Shared};
use crate::env_actor::{EnvArgs, EnvironmentActor};
use crate::episode_supervisor::{EpisodeSupervisor, crashed};

pub(crate) enum RootMsg {
    Start { env: Arc<Environment>, reply: RpcReplyPort<Result<(), String>> },
    Restart { name: String, part: Part },
}

/// Which of an environment's two actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Environment,
    Episodes,
}

pub(crate) struct RootSupervisor;

pub(crate) struct RootState {
    shared: Arc<Shared>,
    by_actor: HashMap<ActorId, (String, Part)>,
    restarts: HashMap<(String, Part), VecDeque<Instant>>,
}

impl Actor for RootSupervisor {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        _myself: ActorRef<RootMsg>,
        shared: Arc<Shared>,
    ) -> Result<RootState, ActorProcessingErr> {
        Ok(RootState { shared, by_actor: HashMap::new(), restarts: HashMap::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<RootMsg>,
        msg: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RootMsg::Start { env, reply } => {
                if let Ok(mut envs) = state.shared.envs.write() {
                    envs.insert(
                        env.name().to_string(),
                        EnvEntry {
                            env: env.clone(),
                            actor: None,
                            episodes: None,
                            unavailable: Some("starting".into()),
                        },
                    );
                }
                let name = env.name().to_string();
                let mut r = start(&myself, state, &name, Part::Episodes).await;
                if r.is_ok() {
                    r = start(&myself, state, &name, Part::Environment).await;
                }
                let _ = reply.send(r);
            }
            RootMsg::Restart { name, part } => {
                if let Err(e) = start(&myself, state, &name, part).await {
                    tracing::error!(env = %name, error = %e, "actor failed to restart");
                    schedule_restart(&myself, state, name, part, e);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RootMsg>,
        evt: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match evt {
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some((name, part)) = state.by_actor.remove(&cell.get_id()) {
                    tracing::error!(env = %name, ?part, error = %err, "actor failed");
                    state.shared.metrics.env_restarted();
                    if part == Part::Episodes {
                        for (info, _) in state.shared.directory.live(Some(&name)) {
                            crashed(&state.shared, &info, format!("the episode supervisor crashed: {err}")).await;
                        }
                    }
                    schedule_restart(&myself, state, name, part, err.to_string());
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.by_actor.remove(&cell.get_id());
            }
            _ => {}
        }
        Ok(())
    }
}

async fn start(myself: &ActorRef<RootMsg>, state: &mut RootState, name: &str, part: Part) -> Result<(), String> {
    let env =
        state.shared.envs.read().ok().and_then(|e| e.get(name).map(|e| e.env.clone())).ok_or("unknown environment")?;
    let cell = match part {
        Part::Episodes => {
            let (actor, _) = Actor::spawn_linked(None, EpisodeSupervisor, state.shared.clone(), myself.get_cell())
                .await
                .map_err(|e| e.to_string())?;
            if let Ok(mut envs) = state.shared.envs.write()
                && let Some(e) = envs.get_mut(name)
            {
                e.episodes = Some(actor.clone());
                if e.actor.is_some() {
                    e.unavailable = None;
                }
            }
            actor.get_cell()
        }
        Part::Environment => {
            let rebuild = state.restarts.contains_key(&(name.to_string(), Part::Environment));
            let args = EnvArgs { env, shared: state.shared.clone(), rebuild };
            let (actor, _) = Actor::spawn_linked(None, EnvironmentActor, args, myself.get_cell())
                .await
                .map_err(|e| e.to_string())?;
            if let Ok(mut envs) = state.shared.envs.write()
                && let Some(e) = envs.get_mut(name)
            {
                e.actor = Some(actor.clone());
                e.unavailable = None;
            }
            actor.get_cell()
        }
    };
    state.by_actor.insert(cell.get_id(), (name.to_string(), part));
    Ok(())
}

fn schedule_restart(myself: &ActorRef<RootMsg>, state: &mut RootState, name: String, part: Part, cause: String) {
    let policy = &state.shared.config.restart;
    let window = Duration::from_millis(policy.window_ms);
    let recent = state.restarts.entry((name.clone(), part)).or_default();
    let now = Instant::now();
    while recent.front().is_some_and(|t| now.duration_since(*t) > window) {
        recent.pop_front();
    }
    let give_up = recent.len() as u32 >= policy.max_restarts;
    let reason = if give_up {
        format!(
            "its actor failed {} times within {} ms and is not restarted again (last failure: {cause})",
            recent.len() + 1,
            policy.window_ms
        )
    } else {
        format!("its actor is restarting after a failure: {cause}")
    };
    if let Ok(mut envs) = state.shared.envs.write()
        && let Some(e) = envs.get_mut(&name)
    {
        match part {
            Part::Environment => e.actor = None,
            Part::Episodes => e.episodes = None,
        }
        e.unavailable = Some(reason);
    }
    if !give_up {
        let delay = policy.backoff(recent.len() as u32);
        recent.push_back(now);
        myself.send_after(delay, move || RootMsg::Restart { name, part });
    }
}
