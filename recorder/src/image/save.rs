//! Saving the program at a timeline's position as an image.
//!
//! Everything is read from the replayed process, which is the recorded
//! program's exact state (with whatever the user changed by hand), every
//! thread of it, except what replay emulates rather than reproduces: open
//! files, the working directory, signal actions, timers and what the
//! kernel keeps per thread come from [`History`]. Pages of a file
//! mapping that still equal the trace's copy of the file are not stored;
//! pages of an anonymous one that are all zero are not either.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::{Path, PathBuf};

use crate::files::is_content_hash;
use crate::image::abi::{self, PAGE, POSIX_TIMER_CLOCKS, RLIMITS};
use crate::image::format::{
    Backing, FileRef, ImageHeader, ImageReader, ImageWriter, Layout, Region, Rlimit, ThreadImage, PAGES_PER_FRAME,
};
use crate::image::history::{self, History};
use crate::sys;
use crate::timeline::Timeline;
use crate::trace::{Event, FileHash, Registers};
use crate::tracee::{parse_maps_line, Mapping, RBACK_PAGE};
use crate::{Error, RemoteAddr, Result};

/// What a save wrote.
#[derive(Debug, Clone)]
pub struct Saved {
    pub bytes: u64,
    /// The program's threads (1 for a single-threaded one).
    pub threads: usize,
    pub regions: usize,
    /// Pages mapped, and pages whose bytes the image holds.
    pub pages: u64,
    pub stored: u64,
    /// The trace's file copies the image refers to, by hash.
    pub files: Vec<FileHash>,
    /// How long saving took (reading, comparing, compressing, writing).
    pub took: std::time::Duration,
    /// What the image leaves out or could not know, for the user.
    pub notes: Vec<String>,
}

/// Saves the program where `timeline` stands to `out` (the trace is in
/// `trace_dir`). The file appears whole or not at all.
pub fn save(timeline: &Timeline, trace_dir: &Path, out: &Path) -> Result<Saved> {
    let started = std::time::Instant::now();
    let at = timeline.position();
    let log = timeline.log();
    let pid = timeline.pid();
    let trace_dir = trace_dir
        .canonicalize()
        .map_err(Error::io(format!("cannot find the trace {}", trace_dir.display())))?;
    // A recording that starts from an image (a recorded restart) starts
    // with what that image held, which no event says.
    let start = match log.get(crate::EventIdx(0)) {
        Some(Event::Exec(exec)) => exec.image.clone(),
        _ => None,
    };
    let start_image = match &start {
        Some(start) => Some(
            ImageReader::open(&crate::files::verify(&trace_dir, &start.copy)?)?
                .header()
                .clone(),
        ),
        None => None,
    };
    let history = History::before_from(
        log,
        at.event,
        start
            .as_ref()
            .zip(start_image.as_ref())
            .map(|(start, image)| history::Start {
                image,
                threads: &start.threads,
            }),
    );
    let mut notes = Vec::new();
    if history.unseen > 0 {
        notes.push(format!(
            "{} calls that opened files or set signal actions were not seen by this replay; their effect is missing",
            history.unseen
        ));
    }

    let proc_text = |what: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{what}"))
            .map_err(Error::io(format!("cannot read /proc/{pid}/{what}")))
    };
    let stat = proc_text("stat")?;
    let mm = abi::mm_layout_from_stat(&stat)
        .ok_or_else(|| Error::Program(format!("cannot read the memory layout in /proc/{pid}/stat")))?;
    let mut rlimits = Vec::new();
    for resource in 0..RLIMITS {
        let (soft, hard) = sys::get_rlimit(pid, resource).map_err(|e| Error::ptrace("prlimit", pid, e))?;
        rlimits.push(Rlimit { resource, soft, hard });
    }

    // The names the program knew its files by.
    let mut names: HashMap<String, String> = HashMap::new();
    for file in start_image.iter().flat_map(|image| &image.files) {
        names.insert(file.hash.0.clone(), file.name.clone());
    }
    let mut program_pid = 0;
    for event in log.events().take(at.event.0 as usize) {
        if let Event::Exec(exec) = event {
            program_pid = exec.pid;
            names.insert(exec.exe.0.clone(), exec.exe_path.clone());
            if let Some((path, hash)) = &exec.interp {
                names.insert(hash.0.clone(), path.clone());
            }
        }
    }
    let mut threads = read_threads(timeline, &history)?.into_iter();
    let mut first = threads.next().expect("a program has a first thread");
    first.tid = program_pid;
    let blocked = first.blocked;
    let threads: Vec<ThreadImage> = threads.collect();
    let running = timeline
        .threads()
        .into_iter()
        .find(|t| t.running)
        .map_or(program_pid, |t| t.tid);
    let running = if threads.iter().any(|t| t.tid == running) {
        running
    } else {
        program_pid
    };
    let blocked_in = |tid: i32| match threads.iter().find(|t| t.tid == tid) {
        Some(t) => t.blocked,
        None if tid == program_pid => blocked,
        None => 0,
    };
    let pending = history::pending_at(log, at, running, blocked_in);

    let exe_hash = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| copy_hash(&trace_dir, &p));

    let mappings: Vec<Mapping> = timeline.mappings()?.lines().filter_map(parse_maps_line).collect();
    let mut files: Vec<FileRef> = Vec::new();
    let mut copies: Vec<File> = Vec::new();
    let mut regions = Vec::new();
    for m in &mappings {
        if m.start == RBACK_PAGE.0 || matches!(m.path.as_str(), "[vdso]" | "[vvar]" | "[vvar_vclock]" | "[vsyscall]") {
            continue;
        }
        let backing = match copy_hash(&trace_dir, Path::new(&m.path)) {
            Some(hash) => {
                let file = match files.iter().position(|f| f.hash.0 == hash) {
                    Some(i) => i,
                    None => {
                        let path = trace_dir.join(crate::trace::FILES_DIR).join(&hash);
                        let copy = File::open(&path).map_err(Error::io(format!("cannot read {}", path.display())))?;
                        let size = copy.metadata().map(|m| m.len()).unwrap_or(0);
                        copies.push(copy);
                        files.push(FileRef {
                            name: names.get(&hash).cloned().unwrap_or_default(),
                            hash: FileHash(hash),
                            size,
                        });
                        files.len() - 1
                    }
                };
                Backing::File {
                    file: file as u32,
                    offset: m.offset,
                }
            }
            None => Backing::Anonymous,
        };
        let name = match &backing {
            Backing::File { file, .. } => files[*file as usize].name.clone(),
            Backing::Anonymous => m.path.clone(),
        };
        regions.push(Region {
            start: m.start,
            end: m.end,
            prot: prot_of(&m.perms),
            backing,
            name,
        });
    }
    let exe_file = exe_hash.and_then(|h| files.iter().position(|f| f.hash.0 == h));
    let posix_timers = history
        .posix_timers()
        .into_iter()
        .filter(|t| {
            let why = if !POSIX_TIMER_CLOCKS.contains(&t.clock) {
                format!("counts another process's or thread's CPU time (clock {})", t.clock)
            } else if t.notify & libc::SIGEV_THREAD_ID != 0
                && t.tid != program_pid
                && !threads.iter().any(|thread| thread.tid == t.tid)
            {
                format!("signals thread {}, which is not the program's", t.tid)
            } else {
                return true;
            };
            notes.push(format!(
                "POSIX timer {} (set at event {}) is left out: it {why}",
                t.id, t.set_at
            ));
            false
        })
        .collect();

    let header = ImageHeader {
        rback_version: env!("CARGO_PKG_VERSION").to_string(),
        cpu: log.header.cpu.clone(),
        program: log.header.program.clone(),
        argv: log.header.argv.clone(),
        pid: program_pid,
        trace_dir: trace_dir.to_string_lossy().into_owned(),
        event: at.event.0,
        position: format!("{at:?}"),
        regs: first.regs,
        xstate: first.xstate,
        blocked,
        words: first.words,
        threads,
        pending,
        actions: history.signal_actions(),
        timers: history.timers(),
        posix_timers,
        layout: Layout {
            brk: history.brk.unwrap_or(mm.start_brk).max(mm.start_brk),
            exe_file: exe_file.map(|i| i as u32),
            ..mm
        },
        auxv: timeline.auxv()?,
        cwd: history.cwd.clone(),
        rlimits,
        fds: history.open_files(),
        regions,
        files,
    };
    header
        .validate()
        .map_err(|why| Error::Program(format!("cannot save this program as an image: {why}")))?;

    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let result = write_pages(timeline, &header, &copies, &partial);
    let (bytes, pages, stored) = match result {
        Ok(counts) => counts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(Error::io(format!("cannot write {}", out.display())))?;
    Ok(Saved {
        bytes,
        threads: 1 + header.threads.len(),
        regions: header.regions.len(),
        pages,
        stored,
        files: header.files.iter().map(|f| f.hash.clone()).collect(),
        took: started.elapsed(),
        notes,
    })
}

/// The program's threads, the first one (whose id is the process's) first,
/// then by increasing id. The thread whose turn it is has its registers
/// from the timeline (at a syscall's entry, as before the `syscall`
/// instruction); the others stand where replay left them, before the
/// syscall their turn ended at if it did, and are told apart by their
/// `fs` base, which the history knows for each recorded id.
fn read_threads(timeline: &Timeline, history: &History) -> Result<Vec<ThreadImage>> {
    let event = timeline.position().event;
    let here = timeline.threads();
    let running = *here.iter().find(|t| t.running).expect("some thread's turn it is");
    let unsupported = |what: String, why: String| Error::Unsupported { event, what, why };
    let selected = timeline.selected_thread();
    if !selected.running {
        return Err(unsupported(
            format!("an image while thread {} is selected", selected.number),
            format!(
                "the running thread's registers are read through the selection: select thread {} first",
                running.number
            ),
        ));
    }
    let current = timeline.pid();
    let status = |task: i32| {
        let path = format!("/proc/{current}/task/{task}/status");
        std::fs::read_to_string(&path).map_err(Error::io(format!("cannot read {path}")))
    };
    let tgid = status(current.as_raw())?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .ok_or_else(|| Error::Program(format!("cannot read the process of thread {current}")))?;
    let dir = format!("/proc/{current}/task");
    let mut tasks: Vec<i32> = std::fs::read_dir(&dir)
        .map_err(Error::io(format!("cannot read {dir}")))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The first thread first.
    tasks.sort_by_key(|&t| (t != tgid, t));
    let process = history.thread(running.tid).map_or(running.tid, |f| f.process);
    let recorded: Vec<i32> = here
        .iter()
        .map(|t| t.tid)
        .filter(|&tid| history.thread(tid).map_or(tid == running.tid, |f| f.process == process))
        .collect();
    if tasks.len() > 1 && tasks.len() != recorded.len() {
        return Err(unsupported(
            format!("an image of a process with {} threads", tasks.len()),
            format!("the recording has {} threads in it here", recorded.len()),
        ));
    }
    let mut out = Vec::new();
    let mut taken = Vec::new();
    for task in tasks {
        let pid = nix::unistd::Pid::from_raw(task);
        let (tid, mut regs) = if pid == current {
            (running.tid, timeline.regs()?)
        } else {
            let regs = nix::sys::ptrace::getregs(pid).map_err(|e| {
                let whose = if task == tgid {
                    "its first thread, which has ended"
                } else {
                    "a thread"
                };
                unsupported(
                    "an image of this program".into(),
                    format!("the registers of {whose} cannot be read ({e})"),
                )
            })?;
            let tid = if task == tgid {
                process
            } else {
                let mut same = recorded
                    .iter()
                    .filter(|&&t| t != process && history.thread(t).and_then(|f| f.tls) == Some(regs.fs_base));
                match (same.next(), same.next()) {
                    (Some(&t), None) => t,
                    _ => {
                        return Err(unsupported(
                            "an image of this program".into(),
                            format!(
                                "the replayed thread with fs base {:#x} is not one recorded thread (threads are told apart by the TLS that clone or arch_prctl gave them)",
                                regs.fs_base
                            ),
                        ))
                    }
                }
            };
            (tid, regs)
        };
        if taken.contains(&tid) {
            return Err(unsupported(
                "an image of this program".into(),
                format!("two replayed threads look like thread {tid}"),
            ));
        }
        taken.push(tid);
        // No syscall is under way in the image: the kernel must not restart one.
        regs.orig_rax = u64::MAX;
        let mut xstate = vec![0u8; 1 << 16];
        let n =
            sys::get_regset(pid, sys::NT_X86_XSTATE, &mut xstate).map_err(|e| Error::ptrace("getregset", pid, e))?;
        xstate.truncate(n);
        let blocked = abi::blocked_from_status(&status(task)?)
            .ok_or_else(|| Error::Program(format!("cannot read the signal mask of thread {task}")))?;
        out.push(ThreadImage {
            tid,
            regs: Registers::from(&regs),
            xstate,
            blocked,
            words: history.thread(tid).map(|f| f.words).unwrap_or_default(),
        });
    }
    out[1..].sort_by_key(|t| t.tid);
    Ok(out)
}

/// Where an image's own copies of the files it refers to go, for a restart
/// away from the trace: `FILE.files/files/HASH`, a trace's layout.
pub fn bundle_dir(image: &Path) -> PathBuf {
    PathBuf::from(format!("{}.files", image.display()))
}

/// Puts copies of the files `saved` refers to (from the trace in
/// `trace_dir`) next to the image at `image`: hard links where the
/// filesystem allows, else copies. Returns the directory.
pub fn bundle(saved: &Saved, trace_dir: &Path, image: &Path) -> Result<PathBuf> {
    let dir = bundle_dir(image);
    let files = dir.join(crate::trace::FILES_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&files)
        .map_err(Error::io(format!("cannot create {}", files.display())))?;
    for hash in &saved.files {
        let from = crate::files::verify(trace_dir, hash)?;
        let to = files.join(&hash.0);
        if to.exists() {
            continue;
        }
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(Error::io(format!(
                "cannot copy {} to {}",
                from.display(),
                to.display()
            )))?;
        }
    }
    Ok(dir)
}

/// Writes the header and every page that differs from what restart would
/// find without it (the file's bytes, or zeros); returns the image's size,
/// the pages mapped and the pages stored.
fn write_pages(timeline: &Timeline, header: &ImageHeader, copies: &[File], path: &Path) -> Result<(u64, u64, u64)> {
    let mut w = ImageWriter::create(path, header)?;
    let (mut pages, mut stored) = (0, 0);
    let chunk = PAGES_PER_FRAME as u64 * PAGE;
    let (mut base, mut data) = (Vec::new(), Vec::new());
    for (index, r) in header.regions.iter().enumerate() {
        pages += r.pages();
        // A mapping the program cannot touch holds what it held when it
        // was made inaccessible: nothing, for the guard pages and address
        // space reservations that such mappings are.
        if r.prot == 0 && r.backing == Backing::Anonymous {
            continue;
        }
        let mut from = r.start;
        while from < r.end {
            let len = chunk.min(r.end - from);
            let (memory, readable) = read_pages(timeline, from, len);
            // Reused from chunk to chunk: fresh 4 MiB buffers would cost a
            // page fault per page.
            base.clear();
            base.resize(len as usize, 0);
            if let Backing::File { file, offset } = r.backing {
                // Past the file's end a mapping reads zeros up to its page,
                // and faults beyond, which `read_pages` reports as unreadable.
                let at = offset + (from - r.start);
                let mut filled = 0;
                while filled < base.len() {
                    match copies[file as usize].read_at(&mut base[filled..], at + filled as u64) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => filled += n,
                    }
                }
            }
            let mut which = Vec::new();
            data.clear();
            let page = PAGE as usize;
            for (i, (bytes, expected)) in memory.chunks(page).zip(base.chunks(page)).enumerate() {
                if readable[i] && bytes != expected {
                    which.push(((from - r.start) / PAGE) as u32 + i as u32);
                    data.extend_from_slice(bytes);
                }
            }
            if !which.is_empty() {
                stored += which.len() as u64;
                w.pages(index as u32, which, &data)?;
            }
            from += len;
        }
    }
    Ok((w.finish()?, pages, stored))
}

/// The `len` bytes from `from`, and for each page whether it could be read
/// (not beyond the end of a mapped file).
fn read_pages(timeline: &Timeline, from: u64, len: u64) -> (Vec<u8>, Vec<bool>) {
    let pages = (len / PAGE) as usize;
    if let Ok(bytes) = timeline.read_memory(RemoteAddr(from), len as usize) {
        return (bytes, vec![true; pages]);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    let mut readable = Vec::with_capacity(pages);
    for i in 0..pages as u64 {
        match timeline.read_memory(RemoteAddr(from + i * PAGE), PAGE as usize) {
            Ok(page) => {
                bytes.extend_from_slice(&page);
                readable.push(true);
            }
            Err(_) => {
                bytes.resize(bytes.len() + PAGE as usize, 0);
                readable.push(false);
            }
        }
    }
    (bytes, readable)
}

/// The content hash of a trace's file copy, when `path` is one: replay maps
/// the copies, so its mappings name them.
fn copy_hash(trace_dir: &Path, path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let in_trace = path.parent()? == trace_dir.join(crate::trace::FILES_DIR);
    (in_trace && is_content_hash(name)).then(|| name.to_string())
}

fn prot_of(perms: &str) -> u32 {
    let b = perms.as_bytes();
    let mut prot = 0;
    if b.first() == Some(&b'r') {
        prot |= libc::PROT_READ;
    }
    if b.get(1) == Some(&b'w') {
        prot |= libc::PROT_WRITE;
    }
    if b.get(2) == Some(&b'x') {
        prot |= libc::PROT_EXEC;
    }
    prot as u32
}
