//! The planned lifecycles of the rows in flight, one slot per row.
//!
//! Every lifecycle has at most `progress_steps + 1` steps (a start, the progress between, an
//! end), the same bound for the whole scenario, so each slot's steps live at a fixed stride in
//! one table. Finding a slot's next step is then two loads whose addresses the slot alone
//! gives, which the processor can wait for side by side, instead of a slot and then the step
//! buffer it points to.

use super::{RowPlan, Step};
use crate::event::{RowId, TimeMs};

/// A slot's row and where its lifecycle stands.
#[derive(Debug, Clone, Copy, Default)]
struct Head {
    row: RowId,
    /// Steps planned.
    len: u32,
    /// The next step due.
    next: u32,
}

/// What a step left of a lifecycle.
pub(super) struct Due {
    pub row: RowId,
    pub step: Step,
    /// When the step after it is due, if there is one.
    pub next_at: Option<TimeMs>,
}

/// The slots. A freed slot keeps its steps until it is planned again (snapshots record them).
#[derive(Debug, Clone)]
pub(super) struct Plans {
    stride: usize,
    heads: Vec<Head>,
    steps: Vec<(TimeMs, Step)>,
}

impl Plans {
    /// No slots, for lifecycles of at most `max_steps` steps.
    pub fn new(max_steps: usize) -> Plans {
        Plans {
            stride: max_steps.max(1),
            heads: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// The most steps a lifecycle here may have.
    pub fn max_steps(&self) -> usize {
        self.stride
    }

    /// Slots, freed or not.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// A new slot (with no steps).
    pub fn add(&mut self) -> u32 {
        self.heads.push(Head::default());
        let stride = self.stride;
        self.steps
            .resize(self.steps.len() + stride, (0, Step::Complete));
        (self.heads.len() - 1) as u32
    }

    /// Plans `steps` for `row` in `slot`, its first step next. The simulator never plans
    /// more than the stride (a start, `progress_steps - 1` steps between, an end); more would
    /// be a bug, and would cut a row's end off.
    pub fn set(&mut self, slot: u32, row: RowId, steps: &[(TimeMs, Step)]) {
        assert!(
            steps.len() <= self.stride,
            "a lifecycle longer than planned"
        );
        let at = slot as usize * self.stride;
        self.steps[at..at + steps.len()].copy_from_slice(steps);
        self.heads[slot as usize] = Head {
            row,
            len: steps.len() as u32,
            next: 0,
        };
    }

    /// Takes the next step of the lifecycle in `slot`, which must have one.
    pub fn take(&mut self, slot: u32) -> Due {
        let head = &mut self.heads[slot as usize];
        debug_assert!(head.next < head.len, "a slot with no step left");
        let at = slot as usize * self.stride;
        let (_, step) = self.steps[at + head.next as usize];
        head.next += 1;
        let next_at = (head.next < head.len).then(|| self.steps[at + head.next as usize].0);
        Due {
            row: head.row,
            step,
            next_at,
        }
    }

    /// Whether `slot` exists and has a step left.
    pub fn has_step(&self, slot: u32) -> bool {
        self.heads
            .get(slot as usize)
            .is_some_and(|head| head.next < head.len)
    }

    /// The slots as a snapshot keeps them.
    pub fn image(&self) -> Vec<RowPlan> {
        let slots = self.heads.iter().zip(self.steps.chunks_exact(self.stride));
        slots
            .map(|(head, steps)| RowPlan {
                row: head.row,
                steps: steps[..head.len as usize].to_vec(),
                next: head.next as usize,
            })
            .collect()
    }

    /// The slots of a snapshot, for lifecycles of at most `max_steps` steps; refused when one
    /// is longer or stands past its end.
    pub fn from_image(max_steps: usize, image: Vec<RowPlan>) -> Result<Plans, String> {
        let mut plans = Plans::new(max_steps);
        for plan in image {
            if plan.steps.len() > plans.stride {
                return Err("a lifecycle in it has more steps than the scenario plans".into());
            }
            if plan.next > plan.steps.len() {
                return Err("a lifecycle in it stands past its end".into());
            }
            let slot = plans.add();
            plans.set(slot, plan.row, &plan.steps);
            plans.heads[slot as usize].next = plan.next as u32;
        }
        Ok(plans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FailReason, Process};

    fn progress(bp: u16) -> Step {
        Step::Progress(Process::from_basis_points(bp).unwrap_or(Process::ZERO))
    }

    #[test]
    fn slots_hand_out_their_steps_in_order_and_survive_an_image() {
        let mut plans = Plans::new(3);
        let a = plans.add();
        let b = plans.add();
        plans.set(
            a,
            7,
            &[
                (10, progress(0)),
                (20, progress(5000)),
                (30, Step::Complete),
            ],
        );
        plans.set(b, 8, &[(15, Step::Fail(FailReason::OriginTimeout))]);
        let due = plans.take(a);
        assert_eq!((due.row, due.next_at), (7, Some(20)));
        let round = Plans::from_image(3, plans.image()).expect("its own image");
        for mut p in [plans, round] {
            let due = p.take(b);
            assert_eq!((due.row, due.next_at), (8, None));
            assert!(matches!(due.step, Step::Fail(FailReason::OriginTimeout)));
            assert!(!p.has_step(b));
            let due = p.take(a);
            assert_eq!(due.next_at, Some(30));
            assert!(matches!(due.step, Step::Progress(x) if x.basis_points() == 5000));
            assert!(matches!(p.take(a).step, Step::Complete));
            assert!(!p.has_step(a) && !p.has_step(2));
        }
    }

    #[test]
    fn an_image_with_longer_lifecycles_is_refused() {
        let mut plans = Plans::new(3);
        let a = plans.add();
        plans.set(a, 1, &[(1, Step::Complete); 3]);
        assert!(Plans::from_image(2, plans.image()).is_err());
        let mut image = plans.image();
        image[0].next = 4;
        assert!(Plans::from_image(3, image).is_err());
    }
}
