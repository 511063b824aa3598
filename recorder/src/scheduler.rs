//! The threads of a program being recorded, in all its processes: whose
//! turn it is, and where the others stand.
//!
//! One thread runs at a time, as in rr: the recorder is the scheduler, so
//! every interleaving of the threads' own code is a sequence of turns that
//! the trace records (`Event::Switch`) and replay follows. A thread's turn
//! ends when it enters a syscall that may block (the call goes on in the
//! kernel while another thread runs: *desched*), when it exits, or when it
//! has run for a timeslice while another thread could run (*preemption*,
//! see `Recorder::try_preempt`).
//!
//! Child processes take turns like threads: the recorder serializes the
//! whole process tree, so that processes that share memory (a `vfork`
//! child, `MAP_SHARED` pages) interleave in the recorded order too.
//!
//! The thread whose turn it is lives in the recorder as its `tracee`; this
//! module keeps the others ([`Task`]) and decodes the stops they report
//! while they wait for their turn.

use std::collections::VecDeque;

use nix::unistd::Pid;

use crate::kernel::is_stop_signal;
use crate::trace::ExitStatus;
use crate::tracee::{Regs, Resume, Stop, Tracee};
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
    /// Made by a `clone` or `fork` and not yet seen at its first stop.
    Starting,
    /// Stopped where it goes on running its own code: a new thread at its
    /// first stop, or a preempted one.
    Ready,
    /// In a syscall that the kernel runs (and that may block there).
    InSyscall(PendingCall),
    /// Its syscall has ended: stopped at the syscall's exit, with these
    /// registers, to be recorded when its turn comes.
    CallDone(PendingCall, Box<Regs>),
    /// In a `vfork` (already recorded), until its child execs or exits.
    InVfork,
    /// Its `vfork` has returned: stopped at the call's exit, with these
    /// registers.
    VforkDone(Box<Regs>),
}

/// Where a thread stands in a group stop that a stop signal the program
/// sent began in its process (see `Recorder::group_stop`). Every thread of
/// the process takes part, as natively: none runs until a SIGCONT. The
/// thread's [`TaskState`] says where it stands otherwise (a call the stop
/// interrupted has ended: `CallDone`, to be recorded on its next turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupStop {
    /// In none.
    Out,
    /// Resumed towards its group-stop trap (`PTRACE_EVENT_STOP`), which it
    /// reports before it runs any of its own code; a call of its own that
    /// the stop interrupted (or that ends meanwhile) reports its end
    /// first, and the thread is resumed again from there.
    Entering,
    /// In the group stop, out of its ptrace stop (`PTRACE_LISTEN`) until a
    /// SIGCONT ends it (a `PTRACE_EVENT_STOP` with SIGTRAP).
    Stopped,
    /// Taken through a group stop that has ended, and not run since: it
    /// can run, and is not taken into another group stop until it has
    /// (replay, whose thread still stands at its trap, would not take it).
    Ended,
}

pub(crate) struct Task {
    pub tracee: Tracee,
    pub state: TaskState,
    /// A signal it stopped for while it waited (a stop with the signal
    /// not yet delivered), which the recorder handles on its turn.
    pub signal: Option<i32>,
    pub group: GroupStop,
}

/// Whether a thread of a process that enters a group stop is taken into
/// it at once (see [`Waiting::enter_group_stop`]).
fn takes_part(task: &Task) -> bool {
    task.group == GroupStop::Out && task.signal.is_none() && !matches!(task.state, TaskState::InVfork)
}

impl Task {
    /// Whether it stands in a ptrace stop from which a resume takes it
    /// straight to its group-stop trap.
    fn can_stop_now(&self) -> bool {
        self.signal.is_none()
            && matches!(
                self.state,
                TaskState::Ready | TaskState::CallDone(..) | TaskState::VforkDone(_)
            )
    }

    fn can_run(&self) -> bool {
        matches!(self.group, GroupStop::Out | GroupStop::Ended)
            && matches!(
                self.state,
                TaskState::Ready | TaskState::CallDone(..) | TaskState::VforkDone(_)
            )
    }
}

/// The threads other than the one whose turn it is, of every process of
/// the program, in the order their turns come (round robin).
pub(crate) struct Waiting {
    tasks: VecDeque<Task>,
    /// First stops of threads whose parent's `clone` has not been seen to
    /// end yet (the kernel may report the child first).
    unclaimed: Vec<Pid>,
    /// First threads that exited before the other threads of their
    /// process: zombies that report their end once the last one is gone.
    zombies: Vec<Tracee>,
    /// The program's first process, whose status is the program's.
    pub root: Pid,
    /// How the first process ended, once it has.
    pub root_status: Option<ExitStatus>,
}

impl Waiting {
    pub fn new(root: Pid) -> Waiting {
        Waiting {
            tasks: VecDeque::new(),
            unclaimed: Vec::new(),
            zombies: Vec::new(),
            root,
            root_status: None,
        }
    }

    /// Whether no other thread is left, running or zombie.
    pub fn is_idle(&self) -> bool {
        self.tasks.is_empty() && self.zombies.is_empty()
    }

    /// Whether no other thread is left that could ever run.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Whether another thread could take a turn now.
    pub fn any_can_run(&self) -> bool {
        self.tasks.iter().any(Task::can_run)
    }

    /// Whether process `tgid` has a waiting thread (not counting a zombie).
    pub fn has_thread_of(&self, tgid: Pid) -> bool {
        self.tasks.iter().any(|t| t.tracee.tgid == tgid)
    }

    /// The processes that have a waiting thread.
    pub fn processes(&self) -> Vec<Pid> {
        let mut all: Vec<Pid> = self.tasks.iter().map(|t| t.tracee.tgid).collect();
        all.sort();
        all.dedup();
        all
    }

    /// Drops (and so reaps) the threads that are dying: killed while they
    /// waited.
    pub fn drop_dying(&mut self) {
        self.tasks.retain(|t| !t.tracee.is_dying());
    }

    /// Takes the next thread that can run, in round-robin order.
    pub fn take_next(&mut self) -> Option<Task> {
        let i = self.tasks.iter().position(Task::can_run)?;
        self.tasks.remove(i)
    }

    pub fn push(&mut self, tracee: Tracee, state: TaskState) {
        self.push_in(tracee, state, GroupStop::Out);
    }

    /// A thread that waits where `group` says in its process's group stop
    /// (one whose turn ended in it is `Stopped`, `PTRACE_LISTEN` done).
    pub fn push_in(&mut self, tracee: Tracee, state: TaskState, group: GroupStop) {
        self.tasks.push_back(Task {
            tracee,
            state,
            signal: None,
            group,
        });
    }

    /// The waiting threads of process `tgid`.
    pub fn threads_of(&mut self, tgid: Pid) -> impl Iterator<Item = &mut Task> {
        self.tasks.iter_mut().filter(move |t| t.tracee.tgid == tgid)
    }

    /// Takes every waiting thread of process `tgid` into the group stop
    /// that its current thread just entered, as the kernel would take
    /// them were they not traced: a thread stopped where rback left it is
    /// resumed, and traps before it runs any of its own code; a thread in
    /// a syscall is resumed once the call ends (the stop interrupts it if
    /// it waits). A thread in a `vfork`, which the stop does not
    /// interrupt, is left: it traps when it next runs, on a turn of its
    /// own; so is one taken through a group stop already, which has not
    /// run since. (The recorder first takes back signals that threads
    /// stopped for: resuming them would lose the signal.) Replay takes the
    /// same threads at the turn's end (`ReplaySession::group_stop`).
    pub fn enter_group_stop(&mut self, tgid: Pid) -> Result<()> {
        for task in self.tasks.iter_mut() {
            if task.tracee.tgid != tgid || !takes_part(task) {
                continue;
            }
            match task.state {
                TaskState::Ready | TaskState::CallDone(..) | TaskState::VforkDone(_) => {
                    task.tracee.resume(Resume::Cont, 0)?
                }
                TaskState::Starting | TaskState::InSyscall(_) | TaskState::InVfork => {}
            }
            task.group = GroupStop::Entering;
        }
        Ok(())
    }

    /// A first thread that exited while others of its process live on.
    pub fn add_zombie(&mut self, leader: Tracee) {
        self.zombies.push(leader);
    }

    /// A thread or process the current thread just made.
    pub fn add_new_task(&mut self, tracee: Tracee) {
        let state = match self.unclaimed.iter().position(|&p| p == tracee.pid) {
            Some(i) => {
                self.unclaimed.remove(i);
                TaskState::Ready
            }
            None => TaskState::Starting,
        };
        self.push(tracee, state);
    }

    /// Forgets process `tgid`'s first thread without waiting for it:
    /// another of its threads' `execve` took its id, and the kernel never
    /// reports its end.
    pub fn forget_leader(&mut self, tgid: Pid) {
        if let Some(i) = self.tasks.iter().position(|t| t.tracee.pid == tgid) {
            let task = self.tasks.remove(i).expect("found above");
            task.tracee.mark_gone();
        }
        if let Some(i) = self.zombies.iter().position(|t| t.pid == tgid) {
            self.zombies.remove(i).mark_gone();
        }
    }

    fn ended(&mut self, pid: Pid, status: ExitStatus) {
        if pid == self.root {
            self.root_status = Some(status);
        }
    }

    /// Takes note of a stop reported by a thread whose turn it is not.
    pub fn note_stop(&mut self, pid: Pid, stop: Stop) -> Result<()> {
        if let Some(i) = self.zombies.iter().position(|t| t.pid == pid) {
            if let Stop::Exited(status) = stop {
                self.zombies.remove(i).mark_gone();
                self.ended(pid, status);
                return Ok(());
            }
            return Err(Error::Spawn(format!("the exited first thread {pid} reported {stop:?}")));
        }
        let Some(i) = self.tasks.iter().position(|t| t.tracee.pid == pid) else {
            match stop {
                Stop::EventStop(_) | Stop::Signal(libc::SIGSTOP) => self.unclaimed.push(pid),
                // A thread rback let go of (reaped elsewhere or dropped).
                Stop::Exited(_) => {}
                // A killed thread's last stop, queued before its end.
                _ if crate::tracee::is_dying(pid) => {
                    let _ = nix::sys::ptrace::cont(pid, None);
                }
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} of unknown thread {pid}"
                    )))
                }
            }
            return Ok(());
        };
        let task = &mut self.tasks[i];
        match (task.group, &task.state, stop) {
            (_, _, Stop::Exited(status)) => {
                // Its process is ending (exit_group, a fatal signal).
                task.tracee.mark_gone();
                self.tasks.remove(i);
                self.ended(pid, status);
                return Ok(());
            }
            // A SIGCONT ended the group stop (which reports SIGTRAP), or
            // came before the thread got to it: it stands where it was.
            (GroupStop::Stopped | GroupStop::Entering, state, Stop::EventStop(libc::SIGTRAP))
                if !matches!(state, TaskState::Starting) =>
            {
                task.group = GroupStop::Ended;
                return Ok(());
            }
            // In the group stop now (a new thread's first stop may be its
            // trap); or, already stopped, another stop signal.
            (GroupStop::Stopped | GroupStop::Entering, _, Stop::EventStop(sig)) if is_stop_signal(sig) => {
                if matches!(task.state, TaskState::Starting) {
                    task.state = TaskState::Ready;
                }
                task.tracee.listen()?;
                task.group = GroupStop::Stopped;
                return Ok(());
            }
            _ => {}
        }
        match (&task.state, stop) {
            (TaskState::Starting, Stop::EventStop(_) | Stop::Signal(libc::SIGSTOP)) => task.state = TaskState::Ready,
            (TaskState::Starting | TaskState::Ready, Stop::Signal(sig)) if task.signal.is_none() => {
                // Sent while it stood still: it is delivered on its turn.
                task.state = TaskState::Ready;
                task.signal = Some(sig);
            }
            (TaskState::InSyscall(call), Stop::SyscallExit) => {
                let regs = task.tracee.regs()?;
                task.state = TaskState::CallDone(call.clone(), Box::new(regs));
            }
            (TaskState::InVfork, Stop::SyscallExit) => {
                let regs = task.tracee.regs()?;
                task.state = TaskState::VforkDone(Box::new(regs));
            }
            (_, other) => {
                return Err(Error::Spawn(format!(
                    "unexpected stop {other:?} of thread {pid} while another thread ran"
                )))
            }
        }
        if task.group == GroupStop::Entering && task.can_stop_now() {
            // Its call ended (or it made its first stop): on to the trap.
            task.tracee.resume(Resume::Cont, 0)?;
        }
        Ok(())
    }

    /// Waits for every waiting thread of process `tgid` to end, once the
    /// process as a whole is ending.
    pub fn reap_process(&mut self, tgid: Pid) -> Result<()> {
        let (mine, others): (Vec<Task>, Vec<Task>) = self.tasks.drain(..).partition(|t| t.tracee.tgid == tgid);
        self.tasks = others.into();
        let mut ending: Vec<Tracee> = mine.into_iter().map(|t| t.tracee).collect();
        if let Some(i) = self.zombies.iter().position(|t| t.tgid == tgid) {
            ending.push(self.zombies.remove(i));
        }
        // The first thread is reported only once every other one is reaped.
        ending.sort_by_key(|t| t.pid == t.tgid);
        for tracee in ending {
            loop {
                match tracee.wait()? {
                    Stop::Exited(status) => {
                        tracee.mark_gone();
                        self.ended(tracee.pid, status);
                        break;
                    }
                    // Stops queued before the end: let the thread go on to it.
                    _ => {
                        let _ = nix::sys::ptrace::cont(tracee.pid, None);
                    }
                }
            }
        }
        Ok(())
    }
}
