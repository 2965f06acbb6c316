//! Faults with real processes and signals: `kill -9` of a process serving load, then a restart on the same
//! journal; nothing that was acknowledged to a client may be missing, and what was open is marked interrupted.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentworld"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn kill_9_under_load_then_restart_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.duckdb");
    let mut child = bin()
        .args(["load", "--envs"])
        .arg(root().join("envspecs"))
        .arg("--journal")
        .arg(&journal)
        .args(["--episodes", "300", "--clients", "32", "--seconds", "120", "--steps-per-episode", "6", "--acks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut steps = HashSet::new();
    let mut verdicts = HashSet::new();
    let record = |line: &str, steps: &mut HashSet<(u64, i64)>, verdicts: &mut HashSet<u64>| {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["ack", "step", ep, n, _] => {
                steps.insert((ep.parse().unwrap(), n.parse().unwrap()));
            }
            ["ack", "verdict", ep, _] => {
                verdicts.insert(ep.parse().unwrap());
            }
            _ => {}
        }
    };
    while steps.len() < 4000 || verdicts.len() < 100 {
        let line = lines.next().expect("the load process ended early").unwrap();
        record(&line, &mut steps, &mut verdicts);
    }
    // SIGKILL: no chance to flush anything.
    child.kill().unwrap();
    // Whatever reached the pipe before the kill was acknowledged too.
    for line in lines.map_while(Result::ok) {
        record(&line, &mut steps, &mut verdicts);
    }
    let status = child.wait().unwrap();
    assert!(!status.success());

    // Restart on the same journal: recovery runs, then a short clean run.
    let out = bin()
        .args(["load", "--envs"])
        .arg(root().join("envspecs"))
        .arg("--journal")
        .arg(&journal)
        .args(["--episodes", "10", "--clients", "2", "--seconds", "0.5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("episodes left open before were marked interrupted"), "{stderr}");
    eprintln!("{stderr}");

    let conn = duckdb::Connection::open(&journal).unwrap();
    let mut recorded_steps = HashSet::new();
    let mut stmt = conn.prepare("SELECT episode_id, step FROM steps").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, i64>(1)?))).unwrap() {
        recorded_steps.insert(row.unwrap());
    }
    let missing: Vec<_> = steps.difference(&recorded_steps).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged steps missing, e.g. {missing:?}",
        steps.difference(&recorded_steps).count()
    );
    let mut recorded_verdicts = HashSet::new();
    let mut stmt = conn.prepare("SELECT episode_id FROM verdicts").unwrap();
    for row in stmt.query_map([], |r| r.get::<_, u64>(0)).unwrap() {
        recorded_verdicts.insert(row.unwrap());
    }
    assert!(verdicts.is_subset(&recorded_verdicts), "acknowledged verdicts missing");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert!(count("SELECT count(*) FROM episode_ends WHERE status = 'interrupted'") >= 250, "open episodes are marked");
    assert_eq!(count("SELECT count(*) FROM episodes WHERE episode_id NOT IN (SELECT episode_id FROM episode_ends)"), 0);
    assert_eq!(count("SELECT count(*) FROM (SELECT episode_id FROM episode_ends GROUP BY 1 HAVING count(*) > 1)"), 0);
}
