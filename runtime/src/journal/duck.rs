//! The DuckDB side of the record: its tables, one batch appended per transaction, and the bookkeeping that makes
//! recovery exact (`journal_state.wal_seq`, the last write-ahead-log frame committed, moves in the same
//! transaction as the rows).

use duckdb::{Appender, Connection, params};

use super::record::Record;

pub(crate) const SCHEMA: &str = "
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
CREATE TABLE IF NOT EXISTS episode_ends (
    episode_id UBIGINT, status VARCHAR, cause VARCHAR, steps INTEGER, ended_us BIGINT);
CREATE TABLE IF NOT EXISTS journal_state (wal_seq UBIGINT);
";

fn err(e: duckdb::Error) -> String {
    e.to_string()
}

/// The last write-ahead-log frame whose records are committed here (0: none).
pub(crate) fn applied_seq(conn: &Connection) -> Result<u64, String> {
    conn.query_row("SELECT coalesce(max(wal_seq), 0) FROM journal_state", [], |r| r.get::<_, u64>(0)).map_err(err)
}

/// Ends every episode that has no end yet as `interrupted`: run when a journal is opened, so these were left
/// open by a process that stopped. Returns how many.
pub(crate) fn mark_interrupted(conn: &Connection, cause: &str) -> Result<usize, String> {
    conn.execute(
        "INSERT INTO episode_ends
         SELECT e.episode_id, 'interrupted', ?, (SELECT count(*) FROM steps s WHERE s.episode_id = e.episode_id),
                epoch_us(now())
         FROM episodes e WHERE e.episode_id NOT IN (SELECT episode_id FROM episode_ends)",
        params![cause],
    )
    .map_err(err)
}

/// Appends `batch` and moves `journal_state` to `through_seq`, in one transaction.
pub(crate) fn write_batch(conn: &Connection, batch: Vec<Record>, through_seq: u64) -> Result<(), String> {
    let mut txn = Txn::begin(conn)?;
    txn.append(batch)?;
    txn.commit(through_seq)
}

/// Records appended between flushes of the appenders (DuckDB's vector size).
const FLUSH_ROWS: usize = 2048;

/// One DuckDB transaction of the journal, filled as records arrive and committed once: the writer appends
/// what each slice of its linger brought, so a commit's work is spread over the linger instead of landing on
/// the CPU at once (each commit used to take one core for 0.1-0.3 s, and calls queued behind it). Dropped
/// without [`Txn::commit`], it rolls back.
pub(crate) struct Txn<'c> {
    conn: &'c Connection,
    appenders: Option<Appenders<'c>>,
    records: usize,
    committed: bool,
}

impl<'c> Txn<'c> {
    pub(crate) fn begin(conn: &'c Connection) -> Result<Txn<'c>, String> {
        conn.execute_batch("BEGIN TRANSACTION").map_err(err)?;
        let mut txn = Txn { conn, appenders: None, records: 0, committed: false };
        txn.appenders = Some(Appenders::new(conn)?);
        Ok(txn)
    }

    /// Records appended so far.
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// Appends `batch` to the tables (inside the transaction: nobody sees it before the commit).
    pub(crate) fn append(&mut self, batch: Vec<Record>) -> Result<(), String> {
        let n = batch.len();
        let appenders = self.appenders.as_mut().ok_or("the transaction has ended")?;
        appenders.append(batch)?;
        // Rows reach the tables when the appenders flush: in steps of a DuckDB vector's worth (so each flush
        // fills whole vectors; flushing every slice's few hundred rows doubled the writer's CPU), not all at
        // the commit.
        if (self.records + n) / FLUSH_ROWS > self.records / FLUSH_ROWS {
            appenders.flush()?;
        }
        self.records += n;
        Ok(())
    }

    /// Moves `journal_state` to `through_seq` and commits.
    pub(crate) fn commit(mut self, through_seq: u64) -> Result<(), String> {
        if let Some(mut appenders) = self.appenders.take() {
            appenders.flush()?;
        }
        self.conn.execute("DELETE FROM journal_state", []).map_err(err)?;
        self.conn.execute("INSERT INTO journal_state VALUES (?)", params![through_seq]).map_err(err)?;
        self.conn.execute_batch("COMMIT").map_err(err)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.appenders.take());
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// An appender per table.
struct Appenders<'c> {
    envs: Appender<'c>,
    tasks: Appender<'c>,
    unchanged: Appender<'c>,
    episodes: Appender<'c>,
    steps: Appender<'c>,
    changes: Appender<'c>,
    changesets: Appender<'c>,
    verdicts: Appender<'c>,
    ends: Appender<'c>,
}

impl<'c> Appenders<'c> {
    fn new(conn: &'c Connection) -> Result<Appenders<'c>, String> {
        Ok(Appenders {
            envs: conn.appender("environments").map_err(err)?,
            tasks: conn.appender("tasks").map_err(err)?,
            unchanged: conn.appender("task_unchanged").map_err(err)?,
            episodes: conn.appender("episodes").map_err(err)?,
            steps: conn.appender("steps").map_err(err)?,
            changes: conn.appender("changes").map_err(err)?,
            changesets: conn.appender("changesets").map_err(err)?,
            verdicts: conn.appender("verdicts").map_err(err)?,
            ends: conn.appender("episode_ends").map_err(err)?,
        })
    }

    fn append(&mut self, batch: Vec<Record>) -> Result<(), String> {
        let Appenders { envs, tasks, unchanged, episodes, steps, changes, changesets, verdicts, ends } = self;
        for rec in batch {
            match rec {
                Record::Environment(e) => {
                    envs.append_row(params![
                        e.env,
                        e.spec_hash,
                        e.source,
                        e.spec,
                        e.template,
                        e.tables,
                        e.tools,
                        e.tasks.len() as u32,
                        e.recorded_us
                    ])
                    .map_err(err)?;
                    for t in &e.tasks {
                        tasks
                            .append_row(params![e.env, e.spec_hash, t.task_id, t.kind, t.instruction, t.checks])
                            .map_err(err)?;
                        for u in &t.unchanged {
                            unchanged.append_row(params![e.env, e.spec_hash, t.task_id, u]).map_err(err)?;
                        }
                    }
                }
                Record::Opened(o) => {
                    episodes
                        .append_row(params![
                            o.episode,
                            o.env,
                            o.spec_hash,
                            o.task,
                            o.group,
                            o.parent.map(|p| p.0),
                            o.parent.map(|p| p.1),
                            o.opened_us
                        ])
                        .map_err(err)?;
                }
                Record::Step(s) => {
                    steps
                        .append_row(params![
                            s.episode,
                            s.step,
                            s.tool,
                            s.args,
                            s.status,
                            s.result,
                            s.error_code,
                            s.error,
                            s.truncated,
                            s.duration_us as i64,
                            s.virtual_time_ms
                        ])
                        .map_err(err)?;
                    if let Some(cs) = &s.changeset {
                        changesets.append_row(params![s.episode, s.step, cs.as_slice()]).map_err(err)?;
                    }
                    for (seq, c) in s.changes.iter().enumerate() {
                        changes
                            .append_row(params![s.episode, s.step, seq as u32, c.table, c.op, c.key, c.before, c.after])
                            .map_err(err)?;
                    }
                }
                Record::Verdict(v) => {
                    verdicts
                        .append_row(params![
                            v.episode,
                            v.outcome,
                            v.reward,
                            v.passed,
                            v.total,
                            v.checks,
                            v.collateral,
                            v.answer,
                            v.finished_us
                        ])
                        .map_err(err)?;
                }
                Record::Ended(e) => {
                    ends.append_row(params![e.episode, e.status, e.cause, e.steps, e.ended_us]).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// Moves the appended rows into the tables (an appender buffers them until then).
    fn flush(&mut self) -> Result<(), String> {
        let Appenders { envs, tasks, unchanged, episodes, steps, changes, changesets, verdicts, ends } = self;
        for app in [envs, tasks, unchanged, episodes, steps, changes, changesets, verdicts, ends] {
            app.flush().map_err(err)?;
        }
        Ok(())
    }
}
