//! The journal's DuckDB writer over a long record: does its cost per record stay flat as the database grows?
//!
//! For each DuckDB `checkpoint_threshold` asked for, a fresh journal records what a training service records:
//! 1,000 live `shop` episodes taking turns, each step (a real `get_product` call) recorded as it happens, and
//! each episode replaced by a new one after 20 steps (its verdict and end recorded). It prints the records per
//! second of each slice and the writer thread's CPU per record. A writer whose cost grows with the record falls
//! behind a steady load sooner or later, however fast it starts.
//!
//! Run: `cargo bench --workspace --bench journal`. `AW_BENCH_RECORDS` (default 3,000,000 per threshold),
//! `AW_BENCH_CHECKPOINT_MB` (a comma list, default `16,64,256,1024`), `AW_BENCH_SLICE` (records per slice,
//! default 250,000), `AW_BENCH_VERBOSE=1` (every slice). A second table: for each threshold, a child process fills
//! DuckDB's own log nearly as full as it gets under it and aborts, and the time to open the journal after that crash (DuckDB replays its
//! log, the journal checkpoints) is measured.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_runtime::journal::JournalOptions;
use agentworld_runtime::{Environment, Episode, Journal};
use serde_json::json;

const LIVE: usize = 1_000;
/// The `shop` task every episode opens.
const TASK: Option<&str> = Some("yoga-mat-rating");
const STEPS_PER_EPISODE: usize = 20;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(default)
}

/// CPU time the journal's writer thread has run (`/proc/self/task/*/schedstat`, nanoseconds; 0 off Linux).
fn writer_cpu_ns() -> u64 {
    let mut ns = 0;
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let read = |file: &str| std::fs::read_to_string(task.path().join(file)).unwrap_or_default();
        if read("comm").trim().starts_with("agentworld-jour") {
            ns += read("schedstat").split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    ns
}

/// The child side of the restart measurement: records until DuckDB's own log is nearly as full as it gets under
/// a `mb` MB threshold (everything committed, nothing checkpointed yet), then aborts, as a crash would, with no
/// checkpoint on the way out.
fn crash_with_full_duckdb_log(env: &Arc<Environment>, path: &std::path::Path, mb: u64) -> ! {
    let options = JournalOptions { checkpoint_threshold_mb: mb, ..JournalOptions::default() };
    let journal = Journal::open_with(path, options).expect("journal");
    journal.record_environment(env).expect("record environment");
    let wal = path.with_extension("duckdb.wal");
    let mut ep = Episode::open(env.clone(), TASK).expect("an episode of shop");
    // DuckDB checkpoints when its log passes the threshold at a commit; the log's size just before its first
    // shrink is the most it holds, and the child stops once it is back near that.
    let (mut last, mut peak) = (0u64, 0u64);
    for turn in 0u64..20_000_000 {
        let step = ep.call("get_product", &json!({ "product_id": 1 + turn % 40 })).clone();
        journal.record_step(&ep, &step).expect("record step");
        if ep.steps().len() >= STEPS_PER_EPISODE {
            ep = Episode::open(env.clone(), TASK).expect("an episode of shop");
        }
        if turn % 2_000 == 0 {
            journal.flush().expect("flush");
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if size < last {
                peak = peak.max(last);
            }
            if peak > 0 && size >= peak / 10 * 9 {
                break;
            }
            last = size;
        }
    }
    journal.flush().expect("flush");
    std::process::abort()
}

/// How long opening a journal takes after a crash left DuckDB's log `mb` MB full: DuckDB replays it, then the
/// journal checkpoints. Returns the log's size at the crash and the time to open.
fn reopen_after_crash(mb: u64) -> (u64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.duckdb");
    let status = std::process::Command::new(std::env::current_exe().expect("this bench's path"))
        .env("AW_BENCH_CRASH", format!("{mb}:{}", path.display()))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the crashing child");
    assert!(!status.success(), "the child was to abort");
    let size = std::fs::metadata(path.with_extension("duckdb.wal")).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let journal = Journal::open(&path).expect("reopen after the crash");
    let took = t.elapsed().as_secs_f64();
    drop(journal);
    (size, took)
}

fn main() {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs/shop.toml");
    let env = Arc::new(Environment::load(&specs).expect("bundled shop spec"));
    if let Ok(crash) = std::env::var("AW_BENCH_CRASH") {
        let (mb, path) = crash.split_once(':').expect("MB:PATH");
        crash_with_full_duckdb_log(&env, path.as_ref(), mb.parse().expect("MB"));
    }
    let total = env_num("AW_BENCH_RECORDS", 3_000_000);
    let thresholds: Vec<u64> = std::env::var("AW_BENCH_CHECKPOINT_MB")
        .unwrap_or_else(|_| "16,64,256,1024".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let slice = env_num("AW_BENCH_SLICE", 250_000).max(1);

    println!(
        "| checkpoint threshold | records | records/s, first slice | records/s, last slice | slowest slice | writer CPU per record: mean (slices) | DuckDB file |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &mb in &thresholds {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sustained.duckdb");
        let options = JournalOptions { checkpoint_threshold_mb: mb, writer_nice: 0, ..JournalOptions::default() };
        let journal = Journal::open_with(&path, options).expect("journal");
        journal.record_environment(&env).expect("record environment");
        let open = |journal: &Journal| {
            let ep = Episode::open(env.clone(), TASK).expect("an episode of shop");
            journal.record_opened(&ep, None).expect("record opened");
            ep
        };
        let mut live: Vec<Episode> = (0..LIVE).map(|_| open(&journal)).collect();
        journal.flush().expect("flush");
        let start = journal.written();
        let (mut turn, mut slices) = (0usize, Vec::<(f64, f64)>::new());
        while journal.written() - start < total {
            let (before, cpu, t) = (journal.written(), writer_cpu_ns(), Instant::now());
            while journal.written() + journal.backlog() < before + slice {
                // A bounded backlog, so the writer, not this producer, sets the pace.
                while journal.backlog() > 20_000 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                let ep = &mut live[turn % LIVE];
                let product = 1 + (turn / LIVE + turn) % 40;
                let step = ep.call("get_product", &json!({ "product_id": product })).clone();
                journal.record_step(ep, &step).expect("record step");
                if ep.steps().len() >= STEPS_PER_EPISODE {
                    ep.finish("done").expect("finish");
                    journal.record_verdict(ep).expect("record verdict");
                    *ep = open(&journal);
                }
                turn += 1;
            }
            journal.flush().expect("flush");
            let n = (journal.written() - before) as f64;
            let (rate, us) = (n / t.elapsed().as_secs_f64(), (writer_cpu_ns() - cpu) as f64 / 1000.0 / n);
            slices.push((rate, us));
            if std::env::var_os("AW_BENCH_VERBOSE").is_some() {
                println!("  {mb} MB: slice {}: {rate:.0} records/s, writer {us:.2} us/record", slices.len());
            }
        }
        journal.flush().expect("flush");
        let written = journal.written() - start;
        drop(journal);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let (first, last) = (slices[0].0, slices[slices.len() - 1].0);
        let slowest = slices.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let cpu: Vec<f64> = slices.iter().map(|s| s.1).collect();
        let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
        let (lo, hi) = (cpu.iter().copied().fold(f64::INFINITY, f64::min), cpu.iter().copied().fold(0.0, f64::max));
        println!(
            "| {mb} MB | {written} | {first:.0} | {last:.0} | {slowest:.0} | {mean:.2} us ({lo:.2}-{hi:.2}) | {:.0} MB |",
            size as f64 / 1e6
        );
    }

    println!();
    println!(
        "| checkpoint threshold | DuckDB's log at the crash | journal open after the crash (replay + checkpoint) |"
    );
    println!("|---|---|---|");
    for &mb in &thresholds {
        let (size, took) = reopen_after_crash(mb);
        println!("| {mb} MB | {:.1} MB | {:.2} s |", size as f64 / 1e6, took);
    }
}
