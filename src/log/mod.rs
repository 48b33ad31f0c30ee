//! The append-only event log: the one source of truth.
//!
//! A log file is a 56-byte [`Header`] followed by framed records:
//!
//! ```text
//! frame := crc: u32 LE | len: u32 LE | payload: [u8; len]
//! crc   := CRC-32C over the 4 length bytes and the payload (all of the frame after crc)
//! ```
//!
//! The payload is one [`Record`] encoded by [`codec`]. Sequence numbers are dense from 0 and
//! times never decrease; readers check both, so a log that passes [`Records`] is whole.
//!
//! # Batches (format version 2)
//!
//! In a version-2 log the top bit of a frame's length field ([`MORE_IN_BATCH`], covered by the
//! checksum) says that the next frame belongs to the same *batch*; a batch ends with a frame
//! without it. A batch is atomic: one whose last frame is missing at the end of the file is
//! a torn tail, cut whole. The server appends each write (and each step of the clock) as one
//! batch. Version 1 has no batches (every record stands alone); `simulate` still writes
//! version 1, so its logs are byte-identical to earlier releases'.
//!
//! - [`LogWriter`] appends through its own buffer, with explicit [`LogWriter::flush`] and
//!   [`LogWriter::sync`] (fsync) so that callers decide when data is durable (group commit).
//!   [`LogWriter::open_append`] recovers a torn tail.
//! - [`Records`] streams a log from the start in constant memory.
//! - [`LogFile`] scans a log once, keeps a sparse index (one entry per 64 KiB), and streams from
//!   a sequence number or a time.
//!
//! # Damage
//!
//! A damaged frame is a *torn tail* when it is the last thing in the file: fewer bytes remain
//! than one maximal frame and no valid frame starts anywhere after it (what a crash in the
//! middle of a write leaves). Anything else — a bad checksum or impossible length with a valid
//! frame after it, a payload that does not decode, a gap in sequence numbers, a time going
//! backwards — is corruption. Readers report both with the byte offset and the sequence
//! number the damaged record should have had; only `open_append` cuts a torn tail — never one
//! inside the part of the log the synced checkpoint says was durable — and it never touches
//! corruption; only [`truncate_at`] (`cdnsim repair`) cuts synced records.

pub mod backend;
mod checkpoint;
pub mod codec;
mod crc;
mod frame;
mod header;
#[cfg(feature = "nats")]
pub mod jetstream;
mod reader;
pub mod wire;
mod writer;

use std::path::{Path, PathBuf};

pub use backend::{FileBackend, LogBackend};
pub use checkpoint::{Synced, checkpoint_path, read_synced};
pub use header::{HEADER_LEN, Header, HeaderProblem, MAGIC};
pub use reader::{IndexEntry, LogFile, Records, ScanSummary, SharedIndex, SparseIndex};
pub use writer::{
    LogWriter, Recovery, Truncated, check_against_checkpoint, sync_parent_dir, truncate_at,
};

use crate::event::Record;

/// The newest format version this build writes (version 2: batches); it reads every version
/// up to this one.
pub const FORMAT_VERSION: u16 = 2;

/// The first format version with batches.
pub const BATCHES_VERSION: u16 = 2;

/// In a version-2 log, the length field's top bit: the next frame is in the same batch.
pub const MORE_IN_BATCH: u32 = 1 << 31;

/// Bytes of frame header (length and checksum) before each payload.
pub const FRAME_HEADER_LEN: usize = 8;

/// The largest frame a log may hold.
pub const MAX_FRAME_LEN: usize = FRAME_HEADER_LEN + codec::MAX_PAYLOAD_LEN;

/// What is wrong with a damaged record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// Fewer than eight bytes where a frame header should be.
    ShortFrameHeader {
        /// Bytes present.
        remaining: u64,
    },
    /// A length of zero or above [`codec::MAX_PAYLOAD_LEN`].
    BadLength(u32),
    /// The length points past the end of the file.
    PastEnd {
        /// Length the frame claims.
        len: u32,
        /// Payload bytes actually present.
        remaining: u64,
    },
    /// The checksum does not match the bytes.
    Checksum {
        /// Checksum stored in the frame.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
    /// The checksum matches but the payload does not decode.
    Undecodable(String),
    /// The record carries another sequence number than the next one.
    SeqGap {
        /// Sequence number found.
        found: u64,
    },
    /// The log ends inside a batch: its last frame never reached the file.
    UnfinishedBatch {
        /// Records of the batch present.
        records: u64,
    },
    /// The record's time is earlier than the one before it.
    TimeBackwards {
        /// Time found, ms.
        at_ms: i64,
        /// Time of the previous record, ms.
        previous_ms: i64,
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::ShortFrameHeader { remaining } => {
                write!(
                    f,
                    "only {remaining} bytes where an 8-byte frame header should be"
                )
            }
            Damage::BadLength(len) => write!(f, "impossible record length {len}"),
            Damage::PastEnd { len, remaining } => write!(
                f,
                "record length {len} points past the end of the file ({remaining} bytes left)"
            ),
            Damage::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Damage::Undecodable(why) => write!(f, "checksum matches but {why}"),
            Damage::SeqGap { found } => write!(f, "record carries seq {found}"),
            Damage::UnfinishedBatch { records } => write!(
                f,
                "the log ends inside a batch ({records} of its records present, not its last)"
            ),
            Damage::TimeBackwards { at_ms, previous_ms } => {
                write!(f, "time goes backwards ({at_ms} ms after {previous_ms} ms)")
            }
        }
    }
}

/// Errors of the log layer. Every variant names the file (or, for a backend, the place).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The operating system refused a read, write or sync.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a cdnsim log at all.
    #[error("{path}: not a cdnsim log: {reason}")]
    NotALog {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A newer cdnsim wrote the file.
    #[error(
        "{path}: log format version {found} is newer than this cdnsim supports ({supported}); \
         upgrade cdnsim to read it"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// Version in the header.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The header's checksum does not match.
    #[error("{path}: corrupt header: {reason}")]
    CorruptHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A damaged record in the middle of the log.
    #[error("{path}: corrupt record at byte offset {offset} (seq {seq}): {damage}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the damaged frame.
        offset: u64,
        /// Sequence number the record should have.
        seq: u64,
        /// What is wrong.
        damage: Damage,
    },
    /// An incomplete last record, as a crash during a write leaves it.
    #[error(
        "{path}: torn tail at byte offset {offset} (seq {seq}): {damage}; {bytes} bytes after \
         the last whole record (opening the log for append cuts them)"
    )]
    TornTail {
        /// The file.
        path: PathBuf,
        /// Byte offset where the torn record starts.
        offset: u64,
        /// Sequence number the record would have had.
        seq: u64,
        /// Bytes from `offset` to the end of the file.
        bytes: u64,
        /// What is wrong with it.
        damage: Damage,
    },
    /// Damage, or the end of the file, inside the part of the log that was synced: records
    /// there may have been acknowledged, so nothing is cut without `cdnsim repair`.
    #[error(
        "{path}: damage at byte offset {offset} (seq {seq}) inside the synced part of the log \
         (durable up to byte {synced_len}): {damage}. Records there were written durably and \
         may have been acknowledged, so nothing was cut. Keep a copy, then \
         `cdnsim repair {path} --truncate-at {cut_at}` drops everything from byte {cut_at} on \
         (it keeps a backup)"
    )]
    SyncedDamage {
        /// The file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// Sequence number of the damaged record.
        seq: u64,
        /// Bytes known durable (the synced checkpoint).
        synced_len: u64,
        /// Where a repair would cut: the end of the last whole batch before the damage.
        cut_at: u64,
        /// What is wrong.
        damage: String,
    },
    /// A repair was asked to cut where it cannot.
    #[error("{path}: cannot cut at byte {offset}: {reason}")]
    BadCut {
        /// The file.
        path: PathBuf,
        /// The offset asked for.
        offset: u64,
        /// Why not.
        reason: String,
    },
    /// An event could not be appended.
    #[error("{path}: cannot append seq {seq}: {reason}")]
    Append {
        /// The file.
        path: PathBuf,
        /// The sequence number it would have had.
        seq: u64,
        /// Why not.
        reason: String,
    },
    /// An earlier write failed, so the file's end is unknown; reopen to recover.
    #[error("{path}: an earlier write failed; reopen the log to recover its tail")]
    Poisoned {
        /// The file.
        path: PathBuf,
    },
    /// A log backend other than the file (a JetStream stream) refused or failed; the message
    /// names it.
    #[error("{0}")]
    Backend(String),
}

impl LogError {
    /// True when the error is damage found in the data (exit code 1), false when the input was
    /// unusable or the system failed (exit code 2).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            LogError::Corrupt { .. }
                | LogError::TornTail { .. }
                | LogError::CorruptHeader { .. }
                | LogError::SyncedDamage { .. }
        )
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> LogError {
        LogError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }

    pub(crate) fn from_header(path: &Path, problem: HeaderProblem) -> LogError {
        let path = path.to_owned();
        match problem {
            HeaderProblem::Empty => LogError::NotALog {
                path,
                reason: "the file is empty".into(),
            },
            HeaderProblem::NoMagic => LogError::NotALog {
                path,
                reason: "it does not start with the magic bytes \"CDNSIMLG\"".into(),
            },
            HeaderProblem::Truncated(n) => LogError::NotALog {
                path,
                reason: format!("the header is cut short ({n} of {HEADER_LEN} bytes)"),
            },
            HeaderProblem::FutureVersion(found) => LogError::FutureVersion {
                path,
                found,
                supported: FORMAT_VERSION,
            },
            HeaderProblem::ZeroVersion => LogError::CorruptHeader {
                path,
                reason: "format version 0 does not exist".into(),
            },
            HeaderProblem::BadChecksum { stored, computed } => LogError::CorruptHeader {
                path,
                reason: format!(
                    "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                ),
            },
        }
    }
}

/// Convenience: reads every record of a log into memory (tests and small tools only; use
/// [`Records`] to stream).
pub fn read_all(path: &Path) -> Result<(Header, Vec<Record>), LogError> {
    let records = Records::open(path)?;
    let header = *records.header();
    let all = records.collect::<Result<Vec<_>, _>>()?;
    Ok((header, all))
}
