//! The six stages (AWM's five, with scenarios first), each validated by execution, each retried with the
//! concrete validation error appended to the conversation (self-correction, at most [`MAX_TRIES`] tries).
//! Nothing the model writes is ever run as code: schema, data, tools and checks are SQL run by the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentworld_runtime::spec::{
    CheckSpec, EnvMeta, EnvSpec, Limits, RewardSpec, SourceText, SqlBlock, TaskSpec, ToolSpec,
};
use agentworld_runtime::{Environment, Episode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::SynthError;
use crate::llm::Chat;

/// Tries per stage and draft, the first included.
pub const MAX_TRIES: usize = 5;

/// The version of the prompts in `synth/prompts/` (recorded in every report).
pub const PROMPT_VERSION: &str = "2026-11-26.1";

/// The virtual clock of synthesized environments.
pub const CLOCK: &str = "2026-01-01T00:00:00Z";

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Scenarios,
    Tasks,
    Schema,
    Data,
    Tools,
    Verifiers,
}

impl Stage {
    pub const ALL: [Stage; 6] =
        [Stage::Scenarios, Stage::Tasks, Stage::Schema, Stage::Data, Stage::Tools, Stage::Verifiers];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Scenarios => "scenarios",
            Stage::Tasks => "tasks",
            Stage::Schema => "schema",
            Stage::Data => "data",
            Stage::Tools => "tools",
            Stage::Verifiers => "verifiers",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn template(self) -> &'static str {
        match self {
            Stage::Scenarios => include_str!("../prompts/scenarios.md"),
            Stage::Tasks => include_str!("../prompts/tasks.md"),
            Stage::Schema => include_str!("../prompts/schema.md"),
            Stage::Data => include_str!("../prompts/data.md"),
            Stage::Tools => include_str!("../prompts/tools.md"),
            Stage::Verifiers => include_str!("../prompts/verifiers.md"),
        }
    }
}

const SYSTEM: &str = include_str!("../prompts/system.md");

/// A seed: a kind of everyday service to base scenarios on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Why a draft left the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub stage: Stage,
    pub reason: String,
}

/// One environment on its way through the stages: the JSONL record the stage commands read and write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, Map<String, Value>>,
    /// Tasks that passed self-validation, with their checks and reference solutions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<TaskSpec>,
    /// Tasks given up after the last try, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<Dropped>,
}

impl Draft {
    /// The environment spec of a draft that went through every stage.
    pub fn spec(&self) -> EnvSpec {
        EnvSpec {
            env: EnvMeta {
                name: self.name.clone(),
                description: self.description.clone(),
                clock: CLOCK.into(),
                tick_seconds: 60,
            },
            schema: SqlBlock { sql: self.schema.clone().unwrap_or_default() },
            seed: self.data.clone().map(|sql| SqlBlock { sql }),
            limits: Limits::default(),
            reward: RewardSpec::default(),
            tools: self.tools.clone(),
            tasks: self.verified.clone(),
        }
    }
}

/// What one stage did for one draft.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageOutcome {
    pub tries: usize,
    pub passed: bool,
}

/// Fills `{{key}}` placeholders.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{{{k}}}}}"), v);
    }
    s
}

/// The first JSON object in a reply (models sometimes wrap it in prose or fences despite the instructions).
pub fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    let start = text.find('{').ok_or("the reply contains no JSON object")?;
    let end = text.rfind('}').ok_or("the reply contains no JSON object")?;
    if end < start {
        return Err("the reply contains no JSON object".into());
    }
    match serde_json::from_str::<Value>(&text[start..=end]) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the reply is not a JSON object".into()),
        Err(e) => Err(format!("the reply is not valid JSON: {e} (line {}, column {})", e.line(), e.column())),
    }
}

/// Runs one stage's conversation: ask, validate, and on failure ask again with the error, up to [`MAX_TRIES`].
/// `Err` carries the last validation error (the draft is dropped) or an endpoint failure.
fn converse<T>(
    chat: &Chat,
    stage: Stage,
    prompt: String,
    mut check: impl FnMut(&str) -> Result<T, String>,
) -> Result<(T, usize), (Result<String, SynthError>, usize)> {
    let mut messages = vec![json!({"role": "system", "content": SYSTEM}), json!({"role": "user", "content": prompt})];
    let mut last = String::new();
    for tries in 1..=MAX_TRIES {
        let reply = match chat.complete(stage.as_str(), &messages) {
            Ok(r) => r,
            Err(e) => return Err((Err(e), tries)),
        };
        match check(&reply) {
            Ok(v) => return Ok((v, tries)),
            Err(problem) => {
                last = problem.clone();
                messages.push(json!({"role": "assistant", "content": reply}));
                messages.push(json!({"role": "user", "content": format!(
                    "That reply failed validation:\n{problem}\nFix exactly this and reply with the whole corrected JSON object."
                )}));
            }
        }
    }
    Err((Ok(last), MAX_TRIES))
}

fn list(items: &[String]) -> String {
    items.iter().enumerate().map(|(i, t)| format!("{}. {t}", i + 1)).collect::<Vec<_>>().join("\n")
}

/// Lower-case, `[a-z0-9_]`, at most 40 characters.
pub fn env_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches('_').chars().take(40).collect::<String>().trim_end_matches('_').to_string()
}

/// The scenarios stage for one slot: a concrete application from seed `seed`, variant `variant`.
pub fn scenario(
    chat: &Chat,
    seed: &Seed,
    variant: usize,
) -> Result<(Draft, usize), (Result<String, SynthError>, usize)> {
    let prompt = fill(
        Stage::Scenarios.template(),
        &[
            ("seed", seed.name.clone()),
            ("seed_description", seed.description.clone()),
            ("variant", variant.to_string()),
        ],
    );
    converse(chat, Stage::Scenarios, prompt, |reply| {
        let o = json_object(reply)?;
        let name = env_name(o.get("name").and_then(Value::as_str).ok_or("missing string \"name\"")?);
        let description = o.get("description").and_then(Value::as_str).ok_or("missing string \"description\"")?.trim();
        if name.len() < 3 {
            return Err("\"name\" must have at least 3 letters or digits".into());
        }
        if description.split_whitespace().count() < 8 {
            return Err("\"description\" must be two to four sentences".into());
        }
        Ok(Draft { name, description: description.to_string(), seed: Some(seed.name.clone()), ..Draft::default() })
    })
}

/// Runs stage `stage` (after scenarios) on `draft`, filling its field. Returns the tries used.
pub fn run_stage(chat: &Chat, stage: Stage, draft: &mut Draft) -> Result<usize, (Result<String, SynthError>, usize)> {
    let tasks = list(&draft.tasks);
    let schema = draft.schema.clone().unwrap_or_default();
    let base = vec![("name", draft.name.clone()), ("description", draft.description.clone()), ("tasks", tasks)];
    match stage {
        Stage::Scenarios => Err((Ok("the scenarios stage runs per seed, not per draft".into()), 0)),
        Stage::Tasks => {
            let mut vars = base;
            vars.push(("task_count", "10".into()));
            let (tasks, tries) = converse(chat, stage, fill(stage.template(), &vars), check_tasks)?;
            draft.tasks = tasks;
            Ok(tries)
        }
        Stage::Schema => {
            let (sql, tries) = converse(chat, stage, fill(stage.template(), &base), |reply| {
                let sql = string_field(reply, "schema")?;
                check_schema(&sql)?;
                Ok(sql)
            })?;
            draft.schema = Some(sql);
            Ok(tries)
        }
        Stage::Data => {
            let mut vars = base;
            vars.push(("schema", schema.clone()));
            let (sql, tries) = converse(chat, stage, fill(stage.template(), &vars), |reply| {
                let sql = string_field(reply, "data")?;
                check_data(&schema, &sql)?;
                Ok(sql)
            })?;
            draft.data = Some(sql);
            Ok(tries)
        }
        Stage::Tools => {
            let mut vars = base;
            vars.push(("schema", schema.clone()));
            let d = draft.clone();
            let ((tools, examples), tries) =
                converse(chat, stage, fill(stage.template(), &vars), |reply| check_tools(&d, reply))?;
            draft.tools = tools;
            draft.examples = examples;
            Ok(tries)
        }
        Stage::Verifiers => {
            let mut vars = base;
            vars.push(("schema", schema.clone()));
            vars.push(("tools", serde_json::to_string_pretty(&draft.tools).unwrap_or_default()));
            let d = draft.clone();
            let mut best: Vec<TaskSpec> = Vec::new();
            let mut rejected: Vec<String> = Vec::new();
            let result = converse(chat, stage, fill(stage.template(), &vars), |reply| {
                let (passed, failed) = check_verifiers(&d, reply)?;
                if passed.len() >= best.len() {
                    best = passed.clone();
                    rejected = failed.clone();
                }
                if failed.is_empty() { Ok(passed) } else { Err(failed.join("\n")) }
            });
            match result {
                Ok((passed, tries)) => {
                    draft.verified = passed;
                    Ok(tries)
                }
                // Unlike AWM, a task that never validates is dropped; the environment keeps the ones that did.
                Err((Ok(last), tries)) if !best.is_empty() => {
                    draft.verified = best;
                    draft.rejected_tasks = if rejected.is_empty() { vec![last] } else { rejected };
                    Ok(tries)
                }
                Err(e) => Err(e),
            }
        }
    }
}

fn string_field(reply: &str, key: &str) -> Result<String, String> {
    let o = json_object(reply)?;
    match o.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim_end_matches(';').to_string() + ";")
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err(format!("missing \"{key}\": a string of SQL")),
    }
}

fn check_tasks(reply: &str) -> Result<Vec<String>, String> {
    let o = json_object(reply)?;
    let tasks = o.get("tasks").and_then(Value::as_array).ok_or("missing \"tasks\": an array of strings")?;
    let tasks: Vec<String> = tasks
        .iter()
        .map(|t| t.as_str().map(|s| s.trim().to_string()).ok_or("every task must be a string"))
        .collect::<Result<_, _>>()?;
    if !(3..=12).contains(&tasks.len()) {
        return Err(format!("{} tasks; write between 3 and 12", tasks.len()));
    }
    for (i, t) in tasks.iter().enumerate() {
        if t.split_whitespace().count() < 4 {
            return Err(format!("task {} (\"{t}\") is too short to be a task", i + 1));
        }
        if tasks[..i].contains(t) {
            return Err(format!("task {} repeats an earlier task", i + 1));
        }
    }
    Ok(tasks)
}

fn memory_db() -> Result<rusqlite::Connection, String> {
    agentworld_runtime::use_mimalloc();
    let c = rusqlite::Connection::open_in_memory().map_err(|e| e.to_string())?;
    c.execute_batch("PRAGMA foreign_keys = ON").map_err(|e| e.to_string())?;
    Ok(c)
}

fn statements(sql: &str) -> Vec<String> {
    agentworld_runtime::store::split_statements(sql)
        .into_iter()
        .map(|(_, s)| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn excerpt(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 100 {
        format!("{}...", one_line.chars().take(100).collect::<String>())
    } else {
        one_line
    }
}

/// The schema builds in SQLite with foreign keys on, has at least two tables, and holds only DDL.
pub fn check_schema(sql: &str) -> Result<(), String> {
    let c = memory_db()?;
    let stmts = statements(sql);
    for (i, s) in stmts.iter().enumerate() {
        let head = s.to_ascii_uppercase();
        if !(head.starts_with("CREATE TABLE")
            || head.starts_with("CREATE INDEX")
            || head.starts_with("CREATE UNIQUE INDEX"))
        {
            return Err(format!("statement {} (`{}`) is not CREATE TABLE or CREATE INDEX", i + 1, excerpt(s)));
        }
        c.execute_batch(s).map_err(|e| format!("statement {} (`{}`) fails in SQLite: {e}", i + 1, excerpt(s)))?;
    }
    let tables: i64 = c
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if tables < 2 {
        return Err(format!("the schema has {tables} table(s); an application needs at least 2"));
    }
    Ok(())
}

/// The data loads on the schema with foreign keys holding, and fills every table.
pub fn check_data(schema: &str, data: &str) -> Result<(), String> {
    let c = memory_db()?;
    c.execute_batch(schema).map_err(|e| format!("the schema no longer builds: {e}"))?;
    for (i, s) in statements(data).iter().enumerate() {
        if !s.to_ascii_uppercase().starts_with("INSERT") {
            return Err(format!("statement {} (`{}`) is not an INSERT", i + 1, excerpt(s)));
        }
        // "now" is the virtual clock's, as in the engine.
        let s = s.replace("'now'", &format!("'{}'", agentworld_runtime::clock::format_sqlite(clock_ms())));
        c.execute_batch(&s).map_err(|e| format!("statement {} (`{}`) fails: {e}", i + 1, excerpt(&s)))?;
    }
    let mut empty = Vec::new();
    let names: Vec<String> = {
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .map_err(|e| e.to_string())?;
        st.query_map([], |r| r.get(0)).map_err(|e| e.to_string())?.filter_map(Result::ok).collect()
    };
    for t in names {
        let n: i64 = c
            .query_row(&format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\"")), [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if n == 0 {
            empty.push(t);
        }
    }
    if !empty.is_empty() {
        return Err(format!("these tables have no rows: {}", empty.join(", ")));
    }
    Ok(())
}

fn clock_ms() -> i64 {
    agentworld_runtime::clock::parse_rfc3339(CLOCK).unwrap_or(0)
}

/// Compiles `spec` in the engine; the errors say which tool, task, step or check and what is wrong.
fn compile(spec: EnvSpec) -> Result<Arc<Environment>, String> {
    let text = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
    let source = SourceText { path: format!("{}.json", spec.env.name).into(), text };
    Environment::compile(spec, source)
        .map(Arc::new)
        .map_err(|errs| errs.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
}

/// Every tool compiles against the schema and runs on its example arguments (a guard refusing them is fine; a SQL
/// error, an unknown argument or a missing example is not).
/// Example arguments per tool name.
type Examples = BTreeMap<String, Map<String, Value>>;

fn check_tools(draft: &Draft, reply: &str) -> Result<(Vec<ToolSpec>, Examples), String> {
    let o = json_object(reply)?;
    let tools: Vec<ToolSpec> = serde_json::from_value(o.get("tools").cloned().ok_or("missing \"tools\": an array")?)
        .map_err(|e| format!("\"tools\" does not match the tool format: {e}"))?;
    if tools.is_empty() {
        return Err("\"tools\" is empty".into());
    }
    let examples: BTreeMap<String, Map<String, Value>> = match o.get("examples") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("\"examples\" must map tool names to argument objects: {e}"))?,
        None => BTreeMap::new(),
    };
    let mut spec = Draft { tools: tools.clone(), ..draft.clone() }.spec();
    spec.tasks = vec![TaskSpec {
        id: "probe".into(),
        instruction: "probe".into(),
        kind: None,
        verify: vec![CheckSpec::Sql("SELECT 1".into())],
        unchanged: Vec::new(),
        partial_rule: None,
        solution: Vec::new(),
        answer: String::new(),
    }];
    let env = compile(spec)?;
    let mut problems = Vec::new();
    for t in &tools {
        let Some(args) = examples.get(&t.name) else {
            problems.push(format!("tool {}: no example arguments in \"examples\"", t.name));
            continue;
        };
        let mut ep = Episode::open(env.clone(), None).map_err(|e| e.to_string())?;
        let step = ep.call(&t.name, &Value::Object(args.clone()));
        // A guard refusing the example, or a constraint it breaks, is the tool working; anything else is not.
        if let Err(e) = &step.result
            && e.code() != "rejected"
            && !(e.code() == "sql_error" && e.to_string().contains("constraint"))
        {
            problems.push(format!("tool {} on its example arguments {}: {e}", t.name, Value::Object(args.clone())));
        }
    }
    if problems.is_empty() { Ok((tools, examples)) } else { Err(problems.join("\n")) }
}

/// Compiles the environment with the proposed tasks and self-validates every task: the reference solution must
/// score 1.0, doing nothing 0.0, a perturbed solution below 1.0. Returns (tasks that passed, why others failed).
fn check_verifiers(draft: &Draft, reply: &str) -> Result<(Vec<TaskSpec>, Vec<String>), String> {
    let o = json_object(reply)?;
    let tasks: Vec<TaskSpec> = serde_json::from_value(o.get("tasks").cloned().ok_or("missing \"tasks\": an array")?)
        .map_err(|e| format!("\"tasks\" does not match the task format: {e}"))?;
    if tasks.is_empty() {
        return Err("\"tasks\" is empty".into());
    }
    let env = compile(Draft { verified: tasks.clone(), ..draft.clone() }.spec())?;
    let results = agentworld_runtime::validate::validate_env(&env, None).map_err(|e| e.to_string())?;
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (task, r) in tasks.into_iter().zip(results) {
        if r.ok() {
            passed.push(task);
        } else {
            failed.push(format!("task {}: {}", r.task, r.problems.join("; ")));
        }
    }
    Ok((passed, failed))
}
