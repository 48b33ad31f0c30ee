//! The one place that knows how a [`Record`] becomes bytes and back.
//!
//! Payloads are bincode 2 with the explicit [`CONFIG`] below (little-endian, variable-length
//! integers, a decode limit of [`MAX_PAYLOAD_LEN`]). Everything else in the crate goes through
//! [`encode_record`] and [`decode_record`], so swapping bincode for another codec touches this
//! file only. Golden-bytes tests at the bottom pin the encoding of every event variant: if a
//! dependency update changes one byte, they fail.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};

use crate::event::{Event, Record, RecordRef, TimeMs};

/// Largest payload a record may carry, in bytes. A `Created` event with a 4 KiB URL is far
/// below it; anything larger is refused by the writer and treated as a damaged frame by readers.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;

/// The bincode configuration of every payload. Changing any part of it changes the wire
/// format: bump [`super::FORMAT_VERSION`] and keep decoding the old one.
pub const CONFIG: Configuration<LittleEndian, Varint, Limit<MAX_PAYLOAD_LEN>> =
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<MAX_PAYLOAD_LEN>();

/// Why a payload could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// bincode refused to encode.
    #[error("cannot encode event: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    /// bincode refused to decode.
    #[error("cannot decode payload: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// The payload decoded but left bytes over.
    #[error("payload has {0} trailing bytes after the record")]
    TrailingBytes(usize),
    /// The log's format version has no decoder here.
    #[error("no decoder for format version {0}")]
    UnknownVersion(u16),
}

/// Borrowed view of a record for encoding, field for field the same as [`Record`].
#[derive(bincode::Encode)]
struct RecordView<'a> {
    seq: u64,
    at_ms: TimeMs,
    event: &'a Event,
}

/// Appends bytes to a `Vec` without the `io::Write` detour.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for VecWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the payload of one record to `out`; returns the number of bytes written.
pub fn encode_record(
    seq: u64,
    at_ms: TimeMs,
    event: &Event,
    out: &mut Vec<u8>,
) -> Result<usize, CodecError> {
    let before = out.len();
    let record = RecordView { seq, at_ms, event };
    bincode::encode_into_writer(&record, VecWriter(out), CONFIG)?;
    Ok(out.len() - before)
}

/// Decodes one whole payload written under `format_version`.
pub fn decode_record(format_version: u16, payload: &[u8]) -> Result<Record, CodecError> {
    decode_record_ref(format_version, payload).map(|r| r.to_owned_record())
}

/// Decodes one whole payload written under `format_version`, borrowing its text.
#[inline]
pub fn decode_record_ref(format_version: u16, payload: &[u8]) -> Result<RecordRef<'_>, CodecError> {
    match format_version {
        // Version 2 changed the frames (batches), not the payload.
        1 | 2 => {
            let (record, used): (RecordRef<'_>, usize) =
                bincode::borrow_decode_from_slice(payload, CONFIG)?;
            if used != payload.len() {
                return Err(CodecError::TrailingBytes(payload.len() - used));
            }
            Ok(record)
        }
        other => Err(CodecError::UnknownVersion(other)),
    }
}

/// Decodes only the sequence number and time that open every payload (cheap; for indexing).
pub fn decode_position(format_version: u16, payload: &[u8]) -> Result<(u64, TimeMs), CodecError> {
    match format_version {
        1 | 2 => {
            let (position, _): ((u64, TimeMs), usize) =
                bincode::decode_from_slice(payload, CONFIG)?;
            Ok(position)
        }
        other => Err(CodecError::UnknownVersion(other)),
    }
}

/// Largest state image [`decode_state`] accepts: a bound on what a damaged length prefix can
/// make it allocate (load-1m's million rows image to about 200 MB).
pub const MAX_STATE_LEN: usize = 1 << 36;

/// The bincode configuration of state images (snapshots): the payloads' encoding with a
/// bound fit for a whole read model.
pub const STATE_CONFIG: Configuration<LittleEndian, Varint, Limit<MAX_STATE_LEN>> =
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<MAX_STATE_LEN>();

/// Writes the image of a piece of state (a snapshot's simulator or read model) to `out` (a
/// file), without the whole image in memory.
pub fn encode_state_to<T: bincode::Encode, W: std::io::Write>(
    value: &T,
    out: &mut W,
) -> Result<(), CodecError> {
    bincode::encode_into_std_write(value, out, STATE_CONFIG)?;
    Ok(())
}

/// Decodes a whole image written by [`encode_state_to`].
pub fn decode_state<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used): (T, usize) = bincode::decode_from_slice(bytes, STATE_CONFIG)?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FailReason, ObjectType, Process, RuleUse, Source, TaskId};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[track_caller]
    fn check(seq: u64, at_ms: TimeMs, event: Event, want_hex: &str) {
        let mut buf = Vec::new();
        let n = encode_record(seq, at_ms, &event, &mut buf).expect("encodes");
        assert_eq!(n, buf.len());
        assert_eq!(hex(&buf), want_hex, "encoding of {event:?} changed");
        let back = decode_record(1, &buf).expect("decodes");
        assert_eq!(back, Record { seq, at_ms, event });
        assert_eq!(decode_position(1, &buf).expect("position"), (seq, at_ms));
    }

    // 2018-01-10T09:48:29.123Z
    const AT: TimeMs = 1_515_577_709_123;

    #[test]
    fn a_state_image_round_trips_and_refuses_trailing_bytes() {
        let value = (vec![(3u64, -5i64), (u64::MAX, 7)], String::from("ok"));
        let mut bytes = Vec::new();
        encode_state_to(&value, &mut bytes).expect("encodes");
        let back: (Vec<(u64, i64)>, String) = decode_state(&bytes).expect("decodes");
        assert_eq!(back, value);
        bytes.push(0);
        let refused = decode_state::<(Vec<(u64, i64)>, String)>(&bytes);
        assert!(matches!(refused, Err(CodecError::TrailingBytes(1))));
    }

    #[test]
    fn golden_created() {
        let event = Event::Created {
            row: 0,
            task_id: TaskId(704_225_667),
            domain: "aaa.com".into(),
            object_path: "http://aaa.com/1.txt".into(),
            object_type: ObjectType::File,
            source: Source::Scenario,
        };
        check(
            0,
            AT,
            event,
            // seq 0 | time: zigzag varint, u64 marker fd | variant 0 | row 0 |
            // task id: u32 marker fc | len 7 "aaa.com" | len 20 "http://aaa.com/1.txt" |
            // File | Scenario
            "00fd8624f1bec102000000\
             00fc83a1f929\
             076161612e636f6d14687474703a2f2f6161612e636f6d2f312e747874\
             0000",
        );
    }

    #[test]
    fn golden_created_every_type_and_source() {
        let cases = [
            (ObjectType::Directory, Source::Api, "0101"),
            (ObjectType::Regex, Source::Scenario, "0200"),
            (ObjectType::IgnoreParams, Source::Api, "0301"),
            (ObjectType::Preload, Source::Scenario, "0400"),
        ];
        for (object_type, source, tail) in cases {
            let event = Event::Created {
                row: 300,
                task_id: TaskId(14_286_878_547),
                domain: "b.cn".into(),
                object_path: "http://b.cn/".into(),
                object_type,
                source,
            };
            let want = format!(
                "07fd8624f1bec102000000\
                 fb2c01fd5377905303000000\
                 04622e636e0c687474703a2f2f622e636e2f{tail}"
            );
            check(7, AT, event, &want);
        }
    }

    #[test]
    fn golden_progressed() {
        let process = Process::from_basis_points(9937).expect("valid");
        // seq 1 | time | variant 1 | row 5 | process 9937 as u16 marker fb + LE bytes
        check(
            1,
            AT,
            Event::Progressed { row: 5, process },
            "01fd8624f1bec10200000105fbd126",
        );
    }

    #[test]
    fn golden_completed() {
        check(
            2,
            AT + 1,
            Event::Completed { row: 251 },
            "02fd8824f1bec102000002fbfb00",
        );
    }

    #[test]
    fn golden_failed_every_reason() {
        let cases = [
            (FailReason::InternalError, "00"),
            (FailReason::OriginTimeout, "01"),
            (FailReason::OriginStatus5xx, "02"),
        ];
        for (reason, tail) in cases {
            let want = format!("03fd8624f1bec10200000309{tail}");
            check(3, AT, Event::Failed { row: 9, reason }, &want);
        }
    }

    #[test]
    fn golden_rule_records() {
        // seq 4 | time | variant 4 | rule: len 11 + JSON | source 1 (api)
        let added = Event::RuleAdded {
            rule: r#"{"name":"x"}"#.into(),
            source: Source::Api,
        };
        check(
            4,
            AT,
            added,
            "04fd8624f1bec102000004\
             0c7b226e616d65223a2278227d01",
        );
        // variant 5 | name "x" | RuleUse::Row 7 / RuleUse::Call 300
        let by_row = Event::RuleUsed {
            name: "x".into(),
            by: RuleUse::Row(7),
        };
        check(
            5,
            AT,
            by_row,
            "05fd8624f1bec1020000050178\
             0007",
        );
        let by_call = Event::RuleUsed {
            name: "x".into(),
            by: RuleUse::Call(300),
        };
        check(
            5,
            AT,
            by_call,
            "05fd8624f1bec1020000050178\
             01fb2c01",
        );
        let passed = Event::RuleUsed {
            name: "x".into(),
            by: RuleUse::Passed(2),
        };
        check(
            5,
            AT,
            passed,
            "05fd8624f1bec102000005017802\
             02",
        );
        // variant 6 | name "x"
        let deleted = Event::RuleDeleted { name: "x".into() };
        check(
            6,
            AT,
            deleted,
            "06fd8624f1bec102000006\
             0178",
        );
    }

    #[test]
    fn trailing_bytes_and_unknown_versions_are_errors() {
        let mut buf = Vec::new();
        encode_record(0, 0, &Event::Completed { row: 1 }, &mut buf).expect("encodes");
        buf.push(0);
        assert!(matches!(
            decode_record(1, &buf),
            Err(CodecError::TrailingBytes(1))
        ));
        assert!(matches!(
            decode_record(9, &buf),
            Err(CodecError::UnknownVersion(9))
        ));
    }
}
