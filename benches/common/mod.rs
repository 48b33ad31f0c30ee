//! What the log benches write: a realistic mix in which every row is created, progresses
//! three times and completes (5 events).

use cdnsim::event::{Event, ObjectType, Process, Source, TaskId, TimeMs};

/// The five events of `row`, the first at `t0 + row × 20 ms` (in time order).
pub fn row_events(row: u64, t0: TimeMs) -> Vec<(TimeMs, Event)> {
    let at = t0 + row as i64 * 20;
    let domain = format!("cdn{}.example.com", row % 7);
    let mut out = Vec::with_capacity(5);
    out.push((
        at,
        Event::Created {
            row,
            task_id: TaskId(700_000_000 + row / 40),
            object_path: format!("http://{domain}/assets/img/{}.png", row * 7919 % 100_000),
            domain,
            object_type: ObjectType::File,
            source: Source::Scenario,
        },
    ));
    for bp in [0, 3_300, 6_600] {
        let process = Process::from_basis_points(bp).unwrap_or(Process::ZERO);
        out.push((
            at + 1 + i64::from(bp / 1000),
            Event::Progressed { row, process },
        ));
    }
    out.push((at + 19, Event::Completed { row }));
    out
}
