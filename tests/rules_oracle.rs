//! A property test of rules against naive oracles: random clock moves, writes, rules added
//! and deleted, calls that error rules may answer, restarts and resets against one server.
//! Afterwards, read only from the log file of the current timeline:
//! - every API row answers as a naive fold of the log says (status, process, description);
//! - every row a lifecycle rule decided shows what the rule forces (outcome and reason, queue
//!   delay, processing time), the rule matched it, was live, and no earlier live rule that
//!   always applies matched it; every API row no rule decided had no such rule either;
//! - `GET /_cdnsim/rules` lists what a naive count of the rule records gives;
//! - every injected error answered is one `RuleUsed` call record, and the other way round.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cdnsim::event::{Event, Record, RuleUse, Source as RowSource, TimeMs};
use cdnsim::scenario::Forced;
use cdnsim::scenario::rule::{Lifecycle, RowFacts, Rule, RuleKind};
use cdnsim::server::Config;
use common::http::*;
use common::oracle::fold;
use hyper::StatusCode;
use proptest::prelude::*;
use serde_json::Value;

const SCENARIO: &str = r#"
seed = 5
start = "2026-11-20T00:00:00Z"
duration = "1d"

[[domain]]
name = "a.example.com"

[[domain]]
name = "b.example.com"

[[workload]]
name = "background"
rate_per_hour = 20

[[rule]]
name = "scenario-slow"
match = { path = "*/slow/*" }
processing = "20m"
times = 3
"#;

#[derive(Debug, Clone)]
enum Op {
    Advance(u32),
    /// Paths (domain a or b, a sub-directory each) in one write, of this type.
    Write(Vec<(bool, u8)>, bool),
    AddLifecycle(LifecycleSpec),
    AddError(ErrorSpec),
    Delete(Option<u8>),
    Calls(u8),
    Restart,
    Reset,
}

#[derive(Debug, Clone)]
struct LifecycleSpec {
    domain: Option<bool>,
    dir: Option<u8>,
    preload: Option<bool>,
    outcome: Option<Option<u8>>,
    queue_s: Option<u16>,
    processing_s: Option<u16>,
    probability: Option<f64>,
    times: Option<u8>,
}

#[derive(Debug, Clone)]
struct ErrorSpec {
    quota: bool,
    code: u8,
    probability: Option<f64>,
    times: Option<u8>,
}

const DIRS: [&str; 4] = ["app", "img", "slow", "x"];
const CODES: [&str; 4] = [
    "Throttling.User",
    "ServiceUnavailable",
    "InternalError",
    "TooManyRequests",
];

fn op() -> impl Strategy<Value = Op> {
    let lifecycle = (
        prop::option::of(any::<bool>()),
        prop::option::of(0u8..4),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::option::of(0u8..3)),
        prop::option::of(0u16..600),
        prop::option::of(1u16..3_600),
        prop::option::of(prop::sample::select(vec![0.0, 0.3, 0.5, 1.0])),
        prop::option::of(1u8..4),
    )
        .prop_map(
            |(domain, dir, preload, outcome, queue_s, processing_s, probability, times)| {
                LifecycleSpec {
                    domain,
                    dir,
                    preload,
                    outcome,
                    queue_s,
                    processing_s,
                    probability,
                    times,
                }
            },
        );
    let error = (
        any::<bool>(),
        0u8..4,
        prop::option::of(prop::sample::select(vec![0.0, 0.4, 1.0])),
        prop::option::of(1u8..4),
    )
        .prop_map(|(quota, code, probability, times)| ErrorSpec {
            quota,
            code,
            probability,
            times,
        });
    prop_oneof![
        3 => (1u32..4_000).prop_map(Op::Advance),
        5 => (prop::collection::vec((any::<bool>(), 0u8..4), 1..5), any::<bool>())
            .prop_map(|(paths, preload)| Op::Write(paths, preload)),
        3 => lifecycle.prop_map(Op::AddLifecycle),
        2 => error.prop_map(Op::AddError),
        1 => prop::option::of(0u8..6).prop_map(Op::Delete),
        2 => (1u8..6).prop_map(Op::Calls),
        1 => Just(Op::Restart),
        1 => Just(Op::Reset),
    ]
}

fn lifecycle_json(name: &str, s: &LifecycleSpec) -> String {
    let mut m = serde_json::Map::new();
    if let Some(b) = s.domain {
        let d = if b { "a.example.com" } else { "B.example.com" };
        m.insert("domain".into(), d.into());
    }
    if let Some(d) = s.dir {
        m.insert("path".into(), format!("*/{}/*", DIRS[d as usize]).into());
    }
    if let Some(p) = s.preload {
        m.insert("type".into(), if p { "preload" } else { "file" }.into());
    }
    let mut rule = serde_json::json!({ "name": name, "match": m });
    let reasons = ["internal_error", "origin_timeout", "origin_5xx"];
    match s.outcome {
        Some(Some(r)) => {
            rule["outcome"] = "failed".into();
            rule["reason"] = reasons[r as usize].into();
        }
        Some(None) => rule["outcome"] = "complete".into(),
        None => {}
    }
    if let Some(q) = s.queue_s {
        rule["queue_delay"] = format!("{q}s").into();
    }
    // Something must be forced.
    if s.processing_s.is_some() || (s.outcome.is_none() && s.queue_s.is_none()) {
        rule["processing"] = format!("{}s", s.processing_s.unwrap_or(30)).into();
    }
    if let Some(p) = s.probability {
        rule["probability"] = p.into();
    }
    if let Some(t) = s.times {
        rule["times"] = t.into();
    }
    rule.to_string()
}

fn error_json(name: &str, s: &ErrorSpec) -> String {
    let action = if s.quota {
        "DescribeRefreshQuota"
    } else {
        "RefreshObjectCaches"
    };
    let mut rule =
        serde_json::json!({ "name": name, "action": action, "error": CODES[s.code as usize] });
    if let Some(p) = s.probability {
        rule["probability"] = p.into();
    }
    if let Some(t) = s.times {
        rule["times"] = t.into();
    }
    rule.to_string()
}

fn config(data: &Path, at: Option<TimeMs>) -> Config {
    let mut config = text_config(data, SCENARIO);
    config.at_ms = at;
    config
}

async fn clock_ms(server: &Running) -> TimeMs {
    let now = get(server, "/_cdnsim/clock").await.json()["now"].clone();
    cdnsim::time::parse_rfc3339(now.as_str().expect("a time")).expect("RFC 3339")
}

/// What the run saw of the current timeline.
#[derive(Default)]
struct Seen {
    /// Injected errors answered (any code of `CODES`).
    injected: usize,
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = data.join("events.cdnlog");
    let mut server = Running::start(config(&data, None)).await;
    let mut seen = Seen::default();
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Advance(s) => {
                let answer = move_clock(&server, &format!(r#"{{"advance":"{s}s"}}"#)).await;
                assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            }
            Op::Write(paths, preload) => {
                let paths: Vec<String> = paths
                    .iter()
                    .enumerate()
                    .map(|(j, (a, d))| {
                        let domain = if *a { "a" } else { "b" };
                        format!(
                            "http://{domain}.example.com/{}/{i}-{j}.js",
                            DIRS[*d as usize]
                        )
                    })
                    .collect();
                let action = if preload {
                    "PushObjectCache"
                } else {
                    "RefreshObjectCaches"
                };
                let body = format!(
                    "Format=JSON&ObjectPath={}",
                    cdnsim::api::encoding::encode(&paths.join("\n"))
                );
                let answer = post(
                    &server,
                    &format!("/?Action={action}"),
                    "application/x-www-form-urlencoded",
                    &body,
                )
                .await;
                note(&mut seen, &answer);
            }
            Op::AddLifecycle(spec) => {
                let answer = add_rule(&server, &lifecycle_json(&format!("r{i}"), &spec)).await;
                assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            }
            Op::AddError(spec) => {
                let answer = add_rule(&server, &error_json(&format!("r{i}"), &spec)).await;
                assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            }
            Op::Delete(which) => {
                let listed = list_rules(&server).await;
                let path = match which {
                    None => "/_cdnsim/rules".to_owned(),
                    Some(k) if listed.is_empty() => format!("/_cdnsim/rules/none{k}"),
                    Some(k) => format!(
                        "/_cdnsim/rules/{}",
                        listed[k as usize % listed.len()]["name"]
                            .as_str()
                            .expect("a name")
                    ),
                };
                let answer = delete(&server, &path).await;
                let want = if path.contains("/none") {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::NO_CONTENT
                };
                assert_eq!(answer.status, want, "{path}: {}", answer.body);
            }
            Op::Calls(n) => {
                for _ in 0..n {
                    let answer = get(&server, "/?Action=DescribeRefreshQuota&Format=JSON").await;
                    note(&mut seen, &answer);
                }
            }
            Op::Restart => {
                let at = clock_ms(&server).await;
                server.stop().await;
                server = Running::start(config(&data, Some(at))).await;
            }
            Op::Reset => {
                let answer = post(&server, "/_cdnsim/reset", "application/json", "").await;
                assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
                seen = Seen::default();
            }
        }
    }
    let now_ms = clock_ms(&server).await;
    let listed = list_rules(&server).await;
    let mut answers = BTreeMap::new();
    let records: Vec<Record> = cdnsim::log::Records::open(&log)
        .expect("opens")
        .map(|r| r.expect("a whole record"))
        .collect();
    for r in &records {
        if let Event::Created {
            task_id,
            object_path,
            source: RowSource::Api,
            ..
        } = &r.event
        {
            let rows = by_id(&server, &task_id.to_string()).await;
            for row in rows.iter().filter(|row| row["ObjectPath"] == *object_path) {
                answers.insert(object_path.clone(), row.clone());
            }
        }
    }
    server.stop().await;
    check_rows(&records, now_ms, &answers);
    check_rules(&records, &listed);
    let calls = records
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                Event::RuleUsed {
                    by: RuleUse::Call(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(seen.injected, calls, "one record per injected answer");
}

fn note(seen: &mut Seen, answer: &Answer) {
    let code = answer.json()["Code"].as_str().map(str::to_owned);
    if code.is_some_and(|c| CODES.contains(&c.as_str())) {
        seen.injected += 1;
    }
}

/// A rule in force in the naive count: the rule, when added, and uses so far.
struct Live {
    rule: Rule,
    added_ms: TimeMs,
    used: u64,
}

fn remaining(l: &Live) -> Option<u64> {
    l.rule.times.map(|t| t.saturating_sub(l.used))
}

/// Rows as the server answered them against the naive fold; rule decisions against what the
/// rules in force said.
fn check_rows(records: &[Record], now_ms: TimeMs, answers: &BTreeMap<String, Value>) {
    let events: Vec<(TimeMs, Event)> = records.iter().map(|r| (r.at_ms, r.event.clone())).collect();
    let folded = fold(&events, now_ms);
    for (_, _, _, view) in &folded {
        let Some(answer) = answers.get(&view.object_path) else {
            continue; // scenario rows, or an API row out of the window
        };
        assert_eq!(
            answer["Status"],
            format!("{:?}", view.status),
            "{}",
            view.object_path
        );
        assert_eq!(answer["Process"], view.process.to_string());
        let description = view.reason.map_or("", |r| r.as_str());
        assert_eq!(answer["Description"], description);
    }
    // Replay the rule records beside the rows.
    let mut live: Vec<Live> = Vec::new();
    let mut created: BTreeMap<u64, (TimeMs, String, String, cdnsim::event::ObjectType)> =
        BTreeMap::new();
    let mut decided: BTreeMap<u64, Lifecycle> = BTreeMap::new();
    let mut undecided_api: Vec<u64> = Vec::new();
    for (k, r) in records.iter().enumerate() {
        match &r.event {
            Event::RuleAdded { rule, .. } => live.push(Live {
                rule: Rule::from_json(rule).expect("a logged rule reads"),
                added_ms: r.at_ms,
                used: 0,
            }),
            Event::RuleDeleted { name } => live.retain(|l| l.rule.name != *name),
            Event::RuleUsed { name, by } => {
                let i = live
                    .iter()
                    .position(|l| l.rule.name == *name)
                    .expect("a use of a rule in force");
                assert_ne!(remaining(&live[i]), Some(0), "a spent rule was used");
                if !matches!(by, RuleUse::Passed(_)) {
                    live[i].used += 1;
                }
                if let RuleUse::Row(row) = by {
                    let (_, domain, path, object_type) = &created[row];
                    let facts = RowFacts {
                        domain,
                        object_path: path,
                        object_type: *object_type,
                    };
                    let RuleKind::Lifecycle(l) = &live[i].rule.kind else {
                        panic!("a row decided by an error rule")
                    };
                    assert!(l.matches(&facts), "{name} decided {path} it does not match");
                    always_first(&live[..i], &facts, path);
                    undecided_api.retain(|u| u != row);
                    decided.insert(*row, l.clone());
                }
            }
            Event::Created {
                row,
                domain,
                object_path,
                object_type,
                source,
                ..
            } => {
                created.insert(
                    *row,
                    (r.at_ms, domain.clone(), object_path.clone(), *object_type),
                );
                if *source == RowSource::Api {
                    // Decided only if the next record is its rule's use.
                    let next = records.get(k + 1).map(|n| &n.event);
                    let used = matches!(next, Some(Event::RuleUsed { by: RuleUse::Row(x), .. }) if x == row);
                    if !used {
                        let facts = RowFacts {
                            domain,
                            object_path,
                            object_type: *object_type,
                        };
                        always_first(&live, &facts, object_path);
                    }
                }
            }
            _ => {}
        }
    }
    check_forced(&events, &decided);
}

/// No rule in `earlier` is live, matches the row and always applies (probability 1).
fn always_first(earlier: &[Live], facts: &RowFacts<'_>, path: &str) {
    for l in earlier {
        if let RuleKind::Lifecycle(rule) = &l.rule.kind
            && remaining(l) != Some(0)
            && l.rule.probability >= 1.0
            && rule.matches(facts)
        {
            panic!("{} should have decided {path}", l.rule.name);
        }
    }
}

/// Each decided row's lifecycle shows what its rule forced.
fn check_forced(events: &[(TimeMs, Event)], decided: &BTreeMap<u64, Lifecycle>) {
    let mut times: BTreeMap<u64, Vec<(TimeMs, &Event)>> = BTreeMap::new();
    for (at, e) in events {
        if e.is_task_event()
            && let Some(row) = e.row()
        {
            times.entry(row).or_default().push((*at, e));
        }
    }
    for (row, l) in decided {
        let life = &times[row];
        let created = life[0].0;
        let Some(first) = life
            .iter()
            .find(|(_, e)| matches!(e, Event::Progressed { .. }))
        else {
            continue; // not started yet
        };
        if let Some(q) = l.queue_delay_ms {
            assert_eq!(first.0 - created, q, "row {row}: queue delay");
        }
        let end = life
            .iter()
            .find(|(_, e)| matches!(e, Event::Completed { .. } | Event::Failed { .. }));
        let Some((end_ms, end)) = end else { continue };
        if let Some(p) = l.processing_ms {
            assert_eq!(end_ms - first.0, p, "row {row}: processing");
        }
        match (l.outcome, end) {
            (Some(Forced::Complete), Event::Completed { .. }) | (None, _) => {}
            (Some(Forced::Failed(want)), Event::Failed { reason, .. }) => {
                assert_eq!(want, *reason, "row {row}")
            }
            (want, got) => panic!("row {row}: {want:?} forced, {got:?} logged"),
        }
    }
}

/// The list the endpoint gave against a naive count of the rule records.
fn check_rules(records: &[Record], listed: &[Value]) {
    let mut live: Vec<Live> = Vec::new();
    for r in records {
        match &r.event {
            Event::RuleAdded { rule, .. } => live.push(Live {
                rule: Rule::from_json(rule).expect("reads"),
                added_ms: r.at_ms,
                used: 0,
            }),
            Event::RuleDeleted { name } => live.retain(|l| l.rule.name != *name),
            Event::RuleUsed { name, by } if !matches!(by, RuleUse::Passed(_)) => {
                if let Some(l) = live.iter_mut().find(|l| l.rule.name == *name) {
                    l.used += 1;
                }
            }
            _ => {}
        }
    }
    let names: Vec<&str> = live.iter().map(|l| l.rule.name.as_str()).collect();
    let listed_names: Vec<&str> = listed.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(listed_names, names);
    for (l, v) in live.iter().zip(listed) {
        assert_eq!(
            v["remaining"],
            serde_json::json!(remaining(l)),
            "{}",
            l.rule.name
        );
        assert_eq!(v["added_at"], cdnsim::time::format_ms(l.added_ms));
        let stored: Value = serde_json::from_str(&l.rule.to_json_string()).expect("JSON");
        for (k, want) in stored.as_object().expect("an object") {
            assert_eq!(&v[k], want, "{}: {k}", l.rule.name);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rules_answer_as_the_log_says(ops in prop::collection::vec(op(), 1..24)) {
        common::block_on(run(ops));
    }
}
