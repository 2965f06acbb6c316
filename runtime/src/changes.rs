//! Row-level changes: capturing every row a tool call changes (SQLite's pre-update hook), a compact binary
//! changeset per step, decoding it into (table, key, before, after), replaying changesets on the template, and a
//! logical digest of a database's state.
//!
//! Why not the session extension: it prepares a `PRAGMA table_xinfo` and a `SELECT` per changed table for every
//! changeset it writes, which cost more than the tool call itself (measured ~45 us for a two-table write). The
//! pre-update hook hands us the old and new row as SQLite changes it, with no statements at all.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::Connection;
use rusqlite::hooks::{Action, PreUpdateCase};
use rusqlite::types::{Value as SqlValue, ValueRef};
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

    fn code(self) -> u8 {
        match self {
            ChangeOp::Insert => 1,
            ChangeOp::Update => 2,
            ChangeOp::Delete => 3,
        }
    }
}

/// One changed row as captured: whole rows, exact SQLite values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawChange {
    pub table: String,
    pub op: ChangeOp,
    pub rowid: i64,
    pub old: Option<Vec<SqlValue>>,
    pub new: Option<Vec<SqlValue>>,
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

/// Collects the changes of one tool call from a connection's pre-update hook.
#[derive(Default)]
pub(crate) struct Capture {
    on: AtomicBool,
    changes: Mutex<Vec<RawChange>>,
}

impl Capture {
    /// Installs the hook on `conn`; it records only between [`Capture::start`] and [`Capture::finish`].
    pub(crate) fn install(conn: &mut Connection, capture: std::sync::Arc<Capture>) -> rusqlite::Result<()> {
        conn.preupdate_hook(Some(move |action: Action, db: &str, table: &str, case: &PreUpdateCase| {
            if db != "main" || !capture.on.load(Ordering::Relaxed) {
                return;
            }
            let change = match (action, case) {
                (Action::SQLITE_INSERT, PreUpdateCase::Insert(new)) => RawChange {
                    table: table.to_string(),
                    op: ChangeOp::Insert,
                    rowid: new.get_new_row_id(),
                    old: None,
                    new: Some((0..new.get_column_count()).map(|i| owned(new.get_new_column_value(i))).collect()),
                },
                (Action::SQLITE_DELETE, PreUpdateCase::Delete(old)) => RawChange {
                    table: table.to_string(),
                    op: ChangeOp::Delete,
                    rowid: old.get_old_row_id(),
                    old: Some((0..old.get_column_count()).map(|i| owned(old.get_old_column_value(i))).collect()),
                    new: None,
                },
                (Action::SQLITE_UPDATE, PreUpdateCase::Update { old_value_accessor: old, new_value_accessor: new }) => {
                    RawChange {
                        table: table.to_string(),
                        op: ChangeOp::Update,
                        rowid: old.get_old_row_id(),
                        old: Some((0..old.get_column_count()).map(|i| owned(old.get_old_column_value(i))).collect()),
                        new: Some((0..new.get_column_count()).map(|i| owned(new.get_new_column_value(i))).collect()),
                    }
                }
                _ => return,
            };
            if let Ok(mut c) = capture.changes.lock() {
                c.push(change);
            }
        }))
    }

    pub(crate) fn start(&self) {
        if let Ok(mut c) = self.changes.lock() {
            c.clear();
        }
        self.on.store(true, Ordering::Relaxed);
    }

    /// Stops recording and returns what was recorded since `start`.
    pub(crate) fn finish(&self) -> Vec<RawChange> {
        self.on.store(false, Ordering::Relaxed);
        self.changes.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
    }
}

fn owned(v: rusqlite::Result<ValueRef<'_>>) -> SqlValue {
    match v {
        Ok(ValueRef::Integer(i)) => SqlValue::Integer(i),
        Ok(ValueRef::Real(f)) => SqlValue::Real(f),
        Ok(ValueRef::Text(t)) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        Ok(ValueRef::Blob(b)) => SqlValue::Blob(b.to_vec()),
        Ok(ValueRef::Null) | Err(_) => SqlValue::Null,
    }
}

// --- binary changeset format -------------------------------------------------------------------------------
// u32 count, then per change: u8 op, u32 rowid-high/low as i64, str table, row old?, row new?
// row: u8 present, u16 columns, values; value: u8 tag (0 null, 1 int, 2 real, 3 text, 4 blob) + payload.

/// Encodes captured changes as a compact changeset.
pub(crate) fn encode(changes: &[RawChange]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * changes.len());
    out.extend_from_slice(&(changes.len() as u32).to_le_bytes());
    for c in changes {
        out.push(c.op.code());
        out.extend_from_slice(&c.rowid.to_le_bytes());
        put_bytes(&mut out, c.table.as_bytes());
        for row in [&c.old, &c.new] {
            match row {
                None => out.push(0),
                Some(values) => {
                    out.push(1);
                    out.extend_from_slice(&(values.len() as u16).to_le_bytes());
                    for v in values {
                        match v {
                            SqlValue::Null => out.push(0),
                            SqlValue::Integer(i) => {
                                out.push(1);
                                out.extend_from_slice(&i.to_le_bytes());
                            }
                            SqlValue::Real(f) => {
                                out.push(2);
                                out.extend_from_slice(&f.to_le_bytes());
                            }
                            SqlValue::Text(t) => {
                                out.push(3);
                                put_bytes(&mut out, t.as_bytes());
                            }
                            SqlValue::Blob(b) => {
                                out.push(4);
                                put_bytes(&mut out, b);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> EngineResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| EngineError::Other(format!("changeset truncated at byte {}", self.at)))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> EngineResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn array<const N: usize>(&mut self) -> EngineResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn bytes(&mut self) -> EngineResult<&'a [u8]> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        self.take(n)
    }
    fn text(&mut self) -> EngineResult<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|e| EngineError::Other(format!("changeset text: {e}")))
    }
}

/// Decodes a changeset into captured changes.
pub(crate) fn decode_raw(bytes: &[u8]) -> EngineResult<Vec<RawChange>> {
    let mut r = Reader { b: bytes, at: 0 };
    let count = u32::from_le_bytes(r.array()?) as usize;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let op = match r.u8()? {
            1 => ChangeOp::Insert,
            2 => ChangeOp::Update,
            3 => ChangeOp::Delete,
            other => return Err(EngineError::Other(format!("changeset: unknown operation {other}"))),
        };
        let rowid = i64::from_le_bytes(r.array()?);
        let table = r.text()?;
        let mut rows = [None, None];
        for row in &mut rows {
            if r.u8()? == 0 {
                continue;
            }
            let n = u16::from_le_bytes(r.array()?) as usize;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(match r.u8()? {
                    0 => SqlValue::Null,
                    1 => SqlValue::Integer(i64::from_le_bytes(r.array()?)),
                    2 => SqlValue::Real(f64::from_le_bytes(r.array()?)),
                    3 => SqlValue::Text(r.text()?),
                    4 => SqlValue::Blob(r.bytes()?.to_vec()),
                    other => return Err(EngineError::Other(format!("changeset: unknown value tag {other}"))),
                });
            }
            *row = Some(values);
        }
        let [old, new] = rows;
        out.push(RawChange { table, op, rowid, old, new });
    }
    if r.at != bytes.len() {
        return Err(EngineError::Other(format!("changeset has {} trailing bytes", bytes.len() - r.at)));
    }
    Ok(out)
}

/// Decodes a changeset produced by a tool call into readable row changes.
pub fn decode(changeset: &[u8], tables: &[TableInfo]) -> EngineResult<Vec<RowChange>> {
    let raws = decode_raw(changeset)?;
    Ok(raws.iter().map(|c| describe(c, tables.iter().find(|t| t.name == c.table))).collect())
}

fn describe(c: &RawChange, info: Option<&TableInfo>) -> RowChange {
    let name = |i: usize| info.and_then(|t| t.columns.get(i).cloned()).unwrap_or_else(|| format!("col{i}"));
    let pk: Vec<usize> = info.map(|t| t.primary_key.clone()).unwrap_or_default();
    let json = |v: &SqlValue| to_json(ValueRef::from(v));
    let whole =
        |row: &[SqlValue]| -> Map<String, Value> { row.iter().enumerate().map(|(i, v)| (name(i), json(v))).collect() };
    let key_of = |row: &[SqlValue]| -> Vec<Value> {
        if pk.is_empty() {
            vec![Value::from(c.rowid)]
        } else {
            pk.iter().map(|&i| row.get(i).map_or(Value::Null, json)).collect()
        }
    };
    match (c.op, &c.old, &c.new) {
        (ChangeOp::Insert, _, Some(new)) => {
            RowChange { table: c.table.clone(), op: c.op, key: key_of(new), before: None, after: Some(whole(new)) }
        }
        (ChangeOp::Delete, Some(old), _) => {
            RowChange { table: c.table.clone(), op: c.op, key: key_of(old), before: Some(whole(old)), after: None }
        }
        (_, old, new) => {
            let old = old.as_deref().unwrap_or(&[]);
            let new = new.as_deref().unwrap_or(&[]);
            let mut before = Map::new();
            let mut after = Map::new();
            for i in 0..old.len().max(new.len()) {
                let (o, n) = (old.get(i), new.get(i));
                if pk.contains(&i) {
                    before.insert(name(i), o.map_or(Value::Null, json));
                }
                if o != n {
                    before.insert(name(i), o.map_or(Value::Null, json));
                    after.insert(name(i), n.map_or(Value::Null, json));
                }
            }
            RowChange {
                table: c.table.clone(),
                op: ChangeOp::Update,
                key: key_of(old),
                before: Some(before),
                after: Some(after),
            }
        }
    }
}

/// Applies changesets, in order, to `conn` with triggers and foreign-key enforcement switched off for the
/// duration (the changes already include everything triggers did, in the order it happened), then switched back on.
pub(crate) fn apply_changesets(conn: &Connection, changesets: &[&[u8]], tables: &[TableInfo]) -> EngineResult<()> {
    use rusqlite::config::DbConfig;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    let result = changesets.iter().try_for_each(|cs| apply(conn, &decode_raw(cs)?, tables));
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, true)?;
    result
}

/// Applies captured changes in order. Triggers and foreign-key enforcement are off on `conn`: the changes already
/// include everything triggers did, in the order it happened.
fn apply(conn: &Connection, changes: &[RawChange], tables: &[TableInfo]) -> EngineResult<()> {
    for (n, c) in changes.iter().enumerate() {
        let info = tables
            .iter()
            .find(|t| t.name == c.table)
            .ok_or_else(|| EngineError::Other(format!("change {}: unknown table {}", n + 1, c.table)))?;
        let t = quote_ident(&info.name);
        let cols: Vec<String> = info.columns.iter().map(|c| quote_ident(c)).collect();
        let key_where = |offset: usize| -> String {
            info.primary_key
                .iter()
                .enumerate()
                .map(|(k, &i)| format!("{} IS ?{}", cols[i], offset + k + 1))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let key_values = |row: &[SqlValue]| -> Vec<SqlValue> {
            info.primary_key.iter().map(|&i| row.get(i).cloned().unwrap_or(SqlValue::Null)).collect()
        };
        let affected = match (c.op, &c.old, &c.new) {
            (ChangeOp::Insert, _, Some(new)) => {
                let marks: Vec<String> = (1..=new.len()).map(|i| format!("?{i}")).collect();
                let sql = format!("INSERT INTO {t} ({}) VALUES ({})", cols.join(", "), marks.join(", "));
                conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(new.iter()))?
            }
            (ChangeOp::Delete, Some(old), _) => {
                let sql = format!("DELETE FROM {t} WHERE {}", key_where(0));
                conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(key_values(old).iter()))?
            }
            (ChangeOp::Update, Some(old), Some(new)) => {
                let sets: Vec<String> = cols.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
                let sql = format!("UPDATE {t} SET {} WHERE {}", sets.join(", "), key_where(new.len()));
                let params: Vec<SqlValue> = new.iter().cloned().chain(key_values(old)).collect();
                conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(params.iter()))?
            }
            _ => return Err(EngineError::Other(format!("change {}: malformed", n + 1))),
        };
        if affected != 1 {
            return Err(EngineError::Other(format!(
                "change {} ({} {}) does not apply exactly: {affected} rows matched",
                n + 1,
                c.op.as_str(),
                c.table
            )));
        }
    }
    Ok(())
}

/// Rebuilds a state by applying changesets, in order, to a fresh copy of the template. A change that does not apply
/// to exactly one row is an error: replay must reproduce the recorded state, not approximate it.
pub fn replay<'a>(
    template: &Template,
    tables: &[TableInfo],
    changesets: impl IntoIterator<Item = &'a [u8]>,
) -> EngineResult<EpisodeDb> {
    let conn = template.open_readonly()?;
    let changesets: Vec<&[u8]> = changesets.into_iter().collect();
    apply_changesets(&conn, &changesets, tables)?;
    let image = crate::store::image_of(&conn, "main")?;
    // SAFETY: `conn` is not written while the image is copied.
    let bytes = unsafe { image.as_slice() }.to_vec();
    Template::from_image(bytes).fork()
}

/// FNV-1a (64-bit) over the bytes fed to it: the project's one stable, dependency-free hash (spec text, table
/// digests, generator fingerprints, the built-in policy's feature keys). Formatted text can be fed without building
/// a string (`write!(h, ...)`).
///
/// ```
/// use std::fmt::Write;
/// use agentworld_runtime::changes::Fnv;
/// let mut a = Fnv::new();
/// a.feed(b"k:7");
/// let mut b = Fnv::new();
/// write!(b, "k:{}", 7).unwrap();
/// assert_eq!(a.finish(), b.finish());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv::new()
    }
}

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn feed(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.feed(s.as_bytes());
        Ok(())
    }
}

/// The query that reads a table of `schema` in primary-key order (the input of [`table_digest`]).
pub(crate) fn ordered_select(schema: &str, t: &TableInfo) -> String {
    let order: Vec<String> = t.primary_key.iter().map(|&i| quote_ident(&t.columns[i])).collect();
    let order = if order.is_empty() { "rowid".to_string() } else { order.join(", ") };
    format!("SELECT * FROM {schema}.{} ORDER BY {order}", quote_ident(&t.name))
}

/// FNV-1a, 64-bit, of `bytes` (one [`Fnv`] over them): a stable hash for spec text, request bodies, shingles.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.feed(bytes);
    h.0
}

/// A digest of every row of a table, read with `sql` (see [`ordered_select`]): equal digests, equal rows.
pub(crate) fn table_digest(conn: &Connection, sql: &str) -> rusqlite::Result<u64> {
    let mut h = Fnv::new();
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        h.feed(b"\x1erow");
        for i in 0..n {
            match row.get_ref(i)? {
                ValueRef::Null => h.feed(b"\x1fN"),
                ValueRef::Integer(x) => {
                    h.feed(b"\x1fI");
                    h.feed(&x.to_le_bytes());
                }
                ValueRef::Real(x) => {
                    h.feed(b"\x1fR");
                    h.feed(&x.to_le_bytes());
                }
                ValueRef::Text(x) => {
                    h.feed(b"\x1fT");
                    h.feed(x);
                }
                ValueRef::Blob(x) => {
                    h.feed(b"\x1fB");
                    h.feed(x);
                }
            }
        }
    }
    Ok(h.0)
}

/// A digest of every row of every table, read in primary-key order: equal digests mean equal logical states.
pub fn state_digest(conn: &Connection, tables: &[TableInfo]) -> EngineResult<String> {
    let mut h = Fnv::new();
    for t in tables {
        h.feed(t.name.as_bytes());
        h.feed(&table_digest(conn, &ordered_select("main", t))?.to_le_bytes());
    }
    Ok(format!("{:016x}", h.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changesets_round_trip_and_reject_garbage() {
        let changes = vec![
            RawChange {
                table: "t".into(),
                op: ChangeOp::Update,
                rowid: 7,
                old: Some(vec![SqlValue::Integer(7), SqlValue::Text("a".into()), SqlValue::Null]),
                new: Some(vec![SqlValue::Integer(7), SqlValue::Real(1.5), SqlValue::Blob(vec![0, 255])]),
            },
            RawChange { table: "u".into(), op: ChangeOp::Delete, rowid: -1, old: Some(vec![]), new: None },
        ];
        let bytes = encode(&changes);
        assert_eq!(decode_raw(&bytes).unwrap(), changes);
        assert!(decode_raw(&bytes[..bytes.len() - 1]).is_err());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_raw(&extra).is_err());
        assert!(decode_raw(&[1, 0, 0, 0, 9]).is_err());
    }
}
