//! `agentworld envs list`

use std::path::PathBuf;
use std::process::ExitCode;

use agentworld_runtime::{Environment, report::render_table};
use serde_json::json;

pub fn list(path: Option<PathBuf>, as_json: bool) -> anyhow::Result<ExitCode> {
    let path = path.unwrap_or_else(super::default_envs);
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let mut failed = false;
    for (file, loaded) in Environment::load_all(&path)? {
        match loaded {
            Ok(env) => {
                let seed_rows: usize = env.tables().iter().map(|t| t.rows).sum();
                rows.push(vec![
                    env.name().to_string(),
                    env.tables().len().to_string(),
                    env.tools().len().to_string(),
                    env.tasks().len().to_string(),
                    seed_rows.to_string(),
                    file.display().to_string(),
                ]);
                items.push(json!({
                    "name": env.name(), "description": env.spec.env.description, "tables": env.tables().len(),
                    "tools": env.tools().len(), "tasks": env.tasks().len(), "rows": seed_rows,
                    "file": file.display().to_string(),
                }));
            }
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        let cols = ["env", "tables", "tools", "tasks", "rows", "file"].map(String::from);
        print!("{}", render_table(&cols, &rows));
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The domain of a spec: from a generated file's header (`domain NAME,`), else "hand-written".
fn domain_of(text: &str) -> String {
    text.lines()
        .take(3)
        .find_map(|l| l.split("domain ").nth(1).and_then(|r| r.split(',').next()).map(str::to_string))
        .unwrap_or_else(|| "hand-written".into())
}

/// `agentworld envs stats PATH`: the distribution of what a folder of specs holds (domains, tables/tools/tasks/rows
/// per environment, task kinds).
pub fn stats(path: Option<PathBuf>, as_json: bool) -> anyhow::Result<ExitCode> {
    use std::collections::BTreeMap;
    let path = path.unwrap_or_else(super::default_envs);
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut sizes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut failed = 0usize;
    for (file, loaded) in Environment::load_all(&path)? {
        let env = match loaded {
            Ok(env) => env,
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
                continue;
            }
        };
        *domains.entry(domain_of(&env.source.text)).or_default() += 1;
        for t in env.tasks() {
            *kinds.entry(t.spec.kind.clone().unwrap_or_else(|| "unlabelled".into())).or_default() += 1;
        }
        sizes.entry("tables").or_default().push(env.tables().len());
        sizes.entry("tools").or_default().push(env.tools().len());
        sizes.entry("tasks").or_default().push(env.tasks().len());
        sizes.entry("rows").or_default().push(env.tables().iter().map(|t| t.rows).sum());
        let _ = file;
    }
    let n = sizes.get("tables").map_or(0, Vec::len);
    let spread = |v: &Vec<usize>| {
        let (lo, hi) = (v.iter().min().copied().unwrap_or(0), v.iter().max().copied().unwrap_or(0));
        let mean = if v.is_empty() { 0.0 } else { v.iter().sum::<usize>() as f64 / v.len() as f64 };
        json!({ "min": lo, "mean": (mean * 10.0).round() / 10.0, "max": hi })
    };
    let per_env: serde_json::Map<String, serde_json::Value> =
        sizes.iter().map(|(k, v)| (k.to_string(), spread(v))).collect();
    if as_json {
        let out = json!({ "environments": n, "invalid": failed, "domains": domains, "per_environment": per_env, "task_kinds": kinds });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{n} environment(s) in {} ({failed} invalid)", path.display());
        let d: Vec<String> = domains.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("domains ({}): {}", domains.len(), d.join(", "));
        for (k, v) in &per_env {
            println!("{k:>7} per environment: min {} / mean {} / max {}", v["min"], v["mean"], v["max"]);
        }
        let k: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("task kinds: {}", k.join(", "));
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
