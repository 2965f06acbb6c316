//! `agentworld synth` as a user runs it, against a scripted OpenAI-compatible server (real HTTP): killed with
//! SIGKILL in the middle of a run, then rerun, it finishes without repeating any call that had finished (counted on
//! the server), and what it writes passes `agentworld validate`.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentworld_synth::scripted::{Script, ScriptedServer, generated_specs};

fn journal_keys(path: &Path) -> HashSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["key"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_run_killed_with_sigkill_resumes_without_repeating_finished_calls() {
    let mut script = Script::new(generated_specs(12, 3));
    script.delay(Duration::from_millis(15));
    let seeds = script.seeds();
    let server = ScriptedServer::start(script).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seeds_file = dir.path().join("seeds.jsonl");
    let lines: Vec<String> = seeds.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
    std::fs::write(&seeds_file, lines.join("\n")).unwrap();
    let out = dir.path().join("out");
    let synth = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_agentworld"));
        c.args([
            "synth",
            "--api-url",
            &server.url,
            "--model",
            "scripted",
            "--count",
            "12",
            "--concurrency",
            "2",
            "--quiet",
        ])
        .arg("--seeds")
        .arg(&seeds_file)
        .arg("--out")
        .arg(&out);
        c
    };

    let mut child = synth().stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let journal = out.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while journal_keys(&journal).len() < 25 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!("the run ended before it could be killed: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished = journal_keys(&journal);
    let sent_before = server.keys().len();
    assert!(!out.join("report.json").exists(), "killed before the end");

    let done = synth().output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let resent: Vec<String> = server.keys()[sent_before..].iter().filter(|k| finished.contains(*k)).cloned().collect();
    assert!(resent.is_empty(), "{} finished calls were sent again", resent.len());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["usage"]["replayed"].as_u64().unwrap() as usize, finished.len());
    assert_eq!(report["environments"], 12, "{report}");

    let v = Command::new(env!("CARGO_BIN_EXE_agentworld")).arg("validate").arg(out.join("envs")).output().unwrap();
    assert!(v.status.success(), "{}{}", String::from_utf8_lossy(&v.stdout), String::from_utf8_lossy(&v.stderr));
}

#[test]
fn bad_invocations_say_what_is_missing() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_agentworld")).args(["synth", "--count", "3", "--out", "x"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--api-url is required"));
    let dry = Command::new(env!("CARGO_BIN_EXE_agentworld"))
        .args(["synth", "--dry-run", "--count", "2", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let text = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(text.matches("[stage: scenarios]").count(), 2, "{text}");
    assert!(text.contains("[seed: dental_clinic]"), "the bundled seeds: {text}");
}
