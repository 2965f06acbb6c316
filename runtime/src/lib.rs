//! # agentworld-runtime
//!
//! The engine of agentworld, usable without actors or servers: load an environment from a declarative spec,
//! give every episode its own in-memory SQLite copy of the environment's database, run tool calls as
//! parameterised SQL, verify episodes with SQL over the initial and final states, and keep the record of
//! everything in DuckDB.
//!
//! Data flows one way: [`spec`] (the file) -> [`Environment`] (template database, compiled tools and tasks) ->
//! [`Episode`] (its own database, its [`Steps`]) -> [`Verdict`] (reward) -> [`Journal`] (the record).
//! The actor runtime (`agentworld-actors`) owns lifecycles and concurrency; this crate owns semantics.
//!
//! ```no_run
//! use std::sync::Arc;
//! use agentworld_runtime::{Environment, Episode};
//!
//! let env = Arc::new(Environment::load("envspecs/shop.toml".as_ref()).expect("valid spec"));
//! let task = env.tasks()[0].id().to_string();
//! let mut episode = Episode::open(env.clone(), Some(&task)).unwrap();
//! let step = episode.call("search_products", &serde_json::json!({ "query": "lamp" }));
//! println!("{}", serde_json::to_string_pretty(&step.result).unwrap());
//! let verdict = episode.finish("The lamp costs 39.00").unwrap();
//! println!("{:?} reward {}", verdict.outcome, verdict.reward);
//! ```

pub mod args;
mod auth;
pub mod changes;
pub mod clock;
pub mod env;
pub mod episode;
pub mod error;
pub mod journal;
pub mod json;
pub mod report;
pub mod spec;
mod sqlite;
pub mod steps;
pub mod store;
pub mod tools;
pub mod validate;
pub mod verify;

pub use env::{Environment, TableInfo, Task};
pub use episode::{Episode, EpisodeId, Lineage, Step};
pub use error::{EngineError, EngineResult, SpecError, SpecErrors, ToolError};
pub use journal::Journal;
pub use json::JsonText;
pub use sqlite::use_mimalloc;
pub use steps::Steps;
pub use store::{EpisodeDb, Template};
pub use tools::{CallOutput, Tool};
pub use verify::{CheckOutcome, Outcome, Verdict};
