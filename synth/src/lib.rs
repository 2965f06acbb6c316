//! # agentworld-synth
//!
//! AWM's synthesis pipeline (scenarios -> tasks -> database schema -> seed data -> tool interface ->
//! verifiers) with any OpenAI-compatible model, producing environments in agentworld's spec format: tools and
//! verifiers are SQL, so nothing generated is ever executed as code, and every task is proven by running it
//! (reference solution 1.0, nothing 0.0, a wrong variant below 1.0) before it is kept.
//!
//! - [`stages`]: prompts (`synth/prompts/`, versioned), parsing and validation by execution, self-correction.
//! - [`pipeline`]: supervised `GeneratorActor`s, the report, progress.
//! - [`llm`]: the model client: concurrency limit, transport retries, tokens, and the journal that makes runs
//!   resumable after a crash or `kill -9` without repeating a finished call.
//! - [`dedup`]: MinHash de-duplication of scenarios (or an embeddings endpoint).
//! - [`scripted`]: a real OpenAI-compatible HTTP server answering from recorded responses, for tests and benches.
//!
//! ```no_run
//! # async fn run() -> Result<(), agentworld_synth::SynthError> {
//! use agentworld_synth::{SynthOptions, synthesize, llm::ChatConfig};
//! let options = SynthOptions::new(ChatConfig::new("http://127.0.0.1:8000/v1", "qwen3-32b"), "synth-out".into());
//! let (report, _drafts) = synthesize(agentworld_synth::default_seeds(), 20, &options).await?;
//! println!("{} environments", report.environments);
//! # Ok(()) }
//! ```

pub mod dedup;
pub mod error;
pub mod llm;
pub mod pipeline;
pub mod scripted;
pub mod stages;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use error::SynthError;
pub use pipeline::{Progress, SynthReport};
pub use stages::{Draft, Seed, Stage};

use crate::llm::{Chat, ChatConfig};
use crate::pipeline::{RunContext, RunOptions};

/// The bundled seeds: about 100 everyday services, written for this project (`synth/seeds.jsonl`).
pub fn default_seeds() -> Vec<Seed> {
    include_str!("../seeds.jsonl").lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Reads seeds: JSONL of `{"name", "description"}`, or plain lines `name: description`.
pub fn read_seeds(path: &Path) -> Result<Vec<Seed>, SynthError> {
    let text = std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))?;
    let mut seeds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            let seed: Seed = serde_json::from_str(line).map_err(|e| SynthError::Input {
                path: path.into(),
                line: i + 1,
                message: format!("not a seed object: {e}"),
            })?;
            seeds.push(seed);
        } else {
            let (name, description) = line.split_once(':').unwrap_or((line, ""));
            seeds.push(Seed { name: name.trim().into(), description: description.trim().into() });
        }
    }
    if seeds.is_empty() {
        return Err(SynthError::Input { path: path.into(), line: 0, message: "no seeds in the file".into() });
    }
    Ok(seeds)
}

/// Reads a stage file: one [`Draft`] per line.
pub fn read_drafts(path: &Path) -> Result<Vec<Draft>, SynthError> {
    let text = std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| SynthError::Input {
                path: path.into(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Writes a stage file (atomically: a temporary file renamed over it).
pub fn write_drafts(path: &Path, drafts: &[Draft]) -> Result<(), SynthError> {
    let mut text = String::new();
    for d in drafts {
        text.push_str(&serde_json::to_string(d).map_err(|e| SynthError::io(path, e))?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| SynthError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SynthError::io(path, e))
}

/// Writes every finished draft as a spec file `DIR/<name>.json` (what `agentworld validate` and `serve` load).
pub fn write_environments(dir: &Path, drafts: &[Draft]) -> Result<usize, SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    let mut n = 0;
    for d in drafts.iter().filter(|d| d.dropped.is_none() && !d.verified.is_empty()) {
        let text = serde_json::to_string_pretty(&d.spec()).map_err(|e| SynthError::io(dir, e))?;
        write_atomic(&dir.join(format!("{}.json", d.name)), text.as_bytes())?;
        n += 1;
    }
    Ok(n)
}

/// A full run's settings.
pub struct SynthOptions {
    pub chat: ChatConfig,
    /// `OUT/envs/*.json` (the environments), `OUT/stages/*.jsonl`, `OUT/journal.jsonl`, `OUT/report.json`.
    pub out: PathBuf,
    pub run: RunOptions,
    pub progress: Arc<dyn Progress>,
    /// Fault injection for tests: a generator panics on the draft of this name.
    pub panic_on: Option<String>,
}

impl SynthOptions {
    pub fn new(chat: ChatConfig, out: PathBuf) -> SynthOptions {
        let workers = chat.concurrency;
        SynthOptions {
            chat,
            out,
            run: RunOptions { workers, ..RunOptions::default() },
            progress: Arc::new(pipeline::Silent),
            panic_on: None,
        }
    }
}

/// The whole pipeline: `count` scenarios from `seeds` through every stage; writes the outputs under
/// `options.out` and returns the report and the final drafts. Resumable: a rerun with the same out folder
/// replays finished model calls from `journal.jsonl`.
pub async fn synthesize(
    seeds: Vec<Seed>,
    count: usize,
    options: &SynthOptions,
) -> Result<(SynthReport, Vec<Draft>), SynthError> {
    let started = Instant::now();
    let chat = Arc::new(Chat::new(options.chat.clone(), Some(&options.out.join("journal.jsonl")))?);
    let scen_ctx = Arc::new(RunContext::new(chat.clone(), options.progress.clone()));
    let slots = pipeline::scenario_slots(&seeds, count);
    let (drafts, duplicates, crashes_a) = pipeline::run_scenarios(scen_ctx.clone(), slots, &options.run).await?;
    if options.chat.dry_run {
        let report = pipeline::report(&scen_ctx, &drafts, duplicates, crashes_a, started);
        return Ok((report, drafts));
    }
    write_drafts(&options.out.join("stages/scenarios.jsonl"), &drafts)?;
    let mut ctx = RunContext::new(chat, options.progress.clone());
    ctx.panic_on = options.panic_on.clone();
    let later: Vec<Stage> = Stage::ALL[1..].to_vec();
    let (drafts, crashes_b, ctx) = pipeline::run_stages(ctx, drafts, &later, &options.run).await?;
    pipeline::merge_counts(&ctx, &scen_ctx);
    write_drafts(&options.out.join("stages/environments.jsonl"), &drafts)?;
    write_environments(&options.out.join("envs"), &drafts)?;
    let report = pipeline::report(&ctx, &drafts, duplicates, crashes_a + crashes_b, started);
    let text = serde_json::to_string_pretty(&report).map_err(|e| SynthError::io(&options.out, e))?;
    write_atomic(&options.out.join("report.json"), text.as_bytes())?;
    Ok((report, drafts))
}

/// One stage alone over a stage file's drafts (`agentworld synth tasks|schema|data|tools|verifiers`).
pub async fn run_one_stage(
    stage: Stage,
    drafts: Vec<Draft>,
    chat: ChatConfig,
    journal: &Path,
    run: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<(SynthReport, Vec<Draft>, Vec<String>), SynthError> {
    let started = Instant::now();
    let chat = Arc::new(Chat::new(chat, Some(journal))?);
    let ctx = RunContext::new(chat.clone(), progress);
    let (drafts, crashes, ctx) = pipeline::run_stages(ctx, drafts, &[stage], run).await?;
    Ok((pipeline::report(&ctx, &drafts, Vec::new(), crashes, started), drafts, chat.printed()))
}

/// The scenarios stage alone (`agentworld synth scenarios`).
pub async fn run_scenarios_stage(
    seeds: Vec<Seed>,
    count: usize,
    chat: ChatConfig,
    journal: &Path,
    run: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<(SynthReport, Vec<Draft>, Vec<String>), SynthError> {
    let started = Instant::now();
    let chat = Arc::new(Chat::new(chat, Some(journal))?);
    let ctx = Arc::new(RunContext::new(chat.clone(), progress));
    let (drafts, duplicates, crashes) =
        pipeline::run_scenarios(ctx.clone(), pipeline::scenario_slots(&seeds, count), run).await?;
    Ok((pipeline::report(&ctx, &drafts, duplicates, crashes, started), drafts, chat.printed()))
}
