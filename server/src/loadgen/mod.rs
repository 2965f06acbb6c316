//! Load generators: many concurrent clients driving tool calls through the HTTP API of an agentworld server
//! ([`Interface::Http`]) or through any MCP Streamable HTTP endpoint ([`Interface::Mcp`]: ours, or another
//! runtime's, such as AWM's FastAPI + fastapi-mcp servers), reporting throughput and latency.
//!
//! Each client owns a keep-alive connection and `sessions / clients` sessions (episodes, or MCP sessions). It
//! cycles through the planned calls, session by session, one request at a time, for the run's duration: as fast
//! as answers come (closed loop, measuring capacity), or at a fixed total `rate` of calls per second spread
//! evenly over the clients (open loop, measuring latency at a given load). With a rate, latency is measured from
//! when each call was due, so a server that falls behind is charged for the wait (no coordinated omission). The
//! calls counted are those due (or, closed loop, sent) inside the measured window, however long they take. After
//! `steps_per_session` calls a session is closed and replaced by a fresh one (as an RL rollout would), outside
//! the call latency. Every failure is counted and the first few are kept, so a report of zero errors means
//! every call was answered.

mod client;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentworld_actors::metrics::{Histogram, HistogramSnapshot};
use serde::Serialize;
use serde_json::{Value, json};

pub use client::{ClientError, Conn, Response, split_url};

/// How the load generator reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    /// agentworld's `/v1` API; the URL is the server's base (`http://127.0.0.1:8080`).
    Http,
    /// MCP Streamable HTTP; the URL is the endpoint (`http://127.0.0.1:8080/mcp/shop`).
    Mcp,
}

/// One planned tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedCall {
    pub tool: String,
    pub arguments: Value,
}

impl PlannedCall {
    /// Parses `TOOL` or `TOOL {json arguments}`.
    pub fn parse(s: &str) -> Result<PlannedCall, String> {
        let s = s.trim();
        let (tool, args) = match s.find(char::is_whitespace) {
            Some(i) => (&s[..i], s[i..].trim()),
            None => (s, "{}"),
        };
        if tool.is_empty() {
            return Err("empty call: expected TOOL or TOOL {json arguments}".into());
        }
        let arguments: Value =
            serde_json::from_str(args).map_err(|e| format!("arguments of '{tool}' are not JSON ({e}): {args}"))?;
        if !arguments.is_object() {
            return Err(format!("arguments of '{tool}' must be a JSON object: {args}"));
        }
        Ok(PlannedCall { tool: tool.to_string(), arguments })
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub interface: Interface,
    pub url: String,
    /// For [`Interface::Http`]: the environment and task of the episodes opened.
    pub env: Option<String>,
    pub task: Option<String>,
    pub clients: usize,
    /// Sessions held open at once (at least `clients`).
    pub sessions: usize,
    pub duration: Duration,
    pub steps_per_session: usize,
    pub calls: Vec<PlannedCall>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Total calls per second to offer (open loop); `None` = as fast as answers come.
    pub rate: Option<f64>,
    /// Load run before the measured window, not counted.
    pub warmup: Duration,
    /// Told `true` when the measured window starts and `false` when it ends (an embedding benchmark reads the
    /// server's own counters over the same seconds).
    pub window_marks: Option<tokio::sync::watch::Sender<bool>>,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub interface: Interface,
    pub url: String,
    pub clients: usize,
    pub sessions: usize,
    /// The offered rate (calls/s) of an open-loop run.
    pub rate: Option<f64>,
    pub seconds: f64,
    /// Tool calls answered (successful or `isError`/`tool_error` results).
    pub calls: u64,
    pub calls_per_s: f64,
    /// Client-side latency of tool calls.
    pub latency: HistogramSnapshot,
    /// How long after it was due each call was sent (open loop): the load generator's own delay (its timer's
    /// millisecond ticks, its threads busy or not scheduled), part of `latency`. Zero in a closed loop.
    pub send_lag: HistogramSnapshot,
    /// Client-side latency of opening a session (episode open, or MCP initialize + initialized).
    pub open_latency: HistogramSnapshot,
    /// Calls answered as the agent's mistake (`tool_error`, MCP `isError`).
    pub tool_errors: u64,
    /// Failures: transport errors, timeouts, HTTP errors, JSON-RPC errors, `infra_error`s.
    pub errors: u64,
    pub first_errors: Vec<String>,
    /// Seconds of unmeasured load before the window.
    pub warmup_seconds: f64,
    /// Calls in the window that took at least [`SLOW_CALL`] (the first 100,000): when each was due and how long it
    /// took, to see whether a latency tail comes in bursts or is spread out.
    pub slow_calls: Vec<SlowCall>,
}

/// A call at least this slow is listed in [`LoadReport::slow_calls`].
pub const SLOW_CALL: Duration = Duration::from_millis(10);

/// One call that took at least [`SLOW_CALL`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SlowCall {
    /// When it was sent, or due if that was earlier (open loop), in milliseconds from the start of the measured
    /// window.
    pub at_ms: f64,
    pub latency_ms: f64,
    /// How late the request was sent, after it was due: the load generator's own delay (its threads busy or
    /// not scheduled), included in `latency_ms`. Zero in a closed loop.
    pub sent_late_ms: f64,
}

#[derive(Default)]
struct Tally {
    latency: Histogram,
    send_lag: Histogram,
    open_latency: Histogram,
    calls: AtomicU64,
    tool_errors: AtomicU64,
    errors: AtomicU64,
    first_errors: std::sync::Mutex<Vec<String>>,
    /// (sent or due, whichever came first; latency; how late it was sent) of calls of at least `SLOW_CALL`.
    slow: std::sync::Mutex<Vec<(Instant, Duration, Duration)>>,
    /// The measured window: calls due (or sent) in it are counted, whenever they end.
    window: std::sync::OnceLock<(Instant, Instant)>,
}

impl Tally {
    fn in_window(&self, t: Instant) -> bool {
        self.window.get().is_some_and(|(start, end)| t >= *start && t < *end)
    }

    fn error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < 5 {
            first.push(e);
        }
    }
}

/// Runs the load and reports. Fails only on a bad setup (no calls, a bad URL); failures under load are
/// counted in the report.
pub async fn run(opts: LoadOptions) -> Result<LoadReport, String> {
    if opts.calls.is_empty() {
        return Err("no calls planned: give at least one --call".into());
    }
    if opts.clients == 0 {
        return Err("clients must be at least 1".into());
    }
    if opts.interface == Interface::Http && opts.env.is_none() {
        return Err("the HTTP API needs --env (and optionally --task) for the episodes it opens".into());
    }
    let (addr, path) = split_url(&opts.url).map_err(|e| e.to_string())?;
    let sessions = opts.sessions.max(opts.clients);
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let opts = Arc::new(opts);
    let mut tasks = Vec::new();
    let ready = Arc::new(tokio::sync::Barrier::new(opts.clients + 1));
    // The HTTP API's request bodies, encoded once: the load generator shares the cores with the server it measures.
    let http_bodies: Arc<[Vec<u8>]> =
        opts.calls.iter().map(|c| json!({"tool": c.tool, "arguments": c.arguments}).to_string().into_bytes()).collect();
    for c in 0..opts.clients {
        let n = sessions / opts.clients + usize::from(c < sessions % opts.clients);
        let (opts, tally, stop, ready) = (opts.clone(), tally.clone(), stop.clone(), ready.clone());
        let (addr, path, bodies) = (addr.clone(), path.clone(), http_bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(&opts, &addr, &path, c, bodies);
            let mut live = Vec::with_capacity(n);
            for _ in 0..n {
                match client.open(&tally).await {
                    Ok(s) => live.push(s),
                    Err(e) => tally.error(format!("open: {e}")),
                }
            }
            ready.wait().await;
            client.drive(&mut live, &tally, &stop, c).await;
            for s in live {
                client.close(s).await;
            }
        }));
    }
    ready.wait().await;
    // Sessions are open. The warm-up runs the load unmeasured (every connection of the server prepares its
    // statements on its first calls); then the measured window starts.
    if !opts.warmup.is_zero() {
        tokio::time::sleep(opts.warmup).await;
    }
    let start = Instant::now();
    let _ = tally.window.set((start, start + opts.duration));
    if let Some(marks) = &opts.window_marks {
        marks.send_replace(true);
    }
    let opened = tally.open_latency.snapshot();
    let (calls0, errors0) = (tally.calls.load(Ordering::Relaxed), tally.errors.load(Ordering::Relaxed));
    tokio::time::sleep(opts.duration).await;
    if let Some(marks) = &opts.window_marks {
        marks.send_replace(false);
    }
    stop.store(true, Ordering::Relaxed);
    let seconds = start.elapsed().as_secs_f64();
    let errors_in_window = tally.errors.load(Ordering::Relaxed) - errors0;
    for t in tasks {
        let _ = t.await;
    }
    // Read once every client has stopped: a call due in the window and still in flight at its end counts (its
    // latency is recorded when it ends, too).
    let calls = tally.calls.load(Ordering::Relaxed) - calls0;
    let first_errors = tally.first_errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Only calls in the window are listed, so each was due at or after `start`.
    let slow_calls = tally
        .slow
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(at, took, late)| SlowCall {
            at_ms: at.duration_since(start).as_secs_f64() * 1e3,
            latency_ms: took.as_secs_f64() * 1e3,
            sent_late_ms: late.as_secs_f64() * 1e3,
        })
        .collect();
    Ok(LoadReport {
        interface: opts.interface,
        url: opts.url.clone(),
        clients: opts.clients,
        sessions,
        rate: opts.rate,
        seconds,
        calls,
        calls_per_s: calls as f64 / seconds,
        latency: tally.latency.snapshot(),
        send_lag: tally.send_lag.snapshot(),
        open_latency: if opened.count > 0 { tally.open_latency.snapshot() } else { opened },
        tool_errors: tally.tool_errors.load(Ordering::Relaxed),
        errors: errors_in_window.max(tally.errors.load(Ordering::Relaxed)),
        first_errors,
        warmup_seconds: opts.warmup.as_secs_f64(),
        slow_calls,
    })
}

/// The resolution of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// A session: an episode id (HTTP API) or an MCP session id, and how many calls it has made.
struct Session {
    id: String,
    steps: usize,
}

struct Client {
    conn: Conn,
    opts: Arc<LoadOptions>,
    path: String,
    client_id: String,
    next_call: usize,
    rpc_id: u64,
    /// The HTTP body of each of `opts.calls`, in order.
    http_bodies: Arc<[Vec<u8>]>,
}

const MCP_PROTOCOL: &str = "2025-06-18";
const ACCEPT: &str = "application/json, text/event-stream";

impl Client {
    fn new(opts: &Arc<LoadOptions>, addr: &str, path: &str, index: usize, http_bodies: Arc<[Vec<u8>]>) -> Client {
        Client {
            conn: Conn::new(addr, opts.timeout),
            opts: opts.clone(),
            path: path.trim_end_matches('/').to_string(),
            client_id: format!("loadgen-{index}"),
            next_call: index % opts.calls.len(),
            rpc_id: 0,
            http_bodies,
        }
    }

    async fn open(&mut self, tally: &Tally) -> Result<Session, String> {
        let t = Instant::now();
        let id = match self.opts.interface {
            Interface::Http => {
                let body = json!({"env": self.opts.env, "task": self.opts.task}).to_string();
                let path = format!("{}/v1/episodes", self.path);
                let headers = [("Content-Type", "application/json"), ("X-Client-Id", self.client_id.as_str())];
                let r = self.conn.request("POST", &path, &headers, body.as_bytes()).await.map_err(|e| e.to_string())?;
                if r.status != 201 {
                    return Err(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                }
                let v: Value = serde_json::from_slice(&r.body).map_err(|e| format!("open reply: {e}"))?;
                v["id"].as_u64().map(|id| id.to_string()).ok_or("open reply has no id")?
            }
            Interface::Mcp => {
                let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": MCP_PROTOCOL, "capabilities": {},
                    "clientInfo": {"name": "agentworld-loadgen", "version": env!("CARGO_PKG_VERSION")}}});
                let headers = [
                    ("Content-Type", "application/json"),
                    ("Accept", ACCEPT),
                    ("X-Client-Id", self.client_id.as_str()),
                ];
                let path = self.path.clone();
                let r = self
                    .conn
                    .request("POST", &path, &headers, init.to_string().as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status != 200 {
                    return Err(format!("initialize: HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                }
                let reply = rpc_reply(&r.body, 0)
                    .ok_or_else(|| format!("initialize: no reply in {:?}", String::from_utf8_lossy(&r.body)))?;
                if let Some(e) = reply.get("error") {
                    return Err(format!("initialize: {e}"));
                }
                let sid = r.header("mcp-session-id").ok_or("initialize: no Mcp-Session-Id header")?.to_string();
                let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let headers = [
                    ("Content-Type", "application/json"),
                    ("Accept", ACCEPT),
                    ("Mcp-Session-Id", sid.as_str()),
                    ("Mcp-Protocol-Version", MCP_PROTOCOL),
                ];
                let r = self
                    .conn
                    .request("POST", &path, &headers, note.to_string().as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                if !(200..300).contains(&r.status) {
                    return Err(format!("notifications/initialized: HTTP {}", r.status));
                }
                sid
            }
        };
        tally.open_latency.record(t.elapsed());
        Ok(Session { id, steps: 0 })
    }

    async fn close(&mut self, s: Session) {
        match self.opts.interface {
            Interface::Http => {
                let path = format!("{}/v1/episodes/{}", self.path, s.id);
                let _ = self.conn.request("DELETE", &path, &[], b"").await;
            }
            Interface::Mcp => {
                let path = self.path.clone();
                let headers = [("Mcp-Session-Id", s.id.as_str()), ("Mcp-Protocol-Version", MCP_PROTOCOL)];
                let _ = self.conn.request("DELETE", &path, &headers, b"").await;
            }
        }
    }

    /// Calls in turn on the client's sessions until `stop`: as fast as answers come, or (open loop) this
    /// client's share of the rate, its calls evenly spaced and staggered against the other clients'.
    async fn drive(&mut self, live: &mut Vec<Session>, tally: &Tally, stop: &AtomicBool, index: usize) {
        let mut i = 0;
        let interval =
            self.opts.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(self.opts.clients as f64 / r));
        let mut due =
            interval.map(|iv| tokio::time::Instant::now() + iv.mul_f64(index as f64 / self.opts.clients as f64));
        while !stop.load(Ordering::Relaxed) && !live.is_empty() {
            // tokio's timer wakes on millisecond ticks, after the instant asked for: asking for the tick before the
            // call is due sends it within about half a millisecond either side of when it is due, not up to a
            // millisecond after (that lag was counted in every call's latency).
            let at = match (due.as_mut(), interval) {
                (Some(at), Some(iv)) => {
                    tokio::time::sleep_until(at.checked_sub(TIMER_TICK).unwrap_or(*at)).await;
                    let t = at.into_std();
                    *at += iv;
                    Some(t)
                }
                _ => None,
            };
            if stop.load(Ordering::Relaxed) {
                break;
            }
            i = (i + 1) % live.len();
            if live[i].steps >= self.opts.steps_per_session.max(1) {
                let old = std::mem::replace(&mut live[i], Session { id: String::new(), steps: 0 });
                self.close(old).await;
                match self.open(tally).await {
                    Ok(s) => live[i] = s,
                    Err(e) => {
                        tally.error(format!("reopen: {e}"));
                        live.swap_remove(i);
                        continue;
                    }
                }
            }
            let call = self.next_call;
            self.next_call = (self.next_call + 1) % self.opts.calls.len();
            // Latency counts from when the call was sent, or from when it was due if it was sent late (open loop:
            // a client held up by a slow answer must not hide the wait, coordinated omission).
            let sent = Instant::now();
            let t = at.map_or(sent, |due| due.min(sent));
            let late = at.map_or(Duration::ZERO, |due| sent.saturating_duration_since(due));
            let outcome = self.call(&live[i].id, call).await;
            live[i].steps += 1;
            match outcome {
                // Warm-up calls, and calls due after the window (slowed by other clients closing their sessions),
                // are not counted.
                Ok(_) if !tally.in_window(t) => {}
                Ok(is_tool_error) => {
                    let took = t.elapsed();
                    tally.latency.record(took);
                    tally.send_lag.record(late);
                    if took >= SLOW_CALL {
                        let mut slow = tally.slow.lock().unwrap_or_else(|p| p.into_inner());
                        if slow.len() < 100_000 {
                            slow.push((t, took, late));
                        }
                    }
                    tally.calls.fetch_add(1, Ordering::Relaxed);
                    if is_tool_error {
                        tally.tool_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => tally.error(format!("{}: {e}", self.opts.calls[call].tool)),
            }
        }
    }

    /// Call `k` of `opts.calls`; `Ok(true)` when it was answered as a tool error.
    async fn call(&mut self, session: &str, k: usize) -> Result<bool, String> {
        let call = &self.opts.calls[k];
        match self.opts.interface {
            Interface::Http => {
                let path = format!("{}/v1/episodes/{session}/calls", self.path);
                let r = self
                    .conn
                    .request("POST", &path, &[("Content-Type", "application/json")], &self.http_bodies[k])
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status != 200 {
                    return Err(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                }
                // Only the status is read: the result is skipped, not built (a `Value` per reply was about 5% of
                // the load generator's CPU, on the same cores as the server it measures).
                match serde_json::from_slice::<ReplyStatus>(&r.body).ok().and_then(|s| s.status).as_deref() {
                    Some("ok") => Ok(false),
                    Some("tool_error") => Ok(true),
                    _ => {
                        let v: Value = serde_json::from_slice(&r.body).map_err(|e| format!("reply: {e}"))?;
                        Err(format!("status {:?}: {}", v["status"].as_str(), v["error"]))
                    }
                }
            }
            Interface::Mcp => {
                self.rpc_id += 1;
                let id = self.rpc_id;
                let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                                  "params": {"name": call.tool, "arguments": call.arguments}});
                let path = self.path.clone();
                let headers = [
                    ("Content-Type", "application/json"),
                    ("Accept", ACCEPT),
                    ("Mcp-Session-Id", session),
                    ("Mcp-Protocol-Version", MCP_PROTOCOL),
                ];
                let r = self
                    .conn
                    .request("POST", &path, &headers, body.to_string().as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status != 200 {
                    return Err(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                }
                let reply = rpc_reply(&r.body, id)
                    .ok_or_else(|| format!("no reply in {:?}", String::from_utf8_lossy(&r.body)))?;
                if let Some(e) = reply.get("error") {
                    return Err(format!("JSON-RPC error {e}"));
                }
                Ok(reply["result"]["isError"].as_bool().unwrap_or(false))
            }
        }
    }
}

/// The one field of an HTTP API call's reply the load generator needs (borrowed from the body unless escaped).
#[derive(serde::Deserialize)]
struct ReplyStatus<'a> {
    #[serde(borrow)]
    status: Option<std::borrow::Cow<'a, str>>,
}

/// The JSON-RPC reply with `id` in a response body that is either JSON or a stream of server-sent events.
pub fn rpc_reply(body: &[u8], id: u64) -> Option<Value> {
    let matches = |v: &Value| v.get("id").and_then(Value::as_u64) == Some(id);
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return matches(&v).then_some(v);
    }
    let text = std::str::from_utf8(body).ok()?;
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_parse_with_and_without_arguments() {
        let c = PlannedCall::parse("get_product {\"product_id\": 3}").unwrap();
        assert_eq!((c.tool.as_str(), c.arguments["product_id"].as_i64()), ("get_product", Some(3)));
        assert_eq!(PlannedCall::parse("view_cart").unwrap().arguments, json!({}));
        assert!(PlannedCall::parse("x [1]").unwrap_err().contains("JSON object"));
        assert!(PlannedCall::parse("x {").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn replies_are_found_in_json_and_in_event_streams() {
        let sse =
            b"id: 0\nretry: 3000\ndata: \n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
        assert!(rpc_reply(sse, 7).is_some());
        assert!(rpc_reply(sse, 8).is_none());
        assert!(rpc_reply(br#"{"jsonrpc":"2.0","id":2,"result":{"isError":true}}"#, 2).is_some());
    }
}
