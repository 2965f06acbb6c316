//! Tools: a spec's SQL steps compiled once (parameters resolved to slots, statements checked by SQLite's
//! authorizer), then executed per call: validated arguments bound as parameters, all steps in one savepoint, the
//! row-level changeset of a write captured from SQLite's pre-update hook, the result shaped as JSON within limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode};
use serde_json::{Map, Value};

use crate::args::{self, ArgError};
use crate::error::ToolError;
use crate::json::{JsonText, JsonWriter, object_key};
use crate::spec::{Expect, Limits, ParamSpec, ResultShape, ToolSpec};
use crate::store::{CALL_SAVEPOINT, EpisodeDb};

/// A compiled tool, ready to run on any episode of its environment.
#[derive(Debug)]
pub struct Tool {
    pub spec: ToolSpec,
    params: Vec<(String, ParamSpec)>,
    steps: Vec<CompiledStep>,
    slots: usize,
    output_step: usize,
    cost: CallCost,
}

/// How much CPU time calls of one tool typically take, learnt from sampled calls on any episode (a moving
/// average): a runtime uses it to decide where a call runs (a call known to take microseconds is not worth a
/// hand-off to another thread).
#[derive(Debug)]
pub struct CallCost {
    /// Moving average in nanoseconds; `u64::MAX` until the first call.
    ewma_ns: AtomicU64,
}

impl Default for CallCost {
    fn default() -> Self {
        CallCost { ewma_ns: AtomicU64::new(u64::MAX) }
    }
}

impl CallCost {
    /// Adds one call's cost. [`CallCost::finish`] passes the CPU time the call's thread spent on it where
    /// [`thread_cpu_time`] is available, so a call whose thread was preempted mid-call on a busy machine does not
    /// look slow (wall-clock time counted that wait, and a burst of preempted calls sent a quick tool's next calls
    /// to workers). Concurrent updates may overwrite each other; an estimate loses nothing by that.
    pub fn observe(&self, took: Duration) {
        let x = took.as_nanos().min(u128::from(u64::MAX - 1)) as u64;
        let old = self.ewma_ns.load(Ordering::Relaxed);
        // Weight 1/8, and a call counts as at most twice the average: one call slowed by something else (its thread
        // preempted mid-call on a busy machine) moves the average up by an eighth at most, and the next calls are
        // not sent to workers for it; a run of slow calls still takes over (each raises it by up to 12.5%).
        let new = match old {
            u64::MAX => x,
            _ if x >= old => old + (x - old).min(old.max(8_000)) / 8,
            _ => old - (old - x) / 8,
        };
        self.ewma_ns.store(new, Ordering::Relaxed);
    }

    /// Starts measuring a call for the estimate. Every call is measured until the tool has an estimate, then one
    /// in [`COST_SAMPLE`] on each thread: reading a thread's CPU clock is a system call, and measuring every call
    /// cost about 1% of a quick call's CPU.
    pub fn start(&self) -> CostMeter {
        let sampled = self.typical().is_none()
            || SAMPLED_CALLS.with(|n| {
                n.set(n.get().wrapping_add(1));
                n.get() % COST_SAMPLE == 0
            });
        CostMeter { sampled, cpu: if sampled { thread_cpu_time() } else { None } }
    }

    /// Ends a measurement [`CallCost::start`] began: the call's CPU time joins the estimate (its wall-clock time
    /// `took` where the platform has no thread CPU clock); an unsampled call changes nothing. A call that ran out
    /// of time (`timed_out`: interrupted at a deadline or a budget) always counts, with its wall-clock time: it
    /// never finished, and on a busy machine its CPU time understates how long it needs.
    pub fn finish(&self, meter: CostMeter, took: Duration, timed_out: bool) {
        if timed_out {
            self.observe(took);
        } else if meter.sampled {
            let cpu = meter.cpu.zip(thread_cpu_time()).map(|(a, b)| b.saturating_sub(a));
            self.observe(cpu.unwrap_or(took));
        }
    }

    /// The typical duration of a call; `None` before the first call.
    pub fn typical(&self) -> Option<Duration> {
        let ns = self.ewma_ns.load(Ordering::Relaxed);
        (ns != u64::MAX).then(|| Duration::from_nanos(ns))
    }
}

/// One in this many calls (per thread) is measured for a tool's [`CallCost`] once it has an estimate.
pub const COST_SAMPLE: u32 = 8;

thread_local! {
    static SAMPLED_CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A call being measured for [`CallCost`]; from [`CallCost::start`].
#[derive(Debug)]
pub struct CostMeter {
    sampled: bool,
    cpu: Option<Duration>,
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`); `None` where the platform has no
/// per-thread CPU clock, and callers then fall back to wall-clock time. One system call, about 0.2 us.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    None
}

#[derive(Debug)]
struct CompiledStep {
    sql: String,
    is_guard: bool,
    /// (1-based SQLite parameter index, scope slot)
    binds: Vec<(usize, usize)>,
    expect: Expect,
    message: Option<Vec<Piece>>,
    /// (column, scope slot) captured from the row of an `expect = "one"/"optional"` step.
    captures: Vec<(usize, usize)>,
    /// For the output step: each result key (escaped, with its colon) and the column it is read from.
    columns: Vec<(String, usize)>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Slot(usize),
}

/// The result of a successful call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutput {
    pub result: JsonText,
    /// More rows matched than the limit allows; `result` holds the first `max_rows`.
    pub truncated: bool,
    /// Row-level changes of this call as a changeset ([`crate::changes`]; writes only; `None` when nothing changed).
    pub changeset: Option<Vec<u8>>,
}

/// A problem found while compiling a tool: the step it concerns (1-based) and what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct CompileProblem {
    pub step: Option<usize>,
    pub sql: Option<String>,
    pub message: String,
}

impl Tool {
    /// Compiles `spec` against `conn` (a fork of the template whose authorizer records denials into `denied`).
    pub(crate) fn compile(
        spec: &ToolSpec,
        conn: &Connection,
        denied: &Arc<Mutex<Vec<String>>>,
    ) -> Result<Tool, Vec<CompileProblem>> {
        let mut problems = Vec::new();
        let problem = |step: Option<usize>, sql: Option<&str>, message: String| CompileProblem {
            step,
            sql: sql.map(str::to_string),
            message,
        };
        let params: Vec<(String, ParamSpec)> = spec.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, p) in &params {
            if !is_identifier(name) {
                problems.push(problem(None, None, format!("parameter '{name}': name must be [A-Za-z_][A-Za-z0-9_]*")));
            }
            if p.required && p.default.is_some() {
                problems.push(problem(None, None, format!("parameter '{name}': both required and a default")));
            }
            if let Some(d) = &p.default
                && let Err(e) = args::check_value(name, p, d)
            {
                problems.push(problem(None, None, format!("parameter '{name}': default: {}", e.message)));
            }
            if let Some(allowed) = &p.allowed {
                for a in allowed {
                    let mut unrestricted = p.clone();
                    unrestricted.allowed = None;
                    if let Err(e) = args::check_value(name, &unrestricted, a) {
                        problems.push(problem(None, None, format!("parameter '{name}': enum value: {}", e.message)));
                    }
                }
            }
            if let (Some(lo), Some(hi)) = (p.minimum, p.maximum)
                && lo > hi
            {
                problems.push(problem(None, None, format!("parameter '{name}': minimum {lo} > maximum {hi}")));
            }
        }
        let step_specs = match (&spec.sql, &spec.steps) {
            (Some(sql), None) => vec![crate::spec::StepSpec {
                sql: Some(sql.clone()),
                guard: None,
                expect: Expect::Any,
                error: None,
                output: false,
            }],
            (None, Some(steps)) if !steps.is_empty() => steps.clone(),
            (None, Some(_)) => return Err(vec![problem(None, None, "`steps` is empty".into())]),
            (Some(_), Some(_)) => {
                return Err(vec![problem(None, None, "has both `sql` and `steps`; use one".into())]);
            }
            (None, None) => {
                return Err(vec![problem(None, None, "has neither `sql` nor `steps`".into())]);
            }
        };
        // Scope: names visible to `$name` and `{name}`, latest binding wins.
        let mut names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
        let mut steps = Vec::new();
        let mut any_write = false;
        let outputs: Vec<usize> = step_specs.iter().enumerate().filter(|(_, s)| s.output).map(|(i, _)| i).collect();
        let last_sql = step_specs.iter().rposition(|s| s.sql.is_some());
        let output_step = match (outputs.as_slice(), last_sql) {
            ([], Some(i)) => i,
            ([i], _) if step_specs[*i].sql.is_some() => *i,
            ([i], _) => {
                problems.push(problem(Some(i + 1), None, "`output` must mark a `sql` step".into()));
                *i
            }
            (many, _) if many.len() > 1 => {
                problems.push(problem(None, None, "more than one step has `output = true`".into()));
                many[0]
            }
            _ => {
                problems.push(problem(None, None, "has no `sql` step".into()));
                0
            }
        };
        for (i, s) in step_specs.iter().enumerate() {
            let n = i + 1;
            let (sql, is_guard, shown) = match (&s.sql, &s.guard) {
                (Some(sql), None) => (sql.trim().to_string(), false, sql.as_str()),
                (None, Some(g)) => (format!("SELECT ({})", g.trim()), true, g.as_str()),
                _ => {
                    problems.push(problem(Some(n), None, "a step needs exactly one of `sql` or `guard`".into()));
                    continue;
                }
            };
            if is_guard && (s.expect != Expect::Any || s.output) {
                problems.push(problem(Some(n), Some(shown), "a guard takes no `expect` or `output`".into()));
            }
            let first_word = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            if matches!(
                first_word.as_str(),
                "VACUUM" | "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "BEGIN" | "COMMIT" | "END"
            ) {
                let what = if first_word == "VACUUM" {
                    "VACUUM".to_string()
                } else {
                    format!("transaction control ({first_word})")
                };
                problems.push(problem(Some(n), Some(shown), format!("{what} is not allowed in tool SQL")));
                continue;
            }
            if let Ok(mut d) = denied.lock() {
                d.clear();
            }
            let stmt = match conn.prepare(&sql) {
                Ok(stmt) => stmt,
                Err(e) => {
                    let denials = denied.lock().map(|d| d.clone()).unwrap_or_default();
                    let message = if denials.is_empty() {
                        sql_message(&e)
                    } else {
                        format!("{} is not allowed in tool SQL", denials.join(", "))
                    };
                    problems.push(problem(Some(n), Some(shown), message));
                    continue;
                }
            };
            if !stmt.readonly() {
                any_write = true;
                if !spec.writes {
                    problems.push(problem(
                        Some(n),
                        Some(shown),
                        "this statement writes but the tool is not declared `writes = true`".into(),
                    ));
                }
            }
            let mut binds = Vec::new();
            for idx in 1..=stmt.parameter_count() {
                let Some(raw) = stmt.parameter_name(idx) else {
                    problems.push(problem(
                        Some(n),
                        Some(shown),
                        "positional `?` parameters are not allowed; use $name".into(),
                    ));
                    continue;
                };
                let name = &raw[1..];
                match names.iter().rposition(|x| x == name) {
                    Some(slot) => binds.push((idx, slot)),
                    None => problems.push(problem(
                        Some(n),
                        Some(shown),
                        format!("unknown parameter {raw}; in scope: {}", list_or_none(&names)),
                    )),
                }
            }
            let message = match &s.error {
                Some(text) => match parse_message(text, &names) {
                    Ok(pieces) => Some(pieces),
                    Err(m) => {
                        problems.push(problem(Some(n), Some(shown), m));
                        None
                    }
                },
                None => None,
            };
            let mut captures = Vec::new();
            if matches!(s.expect, Expect::One | Expect::Optional) {
                for (col, cname) in stmt.column_names().enumerate() {
                    names.push(cname.to_string());
                    captures.push((col, names.len() - 1));
                }
                if captures.is_empty() {
                    problems.push(problem(
                        Some(n),
                        Some(shown),
                        "`expect = \"one\"` needs a statement that returns columns".into(),
                    ));
                }
            }
            let columns = if i == output_step { output_columns(&stmt) } else { Vec::new() };
            steps.push(CompiledStep { sql, is_guard, binds, expect: s.expect, message, captures, columns });
        }
        if spec.writes && !any_write && problems.is_empty() {
            problems.push(problem(None, None, "declared `writes = true` but no statement writes".into()));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Tool { spec: spec.clone(), params, steps, slots: names.len(), output_step, cost: CallCost::default() })
    }

    /// How long this tool's calls have typically taken.
    pub fn cost(&self) -> &CallCost {
        &self.cost
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Declared parameters, in order.
    pub fn params(&self) -> &[(String, ParamSpec)] {
        &self.params
    }

    /// The parameters as a JSON Schema object (what MCP `tools/list` and OpenAI `tools` expect).
    ///
    /// ```
    /// # let env = agentworld_runtime::Environment::load("tests/fixtures/bookstore.toml".as_ref()).unwrap();
    /// let schema = env.tool("search_books").unwrap().input_schema();
    /// assert_eq!(schema["type"], "object");
    /// assert_eq!(schema["properties"]["query"]["type"], "string");
    /// ```
    pub fn input_schema(&self) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for (name, p) in &self.params {
            let mut s = Map::new();
            s.insert("type".into(), Value::from(p.ty.as_str()));
            if !p.description.is_empty() {
                s.insert("description".into(), Value::from(p.description.clone()));
            }
            if let Some(a) = &p.allowed {
                s.insert("enum".into(), Value::Array(a.clone()));
            }
            if let Some(d) = &p.default {
                s.insert("default".into(), d.clone());
            }
            for (key, v) in [("minimum", p.minimum), ("maximum", p.maximum)] {
                if let Some(x) = v.and_then(serde_json::Number::from_f64) {
                    s.insert(key.into(), Value::Number(x));
                }
            }
            let (min_key, max_key) = if p.ty == crate::spec::ParamType::Array {
                ("minItems", "maxItems")
            } else {
                ("minLength", "maxLength")
            };
            if let Some(m) = p.min_length {
                s.insert(min_key.into(), Value::from(m));
            }
            if let Some(m) = p.max_length {
                s.insert(max_key.into(), Value::from(m));
            }
            props.insert(name.clone(), Value::Object(s));
            if p.required {
                required.push(Value::from(name.clone()));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".into(), Value::from("object"));
        schema.insert("properties".into(), Value::Object(props));
        schema.insert("required".into(), Value::Array(required));
        schema.insert("additionalProperties".into(), Value::Bool(false));
        Value::Object(schema)
    }

    /// Validates arguments (the error says which argument, what was expected and what came).
    pub fn validate(&self, args: &Map<String, Value>, limits: &Limits) -> Result<Vec<SqlValue>, ToolError> {
        let size: usize = args.iter().map(|(k, v)| k.len() + 4 + args::approx_size(v)).sum();
        if size > limits.max_arg_bytes {
            return Err(ToolError::InvalidArguments {
                tool: self.spec.name.clone(),
                argument: None,
                message: format!("arguments are about {size} bytes; the limit is {}", limits.max_arg_bytes),
            });
        }
        args::validate_args(&self.params, args).map_err(|ArgError { argument, message }| ToolError::InvalidArguments {
            tool: self.spec.name.clone(),
            argument,
            message,
        })
    }

    /// Runs the tool on `db` with validated arguments, atomically. The virtual time must already be set.
    pub fn execute(&self, db: &EpisodeDb, bound: Vec<SqlValue>, limits: &Limits) -> Result<CallOutput, ToolError> {
        db.deadline.set(Duration::from_millis(limits.deadline_ms));
        let result = if self.spec.writes {
            self.execute_write(db, bound, limits)
        } else {
            self.run_steps(&db.conn, bound, limits)
        };
        db.deadline.clear();
        result.map_err(|e| match e {
            StepError::Tool(t) => t,
            StepError::Sql(step, e) => self.sql_error(step, &e, limits),
        })
    }

    fn execute_write(&self, db: &EpisodeDb, bound: Vec<SqlValue>, limits: &Limits) -> Result<CallOutput, StepError> {
        let conn = &db.conn;
        conn.prepare_cached(SAVEPOINT_SQL).and_then(|mut s| s.execute([])).map_err(|e| StepError::Sql(0, e))?;
        db.capture.start();
        let result = self.run_steps(conn, bound, limits);
        let changes = db.capture.finish();
        match result {
            Ok(mut out) => {
                conn.prepare_cached(RELEASE_SQL).and_then(|mut s| s.execute([])).map_err(|e| {
                    rollback(conn);
                    StepError::Sql(0, e)
                })?;
                out.changeset = (!changes.is_empty()).then(|| crate::changes::encode(&changes));
                Ok(out)
            }
            Err(e) => {
                rollback(conn);
                Err(e)
            }
        }
    }

    fn run_steps(&self, conn: &Connection, mut scope: Vec<SqlValue>, limits: &Limits) -> Result<CallOutput, StepError> {
        scope.resize(self.slots, SqlValue::Null);
        let mut output = CallOutput { result: JsonText::null(), truncated: false, changeset: None };
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let mut stmt = conn.prepare_cached(&step.sql).map_err(|e| StepError::Sql(n, e))?;
            for &(idx, slot) in &step.binds {
                stmt.raw_bind_parameter(idx, &scope[slot]).map_err(|e| StepError::Sql(n, e))?;
            }
            if step.is_guard {
                let mut rows = stmt.raw_query();
                let ok = match rows.next().map_err(|e| StepError::Sql(n, e))? {
                    Some(row) => truthy(row.get_ref(0).map_err(|e| StepError::Sql(n, e))?),
                    None => false,
                };
                if !ok {
                    return Err(self.rejected(n, step, &scope, "the request was refused"));
                }
                continue;
            }
            let is_output = i == self.output_step;
            // The output step's rows are written as JSON text as they come (see `crate::json`).
            let shape = self.spec.result;
            let mut json = JsonWriter::with_capacity(if is_output { 256 } else { 0 });
            if is_output && shape == ResultShape::Rows {
                json.raw("[");
            }
            let mut rows = stmt.raw_query();
            let (mut count, mut written) = (0usize, 0usize);
            while let Some(row) = rows.next().map_err(|e| StepError::Sql(n, e))? {
                count += 1;
                if count == 1 {
                    for &(col, slot) in &step.captures {
                        scope[slot] = row.get::<_, SqlValue>(col).map_err(|e| StepError::Sql(n, e))?;
                    }
                }
                if is_output {
                    if count > limits.max_rows {
                        output.truncated = true;
                        break;
                    }
                    let get = |c: usize| row.get_ref(c).map_err(|e| StepError::Sql(n, e));
                    // `rows` writes every row up to the limit; `row` and `value` only the first.
                    let first = written == 0;
                    if shape == ResultShape::Rows || (shape == ResultShape::Row && first) {
                        json.raw(if first { "{" } else { ",{" });
                        for (k, (key, col)) in step.columns.iter().enumerate() {
                            if k > 0 {
                                json.raw(",");
                            }
                            json.raw(key);
                            json.sql(get(*col)?);
                        }
                        json.raw("}");
                        written += 1;
                    } else if shape == ResultShape::Value && first {
                        match step.columns.first() {
                            Some((_, col)) => json.sql(get(*col)?),
                            None => json.raw("null"),
                        }
                        written += 1;
                    }
                    if json.len() > limits.max_result_bytes {
                        return Err(StepError::Tool(ToolError::TooLarge {
                            tool: self.spec.name.clone(),
                            bytes: json.len(),
                            limit: limits.max_result_bytes,
                        }));
                    }
                } else if !matches!(step.expect, Expect::One | Expect::Optional | Expect::None) || count > 1 {
                    break;
                }
            }
            drop(rows);
            let changed = conn.changes();
            let failed = match step.expect {
                Expect::Any => false,
                Expect::One => count != 1,
                Expect::Optional => count > 1,
                Expect::Some => count == 0,
                Expect::None => count != 0,
                Expect::Changed => changed == 0,
            };
            if failed {
                let default = match step.expect {
                    Expect::One => "expected exactly one matching row",
                    Expect::Optional => "expected at most one matching row",
                    Expect::Some => "nothing matched",
                    Expect::None => "a conflicting record already exists",
                    _ => "nothing was changed",
                };
                return Err(self.rejected(n, step, &scope, default));
            }
            if is_output {
                match shape {
                    ResultShape::Rows => json.raw("]"),
                    ResultShape::Row | ResultShape::Value if written == 0 => json.raw("null"),
                    ResultShape::Changes => {
                        json.raw("{\"changes\":");
                        json.sql(ValueRef::Integer(changed as i64));
                        json.raw("}");
                    }
                    _ => {}
                }
                output.result = JsonText::from_writer(json);
            }
        }
        Ok(output)
    }

    fn rejected(&self, n: usize, step: &CompiledStep, scope: &[SqlValue], default: &str) -> StepError {
        let message = match &step.message {
            Some(pieces) => pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => t.clone(),
                    Piece::Slot(s) => display_value(&scope[*s]),
                })
                .collect(),
            None => default.to_string(),
        };
        StepError::Tool(ToolError::Rejected { tool: self.spec.name.clone(), step: n, message })
    }

    fn sql_error(&self, step: usize, e: &rusqlite::Error, limits: &Limits) -> ToolError {
        if let rusqlite::Error::SqliteFailure(f, _) = e
            && f.code == ErrorCode::OperationInterrupted
        {
            return ToolError::Timeout { tool: self.spec.name.clone(), deadline_ms: limits.deadline_ms };
        }
        ToolError::Sql { tool: self.spec.name.clone(), step, message: sql_message(e) }
    }
}

enum StepError {
    Tool(ToolError),
    Sql(usize, rusqlite::Error),
}

const SAVEPOINT_SQL: &str = "SAVEPOINT aw_call";
const RELEASE_SQL: &str = "RELEASE aw_call";

fn rollback(conn: &Connection) {
    debug_assert_eq!(CALL_SAVEPOINT, "aw_call");
    // Errors here mean the savepoint is already gone (SQLite rolled back on its own); nothing more to undo.
    let _ = conn.prepare_cached("ROLLBACK TO aw_call").and_then(|mut s| s.execute([]));
    let _ = conn.prepare_cached(RELEASE_SQL).and_then(|mut s| s.execute([]));
}

/// The message of an SQLite error without rusqlite's wrapping.
pub(crate) fn sql_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

/// SQLite's truth: a non-zero number.
pub(crate) fn truthy(v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Integer(i) => i != 0,
        ValueRef::Real(f) => f != 0.0,
        ValueRef::Text(t) => {
            std::str::from_utf8(t).ok().and_then(|s| s.trim().parse::<f64>().ok()).is_some_and(|f| f != 0.0)
        }
        ValueRef::Null | ValueRef::Blob(_) => false,
    }
}

/// An SQLite value as JSON (blobs as lower-case hex).
pub fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// The output columns of `stmt` as result keys, like inserting them into a JSON object in order: a name that
/// comes twice keeps its first place and takes the later column's value.
fn output_columns(stmt: &rusqlite::Statement<'_>) -> Vec<(String, usize)> {
    let names: Vec<&str> = stmt.column_names().collect();
    let mut columns: Vec<(String, usize)> = Vec::with_capacity(names.len());
    for (col, name) in names.iter().enumerate() {
        match columns.iter_mut().find(|(_, c)| names[*c] == *name) {
            Some(slot) => slot.1 = col,
            None => columns.push((object_key(name), col)),
        }
    }
    columns
}

fn display_value(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "null".into(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(t) => t.clone(),
        SqlValue::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

fn parse_message(text: &str, names: &[String]) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        if !is_identifier(name) {
            pieces.push(Piece::Text(rest[..open + close + 1].to_string()));
            rest = &rest[open + close + 1..];
            continue;
        }
        pieces.push(Piece::Text(rest[..open].to_string()));
        match names.iter().rposition(|x| x == name) {
            Some(slot) => pieces.push(Piece::Slot(slot)),
            None => {
                return Err(format!(
                    "error message refers to {{{name}}}, which is not in scope; in scope: {}",
                    list_or_none(names)
                ));
            }
        }
        rest = &rest[open + close + 1..];
    }
    pieces.push(Piece::Text(rest.to_string()));
    Ok(pieces)
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() { "nothing".into() } else { names.join(", ") }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn thread_cpu_time_counts_work_and_not_waiting() {
        let before = thread_cpu_time().expect("a per-thread CPU clock on unix");
        std::thread::sleep(Duration::from_millis(30));
        let slept = thread_cpu_time().expect("clock") - before;
        assert!(slept < Duration::from_millis(10), "30 ms asleep counted {slept:?} of CPU time");
        let (start, wall) = (thread_cpu_time().expect("clock"), std::time::Instant::now());
        let mut x = 0u64;
        while thread_cpu_time().expect("clock") - start < Duration::from_millis(3) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            assert!(wall.elapsed() < Duration::from_secs(20), "3 ms of work never showed on the thread's clock");
        }
    }

    #[test]
    fn every_call_is_measured_until_there_is_an_estimate_then_one_in_cost_sample() {
        let cost = CallCost::default();
        assert!((0..3).all(|_| cost.start().sampled), "a tool without an estimate measures every call");
        cost.finish(cost.start(), Duration::from_millis(1), false);
        let estimate = cost.typical().expect("measured once");
        let sampled = (0..COST_SAMPLE * 8).filter(|_| cost.start().sampled).count();
        assert_eq!(sampled, 8);
        let unsampled = std::iter::repeat_with(|| cost.start()).find(|m| !m.sampled).expect("most calls are not");
        cost.finish(unsampled, Duration::from_secs(1), false);
        assert_eq!(cost.typical(), Some(estimate), "an unsampled call leaves the estimate alone");
        let unsampled = std::iter::repeat_with(|| cost.start()).find(|m| !m.sampled).expect("most calls are not");
        cost.finish(unsampled, Duration::from_secs(1), true);
        assert!(cost.typical() > Some(estimate), "a call that ran out of time always counts");
    }

    #[test]
    fn one_slow_call_does_not_make_a_tool_typically_slow_but_a_run_of_them_does() {
        let cost = CallCost::default();
        assert_eq!(cost.typical(), None);
        for _ in 0..20 {
            cost.observe(Duration::from_micros(20));
        }
        assert_eq!(cost.typical(), Some(Duration::from_micros(20)));
        // A call whose thread was preempted for 5 ms: the estimate moves by an eighth of twice itself at most.
        cost.observe(Duration::from_millis(5));
        assert_eq!(cost.typical(), Some(Duration::from_nanos(22_500)));
        for _ in 0..30 {
            cost.observe(Duration::from_micros(20));
        }
        assert!(cost.typical().unwrap() < Duration::from_micros(21));
        // A tool that has become slow for good takes over within a few dozen calls.
        for _ in 0..40 {
            cost.observe(Duration::from_millis(5));
        }
        assert!(cost.typical().unwrap() > Duration::from_millis(1), "{:?}", cost.typical());
        // And coming back down follows at once (by an eighth of the difference each call).
        for _ in 0..60 {
            cost.observe(Duration::from_micros(20));
        }
        assert!(cost.typical().unwrap() < Duration::from_micros(100), "{:?}", cost.typical());
    }
}
