//! The replay session: re-runs a recorded program so that it computes
//! exactly what it computed while recording, without touching the world.
//!
//! The tracee runs its own code for real. At each syscall the next event of
//! the trace must be that same syscall with the same arguments (otherwise
//! replay has diverged, which is always reported as an error). Calls that
//! build the address space or signal state are executed again; every other
//! call is skipped and its recorded result and memory writes are injected.
//! **Replay never re-executes a nondeterministic syscall.**

use std::collections::HashSet;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::files;
use crate::program;
use crate::record::{apply_tsc, is_synchronous, pin_to_current_cpu, si_code, signal_name, tsc_instruction, SI_KERNEL};
use crate::statepoint::{self, Stub};
use crate::syscalls::{self, Replay, RequestOut};
use crate::trace::{
    Event, ExecEvent, ExitStatus, FileHash, Header, Left, Placement, SignalKind, StatePoint, Stream, SwitchEvent,
    SyscallEvent, TraceLog, Trailer,
};
use crate::tracee::{self, errno_name, syscall_args, Regs, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

/// `si_code` of a SIGTRAP from a debug-register breakpoint.
pub(crate) const TRAP_HWBKPT: i32 = 4;

pub struct ReplayOptions {
    pub trace_dir: PathBuf,
    /// Write the tracee's recorded stdout/stderr to rback's own.
    pub echo_output: bool,
}

pub struct ReplayOutcome {
    /// How the program ended, or `None` when the trace ends before that.
    pub status: Option<ExitStatus>,
    pub events: EventIdx,
    /// Why the trace ends before the program did.
    pub cut_short: Option<String>,
}

/// Finds where, after the last event of a trace still being recorded, the
/// live tracee (stopped with `regs`, running its own code) is: the number of
/// executions of the instruction at `regs.rip` since that event, up to the
/// first one at which a replay's registers and writable memory equal the
/// live tracee's. A signal delivered there is delivered in the same state
/// in replay, which is what makes it reproducible without a branch counter.
pub fn locate_signal_point(trace_dir: &Path, live: &Tracee, regs: &Regs, signal: &str) -> Result<u64> {
    let mut session = ReplaySession::start(trace_dir, false)?;
    session.search_for = signal.to_string();
    session.search = Some((
        regs.rip,
        Goal::SameStateAs {
            pid: live.pid,
            regs: Box::new(*regs),
        },
    ));
    session.prepare()?;
    session.tracee.resume(Resume::Cont, 0)?;
    loop {
        match session.step()? {
            Step::Continue | Step::Boundary => {}
            Step::Located(hits) => return Ok(hits),
            Step::Finished(_) => {
                return Err(Error::Unsupported {
                    event: session.next_event_index(),
                    what: format!("placing {signal}, which arrived during a long computation,"),
                    why: "a replay of the recording so far never reached the program's state".into(),
                })
            }
        }
    }
}

/// Replays a whole trace with no debugger attached.
pub fn replay(opts: &ReplayOptions) -> Result<ReplayOutcome> {
    let mut session = ReplaySession::start(&opts.trace_dir, opts.echo_output)?;
    session.run_to_end()
}

/// What one step of replay came to.
pub(crate) enum Step {
    Continue,
    /// The replay is over: `Some(status)` when the program ended as
    /// recorded, `None` when the trace ends before the program did.
    Finished(Option<ExitStatus>),
    /// A search started by [`locate_signal_point`] found its point after
    /// this many executions of the instruction.
    Located(u64),
    /// The event is replayed and the tracee stands at the start of the
    /// next interval, stopped (only with `stop_at_boundaries`).
    Boundary,
}

/// Where the tracee stands when the replay of an event is done.
#[derive(Clone, Copy)]
enum Finish {
    /// At the seccomp stop of a call that was skipped.
    SkippedCall,
    /// At the exit stop of a call that ran.
    CallExit,
    /// At a signal-delivery stop, to be resumed with this signal (0: none).
    SignalStop(i32),
}

enum Disposition {
    Caught,
    Ignored,
    Fatal,
}

/// Whether thread `pid` has a handler for `sig`.
pub(crate) fn is_caught(pid: nix::unistd::Pid, sig: i32) -> Result<bool> {
    Ok(matches!(signal_disposition(pid, sig)?, Disposition::Caught))
}

/// What delivering `sig` will do, from the masks in `/proc/PID/status`.
fn signal_disposition(pid: nix::unistd::Pid, sig: i32) -> Result<Disposition> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(Error::io(format!("cannot read the signal state of tracee {pid}")))?;
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << (sig - 1);
    Ok(if mask("SigCgt:") & bit != 0 {
        Disposition::Caught
    } else if mask("SigIgn:") & bit != 0 || matches!(sig, libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT)
    {
        Disposition::Ignored
    } else {
        Disposition::Fatal
    })
}

/// Counting executions of one instruction after the last event, with a
/// debug-register breakpoint.
struct Counting {
    rip: u64,
    hits: u64,
    goal: Goal,
}

enum Goal {
    /// Replay: a recorded signal comes at this execution.
    Hits(u64),
    /// Recording: find the first execution where the state is that of the
    /// live tracee `pid`, stopped with registers `regs`.
    SameStateAs { pid: nix::unistd::Pid, regs: Box<Regs> },
}

/// How many instruction hits a search may look at before giving up.
const SEARCH_LIMIT: u64 = 200_000;

/// A thread of the replayed program whose turn it is not.
struct Thread {
    /// Its id as the recording knew it (and as the program sees it).
    tid: i32,
    tracee: Tracee,
    /// `CLONE_CHILD_CLEARTID`'s address (0: none), for copies of it.
    clear_tid: u64,
}

/// A replay in progress: a tracee and the trace cursor it follows.
pub struct ReplaySession {
    trace_dir: PathBuf,
    log: Arc<TraceLog>,
    /// The index of the next event to replay.
    cursor: usize,
    /// The thread whose turn it is, its id as the recording knew it, and
    /// where the kernel clears its id when it exits (0: nowhere).
    tracee: Tracee,
    tid: i32,
    clear_tid: u64,
    /// The program's other threads. A thread whose turn ended at a syscall
    /// stands just before it (`Tracee::rewind_syscall`).
    others: Vec<Thread>,
    /// The first thread after it exited before the others (a zombie until
    /// the program ends).
    zombie_leader: Option<Tracee>,
    echo_output: bool,
    /// The signal rback raised to reproduce the next event, if any.
    raised: Option<i32>,
    counting: Option<Counting>,
    /// The state check in place while the next event is placed by state.
    stub: Option<Stub>,
    /// The thread was interrupted where the recording preempted it: its
    /// next stop is the switch.
    switch_armed: bool,
    /// A search for the point of a signal being recorded: where to count,
    /// and what to look for, once every event recorded so far is replayed.
    search: Option<(u64, Goal)>,
    /// The name of the signal being searched for, for errors.
    search_for: String,
    verified_files: HashSet<FileHash>,
    /// Stop after each event instead of running on (time travel).
    stop_at_boundaries: bool,
    /// How the tracee runs between events: freely, or one instruction at a
    /// time while a debugger steps.
    run_mode: Resume,
}

impl ReplaySession {
    /// Opens a trace and starts its program, stopped before its first
    /// instruction.
    pub fn start(trace_dir: &Path, echo_output: bool) -> Result<ReplaySession> {
        let log = Arc::new(TraceLog::load(trace_dir)?);
        Self::start_from(trace_dir, log, echo_output)
    }

    /// [`ReplaySession::start`] for a trace already in memory.
    pub fn start_from(trace_dir: &Path, log: Arc<TraceLog>, echo_output: bool) -> Result<ReplaySession> {
        check_cpu(&log.header)?;
        let first = match log.get(EventIdx(0)) {
            Some(Event::Exec(exec)) => exec.clone(),
            Some(_) => {
                return Err(crate::TraceError::Corrupt {
                    path: trace_dir.to_path_buf(),
                    offset: 0,
                    why: "the first event is not the program's start".into(),
                }
                .into())
            }
            None => {
                return Err(Error::Program(format!(
                    "the trace {} ends before its program started",
                    trace_dir.display()
                )))
            }
        };
        let exe = files::verify(trace_dir, &first.exe)?;
        pin_to_current_cpu();
        let c_exe = CString::new(exe.as_os_str().as_bytes()).expect("trace paths have no NUL");
        let c_argv: Vec<CString> = first
            .argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
            .collect();
        // The environment is part of the recorded stack, which replaces the
        // one exec builds; an empty one keeps exec's version small.
        let tracee = tracee::launch(&c_exe, &c_argv, &[], true)?;
        let mut session = ReplaySession {
            trace_dir: trace_dir.to_path_buf(),
            log,
            cursor: 1,
            tid: first.pid,
            clear_tid: 0,
            tracee,
            others: Vec::new(),
            zombie_leader: None,
            echo_output,
            raised: None,
            counting: None,
            stub: None,
            switch_armed: false,
            search: None,
            search_for: String::new(),
            verified_files: HashSet::new(),
            stop_at_boundaries: false,
            run_mode: Resume::Cont,
        };
        session.verified_files.insert(first.exe.clone());
        session.apply_exec(&first)?;
        Ok(session)
    }

    /// The index of the next event to be replayed.
    pub fn next_event_index(&self) -> EventIdx {
        EventIdx(self.cursor as u64)
    }

    pub fn run_to_end(&mut self) -> Result<ReplayOutcome> {
        self.prepare()?;
        self.tracee.resume(Resume::Cont, 0)?;
        loop {
            if let Step::Finished(status) = self.step()? {
                let cut_short = match (status, self.log.trailer()) {
                    (Some(_), _) => None,
                    (None, Some(Trailer { stopped: Some(why), .. })) => Some(format!("recording stopped there: {why}")),
                    (None, _) => Some("the recording was cut short (rback was killed or crashed)".to_string()),
                };
                return Ok(ReplayOutcome {
                    status,
                    events: self.next_event_index(),
                    cut_short,
                });
            }
        }
    }

    /// Runs the tracee to its next stop and replays what happens there.
    fn step(&mut self) -> Result<Step> {
        if self.counting.is_none() && self.search.is_none() && self.raised.is_none() && self.peek()?.is_none() {
            // Past the last recorded event the program's course is unknown:
            // it may compute forever without another event.
            return self.end_early();
        }
        let stop = self.tracee.wait()?;
        self.handle(stop)
    }

    /// Replays what happens at a stop of the tracee: an event, or a stop
    /// of rback's own machinery.
    pub(crate) fn handle(&mut self, stop: Stop) -> Result<Step> {
        match stop {
            Stop::Seccomp => self.on_syscall(),
            Stop::Signal(sig) => self.on_signal(sig),
            Stop::EventStop(_) if self.switch_armed => self.preempt(),
            Stop::EventStop(_) => self.run_on(0).map(|_| Step::Continue),
            Stop::Exited(status) => {
                let at = self.next_event_index();
                match self.next_event()? {
                    Some(Event::Exit(recorded)) if same_exit(recorded, status) => {
                        self.expect_end()?;
                        Ok(Step::Finished(Some(recorded)))
                    }
                    Some(other) => Err(self.diverged(at, describe(&other), format!("the program {status}"))),
                    None => Ok(Step::Finished(None)),
                }
            }
            Stop::Exec | Stop::SyscallExit | Stop::Clone => {
                Err(Error::Spawn(format!("unexpected stop {stop:?} in replay")))
            }
        }
    }

    fn on_syscall(&mut self) -> Result<Step> {
        let mut regs = self.tracee.regs()?;
        let nr = regs.orig_rax as i64;
        let args = syscall_args(&regs);
        let at = self.next_event_index();
        if let Some(Event::Switch(switch)) = self.peek()? {
            let switch = switch.clone();
            match switch.left {
                Left::AtSyscall { nr: recorded } if recorded == nr => {
                    self.next_event()?;
                    self.tracee.rewind_syscall()?;
                    return self.give_turn(&switch, true);
                }
                Left::Exited if nr == libc::SYS_exit => return self.exit_thread(&switch),
                _ => return Err(self.diverged(at, describe(&Event::Switch(switch)), describe_call(nr, &args))),
            }
        }
        let ev = match self.next_event()? {
            Some(Event::Syscall(ev)) => ev,
            Some(other) => return Err(self.diverged(at, describe(&other), describe_call(nr, &args))),
            None => return self.end_early(),
        };
        let info = syscalls::lookup(nr);
        let nargs = info.map(|i| i.nargs).unwrap_or(6);
        if ev.nr != nr || ev.args[..nargs] != args[..nargs] {
            return Err(self.diverged(at, describe_call(ev.nr, &ev.args), describe_call(nr, &args)));
        }
        let info = info.ok_or_else(|| self.diverged(at, "a known syscall".into(), describe_call(nr, &args)))?;
        self.log.inputs().observe(at, &ev, &self.tracee);
        if !ev.memory.is_empty() {
            let skip = self.stub.as_ref().map(|s| s.base);
            let memory = statepoint::program_memory(&self.tracee, regs.rsp)?;
            if statepoint::memory_hash(&memory, skip) != ev.memory {
                return Err(self.diverged(
                    at,
                    format!("memory as recorded at the entry of {}", describe_call(nr, &args)),
                    "different memory (a write the recording did not make, or a missing one)".into(),
                ));
            }
        }
        let mut how = info.replay;
        if info.outs.contains(&syscalls::Out::ByRequest) {
            if let RequestOut::Fake(r) = syscalls::request_out(nr, &args) {
                how = Replay::Fake(r);
            }
        }
        if ev.result < 0 && matches!(how, Replay::Mmap | Replay::Execve) {
            // A failed mmap or exec changed nothing: emulate the failure.
            how = Replay::Emulate;
        }
        // Injected calls take the tracee out of its seccomp stop.
        let mut injected = false;
        match how {
            Replay::Emulate | Replay::Fake(_) => {
                for w in &ev.writes {
                    self.tracee.write_bytes(w.addr, &w.bytes)?;
                }
                self.finish_skipped(&mut regs, &ev)?;
            }
            Replay::Execute | Replay::ExecuteUntilSignal => {
                if nr == libc::SYS_exit || nr == libc::SYS_exit_group {
                    self.tracee.resume(Resume::Cont, 0)?;
                    return Ok(Step::Continue);
                }
                if how == Replay::ExecuteUntilSignal {
                    self.raise_next_signal()?;
                }
                self.tracee.resume(Resume::Syscall, 0)?;
                self.expect_syscall_exit(at, &ev)?;
                self.before_resume()?;
                return self.finish_event(Finish::CallExit);
            }
            Replay::Mmap => {
                let got = self.map_like_recording(&ev)?;
                injected = true;
                if got != ev.result {
                    return Err(self.diverged(
                        at,
                        format!("mmap at {:#x}", ev.result),
                        format!("mmap returning {}", errno_name(got)),
                    ));
                }
                self.finish_skipped(&mut regs, &ev)?;
            }
            Replay::Execve => {
                let exec = match self.peek()? {
                    Some(Event::Exec(exec)) => exec.clone(),
                    _ => return Err(self.diverged(at, "an exec after execve".into(), "no exec in the trace".into())),
                };
                let exe = self.verified(&exec.exe)?;
                let path = self
                    .tracee
                    .scratch(&CString::new(exe.as_os_str().as_bytes()).unwrap().into_bytes_with_nul())?;
                regs.rdi = path.0;
                self.tracee.set_regs(&regs)?;
                self.tracee.resume(Resume::Syscall, 0)?;
                if !self.others.is_empty() || self.zombie_leader.is_some() {
                    // The kernel kills the other threads at the exec and
                    // gives this one the process's id: the first thread's
                    // id is no longer that thread's, and it never reports.
                    let tgid = self.tracee.tgid;
                    for t in self.others.iter().filter(|t| t.tracee.pid == tgid) {
                        t.tracee.mark_gone();
                    }
                    if let Some(leader) = self.zombie_leader.take() {
                        leader.mark_gone();
                    }
                    self.tracee.become_leader();
                }
                match self.tracee.wait()? {
                    Stop::Exec => self.tracee.resume(Resume::Syscall, 0)?,
                    other => return Err(self.diverged(at, "exec".into(), format!("{other:?}"))),
                }
                // Their ends are reaped as their tracees go.
                self.others.clear();
                self.expect_syscall_exit(at, &ev)?;
                self.next_event()?;
                self.apply_exec(&exec)?;
                self.before_resume()?;
                return self.finish_event(Finish::CallExit);
            }
            Replay::Clone => return self.clone_thread(at, &ev),
            Replay::Unsupported(_) => {
                return Err(self.diverged(
                    at,
                    describe_call(ev.nr, &ev.args),
                    "a syscall rback cannot replay".into(),
                ))
            }
        }
        self.finish_event(if injected {
            Finish::SignalStop(0)
        } else {
            Finish::SkippedCall
        })
    }

    /// Makes the thread a recorded `clone` made, and gives it the id it had
    /// while recording wherever the program can see it: the call's result
    /// and the `*_SETTID` words.
    fn clone_thread(&mut self, at: EventIdx, ev: &SyscallEvent) -> Result<Step> {
        if ev.result < 0 {
            // A failed clone made nothing: emulate the failure.
            let mut regs = self.tracee.regs()?;
            self.finish_skipped(&mut regs, ev)?;
            return self.finish_event(Finish::SkippedCall);
        }
        self.tracee.resume(Resume::Syscall, 0)?;
        let tid = match self.tracee.wait()? {
            Stop::Clone => self.tracee.new_thread_id()?,
            other => return Err(self.diverged(at, describe_call(ev.nr, &ev.args), format!("{other:?}"))),
        };
        self.tracee.resume(Resume::Syscall, 0)?;
        match self.tracee.wait()? {
            Stop::SyscallExit => {}
            other => return Err(self.diverged(at, "the end of clone".into(), format!("{other:?}"))),
        }
        // Its first stop comes after the kernel wrote CLONE_CHILD_SETTID.
        let thread = Tracee::adopt_thread(tid, self.tracee.tgid)?;
        let recorded = ev.result as i32;
        let mut regs = self.tracee.regs()?;
        regs.rax = ev.result as u64;
        self.tracee.set_regs(&regs)?;
        let request = crate::record::clone_request(&self.tracee, ev.nr, &ev.args)?;
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
                self.tracee
                    .write_bytes(RemoteAddr(request.child_tid), &recorded.to_le_bytes())?;
            }
        }
        self.others.push(Thread {
            tid: recorded,
            tracee: thread,
            clear_tid,
        });
        self.before_resume()?;
        self.finish_event(Finish::CallExit)
    }

    /// The current thread makes its `exit` (the switch is its event), and
    /// the next thread's turn begins.
    fn exit_thread(&mut self, switch: &SwitchEvent) -> Result<Step> {
        let at = self.next_event_index();
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

    /// Gives the turn to the thread a switch names, which then stands at
    /// the start of the next interval. The current thread is kept, stopped
    /// where it is, if it is `alive`.
    fn give_turn(&mut self, switch: &SwitchEvent, alive: bool) -> Result<Step> {
        let Some(i) = self.others.iter().position(|t| t.tid == switch.to) else {
            return Err(self.diverged(
                self.next_event_index(),
                format!("a turn for thread {}", switch.to),
                "no such thread".into(),
            ));
        };
        let next = self.others.remove(i);
        let departing = Thread {
            tid: std::mem::replace(&mut self.tid, next.tid),
            tracee: std::mem::replace(&mut self.tracee, next.tracee),
            clear_tid: std::mem::replace(&mut self.clear_tid, next.clear_tid),
        };
        if alive {
            self.others.push(departing);
        } else if departing.tracee.pid == departing.tracee.tgid {
            self.zombie_leader = Some(departing.tracee);
        }
        self.before_resume()?;
        self.finish_event(Finish::SignalStop(0))
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

    /// The tracee of thread `tid`, if it exists here.
    pub(crate) fn thread(&self, tid: i32) -> Option<&Tracee> {
        if tid == self.tid {
            return Some(&self.tracee);
        }
        self.others.iter().find(|t| t.tid == tid).map(|t| &t.tracee)
    }

    /// Whether [`ReplaySession::fork`] can copy the program as it stands.
    pub(crate) fn can_fork(&self) -> bool {
        self.zombie_leader.is_none()
    }

    /// Completes a syscall that is skipped rather than run: the recorded
    /// result goes in rax, and output is echoed.
    fn finish_skipped(&mut self, regs: &mut Regs, ev: &SyscallEvent) -> Result<()> {
        regs.orig_rax = u64::MAX;
        regs.rax = ev.result as u64;
        self.tracee.set_regs(regs)?;
        if let Some(out) = &ev.output {
            // What the replayed program writes must be what the recorded one
            // wrote: the cheapest check that replay computes what it should.
            let wrote = self.output_of(ev, out.bytes.len())?;
            if wrote != out.bytes {
                return Err(self.diverged(
                    self.next_event_index().previous(),
                    format!("{} of {}", syscalls::name(ev.nr), preview(&out.bytes)),
                    format!("the replayed program writing {}", preview(&wrote)),
                ));
            }
            if self.echo_output {
                echo(out);
            }
        }
        self.before_resume()
    }

    /// The bytes a write-like call of the replayed program hands the kernel
    /// (`len` of them, as many as the recording's output).
    fn output_of(&self, ev: &SyscallEvent, len: usize) -> Result<Vec<u8>> {
        let echo = syscalls::lookup(ev.nr).map(|i| i.echo);
        if echo == Some(syscalls::Echo::Iov) {
            let mut all = Vec::with_capacity(len);
            for (base, n) in crate::record::scatter(&self.tracee, ev.args[1], ev.args[2], len as u64)? {
                all.extend(self.tracee.read_bytes(RemoteAddr(base), n as usize)?);
            }
            return Ok(all);
        }
        self.tracee.read_bytes(RemoteAddr(ev.args[1]), len)
    }

    fn expect_syscall_exit(&mut self, at: EventIdx, ev: &SyscallEvent) -> Result<()> {
        match self.tracee.wait()? {
            Stop::SyscallExit => {}
            other => {
                return Err(self.diverged(
                    at,
                    format!("the end of {}", syscalls::name(ev.nr)),
                    format!("{other:?}"),
                ))
            }
        }
        let got = self.tracee.regs()?.rax as i64;
        if got != ev.result {
            return Err(self.diverged(
                at,
                format!("{} returning {}", syscalls::name(ev.nr), errno_name(ev.result)),
                errno_name(got).to_string(),
            ));
        }
        Ok(())
    }

    /// Re-creates a recorded mapping in the tracee and returns what the
    /// injected `mmap` returned. File mappings come from the trace's copy,
    /// privately: replay must never write into the trace. Every mapping is
    /// private in replay.
    fn map_like_recording(&mut self, ev: &SyscallEvent) -> Result<i64> {
        let a = ev.args;
        let mut flags = a[3] as i32;
        if flags & libc::MAP_FIXED == 0 {
            flags |= libc::MAP_FIXED_NOREPLACE;
        }
        let mut fd = u64::MAX;
        if let Some(hash) = &ev.mapped_file {
            let copy = self.verified(hash)?;
            let path = self
                .tracee
                .scratch(&CString::new(copy.as_os_str().as_bytes()).unwrap().into_bytes_with_nul())?;
            let opened = self.tracee.inject_syscall(
                libc::SYS_openat,
                [libc::AT_FDCWD as u64, path.0, libc::O_RDONLY as u64, 0, 0, 0],
            )?;
            if opened < 0 {
                return Err(Error::Spawn(format!(
                    "the tracee cannot open the trace's copy {}: {}",
                    copy.display(),
                    errno_name(opened)
                )));
            }
            fd = opened as u64;
        }
        // Private even when the program asked for shared memory: the only
        // other sharers in replay would be checkpoints, which must never
        // see the live program's later writes (a program's own forks are
        // refused at record time, so nothing else could tell).
        flags = (flags & !(libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE)) | libc::MAP_PRIVATE;
        let got = self
            .tracee
            .inject_syscall(libc::SYS_mmap, [ev.result as u64, a[1], a[2], flags as u64, fd, a[5]])?;
        if fd != u64::MAX {
            self.tracee.inject_syscall(libc::SYS_close, [fd, 0, 0, 0, 0, 0])?;
        }
        Ok(got)
    }

    fn on_signal(&mut self, sig: i32) -> Result<Step> {
        let info = self.tracee.siginfo()?;
        let mut regs = self.tracee.regs()?;
        let code = si_code(&info);
        let at = self.next_event_index();
        if sig == libc::SIGTRAP && code == TRAP_HWBKPT && self.counting.as_ref().is_some_and(|c| c.rip == regs.rip) {
            return self.on_counted_execution(regs);
        }
        if sig == libc::SIGTRAP && self.stub.as_ref().is_some_and(|s| s.trap == regs.rip) {
            return self.on_state_check(regs);
        }
        if sig == libc::SIGSEGV && code == SI_KERNEL {
            if let Some(len) = tsc_instruction(&self.tracee, regs.rip)? {
                match self.next_event()? {
                    Some(Event::Rdtsc { tsc, aux }) => {
                        apply_tsc(&mut regs, tsc, aux, len);
                        self.tracee.set_regs(&regs)?;
                        self.before_resume()?;
                        return self.finish_event(Finish::SignalStop(0));
                    }
                    Some(other) => return Err(self.diverged(at, describe(&other), "rdtsc".into())),
                    None => return self.end_early(),
                }
            }
        }
        let ours = self.raised == Some(sig);
        if !ours && !is_synchronous(sig, code) {
            // Nothing outside rback may signal a replay (its process group is
            // its own); whatever does is not part of the recording.
            self.run_on(0)?;
            return Ok(Step::Continue);
        }
        let ev = match self.next_event()? {
            Some(Event::Signal(ev)) => ev,
            Some(other) => return Err(self.diverged(at, describe(&other), format!("signal {}", signal_name(sig)))),
            None => return self.end_early(),
        };
        let expected_kind = if ours {
            SignalKind::Asynchronous
        } else {
            SignalKind::Synchronous
        };
        if ev.signo != sig || ev.kind != expected_kind || ev.regs.rip() != regs.rip {
            return Err(self.diverged(
                at,
                format!("signal {} at {:#x}", signal_name(ev.signo), ev.regs.rip()),
                format!("signal {} at {:#x}", signal_name(sig), regs.rip),
            ));
        }
        if ours {
            // Whether an interrupted syscall restarts depends on rax and
            // orig_rax as they were at the recorded delivery.
            let recorded = ev.regs.to_regs();
            regs.rax = recorded.rax;
            regs.orig_rax = recorded.orig_rax;
            self.tracee.set_regs(&regs)?;
            self.tracee.set_siginfo(&ev.siginfo)?;
            self.raised = None;
        }
        self.before_resume()?;
        self.finish_event(Finish::SignalStop(sig))
    }

    /// The counted instruction is about to execute once more.
    fn on_counted_execution(&mut self, regs: Regs) -> Result<Step> {
        let c = self.counting.as_mut().expect("only called while counting");
        c.hits += 1;
        let hits = c.hits;
        let arrived = match &self.counting.as_ref().unwrap().goal {
            Goal::Hits(n) => hits == *n,
            Goal::SameStateAs { pid, regs: target } => {
                if hits > SEARCH_LIMIT {
                    return Err(Error::Unsupported {
                        event: self.next_event_index(),
                        what: format!("placing {}, which arrived during a long computation,", self.search_for),
                        why: format!(
                            "no state matching the live program in {SEARCH_LIMIT} executions of {:#x}",
                            regs.rip
                        ),
                    });
                }
                tracee::same_program_state(&regs, target) && self.same_memory_as(*pid, regs.rsp)?
            }
        };
        if !arrived {
            self.run_on(0)?;
            return Ok(Step::Continue);
        }
        self.tracee.set_exec_breakpoint(None)?;
        let goal = self.counting.take().expect("counting").goal;
        if matches!(goal, Goal::SameStateAs { .. }) {
            return Ok(Step::Located(hits));
        }
        let recorded = self
            .placed_event_regs()
            .expect("counting only starts in front of a placed event");
        if !tracee::same_program_state(&regs, &recorded) {
            return Err(self.diverged(
                self.next_event_index(),
                format!(
                    "registers {:x?} at execution {hits} of {:#x}",
                    crate::trace::Registers::from(&recorded).0,
                    regs.rip
                ),
                format!("{:x?}", crate::trace::Registers::from(&regs).0),
            ));
        }
        self.at_placed_point(regs)
    }

    /// The registers of the next event if it is placed in the program's own
    /// code (an asynchronous signal or a preemption).
    fn placed_event_regs(&self) -> Option<Regs> {
        match self.log.get(EventIdx(self.cursor as u64))? {
            Event::Signal(s) => Some(s.regs.to_regs()),
            Event::Switch(s) => match &s.left {
                Left::Preempted { regs, .. } => Some(regs.to_regs()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The state the next event is placed at by state, if it is.
    fn placed_state(&self) -> Option<(u64, StatePoint)> {
        match self.log.get(EventIdx(self.cursor as u64))? {
            Event::Signal(s) if s.kind == SignalKind::Asynchronous => {
                s.at_state.as_ref().map(|p| (s.regs.rip(), (**p).clone()))
            }
            Event::Switch(s) => match &s.left {
                Left::Preempted {
                    regs,
                    at: Placement::State(p),
                } => Some((regs.rip(), (**p).clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// The thread stands at the point where the next event was recorded, in
    /// the recorded state: the event happens here. A signal is raised, to
    /// be delivered as the thread resumes; a preemption interrupts the
    /// thread, whose next stop (before it runs anything) is then the
    /// switch's, a stop like any event's for the timeline.
    fn at_placed_point(&mut self, mut regs: Regs) -> Result<Step> {
        match self.peek()? {
            Some(Event::Signal(ev)) => {
                let signo = ev.signo;
                // The breakpoint is gone, so the resume flag is not needed;
                // the recording had none at this point, and it ends up in
                // the handler's signal frame.
                regs.eflags &= !tracee::EFLAGS_RF;
                self.tracee.set_regs(&regs)?;
                self.tracee.raise(signo)?;
                self.raised = Some(signo);
            }
            Some(Event::Switch(_)) => {
                nix::sys::ptrace::interrupt(self.tracee.pid)
                    .map_err(|e| Error::ptrace("interrupt", self.tracee.pid, e))?;
                self.switch_armed = true;
            }
            _ => unreachable!("only placed events are reached this way"),
        }
        self.run_on(0)?;
        Ok(Step::Continue)
    }

    /// The thread trapped in the state check (`statepoint::Stub`): its word
    /// has the recorded value. If registers and memory are the recorded
    /// ones too, the check is taken out and the thread stands at X;
    /// otherwise it goes on round its loop.
    fn on_state_check(&mut self, regs: Regs) -> Result<Step> {
        let stub = self.stub.clone().expect("only called while a state check is in place");
        let mut program = regs;
        program.rip = stub.x;
        if !self.is_placed_point(&program, &stub)? {
            self.run_on(0)?;
            return Ok(Step::Continue);
        }
        stub.remove(&mut self.tracee)?;
        self.stub = None;
        self.tracee.set_regs(&program)?;
        self.at_placed_point(program)
    }

    /// Whether the thread, at X with the program's registers `regs`, is in
    /// the recorded state of the next event.
    fn is_placed_point(&self, regs: &Regs, stub: &Stub) -> Result<bool> {
        let (_, point) = self
            .placed_state()
            .expect("a state check is in place only before a placed event");
        let recorded = self.placed_event_regs().expect("a placed event has registers");
        Ok(tracee::same_program_state(regs, &recorded)
            && statepoint::memory_hash(&statepoint::program_memory(&self.tracee, regs.rsp)?, Some(stub.base))
                == point.memory)
    }

    /// A single step at X while the state check is in place: the step must
    /// run X's own instruction, not the jump to the check, and the check is
    /// made here (the point may be this very execution).
    fn step_at_patch(&mut self, stub: Stub, regs: Regs) -> Result<()> {
        if self.is_placed_point(&regs, &stub)? {
            stub.remove(&mut self.tracee)?;
            self.stub = None;
            self.at_placed_point(regs)?;
            return Ok(());
        }
        stub.unpatch(&self.tracee)?;
        self.tracee.resume(Resume::Step, 0)?;
        let stop = self.tracee.wait()?;
        if !matches!(stop, Stop::Exited(_)) {
            stub.patch(&self.tracee)?;
        }
        self.tracee.hand_back(stop);
        Ok(())
    }

    /// Shows the program's own bytes where the state check patched its
    /// code (reads for the debugger must never see rback's machinery).
    pub(crate) fn hide_patches(&self, addr: u64, bytes: &mut [u8]) {
        if let Some(stub) = &self.stub {
            stub.hide(addr, bytes);
        }
    }

    /// The thread's turn ends where the recording preempted it (it stands
    /// at its interrupt stop, before anything ran), and the next one's
    /// begins.
    fn preempt(&mut self) -> Result<Step> {
        self.switch_armed = false;
        let switch = match self.next_event()? {
            Some(Event::Switch(s)) => s,
            _ => unreachable!("a switch is armed only in front of one"),
        };
        self.give_turn(&switch, true)
    }

    /// Whether this replay's writable memory equals the live tracee's.
    /// (The program's memory, as `statepoint` sees it: both stand at the
    /// same stack pointer when this is asked.)
    fn same_memory_as(&self, live: nix::unistd::Pid, sp: u64) -> Result<bool> {
        let ours = statepoint::program_memory(&self.tracee, sp)?;
        let theirs = statepoint::program_view(crate::tracee::writable_memory_of(live)?, sp);
        Ok(ours == theirs)
    }

    /// Called when the current event is done and the tracee is about to run
    /// again: makes the next event happen if it is one rback must cause.
    fn before_resume(&mut self) -> Result<()> {
        if self.raised.is_some() {
            return Ok(());
        }
        if self.counting.is_some() || self.stub.is_some() || self.switch_armed {
            return Ok(());
        }
        match self.peek()? {
            Some(Event::Switch(s)) => match &s.left {
                Left::Preempted {
                    regs,
                    at: Placement::Count(n),
                } => {
                    let (rip, n) = (regs.rip(), *n);
                    self.start_counting(rip, Goal::Hits(n))
                }
                Left::Preempted { .. } | Left::AtSyscall { .. } | Left::Exited => Ok(()),
            },
            Some(Event::Signal(s)) if s.kind == SignalKind::Asynchronous => match s.at_execution {
                Some(n) => {
                    let rip = s.regs.rip();
                    self.start_counting(rip, Goal::Hits(n))
                }
                None => self.raise_next_signal(),
            },
            None => match self.search.take() {
                Some((rip, goal)) => self.start_counting(rip, goal),
                None => Ok(()),
            },
            Some(Event::Exit(ExitStatus::Killed { signo, .. })) if *signo == libc::SIGKILL => {
                // SIGKILL gives no stop to deliver it at; the recording saw the
                // program vanish after this event.
                let signo = *signo;
                self.tracee.raise(signo)
            }
            _ => Ok(()),
        }
    }

    /// Resumes the tracee between events, the way it is meant to run now.
    fn run_on(&self, sig: i32) -> Result<()> {
        self.tracee.resume(self.run_mode, sig)
    }

    /// Ends the replay of an event: the tracee runs on, or, for time travel,
    /// is brought to a stop at the start of the next interval with nothing
    /// of the event left pending, so that its registers are the program's.
    fn finish_event(&mut self, at: Finish) -> Result<Step> {
        // A state check is put in place by injecting an mmap, which needs a
        // stop with nothing pending: the interval's start.
        let check_wanted = self.stub.is_none() && self.placed_state().is_some();
        if !self.stop_at_boundaries && !check_wanted {
            let sig = match at {
                Finish::SignalStop(sig) => sig,
                _ => 0,
            };
            self.tracee.resume(Resume::Cont, sig)?;
            return Ok(Step::Continue);
        }
        match at {
            Finish::CallExit | Finish::SignalStop(0) => {}
            Finish::SkippedCall => {
                // The skipped call still passes through its exit.
                self.tracee.resume(Resume::Syscall, 0)?;
                match self.tracee.wait()? {
                    Stop::SyscallExit => {}
                    other => {
                        return Err(Error::Spawn(format!(
                            "unexpected stop {other:?} after a replayed syscall"
                        )))
                    }
                }
            }
            Finish::SignalStop(sig) => match signal_disposition(self.tracee.pid, sig)? {
                // One step with the signal enters the handler and stops
                // before its first instruction.
                Disposition::Caught => {
                    self.tracee.resume(Resume::Step, sig)?;
                    match self.tracee.wait()? {
                        Stop::Signal(libc::SIGTRAP) => {}
                        Stop::Exited(status) => return self.handle(Stop::Exited(status)),
                        other => {
                            return Err(Error::Spawn(format!(
                                "unexpected stop {other:?} entering a signal handler"
                            )))
                        }
                    }
                }
                // Delivering it would change nothing the program can see.
                Disposition::Ignored => {}
                Disposition::Fatal => {
                    self.tracee.resume(Resume::Cont, sig)?;
                    let stop = self.tracee.wait()?;
                    return self.handle(stop);
                }
            },
        }
        if check_wanted {
            self.install_state_check()?;
        }
        if !self.stop_at_boundaries {
            self.run_on(0)?;
            return Ok(Step::Continue);
        }
        Ok(Step::Boundary)
    }

    /// Puts the state check for the next event in place (see `statepoint`),
    /// with the tracee at an interval's start.
    fn install_state_check(&mut self) -> Result<()> {
        if let Some((x, point)) = self.placed_state().filter(|_| self.stub.is_none()) {
            self.stub = Some(Stub::install(&mut self.tracee, x, &point)?);
        }
        Ok(())
    }

    /// A copy of this session, for a checkpoint: same place in the trace, a
    /// forked tracee. Must be called at an interval start (a boundary stop).
    /// The copy has nothing raised or counted; [`ReplaySession::prepare`]
    /// re-creates that when the copy is to run.
    pub(crate) fn fork(&mut self) -> Result<ReplaySession> {
        if self.zombie_leader.is_some() {
            return Err(Error::Unsupported {
                event: self.next_event_index(),
                what: "a checkpoint after the program's first thread exited".into(),
                why: "the copy would need a zombie thread, which rback cannot make".into(),
            });
        }
        let mut tracee = self.tracee.fork()?;
        // Signals rback had raised, dequeued while the fork was injected.
        for info in std::mem::take(&mut self.tracee.stray_signals) {
            self.tracee.raise(crate::record::signo_of(&info))?;
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
                tracee: copy_thread(&mut thread.tracee, &mut tracee, thread.clear_tid)?,
                clear_tid: thread.clear_tid,
            });
        }
        Ok(ReplaySession {
            trace_dir: self.trace_dir.clone(),
            log: self.log.clone(),
            cursor: self.cursor,
            tid: self.tid,
            clear_tid: self.clear_tid,
            tracee,
            others,
            zombie_leader: None,
            echo_output: self.echo_output,
            raised: None,
            counting: None,
            // The copy's memory holds the check as it is here.
            stub: self.stub.clone(),
            switch_armed: false,
            search: None,
            search_for: String::new(),
            verified_files: self.verified_files.clone(),
            stop_at_boundaries: self.stop_at_boundaries,
            run_mode: Resume::Cont,
        })
    }

    /// Makes a session ready to run at an interval start: raises the signal
    /// or arms the count the next event needs.
    pub(crate) fn prepare(&mut self) -> Result<()> {
        self.before_resume()?;
        self.install_state_check()
    }

    pub(crate) fn set_stop_at_boundaries(&mut self, on: bool) {
        self.stop_at_boundaries = on;
    }

    /// Resumes the tracee from a stop where rback holds it, stepping one
    /// instruction or running freely until the next stop.
    pub(crate) fn resume(&mut self, mode: Resume) -> Result<()> {
        self.run_mode = mode;
        if let (Resume::Step, Some(stub)) = (mode, self.stub.clone()) {
            let regs = self.tracee.regs()?;
            if regs.rip == stub.x {
                return self.step_at_patch(stub, regs);
            }
        }
        self.tracee.resume(mode, 0)
    }

    pub(crate) fn tracee(&self) -> &Tracee {
        &self.tracee
    }

    /// Whether the thread's next stop is a preemption's (see
    /// `at_placed_point`): an interrupt stop that is an event.
    pub(crate) fn switch_armed(&self) -> bool {
        self.switch_armed
    }

    /// Whether `sig` at this stop is the next recorded event (a signal rback
    /// raised, a fault, an rdtsc), rather than a stop of rback's machinery.
    pub(crate) fn is_signal_event(&self, sig: i32, code: i32) -> bool {
        if sig == libc::SIGTRAP && code == TRAP_HWBKPT {
            return false;
        }
        if sig == libc::SIGTRAP
            && self
                .stub
                .as_ref()
                .is_some_and(|s| self.tracee.regs().is_ok_and(|r| r.rip == s.trap))
        {
            return false;
        }
        self.raised == Some(sig) || is_synchronous(sig, code) || (sig == libc::SIGSEGV && code == SI_KERNEL)
    }

    fn start_counting(&mut self, rip: u64, goal: Goal) -> Result<()> {
        self.tracee.set_exec_breakpoint(Some(RemoteAddr(rip)))?;
        self.counting = Some(Counting { rip, hits: 0, goal });
        Ok(())
    }

    fn raise_next_signal(&mut self) -> Result<()> {
        let signo = match self.peek()? {
            Some(Event::Signal(s)) => s.signo,
            _ => return Ok(()),
        };
        self.tracee.raise(signo)?;
        self.raised = Some(signo);
        Ok(())
    }

    /// Puts the tracee in the state the recording found after an exec: the
    /// recorded stack (argv, environment, auxv, AT_RANDOM) at the recorded
    /// place, and the rback page.
    fn apply_exec(&mut self, exec: &ExecEvent) -> Result<()> {
        self.tracee.reopen_mem()?;
        let mut regs = self.tracee.regs()?;
        let recorded = exec.regs.to_regs();
        if regs.rip != recorded.rip {
            return Err(self.diverged(
                self.next_event_index(),
                format!("the program to start at {:#x}", recorded.rip),
                format!("{:#x}", regs.rip),
            ));
        }
        if let Some((path, hash)) = &exec.interp {
            self.check_interp(path, hash)?;
        }
        // Clear what exec put below the recorded stack contents, then lay the
        // recorded contents over it.
        let lowest = regs.rsp.min(exec.stack.addr.0);
        if lowest < exec.stack.addr.0 {
            self.tracee
                .write_bytes(RemoteAddr(lowest), &vec![0u8; (exec.stack.addr.0 - lowest) as usize])?;
        }
        self.tracee.write_bytes(exec.stack.addr, &exec.stack.bytes)?;
        regs.rsp = recorded.rsp;
        self.tracee.set_regs(&regs)?;
        self.tid = exec.pid;
        self.tracee.install_rback_page()
    }

    /// The loader is mapped by the kernel from the path named in the
    /// program, not from the trace; make sure it is the recorded one.
    fn check_interp(&mut self, path: &str, hash: &FileHash) -> Result<()> {
        let pid = self.tracee.pid;
        let maps = self.tracee.mappings()?;
        let here = maps
            .iter()
            .find(|m| m.path == path)
            .map(|m| format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end));
        let same = here
            .and_then(|p| std::fs::read(p).ok())
            .is_some_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == hash.0);
        if !same {
            return Err(Error::Program(format!(
                "the dynamic loader {path} changed since the recording; replaying with a changed loader is not supported yet"
            )));
        }
        Ok(())
    }

    fn verified(&mut self, hash: &FileHash) -> Result<PathBuf> {
        if self.verified_files.contains(hash) {
            return Ok(self.trace_dir.join(crate::trace::FILES_DIR).join(&hash.0));
        }
        let path = files::verify(&self.trace_dir, hash)?;
        self.verified_files.insert(hash.clone());
        Ok(path)
    }

    fn peek(&mut self) -> Result<Option<&Event>> {
        Ok(self.log.get(EventIdx(self.cursor as u64)))
    }

    fn next_event(&mut self) -> Result<Option<Event>> {
        let ev = self.log.get(EventIdx(self.cursor as u64)).cloned();
        if ev.is_some() {
            self.cursor += 1;
        }
        Ok(ev)
    }

    fn expect_end(&mut self) -> Result<()> {
        match self.peek()? {
            None => Ok(()),
            Some(e) => {
                let e = describe(e);
                Err(self.diverged(self.next_event_index(), e, "the program's end".into()))
            }
        }
    }

    fn end_early(&mut self) -> Result<Step> {
        Ok(Step::Finished(None))
    }

    fn diverged(&self, event: EventIdx, expected: String, got: String) -> Error {
        let error = Error::Diverged { event, expected, got };
        self.log.mark_diverged(error.to_string());
        error
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

/// At most 40 bytes of output, quoted, for a divergence message.
fn preview(bytes: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
    let more = if bytes.len() > 40 { "..." } else { "" };
    format!("{shown:?}{more}")
}

/// Writes recorded terminal output to rback's own stream of the same kind.
/// Best effort, like the program's own write: a closed stdout must not stop
/// the replay.
pub(crate) fn echo(out: &crate::trace::Output) {
    let _ = match out.stream {
        Stream::Stdout => std::io::stdout()
            .lock()
            .write_all(&out.bytes)
            .and_then(|_| std::io::stdout().flush()),
        Stream::Stderr => std::io::stderr().lock().write_all(&out.bytes),
    };
}

fn check_cpu(header: &Header) -> Result<()> {
    let here = program::cpu_identity();
    if here != header.cpu {
        let model = |c: &crate::trace::CpuIdentity| {
            let sig = c.leaves.iter().find(|l| l.0 == 1).map(|l| l.2[0]).unwrap_or(0);
            format!("{} family/model {sig:#x}", c.vendor)
        };
        return Err(Error::CpuMismatch {
            recorded: model(&header.cpu),
            here: model(&here),
        });
    }
    Ok(())
}

fn same_exit(recorded: ExitStatus, got: ExitStatus) -> bool {
    match (recorded, got) {
        (ExitStatus::Killed { signo: a, .. }, ExitStatus::Killed { signo: b, .. }) => a == b,
        _ => recorded == got,
    }
}

/// A one-line description of an event, for divergence messages.
pub fn describe(ev: &Event) -> String {
    match ev {
        Event::Exec(e) => format!("exec of {}", e.exe_path),
        Event::Syscall(s) => describe_call(s.nr, &s.args),
        Event::Rdtsc { .. } => "rdtsc".into(),
        Event::Signal(s) => format!("signal {} at {:#x}", signal_name(s.signo), s.regs.rip()),
        Event::Exit(status) => format!("the program's end ({status})"),
        Event::Switch(s) => match &s.left {
            Left::AtSyscall { nr } => format!("thread {}'s turn, at {}", s.to, syscalls::name(*nr)),
            Left::Preempted { regs, .. } => format!("thread {}'s turn, preempting at {:#x}", s.to, regs.rip()),
            Left::Exited => format!("thread {}'s turn, after a thread's exit", s.to),
        },
    }
}

fn describe_call(nr: i64, args: &[u64; 6]) -> String {
    let n = syscalls::lookup(nr).map(|i| i.nargs).unwrap_or(6);
    let args: Vec<String> = args[..n].iter().map(|a| format!("{a:#x}")).collect();
    format!("syscall {}({})", syscalls::name(nr), args.join(", "))
}
