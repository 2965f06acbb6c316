//! Engine benchmarks on an AWM-sized environment (18 tables, ~130 seed rows, FKs, indexes):
//! fork (deserialize vs backup API), tool calls (point read, filtered join, write with changeset capture),
//! verification, tool calls per second on 2 threads with the DuckDB record on, memory per open episode.
//!
//! Run: `cargo bench -p agentworld-runtime --bench engine` (prints a Markdown table for BENCHMARKS.md).
//! `AW_BENCH_QUICK=1` shortens every loop (a smoke run, not for recording numbers).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentworld_runtime::spec::{SourceText, parse_source};
use agentworld_runtime::{Environment, Episode, Journal};
use serde_json::json;

const TABLES: usize = 18;
const ROWS_PER_TABLE: usize = 7;

/// An AWM-shaped spec: a chain of 18 tables linked by foreign keys, 7 rows each (126 rows).
fn awm_sized_spec() -> String {
    let mut schema = String::new();
    let mut seed = String::new();
    for t in 1..=TABLES {
        let parent = if t == 1 { String::new() } else { format!(" REFERENCES t{:02}(id)", t - 1) };
        schema.push_str(&format!(
            "CREATE TABLE t{t:02} (id INTEGER PRIMARY KEY, parent_id INTEGER{parent}, name TEXT NOT NULL, \
             status TEXT NOT NULL CHECK (status IN ('active','paused','closed')), amount REAL NOT NULL, \
             note TEXT, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
             CREATE INDEX t{t:02}_parent ON t{t:02}(parent_id);\n"
        ));
        for r in 1..=ROWS_PER_TABLE {
            let parent = if t == 1 { "NULL".to_string() } else { (1 + (r * 3) % ROWS_PER_TABLE).to_string() };
            let status = ["active", "paused", "closed"][r % 3];
            seed.push_str(&format!(
                "INSERT INTO t{t:02} (id, parent_id, name, status, amount, created_at) VALUES \
                 ({r}, {parent}, 'item {t}-{r}', '{status}', {}.5, datetime('now', '-{r} days'));\n",
                r * 10 + t
            ));
        }
    }
    format!(
        r#"
[env]
name = "awm-sized"
description = "Benchmark environment shaped like an AgentWorldModel-1K environment."
clock = "2026-01-15T12:00:00Z"

[schema]
sql = """
{schema}"""

[seed]
sql = """
{seed}"""

[[tools]]
name = "get_item"
description = "Point read by id."
result = "row"
params.id = {{ type = "integer", required = true }}
steps = [ {{ sql = "SELECT id, parent_id, name, status, amount, created_at FROM t05 WHERE id = $id", expect = "one", error = "no item {{id}}" }} ]

[[tools]]
name = "search_join"
description = "Three-table join with a filter and grouping."
params.min_amount = {{ type = "number", default = 0 }}
params.status = {{ type = "string", enum = ["active", "paused", "closed"] }}
sql = """
SELECT a.status, count(*) AS n, sum(c.amount) AS total FROM t05 a
JOIN t06 b ON b.parent_id = a.id JOIN t07 c ON c.parent_id = b.id
WHERE a.amount >= $min_amount AND ($status IS NULL OR c.status = $status)
GROUP BY a.status ORDER BY a.status
"""

[[tools]]
name = "update_item"
description = "Guarded update (write with changeset capture)."
writes = true
result = "row"
params.id = {{ type = "integer", required = true }}
params.delta = {{ type = "number", required = true }}
steps = [
  {{ sql = "SELECT status, amount FROM t08 WHERE id = $id", expect = "one", error = "no item {{id}}" }},
  {{ guard = "$amount + $delta >= 0", error = "amount would go negative" }},
  {{ sql = "UPDATE t08 SET amount = amount + $delta, note = 'updated' WHERE id = $id RETURNING id, amount, note" }},
]

[[tools]]
name = "create_item"
description = "Insert a row with a foreign key."
writes = true
result = "row"
params.parent_id = {{ type = "integer", required = true }}
params.name = {{ type = "string", required = true, max_length = 100 }}
sql = "INSERT INTO t09 (parent_id, name, status, amount) VALUES ($parent_id, $name, 'active', 0) RETURNING id, created_at"

[[tasks]]
id = "update-and-create"
instruction = "Add 5 to item 3 of table 8 and create 'widget' under item 2 of table 8; tell me the new amount."
verify = [
  "SELECT amount = (SELECT amount FROM initial.t08 WHERE id = 3) + 5 FROM final.t08 WHERE id = 3",
  "SELECT count(*) = 1 FROM final.t09 f JOIN final.t08 p ON p.id = f.parent_id WHERE f.name = 'widget' AND p.id = 2 AND f.id NOT IN (SELECT id FROM initial.t09)",
  "SELECT answer_has_number((SELECT amount FROM final.t08 WHERE id = 3))",
]
unchanged = ["t05", "t06", "t07"]
solution = [
  {{ tool = "update_item", args = {{ id = 3, delta = 5 }} }},
  {{ tool = "create_item", args = {{ parent_id = 2, name = "widget" }} }},
]
answer = "The amount is now 43.5."
"#
    )
}

struct Stats {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.samples.clone();
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
    fn row(&self) -> String {
        format!(
            "| {} | {} | {:.1} | {:.1} |",
            self.name,
            self.samples.len(),
            self.pct(0.5).as_secs_f64() * 1e6,
            self.pct(0.99).as_secs_f64() * 1e6
        )
    }
}

fn time<T>(name: &'static str, n: usize, mut f: impl FnMut() -> T) -> Stats {
    for _ in 0..n.min(200) {
        black_box(f());
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        black_box(f());
        samples.push(t.elapsed());
    }
    Stats { name, samples }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Runs whole episodes on 2 threads for `secs` seconds; returns a one-line summary.
fn throughput(env: &Arc<Environment>, journal: Option<&Journal>, secs: u64) -> String {
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let episodes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..2u64)
        .map(|w| {
            let (env, journal) = (env.clone(), journal.cloned());
            let (stop, calls, episodes) = (stop.clone(), calls.clone(), episodes.clone());
            std::thread::spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut ep = Episode::open(env.clone(), Some("update-and-create")).unwrap();
                    for c in 0..10u64 {
                        k += 1;
                        match c % 5 {
                            0..=2 => ep.call("get_item", &json!({"id": 1 + (k + w) % 7})),
                            3 => ep.call("search_join", &json!({"min_amount": 5})),
                            _ => ep.call("update_item", &json!({"id": 1 + k % 7, "delta": 1})),
                        };
                    }
                    ep.finish("43.5").unwrap();
                    if let Some(j) = &journal {
                        j.record_episode(&ep, None).unwrap();
                    }
                    calls.fetch_add(10, Ordering::Relaxed);
                    episodes.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let run = started.elapsed();
    let lag = journal.map(|j| {
        let t = Instant::now();
        j.flush().unwrap();
        format!(
            "; {} records written, journal caught up {:.0} ms after the load stopped",
            j.written(),
            t.elapsed().as_secs_f64() * 1e3
        )
    });
    let total = calls.load(Ordering::Relaxed);
    format!(
        "{:.0} tool calls/s ({} calls, {} episodes with verification in {:.1} s{})",
        total as f64 / run.as_secs_f64(),
        total,
        episodes.load(Ordering::Relaxed),
        run.as_secs_f64(),
        lag.unwrap_or_default()
    )
}

fn main() {
    let quick = std::env::var_os("AW_BENCH_QUICK").is_some();
    let n = if quick { 2_000 } else { 20_000 };
    let source = SourceText { path: "awm-sized.toml".into(), text: awm_sized_spec() };
    let spec = parse_source(&source).expect("bench spec parses");
    let env = Arc::new(Environment::compile(spec, source).unwrap_or_else(|e| panic!("{e}")));
    let rows: usize = env.tables().iter().map(|t| t.rows).sum();
    println!(
        "environment: {} tables, {} seed rows, template image {} KiB",
        env.tables().len(),
        rows,
        env.template().image().len() / 1024
    );
    let mut results = Vec::new();

    // Fork: deserialize a template image (what the engine uses) vs the backup API from an open template.
    results
        .push(time("fork (Template::fork: backup API from a per-thread source)", n, || env.template().fork().unwrap()));
    results.push(time("fork (deserialize the image, for comparison)", n, || {
        env.template().fork_by_deserialize().unwrap()
    }));
    results.push(time("open + close an episode (pooled: BEGIN .. ROLLBACK)", n, || {
        Episode::open(env.clone(), Some("update-and-create")).unwrap()
    }));

    // Tool calls on one warm episode (statements cached after the first call, as in a real episode).
    let mut ep = Episode::open(env.clone(), Some("update-and-create")).unwrap();
    let args = json!({"id": 3});
    results.push(time("tool call: point read", n, || ep.call("get_item", &args).is_ok()));
    let args = json!({"min_amount": 10, "status": "active"});
    results.push(time("tool call: 3-table join + filter + group", n, || ep.call("search_join", &args).is_ok()));
    let args = json!({"id": 4, "delta": 0.5});
    results.push(time("tool call: guarded write + changeset", n, || {
        let s = ep.call("update_item", &args);
        assert!(s.changeset.is_some());
    }));
    let mut i = 0;
    results.push(time("tool call: insert + changeset", n, || {
        i += 1;
        ep.call("create_item", &json!({"parent_id": 1 + i % 7, "name": "bench"})).is_ok()
    }));

    // Verification of a finished episode (3 checks + 3 unchanged tables).
    let mut done = Episode::open(env.clone(), Some("update-and-create")).unwrap();
    done.call("update_item", &json!({"id": 3, "delta": 5}));
    done.call("create_item", &json!({"parent_id": 2, "name": "widget"}));
    let v = done.finish("The amount is now 43.5.").unwrap();
    assert_eq!(v.reward, 1.0, "{v:?}");
    results.push(time("verification (3 checks + 3 unchanged tables)", n / 2, || done.verify().unwrap()));

    println!("\n| operation | samples | p50 (us) | p99 (us) |\n|---|---|---|---|");
    for r in &results {
        println!("{}", r.row());
    }

    // Throughput: 2 threads, each running whole episodes (fork, 10 calls, verify), without and with the record.
    let secs = if quick { 2 } else { 10 };
    let bare = throughput(&env, None, secs);
    println!("\nthroughput, 2 threads, recording off: {bare}");
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("bench.duckdb")).unwrap();
    journal.record_environment(&env).unwrap();
    let recorded = throughput(&env, Some(&journal), secs);
    println!("throughput, 2 threads, recording on:  {recorded}");
    drop(journal);

    // The journal alone: how many finished episodes per second the writer appends.
    let dir2 = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir2.path().join("writer.duckdb")).unwrap();
    journal.record_environment(&env).unwrap();
    journal.flush().unwrap();
    let mut sample = Episode::open(env.clone(), Some("update-and-create")).unwrap();
    for c in 0..10u64 {
        match c % 5 {
            0..=2 => sample.call("get_item", &json!({"id": 1 + c % 7})),
            3 => sample.call("search_join", &json!({"min_amount": 5})),
            _ => sample.call("update_item", &json!({"id": 1 + c % 7, "delta": 1})),
        };
    }
    sample.finish("43.5").unwrap();
    let count = if quick { 2_000 } else { 20_000 };
    let before = journal.written();
    let started = Instant::now();
    for _ in 0..count {
        journal.record_episode(&sample, None).unwrap();
    }
    journal.flush().unwrap();
    let took = started.elapsed();
    println!(
        "journal alone: {:.0} episodes/s = {:.0} records/s ({} records of 10-call episodes in {:.2} s)",
        count as f64 / took.as_secs_f64(),
        (journal.written() - before) as f64 / took.as_secs_f64(),
        journal.written() - before,
        took.as_secs_f64()
    );
    drop(journal);

    // Memory: 10,000 open episodes, each after one write.
    let count = if quick { 1_000 } else { 10_000 };
    let before = rss_bytes();
    let mut open = Vec::with_capacity(count);
    for i in 0..count {
        let mut ep = Episode::open(env.clone(), Some("update-and-create")).unwrap();
        ep.call("update_item", &json!({"id": 1 + i % 7, "delta": 1}));
        open.push(ep);
    }
    let after = rss_bytes();
    println!(
        "memory: {} open episodes use {:.2} GiB ({:.0} KiB per episode)",
        count,
        (after - before) as f64 / (1u64 << 30) as f64,
        (after - before) as f64 / count as f64 / 1024.0
    );
    black_box(open);
}
