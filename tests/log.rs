//! The log storage engine: round trips, seeks, torn tails, corruption and bad files.

mod common;

use std::fs;

use cdnsim::event::{Event, FailReason, ObjectType, Process, Record, Source, TaskId, TimeMs};
use cdnsim::log::{
    Damage, FORMAT_VERSION, HEADER_LEN, Header, LogError, LogFile, LogWriter, Records, read_all,
};
use common::{T0, frame_offsets, path_in, small_history, write_log};
use proptest::prelude::*;

fn arb_event() -> impl Strategy<Value = Event> {
    let object_type = proptest::sample::select(ObjectType::ALL.to_vec());
    let source = prop_oneof![Just(Source::Scenario), Just(Source::Api)];
    let reason = proptest::sample::select(FailReason::ALL.to_vec());
    prop_oneof![
        (
            any::<u64>(),
            any::<u64>(),
            "[a-z0-9.-]{0,20}",
            "\\PC{0,60}",
            object_type,
            source
        )
            .prop_map(|(row, task, domain, object_path, object_type, source)| {
                Event::Created {
                    row,
                    task_id: TaskId(task),
                    domain,
                    object_path,
                    object_type,
                    source,
                }
            }),
        (any::<u64>(), 0u16..=10_000).prop_map(|(row, bp)| Event::Progressed {
            row,
            process: Process::from_basis_points(bp).unwrap_or(Process::ZERO),
        }),
        any::<u64>().prop_map(|row| Event::Completed { row }),
        (any::<u64>(), reason).prop_map(|(row, reason)| Event::Failed { row, reason }),
    ]
}

/// Events with non-decreasing times (steps of 0..5 s from a start anywhere in 1970..2100).
fn arb_history(max: usize) -> impl Strategy<Value = Vec<(TimeMs, Event)>> {
    (
        0i64..4_102_444_800_000,
        proptest::collection::vec((0i64..5_000, arb_event()), 0..max),
    )
        .prop_map(|(start, steps)| {
            let mut at = start;
            steps
                .into_iter()
                .map(|(dt, event)| {
                    at += dt;
                    (at, event)
                })
                .collect()
        })
}

fn as_records(history: &[(TimeMs, Event)]) -> Vec<Record> {
    history
        .iter()
        .enumerate()
        .map(|(seq, (at_ms, event))| Record {
            seq: seq as u64,
            at_ms: *at_ms,
            event: event.clone(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_history_round_trips(history in arb_history(200), seed in any::<u64>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(&dir, "a.cdnlog");
        write_log(&path, seed, &history);
        let (header, records) = read_all(&path).expect("reads back");
        prop_assert_eq!(header, Header::new([7; 32], seed));
        prop_assert_eq!(records, as_records(&history));
    }

    #[test]
    fn cutting_the_tail_anywhere_keeps_exactly_the_whole_records(
        history in arb_history(12).prop_filter("need records", |h| h.len() >= 3),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(&dir, "full.cdnlog");
        write_log(&path, 1, &history);
        let bytes = fs::read(&path).expect("read");
        let offsets = frame_offsets(&bytes);
        let expected = as_records(&history);
        // Every cut point within the last three records, end included.
        for cut in offsets[offsets.len() - 3]..=bytes.len() {
            let ends = offsets.iter().skip(1).copied().chain([bytes.len()]);
            let whole = ends.filter(|&end| end <= cut).count();
            let cut_path = path_in(&dir, "cut.cdnlog");
            fs::write(&cut_path, &bytes[..cut]).expect("write cut");

            // A reader reports the torn tail (unless the cut is on a boundary) after the
            // whole records.
            let read: Vec<_> = Records::open(&cut_path).expect("open").collect();
            let good: Vec<Record> = read.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
            prop_assert_eq!(&good[..], &expected[..whole]);
            let on_boundary = cut == bytes.len() || offsets.contains(&cut);
            prop_assert_eq!(read.len() == whole + 1, !on_boundary, "cut at {}", cut);
            if !on_boundary {
                let torn = matches!(read.last(), Some(Err(LogError::TornTail { .. })));
                prop_assert!(torn, "cut at {} not reported as torn: {:?}", cut, read.last());
            }

            // Opening for append recovers exactly those records and appends after them.
            let (mut writer, recovery) = LogWriter::open_append(&cut_path).expect("recovers");
            prop_assert_eq!(recovery.records, whole as u64);
            prop_assert_eq!(recovery.cut.is_some(), !on_boundary);
            let at = history[whole.saturating_sub(1)].0;
            writer.append(at, &Event::Completed { row: 99 }).expect("append");
            writer.sync().expect("sync");
            drop(writer);
            let (_, after) = read_all(&cut_path).expect("reads after recovery");
            prop_assert_eq!(&after[..whole], &expected[..whole]);
            prop_assert_eq!(after.len(), whole + 1);
        }
    }

    #[test]
    fn any_flipped_byte_after_the_header_is_reported(
        history in arb_history(30).prop_filter("need records", |h| !h.is_empty()),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(&dir, "a.cdnlog");
        write_log(&path, 1, &history);
        let mut bytes = fs::read(&path).expect("read");
        let offsets = frame_offsets(&bytes);
        let at = HEADER_LEN + position.index(bytes.len() - HEADER_LEN);
        bytes[at] ^= flip;
        fs::write(&path, &bytes).expect("write");

        let damaged = Records::open(&path).expect("open").find_map(Result::err);
        let Some(error) = damaged else {
            return Err(TestCaseError::fail(format!("flip at {at} not reported")));
        };
        prop_assert!(error.is_damage(), "{}", error);
        let frame = offsets.iter().rev().find(|&&o| o <= at).copied().unwrap_or(HEADER_LEN);
        let message = error.to_string();
        prop_assert!(message.contains(&format!("byte offset {frame} ")), "{}", message);

        // Opening for append cuts only a damaged last record, and never touches the rest.
        let last = offsets.last().copied().unwrap_or(HEADER_LEN);
        match LogWriter::open_append(&path) {
            Ok((_, recovery)) => {
                prop_assert_eq!(frame, last, "cut a record that was not last");
                prop_assert_eq!(recovery.cut, Some((last as u64, (bytes.len() - last) as u64)));
                prop_assert_eq!(fs::read(&path).expect("read"), bytes[..last].to_vec());
            }
            Err(e) => {
                prop_assert!(matches!(e, LogError::Corrupt { .. }), "{}", e);
                prop_assert_eq!(fs::read(&path).expect("read"), bytes.clone());
            }
        }
    }
}

/// A log big enough for a many-entry sparse index.
fn big_history(rows: u64) -> Vec<(TimeMs, Event)> {
    let mut events = Vec::new();
    for row in 0..rows {
        let at = T0 + (row as i64) * 250;
        events.push((
            at,
            Event::Created {
                row,
                task_id: TaskId(1_000 + row / 7),
                domain: format!("d{}.example.com", row % 3),
                object_path: format!("http://d{}.example.com/static/{row}.js", row % 3),
                object_type: ObjectType::File,
                source: Source::Scenario,
            },
        ));
        events.push((at, Event::Completed { row }));
    }
    events
}

#[test]
fn seeks_by_seq_and_time_match_a_filtered_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "big.cdnlog");
    let history = big_history(20_000);
    write_log(&path, 3, &history);
    let all = as_records(&history);
    let log = LogFile::open(&path).expect("open");
    assert!(
        log.index().len() > 10,
        "index has {} entries",
        log.index().len()
    );
    assert_eq!(log.summary().records, all.len() as u64);
    assert_eq!(log.damage(), None);

    for from_seq in [0, 1, 4_095, 4_096, 17_777, 39_999, 40_000, 90_000] {
        let got: Vec<Record> = log
            .records_from_seq(from_seq)
            .expect("seek")
            .map(|r| r.expect("record"))
            .collect();
        let want: Vec<Record> = all.iter().filter(|r| r.seq >= from_seq).cloned().collect();
        assert_eq!(got, want, "from seq {from_seq}");
    }
    for from_ms in [
        0,
        T0,
        T0 + 1,
        T0 + 2_500_000,
        T0 + 2_500_001,
        T0 + 4_999_750,
        T0 + 9_999_999,
    ] {
        let got: Vec<Record> = log
            .records_from_time(from_ms)
            .expect("seek")
            .map(|r| r.expect("record"))
            .collect();
        let want: Vec<Record> = all.iter().filter(|r| r.at_ms >= from_ms).cloned().collect();
        assert_eq!(got, want, "from time {from_ms}");
    }
}

#[test]
fn append_after_reopen_continues_seq_and_refuses_time_going_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "a.cdnlog");
    let history = small_history();
    write_log(&path, 1, &history);
    let before = fs::read(&path).expect("read");
    let (mut writer, recovery) = LogWriter::open_append(&path).expect("reopen");
    assert_eq!(recovery.records, history.len() as u64);
    assert_eq!(recovery.cut, None);
    let last = history.last().map(|(t, _)| *t).expect("non-empty");
    let err = writer
        .append(last - 1, &Event::Completed { row: 0 })
        .expect_err("went back");
    assert!(
        err.to_string().contains("earlier than the last record"),
        "{err}"
    );
    let seq = writer
        .append(last, &Event::Completed { row: 2 })
        .expect("append");
    assert_eq!(seq, history.len() as u64);
    writer.sync().expect("sync");
    drop(writer);
    let after = fs::read(&path).expect("read");
    assert_eq!(&after[..before.len()], &before[..], "good data rewritten");
    assert_eq!(read_all(&path).expect("read").1.len(), history.len() + 1);
}

#[test]
fn create_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "a.cdnlog");
    fs::write(&path, b"precious").expect("write");
    let err = LogWriter::create(&path, Header::new([0; 32], 0)).expect_err("must refuse");
    assert!(err.to_string().contains("create"), "{err}");
    assert_eq!(fs::read(&path).expect("read"), b"precious");
}

#[test]
fn oversized_events_are_refused_and_leave_the_log_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "a.cdnlog");
    let mut writer = LogWriter::create(&path, Header::new([0; 32], 0)).expect("create");
    let huge = Event::Created {
        row: 0,
        task_id: TaskId(1),
        domain: "a.com".into(),
        object_path: "x".repeat(70_000),
        object_type: ObjectType::File,
        source: Source::Api,
    };
    let err = writer.append(T0, &huge).expect_err("too large");
    assert!(err.to_string().contains("over 65536"), "{err}");
    writer
        .append(T0, &Event::Completed { row: 0 })
        .expect("next append");
    writer.sync().expect("sync");
    drop(writer);
    let (_, records) = read_all(&path).expect("read");
    assert_eq!(
        records,
        vec![Record {
            seq: 0,
            at_ms: T0,
            event: Event::Completed { row: 0 }
        }]
    );
}

/// Opens `bytes` as a log with every reader and with open_append; returns the reader error.
fn open_error(bytes: &[u8]) -> LogError {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "bad.cdnlog");
    fs::write(&path, bytes).expect("write");
    let from_reader = match Records::open(&path) {
        Ok(mut records) => records.find_map(Result::err).expect("an error"),
        Err(e) => e,
    };
    let from_append = LogWriter::open_append(&path).expect_err("append must refuse");
    assert_eq!(from_append.to_string(), from_reader.to_string());
    assert_eq!(
        fs::read(&path).expect("read"),
        bytes,
        "bad input was modified"
    );
    from_reader
}

#[test]
fn bad_files_get_clear_errors_and_stay_untouched() {
    let good = {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(&dir, "a.cdnlog");
        write_log(&path, 1, &small_history());
        fs::read(&path).expect("read")
    };
    let offsets = frame_offsets(&good);

    let check = |bytes: &[u8], want: &str| {
        let message = open_error(bytes).to_string();
        assert!(message.contains(want), "expected {want:?} in {message:?}");
    };
    check(b"", "not a cdnsim log: the file is empty");
    check(b"{\"seq\":0}\n", "does not start with the magic bytes");
    check(&good[..20], "header is cut short (20 of 56 bytes)");
    let mut future = good.clone();
    let newer = Header {
        format_version: FORMAT_VERSION + 1,
        ..Header::new([7; 32], 1)
    };
    future[..HEADER_LEN].copy_from_slice(&newer.to_bytes());
    check(
        &future,
        &format!(
            "log format version {} is newer than this cdnsim supports ({FORMAT_VERSION})",
            FORMAT_VERSION + 1
        ),
    );
    let mut header_flip = good.clone();
    header_flip[47] ^= 0x10;
    check(&header_flip, "corrupt header: checksum mismatch");

    // A flipped byte in the second record's payload: corruption naming offset and seq.
    let mut flipped = good.clone();
    flipped[offsets[1] + 10] ^= 0x40;
    let err = open_error(&flipped);
    let want = format!(
        "corrupt record at byte offset {} (seq 1): checksum mismatch",
        offsets[1]
    );
    assert!(err.to_string().contains(&want), "{err}");

    // A length in the middle pointing past the end of the file is corruption, not a tail.
    let mut long = good.clone();
    long[offsets[2] + 4..offsets[2] + 8].copy_from_slice(&60_000u32.to_le_bytes());
    let err = open_error(&long);
    assert!(
        matches!(
            err,
            LogError::Corrupt {
                seq: 2,
                damage: Damage::PastEnd { .. },
                ..
            }
        ),
        "{err}"
    );

    // An impossible length.
    let mut huge = good.clone();
    huge[offsets[3] + 4..offsets[3] + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = open_error(&huge);
    assert!(
        err.to_string()
            .contains("impossible record length 4294967295"),
        "{err}"
    );
}

#[test]
fn a_long_zero_filled_tail_is_torn_and_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "a.cdnlog");
    write_log(&path, 1, &small_history());
    let good = fs::read(&path).expect("read");
    let mut zeroed = good.clone();
    zeroed.resize(good.len() + 300_000, 0);
    fs::write(&path, &zeroed).expect("write");
    let err = Records::open(&path)
        .expect("open")
        .find_map(Result::err)
        .expect("damage");
    assert!(
        matches!(err, LogError::TornTail { bytes: 300_000, .. }),
        "{err}"
    );
    let (_, recovery) = LogWriter::open_append(&path).expect("recovers");
    assert_eq!(recovery.cut, Some((good.len() as u64, 300_000)));
    assert_eq!(fs::read(&path).expect("read"), good);
    // One non-zero byte far into the tail makes it corruption: nothing is cut.
    zeroed[good.len() + 200_000] = 1;
    fs::write(&path, &zeroed).expect("write");
    let err = LogWriter::open_append(&path).expect_err("corrupt");
    assert!(matches!(err, LogError::Corrupt { .. }), "{err}");
    assert_eq!(fs::read(&path).expect("read"), zeroed);
}

#[test]
fn a_log_with_only_a_header_is_valid_and_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "a.cdnlog");
    write_log(&path, 9, &[]);
    let (header, records) = read_all(&path).expect("read");
    assert_eq!(header.seed, 9);
    assert!(records.is_empty());
    let (writer, recovery) = LogWriter::open_append(&path).expect("reopen");
    assert_eq!((recovery.records, writer.next_seq()), (0, 0));
}

/// The index a writer keeps as it appends (batches of a version-2 log, across a reopen and a
/// roll-back) seeks exactly as a full scan filters, from every kind of place: a batch's
/// first record, the middle of a batch, the end.
#[test]
fn the_writers_index_seeks_like_a_scan() {
    use cdnsim::log::SparseIndex;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "batched.cdnlog");
    let history = big_history(12_000);
    let (first, second) = history.split_at(history.len() / 2);
    let mut writer = LogWriter::create(&path, Header::batched([9; 32], 5)).expect("create");
    for batch in first.chunks(37) {
        writer.append_batch(batch).expect("append");
    }
    writer.sync().expect("sync");
    drop(writer);
    let (mut writer, _) = LogWriter::open_append(&path).expect("reopen");
    let index = writer.index();
    let reopened = cdnsim::locks::read(&index).entries().len();
    assert!(
        reopened > 5,
        "the reopened writer indexed the log: {reopened} entries"
    );
    for batch in second.chunks(53) {
        writer.append_batch(batch).expect("append");
    }
    writer.sync().expect("sync");
    // Records that never became durable leave the index with the roll-back.
    let synced = cdnsim::locks::read(&index).clone();
    let late: Vec<(TimeMs, Event)> = big_history(3_000)
        .into_iter()
        .map(|(_, e)| (T0 + 10_000_000, e))
        .collect();
    writer.append_batch(&late[..2_000]).expect("append");
    writer.append_batch(&late[2_000..]).expect("append");
    assert_ne!(
        *cdnsim::locks::read(&index),
        synced,
        "the late batches were indexed"
    );
    writer.flush().expect("flush");
    writer.roll_back().expect("roll back");
    assert_eq!(*cdnsim::locks::read(&index), synced);
    drop(writer);

    let all = as_records(&history);
    let written = cdnsim::locks::read(&index).clone();
    assert!(written.entries().len() > reopened);
    let scanned = SparseIndex::build(&path).expect("scan");
    assert!(!scanned.entries().is_empty());
    for from_seq in [
        0, 1, 36, 37, 38, 5_000, 11_999, 12_000, 12_001, 23_999, 24_000, 30_000,
    ] {
        for idx in [&written, &scanned] {
            let got: Vec<Record> = Records::open_from_seq(&path, idx, from_seq)
                .expect("seek")
                .map(|r| r.expect("record"))
                .collect();
            let want: Vec<Record> = all.iter().filter(|r| r.seq >= from_seq).cloned().collect();
            assert_eq!(got, want, "from seq {from_seq}");
        }
    }
}
