//! The model client of the pipeline: OpenAI-compatible chat completions through the RL loop's HTTP client, with
//! a global limit on requests in flight, exponential backoff on transport errors, token accounting, and a journal
//! of every finished request and its response so that an interrupted run (Ctrl-C, crash, `kill -9`) continues
//! without repeating a finished call.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::SynthError;

/// Where and how to ask the model.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Base URL (`http://127.0.0.1:8000/v1`); `/chat/completions` is appended.
    pub api_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub temperature: f32,
    pub max_tokens: u32,
    pub timeout: Duration,
    /// Tries after a transport error or a 5xx/429 answer, with exponential backoff.
    pub transport_retries: u32,
    /// First backoff; doubled each retry.
    pub backoff: Duration,
    /// Requests in flight at once, over the whole run.
    pub concurrency: usize,
    /// Print each prompt instead of sending it.
    pub dry_run: bool,
}

impl ChatConfig {
    pub fn new(api_url: &str, model: &str) -> ChatConfig {
        ChatConfig {
            api_url: api_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            temperature: 0.7,
            max_tokens: 4096,
            timeout: Duration::from_secs(300),
            transport_retries: 5,
            backoff: Duration::from_millis(200),
            concurrency: 8,
            dry_run: false,
        }
    }
}

/// Counters of model use.
#[derive(Debug, Default)]
pub struct Usage {
    pub requests: AtomicU64,
    /// Answers taken from the journal of an earlier run instead of the model.
    pub replayed: AtomicU64,
    pub transport_retries: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
}

/// [`Usage`] as numbers.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct UsageReport {
    pub requests: u64,
    pub replayed: u64,
    pub transport_retries: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A counting semaphore for blocking callers.
struct Limit {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Limit {
    fn acquire(&self) -> LimitGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        LimitGuard(self)
    }
}

struct LimitGuard<'a>(&'a Limit);

impl Drop for LimitGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// The request/response journal: one JSON line per finished call, keyed by a hash of the exact request body.
struct CallJournal {
    path: Option<PathBuf>,
    done: Mutex<HashMap<String, String>>,
    file: Mutex<Option<std::fs::File>>,
}

/// The journal key of a request body (FNV-1a, 64 bits, hex, with the length): the scripted test server computes
/// the same over the bytes it receives.
pub fn request_key(body: &[u8]) -> String {
    let h = agentworld_runtime::changes::fnv1a(body);
    format!("{h:016x}-{}", body.len())
}

impl CallJournal {
    fn open(path: Option<&Path>) -> Result<CallJournal, SynthError> {
        let mut done = HashMap::new();
        let mut file = None;
        if let Some(path) = path {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
            }
            if let Ok(text) = std::fs::read_to_string(path) {
                // A line cut short by a kill is ignored: that call simply runs again.
                for line in text.lines() {
                    if let Ok(v) = serde_json::from_str::<Value>(line)
                        && let (Some(k), Some(c)) = (v["key"].as_str(), v["content"].as_str())
                    {
                        done.insert(k.to_string(), c.to_string());
                    }
                }
            }
            file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| SynthError::io(path, e))?,
            );
        }
        Ok(CallJournal { path: path.map(Path::to_path_buf), done: Mutex::new(done), file: Mutex::new(file) })
    }

    fn get(&self, key: &str) -> Option<String> {
        self.done.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: &str, stage: &str, content: &str, usage: (u64, u64)) -> Result<(), SynthError> {
        if let Ok(mut done) = self.done.lock() {
            done.insert(key.to_string(), content.to_string());
        }
        let line = json!({"key": key, "stage": stage, "content": content, "prompt_tokens": usage.0,
                          "completion_tokens": usage.1})
        .to_string();
        let mut file = self.file.lock().map_err(|_| SynthError::Invalid("journal lock poisoned".into()))?;
        if let Some(f) = file.as_mut() {
            let path = self.path.clone().unwrap_or_default();
            f.write_all(format!("{line}\n").as_bytes()).map_err(|e| SynthError::io(&path, e))?;
            f.flush().map_err(|e| SynthError::io(&path, e))?;
        }
        Ok(())
    }
}

/// The pipeline's model client. Shared by every generator (blocking calls, run off the async executors).
pub struct Chat {
    config: ChatConfig,
    limit: Limit,
    journal: CallJournal,
    pub usage: Usage,
    /// Prompts printed by a dry run.
    printed: Mutex<Vec<String>>,
}

impl Chat {
    /// A client that journals finished calls to `journal` (and replays those already there).
    pub fn new(config: ChatConfig, journal: Option<&Path>) -> Result<Chat, SynthError> {
        if !config.dry_run {
            agentworld_rl::http::check_url(&config.api_url).map_err(|e| SynthError::Endpoint(e.to_string()))?;
        }
        Ok(Chat {
            limit: Limit { free: Mutex::new(config.concurrency.max(1)), cv: Condvar::new() },
            journal: CallJournal::open(journal)?,
            config,
            usage: Usage::default(),
            printed: Mutex::new(Vec::new()),
        })
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    pub fn usage(&self) -> UsageReport {
        let u = &self.usage;
        UsageReport {
            requests: u.requests.load(Ordering::Relaxed),
            replayed: u.replayed.load(Ordering::Relaxed),
            transport_retries: u.transport_retries.load(Ordering::Relaxed),
            prompt_tokens: u.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: u.completion_tokens.load(Ordering::Relaxed),
        }
    }

    /// The prompts a dry run printed, in order.
    pub fn printed(&self) -> Vec<String> {
        self.printed.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// One completion: the assistant's text. Journaled answers are replayed without a request.
    pub fn complete(&self, stage: &str, messages: &[Value]) -> Result<String, SynthError> {
        let body = json!({
            "model": self.config.model,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "messages": messages,
        })
        .to_string()
        .into_bytes();
        let key = request_key(&body);
        if let Some(content) = self.journal.get(&key) {
            self.usage.replayed.fetch_add(1, Ordering::Relaxed);
            return Ok(content);
        }
        if self.config.dry_run {
            let text: Vec<String> = messages
                .iter()
                .map(|m| {
                    format!("--- {} ---\n{}", m["role"].as_str().unwrap_or("?"), m["content"].as_str().unwrap_or(""))
                })
                .collect();
            if let Ok(mut p) = self.printed.lock() {
                p.push(text.join("\n"));
            }
            return Err(SynthError::DryRun);
        }
        let url = format!("{}/chat/completions", self.config.api_url);
        let mut tries = 0;
        let bytes = loop {
            let result = {
                let _slot = self.limit.acquire();
                self.usage.requests.fetch_add(1, Ordering::Relaxed);
                agentworld_rl::http::post_json(&url, &body, self.config.api_key.as_deref(), self.config.timeout)
            };
            match result {
                Ok(b) => break b,
                Err(e) if e.retryable() && tries < self.config.transport_retries => {
                    self.usage.transport_retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(self.config.backoff * 2u32.saturating_pow(tries));
                    tries += 1;
                }
                Err(e) => return Err(SynthError::Endpoint(e.to_string())),
            }
        };
        let reply: Value = serde_json::from_slice(&bytes)
            .map_err(|e| SynthError::Endpoint(format!("the response is not JSON: {e}")))?;
        let content = reply["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| SynthError::Endpoint("the response has no choices[0].message.content".into()))?
            .to_string();
        let usage = (
            reply["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            reply["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        );
        self.usage.prompt_tokens.fetch_add(usage.0, Ordering::Relaxed);
        self.usage.completion_tokens.fetch_add(usage.1, Ordering::Relaxed);
        self.journal.put(&key, stage, &content, usage)?;
        Ok(content)
    }
}
