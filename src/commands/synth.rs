//! `agentworld synth`: the LLM synthesis pipeline, whole (`synth --seeds F --count N --out DIR`) or one stage at a
//! time over JSONL files (`synth scenarios|tasks|schema|data|tools|verifiers`), with a progress bar per stage and
//! a final report. Resumable: rerun the same command after an interruption.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use agentworld_synth::llm::ChatConfig;
use agentworld_synth::pipeline::RunOptions;
use agentworld_synth::{Progress, Stage, SynthReport};
use anyhow::{Context, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct SynthArgs {
    #[command(subcommand)]
    pub stage: Option<StageCommand>,
    #[command(flatten)]
    pub common: Common,
    /// Scenario seeds: JSONL `{"name", "description"}` or lines `name: description` (default: the ~100 bundled).
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    /// Scenarios to make (seeds are cycled, each pass asking for a different variant).
    #[arg(long)]
    pub count: Option<usize>,
    /// Output folder: envs/*.json, stages/*.jsonl, journal.jsonl (resume), report.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
pub struct Common {
    /// OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.
    #[arg(long, global = true)]
    pub api_url: Option<String>,
    #[arg(long, global = true)]
    pub model: Option<String>,
    /// Environment variable that holds the API key.
    #[arg(long, global = true)]
    pub api_key_env: Option<String>,
    /// Model requests in flight at once (and drafts worked on at once).
    #[arg(long, global = true, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, global = true, default_value_t = 0.7)]
    pub temperature: f32,
    /// De-duplicate scenarios with this OpenAI-compatible embeddings endpoint (base URL) instead of MinHash.
    #[arg(long, global = true)]
    pub embeddings_url: Option<String>,
    #[arg(long, global = true, default_value = "text-embedding")]
    pub embeddings_model: String,
    /// Print the prompts instead of sending them.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
}

#[derive(clap::Subcommand)]
pub enum StageCommand {
    /// Scenarios from seeds -> JSONL.
    Scenarios {
        #[arg(long)]
        seeds: Option<PathBuf>,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Ten tasks per scenario.
    Tasks(StageIo),
    /// The SQLite schema (built in the engine to validate it).
    Schema(StageIo),
    /// Seed data (loaded with foreign keys on to validate it).
    Data(StageIo),
    /// Tools as parameterised SQL (each prepared and run on example arguments).
    Tools(StageIo),
    /// Checks and reference solutions per task (each task self-validated); `--envs DIR` writes the spec files.
    Verifiers(StageIo),
}

#[derive(clap::Args)]
pub struct StageIo {
    /// The previous stage's JSONL.
    #[arg(long = "in")]
    pub input: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the finished environments' spec files here (verifiers stage).
    #[arg(long)]
    pub envs: Option<PathBuf>,
}

/// One progress bar per stage.
struct Bars {
    multi: MultiProgress,
    bars: std::sync::Mutex<std::collections::HashMap<Stage, ProgressBar>>,
    hidden: bool,
}

impl Progress for Bars {
    fn start(&self, stage: Stage, total: usize) {
        let bar = if self.hidden {
            ProgressBar::hidden()
        } else {
            let b = self.multi.add(ProgressBar::new(total as u64));
            b.set_style(
                ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(stage.as_str());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        };
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(stage, bar);
        }
    }

    fn finished(&self, stage: Stage, passed: bool) {
        if let Ok(bars) = self.bars.lock()
            && let Some(b) = bars.get(&stage)
        {
            b.inc(1);
            if !passed {
                b.set_message("(some dropped)");
            }
        }
    }
}

fn chat_config(c: &Common) -> anyhow::Result<ChatConfig> {
    let url = match (&c.api_url, c.dry_run) {
        (Some(u), _) => u.clone(),
        (None, true) => "http://127.0.0.1:1/v1".into(),
        (None, false) => {
            bail!("--api-url is required (an OpenAI-compatible endpoint such as http://127.0.0.1:8000/v1)")
        }
    };
    let model = match (&c.model, c.dry_run) {
        (Some(m), _) => m.clone(),
        (None, true) => "dry-run".into(),
        (None, false) => bail!("--model is required"),
    };
    let mut config = ChatConfig::new(&url, &model);
    config.concurrency = c.concurrency.max(1);
    config.temperature = c.temperature;
    config.dry_run = c.dry_run;
    if let Some(var) = &c.api_key_env {
        config.api_key = Some(std::env::var(var).with_context(|| format!("--api-key-env: ${var} is not set"))?);
    }
    Ok(config)
}

fn seeds(path: Option<&Path>) -> anyhow::Result<Vec<agentworld_synth::Seed>> {
    Ok(match path {
        Some(p) => agentworld_synth::read_seeds(p)?,
        None => agentworld_synth::default_seeds(),
    })
}

fn print_report(report: &SynthReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "{:<10} {:>8} {:>7} {:>8} {:>10} {:>6} {:>10}",
        "stage", "entered", "passed", "dropped", "pass rate", "tries", "corrected"
    );
    for s in &report.stages {
        println!(
            "{:<10} {:>8} {:>7} {:>8} {:>9.0}% {:>6} {:>10}",
            s.stage,
            s.entered,
            s.passed,
            s.dropped,
            s.pass_rate * 100.0,
            s.tries,
            s.corrected
        );
    }
    let u = &report.usage;
    println!(
        "model: {} requests ({} replayed from the journal, {} transport retries), {} prompt + {} completion tokens",
        u.requests, u.replayed, u.transport_retries, u.prompt_tokens, u.completion_tokens
    );
    for (dup, of) in &report.duplicates {
        println!("duplicate: {dup} (of {of})");
    }
    for d in &report.dropped {
        println!("dropped: {} at {}: {}", d.scenario, d.stage, d.reason.lines().next().unwrap_or(""));
    }
    println!(
        "{} environments in {:.1} s ({:.1}/s); {} tasks rejected; {} generator crashes; prompts {}",
        report.environments,
        report.seconds,
        report.environments_per_s,
        report.rejected_tasks,
        report.generator_crashes,
        report.prompt_version
    );
    Ok(())
}

pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let c = args.common.clone();
    let chat = chat_config(&c)?;
    let progress: Arc<dyn Progress> = Arc::new(Bars {
        multi: MultiProgress::new(),
        bars: Default::default(),
        hidden: c.quiet || c.json || c.dry_run,
    });
    let run = RunOptions {
        workers: c.concurrency.max(1),
        embeddings: c.embeddings_url.clone().map(|u| (u, c.embeddings_model.clone())),
        ..RunOptions::default()
    };
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    tokio.block_on(async move {
        match args.stage {
            None => {
                let count = args.count.context("--count is required (how many scenarios to make)")?;
                let out = args.out.context("--out is required (the output folder)")?;
                let seeds = seeds(args.seeds.as_deref())?;
                if c.dry_run {
                    let (_, _, printed) = agentworld_synth::run_scenarios_stage(
                        seeds,
                        count,
                        chat,
                        &out.join("journal.jsonl"),
                        &run,
                        progress,
                    )
                    .await?;
                    for p in printed {
                        println!("{p}\n");
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                let mut options = agentworld_synth::SynthOptions::new(chat, out.clone());
                options.run = run;
                options.progress = progress;
                let (report, _) = agentworld_synth::synthesize(seeds, count, &options).await?;
                print_report(&report, c.json)?;
                if !c.json {
                    println!(
                        "environments: {}  (check them: agentworld validate {})",
                        out.join("envs").display(),
                        out.join("envs").display()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Some(StageCommand::Scenarios { seeds: s, count, out }) => {
                let journal = out.with_extension("journal.jsonl");
                let (report, drafts, printed) =
                    agentworld_synth::run_scenarios_stage(seeds(s.as_deref())?, count, chat, &journal, &run, progress)
                        .await?;
                if c.dry_run {
                    for p in printed {
                        println!("{p}\n");
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                agentworld_synth::write_drafts(&out, &drafts)?;
                print_report(&report, c.json)?;
                Ok(ExitCode::SUCCESS)
            }
            Some(cmd) => {
                let (stage, io) = match cmd {
                    StageCommand::Tasks(io) => (Stage::Tasks, io),
                    StageCommand::Schema(io) => (Stage::Schema, io),
                    StageCommand::Data(io) => (Stage::Data, io),
                    StageCommand::Tools(io) => (Stage::Tools, io),
                    StageCommand::Verifiers(io) => (Stage::Verifiers, io),
                    StageCommand::Scenarios { .. } => unreachable!("handled above"),
                };
                let drafts = agentworld_synth::read_drafts(&io.input)?;
                let journal = io.out.with_extension("journal.jsonl");
                let (report, drafts, printed) =
                    agentworld_synth::run_one_stage(stage, drafts, chat.clone(), &journal, &run, progress).await?;
                if chat.dry_run {
                    for p in printed {
                        println!("{p}\n");
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                agentworld_synth::write_drafts(&io.out, &drafts)?;
                if let Some(dir) = &io.envs {
                    let n = agentworld_synth::write_environments(dir, &drafts)?;
                    println!("{n} environments written to {}", dir.display());
                }
                print_report(&report, c.json)?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
