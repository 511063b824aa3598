//! The thin layer between the recorder and the kernel: every `unsafe` block
//! of rback lives here.
//!
//! What nix already wraps safely (ptrace requests, waitpid, process_vm_readv,
//! sched_setaffinity) is used directly by the rest of the crate; this module
//! only holds what nix lacks or cannot express safely: starting a tracee
//! (fork + async-signal-safe child set-up + exec), the seccomp filter,
//! `siginfo_t` as bytes, the x86 instructions the recorder emulates, and a
//! read-only mapping of a whole file.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// How the child prepares itself between `fork` and `execve`.
pub struct SpawnConfig<'a> {
    pub program: &'a CString,
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    /// A seccomp filter installed just before `execve`.
    pub filter: &'a [libc::sock_filter],
    /// Put the tracee in a process group of its own, so that a Ctrl-C typed
    /// at rback does not reach it (replay: signals come from the trace only).
    pub own_process_group: bool,
    /// Where the child's stdin comes from; `None` keeps rback's.
    pub stdin: Option<&'a OwnedFd>,
}

/// Forks a child that disables ASLR, makes `rdtsc` trap, stops itself with
/// SIGSTOP so that the parent can seize it, then installs `filter` and execs.
///
/// The child only makes raw system calls between fork and exec: everything it
/// needs (strings, pointer arrays) is prepared before the fork, because after
/// a fork of a multi-threaded parent only async-signal-safe calls are allowed.
/// If the exec fails, the child exits with status 127 (seccomp stops of its
/// own execve let the parent see why). With `own_process_group` the child
/// makes a process group of its own.
pub fn spawn_stopped(config: &SpawnConfig) -> Result<Pid, Errno> {
    let mut argv_ptrs: Vec<*const libc::c_char> = config.argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = config.envp.iter().map(|a| a.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let prog = libc::sock_fprog {
        len: config.filter.len() as u16,
        filter: config.filter.as_ptr() as *mut libc::sock_filter,
    };
    let stdin_fd = config.stdin.map(|fd| fd.as_raw_fd());
    let own_group = config.own_process_group;
    let [int_ignored, quit_ignored] = terminal_signals_ignored_at_start();
    let disposition = |ignored: bool| if ignored { libc::SIG_IGN } else { libc::SIG_DFL };
    let (int_action, quit_action) = (disposition(int_ignored), disposition(quit_ignored));

    // SAFETY: the child branch below calls only async-signal-safe functions
    // (raw syscalls through libc wrappers that do not allocate) on data that
    // was fully built before the fork, then execs or exits with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid > 0 {
        return Ok(Pid::from_raw(pid));
    }
    // Child.
    // SAFETY: see above; every pointer passed stays valid until exec.
    unsafe {
        if own_group {
            libc::setpgid(0, 0);
        }
        if let Some(fd) = stdin_fd {
            libc::dup2(fd, 0);
        }
        // rback ignores SIGINT/SIGQUIT while it records; the tracee must not
        // inherit that across exec, but what rback itself inherited (see
        // `terminal_signals_ignored_at_start`).
        libc::signal(libc::SIGINT, int_action);
        libc::signal(libc::SIGQUIT, quit_action);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        // ASLR off: mmap, brk and stack addresses come out the same on replay.
        libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
        // rdtsc/rdtscp raise SIGSEGV so the recorder can log their values.
        libc::prctl(libc::PR_SET_TSC, libc::PR_TSC_SIGSEGV, 0, 0, 0);
        // Die with rback even before the parent's PTRACE_O_EXITKILL is in place.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::raise(libc::SIGSTOP);
        // From here the parent traces us; the filter's RET_TRACE needs that.
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const _, 0, 0) != 0 {
            libc::_exit(126);
        }
        libc::execve(config.program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr());
        libc::_exit(127);
    }
}

/// The kernel's `siginfo_t`, kept as the 128 raw bytes that
/// `PTRACE_GETSIGINFO` returns so it can be stored in a trace and handed back
/// with `PTRACE_SETSIGINFO` unchanged.
pub type SiginfoBytes = [u8; 128];

pub fn siginfo_to_bytes(info: &libc::siginfo_t) -> SiginfoBytes {
    const _: () = assert!(std::mem::size_of::<libc::siginfo_t>() == 128);
    // SAFETY: siginfo_t is a plain 128-byte C struct (checked above); any
    // byte pattern is a valid [u8; 128].
    unsafe { std::mem::transmute_copy(info) }
}

pub fn siginfo_from_bytes(bytes: &SiginfoBytes) -> libc::siginfo_t {
    // SAFETY: siginfo_t is plain old data of the same size; the kernel
    // accepts any contents through PTRACE_SETSIGINFO.
    unsafe { std::mem::transmute_copy(bytes) }
}

/// Sends `sig` to one thread (`tgkill`), which nix does not wrap.
pub fn tgkill(tgid: Pid, tid: Pid, sig: i32) -> Result<(), Errno> {
    // SAFETY: a plain syscall with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, tgid.as_raw(), tid.as_raw(), sig) };
    Errno::result(r).map(drop)
}

/// Sends `sig` to process `pid` as `kill(2)` does (to the process, not
/// one of its threads). nix's `kill` knows only the standard signals.
pub fn kill_process(pid: Pid, sig: i32) -> Result<(), Errno> {
    // SAFETY: a plain syscall with integer arguments.
    let r = unsafe { libc::kill(pid.as_raw(), sig) };
    Errno::result(r).map(drop)
}

/// How many semaphores System V set `semid` has (`IPC_STAT`), if rback
/// may look at it.
pub fn semaphore_count(semid: i32) -> Option<usize> {
    // SAFETY: IPC_STAT writes one semid_ds into the buffer it is given.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::semctl(semid, 0, libc::IPC_STAT, &mut ds as *mut libc::semid_ds) };
    (r == 0).then_some(ds.sem_nsems as usize)
}

/// Reads the time-stamp counter, for emulating a trapped `rdtsc`.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86-64 (rback itself is never
    // put under PR_SET_TSC).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reads the time-stamp counter and TSC_AUX (the CPU number), for `rdtscp`.
pub fn rdtscp() -> (u64, u32) {
    let mut aux = 0u32;
    // SAFETY: rdtscp exists on every x86-64 CPU rback supports; `aux` is a
    // valid place for the instruction's second output.
    let tsc = unsafe { core::arch::x86_64::__rdtscp(&mut aux) };
    (tsc, aux)
}

/// Executes `cpuid` for a leaf and sub-leaf.
pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// `AT_FDCWD`-relative file identity without following the tracee's view:
/// used to tell whether a tracee fd is rback's own stdout or stderr.
pub fn fstat_identity(fd: &impl AsRawFd) -> Option<(u64, u64)> {
    nix::sys::stat::fstat(fd.as_raw_fd())
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

/// Whether SIGINT and SIGQUIT were ignored when rback first looked (call
/// it early: rback changes both): `nohup`, or a background job of a shell
/// without job control, leaves them ignored, and a program started there
/// without rback would inherit that, so its tracee does too.
pub fn terminal_signals_ignored_at_start() -> [bool; 2] {
    static AT_START: std::sync::OnceLock<[bool; 2]> = std::sync::OnceLock::new();
    *AT_START.get_or_init(|| {
        [libc::SIGINT, libc::SIGQUIT].map(|sig| {
            // SAFETY: a query (no new action) into a zeroed struct of ours.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
            }
        })
    })
}

/// Makes rback ignore the terminal's SIGINT and SIGQUIT while it records:
/// Ctrl-C is meant for the program, which gets it too (being in the same
/// process group) and whose reaction is part of the recording.
pub fn ignore_terminal_signals() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    terminal_signals_ignored_at_start();
    for sig in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: installing SIG_IGN runs no code in signal context.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
}

// ---------------------------------------------------------------------------
// The terminal, for `rback run`'s handoff (`live::Terminal`): the live
// program gets rback's terminal while it makes its syscalls, in a process
// group of its own. (nix's, with SIGTTOU ignored around the changes.)

/// A terminal's modes (`struct termios`), saved and restored as the
/// terminal changes hands.
#[derive(Clone, PartialEq)]
pub struct TerminalModes(nix::sys::termios::Termios);

/// The modes of terminal `fd` (`tcgetattr`).
pub fn terminal_modes(fd: BorrowedFd) -> Result<TerminalModes, Errno> {
    nix::sys::termios::tcgetattr(fd).map(TerminalModes)
}

/// Sets the modes of terminal `fd` at once (`tcsetattr`, `TCSANOW`), with
/// SIGTTOU ignored: from outside the terminal's foreground process group
/// the call would otherwise stop rback.
pub fn set_terminal_modes(fd: BorrowedFd, modes: &TerminalModes) -> Result<(), Errno> {
    with_sigttou_ignored(|| nix::sys::termios::tcsetattr(fd, nix::sys::termios::SetArg::TCSANOW, &modes.0))
}

/// The foreground process group of terminal `fd` (`tcgetpgrp`).
pub fn terminal_foreground(fd: BorrowedFd) -> Result<Pid, Errno> {
    nix::unistd::tcgetpgrp(fd)
}

/// Makes `group` the foreground process group of terminal `fd`
/// (`tcsetpgrp`), with SIGTTOU ignored: a process that takes the terminal
/// back from outside the foreground group is otherwise stopped by it
/// (tcsetpgrp(3)). This is what gdb does around it.
pub fn set_terminal_foreground(fd: BorrowedFd, group: Pid) -> Result<(), Errno> {
    with_sigttou_ignored(|| nix::unistd::tcsetpgrp(fd, group))
}

/// A process that relays the terminal's Ctrl-C to rback while the live
/// program has the terminal ([`spawn_interrupt_relay`]). Dropped, it exits
/// and is reaped.
pub struct InterruptRelay {
    /// The relay exits when this, the only write end of its pipe, closes.
    lifeline: Option<OwnedFd>,
    /// The thread whose child the relay is, waiting for its end.
    keeper: Option<std::thread::JoinHandle<()>>,
}

impl Drop for InterruptRelay {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

/// Starts a process in process group `group` (the live program's, in
/// rback's session) that sends rback SIGINT each time the terminal sends
/// the group SIGINT (Ctrl-C while the group is in the foreground; a SIGINT
/// that the program sends is not relayed). The recorder drops the
/// program's copy, and without this rback would not know: a call that the
/// signal ends with EINTR (`epoll_wait`) leaves no other trace of it.
///
/// The relay is the child of a thread of its own, which waits for its end:
/// the recorder's and the replay's waits (`__WNOTHREAD`) never see it. It
/// blocks every signal but reads SIGINT from a signalfd, and it exits when
/// the returned [`InterruptRelay`] is dropped or rback dies (its pipe's
/// write end then closes; `PR_SET_PDEATHSIG` too).
pub fn spawn_interrupt_relay(group: Pid) -> Result<InterruptRelay, Errno> {
    use nix::fcntl::OFlag;
    let rback = std::process::id() as libc::pid_t;
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (life_read, life_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let fds = [
        ready_read.as_raw_fd(),
        ready_write.as_raw_fd(),
        life_read.as_raw_fd(),
        life_write.as_raw_fd(),
    ];
    // SAFETY: sigset_t is plain data, initialised by sigfillset/sigemptyset.
    let (mut all, mut sigint): (libc::sigset_t, libc::sigset_t) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: the sets are valid sigset_t values owned here.
    unsafe {
        libc::sigfillset(&mut all);
        libc::sigemptyset(&mut sigint);
        libc::sigaddset(&mut sigint, libc::SIGINT);
    }
    let keeper = std::thread::Builder::new().name("rback-relay".into()).spawn(move || {
        // SAFETY: the child calls only async-signal-safe functions (raw
        // syscalls through libc wrappers that do not allocate) on data
        // built before the fork, and ends with `_exit`.
        let relay = unsafe { libc::fork() };
        if relay == 0 {
            // SAFETY: see above.
            unsafe { relay_interrupts(group.as_raw(), rback, fds, &all, &sigint) }
        }
        // The child's copies are its own now; the ready pipe reports a
        // failed fork as its end.
        drop(ready_write);
        drop(life_read);
        if relay > 0 {
            let _ = nix::sys::wait::waitpid(Pid::from_raw(relay), Some(nix::sys::wait::WaitPidFlag::__WALL));
        }
    });
    let keeper = match keeper {
        Ok(keeper) => keeper,
        Err(_) => return Err(Errno::EAGAIN),
    };
    let relay = InterruptRelay {
        lifeline: Some(life_write),
        keeper: Some(keeper),
    };
    // One byte once the relay is in the group; none if it failed.
    let mut ready = [0u8];
    match nix::unistd::read(ready_read.as_raw_fd(), &mut ready) {
        Ok(1) => Ok(relay),
        Ok(_) => Err(Errno::ESRCH),
        Err(e) => Err(e),
    }
}

/// The relay's life (see [`spawn_interrupt_relay`]). `fds`: the ready
/// pipe's read and write ends, the lifeline's read and write ends.
///
/// # Safety
///
/// Only in a child just forked: it closes every descriptor but its own and
/// never returns.
unsafe fn relay_interrupts(
    group: libc::pid_t,
    rback: libc::pid_t,
    fds: [i32; 4],
    all: &libc::sigset_t,
    sigint: &libc::sigset_t,
) -> ! {
    let [ready_read, ready_write, life_read, life_write] = fds;
    libc::close(ready_read);
    libc::close(life_write);
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    libc::sigprocmask(libc::SIG_SETMASK, all, std::ptr::null_mut());
    if libc::setpgid(0, group) != 0 {
        libc::_exit(1);
    }
    let signals = libc::signalfd(-1, sigint, libc::SFD_CLOEXEC);
    if signals < 0 {
        libc::_exit(1);
    }
    // The descriptors it keeps go to 0 and 1 (by way of numbers above any
    // of them), and every other one of rback's is closed: the relay holds
    // no pipe or file of rback's open.
    let signals = libc::fcntl(signals, libc::F_DUPFD, 10);
    let lifeline = libc::fcntl(life_read, libc::F_DUPFD, 10);
    let ready = libc::fcntl(ready_write, libc::F_DUPFD, 10);
    libc::dup2(signals, 0);
    libc::dup2(lifeline, 1);
    if libc::write(ready, [1u8].as_ptr().cast(), 1) != 1 {
        libc::_exit(1);
    }
    libc::syscall(libc::SYS_close_range, 2u32, u32::MAX, 0u32);
    loop {
        let mut polled = [
            libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: 1,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        if libc::poll(polled.as_mut_ptr(), 2, -1) < 0 {
            continue;
        }
        if polled[1].revents != 0 {
            // rback closed its end, or died.
            libc::_exit(0);
        }
        if polled[0].revents & libc::POLLIN != 0 {
            let mut info: libc::signalfd_siginfo = std::mem::zeroed();
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = libc::read(0, (&mut info as *mut libc::signalfd_siginfo).cast(), size);
            if n == size as isize && info.ssi_signo == libc::SIGINT as u32 && info.ssi_code == crate::kernel::SI_KERNEL
            {
                libc::kill(rback, libc::SIGINT);
            }
        }
    }
}

/// Runs `f` with SIGTTOU's action set to ignore, then puts back the action
/// there was.
fn with_sigttou_ignored<R>(f: impl FnOnce() -> R) -> R {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_IGN runs no code in signal context.
    let previous = unsafe { sigaction(Signal::SIGTTOU, &ignore) };
    let result = f();
    if let Ok(previous) = previous {
        // SAFETY: puts back the action that was installed before, as it was.
        let _ = unsafe { sigaction(Signal::SIGTTOU, &previous) };
    }
    result
}

// ---------------------------------------------------------------------------
// Instruction-breakpoint counters (`perf_event_open`), for `counter`.
//
// libc does not define `struct perf_event_attr`, the perf ioctls, or the
// `fcntl` commands that route an event's overflow signal to one thread
// (`F_SETOWN_EX`, `F_SETSIG`) for glibc targets, so they are spelled out here
// from the kernel's uapi headers (`linux/perf_event.h`, `asm-generic/fcntl.h`).

/// `PERF_TYPE_BREAKPOINT`: a hardware breakpoint (debug register) as a perf event.
const PERF_TYPE_BREAKPOINT: u32 = 5;
/// `HW_BREAKPOINT_X`: the breakpoint fires on instruction fetch.
const HW_BREAKPOINT_X: u32 = 4;
/// `PERF_ATTR_SIZE_VER5`: the layout below; the kernel accepts any known size.
const PERF_ATTR_SIZE_VER5: u32 = 112;
/// Bits of `perf_event_attr`'s flag word.
const PERF_ATTR_DISABLED: u64 = 1 << 0;
const PERF_ATTR_EXCLUDE_KERNEL: u64 = 1 << 5;
const PERF_ATTR_EXCLUDE_HV: u64 = 1 << 6;
/// `PERF_FLAG_FD_CLOEXEC`: the fd must not leak into tracees that rback forks.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IO('$', 0)`, `_IO('$', 1)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const F_SETSIG: libc::c_int = 10;
const F_SETOWN_EX: libc::c_int = 15;
const F_OWNER_TID: libc::c_int = 0;

/// `struct perf_event_attr` as of `PERF_ATTR_SIZE_VER5`. The C bit-field
/// `disabled, inherit, ..., sigtrap` is the one `u64` `flags`; `bp_addr` and
/// `bp_len` are the unions the kernel also calls `config1` and `config2`.
#[repr(C)]
#[derive(Default)]
#[allow(dead_code)] // The fields are read by the kernel, not by Rust.
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    bp_addr: u64,
    bp_len: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved_2: u16,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<PerfEventAttr>() == PERF_ATTR_SIZE_VER5 as usize);
    assert!(offset_of!(PerfEventAttr, sample_period) == 16);
    assert!(offset_of!(PerfEventAttr, flags) == 40);
    assert!(offset_of!(PerfEventAttr, wakeup_events) == 48);
    assert!(offset_of!(PerfEventAttr, bp_type) == 52);
    assert!(offset_of!(PerfEventAttr, bp_addr) == 56);
    assert!(offset_of!(PerfEventAttr, bp_len) == 64);
    assert!(offset_of!(PerfEventAttr, sample_regs_intr) == 96);
};

/// `struct f_owner_ex`.
#[repr(C)]
#[allow(dead_code)] // Read by the kernel.
struct FOwnerEx {
    type_: libc::c_int,
    pid: libc::pid_t,
}

/// Opens a disabled perf event that counts user-mode executions of the
/// instruction at `addr` by thread `tid` (0: the calling thread), on any CPU.
/// With a nonzero `sample_period` the event overflows at every
/// `sample_period`-th execution, before that execution runs; see
/// [`perf_signal_overflow_to`] for turning that into a signal.
///
/// The kernel wants `bp_len = sizeof(long)` for execution breakpoints (1 is
/// EINVAL). It takes one of the thread's four debug registers; a fifth
/// breakpoint on the same thread fails with ENOSPC.
pub fn perf_breakpoint_open(tid: Pid, addr: u64, sample_period: u64) -> Result<OwnedFd, Errno> {
    let attr = PerfEventAttr {
        type_: PERF_TYPE_BREAKPOINT,
        size: PERF_ATTR_SIZE_VER5,
        sample_period,
        // A wakeup at every overflow. Without a ring buffer the kernel
        // signals every overflow anyway (0 behaves the same here); 1 states
        // the intent and is what DESIGN-NOTES §4 verified.
        wakeup_events: 1,
        flags: PERF_ATTR_DISABLED | PERF_ATTR_EXCLUDE_KERNEL | PERF_ATTR_EXCLUDE_HV,
        bp_type: HW_BREAKPOINT_X,
        bp_addr: addr,
        bp_len: std::mem::size_of::<libc::c_long>() as u64,
        ..Default::default()
    };
    perf_event_open(&attr, tid)
}

/// Opens the perf event `attr` describes on thread `tid` (any CPU).
fn perf_event_open(attr: &PerfEventAttr, tid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: `attr` is a fully initialised perf_event_attr of the size it
    // declares, and outlives the call; the other arguments are integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const PerfEventAttr,
            tid.as_raw(),
            -1 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    let fd = Errno::result(fd)? as std::os::fd::RawFd;
    // SAFETY: perf_event_open just returned this fd, and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `PERF_TYPE_SOFTWARE` and its `PERF_COUNT_SW_TASK_CLOCK`: the CPU time a
/// thread runs, in ns.
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_TASK_CLOCK: u64 = 1;

/// Opens a disabled perf event that counts the CPU time thread `tid` runs,
/// in ns (kernel time on its behalf included). With a nonzero
/// `sample_period` it overflows each time the thread has run that long
/// (the kernel's hrtimer, at least 10 µs apart); see
/// [`perf_signal_overflow_to`] for turning that into a signal.
pub fn perf_task_clock_open(tid: Pid, sample_period: u64) -> Result<OwnedFd, Errno> {
    let attr = PerfEventAttr {
        type_: PERF_TYPE_SOFTWARE,
        size: PERF_ATTR_SIZE_VER5,
        config: PERF_COUNT_SW_TASK_CLOCK,
        sample_period,
        wakeup_events: 1,
        // Only while user code runs may the overflow stop the thread: a
        // stop inside a system call or a fault would not be a place.
        flags: PERF_ATTR_DISABLED | PERF_ATTR_EXCLUDE_KERNEL | PERF_ATTR_EXCLUDE_HV,
        ..Default::default()
    };
    perf_event_open(&attr, tid)
}

/// Makes every overflow of a perf event queue signal `sig` for thread `tid`
/// alone, with a full siginfo whose `si_fd` is `fd` (what `F_SETSIG` does, and
/// why it is needed: plain `O_ASYNC` would send a bare SIGIO to the process).
pub fn perf_signal_overflow_to(fd: &OwnedFd, tid: Pid, sig: i32) -> Result<(), Errno> {
    let owner = FOwnerEx {
        type_: F_OWNER_TID,
        pid: tid.as_raw(),
    };
    // SAFETY: F_SETOWN_EX reads one f_owner_ex from the pointer, which is
    // valid for the call; `fd` is an open descriptor.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), F_SETOWN_EX, &owner as *const FOwnerEx) })?;
    // SAFETY: F_SETSIG takes an integer argument.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), F_SETSIG, sig) })?;
    // SAFETY: F_GETFL/F_SETFL take no pointer.
    let flags = Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_ASYNC) }).map(drop)
}

/// Starts (or resumes) counting.
pub fn perf_event_enable(fd: &OwnedFd) -> Result<(), Errno> {
    // SAFETY: this ioctl takes no argument and only affects the event.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) }).map(drop)
}

/// Stops counting; the count so far stays readable and no overflow (so no
/// signal) can happen until the event is enabled again.
pub fn perf_event_disable(fd: &OwnedFd) -> Result<(), Errno> {
    // SAFETY: this ioctl takes no argument and only affects the event.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_DISABLE, 0) }).map(drop)
}

/// The event's count (`read_format` 0: a single u64).
pub fn perf_event_count(fd: &OwnedFd) -> Result<u64, Errno> {
    let mut buf = [0u8; 8];
    match nix::unistd::read(fd.as_raw_fd(), &mut buf)? {
        8 => Ok(u64::from_ne_bytes(buf)),
        _ => Err(Errno::EIO),
    }
}

/// `NT_X86_XSTATE`: the register set holding the whole XSAVE area (x87,
/// SSE, AVX and beyond), which nix's typed register sets do not cover.
pub const NT_X86_XSTATE: i32 = 0x202;

/// Reads register set `note` of a stopped tracee into `buf`
/// (`PTRACE_GETREGSET`); returns how many bytes the kernel filled.
pub fn get_regset(pid: Pid, note: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: the iovec points at `buf`, which is valid for writes of
    // `iov_len` bytes for the duration of the call; the kernel shrinks
    // `iov_len` to what it wrote and never writes more.
    Errno::result(unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            pid.as_raw(),
            note as usize as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    })?;
    Ok(iov.iov_len)
}

/// Writes register set `note` of a stopped tracee from `buf`
/// (`PTRACE_SETREGSET`).
pub fn set_regset(pid: Pid, note: i32, buf: &[u8]) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the iovec points at `buf`, valid for reads of `iov_len` bytes
    // for the duration of the call; PTRACE_SETREGSET only reads from it.
    Errno::result(unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            pid.as_raw(),
            note as usize as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    })
    .map(drop)
}

// ---------------------------------------------------------------------------
// Checkpoint images (`image`).

/// `struct clone_args` up to `set_tid_size` (`CLONE_ARGS_SIZE_VER1`,
/// include/uapi/linux/sched.h).
#[repr(C)]
#[derive(Default)]
#[allow(dead_code)] // Read by the kernel.
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
}

/// Forks a child that stops itself twice with SIGSTOP and never runs on:
/// the shell that `image::restart` seizes (the first stop) and empties
/// (from the second) before it builds a saved program in it. With `pid`,
/// the child gets that process id (`clone3`'s `set_tid`, which needs
/// `CAP_CHECKPOINT_RESTORE` and a free id) or the call fails. It dies with
/// rback (`PR_SET_PDEATHSIG`), so a restarted program never outlives the
/// rback that waits for it.
///
/// With `filter`, the child is made a tracee like one `spawn_stopped`
/// launches, for a restart that is recorded or replayed: between its two
/// stops (so, already traced, which the filter's `RET_TRACE` needs) it
/// turns ASLR off for what it execs, makes `rdtsc` trap and installs the
/// seccomp filter.
pub fn fork_stopped(pid: Option<i32>, filter: Option<&[libc::sock_filter]>) -> Result<Pid, Errno> {
    let prog = filter.map(|f| libc::sock_fprog {
        len: f.len() as u16,
        filter: f.as_ptr() as *mut libc::sock_filter,
    });
    let wanted: libc::pid_t = pid.unwrap_or(0);
    let args = CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        set_tid: if pid.is_some() {
            &wanted as *const libc::pid_t as u64
        } else {
            0
        },
        set_tid_size: u64::from(pid.is_some()),
        ..CloneArgs::default()
    };
    // SAFETY: a fork (no CLONE_VM, no new stack): the child runs on a copy
    // of this stack and calls only async-signal-safe functions (prctl,
    // raise, _exit) before it is taken over by ptrace; it never returns
    // into rback's code. `args` and `wanted` outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    if r > 0 {
        return Ok(Pid::from_raw(r as i32));
    }
    // SAFETY: see above; `prog` and the filter it points to were built
    // before the fork and stay valid in the child's copy of this stack.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::raise(libc::SIGSTOP);
        if let Some(prog) = &prog {
            // ASLR off for the programs it may exec, as for a launched
            // tracee (its own layout is the image's, mapped at fixed
            // addresses).
            libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
            libc::prctl(libc::PR_SET_TSC, libc::PR_TSC_SIGSEGV, 0, 0, 0);
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                prog as *const libc::sock_fprog,
                0,
                0,
            ) != 0
            {
                libc::_exit(126);
            }
        }
        libc::raise(libc::SIGSTOP);
        libc::_exit(127);
    }
}

/// Resource limit `resource` of process `pid` (`prlimit64` without a new
/// limit), which nix reads only for rback itself: `(soft, hard)`.
pub fn get_rlimit(pid: Pid, resource: u32) -> Result<(u64, u64), Errno> {
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `old` is a valid rlimit64 for the kernel to fill; no new
    // limit is passed.
    Errno::result(unsafe { libc::prlimit64(pid.as_raw(), resource as _, std::ptr::null(), &mut old) })?;
    Ok((old.rlim_cur, old.rlim_max))
}

/// `PTRACE_GET_RSEQ_CONFIGURATION` (Linux 5.13) and the structure it fills
/// (include/uapi/linux/ptrace.h).
const PTRACE_GET_RSEQ_CONFIGURATION: libc::c_uint = 0x420f;

#[repr(C)]
#[derive(Default)]
struct RseqConfiguration {
    rseq_abi_pointer: u64,
    rseq_abi_size: u32,
    signature: u32,
    flags: u32,
    pad: u32,
}

/// Where thread `pid` registered its restartable-sequence area, if it did:
/// `(address, size, signature)`, which unregistering must repeat. A fork
/// of rback inherits glibc's registration, and the kernel kills a thread
/// whose area it cannot write (it sends SIGSEGV on every return to user
/// space), so `image::restart` unregisters it before emptying the fork.
pub fn rseq_configuration(pid: Pid) -> Result<Option<(u64, u32, u32)>, Errno> {
    let mut conf = RseqConfiguration::default();
    // SAFETY: the kernel writes at most `size_of::<RseqConfiguration>()`
    // bytes (the size passed) into `conf`, which lives through the call.
    Errno::result(unsafe {
        libc::ptrace(
            PTRACE_GET_RSEQ_CONFIGURATION,
            pid.as_raw(),
            std::mem::size_of::<RseqConfiguration>(),
            &mut conf as *mut RseqConfiguration,
        )
    })?;
    Ok((conf.rseq_abi_pointer != 0).then_some((conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature)))
}

/// Leaves a tracee in its group stop (`PTRACE_LISTEN`): out of its ptrace
/// stop, so that a SIGCONT can end the group stop (and report a stop of
/// its own), but not running. nix has no call for it.
pub fn ptrace_listen(pid: Pid) -> Result<(), Errno> {
    // SAFETY: PTRACE_LISTEN reads neither `addr` nor `data`.
    Errno::result(unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// The blocked-signal mask of a stopped tracee (`PTRACE_GETSIGMASK`): the
/// program may change it without a stop (the syscall buffer's
/// `rt_sigprocmask`), so the kernel is asked rather than a copy kept.
pub fn get_sigmask(pid: Pid) -> Result<u64, Errno> {
    let mut mask = 0u64;
    // SAFETY: the kernel writes `size_of::<u64>()` bytes (the size passed,
    // a kernel sigset_t on x86-64) to `mask`, which lives through the call.
    Errno::result(unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGMASK,
            pid.as_raw(),
            std::mem::size_of::<u64>(),
            &mut mask as *mut u64,
        )
    })?;
    Ok(mask)
}

/// Sets the blocked-signal mask of a stopped tracee (`PTRACE_SETSIGMASK`)
/// without running it, so that a signal it unblocks is delivered only when
/// it next runs its own code.
pub fn set_sigmask(pid: Pid, mask: u64) -> Result<(), Errno> {
    // SAFETY: the kernel reads `size_of::<u64>()` bytes (the size passed,
    // a kernel sigset_t on x86-64) from `mask`, which lives through the call.
    Errno::result(unsafe {
        libc::ptrace(
            libc::PTRACE_SETSIGMASK,
            pid.as_raw(),
            std::mem::size_of::<u64>(),
            &mask as *const u64,
        )
    })
    .map(drop)
}

/// A whole file mapped read-only into rback's memory, unmapped on drop.
///
/// Only for files no one else can shrink while it is mapped: a page past a
/// truncated end raises SIGBUS at the access, which nothing can catch.
/// [`crate::trace`] maps only trace files owned by rback's own user.
pub struct MappedFile {
    addr: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
}

// SAFETY: the mapping is read-only and private to this value; reading it from
// several threads at once is as safe as reading a shared `&[u8]`.
unsafe impl Send for MappedFile {}
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Maps the first `len` bytes of `file` (`len` > 0: the kernel refuses
    /// an empty mapping).
    pub fn map(file: &std::fs::File, len: usize) -> Result<MappedFile, Errno> {
        let size = std::num::NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
        // SAFETY: a fresh read-only private mapping at an address the kernel
        // picks overlaps nothing of ours; the fd only needs to live for the
        // call.
        let addr = unsafe {
            nix::sys::mman::mmap(
                None,
                size,
                nix::sys::mman::ProtFlags::PROT_READ,
                nix::sys::mman::MapFlags::MAP_PRIVATE,
                file,
                0,
            )?
        };
        Ok(MappedFile { addr, len })
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `addr` is a live read-only mapping of `len` bytes for as
        // long as `self` is, and nothing writes it.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().cast::<u8>(), self.len) }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and no slice of it outlives `self`
        // (`as_ref` borrows it).
        let _ = unsafe { nix::sys::mman::munmap(self.addr, self.len) };
    }
}
