//! The toolset of a drawn environment, as a real service API would offer it: search with filters and sorting, get
//! by id, create/update/delete, and guarded domain actions. All of it is parameterised SQL in the spec format.

use agentworld_runtime::spec::{Expect, ParamSpec, ParamType, ResultShape, StepSpec, ToolSpec};
use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::dsl::Generator;
use crate::world::{ColumnKind, Table, World, sql_text};

pub fn param(ty: ParamType, description: impl Into<String>) -> ParamSpec {
    ParamSpec { description: description.into(), ..ParamSpec::new(ty) }
}

fn required(mut p: ParamSpec) -> ParamSpec {
    p.required = true;
    p
}

fn sql_step(sql: String) -> StepSpec {
    StepSpec { sql: Some(sql), guard: None, expect: Expect::Any, error: None, output: false }
}

fn expect_step(sql: String, expect: Expect, error: String) -> StepSpec {
    StepSpec { sql: Some(sql), guard: None, expect, error: Some(error), output: false }
}

fn guard_step(guard: String, error: String) -> StepSpec {
    StepSpec { sql: None, guard: Some(guard), expect: Expect::Any, error: Some(error), output: false }
}

fn tool(
    name: &str,
    description: String,
    params: IndexMap<String, ParamSpec>,
    steps: Vec<StepSpec>,
    writes: bool,
    result: ResultShape,
) -> ToolSpec {
    ToolSpec { name: name.to_string(), description, params, sql: None, steps: Some(steps), writes, result }
}

/// The id parameter of a table's single-row tools: `order_id`.
pub fn id_param(t: &Table) -> String {
    format!("{}_id", t.singular.replace(' ', "_"))
}

/// The select list of a table with its parents' labels (`customer_id, customer_name` style).
fn select_list(world: &World, t: &Table) -> String {
    let mut cols = vec![format!("t.id AS {}", id_param(t))];
    for c in &t.columns {
        cols.push(format!("t.{}", c.name));
        if let ColumnKind::Ref { parent, .. } = c.kind {
            let p = &world.tables[parent];
            let label = &p.columns[p.label_col()].name;
            cols.push(format!(
                "(SELECT p.{label} FROM {} p WHERE p.id = t.{}) AS {}_{label}",
                p.name,
                c.name,
                c.name.trim_end_matches("_id")
            ));
        }
    }
    cols.join(", ")
}

/// The typed parameter for a column's values (create and update tools).
fn value_param(t: &Table, name: &str, g: &Generator) -> Option<ParamSpec> {
    let words = name.replace('_', " ");
    Some(match g {
        Generator::Int(lo, hi) => {
            let mut p = param(ParamType::Integer, format!("The {words}"));
            p.minimum = Some((*lo).max(0) as f64);
            p.maximum = Some((*hi * 10).max(*hi) as f64);
            p
        }
        Generator::Money(..) => {
            let mut p = param(ParamType::Number, format!("The {words} in USD"));
            p.minimum = Some(0.0);
            p
        }
        Generator::Enum(values) => {
            let mut p = param(ParamType::String, format!("The {words}"));
            p.allowed = Some(values.iter().map(|v| Json::String(v.clone())).collect());
            p
        }
        Generator::Bool => param(ParamType::Boolean, format!("Whether {} is {words}", t.singular)),
        Generator::Future(_) | Generator::FutureDate(_) => {
            let mut p = param(ParamType::String, format!("The {words} (YYYY-MM-DD)"));
            p.min_length = Some(10);
            p.max_length = Some(10);
            p
        }
        Generator::Code(_) | Generator::Past(_) | Generator::PastDate(_) => return None,
        _ => {
            let mut p = param(ParamType::String, format!("The {words}"));
            p.min_length = Some(1);
            p.max_length = Some(120);
            p
        }
    })
}

/// Every tool of the environment, table by table.
pub fn tools(world: &World) -> Vec<ToolSpec> {
    let mut out = Vec::new();
    for t in &world.tables {
        out.push(search_tool(world, t));
        out.push(get_tool(world, t));
        if let Some(name) = &t.tools.create {
            out.push(create_tool(world, t, name));
        }
        if let Some(name) = &t.tools.update {
            out.push(update_tool(world, t, name));
        }
        if let Some(name) = &t.tools.delete {
            out.push(delete_tool(world, t, name));
        }
        for (action, name) in &t.tools.actions {
            out.push(action_tool(t, action, name));
        }
    }
    // Names are drawn per table; a collision keeps the first tool.
    let mut seen = std::collections::HashSet::new();
    out.retain(|tool| seen.insert(tool.name.clone()));
    out
}

/// Sort options of a table's search: (option, ORDER BY expression).
pub fn sort_options(t: &Table) -> Vec<(String, String)> {
    let label = &t.columns[t.label_col()].name;
    let mut out = vec![(label.clone(), format!("t.{label}")), ("newest".into(), "t.created_at DESC".into())];
    for c in t.columns.iter().filter(|c| c.is_numeric()) {
        out.push((format!("{}_asc", c.name), format!("t.{}", c.name)));
        out.push((format!("{}_desc", c.name), format!("t.{} DESC", c.name)));
    }
    out
}

fn search_tool(world: &World, t: &Table) -> ToolSpec {
    let label = &t.columns[t.label_col()].name;
    let mut params = IndexMap::new();
    let mut p =
        param(ParamType::String, format!("Text to look for in the {} (case-insensitive)", label.replace('_', " ")));
    p.min_length = Some(1);
    p.max_length = Some(100);
    params.insert("query".to_string(), p);
    let mut filters = vec![format!("($query IS NULL OR t.{label} LIKE '%' || $query || '%')")];
    let mut described = Vec::new();
    for c in &t.columns {
        match &c.kind {
            ColumnKind::Ref { parent, .. } => {
                let mut p = param(
                    ParamType::Integer,
                    format!("Only {} of this {}", t.plural_words(), world.tables[*parent].singular),
                );
                p.minimum = Some(1.0);
                params.insert(c.name.clone(), p);
                filters.push(format!("(${0} IS NULL OR t.{0} = ${0})", c.name));
                described.push(world.tables[*parent].singular.clone());
            }
            ColumnKind::Status(s) => {
                let mut p =
                    param(ParamType::String, format!("Only {} in this {}", t.plural_words(), c.name.replace('_', " ")));
                p.allowed = Some(s.states.iter().map(|(v, _)| Json::String(v.clone())).collect());
                params.insert(c.name.clone(), p);
                filters.push(format!("(${0} IS NULL OR t.{0} = ${0})", c.name));
                described.push(c.name.replace('_', " "));
            }
            ColumnKind::Data { generator: Generator::Enum(values), .. } => {
                let mut p = param(ParamType::String, format!("Only {} with this {}", t.plural_words(), c.words()));
                p.allowed = Some(values.iter().map(|v| Json::String(v.clone())).collect());
                params.insert(c.name.clone(), p);
                filters.push(format!("(${0} IS NULL OR t.{0} = ${0})", c.name));
                described.push(c.words());
            }
            _ => {}
        }
    }
    if let Some(c) = t.columns.iter().find(|c| c.is_numeric()) {
        for (bound, op) in [("min", ">="), ("max", "<=")] {
            let name = format!("{bound}_{}", c.name);
            let mut p = param(
                if c.is_money() { ParamType::Number } else { ParamType::Integer },
                format!("{} {}", if bound == "min" { "Lowest" } else { "Highest" }, c.words()),
            );
            p.minimum = Some(0.0);
            params.insert(name.clone(), p);
            filters.push(format!("(${name} IS NULL OR t.{} {op} ${name})", c.name));
        }
        described.push(format!("{} range", c.words()));
    }
    let sorts = sort_options(t);
    let mut p = param(ParamType::String, "Order of the results");
    p.allowed = Some(sorts.iter().map(|(o, _)| Json::String(o.clone())).collect());
    p.default = Some(Json::String(sorts[0].0.clone()));
    params.insert("sort".to_string(), p);
    let mut p = param(ParamType::Integer, "Most rows to return");
    p.default = Some(Json::from(50));
    p.minimum = Some(1.0);
    p.maximum = Some(100.0);
    params.insert("limit".to_string(), p);
    let order: Vec<String> = sorts
        .iter()
        .map(|(o, e)| {
            let (expr, desc) = e.strip_suffix(" DESC").map_or((e.as_str(), ""), |x| (x, " DESC"));
            format!("CASE $sort WHEN '{o}' THEN {expr} END{desc}")
        })
        .collect();
    let sql = format!(
        "SELECT {}\nFROM {} t\nWHERE {}\nORDER BY {}, t.id\nLIMIT $limit",
        select_list(world, t),
        t.name,
        filters.join("\n  AND "),
        order.join(", ")
    );
    let description = format!(
        "Search {} by text in the {}{}. Sorted by {} by default; at most `limit` rows.",
        t.plural_words(),
        label.replace('_', " "),
        if described.is_empty() { String::new() } else { format!(", filtered by {}", described.join(", ")) },
        sorts[0].0.replace('_', " ")
    );
    tool(&t.tools.search, description, params, vec![sql_step(sql)], false, ResultShape::Rows)
}

fn get_tool(world: &World, t: &Table) -> ToolSpec {
    let id = id_param(t);
    let mut params = IndexMap::new();
    params.insert(id.clone(), required(param(ParamType::Integer, format!("The {}'s id", t.singular))));
    let sql = format!("SELECT {} FROM {} t WHERE t.id = ${id}", select_list(world, t), t.name);
    let steps = vec![expect_step(sql, Expect::One, format!("no {} with id {{{id}}}", t.singular))];
    tool(
        &t.tools.get,
        format!("One {} with all its details, by id.", t.singular),
        params,
        steps,
        false,
        ResultShape::Row,
    )
}

fn create_tool(world: &World, t: &Table, name: &str) -> ToolSpec {
    let mut params = IndexMap::new();
    let mut steps = Vec::new();
    let mut cols = Vec::new();
    let mut values = Vec::new();
    let mut after = Vec::new();
    for c in &t.columns {
        match &c.kind {
            ColumnKind::Label(Generator::Code(prefix)) => {
                cols.push(c.name.clone());
                values.push(format!(
                    "'{prefix}-' || ({} + (SELECT coalesce(max(id), 0) + 1 FROM {}))",
                    t.code_base, t.name
                ));
            }
            ColumnKind::Label(_) => {
                let mut p = required(param(ParamType::String, format!("The {}'s {}", t.singular, c.words())));
                p.min_length = Some(1);
                p.max_length = Some(80);
                params.insert(c.name.clone(), p);
                steps.push(expect_step(
                    format!("SELECT id AS existing_id FROM {} WHERE {} = ${}", t.name, c.name, c.name),
                    Expect::None,
                    format!("{} {} with {} {{{}}} already exists", a_or_an(&t.singular), t.singular, c.words(), c.name),
                ));
                cols.push(c.name.clone());
                values.push(format!("${}", c.name));
            }
            ColumnKind::Ref { parent, optional, consumes } => {
                let p = &world.tables[*parent];
                let mut ps = param(ParamType::Integer, format!("The {}'s id", p.singular));
                ps.minimum = Some(1.0);
                ps.required = !optional;
                params.insert(c.name.clone(), ps);
                let plabel = &p.columns[p.label_col()].name;
                if let Some((cap, qty)) = consumes {
                    let prefix = c.name.trim_end_matches("_id");
                    steps.push(expect_step(
                        format!(
                            "SELECT {plabel} AS {prefix}_label, {cap} AS {prefix}_{cap} FROM {} WHERE id = ${}",
                            p.name, c.name
                        ),
                        Expect::One,
                        format!("no {} with id {{{}}}", p.singular, c.name),
                    ));
                    steps.push(guard_step(
                        format!("${prefix}_{cap} >= ${qty}"),
                        format!("only {{{prefix}_{cap}}} {} left for {{{prefix}_label}}", cap.replace('_', " ")),
                    ));
                    let money = p.columns.iter().find(|x| &x.name == cap).is_some_and(|x| x.is_money());
                    let newval = if money { format!("round({cap} - ${qty}, 2)") } else { format!("{cap} - ${qty}") };
                    after.push(format!("UPDATE {} SET {cap} = {newval} WHERE id = ${}", p.name, c.name));
                } else if *optional {
                    steps.push(guard_step(
                        format!("${0} IS NULL OR EXISTS (SELECT 1 FROM {1} WHERE id = ${0})", c.name, p.name),
                        format!("no {} with id {{{}}}", p.singular, c.name),
                    ));
                } else {
                    steps.push(guard_step(
                        format!("EXISTS (SELECT 1 FROM {} WHERE id = ${})", p.name, c.name),
                        format!("no {} with id {{{}}}", p.singular, c.name),
                    ));
                }
                cols.push(c.name.clone());
                values.push(format!("${}", c.name));
            }
            ColumnKind::Data { generator, optional, .. } => {
                match generator {
                    Generator::Code(prefix) => {
                        cols.push(c.name.clone());
                        values.push(format!(
                            "'{prefix}-' || ({} + (SELECT coalesce(max(id), 0) + 1 FROM {}))",
                            t.code_base, t.name
                        ));
                    }
                    Generator::Past(_) => {
                        cols.push(c.name.clone());
                        values.push("datetime('now')".into());
                    }
                    Generator::PastDate(_) => {
                        cols.push(c.name.clone());
                        values.push("date('now')".into());
                    }
                    Generator::Email => {
                        // Derived from nothing the caller gives: a contact address is a parameter like any text.
                        let mut p = param(ParamType::String, format!("The {}", c.words()));
                        p.min_length = Some(5);
                        p.max_length = Some(120);
                        p.required = !optional;
                        params.insert(c.name.clone(), p);
                        cols.push(c.name.clone());
                        values.push(format!("${}", c.name));
                    }
                    g => {
                        let Some(mut p) = value_param(t, &c.name, g) else { continue };
                        let fallback = matches!(g, Generator::Bool);
                        p.required =
                            !optional && !fallback && !matches!(g, Generator::Future(_) | Generator::FutureDate(_));
                        params.insert(c.name.clone(), p);
                        cols.push(c.name.clone());
                        values.push(if fallback {
                            format!("coalesce(${}, 0)", c.name)
                        } else {
                            format!("${}", c.name)
                        });
                    }
                }
            }
            ColumnKind::Status(s) => {
                cols.push(c.name.clone());
                values.push(sql_text(s.initial()));
            }
            ColumnKind::CreatedAt => {
                cols.push(c.name.clone());
                values.push("datetime('now')".into());
            }
        }
    }
    for u in after {
        steps.push(sql_step(u));
    }
    let mut insert = sql_step(format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING id AS {}, {}",
        t.name,
        cols.join(", "),
        values.join(", "),
        id_param(t),
        cols.join(", ")
    ));
    insert.output = true;
    insert.expect = Expect::One;
    steps.push(insert);
    let consumes = t.columns.iter().find_map(|c| match &c.kind {
        ColumnKind::Ref { parent, consumes: Some((cap, qty)), .. } => Some(format!(
            " It takes the {} from the {}'s {} and is refused when not enough is left.",
            qty.replace('_', " "),
            world.tables[*parent].singular,
            cap.replace('_', " ")
        )),
        _ => None,
    });
    let description = format!("Create a new {}.{}", t.singular, consumes.unwrap_or_default());
    tool(name, description, params, steps, true, ResultShape::Row)
}

fn update_tool(world: &World, t: &Table, name: &str) -> ToolSpec {
    let _ = world;
    let id = id_param(t);
    let mut params = IndexMap::new();
    params.insert(id.clone(), required(param(ParamType::Integer, format!("The {}'s id", t.singular))));
    let mut sets = Vec::new();
    let mut given = Vec::new();
    let mut names = Vec::new();
    for c in &t.columns {
        if let ColumnKind::Data { generator, edit: true, .. } = &c.kind
            && let Some(p) = value_param(t, &c.name, generator)
        {
            params.insert(c.name.clone(), p);
            sets.push(format!("{0} = coalesce(${0}, {0})", c.name));
            given.push(format!("${} IS NOT NULL", c.name));
            names.push(c.words());
        }
    }
    let label = &t.columns[t.label_col()].name;
    let steps = vec![
        guard_step(given.join(" OR "), format!("nothing to change: give at least one of {}", names.join(", "))),
        expect_step(
            format!("SELECT {label} FROM {} WHERE id = ${id}", t.name),
            Expect::One,
            format!("no {} with id {{{id}}}", t.singular),
        ),
        StepSpec {
            sql: Some(format!("UPDATE {} SET {} WHERE id = ${id} RETURNING *", t.name, sets.join(", "))),
            guard: None,
            expect: Expect::Changed,
            error: None,
            output: true,
        },
    ];
    let description =
        format!("Change the {} of one {}. Omitted fields stay as they are.", names.join(", "), t.singular);
    tool(name, description, params, steps, true, ResultShape::Row)
}

fn delete_tool(world: &World, t: &Table, name: &str) -> ToolSpec {
    let id = id_param(t);
    let ti = world.table(&t.name).expect("table of this world");
    let mut params = IndexMap::new();
    params.insert(id.clone(), required(param(ParamType::Integer, format!("The {}'s id", t.singular))));
    let label = &t.columns[t.label_col()].name;
    let mut steps = vec![expect_step(
        format!("SELECT {label} AS deleted_{label} FROM {} WHERE id = ${id}", t.name),
        Expect::One,
        format!("no {} with id {{{id}}}", t.singular),
    )];
    let mut blockers = Vec::new();
    for (ci, col) in world.children(ti) {
        let child = &world.tables[ci];
        let cname = &child.columns[col].name;
        steps.push(guard_step(
            format!("NOT EXISTS (SELECT 1 FROM {} WHERE {cname} = ${id})", child.name),
            format!("{{deleted_{label}}} still has {}; it cannot be deleted", child.plural_words()),
        ));
        blockers.push(child.plural_words());
    }
    let mut del = sql_step(format!("DELETE FROM {} WHERE id = ${id} RETURNING id AS {id}, {label}", t.name));
    del.output = true;
    del.expect = Expect::One;
    steps.push(del);
    let description = if blockers.is_empty() {
        format!("Delete one {} for good.", t.singular)
    } else {
        format!("Delete one {} for good; refused while it still has {}.", t.singular, blockers.join(" or "))
    };
    tool(name, description, params, steps, true, ResultShape::Row)
}

fn action_tool(t: &Table, action: &crate::dsl::ActionDef, name: &str) -> ToolSpec {
    let id = id_param(t);
    let (si, status) = t.status().expect("actions need a status");
    let scol = &t.columns[si].name;
    let label = &t.columns[t.label_col()].name;
    let mut params = IndexMap::new();
    params.insert(id.clone(), required(param(ParamType::Integer, format!("The {}'s id", t.singular))));
    let from: Vec<String> = action.from.iter().map(|s| sql_text(s)).collect();
    let from_words = or_list(&action.from);
    let steps = vec![
        expect_step(
            format!("SELECT {label} AS target_label, {scol} AS current_{scol} FROM {} WHERE id = ${id}", t.name),
            Expect::One,
            format!("no {} with id {{{id}}}", t.singular),
        ),
        guard_step(
            format!("$current_{scol} IN ({})", from.join(", ")),
            format!(
                "{{target_label}} is {{current_{scol}}}; only {from_words} {} can be changed to {}",
                t.plural_words(),
                action.to.replace('_', " ")
            ),
        ),
        StepSpec {
            sql: Some(format!(
                "UPDATE {} SET {scol} = {} WHERE id = ${id} RETURNING id AS {id}, {label}, {scol}",
                t.name,
                sql_text(&action.to)
            )),
            guard: None,
            expect: Expect::One,
            error: None,
            output: true,
        },
    ];
    let _ = status;
    let phrase = action.phrase.replace("{it}", &format!("{} {}", a_or_an(&t.singular), t.singular));
    let description = format!(
        "{}: sets its {} to {}. Only {from_words} {} qualify.",
        capitalize(&phrase),
        scol.replace('_', " "),
        action.to.replace('_', " "),
        t.plural_words()
    );
    tool(name, description, params, steps, true, ResultShape::Row)
}

/// "a, b or c" of identifiers written as words.
pub fn or_list(items: &[String]) -> String {
    let words: Vec<String> = items.iter().map(|s| s.replace('_', " ")).collect();
    listing(&words, "or")
}

/// "a, b and c" (with `conjunction` "and"), "a" for one item, nothing for none.
pub fn listing(items: &[String], conjunction: &str) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} {conjunction} {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// The indefinite article for a noun.
pub fn a_or_an(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
