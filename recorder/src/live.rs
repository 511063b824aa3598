//! A recording that runs only as far as the debugger has looked
//! (`rback run`).
//!
//! The recorder runs in its own thread (ptrace ties a tracee to the thread
//! that traces it) and writes a normal trace, mirrored into a [`TraceLog`]
//! that the timeline reads as it grows. The live program runs ahead of the
//! debugger's replay by at most one syscall: it stops at the entry of each
//! syscall (*parked*) until the replay gets there and asks for it to be
//! made. Everything before that entry (rdtsc, faults, signals) is recorded
//! as it happens, so while the program is parked at the syscall that will
//! be event `e`, events before `e` are all known and event `e` is that
//! syscall: the replay can run the code up to it without waiting.
//!
//! A program started with [`LiveRecording::start_at_terminal`] shares
//! rback's terminal the way gdb's inferior does: it runs in a process group
//! of its own, which is the terminal's foreground group only while it makes
//! a syscall ([`Terminal`]). [`TerminalGate`] lets the debugger's other
//! threads (a spinner) draw only while the program does not have it.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::unistd::Pid;

use crate::record::{RecordOptions, RecordOutcome, Recorder};
use crate::sys::TerminalModes;
use crate::trace::{Event, TraceLog};
use crate::{Error, EventIdx, Result};

/// Where the live program is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frontier {
    /// Running its own code (or inside a syscall rback made for it).
    Running,
    /// Stopped at the entry of the syscall that will be this event, not
    /// made yet.
    Parked(EventIdx),
    /// Gone: it ended, or recording stopped (the trace's trailer says why).
    Ended,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// The handoff, when the program shares rback's terminal.
    terminal: OnceLock<Arc<Terminal>>,
}

struct State {
    frontier: Frontier,
    /// The debugger asked for the parked syscall to be made.
    go: bool,
    /// The debugger is done: kill the program and finish the trace.
    quit: bool,
    /// The program has the terminal (it is making a syscall): the debugger
    /// must not use it, and waits until it is back.
    lent: bool,
    /// Ctrl-C at the terminal interrupted the syscall the program made with
    /// the terminal: the debugger's interrupt, for `advance` to report.
    ctrl_c: bool,
}

/// A program being recorded while a debugger follows it.
pub struct LiveRecording {
    log: Arc<TraceLog>,
    trace_dir: PathBuf,
    pid: nix::unistd::Pid,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<RecordOutcome>>>,
}

impl LiveRecording {
    /// Starts the program and records up to its first syscall.
    pub fn start(opts: RecordOptions) -> Result<LiveRecording> {
        LiveRecording::launch(opts, false)
    }

    /// Like [`LiveRecording::start`], for a debugger that reads its
    /// commands from the terminal that is the program's stdin too: the
    /// terminal is handed to the program while it runs and back to rback
    /// when it stops, as gdb does ([`Terminal`]). When stdin is not a
    /// terminal, or rback is not in its foreground, this is `start`.
    pub fn start_at_terminal(opts: RecordOptions) -> Result<LiveRecording> {
        LiveRecording::launch(opts, true)
    }

    fn launch(opts: RecordOptions, at_terminal: bool) -> Result<LiveRecording> {
        let trace_dir = opts.trace_dir.clone();
        let (started_tx, started) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                frontier: Frontier::Running,
                go: false,
                quit: false,
                lent: false,
                ctrl_c: false,
            }),
            changed: Condvar::new(),
            terminal: OnceLock::new(),
        });
        let thread = std::thread::Builder::new().name("rback-recorder".into()).spawn({
            let shared = shared.clone();
            move || {
                // Ctrl-C is the debugger's (it interrupts a movement): the
                // signal must go to whichever thread is waiting for it.
                let mut interrupts = nix::sys::signal::SigSet::empty();
                interrupts.add(nix::sys::signal::Signal::SIGINT);
                let _ = interrupts.thread_block();
                let share_terminal = at_terminal && Terminal::is_ours();
                // The program gets a process group of its own, which is
                // given the terminal while it runs (as gdb does).
                let launched = Recorder::launch(&opts, true, share_terminal);
                let mut rec = match launched {
                    Ok(rec) => rec,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return Err(Error::Program("the program did not start".into()));
                    }
                };
                let log = rec.live_log().expect("a live recorder mirrors its events");
                if share_terminal {
                    if let Some(terminal) = Terminal::new(rec.pid()) {
                        let _ = shared.terminal.set(Arc::new(terminal));
                    }
                }
                let _ = started_tx.send(Ok((log, rec.pid())));
                let result = drive(&mut rec, &shared);
                let outcome = rec.finish(result);
                shared.set(Frontier::Ended);
                outcome
            }
        });
        let thread = thread.map_err(|e| Error::Spawn(format!("cannot start the recorder thread: {e}")))?;
        match started.recv() {
            Ok(Ok((log, pid))) => Ok(LiveRecording {
                log,
                trace_dir,
                pid,
                shared,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(Error::Spawn("the recorder thread died while starting".into())),
        }
    }

    pub fn log(&self) -> Arc<TraceLog> {
        self.log.clone()
    }

    pub fn trace_dir(&self) -> &Path {
        &self.trace_dir
    }

    pub fn frontier(&self) -> Frontier {
        self.shared.state.lock().unwrap().frontier
    }

    /// The terminal handoff, when the program shares rback's terminal.
    pub fn terminal(&self) -> Option<TerminalGate> {
        self.shared.terminal.get().cloned().map(TerminalGate)
    }

    /// Makes sure the replay may run the code before event `e`: event `e`
    /// is recorded, or the live program is parked at the syscall that will
    /// be `e`. Parked syscalls before `e` are made on the way. `false` when
    /// the program ended before `e`. Waiting for the live program (a sleep,
    /// a read from the terminal) ends early with `Error::Interrupted` when
    /// `interrupted` is set.
    pub fn reach(&self, e: EventIdx, interrupted: &AtomicBool) -> Result<bool> {
        self.advance(interrupted, |log_len, frontier| {
            if log_len > e.0 || frontier == Frontier::Parked(e) {
                Some(true)
            } else if frontier == Frontier::Ended {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Makes sure event `e` is in the log (making the parked syscall if it
    /// is `e`). `false` when the program ended before `e`.
    pub fn record_through(&self, e: EventIdx, interrupted: &AtomicBool) -> Result<bool> {
        self.advance(interrupted, recorded_through(e))
    }

    /// Lets the live program go on (making parked syscalls) until `done`
    /// has an answer for the log's length and the frontier.
    fn advance(&self, interrupted: &AtomicBool, done: impl Fn(u64, Frontier) -> Option<bool>) -> Result<bool> {
        advance(&self.shared, &self.log, interrupted, done)
    }

    /// What a replay that passes over the events of processes it does not
    /// follow needs to wait for those events as the program makes them.
    pub(crate) fn feed(&self, interrupted: Arc<AtomicBool>) -> LogFeed {
        LogFeed {
            log: self.log.clone(),
            shared: self.shared.clone(),
            interrupted,
        }
    }
}

/// Lets a replay wait for events of a live recording that are not made yet.
#[derive(Clone)]
pub(crate) struct LogFeed {
    log: Arc<TraceLog>,
    shared: Arc<Shared>,
    interrupted: Arc<AtomicBool>,
}

impl LogFeed {
    /// Waits until event `e` is recorded (`true`) or the program has ended
    /// before it (`false`).
    pub(crate) fn wait_for(&self, e: EventIdx) -> Result<bool> {
        advance(&self.shared, &self.log, &self.interrupted, recorded_through(e))
    }
}

/// `advance`'s test for "event `e` is recorded, or never will be".
fn recorded_through(e: EventIdx) -> impl Fn(u64, Frontier) -> Option<bool> {
    move |log_len, frontier| {
        if log_len > e.0 {
            Some(true)
        } else if frontier == Frontier::Ended {
            Some(false)
        } else {
            None
        }
    }
}

/// Lets the live program go on (making parked syscalls) until `done` has an
/// answer for the log's length and the frontier.
fn advance(
    shared: &Shared,
    log: &TraceLog,
    interrupted: &AtomicBool,
    done: impl Fn(u64, Frontier) -> Option<bool>,
) -> Result<bool> {
    let mut state = shared.state.lock().unwrap();
    loop {
        // While the program has the terminal the debugger waits for it
        // back, whatever else interrupts it: only the terminal's Ctrl-C
        // ends the program's syscall early.
        if !state.lent {
            if std::mem::take(&mut state.ctrl_c) {
                interrupted.store(true, Ordering::SeqCst);
                return Err(Error::Interrupted);
            }
            // The frontier is set after the event it follows is in the log.
            if let Some(answer) = done(log.len().0, state.frontier) {
                return Ok(answer);
            }
            // An interrupted debugger does not let a parked program go on:
            // it would wait, say, in a read from the terminal, and take the
            // user's next debugger command as its input.
            if interrupted.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            if let Frontier::Parked(_) = state.frontier {
                state.go = true;
                state.frontier = Frontier::Running;
                shared.changed.notify_all();
            }
        }
        state = shared.changed.wait_timeout(state, Duration::from_millis(20)).unwrap().0;
    }
}

impl LiveRecording {
    /// Ends the recording: kills the program if it still runs, finishes the
    /// trace, and says how it went.
    fn stop(&mut self) -> Result<RecordOutcome> {
        let Some(thread) = self.thread.take() else {
            return Err(Error::Program("the recording was already finished".into()));
        };
        {
            let mut state = self.shared.state.lock().unwrap();
            if state.frontier != Frontier::Ended {
                state.quit = true;
                // A program that runs or blocks never looks at `quit`.
                let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
            }
            self.shared.changed.notify_all();
        }
        thread
            .join()
            .unwrap_or_else(|_| Err(Error::Spawn("the recorder thread panicked".into())))
    }
}

impl Drop for LiveRecording {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop();
        }
    }
}

impl Shared {
    fn set(&self, frontier: Frontier) {
        self.state.lock().unwrap().frontier = frontier;
        self.changed.notify_all();
    }

    /// Parks the recorder at the entry of event `e` until the debugger
    /// wants it made (`true`) or is done (`false`).
    fn park(&self, e: EventIdx) -> bool {
        let mut state = self.state.lock().unwrap();
        state.frontier = Frontier::Parked(e);
        self.changed.notify_all();
        loop {
            if state.quit {
                return false;
            }
            if state.go {
                state.go = false;
                state.frontier = Frontier::Running;
                state.lent = self.terminal.get().is_some();
                return true;
            }
            state = self.changed.wait(state).unwrap();
        }
    }
}

/// The recorder thread's loop: record up to each syscall entry, park, make
/// the syscall when asked.
fn drive(rec: &mut Recorder, shared: &Shared) -> Result<crate::trace::ExitStatus> {
    rec.on_exec()?;
    loop {
        if let Some(status) = rec.run_to_next_syscall()? {
            return Ok(status);
        }
        let e = rec.events_written();
        if !shared.park(e) {
            // The debugger is done with a program that has not ended: it
            // dies here, and the trace says so.
            rec.abandon()?;
            return Err(Error::Program(
                "the debugging session ended here; rback killed the program".into(),
            ));
        }
        match shared.terminal.get() {
            None => rec.on_syscall()?,
            Some(terminal) => {
                let mut lent = Lent::new(shared, terminal);
                rec.on_syscall()?;
                // Every syscall made leaves an event, but one that Ctrl-C
                // at the terminal interrupted: the recorder drops that
                // SIGINT and the call restarts unrecorded (`on_syscall`).
                // The program had the terminal, so the SIGINT went to its
                // group alone; it was meant for the debugger.
                lent.ctrl_c = rec.events_written() == e;
            }
        }
    }
}

/// Whether the live program may still add events after `e` without
/// running any of its own code first (the event ends it or may be
/// followed at once by its end).
pub(crate) fn may_end_after(event: &Event) -> bool {
    match event {
        Event::Syscall(s) => s.nr == libc::SYS_exit || s.nr == libc::SYS_exit_group,
        Event::Rdtsc { .. } | Event::Exec(_) => false,
        // A thread whose call ended on another's turn has that call's
        // event right after the switch to it.
        Event::Signal(_) | Event::Exit(_) | Event::Switch(_) => true,
    }
}

/// gdb's terminal handoff, for a program whose stdin is rback's terminal.
///
/// The program runs in a process group of its own. The recorder makes its
/// syscalls one at a time, when the debugger asks (see `drive`); only while
/// it makes one is the program's group the terminal's foreground group,
/// with the modes the program last left. So a read from the terminal waits
/// for the user's line, Ctrl-C sends SIGINT to the program's group alone
/// (see `advance` for what it becomes), and the program may set modes. The
/// rest of the time rback's group has the terminal, with the modes rback
/// had before it lent it: the debugger's prompt reads what the user types,
/// Ctrl-C reaches rback, and a program waiting at a syscall entry reads
/// nothing.
struct Terminal {
    /// The program's process group: its process id.
    program: Pid,
    /// rback's.
    debugger: Pid,
    lending: Mutex<Lending>,
    /// Relays Ctrl-C, which the terminal sends the program's group alone
    /// while the program has it, to rback (see `advance`). Without it
    /// (it could not start), a Ctrl-C is still seen when it interrupts a
    /// call that then restarts (see `drive`).
    _relay: Option<crate::sys::InterruptRelay>,
}

struct Lending {
    /// The modes the program last left the terminal in: at first, those it
    /// started with.
    program_modes: Option<TerminalModes>,
    /// rback's, saved when it last lent the terminal.
    debugger_modes: Option<TerminalModes>,
    /// How many times the program has been lent the terminal.
    lendings: u64,
    /// Erases what the debugger drew ([`TerminalGate::draw`]), before the
    /// program gets the terminal.
    erase: Option<Box<dyn FnOnce() + Send>>,
}

impl Terminal {
    /// Whether rback may hand its terminal over: stdin is a terminal and
    /// rback's process group is in its foreground.
    fn is_ours() -> bool {
        let stdin = std::io::stdin();
        crate::sys::terminal_foreground(stdin.as_fd()) == Ok(nix::unistd::getpgrp())
    }

    /// The handoff for a program just started in a group of its own.
    fn new(program: Pid) -> Option<Terminal> {
        if nix::unistd::getpgid(Some(program)) != Ok(program) {
            return None;
        }
        Some(Terminal {
            program,
            debugger: nix::unistd::getpgrp(),
            lending: Mutex::new(Lending {
                program_modes: crate::sys::terminal_modes(std::io::stdin().as_fd()).ok(),
                debugger_modes: None,
                lendings: 0,
                erase: None,
            }),
            _relay: crate::sys::spawn_interrupt_relay(program).ok(),
        })
    }

    fn lending(&self) -> MutexGuard<'_, Lending> {
        // Nothing that holds the lock leaves its state half made.
        self.lending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the terminal to the program, with its modes.
    fn lend(&self) {
        let mut lending = self.lending();
        if let Some(erase) = lending.erase.take() {
            erase();
        }
        lending.lendings += 1;
        let stdin = std::io::stdin();
        lending.debugger_modes = crate::sys::terminal_modes(stdin.as_fd()).ok();
        if let (Some(program), Some(debugger)) = (&lending.program_modes, &lending.debugger_modes) {
            if program != debugger {
                let _ = crate::sys::set_terminal_modes(stdin.as_fd(), program);
            }
        }
        let _ = crate::sys::set_terminal_foreground(stdin.as_fd(), self.program);
    }

    /// Takes the terminal back, and rback's modes; the program's are kept
    /// for the next time it has the terminal.
    fn take_back(&self) {
        let mut lending = self.lending();
        let stdin = std::io::stdin();
        let _ = crate::sys::set_terminal_foreground(stdin.as_fd(), self.debugger);
        if let Ok(modes) = crate::sys::terminal_modes(stdin.as_fd()) {
            lending.program_modes = Some(modes);
        }
        if let (Some(program), Some(debugger)) = (&lending.program_modes, &lending.debugger_modes) {
            if program != debugger {
                let _ = crate::sys::set_terminal_modes(stdin.as_fd(), debugger);
            }
        }
    }
}

/// The terminal lent to the program for one syscall; dropped, it is back.
struct Lent<'a> {
    shared: &'a Shared,
    terminal: &'a Terminal,
    /// Ctrl-C at the terminal interrupted the syscall.
    ctrl_c: bool,
}

impl<'a> Lent<'a> {
    fn new(shared: &'a Shared, terminal: &'a Terminal) -> Lent<'a> {
        terminal.lend();
        Lent {
            shared,
            terminal,
            ctrl_c: false,
        }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.terminal.take_back();
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.lent = false;
        state.ctrl_c |= self.ctrl_c;
        self.shared.changed.notify_all();
    }
}

/// Lets the debugger's other threads (a spinner) draw on a terminal that
/// the live program shares, only while the program does not have it.
#[derive(Clone)]
pub struct TerminalGate(Arc<Terminal>);

impl TerminalGate {
    /// How many times the program has had the terminal so far.
    pub fn lendings(&self) -> u64 {
        self.0.lending().lendings
    }

    /// Runs `draw` unless the program has had the terminal since `since`
    /// (a count of [`TerminalGate::lendings`]); the program does not get
    /// it meanwhile. `erase` then runs before the program next gets the
    /// terminal, or at [`TerminalGate::erase`], so that nothing drawn stays
    /// in front of what the program shows. `false`: nothing was drawn.
    pub fn draw(&self, since: u64, draw: impl FnOnce(), erase: Box<dyn FnOnce() + Send>) -> bool {
        let mut lending = self.0.lending();
        if lending.lendings != since {
            return false;
        }
        draw();
        lending.erase = Some(erase);
        true
    }

    /// Erases what [`TerminalGate::draw`] drew, if it is still there.
    pub fn erase(&self) {
        let mut lending = self.0.lending();
        if let Some(erase) = lending.erase.take() {
            erase();
        }
    }
}
