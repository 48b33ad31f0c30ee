//! The append side: a buffered writer with explicit flush and sync, and torn-tail recovery.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::codec::{self, MAX_PAYLOAD_LEN};
use super::frame::frame_crc;
use super::header::Header;
use super::reader::scan;
use super::{FRAME_HEADER_LEN, LogError};
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
    next_seq: u64,
    last_ms: Option<TimeMs>,
    /// Bytes handed to the file so far (header included); buffered bytes come on top.
    written: u64,
    poisoned: bool,
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
        sync_parent_dir(path)?;
        Ok(LogWriter::new(
            file,
            path,
            header,
            0,
            None,
            super::HEADER_LEN as u64,
        ))
    }

    /// Opens an existing log to append to it. A torn last record is cut off (with a warning
    /// naming the byte offset); corruption anywhere else is an error and nothing is changed.
    pub fn open_append(path: &Path) -> Result<(LogWriter, Recovery), LogError> {
        let (header, summary, damage) = scan(path, |_| {})?;
        let cut = match damage {
            None => None,
            Some(LogError::TornTail {
                offset,
                bytes,
                seq,
                damage,
                ..
            }) => {
                tracing::warn!(
                    path = %path.display(),
                    offset,
                    bytes,
                    seq,
                    "torn tail at byte offset {offset}: cutting {bytes} bytes ({damage})"
                );
                Some((offset, bytes))
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
        let writer = LogWriter::new(
            file,
            path,
            header,
            summary.records,
            summary.last_ms,
            summary.good_len,
        );
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
            next_seq,
            last_ms,
            written,
            poisoned: false,
        }
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
        // `len <= MAX_PAYLOAD_LEN` (64 KiB), so it fits in u32.
        self.buf[start + 4..start + 8].copy_from_slice(&(len as u32).to_le_bytes());
        let crc = frame_crc(&self.buf[start + 4..]);
        self.buf[start..start + 4].copy_from_slice(&crc.to_le_bytes());
        self.next_seq += 1;
        self.last_ms = Some(at_ms);
        if self.buf.len() >= WRITE_BUFFER_LEN {
            self.write_buffer()?;
        }
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
        if let Err(e) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            return Err(LogError::io(&self.path, "write", e));
        }
        self.written += self.buf.len() as u64;
        self.buf.clear();
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
        })
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
