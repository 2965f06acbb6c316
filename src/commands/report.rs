//! `agentworld report RECORD`

use std::path::Path;
use std::process::ExitCode;

use agentworld_runtime::report;
use anyhow::Context;

pub fn run(record: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if !record.exists() {
        anyhow::bail!("no record at {}", record.display());
    }
    let sections = report::report(record).with_context(|| format!("reading {}", record.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&sections)?);
    } else {
        print!("{}", report::render_text(&sections));
    }
    Ok(ExitCode::SUCCESS)
}
