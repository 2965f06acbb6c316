//! `EpisodeActor`: owns one live episode (its database and trajectory) and serialises everything done to it.
//!
//! A call of a tool known to take microseconds (`RuntimeSettings::inline_below`) runs on the actor's own thread:
//! handing it to a worker and back would cost two thread wake-ups, more than the call. Such a call is interrupted
//! after `inline_cap` (about a millisecond) and, rolled back, moved on to a worker, so an executor thread is
//! never held longer than that; it also stays on a worker when the journal could block (DuckDB half its backlog
//! limit behind, or a log synced to disk). Every other call moves the episode to a pool worker, so the async
//! executors stay free while statements run. The worker journals the step, hands the episode back through a one-shot
//! channel and then replies to the client itself; the actor takes the episode back when its next message needs
//! it, which for a client that waits for each reply means at once, without a wake-up or a timer per call. Each
//! call has a deadline (queueing included), enforced on the worker by SQLite's progress handler. If the actor
//! needs the episode while a call is still out past its deadline (its next message arrived, or the runtime's
//! watchdog asks it to settle: `context::CallsInFlight`), it interrupts the statement through SQLite's interrupt
//! handle, waits a grace period and then gives the call up. Whatever kills the episode's state (a panic in the call, a dead
//! worker, a database failure) ends the episode as `infra_error`, journaled, and the client gets a reply saying so.
//! Those replies go through the actor: the worker (or its drop guard, when the worker thread dies) asks it to
//! settle, and it ends the episode before it replies, so the client never sees the episode still open.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentworld_runtime::journal::Record;
use agentworld_runtime::store::InterruptHandle;
use agentworld_runtime::{Episode, Journal};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::Value;

use crate::api::{CallReply, EndStatus, EpisodeInfo, FinishReply, RuntimeError, Status, Trajectory};
use crate::config::RuntimeSettings;
use crate::context::Shared;
use crate::faults::Fault;
use crate::metrics::Op;

/// How long past its deadline a call may take to come back after being interrupted before the episode is
/// given up as lost.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Where a reply goes: an RPC port, or the fan-in channel of a batch.
pub(crate) enum Reply<T> {
    Port(RpcReplyPort<T>),
    Batch { tx: tokio::sync::mpsc::UnboundedSender<(usize, T)>, index: usize },
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        match self {
            Reply::Port(p) => {
                let _ = p.send(value);
            }
            Reply::Batch { tx, index } => {
                let _ = tx.send((index, value));
            }
        }
    }
}

pub(crate) enum EpisodeMsg {
    Call {
        tool: String,
        args: Value,
        reply: Reply<CallReply>,
    },
    Finish {
        answer: String,
        reply: RpcReplyPort<Result<FinishReply, RuntimeError>>,
    },
    Branch {
        count: usize,
        reply: RpcReplyPort<Result<Vec<EpisodeInfo>, RuntimeError>>,
    },
    Trajectory {
        reply: RpcReplyPort<Trajectory>,
    },
    /// End the episode (closed by its client, or the runtime shutting down).
    End {
        status: EndStatus,
        cause: Option<String>,
        reply: Option<RpcReplyPort<Trajectory>>,
    },
    /// Periodic check for the idle and wall-time limits.
    Tick,
    /// A worker's call went wrong (a panic, a dead worker, a failed database): take the episode back now.
    Settle,
}

pub(crate) struct EpisodeActor;

pub(crate) struct EpisodeArgs {
    pub episode: Box<Episode>,
    pub info: Arc<EpisodeInfo>,
    pub shared: Arc<Shared>,
    pub activity: Arc<Activity>,
}

/// When an episode opened and when it last had a request: written by its actor, read by its supervisor, which
/// wakes only the actors past a limit on each tick (waking all 10,000 actors of a busy server every second was a
/// burst of slow calls each second). The actor decides; a supervisor's early or stale reading costs one check.
pub(crate) struct Activity {
    opened: Instant,
    /// Milliseconds from `opened` to the last request.
    last_active_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity { opened: Instant::now(), last_active_ms: Default::default() }
    }

    fn touch(&self, at: Instant) {
        let ms = at.saturating_duration_since(self.opened).as_millis() as u64;
        self.last_active_ms.fetch_max(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn past_wall_time(&self, cfg: &RuntimeSettings) -> bool {
        cfg.episode_timeout().is_some_and(|limit| self.opened.elapsed() > limit)
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_active_ms.load(std::sync::atomic::Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// How the episode must end if it is past a limit (the runtime's settings): its wall time (`Timeout`)
    /// first, then idleness (`Reaped`).
    pub(crate) fn overdue(&self, cfg: &RuntimeSettings) -> Option<EndStatus> {
        if self.past_wall_time(cfg) {
            Some(EndStatus::Timeout)
        } else if cfg.idle_timeout().is_some_and(|limit| self.idle_for() > limit) {
            Some(EndStatus::Reaped)
        } else {
            None
        }
    }
}

/// The cause recorded for an episode ended by [`Activity::overdue`].
fn overdue_cause(status: EndStatus, cfg: &RuntimeSettings) -> String {
    match status {
        EndStatus::Reaped => format!("no request for {} ms", cfg.idle_timeout_ms),
        _ => format!("the episode exceeded its wall-time limit of {} ms", cfg.episode_timeout_ms),
    }
}

pub(crate) struct EpisodeState {
    /// `None` only while a worker holds it (see `in_flight`), or after the episode ended.
    episode: Option<Box<Episode>>,
    /// The call a worker is running, whose episode has not been taken back yet.
    in_flight: Option<InFlight>,
    info: Arc<EpisodeInfo>,
    shared: Arc<Shared>,
    interrupt: InterruptHandle,
    activity: Arc<Activity>,
    ended: Option<EndStatus>,
}

/// What a worker hands back after running a call.
enum CallOutcome {
    /// The episode; with the call's reply when the call failed the episode (the actor ends it, then replies),
    /// without it when the worker replied itself.
    Done(Box<Episode>, Option<Box<CallReply>>),
    /// The call panicked; the episode's state is suspect and was dropped.
    Panicked(String),
}

/// A call handed to a worker.
struct InFlight {
    back: tokio::sync::oneshot::Receiver<CallOutcome>,
    deadline: Instant,
    reply: Arc<ReplyOnce>,
}

/// The client's reply, sent exactly once: by the worker when the call completes normally, else by the actor once
/// it has settled the call.
struct ReplyOnce(std::sync::Mutex<Option<Reply<CallReply>>>);

impl ReplyOnce {
    fn new(reply: Reply<CallReply>) -> Self {
        ReplyOnce(std::sync::Mutex::new(Some(reply)))
    }

    /// The reply port, unless someone took it already. Whoever takes it counts the call's status and then sends,
    /// so a client that reads the metrics after its reply sees its call counted.
    fn take(&self) -> Option<Reply<CallReply>> {
        self.0.lock().map(|mut r| r.take()).unwrap_or_else(|poisoned| poisoned.into_inner().take())
    }
}

/// Travels with a call's job: if the job is dropped before it finishes (its worker thread died, or the pool shut
/// down before running it), the actor is asked to settle, which ends the episode and replies `infra_error`.
struct JobGuard {
    actor: ActorRef<EpisodeMsg>,
    done: bool,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.actor.cast(EpisodeMsg::Settle);
        }
    }
}

impl Actor for EpisodeActor {
    type Msg = EpisodeMsg;
    type State = EpisodeState;
    type Arguments = EpisodeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<EpisodeMsg>,
        args: EpisodeArgs,
    ) -> Result<EpisodeState, ActorProcessingErr> {
        let interrupt = args.episode.db().interrupt_handle();
        args.shared.directory.insert(myself, args.info.clone());
        Ok(EpisodeState {
            episode: Some(args.episode),
            in_flight: None,
            info: args.info,
            shared: args.shared,
            interrupt,
            activity: args.activity,
            ended: None,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<EpisodeMsg>,
        state: &mut EpisodeState,
    ) -> Result<(), ActorProcessingErr> {
        state.shared.directory.remove(state.info.id);
        settle(state).await;
        if state.ended.is_none() {
            // Stopped from outside (the runtime shutting down without an explicit end): still recorded.
            end(state, EndStatus::Interrupted, Some("the episode's actor was stopped".into())).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<EpisodeMsg>,
        msg: EpisodeMsg,
        state: &mut EpisodeState,
    ) -> Result<(), ActorProcessingErr> {
        // Every message sees the episode as the last call left it.
        settle(state).await;
        if let Some(status) = state.ended {
            // Messages that were queued behind the end.
            refuse_ended(msg, state, status);
            // (the settle above may have ended it just now)
            myself.stop(None);
            return Ok(());
        }
        match msg {
            EpisodeMsg::Call { tool, args, reply } => {
                let started = Instant::now();
                state.activity.touch(started);
                if let Some((r, port)) = call(state, &myself, tool, args, reply, started).await {
                    // run on this thread, or refused before reaching a worker
                    state.shared.metrics.time(Op::Call, started.elapsed());
                    state.shared.metrics.call_status(r.status);
                    port.send(r);
                }
            }
            EpisodeMsg::Finish { answer, reply } => {
                let started = Instant::now();
                let r = finish(state, answer).await;
                state.shared.metrics.time(Op::Finish, started.elapsed());
                let _ = reply.send(r);
            }
            EpisodeMsg::Branch { count, reply } => {
                let started = Instant::now();
                state.activity.touch(started);
                let r = branch(state, count).await;
                state.shared.metrics.time(Op::Branch, started.elapsed());
                let _ = reply.send(r);
            }
            EpisodeMsg::Trajectory { reply } => {
                let _ = reply.send(trajectory(state));
            }
            EpisodeMsg::End { status, cause, reply } => {
                let started = Instant::now();
                let t = end(state, status, cause).await;
                state.shared.metrics.time(Op::Close, started.elapsed());
                if let Some(reply) = reply {
                    let _ = reply.send((*t).clone());
                }
            }
            EpisodeMsg::Tick => {
                let cfg = &state.shared.config.runtime;
                if let Some(status) = state.activity.overdue(cfg) {
                    let cause = overdue_cause(status, cfg);
                    end(state, status, Some(cause)).await;
                }
            }
            EpisodeMsg::Settle => {}
        }
        if state.ended.is_some() {
            myself.stop(None);
        }
        Ok(())
    }
}

fn refuse_ended(msg: EpisodeMsg, state: &EpisodeState, status: EndStatus) {
    let err = || RuntimeError::EpisodeEnded { id: state.info.id, status, cause: None };
    match msg {
        EpisodeMsg::Call { reply, .. } => reply.send(CallReply::refused(
            &state.info,
            if status == EndStatus::InfraError { Status::InfraError } else { Status::ToolError },
            "episode_ended",
            err().to_string(),
        )),
        EpisodeMsg::Finish { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        EpisodeMsg::Branch { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        EpisodeMsg::Trajectory { reply } => {
            let _ = reply.send(trajectory(state));
        }
        EpisodeMsg::End { reply, .. } => {
            if let Some(r) = reply {
                let _ = r.send(trajectory(state));
            }
        }
        EpisodeMsg::Tick | EpisodeMsg::Settle => {}
    }
}

fn trajectory(state: &EpisodeState) -> Trajectory {
    Trajectory {
        steps: state.episode.as_deref().map(|e| e.steps().clone()).unwrap_or_default(),
        ..trajectory_without_steps(state)
    }
}

fn trajectory_without_steps(state: &EpisodeState) -> Trajectory {
    let ep = state.episode.as_deref();
    Trajectory {
        info: (*state.info).clone(),
        steps: Default::default(),
        answer: ep.and_then(|e| e.answer().map(str::to_string)),
        verdict: ep.and_then(|e| e.verdict().cloned()),
        ended: state.ended,
        cause: None,
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Records the end of the episode and releases it (see [`release`]). Idempotent.
async fn end(state: &mut EpisodeState, status: EndStatus, cause: Option<String>) -> Arc<Trajectory> {
    let steps = state.episode.as_ref().map(|e| e.steps().len()).unwrap_or(0);
    let record = Record::ended(state.info.id, status.as_str(), cause.clone(), steps);
    release(state, status, cause, Some(record)).await
}

/// Marks the episode ended: its database is released on a worker (dropping the episode rolls it back), after
/// `record` is journaled there (awaited, so the end is in the journal before anyone hears of it); its trajectory
/// is kept in the directory and the metrics are updated. Idempotent.
async fn release(
    state: &mut EpisodeState,
    status: EndStatus,
    cause: Option<String>,
    record: Option<Record>,
) -> Arc<Trajectory> {
    let mut t = trajectory_without_steps(state);
    t.ended = Some(status);
    t.cause = cause;
    if state.ended.is_some() {
        return state.shared.directory.ended_trajectory(state.info.id).unwrap_or_else(|| Arc::new(t));
    }
    state.ended = Some(status);
    let mut episode = state.episode.take();
    // The steps move into the kept trajectory (the episode is dropped next): a long trajectory is not copied.
    t.steps = episode.as_mut().map(|e| e.take_steps()).unwrap_or_default();
    let t = Arc::new(t);
    let shared = state.shared.clone();
    match record {
        Some(record) => {
            let journal = shared.journal.clone();
            let _ = shared
                .pool
                .run(&shared.metrics, move || {
                    if let Some(j) = journal {
                        let _ = j.record(vec![record]);
                    }
                    drop(episode);
                })
                .await;
        }
        None => {
            let _ = shared.pool.submit(&shared.metrics, move || drop(episode)).await;
        }
    }
    state.shared.directory.ended(t.clone());
    state.shared.directory.remove(state.info.id);
    state.shared.metrics.ended(status);
    t
}

/// Hands a call to a worker, which replies to the client itself; returns the reply (with its port) instead when
/// the call is refused before reaching a worker.
async fn call(
    state: &mut EpisodeState,
    myself: &ActorRef<EpisodeMsg>,
    tool: String,
    args: Value,
    reply: Reply<CallReply>,
    started: Instant,
) -> Option<(CallReply, Reply<CallReply>)> {
    let cfg = &state.shared.config.runtime;
    if state.activity.past_wall_time(cfg) {
        let cause = overdue_cause(EndStatus::Timeout, cfg);
        end(state, EndStatus::Timeout, Some(cause.clone())).await;
        return Some((CallReply::refused(&state.info, Status::Timeout, "episode_timeout", cause), reply));
    }
    let steps = state.episode.as_ref().map(|e| e.steps().len()).unwrap_or(0);
    if steps >= cfg.max_steps {
        let msg = format!("the episode reached its limit of {} tool calls; finish with an answer", cfg.max_steps);
        return Some((CallReply::refused(&state.info, Status::ToolError, "step_limit", msg), reply));
    }
    let (env, id) = (state.info.env.as_str(), state.info.id);
    let faults = &state.shared.faults;
    if faults.take(&[Fault::PanicInActor], env, Some(&tool), id).is_some() {
        panic!("injected fault: episode actor {id} panics handling a call to {tool}");
    }
    let fault = faults.take(
        &[Fault::PanicInTool, Fault::SlowQuery, Fault::DatabaseError, Fault::KillWorker, Fault::StuckWorker],
        env,
        Some(&tool),
        id,
    );
    let Some(mut episode) = state.episode.take() else {
        let cause = "the episode's state is gone".to_string();
        return Some((CallReply::refused(&state.info, Status::InfraError, "infra_error", cause), reply));
    };
    let timeout = cfg.call_timeout();
    let deadline = started + timeout;
    // A call known to take microseconds runs here: a handoff to a worker and back would cost more than the call.
    // Faults that act on a worker thread itself go to one.
    let on_worker_fault = matches!(fault, Some(Fault::SlowQuery | Fault::KillWorker | Fault::StuckWorker));
    if !on_worker_fault
        && cfg.inline_below().is_some_and(|below| episode.typical_call(&tool).is_some_and(|t| t < below))
        && state.shared.journal.as_ref().is_none_or(|j| j.records_quickly())
    {
        let cap = cfg.inline_cap();
        let journal = state.shared.journal.as_ref();
        let info = &state.info;
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
            // The whole deadline when less than the cap is left (then there is nothing to move on with).
            let give_up_after = (deadline.saturating_duration_since(Instant::now()) > cap).then_some(cap);
            run_call(&mut episode, info, &tool, &args, deadline, timeout, fault, journal, give_up_after)
        }));
        state.shared.metrics.inline_call(matches!(out, Ok(None)));
        match out {
            Ok(Some(r)) => {
                let failed = episode.failure().map(str::to_string);
                state.episode = Some(episode);
                if let Some(cause) = failed {
                    end(state, EndStatus::InfraError, Some(cause)).await;
                }
                return Some((r, reply));
            }
            // Not quick this time: rolled back, on to a worker with the rest of the deadline.
            Ok(None) => {}
            Err(p) => {
                drop(episode);
                let cause = format!("the tool call panicked: {}", panic_message(&*p));
                end(state, EndStatus::InfraError, Some(cause.clone())).await;
                return Some((CallReply::refused(&state.info, Status::InfraError, "infra_error", cause), reply));
            }
        }
    }
    let journal = state.shared.journal.clone();
    let shared = state.shared.clone();
    let info = state.info.clone();
    let reply = Arc::new(ReplyOnce::new(reply));
    let to_client = reply.clone();
    let mut guard = JobGuard { actor: myself.clone(), done: false };
    let (back, rx) = tokio::sync::oneshot::channel();
    let job = move || {
        if fault == Some(Fault::KillWorker) {
            // Outside the catch below: the worker thread itself dies, and with it this job; its guard tells the actor.
            panic!("injected fault: the worker thread running episode {} dies", info.id);
        }
        if fault == Some(Fault::StuckWorker) {
            // Blocked outside SQLite: no interrupt reaches it, only the watchdog answers the client.
            std::thread::sleep(Duration::from_secs(10));
        }
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_call(&mut episode, &info, &tool, &args, deadline, timeout, fault, journal.as_ref(), None)
        }))
        .map(|r| r.unwrap_or_else(|| unreachable_give_up(&info, &tool)));
        guard.done = true;
        let metrics = &shared.metrics;
        metrics.time(Op::Call, started.elapsed());
        shared.calls.done(info.id);
        // call statuses are counted where the reply goes out (a call the actor gave up on is counted there)
        match out {
            Ok(r) => {
                if episode.failure().is_some() {
                    let _ = back.send(CallOutcome::Done(episode, Some(Box::new(r))));
                    let _ = guard.actor.cast(EpisodeMsg::Settle);
                } else {
                    // The episode goes back before the client hears: its next message finds it there.
                    let _ = back.send(CallOutcome::Done(episode, None));
                    if let Some(port) = to_client.take() {
                        metrics.call_status(r.status);
                        port.send(r);
                    }
                }
            }
            Err(p) => {
                let _ = back.send(CallOutcome::Panicked(panic_message(&*p)));
                let _ = guard.actor.cast(EpisodeMsg::Settle);
            }
        }
    };
    state.shared.calls.started(state.info.id, deadline, myself.clone());
    // A pool that is shut down drops the job, and its guard asks for a settle that replies `infra_error`.
    let _ = state.shared.pool.submit(&state.shared.metrics, job).await;
    state.in_flight = Some(InFlight { back: rx, deadline, reply });
    None
}

/// Takes back the episode of the call in flight, if any: at once when the worker is done with it, else waiting
/// until the call's deadline, then interrupting its statement and waiting a grace period. A call that panicked,
/// failed the episode's database or never came back ends the episode as `infra_error`.
async fn settle(state: &mut EpisodeState) {
    let Some(mut f) = state.in_flight.take() else { return };
    let outcome = match f.back.try_recv() {
        Ok(o) => Some(o),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed) => None,
        Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
            match tokio::time::timeout_at(f.deadline.into(), &mut f.back).await {
                Ok(r) => r.ok(),
                Err(_) => {
                    // Past the deadline: interrupt whatever statement runs, then wait for the worker to hand back.
                    state.interrupt.interrupt();
                    tokio::time::timeout(INTERRUPT_GRACE, &mut f.back).await.ok().and_then(Result::ok)
                }
            }
        }
    };
    match outcome {
        Some(CallOutcome::Done(episode, reply)) => {
            let failed = episode.failure().map(str::to_string);
            state.episode = Some(episode);
            if let Some(cause) = failed {
                end(state, EndStatus::InfraError, Some(cause)).await;
            }
            // (a chain, not a tuple: the port is taken only when there is a reply to send)
            if let Some(r) = reply
                && let Some(port) = f.reply.take()
            {
                state.shared.metrics.call_status(r.status);
                port.send(*r);
            }
        }
        Some(CallOutcome::Panicked(msg)) => {
            let cause = format!("the tool call panicked: {msg}");
            end(state, EndStatus::InfraError, Some(cause.clone())).await;
            if let Some(port) = f.reply.take() {
                state.shared.metrics.call_status(Status::InfraError);
                port.send(CallReply::refused(&state.info, Status::InfraError, "infra_error", cause));
            }
        }
        None => {
            // A worker that completed took its call off the watchdog's list itself; this one never did.
            state.shared.calls.done(state.info.id);
            let cause = "the worker thread running the call died or never returned; the episode's state is lost";
            end(state, EndStatus::InfraError, Some(cause.into())).await;
            if let Some(port) = f.reply.take() {
                state.shared.metrics.call_status(Status::InfraError);
                port.send(CallReply::refused(&state.info, Status::InfraError, "infra_error", cause.into()));
            }
        }
    }
}

/// Runs one call and journals its step before returning. With `give_up_after`, a call still running after that
/// long is interrupted and given up, with nothing recorded and the state as before (`None`).
#[allow(clippy::too_many_arguments)]
fn run_call(
    episode: &mut Episode,
    info: &EpisodeInfo,
    tool: &str,
    args: &Value,
    deadline: Instant,
    timeout: Duration,
    fault: Option<Fault>,
    journal: Option<&Journal>,
    give_up_after: Option<Duration>,
) -> Option<CallReply> {
    let queued = timeout.saturating_sub(deadline.saturating_duration_since(Instant::now()));
    let budget = deadline.saturating_duration_since(Instant::now());
    let (id, env) = (episode.id(), episode.env().clone());
    let deadline_ms = timeout.as_millis() as u64;
    // The step is borrowed from the episode: build its record and reply from it without copying it.
    let (record, reply) = {
        let step = match fault {
            Some(Fault::PanicInTool) => panic!("injected fault: panic inside a call to {tool}"),
            Some(Fault::DatabaseError) => {
                episode.mark_failed("the episode's database failed (injected fault: disk I/O error)");
                episode.call(tool, args)
            }
            Some(Fault::SlowQuery) => {
                // A real query that never ends on its own: the call's deadline, armed on the connection, stops it.
                let started = Instant::now();
                let _ = episode.db().run_within(budget, |c| {
                    c.query_row(
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                });
                episode.record_timeout(tool, args, deadline_ms, started.elapsed())
            }
            _ if budget.is_zero() => episode.record_timeout(tool, args, deadline_ms, queued),
            _ => match give_up_after {
                Some(cap) => episode.try_call_within(tool, args, cap.min(budget))?,
                None => episode.call_within(tool, args, Some(budget)),
            },
        };
        (journal.map(|_| Record::step(id, &env, step)), CallReply::from_step(info, step))
    };
    if let (Some(j), Some(record)) = (journal, record)
        && let Err(e) = record.and_then(|r| j.record(vec![r]))
    {
        // Not journaled means not acknowledged: the episode cannot go on without a record of its steps.
        episode.mark_failed(format!("the journal refused the step: {e}"));
        let cause = episode.failure().unwrap_or_default().to_string();
        return Some(CallReply::refused(info, Status::InfraError, "infra_error", cause));
    }
    Some(reply)
}

/// A worker's call never gives up (it has the whole deadline); were it to, the client still gets an answer.
fn unreachable_give_up(info: &EpisodeInfo, tool: &str) -> CallReply {
    let cause = format!("the call to {tool} was given up without a result");
    CallReply::refused(info, Status::InfraError, "infra_error", cause)
}

async fn finish(state: &mut EpisodeState, answer: String) -> Result<FinishReply, RuntimeError> {
    if state.info.task.is_none() {
        return Err(RuntimeError::Invalid(format!(
            "episode {} has no task to verify; close it instead",
            state.info.id
        )));
    }
    let Some(mut episode) = state.episode.take() else {
        return Err(infra(state, "the episode's state is gone".into()));
    };
    let journal = state.shared.journal.clone();
    let shared = state.shared.clone();
    let outcome = shared
        .pool
        .run(&shared.metrics, move || {
            let result = episode.finish(&answer).cloned();
            if let (Ok(v), Some(j)) = (&result, &journal) {
                let id = episode.id();
                let recs =
                    vec![Record::verdict(id, v, &answer), Record::ended(id, "finished", None, episode.steps().len())];
                if let Err(e) = j.record(recs) {
                    return (episode, Err(agentworld_runtime::EngineError::Journal(e.to_string())));
                }
            }
            (episode, result)
        })
        .await
        .ok()
        .flatten();
    match outcome {
        Some((episode, Ok(verdict))) => {
            let steps = episode.steps().len();
            state.episode = Some(episode);
            // The verdict and the end are journaled already (with the verification, on the worker).
            release(state, EndStatus::Finished, None, None).await;
            Ok(FinishReply { episode: state.info.id, verdict, steps })
        }
        Some((episode, Err(e))) => {
            // Verification that cannot run is an infrastructure failure, never a zero reward.
            state.episode = Some(episode);
            Err(infra_end(state, format!("verification failed: {e}")).await)
        }
        None => Err(infra_end(state, "the worker died while verifying".into()).await),
    }
}

fn infra(state: &EpisodeState, cause: String) -> RuntimeError {
    RuntimeError::Infra {
        episode: Some(state.info.id),
        resample: Some(Box::new(crate::api::ResampleHint::new(&state.info, cause.clone()))),
        cause,
    }
}

async fn infra_end(state: &mut EpisodeState, cause: String) -> RuntimeError {
    end(state, EndStatus::InfraError, Some(cause.clone())).await;
    infra(state, cause)
}

async fn branch(state: &mut EpisodeState, count: usize) -> Result<Vec<EpisodeInfo>, RuntimeError> {
    if count == 0 {
        return Err(RuntimeError::Invalid("a branch needs at least one episode".into()));
    }
    let Some(episode) = state.episode.take() else {
        return Err(infra(state, "the episode's state is gone".into()));
    };
    let shared = state.shared.clone();
    let outcome = shared
        .pool
        .run(&shared.metrics, move || {
            let branches = episode.branch_group(count);
            (episode, branches)
        })
        .await
        .ok()
        .flatten();
    let Some((episode, branches)) = outcome else {
        return Err(infra_end(state, "the worker died while branching".into()).await);
    };
    state.episode = Some(episode);
    let branches = branches.map_err(|e| RuntimeError::Infra {
        episode: Some(state.info.id),
        cause: e.to_string(),
        resample: None,
    })?;
    let group = (count > 1).then(agentworld_runtime::episode::next_episode_id);
    crate::env_actor::adopt(&state.shared, &state.info.env, branches, group, state.info.group).await
}
