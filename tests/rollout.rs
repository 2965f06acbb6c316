//! `agentworld rollout --policy openai` against a scripted OpenAI-compatible chat server on loopback (real HTTP): a
//! fixed conversation per task, in native tool-calling and AWM text modes, including a malformed tool call that
//! must end its episode with the -1 format reward.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentworld"))
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runtime/tests/fixtures/bookstore.toml")
}

/// The scripted model: what it answers depends only on the conversation so far.
fn script(req: &Value) -> Value {
    let msgs = req["messages"].as_array().cloned().unwrap_or_default();
    let task = msgs.iter().find(|m| m["role"] == "user").and_then(|m| m["content"].as_str()).unwrap_or("").to_string();
    let last = msgs.last().cloned().unwrap_or(Value::Null);
    let last_text = last["content"].as_str().unwrap_or("").to_string();
    let text_mode = req.get("tools").is_none();
    let austen = task.contains("Jane Austen");
    let message = if text_mode {
        let content = if msgs.len() == 2 && austen {
            r#"<tool_call>{"name": "list_tools", "arguments": {}}</tool_call>"#.to_string()
        } else if msgs.len() == 2 {
            r#"I will cancel it. <tool_call>{"name": "call_tool", "arguments": {"tool_name": "cancel_order", "arguments": "{order_id: "}}</tool_call>"#.to_string()
        } else if last_text.contains("Available MCP Tools") {
            r#"<tool_call>{"name": "call_tool", "arguments": {"tool_name": "search_books", "arguments": "{\"query\": \"e\"}"}}</tool_call> and more text"#.to_string()
        } else {
            "The cheapest Jane Austen book in stock is Persuasion at $6.25.".to_string()
        };
        json!({ "role": "assistant", "content": content })
    } else if msgs.len() == 2 && austen {
        json!({ "role": "assistant", "content": null, "tool_calls": [
            { "id": "call_1", "type": "function", "function": { "name": "search_books", "arguments": "{\"query\": \"e\"}" } },
            { "id": "call_2", "type": "function", "function": { "name": "get_book", "arguments": "{\"book_id\": 1}" } }
        ] })
    } else if msgs.len() == 2 {
        json!({ "role": "assistant", "content": null, "tool_calls": [
            { "id": "call_9", "type": "function", "function": { "name": "cancel_order", "arguments": "{\"order_id\": " } }
        ] })
    } else {
        json!({ "role": "assistant", "content": "The cheapest Jane Austen book in stock is Persuasion at $6.25." })
    };
    json!({ "id": "x", "object": "chat.completion", "model": req["model"], "choices": [{ "index": 0, "message": message, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120 } })
}

/// A real HTTP server on a free loopback port; returns its base URL and the requests it saw.
fn serve() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                assert!(line.starts_with("POST /v1/chat/completions "), "{line}");
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let req: Value = serde_json::from_slice(&body).unwrap();
                let reply = script(&req).to_string();
                log.lock().unwrap().push(req);
                let mut out = stream;
                write!(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len()).unwrap();
            });
        }
    });
    (url, seen)
}

fn run(mode: &str, out: &Path) -> (Value, Vec<Value>) {
    let (url, seen) = serve();
    let o = bin()
        .args(["rollout", "--policy", "openai", "--model", "scripted", "--mode", mode, "--api-url", &url])
        .arg("--envs")
        .arg(fixture())
        .args([
            "--task",
            "bookstore/cheapest-austen",
            "--task",
            "bookstore/cancel-shipped",
            "--group-size",
            "2",
            "--json",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let requests = seen.lock().unwrap().clone();
    (report, requests)
}

fn check(report: &Value, journal: &Path) {
    let eps = report["episodes_detail"].as_array().unwrap();
    assert_eq!(eps.len(), 4);
    for e in eps {
        if e["task"] == "cheapest-austen" {
            assert_eq!(e["format_error"], false, "{e}");
            assert_eq!(e["actions"], json!(["llm_call", "llm_answer"]), "{e}");
            assert_eq!(e["success"], true, "the scripted answer is right: {e}");
        } else {
            assert_eq!(e["format_error"], true, "{e}");
            assert_eq!(e["reward"].as_f64().unwrap(), -1.0, "{e}");
            assert_eq!(e["advantage"].as_f64().unwrap(), 0.0, "a group of equal rewards has no advantage");
        }
    }
    assert_eq!(report["format_errors"], 2);
    // The journal has the calls that ran and the verdicts of the answered episodes.
    drop(agentworld_runtime::Journal::open(journal).unwrap());
    let db = duckdb::Connection::open(journal).unwrap();
    let searches: i64 =
        db.query_row("SELECT count(*) FROM steps WHERE tool = 'search_books'", [], |r| r.get(0)).unwrap();
    let verdicts: i64 = db.query_row("SELECT count(*) FROM verdicts", [], |r| r.get(0)).unwrap();
    let cancels: i64 =
        db.query_row("SELECT count(*) FROM steps WHERE tool = 'cancel_order'", [], |r| r.get(0)).unwrap();
    assert_eq!(
        (searches, verdicts, cancels),
        (2, 2, 0),
        "only the first call of a turn runs; malformed calls never run"
    );
}

#[test]
fn native_tool_calling_episodes_run_and_a_malformed_call_scores_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let (report, requests) = run("tools", dir.path());
    check(&report, &dir.path().join("journal.duckdb"));
    let first = &requests[0];
    let tools = first["tools"].as_array().expect("tools parameter");
    let search = tools.iter().find(|t| t["function"]["name"] == "search_books").expect("search_books offered");
    assert_eq!(search["function"]["parameters"]["type"], "object");
    assert!(search["function"]["parameters"]["properties"]["query"].is_object());
    // The tool result went back as a tool message answering the call that ran.
    let answered = requests.iter().find(|r| r["messages"].as_array().unwrap().len() == 4).expect("a second turn");
    let msgs = answered["messages"].as_array().unwrap();
    assert_eq!(msgs[2]["tool_calls"].as_array().unwrap().len(), 1, "only the first call is kept");
    assert_eq!(msgs[3]["role"], "tool");
    assert_eq!(msgs[3]["tool_call_id"], "call_1");
    assert!(msgs[3]["content"].as_str().unwrap().contains("\n  "), "2-space indented JSON");
}

#[test]
fn awm_text_protocol_episodes_run_and_a_malformed_call_scores_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let (report, requests) = run("text", dir.path());
    check(&report, &dir.path().join("journal.duckdb"));
    assert!(requests.iter().all(|r| r.get("tools").is_none()));
    let listing = requests
        .iter()
        .flat_map(|r| r["messages"].as_array().unwrap().clone())
        .find(|m| m["content"].as_str().is_some_and(|c| c.contains("Available MCP Tools")))
        .expect("list_tools answered");
    let text = listing["content"].as_str().unwrap();
    assert!(
        text.contains(&"=".repeat(80))
            && text.contains("mcp_tool_search_books")
            && text.contains("- query: string (required)"),
        "{text}"
    );
}

#[test]
fn rollout_refuses_bad_arguments_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--policy", "openai", "--model", "m"], "--policy openai needs --api-url"),
        (
            &["--policy", "openai", "--model", "m", "--api-url", "https://api.example.com/v1"],
            "only http:// URLs are supported",
        ),
        (&["--policy", "builtin", "--task", "bookstore"], "--task bookstore: expected ENV/TASK"),
        (&["--policy", "builtin", "--task", "bookstore/no-such-task"], "`bookstore` has no task `no-such-task`"),
        (
            &["--policy", "openai", "--model", "m", "--api-url", "http://127.0.0.1:9/v1", "--mode", "xml"],
            "unknown mode `xml`",
        ),
    ];
    for (args, expected) in cases {
        let o =
            bin().arg("rollout").args(args).arg("--envs").arg(fixture()).arg("--out").arg(dir.path()).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(!dir.path().join("journal.duckdb").exists(), "nothing ran");
}
