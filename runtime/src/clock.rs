//! The virtual clock: SQLite's "now" comes from here, never from the wall clock.
//!
//! SQLite asks its VFS for the current time (`xCurrentTimeInt64`) whenever a statement evaluates `'now'`,
//! `CURRENT_TIMESTAMP` or a column default using them. Every connection the engine opens uses the VFS registered
//! here: a copy of the platform's default VFS (the same way SQLite builds its own `unix-*` variants) whose time
//! functions read the virtual time set for the calling thread with [`at`]. Episode work is synchronous on one
//! thread per call, so a thread-local is exactly the scope a statement runs in. Same actions, same time, same bytes.

use std::cell::Cell;
use std::ffi::{CString, c_int};
use std::sync::OnceLock;

use rusqlite::ffi;

/// Name of the registered VFS.
pub const VFS_NAME: &str = "agentworld-clock";

/// Milliseconds between the Julian-day epoch SQLite uses and the Unix epoch.
const UNIX_EPOCH_JULIAN_MS: i64 = 210_866_760_000_000;

thread_local! {
    static NOW_MS: Cell<Option<i64>> = const { Cell::new(None) };
}

struct Registered {
    original: *mut ffi::sqlite3_vfs,
}
// SAFETY: the pointers refer to VFS objects that SQLite keeps for the life of the process and only reads.
unsafe impl Send for Registered {}
unsafe impl Sync for Registered {}

static REGISTERED: OnceLock<Result<Registered, String>> = OnceLock::new();

/// Registers the clock VFS once per process; every engine connection opens with [`VFS_NAME`].
pub fn ensure_registered() -> Result<(), String> {
    // Registering a VFS initialises SQLite: its allocator must be chosen first (every engine connection gets here).
    crate::sqlite::use_mimalloc();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: sqlite3_vfs_find/register are thread-safe; the copy is leaked so it outlives all connections.
            unsafe {
                // Before SQLite initialises (the VFS lookup does that): no global memory statistics, whose
                // process-wide mutex on every allocation stops episode work on several threads from scaling.
                // If SQLite is already initialised this returns SQLITE_MISUSE and changes nothing.
                let _ = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int);
                let original = ffi::sqlite3_vfs_find(std::ptr::null());
                if original.is_null() {
                    return Err("SQLite has no default VFS".to_string());
                }
                let mut copy: ffi::sqlite3_vfs = *original;
                let name = CString::new(VFS_NAME).map_err(|e| e.to_string())?;
                copy.zName = name.into_raw();
                copy.pNext = std::ptr::null_mut();
                copy.xCurrentTime = Some(current_time);
                copy.xCurrentTimeInt64 = Some(current_time_int64);
                let leaked = Box::into_raw(Box::new(copy));
                let rc = ffi::sqlite3_vfs_register(leaked, 0);
                if rc != ffi::SQLITE_OK {
                    return Err(format!("sqlite3_vfs_register failed with code {rc}"));
                }
                Ok(Registered { original })
            }
        })
        .as_ref()
        .map(|_| ())
        .map_err(Clone::clone)
}

unsafe extern "C" fn current_time_int64(_vfs: *mut ffi::sqlite3_vfs, out: *mut ffi::sqlite3_int64) -> c_int {
    if let Some(ms) = NOW_MS.get() {
        // SAFETY: SQLite passes a valid out pointer.
        unsafe { *out = ms + UNIX_EPOCH_JULIAN_MS };
        return ffi::SQLITE_OK;
    }
    // No virtual time set on this thread: defer to the platform clock (only code outside an episode gets here).
    match REGISTERED.get() {
        Some(Ok(r)) => unsafe {
            match (*r.original).xCurrentTimeInt64 {
                Some(f) => f(r.original, out),
                None => ffi::SQLITE_ERROR,
            }
        },
        _ => ffi::SQLITE_ERROR,
    }
}

unsafe extern "C" fn current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let mut ms: ffi::sqlite3_int64 = 0;
    let rc = unsafe { current_time_int64(vfs, &mut ms) };
    unsafe { *out = ms as f64 / 86_400_000.0 };
    rc
}

/// Runs `f` with SQLite's "now" at `unix_ms` on this thread, restoring the previous setting afterwards.
pub fn at<T>(unix_ms: i64, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<i64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            NOW_MS.set(self.0);
        }
    }
    let _restore = Restore(NOW_MS.replace(Some(unix_ms)));
    f()
}

/// Parses an RFC 3339 UTC instant (`2026-01-15T12:00:00Z`, fractional seconds and `+00:00` accepted) into
/// Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || format!("'{s}' is not an RFC 3339 UTC time like 2026-01-15T12:00:00Z");
    let s = s.trim();
    let body = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00")).ok_or_else(bad)?;
    let (date, time) = body.split_once(['T', ' ']).ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let num = |x: &str| x.parse::<i64>().map_err(|_| bad());
    let (y, mo, da) = (num(d[0])?, num(d[1])?, num(d[2])?);
    let (h, mi) = (num(t[0])?, num(t[1])?);
    let sec: f64 = t[2].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || !(0.0..61.0).contains(&sec) {
        return Err(bad());
    }
    let days = days_from_civil(y, mo, da);
    Ok(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + (sec * 1000.0).round() as i64)
}

/// Formats Unix milliseconds as `YYYY-MM-DD HH:MM:SS` (SQLite's own timestamp format).
pub fn format_sqlite(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let rem = unix_ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

// Howard Hinnant's civil date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let ms = parse_rfc3339("2026-01-15T12:00:00Z").unwrap();
        assert_eq!(format_sqlite(ms), "2026-01-15 12:00:00");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert!(parse_rfc3339("2026-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(parse_rfc3339("2026-01-15T12:00:00+02:00").is_err());
    }

    #[test]
    fn sqlite_now_follows_the_virtual_clock() {
        ensure_registered().unwrap();
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_MEMORY;
        let conn = rusqlite::Connection::open_with_flags_and_vfs(":memory:", flags, VFS_NAME).unwrap();
        let ms = parse_rfc3339("2030-06-01T08:30:00Z").unwrap();
        let (now, ts, ago): (String, String, String) = at(ms, || {
            conn.query_row("SELECT datetime('now'), CURRENT_TIMESTAMP, date('now','-3 days')", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
        .unwrap();
        assert_eq!(now, "2030-06-01 08:30:00");
        assert_eq!(ts, "2030-06-01 08:30:00");
        assert_eq!(ago, "2030-05-29");
    }
}
