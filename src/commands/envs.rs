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
