//! Running the stages over many drafts: a `SynthSupervisor` actor hands drafts to `GeneratorActor`s (one per
//! concurrent draft); each runs its draft's stages off the async executors and reports back. A generator that
//! panics is replaced and its draft reported as dropped (stage and panic message); the run goes on. The model
//! client's own limit bounds the requests in flight across all generators.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::error::SynthError;
use crate::llm::{Chat, UsageReport};
use crate::stages::{Draft, Dropped, Seed, Stage, run_stage, scenario};

/// What a progress display hears.
pub trait Progress: Send + Sync {
    /// `total` drafts will enter `stage`.
    fn start(&self, stage: Stage, total: usize);
    /// A draft left `stage`, passing or dropped.
    fn finished(&self, stage: Stage, passed: bool);
}

/// No display.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: Stage, _: usize) {}
    fn finished(&self, _: Stage, _: bool) {}
}

/// Per-stage counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StageReport {
    pub stage: String,
    pub entered: usize,
    pub passed: usize,
    pub dropped: usize,
    pub pass_rate: f64,
    /// Model calls made for this stage (first tries and self-corrections).
    pub tries: usize,
    /// Drafts that needed more than one try and then passed.
    pub corrected: usize,
    /// Time spent in the stage, summed over drafts (model calls and validation), seconds.
    pub busy_s: f64,
}

/// A draft that left the pipeline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DroppedReport {
    pub scenario: String,
    pub stage: String,
    pub reason: String,
}

/// The report of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SynthReport {
    pub prompt_version: String,
    pub stages: Vec<StageReport>,
    pub usage: UsageReport,
    pub duplicates: Vec<(String, String)>,
    pub dropped: Vec<DroppedReport>,
    /// Tasks dropped from environments that were kept.
    pub rejected_tasks: usize,
    pub generator_crashes: usize,
    pub environments: usize,
    pub seconds: f64,
    pub environments_per_s: f64,
}

#[derive(Default)]
struct Counts {
    stages: BTreeMap<Stage, StageReport>,
}

impl Counts {
    fn record(&mut self, stage: Stage, tries: usize, passed: bool, busy: f64) {
        let r = self
            .stages
            .entry(stage)
            .or_insert_with(|| StageReport { stage: stage.as_str().into(), ..Default::default() });
        r.entered += 1;
        r.busy_s += busy;
        r.tries += tries;
        if passed {
            r.passed += 1;
            if tries > 1 {
                r.corrected += 1;
            }
        } else {
            r.dropped += 1;
        }
    }
}

/// What a run shares with its generators.
pub struct RunContext {
    pub chat: Arc<Chat>,
    pub progress: Arc<dyn Progress>,
    counts: Mutex<Counts>,
    /// Stages to run on each draft, in order (after scenarios).
    stages: Vec<Stage>,
    /// Test hook: a generator panics on a draft of this name (fault injection).
    pub panic_on: Option<String>,
}

impl RunContext {
    pub fn new(chat: Arc<Chat>, progress: Arc<dyn Progress>) -> RunContext {
        RunContext { chat, progress, counts: Mutex::new(Counts::default()), stages: Vec::new(), panic_on: None }
    }

    fn record(&self, stage: Stage, tries: usize, passed: bool, started: Instant) {
        if let Ok(mut c) = self.counts.lock() {
            c.record(stage, tries, passed, started.elapsed().as_secs_f64());
        }
        self.progress.finished(stage, passed);
    }
}

/// One job: a scenario slot (seed, variant) or a draft to take through the stages.
#[derive(Clone)]
enum Job {
    Scenario { seed: Seed, variant: usize },
    Draft(Box<Draft>),
}

/// Runs one job to its end (blocking).
fn run_job(ctx: &RunContext, job: Job) -> Result<Draft, SynthError> {
    match job {
        Job::Scenario { seed, variant } => match (Instant::now(), scenario(&ctx.chat, &seed, variant)) {
            (t, Ok((draft, tries))) => {
                ctx.record(Stage::Scenarios, tries, true, t);
                Ok(draft)
            }
            (_, Err((Err(e), _))) => Err(e),
            (t, Err((Ok(reason), tries))) => {
                ctx.record(Stage::Scenarios, tries, false, t);
                Ok(Draft {
                    name: format!("{}#{variant}", seed.name),
                    seed: Some(seed.name),
                    dropped: Some(Dropped { stage: Stage::Scenarios, reason }),
                    ..Draft::default()
                })
            }
        },
        Job::Draft(draft) => {
            let mut draft = *draft;
            if ctx.panic_on.as_deref() == Some(draft.name.as_str()) {
                panic!("injected generator fault on {}", draft.name);
            }
            for &stage in &ctx.stages {
                let t = Instant::now();
                match run_stage(&ctx.chat, stage, &mut draft) {
                    Ok(tries) => ctx.record(stage, tries, true, t),
                    Err((Err(e), _)) => return Err(e),
                    Err((Ok(reason), tries)) => {
                        ctx.record(stage, tries, false, t);
                        draft.dropped = Some(Dropped { stage, reason });
                        break;
                    }
                }
            }
            Ok(draft)
        }
    }
}

/// Each job's result (a draft, or the endpoint failure that stopped it) and the generator crashes.
type Results = (Vec<Result<Draft, SynthError>>, usize);

enum SupMsg {
    Done { worker: ActorId, index: usize, result: Box<Result<Draft, SynthError>> },
}

struct GenMsg {
    index: usize,
    job: Job,
}

struct SynthSupervisor;

struct SupState {
    ctx: Arc<RunContext>,
    queue: VecDeque<(usize, Job)>,
    busy: HashMap<ActorId, (usize, Job)>,
    results: Vec<Option<Result<Draft, SynthError>>>,
    remaining: usize,
    crashes: usize,
    reply: Option<oneshot::Sender<Results>>,
}

async fn spawn_generator(
    myself: &ActorRef<SupMsg>,
    ctx: &Arc<RunContext>,
) -> Result<ActorRef<GenMsg>, ActorProcessingErr> {
    let (worker, _) =
        Actor::spawn_linked(None, GeneratorActor, (ctx.clone(), myself.clone()), myself.get_cell()).await?;
    Ok(worker)
}

fn assign(worker: &ActorRef<GenMsg>, state: &mut SupState) {
    if let Some((index, job)) = state.queue.pop_front() {
        state.busy.insert(worker.get_id(), (index, job.clone()));
        let _ = worker.send_message(GenMsg { index, job });
    }
}

fn maybe_finish(myself: &ActorRef<SupMsg>, state: &mut SupState) {
    if state.remaining > 0 {
        return;
    }
    let results = state
        .results
        .iter_mut()
        .map(|r| r.take().unwrap_or_else(|| Err(SynthError::Invalid("a job's result was lost".into()))))
        .collect();
    if let Some(tx) = state.reply.take() {
        let _ = tx.send((results, state.crashes));
    }
    myself.stop(None);
}

impl Actor for SynthSupervisor {
    type Msg = SupMsg;
    type State = SupState;
    type Arguments = (Arc<RunContext>, Vec<Job>, usize, oneshot::Sender<Results>);

    async fn pre_start(
        &self,
        myself: ActorRef<SupMsg>,
        (ctx, jobs, workers, reply): Self::Arguments,
    ) -> Result<SupState, ActorProcessingErr> {
        let n = jobs.len();
        let mut state = SupState {
            ctx: ctx.clone(),
            queue: jobs.into_iter().enumerate().collect(),
            busy: HashMap::new(),
            results: (0..n).map(|_| None).collect(),
            remaining: n,
            crashes: 0,
            reply: Some(reply),
        };
        for _ in 0..workers.max(1).min(n.max(1)) {
            let w = spawn_generator(&myself, &ctx).await?;
            assign(&w, &mut state);
        }
        maybe_finish(&myself, &mut state);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SupMsg>,
        msg: SupMsg,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        let SupMsg::Done { worker, index, result } = msg;
        state.busy.remove(&worker);
        state.results[index] = Some(*result);
        state.remaining -= 1;
        if let Some(cell) = myself.get_children().into_iter().find(|c| c.get_id() == worker) {
            assign(&ActorRef::from(cell), state);
        }
        maybe_finish(&myself, state);
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupMsg>,
        evt: SupervisionEvent,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, err) = evt {
            state.crashes += 1;
            if let Some((index, job)) = state.busy.remove(&cell.get_id()) {
                let name = match &job {
                    Job::Draft(d) => d.name.clone(),
                    Job::Scenario { seed, variant } => format!("{}#{variant}", seed.name),
                };
                let stage = state.ctx.stages.first().copied().unwrap_or(Stage::Scenarios);
                state.ctx.record(stage, 0, false, Instant::now());
                state.results[index] = Some(Ok(Draft {
                    name,
                    dropped: Some(Dropped { stage, reason: format!("the generator crashed: {err}") }),
                    ..Draft::default()
                }));
                state.remaining -= 1;
            }
            if state.remaining > 0 {
                let w = spawn_generator(&myself, &state.ctx).await?;
                assign(&w, state);
            }
            maybe_finish(&myself, state);
        }
        Ok(())
    }
}

/// Takes drafts through the stages, one at a time, off the async executor.
struct GeneratorActor;

impl Actor for GeneratorActor {
    type Msg = GenMsg;
    type State = (Arc<RunContext>, ActorRef<SupMsg>);
    type Arguments = (Arc<RunContext>, ActorRef<SupMsg>);

    async fn pre_start(&self, _: ActorRef<GenMsg>, args: Self::Arguments) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<GenMsg>,
        msg: GenMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let ctx = state.0.clone();
        let job = tokio::task::spawn_blocking(move || run_job(&ctx, msg.job));
        match job.await {
            Ok(result) => {
                let done = SupMsg::Done { worker: myself.get_id(), index: msg.index, result: Box::new(result) };
                state.1.send_message(done).map_err(|e| format!("supervisor gone: {e}"))?;
                Ok(())
            }
            // The panic is this actor's failure: the supervisor reports the draft and replaces the actor.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(format!("generation task cancelled: {e}").into()),
        }
    }
}

async fn supervise(ctx: Arc<RunContext>, jobs: Vec<Job>, workers: usize) -> Result<Results, SynthError> {
    let (tx, rx) = oneshot::channel();
    let (_sup, handle) = Actor::spawn(None, SynthSupervisor, (ctx, jobs, workers, tx))
        .await
        .map_err(|e| SynthError::Invalid(format!("cannot start the synthesis supervisor: {e}")))?;
    let out = rx.await.map_err(|_| SynthError::Invalid("the synthesis supervisor stopped without results".into()))?;
    let _ = handle.await;
    Ok(out)
}

/// What to run.
pub struct RunOptions {
    /// Concurrent drafts (generator actors).
    pub workers: usize,
    /// Near-duplicate threshold for scenario de-duplication (MinHash Jaccard estimate).
    pub dedup_threshold: f64,
    /// De-duplicate by an OpenAI-compatible embeddings endpoint instead: (base URL, model); cosine threshold below.
    pub embeddings: Option<(String, String)>,
    pub embedding_threshold: f64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { workers: 8, dedup_threshold: 0.6, embeddings: None, embedding_threshold: 0.92 }
    }
}

/// Embeddings of `texts` from `POST {url}/embeddings` (`{"model", "input": [...]}` -> `data[i].embedding`).
pub fn embed(url: &str, model: &str, texts: &[String], api_key: Option<&str>) -> Result<Vec<Vec<f64>>, SynthError> {
    let body = serde_json::json!({"model": model, "input": texts}).to_string();
    let endpoint = format!("{}/embeddings", url.trim_end_matches('/'));
    let bytes =
        agentworld_rl::http::post_json(&endpoint, body.as_bytes(), api_key, std::time::Duration::from_secs(120))
            .map_err(|e| SynthError::Endpoint(format!("embeddings: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| SynthError::Endpoint(format!("embeddings: not JSON: {e}")))?;
    let data = v["data"].as_array().ok_or_else(|| SynthError::Endpoint("embeddings: no \"data\" array".into()))?;
    if data.len() != texts.len() {
        return Err(SynthError::Endpoint(format!("embeddings: {} vectors for {} texts", data.len(), texts.len())));
    }
    data.iter()
        .map(|d| {
            d["embedding"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
                .ok_or_else(|| SynthError::Endpoint("embeddings: an item has no \"embedding\" array".into()))
        })
        .collect()
}

/// Slots for `count` scenarios from `seeds`: seed `i % seeds`, variant `i / seeds`.
pub fn scenario_slots(seeds: &[Seed], count: usize) -> Vec<(Seed, usize)> {
    (0..count).filter(|_| !seeds.is_empty()).map(|i| (seeds[i % seeds.len()].clone(), i / seeds.len())).collect()
}

/// The scenarios stage: one draft per slot, then de-duplication (names made unique). Endpoint failures end the
/// run with an error; dry runs print and return what was printed.
pub async fn run_scenarios(
    ctx: Arc<RunContext>,
    slots: Vec<(Seed, usize)>,
    options: &RunOptions,
) -> Result<(Vec<Draft>, Vec<(String, String)>, usize), SynthError> {
    ctx.progress.start(Stage::Scenarios, slots.len());
    let jobs = slots.into_iter().map(|(seed, variant)| Job::Scenario { seed, variant }).collect();
    let (results, crashes) = supervise(ctx.clone(), jobs, options.workers).await?;
    let mut drafts = Vec::new();
    for r in results {
        match r {
            Ok(d) => drafts.push(d),
            Err(SynthError::DryRun) => {}
            Err(e) => return Err(e),
        }
    }
    // De-duplicate the drafts that passed, in slot order, and make names unique.
    let live: Vec<usize> = (0..drafts.len()).filter(|&i| drafts[i].dropped.is_none()).collect();
    let texts: Vec<String> =
        live.iter().map(|&i| format!("{} {}", drafts[i].name.replace('_', " "), drafts[i].description)).collect();
    let mut duplicates = Vec::new();
    let pairs = match &options.embeddings {
        Some((url, model)) if !texts.is_empty() => {
            let vectors = embed(url, model, &texts, ctx.chat.config().api_key.as_deref())?;
            crate::dedup::near_duplicates_by_embedding(&vectors, options.embedding_threshold)
        }
        _ => crate::dedup::near_duplicates(&texts, options.dedup_threshold),
    };
    for (dup, orig) in pairs {
        let (d, o) = (live[dup], live[orig]);
        duplicates.push((drafts[d].name.clone(), drafts[o].name.clone()));
        drafts[d].dropped =
            Some(Dropped { stage: Stage::Scenarios, reason: format!("near-duplicate of {}", drafts[o].name) });
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for d in drafts.iter_mut().filter(|d| d.dropped.is_none()) {
        let n = seen.entry(d.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            d.name = format!("{}_{}", d.name, n);
        }
    }
    Ok((drafts, duplicates, crashes))
}

/// Takes `drafts` through `stages` (drafts already dropped pass through untouched).
pub async fn run_stages(
    ctx: RunContext,
    drafts: Vec<Draft>,
    stages: &[Stage],
    options: &RunOptions,
) -> Result<(Vec<Draft>, usize, Arc<RunContext>), SynthError> {
    let ctx = Arc::new(RunContext { stages: stages.to_vec(), ..ctx });
    let live = drafts.iter().filter(|d| d.dropped.is_none()).count();
    for &s in stages {
        ctx.progress.start(s, live);
    }
    type Numbered = Vec<(usize, Draft)>;
    let (passthrough, todo): (Numbered, Numbered) =
        drafts.into_iter().enumerate().partition(|(_, d)| d.dropped.is_some());
    let order: Vec<usize> = todo.iter().map(|(i, _)| *i).collect();
    let jobs = todo.into_iter().map(|(_, d)| Job::Draft(Box::new(d))).collect();
    let (results, crashes) = supervise(ctx.clone(), jobs, options.workers).await?;
    let mut out: Vec<(usize, Draft)> = passthrough;
    for (i, r) in order.into_iter().zip(results) {
        match r {
            Ok(d) => out.push((i, d)),
            Err(SynthError::DryRun) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok((out.into_iter().map(|(_, d)| d).collect(), crashes, ctx))
}

/// The report of a run from its context and final drafts.
pub fn report(
    ctx: &RunContext,
    drafts: &[Draft],
    duplicates: Vec<(String, String)>,
    crashes: usize,
    started: Instant,
) -> SynthReport {
    let mut stages: Vec<StageReport> =
        ctx.counts.lock().map(|c| c.stages.values().cloned().collect()).unwrap_or_default();
    for s in &mut stages {
        s.pass_rate = if s.entered == 0 { 0.0 } else { s.passed as f64 / s.entered as f64 };
    }
    let environments = drafts.iter().filter(|d| d.dropped.is_none() && !d.verified.is_empty()).count();
    let seconds = started.elapsed().as_secs_f64();
    SynthReport {
        prompt_version: crate::stages::PROMPT_VERSION.into(),
        stages,
        usage: ctx.chat.usage(),
        duplicates,
        dropped: drafts
            .iter()
            .filter_map(|d| {
                d.dropped.as_ref().map(|x| DroppedReport {
                    scenario: d.name.clone(),
                    stage: x.stage.as_str().into(),
                    reason: x.reason.clone(),
                })
            })
            .collect(),
        rejected_tasks: drafts.iter().map(|d| d.rejected_tasks.len()).sum(),
        generator_crashes: crashes,
        environments,
        seconds,
        environments_per_s: environments as f64 / seconds.max(1e-9),
    }
}

/// Merges the counts of an earlier phase (the scenarios stage) into `ctx`.
pub fn merge_counts(into: &RunContext, from: &RunContext) {
    if let (Ok(mut a), Ok(b)) = (into.counts.lock(), from.counts.lock()) {
        for (k, v) in &b.stages {
            a.stages.insert(*k, v.clone());
        }
    }
}
