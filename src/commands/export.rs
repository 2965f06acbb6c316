//! `agentworld export JOURNAL --out DIR`: step samples with group-relative advantages for external trainers.

use std::path::PathBuf;
use std::process::ExitCode;

use agentworld_rl::export::{ExportOptions, export};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A DuckDB journal (`agentworld train` writes OUT/journal.duckdb).
    pub journal: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Turns of history each step sample keeps (AWM's history-aware samples; at most 20).
    #[arg(long, default_value_t = 3)]
    pub window: usize,
    /// jsonl, parquet or both.
    #[arg(long, default_value = "both")]
    pub format: String,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if !args.journal.exists() {
        anyhow::bail!("{}: no such journal", args.journal.display());
    }
    let (jsonl, parquet) = match args.format.as_str() {
        "both" => (true, true),
        "jsonl" => (true, false),
        "parquet" => (false, true),
        other => anyhow::bail!("--format {other}: expected jsonl, parquet or both"),
    };
    let report = export(&args.journal, &args.out, ExportOptions { window: args.window, jsonl, parquet })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "exported {} episodes in {} groups as {} step samples (history window {}):",
            report.episodes, report.groups, report.steps, args.window
        );
        for f in &report.files {
            println!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
