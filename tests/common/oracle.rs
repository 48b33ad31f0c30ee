//! The deliberately naive reference for DescribeRefreshTasks: fold every event up to T,
//! filter linearly, sort, page. Shared by `tests/query.rs` and `benches/query.rs`.

use std::collections::BTreeMap;

use cdnsim::api::{DescribeQuery, StatusFilter, TypeFilter};
use cdnsim::event::{Event, Process, TimeMs};
use cdnsim::projection::{Page, RowView, Status};

/// The naive reference: every row folded to `at_ms`, in row order.
pub fn fold(events: &[(TimeMs, Event)], at_ms: TimeMs) -> Vec<(u64, TimeMs, String, RowView)> {
    let mut rows: BTreeMap<u64, (TimeMs, String, RowView)> = BTreeMap::new();
    for (at, event) in events.iter().take_while(|(at, _)| *at <= at_ms) {
        match event {
            Event::Created {
                row,
                task_id,
                domain,
                object_path,
                object_type,
                ..
            } => {
                let view = RowView {
                    task_id: *task_id,
                    object_path: object_path.clone(),
                    status: Status::Pending,
                    process: Process::ZERO,
                    object_type: *object_type,
                    creation_ms: at - at.rem_euclid(1000),
                    reason: None,
                };
                rows.insert(*row, (*at, domain.clone(), view));
            }
            Event::Progressed { row, process } => {
                let v = &mut rows.get_mut(row).expect("created").2;
                v.status = Status::Refreshing;
                v.process = *process;
            }
            Event::Completed { row } => {
                let v = &mut rows.get_mut(row).expect("created").2;
                v.status = Status::Complete;
                v.process = Process::FULL;
            }
            Event::Failed { row, reason } => {
                let v = &mut rows.get_mut(row).expect("created").2;
                v.status = Status::Failed;
                v.reason = Some(*reason);
            }
            // Rules change no row by themselves.
            Event::RuleAdded { .. } | Event::RuleUsed { .. } | Event::RuleDeleted { .. } => {}
        }
    }
    rows.into_iter()
        .map(|(row, (at, domain, view))| (row, at, domain, view))
        .collect()
}

pub fn naive_describe(events: &[(TimeMs, Event)], q: &DescribeQuery) -> Page {
    let mut hits: Vec<(u64, RowView)> = fold(events, q.at_ms)
        .into_iter()
        .filter(|(_, _, domain, v)| {
            (q.window_ms.0..=q.window_ms.1).contains(&v.creation_ms)
                && q.task_id.is_none_or(|id| id == v.task_id)
                && q.object_path.as_ref().is_none_or(|p| *p == v.object_path)
                && q.domain.as_ref().is_none_or(|d| d == domain)
                && match q.object_type {
                    None => true,
                    Some(TypeFilter::Blocking) => false,
                    Some(TypeFilter::Is(t)) => t == v.object_type,
                }
                && match q.status {
                    None => true,
                    Some(StatusFilter::Complete) => v.status == Status::Complete,
                    Some(StatusFilter::Failed) => v.status == Status::Failed,
                    Some(StatusFilter::Refreshing) => {
                        matches!(v.status, Status::Refreshing | Status::Pending)
                    }
                }
        })
        .map(|(row, _, _, v)| (row, v))
        .collect();
    hits.sort_by(|a, b| {
        (b.1.creation_ms, b.1.task_id, b.0).cmp(&(a.1.creation_ms, a.1.task_id, a.0))
    });
    let offset = (q.page_number as usize - 1) * q.page_size as usize;
    let rows = hits
        .iter()
        .skip(offset)
        .take(q.page_size as usize)
        .map(|(_, v)| v.clone())
        .collect();
    Page {
        total: hits.len() as u64,
        rows,
    }
}
