//! The rollout coordinator is an actor: a policy that panics fails the coordinator, and its caller gets an error
//! (the process and the runtime live on).

use std::sync::Arc;

use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_generator::{builtin_domains, generate_one};
use agentworld_rl::coordinator::{Coordinator, CoordinatorPolicy};
use agentworld_rl::policy::{Decision, Policy, PolicyError};
use agentworld_rl::rollout::{RolloutConfig, TaskRef};
use agentworld_rl::state::EpisodeState;

struct Panicking;

impl Policy for Panicking {
    fn decide(&mut self, _: &[&EpisodeState], _: &[(u64, u64)], _: bool) -> Result<Vec<Decision>, PolicyError> {
        panic!("policy bug");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_policy_fails_the_coordinator_not_the_process() {
    let env = Arc::new(generate_one(&builtin_domains()[0], 9, 0, 0).unwrap().compile().unwrap());
    let task = TaskRef { env: env.name().into(), task: env.tasks()[0].id().into() };
    let rt = Runtime::start(RuntimeConfig::default(), vec![env]).await.unwrap();
    let c = Coordinator::start(rt.clone(), CoordinatorPolicy::Other(Box::new(Panicking))).await.unwrap();
    let cfg = RolloutConfig { group_size: 2, max_steps: 4, greedy: false, seed: 0 };
    let err = c.rollout(Arc::new(vec![task.clone()]), cfg).await.unwrap_err();
    assert!(err.contains("coordinator is gone"), "{err}");
    // The runtime is still serving.
    let again = rt.open_group(&task.env, &task.task, 2).await.unwrap();
    assert_eq!(again.len(), 2);
    rt.shutdown().await.unwrap();
}
