//! Status counts over time, for the web timeline's chart: for each bucket of a time range, the
//! rows created by its end counted by their status then, and the rows that failed inside it
//! by reason — from the projection, without re-folding the log.

use super::{Change, NONE, Projection, Transition};
use crate::event::{FailReason, ObjectType, TimeMs};
use crate::projection::Status;

/// Most buckets a stats query may ask for.
pub const BUCKETS_MAX: u32 = 10_000;

/// What a stats query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// Start of the range (ms).
    pub from_ms: TimeMs,
    /// End of the range (ms), not before `from_ms`.
    pub to_ms: TimeMs,
    /// Buckets, `1..=BUCKETS_MAX`.
    pub buckets: u32,
    /// Only rows of this domain.
    pub domain: Option<String>,
    /// Only rows of this type.
    pub object_type: Option<ObjectType>,
}

/// One bucket: counts as of its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    /// The bucket's end (ms, inclusive).
    pub end_ms: TimeMs,
    /// Rows created by the end, by their status then (Pending, Refreshing, Complete, Failed).
    pub by_status: [u64; 4],
    /// Rows that failed inside the bucket, by reason (in [`FailReason::ALL`] order).
    pub failed_in_bucket: [u64; 3],
}

/// A stats answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Width of a bucket (ms); the last one may end early, at `to_ms`.
    pub bucket_ms: TimeMs,
    /// The buckets, in time order.
    pub buckets: Vec<Bucket>,
}

fn slot(status: Status) -> usize {
    match status {
        Status::Pending => 0,
        Status::Refreshing => 1,
        Status::Complete => 2,
        Status::Failed => 3,
    }
}

fn status_of(change: Change) -> Status {
    match change {
        Change::Progressed => Status::Refreshing,
        Change::Completed => Status::Complete,
        Change::Failed(_) => Status::Failed,
    }
}

/// The buckets' geometry: bucket `i` covers `(end(i-1), end(i)]`, the first from `from_ms`.
struct Grid {
    from_ms: TimeMs,
    to_ms: TimeMs,
    bucket_ms: TimeMs,
    n: usize,
}

impl Grid {
    fn new(q: &StatsQuery) -> Grid {
        let n = q.buckets.clamp(1, BUCKETS_MAX) as usize;
        let span = (q.to_ms - q.from_ms).max(0);
        let bucket_ms = ((span + n as TimeMs - 1) / n as TimeMs).max(1);
        Grid {
            from_ms: q.from_ms,
            to_ms: q.to_ms.max(q.from_ms),
            bucket_ms,
            n,
        }
    }

    fn end(&self, i: usize) -> TimeMs {
        if i + 1 == self.n {
            self.to_ms
        } else {
            (self.from_ms + (i as TimeMs + 1) * self.bucket_ms).min(self.to_ms)
        }
    }

    /// The first bucket whose end is at or after `at_ms` (`at_ms <= to_ms`).
    fn of(&self, at_ms: TimeMs) -> usize {
        if at_ms <= self.from_ms {
            return 0;
        }
        let i = ((at_ms - self.from_ms + self.bucket_ms - 1) / self.bucket_ms - 1) as usize;
        let mut i = i.min(self.n - 1);
        while i + 1 < self.n && self.end(i) < at_ms {
            i += 1; // ends clamped to `to_ms` cannot be passed, but be exact
        }
        i
    }
}

/// Changes of the counts, per bucket, summed into counts at the end.
struct Tally {
    grid: Grid,
    delta: Vec<[i64; 4]>,
    failed: Vec<[u64; 3]>,
}

/// The bucket of times met in increasing order, found by stepping forward (no division).
struct Cursor {
    bucket: usize,
}

impl Cursor {
    fn at(&mut self, grid: &Grid, at_ms: TimeMs) -> usize {
        while self.bucket + 1 < grid.n && grid.end(self.bucket) < at_ms {
            self.bucket += 1;
        }
        self.bucket
    }
}

impl Tally {
    fn created(&mut self, b: usize) {
        self.delta[b][0] += 1;
    }

    fn changed(&mut self, b: usize, at_ms: TimeMs, before: Status, after: Change) {
        self.left(b, before);
        self.entered(b, at_ms, after);
    }

    /// A row took the status of `change` at `at_ms`, in bucket `b`.
    fn entered(&mut self, b: usize, at_ms: TimeMs, change: Change) {
        self.delta[b][slot(status_of(change))] += 1;
        if let Change::Failed(reason) = change
            && at_ms >= self.grid.from_ms
        {
            self.failed[b][reason_slot(reason)] += 1;
        }
    }

    /// A row left `status` in bucket `b`.
    fn left(&mut self, b: usize, status: Status) {
        self.delta[b][slot(status)] -= 1;
    }

    fn finish(self) -> Stats {
        let mut running = [0i64; 4];
        let buckets = (0..self.grid.n)
            .map(|i| {
                for (r, d) in running.iter_mut().zip(self.delta[i]) {
                    *r += d;
                }
                Bucket {
                    end_ms: self.grid.end(i),
                    by_status: running.map(|c| c.max(0) as u64),
                    failed_in_bucket: self.failed[i],
                }
            })
            .collect();
        Stats {
            bucket_ms: self.grid.bucket_ms,
            buckets,
        }
    }
}

fn reason_slot(reason: FailReason) -> usize {
    FailReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

impl Projection {
    /// Status counts per bucket of `q`'s range. Without a filter, one pass over the rows'
    /// creation times and one over the transitions, both in log order: O(rows + transitions +
    /// buckets), no division per event. With a domain or a type, that group's rows, walking
    /// their transitions a level at a time (a transition does not know its row, and keeping
    /// that would cost 4 bytes per transition). An unknown domain counts nothing.
    pub fn stats(&self, q: &StatsQuery) -> Stats {
        let grid = Grid::new(q);
        let n = grid.n;
        let mut tally = Tally {
            grid,
            delta: vec![[0; 4]; n],
            failed: vec![[0; 3]; n],
        };
        let domain = match &q.domain {
            None => None,
            Some(d) => match self.domain_ids.get(&d.to_ascii_lowercase()) {
                None => return tally.finish(), // a domain with no rows
                Some(&id) => Some(id),
            },
        };
        let group = match (domain, q.object_type) {
            (Some(d), Some(t)) => &self.by_domain_type[usize::from(d)][t],
            (Some(d), None) => &self.by_domain[usize::from(d)],
            (None, Some(t)) => &self.by_type[t],
            (None, None) => &self.all,
        };
        if domain.is_none() && q.object_type.is_none() {
            self.stats_in_log_order(&mut tally);
        } else {
            self.stats_of_rows(&group.rows, &mut tally);
        }
        tally.finish()
    }

    fn stats_in_log_order(&self, tally: &mut Tally) {
        let to_ms = tally.grid.to_ms;
        let mut cursor = Cursor { bucket: 0 };
        let created = self.rows.partition_point(|r| r.created_ms <= to_ms);
        for r in &self.rows[..created] {
            let b = cursor.at(&tally.grid, r.created_ms);
            tally.created(b);
        }
        let mut cursor = Cursor { bucket: 0 };
        let changed = self.transitions.partition_point(|t| t.at_ms <= to_ms);
        for t in &self.transitions[..changed] {
            let b = cursor.at(&tally.grid, t.at_ms);
            tally.changed(b, t.at_ms, self.before(t), t.change);
        }
    }

    /// The group's rows are scattered: walk their transition lists a level at a time (every
    /// row's newest, then every row's previous, ...) so that the cache misses of different
    /// rows overlap. A transition adds its status at its bucket and takes it away at the
    /// bucket of the newer transition that replaced it (creation's Pending likewise).
    fn stats_of_rows(&self, rows: &[u32], tally: &mut Tally) {
        let to_ms = tally.grid.to_ms;
        let mut frontier: Vec<(u32, Option<TimeMs>)> = Vec::new();
        for &i in rows {
            let info = &self.rows[i as usize];
            if info.created_ms > to_ms {
                continue;
            }
            let b = tally.grid.of(info.created_ms);
            tally.created(b);
            if info.last != NONE {
                frontier.push((info.last, None));
            }
        }
        let mut next: Vec<(u32, Option<TimeMs>)> = Vec::new();
        while !frontier.is_empty() {
            next.clear();
            for &(at, newer_ms) in &frontier {
                let t = self.transitions[at as usize];
                if t.at_ms <= to_ms {
                    let b = tally.grid.of(t.at_ms);
                    tally.entered(b, t.at_ms, t.change);
                    if let Some(n) = newer_ms.filter(|&n| n <= to_ms) {
                        let nb = tally.grid.of(n);
                        tally.left(nb, status_of(t.change));
                    }
                    if t.prev == NONE {
                        tally.left(b, Status::Pending);
                    }
                }
                if t.prev != NONE {
                    next.push((t.prev, Some(t.at_ms)));
                }
            }
            std::mem::swap(&mut frontier, &mut next);
        }
    }

    /// The status a transition's row had before it.
    fn before(&self, t: &Transition) -> Status {
        if t.prev == NONE {
            Status::Pending
        } else {
            status_of(self.transitions[t.prev as usize].change)
        }
    }
}
