//! # agentworld-awm
//!
//! Runs the 1,000 released AgentWorldModel-1K environments (Snowflake/AgentWorldModel-1K, CC-BY-4.0, Wang et
//! al., arXiv 2602.10090) in agentworld, with the behaviour the Arctic-AWM models were trained on and without
//! AWM's one-process-per-instance runtime or its unsandboxed `exec`:
//!
//! - [`import`]: the dataset's eight JSONL files -> one folder per scenario ([`manifest`]): the initial state
//!   built with AWM's loading rules on the virtual clock, tasks, tool declarations, verifiers, and a report.
//! - [`bridge`]: a supervised pool of Python workers, started once, each hosting many AWM FastAPI programs and
//!   many episodes (one in-memory database each). Observations come back in AWM's words; row changes come back
//!   with them for the record.
//! - [`verify`]: AWM's Python verifiers in a sandboxed subprocess ([`sandbox`]).
//! - [`episode`]: [`AwmEnvironment`] and [`AwmEpisode`]: reset, step, finish.
//! - [`host`]: [`AwmHost`], one actor per live episode, which the HTTP API and the MCP server use.
//!
//! ```no_run
//! use agentworld_awm::{AwmEnvironment, AwmEpisode, BridgeConfig, BridgePool};
//! let pool = BridgePool::start(BridgeConfig::default()).unwrap();
//! let env = AwmEnvironment::load("awm-envs/content_platform_1".as_ref(), &pool).unwrap();
//! let mut ep = AwmEpisode::open(env, Some("task-0")).unwrap();
//! let step = ep.call("get_channel_by_id", &serde_json::json!({ "channel_id": 1 }));
//! println!("{}", step.observation);
//! ```

pub mod bridge;
pub mod dataset;
pub mod episode;
pub mod error;
pub mod host;
pub mod import;
pub mod manifest;
pub mod sandbox;
pub mod verify;

pub use bridge::{BridgeConfig, BridgePool, ListedTool};
pub use episode::{AwmEnvironment, AwmEpisode, AwmStep, AwmVerdict, Judge, StepStatus};
pub use error::{AwmError, BridgeError};
pub use host::{AwmHost, HostError};
pub use import::{ImportOptions, ImportReport, import_dataset};
pub use manifest::Manifest;
