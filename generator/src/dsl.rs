//! The domain description format (`domains/*.dsl`, documented in `docs/generator.md`): a domain lists the tables a
//! service of that kind could have, with column generators, relations, statuses and guarded actions. Every
//! environment of the domain is a seeded choice among them.

use std::fmt;

use thiserror::Error;

/// A mistake in a domain file, with its place.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{file}:{line}: {message}")]
pub struct DslError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// One domain: the kind of service and every table an environment of it may have.
#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub about: String,
    pub brands: Vec<String>,
    pub tables: Vec<TableDef>,
    /// Where it was read from (for errors).
    pub file: String,
}

/// `table NAME SINGULAR [core] rows MIN-MAX [create] [delete]` and the lines under it.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: String,
    pub singular: String,
    /// Present in every environment of the domain (optional tables are drawn per environment).
    pub core: bool,
    pub rows: (u32, u32),
    pub label: ColumnDef,
    pub columns: Vec<ColumnDef>,
    pub refs: Vec<RefDef>,
    pub status: Option<StatusDef>,
    pub actions: Vec<ActionDef>,
    pub create: bool,
    pub delete: bool,
    pub line: usize,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        std::iter::once(&self.label).chain(&self.columns).find(|c| c.name == name)
    }
}

/// `col NAME GENERATOR [opt] [edit]`.
#[derive(Debug, Clone)]
pub struct ColumnDef {
    pub name: String,
    pub generator: Generator,
    /// Drawn per environment.
    pub optional: bool,
    /// An update tool may change it.
    pub edit: bool,
}

/// How a column's values are made.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    Person,
    Email,
    Phone,
    City,
    Street,
    Company,
    /// One of the texts.
    Pick(Vec<String>),
    /// One word from each list, joined by spaces.
    Combo(Vec<Vec<String>>),
    /// `PREFIX-<number>`, unique, derived from the row id.
    Code(String),
    Int(i64, i64),
    /// Dollars and cents, stored as cents here.
    Money(i64, i64),
    /// A closed set of values (filterable, checked by the schema).
    Enum(Vec<String>),
    Bool,
    /// A timestamp up to N days before the clock.
    Past(u32),
    /// A timestamp up to N days after the clock.
    Future(u32),
    PastDate(u32),
    FutureDate(u32),
}

impl Generator {
    /// Text that names things (usable as a label).
    pub fn is_name(&self) -> bool {
        matches!(
            self,
            Generator::Person
                | Generator::Company
                | Generator::Street
                | Generator::Pick(_)
                | Generator::Combo(_)
                | Generator::Code(_)
        )
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self, Generator::Int(..) | Generator::Money(..))
    }
    pub fn is_time(&self) -> bool {
        matches!(self, Generator::Past(_) | Generator::Future(_) | Generator::PastDate(_) | Generator::FutureDate(_))
    }
    /// The SQLite column type.
    pub fn sql_type(&self) -> &'static str {
        match self {
            Generator::Int(..) | Generator::Bool => "INTEGER",
            Generator::Money(..) => "NUMERIC",
            _ => "TEXT",
        }
    }
}

/// `ref COLUMN TABLE [opt] [consumes CAPACITY by QUANTITY]`.
#[derive(Debug, Clone)]
pub struct RefDef {
    pub column: String,
    pub table: String,
    pub optional: bool,
    /// Creating a row takes `quantity` (a column of this table) from `capacity` (a column of the parent), guarded.
    pub consumes: Option<(String, String)>,
}

/// `status COLUMN state:weight ...` (the first state is the one new rows get).
#[derive(Debug, Clone)]
pub struct StatusDef {
    pub column: String,
    pub states: Vec<(String, u32)>,
}

impl StatusDef {
    pub fn initial(&self) -> &str {
        &self.states[0].0
    }
}

/// `action VERB "PHRASE" FROM,FROM -> TO`: a guarded status change.
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub verb: String,
    /// How a user asks for it; `{it}` stands for the row ("the order ORD-1042").
    pub phrase: String,
    pub from: Vec<String>,
    pub to: String,
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} tables)", self.name, self.tables.len())
    }
}

/// Parses one domain file.
pub fn parse_domain(file: &str, text: &str) -> Result<Domain, DslError> {
    let err = |line: usize, message: String| DslError { file: file.to_string(), line, message };
    let mut domain = Domain {
        name: String::new(),
        about: String::new(),
        brands: Vec::new(),
        tables: Vec::new(),
        file: file.to_string(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match keyword {
            "domain" => {
                check_ident(rest).map_err(|m| err(line_no, format!("domain name: {m}")))?;
                domain.name = rest.to_string();
            }
            "about" => domain.about = rest.to_string(),
            "brand" => {
                domain.brands = rest.split('|').map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect()
            }
            "table" => domain.tables.push(parse_table(rest).map_err(|m| err(line_no, m))?.with_line(line_no)),
            "label" | "col" | "ref" | "status" | "action" => {
                let Some(table) = domain.tables.last_mut() else {
                    return Err(err(line_no, format!("`{keyword}` before any `table`")));
                };
                table_line(table, keyword, rest).map_err(|m| err(line_no, m))?;
            }
            other => return Err(err(line_no, format!("unknown keyword `{other}`"))),
        }
    }
    check_domain(&domain).map_err(|(line, m)| err(line, m))?;
    Ok(domain)
}

impl TableDef {
    fn with_line(mut self, line: usize) -> TableDef {
        self.line = line;
        self
    }
}

fn check_ident(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(format!("`{s}` must match [a-z][a-z0-9_]*")) }
}

/// Splits on white space outside parentheses and double quotes.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quoted) = (0i32, false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '(' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ')' if !quoted => {
                depth -= 1;
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_table(rest: &str) -> Result<TableDef, String> {
    let t = tokens(rest);
    if t.len() < 2 {
        return Err("expected `table NAME SINGULAR [core] rows MIN-MAX [create] [delete]`".into());
    }
    check_ident(&t[0])?;
    let mut table = TableDef {
        name: t[0].clone(),
        singular: t[1].replace('_', " "),
        core: false,
        rows: (8, 20),
        label: ColumnDef { name: String::new(), generator: Generator::Bool, optional: false, edit: false },
        columns: Vec::new(),
        refs: Vec::new(),
        status: None,
        actions: Vec::new(),
        create: false,
        delete: false,
        line: 0,
    };
    let mut i = 2;
    while i < t.len() {
        match t[i].as_str() {
            "core" => table.core = true,
            "create" => table.create = true,
            "delete" => table.delete = true,
            "rows" => {
                let r = t.get(i + 1).ok_or("`rows` needs MIN-MAX")?;
                let (lo, hi) = r.split_once('-').ok_or(format!("rows `{r}`: expected MIN-MAX"))?;
                let lo: u32 = lo.parse().map_err(|_| format!("rows `{r}`: MIN is not a number"))?;
                let hi: u32 = hi.parse().map_err(|_| format!("rows `{r}`: MAX is not a number"))?;
                if lo == 0 || hi < lo {
                    return Err(format!("rows `{r}`: need 1 <= MIN <= MAX"));
                }
                table.rows = (lo, hi);
                i += 1;
            }
            other => return Err(format!("unknown table option `{other}`")),
        }
        i += 1;
    }
    Ok(table)
}

fn table_line(table: &mut TableDef, keyword: &str, rest: &str) -> Result<(), String> {
    let t = tokens(rest);
    match keyword {
        "label" | "col" => {
            if t.len() < 2 {
                return Err(format!("expected `{keyword} NAME GENERATOR`"));
            }
            check_ident(&t[0])?;
            if t[0] == "id" || t[0] == "created_at" || table.column(&t[0]).is_some() {
                return Err(format!("column `{}` is defined twice (id and created_at are implicit)", t[0]));
            }
            let generator = parse_generator(&t[1])?;
            let mut col = ColumnDef { name: t[0].clone(), generator, optional: false, edit: false };
            for flag in &t[2..] {
                match flag.as_str() {
                    "opt" if keyword == "col" => col.optional = true,
                    "edit" => col.edit = true,
                    other => return Err(format!("unknown column flag `{other}`")),
                }
            }
            if keyword == "label" {
                if !col.generator.is_name() {
                    return Err(format!(
                        "label `{}`: a label needs a naming generator (person, company, street, pick, combo, code)",
                        col.name
                    ));
                }
                table.label = col;
            } else {
                table.columns.push(col);
            }
        }
        "ref" => {
            if t.len() < 2 {
                return Err("expected `ref COLUMN TABLE [opt] [consumes CAPACITY by QUANTITY]`".into());
            }
            check_ident(&t[0])?;
            let mut r = RefDef { column: t[0].clone(), table: t[1].clone(), optional: false, consumes: None };
            let mut i = 2;
            while i < t.len() {
                match t[i].as_str() {
                    "opt" => r.optional = true,
                    "consumes" => {
                        let (Some(cap), Some(by), Some(qty)) = (t.get(i + 1), t.get(i + 2), t.get(i + 3)) else {
                            return Err("expected `consumes CAPACITY by QUANTITY`".into());
                        };
                        if by != "by" {
                            return Err("expected `consumes CAPACITY by QUANTITY`".into());
                        }
                        r.consumes = Some((cap.clone(), qty.clone()));
                        i += 3;
                    }
                    other => return Err(format!("unknown ref option `{other}`")),
                }
                i += 1;
            }
            table.refs.push(r);
        }
        "status" => {
            if t.len() < 3 {
                return Err("expected `status COLUMN state:weight state:weight ...` (two states at least)".into());
            }
            check_ident(&t[0])?;
            let mut states = Vec::new();
            for s in &t[1..] {
                let (name, w) = s.split_once(':').unwrap_or((s, "1"));
                check_ident(name)?;
                let w: u32 = w.parse().map_err(|_| format!("state `{s}`: weight is not a number"))?;
                states.push((name.to_string(), w));
            }
            table.status = Some(StatusDef { column: t[0].clone(), states });
        }
        "action" => {
            // action VERB "PHRASE" FROM,FROM -> TO
            let arrow = t.iter().position(|x| x == "->");
            let (Some(arrow), true) = (arrow, t.len() >= 5) else {
                return Err("expected `action VERB \"PHRASE with {it}\" FROM,FROM -> TO`".into());
            };
            check_ident(&t[0])?;
            let phrase = t[1].trim_matches('"').to_string();
            if !t[1].starts_with('"') || !phrase.contains("{it}") {
                return Err(format!("action `{}`: the phrase must be quoted and contain {{it}}", t[0]));
            }
            let from: Vec<String> =
                t[2..arrow].join("").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            let to = t.get(arrow + 1).cloned().ok_or("action: missing target state after ->")?;
            table.actions.push(ActionDef { verb: t[0].clone(), phrase, from, to });
        }
        _ => unreachable!("dispatched above"),
    }
    Ok(())
}

fn args_of<'a>(tok: &'a str, name: &str) -> Option<&'a str> {
    tok.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

fn parse_generator(tok: &str) -> Result<Generator, String> {
    let list =
        |s: &str| -> Vec<String> { s.split('|').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect() };
    let two = |s: &str| -> Result<(i64, i64), String> {
        let (a, b) = s.split_once(',').ok_or(format!("`{tok}`: expected two numbers"))?;
        let a: i64 = a.trim().parse().map_err(|_| format!("`{tok}`: `{a}` is not a whole number"))?;
        let b: i64 = b.trim().parse().map_err(|_| format!("`{tok}`: `{b}` is not a whole number"))?;
        if b < a {
            return Err(format!("`{tok}`: the maximum is below the minimum"));
        }
        Ok((a, b))
    };
    let days = |s: &str| -> Result<u32, String> {
        s.trim().parse().ok().filter(|d| *d > 0).ok_or(format!("`{tok}`: expected a positive number of days"))
    };
    Ok(match tok {
        "person" => Generator::Person,
        "email" => Generator::Email,
        "phone" => Generator::Phone,
        "city" => Generator::City,
        "street" => Generator::Street,
        "company" => Generator::Company,
        "bool" => Generator::Bool,
        _ => {
            if let Some(a) = args_of(tok, "pick") {
                let l = list(a);
                if l.len() < 2 {
                    return Err(format!("`{tok}`: pick needs two texts at least"));
                }
                Generator::Pick(l)
            } else if let Some(a) = args_of(tok, "combo") {
                let parts: Vec<Vec<String>> = a.split(';').map(list).collect();
                if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
                    return Err(format!("`{tok}`: combo needs two non-empty lists separated by `;`"));
                }
                Generator::Combo(parts)
            } else if let Some(a) = args_of(tok, "code") {
                let p = a.trim();
                if p.is_empty() || !p.chars().all(|c| c.is_ascii_uppercase()) {
                    return Err(format!("`{tok}`: the code prefix must be capital letters"));
                }
                Generator::Code(p.to_string())
            } else if let Some(a) = args_of(tok, "int") {
                let (lo, hi) = two(a)?;
                Generator::Int(lo, hi)
            } else if let Some(a) = args_of(tok, "money") {
                let (lo, hi) = two(a)?;
                if lo < 0 {
                    return Err(format!("`{tok}`: money is not negative"));
                }
                Generator::Money(lo * 100, hi * 100)
            } else if let Some(a) = args_of(tok, "enum") {
                let l: Vec<String> = a.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect();
                if l.len() < 2 {
                    return Err(format!("`{tok}`: enum needs two values at least"));
                }
                for v in &l {
                    check_ident(v)?;
                }
                Generator::Enum(l)
            } else if let Some(a) = args_of(tok, "past") {
                Generator::Past(days(a)?)
            } else if let Some(a) = args_of(tok, "future") {
                Generator::Future(days(a)?)
            } else if let Some(a) = args_of(tok, "pastdate") {
                Generator::PastDate(days(a)?)
            } else if let Some(a) = args_of(tok, "futuredate") {
                Generator::FutureDate(days(a)?)
            } else {
                return Err(format!("unknown generator `{tok}`"));
            }
        }
    })
}

/// Cross-line checks: references resolve to earlier tables, actions name known states, enough tables.
fn check_domain(d: &Domain) -> Result<(), (usize, String)> {
    if d.name.is_empty() {
        return Err((1, "missing `domain NAME`".into()));
    }
    if d.about.is_empty() || d.brands.is_empty() {
        return Err((1, "a domain needs `about` and at least one `brand`".into()));
    }
    let mut seen: Vec<&TableDef> = Vec::new();
    for t in &d.tables {
        let at = t.line;
        if seen.iter().any(|s| s.name == t.name) {
            return Err((at, format!("table `{}` is defined twice", t.name)));
        }
        if t.label.name.is_empty() {
            return Err((at, format!("table `{}` has no `label`", t.name)));
        }
        for r in &t.refs {
            let Some(parent) = seen.iter().find(|s| s.name == r.table) else {
                return Err((
                    at,
                    format!(
                        "table `{}`: ref `{}` names `{}`, which is not a table defined above it",
                        t.name, r.column, r.table
                    ),
                ));
            };
            if t.column(&r.column).is_some() {
                return Err((at, format!("table `{}`: `{}` is both a column and a ref", t.name, r.column)));
            }
            if r.optional && !t.core && parent.core {
                // fine: nothing to check
            }
            if let Some((cap, qty)) = &r.consumes {
                let cap_ok = parent.column(cap).is_some_and(|c| c.generator.is_numeric() && !c.optional);
                let qty_ok = t.column(qty).is_some_and(|c| c.generator.is_numeric() && !c.optional);
                if !cap_ok || !qty_ok {
                    return Err((
                        at,
                        format!(
                            "table `{}`: `consumes {cap} by {qty}` needs a required numeric `{cap}` in `{}` and a required numeric `{qty}` here",
                            t.name, parent.name
                        ),
                    ));
                }
                if !t.create {
                    return Err((at, format!("table `{}`: `consumes` needs the table to be `create`", t.name)));
                }
            }
        }
        if let Some(s) = &t.status {
            for a in &t.actions {
                for st in a.from.iter().chain(std::iter::once(&a.to)) {
                    if !s.states.iter().any(|(n, _)| n == st) {
                        return Err((
                            at,
                            format!(
                                "table `{}`: action `{}` names state `{st}`, which `status` does not list",
                                t.name, a.verb
                            ),
                        ));
                    }
                }
                if a.from.contains(&a.to) {
                    return Err((
                        at,
                        format!("table `{}`: action `{}` goes from `{}` to itself", t.name, a.verb, a.to),
                    ));
                }
            }
        } else if !t.actions.is_empty() {
            return Err((at, format!("table `{}` has actions but no `status`", t.name)));
        }
        seen.push(t);
    }
    if d.tables.len() < 9 {
        return Err((1, format!("a domain needs at least 9 tables (it has {})", d.tables.len())));
    }
    if d.tables.iter().filter(|t| t.core).count() < 4 {
        return Err((1, "a domain needs at least 4 `core` tables".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_parentheses_and_quotes_whole() {
        assert_eq!(tokens(r#"cancel "cancel {it} now" a,b -> c"#), ["cancel", "\"cancel {it} now\"", "a,b", "->", "c"]);
        assert_eq!(tokens("name combo(A B|C ; D)  edit"), ["name", "combo(A B|C ; D)", "edit"]);
    }

    #[test]
    fn errors_name_the_line() {
        let e =
            parse_domain("x.dsl", "domain x\nabout y\nbrand Z\ntable things thing\n  col size wat(1)\n").unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("unknown generator `wat(1)`"), "{e}");
        let e = parse_domain("x.dsl", "domain x\n  col a int(1,2)\n").unwrap_err();
        assert!(e.message.contains("before any `table`"), "{e}");
    }
}
