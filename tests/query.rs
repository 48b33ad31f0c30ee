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
