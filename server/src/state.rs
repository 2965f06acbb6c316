//! What every request handler shares: the runtime, the settings, the per-client episode accounting and the
//! service's own counters. The runtime owns episodes; this only remembers which client opened which.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentworld_actors::{Runtime, RuntimeError, ServerSettings};
use agentworld_runtime::EpisodeId;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::jobs::Jobs;

/// Shared by the HTTP API, the MCP service and the operations endpoints.
pub struct AppState {
    pub runtime: Runtime,
    pub settings: ServerSettings,
    /// Live episodes opened per client, for `max_episodes_per_client`.
    clients: Mutex<HashMap<String, HashSet<EpisodeId>>>,
    /// Set when the service starts draining: `/readyz` turns 503 and new episodes are refused.
    pub draining: AtomicBool,
    pub counters: Counters,
    /// Managed train/rollout jobs; `None` when `jobs_dir` is empty.
    pub jobs: Option<Arc<Jobs>>,
    /// Imported AgentWorldModel-1K environments (played through the Python bridge); `None` when none are served.
    pub awm: Option<agentworld_awm::AwmHost>,
}

/// Requests served, by interface and outcome (published on `/metrics`).
#[derive(Default)]
pub struct Counters {
    pub http_requests: AtomicU64,
    pub http_client_errors: AtomicU64,
    pub http_server_errors: AtomicU64,
    pub mcp_sessions_opened: AtomicU64,
    pub mcp_sessions_live: AtomicU64,
    pub mcp_tool_calls: AtomicU64,
    /// From the request reaching the router to its response head being ready (for an MCP reply routed through
    /// rmcp, the event stream is still to come then; a direct call's reply is ready).
    pub http_latency: agentworld_actors::metrics::Histogram,
}

impl AppState {
    pub fn new(runtime: Runtime, settings: ServerSettings) -> AppState {
        AppState {
            runtime,
            settings,
            clients: Mutex::default(),
            draining: AtomicBool::new(false),
            counters: Counters::default(),
            jobs: None,
            awm: None,
        }
    }

    /// The AWM host, if `env` is one of its environments.
    pub fn awm_env(&self, env: &str) -> Option<&agentworld_awm::AwmHost> {
        self.awm.as_ref().filter(|h| h.environment(env).is_some())
    }

    /// The AWM host, if episode `id` is one of its episodes.
    pub fn awm_episode(&self, id: EpisodeId) -> Option<&agentworld_awm::AwmHost> {
        self.awm.as_ref().filter(|h| h.owns(id))
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Refuses a new episode for `client` when it already holds `max_episodes_per_client` live ones. Episodes
    /// that ended without the client saying so (reaped, timed out) are pruned only when the limit is reached, so
    /// the common path is one hash lookup.
    pub async fn admit(&self, client: &str, adding: usize) -> Result<(), ApiError> {
        if self.is_draining() {
            return Err(RuntimeError::ShuttingDown.into());
        }
        let limit = self.settings.max_episodes_per_client;
        if limit == 0 {
            return Ok(());
        }
        let held: Vec<EpisodeId> = {
            let clients = self.lock();
            match clients.get(client) {
                Some(set) if set.len() + adding > limit => set.iter().copied().collect(),
                _ => return Ok(()),
            }
        };
        let mut ended = Vec::new();
        for id in held {
            match self.runtime.trajectory(id).await {
                Ok(t) if t.ended.is_none() => {}
                _ => ended.push(id),
            }
        }
        let mut clients = self.lock();
        let set = clients.entry(client.to_string()).or_default();
        for id in ended {
            set.remove(&id);
        }
        if set.len() + adding > limit {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_episodes",
                format!(
                    "client '{client}' holds {} live episodes (limit {limit} per client); finish or close some first",
                    set.len()
                ),
            ));
        }
        Ok(())
    }

    pub fn opened(&self, client: &str, ids: impl IntoIterator<Item = EpisodeId>) {
        if self.settings.max_episodes_per_client > 0 {
            self.lock().entry(client.to_string()).or_default().extend(ids);
        }
    }

    pub fn ended(&self, id: EpisodeId) {
        if self.settings.max_episodes_per_client > 0 {
            for set in self.lock().values_mut() {
                if set.remove(&id) {
                    break;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<EpisodeId>>> {
        // The map holds plain ids; a panic elsewhere while it was held cannot leave it inconsistent.
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}
