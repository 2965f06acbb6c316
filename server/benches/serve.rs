//! The service under load over loopback (release build, 2 cores shared by server and load generator):
//!
//! * **http-capacity**: 64 clients as fast as answers come, each with its own keep-alive connection and episode,
//!   calling a point read (`get_product`) through `POST /v1/episodes/{id}/calls`;
//! * **http-1000@15k**: 1,000 concurrent clients offering 15,000 calls/s in total (open loop: latency counted
//!   from when each call was due);
//! * **http-mix-capacity**: a point read, a filtered search and a write in turn, as fast as answers come;
//! * **mcp-capacity**, **mcp-256@8k**: the point read through MCP `tools/call` (one session = one episode);
//! * **mcp-10k-sessions@8k**: 10,000 MCP sessions held open at once, 1,000 clients, 8,000 calls/s offered.
//!
//! The server runs in-process on its own tokio runtime with the journal on (a DuckDB file in a temp folder;
//! `AW_BENCH_JOURNAL=0` turns it off, as `agentworld serve` runs without `--journal`); the load generator on
//! another. Each scenario runs `AW_BENCH_REPS` times (default 3) for `AW_BENCH_SECS`
//! seconds (default 5) after `AW_BENCH_WARMUP` seconds (default 3) of the same load, unmeasured (each of the
//! server's episode connections prepares its statements on its first calls; with 10,000 sessions that first pass
//! takes over a second of CPU); the table gives the run of median calls/s (its p50 and p99), then every run's
//! calls/s and p99 (in calls/s order).
//! `AW_BENCH_SERVER_THREADS` and `AW_BENCH_CLIENT_THREADS` set the two runtimes' tokio threads (default: one per
//! core each). `AGENTWORLD_*` variables configure the runtime and `[server]` (but its port) as they do
//! `agentworld serve`: `AGENTWORLD_SERVER__MCP_DIRECT_CALLS=false` sends every MCP call through rmcp's session worker.
//! Run: `cargo bench --workspace --bench serve` (`AW_BENCH_ONLY=mcp-capacity,mcp-256@8k` runs those scenarios).
//!
//! **Side by side with AWM** (`AW_AWM_URL=http://127.0.0.1:18001/mcp`, set by `scripts/bench-vs-awm.sh`, which
//! starts a real AgentWorldModel-1K environment served as AWM serves it): the same MCP load generator drives AWM's
//! server and ours in turn on comparable tools (a point read, a filtered search, a write) with 1 client
//! (latency) and 32 clients (throughput), and prints the ratios. It also imports the same AWM environment
//! (content_platform_1, from the dataset rows in `awm/tests/data`) and serves it through the Python bridge, so
//! AWM's runtime and ours run the *same* program and tools side by side (`AW_AWM_WORKERS`, default 2).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentworld_actors::metrics::{HistogramSnapshot, MetricsSnapshot, Op};
use agentworld_actors::{Runtime, RuntimeConfig, ServerSettings};
use agentworld_runtime::Environment;
use agentworld_server::Server;
use agentworld_server::loadgen::{self, Interface, LoadOptions, LoadReport, PlannedCall};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    let secs = env_num("AW_BENCH_SECS", 5.0);
    let reps = env_num("AW_BENCH_REPS", 3.0) as usize;
    let only = std::env::var("AW_BENCH_ONLY").ok();
    let timeline = env_num("AW_BENCH_TIMELINE", 0.0) != 0.0;
    let dir = tempfile::tempdir().unwrap();
    // Named apart, so a profile (`perf sched`, `perf record`) tells the server's threads from the load's.
    let threads = |var: &str, name: &str| {
        let n = env_num(var, 0.0) as usize;
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.thread_name(name);
        if n > 0 {
            b.worker_threads(n);
        }
        b.enable_all().build().unwrap()
    };
    let server_rt = threads("AW_BENCH_SERVER_THREADS", "bench-server");
    let (addr, runtime, app) = server_rt.block_on(async {
        let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs");
        let envs: Vec<Arc<Environment>> =
            Environment::load_all(&specs).unwrap().into_iter().map(|(_, e)| Arc::new(e.unwrap())).collect();
        // `AGENTWORLD_*` variables apply as they do to `agentworld serve` (e.g. AGENTWORLD_JOURNAL__LINGER_MS).
        let mut config = RuntimeConfig::load(None).expect("AGENTWORLD_* variables");
        if env_num("AW_BENCH_JOURNAL", 1.0) != 0.0 {
            config.journal.path = Some(dir.path().join("journal.duckdb"));
        }
        config.runtime.max_steps = 1_000_000;
        // `[server]` too (AGENTWORLD_SERVER__MCP_DIRECT_CALLS=false for the A/B against rmcp's own routing).
        let config_server = config.server.clone();
        let runtime = Runtime::start(config, envs).await.unwrap();
        let awm = if std::env::var("AW_AWM_URL").is_ok() { Some(awm_host(dir.path())) } else { None };
        let settings = ServerSettings { port: 0, ..config_server };
        let server = Server::bind_with(runtime.clone(), awm, settings).await.unwrap();
        let addr = server.local_addr();
        let app = server.state();
        tokio::spawn(server.run(std::future::pending()));
        (addr, runtime, app)
    });
    let load_rt = threads("AW_BENCH_CLIENT_THREADS", "bench-load");
    let point = PlannedCall::parse(r#"get_product {"product_id": 3}"#).unwrap();
    let mix = vec![
        point.clone(),
        PlannedCall::parse(r#"search_products {"query": "yoga", "max_price": 100}"#).unwrap(),
        PlannedCall::parse(r#"update_profile {"phone": "555-0100"}"#).unwrap(),
    ];
    let base = format!("http://{addr}");
    let mcp = format!("{base}/mcp/shop");
    let rated = |mut o: LoadOptions, rate: f64| {
        o.rate = Some(rate);
        o
    };
    let scenarios: Vec<(&str, LoadOptions)> = vec![
        ("http-capacity", opts(Interface::Http, &base, 64, 64, vec![point.clone()], secs)),
        ("http-1000@15k", rated(opts(Interface::Http, &base, 1000, 1000, vec![point.clone()], secs), 15_000.0)),
        ("http-mix-capacity", opts(Interface::Http, &base, 64, 64, mix, secs)),
        ("mcp-capacity", opts(Interface::Mcp, &mcp, 64, 64, vec![point.clone()], secs)),
        ("mcp-256@8k", rated(opts(Interface::Mcp, &mcp, 256, 256, vec![point.clone()], secs), 8_000.0)),
        ("mcp-10k-sessions@8k", rated(opts(Interface::Mcp, &mcp, 1000, 10_000, vec![point.clone()], secs), 8_000.0)),
    ];
    // Run only when named in `AW_BENCH_ONLY`: how far below its capacity for that many sessions the rated run
    // above is.
    let on_request: Vec<(&str, LoadOptions)> =
        vec![("mcp-10k-sessions-capacity", opts(Interface::Mcp, &mcp, 1000, 10_000, vec![point], secs))];
    if let Ok(awm) = std::env::var("AW_AWM_URL") {
        versus_awm(&load_rt, &awm, &mcp, &format!("{base}/mcp/content_platform_1"), secs);
        if only.as_deref() == Some("vs-awm") {
            return shut_down(load_rt, server_rt, runtime);
        }
    }
    println!(
        "| scenario | clients | sessions | offered calls/s | calls/s (median) | p50 ms | p99 ms | errors | runs (calls/s) | runs (p99 ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let listed = |name: &str| only.as_deref().is_some_and(|list| list.split(',').any(|s| s == name));
    let chosen = scenarios
        .into_iter()
        .filter(|(name, _)| only.is_none() || listed(name))
        .chain(on_request.into_iter().filter(|(name, _)| listed(name)));
    for (name, o) in chosen {
        let mut runs: Vec<LoadReport> = (0..reps.max(1))
            .map(|_| {
                let before = runtime.metrics();
                // The server's request latency over the measured window only (no opens, warm-up or closes).
                let (marks, mut window) = tokio::sync::watch::channel(false);
                let state = app.clone();
                let served = load_rt.spawn(async move {
                    window.wait_for(|open| *open).await.ok()?;
                    let (start, cpu) = (state.counters.http_latency.counts(), cpu_by_thread());
                    window.wait_for(|open| !*open).await.ok()?;
                    Some((state.counters.http_latency.counts().since(&start), cpu_since(&cpu)))
                });
                let r = load_rt.block_on(loadgen::run(LoadOptions { window_marks: Some(marks), ..o.clone() })).unwrap();
                let (served, cpu) = load_rt.block_on(served).ok().flatten().unwrap_or_default();
                if timeline {
                    let p99 = r.latency.p99_us as f64 / 1000.0;
                    println!("{name}: run with p99 {p99:.2} ms: {}", placement(&before, &runtime.metrics()));
                    println!("{name}: calls sent after they were due by: {}", summary(&r.send_lag));
                    println!("{name}: {}", slow_timeline(&r));
                    // The server's side of the window's requests, router to response head: what it leaves of the
                    // client's latency was spent outside handlers (socket buffers, scheduling, the load generator).
                    println!("{name}: server side, the window's requests: {}", summary(&served));
                    println!("{name}: CPU in the window, per call: {}", cpu_per_call(&cpu, r.calls));
                }
                r
            })
            .collect();
        runs.sort_by(|a, b| a.calls_per_s.total_cmp(&b.calls_per_s));
        let m = &runs[runs.len() / 2];
        let errors: u64 = runs.iter().map(|r| r.errors).sum();
        let all: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.calls_per_s)).collect();
        let tails: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.latency.p99_us as f64 / 1000.0)).collect();
        println!(
            "| {name} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {errors} | {} | {} |",
            o.clients,
            o.sessions,
            o.rate.map(|r| format!("{r:.0}")).unwrap_or_else(|| "max".into()),
            m.calls_per_s,
            m.latency.p50_us as f64 / 1000.0,
            m.latency.p99_us as f64 / 1000.0,
            all.join(", "),
            tails.join(", ")
        );
        for r in &runs {
            for e in &r.first_errors {
                eprintln!("{name}: {e}");
            }
        }
        if timeline {
            // The episode actors' work on the calls (from the actor taking the message to its reply), cumulative
            // since the server started, warm-up and episode opens included: it bounds the window's number.
            println!("{name}: episode actors, all calls since start: {}", summary(&runtime.metrics().op(Op::Call)));
        }
    }
    shut_down(load_rt, server_rt, runtime);
}

/// Where the calls between two snapshots ran: on their episode actor's thread, started there and moved to a
/// worker (too slow that time), or on a worker from the start (the tool has no estimate yet or is typically too
/// slow to run inline, or DuckDB lags half its `journal.max_backlog` behind, where recording could block).
fn placement(before: &MetricsSnapshot, after: &MetricsSnapshot) -> String {
    let total = after.op(Op::Call).count - before.op(Op::Call).count;
    let inline = after.calls_inline - before.calls_inline;
    let moved = after.calls_moved - before.calls_moved;
    format!("{total} calls: {} inline, {moved} moved to a worker, {} on a worker", inline - moved, total - inline)
}

/// CPU time each thread of this process has run so far (`/proc/self/task/*/schedstat`, nanoseconds), summed by
/// thread name: the server's and the load's runtimes, the journal's writer, the call workers. Empty off Linux.
fn cpu_by_thread() -> std::collections::BTreeMap<String, u64> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let read = |file: &str| std::fs::read_to_string(task.path().join(file)).unwrap_or_default();
        let ran: u64 = read("schedstat").split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        *by_name.entry(read("comm").trim().to_string()).or_insert(0) += ran;
    }
    by_name
}

/// The CPU time each thread name took since `before`, largest first (threads that ended in between are not
/// counted).
fn cpu_since(before: &std::collections::BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut since: Vec<(String, u64)> = cpu_by_thread()
        .into_iter()
        .map(|(name, ns)| {
            let since = ns.saturating_sub(before.get(&name).copied().unwrap_or(0));
            (name, since)
        })
        .filter(|(_, ns)| *ns > 0)
        .collect();
    since.sort_by_key(|(_, ns)| std::cmp::Reverse(*ns));
    since
}

/// `cpu_since` in microseconds per call of the window.
fn cpu_per_call(cpu: &[(String, u64)], calls: u64) -> String {
    let per = |ns: u64| ns as f64 / 1000.0 / calls.max(1) as f64;
    let total: u64 = cpu.iter().map(|(_, ns)| ns).sum();
    let parts: Vec<String> = cpu.iter().map(|(name, ns)| format!("{name} {:.1} us", per(*ns))).collect();
    format!("{:.1} us in all: {}", per(total), parts.join(", "))
}

/// A latency histogram in one line: how many, p50, p99 and max.
fn summary(h: &HistogramSnapshot) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!("{} timed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", h.count, ms(h.p50_us), ms(h.p99_us), ms(h.max_us))
}

/// An orderly end, as `agentworld serve` drains: episodes ended, actors stopped, the journal flushed before its
/// files go. (Returning with the journal's DuckDB writer and the pool still running crashed the process at exit in
/// about one run in ten: a segfault after the last row was printed.)
fn shut_down(load_rt: tokio::runtime::Runtime, server_rt: tokio::runtime::Runtime, runtime: Runtime) {
    drop(load_rt);
    server_rt.block_on(runtime.shutdown()).expect("the runtime shuts down");
}

/// `AW_BENCH_TIMELINE=1`: the run's calls of at least 10 ms, grouped by the 100 ms of the window they were due in.
fn slow_timeline(r: &LoadReport) -> String {
    // Per slice: how many, the slowest, and the latest send (the load generator's own share of the delay).
    let mut by_slice: std::collections::BTreeMap<i64, (usize, f64, f64)> = std::collections::BTreeMap::new();
    for c in &r.slow_calls {
        let e = by_slice.entry((c.at_ms / 100.0).floor() as i64).or_default();
        e.0 += 1;
        e.1 = e.1.max(c.latency_ms);
        e.2 = e.2.max(c.sent_late_ms);
    }
    let slices: Vec<String> = by_slice
        .iter()
        .map(|(s, (n, max, late))| format!("{:.1}s:{n}(max {max:.0}ms, sent late {late:.0}ms)", *s as f64 / 10.0))
        .collect();
    format!("{} calls >= 10 ms in {} slices of 100 ms: {}", r.slow_calls.len(), by_slice.len(), slices.join(" "))
}

/// (label, AWM call, our call): comparable operations.
const VERSUS: [(&str, &str, &str); 3] = [
    ("point read", r#"get_channel_by_id {"channel_id": 1}"#, r#"get_product {"product_id": 3}"#),
    ("filtered search", r#"search_videos {"query": "a"}"#, r#"search_products {"query": "a"}"#),
    (
        "write",
        r#"set_default_playback_quality {"default_playback_quality": "1080p"}"#,
        r#"update_profile {"phone": "555-0100"}"#,
    ),
];

/// content_platform_1 imported from the dataset rows and hosted by the Python bridge.
fn awm_host(dir: &std::path::Path) -> agentworld_awm::AwmHost {
    use agentworld_awm::import::{ImportOptions, import_dataset};
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../awm/tests/data/awm-1k-sample");
    let out = dir.join("awm");
    let options = ImportOptions {
        out: out.clone(),
        scenarios: vec!["content_platform_1".into()],
        clock: "2026-01-01T00:00:00Z".into(),
        python: None,
    };
    import_dataset(&sample, &options).unwrap();
    let workers = env_num("AW_AWM_WORKERS", 2.0) as usize;
    let pool =
        agentworld_awm::BridgePool::start(agentworld_awm::BridgeConfig { workers, ..Default::default() }).unwrap();
    let env = agentworld_awm::AwmEnvironment::load(&out.join("content_platform_1"), &pool).unwrap();
    agentworld_awm::AwmHost::new(vec![env], pool, None)
}

fn versus_awm(load_rt: &tokio::runtime::Runtime, awm: &str, ours: &str, bridged: &str, secs: f64) {
    println!();
    println!(
        "| operation | clients | AWM calls/s | AWM p50 ms | agentworld calls/s | agentworld p50 ms | throughput x | p50 latency x | same AWM program via bridge: calls/s | p50 ms | x AWM | errors (AWM, ours, bridge) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for clients in [1usize, 32] {
        for (label, awm_call, our_call) in VERSUS {
            let run = |url: &str, call: &str| {
                let mut o = opts(Interface::Mcp, url, clients, clients, vec![PlannedCall::parse(call).unwrap()], secs);
                o.steps_per_session = 150;
                load_rt.block_on(loadgen::run(o)).unwrap()
            };
            let a = run(awm, awm_call);
            let b = run(ours, our_call);
            let c = run(bridged, awm_call);
            for r in [&a, &b, &c] {
                for e in &r.first_errors {
                    eprintln!("{label}: {e}");
                }
            }
            println!(
                "| {label} | {clients} | {:.0} | {:.2} | {:.0} | {:.2} | {:.1} | {:.1} | {:.0} | {:.2} | {:.1} | {}, {}, {} |",
                a.calls_per_s,
                a.latency.p50_us as f64 / 1000.0,
                b.calls_per_s,
                b.latency.p50_us as f64 / 1000.0,
                b.calls_per_s / a.calls_per_s.max(1e-9),
                a.latency.p50_us as f64 / (b.latency.p50_us as f64).max(1.0),
                c.calls_per_s,
                c.latency.p50_us as f64 / 1000.0,
                c.calls_per_s / a.calls_per_s.max(1e-9),
                a.errors,
                b.errors,
                c.errors
            );
        }
    }
}

fn opts(
    interface: Interface,
    url: &str,
    clients: usize,
    sessions: usize,
    calls: Vec<PlannedCall>,
    secs: f64,
) -> LoadOptions {
    LoadOptions {
        interface,
        url: url.to_string(),
        env: Some("shop".into()),
        task: None,
        clients,
        sessions,
        duration: Duration::from_secs_f64(secs),
        steps_per_session: 1_000_000,
        calls,
        timeout: Duration::from_secs(30),
        rate: None,
        warmup: Duration::from_secs_f64(env_num("AW_BENCH_WARMUP", 3.0)),
        window_marks: None,
    }
}
