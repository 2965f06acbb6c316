//! Fault injection for tests: armed only through the Rust API ([`crate::Runtime::faults`]); nothing in an
//! environment spec or the configuration can reach it. Disarmed (the default), the hot path pays one relaxed
//! atomic load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use agentworld_runtime::EpisodeId;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The tool call panics on its worker thread (caught there): the episode's state is suspect, its actor fails.
    PanicInTool,
    /// The episode actor itself panics while handling the call (before any work): ractor reports the failure to
    /// the environment actor, which marks the episode `infra_error`.
    PanicInActor,
    /// The call runs a real, long SQLite query on the episode's connection: the deadline must interrupt it.
    SlowQuery,
    /// The database fails under the call (as an I/O error would): the episode is failed, never rewarded.
    DatabaseError,
    /// The worker thread running the call dies outright: the pool replaces it; the episode is `infra_error`.
    KillWorker,
    /// The worker thread running the call blocks outside SQLite for 10 s (as on a stalled disk), where no
    /// interrupt reaches it: the runtime's watchdog has the episode's actor give the call up after its deadline
    /// and grace, answer `infra_error` and end the episode.
    StuckWorker,
    /// The environment actor panics while opening an episode: its supervisor restarts it.
    CrashEnvironment,
}

/// Where and how often a fault fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    pub fault: Fault,
    /// Only calls of this tool (any when `None`).
    pub tool: Option<String>,
    /// Only this episode (any when `None`).
    pub episode: Option<EpisodeId>,
    /// Only this environment (any when `None`).
    pub env: Option<String>,
    /// How many times it fires before it is spent.
    pub times: u32,
}

impl FaultPlan {
    pub fn new(fault: Fault) -> FaultPlan {
        FaultPlan { fault, tool: None, episode: None, env: None, times: 1 }
    }
    pub fn tool(mut self, tool: &str) -> Self {
        self.tool = Some(tool.to_string());
        self
    }
    pub fn episode(mut self, id: EpisodeId) -> Self {
        self.episode = Some(id);
        self
    }
    pub fn env(mut self, env: &str) -> Self {
        self.env = Some(env.to_string());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
}

#[derive(Default)]
pub struct Faults {
    armed: AtomicBool,
    plans: Mutex<Vec<FaultPlan>>,
}

impl Faults {
    pub fn inject(&self, plan: FaultPlan) {
        if let Ok(mut p) = self.plans.lock() {
            p.push(plan);
            self.armed.store(true, Ordering::Release);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut p) = self.plans.lock() {
            p.clear();
            self.armed.store(false, Ordering::Release);
        }
    }

    /// Fault plans still armed.
    pub fn pending(&self) -> usize {
        self.plans.lock().map(|p| p.iter().map(|f| f.times as usize).sum()).unwrap_or(0)
    }

    /// Takes one firing of a plan matching the call, if any. `kinds` restricts which faults this site can
    /// produce.
    pub(crate) fn take(&self, kinds: &[Fault], env: &str, tool: Option<&str>, episode: EpisodeId) -> Option<Fault> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut plans = self.plans.lock().ok()?;
        let pos = plans.iter().position(|p| {
            kinds.contains(&p.fault)
                && p.times > 0
                && p.env.as_deref().is_none_or(|e| e == env)
                && p.episode.is_none_or(|e| e == episode)
                && p.tool.as_deref().is_none_or(|t| Some(t) == tool)
        })?;
        let fault = plans[pos].fault;
        plans[pos].times -= 1;
        if plans[pos].times == 0 {
            plans.remove(pos);
        }
        if plans.is_empty() {
            self.armed.store(false, Ordering::Release);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_match_their_target_and_run_out() {
        let f = Faults::default();
        assert_eq!(f.take(&[Fault::SlowQuery], "shop", Some("a"), 1), None);
        f.inject(FaultPlan::new(Fault::SlowQuery).tool("a").times(2));
        f.inject(FaultPlan::new(Fault::PanicInTool).episode(9));
        assert_eq!(f.take(&[Fault::SlowQuery], "shop", Some("b"), 1), None);
        assert_eq!(f.take(&[Fault::PanicInTool, Fault::SlowQuery], "shop", Some("a"), 1), Some(Fault::SlowQuery));
        assert_eq!(f.take(&[Fault::PanicInTool], "shop", Some("a"), 1), None);
        assert_eq!(f.take(&[Fault::PanicInTool], "bank", None, 9), Some(Fault::PanicInTool));
        assert_eq!(f.pending(), 1);
        assert_eq!(f.take(&[Fault::SlowQuery], "shop", Some("a"), 3), Some(Fault::SlowQuery));
        assert_eq!(f.take(&[Fault::SlowQuery], "shop", Some("a"), 3), None);
        assert!(!f.armed.load(Ordering::Relaxed));
    }
}
