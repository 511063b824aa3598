//! One traced process: its stops, registers and memory, and running system
//! calls inside it on rback's behalf.
//!
//! Every tracee gets the *rback page*: one page mapped at [`RBACK_PAGE`] right
//! after each exec, holding a `syscall; int3` sequence. The seccomp filter
//! lets syscalls made from that page through untraced, so rback can make the
//! tracee call `mmap`, `openat` or `clone` at any stop without those calls
//! turning into events. The page also holds the syscall buffer's gadget
//! (`syscallbuf`), which only the recording's filter lets through. The page
//! exists identically in recording and replay, so it never perturbs the
//! address-space layout between the two.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::kernel::SYSCALL_INSN_LEN;
use crate::sys::{self, SiginfoBytes};
use crate::trace::{ExitStatus, Registers};
use crate::{Error, RemoteAddr, Result};

pub type Regs = libc::user_regs_struct;

/// Where the rback page lives: far below the top-down mmap area and far above
/// any heap, so neither ever grows into it.
pub const RBACK_PAGE: RemoteAddr = RemoteAddr(crate::syscallbuf::layout::RBACK_PAGE_ADDR);
/// The code in the rback page, by the names the debugger shows for it (a
/// program stopped at a buffered syscall is in the gadget), as offsets
/// into the page.
pub const RBACK_PAGE_CODE: [(u64, u64, &str); 3] = {
    use crate::syscallbuf::layout::{GADGET_OFFSET, RUN_GADGET_OFFSET};
    [
        (0, GADGET_OFFSET, "rback_injected_syscall"),
        (GADGET_OFFSET, RUN_GADGET_OFFSET, "rback_buffered_syscall"),
        (RUN_GADGET_OFFSET, RUN_GADGET_OFFSET + 16, "rback_unrecorded_syscall"),
    ]
};
/// `syscall; int3`: an injected call stops at the int3 right after it.
const PAGE_CODE: [u8; 3] = [0x0f, 0x05, 0xcc];
/// Scratch space in the page for strings passed to injected calls.
const PAGE_SCRATCH: u64 = 64;

/// Why a tracee stopped (or ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Syscall entry reported by the seccomp filter (`PTRACE_EVENT_SECCOMP`).
    Seccomp,
    /// Syscall exit after a resume with `PTRACE_SYSCALL`.
    SyscallExit,
    /// `execve` replaced the program (`PTRACE_EVENT_EXEC`).
    Exec,
    /// A signal is about to be delivered.
    Signal(i32),
    /// `PTRACE_INTERRUPT` or a group stop (`PTRACE_EVENT_STOP`).
    EventStop(i32),
    /// The tracee made a new thread (`PTRACE_EVENT_CLONE`); its id is the
    /// event message, and the thread itself reports a first stop of its own.
    Clone,
    /// The tracee made a child process with `fork` or a `clone` that is
    /// not a thread (`PTRACE_EVENT_FORK`); as for `Clone`, its id is the
    /// event message.
    Fork,
    /// The same for `vfork` (`PTRACE_EVENT_VFORK`): the parent stays in
    /// the call until the child execs or exits.
    Vfork,
    Exited(ExitStatus),
}

/// How to resume a stopped tracee.
#[derive(Debug, Clone, Copy)]
pub enum Resume {
    Cont,
    /// Stop again at the exit of the current syscall.
    Syscall,
    /// Execute one instruction (or enter one signal handler) and stop.
    Step,
}

/// One thread of a traced program. Its `pid` is the thread's id (for the
/// first thread, the process id); ptrace acts on one thread at a time, while
/// memory is the process's, shared by all its threads.
pub struct Tracee {
    pub pid: Pid,
    /// The process (thread group) the thread belongs to.
    pub tgid: Pid,
    mem: File,
    /// Signals that arrived while rback was running injected syscalls; the
    /// recorder decides what to do with them.
    pub stray_signals: Vec<SiginfoBytes>,
    /// rback sent it SIGKILL: it leaves its stop to die, so resuming it may
    /// find it gone.
    killed: std::cell::Cell<bool>,
    /// The thread is gone and reaped: there is nothing left to kill, and
    /// its id may belong to someone else by now.
    gone: std::cell::Cell<bool>,
    /// The thread that the last injected `clone` made.
    new_thread: std::cell::Cell<Option<Pid>>,
    /// A stop rback already waited for, handed back to the next `wait`.
    pending: std::cell::Cell<Option<Stop>>,
}

impl Tracee {
    /// Takes over a child stopped by its own SIGSTOP (see [`sys::spawn_stopped`]).
    pub fn seize(pid: Pid) -> Result<Tracee> {
        match waitpid(pid, Some(WaitPidFlag::WSTOPPED)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
            Ok(WaitStatus::Exited(_, code)) => {
                return Err(Error::Spawn(format!(
                    "the program's launcher exited with status {code} before exec"
                )))
            }
            other => return Err(Error::Spawn(format!("unexpected first stop of the tracee: {other:?}"))),
        }
        let options = ptrace::Options::PTRACE_O_EXITKILL
            | ptrace::Options::PTRACE_O_TRACESYSGOOD
            | ptrace::Options::PTRACE_O_TRACEEXEC
            | ptrace::Options::PTRACE_O_TRACESECCOMP
            // The program's child processes are traced from their first
            // instruction, like the forks rback injects for checkpoints.
            | ptrace::Options::PTRACE_O_TRACEFORK
            | ptrace::Options::PTRACE_O_TRACEVFORK
            // The program's threads are traced from their first instruction.
            | ptrace::Options::PTRACE_O_TRACECLONE;
        ptrace::seize(pid, options).map_err(|e| Error::ptrace("seize", pid, e))?;
        let tracee = Tracee::traced(pid, pid)?;
        // Wake it from its group stop; the SIGCONT reaches us as a signal
        // stop (or not at all), and the next stop that matters is its execve.
        nix::sys::signal::kill(pid, Signal::SIGCONT).map_err(|e| Error::ptrace("kill", pid, e))?;
        Ok(tracee)
    }

    /// After an exec the old `/proc/pid/mem` handle refers to the old address
    /// space; reopen it.
    pub fn reopen_mem(&mut self) -> Result<()> {
        self.mem = open_mem(self.pid)?;
        Ok(())
    }

    pub fn wait(&self) -> Result<Stop> {
        if let Some(stop) = self.pending.take() {
            return Ok(stop);
        }
        loop {
            if let Some(stop) = self.wait_flags(WaitPidFlag::__WALL)? {
                return Ok(stop);
            }
        }
    }

    /// Like [`Tracee::wait`], but returns `None` at once if the tracee is
    /// still running.
    pub fn try_wait(&self) -> Result<Option<Stop>> {
        if let Some(stop) = self.pending.take() {
            return Ok(Some(stop));
        }
        self.wait_flags(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)
    }

    fn wait_flags(&self, flags: WaitPidFlag) -> Result<Option<Stop>> {
        let status = waitpid(self.pid, Some(flags)).map_err(|e| Error::ptrace("waitpid", self.pid, e))?;
        let stop = decode_wait(status)?.map(|(_, stop)| stop);
        if matches!(stop, Some(Stop::Exited(_))) {
            self.gone.set(true);
        }
        Ok(stop)
    }

    pub fn resume(&self, how: Resume, sig: i32) -> Result<()> {
        let sig = if sig == 0 {
            None
        } else {
            Some(Signal::try_from(sig).map_err(|e| Error::ptrace("resume", self.pid, e))?)
        };
        let (what, result) = match how {
            Resume::Cont => ("cont", ptrace::cont(self.pid, sig)),
            Resume::Syscall => ("syscall", ptrace::syscall(self.pid, sig)),
            Resume::Step => ("singlestep", ptrace::step(self.pid, sig)),
        };
        match result {
            // A SIGKILL (the recorded end of a killed program, say) took the
            // tracee out of its stop: it is dying, and the next wait says so.
            Err(nix::errno::Errno::ESRCH) if self.killed.get() => Ok(()),
            other => other.map_err(|e| Error::ptrace(what, self.pid, e)),
        }
    }

    /// Lets the tracee, which reported a group stop, stay stopped until a
    /// SIGCONT (see [`sys::ptrace_listen`]).
    pub fn listen(&self) -> Result<()> {
        sys::ptrace_listen(self.pid).map_err(|e| Error::ptrace("listen", self.pid, e))
    }

    pub fn regs(&self) -> Result<Regs> {
        ptrace::getregs(self.pid).map_err(|e| Error::ptrace("getregs", self.pid, e))
    }

    pub fn set_regs(&self, regs: &Regs) -> Result<()> {
        ptrace::setregs(self.pid, *regs).map_err(|e| Error::ptrace("setregs", self.pid, e))
    }

    pub fn siginfo(&self) -> Result<SiginfoBytes> {
        ptrace::getsiginfo(self.pid)
            .map(|i| sys::siginfo_to_bytes(&i))
            .map_err(|e| Error::ptrace("getsiginfo", self.pid, e))
    }

    pub fn set_siginfo(&self, bytes: &[u8]) -> Result<()> {
        let mut raw = [0u8; 128];
        let n = bytes.len().min(128);
        raw[..n].copy_from_slice(&bytes[..n]);
        ptrace::setsiginfo(self.pid, &sys::siginfo_from_bytes(&raw))
            .map_err(|e| Error::ptrace("setsiginfo", self.pid, e))
    }

    /// Makes `sig` pending in the tracee, as if sent from elsewhere.
    pub fn raise(&self, sig: i32) -> Result<()> {
        if sig == libc::SIGKILL {
            self.killed.set(true);
        }
        sys::tgkill(self.tgid, self.pid, sig).map_err(|e| Error::ptrace("tgkill", self.pid, e))
    }

    pub fn read_bytes(&self, addr: RemoteAddr, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        if len == 0 {
            return Ok(buf);
        }
        let remote = [RemoteIoVec {
            base: addr.0 as usize,
            len,
        }];
        let local = [io::IoSliceMut::new(&mut buf)];
        let mut local = local;
        match process_vm_readv(self.pid, &mut local, &remote) {
            Ok(n) if n == len => Ok(buf),
            // process_vm_readv stops at unreadable pages (PROT_NONE guard
            // areas, a partly unmapped range); /proc/pid/mem reads what
            // ptrace itself could.
            _ => self
                .mem
                .read_exact_at(&mut buf, addr.0)
                .map(|_| buf)
                .map_err(|e| Error::Memory { addr, len, cause: e }),
        }
    }

    /// Writes through `/proc/pid/mem`, which (like a debugger's poke) also
    /// writes into read-only private mappings.
    pub fn write_bytes(&self, addr: RemoteAddr, bytes: &[u8]) -> Result<()> {
        self.mem.write_all_at(bytes, addr.0).map_err(|e| Error::Memory {
            addr,
            len: bytes.len(),
            cause: e,
        })
    }

    pub fn read_u64(&self, addr: RemoteAddr) -> Result<u64> {
        let b = self.read_bytes(addr, 8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }

    /// Reads a NUL-terminated string (at most `max` bytes).
    pub fn read_cstring(&self, addr: RemoteAddr, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = addr.0;
        while out.len() < max {
            // Read up to the end of the page so no read crosses into an
            // unmapped one.
            let chunk = (4096 - (at % 4096)) as usize;
            let bytes = self.read_bytes(RemoteAddr(at), chunk.min(max - out.len()))?;
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&bytes);
            at += chunk as u64;
        }
        Ok(out)
    }

    /// Maps the rback page. Must be called at the first stop after an exec,
    /// before the program ran: there is no page yet, so the `syscall`
    /// instruction is borrowed from the program's entry point and put back.
    pub fn install_rback_page(&mut self) -> Result<()> {
        self.reopen_mem()?;
        let regs = self.regs()?;
        let entry = RemoteAddr(regs.rip);
        let saved = self.read_bytes(entry, PAGE_CODE.len())?;
        self.write_bytes(entry, &PAGE_CODE)?;
        let result = self.run_syscall_at(
            entry,
            &regs,
            libc::SYS_mmap,
            [
                RBACK_PAGE.0,
                4096,
                (libc::PROT_READ | libc::PROT_EXEC) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                u64::MAX,
                0,
            ],
        );
        self.write_bytes(entry, &saved)?;
        self.set_regs(&regs)?;
        let addr = result?;
        if addr as u64 != RBACK_PAGE.0 {
            return Err(Error::Spawn(format!(
                "cannot map rback's page at {}: mmap returned {addr}",
                RBACK_PAGE
            )));
        }
        self.write_bytes(RBACK_PAGE, &PAGE_CODE)?;
        use crate::syscallbuf::layout::{GADGET_CODE, GADGET_OFFSET, RUN_GADGET_OFFSET};
        self.write_bytes(RBACK_PAGE.offset(GADGET_OFFSET), &GADGET_CODE)?;
        self.write_bytes(RBACK_PAGE.offset(RUN_GADGET_OFFSET), &GADGET_CODE)
    }

    /// Runs one syscall in the tracee from the rback page and returns its
    /// result, leaving the registers as they were. The tracee must be at a
    /// stop where registers may be set: a seccomp stop (the pending call is
    /// then skipped), a syscall exit or a signal stop.
    pub fn inject_syscall(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        let regs = self.regs()?;
        let result = self.run_syscall_at(RBACK_PAGE, &regs, nr, args);
        self.set_regs(&regs)?;
        result
    }

    /// Makes a copy-on-write copy of the stopped tracee by injecting a fork
    /// from the rback page, and returns it stopped, with the registers the
    /// tracee had. The tracee itself is left as it was, at a stop from which
    /// it resumes the same way (a seccomp stop must be dealt with by the
    /// caller first: the copy would not be inside that syscall).
    ///
    /// `CLONE_PARENT` makes rback, not the tracee, the parent of the copy,
    /// so the tracee never sees a child appear or exit. The copy is traced
    /// from its first instruction (`PTRACE_O_TRACEFORK`) and inherits the
    /// seccomp filter and the rback page. It does not inherit pending
    /// signals or debug registers: the caller re-creates what it needs.
    pub fn fork(&mut self) -> Result<Tracee> {
        let regs = self.regs()?;
        let mut r = regs;
        r.rip = RBACK_PAGE.0;
        r.rax = libc::SYS_clone as u64;
        r.orig_rax = u64::MAX;
        (r.rdi, r.rsi, r.rdx, r.r10, r.r8) = ((libc::CLONE_PARENT | libc::SIGCHLD) as u64, 0, 0, 0, 0);
        self.set_regs(&r)?;
        self.resume(Resume::Cont, 0)?;
        let child = loop {
            match waitpid(self.pid, Some(WaitPidFlag::__WALL)).map_err(|e| Error::ptrace("waitpid", self.pid, e))? {
                WaitStatus::PtraceEvent(_, _, ev) if ev == libc::PTRACE_EVENT_FORK => {
                    let msg = ptrace::getevent(self.pid).map_err(|e| Error::ptrace("geteventmsg", self.pid, e))?;
                    break Pid::from_raw(msg as i32);
                }
                WaitStatus::Stopped(_, sig) if sig != Signal::SIGTRAP => {
                    let info = self.siginfo()?;
                    self.stray_signals.push(info);
                    self.resume(Resume::Cont, 0)?;
                }
                // A tracee taken from a group stop traps once more for it
                // (the trap `PTRACE_LISTEN` would have waited in).
                WaitStatus::PtraceEvent(_, _, ev) if ev == libc::PTRACE_EVENT_STOP => self.resume(Resume::Cont, 0)?,
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} while taking a checkpoint"
                    )))
                }
            }
        };
        // The copy's first stop; it exists from here on, so own it at once
        // (Drop kills it on any error below).
        let copy = Tracee::adopt(child)?;
        self.resume(Resume::Cont, 0)?;
        loop {
            match self.wait()? {
                Stop::Signal(sig) if sig == libc::SIGTRAP => break,
                Stop::EventStop(_) => self.resume(Resume::Cont, 0)?,
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} after a checkpoint's fork"
                    )))
                }
            }
        }
        self.set_regs(&regs)?;
        copy.set_regs(&regs)?;
        Ok(copy)
    }

    /// Takes charge of a process that rback's tracing made: waits for its
    /// first stop (the automatic attach of a fork).
    fn adopt(pid: Pid) -> Result<Tracee> {
        Tracee::adopt_thread(pid, pid)
    }

    /// A thread that rback already traces (its first stop is the caller's
    /// business): `tid` in process `tgid`.
    pub fn traced(tid: Pid, tgid: Pid) -> Result<Tracee> {
        Ok(Tracee {
            pid: tid,
            tgid,
            mem: open_mem(tid)?,
            stray_signals: vec![],
            killed: std::cell::Cell::new(false),
            gone: std::cell::Cell::new(false),
            new_thread: std::cell::Cell::new(None),
            pending: std::cell::Cell::new(None),
        })
    }

    /// Waits for the first stop of a thread (or, with `tid == tgid`, a
    /// process) the tracee just made, its automatic attach, and takes charge
    /// of it.
    pub fn adopt_thread(tid: Pid, tgid: Pid) -> Result<Tracee> {
        loop {
            match waitpid(tid, Some(WaitPidFlag::__WALL)).map_err(|e| Error::ptrace("waitpid", tid, e))? {
                WaitStatus::PtraceEvent(_, _, ev) if ev == libc::PTRACE_EVENT_STOP => break,
                WaitStatus::Stopped(_, Signal::SIGSTOP) => break,
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    return Err(Error::Spawn(format!("the new thread or process {tid} died at birth")))
                }
                _ => ptrace::cont(tid, None).map_err(|e| Error::ptrace("cont", tid, e))?,
            }
        }
        Tracee::traced(tid, tgid)
    }

    /// The thread made an `execve` while others lived: the kernel killed
    /// them and gave this one the process's id (ptrace(2), "execve(2) under
    /// ptrace"). Its memory handle is reopened by whoever handles the exec.
    pub fn become_leader(&mut self) {
        self.pid = self.tgid;
    }

    /// Whether the thread is dead or about to die: a zombie, or SIGKILL
    /// pending (which a stopped thread acts on the moment it is resumed,
    /// or already has, unreported).
    pub fn is_dying(&self) -> bool {
        is_dying(self.pid)
    }

    /// The thread has exited and was reaped by whoever waited for it.
    pub fn mark_gone(&self) {
        self.gone.set(true);
    }

    /// Takes a thread that stands at a syscall's entry (a seccomp stop)
    /// back to just before its `syscall` instruction, without making the
    /// call: when it runs again it enters the same call afresh. Replay
    /// leaves a thread like this when its turn ends at a syscall that ends
    /// on a later turn; unlike a seccomp stop, this is a stop from which
    /// the thread can be copied into a checkpoint or stepped.
    pub fn rewind_syscall(&self) -> Result<()> {
        let mut regs = self.regs()?;
        let nr = regs.orig_rax;
        // The call is skipped (orig_rax -1) and "returns" the number that
        // the syscall instruction needs in rax to make it again.
        regs.orig_rax = u64::MAX;
        regs.rax = nr;
        regs.rip -= SYSCALL_INSN_LEN;
        self.set_regs(&regs)?;
        self.resume(Resume::Syscall, 0)?;
        match self.wait()? {
            Stop::SyscallExit => Ok(()),
            other => Err(Error::Spawn(format!(
                "unexpected stop {other:?} while setting a syscall aside"
            ))),
        }
    }

    /// Makes `stop` (already waited for) the next one `wait` reports.
    pub fn hand_back(&self, stop: Stop) {
        self.pending.set(Some(stop));
    }

    /// The thread that the last injected `clone` made, once.
    pub fn take_new_thread(&self) -> Option<Pid> {
        self.new_thread.take()
    }

    /// Gives this thread the FPU, SSE and AVX state of `other` (the whole
    /// XSAVE area).
    pub fn copy_vector_state_from(&self, other: &Tracee) -> Result<()> {
        let mut xsave = vec![0u8; 16 * 1024];
        let n = sys::get_regset(other.pid, sys::NT_X86_XSTATE, &mut xsave)
            .map_err(|e| Error::ptrace("getregset", other.pid, e))?;
        sys::set_regset(self.pid, sys::NT_X86_XSTATE, &xsave[..n]).map_err(|e| Error::ptrace("setregset", self.pid, e))
    }

    /// The id of the thread that a `Stop::Clone` just reported.
    pub fn new_thread_id(&self) -> Result<Pid> {
        ptrace::getevent(self.pid)
            .map(|msg| Pid::from_raw(msg as i32))
            .map_err(|e| Error::ptrace("geteventmsg", self.pid, e))
    }

    /// Writes `bytes` into the page's scratch area and returns its address,
    /// for path arguments of injected calls.
    pub fn scratch(&self, bytes: &[u8]) -> Result<RemoteAddr> {
        assert!(
            bytes.len() < 4096 - PAGE_SCRATCH as usize,
            "scratch data larger than rback's page"
        );
        let addr = RBACK_PAGE.offset(PAGE_SCRATCH);
        self.write_bytes(addr, bytes)?;
        Ok(addr)
    }

    fn run_syscall_at(&mut self, at: RemoteAddr, base: &Regs, nr: i64, args: [u64; 6]) -> Result<i64> {
        let mut r = *base;
        r.rip = at.0;
        r.rax = nr as u64;
        // Skips the call the tracee may be stopped in (seccomp stop), and keeps
        // the kernel's syscall-restart logic away from the injected one.
        r.orig_rax = u64::MAX;
        (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9) = (args[0], args[1], args[2], args[3], args[4], args[5]);
        self.set_regs(&r)?;
        self.resume(Resume::Cont, 0)?;
        loop {
            match self.wait()? {
                // The borrowed instruction at an entry point is not in the
                // page, so the filter reports it; let it run.
                Stop::Seccomp => self.resume(Resume::Cont, 0)?,
                Stop::Signal(sig) if sig == libc::SIGTRAP && self.regs()?.rip == at.0 + PAGE_CODE.len() as u64 => {
                    return Ok(self.regs()?.rax as i64);
                }
                Stop::Signal(_) => {
                    let info = self.siginfo()?;
                    self.stray_signals.push(info);
                    self.resume(Resume::Cont, 0)?;
                }
                Stop::EventStop(_) => self.resume(Resume::Cont, 0)?,
                Stop::Clone => {
                    self.new_thread.set(Some(self.new_thread_id()?));
                    self.resume(Resume::Cont, 0)?;
                }
                Stop::Exited(status) => return Err(Error::TraceeDied(status)),
                other => {
                    return Err(Error::Spawn(format!(
                        "unexpected stop {other:?} during an injected syscall"
                    )))
                }
            }
        }
    }
}

/// [`Tracee::is_dying`] for any thread rback traces.
pub fn is_dying(tid: Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return true;
    };
    let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    let state = field("State:").unwrap_or("X");
    let pending = |key: &str| field(key).and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
    let sigkill = 1u64 << (libc::SIGKILL - 1);
    state.starts_with('Z') || state.starts_with('X') || (pending("SigPnd:") | pending("ShdPnd:")) & sigkill != 0
}

/// Decodes what `waitpid` reported about one of rback's tracees (`None`:
/// nothing to report yet).
pub fn decode_wait(status: WaitStatus) -> Result<Option<(Pid, Stop)>> {
    Ok(Some(match status {
        WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_SECCOMP => (pid, Stop::Seccomp),
        WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_EXEC => (pid, Stop::Exec),
        WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_CLONE => (pid, Stop::Clone),
        WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_FORK => (pid, Stop::Fork),
        WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_VFORK => (pid, Stop::Vfork),
        WaitStatus::PtraceEvent(pid, sig, ev) if ev == libc::PTRACE_EVENT_STOP => (pid, Stop::EventStop(sig as i32)),
        WaitStatus::PtraceEvent(_, sig, ev) => {
            return Err(Error::Spawn(format!("unexpected ptrace event {ev} (signal {sig})")))
        }
        WaitStatus::PtraceSyscall(pid) => (pid, Stop::SyscallExit),
        WaitStatus::Stopped(pid, sig) => (pid, Stop::Signal(sig as i32)),
        WaitStatus::Exited(pid, code) => (pid, Stop::Exited(ExitStatus::Exited(code))),
        WaitStatus::Signaled(pid, sig, core) => (
            pid,
            Stop::Exited(ExitStatus::Killed {
                signo: sig as i32,
                core_dumped: core,
            }),
        ),
        WaitStatus::Continued(_) | WaitStatus::StillAlive => return Ok(None),
    }))
}

/// Waits for a stop of any tracee that this thread of rback traces
/// (`__WNOTHREAD`: never one of another rback thread's tracees), or with
/// `block: false` returns `None` at once when none has stopped.
pub fn wait_any(block: bool) -> Result<Option<(Pid, Stop)>> {
    let mut flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
    if !block {
        flags |= WaitPidFlag::WNOHANG;
    }
    match waitpid(None, Some(flags)) {
        Ok(status) => decode_wait(status),
        Err(e) => Err(Error::ptrace("waitpid", Pid::from_raw(-1), e)),
    }
}

/// `/proc/PID/mem`, for writes that may land on read-only pages.
fn open_mem(pid: Pid) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|e| Error::Spawn(format!("cannot open the memory of tracee {pid}: {e}")))
}

impl Drop for Tracee {
    fn drop(&mut self) {
        if self.gone.get() {
            return;
        }
        // PTRACE_O_EXITKILL covers rback dying; this covers a tracee that is
        // merely dropped (an error mid-recording) while rback lives on.
        // tgkill, not kill: a thread id reaped elsewhere may be reused.
        let _ = sys::tgkill(self.tgid, self.pid, libc::SIGKILL);
        let reap = |pid: Pid| {
            // Skipping any stop that was already queued before the kill.
            while let Ok(status) = waitpid(pid, Some(WaitPidFlag::__WALL)) {
                if matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
                    break;
                }
            }
        };
        if self.pid == self.tgid {
            // The first thread is reported last, once every other thread
            // of its process is reaped: reap those first.
            if let Ok(dir) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) {
                for tid in dir
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                {
                    if tid != self.pid.as_raw() {
                        reap(Pid::from_raw(tid));
                    }
                }
            }
        }
        reap(self.pid);
    }
}

impl From<&Regs> for Registers {
    fn from(r: &Regs) -> Registers {
        Registers([
            r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi,
            r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base, r.gs_base, r.ds, r.es, r.fs, r.gs,
        ])
    }
}

impl Registers {
    pub fn to_regs(self) -> Regs {
        let a = self.0;
        Regs {
            r15: a[0],
            r14: a[1],
            r13: a[2],
            r12: a[3],
            rbp: a[4],
            rbx: a[5],
            r11: a[6],
            r10: a[7],
            r9: a[8],
            r8: a[9],
            rax: a[10],
            rcx: a[11],
            rdx: a[12],
            rsi: a[13],
            rdi: a[14],
            orig_rax: a[15],
            rip: a[16],
            cs: a[17],
            eflags: a[18],
            rsp: a[19],
            ss: a[20],
            fs_base: a[21],
            gs_base: a[22],
            ds: a[23],
            es: a[24],
            fs: a[25],
            gs: a[26],
        }
    }

    pub fn rip(&self) -> u64 {
        self.0[16]
    }
}

/// The six syscall argument registers, in order.
pub fn syscall_args(r: &Regs) -> [u64; 6] {
    [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
}

pub fn errno_name(result: i64) -> String {
    if result < 0 && result > -4096 {
        let e = Errno::from_raw(-result as i32);
        format!("-{e:?}")
    } else {
        format!("{result:#x}")
    }
}

/// What the seccomp filter does with syscalls made from the rback page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagePasses {
    /// rback's injected calls and the syscall buffer's gadget pass:
    /// recording.
    InjectionsAndGadget,
    /// rback's injected calls pass; the gadget's calls stop like any other
    /// and are events: replay that can stop anywhere (the debugger). The
    /// library's probe of an iovec array passes (`layout::IOVEC_PROBE`): it is
    /// no event.
    Injections,
    /// rback's injected calls pass; the gadget's calls return
    /// `syscallbuf::layout::REPLAYED` at once, without running: `replay -a`,
    /// which writes their results into the buffer ahead of the program. The
    /// probe passes, and so do the calls the library makes again
    /// (`layout::EXECUTED_AGAIN`) from the second gadget.
    InjectionsAndReplayedGadget,
}

/// The seccomp filter every tracee runs under, in recording and in replay:
/// - syscalls made from the rback page pass untraced (rback's own
///   injections, and while recording the syscall buffer's; in replay the
///   buffer's probe and, in `replay -a`, the calls it makes again; see
///   [`PagePasses`]);
/// - `rseq` fails with ENOSYS before it runs, so glibc never registers an
///   area the kernel would write CPU numbers into behind rback's back;
/// - 32-bit syscalls (`int 0x80`) fail with ENOSYS: their numbers mean other
///   calls and the table does not describe them;
/// - everything else stops in the tracer.
pub fn seccomp_filter(passes: PagePasses) -> Vec<libc::sock_filter> {
    use crate::syscallbuf::layout::{EXECUTED_AGAIN, GADGET_OFFSET, IOVEC_PROBE, REPLAYED, RUN_GADGET_OFFSET};
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const AND_K: u16 = 0x54;
    const RET_K: u16 = 0x06;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_TRACE: u32 = 0x7ff0_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // The instruction pointer at a syscall is the address after it.
    let (mask, passing) = match passes {
        PagePasses::InjectionsAndGadget => (0xffff_f000, RBACK_PAGE.0 as u32),
        PagePasses::Injections | PagePasses::InjectionsAndReplayedGadget => {
            (0xffff_ffff, (RBACK_PAGE.0 + SYSCALL_INSN_LEN) as u32)
        }
    };
    // In replay, with the low half of the instruction pointer loaded: the
    // gadget's calls are answered (`replay -a`) or fall through to a stop;
    // the second gadget's run if they are the probe or (`replay -a`) a
    // call made again, and stop otherwise.
    let mut page_rules = Vec::new();
    if passes != PagePasses::InjectionsAndGadget {
        let mut run: Vec<u64> = vec![IOVEC_PROBE];
        if passes == PagePasses::InjectionsAndReplayedGadget {
            page_rules.extend([
                op(JEQ_K, 0, 1, (RBACK_PAGE.0 + GADGET_OFFSET + SYSCALL_INSN_LEN) as u32),
                op(RET_K, 0, 0, RET_ERRNO | (-REPLAYED) as u32),
            ]);
            run.extend(EXECUTED_AGAIN);
        }
        let n = run.len() as u8;
        page_rules.push(op(
            JEQ_K,
            0,
            n + 3,
            (RBACK_PAGE.0 + RUN_GADGET_OFFSET + SYSCALL_INSN_LEN) as u32,
        ));
        page_rules.push(op(LD_W_ABS, 0, 0, 0)); // nr
        for (i, nr) in run.iter().enumerate() {
            page_rules.push(op(JEQ_K, n - i as u8, 0, *nr as u32));
        }
        page_rules.push(op(RET_K, 0, 0, RET_TRACE));
        page_rules.push(op(RET_K, 0, 0, RET_ALLOW));
    }
    let mut filter = vec![
        op(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        op(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        op(RET_K, 0, 0, RET_ENOSYS),
        op(LD_W_ABS, 0, 0, 12), // instruction_pointer, high half
        op(JEQ_K, 0, 4 + page_rules.len() as u8, (RBACK_PAGE.0 >> 32) as u32),
        op(LD_W_ABS, 0, 0, 8), // instruction_pointer, low half
        op(AND_K, 0, 0, mask),
        op(JEQ_K, 0, 1, passing),
        op(RET_K, 0, 0, RET_ALLOW),
    ];
    filter.extend(page_rules);
    filter.extend([
        op(LD_W_ABS, 0, 0, 0), // nr
        op(JEQ_K, 0, 1, libc::SYS_rseq as u32),
        op(RET_K, 0, 0, RET_ENOSYS),
        op(RET_K, 0, 0, RET_TRACE),
    ]);
    filter
}

/// Starts `program` as a tracee under [`seccomp_filter`] and runs it to the
/// end of its (successful) `execve`, before the new program's first
/// instruction. The caller then records or reproduces the new image.
pub fn launch(
    program: &std::ffi::CString,
    argv: &[std::ffi::CString],
    envp: &[std::ffi::CString],
    own_process_group: bool,
    passes: PagePasses,
) -> Result<Tracee> {
    let filter = seccomp_filter(passes);
    let pid = sys::spawn_stopped(&sys::SpawnConfig {
        program,
        argv,
        envp,
        filter: &filter,
        own_process_group,
        stdin: None,
    })
    .map_err(|e| Error::Spawn(format!("fork failed: {e}")))?;
    let tracee = Tracee::seize(pid)?;
    loop {
        match tracee.wait()? {
            Stop::Seccomp => tracee.resume(Resume::Syscall, 0)?,
            Stop::Exec => tracee.resume(Resume::Syscall, 0)?,
            Stop::SyscallExit => {
                let regs = tracee.regs()?;
                if regs.rax != 0 {
                    let errno = Errno::from_raw(-(regs.rax as i64) as i32);
                    return Err(Error::Spawn(format!("execve failed: {}", errno.desc())));
                }
                return Ok(tracee);
            }
            Stop::Signal(_) | Stop::EventStop(_) | Stop::Clone | Stop::Fork | Stop::Vfork => {
                tracee.resume(Resume::Cont, 0)?
            }
            Stop::Exited(status) => return Err(Error::Spawn(format!("the tracee {status} before it started"))),
        }
    }
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    pub path: String,
}

impl Tracee {
    pub fn mappings(&self) -> Result<Vec<Mapping>> {
        let text = std::fs::read_to_string(format!("/proc/{}/maps", self.pid))
            .map_err(Error::io(format!("cannot read the memory map of tracee {}", self.pid)))?;
        Ok(text.lines().filter_map(parse_maps_line).collect())
    }
}

pub(crate) fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut parts = line.splitn(6, ' ');
    let range = parts.next()?;
    let perms = parts.next()?.to_string();
    let offset = u64::from_str_radix(parts.next()?, 16).ok()?;
    let _dev = parts.next()?;
    let inode = parts.next()?.parse().ok()?;
    let path = parts.next().unwrap_or("").trim_start().to_string();
    let (start, end) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        inode,
        path,
    })
}

/// `offsetof(struct user, u_debugreg)` on x86-64.
const DEBUGREG_OFFSET: usize = 848;
/// Where the upper halves of YMM0-15 sit in the standard-format XSAVE area.
const YMM_HIGH_OFFSET: usize = 576;

/// Floating-point and vector registers; see [`Tracee::fp_state`].
#[derive(Clone, Debug)]
pub struct FpState {
    pub fxsave: [u8; 512],
    pub ymm_high: Option<[u8; 256]>,
}

impl Tracee {
    /// Arms (or with `None` disarms) an instruction breakpoint in debug
    /// register 0. Hits arrive as SIGTRAP stops with `si_code` TRAP_HWBKPT,
    /// before the instruction runs.
    pub fn set_exec_breakpoint(&self, addr: Option<RemoteAddr>) -> Result<()> {
        // Only slot 0's bits of DR7: the other slots may hold counters.
        let others = self.debugreg(7)? & !(0b11 | (0xf << 16));
        match addr {
            Some(a) => {
                self.set_debugreg(0, a.0)?;
                // L0 enabled; RW0 = 00 (execution) and LEN0 = 00 (one byte).
                self.set_debugreg(7, others | 1)
            }
            None => self.set_debugreg(7, others),
        }
    }

    /// Debug register `i` (0-7).
    pub fn debugreg(&self, i: usize) -> Result<u64> {
        read_debugreg(self.pid, i)
    }

    pub fn set_debugreg(&self, i: usize, value: u64) -> Result<()> {
        write_debugreg(self.pid, i, value)
    }

    /// The floating-point and vector state: the 512-byte FXSAVE image (x87,
    /// MXCSR, XMM0-15) and, where the CPU has AVX, the upper halves of
    /// YMM0-15 from the XSAVE area.
    pub fn fp_state(&self) -> Result<FpState> {
        let fx = ptrace::getregset::<ptrace::regset::NT_PRFPREG>(self.pid)
            .map_err(|e| Error::ptrace("getfpregs", self.pid, e))?;
        let mut fxsave = [0u8; 512];
        // user_fpregs_struct is the FXSAVE layout, field by field.
        let words = [fx.cwd, fx.swd, fx.ftw, fx.fop];
        for (i, w) in words.iter().enumerate() {
            fxsave[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
        }
        fxsave[8..16].copy_from_slice(&fx.rip.to_le_bytes());
        fxsave[16..24].copy_from_slice(&fx.rdp.to_le_bytes());
        fxsave[24..28].copy_from_slice(&fx.mxcsr.to_le_bytes());
        fxsave[28..32].copy_from_slice(&fx.mxcr_mask.to_le_bytes());
        for (i, w) in fx.st_space.iter().chain(fx.xmm_space.iter()).enumerate() {
            fxsave[32 + 4 * i..36 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        let mut xsave = vec![0u8; 16 * 1024];
        let ymm_high = match sys::get_regset(self.pid, sys::NT_X86_XSTATE, &mut xsave) {
            // XSTATE_BV (at 512) bit 2 says the AVX component is live; when
            // it is clear the upper halves are architecturally zero.
            Ok(n) if n >= YMM_HIGH_OFFSET + 256 => {
                let mut high = [0u8; 256];
                if xsave[512] & 0b100 != 0 {
                    high.copy_from_slice(&xsave[YMM_HIGH_OFFSET..YMM_HIGH_OFFSET + 256]);
                }
                Some(high)
            }
            _ => None,
        };
        Ok(FpState { fxsave, ymm_high })
    }

    /// The tracee's auxiliary vector, raw, as the kernel keeps it.
    pub fn auxv(&self) -> Result<Vec<u8>> {
        std::fs::read(format!("/proc/{}/auxv", self.pid)).map_err(Error::io(format!("reading /proc/{}/auxv", self.pid)))
    }

    /// `/proc/PID/maps` as text.
    pub fn maps_text(&self) -> Result<String> {
        std::fs::read_to_string(format!("/proc/{}/maps", self.pid))
            .map_err(Error::io(format!("reading /proc/{}/maps", self.pid)))
    }

    /// The writable memory of the tracee, mapping by mapping, to compare two
    /// processes that should be in the same state.
    pub fn writable_memory(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        writable_memory_of(self.pid)
    }
}

/// [`Tracee::writable_memory`] for a stopped tracee known only by pid.
/// Debug register `i` (0-7) of a stopped tracee.
pub fn read_debugreg(pid: Pid, i: usize) -> Result<u64> {
    ptrace::read_user(pid, (DEBUGREG_OFFSET + 8 * i) as ptrace::AddressType)
        .map(|v| v as u64)
        .map_err(|e| Error::ptrace("peekuser", pid, e))
}

pub fn write_debugreg(pid: Pid, i: usize, value: u64) -> Result<()> {
    ptrace::write_user(
        pid,
        (DEBUGREG_OFFSET + 8 * i) as ptrace::AddressType,
        value as libc::c_long,
    )
    .map_err(|e| Error::ptrace("pokeuser", pid, e))
}

pub fn writable_memory_of(pid: Pid) -> Result<Vec<(u64, Vec<u8>)>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(Error::io(format!("cannot read the memory map of tracee {pid}")))?;
    let mut out = vec![];
    for m in text.lines().filter_map(parse_maps_line) {
        if m.perms.as_bytes().get(1) == Some(&b'w') && m.path != "[vvar]" {
            let len = (m.end - m.start) as usize;
            let mut buf = vec![0u8; len];
            let remote = [RemoteIoVec {
                base: m.start as usize,
                len,
            }];
            let n =
                process_vm_readv(pid, &mut [io::IoSliceMut::new(&mut buf)], &remote).map_err(|e| Error::Memory {
                    addr: RemoteAddr(m.start),
                    len,
                    cause: e.into(),
                })?;
            buf.truncate(n);
            out.push((m.start, buf));
        }
    }
    Ok(out)
}

/// Whether two register sets describe the same program state (the resume
/// flag is bookkeeping of the debug machinery, not program state).
pub fn same_program_state(a: &Regs, b: &Regs) -> bool {
    let (mut a, mut b) = (*a, *b);
    a.eflags &= !crate::kernel::EFLAGS_RF;
    b.eflags &= !crate::kernel::EFLAGS_RF;
    Registers::from(&a) == Registers::from(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse() {
        let m = parse_maps_line("7ffff7fc3000-7ffff7fc5000 r--p 00001000 fe:01 1234    /usr/lib/ld linux.so").unwrap();
        assert_eq!((m.start, m.end, m.offset), (0x7ffff7fc3000, 0x7ffff7fc5000, 0x1000));
        assert_eq!(m.path, "/usr/lib/ld linux.so");
        let anon = parse_maps_line("7ffff7fc3000-7ffff7fc5000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(anon.path, "");
    }

    #[test]
    fn restart_codes() {
        use crate::kernel::restarts;
        assert!(restarts(-512) && restarts(-516));
        assert!(!restarts(-4) && !restarts(0) && !restarts(-511) && !restarts(-517));
    }
}
