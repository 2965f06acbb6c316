//! The AWM-1K path end to end on the dataset's real rows (`tests/data/awm-1k-sample`): import, the Python
//! bridge (real worker processes, killed with real signals), AWM's verifiers in the sandbox, and the record.
//! Needs the pinned Python environment (`scripts/python-deps.sh`, run by `.ci/run`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_awm::bridge::BridgeConfig;
use agentworld_awm::import::{ImportOptions, import_dataset};
use agentworld_awm::verify::{VerifierConfig, VerifierMode, VerifierOutput, run_verifier};
use agentworld_awm::{AwmEnvironment, AwmEpisode, BridgePool, StepStatus};
use serde_json::{Value, json};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/awm-1k-sample")
}

fn python() -> PathBuf {
    let p = agentworld_awm::sandbox::python();
    let ok = std::process::Command::new(&p)
        .args(["-c", "import fastapi, sqlalchemy, jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{} lacks the bridge's packages: run `bash scripts/python-deps.sh`", p.display());
    p
}

fn import_all(out: &Path) -> agentworld_awm::ImportReport {
    let options = ImportOptions {
        out: out.to_path_buf(),
        scenarios: Vec::new(),
        clock: "2026-01-01T00:00:00Z".into(),
        python: Some(python()),
    };
    import_dataset(&sample(), &options).expect("import")
}

fn pool(workers: usize) -> BridgePool {
    BridgePool::start(BridgeConfig { python: python(), workers, ..BridgeConfig::default() }).expect("bridge starts")
}

fn count(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn import_builds_states_with_awm_semantics_and_reports_what_is_missing() {
    let out = tempfile::tempdir().unwrap();
    let report = import_all(out.path());
    let by =
        |name: &str| report.scenarios.iter().find(|s| s.scenario == name).unwrap_or_else(|| panic!("{name} in report"));

    let shop = by("e_commerce_33");
    assert!(shop.written);
    assert_eq!((shop.tables_created, shop.tables_failed), (19, 0));
    assert_eq!(shop.inserts_ok, 133, "the README says every row loads");
    assert!(shop.skipped.is_empty(), "{:?}", shop.skipped);
    assert_eq!(shop.tools_declared, 39);
    assert_eq!((shop.code_verifiers, shop.judge_verifiers), (3, 3));
    assert!(
        shop.verifier_problems.iter().any(|p| p.starts_with("task-2: sql-mode verifier") && p.contains("syntax error")),
        "the broken verifier is reported: {:?}",
        shop.verifier_problems
    );
    assert!(shop.missing.iter().any(|m| m.contains("gen_envs")));

    let videos = by("content_platform_1");
    assert_eq!(videos.inserts_ok, 154);
    assert_eq!(videos.rows.iter().map(|(_, n)| n).sum::<i64>(), 154);
    assert!(videos.has_app);

    let code = by("code_hosting_2");
    assert!(code.written && code.tables_created == 22 && code.inserts_ok == 0);
    assert!(code.missing.iter().any(|m| m.contains("gen_sample")));

    let chat = by("communication_messaging_1");
    assert!(!chat.written, "no schema: nothing to build");
    assert!(chat.missing.iter().any(|m| m.contains("gen_db")));
    assert!(!out.path().join("communication_messaging_1").exists());

    // `datetime('now', ...)` ran on the virtual clock: the same rows build the same bytes, every time.
    let db = out.path().join("e_commerce_33/state.sqlite");
    assert_eq!(
        count(&db, "SELECT count(*) FROM users WHERE created_at = '2025-01-01 00:00:00'"),
        1,
        "365 days before the clock"
    );
    let again = tempfile::tempdir().unwrap();
    import_all(again.path());
    assert_eq!(std::fs::read(&db).unwrap(), std::fs::read(again.path().join("e_commerce_33/state.sqlite")).unwrap());

    // The report is on disk, and the manifest names everything.
    let saved: Value = serde_json::from_slice(&std::fs::read(out.path().join("import-report.json")).unwrap()).unwrap();
    assert_eq!(saved["scenarios"].as_array().unwrap().len(), report.scenarios.len());
    let (_, manifest) = agentworld_awm::Manifest::load(&out.path().join("e_commerce_33")).unwrap();
    assert_eq!(manifest.tasks.len(), 10);
    assert!(manifest.tasks[0].instruction.contains("wireless noise cancelling headphones"));
    let search = manifest.tools.iter().find(|t| t.name == "search_products").unwrap();
    assert_eq!(search.method, "GET");
    assert!(search.params.iter().any(|p| p.name == "max_price" && p.ty == "number" && p.location == "query"));
}

#[test]
fn a_broken_dataset_row_is_reported_with_its_file_and_line() {
    let data = tempfile::tempdir().unwrap();
    for f in agentworld_awm::dataset::FILES {
        std::fs::copy(sample().join(f), data.path().join(f)).unwrap();
    }
    let tasks = data.path().join("gen_tasks.jsonl");
    let mut text = std::fs::read_to_string(&tasks).unwrap();
    text.push_str("{\"scenario\": \"broken\", \"tasks\": 7}\n{not json\n");
    std::fs::write(&tasks, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = ImportOptions {
        out: out.path().into(),
        scenarios: vec!["content_platform_1".into(), "no_such_scenario".into()],
        clock: "2026-01-01T00:00:00Z".into(),
        python: None,
    };
    let report = import_dataset(data.path(), &options).unwrap();
    assert_eq!(report.scenarios.len(), 1, "only the scenario asked for");
    assert_eq!(report.unknown_scenarios, vec!["no_such_scenario"]);
    assert!(
        report.bad_rows.iter().any(|b| b.starts_with("gen_tasks.jsonl:4: no `tasks` array")),
        "{:?}",
        report.bad_rows
    );
    assert!(report.bad_rows.iter().any(|b| b.starts_with("gen_tasks.jsonl:5: not JSON")), "{:?}", report.bad_rows);
    // A bad clock is an error that names the option.
    let bad = ImportOptions { clock: "yesterday".into(), ..options };
    let err = import_dataset(data.path(), &bad).unwrap_err().to_string();
    assert!(err.contains("--clock") && err.contains("yesterday"), "{err}");
}

#[test]
fn bridge_lists_the_apps_tools_and_plays_reads_and_writes_in_isolated_episodes() {
    let out = tempfile::tempdir().unwrap();
    import_all(out.path());
    let pool = pool(2);
    let env = AwmEnvironment::load(&out.path().join("content_platform_1"), &pool).unwrap();

    // The listing comes from the running app and matches what gen_spec declares.
    assert_eq!(env.tools().len(), 34);
    let mut declared: Vec<&str> = env.manifest.tools.iter().map(|t| t.name.as_str()).collect();
    let mut listed: Vec<&str> = env.tools().iter().map(|t| t.name.as_str()).collect();
    declared.sort();
    listed.sort();
    assert_eq!(listed, declared);
    let sub = env.tool("subscribe_to_channel").unwrap();
    assert_eq!(sub.input_schema["required"], json!(["channel_id"]));
    assert_eq!(sub.input_schema["properties"]["channel_id"]["type"], "integer");
    let text = env.tool_listing_text();
    assert!(text.starts_with(&format!("Available MCP Tools (34 tools):\n{}\n1. mcp_tool_", "=".repeat(80))), "{text}");
    assert!(text.contains("      - channel_id: integer (required)"));

    let mut a = AwmEpisode::open(env.clone(), Some("task-0")).unwrap();
    let mut b = AwmEpisode::open(env.clone(), Some("task-0")).unwrap();

    // A read: AWM's 2-space-indented JSON body.
    let step = a.call("get_channel_by_id", &json!({ "channel_id": 1 }));
    assert_eq!(step.status, StepStatus::Ok, "{}", step.observation);
    assert!(step.observation.starts_with("{\n  \"channel\": {\n    \"id\": 1,"), "{}", step.observation);
    assert!(step.changes.is_empty());

    // Wrong arguments: AWM's validation message, nothing runs.
    let step = a.call("get_channel_by_id", &json!({ "channel_id": "one" }));
    assert_eq!(step.status, StepStatus::ToolError);
    assert_eq!(step.observation, "Input validation error: 'one' is not of type 'integer'");
    let step = a.call("subscribe_to_channel", &json!({}));
    assert_eq!(step.observation, "Input validation error: 'channel_id' is a required property");

    // An app error: AWM's status-code wording.
    // (The request passes the tool's JSON Schema; FastAPI's own validation rejects the date.)
    let upload = json!({ "video_id": "v-new", "channel_id": 1, "title": "t", "description": "d", "visibility": "public",
                         "duration_seconds": 60, "published_at": "not a date" });
    let step = a.call("upload_video", &upload);
    assert_eq!(step.status, StepStatus::ToolError);
    assert!(
        step.observation.starts_with("Error calling upload_video. Status code: 422. Response: {"),
        "{}",
        step.observation
    );
    assert!(step.changes.is_empty());

    // A write: its row changes come back, and only this episode sees it.
    let before = b.call("list_user_subscriptions", &json!({})).observation.clone();
    let unsubscribed: Vec<i64> = (1..=10)
        .filter(|c| !before.contains(&format!("\"channel_id\": {c},")) && !before.contains(&format!("\"id\": {c},")))
        .collect();
    let channel = unsubscribed.first().copied().unwrap_or(5);
    let step = a.call("subscribe_to_channel", &json!({ "channel_id": channel }));
    assert_eq!(step.status, StepStatus::Ok, "{}", step.observation);
    assert_eq!(step.changes.len(), 1, "{:?}", step.changes);
    assert_eq!(step.changes[0].table, "user_subscriptions");
    assert_eq!(step.changes[0].op, "insert");
    assert!(step.changes[0].after.as_deref().unwrap().contains(&format!("\"channel_id\":{channel}")));
    let after_a = a.call("list_user_subscriptions", &json!({})).observation.clone();
    let after_b = b.call("list_user_subscriptions", &json!({})).observation.clone();
    assert_ne!(after_a, before, "a sees its own write");
    assert_eq!(after_b, before, "b does not");

    // The programs' clock is the episode's virtual clock: the manifest's clock plus one minute per step.
    let created = a.call("create_playlist", &json!({ "name": "Later", "visibility": "private" })).clone();
    let step_no = created.index;
    assert!(
        created.observation.contains(&format!("\"created_at\": \"2026-01-01T00:{step_no:02}:00\"")),
        "step {step_no}: {}",
        created.observation
    );

    // A fresh episode starts from the initial state again.
    let mut c = AwmEpisode::open(env, None).unwrap();
    assert_eq!(c.call("list_user_subscriptions", &json!({})).observation, before);
    assert_eq!(c.call("no_such_tool", &json!({})).observation, "Unknown tool: no_such_tool");
}

#[test]
fn e_commerce_33_verifiers_judge_a_before_after_pair_and_the_broken_one_is_reported() {
    let out = tempfile::tempdir().unwrap();
    import_all(out.path());
    let env = AwmEnvironment::load_offline(&out.path().join("e_commerce_33")).unwrap();
    let initial = env.state_path().to_path_buf();
    let scratch = tempfile::tempdir().unwrap();
    let final_db = scratch.path().join("final.sqlite");
    std::fs::copy(&initial, &final_db).unwrap();

    let config = VerifierConfig { python: python(), ..VerifierConfig::default() };
    let code_of = |task: usize| {
        std::fs::read_to_string(env.dir().join(env.tasks()[task].code_verifier.as_ref().unwrap())).unwrap()
    };
    let judge = |task: usize, final_db: &Path| {
        run_verifier(&config, &code_of(task), VerifierMode::Code, &initial, final_db, "I reordered it.")
    };

    // Nothing done: task 1 ("reorder the most recent paper towels purchase") is not complete.
    assert!(matches!(judge(1, &final_db), Ok(VerifierOutput::Completion { complete: false, .. })));

    // Do task 1 by hand on the final state: the same offer and quantity into the primary user's active cart.
    let conn = rusqlite::Connection::open(&final_db).unwrap();
    let added = conn
        .execute(
            "INSERT INTO cart_items (cart_id, product_offer_id, quantity)
             SELECT c.id, oi.product_offer_id, oi.quantity FROM carts c, order_items oi JOIN orders o ON oi.order_id = o.id
             JOIN products p ON p.id = oi.product_id JOIN product_categories pc ON pc.id = p.category_id
             WHERE c.user_id = 1 AND c.status = 'active' AND o.user_id = 1 AND pc.name = 'Paper Towels'
             ORDER BY o.placed_at DESC, oi.id DESC LIMIT 1",
            [],
        )
        .unwrap();
    assert_eq!(added, 1);
    drop(conn);
    assert!(
        matches!(judge(1, &final_db), Ok(VerifierOutput::Completion { complete: true, .. })),
        "{:?}",
        judge(1, &final_db)
    );
    // Task 0's verifier judges the same pair: that task was not done.
    assert!(matches!(judge(0, &final_db), Ok(VerifierOutput::Completion { complete: false, .. })));

    // The whole verify path over both modes: task 1 (both verifiers run) and task 2 (the broken judge verifier).
    let v1 = agentworld_awm::episode::verify_task(&env, 1, &final_db, "I reordered it.");
    assert_eq!(v1.outcome, "complete");
    assert_eq!(v1.reward, Some(1.0));
    let evidence = v1.evidence.as_ref().unwrap_or_else(|| panic!("sql-mode evidence: {:?}", v1.failures));
    assert_eq!(evidence["latest_paper_towel_order"]["order_number"], "A1004");
    // Without a code-mode verifier, a configured judge decides from the sql-mode verifier's evidence.
    struct Recording(std::sync::Mutex<Vec<Value>>);
    impl agentworld_awm::Judge for Recording {
        fn judge(&self, instruction: &str, evidence: &Value, _answer: &str) -> Result<bool, String> {
            self.0.lock().unwrap().push(json!({"instruction": instruction, "evidence": evidence}));
            Ok(evidence["latest_paper_towel_order"]["order_number"] == "A1004")
        }
    }
    let judged_dir = scratch.path().join("judged");
    std::fs::create_dir_all(judged_dir.join("verifiers")).unwrap();
    for f in ["state.sqlite", "verifiers/task-1.judge.py"] {
        std::fs::copy(env.dir().join(f), judged_dir.join(f)).unwrap();
    }
    let mut manifest = env.manifest.clone();
    manifest.tasks[1].code_verifier = None;
    std::fs::write(judged_dir.join("awm-env.json"), serde_json::to_string(&manifest).unwrap()).unwrap();
    let judged = AwmEnvironment::load_offline(&judged_dir).unwrap();
    let judge = Arc::new(Recording(Default::default()));
    assert!(judged.set_judge(judge.clone()));
    let v = agentworld_awm::episode::verify_task(&judged, 1, &final_db, "I reordered it.");
    assert_eq!(
        (v.outcome.as_str(), v.reward, v.decided_by.as_deref()),
        ("complete", Some(1.0), Some("judge")),
        "{v:?}"
    );
    assert!(judge.0.lock().unwrap()[0]["instruction"].as_str().unwrap().contains("paper towels"));
    let no_judge = AwmEnvironment::load_offline(&judged_dir).unwrap();
    let v = agentworld_awm::episode::verify_task(&no_judge, 1, &final_db, "");
    assert_eq!((v.outcome.as_str(), v.reward), ("verifier_error", None), "evidence alone is no reward");
    assert!(v.evidence.is_some());

    let v2 = agentworld_awm::episode::verify_task(&env, 2, &final_db, "done");
    assert_eq!(v2.reward, Some(0.0), "task 2's code verifier still runs");
    let (mode, failure) = v2.failures.iter().find(|(m, _)| m == "sql").expect("the broken verifier is reported");
    assert_eq!((mode.as_str(), failure.kind.as_str()), ("sql", "syntax"));
    assert!(failure.message.contains("line 174"), "{}", failure.message);
}

#[test]
fn verifiers_cannot_write_files_open_sockets_or_change_the_databases() {
    let out = tempfile::tempdir().unwrap();
    import_all(out.path());
    let initial = out.path().join("e_commerce_33/state.sqlite");
    let config = VerifierConfig { python: python(), timeout: Duration::from_secs(5), ..VerifierConfig::default() };
    let run = |body: &str| {
        let code = format!(
            "def verify_task_completion(initial_db_path, final_db_path, final_answer=None):\n{body}\n    return {{'result': 'complete'}}\n"
        );
        run_verifier(&config, &code, VerifierMode::Code, &initial, &initial, "")
    };
    let users = count(&initial, "SELECT count(*) FROM users");
    assert!(users > 0);
    let marker = out.path().join("escaped.txt");
    let err = run(&format!("    open({:?}, 'w').write('x')", marker.display().to_string())).unwrap_err();
    assert_eq!(err.kind, "sandbox", "{err}");
    assert!(!marker.exists());
    let err = run("    import socket\n    socket.create_connection(('127.0.0.1', 9))").unwrap_err();
    assert_eq!(err.kind, "sandbox", "{err}");
    let err = run("    import os\n    os.system('true')").unwrap_err();
    assert_eq!(err.kind, "sandbox", "{err}");
    let err = run("    import sqlite3\n    c = sqlite3.connect(final_db_path)\n    c.execute('DELETE FROM users')\n    c.commit()").unwrap_err();
    assert!(err.message.contains("readonly"), "{err}");
    let err = run("    while True:\n        pass").unwrap_err();
    assert_eq!(err.kind, "timeout", "{err}");
    assert_eq!(count(&initial, "SELECT count(*) FROM users"), users, "the original is untouched");
    let ok = run(
        "    import sqlite3, re, json, datetime\n    sqlite3.connect(final_db_path).execute('SELECT 1').fetchall()",
    )
    .unwrap();
    assert!(matches!(ok, VerifierOutput::Completion { complete: true, .. }));
}

#[test]
fn a_killed_worker_marks_its_episodes_infra_error_and_is_replaced() {
    let out = tempfile::tempdir().unwrap();
    import_all(out.path());
    let journal_dir = tempfile::tempdir().unwrap();
    let record = journal_dir.path().join("record.duckdb");
    let journal = Arc::new(agentworld_runtime::Journal::open(&record).unwrap());
    let pool = pool(1);
    let env = AwmEnvironment::load(&out.path().join("content_platform_1"), &pool).unwrap();
    journal.record(vec![env.record().unwrap()]).unwrap();

    let mut ep = AwmEpisode::open_recorded(env.clone(), Some("task-1"), Some(journal.clone())).unwrap();
    let step = ep.call("create_playlist", &json!({ "name": "Road trip", "visibility": "private" }));
    assert_eq!(step.status, StepStatus::Ok, "{}", step.observation);
    assert!(!step.changes.is_empty());
    let first = ep.id();
    let pid = ep.worker_pid().unwrap();
    // SAFETY: killing the worker process this test's pool started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);

    let step = ep.call("get_channel_by_id", &json!({ "channel_id": 1 }));
    assert_eq!(step.status, StepStatus::InfraError, "{}", step.observation);
    assert!(step.observation.contains("died"), "{}", step.observation);
    assert!(ep.failure().is_some());
    assert!(ep.finish("done").is_err(), "a lost episode is never verified");
    ep.close().unwrap();

    // The supervisor puts a new worker in the slot, with the app loaded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pool.restarts() < 1 || !pool.workers().iter().all(|w| w.is_alive()) {
        assert!(Instant::now() < deadline, "worker not replaced");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(pool.workers()[0].pid(), pid);
    let mut again = AwmEpisode::open_recorded(env, Some("task-1"), Some(journal.clone())).unwrap();
    let step = again.call("get_channel_by_id", &json!({ "channel_id": 1 }));
    assert_eq!(step.status, StepStatus::Ok, "{}", step.observation);
    again.close().unwrap();

    journal.flush().unwrap();
    drop(journal);
    let db = duckdb::Connection::open(&record).unwrap();
    let ended: String =
        db.query_row("SELECT status FROM episode_ends WHERE episode_id = ?", [first], |r| r.get(0)).unwrap();
    assert_eq!(ended, "infra_error");
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM steps WHERE episode_id = ? ORDER BY step")
        .unwrap()
        .query_map([first], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(statuses, vec!["ok", "infra_error"]);
    let (table, op): (String, String) = db
        .query_row("SELECT table_name, op FROM changes WHERE episode_id = ? AND step = 1", [first], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((table.as_str(), op.as_str()), ("playlists", "insert"));
    let envs: i64 =
        db.query_row("SELECT count(*) FROM environments WHERE env = 'content_platform_1'", [], |r| r.get(0)).unwrap();
    assert_eq!(envs, 1);
}

#[test]
fn a_hung_worker_is_killed_at_the_deadline_and_replaced() {
    // A hand-made environment whose program has an endpoint that never returns.
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().join("sleepy");
    std::fs::create_dir_all(&env_dir).unwrap();
    let conn = rusqlite::Connection::open(env_dir.join("state.sqlite")).unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');").unwrap();
    drop(conn);
    std::fs::write(
        env_dir.join("app.py"),
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/sleep', operation_id='sleep')\ndef sleep():\n    time.sleep(3600)\n\n@app.get('/ok', operation_id='ok')\ndef ok():\n    return {'ok': True}\n",
    )
    .unwrap();
    std::fs::write(
        env_dir.join("awm-env.json"),
        json!({"format": 1, "name": "sleepy", "source": "test", "clock": "2026-01-01T00:00:00Z", "state": "state.sqlite",
               "app": "app.py", "tasks": []})
        .to_string(),
    )
    .unwrap();
    let pool = BridgePool::start(BridgeConfig {
        python: python(),
        workers: 1,
        call_timeout: Duration::from_millis(1500),
        ..BridgeConfig::default()
    })
    .unwrap();
    let env = AwmEnvironment::load(&env_dir, &pool).unwrap();
    let mut ep = AwmEpisode::open(env.clone(), None).unwrap();
    let started = Instant::now();
    let step = ep.call("sleep", &json!({}));
    assert_eq!(step.status, StepStatus::InfraError);
    assert!(step.observation.contains("did not answer"), "{}", step.observation);
    assert!(started.elapsed() < Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(30);
    while pool.restarts() < 1 || !pool.workers()[0].is_alive() {
        assert!(Instant::now() < deadline, "worker not replaced");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut fresh = AwmEpisode::open(env, None).unwrap();
    assert_eq!(fresh.call("ok", &json!({})).observation, "{\n  \"ok\": true\n}");
}
