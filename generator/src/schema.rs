//! The schema (DDL) and seed data (INSERTs) of a drawn environment.

use std::fmt::Write;

use crate::dsl::Generator;
use crate::world::{ColumnKind, World, sql_text};

/// `CREATE TABLE` statements, parents first, with the checks a real service would have.
pub fn schema_sql(world: &World) -> String {
    let mut out = String::new();
    for t in &world.tables {
        let _ = writeln!(out, "CREATE TABLE {} (", t.name);
        let mut lines = vec!["  id INTEGER PRIMARY KEY".to_string()];
        for c in &t.columns {
            lines.push(format!("  {}", column_sql(world, &c.name, &c.kind)));
        }
        out.push_str(&lines.join(",\n"));
        out.push_str("\n);\n");
        for c in &t.columns {
            if matches!(c.kind, ColumnKind::Ref { .. }) {
                let _ = writeln!(out, "CREATE INDEX idx_{}_{} ON {}({});", t.name, c.name, t.name, c.name);
            }
        }
    }
    out
}

fn column_sql(world: &World, name: &str, kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Label(_) => format!("{name} TEXT NOT NULL UNIQUE CHECK (length({name}) > 0)"),
        ColumnKind::Ref { parent, optional, .. } => format!(
            "{name} INTEGER{} REFERENCES {}(id)",
            if *optional { "" } else { " NOT NULL" },
            world.tables[*parent].name
        ),
        ColumnKind::Data { generator, optional, .. } => {
            let nullable = nullable(*optional, generator);
            let mut s = format!("{name} {}{}", generator.sql_type(), if nullable { "" } else { " NOT NULL" });
            match generator {
                Generator::Enum(values) => {
                    let list: Vec<String> = values.iter().map(|v| sql_text(v)).collect();
                    let _ = write!(s, " CHECK ({name} IN ({}))", list.join(", "));
                }
                Generator::Int(lo, _) if *lo >= 0 => {
                    let _ = write!(s, " CHECK ({name} >= 0)");
                }
                Generator::Money(..) => {
                    let _ = write!(s, " CHECK ({name} >= 0)");
                }
                Generator::Bool => {
                    let _ = write!(s, " CHECK ({name} IN (0, 1))");
                }
                Generator::Code(_) => s.push_str(" UNIQUE"),
                _ => {}
            }
            s
        }
        ColumnKind::Status(st) => {
            let list: Vec<String> = st.states.iter().map(|(v, _)| sql_text(v)).collect();
            format!("{name} TEXT NOT NULL DEFAULT {} CHECK ({name} IN ({}))", sql_text(st.initial()), list.join(", "))
        }
        ColumnKind::CreatedAt => format!("{name} TEXT NOT NULL"),
    }
}

/// Whether a data column may be NULL: columns a create call may leave out (drawn optional ones are still filled
/// in the seed; future dates are only known when given).
pub fn nullable(optional: bool, generator: &Generator) -> bool {
    optional || matches!(generator, Generator::Future(_) | Generator::FutureDate(_))
}

/// One multi-row `INSERT` per table, parents first.
pub fn seed_sql(world: &World) -> String {
    let mut out = String::new();
    for t in &world.tables {
        if t.rows.is_empty() {
            continue;
        }
        let cols: Vec<&str> = std::iter::once("id").chain(t.columns.iter().map(|c| c.name.as_str())).collect();
        let _ = writeln!(out, "INSERT INTO {} ({}) VALUES", t.name, cols.join(", "));
        let rows: Vec<String> = t
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let vals: Vec<String> = std::iter::once((i + 1).to_string()).chain(r.iter().map(|v| v.sql())).collect();
                format!("  ({})", vals.join(", "))
            })
            .collect();
        out.push_str(&rows.join(",\n"));
        out.push_str(";\n\n");
    }
    out
}
