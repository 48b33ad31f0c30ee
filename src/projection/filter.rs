//! What a query asks the projection: the checked forms of DescribeRefreshTasks and
//! DescribeRefreshTaskById. The API layer parses requests into these; the projection answers
//! them without knowing where they came from.

use crate::event::{ObjectType, TaskId, TimeMs};

/// The ObjectType filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFilter {
    /// Rows of this type.
    Is(ObjectType),
    /// `block` or `unblock`: valid, matches nothing (cdnsim has no URL blocking).
    Blocking,
}

/// The Status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// `Complete`.
    Complete,
    /// `Refreshing`: also matches `Pending` rows (both unfinished).
    Refreshing,
    /// `Failed`.
    Failed,
}

/// A checked DescribeRefreshTasks query, as of `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeQuery {
    /// The replay time.
    pub at_ms: TimeMs,
    /// Exact TaskId.
    pub task_id: Option<TaskId>,
    /// Exact ObjectPath.
    pub object_path: Option<String>,
    /// Exact domain (lower case).
    pub domain: Option<String>,
    /// Object type.
    pub object_type: Option<TypeFilter>,
    /// Status as of `at_ms`.
    pub status: Option<StatusFilter>,
    /// Window on CreationTime (whole seconds, as ms), inclusive at both ends.
    pub window_ms: (TimeMs, TimeMs),
    /// 1-based page.
    pub page_number: u32,
    /// Rows per page.
    pub page_size: u32,
}

/// A checked DescribeRefreshTaskById query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByIdQuery {
    /// The replay time.
    pub at_ms: TimeMs,
    /// The TaskIds, in request order, duplicates removed.
    pub task_ids: Vec<TaskId>,
    /// The default window (ms), inclusive.
    pub window_ms: (TimeMs, TimeMs),
}
