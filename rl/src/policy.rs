//! Policies. [`Policy`] is what the rollout loop drives; [`BuiltinPolicy`] is the small learned policy: candidate
//! actions described by hashed features, scored by the kernels crate's network in one batch over every live
//! episode, sampled (or taken greedily), and trained by policy gradient with GRPO advantages.

use agentworld_kernels::{AdamConfig, AdamState, Backend, CandidateBatch, PgConfig, PolicyParams, SampleConfig, f16};
use serde::{Deserialize, Serialize};

use crate::candidates::{Candidate, MAX_CANDIDATES, candidates};
use crate::features::{Hasher, Sparse};
use crate::state::{Action, EpisodeState};

/// States scored per kernel call.
const DECIDE_CHUNK: usize = 128;

/// One decision: the action, and what training needs to score it again.
#[derive(Debug, Clone)]
pub struct Decision {
    pub action: Action,
    pub kind: &'static str,
    /// Features of every candidate of the state and the chosen index (empty for policies that do not learn).
    pub candidates: Vec<Sparse>,
    pub chosen: usize,
}

/// Something that picks the next action of many episodes at once.
pub trait Policy: Send {
    /// One decision per state. `keys` are `(episode id, step)` pairs, which seed sampling reproducibly.
    fn decide(
        &mut self,
        states: &[&EpisodeState],
        keys: &[(u64, u64)],
        greedy: bool,
    ) -> Result<Vec<Decision>, PolicyError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("kernel: {0}")]
    Kernel(#[from] agentworld_kernels::KernelError),
    #[error("{0}")]
    Other(String),
}

/// Settings of the built-in policy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct BuiltinConfig {
    /// Hashed feature dimensions.
    pub dim: usize,
    pub hidden: usize,
    pub temperature: f32,
    pub lr: f32,
    pub entropy_coef: f32,
    pub seed: u64,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        BuiltinConfig { dim: 1024, hidden: 16, temperature: 1.0, lr: 0.01, entropy_coef: 0.01, seed: 7 }
    }
}

/// The learned policy.
pub struct BuiltinPolicy {
    pub config: BuiltinConfig,
    pub backend: Backend,
    pub params: PolicyParams,
    pub adam: AdamState,
    hasher: Hasher,
    /// Dense features and mask, reused between batches (a fresh 16 MB buffer per batch cost more than scoring).
    scratch: Vec<f16>,
    mask: Vec<bool>,
}

/// A training sample: one decision with its advantage.
#[derive(Debug, Clone)]
pub struct Sample {
    pub candidates: Vec<Sparse>,
    pub chosen: usize,
    pub advantage: f32,
}

impl BuiltinPolicy {
    pub fn new(config: BuiltinConfig, backend: Backend) -> Result<BuiltinPolicy, PolicyError> {
        let params = PolicyParams::init(config.dim, config.hidden, config.seed)?;
        let adam = AdamState::new(params.as_slice().len(), Self::adam_config(&config))?;
        Ok(Self::assemble(config, backend, params, adam))
    }

    /// Rebuilds a policy from a checkpoint's parts.
    pub fn from_parts(
        config: BuiltinConfig,
        backend: Backend,
        params: Vec<f32>,
        adam: (Vec<f32>, Vec<f32>, u64),
    ) -> Result<BuiltinPolicy, PolicyError> {
        let params = PolicyParams::from_flat(config.dim, config.hidden, params)?;
        let adam = AdamState::from_parts(Self::adam_config(&config), adam.0, adam.1, adam.2)?;
        Ok(Self::assemble(config, backend, params, adam))
    }

    fn adam_config(config: &BuiltinConfig) -> AdamConfig {
        AdamConfig { lr: config.lr, ..AdamConfig::default() }
    }

    fn assemble(config: BuiltinConfig, backend: Backend, params: PolicyParams, adam: AdamState) -> BuiltinPolicy {
        let hasher = Hasher { dim: config.dim };
        BuiltinPolicy { config, backend, params, adam, hasher, scratch: Vec::new(), mask: Vec::new() }
    }

    pub fn hasher(&self) -> Hasher {
        self.hasher
    }

    /// Writes the dense `B × K × D` features and mask of candidate lists into the reused scratch buffers and
    /// returns their lengths. Padding rows keep stale (finite) values: the mask keeps them out.
    fn fill(&mut self, lists: &[Vec<&Sparse>], k: usize) -> (usize, usize) {
        let d = self.config.dim;
        let (nf, nm) = (lists.len() * k * d, lists.len() * k);
        if self.scratch.len() < nf {
            self.scratch.resize(nf, f16::ZERO);
        }
        if self.mask.len() < nm {
            self.mask.resize(nm, false);
        }
        for (b, list) in lists.iter().enumerate() {
            let n = list.len().min(k);
            self.hasher.densify(&list[..n], &mut self.scratch[b * k * d..(b * k + n) * d]);
            self.mask[b * k..b * k + n].fill(true);
            self.mask[b * k + n..(b + 1) * k].fill(false);
        }
        (nf, nm)
    }

    /// One gradient step on the samples (policy gradient with entropy bonus, Adam). Returns the loss.
    pub fn update(&mut self, samples: &[Sample]) -> Result<f64, PolicyError> {
        if samples.is_empty() {
            return Ok(0.0);
        }
        let scale = 1.0 / samples.len() as f32;
        let cfg = PgConfig { temperature: self.config.temperature, entropy_coef: self.config.entropy_coef, scale };
        let mut grad = vec![0.0f32; self.params.as_slice().len()];
        let mut loss = 0.0;
        // Chunks keep the dense batch small.
        for chunk in samples.chunks(DECIDE_CHUNK) {
            let k = chunk.iter().map(|s| s.candidates.len()).max().unwrap_or(1).clamp(1, MAX_CANDIDATES);
            let lists: Vec<Vec<&Sparse>> = chunk.iter().map(|s| s.candidates.iter().collect()).collect();
            let (nf, nm) = self.fill(&lists, k);
            let batch = CandidateBatch::new(&self.scratch[..nf], &self.mask[..nm], chunk.len(), k, self.config.dim)?;
            let chosen: Vec<i32> = chunk.iter().map(|s| s.chosen as i32).collect();
            let adv: Vec<f32> = chunk.iter().map(|s| s.advantage).collect();
            let g = self.backend.policy_grad(&self.params, &batch, &chosen, &adv, &cfg)?;
            loss += g.loss;
            for (a, b) in grad.iter_mut().zip(&g.grad) {
                *a += b;
            }
        }
        self.backend.adam_step(&mut self.adam, self.params.as_mut_slice(), &grad)?;
        Ok(loss)
    }
}

impl Policy for BuiltinPolicy {
    fn decide(
        &mut self,
        states: &[&EpisodeState],
        keys: &[(u64, u64)],
        greedy: bool,
    ) -> Result<Vec<Decision>, PolicyError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let cands: Vec<Vec<Candidate>> = states.iter().map(|s| candidates(s, self.hasher)).collect();
        let temperature = if greedy { 0.0 } else { self.config.temperature };
        let cfg = SampleConfig { temperature, seed: self.config.seed };
        // Scored in chunks, so the dense batch stays a few megabytes whatever the number of live episodes.
        let mut chosen_all = Vec::with_capacity(states.len());
        for (part, kpart) in cands.chunks(DECIDE_CHUNK).zip(keys.chunks(DECIDE_CHUNK)) {
            let k = part.iter().map(Vec::len).max().unwrap_or(1).clamp(1, MAX_CANDIDATES);
            let lists: Vec<Vec<&Sparse>> = part.iter().map(|c| c.iter().map(|c| &c.features).collect()).collect();
            let (nf, nm) = self.fill(&lists, k);
            let batch = CandidateBatch::new(&self.scratch[..nf], &self.mask[..nm], part.len(), k, self.config.dim)?;
            let episode: Vec<u64> = kpart.iter().map(|k| k.0).collect();
            let step: Vec<u64> = kpart.iter().map(|k| k.1).collect();
            chosen_all.extend(self.backend.policy_sample(&self.params, &batch, &episode, &step, &cfg)?.chosen);
        }
        let mut decisions = Vec::with_capacity(states.len());
        for (list, chosen) in cands.into_iter().zip(chosen_all) {
            // Every state has at least the "Done." answer, so a choice always exists.
            let i = usize::try_from(chosen).unwrap_or(0).min(list.len().saturating_sub(1));
            let action = list[i].action.clone();
            let kind = list[i].kind;
            decisions.push(Decision {
                action,
                kind,
                candidates: list.into_iter().map(|c| c.features).collect(),
                chosen: i,
            });
        }
        Ok(decisions)
    }
}
