//! Supervised, parallel environment generation: a [`GenerationSupervisor`] hands slots to one [`GeneratorActor`]
//! per core. A generator that panics is replaced and its slot is retried with the next sub-seed; a slot whose draw
//! fails validation is retried likewise; every crash and rejection is reported. Results are collected by slot, so
//! the output does not depend on which generator finished first.
//!
//! ```no_run
//! # async fn demo() {
//! use agentworld_actors::generate::{GenerationSpec, generate};
//! let spec = GenerationSpec::new(agentworld_generator::builtin_domains(), 100, 7);
//! let report = generate(spec).await.expect("the run completes");
//! assert_eq!(report.envs.len(), 100);
//! # }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use agentworld_generator::{Domain, GeneratedEnv, Rejection, generate_one};
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use serde::Serialize;
use tokio::sync::oneshot;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerationSpec {
    pub domains: Vec<Domain>,
    pub count: usize,
    pub seed: u64,
    /// Generator actors (default: the number of cores).
    pub workers: usize,
    /// Attempts per slot before it is given up (reported, never silent).
    pub max_attempts: u32,
    /// Test-only fault injection: panic inside the generator working on these `(slot, attempt)` pairs.
    pub panic_at: Vec<(usize, u32)>,
}

impl GenerationSpec {
    pub fn new(domains: Vec<Domain>, count: usize, seed: u64) -> GenerationSpec {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        GenerationSpec { domains, count, seed, workers, max_attempts: 8, panic_at: Vec::new() }
    }

    /// The domain of a slot: round-robin, so every domain gets its share.
    pub fn domain_of(&self, slot: usize) -> &Domain {
        &self.domains[slot % self.domains.len()]
    }
}

/// A failed attempt: a rejection by validation or a generator crash.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailedAttempt {
    pub slot: usize,
    pub attempt: u32,
    pub domain: String,
    /// `rejected` or `crashed`.
    pub what: &'static str,
    pub reason: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerationReport {
    /// Written environments, by slot.
    pub envs: Vec<GeneratedEnv>,
    /// Every attempt that produced nothing, in slot order.
    pub failed_attempts: Vec<FailedAttempt>,
    /// Slots given up after `max_attempts`.
    pub lost_slots: Vec<usize>,
    /// Generator actors restarted after a crash.
    pub restarts: usize,
    /// Environments redrawn because another one already had their schema and toolset.
    pub redrawn_duplicates: usize,
}

/// Generates `spec.count` environments on `spec.workers` supervised generator actors.
pub async fn generate(spec: GenerationSpec) -> Result<GenerationReport, String> {
    if spec.domains.is_empty() {
        return Err("no domains to generate from".into());
    }
    if spec.count == 0 {
        return Ok(GenerationReport::default());
    }
    let (tx, rx) = oneshot::channel();
    let spec = Arc::new(spec);
    let (_sup, handle) = Actor::spawn(None, GenerationSupervisor, (spec.clone(), tx))
        .await
        .map_err(|e| format!("cannot start the generation supervisor: {e}"))?;
    let mut report = rx.await.map_err(|_| "the generation supervisor stopped without a report".to_string())?;
    let _ = handle.await;
    // Distinct schema + toolset across the run, settled in slot order so the result stays deterministic.
    let mut seen = HashSet::new();
    for i in 0..report.envs.len() {
        if seen.insert(report.envs[i].fingerprint.clone()) {
            continue;
        }
        let env = &report.envs[i];
        let (slot, mut attempt) = (env.index, env.attempt);
        let domain = spec.domain_of(slot).clone();
        let seed = spec.seed;
        let redrawn = loop {
            attempt += 1;
            if attempt > spec.max_attempts + 16 {
                break None;
            }
            let d = domain.clone();
            let r = tokio::task::spawn_blocking(move || generate_one(&d, seed, slot, attempt)).await;
            if let Ok(Ok(e)) = r
                && !seen.contains(&e.fingerprint)
            {
                break Some(e);
            }
        };
        report.redrawn_duplicates += 1;
        match redrawn {
            Some(e) => {
                seen.insert(e.fingerprint.clone());
                report.envs[i] = e;
            }
            None => report.lost_slots.push(slot),
        }
    }
    report.envs.retain(|e| !report.lost_slots.contains(&e.index));
    report.lost_slots.sort_unstable();
    Ok(report)
}

/// Messages of the supervisor.
pub enum SupervisorMsg {
    /// A generator finished a slot.
    Done { worker: ActorId, slot: usize, attempt: u32, result: Box<Result<GeneratedEnv, Rejection>> },
}

/// Messages of a generator.
pub enum GeneratorMsg {
    Generate { slot: usize, attempt: u32 },
}

/// Hands out slots, retries failures with the next sub-seed, replaces crashed generators.
pub struct GenerationSupervisor;

pub struct SupervisorState {
    spec: Arc<GenerationSpec>,
    reply: Option<oneshot::Sender<GenerationReport>>,
    next_slot: usize,
    /// Retries waiting for a free generator.
    retries: Vec<(usize, u32)>,
    /// What each generator is working on.
    busy: HashMap<ActorId, (usize, u32)>,
    done: Vec<Option<GeneratedEnv>>,
    finished: usize,
    report: GenerationReport,
}

impl SupervisorState {
    fn next_job(&mut self) -> Option<(usize, u32)> {
        if let Some(j) = self.retries.pop() {
            return Some(j);
        }
        if self.next_slot < self.spec.count {
            self.next_slot += 1;
            return Some((self.next_slot - 1, 0));
        }
        None
    }

    /// Records a failed attempt and queues the next one (or gives the slot up).
    fn failed(&mut self, slot: usize, attempt: u32, what: &'static str, reason: String) {
        self.report.failed_attempts.push(FailedAttempt {
            slot,
            attempt,
            domain: self.spec.domain_of(slot).name.clone(),
            what,
            reason,
        });
        if attempt + 1 < self.spec.max_attempts {
            self.retries.push((slot, attempt + 1));
        } else {
            self.report.lost_slots.push(slot);
            self.finished += 1;
        }
    }
}

async fn assign(worker: &ActorRef<GeneratorMsg>, state: &mut SupervisorState) {
    if let Some((slot, attempt)) = state.next_job() {
        state.busy.insert(worker.get_id(), (slot, attempt));
        if worker.send_message(GeneratorMsg::Generate { slot, attempt }).is_err() {
            // The generator is already gone; its supervision event re-queues the slot.
            tracing::warn!(slot, "generator unavailable");
        }
    }
}

async fn spawn_generator(
    myself: &ActorRef<SupervisorMsg>,
    state: &SupervisorState,
) -> Result<ActorRef<GeneratorMsg>, ActorProcessingErr> {
    let args = GeneratorArgs { spec: state.spec.clone(), supervisor: myself.clone() };
    let (worker, _) = Actor::spawn_linked(None, GeneratorActor, args, myself.get_cell()).await?;
    Ok(worker)
}

fn maybe_finish(myself: &ActorRef<SupervisorMsg>, state: &mut SupervisorState) {
    if state.finished < state.spec.count {
        return;
    }
    let mut report = std::mem::take(&mut state.report);
    report.envs = state.done.iter_mut().filter_map(Option::take).collect();
    report.failed_attempts.sort_by_key(|f| (f.slot, f.attempt));
    if let Some(tx) = state.reply.take() {
        let _ = tx.send(report);
    }
    myself.stop(None);
}

impl Actor for GenerationSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = (Arc<GenerationSpec>, oneshot::Sender<GenerationReport>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (spec, reply): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut state = SupervisorState {
            done: vec![None; spec.count],
            spec,
            reply: Some(reply),
            next_slot: 0,
            retries: Vec::new(),
            busy: HashMap::new(),
            finished: 0,
            report: GenerationReport::default(),
        };
        for _ in 0..state.spec.workers.max(1) {
            let worker = spawn_generator(&myself, &state).await?;
            assign(&worker, &mut state).await;
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Done { worker, slot, attempt, result } => {
                state.busy.remove(&worker);
                match *result {
                    Ok(env) => {
                        state.done[slot] = Some(env);
                        state.finished += 1;
                    }
                    Err(rejection) => state.failed(slot, attempt, "rejected", rejection.to_string()),
                }
                if let Some(cell) = myself.get_children().into_iter().find(|c| c.get_id() == worker) {
                    assign(&ActorRef::from(cell), state).await;
                }
                maybe_finish(&myself, state);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        evt: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, err) = evt {
            state.report.restarts += 1;
            if let Some((slot, attempt)) = state.busy.remove(&cell.get_id()) {
                tracing::warn!(slot, attempt, error = %err, "generator crashed; retrying the slot with the next sub-seed");
                state.failed(slot, attempt, "crashed", err.to_string());
            }
            if state.finished < state.spec.count {
                let worker = spawn_generator(&myself, state).await?;
                assign(&worker, state).await;
            }
            maybe_finish(&myself, state);
        }
        Ok(())
    }
}

/// Generates the slots it is given, one at a time, off the async executor.
pub struct GeneratorActor;

pub struct GeneratorArgs {
    spec: Arc<GenerationSpec>,
    supervisor: ActorRef<SupervisorMsg>,
}

impl Actor for GeneratorActor {
    type Msg = GeneratorMsg;
    type State = GeneratorArgs;
    type Arguments = GeneratorArgs;

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        args: GeneratorArgs,
    ) -> Result<GeneratorArgs, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let GeneratorMsg::Generate { slot, attempt } = msg;
        let spec = state.spec.clone();
        let inject = spec.panic_at.contains(&(slot, attempt));
        let job = tokio::task::spawn_blocking(move || {
            if inject {
                panic!("injected generator fault at slot {slot}, attempt {attempt}");
            }
            generate_one(spec.domain_of(slot), spec.seed, slot, attempt)
        });
        match job.await {
            Ok(result) => {
                let done = SupervisorMsg::Done { worker: myself.get_id(), slot, attempt, result: Box::new(result) };
                state.supervisor.send_message(done).map_err(|e| format!("supervisor gone: {e}"))?;
                Ok(())
            }
            // The panic is this actor's failure: its supervisor replaces it and retries the slot.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(format!("generation task cancelled: {e}").into()),
        }
    }
}
