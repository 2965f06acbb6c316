//! The record: a DuckDB file holding environments (spec and template image), episodes, steps, row-level changes
//! (decoded and as raw changesets, so any state can be rebuilt), verdicts and how every episode ended.
//!
//! Crash safety: [`Journal::record`] appends the records to a write-ahead log beside the DuckDB file (one `write`,
//! plus `fdatasync` with [`SyncMode::Disk`]) and returns; only then may a result be acknowledged. One writer
//! thread owns the DuckDB connection and appends what arrived within a linger (1 s by default: DuckDB's cost per
//! record halves in large transactions) in one transaction with DuckDB appenders (group commit), moving
//! `journal_state.wal_seq` in the same transaction; `flush` commits at once. Opening a journal
//! replays log frames DuckDB had not committed and marks every episode that never ended `interrupted`. A full
//! queue blocks producers: backpressure instead of unbounded memory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

mod duck;
pub mod record;
mod wal;

pub use record::{ChangeRow, EndedRow, EnvironmentRow, OpenedRow, Record, StepRow, TaskRow, VerdictRow, step_status};
pub use wal::SyncMode;

use crate::env::Environment;
use crate::episode::{Episode, Step};
use crate::error::{EngineError, EngineResult};
use wal::Wal;

/// Most records in one DuckDB transaction.
const MAX_BATCH: usize = 50_000;

/// How long the writer sleeps at a time while a linger gathers records (it empties the queue in between).
const LINGER_SLICE: Duration = Duration::from_millis(20);

/// How a journal writes.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub sync: SyncMode,
    /// How long the DuckDB writer gathers records before committing them in one transaction (the record in
    /// DuckDB lags by up to this much; the write-ahead log does not).
    pub linger: Duration,
    /// Batches queued for DuckDB before producers block.
    pub queue: usize,
    /// DuckDB's memory limit (its buffer pool otherwise grows with the record, up to most of the machine).
    pub memory_limit_mb: u64,
    /// Nice value of the DuckDB writer thread (Linux; 0 leaves it as is). The record in DuckDB is background
    /// work (the write-ahead log already made every record durable), so it should take the CPU that serving
    /// leaves idle rather than stall calls: each group commit is ~0.1-0.25 s of one core.
    pub writer_nice: i32,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            sync: SyncMode::Process,
            // Measured (BENCHMARKS.md, actor runtime): at 20 ms the DuckDB writer took ~19% of the CPU under load,
            // at 1 s ~9%. Durability does not wait for it (the write-ahead log is written before any reply), and
            // `flush` and shutdown commit at once.
            linger: Duration::from_millis(1000),
            queue: 16_384,
            memory_limit_mb: 1024,
            // Measured (BENCHMARKS.md, service): http-1000@15k p99 5.1-10.2 ms at nice 19 against 8.2-82 ms at 0,
            // in alternating runs; a full queue still blocks producers, so the record never falls behind unbounded.
            writer_nice: 19,
        }
    }
}

/// What opening a journal found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Write-ahead-log frames (and the records in them) that DuckDB had not committed, now appended.
    pub replayed_frames: usize,
    pub replayed_records: usize,
    /// Bytes of a frame cut short by a crash, dropped (never acknowledged).
    pub torn_bytes: u64,
    /// Episodes left open by a process that stopped, now ended as `interrupted`.
    pub interrupted: usize,
}

enum Msg {
    Records(u64, Vec<Record>),
    Flush(SyncSender<Result<(), String>>),
}

/// Handle to the record. Cheap to clone; the writer thread stops when the last handle is dropped (after
/// writing everything queued).
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    wal: Arc<Wal>,
    tx: Option<SyncSender<Msg>>,
    worker: Option<JoinHandle<()>>,
    path: PathBuf,
    written: Arc<AtomicU64>,
    /// Batches sent to the writer and not yet taken off its queue, against the queue's capacity.
    queued: Arc<AtomicUsize>,
    capacity: usize,
    sync: SyncMode,
    failed: Arc<Mutex<Option<String>>>,
    recovery: Recovery,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The write-ahead log folder of the journal at `path` (`<file>.log/`; DuckDB's own `<file>.wal` is beside it).
pub fn wal_dir(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".log");
    path.with_file_name(name)
}

impl Journal {
    /// Opens (or creates) the record at `path` with default options, recovering what a crashed process left.
    pub fn open(path: &Path) -> EngineResult<Journal> {
        Journal::open_with(path, JournalOptions::default())
    }

    pub fn open_with(path: &Path, options: JournalOptions) -> EngineResult<Journal> {
        let config = duckdb::Config::default()
            .threads(1)?
            .with("async_threads", "0")?
            .max_memory(&format!("{}MB", options.memory_limit_mb.max(16)))?;
        let conn = duckdb::Connection::open_with_flags(path, config)?;
        conn.execute_batch(duck::SCHEMA)?;
        let dir = wal_dir(path);
        let recovered = Wal::recover(&dir)?;
        let applied = duck::applied_seq(&conn).map_err(EngineError::Journal)?;
        let mut recovery = Recovery { torn_bytes: recovered.torn_bytes, ..Recovery::default() };
        let mut chunk = Vec::new();
        let mut last = applied;
        for (seq, records) in recovered.frames.into_iter().filter(|(seq, _)| *seq > applied) {
            recovery.replayed_frames += 1;
            recovery.replayed_records += records.len();
            chunk.extend(records);
            last = seq;
            if chunk.len() >= MAX_BATCH {
                duck::write_batch(&conn, std::mem::take(&mut chunk), last).map_err(EngineError::Journal)?;
            }
        }
        if !chunk.is_empty() {
            duck::write_batch(&conn, chunk, last).map_err(EngineError::Journal)?;
        }
        recovery.interrupted = duck::mark_interrupted(&conn, "the process stopped before the episode ended")
            .map_err(EngineError::Journal)?;
        conn.execute_batch("CHECKPOINT")?;
        let wal = Arc::new(Wal::create(&dir, recovered.next_seq.max(last + 1), options.sync)?);

        let capacity = options.queue.max(1);
        let (tx, rx) = sync_channel::<Msg>(capacity);
        let written = Arc::new(AtomicU64::new(0));
        let queued = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(Mutex::new(None));
        let writer = Writer {
            conn,
            rx,
            wal: wal.clone(),
            written: written.clone(),
            queued: queued.clone(),
            failed: failed.clone(),
        };
        let (linger, nice) = (options.linger, options.writer_nice);
        let worker = std::thread::Builder::new().name("agentworld-journal".into()).spawn(move || {
            lower_priority(nice);
            writer.run(linger)
        })?;
        Ok(Journal {
            inner: Arc::new(Inner {
                wal,
                tx: Some(tx),
                worker: Some(worker),
                path: path.to_path_buf(),
                written,
                queued,
                capacity,
                sync: options.sync,
                failed,
                recovery,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What opening this journal recovered.
    pub fn recovery(&self) -> &Recovery {
        &self.inner.recovery
    }

    /// Records committed to DuckDB so far by this handle's writer.
    pub fn written(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// Makes `records` durable (see [`SyncMode`]) and queues them for DuckDB; returns their log sequence
    /// number. Blocks while the DuckDB writer is a full queue behind. Once a DuckDB write has failed every
    /// call fails: the log keeps everything for the next open, nothing is skipped.
    pub fn record(&self, records: Vec<Record>) -> EngineResult<u64> {
        if let Some(e) = self.inner.failed.lock().ok().and_then(|f| f.clone()) {
            return Err(EngineError::Journal(e));
        }
        let tx = self.inner.tx.as_ref().ok_or_else(|| EngineError::Journal("journal closed".into()))?;
        self.inner.wal.append(records, |seq, records| {
            self.inner.queued.fetch_add(1, Ordering::Relaxed);
            tx.send(Msg::Records(seq, records)).map_err(|_| EngineError::Journal("journal writer stopped".into()))?;
            Ok(seq)
        })?
    }

    /// Whether [`Journal::record`] returns within microseconds now: the log is not synced to disk on every
    /// append, and the DuckDB writer's queue is less than half full (a full one blocks producers). A caller
    /// on a thread that must not block (an async executor) records there only when this holds.
    pub fn records_quickly(&self) -> bool {
        self.inner.sync == SyncMode::Process && self.inner.queued.load(Ordering::Relaxed) < self.inner.capacity / 2
    }

    /// Waits until everything recorded before this call is committed to DuckDB.
    pub fn flush(&self) -> EngineResult<()> {
        let (tx, rx) = sync_channel(1);
        let sender = self.inner.tx.as_ref().ok_or_else(|| EngineError::Journal("journal closed".into()))?;
        sender.send(Msg::Flush(tx)).map_err(|_| EngineError::Journal("journal writer stopped".into()))?;
        rx.recv().map_err(|_| EngineError::Journal("journal writer stopped".into()))?.map_err(EngineError::Journal)
    }

    pub fn record_environment(&self, env: &Environment) -> EngineResult<()> {
        self.record(vec![Record::environment(env)?]).map(drop)
    }

    /// Records a whole episode: its opening, every step, its verdict if finished, and its end.
    pub fn record_episode(&self, ep: &Episode, group: Option<u64>) -> EngineResult<()> {
        let mut recs = vec![Record::opened(ep, group)];
        for s in ep.steps() {
            recs.push(Record::step(ep.id(), ep.env(), s)?);
        }
        match (ep.verdict(), ep.answer(), ep.failure()) {
            (_, _, Some(cause)) => {
                recs.push(Record::ended(ep.id(), "infra_error", Some(cause.to_string()), ep.steps().len()))
            }
            (Some(v), Some(a), None) => {
                recs.push(Record::verdict(ep.id(), v, a));
                recs.push(Record::ended(ep.id(), "finished", None, ep.steps().len()));
            }
            _ => recs.push(Record::ended(ep.id(), "closed", None, ep.steps().len())),
        }
        self.record(recs).map(drop)
    }

    pub fn record_opened(&self, ep: &Episode, group: Option<u64>) -> EngineResult<()> {
        self.record(vec![Record::opened(ep, group)]).map(drop)
    }

    pub fn record_step(&self, ep: &Episode, step: &Step) -> EngineResult<()> {
        self.record(vec![Record::step(ep.id(), ep.env(), step)?]).map(drop)
    }

    /// Records a finished episode's verdict and its end (`finished`).
    pub fn record_verdict(&self, ep: &Episode) -> EngineResult<()> {
        match (ep.verdict(), ep.answer()) {
            (Some(v), Some(a)) => self
                .record(vec![
                    Record::verdict(ep.id(), v, a),
                    Record::ended(ep.id(), "finished", None, ep.steps().len()),
                ])
                .map(drop),
            _ => Ok(()),
        }
    }
}

/// Sets the calling thread's nice value (on Linux `setpriority` with a thread id applies to that thread only).
/// Raising it needs no privilege; if it fails anyway the writer runs at normal priority, which is only slower.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice != 0 {
        // SAFETY: plain system calls on the calling thread's own id; no memory is passed.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

struct Writer {
    conn: duckdb::Connection,
    rx: Receiver<Msg>,
    wal: Arc<Wal>,
    written: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
    failed: Arc<Mutex<Option<String>>>,
}

impl Writer {
    fn run(self, linger: Duration) {
        let mut pending: Vec<Record> = Vec::new();
        let mut waiters: Vec<SyncSender<Result<(), String>>> = Vec::new();
        let mut through = 0;
        let mut open = true;
        while open {
            // Block for the first message, then gather for the linger: one commit carries many records. The
            // writer sleeps in slices rather than waking per message, empties the queue after each slice (so the
            // bounded queue does not fill and block producers) and appends what it took to the open transaction
            // at once (so the DuckDB work is spread over the linger, not done in one burst at its end).
            match self.rx.recv() {
                Ok(Msg::Records(seq, r)) => self.took(seq, r, &mut pending, &mut through),
                Ok(Msg::Flush(w)) => waiters.push(w),
                Err(_) => open = false,
            }
            let started = std::time::Instant::now();
            let mut txn: Option<Result<duck::Txn<'_>, String>> = None;
            loop {
                if !pending.is_empty() {
                    self.append(&mut txn, std::mem::take(&mut pending));
                }
                let appended = txn.as_ref().map_or(0, |t| t.as_ref().map_or(MAX_BATCH, |t| t.records()));
                let lingered = started.elapsed() >= linger;
                if !open || !waiters.is_empty() || appended == 0 || lingered || appended >= MAX_BATCH {
                    break;
                }
                std::thread::sleep(linger.saturating_sub(started.elapsed()).min(LINGER_SLICE));
                open &= self.drain(&mut pending, &mut waiters, &mut through);
            }
            // Every break follows an append, so nothing drained is left out of the commit.
            let result = self.commit(txn, through);
            for w in waiters.drain(..) {
                let _ = w.send(result.clone());
            }
        }
        let _ = self.conn.execute_batch("CHECKPOINT");
    }

    /// Appends `records` to the open transaction (beginning one if none is open). A failure is kept in `txn`
    /// and later records are dropped: they stay in the write-ahead log for the next open.
    fn append<'c>(&'c self, txn: &mut Option<Result<duck::Txn<'c>, String>>, records: Vec<Record>) {
        if txn.is_none() {
            *txn = Some(match self.failed.lock().ok().and_then(|f| f.clone()) {
                // After a failure nothing more is committed, so `journal_state` never skips the failed frames.
                Some(e) => Err(e),
                None => duck::Txn::begin(&self.conn),
            });
        }
        if let Some(Ok(t)) = txn
            && let Err(e) = t.append(records)
        {
            *txn = Some(Err(e));
        }
    }

    /// A batch taken off the queue: its records join `pending`, and the commit will cover the log through `seq`.
    fn took(&self, seq: u64, records: Vec<Record>, pending: &mut Vec<Record>, through: &mut u64) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
        *through = seq;
        pending.extend(records);
    }

    /// Takes everything queued (up to [`MAX_BATCH`] records); returns false once every producer is gone.
    fn drain(
        &self,
        batch: &mut Vec<Record>,
        waiters: &mut Vec<SyncSender<Result<(), String>>>,
        through: &mut u64,
    ) -> bool {
        while batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(Msg::Records(seq, r)) => self.took(seq, r, batch, through),
                Ok(Msg::Flush(w)) => waiters.push(w),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        true
    }

    /// Commits the transaction `append` filled (moving `journal_state` to `through`), or records its failure.
    fn commit(&self, txn: Option<Result<duck::Txn<'_>, String>>, through: u64) -> Result<(), String> {
        let done = match txn {
            None => return Ok(()),
            Some(Ok(t)) => {
                let n = t.records() as u64;
                t.commit(through).map(|()| n)
            }
            Some(Err(e)) => Err(e),
        };
        match done {
            Ok(n) => {
                self.written.fetch_add(n, Ordering::Relaxed);
                self.wal.release_through(through);
                Ok(())
            }
            Err(e) => {
                let e = match self.failed.lock() {
                    Ok(mut f) => f
                        .get_or_insert_with(|| {
                            format!("writing to DuckDB failed (kept in the write-ahead log for the next open): {e}")
                        })
                        .clone(),
                    Err(_) => e,
                };
                Err(e)
            }
        }
    }
}
