//! Self-validation of an environment: every task is run three ways in fresh episodes. The reference solution must
//! score the `complete` reward, doing nothing must score the `none` reward, and a perturbed solution (a wrong
//! entity or value in a write call, or wrong facts in the answer) that leads to a different final state or answer
//! must score below `complete`. The reference run's changesets must also rebuild its final state exactly.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::env::{Environment, Task};
use crate::episode::Episode;
use crate::error::EngineResult;
use crate::journal::Journal;
use crate::spec::{CallSpec, ParamSpec, ParamType};
use crate::verify::numbers_in;

/// The validation of one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskValidation {
    pub task: String,
    pub kind: Option<String>,
    pub reference: Option<f64>,
    pub nothing: Option<f64>,
    /// The perturbation that was scored and its reward.
    pub perturbed: Option<(String, f64)>,
    pub problems: Vec<String>,
}

impl TaskValidation {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One candidate change to a reference solution.
#[derive(Debug, Clone)]
struct Perturbation {
    description: String,
    calls: Vec<CallSpec>,
    answer: String,
}

/// Validates every task of `env`, recording every episode it runs in `journal` when given.
pub fn validate_env(env: &Arc<Environment>, journal: Option<&Journal>) -> EngineResult<Vec<TaskValidation>> {
    let mut out = Vec::new();
    for task in env.tasks() {
        out.push(validate_task(env, task, journal)?);
    }
    Ok(out)
}

fn run(
    env: &Arc<Environment>,
    task: &str,
    calls: &[CallSpec],
    answer: &str,
    journal: Option<&Journal>,
) -> EngineResult<Episode> {
    let mut ep = Episode::open(env.clone(), Some(task))?;
    for c in calls {
        ep.call(&c.tool, &Value::Object(c.args.clone()));
    }
    ep.finish(answer)?;
    if let Some(j) = journal {
        j.record_episode(&ep, None)?;
    }
    Ok(ep)
}

fn validate_task(env: &Arc<Environment>, task: &Task, journal: Option<&Journal>) -> EngineResult<TaskValidation> {
    let reward = env.spec.reward;
    let spec = &task.spec;
    let mut v = TaskValidation {
        task: spec.id.clone(),
        kind: spec.kind.clone(),
        reference: None,
        nothing: None,
        perturbed: None,
        problems: Vec::new(),
    };
    // 1. The reference solution.
    let reference = run(env, &spec.id, &spec.solution, &spec.answer, journal)?;
    for s in reference.steps() {
        if let Err(e) = &s.result {
            v.problems.push(format!("reference call {} ({}) failed: {e}", s.index, s.tool));
        }
    }
    if let Some(verdict) = reference.verdict() {
        v.reference = Some(verdict.reward);
        if verdict.reward != reward.complete {
            let failing: Vec<&str> = verdict.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
            let mut why = format!("reference solution scored {} (needs {})", verdict.reward, reward.complete);
            if !failing.is_empty() {
                why.push_str(&format!("; failing: {}", failing.join(", ")));
            }
            if !verdict.collateral.is_empty() {
                why.push_str(&format!("; changed unchanged tables: {}", verdict.collateral.join(", ")));
            }
            v.problems.push(why);
        }
    }
    // 2. Doing nothing.
    let nothing = run(env, &spec.id, &[], "", journal)?;
    if let Some(verdict) = nothing.verdict() {
        v.nothing = Some(verdict.reward);
        if verdict.reward != reward.none {
            let passing: Vec<&str> = verdict.checks.iter().filter(|c| c.passed).map(|c| c.name.as_str()).collect();
            v.problems.push(format!(
                "doing nothing scored {} (needs {}); passing without any action: {}",
                verdict.reward,
                reward.none,
                passing.join(", ")
            ));
        }
    }
    // The recorded changesets must rebuild the reference's final state exactly (the record is replayable).
    let reference_digest = reference.state_digest()?;
    let changesets = reference.steps().changesets();
    // On a warm pooled connection at the initial state (its prepared statements reused): the same changeset
    // application as `changes::replay`, without building a database from the template image twice.
    let replayed = env.pool().checkout().and_then(|db| {
        db.apply_changes(&changesets, env.tables())?;
        crate::changes::state_digest(db.connection(), env.tables())
    });
    match replayed {
        Ok(d) if d == reference_digest => {}
        Ok(_) => v.problems.push("replaying the reference's changesets does not rebuild its final state".into()),
        Err(e) => v.problems.push(format!("replaying the reference's changesets failed: {e}")),
    }
    // 3. The first perturbation that changes the outcome must score below complete.
    let mut found = false;
    for p in perturbations(env, &spec.solution, &spec.answer) {
        let ep = run(env, &spec.id, &p.calls, &p.answer, journal)?;
        if ep.state_digest()? == reference_digest && p.answer == spec.answer {
            continue;
        }
        let r = ep.verdict().map_or(reward.none, |v| v.reward);
        v.perturbed = Some((p.description.clone(), r));
        if r >= reward.complete {
            v.problems.push(format!(
                "perturbed solution ({}) still scored {r}: the checks do not pin the outcome",
                p.description
            ));
        }
        found = true;
        break;
    }
    if !found {
        v.problems.push("no perturbation of the reference solution changed the outcome; give the task a write or an answer to check".into());
    }
    Ok(v)
}

/// Candidate perturbations, most telling first: entity ids of write calls (last call first), then other values of
/// write calls, then the facts in the answer.
fn perturbations(env: &Environment, calls: &[CallSpec], answer: &str) -> Vec<Perturbation> {
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for (ci, call) in calls.iter().enumerate().rev() {
        let Some(tool) = env.tool(&call.tool) else {
            continue;
        };
        if !tool.spec.writes {
            continue;
        }
        for (name, param) in tool.params() {
            let Some(current) = call.args.get(name) else {
                continue;
            };
            for alt in alternatives(param, current) {
                let mut calls2 = calls.to_vec();
                let mut args: Map<String, Value> = call.args.clone();
                args.insert(name.clone(), alt.clone());
                calls2[ci].args = args;
                let p = Perturbation {
                    description: format!("{}.{} {} -> {}", call.tool, name, current, alt),
                    calls: calls2,
                    answer: answer.to_string(),
                };
                if name == "id" || name.ends_with("_id") { ids.push(p) } else { values.push(p) }
            }
        }
    }
    let mut out = ids;
    out.extend(values);
    if !answer.trim().is_empty() {
        let wrong = wrong_answer(answer);
        out.push(Perturbation {
            description: format!("answer \"{}\"", shorten(&wrong)),
            calls: calls.to_vec(),
            answer: wrong,
        });
    }
    out
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 { s.to_string() } else { format!("{}...", s.chars().take(37).collect::<String>()) }
}

/// The answer with every number changed (a 7 put in front of it), or a non-answer when it has none.
fn wrong_answer(answer: &str) -> String {
    if numbers_in(answer).is_empty() {
        return "I could not find that.".to_string();
    }
    let chars: Vec<char> = answer.chars().collect();
    let mut out = String::with_capacity(answer.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        // A number starts at a digit that does not continue one (after a digit, or a separator after a digit).
        let continues = i > 0
            && (chars[i - 1].is_ascii_digit()
                || (matches!(chars[i - 1], ',' | '.') && i > 1 && chars[i - 2].is_ascii_digit()));
        if c.is_ascii_digit() && !continues {
            out.push('7');
        }
        out.push(c);
    }
    out
}

/// Other valid values for a parameter, near the current one.
fn alternatives(param: &ParamSpec, current: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(allowed) = &param.allowed {
        out.extend(allowed.iter().filter(|a| *a != current).take(2).cloned());
        return out;
    }
    let in_range = |x: f64| param.minimum.is_none_or(|m| x >= m) && param.maximum.is_none_or(|m| x <= m);
    match (param.ty, current) {
        (ParamType::Integer, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                for c in [i + 1, i - 1, i + 2] {
                    if in_range(c as f64) {
                        out.push(Value::from(c));
                    }
                }
            }
        }
        (ParamType::Number, Value::Number(n)) => {
            if let Some(f) = n.as_f64() {
                for c in [f + 1.0, f - 1.0, f * 2.0] {
                    if in_range(c) {
                        out.push(serde_json::Number::from_f64(c).map_or(Value::Null, Value::Number));
                    }
                }
            }
        }
        (ParamType::String, Value::String(s)) => {
            if let Some(pos) = s.rfind(|c: char| c.is_ascii_digit()) {
                let d = s.as_bytes()[pos] - b'0';
                out.push(Value::String(format!("{}{}{}", &s[..pos], (d + 1) % 10, &s[pos + 1..])));
            }
            let renamed = format!("{s} Other");
            if param.max_length.is_none_or(|m| renamed.chars().count() <= m) {
                out.push(Value::String(renamed));
            }
        }
        (ParamType::Boolean, Value::Bool(b)) => out.push(Value::Bool(!b)),
        (ParamType::Array, Value::Array(a)) if !a.is_empty() => out.push(Value::Array(a[..a.len() - 1].to_vec())),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_answer_changes_every_number() {
        assert_eq!(wrong_answer("Order 12 costs $1,009.99"), "Order 712 costs $71,009.99");
        assert_eq!(wrong_answer("It is Dune"), "I could not find that.");
    }
}
