//! Rules: what a test author forces on the simulated CDN.
//!
//! A **lifecycle rule** decides what happens to rows submitted through the write API
//! (RefreshObjectCaches, PushObjectCache) after it exists: it matches rows by domain, path and
//! type and forces their outcome, queueing delay or processing time. An **error rule** makes
//! calls of one action answer an API error instead of running. Both may fire with a
//! probability (drawn from a seeded stream, so the same calls give the same answers) and for a
//! number of `times`, after which they are spent.
//!
//! Rules come from a scenario's `[[rule]]` tables and from the server's `/_cdnsim/rules`
//! endpoint, in the same shape ([`RawRule`], checked by [`RawRule::check`]). A rule is logged
//! as its canonical JSON ([`Rule::to_json`]), which [`Rule::from_json`] reads back: the log
//! stays readable when rules grow keys. A [`RuleBook`] holds the rules in force in the order
//! they were added, with how often each was used; the simulator decides with one, the read
//! model folds one from the log.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Forced;
use super::values::{Millis, Probability, ReasonName, TypeName, reason_key};
pub use crate::event::RuleUse;
use crate::event::{ObjectType, TimeMs};

/// The API's actions, by name (those an error rule may name).
pub const ACTIONS: [&str; 5] = [
    "DescribeRefreshTasks",
    "DescribeRefreshTaskById",
    "DescribeRefreshQuota",
    "RefreshObjectCaches",
    "PushObjectCache",
];

/// An API error a rule may inject: the real service's code, HTTP status and message.
#[derive(Debug, PartialEq, Eq)]
pub struct InjectableError {
    /// The `Code` field.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The `Message` field.
    pub message: &'static str,
    /// The gateway sends `x-acs-retry-after` with it (flow control).
    pub throttling: bool,
}

/// The errors a rule may inject, as the real gateway and CDN service answer them.
pub const ERRORS: [InjectableError; 10] = [
    InjectableError {
        code: "Throttling.User",
        status: 400,
        message: "Request was denied due to user flow control.",
        throttling: true,
    },
    InjectableError {
        code: "Throttling.Api",
        status: 400,
        message: "Request was denied due to api flow control.",
        throttling: true,
    },
    InjectableError {
        code: "Throttling",
        status: 503,
        message: "Request was denied due to request throttling.",
        throttling: true,
    },
    InjectableError {
        code: "TooManyRequests",
        status: 429,
        message: "Too many requests.",
        throttling: true,
    },
    InjectableError {
        code: "ServiceUnavailable",
        status: 503,
        message: "The request has failed due to a temporary failure of the server.",
        throttling: false,
    },
    InjectableError {
        code: "InternalError",
        status: 500,
        message: "The request processing has failed due to some unknown error.",
        throttling: false,
    },
    InjectableError {
        code: "Forbidden.RAM",
        status: 403,
        message: "User not authorized to operate on the specified resource, or this API \
                  doesn't support RAM.",
        throttling: false,
    },
    InjectableError {
        code: "QuotaExceeded.Refresh",
        status: 400,
        message: "Your refresh attempts have exceeded the daily limit.",
        throttling: false,
    },
    InjectableError {
        code: "QuotaExceeded.Preload",
        status: 400,
        message: "Your preload attempts have exceeded the daily limit.",
        throttling: false,
    },
    InjectableError {
        code: "InvalidDomain.NotFound",
        status: 404,
        message: "The domain does not belong to you.",
        throttling: false,
    },
];

/// The wait a throttling error advertises in `x-acs-retry-after` unless the rule says.
pub const DEFAULT_RETRY_AFTER_MS: i64 = 1_000;

/// One rule, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique among the rules in force.
    pub name: String,
    /// What it does.
    pub kind: RuleKind,
    /// Chance that it applies to a row or call it matches (drawn per match).
    pub probability: f64,
    /// Rows or calls it applies to before it is spent; `None`: unlimited.
    pub times: Option<u64>,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Forces the lifecycle of API rows.
    Lifecycle(Lifecycle),
    /// Makes calls of an action answer an error.
    Error(ErrorRule),
}

/// Which API rows a lifecycle rule applies to, and what it forces on them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lifecycle {
    /// Domain, lower case (rows' domains are).
    pub domain: Option<String>,
    /// Pattern over the stored ObjectPath: `*` matches any run of characters.
    pub path: Option<String>,
    /// Object type.
    pub object_type: Option<ObjectType>,
    /// Forced outcome; `None`: drawn as usual.
    pub outcome: Option<Forced>,
    /// Forced queueing delay (ms).
    pub queue_delay_ms: Option<i64>,
    /// Forced processing time (ms).
    pub processing_ms: Option<i64>,
}

/// An error rule's action and answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRule {
    /// The action whose calls it answers (one of [`ACTIONS`]).
    pub action: &'static str,
    /// The error it answers.
    pub error: &'static InjectableError,
    /// `x-acs-retry-after` (ms), if sent.
    pub retry_after_ms: Option<i64>,
}

/// A row a lifecycle rule may match.
#[derive(Debug, Clone, Copy)]
pub struct RowFacts<'a> {
    /// Its domain.
    pub domain: &'a str,
    /// Its stored ObjectPath.
    pub object_path: &'a str,
    /// Its type.
    pub object_type: ObjectType,
}

impl Lifecycle {
    /// True when the row is one this rule applies to.
    pub fn matches(&self, row: &RowFacts<'_>) -> bool {
        self.domain
            .as_deref()
            .is_none_or(|d| d.eq_ignore_ascii_case(row.domain))
            && self
                .path
                .as_deref()
                .is_none_or(|p| glob_match(p, row.object_path))
            && self.object_type.is_none_or(|t| t == row.object_type)
    }
}

/// `*` matches any run of characters (none included); everything else is literal. The literal
/// pieces between stars are found left to right, each at its first place after the previous
/// one (which is enough when `*` is the only wildcard), so a match takes time linear in the
/// lengths.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty(); // no star: the whole text
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A rule as written, in a scenario's `[[rule]]` table or a JSON body: every key the two
/// kinds have, checked together by [`RawRule::check`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Name.
    pub name: String,
    /// Which rows (lifecycle rules).
    #[serde(rename = "match")]
    pub matches: Option<RawMatch>,
    /// `complete` or `failed`.
    pub outcome: Option<String>,
    /// With `failed`: `internal_error`, `origin_timeout`, `origin_5xx`.
    pub reason: Option<ReasonName>,
    /// Forced queueing delay.
    pub queue_delay: Option<Millis>,
    /// Forced processing time.
    pub processing: Option<Millis>,
    /// Error rules: the action.
    pub action: Option<String>,
    /// Error rules: the error code.
    pub error: Option<String>,
    /// Error rules: `x-acs-retry-after`.
    pub retry_after: Option<Millis>,
    /// Chance per match, 0 to 1 (default 1).
    pub probability: Option<Probability>,
    /// Rows or calls before it is spent (default unlimited).
    pub times: Option<u64>,
    /// What `GET /_cdnsim/rules` adds to a rule: accepted and ignored, so that a listed rule
    /// can be posted again.
    #[serde(default, rename = "remaining")]
    _remaining: Option<serde::de::IgnoredAny>,
    /// As `remaining`.
    #[serde(default, rename = "added_at")]
    _added_at: Option<serde::de::IgnoredAny>,
}

/// A lifecycle rule's `match` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Domain (any case).
    pub domain: Option<String>,
    /// Path pattern.
    pub path: Option<String>,
    /// Object type.
    #[serde(rename = "type")]
    pub object_type: Option<TypeName>,
}

/// A rule that does not check: the key at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct RuleError {
    /// The key, e.g. `reason` or `match.path`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        key,
        message: message.into(),
    }
}

/// Longest rule name, in bytes.
pub const NAME_MAX: usize = 128;

/// Longest `match.path` pattern, in bytes (a stored path has at most 4,096).
pub const PATH_PATTERN_MAX: usize = 4_096;

/// Most rules in force at once (each API row is matched against every one).
pub const RULES_MAX: usize = 1_000;

impl RawRule {
    /// Checks the keys together: a rule is a lifecycle rule or (with `action`) an error rule,
    /// never both.
    pub fn check(self) -> Result<Rule, RuleError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(bad("name", format!("must be 1 to {NAME_MAX} bytes")));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(bad(
                "name",
                format!("{name:?} may hold only letters, digits and - _ . :"),
            ));
        }
        if self.times == Some(0) {
            return Err(bad(
                "times",
                "must be 1 or more (leave it out for unlimited)",
            ));
        }
        let kind = match (&self.action, &self.error) {
            (Some(_), _) | (None, Some(_)) => RuleKind::Error(self.check_error()?),
            (None, None) => RuleKind::Lifecycle(self.check_lifecycle()?),
        };
        Ok(Rule {
            name: name.to_owned(),
            kind,
            probability: self.probability.map_or(1.0, |p| p.0),
            times: self.times,
        })
    }

    fn check_error(&self) -> Result<ErrorRule, RuleError> {
        let lifecycle_keys = [
            ("match", self.matches.is_some()),
            ("outcome", self.outcome.is_some()),
            ("reason", self.reason.is_some()),
            ("queue_delay", self.queue_delay.is_some()),
            ("processing", self.processing.is_some()),
        ];
        if let Some((key, _)) = lifecycle_keys.iter().find(|(_, present)| *present) {
            return Err(bad(
                key,
                "a rule with action and error is an error rule; lifecycle keys are not allowed",
            ));
        }
        let action = self.action.as_deref().ok_or_else(|| {
            bad(
                "action",
                format!("required with error; one of {}", ACTIONS.join(", ")),
            )
        })?;
        let action = ACTIONS.into_iter().find(|a| *a == action).ok_or_else(|| {
            bad(
                "action",
                format!("unknown action {action:?}; one of {}", ACTIONS.join(", ")),
            )
        })?;
        let codes = || ERRORS.iter().map(|e| e.code).collect::<Vec<_>>().join(", ");
        let error = self
            .error
            .as_deref()
            .ok_or_else(|| bad("error", format!("required with action; one of {}", codes())))?;
        let error = ERRORS.iter().find(|e| e.code == error).ok_or_else(|| {
            bad(
                "error",
                format!("unknown error code {error:?}; one of {}", codes()),
            )
        })?;
        let retry_after_ms = match self.retry_after {
            Some(Millis(ms)) if ms < 1 => {
                return Err(bad("retry_after", "must be at least 1ms"));
            }
            Some(Millis(ms)) => Some(ms),
            None => error.throttling.then_some(DEFAULT_RETRY_AFTER_MS),
        };
        Ok(ErrorRule {
            action,
            error,
            retry_after_ms,
        })
    }

    fn check_lifecycle(&self) -> Result<Lifecycle, RuleError> {
        if self.retry_after.is_some() {
            return Err(bad("retry_after", "only allowed on an error rule"));
        }
        let outcome = match (self.outcome.as_deref(), self.reason) {
            (None, None) => None,
            (Some("complete"), None) => Some(Forced::Complete),
            (Some("failed"), Some(reason)) => Some(Forced::Failed(reason.0)),
            (Some("failed"), None) => {
                return Err(bad("reason", "required when outcome is \"failed\""));
            }
            (None | Some("complete"), Some(_)) => {
                return Err(bad("reason", "only allowed when outcome is \"failed\""));
            }
            (Some(other), _) => {
                return Err(bad(
                    "outcome",
                    format!("unknown outcome {other:?}; expected complete or failed"),
                ));
            }
        };
        if outcome.is_none() && self.queue_delay.is_none() && self.processing.is_none() {
            return Err(bad(
                "outcome",
                "a lifecycle rule forces at least one of outcome, queue_delay, processing \
                 (or give action and error for an error rule)",
            ));
        }
        let m = self.matches.clone().unwrap_or_default();
        let domain = match m.domain {
            Some(d) if d.trim().is_empty() => return Err(bad("match.domain", "is empty")),
            d => d.map(|d| d.trim().to_ascii_lowercase()),
        };
        let path = match m.path {
            Some(p) if p.trim().is_empty() => return Err(bad("match.path", "is empty")),
            Some(p) if p.starts_with('/') => {
                return Err(bad(
                    "match.path",
                    format!(
                        "{p:?} has no host; start with the scheme or the host \
                         (\"http://img.example.com/app/*\"), or with * (\"*/app/*\")"
                    ),
                ));
            }
            // Compared with the stored ObjectPath, which always has a scheme.
            Some(p) if !p.contains("://") && !p.starts_with('*') => Some(format!("http://{p}")),
            p => p,
        };
        // Checked as stored, so that what is logged always reads back.
        if let Some(p) = path.as_ref().filter(|p| p.len() > PATH_PATTERN_MAX) {
            return Err(bad(
                "match.path",
                format!(
                    "is {} bytes (as stored), more than {PATH_PATTERN_MAX}",
                    p.len()
                ),
            ));
        }
        Ok(Lifecycle {
            domain,
            path,
            object_type: m.object_type.map(|t| t.0),
            outcome,
            queue_delay_ms: self.queue_delay.map(|m| m.0),
            processing_ms: self.processing.map(|m| m.0),
        })
    }
}

/// A duration as rules and scenarios write it (`"2m"`, `"1h 30m"`, `"0s"`).
fn duration_text(ms: i64) -> String {
    Millis(ms).to_string()
}

impl Rule {
    /// Reads a rule from JSON: a request body, or a log's record of one. An error names the
    /// key at fault.
    pub fn from_json(text: &str) -> Result<Rule, String> {
        let mut json = serde_json::Deserializer::from_str(text);
        let raw: RawRule = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            }
        })?;
        raw.check().map_err(|e| e.to_string())
    }

    /// The rule as stored: every key it has, in a fixed order (what the log records and the
    /// rules endpoint shows).
    pub fn view(&self) -> RuleView<'_> {
        let mut v = RuleView {
            name: &self.name,
            matches: None,
            outcome: None,
            reason: None,
            queue_delay: None,
            processing: None,
            action: None,
            error: None,
            retry_after: None,
            probability: self.probability,
            times: self.times,
        };
        match &self.kind {
            RuleKind::Lifecycle(l) => {
                v.matches = Some(MatchView {
                    domain: l.domain.as_deref(),
                    path: l.path.as_deref(),
                    object_type: l.object_type.map(ObjectType::as_str),
                });
                (v.outcome, v.reason) = match l.outcome {
                    Some(Forced::Complete) => (Some("complete"), None),
                    Some(Forced::Failed(r)) => (Some("failed"), Some(reason_key(r))),
                    None => (None, None),
                };
                v.queue_delay = l.queue_delay_ms.map(duration_text);
                v.processing = l.processing_ms.map(duration_text);
            }
            RuleKind::Error(e) => {
                v.action = Some(e.action);
                v.error = Some(e.error.code);
                v.retry_after = e.retry_after_ms.map(duration_text);
            }
        }
        v
    }

    /// [`Rule::view`] as JSON text.
    pub fn to_json_string(&self) -> String {
        // A struct of strings and numbers always serialises.
        serde_json::to_string(&self.view()).unwrap_or_default()
    }

    /// The error rule's action, if it is one.
    pub fn action(&self) -> Option<&'static str> {
        match &self.kind {
            RuleKind::Error(e) => Some(e.action),
            RuleKind::Lifecycle(_) => None,
        }
    }
}

/// A rule in force, with its use so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The rule.
    pub rule: Rule,
    /// When it was added (ms).
    pub added_ms: TimeMs,
    /// Rows decided or calls answered.
    pub used: u64,
    /// Matches it has drawn for: the position of its next draw.
    pub draws: u64,
}

impl Entry {
    /// Uses left: `None` when unlimited.
    pub fn remaining(&self) -> Option<u64> {
        self.rule.times.map(|t| t.saturating_sub(self.used))
    }

    fn live(&self) -> bool {
        self.remaining() != Some(0)
    }

    /// The entry as `/_cdnsim/rules` lists it: the rule, `remaining` and `added_at`.
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            rule: self.rule.view(),
            remaining: self.remaining(),
            added_at: crate::time::format_ms(self.added_ms),
        }
    }
}

/// Why a change to a [`RuleBook`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// A rule of that name exists (spent rules included).
    #[error("a rule named {0:?} exists already")]
    NameTaken(String),
    /// No rule of that name.
    #[error("no rule named {0:?}")]
    Unknown(String),
    /// A use that does not fit the rule's kind.
    #[error("rule {0:?} cannot be used that way")]
    WrongUse(String),
    /// As many rules as may be in force (spent ones count until deleted).
    #[error("{RULES_MAX} rules are in force already; delete some first")]
    Full,
}

/// The rules in force, in the order added. See the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleBook {
    entries: Vec<Entry>,
}

impl RuleBook {
    /// Every rule, in the order added (spent ones included).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The rule named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.rule.name == name)
    }

    /// Every entry as plain data for a snapshot: the rule's canonical JSON, when it was
    /// added, its uses and its draws.
    pub fn to_parts(&self) -> Vec<(String, TimeMs, u64, u64)> {
        self.entries
            .iter()
            .map(|e| (e.rule.to_json_string(), e.added_ms, e.used, e.draws))
            .collect()
    }

    /// The book [`RuleBook::to_parts`] describes; an error names a rule that does not read.
    pub fn from_parts(parts: Vec<(String, TimeMs, u64, u64)>) -> Result<RuleBook, String> {
        let mut entries = Vec::with_capacity(parts.len());
        for (json, added_ms, used, draws) in parts {
            entries.push(Entry {
                rule: Rule::from_json(&json)?,
                added_ms,
                used,
                draws,
            });
        }
        Ok(RuleBook { entries })
    }

    /// Adds a rule at `at_ms`; names are unique.
    pub fn add(&mut self, rule: Rule, at_ms: TimeMs) -> Result<(), BookError> {
        if self.get(&rule.name).is_some() {
            return Err(BookError::NameTaken(rule.name));
        }
        if self.entries.len() >= RULES_MAX {
            return Err(BookError::Full);
        }
        self.entries.push(Entry {
            rule,
            added_ms: at_ms,
            used: 0,
            draws: 0,
        });
        Ok(())
    }

    /// Removes the rule named `name`.
    pub fn delete(&mut self, name: &str) -> Result<(), BookError> {
        let i = self
            .entries
            .iter()
            .position(|e| e.rule.name == name)
            .ok_or_else(|| BookError::Unknown(name.to_owned()))?;
        self.entries.remove(i);
        Ok(())
    }

    /// Folds a recorded use.
    pub fn note_use(&mut self, name: &str, by: RuleUse) -> Result<(), BookError> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.rule.name == name)
            .ok_or_else(|| BookError::Unknown(name.to_owned()))?;
        match (&entry.rule.kind, by) {
            (RuleKind::Lifecycle(_), RuleUse::Row(_)) => entry.used += 1,
            (RuleKind::Error(_), RuleUse::Call(k)) => {
                entry.draws = entry.draws.max(k.saturating_add(1));
                entry.used += 1;
            }
            (RuleKind::Error(_), RuleUse::Passed(k)) => {
                entry.draws = entry.draws.max(k.saturating_add(1));
            }
            _ => return Err(BookError::WrongUse(name.to_owned())),
        }
        Ok(())
    }

    /// True when a live error rule answers calls of `action`.
    pub fn has_error_rule(&self, action: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.live() && e.rule.action() == Some(action))
    }

    /// The first live lifecycle rule, in the order added, that matches `row` and wins its
    /// draw (`draw(name, k)`: the rule's k-th uniform draw in `[0, 1)`; only rules with a
    /// probability below 1 draw): its index and what it forces. Counts the use.
    pub fn decide_row(
        &mut self,
        row: &RowFacts<'_>,
        draw: &mut dyn FnMut(&str, u64) -> f64,
    ) -> Option<usize> {
        let i = self.entries.iter_mut().position(|e| {
            let RuleKind::Lifecycle(l) = &e.rule.kind else {
                return false;
            };
            e.live() && l.matches(row) && wins(e, draw)
        })?;
        self.entries[i].used += 1;
        Some(i)
    }

    /// A call of `action`: each live error rule for it draws in the order added (only rules
    /// with a probability below 1 draw) until one wins. Gives every rule that drew, with the
    /// call's index among its draws: `Passed` for those that let it through, then `Call` for
    /// the one that answers it, if one does. Counts the uses.
    pub fn decide_call(
        &mut self,
        action: &str,
        draw: &mut dyn FnMut(&str, u64) -> f64,
    ) -> Vec<(usize, RuleUse)> {
        let mut uses = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate() {
            if !e.live() || e.rule.action() != Some(action) {
                continue;
            }
            let k = e.draws;
            if wins(e, draw) {
                e.used += 1;
                uses.push((i, RuleUse::Call(k)));
                break;
            }
            uses.push((i, RuleUse::Passed(k)));
        }
        uses
    }
}

/// Draws for a match of `e` (when its probability is below 1), moving its draw position.
fn wins(e: &mut Entry, draw: &mut dyn FnMut(&str, u64) -> f64) -> bool {
    let k = e.draws;
    e.draws += 1;
    e.rule.probability >= 1.0 || draw(&e.rule.name, k) < e.rule.probability
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

/// Serialises as [`Rule::view`] (scenario fingerprints include a scenario's rules).
impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

/// A rule's JSON shape (see [`Rule::view`]).
#[derive(Debug, Serialize)]
pub struct RuleView<'a> {
    name: &'a str,
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    matches: Option<MatchView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<String>,
    probability: f64,
    times: Option<u64>,
}

#[derive(Debug, Serialize)]
struct MatchView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    object_type: Option<&'static str>,
}

/// A rule as the rules endpoint lists it (see [`Entry::view`]).
#[derive(Debug, Serialize)]
pub struct EntryView<'a> {
    #[serde(flatten)]
    rule: RuleView<'a>,
    remaining: Option<u64>,
    added_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FailReason;

    fn rule(json: &str) -> Result<Rule, String> {
        Rule::from_json(json)
    }

    #[test]
    fn globs_match_runs_of_anything() {
        let cases = [
            ("http://a.com/x", "http://a.com/x", true),
            ("http://a.com/x", "http://a.com/xy", false),
            ("http://a.com/app/*", "http://a.com/app/1.js", true),
            ("http://a.com/app/*", "http://a.com/app/", true),
            ("http://a.com/app/*", "http://a.com/ap", false),
            ("*.png", "http://a.com/b/c.png", true),
            ("*.png", "http://a.com/b/c.png.js", false),
            ("http://*/a*b*c", "http://x.com/a-b-b-c", true),
            ("http://*/a*b*c", "http://x.com/a-b-b-cd", false),
            ("a?c", "abc", false),
            ("*", "", true),
            ("**", "x", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn the_spec_examples_read_and_render_back() {
        let r = rule(
            r#"{"name":"origin-down","match":{"domain":"IMG.example.com","path":"http://img.example.com/app/*","type":"file"},"outcome":"failed","reason":"origin_timeout","queue_delay":"0s","processing":"2m","probability":1.0,"times":3}"#,
        )
        .unwrap();
        let RuleKind::Lifecycle(l) = &r.kind else {
            panic!("not a lifecycle rule")
        };
        assert_eq!(l.domain.as_deref(), Some("img.example.com"));
        assert_eq!(l.outcome, Some(Forced::Failed(FailReason::OriginTimeout)));
        assert_eq!(
            (l.queue_delay_ms, l.processing_ms),
            (Some(0), Some(120_000))
        );
        assert_eq!(r.times, Some(3));
        assert_eq!(
            r.to_json_string(),
            r#"{"name":"origin-down","match":{"domain":"img.example.com","path":"http://img.example.com/app/*","type":"file"},"outcome":"failed","reason":"origin_timeout","queue_delay":"0s","processing":"2m","probability":1.0,"times":3}"#
        );
        assert_eq!(Rule::from_json(&r.to_json_string()), Ok(r));

        let e = rule(r#"{"name":"throttle","action":"RefreshObjectCaches","error":"Throttling.User","times":2}"#).unwrap();
        assert_eq!(
            e.to_json_string(),
            r#"{"name":"throttle","action":"RefreshObjectCaches","error":"Throttling.User","retry_after":"1s","probability":1.0,"times":2}"#
        );
        assert_eq!(Rule::from_json(&e.to_json_string()), Ok(e));
    }

    #[test]
    fn bad_rules_name_the_key() {
        let cases = [
            (r#"{"name":"a","outcome":"failed"}"#, "reason:"),
            (
                r#"{"name":"a","outcome":"complete","reason":"origin_5xx"}"#,
                "reason:",
            ),
            (r#"{"name":"a","outcome":"later"}"#, "outcome:"),
            (r#"{"name":"a"}"#, "outcome:"),
            (r#"{"name":"","outcome":"complete"}"#, "name:"),
            (r#"{"name":"a b","outcome":"complete"}"#, "name:"),
            (r#"{"name":"a","outcome":"complete","times":0}"#, "times:"),
            (
                r#"{"name":"a","outcome":"complete","probability":1.5}"#,
                "probability",
            ),
            (
                r#"{"name":"a","outcome":"complete","processing":"soon"}"#,
                "duration",
            ),
            (
                r#"{"name":"a","outcome":"complete","match":{"kind":"x"}}"#,
                "unknown field `kind`",
            ),
            (
                r#"{"name":"a","outcome":"complete","match":{"type":"File"}}"#,
                "object type",
            ),
            (
                r#"{"name":"a","outcome":"complete","retry_after":"1s"}"#,
                "retry_after:",
            ),
            (
                r#"{"name":"a","action":"Nope","error":"InternalError"}"#,
                "action:",
            ),
            (
                r#"{"name":"a","action":"DescribeRefreshTasks","error":"Oops"}"#,
                "error:",
            ),
            (r#"{"name":"a","error":"InternalError"}"#, "action:"),
            (r#"{"name":"a","action":"DescribeRefreshTasks"}"#, "error:"),
            (
                r#"{"name":"a","action":"DescribeRefreshTasks","error":"InternalError","outcome":"complete"}"#,
                "outcome:",
            ),
            (
                r#"{"name":"a","outcome":"complete","extra":1}"#,
                "unknown field `extra`",
            ),
        ];
        for (json, want) in cases {
            let e = rule(json).expect_err(json);
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn limits_path_errors_and_listed_rules() {
        let long = format!(
            r#"{{"name":"a","outcome":"complete","match":{{"path":"{}"}}}}"#,
            "*".repeat(PATH_PATTERN_MAX + 1)
        );
        let e = rule(&long).expect_err("a long pattern");
        assert!(e.contains("match.path: is 4097 bytes"), "{e}");
        // The limit holds for the pattern as stored (a schemeless one gains http://), so a
        // rule that checks always reads back from the log.
        let schemeless = format!(
            r#"{{"name":"a","outcome":"complete","match":{{"path":"a.com/{}"}}}}"#,
            "x".repeat(PATH_PATTERN_MAX - 8)
        );
        let e = rule(&schemeless).expect_err("too long once stored");
        assert!(e.contains("as stored"), "{e}");
        let fits = format!(
            r#"{{"name":"a","outcome":"complete","match":{{"path":"a.com/{}"}}}}"#,
            "x".repeat(PATH_PATTERN_MAX - 13)
        );
        let r = rule(&fits).expect("fits");
        assert_eq!(rule(&r.to_json_string()), Ok(r));
        for (json, key) in [
            (
                r#"{"name":"a","processing":"soon"}"#,
                "processing: invalid duration",
            ),
            (
                r#"{"name":"a","outcome":"complete","times":-1}"#,
                "times: invalid value",
            ),
            (
                r#"{"name":"a","outcome":"complete","match":{"type":"x"}}"#,
                "match.type: unknown",
            ),
        ] {
            let e = rule(json).expect_err(json);
            assert!(e.starts_with(key), "{json}: {e}");
        }
        // A listed rule posts back: remaining and added_at are ignored.
        let listed = r#"{"name":"a","outcome":"complete","probability":1.0,"times":null,"remaining":null,"added_at":"2026-11-01T00:00:00.000Z"}"#;
        assert!(rule(listed).is_ok());
    }

    fn facts<'a>(domain: &'a str, path: &'a str, t: ObjectType) -> RowFacts<'a> {
        RowFacts {
            domain,
            object_path: path,
            object_type: t,
        }
    }

    #[test]
    fn the_first_live_matching_rule_decides_and_times_spend_it() {
        let mut book = RuleBook::default();
        let a = rule(r#"{"name":"a","match":{"type":"directory"},"outcome":"complete"}"#);
        let b = rule(r#"{"name":"b","match":{"domain":"X.com"},"outcome":"complete","times":2}"#);
        let c = rule(r#"{"name":"c","outcome":"complete"}"#);
        for r in [a, b, c] {
            book.add(r.unwrap(), 0).unwrap();
        }
        let mut never = |_: &str, _: u64| -> f64 { panic!("no rule here draws") };
        let row = facts("x.com", "http://x.com/1", ObjectType::File);
        let decided: Vec<_> = (0..4).map(|_| book.decide_row(&row, &mut never)).collect();
        assert_eq!(decided, [Some(1), Some(1), Some(2), Some(2)]);
        assert_eq!(book.get("b").unwrap().remaining(), Some(0));
        let dir = facts("x.com", "http://x.com/d/", ObjectType::Directory);
        assert_eq!(book.decide_row(&dir, &mut never), Some(0));
        assert_eq!(
            book.add(rule(r#"{"name":"b","outcome":"complete"}"#).unwrap(), 5),
            Err(BookError::NameTaken("b".into()))
        );
        book.delete("b").unwrap();
        assert_eq!(book.delete("b"), Err(BookError::Unknown("b".into())));
        for i in book.entries().len()..RULES_MAX {
            let r = rule(&format!(r#"{{"name":"n{i}","outcome":"complete"}}"#)).unwrap();
            book.add(r, 0).unwrap();
        }
        let one_more = rule(r#"{"name":"more","outcome":"complete"}"#).unwrap();
        assert_eq!(book.add(one_more, 0), Err(BookError::Full));
    }

    #[test]
    fn a_rule_that_loses_its_draw_lets_the_next_decide() {
        let mut book = RuleBook::default();
        let half = rule(r#"{"name":"half","outcome":"complete","probability":0.5}"#).unwrap();
        let all = rule(r#"{"name":"all","outcome":"complete"}"#).unwrap();
        book.add(half, 0).unwrap();
        book.add(all, 0).unwrap();
        let draws = [0.7, 0.2, 0.5];
        let mut seen = Vec::new();
        let mut draw = |name: &str, k: u64| {
            seen.push((name.to_owned(), k));
            draws[k as usize]
        };
        let row = facts("x.com", "http://x.com/1", ObjectType::File);
        let decided: Vec<_> = (0..3).map(|_| book.decide_row(&row, &mut draw)).collect();
        assert_eq!(decided, [Some(1), Some(0), Some(1)]);
        assert_eq!(
            seen,
            [("half".into(), 0), ("half".into(), 1), ("half".into(), 2)]
        );
    }

    #[test]
    fn error_rules_count_calls_and_fold_back() {
        let mut book = RuleBook::default();
        let r = rule(r#"{"name":"t","action":"DescribeRefreshTasks","error":"ServiceUnavailable","times":2,"probability":0.5}"#).unwrap();
        book.add(r.clone(), 0).unwrap();
        assert!(book.has_error_rule("DescribeRefreshTasks"));
        assert!(!book.has_error_rule("RefreshObjectCaches"));
        let draws = [0.9, 0.1, 0.9, 0.3, 0.0];
        let mut draw = |_: &str, k: u64| draws[k as usize];
        let calls: Vec<_> = (0..5)
            .map(|_| book.decide_call("DescribeRefreshTasks", &mut draw))
            .collect();
        use RuleUse::{Call, Passed};
        let want: [Vec<(usize, RuleUse)>; 5] = [
            vec![(0, Passed(0))],
            vec![(0, Call(1))],
            vec![(0, Passed(2))],
            vec![(0, Call(3))],
            vec![],
        ];
        assert_eq!(calls, want);
        assert!(!book.has_error_rule("DescribeRefreshTasks"));
        // The log's records of those uses give the same book.
        let mut folded = RuleBook::default();
        folded.add(r, 0).unwrap();
        folded.note_use("t", RuleUse::Call(1)).unwrap();
        folded.note_use("t", RuleUse::Call(3)).unwrap();
        assert_eq!(folded.get("t").unwrap().remaining(), Some(0));
        assert_eq!(folded.get("t").unwrap().draws, 4);
        assert_eq!(
            folded.note_use("t", RuleUse::Row(0)),
            Err(BookError::WrongUse("t".into()))
        );
    }
}
