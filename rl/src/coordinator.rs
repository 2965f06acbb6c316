//! The rollout coordinator: one actor that owns the policy and drives rollouts, training iterations and
//! evaluations over the actor runtime, so a training service talks to it with messages, and a panic while
//! deciding or updating fails this actor (reported to its supervisor) instead of the process.
//!
//! ```no_run
//! # async fn demo(rt: agentworld_actors::Runtime, train: Vec<agentworld_rl::rollout::TaskRef>) {
//! use agentworld_kernels::Backend;
//! use agentworld_rl::coordinator::{Coordinator, CoordinatorPolicy};
//! use agentworld_rl::policy::{BuiltinConfig, BuiltinPolicy};
//! use agentworld_rl::train::TrainConfig;
//! let policy = BuiltinPolicy::new(BuiltinConfig::default(), Backend::cpu()).unwrap();
//! let coordinator = Coordinator::start(rt, CoordinatorPolicy::Builtin(Box::new(policy))).await.unwrap();
//! let point = coordinator.train_iteration(train.into(), TrainConfig::default(), 0).await.unwrap();
//! println!("success {:.2}", point.success_rate);
//! # }
//! ```

use std::sync::Arc;

use agentworld_actors::Runtime;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::policy::{BuiltinPolicy, Policy};
use crate::rollout::{EnvCache, RolloutConfig, RolloutResult, TaskRef, rollout};
use crate::train::{Checkpoint, CurvePoint, Evaluation, TrainConfig, evaluate, iteration};

/// The policy the coordinator owns.
pub enum CoordinatorPolicy {
    /// Learns: rollouts, training iterations, evaluations and checkpoints.
    Builtin(Box<BuiltinPolicy>),
    /// Any other policy (an LLM): rollouts only.
    Other(Box<dyn Policy>),
}

/// What the coordinator does, one message at a time.
pub enum CoordinatorMsg {
    Rollout {
        tasks: Arc<Vec<TaskRef>>,
        config: RolloutConfig,
        reply: RpcReplyPort<Result<RolloutResult, String>>,
    },
    Train {
        tasks: Arc<Vec<TaskRef>>,
        config: TrainConfig,
        index: usize,
        reply: RpcReplyPort<Result<CurvePoint, String>>,
    },
    Evaluate {
        tasks: Arc<Vec<TaskRef>>,
        max_steps: usize,
        reply: RpcReplyPort<Result<Evaluation, String>>,
    },
    /// A checkpoint of the built-in policy's parameters and optimiser state.
    Checkpoint {
        config: TrainConfig,
        iteration: usize,
        curve: Vec<CurvePoint>,
        before: Option<Evaluation>,
        setup: serde_json::Value,
        reply: RpcReplyPort<Result<Checkpoint, String>>,
    },
}

pub struct CoordinatorState {
    runtime: Runtime,
    policy: CoordinatorPolicy,
    cache: EnvCache,
}

/// The actor.
pub struct RolloutCoordinator;

impl Actor for RolloutCoordinator {
    type Msg = CoordinatorMsg;
    type State = CoordinatorState;
    type Arguments = (Runtime, CoordinatorPolicy);

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        (runtime, policy): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(CoordinatorState { runtime, policy, cache: EnvCache::default() })
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let CoordinatorState { runtime, policy, cache } = state;
        match msg {
            CoordinatorMsg::Rollout { tasks, config, reply } => {
                let p: &mut dyn Policy = match policy {
                    CoordinatorPolicy::Builtin(b) => b.as_mut(),
                    CoordinatorPolicy::Other(o) => o.as_mut(),
                };
                let r = rollout(runtime, p, cache, &tasks, config).await.map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            CoordinatorMsg::Train { tasks, config, index, reply } => {
                let r = match policy {
                    CoordinatorPolicy::Builtin(b) => {
                        iteration(runtime, b, cache, &tasks, &config, index).await.map_err(|e| e.to_string())
                    }
                    CoordinatorPolicy::Other(_) => Err("only the built-in policy trains here".into()),
                };
                let _ = reply.send(r);
            }
            CoordinatorMsg::Evaluate { tasks, max_steps, reply } => {
                let r = match policy {
                    CoordinatorPolicy::Builtin(b) => {
                        evaluate(runtime, b, cache, &tasks, max_steps).await.map_err(|e| e.to_string())
                    }
                    CoordinatorPolicy::Other(_) => Err("evaluation runs the built-in policy".into()),
                };
                let _ = reply.send(r);
            }
            CoordinatorMsg::Checkpoint { config, iteration, curve, before, setup, reply } => {
                let r = match policy {
                    CoordinatorPolicy::Builtin(b) => Ok(Checkpoint::of(b, config, iteration, &curve, before, setup)),
                    CoordinatorPolicy::Other(_) => Err("only the built-in policy has a checkpoint".into()),
                };
                let _ = reply.send(r);
            }
        }
        Ok(())
    }
}

/// A handle on a running coordinator.
#[derive(Clone)]
pub struct Coordinator {
    actor: ActorRef<CoordinatorMsg>,
}

fn gone(e: impl std::fmt::Display) -> String {
    format!("the rollout coordinator is gone: {e}")
}

macro_rules! ask {
    ($self:expr, $variant:ident { $($field:ident: $value:expr),* }) => {{
        match $self.actor.call(|reply| CoordinatorMsg::$variant { $($field: $value,)* reply }, None).await {
            Ok(ractor::rpc::CallResult::Success(r)) => r,
            Ok(other) => Err(gone(format!("{other:?}").chars().take(80).collect::<String>())),
            Err(e) => Err(gone(e)),
        }
    }};
}

impl Coordinator {
    pub async fn start(runtime: Runtime, policy: CoordinatorPolicy) -> Result<Coordinator, String> {
        let (actor, _) = Actor::spawn(None, RolloutCoordinator, (runtime, policy)).await.map_err(|e| e.to_string())?;
        Ok(Coordinator { actor })
    }

    pub async fn rollout(&self, tasks: Arc<Vec<TaskRef>>, config: RolloutConfig) -> Result<RolloutResult, String> {
        ask!(self, Rollout { tasks: tasks, config: config })
    }

    pub async fn train_iteration(
        &self,
        tasks: Arc<Vec<TaskRef>>,
        config: TrainConfig,
        index: usize,
    ) -> Result<CurvePoint, String> {
        ask!(self, Train { tasks: tasks, config: config, index: index })
    }

    pub async fn evaluate(&self, tasks: Arc<Vec<TaskRef>>, max_steps: usize) -> Result<Evaluation, String> {
        ask!(self, Evaluate { tasks: tasks, max_steps: max_steps })
    }

    pub async fn checkpoint(
        &self,
        config: TrainConfig,
        iteration: usize,
        curve: Vec<CurvePoint>,
        before: Option<Evaluation>,
        setup: serde_json::Value,
    ) -> Result<Checkpoint, String> {
        ask!(self, Checkpoint { config: config, iteration: iteration, curve: curve, before: before, setup: setup })
    }

    /// Stops the actor (after the message it is handling).
    pub fn stop(&self) {
        self.actor.stop(None);
    }
}
