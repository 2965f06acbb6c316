//! `agentworld play ENV --task ID`: a terminal episode.
//!
//! Commands: `tools`, `task`, `call TOOL {json}` (or just `TOOL {json}`), `steps`, `answer TEXT`, `help`, `quit`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use agentworld_runtime::{Environment, Episode, Journal};
use anyhow::Context;

fn find_env(name: &str, envs: &Path) -> anyhow::Result<Environment> {
    let as_path = Path::new(name);
    if as_path.is_file() {
        return Environment::load(as_path).map_err(|e| anyhow::anyhow!("{e}"));
    }
    let dir = if envs.is_dir() { envs.to_path_buf() } else { super::default_envs() };
    let mut names = Vec::new();
    for (_, loaded) in Environment::load_all(&dir)? {
        if let Ok(env) = loaded {
            if env.name() == name {
                return Ok(env);
            }
            names.push(env.name().to_string());
        }
    }
    anyhow::bail!("no environment '{name}' in {}; available: {}", dir.display(), names.join(", "))
}

pub fn run(env_name: &str, task: Option<&str>, envs: &Path, record: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let env = Arc::new(find_env(env_name, envs)?);
    let task_id = match task {
        Some(t) => t.to_string(),
        None => env.tasks().first().map(|t| t.id().to_string()).context("the environment has no tasks")?,
    };
    if env.task(&task_id).is_none() {
        let ids: Vec<&str> = env.tasks().iter().map(|t| t.id()).collect();
        anyhow::bail!("no task '{task_id}' in {}; tasks: {}", env.name(), ids.join(", "));
    }
    let journal = record.as_deref().map(Journal::open).transpose()?;
    let mut ep = Episode::open(env.clone(), Some(&task_id))?;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    writeln!(out, "{} / {}: {}", env.name(), task_id, env.spec.env.description)?;
    print_task(&env, &task_id, &mut out)?;
    writeln!(out, "type `help` for commands")?;
    let mut lines = stdin.lock().lines();
    loop {
        write!(out, "> ")?;
        out.flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        let line = line.trim();
        let (cmd, rest) = line.split_once(char::is_whitespace).map_or((line, ""), |(a, b)| (a, b.trim()));
        match cmd {
            "" => {}
            "help" => writeln!(
                out,
                "tools | task | call TOOL {{json args}} | TOOL {{json args}} | steps | answer TEXT | quit"
            )?,
            "tools" => {
                for t in env.tools() {
                    writeln!(
                        out,
                        "{}{}: {}",
                        t.name(),
                        if t.spec.writes { " (writes)" } else { "" },
                        t.spec.description
                    )?;
                    for (name, p) in t.params() {
                        let req = if p.required { "required" } else { "optional" };
                        writeln!(out, "    {name}: {} ({req}) {}", p.ty.as_str(), p.description)?;
                    }
                }
            }
            "task" => print_task(&env, &task_id, &mut out)?,
            "steps" => {
                for s in ep.steps() {
                    let status = if s.is_ok() { "ok" } else { "error" };
                    writeln!(out, "{}. {} {} -> {status}", s.index, s.tool, s.args)?;
                }
            }
            "quit" | "exit" => break,
            "answer" => {
                let verdict = ep.finish(rest)?.clone();
                writeln!(out, "verdict: {} (reward {})", verdict.outcome.as_str(), verdict.reward)?;
                for c in &verdict.checks {
                    writeln!(out, "  [{}] {}", if c.passed { "pass" } else { "FAIL" }, c.name)?;
                }
                for t in &verdict.collateral {
                    writeln!(out, "  [FAIL] collateral damage: table {t} was changed")?;
                }
                break;
            }
            _ => {
                let (tool, args) = if cmd == "call" {
                    rest.split_once(char::is_whitespace).map_or((rest, ""), |(a, b)| (a, b.trim()))
                } else {
                    (cmd, rest)
                };
                let args: serde_json::Value = if args.is_empty() {
                    serde_json::json!({})
                } else {
                    match serde_json::from_str(args) {
                        Ok(v) => v,
                        Err(e) => {
                            writeln!(out, "error: arguments are not valid JSON: {e}")?;
                            continue;
                        }
                    }
                };
                let step = ep.call(tool, &args);
                match &step.result {
                    Ok(v) => writeln!(
                        out,
                        "{}{}",
                        serde_json::to_string_pretty(&v.to_value())?,
                        if step.truncated { "\n(truncated)" } else { "" }
                    )?,
                    Err(e) => writeln!(out, "error: {e}")?,
                }
            }
        }
    }
    if let Some(j) = &journal {
        j.record_environment(&env)?;
        j.record_episode(&ep, None)?;
        j.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_task(env: &Environment, task_id: &str, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(t) = env.task(task_id) {
        writeln!(out, "task: {}", t.spec.instruction)?;
    }
    Ok(())
}
