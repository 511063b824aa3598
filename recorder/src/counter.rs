//! Counting the executions of one instruction in a tracee thread, and
//! stopping the thread right before a chosen execution: the k of rback's
//! counter-free positions (event, address, k) from DESIGN-NOTES §4.
//!
//! [`ExecCounter`] puts a hardware instruction breakpoint on the address and
//! uses one of two [`Backend`]s:
//!
//! - [`Backend::PerfBreakpoint`]: a `perf_event_open` breakpoint event on the
//!   thread. The kernel counts every execution itself, so counting costs no
//!   ptrace stop at all. To stop before the n-th execution, the event gets
//!   `sample_period = n`, and its overflow queues [`COUNTER_SIGNAL`] for the
//!   thread (`F_SETOWN_EX` + `F_SETSIG` + `O_ASYNC`): one signal-delivery stop,
//!   with rip on the address and the instruction not yet run.
//! - [`Backend::DebugRegister`]: a debug register set through
//!   `PTRACE_POKEUSER`, for machines where perf events are forbidden. Every
//!   execution is a SIGTRAP stop that this module counts, so a count costs
//!   one ptrace round trip per execution. A single-step onto the address
//!   first ends in such a stop, before the instruction, and needs a second
//!   step to run it; a perf counter never interrupts a step.
//!
//! Neither backend is free: every execution of the address raises a debug
//! exception. On the development machines (a VM) that alone costs about
//! 8.5 µs, so counting 10^6 executions takes 9 s on perf, and each execution
//! costs about 20 µs on debug registers, where it is also a ptrace stop.
//!
//! The wait loop belongs to the caller (the replay engine, which also handles
//! syscall stops and other signals): at every signal-delivery stop it asks
//! [`ExecCounter::on_signal_stop`] whether the stop is the counter's.
//!
//! **Debug registers are scarce.** x86 has four per thread, and the kernel
//! shares them between perf breakpoints and ptrace's DR0-DR3. A perf counter
//! takes one (the kernel picks it; a fifth breakpoint on a thread fails with
//! ENOSPC); a debug-register counter takes the slot its caller names.
//! `Tracee::set_exec_breakpoint` owns slot 0, so callers must not have more
//! than three other breakpoints (counters of either backend, watchpoints) on
//! one thread at a time, and must give debug-register counters slots 1-3.
//!
//! **The resume flag.** An instruction breakpoint fires before its
//! instruction runs; the kernel then sets RF (eflags bit 16) in the saved
//! registers, so that resuming runs the instruction instead of faulting on the
//! same breakpoint again. Callers must keep RF as they find it at a counter's
//! stop: clearing it makes the breakpoint fire (and count) twice. This module
//! relies on RF to tell a stop that stands before a counted-but-not-yet-run
//! execution (rip on the address, RF set) from any other.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

use crate::kernel::{si_code, DR6, DR7, DR_SLOTS, EFLAGS_RF, TRAP_HWBKPT};
use crate::sys::{self, SiginfoBytes};
use crate::tracee::{read_debugreg, write_debugreg};
use crate::{Error, RemoteAddr, Result};

/// The signal a stopping perf counter raises in the tracee. SIGSTKFLT is
/// unused on x86 Linux, so programs practically never use or block it (rr
/// picks it for its time-slice interrupts for the same reason). A real-time
/// signal would be more "private", but nix's `waitpid` cannot decode a stop
/// for a signal outside its `Signal` enum, so `Tracee::wait` would fail.
pub const COUNTER_SIGNAL: i32 = libc::SIGSTKFLT;

/// The range of `si_code`s (`POLL_IN`..=`POLL_HUP`) of a signal sent for an
/// `O_ASYNC` descriptor.
const POLL_CODES: std::ops::RangeInclusive<i32> = 1..=6;

/// How a counter sees executions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A perf breakpoint event: counted in the kernel, no stops.
    PerfBreakpoint,
    /// A ptrace debug register: one SIGTRAP stop per execution.
    DebugRegister,
}

/// The backend [`ExecCounter::arm`] uses: [`Backend::DebugRegister`] if the
/// environment variable `RBACK_COUNTER` is `debugreg` (to test the fallback)
/// or if rback cannot open perf breakpoint events here (a high
/// `perf_event_paranoid` without privileges, a container's seccomp profile);
/// [`Backend::PerfBreakpoint`] otherwise. The probe runs once per process.
pub fn backend() -> Backend {
    if std::env::var_os("RBACK_COUNTER").is_some_and(|v| v == "debugreg") {
        return Backend::DebugRegister;
    }
    static PROBED: OnceLock<Backend> = OnceLock::new();
    *PROBED.get_or_init(|| {
        // Any user address will do: the event is opened disabled on rback's
        // own thread and closed at once.
        let here = backend as fn() -> Backend as usize as u64;
        match sys::perf_breakpoint_open(Pid::from_raw(0), here, 0) {
            // ENOSPC: rback's own thread has no free debug register, but the
            // kernel did accept the event type.
            Ok(_) | Err(Errno::ENOSPC) => Backend::PerfBreakpoint,
            Err(_) => Backend::DebugRegister,
        }
    })
}

/// Whether a signal-delivery stop is for a stopping perf counter's signal,
/// whichever counter raised it. A caller that sees one that no live counter
/// claims (its counter was disarmed after its n-th execution came but before
/// the signal was delivered) must resume with signal 0: SIGSTKFLT's default
/// action would kill the tracee.
pub fn is_counter_signal(sig: i32, siginfo: &SiginfoBytes) -> bool {
    sig == COUNTER_SIGNAL && POLL_CODES.contains(&si_code(siginfo))
}

/// What a stop that belongs to a counter means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterStop {
    /// An execution was counted (debug-register backend; the tracee stands
    /// before the instruction, which runs when resumed), or a perf counter's
    /// signal needs swallowing. Resume without delivering the signal.
    Counted,
    /// The tracee stands right before the n-th execution asked for: rip is
    /// the address, and the instruction runs when the tracee is resumed.
    /// Resume without delivering the signal. The counter is finished: it
    /// counts no further executions and raises no further signals.
    Reached,
}

/// Counts executions of one instruction by one tracee thread; see the
/// module documentation.
#[derive(Debug)]
pub struct ExecCounter {
    pid: Pid,
    addr: RemoteAddr,
    stop_before: Option<u64>,
    /// The final count, once the counter has reached its execution.
    finished: Option<u64>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Perf {
        fd: OwnedFd,
    },
    DebugRegister {
        slot: usize,
        /// Breakpoint hits seen so far, including one whose instruction may
        /// not have run yet (the tracee standing at a Counted stop).
        hits: u64,
        /// What the slot held before, put back when the counter goes.
        saved_addr: u64,
        saved_dr7_bits: u64,
        restored: bool,
    },
}

impl ExecCounter {
    /// Starts counting executions of `addr` by tracee thread `pid`, which
    /// must be in a ptrace stop, from now on.
    ///
    /// With `stop_before: Some(n)` (n >= 1), the tracee will report a
    /// [`CounterStop::Reached`] stop just before its n-th execution of `addr`.
    /// `dr_slot` (1-3) is the debug register to use if the counter runs on
    /// the debug-register backend; a perf counter ignores it.
    ///
    /// The backend is [`backend()`], except that a stopping counter falls
    /// back to debug registers when the thread blocks [`COUNTER_SIGNAL`],
    /// because a blocked signal gives no stop. (Blocking it later, while the
    /// counter is armed, delays the stop; `on_signal_stop` then reports an
    /// error.)
    ///
    /// If the tracee stands on `addr` right after a breakpoint there fired
    /// (RF set), this clears RF, so that the execution about to happen is the
    /// counter's first rather than slipping past it. Any other breakpoint
    /// still enabled on the same address then fires a second time for it.
    pub fn arm(pid: Pid, addr: RemoteAddr, stop_before: Option<u64>, dr_slot: usize) -> Result<ExecCounter> {
        let mut chosen = backend();
        if chosen == Backend::PerfBreakpoint && stop_before.is_some() && blocks_counter_signal(pid)? {
            chosen = Backend::DebugRegister;
        }
        ExecCounter::arm_with(chosen, pid, addr, stop_before, dr_slot)
    }

    /// [`ExecCounter::arm`] on a given backend, with no fallback: a stopping
    /// perf counter on a thread that blocks [`COUNTER_SIGNAL`] is an error.
    pub fn arm_with(
        backend: Backend,
        pid: Pid,
        addr: RemoteAddr,
        stop_before: Option<u64>,
        dr_slot: usize,
    ) -> Result<ExecCounter> {
        let refuse = |why: String| Err(counter_error(pid, addr, why));
        if stop_before == Some(0) {
            return refuse("there is no execution number 0 to stop before (they count from 1)".into());
        }
        if stop_before.is_some_and(|n| n >= 1 << 63) {
            return refuse("the execution number is too large for a perf sample period".into());
        }
        let kind = match backend {
            Backend::PerfBreakpoint => {
                if stop_before.is_some() && blocks_counter_signal(pid)? {
                    return refuse(format!(
                        "the tracee blocks signal {COUNTER_SIGNAL} (SIGSTKFLT), which would stop it"
                    ));
                }
                let fd = sys::perf_breakpoint_open(pid, addr.0, stop_before.unwrap_or(0))
                    .map_err(|e| counter_error(pid, addr, format!("perf_event_open failed: {}", e.desc())))?;
                if stop_before.is_some() {
                    sys::perf_signal_overflow_to(&fd, pid, COUNTER_SIGNAL).map_err(|e| {
                        counter_error(pid, addr, format!("cannot route the counter's signal: {}", e.desc()))
                    })?;
                }
                Kind::Perf { fd }
            }
            Backend::DebugRegister => {
                if !(1..DR_SLOTS).contains(&dr_slot) {
                    return refuse(format!(
                        "debug register slot {dr_slot} is not one of 1-3 (0 belongs to Tracee::set_exec_breakpoint)"
                    ));
                }
                let dr7 = read_debugreg(pid, DR7)?;
                if dr7 & enable_bits(dr_slot) != 0 {
                    return refuse(format!("debug register slot {dr_slot} is already in use"));
                }
                Kind::DebugRegister {
                    slot: dr_slot,
                    hits: 0,
                    saved_addr: read_debugreg(pid, dr_slot)?,
                    saved_dr7_bits: dr7 & slot_bits(dr_slot),
                    // Nothing to restore until the slot is written below.
                    restored: true,
                }
            }
        };
        let mut counter = ExecCounter {
            pid,
            addr,
            stop_before,
            finished: None,
            kind,
        };
        // Before the breakpoint exists, so it sees the coming execution.
        let mut regs = ptrace::getregs(pid).map_err(|e| Error::ptrace("getregs", pid, e))?;
        if regs.rip == addr.0 && regs.eflags & EFLAGS_RF != 0 {
            regs.eflags &= !EFLAGS_RF;
            ptrace::setregs(pid, regs).map_err(|e| Error::ptrace("setregs", pid, e))?;
        }
        match &mut counter.kind {
            Kind::Perf { fd } => sys::perf_event_enable(fd)
                .map_err(|e| counter_error(pid, addr, format!("cannot enable the counter: {}", e.desc())))?,
            Kind::DebugRegister { slot, restored, .. } => {
                let slot = *slot;
                *restored = false;
                write_debugreg(pid, slot, addr.0)?;
                let dr7 = read_debugreg(pid, DR7)?;
                // Locally enabled; RW and LEN bits 00: break on execution of
                // the (one-byte-aligned) instruction at the address.
                write_debugreg(pid, DR7, (dr7 & !slot_bits(slot)) | local_enable_bit(slot))?;
            }
        }
        Ok(counter)
    }

    pub fn addr(&self) -> RemoteAddr {
        self.addr
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Perf { .. } => Backend::PerfBreakpoint,
            Kind::DebugRegister { .. } => Backend::DebugRegister,
        }
    }

    /// Whether the counter has reported [`CounterStop::Reached`].
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Tells whether a signal-delivery stop of the tracee (signal number and
    /// siginfo as `Tracee::siginfo()` returns them) is the counter's.
    ///
    /// `None`: not the counter's; the caller handles it. `Some(Counted)`: a
    /// counted execution (debug-register backend), resume without delivering
    /// the signal. `Some(Reached)`: the tracee stands right before the n-th
    /// execution; resume without delivering the signal (in perf mode the
    /// SIGSTKFLT is never for the program). From then on the counter is
    /// finished and silent, armed or not.
    pub fn on_signal_stop(&mut self, sig: i32, siginfo: &SiginfoBytes) -> Result<Option<CounterStop>> {
        match &mut self.kind {
            Kind::Perf { fd } => {
                if sig != COUNTER_SIGNAL || !POLL_CODES.contains(&si_code(siginfo)) {
                    return Ok(None);
                }
                if si_fd(siginfo) != std::os::fd::AsRawFd::as_raw_fd(fd) {
                    return Ok(None);
                }
                let Some(n) = self.stop_before else {
                    // A counting-only event has no signal routed to it; this
                    // cannot be anyone else's, so swallow it.
                    return Ok(Some(CounterStop::Counted));
                };
                if self.finished.is_some() {
                    // Disabling at Reached prevents this; never let the
                    // program see SIGSTKFLT anyway.
                    return Ok(Some(CounterStop::Counted));
                }
                sys::perf_event_disable(fd)
                    .map_err(|e| counter_error(self.pid, self.addr, format!("cannot disable: {}", e.desc())))?;
                let regs = ptrace::getregs(self.pid).map_err(|e| Error::ptrace("getregs", self.pid, e))?;
                if regs.rip != self.addr.0 {
                    return Err(counter_error(
                        self.pid,
                        self.addr,
                        format!(
                            "the stop before execution {n} came late, at {:#x} (the tracee blocked SIGSTKFLT, \
                             or another signal's handler was entered first)",
                            regs.rip
                        ),
                    ));
                }
                let count = self
                    .raw_count()?
                    .saturating_sub(pending_execution(&regs, self.addr) as u64);
                self.finished = Some(count);
                Ok(Some(CounterStop::Reached))
            }
            Kind::DebugRegister { slot, hits, .. } => {
                if sig != libc::SIGTRAP || si_code(siginfo) != TRAP_HWBKPT || self.finished.is_some() {
                    return Ok(None);
                }
                let slot = *slot;
                if read_debugreg(self.pid, DR6)? & (1 << slot) == 0 {
                    return Ok(None);
                }
                *hits += 1;
                if self.stop_before != Some(*hits) {
                    return Ok(Some(CounterStop::Counted));
                }
                self.finished = Some(*hits - 1);
                // Keep the address and the type bits so that only the enable
                // bit changes; RF (set by the kernel) lets the execution run.
                let dr7 = read_debugreg(self.pid, DR7)?;
                write_debugreg(self.pid, DR7, dr7 & !enable_bits(slot))?;
                Ok(Some(CounterStop::Reached))
            }
        }
    }

    /// Executions of the address that have run since the counter was armed,
    /// read while the tracee is stopped (its registers tell whether it stands
    /// before an execution the breakpoint has already seen). Once the
    /// counter is finished this stays n - 1: the n-th execution, which runs
    /// when the caller resumes from the Reached stop, is not counted.
    pub fn count(&self) -> Result<u64> {
        if let Some(count) = self.finished {
            return Ok(count);
        }
        let regs = ptrace::getregs(self.pid).map_err(|e| Error::ptrace("getregs", self.pid, e))?;
        Ok(self
            .raw_count()?
            .saturating_sub(pending_execution(&regs, self.addr) as u64))
    }

    /// Breakpoint hits so far.
    fn raw_count(&self) -> Result<u64> {
        match &self.kind {
            Kind::Perf { fd } => sys::perf_event_count(fd)
                .map_err(|e| counter_error(self.pid, self.addr, format!("cannot read the counter: {}", e.desc()))),
            Kind::DebugRegister { hits, .. } => Ok(*hits),
        }
    }

    /// Stops counting and gives the debug register back (the tracee must be
    /// stopped for that; a perf counter just closes its event). Dropping the
    /// counter does the same, ignoring errors.
    pub fn disarm(mut self) -> Result<()> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        if let Kind::DebugRegister {
            slot,
            saved_addr,
            saved_dr7_bits,
            restored,
            ..
        } = &mut self.kind
        {
            if !*restored {
                // Only this slot's bits: other slots may have changed since.
                let dr7 = read_debugreg(self.pid, DR7)?;
                write_debugreg(self.pid, DR7, (dr7 & !slot_bits(*slot)) | *saved_dr7_bits)?;
                write_debugreg(self.pid, *slot, *saved_addr)?;
                *restored = true;
            }
        }
        // A perf event goes when its fd is closed, by the drop that follows.
        Ok(())
    }
}

impl Drop for ExecCounter {
    fn drop(&mut self) {
        // Best effort: the tracee may be running or gone, and then its debug
        // registers cannot be (or need not be) restored.
        let _ = self.release();
    }
}

/// The CPU time one tracee thread runs (a perf task-clock event), read as a
/// duration, or an alarm: with `alarm_after`, the thread gets
/// [`COUNTER_SIGNAL`] once it has run that long (in user code), which stops
/// it wherever it is. No debug register is involved, so it costs nothing
/// per instruction: it is how a run is cut at a chosen share of its length.
#[derive(Debug)]
pub struct CpuClock {
    fd: OwnedFd,
}

impl CpuClock {
    /// Whether rback may open task-clock events here (probed once, on its
    /// own thread): a perf policy that allows breakpoints allows software
    /// events too, but a seccomp profile may tell them apart.
    pub fn available() -> bool {
        static PROBED: OnceLock<bool> = OnceLock::new();
        *PROBED.get_or_init(|| sys::perf_task_clock_open(Pid::from_raw(0), 0).is_ok())
    }

    /// Starts counting now (the thread is stopped).
    pub fn start(pid: Pid, alarm_after: Option<std::time::Duration>) -> Result<CpuClock> {
        let error = |what: &str, e: Errno| Error::Program(format!("{what} a CPU clock on thread {pid}: {}", e.desc()));
        let period = alarm_after.map_or(0, |d| (d.as_nanos() as u64).max(1));
        let fd = sys::perf_task_clock_open(pid, period).map_err(|e| error("cannot open", e))?;
        if alarm_after.is_some() {
            sys::perf_signal_overflow_to(&fd, pid, COUNTER_SIGNAL)
                .map_err(|e| error("cannot route the signal of", e))?;
        }
        sys::perf_event_enable(&fd).map_err(|e| error("cannot start", e))?;
        Ok(CpuClock { fd })
    }

    /// The CPU time the thread ran since the clock started.
    pub fn elapsed(&self) -> Result<std::time::Duration> {
        sys::perf_event_count(&self.fd)
            .map(std::time::Duration::from_nanos)
            .map_err(|e| Error::Program(format!("cannot read a CPU clock: {}", e.desc())))
    }

    /// Whether a signal-delivery stop is this alarm's; it then stops
    /// counting, so that it raises nothing more.
    pub fn rang(&self, sig: i32, siginfo: &SiginfoBytes) -> Result<bool> {
        if !is_counter_signal(sig, siginfo) || si_fd(siginfo) != std::os::fd::AsRawFd::as_raw_fd(&self.fd) {
            return Ok(false);
        }
        sys::perf_event_disable(&self.fd)
            .map_err(|e| Error::Program(format!("cannot stop a CPU clock: {}", e.desc())))?;
        Ok(true)
    }
}

/// Whether the tracee stands before an execution of `addr` that a breakpoint
/// on it has already seen (and counted): an instruction breakpoint fires
/// before its instruction runs, and the kernel then sets RF until it has.
fn pending_execution(regs: &libc::user_regs_struct, addr: RemoteAddr) -> bool {
    regs.rip == addr.0 && regs.eflags & EFLAGS_RF != 0
}

/// Whether thread `pid` blocks [`COUNTER_SIGNAL`] (`SigBlk` in its status).
fn blocks_counter_signal(pid: Pid) -> Result<bool> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(Error::io(format!("cannot read {path}")))?;
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| Error::Io {
            context: format!("cannot read {path}"),
            cause: io::Error::new(io::ErrorKind::InvalidData, "no SigBlk line"),
        })?;
    Ok(mask & (1 << (COUNTER_SIGNAL - 1)) != 0)
}

fn counter_error(pid: Pid, addr: RemoteAddr, why: String) -> Error {
    Error::Io {
        context: format!("cannot count executions of {addr} in tracee {pid}"),
        cause: io::Error::other(why),
    }
}

/// `si_fd` of a SIGPOLL-layout siginfo: after `si_band` (a long at 16).
fn si_fd(info: &SiginfoBytes) -> i32 {
    i32::from_ne_bytes([info[24], info[25], info[26], info[27]])
}

fn local_enable_bit(slot: usize) -> u64 {
    1 << (2 * slot)
}

/// The local and global enable bits of a slot in DR7.
fn enable_bits(slot: usize) -> u64 {
    0b11 << (2 * slot)
}

/// Everything DR7 holds for one slot: enable bits, RW and LEN.
fn slot_bits(slot: usize) -> u64 {
    enable_bits(slot) | (0b1111 << (16 + 4 * slot))
}

#[cfg(test)]
mod tests {
    //! Each test runs `tests/programs/exec_count.c`, which calls `bump()` a
    //! given number of times, seizes it before the calls start, and counts
    //! the executions of `bump`'s first instruction, on both backends.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::path::PathBuf;
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

    use super::*;

    const PERF: Backend = Backend::PerfBreakpoint;
    const DR: Backend = Backend::DebugRegister;
    /// The slot the debug-register tests use (slot 0 is the replay's).
    const SLOT: usize = 2;

    /// Compiles the test program once per test process, next to the test
    /// binary (the recorder crate has no temporary-directory helper).
    fn program() -> PathBuf {
        static BUILT: OnceLock<PathBuf> = OnceLock::new();
        BUILT
            .get_or_init(|| {
                let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/programs/exec_count.c");
                let exe = std::env::current_exe().expect("the test binary's path");
                let dir = exe.parent().expect("a directory").join("counter-test-programs");
                std::fs::create_dir_all(&dir).expect("create the test programs' directory");
                let out = dir.join("exec_count");
                let tmp = dir.join(format!("exec_count.{}", std::process::id()));
                let status = Command::new("gcc")
                    .args(["-O1", "-g", "-o"])
                    .arg(&tmp)
                    .arg(&src)
                    .status()
                    .expect("gcc must be installed to run the counter tests");
                assert!(status.success(), "gcc failed on {}", src.display());
                // Renamed into place so that concurrent test runs never see a
                // half-written executable.
                std::fs::rename(&tmp, &out).expect("rename the compiled test program");
                out
            })
            .clone()
    }

    /// A running `exec_count`, seized and interrupted (stopped) before its
    /// first call of `bump`; killed when dropped.
    struct Subject {
        child: Child,
        pid: Pid,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
        bump: RemoteAddr,
        calls: u64,
        reaped: bool,
    }

    /// How a run between two points of interest ended.
    #[derive(Debug, PartialEq, Eq)]
    enum Until {
        /// Counter number `i` reported Reached.
        Reached(usize),
        /// The tracee is at its `PTRACE_EVENT_EXIT` stop: still readable.
        ExitStop,
        Exited(i32),
    }

    impl Subject {
        fn start(calls: u64, extra: &[&str]) -> Subject {
            let mut child = Command::new(program())
                .arg(calls.to_string())
                .args(extra)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start exec_count");
            let pid = Pid::from_raw(child.id() as i32);
            let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            let stdin = child.stdin.take().expect("piped stdin");
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read bump's address");
            let bump = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16).expect("an address");
            let options = ptrace::Options::PTRACE_O_EXITKILL | ptrace::Options::PTRACE_O_TRACEEXIT;
            ptrace::seize(pid, options).expect("seize");
            ptrace::interrupt(pid).expect("interrupt");
            let mut subject = Subject {
                child,
                pid,
                stdin,
                stdout,
                bump: RemoteAddr(bump),
                calls,
                reaped: false,
            };
            match subject.wait() {
                WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_STOP) => {}
                other => panic!("expected the interrupt's stop, got {other:?}"),
            }
            subject
        }

        fn wait(&mut self) -> WaitStatus {
            let status = waitpid(self.pid, Some(WaitPidFlag::__WALL)).expect("waitpid");
            if matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
                self.reaped = true;
            }
            status
        }

        /// Lets the program start its calls (once) and resumes it.
        fn go(&mut self) {
            self.stdin.write_all(b"g").expect("release the tracee");
            ptrace::cont(self.pid, None).expect("cont");
        }

        fn cont(&self) {
            ptrace::cont(self.pid, None).expect("cont");
        }

        fn rip(&self) -> u64 {
            ptrace::getregs(self.pid).expect("getregs").rip
        }

        /// The argument of the `bump(i)` call the tracee stands in front of.
        fn bump_arg(&self) -> u64 {
            ptrace::getregs(self.pid).expect("getregs").rdi
        }

        /// Runs the (resumed) tracee to the next Reached stop of one of
        /// `counters`, or its exit; every Counted stop is resumed and tallied
        /// in `counted`, per counter. Any other signal is a test failure.
        fn run(&mut self, counters: &mut [ExecCounter], counted: &mut [u64]) -> Until {
            loop {
                match self.wait() {
                    WaitStatus::Stopped(_, sig) => {
                        let info = sys::siginfo_to_bytes(&ptrace::getsiginfo(self.pid).expect("getsiginfo"));
                        let mut reached = None;
                        let mut ours = false;
                        for (i, counter) in counters.iter_mut().enumerate() {
                            match counter.on_signal_stop(sig as i32, &info).expect("on_signal_stop") {
                                None => {}
                                Some(CounterStop::Counted) => {
                                    counted[i] += 1;
                                    ours = true;
                                }
                                Some(CounterStop::Reached) => reached = Some(i),
                            }
                        }
                        if let Some(i) = reached {
                            return Until::Reached(i);
                        }
                        assert!(ours, "unexpected signal {sig:?} at {:#x}", self.rip());
                        self.cont();
                    }
                    WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_EXIT) => return Until::ExitStop,
                    WaitStatus::PtraceEvent(..) => self.cont(),
                    WaitStatus::Exited(_, code) => return Until::Exited(code),
                    other => panic!("unexpected stop {other:?}"),
                }
            }
        }

        /// From the exit stop to the end: the program's output must say it
        /// made all its calls, and it must exit normally.
        fn finish(mut self) {
            self.cont();
            assert_eq!(self.run(&mut [], &mut []), Until::Exited(0));
            let mut out = String::new();
            self.stdout.read_to_string(&mut out).expect("read the program's output");
            let n = self.calls;
            assert_eq!(out, format!("total {}\n", n * n.saturating_sub(1) / 2));
        }
    }

    impl Drop for Subject {
        fn drop(&mut self) {
            if !self.reaped {
                let _ = self.child.kill();
                // A SIGKILLed tracee still stops at PTRACE_EVENT_EXIT, and one
                // already stopped there stays until the tracer lets it go.
                loop {
                    let _ = ptrace::cont(self.pid, None);
                    match waitpid(self.pid, Some(WaitPidFlag::__WALL)) {
                        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
        }
    }

    fn counts_every_call(backend: Backend) {
        const CALLS: u64 = 12345;
        let mut t = Subject::start(CALLS, &[]);
        let counter = ExecCounter::arm_with(backend, t.pid, t.bump, None, SLOT).expect("arm");
        assert_eq!(counter.count().unwrap(), 0);
        t.go();
        let mut counters = [counter];
        let mut counted = [0];
        assert_eq!(t.run(&mut counters, &mut counted), Until::ExitStop);
        assert_eq!(counters[0].count().unwrap(), CALLS);
        // Counting alone stops the tracee only on the debug-register backend.
        let stops = if backend == PERF { 0 } else { CALLS };
        assert_eq!(counted[0], stops);
        let [counter] = counters;
        counter.disarm().expect("disarm");
        t.finish();
    }

    #[test]
    fn counts_12345_calls_exactly_perf() {
        counts_every_call(PERF);
    }

    #[test]
    fn counts_12345_calls_exactly_debugreg() {
        counts_every_call(DR);
    }

    /// Stops before the n-th call, then counts the rest with a fresh counter
    /// armed at that stop: the n-th execution must run exactly once, and be
    /// the fresh counter's first.
    fn stops_before(backend: Backend, n: u64) {
        const CALLS: u64 = 2000;
        let mut t = Subject::start(CALLS, &[]);
        let first = ExecCounter::arm_with(backend, t.pid, t.bump, Some(n), SLOT).expect("arm");
        t.go();
        let mut counters = vec![first];
        let mut counted = [0, 0];
        assert_eq!(t.run(&mut counters, &mut counted), Until::Reached(0), "n = {n}");
        // A perf counter stops the tracee once in all; a debug-register one at
        // every execution.
        let stops = |executions| if backend == PERF { 0 } else { executions };
        assert_eq!(counted[0], stops(n - 1), "n = {n}");
        assert_eq!((t.rip(), t.bump_arg()), (t.bump.0, n - 1), "n = {n}");
        assert_eq!(counters[0].count().unwrap(), n - 1, "n = {n}");
        assert!(counters[0].is_finished());
        let rest = ExecCounter::arm_with(backend, t.pid, t.bump, None, SLOT + 1).expect("arm the second");
        counters.pop().unwrap().disarm().expect("disarm");
        counters.push(rest);
        assert_eq!(counters[0].count().unwrap(), 0, "n = {n}");
        counted = [0, 0];
        t.cont();
        assert_eq!(t.run(&mut counters, &mut counted), Until::ExitStop, "n = {n}");
        assert_eq!(counters[0].count().unwrap(), CALLS - (n - 1), "n = {n}");
        assert_eq!(counted[0], stops(CALLS - (n - 1)), "n = {n}");
        drop(counters);
        t.finish();
    }

    #[test]
    fn stops_before_1st_7th_1000th_perf() {
        for n in [1, 7, 1000] {
            stops_before(PERF, n);
        }
    }

    #[test]
    fn stops_before_1st_7th_1000th_debugreg() {
        for n in [1, 7, 1000] {
            stops_before(DR, n);
        }
    }

    /// A finished counter that is never disarmed stays silent, and a counter
    /// armed at its Reached stop on the same address stops at once: the
    /// resume flag the kernel set for the first must not hide the execution
    /// from the second.
    fn reached_twice_then_silent(backend: Backend) {
        const CALLS: u64 = 100;
        let mut t = Subject::start(CALLS, &[]);
        let first = ExecCounter::arm_with(backend, t.pid, t.bump, Some(7), SLOT).expect("arm");
        t.go();
        let mut counters = vec![first];
        let mut counted = [0, 0];
        assert_eq!(t.run(&mut counters, &mut counted), Until::Reached(0));
        assert_eq!(t.bump_arg(), 6);
        let again = ExecCounter::arm_with(backend, t.pid, t.bump, Some(1), SLOT + 1).expect("arm the second");
        counters.push(again);
        t.cont();
        assert_eq!(t.run(&mut counters, &mut counted), Until::Reached(1));
        // Still in front of the 7th call, bump(6).
        assert_eq!((t.rip(), t.bump_arg()), (t.bump.0, 6));
        assert_eq!((counters[0].count().unwrap(), counters[1].count().unwrap()), (6, 0));
        t.cont();
        // Neither finished counter may stop the tracee again: the only
        // Counted stops are the first six calls', on debug registers.
        assert_eq!(t.run(&mut counters, &mut counted), Until::ExitStop);
        assert_eq!(counted, if backend == PERF { [0, 0] } else { [6, 0] });
        drop(counters);
        t.finish();
    }

    #[test]
    fn reached_twice_then_silent_perf() {
        reached_twice_then_silent(PERF);
    }

    #[test]
    fn reached_twice_then_silent_debugreg() {
        reached_twice_then_silent(DR);
    }

    /// Single-stepping from a Reached stop runs the instruction once, and a
    /// counter armed there counts it. On debug registers the step first
    /// ends at the new counter's breakpoint (a Counted stop) and needs a
    /// second step; a perf counter never interrupts a step.
    fn step_after_reached(backend: Backend) {
        const CALLS: u64 = 100;
        let mut t = Subject::start(CALLS, &[]);
        let first = ExecCounter::arm_with(backend, t.pid, t.bump, Some(7), SLOT).expect("arm");
        t.go();
        let mut counters = vec![first];
        let mut counted = [0, 0];
        assert_eq!(t.run(&mut counters, &mut counted), Until::Reached(0));
        let rest = ExecCounter::arm_with(backend, t.pid, t.bump, None, SLOT + 1).expect("arm the second");
        counters.push(rest);
        let mut steps = 0;
        loop {
            ptrace::step(t.pid, None).expect("step");
            steps += 1;
            let WaitStatus::Stopped(_, Signal::SIGTRAP) = t.wait() else {
                panic!("a step must end in a SIGTRAP")
            };
            let info = sys::siginfo_to_bytes(&ptrace::getsiginfo(t.pid).expect("getsiginfo"));
            assert_eq!(counters[0].on_signal_stop(libc::SIGTRAP, &info).unwrap(), None);
            match counters[1].on_signal_stop(libc::SIGTRAP, &info).unwrap() {
                Some(CounterStop::Counted) => assert_eq!(counters[1].count().unwrap(), 0),
                None => break,
                Some(CounterStop::Reached) => panic!("a counting-only counter has nothing to reach"),
            }
        }
        assert_eq!(steps, if backend == PERF { 1 } else { 2 });
        assert_ne!(t.rip(), t.bump.0, "the step ran bump's first instruction");
        assert_eq!((counters[0].count().unwrap(), counters[1].count().unwrap()), (6, 1));
        t.cont();
        assert_eq!(t.run(&mut counters, &mut counted), Until::ExitStop);
        assert_eq!(counters[1].count().unwrap(), CALLS - 6);
        drop(counters);
        t.finish();
    }

    #[test]
    fn step_after_reached_perf() {
        step_after_reached(PERF);
    }

    #[test]
    fn step_after_reached_debugreg() {
        step_after_reached(DR);
    }

    /// A tracee that blocks SIGSTKFLT would never give a perf counter's
    /// stop: `arm_with` refuses and `arm` falls back to debug registers.
    #[test]
    fn blocked_counter_signal_falls_back_to_debug_registers() {
        let mut t = Subject::start(50, &["block"]);
        let refused = ExecCounter::arm_with(PERF, t.pid, t.bump, Some(3), SLOT);
        assert!(refused.unwrap_err().to_string().contains("blocks signal"));
        // Counting alone needs no signal.
        let counting = ExecCounter::arm_with(PERF, t.pid, t.bump, None, SLOT).expect("arm counting");
        let stopping = ExecCounter::arm(t.pid, t.bump, Some(3), SLOT).expect("arm");
        assert_eq!(stopping.backend(), DR);
        t.go();
        let mut counters = vec![stopping, counting];
        let mut counted = vec![0, 0];
        assert_eq!(t.run(&mut counters, &mut counted), Until::Reached(0));
        assert_eq!((counters[0].count().unwrap(), counters[1].count().unwrap()), (2, 2));
        assert_eq!(counted, [2, 0]);
        t.cont();
        assert_eq!(t.run(&mut counters, &mut counted), Until::ExitStop);
        assert_eq!(counters[1].count().unwrap(), 50);
        drop(counters);
        t.finish();
    }

    /// The kernel reports a signal to the tracer even when the tracee
    /// ignores it, so an ignored SIGSTKFLT still gives the perf counter's stop.
    #[test]
    fn ignored_counter_signal_still_stops() {
        let mut t = Subject::start(50, &["ignore"]);
        let counter = ExecCounter::arm(t.pid, t.bump, Some(20), SLOT).expect("arm");
        assert_eq!(counter.backend(), backend());
        t.go();
        let mut counters = [counter];
        assert_eq!(t.run(&mut counters, &mut [0]), Until::Reached(0));
        assert_eq!((t.bump_arg(), counters[0].count().unwrap()), (19, 19));
        t.cont();
        assert_eq!(t.run(&mut counters, &mut [0]), Until::ExitStop);
        t.finish();
    }

    /// Blocking SIGSTKFLT after the counter is armed delays its stop; the
    /// counter must say so rather than report a wrong position.
    #[test]
    fn a_late_perf_stop_is_an_error() {
        let mut t = Subject::start(50, &["block-during"]);
        let mut counter = ExecCounter::arm_with(PERF, t.pid, t.bump, Some(20), SLOT).expect("arm");
        t.go();
        let WaitStatus::Stopped(_, Signal::SIGSTKFLT) = t.wait() else {
            panic!("expected the counter's signal when the program unblocks it")
        };
        let info = sys::siginfo_to_bytes(&ptrace::getsiginfo(t.pid).expect("getsiginfo"));
        assert!(is_counter_signal(COUNTER_SIGNAL, &info));
        let err = counter.on_signal_stop(COUNTER_SIGNAL, &info).unwrap_err();
        assert!(err.to_string().contains("came late"), "{err}");
        // The event is off: the program runs to its end without more stops.
        t.cont();
        assert_eq!(t.run(&mut [counter], &mut [0]), Until::ExitStop);
        t.finish();
    }

    /// Four breakpoints per thread: the fifth fails cleanly, whichever
    /// backend asks, and disarming gives the registers back.
    #[test]
    fn fifth_breakpoint_is_an_error() {
        let t = Subject::start(1, &[]);
        let mut held: Vec<ExecCounter> = (0..4)
            .map(|i| ExecCounter::arm_with(PERF, t.pid, t.bump.offset(i), None, SLOT).expect("arm"))
            .collect();
        let err = ExecCounter::arm_with(PERF, t.pid, t.bump.offset(4), None, SLOT).unwrap_err();
        assert!(err.to_string().contains("perf_event_open failed"), "{err}");
        assert!(ExecCounter::arm_with(DR, t.pid, t.bump.offset(4), None, SLOT).is_err());
        held.pop().unwrap().disarm().unwrap();
        let dr = ExecCounter::arm_with(DR, t.pid, t.bump.offset(4), None, SLOT).expect("a slot is free again");
        assert!(
            ExecCounter::arm_with(DR, t.pid, t.bump.offset(5), None, SLOT).is_err(),
            "slot in use"
        );
        dr.disarm().unwrap();
        assert_eq!(read_debugreg(t.pid, DR7).unwrap() & slot_bits(SLOT), 0);
        assert_eq!(read_debugreg(t.pid, SLOT).unwrap(), 0);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let t = Subject::start(1, &[]);
        assert!(ExecCounter::arm_with(PERF, t.pid, t.bump, Some(0), SLOT).is_err());
        assert!(ExecCounter::arm_with(DR, t.pid, t.bump, Some(0), SLOT).is_err());
        assert!(ExecCounter::arm_with(DR, t.pid, t.bump, None, 0).is_err());
        assert!(ExecCounter::arm_with(DR, t.pid, t.bump, None, 4).is_err());
    }

    #[test]
    fn the_probe_finds_perf_breakpoints_here() {
        // These machines have perf breakpoint events (DESIGN-NOTES §1); if
        // this fails, rback runs on the slow debug-register fallback.
        if std::env::var_os("RBACK_COUNTER").is_none() {
            assert_eq!(
                backend(),
                PERF,
                "perf_event_open(PERF_TYPE_BREAKPOINT) is unavailable on this machine"
            );
        }
    }

    #[test]
    fn counter_signals_are_recognised() {
        let mut info = [0u8; 128];
        info[..4].copy_from_slice(&COUNTER_SIGNAL.to_ne_bytes());
        info[8..12].copy_from_slice(&1i32.to_ne_bytes()); // POLL_IN
        assert!(is_counter_signal(COUNTER_SIGNAL, &info));
        info[8..12].copy_from_slice(&(-6i32).to_ne_bytes()); // SI_TKILL: sent by a program
        assert!(!is_counter_signal(COUNTER_SIGNAL, &info));
        let _ = Signal::SIGSTKFLT; // COUNTER_SIGNAL must be one nix can decode in waitpid.
        assert_eq!(Signal::try_from(COUNTER_SIGNAL), Ok(Signal::SIGSTKFLT));
    }
}
