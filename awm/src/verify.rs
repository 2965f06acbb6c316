//! AWM's Python verifiers, run in a sandboxed subprocess (`python/aw_verify.py`, walls in [`crate::sandbox`]).
//!
//! `code` mode (`verify_task_completion`) maps `complete` to the full reward and `others` to none. `sql` mode
//! (`verify_task`) returns its evidence dictionary for an optional LLM judge. A verifier that cannot run (syntax
//! error, exception, sandbox violation, timeout) gives a [`VerifierFailure`], never a zero reward.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::sandbox::{ProcessLimits, python_command};

const VERIFIER_SOURCE: &str = include_str!("../python/aw_verify.py");

/// Which of AWM's two verifier kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifierMode {
    /// `verify_task_completion(initial, final, answer) -> {"result": "complete" | "others"}`.
    Code,
    /// `verify_task(initial, final) -> evidence` for an LLM judge.
    Sql,
}

impl VerifierMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifierMode::Code => "code",
            VerifierMode::Sql => "sql",
        }
    }
}

/// What a verifier said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum VerifierOutput {
    /// `code` mode: whether the task is complete.
    Completion { complete: bool, raw: Value },
    /// `sql` mode: the evidence for a judge.
    Evidence(Value),
}

/// Why a verifier gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("verifier failed ({kind}): {message}")]
pub struct VerifierFailure {
    /// `syntax`, `exception`, `sandbox`, `shape`, `timeout` or `infra`.
    pub kind: String,
    pub message: String,
}

impl VerifierFailure {
    fn new(kind: &str, message: impl Into<String>) -> VerifierFailure {
        VerifierFailure { kind: kind.into(), message: message.into() }
    }
}

/// How verifiers run.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub python: std::path::PathBuf,
    pub timeout: Duration,
    pub limits: ProcessLimits,
    pub isolate_network: bool,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            python: crate::sandbox::python(),
            timeout: Duration::from_secs(30),
            limits: ProcessLimits::VERIFIER,
            isolate_network: true,
        }
    }
}

/// Runs `code` on read-only copies of `initial` and `final_db` (copied here into a private folder, so nothing the
/// verifier does can reach the originals).
pub fn run_verifier(
    config: &VerifierConfig,
    code: &str,
    mode: VerifierMode,
    initial: &Path,
    final_db: &Path,
    answer: &str,
) -> Result<VerifierOutput, VerifierFailure> {
    let scratch = tempfile::tempdir().map_err(|e| VerifierFailure::new("infra", format!("scratch folder: {e}")))?;
    let copy = |from: &Path, name: &str| -> Result<std::path::PathBuf, VerifierFailure> {
        let to = scratch.path().join(name);
        std::fs::copy(from, &to)
            .map_err(|e| VerifierFailure::new("infra", format!("copying {}: {e}", from.display())))?;
        let mut perms = std::fs::metadata(&to).map_err(|e| VerifierFailure::new("infra", e.to_string()))?.permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&to, perms).map_err(|e| VerifierFailure::new("infra", e.to_string()))?;
        Ok(to)
    };
    let initial = copy(initial, "initial.sqlite")?;
    let final_db = copy(final_db, "final.sqlite")?;
    let request = json!({
        "code": code,
        "mode": mode.as_str(),
        "initial": initial,
        "final": final_db,
        "answer": answer,
    });
    let mut cmd = python_command(&config.python, config.limits, config.isolate_network);
    cmd.arg("-c").arg(VERIFIER_SOURCE).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| VerifierFailure::new("infra", format!("cannot start {}: {e}", config.python.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut err);
        }
        (out, err)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > config.timeout => {
                // SAFETY: signalling our own child's process group.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(VerifierFailure::new(
                    "timeout",
                    format!("the verifier ran past {} ms and was killed", config.timeout.as_millis()),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(VerifierFailure::new("infra", e.to_string())),
        }
    };
    let (out, err) = reader.join().unwrap_or_default();
    let Some(line) = out.lines().find(|l| !l.trim().is_empty()) else {
        let tail: String = err.chars().rev().take(400).collect::<String>().chars().rev().collect();
        return Err(VerifierFailure::new(
            "exception",
            format!("the verifier process ended ({status}) without a result: {tail}"),
        ));
    };
    let reply: Value = serde_json::from_str(line)
        .map_err(|e| VerifierFailure::new("infra", format!("malformed verifier reply: {e}")))?;
    if reply.get("ok").and_then(Value::as_bool) != Some(true) {
        let kind = reply.get("kind").and_then(Value::as_str).unwrap_or("exception");
        let message = reply.get("error").and_then(Value::as_str).unwrap_or("unknown error");
        return Err(VerifierFailure::new(kind, message));
    }
    let result = reply.get("result").cloned().unwrap_or(Value::Null);
    match mode {
        VerifierMode::Sql => Ok(VerifierOutput::Evidence(result)),
        VerifierMode::Code => match result.get("result").and_then(Value::as_str) {
            Some("complete") => Ok(VerifierOutput::Completion { complete: true, raw: result }),
            Some("others") => Ok(VerifierOutput::Completion { complete: false, raw: result }),
            _ => Err(VerifierFailure::new(
                "shape",
                format!("verify_task_completion returned {result}, not {{\"result\": \"complete\" | \"others\"}}"),
            )),
        },
    }
}
