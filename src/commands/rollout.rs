//! `agentworld rollout`: run a policy (an OpenAI-compatible LLM, or the built-in one from a checkpoint) on chosen
//! tasks in GRPO groups; record trajectories and verdicts in the journal, and write per-episode rewards and group
//! advantages.

use std::path::PathBuf;
use std::process::ExitCode;

use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_kernels::Backend;
use agentworld_rl::coordinator::{Coordinator, CoordinatorPolicy};
use agentworld_rl::llm::{LlmConfig, LlmPolicy, Mode};
use agentworld_rl::policy::{BuiltinConfig, BuiltinPolicy, Policy};
use agentworld_rl::rollout::{RolloutConfig, TaskRef};
use agentworld_rl::train::Checkpoint;
use anyhow::{Context, bail};
use serde_json::json;

#[derive(clap::Args)]
pub struct RolloutArgs {
    /// `openai` (any OpenAI-compatible chat endpoint) or `builtin`.
    #[arg(long, default_value = "openai")]
    pub policy: String,
    /// Base URL of the API, e.g. http://127.0.0.1:8000/v1 (openai policy).
    #[arg(long)]
    pub api_url: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    /// Environment variable holding the API key (sent as a bearer token).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// `tools` (native tool calling) or `text` (the AWM text protocol).
    #[arg(long, default_value = "tools")]
    pub mode: String,
    /// Spec files or folders (default: the bundled envspecs/).
    #[arg(long = "envs")]
    pub envs: Vec<PathBuf>,
    /// Tasks as ENV/TASK (repeatable; default: every task of the environments).
    #[arg(long = "task")]
    pub tasks: Vec<String>,
    /// Episodes per task (a GRPO group).
    #[arg(long, default_value_t = 4)]
    pub group_size: usize,
    #[arg(long, default_value_t = 12)]
    pub max_steps: usize,
    /// Model requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Seconds before a model request is abandoned (and retried).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// The built-in policy's checkpoint (`agentworld train` writes OUT/checkpoint.json).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Seeds the built-in policy's sampling (an LLM samples on its own).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Imported AgentWorldModel-1K environments to play instead (`agentworld import-awm` output), in AWM's text
    /// protocol through the Python bridge (`--policy openai`; `--mode` is then always `text`).
    #[arg(long)]
    pub awm: Option<PathBuf>,
    /// Output folder: journal.duckdb and rollout.json.
    #[arg(long, default_value = "agentworld-rollout")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RolloutArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = args.awm.clone() {
        return run_awm(&args, &dir);
    }
    let paths = if args.envs.is_empty() { vec![super::default_envs()] } else { args.envs.clone() };
    let envs = super::load::load_envs(&paths)?;
    let mut tasks = Vec::new();
    if args.tasks.is_empty() {
        tasks = TaskRef::all(&envs);
    } else {
        for t in &args.tasks {
            let Some((env, task)) = t.split_once('/') else { bail!("--task {t}: expected ENV/TASK") };
            let Some(e) = envs.iter().find(|e| e.name() == env) else { bail!("--task {t}: no environment `{env}`") };
            if e.task(task).is_none() {
                bail!("--task {t}: `{env}` has no task `{task}`");
            }
            tasks.push(TaskRef { env: env.into(), task: task.into() });
        }
    }
    let policy: Box<dyn Policy> = match args.policy.as_str() {
        "openai" => {
            let url = args.api_url.as_deref().context("--policy openai needs --api-url")?;
            agentworld_rl::http::check_url(url).map_err(|e| anyhow::anyhow!("--api-url {e}"))?;
            let model = args.model.as_deref().context("--policy openai needs --model")?;
            let mode: Mode = args.mode.parse().map_err(|e: String| anyhow::anyhow!("--mode: {e}"))?;
            let mut cfg = LlmConfig::new(url, model, mode);
            cfg.temperature = args.temperature;
            cfg.concurrency = args.concurrency.max(1);
            cfg.timeout = std::time::Duration::from_secs(args.timeout.max(1));
            if let Some(var) = &args.api_key_env {
                cfg.api_key = Some(std::env::var(var).with_context(|| format!("--api-key-env {var}: not set"))?);
            }
            Box::new(LlmPolicy::new(cfg))
        }
        "builtin" => match &args.checkpoint {
            Some(path) => {
                let c = Checkpoint::load(path)?;
                Box::new(BuiltinPolicy::from_parts(
                    c.config.policy,
                    Backend::cpu(),
                    c.params,
                    (c.adam_m, c.adam_v, c.adam_step),
                )?)
            }
            None => Box::new(BuiltinPolicy::new(BuiltinConfig::default(), Backend::cpu())?),
        },
        other => bail!("--policy {other}: expected openai or builtin"),
    };
    std::fs::create_dir_all(&args.out)?;
    let mut config = RuntimeConfig::default();
    config.journal.path = Some(args.out.join("journal.duckdb"));
    config.runtime.max_steps = config.runtime.max_steps.max(args.max_steps);
    let cfg =
        RolloutConfig { group_size: args.group_size.max(1), max_steps: args.max_steps, greedy: false, seed: args.seed };
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (result, episodes) = tokio.block_on(async {
        let rt = Runtime::start(config, envs).await?;
        let coordinator =
            Coordinator::start(rt.clone(), CoordinatorPolicy::Other(policy)).await.map_err(|e| anyhow::anyhow!(e))?;
        let r = coordinator.rollout(std::sync::Arc::new(tasks.clone()), cfg).await.map_err(|e| anyhow::anyhow!(e))?;
        coordinator.stop();
        rt.shutdown().await?;
        // Group advantages over everything scored (format errors included at -1; infrastructure failures masked).
        let adv = r.advantages(&Backend::cpu())?;
        let mut episodes = Vec::new();
        for (ti, g) in r.groups.iter().enumerate() {
            for e in g {
                let k = episodes.len();
                episodes.push(json!({
                    "env": tasks[ti].env, "task": tasks[ti].task, "episode_id": e.id, "group": ti,
                    "reward": e.reward, "success": e.success, "format_error": e.format_error, "infra_error": e.infra,
                    "advantage": adv[k], "actions": e.kinds,
                }));
            }
        }
        anyhow::Ok((r, episodes))
    })?;
    let n = episodes.len().max(1) as f64;
    let success = episodes.iter().filter(|e| e["success"] == true).count();
    let format_errors = episodes.iter().filter(|e| e["format_error"] == true).count();
    let mean_reward = episodes.iter().filter_map(|e| e["reward"].as_f64()).sum::<f64>() / n;
    let report = json!({
        "policy": args.policy, "mode": args.mode, "model": args.model, "tasks": tasks.len(), "group_size": cfg.group_size,
        "episodes": episodes.len(), "success_rate": success as f64 / n, "mean_reward": mean_reward,
        "format_errors": format_errors, "resampled_infra_errors": result.resampled, "env_steps": result.env_steps,
        "seconds": result.seconds, "episodes_detail": episodes,
        "journal": args.out.join("journal.duckdb"),
    });
    write_report(&args, &report, || {
        println!(
            "{} episodes of {} tasks: success {:.1}%, mean reward {:.3}, {} format errors, {} resampled after infrastructure errors, {} environment steps in {:.1} s",
            report["episodes"],
            tasks.len(),
            success as f64 / n * 100.0,
            mean_reward,
            format_errors,
            result.resampled,
            result.env_steps,
            result.seconds
        );
        println!(
            "trajectories and verdicts: {}; per-episode rewards and advantages: {}",
            args.out.join("journal.duckdb").display(),
            args.out.join("rollout.json").display()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `report` to `<out>/rollout.json`, then prints it whole (`--json`) or runs `summary`.
fn write_report(args: &RolloutArgs, report: &serde_json::Value, summary: impl FnOnce()) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(args.out.join("rollout.json"), format!("{text}\n"))?;
    if args.json {
        println!("{text}");
    } else {
        summary();
    }
    Ok(())
}

/// `rollout --awm DIR`: GRPO groups of an LLM on imported AWM environments, in AWM's text protocol.
fn run_awm(args: &RolloutArgs, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    use agentworld_awm::{AwmHost, BridgeConfig, BridgePool};
    let url = args.api_url.as_deref().context("--awm needs --api-url (an OpenAI-compatible endpoint)")?;
    agentworld_rl::http::check_url(url).map_err(|e| anyhow::anyhow!("--api-url {e}"))?;
    let model = args.model.as_deref().context("--awm needs --model")?;
    let mut cfg = LlmConfig::new(url, model, Mode::Text);
    cfg.temperature = args.temperature;
    cfg.concurrency = args.concurrency.max(1);
    cfg.timeout = std::time::Duration::from_secs(args.timeout.max(1));
    if let Some(var) = &args.api_key_env {
        cfg.api_key = Some(std::env::var(var).with_context(|| format!("--api-key-env {var}: not set"))?);
    }
    std::fs::create_dir_all(&args.out)?;
    let journal = std::sync::Arc::new(agentworld_runtime::Journal::open(&args.out.join("journal.duckdb"))?);
    let pool =
        BridgePool::start(BridgeConfig::default()).context("starting the AWM bridge (scripts/python-deps.sh)")?;
    let (host, skipped) = AwmHost::load(&[dir.to_path_buf()], pool.clone(), Some(journal.clone()))?;
    for s in &skipped {
        eprintln!("not played: {s}");
    }
    let mut tasks = Vec::new();
    for e in host.environments() {
        for t in e.tasks() {
            let name = format!("{}/{}", e.name(), t.id);
            if args.tasks.is_empty() || args.tasks.contains(&name) {
                tasks.push((e.clone(), t.id.clone()));
            }
        }
    }
    if tasks.is_empty() {
        bail!("no AWM task to play under {} (with --task ENV/TASK as given)", dir.display());
    }
    let results = agentworld_rl::awm_rollout::rollout_awm(
        &tasks,
        args.group_size.max(1),
        args.max_steps,
        &cfg,
        Some(journal.clone()),
    );
    journal.flush()?;
    pool.shutdown();
    let scored: Vec<f64> = results.iter().filter_map(|r| r.reward).collect();
    let report = serde_json::json!({
        "episodes": results.len(),
        "scored": scored.len(),
        "mean_reward": if scored.is_empty() { serde_json::Value::Null } else { (scored.iter().sum::<f64>() / scored.len() as f64).into() },
        "infra_errors": results.iter().filter(|r| r.outcome == "infra_error").count(),
        "format_errors": results.iter().filter(|r| r.outcome == "format_error").count(),
        "results": results,
    });
    write_report(args, &report, || {
        println!(
            "{} episodes ({} scored, mean reward {}); {} infra errors, {} format errors; journal {}",
            report["episodes"],
            report["scored"],
            report["mean_reward"],
            report["infra_errors"],
            report["format_errors"],
            args.out.join("journal.duckdb").display()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
