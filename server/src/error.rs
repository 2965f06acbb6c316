//! Errors of the HTTP API: a status, a machine-readable code and a message, always as JSON:
//! `{"error": {"code": "unknown_episode", "message": "unknown episode 42"}}`.

use agentworld_actors::RuntimeError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request the API could not serve.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable: `malformed_json`, `invalid_request`, `body_too_large`, `unknown_environment`,
    /// `unknown_task`, `unknown_episode`, `episode_ended`, `too_many_episodes`, `unavailable`, `infra_error`,
    /// `shutting_down`, `not_found`, `method_not_allowed`.
    pub code: &'static str,
    pub message: String,
    /// Extra machine-readable detail (the resample hint of an infrastructure failure).
    pub detail: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), detail: None }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> ApiError {
        let status = match &e {
            RuntimeError::UnknownEnvironment(_)
            | RuntimeError::UnknownTask { .. }
            | RuntimeError::UnknownEpisode(_) => StatusCode::NOT_FOUND,
            RuntimeError::EpisodeEnded { .. } => StatusCode::CONFLICT,
            RuntimeError::Unavailable { .. } | RuntimeError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            RuntimeError::TooManyEpisodes { .. } => StatusCode::TOO_MANY_REQUESTS,
            RuntimeError::Invalid(_) => StatusCode::BAD_REQUEST,
            RuntimeError::Infra { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let detail = match &e {
            RuntimeError::Infra { episode, resample, .. } => Some(json!({"episode": episode, "resample": resample})),
            RuntimeError::EpisodeEnded { status, cause, .. } => Some(json!({"ended": status, "cause": cause})),
            _ => None,
        };
        ApiError { status, code: e.code(), message: e.to_string(), detail }
    }
}

impl From<agentworld_awm::HostError> for ApiError {
    fn from(e: agentworld_awm::HostError) -> ApiError {
        use agentworld_awm::HostError;
        let status = match &e {
            HostError::UnknownEnvironment(_) | HostError::UnknownTask { .. } | HostError::UnknownEpisode(_) => {
                StatusCode::NOT_FOUND
            }
            HostError::Infra(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HostError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        ApiError { status, code: e.code(), message: e.to_string(), detail: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(detail) = self.detail {
            body["detail"] = detail;
        }
        (self.status, Json(json!({ "error": body }))).into_response()
    }
}
