//! What the record holds, as self-contained rows: nothing here points back into live engine objects, so a record
//! can be written to the write-ahead log, read back after a crash and appended to DuckDB by a process that never
//! saw the episode.

use serde::{Deserialize, Serialize};

use crate::changes;
use crate::env::Environment;
use crate::episode::{Episode, EpisodeId, Step};
use crate::error::{EngineResult, ToolError};
use crate::verify::Verdict;

/// One thing to record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Record {
    Environment(Box<EnvironmentRow>),
    Opened(OpenedRow),
    Step(Box<StepRow>),
    Verdict(Box<VerdictRow>),
    Ended(EndedRow),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentRow {
    pub env: String,
    pub spec_hash: String,
    pub source: String,
    /// The spec as JSON.
    pub spec: String,
    /// The template database image.
    #[serde(with = "hex_bytes")]
    pub template: Vec<u8>,
    pub tables: u32,
    pub tools: u32,
    pub tasks: Vec<TaskRow>,
    pub recorded_us: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRow {
    pub task_id: String,
    pub kind: Option<String>,
    pub instruction: String,
    pub checks: u32,
    pub unchanged: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenedRow {
    pub episode: EpisodeId,
    pub env: String,
    pub spec_hash: String,
    pub task: Option<String>,
    pub group: Option<u64>,
    /// Parent episode and the number of its steps the branch starts from.
    pub parent: Option<(EpisodeId, u32)>,
    pub opened_us: i64,
}

/// The failure taxonomy of a step: `ok`, `tool_error` (the agent's mistake, an observation), `timeout` (the
/// deadline interrupted the call) or `infra_error` (not the agent's doing; the episode is never rewarded).
pub fn step_status<T>(result: &Result<T, ToolError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) if e.is_timeout() => "timeout",
        Err(ToolError::EpisodeFailed { .. }) => "infra_error",
        Err(_) => "tool_error",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepRow {
    pub episode: EpisodeId,
    pub step: u32,
    pub tool: String,
    /// JSON text.
    pub args: String,
    pub status: String,
    /// JSON text of the result of a successful call.
    pub result: Option<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub truncated: bool,
    pub duration_us: u64,
    pub virtual_time_ms: i64,
    #[serde(with = "hex_bytes_opt")]
    pub changeset: Option<Vec<u8>>,
    pub changes: Vec<ChangeRow>,
}

/// One decoded row change of a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangeRow {
    pub table: String,
    pub op: String,
    /// JSON array of primary-key values.
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VerdictRow {
    pub episode: EpisodeId,
    pub outcome: String,
    pub reward: f64,
    pub passed: u32,
    pub total: u32,
    /// JSON text of the per-check outcomes.
    pub checks: String,
    /// JSON text of the tables changed against the task's `unchanged` list.
    pub collateral: String,
    pub answer: String,
    pub finished_us: i64,
}

/// How an episode ended. Every episode opened in a journal gets exactly one of these; one left without it when a
/// process stopped is marked `interrupted` when the journal is next opened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndedRow {
    pub episode: EpisodeId,
    /// `finished` (verified), `closed` (by its client, unverified), `reaped` (idle too long), `timeout` (its
    /// wall-time limit), `infra_error` (its state or actor was lost: never rewarded), `interrupted` (the process
    /// stopped first).
    pub status: String,
    pub cause: Option<String>,
    pub steps: u32,
    pub ended_us: i64,
}

/// Bytes as raw bytes in the write-ahead log's binary frames, and as a hex string in JSON (the frames of earlier
/// versions, and any human-readable export: a JSON array of numbers is three to four times larger and slower).
mod hex_bytes {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn encode(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(DIGITS[(b >> 4) as usize] as char);
            out.push(DIGITS[(b & 15) as usize] as char);
        }
        out
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(format!("'{}' is not a hex digit", c as char)),
        };
        let t = text.as_bytes();
        if !t.len().is_multiple_of(2) {
            return Err("odd number of hex digits".into());
        }
        t.chunks(2).map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?)).collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&encode(bytes)) } else { s.serialize_bytes(bytes) }
    }

    /// Accepts what either encoding wrote.
    struct BytesOrHex;

    impl<'de> Visitor<'de> for BytesOrHex {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes or a hex string")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Vec<u8>, E> {
            decode(v).map_err(E::custom)
        }
        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() { d.deserialize_str(BytesOrHex) } else { d.deserialize_byte_buf(BytesOrHex) }
    }
}

mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// `Option<Vec<u8>>` through [`super::hex_bytes`].
    #[derive(Deserialize)]
    struct Bytes(#[serde(with = "super::hex_bytes")] Vec<u8>);

    struct BytesRef<'a>(&'a [u8]);

    impl Serialize for BytesRef<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::hex_bytes::serialize(self.0, s)
        }
    }

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&BytesRef(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Bytes>::deserialize(d)?.map(|b| b.0))
    }
}

pub(crate) fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

impl Record {
    pub fn environment(env: &Environment) -> EngineResult<Record> {
        Ok(Record::Environment(Box::new(EnvironmentRow {
            env: env.name().to_string(),
            spec_hash: env.spec_hash().to_string(),
            source: env.source.path.display().to_string(),
            spec: serde_json::to_string(&env.spec).map_err(|e| crate::EngineError::Journal(e.to_string()))?,
            template: env.template().image().to_vec(),
            tables: env.tables().len() as u32,
            tools: env.tools().len() as u32,
            tasks: env
                .tasks()
                .iter()
                .map(|t| TaskRow {
                    task_id: t.id().to_string(),
                    kind: t.spec.kind.clone(),
                    instruction: t.spec.instruction.clone(),
                    checks: t.spec.verify.len() as u32,
                    unchanged: t.unchanged.clone(),
                })
                .collect(),
            recorded_us: now_us(),
        })))
    }

    pub fn opened(ep: &Episode, group: Option<u64>) -> Record {
        Record::Opened(OpenedRow {
            episode: ep.id(),
            env: ep.env().name().to_string(),
            spec_hash: ep.env().spec_hash().to_string(),
            task: ep.task_id().map(str::to_string),
            group,
            parent: ep.lineage().map(|l| (l.parent, l.at_step as u32)),
            opened_us: now_us(),
        })
    }

    /// A step, with its changeset decoded against the environment's tables (done here, by the producer, so the
    /// single journal writer only appends).
    pub fn step(episode: EpisodeId, env: &Environment, step: &Step) -> EngineResult<Record> {
        let (result, error_code, error) = match &step.result {
            Ok(v) => (Some(v.as_str().to_string()), None, None),
            Err(e) => (None, Some(e.code().to_string()), Some(e.to_string())),
        };
        let changes = match &step.changeset {
            Some(cs) => changes::decode(cs, env.tables())?
                .into_iter()
                .map(|c| ChangeRow {
                    table: c.table,
                    op: c.op.as_str().to_string(),
                    key: serde_json::Value::from(c.key).to_string(),
                    before: c.before.map(|b| serde_json::Value::Object(b).to_string()),
                    after: c.after.map(|a| serde_json::Value::Object(a).to_string()),
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(Record::Step(Box::new(StepRow {
            episode,
            step: step.index as u32,
            tool: step.tool.clone(),
            args: step.args.as_str().to_string(),
            status: step_status(&step.result).to_string(),
            result,
            error_code,
            error,
            truncated: step.truncated,
            duration_us: step.duration_us,
            virtual_time_ms: step.virtual_time_ms,
            changeset: step.changeset.clone(),
            changes,
        })))
    }

    pub fn verdict(episode: EpisodeId, verdict: &Verdict, answer: &str) -> Record {
        Record::Verdict(Box::new(VerdictRow {
            episode,
            outcome: verdict.outcome.as_str().to_string(),
            reward: verdict.reward,
            passed: verdict.passed() as u32,
            total: verdict.checks.len() as u32,
            checks: serde_json::to_string(&verdict.checks).unwrap_or_else(|_| "[]".into()),
            collateral: serde_json::to_string(&verdict.collateral).unwrap_or_else(|_| "[]".into()),
            answer: answer.to_string(),
            finished_us: now_us(),
        }))
    }

    pub fn ended(episode: EpisodeId, status: &str, cause: Option<String>, steps: usize) -> Record {
        Record::Ended(EndedRow { episode, status: status.to_string(), cause, steps: steps as u32, ended_us: now_us() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_the_log_encoding() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_bytes::decode(&hex_bytes::encode(&bytes)).unwrap(), bytes);
        assert!(hex_bytes::decode("abc").is_err());
        assert!(hex_bytes::decode("zz").is_err());
        let row = StepRow {
            episode: 1,
            step: 2,
            tool: "t".into(),
            args: "{}".into(),
            status: "ok".into(),
            result: Some("[]".into()),
            error_code: None,
            error: None,
            truncated: false,
            duration_us: 3,
            virtual_time_ms: 4,
            changeset: Some(vec![0, 1, 254, 255]),
            changes: vec![],
        };
        let rec = Record::Step(Box::new(row));
        let text = serde_json::to_string(&rec).unwrap();
        assert!(text.contains("\"0001feff\""), "{text}");
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), rec);
        // The binary log encoding keeps the bytes as bytes.
        let binary = postcard::to_stdvec(&rec).unwrap();
        assert!(binary.windows(4).any(|w| w == [0, 1, 254, 255]));
        assert!(binary.len() < text.len() / 2, "{} vs {} bytes", binary.len(), text.len());
        assert_eq!(postcard::from_bytes::<Record>(&binary).unwrap(), rec);
    }
}
