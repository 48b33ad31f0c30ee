//! The append side: a buffered writer with explicit flush and sync, and torn-tail recovery.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::checkpoint::{Checkpoint, Synced, read_synced};
use super::codec::{self, MAX_PAYLOAD_LEN};
use super::frame::frame_crc;
use super::header::Header;
use super::reader::{INDEX_STRIDE_BYTES, IndexEntry, SharedIndex, SparseIndex, scan};
use super::{FRAME_HEADER_LEN, HEADER_LEN, LogError, MORE_IN_BATCH};
use crate::event::{Event, TimeMs};

/// Buffered bytes that trigger a write to the file.
const WRITE_BUFFER_LEN: usize = 256 * 1024;

/// What [`LogWriter::open_append`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records kept.
    pub records: u64,
    /// Time of the last record kept.
    pub last_ms: Option<TimeMs>,
    /// Where a torn tail was cut and how many bytes went: `(offset, bytes)`.
    pub cut: Option<(u64, u64)>,
}

/// Appends records to a log.
///
/// Appends go to an in-memory buffer, written to the file when it fills, on [`flush`] and on
/// drop. [`sync`] flushes and then fsyncs; only then is the data durable. A failed write
/// poisons the writer, since the file's end is then unknown: reopen with [`open_append`].
///
/// [`flush`]: LogWriter::flush
/// [`sync`]: LogWriter::sync
/// [`open_append`]: LogWriter::open_append
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    header: Header,
    buf: Vec<u8>,
    /// Bytes of `buf` that are whole frames: anything after them is a frame whose encoding
    /// never finished (a panic in the middle), which is never written.
    framed: usize,
    next_seq: u64,
    last_ms: Option<TimeMs>,
    /// Bytes handed to the file so far (header included); buffered bytes come on top.
    written: u64,
    poisoned: bool,
    /// How far the log is known durable.
    synced: Synced,
    /// The synced checkpoint beside a version-2 log.
    checkpoint: Option<Checkpoint>,
    /// The log's sparse index, kept as records are appended, for readers of the growing log.
    index: SharedIndex,
    /// Offset of the index's last entry: the lock is taken once per stride, not per record.
    last_indexed: Option<u64>,
}

impl LogWriter {
    /// Creates a new log at `path` (which must not exist) and makes its header durable.
    pub fn create(path: &Path, header: Header) -> Result<LogWriter, LogError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| LogError::io(path, "create", e))?;
        file.write_all(&header.to_bytes())
            .map_err(|e| LogError::io(path, "write header", e))?;
        file.sync_all()
            .map_err(|e| LogError::io(path, "sync header", e))?;
        let mut writer = LogWriter::new(file, path, header, 0, None, HEADER_LEN as u64);
        if header.has_batches() {
            let checkpoint = Checkpoint::open(path)?;
            checkpoint.write(writer.synced, true)?;
            writer.checkpoint = Some(checkpoint);
        }
        sync_parent_dir(path)?;
        Ok(writer)
    }

    /// Opens an existing log to append to it. A torn tail — a last record, or a last batch,
    /// that never fully reached the file — is cut off (with a warning naming the byte offset),
    /// unless the synced checkpoint says those bytes were synced: damage to synced
    /// (acknowledged) records, or corruption anywhere, is an error and nothing is changed.
    pub fn open_append(path: &Path) -> Result<(LogWriter, Recovery), LogError> {
        let synced = read_synced(path)?;
        let mut index = SparseIndex::default();
        let (header, summary, damage) = scan(path, |entry| index.note(entry))?;
        index.cut(summary.good_len);
        check_synced(path, synced, &summary, damage.as_ref())?;
        let cut = match damage {
            None => None,
            Some(LogError::TornTail {
                offset,
                seq,
                damage,
                ..
            }) => {
                let bytes = summary.file_len - summary.good_len;
                tracing::warn!(
                    path = %path.display(),
                    offset,
                    bytes,
                    seq,
                    "torn tail at byte offset {offset}: cutting {bytes} bytes from byte {} \
                     ({damage})",
                    summary.good_len
                );
                Some((summary.good_len, bytes))
            }
            Some(other) => return Err(other),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| LogError::io(path, "open for append", e))?;
        if cut.is_some() {
            file.set_len(summary.good_len)
                .map_err(|e| LogError::io(path, "cut torn tail", e))?;
            file.sync_all()
                .map_err(|e| LogError::io(path, "sync after cut", e))?;
        }
        file.seek(SeekFrom::Start(summary.good_len))
            .map_err(|e| LogError::io(path, "seek", e))?;
        let recovery = Recovery {
            records: summary.records,
            last_ms: summary.last_ms,
            cut,
        };
        let mut writer = LogWriter::new(
            file,
            path,
            header,
            summary.records,
            summary.last_ms,
            summary.good_len,
        );
        writer.last_indexed = index.entries().last().map(|e| e.offset);
        *crate::locks::write(&writer.index) = index;
        if header.has_batches() {
            // What the last process flushed may still be only in the page cache: make it
            // durable before the checkpoint says it is.
            writer
                .file
                .sync_all()
                .map_err(|e| LogError::io(path, "sync", e))?;
            let checkpoint = Checkpoint::open(path)?;
            checkpoint.write(writer.synced, true)?;
            writer.checkpoint = Some(checkpoint);
        }
        Ok((writer, recovery))
    }

    fn new(
        file: File,
        path: &Path,
        header: Header,
        next_seq: u64,
        last_ms: Option<TimeMs>,
        written: u64,
    ) -> LogWriter {
        LogWriter {
            file,
            path: path.to_owned(),
            header,
            buf: Vec::with_capacity(WRITE_BUFFER_LEN + FRAME_HEADER_LEN + MAX_PAYLOAD_LEN),
            framed: 0,
            next_seq,
            last_ms,
            written,
            poisoned: false,
            synced: Synced {
                len: written,
                records: next_seq,
            },
            checkpoint: None,
            index: SharedIndex::default(),
            last_indexed: None,
        }
    }

    /// The log's sparse index, kept up to date as records are appended: a reader of the
    /// growing log starts near the record it wants (entries may name records not yet
    /// durable; read only what is).
    pub fn index(&self) -> SharedIndex {
        std::sync::Arc::clone(&self.index)
    }

    /// Notes in the index the record (or batch) starting at `offset`, when one is due.
    fn index_record(&mut self, seq: u64, at_ms: TimeMs, offset: u64) {
        if self
            .last_indexed
            .is_some_and(|last| offset - last < INDEX_STRIDE_BYTES)
        {
            return;
        }
        self.last_indexed = Some(offset);
        crate::locks::write(&self.index).note(IndexEntry { seq, at_ms, offset });
    }

    /// The log's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Sequence number the next append gets (= records in the log, buffered ones included).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Time of the last record appended.
    pub fn last_ms(&self) -> Option<TimeMs> {
        self.last_ms
    }

    /// Size of the log once buffered records are written, in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event at virtual time `at_ms`; returns its sequence number. Refuses a time
    /// outside the timeline or earlier than the last one, and a payload over the size limit,
    /// leaving the log as it was.
    pub fn append(&mut self, at_ms: TimeMs, event: &Event) -> Result<u64, LogError> {
        let offset = self.len_bytes();
        let seq = self.encode_frame(at_ms, event, false)?;
        self.index_record(seq, at_ms, offset);
        if self.buf.len() >= WRITE_BUFFER_LEN {
            self.write_buffer()?;
        }
        Ok(seq)
    }

    /// Appends `events` as one atomic batch (in a version-2 log; in a version-1 log, one
    /// record after the other); returns the first one's sequence number. A refused event
    /// leaves the log as it was before the batch: the batch is buffered whole before any of
    /// it is written.
    pub fn append_batch(&mut self, events: &[(TimeMs, Event)]) -> Result<u64, LogError> {
        let (first_seq, last_ms, start) = (self.next_seq, self.last_ms, self.buf.len());
        let batches = self.header.has_batches();
        for (i, (at_ms, event)) in events.iter().enumerate() {
            let more = batches && i + 1 < events.len();
            if let Err(e) = self.encode_frame(*at_ms, event, more) {
                self.buf.truncate(start);
                self.framed = start;
                (self.next_seq, self.last_ms) = (first_seq, last_ms);
                return Err(e);
            }
        }
        if let Some(&(at_ms, _)) = events.first() {
            self.index_record(first_seq, at_ms, self.written + start as u64);
        }
        if self.buf.len() >= WRITE_BUFFER_LEN {
            self.write_buffer()?;
        }
        Ok(first_seq)
    }

    /// Encodes one frame into the buffer; `more` marks it as not the last of its batch.
    fn encode_frame(&mut self, at_ms: TimeMs, event: &Event, more: bool) -> Result<u64, LogError> {
        let seq = self.next_seq;
        if self.poisoned {
            return Err(LogError::Poisoned {
                path: self.path.clone(),
            });
        }
        if !(crate::time::MIN_MS..=crate::time::MAX_MS).contains(&at_ms) {
            let reason = format!(
                "time {at_ms} ms is outside the timeline ({})",
                crate::time::RANGE
            );
            return Err(LogError::Append {
                path: self.path.clone(),
                seq,
                reason,
            });
        }
        if let Some(last) = self.last_ms.filter(|&last| at_ms < last) {
            let reason = format!("time {at_ms} ms is earlier than the last record's {last} ms");
            return Err(LogError::Append {
                path: self.path.clone(),
                seq,
                reason,
            });
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        let encoded = codec::encode_record(seq, at_ms, event, &mut self.buf);
        let len = match encoded {
            Ok(len) if len <= MAX_PAYLOAD_LEN => len,
            Ok(len) => {
                self.buf.truncate(start);
                let reason = format!("payload of {len} bytes is over {MAX_PAYLOAD_LEN}");
                return Err(LogError::Append {
                    path: self.path.clone(),
                    seq,
                    reason,
                });
            }
            Err(e) => {
                self.buf.truncate(start);
                return Err(LogError::Append {
                    path: self.path.clone(),
                    seq,
                    reason: e.to_string(),
                });
            }
        };
        // `len <= MAX_PAYLOAD_LEN` (64 KiB), so it fits in u32 with the batch bit free.
        let field = len as u32 | if more { MORE_IN_BATCH } else { 0 };
        self.buf[start + 4..start + 8].copy_from_slice(&field.to_le_bytes());
        // The checksum is filled in by `write_buffer`, which sums the whole buffer at once.
        self.framed = self.buf.len();
        self.next_seq += 1;
        self.last_ms = Some(at_ms);
        Ok(seq)
    }

    fn write_buffer(&mut self) -> Result<(), LogError> {
        if self.poisoned {
            return Err(LogError::Poisoned {
                path: self.path.clone(),
            });
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.truncate(self.framed);
        sum_frames(&mut self.buf);
        if let Err(e) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            return Err(LogError::io(&self.path, "write", e));
        }
        self.written += self.buf.len() as u64;
        self.buf.clear();
        self.framed = 0;
        Ok(())
    }

    /// Hands every buffered record to the operating system (not yet durable).
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.write_buffer()
    }

    /// Another handle on the log file, to fsync it without holding the writer: flush, note
    /// [`next_seq`](LogWriter::next_seq), let other appends go on, `sync_data` the handle —
    /// every record flushed before the sync began is then durable (group commit).
    pub fn sync_handle(&self) -> Result<File, LogError> {
        self.file
            .try_clone()
            .map_err(|e| LogError::io(&self.path, "clone the file handle", e))
    }

    /// Flushes, then fsyncs: every record appended so far survives a crash once this returns.
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.write_buffer()?;
        self.file.sync_data().map_err(|e| {
            self.poisoned = true;
            LogError::io(&self.path, "sync", e)
        })?;
        self.note_synced(self.written, self.next_seq)
    }

    /// Flushes, and tells what an fsync of the [`sync_handle`](LogWriter::sync_handle) begun
    /// now makes durable: the bytes handed to the file and the records in them.
    pub fn flush_for_sync(&mut self) -> Result<Synced, LogError> {
        self.write_buffer()?;
        Ok(Synced {
            len: self.written,
            records: self.next_seq,
        })
    }

    /// Notes that the first `len` bytes (`records` records) are durable, in the synced
    /// checkpoint too.
    pub fn note_synced(&mut self, len: u64, records: u64) -> Result<(), LogError> {
        if len <= self.synced.len {
            return Ok(());
        }
        self.synced = Synced { len, records };
        match &self.checkpoint {
            Some(checkpoint) => checkpoint.write(self.synced, false),
            None => Ok(()),
        }
    }

    /// After a failed write or sync: cuts the file back to what is known durable, so that no
    /// record that was never acknowledged survives a restart, and poisons the writer.
    pub fn roll_back(&mut self) -> Result<(), LogError> {
        self.poisoned = true;
        self.buf.clear();
        self.framed = 0;
        let mut index = crate::locks::write(&self.index);
        index.cut(self.synced.len);
        self.last_indexed = index.entries().last().map(|e| e.offset);
        drop(index);
        self.file
            .set_len(self.synced.len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| LogError::io(&self.path, "cut back to the synced length", e))
    }

    /// Syncs the log and its checkpoint, at a clean stop.
    pub fn finish(&mut self) -> Result<(), LogError> {
        self.sync()?;
        match &self.checkpoint {
            Some(checkpoint) => checkpoint.write(self.synced, true),
            None => Ok(()),
        }
    }
}

/// Fills in the checksum of every frame in `buf` (whole frames, from its start).
///
/// Done for the whole buffer just before it is written rather than as each frame is encoded:
/// the checksum reads the frame in 8-byte words, and reading bytes the encoder has only just
/// stored one at a time stalls on store forwarding (a fifth of an append's time when each
/// frame was summed at once). Summing a frame twice gives the same bytes.
fn sum_frames(buf: &mut [u8]) {
    let mut pos = 0;
    while let Some(field) = buf.get(pos + 4..pos + FRAME_HEADER_LEN) {
        let raw = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
        let end = pos + FRAME_HEADER_LEN + (raw & !MORE_IN_BATCH) as usize;
        // `buf` holds whole frames (`LogWriter::framed`); a shorter rest is never summed.
        let Some(len_and_payload) = buf.get(pos + 4..end) else {
            return;
        };
        let crc = frame_crc(len_and_payload);
        buf[pos..pos + 4].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty()
            && let Err(e) = self.write_buffer()
        {
            tracing::warn!(error = %e, "records still buffered when the log writer was dropped were lost");
        }
    }
}

/// Checks a log against its synced checkpoint: [`LogError::SyncedDamage`] when damage, or the
/// end of the file, lies inside the part the checkpoint says was synced; `Ok` when there is no
/// checkpoint, or the log holds everything it covers. What `verify` reports and `serve` refuses.
pub fn check_against_checkpoint(path: &Path) -> Result<(), LogError> {
    let synced = read_synced(path)?;
    if synced.is_none() {
        return Ok(());
    }
    let (_, summary, damage) = scan(path, |_| {})?;
    check_synced(path, synced, &summary, damage.as_ref())
}

/// What [`truncate_at`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// The copy of the log as it was.
    pub backup: PathBuf,
    /// Records kept.
    pub records: u64,
    /// Bytes cut off.
    pub bytes: u64,
}

/// Cuts the log at `offset` — which must be the end of a whole batch (a whole record in a
/// version-1 log) at or before its first damage, or the end of the header — after copying it
/// to `LOG.bak.N` (never overwriting), and sets its synced checkpoint to the new end. The only
/// way to drop records the checkpoint says were synced.
pub fn truncate_at(path: &Path, offset: u64) -> Result<Truncated, LogError> {
    let mut cuts = vec![(HEADER_LEN as u64, 0u64)];
    let (header, summary, _damage) =
        super::reader::scan_batches(path, |_| {}, |s| cuts.push((s.good_len, s.records)))?;
    let Some(&(_, records)) = cuts.iter().find(|(at, _)| *at == offset) else {
        let below = cuts.iter().rev().find(|(at, _)| *at < offset).map(|c| c.0);
        let above = cuts.iter().find(|(at, _)| *at > offset).map(|c| c.0);
        let near = match (below, above) {
            (Some(b), Some(a)) => format!("the nearest are {b} and {a}"),
            (Some(b), None) => format!("the last before it is {b}"),
            (None, Some(a)) => format!("the first is {a}"),
            (None, None) => "there is none".into(),
        };
        return Err(LogError::BadCut {
            path: path.to_owned(),
            offset,
            reason: format!(
                "not the end of a whole batch before the first damage (of {} bytes); {near}",
                summary.file_len
            ),
        });
    };
    let backup = (1..)
        .map(|n| PathBuf::from(format!("{}.bak.{n}", path.display())))
        .find(|p| !p.exists())
        .unwrap_or_else(|| PathBuf::from(format!("{}.bak", path.display())));
    std::fs::copy(path, &backup).map_err(|e| LogError::io(&backup, "back up the log", e))?;
    File::open(&backup)
        .and_then(|f| f.sync_all())
        .map_err(|e| LogError::io(&backup, "sync the backup", e))?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| LogError::io(path, "open for repair", e))?;
    file.set_len(offset)
        .and_then(|()| file.sync_all())
        .map_err(|e| LogError::io(path, "cut", e))?;
    if header.has_batches() || read_synced(path)?.is_some() {
        Checkpoint::open(path)?.write(
            Synced {
                len: offset,
                records,
            },
            true,
        )?;
    }
    sync_parent_dir(path)?;
    Ok(Truncated {
        backup,
        records,
        bytes: summary.file_len - offset,
    })
}

/// Refuses to go on when damage, or the end of the file, lies before the synced checkpoint:
/// records there were durable, and may have been acknowledged.
fn check_synced(
    path: &Path,
    synced: Option<Synced>,
    summary: &super::ScanSummary,
    damage: Option<&LogError>,
) -> Result<(), LogError> {
    let Some(synced) = synced else {
        return Ok(());
    };
    let (offset, seq, what) = match damage {
        Some(LogError::TornTail {
            offset,
            seq,
            damage,
            ..
        })
        | Some(LogError::Corrupt {
            offset,
            seq,
            damage,
            ..
        }) => (*offset, *seq, damage.to_string()),
        _ if summary.file_len < synced.len => (
            summary.file_len,
            summary.records,
            format!("the file ends at byte {} before it", summary.file_len),
        ),
        _ => return Ok(()),
    };
    if offset >= synced.len {
        return Ok(());
    }
    Err(LogError::SyncedDamage {
        path: path.to_owned(),
        offset,
        seq,
        synced_len: synced.len,
        cut_at: summary.good_len,
        damage: what,
    })
}

/// Makes a new (or renamed) file's directory entry durable.
pub fn sync_parent_dir(path: &Path) -> Result<(), LogError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| LogError::io(parent, "sync directory", e))
}
