//! The threads of a program being recorded: whose turn it is, and where
//! the others stand.
//!
//! One thread runs at a time, as in rr: the recorder is the scheduler, so
//! every interleaving of the threads' own code is a sequence of turns that
//! the trace records (`Event::Switch`) and replay follows. A thread's turn
//! ends when it enters a syscall that may block (the call goes on in the
//! kernel while another thread runs: *desched*), when it exits, or when it
//! has run for a timeslice while another thread could run (*preemption*,
//! see `Recorder::try_preempt`).
//!
//! The thread whose turn it is lives in the recorder as its `tracee`; this
//! module keeps the others ([`Task`]) and decodes the stops they report
//! while they wait for their turn.

use std::collections::VecDeque;

use nix::unistd::Pid;

use crate::trace::ExitStatus;
use crate::tracee::{Regs, Stop, Tracee};
use crate::{Error, Result};

/// A syscall that a thread entered and that ends on another thread's turn.
#[derive(Clone, Debug)]
pub(crate) struct PendingCall {
    pub nr: i64,
    pub args: [u64; 6],
    /// Capacities of in/out lengths, read before the call (see `Len::CapacityAt`).
    pub capacity: [u64; 6],
    /// The output buffer an `ioctl`/`fcntl`/`prctl` request names.
    pub request: Option<(usize, usize)>,
    /// The memory hash for the call's event, if one is taken (see
    /// `RecordOptions::check_memory`).
    pub memory: Vec<u8>,
}

pub(crate) enum TaskState {
    /// Made by a `clone` and not yet seen at its first stop.
    Starting,
    /// Stopped where it goes on running its own code: a new thread at its
    /// first stop, or a preempted one.
    Ready,
    /// In a syscall that the kernel runs (and that may block there).
    InSyscall(PendingCall),
    /// Its syscall has ended: stopped at the syscall's exit, with these
    /// registers, to be recorded when its turn comes.
    CallDone(PendingCall, Box<Regs>),
}

pub(crate) struct Task {
    pub tracee: Tracee,
    pub state: TaskState,
}

impl Task {
    fn can_run(&self) -> bool {
        matches!(self.state, TaskState::Ready | TaskState::CallDone(..))
    }
}

/// The threads other than the one whose turn it is, in the order their
/// turns come (round robin).
#[derive(Default)]
pub(crate) struct Waiting {
    tasks: VecDeque<Task>,
    /// First stops of threads whose parent's `clone` has not been seen to
    /// end yet (the kernel may report the child first).
    unclaimed: Vec<Pid>,
    /// How the first thread ended, if it ended before the others.
    pub leader_status: Option<ExitStatus>,
}

impl Waiting {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Whether another thread could take a turn now.
    pub fn any_can_run(&self) -> bool {
        self.tasks.iter().any(Task::can_run)
    }

    /// Takes the next thread that can run, in round-robin order.
    pub fn take_next(&mut self) -> Option<Task> {
        let i = self.tasks.iter().position(Task::can_run)?;
        self.tasks.remove(i)
    }

    pub fn push(&mut self, task: Task) {
        self.tasks.push_back(task);
    }

    /// A thread the current one just made with `clone`.
    pub fn add_new_thread(&mut self, tracee: Tracee) {
        let state = match self.unclaimed.iter().position(|&p| p == tracee.pid) {
            Some(i) => {
                self.unclaimed.remove(i);
                TaskState::Ready
            }
            None => TaskState::Starting,
        };
        self.tasks.push_back(Task { tracee, state });
    }

    /// Forgets the first thread without waiting for it: another thread's
    /// `execve` took its id, and the kernel never reports its end.
    pub fn forget_leader(&mut self) {
        if let Some(i) = self.tasks.iter().position(|t| t.tracee.pid == t.tracee.tgid) {
            let task = self.tasks.remove(i).expect("found above");
            task.tracee.mark_gone();
        }
    }

    /// Takes note of a stop reported by a thread whose turn it is not.
    pub fn note_stop(&mut self, pid: Pid, stop: Stop) -> Result<()> {
        let Some(i) = self.tasks.iter().position(|t| t.tracee.pid == pid) else {
            match stop {
                Stop::EventStop(_) | Stop::Signal(libc::SIGSTOP) => self.unclaimed.push(pid),
                // The first thread, exited before the others (see
                // `Recorder::exit_thread`), reports its end last.
                Stop::Exited(status) => self.leader_status = Some(status),
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} of unknown thread {pid}"
                    )))
                }
            }
            return Ok(());
        };
        let task = &mut self.tasks[i];
        match (&task.state, stop) {
            (_, Stop::Exited(status)) => {
                // The whole program is ending (exit_group, a fatal signal).
                task.tracee.mark_gone();
                if task.tracee.pid == task.tracee.tgid {
                    self.leader_status = Some(status);
                }
                self.tasks.remove(i);
            }
            (TaskState::Starting, Stop::EventStop(_) | Stop::Signal(libc::SIGSTOP)) => task.state = TaskState::Ready,
            (TaskState::InSyscall(call), Stop::SyscallExit) => {
                let regs = task.tracee.regs()?;
                task.state = TaskState::CallDone(call.clone(), Box::new(regs));
            }
            (_, other) => {
                return Err(Error::Spawn(format!(
                    "unexpected stop {other:?} of thread {pid} while another thread ran"
                )))
            }
        }
        Ok(())
    }

    /// Waits for every waiting thread to end, once the program as a whole
    /// is ending, and returns the first thread's status if it was among them.
    pub fn reap_all(&mut self) -> Result<Option<ExitStatus>> {
        let mut leader = self.leader_status;
        // The first thread is reported only once every other one is reaped.
        let mut tasks: Vec<Task> = self.tasks.drain(..).collect();
        tasks.sort_by_key(|t| t.tracee.pid == t.tracee.tgid);
        for task in tasks {
            loop {
                match task.tracee.wait()? {
                    Stop::Exited(status) => {
                        if task.tracee.pid == task.tracee.tgid {
                            leader = Some(status);
                        }
                        task.tracee.mark_gone();
                        break;
                    }
                    // Stops queued before the end: let the thread go on to it.
                    _ => {
                        let _ = nix::sys::ptrace::cont(task.tracee.pid, None);
                    }
                }
            }
        }
        Ok(leader)
    }
}
