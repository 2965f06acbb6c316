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

/// Has SQLite allocate with mimalloc instead of the C library's malloc, process-wide, if SQLite is not yet
/// initialised (call it before the first connection; later calls do nothing). Measured: glibc's malloc took
/// about 15-19% of the CPU of SQL-heavy work (the synthesis pipeline's validation); `BENCHMARKS.md`.
/// Returns whether mimalloc is SQLite's allocator.
pub fn use_mimalloc() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // `AW_SQLITE_MALLOC=system` keeps the C library's malloc (for comparisons).
        if std::env::var_os("AW_SQLITE_MALLOC").is_some_and(|v| v == "system") {
            return false;
        }
        // SQLite needs each allocation's size: it is kept in an 8-byte header (mimalloc returns 16-byte aligned
        // blocks, so the payload stays 8-byte aligned as SQLite requires).
        unsafe extern "C" fn x_malloc(n: c_int) -> *mut std::ffi::c_void {
            let n = n.max(0) as usize;
            // SAFETY: mi_malloc returns null or a block of at least n + 8 bytes; the header is written inside it.
            unsafe {
                let p = libmimalloc_sys::mi_malloc(n + 8) as *mut u64;
                if p.is_null() {
                    return std::ptr::null_mut();
                }
                *p = n as u64;
                p.add(1) as *mut std::ffi::c_void
            }
        }
        unsafe extern "C" fn x_free(p: *mut std::ffi::c_void) {
            if !p.is_null() {
                // SAFETY: p came from x_malloc/x_realloc, so the block starts 8 bytes before it.
                unsafe { libmimalloc_sys::mi_free((p as *mut u64).sub(1) as *mut std::ffi::c_void) }
            }
        }
        unsafe extern "C" fn x_realloc(p: *mut std::ffi::c_void, n: c_int) -> *mut std::ffi::c_void {
            if p.is_null() {
                return unsafe { x_malloc(n) };
            }
            let n = n.max(0) as usize;
            // SAFETY: as in x_free; the header is rewritten with the new size.
            unsafe {
                let q = libmimalloc_sys::mi_realloc((p as *mut u64).sub(1) as *mut std::ffi::c_void, n + 8) as *mut u64;
                if q.is_null() {
                    return std::ptr::null_mut();
                }
                *q = n as u64;
                q.add(1) as *mut std::ffi::c_void
            }
        }
        unsafe extern "C" fn x_size(p: *mut std::ffi::c_void) -> c_int {
            if p.is_null() {
                return 0;
            }
            // SAFETY: p came from x_malloc/x_realloc.
            unsafe { *(p as *mut u64).sub(1) as c_int }
        }
        unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
            (n + 7) & !7
        }
        unsafe extern "C" fn x_init(_: *mut std::ffi::c_void) -> c_int {
            ffi::SQLITE_OK
        }
        unsafe extern "C" fn x_shutdown(_: *mut std::ffi::c_void) {}
        /// The methods table, shared read-only (its one pointer, `pAppData`, is null).
        struct Methods(ffi::sqlite3_mem_methods);
        // SAFETY: immutable after construction, and the only pointer in it is null.
        unsafe impl Sync for Methods {}
        static METHODS: Methods = Methods(ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        });
        // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods, which SQLite copies; it fails
        // harmlessly (SQLITE_MISUSE) once SQLite is initialised.
        // Memory statistics off as well: with them on, every allocation takes one process-wide mutex, which
        // serialises SQLite work across threads (nothing here reads sqlite3_memory_used).
        unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &METHODS.0 as *const ffi::sqlite3_mem_methods)
                == ffi::SQLITE_OK
        }
    })
}
