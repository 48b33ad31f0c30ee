//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod conformance;
pub mod http;
pub mod oracle;

use std::path::{Path, PathBuf};

use cdnsim::event::{Event, FailReason, ObjectType, Process, Source, TaskId, TimeMs};
use cdnsim::log::{Header, LogWriter};

/// Runs `future` to its end on a runtime of its own (two workers), for property tests.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// 2018-01-10T09:48:29.123Z
pub const T0: TimeMs = 1_515_577_709_123;

/// Writes `events` (times must not decrease) to a new log at `path`.
pub fn write_log(path: &Path, seed: u64, events: &[(TimeMs, Event)]) {
    let mut writer = LogWriter::create(path, Header::new([7; 32], seed)).expect("create log");
    for (at, event) in events {
        writer.append(*at, event).expect("append");
    }
    writer.sync().expect("sync");
}

/// A small, hand-built history: two rows of one task complete, one row fails.
pub fn small_history() -> Vec<(TimeMs, Event)> {
    let created = |row, path: &str, object_type, source| Event::Created {
        row,
        task_id: TaskId(704_225_667 + row / 2),
        domain: "aaa.com".into(),
        object_path: path.into(),
        object_type,
        source,
    };
    let p = |bp| Process::from_basis_points(bp).expect("valid process");
    vec![
        (
            T0,
            created(
                0,
                "http://aaa.com/1.txt",
                ObjectType::File,
                Source::Scenario,
            ),
        ),
        (
            T0,
            created(
                1,
                "http://aaa.com/img/",
                ObjectType::Directory,
                Source::Scenario,
            ),
        ),
        (
            T0 + 1_500,
            created(
                2,
                "http://aaa.com/\"q\"\u{e9}.js",
                ObjectType::Preload,
                Source::Api,
            ),
        ),
        (
            T0 + 60_000,
            Event::Progressed {
                row: 0,
                process: p(0),
            },
        ),
        (
            T0 + 60_000,
            Event::Progressed {
                row: 1,
                process: p(4200),
            },
        ),
        (
            T0 + 61_000,
            Event::Progressed {
                row: 2,
                process: p(9937),
            },
        ),
        (T0 + 300_000, Event::Completed { row: 0 }),
        (
            T0 + 301_000,
            Event::Failed {
                row: 2,
                reason: FailReason::OriginTimeout,
            },
        ),
        (T0 + 330_000, Event::Completed { row: 1 }),
    ]
}

/// Byte offsets of every frame in a log file, from the header on, and the file's length.
pub fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = cdnsim::log::HEADER_LEN;
    while at + 8 <= bytes.len() {
        offsets.push(at);
        let field =
            u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let len = field & !cdnsim::log::MORE_IN_BATCH; // version 2: the batch bit
        at += 8 + len as usize;
    }
    offsets
}

/// A fresh path inside `dir`.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
