//! Positions inside an interval ([`Point`], [`Position`]) and how to find
//! the one just before a given one: the reverse step. Stepping back from an
//! arrival replays to the arrival before it and single-steps; the place it
//! stepped from is kept as a hidden checkpoint, the [`StepCache`].

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use iced_x86::{Decoder, DecoderOptions, FlowControl};

use crate::counter::{CpuClock, ExecCounter};
use crate::replay::ReplaySession;
use crate::trace::{Event, SignalKind};
use crate::{Error, EventIdx, RemoteAddr, Result};

use super::checkpoints::Checkpoint;
use super::intervals::placed_by_count;
use super::run::{Goal, Halt, ANCHOR_EVERY};
use super::watchpoints::{Watch, WATCH_SLOTS};
use super::{Timeline, COUNTER_SLOT};

/// How many single steps a reverse step may take to find the previous
/// instruction, from the arrival before it.
/// (At 17-50 µs a step, this is a few seconds.)
const STEP_LIMIT: u64 = 200_000;
/// How many executions of an instruction a reverse step may count to name
/// the place it steps from (at about 9 µs each, this is seconds).
const COUNT_LIMIT: u64 = 1_000_000;
/// The ticks of a search that starts from a snapshot, a short run away
/// from the arrival it looks before.
const FINE_TICKS: Duration = Duration::from_micros(100);
/// The finest ticks a search uses (a tick costs a stop).
const MIN_TICKS: Duration = Duration::from_micros(20);
/// How many times a search that found its R too far from the arrival
/// starts again with ticks an eighth as far apart.
const RETRIES_WITH_FINER_TICKS: u32 = 2;
/// An [`Approach`] is near enough when the program's work left from it to
/// its arrival takes this much CPU time (a hot loop runs a few thousand
/// rounds in it, which cost a debug exception each when counted).
const APPROACH_NEAR: Duration = Duration::from_micros(4);
/// The least an alarm is moved earlier, past what the run spends after
/// the arrival.
const APPROACH_MARGIN: Duration = Duration::from_micros(2);
/// Runs with an alarm an approach makes at most.
const APPROACH_CUTS: usize = 12;

/// A place inside an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// The interval's start, where the previous event left the program,
    /// then `steps` single steps.
    Start { steps: u64 },
    /// The `nth` arrival at `addr` (about to execute it) since the
    /// interval started, then `steps` single steps.
    Arrival { addr: RemoteAddr, nth: u64, steps: u64 },
    /// The `back`-th last arrival at `addr` (1: the last one) before the
    /// `until_nth` arrival at `until` since the interval started, then
    /// `steps` single steps. It names a place by a later arrival that is
    /// cheap to reach (the one a `continue` stopped at), when counting
    /// `addr` from the interval's start would cost a debug exception for
    /// each of its runs in a hot loop: it is reached from a place found
    /// just before `until`'s arrival (an [`Approach`]), by counting only the
    /// runs of `addr` from there. It is as durable as the others: counted
    /// from the interval's start, it is the same arrival.
    Before {
        addr: RemoteAddr,
        back: u64,
        until: RemoteAddr,
        until_nth: u64,
        steps: u64,
    },
    /// Just after the `nth` access since the interval started that
    /// triggered hardware watch `watch` (whether or not it changed the
    /// value), then `steps` single steps.
    Trigger { watch: Watch, nth: u64, steps: u64 },
    /// The interval's end: the event is next (the syscall instruction, the
    /// fault or the signal delivery), not yet replayed.
    End,
}

/// An exact, storable point in the recording's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The interval: the next event to happen. What users see as "when".
    pub event: EventIdx,
    pub point: Point,
}

impl Position {
    pub(super) fn start(event: EventIdx) -> Position {
        Position {
            event,
            point: Point::Start { steps: 0 },
        }
    }

    pub(super) fn arrival(event: EventIdx, addr: RemoteAddr, nth: u64, steps: u64) -> Position {
        Position {
            event,
            point: Point::Arrival { addr, nth, steps },
        }
    }

    pub(super) fn with_steps(self, steps: u64) -> Position {
        let point = match self.point {
            Point::Start { .. } => Point::Start { steps },
            Point::Arrival { addr, nth, .. } => Point::Arrival { addr, nth, steps },
            Point::Trigger { watch, nth, .. } => Point::Trigger { watch, nth, steps },
            Point::Before {
                addr,
                back,
                until,
                until_nth,
                ..
            } => Point::Before {
                addr,
                back,
                until,
                until_nth,
                steps,
            },
            Point::End => Point::End,
        };
        Position { point, ..self }
    }
}

impl Point {
    /// The single steps after the named place (none at an interval's end).
    pub fn steps(&self) -> u64 {
        match *self {
            Point::Start { steps }
            | Point::Arrival { steps, .. }
            | Point::Trigger { steps, .. }
            | Point::Before { steps, .. } => steps,
            Point::End => 0,
        }
    }
}

/// A fork of the program shortly before the `until_nth` arrival at `until`
/// in interval `event`, found by cutting the run to that arrival shorter
/// and shorter with a CPU-time alarm (no counting: each cut costs a fork
/// and a run at native speed). Executions counted from here up to the
/// arrival cost a debug exception each, and there are few: this is where
/// [`Point::Before`] positions are reached from.
pub(super) struct Approach {
    session: ReplaySession,
    event: EventIdx,
    until: RemoteAddr,
    until_nth: u64,
    /// Executions of `until` and of the breakpoints set then, in the
    /// interval before this place.
    done: HashMap<RemoteAddr, u64>,
    /// For each address counted from here: its executions from here to
    /// the arrival.
    counted: HashMap<RemoteAddr, u64>,
}

impl Approach {
    pub(super) fn session(&self) -> &ReplaySession {
        &self.session
    }

    pub(super) fn event(&self) -> EventIdx {
        self.event
    }
}

/// Prints how an approach is found, with `RBACK_TRACE_APPROACH` set (to
/// see how the alarms fall on a machine).
fn trace_approach(what: impl FnOnce() -> String) {
    if std::env::var_os("RBACK_TRACE_APPROACH").is_some() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() % 1_000_000);
        eprintln!("approach: {now:06} {}", what());
    }
}

/// What a run toward an arrival (`Timeline::run_toward`) saw.
struct Toward {
    /// It got to the arrival (else the alarm stopped it before).
    reached: bool,
    /// Executions of the arrival's address on the way (not the arrival's).
    until_ran: u64,
    /// Executions of the counted addresses on the way.
    counted: Vec<u64>,
    /// The program's CPU time on the way.
    cpu: Duration,
}

/// A checkpoint off the user's list, with the arrival and trigger counts
/// there (valid while the same breakpoints and watches are set).
pub(super) struct StepCache {
    pub(super) checkpoint: Checkpoint,
    pub(super) breakpoints: BTreeSet<RemoteAddr>,
    pub(super) watches: Vec<Watch>,
    pub(super) arrivals: HashMap<RemoteAddr, u64>,
    pub(super) triggers: HashMap<Watch, u64>,
}

impl Timeline {
    /// The position one instruction before `p`, or `None` at the start of
    /// the recording.
    pub(super) fn previous(&mut self, p: Position) -> Result<Option<Position>> {
        match p.point {
            point if point.steps() > 0 => Ok(Some(p.with_steps(point.steps() - 1))),
            // Not always the end of interval `p.event - 1`: an exec has no
            // interval end of its own, nor the turns of other processes.
            Point::Start { .. } => Ok(self.event_before(p.event).map(|event| Position {
                event,
                point: Point::End,
            })),
            Point::End => {
                match self.log.get(p.event) {
                    // (One placed by state is an arrival like any other end.)
                    Some(Event::Signal(s)) if s.kind == SignalKind::Asynchronous && s.at_state.is_none() => match s
                        .at_execution
                    {
                        // Delivered at the interval's start: nothing ran.
                        None => return self.previous(Position::start(p.event)),
                        Some(n) => return self.previous(Position::arrival(p.event, RemoteAddr(s.regs.rip()), n, 0)),
                    },
                    _ => {}
                }
                // The end is an arrival at the instruction that causes the
                // event; count which one.
                if self.at != p {
                    self.goto(p, None)?;
                }
                let rip = RemoteAddr(self.regs()?.rip);
                let nth = self.count_arrivals_to_end(p.event, rip)?;
                self.previous(Position::arrival(p.event, rip, nth, 0))
            }
            Point::Arrival { addr, nth, .. } => {
                if nth == 1 {
                    if let Some(before) = self.before_first_arrival(p.event, addr)? {
                        return Ok(Some(before));
                    }
                }
                let base = if nth > 1 {
                    Position::arrival(p.event, addr, nth - 1, 0)
                } else {
                    Position::start(p.event)
                };
                self.goto(base, None)?;
                self.cache_steps_base()?;
                let mut steps = 0;
                if self.regs()?.rip != addr.0 || nth > 1 {
                    loop {
                        if let Some(e) = self.search_limit(steps) {
                            return Err(e);
                        }
                        match self.step_once(None)? {
                            Halt::Event => {
                                return Err(Error::Program(format!(
                                    "internal error: no arrival {nth} at {addr} in interval {}",
                                    p.event
                                )))
                            }
                            _ => steps += 1,
                        }
                        if self.live.tracee().regs()?.rip == addr.0 {
                            break;
                        }
                    }
                }
                // The live tracee ran ahead of any position; make it honest.
                self.at = base.with_steps(steps);
                self.arrivals_known = false;
                if steps == 0 {
                    return self.previous(Position::start(p.event));
                }
                Ok(Some(base.with_steps(steps - 1)))
            }
            Point::Before {
                addr,
                back,
                until,
                until_nth,
                ..
            } => {
                // From the arrival at `addr` before this one (or the
                // interval's start), step to this one.
                let deeper = Position {
                    point: Point::Before {
                        addr,
                        back: back + 1,
                        until,
                        until_nth,
                        steps: 0,
                    },
                    ..p
                };
                if !self.reach_before(deeper)? {
                    // `addr` ran exactly `back` times before that arrival:
                    // this is its first arrival in the interval.
                    return self.previous(Position::arrival(p.event, addr, 1, 0));
                }
                let base = deeper;
                self.cache_steps_base()?;
                // At least one step: the program stands on `addr`.
                let mut steps = 0;
                loop {
                    if let Some(e) = self.search_limit(steps) {
                        return Err(e);
                    }
                    if let Halt::Event = self.step_once(None)? {
                        return Err(Error::Program(format!(
                            "internal error: no arrival at {addr} before arrival {until_nth} at {until} in interval {}",
                            p.event
                        )));
                    }
                    steps += 1;
                    if self.live.tracee().regs()?.rip == addr.0 {
                        break;
                    }
                }
                self.at = base.with_steps(steps);
                self.arrivals_known = false;
                Ok(Some(base.with_steps(steps - 1)))
            }
            Point::Trigger { watch, nth, .. } => {
                // The instruction before a trigger is the access itself:
                // step from the trigger before it until the watch fires.
                let base = if nth > 1 {
                    Position {
                        point: Point::Trigger {
                            watch,
                            nth: nth - 1,
                            steps: 0,
                        },
                        ..p
                    }
                } else {
                    Position::start(p.event)
                };
                self.goto(base, None)?;
                self.cache_steps_base()?;
                self.goal_watch = Some(watch);
                let found = self.step_until_trigger(watch, nth);
                self.goal_watch = None;
                let steps = found?;
                self.at = base.with_steps(steps);
                self.arrivals_known = false;
                Ok(Some(base.with_steps(steps - 1)))
            }
        }
    }

    /// Ends a single-stepping search `steps` past `self.at` (at a point
    /// with no steps of its own) when it is too long or interrupted,
    /// leaving the position honest.
    pub(super) fn search_limit(&mut self, steps: u64) -> Option<Error> {
        let why = if steps >= STEP_LIMIT {
            format!(
                "the instruction before this one is more than {STEP_LIMIT} instructions after the \
                 last point rback can find again (the last event or breakpoint arrival); \
                 reverse stepping cannot reach it"
            )
        } else if steps % 1024 == 1023 && self.take_interrupt() {
            "interrupted".to_string()
        } else {
            return None;
        };
        self.at = self.at.with_steps(steps);
        self.arrivals_known = false;
        Some(Error::Program(why))
    }

    /// Keeps a fork of the live tracee, which stands on a point that took
    /// a long replay to reach: the reverse steps that follow (gdb makes a
    /// reverse-next of many) start from it instead.
    pub(super) fn cache_steps_base(&mut self) -> Result<()> {
        if self.at_interval_start() && self.has_checkpoint_at(self.at) {
            return Ok(());
        }
        if self
            .step_cache
            .as_ref()
            .is_some_and(|c| c.checkpoint.position == self.at)
        {
            return Ok(());
        }
        self.step_cache = Some(StepCache {
            checkpoint: Checkpoint {
                id: 0,
                name: None,
                position: self.at,
                session: self.live.fork()?,
                counts: None,
            },
            breakpoints: self.breakpoints.clone(),
            watches: self.watches.clone(),
            arrivals: self.arrivals.clone(),
            triggers: self.triggers.clone(),
        });
        Ok(())
    }

    /// The position just before the first arrival at `addr` in interval
    /// `event`, when the interval is too long to single-step from its
    /// start (`None`: step from the start). A tick during the run to that
    /// arrival names an instruction R that ran shortly before; the last
    /// execution of R before the arrival is then a few steps from it (R is
    /// typically in the loop the stretch was spent in).
    pub(super) fn before_first_arrival(&mut self, event: EventIdx, addr: RemoteAddr) -> Result<Option<Position>> {
        if placed_by_count(self.log.get(event)) || crate::counter::backend() != crate::counter::Backend::PerfBreakpoint
        {
            return Ok(None);
        }
        if let Some(before) = self.before_first_arrival_by_predecessor(event, addr)? {
            return Ok(Some(before));
        }
        // 1. Run to the arrival, remembering where the last tick stopped;
        // if none came, again with ticks an eighth of the run's time apart.
        // From a snapshot the run is short and the ticks fine from the
        // start: the nearer R is to the arrival, the likelier it is in the
        // code just before it rather than in a long loop before that.
        if !self.start_before_first_arrival(event, addr, false)? {
            return Ok(None);
        }
        let mut every = if self.at_interval_start() {
            ANCHOR_EVERY
        } else {
            FINE_TICKS
        };
        // A tick that came late (the machine was busy) can name an R too
        // far from the arrival to step from: the search starts again with
        // ticks finer, a few times, before it says so.
        for attempt in 0.. {
            let mut last_tick = None;
            for _ in 0..5 {
                let started = Instant::now();
                last_tick = self.last_tick_before(event, addr, every)?;
                if last_tick.is_some() {
                    break;
                }
                every = (started.elapsed() / 8).max(MIN_TICKS);
                self.start_before_first_arrival(event, addr, false)?;
            }
            let Some(r) = last_tick.filter(|r| *r != addr) else {
                return Ok(None);
            };
            // 2. How often R ran before the arrival, from the interval's
            // start (a position names it so).
            self.goto(Position::start(event), None)?;
            let count = self.count_to_first_arrival(event, addr, &[r], false)?[0];
            if count == 0 {
                return Ok(None);
            }
            // 3. From R's last run, step to the arrival.
            let base = Position::arrival(event, r, count, 0);
            self.goto(base, None)?;
            self.cache_steps_base()?;
            let mut steps = 0;
            let mut too_far = None;
            while self.live.tracee().regs()?.rip != addr.0 {
                if let Some(e) = self.search_limit(steps) {
                    too_far = Some(e);
                    break;
                }
                if let Halt::Event = self.step_once(None)? {
                    return Err(Error::Program(format!(
                        "internal error: no arrival at {addr} in interval {event}"
                    )));
                }
                steps += 1;
            }
            if let Some(e) = too_far {
                // (An interrupt stops the search, as always.)
                if attempt == RETRIES_WITH_FINER_TICKS || every == MIN_TICKS || steps < STEP_LIMIT {
                    return Err(e);
                }
                every = (every / 8).max(MIN_TICKS);
                if !self.start_before_first_arrival(event, addr, false)? {
                    return Err(e);
                }
                continue;
            }
            self.at = base.with_steps(steps);
            self.arrivals_known = false;
            if steps == 0 {
                return Ok(None);
            }
            return Ok(Some(base.with_steps(steps - 1)));
        }
        unreachable!("the search returns from its last attempt")
    }

    /// The position just before the first arrival at `addr` in interval
    /// `event`, found from the instructions that can go on to `addr`.
    ///
    /// One that can *only* go on to `addr` (a direct call of `addr`, which
    /// the return address on the stack names, or an instruction that falls
    /// through into it) ran at most once before the first arrival, right
    /// before it, since each of its runs is followed at once by an arrival
    /// at `addr`. So the position is that instruction's first arrival,
    /// found by counting it, which costs nothing however hot the code
    /// before it was; a snapshot from the run that got here makes it a
    /// short replay.
    ///
    /// A conditional branch that falls through into `addr` (a loop's exit)
    /// may have run many times: its runs are counted from the interval's
    /// start (seconds for a loop of a million rounds, at most
    /// `COUNT_LIMIT`), and its last one is the position if one step from
    /// it arrives at `addr`. `None` when no candidate came right before.
    pub(super) fn before_first_arrival_by_predecessor(
        &mut self,
        event: EventIdx,
        addr: RemoteAddr,
    ) -> Result<Option<Position>> {
        if !self.watches.is_empty() {
            return Ok(None);
        }
        let (sole, branches) = self.predecessors(addr, self.at == Position::arrival(event, addr, 1, 0))?;
        // Near the arrival (a snapshot shortly before it to start from),
        // every candidate is counted from a place found just before it,
        // however hot the code before was.
        if self.can_approach(event, addr) && self.snapshot_before_first(event, addr).is_some() {
            if let Some(before) = self.before_first_arrival_near(event, addr, &sole, &branches)? {
                return Ok(Some(before));
            }
            if self
                .approach
                .as_ref()
                .is_some_and(|a| a.event == event && a.until == addr)
            {
                return Ok(None);
            }
        }
        for round in sole.chunks(WATCH_SLOTS.len()) {
            if !self.start_before_first_arrival(event, addr, false)? {
                return Ok(None);
            }
            let counts = self.count_to_first_arrival(event, addr, round, false)?;
            let Some(p) = round.iter().zip(counts).find(|(_, n)| *n == 1).map(|(p, _)| *p) else {
                continue;
            };
            // P had not run yet wherever `addr` had not.
            for s in &mut self.snapshots {
                if s.event == event && s.arrivals.get(&addr) == Some(&0) && s.session.tracee().regs()?.rip != p.0 {
                    s.arrivals.entry(p).or_insert(0);
                }
            }
            if !self.start_before_first_arrival(event, p, false)? {
                return Ok(None);
            }
            let before = Position::arrival(event, p, 1, 0);
            match self.run_within(Goal::Arrival(p, 1), None)? {
                Halt::Reached => {}
                _ => {
                    return Err(Error::Program(format!(
                        "internal error: no arrival at {p} in interval {event}"
                    )))
                }
            }
            self.at = before;
            self.arrivals_known = true;
            // The step to `addr` is about to be taken back: keep this place.
            self.cache_steps_base()?;
            return Ok(Some(before));
        }
        // With every other breakpoint counted too, the counting run leaves
        // snapshots that the run to the branch's last arrival starts from.
        let others: Vec<RemoteAddr> = self.breakpoints.iter().copied().filter(|&b| b != addr).collect();
        let per_round = if others.len() < WATCH_SLOTS.len() {
            1
        } else {
            WATCH_SLOTS.len()
        };
        for round in branches.chunks(per_round) {
            if !self.start_before_first_arrival(event, addr, true)? {
                return Ok(None);
            }
            let counted: Vec<RemoteAddr> = match per_round {
                1 => round.iter().chain(&others).copied().collect(),
                _ => round.to_vec(),
            };
            let counts = self.count_to_first_arrival(event, addr, &counted, per_round == 1)?;
            for (&q, k) in round.iter().zip(counts) {
                if k == 0 {
                    continue;
                }
                let base = Position::arrival(event, q, k, 0);
                self.goto(base, None)?;
                if self.one_step_arrives(addr)? {
                    return Ok(Some(base));
                }
            }
        }
        Ok(None)
    }

    /// Whether places before arrivals at `until` in interval `event` can be
    /// reached from an [`Approach`]: perf counters and clocks, no watches,
    /// at most one breakpoint besides `until` (counted on the way, in the
    /// debug registers left), and forks allowed in the interval.
    pub(super) fn can_approach(&self, event: EventIdx, until: RemoteAddr) -> bool {
        !placed_by_count(self.log.get(event))
            && crate::counter::backend() == crate::counter::Backend::PerfBreakpoint
            && CpuClock::available()
            && self.watches.is_empty()
            && self.goal_watch.is_none()
            && self.breakpoints.iter().filter(|&&b| b != until).count() <= 1
            && self.live.can_fork()
    }

    /// The breakpoints an approach counts besides `until`.
    fn others(&self, until: RemoteAddr) -> Vec<RemoteAddr> {
        self.breakpoints.iter().copied().filter(|&b| b != until).collect()
    }

    /// Puts the program on `target`, a [`Point::Before`] (its steps left
    /// out); `false` when its address ran fewer times than it says before
    /// the arrival it names (the program is then anywhere in the interval).
    /// From an [`Approach`] when one serves, else by counting from the
    /// interval's start.
    pub(super) fn reach_before(&mut self, target: Position) -> Result<bool> {
        let Point::Before {
            addr,
            back,
            until,
            until_nth,
            ..
        } = target.point
        else {
            return Err(Error::Program(format!(
                "internal error: {target:?} is not named backward"
            )));
        };
        let event = target.event;
        if addr == until {
            if back >= until_nth {
                return Ok(false);
            }
            self.goto(Position::arrival(event, until, until_nth - back, 0), None)?;
            self.at = target.with_steps(0);
            return Ok(true);
        }
        if self.reach_before_near(target)? == Some(true) {
            return Ok(true);
        }
        let total = self.runs_before(event, addr, until, until_nth)?;
        if total < back {
            return Ok(false);
        }
        self.goto(Position::arrival(event, addr, total - back + 1, 0), None)?;
        self.at = target.with_steps(0);
        Ok(true)
    }

    /// [`Timeline::reach_before`] from an [`Approach`] to the arrival
    /// `target` names (made if needed). `None` when none can be made;
    /// `Some(false)` when the address ran fewer times than `target` says
    /// between that place and the arrival (it may have run before).
    pub(super) fn reach_before_near(&mut self, target: Position) -> Result<Option<bool>> {
        let Point::Before {
            addr,
            back,
            until,
            until_nth,
            ..
        } = target.point
        else {
            return Ok(None);
        };
        let event = target.event;
        // A breakpoint's arrivals are counted as the program stands on
        // them, which a count of executions from a place does not say.
        if addr == until || self.breakpoints.contains(&addr) || !self.can_approach(event, until) {
            return Ok(None);
        }
        if !self.ensure_approach(event, until, until_nth)? {
            return Ok(None);
        }
        self.count_from_approach(&[addr])?;
        let Some(approach) = self.approach.as_ref() else {
            return Ok(None);
        };
        let done = approach.done.clone();
        let count = approach.counted[&addr];
        let others = self.others(until);
        if count < back {
            return Ok(Some(false));
        }
        // The execution of `addr` that is the target, counted from here,
        // with the breakpoints' executions on the way counted for their
        // counts there.
        self.restore_approach()?;
        let mut counted = vec![until];
        counted.extend(&others);
        let run = self.run_toward(addr, count - back + 1, &counted, None)?;
        if !run.reached {
            return Err(Error::Program(format!(
                "internal error: execution {} of {addr} from a place before arrival {until_nth} at {until} \
                 not found in interval {event}",
                count - back + 1
            )));
        }
        trace_approach(|| format!("at {target:?}"));
        self.at = target.with_steps(0);
        self.arrivals.clear();
        for (b, ran) in counted.into_iter().zip(run.counted) {
            if self.breakpoints.contains(&b) {
                self.arrivals.insert(b, done[&b] + ran);
            }
        }
        self.arrivals_known = true;
        Ok(Some(true))
    }

    /// How many times `addr` ran in interval `event` before the
    /// `until_nth` arrival at `until`, counted from the interval's start
    /// (a debug exception per run) the first time it is asked: the steps
    /// back that go on past the approach's reach then start from the
    /// anchors that the run to each arrival leaves.
    fn runs_before(&mut self, event: EventIdx, addr: RemoteAddr, until: RemoteAddr, until_nth: u64) -> Result<u64> {
        let key = (event, addr, until, until_nth);
        if let Some(&total) = self.runs_before.get(&key) {
            return Ok(total);
        }
        self.goto(Position::start(event), None)?;
        let total = if self.regs()?.rip == until.0 && until_nth == 1 {
            0
        } else {
            self.count_to_arrival(event, until, until_nth, &[addr], false)?[0]
        };
        self.runs_before.insert(key, total);
        Ok(total)
    }

    /// Makes sure the [`Approach`] is one before the `until_nth` arrival at
    /// `until` in interval `event` with the counts of every breakpoint;
    /// `false` when none can be made.
    fn ensure_approach(&mut self, event: EventIdx, until: RemoteAddr, until_nth: u64) -> Result<bool> {
        let others = self.others(until);
        let fits = |a: &Approach| {
            a.event == event
                && a.until == until
                && a.until_nth == until_nth
                && others.iter().all(|b| a.done.contains_key(b))
        };
        if self.approach.as_ref().is_some_and(fits) {
            return Ok(true);
        }
        let prior = self.approach.take();
        self.make_approach(event, until, until_nth, prior)
    }

    /// Counts the executions of `addrs` from the [`Approach`] to its
    /// arrival, two at a time, for those not counted yet.
    fn count_from_approach(&mut self, addrs: &[RemoteAddr]) -> Result<()> {
        let Some(approach) = self.approach.as_ref() else {
            return Err(Error::Program("internal error: no approach to count from".into()));
        };
        let (event, until, until_nth) = (approach.event, approach.until, approach.until_nth);
        let left = until_nth - approach.done[&until];
        let uncounted: Vec<RemoteAddr> = addrs
            .iter()
            .copied()
            .filter(|a| !approach.counted.contains_key(a))
            .collect();
        for round in uncounted.chunks(WATCH_SLOTS.len()) {
            self.restore_approach()?;
            let run = self.run_toward(until, left, round, None)?;
            if !run.reached {
                return Err(Error::Program(format!(
                    "internal error: no arrival {until_nth} at {until} in interval {event}"
                )));
            }
            trace_approach(|| format!("runs of {round:?} from there: {:?}", run.counted));
            if let Some(a) = self.approach.as_mut() {
                a.counted.extend(round.iter().copied().zip(run.counted));
            }
        }
        Ok(())
    }

    /// The position just before the first arrival at `addr` in interval
    /// `event`, found among the instructions that can go on to it (`sole`
    /// ones, whose only way on is `addr`, and `branches`) by counting each
    /// from an [`Approach`] to that arrival: one that did not run there is
    /// not right before it; one that did is tried by a step from its last
    /// run. One of `sole` ran only once before the arrival, and is named as
    /// its first arrival. `None` when no approach can be made or no
    /// candidate came right before.
    fn before_first_arrival_near(
        &mut self,
        event: EventIdx,
        addr: RemoteAddr,
        sole: &[RemoteAddr],
        branches: &[RemoteAddr],
    ) -> Result<Option<Position>> {
        let candidates: Vec<(RemoteAddr, bool)> = sole
            .iter()
            .map(|&p| (p, true))
            .chain(branches.iter().map(|&q| (q, false)))
            .filter(|(a, _)| !self.breakpoints.contains(a))
            .collect();
        if candidates.is_empty() || !self.ensure_approach(event, addr, 1)? {
            return Ok(None);
        }
        let addrs: Vec<RemoteAddr> = candidates.iter().map(|(a, _)| *a).collect();
        self.count_from_approach(&addrs)?;
        for (q, is_sole) in candidates {
            let last = Position {
                event,
                point: Point::Before {
                    addr: q,
                    back: 1,
                    until: addr,
                    until_nth: 1,
                    steps: 0,
                },
            };
            let ran = self.approach.as_ref().and_then(|a| a.counted.get(&q).copied());
            match self.reach_before_near(last)? {
                // Not run between that place and the arrival: not the
                // instruction right before it.
                Some(false) => continue,
                Some(true) => {}
                None => return Ok(None),
            }
            let named = if is_sole && ran == Some(1) {
                // Q had not run yet wherever `addr` had not: its one run
                // came after the approach.
                for s in &mut self.snapshots {
                    if s.event == event && s.arrivals.get(&addr) == Some(&0) && s.session.tracee().regs()?.rip != q.0 {
                        s.arrivals.entry(q).or_insert(0);
                    }
                }
                if let Some(a) = self.approach.as_mut() {
                    a.done.entry(q).or_insert(0);
                }
                Position::arrival(event, q, 1, 0)
            } else {
                last
            };
            self.at = named;
            if self.one_step_arrives(addr)? {
                return Ok(Some(named));
            }
        }
        Ok(None)
    }

    /// The same place as `p` named from its interval's start: a
    /// [`Point::Before`] becomes the arrival it is, counted (at a debug
    /// exception per execution of its address); others stay as they are.
    pub(super) fn counted_from_start(&mut self, p: Position) -> Result<Position> {
        let Point::Before {
            addr,
            back,
            until,
            until_nth,
            steps,
        } = p.point
        else {
            return Ok(p);
        };
        if addr == until && back < until_nth {
            return Ok(Position::arrival(p.event, until, until_nth - back, steps));
        }
        let total = if addr == until {
            0
        } else {
            self.runs_before(p.event, addr, until, until_nth)?
        };
        if total < back {
            return Err(Error::Program(format!(
                "internal error: position {p:?} not found in its interval"
            )));
        }
        Ok(Position::arrival(p.event, addr, total - back + 1, steps))
    }

    /// Makes a fork of the [`Approach`] the live program.
    fn restore_approach(&mut self) -> Result<()> {
        let Some(approach) = self.approach.as_mut() else {
            return Err(Error::Program("internal error: no approach to restore".into()));
        };
        let session = approach.session.fork()?;
        let name = Position::arrival(approach.event, approach.until, approach.until_nth, 0);
        // The place has no name; the run that follows gives it one.
        self.restore_session(session, name)
    }

    /// Finds a place shortly before the `nth` arrival at `until` in
    /// interval `event` and keeps it as the [`Approach`]: from the latest
    /// snapshot before that arrival (or the interval's start), runs to the
    /// arrival measuring the program's CPU time, then again with an alarm
    /// a little before that time, forks where it stops and measures the
    /// rest; and so on, each cut a sixteenth of the run before, until the
    /// run left is a few microseconds (a few thousand executions of a hot
    /// loop at most) or the alarm cannot land before the arrival. The
    /// alarm's timing varies from run to run; where it lands does not
    /// matter, only that it is before the arrival, which the run tells.
    /// The breakpoints are counted on the way. `false` when the arrival is
    /// where the search would start.
    fn make_approach(&mut self, event: EventIdx, until: RemoteAddr, nth: u64, prior: Option<Approach>) -> Result<bool> {
        trace_approach(|| format!("to arrival {nth} at {until}"));
        let name = Position::arrival(event, until, nth, 0);
        let others = self.others(until);
        // The previous approach, when it is known to come before this
        // arrival (typically the place just before a call's target, for the
        // call), is the nearest place to start from.
        let prior = prior.filter(|a| {
            a.event == event
                && a.done.get(&until).is_some_and(|&d| d < nth)
                && others.iter().all(|b| a.done.contains_key(b))
        });
        let mut done = HashMap::new();
        let mut started = false;
        if let Some(mut prior) = prior {
            let session = prior.session.fork()?;
            self.restore_session(session, name)?;
            done = prior.done;
            done.retain(|a, _| *a == until || others.contains(a));
            started = done[&until] + 1 < nth || self.regs()?.rip != until.0;
        }
        if !started {
            match self.snapshot_for(name) {
                Some((i, _)) => self.restore_snapshot(i, name)?,
                None => self.goto(Position::start(event), None)?,
            }
            done.clear();
            for &a in std::iter::once(&until).chain(&others) {
                done.insert(a, self.executions_done(a)?);
            }
        }
        if done[&until] >= nth || (done[&until] + 1 == nth && self.regs()?.rip == until.0) {
            return Ok(false);
        }
        let mut place = self.live.fork()?;
        // What a run costs besides the program's work (resuming a fresh
        // fork, the stop at its end): a run that stops before the
        // instruction it stands on does no work.
        let rip = RemoteAddr(self.regs()?.rip);
        let overhead = self.run_toward(rip, 1, &[], None)?.cpu;
        let first = self.run_toward(until, nth - done[&until], &[], None)?;
        if !first.reached {
            return Err(Error::Program(format!(
                "internal error: no arrival {nth} at {until} in interval {event}"
            )));
        }
        let mut cpu = first.cpu;
        // An alarm at `cpu - margin` stops the program before the arrival
        // when `margin` is more than what the run spends after it (its
        // stop): then the work left is about `margin` less that. That
        // part is learnt from the alarms that came too late.
        let mut after = overhead / 2;
        trace_approach(|| format!("overhead {overhead:?}, run {cpu:?}"));
        let mut cuts = 0;
        'cuts: while cuts < APPROACH_CUTS {
            let work = cpu.saturating_sub(overhead);
            if work <= APPROACH_NEAR {
                break;
            }
            let mut step = (work / 16).max(APPROACH_MARGIN);
            loop {
                cuts += 1;
                if step >= cpu || cuts > APPROACH_CUTS {
                    break 'cuts;
                }
                let margin = (after + step).min(cpu / 2);
                self.restore_session(place.fork()?, name)?;
                let cut = self.run_toward(until, nth - done[&until], &others, Some(cpu - margin))?;
                trace_approach(|| format!("alarm {:?} before the end: reached {}", margin, cut.reached));
                if cut.reached {
                    // A run can also be that much shorter than the one
                    // measured (the machine's load varies): what is learnt
                    // is bounded by what a stop costs.
                    after = after.max(margin.min(overhead * 2));
                    step *= 2;
                    continue;
                }
                let here = self.live.fork()?;
                let left = nth - done[&until] - cut.until_ran;
                let rest = self.run_toward(until, left, &[], None)?;
                if !rest.reached {
                    return Err(Error::Program(format!(
                        "internal error: no arrival {nth} at {until} in interval {event}"
                    )));
                }
                trace_approach(|| format!("cut: run left {:?}", rest.cpu));
                place = here;
                *done.entry(until).or_insert(0) += cut.until_ran;
                for (b, ran) in others.iter().zip(&cut.counted) {
                    *done.entry(*b).or_insert(0) += ran;
                }
                // Runs from a fresh fork spend more than the overhead
                // measured (its first writes to each page copy it): a cut
                // that took off less than a quarter is at that floor.
                let stalled = rest.cpu > cpu * 3 / 4;
                cpu = rest.cpu;
                if stalled {
                    break 'cuts;
                }
                break;
            }
        }
        self.approach = Some(Approach {
            session: place,
            event,
            until,
            until_nth: nth,
            done,
            counted: HashMap::new(),
        });
        Ok(true)
    }

    /// Runs from here toward execution `left` of `until` counted from here
    /// (breakpoints out), counting the executions of `counted` (at most
    /// two) on the way, and stops early when `alarm` is given and the
    /// program has run that long.
    fn run_toward(
        &mut self,
        until: RemoteAddr,
        left: u64,
        counted: &[RemoteAddr],
        alarm: Option<Duration>,
    ) -> Result<Toward> {
        // An interrupt that signalled a process replaced since is only
        // seen here.
        if self.interrupted.load(Ordering::SeqCst) && !self.settling {
            return Err(Error::Interrupted);
        }
        let saved = std::mem::take(&mut self.breakpoints);
        let result = self.run_toward_armed(until, left, counted, alarm);
        self.breakpoints = saved;
        self.arrivals_known = false;
        let disarmed = self.counter.take().map_or(Ok(()), ExecCounter::disarm);
        self.alarm = None;
        let toward = result?;
        disarmed?;
        Ok(toward)
    }

    fn run_toward_armed(
        &mut self,
        until: RemoteAddr,
        left: u64,
        counted: &[RemoteAddr],
        alarm: Option<Duration>,
    ) -> Result<Toward> {
        let pid = self.pid();
        let mut counters = Vec::new();
        for (&a, slot) in counted.iter().zip(WATCH_SLOTS) {
            counters.push(ExecCounter::arm(pid, a, None, slot)?);
        }
        self.counter = Some(ExecCounter::arm(pid, until, Some(left), COUNTER_SLOT)?);
        self.alarm = Some(CpuClock::start(pid, alarm)?);
        let halt = self.run_loop(Goal::Arrival(until, left), None)?;
        let until_ran = self.counter.as_ref().expect("armed above").count()?;
        let cpu = self.alarm.as_ref().expect("started above").elapsed()?;
        let mut counts = Vec::new();
        for counter in counters {
            counts.push(counter.count()?);
            counter.disarm()?;
        }
        let reached = match halt {
            Halt::Reached => true,
            // The counter's signal may have merged into the alarm's (one
            // SIGSTKFLT pending at a time): standing on `until` with one
            // execution to go is the arrival.
            Halt::Tick => self.live.tracee().regs()?.rip == until.0 && until_ran + 1 >= left,
            _ => {
                return Err(Error::Program(format!(
                    "internal error: no arrival at {until} in interval {}",
                    self.at.event
                )))
            }
        };
        Ok(Toward {
            reached,
            until_ran,
            counted: counts,
            cpu,
        })
    }

    /// Takes one step from `self.at` (where the live program stands, kept
    /// as the step cache): whether it arrives at `addr`. The program is
    /// then one step past `self.at`, and so named.
    fn one_step_arrives(&mut self, addr: RemoteAddr) -> Result<bool> {
        let from = self.at;
        self.cache_steps_base()?;
        let stepped = self.step_once(None)?;
        // The live program ran ahead of any position; make it honest.
        self.at = from.with_steps(1);
        self.arrivals_known = false;
        Ok(!matches!(stepped, Halt::Event) && self.live.tracee().regs()?.rip == addr.0)
    }

    /// The instructions that can go on to `addr`, as far as can be told
    /// from here: those whose only way on is `addr` (the direct call that
    /// the return address names, when the program stands at `addr` just
    /// called, `at_addr`, and the instructions that end right at `addr` and
    /// fall through into it), then the conditional branches that fall
    /// through into it. Decoding backward is ambiguous on x86, so there may
    /// be several; the ones that never ran are told apart by counting.
    fn predecessors(&self, addr: RemoteAddr, at_addr: bool) -> Result<(Vec<RemoteAddr>, Vec<RemoteAddr>)> {
        let decode = |at: u64, bytes: &[u8]| {
            let mut decoder = Decoder::with_ip(64, bytes, at, DecoderOptions::NONE);
            let instruction = decoder.decode();
            (!instruction.is_invalid() && instruction.len() == bytes.len()).then_some(instruction)
        };
        let (mut sole, mut branches) = (Vec::new(), Vec::new());
        if at_addr {
            let rsp = self.live.tracee().regs()?.rsp;
            let call = self
                .read_memory(RemoteAddr(rsp), 8)
                .ok()
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .and_then(|ret| ret.checked_sub(5));
            if let Some(call) = call {
                if let Ok(bytes) = self.read_memory(RemoteAddr(call), 5) {
                    if decode(call, &bytes)
                        .is_some_and(|i| i.flow_control() == FlowControl::Call && i.near_branch_target() == addr.0)
                    {
                        sole.push(RemoteAddr(call));
                    }
                }
            }
        }
        for len in 1..=15u64 {
            let Some(at) = addr.0.checked_sub(len) else { break };
            let Ok(bytes) = self.read_memory(RemoteAddr(at), len as usize) else {
                continue;
            };
            match decode(at, &bytes).map(|i| i.flow_control()) {
                Some(FlowControl::Next) => sole.push(RemoteAddr(at)),
                Some(FlowControl::ConditionalBranch) => branches.push(RemoteAddr(at)),
                _ => {}
            }
        }
        Ok((sole, branches))
    }

    /// Puts the live program at the latest place known to come before the
    /// first arrival at `addr` in interval `event`: a snapshot (unless
    /// `from_start`), or else the interval's start. `false` when that
    /// arrival is the interval's start.
    fn start_before_first_arrival(&mut self, event: EventIdx, addr: RemoteAddr, from_start: bool) -> Result<bool> {
        match self.snapshot_before_first(event, addr).filter(|_| !from_start) {
            // The place has no name; the run that follows gives it one.
            Some(i) => self.restore_snapshot(i, Position::arrival(event, addr, 0, 0))?,
            None => self.goto(Position::start(event), None)?,
        }
        Ok(self.regs()?.rip != addr.0)
    }

    /// Runs from here (before any arrival at `addr`) to the first arrival
    /// at `addr`, counting the executions of `addrs` (at most two) on the
    /// way. A count costs a debug exception per execution (about 9 µs), so
    /// a run that passes one of them more than `COUNT_LIMIT` times is
    /// stopped with an error rather than left to run for minutes. With
    /// `snapshots` (when `addrs` holds every breakpoint but `addr`), ticks
    /// leave snapshots with those counts.
    fn count_to_first_arrival(
        &mut self,
        event: EventIdx,
        addr: RemoteAddr,
        addrs: &[RemoteAddr],
        snapshots: bool,
    ) -> Result<Vec<u64>> {
        self.count_to_arrival(event, addr, 1, addrs, snapshots)
    }

    /// [`Timeline::count_to_first_arrival`] up to the `nth` arrival at
    /// `addr` in this interval.
    fn count_to_arrival(
        &mut self,
        event: EventIdx,
        addr: RemoteAddr,
        nth: u64,
        addrs: &[RemoteAddr],
        snapshots: bool,
    ) -> Result<Vec<u64>> {
        let mut done = self.executions_done(addr)?;
        let saved = std::mem::take(&mut self.breakpoints);
        let mut counters = Vec::new();
        let mut run = Ok(());
        for (&a, slot) in addrs.iter().zip(WATCH_SLOTS) {
            match ExecCounter::arm(self.pid(), a, None, slot) {
                Ok(c) => counters.push(c),
                Err(e) => {
                    run = Err(e);
                    break;
                }
            }
        }
        if run.is_ok() {
            run = self.with_ticks(Some(ANCHOR_EVERY), |this| loop {
                this.counter = Some(ExecCounter::arm(this.pid(), addr, Some(nth - done), COUNTER_SLOT)?);
                let halt = this.run_loop(Goal::Arrival(addr, nth), None);
                let counter = this.counter.take().expect("armed above");
                let ran = counter.count();
                counter.disarm()?;
                let ran = ran?;
                match halt? {
                    Halt::Reached => return Ok(()),
                    // See `last_tick_before`: standing on `addr` with one
                    // execution to go is the arrival.
                    Halt::Tick if this.live.tracee().regs()?.rip == addr.0 && done + ran + 1 >= nth => return Ok(()),
                    Halt::Tick => {
                        done += ran;
                        let rip = this.live.tracee().regs()?.rip;
                        let mut arrivals = HashMap::from([(addr, done)]);
                        for (&a, counter) in addrs.iter().zip(&counters) {
                            let count = counter.count()?;
                            arrivals.insert(a, count);
                            if count > COUNT_LIMIT {
                                return Err(Error::Program(format!(
                                    "the instruction before this one comes after {a} ran more than \
                                     {COUNT_LIMIT} times since the last event, and rback finds places \
                                     there by counting those runs; reverse stepping stops here \
                                     (reverse-continue to a breakpoint before it, or go to an earlier event)"
                                )));
                            }
                        }
                        // Not standing on a counted address, where the
                        // count would not say whether it ran yet.
                        if snapshots && !arrivals.contains_key(&RemoteAddr(rip)) && this.snapshot_due() {
                            this.push_snapshot(arrivals)?;
                        }
                    }
                    _ => {
                        return Err(Error::Program(format!(
                            "internal error: no arrival at {addr} in interval {event}"
                        )))
                    }
                }
            });
        }
        self.breakpoints = saved;
        self.arrivals_known = false;
        let mut counts = Vec::new();
        for counter in counters {
            counts.push(counter.count());
            counter.disarm()?;
        }
        run?;
        counts.into_iter().collect()
    }

    /// Runs from the start of interval `event` to the first arrival at
    /// `addr` with a ticker `every` apart; the rip of the last tick.
    pub(super) fn last_tick_before(
        &mut self,
        event: EventIdx,
        addr: RemoteAddr,
        every: Duration,
    ) -> Result<Option<RemoteAddr>> {
        let saved = std::mem::take(&mut self.breakpoints);
        let mut last_tick = None;
        let found = self.with_ticks(Some(every), |this| {
            this.counter = Some(ExecCounter::arm(this.pid(), addr, Some(1), COUNTER_SLOT)?);
            loop {
                match this.run_loop(Goal::Arrival(addr, 1), None)? {
                    Halt::Tick => {
                        let rip = this.live.tracee().regs()?.rip;
                        // The counter's signal may have merged into the
                        // tick's: standing on `addr` is its first arrival
                        // (the counter stops at that one), whatever the
                        // count says (the execution is still pending).
                        if rip == addr.0 {
                            return Ok(());
                        }
                        last_tick = Some(RemoteAddr(rip));
                    }
                    Halt::Reached => return Ok(()),
                    _ => {
                        return Err(Error::Program(format!(
                            "internal error: no arrival at {addr} in interval {event}"
                        )))
                    }
                }
            }
        });
        if let Some(counter) = self.counter.take() {
            counter.disarm()?;
        }
        self.breakpoints = saved;
        self.arrivals_known = false;
        found?;
        Ok(last_tick)
    }

    /// Runs `f` with the ticker signalling the live tracee every `every`
    /// (no ticker with `None`); stray ticks afterwards are dropped.
    pub(super) fn with_ticks<T>(
        &mut self,
        every: Option<Duration>,
        f: impl FnOnce(&mut Timeline) -> Result<T>,
    ) -> Result<T> {
        if let Some(every) = every {
            self.ticker.start(every);
        }
        self.ticks_wanted = every.is_some();
        let result = f(self);
        self.ticks_wanted = false;
        if every.is_some() {
            self.ticker.stop();
        }
        self.tick.store(false, Ordering::SeqCst);
        result
    }

    /// Single-steps until `watch` has triggered `nth` times in this
    /// interval; returns the steps taken.
    pub(super) fn step_until_trigger(&mut self, watch: Watch, nth: u64) -> Result<u64> {
        let mut steps = 0;
        while self.triggers.get(&watch).copied().unwrap_or(0) < nth {
            if let Some(e) = self.search_limit(steps) {
                return Err(e);
            }
            if let Halt::Event = self.step_once(None)? {
                return Err(Error::Program(format!(
                    "internal error: no trigger {nth} of the watch at {} in interval {}",
                    watch.addr, self.at.event
                )));
            }
            steps += 1;
        }
        Ok(steps)
    }

    /// How many times the program arrived at `addr` in interval `event`,
    /// up to and including the interval's end.
    pub(super) fn count_arrivals_to_end(&mut self, event: EventIdx, addr: RemoteAddr) -> Result<u64> {
        self.goto(Position::start(event), None)?;
        self.counter = Some(ExecCounter::arm(self.pid(), addr, None, COUNTER_SLOT)?);
        let halt = self.run_loop(Goal::End, None);
        let counter = self.counter.take().expect("armed above");
        let count = counter.count();
        counter.disarm()?;
        match halt? {
            Halt::Event => self.at.point = Point::End,
            _ => unreachable!("a run to the end stops at the event"),
        }
        count
    }
}

/// How many single steps lead from `from` to `to`, when `to` is `from`
/// stepped on (same interval, same starting point).
pub(super) fn steps_between(from: Position, to: Position) -> Option<u64> {
    if from.event != to.event {
        return None;
    }
    let (a, b) = match (from.point, to.point) {
        (Point::Start { steps: a }, Point::Start { steps: b }) => (a, b),
        (
            Point::Arrival { addr, nth, steps: a },
            Point::Arrival {
                addr: addr2,
                nth: nth2,
                steps: b,
            },
        ) if addr == addr2 && nth == nth2 => (a, b),
        (
            Point::Trigger { watch, nth, steps: a },
            Point::Trigger {
                watch: w2,
                nth: n2,
                steps: b,
            },
        ) if watch == w2 && nth == n2 => (a, b),
        (Point::Before { steps: a, .. }, Point::Before { steps: b, .. }) if from.with_steps(0) == to.with_steps(0) => {
            (a, b)
        }
        _ => return None,
    };
    b.checked_sub(a)
}
