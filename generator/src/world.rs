//! One environment's draw from a domain: which tables, columns and tools it has, and its rows. Everything later
//! stages write (schema, seed, tools, tasks) is read off this model, so tasks know the data without a database.

use crate::dsl::{ActionDef, Domain, Generator, StatusDef, TableDef};
use crate::rng::Rng;
use crate::words;

/// A value of the seed data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    /// Money in cents.
    Cents(i64),
    Text(String),
    /// An SQL time expression relative to the virtual clock (`datetime('now', '-3 days')`).
    Time(String),
}

impl Value {
    /// As an SQL literal.
    pub fn sql(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Int(i) => i.to_string(),
            Value::Cents(c) => money_text(*c),
            Value::Text(s) => sql_text(s),
            Value::Time(e) => e.clone(),
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        if let Value::Text(s) = self { Some(s) } else { None }
    }
    /// Numeric value (money in dollars).
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Cents(c) => Some(*c as f64 / 100.0),
            _ => None,
        }
    }
}

/// `1234` cents -> `12.34`.
pub fn money_text(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
}

/// An SQL string literal.
pub fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a column of an environment's table is.
#[derive(Debug, Clone)]
pub enum ColumnKind {
    Label(Generator),
    Ref { parent: usize, optional: bool, consumes: Option<(String, String)> },
    Data { generator: Generator, edit: bool, optional: bool },
    Status(StatusDef),
    CreatedAt,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn generator(&self) -> Option<&Generator> {
        match &self.kind {
            ColumnKind::Label(g) | ColumnKind::Data { generator: g, .. } => Some(g),
            _ => None,
        }
    }
    pub fn is_numeric(&self) -> bool {
        self.generator().is_some_and(Generator::is_numeric)
    }
    pub fn is_money(&self) -> bool {
        matches!(self.generator(), Some(Generator::Money(..)))
    }
    /// "unit price" for `unit_price`.
    pub fn words(&self) -> String {
        self.name.trim_end_matches("_id").replace('_', " ")
    }
    /// The value as a person would write it ("$12.50", "3", "gold").
    pub fn spoken(&self, v: &Value) -> String {
        match v {
            Value::Cents(c) => format!("${}", money_text(*c)),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.replace('_', " "),
            _ => String::new(),
        }
    }
}

/// The tools one table offers in this environment (their names are drawn per environment).
#[derive(Debug, Clone, Default)]
pub struct TableTools {
    pub search: String,
    pub get: String,
    pub create: Option<String>,
    pub update: Option<String>,
    pub delete: Option<String>,
    /// (action, tool name)
    pub actions: Vec<(ActionDef, String)>,
}

/// One table of an environment, with its rows (`rows[i]` has id `i + 1`).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub singular: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Numbers of `code(...)` values start above this.
    pub code_base: i64,
    pub tools: TableTools,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    pub fn label_col(&self) -> usize {
        0
    }
    pub fn label(&self, row: usize) -> &str {
        self.rows[row][0].as_text().unwrap_or("")
    }
    pub fn status(&self) -> Option<(usize, &StatusDef)> {
        self.columns.iter().enumerate().find_map(|(i, c)| match &c.kind {
            ColumnKind::Status(s) => Some((i, s)),
            _ => None,
        })
    }
    /// "the order ORD-1042" / "the customer Priya Raman".
    pub fn mention(&self, row: usize) -> String {
        match &self.columns[0].kind {
            ColumnKind::Label(Generator::Code(_)) | ColumnKind::Label(Generator::Person) => {
                format!("the {} {}", self.singular, self.label(row))
            }
            _ => format!("the {} \"{}\"", self.singular, self.label(row)),
        }
    }
    pub fn plural_words(&self) -> String {
        self.name.replace('_', " ")
    }
}

/// An environment before it is written: its domain, clock, brand and tables.
#[derive(Debug, Clone)]
pub struct World {
    pub domain: String,
    pub about: String,
    pub brand: String,
    pub name: String,
    pub clock: String,
    pub tables: Vec<Table>,
    /// Tool naming style of this environment.
    pub style: usize,
}

impl World {
    pub fn table(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }
    pub fn tool_count(&self) -> usize {
        self.tables
            .iter()
            .map(|t| {
                2 + t.tools.create.is_some() as usize
                    + t.tools.update.is_some() as usize
                    + t.tools.delete.is_some() as usize
                    + t.tools.actions.len()
            })
            .sum()
    }
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
    /// Tables that reference table `parent`, with the ref column index.
    pub fn children(&self, parent: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.columns.iter().enumerate() {
                if let ColumnKind::Ref { parent: p, .. } = c.kind
                    && p == parent
                {
                    out.push((ti, ci));
                }
            }
        }
        out
    }
}

const SEARCH: [&str; 3] = ["search", "find", "list"];
const GET: [&str; 3] = ["get", "get_{}_details", "fetch"];
const CREATE: [&str; 3] = ["create", "add", "new"];
const UPDATE: [&str; 3] = ["update", "edit", "modify"];
const DELETE: [&str; 3] = ["delete", "remove", "delete"];

fn tool_name(pattern: &str, noun: &str) -> String {
    if pattern.contains("{}") { pattern.replace("{}", noun) } else { format!("{pattern}_{noun}") }
}

/// Draws one environment of `domain` from `seed`.
pub fn draw(domain: &Domain, seed: u64, name: String) -> World {
    let mut rng = Rng::new(seed);
    // 1. Tables: every core table, a draw of the others whose required parents are present, 8 at least.
    let defs = &domain.tables;
    let mut chosen: Vec<bool> = defs.iter().map(|t| t.core || rng.chance(0.55)).collect();
    let parents_ok = |chosen: &[bool], t: &TableDef| {
        t.refs
            .iter()
            .filter(|r| !r.optional)
            .all(|r| defs.iter().position(|d| d.name == r.table).is_some_and(|p| chosen[p]))
    };
    // Drop tables whose required parents are missing (in definition order, parents come first).
    for i in 0..defs.len() {
        if chosen[i] && !parents_ok(&chosen, &defs[i]) {
            chosen[i] = false;
        }
    }
    let mut order: Vec<usize> = (0..defs.len()).collect();
    rng.shuffle(&mut order);
    while chosen.iter().filter(|c| **c).count() < 8 {
        let Some(&next) = order.iter().find(|&&i| !chosen[i] && parents_ok(&chosen, &defs[i])) else { break };
        chosen[next] = true;
    }
    let style = rng.below(SEARCH.len());
    let clock = format!("2026-{:02}-{:02}T{:02}:00:00Z", rng.range(1, 12), rng.range(1, 28), rng.range(8, 17));
    let brand = rng.pick(&domain.brands).clone();
    let mut world = World {
        domain: domain.name.clone(),
        about: domain.about.clone(),
        brand,
        name,
        clock,
        tables: Vec::new(),
        style,
    };
    // 2. Row counts: each table's draw from its range, then scaled together into AWM's 100-300 seed rows.
    let picked: Vec<&TableDef> = defs.iter().zip(&chosen).filter(|(_, c)| **c).map(|(d, _)| d).collect();
    let counts = row_counts(&mut rng, &picked);
    // 3. Columns and rows, table by table (parents first, so references can point at real rows).
    for (def, n) in picked.iter().zip(counts) {
        let table = draw_table(&mut rng, &world, def, n);
        world.tables.push(table);
    }
    // 4. Tools: search and get always, the others drawn, keeping 20-45 tools.
    draw_tools(&mut rng, &mut world, defs);
    world
}

/// The most rows a table can have (a `pick` label has as many distinct values as its list).
fn row_cap(def: &TableDef) -> usize {
    match &def.label.generator {
        Generator::Pick(list) => list.len(),
        _ => usize::MAX,
    }
}

/// Rows per table: drawn from each table's range, then scaled so the total lands in 110-260 (inside AWM's 100-300
/// with room for the tables a `pick` label caps).
fn row_counts(rng: &mut Rng, defs: &[&TableDef]) -> Vec<usize> {
    let mut counts: Vec<usize> =
        defs.iter().map(|d| (rng.range(d.rows.0 as i64, d.rows.1 as i64) as usize).min(row_cap(d)).max(2)).collect();
    let total: usize = counts.iter().sum();
    let target = total.clamp(110, 260);
    if total != target {
        let scale = target as f64 / total as f64;
        for (c, d) in counts.iter_mut().zip(defs) {
            *c = ((*c as f64 * scale).round() as usize).min(row_cap(d)).max(2);
        }
    }
    // Rounding and caps can leave the total short: add rows one at a time to tables that can take them.
    let mut i = 0;
    while counts.iter().sum::<usize>() < 105 && i < 10_000 {
        let k = i % counts.len();
        if counts[k] < row_cap(defs[k]) {
            counts[k] += 1;
        }
        i += 1;
    }
    counts
}

fn draw_table(rng: &mut Rng, world: &World, def: &TableDef, n: usize) -> Table {
    let mut columns =
        vec![Column { name: def.label.name.clone(), kind: ColumnKind::Label(def.label.generator.clone()) }];
    for r in &def.refs {
        let Some(parent) = world.table(&r.table) else { continue };
        if r.optional && !rng.chance(0.6) {
            continue;
        }
        columns.push(Column {
            name: r.column.clone(),
            kind: ColumnKind::Ref { parent, optional: r.optional, consumes: r.consumes.clone() },
        });
    }
    for c in &def.columns {
        if c.optional && !rng.chance(0.6) {
            continue;
        }
        columns.push(Column {
            name: c.name.clone(),
            kind: ColumnKind::Data { generator: c.generator.clone(), edit: c.edit, optional: c.optional },
        });
    }
    if let Some(s) = &def.status {
        columns.push(Column { name: s.column.clone(), kind: ColumnKind::Status(s.clone()) });
    }
    columns.push(Column { name: "created_at".into(), kind: ColumnKind::CreatedAt });
    let code_base = rng.range(10, 89) * 100;
    let mut table = Table {
        name: def.name.clone(),
        singular: def.singular.clone(),
        columns,
        rows: Vec::with_capacity(n),
        code_base,
        tools: TableTools::default(),
    };
    let mut labels = std::collections::HashSet::new();
    for i in 0..n {
        let mut row = Vec::with_capacity(table.columns.len());
        for c in &table.columns {
            let v = match &c.kind {
                ColumnKind::Label(g) => {
                    let mut label = String::new();
                    for attempt in 0..40 {
                        label = value_of(rng, g, i, code_base, None).as_text().unwrap_or("").to_string();
                        if attempt == 39 {
                            label = format!("{label} {}", i + 2);
                        }
                        if labels.insert(label.clone()) {
                            break;
                        }
                    }
                    Value::Text(label)
                }
                ColumnKind::Ref { parent, optional, .. } => {
                    if *optional && rng.chance(0.2) {
                        Value::Null
                    } else {
                        Value::Int(rng.range(1, world.tables[*parent].rows.len() as i64))
                    }
                }
                ColumnKind::Data { generator, .. } => {
                    let person = match (&table.columns[0].kind, row.first()) {
                        (ColumnKind::Label(Generator::Person), Some(Value::Text(p))) => Some(p.as_str()),
                        _ => None,
                    };
                    value_of(rng, generator, i, code_base, person)
                }
                ColumnKind::Status(s) => {
                    let w: Vec<u32> = s.states.iter().map(|(_, w)| *w).collect();
                    Value::Text(s.states[rng.weighted(&w)].0.clone())
                }
                ColumnKind::CreatedAt => Value::Time(format!(
                    "datetime('now', '-{} days', '-{} minutes')",
                    rng.range(30, 900),
                    rng.range(0, 1439)
                )),
            };
            row.push(v);
        }
        table.rows.push(row);
    }
    table
}

fn value_of(rng: &mut Rng, g: &Generator, row: usize, code_base: i64, person: Option<&str>) -> Value {
    let person_name = |rng: &mut Rng| format!("{} {}", rng.pick(words::FIRST_NAMES), rng.pick(words::LAST_NAMES));
    match g {
        Generator::Person => Value::Text(person_name(rng)),
        Generator::Email => {
            let p = match person {
                Some(p) => p.to_string(),
                None => format!("{}{}", person_name(rng), rng.range(1, 99)),
            };
            let local: String = p
                .to_lowercase()
                .chars()
                .map(|c| if c == ' ' { '.' } else { c })
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            Value::Text(format!("{local}@example.com"))
        }
        Generator::Phone => {
            let (_, area) = rng.pick(words::CITIES);
            Value::Text(format!("+1-{area}-555-{:04}", rng.range(100, 199)))
        }
        Generator::City => Value::Text(rng.pick(words::CITIES).0.to_string()),
        Generator::Street => Value::Text(format!("{} {}", rng.range(12, 2400), rng.pick(words::STREETS))),
        Generator::Company => {
            Value::Text(format!("{} {}", rng.pick(words::COMPANY_FIRST), rng.pick(words::COMPANY_SECOND)))
        }
        Generator::Pick(list) => Value::Text(rng.pick(list).clone()),
        Generator::Combo(lists) => {
            Value::Text(lists.iter().map(|l| rng.pick(l).as_str()).collect::<Vec<_>>().join(" "))
        }
        Generator::Code(prefix) => Value::Text(format!("{prefix}-{}", code_base + row as i64 + 1)),
        Generator::Int(lo, hi) => Value::Int(rng.range(*lo, *hi)),
        Generator::Money(lo, hi) => {
            // Prices end in .00, .49, .95 or .99 or are arbitrary cents.
            let c = rng.range(*lo, *hi);
            let cents = match rng.below(4) {
                0 => c - c % 100,
                1 => c - c % 100 + 99,
                2 => c - c % 100 + 50,
                _ => c,
            };
            Value::Cents(cents.clamp(*lo, (*hi).max(*lo)))
        }
        Generator::Enum(values) => Value::Text(rng.pick(values).clone()),
        Generator::Bool => Value::Int(rng.range(0, 1)),
        Generator::Past(d) => Value::Time(format!(
            "datetime('now', '-{} days', '-{} minutes')",
            rng.range(1, *d as i64),
            rng.range(0, 1439)
        )),
        Generator::Future(d) => Value::Time(format!(
            "datetime('now', '+{} days', '+{} minutes')",
            rng.range(1, *d as i64),
            rng.range(0, 1439)
        )),
        Generator::PastDate(d) => Value::Time(format!("date('now', '-{} days')", rng.range(1, *d as i64))),
        Generator::FutureDate(d) => Value::Time(format!("date('now', '+{} days')", rng.range(1, *d as i64))),
    }
}

fn draw_tools(rng: &mut Rng, world: &mut World, defs: &[TableDef]) {
    let style = world.style;
    for t in world.tables.iter_mut() {
        let def = defs.iter().find(|d| d.name == t.name).expect("tables come from the domain");
        let noun = t.singular.replace(' ', "_");
        let plural = t.name.clone();
        let has_consumes = t.columns.iter().any(|c| matches!(&c.kind, ColumnKind::Ref { consumes: Some(_), .. }));
        let editable = t.columns.iter().any(|c| {
            matches!(&c.kind, ColumnKind::Data { edit: true, generator, .. }
                if !matches!(generator, Generator::Code(_) | Generator::Past(_) | Generator::PastDate(_)))
        });
        t.tools.search = tool_name(SEARCH[style], &plural);
        t.tools.get = tool_name(GET[(style + rng.below(2)) % GET.len()], &noun);
        if def.create && (has_consumes || rng.chance(0.8)) {
            t.tools.create = Some(tool_name(CREATE[rng.below(CREATE.len())], &noun));
        }
        if editable && rng.chance(0.75) {
            t.tools.update = Some(tool_name(UPDATE[style], &noun));
        }
        if def.delete && rng.chance(0.7) {
            t.tools.delete = Some(tool_name(DELETE[rng.below(DELETE.len())], &noun));
        }
        for a in &def.actions {
            if rng.chance(0.85) {
                t.tools.actions.push((a.clone(), format!("{}_{noun}", a.verb)));
            }
        }
    }
    // Keep the toolset in AWM's range: drop optional tools above 45.
    while world.tool_count() > 45 {
        let ti = rng.below(world.tables.len());
        let t = &mut world.tables[ti].tools;
        if t.delete.take().is_none() && t.actions.pop().is_none() {
            t.update = None;
        }
    }
}
