//! Streaming readers: [`Records`] from the start, [`LogFile`] with a sparse index for seeks.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::codec;
use super::frame::{FrameReader, Next, damage_error};
use super::header::{HEADER_LEN, Header};
use super::{Damage, LogError};
use crate::event::{Record, RecordRef, TimeMs};

/// One index entry per this many bytes of log, at most.
pub(crate) const INDEX_STRIDE_BYTES: u64 = 64 * 1024;

/// Opens `path` and reads its header; returns the file (positioned after the header) and length.
pub(crate) fn open_with_header(path: &Path) -> Result<(File, Header, u64), LogError> {
    let file = File::open(path).map_err(|e| LogError::io(path, "open", e))?;
    let file_len = file
        .metadata()
        .map_err(|e| LogError::io(path, "stat", e))?
        .len();
    let mut head = Vec::with_capacity(HEADER_LEN);
    (&file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| LogError::io(path, "read header", e))?;
    let header = Header::parse(&head).map_err(|p| LogError::from_header(path, p))?;
    Ok((file, header, file_len))
}

/// Opens `path` and reads frames from byte `offset` (a frame boundary; the header's end for
/// the first record); also gives the header and the file's length.
fn open_frames(path: &Path, offset: u64) -> Result<(FrameReader, Header, u64), LogError> {
    let (file, header, file_len) = open_with_header(path)?;
    let frames = FrameReader::new(file, path, offset, file_len, header.has_batches())?;
    Ok((frames, header, file_len))
}

/// Where reading resumes: a frame boundary with the seq and time of the record before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Sequence number of the record that starts at `offset`.
    pub seq: u64,
    /// Time of the record that starts at `offset`.
    pub at_ms: TimeMs,
    /// Byte offset of its frame.
    pub offset: u64,
}

/// A sparse index of a log: one [`IndexEntry`] per [`INDEX_STRIDE_BYTES`] of log at most, so
/// that reading from a sequence number or a time starts near it instead of at the first
/// record. [`LogFile`] builds one with its scan; a [`LogWriter`](super::LogWriter) keeps one
/// as it appends, shared with readers of the growing log (see [`SharedIndex`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseIndex {
    entries: Vec<IndexEntry>,
}

/// A [`SparseIndex`] that a writer extends while readers seek with it.
pub type SharedIndex = std::sync::Arc<std::sync::RwLock<SparseIndex>>;

impl SparseIndex {
    /// Builds the index of `path` with one scan (checksums checked; damage ends the index
    /// where it is, as it ends every reader).
    pub fn build(path: &Path) -> Result<SparseIndex, LogError> {
        let mut index = SparseIndex::default();
        scan(path, |entry| index.note(entry))?;
        Ok(index)
    }

    /// True when a record starting at `offset` is due an entry.
    fn due(&self, offset: u64) -> bool {
        self.entries
            .last()
            .is_none_or(|last| offset - last.offset >= INDEX_STRIDE_BYTES)
    }

    /// Notes the record starting at `entry.offset`; kept when it is due an entry. Records are
    /// noted in log order.
    pub fn note(&mut self, entry: IndexEntry) {
        if self.due(entry.offset) {
            self.entries.push(entry);
        }
    }

    /// Forgets the entries at or past `offset` (the log was cut there).
    pub fn cut(&mut self, offset: u64) {
        let keep = self.entries.partition_point(|e| e.offset < offset);
        self.entries.truncate(keep);
    }

    /// The entries, in log order.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// The last entry at or before `seq`: where to start reading for it (`None`: the start).
    pub fn at_or_before_seq(&self, seq: u64) -> Option<IndexEntry> {
        let at = self.entries.partition_point(|e| e.seq <= seq);
        at.checked_sub(1).map(|i| self.entries[i])
    }
}

/// Checks a record's position against the one before it.
fn check_position(
    seq: u64,
    at_ms: TimeMs,
    expected_seq: u64,
    previous_ms: Option<TimeMs>,
) -> Result<(), Damage> {
    if seq != expected_seq {
        return Err(Damage::SeqGap { found: seq });
    }
    match previous_ms {
        Some(previous_ms) if at_ms < previous_ms => {
            Err(Damage::TimeBackwards { at_ms, previous_ms })
        }
        _ => Ok(()),
    }
}

/// Streams every record of a log in order, checking frames, checksums, sequence numbers and
/// times. Memory use is constant: one chunk buffer and the record being returned.
///
/// As an [`Iterator`] it yields owned [`Record`]s; [`Records::next_ref`] yields records whose
/// text borrows from the buffer, for consumers that only look (no copies). After the first
/// error both end.
pub struct Records {
    frames: FrameReader,
    header: Header,
    path: PathBuf,
    next_seq: u64,
    previous_ms: Option<TimeMs>,
    /// Damage met while skipping to a seek target, returned by the next read.
    pending: Option<LogError>,
    done: bool,
}

impl Records {
    /// Streams `path` from its first record.
    pub fn open(path: &Path) -> Result<Records, LogError> {
        let (frames, header, _) = open_frames(path, HEADER_LEN as u64)?;
        Ok(Records::new(frames, header, path, 0, None))
    }

    /// Streams the records of `path` with `seq >= from_seq`, starting at the index's entry
    /// for it: the cost is the index's lookup and at most one stride of skipped positions,
    /// however far into the log `from_seq` is.
    pub fn open_from_seq(
        path: &Path,
        index: &SparseIndex,
        from_seq: u64,
    ) -> Result<Records, LogError> {
        Records::open_from_entry(path, index.at_or_before_seq(from_seq), from_seq)
    }

    /// [`Records::open_from_seq`] with the entry already looked up (so that a shared index's
    /// lock is not held while the file is read).
    pub fn open_from_entry(
        path: &Path,
        entry: Option<IndexEntry>,
        from_seq: u64,
    ) -> Result<Records, LogError> {
        let mut records = Records::open_at(path, entry)?;
        records.skip_records_while(|seq, _| seq < from_seq);
        Ok(records)
    }

    /// Streams from an index entry (or the start when `None`): a record's seq, time and
    /// offset, or — to go on after a point of the log — the next seq, the last record's time
    /// and the point's length.
    pub fn open_at(path: &Path, entry: Option<IndexEntry>) -> Result<Records, LogError> {
        let Some(entry) = entry else {
            return Records::open(path);
        };
        // An entry past the end (the log was cut back meanwhile): from the start, which then
        // reports what is there.
        let len = std::fs::metadata(path)
            .map_err(|e| LogError::io(path, "stat", e))?
            .len();
        if entry.offset > len {
            return Records::open(path);
        }
        let (frames, header, _) = open_frames(path, entry.offset)?;
        // The record at the entry is checked against its own time: times never decrease, so
        // `previous_ms = at_ms` accepts exactly what the full scan accepted.
        Ok(Records::new(
            frames,
            header,
            path,
            entry.seq,
            Some(entry.at_ms),
        ))
    }

    fn new(
        frames: FrameReader,
        header: Header,
        path: &Path,
        next_seq: u64,
        previous_ms: Option<TimeMs>,
    ) -> Records {
        Records {
            frames,
            header,
            path: path.to_owned(),
            next_seq,
            previous_ms,
            pending: None,
            done: false,
        }
    }

    /// The log's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Byte offset just after the last record returned (the end of the good data so far).
    pub fn offset(&self) -> u64 {
        self.frames.offset()
    }

    /// The sequence number the next record must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn fail(&mut self, offset: u64, damage: Damage) -> LogError {
        self.done = true;
        // An unfinished batch is named by its first record, already returned.
        let seq = match damage {
            Damage::UnfinishedBatch { records } => self.next_seq - records,
            _ => self.next_seq,
        };
        damage_error(&self.path, offset, seq, self.frames.file_len(), damage)
    }

    /// The next record, its text borrowed from the reader's buffer until the next call.
    #[inline]
    pub fn next_ref(&mut self) -> Option<Result<RecordRef<'_>, LogError>> {
        if let Some(error) = self.pending.take() {
            self.done = true;
            return Some(Err(error));
        }
        if self.done {
            return None;
        }
        let offset = match self.frames.next_frame() {
            Ok(Next::Frame { offset, .. }) => offset,
            Ok(Next::End) => {
                self.done = true;
                return None;
            }
            Ok(Next::Damaged { offset, damage }) => return Some(Err(self.fail(offset, damage))),
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let damage =
            match codec::decode_record_ref(self.header.format_version, self.frames.payload()) {
                Ok(record) => {
                    match check_position(record.seq, record.at_ms, self.next_seq, self.previous_ms)
                    {
                        Ok(()) => {
                            self.next_seq += 1;
                            self.previous_ms = Some(record.at_ms);
                            return Some(Ok(record));
                        }
                        Err(damage) => damage,
                    }
                }
                Err(e) => Damage::Undecodable(e.to_string()),
            };
        self.done = true;
        let file_len = self.frames.file_len();
        Some(Err(damage_error(
            &self.path,
            offset,
            self.next_seq,
            file_len,
            damage,
        )))
    }

    /// Reads past records while `skip(seq, at_ms)` holds, decoding only their positions.
    fn skip_records_while(&mut self, mut skip: impl FnMut(u64, TimeMs) -> bool) {
        loop {
            let (offset, damage) = match self.frames.next_frame() {
                Ok(Next::Frame { offset, .. }) => {
                    let payload = self.frames.payload();
                    let position = codec::decode_position(self.header.format_version, payload)
                        .map_err(|e| Damage::Undecodable(e.to_string()))
                        .and_then(|(seq, at_ms)| {
                            check_position(seq, at_ms, self.next_seq, self.previous_ms)?;
                            Ok((seq, at_ms))
                        });
                    match position {
                        Ok((seq, at_ms)) if skip(seq, at_ms) => {
                            self.next_seq += 1;
                            self.previous_ms = Some(at_ms);
                            continue;
                        }
                        Ok(_) => return self.frames.unread(offset),
                        Err(damage) => (offset, damage),
                    }
                }
                Ok(Next::End) => return,
                Ok(Next::Damaged { offset, damage }) => (offset, damage),
                Err(e) => {
                    self.pending = Some(e);
                    return;
                }
            };
            self.pending = Some(self.fail(offset, damage));
            return;
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_ref().map(|r| r.map(|r| r.to_owned_record()))
    }
}

/// What a full scan of a log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// Whole, valid records.
    pub records: u64,
    /// Time of the first record.
    pub first_ms: Option<TimeMs>,
    /// Time of the last valid record.
    pub last_ms: Option<TimeMs>,
    /// Byte offset just after the last valid record.
    pub good_len: u64,
    /// Size of the file.
    pub file_len: u64,
}

/// Scans frames and positions (not whole payloads) from the header on. Stops at the first
/// damage and returns it as the error, with the summary of what came before it.
pub(crate) fn scan(
    path: &Path,
    on_record: impl FnMut(IndexEntry),
) -> Result<(Header, ScanSummary, Option<LogError>), LogError> {
    scan_batches(path, on_record, |_| {})
}

/// [`scan`], also calling `on_batch` with the summary after every whole batch (every record
/// of a version-1 log): the places a log can be cut without breaking a batch.
pub(crate) fn scan_batches(
    path: &Path,
    mut on_record: impl FnMut(IndexEntry),
    mut on_batch: impl FnMut(&ScanSummary),
) -> Result<(Header, ScanSummary, Option<LogError>), LogError> {
    let (mut frames, header, file_len) = open_frames(path, HEADER_LEN as u64)?;
    let mut summary = ScanSummary {
        records: 0,
        first_ms: None,
        last_ms: None,
        good_len: HEADER_LEN as u64,
        file_len,
    };
    // What has been read, batches not yet finished included; `summary` only ever holds whole
    // batches, so that its `good_len` is where a torn tail is cut.
    let mut read = summary.clone();
    loop {
        let next = frames.next_frame()?;
        let (offset, damage) = match next {
            Next::End => return Ok((header, summary, None)),
            Next::Damaged { offset, damage } => (offset, damage),
            Next::Frame { offset, more } => {
                let position = codec::decode_position(header.format_version, frames.payload())
                    .map_err(|e| Damage::Undecodable(e.to_string()))
                    .and_then(|(seq, at_ms)| {
                        check_position(seq, at_ms, read.records, read.last_ms)?;
                        Ok((seq, at_ms))
                    });
                match position {
                    Ok((seq, at_ms)) => {
                        on_record(IndexEntry { seq, at_ms, offset });
                        read.records += 1;
                        read.first_ms.get_or_insert(at_ms);
                        read.last_ms = Some(at_ms);
                        read.good_len = frames.offset();
                        if !more {
                            summary = read.clone();
                            on_batch(&summary);
                        }
                        continue;
                    }
                    Err(damage) => (offset, damage),
                }
            }
        };
        // Damage inside a batch is named where it is; the batch is cut whole.
        let seq = match damage {
            Damage::UnfinishedBatch { .. } => summary.records,
            _ => read.records,
        };
        let error = damage_error(path, offset, seq, file_len, damage);
        return Ok((header, summary, Some(error)));
    }
}

/// A log opened for random reads: one scan on open builds a sparse index (one entry per
/// 64 KiB of log) so that reading from a sequence number or a time seeks instead of scanning.
///
/// Damage found by the scan does not stop `open`: the readers return every record before it,
/// then the error.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    header: Header,
    summary: ScanSummary,
    index: SparseIndex,
    damage: Option<String>,
}

impl LogFile {
    /// Opens and scans `path`.
    pub fn open(path: &Path) -> Result<LogFile, LogError> {
        let mut index = SparseIndex::default();
        let (header, summary, damage) = scan(path, |entry| index.note(entry))?;
        let damage = damage.map(|e| e.to_string());
        Ok(LogFile {
            path: path.to_owned(),
            header,
            summary,
            index,
            damage,
        })
    }

    /// The log's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What the scan found.
    pub fn summary(&self) -> &ScanSummary {
        &self.summary
    }

    /// The damage the scan stopped at, if any (readers report it in full when they reach it).
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    /// The sparse index.
    pub fn index(&self) -> &[IndexEntry] {
        self.index.entries()
    }

    /// Streams from the first record.
    pub fn records(&self) -> Result<Records, LogError> {
        Records::open(&self.path)
    }

    /// Streams the records with `seq >= from_seq`.
    pub fn records_from_seq(&self, from_seq: u64) -> Result<Records, LogError> {
        Records::open_from_seq(&self.path, &self.index, from_seq)
    }

    /// Streams the records with `at_ms >= from_ms` (times never decrease along the log).
    pub fn records_from_time(&self, from_ms: TimeMs) -> Result<Records, LogError> {
        let entries = self.index.entries();
        let at = entries.partition_point(|e| e.at_ms < from_ms);
        let mut records = Records::open_at(&self.path, at.checked_sub(1).map(|i| entries[i]))?;
        records.skip_records_while(|_, at_ms| at_ms < from_ms);
        Ok(records)
    }
}
