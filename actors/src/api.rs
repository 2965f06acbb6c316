//! What the runtime returns: episode descriptions, call replies with the failure taxonomy, verdicts,
//! trajectories and typed errors.

use agentworld_runtime::{EpisodeId, JsonText, Lineage, Step, Steps, Verdict};
use serde::Serialize;

/// A live (or once live) episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeInfo {
    pub id: EpisodeId,
    pub env: String,
    pub task: Option<String>,
    /// The GRPO group the episode was opened in (a group shares one task and starting state).
    pub group: Option<u64>,
    pub lineage: Option<Lineage>,
}

/// The failure taxonomy, on every call reply and in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The call ran; `result` is its observation.
    Ok,
    /// The agent's mistake (unknown tool, bad arguments, a guard, a constraint): the error is its observation.
    ToolError,
    /// The deadline interrupted the call; the episode's state is as before the call.
    Timeout,
    /// Not the agent's doing (a crashed actor, a dead worker, a failed database): the episode is failed, must
    /// never be scored, and should be resampled (see [`CallReply::resample`]).
    InfraError,
}

impl Status {
    /// Every status, in discriminant order.
    pub const ALL: [Status; 4] = [Status::Ok, Status::ToolError, Status::Timeout, Status::InfraError];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::ToolError => "tool_error",
            Status::Timeout => "timeout",
            Status::InfraError => "infra_error",
        }
    }

    pub(crate) fn of(status: &str) -> Status {
        match status {
            "ok" => Status::Ok,
            "timeout" => Status::Timeout,
            "infra_error" => Status::InfraError,
            _ => Status::ToolError,
        }
    }
}

/// Why a call failed, as the agent (or trainer) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallError {
    /// Machine-readable: `unknown_tool`, `invalid_arguments`, `rejected`, `sql_error`, `timeout`, `too_large`,
    /// `episode_finished`, `step_limit`, `infra_error`.
    pub code: String,
    pub message: String,
    /// The argument at fault, for `invalid_arguments`.
    pub argument: Option<String>,
}

/// What a trainer needs to replace an episode lost to infrastructure: open a new one with the same task in the
/// same group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResampleHint {
    pub env: String,
    pub task: Option<String>,
    pub group: Option<u64>,
    pub cause: String,
}

/// The reply to one tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallReply {
    pub episode: EpisodeId,
    /// 1-based step number in the episode (0 when the call never became a step).
    pub step: usize,
    pub status: Status,
    /// The result as JSON text (embedded as JSON when the reply is serialised).
    pub result: Option<JsonText>,
    pub error: Option<CallError>,
    pub truncated: bool,
    /// Time in the engine (the statement), microseconds.
    pub duration_us: u64,
    /// Set with [`Status::InfraError`].
    pub resample: Option<ResampleHint>,
}

impl CallReply {
    pub(crate) fn from_step(info: &EpisodeInfo, step: &Step) -> CallReply {
        let status = Status::of(agentworld_runtime::journal::step_status(&step.result));
        let (result, error) = match &step.result {
            Ok(v) => (Some(v.clone()), None),
            Err(e) => (
                None,
                Some(CallError {
                    code: e.code().to_string(),
                    message: e.to_string(),
                    argument: match e {
                        agentworld_runtime::ToolError::InvalidArguments { argument, .. } => argument.clone(),
                        _ => None,
                    },
                }),
            ),
        };
        let resample = (status == Status::InfraError)
            .then(|| ResampleHint::new(info, error.as_ref().map(|e| e.message.clone()).unwrap_or_default()));
        CallReply {
            episode: info.id,
            step: step.index,
            status,
            result,
            error,
            truncated: step.truncated,
            duration_us: step.duration_us,
            resample,
        }
    }

    /// A call that never ran: refused (`tool_error` with `code`) or lost (`infra_error`).
    pub(crate) fn refused(info: &EpisodeInfo, status: Status, code: &str, message: String) -> CallReply {
        CallReply {
            episode: info.id,
            step: 0,
            status,
            result: None,
            resample: (status == Status::InfraError).then(|| ResampleHint::new(info, message.clone())),
            error: Some(CallError { code: code.to_string(), message, argument: None }),
            truncated: false,
            duration_us: 0,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

impl ResampleHint {
    pub(crate) fn new(info: &EpisodeInfo, cause: String) -> ResampleHint {
        ResampleHint { env: info.env.clone(), task: info.task.clone(), group: info.group, cause }
    }
}

/// The outcome of finishing an episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinishReply {
    pub episode: EpisodeId,
    pub verdict: Verdict,
    pub steps: usize,
}

/// How an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndStatus {
    /// Finished with an answer and verified.
    Finished,
    /// Closed by its client without a verdict.
    Closed,
    /// No request for longer than the idle timeout.
    Reaped,
    /// Lived longer than the episode wall-time limit.
    Timeout,
    /// Its state or actor was lost: never rewarded.
    InfraError,
    /// The runtime shut down first.
    Interrupted,
}

impl EndStatus {
    /// Every end status, in discriminant order.
    pub const ALL: [EndStatus; 6] = [
        EndStatus::Finished,
        EndStatus::Closed,
        EndStatus::Reaped,
        EndStatus::Timeout,
        EndStatus::InfraError,
        EndStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndStatus::Finished => "finished",
            EndStatus::Closed => "closed",
            EndStatus::Reaped => "reaped",
            EndStatus::Timeout => "timeout",
            EndStatus::InfraError => "infra_error",
            EndStatus::Interrupted => "interrupted",
        }
    }
}

/// An episode's history: its steps, and how it ended if it did.
#[derive(Debug, Clone, Serialize)]
pub struct Trajectory {
    pub info: EpisodeInfo,
    pub steps: Steps,
    pub answer: Option<String>,
    pub verdict: Option<Verdict>,
    /// `None` while the episode is live.
    pub ended: Option<EndStatus>,
    pub cause: Option<String>,
}

/// An environment the runtime serves.
#[derive(Debug, Clone, Serialize)]
pub struct EnvSummary {
    pub name: String,
    pub description: String,
    pub tools: usize,
    pub tasks: Vec<String>,
    /// `false` while its actor is restarting or after it failed too often.
    pub available: bool,
}

/// Why a request could not be served. Tool failures are not errors: they are [`CallReply`]s.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    #[error("unknown environment '{0}'")]
    UnknownEnvironment(String),
    #[error("unknown task '{task}' in environment '{env}'")]
    UnknownTask { env: String, task: String },
    #[error("unknown episode {0}")]
    UnknownEpisode(EpisodeId),
    #[error("episode {id} has ended ({})", status.as_str())]
    EpisodeEnded { id: EpisodeId, status: EndStatus, cause: Option<String> },
    #[error("environment '{env}' is unavailable: {reason}")]
    Unavailable { env: String, reason: String },
    #[error("too many live episodes (limit {limit})")]
    TooManyEpisodes { limit: usize },
    #[error("invalid request: {0}")]
    Invalid(String),
    /// An infrastructure failure: the episode (if any) is failed and never rewarded.
    #[error("infrastructure failure: {cause}")]
    Infra { episode: Option<EpisodeId>, cause: String, resample: Option<Box<ResampleHint>> },
    #[error("the runtime is shutting down")]
    ShuttingDown,
}

impl RuntimeError {
    /// Short machine-readable code (for the servers' JSON errors).
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::UnknownEnvironment(_) => "unknown_environment",
            RuntimeError::UnknownTask { .. } => "unknown_task",
            RuntimeError::UnknownEpisode(_) => "unknown_episode",
            RuntimeError::EpisodeEnded { .. } => "episode_ended",
            RuntimeError::Unavailable { .. } => "unavailable",
            RuntimeError::TooManyEpisodes { .. } => "too_many_episodes",
            RuntimeError::Invalid(_) => "invalid_request",
            RuntimeError::Infra { .. } => "infra_error",
            RuntimeError::ShuttingDown => "shutting_down",
        }
    }
}
