//! Advantage estimators over flat reward arrays (CPU reference implementations and shared validation).
//!
//! # Layout
//! Rewards of a batch of episodes lie in one flat `&[f32]`; groups (the `n` rollouts of one task for GRPO/RLOO) or
//! episodes (the steps of one rollout for GAE and broadcasting) are given as CSR offsets: `offsets.len()` is the
//! number of groups plus one, `offsets[0] == 0`, offsets never decrease and the last one equals the data length;
//! group `g` is `offsets[g]..offsets[g + 1]`. Empty groups are allowed.
//!
//! # Maths (shared by every backend)
//! For a group with valid members `V` (all members when no mask is given), `n = |V|`:
//! - **GRPO**: `mean = Σ_V r / n`; with `scale_by_std`, `std = sqrt(Σ_V (r - mean)² / (n - 1))` (or `/ n` with
//!   `unbiased_std = false`) and `A_i = (r_i - mean) / (std + eps)`; without it (the "no std" variant, Dr. GRPO)
//!   `A_i = r_i - mean`.
//! - **RLOO**: `A_i = r_i - (Σ_V r - r_i) / (n - 1)` (leave-one-out baseline).
//! - A group whose valid rewards are all equal gives every member `A = 0` exactly (no learning signal; this
//!   also holds with `eps = 0`).
//! - A member outside `V` (an episode that ended in an infrastructure failure) gets `A = 0` and takes no part in
//!   its group's statistics; a group with `n < 2` gives every member `A = 0` and is listed in
//!   [`GroupReport::underfilled`] (the caller resamples it rather than scoring it).
//! - **GAE** per episode with steps `t = 0..T`: `δ_t = r_t + γ·V_{t+1} - V_t` with `V_T` the episode's bootstrap
//!   value (0 for a terminal episode), `A_t = δ_t + γ·λ·A_{t+1}` (`A_T = 0`), `R_t = A_t + V_t`.
//! - **Broadcast** (AWM's rule): every step of episode `e` gets `A_e`, except a step flagged as a format error,
//!   which gets its own reward `format_error_value` (-1 by default) instead.
//!
//! All statistics are computed in `f32`, sequentially in member order on the CPU.

use crate::KernelError;
use crate::error::{Result, check_len, param};
use crate::par;

/// GRPO options. The default normalises by the unbiased group std with `eps = 1e-6`.
///
/// ```
/// use agentworld_kernels::{Backend, GrpoConfig};
/// let mut adv = vec![0.0; 4];
/// Backend::cpu().grpo(&[1.0, 0.0, 1.0, 0.0], &[0, 4], None, &GrpoConfig::no_std(), &mut adv).unwrap();
/// assert_eq!(adv, vec![0.5, -0.5, 0.5, -0.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrpoConfig {
    /// Divide by `std + eps` (GRPO); `false` gives the "no std" variant `r - mean`.
    pub scale_by_std: bool,
    /// Use the sample std (`/ (n - 1)`, like `torch.std`) rather than the population std (`/ n`).
    pub unbiased_std: bool,
    /// Added to the std before dividing.
    pub eps: f32,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        Self { scale_by_std: true, unbiased_std: true, eps: 1e-6 }
    }
}

impl GrpoConfig {
    /// The "no std" variant: `A = r - group mean`.
    pub fn no_std() -> Self {
        Self { scale_by_std: false, ..Self::default() }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(param("eps", format!("must be finite and >= 0, got {}", self.eps)));
        }
        Ok(())
    }
}

/// GAE options (`gamma` discount, `lambda` trace decay), both in `[0, 1]`.
///
/// ```
/// use agentworld_kernels::{Backend, GaeConfig};
/// let (mut adv, mut ret) = (vec![0.0; 2], vec![0.0; 2]);
/// let cfg = GaeConfig { gamma: 1.0, lambda: 1.0 };
/// Backend::cpu().gae(&[0.0, 1.0], &[0.0, 0.0], &[0, 2], None, &cfg, &mut adv, &mut ret).unwrap();
/// assert_eq!(adv, vec![1.0, 1.0]); // Monte-Carlo returns with zero values
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaeConfig {
    /// Discount factor.
    pub gamma: f32,
    /// GAE trace decay.
    pub lambda: f32,
}

impl Default for GaeConfig {
    fn default() -> Self {
        Self { gamma: 0.99, lambda: 0.95 }
    }
}

impl GaeConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (name, v) in [("gamma", self.gamma), ("lambda", self.lambda)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(param(name, format!("must be in [0, 1], got {v}")));
            }
        }
        Ok(())
    }
}

/// Options of [`crate::Backend::broadcast_steps`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BroadcastConfig {
    /// The value a format-error step gets instead of its episode's advantage (AWM: -1).
    pub format_error_value: f32,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        Self { format_error_value: -1.0 }
    }
}

/// What a group estimator reports besides the advantages.
///
/// ```
/// use agentworld_kernels::{Backend, GrpoConfig};
/// let mut adv = vec![0.0; 4];
/// // group 0 has one valid member left after masking an infrastructure failure
/// let valid = [true, false, true, true];
/// let report = Backend::cpu().grpo(&[1.0, 5.0, 0.0, 1.0], &[0, 2, 4], Some(&valid[..]), &GrpoConfig::no_std(), &mut adv).unwrap();
/// assert_eq!(report.underfilled, vec![0]);
/// assert_eq!(report.masked, 1);
/// assert_eq!(adv, vec![0.0, 0.0, -0.5, 0.5]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupReport {
    /// Indices of the groups left with fewer than 2 valid members (their advantages are all 0).
    pub underfilled: Vec<u32>,
    /// Number of members excluded by the mask.
    pub masked: usize,
}

/// Checks a CSR offsets array against a data length.
pub(crate) fn validate_offsets(what: &'static str, offsets: &[u32], len: usize) -> Result<()> {
    if u32::try_from(len).is_err() {
        return Err(KernelError::Offsets(format!("{what}: data length {len} does not fit in u32")));
    }
    let Some((&first, _)) = offsets.split_first() else {
        return Err(KernelError::Offsets(format!("{what}: empty (needs at least [0])")));
    };
    if first != 0 {
        return Err(KernelError::Offsets(format!("{what}: first offset is {first}, not 0")));
    }
    if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
        return Err(KernelError::Offsets(format!("{what}: offsets decrease at index {}", i + 1)));
    }
    let last = offsets[offsets.len() - 1] as usize;
    if last != len {
        return Err(KernelError::Offsets(format!("{what}: last offset is {last}, data length is {len}")));
    }
    Ok(())
}

/// Validates the common arguments of GRPO/RLOO.
pub(crate) fn validate_group_args(rewards: &[f32], offsets: &[u32], valid: Option<&[bool]>, out: &[f32]) -> Result<()> {
    validate_offsets("offsets", offsets, rewards.len())?;
    if let Some(v) = valid {
        check_len("valid", rewards.len(), v.len())?;
    }
    check_len("out", rewards.len(), out.len())
}

pub(crate) fn validate_gae_args(
    rewards: &[f32],
    values: &[f32],
    offsets: &[u32],
    bootstrap: Option<&[f32]>,
    cfg: &GaeConfig,
    adv: &[f32],
    ret: &[f32],
) -> Result<()> {
    cfg.validate()?;
    validate_offsets("offsets", offsets, rewards.len())?;
    check_len("values", rewards.len(), values.len())?;
    if let Some(b) = bootstrap {
        check_len("bootstrap", offsets.len() - 1, b.len())?;
    }
    check_len("advantages", rewards.len(), adv.len())?;
    check_len("returns", rewards.len(), ret.len())
}

pub(crate) fn validate_broadcast_args(
    episode_adv: &[f32],
    step_offsets: &[u32],
    format_error: &[bool],
    out: &[f32],
) -> Result<()> {
    validate_offsets("step_offsets", step_offsets, format_error.len())?;
    check_len("episode_adv", step_offsets.len() - 1, episode_adv.len())?;
    check_len("out", format_error.len(), out.len())
}

/// Minimum elements per thread before the CPU splits an advantage call across threads.
const MIN_PER_PART: usize = 1 << 16;

#[derive(Clone, Copy)]
enum GroupOp {
    Grpo(GrpoConfig),
    Rloo,
}

/// Advantages of one group (members outside `valid` get 0). Returns whether the group is underfilled.
#[inline(always)]
fn group_apply(op: GroupOp, r: &[f32], valid: Option<&[bool]>, out: &mut [f32]) -> bool {
    let ok = |i: usize| valid.is_none_or(|v| v[i]);
    let mut sum = 0.0f32;
    let mut n = 0usize;
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for (i, &x) in r.iter().enumerate() {
        if ok(i) {
            sum += x;
            n += 1;
            lo = lo.min(x);
            hi = hi.max(x);
        }
    }
    if n < 2 {
        out.fill(0.0);
        return true;
    }
    if lo == hi {
        // all valid rewards equal: no learning signal (exactly 0, whatever rounding the mean has)
        out.fill(0.0);
        return false;
    }
    match op {
        GroupOp::Grpo(cfg) => {
            let mean = sum / n as f32;
            let scale = if cfg.scale_by_std {
                let mut ss = 0.0f32;
                for (i, &x) in r.iter().enumerate() {
                    if ok(i) {
                        ss += (x - mean) * (x - mean);
                    }
                }
                let denom = if cfg.unbiased_std { (n - 1) as f32 } else { n as f32 };
                1.0 / ((ss / denom).sqrt() + cfg.eps)
            } else {
                1.0
            };
            for (i, (o, &x)) in out.iter_mut().zip(r).enumerate() {
                *o = if ok(i) { (x - mean) * scale } else { 0.0 };
            }
        }
        GroupOp::Rloo => {
            let inv = 1.0 / (n - 1) as f32;
            for (i, (o, &x)) in out.iter_mut().zip(r).enumerate() {
                *o = if ok(i) { x - (sum - x) * inv } else { 0.0 };
            }
        }
    }
    false
}

fn group_op_cpu(
    threads: usize,
    op: GroupOp,
    rewards: &[f32],
    offsets: &[u32],
    valid: Option<&[bool]>,
    out: &mut [f32],
) -> GroupReport {
    let parts = par::parts_for(threads, rewards.len(), MIN_PER_PART);
    let gsplit = par::group_split(offsets, parts);
    let esplit: Vec<usize> = gsplit.iter().map(|&g| offsets[g] as usize).collect();
    let chunks = par::split_at_points(out, &esplit);
    let jobs: Vec<_> = chunks.into_iter().enumerate().map(|(i, c)| (gsplit[i], gsplit[i + 1], c)).collect();
    let reports = par::run_parts(jobs, |(g0, g1, chunk)| {
        let base = offsets[g0] as usize;
        let mut under = Vec::new();
        for g in g0..g1 {
            let (s, e) = (offsets[g] as usize, offsets[g + 1] as usize);
            let o = &mut chunk[s - base..e - base];
            let short = match valid {
                None => group_apply(op, &rewards[s..e], None, o),
                Some(v) => group_apply(op, &rewards[s..e], Some(&v[s..e]), o),
            };
            if short {
                under.push(g as u32);
            }
        }
        under
    });
    GroupReport {
        underfilled: reports.into_iter().flatten().collect(),
        masked: valid.map_or(0, |v| v.iter().filter(|&&ok| !ok).count()),
    }
}

/// CPU GRPO (arguments validated by the caller).
pub(crate) fn grpo_cpu(
    threads: usize,
    rewards: &[f32],
    offsets: &[u32],
    valid: Option<&[bool]>,
    cfg: &GrpoConfig,
    out: &mut [f32],
) -> GroupReport {
    group_op_cpu(threads, GroupOp::Grpo(*cfg), rewards, offsets, valid, out)
}

/// CPU RLOO (arguments validated by the caller).
pub(crate) fn rloo_cpu(
    threads: usize,
    rewards: &[f32],
    offsets: &[u32],
    valid: Option<&[bool]>,
    out: &mut [f32],
) -> GroupReport {
    group_op_cpu(threads, GroupOp::Rloo, rewards, offsets, valid, out)
}

/// CPU GAE (arguments validated by the caller).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gae_cpu(
    threads: usize,
    rewards: &[f32],
    values: &[f32],
    offsets: &[u32],
    bootstrap: Option<&[f32]>,
    cfg: &GaeConfig,
    adv: &mut [f32],
    ret: &mut [f32],
) {
    let parts = par::parts_for(threads, rewards.len(), MIN_PER_PART);
    let gsplit = par::group_split(offsets, parts);
    let esplit: Vec<usize> = gsplit.iter().map(|&g| offsets[g] as usize).collect();
    let jobs: Vec<_> = par::split_at_points(adv, &esplit)
        .into_iter()
        .zip(par::split_at_points(ret, &esplit))
        .enumerate()
        .map(|(i, (a, r))| (gsplit[i], gsplit[i + 1], a, r))
        .collect();
    let gl = cfg.gamma * cfg.lambda;
    par::run_parts(jobs, |(g0, g1, a_chunk, r_chunk)| {
        let base = offsets[g0] as usize;
        for e in g0..g1 {
            let (s, end) = (offsets[e] as usize, offsets[e + 1] as usize);
            let mut v_next = bootstrap.map_or(0.0, |b| b[e]);
            let mut a_next = 0.0f32;
            for t in (s..end).rev() {
                let delta = rewards[t] + cfg.gamma * v_next - values[t];
                let a = delta + gl * a_next;
                a_chunk[t - base] = a;
                r_chunk[t - base] = a + values[t];
                v_next = values[t];
                a_next = a;
            }
        }
    });
}

/// CPU broadcast of episode advantages to steps (arguments validated by the caller).
pub(crate) fn broadcast_cpu(
    threads: usize,
    episode_adv: &[f32],
    step_offsets: &[u32],
    format_error: &[bool],
    cfg: &BroadcastConfig,
    out: &mut [f32],
) {
    let parts = par::parts_for(threads, out.len(), MIN_PER_PART);
    let gsplit = par::group_split(step_offsets, parts);
    let esplit: Vec<usize> = gsplit.iter().map(|&g| step_offsets[g] as usize).collect();
    let jobs: Vec<_> = par::split_at_points(out, &esplit)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (gsplit[i], gsplit[i + 1], c))
        .collect();
    par::run_parts(jobs, |(g0, g1, chunk)| {
        let base = step_offsets[g0] as usize;
        for e in g0..g1 {
            let (s, end) = (step_offsets[e] as usize, step_offsets[e + 1] as usize);
            let a = episode_adv[e];
            for (o, &fe) in chunk[s - base..end - base].iter_mut().zip(&format_error[s..end]) {
                *o = if fe { cfg.format_error_value } else { a };
            }
        }
    });
}
