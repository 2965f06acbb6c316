//! The actor runtime end to end on real environments, a real DuckDB journal and real worker threads: GRPO
//! groups, batches, deadlines, branching, reaping, injected faults, supervision and shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_actors::{EndStatus, Fault, FaultPlan, Runtime, RuntimeConfig, RuntimeError, Status};
use agentworld_runtime::Environment;
use serde_json::json;

fn bookstore() -> Arc<Environment> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/tests/fixtures/bookstore.toml");
    Arc::new(Environment::load(&path).unwrap())
}

fn shop() -> Arc<Environment> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../envspecs/shop.toml");
    Arc::new(Environment::load(&path).unwrap())
}

/// The bookstore with a tool whose cost its argument sets, and a spec deadline of 5 s.
fn bookstore_with_count_to() -> Arc<Environment> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/tests/fixtures/bookstore.toml");
    let tool = r#"
[[tools]]
name = "count_to"
description = "Counts to n: as slow as n is large."
result = "value"
params.n = { type = "integer", required = true }
sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $n) SELECT count(*) FROM c"
"#;
    let text = std::fs::read_to_string(&path).unwrap().replace("deadline_ms = 200", "deadline_ms = 5000").replacen(
        "\n[[tasks]]",
        &format!("{tool}\n[[tasks]]"),
        1,
    );
    let source = agentworld_runtime::spec::SourceText { path: path.clone(), text };
    Arc::new(Environment::compile(agentworld_runtime::spec::parse_source(&source).unwrap(), source).unwrap())
}

fn config(journal: Option<PathBuf>) -> RuntimeConfig {
    let mut c = RuntimeConfig::default();
    c.runtime.workers = 2;
    c.journal.path = journal;
    c.journal.linger_ms = 5;
    c
}

fn count(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpo_group_is_called_finished_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.duckdb");
    let rt = Runtime::start(config(Some(path.clone())), vec![bookstore(), shop()]).await.unwrap();
    let group = rt.open_group("bookstore", "order-dune", 4).await.unwrap();
    assert_eq!(group.len(), 4);
    let gid = group[0].group.expect("a group id");
    assert!(group.iter().all(|e| e.group == Some(gid) && e.task.as_deref() == Some("order-dune")));
    let mut rewards = Vec::new();
    for (i, ep) in group.iter().enumerate() {
        if i % 2 == 0 {
            let r = rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap();
            assert_eq!(r.status, Status::Ok, "{r:?}");
            let r = rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap();
            assert_eq!((r.status, r.step), (Status::Ok, 2), "{r:?}");
        } else {
            let r = rt.call(ep.id, "order_book", json!({"book_id": "one"})).await.unwrap();
            assert_eq!(r.status, Status::ToolError);
            let e = r.error.unwrap();
            assert_eq!((e.code.as_str(), e.argument.as_deref()), ("invalid_arguments", Some("book_id")), "{e:?}");
        }
        rewards.push(rt.finish(ep.id, "I ordered two copies of Dune.").await.unwrap().verdict.reward);
    }
    assert_eq!(rewards, vec![1.0, 0.0, 1.0, 0.0]);
    // A finished episode takes no more calls, and says why.
    match rt.call(group[0].id, "search_books", json!({"query": "x"})).await {
        Err(RuntimeError::EpisodeEnded { status: EndStatus::Finished, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(rt.trajectory(group[0].id).await.unwrap().steps.len(), 2);
    let m = rt.metrics();
    assert_eq!((m.calls("ok"), m.calls("tool_error"), m.ended("finished")), (4, 2, 4));
    rt.shutdown().await.unwrap();

    let conn = duckdb::Connection::open(&path).unwrap();
    assert_eq!(count(&conn, &format!("SELECT count(*) FROM episodes WHERE group_id = {gid}")), 4);
    assert_eq!(count(&conn, "SELECT count(*) FROM steps"), 6);
    assert_eq!(count(&conn, "SELECT count(*) FROM steps WHERE status = 'tool_error'"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM verdicts WHERE reward = 1.0"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM episode_ends WHERE status = 'finished'"), 4);
    assert_eq!(count(&conn, "SELECT count(*) FROM environments"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delivers_results_as_they_complete_with_their_episode() {
    let rt = Runtime::start(config(None), vec![bookstore()]).await.unwrap();
    let eps = rt.open_group("bookstore", "cheapest-austen", 20).await.unwrap();
    let mut calls: Vec<_> = eps.iter().map(|e| (e.id, "search_books".to_string(), json!({"query": "e"}))).collect();
    calls.push((12345, "search_books".to_string(), json!({})));
    let mut batch = rt.call_batch(calls);
    assert_eq!(batch.pending(), 21);
    let first = batch.first(5).await;
    assert_eq!(first.len(), 5);
    let rest = batch.all().await;
    assert_eq!(rest.len(), 16);
    let mut seen: Vec<usize> = first.iter().chain(&rest).map(|r| r.index).collect();
    seen.sort();
    assert_eq!(seen, (0..21).collect::<Vec<_>>());
    for r in first.iter().chain(&rest) {
        if r.index == 20 {
            assert!(matches!(r.reply, Err(RuntimeError::UnknownEpisode(12345))), "{r:?}");
        } else {
            let reply = r.reply.as_ref().unwrap();
            assert_eq!((reply.episode, reply.status), (eps[r.index].id, Status::Ok));
        }
    }
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_interrupt_slow_calls_and_the_episode_goes_on() {
    let mut c = config(None);
    c.runtime.call_timeout_ms = 100;
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    let ep = rt.open("bookstore", Some("order-dune")).await.unwrap();
    // A slow statement of the spec's own: the engine's progress handler stops it at the runtime's deadline.
    let t = Instant::now();
    let r = rt.call(ep.id, "count_forever", json!({})).await.unwrap();
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert!(t.elapsed() < Duration::from_millis(190), "the 100 ms deadline, not the spec's 200: {:?}", t.elapsed());
    // A slow query injected under a quick tool: only the actor's interrupt can stop it.
    rt.faults().inject(FaultPlan::new(Fault::SlowQuery).episode(ep.id));
    let t = Instant::now();
    let r = rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap();
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let r = rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap();
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let verdict = rt.finish(ep.id, "done").await.unwrap().verdict;
    assert_eq!(verdict.reward, 1.0);
    let t = rt.trajectory(ep.id).await.unwrap();
    let codes: Vec<&str> = t.steps.iter().map(|s| s.result.as_ref().err().map(|e| e.code()).unwrap_or("ok")).collect();
    assert_eq!(codes, vec!["timeout", "timeout", "ok"]);
    assert_eq!(rt.metrics().calls("timeout"), 2);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_calls_run_on_the_actors_thread_and_one_that_is_slow_this_time_moves_on_to_a_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.duckdb");
    let mut c = config(Some(path.clone()));
    c.runtime.call_timeout_ms = 5_000;
    // Generous for a debug build: calls under 2 ms run inline, and are moved after 20 ms.
    c.runtime.inline_call_us = 2_000;
    let rt = Runtime::start(c, vec![bookstore_with_count_to()]).await.unwrap();
    let ep = rt.open("bookstore", None).await.unwrap();
    // The first call of a tool goes to a worker; it teaches the runtime that the tool is quick.
    for step in 1..=5 {
        let r = rt.call(ep.id, "count_to", json!({"n": 10})).await.unwrap();
        assert_eq!((r.status, r.step, r.result.map(|t| t.to_value())), (Status::Ok, step, Some(json!(10))));
    }
    let m = rt.metrics();
    assert_eq!((m.calls_inline, m.calls_moved), (4, 0));
    // Slow this time: interrupted after 20 ms, rolled back, and run to the end on a worker.
    let r = rt.call(ep.id, "count_to", json!({"n": 3_000_000})).await.unwrap();
    assert_eq!((r.status, r.step, r.result.map(|t| t.to_value())), (Status::Ok, 6, Some(json!(3_000_000))));
    let m = rt.metrics();
    assert_eq!((m.calls_inline, m.calls_moved), (5, 1));
    // An inline write is journaled and acknowledged like any other.
    for step in 7..=8 {
        let r = rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 1})).await.unwrap();
        assert_eq!((r.status, r.step), (Status::Ok, step));
    }
    assert_eq!(rt.metrics().calls_inline, 6);
    // A panic or a failed database in an inline call: that episode ends as infra_error, the others go on.
    let (hurt, broken) = (rt.open("bookstore", None).await.unwrap(), rt.open("bookstore", None).await.unwrap());
    rt.faults().inject(FaultPlan::new(Fault::PanicInTool).episode(hurt.id).tool("order_book"));
    rt.faults().inject(FaultPlan::new(Fault::DatabaseError).episode(broken.id).tool("order_book"));
    for e in [&hurt, &broken] {
        let r = rt.call(e.id, "order_book", json!({"book_id": 1, "quantity": 1})).await.unwrap();
        assert_eq!(r.status, Status::InfraError, "{r:?}");
        assert!(r.resample.is_some(), "{r:?}");
        match rt.call(e.id, "count_to", json!({"n": 10})).await {
            Err(RuntimeError::EpisodeEnded { status: EndStatus::InfraError, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rt.metrics().calls_inline, 8);
    let r = rt.call(ep.id, "count_to", json!({"n": 10})).await.unwrap();
    assert_eq!((r.status, r.step), (Status::Ok, 9));
    rt.shutdown().await.unwrap();
    let conn = duckdb::Connection::open(&path).unwrap();
    assert_eq!(count(&conn, &format!("SELECT count(*) FROM steps WHERE episode_id = {}", ep.id)), 9);
    assert_eq!(count(&conn, "SELECT count(*) FROM episode_ends WHERE status = 'infra_error'"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_inline_calls_off_every_call_goes_to_a_worker() {
    let mut c = config(None);
    c.runtime.inline_call_us = 0;
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    let ep = rt.open("bookstore", None).await.unwrap();
    for _ in 0..5 {
        assert_eq!(rt.call(ep.id, "get_book", json!({"book_id": 1})).await.unwrap().status, Status::Ok);
    }
    assert_eq!(rt.metrics().calls_inline, 0);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_worker_is_stuck_outside_sqlite_is_answered_after_its_deadline_and_grace() {
    let mut c = config(None);
    c.runtime.call_timeout_ms = 100;
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    let ep = rt.open("bookstore", Some("order-dune")).await.unwrap();
    // The worker sleeps 10 s outside SQLite: no interrupt reaches it and no other message arrives for the episode,
    // so only the runtime's watchdog can get the client its answer.
    rt.faults().inject(FaultPlan::new(Fault::StuckWorker).episode(ep.id));
    let t = Instant::now();
    let r = rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.status, Status::InfraError, "{r:?}");
    // the 100 ms deadline, the watchdog's 1 s slack and 0.5 s period, the 5 s grace; well before the worker's 10 s
    assert!(took > Duration::from_secs(5) && took < Duration::from_secs(9), "answered after {took:?}");
    assert!(
        matches!(rt.finish(ep.id, "x").await, Err(RuntimeError::EpisodeEnded { status: EndStatus::InfraError, .. })),
        "the episode is ended as infra_error"
    );
    assert_eq!(rt.metrics().calls("infra_error"), 1);
    // the other worker still serves
    let other = rt.open("bookstore", None).await.unwrap();
    assert!(rt.call(other.id, "search_books", json!({"query": "a"})).await.unwrap().is_ok());
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_under_load_hit_only_their_episodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.duckdb");
    let rt = Runtime::start(config(Some(path.clone())), vec![bookstore()]).await.unwrap();
    let eps = rt.open_group("bookstore", "order-dune", 40).await.unwrap();
    let faults = [Fault::PanicInTool, Fault::DatabaseError, Fault::KillWorker, Fault::PanicInActor];
    for (f, ep) in faults.iter().zip(&eps) {
        rt.faults().inject(FaultPlan::new(*f).episode(ep.id).tool("order_book"));
    }
    let mut clients = tokio::task::JoinSet::new();
    for ep in eps.clone() {
        let rt = rt.clone();
        clients.spawn(async move {
            let a = rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap();
            let b = rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap();
            let f = rt.finish(ep.id, "ordered").await;
            (ep.id, a.status, b, f)
        });
    }
    let mut hit = 0;
    while let Some(r) = clients.join_next().await {
        let (id, first, second, finish) = r.unwrap();
        assert_eq!(first, Status::Ok);
        if eps[..4].iter().any(|e| e.id == id) {
            hit += 1;
            assert_eq!(second.status, Status::InfraError, "{second:?}");
            let hint = second.resample.expect("a resample hint");
            assert_eq!((hint.env.as_str(), hint.task.as_deref()), ("bookstore", Some("order-dune")));
            assert!(
                matches!(finish, Err(RuntimeError::EpisodeEnded { status: EndStatus::InfraError, .. })),
                "{finish:?}"
            );
        } else {
            assert_eq!(second.status, Status::Ok, "{second:?}");
            assert_eq!(finish.unwrap().verdict.reward, 1.0);
        }
    }
    assert_eq!(hit, 4);
    let m = rt.metrics();
    assert_eq!((m.worker_restarts, m.episode_crashes, m.ended("infra_error"), m.ended("finished")), (1, 1, 4, 36));
    // The pool still has both workers.
    let ep = rt.open("bookstore", None).await.unwrap();
    for _ in 0..10 {
        assert!(rt.call(ep.id, "search_books", json!({"query": "a"})).await.unwrap().is_ok());
    }
    rt.shutdown().await.unwrap();

    let conn = duckdb::Connection::open(&path).unwrap();
    let ids = eps[..4].iter().map(|e| e.id.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(
        count(
            &conn,
            &format!("SELECT count(*) FROM episode_ends WHERE status = 'infra_error' AND episode_id IN ({ids})")
        ),
        4
    );
    assert_eq!(count(&conn, &format!("SELECT count(*) FROM verdicts WHERE episode_id IN ({ids})")), 0);
    assert_eq!(count(&conn, "SELECT count(*) FROM verdicts WHERE reward = 1.0"), 36);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM episode_ends GROUP BY episode_id HAVING count(*) > 1 UNION ALL SELECT 0 LIMIT 1"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_environment_actor_is_restarted_and_serving_continues() {
    let mut c = config(None);
    c.restart.backoff_ms = 20;
    let rt = Runtime::start(c, vec![bookstore(), shop()]).await.unwrap();
    let before = rt.open("bookstore", Some("order-dune")).await.unwrap();
    rt.faults().inject(FaultPlan::new(Fault::CrashEnvironment).env("bookstore"));
    let err = rt.open("bookstore", Some("order-dune")).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Unavailable { .. }), "{err:?}");
    // Other environments are untouched meanwhile.
    assert!(rt.open("shop", None).await.is_ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        match rt.open("bookstore", Some("order-dune")).await {
            Ok(ep) => break ep,
            Err(RuntimeError::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(rt.metrics().env_restarts, 1);
    assert!(rt.environments().iter().all(|e| e.available));
    // The episode opened before the crash carries on, and is supervised by the new actor.
    for ep in [&before, &after] {
        let r = rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap();
        assert_eq!(r.status, Status::Ok, "{r:?}");
    }
    rt.faults().inject(FaultPlan::new(Fault::PanicInActor).episode(before.id));
    let r = rt.call(before.id, "search_books", json!({"query": "x"})).await.unwrap();
    assert_eq!(r.status, Status::InfraError, "{r:?}");
    assert!(r.error.unwrap().message.contains("crashed"));
    assert_eq!(rt.finish(after.id, "ok").await.unwrap().verdict.reward, 1.0);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_failing_too_often_is_given_up_with_the_reason() {
    let mut c = config(None);
    c.restart = agentworld_actors::config::RestartSettings {
        max_restarts: 2,
        window_ms: 60_000,
        backoff_ms: 5,
        max_backoff_ms: 10,
    };
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    rt.faults().inject(FaultPlan::new(Fault::CrashEnvironment).times(3));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match rt.open("bookstore", None).await {
            Err(RuntimeError::Unavailable { reason, .. }) if reason.contains("not restarted again") => break,
            _ if Instant::now() > deadline => panic!("never given up"),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    assert_eq!(rt.metrics().env_restarts, 3);
    assert!(!rt.environments()[0].available);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_episodes_are_reaped_and_limits_apply() {
    let mut c = config(None);
    c.runtime.idle_timeout_ms = 150;
    c.runtime.reap_interval_ms = 20;
    c.runtime.max_steps = 2;
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    let ep = rt.open("bookstore", Some("order-dune")).await.unwrap();
    let busy = rt.open("bookstore", Some("order-dune")).await.unwrap();
    assert!(rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap().is_ok());
    assert!(rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap().is_ok());
    let r = rt.call(ep.id, "search_books", json!({"query": "Dune"})).await.unwrap();
    assert_eq!((r.status, r.error.as_ref().unwrap().code.as_str()), (Status::ToolError, "step_limit"));
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = rt.trajectory(busy.id).await.unwrap();
        let _ = rt.call(busy.id, "get_book", json!({"book_id": 1})).await;
    }
    match rt.call(ep.id, "search_books", json!({})).await {
        Err(RuntimeError::EpisodeEnded { status: EndStatus::Reaped, .. }) => {}
        other => panic!("{other:?}"),
    }
    let t = rt.trajectory(ep.id).await.unwrap();
    assert_eq!((t.ended, t.steps.len()), (Some(EndStatus::Reaped), 2));
    assert_eq!(rt.live_episodes(), 1, "the busy episode is not reaped");
    assert_eq!(rt.metrics().ended("reaped"), 1);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branches_continue_from_the_current_state() {
    let rt = Runtime::start(config(None), vec![bookstore()]).await.unwrap();
    let ep = rt.open("bookstore", Some("order-dune")).await.unwrap();
    assert!(rt.call(ep.id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap().is_ok());
    let branches = rt.branch(ep.id, 3).await.unwrap();
    assert_eq!(branches.len(), 3);
    let g = branches[0].group;
    assert!(g.is_some());
    for b in &branches {
        assert_eq!(b.lineage.map(|l| (l.parent, l.at_step)), Some((ep.id, 1)));
        assert_eq!(b.group, g);
        assert_eq!(rt.trajectory(b.id).await.unwrap().steps.len(), 1);
    }
    // Each branch has the parent's order already: finishing it right away scores 1.
    assert_eq!(rt.finish(branches[0].id, "Ordered.").await.unwrap().verdict.reward, 1.0);
    // ...and its own state: a second order in one branch does not show in another.
    assert!(rt.call(branches[1].id, "order_book", json!({"book_id": 1, "quantity": 2})).await.unwrap().is_ok());
    assert_eq!(rt.finish(branches[1].id, "Ordered.").await.unwrap().verdict.reward, 0.0);
    assert_eq!(rt.finish(branches[2].id, "Ordered.").await.unwrap().verdict.reward, 1.0);
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_live_episodes_as_interrupted_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.duckdb");
    let rt = Runtime::start(config(Some(path.clone())), vec![bookstore()]).await.unwrap();
    let eps = rt.open_group("bookstore", "order-dune", 3).await.unwrap();
    assert!(rt.call(eps[0].id, "search_books", json!({"query": "Dune"})).await.unwrap().is_ok());
    let closed = rt.close(eps[2].id).await.unwrap();
    assert_eq!(closed.ended, Some(EndStatus::Closed));
    assert_eq!(rt.shutdown().await.unwrap().interrupted, 2);
    assert!(matches!(rt.open("bookstore", None).await, Err(RuntimeError::ShuttingDown)));
    drop(rt);
    let conn = duckdb::Connection::open(&path).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM episode_ends WHERE status = 'interrupted'"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM episode_ends WHERE status = 'closed'"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM steps"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors() {
    let rt = Runtime::start(config(None), vec![bookstore()]).await.unwrap();
    assert!(matches!(rt.open("nope", None).await, Err(RuntimeError::UnknownEnvironment(_))));
    assert!(matches!(rt.open("bookstore", Some("nope")).await, Err(RuntimeError::UnknownTask { .. })));
    assert!(matches!(rt.call(7, "x", json!({})).await, Err(RuntimeError::UnknownEpisode(7))));
    let free = rt.open("bookstore", None).await.unwrap();
    assert!(matches!(rt.finish(free.id, "x").await, Err(RuntimeError::Invalid(_))));
    let r = rt.call(free.id, "no_such_tool", json!({})).await.unwrap();
    assert_eq!(r.error.unwrap().code, "unknown_tool");
    let r = rt.call(free.id, "search_books", json!([1, 2])).await.unwrap();
    assert_eq!(r.error.unwrap().code, "invalid_arguments");
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actor_layer_stays_responsive_while_every_worker_runs_a_slow_statement() {
    let mut c = config(None);
    c.runtime.call_timeout_ms = 1_500;
    let mut spec = bookstore().spec.clone();
    spec.limits.deadline_ms = 1_500;
    let env = Arc::new(Environment::compile(spec, bookstore().source.clone()).unwrap());
    let rt = Runtime::start(c, vec![env]).await.unwrap();
    let slow = rt.open_group("bookstore", "order-dune", 2).await.unwrap();
    let other = rt.open("bookstore", Some("order-dune")).await.unwrap();
    let busy: Vec<_> = slow
        .iter()
        .map(|e| {
            let (rt, id) = (rt.clone(), e.id);
            tokio::spawn(async move { rt.call(id, "count_forever", json!({})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Both workers are inside SQLite now; requests that need no worker are answered at once.
    let t = Instant::now();
    assert_eq!(rt.trajectory(other.id).await.unwrap().steps.len(), 0);
    let _ = rt.metrics().prometheus();
    assert!(rt.environments()[0].available);
    assert!(t.elapsed() < Duration::from_millis(50), "{:?}", t.elapsed());
    for b in busy {
        assert_eq!(b.await.unwrap().unwrap().status, Status::Timeout);
    }
    // ...and the queued call then runs.
    assert!(rt.call(other.id, "get_book", json!({"book_id": 1})).await.unwrap().is_ok());
    rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_episodes_are_limited() {
    let mut c = config(None);
    c.runtime.max_episodes = 5;
    let rt = Runtime::start(c, vec![bookstore()]).await.unwrap();
    let eps = rt.open_group("bookstore", "order-dune", 4).await.unwrap();
    assert!(matches!(
        rt.open_group("bookstore", "order-dune", 2).await,
        Err(RuntimeError::TooManyEpisodes { limit: 5 })
    ));
    rt.close(eps[0].id).await.unwrap();
    assert_eq!(rt.open_group("bookstore", "order-dune", 2).await.unwrap().len(), 2);
    rt.shutdown().await.unwrap();
}

#[test]
fn the_cheapest_calls_are_a_fixed_number_kept_in_solution_order() {
    use agentworld_actors::load::{cheapest_scripts, scripts};
    let envs = vec![bookstore(), shop()];
    let all = scripts(&envs, None);
    let total: usize = all.iter().map(|s| s.calls.len()).sum();
    assert!(total > 8, "the fixtures have {total} scripted calls");
    let tools = |ss: &[agentworld_actors::load::Script]| -> Vec<(String, String)> {
        ss.iter().flat_map(|s| s.calls.iter().map(|(t, _)| (s.task.clone(), t.clone()))).collect()
    };
    let cheap = cheapest_scripts(&envs, 5);
    assert_eq!(cheap.iter().map(|s| s.calls.len()).sum::<usize>(), 5);
    // A subsequence of the full scripts: order within and across scripts is kept.
    let everything = tools(&all);
    let mut rest = everything.iter();
    for call in tools(&cheap) {
        assert!(rest.any(|c| *c == call), "{call:?} is out of order or not a scripted call");
    }
    // Asking for more than there are keeps them all.
    assert_eq!(tools(&cheapest_scripts(&envs, total + 10)), everything);
}
