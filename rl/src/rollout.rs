//! Rollouts over the actor runtime: a GRPO group of episodes per task, all live episodes stepped together (one
//! policy batch per round, tool calls as one runtime batch), verdicts as rewards. Episodes that fail for
//! infrastructure reasons are never scored: they are replaced by a fresh episode of the same task (once) and
//! otherwise masked out of their group.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use agentworld_actors::{Runtime, Status};
use agentworld_generator::rng::Rng;
use agentworld_runtime::Outcome;
use serde_json::Value;

use crate::features::Sparse;
use crate::policy::{Policy, PolicyError};
use crate::state::{Action, EnvInfo, EpisodeState, Obs, ToolKind, Turn};
use crate::text::Instruction;

/// A task to roll out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskRef {
    pub env: String,
    pub task: String,
}

impl TaskRef {
    /// Every task of the environments, in order.
    pub fn all(envs: &[Arc<agentworld_runtime::Environment>]) -> Vec<TaskRef> {
        envs.iter()
            .flat_map(|e| e.tasks().iter().map(|t| TaskRef { env: e.name().into(), task: t.id().into() }))
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RolloutConfig {
    pub group_size: usize,
    pub max_steps: usize,
    /// Take the best-scored action instead of sampling (evaluation).
    pub greedy: bool,
    /// Seeds sampling together with each episode's place (task, member of its group, retry round), so the same
    /// seed gives the same actions whatever order the runtime opened the episodes in.
    pub seed: u64,
}

/// One decision of an episode, kept for the policy update.
#[derive(Debug, Clone)]
pub struct StepSample {
    pub candidates: Vec<Sparse>,
    pub chosen: usize,
}

/// How one episode went.
#[derive(Debug, Clone)]
pub struct EpisodeOutcome {
    pub id: u64,
    pub task: usize,
    pub reward: f32,
    pub success: bool,
    /// Failed for infrastructure reasons: no reward, masked out.
    pub infra: bool,
    pub steps: Vec<StepSample>,
    /// Kinds of the actions taken (for reports).
    pub kinds: Vec<&'static str>,
    /// Ended by a malformed tool call (reward [`FORMAT_REWARD`]).
    pub format_error: bool,
}

/// AWM's reward for an episode ended by a malformed tool call.
pub const FORMAT_REWARD: f32 = -1.0;

/// A rollout's episodes, grouped by task.
#[derive(Debug, Default)]
pub struct RolloutResult {
    /// `groups[i]` are the episodes of `tasks[i]`.
    pub groups: Vec<Vec<EpisodeOutcome>>,
    pub env_steps: usize,
    pub seconds: f64,
    /// Of `seconds`: choosing actions (candidates, features, scoring) and waiting for tool calls and verdicts.
    pub policy_seconds: f64,
    pub call_seconds: f64,
    pub finish_seconds: f64,
    pub resampled: usize,
    /// Episodes whose group could not be opened even on the retry (reported, never scored).
    pub unopened: usize,
}

impl RolloutResult {
    /// Group-relative (GRPO) advantage of every episode, in `groups` order (flattened), computed by the kernels
    /// crate; infrastructure failures are masked out of their group's statistics and get 0.
    pub fn advantages(
        &self,
        backend: &agentworld_kernels::Backend,
    ) -> Result<Vec<f32>, agentworld_kernels::KernelError> {
        let mut rewards = Vec::new();
        let mut valid = Vec::new();
        let mut offsets = vec![0u32];
        for g in &self.groups {
            for e in g {
                rewards.push(e.reward);
                valid.push(!e.infra);
            }
            offsets.push(rewards.len() as u32);
        }
        let mut adv = vec![0.0f32; rewards.len()];
        backend.grpo(&rewards, &offsets, Some(&valid), &agentworld_kernels::GrpoConfig::default(), &mut adv)?;
        Ok(adv)
    }
}

struct Live {
    id: u64,
    /// Sampling key: a function of the rollout seed and the episode's place, not of its runtime id.
    key: u64,
    task: usize,
    state: EpisodeState,
    steps: Vec<StepSample>,
    kinds: Vec<&'static str>,
    done: Option<(f32, bool, bool)>,
    format_error: bool,
}

/// Caches classified environments.
#[derive(Default)]
pub struct EnvCache(HashMap<String, Arc<EnvInfo>>);

impl EnvCache {
    pub fn get(&mut self, rt: &Runtime, env: &str) -> Option<Arc<EnvInfo>> {
        if let Some(i) = self.0.get(env) {
            return Some(i.clone());
        }
        let info = Arc::new(EnvInfo::new(rt.environment(env)?));
        self.0.insert(env.to_string(), info.clone());
        Some(info)
    }
}

/// Rolls out `tasks` with `policy`: `cfg.group_size` episodes each.
pub async fn rollout(
    rt: &Runtime,
    policy: &mut dyn Policy,
    cache: &mut EnvCache,
    tasks: &[TaskRef],
    cfg: RolloutConfig,
) -> Result<RolloutResult, PolicyError> {
    let started = Instant::now();
    let mut result = RolloutResult { groups: vec![Vec::new(); tasks.len()], ..RolloutResult::default() };
    let mut pending: Vec<(usize, usize)> = (0..tasks.len()).map(|t| (t, cfg.group_size)).collect();
    for round in 0..2 {
        let (mut live, unopened) = open(rt, cache, tasks, &pending, cfg.seed, round).await;
        step_all(rt, policy, &mut live, cfg, &mut result).await?;
        pending = unopened;
        if round == 1 {
            result.unopened = pending.iter().map(|(_, n)| n).sum();
        }
        for ep in live {
            let (reward, success, infra) = ep.done.unwrap_or((0.0, false, true));
            if infra && round == 0 {
                // Replace it with a fresh episode of the same task instead of scoring it.
                result.resampled += 1;
                match pending.iter_mut().find(|(t, _)| *t == ep.task) {
                    Some(p) => p.1 += 1,
                    None => pending.push((ep.task, 1)),
                }
                continue;
            }
            result.groups[ep.task].push(EpisodeOutcome {
                id: ep.id,
                task: ep.task,
                reward,
                success,
                infra,
                steps: ep.steps,
                kinds: ep.kinds,
                format_error: ep.format_error,
            });
        }
        if pending.is_empty() {
            break;
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    Ok(result)
}

/// Opens the pending groups, all at once. Groups that fail to open are returned to be retried.
async fn open(
    rt: &Runtime,
    cache: &mut EnvCache,
    tasks: &[TaskRef],
    pending: &[(usize, usize)],
    seed: u64,
    round: usize,
) -> (Vec<Live>, Vec<(usize, usize)>) {
    let mut opening = tokio::task::JoinSet::new();
    let mut failed = Vec::new();
    let mut prepared = HashMap::new();
    for &(ti, n) in pending {
        let t = &tasks[ti];
        let Some(info) = cache.get(rt, &t.env) else {
            failed.push((ti, n));
            continue;
        };
        let Some(task) = info.env.task(&t.task) else {
            failed.push((ti, n));
            continue;
        };
        prepared.insert(ti, (info.clone(), Arc::new(Instruction::parse(&task.spec.instruction))));
        let (rt, env, task) = (rt.clone(), t.env.clone(), t.task.clone());
        opening.spawn(async move { (ti, n, rt.open_group(&env, &task, n).await) });
    }
    let mut opened = Vec::new();
    while let Some(joined) = opening.join_next().await {
        match joined {
            Ok((ti, _, Ok(group))) => opened.push((ti, group)),
            Ok((ti, n, Err(_))) => failed.push((ti, n)),
            Err(_) => {}
        }
    }
    // Episode order (and so sampling keys) follows the task order, whatever order the groups opened in.
    opened.sort_by_key(|(ti, _)| *ti);
    let mut live = Vec::new();
    for (ti, group) in opened {
        let (info, instruction) = &prepared[&ti];
        for (member, e) in group.into_iter().enumerate() {
            let place = ((round as u64) << 48) ^ ((ti as u64) << 16) ^ member as u64;
            live.push(Live {
                id: e.id,
                key: Rng::derive(seed, place),
                task: ti,
                state: EpisodeState::new(info.clone(), instruction.clone()),
                steps: Vec::new(),
                kinds: Vec::new(),
                done: None,
                format_error: false,
            });
        }
    }
    (live, failed)
}

/// Calls and answers of one half of the live episodes, on their way through the runtime.
struct Inflight {
    /// (episode index, tool) per call of the batch.
    calls: Vec<(usize, String)>,
    batch: agentworld_actors::Batch,
    answers: tokio::task::JoinSet<(usize, Result<agentworld_actors::FinishReply, agentworld_actors::RuntimeError>)>,
}

/// Decides the next action of every active episode in `half` and sends the calls and answers on their way.
fn submit(
    rt: &Runtime,
    policy: &mut dyn Policy,
    live: &mut [Live],
    half: &[usize],
    cfg: RolloutConfig,
    timing: &mut RolloutResult,
) -> Result<Option<Inflight>, PolicyError> {
    let active: Vec<usize> = half.iter().copied().filter(|&i| live[i].done.is_none()).collect();
    if active.is_empty() {
        return Ok(None);
    }
    let states: Vec<&EpisodeState> = active.iter().map(|&i| &live[i].state).collect();
    let keys: Vec<(u64, u64)> = active.iter().map(|&i| (live[i].key, live[i].state.turns.len() as u64)).collect();
    let t0 = Instant::now();
    // Deciding may block (scoring thousands of candidates, or waiting for a model endpoint): tell tokio so other
    // tasks, among them the other half's calls, keep running.
    let decisions = tokio::task::block_in_place(|| policy.decide(&states, &keys, cfg.greedy))?;
    timing.policy_seconds += t0.elapsed().as_secs_f64();
    let mut calls = Vec::new();
    let mut batch_calls = Vec::new();
    let mut answers = tokio::task::JoinSet::new();
    for (&i, mut d) in active.iter().zip(decisions) {
        let ep = &mut live[i];
        // The last allowed step must answer.
        if ep.state.turns.len() + 1 >= cfg.max_steps && matches!(d.action, Action::Call { .. }) {
            d.action = Action::Finish { answer: String::new() };
            d.kind = "out_of_steps";
        } else if !d.candidates.is_empty() {
            ep.steps.push(StepSample { candidates: std::mem::take(&mut d.candidates), chosen: d.chosen });
        }
        ep.kinds.push(d.kind);
        match &d.action {
            Action::Call { tool, args } => {
                calls.push((i, tool.clone()));
                batch_calls.push((ep.id, tool.clone(), Value::Object(args.clone())));
            }
            Action::Finish { answer } => {
                let (rt, id, answer) = (rt.clone(), ep.id, answer.clone());
                answers.spawn(async move { (i, rt.finish(id, &answer).await) });
            }
            Action::Invalid { infra, .. } => {
                // A malformed call ends the episode with the format reward; a failed endpoint is resampled. The
                // episode is closed without a verdict (its trajectory stays in the journal).
                ep.done = Some(if *infra { (0.0, false, true) } else { (FORMAT_REWARD, false, false) });
                ep.format_error = !infra;
                let (rt, id) = (rt.clone(), ep.id);
                tokio::spawn(async move { rt.close(id).await });
            }
        }
        ep.state.turns.push(Turn { action: d.action, kind: d.kind, obs: None, wrote: false });
        timing.env_steps += 1;
    }
    let batch = rt.call_batch(batch_calls);
    Ok(Some(Inflight { calls, batch, answers }))
}

/// Waits for a half's calls and answers and records what came back.
async fn complete(inflight: Inflight, live: &mut [Live], timing: &mut RolloutResult) {
    let Inflight { calls, batch, mut answers } = inflight;
    let t1 = Instant::now();
    let replies = batch.all().await;
    timing.call_seconds += t1.elapsed().as_secs_f64();
    for r in replies {
        let (i, tool) = &calls[r.index];
        let ep = &mut live[*i];
        let writes = ep
            .state
            .info
            .tools
            .iter()
            .any(|t| &t.name == tool && t.kind != ToolKind::Search && t.kind != ToolKind::Get);
        let turn = ep.state.turns.last_mut();
        match r.reply {
            Ok(reply) if reply.status == Status::InfraError => ep.done = Some((0.0, false, true)),
            Ok(reply) => {
                let obs = match (reply.result, reply.error) {
                    (Some(v), _) => Obs::from_value(v.to_value()),
                    (None, Some(e)) => Obs::Error(e.message),
                    (None, None) => Obs::Other(Value::Null),
                };
                if let Some(t) = turn {
                    t.wrote = writes && !matches!(obs, Obs::Error(_));
                    t.obs = Some(obs);
                }
            }
            Err(_) => ep.done = Some((0.0, false, true)),
        }
    }
    let t2 = Instant::now();
    while let Some(joined) = answers.join_next().await {
        let Ok((i, reply)) = joined else { continue };
        live[i].done = Some(match reply {
            Ok(r) => (r.verdict.reward as f32, r.verdict.outcome == Outcome::Complete, false),
            Err(_) => (0.0, false, true),
        });
    }
    timing.finish_seconds += t2.elapsed().as_secs_f64();
}

/// Steps every live episode until all are done. The episodes are split in two halves that alternate: while one
/// half's tool calls run on the runtime's workers, the policy decides for the other.
async fn step_all(
    rt: &Runtime,
    policy: &mut dyn Policy,
    live: &mut [Live],
    cfg: RolloutConfig,
    timing: &mut RolloutResult,
) -> Result<(), PolicyError> {
    let halves: [Vec<usize>; 2] = [(0..live.len()).step_by(2).collect(), (1..live.len()).step_by(2).collect()];
    let mut inflight: [Option<Inflight>; 2] = [None, None];
    inflight[0] = submit(rt, policy, live, &halves[0], cfg, timing)?;
    loop {
        inflight[1] = submit(rt, policy, live, &halves[1], cfg, timing)?;
        if let Some(a) = inflight[0].take() {
            complete(a, live, timing).await;
        }
        inflight[0] = submit(rt, policy, live, &halves[0], cfg, timing)?;
        if let Some(b) = inflight[1].take() {
            complete(b, live, timing).await;
        }
        if inflight[0].is_none() && live.iter().all(|e| e.done.is_some()) {
            return Ok(());
        }
    }
}
