//! GRPO training of the built-in policy: roll out groups of train tasks, turn verdicts into group-relative
//! advantages (kernels crate), take a policy-gradient step; evaluate greedily on held-out tasks before and after;
//! checkpoint so a killed run resumes where it stopped.

use std::path::{Path, PathBuf};

use agentworld_actors::Runtime;
use agentworld_generator::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::policy::{BuiltinConfig, BuiltinPolicy, PolicyError, Sample};
use crate::rollout::{EnvCache, RolloutConfig, RolloutResult, TaskRef, rollout};

/// Training settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub iterations: usize,
    /// Tasks per iteration (each rolled out as a group).
    pub tasks_per_iteration: usize,
    pub group_size: usize,
    pub max_steps: usize,
    /// Write a checkpoint every this many iterations (and at the end).
    pub checkpoint_every: usize,
    pub seed: u64,
    pub policy: BuiltinConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            iterations: 60,
            tasks_per_iteration: 64,
            group_size: 8,
            max_steps: 8,
            checkpoint_every: 10,
            seed: 0,
            policy: BuiltinConfig::default(),
        }
    }
}

/// One point of the learning curve.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CurvePoint {
    pub iteration: usize,
    pub mean_reward: f64,
    pub success_rate: f64,
    pub episodes: usize,
    pub env_steps: usize,
    pub episodes_per_s: f64,
    pub steps_per_s: f64,
    pub loss: f64,
    pub resampled: usize,
}

/// Greedy evaluation on a task set.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub tasks: usize,
    pub success_rate: f64,
    pub mean_reward: f64,
}

/// What a checkpoint holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub config: TrainConfig,
    /// Iterations completed.
    pub iteration: usize,
    pub params: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
    pub adam_step: u64,
    pub curve: Vec<CurvePoint>,
    pub before: Option<Evaluation>,
    /// How the caller set up the run (environments, split), so a resume rebuilds the same one.
    #[serde(default)]
    pub setup: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("no train tasks")]
    NoTasks,
}

impl Checkpoint {
    pub fn of(
        policy: &BuiltinPolicy,
        config: TrainConfig,
        iteration: usize,
        curve: &[CurvePoint],
        before: Option<Evaluation>,
        setup: serde_json::Value,
    ) -> Checkpoint {
        Checkpoint {
            config,
            iteration,
            params: policy.params.as_slice().to_vec(),
            adam_m: policy.adam.m().to_vec(),
            adam_v: policy.adam.v().to_vec(),
            adam_step: policy.adam.step(),
            curve: curve.to_vec(),
            before,
            setup,
        }
    }

    /// Writes atomically (a temporary file renamed over the old one), so a kill never leaves half a checkpoint.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let err = |m: String| TrainError::Checkpoint { path: path.to_path_buf(), message: m };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        let f = std::fs::File::open(&tmp).map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    pub fn load(path: &Path) -> Result<Checkpoint, TrainError> {
        let err = |m: String| TrainError::Checkpoint { path: path.to_path_buf(), message: m };
        let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_slice(&text).map_err(|e| err(format!("not a checkpoint: {e}")))
    }
}

/// Greedy success rate and mean reward of `policy` on `tasks` (one episode each).
pub async fn evaluate(
    rt: &Runtime,
    policy: &mut BuiltinPolicy,
    cache: &mut EnvCache,
    tasks: &[TaskRef],
    max_steps: usize,
) -> Result<Evaluation, TrainError> {
    let mut total = Evaluation { tasks: 0, success_rate: 0.0, mean_reward: 0.0 };
    for chunk in tasks.chunks(256) {
        let r = rollout(rt, policy, cache, chunk, RolloutConfig { group_size: 1, max_steps, greedy: true, seed: 0 })
            .await?;
        for g in &r.groups {
            for e in g.iter().filter(|e| !e.infra) {
                total.tasks += 1;
                total.success_rate += f64::from(u8::from(e.success));
                total.mean_reward += e.reward as f64;
            }
        }
    }
    if total.tasks > 0 {
        total.success_rate /= total.tasks as f64;
        total.mean_reward /= total.tasks as f64;
    }
    Ok(total)
}

/// GRPO advantages of a rollout as training samples (infrastructure failures masked out).
pub fn samples(policy: &BuiltinPolicy, result: &RolloutResult) -> Result<Vec<Sample>, TrainError> {
    let adv = result.advantages(&policy.backend).map_err(PolicyError::from)?;
    let mut out = Vec::new();
    for (e, a) in result.groups.iter().flatten().zip(adv) {
        if e.infra || a == 0.0 {
            continue;
        }
        for s in &e.steps {
            out.push(Sample { candidates: s.candidates.clone(), chosen: s.chosen, advantage: a });
        }
    }
    Ok(out)
}

/// Runs one training iteration: sample tasks, roll out groups, update. Returns the curve point.
pub async fn iteration(
    rt: &Runtime,
    policy: &mut BuiltinPolicy,
    cache: &mut EnvCache,
    train: &[TaskRef],
    config: &TrainConfig,
    index: usize,
) -> Result<CurvePoint, TrainError> {
    if train.is_empty() {
        return Err(TrainError::NoTasks);
    }
    let mut rng = Rng::new(Rng::derive(config.seed, index as u64));
    let tasks: Vec<TaskRef> = (0..config.tasks_per_iteration).map(|_| train[rng.below(train.len())].clone()).collect();
    let rcfg = RolloutConfig {
        group_size: config.group_size,
        max_steps: config.max_steps,
        greedy: false,
        seed: Rng::derive(config.seed ^ 0x5A3F, index as u64),
    };
    let result = rollout(rt, policy, cache, &tasks, rcfg).await?;
    let samples = samples(policy, &result)?;
    let loss = policy.update(&samples)?;
    let episodes: Vec<_> = result.groups.iter().flatten().filter(|e| !e.infra).collect();
    let n = episodes.len().max(1) as f64;
    Ok(CurvePoint {
        iteration: index + 1,
        mean_reward: episodes.iter().map(|e| e.reward as f64).sum::<f64>() / n,
        success_rate: episodes.iter().filter(|e| e.success).count() as f64 / n,
        episodes: episodes.len(),
        env_steps: result.env_steps,
        episodes_per_s: episodes.len() as f64 / result.seconds.max(1e-9),
        steps_per_s: result.env_steps as f64 / result.seconds.max(1e-9),
        loss,
        resampled: result.resampled,
    })
}
