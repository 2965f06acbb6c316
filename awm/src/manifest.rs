//! The imported environment's format: a folder with `awm-env.json` (this manifest), `state.sqlite` (the initial
//! state), `app.py` (AWM's FastAPI program, when the dataset has one) and `verifiers/` (AWM's Python verifiers).
//! Documented in `docs/awm.md`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AwmError;

/// The manifest's file name inside an environment folder.
pub const MANIFEST: &str = "awm-env.json";

/// `awm-env.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub format: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Attribution of the source data.
    pub source: String,
    /// RFC 3339 UTC instant that `datetime('now')` and `CURRENT_TIMESTAMP` meant while the state was built.
    pub clock: String,
    /// The initial state (SQLite database file), relative to the folder.
    pub state: String,
    /// AWM's FastAPI program, relative to the folder; absent when the dataset has none (no tools can run).
    #[serde(default)]
    pub app: Option<String>,
    /// Tool declarations from `gen_spec` (the live listing comes from the running app).
    #[serde(default)]
    pub tools: Vec<DeclaredTool>,
    pub tasks: Vec<AwmTask>,
}

/// A tool as `gen_spec` declares it: an HTTP endpoint whose path, query and body parameters are merged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub params: Vec<DeclaredParam>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeclaredParam {
    pub name: String,
    /// JSON Schema type (`float` in the data becomes `number`).
    #[serde(rename = "type")]
    pub ty: String,
    /// `path`, `query` or `body`.
    #[serde(rename = "in")]
    pub location: String,
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

/// One of the scenario's tasks and its verifiers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwmTask {
    /// `task-0` .. `task-9` (AWM's `task_idx`).
    pub id: String,
    pub index: usize,
    pub instruction: String,
    /// `verify_task_completion` (AWM's `code` mode: complete/others), relative to the folder.
    #[serde(default)]
    pub code_verifier: Option<String>,
    /// `verify_task` (AWM's `sql` mode: evidence for an LLM judge), relative to the folder.
    #[serde(default)]
    pub judge_verifier: Option<String>,
    /// What is wrong with this task's verifiers (missing, null code, syntax errors), as found at import.
    #[serde(default)]
    pub problems: Vec<String>,
}

impl Manifest {
    /// Reads `DIR/awm-env.json` (or the manifest file itself).
    pub fn load(path: &Path) -> Result<(PathBuf, Manifest), AwmError> {
        let file = if path.is_dir() { path.join(MANIFEST) } else { path.to_path_buf() };
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = std::fs::read_to_string(&file).map_err(|e| AwmError::io(&file, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| AwmError::Manifest {
            path: file.clone(),
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if manifest.format != 1 {
            return Err(AwmError::Manifest { path: file, message: format!("format {} is not 1", manifest.format) });
        }
        Ok((dir, manifest))
    }

    /// Whether `path` is an imported AWM environment (a folder with a manifest, or the manifest).
    pub fn is_awm_env(path: &Path) -> bool {
        if path.is_dir() { path.join(MANIFEST).is_file() } else { path.file_name().is_some_and(|n| n == MANIFEST) }
    }
}
