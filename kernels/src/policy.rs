//! The built-in policy network: batched inference (score, masked log-softmax, sampling) and its policy-gradient.
//!
//! # Network
//! Each candidate action of a state is described by a feature vector `x ∈ R^D` stored as `f16` (hashed text
//! features of the task, tool and arguments, built by the caller) and widened to `f32`. With `H` hidden units:
//!
//! ```text
//! h_j = ReLU(b1_j + Σ_d x_d · W1[d, j])        j = 0..H   (f32 accumulation)
//! s   = Σ_j w2_j · h_j                          the candidate's score
//! ```
//!
//! The parameters are one flat `f32` vector `[W1 (D·H, row-major by input d: W1[d, j] at d·H + j) | b1 (H) | w2 (H)]`
//! ([`PolicyParams`]); gradients and optimiser state use the same layout.
//!
//! # Decision for one state
//! With the valid candidates `V` (mask true), `τ = 1/T` for a temperature `T > 0` (sampling) and `τ = 1` for
//! `T <= 0` (greedy):
//!
//! ```text
//! z_k = s_k · τ,  m = max_V z,  e_k = exp(z_k - m),  Z = Σ_V e_k   (sums in ascending k)
//! log π_k = z_k - m - ln Z
//! entropy  = max(0, ln Z - Σ_V e_k (z_k - m) / Z)
//! sampling: u = rng::uniform(seed, episode, step); chosen = the first k in V (ascending) with u·Z < Σ_{k' ∈ V, k' <= k} e_k'
//!           (the last valid k if rounding leaves none)
//! greedy:   chosen = the first k in V with the largest score
//! ```
//!
//! A state with no valid candidate gets `chosen = -1`, `logprob = 0`, `entropy = 0` (never NaN). The CUDA kernels
//! evaluate the same expressions in the same order, so both backends sample the same actions except where `u·Z`
//! falls within rounding error of a cumulative sum.
//!
//! # Gradient
//! For chosen actions `a_b` (rows with `a_b = -1` are skipped), advantages `A_b`, entropy coefficient `β` and a
//! scale `c` (e.g. `1/B`), the loss is `L = -c · Σ_b (A_b · log π_{a_b} + β · H_b)`, and
//!
//! ```text
//! ∂L/∂s_k  = -c·τ · (A_b (δ_{k,a_b} - π_k) - β π_k (log π_k + H_b))   =: g_k
//! ∂L/∂w2_j = Σ g_k h_kj,   u_kj = g_k w2_j [h_kj > 0],   ∂L/∂b1_j = Σ u_kj,   ∂L/∂W1[d, j] = Σ x_kd u_kj
//! ```
//!
//! summed over every valid candidate of every row.

// Index loops over fixed-size blocks read more clearly than zipped iterators in these kernels and vectorise the same.
#![allow(clippy::needless_range_loop)]

use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::error::{Result, check_len, param};
use crate::{KernelError, par, rng};

/// Hidden units are processed in blocks of this many (the CPU pads `H` up to a multiple with zero weights).
const HB: usize = 16;
/// Candidates processed together in the CPU micro-kernel.
const CB: usize = 4;

/// Parameters of the policy network (layout in the [module docs](self)).
///
/// ```
/// use agentworld_kernels::PolicyParams;
/// let p = PolicyParams::init(8, 4, 42).unwrap();
/// assert_eq!(p.as_slice().len(), 8 * 4 + 4 + 4);
/// assert_eq!(p.w1().len(), 32);
/// assert!(p.b1().iter().all(|&b| b == 0.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyParams {
    dim: usize,
    hidden: usize,
    data: Vec<f32>,
}

impl PolicyParams {
    /// Number of `f32` parameters for a network with `dim` inputs and `hidden` units.
    pub fn len_for(dim: usize, hidden: usize) -> usize {
        dim * hidden + 2 * hidden
    }

    /// Deterministic initialisation: `W1 ~ U(-1/√D, 1/√D)`, `b1 = 0`, `w2 ~ U(-1/√H, 1/√H)`, drawn with
    /// [`rng::uniform`] keyed by `(seed, tensor, index)`.
    pub fn init(dim: usize, hidden: usize, seed: u64) -> Result<Self> {
        check_dims(dim, hidden)?;
        let a1 = 1.0 / (dim as f32).sqrt();
        let a2 = 1.0 / (hidden as f32).sqrt();
        let mut data = Vec::with_capacity(Self::len_for(dim, hidden));
        data.extend((0..dim * hidden).map(|i| (2.0 * rng::uniform(seed, 1, i as u64) - 1.0) * a1));
        data.extend(std::iter::repeat_n(0.0, hidden));
        data.extend((0..hidden).map(|i| (2.0 * rng::uniform(seed, 2, i as u64) - 1.0) * a2));
        Ok(Self { dim, hidden, data })
    }

    /// Wraps a flat parameter vector (`[W1 | b1 | w2]`).
    pub fn from_flat(dim: usize, hidden: usize, data: Vec<f32>) -> Result<Self> {
        check_dims(dim, hidden)?;
        check_len("params", Self::len_for(dim, hidden), data.len())?;
        Ok(Self { dim, hidden, data })
    }

    /// Input dimension `D`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The flat parameters.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The flat parameters, mutable (for optimiser steps).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes `self`, returning the flat vector.
    pub fn into_flat(self) -> Vec<f32> {
        self.data
    }

    /// `W1`, `D × H`, row `d` holds the weights of input `d`.
    pub fn w1(&self) -> &[f32] {
        &self.data[..self.dim * self.hidden]
    }

    /// `b1`, `H`.
    pub fn b1(&self) -> &[f32] {
        let o = self.dim * self.hidden;
        &self.data[o..o + self.hidden]
    }

    /// `w2`, `H`.
    pub fn w2(&self) -> &[f32] {
        let o = self.dim * self.hidden + self.hidden;
        &self.data[o..o + self.hidden]
    }
}

fn check_dims(dim: usize, hidden: usize) -> Result<()> {
    if dim == 0 || hidden == 0 {
        return Err(param("dim/hidden", format!("must be >= 1, got dim={dim}, hidden={hidden}")));
    }
    dim.checked_mul(hidden)
        .and_then(|n| n.checked_add(2 * hidden))
        .ok_or_else(|| param("dim/hidden", "parameter count overflows"))?;
    Ok(())
}

/// A batch of `batch` states with `candidates` candidate slots each, every slot a `dim`-wide `f16` feature
/// vector, and a validity mask (slot `k` of state `b` is `features[(b·K + k)·D ..][..D]`, `mask[b·K + k]`).
///
/// ```
/// use agentworld_kernels::CandidateBatch;
/// use half::f16;
/// let feats = vec![f16::from_f32(0.5); 2 * 3 * 4];
/// let mask = vec![true, true, false, true, false, false];
/// let batch = CandidateBatch::new(&feats, &mask, 2, 3, 4).unwrap();
/// assert_eq!(batch.batch(), 2);
/// assert!(CandidateBatch::new(&feats, &mask, 2, 3, 5).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CandidateBatch<'a> {
    features: &'a [f16],
    mask: &'a [bool],
    batch: usize,
    candidates: usize,
    dim: usize,
}

impl<'a> CandidateBatch<'a> {
    /// Validates the shapes (`candidates >= 1`, `dim >= 1`).
    pub fn new(features: &'a [f16], mask: &'a [bool], batch: usize, candidates: usize, dim: usize) -> Result<Self> {
        if candidates == 0 || dim == 0 {
            return Err(param("candidates/dim", format!("must be >= 1, got {candidates}/{dim}")));
        }
        let slots = batch.checked_mul(candidates).ok_or_else(|| param("batch", "size overflows"))?;
        let feats = slots.checked_mul(dim).ok_or_else(|| param("batch", "size overflows"))?;
        check_len("features", feats, features.len())?;
        check_len("mask", slots, mask.len())?;
        Ok(Self { features, mask, batch, candidates, dim })
    }

    /// Number of states `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Candidate slots per state `K`.
    pub fn candidates(&self) -> usize {
        self.candidates
    }

    /// Feature dimension `D`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The features, `B × K × D`.
    pub fn features(&self) -> &'a [f16] {
        self.features
    }

    /// The validity mask, `B × K`.
    pub fn mask(&self) -> &'a [bool] {
        self.mask
    }
}

/// Sampling options: temperature (`<= 0` means greedy) and the run's RNG seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleConfig {
    /// Softmax temperature; `T <= 0` picks the arg-max and reports log-prob/entropy at `T = 1`.
    pub temperature: f32,
    /// Seed of the counter-based RNG (the other two key parts are each row's episode id and step).
    pub seed: u64,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self { temperature: 1.0, seed: 0 }
    }
}

/// `τ` (multiplier of the scores) for a temperature, and whether the decision is greedy.
pub(crate) fn inv_temperature(t: f32) -> Result<(f32, bool)> {
    if !t.is_finite() {
        return Err(param("temperature", format!("must be finite, got {t}")));
    }
    if t > 0.0 {
        let tau = 1.0 / t;
        if !tau.is_finite() {
            return Err(param("temperature", format!("too small: {t}")));
        }
        Ok((tau, false))
    } else {
        Ok((1.0, true))
    }
}

/// Per-state outputs of [`crate::Backend::policy_sample`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decisions {
    /// The chosen candidate index, `-1` for a state with no valid candidate.
    pub chosen: Vec<i32>,
    /// `log π(chosen)` at the sampling temperature (0 when none).
    pub logprob: Vec<f32>,
    /// Entropy of `π` (0 when no or one valid candidate).
    pub entropy: Vec<f32>,
}

/// Options of [`crate::Backend::policy_grad`]: `L = -scale · Σ (A · log π + entropy_coef · H)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PgConfig {
    /// The temperature the actions were sampled at (`<= 0`: 1).
    pub temperature: f32,
    /// Entropy bonus coefficient `β`.
    pub entropy_coef: f32,
    /// Multiplier of the loss (e.g. `1 / batch`).
    pub scale: f32,
}

impl Default for PgConfig {
    fn default() -> Self {
        Self { temperature: 1.0, entropy_coef: 0.0, scale: 1.0 }
    }
}

impl PgConfig {
    pub(crate) fn validate(&self) -> Result<f32> {
        if !self.entropy_coef.is_finite() || !self.scale.is_finite() {
            return Err(param("entropy_coef/scale", "must be finite"));
        }
        Ok(inv_temperature(self.temperature)?.0)
    }
}

/// Output of [`crate::Backend::policy_grad`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyGrad {
    /// The loss `L` (accumulated in f64).
    pub loss: f64,
    /// `∂L/∂θ` in the parameter layout.
    pub grad: Vec<f32>,
}

pub(crate) fn validate_params(params: &PolicyParams, batch: &CandidateBatch<'_>) -> Result<()> {
    check_len("params.dim", batch.dim, params.dim)
}

pub(crate) fn validate_sample_args(
    params: &PolicyParams,
    batch: &CandidateBatch<'_>,
    episode: &[u64],
    step: &[u64],
    cfg: &SampleConfig,
) -> Result<(f32, bool)> {
    validate_params(params, batch)?;
    check_len("episode", batch.batch, episode.len())?;
    check_len("step", batch.batch, step.len())?;
    inv_temperature(cfg.temperature)
}

pub(crate) fn validate_grad_args(
    params: &PolicyParams,
    batch: &CandidateBatch<'_>,
    chosen: &[i32],
    advantages: &[f32],
    cfg: &PgConfig,
) -> Result<f32> {
    validate_params(params, batch)?;
    check_len("chosen", batch.batch, chosen.len())?;
    check_len("advantages", batch.batch, advantages.len())?;
    for (b, &c) in chosen.iter().enumerate() {
        if c == -1 {
            continue;
        }
        let ok = usize::try_from(c).is_ok_and(|k| k < batch.candidates && batch.mask[b * batch.candidates + k]);
        if !ok {
            return Err(KernelError::Param {
                name: "chosen",
                reason: format!("row {b}: index {c} is not a valid (unmasked) candidate and not -1"),
            });
        }
    }
    cfg.validate()
}

// ---------------------------------------------------------------------------------------------------------------
// CPU implementation
// ---------------------------------------------------------------------------------------------------------------

/// SIMD level picked at run time for the CPU micro-kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Simd {
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c");
            if avx2 && std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Simd::Avx512;
            }
            if avx2 {
                return Simd::Avx2;
            }
        }
        Simd::Scalar
    }
}

/// Defines `$name(simd, args..)` calling `$generic::<FMA>(args..)` compiled for the detected SIMD level.
macro_rules! multiversion {
    ($name:ident => $generic:ident ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty) => {
        #[allow(clippy::too_many_arguments)]
        fn $name(simd: Simd, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx2,fma,f16c")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $generic::<true>($($arg),*)
                }
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma,f16c")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $generic::<true>($($arg),*)
                }
                match simd {
                    // SAFETY: `Simd::detect` found these features on this CPU.
                    Simd::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    Simd::Avx2 => return unsafe { avx2($($arg),*) },
                    Simd::Scalar => {}
                }
            }
            let _ = simd;
            $generic::<false>($($arg),*)
        }
    };
}

#[inline(always)]
fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Weights repacked for the micro-kernel: `W1` as `[H/HB][D][HB]` blocks, `H` padded to a multiple of `HB` with
/// zero weights (padded units have `h = ReLU(0) = 0` and `w2 = 0`, so they change nothing).
pub(crate) struct Packed {
    simd: Simd,
    d: usize,
    h: usize,
    hp: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
}

impl Packed {
    pub(crate) fn new(p: &PolicyParams) -> Self {
        let (d, h) = (p.dim, p.hidden);
        let hp = h.div_ceil(HB) * HB;
        let mut w1 = vec![0.0f32; hp * d];
        let src = p.w1();
        for jb in 0..hp / HB {
            for dd in 0..d {
                for i in 0..HB {
                    let j = jb * HB + i;
                    if j < h {
                        w1[(jb * d + dd) * HB + i] = src[dd * h + j];
                    }
                }
            }
        }
        let mut b1 = vec![0.0f32; hp];
        b1[..h].copy_from_slice(p.b1());
        let mut w2 = vec![0.0f32; hp];
        w2[..h].copy_from_slice(p.w2());
        Self { simd: Simd::detect(), d, h, hp, w1, b1, w2 }
    }
}

/// Per-thread buffers for one state.
struct Scratch {
    slots: Vec<usize>,
    xs: Vec<f32>,
    hid: Vec<f32>,
    scores: Vec<f32>,
    e: Vec<f32>,
    u: Vec<f32>,
}

impl Scratch {
    fn new(k: usize, d: usize, hp: usize) -> Self {
        Self {
            slots: Vec::with_capacity(k),
            xs: vec![0.0; k * d],
            hid: vec![0.0; k * hp],
            scores: vec![0.0; k],
            e: vec![0.0; k],
            u: vec![0.0; k * hp],
        }
    }
}

/// Forward pass of one state: compacts the valid slots into `sc.slots`, widens their features into `sc.xs`,
/// writes their scores to `sc.scores[..n]` and, with `keep_hidden`, their activations to `sc.hid[..n * hp]`.
#[inline(always)]
fn state_forward<const FMA: bool>(pk: &Packed, feats: &[f16], mask: &[bool], sc: &mut Scratch, keep_hidden: bool) {
    let d = pk.d;
    sc.slots.clear();
    sc.slots.extend(mask.iter().enumerate().filter_map(|(k, &ok)| ok.then_some(k)));
    let n = sc.slots.len();
    for (i, &k) in sc.slots.iter().enumerate() {
        feats[k * d..(k + 1) * d].convert_to_f32_slice(&mut sc.xs[i * d..(i + 1) * d]);
    }
    let mut c0 = 0;
    while c0 < n {
        let rows: [usize; CB] = std::array::from_fn(|c| (c0 + c).min(n - 1));
        let live = (n - c0).min(CB);
        let x0 = &sc.xs[rows[0] * d..(rows[0] + 1) * d];
        let x1 = &sc.xs[rows[1] * d..(rows[1] + 1) * d];
        let x2 = &sc.xs[rows[2] * d..(rows[2] + 1) * d];
        let x3 = &sc.xs[rows[3] * d..(rows[3] + 1) * d];
        let mut score = [0.0f32; CB];
        for jb in 0..pk.hp / HB {
            let bias: [f32; HB] = std::array::from_fn(|i| pk.b1[jb * HB + i]);
            let mut acc = [bias; CB];
            let (w, _) = pk.w1[jb * d * HB..(jb + 1) * d * HB].as_chunks::<HB>();
            fwd_block::<FMA>(pk.simd, w, [x0, x1, x2, x3], &mut acc);
            for (c, a) in acc.iter().enumerate().take(live) {
                for i in 0..HB {
                    let h = a[i].max(0.0);
                    score[c] += pk.w2[jb * HB + i] * h;
                    if keep_hidden {
                        sc.hid[(c0 + c) * pk.hp + jb * HB + i] = h;
                    }
                }
            }
        }
        sc.scores[c0..c0 + live].copy_from_slice(&score[..live]);
        c0 += CB;
    }
}

/// `acc[c] += Σ_d x[c][d] · w[d]` for the `CB` candidates of a block (16 hidden units per `w[d]`), fused
/// multiply-adds in ascending `d` on every path that has FMA (so all of them round identically).
#[inline(always)]
fn fwd_block<const FMA: bool>(simd: Simd, w: &[[f32; HB]], x: [&[f32]; CB], acc: &mut [[f32; HB]; CB]) {
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` found AVX-512F (and AVX2/FMA) on this CPU.
        Simd::Avx512 => return unsafe { x86::fwd_avx512(w, x, acc) },
        // SAFETY: `Simd::detect` found AVX2 and FMA on this CPU.
        Simd::Avx2 => return unsafe { x86::fwd_avx2(w, x, acc) },
        Simd::Scalar => {}
    }
    let _ = simd;
    for ((((wr, &a0), &a1), &a2), &a3) in w.iter().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
        for i in 0..HB {
            acc[0][i] = fmadd::<FMA>(a0, wr[i], acc[0][i]);
            acc[1][i] = fmadd::<FMA>(a1, wr[i], acc[1][i]);
            acc[2][i] = fmadd::<FMA>(a2, wr[i], acc[2][i]);
            acc[3][i] = fmadd::<FMA>(a3, wr[i], acc[3][i]);
        }
    }
}

/// `dw[d] += Σ_c x[c][d] · u[c]` (16 hidden units per `dw[d]`).
#[inline(always)]
fn bwd_block<const FMA: bool>(simd: Simd, dw: &mut [[f32; HB]], x: [&[f32]; CB], u: &[[f32; HB]; CB]) {
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: as in `fwd_block`.
        Simd::Avx512 => return unsafe { x86::bwd_avx512(dw, x, u) },
        // SAFETY: as in `fwd_block`.
        Simd::Avx2 => return unsafe { x86::bwd_avx2(dw, x, u) },
        Simd::Scalar => {}
    }
    let _ = simd;
    for ((((wr, &a0), &a1), &a2), &a3) in dw.iter_mut().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
        for i in 0..HB {
            let mut v = wr[i];
            v = fmadd::<FMA>(a0, u[0][i], v);
            v = fmadd::<FMA>(a1, u[1][i], v);
            v = fmadd::<FMA>(a2, u[2][i], v);
            v = fmadd::<FMA>(a3, u[3][i], v);
            wr[i] = v;
        }
    }
}

/// Explicit AVX-512 / AVX2 micro-kernels (LLVM does not vectorise the portable loops across the 4×16 block).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CB, HB};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub(super) fn fwd_avx512(w: &[[f32; HB]], x: [&[f32]; CB], acc: &mut [[f32; HB]; CB]) {
        // SAFETY: every pointer is to a whole `[f32; 16]` (unaligned loads/stores of 16 lanes).
        unsafe {
            let mut a0 = _mm512_loadu_ps(acc[0].as_ptr());
            let mut a1 = _mm512_loadu_ps(acc[1].as_ptr());
            let mut a2 = _mm512_loadu_ps(acc[2].as_ptr());
            let mut a3 = _mm512_loadu_ps(acc[3].as_ptr());
            for ((((wr, &x0), &x1), &x2), &x3) in w.iter().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
                let wv = _mm512_loadu_ps(wr.as_ptr());
                a0 = _mm512_fmadd_ps(_mm512_set1_ps(x0), wv, a0);
                a1 = _mm512_fmadd_ps(_mm512_set1_ps(x1), wv, a1);
                a2 = _mm512_fmadd_ps(_mm512_set1_ps(x2), wv, a2);
                a3 = _mm512_fmadd_ps(_mm512_set1_ps(x3), wv, a3);
            }
            _mm512_storeu_ps(acc[0].as_mut_ptr(), a0);
            _mm512_storeu_ps(acc[1].as_mut_ptr(), a1);
            _mm512_storeu_ps(acc[2].as_mut_ptr(), a2);
            _mm512_storeu_ps(acc[3].as_mut_ptr(), a3);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn fwd_avx2(w: &[[f32; HB]], x: [&[f32]; CB], acc: &mut [[f32; HB]; CB]) {
        // SAFETY: every pointer is to 8 lanes inside a `[f32; 16]`.
        unsafe {
            let mut lo = [_mm256_setzero_ps(); CB];
            let mut hi = [_mm256_setzero_ps(); CB];
            for c in 0..CB {
                lo[c] = _mm256_loadu_ps(acc[c].as_ptr());
                hi[c] = _mm256_loadu_ps(acc[c].as_ptr().add(8));
            }
            for ((((wr, &x0), &x1), &x2), &x3) in w.iter().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
                let wl = _mm256_loadu_ps(wr.as_ptr());
                let wh = _mm256_loadu_ps(wr.as_ptr().add(8));
                for (c, xv) in [x0, x1, x2, x3].into_iter().enumerate() {
                    let b = _mm256_set1_ps(xv);
                    lo[c] = _mm256_fmadd_ps(b, wl, lo[c]);
                    hi[c] = _mm256_fmadd_ps(b, wh, hi[c]);
                }
            }
            for c in 0..CB {
                _mm256_storeu_ps(acc[c].as_mut_ptr(), lo[c]);
                _mm256_storeu_ps(acc[c].as_mut_ptr().add(8), hi[c]);
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn bwd_avx512(dw: &mut [[f32; HB]], x: [&[f32]; CB], u: &[[f32; HB]; CB]) {
        // SAFETY: every pointer is to a whole `[f32; 16]`.
        unsafe {
            let u0 = _mm512_loadu_ps(u[0].as_ptr());
            let u1 = _mm512_loadu_ps(u[1].as_ptr());
            let u2 = _mm512_loadu_ps(u[2].as_ptr());
            let u3 = _mm512_loadu_ps(u[3].as_ptr());
            for ((((wr, &x0), &x1), &x2), &x3) in dw.iter_mut().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
                let mut v = _mm512_loadu_ps(wr.as_ptr());
                v = _mm512_fmadd_ps(_mm512_set1_ps(x0), u0, v);
                v = _mm512_fmadd_ps(_mm512_set1_ps(x1), u1, v);
                v = _mm512_fmadd_ps(_mm512_set1_ps(x2), u2, v);
                v = _mm512_fmadd_ps(_mm512_set1_ps(x3), u3, v);
                _mm512_storeu_ps(wr.as_mut_ptr(), v);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn bwd_avx2(dw: &mut [[f32; HB]], x: [&[f32]; CB], u: &[[f32; HB]; CB]) {
        // SAFETY: every pointer is to 8 lanes inside a `[f32; 16]`.
        unsafe {
            let mut ul = [_mm256_setzero_ps(); CB];
            let mut uh = [_mm256_setzero_ps(); CB];
            for c in 0..CB {
                ul[c] = _mm256_loadu_ps(u[c].as_ptr());
                uh[c] = _mm256_loadu_ps(u[c].as_ptr().add(8));
            }
            for ((((wr, &x0), &x1), &x2), &x3) in dw.iter_mut().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
                let mut vl = _mm256_loadu_ps(wr.as_ptr());
                let mut vh = _mm256_loadu_ps(wr.as_ptr().add(8));
                for (c, xv) in [x0, x1, x2, x3].into_iter().enumerate() {
                    let b = _mm256_set1_ps(xv);
                    vl = _mm256_fmadd_ps(b, ul[c], vl);
                    vh = _mm256_fmadd_ps(b, uh[c], vh);
                }
                _mm256_storeu_ps(wr.as_mut_ptr(), vl);
                _mm256_storeu_ps(wr.as_mut_ptr().add(8), vh);
            }
        }
    }
}

/// Softmax statistics of one row of (compacted) scores: fills `e[..n]`, returns `(m, Z, ln Z, entropy)`.
#[inline]
fn row_softmax(scores: &[f32], tau: f32, e: &mut [f32]) -> (f32, f32, f32, f32) {
    let mut m = f32::NEG_INFINITY;
    for &s in scores {
        m = m.max(s * tau);
    }
    let mut z = 0.0f32;
    let mut sz = 0.0f32;
    for (ei, &s) in e.iter_mut().zip(scores) {
        let zc = s * tau - m;
        let v = zc.exp();
        *ei = v;
        z += v;
        sz += v * zc;
    }
    let ln_z = z.ln();
    let ent = (ln_z - sz / z).max(0.0);
    (m, z, ln_z, ent)
}

/// One decision from compacted scores; returns `(slot index, logprob, entropy)`, slot `None` when `n == 0`.
#[inline]
fn row_decide(scores: &[f32], e: &mut [f32], tau: f32, greedy: bool, u: f32) -> (Option<usize>, f32, f32) {
    let n = scores.len();
    if n == 0 {
        return (None, 0.0, 0.0);
    }
    let (m, z, ln_z, ent) = row_softmax(scores, tau, &mut e[..n]);
    let pick = if greedy {
        let mut best = 0;
        for (i, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = i;
            }
        }
        best
    } else {
        let target = u * z;
        let mut c = 0.0f32;
        let mut pick = n - 1;
        for (i, &v) in e[..n].iter().enumerate() {
            c += v;
            if target < c {
                pick = i;
                break;
            }
        }
        pick
    };
    let logp = scores[pick] * tau - m - ln_z;
    (Some(pick), logp, ent)
}

struct SampleJob<'a> {
    b0: usize,
    chosen: &'a mut [i32],
    logprob: &'a mut [f32],
    entropy: &'a mut [f32],
}

#[inline(always)]
fn sample_range_generic<const FMA: bool>(
    pk: &Packed,
    batch: &CandidateBatch<'_>,
    episode: &[u64],
    step: &[u64],
    cfg: &SampleConfig,
    tg: (f32, bool),
    job: SampleJob<'_>,
) {
    let (k, d) = (batch.candidates, batch.dim);
    let (tau, greedy) = tg;
    let mut sc = Scratch::new(k, d, pk.hp);
    for (i, ((c, lp), en)) in job.chosen.iter_mut().zip(job.logprob.iter_mut()).zip(job.entropy.iter_mut()).enumerate()
    {
        let b = job.b0 + i;
        state_forward::<FMA>(
            pk,
            &batch.features[b * k * d..(b + 1) * k * d],
            &batch.mask[b * k..(b + 1) * k],
            &mut sc,
            false,
        );
        let n = sc.slots.len();
        let u = rng::uniform(cfg.seed, episode[b], step[b]);
        let (pick, l, h) = row_decide(&sc.scores[..n], &mut sc.e, tau, greedy, u);
        *c = pick.map_or(-1, |p| sc.slots[p] as i32);
        *lp = l;
        *en = h;
    }
}

multiversion!(sample_range => sample_range_generic(
    pk: &Packed,
    batch: &CandidateBatch<'_>,
    episode: &[u64],
    step: &[u64],
    cfg: &SampleConfig,
    tg: (f32, bool),
    job: SampleJob<'_>,
) -> ());

/// Minimum multiply-adds per thread before the CPU splits a policy call.
const MIN_MACS_PER_PART: usize = 1 << 21;

/// CPU sampling (arguments validated by the caller).
pub(crate) fn sample_cpu(
    threads: usize,
    params: &PolicyParams,
    batch: &CandidateBatch<'_>,
    episode: &[u64],
    step: &[u64],
    cfg: &SampleConfig,
    tg: (f32, bool),
) -> Decisions {
    let bsz = batch.batch;
    let mut out = Decisions { chosen: vec![-1; bsz], logprob: vec![0.0; bsz], entropy: vec![0.0; bsz] };
    let pk = Packed::new(params);
    let simd = Simd::detect();
    let work = bsz * batch.candidates * batch.dim * pk.hp;
    let split = par::even_split(bsz, par::parts_for(threads, work, MIN_MACS_PER_PART));
    let jobs: Vec<_> = par::split_at_points(&mut out.chosen, &split)
        .into_iter()
        .zip(par::split_at_points(&mut out.logprob, &split))
        .zip(par::split_at_points(&mut out.entropy, &split))
        .enumerate()
        .map(|(i, ((chosen, logprob), entropy))| SampleJob { b0: split[i], chosen, logprob, entropy })
        .collect();
    par::run_parts(jobs, |job| sample_range(simd, &pk, batch, episode, step, cfg, tg, job));
    out
}

#[inline(always)]
fn scores_range_generic<const FMA: bool>(pk: &Packed, batch: &CandidateBatch<'_>, b0: usize, out: &mut [f32]) {
    let (k, d) = (batch.candidates, batch.dim);
    let mut sc = Scratch::new(k, d, pk.hp);
    for (i, row) in out.chunks_exact_mut(k).enumerate() {
        let b = b0 + i;
        state_forward::<FMA>(
            pk,
            &batch.features[b * k * d..(b + 1) * k * d],
            &batch.mask[b * k..(b + 1) * k],
            &mut sc,
            false,
        );
        row.fill(f32::NEG_INFINITY);
        for (&slot, &s) in sc.slots.iter().zip(&sc.scores) {
            row[slot] = s;
        }
    }
}

multiversion!(scores_range => scores_range_generic(pk: &Packed, batch: &CandidateBatch<'_>, b0: usize, out: &mut [f32]) -> ());

/// CPU scores, `B × K`, masked slots `-inf` (arguments validated by the caller).
pub(crate) fn scores_cpu(threads: usize, params: &PolicyParams, batch: &CandidateBatch<'_>) -> Vec<f32> {
    let (bsz, k) = (batch.batch, batch.candidates);
    let mut out = vec![f32::NEG_INFINITY; bsz * k];
    let pk = Packed::new(params);
    let simd = Simd::detect();
    let work = bsz * k * batch.dim * pk.hp;
    let split = par::even_split(bsz, par::parts_for(threads, work, MIN_MACS_PER_PART));
    let points: Vec<usize> = split.iter().map(|&b| b * k).collect();
    let jobs: Vec<_> =
        par::split_at_points(&mut out, &points).into_iter().enumerate().map(|(i, c)| (split[i], c)).collect();
    par::run_parts(jobs, |(b0, chunk)| scores_range(simd, &pk, batch, b0, chunk));
    out
}

/// Gradient accumulators of one thread, in packed layout.
struct GradAcc {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    loss: f64,
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn grad_range_generic<const FMA: bool>(
    pk: &Packed,
    batch: &CandidateBatch<'_>,
    chosen: &[i32],
    advantages: &[f32],
    cfg: &PgConfig,
    tau: f32,
    b0: usize,
    b1: usize,
) -> GradAcc {
    let (k, d, hp) = (batch.candidates, batch.dim, pk.hp);
    let mut sc = Scratch::new(k, d, hp);
    let mut acc = GradAcc { w1: vec![0.0; hp * d], b1: vec![0.0; hp], w2: vec![0.0; hp], loss: 0.0 };
    let mut g = vec![0.0f32; k];
    for b in b0..b1 {
        let Ok(a_k) = usize::try_from(chosen[b]) else { continue };
        state_forward::<FMA>(
            pk,
            &batch.features[b * k * d..(b + 1) * k * d],
            &batch.mask[b * k..(b + 1) * k],
            &mut sc,
            true,
        );
        let n = sc.slots.len();
        let Some(a_slot) = sc.slots.iter().position(|&s| s == a_k) else { continue };
        let (m, _z, ln_z, ent) = row_softmax(&sc.scores[..n], tau, &mut sc.e[..n]);
        let adv = advantages[b];
        let beta = cfg.entropy_coef;
        let logp_a = sc.scores[a_slot] * tau - m - ln_z;
        acc.loss -= f64::from(cfg.scale) * (f64::from(adv) * f64::from(logp_a) + f64::from(beta) * f64::from(ent));
        let coef = -cfg.scale * tau;
        for i in 0..n {
            let logp = sc.scores[i] * tau - m - ln_z;
            let p = logp.exp();
            let onehot = if i == a_slot { 1.0 } else { 0.0 };
            g[i] = coef * (adv * (onehot - p) - beta * p * (logp + ent));
        }
        // u = g · w2 · [h > 0]; dw2 += g · h; db1 += u
        for i in 0..n {
            let h = &sc.hid[i * hp..(i + 1) * hp];
            let u = &mut sc.u[i * hp..(i + 1) * hp];
            for j in 0..hp {
                let gh = if h[j] > 0.0 { g[i] * pk.w2[j] } else { 0.0 };
                u[j] = gh;
                acc.w2[j] += g[i] * h[j];
                acc.b1[j] += gh;
            }
        }
        // dW1[d, j] += Σ_i x_id u_ij, four candidates at a time
        let mut c0 = 0;
        while c0 < n {
            let live = (n - c0).min(CB);
            let rows: [usize; CB] = std::array::from_fn(|c| (c0 + c).min(n - 1));
            let x0 = &sc.xs[rows[0] * d..(rows[0] + 1) * d];
            let x1 = &sc.xs[rows[1] * d..(rows[1] + 1) * d];
            let x2 = &sc.xs[rows[2] * d..(rows[2] + 1) * d];
            let x3 = &sc.xs[rows[3] * d..(rows[3] + 1) * d];
            for jb in 0..hp / HB {
                let ub: [[f32; HB]; CB] = std::array::from_fn(|c| {
                    std::array::from_fn(|i| if c < live { sc.u[(c0 + c) * hp + jb * HB + i] } else { 0.0 })
                });
                let (w, _) = acc.w1[jb * d * HB..(jb + 1) * d * HB].as_chunks_mut::<HB>();
                bwd_block::<FMA>(pk.simd, w, [x0, x1, x2, x3], &ub);
            }
            c0 += CB;
        }
    }
    acc
}

multiversion!(grad_range => grad_range_generic(
    pk: &Packed,
    batch: &CandidateBatch<'_>,
    chosen: &[i32],
    advantages: &[f32],
    cfg: &PgConfig,
    tau: f32,
    b0: usize,
    b1: usize,
) -> GradAcc);

/// CPU policy gradient (arguments validated by the caller).
pub(crate) fn grad_cpu(
    threads: usize,
    params: &PolicyParams,
    batch: &CandidateBatch<'_>,
    chosen: &[i32],
    advantages: &[f32],
    cfg: &PgConfig,
    tau: f32,
) -> PolicyGrad {
    let pk = Packed::new(params);
    let simd = Simd::detect();
    let work = 2 * batch.batch * batch.candidates * batch.dim * pk.hp;
    let split = par::even_split(batch.batch, par::parts_for(threads, work, MIN_MACS_PER_PART));
    let jobs: Vec<(usize, usize)> = split.windows(2).map(|w| (w[0], w[1])).collect();
    let parts = par::run_parts(jobs, |(b0, b1)| grad_range(simd, &pk, batch, chosen, advantages, cfg, tau, b0, b1));
    let (d, h, hp) = (pk.d, pk.h, pk.hp);
    let mut total = GradAcc { w1: vec![0.0; hp * d], b1: vec![0.0; hp], w2: vec![0.0; hp], loss: 0.0 };
    for p in &parts {
        for (t, v) in total.w1.iter_mut().zip(&p.w1) {
            *t += v;
        }
        for (t, v) in total.b1.iter_mut().zip(&p.b1) {
            *t += v;
        }
        for (t, v) in total.w2.iter_mut().zip(&p.w2) {
            *t += v;
        }
        total.loss += p.loss;
    }
    let mut grad = vec![0.0f32; PolicyParams::len_for(d, h)];
    for dd in 0..d {
        for j in 0..h {
            grad[dd * h + j] = total.w1[((j / HB) * d + dd) * HB + j % HB];
        }
    }
    grad[d * h..d * h + h].copy_from_slice(&total.b1[..h]);
    grad[d * h + h..].copy_from_slice(&total.w2[..h]);
    PolicyGrad { loss: total.loss, grad }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Vec<Simd> {
        let mut v = vec![Simd::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                v.push(Simd::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Simd::Avx512);
            }
        }
        v
    }

    fn vals(n: usize, seed: u64) -> Vec<f32> {
        (0..n).map(|i| rng::uniform(seed, 0, i as u64) * 2.0 - 1.0).collect()
    }

    /// Every SIMD micro-kernel equals the portable FMA loop bit for bit (same fused operations, same order).
    #[test]
    fn simd_micro_kernels_match_portable_code() {
        for d in [1usize, 5, 37, 256] {
            let w: Vec<[f32; HB]> = vals(d * HB, 1).chunks_exact(HB).map(|c| std::array::from_fn(|i| c[i])).collect();
            let xs: Vec<Vec<f32>> = (0..CB as u64).map(|c| vals(d, 10 + c)).collect();
            let x: [&[f32]; CB] = std::array::from_fn(|c| xs[c].as_slice());
            let init: [[f32; HB]; CB] = std::array::from_fn(|c| std::array::from_fn(|i| (c * HB + i) as f32 * 0.01));
            let mut want = init;
            fwd_block::<true>(Simd::Scalar, &w, x, &mut want);
            let mut dw_want = w.clone();
            bwd_block::<true>(Simd::Scalar, &mut dw_want, x, &init);
            for level in levels() {
                let mut got = init;
                fwd_block::<true>(level, &w, x, &mut got);
                assert_eq!(got, want, "{level:?} forward, d={d}");
                let mut dw = w.clone();
                bwd_block::<true>(level, &mut dw, x, &init);
                assert_eq!(dw, dw_want, "{level:?} backward, d={d}");
            }
            // the non-FMA portable path is close to the fused one
            let mut plain = init;
            fwd_block::<false>(Simd::Scalar, &w, x, &mut plain);
            for (a, b) in plain.iter().flatten().zip(want.iter().flatten()) {
                assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    /// Whole forward passes agree across SIMD levels (the dispatch reaches every path).
    #[test]
    fn forward_agrees_across_simd_levels() {
        let (b, k, d, h) = (3usize, 9usize, 20usize, 21usize);
        let feats: Vec<f16> = vals(b * k * d, 3).into_iter().map(f16::from_f32).collect();
        let mask: Vec<bool> = (0..b * k).map(|i| i % 4 != 1).collect();
        let batch = CandidateBatch::new(&feats, &mask, b, k, d).unwrap();
        let params = PolicyParams::init(d, h, 4).unwrap();
        let mut reference: Option<Vec<f32>> = None;
        for level in levels() {
            let mut pk = Packed::new(&params);
            pk.simd = level;
            let mut out = vec![0.0f32; b * k];
            scores_range(level, &pk, &batch, 0, &mut out);
            match &reference {
                None => reference = Some(out),
                Some(r) => {
                    for (a, x) in out.iter().zip(r) {
                        assert!(a == x || (a - x).abs() <= 1e-5 * x.abs().max(1.0), "{level:?}: {a} vs {x}");
                    }
                }
            }
        }
    }
}
