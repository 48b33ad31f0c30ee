//! The simulator: determinism, scripted fixtures, statistics, incidents, batching, memory.

use std::collections::BTreeMap;
use std::path::Path;

use cdnsim::drive::simulate_to_log;
use cdnsim::event::{Event, FailReason, ObjectType, Process, Source, TaskId, TimeMs};
use cdnsim::scenario::Scenario;
use cdnsim::sim::{Simulator, Submission};
use cdnsim::time::parse_rfc3339;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn bundled(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn parse(text: &str) -> Scenario {
    Scenario::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(scenario: Scenario) -> Vec<(TimeMs, Event)> {
    let mut sim = Simulator::new(scenario);
    let mut out = Vec::new();
    assert!(sim.advance_to(TimeMs::MAX, &mut out, usize::MAX));
    assert!(sim.is_drained());
    out
}

fn t(text: &str) -> TimeMs {
    parse_rfc3339(text).expect("valid time")
}

/// Per row: (created time, task id, domain, path, type, source) and the later events.
#[derive(Debug, Default, Clone)]
struct Row {
    created: Option<(TimeMs, TaskId, String, String, ObjectType, Source)>,
    later: Vec<(TimeMs, Event)>,
}

fn rows(events: &[(TimeMs, Event)]) -> BTreeMap<u64, Row> {
    let mut rows: BTreeMap<u64, Row> = BTreeMap::new();
    for (at, event) in events {
        if !event.is_task_event() {
            continue;
        }
        let Some(row_id) = event.row() else { continue };
        let row = rows.entry(row_id).or_default();
        match event {
            Event::Created {
                task_id,
                domain,
                object_path,
                object_type,
                source,
                ..
            } => {
                assert!(row.created.is_none(), "row {row_id} created twice");
                row.created = Some((
                    *at,
                    *task_id,
                    domain.clone(),
                    object_path.clone(),
                    *object_type,
                    *source,
                ));
            }
            other => row.later.push((*at, other.clone())),
        }
    }
    rows
}

/// A row's creation time, path, and the times and kinds of its later events.
type RowSummary = (TimeMs, String, Vec<(TimeMs, String)>);

fn log_bytes(scenario: Scenario) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.cdnlog");
    simulate_to_log(scenario, &path, |_| {}).expect("simulates");
    std::fs::read(&path).expect("read log")
}

/// SHA-256 of the quickstart log. It changes only when the simulated stream or the log format
/// changes, which must be deliberate: update it in the same commit and say why.
const QUICKSTART_LOG_SHA256: &str =
    "02d6ea7ba4ec11d0d6202028fb13ef765e5876c1b4ffc0e9dbd4cba3db8742c5";

#[test]
fn the_same_scenario_gives_byte_identical_logs_and_a_pinned_hash() {
    let a = log_bytes(bundled("quickstart.toml"));
    let b = log_bytes(bundled("quickstart.toml"));
    assert!(a == b, "two runs of quickstart.toml differ");
    let hash: String = Sha256::digest(&a)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert_eq!(hash, QUICKSTART_LOG_SHA256, "the quickstart stream changed");

    let mut reseeded = bundled("quickstart.toml");
    reseeded.seed += 1;
    assert!(
        log_bytes(reseeded) != a,
        "a different seed gave the same log"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `advance_to` is incremental: any sequence of advances and batch limits emits exactly
    /// the events of one run to the end.
    #[test]
    fn chunked_advances_emit_the_same_events(
        steps in proptest::collection::vec((0i64..7_200_000, 1usize..5_000), 1..40),
    ) {
        let scenario = bundled("outage.toml");
        let whole = run(scenario.clone());
        let mut sim = Simulator::new(scenario);
        let mut out = Vec::new();
        let mut until = sim.now_ms();
        for (dt, max) in steps {
            until += dt;
            let mut batch = Vec::new();
            let done = sim.advance_to(until, &mut batch, max);
            prop_assert!(batch.len() <= max + 100, "batch of {} over {}", batch.len(), max);
            prop_assert!(done || sim.next_due_ms().is_some_and(|t| t <= until));
            out.extend(batch);
        }
        while !sim.advance_to(TimeMs::MAX, &mut out, 1_000) {}
        prop_assert!(out == whole, "chunked run differs from the whole run");
    }
}

#[test]
fn scripted_rows_appear_at_their_times_with_forced_outcomes() {
    let events = run(bundled("ci-replay.toml"));
    let rows = rows(&events);
    let expect = [
        // (row, created, task id, path, type, end time, outcome)
        (
            0,
            "2026-11-20T09:00:00Z",
            9_000_000_000,
            "http://static.example.com/index.html",
            ObjectType::File,
            "2026-11-20T09:05:02Z",
            None,
        ),
        (
            1,
            "2026-11-20T09:00:00Z",
            9_000_000_000,
            "http://static.example.com/app.js",
            ObjectType::File,
            "2026-11-20T09:05:02Z",
            None,
        ),
        (
            2,
            "2026-11-20T09:00:00Z",
            9_000_000_001,
            "http://api.example.com/v1/",
            ObjectType::Directory,
            "2026-11-20T09:06:02Z",
            None,
        ),
        (
            3,
            "2026-11-20T09:30:00Z",
            9_000_000_002,
            "https://img.example.com/hero.jpg",
            ObjectType::Preload,
            "2026-11-20T09:50:02Z",
            Some(FailReason::OriginTimeout),
        ),
        (
            4,
            "2026-11-20T09:30:00Z",
            9_000_000_002,
            "https://img.example.com/logo.png",
            ObjectType::Preload,
            "2026-11-20T09:50:02Z",
            Some(FailReason::OriginTimeout),
        ),
        (
            5,
            "2026-11-20T10:00:00Z",
            9_000_000_003,
            "http://static.example.com/img/.*\\.png",
            ObjectType::Regex,
            "2026-11-20T10:06:02Z",
            Some(FailReason::InternalError),
        ),
        (
            6,
            "2026-11-20T12:00:00Z",
            9_000_000_004,
            "http://api.example.com/search",
            ObjectType::IgnoreParams,
            "2026-11-20T12:05:02Z",
            Some(FailReason::OriginStatus5xx),
        ),
        (
            7,
            "2026-11-20T23:50:00Z",
            9_000_000_005,
            "http://static.example.com/late.css",
            ObjectType::File,
            "2026-11-20T23:55:02Z",
            None,
        ),
    ];
    assert_eq!(rows.len(), expect.len());
    for (row, created, task_id, path, object_type, end, failure) in expect {
        let r = &rows[&row];
        let (at, id, _, p, ty, source) = r.created.clone().expect("created");
        assert_eq!(
            (at, id, p.as_str(), ty, source),
            (
                t(created),
                TaskId(task_id),
                path,
                object_type,
                Source::Scenario
            ),
            "row {row}"
        );
        // Queue delay is fixed at 2 s: Refreshing from 0% two seconds after creation.
        assert_eq!(
            r.later[0],
            (
                t(created) + 2_000,
                Event::Progressed {
                    row,
                    process: Process::ZERO
                }
            )
        );
        let (end_at, last) = r.later.last().cloned().expect("finished");
        assert_eq!(end_at, t(end), "row {row} ends");
        match failure {
            None => assert_eq!(last, Event::Completed { row }),
            Some(reason) => assert_eq!(last, Event::Failed { row, reason }),
        }
    }
}

/// Checks the lifecycle of every row: Created, Progressed from 0% rising below 100%, then
/// exactly one Completed or Failed; nothing after it; times never decrease.
fn check_lifecycles(events: &[(TimeMs, Event)]) {
    assert!(
        events.windows(2).all(|w| w[0].0 <= w[1].0),
        "time went backwards"
    );
    for (row, r) in rows(events) {
        let (created, ..) = r
            .created
            .clone()
            .unwrap_or_else(|| panic!("row {row} never created"));
        let mut last_process = None;
        for (i, (at, event)) in r.later.iter().enumerate() {
            assert!(*at >= created, "row {row} event before creation");
            let is_last = i + 1 == r.later.len();
            match event {
                Event::Progressed { process, .. } => {
                    assert!(!is_last, "row {row} never finished");
                    if last_process.is_none() {
                        assert_eq!(*process, Process::ZERO, "row {row} starts above 0%");
                    }
                    assert!(
                        last_process.is_none_or(|p| p < *process),
                        "row {row} did not rise"
                    );
                    assert!(*process < Process::FULL);
                    last_process = Some(*process);
                }
                Event::Completed { .. } | Event::Failed { .. } => {
                    assert!(is_last, "row {row} after end")
                }
                _ => unreachable!("only task events are kept"),
            }
        }
        assert!(last_process.is_some(), "row {row} never started");
    }
}

#[test]
fn lifecycles_are_well_formed_and_take_the_real_times() {
    let events = run(bundled("quickstart.toml"));
    check_lifecycles(&events);
    // Defaults: queue 0-10 s, refresh 5-6 min, preload 5-30 min.
    for (row, r) in rows(&events) {
        let (created, _, _, _, object_type, _) = r.created.clone().expect("created");
        let end = r.later.last().map(|e| e.0).expect("ended");
        let took = end - created;
        let range = if object_type == ObjectType::Preload {
            300_000..=1_810_000
        } else {
            300_000..=370_000
        };
        if row > 2 {
            assert!(
                range.contains(&took),
                "row {row} ({object_type}) took {took} ms"
            );
        }
    }
}

#[test]
fn task_ids_batch_by_domain_and_second_up_to_the_cap() {
    let scenario = parse(
        r#"seed = 5
start = "2026-11-01T00:00:00Z"
duration = "2h"
[[domain]]
name = "a.example.com"
[[domain]]
name = "b.example.com"
[[workload]]
name = "busy"
rate_per_hour = 20000
urls_per_submission = { min = 1, max = 9 }
mix = { file = 3, preload = 1 }
[limits]
rows_per_refresh_task = 7
rows_per_preload_task = 3
"#,
    );
    let events = run(scenario);
    check_lifecycles(&events);
    let mut by_task: BTreeMap<TaskId, Vec<(i64, String, bool)>> = BTreeMap::new();
    for r in rows(&events).into_values() {
        let (at, id, domain, _, ty, _) = r.created.expect("created");
        by_task
            .entry(id)
            .or_default()
            .push((at.div_euclid(1000), domain, ty.is_preload()));
    }
    let mut per_key: BTreeMap<(i64, String, bool), Vec<usize>> = BTreeMap::new();
    for (id, members) in &by_task {
        let key = members[0].clone();
        assert!(
            members.iter().all(|m| *m == key),
            "task {id} mixes batches: {members:?}"
        );
        let cap = if key.2 { 3 } else { 7 };
        assert!(members.len() <= cap, "task {id} has {} rows", members.len());
        per_key.entry(key).or_default().push(members.len());
    }
    // Within one (second, domain, kind) every id but the last is full.
    let mut split = 0;
    for (key, sizes) in per_key {
        let cap = if key.2 { 3 } else { 7 };
        assert!(
            sizes[..sizes.len() - 1].iter().all(|&n| n == cap),
            "{key:?}: {sizes:?}"
        );
        split += usize::from(sizes.len() > 1);
    }
    assert!(split > 50, "the cap was hardly exercised ({split} splits)");
}

#[test]
fn failure_rates_and_type_mix_match_the_scenario_over_100k_rows() {
    let scenario = parse(
        r#"seed = 11
start = "2026-11-01T00:00:00Z"
duration = "1d"
[[domain]]
name = "a.example.com"
[[workload]]
name = "w"
rate_per_hour = 4200
mix = { file = 0.5, directory = 0.1, regex = 0.05, IgnoreParams = 0.05, preload = 0.3 }
[failures]
internal_error = 0.01
origin_timeout = 0.02
origin_5xx = 0.03
"#,
    );
    let events = run(scenario);
    let rows = rows(&events);
    let n = rows.len() as f64;
    assert!(rows.len() > 100_000 - 3_000, "{} rows", rows.len());
    // Tolerance: 5 standard deviations of a binomial proportion.
    let close = |what: &str, count: usize, p: f64| {
        let observed = count as f64 / n;
        let tolerance = 5.0 * (p * (1.0 - p) / n).sqrt();
        assert!(
            (observed - p).abs() <= tolerance,
            "{what}: {observed:.4} vs {p} (± {tolerance:.4})"
        );
    };
    let mix = [0.5, 0.1, 0.05, 0.05, 0.3];
    for (ty, p) in ObjectType::ALL.into_iter().zip(mix) {
        let count = rows
            .values()
            .filter(|r| r.created.as_ref().is_some_and(|c| c.4 == ty))
            .count();
        close(ty.as_str(), count, p);
    }
    for (reason, p) in FailReason::ALL.into_iter().zip([0.01, 0.02, 0.03]) {
        let count = events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Failed { reason: r, .. } if *r == reason))
            .count();
        close(reason.as_str(), count, p);
    }
}

#[test]
fn an_incident_raises_failures_inside_its_window_only() {
    let events = run(bundled("outage.toml"));
    let rows = rows(&events);
    let (start, end) = (t("2026-11-11T10:00:00Z"), t("2026-11-11T12:00:00Z"));
    let (mut inside, mut inside_failed, mut outside, mut outside_failed) = (0, 0, 0, 0);
    for r in rows.values() {
        let (_, _, domain, ..) = r.created.as_ref().expect("created");
        let (end_at, last) = r.later.last().expect("ended");
        let timed_out = matches!(
            last,
            Event::Failed {
                reason: FailReason::OriginTimeout,
                ..
            }
        );
        if domain == "img.example.com" && (start..end).contains(end_at) {
            inside += 1;
            inside_failed += usize::from(timed_out);
        } else {
            outside += 1;
            outside_failed += usize::from(timed_out);
        }
    }
    let inside_rate = inside_failed as f64 / inside as f64;
    let outside_rate = outside_failed as f64 / outside as f64;
    assert!(inside > 200, "only {inside} rows in the window");
    assert!(
        (inside_rate - 0.9).abs() < 0.05,
        "inside the window: {inside_rate}"
    );
    assert!(outside_rate < 0.006, "outside the window: {outside_rate}");
}

#[test]
fn adding_a_workload_or_domain_keeps_the_other_workloads_draws() {
    let base = r#"seed = 3
start = "2026-11-01T00:00:00Z"
duration = "12h"
[[domain]]
name = "a.example.com"
[[workload]]
name = "first"
rate_per_hour = 60
domains = ["a.example.com"]
urls_per_submission = { min = 1, max = 5 }
"#;
    let more = format!(
        "{base}[[domain]]\nname = \"b.example.com\"\n[[workload]]\nname = \"second\"\nrate_per_hour = 90\ndomains = [\"b.example.com\"]\n"
    );
    let of_domain_a = |events: Vec<(TimeMs, Event)>| -> Vec<RowSummary> {
        rows(&events)
            .into_values()
            .filter_map(|r| {
                let (at, _, domain, path, ..) = r.created?;
                let later = r
                    .later
                    .iter()
                    .map(|(t, e)| (*t, e.kind().to_owned()))
                    .collect();
                (domain == "a.example.com").then_some((at, path, later))
            })
            .collect()
    };
    let alone = of_domain_a(run(parse(base)));
    let together = of_domain_a(run(parse(&more)));
    assert!(alone.len() > 100);
    assert_eq!(alone, together);
}

#[test]
fn memory_is_bounded_by_rows_in_flight_not_by_duration() {
    let steady = |duration: &str| {
        parse(&format!(
            "seed = 9\nstart = \"2026-11-01T00:00:00Z\"\nduration = \"{duration}\"\n[[domain]]\nname = \"a.example.com\"\n[[workload]]\nname = \"w\"\nrate_per_hour = 600\nurls_per_submission = {{ min = 1, max = 10 }}\n"
        ))
    };
    let peak = |scenario: Scenario| {
        let mut sim = Simulator::new(scenario);
        let (mut peak, mut out) = (0, Vec::new());
        while !sim.advance_to(TimeMs::MAX, &mut out, 1_000) {
            peak = peak.max(sim.pending());
            out.clear();
        }
        (peak, sim.stats().rows)
    };
    let (short_peak, short_rows) = peak(steady("1d"));
    let (long_peak, long_rows) = peak(steady("10d"));
    assert!(long_rows > 9 * short_rows, "{long_rows} vs {short_rows}");
    assert!(
        (long_peak as f64) < 1.5 * short_peak as f64,
        "peak {long_peak} vs {short_peak}"
    );
}

#[test]
fn api_submissions_get_model_lifecycles_at_the_current_time() {
    let scenario = bundled("ci-replay.toml");
    let domain = scenario.domain_index("img.example.com").expect("domain");
    let mut sim = Simulator::new(scenario);
    let mut out = Vec::new();
    let at = t("2026-11-20T09:30:00.500Z");
    assert!(sim.advance_to(at, &mut out, usize::MAX));
    let before = out.len();
    let submission = Submission {
        domain,
        object_type: ObjectType::File,
        paths: vec![
            "https://img.example.com/a.css".into(),
            "https://img.example.com/b.css".into(),
        ],
    };
    let ids = sim.submit(submission, &mut out);
    // Same domain and second as the scripted preload at 09:30:00, but refresh: a new id.
    assert_eq!(ids, vec![TaskId(9_000_000_003)]);
    assert!(out[before..].iter().all(|(t, e)| *t == at
        && matches!(
            e,
            Event::Created {
                source: Source::Api,
                ..
            }
        )));
    let api_rows: Vec<u64> = out[before..].iter().filter_map(|(_, e)| e.row()).collect();
    assert_eq!(api_rows, [5, 6]);
    assert!(sim.advance_to(at + 10 * 60_000, &mut out, usize::MAX));
    let done = out
        .iter()
        .filter(|(_, e)| matches!(e, Event::Completed { row: 5 | 6 }))
        .count();
    assert_eq!(done, 2, "both API rows complete within 10 minutes");
}
