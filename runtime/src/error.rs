//! Typed errors. Spec errors name the file, line and item; tool errors are observations the agent sees;
//! engine errors are infrastructure failures (never an agent's fault, never a reward).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One problem in an environment spec, located as precisely as the loader can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Where in the spec: `tool "add_to_cart" step 2`, `task "t1" check 3`, `schema`, ...
    pub context: String,
    pub message: String,
}

impl SpecError {
    pub fn new(file: &Path, line: Option<usize>, context: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError { file: file.to_path_buf(), line, context: context.into(), message: message.into() }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}: {}", self.context, self.message)
    }
}

/// All the problems found in one spec (loading reports every one it can, not just the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    pub fn one(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Why a tool call failed: every variant is an observation for the agent, not a crash.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToolError {
    #[error("unknown tool '{tool}'")]
    UnknownTool { tool: String },
    #[error("invalid arguments for {tool}: {message}")]
    InvalidArguments { tool: String, argument: Option<String>, message: String },
    /// A guard or an expectation of a step failed: the spec's own error message.
    #[error("{tool}: {message}")]
    Rejected { tool: String, step: usize, message: String },
    /// SQLite refused a statement (constraint, type...): the whole call was rolled back.
    #[error("{tool}: database error: {message}")]
    Sql { tool: String, step: usize, message: String },
    #[error("{tool}: timed out after {deadline_ms} ms (interrupted)")]
    Timeout { tool: String, deadline_ms: u64 },
    #[error("{tool}: result too large ({bytes} bytes, limit {limit}); narrow the request")]
    TooLarge { tool: String, bytes: usize, limit: usize },
    #[error("the episode is finished; no more tool calls")]
    EpisodeFinished,
    /// The episode's state was lost to an infrastructure failure (never the agent's doing): it can take no more
    /// calls and gets no reward.
    #[error("the episode failed and cannot continue: {reason}")]
    EpisodeFailed { reason: String },
}

impl ToolError {
    /// Short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ToolError::UnknownTool { .. } => "unknown_tool",
            ToolError::InvalidArguments { .. } => "invalid_arguments",
            ToolError::Rejected { .. } => "rejected",
            ToolError::Sql { .. } => "sql_error",
            ToolError::Timeout { .. } => "timeout",
            ToolError::TooLarge { .. } => "too_large",
            ToolError::EpisodeFinished => "episode_finished",
            ToolError::EpisodeFailed { .. } => "infra_error",
        }
    }

    /// Whether the failure was the deadline (the failure taxonomy's `timeout`, not `tool_error`).
    pub fn is_timeout(&self) -> bool {
        matches!(self, ToolError::Timeout { .. })
    }
}

/// An infrastructure failure in the engine: a database that cannot be opened, a check that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("duckdb: {0}")]
    DuckDb(#[from] duckdb::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("unknown task '{task}' in environment '{env}'")]
    UnknownTask { env: String, task: String },
    #[error("unknown environment '{0}'")]
    UnknownEnv(String),
    #[error("verification of task '{task}' failed: check '{check}': {message}")]
    Verify { task: String, check: String, message: String },
    #[error("the episode has no task to verify")]
    NoTask,
    /// The episode's state was lost (see [`ToolError::EpisodeFailed`]): it must not be scored.
    #[error("episode failed: {0}")]
    EpisodeFailed(String),
    #[error("journal: {0}")]
    Journal(String),
    #[error("{0}")]
    Other(String),
}

pub type EngineResult<T> = Result<T, EngineError>;
