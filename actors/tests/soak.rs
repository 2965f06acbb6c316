//! Soak: sustained load in rounds (60 s by default; `AGENTWORLD_SOAK_SECS` to change) must show flat memory, no
//! leaked actors and no leaked database connections.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_actors::load::{LoadSpec, run_load};
use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_runtime::Environment;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_load_keeps_memory_flat_and_leaks_nothing() {
    let secs: u64 = std::env::var("AGENTWORLD_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let envspecs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs");
    let envs: Vec<Arc<Environment>> =
        Environment::load_all(&envspecs).unwrap().into_iter().map(|(_, e)| Arc::new(e.unwrap())).collect();
    let mut config = RuntimeConfig::default();
    config.journal.path = Some(dir.path().join("soak.duckdb"));
    // DuckDB's buffer pool grows with the record up to its limit; keep it small so the test sees our memory. At
    // 128 MiB it was still filling in the last third of a 60 s run (RSS +25 MiB a round, the same without this
    // test's code changing; without the journal RSS levelled off by round 9). At 32 MiB, 150 s runs level off at
    // ~520 MiB after ~100 s, and the rise in the last third of 60 s is ~10% of the middle third's.
    config.journal.memory_limit_mb = 32;
    config.runtime.ended_cache = 1000;
    let rt = Runtime::start(config, envs.clone()).await.unwrap();
    let rounds = (secs / 5).max(4);
    let spec = LoadSpec {
        episodes: 500,
        clients: 32,
        duration: Duration::from_secs(secs) / rounds as u32,
        steps_per_episode: 8,
        max_call_us: None,
        scripts: None,
    };
    let started = Instant::now();
    let mut rss = Vec::new();
    let mut idle = Vec::new();
    let mut calls = 0;
    for _ in 0..rounds {
        let report = run_load(&rt, &spec, None).await.unwrap();
        assert_eq!((report.errors, report.infra_error), (0, 0), "{report:?}");
        calls += report.calls;
        // Every episode of the round is closed: nothing live, no actor left behind.
        assert_eq!(rt.live_episodes(), 0);
        assert_eq!(rt.metrics().live_episodes, 0);
        rss.push(rss_bytes());
        // Closing releases connections on the workers: give them a moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
        idle.push(envs.iter().map(|e| e.pool().idle()).sum::<usize>());
    }
    // Connections go back to their pools and are reused: after the pools warm up, no round needs more.
    assert!(idle[1..].iter().all(|n| *n <= idle[1] + 64), "pooled connections per round: {idle:?}");
    // Memory levels off: every pooled connection keeps its prepared statements and page cache, so RSS climbs
    // while the connections meet more of their environment's tools, then flattens. A leak grows linearly
    // instead: the last third of the rounds may sit at most 15% (+32 MiB of allocator noise) above the middle
    // third. Medians, not single rounds: a round can end just before the journal's group commit (up to a second of
    // records still in memory), which moves one sample by tens of MiB without any growth.
    let mb: Vec<u64> = rss.iter().map(|r| r >> 20).collect();
    let third = rss.len() / 3;
    let median = |xs: &[u64]| {
        let mut v = xs.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (mid, last) = (median(&rss[third..2 * third]), median(&rss[2 * third..]));
    assert!(last <= mid + mid * 15 / 100 + (32 << 20), "RSS per round (MiB) keeps growing: {mb:?}");
    rt.shutdown().await.unwrap();
    eprintln!(
        "soak: {calls} calls in {:.0} s, RSS per round (MiB): {:?}, pooled connections: {idle:?}",
        started.elapsed().as_secs_f64(),
        rss.iter().map(|r| r >> 20).collect::<Vec<_>>()
    );
    assert!(calls > 0);
}
