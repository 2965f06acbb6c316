//! # agentworld-actors
//!
//! The actor runtime: every environment and every episode of `agentworld-runtime` becomes a supervised
//! [`ractor`] actor, so one process can serve thousands of concurrent episodes for weeks, use every core, and
//! survive faults without losing acknowledged work or scoring a failure.
//!
//! ```text
//! RootSupervisor ─┬─ restarts (backoff, rate limit) ─▶ EnvironmentActor  (per environment: template, opens)
//!                 └─ restarts ─▶ EpisodeSupervisor (per environment) ─▶ EpisodeActor (per live episode)
//! EpisodeActor ── moves its episode to ──▶ WorkerPool (OS threads: SQLite work, journal appends)
//!              └─ or runs a call known to take microseconds itself (moved to the pool after ~1 ms)
//! Journal: write-ahead log before every acknowledgement, DuckDB group commit behind it
//! ```
//!
//! The [`Runtime`] handle is the library API: open episodes or GRPO groups, call tools (one at a time or as a
//! [`Batch`] with results as they complete), finish with an answer for a verdict, branch, close, read
//! trajectories, metrics, and shut down. Every call reply carries the failure taxonomy ([`Status`]: `ok`,
//! `tool_error`, `timeout`, `infra_error`); an `infra_error` carries a [`ResampleHint`] and is never rewarded.
//! Settings come from [`RuntimeConfig`] (TOML + `AGENTWORLD_*` variables).
//!
//! The runtime crate owns semantics; this crate owns lifecycles, concurrency, deadlines and failure handling.

mod api;
pub mod config;
mod context;
mod env_actor;
mod episode_actor;
mod episode_supervisor;
pub mod faults;
pub mod generate;
pub mod load;
pub mod metrics;
mod pool;
mod runtime;
mod supervisor;

pub use api::{
    CallError, CallReply, EndStatus, EnvSummary, EpisodeInfo, FinishReply, ResampleHint, RuntimeError, Status,
    Trajectory,
};
pub use config::{RuntimeConfig, ServerSettings};
pub use faults::{Fault, FaultPlan, Faults};
pub use metrics::{MetricsSnapshot, Op};
pub use runtime::{Batch, BatchResult, Runtime, ShutdownReport};
