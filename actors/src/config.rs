//! Runtime settings: a TOML file plus `AGENTWORLD_*` environment variables, read with the `config` crate.
//!
//! Every knob has a default, so an empty file (or none) is a working configuration. Sections and keys:
//!
//! ```toml
//! [runtime]
//! workers = 0                # threads running SQLite episode work; 0 = one per core
//! queue_per_worker = 256     # jobs queued per worker before callers wait (backpressure)
//! max_episodes = 100000      # live episodes at once; opening more is refused (0 = no limit)
//! call_timeout_ms = 2000     # deadline of one tool call, queueing included; the statement is interrupted
//! inline_call_us = 100       # a call of a tool that typically takes less runs on the episode's own thread
//!                            # (interrupted and moved to a worker after 10x this, at least 1 ms); 0 = never
//! max_steps = 200            # tool calls per episode
//! episode_timeout_ms = 0     # wall time an episode may live (0 = no limit); then it ends as `timeout`
//! idle_timeout_ms = 600000   # an episode with no request for this long is reaped (0 = never); trajectory kept
//! reap_interval_ms = 1000    # how often environments look for idle or expired episodes
//! ended_cache = 10000        # trajectories of ended episodes kept in memory for `trajectory()`
//!
//! [journal]
//! path = "agentworld.duckdb" # the record; unset = no record
//! sync = "process"           # "process": survives kill -9; "disk": fdatasync, survives power loss
//! linger_ms = 1000           # DuckDB group-commit window (the log is written first)
//! queue = 16384              # batches queued for DuckDB; past that the writer reads them back from the log
//! max_backlog = 1048576      # log frames DuckDB may lag behind before producers wait (backpressure)
//! memory_limit_mb = 1024     # DuckDB's buffer pool; below ~1 GiB a busy journal slows down once it fills
//! writer_nice = 19           # the DuckDB writer thread's nice value (Linux): it takes CPU serving leaves idle
//! checkpoint_threshold_mb = 64  # DuckDB's own log size that triggers a checkpoint (DuckDB's default: 16)
//!
//! [restart]
//! max_restarts = 5           # restarts of one environment actor within `window_ms` before giving up
//! window_ms = 60000
//! backoff_ms = 50            # first restart delay, doubled per recent restart
//! max_backoff_ms = 5000
//!
//! [server]                   # read by `agentworld serve` (crate agentworld-server)
//! bind = "127.0.0.1"         # address to listen on
//! port = 8080
//! max_body_bytes = 1048576   # request bodies larger than this are refused (413, `body_too_large`)
//! max_argument_bytes = 16384 # tool arguments larger than this (as JSON) are refused (`invalid_arguments`)
//! max_episodes_per_client = 0 # live episodes one client (X-Client-Id header, else its IP) may hold; 0 = no limit
//! mcp_session_idle_ms = 600000 # an MCP session with no request for this long is closed (its episode closed)
//! mcp_direct_calls = true    # a session's tools/call is answered on its request's task, not through rmcp's
//!                            # per-session worker (1.3-2.3x the calls/s; a call cannot be cancelled mid-way)
//! drain_timeout_ms = 10000   # on SIGTERM/SIGINT: time in-flight requests get to finish before the journal is flushed
//! jobs_dir = "agentworld-jobs" # folder of managed train/rollout jobs (/v1/jobs); "" = no jobs
//! ```
//!
//! Environment variables override the file: `AGENTWORLD_<SECTION>__<KEY>`, e.g.
//! `AGENTWORLD_RUNTIME__CALL_TIMEOUT_MS=500` or `AGENTWORLD_JOURNAL__SYNC=disk`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentworld_runtime::journal::{JournalOptions, SyncMode};
use serde::{Deserialize, Serialize};

/// Everything the actor runtime reads from configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    pub runtime: RuntimeSettings,
    pub journal: JournalSettings,
    pub restart: RestartSettings,
    pub server: ServerSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSettings {
    pub workers: usize,
    pub queue_per_worker: usize,
    pub max_episodes: usize,
    pub call_timeout_ms: u64,
    pub inline_call_us: u64,
    pub max_steps: usize,
    pub episode_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub reap_interval_ms: u64,
    pub ended_cache: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            workers: 0,
            queue_per_worker: 256,
            max_episodes: 100_000,
            call_timeout_ms: 2_000,
            inline_call_us: 100,
            max_steps: 200,
            episode_timeout_ms: 0,
            idle_timeout_ms: 600_000,
            reap_interval_ms: 1_000,
            ended_cache: 10_000,
        }
    }
}

impl RuntimeSettings {
    /// Worker threads: the configured number, or one per core.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 { self.workers } else { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) }
    }

    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms.max(1))
    }

    /// Calls of tools that typically take less than this run on the episode actor's thread instead of a worker's
    /// (`None`: every call goes to a worker). A handoff to a worker and back costs two thread wake-ups, more than
    /// a call of a few microseconds.
    pub fn inline_below(&self) -> Option<Duration> {
        (self.inline_call_us > 0).then(|| Duration::from_micros(self.inline_call_us))
    }

    /// How long a call run on the episode actor's thread may take before it is interrupted and moved to a worker
    /// (with the rest of its deadline): ten times [`RuntimeSettings::inline_below`], at least 1 ms (SQLite's
    /// deadline has millisecond steps).
    pub fn inline_cap(&self) -> Duration {
        Duration::from_micros(self.inline_call_us.saturating_mul(10)).max(Duration::from_millis(1))
    }

    fn optional(ms: u64) -> Option<Duration> {
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    pub fn episode_timeout(&self) -> Option<Duration> {
        Self::optional(self.episode_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Option<Duration> {
        Self::optional(self.idle_timeout_ms)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalSettings {
    pub path: Option<PathBuf>,
    pub sync: SyncMode,
    pub linger_ms: u64,
    pub queue: usize,
    pub max_backlog: u64,
    pub memory_limit_mb: u64,
    pub writer_nice: i32,
    pub checkpoint_threshold_mb: u64,
}

impl Default for JournalSettings {
    fn default() -> Self {
        let d = JournalOptions::default();
        JournalSettings {
            path: None,
            sync: d.sync,
            linger_ms: d.linger.as_millis() as u64,
            queue: d.queue,
            max_backlog: d.max_backlog,
            memory_limit_mb: d.memory_limit_mb,
            writer_nice: d.writer_nice,
            checkpoint_threshold_mb: d.checkpoint_threshold_mb,
        }
    }
}

impl JournalSettings {
    pub fn options(&self) -> JournalOptions {
        JournalOptions {
            sync: self.sync,
            linger: Duration::from_millis(self.linger_ms),
            queue: self.queue,
            max_backlog: self.max_backlog,
            memory_limit_mb: self.memory_limit_mb,
            writer_nice: self.writer_nice,
            checkpoint_threshold_mb: self.checkpoint_threshold_mb,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestartSettings {
    pub max_restarts: u32,
    pub window_ms: u64,
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RestartSettings {
    fn default() -> Self {
        RestartSettings { max_restarts: 5, window_ms: 60_000, backoff_ms: 50, max_backoff_ms: 5_000 }
    }
}

impl RestartSettings {
    /// Delay before the next restart when `recent` restarts happened within the window.
    pub fn backoff(&self, recent: u32) -> Duration {
        let ms = self.backoff_ms.saturating_mul(1u64 << recent.min(20)).min(self.max_backoff_ms);
        Duration::from_millis(ms)
    }
}

/// Settings of the network service (`agentworld serve`): listening address and the limits on what clients send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub port: u16,
    pub max_body_bytes: usize,
    pub max_argument_bytes: usize,
    pub max_episodes_per_client: usize,
    pub mcp_session_idle_ms: u64,
    /// Answer a session's `tools/call` on the request's own task instead of routing it through rmcp's
    /// per-session worker and service loop (see `agentworld_server::mcp::EpisodeSessions`).
    pub mcp_direct_calls: bool,
    pub drain_timeout_ms: u64,
    pub jobs_dir: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: 1 << 20,
            max_argument_bytes: 16 * 1024,
            max_episodes_per_client: 0,
            mcp_session_idle_ms: 600_000,
            mcp_direct_calls: true,
            drain_timeout_ms: 10_000,
            jobs_dir: "agentworld-jobs".into(),
        }
    }
}

/// A configuration that could not be read, naming the source and the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration{}: {message}", .file.as_ref().map(|f| format!(" ({})", f.display())).unwrap_or_default())]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub message: String,
}

impl RuntimeConfig {
    /// Reads `file` (if given; it must exist) and then `AGENTWORLD_*` variables from the process environment.
    pub fn load(file: Option<&Path>) -> Result<RuntimeConfig, ConfigError> {
        Self::load_from(file, None)
    }

    /// As [`RuntimeConfig::load`], with the variables given instead of read from the process (for tests and
    /// embedding).
    pub fn load_from(
        file: Option<&Path>,
        vars: Option<std::collections::HashMap<String, String>>,
    ) -> Result<RuntimeConfig, ConfigError> {
        let fail = |message: String| ConfigError { file: file.map(Path::to_path_buf), message };
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                return Err(fail("file not found".into()));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let env = config::Environment::with_prefix("AGENTWORLD")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(vars);
        builder = builder.add_source(env);
        let built = builder.build().map_err(|e| fail(e.to_string()))?;
        built.try_deserialize().map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aw.toml");
        std::fs::write(&path, "[runtime]\nmax_steps = 7\ncall_timeout_ms = 300\n[journal]\nsync = \"disk\"\n").unwrap();
        let vars = [("AGENTWORLD_RUNTIME__CALL_TIMEOUT_MS".to_string(), "450".to_string())].into_iter().collect();
        let c = RuntimeConfig::load_from(Some(&path), Some(vars)).unwrap();
        assert_eq!(c.runtime.max_steps, 7);
        assert_eq!(c.runtime.call_timeout_ms, 450);
        assert_eq!(c.journal.sync, SyncMode::Disk);
        assert_eq!(c.restart, RestartSettings::default());
        assert_eq!(RuntimeConfig::load_from(None, Some(Default::default())).unwrap(), RuntimeConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aw.toml");
        std::fs::write(&path, "[runtime]\nmax_stepz = 7\n").unwrap();
        let e = RuntimeConfig::load_from(Some(&path), Some(Default::default())).unwrap_err();
        assert!(e.to_string().contains("max_stepz"), "{e}");
        assert!(e.to_string().contains("aw.toml"), "{e}");
        std::fs::write(&path, "[journal]\nsync = \"sometimes\"\n").unwrap();
        let e = RuntimeConfig::load_from(Some(&path), Some(Default::default())).unwrap_err();
        assert!(e.to_string().contains("sometimes"), "{e}");
        let e = RuntimeConfig::load_from(Some(&dir.path().join("nope.toml")), None).unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
    }

    #[test]
    fn the_documented_example_is_exactly_the_defaults() {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/agentworld.toml");
        let c = RuntimeConfig::load_from(Some(&doc), Some(Default::default())).unwrap();
        assert_eq!(c, RuntimeConfig::default());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RestartSettings { backoff_ms: 10, max_backoff_ms: 50, ..Default::default() };
        assert_eq!(r.backoff(0), Duration::from_millis(10));
        assert_eq!(r.backoff(2), Duration::from_millis(40));
        assert_eq!(r.backoff(9), Duration::from_millis(50));
    }
}
