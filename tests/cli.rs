//! The `agentworld` binary end to end: validate, envs list, play, report.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentworld"))
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runtime/tests/fixtures/bookstore.toml")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_passes_a_good_spec_and_records_its_episodes() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("v.duckdb");
    let out = bin().arg("validate").arg(fixture()).arg("--record").arg(&record).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok   bookstore"), "{stdout}");
    assert!(stdout.contains("1 environment(s) valid, 0 problem(s)"), "{stdout}");
    let report = bin().arg("report").arg(&record).output().unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "{text}");
    assert!(text.contains("== pass rate per task =="), "{text}");
    assert!(text.contains("cheapest-austen"), "{text}");
}

#[test]
fn validate_fails_on_a_bad_spec_with_file_line_and_item() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(fixture()).unwrap().replace("$stock >= $quantity", "$stock >= $qty");
    std::fs::write(&bad, text).unwrap();
    let out = bin().arg("validate").arg(&bad).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("bad.toml:"), "{stdout}");
    assert!(stdout.contains("tool \"order_book\" step 2: unknown parameter $qty"), "{stdout}");
}

#[test]
fn validate_fails_when_a_verifier_does_not_discriminate() {
    let dir = tempfile::tempdir().unwrap();
    let weak = dir.path().join("weak.toml");
    // The checks no longer pin which book: the validator's perturbed solution still scores 1.0.
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("(2, 'Emma', 'Jane Austen', 7.50, 0)", "(2, 'Emma', 'Jane Austen', 7.50, 5)")
        .replace("AND book_id = 1 AND quantity = 2", "AND quantity = 2")
        .replace(
            "SELECT stock = 10 FROM final.books WHERE id = 1",
            "SELECT (SELECT sum(stock) FROM final.books) = (SELECT sum(stock) FROM initial.books) - 2",
        );
    std::fs::write(&weak, text).unwrap();
    let out = bin().arg("validate").arg(&weak).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("task \"order-dune\": perturbed solution"), "{stdout}");
}

#[test]
fn envs_list_counts_tables_tools_and_tasks() {
    let out = bin().args(["envs", "list"]).arg(fixture()).arg("--json").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["name"], "bookstore");
    assert_eq!((v[0]["tables"].as_u64(), v[0]["tools"].as_u64(), v[0]["tasks"].as_u64()), (Some(4), Some(7), Some(4)));
}

#[test]
fn play_runs_an_episode_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("p.duckdb");
    let mut child = bin()
        .arg("play")
        .arg(fixture())
        .args(["--task", "order-dune", "--record"])
        .arg(&record)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let script = "tools\nsearch_books {\"query\": \"Dune\"}\ncall order_book {\"book_id\": 1, \"quantity\": 2}\norder_book {bad json\nanswer Ordered two copies.\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("task: Order two copies of Dune for me."), "{stdout}");
    assert!(stdout.contains("order_book (writes): Order copies of a book"), "{stdout}");
    assert!(stdout.contains("\"title\": \"Dune Messiah\""), "{stdout}");
    assert!(stdout.contains("error: arguments are not valid JSON"), "{stdout}");
    assert!(stdout.contains("verdict: complete (reward 1)"), "{stdout}");
    let report = bin().arg("report").arg(&record).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(v[0]["rows"][0][2], "2", "two steps recorded: {v}");
}

#[test]
fn the_bundled_environments_validate() {
    let out = bin().current_dir(root()).args(["validate", "envspecs"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let envs = bin().current_dir(root()).args(["envs", "list", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&envs.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(list.len() >= 5, "{v}");
    for e in list {
        assert!(e["tables"].as_u64().unwrap() >= 10, "{e}");
        assert!(e["tools"].as_u64().unwrap() >= 25, "{e}");
        assert!(e["tasks"].as_u64().unwrap() >= 10, "{e}");
    }
}

#[test]
fn report_on_a_missing_record_is_a_clear_error() {
    let out = bin().args(["report", "/nonexistent/record.duckdb"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no record at /nonexistent/record.duckdb"));
}

#[test]
fn load_refuses_bad_specs_and_bad_config_with_where_and_what() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(fixture()).unwrap().replace("$stock >= $quantity", "$stock >= $qty");
    std::fs::write(&bad, text).unwrap();
    let out = bin().args(["load", "--seconds", "0.1", "--envs"]).arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml") && stderr.contains("$qty"), "{stderr}");

    let config = dir.path().join("aw.toml");
    std::fs::write(&config, "[runtime]\ncall_timeout = 5\n").unwrap();
    let out = bin()
        .args(["load", "--seconds", "0.1", "--envs"])
        .arg(fixture())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("aw.toml") && stderr.contains("call_timeout"), "{stderr}");
}

fn read_tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn generate_writes_the_same_bytes_for_a_seed_and_the_specs_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let run = |out: &std::path::Path, workers: &str| {
        let o = bin()
            .args(["generate", "--count", "6", "--seed", "77", "--workers", workers, "--out"])
            .arg(out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
        stdout
    };
    let stdout = run(&a, "1");
    run(&b, "3");
    assert!(stdout.contains("generated 6 environment(s)"), "{stdout}");
    assert!(stdout.contains("task kinds:") && stdout.contains("refusal"), "{stdout}");
    assert!(stdout.contains("all passed self-validation"), "{stdout}");
    let (ta, tb) = (read_tree(&a), read_tree(&b));
    assert_eq!(ta.len(), 7, "6 specs and a manifest");
    assert!(ta == tb, "same seed, different bytes (1 vs 3 generator actors)");
    // What was written is a valid set of environments for the rest of the toolchain.
    let v = bin().arg("validate").arg(&a).output().unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{}", text.lines().rev().take(20).collect::<Vec<_>>().join("\n"));
    assert!(text.contains("6 environment(s) valid, 0 problem(s)"), "{text}");
    let s = bin().args(["envs", "stats"]).arg(&a).output().unwrap();
    let text = String::from_utf8_lossy(&s.stdout);
    assert!(s.status.success(), "{text}");
    assert!(
        text.contains("6 environment(s)") && text.contains("domains (6)") && text.contains("task kinds:"),
        "{text}"
    );
}

#[test]
fn generate_split_keeps_train_and_heldout_domains_apart() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["generate", "--count", "10", "--seed", "3", "--split", "0.3", "--domains"])
        .arg("retail,banking,hotel,library,hr")
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let domains_in = |sub: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir.path().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().split('-').next().unwrap().to_string())
            .collect()
    };
    let (train, held) = (domains_in("train"), domains_in("heldout"));
    assert!(!train.is_empty() && !held.is_empty(), "{train:?} {held:?}");
    assert!(train.is_disjoint(&held), "train {train:?} and held-out {held:?} share a domain");
    assert_eq!(train.len() + held.len(), 5);
}

#[test]
fn generate_refuses_unknown_domains_and_broken_domain_files_with_where_and_what() {
    let dir = tempfile::tempdir().unwrap();
    let o =
        bin().args(["generate", "--count", "1", "--domains", "atlantis", "--out"]).arg(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("unknown domain `atlantis`") && err.contains("retail"), "{err}");
    let bad = dir.path().join("zoo.dsl");
    std::fs::write(&bad, "domain zoo\nabout a zoo\nbrand Zoo\ntable animals animal core rows 2-4\n  col legs int(4)\n")
        .unwrap();
    let o = bin()
        .args(["generate", "--count", "1", "--domain-file"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("zoo.dsl:5:") && err.contains("int(4)"), "{err}");
}
