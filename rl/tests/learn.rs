//! The built-in policy learns: held-out success after a short GRPO run beats the untrained policy.

use std::sync::Arc;

use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_generator::{builtin_domains, generate_one};
use agentworld_kernels::Backend;
use agentworld_rl::policy::{BuiltinConfig, BuiltinPolicy};
use agentworld_rl::rollout::{EnvCache, TaskRef};
use agentworld_rl::train::{TrainConfig, evaluate, iteration};
use agentworld_runtime::Environment;

fn envs(domains: &[agentworld_generator::Domain], count: usize, seed: u64) -> Vec<Arc<Environment>> {
    (0..count)
        .map(|i| Arc::new(generate_one(&domains[i % domains.len()], seed, i, 0).expect("valid").compile().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_grpo_run_beats_the_untrained_policy_on_held_out_domains() {
    let all = builtin_domains();
    let (held_domains, train_domains) = all.split_at(5);
    let train_envs = envs(train_domains, 40, 1);
    let held_envs = envs(held_domains, 10, 2);
    let train = TaskRef::all(&train_envs);
    let held = TaskRef::all(&held_envs);
    let mut config = RuntimeConfig::default();
    config.runtime.max_episodes = 100_000;
    let rt = Runtime::start(config, train_envs.into_iter().chain(held_envs).collect()).await.unwrap();
    let iters: usize = std::env::var("AW_LEARN_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let cfg = TrainConfig { iterations: iters, ..TrainConfig::default() };
    let mut policy = BuiltinPolicy::new(BuiltinConfig::default(), Backend::cpu()).unwrap();
    let mut cache = EnvCache::default();
    let before = evaluate(&rt, &mut policy, &mut cache, &held, cfg.max_steps).await.unwrap();
    println!("before: {before:?}");
    for i in 0..cfg.iterations {
        let p = iteration(&rt, &mut policy, &mut cache, &train, &cfg, i).await.unwrap();
        println!("{p:?}");
    }
    let after = evaluate(&rt, &mut policy, &mut cache, &held, cfg.max_steps).await.unwrap();
    println!("after: {after:?}");
    assert!(after.success_rate > before.success_rate + 0.1, "{before:?} -> {after:?}");
    rt.shutdown().await.unwrap();
}
