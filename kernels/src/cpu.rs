//! The CPU backend: the reference implementation of every kernel, multi-threaded over `std::thread::scope` and
//! vectorised (AVX2/AVX-512 with FMA and F16C picked at run time on x86-64, portable code elsewhere).

use crate::advantage::{self, BroadcastConfig, GaeConfig, GroupReport, GrpoConfig};
use crate::error::Result;
use crate::optim::{self, AdamState};
use crate::policy::{self, CandidateBatch, Decisions, PgConfig, PolicyGrad, PolicyParams, SampleConfig};

/// CPU kernels. Every method validates its arguments and has the same signature as its CUDA twin
/// (`CudaBackend`, feature `cuda`); [`crate::Backend`] dispatches to one of them.
///
/// ```
/// use agentworld_kernels::CpuBackend;
/// let cpu = CpuBackend::new(2);
/// let mut adv = vec![0.0; 3];
/// cpu.rloo(&[1.0, 0.0, 0.0], &[0, 3], None, &mut adv).unwrap();
/// assert_eq!(adv, vec![1.0, -0.5, -0.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuBackend {
    threads: usize,
}

impl Default for CpuBackend {
    /// One thread per available core.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

impl CpuBackend {
    /// A CPU backend using up to `threads` threads per call (at least 1).
    pub fn new(threads: usize) -> Self {
        Self { threads: threads.max(1) }
    }

    /// Threads used per call.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// GRPO advantages (see [`crate::advantage`]).
    pub fn grpo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        cfg: &GrpoConfig,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        cfg.validate()?;
        advantage::validate_group_args(rewards, offsets, valid, out)?;
        Ok(advantage::grpo_cpu(self.threads, rewards, offsets, valid, cfg, out))
    }

    /// RLOO advantages (see [`crate::advantage`]).
    pub fn rloo(
        &self,
        rewards: &[f32],
        offsets: &[u32],
        valid: Option<&[bool]>,
        out: &mut [f32],
    ) -> Result<GroupReport> {
        advantage::validate_group_args(rewards, offsets, valid, out)?;
        Ok(advantage::rloo_cpu(self.threads, rewards, offsets, valid, out))
    }

    /// GAE advantages and returns (see [`crate::advantage`]).
    #[allow(clippy::too_many_arguments)]
    pub fn gae(
        &self,
        rewards: &[f32],
        values: &[f32],
        offsets: &[u32],
        bootstrap: Option<&[f32]>,
        cfg: &GaeConfig,
        advantages: &mut [f32],
        returns: &mut [f32],
    ) -> Result<()> {
        advantage::validate_gae_args(rewards, values, offsets, bootstrap, cfg, advantages, returns)?;
        advantage::gae_cpu(self.threads, rewards, values, offsets, bootstrap, cfg, advantages, returns);
        Ok(())
    }

    /// Episode advantages broadcast to steps with AWM's format-error rule (see [`crate::advantage`]).
    pub fn broadcast_steps(
        &self,
        episode_adv: &[f32],
        step_offsets: &[u32],
        format_error: &[bool],
        cfg: &BroadcastConfig,
        out: &mut [f32],
    ) -> Result<()> {
        advantage::validate_broadcast_args(episode_adv, step_offsets, format_error, out)?;
        advantage::broadcast_cpu(self.threads, episode_adv, step_offsets, format_error, cfg, out);
        Ok(())
    }

    /// Candidate scores `B × K` (masked slots `-inf`), see [`crate::policy`].
    pub fn policy_scores(&self, params: &PolicyParams, batch: &CandidateBatch<'_>) -> Result<Vec<f32>> {
        policy::validate_params(params, batch)?;
        Ok(policy::scores_cpu(self.threads, params, batch))
    }

    /// One sampled (or greedy) decision per state, see [`crate::policy`].
    pub fn policy_sample(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        episode: &[u64],
        step: &[u64],
        cfg: &SampleConfig,
    ) -> Result<Decisions> {
        let tg = policy::validate_sample_args(params, batch, episode, step, cfg)?;
        Ok(policy::sample_cpu(self.threads, params, batch, episode, step, cfg, tg))
    }

    /// Policy-gradient loss and gradient, see [`crate::policy`].
    pub fn policy_grad(
        &self,
        params: &PolicyParams,
        batch: &CandidateBatch<'_>,
        chosen: &[i32],
        advantages: &[f32],
        cfg: &PgConfig,
    ) -> Result<PolicyGrad> {
        let tau = policy::validate_grad_args(params, batch, chosen, advantages, cfg)?;
        Ok(policy::grad_cpu(self.threads, params, batch, chosen, advantages, cfg, tau))
    }

    /// One Adam step (see [`crate::optim`]).
    pub fn adam_step(&self, state: &mut AdamState, params: &mut [f32], grad: &[f32]) -> Result<()> {
        optim::validate_adam_args(state, params, grad)?;
        optim::adam_cpu(state, params, grad);
        Ok(())
    }

    /// One SGD step `θ -= lr·g`.
    pub fn sgd_step(&self, lr: f32, params: &mut [f32], grad: &[f32]) -> Result<()> {
        optim::validate_sgd_args(lr, params, grad)?;
        optim::sgd_cpu(lr, params, grad);
        Ok(())
    }
}
