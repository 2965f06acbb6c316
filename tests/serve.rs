//! End to end: the real `agentworld serve` binary on a free loopback port, driven over HTTP (the /v1 API) and
//! MCP (the official rmcp client), with verdicts checked against the DuckDB journal; every kind of bad input;
//! and SIGTERM in the middle of load with nothing acknowledged lost.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentworld_runtime::Environment;
use agentworld_server::loadgen::{Conn, rpc_reply};
use common::{Served, req, root};
use serde_json::{Value, json};

mod common;

async fn raw(conn: &mut Conn, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let r = conn.request(method, path, headers, body).await.unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into()));
    (r.status, v)
}

fn shop() -> Environment {
    Environment::load(&root().join("envspecs/shop.toml")).unwrap()
}

fn journal_rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..n).map(|i| r.get::<_, duckdb::types::Value>(i).map(|v| format!("{v:?}")).unwrap()).collect())
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_plays_episodes_end_to_end_and_the_journal_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.duckdb");
    let mut server = Served::start(dir.path(), &["--journal", journal.to_str().unwrap()]);
    let mut c = server.conn();
    let env = shop();
    let task = &env.tasks()[0];

    let (s, v) = req(&mut c, "GET", "/v1/environments", None).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["environments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"shop"), "{names:?}");
    let (s, v) = req(&mut c, "GET", "/v1/environments/shop", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["tools"].as_array().unwrap().len(), env.tools().len());
    assert_eq!(v["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(v["tasks"][0]["instruction"], task.spec.instruction.as_str());

    // Reset, step through the reference solution, finish: reward 1.
    let (s, opened) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "shop", "task": task.id()}))).await;
    assert_eq!(s, 201, "{opened}");
    assert_eq!(opened["instruction"], task.spec.instruction.as_str());
    let id = opened["id"].as_u64().unwrap();
    for (i, call) in task.spec.solution.iter().enumerate() {
        let body = json!({"tool": call.tool, "arguments": call.args});
        let (s, reply) = req(&mut c, "POST", &format!("/v1/episodes/{id}/calls"), Some(body)).await;
        assert_eq!(s, 200, "{reply}");
        assert_eq!(reply["status"], "ok", "{reply}");
        assert_eq!(reply["step"], i + 1);
    }
    let (s, done) =
        req(&mut c, "POST", &format!("/v1/episodes/{id}/finish"), Some(json!({"answer": task.spec.answer}))).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["verdict"]["reward"], 1.0, "{done}");
    assert!(!done["verdict"]["checks"].as_array().unwrap().is_empty());
    let (s, t) = req(&mut c, "GET", &format!("/v1/episodes/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(t["steps"].as_array().unwrap().len(), task.spec.solution.len());
    assert_eq!(t["ended"], "finished");

    // A finished episode takes no more calls: 409 with the reason.
    let (s, e) = req(&mut c, "POST", &format!("/v1/episodes/{id}/calls"), Some(json!({"tool": "view_cart"}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("episode_ended")), "{e}");

    // A GRPO group of 4 from one snapshot; a wrong answer scores below 1; branch copies state; close ends.
    let (s, g) = req(&mut c, "POST", "/v1/groups", Some(json!({"env": "shop", "task": task.id(), "size": 4}))).await;
    assert_eq!(s, 201, "{g}");
    let members: Vec<u64> = g["episodes"].as_array().unwrap().iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(members.len(), 4);
    assert!(g["episodes"].as_array().unwrap().iter().all(|e| e["group"] == g["group"]));
    let (s, wrong) =
        req(&mut c, "POST", &format!("/v1/episodes/{}/finish", members[0]), Some(json!({"answer": "no idea"}))).await;
    assert_eq!(s, 200);
    assert!(wrong["verdict"]["reward"].as_f64().unwrap() < 1.0, "{wrong}");
    let first = &task.spec.solution[0];
    let (s, _) = req(
        &mut c,
        "POST",
        &format!("/v1/episodes/{}/calls", members[1]),
        Some(json!({"tool": first.tool, "arguments": first.args})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = req(&mut c, "POST", &format!("/v1/episodes/{}/branch", members[1]), Some(json!({"count": 2}))).await;
    assert_eq!(s, 201, "{b}");
    let branch = b["episodes"][0]["id"].as_u64().unwrap();
    assert_eq!(b["episodes"][0]["lineage"]["parent"], members[1]);
    let (s, closed) = req(&mut c, "DELETE", &format!("/v1/episodes/{}", members[2]), None).await;
    assert_eq!((s, closed["ended"].as_str()), (200, Some("closed")));

    // Batch: calls over several episodes, results with their episode ids as they complete.
    let calls: Vec<Value> = [members[1], members[3], branch]
        .iter()
        .map(|e| json!({"episode": e, "tool": first.tool, "arguments": first.args}))
        .collect();
    let (s, batch) = req(&mut c, "POST", "/v1/calls", Some(json!({"calls": calls}))).await;
    assert_eq!(s, 200, "{batch}");
    let got: HashSet<u64> =
        batch["results"].as_array().unwrap().iter().map(|r| r["episode"].as_u64().unwrap()).collect();
    assert_eq!(got, HashSet::from([members[1], members[3], branch]));
    assert!(batch["results"].as_array().unwrap().iter().all(|r| r["reply"]["status"] == "ok"), "{batch}");

    // Operations endpoints.
    let (s, h) = req(&mut c, "GET", "/healthz", None).await;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")));
    let (s, r) = req(&mut c, "GET", "/readyz", None).await;
    assert_eq!((s, r["ready"].as_bool()), (200, Some(true)), "{r}");
    let (s, doc) = req(&mut c, "GET", "/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/v1/episodes/{id}/finish"]["post"].is_object());
    let m = c.request("GET", "/metrics", &[], b"").await.unwrap();
    let text = String::from_utf8_lossy(&m.body);
    assert!(text.contains("agentworld_http_requests_total"), "{text}");
    // Every request before this one was timed (the count is taken before this request's own is recorded).
    let timed: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("agentworld_http_request_latency_us_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request latency in {text}"));
    let served: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("agentworld_http_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert_eq!(timed, served, "{text}");
    assert!(m.header("x-request-id").is_some());

    // Stop, then check the record: the verdicts the API returned are the journal's.
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(30)), "{}", server.log_text());
    let rows = journal_rows(&journal, &format!("SELECT reward FROM verdicts WHERE episode_id = {id}"));
    assert_eq!(rows, vec![vec!["Double(1.0)".to_string()]]);
    let steps = journal_rows(&journal, &format!("SELECT count(*) FROM steps WHERE episode_id = {id}"));
    assert_eq!(steps[0][0], format!("BigInt({})", task.spec.solution.len()));
    let wrong_reward =
        journal_rows(&journal, &format!("SELECT reward FROM verdicts WHERE episode_id = {}", members[0]));
    assert_eq!(wrong_reward[0][0], format!("Double({:?})", wrong["verdict"]["reward"].as_f64().unwrap()));
    // Episodes left open at shutdown are marked interrupted, not lost.
    let ends = journal_rows(&journal, &format!("SELECT status FROM episode_ends WHERE episode_id = {}", members[3]));
    assert_eq!(ends, vec![vec!["Text(\"interrupted\")".to_string()]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sessions_are_episodes_for_the_rmcp_client() {
    use rmcp::ServiceExt;
    use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
    use rmcp::transport::StreamableHttpClientTransport;

    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.duckdb");
    let mut server = Served::start(dir.path(), &["--journal", journal.to_str().unwrap()]);
    let env = shop();
    let task = &env.tasks()[1];

    // A session-based client (protocol 2025-11-25): the session opens an episode of the task in the URL.
    let transport = StreamableHttpClientTransport::from_uri(server.url(&format!("/mcp/shop/{}", task.id())));
    let mut config = ClientConfig::default();
    config.protocol_version = ProtocolVersion::V_2025_11_25;
    let client = config.serve(transport).await.unwrap();
    let info = client.peer_info().unwrap();
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(instructions.contains(&task.spec.instruction), "{instructions}");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), env.tools().len() + 1);
    let search = tools.iter().find(|t| t.name == "search_products").unwrap();
    assert_eq!(search.input_schema["type"], "object");
    assert!(search.description.as_deref().unwrap_or("").contains("Search the catalog"));
    assert!(tools.iter().any(|t| t.name == "finish_episode"));

    // Mistakes are isError results that say what was wrong.
    let bad = client
        .call_tool(
            CallToolRequestParams::new("get_product")
                .with_arguments(serde_json::from_value(json!({"product_id": "not a number"})).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(bad.is_error, Some(true));
    let text = format!("{:?}", bad.content);
    assert!(text.contains("invalid_arguments") && text.contains("product_id"), "{text}");
    let unknown = client.call_tool(CallToolRequestParams::new("no_such_tool")).await.unwrap();
    assert_eq!(unknown.is_error, Some(true));
    assert!(format!("{:?}", unknown.content).contains("unknown_tool"));

    for call in &task.spec.solution {
        let r = client
            .call_tool(CallToolRequestParams::new(call.tool.clone()).with_arguments(call.args.clone()))
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    }
    let done = client
        .call_tool(
            CallToolRequestParams::new("finish_episode")
                .with_arguments(serde_json::from_value(json!({"answer": task.spec.answer})).unwrap()),
        )
        .await
        .unwrap();
    assert_ne!(done.is_error, Some(true));
    let body: Value = serde_json::from_str(done.content[0].as_text().unwrap().text.as_str()).unwrap();
    assert_eq!(body["verdict"]["reward"], 1.0, "{body}");
    let episode = body["episode"].as_u64().unwrap();
    let _ = client.cancel().await;

    // A session that ends without an answer closes its episode (recorded as closed, not left open).
    let transport = StreamableHttpClientTransport::from_uri(server.url("/mcp/shop"));
    let mut config = ClientConfig::default();
    config.protocol_version = ProtocolVersion::V_2025_11_25;
    let client = config.serve(transport).await.unwrap();
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap_or_default();
    let abandoned: u64 = instructions
        .rsplit("agentworld episode ")
        .next()
        .and_then(|s| s.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no episode id in {instructions}"));
    assert!(instructions.contains(&env.tasks()[0].spec.instruction), "the first task by default: {instructions}");
    let r = client.call_tool(CallToolRequestParams::new("view_cart")).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    let _ = client.cancel().await;

    // A stateless client (the newest protocol, no sessions) plays an episode opened over HTTP by its URL.
    let mut c = server.conn();
    let (s, opened) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "shop", "task": task.id()}))).await;
    assert_eq!(s, 201);
    let id = opened["id"].as_u64().unwrap();
    let transport = StreamableHttpClientTransport::from_uri(server.url(&format!("/mcp/episodes/{id}")));
    let client = ClientConfig::default().serve(transport).await.unwrap();
    let first = &task.spec.solution[0];
    let r = client
        .call_tool(CallToolRequestParams::new(first.tool.clone()).with_arguments(first.args.clone()))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    let _ = client.cancel().await;
    let (_, t) = req(&mut c, "GET", &format!("/v1/episodes/{id}"), None).await;
    assert_eq!(t["steps"].as_array().unwrap().len(), 1, "{t}");

    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(30)), "{}", server.log_text());
    let rows = journal_rows(&journal, &format!("SELECT reward, answer FROM verdicts WHERE episode_id = {episode}"));
    assert_eq!(rows[0][0], "Double(1.0)");
    let steps = journal_rows(&journal, &format!("SELECT count(*) FROM steps WHERE episode_id = {episode}"));
    assert_eq!(steps[0][0], format!("BigInt({})", task.spec.solution.len() + 2));
    let ends =
        journal_rows(&journal, &format!("SELECT status, steps FROM episode_ends WHERE episode_id = {abandoned}"));
    assert_eq!(ends, vec![vec!["Text(\"closed\")".to_string(), "Int(1)".to_string()]]);
}

const MCP_PROTOCOL: &str = "2025-06-18";
const MCP_ACCEPT: &str = "application/json, text/event-stream";

/// Opens an MCP session on `path` with raw requests; returns its session id and episode id.
async fn mcp_open(c: &mut Conn, path: &str) -> (String, u64) {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": MCP_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}});
    let headers = [("Content-Type", "application/json"), ("Accept", MCP_ACCEPT)];
    let r = c.request("POST", path, &headers, init.to_string().as_bytes()).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sid = r.header("mcp-session-id").unwrap().to_string();
    let reply = rpc_reply(&r.body, 0).unwrap();
    let instructions = reply["result"]["instructions"].as_str().unwrap();
    let episode = instructions.rsplit("agentworld episode ").next().unwrap().trim_end_matches(')').parse().unwrap();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", MCP_ACCEPT),
        ("Mcp-Session-Id", sid.as_str()),
        ("Mcp-Protocol-Version", MCP_PROTOCOL),
    ];
    let r = c.request("POST", path, &headers, note.to_string().as_bytes()).await.unwrap();
    assert_eq!(r.status, 202);
    (sid, episode)
}

/// One raw `tools/call`: the HTTP status and, on 200, the whole JSON-RPC reply.
async fn mcp_call(c: &mut Conn, path: &str, sid: &str, id: u64, tool: &str, args: Value) -> (u16, Option<Value>) {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", MCP_ACCEPT),
        ("Mcp-Session-Id", sid),
        ("Mcp-Protocol-Version", MCP_PROTOCOL),
    ];
    let r = c.request("POST", path, &headers, body.to_string().as_bytes()).await.unwrap();
    (r.status, rpc_reply(&r.body, id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_mcp_calls_answer_as_rmcp_does_and_keep_their_session_alive() {
    // The same calls through the session table's direct path and through rmcp's session worker
    // (mcp_direct_calls = false) must get the same replies, byte for byte once parsed.
    let dir = tempfile::tempdir().unwrap();
    let idle_ms = 600;
    let direct_cfg = dir.path().join("direct.toml");
    std::fs::write(&direct_cfg, format!("[server]\nmcp_session_idle_ms = {idle_ms}\n")).unwrap();
    let routed_cfg = dir.path().join("routed.toml");
    std::fs::write(&routed_cfg, format!("[server]\nmcp_session_idle_ms = {idle_ms}\nmcp_direct_calls = false\n"))
        .unwrap();
    let direct = Served::start(dir.path(), &["--config", direct_cfg.to_str().unwrap()]);
    let routed = Served::start(dir.path(), &["--config", routed_cfg.to_str().unwrap()]);
    let env = shop();
    let task = &env.tasks()[0];
    let path = format!("/mcp/shop/{}", task.id());
    let calls = [
        ("get_product", json!({"product_id": 1})),
        ("search_products", json!({"query": "a"})),
        ("get_product", json!({"product_id": "not a number"})),
        ("no_such_tool", json!({})),
        ("finish_episode", json!({})),
    ];
    let mut replies = Vec::new();
    for server in [&direct, &routed] {
        let mut c = server.conn();
        let (sid, _) = mcp_open(&mut c, &path).await;
        let mut got = Vec::new();
        for (i, (tool, args)) in calls.iter().enumerate() {
            let (status, reply) = mcp_call(&mut c, &path, &sid, i as u64 + 1, tool, args.clone()).await;
            assert_eq!(status, 200, "{tool}");
            got.push(reply.unwrap_or_else(|| panic!("{tool}: no reply")));
        }
        replies.push(got);
    }
    assert_eq!(replies[0], replies[1]);
    assert_eq!(replies[0][0]["result"]["isError"], json!(false), "{}", replies[0][0]);
    assert!(replies[0][2]["result"]["content"][0]["text"].as_str().unwrap().contains("product_id"));
    assert!(replies[0][3]["result"]["content"][0]["text"].as_str().unwrap().starts_with("unknown_tool"));
    assert!(replies[0][4]["result"]["content"][0]["text"].as_str().unwrap().contains("'answer'"));

    // Direct calls count as activity: a session called every idle/4 outlives its idle limit many times over...
    let mut c = direct.conn();
    let (sid, episode) = mcp_open(&mut c, &path).await;
    let started = Instant::now();
    let mut id = 100;
    while started.elapsed() < Duration::from_millis(idle_ms * 3) {
        id += 1;
        let (status, reply) = mcp_call(&mut c, &path, &sid, id, "get_product", json!({"product_id": 1})).await;
        assert_eq!(status, 200, "call {id} at {:?} after opening", started.elapsed());
        assert_eq!(reply.unwrap()["result"]["isError"], json!(false));
        tokio::time::sleep(Duration::from_millis(idle_ms / 4)).await;
    }
    let (_, t) = req(&mut c, "GET", &format!("/v1/episodes/{episode}"), None).await;
    assert!(t["ended"].is_null(), "{t}");
    // ...and once it goes quiet it is closed, with its episode.
    tokio::time::sleep(Duration::from_millis(idle_ms * 3)).await;
    let (status, _) = mcp_call(&mut c, &path, &sid, id + 1, "get_product", json!({"product_id": 1})).await;
    assert_eq!(status, 404);
    let (_, t) = req(&mut c, "GET", &format!("/v1/episodes/{episode}"), None).await;
    assert_eq!(t["ended"], "closed", "{t}");
}

#[test]
fn the_load_generator_drives_both_interfaces_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &[]);
    let base = server.url("");
    for (interface, url, extra) in
        [("http", base.clone(), vec!["--env", "shop"]), ("mcp", format!("{base}/mcp/shop"), vec![])]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_agentworld"))
            .args(["loadgen", interface, &url, "--clients", "8", "--sessions", "20", "--seconds", "1"])
            .args(["--steps-per-session", "7", "--json"])
            .args(["--call", r#"get_product {"product_id": 3}"#, "--call", r#"search_products {"query": "yoga"}"#])
            .args(["--call", r#"get_product {"product_id": 999999}"#])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{interface}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let r: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(r["errors"], 0, "{r}");
        assert!(r["calls"].as_u64().unwrap() > 20, "{r}");
        // A third of the calls ask for a product that does not exist: answered as tool errors, not failures.
        assert!(r["tool_errors"].as_u64().unwrap() > 0, "{r}");
        // 20 sessions, each replaced after 7 calls.
        assert!(r["open_latency"]["count"].as_u64().unwrap() > 20, "{r}");
    }
    // Open loop: the offered rate is what is sent (not more: calls go out on their schedule, within a timer tick),
    // and every call's lag behind its schedule is measured.
    let out = Command::new(env!("CARGO_BIN_EXE_agentworld"))
        .args(["loadgen", "http", &base, "--env", "shop", "--clients", "8", "--rate", "400", "--seconds", "1"])
        .args(["--warmup", "0.2", "--json", "--call", r#"get_product {"product_id": 3}"#])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let calls = r["calls"].as_u64().unwrap();
    assert!((320..=410).contains(&calls), "400 calls/s offered for 1 s: {r}");
    assert_eq!(r["send_lag"]["count"].as_u64(), Some(calls), "{r}");
    assert_eq!(r["latency"]["count"].as_u64(), Some(calls), "{r}");
    // Against a port where nothing listens, every failure is counted and the exit status says so.
    let out = Command::new(env!("CARGO_BIN_EXE_agentworld"))
        .args(["loadgen", "mcp", "http://127.0.0.1:9/mcp", "--clients", "2", "--seconds", "0.2", "--json"])
        .args(["--call", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["errors"], 2, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_input_gets_a_precise_error_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aw.toml");
    std::fs::write(
        &config,
        "[runtime]\nmax_steps = 3\n[server]\nmax_body_bytes = 4096\nmax_argument_bytes = 256\nmax_episodes_per_client = 2\n",
    )
    .unwrap();
    let server = Served::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let mut c = server.conn();
    let json_ct = [("Content-Type", "application/json")];
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_string();

    let (s, v) = raw(&mut c, "POST", "/v1/episodes", &json_ct, b"{\"env\": ").await;
    assert_eq!((s, code(&v)), (400, "malformed_json".into()), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("line 1"), "{v}");
    let (s, v) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": 7}))).await;
    assert_eq!((s, code(&v)), (400, "invalid_request".into()), "{v}");
    let (s, v) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "shop", "tsak": "x"}))).await;
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("tsak"), "{v}");
    let (s, v) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "nowhere"}))).await;
    assert_eq!((s, code(&v)), (404, "unknown_environment".into()));
    let (s, v) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "shop", "task": "nope"}))).await;
    assert_eq!((s, code(&v)), (404, "unknown_task".into()));
    let (s, v) = req(&mut c, "POST", "/v1/episodes/123/calls", Some(json!({"tool": "view_cart"}))).await;
    assert_eq!((s, code(&v)), (404, "unknown_episode".into()));
    let (s, v) = req(&mut c, "GET", "/v1/episodes/abc", None).await;
    assert_eq!((s, code(&v)), (400, "invalid_request".into()));
    let big = vec![b'x'; 10_000];
    let (s, v) = raw(&mut c, "POST", "/v1/episodes", &json_ct, &big).await;
    assert_eq!((s, code(&v)), (413, "body_too_large".into()), "{v}");
    let (s, v) = req(&mut c, "GET", "/v2/whatever", None).await;
    assert_eq!((s, code(&v)), (404, "not_found".into()));
    let (s, v) = req(&mut c, "PUT", "/v1/environments", None).await;
    assert_eq!((s, code(&v)), (405, "method_not_allowed".into()));

    // Tool-level mistakes are observations (200, tool_error) naming the tool and argument.
    let (s, ep) = req(&mut c, "POST", "/v1/episodes", Some(json!({"env": "shop"}))).await;
    assert_eq!(s, 201, "{ep}");
    let id = ep["id"].as_u64().unwrap();
    let calls = format!("/v1/episodes/{id}/calls");
    let (s, r) = req(&mut c, "POST", &calls, Some(json!({"tool": "teleport"}))).await;
    assert_eq!((s, r["status"].as_str(), r["error"]["code"].as_str()), (200, Some("tool_error"), Some("unknown_tool")));
    let (s, r) =
        req(&mut c, "POST", &calls, Some(json!({"tool": "get_product", "arguments": {"product_id": "x"}}))).await;
    assert_eq!(
        (s, r["error"]["code"].as_str(), r["error"]["argument"].as_str()),
        (200, Some("invalid_arguments"), Some("product_id"))
    );
    let (s, r) = req(&mut c, "POST", &calls, Some(json!({"tool": "get_product", "arguments": [1]}))).await;
    assert_eq!((s, code(&r)), (400, "invalid_arguments".into()), "{r}");
    let long = "y".repeat(400);
    let (s, r) =
        req(&mut c, "POST", &calls, Some(json!({"tool": "search_products", "arguments": {"query": long}}))).await;
    assert_eq!((s, code(&r)), (400, "invalid_arguments".into()), "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("limit of 256"), "{r}");
    // Steps per episode: the fourth call is refused by the limit (max_steps = 3).
    let (_, r) = req(&mut c, "POST", &calls, Some(json!({"tool": "view_cart"}))).await;
    assert_eq!(r["status"], "ok", "{r}");
    let (_, r) = req(&mut c, "POST", &calls, Some(json!({"tool": "view_cart"}))).await;
    assert_eq!(r["error"]["code"], "step_limit", "{r}");

    // Episodes per client: the third live episode of one client is refused; another client may open.
    let two = [("Content-Type", "application/json"), ("X-Client-Id", "trainer-a")];
    for _ in 0..2 {
        let (s, _) = raw(&mut c, "POST", "/v1/episodes", &two, br#"{"env": "shop"}"#).await;
        assert_eq!(s, 201);
    }
    let (s, v) = raw(&mut c, "POST", "/v1/episodes", &two, br#"{"env": "shop"}"#).await;
    assert_eq!((s, code(&v)), (429, "too_many_episodes".into()), "{v}");
    let other = [("Content-Type", "application/json"), ("X-Client-Id", "trainer-b")];
    let (s, _) = raw(&mut c, "POST", "/v1/episodes", &other, br#"{"env": "shop"}"#).await;
    assert_eq!(s, 201);

    // MCP: malformed JSON-RPC, an unknown session, an unknown environment in the URL.
    let mcp_headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let r = c.request("POST", "/mcp/shop", &mcp_headers, b"{not json").await.unwrap();
    assert!((400..500).contains(&r.status), "{} {}", r.status, String::from_utf8_lossy(&r.body));
    let r = c
        .request(
            "POST",
            "/mcp/shop",
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("Mcp-Session-Id", "no-such-session"),
                ("Mcp-Protocol-Version", "2025-06-18"),
            ],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        )
        .await
        .unwrap();
    assert!((400..500).contains(&r.status), "{} {}", r.status, String::from_utf8_lossy(&r.body));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let r = c.request("POST", "/mcp/atlantis", &mcp_headers, init.to_string().as_bytes()).await.unwrap();
    let reply = rpc_reply(&r.body, 1).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&r.body)));
    assert!(reply["error"]["message"].as_str().unwrap().contains("unknown environment 'atlantis'"), "{reply}");

    // Every operation the OpenAPI document describes is served (answers with something other than "no such
    // endpoint").
    let (_, doc) = req(&mut c, "GET", "/openapi.json", None).await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path.replace("{env}", "shop").replace("{id}", "1");
            let (s, v) = req(&mut c, &method.to_uppercase(), &concrete, Some(json!({}))).await;
            assert!(s != 405 && !(s == 404 && code(&v) == "not_found"), "{method} {path}: {s} {v}");
        }
    }

    // Still serving.
    let (s, h) = req(&mut c, "GET", "/healthz", None).await;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_load_drains_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.duckdb");
    let mut server = Served::start(dir.path(), &["--journal", journal.to_str().unwrap()]);
    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let verdicts: Arc<Mutex<Vec<(u64, f64)>>> = Arc::default();
    let env = shop();
    let task = env.tasks()[0].spec.clone();
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (acked, verdicts, task) = (acked.clone(), verdicts.clone(), task.clone());
        let mut c = server.conn();
        clients.push(tokio::spawn(async move {
            // Play episodes until the server goes away; record what it acknowledged.
            'episodes: loop {
                let body = json!({"env": "shop", "task": task.id}).to_string();
                let Ok(r) = c.request("POST", "/v1/episodes", &[], body.as_bytes()).await else { break };
                if r.status != 201 {
                    break;
                }
                let id = serde_json::from_slice::<Value>(&r.body).unwrap()["id"].as_u64().unwrap();
                for call in &task.solution {
                    let body = json!({"tool": call.tool, "arguments": call.args}).to_string();
                    let Ok(r) = c.request("POST", &format!("/v1/episodes/{id}/calls"), &[], body.as_bytes()).await
                    else {
                        break 'episodes;
                    };
                    if r.status != 200 {
                        break 'episodes;
                    }
                    let v: Value = serde_json::from_slice(&r.body).unwrap();
                    acked.lock().unwrap().push((id, v["step"].as_u64().unwrap()));
                }
                let body = json!({"answer": task.answer}).to_string();
                let Ok(r) = c.request("POST", &format!("/v1/episodes/{id}/finish"), &[], body.as_bytes()).await else {
                    break;
                };
                if r.status != 200 {
                    break;
                }
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                verdicts.lock().unwrap().push((id, v["verdict"]["reward"].as_f64().unwrap()));
            }
        }));
    }
    while acked.lock().unwrap().len() < 2000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("-TERM");
    for c in clients {
        c.await.unwrap();
    }
    assert!(server.wait(Duration::from_secs(30)), "{}", server.log_text());
    let log = server.log_text();
    assert!(log.contains("draining"), "{log}");

    let recorded: HashSet<(u64, u64)> = journal_rows(&journal, "SELECT episode_id, step FROM steps")
        .into_iter()
        .map(|r| {
            let num = |s: &str| {
                s.trim_start_matches(|c: char| !c.is_ascii_digit()).trim_end_matches(')').parse::<u64>().unwrap()
            };
            (num(&r[0]), num(&r[1]))
        })
        .collect();
    let acked = acked.lock().unwrap();
    let missing: Vec<_> = acked.iter().filter(|a| !recorded.contains(a)).take(5).collect();
    assert!(missing.is_empty(), "acknowledged steps missing from the journal: {missing:?} of {}", acked.len());
    let verdicts = verdicts.lock().unwrap();
    assert!(!verdicts.is_empty());
    let rewards: HashSet<String> = journal_rows(&journal, "SELECT episode_id, reward FROM verdicts")
        .into_iter()
        .map(|r| format!("{} {}", r[0], r[1]))
        .collect();
    for (id, reward) in verdicts.iter() {
        assert!(rewards.contains(&format!("UBigInt({id}) Double({reward:?})")), "verdict of {id} missing");
    }
}

/// Polls a job until `done` says so (or panics after `limit`).
async fn wait_job(c: &mut Conn, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (s, v) = req(c, "GET", &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(s, 200, "{v}");
        if done(&v) {
            return v;
        }
        assert!(start.elapsed() < limit, "job {id} did not get there in {limit:?}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_jobs_survive_a_crash_of_the_service_and_can_be_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    let jobs_arg = ["--jobs-dir", jobs.to_str().unwrap()];
    let mut server = Served::start(dir.path(), &jobs_arg);
    let mut c = server.conn();
    let (s, v) = req(&mut c, "POST", "/v1/jobs", Some(json!({"kind": "dance"}))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalid_request")), "{v}");
    let (s, v) = req(&mut c, "POST", "/v1/jobs", Some(json!({"kind": "train", "args": ["--out", "/tmp/x"]}))).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = req(&mut c, "GET", "/v1/jobs/job-77", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("unknown_job")));

    let args =
        ["--generate", "20", "--iterations", "24", "--tasks-per-iteration", "16", "--checkpoint-every", "2", "--quiet"];
    let (s, v) = req(&mut c, "POST", "/v1/jobs", Some(json!({"kind": "train", "args": args}))).await;
    assert_eq!(s, 201, "{v}");
    let id = v["job"]["id"].as_str().unwrap().to_string();
    let checkpoint = jobs.join(&id).join("out/checkpoint.json");
    let start = Instant::now();
    while !checkpoint.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint: {:?}",
            wait_job(&mut c, &id, Duration::ZERO, |_| true).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A crash of the whole service: the service and the job's process are killed with SIGKILL.
    let (_, v) = req(&mut c, "GET", &format!("/v1/jobs/{id}"), None).await;
    let pid = v["job"]["pid"].as_u64().unwrap();
    server.signal("-KILL");
    server.wait(Duration::from_secs(10));
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());

    let server = Served::start(dir.path(), &jobs_arg);
    let mut c = server.conn();
    let v = wait_job(&mut c, &id, Duration::from_secs(300), |v| v["job"]["state"] != "running").await;
    assert_eq!(v["job"]["state"], "finished", "{v}");
    assert_eq!(v["job"]["starts"], 2, "{v}");
    assert_eq!(v["report"]["iterations"], 24, "{v}");
    // It continued from its checkpoint: only the first start began a new run.
    let stderr = std::fs::read_to_string(jobs.join(&id).join("stderr.log")).unwrap();
    assert_eq!(stderr.matches("starting a new run").count(), 1, "{stderr}");

    // Stop: the process ends, the job is not started again by the next service.
    let args = ["--generate", "20", "--iterations", "100000", "--quiet"];
    let (s, v) = req(&mut c, "POST", "/v1/jobs", Some(json!({"kind": "train", "args": args}))).await;
    assert_eq!(s, 201, "{v}");
    let long = v["job"]["id"].as_str().unwrap().to_string();
    let pid = v["job"]["pid"].as_u64().unwrap();
    let (s, v) = req(&mut c, "POST", &format!("/v1/jobs/{long}/stop"), None).await;
    assert_eq!((s, v["job"]["state"].as_str()), (200, Some("stopped")), "{v}");
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z ")).unwrap_or(true);
    assert!(zombie, "the stopped job's process {pid} is still running");
    let (_, list) = req(&mut c, "GET", "/v1/jobs", None).await;
    assert_eq!(list["jobs"].as_array().unwrap().len(), 2, "{list}");
    drop(server);
    let server = Served::start(dir.path(), &jobs_arg);
    let mut c = server.conn();
    let (_, v) = req(&mut c, "GET", &format!("/v1/jobs/{long}"), None).await;
    assert_eq!((v["job"]["state"].as_str(), v["job"]["starts"].as_u64()), (Some("stopped"), Some(1)), "{v}");
}
