//! The `TimeTravel` backend dressed as a gdbstub `Target`: one process with
//! its threads, reverse execution, breakpoints and watchpoints, extended
//! mode, `monitor`, host I/O, auxv, the exec file and the register layout.

use std::cell::{RefCell, RefMut};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::rc::Rc;
use std::sync::Arc;

use gdbstub::common::{Pid, Signal, Tid};
use gdbstub::outputln;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::MultiThreadStopReason;
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::reverse_exec::{
    ReplayLogPosition, ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    self, Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint,
    SwBreakpointOps,
};
use gdbstub::target::ext::extended_mode::{
    Args, AttachKind, CurrentActivePid, CurrentActivePidOps, ExtendedMode, ExtendedModeOps, ShouldTerminate,
};
use gdbstub::target::ext::host_io::{
    HostIo, HostIoClose, HostIoCloseOps, HostIoErrno, HostIoError, HostIoFstat, HostIoFstatOps, HostIoOpen,
    HostIoOpenFlags, HostIoOpenMode, HostIoOpenOps, HostIoOps, HostIoPread, HostIoPreadOps, HostIoResult, HostIoStat,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::{TargetError, TargetResult};

use crate::link::{Link, Movements};
use crate::regs::{target_xml, X86_64Linux, X86_64Regs};
use crate::{gdb_signal, BackendError, Direction, Motion, Stop, TimeTravel, WatchKind};

/// gdb's number for "no signal": a stop that is neither a trap nor a
/// signal, shown as "Program stopped."
const NO_SIGNAL: Signal = Signal(0);

pub(crate) struct Target<'b, B: TimeTravel> {
    /// Shared with the link, which answers the packets gdbstub lacks.
    backend: Rc<RefCell<&'b mut B>>,
    /// The movement gdb asked for, run when gdbstub waits for a stop.
    pending: Option<(Direction, Motion)>,
    movements: Arc<Movements>,
    avx: bool,
    xml: String,
    // gdbstub asks for these through `&self`; they only change at exec,
    // so they are refreshed after every movement.
    auxv: Vec<u8>,
    exec_file: Vec<u8>,
    files: HashMap<u32, File>,
    next_fd: u32,
    hw_breakpoints: HashSet<u64>,
    /// The error that ended the session, when it was the backend's.
    pub(crate) fatal: RefCell<Option<BackendError>>,
}

impl<'b, B: TimeTravel> Target<'b, B> {
    pub(crate) fn new(
        backend: Rc<RefCell<&'b mut B>>,
        movements: Arc<Movements>,
    ) -> Result<Target<'b, B>, BackendError> {
        let avx = backend.borrow().has_avx();
        let mut t = Target {
            backend,
            pending: None,
            movements,
            avx,
            xml: target_xml(avx),
            auxv: Vec::new(),
            exec_file: Vec::new(),
            files: HashMap::new(),
            next_fd: 3,
            hw_breakpoints: HashSet::new(),
            fatal: RefCell::new(None),
        };
        t.refresh()?;
        Ok(t)
    }

    fn be(&self) -> RefMut<'_, &'b mut B> {
        self.backend.borrow_mut()
    }

    fn refresh(&mut self) -> Result<(), BackendError> {
        let auxv = self.be().auxv()?;
        let exec_file = self.be().exec_file()?;
        self.auxv = auxv;
        self.exec_file = exec_file.into_os_string().into_encoded_bytes();
        Ok(())
    }

    /// Records a fatal backend error so that [`crate::serve`] can report it
    /// as such, and hands it to gdbstub.
    fn fatal(&self, e: BackendError) -> TargetError<BackendError> {
        *self.fatal.borrow_mut() = Some(BackendError(e.0.clone()));
        TargetError::Fatal(e)
    }

    fn run_pending(&mut self) -> (MultiThreadStopReason<u64>, Vec<String>) {
        let (dir, motion) = self.pending.take().unwrap_or((Direction::Forward, Motion::Continue));
        let result = match self.movements.start() {
            true => self.be().resume(dir, motion),
            false => Ok(Stop::Interrupted),
        };
        self.movements.end();
        let mut notes: Vec<String> = self.be().take_warning().into_iter().collect();
        if let Err(e) = self.refresh() {
            notes.push(e.0);
        }
        let tid = match self.be().current_thread() {
            Ok(tid) => thread_id(tid),
            Err(e) => {
                notes.push(e.0);
                self.pid()
            }
        };
        let reason = match result {
            Ok(stop) => self.stop_reason(stop, tid),
            Err(e) => {
                // The movement failed but the program is still there to look
                // at: say why and stop without a signal.
                notes.push(e.0);
                MultiThreadStopReason::SignalWithThread { tid, signal: NO_SIGNAL }
            }
        };
        (reason, notes)
    }

    /// The stop gdb is told about: always naming the thread it happened in
    /// (a `T` packet with `thread:`), so that gdb switches to it.
    fn stop_reason(&self, stop: Stop, tid: Tid) -> MultiThreadStopReason<u64> {
        let signal = |signal| MultiThreadStopReason::SignalWithThread { tid, signal };
        match stop {
            Stop::Stepped => signal(Signal::SIGTRAP),
            Stop::Breakpoint(addr) if self.hw_breakpoints.contains(&addr) => MultiThreadStopReason::HwBreak(tid),
            Stop::Breakpoint(_) => MultiThreadStopReason::SwBreak(tid),
            Stop::Watchpoint { addr, kind } => MultiThreadStopReason::Watch {
                tid,
                kind: match kind {
                    WatchKind::Write => breakpoints::WatchKind::Write,
                    WatchKind::Read => breakpoints::WatchKind::Read,
                    WatchKind::Access => breakpoints::WatchKind::ReadWrite,
                },
                addr,
            },
            Stop::Signal(sig) => signal(Signal(gdb_signal(sig))),
            Stop::Interrupted => signal(Signal::SIGINT),
            Stop::StartOfRecording => MultiThreadStopReason::ReplayLog {
                tid: Some(tid),
                pos: ReplayLogPosition::Begin,
            },
            Stop::EndOfRecording => MultiThreadStopReason::ReplayLog {
                tid: Some(tid),
                pos: ReplayLogPosition::End,
            },
        }
    }
}

/// gdb's thread id for a thread id of the program.
fn thread_id(tid: u32) -> Tid {
    NonZeroUsize::new(tid as usize).unwrap_or(NonZeroUsize::MIN)
}

/// Copies the part of `data` that gdb asked for (`qXfer` reads in pieces).
fn copy_window(data: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
    let n = length.min(buf.len()).min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}

impl<B: TimeTravel> gdbstub::target::Target for Target<'_, B> {
    type Arch = X86_64Linux;
    type Error = BackendError;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_extended_mode(&mut self) -> Option<ExtendedModeOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<gdbstub::target::ext::target_description_xml_override::TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }

    fn support_host_io(&mut self) -> Option<HostIoOps<'_, Self>> {
        Some(self)
    }

    fn support_exec_file(&mut self) -> Option<gdbstub::target::ext::exec_file::ExecFileOps<'_, Self>> {
        Some(self)
    }

    fn support_auxv(&mut self) -> Option<gdbstub::target::ext::auxv::AuxvOps<'_, Self>> {
        Some(self)
    }
}

impl<B: TimeTravel> Target<'_, B> {
    /// Points register access at thread `tid`, or at the current thread
    /// for an id the program has no thread for (gdbstub's default before
    /// gdb names one with `Hg`).
    fn select(&mut self, tid: Tid) -> Result<(), BackendError> {
        let threads = self.be().threads()?;
        let tid = match u32::try_from(tid.get()) {
            Ok(t) if threads.contains(&t) => t,
            _ => self.be().current_thread()?,
        };
        self.be().select_thread(tid)
    }
}

impl<B: TimeTravel> MultiThreadBase for Target<'_, B> {
    fn read_registers(&mut self, regs: &mut X86_64Regs, tid: Tid) -> TargetResult<(), Self> {
        if self.select(tid).is_err() {
            return Err(TargetError::Errno(ESRCH));
        }
        match self.be().read_registers() {
            Ok(mut r) => {
                r.fxsave.resize(crate::regs::FXSAVE_LEN, 0);
                r.avx = self.avx;
                if !self.avx {
                    r.ymm_high = None;
                }
                *regs = r;
                Ok(())
            }
            Err(e) => Err(self.fatal(e)),
        }
    }

    fn write_registers(&mut self, regs: &X86_64Regs, tid: Tid) -> TargetResult<(), Self> {
        if self.select(tid).is_err() {
            return Err(TargetError::Errno(ESRCH));
        }
        self.be().write_registers(regs).map_err(|_| TargetError::Errno(EPERM))
    }

    // Memory is the process's, the same for every thread.
    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        // gdbstub sends an empty reply for 0 bytes, which gdb would take for
        // "not supported"; unreadable memory must be an error.
        match self.be().read_memory(start, data) {
            Ok(0) | Err(_) => Err(TargetError::Errno(EFAULT)),
            Ok(n) => Ok(n),
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        self.be()
            .write_memory(start, data)
            .map_err(|_| TargetError::Errno(EFAULT))
    }

    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        for tid in self.be().threads()? {
            thread_is_active(thread_id(tid));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(
        &mut self,
    ) -> Option<gdbstub::target::ext::thread_extra_info::ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl<B: TimeTravel> gdbstub::target::ext::thread_extra_info::ThreadExtraInfo for Target<'_, B> {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let tid = u32::try_from(tid.get()).unwrap_or(0);
        let info = self.be().thread_extra_info(tid)?.unwrap_or_default();
        let n = info.len().min(buf.len());
        buf[..n].copy_from_slice(&info.as_bytes()[..n]);
        Ok(n)
    }
}

const EPERM: u8 = 1;
const ESRCH: u8 = 3;
const EFAULT: u8 = 14;

// One thread runs at a time, as recorded: whatever gdb asks of each thread,
// a step in its request steps the program by one instruction (of the thread
// that runs), and anything else continues it.
impl<B: TimeTravel> MultiThreadResume for Target<'_, B> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        if self.pending.is_none() {
            self.pending = Some((Direction::Forward, Motion::Continue));
        }
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.pending = None;
        Ok(())
    }

    // A replay cannot deliver a signal gdb makes up: the recorded ones are
    // delivered where they happened, whatever gdb passes here.
    fn set_resume_action_continue(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        if self.pending.is_none() {
            self.pending = Some((Direction::Forward, Motion::Continue));
        }
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, Tid, Self>> {
        Some(self)
    }

    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, Tid, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

// gdb resumes only the thread it is interested in (`vCont;c:TID` without a
// default action) when it steps over a breakpoint. A replay runs whichever
// thread the recording ran, so this changes nothing.
impl<B: TimeTravel> MultiThreadSchedulerLocking for Target<'_, B> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<B: TimeTravel> MultiThreadSingleStep for Target<'_, B> {
    fn set_resume_action_step(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.pending = Some((Direction::Forward, Motion::Step));
        Ok(())
    }
}

impl<B: TimeTravel> ReverseCont<Tid> for Target<'_, B> {
    fn reverse_cont(&mut self) -> Result<(), Self::Error> {
        self.pending = Some((Direction::Backward, Motion::Continue));
        Ok(())
    }
}

impl<B: TimeTravel> ReverseStep<Tid> for Target<'_, B> {
    fn reverse_step(&mut self, _tid: Tid) -> Result<(), Self::Error> {
        self.pending = Some((Direction::Backward, Motion::Step));
        Ok(())
    }
}

impl<B: TimeTravel> Breakpoints for Target<'_, B> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<B: TimeTravel> SwBreakpoint for Target<'_, B> {
    /// A breakpoint the backend refuses (see [`crate::TimeTravel::set_breakpoint`])
    /// is one gdb could not insert, not the end of the session.
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.be().set_breakpoint(addr).is_ok())
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        if !self.hw_breakpoints.contains(&addr) {
            self.be().remove_breakpoint(addr).map_err(|e| self.fatal(e))?;
        }
        Ok(true)
    }
}

// The timeline's breakpoints cost nothing while stopped and need no debug
// register, so a hardware breakpoint is the same thing, reported as such.
impl<B: TimeTravel> HwBreakpoint for Target<'_, B> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        if self.be().set_breakpoint(addr).is_err() {
            return Ok(false);
        }
        self.hw_breakpoints.insert(addr);
        Ok(true)
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.hw_breakpoints.remove(&addr);
        self.be().remove_breakpoint(addr).map_err(|e| self.fatal(e))?;
        Ok(true)
    }
}

fn watch_kind(kind: breakpoints::WatchKind) -> WatchKind {
    match kind {
        breakpoints::WatchKind::Write => WatchKind::Write,
        breakpoints::WatchKind::Read => WatchKind::Read,
        breakpoints::WatchKind::ReadWrite => WatchKind::Access,
    }
}

impl<B: TimeTravel> HwWatchpoint for Target<'_, B> {
    fn add_hw_watchpoint(&mut self, addr: u64, len: u64, kind: breakpoints::WatchKind) -> TargetResult<bool, Self> {
        self.be()
            .set_watchpoint(addr, len, watch_kind(kind))
            .map_err(|e| self.fatal(e))
    }

    fn remove_hw_watchpoint(&mut self, addr: u64, len: u64, kind: breakpoints::WatchKind) -> TargetResult<bool, Self> {
        self.be()
            .remove_watchpoint(addr, len, watch_kind(kind))
            .map_err(|e| self.fatal(e))?;
        Ok(true)
    }
}

impl<B: TimeTravel> MonitorCmd for Target<'_, B> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        let cmd = String::from_utf8_lossy(cmd);
        let reply = self.be().monitor(cmd.trim());
        match reply {
            Ok(reply) => {
                if reply.moved {
                    let _ = self.refresh();
                }
                let text = reply.text.trim_end_matches('\n');
                if !text.is_empty() {
                    outputln!(out, "{text}");
                }
            }
            Err(e) => outputln!(out, "rback: {e}"),
        }
        Ok(())
    }
}

impl<B: TimeTravel> ExtendedMode for Target<'_, B> {
    // `run` starts the recording over: the program cannot be run anew, and
    // its arguments are the recorded ones.
    fn run(&mut self, _filename: Option<&[u8]>, _args: Args<'_, '_>) -> TargetResult<Pid, Self> {
        self.be().restart().map_err(|e| self.fatal(e))?;
        self.refresh().map_err(|e| self.fatal(e))?;
        Ok(self.pid())
    }

    fn attach(&mut self, _pid: Pid) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }

    fn query_if_attached(&mut self, _pid: Pid) -> TargetResult<AttachKind, Self> {
        // "Attached": gdb then detaches on quit, and the server lives on for
        // the next connection.
        Ok(AttachKind::Attach)
    }

    // `kill` with a pid (gdb's `kill` and the first half of `run`) only
    // ends the process as gdb sees it: the next `run` starts the recording
    // over, as with `gdbserver --multi`. A plain `k` ends the session.
    fn kill(&mut self, pid: Option<Pid>) -> TargetResult<ShouldTerminate, Self> {
        Ok(match pid {
            Some(_) => ShouldTerminate::No,
            None => ShouldTerminate::Yes,
        })
    }

    fn restart(&mut self) -> Result<(), Self::Error> {
        self.be().restart()?;
        self.refresh()
    }

    fn support_current_active_pid(&mut self) -> Option<CurrentActivePidOps<'_, Self>> {
        Some(self)
    }
}

impl<B: TimeTravel> Target<'_, B> {
    fn pid(&self) -> Pid {
        NonZeroUsize::new(self.backend.borrow().pid() as usize).unwrap_or(NonZeroUsize::MIN)
    }
}

impl<B: TimeTravel> CurrentActivePid for Target<'_, B> {
    fn current_active_pid(&mut self) -> Result<Pid, Self::Error> {
        Ok(self.pid())
    }
}

impl<B: TimeTravel> gdbstub::target::ext::target_description_xml_override::TargetDescriptionXmlOverride
    for Target<'_, B>
{
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        Ok(copy_window(self.xml.as_bytes(), offset, length, buf))
    }
}

impl<B: TimeTravel> gdbstub::target::ext::exec_file::ExecFile for Target<'_, B> {
    fn get_exec_file(
        &self,
        _pid: Option<Pid>,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        Ok(copy_window(&self.exec_file, offset, length, buf))
    }
}

impl<B: TimeTravel> gdbstub::target::ext::auxv::Auxv for Target<'_, B> {
    fn get_auxv(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_window(&self.auxv, offset, length, buf))
    }
}

// Host I/O: gdb reads the program's files through the server, so it loads
// exactly the binaries the recording ran, not whatever sits at those paths
// on this machine now. Read-only: the recording is not to be edited.
impl<B: TimeTravel> HostIo for Target<'_, B> {
    fn support_open(&mut self) -> Option<HostIoOpenOps<'_, Self>> {
        Some(self)
    }

    fn support_close(&mut self) -> Option<HostIoCloseOps<'_, Self>> {
        Some(self)
    }

    fn support_pread(&mut self) -> Option<HostIoPreadOps<'_, Self>> {
        Some(self)
    }

    fn support_fstat(&mut self) -> Option<HostIoFstatOps<'_, Self>> {
        Some(self)
    }
}

impl<B: TimeTravel> HostIoOpen for Target<'_, B> {
    fn open(&mut self, filename: &[u8], flags: HostIoOpenFlags, _mode: HostIoOpenMode) -> HostIoResult<u32, Self> {
        let writes = HostIoOpenFlags::O_WRONLY | HostIoOpenFlags::O_RDWR | HostIoOpenFlags::O_CREAT;
        if flags.intersects(writes) {
            return Err(HostIoError::Errno(HostIoErrno::EACCES));
        }
        let Ok(path) = std::str::from_utf8(filename) else {
            return Err(HostIoError::Errno(HostIoErrno::ENOENT));
        };
        let opened = self.be().open_file(path);
        match opened {
            Ok(Some(file)) => {
                let fd = self.next_fd;
                self.next_fd += 1;
                self.files.insert(fd, file);
                Ok(fd)
            }
            Ok(None) => Err(HostIoError::Errno(HostIoErrno::ENOENT)),
            Err(_) => Err(HostIoError::Errno(HostIoErrno::EIO)),
        }
    }
}

impl<B: TimeTravel> HostIoClose for Target<'_, B> {
    fn close(&mut self, fd: u32) -> HostIoResult<(), Self> {
        match self.files.remove(&fd) {
            Some(_) => Ok(()),
            None => Err(HostIoError::Errno(HostIoErrno::EBADF)),
        }
    }
}

impl<B: TimeTravel> HostIoPread for Target<'_, B> {
    fn pread(&mut self, fd: u32, count: usize, offset: u64, buf: &mut [u8]) -> HostIoResult<usize, Self> {
        let file = self.files.get(&fd).ok_or(HostIoError::Errno(HostIoErrno::EBADF))?;
        let n = count.min(buf.len());
        Ok(file.read_at(&mut buf[..n], offset)?)
    }
}

impl<B: TimeTravel> HostIoFstat for Target<'_, B> {
    fn fstat(&mut self, fd: u32) -> HostIoResult<HostIoStat, Self> {
        let file = self.files.get(&fd).ok_or(HostIoError::Errno(HostIoErrno::EBADF))?;
        let m = file.metadata()?;
        Ok(HostIoStat {
            st_dev: m.dev() as u32,
            st_ino: m.ino() as u32,
            st_mode: HostIoOpenMode::from_bits_truncate(m.mode()),
            st_nlink: m.nlink() as u32,
            st_uid: m.uid(),
            st_gid: m.gid(),
            st_rdev: m.rdev() as u32,
            st_size: m.size(),
            st_blksize: m.blksize(),
            st_blocks: m.blocks(),
            st_atime: m.atime() as u32,
            st_mtime: m.mtime() as u32,
            st_ctime: m.ctime() as u32,
        })
    }
}

/// Runs the pending movement when gdbstub waits for the target to stop.
pub(crate) struct EventLoop<'b, B, W>(PhantomData<(&'b mut B, W)>);

impl<'b, B: TimeTravel, W: Write> BlockingEventLoop for EventLoop<'b, B, W> {
    type Target = Target<'b, B>;
    type Connection = Link<'b, W>;
    type StopReason = MultiThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut Self::Target,
        conn: &mut Self::Connection,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<BackendError, std::io::Error>> {
        let (reason, notes) = target.run_pending();
        for note in notes {
            conn.console(&format!("rback: {note}\n"))
                .map_err(WaitForStopReasonError::Connection)?;
        }
        Ok(Event::TargetStopped(reason))
    }

    // The reader thread already asked the backend to stop; the stop itself
    // comes back from `resume` as `Stop::Interrupted`.
    fn on_interrupt(_target: &mut Self::Target) -> Result<Option<Self::StopReason>, BackendError> {
        Ok(None)
    }
}
