//! The actor runtime under load, against the bare engine doing the same work (release build, 2 cores):
//!
//! * **bare engine**: one OS thread per core, each owning its share of the episodes, calling
//!   `Episode::call` and journaling every step through the same write-ahead-logged journal (no actors, no
//!   async, no deadlines); the floor the actor layer is measured against.
//! * **actor layer**: `Runtime` with the journal on, 10,000 episodes held open, 64 concurrent clients, every
//!   call through its `EpisodeActor` (which runs a call known to take microseconds itself and hands the rest to
//!   the worker pool; `AGENTWORLD_RUNTIME__INLINE_CALL_US=0` sends every call to the pool).
//!
//! Both run the tasks' reference solutions round-robin and finish + replace an episode every 20 calls.
//! Run: `cargo bench -p agentworld-actors --bench runtime` (`AW_BENCH_SECS` sets the seconds per scenario).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_actors::load::{LoadSpec, Script, cheapest_scripts, process_cpu, run_load, scripts};
use agentworld_actors::metrics::Histogram;
use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_runtime::journal::Record;
use agentworld_runtime::{Environment, Episode, Journal};

/// The allocator the `agentworld` binary uses, so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn envs() -> Vec<Arc<Environment>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs");
    Environment::load_all(&dir).unwrap().into_iter().map(|(_, e)| Arc::new(e.unwrap())).collect()
}

/// The bench's `AW_BENCH_*` setting `name`, if set and parseable.
fn knob<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Calls before an episode is finished and replaced (`AW_BENCH_STEPS`, default 20).
fn steps_per_episode() -> usize {
    knob("AW_BENCH_STEPS").unwrap_or(20)
}

fn bare_engine(
    scripts: &[Script],
    episodes: usize,
    threads: usize,
    secs: f64,
    journal: &Journal,
) -> (u64, f64, Histogram) {
    let scripts: Arc<Vec<Script>> = Arc::new(scripts.to_vec());
    let latency = Arc::new(Histogram::default());
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (scripts, journal, latency) = (scripts.clone(), journal.clone(), latency.clone());
            std::thread::spawn(move || {
                let mut eps: Vec<(usize, Episode, usize)> = (0..episodes / threads)
                    .map(|i| {
                        let k = (t + i * threads) % scripts.len();
                        let ep = Episode::open(scripts[k].env.clone(), Some(&scripts[k].task)).unwrap();
                        journal.record(vec![Record::opened(&ep, None)]).unwrap();
                        (k, ep, 0)
                    })
                    .collect();
                let mut calls = 0u64;
                let mut i = 0;
                while Instant::now() < deadline {
                    let slot = i % eps.len();
                    i += 1;
                    let (k, ep, done) = &mut eps[slot];
                    if *done >= steps_per_episode() {
                        let v = ep.finish("done").unwrap().clone();
                        journal
                            .record(vec![
                                Record::verdict(ep.id(), &v, "done"),
                                Record::ended(ep.id(), "finished", None, *done),
                            ])
                            .unwrap();
                        *ep = Episode::open(scripts[*k].env.clone(), Some(&scripts[*k].task)).unwrap();
                        journal.record(vec![Record::opened(ep, None)]).unwrap();
                        *done = 0;
                        continue;
                    }
                    let (tool, args) = &scripts[*k].calls[*done % scripts[*k].calls.len()];
                    *done += 1;
                    let t0 = Instant::now();
                    let (id, env) = (ep.id(), ep.env().clone());
                    let step = ep.call(tool, args);
                    if std::env::var_os("AW_BENCH_NO_JOURNAL").is_none() {
                        journal.record(vec![Record::step(id, &env, step).unwrap()]).unwrap();
                    }
                    latency.record(t0.elapsed());
                    calls += 1;
                }
                for (_, ep, n) in eps {
                    journal.record(vec![Record::ended(ep.id(), "closed", None, n)]).unwrap();
                }
                calls
            })
        })
        .collect();
    let calls: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = started.elapsed().as_secs_f64();
    let latency = Arc::try_unwrap(latency).unwrap_or_default();
    (calls, elapsed, latency)
}

/// `AW_BENCH_PROFILE=1`: mean cost of every scripted call, slowest first (where the engine time goes).
fn profile(envs: &[Arc<Environment>]) {
    let mut rows = Vec::new();
    for Script { env, task, calls } in scripts(envs, None) {
        for (tool, args) in calls.iter() {
            let mut total = Duration::ZERO;
            let mut bytes = 0;
            for _ in 0..200 {
                let mut ep = Episode::open(env.clone(), Some(&task)).unwrap();
                let t = Instant::now();
                let step = ep.call(tool, args);
                total += t.elapsed();
                bytes = step.result.as_ref().map(|v| v.as_str().len()).unwrap_or(0);
            }
            rows.push((total.as_secs_f64() * 1e6 / 200.0, env.name().to_string(), tool.clone(), bytes));
        }
    }
    // The journal alone: step records from the scripts, one per `record` call, then a flush.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("p.duckdb")).unwrap();
    let mut recs = Vec::new();
    for Script { env, task, calls } in scripts(envs, None) {
        let mut ep = Episode::open(env.clone(), Some(&task)).unwrap();
        for (tool, args) in calls.iter() {
            let (id, e) = (ep.id(), ep.env().clone());
            recs.push(Record::step(id, &e, ep.call(tool, args)).unwrap());
        }
    }
    let n = 100_000;
    let t = Instant::now();
    for i in 0..n {
        journal.record(vec![recs[i % recs.len()].clone()]).unwrap();
    }
    let queued = t.elapsed();
    journal.flush().unwrap();
    println!(
        "journal: {n} step records queued in {:.0} ms ({:.1} us each), committed to DuckDB after {:.0} ms ({:.0} records/s)",
        queued.as_secs_f64() * 1e3,
        queued.as_secs_f64() * 1e6 / n as f64,
        t.elapsed().as_secs_f64() * 1e3,
        n as f64 / t.elapsed().as_secs_f64()
    );
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, env, tool, bytes) in rows.iter().take(25).chain(rows.iter().rev().take(15)) {
        println!("{us:8.1} us  {env}.{tool}  ({bytes} bytes of result)");
    }
    let mean = rows.iter().map(|r| r.0).sum::<f64>() / rows.len() as f64;
    println!("mean over {} scripted calls: {mean:.1} us", rows.len());
}

fn main() {
    if std::env::var_os("AW_BENCH_PROFILE").is_some() {
        profile(&envs());
        return;
    }
    let secs: f64 = knob("AW_BENCH_SECS").unwrap_or(10.0);
    let episodes: usize = knob("AW_BENCH_EPISODES").unwrap_or(10_000);
    let clients: usize = knob("AW_BENCH_CLIENTS").unwrap_or(64);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let cores: usize = knob("AW_BENCH_THREADS").unwrap_or(cores);
    let envs = envs();
    let journal_on = std::env::var_os("AW_BENCH_NO_JOURNAL").is_none();
    println!(
        "runtime bench: {episodes} episodes, {secs} s per scenario after a warm-up, {cores} threads, journal {}",
        if journal_on { "on (write-ahead log + DuckDB)" } else { "off" }
    );

    let dir = tempfile::tempdir().unwrap();
    // `AGENTWORLD_*` variables apply as they do to a service (e.g. AGENTWORLD_JOURNAL__WRITER_NICE=0), to both
    // the bare engine's journal and the runtime's.
    let base = RuntimeConfig::load(None).expect("AGENTWORLD_* variables");
    let mut options = base.journal.options();
    if let Some(mb) = knob("AW_BENCH_DUCK_MB") {
        options.memory_limit_mb = mb;
    }
    let journal = Journal::open_with(&dir.path().join("bare.duckdb"), options.clone()).unwrap();
    for e in &envs {
        journal.record_environment(e).unwrap();
    }
    // Warm-up (not counted): every pooled connection prepares its tools' statements once; a long-lived service
    // pays that once per connection, a 10 s measurement from cold would mostly measure it.
    let warmup: f64 = knob("AW_BENCH_WARMUP").unwrap_or(10.0);
    // `AW_BENCH_CHEAPEST=N` keeps the N cheapest scripted calls (the same calls at any hour);
    // `AW_BENCH_MAX_CALL_US` the calls under a time limit (how many moves with the machine's speed). The bare
    // engine and the actor layer drive the same selection.
    let max_call_us: Option<f64> = knob("AW_BENCH_MAX_CALL_US");
    let cheapest: Option<usize> = knob("AW_BENCH_CHEAPEST");
    let scripted = match cheapest {
        Some(n) => cheapest_scripts(&envs, n),
        None => scripts(&envs, max_call_us),
    };
    let n: usize = scripted.iter().map(|s| s.calls.len()).sum();
    match (cheapest, max_call_us) {
        (Some(k), _) => println!("workload: the {k} cheapest scripted calls ({n} calls in {} scripts)", scripted.len()),
        (None, Some(us)) => {
            println!(
                "workload: only scripted calls under {us} us in the engine ({n} calls in {} scripts)",
                scripted.len()
            )
        }
        (None, None) => {}
    }
    // `AW_BENCH_SKIP_BARE=1` measures the actor layer alone (A/B runs of a change to it).
    let bare = if std::env::var_os("AW_BENCH_SKIP_BARE").is_none() {
        bare_engine(&scripted, episodes, cores, warmup, &journal);
        let cpu = process_cpu();
        let (calls, elapsed, latency) = bare_engine(&scripted, episodes, cores, secs, &journal);
        journal.flush().unwrap();
        let cpu = process_cpu().saturating_sub(cpu);
        let bare = calls as f64 / elapsed;
        let l = latency.snapshot();
        println!(
            "bare engine ({cores} threads): {calls} calls in {elapsed:.1} s = {bare:.0} calls/s; per call p50 {} us p99 {} us; CPU {:.1} us per call",
            l.p50_us,
            l.p99_us,
            cpu.as_secs_f64() * 1e6 / calls.max(1) as f64
        );
        bare
    } else {
        f64::NAN
    };
    drop(journal);

    let tokio_threads = knob("AW_BENCH_TOKIO_THREADS").unwrap_or(cores);
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(tokio_threads).enable_all().build().unwrap();
    let report = tokio.block_on(async {
        let mut config = base.clone();
        if journal_on {
            config.journal.path = Some(dir.path().join("actors.duckdb"));
            config.journal.memory_limit_mb = options.memory_limit_mb;
        }
        config.runtime.max_episodes = episodes * 2;
        if let Some(ms) = knob("AW_BENCH_LINGER_MS") {
            config.journal.linger_ms = ms;
        }
        if let Some(w) = knob("AW_BENCH_WORKERS") {
            config.runtime.workers = w;
        }
        let rt = Runtime::start(config, envs.clone()).await.unwrap();
        let mut spec = LoadSpec {
            episodes,
            clients,
            duration: Duration::from_secs_f64(warmup),
            steps_per_episode: steps_per_episode(),
            max_call_us,
            scripts: Some(scripted.clone()),
        };
        run_load(&rt, &spec, None).await.unwrap();
        spec.duration = Duration::from_secs_f64(secs);
        let report = run_load(&rt, &spec, None).await.unwrap();
        let m = rt.metrics();
        rt.shutdown().await.unwrap();
        (report, m)
    });
    let (r, m) = report;
    let l = r.latency;
    println!(
        "actor layer ({clients} clients, {} episodes open): {} calls in {:.1} s = {:.0} calls/s; latency p50 {} us p90 {} us p99 {} us max {} us; refused {} infra_error {}",
        r.episodes_open,
        r.calls,
        r.seconds,
        r.calls_per_s,
        l.p50_us,
        l.p90_us,
        l.p99_us,
        l.max_us,
        r.errors,
        r.infra_error
    );
    println!("  CPU {:.1} us per call (the whole process, all threads)", r.cpu_us_per_call);
    let open = m.op(agentworld_actors::Op::Open);
    println!("  opens p50 {} us p99 {} us; finishes {}", open.p50_us, open.p99_us, r.finished);
    // (warm-up included: the metrics count from the runtime's start)
    println!(
        "  calls run on their actor's thread: {} of {} ({} of them moved on to a worker)",
        m.calls_inline,
        m.op(agentworld_actors::Op::Call).count,
        m.calls_moved
    );
    println!(
        "actor-layer overhead vs bare engine: {:.1}% (throughput ratio {:.2})",
        (1.0 - r.calls_per_s / bare) * 100.0,
        r.calls_per_s / bare
    );
}
