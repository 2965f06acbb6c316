//! Observations as JSON text: what a tool call returns is written once, straight from SQLite's rows into text,
//! and that text is what the trajectory keeps, the journal records and the servers send.
//!
//! Why text and not a `serde_json::Value`: a value tree costs an allocation per row, per key and per string, is
//! copied for every reply and serialised again for the journal, and each step of a live episode keeps it in
//! memory. On the cheap calls of the actor-runtime bench that tree work was ~15% of the CPU per call.

use std::fmt;
use std::sync::Arc;

use rusqlite::types::ValueRef;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// Valid, compact JSON text, shared: cloning it is a reference-count increment.
///
/// Serialised with `serde_json` it is embedded as JSON (not as a string); [`JsonText::to_value`] parses it for
/// code that wants to look inside.
///
/// ```
/// use agentworld_runtime::JsonText;
/// let text = JsonText::from_value(&serde_json::json!({"id": 7, "title": "Emma"}));
/// assert_eq!(text.as_str(), r#"{"id":7,"title":"Emma"}"#);
/// assert_eq!(text.to_value()["title"], "Emma");
/// let reply = serde_json::json!({"result": text});
/// assert_eq!(reply.to_string(), r#"{"result":{"id":7,"title":"Emma"}}"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JsonText(Arc<str>);

impl JsonText {
    /// `null`.
    pub fn null() -> JsonText {
        JsonText(Arc::from("null"))
    }

    /// The compact text of `value`.
    pub fn from_value(value: &Value) -> JsonText {
        JsonText(Arc::from(value.to_string()))
    }

    /// Checks that `text` is one JSON value and keeps it as it is (whitespace included).
    pub fn parse(text: &str) -> Result<JsonText, serde_json::Error> {
        let _: &RawValue = serde_json::from_str(text)?;
        Ok(JsonText(Arc::from(text)))
    }

    /// Text this crate wrote itself with [`JsonWriter`]: valid by construction.
    pub(crate) fn from_writer(w: JsonWriter) -> JsonText {
        JsonText(Arc::from(w.finish()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value the text holds.
    pub fn to_value(&self) -> Value {
        // Every constructor checks or writes valid JSON, so this parse does not fail; `Null` would be the answer
        // to text that is not JSON, which cannot be built.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> JsonText {
        JsonText::from_value(&value)
    }
}

impl From<&Value> for JsonText {
    fn from(value: &Value) -> JsonText {
        JsonText::from_value(value)
    }
}

impl PartialEq<Value> for JsonText {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Borrowing the text as a `RawValue` checks it without allocating; serde_json then writes it verbatim.
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonText, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(JsonText(Arc::from(Box::<str>::from(raw))))
    }
}

/// Writes JSON text piece by piece (SQLite values, pre-escaped keys), for results built straight from rows.
pub(crate) struct JsonWriter {
    buf: Vec<u8>,
}

impl JsonWriter {
    pub fn with_capacity(n: usize) -> JsonWriter {
        JsonWriter { buf: Vec::with_capacity(n) }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Text that is already JSON: punctuation, or a key written by [`object_key`].
    pub fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn string(&mut self, s: &str) {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, s);
    }

    /// An SQLite value as JSON: text as a string (invalid UTF-8 replaced), blobs as lower-case hex, non-finite
    /// reals as `null` (JSON has no NaN).
    pub fn sql(&mut self, v: ValueRef<'_>) {
        match v {
            ValueRef::Null => self.raw("null"),
            ValueRef::Integer(i) => {
                let _ = serde_json::to_writer(&mut self.buf, &i);
            }
            ValueRef::Real(f) => {
                let _ = serde_json::to_writer(&mut self.buf, &f);
            }
            ValueRef::Text(t) => self.string(&String::from_utf8_lossy(t)),
            ValueRef::Blob(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.buf.reserve(b.len() * 2 + 2);
                self.buf.push(b'"');
                for x in b {
                    self.buf.push(HEX[usize::from(x >> 4)]);
                    self.buf.push(HEX[usize::from(x & 15)]);
                }
                self.buf.push(b'"');
            }
        }
    }

    fn finish(self) -> String {
        // Only whole UTF-8 strings and ASCII are ever written.
        String::from_utf8(self.buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// `"name":` with `name` escaped: written once per compiled column, copied per row.
pub(crate) fn object_key(name: &str) -> String {
    let mut key = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into());
    key.push(':');
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the writer makes of `v`; it must agree with `tools::to_json`, the same rules as a value tree.
    fn written(v: ValueRef<'_>) -> Value {
        let mut w = JsonWriter::with_capacity(16);
        w.sql(v);
        let text = JsonText::from_writer(w).to_value();
        assert_eq!(text, crate::tools::to_json(v), "JsonWriter::sql and tools::to_json disagree on {v:?}");
        text
    }

    #[test]
    fn sql_values_are_written_as_the_json_they_stand_for() {
        assert_eq!(written(ValueRef::Null), Value::Null);
        assert_eq!(written(ValueRef::Integer(i64::MIN)), json!(i64::MIN));
        assert_eq!(written(ValueRef::Real(2.5)), json!(2.5));
        assert_eq!(written(ValueRef::Real(f64::NAN)), Value::Null);
        assert_eq!(written(ValueRef::Real(f64::INFINITY)), Value::Null);
        assert_eq!(written(ValueRef::Text("a \"q\"\n\u{1}é".as_bytes())), json!("a \"q\"\n\u{1}é"));
        assert_eq!(written(ValueRef::Text(b"ok\xff")), json!("ok\u{fffd}"));
        assert_eq!(written(ValueRef::Blob(&[0, 0xab, 0x10])), json!("00ab10"));
    }

    #[test]
    fn keys_are_escaped_once() {
        let mut w = JsonWriter::with_capacity(16);
        w.raw("{");
        w.raw(&object_key("we\"ird"));
        w.sql(ValueRef::Integer(1));
        w.raw("}");
        assert_eq!(JsonText::from_writer(w).to_value(), json!({"we\"ird": 1}));
    }

    #[test]
    fn parse_refuses_what_is_not_json_and_keeps_what_is() {
        assert!(JsonText::parse("{\"a\": ").is_err());
        assert!(JsonText::parse("1 2").is_err());
        let t = JsonText::parse("[1, 2]").unwrap();
        assert_eq!(t.as_str(), "[1, 2]");
        assert_eq!(t, json!([1, 2]));
    }

    #[test]
    fn serialises_embedded_and_round_trips() {
        let t = JsonText::from_value(&json!({"b": [1, "x"], "a": null}));
        let s = serde_json::to_string(&json!({"r": t})).unwrap();
        assert_eq!(s, r#"{"r":{"b":[1,"x"],"a":null}}"#);
        let back: JsonText = serde_json::from_str(r#"{"b":[1,"x"],"a":null}"#).unwrap();
        assert_eq!(back, t);
    }
}
