//! The environment spec model and its parsing (TOML or JSON), documented in `docs/envspec.md`.
//!
//! Parsing only checks shape; [`crate::Environment::load`] checks meaning (SQL prepares, names resolve, tasks
//! verify) and turns a spec into something episodes can run.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{SpecError, SpecErrors};

/// One environment as written in its file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    pub env: EnvMeta,
    pub schema: SqlBlock,
    #[serde(default)]
    pub seed: Option<SqlBlock>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub reward: RewardSpec,
    pub tools: Vec<ToolSpec>,
    pub tasks: Vec<TaskSpec>,
}

/// `[env]`: metadata and the virtual clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// RFC 3339 UTC instant: SQLite's "now" while the template is built.
    pub clock: String,
    /// Virtual seconds that pass per tool call.
    #[serde(default = "default_tick")]
    pub tick_seconds: u32,
}

fn default_tick() -> u32 {
    60
}

/// A block of SQL (`[schema]`, `[seed]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqlBlock {
    pub sql: String,
}

/// `[limits]`: what one tool call may take and return.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_rows: usize,
    pub max_result_bytes: usize,
    pub deadline_ms: u64,
    pub max_arg_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_rows: 100, max_result_bytes: 64 * 1024, deadline_ms: 1000, max_arg_bytes: 16 * 1024 }
    }
}

/// How partial success maps to reward.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PartialRule {
    /// AWM: some checks pass -> the `partial` reward.
    #[default]
    Any,
    /// `partial * passed / total`.
    Fraction,
    /// All or nothing.
    None,
}

/// `[reward]`: verdict to reward mapping (AWM's defaults).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RewardSpec {
    pub complete: f64,
    pub partial: f64,
    pub none: f64,
    pub partial_rule: PartialRule,
}

impl Default for RewardSpec {
    fn default() -> Self {
        RewardSpec { complete: 1.0, partial: 0.1, none: 0.0, partial_rule: PartialRule::Any }
    }
}

/// `[[tools]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: IndexMap<String, ParamSpec>,
    #[serde(default)]
    pub sql: Option<String>,
    #[serde(default)]
    pub steps: Option<Vec<StepSpec>>,
    #[serde(default)]
    pub writes: bool,
    #[serde(default)]
    pub result: ResultShape,
}

/// The JSON type of a tool parameter.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array => "array",
        }
    }
}

/// `params.<name>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub ty: ParamType,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
    #[serde(default)]
    pub min_length: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub nullable: bool,
}

impl ParamSpec {
    /// An optional parameter of type `ty` with no description or constraints (set the fields you need).
    ///
    /// ```
    /// use agentworld_runtime::spec::{ParamSpec, ParamType};
    /// let mut limit = ParamSpec::new(ParamType::Integer);
    /// limit.maximum = Some(100.0);
    /// assert!(!limit.required);
    /// ```
    pub fn new(ty: ParamType) -> ParamSpec {
        ParamSpec {
            ty,
            description: String::new(),
            required: false,
            default: None,
            allowed: None,
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            nullable: false,
        }
    }
}

/// What a step requires of the rows its statement returns.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    #[default]
    Any,
    One,
    Optional,
    Some,
    None,
    Changed,
}

/// One step of a tool: a statement or a guard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    #[serde(default)]
    pub sql: Option<String>,
    #[serde(default)]
    pub guard: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub output: bool,
}

/// The shape of a tool's result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResultShape {
    #[default]
    Rows,
    Row,
    Value,
    Changes,
}

/// `[[tasks]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub id: String,
    pub instruction: String,
    #[serde(default)]
    pub kind: Option<String>,
    pub verify: Vec<CheckSpec>,
    #[serde(default)]
    pub unchanged: Vec<String>,
    #[serde(default)]
    pub partial_rule: Option<PartialRule>,
    #[serde(default, alias = "oracle")]
    pub solution: Vec<CallSpec>,
    #[serde(default)]
    pub answer: String,
}

/// A verifier check: bare SQL or `{ name, sql }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CheckSpec {
    Sql(String),
    Named {
        #[serde(default)]
        name: Option<String>,
        sql: String,
    },
}

impl CheckSpec {
    pub fn sql(&self) -> &str {
        match self {
            CheckSpec::Sql(sql) | CheckSpec::Named { sql, .. } => sql,
        }
    }
    pub fn name(&self) -> Option<&str> {
        match self {
            CheckSpec::Sql(_) => None,
            CheckSpec::Named { name, .. } => name.as_deref(),
        }
    }
}

/// A tool call in a reference solution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub tool: String,
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// The text of a spec file, kept to point errors at lines.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub path: PathBuf,
    pub text: String,
}

impl SourceText {
    /// 1-based line of the first occurrence of `needle`, if any.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        let needle = needle.trim();
        if needle.is_empty() {
            return None;
        }
        self.text.find(needle).map(|at| self.text[..at].matches('\n').count() + 1)
    }

    /// The line where a block of SQL starts (its first non-blank line as written in the file).
    pub fn line_of_sql(&self, sql: &str) -> Option<usize> {
        let first = sql.lines().map(str::trim).find(|l| !l.is_empty())?;
        // JSON escapes quotes; look for a prefix free of them when the whole line is not found verbatim.
        self.line_of(first).or_else(|| {
            let prefix: String = first.chars().take_while(|c| *c != '"' && *c != '\\').collect();
            if prefix.len() >= 8 { self.line_of(&prefix) } else { None }
        })
    }

    /// Line of a named item: `name = "x"` (TOML) or `"name": "x"` (JSON).
    pub fn line_of_item(&self, key: &str, value: &str) -> Option<usize> {
        [format!("{key} = \"{value}\""), format!("\"{key}\": \"{value}\""), format!("\"{key}\":\"{value}\"")]
            .iter()
            .find_map(|n| self.line_of(n))
    }
}

/// Reads and parses a spec file (`.toml` or `.json`). Errors carry the file and line.
pub fn parse_file(path: &Path) -> Result<(EnvSpec, SourceText), SpecErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SpecErrors::one(SpecError::new(path, None, "file", format!("cannot read: {e}"))))?;
    let source = SourceText { path: path.to_path_buf(), text };
    let spec = parse_source(&source)?;
    Ok((spec, source))
}

/// Parses spec text; the format follows the file extension (`.json` or TOML otherwise).
pub fn parse_source(source: &SourceText) -> Result<EnvSpec, SpecErrors> {
    let is_json = source.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(&source.text)
            .map_err(|e| SpecErrors::one(SpecError::new(&source.path, Some(e.line()), "syntax", e.to_string())))
    } else {
        toml::from_str(&source.text).map_err(|e| {
            let line = e.span().map(|s| source.text[..s.start.min(source.text.len())].matches('\n').count() + 1);
            let message = e.message().trim().to_string();
            SpecErrors::one(SpecError::new(&source.path, line, "syntax", message))
        })
    }
}

/// Every spec file under `path` (a file, or a folder searched recursively), sorted.
pub fn spec_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "toml" || e == "json")
                // `agentworld generate` writes a manifest.json beside its specs; it is not one.
                && p.file_name().is_none_or(|n| n != "manifest.json")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> SourceText {
        SourceText { path: PathBuf::from(name), text: text.to_string() }
    }

    #[test]
    fn toml_syntax_error_names_line() {
        let e = parse_source(&src("a.toml", "[env]\nname = \"x\"\nclock = \n")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("a.toml:3:"), "{msg}");
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let text = "[env]\nname='x'\nclock='2026-01-01T00:00:00Z'\nflavour='x'\n[schema]\nsql=''\ntools=[]\ntasks=[]\n";
        let msg = parse_source(&src("b.toml", text)).unwrap_err().to_string();
        assert!(msg.contains("flavour"), "{msg}");
    }

    #[test]
    fn json_error_names_line() {
        let msg = parse_source(&src("c.json", "{\n\"env\": {\n\"name\": 3}}")).unwrap_err().to_string();
        assert!(msg.starts_with("c.json:3:"), "{msg}");
    }

    #[test]
    fn line_lookup() {
        let s = src("x.toml", "a\nname = \"foo\"\nsql = \"\"\"\n  SELECT 1\n\"\"\"\n");
        assert_eq!(s.line_of_item("name", "foo"), Some(2));
        assert_eq!(s.line_of_sql("\n  SELECT 1\n"), Some(4));
    }
}
