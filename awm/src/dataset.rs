//! Reading the AgentWorldModel-1K files: eight JSONL files keyed by scenario name, which need not line up.
//!
//! Every row is kept by the normalised scenario name (`DESIGN.md` section 8). A row that does not parse, or lacks
//! the fields a file must have, is reported with its file and line and skipped: one bad row never stops an import.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::AwmError;

/// The dataset's files, in the order an import reads them.
pub const FILES: [&str; 8] = [
    "gen_scenario.jsonl",
    "gen_tasks.jsonl",
    "gen_db.jsonl",
    "gen_sample.jsonl",
    "gen_spec.jsonl",
    "gen_envs.jsonl",
    "gen_verifier.jsonl",
    "gen_verifier.pure_code.jsonl",
];

/// AWM's scenario key: lower case, every character outside `[a-z0-9_]` becomes `_`, runs of `_` collapse, and
/// leading and trailing `_` go.
///
/// ```
/// assert_eq!(agentworld_awm::dataset::normalize_name("E-Commerce  33!"), "e_commerce_33");
/// ```
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_matches('_').to_string()
}

/// One verifier row (`gen_verifier*.jsonl`).
#[derive(Debug, Clone)]
pub struct VerifierRow {
    pub task_idx: usize,
    /// `None` where the dataset has `code: null`.
    pub code: Option<String>,
    /// Where it came from: `file:line`.
    pub origin: String,
}

/// Everything the dataset holds about one scenario (any part may be missing).
#[derive(Debug, Clone, Default)]
pub struct ScenarioRows {
    pub name: String,
    pub description: Option<String>,
    pub tasks: Option<Vec<String>>,
    /// `db_schema.tables`.
    pub tables: Option<Vec<Value>>,
    /// `sample_data.tables`.
    pub samples: Option<Vec<Value>>,
    /// `api_spec.api_groups`.
    pub api_groups: Option<Vec<Value>>,
    /// `full_code` of the FastAPI program.
    pub app_code: Option<String>,
    /// `gen_verifier.jsonl`: `verify_task` returning evidence for a judge (AWM's `sql` mode), first row per task.
    pub judge_verifiers: BTreeMap<usize, VerifierRow>,
    /// `gen_verifier.pure_code.jsonl`: `verify_task_completion` returning complete/others (`code` mode).
    pub code_verifiers: BTreeMap<usize, VerifierRow>,
    /// Rows seen again for the same key (the first one is kept): `file:line`.
    pub duplicates: Vec<String>,
}

/// The dataset as read: scenarios by normalised name, and the rows that could not be used.
#[derive(Debug, Default)]
pub struct Dataset {
    pub dir: PathBuf,
    pub scenarios: BTreeMap<String, ScenarioRows>,
    /// Files of [`FILES`] that are not in the folder.
    pub missing_files: Vec<String>,
    /// `file:line: what is wrong` for rows that were skipped.
    pub bad_rows: Vec<String>,
}

impl Dataset {
    /// Reads every file of [`FILES`] found in `dir`.
    pub fn read(dir: &Path) -> Result<Dataset, AwmError> {
        if !dir.is_dir() {
            return Err(AwmError::Io { path: dir.to_path_buf(), message: "not a folder".into() });
        }
        let mut data = Dataset { dir: dir.to_path_buf(), ..Dataset::default() };
        for file in FILES {
            let path = dir.join(file);
            if !path.exists() {
                data.missing_files.push(file.to_string());
                continue;
            }
            let f = std::fs::File::open(&path).map_err(|e| AwmError::io(&path, e))?;
            for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| AwmError::io(&path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let origin = format!("{file}:{}", i + 1);
                match serde_json::from_str::<Value>(&line) {
                    Ok(row) => {
                        if let Err(why) = data.add(file, &origin, row) {
                            data.bad_rows.push(format!("{origin}: {why}"));
                        }
                    }
                    Err(e) => data.bad_rows.push(format!("{origin}: not JSON: {e}")),
                }
            }
        }
        Ok(data)
    }

    fn add(&mut self, file: &str, origin: &str, mut row: Value) -> Result<(), String> {
        let key_field = if file == "gen_scenario.jsonl" { "name" } else { "scenario" };
        let name = row.get(key_field).and_then(Value::as_str).ok_or_else(|| format!("no string `{key_field}`"))?;
        let key = normalize_name(name);
        if key.is_empty() {
            return Err(format!("scenario name '{name}' is empty once normalised"));
        }
        let s = self.scenarios.entry(key.clone()).or_insert_with(|| ScenarioRows { name: key, ..Default::default() });
        let take = |slot_is_some: bool, dups: &mut Vec<String>| {
            if slot_is_some {
                dups.push(origin.to_string());
                false
            } else {
                true
            }
        };
        match file {
            "gen_scenario.jsonl" => {
                if take(s.description.is_some(), &mut s.duplicates) {
                    s.description = Some(row.get("description").and_then(Value::as_str).unwrap_or("").to_string());
                }
            }
            "gen_tasks.jsonl" => {
                let tasks = row.get("tasks").and_then(Value::as_array).ok_or("no `tasks` array")?;
                let tasks: Vec<String> = tasks
                    .iter()
                    .map(|t| t.as_str().map(str::to_string).ok_or("a task is not a string"))
                    .collect::<Result<_, _>>()?;
                if take(s.tasks.is_some(), &mut s.duplicates) {
                    s.tasks = Some(tasks);
                }
            }
            "gen_db.jsonl" => {
                let tables = row
                    .pointer_mut("/db_schema/tables")
                    .and_then(|t| t.as_array_mut())
                    .ok_or("no `db_schema.tables` array")?;
                if take(s.tables.is_some(), &mut s.duplicates) {
                    s.tables = Some(std::mem::take(tables));
                }
            }
            "gen_sample.jsonl" => {
                let tables = row
                    .pointer_mut("/sample_data/tables")
                    .and_then(|t| t.as_array_mut())
                    .ok_or("no `sample_data.tables` array")?;
                if take(s.samples.is_some(), &mut s.duplicates) {
                    s.samples = Some(std::mem::take(tables));
                }
            }
            "gen_spec.jsonl" => {
                let groups = row
                    .pointer_mut("/api_spec/api_groups")
                    .and_then(|t| t.as_array_mut())
                    .ok_or("no `api_spec.api_groups` array")?;
                if take(s.api_groups.is_some(), &mut s.duplicates) {
                    s.api_groups = Some(std::mem::take(groups));
                }
            }
            "gen_envs.jsonl" => {
                let code = row.get("full_code").and_then(Value::as_str).ok_or("no string `full_code`")?;
                if take(s.app_code.is_some(), &mut s.duplicates) {
                    s.app_code = Some(code.to_string());
                }
            }
            "gen_verifier.jsonl" | "gen_verifier.pure_code.jsonl" => {
                let idx = row.get("task_idx").and_then(Value::as_u64).ok_or("no integer `task_idx`")? as usize;
                let code = row.pointer("/verification/code").and_then(Value::as_str).map(str::to_string);
                let map = if file == "gen_verifier.jsonl" { &mut s.judge_verifiers } else { &mut s.code_verifiers };
                match map.entry(idx) {
                    std::collections::btree_map::Entry::Occupied(_) => s.duplicates.push(origin.to_string()),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(VerifierRow { task_idx: idx, code, origin: origin.to_string() });
                    }
                }
            }
            other => return Err(format!("unexpected file {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_like_awm() {
        assert_eq!(normalize_name("content_platform_1"), "content_platform_1");
        assert_eq!(normalize_name("  Booking & Appointments (1) "), "booking_appointments_1");
        assert_eq!(normalize_name("__a__b__"), "a_b");
        assert_eq!(normalize_name("Café-Bar"), "caf_bar");
        assert_eq!(normalize_name("!!!"), "");
    }

    #[test]
    fn bad_rows_are_reported_and_the_first_duplicate_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("gen_tasks.jsonl"),
            "{\"scenario\": \"Shop 1\", \"tasks\": [\"a\"]}\nnot json\n{\"scenario\": \"shop_1\", \"tasks\": [\"b\"]}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("gen_verifier.jsonl"),
            "{\"scenario\": \"shop_1\", \"task_idx\": 0, \"verification\": {\"code\": null}}\n\
             {\"scenario\": \"shop_1\", \"task_idx\": 0, \"verification\": {\"code\": \"x\"}}\n",
        )
        .unwrap();
        let data = Dataset::read(dir.path()).unwrap();
        let shop = &data.scenarios["shop_1"];
        assert_eq!(shop.tasks.as_deref(), Some(&["a".to_string()][..]));
        assert!(shop.judge_verifiers[&0].code.is_none(), "first row kept");
        assert_eq!(shop.duplicates, vec!["gen_tasks.jsonl:3", "gen_verifier.jsonl:2"]);
        assert_eq!(data.bad_rows.len(), 1);
        assert!(data.bad_rows[0].starts_with("gen_tasks.jsonl:2: not JSON"), "{:?}", data.bad_rows);
        assert_eq!(data.missing_files.len(), 6);
    }
}
