//! Points in the program's own code that replay can find again: where a
//! held signal is delivered or a spinning thread is preempted, by count or
//! by state (see `statepoint`).

use std::time::Instant;

use super::{
    pause_while_the_tracee_runs, signal_name, signo_of, Recorder, LOOP_CHECK, MAX_STEPS_OUT_OF_BUFFER,
    MAX_STEPS_TO_PATCH,
};
use crate::statepoint;
use crate::trace::{Placement, SignalKind, StatePoint};
use crate::tracee::{self, Regs, Resume, Stop};
use crate::{Error, RemoteAddr, Result};

/// The kernel's first real-time signal: from here on, signals queue.
const FIRST_REALTIME_SIGNAL: i32 = 32;

impl Recorder {
    /// The current thread is in a state it has been in before (a spin):
    /// the point is the N-th execution of its instruction since the last
    /// event, N found by replaying the recording so far.
    /// `None`: the thread stands inside the syscall buffer's library, where
    /// no point can be named.
    pub(super) fn placement_by_count(&mut self, regs: &Regs, what: &str) -> Result<Option<Placement>> {
        if !self.at_nameable_point()? {
            return Ok(None);
        }
        self.writer.flush()?;
        let count = crate::replay::locate_signal_point(&self.trace_dir, &self.tracee, regs, what)?;
        Ok(Some(Placement::Count(count)))
    }

    /// Whether the point the current thread stands at can be named by the
    /// trace: every syscall it made through the buffer is an event (taken
    /// now), and it is outside the buffer's library.
    pub(super) fn at_nameable_point(&mut self) -> Result<bool> {
        self.take_syscall_buffer()?;
        Ok(!self.in_syscall_buffer()?)
    }

    pub(super) fn in_syscall_buffer(&self) -> Result<bool> {
        Ok(self.buffers.busy(&self.tracee)? || self.buffers.in_library(&self.tracee, self.tracee.regs()?.rip))
    }

    /// Steps the current thread out of the syscall buffer's library if it
    /// stands in it, so that it can be given a signal or preempted.
    /// `false`: it stopped for another reason on the way (that stop is
    /// pending).
    pub(super) fn leave_buffered_call(&mut self) -> Result<bool> {
        let mut steps = 0;
        while self.in_syscall_buffer()? {
            if steps == MAX_STEPS_OUT_OF_BUFFER {
                return Err(Error::Program(
                    "the program stays inside rback's syscall buffer; record it with --no-syscall-buffer".into(),
                ));
            }
            self.tracee.resume(Resume::Step, 0)?;
            match self.tracee.wait()? {
                Stop::Signal(libc::SIGTRAP) => {}
                other => {
                    self.pending_stop = Some(other);
                    return Ok(false);
                }
            }
            steps += 1;
        }
        Ok(true)
    }

    /// Delivers the first held signal where the current thread computes,
    /// in the middle of its own code, at a point replay can find again
    /// ([`Recorder::find_placement`]). If the thread makes a syscall or
    /// leaves its loop on the way, the signal stays held: it is delivered
    /// at that syscall, or placed at the next try.
    pub(super) fn place_held_signal(&mut self) -> Result<()> {
        self.interrupted = false;
        let sig = signo_of(&self.held[0]);
        if self.blocks(sig)? {
            return self.leave_pending(sig);
        }
        let placed = match self.leave_buffered_call()? {
            true => self.find_placement(&signal_name(sig))?,
            false => None,
        };
        let Some((regs, at)) = placed else {
            self.held_since = Some(Instant::now());
            if self.pending_stop.is_some() {
                return Ok(());
            }
            return self.tracee.resume(Resume::Cont, 0);
        };
        if self.blocks(sig)? {
            return self.leave_pending(sig);
        }
        let info = self.held.remove(0);
        self.tracee.raise(sig)?;
        self.tracee.resume(Resume::Cont, 0)?;
        match self.tracee.wait()? {
            Stop::Signal(s) if s == sig => {}
            other => {
                return Err(Error::Spawn(format!(
                    "expected the re-raised {} at once, got {other:?}",
                    signal_name(sig)
                )))
            }
        }
        let at_delivery = self.tracee.regs()?;
        if !tracee::same_program_state(&at_delivery, &regs) {
            return Err(Error::Spawn(
                "the tracee moved between its interruption and its signal".into(),
            ));
        }
        self.tracee.set_siginfo(&info)?;
        self.held_since = if self.held.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        self.deliver(sig, SignalKind::Asynchronous, info, at_delivery, Some(at))
    }

    /// Whether the current thread blocks `sig` now. The program can change
    /// its mask without a stop (the syscall buffer's `rt_sigprocmask`), and
    /// a handler's mask blocks signals while it runs, so a signal held since
    /// it came may be blocked by the time it is to be placed.
    fn blocks(&self, sig: i32) -> Result<bool> {
        let mask =
            crate::sys::get_sigmask(self.tracee.pid).map_err(|e| Error::ptrace("getsigmask", self.tracee.pid, e))?;
        Ok(mask & (1u64 << (sig - 1)) != 0)
    }

    /// The first held signal, `sig`, is blocked where the thread stands: it
    /// is made pending, as it would be had it come now, and the kernel
    /// delivers it where the program unblocks it (see `on_signal`).
    fn leave_pending(&mut self, sig: i32) -> Result<()> {
        let info = self.held.remove(0);
        // A standard signal already pending does not queue a second time
        // (real-time ones do).
        if !self.reraised.iter().any(|r| signo_of(r) == sig) || sig >= FIRST_REALTIME_SIGNAL {
            self.tracee.raise(sig)?;
            self.reraised.push(info);
        }
        self.held_since = if self.held.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        self.tracee.resume(Resume::Cont, 0)
    }

    /// The current thread stands where rback interrupted it, in its own
    /// code. Moves it on to a point that replay can find again and says how
    /// (see `statepoint`): it steps to an instruction X that can be patched,
    /// then lets the thread come round X twice more. If the state repeats
    /// (a spin loop), the point is the N-th execution of X, N found by
    /// replaying the recording so far; otherwise it is named by state.
    /// `None`: the thread did something else on the way (a syscall, a
    /// signal: that stop is pending) or did not come back to X soon.
    pub(super) fn find_placement(&mut self, what: &str) -> Result<Option<(Regs, Placement)>> {
        let placed = self.find_placement_at_a_visit(what)?;
        if let Some((regs, _)) = &placed {
            // The thread stands at a debug-register stop, whose resume flag
            // would end up in a signal frame; replay has none there.
            let mut clean = *regs;
            clean.eflags &= !crate::kernel::EFLAGS_RF;
            self.tracee.set_regs(&clean)?;
        }
        Ok(placed.map(|(mut regs, at)| {
            regs.eflags &= !crate::kernel::EFLAGS_RF;
            (regs, at)
        }))
    }

    pub(super) fn find_placement_at_a_visit(&mut self, what: &str) -> Result<Option<(Regs, Placement)>> {
        let mut regs = self.tracee.regs()?;
        let mut steps = 0;
        while !statepoint::is_patchable(&statepoint::code_at(&self.tracee, regs.rip), regs.rip) {
            if steps == MAX_STEPS_TO_PATCH {
                return Ok(None);
            }
            self.tracee.resume(Resume::Step, 0)?;
            match self.tracee.wait()? {
                Stop::Signal(libc::SIGTRAP) => {}
                other => {
                    self.pending_stop = Some(other);
                    return Ok(None);
                }
            }
            regs = self.tracee.regs()?;
            steps += 1;
        }
        let x = regs.rip;
        let mut samples = vec![statepoint::Sample {
            regs,
            memory: statepoint::program_memory(&self.tracee, regs.rsp)?,
        }];
        while samples.len() < 3 {
            if !self.run_to(x)? {
                return Ok(None);
            }
            let regs = self.tracee.regs()?;
            samples.push(statepoint::Sample {
                regs,
                memory: statepoint::program_memory(&self.tracee, regs.rsp)?,
            });
        }
        let Ok(samples) = <[statepoint::Sample; 3]>::try_from(samples) else {
            unreachable!("three samples were taken")
        };
        let regs = samples[2].regs;
        if tracee::same_program_state(&samples[1].regs, &regs) && samples[1].memory == samples[2].memory {
            return Ok(self.placement_by_count(&regs, what)?.map(|at| (regs, at)));
        }
        if !self.at_nameable_point()? {
            return Ok(None);
        }
        let Some((word, value)) = statepoint::choose_word(&samples) else {
            return Ok(None);
        };
        let memory = statepoint::memory_hash(&samples[2].memory, None);
        Ok(Some((
            regs,
            Placement::State(Box::new(StatePoint { word, value, memory })),
        )))
    }

    /// Runs the current thread to its next execution of `x`, for at most
    /// [`LOOP_CHECK`]. `false`: it stopped for another reason first (that
    /// stop is pending) or did not come back in time (it stands where it
    /// was interrupted).
    pub(super) fn run_to(&mut self, x: u64) -> Result<bool> {
        self.tracee.set_exec_breakpoint(Some(RemoteAddr(x)))?;
        self.tracee.resume(Resume::Cont, 0)?;
        let deadline = Instant::now() + LOOP_CHECK;
        let mut polls = 0u32;
        let stop = loop {
            if let Some(stop) = self.next_stop(false)? {
                break stop;
            }
            if Instant::now() >= deadline {
                nix::sys::ptrace::interrupt(self.tracee.pid)
                    .map_err(|e| Error::ptrace("interrupt", self.tracee.pid, e))?;
                break self.tracee.wait()?;
            }
            polls += 1;
            pause_while_the_tracee_runs(polls);
        };
        if matches!(stop, Stop::Exited(_)) {
            self.pending_stop = Some(stop);
            return Ok(false);
        }
        self.tracee.set_exec_breakpoint(None)?;
        if matches!(stop, Stop::Signal(libc::SIGTRAP)) && self.tracee.regs()?.rip == x {
            return Ok(true);
        }
        if !matches!(stop, Stop::EventStop(_)) {
            self.pending_stop = Some(stop);
        }
        Ok(false)
    }
}
