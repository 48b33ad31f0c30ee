//! Log throughput: append (encode + frame + CRC + buffered write, no fsync), read + verify +
//! decode, and in the same run the ceilings they are measured against: a bare encode loop, a
//! bare decode loop and a plain chunked read of the same file.
//!
//! Run: `cargo bench --bench log`. Events per second are criterion's `thrpt` in elem/s.

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::path::Path;

mod common;

use cdnsim::event::{Event, TimeMs};
use cdnsim::log::{Header, LogFile, LogWriter, Records, codec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: u64 = 200_000;

/// A realistic mix: every row is created, progresses three times and completes (5 events).
fn events() -> Vec<(TimeMs, Event)> {
    let t0: TimeMs = 1_764_000_000_000;
    let mut out = Vec::with_capacity(ROWS as usize * 5);
    for row in 0..ROWS {
        out.extend(common::row_events(row, t0));
    }
    // Times must not decrease along the log.
    out.sort_by_key(|(at, _)| *at);
    out
}

fn write(path: &Path, events: &[(TimeMs, Event)]) {
    let _ = std::fs::remove_file(path);
    let mut writer = LogWriter::create(path, Header::new([0; 32], 1)).expect("create");
    for (at, event) in events {
        writer.append(*at, event).expect("append");
    }
    writer.flush().expect("flush");
}

fn bench_log(c: &mut Criterion) {
    let events = events();
    let n = events.len() as u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.cdnlog");
    write(&path, &events);
    let file_len = std::fs::metadata(&path).expect("stat").len();
    eprintln!(
        "bench log: {n} events, {file_len} bytes ({:.1} bytes/event)",
        file_len as f64 / n as f64
    );

    let mut payloads = Vec::new();
    let mut spans = Vec::with_capacity(events.len());
    for (seq, (at, event)) in events.iter().enumerate() {
        let start = payloads.len();
        codec::encode_record(seq as u64, *at, event, &mut payloads).expect("encode");
        spans.push((start, payloads.len()));
    }

    let mut group = c.benchmark_group("log");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));
    group.bench_function("encode_only", |b| {
        let mut buf = Vec::with_capacity(payloads.len());
        b.iter(|| {
            buf.clear();
            for (seq, (at, event)) in events.iter().enumerate() {
                codec::encode_record(seq as u64, *at, event, &mut buf).expect("encode");
            }
            black_box(buf.len())
        })
    });
    group.bench_function("append_buffered", |b| {
        let append_path = dir.path().join("append.cdnlog");
        b.iter(|| write(&append_path, &events))
    });
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            let mut rows = 0u64;
            for &(start, end) in &spans {
                let record = codec::decode_record_ref(1, &payloads[start..end]).expect("decode");
                rows = rows.wrapping_add(record.event.row().unwrap_or(0));
            }
            black_box(rows)
        })
    });
    group.bench_function("decode_only_owned", |b| {
        b.iter(|| {
            let mut rows = 0u64;
            for &(start, end) in &spans {
                let record = codec::decode_record(1, &payloads[start..end]).expect("decode");
                rows = rows.wrapping_add(record.event.row().unwrap_or(0));
            }
            black_box(rows)
        })
    });
    group.bench_function("read_verify_decode", |b| {
        b.iter(|| {
            let mut records = Records::open(&path).expect("open");
            let mut rows = 0u64;
            while let Some(record) = records.next_ref() {
                rows = rows.wrapping_add(record.expect("record").event.row().unwrap_or(0));
            }
            black_box(rows)
        })
    });
    group.bench_function("read_verify_decode_owned", |b| {
        b.iter(|| {
            let mut rows = 0u64;
            for record in Records::open(&path).expect("open") {
                rows = rows.wrapping_add(record.expect("record").event.row().unwrap_or(0));
            }
            black_box(rows)
        })
    });
    group.bench_function("scan_index", |b| {
        b.iter(|| black_box(LogFile::open(&path).expect("open").summary().records))
    });
    group.bench_function("plain_read", |b| {
        let mut buf = vec![0u8; 256 * 1024];
        b.iter(|| {
            let mut file = File::open(&path).expect("open");
            let mut total = 0usize;
            loop {
                let k = file.read(&mut buf).expect("read");
                if k == 0 {
                    break;
                }
                total += k;
            }
            black_box(total)
        })
    });
    group.finish();

    let mut bytes = c.benchmark_group("log_bytes");
    bytes.sample_size(10);
    bytes.throughput(Throughput::Bytes(file_len));
    bytes.bench_function("append_buffered", |b| {
        let append_path = dir.path().join("append.cdnlog");
        b.iter(|| write(&append_path, &events))
    });
    bytes.bench_function("read_verify_decode", |b| {
        b.iter(|| {
            let mut records = Records::open(&path).expect("open");
            let mut last = 0;
            while let Some(record) = records.next_ref() {
                last = record.expect("record").seq;
            }
            black_box(last)
        })
    });
    bytes.finish();
}

criterion_group!(benches, bench_log);
criterion_main!(benches);
