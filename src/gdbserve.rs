//! The gdb server's backend: [`gdbstub_server::TimeTravel`] over the
//! recorder's [`Timeline`], and two ways to reach it (stdio, or stock gdb
//! started already connected); listening on a socket is [`crate::listen`]'s.
//!
//! gdb is shown one process whose id never changes, although the live
//! tracee behind it is a new fork after every jump back. The files gdb asks
//! for by their recorded names are answered from the trace's copies, so it
//! reads exactly the binaries that ran; host I/O serves nothing else, and
//! each copy only once it is checked ([`recorder::files::open_verified`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use gdbstub_server::{
    BackendError, CoreRegs, Direction, Ended, InterruptHook, MonitorReply, Motion, Stop, TimeTravel, WatchKind,
    X86_64Regs,
};
use recorder::files;
use recorder::live::LiveRecording;
use recorder::timeline::{self, CheckpointPolicy, OutputTo, StopReason, Timeline};
use recorder::trace::{Event, FileHash, FILES_DIR};
use recorder::tracee::Regs;
use recorder::{EventIdx, RemoteAddr};

use crate::session::TimelineMemory;
use crate::tls::{self, ThreadDb};

/// Reads larger than this that fail are retried page by page, so that a
/// read running into an unmapped page still returns what precedes it.
const PAGE: u64 = 4096;

pub struct Backend {
    timeline: Timeline,
    /// The trace, by its canonical path.
    trace_dir: PathBuf,
    files_dir: PathBuf,
    /// Every copy the log names (well-formed hashes only): the only files
    /// host I/O serves, each checked against its hash when opened.
    copies: HashSet<String>,
    /// The pid gdb sees: the first live tracee's.
    pid: u32,
    avx: bool,
    /// Recorded path of each executable and loader to its trace copy.
    recorded: HashMap<String, PathBuf>,
    /// How many events `recorded` was learned from (a live recording grows).
    recorded_from: u64,
    /// Trace copy to its `DT_SONAME` (`None`: none), read once each.
    sonames: HashMap<PathBuf, Option<String>>,
    warning: Option<String>,
    /// The breakpoints gdb has inserted.
    wanted_breakpoints: BTreeSet<u64>,
    /// The breakpoints the timeline has.
    timeline_breakpoints: BTreeSet<u64>,
    /// Set by the interrupt hook while a movement runs.
    interrupt_requested: Arc<AtomicBool>,
    /// rip and rsp as they were at this position, once gdb has written
    /// registers here (see `resume`).
    unchanged: Option<(u64, u64)>,
}

fn backend_err(e: impl std::fmt::Display) -> BackendError {
    BackendError(e.to_string())
}

impl Backend {
    /// Serves a trace, following one of its processes (`None`: the first),
    /// with the program's output shown `output` (see
    /// `Timeline::show_program_output`).
    pub fn open(trace_dir: &Path, policy: CheckpointPolicy, process: Option<i32>, output: OutputTo) -> Result<Backend> {
        let mut timeline = Timeline::open_process(trace_dir, policy, process)
            .with_context(|| format!("cannot replay {}", trace_dir.display()))?;
        timeline.show_program_output(output);
        Backend::over(timeline, trace_dir)
    }

    /// Serves a program as it is recorded (`rback run --gdb`).
    pub fn live(recording: LiveRecording, policy: CheckpointPolicy) -> Result<Backend> {
        let trace_dir = recording.trace_dir().to_path_buf();
        let timeline = Timeline::open_live(recording, policy).context("cannot follow the recording")?;
        Backend::over(timeline, &trace_dir)
    }

    fn over(timeline: Timeline, trace_dir: &Path) -> Result<Backend> {
        // The tracee's mappings name the copies by absolute path.
        let trace_dir = trace_dir
            .canonicalize()
            .with_context(|| format!("cannot find {}", trace_dir.display()))?;
        let files_dir = trace_dir.join(FILES_DIR);
        let avx = timeline.fp_regs()?.ymm_high.is_some();
        let pid = timeline.pid().as_raw() as u32;
        Ok(Backend {
            timeline,
            trace_dir,
            files_dir,
            copies: HashSet::new(),
            pid,
            avx,
            recorded: HashMap::new(),
            recorded_from: 0,
            sonames: HashMap::new(),
            warning: None,
            wanted_breakpoints: BTreeSet::new(),
            unchanged: None,
            timeline_breakpoints: BTreeSet::new(),
            interrupt_requested: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The trace copy that stands for `path`, a name the program used (an
    /// executable, the loader, a library from the loader's list) or a copy
    /// itself.
    fn trace_copy_of(&mut self, path: &str) -> Result<Option<PathBuf>, BackendError> {
        self.learn_copies();
        if let Some(copy) = self.recorded.get(path) {
            return Ok(Some(copy.clone()));
        }
        let p = Path::new(path);
        if self.known_copy(p).is_some() {
            return Ok(Some(p.to_path_buf()));
        }
        // `/lib64/ld-linux-x86-64.so.2` is recorded by the path it resolves
        // to on the machine that recorded.
        if let Some(copy) = p
            .canonicalize()
            .ok()
            .and_then(|real| self.recorded.get(&*real.to_string_lossy()).cloned())
        {
            return Ok(Some(copy));
        }
        // A library: the loader names it by the path it found, whose last
        // component is the soname it looked for.
        let Some(base) = p.file_name().and_then(|b| b.to_str()) else {
            return Ok(None);
        };
        let maps = self.timeline.mappings().map_err(backend_err)?;
        for line in maps.lines() {
            let Some(file) = line.split_whitespace().nth(5) else {
                continue;
            };
            // The kernel maps the loader from its recorded path, not the copy.
            let file = match self.recorded.get(file) {
                Some(copy) => copy.clone(),
                None => PathBuf::from(file),
            };
            if self.known_copy(&file).is_none() {
                continue;
            }
            let soname = self.sonames.entry(file.clone()).or_insert_with(|| soname(&file));
            if soname.as_deref() == Some(base) {
                return Ok(Some(file));
            }
        }
        Ok(None)
    }

    /// Learns the copies named by the events since the last call (a live
    /// recording grows), and the recorded paths of executables and loaders.
    /// A name that is not a content hash is never joined to `files/`: such
    /// a file is not served, and replay refuses it when it gets there.
    fn learn_copies(&mut self) {
        let trace_dir = self.trace_dir.clone();
        let learn = |hash: &FileHash, copies: &mut HashSet<String>| {
            let copy = files::copy_path(&trace_dir, hash).ok()?;
            copies.insert(hash.0.clone());
            Some(copy)
        };
        for event in self.timeline.log().events_from(self.recorded_from) {
            self.recorded_from += 1;
            match event {
                Event::Exec(exec) => {
                    if let Some(copy) = learn(&exec.exe, &mut self.copies) {
                        self.recorded.insert(exec.exe_path.clone(), copy);
                    }
                    if let Some((path, hash)) = &exec.interp {
                        if let Some(copy) = learn(hash, &mut self.copies) {
                            self.recorded.insert(path.clone(), copy);
                        }
                    }
                    // A recording that starts from an image maps the files
                    // the image names from the start, with no event of
                    // their own.
                    let image = exec.image.as_ref().and_then(|start| {
                        let path = files::verify(&trace_dir, &start.copy).ok()?;
                        recorder::image::format::ImageReader::open(&path).ok()
                    });
                    for file in image.iter().flat_map(|r| &r.header().files) {
                        if let Some(copy) = learn(&file.hash, &mut self.copies) {
                            if !file.name.is_empty() {
                                self.recorded.insert(file.name.clone(), copy);
                            }
                        }
                    }
                }
                Event::Syscall(call) => {
                    if let Some(hash) = &call.mapped_file {
                        learn(hash, &mut self.copies);
                    }
                }
                _ => {}
            }
        }
    }

    /// The hash of `path` if it is one of the trace's copies that the log
    /// names.
    fn known_copy(&self, path: &Path) -> Option<FileHash> {
        if path.parent() != Some(self.files_dir.as_path()) {
            return None;
        }
        let name = path.file_name()?.to_str()?;
        self.copies.contains(name).then(|| FileHash(name.to_string()))
    }

    /// `/proc/PID/maps` with the trace copies shown by the names the
    /// program used.
    fn maps_with_recorded_names(&mut self) -> Result<String, BackendError> {
        let maps = self.timeline.mappings().map_err(backend_err)?;
        let by_copy: HashMap<PathBuf, String> = self.recorded.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
        let mut out = String::new();
        for line in maps.lines() {
            let file = line.split_whitespace().nth(5).map(PathBuf::from);
            let name = match &file {
                Some(f) if f.parent() == Some(self.files_dir.as_path()) => by_copy
                    .get(f)
                    .cloned()
                    .or_else(|| self.sonames.entry(f.clone()).or_insert_with(|| soname(f)).clone()),
                _ => None,
            };
            match (file, name) {
                (Some(f), Some(n)) => out += &line.replacen(&*f.to_string_lossy(), &n, 1),
                _ => out += line,
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Gives the timeline the breakpoints gdb has in now, changing only
    /// what changed: churn costs the timeline its counts of arrivals. One
    /// where nothing is mapped (gdb sometimes puts a step-resume breakpoint
    /// at 0) is held back until something is, since its int3 cannot be
    /// written.
    fn sync_breakpoints(&mut self) {
        let gone: Vec<u64> = self
            .timeline_breakpoints
            .difference(&self.wanted_breakpoints)
            .copied()
            .collect();
        for addr in gone {
            self.timeline.remove_breakpoint(RemoteAddr(addr));
            self.timeline_breakpoints.remove(&addr);
        }
        let new: Vec<u64> = self
            .wanted_breakpoints
            .difference(&self.timeline_breakpoints)
            .copied()
            .collect();
        for addr in new {
            if self.timeline.read_memory(RemoteAddr(addr), 1).is_ok() {
                self.timeline.set_breakpoint(RemoteAddr(addr));
                self.timeline_breakpoints.insert(addr);
            }
        }
    }

    fn describe_position(&self) -> String {
        let p = self.timeline.position();
        let last = self.timeline.events();
        let within = match p.point {
            timeline::Point::Start { steps: 0 } => "at its start".to_string(),
            timeline::Point::End => "just before the event".to_string(),
            _ => "inside".to_string(),
        };
        format!("event {} of {} ({within})", p.event, last.0)
    }
}

impl Backend {
    /// libc's descriptions of its TLS structures, from the libc mapped now
    /// (only a checked trace copy is read).
    fn thread_db(&mut self) -> Result<Option<ThreadDb>, BackendError> {
        self.learn_copies();
        let maps = self.timeline.mappings().map_err(backend_err)?;
        let mut mapped = Vec::new();
        for line in maps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(range), Some(offset), Some(file)) = (fields.first(), fields.get(2), fields.get(5)) else {
                continue;
            };
            let file = self.recorded.get(*file).cloned().unwrap_or_else(|| PathBuf::from(file));
            let start = range.split('-').next().and_then(|a| u64::from_str_radix(a, 16).ok());
            let offset = u64::from_str_radix(offset, 16).ok();
            if let (Some(start), Some(offset), Some(_)) = (start, offset, self.known_copy(&file)) {
                mapped.push((start, offset, file));
            }
        }
        let mem = TimelineMemory(&self.timeline);
        tls::find_thread_db(mapped.iter().map(|(s, o, f)| (*s, *o, f.as_path())), &mem).map_err(backend_err)
    }
}

/// A file's `DT_SONAME`, if it is a shared library that has one.
fn soname(file: &Path) -> Option<String> {
    use object::{Object, ObjectSection};
    const DT_NULL: u64 = 0;
    const DT_SONAME: u64 = 14;
    let bytes = std::fs::read(file).ok()?;
    let elf = object::File::parse(&*bytes).ok()?;
    let dynamic = elf.section_by_name(".dynamic")?.data().ok()?;
    let strings = elf.section_by_name(".dynstr")?.data().ok()?;
    let mut offset = None;
    for pair in dynamic.chunks_exact(16) {
        let (tag, value) = pair.split_at(8);
        let tag = u64::from_le_bytes(tag.try_into().ok()?);
        if tag == DT_NULL {
            break;
        }
        if tag == DT_SONAME {
            offset = Some(u64::from_le_bytes(value.try_into().ok()?));
        }
    }
    let rest = strings.get(usize::try_from(offset?).ok()?..)?;
    let name = rest.split(|&b| b == 0).next()?;
    std::str::from_utf8(name).ok().map(str::to_string)
}

fn core_from(r: &Regs) -> CoreRegs {
    CoreRegs {
        rax: r.rax,
        rbx: r.rbx,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        rbp: r.rbp,
        rsp: r.rsp,
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rip: r.rip,
        eflags: r.eflags,
        cs: r.cs,
        ss: r.ss,
        ds: r.ds,
        es: r.es,
        fs: r.fs,
        gs: r.gs,
        fs_base: r.fs_base,
        gs_base: r.gs_base,
        orig_rax: r.orig_rax,
    }
}

fn apply_core(c: &CoreRegs, r: &mut Regs) {
    r.rax = c.rax;
    r.rbx = c.rbx;
    r.rcx = c.rcx;
    r.rdx = c.rdx;
    r.rsi = c.rsi;
    r.rdi = c.rdi;
    r.rbp = c.rbp;
    r.rsp = c.rsp;
    r.r8 = c.r8;
    r.r9 = c.r9;
    r.r10 = c.r10;
    r.r11 = c.r11;
    r.r12 = c.r12;
    r.r13 = c.r13;
    r.r14 = c.r14;
    r.r15 = c.r15;
    r.rip = c.rip;
    r.eflags = c.eflags;
    // orig_rax is left alone: gdb sets it to -1 whenever it writes the pc
    // (so that a real kernel would not restart a syscall), and replay
    // decides restarts from the recording anyway. Segment selectors and
    // bases are the kernel's business: a change from gdb there would only
    // make the tracee unrunnable.
}

fn watch_kind(kind: WatchKind) -> timeline::WatchKind {
    match kind {
        WatchKind::Write => timeline::WatchKind::Write,
        WatchKind::Read => timeline::WatchKind::Read,
        WatchKind::Access => timeline::WatchKind::Access,
    }
}

impl Backend {
    /// The id gdb knows a thread by: the first thread has the process id
    /// gdb is shown (which never changes, see `pid`), the others their ids
    /// as recorded.
    fn gdb_thread_id(&self, tid: i32) -> u32 {
        let first = self.timeline.threads().first().map(|t| t.tid);
        if Some(tid) == first {
            self.pid
        } else {
            tid as u32
        }
    }
}

impl TimeTravel for Backend {
    fn resume(&mut self, dir: Direction, motion: Motion) -> Result<Stop, BackendError> {
        // gdb's `call` (and `print f(3)`) sets $pc to the function and runs:
        // a replay can only run the code the recording ran, so running on
        // would replay the recording instead and stop somewhere unrelated.
        // A function call from gdb pushes a frame (rsp) and jumps (rip);
        // gdb puts both back when it gives up on the call.
        let moved = match self.unchanged {
            Some((rip, rsp)) => {
                let now = self.timeline.regs().map_err(backend_err)?;
                now.rip != rip || now.rsp != rsp
            }
            None => false,
        };
        if moved {
            return Err(BackendError::new(
                "cannot run code that the recording did not run (a function call from gdb, or a changed $pc or $sp): \
                 the recording is read-only",
            ));
        }
        self.unchanged = None;
        if self.timeline.has_scratch_changes() {
            self.warning = Some(
                "changes made from gdb to memory or registers were thrown away: the recording is read-only".into(),
            );
        }
        // gdb steps over a breakpoint by taking it out for one step; the
        // timeline steps without stopping at breakpoints anyway, and taking
        // one out and back costs it its counts. Only a continue needs them.
        if motion == Motion::Continue {
            self.sync_breakpoints();
        }
        // The timeline forgets interrupts from before a movement begins, and
        // gdb's may come just then: repeat it until the movement ends.
        let interrupter = self.timeline.interrupter();
        let requested = self.interrupt_requested.clone();
        let done = AtomicBool::new(false);
        let timeline = &mut self.timeline;
        let reason = std::thread::scope(|scope| {
            let watcher = scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    if requested.load(Ordering::SeqCst) {
                        interrupter.interrupt();
                    }
                    std::thread::park_timeout(Duration::from_millis(2));
                }
            });
            let reason = match (dir, motion) {
                // gdb keeps its breakpoints by address across an exec.
                (Direction::Forward, Motion::Continue) => loop {
                    match timeline.cont() {
                        Ok(StopReason::Exec) => continue,
                        other => break other,
                    }
                },
                (Direction::Forward, Motion::Step) => timeline.stepi(),
                (Direction::Backward, Motion::Continue) => timeline.reverse_cont(),
                (Direction::Backward, Motion::Step) => timeline.reverse_stepi(),
            };
            done.store(true, Ordering::SeqCst);
            watcher.thread().unpark();
            reason
        });
        // An interrupt that came as the movement ended for another reason
        // (a breakpoint hit gdb will resume from at once, when it has an
        // ignore count) stops the next movement instead, as gdbserver's
        // SIGINT left pending in a stopped inferior does.
        if matches!(reason, Ok(StopReason::Interrupted) | Err(_)) {
            self.interrupt_requested.store(false, Ordering::SeqCst);
        }
        let reason = reason.map_err(backend_err)?;
        Ok(match reason {
            StopReason::Breakpoint(addr) => Stop::Breakpoint(addr.0),
            StopReason::Stepped | StopReason::Arrived => Stop::Stepped,
            StopReason::Signal(sig) => Stop::Signal(sig),
            StopReason::Watchpoint { addr, kind } => Stop::Watchpoint {
                addr: addr.0,
                kind: match kind {
                    timeline::WatchKind::Write => WatchKind::Write,
                    timeline::WatchKind::Read => WatchKind::Read,
                    timeline::WatchKind::Access => WatchKind::Access,
                },
            },
            StopReason::StartOfRecording => Stop::StartOfRecording,
            StopReason::EndOfRecording => Stop::EndOfRecording,
            StopReason::Interrupted => Stop::Interrupted,
            StopReason::Exec => unreachable!("a continue goes on over an exec"),
        })
    }

    fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    fn has_avx(&self) -> bool {
        self.avx
    }

    fn read_registers(&mut self) -> Result<X86_64Regs, BackendError> {
        let core = core_from(&self.timeline.regs().map_err(backend_err)?);
        let fp = self.timeline.fp_regs().map_err(backend_err)?;
        Ok(X86_64Regs {
            core,
            fxsave: fp.fxsave.to_vec(),
            ymm_high: fp.ymm_high.map(|y| y.to_vec()),
            avx: self.avx,
        })
    }

    fn write_registers(&mut self, regs: &X86_64Regs) -> Result<(), BackendError> {
        // gdb writes all registers to change one; only the general ones
        // may differ from what is there.
        let mut now = self.read_registers()?;
        now.avx = regs.avx;
        if !regs.same_vector_state(&now) {
            return Err(BackendError::new(
                "changing floating-point or vector registers is not supported",
            ));
        }
        let before = self.timeline.regs().map_err(backend_err)?;
        let mut r = before;
        apply_core(&regs.core, &mut r);
        // gdb rewrites unchanged registers (after `run`, say): that is no
        // scratch change, and must not be warned about later.
        if core_from(&r) == core_from(&before) {
            return Ok(());
        }
        // What the registers were at the position, before any change.
        self.unchanged.get_or_insert((before.rip, before.rsp));
        self.timeline.set_regs(&r).map_err(backend_err)
    }

    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<usize, BackendError> {
        if let Ok(bytes) = self.timeline.read_memory(RemoteAddr(addr), buf.len()) {
            buf[..bytes.len()].copy_from_slice(&bytes);
            return Ok(bytes.len());
        }
        let mut done = 0;
        while done < buf.len() {
            let at = addr + done as u64;
            let chunk = ((PAGE - at % PAGE) as usize).min(buf.len() - done);
            match self.timeline.read_memory(RemoteAddr(at), chunk) {
                Ok(bytes) => {
                    buf[done..done + bytes.len()].copy_from_slice(&bytes);
                    done += bytes.len();
                }
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<(), BackendError> {
        self.timeline.write_memory(RemoteAddr(addr), data).map_err(backend_err)
    }

    // gdb takes every breakpoint out at each stop and puts them back before
    // each resume; the timeline only hears of the difference, at the resume
    // (see `sync_breakpoints`).
    fn set_breakpoint(&mut self, addr: u64) -> Result<(), BackendError> {
        Timeline::check_breakpoint_address(RemoteAddr(addr)).map_err(backend_err)?;
        self.wanted_breakpoints.insert(addr);
        Ok(())
    }

    fn remove_breakpoint(&mut self, addr: u64) -> Result<(), BackendError> {
        self.wanted_breakpoints.remove(&addr);
        Ok(())
    }

    fn set_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<bool, BackendError> {
        // The timeline refuses what the debug registers cannot watch; gdb
        // then reports that it could not insert the watchpoint.
        Ok(self
            .timeline
            .set_watchpoint(RemoteAddr(addr), len as usize, watch_kind(kind))
            .is_ok())
    }

    fn remove_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<(), BackendError> {
        self.timeline
            .remove_watchpoint(RemoteAddr(addr), len as usize, watch_kind(kind));
        Ok(())
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn threads(&mut self) -> Result<Vec<u32>, BackendError> {
        Ok(self
            .timeline
            .threads()
            .iter()
            .map(|t| self.gdb_thread_id(t.tid))
            .collect())
    }

    fn current_thread(&mut self) -> Result<u32, BackendError> {
        let running = self.timeline.threads().into_iter().find(|t| t.running);
        Ok(running.map_or(self.pid, |t| self.gdb_thread_id(t.tid)))
    }

    /// gdb's `info threads` shows it like a native thread's name: the
    /// program's, as /proc would give it (15 bytes), and which thread runs
    /// when the program moves.
    fn thread_extra_info(&mut self, tid: u32) -> Result<Option<String>, BackendError> {
        let Some(thread) = self
            .timeline
            .threads()
            .into_iter()
            .find(|t| self.gdb_thread_id(t.tid) == tid)
        else {
            return Ok(None);
        };
        let name = self.timeline.log().header.comm();
        Ok(Some(if thread.running {
            format!("{name}, running")
        } else {
            format!("{name}, waiting")
        }))
    }

    fn select_thread(&mut self, tid: u32) -> Result<(), BackendError> {
        let wanted = self
            .timeline
            .threads()
            .into_iter()
            .find(|t| self.gdb_thread_id(t.tid) == tid)
            .ok_or_else(|| BackendError::new(format!("no thread {tid}")))?;
        if !wanted.selected {
            self.timeline.select_thread(wanted.number).map_err(backend_err)?;
        }
        Ok(())
    }

    fn auxv(&mut self) -> Result<Vec<u8>, BackendError> {
        self.timeline.auxv().map_err(backend_err)
    }

    /// The program's recorded path: gdb shows it, and reads it through
    /// host I/O, which answers with the trace's copy.
    fn exec_file(&mut self) -> Result<PathBuf, BackendError> {
        let pid = self.timeline.pid();
        let copy = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map_err(|e| BackendError(format!("cannot find the replayed program's executable: {e}")))?;
        let recorded = self
            .recorded
            .iter()
            .find(|(_, c)| **c == copy)
            .map(|(path, _)| PathBuf::from(path));
        Ok(recorded.unwrap_or(copy))
    }

    fn open_file(&mut self, path: &str) -> Result<Option<File>, BackendError> {
        let pid = self.pid;
        if path == format!("/proc/{pid}/maps") || path == format!("/proc/{pid}/task/{pid}/maps") {
            let text = self.maps_with_recorded_names()?;
            return unlinked_file_with(text.as_bytes()).map(Some);
        }
        let Some(copy) = self.trace_copy_of(path)? else {
            return Ok(None);
        };
        // Only a copy the log names is served, and only once it has been
        // checked: a regular file with the recorded contents.
        let Some(hash) = self.known_copy(&copy) else {
            return Ok(None);
        };
        match files::open_verified(&self.trace_dir, &hash) {
            Ok((file, _)) => Ok(Some(file)),
            Err(e) => {
                eprintln!("rback: not serving {path} to gdb: {e}");
                Err(backend_err(e))
            }
        }
    }

    fn monitor(&mut self, cmd: &str) -> Result<MonitorReply, BackendError> {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let stay = |text: String| MonitorReply { text, moved: false };
        match words.as_slice() {
            [] | ["help"] => Ok(stay(MONITOR_HELP.to_string())),
            ["when"] => Ok(stay(format!("Current {}\n", self.describe_position()))),
            ["goto", n] => {
                let n: u64 = n
                    .parse()
                    .map_err(|_| BackendError(format!("`{n}` is not an event number")))?;
                self.timeline.goto_event(EventIdx(n)).map_err(backend_err)?;
                Ok(MonitorReply {
                    text: format!("Now at {}\n", self.describe_position()),
                    moved: true,
                })
            }
            ["checkpoint", "save", file] => {
                let file = Path::new(file);
                let saved = recorder::image::save(&self.timeline, &self.trace_dir, file).map_err(backend_err)?;
                let mut text = crate::image::describe_saved(&self.timeline, file, &saved) + "\n";
                for note in saved.notes {
                    text += &format!("note: {note}\n");
                }
                Ok(stay(text))
            }
            ["checkpoint"] | ["checkpoint", _] => {
                let name = words.get(1).map(|s| s.to_string());
                let id = self.timeline.checkpoint(name).map_err(backend_err)?;
                Ok(stay(format!("Checkpoint {id} at {}\n", self.describe_position())))
            }
            ["restart", id] => {
                self.timeline.restart(id).map_err(backend_err)?;
                Ok(MonitorReply {
                    text: format!("Now at {}\n", self.describe_position()),
                    moved: true,
                })
            }
            ["info", "checkpoints"] => {
                let mut text = String::new();
                for c in self.timeline.checkpoints() {
                    let name = c.name.map(|n| format!(" \"{n}\"")).unwrap_or_default();
                    text += &format!("{}{name}: event {}\n", c.id, c.position.event);
                }
                Ok(stay(text))
            }
            _ => Err(BackendError(format!(
                "unknown monitor command `{cmd}` (try `monitor help`)"
            ))),
        }
    }

    fn restart(&mut self) -> Result<(), BackendError> {
        self.timeline.goto_event(EventIdx(1)).map_err(backend_err)?;
        Ok(())
    }

    fn siginfo(&mut self) -> Result<Option<Vec<u8>>, BackendError> {
        self.timeline.siginfo().map_err(backend_err)
    }

    fn tls_address(&mut self, link_map: u64, offset: u64) -> Result<Option<u64>, BackendError> {
        let Some(db) = self.thread_db()? else {
            return Err(BackendError::new("no libc with thread debugging data is loaded"));
        };
        let fs_base = self.timeline.regs().map_err(backend_err)?.fs_base;
        let block = db
            .block(&TimelineMemory(&self.timeline), fs_base, link_map)
            .map_err(backend_err)?;
        Ok(Some(block + offset))
    }

    fn interrupter(&mut self) -> Option<InterruptHook> {
        let requested = self.interrupt_requested.clone();
        Some(Arc::new(move || requested.store(true, Ordering::SeqCst)))
    }
}

const MONITOR_HELP: &str = "\
rback monitor commands:
  monitor when                where the program is in the recording (event number)
  monitor goto EVENT          go to the start of event EVENT's interval
  monitor checkpoint [NAME]   take a checkpoint here
  monitor checkpoint save FILE  save the program here as an image for `rback restart`
  monitor restart ID|NAME     go back (or forward) to a checkpoint
  monitor info checkpoints    list the checkpoints
";

/// A read-only file holding `bytes` and no name, for host I/O answers that
/// are made up rather than read from disk.
fn unlinked_file_with(bytes: &[u8]) -> Result<File, BackendError> {
    let path = std::env::temp_dir().join(format!(
        "rback-gdb-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| BackendError(format!("cannot create {}: {e}", path.display())))?;
    let _ = std::fs::remove_file(&path);
    f.write_all(bytes).map_err(backend_err)?;
    Ok(f)
}

// ---------------------------------------------------------------------------
// Front doors

/// Serves gdb over stdin/stdout (`target extended-remote | rback replay
/// --gdb-stdio TRACE`). Everything rback says goes to stderr.
pub fn serve_stdio(trace_dir: &Path, policy: CheckpointPolicy, process: Option<i32>) -> Result<()> {
    // gdb may run us in its terminal's process group: Ctrl-C there is for
    // gdb, which turns it into an interrupt packet.
    recorder::sys::ignore_terminal_signals();
    // Its stdout is gdb's connection; its stderr, gdb's terminal.
    let mut backend = Backend::open(trace_dir, policy, process, OutputTo::Stderr)?;
    let ended = gdbstub_server::serve(std::io::stdin(), std::io::stdout(), &mut backend)?;
    if ended == Ended::ConnectionClosed {
        eprintln!("rback: gdb closed the connection");
    }
    Ok(())
}

/// Runs stock gdb already connected to a server on `trace_dir` over a
/// pipe, with `gdb_args` passed through and `server_args` given to the
/// server (the checkpoint options); returns gdb's exit status.
pub fn run_gdb(trace_dir: &Path, gdb_args: &[String], server_args: &[String]) -> Result<i32> {
    // Fail here, in one line, rather than inside gdb's pipe.
    recorder::trace::TraceLog::load(trace_dir)?;
    let rback = std::env::current_exe().context("cannot find rback's own executable")?;
    // Ctrl-C is for gdb (which interrupts the replay); rback waits for it.
    recorder::sys::ignore_terminal_signals();
    let mut cmd = std::process::Command::new("gdb");
    cmd.arg("-iex").arg(MONITOR_HOOK);
    // Going far back in a long recording can take longer than gdb's
    // default 2 s wait for a reply (`monitor goto`, host I/O meanwhile).
    cmd.arg("-iex").arg("set remotetimeout 60");
    let extra: Vec<String> = server_args.iter().map(|a| shell_quote(a)).collect();
    cmd.arg("-ex").arg(format!(
        "target extended-remote | {} replay --gdb-stdio {} {}",
        shell_quote(&rback.to_string_lossy()),
        extra.join(" "),
        shell_quote(&trace_dir.to_string_lossy())
    ));
    cmd.args(gdb_args);
    let status = cmd.status().map_err(|e| anyhow!("cannot run gdb: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

/// gdb caches registers and frames and has no reason to think a `monitor`
/// command changed them; this hook makes it drop them after every one.
/// (`define` needs several lines, which only Python can pass in one `-iex`.)
pub(crate) const MONITOR_HOOK: &str =
    r#"python gdb.execute("define hookpost-monitor\nmaintenance flush register-cache\nend")"#;

/// Quotes for the shell gdb starts the server with.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
