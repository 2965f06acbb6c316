//! The record: a DuckDB file holding environments (spec and template image), episodes, steps, row-level changes
//! (decoded and as raw changesets, so any state can be rebuilt), verdicts and how every episode ended.
//!
//! Crash safety: [`Journal::record`] appends the records to a write-ahead log beside the DuckDB file (one `write`,
//! plus `fdatasync` with [`SyncMode::Disk`]) and returns; only then may a result be acknowledged. One writer
//! thread owns the DuckDB connection and appends what arrived within a linger (1 s by default: DuckDB's cost per
//! record halves in large transactions) in one transaction with DuckDB appenders (group commit), moving
//! `journal_state.wal_seq` in the same transaction; `flush` commits at once. Opening a journal
//! replays log frames DuckDB had not committed and marks every episode that never ended `interrupted`.
//!
//! Producers never wait for DuckDB: records reach the writer through a bounded queue, and when the writer falls a
//! whole queue behind (a slow commit, a checkpoint, its thread starved of CPU) producers stop queueing and the
//! writer reads those frames back from the log once it has emptied the queue. Memory stays bounded by the queue;
//! the log on disk holds the backlog.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
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
use wal::{LogReader, Wal};

/// Most records in one DuckDB transaction.
const MAX_BATCH: usize = 50_000;

/// How long the writer sleeps at a time while a linger gathers records (it empties the queue in between).
const LINGER_SLICE: Duration = Duration::from_millis(20);

/// Default [`JournalOptions::checkpoint_threshold_mb`] (DuckDB's own default is 16 MB).
const CHECKPOINT_THRESHOLD_MB: u64 = 64;

/// How a journal writes.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub sync: SyncMode,
    /// How long the DuckDB writer gathers records before committing them in one transaction (the record in
    /// DuckDB lags by up to this much; the write-ahead log does not).
    pub linger: Duration,
    /// Batches queued for DuckDB; past that, producers leave their records in the write-ahead log and the writer
    /// reads them back from there.
    pub queue: usize,
    /// Log frames DuckDB may lag behind before [`Journal::record`] waits for it (backpressure: the log on disk
    /// holds the backlog, and a writer that never catches up must not fill the disk).
    pub max_backlog: u64,
    /// DuckDB's memory limit (its buffer pool otherwise grows with the record, up to most of the machine).
    pub memory_limit_mb: u64,
    /// Nice value of the DuckDB writer thread (Linux; 0 leaves it as is). The record in DuckDB is background
    /// work (the write-ahead log already made every record durable), so it should take the CPU that serving
    /// leaves idle rather than stall calls: each group commit is ~0.1-0.25 s of one core.
    pub writer_nice: i32,
    /// DuckDB's `checkpoint_threshold`: the size its own write-ahead log reaches before DuckDB checkpoints it into
    /// the database file. Each checkpoint recompresses the tables' last, partly filled row groups, so a small
    /// threshold redoes that work several times per row group (at DuckDB's default of 16 MB the writer took
    /// 15-25% more CPU per record than at 64 MB: `BENCHMARKS.md`, journal); a large one makes DuckDB replay more
    /// when it opens after a crash (0.8 s at 64 MB).
    pub checkpoint_threshold_mb: u64,
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
            // About 70 s of calls at 15,000 calls/s, a few hundred MB of log.
            max_backlog: 1 << 20,
            memory_limit_mb: 1024,
            // Measured (BENCHMARKS.md, service): http-1000@15k p99 5.1-10.2 ms at nice 19 against 8.2-82 ms at 0,
            // in alternating runs; `max_backlog` still holds producers back, so the record never falls behind
            // unbounded.
            writer_nice: 19,
            checkpoint_threshold_mb: CHECKPOINT_THRESHOLD_MB,
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
    /// The first frame not queued while the writer is a whole queue behind; 0 when it is not ([`Overflow`]).
    overflow_from: Arc<AtomicU64>,
    /// Frames the writer has read back from the log after an overflow.
    read_back: Arc<AtomicU64>,
    /// The last frame appended to the log, and the last one DuckDB has committed.
    appended: AtomicU64,
    committed: Arc<AtomicU64>,
    max_backlog: u64,
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
            .max_memory(&format!("{}MB", options.memory_limit_mb.max(16)))?
            .with("checkpoint_threshold", format!("{}MB", options.checkpoint_threshold_mb.max(1)))?;
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
        // Every frame before the log's first is in DuckDB now.
        let first_seq = recovered.next_seq.max(last + 1);
        let wal = Arc::new(Wal::create(&dir, first_seq, options.sync)?);

        let capacity = options.queue.max(1);
        let (tx, rx) = sync_channel::<Msg>(capacity);
        let written = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(Mutex::new(None));
        let (overflow_from, read_back) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let overflow = Overflow {
            from: overflow_from.clone(),
            reader: LogReader::new(&dir, 0),
            wal: wal.clone(),
            read_back: read_back.clone(),
        };
        let committed = Arc::new(AtomicU64::new(first_seq - 1));
        let writer = Writer {
            conn,
            rx,
            wal: wal.clone(),
            written: written.clone(),
            committed: committed.clone(),
            failed: failed.clone(),
        };
        let (linger, nice) = (options.linger, options.writer_nice);
        let worker = std::thread::Builder::new().name("agentworld-journal".into()).spawn(move || {
            lower_priority(nice);
            writer.run(linger, overflow)
        })?;
        Ok(Journal {
            inner: Arc::new(Inner {
                wal,
                tx: Some(tx),
                worker: Some(worker),
                path: path.to_path_buf(),
                written,
                overflow_from,
                read_back,
                appended: AtomicU64::new(committed.load(Ordering::Relaxed)),
                committed,
                max_backlog: options.max_backlog.max(1),
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
    /// number. While the writer is a full queue behind, the records stay in the log only and the writer reads
    /// them back from there; only a writer [`JournalOptions::max_backlog`] frames behind makes this wait. Once a
    /// DuckDB write has failed every call fails: the log keeps everything for the next open, nothing is skipped.
    pub fn record(&self, records: Vec<Record>) -> EngineResult<u64> {
        loop {
            if let Some(e) = self.inner.failed.lock().ok().and_then(|f| f.clone()) {
                return Err(EngineError::Journal(e));
            }
            if self.backlog() < self.inner.max_backlog {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let tx = self.inner.tx.as_ref().ok_or_else(|| EngineError::Journal("journal closed".into()))?;
        let overflow = &self.inner.overflow_from;
        // Under the log's lock, in sequence order (see `Overflow`).
        self.inner.wal.append(records, |seq, records| {
            self.inner.appended.store(seq, Ordering::Relaxed);
            if overflow.load(Ordering::Acquire) != 0 {
                return Ok(seq); // the writer reads it back from the log, after the frames before it
            }
            match tx.try_send(Msg::Records(seq, records)) {
                Ok(()) => Ok(seq),
                Err(TrySendError::Full(_)) => {
                    overflow.store(seq, Ordering::Release);
                    Ok(seq)
                }
                Err(TrySendError::Disconnected(_)) => Err(EngineError::Journal("journal writer stopped".into())),
            }
        })?
    }

    /// Whether [`Journal::record`] returns within microseconds now: the log is not synced to disk on every
    /// append, and DuckDB lags less than half of [`JournalOptions::max_backlog`] behind (past all of it, recording
    /// waits). A caller on a thread that must not block (an async executor) records there only when this holds.
    pub fn records_quickly(&self) -> bool {
        self.inner.sync == SyncMode::Process && self.backlog() < self.inner.max_backlog / 2
    }

    /// Log frames not yet committed to DuckDB.
    pub fn backlog(&self) -> u64 {
        let appended = self.inner.appended.load(Ordering::Relaxed);
        appended.saturating_sub(self.inner.committed.load(Ordering::Relaxed))
    }

    /// Log frames the DuckDB writer has read back from the write-ahead log because they overflowed its queue
    /// (it had fallen a whole queue behind).
    pub fn frames_read_back(&self) -> u64 {
        self.inner.read_back.load(Ordering::Relaxed)
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
    /// The last log frame committed (for [`Journal::backlog`]).
    committed: Arc<AtomicU64>,
    failed: Arc<Mutex<Option<String>>>,
}

/// What [`Writer::drain`] saw.
struct Drained {
    /// Some producer is left.
    open: bool,
    /// The queue was empty at the end (not stopped by the batch limit).
    emptied: bool,
}

impl Writer {
    fn run(self, linger: Duration, mut overflow: Overflow) {
        let mut pending: Vec<Record> = Vec::new();
        let mut waiters: Vec<SyncSender<Result<(), String>>> = Vec::new();
        let mut through = 0;
        let mut open = true;
        while open {
            // Block for the first message, then gather for the linger: one commit carries many records. The
            // writer sleeps in slices rather than waking per message, empties the queue after each slice and
            // appends what it took to the open transaction at once (so the DuckDB work is spread over the linger,
            // not done in one burst at its end). After an overflow it reads the log instead of waiting.
            let mut emptied = false;
            if overflow.active() && !self.has_failed() {
                let d = self.drain(&mut pending, &mut waiters, &mut through);
                (open, emptied) = (d.open, d.emptied);
            } else {
                match self.rx.recv() {
                    Ok(Msg::Records(seq, r)) => took(seq, r, &mut pending, &mut through),
                    Ok(Msg::Flush(w)) => waiters.push(w),
                    Err(_) => open = false,
                }
            }
            let started = std::time::Instant::now();
            let mut txn: Option<Result<duck::Txn<'_>, String>> = None;
            loop {
                let appended = txn.as_ref().map_or(0, |t| t.as_ref().map_or(MAX_BATCH, |t| t.records()));
                // Frames that overflowed the queue come after everything queued before them: read them back
                // only once the queue is empty.
                if emptied && overflow.active() && !self.has_failed() {
                    let room = MAX_BATCH.saturating_sub(appended + pending.len());
                    if let Err(e) = overflow.read(&mut pending, &mut through, room) {
                        self.fail(e);
                    }
                }
                if !pending.is_empty() {
                    self.append(&mut txn, std::mem::take(&mut pending));
                }
                let appended = txn.as_ref().map_or(0, |t| t.as_ref().map_or(MAX_BATCH, |t| t.records()));
                let lingered = started.elapsed() >= linger;
                if !open || !waiters.is_empty() || appended == 0 || lingered || appended >= MAX_BATCH {
                    break;
                }
                std::thread::sleep(linger.saturating_sub(started.elapsed()).min(LINGER_SLICE));
                let d = self.drain(&mut pending, &mut waiters, &mut through);
                (open, emptied) = (open && d.open, d.emptied);
            }
            // A flush, or the end: everything written to the log so far goes into this commit.
            while (!waiters.is_empty() || !open) && overflow.active() && !self.has_failed() {
                let d = self.drain(&mut pending, &mut waiters, &mut through);
                open &= d.open;
                if d.emptied
                    && let Err(e) = overflow.read(&mut pending, &mut through, MAX_BATCH)
                {
                    self.fail(e);
                }
                self.append(&mut txn, std::mem::take(&mut pending));
            }
            // Every break follows an append, so nothing drained is left out of the commit.
            let result = self.commit(txn, through);
            for w in waiters.drain(..) {
                let _ = w.send(result.clone());
            }
        }
        let _ = self.conn.execute_batch("CHECKPOINT");
    }

    fn has_failed(&self) -> bool {
        self.failed.lock().map_or(true, |f| f.is_some())
    }

    /// Records a failure (the first one is kept): every later `record` fails, and nothing more is committed, so
    /// the log keeps everything from the failed frames on for the next open. Returns the failure kept.
    fn fail(&self, e: String) -> String {
        match self.failed.lock() {
            Ok(mut f) => f
                .get_or_insert_with(|| {
                    format!("writing to DuckDB failed (kept in the write-ahead log for the next open): {e}")
                })
                .clone(),
            Err(_) => e,
        }
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

    /// Takes everything queued (up to [`MAX_BATCH`] records).
    fn drain(
        &self,
        batch: &mut Vec<Record>,
        waiters: &mut Vec<SyncSender<Result<(), String>>>,
        through: &mut u64,
    ) -> Drained {
        while batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(Msg::Records(seq, r)) => took(seq, r, batch, through),
                Ok(Msg::Flush(w)) => waiters.push(w),
                Err(TryRecvError::Empty) => return Drained { open: true, emptied: true },
                Err(TryRecvError::Disconnected) => return Drained { open: false, emptied: true },
            }
        }
        Drained { open: true, emptied: false }
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
                self.committed.fetch_max(through, Ordering::Relaxed);
                self.wal.release_through(through);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// A batch taken off the queue or read back from the log: its records join `pending`, and the commit will cover
/// the log through `seq`.
fn took(seq: u64, records: Vec<Record>, pending: &mut Vec<Record>, through: &mut u64) {
    *through = seq;
    pending.extend(records);
}

/// Frames producers wrote to the log but could not queue, because the queue was full (the DuckDB writer had
/// fallen behind): the writer reads them back from the log, in order, once it has emptied the queue. Producers
/// never wait for DuckDB, and memory stays bounded by the queue; the log holds the rest.
struct Overflow {
    /// The first frame not queued; 0 while producers queue. Set by a producer and cleared by the writer, both
    /// under the log's lock, so every frame is either queued or read back, never both or neither.
    from: Arc<AtomicU64>,
    reader: LogReader,
    wal: Arc<Wal>,
    /// Frames read back so far.
    read_back: Arc<AtomicU64>,
}

impl Overflow {
    fn active(&self) -> bool {
        self.from.load(Ordering::Acquire) != 0
    }

    /// Reads overflowed frames into `pending`, up to `budget` records (at least one frame), and ends the overflow
    /// once it has read everything in the log. Call it with the queue emptied: queued frames come first.
    fn read(&mut self, pending: &mut Vec<Record>, through: &mut u64, budget: usize) -> Result<(), String> {
        let from = self.from.load(Ordering::Acquire);
        if from == 0 {
            return Ok(());
        }
        if self.reader.next_seq() < from {
            self.reader.seek(from);
        }
        let mut budget = budget.max(1);
        // Producers go on appending while it reads: it tries to end the overflow between two appends a few
        // times, holding their lock only to compare sequence numbers...
        for _ in 0..8 {
            let frames = self.reader.read(budget).map_err(|e| e.to_string())?;
            let n = self.take(frames, pending, through);
            if n >= budget {
                return Ok(()); // more after this commit
            }
            budget -= n;
            let (next, from) = (self.reader.next_seq(), &self.from);
            let caught_up = self
                .wal
                .locked(|log_next| {
                    let done = log_next == next;
                    if done {
                        from.store(0, Ordering::Release);
                    }
                    done
                })
                .map_err(|e| e.to_string())?;
            if caught_up {
                return Ok(());
            }
        }
        // ... and otherwise reads the last few frames with appends held off.
        let (reader, from) = (&mut self.reader, &self.from);
        let frames = self
            .wal
            .locked(|log_next| -> Result<Vec<(u64, Vec<Record>)>, String> {
                let mut frames = Vec::new();
                while reader.next_seq() < log_next {
                    let got = reader.read(usize::MAX).map_err(|e| e.to_string())?;
                    if got.is_empty() {
                        return Err(format!("frame {} was written to the log but cannot be read", reader.next_seq()));
                    }
                    frames.extend(got);
                }
                from.store(0, Ordering::Release);
                Ok(frames)
            })
            .map_err(|e| e.to_string())??;
        self.take(frames, pending, through);
        Ok(())
    }

    /// Returns the number of records taken.
    fn take(&self, frames: Vec<(u64, Vec<Record>)>, pending: &mut Vec<Record>, through: &mut u64) -> usize {
        self.read_back.fetch_add(frames.len() as u64, Ordering::Relaxed);
        let mut n = 0;
        for (seq, records) in frames {
            n += records.len();
            took(seq, records, pending, through);
        }
        n
    }
}
