//! Row-level changes: decoding SQLite session changesets into (table, key, before, after), replaying them on
//! the template, and a logical digest of a database's state.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
use rusqlite::hooks::Action;
use rusqlite::session::{ChangesetIter, ConflictAction, ConflictType};
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::env::TableInfo;
use crate::error::{EngineError, EngineResult};
use crate::store::{EpisodeDb, Template};
use crate::tools::to_json;
use crate::verify::quote_ident;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }
}

/// One changed row. Inserts carry `after`, deletes `before` (whole rows); updates carry the old values of the
/// primary key and the changed columns in `before`, and the new values of the changed columns in `after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowChange {
    pub table: String,
    pub op: ChangeOp,
    /// Primary-key values in key order.
    pub key: Vec<Value>,
    pub before: Option<Map<String, Value>>,
    pub after: Option<Map<String, Value>>,
}

/// Decodes a changeset produced by a tool call.
pub fn decode(changeset: &[u8], tables: &[TableInfo]) -> EngineResult<Vec<RowChange>> {
    let mut input: &[u8] = changeset;
    let reader: &mut dyn std::io::Read = &mut input;
    let mut iter = ChangesetIter::start_strm(&reader)?;
    let mut out = Vec::new();
    while let Some(item) = iter.next()? {
        let op = item.op()?;
        let table = op.table_name().to_string();
        let ncols = op.number_of_columns() as usize;
        let kind = match op.code() {
            Action::SQLITE_INSERT => ChangeOp::Insert,
            Action::SQLITE_UPDATE => ChangeOp::Update,
            Action::SQLITE_DELETE => ChangeOp::Delete,
            _ => continue,
        };
        let info = tables.iter().find(|t| t.name == table);
        let col_name = |i: usize| info.and_then(|t| t.columns.get(i).cloned()).unwrap_or_else(|| format!("col{i}"));
        let pk_flags = item.pk()?.to_vec();
        let mut before = None;
        let mut after = None;
        if kind != ChangeOp::Insert {
            let mut m = Map::new();
            for i in 0..ncols {
                if let Ok(v) = item.old_value(i) {
                    m.insert(col_name(i), to_json(v));
                }
            }
            before = Some(m);
        }
        if kind != ChangeOp::Delete {
            let mut m = Map::new();
            for i in 0..ncols {
                if let Ok(v) = item.new_value(i) {
                    m.insert(col_name(i), to_json(v));
                }
            }
            after = Some(m);
        }
        let key_source = before.as_ref().or(after.as_ref());
        let key = (0..ncols)
            .filter(|&i| pk_flags.get(i).is_some_and(|f| *f != 0))
            .map(|i| key_source.and_then(|m| m.get(&col_name(i)).cloned()).unwrap_or(Value::Null))
            .collect();
        out.push(RowChange { table, op: kind, key, before, after });
    }
    Ok(out)
}

/// Rebuilds a state by applying changesets, in order, to a fresh copy of the template. Any conflict (a change
/// that does not apply exactly) is an error: replay must reproduce the recorded state, not approximate it.
pub fn replay<'a>(template: &Template, changesets: impl IntoIterator<Item = &'a [u8]>) -> EngineResult<EpisodeDb> {
    let conn = template.open_readonly()?;
    for (i, cs) in changesets.into_iter().enumerate() {
        let mut input: &[u8] = cs;
        let conflict = Arc::new(Mutex::new(None::<String>));
        let seen = conflict.clone();
        let applied = conn.apply_strm(&mut input, None::<fn(&str) -> bool>, move |kind: ConflictType, _item| {
            if let Ok(mut c) = seen.lock() {
                *c = Some(format!("{kind:?}"));
            }
            ConflictAction::SQLITE_CHANGESET_ABORT
        });
        if let Some(kind) = conflict.lock().ok().and_then(|c| c.clone()) {
            return Err(EngineError::Other(format!("changeset {} does not apply exactly ({kind})", i + 1)));
        }
        applied?;
    }
    let image = crate::store::image_of(&conn, "main")?;
    // SAFETY: `conn` is not written while the image is copied.
    let bytes = unsafe { image.as_slice() }.to_vec();
    Template::from_image(bytes).fork()
}

/// A digest of every row of every table, read in primary-key order: equal digests mean equal logical states.
pub fn state_digest(conn: &Connection, tables: &[TableInfo]) -> EngineResult<String> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for t in tables {
        feed(t.name.as_bytes());
        let order: Vec<String> = t.primary_key.iter().map(|&i| quote_ident(&t.columns[i])).collect();
        let sql = format!("SELECT * FROM {} ORDER BY {}", quote_ident(&t.name), order.join(", "));
        let mut stmt = conn.prepare_cached(&sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            feed(b"\x1erow");
            for i in 0..n {
                match row.get_ref(i)? {
                    ValueRef::Null => feed(b"\x1fN"),
                    ValueRef::Integer(x) => {
                        feed(b"\x1fI");
                        feed(&x.to_le_bytes());
                    }
                    ValueRef::Real(x) => {
                        feed(b"\x1fR");
                        feed(&x.to_le_bytes());
                    }
                    ValueRef::Text(x) => {
                        feed(b"\x1fT");
                        feed(x);
                    }
                    ValueRef::Blob(x) => {
                        feed(b"\x1fB");
                        feed(x);
                    }
                }
            }
        }
    }
    Ok(format!("{h:016x}"))
}
