//! rback's GDB remote-protocol server.
//!
//! It speaks gdb's protocol (through the `gdbstub` crate) against
//! [`TimeTravel`], a trait for anything that can move through a program's
//! execution in both directions. It knows nothing of ptrace or of rback's
//! recorder: the `rback` binary implements the trait over its timeline, and
//! the tests here implement it with no process at all.
//!
//! gdb sees one process with the program's threads (one runs at a time:
//! stops name the thread they happened in). Going forward or backward is
//! `vCont;c`/`vCont;s` or `bc`/`bs`; either end of the recording is reported
//! as "no more reverse-execution history".

mod link;
pub mod regs;
mod target;

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use gdbstub::stub::{DisconnectReason, GdbStub};

pub use link::{holds_whole_packet, InterruptHook};
pub use regs::{CoreRegs, X86_64Regs, FXSAVE_LEN, YMM_HIGH_LEN};

/// Which way execution moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// How far to move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    /// Until a breakpoint, a watchpoint, a signal or an end of the recording.
    Continue,
    /// One instruction.
    Step,
}

/// What a watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

/// Why a movement stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The single step is done.
    Stepped,
    /// At a breakpoint address, about to execute it.
    Breakpoint(u64),
    /// A watched location was accessed (forward: just after the access;
    /// backward: just before it).
    Watchpoint {
        addr: u64,
        kind: WatchKind,
    },
    /// A signal (Linux number) is about to be delivered.
    Signal(i32),
    /// Stopped by the interrupt hook.
    Interrupted,
    StartOfRecording,
    EndOfRecording,
}

/// A failure of the backend, as one line for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    pub fn new(msg: impl Into<String>) -> BackendError {
        BackendError(msg.into())
    }
}

/// What `monitor CMD` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorReply {
    /// Printed by gdb as is.
    pub text: String,
    /// Whether it moved the program in time: gdb's cached registers and
    /// frames are then stale.
    pub moved: bool,
}

/// Something that can run a program forward and backward. All methods are
/// called from the thread that called [`serve`]; only the interrupt hook
/// runs on another thread.
pub trait TimeTravel {
    fn resume(&mut self, dir: Direction, motion: Motion) -> Result<Stop, BackendError>;

    /// A warning to show the user after the last movement (e.g. that
    /// scratch edits were thrown away), at most once.
    fn take_warning(&mut self) -> Option<String> {
        None
    }

    /// Whether the registers include the AVX upper halves. Fixed for a
    /// session: gdb reads the register layout once.
    fn has_avx(&self) -> bool;
    fn read_registers(&mut self) -> Result<X86_64Regs, BackendError>;
    /// A scratch change: the next movement throws it away.
    fn write_registers(&mut self, regs: &X86_64Regs) -> Result<(), BackendError>;

    /// Reads up to `buf.len()` bytes; returns how many were readable from
    /// the start (0 when the address is not mapped).
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<usize, BackendError>;
    /// A scratch change: the next movement throws it away.
    fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<(), BackendError>;

    /// An error refuses the breakpoint (gdb says it cannot insert it); the
    /// session goes on.
    fn set_breakpoint(&mut self, addr: u64) -> Result<(), BackendError>;
    fn remove_breakpoint(&mut self, addr: u64) -> Result<(), BackendError>;
    /// `Ok(false)` when the watchpoint cannot be had (no slot left, a
    /// length the hardware cannot watch): gdb then says so.
    fn set_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<bool, BackendError>;
    fn remove_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<(), BackendError>;

    /// The process id gdb is shown: the same for the whole session, even
    /// though the process behind it changes as time moves.
    fn pid(&self) -> u32;
    /// The auxiliary vector, as the kernel lays it out.
    fn auxv(&mut self) -> Result<Vec<u8>, BackendError>;
    /// The executable gdb should load: the recorded copy.
    fn exec_file(&mut self) -> Result<PathBuf, BackendError>;
    /// A file gdb asks for by its name in the program (a library, the
    /// executable, `/proc/PID/maps`), opened for reading; `Ok(None)` when
    /// there is no such file.
    fn open_file(&mut self, path: &str) -> Result<Option<File>, BackendError>;

    /// `monitor CMD`.
    fn monitor(&mut self, cmd: &str) -> Result<MonitorReply, BackendError>;
    /// Goes back to the start of the recording (gdb's `run` in extended
    /// mode).
    fn restart(&mut self) -> Result<(), BackendError>;

    /// The raw `siginfo_t` of the signal the program stopped for, if any
    /// (gdb's `$_siginfo`).
    fn siginfo(&mut self) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(None)
    }

    /// The address of the thread-local variable at `offset` in the TLS
    /// block of the module whose loader `link_map` is at `link_map`
    /// (`qGetTLSAddr`). `Ok(None)`: not supported.
    fn tls_address(&mut self, link_map: u64, offset: u64) -> Result<Option<u64>, BackendError> {
        let _ = (link_map, offset);
        Ok(None)
    }

    /// The program's threads at this point (their ids as the program sees
    /// them), in the order the program made them.
    fn threads(&mut self) -> Result<Vec<u32>, BackendError> {
        Ok(vec![self.pid()])
    }

    /// The thread the program stands in: the one the last movement
    /// stopped in, which the next one runs.
    fn current_thread(&mut self) -> Result<u32, BackendError> {
        Ok(self.pid())
    }

    /// What gdb shows in parentheses after a thread in `info threads`
    /// (`qThreadExtraInfo`), if anything.
    fn thread_extra_info(&mut self, tid: u32) -> Result<Option<String>, BackendError> {
        let _ = tid;
        Ok(None)
    }

    /// Directs register reads and writes at thread `tid` until the next
    /// movement (gdb's `Hg`).
    fn select_thread(&mut self, tid: u32) -> Result<(), BackendError> {
        if tid == self.pid() {
            Ok(())
        } else {
            Err(BackendError(format!("no thread {tid}")))
        }
    }

    /// A hook that stops a running [`TimeTravel::resume`] from another
    /// thread, making it return [`Stop::Interrupted`]. `None` if the
    /// backend cannot be interrupted.
    fn interrupter(&mut self) -> Option<InterruptHook> {
        None
    }
}

/// How a session with gdb ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// gdb detached (`detach`, `quit` after a detach prompt).
    Detached,
    /// gdb killed the program (`kill`, or `quit`).
    Killed,
    /// The connection closed without a goodbye.
    ConnectionClosed,
}

/// A failure of the session itself.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Backend(#[from] BackendError),
    #[error("connection to gdb: {0}")]
    Io(#[from] std::io::Error),
    #[error("gdb protocol: {0}")]
    Protocol(String),
}

/// Serves one gdb session over a byte stream until gdb detaches, kills or
/// goes away. `input` is read on a thread of its own (see [`link`]).
pub fn serve<B: TimeTravel>(
    input: impl Read + Send + 'static,
    output: impl Write,
    backend: &mut B,
) -> Result<Ended, ServeError> {
    let movements = Arc::new(link::Movements::default());
    let hook_slot: Arc<Mutex<Option<InterruptHook>>> = Arc::new(Mutex::new(None));
    if let Some(h) = backend.interrupter() {
        let movements = movements.clone();
        let gated: InterruptHook = Arc::new(move || movements.interrupt(&h));
        *hook_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(gated);
    }
    let backend = Rc::new(RefCell::new(backend));
    let for_link = backend.clone();
    let extra: link::ExtraPackets<'_> = Box::new(move |payload| extra_packet(&mut **for_link.borrow_mut(), payload));
    let link = link::Link::new(input, output, hook_slot, extra);
    let mut tgt = target::Target::new(backend, movements)?;
    let stub = GdbStub::new(link);
    match stub.run_blocking::<target::EventLoop<'_, B, _>>(&mut tgt) {
        Ok(DisconnectReason::Disconnect) => Ok(Ended::Detached),
        Ok(DisconnectReason::Kill) => Ok(Ended::Killed),
        Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => Ok(Ended::Killed),
        Err(e) => {
            if let Some(fatal) = tgt.fatal.borrow_mut().take() {
                return Err(ServeError::Backend(fatal));
            }
            if e.is_connection_error() {
                // gdb going away mid-session is how sessions often end.
                return Ok(Ended::ConnectionClosed);
            }
            Err(ServeError::Protocol(e.to_string()))
        }
    }
}

/// Answers the packets gdbstub does not know; `None` leaves the packet to
/// gdbstub (which answers "not supported").
fn extra_packet<B: TimeTravel>(backend: &mut B, payload: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(payload).ok()?;
    if let Some(args) = text.strip_prefix("qGetTLSAddr:") {
        // thread-id,offset,lm
        let mut parts = args.split(',').skip(1).map(|h| u64::from_str_radix(h, 16));
        let (Some(Ok(offset)), Some(Ok(lm))) = (parts.next(), parts.next()) else {
            return Some(b"E01".to_vec());
        };
        return match backend.tls_address(lm, offset) {
            Ok(Some(addr)) => Some(format!("{addr:x}").into_bytes()),
            Ok(None) => None,
            Err(_) => Some(b"E01".to_vec()),
        };
    }
    if let Some(window) = text.strip_prefix("qXfer:siginfo:read::") {
        let (off, len) = window.split_once(',')?;
        let (Ok(off), Ok(len)) = (usize::from_str_radix(off, 16), usize::from_str_radix(len, 16)) else {
            return Some(b"E01".to_vec());
        };
        return match backend.siginfo() {
            Ok(Some(info)) => {
                let start = off.min(info.len());
                let end = start.saturating_add(len).min(info.len());
                let mut reply = vec![if end == info.len() { b'l' } else { b'm' }];
                reply.extend(link::escaped(&info[start..end]));
                Some(reply)
            }
            Ok(None) | Err(_) => Some(b"E01".to_vec()),
        };
    }
    None
}

/// Linux signal number to gdb's own numbering (the remote protocol uses
/// gdb's, which differ from Linux's for many signals).
pub fn gdb_signal(linux: i32) -> u8 {
    match linux {
        1..=6 | 8 | 9 | 11 | 13 | 14 | 15 => linux as u8,
        7 => 10,   // SIGBUS
        10 => 30,  // SIGUSR1
        12 => 31,  // SIGUSR2
        16 => 143, // SIGSTKFLT has no gdb number: "unknown"
        17 => 20,  // SIGCHLD
        18 => 19,  // SIGCONT
        19 => 17,  // SIGSTOP
        20 => 18,  // SIGTSTP
        21 => 21,  // SIGTTIN
        22 => 22,  // SIGTTOU
        23 => 16,  // SIGURG
        24..=28 => linux as u8,
        29 => 23, // SIGIO
        30 => 32, // SIGPWR
        31 => 12, // SIGSYS
        32 => 77,
        33..=63 => (45 + (linux - 33)) as u8,
        64 => 78,
        _ => 143,
    }
}
