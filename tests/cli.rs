//! The `cdnsim` binary: verify, dump and diff, their output and exit codes.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use cdnsim::event::Event;
use common::{frame_offsets, path_in, small_history, write_log};

fn cdnsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .args(args)
        .output()
        .expect("runs cdnsim")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn expect_exit(output: &Output, code: i32, stderr_has: &str) {
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        err.contains(stderr_has),
        "expected {stderr_has:?} in stderr:\n{err}"
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
#[track_caller]
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected =
        fs::read_to_string(&path).expect("golden file exists (UPDATE_GOLDEN=1 makes it)");
    if expected != actual {
        panic!(
            "{name} differs from the golden file\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }
}

#[test]
fn dump_prints_the_spec_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "small.cdnlog");
    write_log(&log, 1, &small_history());
    let output = cdnsim(&["dump", p(&log)]);
    expect_exit(&output, 0, "");
    golden("small.dump.jsonl", &text(&output.stdout));
}

#[test]
fn dump_after_and_limit_select_by_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "small.cdnlog");
    write_log(&log, 1, &small_history());
    let all = text(&cdnsim(&["dump", p(&log)]).stdout);
    let lines: Vec<&str> = all.lines().collect();
    let check = |args: &[&str], want: &[&str]| {
        let output = cdnsim(args);
        expect_exit(&output, 0, "");
        let got = text(&output.stdout);
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{args:?}");
    };
    check(&["dump", p(&log), "--after", "3"], &lines[4..]);
    check(
        &["dump", p(&log), "--after", "3", "--limit", "2"],
        &lines[4..6],
    );
    check(&["dump", p(&log), "--limit", "1"], &lines[..1]);
    check(&["dump", p(&log), "--after", "8"], &[]);
    check(&["dump", p(&log), "--limit", "0"], &[]);
}

#[test]
fn verify_summarises_a_whole_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "small.cdnlog");
    write_log(&log, 42, &small_history());
    let output = cdnsim(&["verify", p(&log)]);
    expect_exit(&output, 0, "");
    let out = text(&output.stdout);
    assert!(out.starts_with("ok: "), "{out}");
    assert!(
        out.contains("9 records, 2018-01-10T09:48:29.123Z .. 2018-01-10T09:53:59.123Z"),
        "{out}"
    );
    assert!(out.contains("seed 42"), "{out}");
}

#[test]
fn verify_names_offset_and_seq_of_damage_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "small.cdnlog");
    write_log(&log, 1, &small_history());
    let good = fs::read(&log).expect("read");
    let offsets = frame_offsets(&good);

    let mut middle = good.clone();
    middle[offsets[4] + 9] ^= 1;
    fs::write(&log, &middle).expect("write");
    let output = cdnsim(&["verify", p(&log)]);
    expect_exit(
        &output,
        1,
        &format!("corrupt record at byte offset {} (seq 4)", offsets[4]),
    );

    fs::write(&log, &good[..good.len() - 3]).expect("write");
    let output = cdnsim(&["verify", p(&log)]);
    let last = offsets[offsets.len() - 1];
    expect_exit(
        &output,
        1,
        &format!("torn tail at byte offset {last} (seq 8)"),
    );
    // verify reads only: the torn bytes are still there.
    assert_eq!(fs::read(&log).expect("read").len(), good.len() - 3);
}

#[test]
fn unusable_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = path_in(&dir, "empty.cdnlog");
    fs::write(&empty, b"").expect("write");
    expect_exit(
        &cdnsim(&["verify", p(&empty)]),
        2,
        "not a cdnsim log: the file is empty",
    );
    let text_file = path_in(&dir, "notes.txt");
    fs::write(&text_file, b"hello world, this is not a log at all").expect("write");
    expect_exit(
        &cdnsim(&["dump", p(&text_file)]),
        2,
        "does not start with the magic bytes",
    );
    let missing = path_in(&dir, "missing.cdnlog");
    expect_exit(
        &cdnsim(&["verify", p(&missing)]),
        2,
        "missing.cdnlog: open: No such file",
    );
    expect_exit(&cdnsim(&["dump"]), 2, "Usage");
    expect_exit(
        &cdnsim(&["dump", p(&empty), "--limit", "ten"]),
        2,
        "invalid value 'ten' for '--limit <N>'",
    );
}

#[test]
fn diff_reports_the_first_differing_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (path_in(&dir, "a.cdnlog"), path_in(&dir, "b.cdnlog"));
    let history = small_history();
    write_log(&a, 1, &history);
    write_log(&b, 1, &history);
    let output = cdnsim(&["diff", p(&a), p(&b)]);
    expect_exit(&output, 0, "");
    assert_eq!(text(&output.stdout), "identical: 9 events\n");

    let mut changed = history.clone();
    changed[5].1 = Event::Completed { row: 2 };
    fs::remove_file(&b).expect("rm");
    write_log(&b, 1, &changed);
    let output = cdnsim(&["diff", p(&a), p(&b)]);
    expect_exit(&output, 1, "");
    let out = text(&output.stdout);
    assert!(out.starts_with("first difference at seq 5:\n"), "{out}");
    assert!(
        out.contains(r#""type":"Progressed","row":2,"process":"99.37%""#),
        "{out}"
    );
    assert!(out.contains(r#""type":"Completed","row":2}"#), "{out}");

    fs::remove_file(&b).expect("rm");
    write_log(&b, 2, &history[..7]);
    let output = cdnsim(&["diff", p(&a), p(&b)]);
    expect_exit(&output, 1, "");
    let out = text(&output.stdout);
    assert!(
        out.starts_with("headers differ: seed 1 vs 2\nfirst difference at seq 7:"),
        "{out}"
    );
    assert!(out.contains("(log ends after 7 events)"), "{out}");

    fs::remove_file(&b).expect("rm");
    write_log(&b, 2, &history);
    let output = cdnsim(&["diff", p(&a), p(&b)]);
    expect_exit(&output, 1, "");
    assert_eq!(
        text(&output.stdout),
        "headers differ: seed 1 vs 2\nevents: identical (9 events)\n"
    );
}

#[test]
fn every_command_has_help() {
    for command in [
        &["--help"][..],
        &["verify", "--help"],
        &["dump", "--help"],
        &["diff", "--help"],
        &["simulate", "--help"],
        &["check", "--help"],
        &["query", "--help"],
        &["serve", "--help"],
        &["repair", "--help"],
    ] {
        let output = cdnsim(command);
        expect_exit(&output, 0, "");
        assert!(
            text(&output.stdout).contains("Usage: cdnsim"),
            "{command:?}"
        );
    }
    // The hardening options say what they do.
    let serve = text(&cdnsim(&["serve", "--help"]).stdout);
    for option in [
        "--admin-token",
        "--body-budget",
        "--header-timeout",
        "--idle-timeout",
        "9999-12-31T23:59:59.999Z",
    ] {
        assert!(serve.contains(option), "serve --help names {option}");
    }
    let repair = text(&cdnsim(&["repair", "--help"]).stdout);
    assert!(
        repair.contains("--truncate-at") && repair.contains("LOG.bak.N"),
        "{repair}"
    );
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn simulate_is_deterministic_and_summarises() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        path_in(&dir, "a.cdnlog"),
        path_in(&dir, "b.cdnlog"),
        path_in(&dir, "c.cdnlog"),
    );
    let quickstart = scenario("quickstart.toml");
    let output = cdnsim(&["simulate", &quickstart, "-o", p(&a), "--quiet"]);
    expect_exit(&output, 0, "");
    let summary = text(&output.stdout);
    for want in [
        "simulated ",
        "rows ",
        "events ",
        "virtual ",
        "wall ",
        "events/s",
        "completed ",
    ] {
        assert!(summary.contains(want), "{want:?} missing from\n{summary}");
    }
    expect_exit(
        &cdnsim(&["simulate", &quickstart, "-o", p(&b), "--quiet"]),
        0,
        "",
    );
    expect_exit(&cdnsim(&["diff", p(&a), p(&b)]), 0, "");
    expect_exit(&cdnsim(&["verify", p(&a)]), 0, "");
    expect_exit(
        &cdnsim(&[
            "simulate",
            &quickstart,
            "-o",
            p(&c),
            "--seed",
            "7",
            "--quiet",
        ]),
        0,
        "",
    );
    let output = cdnsim(&["diff", p(&a), p(&c)]);
    expect_exit(&output, 1, "");
    assert!(text(&output.stdout).starts_with("headers differ: seed 42 vs 7"));
    // Simulating over an existing log replaces it whole.
    expect_exit(
        &cdnsim(&["simulate", &quickstart, "-o", p(&c), "--quiet"]),
        0,
        "",
    );
    expect_exit(&cdnsim(&["diff", p(&a), p(&c)]), 0, "");
}

#[test]
fn a_bad_scenario_leaves_an_existing_log_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "keep.cdnlog");
    write_log(&log, 1, &small_history());
    let before = fs::read(&log).expect("read");
    let bad = path_in(&dir, "bad.toml");
    fs::write(&bad, "seed = 1\nstart = \"2026-11-01T00:00:00Z\"\nduration = \"1d\"\n[[domain]]\nname = \"a.example.com\"\nweight = -1\n")
        .expect("write");
    let output = cdnsim(&["simulate", p(&bad), "-o", p(&log)]);
    expect_exit(
        &output,
        2,
        "bad.toml:6:10: domain[0].weight: must be a number >= 0, got -1",
    );
    assert_eq!(fs::read(&log).expect("read"), before);
    expect_exit(&cdnsim(&["check", p(&bad)]), 2, "domain[0].weight");
    let output = cdnsim(&["check", &scenario("ci-replay.toml")]);
    expect_exit(&output, 0, "");
    assert!(
        text(&output.stdout).starts_with("ok: "),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn query_prints_golden_json_and_xml_for_ci_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = path_in(&dir, "ci.cdnlog");
    expect_exit(
        &cdnsim(&["simulate", &scenario("ci-replay.toml"), "-o", p(&log), "-q"]),
        0,
        "",
    );
    let at = "2026-11-20T10:03:00Z";
    let run = |args: &[&str]| {
        let mut all = vec!["query", p(&log), "--at", at];
        all.extend_from_slice(args);
        let output = cdnsim(&all);
        expect_exit(&output, 0, "");
        let again = cdnsim(&all);
        assert_eq!(
            output.stdout, again.stdout,
            "query is not byte-identical across runs"
        );
        text(&output.stdout)
    };
    golden(
        "ci-replay.describe.json",
        &run(&["Format=JSON", "PageSize=4"]),
    );
    golden(
        "ci-replay.describe.xml",
        &run(&["PageSize=4", "PageNumber=2"]),
    );
    golden(
        "ci-replay.by-id.xml",
        &run(&[
            "Action=DescribeRefreshTaskById",
            "TaskId=9000000002,9000000003",
        ]),
    );
    let output = cdnsim(&["query", p(&log), "Format=JSON", "ObjectType=folder"]);
    expect_exit(&output, 2, "");
    assert!(text(&output.stdout).contains(r#""Code":"InvalidObjectType.ValueNotSupported""#));
    expect_exit(
        &cdnsim(&["query", p(&log), "PageSize"]),
        2,
        "parameter \"PageSize\" is not KEY=VALUE",
    );
}

/// `serve` logs one plain line per request on stderr by default: method, action (an unknown
/// one by its name, escaped and cut short), status, microseconds; no colour codes off a terminal.
#[test]
fn serve_logs_one_plain_line_per_request() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .args([
            "serve",
            "--scenario",
            &scenario("quickstart.toml"),
            "--ephemeral",
        ])
        .args(["--addr", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let addr = common::http::listening_addr(&mut child);
    let long = "X".repeat(100);
    for query in [
        "Action=DescribeRefreshQuota&Format=JSON".to_owned(),
        format!("Action=Nope%1B%5B31m{long}"),
    ] {
        let mut stream = std::net::TcpStream::connect(addr).expect("connects");
        write!(
            stream,
            "GET /?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("sends");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("reads");
    }
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut requests = Vec::new();
    while requests.len() < 2 {
        let line = lines.next().expect("a line").expect("UTF-8");
        if line.contains(" INFO ") {
            requests.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        requests.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes in {requests:?}"
    );
    assert!(
        requests[0].ends_with("us") && requests[0].contains(" INFO GET DescribeRefreshQuota 200 "),
        "{}",
        requests[0]
    );
    let unknown = &requests[1];
    assert!(
        unknown.contains("GET unknown action Nope\\u{1b}[31mXXX"),
        "{unknown}"
    );
    assert!(unknown.contains("... 404 "), "cut short: {unknown}");
}
