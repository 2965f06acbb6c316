//! `agentworld validate PATH...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agentworld_runtime::report::render_table;
use agentworld_runtime::validate::validate_env;
use agentworld_runtime::{Environment, Journal};
use serde_json::json;

pub fn run(paths: Vec<PathBuf>, record: Option<PathBuf>, as_json: bool) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() { vec![super::default_envs()] } else { paths };
    let journal = record.as_deref().map(Journal::open).transpose()?;
    let mut failures = 0usize;
    let mut envs_ok = 0usize;
    let mut report = Vec::new();
    for path in &paths {
        if !path.exists() {
            anyhow::bail!("{}: no such file or folder", path.display());
        }
        for (file, loaded) in Environment::load_all(path)? {
            let env = match loaded {
                Ok(env) => Arc::new(env),
                Err(errors) => {
                    failures += errors.0.len();
                    if as_json {
                        report.push(json!({ "file": file.display().to_string(), "errors": errors.0 }));
                    } else {
                        println!("FAIL {}\n{errors}\n", file.display());
                    }
                    continue;
                }
            };
            if let Some(j) = &journal {
                j.record_environment(&env)?;
            }
            let results = validate_env(&env, journal.as_ref())?;
            let bad = results.iter().filter(|r| !r.ok()).count();
            failures += bad;
            if bad == 0 {
                envs_ok += 1;
            }
            if as_json {
                report.push(json!({ "file": file.display().to_string(), "env": env.name(), "tasks": results }));
                continue;
            }
            println!(
                "{} {} ({}): {} tables, {} tools, {} tasks",
                if bad == 0 { "ok  " } else { "FAIL" },
                env.name(),
                file.display(),
                env.tables().len(),
                env.tools().len(),
                env.tasks().len()
            );
            let cols = ["task", "kind", "reference", "nothing", "perturbed", "result"].map(String::from);
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    vec![
                        r.task.clone(),
                        r.kind.clone().unwrap_or_default(),
                        r.reference.map(|x| x.to_string()).unwrap_or_default(),
                        r.nothing.map(|x| x.to_string()).unwrap_or_default(),
                        r.perturbed.as_ref().map(|(d, x)| format!("{x} ({d})")).unwrap_or_default(),
                        if r.ok() { "ok".into() } else { "FAIL".into() },
                    ]
                })
                .collect();
            print!("{}", render_table(&cols, &rows));
            for r in results.iter().filter(|r| !r.ok()) {
                for p in &r.problems {
                    println!(
                        "  {}:{}: task \"{}\": {p}",
                        file.display(),
                        env.source.line_of_item("id", &r.task).unwrap_or(0),
                        r.task
                    );
                }
            }
            println!();
        }
    }
    if let Some(j) = &journal {
        j.flush()?;
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{envs_ok} environment(s) valid, {failures} problem(s)");
        if let Some(r) = &record {
            println!("episodes recorded in {} (agentworld report {})", r.display(), r.display());
        }
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
