//! What the built-in policy knows about an episode: the environment's tools (classified once), the parsed
//! instruction, and the turns so far (action and observation).

use std::sync::Arc;

use agentworld_runtime::Environment;
use agentworld_runtime::spec::{ParamSpec, ResultShape};
use serde_json::{Map, Value};

use crate::text::{Instruction, Mention, Source, words};

/// What a tool does, read off its spec (generated tools follow these names; hand-written ones mostly do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolKind {
    Search,
    Get,
    Create,
    Update,
    Delete,
    Action,
}

impl ToolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolKind::Search => "search",
            ToolKind::Get => "get",
            ToolKind::Create => "create",
            ToolKind::Update => "update",
            ToolKind::Delete => "delete",
            ToolKind::Action => "action",
        }
    }
}

const GENERIC: [&str; 15] = [
    "search", "find", "list", "get", "fetch", "details", "create", "add", "new", "update", "edit", "modify", "delete",
    "remove", "by",
];

/// One tool, classified.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    pub name: String,
    pub kind: ToolKind,
    pub params: Vec<(String, ParamSpec)>,
    /// The entity it is about ("order", "maintenance record").
    pub noun: Vec<String>,
    /// What it does beyond the CRUD prefix ("cancel", "mark delivered").
    pub verb: Vec<String>,
    /// Its single required id parameter, when it works on one row.
    pub id_param: Option<String>,
}

/// An environment's tools, classified once.
#[derive(Debug)]
pub struct EnvInfo {
    pub env: Arc<Environment>,
    pub tools: Vec<ToolInfo>,
}

fn prefix_kind(name: &str) -> Option<ToolKind> {
    let first = name.split('_').next().unwrap_or("");
    Some(match first {
        "create" | "add" | "new" => ToolKind::Create,
        "update" | "edit" | "modify" => ToolKind::Update,
        "delete" | "remove" => ToolKind::Delete,
        _ => return None,
    })
}

impl EnvInfo {
    pub fn new(env: Arc<Environment>) -> EnvInfo {
        let mut tools = Vec::new();
        for t in env.tools() {
            let name = t.spec.name.clone();
            let params: Vec<(String, ParamSpec)> = t.params().to_vec();
            let required_ids: Vec<&String> =
                params.iter().filter(|(n, p)| p.required && n.ends_with("_id")).map(|(n, _)| n).collect();
            let kind = if !t.spec.writes {
                if params.iter().any(|(n, _)| n == "query") || t.spec.result == ResultShape::Rows {
                    ToolKind::Search
                } else {
                    ToolKind::Get
                }
            } else if let Some(k) = prefix_kind(&name) {
                k
            } else {
                ToolKind::Action
            };
            let id_param = if required_ids.len() == 1 && kind != ToolKind::Create && kind != ToolKind::Search {
                Some(required_ids[0].clone())
            } else {
                None
            };
            let tokens: Vec<String> = name.split('_').map(str::to_string).collect();
            let noun: Vec<String> = match &id_param {
                Some(p) => p.trim_end_matches("_id").split('_').map(str::to_string).collect(),
                None => tokens.iter().filter(|w| !GENERIC.contains(&w.as_str())).cloned().collect(),
            };
            let verb: Vec<String> =
                tokens.iter().filter(|w| !GENERIC.contains(&w.as_str()) && !noun.contains(w)).cloned().collect();
            tools.push(ToolInfo { name, kind, params, noun, verb, id_param });
        }
        EnvInfo { env, tools }
    }
}

/// What came back from an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Obs {
    /// Rows of a search.
    Rows(Vec<Map<String, Value>>),
    /// One row (get, or a write's result).
    Row(Map<String, Value>),
    Other(Value),
    Error(String),
}

impl Obs {
    /// A call's result, taken without copying it.
    pub fn from_value(v: Value) -> Obs {
        match v {
            Value::Array(a) => Obs::Rows(
                a.into_iter()
                    .filter_map(|r| match r {
                        Value::Object(m) => Some(m),
                        _ => None,
                    })
                    .collect(),
            ),
            Value::Object(m) => Obs::Row(m),
            v => Obs::Other(v),
        }
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<&Map<String, Value>> {
        match self {
            Obs::Rows(r) => r.first(),
            Obs::Row(m) => Some(m),
            _ => None,
        }
    }
}

/// A step the policy can take.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call {
        tool: String,
        args: Map<String, Value>,
    },
    Finish {
        answer: String,
    },
    /// The policy produced no usable action: a malformed tool call (the episode ends with the format reward,
    /// -1) or, with `infra`, a failed model endpoint (the episode is resampled, never scored).
    Invalid {
        reason: String,
        infra: bool,
    },
}

/// One turn of an episode.
#[derive(Debug, Clone)]
pub struct Turn {
    pub action: Action,
    /// The candidate kind that produced it (a feature of later steps).
    pub kind: &'static str,
    /// `None` for the final answer.
    pub obs: Option<Obs>,
    /// Whether the call wrote (a successful write tool).
    pub wrote: bool,
}

/// For one lookup mention: per tool, is its entity named right before the mention; and is any search tool's.
pub type LookupMatch = (Vec<bool>, bool);

/// An episode as the policy sees it.
#[derive(Debug, Clone)]
pub struct EpisodeState {
    pub info: Arc<EnvInfo>,
    pub instruction: Arc<Instruction>,
    pub turns: Vec<Turn>,
    /// Per tool: does the instruction name its entity, and its action? Fixed for the episode, so computed once.
    pub tool_match: Arc<Vec<(bool, bool)>>,
    /// Per mention that names something to look up: per tool, is the tool's entity named right before it
    /// ("the customer X"), and is any search tool's? `None` for other mentions (numbers, targets).
    pub lookups: Arc<Vec<Option<LookupMatch>>>,
}

impl EpisodeState {
    pub fn new(info: Arc<EnvInfo>, instruction: Arc<Instruction>) -> EpisodeState {
        let words = &instruction.words;
        let tool_match = info
            .tools
            .iter()
            .map(|t| {
                let noun = !t.noun.is_empty() && overlap(&t.noun, words) == t.noun.len();
                let verb = !t.verb.is_empty() && overlap(&t.verb, words) == t.verb.len();
                (noun, verb)
            })
            .collect();
        let lookups = instruction
            .mentions
            .iter()
            .map(|m| {
                if !matches!(m.source, Source::Quoted | Source::Code | Source::Person) {
                    return None;
                }
                let names: Vec<bool> = info.tools.iter().map(|t| mention_names(m, t)).collect();
                let owned = info
                    .tools
                    .iter()
                    .zip(&names)
                    .any(|(t, n)| *n && t.kind == ToolKind::Search && t.params.iter().any(|(p, _)| p == "query"));
                Some((names, owned))
            })
            .collect();
        EpisodeState {
            info,
            instruction,
            turns: Vec::new(),
            tool_match: Arc::new(tool_match),
            lookups: Arc::new(lookups),
        }
    }

    /// For lookup mention `mention` and tool `tool`: (the tool's entity is named right before it, some search
    /// tool's is); `None` when the mention is not something to look up.
    pub fn lookup_match(&self, mention: usize, tool: usize) -> Option<(bool, bool)> {
        self.lookups.get(mention)?.as_ref().map(|(names, owned)| (names[tool], *owned))
    }

    pub fn last_obs(&self) -> Option<&Obs> {
        self.turns.last().and_then(|t| t.obs.as_ref())
    }

    /// A short name for the last observation: `none`, `rows0`, `rows1`, `rowsN`, `row`, `write`, `error`, `other`.
    pub fn last_kind(&self) -> &'static str {
        match self.turns.last() {
            None => "none",
            Some(t) => match &t.obs {
                None => "none",
                Some(Obs::Error(_)) => "error",
                Some(_) if t.wrote => "write",
                Some(Obs::Rows(r)) if r.is_empty() => "rows0",
                Some(Obs::Rows(r)) if r.len() == 1 => "rows1",
                Some(Obs::Rows(_)) => "rowsN",
                Some(Obs::Row(_)) => "row",
                Some(Obs::Other(_)) => "other",
            },
        }
    }

    pub fn prev_kind(&self) -> &'static str {
        self.turns.last().map_or("start", |t| t.kind)
    }

    /// Ids seen in recent observations: (field, value, how many turns ago), most recent first.
    pub fn observed_ids(&self) -> Vec<(String, i64, usize)> {
        let mut out: Vec<(String, i64, usize)> = Vec::new();
        for (age, t) in self.turns.iter().rev().take(4).enumerate() {
            let rows: Vec<&Map<String, Value>> = match &t.obs {
                Some(Obs::Rows(r)) => r.iter().take(3).collect(),
                Some(Obs::Row(m)) => vec![m],
                _ => continue,
            };
            for row in rows {
                for (k, v) in row {
                    if k.ends_with("_id")
                        && let Some(i) = v.as_i64()
                        && !out.iter().any(|(f, x, _)| f == k && *x == i)
                    {
                        out.push((k.clone(), i, age));
                    }
                }
            }
        }
        out
    }

    pub fn called(&self, tool: &str) -> bool {
        self.turns.iter().any(|t| matches!(&t.action, Action::Call { tool: n, .. } if n == tool))
    }

    pub fn repeats(&self, action: &Action) -> bool {
        self.turns.iter().any(|t| &t.action == action)
    }
}

/// Whether the mention is preceded by words of the tool's noun ("the category \"Kitchen\"" for categories).
pub fn mention_names(m: &Mention, t: &ToolInfo) -> bool {
    !t.noun.is_empty() && t.noun.iter().all(|n| m.before.iter().any(|b| same_word(n, b)))
}

/// Whether two words are the same word for matching (a shared stem of 4+ letters).
pub fn same_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Byte lengths: words are lower-case and almost always ASCII, and this runs for every tool, field and word.
    if a.len().min(b.len()) < 4 {
        return false;
    }
    a.starts_with(b) || b.starts_with(a) || a.as_bytes()[..a.len().min(5)] == b.as_bytes()[..b.len().min(5)]
}

/// How many of `needles` occur among `hay` (stem match).
pub fn overlap(needles: &[String], hay: &std::collections::BTreeSet<String>) -> usize {
    needles.iter().filter(|n| hay.iter().any(|h| same_word(n, h))).count()
}

/// Words of a field or parameter name.
pub fn name_words(name: &str) -> Vec<String> {
    words(&name.replace('_', " "))
}
