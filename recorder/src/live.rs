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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::record::{RecordOptions, RecordOutcome, Recorder};
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
}

struct State {
    frontier: Frontier,
    /// The debugger asked for the parked syscall to be made.
    go: bool,
    /// The debugger is done: kill the program and finish the trace.
    quit: bool,
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
        let trace_dir = opts.trace_dir.clone();
        let (started_tx, started) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                frontier: Frontier::Running,
                go: false,
                quit: false,
            }),
            changed: Condvar::new(),
        });
        let thread = std::thread::Builder::new().name("rback-recorder".into()).spawn({
            let shared = shared.clone();
            move || {
                // Ctrl-C is the debugger's (it interrupts a movement): the
                // signal must go to whichever thread is waiting for it.
                let mut interrupts = nix::sys::signal::SigSet::empty();
                interrupts.add(nix::sys::signal::Signal::SIGINT);
                let _ = interrupts.thread_block();
                let mut rec = match Recorder::launch(&opts, true) {
                    Ok(rec) => rec,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return Err(Error::Program("the program did not start".into()));
                    }
                };
                let log = rec.live_log().expect("a live recorder mirrors its events");
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
        // The frontier is set after the event it follows is in the log.
        if let Some(answer) = done(log.len().0, state.frontier) {
            return Ok(answer);
        }
        if let Frontier::Parked(_) = state.frontier {
            state.go = true;
            state.frontier = Frontier::Running;
            shared.changed.notify_all();
        }
        if interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
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
        if !shared.park(rec.events_written()) {
            // The debugger is done with a program that has not ended: it
            // dies here, and the trace says so.
            rec.abandon()?;
            return Err(Error::Program(
                "the debugging session ended here; rback killed the program".into(),
            ));
        }
        rec.on_syscall()?;
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
