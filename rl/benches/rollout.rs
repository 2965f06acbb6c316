//! Rollout throughput of the built-in policy over the actor runtime: environment steps (tool calls + answers) per
//! second while rolling out GRPO groups, with candidates built, scored and sampled in one batch per round.
//!
//! `cargo bench --workspace --bench rollout`; knobs: `AW_RL_ENVS` (100 procedural environments), `AW_RL_TASKS`
//! (256 tasks per rollout), `AW_RL_GROUP` (8), `AW_RL_ROUNDS` (5 measured rollouts after 1 warm-up),
//! `AW_RL_TRAIN` (10 training iterations first, so the policy takes sensible multi-step paths), `AW_RL_JOURNAL`
//! (0; 1 records every step in a DuckDB journal under the temp dir).

use std::sync::Arc;

use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_generator::{builtin_domains, generate_one};
use agentworld_kernels::Backend;
use agentworld_rl::policy::{BuiltinConfig, BuiltinPolicy};
use agentworld_rl::rollout::{EnvCache, RolloutConfig, TaskRef, rollout};
use agentworld_rl::train::{TrainConfig, iteration};
use agentworld_runtime::Environment;

/// The allocator the `agentworld` binary uses, so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let domains = builtin_domains();
    let n = knob("AW_RL_ENVS", 100);
    let envs: Vec<Arc<Environment>> = (0..n)
        .map(|i| {
            Arc::new(generate_one(&domains[i % domains.len()], 1, i, 0).expect("valid").compile().expect("compiles"))
        })
        .collect();
    let tasks = TaskRef::all(&envs);
    let tmp = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    rt.block_on(async {
        let mut config = RuntimeConfig::default();
        config.runtime.max_episodes = 100_000;
        if knob("AW_RL_JOURNAL", 0) == 1 {
            config.journal.path = Some(tmp.path().join("bench.duckdb"));
        }
        let runtime = Runtime::start(config, envs).await.expect("runtime");
        let mut policy = BuiltinPolicy::new(BuiltinConfig::default(), Backend::cpu()).expect("policy");
        let mut cache = EnvCache::default();
        let train = TrainConfig::default();
        for i in 0..knob("AW_RL_TRAIN", 10) {
            let p = iteration(&runtime, &mut policy, &mut cache, &tasks, &train, i).await.expect("iteration");
            println!("train {}: success {:.3}, {:.0} steps/s", p.iteration, p.success_rate, p.steps_per_s);
        }
        let per = knob("AW_RL_TASKS", 256);
        let cfg = RolloutConfig { group_size: knob("AW_RL_GROUP", 8), max_steps: 8, greedy: false, seed: 1 };
        let mut rates = Vec::new();
        for round in 0..=knob("AW_RL_ROUNDS", 5) {
            let batch: Vec<TaskRef> = (0..per).map(|i| tasks[(round * per + i * 7) % tasks.len()].clone()).collect();
            let r = rollout(&runtime, &mut policy, &mut cache, &batch, cfg).await.expect("rollout");
            let episodes: usize = r.groups.iter().map(Vec::len).sum();
            let rate = r.env_steps as f64 / r.seconds;
            println!(
                "rollout {round}{}: {} episodes, {} env steps in {:.2} s = {:.0} steps/s ({:.0} episodes/s); policy {:.2} s, calls {:.2} s, verdicts {:.2} s",
                if round == 0 { " (warm-up)" } else { "" },
                episodes,
                r.env_steps,
                r.seconds,
                rate,
                episodes as f64 / r.seconds,
                r.policy_seconds,
                r.call_seconds,
                r.finish_seconds
            );
            if round > 0 {
                rates.push(rate);
            }
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "environment steps/s: median {:.0}, min {:.0}, max {:.0} over {} rollouts of {} groups x {}",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            rates.len(),
            per,
            cfg.group_size
        );
        runtime.shutdown().await.expect("shutdown");
    });
}
