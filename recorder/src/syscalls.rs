//! What rback knows about each x86-64 Linux system call, declared once.
//!
//! Every syscall the tracee makes is looked up here. The table says how it
//! is replayed ([`Replay`]) and which tracee memory it writes ([`Out`]), so
//! that recording can copy those bytes into the trace and replay can put them
//! back without running the call. A syscall missing from the table is refused
//! at record time with its name: a recording that silently lacks a syscall's
//! outputs would replay wrong, which is worse than no recording.

use libc as c;

/// How replay deals with a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Never run in replay: the recorded result and memory writes are
    /// injected. This is the default, and the only safe choice for anything
    /// that talks to the outside world.
    Emulate,
    /// Run in replay as well, because it builds the address space or kernel
    /// state the tracee relies on (memory maps, signal handlers and masks);
    /// its result is checked against the recording.
    Execute,
    /// `mmap`: replay maps the same range, from the trace's copy of the file.
    Mmap,
    /// `execve`: replay execs the trace's copy of the new program.
    Execve,
    /// Run in replay with the recorded signal raised first: the call waits
    /// for a signal and changes the signal mask while it waits
    /// (`rt_sigsuspend`), so emulating it would deliver the signal under the
    /// wrong mask.
    ExecuteUntilSignal,
    /// Not run in either mode; always returns this result. Used where letting
    /// the tracee do it would break the recorder (moving itself to another
    /// CPU, untrapping `rdtsc`).
    Fake(i64),
    /// `clone`/`clone3`/`fork`/`vfork`: a new thread or child process is
    /// made in replay too (when replay follows it), and is given the id it
    /// had while recording.
    Clone,
    /// `shmat`: replay maps anonymous memory at the recorded address and
    /// writes the segment's recorded contents there.
    ShmAttach,
    /// `shmdt`: replay unmaps what its `ShmAttach` mapped there.
    ShmDetach,
    /// Refused at record time with this explanation.
    Unsupported(&'static str),
}

/// How many bytes an output has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// A fixed size (a struct).
    Fixed(usize),
    /// The syscall's result (bytes read).
    Result,
    /// The result times a record size (epoll events, gids).
    ResultTimes(usize),
    /// Argument `n` times a record size (`poll`'s pollfd array).
    ArgTimes(usize, usize),
    /// Argument `n` itself (`rt_sigpending`'s set size).
    Arg(usize),
    /// An `fd_set` sized for `nfds` in argument `n`.
    FdSet(usize),
    /// One byte per page of the length in argument `n` (`mincore`).
    Pages(usize),
    /// The result plus a header of this many bytes (`msgrcv`'s `mtype`).
    ResultPlus(usize),
    /// The `u32` that argument `n` points to, read before the call: the
    /// capacity of an in/out length (`socklen_t *`). The kernel writes at most
    /// that many bytes, however long the real value is.
    CapacityAt(usize),
}

/// One kind of tracee memory a syscall may write, only when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    /// A buffer at argument `ptr` (skipped when the pointer is null).
    Buf { ptr: usize, len: Len },
    /// `result` bytes scattered over an iovec array (`readv`).
    Iov { iov: usize, count: usize },
    /// A `struct msghdr` and everything it points to (`recvmsg`).
    MsgHdr { ptr: usize },
    /// `recvmmsg`'s array of `mmsghdr`s at argument `ptr`: as many as the
    /// result says were filled, each like `MsgHdr` with its own `msg_len`.
    MmsgHdrs { ptr: usize },
    /// Depends on a request code: `ioctl`, `fcntl`, `prctl`.
    ByRequest,
}

/// Data the tracee sends out that replay must reproduce on rback's own
/// stdout or stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    None,
    /// `result` bytes from the buffer at argument 1, written to the fd in argument 0.
    Buf,
    /// `result` bytes gathered from the iovec at argument 1 (count in 2).
    Iov,
    /// Data that never passes through tracee memory (sendfile, splice,
    /// copy_file_range). When it would go to rback's stdout or stderr, the
    /// recorder makes the call fail with ENOSYS instead, and the program
    /// falls back to read/write, whose data it can log.
    Opaque,
}

#[derive(Clone, Copy, Debug)]
pub struct SyscallInfo {
    pub name: &'static str,
    /// Arguments compared at replay to detect divergence.
    pub nargs: usize,
    pub replay: Replay,
    pub outs: &'static [Out],
    pub echo: Echo,
}

const fn sc(name: &'static str, nargs: usize, replay: Replay, outs: &'static [Out]) -> SyscallInfo {
    SyscallInfo {
        name,
        nargs,
        replay,
        outs,
        echo: Echo::None,
    }
}

const fn emu(name: &'static str, nargs: usize, outs: &'static [Out]) -> SyscallInfo {
    sc(name, nargs, Replay::Emulate, outs)
}

const fn exe(name: &'static str, nargs: usize) -> SyscallInfo {
    sc(name, nargs, Replay::Execute, &[])
}

const fn echo(name: &'static str, nargs: usize, echo: Echo) -> SyscallInfo {
    SyscallInfo {
        name,
        nargs,
        replay: Replay::Emulate,
        outs: &[],
        echo,
    }
}

const fn unsupported(name: &'static str, why: &'static str) -> SyscallInfo {
    sc(name, 0, Replay::Unsupported(why), &[])
}

const fn buf(ptr: usize, len: Len) -> Out {
    Out::Buf { ptr, len }
}

use Len::*;

const STAT: usize = 144;
const TIMESPEC: usize = 16;
const TIMEVAL: usize = 16;
const ITIMERVAL: usize = 32;
const ITIMERSPEC: usize = 32;
const RUSAGE: usize = 144;
const MMSGHDR: usize = std::mem::size_of::<c::mmsghdr>();
const TIMEX: usize = std::mem::size_of::<c::timex>();
const RLIMIT: usize = 16;
const MQ_ATTR: usize = 64;
const STATFS: usize = 120;
const SOCKADDR_OUT: [Out; 2] = [buf(1, CapacityAt(2)), buf(2, Fixed(4))];

/// What a `clone` or `clone3` asks for, read from its arguments (and for
/// `clone3`, from its `struct clone_args` in tracee memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloneRequest {
    pub flags: u64,
    /// Where the kernel stores a pidfd for the parent (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// Where the kernel stores the new thread's id for the parent
    /// (`CLONE_PARENT_SETTID`) and for the child (`CLONE_CHILD_SETTID`).
    pub parent_tid: u64,
    pub child_tid: u64,
}

impl CloneRequest {
    /// From `clone`'s registers: flags, stack, parent_tid, child_tid, tls.
    pub fn from_clone_args(args: &[u64; 6]) -> CloneRequest {
        CloneRequest {
            flags: args[0],
            // clone(2) stores the pidfd where it would store parent_tid.
            pidfd: args[2],
            parent_tid: args[2],
            child_tid: args[3],
        }
    }

    /// From the bytes of a `struct clone_args` (at least its first 32
    /// bytes: flags, pidfd, child_tid, parent_tid).
    pub fn from_clone3_struct(raw: &[u8]) -> Option<CloneRequest> {
        let field = |i: usize| {
            raw.get(8 * i..8 * i + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        };
        Some(CloneRequest {
            flags: field(0)?,
            pidfd: field(1)?,
            child_tid: field(2)?,
            parent_tid: field(3)?,
        })
    }

    /// What `fork` asks for.
    pub fn fork() -> CloneRequest {
        CloneRequest {
            flags: c::SIGCHLD as u64,
            pidfd: 0,
            parent_tid: 0,
            child_tid: 0,
        }
    }

    /// What `vfork` asks for.
    pub fn vfork() -> CloneRequest {
        CloneRequest {
            flags: (c::CLONE_VM | c::CLONE_VFORK | c::SIGCHLD) as u64,
            pidfd: 0,
            parent_tid: 0,
            child_tid: 0,
        }
    }

    /// A thread of the same process, rather than a child process.
    pub fn is_thread(&self) -> bool {
        let needed = (c::CLONE_THREAD | c::CLONE_VM | c::CLONE_SIGHAND) as u64;
        self.flags & needed == needed
    }
}

/// Syscalls that may wait for another thread (or the world) for as long as
/// it takes: with several threads, the recorder gives another thread its
/// turn at once rather than wait to see whether the call blocks.
pub fn may_block(nr: i64, args: &[u64; 6]) -> bool {
    const FUTEX_CMD: u64 = 0x7f; // FUTEX_CMD_MASK without the PRIVATE and CLOCK_REALTIME bits
    match nr {
        c::SYS_futex => matches!(
            (args[1] & FUTEX_CMD) as i32,
            c::FUTEX_WAIT | c::FUTEX_WAIT_BITSET | c::FUTEX_LOCK_PI | c::FUTEX_WAIT_REQUEUE_PI
        ),
        c::SYS_nanosleep
        | c::SYS_clock_nanosleep
        | c::SYS_sched_yield
        | c::SYS_read
        | c::SYS_readv
        | c::SYS_recvfrom
        | c::SYS_recvmsg
        | c::SYS_recvmmsg
        | c::SYS_accept
        | c::SYS_accept4
        | c::SYS_connect
        | c::SYS_poll
        | c::SYS_ppoll
        | c::SYS_select
        | c::SYS_pselect6
        | c::SYS_epoll_wait
        | c::SYS_epoll_pwait
        | c::SYS_wait4
        | c::SYS_waitid
        | c::SYS_rt_sigtimedwait
        | c::SYS_msgrcv
        | c::SYS_semop
        | c::SYS_semtimedop
        | c::SYS_flock => true,
        _ => false,
    }
}

/// The table, as `(number, info)` pairs; [`lookup`] indexes it.
#[rustfmt::skip]
static TABLE: &[(i64, SyscallInfo)] = &[
    (c::SYS_read, emu("read", 3, &[buf(1, Result)])),
    (c::SYS_write, echo("write", 3, Echo::Buf)),
    (c::SYS_open, emu("open", 3, &[])),
    (c::SYS_close, emu("close", 1, &[])),
    (c::SYS_stat, emu("stat", 2, &[buf(1, Fixed(STAT))])),
    (c::SYS_fstat, emu("fstat", 2, &[buf(1, Fixed(STAT))])),
    (c::SYS_lstat, emu("lstat", 2, &[buf(1, Fixed(STAT))])),
    (c::SYS_poll, emu("poll", 3, &[buf(0, ArgTimes(1, 8))])),
    (c::SYS_lseek, emu("lseek", 3, &[])),
    (c::SYS_mmap, sc("mmap", 6, Replay::Mmap, &[])),
    (c::SYS_mprotect, exe("mprotect", 3)),
    (c::SYS_munmap, exe("munmap", 2)),
    (c::SYS_brk, exe("brk", 1)),
    (c::SYS_rt_sigaction, exe("rt_sigaction", 4)),
    (c::SYS_rt_sigprocmask, exe("rt_sigprocmask", 4)),
    (c::SYS_rt_sigreturn, exe("rt_sigreturn", 0)),
    (c::SYS_ioctl, emu("ioctl", 3, &[Out::ByRequest])),
    (c::SYS_pread64, emu("pread64", 4, &[buf(1, Result)])),
    (c::SYS_pwrite64, echo("pwrite64", 4, Echo::Buf)),
    (c::SYS_readv, emu("readv", 3, &[Out::Iov { iov: 1, count: 2 }])),
    (c::SYS_writev, echo("writev", 3, Echo::Iov)),
    (c::SYS_access, emu("access", 2, &[])),
    (c::SYS_pipe, emu("pipe", 1, &[buf(0, Fixed(8))])),
    (c::SYS_select, emu("select", 5, &[buf(1, FdSet(0)), buf(2, FdSet(0)), buf(3, FdSet(0)), buf(4, Fixed(TIMEVAL))])),
    (c::SYS_sched_yield, emu("sched_yield", 0, &[])),
    (c::SYS_mremap, exe("mremap", 5)),
    (c::SYS_msync, emu("msync", 3, &[])),
    // Page residency is data like any other: replay gives the recorded one.
    (c::SYS_mincore, emu("mincore", 3, &[buf(2, Pages(1))])),
    (c::SYS_madvise, exe("madvise", 3)),
    (c::SYS_dup, emu("dup", 1, &[])),
    (c::SYS_dup2, emu("dup2", 2, &[])),
    (c::SYS_pause, emu("pause", 0, &[])),
    (c::SYS_nanosleep, emu("nanosleep", 2, &[buf(1, Fixed(TIMESPEC))])),
    (c::SYS_getitimer, emu("getitimer", 2, &[buf(1, Fixed(ITIMERVAL))])),
    (c::SYS_alarm, emu("alarm", 1, &[])),
    (c::SYS_setitimer, emu("setitimer", 3, &[buf(2, Fixed(ITIMERVAL))])),
    (c::SYS_getpid, emu("getpid", 0, &[])),
    (c::SYS_sendfile, SyscallInfo { name: "sendfile", nargs: 4, replay: Replay::Emulate, outs: &[buf(2, Fixed(8))], echo: Echo::Opaque }),
    (c::SYS_socket, emu("socket", 3, &[])),
    (c::SYS_connect, emu("connect", 3, &[])),
    (c::SYS_accept, emu("accept", 3, &SOCKADDR_OUT)),
    (c::SYS_sendto, emu("sendto", 6, &[])),
    (c::SYS_recvfrom, emu("recvfrom", 6, &[buf(1, Result), buf(4, CapacityAt(5)), buf(5, Fixed(4))])),
    (c::SYS_sendmsg, emu("sendmsg", 3, &[])),
    // The kernel writes each sent message's msg_len into its mmsghdr.
    (c::SYS_sendmmsg, emu("sendmmsg", 4, &[buf(1, ResultTimes(MMSGHDR))])),
    // Read-only uses (modes 0) return the clock's state; the recording
    // makes any adjustment for real, as the program asked.
    (c::SYS_adjtimex, emu("adjtimex", 1, &[buf(0, Fixed(TIMEX))])),
    (c::SYS_clock_adjtime, emu("clock_adjtime", 2, &[buf(1, Fixed(TIMEX))])),
    // The program's own filters run in replay too: what they decide (an
    // error, SIGSYS, death) takes precedence over rback's trace and is
    // the same both times.
    (c::SYS_seccomp, exe("seccomp", 3)),
    (c::SYS_recvmsg, emu("recvmsg", 3, &[Out::MsgHdr { ptr: 1 }])),
    (c::SYS_recvmmsg, emu("recvmmsg", 5, &[Out::MmsgHdrs { ptr: 1 }, buf(4, Fixed(TIMESPEC))])),
    // Process accounting: a file the kernel writes, outside the program.
    (c::SYS_acct, emu("acct", 1, &[])),
    (c::SYS_shutdown, emu("shutdown", 2, &[])),
    (c::SYS_bind, emu("bind", 3, &[])),
    (c::SYS_listen, emu("listen", 2, &[])),
    (c::SYS_getsockname, emu("getsockname", 3, &SOCKADDR_OUT)),
    (c::SYS_getpeername, emu("getpeername", 3, &SOCKADDR_OUT)),
    (c::SYS_socketpair, emu("socketpair", 4, &[buf(3, Fixed(8))])),
    (c::SYS_setsockopt, emu("setsockopt", 5, &[])),
    (c::SYS_getsockopt, emu("getsockopt", 5, &[buf(3, CapacityAt(4)), buf(4, Fixed(4))])),
    (c::SYS_clone, sc("clone", 5, Replay::Clone, &[])),
    (c::SYS_fork, sc("fork", 0, Replay::Clone, &[])),
    (c::SYS_vfork, sc("vfork", 0, Replay::Clone, &[])),
    (c::SYS_execve, sc("execve", 3, Replay::Execve, &[])),
    (c::SYS_exit, exe("exit", 1)),
    (c::SYS_wait4, emu("wait4", 4, &[buf(1, Fixed(4)), buf(3, Fixed(RUSAGE))])),
    (c::SYS_kill, emu("kill", 2, &[])),
    (c::SYS_uname, emu("uname", 1, &[buf(0, Fixed(390))])),
    (c::SYS_fcntl, emu("fcntl", 3, &[Out::ByRequest])),
    (c::SYS_flock, emu("flock", 2, &[])),
    (c::SYS_fsync, emu("fsync", 1, &[])),
    (c::SYS_fdatasync, emu("fdatasync", 1, &[])),
    (c::SYS_truncate, emu("truncate", 2, &[])),
    (c::SYS_ftruncate, emu("ftruncate", 2, &[])),
    (c::SYS_getdents, emu("getdents", 3, &[buf(1, Result)])),
    (c::SYS_getcwd, emu("getcwd", 2, &[buf(0, Result)])),
    (c::SYS_chdir, emu("chdir", 1, &[])),
    (c::SYS_fchdir, emu("fchdir", 1, &[])),
    (c::SYS_rename, emu("rename", 2, &[])),
    (c::SYS_mkdir, emu("mkdir", 2, &[])),
    (c::SYS_rmdir, emu("rmdir", 1, &[])),
    (c::SYS_creat, emu("creat", 2, &[])),
    (c::SYS_link, emu("link", 2, &[])),
    (c::SYS_unlink, emu("unlink", 1, &[])),
    (c::SYS_symlink, emu("symlink", 2, &[])),
    (c::SYS_readlink, emu("readlink", 3, &[buf(1, Result)])),
    (c::SYS_chmod, emu("chmod", 2, &[])),
    (c::SYS_fchmod, emu("fchmod", 2, &[])),
    (c::SYS_chown, emu("chown", 3, &[])),
    (c::SYS_fchown, emu("fchown", 3, &[])),
    (c::SYS_lchown, emu("lchown", 3, &[])),
    (c::SYS_umask, emu("umask", 1, &[])),
    (c::SYS_gettimeofday, emu("gettimeofday", 2, &[buf(0, Fixed(TIMEVAL)), buf(1, Fixed(8))])),
    (c::SYS_getrlimit, emu("getrlimit", 2, &[buf(1, Fixed(RLIMIT))])),
    (c::SYS_getrusage, emu("getrusage", 2, &[buf(1, Fixed(RUSAGE))])),
    (c::SYS_sysinfo, emu("sysinfo", 1, &[buf(0, Fixed(112))])),
    (c::SYS_times, emu("times", 1, &[buf(0, Fixed(32))])),
    (c::SYS_getuid, emu("getuid", 0, &[])),
    (c::SYS_getgid, emu("getgid", 0, &[])),
    (c::SYS_setuid, emu("setuid", 1, &[])),
    (c::SYS_setgid, emu("setgid", 1, &[])),
    (c::SYS_geteuid, emu("geteuid", 0, &[])),
    (c::SYS_getegid, emu("getegid", 0, &[])),
    (c::SYS_setpgid, emu("setpgid", 2, &[])),
    (c::SYS_getppid, emu("getppid", 0, &[])),
    (c::SYS_getpgrp, emu("getpgrp", 0, &[])),
    (c::SYS_setsid, emu("setsid", 0, &[])),
    (c::SYS_setreuid, emu("setreuid", 2, &[])),
    (c::SYS_setregid, emu("setregid", 2, &[])),
    (c::SYS_getgroups, emu("getgroups", 2, &[buf(1, ResultTimes(4))])),
    (c::SYS_setgroups, emu("setgroups", 2, &[])),
    (c::SYS_setresuid, emu("setresuid", 3, &[])),
    (c::SYS_getresuid, emu("getresuid", 3, &[buf(0, Fixed(4)), buf(1, Fixed(4)), buf(2, Fixed(4))])),
    (c::SYS_setresgid, emu("setresgid", 3, &[])),
    (c::SYS_getresgid, emu("getresgid", 3, &[buf(0, Fixed(4)), buf(1, Fixed(4)), buf(2, Fixed(4))])),
    (c::SYS_getpgid, emu("getpgid", 1, &[])),
    (c::SYS_getsid, emu("getsid", 1, &[])),
    // The kernel writes the header too (its version, when asked).
    (c::SYS_capget, emu("capget", 2, &[buf(0, Fixed(8)), buf(1, Fixed(24))])),
    (c::SYS_rt_sigpending, emu("rt_sigpending", 2, &[buf(0, Arg(1))])),
    (c::SYS_rt_sigtimedwait, emu("rt_sigtimedwait", 4, &[buf(1, Fixed(128))])),
    (c::SYS_rt_sigsuspend, sc("rt_sigsuspend", 2, Replay::ExecuteUntilSignal, &[])),
    (c::SYS_sigaltstack, exe("sigaltstack", 2)),
    (c::SYS_utime, emu("utime", 2, &[])),
    (c::SYS_personality, emu("personality", 1, &[])),
    (c::SYS_statfs, emu("statfs", 2, &[buf(1, Fixed(STATFS))])),
    (c::SYS_fstatfs, emu("fstatfs", 2, &[buf(1, Fixed(STATFS))])),
    (c::SYS_getpriority, emu("getpriority", 2, &[])),
    (c::SYS_setpriority, emu("setpriority", 3, &[])),
    (c::SYS_sched_getparam, emu("sched_getparam", 2, &[buf(1, Fixed(4))])),
    (c::SYS_sched_setscheduler, emu("sched_setscheduler", 3, &[])),
    (c::SYS_sched_getscheduler, emu("sched_getscheduler", 1, &[])),
    (c::SYS_sched_get_priority_max, emu("sched_get_priority_max", 1, &[])),
    (c::SYS_sched_get_priority_min, emu("sched_get_priority_min", 1, &[])),
    // Locked pages change what madvise can do to them (it fails, having
    // done part of its work), so replay locks them too.
    (c::SYS_mlock, exe("mlock", 2)),
    (c::SYS_munlock, exe("munlock", 2)),
    (c::SYS_mlockall, exe("mlockall", 1)),
    (c::SYS_munlockall, exe("munlockall", 0)),
    (c::SYS_prctl, emu("prctl", 2, &[Out::ByRequest])),
    (c::SYS_arch_prctl, exe("arch_prctl", 2)),
    (c::SYS_setrlimit, emu("setrlimit", 2, &[])),
    (c::SYS_sync, emu("sync", 0, &[])),
    (c::SYS_gettid, emu("gettid", 0, &[])),
    (c::SYS_tkill, emu("tkill", 2, &[])),
    (c::SYS_time, emu("time", 1, &[buf(0, Fixed(8))])),
    (c::SYS_futex, emu("futex", 3, &[])),
    (c::SYS_sched_setaffinity, sc("sched_setaffinity", 3, Replay::Fake(0), &[])),
    (c::SYS_sched_getaffinity, emu("sched_getaffinity", 3, &[buf(2, Result)])),
    (c::SYS_epoll_create, emu("epoll_create", 1, &[])),
    (c::SYS_getdents64, emu("getdents64", 3, &[buf(1, Result)])),
    (c::SYS_set_tid_address, emu("set_tid_address", 1, &[])),
    (c::SYS_restart_syscall, emu("restart_syscall", 0, &[])),
    (c::SYS_fadvise64, emu("fadvise64", 4, &[])),
    // POSIX timers: their signals come as asynchronous signals, recorded
    // where they land; replay never arms a timer.
    (c::SYS_timer_create, emu("timer_create", 3, &[buf(2, Fixed(4))])),
    (c::SYS_timer_settime, emu("timer_settime", 4, &[buf(3, Fixed(ITIMERSPEC))])),
    (c::SYS_timer_gettime, emu("timer_gettime", 2, &[buf(1, Fixed(ITIMERSPEC))])),
    (c::SYS_timer_getoverrun, emu("timer_getoverrun", 1, &[])),
    (c::SYS_timer_delete, emu("timer_delete", 1, &[])),
    // Signals read from a signalfd are read()s, emulated like any other.
    (c::SYS_signalfd, emu("signalfd", 3, &[])),
    (c::SYS_signalfd4, emu("signalfd4", 4, &[])),
    (c::SYS_rt_sigqueueinfo, emu("rt_sigqueueinfo", 3, &[])),
    (c::SYS_rt_tgsigqueueinfo, emu("rt_tgsigqueueinfo", 4, &[])),
    (c::SYS_kcmp, emu("kcmp", 5, &[])),
    (c::SYS_process_vm_readv, emu("process_vm_readv", 6, &[Out::Iov { iov: 1, count: 2 }])),
    (c::SYS_process_vm_writev, emu("process_vm_writev", 6, &[])),
    // POSIX message queues: descriptors like any other, contents recorded.
    (c::SYS_mq_open, emu("mq_open", 4, &[])),
    (c::SYS_mq_unlink, emu("mq_unlink", 1, &[])),
    (c::SYS_mq_timedsend, emu("mq_timedsend", 5, &[])),
    (c::SYS_mq_timedreceive, emu("mq_timedreceive", 5, &[buf(1, Result), buf(3, Fixed(4))])),
    (c::SYS_mq_notify, emu("mq_notify", 2, &[])),
    (c::SYS_mq_getsetattr, emu("mq_getsetattr", 3, &[buf(2, Fixed(MQ_ATTR))])),
    // System V shared memory: an attached segment is mapped memory whose
    // contents at the attach are recorded (see `Replay::ShmAttach`).
    (c::SYS_shmget, emu("shmget", 3, &[])),
    (c::SYS_shmat, sc("shmat", 3, Replay::ShmAttach, &[])),
    (c::SYS_shmdt, sc("shmdt", 1, Replay::ShmDetach, &[])),
    (c::SYS_shmctl, emu("shmctl", 3, &[Out::ByRequest])),
    // System V message queues and semaphores.
    (c::SYS_msgget, emu("msgget", 3, &[])),
    (c::SYS_msgsnd, emu("msgsnd", 4, &[])),
    (c::SYS_msgrcv, emu("msgrcv", 5, &[buf(1, ResultPlus(8))])),
    (c::SYS_msgctl, emu("msgctl", 3, &[Out::ByRequest])),
    (c::SYS_semctl, emu("semctl", 4, &[Out::ByRequest])),
    (c::SYS_semget, emu("semget", 3, &[])),
    (c::SYS_semop, emu("semop", 3, &[])),
    (c::SYS_semtimedop, emu("semtimedop", 4, &[])),
    (c::SYS_clock_gettime, emu("clock_gettime", 2, &[buf(1, Fixed(TIMESPEC))])),
    (c::SYS_clock_getres, emu("clock_getres", 2, &[buf(1, Fixed(TIMESPEC))])),
    (c::SYS_clock_settime, emu("clock_settime", 2, &[])),
    (c::SYS_settimeofday, emu("settimeofday", 2, &[])),
    (c::SYS_clock_nanosleep, emu("clock_nanosleep", 4, &[buf(3, Fixed(TIMESPEC))])),
    (c::SYS_exit_group, exe("exit_group", 1)),
    (c::SYS_epoll_wait, emu("epoll_wait", 4, &[buf(1, ResultTimes(12))])),
    (c::SYS_epoll_ctl, emu("epoll_ctl", 4, &[])),
    (c::SYS_tgkill, emu("tgkill", 3, &[])),
    (c::SYS_utimes, emu("utimes", 2, &[])),
    (c::SYS_inotify_add_watch, emu("inotify_add_watch", 3, &[])),
    (c::SYS_inotify_rm_watch, emu("inotify_rm_watch", 2, &[])),
    (c::SYS_openat, emu("openat", 4, &[])),
    (c::SYS_mkdirat, emu("mkdirat", 3, &[])),
    (c::SYS_mknodat, emu("mknodat", 4, &[])),
    (c::SYS_fchownat, emu("fchownat", 5, &[])),
    (c::SYS_newfstatat, emu("newfstatat", 4, &[buf(2, Fixed(STAT))])),
    (c::SYS_unlinkat, emu("unlinkat", 3, &[])),
    (c::SYS_renameat, emu("renameat", 4, &[])),
    (c::SYS_linkat, emu("linkat", 5, &[])),
    (c::SYS_symlinkat, emu("symlinkat", 3, &[])),
    (c::SYS_readlinkat, emu("readlinkat", 4, &[buf(2, Result)])),
    (c::SYS_fchmodat, emu("fchmodat", 3, &[])),
    (c::SYS_fchmodat2, emu("fchmodat2", 4, &[])),
    (c::SYS_faccessat, emu("faccessat", 3, &[])),
    (c::SYS_pselect6, emu("pselect6", 6, &[buf(1, FdSet(0)), buf(2, FdSet(0)), buf(3, FdSet(0)), buf(4, Fixed(TIMESPEC))])),
    (c::SYS_ppoll, emu("ppoll", 4, &[buf(0, ArgTimes(1, 8)), buf(2, Fixed(TIMESPEC))])),
    (c::SYS_set_robust_list, emu("set_robust_list", 2, &[])),
    (c::SYS_get_robust_list, emu("get_robust_list", 3, &[buf(1, Fixed(8)), buf(2, Fixed(8))])),
    (c::SYS_sched_setparam, emu("sched_setparam", 2, &[])),
    (c::SYS_sched_setattr, emu("sched_setattr", 3, &[])),
    (c::SYS_capset, emu("capset", 2, &[])),
    // The kernel log: what it read is the program's input.
    (c::SYS_syslog, emu("syslog", 3, &[buf(1, Result)])),
    (c::SYS_quotactl, emu("quotactl", 4, &[])),
    // NUMA placement of memory: replay places its memory where it may.
    (c::SYS_mbind, emu("mbind", 6, &[])),
    (c::SYS_set_mempolicy, emu("set_mempolicy", 3, &[])),
    // The node mask is `maxnode` bits, in longs, like an fd_set.
    (c::SYS_get_mempolicy, emu("get_mempolicy", 5, &[buf(0, Fixed(4)), buf(1, FdSet(2))])),
    (c::SYS_perf_event_open, unsupported("perf_event_open", "performance counters read the machine, which replay cannot give back")),
    (c::SYS_bpf, unsupported("bpf", "what bpf reads and writes depends on its command, which rback does not decode")),
    (c::SYS_splice, SyscallInfo { name: "splice", nargs: 6, replay: Replay::Emulate, outs: &[buf(1, Fixed(8)), buf(3, Fixed(8))], echo: Echo::Opaque }),
    (c::SYS_utimensat, emu("utimensat", 4, &[])),
    (c::SYS_epoll_pwait, emu("epoll_pwait", 6, &[buf(1, ResultTimes(12))])),
    (c::SYS_timerfd_create, emu("timerfd_create", 2, &[])),
    (c::SYS_eventfd, emu("eventfd", 1, &[])),
    (c::SYS_fallocate, emu("fallocate", 4, &[])),
    (c::SYS_timerfd_settime, emu("timerfd_settime", 4, &[buf(3, Fixed(ITIMERSPEC))])),
    (c::SYS_timerfd_gettime, emu("timerfd_gettime", 2, &[buf(1, Fixed(ITIMERSPEC))])),
    (c::SYS_accept4, emu("accept4", 4, &SOCKADDR_OUT)),
    (c::SYS_eventfd2, emu("eventfd2", 2, &[])),
    (c::SYS_epoll_create1, emu("epoll_create1", 1, &[])),
    (c::SYS_dup3, emu("dup3", 3, &[])),
    (c::SYS_pipe2, emu("pipe2", 2, &[buf(0, Fixed(8))])),
    (c::SYS_inotify_init1, emu("inotify_init1", 1, &[])),
    (c::SYS_preadv, emu("preadv", 4, &[Out::Iov { iov: 1, count: 2 }])),
    (c::SYS_pwritev, echo("pwritev", 4, Echo::Iov)),
    (c::SYS_prlimit64, emu("prlimit64", 4, &[buf(3, Fixed(RLIMIT))])),
    (c::SYS_syncfs, emu("syncfs", 1, &[])),
    (c::SYS_getcpu, emu("getcpu", 3, &[buf(0, Fixed(4)), buf(1, Fixed(4))])),
    (c::SYS_renameat2, emu("renameat2", 5, &[])),
    (c::SYS_getrandom, emu("getrandom", 3, &[buf(0, Result)])),
    (c::SYS_memfd_create, emu("memfd_create", 2, &[])),
    (c::SYS_execveat, sc("execveat", 5, Replay::Execve, &[])),
    (c::SYS_membarrier, emu("membarrier", 3, &[])),
    (c::SYS_copy_file_range, SyscallInfo { name: "copy_file_range", nargs: 6, replay: Replay::Emulate, outs: &[buf(1, Fixed(8)), buf(3, Fixed(8))], echo: Echo::Opaque }),
    (c::SYS_statx, emu("statx", 5, &[buf(4, Fixed(256))])),
    (c::SYS_rseq, emu("rseq", 4, &[])),
    (c::SYS_io_uring_setup, unsupported("io_uring_setup", "io_uring is not supported: the kernel works on the tracee's memory behind rback's back")),
    (c::SYS_clone3, sc("clone3", 2, Replay::Clone, &[])),
    (c::SYS_close_range, emu("close_range", 3, &[])),
    (c::SYS_openat2, emu("openat2", 4, &[])),
    (c::SYS_pidfd_open, emu("pidfd_open", 2, &[])),
    (c::SYS_pidfd_send_signal, emu("pidfd_send_signal", 4, &[])),
    (c::SYS_pidfd_getfd, emu("pidfd_getfd", 3, &[])),
    // New namespaces change how the world looks to the program, and replay
    // does not look at the world: what the program saw is recorded.
    (c::SYS_unshare, emu("unshare", 1, &[])),
    // The new mount API and Landlock change what the program may reach
    // in the world, which replay does not look at.
    (c::SYS_open_tree, emu("open_tree", 3, &[])),
    (c::SYS_move_mount, emu("move_mount", 5, &[])),
    (c::SYS_fsopen, emu("fsopen", 2, &[])),
    (c::SYS_fsconfig, emu("fsconfig", 5, &[])),
    (c::SYS_fsmount, emu("fsmount", 3, &[])),
    (c::SYS_fspick, emu("fspick", 3, &[])),
    (c::SYS_mount_setattr, emu("mount_setattr", 5, &[])),
    (c::SYS_landlock_create_ruleset, emu("landlock_create_ruleset", 3, &[])),
    (c::SYS_landlock_add_rule, emu("landlock_add_rule", 4, &[])),
    (c::SYS_landlock_restrict_self, emu("landlock_restrict_self", 2, &[])),
    (c::SYS_add_key, emu("add_key", 5, &[])),
    (c::SYS_request_key, emu("request_key", 4, &[])),
    (c::SYS_keyctl, unsupported("keyctl", "what keyctl writes depends on its command, which rback does not decode yet")),
    (c::SYS_ptrace, unsupported("ptrace", "rback traces the program, and a tracee cannot trace another process")),
    (c::SYS_setns, emu("setns", 2, &[])),
    (c::SYS_faccessat2, emu("faccessat2", 4, &[])),
    (c::SYS_epoll_pwait2, emu("epoll_pwait2", 6, &[buf(1, ResultTimes(12))])),
    (c::SYS_setxattr, emu("setxattr", 5, &[])),
    (c::SYS_lsetxattr, emu("lsetxattr", 5, &[])),
    (c::SYS_fsetxattr, emu("fsetxattr", 5, &[])),
    (c::SYS_getxattr, emu("getxattr", 4, &[buf(2, Result)])),
    (c::SYS_lgetxattr, emu("lgetxattr", 4, &[buf(2, Result)])),
    (c::SYS_fgetxattr, emu("fgetxattr", 4, &[buf(2, Result)])),
    (c::SYS_listxattr, emu("listxattr", 3, &[buf(1, Result)])),
    (c::SYS_llistxattr, emu("llistxattr", 3, &[buf(1, Result)])),
    (c::SYS_flistxattr, emu("flistxattr", 3, &[buf(1, Result)])),
    (c::SYS_removexattr, emu("removexattr", 2, &[])),
    (c::SYS_lremovexattr, emu("lremovexattr", 2, &[])),
    (c::SYS_fremovexattr, emu("fremovexattr", 2, &[])),
    (c::SYS_waitid, emu("waitid", 5, &[buf(2, Fixed(128)), buf(4, Fixed(RUSAGE))])),
    (c::SYS_readahead, emu("readahead", 3, &[])),
    (c::SYS_sync_file_range, emu("sync_file_range", 4, &[])),
    (c::SYS_inotify_init, emu("inotify_init", 0, &[])),
    (c::SYS_sched_getattr, emu("sched_getattr", 4, &[buf(1, Arg(2))])),
    (c::SYS_mlock2, exe("mlock2", 3)),
    (c::SYS_ioprio_get, emu("ioprio_get", 2, &[])),
    (c::SYS_ioprio_set, emu("ioprio_set", 3, &[])),
];

/// Looks a syscall up by number. `None` means rback does not know it.
pub fn lookup(nr: i64) -> Option<&'static SyscallInfo> {
    static INDEX: std::sync::OnceLock<Vec<Option<usize>>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let max = TABLE.iter().map(|(n, _)| *n).max().unwrap_or(0) as usize;
        let mut v = vec![None; max + 1];
        for (i, (n, _)) in TABLE.iter().enumerate() {
            v[*n as usize] = Some(i);
        }
        v
    });
    if is_not_a_syscall(nr) {
        return Some(&NOT_A_SYSCALL);
    }
    let i = usize::try_from(nr).ok()?;
    index.get(i).copied().flatten().map(|i| &TABLE[i].1)
}

/// A number that names no syscall on x86-64 (negative, or past the table
/// and below the x32 range): the kernel does nothing and returns ENOSYS,
/// so the call is made in recording and replay alike, as a program that
/// probes for a syscall expects.
static NOT_A_SYSCALL: SyscallInfo = sc("no such syscall", 6, Replay::Execute, &[]);

fn is_not_a_syscall(nr: i64) -> bool {
    // 512-547 are x32 calls, reachable only with the x32 bit (0x40000000),
    // which rback refuses; without it they too are ENOSYS on x86-64.
    const FIRST_UNUSED: i64 = 512;
    const X32_BIT: i64 = 0x4000_0000;
    nr < 0 || (FIRST_UNUSED..X32_BIT).contains(&nr)
}

/// A printable name for any syscall number, known or not.
pub fn name(nr: i64) -> String {
    match lookup(nr) {
        Some(info) => info.name.to_string(),
        None => format!("syscall_{nr}"),
    }
}

/// What an `ioctl`, `fcntl` or `prctl` request writes, or why it is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestOut {
    /// Writes `len` bytes at argument `ptr` on success (0 bytes: nothing).
    Buf {
        ptr: usize,
        len: usize,
    },
    Unsupported(String),
    /// Must not reach the kernel at all; returns this.
    Fake(i64),
    /// Writes nothing, but changes what the kernel does with the program's
    /// later calls (its own seccomp filter): replay makes it again.
    MadeAgain,
    /// `semctl(GETALL)`: writes one `unsigned short` per semaphore of set
    /// `semid` at argument `ptr`, a count the call does not say (the
    /// recorder asks the kernel).
    SemaphoreValues {
        ptr: usize,
        semid: i32,
    },
}

// ioctl requests from before the _IOC encoding, which the libc crate lacks
// on this target (<asm-generic/ioctls.h>, <linux/vt.h>, <linux/kd.h>,
// <linux/fs.h>, <linux/sockios.h>): their outputs have no encoded size.
const TCGETA: u64 = 0x5405;
const TIOCMGET: u64 = 0x5415;
const TIOCGSOFTCAR: u64 = 0x5419;
const TIOCGSERIAL: u64 = 0x541e;
const TIOCGETD: u64 = 0x5424;
const TIOCGRS485: u64 = 0x542e;
const TIOCGLCKTRMIOS: u64 = 0x5456;
const TIOCSERGETLSR: u64 = 0x5459;
const TIOCGICOUNT: u64 = 0x545d;
const VT_OPENQRY: u64 = 0x5600;
const VT_GETMODE: u64 = 0x5601;
const VT_GETSTATE: u64 = 0x5603;
const KDGETLED: u64 = 0x4b31;
const KDGKBTYPE: u64 = 0x4b33;
const KDGETMODE: u64 = 0x4b3b;
const KDGKBMODE: u64 = 0x4b44;
const KDGKBLED: u64 = 0x4b64;
const FIBMAP: u64 = 1;
const FIGETBSZ: u64 = 2;
const BLKROGET: u64 = 0x125e;
const BLKGETSIZE: u64 = 0x1260;
const BLKRAGET: u64 = 0x1263;
const BLKSSZGET: u64 = 0x1268;
const FIOGETOWN: u64 = 0x8903;
const SIOCGPGRP: u64 = 0x8904;
const SIOCATMARK: u64 = 0x8905;
const SIOCGSTAMP: u64 = 0x8906;
const SIOCGIFNAME: u64 = 0x8910;
const SIOCGIFCONF: u64 = 0x8912;
const SIOCGIFCOUNT: u64 = 0x8938;
const IFREQ: usize = std::mem::size_of::<c::ifreq>();

// fcntl commands the libc crate lacks on this target (<asm-generic/fcntl.h>).
const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;
const F_SETOWN_EX: i32 = 15;
const F_GETOWN_EX: i32 = 16;
const F_GET_RW_HINT: i32 = 1035;
const F_GET_FILE_RW_HINT: i32 = 1037;

/// Decodes a request-code syscall. A request rback has not been taught is
/// made and recorded conservatively, as its caller would expect from a
/// debugger rather than a refusal: an ioctl whose code states a direction
/// and size (the `_IOR`/`_IOWR` encoding) gets that buffer recorded, any
/// other unknown request its return value only. If such a request did
/// write memory, replay's checks (the program's output, the registers and
/// arguments at each event) catch what follows from the difference.
pub fn request_out(nr: i64, args: &[u64; 6]) -> RequestOut {
    let none = RequestOut::Buf { ptr: 2, len: 0 };
    match nr {
        c::SYS_ioctl => {
            let req = args[1] as u32;
            match req as u64 {
                c::TCGETS | TIOCGLCKTRMIOS => RequestOut::Buf { ptr: 2, len: 36 },
                c::TIOCGWINSZ => RequestOut::Buf { ptr: 2, len: 8 },
                c::TIOCGPGRP
                | c::FIONREAD
                | c::TIOCGSID
                | c::TIOCOUTQ
                | TIOCGETD
                | TIOCMGET
                | TIOCGSOFTCAR
                | TIOCSERGETLSR
                | VT_OPENQRY
                | KDGETMODE
                | KDGKBMODE
                | FIGETBSZ
                | FIBMAP
                | BLKSSZGET
                | BLKROGET
                | SIOCATMARK
                | FIOGETOWN
                | SIOCGPGRP => RequestOut::Buf { ptr: 2, len: 4 },
                KDGKBTYPE | KDGETLED | KDGKBLED => RequestOut::Buf { ptr: 2, len: 1 },
                VT_GETSTATE => RequestOut::Buf { ptr: 2, len: 6 },
                VT_GETMODE | BLKGETSIZE | BLKRAGET => RequestOut::Buf { ptr: 2, len: 8 },
                TCGETA => RequestOut::Buf { ptr: 2, len: 18 },
                SIOCGSTAMP => RequestOut::Buf { ptr: 2, len: 16 },
                TIOCGRS485 => RequestOut::Buf { ptr: 2, len: 32 },
                TIOCGSERIAL => RequestOut::Buf { ptr: 2, len: 72 },
                TIOCGICOUNT => RequestOut::Buf { ptr: 2, len: 80 },
                // struct ifreq: a name, then a union of what the request asks.
                SIOCGIFNAME..=SIOCGIFCOUNT if req as u64 != SIOCGIFCONF => RequestOut::Buf { ptr: 2, len: IFREQ },
                c::TCSETS
                | c::TCSETSW
                | c::TCSETSF
                | c::TIOCSWINSZ
                | c::TIOCSPGRP
                | c::FIONBIO
                | c::FIOCLEX
                | c::FIONCLEX
                | c::TCFLSH
                | c::TCSBRK
                | c::TCXONC
                | c::TIOCSCTTY
                | c::TIOCNOTTY
                | c::FIOASYNC => none,
                _ => {
                    // _IOC layout: dir (2 bits) << 30 | size (14 bits) << 16 | type << 8 | nr.
                    let dir = req >> 30;
                    let size = ((req >> 16) & 0x3fff) as usize;
                    const IOC_READ: u32 = 2;
                    if dir & IOC_READ != 0 && size > 0 {
                        RequestOut::Buf { ptr: 2, len: size }
                    } else {
                        // _IOW: the kernel only reads from the tracee; _IO
                        // (and old codes with no encoding): the result only.
                        none
                    }
                }
            }
        }
        c::SYS_fcntl => match args[1] as i32 {
            c::F_GETLK | c::F_OFD_GETLK => RequestOut::Buf { ptr: 2, len: 32 },
            F_GETOWN_EX | F_GET_RW_HINT | F_GET_FILE_RW_HINT => RequestOut::Buf { ptr: 2, len: 8 },
            c::F_DUPFD
            | c::F_DUPFD_CLOEXEC
            | c::F_GETFD
            | c::F_SETFD
            | c::F_GETFL
            | c::F_SETFL
            | c::F_SETLK
            | c::F_SETLKW
            | c::F_OFD_SETLK
            | c::F_OFD_SETLKW
            | c::F_SETOWN
            | c::F_GETOWN
            | F_SETSIG
            | F_GETSIG
            | F_SETOWN_EX
            | c::F_SETPIPE_SZ
            | c::F_GETPIPE_SZ
            | c::F_ADD_SEALS
            | c::F_GET_SEALS
            | c::F_SETLEASE
            | c::F_GETLEASE
            | c::F_NOTIFY => none,
            _ => none,
        },
        c::SYS_prctl => match args[0] as i32 {
            c::PR_GET_NAME => RequestOut::Buf { ptr: 1, len: 16 },
            c::PR_GET_PDEATHSIG | c::PR_GET_TSC | c::PR_GET_CHILD_SUBREAPER => RequestOut::Buf { ptr: 1, len: 4 },
            // The tracee must not switch rdtsc trapping off, nor install a
            // filter of its own in front of rback's.
            c::PR_SET_TSC => RequestOut::Fake(-(c::EPERM as i64)),
            // The program's own filter goes after rback's, as through the
            // `seccomp` syscall.
            c::PR_SET_SECCOMP if args[1] == c::SECCOMP_MODE_FILTER as u64 => RequestOut::MadeAgain,
            // Strict mode would kill the calls rback makes in the program.
            c::PR_SET_SECCOMP => RequestOut::Unsupported("seccomp's strict mode (prctl(PR_SET_SECCOMP, 1))".into()),
            c::PR_SET_MM => RequestOut::Unsupported("prctl(PR_SET_MM)".into()),
            c::PR_SET_NAME
            | c::PR_SET_PDEATHSIG
            | c::PR_GET_DUMPABLE
            | c::PR_SET_DUMPABLE
            | c::PR_GET_KEEPCAPS
            | c::PR_SET_KEEPCAPS
            | c::PR_SET_NO_NEW_PRIVS
            | c::PR_GET_NO_NEW_PRIVS
            | c::PR_CAPBSET_READ
            | c::PR_SET_CHILD_SUBREAPER
            | c::PR_SET_TIMERSLACK
            | c::PR_GET_TIMERSLACK
            | c::PR_CAP_AMBIENT
            | c::PR_SET_THP_DISABLE
            | c::PR_GET_THP_DISABLE
            | c::PR_GET_SPECULATION_CTRL
            | c::PR_SET_SPECULATION_CTRL
            | c::PR_SET_PTRACER
            | c::PR_SET_VMA
            | c::PR_GET_SECUREBITS
            | c::PR_SET_SECUREBITS => RequestOut::Buf { ptr: 1, len: 0 },
            _ => RequestOut::Buf { ptr: 1, len: 0 },
        },
        // The command may carry IPC_64 (0x100), which glibc always sets.
        c::SYS_msgctl => match args[1] as i32 & 0xff {
            c::IPC_STAT | MSG_STAT | MSG_STAT_ANY => RequestOut::Buf { ptr: 2, len: MSQID_DS },
            c::IPC_INFO | MSG_INFO => RequestOut::Buf { ptr: 2, len: MSGINFO },
            _ => RequestOut::Buf { ptr: 2, len: 0 },
        },
        c::SYS_shmctl => match args[1] as i32 & 0xff {
            c::IPC_STAT | SHM_STAT | SHM_STAT_ANY => RequestOut::Buf { ptr: 2, len: SHMID_DS },
            c::IPC_INFO => RequestOut::Buf { ptr: 2, len: SHMINFO },
            SHM_INFO => RequestOut::Buf {
                ptr: 2,
                len: SHM_INFO_LEN,
            },
            _ => RequestOut::Buf { ptr: 2, len: 0 },
        },
        c::SYS_semctl => match args[2] as i32 & 0xff {
            c::IPC_STAT | SEM_STAT | SEM_STAT_ANY => RequestOut::Buf { ptr: 3, len: SEMID_DS },
            c::IPC_INFO | SEM_INFO => RequestOut::Buf { ptr: 3, len: SEMINFO },
            // The array's length is the set's size, which the call does not say.
            GETALL => RequestOut::SemaphoreValues {
                ptr: 3,
                semid: args[0] as i32,
            },
            _ => RequestOut::Buf { ptr: 3, len: 0 },
        },
        _ => RequestOut::Unsupported(format!("request syscall {nr}")),
    }
}

// System V IPC commands and struct sizes on x86-64 (<linux/msg.h>,
// <linux/sem.h>), which the libc crate lacks.
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;
const SHMID_DS: usize = std::mem::size_of::<c::shmid_ds>();
/// `struct shminfo`: five unsigned longs and four reserved ones.
const SHMINFO: usize = 9 * 8;
/// `struct shm_info`: an int (padded to 8), then five unsigned longs.
const SHM_INFO_LEN: usize = 8 + 5 * 8;
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;
const GETALL: i32 = 13;
const MSQID_DS: usize = 120;
const MSGINFO: usize = 32;
const SEMID_DS: usize = 104;
const SEMINFO: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicate_numbers() {
        let mut seen = std::collections::HashSet::new();
        for (nr, info) in TABLE {
            assert!(seen.insert(*nr), "syscall {} ({nr}) listed twice", info.name);
        }
    }

    #[test]
    fn names_match_libc_numbers() {
        assert_eq!(lookup(0).unwrap().name, "read");
        assert_eq!(lookup(59).unwrap().name, "execve");
        assert_eq!(lookup(318).unwrap().name, "getrandom");
        // Numbers that name no syscall are made and return ENOSYS; a number
        // in the table's range that rback does not know is refused, and so
        // is the x32 range.
        assert_eq!(lookup(100_000).unwrap().replay, Replay::Execute);
        assert_eq!(lookup(-1).unwrap().replay, Replay::Execute);
        assert!(lookup(0x4000_0000).is_none());
        assert_eq!(name(9999), "no such syscall");
        let unknown_in_range = (0..512).find(|&n| TABLE.iter().all(|(t, _)| *t != n)).unwrap();
        assert!(lookup(unknown_in_range).is_none());
        assert_eq!(name(unknown_in_range), format!("syscall_{unknown_in_range}"));
    }

    #[test]
    fn ioctl_decoding() {
        let mut args = [0u64; 6];
        args[1] = c::TIOCGWINSZ;
        assert_eq!(request_out(c::SYS_ioctl, &args), RequestOut::Buf { ptr: 2, len: 8 });
        // _IOR('T', 0x30, unsigned int) = TIOCGPTN: direction and size from the code.
        args[1] = 0x8004_5430;
        assert_eq!(request_out(c::SYS_ioctl, &args), RequestOut::Buf { ptr: 2, len: 4 });
        // An unknown code with no encoding: made, its result recorded.
        args[1] = 0x5499;
        assert_eq!(request_out(c::SYS_ioctl, &args), RequestOut::Buf { ptr: 2, len: 0 });
    }

    #[test]
    fn a_seccomp_filter_through_prctl_is_made_again_and_strict_mode_refused() {
        let mut args = [c::PR_SET_SECCOMP as u64, c::SECCOMP_MODE_FILTER as u64, 0x1000, 0, 0, 0];
        assert_eq!(request_out(c::SYS_prctl, &args), RequestOut::MadeAgain);
        args[1] = c::SECCOMP_MODE_STRICT as u64;
        assert!(matches!(request_out(c::SYS_prctl, &args), RequestOut::Unsupported(_)));
    }

    #[test]
    fn prctl_set_tsc_is_refused_without_reaching_the_kernel() {
        let args = [c::PR_SET_TSC as u64, 1, 0, 0, 0, 0];
        assert_eq!(request_out(c::SYS_prctl, &args), RequestOut::Fake(-(c::EPERM as i64)));
    }
}
