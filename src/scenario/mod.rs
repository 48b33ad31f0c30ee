//! Scenario files (`scenarios/*.toml`, documented in `scenarios/README.md`): read, check, and turn into a [`Scenario`].
//!
//! Reading happens in two steps. TOML is deserialised into the raw types of [`raw`], whose
//! scalar values check themselves (a negative rate, a probability over 1, a malformed duration or
//! time, a wrong type or an unknown key fail right there, with the position the TOML reader
//! knows). Then [`Scenario::from_raw`] checks what involves several fields (end before start,
//! unknown or duplicate names, sums of probabilities) using the positions kept in `Spanned`
//! fields. Every error is a [`ScenarioError`] naming file, line, column and key.
//!
//! `scenarios/README.md` documents every key by example.

mod raw;
pub mod rule;
mod values;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::event::{FailReason, ObjectType, PerType, TimeMs};
use crate::objpath;
pub use values::reason_key;

use raw::{RawCount, RawDistOrFixed, RawScenario};

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{path}:{line}:{column}: {key}: {message}{snippet}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// Dotted path of the key, e.g. `workload[1].rate_per_hour`.
        key: String,
        /// What is wrong.
        message: String,
        /// The offending line with a caret under the position (starts with a newline).
        snippet: String,
    },
}

/// A probability distribution of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Dist {
    /// Always the same.
    Fixed(i64),
    /// Uniform between the bounds (inclusive).
    Uniform {
        /// Lower bound, ms.
        min_ms: i64,
        /// Upper bound, ms.
        max_ms: i64,
    },
    /// Log-normal with this median and 95th percentile (capped at 4 × p95).
    LogNormal {
        /// Median, ms.
        median_ms: i64,
        /// 95th percentile, ms.
        p95_ms: i64,
    },
}

/// How a workload's submissions arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Arrival {
    /// A Poisson process: exponential gaps with the workload's mean rate.
    Poisson,
    /// Evenly spaced at the workload's rate.
    Uniform,
}

/// An accelerated domain the account owns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Domain {
    /// Host name, lower case.
    pub name: String,
    /// Share of workload submissions (relative).
    pub weight: f64,
    /// `http` or `https`, used for generated URLs.
    pub scheme: String,
}

/// A stream of generated submissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Unique name; it also names the workload's random streams.
    pub name: String,
    /// Arrival process.
    pub arrival: Arrival,
    /// Mean submissions per hour.
    pub rate_per_hour: f64,
    /// Indexes of the domains it submits to (weighted by each domain's weight).
    pub domains: Vec<usize>,
    /// Relative weight of each object type.
    pub mix: PerType<f64>,
    /// Rows per submission, inclusive range (clamped to the per-request limit of the type).
    pub urls_min: u32,
    /// See `urls_min`.
    pub urls_max: u32,
    /// Distinct paths the workload draws from.
    pub path_count: u32,
    /// Zipf exponent of path popularity (0 = uniform).
    pub zipf_exponent: f64,
    /// Prefix of every generated path, starting with `/`.
    pub path_prefix: String,
    /// Active from (ms).
    pub start_ms: TimeMs,
    /// Active until (ms, exclusive).
    pub end_ms: TimeMs,
}

/// How long rows take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lifecycle {
    /// Time a row stays `Pending` before it starts `Refreshing`.
    pub queue_delay: Dist,
    /// Processing time per object type.
    pub processing: PerType<Dist>,
    /// `Progressed` events per row (the first at 0%).
    pub progress_steps: u32,
}

/// An origin outage: rows of `domain` finishing inside the window fail at `failure_rate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Index of the domain.
    pub domain: usize,
    /// Window start (ms, inclusive).
    pub start_ms: TimeMs,
    /// Window end (ms, exclusive).
    pub end_ms: TimeMs,
    /// Probability that a row finishing inside the window fails.
    pub failure_rate: f64,
    /// The reason those rows fail with.
    pub reason: FailReason,
}

/// A forced outcome of a scripted submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Forced {
    /// Every row completes.
    Complete,
    /// Every row fails with this reason.
    Failed(FailReason),
}

/// A submission at an exact time with a forced outcome (a fixture for tests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Script {
    /// Submission time (ms).
    pub at_ms: TimeMs,
    /// Index of the domain.
    pub domain: usize,
    /// Type of every row.
    pub object_type: ObjectType,
    /// Full object paths, normalised (scheme added).
    pub paths: Vec<String>,
    /// The outcome every row gets.
    pub outcome: Forced,
    /// Queue delay override (ms).
    pub queue_delay_ms: Option<i64>,
    /// Processing time override (ms).
    pub processing_ms: Option<i64>,
}

/// API limits; the real ones drifted between API versions, so they are settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Limits {
    /// Largest PageSize.
    pub page_size_max: u32,
    /// Largest PageNumber.
    pub page_number_max: u32,
    /// How far back queries reach (ms).
    pub history_ms: i64,
    /// URLs per RefreshObjectCaches request (File, IgnoreParams).
    pub refresh_urls_per_request: u32,
    /// Directories per RefreshObjectCaches request.
    pub refresh_dirs_per_request: u32,
    /// Regexes per RefreshObjectCaches request.
    pub refresh_regex_per_request: u32,
    /// URLs per PushObjectCache request.
    pub preload_urls_per_request: u32,
    /// Distinct domains per write request.
    pub domains_per_request: u32,
    /// Rows sharing one refresh TaskId (same domain, same second).
    pub rows_per_refresh_task: u32,
    /// Rows sharing one preload TaskId.
    pub rows_per_preload_task: u32,
    /// TaskIds per DescribeRefreshTaskById call.
    pub task_ids_per_query: u32,
}

/// Daily quotas per type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Quotas {
    /// URL refreshes (File).
    pub url: u32,
    /// Directory refreshes.
    pub dir: u32,
    /// Regex refreshes.
    pub regex: u32,
    /// IgnoreParams refreshes.
    pub ignore_params: u32,
    /// Preloads.
    pub preload: u32,
    /// Preloads to L1 nodes (reported only).
    pub preload_edge: u32,
    /// URL blocks (reported only).
    pub block: u32,
    /// Offset from UTC of the local midnight at which quotas reset, in seconds.
    pub reset_utc_offset_s: i32,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Seed of every random stream.
    pub seed: u64,
    /// Start of the simulated timeline (ms).
    pub start_ms: TimeMs,
    /// Length of the workload phase (ms); lifecycles still running at its end finish after it.
    pub duration_ms: i64,
    /// First TaskId handed out.
    pub task_id_start: u64,
    /// Domains.
    pub domains: Vec<Domain>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Lifecycle model.
    pub lifecycle: Lifecycle,
    /// Base failure probability per reason, indexed like [`FailReason::ALL`].
    pub failures: [f64; 3],
    /// Incidents.
    pub incidents: Vec<Incident>,
    /// Scripted submissions, in time order.
    pub scripts: Vec<Script>,
    /// API limits.
    pub limits: Limits,
    /// Daily quotas.
    pub quotas: Quotas,
    /// Rules in force from the start, in file order (`[[rule]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<rule::Rule>,
}

/// The highest workload rate accepted (about 280 submissions per virtual second).
pub const MAX_RATE_PER_HOUR: f64 = 1_000_000.0;

/// The most rows one submission may carry, whatever the limits say.
pub const MAX_URLS_PER_SUBMISSION: u32 = 100_000;

/// The default TaskId of the first batch: above 2^32, as real ids are.
pub const DEFAULT_TASK_ID_START: u64 = 15_000_000_000;

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::parse(path, &text)
    }

    /// Checks scenario text; `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let ctx = Ctx { path, text };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| ctx.toml_error("", &e))?;
        let raw: RawScenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            // `Spanned` values show up as a private field name in the path: drop it.
            let key = e
                .path()
                .to_string()
                .replace(".$__serde_spanned_private_value", "");
            ctx.toml_error(&key, e.inner())
        })?;
        Scenario::from_raw(&ctx, raw)
    }

    /// Hash of everything but the seed: two logs with the same fingerprint come from the same
    /// scenario (the seed is in the log header beside it).
    pub fn fingerprint(&self) -> [u8; 32] {
        let unseeded = Scenario {
            seed: 0,
            ..self.clone()
        };
        // A tree of plain structs, numbers and strings always serialises.
        let json = serde_json::to_vec(&unseeded).unwrap_or_default();
        Sha256::digest(&json).into()
    }

    /// End of the workload phase (ms).
    pub fn end_ms(&self) -> TimeMs {
        self.start_ms + self.duration_ms
    }

    /// The domain index of a host name.
    pub fn domain_index(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.name == name)
    }

    fn from_raw(ctx: &Ctx<'_>, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let start_ms = raw.start.0;
        let duration_ms = raw.duration.get_ref().0;
        if duration_ms <= 0 {
            return Err(ctx.at(raw.duration.span(), "duration", "must be longer than 0"));
        }
        if start_ms + duration_ms > crate::time::MAX_MS {
            let message = "the scenario would end after 9999-12-31T23:59:59.999Z";
            return Err(ctx.at(raw.duration.span(), "duration", message));
        }
        let span = (start_ms, start_ms + duration_ms);
        let domains = check_domains(ctx, &raw.domains)?;
        let limits = check_limits(ctx, raw.limits)?;
        let mut workloads: Vec<Workload> = Vec::with_capacity(raw.workloads.len());
        for (i, w) in raw.workloads.into_iter().enumerate() {
            workloads.push(check_workload(ctx, i, w, &domains, &workloads, span)?);
        }
        let lifecycle = check_lifecycle(ctx, raw.lifecycle)?;
        let failures = check_failures(ctx, raw.failures)?;
        let mut incidents = Vec::with_capacity(raw.incidents.len());
        for (i, inc) in raw.incidents.into_iter().enumerate() {
            incidents.push(check_incident(ctx, i, inc, &domains)?);
        }
        let mut scripts = Vec::with_capacity(raw.scripts.len());
        for (i, s) in raw.scripts.into_iter().enumerate() {
            scripts.push(check_script(ctx, i, &s, &domains, &limits, span)?);
        }
        // Scripts run in time order; equal times keep file order.
        scripts.sort_by_key(|s| s.at_ms);
        Ok(Scenario {
            seed: raw.seed,
            start_ms,
            duration_ms,
            task_id_start: raw.task_id_start.unwrap_or(DEFAULT_TASK_ID_START),
            domains,
            workloads,
            lifecycle,
            failures,
            incidents,
            scripts,
            limits,
            quotas: check_quotas(ctx, raw.quotas)?,
            rules: check_rules(ctx, raw.rules)?,
        })
    }
}

/// `[[rule]]` tables: each checks alone ([`rule::RawRule::check`]); names are unique. An error
/// points at the key's line inside the rule's table when it can be found there.
fn check_rules(
    ctx: &Ctx<'_>,
    raw: Vec<Spanned<rule::RawRule>>,
) -> Result<Vec<rule::Rule>, ScenarioError> {
    let mut rules: Vec<rule::Rule> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let span = r.span();
        if i == rule::RULES_MAX {
            let message = format!("more than {} rules", rule::RULES_MAX);
            return Err(ctx.at(span, &format!("rule[{i}]"), &message));
        }
        let checked = r.into_inner().check().map_err(|e| {
            // A missing key is reported at the key that needs it.
            let near = match e.key {
                "reason" => ["reason", "outcome"],
                "action" => ["action", "error"],
                "error" => ["error", "action"],
                key if key.starts_with("match.") => [key, "match"],
                key => [key, "name"],
            };
            let key_span = near
                .iter()
                .map(|k| ctx.key_in(span.clone(), k))
                .find(|s| *s != span)
                .unwrap_or_else(|| span.clone());
            ctx.at(key_span, &format!("rule[{i}].{}", e.key), &e.message)
        })?;
        if rules.iter().any(|other| other.name == checked.name) {
            let message = format!("the name {:?} is used by an earlier rule", checked.name);
            return Err(ctx.at(
                ctx.key_in(span, "name"),
                &format!("rule[{i}].name"),
                &message,
            ));
        }
        rules.push(checked);
    }
    Ok(rules)
}

/// The index of a scenario domain named by `name` (any case).
fn find_domain(
    ctx: &Ctx<'_>,
    domains: &[Domain],
    name: &Spanned<String>,
    key: &str,
) -> Result<usize, ScenarioError> {
    domains
        .iter()
        .position(|d| d.name == name.get_ref().to_ascii_lowercase())
        .ok_or_else(|| {
            let known: Vec<&str> = domains.iter().map(|d| d.name.as_str()).collect();
            let message = format!(
                "unknown domain {:?}; the scenario's domains are {known:?}",
                name.get_ref()
            );
            ctx.at(name.span(), key, &message)
        })
}

/// `workload[i]`, checked against the domains and the workloads before it; `span` is the
/// scenario's (start, end).
fn check_workload(
    ctx: &Ctx<'_>,
    i: usize,
    w: raw::RawWorkload,
    domains: &[Domain],
    before: &[Workload],
    span: (TimeMs, TimeMs),
) -> Result<Workload, ScenarioError> {
    let key = |field: &str| format!("workload[{i}].{field}");
    if before.iter().any(|o| o.name == *w.name.get_ref()) {
        return Err(ctx.at(w.name.span(), &key("name"), "duplicate workload name"));
    }
    let arrival = match w.arrival.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
        None | Some(("poisson", _)) => Arrival::Poisson,
        Some(("uniform", _)) => Arrival::Uniform,
        Some((other, span)) => {
            let message = format!("unknown arrival {other:?}; expected poisson or uniform");
            return Err(ctx.at(span, &key("arrival"), &message));
        }
    };
    let workload_domains = match &w.domains {
        None => (0..domains.len()).collect(),
        Some(names) => {
            let mut out = Vec::new();
            for (j, name) in names.iter().enumerate() {
                out.push(find_domain(
                    ctx,
                    domains,
                    name,
                    &key(&format!("domains[{j}]")),
                )?);
            }
            out
        }
    };
    if !workload_domains.iter().any(|&d| domains[d].weight > 0.0) {
        let span = w.name.span();
        return Err(ctx.at(span, &key("domains"), "no domain with a weight above 0"));
    }
    let mix = check_mix(ctx, w.mix.as_ref(), &key("mix"))?;
    let (urls_min, urls_max) = match &w.urls_per_submission {
        None => (1, 1),
        Some(count) => check_count(ctx, count, &key("urls_per_submission"))?,
    };
    let (path_count, path_prefix, zipf_exponent) = check_paths(ctx, w.paths.as_ref(), &key)?;
    if w.rate_per_hour.0 > MAX_RATE_PER_HOUR {
        let message = format!("at most {MAX_RATE_PER_HOUR} submissions per hour");
        return Err(ctx.at(w.name.span(), &key("rate_per_hour"), &message));
    }
    let (start_ms, end_ms) = check_active(ctx, &w, span, &key)?;
    Ok(Workload {
        name: w.name.into_inner(),
        arrival,
        rate_per_hour: w.rate_per_hour.0,
        domains: workload_domains,
        mix,
        urls_min,
        urls_max,
        path_count,
        zipf_exponent,
        path_prefix,
        start_ms,
        end_ms,
    })
}

/// A workload's `paths` table: (count, prefix, Zipf exponent).
fn check_paths(
    ctx: &Ctx<'_>,
    paths: Option<&raw::RawPaths>,
    key: &dyn Fn(&str) -> String,
) -> Result<(u32, String, f64), ScenarioError> {
    let path_count = match paths.and_then(|p| p.count.as_ref()) {
        None => 10_000,
        Some(c) if (1..=1_000_000).contains(c.get_ref()) => *c.get_ref(),
        Some(c) => {
            let message = "must be between 1 and 1000000";
            return Err(ctx.at(c.span(), &key("paths.count"), message));
        }
    };
    let path_prefix = match paths.and_then(|p| p.prefix.as_ref()) {
        None => "/static".to_owned(),
        Some(p) => check_prefix(ctx, p, &key("paths.prefix"))?,
    };
    let zipf_exponent = paths.and_then(|p| p.zipf_exponent).map_or(1.0, |z| z.0);
    Ok((path_count, path_prefix, zipf_exponent))
}

/// A workload's active window (`start`, `end`), inside the scenario's `span`.
fn check_active(
    ctx: &Ctx<'_>,
    w: &raw::RawWorkload,
    (start_ms, end_ms): (TimeMs, TimeMs),
    key: &dyn Fn(&str) -> String,
) -> Result<(TimeMs, TimeMs), ScenarioError> {
    let w_start = w.start.as_ref().map_or(start_ms, |s| s.get_ref().0);
    let w_end = w.end.as_ref().map_or(end_ms, |s| s.get_ref().0);
    let inside = "must be inside the scenario (start .. start + duration)";
    if let Some(s) = &w.start
        && !(start_ms..end_ms).contains(&w_start)
    {
        return Err(ctx.at(s.span(), &key("start"), inside));
    }
    if let Some(end) = &w.end {
        if !(start_ms..=end_ms).contains(&w_end) {
            return Err(ctx.at(end.span(), &key("end"), inside));
        }
        if w_end <= w_start {
            return Err(ctx.at(end.span(), &key("end"), "must be later than the start"));
        }
    }
    Ok((w_start, w_end))
}

/// `incident[i]`.
fn check_incident(
    ctx: &Ctx<'_>,
    i: usize,
    inc: raw::RawIncident,
    domains: &[Domain],
) -> Result<Incident, ScenarioError> {
    let domain = find_domain(ctx, domains, &inc.domain, &format!("incident[{i}].domain"))?;
    let end = inc.end.get_ref().0;
    if end <= inc.start.0 {
        let key = format!("incident[{i}].end");
        return Err(ctx.at(inc.end.span(), &key, "must be later than start"));
    }
    Ok(Incident {
        domain,
        start_ms: inc.start.0,
        end_ms: end,
        failure_rate: inc.failure_rate.0,
        reason: inc.reason.map_or(FailReason::OriginTimeout, |r| r.0),
    })
}

/// `script[i]`, inside the scenario's `span`.
fn check_script(
    ctx: &Ctx<'_>,
    i: usize,
    s: &raw::RawScript,
    domains: &[Domain],
    limits: &Limits,
    (start_ms, end_ms): (TimeMs, TimeMs),
) -> Result<Script, ScenarioError> {
    let key = |field: &str| format!("script[{i}].{field}");
    let domain = find_domain(ctx, domains, &s.domain, &key("domain"))?;
    let at_ms = s.at.get_ref().0;
    if !(start_ms..=end_ms).contains(&at_ms) {
        let message = "must be inside the scenario (start .. start + duration)";
        return Err(ctx.at(s.at.span(), &key("at"), message));
    }
    let object_type = s.object_type.map_or(ObjectType::File, |t| t.0);
    let paths = check_script_paths(ctx, s, &domains[domain], object_type, limits, i)?;
    let outcome = check_outcome(ctx, s, &key)?;
    Ok(Script {
        at_ms,
        domain,
        object_type,
        paths,
        outcome,
        queue_delay_ms: s.queue_delay.map(|m| m.0),
        processing_ms: s.processing.map(|m| m.0),
    })
}

/// A script's `outcome` and `reason`.
fn check_outcome(
    ctx: &Ctx<'_>,
    s: &raw::RawScript,
    key: &dyn Fn(&str) -> String,
) -> Result<Forced, ScenarioError> {
    match (s.outcome.as_ref().map(|o| o.get_ref().as_str()), &s.reason) {
        (None | Some("complete"), None) => Ok(Forced::Complete),
        (Some("failed"), Some(reason)) => Ok(Forced::Failed(reason.get_ref().0)),
        (Some("failed"), None) => {
            let span = s.outcome.as_ref().map_or(s.at.span(), |o| o.span());
            Err(ctx.at(span, &key("reason"), "required when outcome = \"failed\""))
        }
        (None | Some("complete"), Some(reason)) => {
            let message = "only allowed with outcome = \"failed\"";
            Err(ctx.at(reason.span(), &key("reason"), message))
        }
        (Some(other), _) => {
            let span = s.outcome.as_ref().map_or(s.at.span(), |o| o.span());
            let message = format!("unknown outcome {other:?}; expected complete or failed");
            Err(ctx.at(span, &key("outcome"), &message))
        }
    }
}

/// The file being checked, for error positions.
struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// An error at byte `span` of the file.
    fn at(&self, span: Range<usize>, key: &str, message: &str) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let content = self.text[line_start..].lines().next().unwrap_or("");
        let width = self.text[start..span.end.clamp(start, self.text.len())]
            .lines()
            .next()
            .map_or(1, |s| s.chars().count().max(1));
        let gutter = line.to_string().len();
        let snippet = format!(
            "\n{:gutter$} |\n{line} | {content}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(column - 1),
            "^".repeat(width),
        );
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            key: if key.is_empty() {
                "(file)".to_owned()
            } else {
                key.to_owned()
            },
            message: message.to_owned(),
            snippet,
        }
    }

    /// The span of the line setting `key` (its last dotted part) in the table that starts at
    /// `span` (up to the next table header), or `span`.
    fn key_in(&self, span: Range<usize>, key: &str) -> Range<usize> {
        let last = key.rsplit('.').next().unwrap_or(key);
        let start = span.start.min(self.text.len());
        let mut offset = start;
        for (n, line) in self.text[start..].split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            if n > 0 && trimmed.starts_with('[') {
                break;
            }
            if let Some(rest) = trimmed.strip_prefix(last)
                && rest.trim_start().starts_with('=')
            {
                let at = offset + (line.len() - trimmed.len());
                return at..at + last.len();
            }
            offset += line.len();
        }
        span
    }

    fn toml_error(&self, key: &str, e: &toml::de::Error) -> ScenarioError {
        let key = if key == "." { "" } else { key };
        self.at(e.span().unwrap_or(0..0), key, e.message().trim_end())
    }
}

fn check_domains(ctx: &Ctx<'_>, raw: &[raw::RawDomain]) -> Result<Vec<Domain>, ScenarioError> {
    if raw.is_empty() {
        return Err(ctx.at(0..0, "domain", "a scenario needs at least one [[domain]]"));
    }
    let mut domains: Vec<Domain> = Vec::with_capacity(raw.len());
    for (i, d) in raw.iter().enumerate() {
        let key = |field: &str| format!("domain[{i}].{field}");
        let name = d.name.get_ref().to_ascii_lowercase();
        if !objpath::is_valid_host(&name) {
            let message = format!("{:?} is not a host name", d.name.get_ref());
            return Err(ctx.at(d.name.span(), &key("name"), &message));
        }
        if domains.iter().any(|o| o.name == name) {
            return Err(ctx.at(d.name.span(), &key("name"), "duplicate domain name"));
        }
        let scheme = match d.scheme.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
            None => "http",
            Some((s @ ("http" | "https"), _)) => s,
            Some((other, span)) => {
                let message = format!("unknown scheme {other:?}; expected http or https");
                return Err(ctx.at(span, &key("scheme"), &message));
            }
        };
        domains.push(Domain {
            name,
            weight: d.weight.as_ref().map_or(1.0, |w| w.get_ref().0),
            scheme: scheme.to_owned(),
        });
    }
    Ok(domains)
}

fn check_mix(
    ctx: &Ctx<'_>,
    raw: Option<&Spanned<std::collections::BTreeMap<String, values::NonNegative>>>,
    key: &str,
) -> Result<PerType<f64>, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(PerType::from_fn(|t| {
            if t == ObjectType::File { 1.0 } else { 0.0 }
        }));
    };
    let mut mix = PerType([0.0; 5]);
    for (name, weight) in raw.get_ref() {
        let Some(t) = ObjectType::ALL.into_iter().find(|t| t.as_str() == name) else {
            let message = format!(
                "unknown object type {name:?}; expected file, directory, regex, IgnoreParams, preload"
            );
            return Err(ctx.at(raw.span(), &format!("{key}.{name}"), &message));
        };
        mix[t] = weight.0;
    }
    if mix.0.iter().sum::<f64>() <= 0.0 {
        return Err(ctx.at(raw.span(), key, "at least one weight must be above 0"));
    }
    Ok(mix)
}

fn check_count(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawCount>,
    key: &str,
) -> Result<(u32, u32), ScenarioError> {
    let RawCount { min, max } = *raw.get_ref();
    if min == 0 {
        return Err(ctx.at(raw.span(), key, "must be at least 1"));
    }
    if min > max {
        return Err(ctx.at(
            raw.span(),
            key,
            &format!("min ({min}) is above max ({max})"),
        ));
    }
    if max > MAX_URLS_PER_SUBMISSION {
        let message = format!("at most {MAX_URLS_PER_SUBMISSION}");
        return Err(ctx.at(raw.span(), key, &message));
    }
    Ok((min, max))
}

fn check_prefix(ctx: &Ctx<'_>, raw: &Spanned<String>, key: &str) -> Result<String, ScenarioError> {
    let prefix = raw.get_ref().trim_end_matches('/');
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    let ok = prefix.is_empty() || (prefix.starts_with('/') && prefix.chars().all(unreserved));
    if !ok {
        let message = "must be empty or start with '/' and use only letters, digits, - . _ ~ /";
        return Err(ctx.at(raw.span(), key, message));
    }
    Ok(prefix.to_owned())
}

fn check_dist(
    ctx: &Ctx<'_>,
    raw: Option<&Spanned<RawDistOrFixed>>,
    key: &str,
    default: Dist,
) -> Result<Dist, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let bad = |message: &str| Err(ctx.at(raw.span(), key, message));
    match raw.get_ref() {
        RawDistOrFixed::Fixed(ms) => Ok(Dist::Fixed(ms.0)),
        RawDistOrFixed::Dist(d) => match (d.min, d.max, d.median, d.p95) {
            (Some(min), Some(max), None, None) if min <= max => Ok(Dist::Uniform {
                min_ms: min.0,
                max_ms: max.0,
            }),
            (Some(min), Some(max), None, None) => bad(&format!("min ({min}) is above max ({max})")),
            (None, None, Some(median), Some(p95)) if median.0 > 0 && median <= p95 => {
                Ok(Dist::LogNormal {
                    median_ms: median.0,
                    p95_ms: p95.0,
                })
            }
            (None, None, Some(_), Some(_)) => bad("needs 0 < median <= p95"),
            _ => bad("write a duration, { min, max } or { median, p95 }"),
        },
    }
}

fn check_lifecycle(
    ctx: &Ctx<'_>,
    raw: Option<raw::RawLifecycle>,
) -> Result<Lifecycle, ScenarioError> {
    let refresh = Dist::Uniform {
        min_ms: 300_000,
        max_ms: 360_000,
    };
    let preload = Dist::Uniform {
        min_ms: 300_000,
        max_ms: 1_800_000,
    };
    // An absent [lifecycle] table is an empty one: every key takes its default below.
    let raw = raw.unwrap_or(raw::RawLifecycle {
        queue_delay: None,
        progress_steps: None,
        processing: None,
    });
    let queue_delay = check_dist(
        ctx,
        raw.queue_delay.as_ref(),
        "lifecycle.queue_delay",
        Dist::Uniform {
            min_ms: 0,
            max_ms: 10_000,
        },
    )?;
    let p = raw.processing.as_ref();
    let processing = PerType::try_from_fn(|t| {
        let default = if t.is_preload() { preload } else { refresh };
        let key = format!("lifecycle.processing.{}", t.as_str());
        check_dist(ctx, p.and_then(|p| p.get(t)), &key, default)
    })?;
    let progress_steps = match raw.progress_steps {
        None => 4,
        Some(s) if (1..=100).contains(s.get_ref()) => *s.get_ref(),
        Some(s) => {
            let message = "must be between 1 and 100";
            return Err(ctx.at(s.span(), "lifecycle.progress_steps", message));
        }
    };
    Ok(Lifecycle {
        queue_delay,
        processing,
        progress_steps,
    })
}

fn check_failures(
    ctx: &Ctx<'_>,
    raw: Option<Spanned<raw::RawFailures>>,
) -> Result<[f64; 3], ScenarioError> {
    let Some(raw) = raw else {
        return Ok([0.001, 0.002, 0.001]);
    };
    let f = raw.get_ref();
    let p = |x: Option<values::Probability>| x.map_or(0.0, |x| x.0);
    let failures = [p(f.internal_error), p(f.origin_timeout), p(f.origin_5xx)];
    let sum: f64 = failures.iter().sum();
    if sum > 1.0 {
        let message = format!("the probabilities add up to {sum}, more than 1");
        return Err(ctx.at(raw.span(), "failures", &message));
    }
    Ok(failures)
}

fn check_script_paths(
    ctx: &Ctx<'_>,
    s: &raw::RawScript,
    domain: &Domain,
    object_type: ObjectType,
    limits: &Limits,
    i: usize,
) -> Result<Vec<String>, ScenarioError> {
    let raw_paths = s.paths.get_ref();
    if raw_paths.is_empty() {
        return Err(ctx.at(
            s.paths.span(),
            &format!("script[{i}].paths"),
            "needs at least one path",
        ));
    }
    let max = limits.per_request(object_type);
    if raw_paths.len() > max as usize {
        let message = format!(
            "{} paths, more than the {max} a {} request allows",
            raw_paths.len(),
            object_type.as_str()
        );
        return Err(ctx.at(s.paths.span(), &format!("script[{i}].paths"), &message));
    }
    let mut paths = Vec::with_capacity(raw_paths.len());
    for (j, p) in raw_paths.iter().enumerate() {
        let key = format!("script[{i}].paths[{j}]");
        let text = p.get_ref();
        let full = match text.starts_with('/') {
            true => format!("{}://{}{text}", domain.scheme, domain.name),
            false => text.clone(),
        };
        let parsed =
            objpath::normalize(&full).map_err(|e| ctx.at(p.span(), &key, &e.to_string()))?;
        if parsed.domain != domain.name {
            let message = format!(
                "the host {:?} is not the script's domain {:?}",
                parsed.domain, domain.name
            );
            return Err(ctx.at(p.span(), &key, &message));
        }
        if object_type == ObjectType::Directory && !parsed.path.ends_with('/') {
            return Err(ctx.at(p.span(), &key, "a directory path must end with '/'"));
        }
        paths.push(parsed.path);
    }
    Ok(paths)
}

impl Limits {
    /// The largest number of rows one request of this type may carry.
    pub fn per_request(&self, object_type: ObjectType) -> u32 {
        match object_type {
            ObjectType::File | ObjectType::IgnoreParams => self.refresh_urls_per_request,
            ObjectType::Directory => self.refresh_dirs_per_request,
            ObjectType::Regex => self.refresh_regex_per_request,
            ObjectType::Preload => self.preload_urls_per_request,
        }
    }

    /// Rows that share one TaskId.
    pub fn rows_per_task(&self, object_type: ObjectType) -> u32 {
        if object_type.is_preload() {
            self.rows_per_preload_task
        } else {
            self.rows_per_refresh_task
        }
    }
}

fn check_limits(ctx: &Ctx<'_>, raw: Option<raw::RawLimits>) -> Result<Limits, ScenarioError> {
    let positive = |v: &Option<Spanned<u32>>, key: &str, default: u32| match v {
        None => Ok(default),
        Some(v) if *v.get_ref() >= 1 => Ok(*v.get_ref()),
        Some(v) => Err(ctx.at(v.span(), &format!("limits.{key}"), "must be at least 1")),
    };
    let Some(r) = raw else {
        return Ok(Limits::default());
    };
    let d = Limits::default();
    let history_ms = match &r.history {
        None => d.history_ms,
        Some(h) if h.get_ref().0 >= 1_000 => h.get_ref().0,
        Some(h) => return Err(ctx.at(h.span(), "limits.history", "must be at least 1s")),
    };
    Ok(Limits {
        page_size_max: positive(&r.page_size_max, "page_size_max", d.page_size_max)?,
        page_number_max: positive(&r.page_number_max, "page_number_max", d.page_number_max)?,
        history_ms,
        refresh_urls_per_request: positive(
            &r.refresh_urls_per_request,
            "refresh_urls_per_request",
            d.refresh_urls_per_request,
        )?,
        refresh_dirs_per_request: positive(
            &r.refresh_dirs_per_request,
            "refresh_dirs_per_request",
            d.refresh_dirs_per_request,
        )?,
        refresh_regex_per_request: positive(
            &r.refresh_regex_per_request,
            "refresh_regex_per_request",
            d.refresh_regex_per_request,
        )?,
        preload_urls_per_request: positive(
            &r.preload_urls_per_request,
            "preload_urls_per_request",
            d.preload_urls_per_request,
        )?,
        domains_per_request: positive(
            &r.domains_per_request,
            "domains_per_request",
            d.domains_per_request,
        )?,
        rows_per_refresh_task: positive(
            &r.rows_per_refresh_task,
            "rows_per_refresh_task",
            d.rows_per_refresh_task,
        )?,
        rows_per_preload_task: positive(
            &r.rows_per_preload_task,
            "rows_per_preload_task",
            d.rows_per_preload_task,
        )?,
        task_ids_per_query: positive(
            &r.task_ids_per_query,
            "task_ids_per_query",
            d.task_ids_per_query,
        )?,
    })
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            page_size_max: 100,
            page_number_max: 100_000,
            history_ms: 3 * 86_400_000,
            refresh_urls_per_request: 1_000,
            refresh_dirs_per_request: 100,
            refresh_regex_per_request: 1,
            preload_urls_per_request: 100,
            domains_per_request: 10,
            rows_per_refresh_task: 2_000,
            rows_per_preload_task: 500,
            task_ids_per_query: 10,
        }
    }
}

impl Quotas {
    /// The daily quota a type draws on.
    pub fn daily(&self, object_type: ObjectType) -> u32 {
        match object_type {
            ObjectType::File => self.url,
            ObjectType::Directory => self.dir,
            ObjectType::Regex => self.regex,
            ObjectType::IgnoreParams => self.ignore_params,
            ObjectType::Preload => self.preload,
        }
    }
}

impl Default for Quotas {
    /// Today's documented defaults; the day starts at 00:00 UTC+8.
    fn default() -> Quotas {
        Quotas {
            url: 10_000,
            dir: 100,
            regex: 20,
            ignore_params: 100,
            preload: 1_000,
            preload_edge: 20,
            block: 300,
            reset_utc_offset_s: 8 * 3600,
        }
    }
}

fn check_quotas(ctx: &Ctx<'_>, raw: Option<raw::RawQuotas>) -> Result<Quotas, ScenarioError> {
    let d = Quotas::default();
    let Some(r) = raw else {
        return Ok(d);
    };
    let reset_utc_offset_s = match &r.reset_utc_offset {
        None => d.reset_utc_offset_s,
        Some(text) => match text.get_ref().parse::<chrono::FixedOffset>() {
            Ok(offset) => offset.local_minus_utc(),
            Err(_) => {
                let message = format!("invalid offset {:?}; write e.g. \"+08:00\"", text.get_ref());
                return Err(ctx.at(text.span(), "quotas.reset_utc_offset", &message));
            }
        },
    };
    Ok(Quotas {
        url: r.url.unwrap_or(d.url),
        dir: r.dir.unwrap_or(d.dir),
        regex: r.regex.unwrap_or(d.regex),
        ignore_params: r.ignore_params.unwrap_or(d.ignore_params),
        preload: r.preload.unwrap_or(d.preload),
        preload_edge: r.preload_edge.unwrap_or(d.preload_edge),
        block: r.block.unwrap_or(d.block),
        reset_utc_offset_s,
    })
}
