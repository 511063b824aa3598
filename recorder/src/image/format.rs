//! The image file: `RBACKIMG`, a version, then frames as a trace frames its
//! events (a length and a CRC-32 each, `trace::push_frame`): one
//! [`ImageHeader`], the stored pages in [`Pages`] frames, and a trailer
//! that counts them, so that a cut image is told from a whole one.
//!
//! An image may come from someone else, so everything in it is checked
//! before it is used ([`ImageHeader::validate`], [`ImageReader`]): a
//! damaged, crafted or incompatible image is an error that says what is
//! wrong, never a panic or an allocation larger than the file.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::is_content_hash;
use crate::image::abi::{AUXV_MAX, NSIG, PAGE, POSIX_TIMER_CLOCKS, RLIMITS, SIGINFO_SIZE, USER_CS, USER_END, USER_SS};
use crate::trace::{push_frame, read_frame, CpuIdentity, FileHash, Registers};
use crate::tracee::RBACK_PAGE;
use crate::{Error, Result};

/// Bumped on every change to the types below.
pub const IMAGE_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"RBACKIMG";
/// Pages per [`Pages`] frame: 4 MiB before compression, so that neither
/// writing nor reading ever holds more than that of a region at once.
pub const PAGES_PER_FRAME: usize = 1024;
/// zstd's level: 1 is the fastest and still shrinks typical heap pages by
/// half or more; saving a large process is bound by it.
const ZSTD_LEVEL: i32 = 1;
/// Limits that no real process reaches, against crafted images.
const MAX_REGIONS: usize = 1 << 16;
const MAX_FDS: usize = 1 << 16;
const MAX_PATH: usize = 4000;
const MAX_XSTATE: usize = 1 << 16;
const MAX_THREADS: usize = 1 << 12;

/// Everything but the pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageHeader {
    pub rback_version: String,
    /// The CPU the recording ran on: a restart needs the same kind, as a
    /// replay does (the program may have chosen code paths by CPUID).
    pub cpu: CpuIdentity,
    pub program: String,
    pub argv: Vec<String>,
    /// The process id the program knew (the recording's): a restart asks
    /// for it, so that ids the program kept in memory stay true.
    pub pid: i32,
    /// Where the trace was, whose file copies the image refers to.
    pub trace_dir: String,
    /// The position the image was taken at, for people.
    pub event: u64,
    pub position: String,
    /// The first thread's (the one whose id is the process's) registers,
    /// XSAVE area (`NT_X86_XSTATE`: x87, SSE, AVX and beyond), blocked
    /// signals and kernel-kept words.
    pub regs: Registers,
    #[serde(with = "serde_bytes")]
    pub xstate: Vec<u8>,
    pub blocked: u64,
    pub words: ThreadWords,
    /// The program's other threads, by increasing id.
    pub threads: Vec<ThreadImage>,
    /// Signals sent but not yet delivered, with their `siginfo_t`.
    pub pending: Vec<Pending>,
    pub actions: Vec<SigAction>,
    /// Interval timers (`setitimer`, `alarm`) armed and not yet expired.
    pub timers: Vec<Timer>,
    /// POSIX timers (`timer_create`), armed or not, by increasing id.
    pub posix_timers: Vec<PosixTimer>,
    /// `/proc/PID/stat`'s layout with the break (`PR_SET_MM_MAP`'s fields).
    pub layout: Layout,
    #[serde(with = "serde_bytes")]
    pub auxv: Vec<u8>,
    pub cwd: String,
    pub rlimits: Vec<Rlimit>,
    pub fds: Vec<OpenFile>,
    pub regions: Vec<Region>,
    pub files: Vec<FileRef>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    /// The file (in `files`) that `/proc/PID/exe` names.
    pub exe_file: Option<u32>,
}

/// What the kernel keeps of a thread at the program's request, which
/// registers do not hold: where it clears its id when it exits
/// (`set_tid_address`, `CLONE_CHILD_CLEARTID`: `pthread_join` waits on it)
/// and its robust futex list (`set_robust_list`). 0: none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadWords {
    pub clear_tid: u64,
    pub robust_list: u64,
    pub robust_len: u64,
}

/// A thread other than the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadImage {
    /// Its id as the program knew it (the recording's): a restart asks
    /// for it, as it does for the process's.
    pub tid: i32,
    pub regs: Registers,
    #[serde(with = "serde_bytes")]
    pub xstate: Vec<u8>,
    pub blocked: u64,
    pub words: ThreadWords,
}

/// A pending signal, and the thread it waits in (its recorded id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub tid: i32,
    pub signo: i32,
    /// The raw `siginfo_t` (128 bytes).
    #[serde(with = "serde_bytes")]
    pub siginfo: Vec<u8>,
}

/// An interval timer as the program last set it: `which` is
/// `ITIMER_REAL`, `ITIMER_VIRTUAL` or `ITIMER_PROF`; times in
/// microseconds. How much of `value` had passed is not in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub which: i32,
    pub interval_us: u64,
    pub value_us: u64,
    /// The event that set it.
    pub set_at: u64,
}

/// A POSIX timer: how `timer_create` made it and how `timer_settime` last
/// set it. Times in nanoseconds; `value_ns == 0` is a disarmed timer, which
/// still exists (the program may arm it again by its id). As for
/// [`Timer`], how much of `value_ns` had passed is not in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosixTimer {
    /// The id the program holds (its `timer_t`).
    pub id: i32,
    pub clock: i32,
    /// `struct sigevent`: how it notifies (`SIGEV_*`), with which signal
    /// and value, and to which thread (`SIGEV_THREAD_ID`; the program's
    /// recorded id for its only thread).
    pub notify: i32,
    pub signo: i32,
    pub sigval: u64,
    pub tid: i32,
    /// `TIMER_ABSTIME` or 0, as last set.
    pub flags: i32,
    pub interval_ns: u64,
    pub value_ns: u64,
    /// The event that last set it (or made it, if it was never set).
    pub set_at: u64,
}

/// A signal's action as `rt_sigaction` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigAction {
    pub signo: i32,
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// One descriptor of the program's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFile {
    pub fd: i32,
    pub cloexec: bool,
    pub what: FdKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdKind {
    /// A file opened by path: reopened at restart, at this offset.
    File { path: String, flags: i32, offset: u64 },
    /// The same open file as descriptor `of` (a `dup`), which is lower.
    Dup { of: i32 },
    /// The program's stdin, stdout or stderr (number `from` when it
    /// started): a restarted program gets the restarting rback's.
    Inherited { from: i32 },
    /// Something no path opens again (a pipe, a socket): what it is.
    Unopenable { what: String },
}

/// One mapping of the address space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    /// `PROT_READ | PROT_WRITE | PROT_EXEC` bits.
    pub prot: u32,
    pub backing: Backing,
    /// What `/proc/PID/maps` called it (`[heap]`, `[stack]`, a program's
    /// recorded path), for people and for the stack's growth.
    pub name: String,
}

impl Region {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backing {
    Anonymous,
    /// Pages not stored come from `files[file]` at this offset.
    File {
        file: u32,
        offset: u64,
    },
}

/// A file the image's mappings refer to: a trace's copy, by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub hash: FileHash,
    pub size: u64,
    /// The name the program knew it by.
    pub name: String,
}

/// Stored pages of one region: their indices in it, increasing, and their
/// bytes, compressed together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pages {
    pub region: u32,
    pub pages: Vec<u32>,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    pub frames: u64,
    pub pages: u64,
}

#[derive(Debug, Serialize, Deserialize)]
enum Frame {
    Header(Box<ImageHeader>),
    Pages(Pages),
    Trailer(Trailer),
}

impl ImageHeader {
    /// Checks every field an image could get wrong, so that restart can
    /// trust what it maps and opens: `Err` says what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        thread_ok(&self.regs, &self.xstate, "its first thread")?;
        if self.threads.len() > MAX_THREADS {
            return Err(format!("it has {} threads", self.threads.len()));
        }
        let mut last_tid = 0;
        for t in &self.threads {
            if t.tid <= last_tid || t.tid == self.pid {
                return Err(format!("thread {} is out of order or repeated", t.tid));
            }
            last_tid = t.tid;
            thread_ok(&t.regs, &t.xstate, &format!("thread {}", t.tid))?;
        }
        if self.auxv.len() > AUXV_MAX || !self.auxv.len().is_multiple_of(16) {
            return Err(format!("its auxiliary vector is {} bytes", self.auxv.len()));
        }
        for a in &self.actions {
            if !(1..=NSIG).contains(&a.signo) || a.signo == libc::SIGKILL || a.signo == libc::SIGSTOP {
                return Err(format!("it has an action for signal {}", a.signo));
            }
        }
        for p in &self.pending {
            if p.tid != self.pid && !self.threads.iter().any(|t| t.tid == p.tid) {
                return Err(format!("signal {} waits in thread {}, which it lacks", p.signo, p.tid));
            }
            if !(1..=NSIG).contains(&p.signo) || p.siginfo.len() != SIGINFO_SIZE {
                return Err(format!(
                    "it has a pending signal {} with {} bytes of siginfo",
                    p.signo,
                    p.siginfo.len()
                ));
            }
        }
        for t in &self.timers {
            if !(0..=2).contains(&t.which) {
                return Err(format!("it has a timer of kind {}", t.which));
            }
        }
        let mut last_id = -1;
        for t in &self.posix_timers {
            if t.id <= last_id {
                return Err(format!("POSIX timer {} is out of order", t.id));
            }
            last_id = t.id;
            let signal = matches!(
                t.notify & !libc::SIGEV_THREAD_ID,
                libc::SIGEV_SIGNAL | libc::SIGEV_THREAD
            );
            if !POSIX_TIMER_CLOCKS.contains(&t.clock)
                || !matches!(
                    t.notify,
                    libc::SIGEV_SIGNAL | libc::SIGEV_NONE | libc::SIGEV_THREAD | libc::SIGEV_THREAD_ID
                )
                || (signal && !(1..=NSIG).contains(&t.signo))
                || t.flags & !libc::TIMER_ABSTIME != 0
            {
                return Err(format!(
                    "POSIX timer {} has clock {}, notification {}, signal {} or flags {:#x} that no timer has",
                    t.id, t.clock, t.notify, t.signo, t.flags
                ));
            }
        }
        for r in &self.rlimits {
            if r.resource >= RLIMITS {
                return Err(format!("it has a limit for resource {}", r.resource));
            }
        }
        path_ok(&self.cwd, "working directory")?;
        if !self.cwd.starts_with('/') {
            return Err("its working directory is not absolute".into());
        }
        if self.fds.len() > MAX_FDS || self.regions.len() > MAX_REGIONS || self.files.len() > MAX_REGIONS {
            return Err("it has too many descriptors, mappings or files".into());
        }
        let mut last_fd = -1;
        for f in &self.fds {
            if f.fd <= last_fd || f.fd >= MAX_FDS as i32 {
                return Err(format!("descriptor {} is out of order or out of range", f.fd));
            }
            last_fd = f.fd;
            match &f.what {
                FdKind::File { path, .. } => path_ok(path, "file")?,
                FdKind::Dup { of } if !self.fds.iter().any(|g| g.fd == *of && g.fd < f.fd) => {
                    return Err(format!("descriptor {} duplicates {of}, which it has not", f.fd))
                }
                FdKind::Inherited { from } if !(0..3).contains(from) => {
                    return Err(format!("descriptor {} is inherited from {from}", f.fd))
                }
                _ => {}
            }
        }
        if self.layout.exe_file.is_some_and(|f| f as usize >= self.files.len()) {
            return Err("its executable is a file it lacks".into());
        }
        for file in &self.files {
            if !is_content_hash(&file.hash.0) {
                return Err("it names a file copy by something other than a content hash".into());
            }
        }
        let mut end = 0;
        for r in &self.regions {
            let aligned = r.start % PAGE == 0 && r.end % PAGE == 0;
            if !aligned || r.start < end || r.end <= r.start || r.end > USER_END {
                return Err(format!("mapping {:#x}-{:#x} is misplaced", r.start, r.end));
            }
            if r.start < RBACK_PAGE.0 + PAGE && RBACK_PAGE.0 < r.end {
                return Err(format!("mapping {:#x}-{:#x} covers rback's page", r.start, r.end));
            }
            if r.prot & !((libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u32) != 0 {
                return Err(format!(
                    "mapping {:#x}-{:#x} has protection {:#x}",
                    r.start, r.end, r.prot
                ));
            }
            if let Backing::File { file, offset } = r.backing {
                if file as usize >= self.files.len() || offset % PAGE != 0 {
                    return Err(format!("mapping {:#x}-{:#x} refers to a file it lacks", r.start, r.end));
                }
            }
            end = r.end;
        }
        Ok(())
    }
}

fn thread_ok(regs: &Registers, xstate: &[u8], whose: &str) -> std::result::Result<(), String> {
    let regs = regs.to_regs();
    if regs.cs != USER_CS || regs.ss != USER_SS {
        return Err(format!(
            "the registers of {whose} are not a 64-bit user program's (cs {:#x}, ss {:#x})",
            regs.cs, regs.ss
        ));
    }
    if xstate.len() > MAX_XSTATE {
        return Err(format!("the vector state of {whose} is {} bytes", xstate.len()));
    }
    Ok(())
}

fn path_ok(path: &str, what: &str) -> std::result::Result<(), String> {
    if path.is_empty() || path.len() > MAX_PATH || path.contains('\0') {
        return Err(format!("a {what} path is empty, too long or holds a NUL"));
    }
    Ok(())
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Program(format!("{} is not a usable rback image: {why}", path.display()))
}

/// Writes an image: the header, then pages region by region in order.
pub struct ImageWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// One compression context for every frame (making one costs more
    /// than compressing a small frame).
    compressor: zstd::bulk::Compressor<'static>,
    frames: u64,
    pages: u64,
    bytes: u64,
}

impl ImageWriter {
    pub fn create(path: &Path, header: &ImageHeader) -> Result<ImageWriter> {
        // An image holds the program's memory, which may hold secrets:
        // readable by its owner only, like a trace.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(Error::io(format!("cannot create {}", path.display())))?;
        let mut w = ImageWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)
                .map_err(Error::io(format!("cannot compress {}", path.display())))?,
            frames: 0,
            pages: 0,
            bytes: 0,
        };
        let mut start = MAGIC.to_vec();
        start.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
        w.write(&start)?;
        w.frame(&Frame::Header(Box::new(header.clone())))?;
        Ok(w)
    }

    /// Stores pages `pages` of region `region`, whose bytes are `data`
    /// (a page each, in order).
    pub fn pages(&mut self, region: u32, pages: Vec<u32>, data: &[u8]) -> Result<()> {
        debug_assert_eq!(data.len(), pages.len() * PAGE as usize);
        let data = self
            .compressor
            .compress(data)
            .map_err(Error::io(format!("cannot compress {}", self.path.display())))?;
        self.pages += pages.len() as u64;
        self.frames += 1;
        self.frame(&Frame::Pages(Pages { region, pages, data }))
    }

    /// Ends the image; returns its size in bytes.
    pub fn finish(mut self) -> Result<u64> {
        let trailer = Trailer {
            frames: self.frames,
            pages: self.pages,
        };
        self.frame(&Frame::Trailer(trailer))?;
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_all())
            .map_err(Error::io(format!("cannot write {}", self.path.display())))?;
        Ok(self.bytes)
    }

    fn frame(&mut self, frame: &Frame) -> Result<()> {
        let mut buf = Vec::new();
        push_frame(&mut buf, |b| {
            postcard::to_io(frame, b).expect("writing to a Vec cannot fail");
        })
        .map_err(|()| Error::Program(format!("{}: a frame too large for the format", self.path.display())))?;
        self.write(&buf)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        self.out
            .write_all(bytes)
            .map_err(Error::io(format!("cannot write {}", self.path.display())))
    }
}

/// Reads an image back, checking as it goes.
pub struct ImageReader {
    path: PathBuf,
    input: BufReader<File>,
    left: u64,
    header: ImageHeader,
    frames: u64,
    pages: u64,
    /// The next region and page a frame may store (frames come in order,
    /// so no page is stored twice).
    next: (u32, u32),
    done: bool,
}

impl ImageReader {
    pub fn open(path: &Path) -> Result<ImageReader> {
        let file = File::open(path).map_err(Error::io(format!("cannot open image {}", path.display())))?;
        let len = file
            .metadata()
            .map_err(Error::io(format!("cannot open image {}", path.display())))?
            .len();
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut start = [0u8; 12];
        if len < 12 || input.read_exact(&mut start).is_err() || &start[..8] != MAGIC {
            return Err(Error::Program(format!("{} is not an rback image", path.display())));
        }
        let found = u32::from_le_bytes(start[8..].try_into().unwrap());
        if found != IMAGE_VERSION {
            return Err(Error::Program(format!(
                "{} has image format version {found}, but this rback reads version {IMAGE_VERSION}; restart it with the rback that saved it",
                path.display()
            )));
        }
        let mut reader = ImageReader {
            path: path.to_path_buf(),
            input,
            left: len - 12,
            header: placeholder(),
            frames: 0,
            pages: 0,
            next: (0, 0),
            done: false,
        };
        match reader.frame()? {
            Frame::Header(h) => reader.header = *h,
            _ => return Err(damaged(path, "its first frame is not a header")),
        }
        reader.header.validate().map_err(|why| damaged(path, why))?;
        Ok(reader)
    }

    pub fn header(&self) -> &ImageHeader {
        &self.header
    }

    /// The next stored pages, decompressed (a page each, in the order of
    /// `Pages::pages`), or `None` after the last.
    pub fn next_pages(&mut self) -> Result<Option<(Pages, Vec<u8>)>> {
        if self.done {
            return Ok(None);
        }
        match self.frame()? {
            Frame::Pages(p) => {
                let data = self.check_pages(&p)?;
                Ok(Some((p, data)))
            }
            Frame::Trailer(t) => {
                if t.frames != self.frames || t.pages != self.pages {
                    return Err(damaged(&self.path, "its trailer does not count the pages it holds"));
                }
                if self.left != 0 {
                    return Err(damaged(&self.path, "data follows its trailer"));
                }
                self.done = true;
                Ok(None)
            }
            Frame::Header(_) => Err(damaged(&self.path, "a second header")),
        }
    }

    fn check_pages(&mut self, p: &Pages) -> Result<Vec<u8>> {
        let bad = |why: String| damaged(&self.path, why);
        let Some(region) = self.header.regions.get(p.region as usize) else {
            return Err(bad(format!("pages of mapping {}, which it lacks", p.region)));
        };
        if p.pages.is_empty() || p.pages.len() > PAGES_PER_FRAME {
            return Err(bad(format!("a frame of {} pages", p.pages.len())));
        }
        let (mut at_region, mut at_page) = self.next;
        if p.region != at_region {
            if p.region < at_region {
                return Err(bad("pages out of order".into()));
            }
            (at_region, at_page) = (p.region, 0);
        }
        for &page in &p.pages {
            if page < at_page || u64::from(page) >= region.pages() {
                return Err(bad(format!(
                    "page {page} of mapping {} is out of order or range",
                    p.region
                )));
            }
            at_page = page + 1;
        }
        self.next = (at_region, at_page);
        let want = p.pages.len() * PAGE as usize;
        let data = zstd::bulk::decompress(&p.data, want).map_err(|e| bad(format!("undecodable pages: {e}")))?;
        if data.len() != want {
            return Err(bad(format!(
                "a frame of {} pages holds {} bytes",
                p.pages.len(),
                data.len()
            )));
        }
        self.frames += 1;
        self.pages += p.pages.len() as u64;
        Ok(data)
    }

    fn frame(&mut self) -> Result<Frame> {
        if self.left == 0 {
            return Err(damaged(&self.path, "it ends early (its last frames are missing)"));
        }
        let payload = read_frame(&mut self.input, self.left)
            .map_err(|e: io::Error| damaged(&self.path, e))?
            .map_err(|why| damaged(&self.path, why))?;
        self.left -= 8 + payload.len() as u64;
        postcard::from_bytes(&payload).map_err(|e| damaged(&self.path, format!("undecodable frame: {e}")))
    }
}

/// A header with nothing in it (the reader's before it reads one).
pub(crate) fn placeholder() -> ImageHeader {
    ImageHeader {
        rback_version: String::new(),
        cpu: CpuIdentity {
            vendor: String::new(),
            leaves: vec![],
        },
        program: String::new(),
        argv: vec![],
        pid: 0,
        trace_dir: String::new(),
        event: 0,
        position: String::new(),
        regs: Registers([0; 27]),
        xstate: vec![],
        blocked: 0,
        words: ThreadWords::default(),
        threads: vec![],
        pending: vec![],
        actions: vec![],
        timers: vec![],
        posix_timers: vec![],
        layout: Layout::default(),
        auxv: vec![],
        cwd: String::new(),
        rlimits: vec![],
        fds: vec![],
        regions: vec![],
        files: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ImageHeader {
        let mut regs = [0u64; 27];
        regs[17] = USER_CS;
        regs[20] = USER_SS;
        ImageHeader {
            program: "/bin/true".into(),
            cwd: "/tmp".into(),
            regs: Registers(regs),
            regions: vec![
                Region {
                    start: 0x400000,
                    end: 0x402000,
                    prot: 5,
                    backing: Backing::File { file: 0, offset: 0 },
                    name: "/bin/true".into(),
                },
                Region {
                    start: 0x7ffffffde000,
                    end: 0x7ffffffff000,
                    prot: 3,
                    backing: Backing::Anonymous,
                    name: "[stack]".into(),
                },
            ],
            files: vec![FileRef {
                hash: FileHash("0".repeat(64)),
                size: 8192,
                name: "/bin/true".into(),
            }],
            fds: vec![OpenFile {
                fd: 0,
                cloexec: false,
                what: FdKind::Inherited { from: 0 },
            }],
            ..placeholder()
        }
    }

    fn write_image(dir: &Path) -> (PathBuf, Vec<u8>) {
        let path = dir.join("img");
        let mut w = ImageWriter::create(&path, &header()).unwrap();
        let data: Vec<u8> = (0..2 * PAGE as usize).map(|i| (i % 251) as u8).collect();
        w.pages(1, vec![3, 7], &data).unwrap();
        w.finish().unwrap();
        (path, data)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (path, data) = write_image(dir.path());
        let mut r = ImageReader::open(&path).unwrap();
        assert_eq!(r.header(), &header());
        let (p, got) = r.next_pages().unwrap().unwrap();
        assert_eq!((p.region, p.pages), (1, vec![3, 7]));
        assert_eq!(got, data);
        assert!(r.next_pages().unwrap().is_none());
    }

    /// Every cut and every flipped byte gives an error, never a panic and
    /// never a successful read of different pages.
    #[test]
    fn damaged_images_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (path, data) = write_image(dir.path());
        let good = std::fs::read(&path).unwrap();
        let read_all = |bytes: &[u8]| -> Result<Vec<u8>> {
            std::fs::write(&path, bytes).unwrap();
            let mut r = ImageReader::open(&path)?;
            let mut all = vec![];
            while let Some((_, d)) = r.next_pages()? {
                all.extend(d);
            }
            Ok(all)
        };
        for cut in 0..good.len() {
            assert!(read_all(&good[..cut]).is_err(), "a cut at {cut} reads");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            if let Ok(all) = read_all(&bad) {
                panic!("a flip at {at} reads ({} bytes, same: {})", all.len(), all == data);
            }
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(read_all(&longer).is_err());
    }

    #[test]
    fn other_versions_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_image(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8] = 99;
        std::fs::write(&path, bytes).unwrap();
        let e = ImageReader::open(&path).err().unwrap().to_string();
        assert!(
            e.contains("version 99") && e.contains(&format!("version {IMAGE_VERSION}")),
            "{e}"
        );
    }

    #[test]
    fn crafted_fields_are_refused() {
        let mut h = header();
        h.regions[1].start = h.regions[0].start;
        assert!(h.validate().is_err());
        let mut h = header();
        h.regions[0].backing = Backing::File { file: 5, offset: 0 };
        assert!(h.validate().is_err());
        let mut h = header();
        h.files[0].hash = FileHash("../../etc/passwd".into());
        assert!(h.validate().is_err());
        let mut h = header();
        h.actions.push(SigAction {
            signo: libc::SIGKILL,
            handler: 0,
            flags: 0,
            restorer: 0,
            mask: 0,
        });
        assert!(h.validate().is_err());
        let mut h = header();
        h.fds.push(OpenFile {
            fd: 4,
            cloexec: false,
            what: FdKind::Dup { of: 9 },
        });
        assert!(h.validate().is_err());
        let timer = PosixTimer {
            id: 1,
            clock: libc::CLOCK_MONOTONIC,
            notify: libc::SIGEV_SIGNAL,
            signo: libc::SIGUSR1,
            sigval: 0,
            tid: 0,
            flags: 0,
            interval_ns: 0,
            value_ns: 1,
            set_at: 1,
        };
        let mut h = header();
        h.posix_timers = vec![timer, PosixTimer { id: 0, ..timer }];
        assert!(h.validate().is_err(), "ids out of order");
        for bad in [
            PosixTimer { clock: -6, ..timer },
            PosixTimer { notify: 3, ..timer },
            PosixTimer { signo: 65, ..timer },
            PosixTimer { flags: 2, ..timer },
        ] {
            h.posix_timers = vec![bad];
            assert!(h.validate().is_err(), "{bad:?}");
        }
        h.posix_timers = vec![PosixTimer { id: 0, ..timer }, timer];
        assert!(h.validate().is_ok());
        let thread = ThreadImage {
            tid: 12,
            regs: header().regs,
            xstate: vec![],
            blocked: 0,
            words: ThreadWords::default(),
        };
        let mut h = header();
        h.pid = 10;
        h.threads = vec![
            thread.clone(),
            ThreadImage {
                tid: 11,
                ..thread.clone()
            },
        ];
        assert!(h.validate().is_err(), "tids out of order");
        h.threads = vec![ThreadImage {
            tid: 10,
            ..thread.clone()
        }];
        assert!(h.validate().is_err(), "a thread with the process's id");
        h.threads = vec![ThreadImage {
            regs: Registers([0; 27]),
            ..thread.clone()
        }];
        assert!(h.validate().is_err(), "a kernel thread's registers");
        h.threads = vec![thread];
        assert!(h.validate().is_ok());
        h.pending = vec![Pending {
            tid: 13,
            signo: libc::SIGUSR1,
            siginfo: vec![0; SIGINFO_SIZE],
        }];
        assert!(h.validate().is_err(), "a signal pending in a thread it lacks");
        h.pending[0].tid = 12;
        assert!(h.validate().is_ok());
        assert!(header().validate().is_ok());
    }
}
