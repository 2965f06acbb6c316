//! `agentworld load`: drive the actor runtime with concurrent clients and report throughput and latency.
//! With `--acks` every acknowledged step and verdict is printed as it happens (the kill -9 test reads them).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentworld_actors::load::{Ack, LoadSpec, run_load};
use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_runtime::Environment;
use anyhow::{Context, bail};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// Spec files or folders (default: the bundled envspecs/).
    #[arg(long = "envs")]
    pub envs: Vec<PathBuf>,
    /// Runtime configuration (TOML; AGENTWORLD_* variables override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Journal every step and verdict to this DuckDB record.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Episodes kept open.
    #[arg(long, default_value_t = 1000)]
    pub episodes: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Calls before an episode is finished and replaced.
    #[arg(long, default_value_t = 20)]
    pub steps_per_episode: usize,
    /// Only drive scripted calls that take at most this many microseconds in the engine.
    #[arg(long)]
    pub max_call_us: Option<f64>,
    /// Print every acknowledged step and verdict as it happens.
    #[arg(long)]
    pub acks: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn load_envs(paths: &[PathBuf]) -> anyhow::Result<Vec<Arc<Environment>>> {
    let mut envs = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        for (file, env) in Environment::load_all(path).with_context(|| format!("reading {}", path.display()))? {
            match env {
                Ok(env) => envs.push(Arc::new(env)),
                Err(e) => problems.push(format!("{}:\n{e}", file.display())),
            }
        }
    }
    if !problems.is_empty() {
        bail!("invalid environment specs:\n{}", problems.join("\n"));
    }
    if envs.is_empty() {
        bail!(
            "no environment specs found in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(envs)
}

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.envs.is_empty() { vec![super::default_envs()] } else { args.envs.clone() };
    let envs = load_envs(&paths)?;
    let mut config = RuntimeConfig::load(args.config.as_deref())?;
    if args.journal.is_some() {
        config.journal.path = args.journal.clone();
    }
    config.runtime.max_steps = config.runtime.max_steps.max(args.steps_per_episode);
    config.runtime.max_episodes = config.runtime.max_episodes.max(args.episodes * 2);
    let spec = LoadSpec {
        episodes: args.episodes,
        clients: args.clients,
        duration: Duration::from_secs_f64(args.seconds.max(0.0)),
        steps_per_episode: args.steps_per_episode,
        max_call_us: args.max_call_us,
        scripts: None,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = tokio.block_on(async move {
        let rt = Runtime::start(config, envs).await?;
        if let Some(j) = rt.journal() {
            let r = j.recovery();
            eprintln!(
                "journal {}: recovered {} log frames ({} records, {} torn bytes dropped); {} episodes left open before were marked interrupted",
                j.path().display(),
                r.replayed_frames,
                r.replayed_records,
                r.torn_bytes,
                r.interrupted
            );
        }
        let observer = args.acks.then(|| {
            let out = Arc::new(Mutex::new(std::io::stdout()));
            Arc::new(move |ack: Ack| {
                if let Ok(mut o) = out.lock() {
                    let _ = match ack {
                        Ack::Step { episode, step, status } => writeln!(o, "ack step {episode} {step} {}", status.as_str()),
                        Ack::Verdict { episode, reward } => writeln!(o, "ack verdict {episode} {reward}"),
                    };
                    let _ = o.flush();
                }
            }) as agentworld_actors::load::AckObserver
        });
        let report = run_load(&rt, &spec, observer).await;
        rt.shutdown().await?;
        anyhow::Ok(report?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let l = &report.latency;
        println!(
            "{} calls in {:.1} s = {:.0} calls/s over {} episodes, {} clients; latency p50 {} us, p99 {} us, max {} us",
            report.calls,
            report.seconds,
            report.calls_per_s,
            report.episodes_open,
            report.clients,
            l.p50_us,
            l.p99_us,
            l.max_us
        );
        println!(
            "ok {} tool_error {} timeout {} infra_error {} finished {} refused {}",
            report.ok, report.tool_error, report.timeout, report.infra_error, report.finished, report.errors
        );
        if let Some(e) = &report.first_error {
            println!("first refusal: {e}");
        }
    }
    Ok(if report.errors == 0 && report.infra_error == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
