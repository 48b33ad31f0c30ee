//! The event model: what the simulator emits and the log stores.
//!
//! A [`Record`] is one entry of the log: a dense sequence number, a virtual time in
//! milliseconds since the Unix epoch (UTC) and one [`Event`]. Four kinds of event describe the
//! whole life of a task row: [`Event::Created`] defines a row, [`Event::Progressed`] moves its
//! process, [`Event::Completed`] and [`Event::Failed`] end it. Three control records stand
//! beside them: [`Event::RuleAdded`], [`Event::RuleUsed`] and [`Event::RuleDeleted`] say which
//! rules (a test author's forced outcomes and injected errors) were in force and what they did.
//!
//! # Schema stability
//!
//! These types are encoded by [`crate::log::codec`]; the order of enum variants and of struct
//! fields *is* the wire format of format version [`crate::log::FORMAT_VERSION`]. Never reorder,
//! remove or retype them: append new variants at the end and bump the format version when a
//! field changes (the codec then upcasts old records). Golden-bytes tests pin every variant.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use serde::Serialize;

/// Row number: dense from 0, in the order rows are created.
pub type RowId = u64;

/// Milliseconds since 1970-01-01T00:00:00Z on the virtual clock.
pub type TimeMs = i64;

/// A TaskId names a batch of rows (same domain, same second). Stored as a number, shown as a
/// decimal string at every API edge; it may exceed 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A TaskId text that is not a plain decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task id {0:?} is not a decimal number")]
pub struct BadTaskId(pub String);

impl FromStr for TaskId {
    type Err = BadTaskId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadTaskId(s.to_owned()));
        }
        s.parse().map(TaskId).map_err(|_| BadTaskId(s.to_owned()))
    }
}

/// What a row refreshes or preloads, as `DescribeRefreshTasks` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[repr(u8)]
pub enum ObjectType {
    /// URL refresh (`file`).
    File,
    /// Directory refresh (`directory`).
    Directory,
    /// Regex refresh (`regex`).
    Regex,
    /// Refresh ignoring query parameters (`IgnoreParams`, with that casing).
    IgnoreParams,
    /// URL prefetch via PushObjectCache (`preload`).
    Preload,
}

impl ObjectType {
    /// Every object type, in wire order.
    pub const ALL: [ObjectType; 5] = [
        ObjectType::File,
        ObjectType::Directory,
        ObjectType::Regex,
        ObjectType::IgnoreParams,
        ObjectType::Preload,
    ];

    /// The name the query API shows (`file`, `directory`, `regex`, `IgnoreParams`, `preload`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::File => "file",
            ObjectType::Directory => "directory",
            ObjectType::Regex => "regex",
            ObjectType::IgnoreParams => "IgnoreParams",
            ObjectType::Preload => "preload",
        }
    }

    /// Whether this is a preload (PushObjectCache) row rather than a refresh row.
    pub fn is_preload(self) -> bool {
        self == ObjectType::Preload
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per object type, indexed by [`ObjectType`] (in [`ObjectType::ALL`] order).
///
/// Serialises as a plain array of five, so scenario fingerprints do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Encode, Decode)]
#[serde(transparent)]
pub struct PerType<T>(pub [T; 5]);

impl<T> PerType<T> {
    /// A table from a function of the type.
    pub fn from_fn(mut f: impl FnMut(ObjectType) -> T) -> PerType<T> {
        PerType(ObjectType::ALL.map(&mut f))
    }

    /// (type, value) pairs in [`ObjectType::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (ObjectType, &T)> {
        ObjectType::ALL.into_iter().zip(self.0.iter())
    }

    /// Every value, in [`ObjectType::ALL`] order.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }

    /// A table of `f` applied to every (type, value), stopping at the first error.
    pub fn try_from_fn<E>(mut f: impl FnMut(ObjectType) -> Result<T, E>) -> Result<PerType<T>, E> {
        let mut values = Vec::with_capacity(5);
        for t in ObjectType::ALL {
            values.push(f(t)?);
        }
        match values.try_into() {
            Ok(array) => Ok(PerType(array)),
            Err(_) => unreachable!("five object types give five values"),
        }
    }
}

impl<T> std::ops::Index<ObjectType> for PerType<T> {
    type Output = T;

    fn index(&self, t: ObjectType) -> &T {
        &self.0[t as usize]
    }
}

impl<T> std::ops::IndexMut<ObjectType> for PerType<T> {
    fn index_mut(&mut self, t: ObjectType) -> &mut T {
        &mut self.0[t as usize]
    }
}

/// What a rule was used for (a [`Event::RuleUsed`] record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum RuleUse {
    /// A lifecycle rule decided this API row (the record follows the row's `Created`).
    Row(RowId),
    /// An error rule answered a call: the call's index among those the rule drew for.
    Call(u64),
    /// An error rule with a probability below 1 drew for a call and let it through (recorded
    /// so that a restart resumes its draws where they were).
    Passed(u64),
}

/// Who submitted a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize)]
pub enum Source {
    /// Generated by the scenario's workloads or scripts.
    Scenario,
    /// Submitted through a write API (RefreshObjectCaches, PushObjectCache).
    Api,
}

impl Source {
    /// Lower-case name used by `dump`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Scenario => "scenario",
            Source::Api => "api",
        }
    }
}

/// Why a row failed; rendered verbatim as the row's `Description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[repr(u8)]
pub enum FailReason {
    /// `Internal Error`
    InternalError,
    /// `Origin timeout`
    OriginTimeout,
    /// `Origin Return StatusCode 5XX`
    OriginStatus5xx,
}

impl FailReason {
    /// Every reason, in wire order.
    pub const ALL: [FailReason; 3] = [
        FailReason::InternalError,
        FailReason::OriginTimeout,
        FailReason::OriginStatus5xx,
    ];

    /// The exact `Description` text of a failed row.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::InternalError => "Internal Error",
            FailReason::OriginTimeout => "Origin timeout",
            FailReason::OriginStatus5xx => "Origin Return StatusCode 5XX",
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress of a row in hundredths of a percent: `0..=10_000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode)]
pub struct Process(u16);

/// Decoding checks the range, so a log can never hold a process above 100%.
impl<Context> Decode<Context> for Process {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let bp = u16::decode(decoder)?;
        Process::from_basis_points(bp).ok_or_else(|| {
            bincode::error::DecodeError::OtherString(format!("process {bp} is above 10000"))
        })
    }
}
bincode::impl_borrow_decode!(Process);

impl Process {
    /// 0%.
    pub const ZERO: Process = Process(0);
    /// 100%.
    pub const FULL: Process = Process(10_000);

    /// A process from hundredths of a percent; `None` above 100%.
    pub fn from_basis_points(bp: u16) -> Option<Process> {
        (bp <= 10_000).then_some(Process(bp))
    }

    /// Hundredths of a percent.
    pub fn basis_points(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Process {
    /// `"42%"` when whole, else two decimals (`"99.37%"`), as the real API renders it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            write!(f, "{whole}.{frac:02}%")
        }
    }
}

/// One thing that happened to one task row.
///
/// `S` is the string type of the two text fields: `String` (the default) for events that own
/// their text, `&str` for [`EventRef`], which borrows from a reader's buffer and saves the
/// copies when a consumer only looks.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Event<S = String> {
    /// A row comes into existence as `Pending` / `0%`.
    Created {
        /// Row number (dense from 0).
        row: RowId,
        /// The batch the row belongs to.
        task_id: TaskId,
        /// Host of the path.
        domain: S,
        /// Full URL (with scheme), directory or regex.
        object_path: S,
        /// What kind of object the row is.
        object_type: ObjectType,
        /// Who submitted it.
        source: Source,
    },
    /// A row is `Refreshing` with a new process.
    Progressed {
        /// Row number.
        row: RowId,
        /// The new process.
        process: Process,
    },
    /// A row is `Complete` / `100%`.
    Completed {
        /// Row number.
        row: RowId,
    },
    /// A row is `Failed` with a reason; process keeps its last value.
    Failed {
        /// Row number.
        row: RowId,
        /// The reason shown as `Description`.
        reason: FailReason,
    },
    /// A rule comes into force.
    RuleAdded {
        /// The rule as stored: its canonical JSON (`scenario::rule::Rule::to_json`).
        rule: S,
        /// From the scenario (at its start) or from the rules endpoint.
        source: Source,
    },
    /// A rule decided an API row or answered a call.
    RuleUsed {
        /// The rule's name.
        name: S,
        /// What for.
        by: RuleUse,
    },
    /// A rule is removed.
    RuleDeleted {
        /// The rule's name.
        name: S,
    },
}

/// An event whose text borrows from a reader's buffer.
pub type EventRef<'a> = Event<&'a str>;

impl Event {
    /// A view of this event that borrows its text.
    pub fn as_ref(&self) -> EventRef<'_> {
        self.map_text(String::as_str)
    }
}

impl<S> Event<S> {
    /// The same event with its two text fields mapped by `f`.
    pub fn map_text<'a, T>(&'a self, f: impl Fn(&'a S) -> T) -> Event<T> {
        match self {
            Event::Created {
                row,
                task_id,
                domain,
                object_path,
                object_type,
                source,
            } => Event::Created {
                row: *row,
                task_id: *task_id,
                domain: f(domain),
                object_path: f(object_path),
                object_type: *object_type,
                source: *source,
            },
            Event::Progressed { row, process } => Event::Progressed {
                row: *row,
                process: *process,
            },
            Event::Completed { row } => Event::Completed { row: *row },
            Event::Failed { row, reason } => Event::Failed {
                row: *row,
                reason: *reason,
            },
            Event::RuleAdded { rule, source } => Event::RuleAdded {
                rule: f(rule),
                source: *source,
            },
            Event::RuleUsed { name, by } => Event::RuleUsed {
                name: f(name),
                by: *by,
            },
            Event::RuleDeleted { name } => Event::RuleDeleted { name: f(name) },
        }
    }

    /// The row the event is about: a task event's row, or the row a rule decided.
    pub fn row(&self) -> Option<RowId> {
        match self {
            Event::Created { row, .. }
            | Event::Progressed { row, .. }
            | Event::Completed { row }
            | Event::Failed { row, .. }
            | Event::RuleUsed {
                by: RuleUse::Row(row),
                ..
            } => Some(*row),
            Event::RuleUsed { .. } | Event::RuleAdded { .. } | Event::RuleDeleted { .. } => None,
        }
    }

    /// True for the four task events (not a rule's record).
    pub fn is_task_event(&self) -> bool {
        matches!(
            self,
            Event::Created { .. }
                | Event::Progressed { .. }
                | Event::Completed { .. }
                | Event::Failed { .. }
        )
    }

    /// The kind's name as `dump` prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Created { .. } => "Created",
            Event::Progressed { .. } => "Progressed",
            Event::Completed { .. } => "Completed",
            Event::Failed { .. } => "Failed",
            Event::RuleAdded { .. } => "RuleAdded",
            Event::RuleUsed { .. } => "RuleUsed",
            Event::RuleDeleted { .. } => "RuleDeleted",
        }
    }
}

impl<S: AsRef<str>> Event<S> {
    /// A copy that owns its text.
    pub fn to_owned_event(&self) -> Event {
        self.map_text(|s| s.as_ref().to_owned())
    }
}

/// One log entry: sequence number, virtual time and event.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Record<S = String> {
    /// Dense from 0 along the log.
    pub seq: u64,
    /// Virtual time, milliseconds since the Unix epoch (UTC); never decreases along the log.
    pub at_ms: TimeMs,
    /// What happened.
    pub event: Event<S>,
}

/// A record whose text borrows from a reader's buffer.
pub type RecordRef<'a> = Record<&'a str>;

impl<S: AsRef<str>> Record<S> {
    /// A copy that owns its text.
    pub fn to_owned_record(&self) -> Record {
        Record {
            seq: self.seq,
            at_ms: self.at_ms,
            event: self.event.to_owned_event(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_renders_like_the_real_api() {
        let cases = [
            (0, "0%"),
            (4200, "42%"),
            (9937, "99.37%"),
            (5, "0.05%"),
            (10_000, "100%"),
        ];
        for (bp, want) in cases {
            let p = Process::from_basis_points(bp).map(|p| p.to_string());
            assert_eq!(p.as_deref(), Some(want), "basis points {bp}");
        }
        assert_eq!(Process::from_basis_points(10_001), None);
    }

    #[test]
    fn task_ids_parse_only_as_decimal() {
        assert_eq!("14286878547".parse::<TaskId>(), Ok(TaskId(14_286_878_547)));
        for bad in ["", "-1", "+1", "12a", " 1", "99999999999999999999999"] {
            assert!(bad.parse::<TaskId>().is_err(), "{bad:?} parsed");
        }
    }
}
