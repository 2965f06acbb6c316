//! Optimiser steps over flat `f32` parameter vectors (Adam and plain SGD).
//!
//! Adam, step `t` (1-based), with bias corrections computed once per step on the host in f64 and rounded to f32:
//!
//! ```text
//! m = β1·m + (1-β1)·g        v = β2·v + (1-β2)·g²
//! θ = θ - lr · (m / c1) / (sqrt(v / c2) + eps) - lr·wd·θ        c1 = 1-β1^t, c2 = 1-β2^t
//! ```
//!
//! SGD: `θ = θ - lr · g`.

use crate::error::{Result, check_len, param};

/// Adam hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to `sqrt(v̂)`.
    pub eps: f32,
    /// Decoupled weight decay (AdamW); 0 for plain Adam.
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// Adam state for a parameter vector of fixed length.
///
/// ```
/// use agentworld_kernels::{AdamConfig, AdamState, Backend};
/// let mut params = vec![1.0f32, -1.0];
/// let mut adam = AdamState::new(2, AdamConfig { lr: 0.1, ..AdamConfig::default() }).unwrap();
/// Backend::cpu().adam_step(&mut adam, &mut params, &[1.0, -1.0]).unwrap();
/// // the first Adam step moves every coordinate by about lr against the gradient's sign
/// assert!((params[0] - 0.9).abs() < 1e-4 && (params[1] + 0.9).abs() < 1e-4);
/// assert_eq!(adam.step(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    /// Hyper-parameters (may be changed between steps, e.g. for a schedule).
    pub config: AdamConfig,
    pub(crate) m: Vec<f32>,
    pub(crate) v: Vec<f32>,
    pub(crate) t: u64,
}

impl AdamState {
    /// Zero moments for `len` parameters.
    pub fn new(len: usize, config: AdamConfig) -> Result<Self> {
        validate_adam(&config)?;
        Ok(Self { config, m: vec![0.0; len], v: vec![0.0; len], t: 0 })
    }

    /// Rebuilds a state saved from [`AdamState::m`], [`AdamState::v`] and [`AdamState::step`] (a checkpoint).
    pub fn from_parts(config: AdamConfig, m: Vec<f32>, v: Vec<f32>, step: u64) -> Result<Self> {
        check_len("adam.v", m.len(), v.len())?;
        Ok(Self { config, m, v, t: step })
    }

    /// Number of steps taken.
    pub fn step(&self) -> u64 {
        self.t
    }

    /// First moments.
    pub fn m(&self) -> &[f32] {
        &self.m
    }

    /// Second moments.
    pub fn v(&self) -> &[f32] {
        &self.v
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// Whether the state covers no parameters.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// Bias corrections `(1 - β1^t, 1 - β2^t)` for step `t`.
    pub(crate) fn corrections(&self, t: u64) -> (f32, f32) {
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let c1 = 1.0 - f64::from(self.config.beta1).powi(t);
        let c2 = 1.0 - f64::from(self.config.beta2).powi(t);
        (c1 as f32, c2 as f32)
    }
}

fn validate_adam(c: &AdamConfig) -> Result<()> {
    if !c.lr.is_finite() || !c.weight_decay.is_finite() {
        return Err(param("lr/weight_decay", "must be finite"));
    }
    if !(0.0..1.0).contains(&c.beta1) || !(0.0..1.0).contains(&c.beta2) {
        return Err(param("beta1/beta2", format!("must be in [0, 1), got {}/{}", c.beta1, c.beta2)));
    }
    if !(c.eps.is_finite() && c.eps > 0.0) {
        return Err(param("eps", format!("must be finite and > 0, got {}", c.eps)));
    }
    Ok(())
}

pub(crate) fn validate_adam_args(state: &AdamState, params: &[f32], grad: &[f32]) -> Result<()> {
    validate_adam(&state.config)?;
    check_len("params", state.len(), params.len())?;
    check_len("grad", state.len(), grad.len())
}

pub(crate) fn validate_sgd_args(lr: f32, params: &[f32], grad: &[f32]) -> Result<()> {
    if !lr.is_finite() {
        return Err(param("lr", format!("must be finite, got {lr}")));
    }
    check_len("grad", params.len(), grad.len())
}

/// The per-element Adam update shared by the CPU loop (the CUDA kernel evaluates the same expression).
#[inline(always)]
fn adam_elem(c: &AdamConfig, c1: f32, c2: f32, p: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
    *m = c.beta1 * *m + (1.0 - c.beta1) * g;
    *v = c.beta2 * *v + (1.0 - c.beta2) * (g * g);
    let mhat = *m / c1;
    let vhat = *v / c2;
    *p -= c.lr * mhat / (vhat.sqrt() + c.eps) + c.lr * c.weight_decay * *p;
}

/// CPU Adam step (arguments validated by the caller); increments the step counter.
pub(crate) fn adam_cpu(state: &mut AdamState, params: &mut [f32], grad: &[f32]) {
    state.t += 1;
    let (c1, c2) = state.corrections(state.t);
    let c = state.config;
    for (((p, m), v), &g) in params.iter_mut().zip(state.m.iter_mut()).zip(state.v.iter_mut()).zip(grad) {
        adam_elem(&c, c1, c2, p, m, v, g);
    }
}

/// CPU SGD step (arguments validated by the caller).
pub(crate) fn sgd_cpu(lr: f32, params: &mut [f32], grad: &[f32]) {
    for (p, &g) in params.iter_mut().zip(grad) {
        *p -= lr * g;
    }
}
