//! Positions inside an interval ([`Point`], [`Position`]) and how to find
//! the one just before a given one: the reverse step. Stepping back from an
//! arrival replays to the arrival before it and single-steps; the place it
//! stepped from is kept as a hidden checkpoint, the [`StepCache`].

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use iced_x86::{Decoder, DecoderOptions, FlowControl};

use crate::counter::ExecCounter;
use crate::trace::{Event, SignalKind};
use crate::{Error, EventIdx, RemoteAddr, Result};

use super::checkpoints::Checkpoint;
use super::intervals::placed_by_count;
use super::run::{Goal, Halt, Ticker, ANCHOR_EVERY};
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

/// A place inside an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// The interval's start, where the previous event left the program,
    /// then `steps` single steps.
    Start { steps: u64 },
    /// The `nth` arrival at `addr` (about to execute it) since the
    /// interval started, then `steps` single steps.
    Arrival { addr: RemoteAddr, nth: u64, steps: u64 },
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
            Point::End => Point::End,
        };
        Position { point, ..self }
    }
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
            Point::Start { steps } | Point::Arrival { steps, .. } | Point::Trigger { steps, .. } if steps > 0 => {
                Ok(Some(p.with_steps(steps - 1)))
            }
            Point::Start { .. } => {
                if p.event.0 <= 1 {
                    return Ok(None);
                }
                // An exec has no interval end of its own: it is replayed with
                // the execve before it.
                if matches!(self.log.get(EventIdx(p.event.0 - 1)), Some(Event::Exec(_))) {
                    return self.previous(Position::start(EventIdx(p.event.0 - 1)));
                }
                Ok(Some(Position {
                    event: EventIdx(p.event.0 - 1),
                    point: Point::End,
                }))
            }
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
        let mut last_tick = None;
        for _ in 0..5 {
            let started = Instant::now();
            last_tick = self.last_tick_before(event, addr, every)?;
            if last_tick.is_some() {
                break;
            }
            every = (started.elapsed() / 8).max(Duration::from_micros(20));
            self.start_before_first_arrival(event, addr, false)?;
        }
        let Some(r) = last_tick.filter(|r| *r != addr) else {
            return Ok(None);
        };
        // 2. How often R ran before the arrival, from the interval's start
        // (a position names it so).
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
        while self.live.tracee().regs()?.rip != addr.0 {
            if let Some(e) = self.search_limit(steps) {
                return Err(e);
            }
            if let Halt::Event = self.step_once(None)? {
                return Err(Error::Program(format!(
                    "internal error: no arrival at {addr} in interval {event}"
                )));
            }
            steps += 1;
        }
        self.at = base.with_steps(steps);
        self.arrivals_known = false;
        if steps == 0 {
            return Ok(None);
        }
        Ok(Some(base.with_steps(steps - 1)))
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
                self.cache_steps_base()?;
                let stepped = self.step_once(None)?;
                // The live program ran ahead of any position; make it honest.
                self.at = base.with_steps(1);
                self.arrivals_known = false;
                if !matches!(stepped, Halt::Event) && self.live.tracee().regs()?.rip == addr.0 {
                    return Ok(Some(base));
                }
            }
        }
        Ok(None)
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
                this.counter = Some(ExecCounter::arm(this.pid(), addr, Some(1), COUNTER_SLOT)?);
                let halt = this.run_loop(Goal::Arrival(addr, 1), None);
                this.counter.take().expect("armed above").disarm()?;
                match halt? {
                    Halt::Reached => return Ok(()),
                    // See `last_tick_before`.
                    Halt::Tick if this.live.tracee().regs()?.rip == addr.0 => return Ok(()),
                    Halt::Tick => {
                        let rip = this.live.tracee().regs()?.rip;
                        let mut arrivals = HashMap::from([(addr, 0)]);
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
        let ticker = every.map(|every| Ticker::start(self.running.clone(), self.tick.clone(), every));
        self.ticks_wanted = ticker.is_some();
        let result = f(self);
        self.ticks_wanted = false;
        drop(ticker);
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
        _ => return None,
    };
    b.checked_sub(a)
}
