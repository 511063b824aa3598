//! The movements front ends ask for: to an event or a stored position,
//! `stepi`, `cont` and their reverse twins, with what each needs to find
//! its target (the last breakpoint hit before here, counted or scanned),
//! and what every movement does first (`begin_movement`) and last
//! (`settle`, which turns an interrupted run into a position).

use std::sync::atomic::Ordering;

use crate::counter::ExecCounter;
use crate::syscalls::{self, Replay};
use crate::trace::Event;
use crate::{Error, EventIdx, RemoteAddr, Result};

use super::checkpoints::SNAPSHOT_EVERY;
use super::run::{Goal, Halt, Hit};
use super::watchpoints::WATCH_SLOTS;
use super::{Point, Position, StopReason, Timeline};

impl Timeline {
    /// Goes to the start of interval `event`: just after event `event - 1`.
    pub fn goto_event(&mut self, event: EventIdx) -> Result<StopReason> {
        let result = self.goto_event_uninterrupted(event);
        self.settle(result)
    }

    pub(super) fn goto_event_uninterrupted(&mut self, event: EventIdx) -> Result<StopReason> {
        self.begin_movement()?;
        let last = self.last_start();
        let live_ahead = event > last && self.frontier.is_some() && self.interval_exists(event)?;
        if event.0 < 1 || (event > last && !live_ahead) {
            // Events are numbered from 0 (the program's start); the last
            // position is just after the last event that did not end the
            // program, which is why it is not the count of events.
            return Err(Error::Program(format!(
                "event {event} is outside the recording: goto reaches events 1 to {last} of its {} \
                 (event 0 starts the program, the ones after {last} end it)",
                self.log.len()
            )));
        }
        // An exec is replayed with the execve before it: the program's
        // start after an exec is the interval after the exec event.
        let event = if matches!(self.log.get(event), Some(Event::Exec(_))) {
            EventIdx(event.0 + 1)
        } else {
            event
        };
        self.goto(Position::start(event), None)?;
        Ok(StopReason::Arrived)
    }

    /// Goes to a position stored earlier.
    pub fn goto_position(&mut self, target: Position) -> Result<StopReason> {
        let result = self.goto_position_uninterrupted(target);
        self.settle(result)
    }

    pub(super) fn goto_position_uninterrupted(&mut self, target: Position) -> Result<StopReason> {
        self.begin_movement()?;
        let exists = target.event <= self.log.len() || self.interval_exists(target.event)?;
        if target.event.0 < 1 || !exists {
            return Err(Error::Program(format!("position {target:?} is outside the recording")));
        }
        self.goto(target, None)?;
        Ok(StopReason::Arrived)
    }

    pub fn stepi(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        self.snapshot_watch_values()?;
        if self.at.point != Point::End {
            if !self.interval_exists(self.at.event)? {
                return Ok(StopReason::EndOfRecording);
            }
            match self.step_once(None)? {
                // The instruction was a syscall (or faulted, or a signal
                // came first): the step is the event.
                Halt::Event => self.at.point = Point::End,
                _ => {
                    self.at_stepped()?;
                    return Ok(match self.stepped_watch.take() {
                        Some(w) => w.stop(),
                        None => StopReason::Stepped,
                    });
                }
            }
        }
        if let Some(reason) = self.leave_end()? {
            return Ok(reason);
        }
        Ok(match self.changed_watch()? {
            Some(w) => w.stop(),
            None => StopReason::Stepped,
        })
    }

    pub fn cont(&mut self) -> Result<StopReason> {
        let result = self.cont_uninterrupted();
        self.settle(result)
    }

    pub(super) fn cont_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        self.snapshot_watch_values()?;
        if self.at.point == Point::End {
            if let Some(reason) = self.after_event()? {
                return Ok(reason);
            }
        } else if !self.arrivals_known {
            let here = self.at;
            self.goto(here, None)?;
        }
        // One ticker for the whole movement (one per interval would cost
        // more than replaying a short interval): the runs that last leave
        // snapshots behind.
        self.with_ticks(Some(SNAPSHOT_EVERY), |this| loop {
            if !this.interval_exists(this.at.event)? {
                return Ok(StopReason::EndOfRecording);
            }
            if this.take_interrupt() {
                return Ok(StopReason::Interrupted);
            }
            if this.can_fly() {
                let from = this.at.event;
                this.fly(EventIdx(u64::MAX), true)?;
                if this.at.event != from {
                    continue;
                }
            }
            match this.run_to_breakpoint_snapshotting()? {
                Halt::Breakpoint(addr) => {
                    this.at = Position::arrival(this.at.event, addr, this.arrivals[&addr], 0);
                    return Ok(StopReason::Breakpoint(addr));
                }
                Halt::Watch(watch) => {
                    this.at = Position {
                        event: this.at.event,
                        point: Point::Trigger {
                            watch,
                            nth: this.triggers[&watch],
                            steps: 0,
                        },
                    };
                    return Ok(watch.stop());
                }
                Halt::Event => {
                    this.at.point = Point::End;
                    if let Some(Event::Signal(s)) = this.log.get(this.at.event) {
                        return Ok(StopReason::Signal(s.signo));
                    }
                    if let Some(reason) = this.after_event()? {
                        return Ok(reason);
                    }
                }
                Halt::Stepped | Halt::Reached | Halt::Tick => {
                    unreachable!("a free run stops at breakpoints and events only")
                }
            }
        })
    }

    /// Replays the held event during a continue; `Some` when the continue
    /// stops right after it.
    pub(super) fn after_event(&mut self) -> Result<Option<StopReason>> {
        if let Some(reason) = self.leave_end()? {
            return Ok(Some(reason));
        }
        if std::mem::take(&mut self.exec_passed) {
            return Ok(Some(StopReason::Exec));
        }
        if let Some(w) = self.changed_watch()? {
            return Ok(Some(w.stop()));
        }
        Ok(self.breakpoint_here()?.map(StopReason::Breakpoint))
    }

    pub fn reverse_stepi(&mut self) -> Result<StopReason> {
        let result = self.reverse_stepi_uninterrupted();
        self.settle(result)
    }

    pub(super) fn reverse_stepi_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        match self.previous(self.at)? {
            Some(p) => {
                self.goto(p, None)?;
                Ok(StopReason::Stepped)
            }
            None => Ok(StopReason::StartOfRecording),
        }
    }

    /// Goes back to the last breakpoint hit or watched access strictly
    /// before here. For an access, the program stops before the
    /// instruction that made it.
    pub fn reverse_cont(&mut self) -> Result<StopReason> {
        let result = self.reverse_cont_uninterrupted();
        self.settle(result)
    }

    pub(super) fn reverse_cont_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        if self.nothing_to_stop_at() {
            // Nothing to find on the way back: no scan of every interval
            // (each a replay from the checkpoint before it).
            self.goto(Position::start(EventIdx(1)), None)?;
            return Ok(StopReason::StartOfRecording);
        }
        let here = self.at;
        if let Some(hit) = self.last_hit_by_number()? {
            self.goto(hit, None)?;
            return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
        }
        let mut upper = here;
        // A few steps past a named point: look at those steps one by one,
        // so that what comes before can be counted up to that point.
        let steps = here.point.steps();
        let base = here.with_steps(0);
        if steps > 0 && steps <= 10_000 && self.can_count_hits(base) {
            self.goto(base, None)?;
            let mut last = self.breakpoint_here()?.map(|_| base);
            for k in 1..steps {
                if let Halt::Event = self.step_once(None)? {
                    return Err(Error::Program(
                        "internal error: a stored position lies past its event".into(),
                    ));
                }
                if self.breakpoint_here()?.is_some() {
                    last = Some(base.with_steps(k));
                }
            }
            self.at = base.with_steps(steps - 1);
            self.arrivals_known = false;
            if let Some(hit) = last {
                self.goto(hit, None)?;
                return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
            }
            upper = base;
        }
        // A scan needs the place named from the interval's start.
        if matches!(upper.point, Point::Before { .. }) {
            upper = self.counted_from_start(upper)?;
        }
        loop {
            let Some(i) = self.checkpoint_before(upper) else {
                self.goto(Position::start(EventIdx(1)), None)?;
                return Ok(StopReason::StartOfRecording);
            };
            if self.take_interrupt() {
                return Ok(StopReason::Interrupted);
            }
            let from = self.checkpoints[i].position;
            if self.can_count_hits(upper) {
                if let Some(hit) = self.last_arrival_counted(i, upper)? {
                    self.goto(hit, None)?;
                    return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
                }
                upper = from;
                continue;
            }
            self.restore(i)?;
            self.snapshot_watch_values()?;
            let mut hits = Vec::new();
            if self.breakpoint_here()?.is_some() {
                hits.push(Hit::breakpoint(self.at));
            }
            self.goto(upper, Some(&mut hits))?;
            // An access found at `upper` itself was made by the instruction
            // before it, so it is before here; a breakpoint at `upper` is not.
            hits.retain(|h| h.watch.is_some() || (h.at != upper && h.at != here));
            if let Some(&last) = hits.last() {
                return match last.watch {
                    None => {
                        self.goto(last.at, None)?;
                        Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)))
                    }
                    Some(watch) => {
                        let before = self
                            .previous(last.at)?
                            .expect("an access happens after the recording's start");
                        self.goto(before, None)?;
                        Ok(watch.stop())
                    }
                };
            }
            upper = from;
        }
    }

    /// The last breakpoint hit before here in this interval, found from the
    /// arrival counts here (every arrival at a breakpoint is a hit) without
    /// a scan; `None` when that cannot tell (counts unknown, watches, more
    /// than two breakpoints, or no hit in this interval).
    pub(super) fn last_hit_by_number(&mut self) -> Result<Option<Position>> {
        if !self.arrivals_known
            || self.held.is_some()
            || !self.watches.is_empty()
            || self.breakpoints.is_empty()
            || self.breakpoints.len() > 2
        {
            return Ok(None);
        }
        let event = self.at.event;
        let mut last = Vec::new();
        for &addr in &self.breakpoints {
            // An arrival standing here is here, not before.
            let n = self.executions_done(addr)?;
            if n > 0 {
                last.push((addr, n));
            }
        }
        Ok(match last[..] {
            [] => None,
            [(addr, n)] => Some(Position::arrival(event, addr, n, 0)),
            [a, b] => Some(self.later_arrival(event, a, b)?),
            _ => None,
        })
    }

    /// Which of arrival `a.1` at `a.0` and arrival `b.1` at `b.0` comes
    /// later in interval `event`: b's is after a's if fewer than `b.1`
    /// arrivals at `b.0` had happened by a's. Leaves the program at a's.
    pub(super) fn later_arrival(
        &mut self,
        event: EventIdx,
        (a, na): (RemoteAddr, u64),
        (b, nb): (RemoteAddr, u64),
    ) -> Result<Position> {
        let at_a = Position::arrival(event, a, na, 0);
        self.goto(at_a, None)?;
        Ok(if self.arrivals.get(&b).copied().unwrap_or(0) >= nb {
            at_a
        } else {
            Position::arrival(event, b, nb, 0)
        })
    }

    /// Whether a reverse scan up to `upper` can count breakpoint arrivals
    /// in the kernel instead of stopping at each: one breakpoint, no
    /// watches, perf counters available, and `upper` reachable by a counter.
    pub(super) fn can_count_hits(&self, upper: Position) -> bool {
        (1..=WATCH_SLOTS.len()).contains(&self.breakpoints.len())
            && self.watches.is_empty()
            && crate::counter::backend() == crate::counter::Backend::PerfBreakpoint
            && matches!(
                upper.point,
                Point::Start { steps: 0 } | Point::Arrival { steps: 0, .. } | Point::End
            )
    }

    /// The last breakpoint hit strictly before `upper`, after checkpoint
    /// `i`, found by counting the arrivals at each breakpoint (one or two):
    /// the program runs at full speed however often it passes them (a loop
    /// hit millions of times costs one replay, not millions of stops).
    pub(super) fn last_arrival_counted(&mut self, i: usize, upper: Position) -> Result<Option<Position>> {
        self.restore(i)?;
        self.last_arrival_counted_from_here(upper, true)
    }

    /// [`Timeline::last_arrival_counted`] from where the program stands (an
    /// interval's start). With `may_fly`, whole stretches of intervals are
    /// replayed as `fly` does, with the counters armed across them: one
    /// without a hit is passed at autopilot speed (a stretch of buffered
    /// calls, each an interval, would otherwise cost a stop per call), and
    /// only the last stretch with hits is counted again interval by
    /// interval, to name its last hit.
    fn last_arrival_counted_from_here(&mut self, upper: Position, may_fly: bool) -> Result<Option<Position>> {
        let addrs: Vec<RemoteAddr> = self.breakpoints.iter().copied().collect();
        let mut last: Option<(EventIdx, Vec<(RemoteAddr, u64)>)> = None;
        // A stretch that was flown with hits in it (its first interval, and
        // the interval after it), when it is later than `last`'s.
        let mut flown_hits: Option<(EventIdx, EventIdx)> = None;
        loop {
            let final_interval = self.at.event == upper.event;
            if may_fly && !final_interval {
                let from = self.at.event;
                if let Some(hits) = self.fly_counting(&addrs, upper.event)? {
                    if hits {
                        flown_hits = Some((from, self.at.event));
                        last = None;
                    }
                    // (A flight stops at `upper`'s interval at the latest.)
                    continue;
                }
            }
            let goal = match upper.point {
                _ if !final_interval => Some(Goal::End),
                Point::Arrival { addr, nth, .. } => Some(Goal::Arrival(addr, nth)),
                Point::End => Some(Goal::End),
                _ => None,
            };
            if let Some(goal) = goal {
                let mut counters = Vec::new();
                for (&addr, slot) in addrs.iter().zip(WATCH_SLOTS) {
                    counters.push(ExecCounter::arm(self.pid(), addr, None, slot)?);
                }
                let (halt, phantom) = match goal {
                    Goal::End => match self.run_to_end_anchoring(&addrs, &counters) {
                        Ok((halt, phantom)) => (Ok(halt), phantom),
                        Err(e) => (Err(e), 0),
                    },
                    _ => (self.run_within_opts(goal, None, false), 0),
                };
                let mut counts = Vec::new();
                for (k, counter) in counters.into_iter().enumerate() {
                    let phantom = if k == 0 { phantom } else { 0 };
                    counts.push(counter.count().map(|n| n - phantom));
                    counter.disarm()?;
                }
                let mut counts: Vec<(RemoteAddr, u64)> = addrs
                    .iter()
                    .copied()
                    .zip(counts.into_iter().collect::<Result<Vec<u64>>>()?)
                    .collect();
                match (goal, halt?) {
                    (Goal::End, Halt::Event) => self.at.point = Point::End,
                    (Goal::Arrival(at, nth), Halt::Reached) => {
                        self.at = Position::arrival(self.at.event, at, nth, 0);
                        // Stopped before arrival `nth`, which is `upper`
                        // itself, whether or not the count saw it.
                        for (addr, count) in &mut counts {
                            if *addr == at {
                                *count = (*count).min(nth - 1);
                            }
                        }
                    }
                    _ => return Err(Error::Program("internal error: a counted run stopped early".into())),
                }
                counts.retain(|(_, n)| *n > 0);
                if !counts.is_empty() {
                    last = Some((self.at.event, counts));
                    flown_hits = None;
                }
            }
            if final_interval || self.is_final(self.at.event)? {
                break;
            }
            self.apply_held()?;
        }
        if let (None, Some((from, to))) = (&last, flown_hits) {
            // Counted again, interval by interval, from the stretch's start.
            self.goto(Position::start(from), None)?;
            return self.last_arrival_counted_from_here(Position::start(to), false);
        }
        let Some((event, counts)) = last else {
            return Ok(None);
        };
        Ok(Some(match counts[..] {
            [(addr, n)] => Position::arrival(event, addr, n, 0),
            [a, b, ..] => self.later_arrival(event, a, b)?,
            [] => unreachable!("only intervals with hits are kept"),
        }))
    }

    /// Flies from this interval's start towards interval `until` (see
    /// `fly`) with the executions of `addrs` counted. `None` when it cannot
    /// (a live recording, a held stop, a stretch too short to fly), else
    /// whether any of `addrs` ran on the way; the program is then at the
    /// start of the interval the flight reached. The counters count the
    /// thread that runs now: the flight stops before the next thread
    /// switch, fork, exec or signal, which the interval-by-interval path
    /// takes.
    fn fly_counting(&mut self, addrs: &[RemoteAddr], until: EventIdx) -> Result<Option<bool>> {
        if self.frontier.is_some()
            || self.held.is_some()
            || self.counter.is_some()
            || !self.inserted.is_empty()
            || self.at.point != (Point::Start { steps: 0 })
        {
            return Ok(None);
        }
        let from = self.at.event;
        // (Looked for no further than a flight may go.)
        let horizon = until.0.min(from.0 + self.fly_stride + self.policy.every_events + 2);
        let changes_thread = |e: &Event| match e {
            Event::Switch(_) | Event::Exec(_) => true,
            // A fork on the way to the followed process ends the one that
            // runs now (see `ReplaySession::retires`).
            Event::Syscall(call) => syscalls::lookup(call.nr).is_some_and(|i| i.replay == Replay::Clone),
            _ => false,
        };
        let until = (from.0..horizon)
            .find(|&e| self.log.get(EventIdx(e)).is_some_and(changes_thread))
            .map_or(until, EventIdx);
        if until.0 <= from.0 + 1 {
            // Too short for `fly`: no counters armed for nothing.
            return Ok(None);
        }
        let mut counters = Vec::new();
        for (&addr, slot) in addrs.iter().zip(WATCH_SLOTS) {
            counters.push(ExecCounter::arm(self.pid(), addr, None, slot)?);
        }
        let flown = self.fly(until, true);
        let mut hits = false;
        for counter in counters {
            hits |= counter.count()? > 0;
            counter.disarm()?;
        }
        flown?;
        Ok((self.at.event != from).then_some(hits))
    }

    /// Every movement starts from the recorded state: changes made by hand
    /// are thrown away first.
    pub(super) fn begin_movement(&mut self) -> Result<()> {
        // Divergence is fatal: the program no longer computes what it did,
        // so no later position would be the recorded one.
        if let Some(what) = self.log.divergence() {
            return Err(Error::Program(format!("this session cannot move any more: {what}")));
        }
        self.interrupted.store(false, Ordering::SeqCst);
        self.selected = None;
        // Snapshots serve the interval they are in (and hold memory).
        let here = self.at.event;
        self.snapshots.retain(|s| s.event == here);
        if self.approach.as_ref().is_some_and(|a| a.event() != here) {
            self.approach = None;
        }
        // The last movement's writes may have made checkpoints' shared
        // pages their own (no index into the checkpoints is held here).
        self.keep_memory_budget(false);
        if self.scratch {
            self.scratch = false;
            let here = self.at;
            let i = self
                .checkpoint_before_or_at(here)
                .expect("the first checkpoint is at the start of the recording");
            self.restore(i)?;
            self.goto(here, None)?;
        }
        Ok(())
    }

    /// Turns a run interrupted mid-interval into a stop at that interval's
    /// start, a position that exists.
    pub(super) fn settle(&mut self, result: Result<StopReason>) -> Result<StopReason> {
        // What the movement made the checkpoints hold on their own, checked
        // before the user looks.
        self.keep_memory_budget(true);
        match result {
            Err(Error::Interrupted) => {
                self.take_interrupt();
                // The live tracee ran on from `at`: no shortcut from here.
                self.arrivals_known = false;
                self.settling = true;
                let settled = self.goto(Position::start(self.at.event), None);
                self.settling = false;
                self.take_interrupt();
                settled.map(|()| StopReason::Interrupted)
            }
            other => other,
        }
    }

    pub(super) fn take_interrupt(&self) -> bool {
        self.interrupted.swap(false, Ordering::SeqCst)
    }
}
