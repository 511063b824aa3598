//! rback's recorder: runs a program under ptrace, writes everything
//! nondeterministic it sees into a trace, and replays that trace
//! deterministically.
//!
//! - [`sys`]: the only `unsafe` code (spawning, siginfo, x86 instructions).
//! - [`kernel`]: facts about Linux and x86-64 (signal codes, debug registers).
//! - [`syscalls`]: the declarative syscall table both modes are driven by.
//! - [`tracee`]: one traced process: stops, registers, memory, injection.
//! - [`trace`]: the trace format (events, header, framing).
//! - [`files`]: the content-addressed copies of executed and mapped files.
//! - [`record`] and [`replay`]: the two sessions.
//! - [`process`]: a recording's process tree, read from its events.
//! - [`image`]: checkpoint images: a moment saved to a file, restarted live.
//!
//! **Architecture invariant:** nothing here knows about gdb or the REPL.

pub mod counter;
pub mod files;
pub mod image;
pub mod kernel;
pub mod live;
pub mod process;
pub mod program;
pub mod record;
pub mod replay;
pub(crate) mod scheduler;
pub(crate) mod statepoint;
pub mod sys;
pub(crate) mod syscallbuf;
pub mod syscalls;
pub mod timeline;
pub mod trace;
pub mod tracee;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use trace::TraceError;

/// An address in the tracee's address space (meaningless in rback's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RemoteAddr(pub u64);

impl RemoteAddr {
    pub fn offset(self, by: u64) -> RemoteAddr {
        RemoteAddr(self.0.wrapping_add(by))
    }
}

impl fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// The number of an event in a trace: rback's unit of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventIdx(pub u64);

impl EventIdx {
    /// The event before this one (event 0 has none: itself).
    pub fn previous(self) -> EventIdx {
        EventIdx(self.0.saturating_sub(1))
    }
}

impl fmt::Display for EventIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Replay did something the recording did not: always a bug in rback
    /// (or a trace replayed on a machine that differs), never recoverable.
    #[error("replay diverged at event {event}: expected {expected}, got {got}")]
    Diverged {
        event: EventIdx,
        expected: String,
        got: String,
    },
    #[error("{what} is not supported yet (at event {event}): {why}")]
    Unsupported { event: EventIdx, what: String, why: String },
    #[error("{0}")]
    Program(String),
    /// An `Interrupter` stopped a run in the middle of an interval, where
    /// no position can be named; the timeline turns it into a stop.
    #[error("interrupted")]
    Interrupted,
    #[error("cannot start the tracee: {0}")]
    Spawn(String),
    #[error("ptrace {op} on tracee {pid} failed: {errno}")]
    Ptrace {
        op: &'static str,
        pid: i32,
        errno: nix::errno::Errno,
    },
    /// (Not `source`, for the reason given at `Io`.)
    #[error("cannot access tracee memory at {addr} ({len} bytes): {cause}")]
    Memory {
        addr: RemoteAddr,
        len: usize,
        cause: std::io::Error,
    },
    #[error("the tracee died unexpectedly: {0}")]
    TraceeDied(trace::ExitStatus),
    /// (The cause is part of the message and deliberately not the error's
    /// `source`, which front ends would print a second time.)
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },
    #[error("this trace was recorded on a different CPU ({recorded}); CPUID cannot be emulated here, so it replays only on the same kind of CPU (this one: {here})")]
    CpuMismatch { recorded: String, here: String },
}

impl Error {
    pub(crate) fn ptrace(op: &'static str, pid: nix::unistd::Pid, errno: nix::errno::Errno) -> Error {
        Error::Ptrace {
            op,
            pid: pid.as_raw(),
            errno,
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |cause| Error::Io { context, cause }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
