//! `agentworld train` end to end: the policy improves on held-out domains, and a run killed with SIGKILL resumes
//! from its checkpoint without losing journaled episodes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentworld"))
}

fn small_run(out: &Path) -> Command {
    let mut c = bin();
    c.args([
        "train",
        "--generate",
        "30",
        "--iterations",
        "6",
        "--checkpoint-every",
        "2",
        "--tasks-per-iteration",
        "16",
    ])
    .args(["--group-size", "4", "--no-bundled", "--quiet", "--seed", "5", "--out"])
    .arg(out);
    c
}

fn finished_episodes(journal: &Path) -> BTreeSet<u64> {
    // Opening the journal replays its write-ahead log (what a killed process acknowledged) into DuckDB.
    drop(agentworld_runtime::Journal::open(journal).expect("journal opens"));
    let db = duckdb::Connection::open(journal).expect("duckdb opens");
    let mut stmt = db.prepare("SELECT episode_id FROM verdicts").unwrap();
    stmt.query_map([], |r| r.get::<_, u64>(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_killed_training_run_resumes_from_its_checkpoint_without_losing_episodes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut child = small_run(&out).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let checkpoint = out.join("checkpoint.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let at = std::fs::read(&checkpoint)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["iteration"].as_u64());
        if at.is_some_and(|i| (2..6).contains(&i)) {
            break;
        }
        assert!(at != Some(6), "the run finished before it could be killed");
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    let killed_at = saved["iteration"].as_u64().unwrap();
    let before = finished_episodes(&out.join("journal.duckdb"));
    assert!(!before.is_empty(), "episodes were journaled before the kill");

    let done = small_run(&out).arg("--resume").output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success() || stdout.contains("held-out success"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // The resumed run did only the iterations after the checkpoint.
    let first = stdout.lines().find(|l| l.starts_with("it ")).expect("iteration lines");
    assert!(first.starts_with(&format!("it {}/6", killed_at + 1)), "{first}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let iterations: Vec<u64> =
        report["curve"].as_array().unwrap().iter().map(|p| p["iteration"].as_u64().unwrap()).collect();
    assert_eq!(iterations, (1..=6).collect::<Vec<_>>());
    let after = finished_episodes(&out.join("journal.duckdb"));
    let lost: Vec<&u64> = before.difference(&after).collect();
    assert!(lost.is_empty(), "{} journaled episodes lost", lost.len());
    assert!(after.len() > before.len());
    assert!(out.join("curve.svg").exists());
}

#[test]
fn training_improves_held_out_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = bin()
        .args([
            "train",
            "--generate",
            "60",
            "--iterations",
            "25",
            "--no-bundled",
            "--quiet",
            "--no-journal",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let before = report["held_out_before"]["success_rate"].as_f64().unwrap();
    let after = report["held_out_after"]["success_rate"].as_f64().unwrap();
    assert!(after >= before + 0.2 && after >= 2.0 * before, "held-out success {before} -> {after}");
    let svg = std::fs::read_to_string(out.join("curve.svg")).unwrap();
    assert!(svg.contains("held-out success, trained"));
}

#[test]
fn export_writes_step_samples_that_read_back_from_parquet_with_the_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = bin()
        .args(["train", "--generate", "25", "--iterations", "2", "--tasks-per-iteration", "8", "--group-size", "4"])
        .args(["--no-bundled", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "{}", String::from_utf8_lossy(&o.stderr));
    let export = dir.path().join("export");
    let o = bin()
        .arg("export")
        .arg(out.join("journal.duckdb"))
        .arg("--out")
        .arg(&export)
        .args(["--window", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("step samples (history window 2)"), "{stdout}");
    let db = duckdb::Connection::open_in_memory().unwrap();
    let steps = export.join("steps.parquet").display().to_string();
    let cols: Vec<String> = db
        .prepare(&format!("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('{steps}'))"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        cols,
        [
            "episode_id",
            "env",
            "task_id",
            "group_id",
            "step",
            "instruction",
            "history",
            "action",
            "observation",
            "status",
            "is_final",
            "reward",
            "advantage",
            "outcome"
        ]
    );
    // Every finished episode ends with exactly one answer sample; histories never exceed the window.
    let (episodes, finals, max_history): (i64, i64, i64) = db
        .query_row(
            &format!(
                "SELECT count(DISTINCT episode_id), count(*) FILTER (WHERE is_final), max(json_array_length(history)) FROM read_parquet('{steps}')"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(episodes > 0 && episodes == finals, "{episodes} episodes, {finals} final samples");
    assert!(max_history <= 2);
    // GRPO advantages: zero-mean within each group of at least two episodes.
    let worst: f64 = db
        .query_row(
            &format!(
                "SELECT coalesce(max(abs(s)), 0) FROM (SELECT group_id, sum(advantage) AS s FROM read_parquet('{}') GROUP BY group_id HAVING count(*) > 1)",
                export.join("episodes.parquet").display()
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(worst < 1e-3, "group advantage sums up to {worst}");
    let bad = bin()
        .arg("export")
        .arg(out.join("journal.duckdb"))
        .arg("--out")
        .arg(&export)
        .args(["--window", "21"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at most 20"));
}

#[test]
fn the_same_seed_trains_the_same_policy() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| -> serde_json::Value {
        let out = dir.path().join(name);
        let o = bin()
            .args([
                "train",
                "--generate",
                "25",
                "--iterations",
                "4",
                "--tasks-per-iteration",
                "16",
                "--group-size",
                "4",
            ])
            .args(["--no-bundled", "--quiet", "--no-journal", "--seed", "11", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.code().is_some(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    let learning = |r: &serde_json::Value| -> Vec<(f64, f64, f64)> {
        r["curve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (p["mean_reward"].as_f64().unwrap(), p["success_rate"].as_f64().unwrap(), p["loss"].as_f64().unwrap())
            })
            .collect()
    };
    assert_eq!(learning(&a), learning(&b), "same seed, different training");
    assert_eq!(a["held_out_after"], b["held_out_after"]);
}

#[test]
fn train_and_export_refuse_bad_arguments_with_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = bin().args(["train", "--split", "1.5", "--out"]).arg(&out).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--split 1.5: expected a fraction between 0 and 1"));
    let o = bin().args(["train", "--device", "tpu", "--out"]).arg(&out).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--device"), "{}", String::from_utf8_lossy(&o.stderr));
    // A corrupt checkpoint is named, not silently replaced by a fresh run.
    std::fs::write(out.join("checkpoint.json"), "{ half a checkpoint").unwrap();
    let o = bin().args(["train", "--resume", "--out"]).arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("checkpoint.json") && err.contains("not a checkpoint"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("checkpoint.json")).unwrap(), "{ half a checkpoint", "left as it was");
    let o = bin().arg("export").arg(dir.path().join("missing.duckdb")).arg("--out").arg(dir.path()).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.duckdb: no such journal"));
}
