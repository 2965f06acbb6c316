//! `agentworld generate`: seeded procedural environments, generated in parallel by supervised generator actors,
//! every written task proven by self-validation. Writes one spec per environment and a `manifest.json`, and prints
//! what was generated (domains, tables/tools/tasks per environment, task kinds) and what was rejected and why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use agentworld_actors::generate::{GenerationReport, GenerationSpec, generate};
use agentworld_generator::rng::Rng;
use agentworld_generator::{Domain, GeneratedEnv, builtin_domains, load_domain};
use anyhow::{Context, bail};
use serde_json::json;

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Environments to write.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Same seed, same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created; existing files of the same names are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Only these domains (comma-separated names; default: every built-in and --domain-file domain).
    #[arg(long, value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Extra domain files in the domain format (docs/generator.md); repeatable.
    #[arg(long = "domain-file")]
    pub domain_files: Vec<PathBuf>,
    /// Write `train/` and `heldout/` folders whose domains do not overlap: this fraction of the domains is held out.
    #[arg(long)]
    pub split: Option<f64>,
    /// Generator actors (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The domains a run draws from, in a stable order.
fn select_domains(args: &GenerateArgs) -> anyhow::Result<Vec<Domain>> {
    let mut all = builtin_domains();
    for f in &args.domain_files {
        let d = load_domain(f).map_err(|e| anyhow::anyhow!("{e}"))?;
        all.retain(|x| x.name != d.name);
        all.push(d);
    }
    if args.domains.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for name in &args.domains {
        match all.iter().find(|d| &d.name == name) {
            Some(d) => out.push(d.clone()),
            None => {
                let known: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
                bail!("--domains: unknown domain `{name}` (known: {})", known.join(", "));
            }
        }
    }
    Ok(out)
}

/// The held-out domains of a split: a seeded choice of `fraction` of them (at least one, never all).
pub fn heldout_domains(domains: &[Domain], fraction: f64, seed: u64) -> Vec<String> {
    let mut names: Vec<String> = domains.iter().map(|d| d.name.clone()).collect();
    let mut rng = Rng::new(seed ^ 0x5EED_5B17);
    rng.shuffle(&mut names);
    let n = ((names.len() as f64 * fraction).round() as usize).clamp(1, names.len().saturating_sub(1).max(1));
    let mut held: Vec<String> = names.into_iter().take(n).collect();
    held.sort();
    held
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    if let Some(f) = args.split
        && !(f > 0.0 && f < 1.0)
    {
        bail!("--split {f}: expected a fraction between 0 and 1 (the share of domains held out)");
    }
    let domains = select_domains(&args)?;
    if args.split.is_some() && domains.len() < 2 {
        bail!("--split needs at least two domains");
    }
    let mut spec = GenerationSpec::new(domains.clone(), args.count, args.seed);
    if let Some(w) = args.workers {
        spec.workers = w.max(1);
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(generate(spec)).map_err(|e| anyhow::anyhow!(e))?;
    let elapsed = started.elapsed().as_secs_f64();
    let heldout = args.split.map(|f| heldout_domains(&domains, f, args.seed)).unwrap_or_default();
    write_all(&args.out, &report, &heldout, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary_json(&report, &heldout, elapsed))?);
    } else {
        print_summary(&args, &report, &heldout, elapsed);
    }
    Ok(if report.lost_slots.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn folder_of<'a>(env: &GeneratedEnv, heldout: &[String], split: bool) -> &'a str {
    match (split, heldout.contains(&env.domain)) {
        (false, _) => "",
        (true, true) => "heldout",
        (true, false) => "train",
    }
}

fn write_all(out: &Path, report: &GenerationReport, heldout: &[String], args: &GenerateArgs) -> anyhow::Result<()> {
    let split = args.split.is_some();
    for env in &report.envs {
        let dir = out.join(folder_of(env, heldout, split));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(env.file_name());
        std::fs::write(&path, &env.text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::create_dir_all(out)?;
    let manifest = json!({
        "seed": args.seed,
        "count": args.count,
        "heldout_domains": heldout,
        "environments": report.envs.iter().map(|e| json!({
            "file": Path::new(folder_of(e, heldout, split)).join(e.file_name()).display().to_string(),
            "name": e.name, "domain": e.domain, "attempt": e.attempt, "fingerprint": e.fingerprint,
            "stats": e.stats, "rejected_tasks": e.rejected_tasks,
        })).collect::<Vec<_>>(),
        "failed_attempts": report.failed_attempts,
        "lost_slots": report.lost_slots,
    });
    let path = out.join("manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The first words of a validation problem, as a category.
fn reason_category(reason: &str) -> &'static str {
    if reason.starts_with("reference call") {
        "a reference call failed"
    } else if reason.starts_with("reference solution scored") {
        "reference solution below complete"
    } else if reason.starts_with("doing nothing scored") {
        "doing nothing scored above none"
    } else if reason.starts_with("perturbed solution") {
        "a perturbed solution still scored complete"
    } else if reason.starts_with("no perturbation") {
        "no perturbation changed the outcome"
    } else if reason.starts_with("replaying") {
        "changesets do not replay"
    } else {
        "other"
    }
}

fn spread(values: impl Iterator<Item = usize>) -> (usize, usize, f64) {
    let v: Vec<usize> = values.collect();
    if v.is_empty() {
        return (0, 0, 0.0);
    }
    let (lo, hi) = (*v.iter().min().unwrap_or(&0), *v.iter().max().unwrap_or(&0));
    (lo, hi, v.iter().sum::<usize>() as f64 / v.len() as f64)
}

fn summary_json(report: &GenerationReport, heldout: &[String], elapsed: f64) -> serde_json::Value {
    let mut per_domain: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rejected_kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &report.envs {
        *per_domain.entry(&e.domain).or_default() += 1;
        for (k, n) in &e.stats.kinds {
            *kinds.entry(k.clone()).or_default() += n;
        }
        for r in &e.rejected_tasks {
            *rejected.entry(reason_category(&r.reason)).or_default() += 1;
            *rejected_kinds.entry(r.kind.clone()).or_default() += 1;
        }
    }
    let stat = |f: fn(&GeneratedEnv) -> usize| {
        let (lo, hi, mean) = spread(report.envs.iter().map(f));
        json!({ "min": lo, "max": hi, "mean": (mean * 10.0).round() / 10.0 })
    };
    json!({
        "environments": report.envs.len(),
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "domains": per_domain,
        "heldout_domains": heldout,
        "tables": stat(|e| e.stats.tables),
        "tools": stat(|e| e.stats.tools),
        "tasks": stat(|e| e.stats.tasks),
        "rows": stat(|e| e.stats.rows),
        "task_kinds": kinds,
        "tasks_written": report.envs.iter().map(|e| e.stats.tasks).sum::<usize>(),
        "tasks_rejected": rejected.values().sum::<usize>(),
        "tasks_rejected_by_reason": rejected,
        "tasks_rejected_by_kind": rejected_kinds,
        "environments_rejected": report.failed_attempts.iter().filter(|f| f.what == "rejected").count(),
        "generator_crashes": report.failed_attempts.iter().filter(|f| f.what == "crashed").count(),
        "generator_restarts": report.restarts,
        "redrawn_duplicates": report.redrawn_duplicates,
        "failed_attempts": report.failed_attempts,
        "lost_slots": report.lost_slots,
    })
}

fn print_summary(args: &GenerateArgs, report: &GenerationReport, heldout: &[String], elapsed: f64) {
    let s = summary_json(report, heldout, elapsed);
    let n = report.envs.len();
    println!(
        "generated {n} environment(s) in {elapsed:.2} s ({:.0}/s) into {}",
        n as f64 / elapsed.max(1e-9),
        args.out.display()
    );
    if !heldout.is_empty() {
        let held = report.envs.iter().filter(|e| heldout.contains(&e.domain)).count();
        println!("split: {} in train/, {held} in heldout/ (held-out domains: {})", n - held, heldout.join(", "));
    }
    let domains: Vec<String> =
        s["domains"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k} {v}")).collect()).unwrap_or_default();
    println!("domains ({}): {}", domains.len(), domains.join(", "));
    for key in ["tables", "tools", "tasks", "rows"] {
        println!("{key:>7} per environment: min {} / mean {} / max {}", s[key]["min"], s[key]["mean"], s[key]["max"]);
    }
    let kinds: Vec<String> =
        s["task_kinds"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k} {v}")).collect()).unwrap_or_default();
    println!("task kinds: {}", kinds.join(", "));
    println!(
        "tasks written: {} (all passed self-validation); tasks rejected: {}",
        s["tasks_written"], s["tasks_rejected"]
    );
    if let Some(m) = s["tasks_rejected_by_reason"].as_object() {
        for (k, v) in m {
            println!("  rejected, {k}: {v}");
        }
    }
    if let Some(m) = s["tasks_rejected_by_kind"].as_object()
        && !m.is_empty()
    {
        let kinds: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  rejected by kind: {}", kinds.join(", "));
    }
    println!(
        "environments rejected and redrawn: {}; generator crashes: {} (restarted {}); duplicate schema+toolset redrawn: {}",
        s["environments_rejected"], s["generator_crashes"], s["generator_restarts"], s["redrawn_duplicates"]
    );
    for f in &report.failed_attempts {
        println!("  slot {} attempt {} ({}): {} - {}", f.slot, f.attempt, f.domain, f.what, f.reason);
    }
    if !report.lost_slots.is_empty() {
        println!("LOST slots (every attempt failed): {:?}", report.lost_slots);
    }
}
