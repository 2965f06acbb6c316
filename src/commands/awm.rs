//! `agentworld import-awm` and `agentworld awm`: bring the AgentWorldModel-1K environments in, and try them.

use std::path::PathBuf;
use std::process::ExitCode;

use agentworld_awm::import::{DEFAULT_CLOCK, ImportOptions, import_dataset};
use agentworld_awm::{AwmEnvironment, AwmEpisode, BridgeConfig, BridgePool};
use anyhow::Context;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The folder with the dataset's JSONL files (gen_scenario.jsonl, gen_tasks.jsonl, gen_db.jsonl, ...).
    pub data_dir: PathBuf,
    /// Output folder: one environment folder per scenario, and import-report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Only this scenario (repeatable; names are normalised as AWM does).
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// The virtual time `datetime('now')` means while the states are built (RFC 3339, UTC).
    #[arg(long, default_value = DEFAULT_CLOCK)]
    pub clock: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let python = agentworld_awm::sandbox::python();
    let python_ok = std::process::Command::new(&python).arg("-c").arg("pass").status().is_ok_and(|s| s.success());
    if !python_ok {
        eprintln!("note: no Python at {} — verifiers are not syntax-checked", python.display());
    }
    let options = ImportOptions {
        out: args.out.clone(),
        scenarios: args.scenarios,
        clock: args.clock,
        python: python_ok.then_some(python),
    };
    let report =
        import_dataset(&args.data_dir, &options).with_context(|| format!("importing {}", args.data_dir.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
        let written = report.scenarios.iter().filter(|s| s.written).count();
        println!("{written} environments written to {} (report: import-report.json)", args.out.display());
    }
    Ok(if report.unknown_scenarios.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(clap::Args)]
pub struct AwmCallArgs {
    /// An imported environment folder.
    pub env: PathBuf,
    /// Print the tool listing in AWM's text protocol and exit.
    #[arg(long)]
    pub list: bool,
    /// `TOOL JSON` pairs to call in order, e.g. `get_channel_by_id '{"channel_id": 1}'`.
    pub calls: Vec<String>,
    /// Task to verify after the calls (e.g. task-0), with --answer.
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long, default_value = "")]
    pub answer: String,
}

pub fn call(args: AwmCallArgs) -> anyhow::Result<ExitCode> {
    let pool = BridgePool::start(BridgeConfig { workers: 1, ..BridgeConfig::default() })?;
    let env = AwmEnvironment::load(&args.env, &pool)?;
    if args.list {
        print!("{}", env.tool_listing_text());
        return Ok(ExitCode::SUCCESS);
    }
    let mut ep = AwmEpisode::open(env, args.task.as_deref())?;
    for pair in args.calls.chunks(2) {
        let tool = &pair[0];
        let json = pair.get(1).map(String::as_str).unwrap_or("{}");
        let value: serde_json::Value = serde_json::from_str(json).with_context(|| format!("arguments of {tool}"))?;
        let step = ep.call(tool, &value);
        println!("[{}] {} ({} us)\n{}", step.status.as_str(), tool, step.duration_us, step.observation);
    }
    if args.task.is_some() {
        let verdict = ep.finish(&args.answer)?;
        println!("{}", serde_json::to_string_pretty(verdict)?);
    }
    Ok(ExitCode::SUCCESS)
}
