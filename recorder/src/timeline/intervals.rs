//! Interval boundaries: replaying the event that ends an interval
//! (`apply_held`, which also takes automatic checkpoints), whether an
//! event ends the program, and, for a live recording, letting the program
//! go on until an interval exists and showing its output once.

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::live::Frontier;
use crate::replay::Step;
use crate::trace::{Event, Left};
use crate::tracee::{Resume, Stop};
use crate::{Error, EventIdx, RemoteAddr, Result};

use super::checkpoints::{is_auto, CPU_CHECK_AFTER, CPU_CHECK_EVENTS};
use super::{OutputTo, Point, Position, StopReason, Timeline};

/// Whether `event` happens at a count of executions from its interval's
/// start (an asynchronous signal or a preemption in a loop), which a
/// checkpoint in the middle of the interval would restart.
pub(super) fn placed_by_count(event: Option<&Event>) -> bool {
    match event {
        Some(Event::Signal(s)) => s.at_execution.is_some(),
        Some(Event::Switch(s)) => matches!(
            s.left,
            crate::trace::Left::Preempted {
                at: crate::trace::Placement::Count(_),
                ..
            }
        ),
        _ => false,
    }
}

impl Timeline {
    /// Replays the held event: the program moves to the next interval.
    pub(super) fn apply_held(&mut self) -> Result<()> {
        if let Some(recording) = &self.frontier {
            if !recording.record_through(self.at.event, &self.interrupted)? {
                return Err(Error::Program("the program ended".into()));
            }
        }
        let stop = self.held.take().expect("an interval's end holds its event's stop");
        match self.live.handle(stop)? {
            Step::Boundary => {}
            Step::Finished(_) => return Err(Error::Program("the program ended".into())),
            Step::Continue | Step::Located(_) => {
                return Err(Error::Program(format!(
                    "internal error: event {} did not complete",
                    self.at.event
                )))
            }
        }
        self.at_boundary()
    }

    /// The program stands at an interval's start after replaying one event
    /// or more: name the place, and take an automatic checkpoint if one is
    /// due.
    fn at_boundary(&mut self) -> Result<()> {
        #[cfg(test)]
        {
            self.boundaries += 1;
        }
        // Usually one event; an execve's syscall and the exec it made are
        // replayed together, and the turns of processes the timeline does
        // not follow are passed over (their output is shown all the same).
        for e in self.at.event.0..self.live.next_event_index().0 {
            self.show_output_once(EventIdx(e));
            if matches!(self.log.get(EventIdx(e)), Some(Event::Exec(_))) {
                self.exec_passed = true;
            }
        }
        self.at = Position::start(self.live.next_event_index());
        self.arrivals.clear();
        self.triggers.clear();
        self.arrivals_known = true;
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        self.arrive(rip, None);
        if self.has_checkpoint_at(self.at) {
            self.cpu_mark = self.live_cpu_ns();
            return Ok(());
        }
        let last_auto = self
            .checkpoints
            .iter()
            .filter(|c| is_auto(c))
            .map(|c| c.position.event.0)
            .filter(|e| *e <= self.at.event.0)
            .max()
            .unwrap_or(0);
        let since = self.at.event.0 - last_auto;
        // The CPU time is read every few events, and after any event that
        // took long to reach (a long syscall-free stretch).
        let check_cpu = since.is_multiple_of(CPU_CHECK_EVENTS)
            || std::mem::take(&mut self.cpu_check_due)
            || self.last_cpu_check.elapsed() >= CPU_CHECK_AFTER;
        let due = since >= self.policy.every_events
            || (check_cpu && {
                self.last_cpu_check = Instant::now();
                self.live_cpu_ns().saturating_sub(self.cpu_mark) >= self.policy.every_cpu.as_nanos() as u64
            });
        if due && self.live.can_fork() {
            self.add_checkpoint(None)?;
        }
        Ok(())
    }

    /// Whether no breakpoint or watch could stop a movement anywhere.
    pub(super) fn nothing_to_stop_at(&self) -> bool {
        self.breakpoints.is_empty() && self.watches.is_empty() && self.goal_watch.is_none()
    }

    /// Whether whole intervals can be replayed at autopilot speed: nothing
    /// can stop the program before their ends (no breakpoint, no watch) and
    /// nothing needs each boundary (a live recording shows output there).
    pub(super) fn can_fly(&self) -> bool {
        self.nothing_to_stop_at()
            && self.counter.is_none()
            && self.frontier.is_none()
            && self.held.is_none()
            && self.at.point == Point::Start { steps: 0 }
    }

    /// Replays from an interval's start towards the start of interval
    /// `until` (not past the last one, nor into a signal's interval when
    /// `to_signal`: `cont` stops before those) the way `rback replay -a`
    /// does: the replay does not stop at each event's end (that stop costs
    /// a ptrace round trip per event), only where an automatic checkpoint
    /// may be due. Returns with the program at an interval's start, at
    /// `until` or before it.
    pub(super) fn fly(&mut self, until: EventIdx, to_signal: bool) -> Result<()> {
        let from = self.at.event.0;
        // Where the checkpoint policy looks: at the CPU time every
        // `fly_stride` events, and `every_events` after the last automatic
        // checkpoint.
        let last_auto = self
            .checkpoints
            .iter()
            .filter(|c| is_auto(c))
            .map(|c| c.position.event.0)
            .filter(|e| *e <= from)
            .max()
            .unwrap_or(0);
        let next_check = from + self.fly_stride;
        let mut stop = until.0.min(next_check).min(last_auto + self.policy.every_events.max(1));
        // The program's end, and signals for `cont`, are left to the
        // interval-by-interval path.
        let ends = |e: u64| match self.log.get(EventIdx(e)) {
            None => true,
            Some(Event::Signal(_)) => to_signal,
            Some(_) => self.ends_followed(EventIdx(e)),
        };
        if let Some(e) = (from..=stop + 1).find(|&e| ends(e)) {
            stop = stop.min(e.saturating_sub(1));
        }
        if stop <= from + 1 {
            return Ok(());
        }
        let cpu_before = self.live_cpu_ns();
        // The program takes the buffered calls of the way from its buffer
        // without a stop each, as in `replay -a`; those before the last
        // event only, whose end stops.
        let result = self
            .live
            .write_ahead_until(Some(EventIdx(stop - 1)))
            .and_then(|()| self.fly_to(EventIdx(stop)));
        let ahead_ends = self.live.write_ahead_until(None);
        self.running.store(0, Ordering::SeqCst);
        self.live.set_stop_at_boundaries(true);
        let result = result.and(ahead_ends);
        match result {
            Ok(()) => {
                self.adapt_fly_stride(self.live.next_event_index().0.saturating_sub(from), cpu_before);
                self.cpu_check_due = true;
                self.at_boundary()
            }
            Err(e) => {
                // Somewhere inside the interval the program is in: only its
                // start has a name there.
                self.at = Position::start(self.live.next_event_index());
                self.arrivals_known = false;
                Err(e)
            }
        }
    }

    /// Sets how many events the next fly may pass before it looks at the
    /// CPU time, from what the last `events` cost (the program's CPU time
    /// was `cpu_before` when they began): as many as should take no more
    /// than a quarter of the CPU time between checkpoints, between
    /// `CPU_CHECK_EVENTS` (what the interval-by-interval path does) and
    /// the events between checkpoints.
    fn adapt_fly_stride(&mut self, events: u64, cpu_before: u64) {
        let used = self.live_cpu_ns().saturating_sub(cpu_before).max(1);
        let allowed = self.policy.every_cpu.as_nanos() as u64 / 4;
        let stride = events.max(1).saturating_mul(allowed) / used;
        self.fly_stride = stride.clamp(CPU_CHECK_EVENTS, self.policy.every_events.max(CPU_CHECK_EVENTS));
    }

    /// [`Timeline::fly`]'s loop: runs until the replay stops at the start
    /// of interval `stop`.
    fn fly_to(&mut self, stop: EventIdx) -> Result<()> {
        self.running.store(self.pid().as_raw(), Ordering::SeqCst);
        self.live.resume(Resume::Cont)?;
        loop {
            let stop_here = self.live.tracee().wait()?;
            if let Stop::Signal(sig) = stop_here {
                if self.is_interrupt(sig)? {
                    return Err(Error::Interrupted);
                }
                if self.is_tick(sig)? {
                    self.tick.store(false, Ordering::SeqCst);
                    self.live.resume(Resume::Cont)?;
                    continue;
                }
            }
            // Only the last event's end stops (a step that passes over the
            // turns of other processes may go past `stop` at once).
            let last = self.start_after(self.live.next_event_index()) >= stop;
            self.live.set_stop_at_boundaries(last);
            match self.live.handle(stop_here)? {
                Step::Continue => {}
                Step::Boundary => return Ok(()),
                Step::Finished(_) => return Err(Error::Program("the program ended".into())),
                Step::Located(_) => {
                    return Err(Error::Program(format!(
                        "internal error: unexpected replay step at {stop_here:?}"
                    )))
                }
            }
        }
    }

    /// Leaves an interval's end forward. `Some` when that is not possible.
    pub(super) fn leave_end(&mut self) -> Result<Option<StopReason>> {
        if self.is_final(self.at.event)? {
            return Ok(Some(StopReason::EndOfRecording));
        }
        self.apply_held()?;
        Ok(None)
    }

    /// Whether replaying event `event` ends the program (nothing to stand
    /// on after it). A live program is let go on far enough to tell.
    pub(super) fn is_final(&mut self, event: EventIdx) -> Result<bool> {
        if let Some(recording) = &self.frontier {
            recording.record_through(event, &self.interrupted)?;
            if self.log.get(event).is_some_and(crate::live::may_end_after) {
                recording.reach(EventIdx(event.0 + 1), &self.interrupted)?;
            }
        }
        Ok(self.is_final_recorded(event))
    }

    /// [`Timeline::is_final`] as far as the log knows now.
    pub(super) fn is_final_recorded(&self, event: EventIdx) -> bool {
        // An event not recorded yet ends nothing while the program lives.
        let unknown_is_end = self.frontier.as_ref().is_none_or(|f| f.frontier() == Frontier::Ended);
        let ends = |e: EventIdx| match self.log.get(e) {
            Some(_) => self.ends_followed(e),
            None => unknown_is_end,
        };
        ends(EventIdx(event.0 + 1)) || ends(event)
    }

    /// Whether event `e` ends what the timeline follows: the program's
    /// `Exit`, or the end of the followed process (not of another whose
    /// turns the replay passes over).
    fn ends_followed(&self, e: EventIdx) -> bool {
        match self.log.get(e) {
            Some(Event::Exit(_)) => true,
            Some(Event::Switch(s)) if matches!(s.left, crate::trace::Left::ProcessExited(_)) => {
                let mut turns = self.process_turns.lock().unwrap_or_else(|e| e.into_inner());
                turns.process_at(&self.log, e) == Some(self.live.followed_process())
            }
            _ => false,
        }
    }

    /// The event whose interval end the program leaves for the start of
    /// interval `e` (`None` for the first interval): usually `e - 1`, but
    /// some events are replayed in the step that replays the one before,
    /// and so have no interval end of their own (see
    /// [`Timeline::replayed_with_previous`]).
    pub(super) fn event_before(&self, e: EventIdx) -> Option<EventIdx> {
        let mut d = e.0;
        while d > 1 {
            d -= 1;
            if !self.replayed_with_previous(EventIdx(d)) {
                return Some(EventIdx(d));
            }
        }
        None
    }

    /// The interval whose start the program stands at after event `e` is
    /// replayed (with the events replayed in the same step).
    pub(super) fn start_after(&self, e: EventIdx) -> EventIdx {
        let mut d = EventIdx(e.0 + 1);
        while d < self.log.len() && self.replayed_with_previous(d) {
            d.0 += 1;
        }
        d
    }

    /// Whether event `e` is replayed in the same step as the event before
    /// it: an exec with its execve; the switch away from a process that a
    /// stop signal stopped, with that signal (the replay delivers it and
    /// sees the stop); the switch to a vfork's child, with the vfork; and
    /// every event of a process the timeline does not follow, which the
    /// replay passes over on its way to the next one it runs.
    pub(super) fn replayed_with_previous(&self, e: EventIdx) -> bool {
        match self.log.get(e) {
            Some(Event::Exec(_)) => true,
            Some(Event::Switch(s)) if matches!(s.left, Left::Stopped { .. } | Left::InVfork) => true,
            Some(_) => {
                let mut turns = self.process_turns.lock().unwrap_or_else(|e| e.into_inner());
                turns
                    .process_at(&self.log, e)
                    .is_some_and(|p| !self.followed_runs.runs(p, e))
            }
            None => false,
        }
    }

    /// Whether the code before event `e` can be replayed: `e` is in the
    /// recording and is not the program's end. For a live recording this
    /// lets the program go on until it gets to `e`, which may take a while
    /// (Ctrl-C ends the wait).
    pub(super) fn interval_exists(&mut self, e: EventIdx) -> Result<bool> {
        let Some(recording) = &self.frontier else {
            return Ok(e < self.log.len());
        };
        let known_before = e < self.log.len();
        if !recording.reach(e, &self.interrupted)? {
            return Ok(false);
        }
        if matches!(self.log.get(e), Some(Event::Exit(_))) {
            return Ok(false);
        }
        // The replay passed into this interval before its event was known:
        // raise or arm now what that event needs (a signal, say).
        if !known_before && e < self.log.len() && self.at == Position::start(e) && self.held.is_none() {
            self.live.prepare()?;
        }
        Ok(true)
    }

    /// Shows the terminal output of event `e`, the first time the replay
    /// gets past it (see `show_program_output`).
    pub(super) fn show_output_once(&mut self, e: EventIdx) {
        let Some(to) = self.show_output.filter(|_| e >= self.shown_up_to) else {
            return;
        };
        self.shown_up_to = EventIdx(e.0 + 1);
        if let Some(Event::Syscall(call)) = self.log.get(e) {
            if let Some(output) = &call.output {
                match to {
                    OutputTo::Streams => crate::replay::echo(output),
                    OutputTo::Stderr => {
                        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), &output.bytes);
                    }
                }
            }
        }
    }

    /// The last interval whose start exists.
    pub(super) fn last_start(&self) -> EventIdx {
        let mut e = EventIdx(1);
        while e.0 < self.log.len().0 && !self.is_final_recorded(e) {
            e.0 += 1;
        }
        e
    }

    pub(super) fn next_event_is_placed_signal(&self) -> bool {
        placed_by_count(self.log.get(self.at.event))
    }
}
