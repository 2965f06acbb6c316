//! Procedural generation throughput: `N` environments drawn, written and fully self-validated by the supervised
//! generator actors (one per core), as `agentworld generate` runs them.
//!
//! `cargo bench --workspace --bench generate`; knobs: `AW_GEN_COUNT` (1000), `AW_GEN_SEED` (0), `AW_GEN_RUNS` (3),
//! `AW_GEN_WORKERS` (cores), `AW_GEN_RECHECK` (1: afterwards, re-validate every written text and check that no two
//! environments share a schema and toolset).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use agentworld_actors::generate::{GenerationSpec, generate};
use agentworld_generator::builtin_domains;
use agentworld_runtime::validate::validate_env;

/// The allocator the `agentworld` binary uses, so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let count = knob("AW_GEN_COUNT", 1000) as usize;
    let seed = knob("AW_GEN_SEED", 0);
    let runs = knob("AW_GEN_RUNS", 3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let mut walls = Vec::new();
    let mut last = None;
    for run in 0..runs {
        let mut spec = GenerationSpec::new(builtin_domains(), count, seed);
        if let Ok(w) = std::env::var("AW_GEN_WORKERS") {
            spec.workers = w.parse().unwrap_or(spec.workers);
        }
        let workers = spec.workers;
        let started = Instant::now();
        let report = rt.block_on(generate(spec)).expect("generation completes");
        let wall = started.elapsed().as_secs_f64();
        let tasks: usize = report.envs.iter().map(|e| e.stats.tasks).sum();
        let rejected: usize = report.envs.iter().map(|e| e.rejected_tasks.len()).sum();
        println!(
            "run {run}: {} environments ({tasks} tasks written, {rejected} rejected, {} attempts redrawn, {} lost) in {wall:.2} s = {:.0} env/s on {workers} generator actors",
            report.envs.len(),
            report.failed_attempts.len(),
            report.lost_slots.len(),
            report.envs.len() as f64 / wall
        );
        walls.push(wall);
        last = Some(report);
    }
    walls.sort_by(f64::total_cmp);
    let report = last.expect("at least one run");
    let mut per_env: Vec<u64> = report.envs.iter().map(|e| e.micros).collect();
    per_env.sort_unstable();
    println!(
        "wall for {count}: median {:.2} s, best {:.2} s, worst {:.2} s over {runs} run(s)",
        walls[walls.len() / 2],
        walls[0],
        walls[walls.len() - 1]
    );
    println!(
        "per environment (draw + write + parse + compile + validate every task 3 ways): median {:.1} ms, p99 {:.1} ms",
        percentile(&per_env, 0.5) as f64 / 1000.0,
        percentile(&per_env, 0.99) as f64 / 1000.0
    );
    if knob("AW_GEN_RECHECK", 1) == 1 {
        let fingerprints: HashSet<&str> = report.envs.iter().map(|e| e.fingerprint.as_str()).collect();
        let mut failing = 0usize;
        let mut total = 0usize;
        for e in &report.envs {
            let env = Arc::new(e.compile().expect("written text parses and compiles"));
            for v in validate_env(&env, None).expect("validation runs") {
                total += 1;
                failing += usize::from(!v.ok());
            }
        }
        println!(
            "recheck: {total} written tasks re-validated, {failing} failing; {} distinct schema+toolset fingerprints of {} environments",
            fingerprints.len(),
            report.envs.len()
        );
        assert_eq!(failing, 0, "every written task passes self-validation");
        assert_eq!(fingerprints.len(), report.envs.len(), "no two environments share a schema and toolset");
    }
}
