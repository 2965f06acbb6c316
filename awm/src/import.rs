//! `agentworld import-awm`: turns the dataset's rows into environment folders ([`crate::manifest`]).
//!
//! The state is built with AWM's own semantics on the engine's SQLite (AWM's SQL is SQLite): per table its DDL
//! then its indexes (an error skips the rest of that table), then every INSERT with foreign keys on, where a
//! failing statement is skipped and reported. `datetime('now', ...)` and `CURRENT_TIMESTAMP` resolve against the
//! environment's virtual clock, so the same rows always build the same bytes.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde_json::Value;

use crate::dataset::{Dataset, ScenarioRows};
use crate::error::AwmError;
use crate::manifest::{AwmTask, DeclaredParam, DeclaredTool, MANIFEST, Manifest};

/// The clock imported states are built at unless `--clock` says otherwise.
pub const DEFAULT_CLOCK: &str = "2026-01-01T00:00:00Z";

/// Where the data comes from (written into every manifest).
pub const ATTRIBUTION: &str = "Snowflake/AgentWorldModel-1K (CC-BY-4.0), Wang et al., arXiv 2602.10090";

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub out: PathBuf,
    /// Only these scenarios (normalised names); all when empty.
    pub scenarios: Vec<String>,
    pub clock: String,
    /// A Python interpreter to syntax-check verifiers with (skipped when `None`).
    pub python: Option<PathBuf>,
}

/// What happened to one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    /// Written (an environment folder exists), or skipped (nothing to build a state from).
    pub written: bool,
    pub tables_created: usize,
    pub tables_failed: usize,
    /// Rows per table after loading.
    pub rows: Vec<(String, i64)>,
    pub inserts_ok: usize,
    /// Statements that failed, with the table and SQLite's reason.
    pub skipped: Vec<String>,
    pub tasks: usize,
    pub tools_declared: usize,
    pub has_app: bool,
    pub code_verifiers: usize,
    pub judge_verifiers: usize,
    /// Parts of the dataset this scenario lacks.
    pub missing: Vec<String>,
    /// Verifier problems (null code, syntax errors), `task-N (mode): why`.
    pub verifier_problems: Vec<String>,
    /// Rows of the dataset seen twice (the first was used).
    pub duplicates: Vec<String>,
}

/// The whole import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub data_dir: String,
    pub out: String,
    pub scenarios: Vec<ScenarioReport>,
    pub missing_files: Vec<String>,
    pub bad_rows: Vec<String>,
    /// Requested scenarios the dataset does not have.
    pub unknown_scenarios: Vec<String>,
}

impl ImportReport {
    /// A short human summary, one line per scenario.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for r in &self.scenarios {
            let rows: i64 = r.rows.iter().map(|(_, n)| n).sum();
            s.push_str(&format!(
                "{:<32} {} tables ({} failed), {} rows, {} inserts skipped, {} tasks, {} tools, app {}, verifiers {}+{}{}{}\n",
                r.scenario,
                r.tables_created,
                r.tables_failed,
                rows,
                r.skipped.len(),
                r.tasks,
                r.tools_declared,
                if r.has_app { "yes" } else { "no" },
                r.code_verifiers,
                r.judge_verifiers,
                if r.missing.is_empty() { String::new() } else { format!("; missing: {}", r.missing.join(", ")) },
                if r.written { "" } else { " (not written)" },
            ));
            for p in &r.verifier_problems {
                s.push_str(&format!("    verifier problem: {p}\n"));
            }
            for p in r.skipped.iter().take(5) {
                s.push_str(&format!("    skipped: {p}\n"));
            }
        }
        for b in &self.bad_rows {
            s.push_str(&format!("bad row: {b}\n"));
        }
        for u in &self.unknown_scenarios {
            s.push_str(&format!("not in the dataset: {u}\n"));
        }
        s
    }
}

/// Imports every (selected) scenario of `data_dir` into `options.out`, one folder each, and writes
/// `import-report.json` beside them.
pub fn import_dataset(data_dir: &Path, options: &ImportOptions) -> Result<ImportReport, AwmError> {
    let data = Dataset::read(data_dir)?;
    let clock_ms = agentworld_runtime::clock::parse_rfc3339(&options.clock)
        .map_err(|e| AwmError::Scenario { scenario: "*".into(), message: format!("--clock: {e}") })?;
    std::fs::create_dir_all(&options.out).map_err(|e| AwmError::io(&options.out, e))?;
    let wanted: Vec<String> = options.scenarios.iter().map(|s| crate::dataset::normalize_name(s)).collect();
    let mut report = ImportReport {
        data_dir: data_dir.display().to_string(),
        out: options.out.display().to_string(),
        missing_files: data.missing_files.clone(),
        bad_rows: data.bad_rows.clone(),
        unknown_scenarios: wanted.iter().filter(|w| !data.scenarios.contains_key(*w)).cloned().collect(),
        ..ImportReport::default()
    };
    for (name, rows) in &data.scenarios {
        if !wanted.is_empty() && !wanted.contains(name) {
            continue;
        }
        report.scenarios.push(import_scenario(rows, clock_ms, options)?);
    }
    let path = options.out.join("import-report.json");
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| AwmError::Io { path: path.clone(), message: e.to_string() })?;
    std::fs::write(&path, text).map_err(|e| AwmError::io(&path, e))?;
    Ok(report)
}

fn import_scenario(rows: &ScenarioRows, clock_ms: i64, options: &ImportOptions) -> Result<ScenarioReport, AwmError> {
    let mut r = ScenarioReport {
        scenario: rows.name.clone(),
        duplicates: rows.duplicates.clone(),
        has_app: rows.app_code.is_some(),
        ..ScenarioReport::default()
    };
    for (part, present) in [
        ("description (gen_scenario)", rows.description.is_some()),
        ("tasks (gen_tasks)", rows.tasks.is_some()),
        ("schema (gen_db)", rows.tables.is_some()),
        ("seed data (gen_sample)", rows.samples.is_some()),
        ("tool spec (gen_spec)", rows.api_groups.is_some()),
        ("Python program (gen_envs)", rows.app_code.is_some()),
        ("code verifiers (gen_verifier.pure_code)", !rows.code_verifiers.is_empty()),
        ("judge verifiers (gen_verifier)", !rows.judge_verifiers.is_empty()),
    ] {
        if !present {
            r.missing.push(part.to_string());
        }
    }
    let Some(tables) = &rows.tables else {
        return Ok(r); // no schema: no state, nothing to run
    };
    let mut conn = build_state(tables, rows.samples.as_deref().unwrap_or(&[]), clock_ms, &mut r)?;
    let dir = options.out.join(&rows.name);
    std::fs::create_dir_all(dir.join("verifiers")).map_err(|e| AwmError::io(&dir, e))?;
    let image = conn.serialize(rusqlite::MAIN_DB)?;
    write(&dir.join("state.sqlite"), &image)?;
    if let Some(code) = &rows.app_code {
        write(&dir.join("app.py"), code.as_bytes())?;
    }
    let tools = declared_tools(rows.api_groups.as_deref().unwrap_or(&[]));
    r.tools_declared = tools.len();
    let instructions = rows.tasks.clone().unwrap_or_default();
    let count = instructions
        .len()
        .max(rows.code_verifiers.keys().max().map_or(0, |m| m + 1))
        .max(rows.judge_verifiers.keys().max().map_or(0, |m| m + 1));
    let mut tasks = Vec::new();
    for index in 0..count {
        let id = format!("task-{index}");
        let mut task = AwmTask {
            id: id.clone(),
            index,
            instruction: instructions.get(index).cloned().unwrap_or_default(),
            code_verifier: None,
            judge_verifier: None,
            problems: Vec::new(),
        };
        if task.instruction.is_empty() {
            task.problems.push("no instruction in gen_tasks".into());
        }
        for (mode, map, file) in [
            ("code", &rows.code_verifiers, format!("verifiers/{id}.code.py")),
            ("sql", &rows.judge_verifiers, format!("verifiers/{id}.judge.py")),
        ] {
            match map.get(&index) {
                // A scenario with no verifiers of this mode at all is reported once, under `missing`.
                None if map.is_empty() => {}
                None => task.problems.push(format!("no {mode}-mode verifier")),
                Some(v) => match &v.code {
                    None => task.problems.push(format!("{mode}-mode verifier has null code ({})", v.origin)),
                    Some(code) => {
                        write(&dir.join(&file), code.as_bytes())?;
                        match mode {
                            "code" => (task.code_verifier = Some(file), r.code_verifiers += 1),
                            _ => (task.judge_verifier = Some(file), r.judge_verifiers += 1),
                        };
                    }
                },
            }
        }
        tasks.push(task);
    }
    if let Some(python) = &options.python {
        syntax_check(python, &dir, &mut tasks)?;
    }
    for t in &tasks {
        for p in &t.problems {
            r.verifier_problems.push(format!("{}: {p}", t.id));
        }
    }
    r.tasks = instructions.len();
    let manifest = Manifest {
        format: 1,
        name: rows.name.clone(),
        description: rows.description.clone().unwrap_or_default(),
        source: ATTRIBUTION.into(),
        clock: options.clock.clone(),
        state: "state.sqlite".into(),
        app: rows.app_code.as_ref().map(|_| "app.py".to_string()),
        tools,
        tasks,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| AwmError::Io { path: dir.clone(), message: e.to_string() })?;
    write(&dir.join(MANIFEST), text.as_bytes())?;
    r.written = true;
    Ok(r)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), AwmError> {
    std::fs::write(path, bytes).map_err(|e| AwmError::io(path, e))
}

/// Builds the initial state the way AWM does, on the virtual clock.
pub fn build_state(
    tables: &[Value],
    samples: &[Value],
    clock_ms: i64,
    r: &mut ScenarioReport,
) -> Result<Connection, AwmError> {
    agentworld_runtime::clock::ensure_registered()
        .map_err(|e| AwmError::Scenario { scenario: r.scenario.clone(), message: e })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_MEMORY;
    let conn = Connection::open_with_flags_and_vfs(":memory:", flags, agentworld_runtime::clock::VFS_NAME)?;
    agentworld_runtime::clock::at(clock_ms, || -> Result<(), AwmError> {
        for (i, t) in tables.iter().enumerate() {
            let name = t.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
            let Some(ddl) = t.get("ddl").and_then(Value::as_str) else {
                r.tables_failed += 1;
                r.skipped.push(format!("table {name} (#{}): no DDL", i + 1));
                continue;
            };
            let indexes = t.get("indexes").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut statements = vec![ddl.to_string()];
            statements.extend(indexes.iter().filter_map(|x| x.as_str().map(str::to_string)));
            let mut created = false;
            for (k, sql) in statements.iter().enumerate() {
                if let Err(e) = conn.execute_batch(sql) {
                    let what = if k == 0 { "DDL".to_string() } else { format!("index {k}") };
                    r.skipped.push(format!("table {name}: {what} failed ({e}); rest of the table skipped"));
                    break;
                }
                created |= k == 0;
            }
            if created { r.tables_created += 1 } else { r.tables_failed += 1 }
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
        for t in samples {
            let table = t.get("table_name").and_then(Value::as_str).unwrap_or("?");
            for (k, sql) in t.get("insert_statements").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let Some(sql) = sql.as_str() else { continue };
                match conn.execute(sql, []) {
                    Ok(_) => r.inserts_ok += 1,
                    Err(e) => r.skipped.push(format!("{table} insert {}: {e}", k + 1)),
                }
            }
        }
        Ok(())
    })?;
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?;
    let names: Vec<String> = stmt.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    drop(stmt);
    for name in names {
        let n: i64 =
            conn.query_row(&format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")), [], |row| row.get(0))?;
        r.rows.push((name, n));
    }
    Ok(conn)
}

/// `gen_spec`'s endpoints as tool declarations (parameters merged, AWM's `float` as JSON Schema's `number`).
fn declared_tools(groups: &[Value]) -> Vec<DeclaredTool> {
    let mut tools = Vec::new();
    for g in groups {
        for e in g.get("endpoints").and_then(Value::as_array).into_iter().flatten() {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let name = s("operation_id");
            if name.is_empty() {
                continue;
            }
            let summary = s("summary");
            let description = match (summary.is_empty(), s("description")) {
                (_, d) if d.is_empty() => summary,
                (true, d) => d,
                (false, d) => format!("{summary}\n\n{d}"),
            };
            let params = e
                .get("request_params")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(pname, p)| {
                    let ty = match p.get("type").and_then(Value::as_str).unwrap_or("string") {
                        "float" | "double" | "number" => "number",
                        "int" | "integer" => "integer",
                        "bool" | "boolean" => "boolean",
                        "array" | "list" => "array",
                        "object" | "dict" => "object",
                        _ => "string",
                    };
                    DeclaredParam {
                        name: pname.clone(),
                        ty: ty.into(),
                        location: p.get("param_type").and_then(Value::as_str).unwrap_or("query").into(),
                        required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                        description: p.get("description").and_then(Value::as_str).unwrap_or("").into(),
                    }
                })
                .collect();
            tools.push(DeclaredTool { name, description, method: s("method").to_uppercase(), path: s("path"), params });
        }
    }
    tools
}

/// Compiles every written verifier with `python` (no code runs) and records syntax errors on the task.
fn syntax_check(python: &Path, dir: &Path, tasks: &mut [AwmTask]) -> Result<(), AwmError> {
    let files: Vec<String> =
        tasks.iter().flat_map(|t| [t.code_verifier.clone(), t.judge_verifier.clone()]).flatten().collect();
    if files.is_empty() {
        return Ok(());
    }
    const CHECK: &str = "import json, sys\nout = {}\nfor f in sys.argv[1:]:\n    try:\n        compile(open(f, encoding='utf-8').read(), f, 'exec')\n    except SyntaxError as e:\n        out[f] = f'{e.msg} (line {e.lineno})'\nprint(json.dumps(out))\n";
    let output = std::process::Command::new(python)
        .arg("-I")
        .arg("-c")
        .arg(CHECK)
        .args(files.iter().map(|f| dir.join(f)))
        .env_clear()
        .output()
        .map_err(|e| AwmError::Io {
            path: python.to_path_buf(),
            message: format!("cannot run Python to check verifiers: {e}"),
        })?;
    let errors: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout).map_err(|e| AwmError::Io {
        path: python.to_path_buf(),
        message: format!("verifier check printed no result ({e}): {}", String::from_utf8_lossy(&output.stderr)),
    })?;
    for t in tasks.iter_mut() {
        for (mode, file) in [("code", &mut t.code_verifier), ("sql", &mut t.judge_verifier)] {
            let Some(f) = file.clone() else { continue };
            if let Some(why) = errors.get(&dir.join(&f).display().to_string()).and_then(Value::as_str) {
                t.problems.push(format!("{mode}-mode verifier ({f}) has a Python syntax error: {why}"));
            }
        }
    }
    Ok(())
}
