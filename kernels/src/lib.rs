//! # agentworld-kernels
//!
//! Numeric kernels for the RL loop: advantage estimation (GRPO, RLOO, GAE, masking) and batched policy
//! inference, with a CPU reference always available and CUDA kernels behind the `cuda` feature.
//!
//! This crate is the seat of the kernels (see the issue "Kernels"); it is empty until then and is part of the
//! workspace so that the layout and the facade are stable.
