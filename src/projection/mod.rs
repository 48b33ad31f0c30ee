//! The temporal projection: task rows and their state history, answering queries as of any
//! replay time without re-folding the log.
//!
//! Each row keeps its creation data (path bytes in one arena, without the `http://DOMAIN` or
//! `https://DOMAIN` most paths begin with: that part is the row's interned *site*) and a linked
//! list of its state transitions in one shared vector, newest first; the state as of T is the
//! newest transition at or before T (rows have a handful). Rows are indexed in query order —
//! CreationTime (whole seconds) ascending, then TaskId, then row — overall, per domain, per
//! type and per (domain, type), so that a CreationTime window is a contiguous range found by
//! binary search; TaskIds and paths map to their rows.
//!
//! Events are applied in log order ([`Projection::apply`]); the projection can keep growing
//! while it answers (live mode).

mod filter;
mod history;
mod image;
mod query;
mod stats;

use bincode::{Decode, Encode};
use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

#[cfg(test)]
use crate::event::Event;
use crate::event::{
    EventRef, FailReason, ObjectType, PerType, Process, RecordRef, RowId, TaskId, TimeMs,
};
pub use filter::{ByIdQuery, DescribeQuery, StatusFilter, TypeFilter};
pub use history::{RowHistory, Step};
pub use query::{Page, RowView, Status};
pub use stats::{BUCKETS_MAX, Bucket, Stats, StatsQuery};

const _: () = assert!(std::mem::size_of::<RowInfo>() == 32);

/// No transition.
const NONE: u32 = u32::MAX;

/// A state change of a row.
#[derive(Debug, Clone, Copy, Encode, Decode)]
struct Transition {
    at_ms: TimeMs,
    /// The row's previous transition, or [`NONE`].
    prev: u32,
    /// Process in hundredths of a percent (kept on failure).
    process: u16,
    /// What changed.
    change: Change,
}

const _: () = assert!(std::mem::size_of::<Transition>() == 16);

/// What a transition did to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
enum Change {
    /// A `Progressed` event: the row is Refreshing.
    Progressed,
    /// A `Completed` event.
    Completed,
    /// A `Failed` event, with its reason.
    Failed(FailReason),
}

impl Change {
    fn is_end(self) -> bool {
        self != Change::Progressed
    }
}

/// How a row's path begins: `Http` and `Https` rows store only what follows `scheme://DOMAIN`
/// (DOMAIN being the row's domain, byte for byte); `Other` rows store the whole path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
enum Scheme {
    Other,
    Http,
    Https,
}

impl Scheme {
    fn prefix(self) -> &'static str {
        match self {
            Scheme::Other => "",
            Scheme::Http => "http://",
            Scheme::Https => "https://",
        }
    }

    /// The scheme `path` begins with followed by `domain`, and the rest of the path.
    fn split<'a>(path: &'a str, domain: &str) -> (Scheme, &'a str) {
        for scheme in [Scheme::Http, Scheme::Https] {
            let rest = path.strip_prefix(scheme.prefix());
            if let Some(rest) = rest.and_then(|r| r.strip_prefix(domain)) {
                return (scheme, rest);
            }
        }
        (Scheme::Other, path)
    }
}

/// A domain and how its rows' paths begin (see [`Scheme`]): 22–26 bytes a row need not store.
#[derive(Debug, Clone, Copy, Encode, Decode)]
struct Site {
    domain: u16,
    scheme: Scheme,
}

/// What the projection keeps of a row (32 bytes).
#[derive(Debug, Clone, Copy, Encode, Decode)]
struct RowInfo {
    created_ms: TimeMs,
    task_id: u64,
    /// The stored part of the path (see [`Scheme`]) in `Projection::paths`.
    path_start: u32,
    /// Newest transition, or [`NONE`].
    last: u32,
    path_len: u16,
    /// Index in `Projection::sites`: the domain, and the path's scheme.
    site: u16,
    /// Whole seconds from creation to the end of the lifecycle, when `end` is
    /// [`End::Complete`] or [`End::Failed`].
    end_after_s: u16,
    object_type: ObjectType,
    /// How the row ended, as far as the events applied so far say.
    end: End,
}

/// How a row ended: lets a Status filter decide most rows from [`RowInfo`] alone, without
/// following the row's transitions (a cache miss each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[repr(u8)]
enum End {
    /// Not finished by the last event applied: Pending or Refreshing at any time.
    Open = 0,
    /// Completed `end_after_s` (rounded down) after creation.
    Complete = 1,
    /// Failed `end_after_s` (rounded down) after creation.
    Failed = 2,
    /// Ask the transitions (a lifecycle over 18 hours, or events after the end).
    Unknown = 3,
}

impl RowInfo {
    fn created_second_ms(&self) -> TimeMs {
        self.created_ms.div_euclid(1000) * 1000
    }

    /// Whether the row had finished as of `at_ms` and how, when [`RowInfo`] alone can tell:
    /// `Some(None)` unfinished, `Some(Some(end))` finished, `None` ask the transitions.
    fn end_as_of(&self, at_ms: TimeMs) -> Option<Option<End>> {
        let end = match self.end {
            End::Open => return Some(None),
            End::Unknown => return None,
            end @ (End::Complete | End::Failed) => end,
        };
        // The end is within [earliest, earliest + 999] ms.
        let earliest = self.created_ms + TimeMs::from(self.end_after_s) * 1000;
        if earliest + 999 <= at_ms {
            Some(Some(end))
        } else if earliest > at_ms {
            Some(None)
        } else {
            None
        }
    }
}

/// Why an event cannot be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// A `Created` event with a row number other than the next one.
    #[error("seq {seq}: row {row} created where row {expected} was expected")]
    RowOutOfOrder {
        /// The record.
        seq: u64,
        /// Its row.
        row: RowId,
        /// The next row number.
        expected: RowId,
    },
    /// An event about a row never created.
    #[error("seq {seq}: event for row {row}, which was never created")]
    UnknownRow {
        /// The record.
        seq: u64,
        /// Its row.
        row: RowId,
    },
    /// A record that does not fit the log before it (a rule's record naming no rule, say).
    #[error("seq {seq}: {detail}")]
    BadRecord {
        /// The record.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
    /// More than the projection can address (2^32 rows or transitions, 65,535 sites — a
    /// domain takes one per way its paths begin: `http://`, `https://` or other — 4 GiB of
    /// paths).
    #[error("seq {seq}: the projection is full ({what})")]
    Full {
        /// The record.
        seq: u64,
        /// What ran out.
        what: &'static str,
    },
}

/// Spreads a `u64` key (a TaskId or a path's SipHash) over the table: one multiply by an odd
/// constant, so that sequential TaskIds do not collide.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u32(&mut self, key: u32) {
        self.write_u64(u64::from(key));
    }
}

/// Key → newest row. A hash map is fine here: it is only ever looked up, never iterated, so
/// its order cannot reach a response.
#[allow(clippy::disallowed_types)]
type KeyMap = std::collections::HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

/// A path's hash ([`path_hash`]) → newest row, like [`KeyMap`] with half-size entries (8
/// bytes, not 16: 1–3 bytes a row less resident on load-1m). 32 bits suffice: paths whose
/// hashes collide share a chain, and every lookup compares the path itself.
#[allow(clippy::disallowed_types)]
type PathMap = std::collections::HashMap<u32, u32, BuildHasherDefault<KeyHasher>>;

/// Rows indexed in query order, for one group (all rows, a domain, a type, ...), with a
/// rank structure counting Complete rows over its frozen prefix.
///
/// A row is *frozen* once its CreationTime second is before every row still in flight and
/// before the second of the last event: it is finished, and no row will be inserted before
/// it. Frozen rows form a prefix of every group, and their final status never changes, so
/// [`Rank::count`] (Complete rows among the first `i`) answers Status counts over them in O(1).
///
/// `fences[k]` is the CreationTime second of `rows[k * FENCE]`: a binary search over the
/// fences (compact, mostly cached) then a scan of one block of `FENCE` rows finds a time in a
/// group; the block's rows are loaded independently, so their cache misses overlap instead of
/// following one another as the levels of a binary search would.
#[derive(Debug, Clone, Default, Encode, Decode)]
struct Group {
    rows: Vec<u32>,
    /// Complete rows among the frozen prefix.
    complete: Rank,
    fences: Vec<TimeMs>,
    /// Every `FENCE`-th fence: a small top level, so that a search touches one line of
    /// `fences` instead of walking down a large array.
    coarse: Vec<TimeMs>,
}

/// Rows per fence.
const FENCE: usize = 16;

/// A bit per row (Complete or not) with counts per 64-row word: `count(i)` in two loads, at
/// about 1.5 bits per row.
#[derive(Debug, Clone, Default, Encode, Decode)]
struct Rank {
    len: usize,
    total: u32,
    words: Vec<u64>,
    /// Set bits in all words before each word.
    before: Vec<u32>,
}

impl Rank {
    fn push(&mut self, bit: bool) {
        let (w, b) = (self.len / 64, self.len % 64);
        if w == self.words.len() {
            self.words.push(0);
            self.before.push(self.total);
        }
        self.words[w] |= u64::from(bit) << b;
        self.total += u32::from(bit);
        self.len += 1;
    }

    /// Set bits among the first `i` (`i <= len`).
    fn count(&self, i: usize) -> usize {
        let (w, b) = (i / 64, i % 64);
        match self.words.get(w) {
            Some(word) => (self.before[w] + (word & ((1u64 << b) - 1)).count_ones()) as usize,
            None => self.total as usize,
        }
    }

    fn shrink_to_fit(&mut self) {
        self.words.shrink_to_fit();
        self.before.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8 + self.before.capacity() * 4
    }
}

impl Group {
    fn frozen_len(&self) -> usize {
        self.complete.len
    }

    /// Inserts `index` in query order. Rows arrive in time order, so it lands in the last
    /// second's run at the end; every row after it shares that second, so fences only grow.
    fn insert(&mut self, rows: &[RowInfo], index: u32) {
        let k = key(rows, index);
        let mut at = self.rows.len();
        while at > 0 && key(rows, self.rows[at - 1]) > k {
            at -= 1;
        }
        self.rows.insert(at, index);
        let last = self.rows.len() - 1;
        if last.is_multiple_of(FENCE) {
            let second = rows[self.rows[last] as usize].created_second_ms();
            if self.fences.len().is_multiple_of(FENCE) {
                self.coarse.push(second);
            }
            self.fences.push(second);
        }
    }

    /// The number of leading rows whose CreationTime second satisfies `pred` (which must
    /// hold for a prefix of the group).
    fn count_while(&self, rows: &[RowInfo], pred: impl Fn(TimeMs) -> bool) -> usize {
        let top = self.coarse.partition_point(|&s| pred(s));
        let first = top.saturating_sub(1) * FENCE;
        let last = (top * FENCE).min(self.fences.len());
        let block = first
            + self.fences[first..last.max(first)]
                .iter()
                .filter(|&&s| pred(s))
                .count();
        let start = block.saturating_sub(1) * FENCE;
        let end = (block * FENCE).min(self.rows.len());
        // Counting (not searching) keeps the loads independent.
        start
            + self.rows[start..end.max(start)]
                .iter()
                .filter(|&&i| pred(rows[i as usize].created_second_ms()))
                .count()
    }
}

/// The temporal projection. See the module docs.
#[derive(Debug, Default)]
pub struct Projection {
    rows: Vec<RowInfo>,
    transitions: Vec<Transition>,
    paths: String,
    domains: Vec<String>,
    domain_ids: BTreeMap<String, u16>,
    sites: Vec<Site>,
    /// Per domain, its site of each [`Scheme`] (indexed by `Scheme as usize`), or `u16::MAX`.
    domain_sites: Vec<[u16; 3]>,
    /// TaskId → its newest row; older rows of the task follow `next_in_task`.
    by_task: KeyMap,
    next_in_task: Vec<u32>,
    /// Hash of the path → rows (checked against the path itself).
    by_path: PathMap,
    next_same_path: Vec<u32>,
    all: Group,
    by_type: PerType<Group>,
    by_domain: Vec<Group>,
    by_domain_type: Vec<PerType<Group>>,
    last_ms: Option<TimeMs>,
    events: u64,
    /// The oldest row that may still be unfinished (rows are created in time order, so
    /// every row before it is finished).
    unfinished_from: u32,
    /// The longest time from creation to Complete/Failed of finished rows, per type (a
    /// preload takes longer than a refresh: per type, fewer rows count as recent).
    max_span_ms: PerType<TimeMs>,
    /// Rows `0..frozen_rows` are frozen (see [`Group`]).
    frozen_rows: u32,
    /// A bit per row: submitted through the API (else by the scenario).
    api_rows: Vec<u64>,
}

fn path_hash(path: &str) -> u32 {
    // SipHash with fixed keys: the same on every run; only used for lookups, never iterated
    // into a response. The low 32 bits (see `PathMap`).
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish() as u32
}

impl Projection {
    /// An empty projection.
    pub fn new() -> Projection {
        Projection::default()
    }

    /// Gives back spare capacity (after a bulk build; appends later grow it again).
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.transitions.shrink_to_fit();
        self.paths.shrink_to_fit();
        self.next_in_task.shrink_to_fit();
        self.next_same_path.shrink_to_fit();
        self.by_task.shrink_to_fit();
        self.by_path.shrink_to_fit();
        let groups = std::iter::once(&mut self.all)
            .chain(self.by_type.values_mut())
            .chain(self.by_domain.iter_mut())
            .chain(self.by_domain_type.iter_mut().flat_map(PerType::values_mut));
        for g in groups {
            g.rows.shrink_to_fit();
            g.complete.shrink_to_fit();
            g.fences.shrink_to_fit();
            g.coarse.shrink_to_fit();
        }
    }

    /// Rows created so far.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Events applied so far.
    pub fn event_count(&self) -> u64 {
        self.events
    }

    /// Time of the last event applied.
    pub fn last_ms(&self) -> Option<TimeMs> {
        self.last_ms
    }

    /// Every domain with a row, in the order of their first rows.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Creation time of the first row.
    pub fn first_ms(&self) -> Option<TimeMs> {
        self.rows.first().map(|r| r.created_ms)
    }

    /// Applies the next record of the log.
    pub fn apply(&mut self, record: &RecordRef<'_>) -> Result<(), ProjectionError> {
        let seq = record.seq;
        match record.event {
            EventRef::Created {
                row,
                task_id,
                domain,
                object_path,
                object_type,
                source,
            } => {
                self.create(
                    seq,
                    row,
                    task_id,
                    domain,
                    object_path,
                    object_type,
                    record.at_ms,
                )?;
                // Row `row` is the next one (create checked): its bit is the next.
                let (word, bit) = (row as usize / 64, row % 64);
                if word == self.api_rows.len() {
                    self.api_rows.push(0);
                }
                if source == crate::event::Source::Api
                    && let Some(w) = self.api_rows.get_mut(word)
                {
                    *w |= 1 << bit;
                }
            }
            EventRef::Progressed { row, process } => {
                let process = process.basis_points();
                self.transition(seq, row, record.at_ms, process, Change::Progressed)?;
            }
            EventRef::Completed { row } => {
                let process = Process::FULL.basis_points();
                self.transition(seq, row, record.at_ms, process, Change::Completed)?;
            }
            EventRef::Failed { row, reason } => {
                let process = self.row(seq, row)?.last;
                let process = match process {
                    NONE => 0,
                    t => self.transitions[t as usize].process,
                };
                self.transition(seq, row, record.at_ms, process, Change::Failed(reason))?;
            }
            // A rule's records change no row; the read model keeps them.
            EventRef::RuleAdded { .. }
            | EventRef::RuleUsed { .. }
            | EventRef::RuleDeleted { .. } => {}
        }
        self.events += 1;
        self.last_ms = Some(record.at_ms);
        self.freeze();
        Ok(())
    }

    /// Extends the frozen prefix of every group past rows that can no longer change.
    fn freeze(&mut self) {
        let Some(last_ms) = self.last_ms else { return };
        let mut frontier_ms = last_ms.div_euclid(1000) * 1000;
        let finished =
            |r: &RowInfo| r.last != NONE && self.transitions[r.last as usize].change.is_end();
        let from = self.unfinished_from as usize;
        self.unfinished_from += self.rows[from..].iter().take_while(|r| finished(r)).count() as u32;
        if let Some(oldest) = self.rows.get(self.unfinished_from as usize) {
            frontier_ms = frontier_ms.min(oldest.created_second_ms());
        }
        let first = self.frozen_rows as usize;
        let newly = self.rows[first..]
            .iter()
            .take_while(|r| r.created_second_ms() < frontier_ms)
            .count();
        if newly == 0 {
            return;
        }
        for i in first..first + newly {
            let info = self.rows[i];
            let (d, t) = (self.domain_of(&info), info.object_type);
            for group in [
                &mut self.all,
                &mut self.by_type[t],
                &mut self.by_domain[d],
                &mut self.by_domain_type[d][t],
            ] {
                extend_frozen(group, &self.rows, &self.transitions, frontier_ms);
            }
        }
        self.frozen_rows += newly as u32;
    }

    fn row(&self, seq: u64, row: RowId) -> Result<&RowInfo, ProjectionError> {
        usize::try_from(row)
            .ok()
            .and_then(|r| self.rows.get(r))
            .ok_or(ProjectionError::UnknownRow { seq, row })
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        seq: u64,
        row: RowId,
        task_id: TaskId,
        domain: &str,
        object_path: &str,
        object_type: ObjectType,
        at_ms: TimeMs,
    ) -> Result<(), ProjectionError> {
        let expected = self.rows.len() as u64;
        if row != expected {
            return Err(ProjectionError::RowOutOfOrder { seq, row, expected });
        }
        let index = u32::try_from(row)
            .ok()
            .filter(|&i| i != NONE)
            .ok_or(ProjectionError::Full { seq, what: "rows" })?;
        let domain_id = match self.domain_ids.get(domain) {
            Some(&id) => id,
            None => {
                let id = u16::try_from(self.domains.len()).map_err(|_| ProjectionError::Full {
                    seq,
                    what: "domains",
                })?;
                self.domains.push(domain.to_owned());
                self.domain_ids.insert(domain.to_owned(), id);
                self.domain_sites.push([u16::MAX; 3]);
                self.by_domain.push(Group::default());
                self.by_domain_type.push(Default::default());
                id
            }
        };
        let (scheme, stored) = Scheme::split(object_path, domain);
        let site = self.site(seq, domain_id, scheme)?;
        let path_start = u32::try_from(self.paths.len()).map_err(|_| ProjectionError::Full {
            seq,
            what: "path bytes",
        })?;
        let path_len = u16::try_from(stored.len()).map_err(|_| ProjectionError::Full {
            seq,
            what: "path length (65,535 bytes)",
        })?;
        self.paths.push_str(stored);
        let info = RowInfo {
            created_ms: at_ms,
            task_id: task_id.0,
            path_start,
            path_len,
            last: NONE,
            site,
            end_after_s: 0,
            object_type,
            end: End::Open,
        };
        self.rows.push(info);
        let task_head = self.by_task.insert(task_id.0, index);
        self.next_in_task.push(task_head.unwrap_or(NONE));
        let path_head = self.by_path.insert(path_hash(object_path), index);
        self.next_same_path.push(path_head.unwrap_or(NONE));
        let t = object_type;
        let d = usize::from(domain_id);
        let rows = &self.rows;
        self.all.insert(rows, index);
        self.by_type[t].insert(rows, index);
        self.by_domain[d].insert(rows, index);
        self.by_domain_type[d][t].insert(rows, index);
        Ok(())
    }

    fn transition(
        &mut self,
        seq: u64,
        row: RowId,
        at_ms: TimeMs,
        process: u16,
        change: Change,
    ) -> Result<(), ProjectionError> {
        let prev = self.row(seq, row)?.last;
        let index = u32::try_from(self.transitions.len())
            .ok()
            .filter(|&i| i != NONE)
            .ok_or(ProjectionError::Full {
                seq,
                what: "transitions",
            })?;
        self.transitions.push(Transition {
            at_ms,
            prev,
            process,
            change,
        });
        let info = &mut self.rows[row as usize];
        info.last = index;
        let was_finished = prev != NONE && self.transitions[prev as usize].change.is_end();
        if change.is_end() && !was_finished {
            let span_ms = at_ms - info.created_ms;
            let t = info.object_type;
            self.max_span_ms[t] = self.max_span_ms[t].max(span_ms);
            match u16::try_from(span_ms.div_euclid(1000)) {
                Ok(s) if span_ms >= 0 => {
                    info.end_after_s = s;
                    info.end = if change == Change::Completed {
                        End::Complete
                    } else {
                        End::Failed
                    };
                }
                _ => info.end = End::Unknown,
            }
        } else if info.end != End::Open {
            info.end = End::Unknown;
        }
        Ok(())
    }

    /// Rows of a chain (`by_task` or `by_path` head, then `next`), newest first.
    fn chain<'a>(&'a self, head: Option<&u32>, next: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        let mut at = head.copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            (at != NONE).then(|| {
                let row = at;
                at = next[row as usize];
                row
            })
        })
    }

    /// The rows of a TaskId.
    fn task_rows(&self, task_id: u64) -> impl Iterator<Item = u32> + '_ {
        self.chain(self.by_task.get(&task_id), &self.next_in_task)
    }

    /// The rows whose path hashes like `path` (callers compare the path itself).
    fn path_rows(&self, path: &str) -> impl Iterator<Item = u32> + '_ {
        self.chain(self.by_path.get(&path_hash(path)), &self.next_same_path)
    }

    /// The site of `domain` (an index in `domains`) and `scheme`, added when new.
    fn site(&mut self, seq: u64, domain: u16, scheme: Scheme) -> Result<u16, ProjectionError> {
        let slot = &mut self.domain_sites[usize::from(domain)][scheme as usize];
        if *slot == u16::MAX {
            *slot = u16::try_from(self.sites.len())
                .ok()
                .filter(|&id| id != u16::MAX)
                .ok_or(ProjectionError::Full { seq, what: "sites" })?;
            self.sites.push(Site { domain, scheme });
        }
        Ok(*slot)
    }

    /// The domain of a row (an index in `domains`).
    fn domain_of(&self, info: &RowInfo) -> usize {
        usize::from(self.sites[usize::from(info.site)].domain)
    }

    /// The path of a row in three pieces (scheme, domain, the stored rest), which make the
    /// path when joined.
    fn path_parts(&self, info: &RowInfo) -> [&str; 3] {
        let start = info.path_start as usize;
        let stored = &self.paths[start..start + info.path_len as usize];
        let site = self.sites[usize::from(info.site)];
        match site.scheme {
            Scheme::Other => ["", "", stored],
            scheme => [
                scheme.prefix(),
                &self.domains[usize::from(site.domain)],
                stored,
            ],
        }
    }

    /// The path of a row.
    fn path(&self, info: &RowInfo) -> String {
        self.path_parts(info).concat()
    }

    /// Whether the path of a row is `path`.
    fn path_is(&self, info: &RowInfo, path: &str) -> bool {
        let [scheme, domain, stored] = self.path_parts(info);
        path.strip_prefix(scheme)
            .and_then(|p| p.strip_prefix(domain))
            .is_some_and(|p| p == stored)
    }

    /// Approximate heap bytes held (for the memory-per-row figure).
    pub fn heap_bytes(&self) -> usize {
        let size = |g: &Group| {
            g.rows.capacity() * 4
                + g.complete.heap_bytes()
                + (g.fences.capacity() + g.coarse.capacity()) * 8
        };
        let groups: usize = self.by_domain.iter().map(size).sum::<usize>()
            + self
                .by_domain_type
                .iter()
                .flat_map(|g| g.0.iter())
                .map(size)
                .sum::<usize>()
            + self.by_type.0.iter().map(size).sum::<usize>()
            + size(&self.all);
        // A hash table's buckets (capacity / 7 * 8) of an entry and a control byte each.
        let buckets = |capacity: usize| capacity / 7 * 8;
        let maps = buckets(self.by_task.capacity()) * 17
            + buckets(self.by_path.capacity()) * 9
            + (self.next_in_task.capacity() + self.next_same_path.capacity()) * 4;
        self.rows.capacity() * std::mem::size_of::<RowInfo>()
            + self.transitions.capacity() * std::mem::size_of::<Transition>()
            + self.api_rows.capacity() * 8
            + self.paths.capacity()
            + self.sites.capacity() * std::mem::size_of::<Site>()
            + self.domain_sites.capacity() * std::mem::size_of::<[u16; 3]>()
            + groups
            + maps
    }
}

/// The order of rows in every group: CreationTime second, then TaskId, then row, ascending.
fn key(rows: &[RowInfo], index: u32) -> (TimeMs, u64, u32) {
    let r = &rows[index as usize];
    (r.created_second_ms(), r.task_id, index)
}

/// Extends `group`'s frozen prefix over its rows created before `frontier_ms`.
fn extend_frozen(
    group: &mut Group,
    rows: &[RowInfo],
    transitions: &[Transition],
    frontier_ms: TimeMs,
) {
    while let Some(&i) = group.rows.get(group.frozen_len()) {
        let info = &rows[i as usize];
        if info.created_second_ms() >= frontier_ms {
            break;
        }
        let complete =
            info.last != NONE && transitions[info.last as usize].change == Change::Completed;
        group.complete.push(complete);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_end_decides_only_outside_its_second() {
        let row = |end: End, end_after_s: u16| RowInfo {
            created_ms: 10_500,
            task_id: 1,
            path_start: 0,
            last: NONE,
            path_len: 0,
            site: 0,
            end_after_s,
            object_type: ObjectType::File,
            end,
        };
        // Ended somewhere in [12_500, 13_499].
        let done = row(End::Complete, 2);
        assert_eq!(done.end_as_of(12_499), Some(None));
        assert_eq!(done.end_as_of(12_500), None);
        assert_eq!(done.end_as_of(13_498), None);
        assert_eq!(done.end_as_of(13_499), Some(Some(End::Complete)));
        assert_eq!(
            row(End::Failed, 0).end_as_of(11_499),
            Some(Some(End::Failed))
        );
        assert_eq!(row(End::Open, 0).end_as_of(i64::MAX), Some(None));
        assert_eq!(row(End::Unknown, 0).end_as_of(i64::MAX), None);
    }

    #[test]
    fn events_after_the_end_make_the_row_ask_its_transitions() {
        let mut p = Projection::new();
        let created = Event::Created {
            row: 0,
            task_id: TaskId(1),
            domain: "a.com".into(),
            object_path: "http://a.com/x".into(),
            object_type: ObjectType::File,
            source: crate::event::Source::Scenario,
        };
        let progressed = Event::Progressed {
            row: 0,
            process: Process::from_basis_points(5_000).expect("valid"),
        };
        for (seq, (at_ms, event)) in [
            (1_000, created),
            (5_000, Event::Completed { row: 0 }),
            (9_000, progressed),
        ]
        .into_iter()
        .enumerate()
        {
            p.apply(&RecordRef {
                seq: seq as u64,
                at_ms,
                event: event.as_ref(),
            })
            .expect("applies");
        }
        assert_eq!(p.rows[0].end, End::Unknown);
        assert_eq!(p.state(&p.rows[0], 6_000).0, Status::Complete);
        assert_eq!(p.state(&p.rows[0], 9_000).0, Status::Refreshing);
    }

    proptest::proptest! {
        /// Whatever a path looks like beside its domain — `http://` or `https://` and the
        /// domain (a prefix of a longer host too), another case, another scheme or host, the
        /// domain alone — a row gives back its path byte for byte and is found by it, and by
        /// nothing shorter or longer. (`drive::snapshot` tests the image of such rows.)
        #[test]
        fn a_rows_path_comes_back_whole(
            rows in proptest::collection::vec(
                (0usize..3, 0usize..5, "[a-z./]{0,6}"),
                1..12,
            ),
        ) {
            let domains = ["a.com", "b.a.com", "A.com"];
            let heads = ["http://", "https://", "ftp://", "http://x.", ""];
            let mut p = Projection::new();
            let mut paths = Vec::new();
            for (row, (d, h, tail)) in rows.iter().enumerate() {
                let domain = domains[*d];
                let path = format!("{}{domain}{tail}", heads[*h]);
                let created = Event::Created {
                    row: row as u64,
                    task_id: TaskId(row as u64 + 1),
                    domain: domain.into(),
                    object_path: path.clone(),
                    object_type: ObjectType::File,
                    source: crate::event::Source::Scenario,
                };
                let record = RecordRef { seq: row as u64, at_ms: 1_000, event: created.as_ref() };
                p.apply(&record).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                paths.push(path);
            }
            let q = &p;
            for (row, path) in paths.iter().enumerate() {
                let info = &q.rows[row];
                proptest::prop_assert_eq!(&q.path(info), path);
                proptest::prop_assert!(q.path_is(info, path));
                let found: Vec<u32> =
                    q.path_rows(path).filter(|&i| q.path_is(&q.rows[i as usize], path)).collect();
                let want: Vec<u32> = (0..paths.len() as u32).rev()
                    .filter(|&i| paths[i as usize] == *path).collect();
                proptest::prop_assert_eq!(found, want);
                let longer = format!("{path}/");
                proptest::prop_assert!(!q.path_is(info, &longer));
                proptest::prop_assert!(path.is_empty() || !q.path_is(info, &path[1..]));
            }
        }
    }
}
