//! The record: a DuckDB file holding environments (spec and template image), episodes, steps, row-level changes
//! (decoded and as raw changesets, so any state can be rebuilt), and verdicts.
//!
//! Producers (episodes, on any thread) hand records to [`Journal`], which sends them over a bounded channel to one
//! writer thread that owns the DuckDB connection. The writer collects what arrives within a short linger (20 ms, or
//! until a flush is requested) and appends it in one transaction with DuckDB appenders (group commit), so DuckDB's
//! per-statement and per-commit costs are paid per batch, not per step. A full channel blocks producers:
//! backpressure instead of unbounded memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use duckdb::params;

use crate::changes;
use crate::env::Environment;
use crate::episode::{Episode, EpisodeId, Step};
use crate::error::{EngineError, EngineResult};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS environments (
    env VARCHAR, spec_hash VARCHAR, source VARCHAR, spec VARCHAR, template BLOB,
    tables INTEGER, tools INTEGER, tasks INTEGER, recorded_us BIGINT);
CREATE TABLE IF NOT EXISTS tasks (
    env VARCHAR, spec_hash VARCHAR, task_id VARCHAR, kind VARCHAR, instruction VARCHAR, checks INTEGER);
CREATE TABLE IF NOT EXISTS task_unchanged (env VARCHAR, spec_hash VARCHAR, task_id VARCHAR, table_name VARCHAR);
CREATE TABLE IF NOT EXISTS episodes (
    episode_id UBIGINT, env VARCHAR, spec_hash VARCHAR, task_id VARCHAR, group_id UBIGINT,
    parent_id UBIGINT, parent_step INTEGER, opened_us BIGINT);
CREATE TABLE IF NOT EXISTS steps (
    episode_id UBIGINT, step INTEGER, tool VARCHAR, args VARCHAR, status VARCHAR, result VARCHAR,
    error_code VARCHAR, error VARCHAR, truncated BOOLEAN, duration_us BIGINT, virtual_time_ms BIGINT);
CREATE TABLE IF NOT EXISTS changes (
    episode_id UBIGINT, step INTEGER, seq INTEGER, table_name VARCHAR, op VARCHAR,
    key VARCHAR, before VARCHAR, after VARCHAR);
CREATE TABLE IF NOT EXISTS changesets (episode_id UBIGINT, step INTEGER, changeset BLOB);
CREATE TABLE IF NOT EXISTS verdicts (
    episode_id UBIGINT, outcome VARCHAR, reward DOUBLE, passed INTEGER, total INTEGER,
    checks VARCHAR, collateral VARCHAR, answer VARCHAR, finished_us BIGINT);
";

/// One thing to record.
pub enum Record {
    Environment(Arc<Environment>),
    EpisodeOpened {
        episode: EpisodeId,
        env: Arc<Environment>,
        task: Option<String>,
        group: Option<u64>,
        parent: Option<(EpisodeId, usize)>,
    },
    Step {
        episode: EpisodeId,
        env: Arc<Environment>,
        step: Box<Step>,
    },
    Verdict {
        episode: EpisodeId,
        verdict: crate::verify::Verdict,
        answer: String,
    },
}

/// How long the writer waits for more records before committing a batch.
const LINGER: Duration = Duration::from_millis(20);
/// Most records in one commit.
const MAX_BATCH: usize = 50_000;

enum Msg {
    Records(Vec<Record>),
    Flush(SyncSender<Result<(), String>>),
}

/// Handle to the record. Cheap to clone; the writer thread stops when the last handle is dropped (after
/// writing everything queued).
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Option<SyncSender<Msg>>,
    worker: Option<JoinHandle<()>>,
    path: PathBuf,
    written: Arc<AtomicU64>,
    failed: Arc<std::sync::Mutex<Option<String>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Journal {
    /// Opens (or creates) the record at `path` and starts its writer thread.
    pub fn open(path: &Path) -> EngineResult<Journal> {
        let config = duckdb::Config::default().threads(1)?.with("async_threads", "0")?;
        let conn = duckdb::Connection::open_with_flags(path, config)?;
        conn.execute_batch(SCHEMA)?;
        let (tx, rx) = sync_channel::<Msg>(4096);
        let written = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(std::sync::Mutex::new(None));
        let (w, f) = (written.clone(), failed.clone());
        let worker =
            std::thread::Builder::new().name("agentworld-journal".into()).spawn(move || writer_loop(conn, rx, w, f))?;
        Ok(Journal {
            inner: Arc::new(Inner { tx: Some(tx), worker: Some(worker), path: path.to_path_buf(), written, failed }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// Queues records (blocks while the writer is a full channel behind).
    pub fn record(&self, records: Vec<Record>) -> EngineResult<()> {
        if let Some(e) = self.inner.failed.lock().ok().and_then(|f| f.clone()) {
            return Err(EngineError::Journal(e));
        }
        let tx = self.inner.tx.as_ref().ok_or_else(|| EngineError::Journal("journal closed".into()))?;
        tx.send(Msg::Records(records)).map_err(|_| EngineError::Journal("journal writer stopped".into()))
    }

    /// Waits until everything queued before this call is written.
    pub fn flush(&self) -> EngineResult<()> {
        let (tx, rx) = sync_channel(1);
        let sender = self.inner.tx.as_ref().ok_or_else(|| EngineError::Journal("journal closed".into()))?;
        sender.send(Msg::Flush(tx)).map_err(|_| EngineError::Journal("journal writer stopped".into()))?;
        rx.recv().map_err(|_| EngineError::Journal("journal writer stopped".into()))?.map_err(EngineError::Journal)
    }

    pub fn record_environment(&self, env: &Arc<Environment>) -> EngineResult<()> {
        self.record(vec![Record::Environment(env.clone())])
    }

    /// Records a whole episode: its opening, every step and, if finished, its verdict.
    pub fn record_episode(&self, ep: &Episode, group: Option<u64>) -> EngineResult<()> {
        let mut recs = vec![opened(ep, group)];
        recs.extend(ep.steps().iter().map(|s| Record::Step {
            episode: ep.id(),
            env: ep.env().clone(),
            step: Box::new(s.clone()),
        }));
        if let (Some(v), Some(a)) = (ep.verdict(), ep.answer()) {
            recs.push(Record::Verdict { episode: ep.id(), verdict: v.clone(), answer: a.to_string() });
        }
        self.record(recs)
    }

    pub fn record_opened(&self, ep: &Episode, group: Option<u64>) -> EngineResult<()> {
        self.record(vec![opened(ep, group)])
    }

    pub fn record_step(&self, ep: &Episode, step: &Step) -> EngineResult<()> {
        self.record(vec![Record::Step { episode: ep.id(), env: ep.env().clone(), step: Box::new(step.clone()) }])
    }

    pub fn record_verdict(&self, ep: &Episode) -> EngineResult<()> {
        match (ep.verdict(), ep.answer()) {
            (Some(v), Some(a)) => {
                self.record(vec![Record::Verdict { episode: ep.id(), verdict: v.clone(), answer: a.to_string() }])
            }
            _ => Ok(()),
        }
    }
}

fn opened(ep: &Episode, group: Option<u64>) -> Record {
    Record::EpisodeOpened {
        episode: ep.id(),
        env: ep.env().clone(),
        task: ep.task_id().map(str::to_string),
        group,
        parent: ep.lineage().map(|l| (l.parent, l.at_step)),
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn writer_loop(
    conn: duckdb::Connection,
    rx: Receiver<Msg>,
    written: Arc<AtomicU64>,
    failed: Arc<std::sync::Mutex<Option<String>>>,
) {
    let mut batch: Vec<Record> = Vec::new();
    let mut waiters: Vec<SyncSender<Result<(), String>>> = Vec::new();
    let mut open = true;
    while open || !batch.is_empty() {
        // Block for the first message, then take whatever else is queued (group commit).
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Records(r)) => batch.extend(r),
            Ok(Msg::Flush(w)) => waiters.push(w),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        // Linger briefly so one commit (DuckDB syncs its WAL per commit) carries many records; a flush request
        // ends the wait at once.
        let linger_until = std::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH && waiters.is_empty() {
            let left = linger_until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || batch.is_empty() {
                break;
            }
            match rx.recv_timeout(left) {
                Ok(Msg::Records(r)) => batch.extend(r),
                Ok(Msg::Flush(w)) => waiters.push(w),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let n = batch.len() as u64;
        let result = if batch.is_empty() { Ok(()) } else { write_batch(&conn, std::mem::take(&mut batch)) };
        match &result {
            Ok(()) => {
                written.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                if let Ok(mut f) = failed.lock() {
                    *f = Some(e.clone());
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(result.clone());
        }
    }
    let _ = conn.execute_batch("CHECKPOINT");
}

fn write_batch(conn: &duckdb::Connection, batch: Vec<Record>) -> Result<(), String> {
    let e = |e: duckdb::Error| e.to_string();
    conn.execute_batch("BEGIN TRANSACTION").map_err(e)?;
    let result = (|| -> Result<(), String> {
        let mut envs = conn.appender("environments").map_err(e)?;
        let mut tasks = conn.appender("tasks").map_err(e)?;
        let mut unchanged = conn.appender("task_unchanged").map_err(e)?;
        let mut episodes = conn.appender("episodes").map_err(e)?;
        let mut steps = conn.appender("steps").map_err(e)?;
        let mut changes_app = conn.appender("changes").map_err(e)?;
        let mut changesets = conn.appender("changesets").map_err(e)?;
        let mut verdicts = conn.appender("verdicts").map_err(e)?;
        for rec in batch {
            match rec {
                Record::Environment(env) => {
                    let spec = serde_json::to_string(&env.spec).map_err(|x| x.to_string())?;
                    envs.append_row(params![
                        env.name(),
                        env.spec_hash(),
                        env.source.path.display().to_string(),
                        spec,
                        env.template().image(),
                        env.tables().len() as i64,
                        env.tools().len() as i64,
                        env.tasks().len() as i64,
                        now_us()
                    ])
                    .map_err(e)?;
                    for t in env.tasks() {
                        tasks
                            .append_row(params![
                                env.name(),
                                env.spec_hash(),
                                t.id(),
                                t.spec.kind.as_deref(),
                                t.spec.instruction.as_str(),
                                t.spec.verify.len() as i64
                            ])
                            .map_err(e)?;
                        for u in &t.unchanged {
                            unchanged
                                .append_row(params![env.name(), env.spec_hash(), t.id(), u.as_str()])
                                .map_err(e)?;
                        }
                    }
                }
                Record::EpisodeOpened { episode, env, task, group, parent } => {
                    episodes
                        .append_row(params![
                            episode,
                            env.name(),
                            env.spec_hash(),
                            task,
                            group,
                            parent.map(|p| p.0),
                            parent.map(|p| p.1 as i64),
                            now_us()
                        ])
                        .map_err(e)?;
                }
                Record::Step { episode, env, step } => {
                    let (status, result, code, error) = match &step.result {
                        Ok(v) => ("ok", Some(v.to_string()), None, None),
                        Err(err) => {
                            let status = match err {
                                e if e.is_timeout() => "timeout",
                                crate::error::ToolError::EpisodeFailed { .. } => "infra_error",
                                _ => "tool_error",
                            };
                            (status, None, Some(err.code()), Some(err.to_string()))
                        }
                    };
                    steps
                        .append_row(params![
                            episode,
                            step.index as i64,
                            step.tool.as_str(),
                            step.args.to_string(),
                            status,
                            result,
                            code,
                            error,
                            step.truncated,
                            step.duration_us as i64,
                            step.virtual_time_ms
                        ])
                        .map_err(e)?;
                    if let Some(cs) = &step.changeset {
                        changesets.append_row(params![episode, step.index as i64, cs.as_slice()]).map_err(e)?;
                        let decoded = changes::decode(cs, env.tables()).map_err(|x| x.to_string())?;
                        for (seq, c) in decoded.iter().enumerate() {
                            changes_app
                                .append_row(params![
                                    episode,
                                    step.index as i64,
                                    seq as i64,
                                    c.table.as_str(),
                                    c.op.as_str(),
                                    serde_json::Value::from(c.key.clone()).to_string(),
                                    c.before.as_ref().map(|b| serde_json::Value::Object(b.clone()).to_string()),
                                    c.after.as_ref().map(|a| serde_json::Value::Object(a.clone()).to_string())
                                ])
                                .map_err(e)?;
                        }
                    }
                }
                Record::Verdict { episode, verdict, answer } => {
                    verdicts
                        .append_row(params![
                            episode,
                            verdict.outcome.as_str(),
                            verdict.reward,
                            verdict.passed() as i64,
                            verdict.checks.len() as i64,
                            serde_json::to_string(&verdict.checks).map_err(|x| x.to_string())?,
                            serde_json::to_string(&verdict.collateral).map_err(|x| x.to_string())?,
                            answer,
                            now_us()
                        ])
                        .map_err(e)?;
                }
            }
        }
        for app in [
            &mut envs,
            &mut tasks,
            &mut unchanged,
            &mut episodes,
            &mut steps,
            &mut changes_app,
            &mut changesets,
            &mut verdicts,
        ] {
            app.flush().map_err(e)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(e),
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}
