//! Where a log's records are kept durable: the boundary between the writer and its storage.
//!
//! Every writer encodes its records into a local *working file* with [`LogWriter`] (the
//! server's readers and replicas read that file). A [`LogBackend`] decides what makes the
//! working file's bytes durable before a write is acknowledged:
//!
//! - [`FileBackend`], the embedded default: the working file *is* the log, and a commit is an
//!   fsync.
//! - the JetStream backend (cargo feature `nats`, `crate::log::jetstream`): the log is a
//!   stream on a NATS cluster, and a commit publishes the new frames, fenced on the stream's
//!   last sequence, and waits for the cluster's acknowledgement; the working file is a cache
//!   rebuilt from the stream when a writer starts.
//!
//! Both take the same bytes — whole CRC-framed records continuing the log — so a log moves
//! between them byte for byte.
//!
//! [`LogWriter`]: super::LogWriter

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{FRAME_HEADER_LEN, Header, LogError, MORE_IN_BATCH};
use crate::event::TimeMs;

/// Where a log's committed records live.
pub trait LogBackend: Send + Sync + std::fmt::Debug {
    /// Where, for messages and health: a path, or `nats://…/SIM`.
    fn describe(&self) -> String;

    /// Before a writer opens its working file at `path`: make that file hold the backend's
    /// log, or remove it when the backend holds none yet (a new log then starts with
    /// `header`, which the backend records).
    fn prepare(&self, path: &Path, header: &Header) -> Result<(), LogError>;

    /// Makes the first `to` bytes of the working file `file` durable: the backend holds a
    /// prefix of them, and the rest are whole frames continuing it, already handed to the
    /// file. An error leaves the backend holding what it held before, or a prefix of these
    /// frames; the writer then stops.
    fn commit(&self, file: &File, to: u64) -> Result<(), LogError>;

    /// The clock of the log reached `now_ms`: every record at or before it is committed.
    /// Backends that replicas follow record it in the log's order; the file does not.
    fn watermark(&self, now_ms: TimeMs) -> Result<(), LogError> {
        let _ = now_ms;
        Ok(())
    }

    /// The last clock recorded by [`watermark`](LogBackend::watermark) found by
    /// [`prepare`](LogBackend::prepare): a new writer resumes the clock there, never before.
    fn resumed_clock(&self) -> Option<TimeMs> {
        None
    }

    /// The writer stopped after an error: let another writer take over (a stream's lease
    /// goes). The file has nothing to do.
    fn abandon(&self) {}

    /// The writer stops cleanly, everything committed: hand the log over at once (a stream's
    /// lease is released, so a standby need not wait for it to expire).
    fn close(&self) {}

    /// True when the log can be moved aside to start over (a reset); a stream cannot.
    fn can_restart(&self) -> bool {
        true
    }

    /// Writes the log as the backend holds it to a new file `out` (which must not exist);
    /// returns its length in bytes.
    fn export(&self, out: &Path) -> Result<u64, LogError>;
}

/// The file log: the working file is the log, a commit is an fsync. A writer locks the file
/// (an advisory lock, released when the writer goes): when it prepares an existing log, or
/// at its first commit to a log it created. A second writer is refused there.
#[derive(Debug)]
pub struct FileBackend {
    path: PathBuf,
    locked: std::sync::atomic::AtomicBool,
    /// The handle holding the lock taken by `prepare`.
    held: std::sync::Mutex<Option<File>>,
}

impl FileBackend {
    /// The log at `path` (the writer's working file).
    pub fn new(path: &Path) -> FileBackend {
        FileBackend {
            path: path.to_owned(),
            locked: std::sync::atomic::AtomicBool::new(false),
            held: std::sync::Mutex::new(None),
        }
    }

    /// Locks the log through `file`; refused while another writer holds it.
    fn lock(&self, file: &File) -> Result<(), LogError> {
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => LogError::Backend(format!(
                "{}: another writer holds this log",
                self.path.display()
            )),
            std::fs::TryLockError::Error(e) => LogError::io(&self.path, "lock", e),
        })?;
        self.locked
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

impl LogBackend for FileBackend {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn prepare(&self, path: &Path, _header: &Header) -> Result<(), LogError> {
        match File::open(path) {
            Ok(file) => {
                self.lock(&file)?;
                *crate::locks::lock(&self.held) = Some(file);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LogError::io(path, "open", e)),
        }
    }

    fn commit(&self, file: &File, _to: u64) -> Result<(), LogError> {
        if !self.locked.load(std::sync::atomic::Ordering::Acquire) {
            self.lock(file)?;
        }
        file.sync_data()
            .map_err(|e| LogError::io(&self.path, "sync", e))
    }

    fn export(&self, out: &Path) -> Result<u64, LogError> {
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .map_err(|e| LogError::io(out, "create", e))?;
        let mut from = File::open(&self.path).map_err(|e| LogError::io(&self.path, "open", e))?;
        let len = std::io::copy(&mut from, &mut to).map_err(|e| LogError::io(out, "write", e))?;
        to.sync_all().map_err(|e| LogError::io(out, "sync", e))?;
        Ok(len)
    }
}

/// Reads the bytes `[from, to)` of `file` (at `path`, for errors).
pub fn read_range(file: &File, path: &Path, from: u64, to: u64) -> Result<Vec<u8>, LogError> {
    let len = usize::try_from(to.saturating_sub(from))
        .map_err(|_| LogError::io(path, "read", std::io::Error::other("range too large")))?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, from)
        .map_err(|e| LogError::io(path, "read", e))?;
    Ok(bytes)
}

/// The whole frames at the start of `records`, in order: each one's start, end, and whether
/// it ends its batch (no [`MORE_IN_BATCH`] mark). A trailing partial frame is not one.
fn whole_frames(records: &[u8]) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let head = records.get(at..at + FRAME_HEADER_LEN)?;
        let field = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let end = at + FRAME_HEADER_LEN + (field & !MORE_IN_BATCH) as usize;
        if end > records.len() {
            return None;
        }
        let frame = (at, end, field & MORE_IN_BATCH == 0);
        at = end;
        Some(frame)
    })
}

/// `records` (whole frames) cut into pieces of at most `max` bytes where batches end, so that
/// a reader of one piece sees whole batches; a batch larger than `max` makes a piece of its
/// own, of up to `batch_max` bytes, and only a batch larger than that is cut between its
/// frames. Each piece comes with its offset in `records`. A trailing partial frame is left
/// out: the second value is the length covered.
pub fn cut_frames(records: &[u8], max: usize, batch_max: usize) -> (Vec<(usize, &[u8])>, usize) {
    let mut out = Vec::new();
    // Start of the current piece, of the batch under way, and the end of the frames so far.
    let (mut start, mut batch_start, mut covered) = (0, 0, 0);
    for (at, end, ends_batch) in whole_frames(records) {
        if end - start > max && batch_start > start {
            // Close the piece before this batch; the batch starts the next one.
            out.push((start, &records[start..batch_start]));
            start = batch_start;
        }
        if end - start > batch_max && at > start {
            // A batch too large for one message: cut between its frames.
            out.push((start, &records[start..at]));
            start = at;
        }
        covered = end;
        if ends_batch {
            batch_start = end;
            if end - start >= max {
                out.push((start, &records[start..end]));
                start = end;
            }
        }
    }
    if covered > start {
        out.push((start, &records[start..covered]));
    }
    (out, covered)
}

/// The length of the longest prefix of `records` made of whole batches (frames whose last
/// one does not say more follow).
pub fn batches_end(records: &[u8]) -> usize {
    whole_frames(records)
        .filter(|&(_, _, ends_batch)| ends_batch)
        .last()
        .map_or(0, |(_, end, _)| end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: u32) -> (Vec<u8>, Vec<(usize, bool)>) {
        let mut records = Vec::new();
        let mut starts = Vec::new();
        for i in 0..n {
            let len = 50 + (i * 37) % 400;
            let more = i % 3 != 2;
            starts.push((records.len(), more));
            records.extend_from_slice(&[0; 4]);
            let field = len | if more { MORE_IN_BATCH } else { 0 };
            records.extend_from_slice(&field.to_le_bytes());
            records.extend(std::iter::repeat_n(7u8, len as usize));
        }
        (records, starts)
    }

    /// Asserts that a piece at `offset` starts where a batch starts: at a frame after one
    /// without MORE_IN_BATCH.
    fn starts_a_batch(starts: &[(usize, bool)], offset: usize) {
        let i = starts
            .iter()
            .position(|(s, _)| *s == offset)
            .expect("a frame");
        assert!(
            i == 0 || !starts[i - 1].1,
            "piece at {offset} splits a batch"
        );
    }

    #[test]
    fn pieces_cover_everything_and_end_where_batches_end() {
        let (records, starts) = frames(2_000);
        let (cut, covered) = cut_frames(&records, 4_096, 4_096);
        assert_eq!(covered, records.len());
        assert!(cut.len() > 1);
        let joined: Vec<u8> = cut.iter().flat_map(|(_, c)| c.iter().copied()).collect();
        assert_eq!(joined, records);
        for (offset, piece) in &cut {
            assert!(piece.len() <= 4_096, "{} bytes", piece.len());
            starts_a_batch(&starts, *offset);
        }
    }

    #[test]
    fn whole_batches_end_after_a_frame_without_the_mark() {
        let (records, starts) = frames(10);
        // Frames 0,1 are marked, 2 ends the first batch; 3,4 marked, 5 ends; ... 8 ends.
        let end_of = |i: usize| starts.get(i + 1).map_or(records.len(), |(s, _)| *s);
        assert_eq!(batches_end(&records), end_of(8));
        assert_eq!(batches_end(&records[..end_of(7)]), end_of(5));
        assert_eq!(batches_end(&records[..end_of(2) - 1]), 0);
    }

    #[test]
    fn a_batch_larger_than_a_piece_is_a_piece_of_its_own() {
        let (records, starts) = frames(300);
        // Pieces of 600 bytes hold no whole batch of three frames (up to ~1,300 bytes): each
        // batch is a piece of its own when a batch may take 2,000.
        let (cut, covered) = cut_frames(&records, 600, 2_000);
        assert_eq!(covered, records.len());
        for (offset, piece) in &cut {
            starts_a_batch(&starts, *offset);
            assert!(piece.len() <= 2_000);
        }
    }

    #[test]
    fn a_batch_larger_than_a_message_is_cut_between_frames_and_a_torn_frame_is_left_out() {
        let (mut records, starts) = frames(30);
        let whole = records.len();
        records.extend_from_slice(&[1, 2, 3, 4, 200, 0, 0, 0, 9]);
        let (cut, covered) = cut_frames(&records, 600, 600);
        assert_eq!(covered, whole);
        let joined: Vec<u8> = cut.iter().flat_map(|(_, c)| c.iter().copied()).collect();
        assert_eq!(joined, records[..whole]);
        for (offset, piece) in &cut {
            assert!(piece.len() <= 600);
            assert!(starts.iter().any(|(s, _)| s == offset));
        }
    }
}
