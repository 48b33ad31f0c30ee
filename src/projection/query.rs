//! Answering DescribeRefreshTasks and DescribeRefreshTaskById as of a time.

use super::filter::{ByIdQuery, DescribeQuery, StatusFilter, TypeFilter};
use super::{Change, End, Group, NONE, Projection, RowInfo, Transition, key};
use crate::event::{FailReason, ObjectType, Process, TaskId, TimeMs};

/// A row's status as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created, not started.
    Pending,
    /// Started, not finished.
    Refreshing,
    /// Finished well.
    Complete,
    /// Finished badly.
    Failed,
}

impl Status {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Refreshing => "Refreshing",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
        }
    }
}

/// One row as of a time: the seven fields of a `CDNTask`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowView {
    /// TaskId.
    pub task_id: TaskId,
    /// ObjectPath.
    pub object_path: String,
    /// Status.
    pub status: Status,
    /// Process.
    pub process: Process,
    /// ObjectType.
    pub object_type: ObjectType,
    /// CreationTime, whole seconds (ms since the epoch).
    pub creation_ms: TimeMs,
    /// Failure reason (Description), when Failed.
    pub reason: Option<FailReason>,
}

/// A page of rows and the number of rows matching in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows matching the filters.
    pub total: u64,
    /// The rows of the requested page, in query order.
    pub rows: Vec<RowView>,
}

impl Projection {
    /// State of a row as of `at_ms` (which must be at or after its creation).
    pub(super) fn state(
        &self,
        info: &RowInfo,
        at_ms: TimeMs,
    ) -> (Status, Process, Option<FailReason>) {
        let newest = (info.last != NONE).then(|| self.transitions[info.last as usize]);
        self.state_from(newest, at_ms)
    }

    /// State as of `at_ms` of the row whose newest transition is `newest`.
    fn state_from(
        &self,
        mut newest: Option<Transition>,
        at_ms: TimeMs,
    ) -> (Status, Process, Option<FailReason>) {
        while let Some(tr) = newest {
            if tr.at_ms <= at_ms {
                let process = Process::from_basis_points(tr.process).unwrap_or(Process::ZERO);
                return match tr.change {
                    Change::Progressed => (Status::Refreshing, process, None),
                    Change::Completed => (Status::Complete, Process::FULL, None),
                    Change::Failed(reason) => (Status::Failed, process, Some(reason)),
                };
            }
            newest = (tr.prev != NONE).then(|| self.transitions[tr.prev as usize]);
        }
        (Status::Pending, Process::ZERO, None)
    }

    /// The rows `indices` as of `at_ms`, in that order.
    ///
    /// Built in passes — every row's info, then every row's newest transition, then the
    /// paths — so that the cache misses of different rows overlap instead of queueing up
    /// behind each other (a page's rows are scattered over the projection).
    fn views(&self, indices: &[u32], at_ms: TimeMs) -> Vec<RowView> {
        let infos: Vec<RowInfo> = indices.iter().map(|&i| self.rows[i as usize]).collect();
        let newest: Vec<Option<Transition>> = infos
            .iter()
            .map(|info| (info.last != NONE).then(|| self.transitions[info.last as usize]))
            .collect();
        infos
            .iter()
            .zip(newest)
            .map(|(info, newest)| {
                let (status, process, reason) = self.state_from(newest, at_ms);
                RowView {
                    task_id: TaskId(info.task_id),
                    object_path: self.path(info),
                    status,
                    process,
                    object_type: info.object_type,
                    creation_ms: info.created_second_ms(),
                    reason,
                }
            })
            .collect()
    }

    fn matches_status(&self, info: &RowInfo, at_ms: TimeMs, filter: StatusFilter) -> bool {
        let status = match info.end_as_of(at_ms) {
            Some(None) => Status::Refreshing, // or Pending: the filter does not tell them apart
            Some(Some(End::Complete)) => Status::Complete,
            Some(Some(_)) => Status::Failed,
            None => self.state(info, at_ms).0,
        };
        match filter {
            StatusFilter::Complete => status == Status::Complete,
            StatusFilter::Failed => status == Status::Failed,
            StatusFilter::Refreshing => matches!(status, Status::Refreshing | Status::Pending),
        }
    }

    /// True when row `index` passes every filter of `q` (window included).
    fn matches(&self, index: u32, q: &DescribeQuery) -> bool {
        let info = &self.rows[index as usize];
        let second = info.created_second_ms();
        info.created_ms <= q.at_ms
            && (q.window_ms.0..=q.window_ms.1).contains(&second)
            && q.task_id.is_none_or(|id| id.0 == info.task_id)
            && q.object_path
                .as_deref()
                .is_none_or(|p| self.path_is(info, p))
            && q.domain
                .as_deref()
                .is_none_or(|d| self.domains[self.domain_of(info)] == d)
            && match q.object_type {
                None => true,
                Some(TypeFilter::Blocking) => false,
                Some(TypeFilter::Is(t)) => t == info.object_type,
            }
            && q.status
                .is_none_or(|s| self.matches_status(info, q.at_ms, s))
    }

    /// The group whose rows are the candidates for `q`, or `None` when nothing can match.
    fn group(&self, q: &DescribeQuery) -> Option<&Group> {
        let t = match q.object_type {
            Some(TypeFilter::Blocking) => return None,
            Some(TypeFilter::Is(t)) => Some(t),
            None => None,
        };
        let d = match &q.domain {
            Some(name) => Some(usize::from(*self.domain_ids.get(name)?)),
            None => None,
        };
        Some(match (d, t) {
            (Some(d), Some(t)) => &self.by_domain_type[d][t],
            (Some(d), None) => &self.by_domain[d],
            (None, Some(t)) => &self.by_type[t],
            (None, None) => &self.all,
        })
    }

    /// DescribeRefreshTasks as of `q.at_ms`.
    pub fn describe(&self, q: &DescribeQuery) -> Page {
        let offset = (q.page_number as usize - 1).saturating_mul(q.page_size as usize);
        let size = q.page_size as usize;
        // A TaskId or a path names few rows: filter them directly.
        let named: Option<Vec<u32>> = match (q.task_id, &q.object_path) {
            (Some(id), _) => Some(self.task_rows(id.0).collect()),
            (None, Some(path)) => Some(self.path_rows(path).collect()),
            (None, None) => None,
        };
        if let Some(named) = named {
            let mut hits: Vec<u32> = named.into_iter().filter(|&i| self.matches(i, q)).collect();
            hits.sort_unstable_by_key(|&i| std::cmp::Reverse(key(&self.rows, i)));
            let page: Vec<u32> = hits.iter().skip(offset).take(size).copied().collect();
            let rows = self.views(&page, q.at_ms);
            return Page {
                total: hits.len() as u64,
                rows,
            };
        }
        let Some(group) = self.group(q) else {
            return Page {
                total: 0,
                rows: Vec::new(),
            };
        };
        // The window on CreationTime is a contiguous range of the group.
        let lo = group.count_while(&self.rows, |s| s < q.window_ms.0);
        let hi = group
            .count_while(&self.rows, |s| s <= q.window_ms.1)
            .max(lo);
        match q.status {
            Some(status) => self.describe_status(group, lo, hi, status, q, offset, size),
            None => self.describe_all(group, lo, hi, q, offset, size),
        }
    }

    /// Every row of `range` (a window of a group) created by `q.at_ms`, paged.
    fn describe_all(
        &self,
        group: &super::Group,
        lo: usize,
        hi: usize,
        q: &DescribeQuery,
        offset: usize,
        size: usize,
    ) -> Page {
        let range = &group.rows[lo..hi];
        // Rows created after the replay time can only sit in its own second, at the top.
        let at_second = q.at_ms.div_euclid(1000) * 1000;
        let top_start = group
            .count_while(&self.rows, |s| s < at_second)
            .clamp(lo, hi)
            - lo;
        let top: Vec<u32> = range[top_start..]
            .iter()
            .rev()
            .copied()
            .filter(|&i| self.rows[i as usize].created_ms <= q.at_ms)
            .collect();
        let rest = &range[..top_start];
        let total = (top.len() + rest.len()) as u64;
        let from_top = top.iter().skip(offset).take(size).copied();
        let rest_offset = offset.saturating_sub(top.len());
        let rest_take = size - top.len().saturating_sub(offset).min(size);
        let from_rest = rest.iter().rev().skip(rest_offset).take(rest_take).copied();
        let page: Vec<u32> = from_top.chain(from_rest).collect();
        let rows = self.views(&page, q.at_ms);
        Page { total, rows }
    }

    /// Rows of `group.rows[lo..hi]` with a status as of `q.at_ms`, paged.
    ///
    /// Rows that are frozen and were created more than their type's longest lifecycle before
    /// the replay time had finished by then: their status is their final one, counted from the
    /// group's running count of Complete rows. Only the newer rows are checked one by one.
    #[allow(clippy::too_many_arguments)]
    fn describe_status(
        &self,
        group: &super::Group,
        lo: usize,
        hi: usize,
        status: StatusFilter,
        q: &DescribeQuery,
        offset: usize,
        size: usize,
    ) -> Page {
        // Status comes with an ObjectType, so the group holds one type; without one, any type.
        let max_span_ms = match q.object_type {
            Some(TypeFilter::Is(t)) => self.max_span_ms[t],
            _ => self.max_span_ms.0.iter().copied().max().unwrap_or(0),
        };
        let settled_before = q.at_ms.saturating_sub(max_span_ms);
        let settled = group
            .count_while(&self.rows, |s| s + 1000 <= settled_before)
            .min(group.frozen_len());
        let split = settled.clamp(lo, hi);
        let mut total = 0usize;
        let mut page = Vec::new();
        // The group and the range already apply every filter but the replay time and Status.
        for &i in group.rows[split..hi].iter().rev() {
            let info = &self.rows[i as usize];
            if info.created_ms <= q.at_ms && self.matches_status(info, q.at_ms, status) {
                if total >= offset && page.len() < size {
                    page.push(i);
                }
                total += 1;
            }
        }
        // Settled rows: count(x) = matching rows among the group's first x.
        let complete = |x: usize| group.complete.count(x);
        let count = |x: usize| match status {
            StatusFilter::Complete => complete(x),
            StatusFilter::Failed => x - complete(x),
            StatusFilter::Refreshing => 0,
        };
        let settled_total = count(split) - count(lo);
        // The k-th match from the top of the settled part (k = 0 is the newest).
        let mut k = offset.saturating_sub(total);
        while page.len() < size && k < settled_total {
            // The smallest x with count(x) > want: the row sought is at x - 1.
            // Invariant: count(left) <= want < count(right).
            let want = count(split) - k - 1;
            let (mut left, mut right) = (lo, split);
            while right - left > 1 {
                let mid = left + (right - left) / 2;
                if count(mid) > want {
                    right = mid;
                } else {
                    left = mid;
                }
            }
            page.push(group.rows[right - 1]);
            k += 1;
        }
        Page {
            total: (total + settled_total) as u64,
            rows: self.views(&page, q.at_ms),
        }
    }

    /// DescribeRefreshTaskById as of `q.at_ms`: every row of the ids inside the window.
    pub fn by_id(&self, q: &ByIdQuery) -> Page {
        let mut hits: Vec<u32> = q
            .task_ids
            .iter()
            .flat_map(|id| self.task_rows(id.0))
            .filter(|&i| {
                let info = &self.rows[i as usize];
                info.created_ms <= q.at_ms
                    && (q.window_ms.0..=q.window_ms.1).contains(&info.created_second_ms())
            })
            .collect();
        hits.sort_unstable_by_key(|&i| std::cmp::Reverse(key(&self.rows, i)));
        let rows = self.views(&hits, q.at_ms);
        Page {
            total: hits.len() as u64,
            rows,
        }
    }
}
