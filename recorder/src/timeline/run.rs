//! Running the live replay inside an interval: to a position (`goto`),
//! to a breakpoint, an arrival, a watch trigger or the interval's end
//! ([`Goal`]), by int3s, single steps or kernel-counted arrivals, and what
//! made it stop ([`Halt`]). Long counted runs are cut by a [`Ticker`] to
//! leave anchors behind.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::counter::{CounterStop, ExecCounter};
use crate::kernel::{si_code, SI_KERNEL, TRAP_HWBKPT};
use crate::replay::Step;
use crate::tracee::{Resume, Stop};
use crate::{Error, RemoteAddr, Result};

use super::positions::steps_between;
use super::watchpoints::{Watch, WATCH_SLOTS};
use super::{Point, Position, Timeline, COUNTER_SLOT};

/// A breakpoint arrival or a reported watchpoint access seen while
/// scanning forward.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Hit {
    pub(super) at: Position,
    /// `None` for a breakpoint.
    pub(super) watch: Option<Watch>,
}

impl Hit {
    pub(super) fn breakpoint(at: Position) -> Hit {
        Hit { at, watch: None }
    }
}

/// Signals the live tracee every `ANCHOR_EVERY` while a long counted run
/// goes on, so that it leaves anchors behind. One thread serves the
/// timeline for its whole life: a run is often one event long (a
/// reverse-continue across a syscall-heavy program makes thousands), and
/// starting a thread for each cost more than the run itself.
pub(super) struct Ticker {
    shared: Arc<(Mutex<TickerState>, Condvar)>,
    running: Arc<AtomicI32>,
    tick: Arc<AtomicBool>,
    /// Started at the first run that wants ticks.
    thread: Option<std::thread::JoinHandle<()>>,
}

struct TickerState {
    /// How often to tick; `None` while no run wants ticks.
    every: Option<Duration>,
    /// When the current run started, or last ticked.
    since: Instant,
    /// The thread waits for a run to start (and must be woken for one).
    idle: bool,
    /// Otherwise, until when the thread waits for a tick's time; it sees
    /// any change then, so that starting and stopping the thousands of
    /// short runs of a long search wakes it only when a run needs a tick
    /// before that.
    waiting_until: Option<Instant>,
    quit: bool,
}

/// Run time between anchors: a run to a position from the anchor before it
/// costs at most this (plus counting).
pub(super) const ANCHOR_EVERY: Duration = Duration::from_millis(25);

impl Ticker {
    pub(super) fn new(running: Arc<AtomicI32>, tick: Arc<AtomicBool>) -> Ticker {
        let state = TickerState {
            every: None,
            since: Instant::now(),
            idle: false,
            waiting_until: None,
            quit: false,
        };
        Ticker {
            shared: Arc::new((Mutex::new(state), Condvar::new())),
            running,
            tick,
            thread: None,
        }
    }

    /// Ticks every `every` from now until [`Ticker::stop`].
    pub(super) fn start(&mut self, every: Duration) {
        if self.thread.is_none() {
            let (shared, running, tick) = (self.shared.clone(), self.running.clone(), self.tick.clone());
            self.thread = Some(std::thread::spawn(move || tick_while_wanted(&shared, &running, &tick)));
        }
        let (state, changed) = &*self.shared;
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.every = Some(every);
        state.since = Instant::now();
        if state.idle || state.waiting_until.is_some_and(|until| state.since + every < until) {
            changed.notify_one();
        }
    }

    /// No tick comes after this returns (one may already be on its way
    /// to the tracee).
    pub(super) fn stop(&mut self) {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner()).every = None;
    }
}

/// The ticker's thread: waits for a run that wants ticks, then signals the
/// tracee every period of it while it goes on. A tick is sent with the
/// state locked, so none comes after `stop`.
fn tick_while_wanted(shared: &(Mutex<TickerState>, Condvar), running: &AtomicI32, tick: &AtomicBool) {
    let (state, changed) = shared;
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    while !state.quit {
        let Some(every) = state.every else {
            state.idle = true;
            state = changed.wait(state).unwrap_or_else(|e| e.into_inner());
            state.idle = false;
            continue;
        };
        let due = state.since + every;
        if let Some(left) = due.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            state.waiting_until = Some(due);
            state = changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
            state.waiting_until = None;
            continue;
        }
        state.since = Instant::now();
        let pid = running.load(Ordering::SeqCst);
        if pid != 0 && !tick.swap(true, Ordering::SeqCst) {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = crate::sys::tgkill(pid, pid, crate::counter::COUNTER_SIGNAL);
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        {
            let (state, changed) = &*self.shared;
            state.lock().unwrap_or_else(|e| e.into_inner()).quit = true;
            changed.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What made a run inside an interval stop.
pub(super) enum Halt {
    Breakpoint(RemoteAddr),
    /// A watch reported an access (the program is just after it).
    Watch(Watch),
    Stepped,
    /// The arrival that was asked for.
    Reached,
    /// The interval's event is next; its stop is held.
    Event,
    /// A long counted run was stopped to drop an anchor (only when
    /// `ticks_wanted`).
    Tick,
}

#[derive(Clone, Copy)]
pub(super) enum Goal {
    /// Until a breakpoint or the interval's end.
    Breakpoint,
    /// Until the `nth` arrival at an address; breakpoints are only counted.
    Arrival(RemoteAddr, u64),
    /// Until just after the `nth` trigger of a watch.
    Trigger(Watch, u64),
    /// Until the interval's end; breakpoints are only counted.
    End,
}

impl Timeline {
    /// Makes `target` the current position, replaying from the best
    /// checkpoint (or on from here when the target is in a later interval).
    /// Breakpoint arrivals passed on the way, before the target, are pushed
    /// to `hits` when given.
    pub(super) fn goto(&mut self, mut target: Position, mut hits: Option<&mut Vec<Hit>>) -> Result<()> {
        let from_here = hits.is_some() || target.event > self.at.event;
        if !from_here {
            // A few single steps from here or from the step cache beat a
            // replay from the interval's start, when the arrival counts are
            // known there (`cont` comes here to recount them).
            if let (true, Some(steps)) = (self.arrivals_known, steps_between(self.at, target)) {
                self.steps_recording(steps, None)?;
                self.at = target;
                return Ok(());
            }
            let cached = self.step_cache.as_mut().and_then(|c| {
                let steps = steps_between(c.checkpoint.position, target)?;
                let counts_valid = c.breakpoints == self.breakpoints && c.watches == self.watches;
                counts_valid.then_some((c, steps))
            });
            if let Some((cached, steps)) = cached {
                let session = cached.checkpoint.session.fork()?;
                let position = cached.checkpoint.position;
                let (arrivals, triggers) = (cached.arrivals.clone(), cached.triggers.clone());
                self.restore_session(session, position)?;
                self.arrivals = arrivals;
                self.triggers = triggers;
                self.arrivals_known = true;
                self.steps_recording(steps, None)?;
                self.at = target;
                return Ok(());
            }
        }
        if let Point::Before { steps, .. } = target.point {
            // Reached from places of its own, never by a scan from here.
            if hits.is_some() {
                return Err(Error::Program(format!(
                    "internal error: a scan toward {target:?}, which is named backward"
                )));
            }
            if !self.reach_before(target)? {
                return Err(Error::Program(format!(
                    "internal error: position {target:?} not found in its interval"
                )));
            }
            self.steps_recording(steps, None)?;
            self.at = target;
            self.arrivals_known = true;
            return Ok(());
        }
        if !from_here {
            let anchor = self.anchor_for(target);
            let snapshot = self.snapshot_for(target).filter(|&(_, count)| {
                anchor.is_none_or(|i| match self.checkpoints[i].position.point {
                    Point::Arrival { nth, .. } => nth <= count,
                    _ => true,
                })
            });
            if let Some((i, _)) = snapshot {
                self.restore_snapshot(i, target)?;
            } else if let Some(i) = anchor {
                self.restore(i)?;
                self.arrivals = self.checkpoints[i].counts.clone().expect("an anchor has counts");
                self.arrivals_known = true;
            } else {
                let i = self
                    .checkpoint_before_or_at(target)
                    .expect("the first checkpoint is at the start of the recording");
                self.restore(i)?;
            }
        }
        while self.at.event < target.event {
            if hits.is_none() && self.can_fly() {
                self.fly(target.event, false)?;
                if self.at.event >= target.event {
                    break;
                }
            }
            if self.at.point != Point::End {
                let recording = hits.is_some();
                match self.run_within_opts(Goal::End, hits.as_deref_mut(), recording)? {
                    Halt::Event => self.at.point = Point::End,
                    _ => unreachable!("a run to the end stops at the event"),
                }
            }
            if self.is_final(self.at.event)? {
                return Err(Error::Program(format!(
                    "event {} is past the end of the recording",
                    target.event
                )));
            }
            self.apply_held()?;
            if let Some(h) = hits.as_deref_mut() {
                if let Some(watch) = self.changed_watch()? {
                    h.push(Hit {
                        at: self.at,
                        watch: Some(watch),
                    });
                }
                if self.breakpoint_here()?.is_some() {
                    h.push(Hit::breakpoint(self.at));
                }
            }
        }
        if self.at.event > target.event {
            // The replay passed over the target's interval with the event
            // before it (see `replayed_with_previous`): the program has no
            // place of its own there, and stands where that step left it.
            match target.point {
                Point::Start { .. } => target.event = self.at.event,
                _ => {
                    return Err(Error::Program(format!(
                        "internal error: position {target:?} is in an interval the replay passes over"
                    )))
                }
            }
        }
        match target.point {
            Point::Start { steps } => {
                self.steps_recording(steps, hits)?;
            }
            Point::Arrival { addr, nth, steps } => {
                let rip = RemoteAddr(self.live.tracee().regs()?.rip);
                // Already standing on it: the interval's start or an anchor.
                let here = rip == addr && (nth == 1 || self.arrivals.get(&addr) == Some(&nth));
                if !here {
                    match self.run_within(Goal::Arrival(addr, nth), hits.as_deref_mut())? {
                        Halt::Reached => {}
                        _ => {
                            return Err(Error::Program(format!(
                                "internal error: arrival {nth} at {addr} not found in interval {}",
                                target.event
                            )))
                        }
                    }
                }
                self.steps_recording(steps, hits)?;
            }
            Point::Trigger { watch, nth, steps } => {
                match self.run_within(Goal::Trigger(watch, nth), hits.as_deref_mut())? {
                    Halt::Reached => {}
                    _ => {
                        return Err(Error::Program(format!(
                            "internal error: trigger {nth} of the watch at {} not found in interval {}",
                            watch.addr, target.event
                        )))
                    }
                }
                self.steps_recording(steps, hits)?;
            }
            Point::End => match self.run_within(Goal::End, hits)? {
                Halt::Event => {}
                _ => unreachable!("a run to the end stops at the event"),
            },
            Point::Before { .. } => unreachable!("reached above"),
        }
        self.at = target;
        self.arrivals_known = true;
        Ok(())
    }

    /// Single-steps `steps` times; arrivals on the way go to `hits`.
    pub(super) fn steps_recording(&mut self, steps: u64, mut hits: Option<&mut Vec<Hit>>) -> Result<()> {
        for _ in 0..steps {
            if let Halt::Event = self.step_once(hits.as_deref_mut())? {
                return Err(Error::Program(
                    "internal error: a stored position lies past its interval's event".into(),
                ));
            }
        }
        // Arriving at a breakpoint by the last step is the target itself,
        // not a hit before it.
        if steps > 0 {
            if let Some(h) = hits {
                let here = RemoteAddr(self.live.tracee().regs()?.rip);
                if let Some(i) = h.iter().rposition(|hit| hit.watch.is_none()) {
                    if self.breakpoints.contains(&here)
                        && h[i].at.point
                            == (Point::Arrival {
                                addr: here,
                                nth: self.arrivals[&here],
                                steps: 0,
                            })
                    {
                        h.remove(i);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn run_within(&mut self, goal: Goal, hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        self.run_within_opts(goal, hits, true)
    }

    /// Runs the live tracee inside the current interval toward `goal`.
    /// `use_breakpoints: false` runs without them (faster, and nothing is
    /// counted), for intervals that are only passed through.
    pub(super) fn run_within_opts(
        &mut self,
        goal: Goal,
        hits: Option<&mut Vec<Hit>>,
        use_breakpoints: bool,
    ) -> Result<Halt> {
        if hits.is_none() && use_breakpoints && self.can_count_arrivals(goal) {
            return self.run_counted(goal);
        }
        let saved = std::mem::take(&mut self.breakpoints);
        let saved_watches = std::mem::take(&mut self.watches);
        if use_breakpoints {
            self.breakpoints = saved.clone();
            self.watches = saved_watches.clone();
        }
        if let Goal::Trigger(watch, _) = goal {
            self.goal_watch = Some(watch);
        }
        let result = match goal {
            // Resuming on `addr` counts the arrival that is there: the
            // counter sees every execution from the interval's start.
            Goal::Arrival(addr, nth) if !self.breakpoints.contains(&addr) && hits.is_none() => {
                self.run_to_arrival(addr, nth, &[], &[])
            }
            Goal::Arrival(addr, nth) if !self.breakpoints.contains(&addr) => {
                let left = nth - self.executions_done(addr)?;
                self.counter = Some(ExecCounter::arm(self.pid(), addr, Some(left), COUNTER_SLOT)?);
                let r = self.run_loop(goal, hits);
                self.counter.take().expect("armed above").disarm()?;
                r
            }
            _ => self.run_loop(goal, hits),
        };
        self.breakpoints = saved;
        self.watches = saved_watches;
        self.goal_watch = None;
        result
    }

    /// Whether a run toward `goal` can count breakpoint arrivals with perf
    /// counters instead of stopping at int3s: from the interval's start,
    /// no watches, and few enough breakpoints for the debug registers.
    pub(super) fn can_count_arrivals(&self, goal: Goal) -> bool {
        let others = self
            .breakpoints
            .iter()
            .filter(|a| !matches!(goal, Goal::Arrival(g, _) if g == **a))
            .count();
        matches!(goal, Goal::Arrival(..) | Goal::End)
            && !self.breakpoints.is_empty()
            && others <= WATCH_SLOTS.len()
            && self.at_interval_start()
            && self.held.is_none()
            && self.watches.is_empty()
            && self.goal_watch.is_none()
            && crate::counter::backend() == crate::counter::Backend::PerfBreakpoint
    }

    /// A run toward `goal` at full speed however often it passes the
    /// breakpoints (a loop can arrive at one millions of times): the
    /// kernel counts the arrivals, so `arrivals` is complete afterwards.
    pub(super) fn run_counted(&mut self, goal: Goal) -> Result<Halt> {
        let others: Vec<RemoteAddr> = self
            .breakpoints
            .iter()
            .copied()
            .filter(|a| !matches!(goal, Goal::Arrival(g, _) if g == *a))
            .collect();
        let mut counters = Vec::new();
        for (&addr, slot) in others.iter().zip(WATCH_SLOTS) {
            counters.push(ExecCounter::arm(self.pid(), addr, None, slot)?);
        }
        let saved = std::mem::take(&mut self.breakpoints);
        let result = match goal {
            Goal::Arrival(addr, nth) => self.run_to_arrival(addr, nth, &others, &counters),
            _ => self.run_loop(goal, None),
        };
        self.breakpoints = saved;
        let mut counts = Vec::new();
        for counter in counters {
            counts.push(counter.count());
            counter.disarm()?;
        }
        let halt = result?;
        // The counts start at the interval's start and include an arrival
        // there, as `arrivals` does.
        for (addr, count) in others.into_iter().zip(counts) {
            self.arrivals.insert(addr, count?);
        }
        if let Goal::Arrival(addr, nth) = goal {
            if self.breakpoints.contains(&addr) {
                self.arrivals.insert(addr, nth);
            }
        }
        Ok(halt)
    }

    /// `cont`'s run: to the next breakpoint, reported watch access or the
    /// interval's end. When it is long, every tick (the caller runs the
    /// ticker) leaves a [`Snapshot`] behind, so that the reverse step a
    /// user typically makes next starts near the stop instead of at the
    /// interval's start.
    ///
    /// [`Snapshot`]: super::checkpoints::Snapshot
    pub(super) fn run_to_breakpoint_snapshotting(&mut self) -> Result<Halt> {
        // A tick that came during the last interval's event was dropped by
        // the replay: let the ticker send again.
        self.tick.store(false, Ordering::SeqCst);
        loop {
            match self.run_within(Goal::Breakpoint, None)? {
                Halt::Tick => {}
                other => return Ok(other),
            }
            // The tick may have stopped the program on a breakpoint before
            // its int3 ran: that is an arrival, and a hit.
            if let Some(addr) = self.breakpoint_here()? {
                self.arrive(addr, None);
                return Ok(Halt::Breakpoint(addr));
            }
            self.take_snapshot()?;
        }
    }

    /// Runs to the interval's end while `counters` count the executions of
    /// `addrs` (every breakpoint), leaving anchors at arrivals at `addrs[0]`
    /// on the way, as [`Timeline::run_to_arrival_anchoring`] does. A
    /// reverse-continue counts the hits this way and then goes to the last
    /// one: from the last anchor that costs a few milliseconds instead of a
    /// second counted run over the whole stretch.
    ///
    /// Returns, with the halt, how many executions `counters[0]` counted
    /// that did not happen: a second perf breakpoint on the same address,
    /// the one that stops at an anchor's arrival, makes the first count
    /// that arrival once more (measured here: one per anchor).
    pub(super) fn run_to_end_anchoring(
        &mut self,
        addrs: &[RemoteAddr],
        counters: &[ExecCounter],
    ) -> Result<(Halt, u64)> {
        let saved = std::mem::take(&mut self.breakpoints);
        let saved_watches = std::mem::take(&mut self.watches);
        let mut phantom = 0;
        let every = self.anchor_ticks();
        let result = self.with_ticks(every, |this| loop {
            match this.run_loop(Goal::End, None)? {
                Halt::Tick => {}
                other => return Ok(other),
            }
            let Some(&first) = addrs.first() else { continue };
            // The next arrival at the first breakpoint is named and near.
            let done = counters[0].count()? - phantom;
            match this.run_to_next_arrival(first, done + 1)? {
                Halt::Reached => {}
                Halt::Tick => continue,
                other => return Ok(other),
            }
            // Nothing ran `first` between the tick and this arrival.
            phantom = counters[0].count()? - done;
            let mut counts = HashMap::new();
            for (&addr, counter) in addrs.iter().zip(counters).skip(1) {
                counts.insert(addr, counter.count()?);
            }
            // Standing on it: an arrival, not yet an execution.
            counts.insert(first, done + 1);
            this.add_anchor(Position::arrival(this.at.event, first, done + 1, 0), counts)?;
        });
        self.breakpoints = saved;
        self.watches = saved_watches;
        Ok((result?, phantom))
    }

    /// A counted run to the `nth` arrival at `addr` that leaves anchors on
    /// the way (see [`Timeline::run_to_arrival_anchoring`]).
    pub(super) fn run_to_arrival(
        &mut self,
        addr: RemoteAddr,
        nth: u64,
        others: &[RemoteAddr],
        counters: &[ExecCounter],
    ) -> Result<Halt> {
        let every = self.anchor_ticks();
        self.with_ticks(every, |this| this.run_to_arrival_anchoring(addr, nth, others, counters))
    }

    /// Runs to the `nth` arrival at `addr` with a counter, and on the way,
    /// each time the ticker fires, to the next arrival at `addr`, where it
    /// leaves an anchor: a checkpoint whose arrival counts (`addr`'s and
    /// those of `others`, counted by `counters`) are known, so that later
    /// runs to arrivals at `addr` start from the last anchor before them
    /// instead of from the interval's start.
    pub(super) fn run_to_arrival_anchoring(
        &mut self,
        addr: RemoteAddr,
        nth: u64,
        others: &[RemoteAddr],
        counters: &[ExecCounter],
    ) -> Result<Halt> {
        let mut done = self.executions_done(addr)?;
        loop {
            let counter = ExecCounter::arm(self.pid(), addr, Some(nth - done), COUNTER_SLOT)?;
            self.counter = Some(counter);
            let halt = self.run_loop(Goal::Arrival(addr, nth), None);
            let counter = self.counter.take().expect("armed above");
            let ran = counter.count();
            counter.disarm()?;
            match halt? {
                Halt::Tick => done += ran?,
                other => return Ok(other),
            }
            // The counter's own signal can merge into the tick's (one
            // SIGSTKFLT pending at a time): then the goal is reached.
            if done + 1 >= nth {
                if done >= nth {
                    return Ok(Halt::Reached);
                }
                continue;
            }
            // The next arrival is named and near: put an anchor there.
            match self.run_to_next_arrival(addr, done + 1)? {
                Halt::Reached => {}
                Halt::Tick => continue,
                other => return Ok(other),
            }
            // Breakpoints are counted either by int3 (in `arrivals`) or, in a
            // counted run, by `counters`.
            let mut counts = self.arrivals.clone();
            for (&other, counter) in others.iter().zip(counters) {
                counts.insert(other, counter.count()?);
            }
            counts.insert(addr, done + 1);
            self.add_anchor(Position::arrival(self.at.event, addr, done + 1, 0), counts)?;
        }
    }

    /// How often a long run in this interval stops to leave an anchor or a
    /// snapshot: every `ANCHOR_EVERY`, or never when the interval's event is
    /// a signal placed by count, which a fork in the middle of the interval
    /// would restart (see `Timeline::checkpoint`).
    fn anchor_ticks(&self) -> Option<Duration> {
        (!self.next_event_is_placed_signal()).then_some(ANCHOR_EVERY)
    }

    /// Runs to the next arrival at `addr`, which is arrival `nth` in this
    /// interval (a tick may stop the run first).
    fn run_to_next_arrival(&mut self, addr: RemoteAddr, nth: u64) -> Result<Halt> {
        self.counter = Some(ExecCounter::arm(self.pid(), addr, Some(1), COUNTER_SLOT)?);
        let halt = self.run_loop(Goal::Arrival(addr, nth), None);
        self.counter.take().expect("armed above").disarm()?;
        halt
    }

    /// How many times the instruction at `addr` has run in this interval,
    /// from `arrivals` (an arrival standing at `addr` has not run yet).
    pub(super) fn executions_done(&self, addr: RemoteAddr) -> Result<u64> {
        let arrived = self.arrivals.get(&addr).copied().unwrap_or(0);
        let standing = self.live.tracee().regs()?.rip == addr.0 && arrived > 0;
        Ok(arrived - u64::from(standing))
    }

    pub(super) fn at_interval_start(&self) -> bool {
        self.at.point == (Point::Start { steps: 0 })
    }

    pub(super) fn run_loop(&mut self, goal: Goal, hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        let result = self.run_loop_published(goal, hits);
        self.running.store(0, Ordering::SeqCst);
        result
    }

    /// [`Timeline::run_loop`], which publishes the live pid while the
    /// program runs freely.
    pub(super) fn run_loop_published(&mut self, goal: Goal, mut hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        loop {
            // Standing on a breakpoint's address: that arrival was already
            // seen, so execute the instruction before putting int3s back.
            let rip = RemoteAddr(self.live.tracee().regs()?.rip);
            if self.held.is_none() && self.breakpoints.contains(&rip) {
                match self.step_once(hits.as_deref_mut())? {
                    Halt::Event => return Ok(Halt::Event),
                    _ => {
                        let here = RemoteAddr(self.live.tracee().regs()?.rip);
                        if self.breakpoints.contains(&here) {
                            if let Some(h) = self.goal_met(goal, here) {
                                return Ok(h);
                            }
                        }
                        continue;
                    }
                }
            }
            self.sync_watches()?;
            self.insert_breakpoints()?;
            self.running.store(self.pid().as_raw(), Ordering::SeqCst);
            self.live.resume(Resume::Cont)?;
            loop {
                let stop = self.live.tracee().wait()?;
                match stop {
                    Stop::Signal(sig) if self.is_interrupt(sig)? => {
                        self.remove_breakpoints()?;
                        return Err(Error::Interrupted);
                    }
                    Stop::Signal(sig) if self.alarm_rang(sig)? => {
                        self.remove_breakpoints()?;
                        return Ok(Halt::Tick);
                    }
                    Stop::Signal(sig) if self.is_tick(sig)? => {
                        self.tick.store(false, Ordering::SeqCst);
                        if self.ticks_wanted {
                            self.remove_breakpoints()?;
                            return Ok(Halt::Tick);
                        }
                        self.live.resume(Resume::Cont)?;
                    }
                    Stop::Signal(sig) => {
                        let info = self.live.tracee().siginfo()?;
                        if sig == libc::SIGTRAP && si_code(&info) == SI_KERNEL {
                            let mut regs = self.live.tracee().regs()?;
                            let bp = RemoteAddr(regs.rip.wrapping_sub(1));
                            if self.inserted.iter().any(|(a, _)| *a == bp) {
                                self.remove_breakpoints()?;
                                regs.rip = bp.0;
                                self.live.tracee().set_regs(&regs)?;
                                self.arrive(bp, hits.as_deref_mut());
                                if let Some(h) = self.goal_met(goal, bp) {
                                    return Ok(h);
                                }
                                break;
                            }
                        }
                        let fired = if sig == libc::SIGTRAP && si_code(&info) == TRAP_HWBKPT {
                            self.take_triggers()?
                        } else {
                            Vec::new()
                        };
                        if !fired.is_empty() {
                            let reported = self.note_triggers(&fired, hits.as_deref_mut())?;
                            let halt = match (goal, reported) {
                                (Goal::Trigger(w, nth), _) if self.triggers.get(&w) == Some(&nth) => {
                                    Some(Halt::Reached)
                                }
                                (Goal::Breakpoint, Some(w)) => Some(Halt::Watch(w)),
                                _ => None,
                            };
                            if let Some(halt) = halt {
                                self.remove_breakpoints()?;
                                return Ok(halt);
                            }
                        }
                        match self.counter_stop(sig, &info)? {
                            Some(CounterStop::Counted) => {
                                self.live.resume(Resume::Cont)?;
                                continue;
                            }
                            Some(CounterStop::Reached) => {
                                self.remove_breakpoints()?;
                                return Ok(Halt::Reached);
                            }
                            None if !fired.is_empty() => {
                                self.live.resume(Resume::Cont)?;
                                continue;
                            }
                            None => {}
                        }
                        if self.live.is_signal_event(sig, si_code(&info)) {
                            self.remove_breakpoints()?;
                            self.held = Some(stop);
                            return Ok(Halt::Event);
                        }
                        self.pass_to_session(stop)?;
                    }
                    Stop::Seccomp => {
                        self.remove_breakpoints()?;
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    Stop::EventStop(sig) if self.live.switch_armed() || self.live.is_group_stop_event(sig) => {
                        self.remove_breakpoints()?;
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    other => self.pass_to_session(other)?,
                }
            }
        }
    }

    /// Whether a signal stop is the anchor ticker's.
    pub(super) fn is_tick(&self, sig: i32) -> Result<bool> {
        if sig != crate::counter::COUNTER_SIGNAL || !self.tick.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let info = self.live.tracee().siginfo()?;
        Ok(si_code(&info) == libc::SI_TKILL)
    }

    /// Whether a signal stop is the CPU-time alarm's (see `Timeline::alarm`).
    fn alarm_rang(&self, sig: i32) -> Result<bool> {
        match &self.alarm {
            Some(alarm) if sig == crate::counter::COUNTER_SIGNAL => alarm.rang(sig, &self.live.tracee().siginfo()?),
            _ => Ok(false),
        }
    }

    /// Whether a signal stop is an [`Interrupter`]'s, sent by rback itself.
    pub(super) fn is_interrupt(&self, sig: i32) -> Result<bool> {
        if sig != crate::counter::COUNTER_SIGNAL || self.settling || !self.interrupted.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let info = self.live.tracee().siginfo()?;
        Ok(si_code(&info) == libc::SI_TKILL)
    }

    pub(super) fn counter_stop(&mut self, sig: i32, info: &crate::sys::SiginfoBytes) -> Result<Option<CounterStop>> {
        match self.counter.as_mut() {
            Some(c) => c.on_signal_stop(sig, info),
            None => Ok(None),
        }
    }

    /// Stops of the replay's own machinery (its signal placement, strays):
    /// the session deals with them and lets the tracee run on.
    pub(super) fn pass_to_session(&mut self, stop: Stop) -> Result<()> {
        match self.live.handle(stop)? {
            Step::Continue => Ok(()),
            Step::Finished(_) => Err(Error::Program("the program ended in the middle of an interval".into())),
            Step::Boundary | Step::Located(_) => Err(Error::Program(format!(
                "internal error: unexpected replay step at {stop:?}"
            ))),
        }
    }

    pub(super) fn goal_met(&self, goal: Goal, at: RemoteAddr) -> Option<Halt> {
        match goal {
            Goal::Breakpoint => Some(Halt::Breakpoint(at)),
            Goal::Arrival(addr, nth) if addr == at && self.arrivals.get(&addr) == Some(&nth) => Some(Halt::Reached),
            _ => None,
        }
    }

    /// Executes one instruction (breakpoints out). An event instead of an
    /// instruction (a syscall, a fault, a pending signal) is held.
    pub(super) fn step_once(&mut self, mut hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        self.stepped_watch = None;
        self.sync_watches()?;
        self.live.resume(Resume::Step)?;
        loop {
            let stop = self.live.tracee().wait()?;
            match stop {
                Stop::Seccomp => {
                    self.held = Some(stop);
                    return Ok(Halt::Event);
                }
                Stop::Signal(sig) => {
                    let info = self.live.tracee().siginfo()?;
                    let code = si_code(&info);
                    let fired = if sig == libc::SIGTRAP {
                        self.take_triggers()?
                    } else {
                        Vec::new()
                    };
                    // The access was made by the instruction just executed.
                    if !fired.is_empty() {
                        self.stepped_watch = self.note_triggers(&fired, hits.as_deref_mut())?;
                    }
                    if let Some(CounterStop::Counted) = self.counter_stop(sig, &info)? {
                        // Stopped before an instruction, not after one.
                        self.live.resume(Resume::Step)?;
                        continue;
                    }
                    // A step that also fires a watch may report either code.
                    if sig == libc::SIGTRAP && (code != TRAP_HWBKPT || !fired.is_empty()) {
                        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
                        self.arrive(rip, hits);
                        return Ok(Halt::Stepped);
                    }
                    if self.live.is_signal_event(sig, code) {
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    self.pass_to_session(stop)?;
                }
                Stop::EventStop(sig) if self.live.switch_armed() || self.live.is_group_stop_event(sig) => {
                    self.held = Some(stop);
                    return Ok(Halt::Event);
                }
                other => self.pass_to_session(other)?,
            }
        }
    }

    /// Counts an arrival at `addr` if it is a breakpoint.
    pub(super) fn arrive(&mut self, addr: RemoteAddr, hits: Option<&mut Vec<Hit>>) {
        if !self.breakpoints.contains(&addr) {
            return;
        }
        let n = self.arrivals.entry(addr).or_insert(0);
        *n += 1;
        if let Some(h) = hits {
            h.push(Hit::breakpoint(Position::arrival(self.at.event, addr, *n, 0)));
        }
    }

    pub(super) fn at_stepped(&mut self) -> Result<()> {
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        self.at = match self.at.point {
            _ if self.arrivals_known && self.breakpoints.contains(&rip) => {
                Position::arrival(self.at.event, rip, self.arrivals[&rip], 0)
            }
            Point::Start { steps } => Position {
                point: Point::Start { steps: steps + 1 },
                ..self.at
            },
            Point::Arrival { .. } | Point::Before { .. } => {
                let steps = self.at.point.steps();
                self.at.with_steps(steps + 1)
            }
            Point::Trigger { watch, nth, steps } => Position {
                point: Point::Trigger {
                    watch,
                    nth,
                    steps: steps + 1,
                },
                ..self.at
            },
            Point::End => unreachable!("stepping from an end replays the event"),
        };
        Ok(())
    }

    /// The breakpoint the tracee stands on, if any: at an interval's start
    /// that arrival is a hit.
    pub(super) fn breakpoint_here(&self) -> Result<Option<RemoteAddr>> {
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        Ok(self.breakpoints.contains(&rip).then_some(rip))
    }

    pub(super) fn insert_breakpoints(&mut self) -> Result<()> {
        for &addr in &self.breakpoints {
            // Not mapped here (a library the program loads later, going
            // back to before it was loaded): nothing there can run either.
            let Ok(old) = self.live.tracee().read_bytes(addr, 1) else {
                continue;
            };
            self.live.tracee().write_bytes(addr, &[0xcc])?;
            self.inserted.push((addr, old[0]));
        }
        Ok(())
    }

    pub(super) fn remove_breakpoints(&mut self) -> Result<()> {
        for (addr, old) in std::mem::take(&mut self.inserted) {
            self.live.tracee().write_bytes(addr, &[old])?;
        }
        Ok(())
    }
}
