//! Embedding the engine in another program: load an environment, run a GRPO group of episodes from one
//! snapshot, branch one mid-way, verify, and keep the record in DuckDB.
//!
//! Run: `cargo run -p agentworld-runtime --example embed -- envspecs/shop.toml /tmp/run.duckdb`

use std::sync::Arc;

use agentworld_runtime::{Environment, Episode, Journal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let spec = args.next().unwrap_or_else(|| "envspecs/shop.toml".into());
    let record = args.next().unwrap_or_else(|| "run.duckdb".into());

    let env = Arc::new(Environment::load(spec.as_ref())?);
    let journal = Journal::open(record.as_ref())?;
    journal.record_environment(&env)?;

    let task = &env.tasks()[0];
    println!("task {}: {}", task.id(), task.spec.instruction);
    let mut group = Episode::open_group(&env, task.id(), 4)?;
    for (i, episode) in group.iter_mut().enumerate() {
        // A real agent decides; here episode 0 follows the reference solution and the others give up at once.
        if i == 0 {
            for call in &task.spec.solution {
                let step = episode.call(&call.tool, &serde_json::Value::Object(call.args.clone()));
                println!("  {} -> {}", step.tool, if step.is_ok() { "ok" } else { "error" });
            }
        }
        let branch = episode.branch()?; // continues independently from here
        let answer = if i == 0 { task.spec.answer.clone() } else { String::new() };
        let verdict = episode.finish(&answer)?;
        println!(
            "episode {i}: {:?}, reward {} (branch {} is still open)",
            verdict.outcome,
            verdict.reward,
            branch.id()
        );
        journal.record_episode(episode, Some(1))?;
    }
    journal.flush()?;
    println!("recorded in {record}; try: agentworld report {record}");
    Ok(())
}
