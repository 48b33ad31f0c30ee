//! The deterministic discrete-event simulator.
//!
//! [`Simulator`] owns a virtual clock and a queue of pending actions ordered by (time, order of
//! scheduling). [`Simulator::advance_to`] pops every action due up to a time and turns it into
//! events: a workload arrival creates rows (and schedules the workload's next arrival), a
//! scripted submission creates rows with a forced outcome, and each row's lifecycle
//! (`Progressed` steps, then `Completed` or `Failed`) was planned when it was created.
//!
//! Nothing here reads the wall clock, a global random source or a hash map's order: the same
//! scenario and seed give the same events, in the same order, every time. Memory holds the
//! queue (in-flight rows and one pending arrival per workload), never the history.

mod image;
mod plans;
pub mod rng;

/// Events per batch a driver asks [`Simulator::advance_to`] for: small enough that readers
/// wait little for one batch's fold, large enough to amortise the hand-over.
pub const BATCH_EVENTS: usize = 8_192;

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;

use dary_heap::QuaternaryHeap;

use crate::event::{
    Event, FailReason, ObjectType, Process, RowId, RuleUse, Source, TaskId, TimeMs,
};
use crate::scenario::rule::{BookError, ErrorRule, RowFacts, Rule, RuleBook, RuleKind};
use crate::scenario::{Arrival, Forced, Scenario};
pub use image::SimImage;
use plans::{Due, Plans};
use rng::{Stream, Zipf};

/// File extensions of generated paths.
const EXTENSIONS: [&str; 8] = ["js", "css", "png", "jpg", "html", "svg", "woff2", "json"];

/// Something due at a time.
#[derive(Debug, Clone, Copy, bincode::Encode, bincode::Decode)]
enum Action {
    /// The scenario's rules come into force (at its start, before anything else).
    Rules,
    Arrival(u32),
    Script(u32),
    /// The next step of the lifecycle planned in this slot of `Simulator::plans`.
    Step(u32),
}

/// One step of a row's lifecycle.
#[derive(Debug, Clone, Copy, bincode::Encode, bincode::Decode)]
enum Step {
    Progress(Process),
    Complete,
    Fail(FailReason),
}

/// The planned lifecycle of a row in flight, as a snapshot image keeps it (the simulator keeps
/// them in [`Plans`]). Only its next step waits in the queue, so the queue holds one entry per
/// row in flight (not one per future event) and stays small enough for the cache.
#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
struct RowPlan {
    row: RowId,
    steps: Vec<(TimeMs, Step)>,
    next: usize,
}

#[derive(Debug)]
struct Pending {
    at_ms: TimeMs,
    order: u64,
    action: Action,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Pending {
    /// (time, order) as one number, so that comparing two is one comparison.
    fn key(&self) -> i128 {
        (i128::from(self.at_ms) << 64) | i128::from(self.order)
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Hands out TaskIds: rows of the same domain and kind (refresh or preload) submitted in the
/// same second share one, up to the per-task row limit.
#[derive(Debug)]
struct Batcher {
    second: i64,
    open: BTreeMap<(u32, bool), (TaskId, u32)>,
    next_id: u64,
}

impl Batcher {
    fn assign(&mut self, at_ms: TimeMs, domain: u32, preload: bool, cap: u32) -> TaskId {
        let second = at_ms.div_euclid(1000);
        if second != self.second {
            self.second = second;
            self.open.clear();
        }
        let next_id = &mut self.next_id;
        let entry = self.open.entry((domain, preload)).or_insert_with(|| {
            *next_id += 1;
            (TaskId(*next_id - 1), 0)
        });
        if entry.1 >= cap {
            *next_id += 1;
            *entry = (TaskId(*next_id - 1), 0);
        }
        entry.1 += 1;
        entry.0
    }
}

/// Counters of what the simulator emitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Stats {
    /// Rows created.
    pub rows: u64,
    /// Events emitted.
    pub events: u64,
    /// Rows completed.
    pub completed: u64,
    /// Rows failed, per reason (indexed like [`FailReason::ALL`]).
    pub failed: [u64; 3],
    /// Time of the first event.
    pub first_ms: Option<TimeMs>,
    /// Time of the last event.
    pub last_ms: Option<TimeMs>,
}

impl Stats {
    /// Rows failed for any reason.
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }
}

/// The random state and precomputed tables of one workload.
#[derive(Debug)]
struct WorkloadState {
    arrivals: Stream,
    /// Next arrival, fractional ms (kept fractional so that gaps do not drift by rounding).
    next_at: f64,
    zipf: Zipf,
}

/// How a row's lifecycle is decided.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Drawn from the scenario's model using lifecycle stream `usize`.
    Model(usize),
    /// A scripted row or one a rule decided: what is given is forced, the rest is drawn from
    /// lifecycle stream `stream` (the scripts', or the API's).
    Forced {
        stream: usize,
        outcome: Option<Forced>,
        queue_delay_ms: Option<i64>,
        processing_ms: Option<i64>,
    },
}

/// A submission: rows of one domain and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Domain index in the scenario.
    pub domain: usize,
    /// Type of every row.
    pub object_type: ObjectType,
    /// Full, normalised object paths.
    pub paths: Vec<String>,
}

/// The simulator. See the module docs.
#[derive(Debug)]
pub struct Simulator {
    scenario: Scenario,
    queue: QuaternaryHeap<Reverse<Pending>>,
    order: u64,
    now_ms: TimeMs,
    next_row: RowId,
    batcher: Batcher,
    workloads: Vec<WorkloadState>,
    /// Lifecycle streams: one per workload, then the scripts', then the API's.
    lifecycle: Vec<Stream>,
    stats: Stats,
    /// Lifecycles in flight, by slot; freed slots are reused.
    plans: Plans,
    free_slots: Vec<u32>,
    /// Scratch space for planning a row (kept to avoid an allocation per row).
    fraction_buf: Vec<f64>,
    /// Scratch space for a row's steps before they go into `plans`.
    step_buf: Vec<(TimeMs, Step)>,
    /// The rules in force.
    rules: RuleBook,
}

impl Simulator {
    /// A simulator at the scenario's start, with first arrivals and scripts scheduled.
    pub fn new(scenario: Scenario) -> Simulator {
        let seed = scenario.seed;
        // A start, `progress_steps - 1` steps between, an end.
        let max_steps = scenario.lifecycle.progress_steps as usize + 1;
        let mut workloads = Vec::with_capacity(scenario.workloads.len());
        let mut lifecycle = Vec::with_capacity(scenario.workloads.len() + 2);
        for w in &scenario.workloads {
            workloads.push(WorkloadState {
                arrivals: rng::stream(seed, &format!("arrivals:{}", w.name)),
                next_at: w.start_ms as f64,
                zipf: Zipf::new(w.path_count, w.zipf_exponent),
            });
            lifecycle.push(rng::stream(seed, &format!("lifecycle:{}", w.name)));
        }
        lifecycle.push(rng::stream(seed, "scripts"));
        lifecycle.push(rng::stream(seed, "api"));
        let mut sim = Simulator {
            now_ms: scenario.start_ms,
            batcher: Batcher {
                second: i64::MIN,
                open: BTreeMap::new(),
                next_id: scenario.task_id_start,
            },
            scenario,
            queue: QuaternaryHeap::new(),
            order: 0,
            next_row: 0,
            workloads,
            lifecycle,
            stats: Stats::default(),
            plans: Plans::new(max_steps),
            free_slots: Vec::new(),
            fraction_buf: Vec::new(),
            step_buf: Vec::new(),
            rules: RuleBook::default(),
        };
        if !sim.scenario.rules.is_empty() {
            sim.push(sim.scenario.start_ms, Action::Rules);
        }
        for w in 0..sim.workloads.len() {
            sim.schedule_arrival(w);
        }
        if let Some(first) = sim.scenario.scripts.first() {
            sim.push(first.at_ms, Action::Script(0));
        }
        sim
    }

    /// The scenario being simulated.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The virtual time the simulator has advanced to.
    pub fn now_ms(&self) -> TimeMs {
        self.now_ms
    }

    /// Time of the next pending action, if any.
    pub fn next_due_ms(&self) -> Option<TimeMs> {
        self.queue.peek().map(|p| p.0.at_ms)
    }

    /// True when nothing is pending: every arrival made and every lifecycle finished.
    pub fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }

    /// Actions waiting in the queue: in-flight lifecycle steps, one arrival per active
    /// workload and the next script. This, not the scenario's length, bounds memory.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// What has been emitted so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn push(&mut self, at_ms: TimeMs, action: Action) {
        debug_assert!(at_ms >= self.now_ms, "scheduling into the past");
        self.queue.push(Reverse(Pending {
            at_ms,
            order: self.order,
            action,
        }));
        self.order += 1;
    }

    /// Emits, in order, the events of every action due at or before `until_ms`, appending them
    /// to `out`. Stops early, between actions, once this call has appended `max_events` or
    /// more (one action may add a submission's rows past it); returns true when everything
    /// due by `until_ms` has been emitted.
    pub fn advance_to(
        &mut self,
        until_ms: TimeMs,
        out: &mut Vec<(TimeMs, Event)>,
        max_events: usize,
    ) -> bool {
        let limit = out.len().saturating_add(max_events);
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at_ms > until_ms {
                break;
            }
            if out.len() >= limit {
                return false;
            }
            let Some(Reverse(due)) = self.queue.pop() else {
                break;
            };
            self.now_ms = due.at_ms;
            self.run(due.at_ms, due.action, out);
        }
        if until_ms > self.now_ms {
            self.now_ms = until_ms;
        }
        true
    }

    fn run(&mut self, at_ms: TimeMs, action: Action, out: &mut Vec<(TimeMs, Event)>) {
        match action {
            Action::Rules => self.scenario_rules(at_ms, out),
            Action::Arrival(w) => self.arrive(w as usize, at_ms, out),
            Action::Script(i) => self.script(i as usize, at_ms, out),
            Action::Step(slot) => self.step(slot, at_ms, out),
        }
    }

    /// Emits the due step of the lifecycle in `slot` and schedules its next one.
    fn step(&mut self, slot: u32, at_ms: TimeMs, out: &mut Vec<(TimeMs, Event)>) {
        let Due { row, step, next_at } = self.plans.take(slot);
        let event = match step {
            Step::Progress(process) => Event::Progressed { row, process },
            Step::Complete => {
                self.stats.completed += 1;
                Event::Completed { row }
            }
            Step::Fail(reason) => {
                self.stats.failed[reason as usize] += 1;
                Event::Failed { row, reason }
            }
        };
        self.emit(out, at_ms, event);
        match next_at {
            Some(next_at) => self.push(next_at, Action::Step(slot)),
            None => self.free_slots.push(slot),
        }
    }

    fn emit(&mut self, out: &mut Vec<(TimeMs, Event)>, at_ms: TimeMs, event: Event) {
        self.stats.events += 1;
        self.stats.first_ms.get_or_insert(at_ms);
        self.stats.last_ms = Some(at_ms);
        out.push((at_ms, event));
    }

    /// Schedules workload `w`'s next arrival, if it comes before the workload ends.
    fn schedule_arrival(&mut self, w: usize) {
        let spec = &self.scenario.workloads[w];
        if spec.rate_per_hour <= 0.0 {
            return;
        }
        let mean_gap_ms = 3_600_000.0 / spec.rate_per_hour;
        let state = &mut self.workloads[w];
        let gap = match spec.arrival {
            Arrival::Poisson => rng::exponential(&mut state.arrivals, mean_gap_ms),
            Arrival::Uniform => mean_gap_ms,
        };
        state.next_at += gap;
        let at_ms = state.next_at.floor() as TimeMs;
        if at_ms < spec.end_ms {
            self.push(at_ms.max(self.now_ms), Action::Arrival(w as u32));
        }
    }

    fn arrive(&mut self, w: usize, at_ms: TimeMs, out: &mut Vec<(TimeMs, Event)>) {
        let submission = self.draw_submission(w);
        self.create_rows(at_ms, submission, Source::Scenario, Plan::Model(w), out);
        self.schedule_arrival(w);
    }

    /// Draws a workload's submission: domain, type, row count and paths.
    fn draw_submission(&mut self, w: usize) -> Submission {
        let spec = &self.scenario.workloads[w];
        let state = &mut self.workloads[w];
        let rng = &mut state.arrivals;
        let domain_weights = spec
            .domains
            .iter()
            .map(|&d| self.scenario.domains[d].weight);
        let domain = spec.domains[pick(rng, domain_weights)];
        let object_type = ObjectType::ALL[pick(rng, spec.mix.0.iter().copied())];
        let cap = self.scenario.limits.per_request(object_type);
        let rows = rng::between(rng, spec.urls_min.min(cap), spec.urls_max.min(cap));
        let d = &self.scenario.domains[domain];
        let base = format!("{}://{}{}", d.scheme, d.name, spec.path_prefix);
        let mut ranks = vec![0; rows as usize];
        state.zipf.fill(rng, &mut ranks);
        let paths = ranks
            .into_iter()
            .map(|rank| generated_path(&base, object_type, rank))
            .collect();
        Submission {
            domain,
            object_type,
            paths,
        }
    }

    fn script(&mut self, i: usize, at_ms: TimeMs, out: &mut Vec<(TimeMs, Event)>) {
        let script = &self.scenario.scripts[i];
        let submission = Submission {
            domain: script.domain,
            object_type: script.object_type,
            paths: script.paths.clone(),
        };
        let plan = Plan::Forced {
            stream: self.lifecycle.len() - 2,
            outcome: Some(script.outcome),
            queue_delay_ms: script.queue_delay_ms,
            processing_ms: script.processing_ms,
        };
        self.create_rows(at_ms, submission, Source::Scenario, plan, out);
        if let Some(next) = self.scenario.scripts.get(i + 1) {
            self.push(next.at_ms, Action::Script(i as u32 + 1));
        }
    }

    /// Creates the rows of an API submission at the current time (the caller has advanced the
    /// simulator to it), emitting their `Created` events; returns the distinct TaskIds in
    /// order of first use. Lifecycles come from the scenario's model on the API's stream.
    pub fn submit(
        &mut self,
        submission: Submission,
        out: &mut Vec<(TimeMs, Event)>,
    ) -> Vec<TaskId> {
        let at_ms = self.now_ms;
        let api_stream = self.lifecycle.len() - 1;
        self.create_rows(at_ms, submission, Source::Api, Plan::Model(api_stream), out)
    }

    fn create_rows(
        &mut self,
        at_ms: TimeMs,
        submission: Submission,
        source: Source,
        plan: Plan,
        out: &mut Vec<(TimeMs, Event)>,
    ) -> Vec<TaskId> {
        let object_type = submission.object_type;
        let cap = self.scenario.limits.rows_per_task(object_type);
        let domain_name = self.scenario.domains[submission.domain].name.clone();
        let mut task_ids: Vec<TaskId> = Vec::new();
        for path in submission.paths {
            let task_id = self.batcher.assign(
                at_ms,
                submission.domain as u32,
                object_type.is_preload(),
                cap,
            );
            if task_ids.last() != Some(&task_id) && !task_ids.contains(&task_id) {
                task_ids.push(task_id);
            }
            let row = self.next_row;
            self.next_row += 1;
            self.stats.rows += 1;
            // API rows are the rules' to decide.
            let decided = match source {
                Source::Api => self.decide_by_rule(&domain_name, &path, object_type),
                Source::Scenario => None,
            };
            let event = Event::Created {
                row,
                task_id,
                domain: domain_name.clone(),
                object_path: path,
                object_type,
                source,
            };
            self.emit(out, at_ms, event);
            let plan = match decided {
                Some((name, forced)) => {
                    let by = RuleUse::Row(row);
                    self.emit(out, at_ms, Event::RuleUsed { name, by });
                    forced
                }
                None => plan,
            };
            self.plan_row(row, at_ms, submission.domain, object_type, plan);
        }
        task_ids
    }

    /// The rule that decides an API row, if one does: its name and the plan it forces.
    fn decide_by_rule(
        &mut self,
        domain: &str,
        object_path: &str,
        object_type: ObjectType,
    ) -> Option<(String, Plan)> {
        let row = RowFacts {
            domain,
            object_path,
            object_type,
        };
        let seed = self.scenario.seed;
        let i = self
            .rules
            .decide_row(&row, &mut |name, k| rule_draw(seed, name, k))?;
        let entry = &self.rules.entries()[i];
        let RuleKind::Lifecycle(l) = &entry.rule.kind else {
            return None; // decide_row picks lifecycle rules only
        };
        let plan = Plan::Forced {
            stream: self.lifecycle.len() - 1,
            outcome: l.outcome,
            queue_delay_ms: l.queue_delay_ms,
            processing_ms: l.processing_ms,
        };
        Some((entry.rule.name.clone(), plan))
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleBook {
        &self.rules
    }

    fn scenario_rules(&mut self, at_ms: TimeMs, out: &mut Vec<(TimeMs, Event)>) {
        for rule in self.scenario.rules.clone() {
            let text = rule.to_json_string();
            // Scenario rules have unique names (the scenario checked).
            if self.rules.add(rule, at_ms).is_ok() {
                let event = Event::RuleAdded {
                    rule: text,
                    source: Source::Scenario,
                };
                self.emit(out, at_ms, event);
            }
        }
    }

    /// Adds a rule at the current time (the caller has advanced the simulator to it),
    /// emitting its `RuleAdded`.
    pub fn add_rule(
        &mut self,
        rule: Rule,
        out: &mut Vec<(TimeMs, Event)>,
    ) -> Result<(), BookError> {
        let text = rule.to_json_string();
        self.rules.add(rule, self.now_ms)?;
        let event = Event::RuleAdded {
            rule: text,
            source: Source::Api,
        };
        self.emit(out, self.now_ms, event);
        Ok(())
    }

    /// Removes the rule named `name` (every rule when `None`) at the current time, emitting a
    /// `RuleDeleted` for each; returns how many.
    pub fn delete_rules(
        &mut self,
        name: Option<&str>,
        out: &mut Vec<(TimeMs, Event)>,
    ) -> Result<usize, BookError> {
        let names: Vec<String> = match name {
            Some(name) => vec![name.to_owned()],
            None => self
                .rules
                .entries()
                .iter()
                .map(|e| e.rule.name.clone())
                .collect(),
        };
        for name in &names {
            self.rules.delete(name)?;
            let event = Event::RuleDeleted { name: name.clone() };
            self.emit(out, self.now_ms, event);
        }
        Ok(names.len())
    }

    /// True when a live error rule answers calls of `action`.
    pub fn has_error_rule(&self, action: &str) -> bool {
        self.rules.has_error_rule(action)
    }

    /// A call of `action` at the current time: the error rule that answers it, if one does.
    /// Emits a `RuleUsed` for every error rule that drew for the call (see
    /// [`RuleBook::decide_call`]).
    pub fn call(&mut self, action: &str, out: &mut Vec<(TimeMs, Event)>) -> Option<ErrorRule> {
        let seed = self.scenario.seed;
        let uses = self
            .rules
            .decide_call(action, &mut |name, k| rule_draw(seed, name, k));
        let mut answer = None;
        for (i, by) in uses {
            let entry = &self.rules.entries()[i];
            if let (RuleUse::Call(_), RuleKind::Error(rule)) = (by, &entry.rule.kind) {
                answer = Some(rule.clone());
            }
            let name = entry.rule.name.clone();
            self.emit(out, self.now_ms, Event::RuleUsed { name, by });
        }
        answer
    }

    /// Re-makes a recorded draw of error rule `name` for a call (resuming a log).
    pub fn replay_call(
        &mut self,
        name: &str,
        by: RuleUse,
        out: &mut Vec<(TimeMs, Event)>,
    ) -> Result<(), BookError> {
        let k = match by {
            RuleUse::Call(k) | RuleUse::Passed(k) => k,
            RuleUse::Row(_) => return Err(BookError::WrongUse(name.to_owned())),
        };
        // Every draw is logged, so the next one is the one recorded.
        if self.rules.get(name).is_some_and(|e| e.draws != k) {
            return Err(BookError::WrongUse(name.to_owned()));
        }
        self.rules.note_use(name, by)?;
        let event = Event::RuleUsed {
            name: name.to_owned(),
            by,
        };
        self.emit(out, self.now_ms, event);
        Ok(())
    }

    /// Draws a row's lifecycle and schedules it.
    fn plan_row(
        &mut self,
        row: RowId,
        at_ms: TimeMs,
        domain: usize,
        object_type: ObjectType,
        plan: Plan,
    ) {
        let model = &self.scenario.lifecycle;
        let (stream, forced) = match plan {
            Plan::Model(i) => (i, None),
            Plan::Forced {
                stream,
                outcome,
                queue_delay_ms,
                processing_ms,
            } => (stream, Some((outcome, queue_delay_ms, processing_ms))),
        };
        let rng = &mut self.lifecycle[stream];
        let queue_ms = match forced.and_then(|f| f.1) {
            Some(ms) => ms,
            None => rng::duration_ms(rng, &model.queue_delay),
        };
        let processing_ms = match forced.and_then(|f| f.2) {
            Some(ms) => ms,
            None => rng::duration_ms(rng, &model.processing[object_type]),
        };
        // A lifecycle that would run past the end of the timeline ends on its last moment.
        let start = crate::time::add(at_ms, queue_ms.max(0));
        let end = crate::time::add(start, processing_ms.max(0));
        let steps = model.progress_steps as usize;
        let fractions = &mut self.fraction_buf;
        fractions.clear();
        fractions.extend((1..steps).map(|_| rng::unit(rng)));
        fractions.sort_by(f64::total_cmp);
        let outcome = match forced.and_then(|f| f.0) {
            Some(outcome) => outcome,
            None => draw_outcome(rng, &self.scenario, domain, end),
        };
        let kept = match outcome {
            Forced::Complete => steps,
            Forced::Failed(_) => 1 + rng::between(rng, 0, (steps - 1) as u32) as usize,
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => self.plans.add(),
        };
        let steps = &mut self.step_buf;
        steps.clear();
        steps.push((start, Step::Progress(Process::ZERO)));
        let mut last_bp = 0;
        for &f in self.fraction_buf.iter().take(kept - 1) {
            let bp = (f * 10_000.0).round().clamp(1.0, 9_999.0) as u16;
            if bp <= last_bp {
                continue; // Process only rises: two draws that round alike make one step.
            }
            last_bp = bp;
            let process = Process::from_basis_points(bp).unwrap_or(Process::ZERO);
            let at = crate::time::add(start, (f * processing_ms.max(0) as f64) as TimeMs).min(end);
            steps.push((at, Step::Progress(process)));
        }
        steps.push(match outcome {
            Forced::Complete => (end, Step::Complete),
            Forced::Failed(reason) => (end, Step::Fail(reason)),
        });
        self.plans.set(slot, row, steps);
        self.push(start, Action::Step(slot));
    }
}

/// Draw `k` of the rule named `name`: uniform in `[0, 1)`, from the rule's own stream (so
/// adding one rule never shifts another's draws) at a position fixed by `k` alone (so a
/// resumed log finds it without replaying the calls that drew before).
fn rule_draw(seed: u64, name: &str, k: u64) -> f64 {
    let mut stream = rng::stream(seed, &format!("rule:{name}"));
    stream.set_word_pos(u128::from(k) * 2);
    rng::unit(&mut stream)
}

/// Index drawn with probability proportional to `weights` (the last one with a positive
/// weight when rounding runs past the end).
fn pick(rng: &mut Stream, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng::unit(rng) * total;
    let mut last_positive = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            if x < w {
                return i;
            }
            x -= w;
            last_positive = i;
        }
    }
    last_positive
}

/// Complete, or fail with a reason: an incident on the row's domain covering the time it
/// finishes applies first, then the base failure probabilities.
fn draw_outcome(rng: &mut Stream, scenario: &Scenario, domain: usize, end_ms: TimeMs) -> Forced {
    let u = rng::unit(rng);
    let v = rng::unit(rng);
    let incident = scenario
        .incidents
        .iter()
        .find(|i| i.domain == domain && (i.start_ms..i.end_ms).contains(&end_ms));
    if let Some(incident) = incident
        && u < incident.failure_rate
    {
        return Forced::Failed(incident.reason);
    }
    let mut acc = 0.0;
    for (reason, p) in FailReason::ALL.into_iter().zip(scenario.failures) {
        acc += p;
        if v < acc {
            return Forced::Failed(reason);
        }
    }
    Forced::Complete
}

/// The path of rank `rank` for a type under `base` (`scheme://domain/prefix`).
fn generated_path(base: &str, object_type: ObjectType, rank: u32) -> String {
    let ext = EXTENSIONS[rank as usize % EXTENSIONS.len()];
    match object_type {
        ObjectType::File | ObjectType::IgnoreParams | ObjectType::Preload => {
            format!("{base}/{}/{rank}.{ext}", rank / 100)
        }
        ObjectType::Directory => format!("{base}/d{rank}/"),
        ObjectType::Regex => format!("{base}/d{rank}/.*\\.{ext}"),
    }
}
