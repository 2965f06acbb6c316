//! The journal's write-ahead log: acknowledged records are appended here (one `write` per batch) before anything
//! is returned to a client, and DuckDB catches up asynchronously. After `kill -9` the log holds everything that
//! was acknowledged; [`Wal::recover`] reads it back so the next open appends what DuckDB had not yet committed.
//!
//! Layout: a folder of segment files named by their first sequence number. A frame is
//! `len: u32 | checksum(seq ++ payload): u32 | seq: u64 | payload`. The payload is [`BINARY_V1`] followed by the
//! `postcard` encoding of a `Vec<Record>`, checksummed with CRC-32. Logs written before that format hold the JSON
//! of the `Vec<Record>` (it starts with `[`), checksummed with FNV-1a folded to 32 bits; recovery reads both. A
//! torn frame (a crash in the middle of a write) ends the readable log.
//!
//! Why binary: the payload carries tool arguments and results as JSON text, which JSON would escape again;
//! encoding a step record as JSON cost more than running a cheap tool call (`BENCHMARKS.md`, actor runtime).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::record::Record;
use crate::error::{EngineError, EngineResult};

/// A segment is closed and a new one started past this size.
const SEGMENT_BYTES: u64 = 64 << 20;
const HEADER: usize = 16;

/// When the log is forced to stable storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Written to the operating system before acknowledging: survives the process being killed (`kill -9`, a
    /// crash, an OOM kill), not a power loss or kernel crash. The default.
    #[default]
    Process,
    /// `fdatasync` before acknowledging: survives power loss too, at the cost of a disk flush per batch.
    Disk,
}

pub(crate) struct Wal {
    dir: PathBuf,
    sync: SyncMode,
    /// [`SEGMENT_BYTES`] (smaller in tests, to rotate often).
    segment_bytes: u64,
    state: Mutex<State>,
    /// Closed segments and the last sequence number each holds (its own lock: the journal writer releases
    /// segments while producers may be holding `state`).
    closed: Mutex<Vec<(PathBuf, u64)>>,
}

struct State {
    file: File,
    path: PathBuf,
    /// Bytes in the current segment.
    bytes: u64,
    next_seq: u64,
    buf: Vec<u8>,
}

/// What [`Wal::recover`] found.
pub(crate) struct Recovered {
    pub frames: Vec<(u64, Vec<Record>)>,
    pub next_seq: u64,
    /// Bytes after the last whole frame (a write cut short by the crash), dropped.
    pub torn_bytes: u64,
}

/// First payload byte of a binary (postcard) frame; a JSON frame starts with `[`.
const BINARY_V1: u8 = 0xB1;

/// Detects torn or damaged frames (not tampering). `bytes` is `seq ++ payload`; the payload's first byte says
/// which checksum its frame was written with.
fn checksum(bytes: &[u8]) -> u32 {
    if bytes.get(8) == Some(&BINARY_V1) {
        crc32fast::hash(bytes)
    } else {
        let h = crate::changes::fnv1a(bytes);
        (h ^ (h >> 32)) as u32
    }
}

/// A frame's header: the payload's length, the checksum of `seq ++ payload`, and the sequence number.
fn header(bytes: &[u8]) -> (usize, u32, u64) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let seq = u64::from_le_bytes(bytes[8..HEADER].try_into().unwrap_or_default());
    (u32_at(0) as usize, u32_at(4), seq)
}

/// Decodes a frame's payload in either format; the error names the segment and the frame.
fn decode_frame(path: &Path, seq: u64, payload: &[u8]) -> EngineResult<Vec<Record>> {
    decode(payload).map_err(|e| EngineError::Journal(format!("{}: frame {seq} does not decode: {e}", path.display())))
}

/// Decodes a frame's payload in either format.
fn decode(payload: &[u8]) -> Result<Vec<Record>, String> {
    match payload.split_first() {
        Some((&BINARY_V1, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        _ => serde_json::from_slice(payload).map_err(|e| e.to_string()),
    }
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.wal"))
}

fn segments(dir: &Path) -> EngineResult<Vec<PathBuf>> {
    let mut found = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wal") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

impl Wal {
    /// Reads every whole frame left in `dir`, in order.
    pub(crate) fn recover(dir: &Path) -> EngineResult<Recovered> {
        let mut frames = Vec::new();
        let mut next_seq = 1;
        let mut torn_bytes = 0;
        for path in segments(dir)? {
            let mut data = Vec::new();
            File::open(&path)?.read_to_end(&mut data)?;
            let mut at = 0;
            while at + HEADER <= data.len() {
                let (len, crc, seq) = header(&data[at..at + HEADER]);
                let end = at + HEADER + len;
                if end > data.len() || checksum(&data[at + 8..end]) != crc {
                    break;
                }
                frames.push((seq, decode_frame(&path, seq, &data[at + HEADER..end])?));
                next_seq = next_seq.max(seq + 1);
                at = end;
            }
            torn_bytes += (data.len() - at) as u64;
        }
        Ok(Recovered { frames, next_seq, torn_bytes })
    }

    /// Starts a fresh log in `dir` (removing old segments: their content must already be in DuckDB).
    pub(crate) fn create(dir: &Path, next_seq: u64, sync: SyncMode) -> EngineResult<Wal> {
        std::fs::create_dir_all(dir)?;
        for old in segments(dir)? {
            std::fs::remove_file(old)?;
        }
        let path = segment_path(dir, next_seq);
        let file = open_segment(&path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Wal {
            dir: dir.to_path_buf(),
            sync,
            segment_bytes: SEGMENT_BYTES,
            state: Mutex::new(State { file, path, bytes: 0, next_seq, buf: Vec::new() }),
            closed: Mutex::new(Vec::new()),
        })
    }

    /// Appends `records` as one frame and, still in log order, hands them to `then` with their sequence number.
    /// Returns once the frame is written (and synced, with [`SyncMode::Disk`]).
    pub(crate) fn append<T>(&self, records: Vec<Record>, then: impl FnOnce(u64, Vec<Record>) -> T) -> EngineResult<T> {
        let mut st = self.state.lock().map_err(|_| EngineError::Journal("write-ahead log lock poisoned".into()))?;
        let seq = st.next_seq;
        let st = &mut *st;
        st.buf.clear();
        st.buf.extend_from_slice(&[0; HEADER]);
        st.buf.push(BINARY_V1);
        let buf = std::mem::take(&mut st.buf);
        st.buf =
            postcard::to_extend(&records, buf).map_err(|e| EngineError::Journal(format!("encoding a record: {e}")))?;
        let len = (st.buf.len() - HEADER) as u32;
        st.buf[0..4].copy_from_slice(&len.to_le_bytes());
        st.buf[8..16].copy_from_slice(&seq.to_le_bytes());
        let crc = checksum(&st.buf[8..]);
        st.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        st.file.write_all(&st.buf)?;
        if self.sync == SyncMode::Disk {
            st.file.sync_data()?;
        }
        st.bytes += st.buf.len() as u64;
        st.next_seq += 1;
        if st.bytes >= self.segment_bytes {
            let next = segment_path(&self.dir, st.next_seq);
            st.file = open_segment(&next)?;
            st.bytes = 0;
            let closed = std::mem::replace(&mut st.path, next);
            if let Ok(mut c) = self.closed.lock() {
                c.push((closed, seq));
            }
        }
        if st.buf.capacity() > 1 << 20 {
            st.buf = Vec::new();
        }
        Ok(then(seq, records))
    }

    /// Runs `f` with appends held off, passing the sequence number the next frame will get: every frame before
    /// it is whole in the log.
    pub(crate) fn locked<T>(&self, f: impl FnOnce(u64) -> T) -> EngineResult<T> {
        let st = self.state.lock().map_err(|_| EngineError::Journal("write-ahead log lock poisoned".into()))?;
        Ok(f(st.next_seq))
    }

    /// Drops closed segments whose every frame DuckDB has committed. The files are removed after the lock is
    /// released: unlinking a 64 MB segment took 15.7 ms on ext4, and a producer rotating a segment waits for this
    /// lock while holding the log's.
    pub(crate) fn release_through(&self, seq: u64) {
        let done: Vec<PathBuf> = match self.closed.lock() {
            Ok(mut closed) => {
                let (done, kept): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut *closed).into_iter().partition(|(_, last)| *last <= seq);
                *closed = kept;
                done.into_iter().map(|(path, _)| path).collect()
            }
            Err(_) => return,
        };
        for path in done {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reads the log back in order from a given sequence number on, while producers go on appending: the journal's
/// DuckDB writer catches up from here when its queue overflowed (every frame is in the log; the queue only saves
/// reading it back).
pub(crate) struct LogReader {
    dir: PathBuf,
    /// The segment being read.
    segment: Option<Segment>,
    /// The sequence number of the next frame to return.
    next: u64,
}

struct Segment {
    path: PathBuf,
    file: BufReader<File>,
    /// Offset of the next frame.
    at: u64,
    /// Where `file` stands (`None` after a short read: seek before reading again).
    pos: Option<u64>,
}

impl Segment {
    fn open(path: &Path) -> EngineResult<Segment> {
        let file = BufReader::with_capacity(READ_BUFFER, File::open(path)?);
        Ok(Segment { path: path.to_path_buf(), file, at: 0, pos: Some(0) })
    }

    /// The frame at `at`, not moving past it. A short frame, or one whose checksum does not match yet, is
    /// [`Frame::End`]: while producers append, the last frame may be only partly visible.
    fn frame(&mut self) -> EngineResult<Frame> {
        if self.pos != Some(self.at) {
            self.file.seek(SeekFrom::Start(self.at))?;
        }
        self.pos = None;
        let mut frame = vec![0u8; HEADER];
        if !read_all(&mut self.file, &mut frame)? {
            return Ok(Frame::End);
        }
        let (len, crc, seq) = header(&frame);
        frame.resize(HEADER + len, 0);
        if !read_all(&mut self.file, &mut frame[HEADER..])? || checksum(&frame[8..]) != crc {
            return Ok(Frame::End);
        }
        self.pos = Some(self.at + frame.len() as u64);
        Ok(Frame::Whole { seq, records: decode_frame(&self.path, seq, &frame[HEADER..])? })
    }
}

/// What [`Segment::frame`] found.
enum Frame {
    Whole {
        seq: u64,
        records: Vec<Record>,
    },
    /// Nothing, or only part of a frame, is there yet: the end of what is written (a producer may be writing it).
    End,
}

/// Read-back buffer: many frames per system call when the writer is far behind.
const READ_BUFFER: usize = 256 << 10;

impl LogReader {
    pub(crate) fn new(dir: &Path, next: u64) -> LogReader {
        LogReader { dir: dir.to_path_buf(), segment: None, next }
    }

    /// The sequence number of the next frame [`LogReader::read`] returns.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next
    }

    /// Goes on from `seq` instead.
    pub(crate) fn seek(&mut self, seq: u64) {
        if seq != self.next {
            self.segment = None;
            self.next = seq;
        }
    }

    /// Whole frames from [`LogReader::next_seq`] on, until they hold `max_records` records (at least one frame)
    /// or the end of what is written so far. A frame still being written ends the read; it is read next time.
    pub(crate) fn read(&mut self, max_records: usize) -> EngineResult<Vec<(u64, Vec<Record>)>> {
        let mut frames = Vec::new();
        let mut records = 0;
        while records < max_records.max(1) {
            if self.segment.is_none() {
                match self.segment_holding_next()? {
                    Some(path) => self.segment = Some(Segment::open(&path)?),
                    None => break,
                }
            }
            let Some(segment) = self.segment.as_mut() else { break };
            match segment.frame()? {
                Frame::Whole { seq, records: r } => {
                    segment.at = segment.pos.unwrap_or(segment.at);
                    if seq < self.next {
                        continue; // before the wanted frame, in a segment opened mid-way
                    }
                    if seq > self.next {
                        return Err(EngineError::Journal(format!(
                            "{}: the write-ahead log skips from frame {} to {seq}",
                            self.dir.display(),
                            self.next
                        )));
                    }
                    self.next += 1;
                    records += r.len();
                    frames.push((seq, r));
                }
                Frame::End => {
                    // A producer opens the next segment only after the last frame of this one is written, so once
                    // that segment exists this one is complete: look here once more (the frame may have come in
                    // since), then move on.
                    let following = segment_path(&self.dir, self.next);
                    if following == segment.path || !following.exists() {
                        break; // (an empty segment is the one the next frame goes to)
                    }
                    if matches!(segment.frame()?, Frame::End) {
                        self.segment = Some(Segment::open(&following)?);
                    }
                    // (a frame found: `pos` is past it but `at` is not, so the loop reads it again from `at`)
                }
            }
        }
        Ok(frames)
    }

    /// The last segment starting at or before the next frame.
    fn segment_holding_next(&self) -> EngineResult<Option<PathBuf>> {
        let first = |p: &PathBuf| p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok());
        Ok(segments(&self.dir)?.into_iter().rfind(|p| first(p).is_some_and(|f| f <= self.next)))
    }
}

/// Fills `buf`; false when the file ends first.
fn read_all(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    match file.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn open_segment(path: &Path) -> EngineResult<File> {
    Ok(OpenOptions::new().create(true).append(true).open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::EndedRow;

    fn ended(id: u64) -> Record {
        Record::Ended(EndedRow { episode: id, status: "closed".into(), cause: None, steps: 1, ended_us: 5 })
    }

    #[test]
    fn frames_come_back_in_order_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::create(dir.path(), 7, SyncMode::Process).unwrap();
        let seqs: Vec<u64> = (0..3).map(|i| wal.append(vec![ended(i), ended(i + 100)], |s, _| s).unwrap()).collect();
        assert_eq!(seqs, vec![7, 8, 9]);
        drop(wal);
        // A crash in the middle of a write leaves half a frame.
        let seg = segments(dir.path()).unwrap().pop().unwrap();
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[42, 0, 0, 0, 1, 2, 3]).unwrap();
        let rec = Wal::recover(dir.path()).unwrap();
        assert_eq!(rec.frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(rec.frames[1].1, vec![ended(1), ended(101)]);
        assert_eq!(rec.next_seq, 10);
        assert_eq!(rec.torn_bytes, 7);
    }

    #[test]
    fn the_log_reads_back_from_any_frame_across_segments_while_it_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 1, SyncMode::Process).unwrap();
        wal.segment_bytes = 60; // a new segment every other frame
        let append = |i: u64| wal.append(vec![ended(i), ended(i + 1000)], |s, _| s).unwrap();
        for i in 1..=10 {
            assert_eq!(append(i), i);
        }
        assert!(segments(dir.path()).unwrap().len() > 3, "the test needs rotations");
        let mut reader = LogReader::new(dir.path(), 4);
        assert_eq!(
            reader.read(1).unwrap(),
            vec![(4, vec![ended(4), ended(1004)])],
            "a budget of one record: one frame"
        );
        let rest = reader.read(usize::MAX).unwrap();
        assert_eq!(rest.iter().map(|f| f.0).collect::<Vec<_>>(), (5..=10).collect::<Vec<_>>());
        assert_eq!(rest[5].1, vec![ended(10), ended(1010)]);
        assert!(reader.read(usize::MAX).unwrap().is_empty(), "nothing new yet");
        assert_eq!(reader.next_seq(), 11);

        // A frame only partly visible (a producer in the middle of its write) is read once it is whole.
        assert_eq!(append(11), 11);
        let written = |p: &PathBuf| std::fs::metadata(p).unwrap().len() > 0;
        let live = segments(dir.path()).unwrap().into_iter().rfind(written).unwrap();
        let bytes = std::fs::read(&live).unwrap();
        let cut = bytes.len() - 5;
        OpenOptions::new().write(true).open(&live).unwrap().set_len(cut as u64).unwrap();
        assert!(reader.read(usize::MAX).unwrap().is_empty());
        OpenOptions::new().append(true).open(&live).unwrap().write_all(&bytes[cut..]).unwrap();
        assert_eq!(reader.read(usize::MAX).unwrap(), vec![(11, vec![ended(11), ended(1011)])]);

        // Frames written through the next rotations keep coming, in order.
        for i in 12..=30 {
            append(i);
        }
        let later = reader.read(usize::MAX).unwrap();
        assert_eq!(later.iter().map(|f| f.0).collect::<Vec<_>>(), (12..=30).collect::<Vec<_>>());
        assert_eq!(wal.locked(|next| next).unwrap(), 31);
    }

    #[test]
    fn a_gap_in_the_sequence_is_an_error_that_names_it() {
        // Frames 1 and 2, then frame 5 in the same segment (3 and 4 lost): reading on from frame 1 returns 1 and 2
        // and then fails, naming where the log skips, instead of handing frame 5 over as if it were frame 3.
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::create(dir.path(), 1, SyncMode::Process).unwrap();
        for i in 1..=2 {
            wal.append(vec![ended(i)], |_, _| ()).unwrap();
        }
        drop(wal);
        let other = tempfile::tempdir().unwrap();
        let later = Wal::create(other.path(), 5, SyncMode::Process).unwrap();
        later.append(vec![ended(5)], |_, _| ()).unwrap();
        drop(later);
        let frame5 = std::fs::read(segments(other.path()).unwrap().pop().unwrap()).unwrap();
        let seg = segments(dir.path()).unwrap().pop().unwrap();
        OpenOptions::new().append(true).open(&seg).unwrap().write_all(&frame5).unwrap();

        let mut reader = LogReader::new(dir.path(), 1);
        let first = reader.read(2).unwrap();
        assert_eq!(first, vec![(1, vec![ended(1)]), (2, vec![ended(2)])]);
        let err = reader.read(usize::MAX).unwrap_err().to_string();
        assert!(err.contains("skips from frame 3 to 5"), "{err}");
        assert_eq!(reader.next_seq(), 3, "nothing past the gap was taken");
    }

    #[test]
    fn frames_in_the_earlier_json_format_are_still_read() {
        // A log left by a version that wrote JSON payloads with FNV-1a checksums, then crashed.
        let dir = tempfile::tempdir().unwrap();
        let mut data = Vec::new();
        for seq in [5u64, 6] {
            let payload = serde_json::to_vec(&vec![ended(seq)]).unwrap();
            let mut body = seq.to_le_bytes().to_vec();
            body.extend_from_slice(&payload);
            let h = crate::changes::fnv1a(&body);
            data.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            data.extend_from_slice(&((h ^ (h >> 32)) as u32).to_le_bytes());
            data.extend_from_slice(&body);
        }
        std::fs::write(segment_path(dir.path(), 5), &data).unwrap();
        let rec = Wal::recover(dir.path()).unwrap();
        assert_eq!(rec.frames, vec![(5, vec![ended(5)]), (6, vec![ended(6)])]);
        assert_eq!((rec.next_seq, rec.torn_bytes), (7, 0));
        // New frames after it are binary, and the log reads back whole.
        let wal = Wal::create(dir.path(), rec.next_seq, SyncMode::Process).unwrap();
        wal.append(vec![ended(7)], |_, _| ()).unwrap();
        drop(wal);
        let seg = segments(dir.path()).unwrap().pop().unwrap();
        assert_eq!(std::fs::read(seg).unwrap()[HEADER], BINARY_V1);
        assert_eq!(Wal::recover(dir.path()).unwrap().frames, vec![(7, vec![ended(7)])]);
    }

    #[test]
    fn closed_segments_are_removed_once_duckdb_has_committed_their_last_frame() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::create(dir.path(), 1, SyncMode::Process).unwrap();
        // Stand-ins for two segments closed earlier (the live one, from `create`, is `segment_path(dir, 1)`).
        let (old, newer) = (segment_path(dir.path(), 2), segment_path(dir.path(), 6));
        for p in [&old, &newer] {
            std::fs::write(p, b"frames").unwrap();
        }
        wal.closed.lock().unwrap().extend([(old.clone(), 5), (newer.clone(), 10)]);
        wal.release_through(7);
        assert!(!old.exists());
        assert!(newer.exists(), "its last frame, 10, is not in DuckDB yet");
        assert_eq!(*wal.closed.lock().unwrap(), vec![(newer.clone(), 10)]);
        wal.release_through(10);
        assert!(!newer.exists());
        assert!(wal.closed.lock().unwrap().is_empty());
    }

    #[test]
    fn a_corrupted_frame_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::create(dir.path(), 1, SyncMode::Disk).unwrap();
        for i in 0..3 {
            wal.append(vec![ended(i)], |_, _| ()).unwrap();
        }
        drop(wal);
        let seg = segments(dir.path()).unwrap().pop().unwrap();
        let mut data = std::fs::read(&seg).unwrap();
        let frame = data.len() / 3;
        data[frame + HEADER + 2] ^= 0xff;
        std::fs::write(&seg, data).unwrap();
        let rec = Wal::recover(dir.path()).unwrap();
        assert_eq!(rec.frames.len(), 1);
        assert_eq!(rec.torn_bytes as usize, 2 * frame);
    }
}
