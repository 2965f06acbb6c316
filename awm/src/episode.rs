//! Imported environments and their episodes: reset (a copy of the state on a bridge worker) -> tool calls
//! (observations in AWM's words, row changes recorded) -> finish (AWM's verifiers in the sandbox).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use agentworld_runtime::changes::fnv1a;
use agentworld_runtime::journal::Record;
use agentworld_runtime::journal::record::{
    ChangeRow, EndedRow, EnvironmentRow, OpenedRow, StepRow, TaskRow, VerdictRow,
};
use agentworld_runtime::{EpisodeId, Journal};
use serde::Serialize;
use serde_json::{Value, json};

use crate::bridge::{AppSource, BridgePool, CallReply, ListedTool, LoadedApp, Placement, RowChange};
use crate::error::{AwmError, BridgeError};
use crate::manifest::{AwmTask, Manifest};
use crate::verify::{VerifierConfig, VerifierFailure, VerifierMode, VerifierOutput, run_verifier};

/// Decides a task from a sql-mode verifier's evidence (AWM's LLM judge). `agentworld-rl` has one that asks any
/// OpenAI-compatible endpoint (`LlmJudge`).
pub trait Judge: Send + Sync {
    /// Whether the evidence shows `instruction` done; `Err` says why no judgement came (never a zero reward).
    fn judge(&self, instruction: &str, evidence: &Value, answer: &str) -> Result<bool, String>;
}

/// An imported environment, loaded (and, when it has a program, hosted by a bridge pool).
pub struct AwmEnvironment {
    pub manifest: Manifest,
    dir: PathBuf,
    state_path: PathBuf,
    /// The live tool listing (from the running app; empty without a program).
    tools: Vec<ListedTool>,
    loaded: Option<LoadedApp>,
    pool: Option<BridgePool>,
    verifier: VerifierConfig,
    hash: String,
    /// The manifest's clock (Unix ms): the programs' "now" at step 0; each step adds [`TICK_MS`].
    clock_ms: i64,
    /// Judges tasks that have evidence but no code-mode verdict.
    judge: std::sync::OnceLock<Arc<dyn Judge>>,
}

impl std::fmt::Debug for AwmEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwmEnvironment").field("name", &self.manifest.name).finish_non_exhaustive()
    }
}

impl AwmEnvironment {
    /// Loads an environment folder and registers its program with `pool` (every worker loads it once).
    pub fn load(path: &Path, pool: &BridgePool) -> Result<Arc<AwmEnvironment>, AwmError> {
        let mut env = AwmEnvironment::open_folder(path)?;
        let app = env.manifest.app.clone().ok_or_else(|| AwmError::NoApp { env: env.manifest.name.clone() })?;
        let loaded = pool.register(AppSource {
            name: env.manifest.name.clone(),
            code_path: env.dir.join(app),
            state_path: env.state_path.clone(),
        })?;
        env.tools = loaded.tools.clone();
        env.loaded = Some(loaded);
        env.pool = Some(pool.clone());
        Ok(Arc::new(env))
    }

    /// Loads an environment folder without hosting its program: its state and verifiers only.
    pub fn load_offline(path: &Path) -> Result<Arc<AwmEnvironment>, AwmError> {
        Ok(Arc::new(AwmEnvironment::open_folder(path)?))
    }

    fn open_folder(path: &Path) -> Result<AwmEnvironment, AwmError> {
        let (dir, manifest) = Manifest::load(path)?;
        let state_path = dir.join(&manifest.state);
        let state = std::fs::read(&state_path).map_err(|e| AwmError::io(&state_path, e))?;
        let text = serde_json::to_string(&manifest).unwrap_or_default();
        let hash = format!("{:016x}", fnv1a(text.as_bytes()) ^ fnv1a(&state).rotate_left(1));
        let clock_ms = agentworld_runtime::clock::parse_rfc3339(&manifest.clock).map_err(|e| AwmError::Manifest {
            path: dir.join(crate::manifest::MANIFEST),
            message: format!("clock: {e}"),
        })?;
        Ok(AwmEnvironment {
            manifest,
            dir,
            state_path,
            tools: Vec::new(),
            loaded: None,
            pool: None,
            verifier: VerifierConfig::default(),
            hash,
            clock_ms,
            judge: std::sync::OnceLock::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Has `judge` decide tasks whose code-mode verifier gives no verdict but whose sql-mode verifier gives
    /// evidence (set once; later calls are ignored and return `false`).
    pub fn set_judge(&self, judge: Arc<dyn Judge>) -> bool {
        self.judge.set(judge).is_ok()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The initial state's database file.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    pub fn tools(&self) -> &[ListedTool] {
        &self.tools
    }

    pub fn tool(&self, name: &str) -> Option<&ListedTool> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn tasks(&self) -> &[AwmTask] {
        &self.manifest.tasks
    }

    pub fn task(&self, id: &str) -> Option<&AwmTask> {
        self.manifest.tasks.iter().find(|t| t.id == id)
    }

    /// What loading the program cost (time, and the memory it added to a worker).
    pub fn load_report(&self) -> Option<&LoadedApp> {
        self.loaded.as_ref()
    }

    /// Identifies this exact environment (manifest and state) in the record.
    pub fn spec_hash(&self) -> &str {
        &self.hash
    }

    /// AWM's tool listing for its text protocol (`DESIGN.md` section 8).
    pub fn tool_listing_text(&self) -> String {
        let mut s = format!("Available MCP Tools ({} tools):\n{}\n", self.tools.len(), "=".repeat(80));
        for (i, t) in self.tools.iter().enumerate() {
            s.push_str(&format!("{}. mcp_tool_{}\n   Description: {}\n   Parameters:\n", i + 1, t.name, t.description));
            let required: Vec<&str> =
                t.input_schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for (name, p) in t.input_schema["properties"].as_object().into_iter().flatten() {
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("string");
                let req = if required.contains(&name.as_str()) { "required" } else { "optional" };
                s.push_str(&format!("      - {name}: {ty} ({req})\n"));
            }
            s.push('\n');
        }
        s
    }

    /// The environment as a journal record (its manifest as the spec and its state as the template).
    pub fn record(&self) -> Result<Record, AwmError> {
        let template = std::fs::read(&self.state_path).map_err(|e| AwmError::io(&self.state_path, e))?;
        let tables =
            rusqlite::Connection::open_with_flags(&self.state_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|c| {
                    c.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get::<_, u32>(0))
                })?;
        Ok(Record::Environment(Box::new(EnvironmentRow {
            env: self.manifest.name.clone(),
            spec_hash: self.hash.clone(),
            source: self.dir.display().to_string(),
            spec: serde_json::to_string(&self.manifest).map_err(|e| AwmError::Journal(e.to_string()))?,
            template,
            tables,
            tools: self.tools.len().max(self.manifest.tools.len()) as u32,
            tasks: self
                .manifest
                .tasks
                .iter()
                .map(|t| TaskRow {
                    task_id: t.id.clone(),
                    kind: Some("awm".into()),
                    instruction: t.instruction.clone(),
                    checks: u32::from(t.code_verifier.is_some()),
                    unchanged: Vec::new(),
                })
                .collect(),
            recorded_us: now_us(),
        })))
    }
}

/// Virtual time that passes per tool call (as in native environments' default `tick_seconds`).
pub const TICK_MS: i64 = 60_000;

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// How a step ended: the journal's taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    /// The app answered with an error (the agent's doing: an observation).
    ToolError,
    /// The bridge failed (never the agent's doing: the episode is never rewarded).
    InfraError,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::ToolError => "tool_error",
            StepStatus::InfraError => "infra_error",
        }
    }
}

/// One tool call of an imported environment's episode.
#[derive(Debug, Clone, Serialize)]
pub struct AwmStep {
    pub index: usize,
    pub tool: String,
    pub args: Value,
    /// What the agent sees, in AWM's words.
    pub observation: String,
    pub status: StepStatus,
    #[serde(skip)]
    pub changes: Vec<RowChange>,
    /// Wall time of the call, bridge included.
    pub duration_us: u64,
    /// Time inside the worker.
    pub handler_us: u64,
}

/// The verdict on an imported environment's episode.
#[derive(Debug, Clone, Serialize)]
pub struct AwmVerdict {
    /// `complete`, `incomplete` or `verifier_error` (no reward: not a zero).
    pub outcome: String,
    pub reward: Option<f64>,
    /// The code-mode verifier's return value.
    pub raw: Option<Value>,
    /// The sql-mode verifier's evidence for a judge, when the task has one that runs.
    pub evidence: Option<Value>,
    /// `code` (the code-mode verifier decided) or `judge` (an LLM judged the evidence); `None` without a verdict.
    pub decided_by: Option<String>,
    pub failures: Vec<(String, VerifierFailure)>,
}

/// A live episode of an imported environment.
pub struct AwmEpisode {
    id: EpisodeId,
    env: Arc<AwmEnvironment>,
    task: Option<usize>,
    placement: Option<Placement>,
    steps: Vec<AwmStep>,
    answer: Option<String>,
    verdict: Option<AwmVerdict>,
    failed: Option<String>,
    journal: Option<Arc<Journal>>,
    closed: bool,
}

impl std::fmt::Debug for AwmEpisode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwmEpisode").field("id", &self.id).field("env", &self.env.name()).finish_non_exhaustive()
    }
}

impl AwmEpisode {
    /// Opens an episode on a fresh copy of the environment's initial state (on the least busy worker).
    pub fn open(env: Arc<AwmEnvironment>, task: Option<&str>) -> Result<AwmEpisode, AwmError> {
        AwmEpisode::open_recorded(env, task, None)
    }

    /// [`AwmEpisode::open`], recording the episode (steps with their row changes, verdict, end) into `journal`.
    pub fn open_recorded(
        env: Arc<AwmEnvironment>,
        task: Option<&str>,
        journal: Option<Arc<Journal>>,
    ) -> Result<AwmEpisode, AwmError> {
        let task = match task {
            None => None,
            Some(id) => Some(
                env.manifest
                    .tasks
                    .iter()
                    .position(|t| t.id == id)
                    .ok_or_else(|| AwmError::UnknownTask { env: env.name().into(), task: id.into() })?,
            ),
        };
        let pool = env.pool.as_ref().ok_or_else(|| AwmError::NoApp { env: env.name().into() })?;
        let id = agentworld_runtime::episode::next_episode_id();
        let worker = pool.pick()?;
        worker.request("open", json!({ "app": env.name(), "episode": id }), pool.config().call_timeout)?;
        let ep = AwmEpisode {
            id,
            env,
            task,
            placement: Some(Placement::new(worker)),
            steps: Vec::new(),
            answer: None,
            verdict: None,
            failed: None,
            journal,
            closed: false,
        };
        ep.record(vec![Record::Opened(OpenedRow {
            episode: id,
            env: ep.env.name().into(),
            spec_hash: ep.env.spec_hash().into(),
            task: ep.task_id().map(str::to_string),
            group: None,
            parent: None,
            opened_us: now_us(),
        })])?;
        Ok(ep)
    }

    pub fn id(&self) -> EpisodeId {
        self.id
    }

    pub fn env(&self) -> &Arc<AwmEnvironment> {
        &self.env
    }

    pub fn task_id(&self) -> Option<&str> {
        self.task.map(|i| self.env.manifest.tasks[i].id.as_str())
    }

    pub fn steps(&self) -> &[AwmStep] {
        &self.steps
    }

    pub fn verdict(&self) -> Option<&AwmVerdict> {
        self.verdict.as_ref()
    }

    /// Why the episode failed (its worker died or hung): it takes no more calls and gets no verdict.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// The pid of the worker that holds the episode's state.
    pub fn worker_pid(&self) -> Option<u32> {
        self.placement.as_ref().map(|p| p.0.pid())
    }

    fn record(&self, records: Vec<Record>) -> Result<(), AwmError> {
        if let Some(j) = &self.journal {
            j.record(records).map_err(|e| AwmError::Journal(e.to_string()))?;
        }
        Ok(())
    }

    /// Calls a tool. App errors are observations (`tool_error`); a bridge failure fails the episode
    /// (`infra_error`).
    pub fn call(&mut self, tool: &str, args: &Value) -> &AwmStep {
        let started = Instant::now();
        let index = self.steps.len() + 1;
        let outcome: Result<CallReply, String> = if let Some(reason) = &self.failed {
            Err(format!("the episode failed and takes no more calls: {reason}"))
        } else if self.answer.is_some() {
            Err("the episode is finished".into())
        } else {
            self.forward(tool, args).map_err(|e| {
                let reason = e.to_string();
                self.failed = Some(reason.clone());
                reason
            })
        };
        let step = match outcome {
            Ok(reply) => AwmStep {
                index,
                tool: tool.into(),
                args: args.clone(),
                observation: reply.text,
                status: if reply.is_error { StepStatus::ToolError } else { StepStatus::Ok },
                changes: reply.changes,
                duration_us: started.elapsed().as_micros() as u64,
                handler_us: reply.handler_us,
            },
            Err(reason) => AwmStep {
                index,
                tool: tool.into(),
                args: args.clone(),
                observation: format!("Error calling {tool}: {reason}"),
                status: if self.failed.is_some() { StepStatus::InfraError } else { StepStatus::ToolError },
                changes: Vec::new(),
                duration_us: started.elapsed().as_micros() as u64,
                handler_us: 0,
            },
        };
        let record = self.step_record(&step);
        self.steps.push(step);
        if let Err(e) = self.record(vec![record]) {
            eprintln!("agentworld awm: recording step {index} of episode {}: {e}", self.id);
        }
        &self.steps[index - 1]
    }

    /// The virtual time of step `index` (1-based): the programs' `datetime.now()` during that call.
    fn virtual_time_ms(&self, index: usize) -> i64 {
        self.env.clock_ms + index as i64 * TICK_MS
    }

    fn forward(&self, tool: &str, args: &Value) -> Result<CallReply, BridgeError> {
        let placement = self.placement.as_ref().ok_or(BridgeError::ShutDown)?;
        let timeout = self.env.pool.as_ref().map(|p| p.config().call_timeout).unwrap_or_default();
        let now_ms = self.virtual_time_ms(self.steps.len() + 1);
        let body = json!({ "episode": self.id, "tool": tool, "args": args, "now_ms": now_ms });
        let reply = placement.0.request("call", body, timeout)?;
        serde_json::from_value(reply)
            .map_err(|e| BridgeError::Protocol { pid: placement.0.pid(), message: format!("call reply: {e}") })
    }

    fn step_record(&self, step: &AwmStep) -> Record {
        let ok = step.status == StepStatus::Ok;
        Record::Step(Box::new(StepRow {
            episode: self.id,
            step: step.index as u32,
            tool: step.tool.clone(),
            args: step.args.to_string(),
            status: step.status.as_str().into(),
            result: ok.then(|| Value::from(step.observation.clone()).to_string()),
            error_code: (!ok).then(|| step.status.as_str().to_string()),
            error: (!ok).then(|| step.observation.clone()),
            truncated: false,
            duration_us: step.duration_us,
            virtual_time_ms: self.virtual_time_ms(step.index),
            changeset: None,
            changes: step
                .changes
                .iter()
                .map(|c| ChangeRow {
                    table: c.table.clone(),
                    op: c.op.clone(),
                    key: c.key.clone(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                })
                .collect(),
        }))
    }

    /// Writes the episode's current state to `path` (a SQLite database file).
    pub fn save_state(&self, path: &Path) -> Result<(), AwmError> {
        if let Some(reason) = &self.failed {
            return Err(AwmError::Bridge(BridgeError::Failed { pid: 0, op: "save".into(), message: reason.clone() }));
        }
        let placement = self.placement.as_ref().ok_or(BridgeError::ShutDown)?;
        let timeout = self.env.pool.as_ref().map(|p| p.config().call_timeout).unwrap_or_default();
        placement.0.request("save", json!({ "episode": self.id, "path": path }), timeout)?;
        Ok(())
    }

    /// Ends the episode with the agent's answer and runs the task's verifiers on the initial and final states.
    pub fn finish(&mut self, answer: &str) -> Result<&AwmVerdict, AwmError> {
        if let Some(reason) = &self.failed {
            return Err(AwmError::Bridge(BridgeError::Failed { pid: 0, op: "finish".into(), message: reason.clone() }));
        }
        let task =
            self.task.ok_or_else(|| AwmError::UnknownTask { env: self.env.name().into(), task: "(none)".into() })?;
        self.answer.get_or_insert_with(|| answer.to_string());
        let scratch = tempfile::tempdir().map_err(|e| AwmError::Io { path: "tmp".into(), message: e.to_string() })?;
        let final_path = scratch.path().join("final.sqlite");
        if let Err(e) = self.save_state(&final_path) {
            self.failed = Some(e.to_string());
            self.end("infra_error", Some(e.to_string()))?;
            return Err(e);
        }
        let verdict = verify_task(&self.env, task, &final_path, answer);
        let record = Record::Verdict(Box::new(VerdictRow {
            episode: self.id,
            outcome: verdict.outcome.clone(),
            reward: verdict.reward.unwrap_or(f64::NAN),
            passed: u32::from(verdict.outcome == "complete"),
            total: 1,
            checks: json!({ "raw": verdict.raw, "evidence": verdict.evidence, "failures": verdict.failures })
                .to_string(),
            collateral: "[]".into(),
            answer: answer.into(),
            finished_us: now_us(),
        }));
        self.record(vec![record])?;
        self.end("finished", None)?;
        self.verdict = Some(verdict);
        self.verdict.as_ref().ok_or(AwmError::Journal("no verdict".into()))
    }

    fn end(&mut self, status: &str, cause: Option<String>) -> Result<(), AwmError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if let Some(p) = self.placement.take()
            && p.0.is_alive()
        {
            let _ = p.0.request("close", json!({ "episode": self.id }), std::time::Duration::from_secs(5));
        }
        self.record(vec![Record::Ended(EndedRow {
            episode: self.id,
            status: status.into(),
            cause,
            steps: self.steps.len() as u32,
            ended_us: now_us(),
        })])
    }

    /// Ends the episode without verifying it (`infra_error` if its worker was lost).
    pub fn close(mut self) -> Result<(), AwmError> {
        match self.failed.clone() {
            Some(reason) => self.end("infra_error", Some(reason)),
            None => self.end("closed", None),
        }
    }
}

impl Drop for AwmEpisode {
    fn drop(&mut self) {
        if !self.closed {
            let (status, cause) = match self.failed.clone() {
                Some(reason) => ("infra_error", Some(reason)),
                None => ("closed", None),
            };
            let _ = self.end(status, cause);
        }
    }
}

/// Runs task `task`'s verifiers of `env` against `final_db`: the code-mode verifier decides the reward, the
/// sql-mode one (when present and runnable) adds evidence for a judge.
pub fn verify_task(env: &AwmEnvironment, task: usize, final_db: &Path, answer: &str) -> AwmVerdict {
    let t = &env.manifest.tasks[task];
    let mut verdict = AwmVerdict {
        outcome: "verifier_error".into(),
        reward: None,
        raw: None,
        evidence: None,
        decided_by: None,
        failures: Vec::new(),
    };
    let read = |file: &str| std::fs::read_to_string(env.dir.join(file));
    match &t.code_verifier {
        None => verdict.failures.push((
            "code".into(),
            VerifierFailure { kind: "missing".into(), message: "the task has no code-mode verifier".into() },
        )),
        Some(file) => match read(file) {
            Err(e) => verdict
                .failures
                .push(("code".into(), VerifierFailure { kind: "infra".into(), message: format!("{file}: {e}") })),
            Ok(code) => match run_verifier(&env.verifier, &code, VerifierMode::Code, &env.state_path, final_db, answer)
            {
                Ok(VerifierOutput::Completion { complete, raw }) => {
                    verdict.outcome = if complete { "complete" } else { "incomplete" }.into();
                    verdict.reward = Some(if complete { 1.0 } else { 0.0 });
                    verdict.raw = Some(raw);
                    verdict.decided_by = Some("code".into());
                }
                Ok(VerifierOutput::Evidence(v)) => verdict.raw = Some(v),
                Err(f) => verdict.failures.push(("code".into(), f)),
            },
        },
    }
    if let Some(file) = &t.judge_verifier {
        match read(file) {
            Err(e) => verdict
                .failures
                .push(("sql".into(), VerifierFailure { kind: "infra".into(), message: format!("{file}: {e}") })),
            Ok(code) => {
                match run_verifier(&env.verifier, &code, VerifierMode::Sql, &env.state_path, final_db, answer) {
                    Ok(VerifierOutput::Evidence(v)) | Ok(VerifierOutput::Completion { raw: v, .. }) => {
                        verdict.evidence = Some(v)
                    }
                    Err(f) => verdict.failures.push(("sql".into(), f)),
                }
            }
        }
    }
    if let (None, Some(evidence), Some(judge)) = (verdict.reward, &verdict.evidence, env.judge.get()) {
        match judge.judge(&t.instruction, evidence, answer) {
            Ok(complete) => {
                verdict.outcome = if complete { "complete" } else { "incomplete" }.into();
                verdict.reward = Some(if complete { 1.0 } else { 0.0 });
                verdict.decided_by = Some("judge".into());
            }
            Err(message) => verdict.failures.push(("judge".into(), VerifierFailure { kind: "judge".into(), message })),
        }
    }
    verdict
}
