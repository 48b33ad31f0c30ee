//! A row's whole story as of a time: every transition with its time, status, process and
//! reason — what the web timeline shows when a task is opened.

use super::{Change, NONE, Projection};
use crate::event::{FailReason, ObjectType, Process, RowId, Source, TaskId, TimeMs};
use crate::projection::Status;

/// One state a row entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When.
    pub at_ms: TimeMs,
    /// The status from then on.
    pub status: Status,
    /// The process from then on.
    pub process: Process,
    /// Why it failed, when it did.
    pub reason: Option<FailReason>,
}

/// A row and its transitions, oldest first (the first is its creation, `Pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowHistory {
    /// Row number.
    pub row: RowId,
    /// TaskId.
    pub task_id: TaskId,
    /// ObjectPath.
    pub object_path: String,
    /// Type.
    pub object_type: ObjectType,
    /// Who submitted it.
    pub source: Source,
    /// The states it went through up to the time asked for.
    pub steps: Vec<Step>,
}

impl Projection {
    /// The rows of `task_id` (only those with `object_path`, when given) created by `at_ms`,
    /// in row order, each with its transitions up to `at_ms`. Rows of any age: the API's
    /// three-day window does not apply.
    pub fn history(
        &self,
        task_id: TaskId,
        object_path: Option<&str>,
        at_ms: TimeMs,
    ) -> Vec<RowHistory> {
        let mut rows: Vec<u32> = self
            .task_rows(task_id.0)
            .filter(|&i| {
                let info = &self.rows[i as usize];
                info.created_ms <= at_ms && object_path.is_none_or(|p| self.path_is(info, p))
            })
            .collect();
        rows.sort_unstable();
        rows.into_iter()
            .map(|i| self.row_history(i, at_ms))
            .collect()
    }

    fn row_history(&self, index: u32, at_ms: TimeMs) -> RowHistory {
        let info = &self.rows[index as usize];
        let mut steps = Vec::new();
        let mut at = info.last;
        while at != NONE {
            let tr = self.transitions[at as usize];
            if tr.at_ms <= at_ms {
                let process = Process::from_basis_points(tr.process).unwrap_or(Process::ZERO);
                steps.push(match tr.change {
                    Change::Progressed => Step {
                        at_ms: tr.at_ms,
                        status: Status::Refreshing,
                        process,
                        reason: None,
                    },
                    Change::Completed => Step {
                        at_ms: tr.at_ms,
                        status: Status::Complete,
                        process: Process::FULL,
                        reason: None,
                    },
                    Change::Failed(reason) => Step {
                        at_ms: tr.at_ms,
                        status: Status::Failed,
                        process,
                        reason: Some(reason),
                    },
                });
            }
            at = tr.prev;
        }
        steps.push(Step {
            at_ms: info.created_ms,
            status: Status::Pending,
            process: Process::ZERO,
            reason: None,
        });
        steps.reverse();
        RowHistory {
            row: RowId::from(index),
            task_id: TaskId(info.task_id),
            object_path: self.path(info),
            object_type: info.object_type,
            source: self.source(index),
            steps,
        }
    }

    /// Who submitted row `index`.
    fn source(&self, index: u32) -> Source {
        let (word, bit) = (index as usize / 64, index % 64);
        match self.api_rows.get(word) {
            Some(w) if w & (1 << bit) != 0 => Source::Api,
            _ => Source::Scenario,
        }
    }
}
