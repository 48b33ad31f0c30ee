//! Records on the wire, for read replicas (`/_cdnsim/events?format=frames`): each record
//! framed alone, exactly as a version-1 log frames it — a CRC-32C (u32 LE) of what follows, the
//! payload's length (u32 LE), then the payload as the log stores it — so that what a replica
//! folds went through the same codec and the same checks as what the primary folded.

use super::codec::{self, CodecError, MAX_PAYLOAD_LEN};
use super::frame::frame_crc;
use super::{FRAME_HEADER_LEN, MORE_IN_BATCH};
use crate::event::{Record, RecordRef};

/// The payload format records travel in.
const WIRE_FORMAT: u16 = 1;

/// Appends `record`, framed, to `out`.
pub fn put(record: &Record, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    let len = match codec::encode_record(record.seq, record.at_ms, &record.event, out) {
        Ok(len) => len,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    // A record the log took fits in a frame: its payload is at most MAX_PAYLOAD_LEN.
    out[start + 4..start + 8].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = frame_crc(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Why bytes received are not framed records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame's checksum does not match.
    #[error("frame at byte {offset}: bad checksum")]
    Checksum {
        /// Where the frame starts.
        offset: usize,
    },
    /// A frame's length is not one a record can have.
    #[error("frame at byte {offset}: bad length {len}")]
    Length {
        /// Where the frame starts.
        offset: usize,
        /// The length field.
        len: u32,
    },
    /// A payload does not decode.
    #[error("frame at byte {offset}: {detail}")]
    Payload {
        /// Where the frame starts.
        offset: usize,
        /// The codec's words.
        detail: String,
    },
    /// The bytes end inside a frame.
    #[error("the stream ends inside the frame at byte {offset}")]
    Cut {
        /// Where the frame starts.
        offset: usize,
    },
}

/// Reads framed records from a whole answer, borrowing their text from it.
pub struct WireRecords<'a> {
    bytes: &'a [u8],
    offset: usize,
    /// The payload format, and whether frames may say more of their batch follows.
    format: u16,
    batches: bool,
}

impl<'a> WireRecords<'a> {
    /// The records of `bytes`.
    pub fn new(bytes: &'a [u8]) -> WireRecords<'a> {
        WireRecords {
            bytes,
            offset: 0,
            format: WIRE_FORMAT,
            batches: false,
        }
    }

    /// The records of `bytes` cut from the record section of a log of format `version` (a
    /// stream's messages): frames as that log frames them, batch marks included.
    pub fn of_log(bytes: &'a [u8], version: u16) -> WireRecords<'a> {
        WireRecords {
            bytes,
            offset: 0,
            format: version,
            batches: version >= super::BATCHES_VERSION,
        }
    }
}

impl<'a> Iterator for WireRecords<'a> {
    type Item = Result<RecordRef<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.offset;
        let rest = &self.bytes[offset..];
        if rest.is_empty() {
            return None;
        }
        let result = (|| {
            let head = rest
                .get(..FRAME_HEADER_LEN)
                .ok_or(WireError::Cut { offset })?;
            let crc = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            let more = if self.batches { MORE_IN_BATCH } else { 0 };
            if len & !more & MORE_IN_BATCH != 0 || (len & !more) as usize > MAX_PAYLOAD_LEN {
                return Err(WireError::Length { offset, len });
            }
            let end = FRAME_HEADER_LEN + (len & !more) as usize;
            let frame = rest.get(..end).ok_or(WireError::Cut { offset })?;
            if frame_crc(&frame[4..]) != crc {
                return Err(WireError::Checksum { offset });
            }
            let record = codec::decode_record_ref(self.format, &frame[FRAME_HEADER_LEN..])
                .map_err(|e| WireError::Payload {
                    offset,
                    detail: e.to_string(),
                })?;
            Ok((record, end))
        })();
        match result {
            Ok((record, end)) => {
                self.offset += end;
                Some(Ok(record))
            }
            Err(e) => {
                // Nothing after a bad frame can be trusted.
                self.offset = self.bytes.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, TaskId};

    fn records() -> Vec<Record> {
        (0..5)
            .map(|row| Record {
                seq: row,
                at_ms: 1_000 + row as i64,
                event: Event::Created {
                    row,
                    task_id: TaskId(7),
                    domain: "a.com".into(),
                    object_path: format!("http://a.com/{row}"),
                    object_type: crate::event::ObjectType::File,
                    source: crate::event::Source::Api,
                },
            })
            .collect()
    }

    #[test]
    fn records_round_trip_and_damage_is_named() {
        let mut bytes = Vec::new();
        for r in records() {
            put(&r, &mut bytes).expect("encodes");
        }
        let back: Vec<Record> = WireRecords::new(&bytes)
            .map(|r| r.expect("whole").to_owned_record())
            .collect();
        assert_eq!(back, records());

        let cut = &bytes[..bytes.len() - 3];
        let last = WireRecords::new(cut).last().expect("some");
        assert!(matches!(last, Err(WireError::Cut { .. })), "{last:?}");

        let mut flipped = bytes.clone();
        flipped[FRAME_HEADER_LEN + 2] ^= 0x40;
        let first = WireRecords::new(&flipped).next().expect("one");
        assert_eq!(first, Err(WireError::Checksum { offset: 0 }));
        // Nothing is read past a bad frame.
        assert_eq!(WireRecords::new(&flipped).count(), 1);
    }
}
