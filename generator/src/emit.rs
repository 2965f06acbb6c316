//! Writes an [`EnvSpec`] as TOML in the layout of the bundled specs: one `[[tools]]` block per tool with its steps as
//! `[[tools.steps]]`, SQL in multi-line literal strings, parameters and checks as inline tables. The output is a
//! pure function of the spec, so the same seed gives the same bytes.

use std::fmt::Write;

use agentworld_runtime::spec::{EnvSpec, Expect, ParamSpec, ResultShape, StepSpec};
use serde_json::Value as Json;

/// A TOML basic string.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// SQL as a multi-line literal string when it can be one, else a basic string.
fn sql(s: &str) -> String {
    if !s.contains("'''") && !s.chars().any(|c| (c as u32) < 0x20 && c != '\n' && c != '\t') {
        format!("'''\n{s}'''")
    } else {
        string(s)
    }
}

fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        string(k)
    }
}

/// A JSON value as an inline TOML value (nulls are left out of tables; TOML has none).
pub fn inline(v: &Json) -> String {
    match v {
        Json::Null => "\"\"".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f}") }
            } else {
                n.to_string()
            }
        }
        Json::String(s) => string(s),
        Json::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Json::Object(m) => {
            let items: Vec<String> =
                m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{} = {}", key(k), inline(v))).collect();
            if items.is_empty() { "{}".into() } else { format!("{{ {} }}", items.join(", ")) }
        }
    }
}

fn float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f}") }
}

fn param(p: &ParamSpec) -> String {
    let mut items = vec![format!("type = {}", string(p.ty.as_str()))];
    if p.required {
        items.push("required = true".into());
    }
    if let Some(d) = &p.default {
        items.push(format!("default = {}", inline(d)));
    }
    if let Some(a) = &p.allowed {
        items.push(format!("enum = {}", inline(&Json::Array(a.clone()))));
    }
    if let Some(m) = p.minimum {
        items.push(format!("minimum = {}", float(m)));
    }
    if let Some(m) = p.maximum {
        items.push(format!("maximum = {}", float(m)));
    }
    if let Some(m) = p.min_length {
        items.push(format!("min_length = {m}"));
    }
    if let Some(m) = p.max_length {
        items.push(format!("max_length = {m}"));
    }
    if p.nullable {
        items.push("nullable = true".into());
    }
    if !p.description.is_empty() {
        items.push(format!("description = {}", string(&p.description)));
    }
    format!("{{ {} }}", items.join(", "))
}

fn expect(e: Expect) -> Option<&'static str> {
    match e {
        Expect::Any => None,
        Expect::One => Some("one"),
        Expect::Optional => Some("optional"),
        Expect::Some => Some("some"),
        Expect::None => Some("none"),
        Expect::Changed => Some("changed"),
    }
}

fn step(out: &mut String, s: &StepSpec) {
    out.push_str("[[tools.steps]]\n");
    if let Some(g) = &s.guard {
        let _ = writeln!(out, "guard = {}", string(g));
    }
    if let Some(q) = &s.sql {
        let _ = writeln!(out, "sql = {}", sql(q));
    }
    if let Some(e) = expect(s.expect) {
        let _ = writeln!(out, "expect = \"{e}\"");
    }
    if let Some(e) = &s.error {
        let _ = writeln!(out, "error = {}", string(e));
    }
    if s.output {
        out.push_str("output = true\n");
    }
}

/// The spec as TOML text, with a header comment.
pub fn to_toml(spec: &EnvSpec, header: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("\n[env]\n");
    let _ = writeln!(out, "name = {}", string(&spec.env.name));
    let _ = writeln!(out, "description = {}", string(&spec.env.description));
    let _ = writeln!(out, "clock = {}", string(&spec.env.clock));
    let _ = writeln!(out, "tick_seconds = {}", spec.env.tick_seconds);
    let _ = writeln!(out, "\n[schema]\nsql = {}", sql(&spec.schema.sql));
    if let Some(seed) = &spec.seed {
        let _ = writeln!(out, "\n[seed]\nsql = {}", sql(&seed.sql));
    }
    let _ = writeln!(out, "\n[limits]\nmax_rows = {}", spec.limits.max_rows);
    for t in &spec.tools {
        out.push_str("\n[[tools]]\n");
        let _ = writeln!(out, "name = {}", string(&t.name));
        let _ = writeln!(out, "description = {}", string(&t.description));
        if t.writes {
            out.push_str("writes = true\n");
        }
        let shape = match t.result {
            ResultShape::Rows => None,
            ResultShape::Row => Some("row"),
            ResultShape::Value => Some("value"),
            ResultShape::Changes => Some("changes"),
        };
        if let Some(s) = shape {
            let _ = writeln!(out, "result = \"{s}\"");
        }
        for (name, p) in &t.params {
            let _ = writeln!(out, "params.{} = {}", key(name), param(p));
        }
        if let Some(q) = &t.sql {
            let _ = writeln!(out, "sql = {}", sql(q));
        }
        for s in t.steps.iter().flatten() {
            step(&mut out, s);
        }
    }
    for task in &spec.tasks {
        out.push_str("\n[[tasks]]\n");
        let _ = writeln!(out, "id = {}", string(&task.id));
        if let Some(k) = &task.kind {
            let _ = writeln!(out, "kind = {}", string(k));
        }
        let _ = writeln!(out, "instruction = {}", string(&task.instruction));
        out.push_str("verify = [\n");
        for c in &task.verify {
            match c.name() {
                Some(n) => {
                    let _ = writeln!(out, "  {{ name = {}, sql = {} }},", string(n), string(c.sql()));
                }
                None => {
                    let _ = writeln!(out, "  {},", string(c.sql()));
                }
            }
        }
        out.push_str("]\n");
        let unchanged: Vec<String> = task.unchanged.iter().map(|u| string(u)).collect();
        let _ = writeln!(out, "unchanged = [{}]", unchanged.join(", "));
        out.push_str("solution = [\n");
        for c in &task.solution {
            let _ =
                writeln!(out, "  {{ tool = {}, args = {} }},", string(&c.tool), inline(&Json::Object(c.args.clone())));
        }
        out.push_str("]\n");
        let _ = writeln!(out, "answer = {}", string(&task.answer));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_toml_needs() {
        assert_eq!(string("a \"b\" \\ c\n"), "\"a \\\"b\\\" \\\\ c\\n\"");
        assert_eq!(
            inline(&serde_json::json!({"a": 1, "b": 2.0, "c": [true, "x"]})),
            "{ a = 1, b = 2.0, c = [true, \"x\"] }"
        );
    }
}
