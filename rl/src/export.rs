//! Training data for external trainers (verl, TRL): every finished episode of a journal as step samples with the
//! episode's group-relative advantage (GRPO over the episodes opened together as a group, computed with the
//! kernels crate exactly as training does), in JSONL and Parquet.
//!
//! Files written to the output folder (columns documented in `docs/export.md`):
//! - `steps.jsonl` / `steps.parquet`: one row per decision (each tool call, then the final answer), with the last
//!   `window` turns before it (AWM's history-aware samples: default 3, at most 20).
//! - `episodes.jsonl` / `episodes.parquet`: one row per episode.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use agentworld_kernels::{Backend, GrpoConfig};
use serde::Serialize;
use serde_json::{Value, json};

/// Most turns a step sample may carry (AWM's limit).
pub const MAX_WINDOW: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("--window {0}: at most {MAX_WINDOW} turns")]
    Window(usize),
    #[error("journal {path}: {message}")]
    Journal { path: PathBuf, message: String },
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("advantages: {0}")]
    Kernel(#[from] agentworld_kernels::KernelError),
}

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    pub window: usize,
    pub jsonl: bool,
    pub parquet: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { window: 3, jsonl: true, parquet: true }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub episodes: usize,
    pub steps: usize,
    pub groups: usize,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
struct EpisodeRow {
    episode_id: u64,
    env: String,
    task_id: String,
    group_id: Option<u64>,
    instruction: String,
    answer: String,
    steps: usize,
    reward: f64,
    advantage: f64,
    outcome: String,
}

#[derive(Debug, Clone, Serialize)]
struct StepRow {
    episode_id: u64,
    env: String,
    task_id: String,
    group_id: Option<u64>,
    step: usize,
    instruction: String,
    /// JSON array of the previous turns kept by the window: `{"tool", "arguments", "observation"}`.
    history: String,
    /// JSON: `{"tool", "arguments"}` or `{"answer"}`.
    action: String,
    /// The tool's result (JSON text) or error message; null for the final answer.
    observation: Option<String>,
    /// `ok`, `tool_error`, `timeout`, `infra_error`, or `answer`.
    status: String,
    is_final: bool,
    reward: f64,
    advantage: f64,
    outcome: String,
}

/// A journaled call: (tool, arguments JSON, status, result or error).
type JournalStep = (String, String, String, Option<String>);

fn journal_err(path: &Path) -> impl Fn(duckdb::Error) -> ExportError + '_ {
    move |e| ExportError::Journal { path: path.to_path_buf(), message: e.to_string() }
}

/// Exports `journal` into `out`.
pub fn export(journal: &Path, out: &Path, opts: ExportOptions) -> Result<ExportReport, ExportError> {
    if opts.window > MAX_WINDOW {
        return Err(ExportError::Window(opts.window));
    }
    // Opening through the engine replays what a killed process acknowledged into DuckDB first.
    drop(
        agentworld_runtime::Journal::open(journal)
            .map_err(|e| ExportError::Journal { path: journal.to_path_buf(), message: e.to_string() })?,
    );
    let jerr = journal_err(journal);
    let db = duckdb::Connection::open(journal).map_err(&jerr)?;
    let mut stmt = db
        .prepare(
            "SELECT e.episode_id, e.env, e.task_id, e.group_id, coalesce(t.instruction, ''), coalesce(v.answer, ''),
                    v.reward, v.outcome
             FROM episodes e JOIN verdicts v USING (episode_id)
             LEFT JOIN tasks t ON t.env = e.env AND t.spec_hash = e.spec_hash AND t.task_id = e.task_id
             ORDER BY e.group_id NULLS LAST, e.episode_id",
        )
        .map_err(&jerr)?;
    let mut episodes: Vec<EpisodeRow> = stmt
        .query_map([], |r| {
            Ok(EpisodeRow {
                episode_id: r.get(0)?,
                env: r.get(1)?,
                task_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                group_id: r.get(3)?,
                instruction: r.get(4)?,
                answer: r.get(5)?,
                steps: 0,
                reward: r.get(6)?,
                advantage: 0.0,
                outcome: r.get(7)?,
            })
        })
        .map_err(&jerr)?
        .collect::<Result<_, _>>()
        .map_err(&jerr)?;
    // GRPO advantages per group (an episode outside any group is its own group: advantage 0).
    let mut offsets = vec![0u32];
    for i in 1..=episodes.len() {
        let boundary =
            i == episodes.len() || episodes[i].group_id.is_none() || episodes[i].group_id != episodes[i - 1].group_id;
        if boundary {
            offsets.push(i as u32);
        }
    }
    let rewards: Vec<f32> = episodes.iter().map(|e| e.reward as f32).collect();
    let mut adv = vec![0.0f32; rewards.len()];
    Backend::cpu().grpo(&rewards, &offsets, None, &GrpoConfig::default(), &mut adv)?;
    for (e, a) in episodes.iter_mut().zip(&adv) {
        e.advantage = *a as f64;
    }
    // Steps, in order, per episode.
    let mut stmt = db
        .prepare("SELECT episode_id, step, tool, args, status, result, error FROM steps ORDER BY episode_id, step")
        .map_err(&jerr)?;
    let mut by_episode: HashMap<u64, Vec<JournalStep>> = HashMap::new();
    let rows = stmt
        .query_map([], |r| {
            let result: Option<String> = r.get(5)?;
            let error: Option<String> = r.get(6)?;
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                result.or(error),
            ))
        })
        .map_err(&jerr)?;
    for row in rows {
        let (id, tool, args, status, obs) = row.map_err(&jerr)?;
        by_episode.entry(id).or_default().push((tool, args, status, obs));
    }
    let mut steps = Vec::new();
    for e in episodes.iter_mut() {
        let calls = by_episode.remove(&e.episode_id).unwrap_or_default();
        e.steps = calls.len();
        let turn = |c: &(String, String, String, Option<String>)| json!({ "tool": c.0, "arguments": serde_json::from_str::<Value>(&c.1).unwrap_or(Value::String(c.1.clone())), "observation": c.3 });
        for i in 0..=calls.len() {
            let history: Vec<Value> = calls[i.saturating_sub(opts.window)..i].iter().map(turn).collect();
            let (action, observation, status, is_final) = if i < calls.len() {
                let c = &calls[i];
                let args = serde_json::from_str::<Value>(&c.1).unwrap_or(Value::String(c.1.clone()));
                (json!({ "tool": c.0, "arguments": args }), c.3.clone(), c.2.clone(), false)
            } else {
                (json!({ "answer": e.answer }), None, "answer".to_string(), true)
            };
            steps.push(StepRow {
                episode_id: e.episode_id,
                env: e.env.clone(),
                task_id: e.task_id.clone(),
                group_id: e.group_id,
                step: i + 1,
                instruction: e.instruction.clone(),
                history: Value::Array(history).to_string(),
                action: action.to_string(),
                observation,
                status,
                is_final,
                reward: e.reward,
                advantage: e.advantage,
                outcome: e.outcome.clone(),
            });
        }
    }
    std::fs::create_dir_all(out).map_err(|e| ExportError::Write { path: out.to_path_buf(), message: e.to_string() })?;
    let mut files = Vec::new();
    let steps_jsonl = out.join("steps.jsonl");
    let episodes_jsonl = out.join("episodes.jsonl");
    write_jsonl(&steps_jsonl, &steps)?;
    write_jsonl(&episodes_jsonl, &episodes)?;
    if opts.parquet {
        let mem = duckdb::Connection::open_in_memory().map_err(&jerr)?;
        for (src, cols, name) in
            [(&steps_jsonl, STEP_COLUMNS, "steps.parquet"), (&episodes_jsonl, EPISODE_COLUMNS, "episodes.parquet")]
        {
            let dest = out.join(name);
            let sql = format!(
                "COPY (SELECT * FROM read_json('{}', format = 'newline_delimited', columns = {{{cols}}})) TO '{}' (FORMAT PARQUET)",
                sql_path(src),
                sql_path(&dest)
            );
            mem.execute_batch(&sql).map_err(|e| ExportError::Write { path: dest.clone(), message: e.to_string() })?;
            files.push(dest);
        }
    }
    if opts.jsonl {
        files.push(steps_jsonl);
        files.push(episodes_jsonl);
    } else {
        let _ = std::fs::remove_file(&steps_jsonl);
        let _ = std::fs::remove_file(&episodes_jsonl);
    }
    Ok(ExportReport { episodes: episodes.len(), steps: steps.len(), groups: offsets.len() - 1, files })
}

const STEP_COLUMNS: &str = "episode_id: 'UBIGINT', env: 'VARCHAR', task_id: 'VARCHAR', group_id: 'UBIGINT', step: 'INTEGER', \
    instruction: 'VARCHAR', history: 'VARCHAR', action: 'VARCHAR', observation: 'VARCHAR', status: 'VARCHAR', \
    is_final: 'BOOLEAN', reward: 'DOUBLE', advantage: 'DOUBLE', outcome: 'VARCHAR'";
const EPISODE_COLUMNS: &str = "episode_id: 'UBIGINT', env: 'VARCHAR', task_id: 'VARCHAR', group_id: 'UBIGINT', \
    instruction: 'VARCHAR', answer: 'VARCHAR', steps: 'INTEGER', reward: 'DOUBLE', advantage: 'DOUBLE', outcome: 'VARCHAR'";

fn sql_path(p: &Path) -> String {
    p.display().to_string().replace('\'', "''")
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), ExportError> {
    let err = |e: String| ExportError::Write { path: path.to_path_buf(), message: e };
    let f = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
    let mut w = std::io::BufWriter::new(f);
    for r in rows {
        serde_json::to_writer(&mut w, r).map_err(|e| err(e.to_string()))?;
        w.write_all(b"\n").map_err(|e| err(e.to_string()))?;
    }
    w.flush().map_err(|e| err(e.to_string()))
}
