//! Loading an environment: a parsed spec becomes a template database, compiled tools and compiled tasks, with
//! every problem reported at once and located (file, line, tool/task, step/check).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthContext, Authorization};

use crate::clock;
use crate::error::{EngineResult, SpecError, SpecErrors};
use crate::spec::{self, EnvSpec, PartialRule, SourceText, TaskSpec};
use crate::store::{self, Template, describe_action, split_statements, tool_authorizer};
use crate::tools::{Tool, is_identifier, sql_message};
use crate::verify::{Check, CheckCompiler, unchanged_check};

/// A table of the environment's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<String>,
    /// Indexes into `columns` of the primary key, in key order.
    pub primary_key: Vec<usize>,
    pub rows: usize,
}

/// A compiled task.
#[derive(Debug)]
pub struct Task {
    pub spec: TaskSpec,
    /// Scored checks followed by the `unchanged` comparisons.
    pub(crate) checks: Vec<Check>,
    pub rule: PartialRule,
    /// Whether any check reads `initial` (else verification does not attach it).
    pub(crate) needs_initial: bool,
    /// Resolved `unchanged` tables (`*` expanded).
    pub unchanged: Vec<String>,
}

impl Task {
    pub fn id(&self) -> &str {
        &self.spec.id
    }
}

/// A loaded environment: shared (behind `Arc`) by all of its episodes.
pub struct Environment {
    pub spec: EnvSpec,
    pub source: SourceText,
    template: Template,
    clock_ms: i64,
    tools: Vec<Tool>,
    tool_index: HashMap<String, usize>,
    tasks: Vec<Task>,
    task_index: HashMap<String, usize>,
    tables: Vec<TableInfo>,
    /// Keeps the shared-cache copy of the initial state that verification attaches as `initial`.
    initial: Mutex<Connection>,
    initial_uri: String,
    pool: Arc<crate::store::EpisodePool>,
    spec_hash: String,
    /// Tables whose every row change the capture hook sees (rowid tables; SQLite's pre-update hook skips WITHOUT
    /// ROWID ones): one an episode's changesets never mention is unchanged without reading it.
    change_tracked: std::collections::HashSet<String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment").field("name", &self.spec.env.name).finish_non_exhaustive()
    }
}

impl Environment {
    /// Loads and compiles a spec file.
    ///
    /// ```no_run
    /// let env = agentworld_runtime::Environment::load(std::path::Path::new("envspecs/shop.toml")).unwrap();
    /// println!("{}: {} tools, {} tasks", env.name(), env.tools().len(), env.tasks().len());
    /// ```
    pub fn load(path: &Path) -> Result<Environment, SpecErrors> {
        let (spec, source) = spec::parse_file(path)?;
        Environment::compile(spec, source)
    }

    /// Loads every spec under `path` (a file or a folder). Each entry is the file and its result.
    pub fn load_all(path: &Path) -> std::io::Result<Vec<(std::path::PathBuf, Result<Environment, SpecErrors>)>> {
        Ok(spec::spec_files(path)?
            .into_iter()
            .map(|p| {
                let r = Environment::load(&p);
                (p, r)
            })
            .collect())
    }

    /// Compiles a parsed spec.
    pub fn compile(spec: EnvSpec, source: SourceText) -> Result<Environment, SpecErrors> {
        let file = source.path.clone();
        let mut problems = Problems { file: file.clone(), list: Vec::new() };
        let name = &spec.env.name;
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            problems.push(source.line_of("name"), "env".into(), format!("name '{name}' must match [a-z0-9_-]+"));
        }
        let clock_ms = match clock::parse_rfc3339(&spec.env.clock) {
            Ok(ms) => ms,
            Err(m) => {
                problems.push(source.line_of("clock"), "env.clock".into(), m);
                0
            }
        };
        if spec.tools.is_empty() {
            problems.push(None, "tools".into(), "an environment needs at least one tool".into());
        }
        if spec.tasks.is_empty() {
            problems.push(None, "tasks".into(), "an environment needs at least one task".into());
        }
        // 1. Template.
        let built = build_template(&spec, &source, clock_ms, &mut problems);
        let Some((template, tables)) = built else {
            return Err(SpecErrors(problems.list));
        };
        // 2. Tools.
        let denied = Arc::new(Mutex::new(Vec::new()));
        let compile_conn = match tool_compile_connection(&template, &denied) {
            Ok(c) => c,
            Err(e) => {
                problems.push(None, "engine".into(), e.to_string());
                return Err(SpecErrors(problems.list));
            }
        };
        let (tools, tool_index) = compile_tools(&spec, &source, &compile_conn, &denied, &mut problems);
        // 3. Tasks.
        let verifier = match CheckCompiler::new(template.image_arc()) {
            Ok(v) => v,
            Err(e) => {
                problems.push(None, "engine".into(), e.to_string());
                return Err(SpecErrors(problems.list));
            }
        };
        let mut initial_digests = Vec::with_capacity(tables.len());
        for t in &tables {
            match crate::changes::table_digest(&compile_conn, &crate::changes::ordered_select("main", t)) {
                Ok(d) => initial_digests.push(d),
                Err(e) => {
                    problems.push(None, "engine".into(), format!("cannot read table {}: {e}", t.name));
                    return Err(SpecErrors(problems.list));
                }
            }
        }
        let compiler = TaskCompiler {
            spec: &spec,
            source: &source,
            checks: &verifier,
            tables: &tables,
            initial_digests: &initial_digests,
            tools: &tools,
            tool_index: &tool_index,
        };
        let mut tasks = Vec::new();
        let mut task_index = HashMap::new();
        for t in &spec.tasks {
            if task_index.contains_key(&t.id) {
                problems.push(source.line_of_item("id", &t.id), format!("task \"{}\"", t.id), "defined twice".into());
                continue;
            }
            if let Some(task) = compiler.compile(t, &mut problems) {
                task_index.insert(t.id.clone(), tasks.len());
                tasks.push(task);
            }
        }
        drop(verifier);
        if !problems.list.is_empty() {
            return Err(SpecErrors(problems.list));
        }
        let spec_hash = format!("{:016x}", crate::changes::fnv1a(source.text.as_bytes()));
        let (initial, initial_uri) = shared_initial(&template, &spec_hash).map_err(|e| {
            SpecErrors::one(SpecError::new(&file, None, "engine", format!("cannot share the initial state: {e}")))
        })?;
        let pool = crate::store::EpisodePool::new(template.clone(), initial_uri.clone(), 4096);
        let change_tracked = initial
            .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND wr = 0")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>())
            .unwrap_or_default();
        Ok(Environment {
            change_tracked,
            pool,
            spec,
            source,
            template,
            clock_ms,
            tools,
            tool_index,
            tasks,
            task_index,
            tables,
            initial: Mutex::new(initial),
            initial_uri,
            spec_hash,
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.env.name
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Virtual time (Unix ms) at which the template was built.
    pub fn clock_ms(&self) -> i64 {
        self.clock_ms
    }

    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tool_index.get(name).map(|&i| &self.tools[i])
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.task_index.get(id).map(|&i| &self.tasks[i])
    }

    pub(crate) fn task_position(&self, id: &str) -> Option<usize> {
        self.task_index.get(id).copied()
    }

    pub fn tables(&self) -> &[TableInfo] {
        &self.tables
    }

    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether every change to `table` is captured in changesets (see `change_tracked`).
    pub(crate) fn is_change_tracked(&self, table: &str) -> bool {
        self.change_tracked.contains(table)
    }

    /// Hash of the spec file's text (identifies the exact environment version in the record).
    pub fn spec_hash(&self) -> &str {
        &self.spec_hash
    }

    /// Warm connections on the initial state that episodes check out (and give back when they end).
    pub fn pool(&self) -> &Arc<crate::store::EpisodePool> {
        &self.pool
    }

    /// URI of the shared-cache in-memory copy of the initial state (attached as `initial` to verify).
    pub(crate) fn initial_uri(&self) -> &str {
        &self.initial_uri
    }

    /// Whether the shared copy of the initial state is still the template (nothing may write it).
    pub fn initial_is_intact(&self) -> EngineResult<bool> {
        let conn = self.initial.lock().map_err(|_| crate::error::EngineError::Other("poisoned".into()))?;
        let digest = crate::changes::state_digest(&conn, &self.tables)?;
        let fresh = self.template.open_readonly()?;
        Ok(digest == crate::changes::state_digest(&fresh, &self.tables)?)
    }
}

/// Opens a shared-cache in-memory database holding the template, named uniquely for this environment instance.
/// Connections that ATTACH its URI share its pages and its parsed schema.
fn shared_initial(template: &Template, spec_hash: &str) -> EngineResult<(Connection, String)> {
    static INSTANCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let uri = format!("file:agentworld-initial-{spec_hash}-{}-{n}?mode=memory&cache=shared", std::process::id());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    // Shared caches are matched by name *and* VFS: open it on the clock VFS every engine connection uses.
    let mut keeper = Connection::open_with_flags_and_vfs(&uri, flags, clock::VFS_NAME)?;
    let source = template.open_readonly()?;
    rusqlite::backup::Backup::new(&source, &mut keeper)?.step(-1)?;
    // Parse the schema now, once, for every connection that will attach it.
    keeper.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
    Ok((keeper, uri))
}

/// Compiles every tool, reporting problems with their line and step.
fn compile_tools(
    spec: &EnvSpec,
    source: &SourceText,
    compile_conn: &Connection,
    denied: &Arc<Mutex<Vec<String>>>,
    problems: &mut Problems,
) -> (Vec<Tool>, HashMap<String, usize>) {
    let mut tools = Vec::new();
    let mut tool_index = HashMap::new();
    for t in &spec.tools {
        // Found only when there is something to report: searching the text costs more than compiling a tool.
        let line = || source.line_of_item("name", &t.name);
        let ctx = format!("tool \"{}\"", t.name);
        if !is_identifier(&t.name) {
            problems.push(line(), ctx.clone(), "name must match [A-Za-z_][A-Za-z0-9_]*".into());
        }
        if tool_index.contains_key(&t.name) {
            problems.push(line(), ctx.clone(), "defined twice".into());
            continue;
        }
        if t.description.trim().is_empty() {
            problems.push(line(), ctx.clone(), "needs a description (agents choose tools by it)".into());
        }
        match Tool::compile(t, compile_conn, denied) {
            Ok(tool) => {
                tool_index.insert(t.name.clone(), tools.len());
                tools.push(tool);
            }
            Err(found) => {
                for p in found {
                    let at = p.sql.as_deref().and_then(|s| source.line_of_sql(s)).or_else(line);
                    let ctx = match p.step {
                        Some(n) => format!("{ctx} step {n}"),
                        None => ctx.clone(),
                    };
                    problems.push(at, ctx, p.message);
                }
            }
        }
    }
    (tools, tool_index)
}

/// What compiling a task needs from the rest of the environment.
struct TaskCompiler<'a> {
    spec: &'a EnvSpec,
    source: &'a SourceText,
    checks: &'a CheckCompiler,
    tables: &'a [TableInfo],
    initial_digests: &'a [u64],
    tools: &'a [Tool],
    tool_index: &'a HashMap<String, usize>,
}

impl TaskCompiler<'_> {
    /// Compiles one task; `None` (with its problems reported) when any part of it is wrong.
    fn compile(&self, t: &TaskSpec, problems: &mut Problems) -> Option<Task> {
        let source = self.source;
        let line = || source.line_of_item("id", &t.id);
        let ctx = format!("task \"{}\"", t.id);
        let mut ok = true;
        if t.id.is_empty() || !t.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            problems.push(line(), ctx.clone(), "id must match [A-Za-z0-9_-]+".into());
        }
        if t.instruction.trim().is_empty() {
            problems.push(line(), ctx.clone(), "instruction is empty".into());
        }
        if t.verify.is_empty() {
            problems.push(line(), ctx.clone(), "`verify` needs at least one check".into());
        }
        let mut checks = Vec::new();
        let mut finals = Vec::new();
        let mut needs_initial = false;
        for (i, c) in t.verify.iter().enumerate() {
            let name = c.name().map(str::to_string).unwrap_or_else(|| format!("check {}", i + 1));
            match self.checks.compile(name.clone(), c.sql()) {
                Ok(compiled) => {
                    finals.extend(compiled.finals);
                    needs_initial |= compiled.reads_initial;
                    checks.push(compiled.check);
                }
                Err(m) => {
                    ok = false;
                    problems.push(source.line_of_sql(c.sql()).or_else(line), format!("{ctx} {name}"), m);
                }
            }
        }
        let table_names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        let mut unchanged: Vec<String> = Vec::new();
        for u in &t.unchanged {
            if u == "*" {
                for tn in &table_names {
                    if !finals.iter().any(|f| f == tn) && !unchanged.iter().any(|x| x == tn) {
                        unchanged.push(tn.to_string());
                    }
                }
            } else if table_names.contains(&u.as_str()) {
                if !unchanged.contains(u) {
                    unchanged.push(u.clone());
                }
            } else {
                ok = false;
                let known = table_names.join(", ");
                problems.push(line(), ctx.clone(), format!("unchanged: no table '{u}'; tables: {known}"));
            }
        }
        for u in &unchanged {
            if let Some((info, digest)) = self.tables.iter().zip(self.initial_digests).find(|(t, _)| &t.name == u) {
                checks.push(unchanged_check(info, *digest));
            }
        }
        for (i, call) in t.solution.iter().enumerate() {
            let cctx = format!("{ctx} solution call {} ({})", i + 1, call.tool);
            match self.tool_index.get(&call.tool) {
                None => {
                    ok = false;
                    problems.push(line(), cctx, format!("no tool '{}'", call.tool));
                }
                Some(&ti) => {
                    if let Err(e) = self.tools[ti].validate(&call.args, &self.spec.limits) {
                        ok = false;
                        problems.push(line(), cctx, e.to_string());
                    }
                }
            }
        }
        let rule = t.partial_rule.unwrap_or(self.spec.reward.partial_rule);
        ok.then(|| Task { spec: t.clone(), checks, rule, needs_initial, unchanged })
    }
}

/// A fork of the template whose authorizer records what it refuses, to explain refusals in spec errors.
fn tool_compile_connection(template: &Template, denied: &Arc<Mutex<Vec<String>>>) -> EngineResult<Connection> {
    let mut conn = template.open_readonly()?;
    let d = denied.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        let description = describe_action(&ctx.action);
        let verdict = tool_authorizer(ctx);
        if verdict == Authorization::Deny
            && let Ok(mut d) = d.lock()
        {
            d.push(description);
        }
        verdict
    }))?;
    Ok(conn)
}

/// The problems found while loading one spec.
struct Problems {
    file: std::path::PathBuf,
    list: Vec<SpecError>,
}

impl Problems {
    fn push(&mut self, line: Option<usize>, context: String, message: String) {
        self.list.push(SpecError::new(&self.file, line, context, message));
    }
}

fn build_template(
    spec: &EnvSpec,
    source: &SourceText,
    clock_ms: i64,
    problems: &mut Problems,
) -> Option<(Template, Vec<TableInfo>)> {
    let conn = match store::open_memory() {
        Ok(c) => c,
        Err(e) => {
            problems.push(None, "engine".into(), e.to_string());
            return None;
        }
    };
    // Small pages: environment databases are tiny, and every fork copies the whole image. 1 KiB pages make the
    // image (and each episode's memory) about a quarter of the default 4 KiB pages' size.
    if let Err(e) = conn.execute_batch("PRAGMA page_size = 1024") {
        problems.push(None, "engine".into(), e.to_string());
        return None;
    }
    let mut failed = false;
    clock::at(clock_ms, || {
        let blocks = [("schema", Some(&spec.schema)), ("seed", spec.seed.as_ref())];
        for (what, block) in blocks {
            let Some(block) = block else { continue };
            if failed {
                break;
            }
            for (offset, stmt) in split_statements(&block.sql) {
                if let Err(e) = conn.execute_batch(&stmt) {
                    failed = true;
                    let base = source.line_of_sql(&block.sql);
                    let line = source.line_of_sql(&stmt).or(base.map(|b| b + offset));
                    let head: String = stmt.chars().take(60).collect();
                    problems.push(line, what.into(), format!("{} (in: {head}...)", sql_message(&e)));
                }
            }
        }
    });
    if failed {
        return None;
    }
    let tables = match table_infos(&conn) {
        Ok(t) => t,
        Err(e) => {
            problems.push(None, "schema".into(), e.to_string());
            return None;
        }
    };
    if tables.is_empty() {
        problems.push(source.line_of("[schema]"), "schema".into(), "defines no tables".into());
        return None;
    }
    for t in &tables {
        if t.primary_key.is_empty() {
            problems.push(
                source.line_of(&format!("TABLE {}", t.name)).or_else(|| source.line_of(&t.name)),
                "schema".into(),
                format!("table '{}' has no PRIMARY KEY (changesets and row-for-row comparisons need one)", t.name),
            );
            failed = true;
        }
    }
    match fk_violations(&conn) {
        Ok(v) if !v.is_empty() => {
            problems.push(None, "seed".into(), format!("foreign keys do not hold: {}", v.join("; ")));
            failed = true;
        }
        Ok(_) => {}
        Err(e) => {
            problems.push(None, "seed".into(), e.to_string());
            failed = true;
        }
    }
    if failed {
        return None;
    }
    match store::image_of(&conn, "main") {
        // SAFETY: `conn` is alive and not written while the image is copied.
        Ok(image) => Some((Template::from_image(unsafe { image.as_slice() }.to_vec()), tables)),
        Err(e) => {
            problems.push(None, "engine".into(), e.to_string());
            None
        }
    }
}

fn table_infos(conn: &Connection) -> rusqlite::Result<Vec<TableInfo>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for name in names {
        let mut columns = Vec::new();
        let mut pk: Vec<(i64, usize)> = Vec::new();
        let mut stmt = conn.prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")?;
        let mut rows = stmt.query([&name])?;
        while let Some(r) = rows.next()? {
            let c: String = r.get(0)?;
            let k: i64 = r.get(1)?;
            if k > 0 {
                pk.push((k, columns.len()));
            }
            columns.push(c);
        }
        pk.sort();
        let rows: i64 =
            conn.query_row(&format!("SELECT count(*) FROM {}", crate::verify::quote_ident(&name)), [], |r| r.get(0))?;
        out.push(TableInfo {
            name,
            columns,
            primary_key: pk.into_iter().map(|(_, i)| i).collect(),
            rows: rows as usize,
        });
    }
    Ok(out)
}

fn fk_violations(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        let t: String = r.get(0)?;
        let id: Option<i64> = r.get(1)?;
        let p: String = r.get(2)?;
        Ok(format!("{t} row {} references a missing {p}", id.map_or("?".into(), |i| i.to_string())))
    })?;
    rows.take(10).collect()
}
