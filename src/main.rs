//! The `agentworld` command line.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: rollouts and the actor runtime allocate many small, short-lived
/// values, and glibc's malloc took about 29% of a rollout's CPU (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Synthetic, database-backed tool-use environments for RL of LLM agents.
#[derive(Parser)]
#[command(name = "agentworld", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check environment specs end to end: parse, build, prepare, and run every task three ways
    /// (reference solution = complete, doing nothing = none, perturbed solution < complete).
    Validate {
        /// Spec files or folders (default: the bundled envspecs/).
        paths: Vec<PathBuf>,
        /// Also write every validation episode to this DuckDB record.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Environments.
    Envs {
        #[command(subcommand)]
        command: EnvsCommand,
    },
    /// Play an episode in the terminal: list tools, call them with JSON arguments, answer, see the verdict.
    Play {
        /// Environment name (looked up under --envs) or a spec file.
        env: String,
        /// Task id (default: the first task).
        #[arg(long)]
        task: Option<String>,
        /// Where to look environments up.
        #[arg(long, default_value = "envspecs")]
        envs: PathBuf,
        /// Record the episode in this DuckDB file.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Drive the actor runtime with concurrent clients calling the tasks' reference solutions; report
    /// throughput and latency.
    Load(commands::load::LoadArgs),
    /// Train the built-in policy with GRPO on procedural environments and show held-out success before and after.
    Train(commands::train::TrainArgs),
    /// Run a policy (an OpenAI-compatible LLM, or the built-in one) on tasks in GRPO groups; record trajectories,
    /// verdicts and group advantages.
    Rollout(commands::rollout::RolloutArgs),
    /// Export a journal's episodes as training samples (JSONL and Parquet) with GRPO advantages.
    Export(commands::export::ExportArgs),
    /// Write seeded procedural environments (every task proven by self-validation) and report what was made.
    Generate(commands::generate::GenerateArgs),
    /// Serve environments over MCP (Streamable HTTP) and the HTTP reset/step API until SIGINT/SIGTERM, then drain.
    Serve(commands::serve::ServeArgs),
    /// Drive an agentworld HTTP API or any MCP endpoint with concurrent clients; report calls/s and latency.
    Loadgen(commands::loadgen::LoadgenArgs),
    /// Import AgentWorldModel-1K scenarios (its JSONL files) as environment folders, with a report.
    #[command(name = "import-awm")]
    ImportAwm(commands::awm::ImportArgs),
    /// Call an imported AWM environment's tools through the Python bridge (and verify a task).
    Awm(commands::awm::AwmCallArgs),
    /// Synthesize environments with an LLM (AWM's stages: scenarios, tasks, schema, data, tools, verifiers), each
    /// validated by running it; whole, or one stage at a time over JSONL. Resumable after an interruption.
    Synth(commands::synth::SynthArgs),
    /// Answer cross-episode questions about a DuckDB record.
    Report {
        record: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum EnvsCommand {
    /// List environments with their table, tool and task counts.
    List {
        /// A spec file or folder (default: envspecs/).
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The distribution of a folder of specs: domains, tables/tools/tasks/rows per environment, task kinds.
    Stats {
        /// A spec file or folder (default: envspecs/).
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any SQLite connection: SQLite allocates with mimalloc too (see `use_mimalloc`).
    agentworld_runtime::use_mimalloc();
    let result = match cli.command {
        Command::Validate { paths, record, json } => commands::validate::run(paths, record, json),
        Command::Envs { command: EnvsCommand::List { path, json } } => commands::envs::list(path, json),
        Command::Envs { command: EnvsCommand::Stats { path, json } } => commands::envs::stats(path, json),
        Command::Play { env, task, envs, record } => commands::play::run(&env, task.as_deref(), &envs, record),
        Command::Report { record, json } => commands::report::run(&record, json),
        Command::Load(args) => commands::load::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Rollout(args) => commands::rollout::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Loadgen(args) => commands::loadgen::run(args),
        Command::ImportAwm(args) => commands::awm::import(args),
        Command::Awm(args) => commands::awm::call(args),
        Command::Synth(args) => commands::synth::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
