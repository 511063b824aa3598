//! When a thread's turn ends, and who runs next: a blocking call, an
//! exit (of a thread, or of its whole process), or a preemption of a
//! thread that has run long enough while others could (see `scheduler`).

use std::time::Instant;

use super::{Recorder, LONG_TURN, MAX_TIMESLICE, TIMESLICE};
use crate::scheduler::{GroupStop, Task, TaskState};
use crate::statepoint;
use crate::trace::{Event, ExitStatus, Left, Placement, Registers, SwitchEvent};
use crate::tracee::{self, Regs, Resume, Stop};
use crate::{Error, Result};

impl Recorder {
    /// The current thread is gone, and its whole process with it (the
    /// current thread reported `status`): reaps the process's other
    /// threads, then gives the turn to another process, or, when none is
    /// left, records the program's end and returns its status, which is
    /// the first process's.
    pub(super) fn current_exited(&mut self, status: ExitStatus) -> Result<Option<ExitStatus>> {
        let tgid = self.tracee.tgid;
        self.buffers.ended(tgid);
        self.shared_memory.forget(tgid);
        if self.tracee.pid == self.waiting.root {
            self.waiting.root_status = Some(status);
        }
        self.waiting.reap_process(tgid)?;
        if self.waiting.is_empty() || !self.end_turn(Left::ProcessExited(status), None)? {
            let status = self.waiting.root_status.unwrap_or(status);
            self.writer.write_event(&Event::Exit(status))?;
            return Ok(Some(status));
        }
        Ok(None)
    }

    /// Ends the current thread's turn, which `left` says where, and gives
    /// the turn to the next thread that can run (waiting for one if need
    /// be). `keep` is what becomes of the current thread (`None`: it has
    /// exited). Returns `false` if no thread is left to run: the program
    /// has ended, and its end is the current thread's next stop.
    pub(super) fn end_turn(&mut self, left: Left, keep: Option<TaskState>) -> Result<bool> {
        self.end_turn_as(left, keep.map(|state| (state, GroupStop::Out)))
    }

    /// [`Recorder::end_turn`], with the group stop the current thread is
    /// kept in, if it is kept.
    pub(super) fn end_turn_as(&mut self, left: Left, keep: Option<(TaskState, GroupStop)>) -> Result<bool> {
        if std::mem::take(&mut self.signal_sent) {
            // Threads SIGKILLed while they waited never run again, and a
            // call of theirs that ended is never seen: dropping them reaps
            // them. (Looked at only after a signal was sent: reading
            // /proc for every thread at every switch costs as much as the
            // switch.)
            self.waiting.drop_dying();
        }
        // The current thread is left in a group stop, out of its ptrace
        // stop: it can report while the next thread is waited for.
        let listening = matches!(keep, Some((_, GroupStop::Stopped)));
        let next = loop {
            if let Some(next) = self.waiting.take_next() {
                break next;
            }
            if self.waiting.is_empty() {
                return Ok(false);
            }
            self.writer.flush()?;
            if let Some((pid, stop)) = tracee::wait_any(true)? {
                if pid == self.tracee.pid && listening {
                    // The current thread, left in a group stop while every
                    // other thread waits, reports its end (a SIGCONT from
                    // outside the program, or a kill): its turn goes on
                    // from there, as if the stop had been resumed at once.
                    self.pending_stop = Some(stop);
                    return Ok(false);
                }
                self.waiting.note_stop(pid, stop)?;
            }
        };
        let Task {
            tracee, state, signal, ..
        } = next;
        let (to, process) = (tracee.pid.as_raw(), tracee.tgid.as_raw());
        let departing = std::mem::replace(&mut self.tracee, tracee);
        let shared = if departing.tgid == self.tracee.tgid {
            vec![]
        } else {
            self.shared_memory.switched(departing.tgid, self.tracee.tgid)
        };
        match keep {
            Some((state, group)) => self.waiting.push_in(departing, state, group),
            // A first thread that exits before the others stays a zombie.
            None if departing.pid == departing.tgid
                && (self.tracee.tgid == departing.tgid || self.waiting.has_thread_of(departing.tgid)) =>
            {
                self.waiting.add_zombie(departing)
            }
            None => drop(departing),
        }
        self.writer.write_event(&Event::Switch(Box::new(SwitchEvent {
            to,
            process,
            left,
            shared,
        })))?;
        self.turn_since = Instant::now();
        match state {
            TaskState::Ready => {
                self.last_exit_regs = Some(self.tracee.regs()?);
            }
            TaskState::CallDone(call, exit_regs) => {
                self.log_call_end(&call, exit_regs.rax as i64)?;
                self.last_exit_regs = Some(*exit_regs);
            }
            TaskState::VforkDone(exit_regs) => self.last_exit_regs = Some(*exit_regs),
            TaskState::Starting | TaskState::InSyscall(_) | TaskState::InVfork => {
                unreachable!("only threads that can run get a turn")
            }
        }
        if let Some(sig) = signal {
            // It stands at that signal's stop: handled as its next stop.
            self.pending_stop = Some(Stop::Signal(sig));
            return Ok(true);
        }
        self.tracee.resume(Resume::Cont, 0)?;
        Ok(true)
    }

    /// The current thread has run for a timeslice while another could, and
    /// stands where rback interrupted it. A thread spinning in a loop whose
    /// state repeats (waiting for another thread) is preempted at a point
    /// replay finds by count, cheaply. A thread that does real work runs on
    /// (a longer timeslice each time) until it blocks or exits, unless it
    /// has run for [`LONG_TURN`] while others wait: then it is preempted at
    /// a point named by state, which replay finds at close to native speed
    /// but not for free, so that a thread that waits for another with a
    /// loop that counts cannot starve it for ever.
    pub(super) fn try_preempt(&mut self) -> Result<()> {
        self.interrupted = false;
        let placed = match self.leave_buffered_call()? {
            false => None,
            true => self.spinning_here()?,
        };
        let placed = match placed {
            Some(placed) => Some(placed),
            None if self.pending_stop.is_none() && self.turn_since.elapsed() >= LONG_TURN => {
                self.find_placement("a thread switch")?
            }
            None => None,
        };
        match placed {
            Some((regs, at)) => {
                self.timeslice = TIMESLICE;
                let left = Left::Preempted {
                    regs: Box::new(Registers::from(&regs)),
                    at,
                };
                self.end_turn(left, Some(TaskState::Ready))?;
                Ok(())
            }
            _ => {
                self.timeslice = (self.timeslice * 2).min(MAX_TIMESLICE);
                if self.pending_stop.is_some() {
                    return Ok(());
                }
                self.tracee.resume(Resume::Cont, 0)
            }
        }
    }

    /// Whether the current thread, stopped where rback interrupted it,
    /// spins: it comes round to the same instruction in the same state. It
    /// is then left at such a visit, placed by count. Registers are
    /// compared first, so a thread that does real work costs two debug
    /// breakpoint stops here, not copies of its memory.
    pub(super) fn spinning_here(&mut self) -> Result<Option<(Regs, Placement)>> {
        let rip = self.tracee.regs()?.rip;
        if !self.run_to(rip)? {
            return Ok(None);
        }
        let first = self.tracee.regs()?;
        if !self.run_to(rip)? || !tracee::same_program_state(&self.tracee.regs()?, &first) {
            return Ok(None);
        }
        let memory = statepoint::program_memory(&self.tracee, first.rsp)?;
        if !self.run_to(rip)? {
            return Ok(None);
        }
        let regs = self.tracee.regs()?;
        if !tracee::same_program_state(&regs, &first) || statepoint::program_memory(&self.tracee, regs.rsp)? != memory {
            return Ok(None);
        }
        Ok(self.placement_by_count(&regs, "a thread switch")?.map(|at| (regs, at)))
    }

    /// The current thread calls `exit` while others live on: it ends, and
    /// the next thread's turn begins. The switch is the exit's event:
    /// replay makes the `exit` there.
    pub(super) fn exit_thread(&mut self) -> Result<()> {
        self.tracee.resume(Resume::Cont, 0)?;
        if self.tracee.pid != self.tracee.tgid {
            // Reap it now, so its end is not taken for the program's.
            match self.tracee.wait()? {
                Stop::Exited(_) => {}
                other => return Err(Error::Spawn(format!("unexpected stop {other:?} of an exiting thread"))),
            }
        }
        if !self.end_turn(Left::Exited, None)? {
            return Err(Error::Spawn("no thread left to run after a thread's exit".into()));
        }
        Ok(())
    }
}
