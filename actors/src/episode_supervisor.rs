//! `EpisodeSupervisor`: one per environment, the parent of its `EpisodeActor`s. It does nothing that can fail
//! on its own (spawning, forwarding ticks, bookkeeping), so the episodes' lifetimes do not depend on the riskier
//! `EnvironmentActor`. An episode actor that crashes (a panic in actor code, where it could not clean up
//! itself) is reported here: the episode is ended `infra_error` in the journal, the directory and the metrics,
//! never dropped silently.

use std::collections::HashMap;
use std::sync::Arc;

use agentworld_runtime::Episode;
use agentworld_runtime::journal::Record;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use crate::api::{EndStatus, EpisodeInfo, RuntimeError, Trajectory};
use crate::context::Shared;
use crate::episode_actor::{Activity, EpisodeActor, EpisodeArgs, EpisodeMsg};

pub(crate) enum SupervisorMsg {
    /// Give each episode its actor.
    Adopt { episodes: Vec<(Box<Episode>, Arc<EpisodeInfo>)>, reply: RpcReplyPort<Result<(), RuntimeError>> },
    /// Periodic: episodes past their idle or wall-time limit are told to check it.
    Tick,
}

pub(crate) struct EpisodeSupervisor;

/// What the supervisor keeps of each episode actor.
struct Child {
    info: Arc<EpisodeInfo>,
    activity: Arc<Activity>,
    actor: ActorRef<EpisodeMsg>,
}

pub(crate) struct SupervisorState {
    shared: Arc<Shared>,
    children: HashMap<ActorId, Child>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Actor for EpisodeSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        shared: Arc<Shared>,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let limits = &shared.config.runtime;
        let interval = std::time::Duration::from_millis(limits.reap_interval_ms.max(10));
        let ticker = (limits.idle_timeout().is_some() || limits.episode_timeout().is_some())
            .then(|| myself.send_interval(interval, || SupervisorMsg::Tick));
        Ok(SupervisorState { shared, children: HashMap::new(), ticker })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(t) = state.ticker.take() {
            t.abort();
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Adopt { episodes, reply } => {
                let mut result = Ok(());
                for (episode, info) in episodes {
                    let activity = Arc::new(Activity::new());
                    let args = EpisodeArgs {
                        episode,
                        info: info.clone(),
                        shared: state.shared.clone(),
                        activity: activity.clone(),
                    };
                    match Actor::spawn_linked(None, EpisodeActor, args, myself.get_cell()).await {
                        Ok((actor, _)) => {
                            state.children.insert(actor.get_id(), Child { info, activity, actor });
                        }
                        Err(e) => {
                            result = Err(RuntimeError::Infra {
                                episode: Some(info.id),
                                cause: e.to_string(),
                                resample: None,
                            })
                        }
                    }
                }
                let _ = reply.send(result);
            }
            SupervisorMsg::Tick => {
                let cfg = &state.shared.config.runtime;
                for child in state.children.values().filter(|c| c.activity.overdue(cfg).is_some()) {
                    let _ = child.actor.cast(EpisodeMsg::Tick);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match evt {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.children.remove(&cell.get_id());
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some(child) = state.children.remove(&cell.get_id()) {
                    crashed(&state.shared, &child.info, format!("the episode's actor crashed: {err}")).await;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Ends an episode whose actor is gone as `infra_error`: directory, metrics, journal.
pub(crate) async fn crashed(shared: &Arc<Shared>, info: &EpisodeInfo, cause: String) {
    let id = info.id;
    shared.directory.remove(id);
    shared.calls.done(id);
    if shared.directory.has_ended(id) {
        return;
    }
    shared.metrics.episode_crashed();
    shared.metrics.ended(EndStatus::InfraError);
    shared.directory.ended(Arc::new(Trajectory {
        info: info.clone(),
        steps: Default::default(),
        answer: None,
        verdict: None,
        ended: Some(EndStatus::InfraError),
        cause: Some(cause.clone()),
    }));
    if let Some(j) = shared.journal.clone() {
        // The steps it took are already journaled; this ends the episode there.
        let _ = shared
            .pool
            .submit(&shared.metrics, move || {
                let _ = j.record(vec![Record::ended(id, EndStatus::InfraError.as_str(), Some(cause), 0)]);
            })
            .await;
    }
}
