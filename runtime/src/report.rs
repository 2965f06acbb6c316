//! Cross-episode questions answered with DuckDB over the record: pass rates, reward distribution, what episodes
//! changed, and collateral damage (changes to tables a task declared unchanged).

use std::path::Path;

use duckdb::types::Value;
use serde::Serialize;

use crate::error::EngineResult;

/// One result table of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Section {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The questions the report answers, as SQL over the record's tables.
pub const QUERIES: &[(&str, &str)] = &[
    (
        "record",
        "SELECT (SELECT count(DISTINCT env) FROM environments) AS environments,
                (SELECT count(*) FROM episodes) AS episodes,
                (SELECT count(*) FROM steps) AS steps,
                (SELECT count(*) FROM changes) AS row_changes,
                (SELECT count(*) FROM verdicts) AS verdicts",
    ),
    (
        "pass rate per environment",
        "SELECT e.env, count(*) AS episodes,
                round(avg(CASE WHEN v.outcome = 'complete' THEN 1 ELSE 0 END), 3) AS pass_rate,
                round(avg(v.reward), 3) AS mean_reward
         FROM episodes e JOIN verdicts v USING (episode_id) GROUP BY e.env ORDER BY e.env",
    ),
    (
        "pass rate per task",
        "SELECT e.env, e.task_id, count(*) AS episodes,
                round(avg(CASE WHEN v.outcome = 'complete' THEN 1 ELSE 0 END), 3) AS pass_rate,
                round(avg(v.reward), 3) AS mean_reward,
                round(avg(v.passed::DOUBLE / greatest(v.total, 1)), 3) AS mean_checks_passed
         FROM episodes e JOIN verdicts v USING (episode_id) GROUP BY e.env, e.task_id ORDER BY e.env, e.task_id",
    ),
    (
        "reward distribution",
        "SELECT outcome, reward, count(*) AS episodes, round(count(*) / sum(count(*)) OVER (), 3) AS share
         FROM verdicts GROUP BY outcome, reward ORDER BY reward DESC",
    ),
    (
        "step outcomes",
        "SELECT status, coalesce(error_code, '') AS error_code, count(*) AS steps,
                round(quantile_cont(duration_us, 0.5), 1) AS p50_us, round(quantile_cont(duration_us, 0.99), 1) AS p99_us
         FROM steps GROUP BY status, error_code ORDER BY steps DESC",
    ),
    (
        "how episodes ended",
        "SELECT status, count(*) AS episodes, round(avg(steps), 1) AS mean_steps,
                coalesce(any_value(cause), '') AS example_cause
         FROM episode_ends GROUP BY status ORDER BY episodes DESC",
    ),
    (
        "tables changed",
        "SELECT e.env, c.table_name, c.op, count(*) AS rows, count(DISTINCT c.episode_id) AS episodes
         FROM changes c JOIN episodes e USING (episode_id)
         GROUP BY e.env, c.table_name, c.op ORDER BY e.env, c.table_name, c.op",
    ),
    (
        "collateral damage (changes to tables the task declared unchanged)",
        "WITH u AS (SELECT DISTINCT env, spec_hash, task_id, table_name FROM task_unchanged)
         SELECT e.env, e.task_id, c.table_name, count(DISTINCT c.episode_id) AS episodes, count(*) AS rows
         FROM changes c JOIN episodes e USING (episode_id)
         JOIN u ON u.env = e.env AND u.spec_hash = e.spec_hash AND u.task_id = e.task_id AND u.table_name = c.table_name
         GROUP BY e.env, e.task_id, c.table_name ORDER BY episodes DESC, e.env, e.task_id",
    ),
];

/// Runs every report query against the record at `path` (opened read-only).
pub fn report(path: &Path) -> EngineResult<Vec<Section>> {
    let config =
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?.threads(1)?.with("async_threads", "0")?;
    let conn = duckdb::Connection::open_with_flags(path, config)?;
    QUERIES.iter().map(|(title, sql)| query(&conn, title, sql)).collect()
}

/// Runs one query and renders every value as text.
pub fn query(conn: &duckdb::Connection, title: &str, sql: &str) -> EngineResult<Section> {
    let mut stmt = conn.prepare(sql)?;
    let ncols = stmt.column_count();
    let mut rows_out = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(ncols);
        for i in 0..ncols {
            cells.push(render(row.get::<_, Value>(i)?));
        }
        rows_out.push(cells);
    }
    drop(rows);
    let columns = stmt.column_names();
    Ok(Section { title: title.to_string(), columns, rows: rows_out })
}

fn render(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(x) => x.to_string(),
        Value::SmallInt(x) => x.to_string(),
        Value::Int(x) => x.to_string(),
        Value::BigInt(x) => x.to_string(),
        Value::HugeInt(x) => x.to_string(),
        Value::UTinyInt(x) => x.to_string(),
        Value::USmallInt(x) => x.to_string(),
        Value::UInt(x) => x.to_string(),
        Value::UBigInt(x) => x.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Double(x) => x.to_string(),
        Value::Text(s) => s,
        other => format!("{other:?}"),
    }
}

/// Renders sections as aligned plain-text tables.
pub fn render_text(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("== {} ==\n", s.title));
        out.push_str(&render_table(&s.columns, &s.rows));
        out.push('\n');
    }
    out
}

/// An aligned plain-text table.
pub fn render_table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(columns);
    out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    for r in rows {
        out.push_str(&line(r));
    }
    out
}
