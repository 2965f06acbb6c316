//! The Python bridge: a pool of supervised worker processes (`python/aw_bridge.py`) that host AWM's FastAPI
//! programs and play their tools for many episodes at once.
//!
//! Each worker is started once and reused; every app registered with the pool is loaded into every worker (a
//! warm pool: opening an episode costs a database copy, not a process start). An episode lives on one worker.
//! Requests are JSON lines on the worker's stdin; a reader thread routes the replies by id. A worker that dies,
//! or does not answer within the call deadline (it is then killed), is replaced by its supervisor thread with
//! the same apps loaded; the episodes it held are lost and their next call fails with a [`BridgeError`], which
//! the episode turns into `infra_error` (never a reward).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::BridgeError;
use crate::sandbox::{ProcessLimits, python_command};

/// The worker program, embedded so the binary needs no file beside it.
const WORKER_SOURCE: &str = include_str!("../python/aw_bridge.py");

/// How the pool runs its workers.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub python: PathBuf,
    /// Worker processes (each hosts every registered app).
    pub workers: usize,
    /// A worker that does not answer a request within this is killed and replaced.
    pub call_timeout: Duration,
    /// Loading an app (exec of its program) may take this long.
    pub load_timeout: Duration,
    pub limits: ProcessLimits,
    /// Own network namespace per worker where the kernel allows it.
    pub isolate_network: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            python: crate::sandbox::python(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            call_timeout: Duration::from_secs(10),
            load_timeout: Duration::from_secs(60),
            limits: ProcessLimits::WORKER,
            isolate_network: true,
        }
    }
}

/// An app the pool hosts: its program and initial state.
#[derive(Debug, Clone)]
pub struct AppSource {
    pub name: String,
    pub code_path: PathBuf,
    pub state_path: PathBuf,
}

/// A tool as the running app lists it (fastapi-mcp's conversion of its OpenAPI operation).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct ListedTool {
    pub name: String,
    pub description: String,
    #[serde(rename = "inputSchema")]
    pub input_schema: Value,
}

/// What loading an app into a worker reported.
#[derive(Debug, Clone)]
pub struct LoadedApp {
    pub tools: Vec<ListedTool>,
    pub load_ms: f64,
    /// Resident memory the app added to the worker.
    pub rss_kb: u64,
}

/// One row change reported by the worker's change triggers.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RowChange {
    pub table: String,
    pub op: String,
    /// JSON array text of the primary key (or rowid).
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The reply to a tool call.
#[derive(Debug, Clone, Deserialize)]
pub struct CallReply {
    /// The observation, worded as AWM words it.
    pub text: String,
    pub is_error: bool,
    pub changes: Vec<RowChange>,
    /// Time inside the worker (validation, ASGI dispatch and the app's handler).
    pub handler_us: u64,
}

type Reply = Result<Value, BridgeError>;

/// One live worker process.
pub struct Worker {
    pid: u32,
    slot: usize,
    stdin: Mutex<ChildStdin>,
    child: Mutex<Child>,
    pending: Mutex<HashMap<u64, Sender<Reply>>>,
    next_id: AtomicU64,
    alive: AtomicBool,
    /// Episodes open on it (for placement).
    episodes: AtomicUsize,
    /// Why it died, once it has.
    death: Mutex<Option<BridgeError>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("pid", &self.pid).field("slot", &self.slot).finish_non_exhaustive()
    }
}

impl Worker {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Sends one request and waits for its reply (at most `timeout`; past it the worker is killed).
    pub fn request(&self, op: &str, mut body: Value, timeout: Duration) -> Reply {
        if !self.is_alive() {
            return Err(self.death_reason());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = bounded(1);
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert("id".into(), json!(id));
            obj.insert("op".into(), json!(op));
        }
        let mut line = body.to_string();
        line.push('\n');
        let written = match self.stdin.lock() {
            Ok(mut stdin) => stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()),
            Err(_) => Err(std::io::Error::other("stdin lock poisoned")),
        };
        if written.is_err() {
            self.forget(id);
            self.kill();
            return Err(self.death_reason());
        }
        match rx.recv_timeout(timeout) {
            // The reader thread does not know which op a reply answers: name it here.
            Ok(Err(BridgeError::Failed { pid, message, .. })) => {
                Err(BridgeError::Failed { pid, op: op.to_string(), message })
            }
            Ok(reply) => reply,
            Err(_) => {
                self.forget(id);
                let err = BridgeError::Hung { pid: self.pid, op: op.to_string(), ms: timeout.as_millis() as u64 };
                self.set_death(err.clone());
                self.kill();
                Err(err)
            }
        }
    }

    fn forget(&self, id: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
    }

    fn set_death(&self, e: BridgeError) {
        if let Ok(mut d) = self.death.lock()
            && d.is_none()
        {
            *d = Some(e);
        }
    }

    fn death_reason(&self) -> BridgeError {
        self.death
            .lock()
            .ok()
            .and_then(|d| d.clone())
            .unwrap_or(BridgeError::WorkerDied { pid: self.pid, status: "stopped".into() })
    }

    /// Kills the process group (the reader thread then sees end of file and the supervisor replaces it).
    pub fn kill(&self) {
        // SAFETY: signalling our own child's process group.
        unsafe {
            libc::kill(-(self.pid as i32), libc::SIGKILL);
        }
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
        }
    }
}

struct PoolInner {
    config: BridgeConfig,
    /// To the supervisor thread: a slot whose worker died. (Workers are only ever started by that thread:
    /// a child's parent-death signal fires when the *thread* that started it ends.)
    died: Mutex<Sender<usize>>,
    slots: Vec<Mutex<Option<Arc<Worker>>>>,
    apps: Mutex<Vec<AppSource>>,
    restarts: AtomicU64,
    shutting_down: AtomicBool,
}

/// The supervised worker pool. Cheap to clone.
#[derive(Clone)]
pub struct BridgePool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for BridgePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgePool").field("workers", &self.inner.slots.len()).finish_non_exhaustive()
    }
}

impl BridgePool {
    /// Starts `config.workers` workers and waits until each is ready.
    pub fn start(config: BridgeConfig) -> Result<BridgePool, BridgeError> {
        let n = config.workers.max(1);
        let (died_tx, died_rx) = crossbeam_channel::unbounded::<usize>();
        let inner = Arc::new(PoolInner {
            config,
            died: Mutex::new(died_tx),
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
            apps: Mutex::new(Vec::new()),
            restarts: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
        });
        let (ready_tx, ready_rx) = bounded::<Result<(), BridgeError>>(1);
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("aw-bridge-supervisor".into())
            .spawn(move || supervisor(weak, n, died_rx, ready_tx))
            .map_err(|e| BridgeError::Spawn { python: "supervisor thread".into(), message: e.to_string() })?;
        ready_rx.recv().map_err(|_| BridgeError::ShutDown)??;
        Ok(BridgePool { inner })
    }

    pub fn config(&self) -> &BridgeConfig {
        &self.inner.config
    }

    /// Workers replaced so far (died or hung).
    pub fn restarts(&self) -> u64 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    /// The live workers, slot by slot.
    pub fn workers(&self) -> Vec<Arc<Worker>> {
        self.inner.slots.iter().filter_map(|s| s.lock().ok().and_then(|w| w.clone())).collect()
    }

    /// Loads `app` into every worker (and into every replacement from now on). Returns the first worker's report.
    pub fn register(&self, app: AppSource) -> Result<LoadedApp, BridgeError> {
        if let Ok(mut apps) = self.inner.apps.lock()
            && !apps.iter().any(|a| a.name == app.name)
        {
            apps.push(app.clone());
        }
        let mut first = None;
        for w in self.workers() {
            let loaded = load_app(&w, &app, self.inner.config.load_timeout)?;
            first.get_or_insert(loaded);
        }
        first.ok_or(BridgeError::ShutDown)
    }

    /// The worker with the fewest open episodes (a dead one is being replaced: the next live one is taken).
    pub fn pick(&self) -> Result<Arc<Worker>, BridgeError> {
        let deadline = Instant::now() + self.inner.config.load_timeout;
        loop {
            if self.inner.shutting_down.load(Ordering::Acquire) {
                return Err(BridgeError::ShutDown);
            }
            let best =
                self.workers().into_iter().filter(|w| w.is_alive()).min_by_key(|w| w.episodes.load(Ordering::Relaxed));
            if let Some(w) = best {
                return Ok(w);
            }
            if Instant::now() > deadline {
                return Err(BridgeError::WorkerDied { pid: 0, status: "no live worker in the pool".into() });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops every worker.
    pub fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
        for w in self.workers() {
            w.set_death(BridgeError::ShutDown);
            w.kill();
        }
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        self.shutting_down.store(true, Ordering::Release);
        for s in &self.slots {
            if let Ok(Some(w)) = s.lock().as_deref() {
                w.kill();
            }
        }
    }
}

/// Episode bookkeeping on a worker: counts it for placement while alive.
pub(crate) struct Placement(pub Arc<Worker>);

impl Placement {
    pub(crate) fn new(w: Arc<Worker>) -> Placement {
        w.episodes.fetch_add(1, Ordering::Relaxed);
        Placement(w)
    }
}

impl Drop for Placement {
    fn drop(&mut self) {
        self.0.episodes.fetch_sub(1, Ordering::Relaxed);
    }
}

fn spawn_worker(pool: &Arc<PoolInner>, slot: usize) -> Result<Arc<Worker>, BridgeError> {
    let config = &pool.config;
    let spawn = |isolate: bool| {
        let mut cmd = python_command(&config.python, config.limits, isolate);
        cmd.arg("-c").arg(WORKER_SOURCE).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        cmd.spawn()
    };
    let mut child = spawn(config.isolate_network)
        .or_else(|_| spawn(false))
        .map_err(|e| BridgeError::Spawn { python: config.python.display().to_string(), message: e.to_string() })?;
    let pid = child.id();
    let stdin = child.stdin.take().ok_or(BridgeError::Spawn { python: "?".into(), message: "no stdin".into() })?;
    let stdout = child.stdout.take().ok_or(BridgeError::Spawn { python: "?".into(), message: "no stdout".into() })?;
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    let ready =
        reader.read_line(&mut first).ok().filter(|&n| n > 0).and_then(|_| serde_json::from_str::<Value>(&first).ok());
    if ready.as_ref().and_then(|v| v.get("ready")).and_then(Value::as_bool) != Some(true) {
        let _ = child.kill();
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(BridgeError::Spawn {
            python: config.python.display().to_string(),
            message: format!(
                "the worker did not start ({status}); are its Python packages installed? (scripts/python-deps.sh)"
            ),
        });
    }
    let worker = Arc::new(Worker {
        pid,
        slot,
        stdin: Mutex::new(stdin),
        child: Mutex::new(child),
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        alive: AtomicBool::new(true),
        episodes: AtomicUsize::new(0),
        death: Mutex::new(None),
    });
    let weak_worker = Arc::downgrade(&worker);
    let weak_pool = Arc::downgrade(pool);
    std::thread::Builder::new()
        .name(format!("aw-bridge-{pid}"))
        .spawn(move || read_replies(reader, weak_worker, weak_pool))
        .map_err(|e| BridgeError::Spawn { python: "thread".into(), message: e.to_string() })?;
    for app in pool.apps.lock().map(|a| a.clone()).unwrap_or_default() {
        load_app(&worker, &app, config.load_timeout)?;
    }
    Ok(worker)
}

fn load_app(w: &Worker, app: &AppSource, timeout: Duration) -> Result<LoadedApp, BridgeError> {
    let reply = w.request(
        "load_app",
        json!({ "app": app.name, "code_path": app.code_path, "state_path": app.state_path }),
        timeout,
    )?;
    let tools = serde_json::from_value(reply.get("tools").cloned().unwrap_or(Value::Null))
        .map_err(|e| BridgeError::Protocol { pid: w.pid, message: format!("tools: {e}") })?;
    Ok(LoadedApp {
        tools,
        load_ms: reply.get("load_ms").and_then(Value::as_f64).unwrap_or(0.0),
        rss_kb: reply.get("rss_kb").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// The reader thread: routes replies; at end of file marks the worker dead, fails what was waiting and has the
/// supervisor put a new worker in the slot.
fn read_replies(mut reader: BufReader<std::process::ChildStdout>, worker: Weak<Worker>, pool: Weak<PoolInner>) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Some(w) = worker.upgrade() else { return };
        let parsed: Result<Value, _> = serde_json::from_str(&line);
        let Ok(mut reply) = parsed else { continue };
        let Some(id) = reply.get("id").and_then(Value::as_u64) else { continue };
        let tx = w.pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some(tx) = tx {
            let ok = reply.get("ok").and_then(Value::as_bool) == Some(true);
            let result = if ok {
                Ok(reply.take())
            } else {
                Err(BridgeError::Failed {
                    pid: w.pid,
                    op: String::new(),
                    message: reply.get("error").and_then(Value::as_str).unwrap_or("unknown error").to_string(),
                })
            };
            let _ = tx.send(result);
        }
    }
    let Some(w) = worker.upgrade() else { return };
    w.alive.store(false, Ordering::Release);
    let status = w
        .child
        .lock()
        .ok()
        .and_then(|mut c| c.wait().ok())
        .map(|s| s.to_string())
        .unwrap_or_else(|| "unknown status".into());
    w.set_death(BridgeError::WorkerDied { pid: w.pid, status });
    let reason = w.death_reason();
    let waiting: Vec<Sender<Reply>> =
        w.pending.lock().map(|mut p| p.drain().map(|(_, tx)| tx).collect()).unwrap_or_default();
    for tx in waiting {
        let _ = tx.send(Err(reason.clone()));
    }
    let slot = w.slot;
    drop(w);
    if let Some(p) = pool.upgrade()
        && let Ok(tx) = p.died.lock()
    {
        let _ = tx.send(slot);
    }
}

/// The supervisor thread: starts the pool's workers, then replaces each one that dies (retrying with backoff
/// until it starts or the pool shuts down). It ends with the pool.
fn supervisor(
    pool: Weak<PoolInner>,
    n: usize,
    died: crossbeam_channel::Receiver<usize>,
    ready: Sender<Result<(), BridgeError>>,
) {
    {
        let Some(p) = pool.upgrade() else { return };
        for slot in 0..n {
            match spawn_worker(&p, slot) {
                Ok(worker) => {
                    if let Ok(mut s) = p.slots[slot].lock() {
                        *s = Some(worker);
                    }
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            }
        }
        let _ = ready.send(Ok(()));
    }
    while let Ok(slot) = died.recv() {
        let mut backoff = Duration::from_millis(50);
        loop {
            let Some(p) = pool.upgrade() else { return };
            if p.shutting_down.load(Ordering::Acquire) {
                return;
            }
            match spawn_worker(&p, slot) {
                Ok(worker) => {
                    if let Ok(mut s) = p.slots[slot].lock() {
                        *s = Some(worker);
                    }
                    p.restarts.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    eprintln!("agentworld bridge: replacing worker {slot} failed: {e}; retrying in {backoff:?}");
                    drop(p);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
