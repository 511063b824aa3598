//! Whose turn it is in a replay: the threads of the processes it runs,
//! the switches the recording made between them, the clones, forks and
//! vforks that make them, the ends of threads and processes, the turns of
//! processes this replay passes over (`Follow::Process`), and the copies
//! of all of it that checkpoints are.

use super::{describe, describe_call, echo, same_exit, Finish, Follow, ReplaySession, Step};
use crate::trace::{Event, ExitStatus, Left, SwitchEvent, SyscallEvent};
use crate::tracee::{errno_name, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

/// A thread of the replayed program whose turn it is not.
pub(super) struct Thread {
    /// Its id as the recording knew it (and as the program sees it).
    pub(super) tid: i32,
    /// Its process's id as the recording knew it.
    pub(super) process: i32,
    pub(super) tracee: Tracee,
    /// `CLONE_CHILD_CLEARTID`'s address (0: none), for copies of it.
    pub(super) clear_tid: u64,
    /// In a `vfork` that returns this (the recorded child id) once the
    /// child has exec'd or exited.
    pub(super) in_vfork: Option<i64>,
    /// Taken into a group stop of its process (it stands at its trap, or
    /// did when a checkpoint copied it) and not run since: another group
    /// stop does not take it again (see `ReplaySession::group_stop`).
    pub(super) in_group_stop: bool,
}

/// Whose turn it is, found by [`ReplaySession::pass_over_turns`].
pub(super) enum Turn {
    To(Thread),
    /// The current thread's.
    Current,
    /// Nobody's: the recording ends.
    End,
}

impl ReplaySession {
    /// Makes the thread or process a recorded `clone`, `fork` or `vfork`
    /// made, and gives it the id it had while recording wherever the
    /// program can see it: the call's result and the `*_SETTID` words. A
    /// child process this replay does not follow is not made: the call's
    /// result is all the parent sees of it.
    pub(super) fn clone_thread(&mut self, at: EventIdx, ev: &SyscallEvent) -> Result<Step> {
        let request = crate::record::clone_request(&self.tracee, ev.nr, &ev.args)?;
        let thread = request.is_some_and(|r| r.is_thread());
        let recorded = ev.result as i32;
        let vfork = request.is_some_and(|r| r.flags & libc::CLONE_VFORK as u64 != 0);
        if ev.result < 0 || (!thread && !self.follows(recorded)) {
            // A failed clone made nothing, and a process not followed is
            // not made: emulate the call (with the pidfd it stored, if any).
            for w in &ev.writes {
                self.tracee.write_bytes(w.addr, &w.bytes)?;
            }
            let mut regs = self.tracee.regs()?;
            self.finish_skipped(&mut regs, ev)?;
            if vfork && ev.result > 0 {
                // Its child's turn comes next; the parent waits for its
                // turn back just after the call.
                self.tracee.resume(Resume::Syscall, 0)?;
                self.expect_syscall_exit(at, ev)?;
                let switch = self.expect_vfork_switch(at)?;
                return self.give_turn(&switch, true);
            }
            return self.finish_event(Finish::SkippedCall);
        }
        if crate::record::untraced_clone(ev.nr, &ev.args) {
            let mut regs = self.tracee.regs()?;
            regs.rdi &= !(libc::CLONE_UNTRACED as u64);
            self.tracee.set_regs(&regs)?;
        }
        self.tracee.resume(Resume::Syscall, 0)?;
        let child = match self.tracee.wait()? {
            Stop::Clone | Stop::Fork | Stop::Vfork => self.tracee.new_thread_id()?,
            other => return Err(self.diverged(at, describe_call(ev.nr, &ev.args), format!("{other:?}"))),
        };
        // Its first stop comes after the kernel wrote CLONE_CHILD_SETTID.
        let made = if thread {
            Tracee::adopt_thread(child, self.tracee.tgid)?
        } else {
            Tracee::adopt_thread(child, child)?
        };
        let mut clear_tid = 0;
        if let Some(request) = request {
            if request.flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
                clear_tid = request.child_tid;
            }
            if request.flags & libc::CLONE_PARENT_SETTID as u64 != 0 && request.parent_tid != 0 {
                self.tracee
                    .write_bytes(RemoteAddr(request.parent_tid), &recorded.to_le_bytes())?;
            }
            if request.flags & libc::CLONE_CHILD_SETTID as u64 != 0 && request.child_tid != 0 {
                made.write_bytes(RemoteAddr(request.child_tid), &recorded.to_le_bytes())?;
            }
        }
        // The recorded pidfd number, in place of the one replay's clone made.
        for w in &ev.writes {
            self.tracee.write_bytes(w.addr, &w.bytes)?;
        }
        let process = if thread { self.process } else { recorded };
        if !thread {
            self.files.forked(self.process, process);
        }
        self.live_processes.insert(process);
        self.others.push(Thread {
            tid: recorded,
            process,
            tracee: made,
            clear_tid,
            in_vfork: None,
            in_group_stop: false,
        });
        if vfork {
            // The parent stays in the call until the child execs or exits,
            // and the child runs next.
            self.tracee.resume(Resume::Syscall, 0)?;
            let switch = self.expect_vfork_switch(at)?;
            if self.retires(process) {
                return self.retire_current(Some(switch));
            }
            return self.give_turn_from_vfork(&switch, ev.result);
        }
        self.tracee.resume(Resume::Syscall, 0)?;
        match self.tracee.wait()? {
            Stop::SyscallExit => {}
            other => return Err(self.diverged(at, "the end of clone".into(), format!("{other:?}"))),
        }
        let mut regs = self.tracee.regs()?;
        regs.rax = ev.result as u64;
        self.tracee.set_regs(&regs)?;
        if self.retires(process) {
            return self.retire_current(None);
        }
        self.before_resume()?;
        self.finish_event(Finish::CallExit)
    }

    /// The `Switch` that follows a recorded `vfork`, which gives the turn
    /// to the child.
    pub(super) fn expect_vfork_switch(&mut self, at: EventIdx) -> Result<SwitchEvent> {
        match self.next_event()? {
            Some(Event::Switch(switch)) if switch.left == Left::InVfork => Ok(*switch),
            Some(other) => Err(self.diverged(at, "the vfork child's turn".into(), describe(&other))),
            None => Err(self.diverged(at, "the vfork child's turn".into(), "the end of the trace".into())),
        }
    }

    /// Whether this replay follows process `pid` (or runs every process).
    pub(super) fn follows(&self, pid: i32) -> bool {
        self.followed.as_ref().is_none_or(|f| f.contains(&pid))
    }

    /// Whether the current process, having just made `child`, has done all
    /// this replay needs of it: it is an ancestor of the followed process,
    /// and `child` is the next one on the way there.
    pub(super) fn retires(&self, child: i32) -> bool {
        match self.follow {
            Follow::Process(target) => child != self.process && self.process != target && self.follows(child),
            Follow::All => false,
        }
    }

    /// Ends the current process (an ancestor of the followed one, whose
    /// part is done): it is killed, its events are passed over, and the
    /// turn goes to the next thread this replay runs (from `next_turn`'s,
    /// if a switch was already read).
    pub(super) fn retire_current(&mut self, next_turn: Option<SwitchEvent>) -> Result<Step> {
        let process = self.process;
        self.live_processes.remove(&process);
        let mut gone: Vec<Thread> = vec![];
        let mut kept = vec![];
        for t in self.others.drain(..) {
            if t.process == process {
                gone.push(t);
            } else {
                kept.push(t);
            }
        }
        self.others = kept;
        drop(gone);
        self.zombies.retain(|t| t.tgid != self.tracee.tgid);
        let next = match self.pass_over_turns(next_turn)? {
            Turn::To(next) => next,
            Turn::Current => unreachable!("the current process no longer runs"),
            Turn::End => return Ok(Step::Finished(self.ended)),
        };
        // Dropping a tracee kills and reaps it.
        drop(self.install(next)?);
        self.before_resume()?;
        self.finish_event(Finish::SignalStop(0))
    }

    /// The current thread makes its `exit` (the switch is its event), and
    /// the next thread's turn begins.
    pub(super) fn exit_thread(&mut self, switch: &SwitchEvent) -> Result<Step> {
        let at = self.next_event_index();
        if self.clear_tid != 0 {
            // What the kernel does at the exit of a thread with a clear-tid
            // address: a thread that joins this one waits for the zero. An
            // emulated set_tid_address told the kernel nothing.
            self.tracee
                .write_bytes(RemoteAddr(self.clear_tid), &0u32.to_le_bytes())?;
        }
        self.tracee.resume(Resume::Cont, 0)?;
        if self.tracee.pid != self.tracee.tgid {
            match self.tracee.wait()? {
                Stop::Exited(_) => {}
                other => return Err(self.diverged(at, "the thread's end".into(), format!("{other:?}"))),
            }
        }
        self.next_event()?;
        self.give_turn(switch, false)
    }

    /// Gives the turn to the thread a switch names (or, when this replay
    /// does not run its process, to the next one it runs), which then
    /// stands at the start of the next interval. The current thread is
    /// kept, stopped where it is, if it is `alive`.
    pub(super) fn give_turn(&mut self, switch: &SwitchEvent, alive: bool) -> Result<Step> {
        self.hand_over(switch, alive, None)
    }

    /// [`ReplaySession::give_turn`] from a thread that stays in its
    /// `vfork` until the child execs or exits, then returns `result`.
    pub(super) fn give_turn_from_vfork(&mut self, switch: &SwitchEvent, result: i64) -> Result<Step> {
        self.hand_over(switch, true, Some(result))
    }

    pub(super) fn hand_over(&mut self, switch: &SwitchEvent, alive: bool, in_vfork: Option<i64>) -> Result<Step> {
        let departing_tid = self.tid;
        let next = match self.pass_over_turns(Some(switch.clone()))? {
            Turn::To(next) => next,
            // Every other thread it runs waits: the current one goes on.
            Turn::Current if alive && in_vfork.is_none() => {
                self.before_resume()?;
                return self.finish_event(Finish::SignalStop(0));
            }
            Turn::Current => {
                return Err(self.diverged(
                    self.next_event_index(),
                    format!("a turn for thread {departing_tid}"),
                    "that thread cannot run".into(),
                ))
            }
            Turn::End => return Ok(Step::Finished(self.ended)),
        };
        self.current_in_group_stop = next.in_group_stop;
        let mut departing = self.install(next)?;
        departing.in_vfork = in_vfork;
        departing.in_group_stop = matches!(switch.left, Left::Stopped { .. });
        let tgid = departing.tracee.tgid;
        if alive {
            self.others.push(departing);
        } else if departing.tracee.pid == tgid
            && (self.tracee.tgid == tgid || self.others.iter().any(|t| t.tracee.tgid == tgid))
        {
            self.zombies.push(departing.tracee);
        }
        self.before_resume()?;
        self.finish_event(Finish::SignalStop(0))
    }

    /// Makes `next` the current thread and returns the one it replaces. A
    /// thread left in a `vfork` is taken to the call's end first.
    pub(super) fn install(&mut self, next: Thread) -> Result<Thread> {
        if let Some(result) = next.in_vfork {
            match next.tracee.wait()? {
                Stop::SyscallExit => {}
                other => {
                    return Err(self.diverged(
                        self.next_event_index(),
                        "the end of a vfork".into(),
                        format!("{other:?}"),
                    ))
                }
            }
            let mut regs = next.tracee.regs()?;
            regs.rax = result as u64;
            next.tracee.set_regs(&regs)?;
        }
        Ok(Thread {
            tid: std::mem::replace(&mut self.tid, next.tid),
            process: std::mem::replace(&mut self.process, next.process),
            tracee: std::mem::replace(&mut self.tracee, next.tracee),
            clear_tid: std::mem::replace(&mut self.clear_tid, next.clear_tid),
            in_vfork: None,
            in_group_stop: false,
        })
    }

    /// Finds whose turn it is, starting from the thread switch `to`
    /// gives the turn to (`None`: the current thread's turn goes on): the
    /// events of processes this replay does not run are passed over,
    /// showing their terminal output. The thread found gets what the
    /// switch to it says others wrote into its shared memory meanwhile.
    pub(super) fn pass_over_turns(&mut self, mut to: Option<SwitchEvent>) -> Result<Turn> {
        loop {
            if let Some(switch) = to.take_if(|s| self.live_processes.contains(&s.process)) {
                let (tid, process) = (switch.to, switch.process);
                if tid == self.tid && process == self.process {
                    self.write_shared(&self.tracee, &switch.shared)?;
                    return Ok(Turn::Current);
                }
                return match self.others.iter().position(|t| t.tid == tid) {
                    Some(i) => {
                        self.write_shared(&self.others[i].tracee, &switch.shared)?;
                        Ok(Turn::To(self.others.remove(i)))
                    }
                    None => Err(self.diverged(
                        self.next_event_index(),
                        format!("a turn for thread {tid}"),
                        "no such thread".into(),
                    )),
                };
            }
            if self.peek()?.is_none() {
                // A live recording makes these events as the replay passes.
                let more = match &self.feed {
                    Some(feed) => feed.wait_for(self.next_event_index())?,
                    None => false,
                };
                if !more {
                    return Ok(Turn::End);
                }
            }
            match self.next_event()? {
                Some(Event::Switch(switch)) => to = Some(*switch),
                Some(Event::Syscall(call)) => {
                    if let (Some(out), true) = (&call.output, self.echo_output) {
                        echo(out);
                    }
                }
                Some(Event::Exit(status)) => {
                    self.ended = Some(status);
                    return Ok(Turn::End);
                }
                Some(_) => {}
                None => return Ok(Turn::End),
            }
        }
    }

    /// The current thread's process ended as the recording says, after
    /// its last event: its other threads are reaped, and the turn goes on.
    pub(super) fn process_ended(&mut self, switch: &SwitchEvent, status: ExitStatus) -> Result<Step> {
        let at = self.next_event_index();
        if let Left::ProcessExited(recorded) = switch.left {
            if !same_exit(recorded, status) {
                return Err(self.diverged(
                    at,
                    format!("process {} {recorded}", self.process),
                    format!("the process {status}"),
                ));
            }
        }
        self.next_event()?;
        self.tracee.mark_gone();
        let tgid = self.tracee.tgid;
        self.live_processes.remove(&self.process);
        self.files.ended(self.process);
        // Its other threads died with it: dropping them reaps them.
        self.others.retain(|t| t.tracee.tgid != tgid);
        self.zombies.retain(|t| t.tgid != tgid);
        self.give_turn(switch, false)
    }

    /// Waits for the ends of the current process's other threads, which
    /// its `exit_group` (or last `exit`) kills, all but its first thread:
    /// the kernel reports that one only after every other, the current
    /// one included.
    pub(super) fn reap_siblings(&mut self) -> Result<()> {
        let tgid = self.tracee.tgid;
        let (dying, others): (Vec<Thread>, Vec<Thread>) = std::mem::take(&mut self.others)
            .into_iter()
            .partition(|t| t.tracee.tgid == tgid && t.tracee.pid != tgid);
        self.others = others;
        for thread in dying {
            loop {
                match thread.tracee.wait()? {
                    Stop::Exited(_) => break,
                    // Stops queued before the kill: let it go on to its end.
                    _ => thread.tracee.resume(Resume::Cont, 0)?,
                }
            }
            thread.tracee.mark_gone();
        }
        Ok(())
    }

    /// The first process's id as recorded.
    pub(super) fn root_pid(&self) -> i32 {
        match self.log.get(EventIdx(0)) {
            Some(Event::Exec(exec)) => exec.pid,
            _ => 0,
        }
    }

    /// The thread whose turn it is (its id as recorded).
    pub(crate) fn current_thread(&self) -> i32 {
        self.tid
    }

    /// The ids of the program's threads here, the current one first.
    pub(crate) fn thread_ids(&self) -> Vec<i32> {
        std::iter::once(self.tid)
            .chain(self.others.iter().map(|t| t.tid))
            .collect()
    }

    /// The process a replay that follows one follows (else the first).
    pub(crate) fn followed_process(&self) -> i32 {
        match self.follow {
            Follow::Process(pid) => pid,
            Follow::All => self.root_pid(),
        }
    }

    /// The process (its recorded id) of thread `tid`, if it exists here.
    pub(crate) fn process_of(&self, tid: i32) -> Option<i32> {
        if tid == self.tid {
            return Some(self.process);
        }
        self.others.iter().find(|t| t.tid == tid).map(|t| t.process)
    }

    /// The tracee of thread `tid`, if it exists here.
    pub(crate) fn thread(&self, tid: i32) -> Option<&Tracee> {
        if tid == self.tid {
            return Some(&self.tracee);
        }
        self.others.iter().find(|t| t.tid == tid).map(|t| &t.tracee)
    }

    /// Whether [`ReplaySession::fork`] can copy the program as it stands.
    pub(crate) fn can_fork(&self) -> bool {
        self.fork_refused().is_none()
    }

    /// Why [`ReplaySession::fork`] cannot copy the program as it stands.
    pub(super) fn fork_refused(&self) -> Option<(&'static str, &'static str)> {
        if !self.zombies.is_empty() {
            return Some((
                "a checkpoint after the program's first thread exited",
                "the copy would need a zombie thread, which rback cannot make",
            ));
        }
        if self.live_processes.len() > 1 || self.others.iter().any(|t| t.in_vfork.is_some()) {
            return Some((
                "a checkpoint of several processes at once",
                "checkpoints copy the one process a debugger follows",
            ));
        }
        if self.current_in_group_stop || self.others.iter().any(|t| t.in_group_stop) {
            // A copy of a thread is made from its registers, outside any
            // group stop: on its turn it would run on (restarting the call
            // the stop interrupted) where the original traps into the stop.
            return Some((
                "a checkpoint while the process is stopped by a stop signal",
                "a copy's threads would not be in the stop",
            ));
        }
        None
    }

    /// The thread's turn ends where the recording preempted it (it stands
    /// at its interrupt stop, before anything ran), and the next one's
    /// begins.
    pub(super) fn preempt(&mut self) -> Result<Step> {
        self.switch_armed = false;
        let switch = match self.next_event()? {
            Some(Event::Switch(s)) => s,
            _ => unreachable!("a switch is armed only in front of one"),
        };
        self.give_turn(&switch, true)
    }

    /// A copy of this session, for a checkpoint: same place in the trace, a
    /// forked tracee. Must be called at an interval start (a boundary stop).
    /// The copy has nothing raised or counted; [`ReplaySession::prepare`]
    /// re-creates that when the copy is to run.
    pub(crate) fn fork(&mut self) -> Result<ReplaySession> {
        if let Some((what, why)) = self.fork_refused() {
            return Err(Error::Unsupported {
                event: self.next_event_index(),
                what: what.into(),
                why: why.into(),
            });
        }
        let mut tracee = self.tracee.fork()?;
        // Signals rback had raised, dequeued while the fork was injected.
        for info in std::mem::take(&mut self.tracee.stray_signals) {
            self.tracee.raise(crate::kernel::signo_of(&info))?;
        }
        if self.clear_tid != 0 {
            // A fork does not inherit where the kernel clears the thread's id
            // when it exits; a thread that joins this one waits for that.
            tracee.inject_syscall(libc::SYS_set_tid_address, [self.clear_tid, 0, 0, 0, 0, 0])?;
        }
        // A fork copies only the thread that makes it: the others are made
        // again in the copy.
        let mut others = Vec::with_capacity(self.others.len());
        for thread in &mut self.others {
            others.push(Thread {
                tid: thread.tid,
                process: thread.process,
                tracee: copy_thread(&mut thread.tracee, &mut tracee, thread.clear_tid)?,
                clear_tid: thread.clear_tid,
                in_vfork: None,
                in_group_stop: thread.in_group_stop,
            });
        }
        Ok(ReplaySession {
            trace_dir: self.trace_dir.clone(),
            log: self.log.clone(),
            cursor: self.cursor,
            tid: self.tid,
            clear_tid: self.clear_tid,
            process: self.process,
            tracee,
            others,
            followed: self.followed.clone(),
            live_processes: self.live_processes.clone(),
            follow: self.follow,
            ended: self.ended,
            feed: self.feed.clone(),
            zombies: Vec::new(),
            echo_output: self.echo_output,
            raised: None,
            counting: None,
            // The copy's memory holds the check as it is here.
            stub: self.stub.clone(),
            switch_armed: false,
            search: None,
            search_for: String::new(),
            verified_files: self.verified_files.clone(),
            files: self.files.clone(),
            stop_at_boundaries: self.stop_at_boundaries,
            run_mode: Resume::Cont,
            write_buffer_ahead: self.write_buffer_ahead,
            // A checkpoint is taken at a boundary, with no call written
            // ahead of its program, and must not write any when it runs.
            ahead_until: None,
            written_ahead: self.written_ahead.clone(),
            current_in_group_stop: false,
        })
    }
}

/// Makes, in the process of `copy` (a fork of `original`'s process), a
/// thread in the state of `original`: registers (with the TLS base), FPU
/// and vector registers, signal mask, and the address its id is cleared at
/// when it exits. The kernel-side robust list and rseq area are not made:
/// replay emulates `set_robust_list` and refuses `rseq` anyway.
fn copy_thread(original: &mut Tracee, copy: &mut Tracee, clear_tid: u64) -> Result<Tracee> {
    let mut flags = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM;
    if clear_tid != 0 {
        flags |= libc::CLONE_CHILD_CLEARTID;
    }
    let made = copy.inject_syscall(libc::SYS_clone, [flags as u64, 0, 0, clear_tid, 0, 0])?;
    let tid = match copy.take_new_thread() {
        Some(tid) if made > 0 => tid,
        _ => {
            return Err(Error::Spawn(format!(
                "cannot make a thread in a checkpoint: clone returned {}",
                errno_name(made)
            )))
        }
    };
    let thread = Tracee::adopt_thread(tid, copy.tgid)?;
    let mask = blocked_signals(original.pid)?;
    let at = thread.scratch(&mask.to_le_bytes())?;
    let mut thread = thread;
    let r = thread.inject_syscall(libc::SYS_rt_sigprocmask, [libc::SIG_SETMASK as u64, at.0, 0, 8, 0, 0])?;
    if r != 0 {
        return Err(Error::Spawn(format!(
            "cannot set a copied thread's signal mask: {}",
            errno_name(r)
        )));
    }
    if let Some(stack) = alternate_signal_stack(original)? {
        let at = thread.scratch(&stack)?;
        let r = thread.inject_syscall(libc::SYS_sigaltstack, [at.0, 0, 0, 0, 0, 0])?;
        if r != 0 {
            return Err(Error::Spawn(format!(
                "cannot give a copied thread its signal stack: {}",
                errno_name(r)
            )));
        }
    }
    thread.set_regs(&original.regs()?)?;
    thread.copy_vector_state_from(original)?;
    Ok(thread)
}

/// The alternate signal stack of a stopped thread, as the `stack_t` to set
/// it with, or `None` if it has none. The kernel writes the answer below
/// the thread's red zone, whose bytes are put back after.
fn alternate_signal_stack(thread: &mut Tracee) -> Result<Option<Vec<u8>>> {
    const STACK_T: usize = std::mem::size_of::<libc::stack_t>();
    const RED_ZONE: u64 = 128;
    let at = RemoteAddr((thread.regs()?.rsp - RED_ZONE - STACK_T as u64) & !0xf);
    let saved = thread.read_bytes(at, STACK_T)?;
    let r = thread.inject_syscall(libc::SYS_sigaltstack, [0, at.0, 0, 0, 0, 0])?;
    let mut stack = thread.read_bytes(at, STACK_T)?;
    thread.write_bytes(at, &saved)?;
    if r != 0 {
        return Err(Error::Spawn(format!(
            "cannot read a thread's signal stack: {}",
            errno_name(r)
        )));
    }
    // stack_t: ss_sp (8 bytes), ss_flags (int, then padding), ss_size.
    let flags = i32::from_le_bytes(stack[8..12].try_into().unwrap());
    if flags & libc::SS_DISABLE != 0 {
        return Ok(None);
    }
    // Whether the thread runs on it now is no flag one can set.
    stack[8..12].copy_from_slice(&(flags & !libc::SS_ONSTACK).to_le_bytes());
    Ok(Some(stack))
}

/// The signals thread `tid` blocks, from `/proc/TID/status`.
fn blocked_signals(tid: nix::unistd::Pid) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status"))
        .map_err(Error::io(format!("cannot read the signal mask of thread {tid}")))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0))
}
