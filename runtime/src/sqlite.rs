//! Low-level SQLite helpers shared by the engine: opening connections on the virtual-clock VFS, (de)serializing
//! database images, and splitting SQL text into statements the way SQLite itself reads it.

use std::ffi::{CString, c_int};

use rusqlite::{Connection, OpenFlags, ffi};

use crate::clock;
use crate::error::{EngineError, EngineResult};

/// Opens an empty in-memory connection on the virtual-clock VFS with foreign keys enforced.
pub(crate) fn open_memory() -> EngineResult<Connection> {
    clock::ensure_registered().map_err(EngineError::Other)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_MEMORY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags_and_vfs(":memory:", flags, clock::VFS_NAME)?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // The query planner stability guarantee: plans never depend on bound values. Without it SQLite marks a
    // statement to be re-prepared whenever a parameter it peeked at while planning is bound again (LIMIT values,
    // LIKE patterns, comparisons), and tool statements, whose arguments change every call, were parsed and
    // planned again on every call: ~30% of the CPU of a serving process.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Replaces schema `schema` of `conn` with a copy of `image` (writable, resizable, freed with the connection).
pub(crate) fn deserialize_copy(conn: &Connection, schema: &str, image: &[u8]) -> EngineResult<()> {
    let schema = CString::new(schema).map_err(|e| EngineError::Other(e.to_string()))?;
    // SAFETY: the buffer comes from sqlite3_malloc64 and is handed to SQLite with FREEONCLOSE, so SQLite owns it.
    unsafe {
        let len = image.len() as u64;
        let buf = ffi::sqlite3_malloc64(len.max(1)) as *mut u8;
        if buf.is_null() {
            return Err(EngineError::Sqlite(rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_NOMEM),
                Some("out of memory copying a template".into()),
            )));
        }
        std::ptr::copy_nonoverlapping(image.as_ptr(), buf, image.len());
        let rc = ffi::sqlite3_deserialize(
            conn.handle(),
            schema.as_ptr(),
            buf,
            len as i64,
            len as i64,
            ffi::SQLITE_DESERIALIZE_FREEONCLOSE | ffi::SQLITE_DESERIALIZE_RESIZEABLE,
        );
        check_rc(conn, rc)
    }
}

/// Points schema `schema` of `conn` at `image` without copying, read-only.
///
/// # Safety
/// `image` must stay alive and unchanged until the schema is pointed elsewhere or the connection closes.
pub(crate) unsafe fn deserialize_borrowed(conn: &Connection, schema: &str, image: &[u8]) -> EngineResult<()> {
    let schema = CString::new(schema).map_err(|e| EngineError::Other(e.to_string()))?;
    let len = image.len() as i64;
    // SAFETY: READONLY without FREEONCLOSE: SQLite only reads the buffer, which the caller keeps alive.
    let rc = unsafe {
        ffi::sqlite3_deserialize(
            conn.handle(),
            schema.as_ptr(),
            image.as_ptr() as *mut u8,
            len,
            len,
            ffi::SQLITE_DESERIALIZE_READONLY,
        )
    };
    check_rc(conn, rc)
}

fn check_rc(conn: &Connection, rc: c_int) -> EngineResult<()> {
    if rc == ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: the handle is valid for the life of `conn`.
    let msg = unsafe {
        let p = ffi::sqlite3_errmsg(conn.handle());
        if p.is_null() { String::new() } else { std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned() }
    };
    Err(EngineError::Sqlite(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(msg))))
}

/// The current image of `schema` (zero-copy for databases created by deserialize).
pub(crate) fn image_of(conn: &Connection, schema: &str) -> EngineResult<ImageRef> {
    let schema = CString::new(schema).map_err(|e| EngineError::Other(e.to_string()))?;
    let mut size: i64 = 0;
    // SAFETY: NOCOPY returns SQLite's own buffer (valid until the next write on `conn`) or null.
    unsafe {
        let p = ffi::sqlite3_serialize(conn.handle(), schema.as_ptr(), &mut size, ffi::SQLITE_SERIALIZE_NOCOPY);
        if !p.is_null() {
            return Ok(ImageRef::Borrowed(p, size as usize));
        }
        let p = ffi::sqlite3_serialize(conn.handle(), schema.as_ptr(), &mut size, 0);
        if p.is_null() {
            return Err(EngineError::Other("sqlite3_serialize failed".into()));
        }
        let v = std::slice::from_raw_parts(p, size as usize).to_vec();
        ffi::sqlite3_free(p as *mut _);
        Ok(ImageRef::Owned(v))
    }
}

/// A database image: SQLite's own buffer (borrowed from a connection) or a copy.
pub(crate) enum ImageRef {
    Borrowed(*const u8, usize),
    Owned(Vec<u8>),
}

impl ImageRef {
    /// # Safety
    /// For `Borrowed`, the connection it came from must not be written or closed while the slice is used.
    pub(crate) unsafe fn as_slice(&self) -> &[u8] {
        match self {
            ImageRef::Borrowed(p, n) => unsafe { std::slice::from_raw_parts(*p, *n) },
            ImageRef::Owned(v) => v,
        }
    }
}

/// Splits SQL text into complete statements with the 0-based line each starts on (uses `sqlite3_complete`,
/// so strings, comments and trigger bodies are handled as SQLite does).
pub fn split_statements(sql: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start_line = 0;
    for (i, line) in sql.split_inclusive('\n').enumerate() {
        if current.trim().is_empty() {
            current.clear();
            start_line = i;
        }
        current.push_str(line);
        // A line may end several statements: cut at every `;` that completes one.
        while let Some(cut) = first_complete_prefix(&current) {
            let (stmt, rest) = current.split_at(cut);
            if !stmt.trim().is_empty() {
                out.push((start_line, stmt.trim().to_string()));
            }
            current = rest.to_string();
            start_line = i;
            if current.trim().is_empty() {
                break;
            }
        }
    }
    // A remainder of only comments is not a statement.
    let has_code = current.lines().map(str::trim).any(|l| !l.is_empty() && !l.starts_with("--"));
    if has_code {
        out.push((start_line, current.trim().to_string()));
    }
    out
}

fn is_complete(s: &str) -> bool {
    let Ok(c) = CString::new(s) else { return false };
    // SAFETY: a valid NUL-terminated string.
    unsafe { ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

fn first_complete_prefix(s: &str) -> Option<usize> {
    if !is_complete(s) {
        return None;
    }
    s.match_indices(';').map(|(i, _)| i + 1).find(|&end| is_complete(&s[..end]))
}
