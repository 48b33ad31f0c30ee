//! Reading frames (length, checksum, payload) and telling a torn tail from corruption.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::codec::MAX_PAYLOAD_LEN;
use super::{Damage, FRAME_HEADER_LEN, LogError, MAX_FRAME_LEN, MORE_IN_BATCH};

/// Bytes read from the file at a time. Memory use of a reader is this plus one frame.
const CHUNK_LEN: usize = 256 * 1024;

/// Checksum of a frame: CRC-32C over everything after the checksum field (the length, then
/// the payload), which lie next to each other so that one pass covers both.
pub(crate) fn frame_crc(len_and_payload: &[u8]) -> u32 {
    super::crc::crc32c(len_and_payload)
}

/// The stored checksum and the length of a frame header.
fn parse_frame_header(head: &[u8]) -> (u32, u32) {
    let stored = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    (stored, len)
}

/// What the next frame looks like.
pub(crate) enum Next {
    /// A whole frame with a matching checksum starts at `offset`; see [`FrameReader::payload`].
    Frame {
        /// Byte offset of the frame.
        offset: u64,
        /// The next frame is in the same batch (version-2 logs).
        more: bool,
    },
    /// The file ends exactly after the last frame.
    End,
    /// The frame at `offset` is damaged.
    Damaged {
        /// Byte offset of the damaged frame.
        offset: u64,
        /// What is wrong.
        damage: Damage,
    },
}

/// Streams frames from a file in fixed-size chunks; the payload is a slice of the chunk buffer.
pub(crate) struct FrameReader {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
    /// End of valid bytes in `buf`.
    end: usize,
    /// File offset of `buf[pos]`.
    offset: u64,
    /// Bytes of the file this reader will look at.
    file_len: u64,
    /// Range of the last payload in `buf`.
    payload: (usize, usize),
    /// Length fields carry [`MORE_IN_BATCH`] (version-2 logs).
    batches: bool,
    /// The batch being read: its first frame's offset and its frames so far.
    open_batch: Option<(u64, u64)>,
    /// `open_batch` before the last frame, for [`FrameReader::unread`].
    before_last: Option<(u64, u64)>,
}

impl FrameReader {
    /// A reader over `file` from `start` (a frame boundary) to `file_len`.
    pub(crate) fn new(
        mut file: File,
        path: &Path,
        start: u64,
        file_len: u64,
        batches: bool,
    ) -> Result<FrameReader, LogError> {
        file.seek(SeekFrom::Start(start))
            .map_err(|e| LogError::io(path, "seek", e))?;
        Ok(FrameReader {
            file,
            path: path.to_owned(),
            buf: vec![0; CHUNK_LEN + MAX_FRAME_LEN],
            pos: 0,
            end: 0,
            offset: start,
            file_len,
            payload: (0, 0),
            batches,
            open_batch: None,
            before_last: None,
        })
    }

    /// The length and the batch bit of a raw length field.
    #[inline]
    fn split_len(&self, raw: u32) -> (u32, bool) {
        if self.batches {
            (raw & !MORE_IN_BATCH, raw & MORE_IN_BATCH != 0)
        } else {
            (raw, false)
        }
    }

    /// Notes a frame read at `offset`; returns what the caller gets.
    #[inline]
    fn framed(&mut self, offset: u64, more: bool) -> Next {
        self.before_last = self.open_batch;
        if more {
            self.open_batch.get_or_insert((offset, 0)).1 += 1;
        } else {
            self.open_batch = None;
        }
        Next::Frame { offset, more }
    }

    /// The file offset where the next frame starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes of the file this reader covers.
    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Steps back over the frame the last [`Next::Frame`] named (which started at `offset`), so
    /// that the next call returns it again.
    pub(crate) fn unread(&mut self, offset: u64) {
        let frame_len = (self.offset - offset) as usize;
        debug_assert!(
            frame_len <= self.pos,
            "unread of a frame no longer buffered"
        );
        self.pos -= frame_len;
        self.offset = offset;
        self.open_batch = self.before_last;
    }

    /// The payload of the frame the last [`Next::Frame`] named.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.buf[self.payload.0..self.payload.1]
    }

    /// Makes `n` bytes (no more than the file holds) available at `buf[pos..]`.
    fn fill(&mut self, n: usize) -> Result<(), LogError> {
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let file_left = self.file_len - self.offset - self.end as u64;
        let want =
            (self.buf.len() - self.end).min(usize::try_from(file_left).unwrap_or(usize::MAX));
        let mut got = 0;
        while got < want {
            let read = self
                .file
                .read(&mut self.buf[self.end + got..self.end + want]);
            match read {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LogError::io(&self.path, "read", e)),
            }
        }
        self.end += got;
        if got < want {
            // The file shrank under us: report it as the I/O problem it is.
            let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file shrank");
            return Err(LogError::io(&self.path, "read", e));
        }
        Ok(())
    }

    /// Reads the next frame and checks its length and checksum.
    #[inline]
    pub(crate) fn next_frame(&mut self) -> Result<Next, LogError> {
        // Fast path: a whole, valid frame is already buffered.
        if let Some(head) = self.buf.get(self.pos..self.pos + FRAME_HEADER_LEN)
            && self.pos + FRAME_HEADER_LEN <= self.end
        {
            let (stored, raw) = parse_frame_header(head);
            let (len, more) = self.split_len(raw);
            let frame_end = self.pos + FRAME_HEADER_LEN + len as usize;
            if len != 0
                && len as usize <= MAX_PAYLOAD_LEN
                && frame_end <= self.end
                && frame_crc(&self.buf[self.pos + 4..frame_end]) == stored
            {
                let offset = self.offset;
                self.payload = (self.pos + FRAME_HEADER_LEN, frame_end);
                self.offset += (frame_end - self.pos) as u64;
                self.pos = frame_end;
                return Ok(self.framed(offset, more));
            }
        }
        self.next_frame_slow()
    }

    /// Everything the fast path does not cover: refills, the end, damage.
    #[cold]
    #[inline(never)]
    fn next_frame_slow(&mut self) -> Result<Next, LogError> {
        let offset = self.offset;
        let remaining = self.file_len - offset;
        if remaining == 0 {
            // A batch whose last frame never came is cut whole, from its first frame.
            return Ok(match self.open_batch.take() {
                Some((start, records)) => Next::Damaged {
                    offset: start,
                    damage: Damage::UnfinishedBatch { records },
                },
                None => Next::End,
            });
        }
        if remaining < FRAME_HEADER_LEN as u64 {
            return Ok(Next::Damaged {
                offset,
                damage: Damage::ShortFrameHeader { remaining },
            });
        }
        self.fill(FRAME_HEADER_LEN)?;
        let (stored, raw) = parse_frame_header(&self.buf[self.pos..self.pos + FRAME_HEADER_LEN]);
        let (len, more) = self.split_len(raw);
        if len == 0 || len as usize > MAX_PAYLOAD_LEN {
            return Ok(Next::Damaged {
                offset,
                damage: Damage::BadLength(len),
            });
        }
        let payload_left = remaining - FRAME_HEADER_LEN as u64;
        if u64::from(len) > payload_left {
            let damage = Damage::PastEnd {
                len,
                remaining: payload_left,
            };
            return Ok(Next::Damaged { offset, damage });
        }
        let frame_len = FRAME_HEADER_LEN + len as usize;
        self.fill(frame_len)?;
        let start = self.pos + FRAME_HEADER_LEN;
        let computed = frame_crc(&self.buf[self.pos + 4..self.pos + frame_len]);
        if computed != stored {
            return Ok(Next::Damaged {
                offset,
                damage: Damage::Checksum { stored, computed },
            });
        }
        self.payload = (start, self.pos + frame_len);
        self.pos += frame_len;
        self.offset += frame_len as u64;
        Ok(self.framed(offset, more))
    }
}

/// True when `bytes[p..]` starts with a whole frame whose checksum matches.
fn valid_frame_at(bytes: &[u8], p: usize) -> bool {
    let Some(head) = bytes.get(p..p + FRAME_HEADER_LEN) else {
        return false;
    };
    let (stored, raw) = parse_frame_header(head);
    // Either form of the length field: a batch bit makes a frame no less valid.
    let len = (raw & !MORE_IN_BATCH) as usize;
    if len == 0 || len > MAX_PAYLOAD_LEN {
        return false;
    }
    bytes
        .get(p + 4..p + FRAME_HEADER_LEN + len)
        .is_some_and(|rest| frame_crc(rest) == stored)
}

/// Decides whether damage at `offset` is a torn tail: fewer bytes than one maximal frame remain
/// and no valid frame starts after `offset`. Reads at most [`MAX_FRAME_LEN`] bytes.
pub(crate) fn is_torn_tail(path: &Path, offset: u64, file_len: u64) -> Result<bool, LogError> {
    let remaining = file_len.saturating_sub(offset);
    let mut file = File::open(path).map_err(|e| LogError::io(path, "open", e))?;
    if remaining > MAX_FRAME_LEN as u64 {
        // A crash can leave a long run of zeros where the file grew but data never landed.
        return all_zero(&mut file, path, offset);
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| LogError::io(path, "seek", e))?;
    let mut tail = Vec::with_capacity(remaining as usize);
    file.take(remaining)
        .read_to_end(&mut tail)
        .map_err(|e| LogError::io(path, "read", e))?;
    Ok(!(1..tail.len()).any(|p| valid_frame_at(&tail, p)))
}

/// True when every byte from `offset` to the end is zero.
fn all_zero(file: &mut File, path: &Path, offset: u64) -> Result<bool, LogError> {
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| LogError::io(path, "seek", e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) if buf[..n].iter().any(|&b| b != 0) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LogError::io(path, "read", e)),
        }
    }
}

/// The error for damage at `offset`, told apart into torn tail or corruption.
pub(crate) fn damage_error(
    path: &Path,
    offset: u64,
    seq: u64,
    file_len: u64,
    damage: Damage,
) -> LogError {
    if let Damage::UnfinishedBatch { .. } = damage {
        return LogError::TornTail {
            path: path.to_owned(),
            offset,
            seq,
            bytes: file_len - offset,
            damage,
        };
    }
    let frame_level = matches!(
        damage,
        Damage::ShortFrameHeader { .. }
            | Damage::BadLength(_)
            | Damage::PastEnd { .. }
            | Damage::Checksum { .. }
    );
    let torn = match frame_level {
        true => match is_torn_tail(path, offset, file_len) {
            Ok(torn) => torn,
            Err(e) => return e,
        },
        false => false,
    };
    let path = path.to_owned();
    if torn {
        LogError::TornTail {
            path,
            offset,
            seq,
            bytes: file_len - offset,
            damage,
        }
    } else {
        LogError::Corrupt {
            path,
            offset,
            seq,
            damage,
        }
    }
}
