//! Embedding the actor runtime in another program (the README's example, compiled and runnable):
//!
//! ```sh
//! cargo test --workspace --no-run    # builds the examples with everything else (other selections rebuild DuckDB)
//! $CARGO_TARGET_DIR/debug/examples/embed_runtime envspecs/shop.toml run.duckdb
//! ```

use std::sync::Arc;

use agentworld_actors::{Runtime, RuntimeConfig, Status};
use agentworld_runtime::Environment;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let spec = args.next().unwrap_or_else(|| "envspecs/shop.toml".into());
    let mut config = RuntimeConfig::load(None)?; // defaults + AGENTWORLD_* variables
    config.journal.path = args.next().map(Into::into); // crash-safe record (optional)
    let env = Arc::new(Environment::load(spec.as_ref())?);
    let name = env.name().to_string();
    let task = env.tasks()[0].id().to_string();
    let first_call =
        env.tasks()[0].spec.solution.first().map(|c| (c.tool.clone(), serde_json::Value::Object(c.args.clone())));
    let rt = Runtime::start(config, vec![env]).await?;

    // A GRPO group: 8 episodes of one task from one snapshot.
    let group = rt.open_group(&name, &task, 8).await?;
    if let Some((tool, args)) = first_call {
        // EnvPool style: submit a call for every episode, take results as they complete.
        let mut batch = rt.call_batch(group.iter().map(|e| (e.id, tool.clone(), args.clone())).collect());
        for r in batch.first(4).await {
            let reply = r.reply?;
            match reply.status {
                Status::InfraError => println!("episode {}: resample {:?}", reply.episode, reply.resample),
                status => println!(
                    "episode {}: {status:?} {}",
                    reply.episode,
                    reply.result.map(|r| r.to_string()).unwrap_or_default()
                ),
            }
        }
        let rest = batch.all().await;
        println!("{} more results", rest.len());
    }
    let verdict = rt.finish(group[0].id, "done").await?.verdict;
    println!("episode {} reward {} ({:?})", group[0].id, verdict.reward, verdict.outcome);
    let branches = rt.branch(group[1].id, 2).await?;
    println!("branched {} episodes from {}", branches.len(), group[1].id);
    let trajectory = rt.close(group[2].id).await?;
    println!("episode {} closed after {} steps", group[2].id, trajectory.steps.len());
    println!(
        "{}",
        rt.metrics().prometheus().lines().filter(|l| l.contains("calls_total")).collect::<Vec<_>>().join("\n")
    );
    let report = rt.shutdown().await?;
    println!("shutdown: {} live episodes ended as interrupted", report.interrupted);
    Ok(())
}
