//! State shared by the runtime handle and its actors, each part with one clear owner: the worker pool, the
//! journal, metrics and faults are internally synchronised; the directory maps episode ids to their actors
//! (written by episode actors as they start and stop) and keeps recently ended trajectories.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use agentworld_runtime::{Environment, EpisodeId, Journal};
use ractor::ActorRef;

use crate::api::{EpisodeInfo, Trajectory};
use crate::config::RuntimeConfig;
use crate::env_actor::EnvMsg;
use crate::episode_actor::EpisodeMsg;
use crate::episode_supervisor::SupervisorMsg;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::pool::WorkerPool;

pub(crate) struct Shared {
    pub config: RuntimeConfig,
    pub pool: WorkerPool,
    pub journal: Option<Journal>,
    pub metrics: Arc<Metrics>,
    pub faults: Faults,
    pub directory: Directory,
    pub calls: CallsInFlight,
    /// Environments by name; written by the root supervisor.
    pub envs: RwLock<HashMap<String, EnvEntry>>,
    pub shutting_down: AtomicBool,
}

pub(crate) struct EnvEntry {
    pub env: Arc<Environment>,
    pub actor: Option<ActorRef<EnvMsg>>,
    /// The parent of the environment's episode actors.
    pub episodes: Option<ActorRef<SupervisorMsg>>,
    /// Why it cannot open episodes right now (restarting, or failed too often).
    pub unavailable: Option<String>,
}

const SHARDS: usize = 16;

pub(crate) struct LiveEntry {
    pub actor: ActorRef<EpisodeMsg>,
    pub info: Arc<EpisodeInfo>,
}

pub(crate) struct Directory {
    live: Vec<RwLock<HashMap<EpisodeId, LiveEntry>>>,
    ended: Mutex<EndedCache>,
}

struct EndedCache {
    /// Shared, not copied: the actor that ended the episode and a client closing it read the same one.
    map: HashMap<EpisodeId, Arc<Trajectory>>,
    order: VecDeque<EpisodeId>,
    capacity: usize,
}

/// The calls workers hold, by episode (at most one each): their deadline and the episode's actor. Episode actors
/// do not arm a timer per call; instead a watchdog (`Runtime::start` spawns it) has the actor of any call past its
/// deadline settle it, so its client is answered even when the worker is stuck outside SQLite and no other message
/// for the episode arrives.
pub(crate) struct CallsInFlight {
    shards: Vec<Mutex<CallShard>>,
}

/// Per episode: the call's deadline and the episode's actor.
type CallShard = HashMap<EpisodeId, (std::time::Instant, ActorRef<EpisodeMsg>)>;

impl Default for CallsInFlight {
    fn default() -> Self {
        CallsInFlight { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl CallsInFlight {
    fn shard(&self, id: EpisodeId) -> &Mutex<CallShard> {
        &self.shards[(id as usize) % SHARDS]
    }

    pub fn started(&self, id: EpisodeId, deadline: std::time::Instant, actor: ActorRef<EpisodeMsg>) {
        if let Ok(mut s) = self.shard(id).lock() {
            s.insert(id, (deadline, actor));
        }
    }

    pub fn done(&self, id: EpisodeId) {
        if let Ok(mut s) = self.shard(id).lock() {
            s.remove(&id);
        }
    }

    /// The actors of the calls whose deadline is before `now`.
    pub fn overdue(&self, now: std::time::Instant) -> Vec<(EpisodeId, ActorRef<EpisodeMsg>)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            if let Ok(s) = shard.lock() {
                out.extend(s.iter().filter(|(_, (d, _))| *d < now).map(|(id, (_, a))| (*id, a.clone())));
            }
        }
        out
    }
}

impl Directory {
    pub fn new(ended_capacity: usize) -> Directory {
        Directory {
            live: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            ended: Mutex::new(EndedCache { map: HashMap::new(), order: VecDeque::new(), capacity: ended_capacity }),
        }
    }

    fn shard(&self, id: EpisodeId) -> &RwLock<HashMap<EpisodeId, LiveEntry>> {
        &self.live[(id as usize) % SHARDS]
    }

    pub fn insert(&self, actor: ActorRef<EpisodeMsg>, info: Arc<EpisodeInfo>) {
        if let Ok(mut s) = self.shard(info.id).write() {
            s.insert(info.id, LiveEntry { actor, info });
        }
    }

    pub fn remove(&self, id: EpisodeId) {
        if let Ok(mut s) = self.shard(id).write() {
            s.remove(&id);
        }
    }

    pub fn actor(&self, id: EpisodeId) -> Option<ActorRef<EpisodeMsg>> {
        self.shard(id).read().ok()?.get(&id).map(|e| e.actor.clone())
    }

    /// Live episodes, of one environment or (`None`) of all.
    pub fn live(&self, env: Option<&str>) -> Vec<(Arc<EpisodeInfo>, ActorRef<EpisodeMsg>)> {
        let mut out = Vec::new();
        for shard in &self.live {
            if let Ok(s) = shard.read() {
                out.extend(
                    s.values()
                        .filter(|e| env.is_none_or(|env| e.info.env == env))
                        .map(|e| (e.info.clone(), e.actor.clone())),
                );
            }
        }
        out
    }

    pub fn live_count(&self) -> usize {
        self.live.iter().map(|s| s.read().map(|s| s.len()).unwrap_or(0)).sum()
    }

    /// Keeps an ended episode's trajectory (the oldest is forgotten past the capacity; the journal has all).
    pub fn ended(&self, t: Arc<Trajectory>) {
        if let Ok(mut c) = self.ended.lock() {
            let id = t.info.id;
            if c.map.insert(id, t).is_none() {
                c.order.push_back(id);
            }
            while c.order.len() > c.capacity {
                if let Some(old) = c.order.pop_front() {
                    c.map.remove(&old);
                }
            }
        }
    }

    pub fn ended_trajectory(&self, id: EpisodeId) -> Option<Arc<Trajectory>> {
        self.ended.lock().ok()?.map.get(&id).cloned()
    }

    pub fn has_ended(&self, id: EpisodeId) -> bool {
        self.ended.lock().is_ok_and(|c| c.map.contains_key(&id))
    }
}
