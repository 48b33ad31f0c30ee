//! The READMEs' shell examples run as written and show data.
//!
//! Every fenced `sh` block of `README.md` and `scenarios/README.md` runs, in order, in one
//! temporary directory holding `scenarios/` (and `cdnsim` on `PATH`), command by command: a
//! command fails the test when it exits non-zero, and when the README shows its output (the
//! comment lines `# {...}` right after it) the real output must not be empty, must carry every
//! JSON key the README shows, and must not count zero rows where the README counts some. A
//! block preceded by `<!-- readme-test: server -->` talks to the server the README starts
//! (`cdnsim serve --scenario scenarios/quickstart.toml`, on 127.0.0.1:18555), which the test
//! starts with `--ephemeral` on a free port the first time one needs it (so that a server of
//! your own on 18555 does not get in the way: the blocks' `127.0.0.1:18555` is replaced by its
//! address); `<!-- readme-test: skip REASON -->` skips a block that cannot run here (a server
//! in the foreground), saying why. Any other annotation, and any shell block fenced other than
//! `sh`, fails the test. An answer carrying an API or admin error fails its command unless
//! the README shows that error.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A command of a block and the output the README shows for it.
#[derive(Debug)]
struct Step {
    command: String,
    shown: Vec<String>,
}

#[derive(Debug)]
struct Block {
    file: &'static str,
    line: usize,
    needs_server: bool,
    steps: Vec<Step>,
}

/// The `sh` blocks of a markdown file, with the annotation before each.
fn blocks(file: &'static str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut annotation: Option<String> = None;
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(a) = line.trim().strip_prefix("<!-- readme-test:") {
            let a = a.trim_end_matches("-->").trim().to_owned();
            assert!(
                a == "server" || a.starts_with("skip "),
                "{file}:{}: unknown annotation {a:?} (server, or skip REASON)",
                n + 1
            );
            annotation = Some(a);
            continue;
        }
        if !line.starts_with("```") {
            if !line.trim().is_empty() {
                annotation = None; // an annotation applies to the block right after it
            }
            continue;
        }
        let lang = line.trim_start_matches('`').trim().to_owned();
        assert!(
            !["bash", "shell", "console", "shell-session", "zsh"].contains(&lang.as_str()),
            "{file}:{}: a shell block must be fenced ```sh to be run",
            n + 1
        );
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let note = annotation.take();
        if lang != "sh" {
            continue;
        }
        if let Some(reason) = note.as_deref().and_then(|a| a.strip_prefix("skip")) {
            assert!(
                !reason.trim().is_empty(),
                "{file}:{}: a skipped block must say why",
                n + 1
            );
            continue;
        }
        out.push(Block {
            file,
            line: n + 1,
            needs_server: note.as_deref() == Some("server"),
            steps: steps(&body),
        });
    }
    out
}

/// Commands (with their `\` continuations) and the `# {...}` output lines after each.
fn steps(body: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for line in body {
        let trimmed = line.trim();
        if continued {
            let step = steps.last_mut().expect("a command before its continuation");
            step.command.push('\n');
            step.command.push_str(line);
        } else if let Some(shown) = trimmed.strip_prefix("# ") {
            if let Some(step) = steps.last_mut()
                && (shown.starts_with('{') || shown.starts_with("ok:"))
            {
                step.shown.push(shown.to_owned());
            }
            continue;
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        } else {
            steps.push(Step {
                command: (*line).to_owned(),
                shown: Vec::new(),
            });
        }
        continued = trimmed.ends_with('\\');
    }
    steps
}

/// `"Key":` names in a line.
fn keys(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let (name, tail) = (&after[..end], &after[end + 1..]);
        if tail.starts_with(':') && !name.is_empty() {
            keys.push(name.to_owned());
        }
        rest = tail;
    }
    keys
}

/// The `TotalCount` a line shows, if any.
fn total_count(line: &str) -> Option<u64> {
    let at = line.find("\"TotalCount\":")? + "\"TotalCount\":".len();
    let digits: String = line[at..]
        .trim_start_matches('"')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Checks a command's real output against what the README shows.
fn check_output(where_: &str, step: &Step, output: &str) {
    for error in ["\"Code\":\"", "{\"error\":"] {
        assert!(
            !output.contains(error) || step.shown.iter().any(|s| s.contains(error)),
            "{where_}: `{}` answered an error\n{output}",
            step.command
        );
    }
    if step.shown.is_empty() {
        return;
    }
    assert!(
        !output.trim().is_empty(),
        "{where_}: `{}` printed nothing; the README shows {:?}",
        step.command,
        step.shown
    );
    for shown in &step.shown {
        for key in keys(shown) {
            assert!(
                output.contains(&format!("\"{key}\":")),
                "{where_}: `{}`: no \"{key}\" in its output, which the README shows\n{output}",
                step.command
            );
        }
        if total_count(shown).is_some_and(|n| n > 0) {
            let real = total_count(output);
            assert!(
                real.is_some_and(|n| n > 0),
                "{where_}: `{}` counts {real:?} rows; the README shows some\n{output}",
                step.command
            );
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server the `server` blocks talk to, on a free port; stopped (SIGTERM, so that its
/// temporary data goes too) on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(dir: &Path, path_var: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
            .args([
                "serve",
                "--scenario",
                "scenarios/quickstart.toml",
                "--ephemeral",
            ])
            .args(["--addr", "127.0.0.1:0"])
            .current_dir(dir)
            .env("PATH", path_var)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cdnsim serve starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the first line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("the README's server did not start: {line:?}"))
            .to_owned();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn every_shell_example_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let scenarios =
        std::fs::read_to_string(repo().join("scenarios/README.md")).expect("scenarios/README.md");
    let mut all = blocks("README.md", &readme);
    all.extend(blocks("scenarios/README.md", &scenarios));
    assert!(all.len() >= 5, "too few runnable blocks found: {all:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(repo().join("scenarios"), dir.path().join("scenarios"))
        .expect("links scenarios/");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cdnsim"))
        .parent()
        .expect("a directory");
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut server: Option<Server> = None;
    let mut ran = 0;
    for block in &all {
        if block.needs_server && server.is_none() {
            server = Some(Server::start(dir.path(), &path_var));
        }
        for step in &block.steps {
            let where_ = format!("{}:{}", block.file, block.line);
            let command = match &server {
                Some(s) => step.command.replace("127.0.0.1:18555", &s.addr),
                None => step.command.clone(),
            };
            let out = Command::new("timeout")
                .args(["120", "bash", "-o", "pipefail", "-c", &command])
                .current_dir(dir.path())
                .env("PATH", &path_var)
                .env("NO_COLOR", "1")
                .output()
                .expect("bash runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{where_}: `{}` failed ({})\nstdout: {stdout}\nstderr: {}",
                step.command,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            check_output(&where_, step, &stdout);
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} commands ran");
}

#[test]
fn the_checks_catch_an_empty_answer_and_a_missing_key() {
    let step = Step {
        command: "curl ...".into(),
        shown: vec![r#"{"TotalCount":12,"Tasks":{"CDNTask":[...]}}"#.into()],
    };
    check_output("x", &step, r#"{"TotalCount":3,"Tasks":{"CDNTask":[]}}"#);
    let empty = std::panic::catch_unwind(|| check_output("x", &step, ""));
    assert!(empty.is_err(), "an empty answer passed");
    let zero = std::panic::catch_unwind(|| {
        check_output("x", &step, r#"{"TotalCount":0,"Tasks":{"CDNTask":[]}}"#)
    });
    assert!(zero.is_err(), "zero rows passed");
    let missing = std::panic::catch_unwind(|| check_output("x", &step, r#"{"TotalCount":3}"#));
    assert!(missing.is_err(), "a missing key passed");
    let parsed = steps(&[
        "curl -s 'http://x' \\",
        "     --data-urlencode 'a=b'",
        "# {\"A\":1}",
        "# a comment",
        "cdnsim check f.toml",
    ]);
    assert_eq!(parsed.len(), 2);
    assert_eq!(
        parsed[0].command,
        "curl -s 'http://x' \\\n     --data-urlencode 'a=b'"
    );
    assert_eq!(parsed[0].shown, ["{\"A\":1}"]);
}

/// The fenced blocks of `lang` in a markdown text.
fn fenced(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == format!("```{lang}") => current = Some(String::new()),
            Some(_) if line.starts_with("```") => out.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn the_scenario_format_examples_make_one_valid_scenario() {
    let text =
        std::fs::read_to_string(repo().join("scenarios/README.md")).expect("scenarios/README.md");
    let joined: String = fenced(&text, "toml").concat();
    let scenario = cdnsim::scenario::Scenario::parse(Path::new("scenarios/README.md"), &joined)
        .unwrap_or_else(|e| panic!("the joined examples do not check: {e}"));
    assert!(!scenario.rules.is_empty() && !scenario.scripts.is_empty());
}

#[test]
fn the_readme_rule_examples_are_valid_rules() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let rules: Vec<String> = fenced(&text, "json")
        .into_iter()
        .filter(|b| b.trim_start().starts_with("{\"name\""))
        .collect();
    assert!(rules.len() >= 2, "{rules:?}");
    for rule in rules {
        cdnsim::scenario::rule::Rule::from_json(&rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    }
}
