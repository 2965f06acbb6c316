//! LLM rollouts over imported AgentWorldModel-1K environments, in AWM's text protocol (the protocol the Arctic-AWM
//! models were trained with): the model sees `list_tools` and `call_tool`, `list_tools` is answered with AWM's
//! listing of the running program's tools, and every observation is the bridge's AWM wording. Each task is played
//! by a GRPO group; rewards come from AWM's verifiers in the sandbox; episodes lost to infrastructure (the model
//! endpoint, a bridge worker) are masked, never scored; a reply whose tool call cannot be parsed gets AWM's format
//! reward (-1).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agentworld_awm::{AwmEnvironment, AwmEpisode, StepStatus};
use agentworld_runtime::Journal;
use serde::Serialize;
use serde_json::{Value, json};

use crate::llm::{LlmConfig, LlmPolicy, Mode, Reply, parse_text, system_prompt_for};

/// AWM's reward for a reply that breaks the tool-call format.
pub const FORMAT_REWARD: f64 = -1.0;

/// One played episode.
#[derive(Debug, Clone, Serialize)]
pub struct AwmEpisodeResult {
    pub env: String,
    pub task: String,
    pub group: usize,
    pub episode: u64,
    pub steps: usize,
    /// `complete`, `incomplete`, `verifier_error`, `format_error` or `infra_error`.
    pub outcome: String,
    /// `None` when the episode must not be scored (infrastructure, or no verifier verdict).
    pub reward: Option<f64>,
    /// GRPO advantage within its group (`None` when masked).
    pub advantage: Option<f64>,
    pub answer: Option<String>,
    pub cause: Option<String>,
}

/// Plays `group_size` episodes of every `(env, task)`; at most `config.concurrency` episodes (and model requests)
/// at once. Episodes and their steps go to `journal` when given.
pub fn rollout_awm(
    tasks: &[(Arc<AwmEnvironment>, String)],
    group_size: usize,
    max_steps: usize,
    config: &LlmConfig,
    journal: Option<Arc<Journal>>,
) -> Vec<AwmEpisodeResult> {
    let jobs: Vec<(usize, Arc<AwmEnvironment>, String)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(g, (env, task))| (0..group_size).map(move |_| (g, env.clone(), task.clone())))
        .collect();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..config.concurrency.max(1).min(jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((g, env, task)) = jobs.get(i) else { break };
                    let r = play(env, task, *g, max_steps, config, journal.clone());
                    if let Ok(mut out) = results.lock() {
                        out.push((i, r));
                    }
                }
            });
        }
    });
    let mut results: Vec<(usize, AwmEpisodeResult)> = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut results: Vec<AwmEpisodeResult> = results.into_iter().map(|(_, r)| r).collect();
    advantages(&mut results);
    results
}

/// GRPO advantages per group over the scored episodes: (reward - mean) / (std + 1e-6).
fn advantages(results: &mut [AwmEpisodeResult]) {
    let groups: std::collections::BTreeSet<usize> = results.iter().map(|r| r.group).collect();
    for g in groups {
        let rewards: Vec<f64> = results.iter().filter(|r| r.group == g).filter_map(|r| r.reward).collect();
        if rewards.is_empty() {
            continue;
        }
        let mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
        let std = (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rewards.len() as f64).sqrt();
        for r in results.iter_mut().filter(|r| r.group == g) {
            r.advantage = r.reward.map(|x| (x - mean) / (std + 1e-6));
        }
    }
}

fn play(
    env: &Arc<AwmEnvironment>,
    task: &str,
    group: usize,
    max_steps: usize,
    config: &LlmConfig,
    journal: Option<Arc<Journal>>,
) -> AwmEpisodeResult {
    let mut result = AwmEpisodeResult {
        env: env.name().into(),
        task: task.into(),
        group,
        episode: 0,
        steps: 0,
        outcome: "infra_error".into(),
        reward: None,
        advantage: None,
        answer: None,
        cause: None,
    };
    let mut ep = match AwmEpisode::open_recorded(env.clone(), Some(task), journal) {
        Ok(ep) => ep,
        Err(e) => {
            result.cause = Some(e.to_string());
            return result;
        }
    };
    result.episode = ep.id();
    let instruction = env.task(task).map(|t| t.instruction.clone()).unwrap_or_default();
    let mut messages = vec![
        json!({"role": "system", "content": system_prompt_for(&env.manifest.description, Mode::Text)}),
        json!({"role": "user", "content": instruction}),
    ];
    let mut meta_calls = 0;
    loop {
        if ep.steps().len() >= max_steps {
            result.outcome = "incomplete".into();
            result.reward = Some(0.0);
            result.cause = Some(format!("no answer within {max_steps} steps"));
            break;
        }
        let body = json!({
            "model": config.model, "temperature": config.temperature, "max_tokens": config.max_tokens,
            "messages": messages,
        });
        let reply = match LlmPolicy::complete(config, &body).0 {
            Ok(r) => r,
            Err(e) => {
                result.cause = Some(format!("the model endpoint failed: {e}"));
                break;
            }
        };
        let content = reply["choices"][0]["message"]["content"].as_str().unwrap_or("").to_string();
        messages.push(json!({"role": "assistant", "content": content}));
        let observation = match parse_text(&content) {
            Reply::ListTools if meta_calls < config.max_meta_calls => {
                meta_calls += 1;
                env.tool_listing_text()
            }
            Reply::ListTools => {
                result.outcome = "format_error".into();
                result.reward = Some(FORMAT_REWARD);
                result.cause = Some("list_tools asked for too many times".into());
                break;
            }
            Reply::Call { tool, args, .. } => {
                let step = ep.call(&tool, &Value::Object(args));
                if step.status == StepStatus::InfraError {
                    result.cause = Some(step.observation.clone());
                    break;
                }
                step.observation.clone()
            }
            Reply::Malformed(why) => {
                result.outcome = "format_error".into();
                result.reward = Some(FORMAT_REWARD);
                result.cause = Some(why);
                break;
            }
            Reply::Answer(answer) => {
                result.answer = Some(answer.clone());
                match ep.finish(&answer) {
                    Ok(v) => {
                        result.outcome = v.outcome.clone();
                        result.reward = v.reward;
                        result.cause = v.failures.first().map(|(m, f)| format!("{m}: {f}"));
                    }
                    Err(e) => result.cause = Some(e.to_string()),
                }
                break;
            }
        };
        messages.push(json!({"role": "user", "content": format!("<tool_response>\n{observation}\n</tool_response>")}));
    }
    result.steps = ep.steps().len();
    if ep.verdict().is_none() {
        let _ = ep.close();
    }
    result
}
