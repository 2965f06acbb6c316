//! The AWM-1K bridge's hot paths, on the dataset's real rows (content_platform_1):
//! - worker start and app load (once per worker: the cold cost AWM pays per instance);
//! - episode reset with a warm pool (open + close: a copy of the state in a worker);
//! - tool calls: the round trip from Rust, the time inside the worker (validation, ASGI dispatch and the app's
//!   handler) and the bridge's own overhead (the difference);
//! - memory: a worker's resident set, and what each hosted app adds to it.
//!
//! `cargo bench --workspace --bench bridge` (knobs: AW_BENCH_CALLS, AW_BENCH_RESETS). Needs the Python
//! environment from `scripts/python-deps.sh`. Prints a table and, last, one JSON line.

use std::time::{Duration, Instant};

use agentworld_awm::bridge::BridgeConfig;
use agentworld_awm::import::{ImportOptions, import_dataset};
use agentworld_awm::{AwmEnvironment, AwmEpisode, BridgePool, StepStatus};
use serde_json::json;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn quantiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((p * v.len() as f64) as usize).min(v.len() - 1)];
    (q(0.5), q(0.99))
}

fn main() {
    let calls = knob("AW_BENCH_CALLS", 5000);
    let resets = knob("AW_BENCH_RESETS", 2000);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/awm-1k-sample");
    let out = tempfile::tempdir().expect("tempdir");
    let options = ImportOptions {
        out: out.path().into(),
        scenarios: vec!["content_platform_1".into(), "code_hosting_2".into()],
        clock: "2026-01-01T00:00:00Z".into(),
        python: None,
    };
    import_dataset(&sample, &options).expect("import");

    let started = Instant::now();
    let pool = BridgePool::start(BridgeConfig { workers: 1, ..BridgeConfig::default() }).expect("bridge");
    let worker_start_ms = started.elapsed().as_secs_f64() * 1e3;
    let worker = pool.workers()[0].clone();
    let stats =
        |w: &agentworld_awm::bridge::Worker| w.request("stats", json!({}), Duration::from_secs(5)).expect("stats");
    let bare_rss_kb = stats(&worker)["rss_kb"].as_u64().unwrap_or(0);
    let started = Instant::now();
    let env = AwmEnvironment::load(&out.path().join("content_platform_1"), &pool).expect("load");
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let env2 = AwmEnvironment::load(&out.path().join("code_hosting_2"), &pool).expect("load");
    let after = stats(&worker);
    let app_rss: Vec<u64> = [env.load_report(), env2.load_report()].iter().flatten().map(|r| r.rss_kb).collect();

    // Reset: open + close, warm pool.
    for _ in 0..50 {
        AwmEpisode::open(env.clone(), None).expect("open").close().expect("close");
    }
    let mut open_us = Vec::with_capacity(resets);
    for _ in 0..resets {
        let t = Instant::now();
        let ep = AwmEpisode::open(env.clone(), None).expect("open");
        open_us.push(t.elapsed().as_secs_f64() * 1e6);
        ep.close().expect("close");
    }

    // Calls: a read with a small result, and a search.
    let mut ep = AwmEpisode::open(env.clone(), Some("task-0")).expect("open");
    let mut rows = Vec::new();
    for (tool, args) in [("get_channel_by_id", json!({"channel_id": 1})), ("search_videos", json!({"query": "a"}))] {
        for _ in 0..100 {
            ep.call(tool, &args);
        }
        let (mut total, mut inside, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
        let t = Instant::now();
        for _ in 0..calls {
            let step = ep.call(tool, &args);
            assert_eq!(step.status, StepStatus::Ok, "{}", step.observation);
            total.push(step.duration_us as f64);
            inside.push(step.handler_us as f64);
            overhead.push(step.duration_us.saturating_sub(step.handler_us) as f64);
        }
        let rate = calls as f64 / t.elapsed().as_secs_f64();
        rows.push((tool, quantiles(total), quantiles(inside), quantiles(overhead), rate));
    }
    ep.close().expect("close");
    let open_q = quantiles(open_us);
    let mut report = json!({
        "machine": format!("{} cores", std::thread::available_parallelism().map_or(0, |n| n.get())),
        "worker_start_ms": worker_start_ms,
        "app_load_ms": load_ms,
        "worker_rss_bare_mb": bare_rss_kb as f64 / 1024.0,
        "worker_rss_two_apps_mb": after["rss_kb"].as_u64().unwrap_or(0) as f64 / 1024.0,
        "app_rss_mb": app_rss.iter().map(|k| *k as f64 / 1024.0).collect::<Vec<_>>(),
        "reset_p50_us": open_q.0,
        "reset_p99_us": open_q.1,
        "calls": {},
    });
    println!("AWM bridge on content_platform_1 (1 worker, {} resets, {} calls per tool)", resets, calls);
    println!(
        "  worker start {:.0} ms; app load {:.0} ms; worker RSS bare {:.1} MB, with 2 apps {:.1} MB; per app {:?} MB",
        worker_start_ms,
        load_ms,
        report["worker_rss_bare_mb"].as_f64().unwrap_or(0.0),
        report["worker_rss_two_apps_mb"].as_f64().unwrap_or(0.0),
        report["app_rss_mb"]
    );
    println!("  reset (open+copy of the state, warm pool): p50 {:.0} us, p99 {:.0} us", open_q.0, open_q.1);
    println!(
        "  {:<20} {:>12} {:>12} {:>14} {:>14} {:>16} {:>16} {:>9}",
        "tool", "total p50", "total p99", "in worker p50", "in worker p99", "bridge p50", "bridge p99", "calls/s"
    );
    for (tool, total, inside, overhead, rate) in &rows {
        println!(
            "  {:<20} {:>9.0} us {:>9.0} us {:>11.0} us {:>11.0} us {:>13.0} us {:>13.0} us {:>9.0}",
            tool, total.0, total.1, inside.0, inside.1, overhead.0, overhead.1, rate
        );
        report["calls"][*tool] = json!({"total_p50_us": total.0, "total_p99_us": total.1, "worker_p50_us": inside.0,
            "worker_p99_us": inside.1, "bridge_p50_us": overhead.0, "bridge_p99_us": overhead.1, "calls_per_s": rate});
    }
    println!("{report}");
}
