//! Errors of the synthesis pipeline.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Input { path: PathBuf, line: usize, message: String },
    /// The model endpoint failed after every transport retry.
    #[error("the model endpoint failed: {0}")]
    Endpoint(String),
    /// `--dry-run`: the prompt was printed instead of sent.
    #[error("dry run")]
    DryRun,
    #[error("{0}")]
    Invalid(String),
}

impl SynthError {
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> SynthError {
        SynthError::Io { path: path.to_path_buf(), message: e.to_string() }
    }
}
