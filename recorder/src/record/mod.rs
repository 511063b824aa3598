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

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::files::FileStore;
use crate::kernel::{
    self, apply_tsc, is_stop_signal, is_synchronous, sent_by_process, si_code, si_pid, signal_name, signo_of, SI_KERNEL,
};
use crate::program;
use crate::scheduler::{GroupStop, PendingCall, TaskState, Waiting};
use crate::statepoint;
use crate::sys::SiginfoBytes;
use crate::syscallbuf::{self, Buffers};
use crate::syscalls::{self, CloneRequest, Echo, Len, Out, Replay, RequestOut};
use crate::trace::{
    Event, ExecEvent, ExitStatus, Header, ImageStart, Left, MemWrite, Output, Placement, Registers, SignalEvent,
    SignalKind, Stream, SyscallEvent, TraceLog, TraceWriter,
};
use crate::tracee::{self, syscall_args, Regs, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};
use shared_memory::SharedMemory;

mod placement;
mod shared_memory;
mod turns;
mod writes;

pub(crate) use writes::scatter;

pub struct RecordOptions {
    /// The program as the user named it, and its arguments (argv[1..]).
    pub program: String,
    pub args: Vec<String>,
    /// An existing, empty directory to write the trace into.
    pub trace_dir: PathBuf,
    /// Record a hash of writable memory at every N-th syscall, which replay
    /// compares (`--check-memory N`).
    pub check_memory: Option<u64>,
    /// Load the syscall buffer's library into the program, so that its
    /// cheap calls are recorded without a stop each (`syscallbuf`). A live
    /// recording never does: its program must not run ahead of the debugger.
    pub syscall_buffer: bool,
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
/// How many instructions rback steps to take a thread out of the syscall
/// buffer's library (copying a large read's bytes takes tens of thousands).
const MAX_STEPS_OUT_OF_BUFFER: usize = 2_000_000;

/// Records `opts.program` into `opts.trace_dir`.
pub fn record(opts: &RecordOptions) -> Result<RecordOutcome> {
    let mut rec = Recorder::launch(opts, false, false)?;
    let result = rec.on_exec().and_then(|()| rec.run());
    rec.finish(result)
}

/// What `rback restart --record` records: a checkpoint image, restarted.
pub struct RestartRecordOptions {
    /// The image, and where the copies of the files it maps are (as for
    /// `image::restart`).
    pub image: PathBuf,
    pub restart: crate::image::RestartOptions,
    /// An existing, empty directory to write the trace into.
    pub trace_dir: PathBuf,
    pub check_memory: Option<u64>,
}

/// Restarts the image `opts.image` under the recorder and records the
/// program from there to its end into `opts.trace_dir`: a trace of its own,
/// whose first event says it starts from the image (the trace keeps a copy
/// of the image, and of every file the image maps, in `files/`), which
/// replay restores instead of exec'ing a program. `notes` is given what
/// the restart could not restore as it was, before the program runs.
///
/// The syscall buffer is off in such a recording (see
/// `image::restore`'s `syscallbuf_off`).
pub fn record_restart(opts: &RestartRecordOptions, notes: impl FnOnce(&[String])) -> Result<RecordOutcome> {
    let mut rec = Recorder::restart(opts, notes)?;
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

/// rback's environment, for the program, with the syscall buffer's
/// library first in `LD_PRELOAD` if there is one, and what the library
/// must know of rback's own output (`stdio`, see `layout::OUTPUT_VAR`).
fn cstrings_of_env(preload: Option<&Path>, stdio: &[(Stream, (u64, u64))]) -> Result<Vec<CString>> {
    let output_var = syscallbuf::layout::OUTPUT_VAR;
    let mut vars = std::env::vars_os()
        .filter(|(k, _)| preload.is_none() || (k != "LD_PRELOAD" && k != output_var))
        .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
        .collect::<Vec<_>>();
    if let Some(library) = preload {
        let mut var = [b"LD_PRELOAD=", library.as_os_str().as_bytes()].concat();
        if let Some(theirs) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
            var.push(b':');
            var.extend(theirs.as_bytes());
        }
        vars.push(var);
        let files: Vec<String> = stdio.iter().map(|(_, (dev, ino))| format!("{dev}:{ino}")).collect();
        vars.push(format!("{output_var}={}", files.join(",")).into_bytes());
    }
    cstrings(vars.iter().map(|v| v.as_slice()))
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
    /// The program sent a signal (to another of its processes, maybe a
    /// SIGKILL to a thread that waits for its turn) since the last switch.
    signal_sent: bool,
    /// The program opened a /proc/PID/mem or mapped a file shared: a
    /// write may change its memory (see `memory_written_through_files`).
    memory_through_files: bool,
    /// Where the dynamic loader is mapped (for `check_memory`).
    loader: Option<(u64, u64)>,
    /// The syscall buffers of the program's processes.
    buffers: Buffers,
    /// Processes delivered a stop signal that another process of the
    /// program sent, whose group stop rback keeps (see `group_stop`).
    stopping: HashSet<nix::unistd::Pid>,
    /// What the memory that processes share held when their turns ended.
    shared_memory: SharedMemory,
}

impl Recorder {
    /// Starts `opts.program` under ptrace, stopped at the end of its exec
    /// (`on_exec` records that). A `live` recording also mirrors every
    /// event into a log in memory as it is written (`live_log`).
    /// `own_group`: the program runs in a process group of its own (a live
    /// recording lends it the terminal).
    pub(crate) fn launch(opts: &RecordOptions, live: bool, own_group: bool) -> Result<Recorder> {
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
        let preload = if opts.syscall_buffer && !live {
            Some(syscallbuf::install_library(&opts.trace_dir)?)
        } else {
            None
        };
        let stdio = stdio_identities();
        let env = cstrings_of_env(preload.as_deref(), &stdio)?;
        let tracee = tracee::launch(
            &c_exe,
            &c_argv,
            &env,
            own_group,
            tracee::PagePasses::InjectionsAndGadget,
        )?;
        Ok(Recorder::new(
            tracee,
            writer,
            store,
            stdio,
            &opts.trace_dir,
            opts.check_memory,
            live,
        ))
    }

    /// A recorder of `tracee`, the program's first thread, which runs
    /// first; it writes into `writer` and `store`.
    fn new(
        tracee: Tracee,
        writer: TraceWriter,
        store: FileStore,
        stdio: Vec<(Stream, (u64, u64))>,
        trace_dir: &Path,
        check_memory: Option<u64>,
        live: bool,
    ) -> Recorder {
        Recorder {
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
            stdio,
            me: std::process::id() as i32,
            trace_dir: trace_dir.to_path_buf(),
            interrupted: false,
            live,
            pending_stop: None,
            check_memory,
            since_memory_check: 0,
            in_handler: HashMap::new(),
            signal_sent: false,
            memory_through_files: false,
            loader: None,
            buffers: Buffers::default(),
            stopping: HashSet::new(),
            shared_memory: SharedMemory::default(),
        }
    }

    /// Starts the program of an image under ptrace (`image::restore`),
    /// writes its first event and lets it run.
    fn restart(opts: &RestartRecordOptions, notes: impl FnOnce(&[String])) -> Result<Recorder> {
        use crate::image::format::ImageReader;
        use crate::image::restore::{self, Under};
        let image = ImageReader::open(&opts.image)?.header().clone();
        restore::check_cpu(&opts.image, &image)?;
        let exe = image
            .layout
            .exe_file
            .and_then(|i| image.files.get(i as usize))
            .ok_or_else(|| {
                Error::Program(format!(
                    "{} does not say which file is its program, which a recording needs",
                    opts.image.display()
                ))
            })?
            .clone();
        let header = Header {
            rback_version: env!("CARGO_PKG_VERSION").to_string(),
            program: image.program.clone(),
            argv: image.argv.clone(),
            cwd: image.cwd.clone(),
            start_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            cpu: image.cpu.clone(),
        };
        // The trace holds everything its replay restores: the image and the
        // files it maps, copied from wherever a restart would take them.
        let copies = restore::find_copies(&opts.image, &image, &opts.restart, true)?;
        let mut writer = TraceWriter::create(&opts.trace_dir, &header)?;
        let mut store = FileStore::new(&opts.trace_dir)?;
        let image_copy = store.capture(&opts.image)?;
        for (copy, file) in copies.iter().zip(&image.files) {
            let hash = store.capture(copy)?;
            if hash != file.hash {
                return Err(Error::Program(format!(
                    "the copy of {} changed while it was copied into the trace",
                    copy.display()
                )));
            }
        }
        pin_to_current_cpu();
        let own = crate::image::RestartOptions {
            trace_dirs: vec![opts.trace_dir.clone()],
            unopenable: opts.restart.unopenable,
        };
        // Restored from the trace's copy, exactly as its replay will be.
        let image_path = crate::files::verify(&opts.trace_dir, &image_copy)?;
        let built = restore::build(&image_path, &own, Under::Recorder).map_err(|e| match e {
            // The copy is the user's image, byte for byte, and goes with
            // the trace: name the image the user named.
            Error::Program(why) => {
                Error::Program(why.replace(&image_path.display().to_string(), &opts.image.display().to_string()))
            }
            other => other,
        })?;
        notes(&built.notes);
        let tracee = built.tracee;
        let regs = tracee.regs()?;
        let threads: Vec<i32> = built.threads.iter().map(|t| t.pid.as_raw()).collect();
        let memory = statepoint::memory_hash(&statepoint::program_memory(&tracee, regs.rsp)?, None);
        writer.write_event(&Event::Exec(Box::new(ExecEvent {
            exe_path: exe.name.clone(),
            exe: exe.hash.clone(),
            interp: None,
            argv: image.argv.clone(),
            stack: MemWrite {
                addr: RemoteAddr(0),
                bytes: Default::default(),
            },
            regs: Registers::from(&regs),
            pid: tracee.pid.as_raw(),
            image: Some(ImageStart {
                copy: image_copy,
                threads,
                memory,
            }),
        })))?;
        let mut rec = Recorder::new(
            tracee,
            writer,
            store,
            stdio_identities(),
            &opts.trace_dir,
            opts.check_memory,
            false,
        );
        rec.buffers.refuse(rec.tracee.tgid);
        // The image's other threads wait for their turn, where the image
        // left them; the first thread runs first.
        for thread in built.threads {
            rec.waiting.push(thread, TaskState::Ready);
        }
        rec.tracee.resume(Resume::Cont, 0)?;
        Ok(rec)
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

    /// Records from the program's first event on to its end.
    fn run(&mut self) -> Result<ExitStatus> {
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
                Stop::EventStop(sig) if is_stop_signal(sig) && self.stopping.contains(&self.tracee.tgid) => {
                    self.group_stop(sig)?
                }
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
        let stop = self.wait_for_stop()?;
        if !matches!(stop, Stop::Exited(_)) {
            self.take_syscall_buffer()?;
        }
        Ok(stop)
    }

    /// Writes the calls the current thread made through the syscall buffer
    /// since its last stop as their events: they come before the event of
    /// the stop it stands at.
    fn take_syscall_buffer(&mut self) -> Result<()> {
        let writer = &mut self.writer;
        self.buffers
            .take(&self.tracee, |call| Ok(writer.write_syscall(&call).map(drop)?))
    }

    fn wait_for_stop(&mut self) -> Result<Stop> {
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

    pub(crate) fn on_exec(&mut self) -> Result<()> {
        self.buffers.forget(self.tracee.tgid);
        self.shared_memory.forget(self.tracee.tgid);
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
                .read_bytes(RemoteAddr(regs.rsp), (stack.end - regs.rsp) as usize)?
                .into(),
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
            image: None,
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
                RequestOut::MadeAgain => {}
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
        if syscallbuf::installs_filter(nr, &args) {
            self.buffers.before_filter(&self.tracee, event)?;
        }
        if let Some(result) = self.buffers.answer(self.tracee.tgid, nr, &args) {
            fake = Some(result);
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
        if untraced_clone(nr, &args) {
            // The child must be traced like any other (replay does the same).
            regs.rdi &= !(libc::CLONE_UNTRACED as u64);
            self.tracee.set_regs(&regs)?;
        }
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
        self.signal_sent |= matches!(
            nr,
            libc::SYS_kill
                | libc::SYS_tkill
                | libc::SYS_tgkill
                | libc::SYS_pidfd_send_signal
                | libc::SYS_rt_sigqueueinfo
                | libc::SYS_rt_tgsigqueueinfo
        );
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
                let pending = PendingCall {
                    memory: vec![],
                    ..call.clone()
                };
                if self.end_turn(Left::AtSyscall { nr }, Some(TaskState::InSyscall(pending)))? {
                    return Ok(());
                }
                // The threads that could run were found dying: this call's
                // thread keeps its turn, and the call its end.
                continue;
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
                    if !makes_thread {
                        self.buffers.inherit(self.tracee.tgid, tid, stop == Stop::Vfork);
                        self.shared_memory.forked(self.tracee.tgid, tid);
                    }
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
        if self.live && kernel::restarts(result) {
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
        if call.nr == libc::SYS_mmap && result as u64 == syscallbuf::layout::BUFFER_ADDR {
            self.buffers.register(&self.tracee)?;
        }
        if result >= 0 && matches!(call.nr, libc::SYS_open | libc::SYS_openat | libc::SYS_openat2) {
            // Opens are rarer than writes: the write path below looks at its
            // file only once the program may write its memory through one.
            let opened = std::fs::read_link(format!("/proc/{}/fd/{result}", self.tracee.pid)).unwrap_or_default();
            self.memory_through_files |= opened.ends_with("mem") && opened.starts_with("/proc");
        }
        if result > 0 && self.memory_through_files {
            // A write to the program's own /proc/PID/mem, or to a file it
            // has mapped shared, changed its memory, which replay (making
            // no write) must change itself.
            for (at, len) in self.memory_written_through_files(call, result as u64)? {
                writes.push(MemWrite {
                    addr: at,
                    bytes: self.tracee.read_bytes(at, len as usize)?.into(),
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
        if result >= 0 {
            self.shared_memory.called(self.tracee.tgid, call.nr, &call.args);
        }
        let mapped_file = if call.nr == libc::SYS_mmap && result >= 0 {
            self.mapped_file(&call.args, event)?
        } else {
            None
        };
        let opened_file = self.opened_file(call.nr, result);
        let event = SyscallEvent {
            nr: call.nr,
            args: call.args,
            result,
            writes,
            output,
            mapped_file,
            memory: call.memory.clone(),
            buffered: false,
            opened_file,
        };
        if let Some(file) = event.opened_for_writing() {
            self.shared_memory.opened_for_writing(file);
        }
        self.writer.write_event(&Event::Syscall(Box::new(event)))?;
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
        if nr == libc::SYS_clone3 && flags & libc::CLONE_UNTRACED as u64 != 0 {
            return Err(refuse("clone3 with CLONE_UNTRACED is not supported yet (clone's is)"));
        }
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
        let opened_file = self.opened_file(nr, result);
        Ok(self.writer.write_event(&Event::Syscall(Box::new(SyscallEvent {
            nr,
            args,
            result,
            writes,
            output,
            mapped_file,
            memory: vec![],
            buffered: false,
            opened_file,
        })))?)
    }

    /// The file a successful open made descriptor `result` of, as the
    /// kernel names it (see `SyscallEvent::opened_file`).
    fn opened_file(&self, nr: i64, result: i64) -> Option<crate::trace::Inode> {
        use std::os::unix::fs::MetadataExt;
        let opens = [libc::SYS_open, libc::SYS_openat, libc::SYS_openat2, libc::SYS_creat];
        if result < 0 || !opens.contains(&nr) {
            return None;
        }
        let m = std::fs::metadata(format!("/proc/{}/fd/{result}", self.tracee.tgid)).ok()?;
        Some(crate::trace::Inode {
            dev: m.dev(),
            ino: m.ino(),
        })
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
                if self.buffers.busy(&self.tracee)? {
                    // Blocked when it was raised, and unblocked now by a
                    // buffered call (`rt_sigprocmask`): no point inside it
                    // can be named. Held again, it is delivered at the next
                    // syscall or placed outside the library.
                    self.held.push(original);
                    self.held_since.get_or_insert_with(Instant::now);
                    return self.tracee.resume(Resume::Cont, 0);
                }
                self.tracee.set_siginfo(&original)?;
                return self.deliver(sig, SignalKind::Asynchronous, original, regs, None);
            }
        }
        if is_synchronous(sig, code) {
            return self.deliver(sig, SignalKind::Synchronous, info, regs, None);
        }
        if self.last_exit_regs.as_ref().is_some_and(|r| regs_equal(r, &regs)) && !self.buffers.busy(&self.tracee)? {
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
        let caught = crate::replay::is_caught(self.tracee.pid, sig)?;
        if self.check_memory.is_some() && caught {
            *self.in_handler.entry(self.tracee.pid).or_default() += 1;
        }
        if is_stop_signal(sig) && !caught && self.sent_by_the_program(&info) {
            self.stopping.insert(self.tracee.tgid);
        } else if sig == libc::SIGCONT {
            self.stopping.remove(&self.tracee.tgid);
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

    /// Whether a process of the program sent the signal `info` describes.
    fn sent_by_the_program(&self, info: &[u8]) -> bool {
        let sender = nix::unistd::Pid::from_raw(si_pid(info));
        sent_by_process(info) && (sender == self.tracee.tgid || self.waiting.processes().contains(&sender))
    }

    /// The current thread reported the group stop of a stop signal that
    /// the program sent itself (a parent's `kill(child, SIGSTOP)`, say):
    /// it stays stopped, as natively, until a SIGCONT, and the turn goes
    /// to another thread. (A stop signal from outside the recording, such
    /// as the terminal's Ctrl-Z, which stops rback too, is resumed at once:
    /// the SIGCONT that resumes rback would come before the stop.)
    fn group_stop(&mut self, sig: i32) -> Result<()> {
        self.interrupted = false;
        // Held signals wait in the kernel for the thread's return.
        self.raise_held_signals()?;
        self.tracee.listen()?;
        if self.waiting.is_empty() {
            // No other thread: the next stop is the SIGCONT's, whenever
            // one comes (from outside).
            return Ok(());
        }
        // The process's other threads stop too, and none runs until a
        // SIGCONT (`Waiting::enter_group_stop`). A thread that stopped for
        // a signal while it waited has it raised again, to be delivered
        // on its turn with the siginfo it came with, as a held signal is.
        let tgid = self.tracee.tgid;
        for task in self.waiting.threads_of(tgid) {
            if let Some(signo) = task.signal.take() {
                self.reraised.push(task.tracee.siginfo()?);
                task.tracee.raise(signo)?;
            }
        }
        self.waiting.enter_group_stop(tgid)?;
        self.end_turn_as(
            Left::Stopped { signo: sig },
            Some((TaskState::Ready, GroupStop::Stopped)),
        )?;
        Ok(())
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

/// Whether a `clone` asks that its child not be traced (`CLONE_UNTRACED`),
/// which rback takes out of the call in both modes: it must trace every
/// task.
pub(crate) fn untraced_clone(nr: i64, args: &[u64; 6]) -> bool {
    nr == libc::SYS_clone && args[0] & libc::CLONE_UNTRACED as u64 != 0
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

/// If the instruction at `rip` is `rdtsc` or `rdtscp`, its length.
pub(crate) fn tsc_instruction(t: &Tracee, rip: u64) -> Result<Option<u64>> {
    Ok(kernel::tsc_length(&t.read_bytes(RemoteAddr(rip), 3)?))
}

fn regs_equal(a: &Regs, b: &Regs) -> bool {
    Registers::from(a) == Registers::from(b)
}
