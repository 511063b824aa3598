//! Interval boundaries: replaying the event that ends an interval
//! (`apply_held`, which also takes automatic checkpoints), whether an
//! event ends the program, and, for a live recording, letting the program
//! go on until an interval exists and showing its output once.

use std::time::Instant;

use crate::live::Frontier;
use crate::replay::Step;
use crate::trace::Event;
use crate::{Error, EventIdx, RemoteAddr, Result};

use super::checkpoints::{is_auto, CPU_CHECK_AFTER, CPU_CHECK_EVENTS};
use super::{Position, StopReason, Timeline};

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
        // Usually one event; an execve's syscall and the exec it made are
        // replayed together, and the turns of processes the timeline does
        // not follow are passed over (their output is shown all the same).
        for e in self.at.event.0..self.live.next_event_index().0 {
            self.show_live_output(EventIdx(e));
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
        let check_cpu = since.is_multiple_of(CPU_CHECK_EVENTS) || self.last_cpu_check.elapsed() >= CPU_CHECK_AFTER;
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
            Some(Event::Exit(_)) => true,
            // The followed process ends (the timeline follows one), not
            // another whose turns the replay passes over.
            Some(Event::Switch(s)) if matches!(s.left, crate::trace::Left::ProcessExited(_)) => {
                let mut turns = self.process_turns.lock().unwrap_or_else(|e| e.into_inner());
                turns.process_at(&self.log, e) == Some(self.live.followed_process())
            }
            Some(_) => false,
            None => unknown_is_end,
        };
        ends(EventIdx(event.0 + 1)) || ends(event)
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

    /// Shows the terminal output of event `e` of a live recording, the first
    /// time the replay gets past it (the live program wrote nothing).
    pub(super) fn show_live_output(&mut self, e: EventIdx) {
        if self.frontier.is_none() || e < self.shown_up_to {
            return;
        }
        self.shown_up_to = EventIdx(e.0 + 1);
        if let Some(Event::Syscall(call)) = self.log.get(e) {
            if let Some(output) = &call.output {
                crate::replay::echo(output);
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
