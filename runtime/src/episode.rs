//! An episode: reset (fork) -> step* (tool calls) -> finish (answer + verification), with its trajectory.
//!
//! The episode owns its database; nothing else can see its writes. Every step records the tool, the arguments,
//! the result or error observation, the wall duration, the virtual time and the row-level changeset of its writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock;
use crate::env::Environment;
use crate::error::{EngineError, EngineResult, ToolError};
use crate::json::JsonText;
use crate::steps::Steps;
use crate::store::EpisodeDb;
use crate::verify::{Verdict, score};

/// Identifies an episode in a process and in the record.
pub type EpisodeId = u64;

/// A fresh episode id: unique across restarts (the start's wall-clock milliseconds times 1024, counted up from
/// there: a restart never reuses an id unless the run before it averaged over a million episodes a second).
/// Ids stay below 2^53 (until the year 2255), so JSON clients that read numbers as doubles (JavaScript) keep
/// them exact.
pub fn next_episode_id() -> EpisodeId {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if NEXT.load(Ordering::Relaxed) == 0 {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1);
        let _ = NEXT.compare_exchange(0, ms << 10, Ordering::Relaxed, Ordering::Relaxed);
    }
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One tool call in the trajectory.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// 1-based position in the episode.
    pub index: usize,
    pub tool: String,
    /// The arguments as the caller sent them (compact JSON text).
    pub args: JsonText,
    /// The observation: the result as JSON text, or the error the agent sees.
    pub result: Result<JsonText, ToolError>,
    pub truncated: bool,
    pub duration_us: u64,
    /// Virtual time of the call, Unix milliseconds.
    pub virtual_time_ms: i64,
    /// Row-level changes (an SQLite changeset), for writes that changed something.
    #[serde(skip)]
    pub changeset: Option<Vec<u8>>,
}

impl Step {
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// Where a branched episode came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lineage {
    pub parent: EpisodeId,
    /// Number of the parent's steps the branch starts from.
    pub at_step: usize,
}

/// A live episode of one environment, optionally for one task.
pub struct Episode {
    id: EpisodeId,
    env: Arc<Environment>,
    task: Option<usize>,
    db: EpisodeDb,
    steps: Steps,
    answer: Option<String>,
    verdict: Option<Verdict>,
    lineage: Option<Lineage>,
    /// Set when the episode's state was lost (e.g. SQLite rolled back the episode's transaction after an
    /// interrupted write): no more calls, no verdict.
    failed: Option<String>,
}

impl Episode {
    /// Opens an episode on a fresh copy of the environment's initial state.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use agentworld_runtime::{Environment, Episode};
    /// let env = Arc::new(Environment::load("envspecs/shop.toml".as_ref()).unwrap());
    /// let mut ep = Episode::open(env, Some("yoga-mat-rating")).unwrap();
    /// let step = ep.call("search_products", &serde_json::json!({"query": "yoga mat"}));
    /// println!("{:?}", step.result);
    /// let verdict = ep.finish("Done.").unwrap();
    /// println!("reward {}", verdict.reward);
    /// ```
    pub fn open(env: Arc<Environment>, task: Option<&str>) -> EngineResult<Episode> {
        let task = match task {
            Some(id) => Some(
                env.task_position(id)
                    .ok_or_else(|| EngineError::UnknownTask { env: env.name().to_string(), task: id.to_string() })?,
            ),
            None => None,
        };
        let db = env.pool().checkout()?;
        Ok(Episode {
            id: next_episode_id(),
            env,
            task,
            db,
            steps: Steps::default(),
            answer: None,
            verdict: None,
            lineage: None,
            failed: None,
        })
    }

    /// Opens `g` episodes of one task from one snapshot (the template): a GRPO group.
    pub fn open_group(env: &Arc<Environment>, task: &str, g: usize) -> EngineResult<Vec<Episode>> {
        (0..g).map(|_| Episode::open(env.clone(), Some(task))).collect()
    }

    pub fn id(&self) -> EpisodeId {
        self.id
    }

    pub fn env(&self) -> &Arc<Environment> {
        &self.env
    }

    pub fn task_id(&self) -> Option<&str> {
        self.task.map(|i| self.env.tasks()[i].id())
    }

    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// Moves the steps out (the trajectory of an episode being released, so it is not copied); the episode is left
    /// with none.
    pub fn take_steps(&mut self) -> Steps {
        std::mem::take(&mut self.steps)
    }

    pub fn lineage(&self) -> Option<Lineage> {
        self.lineage
    }

    pub fn answer(&self) -> Option<&str> {
        self.answer.as_deref()
    }

    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// Why the episode failed, if its state was lost to an infrastructure failure (it gets no verdict).
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    pub fn is_finished(&self) -> bool {
        self.answer.is_some()
    }

    /// The episode's database (reads only: the tool authorizer is installed).
    pub fn db(&self) -> &EpisodeDb {
        &self.db
    }

    /// Virtual time now: the clock plus one tick per step taken.
    pub fn now_ms(&self) -> i64 {
        self.env.clock_ms() + self.steps.len() as i64 * i64::from(self.env.spec.env.tick_seconds) * 1000
    }

    /// Calls a tool. Failures (unknown tool, bad arguments, guards, SQL errors, timeouts) are recorded as steps
    /// and returned as error observations; the database is unchanged by a failed call.
    pub fn call(&mut self, tool: &str, args: &Value) -> &Step {
        self.call_within(tool, args, None)
    }

    /// [`Episode::call`] with at most `budget` for the call (the spec's `deadline_ms` still applies if shorter):
    /// a runtime with its own per-call deadline passes what is left of it.
    pub fn call_within(&mut self, tool: &str, args: &Value, budget: Option<std::time::Duration>) -> &Step {
        match self.attempt(tool, args, budget, false) {
            Some(i) => &self.steps[i - 1],
            // (`attempt` gives up only when asked to)
            None => self.record_timeout(tool, args, budget.map_or(0, |b| b.as_millis() as u64), Default::default()),
        }
    }

    /// Tries the call within `budget`, and gives it up if `budget` runs out first: then nothing is recorded and the
    /// state is as before, so the caller can run the same call again with more time (a runtime that tries a
    /// typically quick call on a thread that must not stay busy long, and moves it elsewhere when it is not quick
    /// this time). A timeout of the spec's own, shorter `deadline_ms` is a step as with [`Episode::call`].
    pub fn try_call_within(&mut self, tool: &str, args: &Value, budget: std::time::Duration) -> Option<&Step> {
        self.attempt(tool, args, Some(budget), true).map(|i| &self.steps[i - 1])
    }

    /// How long calls of `tool` have typically taken in this environment (`None`: not called yet, or no such tool).
    pub fn typical_call(&self, tool: &str) -> Option<std::time::Duration> {
        self.env.tool(tool).and_then(|t| t.cost().typical())
    }

    /// Runs a call and records its step; returns the step's index. With `give_up`, a timeout that `budget` (not
    /// the spec's deadline) caused records nothing and returns `None`.
    fn attempt(
        &mut self,
        tool: &str,
        args: &Value,
        budget: Option<std::time::Duration>,
        give_up: bool,
    ) -> Option<usize> {
        let started = Instant::now();
        let index = self.steps.len() + 1;
        let time = self.env.clock_ms() + index as i64 * i64::from(self.env.spec.env.tick_seconds) * 1000;
        let empty = Map::new();
        let known = self.env.tool(tool);
        let meter = known.map(|t| t.cost().start());
        let outcome = if let Some(reason) = &self.failed {
            Err(ToolError::EpisodeFailed { reason: reason.clone() })
        } else if self.answer.is_some() {
            Err(ToolError::EpisodeFinished)
        } else {
            match (known, args) {
                (None, _) => Err(ToolError::UnknownTool { tool: tool.to_string() }),
                (Some(t), Value::Object(map)) => self.run(t, map, time, budget),
                (Some(t), Value::Null) => self.run(t, &empty, time, budget),
                (Some(t), other) => Err(ToolError::InvalidArguments {
                    tool: t.name().to_string(),
                    argument: None,
                    message: format!("arguments must be a JSON object, got {}", crate::args::describe(other)),
                }),
            }
        };
        let (mut result, truncated, changeset) = match outcome {
            Ok(out) => (Ok(out.result), out.truncated, out.changeset),
            Err(e) => (Err(e), false, None),
        };
        let took = started.elapsed();
        if let (Some(t), Some(meter)) = (known, meter) {
            t.cost().finish(meter, took, matches!(result, Err(ToolError::Timeout { .. })));
        }
        let budget_bound = self.binding_budget(budget).is_some();
        // SQLite rolls back a whole transaction when it interrupts a write inside it (and on some I/O or memory
        // errors): a pooled episode would silently be back at its initial state. Rebuild the state from the earlier
        // steps' changesets; if even that fails, the episode has failed (never scored).
        if self.failed.is_none()
            && !self.db.in_episode_transaction()
            && let Err(e) = self.db.restart_episode(&self.steps.changesets(), self.env.tables())
        {
            let reason = format!("the episode's state was lost and could not be rebuilt: {e}");
            result = Err(ToolError::EpisodeFailed { reason: reason.clone() });
            self.failed = Some(reason);
        }
        if give_up && budget_bound && matches!(result, Err(ToolError::Timeout { .. })) {
            // Rolled back (the savepoint, or the state rebuilt above): as if never called.
            return None;
        }
        self.steps.push(Step {
            index,
            tool: tool.to_string(),
            args: JsonText::from_value(args),
            result,
            truncated,
            duration_us: took.as_micros() as u64,
            virtual_time_ms: time,
            changeset,
        });
        Some(index)
    }

    fn run(
        &self,
        tool: &crate::tools::Tool,
        args: &Map<String, Value>,
        time: i64,
        budget: Option<std::time::Duration>,
    ) -> Result<crate::tools::CallOutput, ToolError> {
        let limits = &self.env.spec.limits;
        let bound = tool.validate(args, limits)?;
        match self.binding_budget(budget) {
            Some(ms) => {
                let limits = crate::spec::Limits { deadline_ms: ms.max(1), ..*limits };
                clock::at(time, || tool.execute(&self.db, bound, &limits))
            }
            None => clock::at(time, || tool.execute(&self.db, bound, limits)),
        }
    }

    /// A caller's budget in milliseconds where it is shorter than the spec's `deadline_ms` (and so is the deadline
    /// the call runs under); `None` where the spec's own deadline applies.
    fn binding_budget(&self, budget: Option<std::time::Duration>) -> Option<u64> {
        budget.map(|b| b.as_millis() as u64).filter(|&ms| ms < self.env.spec.limits.deadline_ms)
    }

    /// Records a call that a runtime stopped at its deadline before the engine could complete it (it waited too
    /// long for a worker, or a statement had to be interrupted from outside): a `timeout` step. The state is
    /// as before the call.
    pub fn record_timeout(&mut self, tool: &str, args: &Value, deadline_ms: u64, waited: std::time::Duration) -> &Step {
        let index = self.steps.len() + 1;
        self.steps.push(Step {
            index,
            tool: tool.to_string(),
            args: JsonText::from_value(args),
            result: Err(ToolError::Timeout { tool: tool.to_string(), deadline_ms }),
            truncated: false,
            duration_us: waited.as_micros() as u64,
            virtual_time_ms: self.env.clock_ms() + index as i64 * i64::from(self.env.spec.env.tick_seconds) * 1000,
            changeset: None,
        })
    }

    /// Marks the episode failed for an infrastructure reason found outside the engine (a crashed actor, a dead
    /// worker): it takes no more calls and is never verified.
    pub fn mark_failed(&mut self, reason: impl Into<String>) {
        if self.failed.is_none() {
            self.failed = Some(reason.into());
        }
    }

    /// Ends the episode with the agent's final answer and verifies it against the task.
    pub fn finish(&mut self, answer: &str) -> EngineResult<&Verdict> {
        if let Some(reason) = &self.failed {
            return Err(EngineError::EpisodeFailed(reason.clone()));
        }
        if self.answer.is_none() {
            self.answer = Some(answer.to_string());
        }
        let verdict = self.verify()?;
        self.verdict = Some(verdict);
        self.verdict.as_ref().ok_or(EngineError::NoTask)
    }

    /// Verifies the current state and answer without ending the episode (a dry run for the answer "").
    pub fn verify(&self) -> EngineResult<Verdict> {
        if let Some(reason) = &self.failed {
            return Err(EngineError::EpisodeFailed(reason.clone()));
        }
        let task_pos = self.task.ok_or(EngineError::NoTask)?;
        let task = &self.env.tasks()[task_pos];
        let answer = self.answer.as_deref().unwrap_or("");
        // Tables no step changed (by the changesets, which capture every row change of tracked tables) are
        // unchanged without reading them: "unchanged" checks then cost nothing for the tables a task leaves alone.
        let mut touched = std::collections::HashSet::new();
        for cs in self.steps.changesets() {
            for c in crate::changes::decode_raw(cs)? {
                touched.insert(c.table);
            }
        }
        let untouched = |table: &str| self.env.is_change_tracked(table) && !touched.contains(table);
        let (checks, collateral) = clock::at(self.now_ms(), || {
            crate::verify::run_checks(
                &self.db,
                self.env.initial_uri(),
                answer,
                &task.checks,
                task.id(),
                task.needs_initial,
                &untouched,
            )
        })?;

        Ok(score(checks, collateral, &self.env.spec.reward, task.rule))
    }

    /// A new episode continuing from this one's current state (same task, own database, shared history).
    pub fn branch(&self) -> EngineResult<Episode> {
        Ok(Episode {
            id: next_episode_id(),
            env: self.env.clone(),
            task: self.task,
            db: {
                let db = self.env.pool().checkout()?;
                db.apply_changes(&self.steps.changesets(), self.env.tables())?;
                db
            },
            steps: self.steps.clone(),
            answer: None,
            verdict: None,
            lineage: Some(Lineage { parent: self.id, at_step: self.steps.len() }),
            failed: self.failed.clone(),
        })
    }

    /// `g` independent episodes continuing from this one's current state: a GRPO group from a mid-episode
    /// snapshot.
    pub fn branch_group(&self, g: usize) -> EngineResult<Vec<Episode>> {
        (0..g).map(|_| self.branch()).collect()
    }

    /// A digest of the logical state (every row of every table, in key order).
    pub fn state_digest(&self) -> EngineResult<String> {
        crate::changes::state_digest(self.db.connection(), self.env.tables())
    }

    /// A copy of the database image.
    pub fn snapshot(&self) -> EngineResult<Vec<u8>> {
        self.db.snapshot()
    }
}

#[cfg(test)]
mod id_tests {
    #[test]
    fn episode_ids_increase_and_are_exact_as_json_doubles() {
        let a = super::next_episode_id();
        let b = super::next_episode_id();
        assert!(b > a);
        assert!(b < 1 << 53, "{b} loses precision as an IEEE double");
        assert_eq!(b as f64 as u64, b);
    }
}
