//! Restarting `serve --scenario` on the load-1m log (a whole day served, 6.1M records):
//! from a snapshot at the log's end (a clean stop), from one about a million records before
//! it (a crash just before the next snapshot was due at the default `--snapshot-every`), and
//! the full re-run (`--verify-full`) — beside `cdnsim verify` of the same log (read, check
//! and decode every record), the baseline.
//!
//! Run: `cargo bench --bench restart`. The data directories are prepared first (a few
//! seconds each); every restart opens the engine as `serve` does and drops it.

use std::hint::black_box;
use std::path::Path;

use cdnsim::log::Records;
use cdnsim::scenario::Scenario;
use cdnsim::server::{Durability, Engine, Snapshots};
use cdnsim::time::parse_rfc3339;
use criterion::{Criterion, criterion_group, criterion_main};

fn load_1m() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load-1m.toml");
    Scenario::load(&path).expect("load-1m.toml is valid")
}

fn durability(every: u64, verify_full: bool) -> Durability {
    Durability {
        snapshots: Snapshots { every, verify_full },
        ..Durability::default()
    }
}

fn open(dir: &Path, every: u64, verify_full: bool) -> Engine {
    let d = durability(every, verify_full);
    Engine::open_scenario(load_1m(), dir, None, false, d, None).expect("opens")
}

/// Serves the day in `dir`: with `tail`, a snapshot at 20:00 and none after it, the log
/// flushed but the engine dropped without a clean stop; else a clean stop (a snapshot at the
/// log's end).
fn prepare(dir: &Path, tail: bool) {
    let end = parse_rfc3339("2026-11-02T00:00:00Z").expect("a time");
    if tail {
        // Never due, but taken at the clean stop.
        let engine = open(dir, u64::MAX, false);
        engine
            .advance_to(parse_rfc3339("2026-11-01T20:00:00Z").expect("a time"))
            .expect("advances");
        engine.sync().expect("syncs and snapshots");
        drop(engine);
        let engine = open(dir, 0, false);
        engine.advance_to(end).expect("advances");
        // Dropped without `sync`: no snapshot at the end, as after a crash.
    } else {
        let engine = open(dir, 1_000_000, false);
        engine.advance_to(end).expect("advances");
        engine.sync().expect("syncs and snapshots");
    }
}

/// What `cdnsim verify` does: every record read, checked and decoded (owned), then the log
/// checked against its synced checkpoint.
fn verify(log: &Path) -> u64 {
    let mut n = 0;
    for record in Records::open(log).expect("opens") {
        black_box(record.expect("a record").seq);
        n += 1;
    }
    cdnsim::log::check_against_checkpoint(log).expect("checks");
    n
}

fn bench_restart(c: &mut Criterion) {
    let root = tempfile::tempdir().expect("tempdir");
    let (clean, tail) = (root.path().join("clean"), root.path().join("tail"));
    prepare(&clean, false);
    prepare(&tail, true);
    let log = clean.join("events.cdnlog");
    let reopened = open(&tail, 0, false);
    let covered = reopened.restored_from().unwrap_or(0);
    eprintln!(
        "log: {} records; the tail case re-runs {} records after its snapshot",
        verify(&log),
        reopened.model().event_count() - covered
    );
    drop(reopened);

    let mut group = c.benchmark_group("restart");
    group.sample_size(10);
    group.bench_function("verify_baseline", |b| b.iter(|| black_box(verify(&log))));
    group.bench_function("from_snapshot_at_end", |b| {
        b.iter(|| black_box(open(&clean, 0, false).restored_from()))
    });
    group.bench_function("from_snapshot_1m_back", |b| {
        b.iter(|| black_box(open(&tail, 0, false).restored_from()))
    });
    group.bench_function("full_re_run", |b| {
        b.iter(|| black_box(open(&clean, 0, true).restored_from()))
    });
    group.finish();
}

criterion_group!(benches, bench_restart);
criterion_main!(benches);
