//! Tasks of a drawn environment with their verifiers and reference solutions. Every task is written from the
//! world model (the data is known), reads like a user's request, and carries every value it needs.

use agentworld_runtime::spec::{CallSpec, CheckSpec, TaskSpec};
use serde_json::{Map, Value as Json};

use crate::dsl::{ActionDef, Generator};
use crate::rng::Rng;
use crate::tools::{a_or_an, capitalize, id_param, listing, or_list};
use crate::words;
use crate::world::{Column, ColumnKind, Table, Value, World, money_text, sql_text};

/// The task kinds, in the order a fresh environment tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    LookupField,
    LookupCount,
    UpdateByName,
    Action,
    CreateChild,
    Reserve,
    Conditional,
    RefuseAction,
    RefuseCapacity,
    UpdateById,
    Delete,
    LookupTop,
    LookupSum,
    RefuseDelete,
}

impl Template {
    pub const ALL: [Template; 14] = [
        Template::LookupField,
        Template::LookupCount,
        Template::UpdateByName,
        Template::Action,
        Template::CreateChild,
        Template::Reserve,
        Template::Conditional,
        Template::RefuseAction,
        Template::RefuseCapacity,
        Template::UpdateById,
        Template::Delete,
        Template::LookupTop,
        Template::LookupSum,
        Template::RefuseDelete,
    ];

    /// The `kind` written into the spec.
    pub fn kind(self) -> &'static str {
        match self {
            Template::LookupField | Template::LookupCount | Template::LookupTop | Template::LookupSum => "lookup",
            Template::UpdateById | Template::Delete => "write",
            Template::UpdateByName | Template::Action | Template::CreateChild | Template::Reserve => "multi_write",
            Template::Conditional => "conditional",
            Template::RefuseAction | Template::RefuseCapacity | Template::RefuseDelete => "refusal",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Template::LookupField => "lookup",
            Template::LookupCount => "count",
            Template::UpdateByName => "update",
            Template::Action => "action",
            Template::CreateChild => "create",
            Template::Reserve => "reserve",
            Template::Conditional => "if",
            Template::RefuseAction => "refuse-action",
            Template::RefuseCapacity => "refuse-capacity",
            Template::UpdateById => "set",
            Template::Delete => "delete",
            Template::LookupTop => "top",
            Template::LookupSum => "total",
            Template::RefuseDelete => "refuse-delete",
        }
    }
}

const REFUSAL_WORDS: &str = "SELECT answer_contains('cannot') OR answer_contains('can''t') OR answer_contains('unable') OR answer_contains('not possible') OR answer_contains('not able')";

/// Up to `want` tasks of mixed kinds.
pub fn tasks(world: &World, rng: &mut Rng, want: usize) -> Vec<TaskSpec> {
    let mut out: Vec<TaskSpec> = Vec::new();
    let mut counter = 0usize;
    // A template is used once per table, so later passes ask about other parts of the service.
    let mut used = std::collections::HashSet::new();
    for _pass in 0..4 {
        let before = out.len();
        for template in Template::ALL {
            if out.len() >= want {
                return out;
            }
            // A few tables per template: the first that can host it wins.
            let mut order: Vec<usize> = (0..world.tables.len()).filter(|ti| !used.contains(&(template, *ti))).collect();
            rng.shuffle(&mut order);
            for ti in order.into_iter().take(6) {
                let mut maker = Maker { world, rng, ti };
                if let Some(mut task) = maker.make(template) {
                    used.insert((template, ti));
                    counter += 1;
                    task.id = format!("{}-{}-{counter}", template.slug(), world.tables[ti].name.replace('_', "-"));
                    task.kind = Some(template.kind().to_string());
                    task.instruction = with_greeting(rng, &task.instruction);
                    out.push(task);
                    break;
                }
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

/// A create call planned for a task.
struct CreatePlan {
    args: Vec<(String, Json)>,
    /// How the request names each value ("for the customer X", "quantity 2").
    said: Vec<String>,
    /// SQL conditions the new row meets.
    conds: Vec<String>,
    /// The searches that find the parents' ids.
    searches: Vec<CallSpec>,
    capacity: Option<Capacity>,
}

/// What a create call takes from a parent's capacity.
struct Capacity {
    parent: usize,
    row: usize,
    column: String,
    have: Value,
    take: Value,
}

struct Maker<'a> {
    world: &'a World,
    rng: &'a mut Rng,
    ti: usize,
}

fn check(name: &str, sql: String) -> CheckSpec {
    CheckSpec::Named { name: Some(name.to_string()), sql }
}

fn call(tool: &str, args: &[(&str, Json)]) -> CallSpec {
    let mut m = Map::new();
    for (k, v) in args {
        m.insert(k.to_string(), v.clone());
    }
    CallSpec { tool: tool.to_string(), args: m }
}

fn task(instruction: String, verify: Vec<CheckSpec>, solution: Vec<CallSpec>, answer: &str) -> TaskSpec {
    TaskSpec {
        id: String::new(),
        instruction,
        kind: None,
        verify,
        unchanged: vec!["*".into()],
        partial_rule: None,
        solution,
        answer: answer.to_string(),
    }
}

/// JSON argument for a value.
fn json_of(v: &Value) -> Json {
    match v {
        Value::Int(i) => Json::from(*i),
        Value::Cents(c) => serde_json::Number::from_f64(*c as f64 / 100.0).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        _ => Json::Null,
    }
}

/// `final.T.col` of row `id` equals `v` (numbers within half a cent).
fn equals(side: &str, t: &Table, col: &str, id: usize, v: &Value) -> String {
    let sel = format!("(SELECT {col} FROM {side}.{} WHERE id = {id})", t.name);
    match v {
        Value::Int(_) | Value::Cents(_) => format!("abs({sel} - {}) < 0.005", v.sql()),
        _ => format!("{sel} = {}", v.sql()),
    }
}

/// No row of T other than `id` changed, and no row came or went.
fn others_unchanged(t: &Table, id: usize) -> String {
    format!(
        "NOT EXISTS (SELECT * FROM final.{0} WHERE id <> {id} EXCEPT SELECT * FROM initial.{0}) AND (SELECT count(*) FROM final.{0}) = (SELECT count(*) FROM initial.{0})",
        t.name
    )
}

impl<'a> Maker<'a> {
    fn t(&self) -> &'a Table {
        let world: &'a World = self.world;
        &world.tables[self.ti]
    }

    fn make(&mut self, template: Template) -> Option<TaskSpec> {
        match template {
            Template::LookupField => self.lookup_field(),
            Template::LookupCount => self.lookup_count(),
            Template::UpdateByName => self.update(true),
            Template::UpdateById => self.update(false),
            Template::Action => self.action(),
            Template::CreateChild => self.create(false),
            Template::Reserve => self.create(true),
            Template::Conditional => self.conditional(),
            Template::RefuseAction => self.refuse_action(),
            Template::RefuseCapacity => self.refuse_capacity(),
            Template::Delete => self.delete(),
            Template::LookupTop => self.lookup_top(),
            Template::LookupSum => self.lookup_sum(),
            Template::RefuseDelete => self.refuse_delete(),
        }
    }

    /// A random data column a person would ask about or change (not a time, flag or code), editable ones only
    /// when `editable`.
    fn value_column(&mut self, editable: bool) -> Option<usize> {
        let t = self.t();
        let cols: Vec<usize> = (1..t.columns.len())
            .filter(|&c| {
                matches!(&t.columns[c].kind, ColumnKind::Data { generator, edit, .. }
                    if (*edit || !editable) && !generator.is_time() && !matches!(generator, Generator::Bool | Generator::Code(_)))
            })
            .collect();
        if cols.is_empty() { None } else { Some(cols[self.rng.below(cols.len())]) }
    }

    fn row(&mut self) -> usize {
        let n = self.t().rows.len();
        self.rng.below(n)
    }

    /// A random row satisfying `ok`.
    fn row_where(&mut self, ok: impl Fn(&[Value]) -> bool) -> Option<usize> {
        let t = &self.world.tables[self.ti];
        let rows: Vec<usize> = (0..t.rows.len()).filter(|&r| ok(&t.rows[r])).collect();
        if rows.is_empty() { None } else { Some(rows[self.rng.below(rows.len())]) }
    }

    fn find(&self, row: usize) -> CallSpec {
        let t = self.t();
        call(&t.tools.search, &[("query", Json::String(t.label(row).to_string()))])
    }

    fn lookup_field(&mut self) -> Option<TaskSpec> {
        let ci = self.value_column(false)?;
        let r = self.row();
        let t = self.t();
        let col = &t.columns[ci];
        let v = &t.rows[r][ci];
        // The validator's wrong answers put a 7 before every number or say "I could not find that.": a text value
        // that survives either (a leading house number, a very short word) cannot tell right from wrong.
        if let Value::Text(text) = v {
            let spoken = text.replace('_', " ").to_lowercase();
            if spoken.len() < 3
                || spoken.starts_with(|c: char| c.is_ascii_digit())
                || "i could not find that.".contains(&spoken)
            {
                return None;
            }
        }
        let sel = format!("(SELECT {} FROM initial.{} WHERE id = {})", col.name, t.name, r + 1);
        let verify = if col.is_numeric() {
            check("value", format!("SELECT answer_has_number({sel})"))
        } else {
            check("value", format!("SELECT answer_contains(replace({sel}, '_', ' '))"))
        };
        let mention = t.mention(r);
        let words = col.words();
        let instruction = match self.rng.below(3) {
            0 => format!("What is the {words} of {mention}?"),
            1 => format!("Can you look up the {words} for {mention}?"),
            _ => format!("I need to know the {words} on record for {mention}."),
        };
        let t = self.t();
        let solution = vec![self.find(r), call(&t.tools.get, &[(&id_param(t), Json::from(r + 1))])];
        Some(task(instruction, vec![verify], solution, &format!("It is {}.", col.spoken(v))))
    }

    fn lookup_count(&mut self) -> Option<TaskSpec> {
        let t = self.t();
        let (si, status) = t.status()?;
        let refc =
            (1..t.columns.len()).find(|&c| matches!(t.columns[c].kind, ColumnKind::Ref { optional: false, .. }))?;
        let ColumnKind::Ref { parent, .. } = t.columns[refc].kind else { return None };
        let r = self.row();
        let t = self.t();
        let p = &self.world.tables[parent];
        let pid = match &t.rows[r][refc] {
            Value::Int(i) => *i as usize,
            _ => return None,
        };
        let state = t.rows[r][si].as_text()?.to_string();
        let count = t
            .rows
            .iter()
            .filter(|row| row[refc] == Value::Int(pid as i64) && row[si].as_text() == Some(&state))
            .count();
        let _ = status;
        let verify = check(
            "count",
            format!(
                "SELECT answer_has_number((SELECT count(*) FROM initial.{} WHERE {} = {pid} AND {} = {}))",
                t.name,
                t.columns[refc].name,
                t.columns[si].name,
                sql_text(&state)
            ),
        );
        let plural = t.plural_words();
        let spoken = state.replace('_', " ");
        let pm = p.mention(pid - 1);
        let instruction = match self.rng.below(2) {
            0 => format!("How many {spoken} {plural} does {pm} have?"),
            _ => format!("Count the {plural} of {pm} whose {} is {spoken}, please.", t.columns[si].words()),
        };
        let solution = vec![
            call(&p.tools.search, &[("query", Json::String(p.label(pid - 1).to_string()))]),
            call(
                &t.tools.search,
                &[(&t.columns[refc].name, Json::from(pid)), (&t.columns[si].name, Json::String(state.clone()))],
            ),
        ];
        Some(task(instruction, vec![verify], solution, &format!("{count}.")))
    }

    /// A new value for an editable column, different from the current one.
    fn new_value(&mut self, col: &Column, current: &Value) -> Option<Value> {
        let g = col.generator()?.clone();
        for _ in 0..10 {
            let v = match &g {
                Generator::Int(lo, hi) => Value::Int(self.rng.range(*lo, *hi)),
                Generator::Money(lo, hi) => {
                    Value::Cents(self.rng.range(*lo / 100, *hi / 100) * 100 + [0, 50, 99][self.rng.below(3)])
                }
                Generator::Enum(vals) => Value::Text(self.rng.pick(vals).clone()),
                Generator::Pick(vals) => Value::Text(self.rng.pick(vals).clone()),
                Generator::City => Value::Text(self.rng.pick(words::CITIES).0.to_string()),
                Generator::Phone => {
                    Value::Text(format!("+1-{}-555-{:04}", self.rng.pick(words::CITIES).1, self.rng.range(200, 299)))
                }
                Generator::Person => {
                    Value::Text(format!("{} {}", self.rng.pick(words::FIRST_NAMES), self.rng.pick(words::LAST_NAMES)))
                }
                Generator::Company => Value::Text(format!(
                    "{} {}",
                    self.rng.pick(words::COMPANY_FIRST),
                    self.rng.pick(words::COMPANY_SECOND)
                )),
                Generator::Street => {
                    Value::Text(format!("{} {}", self.rng.range(12, 2400), self.rng.pick(words::STREETS)))
                }
                Generator::Email => Value::Text(format!(
                    "{}.{}{}@example.com",
                    self.rng.pick(words::FIRST_NAMES).to_lowercase(),
                    self.rng.pick(words::LAST_NAMES).to_lowercase(),
                    self.rng.range(1, 99)
                )),
                Generator::Combo(lists) => {
                    Value::Text(lists.iter().map(|l| self.rng.pick(l).as_str()).collect::<Vec<_>>().join(" "))
                }
                _ => return None,
            };
            if &v != current {
                return Some(v);
            }
        }
        None
    }

    fn update(&mut self, by_name: bool) -> Option<TaskSpec> {
        let t = self.t();
        let tool = t.tools.update.clone()?;
        let ci = self.value_column(true)?;
        let r = self.row();
        let col = self.t().columns[ci].clone();
        let current = self.t().rows[r][ci].clone();
        let v = self.new_value(&col, &current)?;
        let t = self.t();
        let ok = format!("SELECT {} AND {}", equals("final", t, &col.name, r + 1, &v), others_unchanged(t, r + 1));
        let words = col.words();
        let spoken = col.spoken(&v);
        let mut solution = Vec::new();
        let instruction = if by_name {
            solution.push(self.find(r));
            let mention = t.mention(r);
            match self.rng.below(3) {
                0 => format!("Please change the {words} of {mention} to {spoken}."),
                1 => format!("Update {mention}: the {words} should now be {spoken}."),
                _ => format!("Could you set the {words} for {mention} to {spoken}?"),
            }
        } else {
            format!("Set the {words} of {} #{} to {spoken}.", t.singular, r + 1)
        };
        let t = self.t();
        solution.push(call(&tool, &[(&id_param(t), Json::from(r + 1)), (&col.name, json_of(&v))]));
        Some(task(instruction, vec![check("updated", ok)], solution, "Done, it is updated."))
    }

    fn pick_action(&mut self) -> Option<(ActionDef, String, usize)> {
        let t = self.t();
        if t.tools.actions.is_empty() {
            return None;
        }
        let (si, _) = t.status()?;
        let (a, name) = t.tools.actions[self.rng.below(t.tools.actions.len())].clone();
        Some((a, name, si))
    }

    fn action(&mut self) -> Option<TaskSpec> {
        let (a, tool, si) = self.pick_action()?;
        let r = self.row_where(|row| row[si].as_text().is_some_and(|s| a.from.iter().any(|f| f == s)))?;
        let t = self.t();
        let ok = format!(
            "SELECT {} AND {}",
            equals("final", t, &t.columns[si].name, r + 1, &Value::Text(a.to.clone())),
            others_unchanged(t, r + 1)
        );
        let instruction = format!("{}.", capitalize(&a.phrase.replace("{it}", &t.mention(r))));
        let solution = vec![self.find(r), call(&tool, &[(&id_param(t), Json::from(r + 1))])];
        Some(task(instruction, vec![check("status-changed", ok)], solution, "Done."))
    }

    fn refuse_action(&mut self) -> Option<TaskSpec> {
        let (a, _tool, si) = self.pick_action()?;
        let r = self.row_where(|row| row[si].as_text().is_some_and(|s| !a.from.iter().any(|f| f == s)))?;
        let t = self.t();
        let state = t.rows[r][si].as_text()?.replace('_', " ");
        let instruction = format!("{}.", capitalize(&a.phrase.replace("{it}", &t.mention(r))));
        let verify = vec![
            check("refuses", REFUSAL_WORDS.to_string()),
            check("gives-reason", format!("SELECT answer_contains({})", sql_text(&state))),
        ];
        let answer =
            format!("I can't do that: it is {state}, and only {} ones can be changed that way.", or_list(&a.from));
        Some(task(instruction, verify, vec![self.find(r)], &answer))
    }

    fn conditional(&mut self) -> Option<TaskSpec> {
        let (a, tool, si) = self.pick_action()?;
        let r = self.row();
        let t = self.t();
        let state = t.rows[r][si].as_text()?.to_string();
        let allowed = a.from.contains(&state);
        // "cancel it" reads well; "suspend the account of it" does not, so such phrases name the row again.
        let it_phrase = if a.phrase.split_whitespace().nth(1) == Some("{it}") {
            a.phrase.replace("{it}", "it")
        } else {
            a.phrase.replace("{it}", &t.mention(r))
        };
        let instruction = format!(
            "If {} is still {}, {it_phrase}. Otherwise leave it as it is and tell me its current {}.",
            t.mention(r),
            or_list(&a.from),
            t.columns[si].words()
        );
        let scol = &t.columns[si].name;
        if allowed {
            let ok = format!(
                "SELECT {} AND {}",
                equals("final", t, scol, r + 1, &Value::Text(a.to.clone())),
                others_unchanged(t, r + 1)
            );
            let solution = vec![self.find(r), call(&tool, &[(&id_param(t), Json::from(r + 1))])];
            Some(task(instruction, vec![check("acted", ok)], solution, "It qualified, so it is done."))
        } else {
            let spoken = state.replace('_', " ");
            let verify = vec![check("reports-status", format!("SELECT answer_contains({})", sql_text(&spoken)))];
            Some(task(instruction, verify, vec![self.find(r)], &format!("It is {spoken}, so I left it unchanged.")))
        }
    }

    /// Values for the create tool's required parameters, how the request says them, and what to check.
    fn create_args(&mut self, reserve: bool, refuse: bool) -> Option<CreatePlan> {
        let world = self.world;
        let t = &world.tables[self.ti];
        let _ = t.tools.create.as_ref()?;
        let consumes = t.columns.iter().position(|c| matches!(&c.kind, ColumnKind::Ref { consumes: Some(_), .. }));
        if reserve != consumes.is_some() && reserve {
            return None;
        }
        let mut args = Vec::new();
        let mut said = Vec::new();
        let mut conds = Vec::new();
        let mut searches = Vec::new();
        let mut capacity = None;
        // The quantity taken from a parent's capacity, when there is one.
        let mut qty_value: Option<(String, Value)> = None;
        for c in &t.columns {
            if let ColumnKind::Ref { parent, optional: false, consumes } = &c.kind {
                {
                    let p = &world.tables[*parent];
                    let pr = if let Some((cap, qty)) = consumes {
                        let capi = p.col(cap)?;
                        let qcol = t.col(qty)?;
                        let rows: Vec<usize> = (0..p.rows.len())
                            .filter(|&i| {
                                p.rows[i][capi].number().is_some_and(|x| if refuse { x < 20.0 } else { x >= 1.0 })
                            })
                            .collect();
                        if rows.is_empty() {
                            return None;
                        }
                        let pr = rows[self.rng.below(rows.len())];
                        let have = p.rows[pr][capi].clone();
                        let q = match (&have, t.columns[qcol].generator()?) {
                            (Value::Int(h), Generator::Int(lo, hi)) => {
                                if refuse {
                                    Value::Int(h + self.rng.range(1, 3))
                                } else {
                                    Value::Int(self.rng.range((*lo).max(1), (*hi).min(*h).max(1)))
                                }
                            }
                            (Value::Cents(h), Generator::Money(..)) => {
                                if refuse {
                                    Value::Cents((h / 100 + self.rng.range(1, 40)) * 100)
                                } else {
                                    Value::Cents((h / 100).clamp(1, 50) * 50)
                                }
                            }
                            (Value::Int(h), Generator::Money(..)) => {
                                if refuse {
                                    Value::Cents((h + self.rng.range(1, 20)) * 100)
                                } else {
                                    Value::Cents(((*h).max(1) * 100 / 2).max(100))
                                }
                            }
                            (Value::Cents(h), Generator::Int(..)) => {
                                if refuse {
                                    Value::Int(h / 100 + self.rng.range(1, 5))
                                } else {
                                    Value::Int((h / 100 / 2).max(1))
                                }
                            }
                            _ => return None,
                        };
                        if !refuse && q.number()? > have.number()? {
                            return None;
                        }
                        if q.number()? <= 0.0 {
                            return None;
                        }
                        qty_value = Some((qty.clone(), q.clone()));
                        capacity = Some(Capacity { parent: *parent, row: pr, column: cap.clone(), have, take: q });
                        pr
                    } else {
                        self.rng.below(p.rows.len())
                    };
                    args.push((c.name.clone(), Json::from(pr + 1)));
                    said.push(format!("for {}", p.mention(pr)));
                    conds.push(format!("{} = {}", c.name, pr + 1));
                    searches.push(call(&p.tools.search, &[("query", Json::String(p.label(pr).to_string()))]));
                }
            }
        }
        if reserve && capacity.is_none() {
            return None;
        }
        for c in &t.columns {
            let v = match &c.kind {
                ColumnKind::Label(Generator::Code(_)) => continue,
                ColumnKind::Label(g) => {
                    let existing: Vec<&str> = (0..t.rows.len()).map(|r| t.label(r)).collect();
                    let mut found = None;
                    for _ in 0..30 {
                        let v = self.new_value(
                            &Column {
                                name: c.name.clone(),
                                kind: ColumnKind::Data { generator: g.clone(), edit: false, optional: false },
                            },
                            &Value::Null,
                        )?;
                        if let Value::Text(s) = &v
                            && !existing.contains(&s.as_str())
                        {
                            found = Some(v);
                            break;
                        }
                    }
                    found?
                }
                ColumnKind::Data { generator, optional: false, .. } => {
                    if let Some((q, v)) = &qty_value
                        && q == &c.name
                    {
                        v.clone()
                    } else {
                        match generator {
                            Generator::Int(lo, hi) => Value::Int(self.rng.range(*lo, *hi)),
                            Generator::Money(lo, hi) => Value::Cents(self.rng.range(*lo / 100, *hi / 100).max(1) * 100),
                            g if g.is_time() || matches!(g, Generator::Code(_) | Generator::Bool) => continue,
                            _ => self.new_value(c, &Value::Null)?,
                        }
                    }
                }
                _ => continue,
            };
            args.push((c.name.clone(), json_of(&v)));
            said.push(format!(
                "{} {}",
                c.words(),
                match &v {
                    Value::Text(s) if !matches!(c.generator(), Some(Generator::Enum(_))) => format!("\"{s}\""),
                    _ => c.spoken(&v),
                }
            ));
            conds.push(match &v {
                Value::Int(_) | Value::Cents(_) => format!("abs({} - {}) < 0.005", c.name, v.sql()),
                _ => format!("{} = {}", c.name, v.sql()),
            });
        }
        Some(CreatePlan { args, said, conds, searches, capacity })
    }

    fn create(&mut self, reserve: bool) -> Option<TaskSpec> {
        let CreatePlan { args, said, conds, searches: mut solution, capacity } = self.create_args(reserve, false)?;
        let world = self.world;
        let t = &world.tables[self.ti];
        let tool = t.tools.create.clone()?;
        let mut verify = vec![check(
            "created",
            format!(
                "SELECT (SELECT count(*) FROM final.{0} WHERE id NOT IN (SELECT id FROM initial.{0}) AND {1}) = 1 AND (SELECT count(*) FROM final.{0}) = (SELECT count(*) FROM initial.{0}) + 1",
                t.name,
                conds.join(" AND ")
            ),
        )];
        if let Some(Capacity { parent, row: pr, column: cap, have, take: q }) = &capacity {
            let p = &world.tables[*parent];
            let left = match (have, q) {
                (Value::Int(h), Value::Int(q)) => Value::Int(h - q),
                _ => Value::Cents(((have.number()? - q.number()?) * 100.0).round() as i64),
            };
            verify.push(check(
                "capacity-taken",
                format!("SELECT {} AND {}", equals("final", p, cap, pr + 1, &left), others_unchanged(p, pr + 1)),
            ));
        }
        let argrefs: Vec<(&str, Json)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        solution.push(call(&tool, &argrefs));
        let what = t.singular.clone();
        let instruction = match self.rng.below(3) {
            0 => format!("Please create a new {what} {}.", join_said(&said)),
            1 => format!("Add {} {what} {}.", a_or_an(&what), join_said(&said)),
            _ => format!("I'd like a new {what} set up {}.", join_said(&said)),
        };
        Some(task(instruction, verify, solution, "Done, it has been created."))
    }

    fn refuse_capacity(&mut self) -> Option<TaskSpec> {
        let CreatePlan { said, searches: solution, capacity, .. } = self.create_args(true, true)?;
        let Capacity { parent, column: cap, have, .. } = capacity?;
        let t = self.t();
        t.tools.create.as_ref()?;
        let p = &self.world.tables[parent];
        let capcol = &p.columns[p.col(&cap)?];
        let instruction = format!("Please create a new {} {}.", t.singular, join_said(&said));
        let number = match &have {
            Value::Cents(c) => money_text(*c),
            v => v.sql(),
        };
        let verify = vec![
            check("refuses", REFUSAL_WORDS.to_string()),
            check("gives-reason", format!("SELECT answer_has_number({number})")),
        ];
        let answer = format!(
            "I can't: the {} has only {} {}, which is not enough.",
            p.singular,
            capcol.spoken(&have),
            capcol.words()
        );
        Some(task(instruction, verify, solution, &answer))
    }

    fn delete(&mut self) -> Option<TaskSpec> {
        let t = self.t();
        let tool = t.tools.delete.clone()?;
        let children = self.world.children(self.ti);
        let world = self.world;
        let r = self.row_where(|row| {
            let _ = row;
            true
        })?;
        let free = |r: usize| {
            children
                .iter()
                .all(|(ci, col)| !world.tables[*ci].rows.iter().any(|row| row[*col] == Value::Int(r as i64 + 1)))
        };
        let r = if free(r) { r } else { (0..t.rows.len()).find(|&x| free(x))? };
        let ok = format!(
            "SELECT NOT EXISTS (SELECT 1 FROM final.{0} WHERE id = {1}) AND (SELECT count(*) FROM final.{0}) = (SELECT count(*) FROM initial.{0}) - 1 AND NOT EXISTS (SELECT * FROM final.{0} EXCEPT SELECT * FROM initial.{0})",
            t.name,
            r + 1
        );
        let instruction = match self.rng.below(2) {
            0 => format!("Please delete {}.", t.mention(r)),
            _ => format!("Remove {} from the system.", t.mention(r)),
        };
        let solution = vec![self.find(r), call(&tool, &[(&id_param(t), Json::from(r + 1))])];
        Some(task(instruction, vec![check("deleted", ok)], solution, "It has been deleted."))
    }

    fn refuse_delete(&mut self) -> Option<TaskSpec> {
        let t = self.t();
        t.tools.delete.as_ref()?;
        let world = self.world;
        let children = world.children(self.ti);
        let (r, child) = (0..t.rows.len()).find_map(|r| {
            children
                .iter()
                .find(|(ci, col)| world.tables[*ci].rows.iter().any(|row| row[*col] == Value::Int(r as i64 + 1)))
                .map(|(ci, _)| (r, *ci))
        })?;
        let plural = world.tables[child].plural_words();
        let instruction = format!("Please delete {}.", t.mention(r));
        let verify = vec![
            check("refuses", REFUSAL_WORDS.to_string()),
            check("gives-reason", format!("SELECT answer_contains({})", sql_text(&plural))),
        ];
        let answer = format!("I can't delete it: it still has {plural} linked to it.");
        Some(task(instruction, verify, vec![self.find(r)], &answer))
    }

    fn lookup_top(&mut self) -> Option<TaskSpec> {
        let t = self.t();
        let cols: Vec<usize> = (1..t.columns.len()).filter(|&c| t.columns[c].is_numeric()).collect();
        if cols.is_empty() || t.rows.len() > 50 {
            return None;
        }
        let ci = cols[self.rng.below(cols.len())];
        let highest = self.rng.chance(0.5);
        let vals: Vec<f64> = t.rows.iter().map(|r| r[ci].number().unwrap_or(0.0)).collect();
        let best = if highest {
            vals.iter().cloned().fold(f64::MIN, f64::max)
        } else {
            vals.iter().cloned().fold(f64::MAX, f64::min)
        };
        let winners: Vec<usize> = (0..vals.len()).filter(|&i| vals[i] == best).collect();
        if winners.len() != 1 {
            return None;
        }
        let r = winners[0];
        let col = &t.columns[ci];
        let words = col.words();
        let which = if highest { "highest" } else { "lowest" };
        let instruction = format!("Which {} has the {which} {words}, and what is it?", t.singular);
        let verify = vec![
            check(
                "names-it",
                format!(
                    "SELECT answer_contains((SELECT {} FROM initial.{} WHERE id = {}))",
                    t.columns[0].name,
                    t.name,
                    r + 1
                ),
            ),
            check(
                "value",
                format!("SELECT answer_has_number((SELECT {} FROM initial.{} WHERE id = {}))", col.name, t.name, r + 1),
            ),
        ];
        let sort = format!("{}_{}", col.name, if highest { "desc" } else { "asc" });
        let solution = vec![call(&t.tools.search, &[("sort", Json::String(sort)), ("limit", Json::from(3))])];
        let answer = format!("{}, with {}.", t.label(r), col.spoken(&t.rows[r][ci]));
        Some(task(instruction, verify, solution, &answer))
    }

    fn lookup_sum(&mut self) -> Option<TaskSpec> {
        let t = self.t();
        let money = (1..t.columns.len()).find(|&c| t.columns[c].is_money())?;
        let refc =
            (1..t.columns.len()).find(|&c| matches!(t.columns[c].kind, ColumnKind::Ref { optional: false, .. }))?;
        let ColumnKind::Ref { parent, .. } = t.columns[refc].kind else { return None };
        let r = self.row();
        let t = self.t();
        let pid = match t.rows[r][refc] {
            Value::Int(i) => i,
            _ => return None,
        };
        let rows: Vec<&Vec<Value>> = t.rows.iter().filter(|row| row[refc] == Value::Int(pid)).collect();
        if rows.len() < 2 {
            return None;
        }
        let total: i64 = rows.iter().map(|row| if let Value::Cents(c) = row[money] { c } else { 0 }).sum();
        let p = &self.world.tables[parent];
        let words = t.columns[money].words();
        let instruction =
            format!("What is the total {words} across all {} of {}?", t.plural_words(), p.mention(pid as usize - 1));
        let verify = vec![check(
            "total",
            format!(
                "SELECT answer_has_number((SELECT round(sum({}), 2) FROM initial.{} WHERE {} = {pid}))",
                t.columns[money].name, t.name, t.columns[refc].name
            ),
        )];
        let solution = vec![
            call(&p.tools.search, &[("query", Json::String(p.label(pid as usize - 1).to_string()))]),
            call(&t.tools.search, &[(&t.columns[refc].name, Json::from(pid))]),
        ];
        Some(task(instruction, verify, solution, &format!("The total is ${}.", money_text(total))))
    }
}

/// A greeting in front of some requests, as users write them ("Hi! ...", "Hello, please ...").
fn with_greeting(rng: &mut Rng, sentence: &str) -> String {
    let prefix = *rng.pick(words::POLITE);
    if prefix.trim_end().ends_with([',', ':']) && !sentence.starts_with("I ") && !sentence.starts_with("I'") {
        let mut c = sentence.chars();
        let first = c.next().map(|f| f.to_lowercase().collect::<String>()).unwrap_or_default();
        format!("{prefix}{first}{}", c.as_str())
    } else {
        format!("{prefix}{sentence}")
    }
}

fn join_said(said: &[String]) -> String {
    // "for the customer X, with quantity 2 and size "M""
    let (fors, withs): (Vec<&String>, Vec<&String>) = said.iter().partition(|s| s.starts_with("for "));
    let parents: Vec<String> = fors.iter().map(|s| s.trim_start_matches("for ").to_string()).collect();
    let mut out = if parents.is_empty() { String::new() } else { format!("for {}", listing(&parents, "and")) };
    if !withs.is_empty() {
        let w: Vec<String> = withs.iter().map(|s| s.to_string()).collect();
        let list = listing(&w, "and");
        if out.is_empty() { out = format!("with {list}") } else { out = format!("{out}, with {list}") }
    }
    out
}
