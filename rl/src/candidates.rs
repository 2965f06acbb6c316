//! The built-in policy's action space: for one episode state, every plausible next step, each a tool call with
//! bound arguments or a final answer, with the feature keys that describe it. Arguments are bound from what the
//! instruction mentions (names, codes, numbers, "with x 2" items, the target of a change) and from ids in recent
//! observations (a parameter takes the observed field of the same name).

use agentworld_runtime::spec::{ParamSpec, ParamType};
use serde_json::{Map, Value};

use crate::features::{Hasher, Keys, Sparse, key_hash};
use crate::state::{Action, EpisodeState, Obs, ToolInfo, ToolKind, name_words, overlap};
use crate::text::Source;

/// One candidate next step.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub action: Action,
    pub kind: &'static str,
    pub features: Sparse,
}

/// Most candidates kept per state.
pub const MAX_CANDIDATES: usize = 64;

const DESC: [&str; 6] = ["highest", "most", "largest", "biggest", "maximum", "top"];
const ASC: [&str; 6] = ["lowest", "least", "smallest", "fewest", "minimum", "cheapest"];

/// A value converted to a parameter's type, or `None` when it does not fit.
pub fn typed(param: &ParamSpec, text: &str) -> Option<Value> {
    let clean: String = text.chars().filter(|c| *c != '$' && *c != ',').collect();
    let clean = clean.trim_end_matches('.');
    match param.ty {
        ParamType::Integer => clean.parse::<i64>().ok().map(Value::from),
        ParamType::Number => clean.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
        ParamType::String => {
            if let Some(allowed) = &param.allowed {
                let want = text.trim().to_lowercase().replace(' ', "_");
                allowed.iter().find(|a| a.as_str() == Some(want.as_str())).cloned()
            } else {
                Some(Value::String(text.to_string()))
            }
        }
        _ => None,
    }
}

struct Builder<'a> {
    state: &'a EpisodeState,
    hasher: Hasher,
    out: Vec<Candidate>,
    /// Keys every candidate of this state shares the context of.
    step: usize,
    last: &'static str,
    prev: &'static str,
    /// Shared feature indices per candidate kind ([`Builder::kind_keys`]).
    word_keys: Vec<(&'static str, Vec<u32>)>,
}

impl Builder<'_> {
    fn push(&mut self, action: Action, kind: &'static str, keys: Keys) {
        if self.out.len() >= MAX_CANDIDATES || self.out.iter().any(|c| c.action == action) {
            return;
        }
        let repeat = self.state.repeats(&action);
        let shared = self.kind_keys(kind);
        let mut f = Vec::with_capacity(shared.len() + keys.0.len() + 1);
        f.extend_from_slice(shared);
        f.push(self.hasher.reduce(key_hash(format_args!("k:{kind}|rep:{repeat}"))));
        f.extend(keys.0.iter().map(|k| self.hasher.reduce(*k)));
        self.out.push(Candidate { action, kind, features: Sparse(f) });
    }

    /// The features every candidate of `kind` shares in this state (its context and the instruction's words),
    /// computed once per kind.
    fn kind_keys(&mut self, kind: &'static str) -> &[u32] {
        let at = match self.word_keys.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                let (step, last, prev) = (self.step.min(6), self.last, self.prev);
                let wrote = self.state.turns.iter().any(|t| t.wrote);
                let words = &self.state.instruction.words;
                let mut h = Vec::with_capacity(6 + 2 * words.len());
                for key in [
                    key_hash(format_args!("k:{kind}")),
                    key_hash(format_args!("k:{kind}|s:{step}")),
                    key_hash(format_args!("k:{kind}|l:{last}")),
                    key_hash(format_args!("k:{kind}|p:{prev}")),
                    key_hash(format_args!("k:{kind}|l:{last}|p:{prev}")),
                    key_hash(format_args!("k:{kind}|wrote:{wrote}")),
                ] {
                    h.push(self.hasher.reduce(key));
                }
                for w in words {
                    h.push(self.hasher.reduce(key_hash(format_args!("k:{kind}|w:{w}"))));
                    h.push(self.hasher.reduce(key_hash(format_args!("k:{kind}|l:{last}|w:{w}"))));
                }
                self.word_keys.push((kind, h));
                self.word_keys.len() - 1
            }
        };
        &self.word_keys[at].1
    }

    fn tool_keys(&self, ti: usize, t: &ToolInfo, kind: &'static str) -> Keys {
        let mut k = Keys::default();
        let (nm, vm) = self.state.tool_match[ti];
        let called = self.state.called(&t.name);
        k.add(format_args!("k:{kind}|nm:{nm}"));
        k.add(format_args!("k:{kind}|vm:{vm}"));
        k.add(format_args!("k:{kind}|nm:{nm}|vm:{vm}"));
        k.add(format_args!("k:{kind}|nm:{nm}|l:{}", self.last));
        k.add(format_args!("k:{kind}|vm:{vm}|l:{}", self.last));
        k.add(format_args!("k:{kind}|called:{called}"));
        k.add(format_args!("k:{kind}|verbs:{}", t.verb.len().min(3)));
        k
    }
}

fn call(tool: &str, args: Map<String, Value>) -> Action {
    Action::Call { tool: tool.to_string(), args }
}

/// Candidate next steps of one episode.
pub fn candidates(state: &EpisodeState, hasher: Hasher) -> Vec<Candidate> {
    let mut b = Builder {
        state,
        hasher,
        out: Vec::new(),
        step: state.turns.len(),
        last: state.last_kind(),
        prev: state.prev_kind(),
        word_keys: Vec::new(),
    };
    let ins = state.instruction.clone();
    let ids = state.observed_ids();
    let tools = &state.info.tools;
    let hash_id = ins.mentions.iter().find(|m| m.source == Source::Hash).and_then(|m| m.text.parse::<i64>().ok());
    let target = ins.mentions.iter().find(|m| m.source == Source::Target);
    let items = &ins.items;
    // Answers first: the candidate cap must never cut the way to end the episode.
    finish_candidates(&mut b);
    for (ti, t) in tools.iter().enumerate() {
        match t.kind {
            ToolKind::Search => {
                let has_query = t.params.iter().any(|(n, _)| n == "query");
                if has_query {
                    for (mi, m) in ins.mentions.iter().enumerate() {
                        let Some((names, owned)) = state.lookup_match(mi, ti) else { continue };
                        // A name is looked up where the instruction says it belongs ("the customer X"); a name no
                        // search tool's entity precedes is looked up everywhere.
                        if !names && owned {
                            continue;
                        }
                        let mut args = Map::new();
                        args.insert("query".into(), Value::String(m.text.clone()));
                        let mut k = b.tool_keys(ti, t, "search");
                        let qn = names;
                        k.add(format_args!("k:search|qsrc:{}", m.source.as_str()));
                        k.add(format_args!("k:search|qn:{qn}"));
                        k.add(format_args!("k:search|qn:{qn}|l:{}", b.last));
                        b.push(call(&t.name, args), "search", k);
                    }
                }
                // Filtered by an observed id (and enum values the instruction names).
                for (field, value, age) in &ids {
                    if !t.params.iter().any(|(n, _)| n == field) {
                        continue;
                    }
                    let mut args = Map::new();
                    args.insert(field.clone(), Value::from(*value));
                    let mut enums = 0;
                    for (n, p) in &t.params {
                        if let Some(allowed) = &p.allowed
                            && n != "sort"
                        {
                            for a in allowed {
                                let Some(a) = a.as_str() else { continue };
                                let aw = name_words(a);
                                if !aw.is_empty() && aw.iter().all(|w| ins.words.contains(w)) {
                                    args.insert(n.clone(), Value::String(a.to_string()));
                                    enums += 1;
                                    break;
                                }
                            }
                        }
                    }
                    let mut k = b.tool_keys(ti, t, "filter");
                    k.add(format_args!("k:filter|enums:{}", enums.min(2)));
                    k.add(format_args!("k:filter|age:{}", (*age).min(2)));
                    b.push(call(&t.name, args), "filter", k);
                }
                // Sorted by a numeric column the instruction names, highest or lowest first.
                if let Some((_, sort)) = t.params.iter().find(|(n, _)| n == "sort")
                    && let Some(options) = &sort.allowed
                {
                    let desc = DESC.iter().any(|w| ins.words.contains(*w));
                    let asc = ASC.iter().any(|w| ins.words.contains(*w));
                    for o in options.iter().filter_map(Value::as_str) {
                        let (col, dir) = match o.rsplit_once('_') {
                            Some((c, "desc")) if desc => (c, "desc"),
                            Some((c, "asc")) if asc => (c, "asc"),
                            _ => continue,
                        };
                        let cw = name_words(col);
                        if overlap(&cw, &ins.words) < cw.len() {
                            continue;
                        }
                        let mut args = Map::new();
                        args.insert("sort".into(), Value::String(o.to_string()));
                        args.insert("limit".into(), Value::from(3));
                        let mut k = b.tool_keys(ti, t, "sort");
                        k.add(format_args!("k:sort|dir:{dir}"));
                        b.push(call(&t.name, args), "sort", k);
                    }
                }
            }
            ToolKind::Get | ToolKind::Delete | ToolKind::Action | ToolKind::Update => {
                let Some(idp) = &t.id_param else { continue };
                let kind = t.kind.as_str();
                let mut values: Vec<(i64, String)> = ids
                    .iter()
                    .filter(|(f, _, _)| f == idp)
                    .take(2)
                    .map(|(_, v, a)| (*v, format!("obs{}", (*a).min(2))))
                    .collect();
                if let Some(h) = hash_id {
                    values.push((h, "hash".into()));
                }
                for (v, src) in values {
                    let mut args = Map::new();
                    args.insert(idp.clone(), Value::from(v));
                    if t.kind == ToolKind::Update {
                        // One editable parameter the instruction names, set to the target value.
                        let Some(target) = target else { continue };
                        for (n, p) in &t.params {
                            if n == idp {
                                continue;
                            }
                            let pw = name_words(n);
                            if overlap(&pw, &ins.words) < pw.len() {
                                continue;
                            }
                            let Some(value) = typed(p, &target.text) else { continue };
                            let mut a = args.clone();
                            a.insert(n.clone(), value);
                            let mut k = b.tool_keys(ti, t, kind);
                            k.add(format_args!("k:{kind}|src:{src}"));
                            b.push(call(&t.name, a), "update", k);
                        }
                    } else {
                        let mut k = b.tool_keys(ti, t, kind);
                        k.add(format_args!("k:{kind}|src:{src}"));
                        b.push(call(&t.name, args), kind, k);
                    }
                }
            }
            ToolKind::Create => {
                let mut args = Map::new();
                let mut complete = true;
                let mut from_obs = 0;
                for (n, p) in &t.params {
                    let bound = if n.ends_with("_id") {
                        ids.iter().find(|(f, _, _)| f == n).map(|(_, v, _)| Value::from(*v))
                    } else {
                        let pw = name_words(n);
                        items.iter().find(|(phrase, _)| *phrase == pw).and_then(|(_, v)| typed(p, v))
                    };
                    match bound {
                        Some(v) => {
                            from_obs += usize::from(n.ends_with("_id"));
                            args.insert(n.clone(), v);
                        }
                        None if p.required => {
                            complete = false;
                            break;
                        }
                        None => {}
                    }
                }
                if complete {
                    let mut k = b.tool_keys(ti, t, "create");
                    k.add(format_args!("k:create|ids:{}", from_obs.min(3)));
                    b.push(call(&t.name, args), "create", k);
                }
            }
        }
    }
    b.out
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.replace('_', " ")),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn finish_candidates(b: &mut Builder<'_>) {
    let state = b.state;
    let words = &state.instruction.words;
    b.push(Action::Finish { answer: "Done.".into() }, "done", Keys::default());
    match state.last_obs() {
        Some(Obs::Error(e)) => {
            let answer = format!("I can't do that: {e}");
            b.push(Action::Finish { answer }, "refuse", Keys::default());
        }
        Some(obs) => {
            let Some(first) = obs.first().cloned() else {
                if let Obs::Rows(_) = obs {
                    b.push(Action::Finish { answer: "There are 0.".into() }, "count", Keys::default());
                }
                return;
            };
            let label = first.iter().find(|(k, v)| !k.ends_with("_id") && v.is_string()).map(|(_, v)| v.clone());
            for (field, v) in &first {
                if field.ends_with("_id") || field == "id" || field == "created_at" {
                    continue;
                }
                let Some(text) = scalar_text(v) else { continue };
                let fm = overlap(&name_words(field), words).min(2);
                let ty = if v.is_number() { "num" } else { "text" };
                let mut k = Keys::default();
                k.add(format_args!("k:value|fm:{fm}"));
                k.add(format_args!("k:value|fm:{fm}|t:{ty}"));
                k.add(format_args!("k:value|fm:{fm}|l:{}", b.last));
                b.push(Action::Finish { answer: format!("It is {text}.") }, "value", k);
                if v.is_number()
                    && let Some(l) = label.as_ref().and_then(scalar_text)
                {
                    let mut k = Keys::default();
                    k.add(format_args!("k:top|fm:{fm}"));
                    k.add(format_args!("k:top|fm:{fm}|p:{}", b.prev));
                    b.push(Action::Finish { answer: format!("{l}, with {text}.") }, "top", k);
                }
            }
            if let Obs::Rows(rows) = obs {
                let mut k = Keys::default();
                k.add(format_args!("k:count|n:{}", rows.len().min(3)));
                b.push(Action::Finish { answer: format!("There are {}.", rows.len()) }, "count", k);
                for (field, v) in &first {
                    if !v.is_number() || field.ends_with("_id") {
                        continue;
                    }
                    let sum: f64 = rows.iter().filter_map(|r| r.get(field).and_then(Value::as_f64)).sum();
                    let fm = overlap(&name_words(field), words).min(2);
                    let mut k = Keys::default();
                    k.add(format_args!("k:sum|fm:{fm}"));
                    b.push(Action::Finish { answer: format!("The total is {:.2}.", sum) }, "sum", k);
                }
            }
        }
        None => {}
    }
}
