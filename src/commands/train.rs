//! `agentworld train`: the built-in policy learns tool use by GRPO in procedural environments (plus the bundled
//! ones), evaluated greedily on held-out domains before and after; progress bar, journal, checkpoints, `--resume`,
//! and the learning curve as SVG.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use agentworld_actors::generate::{GenerationSpec, generate};
use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_generator::builtin_domains;
use agentworld_kernels::{Backend, Device};
use agentworld_rl::coordinator::{Coordinator, CoordinatorPolicy};
use agentworld_rl::plot::write_curve_svg;
use agentworld_rl::policy::{BuiltinConfig, BuiltinPolicy};
use agentworld_rl::rollout::TaskRef;
use agentworld_rl::train::{Checkpoint, CurvePoint, Evaluation, TrainConfig};
use agentworld_runtime::Environment;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Folder for the checkpoint, journal, curve, report and the generated environments.
    #[arg(long, default_value = "agentworld-train")]
    pub out: PathBuf,
    /// Procedural environments to generate (train and held-out together).
    #[arg(long, default_value_t = 200)]
    pub generate: usize,
    /// Share of the domains held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    pub split: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Extra hand-written spec files or folders to train on (default: the bundled envspecs/).
    #[arg(long = "envs")]
    pub envs: Vec<PathBuf>,
    /// Train on procedural environments only.
    #[arg(long)]
    pub no_bundled: bool,
    #[arg(long, default_value_t = 60)]
    pub iterations: usize,
    #[arg(long, default_value_t = 64)]
    pub tasks_per_iteration: usize,
    /// Episodes per task (the GRPO group).
    #[arg(long, default_value_t = 8)]
    pub group_size: usize,
    #[arg(long, default_value_t = 8)]
    pub max_steps: usize,
    #[arg(long, default_value_t = 10)]
    pub checkpoint_every: usize,
    /// Continue from `OUT/checkpoint.json` (after a crash or kill -9).
    #[arg(long)]
    pub resume: bool,
    /// cpu, cuda, cuda:N or auto (CUDA when built with it and a GPU is present).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Do not record episodes in `OUT/journal.duckdb`.
    #[arg(long)]
    pub no_journal: bool,
    /// No progress bar (one line per iteration instead).
    #[arg(long)]
    pub quiet: bool,
    #[arg(long)]
    pub json: bool,
}

/// How the environments of a run are made; stored in the checkpoint so `--resume` rebuilds the same ones.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Setup {
    generate: usize,
    split: f64,
    seed: u64,
    bundled: Vec<PathBuf>,
}

/// Generates (and writes under `out/envs/`) the procedural environments; returns (train, held-out).
async fn environments(setup: &Setup, out: &Path) -> anyhow::Result<(Vec<Arc<Environment>>, Vec<Arc<Environment>>)> {
    let domains = builtin_domains();
    let held = super::generate::heldout_domains(&domains, setup.split, setup.seed);
    let report =
        generate(GenerationSpec::new(domains, setup.generate, setup.seed)).await.map_err(|e| anyhow::anyhow!(e))?;
    let (mut train, mut heldout) = (Vec::new(), Vec::new());
    for e in report.envs {
        let part = if held.contains(&e.domain) { "heldout" } else { "train" };
        let dir = out.join("envs").join(part);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(e.file_name()), &e.text)?;
        let env = Arc::new(e.compile().map_err(|err| anyhow::anyhow!("{}: {err}", e.name))?);
        if part == "heldout" { heldout.push(env) } else { train.push(env) }
    }
    for path in &setup.bundled {
        for (file, loaded) in Environment::load_all(path).with_context(|| format!("reading {}", path.display()))? {
            match loaded {
                Ok(env) => train.push(Arc::new(env)),
                Err(e) => bail!("{}: {e}", file.display()),
            }
        }
    }
    Ok((train, heldout))
}

fn point_line(p: &CurvePoint, total: usize) -> String {
    format!(
        "it {}/{total}  reward {:.3}  success {:.1}%  {:.0} episodes/s  {:.0} steps/s",
        p.iteration,
        p.mean_reward,
        p.success_rate * 100.0,
        p.episodes_per_s,
        p.steps_per_s
    )
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let checkpoint_path = args.out.join("checkpoint.json");
    let resumed = if args.resume && checkpoint_path.exists() {
        Some(Checkpoint::load(&checkpoint_path)?)
    } else {
        if args.resume {
            eprintln!("no checkpoint at {}: starting a new run", checkpoint_path.display());
        }
        None
    };
    if !(args.split > 0.0 && args.split < 1.0) {
        bail!("--split {}: expected a fraction between 0 and 1", args.split);
    }
    let setup = match &resumed {
        Some(c) => serde_json::from_value(c.setup.clone()).context("the checkpoint's environment setup")?,
        None => Setup {
            generate: args.generate,
            split: args.split,
            seed: args.seed,
            bundled: if args.no_bundled {
                Vec::new()
            } else if args.envs.is_empty() {
                vec![super::default_envs()]
            } else {
                args.envs.clone()
            },
        },
    };
    let config = match &resumed {
        Some(c) => TrainConfig { iterations: args.iterations.max(c.config.iterations), ..c.config },
        None => TrainConfig {
            iterations: args.iterations,
            tasks_per_iteration: args.tasks_per_iteration,
            group_size: args.group_size,
            max_steps: args.max_steps,
            checkpoint_every: args.checkpoint_every.max(1),
            seed: args.seed,
            policy: BuiltinConfig { seed: args.seed ^ 0x5EED, ..BuiltinConfig::default() },
        },
    };
    let device: Device = args.device.parse().map_err(|e| anyhow::anyhow!("--device: {e}"))?;
    let backend = Backend::new(device).map_err(|e| anyhow::anyhow!("--device {}: {e}", args.device))?;
    let policy = match &resumed {
        Some(c) => BuiltinPolicy::from_parts(
            config.policy,
            backend,
            c.params.clone(),
            (c.adam_m.clone(), c.adam_v.clone(), c.adam_step),
        )?,
        None => BuiltinPolicy::new(config.policy, backend)?,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let out = args.out.clone();
    let quiet = args.quiet || args.json;
    let (report, code) = tokio.block_on(async move {
        let (train_envs, held_envs) = environments(&setup, &out).await?;
        let (train, held) = (TaskRef::all(&train_envs), TaskRef::all(&held_envs));
        if !quiet {
            eprintln!(
                "{} train environments ({} tasks), {} held-out environments ({} tasks); kernels on {}",
                train_envs.len(),
                train.len(),
                held_envs.len(),
                held.len(),
                policy.backend.describe()
            );
        }
        let mut rconfig = RuntimeConfig::default();
        rconfig.runtime.max_episodes = rconfig.runtime.max_episodes.max(config.tasks_per_iteration * config.group_size * 4).max(4096);
        if !args.no_journal {
            rconfig.journal.path = Some(out.join("journal.duckdb"));
        }
        let rt = Runtime::start(rconfig, train_envs.into_iter().chain(held_envs).collect()).await?;
        if let Some(j) = rt.journal() {
            let r = j.recovery();
            if r.replayed_frames > 0 || r.interrupted > 0 {
                eprintln!(
                    "journal: recovered {} log frames; {} episodes left open by the last run were marked interrupted",
                    r.replayed_frames, r.interrupted
                );
            }
        }
        let coordinator = Coordinator::start(rt.clone(), CoordinatorPolicy::Builtin(Box::new(policy)))
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let (train, held) = (Arc::new(train), Arc::new(held));
        let (mut curve, mut start, mut before) = match &resumed {
            Some(c) => (c.curve.clone(), c.iteration, c.before),
            None => (Vec::new(), 0, None),
        };
        if before.is_none() {
            before = Some(coordinator.evaluate(held.clone(), config.max_steps).await.map_err(|e| anyhow::anyhow!(e))?);
        }
        let setup_json = serde_json::to_value(&setup)?;
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::new(config.iterations as u64);
            b.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_position(start as u64);
            b
        };
        if let Some(b) = before {
            bar.println(format!("held-out before training: success {:.1}% over {} tasks", b.success_rate * 100.0, b.tasks));
        }
        while start < config.iterations {
            let p = coordinator.train_iteration(train.clone(), config, start).await.map_err(|e| anyhow::anyhow!(e))?;
            start += 1;
            bar.set_message(point_line(&p, config.iterations));
            bar.inc(1);
            if quiet && !args.json {
                println!("{}", point_line(&p, config.iterations));
            }
            curve.push(p);
            if start % config.checkpoint_every == 0 || start == config.iterations {
                let checkpoint = coordinator
                    .checkpoint(config, start, curve.clone(), before, setup_json.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                checkpoint.save(&out.join("checkpoint.json"))?;
            }
        }
        bar.finish_and_clear();
        let after = coordinator.evaluate(held.clone(), config.max_steps).await.map_err(|e| anyhow::anyhow!(e))?;
        coordinator.stop();
        rt.shutdown().await?;
        let svg = out.join("curve.svg");
        write_curve_svg(&svg, &curve, before, Some(after)).map_err(|e| anyhow::anyhow!(e))?;
        let before = before.unwrap_or_default();
        let ratio = if before.success_rate > 0.0 { after.success_rate / before.success_rate } else { f64::INFINITY };
        let report = json!({
            "held_out_before": before,
            "held_out_after": after,
            "improvement": if ratio.is_finite() { json!(ratio) } else { json!(null) },
            "iterations": config.iterations,
            "config": config,
            "curve": curve,
            "seconds": started.elapsed().as_secs_f64(),
            "mean_steps_per_s": curve.iter().map(|p| p.steps_per_s).sum::<f64>() / curve.len().max(1) as f64,
            "train_tasks": train.len(),
            "held_out_tasks": held.len(),
            "files": { "checkpoint": out.join("checkpoint.json"), "curve": svg, "journal": (!args.no_journal).then(|| out.join("journal.duckdb")) },
        });
        std::fs::write(out.join("report.json"), serde_json::to_string_pretty(&report)? + "\n")?;
        let code = if after.success_rate > before.success_rate { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        anyhow::Ok((report, code))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let b: Evaluation = serde_json::from_value(report["held_out_before"].clone())?;
        let a: Evaluation = serde_json::from_value(report["held_out_after"].clone())?;
        println!(
            "held-out success: {:.1}% untrained -> {:.1}% trained over {} tasks ({}); mean reward {:.3} -> {:.3}",
            b.success_rate * 100.0,
            a.success_rate * 100.0,
            a.tasks,
            match report["improvement"].as_f64() {
                Some(r) => format!("{r:.1}x"),
                None => "from zero".into(),
            },
            b.mean_reward,
            a.mean_reward
        );
        println!(
            "{} iterations in {:.0} s, {:.0} environment steps/s on average; curve {}, checkpoint {}, report {}",
            report["iterations"],
            report["seconds"].as_f64().unwrap_or(0.0),
            report["mean_steps_per_s"].as_f64().unwrap_or(0.0),
            args.out.join("curve.svg").display(),
            args.out.join("checkpoint.json").display(),
            args.out.join("report.json").display()
        );
    }
    Ok(code)
}
