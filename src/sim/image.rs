//! The simulator's state as a snapshot keeps it: the queue, the random streams' positions,
//! the TaskId batches, the lifecycles in flight and the rules — everything
//! [`Simulator::new`] does not derive from the scenario.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::plans::Plans;
use super::{Action, Batcher, Pending, RowPlan, Simulator, Stats};
use crate::event::{RowId, TaskId, TimeMs};
use crate::scenario::Scenario;
use crate::scenario::rule::RuleBook;

/// A [`Simulator`]'s state, for [`Simulator::image`] and [`Simulator::from_image`].
#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
pub struct SimImage {
    queue: Vec<(TimeMs, u64, Action)>,
    order: u64,
    now_ms: TimeMs,
    next_row: RowId,
    batch_second: i64,
    batches: BTreeMap<(u32, bool), (TaskId, u32)>,
    next_task_id: u64,
    /// Per workload: the arrival stream's position and the next arrival (fractional ms).
    workloads: Vec<(u128, f64)>,
    /// Lifecycle streams' positions.
    lifecycle: Vec<u128>,
    stats: Stats,
    lifecycles: Vec<RowPlan>,
    free_slots: Vec<u32>,
    rules: Vec<(String, TimeMs, u64, u64)>,
}

impl Simulator {
    /// The queue in the order its actions fall due (the heap's own order is the heap
    /// implementation's business, and would make an image depend on it).
    fn queue_image(&self) -> Vec<(TimeMs, u64, Action)> {
        let mut queue: Vec<_> = self.queue.iter().map(|Reverse(p)| p).collect();
        queue.sort_unstable();
        queue
            .into_iter()
            .map(|p| (p.at_ms, p.order, p.action))
            .collect()
    }

    /// The state to snapshot.
    pub fn image(&self) -> SimImage {
        SimImage {
            queue: self.queue_image(),
            order: self.order,
            now_ms: self.now_ms,
            next_row: self.next_row,
            batch_second: self.batcher.second,
            batches: self.batcher.open.clone(),
            next_task_id: self.batcher.next_id,
            workloads: self
                .workloads
                .iter()
                .map(|w| (w.arrivals.get_word_pos(), w.next_at))
                .collect(),
            lifecycle: self.lifecycle.iter().map(|s| s.get_word_pos()).collect(),
            stats: self.stats.clone(),
            lifecycles: self.plans.image(),
            free_slots: self.free_slots.clone(),
            rules: self.rules.to_parts(),
        }
    }

    /// The simulator of `scenario` in the state `image` holds. An error says why the image
    /// cannot be this scenario's (its workloads, scripts or slots do not fit).
    pub fn from_image(scenario: Scenario, image: SimImage) -> Result<Simulator, String> {
        let mut sim = Simulator::new(scenario);
        let now_ms = image.now_ms;
        sim.restore(image, now_ms)?;
        Ok(sim)
    }

    /// Puts this simulator (of the scenario the image was taken of, in any state) in the
    /// state `image` holds, keeping the tables derived from the scenario, its clock back at
    /// `at_ms` if that is earlier — the time of the last event it emitted: the image may have
    /// been taken after the clock had moved on with nothing due, and a simulator re-run
    /// beside the log stops at the log's last event. On an error the simulator is unchanged.
    pub fn restore(&mut self, image: SimImage, at_ms: TimeMs) -> Result<(), String> {
        let sim = self;
        let now_ms = image.now_ms.min(at_ms);
        if image.queue.iter().any(|(due, _, _)| *due < now_ms) {
            return Err("its queue holds actions in its past".into());
        }
        if image.workloads.len() != sim.workloads.len()
            || image.lifecycle.len() != sim.lifecycle.len()
        {
            return Err("its workloads are not the scenario's".into());
        }
        let plans = Plans::from_image(sim.plans.max_steps(), image.lifecycles)?;
        let fits = |action: &Action| match *action {
            Action::Rules => true,
            Action::Arrival(w) => (w as usize) < sim.workloads.len(),
            Action::Script(i) => (i as usize) < sim.scenario.scripts.len(),
            Action::Step(slot) => plans.has_step(slot),
        };
        let slots = plans.len();
        if !image.queue.iter().all(|(_, _, action)| fits(action))
            || image.free_slots.iter().any(|&slot| slot as usize >= slots)
        {
            return Err("its queue names what the scenario does not have".into());
        }
        if !slots_accounted_for(&plans, &image.queue, &image.free_slots) {
            return Err("its lifecycles are not each either due once or free once".into());
        }
        let rules = RuleBook::from_parts(image.rules)?;
        sim.queue = image
            .queue
            .into_iter()
            .map(|(at_ms, order, action)| {
                Reverse(Pending {
                    at_ms,
                    order,
                    action,
                })
            })
            .collect();
        sim.order = image.order;
        sim.now_ms = now_ms;
        sim.next_row = image.next_row;
        sim.batcher = Batcher {
            second: image.batch_second,
            open: image.batches,
            next_id: image.next_task_id,
        };
        for (w, (position, next_at)) in sim.workloads.iter_mut().zip(image.workloads) {
            w.arrivals.set_word_pos(position);
            w.next_at = next_at;
        }
        for (stream, position) in sim.lifecycle.iter_mut().zip(image.lifecycle) {
            stream.set_word_pos(position);
        }
        sim.stats = image.stats;
        sim.plans = plans;
        sim.free_slots = image.free_slots;
        sim.rules = rules;
        Ok(())
    }
}

/// Whether every slot is either in the queue once (with a step left) or free once (with
/// none): the simulator's own state always is, and anything else would run a row twice, never
/// finish it, or hand one slot to two rows. Slots are known to be in range.
fn slots_accounted_for(plans: &Plans, queue: &[(TimeMs, u64, Action)], free: &[u32]) -> bool {
    let mut seen = vec![false; plans.len()];
    let queued = queue.iter().filter_map(|(_, _, action)| match *action {
        Action::Step(slot) => Some((slot, true)),
        _ => None,
    });
    let freed = free.iter().map(|&slot| (slot, false));
    for (slot, due) in queued.chain(freed) {
        if std::mem::replace(&mut seen[slot as usize], true) || plans.has_step(slot) != due {
            return false;
        }
    }
    seen.iter().all(|&s| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, ObjectType};
    use crate::sim::{BATCH_EVENTS, Submission};

    fn scenario() -> Scenario {
        let text = r#"
            seed = 7
            start = "2026-11-01T00:00:00Z"
            duration = "6h"
            [[domain]]
            name = "a.example.com"
            [[workload]]
            name = "w"
            rate_per_hour = 600
            urls_per_submission = { min = 1, max = 4 }
            mix = { file = 0.7, directory = 0.1, preload = 0.2 }
            paths = { count = 1000, zipf_exponent = 1.0, prefix = "/p" }
            [failures]
            internal_error = 0.05
            [[rule]]
            name = "down"
            match = { path = "http://a.example.com/api/*" }
            outcome = "failed"
            reason = "origin_timeout"
            probability = 0.5
        "#;
        Scenario::parse(std::path::Path::new("t.toml"), text).expect("a valid scenario")
    }

    /// Submits an API row and runs half an hour.
    fn go_on(sim: &mut Simulator, k: i64) -> Vec<(TimeMs, Event)> {
        let mut out = Vec::new();
        sim.submit(
            Submission {
                domain: 0,
                object_type: ObjectType::File,
                paths: vec![format!("http://a.example.com/api/{k}.js")],
            },
            &mut out,
        );
        let until = sim.now_ms() + 1_800_000;
        while !sim.advance_to(until, &mut out, BATCH_EVENTS) {}
        out
    }

    /// A simulator rebuilt from its image goes on exactly as the original does — nothing of
    /// its state is left out of the image — and the rebuilt one is the one that goes on, so a
    /// difference would compound.
    #[test]
    fn a_simulator_from_its_image_goes_on_alike() {
        let scenario = scenario();
        let mut sim = Simulator::new(scenario.clone());
        for k in 0..8 {
            let mut copy =
                Simulator::from_image(scenario.clone(), sim.image()).expect("its own image fits");
            let (a, b) = (go_on(&mut sim, k), go_on(&mut copy, k));
            assert!(a.len() > 10, "round {k}: the run emits events");
            assert_eq!(a, b, "round {k}");
            assert_eq!(sim.stats(), copy.stats());
            sim = copy;
        }
        assert!(sim.is_drained() || sim.pending() > 0);
    }

    #[test]
    fn an_image_whose_slots_do_not_add_up_is_refused() {
        let scenario = scenario();
        let mut sim = Simulator::new(scenario.clone());
        go_on(&mut sim, 0);
        let image = sim.image();
        assert!(
            !image.free_slots.is_empty(),
            "some lifecycles have finished"
        );
        let due = image.queue.iter().find_map(|(_, _, a)| match a {
            Action::Step(slot) => Some(*slot),
            _ => None,
        });
        let due = due.expect("some lifecycles are in flight");
        let mut twice = image.clone();
        twice.free_slots.push(twice.free_slots[0]);
        let mut lost = image.clone();
        lost.free_slots.pop();
        let mut freed_while_due = image.clone();
        freed_while_due.free_slots.push(due);
        for (what, bad) in [("twice", twice), ("lost", lost), ("due", freed_while_due)] {
            let error = Simulator::from_image(scenario.clone(), bad).expect_err(what);
            assert!(error.contains("due once or free once"), "{what}: {error}");
        }
        assert!(Simulator::from_image(scenario, image).is_ok());
    }

    #[test]
    fn an_image_of_another_scenario_is_refused() {
        let sim = Simulator::new(scenario());
        let mut other = scenario();
        other.workloads.clear();
        let error = Simulator::from_image(other, sim.image()).expect_err("refused");
        assert!(error.contains("workloads"), "{error}");
    }
}
