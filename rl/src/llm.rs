//! The LLM policy: an OpenAI-compatible chat-completions endpoint drives each episode, in one of two modes.
//!
//! - **Native tool calling** ([`Mode::Tools`]): the environment's tools go in the `tools` parameter with their JSON
//!   Schemas; the first `tool_calls` entry of a reply is the action; a reply without one is the final answer.
//! - **AWM text protocol** ([`Mode::Text`]): the model sees two meta-tools, `list_tools` and `call_tool(tool_name,
//!   arguments)`, and calls them by writing `<tool_call>{"name": ..., "arguments": ...}</tool_call>`; only the first
//!   call of a turn runs; a turn without one is the final answer. `list_tools` is answered here (it is not an
//!   environment step) in AWM's listing format; tool results are 2-space-indented JSON, failures read
//!   `Error calling <tool>. Status code: 400. Response: <message>`.
//!
//! A reply whose tool call cannot be parsed ends the episode with AWM's format reward (-1). Requests are retried
//! with exponential backoff on transport errors, 429 and 5xx, each with a timeout; at most `concurrency` are in
//! flight.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{HttpError, post_json};
use crate::policy::{Decision, Policy, PolicyError};
use crate::state::{Action, EpisodeState, Obs};

/// How the model calls tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tools,
    Text,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "tools" | "native" => Ok(Mode::Tools),
            "text" | "awm" => Ok(Mode::Text),
            other => Err(format!("unknown mode `{other}` (expected tools or text)")),
        }
    }
}

/// Settings of the LLM policy.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Base URL of the API (`http://127.0.0.1:8000/v1`); `/chat/completions` is appended.
    pub api_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub mode: Mode,
    pub temperature: f32,
    pub max_tokens: u32,
    pub timeout: Duration,
    /// Extra tries after a retryable failure.
    pub retries: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// `list_tools` calls answered per turn before the reply counts as a format error.
    pub max_meta_calls: usize,
}

impl LlmConfig {
    pub fn new(api_url: &str, model: &str, mode: Mode) -> LlmConfig {
        LlmConfig {
            api_url: api_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            mode,
            temperature: 0.7,
            max_tokens: 1024,
            timeout: Duration::from_secs(120),
            retries: 3,
            concurrency: 8,
            max_meta_calls: 3,
        }
    }
}

/// Requests and tokens used so far.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Usage {
    pub requests: u64,
    pub retries: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub format_errors: u64,
}

struct Conversation {
    messages: Vec<Value>,
    /// Turns of the episode already in `messages`.
    turns_seen: usize,
    /// Id of the tool call whose result comes next (native mode).
    pending_call: Option<String>,
}

/// Drives episodes with an OpenAI-compatible chat model.
pub struct LlmPolicy {
    pub config: LlmConfig,
    conversations: HashMap<u64, Conversation>,
    pub usage: Usage,
}

impl LlmPolicy {
    pub fn new(config: LlmConfig) -> LlmPolicy {
        LlmPolicy { config, conversations: HashMap::new(), usage: Usage::default() }
    }

    /// Forgets finished episodes' conversations.
    pub fn forget(&mut self, episode: u64) {
        self.conversations.remove(&episode);
    }
}

fn system_prompt(state: &EpisodeState, mode: Mode) -> String {
    system_prompt_for(&state.info.env.spec.env.description, mode)
}

/// The system prompt for a service described by `description`.
pub(crate) fn system_prompt_for(description: &str, mode: Mode) -> String {
    let about = format!("You are an assistant working inside a software service.\n\nService: {description}\n");
    match mode {
        Mode::Tools => format!(
            "{about}\nUse the provided tools to carry out the user's request. Call one tool at a time and read its \
             result before deciding the next step. If the request cannot or should not be done, do not attempt it: \
             explain why. When you are finished, reply in plain text without a tool call; that reply is your final \
             answer to the user."
        ),
        Mode::Text => format!(
            "{about}\nYou can use two tools, by writing exactly one call per message in this form:\n\
             <tool_call>{{\"name\": \"list_tools\", \"arguments\": {{}}}}</tool_call>\n\
             <tool_call>{{\"name\": \"call_tool\", \"arguments\": {{\"tool_name\": \"NAME\", \"arguments\": \"{{\\\"param\\\": \\\"value\\\"}}\"}}}}</tool_call>\n\
             `list_tools` shows the service's tools and their parameters; `call_tool` runs one of them with its arguments \
             as a JSON string. Only the first call in a message is run. A message without a call is your final answer \
             to the user, so only write one when you are done. If the request cannot or should not be done, explain why."
        ),
    }
}

/// AWM's tool listing.
pub fn tool_listing(state: &EpisodeState) -> String {
    let tools = state.info.env.tools();
    let mut out = format!("Available MCP Tools ({} tools):\n{}\n", tools.len(), "=".repeat(80));
    for (i, t) in tools.iter().enumerate() {
        out.push_str(&format!(
            "{}. mcp_tool_{}\n   Description: {}\n   Parameters:\n",
            i + 1,
            t.spec.name,
            t.spec.description
        ));
        for (name, p) in t.params() {
            let need = if p.required { "required" } else { "optional" };
            out.push_str(&format!("      - {name}: {} ({need})\n", p.ty.as_str()));
        }
    }
    out
}

/// An observation as the model reads it.
pub fn observation_text(tool: &str, obs: &Obs) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    match obs {
        Obs::Rows(rows) => pretty(&Value::Array(rows.iter().cloned().map(Value::Object).collect())),
        Obs::Row(m) => pretty(&Value::Object(m.clone())),
        Obs::Other(v) => pretty(v),
        Obs::Error(e) => format!("Error calling {tool}. Status code: 400. Response: {e}"),
    }
}

/// What a reply asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Call { tool: String, args: serde_json::Map<String, Value>, id: Option<String> },
    ListTools,
    Answer(String),
    Malformed(String),
}

fn parse_args(raw: &Value) -> Result<serde_json::Map<String, Value>, String> {
    match raw {
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) if s.trim().is_empty() => Ok(serde_json::Map::new()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("arguments are not a JSON object: {s}")),
            Err(e) => Err(format!("arguments are not valid JSON ({e}): {s}")),
        },
        Value::Null => Ok(serde_json::Map::new()),
        other => Err(format!("arguments are not a JSON object: {other}")),
    }
}

fn parse_native(message: &Value) -> Reply {
    if let Some(call) = message["tool_calls"].as_array().and_then(|c| c.first()) {
        let Some(name) = call["function"]["name"].as_str() else {
            return Reply::Malformed("a tool call without a function name".into());
        };
        return match parse_args(&call["function"]["arguments"]) {
            Ok(args) => Reply::Call { tool: name.to_string(), args, id: call["id"].as_str().map(str::to_string) },
            Err(e) => Reply::Malformed(format!("{name}: {e}")),
        };
    }
    Reply::Answer(message["content"].as_str().unwrap_or("").to_string())
}

pub(crate) fn parse_text(content: &str) -> Reply {
    let Some(start) = content.find("<tool_call>") else {
        return Reply::Answer(content.trim().to_string());
    };
    let rest = &content[start + "<tool_call>".len()..];
    let Some(end) = rest.find("</tool_call>") else {
        return Reply::Malformed("<tool_call> without </tool_call>".into());
    };
    let call: Value = match serde_json::from_str(rest[..end].trim()) {
        Ok(v) => v,
        Err(e) => return Reply::Malformed(format!("the tool call is not valid JSON: {e}")),
    };
    match call["name"].as_str() {
        Some("list_tools") => Reply::ListTools,
        Some("call_tool") => {
            let args = &call["arguments"];
            let Some(tool) = args["tool_name"].as_str() else {
                return Reply::Malformed("call_tool needs a tool_name".into());
            };
            match parse_args(&args["arguments"]) {
                Ok(a) => Reply::Call { tool: tool.to_string(), args: a, id: None },
                Err(e) => Reply::Malformed(format!("{tool}: {e}")),
            }
        }
        Some(other) => Reply::Malformed(format!("unknown meta-tool `{other}` (use list_tools or call_tool)")),
        None => Reply::Malformed("a tool call without a name".into()),
    }
}

impl LlmPolicy {
    fn request_body(&self, state: &EpisodeState, messages: &[Value]) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        });
        if self.config.mode == Mode::Tools {
            let tools: Vec<Value> = state
                .info
                .env
                .tools()
                .iter()
                .map(|t| {
                    json!({ "type": "function", "function": {
                        "name": t.spec.name, "description": t.spec.description, "parameters": t.input_schema() } })
                })
                .collect();
            body["tools"] = Value::Array(tools);
        }
        body
    }

    /// One completion with retries; returns (assistant message, usage) or the last error.
    pub(crate) fn complete(config: &LlmConfig, body: &Value) -> (Result<Value, HttpError>, u64) {
        let url = format!("{}/chat/completions", config.api_url);
        let bytes = body.to_string().into_bytes();
        let mut retries = 0;
        loop {
            let r = post_json(&url, &bytes, config.api_key.as_deref(), config.timeout);
            match r {
                Ok(b) => {
                    let parsed = serde_json::from_slice::<Value>(&b).map_err(|e| HttpError::Transport {
                        url: url.clone(),
                        message: format!("the response is not JSON: {e}"),
                    });
                    return (parsed, retries);
                }
                Err(e) if e.retryable() && retries < config.retries as u64 => {
                    std::thread::sleep(Duration::from_millis(100 * 4u64.pow(retries as u32)));
                    retries += 1;
                }
                Err(e) => return (Err(e), retries),
            }
        }
    }

    /// Asks the model for one episode's next action (answering `list_tools` itself).
    fn next_action(
        config: &LlmConfig,
        state: &EpisodeState,
        conv: &mut Conversation,
        body_of: &dyn Fn(&[Value]) -> Value,
    ) -> (Action, Usage) {
        let mut usage = Usage::default();
        for _ in 0..=config.max_meta_calls {
            let (resp, retries) = Self::complete(config, &body_of(&conv.messages));
            usage.requests += 1;
            usage.retries += retries;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    return (Action::Invalid { reason: format!("the model endpoint failed: {e}"), infra: true }, usage);
                }
            };
            usage.prompt_tokens += resp["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
            usage.completion_tokens += resp["usage"]["completion_tokens"].as_u64().unwrap_or(0);
            let message = resp["choices"][0]["message"].clone();
            if message.is_null() {
                return (
                    Action::Invalid { reason: "the response has no choices[0].message".into(), infra: true },
                    usage,
                );
            }
            let reply = match config.mode {
                Mode::Tools => parse_native(&message),
                Mode::Text => parse_text(message["content"].as_str().unwrap_or("")),
            };
            match reply {
                Reply::Answer(text) => {
                    conv.messages.push(json!({ "role": "assistant", "content": text }));
                    return (Action::Finish { answer: text }, usage);
                }
                Reply::Call { tool, args, id } => {
                    let mut kept = message.clone();
                    if config.mode == Mode::Tools {
                        // Only the first call runs, so only it stays in the conversation.
                        if let Some(first) = message["tool_calls"].as_array().and_then(|c| c.first()) {
                            kept["tool_calls"] = Value::Array(vec![first.clone()]);
                        }
                        conv.pending_call = Some(id.unwrap_or_else(|| format!("call_{}", conv.messages.len())));
                    }
                    kept["role"] = Value::from("assistant");
                    conv.messages.push(kept);
                    return (Action::Call { tool, args }, usage);
                }
                Reply::ListTools => {
                    conv.messages.push(json!({ "role": "assistant", "content": message["content"].clone() }));
                    conv.messages.push(json!({ "role": "user", "content": format!("<tool_response>\n{}\n</tool_response>", tool_listing(state)) }));
                }
                Reply::Malformed(reason) => {
                    usage.format_errors += 1;
                    return (Action::Invalid { reason, infra: false }, usage);
                }
            }
        }
        usage.format_errors += 1;
        (
            Action::Invalid {
                reason: format!("more than {} list_tools calls in one turn", config.max_meta_calls),
                infra: false,
            },
            usage,
        )
    }
}

impl Policy for LlmPolicy {
    fn decide(
        &mut self,
        states: &[&EpisodeState],
        keys: &[(u64, u64)],
        _greedy: bool,
    ) -> Result<Vec<Decision>, PolicyError> {
        // Bring every conversation up to date with its episode's last observation.
        for (state, key) in states.iter().zip(keys) {
            let mode = self.config.mode;
            let conv = self.conversations.entry(key.0).or_insert_with(|| Conversation {
                messages: vec![
                    json!({ "role": "system", "content": system_prompt(state, mode) }),
                    json!({ "role": "user", "content": state.instruction.text }),
                ],
                turns_seen: 0,
                pending_call: None,
            });
            while conv.turns_seen < state.turns.len() {
                let turn = &state.turns[conv.turns_seen];
                if let (Action::Call { tool, .. }, Some(obs)) = (&turn.action, &turn.obs) {
                    let text = observation_text(tool, obs);
                    conv.messages.push(match mode {
                        Mode::Tools => json!({ "role": "tool", "tool_call_id": conv.pending_call.take().unwrap_or_default(), "content": text }),
                        Mode::Text => json!({ "role": "user", "content": format!("<tool_response>\n{text}\n</tool_response>") }),
                    });
                }
                conv.turns_seen += 1;
            }
        }
        // Ask the model for every episode, `concurrency` requests at a time.
        let mut work: Vec<(usize, Conversation)> = Vec::with_capacity(states.len());
        for (i, key) in keys.iter().enumerate() {
            if let Some(c) = self.conversations.remove(&key.0) {
                work.push((i, c));
            }
        }
        let config = self.config.clone();
        let this = &*self;
        let mut results: Vec<(usize, Conversation, Action, Usage)> = Vec::with_capacity(work.len());
        let mut it = work.into_iter();
        loop {
            let chunk: Vec<(usize, Conversation)> = it.by_ref().take(config.concurrency.max(1)).collect();
            if chunk.is_empty() {
                break;
            }
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .into_iter()
                    .map(|(i, mut conv)| {
                        let config = &config;
                        let state = states[i];
                        s.spawn(move || {
                            let body_of = |m: &[Value]| this.request_body(state, m);
                            let (action, usage) = Self::next_action(config, state, &mut conv, &body_of);
                            (i, conv, action, usage)
                        })
                    })
                    .collect();
                for h in handles {
                    if let Ok(r) = h.join() {
                        results.push(r);
                    }
                }
            });
        }
        results.sort_by_key(|r| r.0);
        let mut decisions = Vec::with_capacity(results.len());
        for (i, conv, action, usage) in results {
            self.usage.requests += usage.requests;
            self.usage.retries += usage.retries;
            self.usage.prompt_tokens += usage.prompt_tokens;
            self.usage.completion_tokens += usage.completion_tokens;
            self.usage.format_errors += usage.format_errors;
            let done = !matches!(action, Action::Call { .. });
            if done {
                self.conversations.remove(&keys[i].0);
            } else {
                self.conversations.insert(keys[i].0, conv);
            }
            let kind = match &action {
                Action::Call { .. } => "llm_call",
                Action::Finish { .. } => "llm_answer",
                Action::Invalid { .. } => "format_error",
            };
            decisions.push(Decision { action, kind, candidates: Vec::new(), chosen: 0 });
        }
        if decisions.len() != states.len() {
            return Err(PolicyError::Other("a model request thread panicked".into()));
        }
        Ok(decisions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_protocol_replies_parse() {
        let r = parse_text(
            "Let me look.<tool_call>{\"name\": \"call_tool\", \"arguments\": {\"tool_name\": \"search_books\", \"arguments\": \"{\\\"query\\\": \\\"Dune\\\"}\"}}</tool_call><tool_call>ignored</tool_call>",
        );
        match r {
            Reply::Call { tool, args, .. } => {
                assert_eq!(tool, "search_books");
                assert_eq!(args["query"], "Dune");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_text("<tool_call>{\"name\": \"list_tools\", \"arguments\": {}}</tool_call>"),
            Reply::ListTools
        );
        assert_eq!(parse_text("It costs $12."), Reply::Answer("It costs $12.".into()));
        assert!(matches!(
            parse_text("<tool_call>{\"name\": \"call_tool\", \"arguments\": {\"tool_name\": </tool_call>"),
            Reply::Malformed(_)
        ));
        assert!(matches!(parse_text("<tool_call>{\"name\": \"rm_rf\"}</tool_call>"), Reply::Malformed(_)));
    }

    #[test]
    fn native_tool_calls_parse_and_bad_arguments_are_format_errors() {
        let m = json!({ "tool_calls": [{ "id": "c1", "function": { "name": "get_book", "arguments": "{\"book_id\": 2}" } }] });
        assert!(matches!(parse_native(&m), Reply::Call { ref tool, .. } if tool == "get_book"));
        let bad =
            json!({ "tool_calls": [{ "id": "c1", "function": { "name": "get_book", "arguments": "{book_id: 2" } }] });
        assert!(matches!(parse_native(&bad), Reply::Malformed(_)));
        assert_eq!(parse_native(&json!({ "content": "Done." })), Reply::Answer("Done.".into()));
    }
}
