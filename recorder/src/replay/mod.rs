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
use crate::kernel::{self, apply_tsc, is_stop_signal, is_synchronous, si_code, signal_name, SI_KERNEL, TRAP_HWBKPT};
use crate::process::ProcessTree;
use crate::program;
use crate::record::{pin_to_current_cpu, tsc_instruction};
use crate::statepoint::{self, Stub};
use crate::syscalls::{self, Replay, RequestOut};
use crate::trace::{
    Event, ExitStatus, FileHash, Header, ImageStart, Left, Placement, SignalKind, StatePoint, Stream, SyscallEvent,
    TraceLog, Trailer,
};
use crate::tracee::{self, errno_name, syscall_args, Regs, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

mod mapping;
mod shared;
mod turns;

use turns::Thread;

pub struct ReplayOptions {
    pub trace_dir: PathBuf,
    /// Write the tracee's recorded stdout/stderr to rback's own.
    pub echo_output: bool,
    /// Which processes to replay.
    pub follow: Follow,
}

/// Which processes of a recording a replay runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Every process, each making its children as recorded (`replay -a`).
    All,
    /// One process, by its id while recording, and the processes that made
    /// it up to the `fork` that made it. The others' events are passed
    /// over (their terminal output is still shown): what they did to the
    /// followed process reached it through its own recorded syscalls and
    /// signals. A debugger follows one process at a time, like gdb, and
    /// its checkpoints copy that one process.
    Process(i32),
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
    let mut session = ReplaySession::start(trace_dir, false, Follow::All)?;
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
    let log = Arc::new(TraceLog::load(&opts.trace_dir)?);
    let ahead = opts.follow == Follow::All;
    let mut session = ReplaySession::start_with(&opts.trace_dir, log.clone(), opts.echo_output, opts.follow, ahead)?;
    let outcome = session.run_to_end();
    drop(session);
    // Freeing a long trace's events one by one takes a fifth as long as
    // replaying them, and the caller is usually about to exit: let a thread
    // of its own free them (or the exit, if it comes first).
    // (If no thread can be made, spawn drops the closure, and `log` with it.)
    let _ = std::thread::Builder::new()
        .name("free trace".into())
        .spawn(move || drop(log));
    outcome
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

/// The program a recording that starts from an image starts with: that
/// image restored for replay (`image::restore`, `Under::Replay`), its first
/// thread, its other threads under their ids in the recording (`start`'s),
/// and where the kernel clears the first thread's id when it exits.
fn restore_start(
    trace_dir: &Path,
    start: &ImageStart,
    pid: i32,
    passes: tracee::PagePasses,
) -> Result<(Tracee, Vec<Thread>, u64)> {
    use crate::image::restore::{build, Under};
    let image = files::verify(trace_dir, &start.copy)?;
    let opts = crate::image::RestartOptions {
        trace_dirs: vec![trace_dir.to_path_buf()],
        unopenable: crate::image::Unopenable::DevNull,
    };
    let built = build(&image, &opts, Under::Replay(passes)).map_err(|e| match e {
        Error::Program(why) => Error::Program(format!("the trace starts from an image that {why}")),
        other => other,
    })?;
    if built.threads.len() != start.threads.len() {
        return Err(crate::TraceError::Corrupt {
            path: trace_dir.to_path_buf(),
            offset: 0,
            why: format!(
                "the trace names {} threads made by its image, which has {}",
                start.threads.len(),
                built.threads.len()
            ),
        }
        .into());
    }
    let threads = built
        .threads
        .into_iter()
        .zip(&built.header.threads)
        .zip(&start.threads)
        .map(|((tracee, image), &tid)| Thread {
            tid,
            process: pid,
            tracee,
            clear_tid: image.words.clear_tid,
            in_vfork: None,
            in_group_stop: false,
        })
        .collect();
    Ok((built.tracee, threads, built.header.words.clear_tid))
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

/// A replay in progress: a tracee and the trace cursor it follows.
pub struct ReplaySession {
    trace_dir: PathBuf,
    log: Arc<TraceLog>,
    /// The index of the next event to replay.
    cursor: usize,
    /// Buffered calls are written into the program's syscall buffer ahead
    /// of it (`replay -a`; see `write_calls_ahead`).
    write_buffer_ahead: bool,
    /// The debugger's replay writes buffered calls ahead too while nothing
    /// can stop the program (see `Timeline::fly`), those before this event
    /// only.
    ahead_until: Option<EventIdx>,
    /// The calls last written ahead: the first one's event, and where each
    /// record ends in the buffer.
    written_ahead: Option<(usize, Vec<u64>)>,
    /// The current thread got its turn while in its process's group stop
    /// and has made no call since (see `Thread::in_group_stop`).
    current_in_group_stop: bool,
    /// The thread whose turn it is, its id as the recording knew it, and
    /// where the kernel clears its id when it exits (0: nowhere).
    tracee: Tracee,
    tid: i32,
    clear_tid: u64,
    /// The process of the thread whose turn it is (its recorded id).
    process: i32,
    /// The program's other threads, of every process this replay runs. A
    /// thread whose turn ended at a syscall stands just before it
    /// (`Tracee::rewind_syscall`).
    others: Vec<Thread>,
    /// The processes this replay runs (`None`: all), and of those, the
    /// ones that exist now.
    followed: Option<HashSet<i32>>,
    live_processes: HashSet<i32>,
    follow: Follow,
    /// How the program ended, when the replay got to its end while passing
    /// over processes it does not run.
    ended: Option<ExitStatus>,
    /// Where to wait for events not recorded yet (`rback run`).
    feed: Option<crate::live::LogFeed>,
    /// First threads that exited before the other threads of their
    /// process (zombies until their process ends).
    zombies: Vec<Tracee>,
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
    /// What each descriptor of each process names, and the copies of the
    /// files mapped shared (`replay -a` only).
    files: shared::Files,
    /// Stop after each event instead of running on (time travel).
    stop_at_boundaries: bool,
    /// How the tracee runs between events: freely, or one instruction at a
    /// time while a debugger steps.
    run_mode: Resume,
}

impl ReplaySession {
    /// Opens a trace and starts its program, stopped before its first
    /// instruction.
    pub fn start(trace_dir: &Path, echo_output: bool, follow: Follow) -> Result<ReplaySession> {
        let log = Arc::new(TraceLog::load(trace_dir)?);
        Self::start_from(trace_dir, log, echo_output, follow)
    }

    /// [`ReplaySession::start`] for a trace already in memory.
    pub fn start_from(
        trace_dir: &Path,
        log: Arc<TraceLog>,
        echo_output: bool,
        follow: Follow,
    ) -> Result<ReplaySession> {
        Self::start_with(trace_dir, log, echo_output, follow, false)
    }

    /// `write_buffer_ahead`: buffered calls are handed to the program
    /// without a stop each (see `write_calls_ahead`), for a replay that
    /// never needs to stop at one of them.
    fn start_with(
        trace_dir: &Path,
        log: Arc<TraceLog>,
        echo_output: bool,
        follow: Follow,
        write_buffer_ahead: bool,
    ) -> Result<ReplaySession> {
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
        let followed = match follow {
            Follow::All => None,
            Follow::Process(pid) => {
                let tree = ProcessTree::of(&log);
                tree.latest(pid)
                    .ok_or_else(|| Error::Program(format!("no process {pid} in this recording (see `rback info`)")))?;
                Some(tree.lineage(pid).into_iter().collect())
            }
        };
        let passes = if write_buffer_ahead {
            tracee::PagePasses::InjectionsAndReplayedGadget
        } else {
            tracee::PagePasses::Injections
        };
        let (tracee, threads, clear_tid) = match &first.image {
            None => (tracee::launch(&c_exe, &c_argv, &[], true, passes)?, Vec::new(), 0),
            // A recording of a restarted image: the same image, restored
            // from the trace's copies alone, is where it starts.
            Some(start) => restore_start(trace_dir, start, first.pid, passes)?,
        };
        let files = shared::Files::new(&log.header.cwd);
        let mut session = ReplaySession {
            trace_dir: trace_dir.to_path_buf(),
            log,
            cursor: 1,
            tid: first.pid,
            clear_tid,
            process: first.pid,
            tracee,
            others: threads,
            followed,
            live_processes: HashSet::from([first.pid]),
            follow,
            ended: None,
            feed: None,
            zombies: Vec::new(),
            echo_output,
            raised: None,
            counting: None,
            stub: None,
            switch_armed: false,
            search: None,
            search_for: String::new(),
            verified_files: HashSet::new(),
            files,
            stop_at_boundaries: false,
            run_mode: Resume::Cont,
            write_buffer_ahead,
            ahead_until: None,
            written_ahead: None,
            current_in_group_stop: false,
        };
        session.verified_files.insert(first.exe.clone());
        match first.image {
            None => session.apply_exec(&first)?,
            Some(_) => session.apply_image_start(&first)?,
        }
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
            Stop::EventStop(sig) if is_stop_signal(sig) => self.group_stop(sig),
            Stop::EventStop(_) => self.run_on(0).map(|_| Step::Continue),
            Stop::Exited(status) => {
                let at = self.next_event_index();
                if let Some(Event::Switch(switch)) = self.peek()? {
                    if matches!(switch.left, Left::ProcessExited(_)) {
                        let switch = switch.clone();
                        return self.process_ended(&switch, status);
                    }
                }
                // The first process's status is the program's; another one
                // that ends last has its own.
                let root = self.process == self.root_pid();
                match self.next_event()? {
                    Some(Event::Exit(recorded)) if !root || same_exit(recorded, status) => {
                        self.expect_end()?;
                        Ok(Step::Finished(Some(recorded)))
                    }
                    Some(other) => Err(self.diverged(at, describe(&other), format!("the program {status}"))),
                    None => Ok(Step::Finished(None)),
                }
            }
            Stop::Exec | Stop::SyscallExit | Stop::Clone | Stop::Fork | Stop::Vfork => {
                Err(Error::Spawn(format!("unexpected stop {stop:?} in replay")))
            }
        }
    }

    /// The thread reported the group stop of the stop signal just
    /// delivered. If the recording kept it stopped (a `Stopped` switch
    /// follows), the turn goes on as recorded and the thread is resumed
    /// when its turn comes back; otherwise it goes on at once, as it did
    /// while recorded (a thread that traps on its turn for a group stop
    /// the recording took it through already, or whose stop was over).
    ///
    /// The process's other threads were taken into the stop while
    /// recorded (`Waiting::enter_group_stop`), each trapping before it ran
    /// any of its own code; the same threads are taken here, so that each
    /// runs on from its trap when its turn comes, as recorded: a thread
    /// whose call the stop interrupted stands before that call (replay
    /// emulates it when the thread enters it again).
    fn group_stop(&mut self, sig: i32) -> Result<Step> {
        match self.peek()? {
            Some(Event::Switch(switch)) if switch.left == (Left::Stopped { signo: sig }) => {
                let switch = switch.clone();
                let at = self.next_event_index();
                self.next_event()?;
                let process = self.process;
                let mut failed = None;
                for thread in self.others.iter_mut() {
                    if thread.process != process || thread.in_vfork.is_some() || thread.in_group_stop {
                        continue;
                    }
                    thread.tracee.resume(Resume::Cont, 0)?;
                    match thread.tracee.wait()? {
                        Stop::EventStop(got) if is_stop_signal(got) => thread.in_group_stop = true,
                        other => {
                            failed = Some((thread.tid, other));
                            break;
                        }
                    }
                }
                if let Some((tid, stop)) = failed {
                    return Err(self.diverged(
                        at,
                        format!("thread {tid} in the group stop by {}", signal_name(sig)),
                        format!("{stop:?}"),
                    ));
                }
                self.give_turn(&switch, true)
            }
            _ => self.run_on(0).map(|_| Step::Continue),
        }
    }

    fn on_syscall(&mut self) -> Result<Step> {
        self.current_in_group_stop = false;
        let mut regs = self.tracee.regs()?;
        let nr = regs.orig_rax as i64;
        let args = syscall_args(&regs);
        self.check_calls_ahead(|| describe_call(nr, &args))?;
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
        if self.follow == Follow::All {
            self.files.note(self.process, &self.tracee, &ev);
        }
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
            match syscalls::request_out(nr, &args) {
                RequestOut::Fake(r) => how = Replay::Fake(r),
                RequestOut::MadeAgain => how = Replay::Execute,
                _ => {}
            }
        }
        if ev.buffered && nr == libc::SYS_rt_sigaction {
            // A question the library asked (the recorder takes no other
            // `rt_sigaction` from it): it changes nothing, and the program
            // gets the answer it got while recording, as in `replay -a`,
            // where the library takes it from the record.
            how = Replay::Emulate;
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
                    self.write_recorded(w)?;
                }
                if self.follow == Follow::All {
                    self.files.note_after(self.process, &self.tracee, &ev);
                }
                if nr == libc::SYS_set_tid_address {
                    // Where the kernel would clear the thread's id at its
                    // exit (see `exit_thread`).
                    self.clear_tid = args[0];
                }
                self.finish_skipped(&mut regs, &ev)?;
            }
            Replay::Execute | Replay::ExecuteUntilSignal => {
                if nr == libc::SYS_exit || nr == libc::SYS_exit_group {
                    self.tracee.resume(Resume::Cont, 0)?;
                    // The whole process ends: its other threads first, or
                    // its first thread never reports its end.
                    self.reap_siblings()?;
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
                if exec.image.is_some() {
                    // Only a recording's first event starts from an image.
                    return Err(crate::TraceError::Corrupt {
                        path: self.trace_dir.clone(),
                        offset: 0,
                        why: format!(
                            "event {} is an exec that says the program starts from a checkpoint image",
                            at.0 + 1
                        ),
                    }
                    .into());
                }
                let exe = self.verified(&exec.exe)?;
                let path = self
                    .tracee
                    .scratch(&CString::new(exe.as_os_str().as_bytes()).unwrap().into_bytes_with_nul())?;
                if nr == libc::SYS_execveat {
                    // execveat(dirfd, path, argv, envp, flags) becomes an
                    // execve of the copy: its file came from a descriptor or
                    // a directory replay does not have.
                    regs.orig_rax = libc::SYS_execve as u64;
                    (regs.rsi, regs.rdx) = (args[2], args[3]);
                }
                regs.rdi = path.0;
                self.tracee.set_regs(&regs)?;
                self.tracee.resume(Resume::Syscall, 0)?;
                // The exec waits for the process's other threads, which it
                // kills, to be reaped.
                self.reap_siblings()?;
                let tgid = self.tracee.tgid;
                if self.tracee.pid != tgid {
                    // The kernel kills the other threads at the exec and
                    // gives this one the process's id: the first thread's
                    // id is no longer that thread's, and it never reports.
                    for t in self.others.iter().filter(|t| t.tracee.pid == tgid) {
                        t.tracee.mark_gone();
                    }
                    for leader in self.zombies.iter().filter(|t| t.pid == tgid) {
                        leader.mark_gone();
                    }
                    self.zombies.retain(|t| t.pid != tgid);
                    self.tracee.become_leader();
                }
                match self.tracee.wait()? {
                    Stop::Exec => self.tracee.resume(Resume::Syscall, 0)?,
                    other => return Err(self.diverged(at, "exec".into(), format!("{other:?}"))),
                }
                // Their ends are reaped as their tracees go.
                self.others.retain(|t| t.tracee.tgid != tgid);
                self.expect_syscall_exit(at, &ev)?;
                self.next_event()?;
                self.apply_exec(&exec)?;
                self.before_resume()?;
                return self.finish_event(Finish::CallExit);
            }
            Replay::Clone => return self.clone_thread(at, &ev),
            Replay::ShmAttach if ev.result >= 0 => {
                self.attach_like_recording(&ev)?;
                injected = true;
                self.finish_skipped(&mut regs, &ev)?;
            }
            Replay::ShmDetach if ev.result == 0 => {
                self.detach_like_recording(ev.args[0])?;
                injected = true;
                self.finish_skipped(&mut regs, &ev)?;
            }
            // A failed attach or detach changed nothing.
            Replay::ShmAttach | Replay::ShmDetach => self.finish_skipped(&mut regs, &ev)?,
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

    /// Completes a syscall that is skipped rather than run: the recorded
    /// result goes in rax, and output is echoed.
    fn finish_skipped(&mut self, regs: &mut Regs, ev: &SyscallEvent) -> Result<()> {
        regs.orig_rax = u64::MAX;
        regs.rax = ev.result as u64;
        if kernel::restarts(ev.result) && !self.signal_delivered_next() {
            // A signal woke the call, another thread took it, and the kernel
            // made the call again: the program never saw this result. It
            // enters the call again (its next event).
            regs.rax = match ev.result {
                kernel::ERESTART_RESTARTBLOCK => libc::SYS_restart_syscall as u64,
                _ => ev.nr as u64,
            };
            regs.rip -= kernel::SYSCALL_INSN_LEN;
        }
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
        let ours = self.raised == Some(sig);
        if !ours && !is_synchronous(sig, code) {
            // Nothing outside rback may signal a replay (its process group is
            // its own); whatever does is not part of the recording. (In
            // `replay -a`, the kernel's SIGCHLD when a replayed child ends.)
            // It may stop the program among calls written ahead of it, which
            // it goes on with.
            self.run_on(0)?;
            return Ok(Step::Continue);
        }
        self.check_calls_ahead(|| format!("signal {}", signal_name(sig)))?;
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
                regs.eflags &= !crate::kernel::EFLAGS_RF;
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
        if self.write_buffer_ahead || self.ahead_until.is_some() {
            self.write_calls_ahead()?;
        }
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
                // SIGKILL gives no stop to deliver it at (see `Exit` below).
                Left::ProcessExited(ExitStatus::Killed { signo, .. }) if *signo == libc::SIGKILL => {
                    let signo = *signo;
                    self.tracee.raise(signo)
                }
                Left::Preempted { .. }
                | Left::AtSyscall { .. }
                | Left::Exited
                | Left::InVfork
                | Left::ProcessExited(_)
                | Left::Stopped { .. } => Ok(()),
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

    /// Makes a session ready to run at an interval start: raises the signal
    /// or arms the count the next event needs.
    pub(crate) fn prepare(&mut self) -> Result<()> {
        self.before_resume()?;
        self.install_state_check()
    }

    /// Lets the replay wait for events a live recording has not made yet
    /// when it passes over other processes' turns.
    pub(crate) fn set_feed(&mut self, feed: crate::live::LogFeed) {
        self.feed = Some(feed);
    }

    pub(crate) fn set_stop_at_boundaries(&mut self, on: bool) {
        self.stop_at_boundaries = on;
    }

    /// From now on (`Some`), until `None`, buffered calls before event
    /// `until` are written into the program's buffer ahead of it, as
    /// `replay -a` does, so that it makes them without a stop each: for a
    /// run that nothing can stop before `until`. The calls of a run the
    /// program was already given stay written (each call it takes from the
    /// buffer is counted where its run ends).
    pub(crate) fn write_ahead_until(&mut self, until: Option<EventIdx>) -> Result<()> {
        self.ahead_until = until;
        if until.is_some() && self.written_ahead.is_none() {
            self.write_calls_ahead()?;
        }
        Ok(())
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

    /// Whether a group stop by `sig` that the thread reports is where the
    /// recording ended its turn (a thread that went into the stop on its
    /// own turn: see `group_stop`), which makes it an event.
    pub(crate) fn is_group_stop_event(&self, sig: i32) -> bool {
        is_stop_signal(sig)
            && matches!(
                self.log.get(EventIdx(self.cursor as u64)),
                Some(Event::Switch(s)) if s.left == (Left::Stopped { signo: sig })
            )
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

    /// Writes the run of buffered calls that comes next into the program's
    /// syscall buffer, so that it makes them without a stop (`replay -a`;
    /// see `syscallbuf::write_ahead`), all but the last: replay stops at
    /// that one, and whatever comes next is placed from a stop, as recorded.
    fn write_calls_ahead(&mut self) -> Result<()> {
        let until = self.ahead_until.map_or(usize::MAX, |e| e.0 as usize);
        let mut calls = Vec::new();
        while let Some(Event::Syscall(call)) = self.log.get(EventIdx((self.cursor + calls.len()) as u64)) {
            // The debugger's filter stops the calls the library makes
            // again: each is an event at its stop there. It also stops at
            // opens, whose paths checkpoint images learn as replay passes
            // them (`SyscallInputs`), from the program's memory then.
            let made_again =
                !self.write_buffer_ahead && crate::syscallbuf::layout::EXECUTED_AGAIN.contains(&(call.nr as u64));
            let seen = !self.write_buffer_ahead && call.nr == libc::SYS_openat;
            if !call.buffered || made_again || seen || self.cursor + calls.len() >= until {
                break;
            }
            calls.push(&**call);
        }
        if calls.len() < 2 {
            return Ok(());
        }
        calls.pop();
        let pending = match self
            .cursor
            .checked_sub(1)
            .and_then(|e| self.log.get(EventIdx(e as u64)))
        {
            Some(Event::Syscall(call)) => Some(&**call),
            _ => None,
        };
        if let Some(ends) = crate::syscallbuf::write_ahead(&self.tracee, &calls, pending)? {
            // A buffered close changes the account of shared files as a
            // traced one would.
            for call in &calls {
                self.files.note(self.process, &self.tracee, call);
            }
            self.written_ahead = Some((self.cursor, ends));
            self.cursor += calls.len();
        }
        Ok(())
    }

    /// The program stopped: it must have used every call written ahead of
    /// it. If not, it diverged at the first one it did not use.
    fn check_calls_ahead(&mut self, got: impl FnOnce() -> String) -> Result<()> {
        let Some((first, ends)) = self.written_ahead.take() else {
            return Ok(());
        };
        let used = crate::syscallbuf::used_ahead(&self.tracee, &ends)?;
        if used == ends.len() {
            return Ok(());
        }
        let at = EventIdx((first + used) as u64);
        let expected = self.log.get(at).map(describe).unwrap_or_default();
        let mut got = got();
        if got == expected {
            // The library made the call again (see `EXECUTED_AGAIN`) and
            // it did not give what the recording got.
            got += ", made again in replay with another result or other bytes written";
        }
        Err(self.diverged(at, expected, got))
    }

    /// Whether the next event is an asynchronous signal delivered where the
    /// program stands, at the boundary the last event left it at.
    fn signal_delivered_next(&self) -> bool {
        matches!(
            self.log.get(EventIdx(self.cursor as u64)),
            Some(Event::Signal(s)) if s.kind == SignalKind::Asynchronous && s.at_execution.is_none() && s.at_state.is_none()
        )
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
            Left::InVfork => format!("thread {}'s turn, after a vfork", s.to),
            Left::ProcessExited(status) => format!("thread {}'s turn, after a process {status}", s.to),
            Left::Stopped { signo } => format!("thread {}'s turn, after a group stop by {}", s.to, signal_name(*signo)),
        },
    }
}

fn describe_call(nr: i64, args: &[u64; 6]) -> String {
    let n = syscalls::lookup(nr).map(|i| i.nargs).unwrap_or(6);
    let args: Vec<String> = args[..n].iter().map(|a| format!("{a:#x}")).collect();
    format!("syscall {}({})", syscalls::name(nr), args.join(", "))
}
