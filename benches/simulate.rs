//! Simulation throughput: `scenarios/load-1m.toml` end to end into a log file (simulator
//! thread + writer thread, as `cdnsim simulate` runs it), beside the simulator alone (events
//! dropped) as the ceiling. Memory: the peak number of pending actions for the same steady
//! workload over 1 and 8 days is printed before the timings (it must not grow with duration).
//!
//! Run: `cargo bench --bench simulate`. Events per second are criterion's `thrpt` in elem/s.

use std::hint::black_box;
use std::path::Path;

use cdnsim::drive::simulate_to_log;
use cdnsim::event::TimeMs;
use cdnsim::scenario::Scenario;
use cdnsim::sim::{BATCH_EVENTS, Simulator};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn load_1m() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load-1m.toml");
    Scenario::load(&path).expect("load-1m.toml is valid")
}

/// Runs the simulator alone; returns (events, peak pending actions).
fn simulate_only(scenario: Scenario) -> (u64, usize) {
    let mut sim = Simulator::new(scenario);
    let mut batch = Vec::with_capacity(BATCH_EVENTS + 1_024);
    let mut peak = 0;
    while !sim.advance_to(TimeMs::MAX, &mut batch, BATCH_EVENTS) {
        peak = peak.max(sim.pending());
        batch.clear();
    }
    (sim.stats().events, peak)
}

fn bench_simulate(c: &mut Criterion) {
    let scenario = load_1m();
    for days in [1, 8] {
        let mut steady = scenario.clone();
        steady.duration_ms = days * 86_400_000;
        for w in &mut steady.workloads {
            w.end_ms = steady.start_ms + steady.duration_ms;
            w.rate_per_hour /= 8.0;
        }
        let (events, peak) = simulate_only(steady);
        eprintln!(
            "memory: {days} day(s) of load-1m/8: {events} events, peak {peak} pending actions"
        );
    }
    let (events, _) = simulate_only(scenario.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("load-1m.cdnlog");

    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("load_1m_to_log", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(&path);
            let stats = simulate_to_log(scenario.clone(), &path, |_| {}).expect("simulates");
            black_box(stats.events)
        })
    });
    group.bench_function("load_1m_simulator_only", |b| {
        b.iter(|| black_box(simulate_only(scenario.clone()).0))
    });
    group.finish();
}

criterion_group!(benches, bench_simulate);
criterion_main!(benches);
