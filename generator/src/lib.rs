//! # agentworld-generator
//!
//! Procedural environments without an LLM: a *domain* (`domains/*.dsl`, format in `docs/generator.md`) lists the
//! tables a kind of service could have; [`generate_one`] draws one environment of it from a seed (tables, columns,
//! tools, data, tasks), writes it in the spec format of `agentworld-runtime`, and proves it: the text is parsed back,
//! compiled, and every task goes through the engine's self-validation (reference 1.0, nothing 0.0, a perturbed
//! solution below 1.0). Tasks that fail are dropped and reported; an environment left with fewer than
//! [`MIN_TASKS`] is rejected, and the caller retries that slot with the next sub-seed.
//!
//! The parallel, supervised run over many environments lives in `agentworld-actors` (`GeneratorActor`); this crate
//! is pure: the same `(domain, seed, index, attempt)` gives the same bytes.
//!
//! ```
//! use agentworld_generator::{builtin_domains, generate_one};
//! let domains = builtin_domains();
//! let env = generate_one(&domains[0], 42, 0, 0).expect("a valid environment");
//! assert!(env.stats.tasks >= agentworld_generator::MIN_TASKS);
//! assert!(env.text.contains("[[tasks]]"));
//! ```

pub mod dsl;
pub mod emit;
pub mod rng;
pub mod schema;
pub mod tasks;
pub mod tools;
pub mod words;
pub mod world;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use agentworld_runtime::Environment;
use agentworld_runtime::spec::{EnvMeta, EnvSpec, Limits, RewardSpec, SourceText, SqlBlock, parse_source};
use agentworld_runtime::validate::validate_env;
use serde::Serialize;

pub use dsl::{Domain, DslError, parse_domain};
use rng::Rng;

/// Fewest validated tasks an environment keeps.
pub const MIN_TASKS: usize = 10;
/// Candidate tasks drawn per environment (some may fail validation).
pub const CANDIDATE_TASKS: usize = 16;

const BUILTIN: &[(&str, &str)] = &[
    ("banking.dsl", include_str!("../domains/banking.dsl")),
    ("car_rental.dsl", include_str!("../domains/car_rental.dsl")),
    ("coworking.dsl", include_str!("../domains/coworking.dsl")),
    ("crm.dsl", include_str!("../domains/crm.dsl")),
    ("education.dsl", include_str!("../domains/education.dsl")),
    ("event_planning.dsl", include_str!("../domains/event_planning.dsl")),
    ("fitness.dsl", include_str!("../domains/fitness.dsl")),
    ("grocery_delivery.dsl", include_str!("../domains/grocery_delivery.dsl")),
    ("healthcare.dsl", include_str!("../domains/healthcare.dsl")),
    ("hotel.dsl", include_str!("../domains/hotel.dsl")),
    ("hr.dsl", include_str!("../domains/hr.dsl")),
    ("insurance.dsl", include_str!("../domains/insurance.dsl")),
    ("library.dsl", include_str!("../domains/library.dsl")),
    ("logistics.dsl", include_str!("../domains/logistics.dsl")),
    ("parking.dsl", include_str!("../domains/parking.dsl")),
    ("pharmacy.dsl", include_str!("../domains/pharmacy.dsl")),
    ("real_estate.dsl", include_str!("../domains/real_estate.dsl")),
    ("restaurant.dsl", include_str!("../domains/restaurant.dsl")),
    ("retail.dsl", include_str!("../domains/retail.dsl")),
    ("streaming.dsl", include_str!("../domains/streaming.dsl")),
    ("telecom.dsl", include_str!("../domains/telecom.dsl")),
    ("ticketing.dsl", include_str!("../domains/ticketing.dsl")),
    ("travel.dsl", include_str!("../domains/travel.dsl")),
    ("utilities.dsl", include_str!("../domains/utilities.dsl")),
    ("veterinary.dsl", include_str!("../domains/veterinary.dsl")),
];

/// The built-in domains, parsed once. A broken built-in file is a bug caught by this crate's tests.
pub fn builtin_domains() -> Vec<Domain> {
    static PARSED: OnceLock<Vec<Domain>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            BUILTIN
                .iter()
                .map(|(file, text)| match parse_domain(file, text) {
                    Ok(d) => d,
                    Err(e) => panic!("built-in domain {e}"),
                })
                .collect()
        })
        .clone()
}

/// Reads a domain file from disk.
pub fn load_domain(path: &std::path::Path) -> Result<Domain, DslError> {
    let text = std::fs::read_to_string(path).map_err(|e| DslError {
        file: path.display().to_string(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_domain(&path.display().to_string(), &text)
}

/// Counts describing one environment.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EnvStats {
    pub tables: usize,
    pub tools: usize,
    pub tasks: usize,
    pub rows: usize,
    /// Tasks per kind (`lookup`, `write`, `multi_write`, `conditional`, `refusal`).
    pub kinds: BTreeMap<String, usize>,
}

/// A task that did not pass self-validation, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectedTask {
    pub task: String,
    pub kind: String,
    pub reason: String,
}

/// One written environment.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedEnv {
    pub index: usize,
    pub name: String,
    pub domain: String,
    pub attempt: u32,
    /// The spec file's bytes.
    #[serde(skip)]
    pub text: String,
    pub stats: EnvStats,
    /// Hash of the schema and the toolset (names and parameters): distinct environments differ in it.
    pub fingerprint: String,
    pub rejected_tasks: Vec<RejectedTask>,
    /// Time to draw and prove this attempt (not part of the output, which must not depend on timing).
    #[serde(skip)]
    pub micros: u64,
}

impl GeneratedEnv {
    pub fn file_name(&self) -> PathBuf {
        PathBuf::from(format!("{}.toml", self.name))
    }

    /// Parses and compiles the written text: the environment a command loading this file gets.
    pub fn compile(&self) -> Result<Environment, agentworld_runtime::SpecErrors> {
        let source = SourceText { path: self.file_name(), text: self.text.clone() };
        let spec = parse_source(&source)?;
        Environment::compile(spec, source)
    }
}

/// Why an attempt produced no environment.
#[derive(Debug, Clone, Serialize, thiserror::Error, PartialEq)]
pub enum Rejection {
    #[error("the drawn spec does not compile: {0}")]
    Compile(String),
    #[error("only {kept} of {drawn} tasks passed self-validation (needs {MIN_TASKS})")]
    TooFewTasks { kept: usize, drawn: usize, rejected: Vec<RejectedTask> },
    #[error("the written text does not parse back to the drawn spec: {0}")]
    Emit(String),
}

/// The seed of attempt `attempt` at slot `index` of a run seeded with `seed`.
pub fn env_seed(seed: u64, index: usize, attempt: u32) -> u64 {
    Rng::derive(Rng::derive(seed, index as u64), attempt as u64)
}

/// A drawn environment before it is proven: its spec, the header of its file and its size.
#[derive(Debug, Clone)]
pub struct Draft {
    pub index: usize,
    pub attempt: u32,
    pub domain: String,
    pub spec: EnvSpec,
    pub header: String,
    pub tables: usize,
    pub rows: usize,
}

/// Draws one environment of `domain` (no validation yet).
pub fn draft(domain: &Domain, seed: u64, index: usize, attempt: u32) -> Draft {
    let s = env_seed(seed, index, attempt);
    let name = format!("{}-{index:04}", domain.name.replace('_', "-"));
    let world = world::draw(domain, s, name.clone());
    let mut rng = Rng::new(s ^ 0x7A5C);
    let spec = EnvSpec {
        env: EnvMeta { name, description: description(&world), clock: world.clock.clone(), tick_seconds: 60 },
        schema: SqlBlock { sql: schema::schema_sql(&world) },
        seed: Some(SqlBlock { sql: schema::seed_sql(&world) }),
        limits: Limits::default(),
        reward: RewardSpec::default(),
        tools: tools::tools(&world),
        tasks: tasks::tasks(&world, &mut rng, CANDIDATE_TASKS),
    };
    let header = format!(
        "Generated by `agentworld generate`: domain {}, seed {seed}, slot {index}, attempt {attempt}.\nEvery task below passed self-validation.",
        domain.name
    );
    Draft {
        index,
        attempt,
        domain: domain.name.clone(),
        spec,
        header,
        tables: world.tables.len(),
        rows: world.row_count(),
    }
}

/// Draws, writes and proves one environment.
pub fn generate_one(domain: &Domain, seed: u64, index: usize, attempt: u32) -> Result<GeneratedEnv, Rejection> {
    let started = std::time::Instant::now();
    let mut env = prove(draft(domain, seed, index, attempt))?;
    env.micros = started.elapsed().as_micros() as u64;
    Ok(env)
}

/// Writes a draft, parses the text back, compiles it and self-validates every task; keeps the tasks that pass.
pub fn prove(draft: Draft) -> Result<GeneratedEnv, Rejection> {
    let Draft { index, attempt, domain, mut spec, header, tables, rows } = draft;
    let name = spec.env.name.clone();
    let text = emit::to_toml(&spec, &header);
    let source = SourceText { path: PathBuf::from(format!("{name}.toml")), text };
    let parsed = parse_source(&source).map_err(|e| Rejection::Emit(e.to_string()))?;
    if parsed != spec {
        return Err(Rejection::Emit(first_difference(&spec, &parsed)));
    }
    let env = Environment::compile(parsed, source).map_err(|e| Rejection::Compile(e.to_string()))?;
    let env = Arc::new(env);
    let results = validate_env(&env, None).map_err(|e| Rejection::Compile(format!("validation could not run: {e}")))?;
    let drawn = results.len();
    let mut rejected = Vec::new();
    let mut keep = std::collections::HashSet::new();
    for (r, t) in results.iter().zip(&spec.tasks) {
        if r.ok() {
            keep.insert(t.id.clone());
        } else {
            rejected.push(RejectedTask {
                task: t.id.clone(),
                kind: t.kind.clone().unwrap_or_default(),
                reason: r.problems.join("; "),
            });
        }
    }
    if keep.len() < MIN_TASKS {
        return Err(Rejection::TooFewTasks { kept: keep.len(), drawn, rejected });
    }
    spec.tasks.retain(|t| keep.contains(&t.id));
    let text = emit::to_toml(&spec, &header);
    let mut kinds = BTreeMap::new();
    for t in &spec.tasks {
        *kinds.entry(t.kind.clone().unwrap_or_default()).or_insert(0) += 1;
    }
    let stats = EnvStats { tables, tools: spec.tools.len(), tasks: spec.tasks.len(), rows, kinds };
    Ok(GeneratedEnv {
        index,
        name,
        domain,
        attempt,
        text,
        stats,
        fingerprint: fingerprint(&spec),
        rejected_tasks: rejected,
        micros: 0,
    })
}

/// Where two specs differ first (to report an emitter bug precisely).
fn first_difference(a: &EnvSpec, b: &EnvSpec) -> String {
    if a.env != b.env {
        return "in [env]".into();
    }
    if a.schema != b.schema || a.seed != b.seed {
        return "in [schema] or [seed]".into();
    }
    for (x, y) in a.tools.iter().zip(&b.tools) {
        if x != y {
            return format!("in tool {}: {x:?} vs {y:?}", x.name);
        }
    }
    for (x, y) in a.tasks.iter().zip(&b.tasks) {
        if x != y {
            return format!("in task {}: {x:?} vs {y:?}", x.id);
        }
    }
    "in [limits], [reward] or the number of tools or tasks".into()
}

/// Hash of the schema and the toolset's names and parameters.
pub fn fingerprint(spec: &EnvSpec) -> String {
    let mut h = agentworld_runtime::changes::Fnv::new();
    let mut feed = |s: &str| {
        h.feed(s.as_bytes());
        h.feed(&[0]);
    };
    feed(&spec.schema.sql);
    for t in &spec.tools {
        feed(&t.name);
        for p in t.params.keys() {
            feed(p);
        }
    }
    format!("{:016x}", h.finish())
}

fn description(w: &world::World) -> String {
    let mut rules = Vec::new();
    for t in &w.tables {
        for (a, tool) in &t.tools.actions {
            let column = t.status().map(|(_, s)| s.column.replace('_', " ")).unwrap_or_default();
            rules.push(format!(
                "`{tool}` works only on {} whose {column} is {}",
                t.plural_words(),
                tools::or_list(&a.from)
            ));
        }
        for c in &t.columns {
            if let world::ColumnKind::Ref { parent, consumes: Some((cap, qty)), .. } = &c.kind
                && t.tools.create.is_some()
            {
                rules.push(format!(
                    "a new {} takes its {} from the {}'s {} and is refused when not enough is left",
                    t.singular,
                    qty.replace('_', " "),
                    w.tables[*parent].singular,
                    cap.replace('_', " ")
                ));
            }
        }
    }
    let mut s = format!(
        "{}: {}. You are the staff assistant: search, view, create and change records with the tools.",
        w.brand, w.about
    );
    if !rules.is_empty() {
        s.push_str(" Rules: ");
        s.push_str(&rules.join("; "));
        s.push('.');
    }
    s.push_str(" Amounts are in USD.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_domains_parse() {
        let d = builtin_domains();
        assert!(!d.is_empty());
        for dom in &d {
            assert!(dom.tables.len() >= 9, "{dom}");
        }
    }
}
