//! A load generator over [`Runtime`]: keeps `episodes` episodes open, driven by `clients` concurrent clients.
//! Each client owns a share of the episodes and calls their tasks' reference solutions round-robin (reads and
//! writes; repeated writes may be refused by guards, which is ordinary `tool_error` traffic); after
//! `steps_per_episode` calls an episode is finished (verified) and replaced by a fresh one of the same task.
//! Used by `agentworld load`, the runtime bench and the fault and soak tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentworld_runtime::{Environment, EpisodeId};
use serde::Serialize;
use serde_json::Value;

use crate::api::{CallReply, RuntimeError, Status};
use crate::metrics::{Histogram, HistogramSnapshot};
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub episodes: usize,
    pub clients: usize,
    pub duration: Duration,
    pub steps_per_episode: usize,
    /// Keep only scripted calls that take at most this long in the engine (timed once at setup on a scratch
    /// episode): a workload of cheap calls measures the runtime's own capacity rather than the slowest SQL.
    pub max_call_us: Option<f64>,
    /// The scripts to drive, chosen by the caller (then `max_call_us` is not used): a bench drives the bare
    /// engine and the runtime with the very same calls.
    pub scripts: Option<Vec<Script>>,
}

impl Default for LoadSpec {
    fn default() -> Self {
        LoadSpec {
            episodes: 1000,
            clients: 64,
            duration: Duration::from_secs(5),
            steps_per_episode: 20,
            max_call_us: None,
            scripts: None,
        }
    }
}

/// Something acknowledged to a client, reported to an observer (the kill test logs these).
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    Step { episode: EpisodeId, step: usize, status: Status },
    Verdict { episode: EpisodeId, reward: f64 },
}

pub type AckObserver = Arc<dyn Fn(Ack) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub episodes_open: usize,
    pub clients: usize,
    pub seconds: f64,
    pub calls: u64,
    pub calls_per_s: f64,
    /// Client-side latency of tool calls.
    pub latency: HistogramSnapshot,
    pub ok: u64,
    pub tool_error: u64,
    pub timeout: u64,
    pub infra_error: u64,
    pub finished: u64,
    /// Requests refused outright (`RuntimeError`s).
    pub errors: u64,
    pub first_error: Option<String>,
    /// CPU time of the whole process (every thread: clients, actors, workers, journal) per call over the timed
    /// window. Unlike calls/s it does not depend on how much of the machine the scheduler gave the process.
    pub cpu_us_per_call: f64,
}

/// CPU time this process has used so far (user + system, every thread), read from `/proc/self/stat`; zero where
/// that does not exist.
pub fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // After the parenthesised command name: state, then numbers; utime and stime are fields 14 and 15.
            let rest = s.rsplit(')').next()?.split_whitespace().collect::<Vec<_>>();
            Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux ABI Rust targets.
    Duration::from_millis(ticks * 10)
}

/// One task's script: the calls of its reference solution.
#[derive(Clone)]
pub struct Script {
    pub env: Arc<Environment>,
    pub task: String,
    pub calls: Arc<Vec<(String, Value)>>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tools: Vec<&str> = self.calls.iter().map(|(tool, _)| tool.as_str()).collect();
        f.debug_struct("Script")
            .field("env", &self.env.name())
            .field("task", &self.task)
            .field("calls", &tools)
            .finish()
    }
}

/// The scripts of every task with a reference solution; with `max_call_us`, only the calls that take at most
/// that long (median of 5 runs on a scratch episode, in solution order) are kept. Blocking (runs SQL).
pub fn scripts(envs: &[Arc<Environment>], max_call_us: Option<f64>) -> Vec<Script> {
    match max_call_us {
        None => select_calls(envs, None),
        Some(limit) => select_calls(envs, Some(&|times: &[f64]| times.iter().map(|&t| t <= limit).collect())),
    }
}

/// The scripts of every task with a reference solution, keeping only the `n` cheapest calls of them all (by
/// the median of 5 runs on a scratch episode; ties keep the earlier call). Unlike a time limit, the choice
/// does not move with the machine's speed, so runs at different hours drive the same calls. Blocking.
pub fn cheapest_scripts(envs: &[Arc<Environment>], n: usize) -> Vec<Script> {
    select_calls(
        envs,
        Some(&|times: &[f64]| {
            let mut order: Vec<usize> = (0..times.len()).collect();
            order.sort_by(|&a, &b| times[a].total_cmp(&times[b]).then(a.cmp(&b)));
            let mut keep = vec![false; times.len()];
            for &i in order.iter().take(n) {
                keep[i] = true;
            }
            keep
        }),
    )
}

/// Chooses calls given every scripted call's time in microseconds (in script order): true keeps one.
type Keep<'a> = &'a dyn Fn(&[f64]) -> Vec<bool>;

/// Every task's reference solution; with `keep`, every call is timed and only the calls `keep` marks are kept.
fn select_calls(envs: &[Arc<Environment>], keep: Option<Keep<'_>>) -> Vec<Script> {
    let all: Vec<Script> = envs
        .iter()
        .flat_map(|env| env.tasks().iter().map(move |task| (env, task)))
        .filter(|(_, task)| !task.spec.solution.is_empty())
        .map(|(env, task)| Script {
            env: env.clone(),
            task: task.id().to_string(),
            calls: Arc::new(
                task.spec.solution.iter().map(|c| (c.tool.clone(), Value::Object(c.args.clone()))).collect(),
            ),
        })
        .collect();
    let Some(keep) = keep else { return all };
    let mut times = Vec::new();
    for script in &all {
        let mut scratch = agentworld_runtime::Episode::open(script.env.clone(), Some(&script.task)).ok();
        for (tool, args) in script.calls.iter() {
            let Some(scratch) = scratch.as_mut() else {
                times.push(f64::INFINITY);
                continue;
            };
            let mut runs: Vec<f64> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    scratch.call(tool, args);
                    t.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            times.push(runs[2]);
        }
    }
    let mut kept = keep(&times).into_iter();
    all.into_iter()
        .filter_map(|script| {
            let calls: Vec<(String, Value)> =
                script.calls.iter().filter(|_| kept.next().unwrap_or(false)).cloned().collect();
            (!calls.is_empty()).then(|| Script { calls: Arc::new(calls), ..script })
        })
        .collect()
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    by_status: [AtomicU64; 4],
    finished: AtomicU64,
    errors: AtomicU64,
}

/// Runs the load for `spec.duration`, then closes its episodes.
pub async fn run_load(
    rt: &Runtime,
    spec: &LoadSpec,
    observer: Option<AckObserver>,
) -> Result<LoadReport, RuntimeError> {
    let envs: Vec<Arc<Environment>> = rt.environments().iter().filter_map(|e| rt.environment(&e.name)).collect();
    let max_call_us = spec.max_call_us;
    let scripts = match &spec.scripts {
        Some(chosen) => chosen.clone(),
        None => tokio::task::spawn_blocking(move || scripts(&envs, max_call_us))
            .await
            .map_err(|e| RuntimeError::Invalid(e.to_string()))?,
    };
    if scripts.is_empty() {
        return Err(RuntimeError::Invalid("no task with a reference solution to drive".into()));
    }
    // Open the episodes in groups (one request per group), spread over every task.
    let mut slots: Vec<(Script, EpisodeId)> = Vec::with_capacity(spec.episodes);
    let mut k = 0;
    let per_group = (spec.episodes / scripts.len()).clamp(1, 32);
    while slots.len() < spec.episodes {
        let s = &scripts[k % scripts.len()];
        let n = (spec.episodes - slots.len()).min(per_group);
        for info in rt.open_group(s.env.name(), &s.task, n).await? {
            slots.push((s.clone(), info.id));
        }
        k += 1;
    }
    let clients = spec.clients.clamp(1, slots.len());
    let mut shares: Vec<Vec<(Script, EpisodeId)>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, slot) in slots.into_iter().enumerate() {
        shares[i % clients].push(slot);
    }
    let latency = Arc::new(Histogram::default());
    let counters = Arc::new(Counters::default());
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let cpu_started = process_cpu();
    let started = Instant::now();
    let deadline = started + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for share in shares {
        let (rt, latency, counters, first_error, observer) =
            (rt.clone(), latency.clone(), counters.clone(), first_error.clone(), observer.clone());
        let steps_per_episode = spec.steps_per_episode.max(1);
        tasks.spawn(async move {
            let mut eps: Vec<(Script, EpisodeId, usize)> = share.into_iter().map(|(s, id)| (s, id, 0)).collect();
            let mut i = 0;
            let note_error = |e: &RuntimeError| {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut f) = first_error.lock()
                    && f.is_none()
                {
                    *f = Some(e.to_string());
                }
            };
            while Instant::now() < deadline && !eps.is_empty() {
                let slot = i % eps.len();
                i += 1;
                let (script, id, done) = &mut eps[slot];
                if *done >= steps_per_episode {
                    match rt.finish(*id, "done").await {
                        Ok(f) => {
                            counters.finished.fetch_add(1, Ordering::Relaxed);
                            if let Some(o) = &observer {
                                o(Ack::Verdict { episode: f.episode, reward: f.verdict.reward });
                            }
                        }
                        Err(e) => note_error(&e),
                    }
                    match rt.open(script.env.name(), Some(&script.task)).await {
                        Ok(info) => {
                            *id = info.id;
                            *done = 0;
                        }
                        Err(e) => {
                            note_error(&e);
                            eps.swap_remove(slot);
                        }
                    }
                    continue;
                }
                let (tool, args) = &script.calls[*done % script.calls.len()];
                *done += 1;
                let t = Instant::now();
                let reply: Result<CallReply, RuntimeError> = rt.call(*id, tool, args.clone()).await;
                latency.record(t.elapsed());
                counters.calls.fetch_add(1, Ordering::Relaxed);
                match reply {
                    Ok(r) => {
                        counters.by_status[r.status as usize].fetch_add(1, Ordering::Relaxed);
                        if let Some(o) = &observer
                            && r.step > 0
                        {
                            o(Ack::Step { episode: r.episode, step: r.step, status: r.status });
                        }
                        if r.status == Status::InfraError {
                            // Resample: replace the lost episode.
                            *done = steps_per_episode;
                        }
                    }
                    Err(e) => {
                        note_error(&e);
                        *done = steps_per_episode;
                    }
                }
            }
            eps.into_iter().map(|(_, id, _)| id).collect::<Vec<_>>()
        });
    }
    let mut open = Vec::new();
    while let Some(r) = tasks.join_next().await {
        open.extend(r.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu().saturating_sub(cpu_started);
    let episodes_open = open.len();
    for id in open {
        let _ = rt.close(id).await;
    }
    let calls = counters.calls.load(Ordering::Relaxed);
    let s = |i: usize| counters.by_status[i].load(Ordering::Relaxed);
    Ok(LoadReport {
        episodes_open,
        clients,
        seconds,
        calls,
        calls_per_s: calls as f64 / seconds.max(1e-9),
        latency: latency.snapshot(),
        ok: s(Status::Ok as usize),
        tool_error: s(Status::ToolError as usize),
        timeout: s(Status::Timeout as usize),
        infra_error: s(Status::InfraError as usize),
        finished: counters.finished.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|f| f.clone()),
        cpu_us_per_call: cpu.as_secs_f64() * 1e6 / calls.max(1) as f64,
    })
}
