//! # agentworld
//!
//! A runtime that hosts synthetic, database-backed tool-use environments for reinforcement learning of LLM
//! agents. This facade re-exports the workspace crates so an embedding program needs one dependency:
//!
//! - [`runtime`]: the engine (specs, per-episode SQLite state, SQL tools, verifiers, the DuckDB record);
//! - [`actors`]: supervised actors around the engine;
//! - [`kernels`]: numeric kernels for the RL loop (advantages, batched policy inference and updates; CPU and CUDA).
//!
//! The `agentworld` binary (`src/main.rs`) is the command-line edge over the same crates.

pub use agentworld_actors as actors;
pub use agentworld_kernels as kernels;
pub use agentworld_runtime as runtime;
