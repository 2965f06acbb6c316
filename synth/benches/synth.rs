//! The synthesis pipeline's own throughput: every stage against the scripted OpenAI-compatible server (real HTTP
//! on loopback, no model latency), so what is measured is the pipeline (prompting, parsing, validation by
//! execution, self-validation of every task, journaling, writing). Issue floor: >= 50 environments/s on 2 cores.
//!
//! `cargo bench --workspace --bench synth` (knobs: AW_BENCH_ENVS, default 200; AW_BENCH_REPS, default 3;
//! AW_BENCH_CONCURRENCY, default 8). Prints one line per run and a JSON summary.

use agentworld_synth::llm::ChatConfig;

/// As in the `agentworld` binary, which runs the pipeline.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use agentworld_synth::scripted::{Script, ScriptedServer, generated_specs};
use agentworld_synth::{SynthOptions, synthesize};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let n = knob("AW_BENCH_ENVS", 200);
    let reps = knob("AW_BENCH_REPS", 3);
    let concurrency = knob("AW_BENCH_CONCURRENCY", 8);
    let specs = generated_specs(n, 42);
    let tasks: usize = specs.iter().map(|s| s.tasks.len()).sum();
    let script = Script::new(specs);
    let seeds = script.seeds();
    let server = ScriptedServer::start(script).expect("scripted server");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut rates = Vec::new();
    for rep in 0..reps {
        let out = tempfile::tempdir().expect("tempdir");
        let mut chat = ChatConfig::new(&server.url, "scripted");
        chat.concurrency = concurrency;
        let mut options = SynthOptions::new(chat, out.path().to_path_buf());
        // The recorded environments of one domain share their description: de-duplication would (rightly) keep one
        // per domain. Off here, so every recorded environment goes through every stage.
        options.run.dedup_threshold = 1.01;
        let (report, _) = rt.block_on(synthesize(seeds.clone(), n, &options)).expect("pipeline");
        println!(
            "run {}: {} environments ({} tasks offered) in {:.2} s = {:.1} environments/s; {} model requests",
            rep + 1,
            report.environments,
            tasks,
            report.seconds,
            report.environments_per_s,
            report.usage.requests
        );
        assert_eq!(report.environments, n, "{:?}", report.dropped);
        let busy: Vec<String> = report.stages.iter().map(|s| format!("{} {:.2}s", s.stage, s.busy_s)).collect();
        println!("  time in stages (summed over concurrent drafts): {}", busy.join(", "));
        rates.push(report.environments_per_s);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{}",
        serde_json::json!({"machine": format!("{} cores", std::thread::available_parallelism().map_or(0, |c| c.get())),
                           "environments": n, "concurrency": concurrency, "runs_per_s": rates, "median_per_s": median})
    );
}
