//! Live episode state: one in-memory SQLite database per episode, forked from the environment's template image.
//!
//! A [`Template`] is the serialized image of the initial state (schema + seed, built at the virtual clock).
//! [`Template::fork`] copies it into a fresh in-memory database with SQLite's backup API from a per-thread source
//! connection: about 15 microseconds for an AWM-sized environment, measured against deserializing the image in
//! `benches/engine.rs`. [`EpisodeDb::branch`] copies a live episode's current image. Every connection the engine opens
//! uses the virtual-clock VFS and refuses, through SQLite's authorizer, any statement that could escape the
//! episode (ATTACH, PRAGMA, DDL, transactions, extension loading).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::hooks::AuthContext;

pub(crate) use crate::auth::{CALL_SAVEPOINT, DENIED_FUNCTIONS, describe_action, tool_authorizer};
use crate::auth::{EpisodeAuth, Verifying, episode_authorizer};
use crate::error::{EngineError, EngineResult};
pub use crate::sqlite::split_statements;
pub(crate) use crate::sqlite::{deserialize_borrowed, deserialize_copy, image_of, open_memory};
/// Interrupts a running statement from another thread (a runtime enforcing deadlines holds one per episode).
pub use rusqlite::InterruptHandle;

/// Process-wide monotonic origin for deadlines stored as nanoseconds in an atomic.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A deadline shared with SQLite's progress handler: 0 means none.
#[derive(Clone, Default)]
pub(crate) struct Deadline(Arc<AtomicU64>);

impl Deadline {
    pub(crate) fn set(&self, after: Duration) {
        let at = Instant::now() + after;
        self.0.store(at.duration_since(epoch()).as_nanos().max(1) as u64, Ordering::Relaxed);
    }
    pub(crate) fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
    fn expired(&self) -> bool {
        let at = self.0.load(Ordering::Relaxed);
        at != 0 && Instant::now().duration_since(epoch()).as_nanos() as u64 >= at
    }
}

/// Templates a thread keeps open as backup sources (least recently added dropped first).
const MAX_SOURCES_PER_THREAD: usize = 32;

thread_local! {
    static SOURCES: std::cell::RefCell<Vec<(std::sync::Weak<[u8]>, Connection)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The initial state of an environment, as a database image.
#[derive(Clone)]
pub struct Template {
    image: Arc<[u8]>,
}

impl Template {
    pub(crate) fn from_image(image: Vec<u8>) -> Self {
        Template { image: image.into() }
    }

    /// The serialized database (an SQLite file image).
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    pub(crate) fn image_arc(&self) -> Arc<[u8]> {
        self.image.clone()
    }

    /// A fresh, isolated, writable episode database holding the initial state.
    ///
    /// Copies the template with SQLite's backup API from a read-only source connection that each thread keeps per
    /// template (measured faster than deserializing the image, p50 and p99: `benches/engine.rs`).
    pub fn fork(&self) -> EngineResult<EpisodeDb> {
        SOURCES.with(|sources| {
            let mut sources = sources.borrow_mut();
            // Forget sources of templates that no longer exist (their Weak cannot upgrade).
            sources.retain(|(weak, _)| weak.strong_count() > 0);
            let pos = sources.iter().position(|(weak, _)| std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(&self.image)));
            let pos = match pos {
                Some(p) => p,
                None => {
                    if sources.len() >= MAX_SOURCES_PER_THREAD {
                        sources.remove(0);
                    }
                    sources.push((Arc::downgrade(&self.image), self.open_readonly()?));
                    sources.len() - 1
                }
            };
            self.fork_by_backup(&sources[pos].1)
        })
    }

    /// The same by deserializing the template image (kept for the benchmark that compares the two).
    pub fn fork_by_deserialize(&self) -> EngineResult<EpisodeDb> {
        EpisodeDb::from_image(&self.image)
    }

    /// A fork through SQLite's backup API from an open connection on this template.
    pub fn fork_by_backup(&self, source: &Connection) -> EngineResult<EpisodeDb> {
        let mut conn = open_memory()?;
        {
            let backup = rusqlite::backup::Backup::new(source, &mut conn)?;
            backup.step(-1)?;
        }
        EpisodeDb::configure(conn)
    }

    /// An open read-only connection on the template (for the backup benchmark and inspection).
    pub fn open_readonly(&self) -> EngineResult<Connection> {
        let conn = open_memory()?;
        deserialize_copy(&conn, "main", &self.image)?;
        Ok(conn)
    }
}

/// One episode's live database. Not `Sync`: it belongs to one owner (an episode, an actor) at a time.
///
/// Either a standalone copy ([`Template::fork`]) or a connection checked out of an environment's
/// [`EpisodePool`]: then the episode runs inside one transaction on a warm connection (schema parsed, statements
/// prepared, the initial state attached), and dropping the episode rolls that transaction back, which restores the
/// initial state exactly, and returns the connection to the pool.
pub struct EpisodeDb {
    core: Option<DbCore>,
    pool: Option<Arc<EpisodePool>>,
}

/// The connection and its per-connection state.
pub struct DbCore {
    pub(crate) conn: Connection,
    pub(crate) deadline: Deadline,
    auth: Arc<EpisodeAuth>,
    /// Row changes of the running tool call, from the pre-update hook.
    pub(crate) capture: Arc<crate::changes::Capture>,
    /// The answer the verification functions read; registered on first verification.
    answer: std::cell::OnceCell<Arc<std::sync::Mutex<String>>>,
    /// `initial` is attached for good (pooled connections); otherwise verification attaches it.
    pub(crate) initial_attached: bool,
}

impl std::ops::Deref for EpisodeDb {
    type Target = DbCore;
    fn deref(&self) -> &DbCore {
        // Invariant: `core` is only taken in `drop`.
        self.core.as_ref().expect("episode database used after drop")
    }
}

impl Drop for EpisodeDb {
    fn drop(&mut self) {
        if let (Some(pool), Some(core)) = (self.pool.take(), self.core.take()) {
            pool.give_back(core);
        }
    }
}

/// Warm connections on one environment's initial state, reused across episodes (EnvPool-style instant reset).
pub struct EpisodePool {
    template: Template,
    initial_uri: String,
    idle: std::sync::Mutex<Vec<DbCore>>,
    max_idle: usize,
}

impl EpisodePool {
    pub(crate) fn new(template: Template, initial_uri: String, max_idle: usize) -> Arc<EpisodePool> {
        Arc::new(EpisodePool { template, initial_uri, idle: std::sync::Mutex::new(Vec::new()), max_idle })
    }

    /// A database holding the initial state, inside its own transaction.
    pub fn checkout(self: &Arc<Self>) -> EngineResult<EpisodeDb> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let core = match idle {
            Some(core) => core,
            None => {
                let mut db = self.template.fork()?;
                let core = db.core.take().ok_or_else(|| EngineError::Other("fork without a database".into()))?;
                core.internal(|c| c.execute("ATTACH ?1 AS initial", [&self.initial_uri]).map(|_| ()))?;
                DbCore { initial_attached: true, ..core }
            }
        };
        core.internal(|c| c.execute_batch("BEGIN"))?;
        Ok(EpisodeDb { core: Some(core), pool: Some(self.clone()) })
    }

    /// Connections waiting for the next episode.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn give_back(&self, core: DbCore) {
        // Roll the episode back to the initial state; a connection that cannot be reset is closed instead.
        let reset = core.internal(|c| c.execute_batch("ROLLBACK")).is_ok() && core.conn.is_autocommit();
        core.deadline.clear();
        core.auth.verifying.store(false, Ordering::Relaxed);
        if reset
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(core);
        }
    }
}

impl EpisodeDb {
    fn standalone(core: DbCore) -> EpisodeDb {
        EpisodeDb { core: Some(core), pool: None }
    }

    fn from_image(image: &[u8]) -> EngineResult<EpisodeDb> {
        let conn = open_memory()?;
        deserialize_copy(&conn, "main", image)?;
        Self::configure(conn)
    }

    fn configure(mut conn: Connection) -> EngineResult<EpisodeDb> {
        conn.set_prepared_statement_cache_capacity(256);
        let auth = Arc::new(EpisodeAuth::default());
        let a = auth.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| episode_authorizer(ctx, &a)))?;
        let deadline = Deadline::default();
        let d = deadline.clone();
        conn.progress_handler(1000, Some(move || d.expired()))?;
        let capture = Arc::new(crate::changes::Capture::default());
        crate::changes::Capture::install(&mut conn, capture.clone())?;
        Ok(EpisodeDb::standalone(DbCore {
            conn,
            deadline,
            auth,
            capture,
            answer: std::cell::OnceCell::new(),
            initial_attached: false,
        }))
    }

    /// An independent copy of this database as it is now.
    pub fn branch(&self) -> EngineResult<EpisodeDb> {
        EpisodeDb::configure(self.copy()?)
    }
}

impl DbCore {
    /// Runs our own statement (transaction control, ATTACH) past the tool authorizer.
    fn internal<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> EngineResult<T> {
        self.auth.internal.store(true, Ordering::Relaxed);
        let r = f(&self.conn);
        self.auth.internal.store(false, Ordering::Relaxed);
        Ok(r?)
    }

    /// Starts the episode's transaction again and re-applies `changesets` (after SQLite rolled the transaction back
    /// on its own, e.g. when it interrupted a write): the state is exactly what those changesets made it.
    pub(crate) fn restart_episode(&self, changesets: &[&[u8]], tables: &[crate::env::TableInfo]) -> EngineResult<()> {
        self.internal(|c| c.execute_batch("BEGIN"))?;
        self.apply_changes(changesets, tables)
    }

    /// Applies changes with triggers and foreign-key enforcement off (they are already in the changes).
    pub(crate) fn apply_changes(&self, changesets: &[&[u8]], tables: &[crate::env::TableInfo]) -> EngineResult<()> {
        crate::changes::apply_changesets(&self.conn, changesets, tables)
    }

    /// Whether the episode's state is intact: a pooled connection must still be inside the episode's transaction.
    pub fn in_episode_transaction(&self) -> bool {
        !self.initial_attached || !self.conn.is_autocommit()
    }

    /// Verification mode (writes refused, `initial` attachable) until the guard drops.
    pub(crate) fn verifying(&self) -> Verifying<'_> {
        self.auth.verifying.store(true, Ordering::Relaxed);
        Verifying(&self.auth)
    }

    /// The answer slot of the verification functions, registering them on first use.
    pub(crate) fn answer_slot(
        &self,
        register: fn(&Connection, &Arc<std::sync::Mutex<String>>) -> rusqlite::Result<()>,
    ) -> EngineResult<Arc<std::sync::Mutex<String>>> {
        if let Some(slot) = self.answer.get() {
            return Ok(slot.clone());
        }
        let slot = Arc::new(std::sync::Mutex::new(String::new()));
        register(&self.conn, &slot)?;
        let _ = self.answer.set(slot.clone());
        Ok(slot)
    }

    /// A copy of the current image (an SQLite database file).
    pub fn snapshot(&self) -> EngineResult<Vec<u8>> {
        let copy = self.copy()?;
        let image = image_of(&copy, "main")?;
        // SAFETY: `copy` is alive and not written while the image is copied.
        Ok(unsafe { image.as_slice() }.to_vec())
    }

    /// A plain connection (no authorizer or hooks) holding a copy of this database, via the backup API.
    pub(crate) fn copy(&self) -> EngineResult<Connection> {
        let mut conn = open_memory()?;
        rusqlite::backup::Backup::new(&self.conn, &mut conn)?.step(-1)?;
        Ok(conn)
    }

    /// A handle that can interrupt a running statement from another thread.
    pub fn interrupt_handle(&self) -> rusqlite::InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    /// Read access for tests and inspection (runs under the tool authorizer: reads only).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` on the connection with the statement deadline armed for `budget`: SQLite's progress handler stops
    /// any statement still running then (it fails with an interrupt), as it does for a tool's own statements.
    pub fn run_within<T>(&self, budget: Duration, f: impl FnOnce(&Connection) -> T) -> T {
        self.deadline.set(budget);
        let out = f(&self.conn);
        self.deadline.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::image_of;

    #[test]
    fn split_handles_strings_and_triggers() {
        let sql = "CREATE TABLE a(x); INSERT INTO a VALUES ('a;b');\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\nEND;\n-- trailing";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[1].1, "INSERT INTO a VALUES ('a;b');");
        assert_eq!(parts[2].0, 1);
        assert!(parts[2].1.ends_with("END;"));
    }

    #[test]
    fn fork_is_isolated_and_branch_independent() {
        let conn = open_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,'a');").unwrap();
        let image = image_of(&conn, "main").unwrap();
        let template = Template::from_image(unsafe { image.as_slice() }.to_vec());
        let a = template.fork().unwrap();
        let b = template.fork().unwrap();
        a.conn.execute("UPDATE t SET v = 'changed' WHERE id = 1", []).unwrap();
        let read = |db: &EpisodeDb| -> String { db.conn.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap() };
        assert_eq!(read(&a), "changed");
        assert_eq!(read(&b), "a");
        let c = a.branch().unwrap();
        a.conn.execute("UPDATE t SET v = 'later' WHERE id = 1", []).unwrap();
        assert_eq!(read(&c), "changed");
        assert_eq!(read(&a), "later");
        assert_eq!(read(&template.fork().unwrap()), "a");
    }

    /// An episode database forked from a template holding one table `t(id)`.
    fn episode_db_with_table_t() -> EpisodeDb {
        let conn = open_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY)").unwrap();
        let image = image_of(&conn, "main").unwrap();
        Template::from_image(unsafe { image.as_slice() }.to_vec()).fork().unwrap()
    }

    #[test]
    fn run_within_stops_a_runaway_statement_at_its_budget_and_disarms_after() {
        let db = episode_db_with_table_t();
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
        // a safety net so that a broken run_within fails this test instead of hanging it
        let handle = db.interrupt_handle();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let net = std::thread::spawn(move || {
            if stop_rx.recv_timeout(Duration::from_secs(5)).is_err() {
                handle.interrupt();
            }
        });
        let started = std::time::Instant::now();
        let r = db.run_within(Duration::from_millis(50), |c| c.query_row(forever, [], |r| r.get::<_, i64>(0)));
        let took = started.elapsed();
        let _ = stop_tx.send(());
        net.join().unwrap();
        assert!(r.is_err(), "a statement that never ends must be stopped, got {r:?}");
        assert!(took >= Duration::from_millis(50) && took < Duration::from_secs(2), "stopped after {took:?}");
        // the deadline is cleared afterwards: a statement outside run_within is not cut short by it
        std::thread::sleep(Duration::from_millis(60));
        let n: i64 = db
            .connection()
            .query_row("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 200_000);
    }

    #[test]
    fn authorizer_refuses_escapes() {
        let db = episode_db_with_table_t();
        for sql in [
            "ATTACH 'x.db' AS x",
            "PRAGMA foreign_keys = OFF",
            "CREATE TABLE u(x)",
            "DROP TABLE t",
            "BEGIN",
            "SELECT random()",
            "SELECT load_extension('x')",
        ] {
            let err = db.conn.prepare(sql).err().unwrap_or_else(|| panic!("{sql} was allowed"));
            assert!(err.to_string().contains("not authorized"), "{sql}: {err}");
        }
        assert!(db.conn.prepare("SELECT * FROM t").is_ok());
    }
}
