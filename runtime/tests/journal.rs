//! The DuckDB record: what an episode writes there, that changesets read back from it rebuild the state, and
//! that the report answers cross-episode questions.

use std::path::PathBuf;
use std::sync::Arc;

use agentworld_runtime::changes::{replay, state_digest};
use agentworld_runtime::{Environment, Episode, Journal, report};
use serde_json::json;

fn env() -> Arc<Environment> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bookstore.toml");
    Arc::new(Environment::load(&path).unwrap())
}

#[test]
fn episodes_steps_changes_and_verdicts_are_recorded_and_replayable() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("record.duckdb");
    let journal = Journal::open(&path).unwrap();
    journal.record_environment(&env).unwrap();

    let mut good = Episode::open(env.clone(), Some("order-dune")).unwrap();
    journal.record_opened(&good, Some(7)).unwrap();
    for (tool, args) in [
        ("search_books", json!({"query": "Dune"})),
        ("order_book", json!({"book_id": 1, "quantity": 2})),
        ("order_book", json!({"book_id": 2, "quantity": 1})),
    ] {
        let step = good.call(tool, &args).clone();
        journal.record_step(&good, &step).unwrap();
    }
    good.finish("Ordered.").unwrap();
    journal.record_verdict(&good).unwrap();

    let mut careless = Episode::open(env.clone(), Some("order-dune")).unwrap();
    careless.call("order_book", &json!({"book_id": 1, "quantity": 2}));
    careless.call("review_book", &json!({"book_id": 1, "stars": 2, "body": "meh"}));
    careless.finish("Ordered.").unwrap();
    journal.record_episode(&careless, Some(7)).unwrap();
    journal.flush().unwrap();
    drop(journal);

    let conn = duckdb::Connection::open(&path).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT count(*) FROM environments"), 1);
    assert_eq!(q("SELECT count(*) FROM episodes WHERE group_id = 7"), 2);
    assert_eq!(q(&format!("SELECT count(*) FROM steps WHERE episode_id = {}", good.id())), 3);
    assert_eq!(q(&format!("SELECT count(*) FROM steps WHERE episode_id = {} AND status = 'tool_error'", good.id())), 1);
    let error: String = conn
        .query_row(&format!("SELECT error FROM steps WHERE episode_id = {} AND step = 3", good.id()), [], |r| r.get(0))
        .unwrap();
    assert_eq!(error, "order_book: only 0 copies of Emma in stock");
    let after: String = conn
        .query_row(
            &format!("SELECT after FROM changes WHERE episode_id = {} AND table_name = 'books'", good.id()),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&after).unwrap(),
        json!({"stock": 10}),
        "an update records the new values of the changed columns"
    );
    let reward: f64 = conn
        .query_row(&format!("SELECT reward FROM verdicts WHERE episode_id = {}", careless.id()), [], |r| r.get(0))
        .unwrap();
    assert_eq!(reward, 0.1);

    // The record alone rebuilds the final state: template image + changesets in step order.
    let mut stmt = conn
        .prepare(&format!("SELECT changeset FROM changesets WHERE episode_id = {} ORDER BY step", careless.id()))
        .unwrap();
    let changesets: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(changesets.len(), 2);
    let rebuilt = replay(env.template(), env.tables(), changesets.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(state_digest(rebuilt.connection(), env.tables()).unwrap(), careless.state_digest().unwrap());
    drop(stmt);
    drop(conn);

    let sections = report::report(&path).unwrap();
    let find = |title: &str| sections.iter().find(|s| s.title.starts_with(title)).unwrap().clone();
    let per_task = find("pass rate per task");
    assert_eq!(per_task.rows, vec![vec!["bookstore", "order-dune", "2", "0.5", "0.55", "1"]]);
    let collateral = find("collateral damage");
    assert_eq!(collateral.rows, vec![vec!["bookstore", "order-dune", "reviews", "1", "1"]]);
    let text = report::render_text(&sections);
    assert!(text.contains("== tables changed =="), "{text}");
}

#[test]
fn recording_keeps_up_with_many_episodes() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("r.duckdb")).unwrap();
    journal.record_environment(&env).unwrap();
    for i in 0..200 {
        let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
        ep.call("order_book", &json!({"book_id": 1 + i % 5, "quantity": 1}));
        ep.call("list_orders", &json!({}));
        ep.finish("ok").unwrap();
        journal.record_episode(&ep, None).unwrap();
    }
    journal.flush().unwrap();
    // 1 environment + 200 x (open + 2 steps + verdict + end)
    assert_eq!(journal.written(), 1 + 200 * 5);
}

/// Episodes recorded from two threads into a journal whose DuckDB writer has a queue of one batch: nearly every
/// record overflows it, stays in the write-ahead log only, and the writer reads it back from there.
fn record_through_an_overflowing_queue(journal: &Journal, env: &Arc<Environment>) -> Vec<u64> {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    (0..150)
                        .map(|i| {
                            let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
                            ep.call("order_book", &json!({"book_id": 1 + (i + t) % 5, "quantity": 1}));
                            ep.finish("ok").unwrap();
                            journal.record_episode(&ep, None).unwrap();
                            ep.id()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    })
}

/// (episodes, steps, ends) in the DuckDB file, and the number of distinct episodes among the steps.
fn counts(path: &std::path::Path) -> (i64, i64, i64, i64) {
    let conn = duckdb::Connection::open(path).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    (
        q("SELECT count(*) FROM episodes"),
        q("SELECT count(*) FROM steps"),
        q("SELECT count(*) FROM episode_ends"),
        q("SELECT count(DISTINCT episode_id) FROM steps"),
    )
}

#[test]
fn a_writer_a_whole_queue_behind_reads_the_rest_back_from_the_log_in_order_and_loses_nothing() {
    use agentworld_runtime::journal::JournalOptions;
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.duckdb");
    let options = JournalOptions { queue: 1, linger: std::time::Duration::from_millis(5), ..JournalOptions::default() };
    let journal = Journal::open_with(&path, options.clone()).unwrap();
    journal.record_environment(&env).unwrap();
    let ids = record_through_an_overflowing_queue(&journal, &env);
    journal.flush().unwrap();
    assert!(journal.frames_read_back() > 0, "the queue of one never overflowed");
    // 1 environment + 300 x (open + 1 step + verdict + end), each exactly once.
    assert_eq!(journal.written(), 1 + 300 * 4, "{} frames read back", journal.frames_read_back());
    drop(journal);
    assert_eq!(counts(&path), (300, 300, 300, 300));
    let journal = Journal::open_with(&path, options.clone()).unwrap();
    assert_eq!(journal.recovery().replayed_frames, 0, "the flush and the shutdown left nothing to replay");
    assert_eq!(journal.recovery().interrupted, 0);

    // Without a flush, dropping the journal still commits what overflowed before the writer stops.
    let more = record_through_an_overflowing_queue(&journal, &env);
    drop(journal);
    assert_eq!(counts(&path), (600, 600, 600, 600));
    let journal = Journal::open_with(&path, options).unwrap();
    assert_eq!(journal.recovery().replayed_frames, 0);
    drop(journal);
    let conn = duckdb::Connection::open(&path).unwrap();
    let recorded: Vec<u64> = conn
        .prepare("SELECT episode_id FROM episodes ORDER BY episode_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut expected: Vec<u64> = ids.into_iter().chain(more).collect();
    expected.sort_unstable();
    assert_eq!(recorded, expected);
}

#[test]
fn producers_wait_only_for_a_writer_max_backlog_frames_behind() {
    use agentworld_runtime::journal::JournalOptions;
    use std::time::{Duration, Instant};
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    // Each commit waits out a 100 ms linger, so DuckDB lags by everything recorded within one.
    let options = JournalOptions { max_backlog: 8, linger: Duration::from_millis(100), ..JournalOptions::default() };
    let journal = Journal::open_with(&dir.path().join("b.duckdb"), options).unwrap();
    journal.record_environment(&env).unwrap();
    journal.flush().unwrap();
    assert_eq!(journal.backlog(), 0);
    let started = Instant::now();
    let mut most = 0;
    for _ in 0..40 {
        let mut ep = Episode::open(env.clone(), Some("order-dune")).unwrap();
        ep.finish("ok").unwrap();
        journal.record_episode(&ep, None).unwrap(); // one log frame
        most = most.max(journal.backlog());
    }
    assert!(most <= 8, "DuckDB fell {most} frames behind");
    assert!(started.elapsed() >= Duration::from_millis(300), "40 frames, 8 per commit: at least four lingers");
    journal.flush().unwrap();
    assert_eq!(journal.backlog(), 0);
    assert_eq!(journal.written(), 1 + 40 * 3);
}

#[test]
fn reopening_a_journal_ends_episodes_left_open_as_interrupted() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.duckdb");
    let journal = Journal::open(&path).unwrap();
    let mut open = Episode::open(env.clone(), Some("order-dune")).unwrap();
    journal.record_opened(&open, None).unwrap();
    let step = open.call("search_books", &json!({"query": "Dune"})).clone();
    journal.record_step(&open, &step).unwrap();
    let mut done = Episode::open(env.clone(), Some("order-dune")).unwrap();
    done.finish("x").unwrap();
    journal.record_episode(&done, None).unwrap();
    drop(journal);

    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.recovery().interrupted, 1);
    drop(journal);
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.recovery().interrupted, 0, "marked once");
    drop(journal);
    let conn = duckdb::Connection::open(&path).unwrap();
    let ends: Vec<(u64, String, i64)> = conn
        .prepare("SELECT episode_id, status, steps FROM episode_ends ORDER BY status")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ends, vec![(done.id(), "finished".to_string(), 0), (open.id(), "interrupted".to_string(), 1)]);
}

/// The nice values of this process's threads named `name`, from `/proc` (field 19 of `stat`).
#[cfg(target_os = "linux")]
fn thread_nices(name: &str) -> Vec<i64> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc is mounted");
    tasks
        .flatten()
        .filter(|task| std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim_end() == name)
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // After the parenthesised name come fields 3 (state) onwards; nice is field 19.
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split(' ').nth(19 - 3)?.parse().ok()
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn the_duckdb_writer_runs_at_the_configured_nice_value() {
    use agentworld_runtime::journal::JournalOptions;
    // Other tests run journals at the default beside this one: 7 is this test's own.
    let writers = || thread_nices("agentworld-jour"); // "agentworld-journal" cut to 15 bytes
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions { writer_nice: 7, ..JournalOptions::default() };
    let journal = Journal::open_with(&dir.path().join("r.duckdb"), options).unwrap();
    journal.record_environment(&env()).unwrap();
    // The writer sets its priority before it takes any record, so once a flush is answered it is set.
    journal.flush().unwrap();
    assert!(writers().contains(&7), "writer threads' nice values: {:?}", writers());
    drop(journal);
    assert!(!writers().contains(&7), "the writer thread outlived its journal: {:?}", writers());
}

#[test]
fn a_journal_synced_to_disk_never_records_quickly() {
    use agentworld_runtime::journal::{JournalOptions, SyncMode};
    let dir = tempfile::tempdir().unwrap();
    let quick = Journal::open_with(&dir.path().join("p.duckdb"), JournalOptions::default()).unwrap();
    quick.record_environment(&env()).unwrap();
    quick.flush().unwrap();
    assert!(quick.records_quickly(), "the log in the page cache; DuckDB is never waited for");
    let options = JournalOptions { sync: SyncMode::Disk, ..JournalOptions::default() };
    let synced = Journal::open_with(&dir.path().join("d.duckdb"), options).unwrap();
    assert!(!synced.records_quickly(), "every record waits for fdatasync");
}

#[test]
fn duckdb_checkpoints_its_own_log_at_the_configured_threshold() {
    use agentworld_runtime::journal::JournalOptions;
    let env = env();
    let mut sample = Episode::open(env.clone(), Some("order-dune")).unwrap();
    for i in 0..20 {
        sample.call("search_books", &json!({"query": if i % 2 == 0 { "Dune" } else { "the" }}));
    }
    // DuckDB's log after the same ~5 MB of records, under a 1 MB threshold and under one far above them.
    let wal_after = |mb: u64| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.duckdb");
        let options = JournalOptions { checkpoint_threshold_mb: mb, ..JournalOptions::default() };
        let journal = Journal::open_with(&path, options).unwrap();
        journal.record_environment(&env).unwrap();
        for _ in 0..1_500 {
            journal.record_episode(&sample, None).unwrap();
        }
        journal.flush().unwrap();
        let wal = std::fs::metadata(path.with_extension("duckdb.wal")).map(|m| m.len()).unwrap_or(0);
        (wal, journal.written())
    };
    let (small, written_small) = wal_after(1);
    let (large, written_large) = wal_after(1024);
    assert_eq!(written_small, written_large, "both journals committed every record");
    assert!(large > 4 << 20, "under 1 GB nothing is checkpointed yet: DuckDB's log holds {large} bytes");
    assert!(small < 2 << 20, "past 1 MB DuckDB checkpoints: its log holds {small} bytes (against {large})");
}
