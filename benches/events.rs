//! What `GET /_cdnsim/events?after=N` costs to start: reaching record N of a 6,000,000-event
//! log through the sparse seq → offset index (what the server does), against the full scan
//! from the first record that it replaced, each then reading 100 records. Both in the same
//! run, at N = 10 and N = 5,999,900.
//!
//! Run: `cargo bench --bench events`.

use std::hint::black_box;
use std::path::Path;

mod common;

use cdnsim::event::TimeMs;
use cdnsim::log::{Header, LogWriter, Records, SparseIndex};
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: u64 = 1_200_000;
/// Records read once the stream has reached its start.
const PAGE: u64 = 100;

/// 6,000,000 events, written as the server writes them (batches of a version-2 log); returns
/// the index the writer kept.
fn write(path: &Path) -> SparseIndex {
    let mut writer = LogWriter::create(path, Header::batched([0; 32], 1)).expect("create");
    let t0: TimeMs = 1_764_000_000_000;
    let mut batch = Vec::with_capacity(5_000);
    for row in 0..ROWS {
        batch.extend(common::row_events(row, t0));
        if batch.len() >= 5_000 {
            batch.sort_by_key(|(at, _)| *at);
            writer.append_batch(&batch).expect("append");
            batch.clear();
        }
    }
    batch.sort_by_key(|(at, _)| *at);
    writer.append_batch(&batch).expect("append");
    writer.sync().expect("sync");
    let shared = writer.index();
    cdnsim::locks::read(&shared).clone()
}

/// Reads `PAGE` records from `records`; returns the last seq.
fn page(mut records: Records) -> u64 {
    let mut last = 0;
    for _ in 0..PAGE {
        match records.next_ref() {
            Some(record) => last = record.expect("record").seq,
            None => break,
        }
    }
    last
}

fn bench_events(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("six-million.cdnlog");
    let index = write(&path);
    let n = ROWS * 5;
    eprintln!(
        "bench events: {n} events, {} bytes, {} index entries",
        std::fs::metadata(&path).expect("stat").len(),
        index.entries().len()
    );
    let mut group = c.benchmark_group("events_after");
    group.sample_size(10);
    for after in [10, n - PAGE] {
        group.bench_function(format!("index/{after}"), |b| {
            b.iter(|| {
                let records = Records::open_from_seq(&path, &index, after + 1).expect("open");
                black_box(page(records))
            })
        });
        group.bench_function(format!("scan/{after}"), |b| {
            b.iter(|| {
                let mut records = Records::open(&path).expect("open");
                while records.next_seq() <= after {
                    let Some(record) = records.next_ref() else {
                        break;
                    };
                    black_box(record.expect("record").seq);
                }
                black_box(page(records))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_events);
criterion_main!(benches);
