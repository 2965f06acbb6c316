//! A scripted OpenAI-compatible chat server (real HTTP on loopback) that answers the pipeline's prompts from
//! recorded environments, for tests and benchmarks: no model can run here, and the pipeline must be exercised
//! through real HTTP. The answer to a prompt is read from the environment named in it (`[scenario: ...]`,
//! `[seed: ...]`) and the stage (`[stage: ...]`); scripted faults replace the answer to a given try of a given
//! stage (the try is the number of user messages in the conversation, so a self-correction gets the next one).
//! Every request body is counted by its journal key ([`crate::llm::request_key`]).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentworld_runtime::spec::{EnvSpec, ParamType, ToolSpec};
use serde_json::{Map, Value, json};

use crate::stages::{Seed, Stage, env_name};

/// What a fault answers instead of the recorded reply.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This exact text.
    Text(String),
    /// The recorded reply with `from` replaced by `to`.
    Replace { from: String, to: String },
    /// The recorded reply after editing its JSON.
    Edit(fn(&mut Value)),
}

/// Recorded environments and scripted faults.
#[derive(Default, Clone)]
pub struct Script {
    envs: BTreeMap<String, EnvSpec>,
    seeds: BTreeMap<String, String>,
    /// (scenario, stage) -> faults for tries 1, 2, ... (`None` = answer correctly on that try).
    faults: HashMap<(String, Stage), Vec<Option<Fault>>>,
    /// (scenario, stage) whose every try is faulty (the last fault repeats).
    always: HashMap<(String, Stage), Fault>,
    /// The first this-many requests get `503 Service Unavailable` (a transport-level failure to retry).
    unavailable_first: u64,
    /// Time to "think" before each answer (a model's latency).
    delay: std::time::Duration,
}

impl Script {
    /// Answers for `specs`: each is also a seed named after it, whose scenario is that environment.
    pub fn new(specs: Vec<EnvSpec>) -> Script {
        let mut s = Script::default();
        for spec in specs {
            let name = env_name(&spec.env.name);
            s.seeds.insert(spec.env.name.clone(), name.clone());
            s.envs.insert(name, spec);
        }
        s
    }

    /// The seeds whose scenarios are the recorded environments (one each).
    pub fn seeds(&self) -> Vec<Seed> {
        self.seeds
            .iter()
            .map(|(seed, name)| Seed { name: seed.clone(), description: self.envs[name].env.description.clone() })
            .collect()
    }

    /// Answers try `try_no` (1-based) of `stage` for `scenario` with `fault`.
    pub fn fault(&mut self, scenario: &str, stage: Stage, try_no: usize, fault: Fault) -> &mut Script {
        let v = self.faults.entry((env_name(scenario), stage)).or_default();
        if v.len() < try_no {
            v.resize(try_no, None);
        }
        v[try_no - 1] = Some(fault);
        self
    }

    /// Waits `delay` before each answer.
    pub fn delay(&mut self, delay: std::time::Duration) -> &mut Script {
        self.delay = delay;
        self
    }

    /// Answers the first `n` requests with `503 Service Unavailable`.
    pub fn unavailable_first(&mut self, n: u64) -> &mut Script {
        self.unavailable_first = n;
        self
    }

    /// Answers every try of `stage` for `scenario` with `fault`.
    pub fn always(&mut self, scenario: &str, stage: Stage, fault: Fault) -> &mut Script {
        self.always.insert((env_name(scenario), stage), fault);
        self
    }

    fn recorded(&self, stage: Stage, scenario: &str) -> Option<Value> {
        let spec = self.envs.get(scenario)?;
        Some(match stage {
            Stage::Scenarios => json!({"name": scenario, "description": spec.env.description}),
            Stage::Tasks => {
                json!({"tasks": spec.tasks.iter().take(12).map(|t| t.instruction.clone()).collect::<Vec<_>>()})
            }
            Stage::Schema => json!({"schema": spec.schema.sql}),
            Stage::Data => json!({"data": spec.seed.as_ref().map(|s| s.sql.clone()).unwrap_or_default()}),
            Stage::Tools => json!({"tools": spec.tools, "examples": examples(spec)}),
            Stage::Verifiers => json!({"tasks": spec.tasks}),
        })
    }

    /// The reply text to a chat request body.
    pub fn answer(&self, request: &Value) -> Result<String, String> {
        let messages = request["messages"].as_array().ok_or("no messages")?;
        let first = messages
            .iter()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .ok_or("no user message")?;
        let tag = |key: &str| {
            first.lines().find_map(|l| {
                l.strip_prefix(&format!("[{key}: ")).and_then(|r| r.strip_suffix(']')).map(str::to_string)
            })
        };
        let stage = tag("stage").and_then(|s| Stage::parse(&s)).ok_or("no [stage: ...] in the prompt")?;
        let scenario = match stage {
            Stage::Scenarios => {
                let seed = tag("seed").ok_or("no [seed: ...]")?;
                self.seeds.get(&seed).cloned().ok_or_else(|| format!("unknown seed {seed}"))?
            }
            _ => tag("scenario").ok_or("no [scenario: ...]")?,
        };
        let try_no = messages.iter().filter(|m| m["role"] == "user").count();
        let recorded = self.recorded(stage, &scenario).ok_or_else(|| format!("no recorded environment {scenario}"))?;
        let key = (scenario, stage);
        let fault = self
            .always
            .get(&key)
            .cloned()
            .or_else(|| self.faults.get(&key).and_then(|v| v.get(try_no - 1).cloned().flatten()));
        Ok(match fault {
            None => recorded.to_string(),
            Some(Fault::Text(t)) => t,
            Some(Fault::Replace { from, to }) => recorded.to_string().replace(&from, &to),
            Some(Fault::Edit(f)) => {
                let mut v = recorded;
                f(&mut v);
                v.to_string()
            }
        })
    }
}

/// Example arguments for every tool: those of a reference solution that uses it, else values of the right type.
fn examples(spec: &EnvSpec) -> BTreeMap<String, Map<String, Value>> {
    let mut out = BTreeMap::new();
    for t in &spec.tasks {
        for call in &t.solution {
            out.entry(call.tool.clone()).or_insert_with(|| call.args.clone());
        }
    }
    for tool in &spec.tools {
        out.entry(tool.name.clone()).or_insert_with(|| typed_example(tool));
    }
    out
}

fn typed_example(tool: &ToolSpec) -> Map<String, Value> {
    let mut args = Map::new();
    for (name, p) in tool.params.iter().filter(|(_, p)| p.required) {
        let v = if let Some(first) = p.allowed.as_ref().and_then(|a| a.first()) {
            first.clone()
        } else {
            match p.ty {
                ParamType::Integer => json!(p.minimum.map_or(1, |m| m.max(1.0) as i64)),
                ParamType::Number => json!(p.minimum.map_or(1.0, |m| m.max(1.0))),
                ParamType::Boolean => json!(true),
                ParamType::Array => json!([]),
                ParamType::String => json!("x".repeat(p.min_length.unwrap_or(1).max(1))),
            }
        };
        args.insert(name.clone(), v);
    }
    args
}

/// The running server. Stops when dropped.
pub struct ScriptedServer {
    pub url: String,
    requests: Arc<AtomicU64>,
    keys: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl ScriptedServer {
    /// Serves `script` on a free loopback port (`url` is the base to give the client, ending in `/v1`).
    pub fn start(script: Script) -> std::io::Result<ScriptedServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let keys = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script = Arc::new(script);
        let (r, k, s) = (requests.clone(), keys.clone(), stop.clone());
        let seen = Arc::new(AtomicU64::new(0));
        std::thread::Builder::new().name("scripted-llm".into()).spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (script, r, k, seen) = (script.clone(), r.clone(), k.clone(), seen.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &script, &r, &k, &seen);
                });
            }
        })?;
        Ok(ScriptedServer { url: format!("http://{addr}/v1"), requests, keys, stop, addr })
    }

    /// Chat requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The journal keys of every request answered, in order.
    pub fn keys(&self) -> Vec<String> {
        self.keys.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    stream: TcpStream,
    script: &Script,
    requests: &AtomicU64,
    keys: &Mutex<Vec<String>>,
    seen: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    std::thread::sleep(script.delay);
    if let Ok(req) = serde_json::from_slice::<Value>(&body)
        && let Some(inputs) = req["input"].as_array()
    {
        // Embeddings: hashed bags of words (texts sharing most words point the same way).
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut v = vec![0.0f64; 64];
                for w in t.as_str().unwrap_or("").split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2) {
                    let h = agentworld_runtime::changes::fnv1a(w.to_lowercase().as_bytes());
                    v[(h % 64) as usize] += 1.0;
                }
                json!({"object": "embedding", "index": i, "embedding": v})
            })
            .collect();
        let text = json!({"object": "list", "data": data}).to_string();
        let mut s = stream;
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        return s.flush();
    }
    let unavailable = seen.fetch_add(1, Ordering::Relaxed) < script.unavailable_first;
    let (status, out) = if unavailable {
        (503, json!({"error": {"message": "scripted: unavailable"}}))
    } else {
        match serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string()).and_then(|r| script.answer(&r)) {
            Ok(content) => {
                requests.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut k) = keys.lock() {
                    k.push(crate::llm::request_key(&body));
                }
                let words = (content.len() / 4) as u64;
                (
                    200,
                    json!({"id": "scripted", "object": "chat.completion",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": (length / 4) as u64, "completion_tokens": words, "total_tokens": (length / 4) as u64 + words}}),
                )
            }
            Err(e) => (400, json!({"error": {"message": e}})),
        }
    };
    let text = out.to_string();
    let mut s = stream;
    write!(
        s,
        "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    s.flush()
}

/// Recorded environments for tests and benches: `n` procedural environments (`agentworld-generator`, seed
/// `seed`), every task already proven, drawn round-robin from the built-in domains.
pub fn generated_specs(n: usize, seed: u64) -> Vec<EnvSpec> {
    let domains = agentworld_generator::builtin_domains();
    let mut out = Vec::new();
    let mut index = 0;
    while out.len() < n && index < n * 4 {
        let d = &domains[index % domains.len()];
        if let Ok(env) = agentworld_generator::generate_one(d, seed, index, 0) {
            let source = agentworld_runtime::spec::SourceText { path: env.file_name(), text: env.text.clone() };
            if let Ok(spec) = agentworld_runtime::spec::parse_source(&source) {
                out.push(spec);
            }
        }
        index += 1;
    }
    out
}
