//! End to end for the AgentWorldModel-1K path: `agentworld import-awm` on the dataset's real rows, then the real
//! `agentworld serve --awm` serving the imported environments through the HTTP API and MCP (the official rmcp
//! client), with AWM's own observation wording, and the DuckDB journal recording steps and row changes.
//! Needs the bridge's Python environment (`scripts/python-deps.sh`, run by `.ci/run`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agentworld_server::loadgen::Conn;
use common::{Served, req};
use serde_json::{Value, json};

mod common;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("awm/tests/data/awm-1k-sample")
}

fn import(out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_agentworld"))
        .arg("import-awm")
        .arg(sample())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_awm_environments_are_served_over_http_and_mcp_with_awms_wording() {
    use rmcp::ServiceExt;
    use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
    use rmcp::transport::StreamableHttpClientTransport;

    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("awm");
    let summary = import(&envs);
    assert!(summary.contains("3 environments written"), "{summary}");
    assert!(summary.contains("task-2: sql-mode verifier") && summary.contains("syntax error"), "{summary}");
    let journal = dir.path().join("record.duckdb");
    let mut served = Served::start(
        dir.path(),
        &["--awm", envs.to_str().unwrap(), "--awm-workers", "1", "--journal", journal.to_str().unwrap()],
    );
    let mut c = Conn::new(&served.addr, Duration::from_secs(30));

    // Listed beside the native environments; e_commerce_33 has no program in the sample, so it is not served.
    let (status, body) = req(&mut c, "GET", "/v1/environments", None).await;
    assert_eq!(status, 200);
    let awm: Vec<&str> = body["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "awm")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(awm, vec!["code_hosting_2", "content_platform_1"]);
    let (_, env) = req(&mut c, "GET", "/v1/environments/content_platform_1", None).await;
    assert_eq!(env["tools"].as_array().unwrap().len(), 34);
    assert_eq!(env["tasks"].as_array().unwrap().len(), 10);

    // HTTP reset/step.
    let (status, opened) =
        req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "content_platform_1", "task": "task-3"}))).await;
    assert_eq!(status, 201, "{opened}");
    assert!(opened["instruction"].as_str().unwrap().len() > 10);
    let id = opened["id"].as_u64().unwrap();
    let call = |tool: &str, args: Value| json!({"tool": tool, "arguments": args});
    let (status, r) = req(
        &mut c,
        "POST",
        &format!("/v1/episodes/{id}/calls"),
        Some(call("create_playlist", json!({"name": "Focus", "visibility": "private"}))),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(r["status"], "ok", "{r}");
    assert!(r["observation"].as_str().unwrap().starts_with("{\n  \"playlist\": {\n    \"id\": "), "{r}");
    let (_, r) = req(
        &mut c,
        "POST",
        &format!("/v1/episodes/{id}/calls"),
        Some(call("get_channel_by_id", json!({"channel_id": "one"}))),
    )
    .await;
    assert_eq!(r["status"], "tool_error");
    assert_eq!(r["observation"], "Input validation error: 'one' is not of type 'integer'");
    let (status, r) = req(&mut c, "POST", &format!("/v1/episodes/{id}/branch"), Some(json!({"count": 2}))).await;
    assert_eq!(status, 400, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("cannot be branched"));
    let (status, done) =
        req(&mut c, "POST", &format!("/v1/episodes/{id}/finish"), Some(json!({"answer": "done"}))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["steps"], 2);
    assert_eq!(done["verdict"]["outcome"], "verifier_error", "the sample has no verifiers for this scenario: {done}");
    assert!(done["verdict"]["reward"].is_null(), "no verifier is not a zero reward");
    let (status, t) = req(&mut c, "GET", &format!("/v1/episodes/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(t["steps"].as_array().unwrap().len(), 2);
    let (status, _) =
        req(&mut c, "POST", &format!("/v1/episodes/{id}/calls"), Some(call("list_user_subscriptions", json!({}))))
            .await;
    assert_eq!(status, 404, "a finished episode takes no calls");

    // MCP: a session is an episode of the task in the URL; the tools are the program's own.
    let url = format!("http://{}/mcp/content_platform_1/task-0", served.addr);
    let mut config = ClientConfig::default();
    config.protocol_version = ProtocolVersion::V_2025_11_25;
    let client = config.serve(StreamableHttpClientTransport::from_uri(url)).await.unwrap();
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap_or_default();
    assert!(instructions.contains("Kurzgesagt"), "{instructions}");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 35, "34 tools and finish_episode");
    let sub = tools.iter().find(|t| t.name == "subscribe_to_channel").unwrap();
    assert_eq!(sub.input_schema["required"], json!(["channel_id"]));
    let args = |v: Value| serde_json::from_value(v).unwrap();
    let r = client
        .call_tool(CallToolRequestParams::new("get_channel_by_id").with_arguments(args(json!({"channel_id": 1}))))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true));
    let text = r.content[0].as_text().unwrap().text.clone();
    assert!(text.starts_with("{\n  \"channel\": {\n    \"id\": 1,"), "{text}");
    let r = client.call_tool(CallToolRequestParams::new("subscribe_to_channel")).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(r.content[0].as_text().unwrap().text, "Input validation error: 'channel_id' is a required property");
    let _ = client.cancel().await;

    // Stop; the record has the steps, the row change of the write, and how each episode ended.
    let _ = Command::new("kill").args(["-TERM", &served.child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while served.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let db = duckdb::Connection::open(&journal).unwrap();
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM steps WHERE episode_id = ? ORDER BY step")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(statuses, vec!["ok", "tool_error"]);
    let (table, op, after): (String, String, String) = db
        .query_row("SELECT table_name, op, after FROM changes WHERE episode_id = ?", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((table.as_str(), op.as_str()), ("playlists", "insert"));
    assert!(after.contains("\"name\":\"Focus\""), "{after}");
    let ends: Vec<String> = db
        .prepare("SELECT e.status FROM episode_ends e JOIN episodes p USING (episode_id) WHERE p.env = 'content_platform_1' ORDER BY e.ended_us")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ends, vec!["finished", "closed"], "the HTTP episode finished, the MCP session's closed");
}

/// A scripted OpenAI-compatible chat server (real HTTP) playing AWM's text protocol: for the task about
/// Kurzgesagt it lists the tools, subscribes to channel 1 and answers; for any other task it writes a broken call.
fn scripted_text_llm() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let messages = req["messages"].as_array().cloned().unwrap_or_default();
            let task = messages.get(1).and_then(|m| m["content"].as_str()).unwrap_or("");
            let content = if !task.contains("Kurzgesagt") {
                "<tool_call>{\"name\": \"call_tool\", \"arguments\": {broken</tool_call>".to_string()
            } else {
                match messages.len() {
                    2 => "<tool_call>{\"name\": \"list_tools\", \"arguments\": {}}</tool_call>".to_string(),
                    4 => "<tool_call>{\"name\": \"call_tool\", \"arguments\": {\"tool_name\": \"subscribe_to_channel\", \"arguments\": \"{\\\"channel_id\\\": 1}\"}}</tool_call>".to_string(),
                    _ => "I subscribed you to Kurzgesagt – In a Nutshell.".to_string(),
                }
            };
            let out = json!({"choices": [{"message": {"role": "assistant", "content": content}}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
            .to_string();
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                out.len()
            );
        }
    });
    (url, count)
}

#[test]
fn an_llm_plays_imported_environments_in_awms_text_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("awm");
    import(&envs);
    // The sample has no verifier for content_platform_1: give task-0 one (code mode) so the rollout is scored.
    let env_dir = envs.join("content_platform_1");
    std::fs::write(
        env_dir.join("verifiers/task-0.code.py"),
        "def verify_task_completion(initial_db_path, final_db_path, final_answer=None):\n    import sqlite3\n    \
         q = 'SELECT count(*) FROM user_subscriptions WHERE user_id = 1 AND channel_id = 1'\n    \
         before = sqlite3.connect(initial_db_path).execute(q).fetchone()[0]\n    \
         after = sqlite3.connect(final_db_path).execute(q).fetchone()[0]\n    \
         return {'result': 'complete' if before == 0 and after == 1 else 'others'}\n",
    )
    .unwrap();
    let manifest_path = env_dir.join("awm-env.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["tasks"][0]["code_verifier"] = json!("verifiers/task-0.code.py");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let (url, requests) = scripted_text_llm();
    let out = dir.path().join("rollout");
    let o = Command::new(env!("CARGO_BIN_EXE_agentworld"))
        .args([
            "rollout",
            "--api-url",
            &url,
            "--model",
            "scripted",
            "--group-size",
            "2",
            "--concurrency",
            "1",
            "--json",
        ])
        .args(["--task", "content_platform_1/task-0", "--task", "content_platform_1/task-1"])
        .arg("--awm")
        .arg(&envs)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in &results[..2] {
        assert_eq!(r["task"], "task-0");
        assert_eq!(r["outcome"], "complete", "{r}");
        assert_eq!(r["reward"], 1.0);
        assert_eq!(r["steps"], 1, "list_tools is not a step");
        assert_eq!(r["advantage"], 0.0, "equal rewards in a group: no advantage");
    }
    for r in &results[2..] {
        assert_eq!(r["outcome"], "format_error", "{r}");
        assert_eq!(r["reward"], -1.0);
    }
    assert_eq!(requests.load(std::sync::atomic::Ordering::Relaxed), 2 * 3 + 2);
    // The steps and the subscription's row change are in the record.
    let db = duckdb::Connection::open(out.join("journal.duckdb")).unwrap();
    let inserts: i64 = db
        .query_row("SELECT count(*) FROM changes WHERE table_name = 'user_subscriptions' AND op = 'insert'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(inserts, 2);
    let verdicts: i64 =
        db.query_row("SELECT count(*) FROM verdicts WHERE outcome = 'complete'", [], |r| r.get(0)).unwrap();
    assert_eq!(verdicts, 2);
}
