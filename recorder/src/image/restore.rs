//! Restarting an image: a fresh process, made into the saved program.
//!
//! rback forks a child that stops itself (`sys::fork_stopped`), seizes it,
//! maps its page there and, through syscalls injected from that page,
//! unmaps everything the child had of rback, maps the image's regions at
//! their addresses (file-backed ones from the trace's copies, so pages the
//! image does not hold come from the file), writes the stored pages, sets
//! protections, the memory layout and auxiliary vector (`PR_SET_MM_MAP`,
//! which needs `CAP_SYS_RESOURCE`; without it the program keeps the
//! child's break and command line, and says so), signal actions, timers
//! and mask, working directory, limits and descriptors, then the
//! registers, and detaches. From there the program runs for real: it reads
//! the real clock and real files, with no seccomp filter and no rdtsc trap.
//!
//! rback's page stays mapped in the restarted program, at the address it
//! had in the recording and the replay: it is part of the address space the
//! program saw.

use std::path::{Path, PathBuf};

use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use crate::files;
use crate::image::abi::{self, MmMap, CLOSE_ALL, MM_MAP_SIZE, NSIG, OPEN_ONLY_FLAGS, PAGE, SIGSET_SIZE, USER_END};
use crate::image::format::{Backing, FdKind, ImageHeader, ImageReader, OpenFile, Region, ThreadWords};
use crate::program;
use crate::sys;
use crate::trace::{ExitStatus, FileHash, Registers};
use crate::tracee::{self, errno_name, PagePasses, Resume, Stop, Tracee, RBACK_PAGE};
use crate::{Error, RemoteAddr, Result};

/// How far timer ids are made in order to reach one (at a few
/// microseconds each, a fraction of a second).
const MAX_TIMER_ID_IN_ORDER: i32 = 1 << 16;

/// What becomes of a descriptor that cannot be opened again by path (a
/// pipe, a socket, a file that is gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unopenable {
    /// `/dev/null` in its place: reads see the end, writes vanish.
    DevNull,
    /// Closed: the program gets EBADF.
    Close,
}

#[derive(Clone, Debug)]
pub struct RestartOptions {
    /// Traces whose `files/` hold the copies the image refers to, looked in
    /// before the image's bundle (`FILE.files`, see `save::bundle`) and
    /// the trace the image was saved from.
    pub trace_dirs: Vec<PathBuf>,
    pub unopenable: Unopenable,
}

/// A restarted program, running freely as rback's child: wait for it with
/// [`wait_for_exit`].
#[derive(Debug)]
pub struct Restarted {
    pub pid: Pid,
    /// What could not be restored as it was, one line each.
    pub notes: Vec<String>,
}

/// Restarts the image at `image`.
pub fn restart(image: &Path, opts: &RestartOptions) -> Result<Restarted> {
    let mut built = build(image, opts, Under::Nothing)?;
    let pid = built.tracee.pid;
    // The other threads first: they are ready, and one running while the
    // first is still traced cannot end the process under rback's hands.
    for thread in &built.threads {
        ptrace::detach(thread.pid, None).map_err(|e| Error::ptrace("detach", thread.pid, e))?;
        thread.mark_gone();
    }
    ptrace::detach(pid, None).map_err(|e| Error::ptrace("detach", pid, e))?;
    // rback no longer traces it: dropping the tracee must not kill it.
    built.tracee.mark_gone();
    Ok(Restarted {
        pid,
        notes: std::mem::take(&mut built.notes),
    })
}

/// Who the restarted program runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Under {
    /// Nothing: it is let go (`rback restart`).
    Nothing,
    /// rback's recorder (`restart --record`): it stays traced, under the
    /// recording's seccomp filter, with `rdtsc` trapped; its timers are
    /// armed and its pending signals queued, for the recorder to record
    /// as they come.
    Recorder,
    /// A replay of such a recording: traced, under replay's filter, and
    /// nothing of the outside world comes back (timers, pending signals,
    /// files reopened by path): replay raises the recorded signals and
    /// emulates every call on a descriptor, so each descriptor the program
    /// had is `/dev/null` and only the trace's own copies are mapped.
    Replay(PagePasses),
}

/// A program built from an image, still traced and stopped: its first
/// thread (the process's id) and the others, in the image's order.
pub(crate) struct Built {
    pub tracee: Tracee,
    pub threads: Vec<Tracee>,
    pub header: ImageHeader,
    pub notes: Vec<String>,
}

/// Where the copies of the files `header` refers to are: the first of
/// `opts.trace_dirs`, then (with `anywhere`) the image's bundle and the
/// trace it was saved from, that holds an intact copy of each.
pub(crate) fn find_copies(
    image: &Path,
    header: &ImageHeader,
    opts: &RestartOptions,
    anywhere: bool,
) -> Result<Vec<PathBuf>> {
    let mut dirs = opts.trace_dirs.clone();
    if anywhere {
        let bundled = crate::image::save::bundle_dir(image);
        if bundled.is_dir() {
            dirs.push(bundled);
        }
        dirs.push(PathBuf::from(&header.trace_dir));
    }
    header
        .files
        .iter()
        .map(|f| find_copy(&f.hash, &f.name, &dirs))
        .collect()
}

/// Refuses an image of a program that runs on another kind of CPU.
pub(crate) fn check_cpu(image: &Path, header: &ImageHeader) -> Result<()> {
    let here = program::cpu_identity();
    if header.cpu != here {
        return Err(Error::Program(format!(
            "{} was saved from a recording made on a different CPU ({}); the program may have chosen its code by CPUID, so it restarts only on the same kind of CPU (this one: {})",
            image.display(),
            header.cpu.vendor,
            here.vendor
        )));
    }
    Ok(())
}

/// Builds the program of the image at `image` in a new process, and leaves
/// it stopped and traced, with its registers set.
pub(crate) fn build(image: &Path, opts: &RestartOptions, under: Under) -> Result<Built> {
    let mut reader = ImageReader::open(image)?;
    let header = reader.header().clone();
    check_cpu(image, &header)?;
    // A recorded restart has its copies in its own trace already, and its
    // replay must use nothing else.
    let copies = find_copies(image, &header, opts, under == Under::Nothing)?;

    let filter = match under {
        Under::Nothing => None,
        // The syscall buffer's gadget is never let through: a restarted
        // recording does not buffer (see `syscallbuf_off`).
        Under::Recorder => Some(tracee::seccomp_filter(PagePasses::Injections)),
        Under::Replay(passes) => Some(tracee::seccomp_filter(passes)),
    };
    let filter = filter.as_deref();
    let mut notes = Vec::new();
    let wanted = match under {
        // Replay gives the program its recorded ids whatever its own is.
        Under::Replay(_) => None,
        _ => Some(header.pid).filter(|&p| p > 0),
    };
    let pid = match sys::fork_stopped(wanted, filter) {
        Ok(pid) => pid,
        Err(e) => {
            let pid = sys::fork_stopped(None, filter).map_err(|e| Error::Spawn(format!("fork failed: {e}")))?;
            let why = match e {
                nix::errno::Errno::EEXIST => "that id is taken".to_string(),
                nix::errno::Errno::EPERM => "choosing one needs CAP_CHECKPOINT_RESTORE".to_string(),
                other => other.desc().to_string(),
            };
            notes.push(format!(
                "the program's process id was {} and is {pid} now ({why}): ids it kept in memory are stale",
                header.pid
            ));
            pid
        }
    };
    let mut tracee = Tracee::seize(pid).inspect_err(|_| {
        // Not traced, so no Tracee will kill it: it would wait, stopped,
        // until rback ends.
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(pid, None);
    })?;
    loop {
        match tracee.wait()? {
            Stop::Signal(libc::SIGSTOP) => break,
            Stop::Exited(status) => return Err(Error::TraceeDied(status)),
            _ => tracee.resume(Resume::Cont, 0)?,
        }
    }
    tracee.install_rback_page()?;
    let mut b = Builder {
        t: &mut tracee,
        notes,
        under,
    };
    b.empty()?;
    let file_fds = b.map(&header, &copies)?;
    while let Some((pages, data)) = reader.next_pages()? {
        let region = &header.regions[pages.region as usize];
        b.write(region, &pages.pages, &data)?;
    }
    if under != Under::Nothing {
        b.syscallbuf_off(&header.regions)?;
    }
    b.protect(&header.regions)?;
    b.layout(&header, &file_fds)?;
    b.signals(&header)?;
    b.surroundings(&header)?;
    b.descriptors(&header.fds, opts.unopenable)?;
    b.words(&header.words)?;
    let mut threads = b.threads(&header)?;
    let mut tids: Vec<(i32, i32)> = header
        .threads
        .iter()
        .map(|t| t.tid)
        .zip(threads.iter().map(|t| t.pid.as_raw()))
        .collect();
    tids.push((header.pid, pid.as_raw()));
    if !matches!(under, Under::Replay(_)) {
        b.posix_timers(&header, &tids)?;
        b.pending(&header, &mut threads)?;
    }
    // Registers and masks last, when no call is injected any more.
    for (thread, image) in threads.iter_mut().zip(&header.threads) {
        let mut tb = Builder {
            t: thread,
            notes: Vec::new(),
            under,
        };
        tb.thread_registers(&image.regs, &image.xstate, image.blocked)?;
    }
    b.registers(&header)?;
    let notes = b.notes;
    Ok(Built {
        tracee,
        threads,
        header,
        notes,
    })
}

/// Waits for a restarted program to end.
pub fn wait_for_exit(pid: Pid) -> Result<ExitStatus> {
    loop {
        match waitpid(pid, None).map_err(|e| Error::ptrace("waitpid", pid, e))? {
            WaitStatus::Exited(_, code) => return Ok(ExitStatus::Exited(code)),
            WaitStatus::Signaled(_, sig, core_dumped) => {
                return Ok(ExitStatus::Killed {
                    signo: sig as i32,
                    core_dumped,
                })
            }
            _ => {}
        }
    }
}

/// The first of `dirs` that holds an intact copy of `hash`.
fn find_copy(hash: &FileHash, name: &str, dirs: &[PathBuf]) -> Result<PathBuf> {
    let mut why = Vec::new();
    for dir in dirs {
        match files::verify(dir, hash) {
            Ok(path) => return Ok(path),
            Err(e) => why.push(e.to_string()),
        }
    }
    let shown = if name.is_empty() { &hash.0[..16] } else { name };
    Err(Error::Program(format!(
        "the image needs the trace's copy of {shown}, and no trace given has it ({}); name the trace that has it with --trace, or save the image with --bundle",
        why.join("; ")
    )))
}

/// Injects the calls that build the program in the seized child.
struct Builder<'a> {
    t: &'a mut Tracee,
    notes: Vec<String>,
    under: Under,
}

impl Builder<'_> {
    fn call(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        self.t.inject_syscall(nr, args)
    }

    /// A call that must work for the program to be what it was.
    fn must(&mut self, what: &str, nr: i64, args: [u64; 6]) -> Result<i64> {
        let r = self.call(nr, args)?;
        if r < 0 && r > -4096 {
            return Err(Error::Spawn(format!(
                "cannot {what} in the restarted program: {}",
                errno_name(r)
            )));
        }
        Ok(r)
    }

    /// A call with `bytes` in the scratch area as its `arg`-th argument.
    fn with(&mut self, bytes: &[u8], nr: i64, mut args: [u64; 6], arg: usize) -> Result<i64> {
        args[arg] = self.t.scratch(bytes)?.0;
        self.call(nr, args)
    }

    /// Leaves nothing of rback in the child but its page. glibc's
    /// restartable-sequence area goes first: the kernel writes into it at
    /// every return to user space and kills the thread once it is unmapped.
    fn empty(&mut self) -> Result<()> {
        let pid = self.t.pid;
        if let Some((area, size, signature)) =
            sys::rseq_configuration(pid).map_err(|e| Error::ptrace("get rseq configuration", pid, e))?
        {
            let args = [
                area,
                u64::from(size),
                abi::RSEQ_FLAG_UNREGISTER,
                u64::from(signature),
                0,
                0,
            ];
            self.must("unregister rback's restartable sequences", libc::SYS_rseq, args)?;
        }
        self.must("unmap rback", libc::SYS_munmap, [0, RBACK_PAGE.0, 0, 0, 0, 0])?;
        let above = RBACK_PAGE.0 + PAGE;
        self.must("unmap rback", libc::SYS_munmap, [above, USER_END - above, 0, 0, 0, 0])?;
        Ok(())
    }

    /// Maps every region writable, at its address; returns the descriptors
    /// of the opened file copies (by their index in the image's files).
    fn map(&mut self, h: &ImageHeader, copies: &[PathBuf]) -> Result<Vec<i64>> {
        let mut fds = Vec::new();
        for copy in copies {
            let mut path = copy.as_os_str().as_encoded_bytes().to_vec();
            path.push(0);
            let fd = self.with(
                &path,
                libc::SYS_openat,
                [
                    libc::AT_FDCWD as u64,
                    0,
                    (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
                    0,
                    0,
                    0,
                ],
                1,
            )?;
            if fd < 0 {
                return Err(Error::Spawn(format!(
                    "cannot open {} in the restarted program: {}",
                    copy.display(),
                    errno_name(fd)
                )));
            }
            fds.push(fd);
        }
        let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        for r in &h.regions {
            let len = r.end - r.start;
            let (flags, fd, offset) = match r.backing {
                Backing::File { file, offset } => (libc::MAP_PRIVATE, fds[file as usize] as u64, offset),
                Backing::Anonymous if r.name == "[stack]" => (
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_GROWSDOWN,
                    u64::MAX,
                    0,
                ),
                Backing::Anonymous => (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, u64::MAX, 0),
            };
            let got = self.call(
                libc::SYS_mmap,
                [r.start, len, rw, (flags | libc::MAP_FIXED) as u64, fd, offset],
            )?;
            if got as u64 != r.start {
                return Err(Error::Spawn(format!(
                    "cannot map {:#x}-{:#x} ({}) in the restarted program: {}",
                    r.start,
                    r.end,
                    r.name,
                    errno_name(got)
                )));
            }
        }
        Ok(fds)
    }

    /// Writes stored pages, a run of consecutive ones at a time.
    fn write(&mut self, r: &Region, pages: &[u32], data: &[u8]) -> Result<()> {
        let page = PAGE as usize;
        let mut i = 0;
        while i < pages.len() {
            let mut j = i + 1;
            while j < pages.len() && pages[j] == pages[j - 1] + 1 {
                j += 1;
            }
            let at = RemoteAddr(r.start + u64::from(pages[i]) * PAGE);
            self.t.write_bytes(at, &data[i * page..j * page])?;
            i = j;
        }
        Ok(())
    }

    /// Turns the syscall buffer off in a program restarted under rback, if
    /// its preload library had mapped one: the library then makes every
    /// call the ordinary, traced way (`AT_OFF`, the word it sets itself
    /// before the program installs a seccomp filter). A restarted recording
    /// does not buffer because the recorder would have to take over the
    /// library's buffer mid-run (its records, generation and mark, which
    /// the image holds as the original recording left them) and replay
    /// would have to write records ahead into it; with the word set here,
    /// identically in the recording and in every replay of it, the buffer
    /// is inert memory. The recorder also answers the library's probe in
    /// any program this one execs with ENOMEM (`Buffers::refuse`).
    fn syscallbuf_off(&mut self, regions: &[Region]) -> Result<()> {
        use crate::syscallbuf::layout::{AT_OFF, BUFFER_ADDR};
        if regions.iter().any(|r| r.start <= BUFFER_ADDR && BUFFER_ADDR < r.end) {
            self.t
                .write_bytes(RemoteAddr(BUFFER_ADDR + AT_OFF), &1u64.to_le_bytes())?;
        }
        Ok(())
    }

    fn protect(&mut self, regions: &[Region]) -> Result<()> {
        for r in regions {
            self.must(
                "set a mapping's protection",
                libc::SYS_mprotect,
                [r.start, r.end - r.start, u64::from(r.prot), 0, 0, 0],
            )?;
        }
        Ok(())
    }

    /// The layout that `brk` and `/proc/PID/{stat,cmdline,environ,auxv,exe}`
    /// go by, and the program's name.
    fn layout(&mut self, h: &ImageHeader, file_fds: &[i64]) -> Result<()> {
        // `set_mm` puts the vector right after the map in the scratch area.
        let scratch = self.t.scratch(&[])?.0;
        let mut map = MmMap {
            layout: h.layout,
            auxv: scratch + MM_MAP_SIZE as u64,
            auxv_size: h.auxv.len() as u32,
            exe_fd: h.layout.exe_file.map_or(u32::MAX, |f| file_fds[f as usize] as u32),
        };
        let mut r = self.set_mm(map, &h.auxv)?;
        if r < 0 && map.exe_fd != u32::MAX && r != -(libc::EPERM as i64) {
            // The copy may lack execute permission: keep the child's exe.
            map.exe_fd = u32::MAX;
            r = self.set_mm(map, &h.auxv)?;
        }
        if r < 0 && self.under != Under::Nothing {
            // The process would keep the break of the rback it was forked
            // from, which is another one in every replay: brk() would
            // return other addresses there.
            return Err(Error::Program(format!(
                "recording a restarted program needs its own memory layout, which the kernel refused ({}{}): without it, brk() would not replay",
                errno_name(r),
                if r == -(libc::EPERM as i64) { ": setting it needs CAP_SYS_RESOURCE" } else { "" }
            )));
        }
        if r == -(libc::EPERM as i64) {
            self.notes.push(
                "without CAP_SYS_RESOURCE the break, command line and auxiliary vector the kernel shows are not the program's: brk() fails and malloc maps memory instead"
                    .into(),
            );
        } else if r < 0 {
            self.notes.push(format!(
                "the kernel refused the program's memory layout ({}): brk() may fail",
                errno_name(r)
            ));
        }
        let comm: Vec<u8> = h
            .program
            .rsplit('/')
            .next()
            .unwrap_or("")
            .bytes()
            .take(15)
            .chain([0])
            .collect();
        self.with(&comm, libc::SYS_prctl, [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0], 1)?;
        Ok(())
    }

    fn set_mm(&mut self, map: MmMap, auxv: &[u8]) -> Result<i64> {
        // The map and, right after it, the auxiliary vector it points at.
        let mut bytes = map.to_bytes();
        bytes.extend_from_slice(auxv);
        self.with(
            &bytes,
            libc::SYS_prctl,
            [
                libc::PR_SET_MM as u64,
                libc::PR_SET_MM_MAP as u64,
                0,
                MM_MAP_SIZE as u64,
                0,
                0,
            ],
            2,
        )
    }

    /// Every signal's action (the child has rback's), and the mask.
    fn signals(&mut self, h: &ImageHeader) -> Result<()> {
        // The child has rback's alternate signal stack too (Rust's std
        // makes one for its main thread), in memory `empty` unmapped: a
        // handler that asks for it would run there, and every signal
        // frame's `uc_stack` would show rback's address, another one in
        // each replay. The image has none (it does not keep one yet).
        let mut disabled = [0u8; abi::STACK_T_SIZE];
        disabled[8..12].copy_from_slice(&libc::SS_DISABLE.to_le_bytes());
        self.with(&disabled, libc::SYS_sigaltstack, [0; 6], 0)?;
        for signo in 1..=NSIG {
            if signo == libc::SIGKILL || signo == libc::SIGSTOP {
                continue;
            }
            let mut act = [0u8; abi::SIGACTION_SIZE];
            if let Some(a) = h.actions.iter().find(|a| a.signo == signo) {
                for (i, w) in [a.handler, a.flags, a.restorer, a.mask].iter().enumerate() {
                    act[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
                }
            }
            let r = self.with(&act, libc::SYS_rt_sigaction, [signo as u64, 0, 0, SIGSET_SIZE, 0, 0], 1)?;
            if r < 0 && h.actions.iter().any(|a| a.signo == signo) {
                self.notes
                    .push(format!("cannot set the action of signal {signo}: {}", errno_name(r)));
            }
        }
        // Everything stays blocked while rback works in the process, so
        // that no pending signal is delivered to an injected call; the
        // program's mask comes last, with `PTRACE_SETSIGMASK`
        // (`registers`), and what it lets through is delivered once the
        // program runs.
        let all = u64::MAX.to_le_bytes();
        self.with(
            &all,
            libc::SYS_rt_sigprocmask,
            [libc::SIG_SETMASK as u64, 0, 0, SIGSET_SIZE, 0, 0],
            1,
        )?;
        // Replay raises the signals a timer sent where the recording saw
        // them come: a real timer would send them again.
        let timers: &[_] = if matches!(self.under, Under::Replay(_)) {
            &[]
        } else {
            &h.timers
        };
        for t in timers {
            let split = |us: u64| (us / 1_000_000, us % 1_000_000);
            let mut value = Vec::with_capacity(abi::ITIMERVAL_SIZE);
            for (sec, usec) in [split(t.interval_us), split(t.value_us)] {
                value.extend_from_slice(&sec.to_le_bytes());
                value.extend_from_slice(&usec.to_le_bytes());
            }
            let r = self.with(&value, libc::SYS_setitimer, [t.which as u64, 0, 0, 0, 0, 0], 1)?;
            if r < 0 {
                self.notes.push(format!(
                    "cannot set the timer set at event {}: {}",
                    t.set_at,
                    errno_name(r)
                ));
            } else {
                self.notes.push(format!(
                    "the timer set at event {} is armed again for its whole {:.3} s: how much of it had passed is not recorded",
                    t.set_at,
                    t.value_us as f64 / 1e6
                ));
            }
        }
        Ok(())
    }

    /// The signals pending, each queued by the thread it waits in (`threads`
    /// are the image's other threads, in order): a thread may give itself
    /// any siginfo, another thread only one that no kernel or `tgkill`
    /// could have made.
    fn pending(&mut self, h: &ImageHeader, threads: &mut [Tracee]) -> Result<()> {
        let pid = self.t.pid.as_raw() as u64;
        for p in &h.pending {
            let target = match h.threads.iter().position(|t| t.tid == p.tid) {
                Some(i) => &mut threads[i],
                None => &mut *self.t,
            };
            let tid = target.pid.as_raw() as u64;
            let at = target.scratch(&p.siginfo)?.0;
            let r = target.inject_syscall(libc::SYS_rt_tgsigqueueinfo, [pid, tid, p.signo as u64, at, 0, 0])?;
            if r < 0 {
                self.notes.push(format!(
                    "cannot make signal {} pending again: {}",
                    p.signo,
                    errno_name(r)
                ));
            }
        }
        Ok(())
    }

    /// POSIX timers, each under its id: asked for by id where the kernel
    /// allows it (`PR_TIMER_CREATE_RESTORE_IDS`), else made one after the
    /// other from the first id (this process has made none before),
    /// deleting those in between, as the kernel hands ids out in order.
    /// `tids` maps the threads' recorded ids to their ids now, for timers
    /// that signal one thread (`SIGEV_THREAD_ID`, glibc's `SIGEV_THREAD`
    /// helper thread among them).
    fn posix_timers(&mut self, h: &ImageHeader, tids: &[(i32, i32)]) -> Result<()> {
        if h.posix_timers.is_empty() {
            return Ok(());
        }
        // `timer_create` writes the id it made, and rback's page is not
        // writable: a page of its own, which nothing else uses, for the
        // time it takes.
        let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let anonymous = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let page = self.call(libc::SYS_mmap, [0, PAGE, rw, anonymous, u64::MAX, 0])?;
        if page < 0 && page > -4096 {
            self.notes.push(format!(
                "cannot make the program's {} POSIX timers again: no memory to do it in ({})",
                h.posix_timers.len(),
                errno_name(page)
            ));
            return Ok(());
        }
        let page = RemoteAddr(page as u64);
        let restore_ids = [
            abi::PR_TIMER_CREATE_RESTORE_IDS,
            abi::PR_TIMER_CREATE_RESTORE_IDS_ON,
            0,
            0,
            0,
            0,
        ];
        let by_id = self.call(libc::SYS_prctl, restore_ids)? == 0;
        for t in &h.posix_timers {
            // The `sigevent`, then the `timer_t` that receives the id (and
            // gives it, by id).
            let mut sev = vec![0u8; abi::SIGEVENT_SIZE + 4];
            sev[..8].copy_from_slice(&t.sigval.to_le_bytes());
            sev[8..12].copy_from_slice(&t.signo.to_le_bytes());
            sev[12..16].copy_from_slice(&t.notify.to_le_bytes());
            let tid = match tids.iter().find(|(recorded, _)| *recorded == t.tid) {
                Some(&(_, now)) if t.notify & libc::SIGEV_THREAD_ID != 0 => now,
                _ => t.tid,
            };
            sev[16..20].copy_from_slice(&tid.to_le_bytes());
            sev[abi::SIGEVENT_SIZE..].copy_from_slice(&t.id.to_le_bytes());
            let made = if by_id {
                self.create_timer(page, t.clock, &sev)?
            } else {
                self.create_timer_in_order(page, t.clock, &sev, t.id)?
            };
            if let Err(why) = made {
                self.notes.push(format!(
                    "cannot make POSIX timer {} (set at event {}) again: {why}",
                    t.id, t.set_at
                ));
                continue;
            }
            if t.value_ns == 0 {
                continue;
            }
            let split = |ns: u64| (ns / 1_000_000_000, ns % 1_000_000_000);
            let mut spec = Vec::with_capacity(abi::ITIMERSPEC_SIZE);
            for (sec, nsec) in [split(t.interval_ns), split(t.value_ns)] {
                spec.extend_from_slice(&sec.to_le_bytes());
                spec.extend_from_slice(&nsec.to_le_bytes());
            }
            let args = [t.id as u64, t.flags as u64, 0, 0, 0, 0];
            let r = self.with(&spec, libc::SYS_timer_settime, args, 2)?;
            self.notes.push(if r < 0 {
                format!("cannot arm POSIX timer {} (set at event {}): {}", t.id, t.set_at, errno_name(r))
            } else if t.flags & libc::TIMER_ABSTIME != 0 {
                format!(
                    "POSIX timer {} (set at event {}) is armed again for the same time of clock {}, which may have passed",
                    t.id, t.set_at, t.clock
                )
            } else {
                format!(
                    "POSIX timer {} (set at event {}) is armed again for its whole {:.3} s: how much of it had passed is not recorded",
                    t.id,
                    t.set_at,
                    t.value_ns as f64 / 1e9
                )
            });
        }
        if by_id {
            let off = [
                abi::PR_TIMER_CREATE_RESTORE_IDS,
                abi::PR_TIMER_CREATE_RESTORE_IDS_OFF,
                0,
                0,
                0,
                0,
            ];
            self.must("stop choosing POSIX timer ids", libc::SYS_prctl, off)?;
        }
        self.must(
            "unmap rback's page for timers",
            libc::SYS_munmap,
            [page.0, PAGE, 0, 0, 0, 0],
        )?;
        Ok(())
    }

    /// `timer_create(clock, &sev, &id)` with `sev` (a `sigevent` and a
    /// `timer_t`) written at `page`: the id the timer got, or why none.
    fn create_timer(&mut self, page: RemoteAddr, clock: i32, sev: &[u8]) -> Result<std::result::Result<i32, String>> {
        self.t.write_bytes(page, sev)?;
        let at = page.0;
        let id_at = at + abi::SIGEVENT_SIZE as u64;
        let r = self.call(libc::SYS_timer_create, [clock as u64, at, id_at, 0, 0, 0])?;
        if r < 0 {
            return Ok(Err(errno_name(r)));
        }
        let id = self.t.read_bytes(RemoteAddr(id_at), 4)?;
        Ok(Ok(i32::from_le_bytes(id.try_into().expect("read 4 bytes"))))
    }

    /// Makes timers until one gets `id`, deleting the others.
    fn create_timer_in_order(
        &mut self,
        page: RemoteAddr,
        clock: i32,
        sev: &[u8],
        id: i32,
    ) -> Result<std::result::Result<i32, String>> {
        loop {
            let got = match self.create_timer(page, clock, sev)? {
                Ok(got) => got,
                Err(why) => return Ok(Err(why)),
            };
            if got == id {
                return Ok(Ok(got));
            }
            self.call(libc::SYS_timer_delete, [got as u64, 0, 0, 0, 0, 0])?;
            if got > id || got >= MAX_TIMER_ID_IN_ORDER {
                return Ok(Err(format!(
                    "this kernel chooses timer ids itself, and gave {got} (choosing needs Linux 6.15)"
                )));
            }
        }
    }

    /// The working directory, limits, and every CPU (rback pins itself and
    /// so the child to one).
    fn surroundings(&mut self, h: &ImageHeader) -> Result<()> {
        let mut cwd = h.cwd.as_bytes().to_vec();
        cwd.push(0);
        let r = self.with(&cwd, libc::SYS_chdir, [0; 6], 0)?;
        if r < 0 {
            self.notes.push(format!(
                "cannot enter the program's working directory {} ({}); it runs in rback's",
                h.cwd,
                errno_name(r)
            ));
        }
        let pid = self.t.pid;
        for l in &h.rlimits {
            if sys::get_rlimit(pid, l.resource).ok() == Some((l.soft, l.hard)) {
                continue;
            }
            let mut limit = l.soft.to_le_bytes().to_vec();
            limit.extend_from_slice(&l.hard.to_le_bytes());
            let r = self.with(&limit, libc::SYS_prlimit64, [0, u64::from(l.resource), 0, 0, 0, 0], 2)?;
            if r < 0 {
                self.notes.push(format!(
                    "cannot set resource limit {} to {}/{} ({}); it stays as rback's",
                    l.resource,
                    l.soft,
                    l.hard,
                    errno_name(r)
                ));
            }
        }
        if self.under == Under::Nothing {
            // Under rback it stays on rback's CPU, as a recorded program does.
            let all = [0xffu8; 128];
            self.with(&all, libc::SYS_sched_setaffinity, [0, all.len() as u64, 0, 0, 0, 0], 2)?;
        }
        Ok(())
    }

    /// The descriptor table: the child's (rback's) is closed but for the
    /// standard three, which stand in for the program's own.
    fn descriptors(&mut self, fds: &[OpenFile], unopenable: Unopenable) -> Result<()> {
        // The standard descriptors wait above every number the program uses.
        let spare = fds.iter().map(|f| f.fd + 1).max().unwrap_or(0).max(3) as u64;
        self.call(libc::SYS_close_range, [3, CLOSE_ALL, 0, 0, 0, 0])?;
        for std in 0..3 {
            self.call(libc::SYS_dup3, [std, spare + std, 0, 0, 0, 0])?;
        }
        self.call(libc::SYS_close_range, [0, 2, 0, 0, 0, 0])?;
        for f in fds {
            let cloexec = if f.cloexec { libc::O_CLOEXEC as u64 } else { 0 };
            match &f.what {
                FdKind::Inherited { from } => {
                    let r = self.call(libc::SYS_dup3, [spare + *from as u64, f.fd as u64, cloexec, 0, 0, 0])?;
                    if r < 0 {
                        self.notes
                            .push(format!("descriptor {}: rback's own descriptor {from} is closed", f.fd));
                    }
                }
                FdKind::Dup { of } => {
                    self.call(libc::SYS_dup3, [*of as u64, f.fd as u64, cloexec, 0, 0, 0])?;
                }
                FdKind::File { .. } | FdKind::Unopenable { .. } if matches!(self.under, Under::Replay(_)) => {
                    // Replay emulates every call on it: what it names does
                    // not matter, and the world is not asked.
                    let notes = self.notes.len();
                    self.replace(f, "replayed", Unopenable::DevNull)?;
                    self.notes.truncate(notes);
                }
                FdKind::File { path, flags, offset } => {
                    if let Err(why) = self.reopen(f, path, *flags, *offset) {
                        self.replace(f, &format!("{path} ({why})"), unopenable)?;
                    }
                }
                FdKind::Unopenable { what } => self.replace(f, what, unopenable)?,
            }
        }
        self.call(libc::SYS_close_range, [spare, spare + 2, 0, 0, 0, 0])?;
        Ok(())
    }

    fn reopen(&mut self, f: &OpenFile, path: &str, flags: i32, offset: u64) -> Result<(), String> {
        use std::os::unix::fs::FileTypeExt;
        // A named pipe would block the open until a writer came.
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_fifo() || m.file_type().is_socket() => {
                return Err("a named pipe or socket".into())
            }
            _ => {}
        }
        let mut bytes = path.as_bytes().to_vec();
        bytes.push(0);
        let flags = (flags & !OPEN_ONLY_FLAGS) | if f.cloexec { libc::O_CLOEXEC } else { 0 };
        let fd = self
            .with(
                &bytes,
                libc::SYS_openat,
                [libc::AT_FDCWD as u64, 0, flags as u64, 0, 0, 0],
                1,
            )
            .map_err(|e| e.to_string())?;
        if fd < 0 {
            return Err(errno_name(fd).trim_start_matches('-').to_string());
        }
        self.place(fd, f).map_err(|e| e.to_string())?;
        if offset != 0 && flags & libc::O_APPEND == 0 {
            let r = self
                .call(libc::SYS_lseek, [f.fd as u64, offset, libc::SEEK_SET as u64, 0, 0, 0])
                .map_err(|e| e.to_string())?;
            if r != offset as i64 {
                self.notes.push(format!(
                    "descriptor {} ({path}) reopened, but not at offset {offset}: {}",
                    f.fd,
                    errno_name(r)
                ));
            }
        }
        Ok(())
    }

    /// Moves descriptor `fd` to the number `f` has.
    fn place(&mut self, fd: i64, f: &OpenFile) -> Result<()> {
        if fd != f.fd as i64 {
            let cloexec = if f.cloexec { libc::O_CLOEXEC as u64 } else { 0 };
            self.call(libc::SYS_dup3, [fd as u64, f.fd as u64, cloexec, 0, 0, 0])?;
            self.call(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0])?;
        }
        Ok(())
    }

    fn replace(&mut self, f: &OpenFile, what: &str, how: Unopenable) -> Result<()> {
        match how {
            Unopenable::Close => {
                self.notes
                    .push(format!("descriptor {} ({what}) cannot be reopened: closed", f.fd));
            }
            Unopenable::DevNull => {
                let fd = self.with(
                    b"/dev/null\0",
                    libc::SYS_openat,
                    [libc::AT_FDCWD as u64, 0, libc::O_RDWR as u64, 0, 0, 0],
                    1,
                )?;
                if fd < 0 {
                    return Err(Error::Spawn(format!("cannot open /dev/null: {}", errno_name(fd))));
                }
                self.place(fd, f)?;
                self.notes.push(format!(
                    "descriptor {} ({what}) cannot be reopened: /dev/null stands in",
                    f.fd
                ));
            }
        }
        Ok(())
    }

    /// What the kernel keeps for the thread being built: where it clears
    /// its id when it ends, and its robust futex list.
    fn words(&mut self, w: &ThreadWords) -> Result<()> {
        if w.clear_tid != 0 {
            self.call(libc::SYS_set_tid_address, [w.clear_tid, 0, 0, 0, 0, 0])?;
        }
        if w.robust_list != 0 {
            let r = self.call(libc::SYS_set_robust_list, [w.robust_list, w.robust_len, 0, 0, 0, 0])?;
            if r < 0 {
                self.notes.push(format!(
                    "thread {}: cannot set its robust futex list: {}",
                    self.t.pid,
                    errno_name(r)
                ));
            }
        }
        Ok(())
    }

    /// Makes the program's other threads, each by a `clone3` from the first
    /// thread with its recorded id (`set_tid`, when free), its TLS and the
    /// word it clears when it ends. They stay stopped and traced, with
    /// every signal blocked (the first thread's mask while rback works),
    /// for the caller to give them their registers and masks and let go.
    fn threads(&mut self, h: &ImageHeader) -> Result<Vec<Tracee>> {
        let mut made = Vec::new();
        for t in &h.threads {
            let regs = t.regs.to_regs();
            let mut flags = libc::CLONE_VM
                | libc::CLONE_FS
                | libc::CLONE_FILES
                | libc::CLONE_SIGHAND
                | libc::CLONE_THREAD
                | libc::CLONE_SYSVSEM
                | libc::CLONE_SETTLS;
            if t.words.clear_tid != 0 {
                flags |= libc::CLONE_CHILD_CLEARTID;
            }
            let mut tid = self.clone_thread(flags as u64, t.words.clear_tid, regs.fs_base, Some(t.tid))?;
            if tid < 0 {
                let why = match -tid as i32 {
                    libc::EEXIST => "that id is taken".to_string(),
                    libc::EPERM => "choosing one needs CAP_CHECKPOINT_RESTORE".to_string(),
                    _ => errno_name(tid),
                };
                tid = self.clone_thread(flags as u64, t.words.clear_tid, regs.fs_base, None)?;
                if tid > 0 {
                    self.notes.push(format!(
                        "thread {} is thread {tid} now ({why}): ids the program kept, glibc's own among them, are stale",
                        t.tid
                    ));
                }
            }
            if tid < 0 {
                return Err(Error::Spawn(format!(
                    "cannot make thread {} again in the restarted program: {}",
                    t.tid,
                    errno_name(tid)
                )));
            }
            let _ = self.t.take_new_thread();
            let mut thread = Tracee::adopt_thread(Pid::from_raw(tid as i32), self.t.pid)?;
            let mut b = Builder {
                t: &mut thread,
                notes: std::mem::take(&mut self.notes),
                under: self.under,
            };
            b.words(&t.words)?;
            self.notes = b.notes;
            made.push(thread);
        }
        Ok(made)
    }

    /// `clone3` of a thread of this process (on the caller's stack, which it
    /// never runs on: it stops at birth), with id `tid` if given; the new
    /// thread's id, or the call's error.
    fn clone_thread(&mut self, flags: u64, clear_tid: u64, tls: u64, tid: Option<i32>) -> Result<i64> {
        let scratch = self.t.scratch(&[])?.0;
        let set_tid = scratch + abi::CLONE_ARGS_SIZE_WITH_SET_TID as u64;
        let mut args = Vec::with_capacity(abi::CLONE_ARGS_SIZE_WITH_SET_TID + 4);
        for word in [
            flags,
            0,
            clear_tid,
            0,
            0,
            0,
            0,
            tls,
            if tid.is_some() { set_tid } else { 0 },
            u64::from(tid.is_some()),
        ] {
            args.extend_from_slice(&word.to_le_bytes());
        }
        args.extend_from_slice(&tid.unwrap_or(0).to_le_bytes());
        self.with(
            &args,
            libc::SYS_clone3,
            [0, abi::CLONE_ARGS_SIZE_WITH_SET_TID as u64, 0, 0, 0, 0],
            0,
        )
    }

    fn registers(&mut self, h: &ImageHeader) -> Result<()> {
        self.thread_registers(&h.regs, &h.xstate, h.blocked)
    }

    /// The thread's vector state, mask and registers, set last: no call
    /// is injected into it after this.
    fn thread_registers(&mut self, regs: &Registers, xstate: &[u8], blocked: u64) -> Result<()> {
        let pid = self.t.pid;
        if !xstate.is_empty() {
            sys::set_regset(pid, sys::NT_X86_XSTATE, xstate).map_err(|e| {
                Error::Spawn(format!(
                    "cannot restore the vector registers ({e}): the image's XSAVE area does not fit this CPU"
                ))
            })?;
        }
        sys::set_sigmask(pid, blocked).map_err(|e| Error::ptrace("setsigmask", pid, e))?;
        let mut regs = regs.to_regs();
        regs.orig_rax = u64::MAX;
        self.t.set_regs(&regs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_from_another_kind_of_cpu_is_refused_before_anything_runs() {
        use crate::image::abi::{USER_CS, USER_SS};
        use crate::image::format::{placeholder, ImageWriter};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let mut header = placeholder();
        header.cwd = "/".into();
        header.regs.0[17] = USER_CS;
        header.regs.0[20] = USER_SS;
        header.cpu.vendor = "AuthenticOther".into();
        ImageWriter::create(&path, &header).unwrap().finish().unwrap();
        let opts = RestartOptions {
            trace_dirs: vec![],
            unopenable: Unopenable::DevNull,
        };
        let e = restart(&path, &opts).unwrap_err().to_string();
        assert!(e.contains("different CPU") && e.contains("AuthenticOther"), "{e}");
    }

    #[test]
    fn a_missing_copy_names_the_file_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let e = find_copy(&FileHash("a".repeat(64)), "/usr/bin/prog", &[dir.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/usr/bin/prog") && e.contains("--trace"), "{e}");
    }
}
