//! # agentworld-kernels
//!
//! The numeric core of agentworld's RL loop, written once as a clear, fast CPU reference and once as hand-written
//! CUDA kernels (feature `cuda`) with the same signatures and the same maths:
//!
//! - **Advantages** ([`advantage`]): GRPO (with or without std normalisation), RLOO and GAE over flat reward arrays
//!   with CSR group/episode offsets; a validity mask keeps episodes that ended in an infrastructure failure out of
//!   group statistics and reports the groups left with fewer than 2 valid members (to be resampled, never scored as
//!   0); broadcasting an episode advantage to its steps with AWM's format-error rule.
//! - **Built-in policy** ([`policy`]): a small network scoring up to `K` candidate actions per state from `f16`
//!   feature vectors, masked log-softmax, reproducible sampling with a counter-based RNG ([`rng`]) keyed by
//!   `(seed, episode, step)`, the policy-gradient of `Σ A·log π (+ β·H)` and optimiser steps ([`optim`]).
//!
//! The runtime's trainer builds flat arrays from finished episodes and calls a [`Backend`]. The CPU backend is the
//! default and the reference. The CUDA backend must match it: advantages to 1e-5 relative, scores to 1e-4 of the
//! largest score, gradients to 1e-3 of the largest component. The crate's tests check this, and it holds on an
//! H200 for both CUDA policy paths: tensor cores on sm_80+, FP32 SIMT elsewhere (see `src/cuda/mod.rs`).
//!
//! ## Devices
//! [`Backend::new`] takes a [`Device`]: `Cpu` always works; `Cuda(n)` needs the `cuda` feature, an NVIDIA driver and
//! the NVRTC library at run time (both loaded dynamically, so building needs no CUDA toolkit) and returns a typed
//! [`KernelError`] otherwise; `Auto` falls back to the CPU with one line on stderr. CUDA sources live in
//! `src/cuda/*.cu`, one file per kernel family, compiled with NVRTC once per process.
//!
//! ```
//! use agentworld_kernels::{Backend, CandidateBatch, Device, GrpoConfig, PgConfig, PolicyParams, SampleConfig};
//! use half::f16;
//!
//! let backend = Backend::new(Device::Cpu).unwrap();
//! // two states with three candidate actions each, 4 features per candidate
//! let feats: Vec<f16> = (0..24).map(|i| f16::from_f32(((i * 5) % 11) as f32 / 11.0)).collect();
//! let mask = vec![true; 6];
//! let batch = CandidateBatch::new(&feats, &mask, 2, 3, 4).unwrap();
//! let mut params = PolicyParams::init(4, 16, 7).unwrap();
//! let decisions = backend.policy_sample(&params, &batch, &[0, 1], &[0, 0], &SampleConfig::default()).unwrap();
//!
//! // rewards of the two episodes as one group, GRPO advantages
//! let mut adv = vec![0.0; 2];
//! backend.grpo(&[1.0, 0.0], &[0, 2], None, &GrpoConfig::default(), &mut adv).unwrap();
//!
//! let g = backend.policy_grad(&params, &batch, &decisions.chosen, &adv, &PgConfig::default()).unwrap();
//! backend.sgd_step(0.1, params.as_mut_slice(), &g.grad).unwrap();
//! ```

#![warn(missing_docs)]

pub mod advantage;
mod backend;
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod error;
pub mod optim;
mod par;
pub mod policy;
pub mod rng;

pub use advantage::{BroadcastConfig, GaeConfig, GroupReport, GrpoConfig};
pub use backend::{Backend, Device};
pub use cpu::CpuBackend;
#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use error::{KernelError, Result};
pub use half::f16;
pub use optim::{AdamConfig, AdamState};
pub use policy::{CandidateBatch, Decisions, PgConfig, PolicyGrad, PolicyParams, SampleConfig};
