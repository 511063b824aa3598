//! The recording session: runs a program to its end under ptrace and writes
//! every nondeterministic input it receives into a trace.
//!
//! The tracee stops at every syscall (seccomp `RET_TRACE`), at every `rdtsc`
//! (PR_SET_TSC makes it fault), at signals and at exec. At each stop the
//! recorder lets the real thing happen, then logs what replay will need to
//! reproduce it without the outside world: results, bytes written into the
//! tracee, output that reached the terminal, copies of mapped files.
//!
//! Asynchronous signals are delivered only at syscall boundaries, where
//! replay can place them exactly without an instruction counter: a signal
//! that arrives while the tracee runs user code is held back until its next
//! syscall (see DESIGN-NOTES §3).

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::files::FileStore;
use crate::program;
use crate::scheduler::{PendingCall, Task, TaskState, Waiting};
use crate::statepoint;
use crate::sys::SiginfoBytes;
use crate::syscalls::{self, CloneRequest, Echo, Len, Out, Replay, RequestOut};
use crate::trace::{
    Event, ExecEvent, ExitStatus, Header, Left, MemWrite, Output, Placement, Registers, SignalEvent, SignalKind,
    StatePoint, Stream, SwitchEvent, SyscallEvent, TraceLog, TraceWriter,
};
use crate::tracee::{self, syscall_args, Regs, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

pub struct RecordOptions {
    /// The program as the user named it, and its arguments (argv[1..]).
    pub program: String,
    pub args: Vec<String>,
    /// An existing, empty directory to write the trace into.
    pub trace_dir: PathBuf,
    /// Record a hash of writable memory at every N-th syscall, which replay
    /// compares (`--check-memory N`).
    pub check_memory: Option<u64>,
}

/// How a recording ended. The trace is complete and replayable even when
/// `error` is set: it then ends where the error happened.
pub struct RecordOutcome {
    pub status: Option<ExitStatus>,
    pub events: EventIdx,
    pub error: Option<Error>,
}

/// How long a signal is held back, waiting for a syscall, before rback
/// interrupts the tracee and places the signal where it is.
const SIGNAL_HOLD_LIMIT: Duration = Duration::from_millis(50);

/// How long a thread runs while another one could, before rback tries to
/// preempt it. A failed try (the thread is not in a loop whose state
/// repeats) doubles it, up to [`MAX_TIMESLICE`].
const TIMESLICE: Duration = Duration::from_millis(20);
const MAX_TIMESLICE: Duration = Duration::from_secs(1);
/// How long a syscall that is not known to block may take, while another
/// thread could run, before that thread gets its turn.
const DESCHED_AFTER: Duration = Duration::from_millis(2);
/// How long a preemption try waits for the thread to come round its loop.
const LOOP_CHECK: Duration = Duration::from_millis(20);
/// How long a thread that does real work (its state never repeats) may
/// keep its turn while others could run, before it is preempted anyway.
const LONG_TURN: Duration = Duration::from_secs(1);
/// How many instructions rback steps to find one it can patch.
const MAX_STEPS_TO_PATCH: usize = 64;

/// Records `opts.program` into `opts.trace_dir`.
pub fn record(opts: &RecordOptions) -> Result<RecordOutcome> {
    let mut rec = Recorder::launch(opts, false)?;
    let result = rec.run();
    rec.finish(result)
}

fn header_for(opts: &RecordOptions) -> Header {
    let mut argv = vec![opts.program.clone()];
    argv.extend(opts.args.iter().cloned());
    Header {
        rback_version: env!("CARGO_PKG_VERSION").to_string(),
        program: opts.program.clone(),
        argv,
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        start_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        cpu: program::cpu_identity(),
    }
}

fn cstrings_of_env() -> Result<Vec<CString>> {
    cstrings(
        std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect::<Vec<_>>()
            .iter()
            .map(|v| v.as_slice()),
    )
}

fn cstrings<'a>(items: impl Iterator<Item = &'a [u8]>) -> Result<Vec<CString>> {
    items
        .map(|b| {
            CString::new(b)
                .map_err(|_| Error::Program("an argument or environment variable contains a NUL byte".into()))
        })
        .collect()
}

/// Pins rback (and so the tracee it is about to fork) to the CPU it runs on:
/// a ptrace round trip between two CPUs costs several times one on the same.
pub fn pin_to_current_cpu() {
    if std::env::var_os("RBACK_NO_PIN").is_some() {
        return;
    }
    if let Ok(cpu) = nix::sched::sched_getcpu() {
        let mut set = nix::sched::CpuSet::new();
        if set.set(cpu).is_ok() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        }
    }
}

fn stdio_identities() -> Vec<(Stream, (u64, u64))> {
    let mut ids = vec![];
    if let Some(id) = crate::sys::fstat_identity(&std::io::stdout()) {
        ids.push((Stream::Stdout, id));
    }
    if let Some(id) = crate::sys::fstat_identity(&std::io::stderr()) {
        ids.push((Stream::Stderr, id));
    }
    ids
}

pub(crate) struct Recorder {
    /// The thread whose turn it is (see `scheduler`).
    tracee: Tracee,
    /// The program's other threads, of all its processes.
    waiting: Waiting,
    /// When the current thread's turn began, and how long a turn may last
    /// while another thread could run.
    turn_since: Instant,
    timeslice: Duration,
    writer: TraceWriter,
    store: FileStore,
    /// Registers at the syscall exit the tracee was last resumed from, while
    /// it has not run since: a signal that stops it with these registers
    /// arrives exactly at that syscall boundary.
    last_exit_regs: Option<Regs>,
    /// Asynchronous signals held back until the next syscall boundary.
    held: Vec<SiginfoBytes>,
    held_since: Option<Instant>,
    /// Held signals re-raised by rback, awaiting their delivery stop.
    reraised: Vec<SiginfoBytes>,
    /// What rback's own stdout and stderr are, to recognise tracee output.
    stdio: Vec<(Stream, (u64, u64))>,
    me: i32,
    trace_dir: PathBuf,
    /// rback sent PTRACE_INTERRUPT to place a held signal.
    interrupted: bool,
    /// A debugger follows this recording as it goes (`rback run`): the
    /// program's terminal output is shown by the replay, when it gets there,
    /// and Ctrl-C at the terminal is the debugger's, not the program's.
    live: bool,
    /// A stop already waited for, to be handled next.
    pending_stop: Option<Stop>,
    /// `RecordOptions::check_memory`, and how many syscalls ago memory was
    /// last hashed.
    check_memory: Option<u64>,
    since_memory_check: u64,
    /// How many signal handlers each thread is in (for `check_memory`).
    in_handler: HashMap<nix::unistd::Pid, u32>,
    /// Where the dynamic loader is mapped (for `check_memory`).
    loader: Option<(u64, u64)>,
}

impl Recorder {
    /// Starts `opts.program` under ptrace, stopped at the end of its exec
    /// (`on_exec` records that). A `live` recording also mirrors every
    /// event into a log in memory as it is written (`live_log`).
    pub(crate) fn launch(opts: &RecordOptions, live: bool) -> Result<Recorder> {
        let exe = program::resolve_program(&opts.program)?;
        let header = header_for(opts);
        let mut writer = TraceWriter::create(&opts.trace_dir, &header)?;
        if live {
            writer.mirror_to(Arc::new(TraceLog::growing(header.clone())));
        }
        let store = FileStore::new(&opts.trace_dir)?;
        pin_to_current_cpu();
        let c_exe =
            CString::new(exe.as_os_str().as_bytes()).map_err(|_| Error::Program("program path contains NUL".into()))?;
        let c_argv = cstrings(header.argv.iter().map(|a| a.as_bytes()))?;
        let tracee = tracee::launch(&c_exe, &c_argv, &cstrings_of_env()?, false)?;
        Ok(Recorder {
            waiting: Waiting::new(tracee.tgid),
            tracee,
            turn_since: Instant::now(),
            timeslice: TIMESLICE,
            writer,
            store,
            last_exit_regs: None,
            held: Vec::new(),
            held_since: None,
            reraised: Vec::new(),
            stdio: stdio_identities(),
            me: std::process::id() as i32,
            trace_dir: opts.trace_dir.clone(),
            interrupted: false,
            live,
            pending_stop: None,
            check_memory: opts.check_memory,
            since_memory_check: 0,
            in_handler: HashMap::new(),
            loader: None,
        })
    }

    /// Writes the trailer. The trace is complete and replayable even when
    /// `result` is an error: it then ends where the error happened.
    pub(crate) fn finish(self, result: Result<ExitStatus>) -> Result<RecordOutcome> {
        let events = self.writer.events_written();
        match result {
            Ok(status) => {
                self.writer.finish(None)?;
                Ok(RecordOutcome {
                    status: Some(status),
                    events,
                    error: None,
                })
            }
            Err(error) => {
                self.writer.finish(Some(error.to_string()))?;
                Ok(RecordOutcome {
                    status: None,
                    events,
                    error: Some(error),
                })
            }
        }
    }

    /// The log a live recording mirrors its events into.
    pub(crate) fn live_log(&self) -> Option<Arc<TraceLog>> {
        self.writer.mirror()
    }

    /// Kills the tracee and reaps it without recording its end: the trace
    /// then ends where the recording was given up, which its trailer says.
    pub(crate) fn abandon(&mut self) -> Result<()> {
        let _ = nix::sys::signal::kill(self.tracee.pid, nix::sys::signal::Signal::SIGKILL);
        while !matches!(self.tracee.wait()?, Stop::Exited(_)) {}
        Ok(())
    }

    pub(crate) fn pid(&self) -> nix::unistd::Pid {
        self.tracee.pid
    }

    pub(crate) fn events_written(&self) -> EventIdx {
        self.writer.events_written()
    }

    fn run(&mut self) -> Result<ExitStatus> {
        self.on_exec()?;
        loop {
            if let Some(status) = self.run_to_next_syscall()? {
                return Ok(status);
            }
            self.on_syscall()?;
        }
    }

    /// Lets the tracee run, recording what happens, until it stands at a
    /// syscall's entry with the syscall not yet made (`None`: `on_syscall`
    /// makes it), or until it has ended.
    pub(crate) fn run_to_next_syscall(&mut self) -> Result<Option<ExitStatus>> {
        loop {
            let stop = self.wait()?;
            match stop {
                Stop::Seccomp => return Ok(None),
                Stop::Signal(sig) => self.on_signal(sig)?,
                Stop::EventStop(_) if self.interrupted && !self.held.is_empty() => self.place_held_signal()?,
                Stop::EventStop(_) if self.interrupted => self.try_preempt()?,
                Stop::EventStop(_) => self.tracee.resume(Resume::Cont, 0)?,
                Stop::Exited(status) => {
                    if let Some(status) = self.current_exited(status)? {
                        return Ok(Some(status));
                    }
                }
                Stop::Exec | Stop::SyscallExit | Stop::Clone | Stop::Fork | Stop::Vfork => {
                    return Err(Error::Spawn(format!("unexpected stop {stop:?} while recording")));
                }
            }
        }
    }

    /// Waits for the next stop of the current thread. While signals are
    /// held back, the thread should reach a syscall soon; if it computes
    /// for longer than [`SIGNAL_HOLD_LIMIT`] without one, rback interrupts
    /// it so that the signal can be placed where it is (see
    /// [`Recorder::place_held_signal`]). Likewise when it has used up its
    /// timeslice while another thread could run ([`Recorder::try_preempt`]).
    fn wait(&mut self) -> Result<Stop> {
        if let Some(stop) = self.pending_stop.take() {
            return Ok(stop);
        }
        let mut flushed = false;
        let mut polls = 0u32;
        loop {
            if let Some(stop) = self.next_stop(false)? {
                return Ok(stop);
            }
            match self.wait_deadline() {
                Some(deadline) if !self.interrupted => {
                    if Instant::now() >= deadline {
                        nix::sys::ptrace::interrupt(self.tracee.pid)
                            .map_err(|e| Error::ptrace("interrupt", self.tracee.pid, e))?;
                        self.interrupted = true;
                    } else {
                        polls += 1;
                        pause_while_the_tracee_runs(polls);
                    }
                }
                _ if !flushed => {
                    // The tracee runs or blocks for a while: make what is
                    // recorded so far durable, so a kill of rback now loses
                    // nothing.
                    self.writer.flush()?;
                    flushed = true;
                }
                _ => {
                    if let Some(stop) = self.next_stop(true)? {
                        return Ok(stop);
                    }
                }
            }
        }
    }

    /// When the current thread is to be interrupted, if it keeps running.
    fn wait_deadline(&self) -> Option<Instant> {
        let held = self.held_since.map(|since| since + SIGNAL_HOLD_LIMIT);
        let turn_ends = self.waiting.any_can_run().then(|| self.turn_since + self.timeslice);
        held.into_iter().chain(turn_ends).min()
    }

    /// The current thread's next stop, if it has stopped (or with `block`,
    /// once it stops). Stops of the other threads are noted on the way; a
    /// blocking wait returns `None` after one of those, so that the caller
    /// can see whether it changes what to do.
    fn next_stop(&mut self, block: bool) -> Result<Option<Stop>> {
        if self.waiting.is_idle() {
            return if block {
                self.tracee.wait().map(Some)
            } else {
                self.tracee.try_wait()
            };
        }
        while let Some((pid, stop)) = tracee::wait_any(block)? {
            if stop == Stop::Exec && pid == self.tracee.tgid && pid != self.tracee.pid {
                // The current thread's execve: the kernel killed the others
                // (they report their ends) and gave it the process's id.
                self.waiting.forget_leader(self.tracee.tgid);
                self.tracee.become_leader();
                return Ok(Some(stop));
            }
            if pid == self.tracee.pid {
                if matches!(stop, Stop::Exited(_)) {
                    self.tracee.mark_gone();
                }
                return Ok(Some(stop));
            }
            self.waiting.note_stop(pid, stop)?;
            if block {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The current thread is gone, and its whole process with it (the
    /// current thread reported `status`): reaps the process's other
    /// threads, then gives the turn to another process, or, when none is
    /// left, records the program's end and returns its status, which is
    /// the first process's.
    fn current_exited(&mut self, status: ExitStatus) -> Result<Option<ExitStatus>> {
        let tgid = self.tracee.tgid;
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
    fn end_turn(&mut self, left: Left, keep: Option<TaskState>) -> Result<bool> {
        let next = loop {
            if let Some(next) = self.waiting.take_next() {
                break next;
            }
            if self.waiting.is_empty() {
                return Ok(false);
            }
            self.writer.flush()?;
            if let Some((pid, stop)) = tracee::wait_any(true)? {
                self.waiting.note_stop(pid, stop)?;
            }
        };
        let Task { tracee, state, signal } = next;
        let (to, process) = (tracee.pid.as_raw(), tracee.tgid.as_raw());
        let departing = std::mem::replace(&mut self.tracee, tracee);
        match keep {
            Some(state) => self.waiting.push(departing, state),
            // A first thread that exits before the others stays a zombie.
            None if departing.pid == departing.tgid
                && (self.tracee.tgid == departing.tgid || self.waiting.has_thread_of(departing.tgid)) =>
            {
                self.waiting.add_zombie(departing)
            }
            None => drop(departing),
        }
        self.writer
            .write_event(&Event::Switch(Box::new(SwitchEvent { to, process, left })))?;
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
    fn try_preempt(&mut self) -> Result<()> {
        self.interrupted = false;
        let placed = match self.spinning_here()? {
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
    fn spinning_here(&mut self) -> Result<Option<(Regs, Placement)>> {
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
        Ok(Some((regs, self.placement_by_count(&regs, "a thread switch")?)))
    }

    /// The current thread is in a state it has been in before (a spin):
    /// the point is the N-th execution of its instruction since the last
    /// event, N found by replaying the recording so far.
    fn placement_by_count(&mut self, regs: &Regs, what: &str) -> Result<Placement> {
        self.writer.flush()?;
        let count = crate::replay::locate_signal_point(&self.trace_dir, &self.tracee, regs, what)?;
        Ok(Placement::Count(count))
    }

    /// Delivers the first held signal where the current thread computes,
    /// in the middle of its own code, at a point replay can find again
    /// ([`Recorder::find_placement`]). If the thread makes a syscall or
    /// leaves its loop on the way, the signal stays held: it is delivered
    /// at that syscall, or placed at the next try.
    fn place_held_signal(&mut self) -> Result<()> {
        self.interrupted = false;
        let sig = signo_of(&self.held[0]);
        let Some((regs, at)) = self.find_placement(&signal_name(sig))? else {
            self.held_since = Some(Instant::now());
            if self.pending_stop.is_some() {
                return Ok(());
            }
            return self.tracee.resume(Resume::Cont, 0);
        };
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

    /// The current thread stands where rback interrupted it, in its own
    /// code. Moves it on to a point that replay can find again and says how
    /// (see `statepoint`): it steps to an instruction X that can be patched,
    /// then lets the thread come round X twice more. If the state repeats
    /// (a spin loop), the point is the N-th execution of X, N found by
    /// replaying the recording so far; otherwise it is named by state.
    /// `None`: the thread did something else on the way (a syscall, a
    /// signal: that stop is pending) or did not come back to X soon.
    fn find_placement(&mut self, what: &str) -> Result<Option<(Regs, Placement)>> {
        let placed = self.find_placement_at_a_visit(what)?;
        if let Some((regs, _)) = &placed {
            // The thread stands at a debug-register stop, whose resume flag
            // would end up in a signal frame; replay has none there.
            let mut clean = *regs;
            clean.eflags &= !tracee::EFLAGS_RF;
            self.tracee.set_regs(&clean)?;
        }
        Ok(placed.map(|(mut regs, at)| {
            regs.eflags &= !tracee::EFLAGS_RF;
            (regs, at)
        }))
    }

    fn find_placement_at_a_visit(&mut self, what: &str) -> Result<Option<(Regs, Placement)>> {
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
            return Ok(Some((regs, self.placement_by_count(&regs, what)?)));
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
    fn run_to(&mut self, x: u64) -> Result<bool> {
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

    pub(crate) fn on_exec(&mut self) -> Result<()> {
        self.tracee.reopen_mem()?;
        let pid = self.tracee.pid;
        let regs = self.tracee.regs()?;
        let argv = hide_vdso(&self.tracee, RemoteAddr(regs.rsp))?;
        let maps = self.tracee.mappings()?;
        let stack = maps
            .iter()
            .find(|m| m.start <= regs.rsp && regs.rsp < m.end)
            .ok_or_else(|| Error::Spawn("the new program's stack is not mapped".into()))?;
        let stack = MemWrite {
            addr: RemoteAddr(regs.rsp),
            bytes: self
                .tracee
                .read_bytes(RemoteAddr(regs.rsp), (stack.end - regs.rsp) as usize)?,
        };
        let exe_path = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let exe = self.store.capture(Path::new(&format!("/proc/{pid}/exe")))?;
        // At this point only the program, its loader, the stack and the
        // kernel's own pages are mapped: any other file is the loader.
        let interp = match maps.iter().find(|m| m.path.starts_with('/') && m.path != exe_path) {
            Some(m) => {
                let of_loader = maps.iter().filter(|l| l.path == m.path);
                let start = of_loader.clone().map(|l| l.start).min().unwrap_or(m.start);
                let end = of_loader.map(|l| l.end).max().unwrap_or(m.end);
                self.loader = Some((start, end));
                let via = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
                let hash = self
                    .store
                    .capture(Path::new(&via))
                    .or_else(|_| self.store.capture(Path::new(&m.path)))?;
                Some((m.path.clone(), hash))
            }
            None => None,
        };
        self.tracee.install_rback_page()?;
        self.writer.write_event(&Event::Exec(Box::new(ExecEvent {
            exe_path,
            exe,
            interp,
            argv,
            stack,
            regs: Registers::from(&regs),
            pid: pid.as_raw(),
        })))?;
        self.last_exit_regs = None;
        self.tracee.resume(Resume::Cont, 0)
    }

    pub(crate) fn on_syscall(&mut self) -> Result<()> {
        let mut regs = self.tracee.regs()?;
        let nr = regs.orig_rax as i64;
        let args = syscall_args(&regs);
        let event = self.writer.events_written();
        let info = syscalls::lookup(nr).ok_or_else(|| Error::Unsupported {
            event,
            what: format!("syscall number {nr}"),
            why: "rback does not know what it reads or writes".into(),
        })?;
        let mut request = None;
        let mut fake = match info.replay {
            Replay::Unsupported(why) => {
                return Err(Error::Unsupported {
                    event,
                    what: format!("syscall {}", info.name),
                    why: why.into(),
                })
            }
            Replay::Fake(result) => Some(result),
            _ => None,
        };
        if info.outs.contains(&Out::ByRequest) {
            match syscalls::request_out(nr, &args) {
                RequestOut::Unsupported(what) => {
                    return Err(Error::Unsupported {
                        event,
                        what,
                        why: "rback does not know what it writes".into(),
                    })
                }
                RequestOut::Fake(result) => fake = Some(result),
                RequestOut::Buf { ptr, len } => request = Some((ptr, len)),
                RequestOut::SemaphoreValues { ptr, semid } => {
                    // A set rback cannot look at fails the call too.
                    let count = crate::sys::semaphore_count(semid).unwrap_or(0);
                    request = Some((ptr, count * std::mem::size_of::<libc::c_ushort>()));
                }
            }
        }
        if info.echo == Echo::Opaque {
            let out_fd = if nr == libc::SYS_sendfile { args[0] } else { args[2] };
            if self.stream_of(out_fd as i32).is_some() {
                fake = Some(-(libc::ENOSYS as i64));
            }
        }
        match self.signal_for_rback(nr, &args) {
            // The program has several processes: each of them that is in
            // rback's group gets the signal, and rback does not.
            Some(Aim::Group) if !self.waiting.processes().iter().all(|&p| p == self.tracee.tgid) => {
                let group = nix::unistd::getpgrp();
                let sig = args[1] as i32;
                let mut processes = self.waiting.processes();
                processes.push(self.tracee.tgid);
                processes.dedup();
                for pid in processes {
                    if sig != 0 && nix::unistd::getpgid(Some(pid)) == Ok(group) {
                        let _ = crate::sys::kill_process(pid, sig);
                    }
                }
                fake = Some(0);
            }
            // Only the program's own process is in rback's group besides
            // rback: the signal goes to it alone.
            Some(Aim::Group) => {
                regs.rdi = self.tracee.tgid.as_raw() as u64;
                self.tracee.set_regs(&regs)?;
            }
            // A signal to rback itself (the program's parent) or to every
            // process would stop the recording or worse: it is not sent, and
            // the program is told it was.
            Some(Aim::Rback) => fake = Some(0),
            None => {}
        }
        let mut shown_later = None;
        if fake.is_none() && self.live && matches!(info.echo, Echo::Buf | Echo::Iov) {
            // The debugger's replay follows this recording and shows the
            // output when it gets to this write, in step with what the user
            // is looking at; written now, it would come too early.
            if let Some(output) = self.whole_output(info.echo, &args)? {
                fake = Some(output.bytes.len() as i64);
                shown_later = Some(output);
            }
        }
        if let Some(result) = fake {
            regs.orig_rax = u64::MAX;
            regs.rax = result as u64;
            self.tracee.set_regs(&regs)?;
            self.log_syscall(nr, args, result, vec![], shown_later, None)?;
            self.last_exit_regs = Some(regs);
            return self.tracee.resume(Resume::Cont, 0);
        }
        if nr == libc::SYS_exit && self.waiting.has_thread_of(self.tracee.tgid) {
            return self.exit_thread();
        }
        if nr == libc::SYS_exit || nr == libc::SYS_exit_group {
            // No exit stop follows: the process is gone.
            self.log_syscall(nr, args, 0, vec![], None, None)?;
            return self.tracee.resume(Resume::Cont, 0);
        }
        let makes_thread = if info.replay == Replay::Clone {
            self.check_clone(nr, &args, event)?
        } else {
            false
        };
        // Capacities of in/out lengths are only readable before the call.
        let mut capacity = [0u64; 6];
        for out in info.outs {
            if let Out::Buf {
                len: Len::CapacityAt(i),
                ..
            } = out
            {
                if args[*i] != 0 {
                    let b = self.tracee.read_bytes(RemoteAddr(args[*i]), 4)?;
                    capacity[*i] = u32::from_le_bytes(b.try_into().unwrap()) as u64;
                }
            }
        }
        let call = PendingCall {
            nr,
            args,
            capacity,
            request,
            memory: self.memory_check(nr)?,
        };
        self.raise_held_signals()?;
        self.tracee.resume(Resume::Syscall, 0)?;
        // Only calls that replay does not run may end on another thread's
        // turn: replay makes those it runs when their event comes, and
        // their effects (a mapping, a signal mask) must not move in time.
        let may_desched = matches!(info.replay, Replay::Emulate | Replay::ExecuteUntilSignal);
        let blocks = syscalls::may_block(nr, &args);
        let entered = Instant::now();
        let mut polls = 0u32;
        let mut exec_happened = false;
        loop {
            let stop = if self.waiting.is_idle() {
                self.tracee.wait()?
            } else if !may_desched || !self.waiting.any_can_run() {
                match self.next_stop(true)? {
                    Some(stop) => stop,
                    None => continue,
                }
            } else if blocks || entered.elapsed() > DESCHED_AFTER {
                // Replay meets this call again after other threads ran:
                // memory then is not what it was at this entry.
                let call = PendingCall { memory: vec![], ..call };
                self.end_turn(Left::AtSyscall { nr }, Some(TaskState::InSyscall(call)))?;
                return Ok(());
            } else {
                match self.next_stop(false)? {
                    Some(stop) => stop,
                    None => {
                        polls += 1;
                        pause_while_the_tracee_runs(polls);
                        continue;
                    }
                }
            };
            match stop {
                Stop::SyscallExit => break,
                Stop::Exec => {
                    exec_happened = true;
                    self.tracee.resume(Resume::Syscall, 0)?;
                }
                Stop::Clone | Stop::Fork | Stop::Vfork => {
                    let tid = self.tracee.new_thread_id()?;
                    let tgid = if makes_thread { self.tracee.tgid } else { tid };
                    self.waiting.add_new_task(Tracee::traced(tid, tgid)?);
                    self.tracee.resume(Resume::Syscall, 0)?;
                    if stop == Stop::Vfork {
                        // The parent stays in the call until the child execs
                        // or exits: the child runs first. The call's result is
                        // the child's id, known now.
                        self.log_call_end(&call, tid.as_raw() as i64)?;
                        self.end_turn(Left::InVfork, Some(TaskState::InVfork))?;
                        return Ok(());
                    }
                }
                Stop::Exited(status) => {
                    // Killed inside the call (by SIGKILL, or another
                    // thread's exit_group).
                    return match self.current_exited(status)? {
                        Some(status) => Err(Error::TraceeDied(status)),
                        None => Ok(()),
                    };
                }
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} inside syscall {}",
                        info.name
                    )))
                }
            }
        }
        let exit_regs = self.tracee.regs()?;
        let result = exit_regs.rax as i64;
        if self.live && (-516..=-512).contains(&result) {
            // A signal interrupted the call, and the kernel restarts it if
            // the signal is not delivered. The user's Ctrl-C is not: then
            // the call as the program sees it has not happened yet.
            self.tracee.resume(Resume::Cont, 0)?;
            let next = self.tracee.wait()?;
            if let Stop::Signal(sig) = next {
                if self.is_debuggers_interrupt(sig)? {
                    return self.tracee.resume(Resume::Cont, 0);
                }
            }
            self.pending_stop = Some(next);
        }
        self.log_call_end(&call, result)?;
        if exec_happened {
            // The process's other threads died at the exec: collect their ends.
            let tgid = self.tracee.tgid;
            self.waiting.forget_leader(tgid);
            self.waiting.reap_process(tgid)?;
            return self.on_exec();
        }
        self.last_exit_regs = Some(exit_regs);
        if self.pending_stop.is_some() {
            // Already resumed, and stopped again.
            return Ok(());
        }
        self.tracee.resume(Resume::Cont, 0)
    }

    /// Logs the end of a syscall with what it wrote into the tracee.
    fn log_call_end(&mut self, call: &PendingCall, result: i64) -> Result<()> {
        let info = syscalls::lookup(call.nr).expect("a call is pending only if the table knows it");
        let event = self.writer.events_written();
        let mut writes = if result >= 0 && call.nr == libc::SYS_shmat {
            self.attached_segment(RemoteAddr(result as u64))?
        } else if result >= 0 {
            self.outputs(info, &call.args, result, &call.capacity, call.request)?
        } else {
            vec![]
        };
        if result > 0 {
            // A write to the program's own /proc/PID/mem, or to a file it
            // has mapped shared, changed its memory, which replay (making
            // no write) must change itself.
            for (at, len) in self.memory_written_through_files(call, result as u64)? {
                writes.push(MemWrite {
                    addr: at,
                    bytes: self.tracee.read_bytes(at, len as usize)?,
                });
            }
        }
        let output = if result > 0 {
            self.output(info.echo, &call.args, result)?
        } else {
            None
        };
        if result > 0 && info.replay == Replay::Clone {
            writes.extend(self.pidfd_written(call)?);
        }
        let mapped_file = if call.nr == libc::SYS_mmap && result >= 0 {
            self.mapped_file(&call.args, event)?
        } else {
            None
        };
        self.writer.write_event(&Event::Syscall(Box::new(SyscallEvent {
            nr: call.nr,
            args: call.args,
            result,
            writes,
            output,
            mapped_file,
            memory: call.memory.clone(),
        })))?;
        Ok(())
    }

    /// The hash of writable memory for this syscall's event, when it is
    /// one of every `check_memory` (empty otherwise).
    fn memory_check(&mut self, nr: i64) -> Result<Vec<u8>> {
        let Some(every) = self.check_memory else {
            return Ok(vec![]);
        };
        if nr == libc::SYS_rt_sigreturn {
            let depth = self.in_handler.entry(self.tracee.pid).or_default();
            *depth = depth.saturating_sub(1);
            return Ok(vec![]);
        }
        // A signal frame is live memory while its handler runs, and holds
        // the processor's own idea of which registers were in use.
        if self.in_handler.get(&self.tracee.pid).is_some_and(|&d| d > 0) {
            return Ok(vec![]);
        }
        // While the loader starts the program, its still writable data holds
        // CPUID answers that name the CPU it runs on (the APIC id), which
        // replay may run on another.
        let regs = self.tracee.regs()?;
        if self.loader.is_some_and(|(start, end)| (start..end).contains(&regs.rip)) {
            return Ok(vec![]);
        }
        self.since_memory_check += 1;
        if self.since_memory_check < every {
            return Ok(vec![]);
        }
        self.since_memory_check = 0;
        let sp = regs.rsp;
        Ok(statepoint::memory_hash(
            &statepoint::program_memory(&self.tracee, sp)?,
            None,
        ))
    }

    /// Whether a `clone`, `fork` or `vfork` makes a thread (else a child
    /// process). Refuses what replay could not make again: a process that
    /// shares memory without being a `vfork` child.
    fn check_clone(&self, nr: i64, args: &[u64; 6], event: EventIdx) -> Result<bool> {
        let refuse = |why: &str| Error::Unsupported {
            event,
            what: format!("syscall {}", syscalls::name(nr)),
            why: why.into(),
        };
        let Some(request) = clone_request(&self.tracee, nr, args)? else {
            return Err(refuse("its clone_args are too short to read"));
        };
        let flags = request.flags;
        if request.is_thread() {
            return Ok(true);
        }
        if flags & libc::CLONE_VM as u64 != 0 && flags & libc::CLONE_VFORK as u64 == 0 {
            return Err(refuse(
                "a child process that shares the parent's memory (CLONE_VM without CLONE_VFORK) is not supported yet",
            ));
        }
        Ok(false)
    }

    /// The current thread calls `exit` while others live on: it ends, and
    /// the next thread's turn begins. The switch is the exit's event:
    /// replay makes the `exit` there.
    fn exit_thread(&mut self) -> Result<()> {
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

    /// Whether a `kill`/`tgkill`/`tkill` would reach rback: aimed at its
    /// process group (which the program shares, for the terminal), at
    /// rback itself (the program's parent), or at every process.
    fn signal_for_rback(&self, nr: i64, args: &[u64; 6]) -> Option<Aim> {
        let target = args[0] as i32;
        match nr {
            libc::SYS_kill
                if (target == 0 && nix::unistd::getpgid(Some(self.tracee.tgid)) == Ok(nix::unistd::getpgrp()))
                    || target == -nix::unistd::getpgrp().as_raw() =>
            {
                Some(Aim::Group)
            }
            libc::SYS_kill if target == -1 || target == self.me => Some(Aim::Rback),
            libc::SYS_tgkill | libc::SYS_tkill if target == self.me => Some(Aim::Rback),
            _ => None,
        }
    }

    /// Whether a signal stop is Ctrl-C at rback's terminal during a live
    /// recording: the terminal sends SIGINT to its whole foreground process
    /// group, the program included, but the user meant the debugger.
    fn is_debuggers_interrupt(&self, sig: i32) -> Result<bool> {
        if !self.live || sig != libc::SIGINT {
            return Ok(false);
        }
        Ok(si_code(&self.tracee.siginfo()?) == SI_KERNEL)
    }

    fn log_syscall(
        &mut self,
        nr: i64,
        args: [u64; 6],
        result: i64,
        writes: Vec<MemWrite>,
        output: Option<Output>,
        mapped_file: Option<crate::trace::FileHash>,
    ) -> Result<EventIdx> {
        Ok(self.writer.write_event(&Event::Syscall(Box::new(SyscallEvent {
            nr,
            args,
            result,
            writes,
            output,
            mapped_file,
            memory: vec![],
        })))?)
    }

    /// The tracee memory a successful syscall wrote, per the table.
    fn outputs(
        &self,
        info: &syscalls::SyscallInfo,
        args: &[u64; 6],
        result: i64,
        capacity: &[u64; 6],
        request: Option<(usize, usize)>,
    ) -> Result<Vec<MemWrite>> {
        let t = &self.tracee;
        let mut writes = vec![];
        let mut push = |addr: u64, len: u64| -> Result<()> {
            if addr != 0 && len > 0 {
                writes.push(MemWrite {
                    addr: RemoteAddr(addr),
                    bytes: t.read_bytes(RemoteAddr(addr), len as usize)?,
                });
            }
            Ok(())
        };
        let result = result as u64;
        for out in info.outs {
            match *out {
                Out::Buf { ptr, len } => {
                    let n = match len {
                        Len::Fixed(n) => n as u64,
                        Len::Result => result,
                        Len::ResultTimes(k) => result * k as u64,
                        Len::ArgTimes(i, k) => args[i] * k as u64,
                        Len::Arg(i) => args[i],
                        Len::FdSet(i) => args[i].div_ceil(64) * 8,
                        Len::CapacityAt(i) => capacity[i],
                        Len::Pages(i) => args[i].div_ceil(4096),
                        Len::ResultPlus(n) => result + n as u64,
                    };
                    push(args[ptr], n)?;
                }
                Out::Iov { iov, count } => {
                    for (base, len) in scatter(t, args[iov], args[count], result)? {
                        push(base, len)?;
                    }
                }
                Out::MsgHdr { ptr } => {
                    let hdr = t.read_bytes(RemoteAddr(args[ptr]), 56)?;
                    let field = |o: usize| u64::from_le_bytes(hdr[o..o + 8].try_into().unwrap());
                    let (name, namelen) = (field(0), field(8) & 0xffff_ffff);
                    let (iov, iovlen) = (field(16), field(24));
                    let (control, controllen) = (field(32), field(40));
                    push(args[ptr], 56)?;
                    push(name, namelen)?;
                    for (base, len) in scatter(t, iov, iovlen, result)? {
                        push(base, len)?;
                    }
                    push(control, controllen)?;
                }
                Out::ByRequest => {
                    if let Some((ptr, len)) = request {
                        push(args[ptr], len as u64)?;
                    }
                }
            }
        }
        Ok(writes)
    }

    /// Where a `write` or `pwrite64` that wrote `len` bytes put them in the
    /// program's memory: all of them if its file is the program's own
    /// `/proc/PID/mem`, the parts a shared mapping of its file shows if it
    /// is a mapped file.
    fn memory_written_through_files(&self, call: &PendingCall, len: u64) -> Result<Vec<(RemoteAddr, u64)>> {
        if !matches!(call.nr, libc::SYS_write | libc::SYS_pwrite64) {
            return Ok(vec![]);
        }
        let (pid, fd) = (self.tracee.pid, call.args[0] as i32);
        let Ok(file) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) else {
            return Ok(vec![]);
        };
        let offset = if call.nr == libc::SYS_pwrite64 {
            Some(call.args[3])
        } else {
            // A write starts where the file position was: where it is now,
            // less what was written.
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("pos:"))?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .and_then(|pos| pos.checked_sub(len))
        };
        let Some(offset) = offset else {
            return Ok(vec![]);
        };
        if file == Path::new(&format!("/proc/{}/mem", self.tracee.tgid)) {
            return Ok(vec![(RemoteAddr(offset), len)]);
        }
        let Ok(meta) = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")) else {
            return Ok(vec![]);
        };
        use std::os::unix::fs::MetadataExt;
        if !meta.is_file() {
            return Ok(vec![]);
        }
        let path = file.to_string_lossy();
        let written = offset..offset + len;
        Ok(self
            .tracee
            .mappings()?
            .iter()
            .filter(|m| m.perms.as_bytes().get(3) == Some(&b's') && m.inode == meta.ino() && m.path == path)
            .filter_map(|m| {
                let shown = m.offset..m.offset + (m.end - m.start);
                let (from, to) = (written.start.max(shown.start), written.end.min(shown.end));
                (from < to).then(|| (RemoteAddr(m.start + (from - m.offset)), to - from))
            })
            .collect())
    }

    /// The pidfd a `clone` with `CLONE_PIDFD` stored for the parent: replay
    /// makes the call too, and puts the recorded number in its place.
    fn pidfd_written(&self, call: &PendingCall) -> Result<Option<MemWrite>> {
        let Some(request) = clone_request(&self.tracee, call.nr, &call.args)? else {
            return Ok(None);
        };
        if request.flags & libc::CLONE_PIDFD as u64 == 0 || request.pidfd == 0 {
            return Ok(None);
        }
        let at = RemoteAddr(request.pidfd);
        Ok(Some(MemWrite {
            addr: at,
            bytes: self.tracee.read_bytes(at, 4)?,
        }))
    }

    /// The contents of the System V shared memory segment just attached at
    /// `at`, for replay to lay into its own mapping there.
    fn attached_segment(&self, at: RemoteAddr) -> Result<Vec<MemWrite>> {
        let maps = self.tracee.mappings()?;
        let Some(segment) = maps.iter().find(|m| m.start == at.0) else {
            return Err(Error::Spawn(format!("no mapping at {at} after shmat")));
        };
        Ok(vec![MemWrite {
            addr: at,
            bytes: self.tracee.read_bytes(at, (segment.end - segment.start) as usize)?,
        }])
    }

    /// Output for rback's own stdout/stderr, which replay writes again.
    fn output(&self, echo: Echo, args: &[u64; 6], result: i64) -> Result<Option<Output>> {
        let bytes = match echo {
            Echo::None | Echo::Opaque => return Ok(None),
            Echo::Buf | Echo::Iov => {
                let Some(stream) = self.stream_of(args[0] as i32) else {
                    return Ok(None);
                };
                let bytes = if echo == Echo::Buf {
                    self.tracee.read_bytes(RemoteAddr(args[1]), result as usize)?
                } else {
                    let mut all = Vec::with_capacity(result as usize);
                    for (base, len) in scatter(&self.tracee, args[1], args[2], result as u64)? {
                        all.extend(self.tracee.read_bytes(RemoteAddr(base), len as usize)?);
                    }
                    all
                };
                (stream, bytes)
            }
        };
        Ok(Some(Output {
            stream: bytes.0,
            bytes: bytes.1,
        }))
    }

    /// Everything a write to one of rback's streams asks to write, or
    /// `None` for another file or a buffer it cannot read (the kernel then
    /// gives the program its error).
    fn whole_output(&self, echo: Echo, args: &[u64; 6]) -> Result<Option<Output>> {
        if self.stream_of(args[0] as i32).is_none() {
            return Ok(None);
        }
        let total = match echo {
            Echo::Buf => args[2],
            _ => {
                let Ok(raw) = self
                    .tracee
                    .read_bytes(RemoteAddr(args[1]), (args[2].min(1024) * 16) as usize)
                else {
                    return Ok(None);
                };
                raw.chunks_exact(16)
                    .map(|iov| u64::from_le_bytes(iov[8..].try_into().unwrap()))
                    .sum()
            }
        };
        if total > isize::MAX as u64 {
            return Ok(None);
        }
        Ok(self.output(echo, args, total as i64).ok().flatten())
    }

    /// Which of rback's streams the tracee's `fd` is, if either.
    fn stream_of(&self, fd: i32) -> Option<Stream> {
        let meta = std::fs::metadata(format!("/proc/{}/fd/{fd}", self.tracee.pid)).ok()?;
        use std::os::unix::fs::MetadataExt;
        let id = (meta.dev(), meta.ino());
        let matching: Vec<Stream> = self.stdio.iter().filter(|(_, i)| *i == id).map(|(s, _)| *s).collect();
        match matching.as_slice() {
            [] => None,
            [one] => Some(*one),
            // stdout and stderr are one file (a terminal): go by the fd.
            _ => Some(if fd == 2 { Stream::Stderr } else { Stream::Stdout }),
        }
    }

    /// Copies the file behind a successful `mmap` into the trace.
    fn mapped_file(&mut self, args: &[u64; 6], event: EventIdx) -> Result<Option<crate::trace::FileHash>> {
        let flags = args[3] as i32;
        if flags & libc::MAP_ANONYMOUS != 0 {
            return Ok(None);
        }
        let link = PathBuf::from(format!("/proc/{}/fd/{}", self.tracee.pid, args[4] as i32));
        let target = std::fs::read_link(&link).unwrap_or_default();
        let meta = std::fs::metadata(&link).map_err(Error::io("cannot inspect a mapped file"))?;
        if !meta.is_file() {
            if target == Path::new("/dev/zero") {
                return Ok(None);
            }
            return Err(Error::Unsupported {
                event,
                what: format!("mmap of {}", target.display()),
                why: "only regular files and anonymous memory can be mapped".into(),
            });
        }
        Ok(Some(self.store.capture(&link)?))
    }

    fn on_signal(&mut self, sig: i32) -> Result<()> {
        if self.is_debuggers_interrupt(sig)? {
            return self.tracee.resume(Resume::Cont, 0);
        }
        let info = self.tracee.siginfo()?;
        let regs = self.tracee.regs()?;
        let code = si_code(&info);
        if sig == libc::SIGSEGV && code == SI_KERNEL {
            if let Some(len) = tsc_instruction(&self.tracee, regs.rip)? {
                return self.emulate_tsc(regs, len);
            }
        }
        if let Some(i) = self.reraised.iter().position(|h| signo_of(h) == sig) {
            if code == libc::SI_TKILL && si_pid(&info) == self.me {
                // A held signal, now at a syscall boundary: deliver it with
                // the siginfo it originally came with.
                let original = self.reraised.remove(i);
                self.tracee.set_siginfo(&original)?;
                return self.deliver(sig, SignalKind::Asynchronous, original, regs, None);
            }
        }
        if is_synchronous(sig, code) {
            return self.deliver(sig, SignalKind::Synchronous, info, regs, None);
        }
        if self.last_exit_regs.as_ref().is_some_and(|r| regs_equal(r, &regs)) {
            return self.deliver(sig, SignalKind::Asynchronous, info, regs, None);
        }
        self.held.push(info);
        self.held_since.get_or_insert_with(Instant::now);
        self.tracee.resume(Resume::Cont, 0)
    }

    fn deliver(
        &mut self,
        sig: i32,
        kind: SignalKind,
        info: SiginfoBytes,
        regs: Regs,
        at: Option<Placement>,
    ) -> Result<()> {
        let (at_execution, at_state) = match at {
            None => (None, None),
            Some(Placement::Count(n)) => (Some(n), None),
            Some(Placement::State(point)) => (None, Some(point)),
        };
        if self.check_memory.is_some() && crate::replay::is_caught(self.tracee.pid, sig)? {
            *self.in_handler.entry(self.tracee.pid).or_default() += 1;
        }
        self.writer.write_event(&Event::Signal(Box::new(SignalEvent {
            signo: sig,
            kind,
            siginfo: info.to_vec(),
            regs: Registers::from(&regs),
            at_execution,
            at_state,
        })))?;
        self.last_exit_regs = None;
        self.tracee.resume(Resume::Cont, sig)
    }

    /// Re-raises held signals at a syscall entry, so they are delivered as
    /// the syscall returns (and interrupt it if it would block).
    fn raise_held_signals(&mut self) -> Result<()> {
        self.held.append(&mut self.tracee.stray_signals);
        if self.held.is_empty() {
            return Ok(());
        }
        let mut seen = HashMap::new();
        for info in self.held.drain(..) {
            // Standard signals do not queue: one pending instance each.
            seen.entry(signo_of(&info)).or_insert(info);
        }
        for (signo, info) in seen {
            self.tracee.raise(signo)?;
            self.reraised.push(info);
        }
        self.held_since = None;
        Ok(())
    }

    fn emulate_tsc(&mut self, mut regs: Regs, len: u64) -> Result<()> {
        let (tsc, aux) = if len == 3 {
            let (t, a) = crate::sys::rdtscp();
            (t, Some(a))
        } else {
            (crate::sys::rdtsc(), None)
        };
        apply_tsc(&mut regs, tsc, aux, len);
        self.tracee.set_regs(&regs)?;
        self.writer.write_event(&Event::Rdtsc { tsc, aux })?;
        self.last_exit_regs = None;
        self.tracee.resume(Resume::Cont, 0)
    }
}

/// What a `clone`, `clone3`, `fork` or `vfork` the tracee stands at asks
/// for (`None`: a `clone_args` too short to say).
pub(crate) fn clone_request(t: &Tracee, nr: i64, args: &[u64; 6]) -> Result<Option<CloneRequest>> {
    match nr {
        libc::SYS_clone3 => {
            let raw = t.read_bytes(RemoteAddr(args[0]), 32)?;
            Ok(CloneRequest::from_clone3_struct(&raw))
        }
        libc::SYS_fork => Ok(Some(CloneRequest::fork())),
        libc::SYS_vfork => Ok(Some(CloneRequest::vfork())),
        _ => Ok(Some(CloneRequest::from_clone_args(args))),
    }
}

/// Lets the CPU go while polling for a tracee's stop. Tracer and tracee
/// share one CPU, so giving it up is what lets the tracee get there: most
/// stops come within microseconds, so the first polls only yield; a tracee
/// that computes for longer is looked at less and less often (from 50 µs
/// up to every millisecond), since each look takes the CPU from it.
fn pause_while_the_tracee_runs(polls: u32) {
    const YIELDS: u32 = 64;
    if polls < YIELDS {
        nix::sched::sched_yield().ok();
    } else {
        let doubled = 50u64 << (polls - YIELDS).min(5);
        std::thread::sleep(Duration::from_micros(doubled.min(1000)));
    }
}

/// Where a signal the program sends would land besides the program.
enum Aim {
    /// rback's process group, which the program shares.
    Group,
    /// rback itself, or every process.
    Rback,
}

/// Splits `total` bytes over an iovec array in tracee memory.
pub(crate) fn scatter(t: &Tracee, iov: u64, count: u64, total: u64) -> Result<Vec<(u64, u64)>> {
    let raw = t.read_bytes(RemoteAddr(iov), (count.min(1024) * 16) as usize)?;
    let mut left = total;
    let mut parts = vec![];
    for chunk in raw.chunks_exact(16) {
        if left == 0 {
            break;
        }
        let base = u64::from_le_bytes(chunk[..8].try_into().unwrap());
        let len = u64::from_le_bytes(chunk[8..].try_into().unwrap()).min(left);
        parts.push((base, len));
        left -= len;
    }
    Ok(parts)
}

/// Hides the vDSO from the new program by turning its auxv entry into
/// AT_IGNORE, so the C library makes real (recordable) syscalls for the
/// clock. Returns argv, read on the way.
fn hide_vdso(t: &Tracee, sp: RemoteAddr) -> Result<Vec<String>> {
    let argc = t.read_u64(sp)?;
    let mut argv = vec![];
    for i in 0..argc.min(4096) {
        let p = t.read_u64(sp.offset(8 + 8 * i))?;
        argv.push(String::from_utf8_lossy(&t.read_cstring(RemoteAddr(p), 1 << 16)?).into_owned());
    }
    let mut at = sp.offset(8 * (argc + 2));
    while t.read_u64(at)? != 0 {
        at = at.offset(8);
    }
    at = at.offset(8);
    loop {
        let kind = t.read_u64(at)?;
        if kind == libc::AT_NULL {
            break;
        }
        if kind == libc::AT_SYSINFO_EHDR {
            t.write_bytes(at, &libc::AT_IGNORE.to_le_bytes())?;
        }
        at = at.offset(16);
    }
    Ok(argv)
}

pub(crate) const SI_KERNEL: i32 = 0x80;

pub(crate) fn signo_of(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[..4].try_into().unwrap())
}

pub(crate) fn si_code(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[8..12].try_into().unwrap())
}

fn si_pid(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[16..20].try_into().unwrap())
}

/// A fault raised by the instruction itself: it happens again, at the same
/// instruction, when replay runs the same code.
pub(crate) fn is_synchronous(sig: i32, code: i32) -> bool {
    matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP | libc::SIGSYS
    ) && code > 0
}

/// If the instruction at `rip` is `rdtsc` (2 bytes) or `rdtscp` (3), its length.
pub(crate) fn tsc_instruction(t: &Tracee, rip: u64) -> Result<Option<u64>> {
    let code = t.read_bytes(RemoteAddr(rip), 3)?;
    Ok(match code.as_slice() {
        [0x0f, 0x31, _] => Some(2),
        [0x0f, 0x01, 0xf9] => Some(3),
        _ => None,
    })
}

pub(crate) fn apply_tsc(regs: &mut Regs, tsc: u64, aux: Option<u32>, len: u64) {
    regs.rax = tsc & 0xffff_ffff;
    regs.rdx = tsc >> 32;
    if let Some(aux) = aux {
        regs.rcx = aux as u64;
    }
    regs.rip += len;
}

fn regs_equal(a: &Regs, b: &Regs) -> bool {
    Registers::from(a) == Registers::from(b)
}

pub(crate) fn signal_name(signo: i32) -> String {
    nix::sys::signal::Signal::try_from(signo)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signo}"))
}
