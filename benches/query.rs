//! The temporal projection: building it from the load-1m log (beside a plain decode + fold
//! into a hash map as the baseline), DescribeRefreshTasks at random replay times and random
//! filters on the load-1m log and on a 100k-row log of the same traffic (to show the cost does
//! not grow with the log), and the naive oracle on the 100k log as the baseline. Before the
//! timings it prints per-query latency quantiles and memory per row.
//!
//! Run: `cargo bench --bench query`.

// Wall-clock time and a hash map belong to the measurement and the baseline only.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../tests/common/oracle.rs"]
mod oracle;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use cdnsim::api::{DescribeQuery, StatusFilter, TypeFilter};
use cdnsim::drive::{self, simulate_to_log};
use cdnsim::event::{Event, EventRef, ObjectType, TimeMs};
use cdnsim::log::Records;
use cdnsim::model::Account;
use cdnsim::projection::Projection;
use cdnsim::scenario::Scenario;
use cdnsim::sim::{Simulator, rng};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt;

fn load_1m() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load-1m.toml");
    Scenario::load(&path).expect("load-1m.toml is valid")
}

/// The same traffic for a tenth of the time: about 100k rows.
fn load_100k() -> Scenario {
    let mut s = load_1m();
    s.duration_ms /= 10;
    for w in &mut s.workloads {
        w.end_ms = s.start_ms + s.duration_ms;
    }
    s
}

/// Random queries: replay time anywhere in the log, and a random mix of filters.
fn queries(scenario: &Scenario, end_ms: TimeMs, n: usize) -> Vec<DescribeQuery> {
    let mut r = rng::stream(99, "bench queries");
    let domains: Vec<String> = scenario.domains.iter().map(|d| d.name.clone()).collect();
    (0..n)
        .map(|_| {
            let at_ms = r.random_range(scenario.start_ms + 60_000..=end_ms);
            let object_type = (r.random::<f64>() < 0.6)
                .then(|| TypeFilter::Is(ObjectType::ALL[r.random_range(0..ObjectType::ALL.len())]));
            let domain = (object_type.is_some() && r.random::<f64>() < 0.4)
                .then(|| domains[r.random_range(0..domains.len())].clone());
            let status = (object_type.is_some() && r.random::<f64>() < 0.5).then(|| {
                [
                    StatusFilter::Complete,
                    StatusFilter::Refreshing,
                    StatusFilter::Failed,
                ][r.random_range(0..3)]
            });
            let window_ms = if r.random::<f64>() < 0.5 {
                (at_ms - 3 * 86_400_000, at_ms)
            } else {
                let start = (at_ms - r.random_range(0..86_400_000)) / 1000 * 1000;
                (start, (start + r.random_range(0..7_200_000)).min(at_ms))
            };
            DescribeQuery {
                at_ms,
                task_id: None,
                object_path: None,
                domain,
                object_type,
                status,
                window_ms,
                page_number: r.random_range(1..=5),
                page_size: 20,
            }
        })
        .collect()
}

/// Median and 99th percentile of one call of `f` per query, in microseconds.
fn latency(qs: &[DescribeQuery], mut f: impl FnMut(&DescribeQuery) -> u64) -> (f64, f64) {
    let mut us: Vec<f64> = qs
        .iter()
        .map(|q| {
            let t = Instant::now();
            black_box(f(q));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    (us[us.len() / 2], us[us.len() * 99 / 100])
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The projection of a log, loaded as the server loads it.
fn project(log: &Path) -> Projection {
    drive::load(log, Account::default())
        .expect("projects")
        .into_projection()
}

fn bench_query(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let big_log = dir.path().join("load-1m.cdnlog");
    let small_log = dir.path().join("load-100k.cdnlog");
    let big_stats = simulate_to_log(load_1m(), &big_log, |_| {}).expect("simulates");
    simulate_to_log(load_100k(), &small_log, |_| {}).expect("simulates");

    let before = resident_bytes();
    let big = project(&big_log);
    let after = resident_bytes();
    let small = project(&small_log);
    let rows = big.row_count() as f64;
    eprintln!(
        "memory: load-1m: {} rows; resident growth {:.0} bytes/row, projection heap {:.0} bytes/row",
        big.row_count(),
        after.saturating_sub(before) as f64 / rows,
        big.heap_bytes() as f64 / rows
    );

    let big_qs = queries(&load_1m(), big.last_ms().unwrap_or(0), 2_000);
    let small_qs = queries(&load_100k(), small.last_ms().unwrap_or(0), 2_000);
    let (m1, p1) = latency(&big_qs, |q| big.describe(q).total);
    let (m2, p2) = latency(&small_qs, |q| small.describe(q).total);
    eprintln!(
        "describe, page of 20: load-1m median {m1:.2} µs p99 {p1:.1} µs; 100k median {m2:.2} µs \
         p99 {p2:.1} µs; ratio of medians {:.2}",
        m1 / m2
    );
    // The 100k projection (about 19 MB) fits in this machine's 32 MiB L3 and the 1M one does
    // not; the same measure with the caches emptied before every query separates the cost of
    // the algorithm from that of the memory it touches.
    let mut evict = vec![0u8; 128 << 20];
    let mut cold = |projection: &Projection, q: &DescribeQuery| {
        for (i, b) in evict.iter_mut().enumerate().step_by(64) {
            *b = b.wrapping_add(i as u8);
        }
        black_box(&evict);
        let t = Instant::now();
        black_box(projection.describe(q).total);
        t.elapsed().as_secs_f64() * 1e6
    };
    let mut cold_median = |projection: &Projection, qs: &[DescribeQuery]| {
        let mut us: Vec<f64> = qs.iter().take(300).map(|q| cold(projection, q)).collect();
        us.sort_by(f64::total_cmp);
        us[us.len() / 2]
    };
    let c1 = cold_median(&big, &big_qs);
    let c2 = cold_median(&small, &small_qs);
    eprintln!(
        "describe with cold caches: load-1m median {c1:.2} µs; 100k median {c2:.2} µs; ratio {:.2}",
        c1 / c2
    );
    let mut small_events: Vec<(TimeMs, Event)> = Vec::new();
    let mut sim = Simulator::new(load_100k());
    sim.advance_to(TimeMs::MAX, &mut small_events, usize::MAX);
    let (m3, _) = latency(&small_qs[..50], |q| {
        oracle::naive_describe(&small_events, q).total
    });
    eprintln!(
        "naive oracle on the 100k log: median {m3:.0} µs ({:.0}× the projection)",
        m3 / m2
    );

    let mut build = c.benchmark_group("projection");
    build.sample_size(10);
    build.throughput(Throughput::Elements(big_stats.events));
    build.bench_function("build_from_load_1m_log", |b| {
        b.iter(|| {
            black_box(
                drive::load(&big_log, Account::default())
                    .expect("projects")
                    .projection()
                    .row_count(),
            )
        })
    });
    build.bench_function("baseline_decode_fold_hashmap", |b| {
        b.iter(|| {
            let mut state: HashMap<u64, (u8, u16)> = HashMap::new();
            let mut records = Records::open(&big_log).expect("open");
            while let Some(record) = records.next_ref() {
                let record = record.expect("record");
                let (row, value) = match record.event {
                    EventRef::Created { row, .. } => (row, (0, 0)),
                    EventRef::Progressed { row, process } => (row, (1, process.basis_points())),
                    EventRef::Completed { row } => (row, (2, 10_000)),
                    EventRef::Failed { row, .. } => (row, (3, 0)),
                    _ => continue, // a rule's record (load-1m has none)
                };
                state.insert(row, value);
            }
            black_box(state.len())
        })
    });
    build.finish();

    let mut query = c.benchmark_group("describe");
    query.throughput(Throughput::Elements(1));
    for (name, projection, qs) in [("load_1m", &big, &big_qs), ("load_100k", &small, &small_qs)] {
        query.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % qs.len();
                black_box(projection.describe(&qs[i]).total)
            })
        });
    }
    query.sample_size(10);
    query.bench_function("naive_oracle_load_100k", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % 50;
            black_box(oracle::naive_describe(&small_events, &small_qs[i]).total)
        })
    });
    query.finish();

    // The web timeline's chart: 300 buckets over the whole load-1m log, then over one domain
    // (a group's rows) and one type.
    let span = (big.first_ms().unwrap_or(0), big.last_ms().unwrap_or(0));
    let mut stats = c.benchmark_group("stats");
    stats.sample_size(20);
    for (name, domain, object_type) in [
        ("load_1m_300_buckets", None, None),
        (
            "load_1m_300_buckets_one_domain",
            Some("static.example.com"),
            None,
        ),
        (
            "load_1m_300_buckets_one_type",
            None,
            Some(cdnsim::event::ObjectType::Directory),
        ),
    ] {
        let q = cdnsim::projection::StatsQuery {
            from_ms: span.0,
            to_ms: span.1,
            buckets: 300,
            domain: domain.map(str::to_owned),
            object_type,
        };
        stats.bench_function(name, |b| b.iter(|| black_box(big.stats(&q).buckets.len())));
    }
    stats.finish();
}

criterion_group!(benches, bench_query);
criterion_main!(benches);
