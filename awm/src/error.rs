//! Errors of the AWM crate. Each one says what was wrong and where (file, scenario, worker, episode).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AwmError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a valid AWM environment manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("scenario '{scenario}': {message}")]
    Scenario { scenario: String, message: String },
    #[error("environment '{env}' has no Python program (gen_envs.jsonl had no row for it): its tools cannot run")]
    NoApp { env: String },
    #[error("environment '{env}' has no task {task}")]
    UnknownTask { env: String, task: String },
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("journal: {0}")]
    Journal(String),
}

impl AwmError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> AwmError {
        AwmError::Io { path: path.to_path_buf(), message: e.to_string() }
    }
}

/// A failure of the bridge itself (never the agent's doing): the episode that meets one is an `infra_error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BridgeError {
    #[error("could not start the bridge worker ({python}): {message}")]
    Spawn { python: String, message: String },
    #[error("bridge worker {pid} died ({status}); its episodes are lost")]
    WorkerDied { pid: u32, status: String },
    #[error("bridge worker {pid} did not answer '{op}' within {ms} ms and was killed")]
    Hung { pid: u32, op: String, ms: u64 },
    #[error("bridge worker {pid} failed '{op}': {message}")]
    Failed { pid: u32, op: String, message: String },
    #[error("bridge worker {pid} sent a malformed reply: {message}")]
    Protocol { pid: u32, message: String },
    #[error("the bridge pool is shut down")]
    ShutDown,
}
