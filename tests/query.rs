//! The projection against a deliberately naive oracle (fold to T, filter linearly, sort,
//! page), for thousands of random times and filters; validation through the whole answer.

use std::path::Path;
use std::sync::OnceLock;

use cdnsim::api::{self, ByIdQuery, DescribeQuery, Format, Params, StatusFilter, TypeFilter};
use cdnsim::event::{Event, FailReason, ObjectType, TaskId, TimeMs};
use cdnsim::model::{Account, Origin, ReadModel};
use cdnsim::scenario::Scenario;
use cdnsim::sim::Simulator;
use cdnsim::time::parse_rfc3339;
use proptest::prelude::*;

mod common;
use common::oracle::naive_describe;

const SCENARIO: &str = r#"seed = 17
start = "2026-11-01T00:00:00Z"
duration = "5d"
[[domain]]
name = "a.example.com"
[[domain]]
name = "b.example.com"
weight = 2
[[workload]]
name = "w"
rate_per_hour = 40
urls_per_submission = { min = 1, max = 6 }
mix = { file = 4, directory = 1, regex = 1, IgnoreParams = 1, preload = 2 }
paths = { count = 300 }
[lifecycle]
queue_delay = { min = "0s", max = "90s" }
[failures]
internal_error = 0.05
origin_timeout = 0.05
origin_5xx = 0.05
[limits]
rows_per_refresh_task = 3
"#;

struct Fixture {
    events: Vec<(TimeMs, Event)>,
    model: ReadModel,
    start: TimeMs,
    end: TimeMs,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let scenario = Scenario::parse(Path::new("oracle.toml"), SCENARIO).expect("valid");
        let start = scenario.start_ms;
        let mut sim = Simulator::new(scenario);
        let mut events = Vec::new();
        drive_with_rules(&mut sim, start, &mut events);
        sim.advance_to(TimeMs::MAX, &mut events, usize::MAX);
        let origin = Origin {
            fingerprint: [0; 32],
            seed: 0,
        };
        let mut model = ReadModel::new(origin, Account::default());
        for (seq, (at_ms, event)) in events.iter().enumerate() {
            let borrowed = cdnsim::event::Record {
                seq: seq as u64,
                at_ms: *at_ms,
                event: event.as_ref(),
            };
            model.apply(&borrowed).expect("applies");
        }
        let end = events.last().map_or(start, |e| e.0);
        Fixture {
            events,
            model,
            start,
            end,
        }
    })
}

/// Runs the scenario through its first two days as a server would with a test author at it:
/// rules added and deleted, API submissions some of them decide, calls error rules draw for —
/// so the log the oracle folds holds rule records and rule-decided rows among the others.
fn drive_with_rules(sim: &mut Simulator, start: TimeMs, events: &mut Vec<(TimeMs, Event)>) {
    let rules = [
        r#"{"name":"down","match":{"domain":"a.example.com"},"outcome":"failed","reason":"origin_5xx","probability":0.5}"#,
        r#"{"name":"stuck","match":{"path":"*/stuck/*"},"processing":"20h","times":5}"#,
        r#"{"name":"busy","action":"DescribeRefreshTasks","error":"Throttling.User","probability":0.3}"#,
        r#"{"name":"fast","match":{"type":"preload"},"outcome":"complete","queue_delay":"0s","processing":"1s"}"#,
    ];
    for step in 0..96i64 {
        sim.advance_to(start + step * 1_800_000, events, usize::MAX);
        if step % 24 == 0 {
            let rule = cdnsim::scenario::rule::Rule::from_json(rules[(step / 24) as usize])
                .expect("a valid rule");
            sim.add_rule(rule, events).expect("a new name");
        }
        if step == 70 {
            sim.delete_rules(Some("down"), events).expect("in force");
        }
        let (domain, dir, object_type) = match step % 3 {
            0 => (0, "x", ObjectType::File),
            1 => (1, "stuck", ObjectType::File),
            _ => (1, "p", ObjectType::Preload),
        };
        let host = ["a.example.com", "b.example.com"][domain];
        let paths = (0..2)
            .map(|i| format!("http://{host}/{dir}/{step}-{i}.js"))
            .collect();
        sim.submit(
            cdnsim::sim::Submission {
                domain,
                object_type,
                paths,
            },
            events,
        );
        sim.call("DescribeRefreshTasks", events);
    }
}

fn arb_query() -> impl Strategy<Value = DescribeQuery> {
    let f = fixture();
    let (start, end) = (f.start, f.end);
    let paths: Vec<(TaskId, String)> = f
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Created {
                task_id,
                object_path,
                ..
            } => Some((*task_id, object_path.clone())),
            _ => None,
        })
        .collect();
    let type_filter = prop_oneof![
        3 => Just(None),
        1 => Just(Some(TypeFilter::Blocking)),
        6 => proptest::sample::select(ObjectType::ALL.to_vec()).prop_map(|t| Some(TypeFilter::Is(t))),
    ];
    let status = prop_oneof![
        Just(None),
        Just(Some(StatusFilter::Complete)),
        Just(Some(StatusFilter::Refreshing)),
        Just(Some(StatusFilter::Failed)),
    ];
    let domain = prop_oneof![
        Just(None),
        Just(Some("a.example.com".to_owned())),
        Just(Some("b.example.com".to_owned())),
        Just(Some("c.example.com".to_owned())),
    ];
    let named = prop_oneof![
        6 => Just((None, None)),
        1 => proptest::sample::select(paths.clone()).prop_map(|(id, _)| (Some(id), None)),
        1 => proptest::sample::select(paths).prop_map(|(_, p)| (None, Some(p))),
    ];
    // Replay times anywhere, or right around an event (the same second, before and after it),
    // where rows created after T but in T's second must not show.
    let event_times: Vec<TimeMs> = f.events.iter().map(|e| e.0).collect();
    let at = prop_oneof![
        start - 3_600_000..end + 3_600_000,
        (proptest::sample::select(event_times), -1_000i64..=1_000).prop_map(|(t, d)| t + d),
    ];
    (
        at,
        type_filter,
        status,
        domain,
        named,
        0i64..4 * 86_400_000,
        0i64..86_400_000,
        1u32..6,
        1u32..40,
    )
        .prop_map(
            move |(
                at_ms,
                object_type,
                status,
                domain,
                (task_id, object_path),
                back,
                len,
                page_number,
                page_size,
            )| {
                // Windows: the default, or a random one inside the last three days.
                let window_ms = if back % 3 == 0 {
                    (at_ms - 3 * 86_400_000, at_ms)
                } else {
                    let s = (at_ms - back.min(3 * 86_400_000)) / 1000 * 1000;
                    (s, (s + len).min(at_ms))
                };
                DescribeQuery {
                    at_ms,
                    task_id,
                    object_path,
                    domain,
                    object_type,
                    status,
                    window_ms,
                    page_number,
                    page_size,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_projection_answers_like_the_naive_fold(q in arb_query()) {
        let f = fixture();
        let fast = f.model.projection().describe(&q);
        let slow = naive_describe(&f.events, &q);
        prop_assert_eq!(fast, slow, "query {:?}", q);
    }

    #[test]
    fn by_id_answers_like_the_naive_fold(
        at_ms in fixture().start..fixture().end + 3_600_000,
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..10),
    ) {
        let f = fixture();
        let ids: Vec<TaskId> = f.events.iter().filter_map(|(_, e)| match e {
            Event::Created { task_id, .. } => Some(*task_id), _ => None }).collect();
        // Distinct ids, as ByIdQuery::parse gives them.
        let mut task_ids: Vec<TaskId> = Vec::new();
        for id in picks.iter().map(|i| ids[i.index(ids.len())]) {
            if !task_ids.contains(&id) {
                task_ids.push(id);
            }
        }
        let q = ByIdQuery { at_ms, task_ids: task_ids.clone(), window_ms: (at_ms - 3 * 86_400_000, at_ms) };
        let fast = f.model.projection().by_id(&q);
        let mut slow_rows = Vec::new();
        for id in &task_ids {
            let dq = DescribeQuery { at_ms, task_id: Some(*id), object_path: None, domain: None, object_type: None,
                status: None, window_ms: q.window_ms, page_number: 1, page_size: 100_000 };
            slow_rows.extend(naive_describe(&f.events, &dq).rows);
        }
        prop_assert_eq!(fast.total as usize, slow_rows.len());
        // The same rows (a task may hold one path twice, in different states): compare as
        // multisets, each row's whole view as the tie-breaker.
        let order = |r: &cdnsim::projection::RowView| (std::cmp::Reverse((r.creation_ms, r.task_id)), format!("{r:?}"));
        let mut fast_sorted = fast.rows.clone();
        fast_sorted.sort_by_key(order);
        slow_rows.sort_by_key(order);
        prop_assert_eq!(fast_sorted, slow_rows);
    }

    /// Any parameters at all: an answer with a known status, never a panic.
    #[test]
    fn any_parameters_get_an_answer(
        pairs in proptest::collection::vec((
            proptest::sample::select(vec!["TaskId", "ObjectPath", "DomainName", "ObjectType", "Status",
                "StartTime", "EndTime", "PageNumber", "PageSize", "Format", "Other"]),
            "\\PC{0,24}",
        ), 0..6),
        by_id in any::<bool>(),
    ) {
        let f = fixture();
        let params = Params(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let action = if by_id { "DescribeRefreshTaskById" } else { "DescribeRefreshTasks" };
        let r = answer(action, &params, f.end, Format::Json);
        prop_assert!(r.status == 200 || r.status == 400, "{} {}", r.status, r.body);
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON body");
        prop_assert!(json.get("RequestId").is_some());
    }
}

/// The API's answer from the fixture's state (a finished log: nothing is writable).
fn answer(action: &str, params: &Params, at_ms: TimeMs, default_format: Format) -> api::Response {
    let call = api::Call {
        action,
        params,
        at_ms,
        replayed: false,
        writable: false,
        default_format,
        version: params.get("Version"),
    };
    match api::answer(&fixture().model, &call) {
        api::Answer::Done(response) => response,
        api::Answer::Write(pending) => panic!("a write from a read-only model: {pending:?}"),
    }
}

fn t(text: &str) -> TimeMs {
    parse_rfc3339(text).expect("time")
}

/// (action, parameters, HTTP status, Code).
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

/// Table of every validation error with its HTTP status, through the whole answer.
#[test]
fn validation_errors_through_the_answer() {
    let now = t("2026-11-04T12:00:00Z");
    let cases: &[Case] = &[
        (
            "DescribeRefreshTasks",
            &[("TaskId", "abc")],
            400,
            "InvalidTaskId.Malformed",
        ),
        (
            "DescribeRefreshTasks",
            &[("ObjectPath", "no-scheme.com/a")],
            400,
            "InvalidObjectPath.Malformed",
        ),
        (
            "DescribeRefreshTasks",
            &[("ObjectType", "folder")],
            400,
            "InvalidObjectType.ValueNotSupported",
        ),
        (
            "DescribeRefreshTasks",
            &[("ObjectType", "file"), ("Status", "Done")],
            400,
            "InvalidStatus.ValueNotSupported",
        ),
        (
            "DescribeRefreshTasks",
            &[("DomainName", "a.example.com")],
            400,
            "MissingParameter.ObjectType",
        ),
        (
            "DescribeRefreshTasks",
            &[("StartTime", "x"), ("EndTime", "2026-11-04T00:00:00Z")],
            400,
            "InvalidStartTime.Malformed",
        ),
        (
            "DescribeRefreshTasks",
            &[("StartTime", "2026-11-04T00:00:00Z"), ("EndTime", "x")],
            400,
            "InvalidEndTime.Malformed",
        ),
        (
            "DescribeRefreshTasks",
            &[("EndTime", "2026-11-04T00:00:00Z")],
            400,
            "MissingTimeParameter",
        ),
        (
            "DescribeRefreshTasks",
            &[
                ("StartTime", "2026-11-04T00:00:01Z"),
                ("EndTime", "2026-11-04T00:00:00Z"),
            ],
            400,
            "InvalidEndTime.Mismatch",
        ),
        (
            "DescribeRefreshTasks",
            &[
                ("StartTime", "2026-11-01T11:59:59Z"),
                ("EndTime", "2026-11-04T00:00:00Z"),
            ],
            400,
            "InvalidTime",
        ),
        (
            "DescribeRefreshTasks",
            &[("PageSize", "101")],
            400,
            "InvalidParameter.PageSize",
        ),
        (
            "DescribeRefreshTasks",
            &[("PageNumber", "0")],
            400,
            "InvalidParameter.PageNumber",
        ),
        (
            "DescribeRefreshTasks",
            &[("Format", "YAML")],
            400,
            "InvalidParameter.Format",
        ),
        ("DescribeRefreshTaskById", &[], 400, "MissingTaskId"),
        (
            "DescribeRefreshTaskById",
            &[("TaskId", "1,2,3,4,5,6,7,8,9,10,11")],
            400,
            "InvalidTaskId",
        ),
        (
            "DescribeRefreshTaskById",
            &[("TaskId", "1,x")],
            400,
            "InvalidTaskId.Malformed",
        ),
        ("DescribeCdnService", &[], 404, "InvalidAction.NotFound"),
    ];
    for (action, pairs, status, code) in cases {
        let params: Params = pairs.iter().copied().collect();
        let r = answer(action, &params, now, Format::Json);
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(
            (r.status, json["Code"].as_str()),
            (*status, Some(*code)),
            "{action} {pairs:?}"
        );
    }
}

#[test]
fn pages_past_the_end_are_empty_with_the_true_total() {
    let f = fixture();
    let params: Params = [("PageNumber", "100000"), ("PageSize", "100")]
        .into_iter()
        .collect();
    let r = answer("DescribeRefreshTasks", &params, f.end, Format::Json);
    let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(r.status, 200);
    assert!(
        json["TotalCount"].as_u64().is_some_and(|n| n > 100),
        "{}",
        r.body
    );
    assert_eq!(json["Tasks"]["CDNTask"].as_array().map(Vec::len), Some(0));
    // Failed rows show their reason; others an empty Description.
    let failed: Params = [
        ("ObjectType", "file"),
        ("Status", "Failed"),
        ("Format", "JSON"),
    ]
    .into_iter()
    .collect();
    let r = answer("DescribeRefreshTasks", &failed, f.end, Format::Xml);
    let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    let reasons: Vec<&str> = FailReason::ALL.iter().map(|r| r.as_str()).collect();
    let tasks = json["Tasks"]["CDNTask"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!tasks.is_empty());
    assert!(
        tasks
            .iter()
            .all(|t| reasons.contains(&t["Description"].as_str().unwrap_or("")))
    );
}

/// The oracle's log holds every kind of rule record, and rows rules decided.
#[test]
fn the_fixture_holds_rule_records_and_decided_rows() {
    use cdnsim::event::RuleUse;
    let f = fixture();
    let count = |pick: &dyn Fn(&Event) -> bool| f.events.iter().filter(|(_, e)| pick(e)).count();
    assert_eq!(count(&|e| matches!(e, Event::RuleAdded { .. })), 4);
    assert_eq!(count(&|e| matches!(e, Event::RuleDeleted { .. })), 1);
    let rows = count(&|e| {
        matches!(
            e,
            Event::RuleUsed {
                by: RuleUse::Row(_),
                ..
            }
        )
    });
    let calls = count(&|e| {
        matches!(
            e,
            Event::RuleUsed {
                by: RuleUse::Call(_),
                ..
            }
        )
    });
    let passed = count(&|e| {
        matches!(
            e,
            Event::RuleUsed {
                by: RuleUse::Passed(_),
                ..
            }
        )
    });
    assert!(
        rows > 30 && calls > 5 && passed > 5,
        "{rows} {calls} {passed}"
    );
}

/// The naive stats: for each bucket end, fold the whole log to it and count; failures inside
/// each bucket from the events themselves.
fn naive_stats(
    events: &[(TimeMs, Event)],
    q: &cdnsim::projection::StatsQuery,
    ends: &[TimeMs],
) -> Vec<([u64; 4], [u64; 3])> {
    use cdnsim::projection::Status;
    let mut facts: std::collections::BTreeMap<u64, (String, ObjectType)> = Default::default();
    for (_, e) in events {
        if let Event::Created {
            row,
            domain,
            object_type,
            ..
        } = e
        {
            facts.insert(*row, (domain.clone(), *object_type));
        }
    }
    let keep = |domain: &str, t: ObjectType| {
        q.domain.as_ref().is_none_or(|d| d == domain) && q.object_type.is_none_or(|x| x == t)
    };
    let mut out = Vec::new();
    for (i, &end) in ends.iter().enumerate() {
        let mut by_status = [0u64; 4];
        for (_, _, domain, view) in common::oracle::fold(events, end) {
            if keep(&domain, view.object_type) {
                let s = match view.status {
                    Status::Pending => 0,
                    Status::Refreshing => 1,
                    Status::Complete => 2,
                    Status::Failed => 3,
                };
                by_status[s] += 1;
            }
        }
        let start = if i == 0 { q.from_ms - 1 } else { ends[i - 1] };
        let mut failed = [0u64; 3];
        for (at, e) in events {
            if let Event::Failed { row, reason } = e
                && *at > start
                && *at <= end
            {
                let (domain, t) = &facts[row];
                if keep(domain, *t) {
                    failed[*reason as usize] += 1;
                }
            }
        }
        out.push((by_status, failed));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stats_count_like_the_naive_fold(
        from_off in -3_600_000i64..3 * 86_400_000,
        len in 0i64..3 * 86_400_000,
        buckets in 1u32..40,
        domain in prop_oneof![Just(None), Just(Some("a.example.com")), Just(Some("b.example.com")), Just(Some("c.example.com"))],
        object_type in prop_oneof![3 => Just(None), 2 => proptest::sample::select(ObjectType::ALL.to_vec()).prop_map(Some)],
    ) {
        let f = fixture();
        let q = cdnsim::projection::StatsQuery {
            from_ms: f.start + from_off,
            to_ms: f.start + from_off + len,
            buckets,
            domain: domain.map(str::to_owned),
            object_type,
        };
        let stats = f.model.projection().stats(&q);
        prop_assert_eq!(stats.buckets.len(), buckets as usize);
        let ends: Vec<TimeMs> = stats.buckets.iter().map(|b| b.end_ms).collect();
        prop_assert_eq!(*ends.last().expect("buckets"), q.to_ms);
        for (i, end) in ends.iter().enumerate() {
            let want = (q.from_ms + (i as i64 + 1) * stats.bucket_ms).min(q.to_ms);
            prop_assert_eq!(*end, if i + 1 == ends.len() { q.to_ms } else { want });
        }
        prop_assert!(stats.bucket_ms * i64::from(buckets) >= len);
        let naive = naive_stats(&f.events, &q, &ends);
        for (b, (by_status, failed)) in stats.buckets.iter().zip(naive) {
            prop_assert_eq!(b.by_status, by_status, "bucket ending {} of {:?}", b.end_ms, q);
            prop_assert_eq!(b.failed_in_bucket, failed, "bucket ending {} of {:?}", b.end_ms, q);
        }
    }

    /// Bucket ends that fall exactly on event times: an event at a bucket's end belongs to it.
    #[test]
    fn stats_put_an_event_at_a_bucket_end_in_that_bucket(
        pick in any::<prop::sample::Index>(),
        width in 1i64..7_200_000,
        buckets in 2u32..30,
        m in 1u32..30,
    ) {
        let f = fixture();
        let t = f.events[pick.index(f.events.len())].0;
        let m = i64::from(m.min(buckets - 1));
        let q = cdnsim::projection::StatsQuery {
            from_ms: t - m * width,
            to_ms: t - m * width + width * i64::from(buckets),
            buckets,
            domain: None,
            object_type: None,
        };
        let stats = f.model.projection().stats(&q);
        prop_assert_eq!(stats.bucket_ms, width);
        prop_assert_eq!(stats.buckets[(m - 1) as usize].end_ms, t);
        let ends: Vec<TimeMs> = stats.buckets.iter().map(|b| b.end_ms).collect();
        let naive = naive_stats(&f.events, &q, &ends);
        for (b, (by_status, failed)) in stats.buckets.iter().zip(naive) {
            prop_assert_eq!(b.by_status, by_status, "bucket ending {}", b.end_ms);
            prop_assert_eq!(b.failed_in_bucket, failed, "bucket ending {}", b.end_ms);
        }
    }

    #[test]
    fn history_matches_the_log(pick in any::<prop::sample::Index>(), back in 0i64..86_400_000) {
        let f = fixture();
        let created: Vec<(u64, TaskId, TimeMs)> = f.events.iter().filter_map(|(at, e)| match e {
            Event::Created { row, task_id, .. } => Some((*row, *task_id, *at)), _ => None }).collect();
        let (row, task_id, at) = created[pick.index(created.len())];
        let at_ms = at + back;
        let rows = f.model.projection().history(task_id, None, at_ms);
        prop_assert!(rows.iter().any(|r| r.row == row));
        for r in &rows {
            // The row's own events up to at_ms, in log order: Created, then each change.
            let mine: Vec<&(TimeMs, Event)> = f.events.iter()
                .filter(|(t, e)| *t <= at_ms && e.is_task_event() && e.row() == Some(r.row)).collect();
            prop_assert_eq!(r.steps.len(), mine.len());
            if let Some((_, Event::Created { source, task_id: id, .. })) = mine.first() {
                prop_assert_eq!(r.source, *source);
                prop_assert_eq!(r.task_id, *id);
            }
            for (step, (t, e)) in r.steps.iter().zip(mine) {
                prop_assert_eq!(step.at_ms, *t);
                let status = match e {
                    Event::Created { .. } => "Pending",
                    Event::Progressed { .. } => "Refreshing",
                    Event::Completed { .. } => "Complete",
                    Event::Failed { .. } => "Failed",
                    _ => unreachable!(),
                };
                prop_assert_eq!(step.status.as_str(), status);
                if let Event::Failed { reason, .. } = e {
                    prop_assert_eq!(step.reason, Some(*reason));
                }
                if let Event::Progressed { process, .. } = e {
                    prop_assert_eq!(step.process, *process);
                }
            }
        }
    }
}
