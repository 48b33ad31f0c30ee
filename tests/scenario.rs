//! Scenario files: every bundled scenario checks, and every kind of bad input is reported with
//! file, line, column, key and a message.

use std::path::Path;

use cdnsim::event::{FailReason, ObjectType};
use cdnsim::scenario::{Dist, Forced, Scenario, ScenarioError};

const BASE: &str = r#"seed = 1
start = "2026-11-01T00:00:00Z"
duration = "1d"

[[domain]]
name = "a.example.com"
"#;

/// Parses `BASE + extra` and expects an error message containing `want` (which starts with
/// "bad.toml:LINE:COLUMN: KEY: ").
#[track_caller]
fn bad(extra: &str, want: &str) {
    let text = format!("{BASE}{extra}");
    match Scenario::parse(Path::new("bad.toml"), &text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            assert!(matches!(e, ScenarioError::Invalid { .. }), "{e}");
            let message = e.to_string();
            assert!(
                message.starts_with(want),
                "expected\n  {want}\ngot\n  {message}"
            );
        }
    }
}

#[test]
fn wrong_types() {
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = \"fast\"\n",
        "bad.toml:9:17: workload[0].rate_per_hour: invalid type: string \"fast\", expected f64",
    );
    bad(
        "[[domain]]\nname = 5\n",
        "bad.toml:8:8: domain[1].name: invalid type: integer `5`, expected a string",
    );
    bad(
        "[lifecycle]\nprogress_steps = \"many\"\n",
        "bad.toml:8:18: lifecycle.progress_steps: invalid type: string",
    );
}

#[test]
fn out_of_range_values() {
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = -3\n",
        "bad.toml:9:17: workload[0].rate_per_hour: must be a number >= 0, got -3",
    );
    bad(
        "[failures]\norigin_timeout = 1.5\n",
        "bad.toml:8:18: failures.origin_timeout: a probability must be between 0 and 1, got 1.5",
    );
    bad(
        "[failures]\norigin_timeout = 0.6\ninternal_error = 0.5\n",
        "bad.toml:7:1: failures: the probabilities add up to 1.1, more than 1",
    );
    bad(
        "[[incident]]\ndomain = \"a.example.com\"\nstart = \"2026-11-01T01:00:00Z\"\nend = \"2026-11-01T02:00:00Z\"\nfailure_rate = -0.1\n",
        "bad.toml:11:16: incident[0].failure_rate: a probability must be between 0 and 1, got -0.1",
    );
    bad(
        "[lifecycle]\nprogress_steps = 0\n",
        "bad.toml:8:18: lifecycle.progress_steps: must be between 1 and 100",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\nurls_per_submission = { min = 5, max = 2 }\n",
        "bad.toml:10:23: workload[0].urls_per_submission: min (5) is above max (2)",
    );
    bad(
        "[lifecycle.processing]\nfile = { min = \"6m\", max = \"5m\" }\n",
        "bad.toml:8:8: lifecycle.processing.file: min (6m) is above max (5m)",
    );
    bad(
        "[limits]\npage_size_max = 0\n",
        "bad.toml:8:17: limits.page_size_max: must be at least 1",
    );
}

#[test]
fn bounds_that_keep_a_run_finite() {
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1e12\n",
        "bad.toml:8:8: workload[0].rate_per_hour: at most 1000000 submissions per hour",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\nurls_per_submission = 3000000000\n",
        "bad.toml:10:23: workload[0].urls_per_submission: at most 100000",
    );
    bad(
        "[lifecycle]\nqueue_delay = \"200 years\"\n",
        "bad.toml:8:15: lifecycle.queue_delay: duration \"200 years\" is over 100 years",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\nstart = \"2026-11-05T00:00:00Z\"\n",
        "bad.toml:10:9: workload[0].start: must be inside the scenario",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\nend = \"2026-11-09T00:00:00Z\"\n",
        "bad.toml:10:7: workload[0].end: must be inside the scenario",
    );
    bad(
        "[[script]]\nat = \"2026-11-01T10:00:00Z\"\ndomain = \"a.example.com\"\ntype = \"directory\"\npaths = [\"/img\"]\n",
        "bad.toml:11:10: script[0].paths[0]: a directory path must end with '/'",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\npaths = { prefix = \"/a?b\" }\n",
        "bad.toml:10:20: workload[0].paths.prefix: must be empty or start with '/'",
    );
}

#[test]
fn times_and_durations() {
    let text = "seed = 1\nstart = \"yesterday\"\nduration = \"1d\"\n";
    let e = Scenario::parse(Path::new("t.toml"), text).expect_err("bad time");
    assert!(
        e.to_string()
            .starts_with("t.toml:2:9: start: invalid time \"yesterday\""),
        "{e}"
    );
    let text = "seed = 1\nstart = \"2026-11-01T00:00:00Z\"\nduration = \"5 parsecs\"\n";
    let e = Scenario::parse(Path::new("t.toml"), text).expect_err("bad duration");
    assert!(
        e.to_string()
            .starts_with("t.toml:3:12: duration: invalid duration \"5 parsecs\""),
        "{e}"
    );
    let text = "seed = 1\nstart = \"2026-11-01T00:00:00Z\"\nduration = \"0s\"\n[[domain]]\nname = \"a.b.com\"\n";
    let e = Scenario::parse(Path::new("t.toml"), text).expect_err("zero duration");
    assert!(
        e.to_string()
            .starts_with("t.toml:3:12: duration: must be longer than 0"),
        "{e}"
    );
    bad(
        "[[incident]]\ndomain = \"a.example.com\"\nstart = \"2026-11-01T10:00:00Z\"\nend = \"2026-11-01T09:00:00Z\"\nfailure_rate = 0.5\n",
        "bad.toml:10:7: incident[0].end: must be later than start",
    );
    bad(
        "[[script]]\nat = \"2026-11-03T00:00:00Z\"\ndomain = \"a.example.com\"\npaths = [\"/x\"]\n",
        "bad.toml:8:6: script[0].at: must be inside the scenario",
    );
}

#[test]
fn names_and_references() {
    bad(
        "[[script]]\nat = \"2026-11-01T10:00:00Z\"\ndomain = \"b.example.com\"\npaths = [\"/x\"]\n",
        "bad.toml:9:10: script[0].domain: unknown domain \"b.example.com\"; the scenario's domains are [\"a.example.com\"]",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\ndomains = [\"a.example.com\", \"c.example.com\"]\n",
        "bad.toml:10:29: workload[0].domains[1]: unknown domain \"c.example.com\"",
    );
    bad(
        "[[incident]]\ndomain = \"x.example.com\"\nstart = \"2026-11-01T10:00:00Z\"\nend = \"2026-11-01T11:00:00Z\"\nfailure_rate = 0.5\n",
        "bad.toml:8:10: incident[0].domain: unknown domain \"x.example.com\"",
    );
    bad(
        "[[domain]]\nname = \"A.example.com\"\n",
        "bad.toml:8:8: domain[1].name: duplicate domain name",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 1\n[[workload]]\nname = \"w\"\nrate_per_hour = 2\n",
        "bad.toml:11:8: workload[1].name: duplicate workload name",
    );
    bad(
        "[[domain]]\nname = \"not a host\"\n",
        "bad.toml:8:8: domain[1].name: \"not a host\" is not a host name",
    );
    bad(
        "[[script]]\nat = \"2026-11-01T10:00:00Z\"\ndomain = \"a.example.com\"\npaths = [\"http://b.example.com/x\"]\n",
        "bad.toml:10:10: script[0].paths[0]: the host \"b.example.com\" is not the script's domain",
    );
}

#[test]
fn unknown_keys_and_values() {
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 3\nratee = 4\n",
        "bad.toml:10:1: workload[0].ratee: unknown field `ratee`, expected one of",
    );
    // After [[domain]], a key belongs to that domain.
    bad(
        "colour = \"blue\"\n",
        "bad.toml:7:1: domain[0].colour: unknown field `colour`",
    );
    let e = Scenario::parse(Path::new("top.toml"), &format!("colour = \"blue\"\n{BASE}"))
        .expect_err("unknown top-level key");
    assert!(
        e.to_string()
            .starts_with("top.toml:1:1: colour: unknown field `colour`"),
        "{e}"
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 3\nmix = { file = 1, folder = 2 }\n",
        "bad.toml:10:7: workload[0].mix.folder: unknown object type \"folder\"",
    );
    bad(
        "[[workload]]\nname = \"w\"\nrate_per_hour = 3\narrival = \"bursty\"\n",
        "bad.toml:10:11: workload[0].arrival: unknown arrival \"bursty\"; expected poisson or uniform",
    );
    bad(
        "[[script]]\nat = \"2026-11-01T10:00:00Z\"\ndomain = \"a.example.com\"\ntype = \"File\"\npaths = [\"/x\"]\n",
        "bad.toml:10:8: script[0].type: unknown object type \"File\"",
    );
    bad(
        "[[incident]]\ndomain = \"a.example.com\"\nstart = \"2026-11-01T10:00:00Z\"\nend = \"2026-11-01T11:00:00Z\"\nfailure_rate = 0.5\nreason = \"gremlins\"\n",
        "bad.toml:12:10: incident[0].reason: unknown failure reason \"gremlins\"",
    );
}

#[test]
fn script_outcomes_and_limits() {
    let script = "[[script]]\nat = \"2026-11-01T10:00:00Z\"\ndomain = \"a.example.com\"\n";
    bad(
        &format!("{script}paths = [\"/x\"]\noutcome = \"failed\"\n"),
        "bad.toml:11:11: script[0].reason: required when outcome = \"failed\"",
    );
    bad(
        &format!("{script}paths = [\"/x\"]\nreason = \"origin_5xx\"\n"),
        "bad.toml:11:10: script[0].reason: only allowed with outcome = \"failed\"",
    );
    bad(
        &format!("{script}type = \"regex\"\npaths = [\"/a.*\", \"/b.*\"]\n"),
        "bad.toml:11:9: script[0].paths: 2 paths, more than the 1 a regex request allows",
    );
    bad(
        &format!("{script}paths = []\n"),
        "bad.toml:10:9: script[0].paths: needs at least one path",
    );
    bad(
        &format!("{script}paths = [\"ftp://a.example.com/x\"]\n"),
        "bad.toml:10:10: script[0].paths[0]: unsupported scheme",
    );
}

#[test]
fn syntax_errors_and_missing_keys() {
    let e = Scenario::parse(Path::new("s.toml"), "seed = = 1\n").expect_err("syntax");
    assert!(
        e.to_string().starts_with("s.toml:1:8: (file): extra `=`"),
        "{e}"
    );
    let e = Scenario::parse(
        Path::new("s.toml"),
        "seed = 1\nstart = \"2026-11-01T00:00:00Z\"\n",
    )
    .expect_err("missing");
    assert!(e.to_string().contains("missing field `duration`"), "{e}");
    let e = Scenario::parse(
        Path::new("s.toml"),
        "seed = 1\nstart = \"2026-11-01T00:00:00Z\"\nduration = \"1h\"\n",
    )
    .expect_err("no domain");
    assert!(
        e.to_string()
            .contains("domain: a scenario needs at least one [[domain]]"),
        "{e}"
    );
    let e = Scenario::load(Path::new("no/such/file.toml")).expect_err("missing file");
    assert!(
        e.to_string().starts_with("no/such/file.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn errors_show_the_offending_line() {
    let e = Scenario::parse(
        Path::new("bad.toml"),
        &format!("{BASE}[failures]\norigin_5xx = 2\n"),
    )
    .expect_err("bad");
    let message = e.to_string();
    assert!(
        message.ends_with("\n  |\n8 | origin_5xx = 2\n  |              ^"),
        "{message}"
    );
}

#[test]
fn defaults_are_todays_real_values() {
    let s = Scenario::parse(Path::new("ok.toml"), BASE).expect("valid");
    assert_eq!(s.limits.page_size_max, 100);
    assert_eq!(s.limits.history_ms, 3 * 86_400_000);
    assert_eq!(
        (
            s.limits.rows_per_refresh_task,
            s.limits.rows_per_preload_task
        ),
        (2_000, 500)
    );
    assert_eq!(
        (s.quotas.url, s.quotas.dir, s.quotas.regex, s.quotas.preload),
        (10_000, 100, 20, 1_000)
    );
    assert_eq!(s.quotas.reset_utc_offset_s, 8 * 3600);
    let refresh = Dist::Uniform {
        min_ms: 300_000,
        max_ms: 360_000,
    };
    assert_eq!(s.lifecycle.processing[ObjectType::File], refresh);
    assert_eq!(
        s.lifecycle.processing[ObjectType::Preload],
        Dist::Uniform {
            min_ms: 300_000,
            max_ms: 1_800_000
        }
    );
}

#[test]
fn every_bundled_scenario_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            names.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    names.sort();
    for want in [
        "ci-replay.toml",
        "load-1m.toml",
        "outage.toml",
        "quickstart.toml",
    ] {
        assert!(names.iter().flatten().any(|n| n == want), "missing {want}");
    }
}

#[test]
fn scripts_keep_paths_and_outcomes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ci-replay.toml");
    let s = Scenario::load(&path).expect("valid");
    assert_eq!(s.scripts.len(), 6);
    assert_eq!(s.scripts[1].paths, ["http://api.example.com/v1/"]);
    assert_eq!(
        s.scripts[2].outcome,
        Forced::Failed(FailReason::OriginTimeout)
    );
    assert_eq!(s.scripts[3].object_type, ObjectType::Regex);
    // The fingerprint ignores the seed and nothing else.
    let mut reseeded = s.clone();
    reseeded.seed = 99;
    assert_eq!(reseeded.fingerprint(), s.fingerprint());
    reseeded.failures[0] = 0.5;
    assert_ne!(reseeded.fingerprint(), s.fingerprint());
}

#[test]
fn rule_tables() {
    let rule = "[[rule]]\nname = \"r\"\n";
    bad(
        &format!("{rule}outcome = \"failed\"\n"),
        "bad.toml:9:1: rule[0].reason: required when outcome is \"failed\"",
    );
    bad(
        &format!("{rule}outcome = \"complete\"\nreason = \"origin_5xx\"\n"),
        "bad.toml:10:1: rule[0].reason: only allowed when outcome is \"failed\"",
    );
    bad(
        &format!("{rule}outcome = \"complete\"\nprobability = 1.5\n"),
        "bad.toml:10:15: rule[0].probability: a probability must be between 0 and 1",
    );
    bad(
        &format!("{rule}outcome = \"complete\"\ncolour = \"red\"\n"),
        "bad.toml:10:1: rule[0].colour: unknown field `colour`",
    );
    bad(
        &format!("{rule}match = {{ type = \"File\" }}\noutcome = \"complete\"\n"),
        "bad.toml:9:18: rule[0].match.type: unknown object type \"File\"",
    );
    bad(
        &format!("{rule}action = \"Refresh\"\nerror = \"InternalError\"\n"),
        "bad.toml:9:1: rule[0].action: unknown action \"Refresh\"",
    );
    bad(
        &format!("{rule}processing = \"1h\"\n\n[[rule]]\nname = \"r\"\nprocessing = \"2h\"\n"),
        "bad.toml:12:1: rule[1].name: the name \"r\" is used by an earlier rule",
    );
    bad(
        &format!("{rule}match = {{ path = \"/x/*\" }}\noutcome = \"complete\"\n"),
        "bad.toml:9:1: rule[0].match.path: \"/x/*\" has no host",
    );
    bad(
        &format!("{rule}outcome = \"complete\"\ntimes = 0\n"),
        "bad.toml:10:1: rule[0].times: must be 1 or more",
    );
}

#[test]
fn rules_keep_their_keys() {
    let text = format!(
        "{BASE}\n[[rule]]\nname = \"down\"\nmatch = {{ domain = \"A.example.com\", path = \"a.example.com/app/*\" }}\n\
         outcome = \"failed\"\nreason = \"origin_timeout\"\nprocessing = \"2m\"\ntimes = 3\n\n\
         [[rule]]\nname = \"busy\"\naction = \"RefreshObjectCaches\"\nerror = \"Throttling.User\"\n\
         probability = 0.25\n"
    );
    let scenario = Scenario::parse(Path::new("rules.toml"), &text).expect("valid");
    let json: Vec<String> = scenario.rules.iter().map(|r| r.to_json_string()).collect();
    assert_eq!(
        json,
        [
            r#"{"name":"down","match":{"domain":"a.example.com","path":"http://a.example.com/app/*"},"outcome":"failed","reason":"origin_timeout","processing":"2m","probability":1.0,"times":3}"#,
            r#"{"name":"busy","action":"RefreshObjectCaches","error":"Throttling.User","retry_after":"1s","probability":0.25,"times":null}"#,
        ]
    );
    let plain = Scenario::parse(Path::new("plain.toml"), BASE).expect("valid");
    let with_rules = Scenario::parse(Path::new("rules.toml"), &text).expect("valid");
    assert_ne!(plain.fingerprint(), with_rules.fingerprint());
}

#[test]
fn an_unquoted_time_says_to_quote_it() {
    let text = "seed = 1\nstart = 2026-11-01T00:00:00Z\nduration = \"1d\"\n[[domain]]\nname = \"a.example.com\"\n";
    let e = Scenario::parse(Path::new("bad.toml"), text).expect_err("unquoted");
    let message = e.to_string();
    assert!(
        message.starts_with(
            "bad.toml:2:9: start: write times as quoted strings: \"2026-11-01T00:00:00Z\""
        ),
        "{message}"
    );
}
