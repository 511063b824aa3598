//! The on-disk trace: what is recorded, and how it is framed.
//!
//! A trace is a directory holding `events` (a header, then one frame per
//! event, then a trailer) and `files/` (every file the tracee executed or
//! mapped, named by the BLAKE3 hash of its contents). The format is described
//! for humans in `docs/trace-format.md`; keep the two in step and bump
//! [`FORMAT_VERSION`] on every change to the types below.
//!
//! Frames are written as the program runs and flushed regularly, so a trace
//! whose recorder was killed still replays up to its last complete frame; the
//! reader reports such a trace as ending early rather than as corrupt. A
//! frame that runs past the end of the file counts as damage only on
//! evidence (a valid frame after it: [`TraceReader`]'s `step`), and
//! [`check`] walks a whole trace for `rback info --verify`. A write that
//! fails (a full disk) leaves whole frames and, if it fits, a trailer that
//! says why ([`TraceWriter`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{EventIdx, RemoteAddr};

/// Bumped on every change to anything serialized in this module, and on
/// changes to what a trace asks of replay. Version 5: the program may make
/// syscalls through the syscall buffer's gadget, which an older replay
/// would let run for real. Version 7: `Left::Stopped`, and buffered
/// `mprotect`, `madvise` and `rt_sigprocmask`, which replay makes again.
/// Version 8: `SyscallEvent::opened_file`, and buffered `sigaction`
/// questions and `TCGETS`. Version 9: a `Left::Stopped` in a process of
/// several threads, whose other threads replay takes into the group stop
/// with it (an older replay would let them run into it on their turns and
/// diverge). Version 10: `SwitchEvent::shared`.
pub const FORMAT_VERSION: u32 = 10;
const MAGIC: &[u8; 8] = b"RBACKTRC";
/// A frame larger than this is taken for corruption rather than allocated.
const MAX_FRAME: u32 = 1 << 31;
/// How many bytes one reader may checksum, at least, while looking for a
/// valid frame after a damaged one (see `TraceReader::find_frame`).
const SCAN_BUDGET: u64 = 256 << 20;
/// How many of its last events a trace may lose to make room for a trailer
/// on a full disk.
const RECENT_ENDS: usize = 16;
/// The number of `Event` variants: an event frame's second byte is less.
const EVENT_VARIANTS: u8 = 6;
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const FLUSH_BYTES: usize = 1 << 20;

pub const EVENTS_FILE: &str = "events";
pub const FILES_DIR: &str = "files";

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("no trace at {0}")]
    NotFound(PathBuf),
    #[error("{0} is not an rback trace")]
    NotATrace(PathBuf),
    #[error("{path} has trace format version {found}, but this rback reads version {expected}; replay it with the rback that recorded it")]
    Version { path: PathBuf, found: u32, expected: u32 },
    #[error("trace {path} is corrupt at byte {offset}: {why}")]
    Corrupt { path: PathBuf, offset: u64, why: String },
    /// (The cause is in the message, not the `source`: see `Error::Io`.)
    #[error("trace {path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    /// A write failed for want of space. The trace keeps the events written
    /// before, and a trailer that says so if it fits. (`error` is part of
    /// the message, not a separate cause: the trailer keeps the message.)
    #[error("cannot write trace {path}: {what} ({error})")]
    NoSpace {
        path: PathBuf,
        what: &'static str,
        error: io::Error,
    },
}

/// The first frame: what was recorded, where, and on what CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub rback_version: String,
    /// The program as the user named it, and the full command line.
    pub program: String,
    pub argv: Vec<String>,
    pub cwd: String,
    /// Seconds since the epoch when recording started.
    pub start_time: u64,
    pub cpu: CpuIdentity,
}

impl Header {
    /// The program's name as `/proc/PID/comm` gives it (and debuggers show
    /// for its threads): the file name, at most 15 bytes.
    pub fn comm(&self) -> String {
        let base = self.program.rsplit('/').next().unwrap_or(&self.program);
        base.chars().take(15).collect()
    }

    /// The header of a program `p` started in `cwd`, for unit tests that
    /// build a log by hand.
    #[cfg(test)]
    pub(crate) fn for_tests(cwd: &str) -> Header {
        Header {
            rback_version: "test".into(),
            program: "p".into(),
            argv: vec!["p".into()],
            cwd: cwd.into(),
            start_time: 0,
            cpu: CpuIdentity {
                vendor: "test".into(),
                leaves: vec![],
            },
        }
    }
}

/// The CPUID answers a program can see. CPUID cannot be trapped on the
/// machines rback targets, so a trace only replays where these are equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuIdentity {
    pub vendor: String,
    /// `(leaf, subleaf, [eax, ebx, ecx, edx])`, with per-core fields masked.
    pub leaves: Vec<(u32, u32, [u32; 4])>,
}

/// The general-purpose registers, in the order of the kernel's
/// `struct user_regs_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registers(pub [u64; 27]);

/// Bytes written into tracee memory at an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemWrite {
    pub addr: RemoteAddr,
    pub bytes: TraceBytes,
}

/// Bytes a trace carries (what a syscall wrote into memory), serialized as
/// a byte string. Those of a trace read from disk are slices of the one
/// copy of its `events` file in memory, not copies of their own: a replay
/// of a program that reads 64 MiB would otherwise copy them out of the
/// file once more and fault in 64 MiB of fresh heap to hold them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TraceBytes(bytes::Bytes);

impl std::ops::Deref for TraceBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for TraceBytes {
    fn from(bytes: Vec<u8>) -> TraceBytes {
        TraceBytes(bytes.into())
    }
}

impl From<bytes::Bytes> for TraceBytes {
    fn from(bytes: bytes::Bytes) -> TraceBytes {
        TraceBytes(bytes)
    }
}

impl From<&[u8]> for TraceBytes {
    fn from(bytes: &[u8]) -> TraceBytes {
        TraceBytes(bytes::Bytes::copy_from_slice(bytes))
    }
}

impl std::fmt::Debug for TraceBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for TraceBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for TraceBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TraceBytes, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TraceBytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<TraceBytes, E> {
                let within = |file: &bytes::Bytes| {
                    let (start, at) = (file.as_ptr() as usize, v.as_ptr() as usize);
                    at >= start && at + v.len() <= start + file.len()
                };
                Ok(DECODING_FROM.with_borrow(|file| match file {
                    Some(file) if within(file) => TraceBytes(file.slice_ref(v)),
                    _ => v.into(),
                }))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<TraceBytes, E> {
                Ok(v.into())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<TraceBytes, E> {
                Ok(v.into())
            }
        }
        d.deserialize_bytes(Visitor)
    }
}

thread_local! {
    /// The trace file a frame is being decoded from ([`decode_frame`]), for
    /// [`TraceBytes`] to slice instead of copying.
    static DECODING_FROM: std::cell::RefCell<Option<bytes::Bytes>> = const { std::cell::RefCell::new(None) };
}

/// Decodes the frame in `payload`, a slice of `file`, with the bytes its
/// event carries left in `file`.
fn decode_frame(file: &bytes::Bytes, payload: &[u8]) -> postcard::Result<Frame> {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            DECODING_FROM.set(None);
        }
    }
    DECODING_FROM.set(Some(file.clone()));
    let _done = Done;
    postcard::from_bytes(payload)
}

/// The whole file at `path`, mapped if no one else can change it (it is
/// rback's user's own and only that user may write it), read otherwise. A
/// mapping costs nothing up front and shares the page cache; a trace of
/// someone else's is read, since a mapped file that its owner truncated
/// would kill rback with SIGBUS.
fn whole_file(path: &Path) -> Result<bytes::Bytes, TraceError> {
    use std::os::unix::fs::MetadataExt;
    let mut file = File::open(path).map_err(io_err(path))?;
    let meta = file.metadata().map_err(io_err(path))?;
    let len = usize::try_from(meta.len()).map_err(|_| TraceError::NotATrace(path.to_path_buf()))?;
    let ours = meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 == 0;
    if ours && len > 0 {
        if let Ok(map) = crate::sys::MappedFile::map(&file, len) {
            return Ok(bytes::Bytes::from_owner(map));
        }
    }
    let mut data = Vec::with_capacity(len);
    file.read_to_end(&mut data).map_err(io_err(path))?;
    Ok(data.into())
}

/// A file captured into the trace, by content.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileHash(pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Tracee output that reached rback's own stdout or stderr while recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub stream: Stream,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallEvent {
    pub nr: i64,
    pub args: [u64; 6],
    /// What the tracee saw in rax afterwards (negative: -errno).
    pub result: i64,
    pub writes: Vec<MemWrite>,
    pub output: Option<Output>,
    /// For a successful file-backed `mmap`: the mapped file's contents.
    pub mapped_file: Option<FileHash>,
    /// BLAKE3 of writable memory at the call's entry, every N-th call when
    /// recording with `--check-memory N` (see `statepoint::memory_hash`):
    /// replay compares, to notice a divergence before it shows.
    #[serde(with = "serde_bytes")]
    pub memory: Vec<u8>,
    /// Made through the syscall buffer (see `syscallbuf`): `replay -a`
    /// may hand its result to the program without stopping there.
    pub buffered: bool,
    /// For a successful `open`, `openat`, `openat2` or `creat`: the file it
    /// opened, which names it whatever path reached it (a symlink, a hard
    /// link), for replay to share one copy of a file mapped shared.
    pub opened_file: Option<Inode>,
}

impl SyscallEvent {
    /// The file a successful open opened for writing or truncating (Linux
    /// truncates a file opened read-only with O_TRUNC). `creat` writes;
    /// `openat2`'s flags are in the tracee's memory, which the trace does
    /// not hold: taken as writing, which costs its readers a look at most.
    pub fn opened_for_writing(&self) -> Option<Inode> {
        let inode = self.opened_file?;
        let flags = match self.nr {
            libc::SYS_open => self.args[1] as i32,
            libc::SYS_openat => self.args[2] as i32,
            _ => libc::O_RDWR,
        };
        (flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0).then_some(inode)
    }
}

/// A file as the kernel knows it: its device and inode numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Inode {
    pub dev: u64,
    pub ino: u64,
}

/// A process image that `execve` set up, as rback found it before the
/// tracee ran a single instruction of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecEvent {
    /// The executable (for a `#!` script: the interpreter the kernel ran).
    pub exe_path: String,
    pub exe: FileHash,
    /// The dynamic loader the kernel mapped, if any.
    pub interp: Option<(String, FileHash)>,
    pub argv: Vec<String>,
    /// Everything from the stack pointer to the top of the stack: argv,
    /// environment, auxiliary vector (vDSO already hidden), AT_RANDOM bytes.
    pub stack: MemWrite,
    pub regs: Registers,
    /// The process id while recording, which is also the id of the thread
    /// that runs the new program: `Switch` events name threads by such ids.
    pub pid: i32,
    /// Set on the first event of a recording that starts from a checkpoint
    /// image (`rback restart --record`) rather than an `execve`. Replay
    /// restores the image instead of exec'ing `exe`, and `regs` are the
    /// restored program's first thread's; `stack` is empty and `interp` is
    /// `None` (every file the image maps comes from the trace's copies).
    pub image: Option<ImageStart>,
}

/// Where a recording that starts from a checkpoint image starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageStart {
    /// The trace's copy of the image (in `files/`, checked like any copy).
    pub copy: FileHash,
    /// The ids in this recording of the image's other threads, in the
    /// image's order (the restart made them, not a recorded `clone`).
    pub threads: Vec<i32>,
    /// A hash of the restored program's writable memory (as `--check-memory`
    /// hashes it), which replay's restore must give too.
    #[serde(with = "serde_bytes")]
    pub memory: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalKind {
    /// Caused by the instruction at rip (a fault); it recurs by itself in replay.
    Synchronous,
    /// Sent from elsewhere; replay raises it at the same point.
    Asynchronous,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalEvent {
    pub signo: i32,
    pub kind: SignalKind,
    #[serde(with = "serde_bytes")]
    pub siginfo: Vec<u8>,
    /// Registers at the signal-delivery stop, before the kernel sets up a
    /// handler frame (rax and orig_rax decide whether a syscall restarts).
    pub regs: Registers,
    /// For a signal delivered while the program ran its own code: it came
    /// just before the N-th execution, counted from the previous event, of
    /// the instruction at `regs.rip`. `None`: at the previous event's end,
    /// or where `at_state` says.
    pub at_execution: Option<u64>,
    /// For a signal delivered in code whose state never repeats (a loop
    /// that counts): it came at the first execution of `regs.rip` after the
    /// previous event in exactly this state.
    pub at_state: Option<Box<StatePoint>>,
}

/// A point in a thread's own code named by the program's state there, for
/// code that runs too many instructions to count: the first execution of
/// the instruction at the event's `regs.rip`, after the previous event,
/// with the event's registers, this value in `word` and writable memory
/// hashing to `memory` (see `statepoint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatePoint {
    /// A word that changes each time round the loop the point is in, which
    /// replay checks inside the tracee at native speed.
    pub word: Word,
    pub value: u64,
    /// BLAKE3 of the writable memory.
    #[serde(with = "serde_bytes")]
    pub memory: Vec<u8>,
}

/// Where a [`StatePoint`]'s word is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Word {
    /// A register, by its index in [`Registers`].
    Register(u8),
    /// 8 bytes of memory.
    Memory(u64),
}

/// How a point in a thread's own code is found again in replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// At the N-th execution of the instruction (counted from the previous
    /// event): for a state that repeats, like a spin loop's.
    Count(u64),
    /// By state.
    State(Box<StatePoint>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    Exited(i32),
    Killed { signo: i32, core_dumped: bool },
}

impl ExitStatus {
    /// The status a shell would report: the exit code, or 128 + signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Killed { signo, .. } => 128 + signo,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Killed { signo, core_dumped } => {
                let name = nix::sys::signal::Signal::try_from(*signo)
                    .map(|s| s.as_str())
                    .unwrap_or("unknown signal");
                write!(
                    f,
                    "killed by {name}{}",
                    if *core_dumped { " (core dumped)" } else { "" }
                )
            }
        }
    }
}

/// One step of the recorded execution. Events are numbered from 0 in the
/// order they happened; the number is rback's notion of "when".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Exec(Box<ExecEvent>),
    Syscall(Box<SyscallEvent>),
    /// A trapped `rdtsc` (aux: None) or `rdtscp` (aux: Some(TSC_AUX)).
    Rdtsc {
        tsc: u64,
        aux: Option<u32>,
    },
    Signal(Box<SignalEvent>),
    Exit(ExitStatus),
    /// Another thread's turn. Events apply to the thread whose turn it is;
    /// the first thread of the program has the first turn.
    Switch(Box<SwitchEvent>),
}

/// The running thread stops where `left` says, and thread `to` (a thread
/// id as the program saw it while recording) of process `process` runs
/// next: from where it stopped, or by ending the syscall it was left in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchEvent {
    pub to: i32,
    /// The process `to` belongs to (its id while recording), so that a
    /// reader can tell whose events follow without replaying the clones.
    pub process: i32,
    pub left: Left,
    /// What memory that process shares with others (`MAP_SHARED`, System V
    /// segments) holds now that differs from when its last turn ended:
    /// what other processes (or the kernel for them) wrote there meanwhile,
    /// which a replay that does not run them writes in itself (see
    /// `record::shared_memory`).
    pub shared: Vec<MemWrite>,
}

/// Where a thread stood when its turn ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Left {
    /// At the entry of syscall `nr`, which may block: its `Syscall` event
    /// comes when the thread's turn comes back, after the call has ended.
    AtSyscall { nr: i64 },
    /// Preempted while running its own code, just before an execution of
    /// the instruction at `regs.rip` (which one: `at`), with these
    /// registers.
    Preempted { regs: Box<Registers>, at: Placement },
    /// The thread made its `exit` (which has no event of its own).
    Exited,
    /// The thread made a `vfork` (the `Syscall` event just before, whose
    /// result is the child's id): it waits in the kernel until the child
    /// execs or exits, and the child runs next.
    InVfork,
    /// Its whole process ended, with this status, after the thread's last
    /// event (an `exit_group`, the `exit` of its last thread, a fatal
    /// signal); other processes of the program live on.
    ProcessExited(ExitStatus),
    /// Stop signal `signo`, which another process of the program sent (its
    /// `Signal` event is the thread's last), put the thread's process in a
    /// group stop: the thread runs again after a SIGCONT. (Since version
    /// 9, in a process of several threads too: the process's other
    /// threads, but for one in a `vfork` or one already taken through a
    /// group stop that has not run since, enter the stop at this switch,
    /// each trapping before it runs any of its own code.)
    Stopped { signo: i32 },
}

/// The last frame of a complete trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    pub events: u64,
    pub duration_ns: u64,
    /// Why recording stopped before the program ended, if it did (an
    /// unsupported syscall, say): the trace is whole up to there.
    pub stopped: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Frame {
    Header(Header),
    Event(Event),
    Trailer(Trailer),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> TraceError + '_ {
    move |cause| TraceError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// A failed write, with a full disk or a used-up quota named as such: they
/// are the usual reason, and the user can do something about them.
fn write_err(path: &Path, source: io::Error) -> TraceError {
    let path = path.to_path_buf();
    match source.raw_os_error() {
        Some(libc::ENOSPC) => TraceError::NoSpace {
            path,
            what: "the disk is full",
            error: source,
        },
        Some(libc::EDQUOT) => TraceError::NoSpace {
            path,
            what: "the disk quota is used up",
            error: source,
        },
        _ => TraceError::Io { path, cause: source },
    }
}

/// Appends one frame to `buf`: a head with the payload's length and CRC,
/// then the payload that `encode` appends. On `Err` (a payload of
/// [`MAX_FRAME`] bytes or more), `buf` is as it was.
pub(crate) fn push_frame(buf: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), ()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    encode(buf);
    let Some(len) = u32::try_from(buf.len() - start - 8).ok().filter(|&l| l < MAX_FRAME) else {
        buf.truncate(start);
        return Err(());
    };
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Reads the frame that [`push_frame`] wrote at the start of `input`, of
/// which `left` bytes remain, and returns its payload once it matches its
/// CRC; `Err` says what is wrong with it. (Checkpoint images are framed
/// this way too. A trace's reader has more to tell, a cut from damage, and
/// reads frames itself.) Never allocates more than `left` bytes.
pub(crate) fn read_frame(input: &mut impl Read, left: u64) -> io::Result<Result<Vec<u8>, String>> {
    if left < 8 {
        return Ok(Err(format!("a frame's head needs 8 bytes, {left} are left")));
    }
    let mut head = [0u8; 8];
    input.read_exact(&mut head)?;
    let len = u32::from_le_bytes(head[..4].try_into().unwrap());
    let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
    if len >= MAX_FRAME || u64::from(len) > left - 8 {
        return Ok(Err(format!("a frame claims {len} bytes, {} are left", left - 8)));
    }
    let mut payload = vec![0u8; len as usize];
    input.read_exact(&mut payload)?;
    if crc32fast::hash(&payload) != crc {
        return Ok(Err("checksum mismatch".into()));
    }
    Ok(Ok(payload))
}

/// Appends frames to a trace's `events` file as the tracee runs.
///
/// Frames gather in a buffer of whole frames, handed to the kernel
/// together. When a write fails (most often because the disk is full), the
/// file is cut back to the end of the last whole frame that reached it,
/// every later write fails with the same error, and
/// [`TraceWriter::finish`] still ends the file with a trailer that says
/// why, if it fits: the trace then reads as complete up to there, and
/// never as the leftovers of a killed recorder or as damage.
pub struct TraceWriter {
    path: PathBuf,
    file: File,
    /// Whole frames not yet handed to the kernel.
    buf: Vec<u8>,
    /// Where each frame in `buf` ends, and whether it is an event.
    buffered: Vec<(usize, bool)>,
    /// The length of the file: whole frames only.
    written: u64,
    /// The event frames in it.
    events_in_file: u64,
    /// Where the last few event frames in the file end, with the number of
    /// events up to there: a trailer that does not fit on a full disk can
    /// take their place.
    recent_ends: VecDeque<(u64, u64)>,
    /// When the buffer last went to the file, on the coarse clock.
    last_flush: Duration,
    started: Instant,
    /// Events handed to the writer (in the file, or still in `buf`).
    events: u64,
    /// Why writing failed, once it has: the OS error number, or the message.
    failed: Option<Result<i32, String>>,
    finished: bool,
    /// A log in memory that gets each event too, for a live recording.
    mirror: Option<Arc<TraceLog>>,
}

impl TraceWriter {
    /// Creates `dir/events` and writes the header frame.
    pub fn create(dir: &Path, header: &Header) -> Result<TraceWriter, TraceError> {
        let path = dir.join(EVENTS_FILE);
        // A trace holds whatever the program read: secrets included.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut buf = Vec::with_capacity(FLUSH_BYTES * 2);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let mut w = TraceWriter {
            path,
            file,
            buffered: vec![(buf.len(), false)],
            buf,
            written: 0,
            events_in_file: 0,
            recent_ends: VecDeque::new(),
            last_flush: coarse_now(),
            started: Instant::now(),
            events: 0,
            failed: None,
            finished: false,
            mirror: None,
        };
        w.frame(&Frame::Header(header.clone()))?;
        w.flush()?;
        Ok(w)
    }

    /// Sends every event from now on to `log` as well (after it is in the
    /// file's buffer), and the trailer when the trace is finished.
    pub(crate) fn mirror_to(&mut self, log: Arc<TraceLog>) {
        self.mirror = Some(log);
    }

    pub(crate) fn mirror(&self) -> Option<Arc<TraceLog>> {
        self.mirror.clone()
    }

    /// The events written so far; once a write has failed, those that are
    /// in the file.
    pub fn events_written(&self) -> EventIdx {
        EventIdx(if self.failed.is_some() {
            self.events_in_file
        } else {
            self.events
        })
    }

    pub fn write_event(&mut self, event: &Event) -> Result<EventIdx, TraceError> {
        self.write_encoded(|buf| postcard::to_io(event, buf).map(drop), || event.clone())
    }

    /// Writes `Event::Syscall(call)`, as [`TraceWriter::write_event`] would,
    /// without a boxed copy of `call` to wrap it in: a flush of the syscall
    /// buffer hands over thousands of calls at a time.
    pub fn write_syscall(&mut self, call: &SyscallEvent) -> Result<EventIdx, TraceError> {
        self.write_encoded(
            |buf| {
                // `Event::Syscall` is variant 1, and a box encodes as what it holds.
                buf.push(1);
                postcard::to_io(call, buf).map(drop)
            },
            || Event::Syscall(Box::new(call.clone())),
        )
    }

    /// Writes an event frame whose event `encode` appends, and hands the
    /// event (`owned`) to the mirror if there is one.
    fn write_encoded(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> postcard::Result<()>,
        owned: impl FnOnce() -> Event,
    ) -> Result<EventIdx, TraceError> {
        self.check_failed()?;
        // `Frame::Event` is variant 1; postcard encodes the variant as a
        // varint, so the event's own encoding can follow a single byte.
        self.push(true, |buf| {
            buf.push(1);
            encode(buf).expect("trace frames always serialize");
        })?;
        let idx = EventIdx(self.events);
        self.events += 1;
        if let Some(log) = &self.mirror {
            log.push(owned());
        }
        if self.buf.len() >= FLUSH_BYTES || coarse_now().saturating_sub(self.last_flush) >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(idx)
    }

    /// Writes the trailer: the trace is complete, up to the program's end or
    /// to where recording had to stop (`stopped` says why).
    ///
    /// If a write failed earlier (the caller's `stopped` then normally
    /// names that failure), or the trailer itself cannot be written, the
    /// file is ended after the last whole frame it holds with a trailer
    /// that says why, if that fits. That is `Ok` only when the caller
    /// already knew the recording stopped (`stopped` is set and the failure
    /// came before this call); otherwise the failure is returned, so that
    /// a recording that lost its last events does not look whole.
    pub fn finish(mut self, stopped: Option<String>) -> Result<(), TraceError> {
        self.finished = true;
        if self.failed.is_none() {
            let trailer = Trailer {
                events: self.events,
                duration_ns: self.started.elapsed().as_nanos() as u64,
                stopped: stopped.clone(),
            };
            match self.frame(&Frame::Trailer(trailer.clone())).and_then(|()| self.flush()) {
                Ok(()) => {
                    if let Some(log) = &self.mirror {
                        log.end(trailer);
                    }
                    return Ok(());
                }
                Err(e) if self.failed.is_none() => return Err(e),
                Err(e) => {
                    let why = match stopped {
                        Some(s) => format!("{s}; then {e}"),
                        None => e.to_string(),
                    };
                    let _ = self.salvage(why);
                    return Err(e);
                }
            }
        }
        let failure = self.failure();
        match stopped {
            Some(why) => self.salvage(why),
            None => {
                let _ = self.salvage(failure.to_string());
                Err(failure)
            }
        }
    }

    pub fn flush(&mut self) -> Result<(), TraceError> {
        self.check_failed()?;
        self.last_flush = coarse_now();
        let mut done = 0;
        while done < self.buf.len() {
            match self.file.write(&self.buf[done..]) {
                Ok(0) => return Err(self.fail(done, io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(done, e)),
            }
        }
        self.keep_frames(done);
        self.buf.clear();
        self.buffered.clear();
        if self.buf.capacity() > FLUSH_BYTES * 4 {
            // One huge event should not keep its buffer for the rest of the recording.
            self.buf = Vec::with_capacity(FLUSH_BYTES * 2);
        }
        Ok(())
    }

    /// A write failed after `done` bytes of the buffer reached the file:
    /// keeps the whole frames among them, cuts the file back to their end
    /// (a later reader must not take a partial frame for damage), and
    /// refuses every write from now on.
    fn fail(&mut self, done: usize, e: io::Error) -> TraceError {
        self.keep_frames(done);
        let _ = self.file.set_len(self.written);
        let _ = self.file.seek(SeekFrom::Start(self.written));
        self.buf.clear();
        self.buffered.clear();
        self.failed = Some(e.raw_os_error().ok_or_else(|| e.to_string()));
        write_err(&self.path, e)
    }

    /// Counts the whole frames among the first `done` bytes of the buffer
    /// as in the file.
    fn keep_frames(&mut self, done: usize) {
        // The buffer's offsets count from where this flush started.
        let start = self.written;
        for &(end, is_event) in self.buffered.iter().take_while(|f| f.0 <= done) {
            self.written = start + end as u64;
            if is_event {
                self.events_in_file += 1;
                if self.recent_ends.len() == RECENT_ENDS {
                    self.recent_ends.pop_front();
                }
                self.recent_ends.push_back((self.written, self.events_in_file));
            }
        }
    }

    fn failure(&self) -> TraceError {
        let source = match &self.failed {
            Some(Ok(errno)) => io::Error::from_raw_os_error(*errno),
            Some(Err(message)) => io::Error::other(message.clone()),
            None => io::Error::other("no failure"),
        };
        write_err(&self.path, source)
    }

    fn check_failed(&self) -> Result<(), TraceError> {
        match self.failed {
            None => Ok(()),
            Some(_) => Err(self.failure()),
        }
    }

    /// After a failed write: ends the file, which holds whole frames only,
    /// with a trailer for the events in it that says why it ends there. On
    /// a full disk the trailer may not fit after the last frame (that frame
    /// filled the last block); it then takes the place of the last events,
    /// up to [`RECENT_ENDS`] of them, until it fits.
    fn salvage(&mut self, why: String) -> Result<(), TraceError> {
        loop {
            let trailer = Trailer {
                events: self.events_in_file,
                duration_ns: self.started.elapsed().as_nanos() as u64,
                stopped: Some(why.clone()),
            };
            let mut bytes = Vec::new();
            push_frame(&mut bytes, |buf| {
                postcard::to_io(&Frame::Trailer(trailer), buf).expect("trace frames always serialize");
            })
            .map_err(|()| self.too_large())?;
            let e = match self.file.write_all(&bytes) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            // Whole frames only, still: a partial trailer would read as damage.
            let _ = self.file.set_len(self.written);
            let _ = self.file.seek(SeekFrom::Start(self.written));
            let full = matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
            while self.recent_ends.back().is_some_and(|&(end, _)| end >= self.written) {
                self.recent_ends.pop_back();
            }
            match self.recent_ends.pop_back() {
                Some((end, events)) if full => {
                    self.written = end;
                    self.events_in_file = events;
                    let _ = self.file.set_len(end);
                    let _ = self.file.seek(SeekFrom::Start(end));
                }
                _ => return Err(write_err(&self.path, e)),
            }
        }
    }

    fn too_large(&self) -> TraceError {
        TraceError::Io {
            path: self.path.clone(),
            cause: io::Error::other("event too large for one frame"),
        }
    }

    fn frame(&mut self, frame: &Frame) -> Result<(), TraceError> {
        self.check_failed()?;
        self.push(false, |buf| {
            postcard::to_io(frame, buf).expect("trace frames always serialize");
        })
    }

    fn push(&mut self, is_event: bool, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), TraceError> {
        push_frame(&mut self.buf, encode).map_err(|()| self.too_large())?;
        self.buffered.push((self.buf.len(), is_event));
        Ok(())
    }
}

impl Drop for TraceWriter {
    /// Frames already handed to the writer reach the file even when the
    /// recording ends without [`TraceWriter::finish`] (the trace then ends
    /// early, as a killed recorder's does).
    fn drop(&mut self) {
        if !self.finished && self.failed.is_none() {
            let _ = self.flush();
        }
    }
}

/// The time on the kernel's coarse monotonic clock (a few milliseconds
/// fine): a read of memory the kernel keeps, where `Instant::now` reads the
/// time stamp counter too and cost 2.7% of recording a syscall-heavy
/// program when each event looked at it.
fn coarse_now() -> Duration {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(Duration::ZERO, Duration::from)
}

/// What comes next when reading a trace.
#[derive(Debug)]
pub enum Next {
    Event(Event),
    /// The trailer: the recording ended normally.
    End(Trailer),
    /// The file stops before a trailer: the recorder was killed or crashed.
    EndsEarly,
}

/// One step through the frames, before the reader decides what it means.
enum Step {
    Frame(Frame),
    /// The file ends where a frame would start.
    End,
    /// The file ends inside a frame, as a killed recorder's can: fewer than
    /// 8 bytes are left, or a frame's length runs past the end of the file
    /// and nothing after its head shows damage instead (see
    /// [`TraceReader::step`]).
    Cut,
    /// The frame at the reader's offset is damaged. `next`: where the next
    /// valid frame starts, if the reader looked and found one.
    Bad {
        why: String,
        next: Option<u64>,
    },
}

/// Reads a trace's frames in order, from the whole `events` file in memory
/// (mapped where that is safe: see [`whole_file`]), so that the bytes
/// events carry stay slices of it ([`TraceBytes`]).
pub struct TraceReader {
    path: PathBuf,
    data: bytes::Bytes,
    /// Where the next frame starts.
    offset: u64,
    len: u64,
    header: Header,
    next_event: EventIdx,
    /// How many more bytes the reader may checksum while looking for a
    /// valid frame after a damaged one ([`TraceReader::find_frame`]).
    scan_budget: u64,
}

impl TraceReader {
    /// Opens the trace in `dir` and reads its header.
    pub fn open(dir: &Path) -> Result<TraceReader, TraceError> {
        let mut reader = TraceReader::open_file(dir)?;
        match reader.step(false)? {
            Step::Frame(Frame::Header(h)) => reader.header = h,
            Step::Frame(_) => return Err(reader.corrupt("the first frame is not a header")),
            Step::End | Step::Cut => return Err(reader.corrupt("the trace ends inside its header")),
            Step::Bad { why, .. } => return Err(reader.corrupt(&why)),
        }
        Ok(reader)
    }

    /// Opens `dir/events` and checks its magic and version, leaving the
    /// reader at the first frame.
    fn open_file(dir: &Path) -> Result<TraceReader, TraceError> {
        if !dir.exists() {
            return Err(TraceError::NotFound(dir.to_path_buf()));
        }
        let path = dir.join(EVENTS_FILE);
        if !dir.is_dir() || !path.is_file() {
            return Err(TraceError::NotATrace(dir.to_path_buf()));
        }
        let data = whole_file(&path)?;
        let len = data.len() as u64;
        if len < 12 || &data[..8] != MAGIC {
            return Err(TraceError::NotATrace(dir.to_path_buf()));
        }
        let found = u32::from_le_bytes(data[8..12].try_into().unwrap());
        if found != FORMAT_VERSION {
            return Err(TraceError::Version {
                path: dir.to_path_buf(),
                found,
                expected: FORMAT_VERSION,
            });
        }
        Ok(TraceReader {
            path,
            data,
            offset: 12,
            len,
            header: placeholder_header(),
            next_event: EventIdx(0),
            scan_budget: SCAN_BUDGET.max(len.saturating_mul(2)),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The index the next event returned by [`TraceReader::next_item`] will have.
    pub fn next_index(&self) -> EventIdx {
        self.next_event
    }

    pub fn next_item(&mut self) -> Result<Next, TraceError> {
        match self.step(false)? {
            Step::End | Step::Cut => Ok(Next::EndsEarly),
            Step::Bad { why, .. } => Err(self.corrupt(&why)),
            Step::Frame(Frame::Event(e)) => {
                self.next_event.0 += 1;
                Ok(Next::Event(e))
            }
            Step::Frame(Frame::Trailer(t)) => {
                if t.events != self.next_event.0 {
                    return Err(self.corrupt(&format!(
                        "the trailer counts {} events but {} were read",
                        t.events, self.next_event.0
                    )));
                }
                if self.offset != self.len {
                    return Err(self.corrupt("data follows the trailer"));
                }
                Ok(Next::End(t))
            }
            Step::Frame(Frame::Header(_)) => Err(self.corrupt("a second header")),
        }
    }

    fn corrupt(&self, why: &str) -> TraceError {
        TraceError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            why: why.to_string(),
        }
    }

    /// The `len` bytes of the file at `at` (both within it).
    fn bytes_at(&self, at: u64, len: u64) -> &[u8] {
        &self.data[at as usize..(at + len) as usize]
    }

    /// Reads the frame at `self.offset`, and moves past it if it is whole
    /// and valid. With `find_next`, a damaged frame comes with where the
    /// next valid frame starts.
    ///
    /// A frame whose length runs past the end of the file is what a
    /// recorder killed in the middle of a write leaves, but also what one
    /// damaged bit in a length field makes. It counts as damaged only on
    /// evidence: the bytes left after its head are exactly a whole frame
    /// (its checksum matches them and they decode), or a valid frame starts
    /// somewhere after its head ([`TraceReader::find_frame`]). A killed
    /// recorder's last frame is a prefix of a frame, so neither happens but
    /// by a CRC-32 collision, or when the cut frame's own payload holds
    /// valid rback frames (a program that read a trace).
    fn step(&mut self, find_next: bool) -> Result<Step, TraceError> {
        let remaining = self.len - self.offset;
        if remaining == 0 {
            return Ok(Step::End);
        }
        if remaining < 8 {
            return Ok(Step::Cut);
        }
        let head: [u8; 8] = self.bytes_at(self.offset, 8).try_into().unwrap();
        let len = u32::from_le_bytes(head[..4].try_into().unwrap());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
        let payload_at = self.offset + 8;
        let left = remaining - 8;
        if head == [0; 8] && self.zeros_from(payload_at) {
            // A machine that crashed after the file grew but before its
            // data reached the disk leaves zeros where the last frames were.
            return Ok(Step::Cut);
        }
        if len >= MAX_FRAME {
            let next = if find_next { self.find_frame(payload_at) } else { None };
            return Ok(Step::Bad {
                why: format!("a frame claims {len} bytes"),
                next,
            });
        }
        if u64::from(len) > left {
            if self.is_frame(payload_at, left, crc) {
                return Ok(Step::Bad {
                    why: format!(
                        "a frame claims {len} bytes, but it is the {left} bytes left in the file (they match its checksum)"
                    ),
                    next: None,
                });
            }
            if let Some(next) = self.find_frame(payload_at) {
                return Ok(Step::Bad {
                    why: format!("a frame claims {len} bytes, past the end of the file, but a valid frame follows at byte {next}"),
                    next: Some(next),
                });
            }
            return Ok(Step::Cut);
        }
        // `len` is at most what the file holds after the head.
        let payload = self.bytes_at(payload_at, u64::from(len));
        let why = if crc32fast::hash(payload) != crc {
            "checksum mismatch".to_string()
        } else {
            match decode_frame(&self.data, payload) {
                Ok(frame) => {
                    self.offset = payload_at + u64::from(len);
                    return Ok(Step::Frame(frame));
                }
                Err(e) => format!("undecodable frame: {e}"),
            }
        };
        let next = if find_next { self.find_frame(payload_at) } else { None };
        Ok(Step::Bad { why, next })
    }

    /// Where the first valid frame at or after `from` starts: a head whose
    /// length fits in the file, followed by a payload that matches the
    /// head's CRC and decodes to exactly one frame.
    ///
    /// It looks at every offset, so it takes time linear in the bytes it
    /// passes; checksumming candidates could take more (a payload full of
    /// words that look like lengths), so the reader has a budget for it of
    /// twice the file's size (at least [`SCAN_BUDGET`]), after which no
    /// candidate counts and the damage, if any, goes unproven.
    fn find_frame(&mut self, from: u64) -> Option<u64> {
        let mut at = from;
        while at + 9 <= self.len {
            let w = self.bytes_at(at, (self.len - at).min(10));
            let len = u32::from_le_bytes(w[..4].try_into().unwrap());
            let crc = u32::from_le_bytes(w[4..8].try_into().unwrap());
            // A payload starts with the frame's variant (0 to 2), and an
            // event frame's second byte is the event's variant.
            let plausible = len > 0
                && len < MAX_FRAME
                && at + 8 + u64::from(len) <= self.len
                && w[8] <= 2
                && (w[8] != 1 || len < 2 || w[9] < EVENT_VARIANTS);
            if plausible && self.is_frame(at + 8, u64::from(len), crc) {
                return Some(at);
            }
            at += 1;
        }
        None
    }

    /// Whether every byte from `at` to the end of the file is zero.
    fn zeros_from(&self, at: u64) -> bool {
        self.bytes_at(at, self.len - at).iter().all(|&b| b == 0)
    }

    /// Whether the `len` bytes at `at` are a payload with checksum `crc`
    /// that decodes to exactly one frame (no for any candidate once the
    /// scan budget is spent).
    fn is_frame(&mut self, at: u64, len: u64, crc: u32) -> bool {
        if len == 0 || len > self.scan_budget {
            return false;
        }
        self.scan_budget -= len;
        let payload = self.bytes_at(at, len);
        crc32fast::hash(payload) == crc
            && matches!(postcard::take_from_bytes::<Frame>(payload), Ok((_, rest)) if rest.is_empty())
    }
}

/// Everything [`check`] found in a trace's `events` file.
#[derive(Debug, Default)]
pub struct FrameCheck {
    pub header: Option<Header>,
    /// Event frames read intact.
    pub events: u64,
    /// Damaged frames after the header, each taken for one event.
    pub damaged: u64,
    pub trailer: Option<Trailer>,
    /// Every problem found, each a [`TraceError::Corrupt`] saying where.
    pub problems: Vec<TraceError>,
    /// Where the file ends early (inside a frame, or after the last whole
    /// one without a trailer), as a killed recorder leaves it; not damage.
    pub ends_early: Option<u64>,
    /// Whether damage kept the rest of the file from being read: no valid
    /// frame follows a damaged one.
    pub unreadable_rest: bool,
}

impl FrameCheck {
    /// Whether the frames are whole and sound, and the trace complete.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.ends_early.is_none() && !self.unreadable_rest && self.trailer.is_some()
    }
}

/// Reads every frame of the trace in `dir` and reports every problem, not
/// only the first: after a damaged frame it goes on from the next valid
/// frame it finds. `each_event` sees every intact event, in order. Fails
/// only when `dir` holds no trace of this format version, or on an I/O
/// error.
pub fn check(dir: &Path, mut each_event: impl FnMut(&Event)) -> Result<FrameCheck, TraceError> {
    let mut r = TraceReader::open_file(dir)?;
    let mut c = FrameCheck::default();
    let mut first = true;
    loop {
        let at = r.offset;
        let step = r.step(true)?;
        let was_first = std::mem::replace(&mut first, false);
        match step {
            Step::Frame(frame) => {
                if was_first && !matches!(frame, Frame::Header(_)) {
                    c.problems.push(r.corrupt("the first frame is not a header"));
                }
                match frame {
                    Frame::Header(h) if was_first => c.header = Some(h),
                    Frame::Header(_) => c.problems.push(r.corrupt("a second header")),
                    Frame::Event(e) => {
                        if c.events + c.damaged == 0 && !matches!(e, Event::Exec(_)) {
                            c.problems.push(TraceError::Corrupt {
                                path: r.path.clone(),
                                offset: at,
                                why: "event 0 is not the program's start (an Exec)".into(),
                            });
                        }
                        if c.events + c.damaged > 0 && matches!(&e, Event::Exec(exec) if exec.image.is_some()) {
                            c.problems.push(TraceError::Corrupt {
                                path: r.path.clone(),
                                offset: at,
                                why: "an exec after event 0 says the program starts from a checkpoint image".into(),
                            });
                        }
                        each_event(&e);
                        c.events += 1;
                    }
                    Frame::Trailer(t) => {
                        if t.events != c.events + c.damaged {
                            let read = match c.damaged {
                                0 => format!("{} were read", c.events),
                                d => format!("{} were read and {d} frames are damaged", c.events),
                            };
                            c.problems
                                .push(r.corrupt(&format!("the trailer counts {} events but {read}", t.events)));
                        }
                        if r.offset != r.len {
                            c.problems.push(r.corrupt("data follows the trailer"));
                        }
                        c.trailer = Some(t);
                        break;
                    }
                }
            }
            Step::End | Step::Cut if was_first => {
                c.problems.push(r.corrupt("the trace ends inside its header"));
                break;
            }
            Step::End | Step::Cut => {
                c.ends_early = Some(at);
                break;
            }
            Step::Bad { why, next } => {
                c.problems.push(r.corrupt(&why));
                if !was_first {
                    c.damaged += 1;
                }
                match next {
                    Some(next) => r.offset = next,
                    None => {
                        c.unreadable_rest = true;
                        break;
                    }
                }
            }
        }
    }
    Ok(c)
}

fn placeholder_header() -> Header {
    Header {
        rback_version: String::new(),
        program: String::new(),
        argv: vec![],
        cwd: String::new(),
        start_time: 0,
        cpu: CpuIdentity {
            vendor: String::new(),
            leaves: vec![],
        },
    }
}

/// A whole trace in memory: what replay and time travel work from. Going
/// back in time means jumping to an earlier event, which a stream cannot do.
///
/// A live recording (`rback run`) grows the log while the debugger reads
/// it: events are only ever appended, and an event once in the log never
/// moves or changes, so readers hold plain references into it.
#[derive(Debug)]
pub struct TraceLog {
    pub header: Header,
    events: boxcar::Vec<Event>,
    /// Unset while a live recording goes on, and for good when the trace
    /// ends early (rback was killed while recording).
    trailer: OnceLock<Trailer>,
    /// Set when a replay of this trace diverged from it: nothing a replay
    /// of it shows can be trusted after that.
    diverged: OnceLock<String>,
    /// What replay read from the program's memory as syscalls took it
    /// (paths, signal actions), for checkpoint images.
    inputs: crate::image::SyscallInputs,
}

impl TraceLog {
    pub fn load(dir: &Path) -> Result<TraceLog, TraceError> {
        let mut reader = TraceReader::open(dir)?;
        let log = TraceLog::growing(reader.header.clone());
        loop {
            match reader.next_item()? {
                Next::Event(e) => log.push(e),
                Next::End(t) => {
                    log.end(t);
                    break;
                }
                Next::EndsEarly => break,
            }
        }
        Ok(log)
    }

    /// An empty log that a recording will fill.
    pub(crate) fn growing(header: Header) -> TraceLog {
        TraceLog {
            header,
            events: boxcar::Vec::new(),
            trailer: OnceLock::new(),
            diverged: OnceLock::new(),
            inputs: Default::default(),
        }
    }

    /// What replays of this trace saw syscalls read from memory.
    pub fn inputs(&self) -> &crate::image::SyscallInputs {
        &self.inputs
    }

    /// Notes that a replay diverged (the first divergence is kept).
    pub(crate) fn mark_diverged(&self, what: String) {
        let _ = self.diverged.set(what);
    }

    /// How a replay of this trace diverged, if one did.
    pub fn divergence(&self) -> Option<&str> {
        self.diverged.get().map(String::as_str)
    }

    pub(crate) fn push(&self, event: Event) {
        self.events.push(event);
    }

    pub(crate) fn end(&self, trailer: Trailer) {
        let _ = self.trailer.set(trailer);
    }

    pub fn get(&self, idx: EventIdx) -> Option<&Event> {
        self.events.get(idx.0 as usize)
    }

    pub fn len(&self) -> EventIdx {
        EventIdx(self.events.count() as u64)
    }

    /// The events in order (those recorded so far, for a live recording).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events_from(0)
    }

    /// The events from number `first` on, without walking those before.
    pub fn events_from(&self, first: u64) -> impl Iterator<Item = &Event> {
        (first..self.len().0).map_while(|i| self.get(EventIdx(i)))
    }

    /// The trailer, once the recording has ended with one.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            rback_version: "test".into(),
            program: "./p".into(),
            argv: vec!["./p".into(), "x".into()],
            cwd: "/".into(),
            start_time: 1,
            cpu: CpuIdentity {
                vendor: "GenuineTest".into(),
                leaves: vec![(0, 0, [1, 2, 3, 4])],
            },
        }
    }

    fn sample_events() -> Vec<Event> {
        vec![
            Event::Syscall(Box::new(SyscallEvent {
                nr: 0,
                args: [0, 0x1000, 5, 0, 0, 0],
                result: 5,
                writes: vec![MemWrite {
                    addr: RemoteAddr(0x1000),
                    bytes: b"hello".to_vec().into(),
                }],
                output: None,
                mapped_file: None,
                opened_file: None,
                memory: vec![],
                buffered: false,
            })),
            Event::Rdtsc {
                tsc: 123456789,
                aux: Some(1),
            },
            Event::Syscall(Box::new(SyscallEvent {
                nr: 1,
                args: [1, 0x1000, 5, 0, 0, 0],
                result: 5,
                writes: vec![],
                output: Some(Output {
                    stream: Stream::Stdout,
                    bytes: b"hello".to_vec(),
                }),
                mapped_file: None,
                opened_file: None,
                memory: vec![7; 32],
                buffered: false,
            })),
            Event::Exit(ExitStatus::Exited(3)),
        ]
    }

    fn write_trace(dir: &Path, finish: bool) {
        let mut w = TraceWriter::create(dir, &header()).unwrap();
        for e in sample_events() {
            w.write_event(&e).unwrap();
        }
        if finish {
            w.finish(None).unwrap();
        } else {
            w.flush().unwrap();
        }
    }

    fn read_all(dir: &Path) -> Result<(Vec<Event>, bool), TraceError> {
        let mut r = TraceReader::open(dir)?;
        let mut events = vec![];
        loop {
            match r.next_item()? {
                Next::Event(e) => events.push(e),
                Next::End(_) => return Ok((events, true)),
                Next::EndsEarly => return Ok((events, false)),
            }
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempdir();
        write_trace(dir.path(), true);
        let (events, complete) = read_all(dir.path()).unwrap();
        assert!(complete);
        assert_eq!(events, sample_events());
        assert_eq!(TraceReader::open(dir.path()).unwrap().header(), &header());
    }

    /// `write_syscall` writes the frames `write_event` writes for the same
    /// calls, so that a reader cannot tell which wrote them.
    #[test]
    fn a_syscall_written_unboxed_is_the_same_frame() {
        let (boxed, unboxed) = (tempdir(), tempdir());
        let mut a = TraceWriter::create(boxed.path(), &header()).unwrap();
        let mut b = TraceWriter::create(unboxed.path(), &header()).unwrap();
        let mut calls = 0;
        for e in sample_events() {
            if let Event::Syscall(call) = &e {
                a.write_event(&e).unwrap();
                b.write_syscall(call).unwrap();
                calls += 1;
            }
        }
        assert!(calls >= 2, "the sample has syscalls, with and without bytes");
        // (No trailer: it holds how long the recording took.)
        a.flush().unwrap();
        b.flush().unwrap();
        let read = |d: &TempDir| std::fs::read(d.path().join(EVENTS_FILE)).unwrap();
        assert_eq!(read(&boxed), read(&unboxed));
    }

    /// A trace only its owner may write is mapped, one others may write is
    /// read; either way the bytes events carry are slices of the file's one
    /// copy in memory, and decode the same.
    #[test]
    fn recorded_bytes_are_slices_of_the_file_mapped_or_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir();
        write_trace(dir.path(), true);
        for mode in [0o644, 0o666] {
            let events = dir.path().join(EVENTS_FILE);
            std::fs::set_permissions(&events, std::fs::Permissions::from_mode(mode)).unwrap();
            let mut r = TraceReader::open(dir.path()).unwrap();
            let file = r.data.as_ptr_range();
            let mut slices = 0;
            while let Next::Event(e) = r.next_item().unwrap() {
                if let Event::Syscall(call) = &e {
                    for w in &call.writes {
                        assert!(file.contains(&w.bytes.as_ptr()), "mode {mode:o}: a copy");
                        slices += 1;
                    }
                }
            }
            assert!(slices > 0);
            assert_eq!(read_all(dir.path()).unwrap().0, sample_events(), "mode {mode:o}");
        }
    }

    #[test]
    fn trace_without_trailer_ends_early() {
        let dir = tempdir();
        write_trace(dir.path(), false);
        let (events, complete) = read_all(dir.path()).unwrap();
        assert!(!complete);
        assert_eq!(events.len(), 4);
    }

    #[test]
    fn other_version_is_named() {
        let dir = tempdir();
        write_trace(dir.path(), true);
        let p = dir.path().join(EVENTS_FILE);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        std::fs::write(&p, bytes).unwrap();
        let err = TraceReader::open(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains(&format!("version {}", FORMAT_VERSION + 1))
                && err.contains(&format!("version {FORMAT_VERSION}")),
            "{err}"
        );
    }

    /// Every truncation is either read as ending early or reported as an
    /// error; every mutated byte yields an error or a valid trace; nothing
    /// panics or hangs.
    #[test]
    fn truncated_and_mutated_traces_never_panic() {
        let dir = tempdir();
        write_trace(dir.path(), true);
        let p = dir.path().join(EVENTS_FILE);
        let good = std::fs::read(&p).unwrap();
        for cut in 0..good.len() {
            std::fs::write(&p, &good[..cut]).unwrap();
            match read_all(dir.path()) {
                Ok((_, complete)) => assert!(!complete, "a cut at {cut} still looked complete"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        let mut rng = 0x9e3779b97f4a7c15u64;
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..1 + (rng % 4) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let i = (rng as usize) % bytes.len();
                bytes[i] ^= (rng >> 32) as u8 | 1;
            }
            std::fs::write(&p, &bytes).unwrap();
            let _ = read_all(dir.path());
        }
        for len in [0usize, 1, 11, 12, 13, 100, 5000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            std::fs::write(&p, &bytes).unwrap();
            assert!(read_all(dir.path()).is_err());
        }
    }

    /// Where each frame of the trace in `bytes` starts.
    fn frame_starts(bytes: &[u8]) -> Vec<usize> {
        let mut starts = vec![];
        let mut at = 12;
        while at + 8 <= bytes.len() {
            starts.push(at);
            at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        }
        starts
    }

    fn corrupt_offset(e: &TraceError) -> u64 {
        match e {
            TraceError::Corrupt { offset, .. } => *offset,
            other => panic!("not reported as corrupt: {other}"),
        }
    }

    /// A killed recorder leaves the file cut anywhere after its header,
    /// and a machine crash can leave zeros instead of the last bytes: every
    /// such end reads as ending early, none as damage.
    #[test]
    fn every_cut_after_the_header_ends_early() {
        let dir = tempdir();
        write_trace(dir.path(), true);
        let p = dir.path().join(EVENTS_FILE);
        let good = std::fs::read(&p).unwrap();
        let header_end = frame_starts(&good)[1];
        for cut in header_end..good.len() {
            std::fs::write(&p, &good[..cut]).unwrap();
            let (events, complete) = read_all(dir.path()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert!(!complete && events.len() <= 4, "cut at {cut}");
            for &start in frame_starts(&good).iter().filter(|&&s| s >= header_end && s <= cut) {
                let mut zeroed = good[..cut].to_vec();
                zeroed[start..].fill(0);
                std::fs::write(&p, &zeroed).unwrap();
                let (_, complete) =
                    read_all(dir.path()).unwrap_or_else(|e| panic!("cut at {cut}, zeros from {start}: {e}"));
                assert!(!complete);
            }
        }
        // Zeros with data after them are damage.
        let mut bytes = good.clone();
        let starts = frame_starts(&good);
        bytes[starts[2]..starts[3]].fill(0);
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(corrupt_offset(&read_all(dir.path()).unwrap_err()), starts[2] as u64);
    }

    /// One flipped bit that sends a frame's length past the end of the file
    /// is damage, reported at that frame: for the header, an event in the
    /// middle, and the trailer (whose bytes are then exactly one frame).
    #[test]
    fn a_length_sent_past_the_end_is_corruption_not_truncation() {
        let dir = tempdir();
        write_trace(dir.path(), true);
        let p = dir.path().join(EVENTS_FILE);
        let good = std::fs::read(&p).unwrap();
        let starts = frame_starts(&good);
        assert_eq!(starts.len(), 6, "header, 4 events, trailer");
        for &start in &starts {
            for bit in [16, 23, 30] {
                let mut bytes = good.clone();
                let len = u32::from_le_bytes(bytes[start..start + 4].try_into().unwrap()) ^ (1 << bit);
                bytes[start..start + 4].copy_from_slice(&len.to_le_bytes());
                std::fs::write(&p, &bytes).unwrap();
                let e = read_all(dir.path()).expect_err("a damaged length must not read as a trace");
                assert_eq!(corrupt_offset(&e), start as u64, "{e}");
                assert!(e.to_string().contains(&format!("claims {len} bytes")), "{e}");
            }
        }
    }

    fn exec_event() -> Event {
        Event::Exec(Box::new(ExecEvent {
            exe_path: "/p".into(),
            exe: FileHash("0".repeat(64)),
            interp: None,
            argv: vec!["/p".into()],
            stack: MemWrite {
                addr: RemoteAddr(0x7fff_0000),
                bytes: vec![1, 2, 3].into(),
            },
            regs: Registers([7; 27]),
            pid: 1234,
            image: None,
        }))
    }

    /// A trace that starts its program, as `check` expects.
    fn write_checked_trace(dir: &Path) -> Vec<u8> {
        let mut w = TraceWriter::create(dir, &header()).unwrap();
        w.write_event(&exec_event()).unwrap();
        for e in sample_events() {
            w.write_event(&e).unwrap();
        }
        w.finish(None).unwrap();
        std::fs::read(dir.join(EVENTS_FILE)).unwrap()
    }

    fn check_bytes(dir: &Path, bytes: &[u8]) -> FrameCheck {
        std::fs::write(dir.join(EVENTS_FILE), bytes).unwrap();
        let mut seen = 0;
        let c = check(dir, |_| seen += 1).unwrap();
        assert_eq!(seen, c.events);
        c
    }

    #[test]
    fn check_finds_nothing_in_a_sound_trace() {
        let dir = tempdir();
        let good = write_checked_trace(dir.path());
        let c = check_bytes(dir.path(), &good);
        assert!(c.is_sound() && c.problems.is_empty(), "{c:?}");
        assert_eq!((c.events, c.damaged), (5, 0));
        assert_eq!(c.header.as_ref(), Some(&header()));
    }

    /// `check` goes on after a damaged frame (bad checksum, or a length
    /// past the end) and reads everything after it, trailer included.
    #[test]
    fn check_reports_each_damaged_frame_and_reads_on() {
        let dir = tempdir();
        let good = write_checked_trace(dir.path());
        let starts = frame_starts(&good);
        let mut bytes = good.clone();
        bytes[starts[2] + 10] ^= 0x40; // the payload of event 1
        bytes[starts[4] + 2] ^= 0x80; // the length of event 3
        let c = check_bytes(dir.path(), &bytes);
        let problems: Vec<String> = c.problems.iter().map(|e| e.to_string()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains(&format!("at byte {}: checksum mismatch", starts[2])),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(&format!("at byte {}: a frame claims", starts[4]))
                && problems[1].contains(&format!("a valid frame follows at byte {}", starts[5])),
            "{problems:?}"
        );
        assert_eq!((c.events, c.damaged), (3, 2));
        assert!(c.trailer.is_some() && !c.is_sound(), "{c:?}");
    }

    #[test]
    fn check_tells_an_early_end_from_damage() {
        let dir = tempdir();
        let good = write_checked_trace(dir.path());
        let starts = frame_starts(&good);
        let c = check_bytes(dir.path(), &good[..starts[3] + 5]);
        assert!(c.problems.is_empty(), "{c:?}");
        assert_eq!(c.ends_early, Some(starts[3] as u64));
        assert_eq!(c.events, 2);
        let c = check_bytes(dir.path(), &good[..starts[3]]);
        assert!(c.problems.is_empty() && c.ends_early == Some(starts[3] as u64), "{c:?}");

        // A trailer whose count disagrees, data after it, a first event
        // that does not start the program.
        let mut w = TraceWriter::create(dir.path(), &header()).unwrap();
        for e in sample_events() {
            w.write_event(&e).unwrap();
        }
        w.events = 9;
        w.finish(None).unwrap();
        let mut bytes = std::fs::read(dir.path().join(EVENTS_FILE)).unwrap();
        bytes.push(0);
        let c = check_bytes(dir.path(), &bytes);
        let problems: Vec<String> = c.problems.iter().map(|e| e.to_string()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("event 0 is not the program's start"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("the trailer counts 9 events but 4 were read"),
            "{problems:?}"
        );
        assert!(problems[2].contains("data follows the trailer"), "{problems:?}");
    }

    /// The scan for a valid frame after a damaged one stays linear: a tail
    /// of words that each look like a frame head (lengths that fit, the
    /// right first bytes) costs checksumming within the budget, not the
    /// square of the tail.
    #[test]
    fn a_tail_of_fake_frame_heads_is_read_quickly() {
        let dir = tempdir();
        let good = write_checked_trace(dir.path());
        let starts = frame_starts(&good);
        let mut bytes = good[..starts[2]].to_vec();
        // A frame that claims more than is left, then 4 MiB in which every
        // offset that is a multiple of 4 claims a long frame.
        bytes.extend_from_slice(&(64u32 << 20).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        let word = [0x00u8, 0x00, 0x20, 0x00];
        while bytes.len() < (4 << 20) {
            bytes.extend_from_slice(&word);
            bytes.extend_from_slice(&[1, 1, 0, 0]);
        }
        let started = Instant::now();
        std::fs::write(dir.path().join(EVENTS_FILE), &bytes).unwrap();
        let (events, complete) = read_all(dir.path()).unwrap();
        assert!(!complete && events.len() == 1);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_event_variant_count_is_right() {
        let last = Event::Switch(Box::new(SwitchEvent {
            to: 1,
            process: 1,
            left: Left::Exited,
            shared: vec![],
        }));
        assert_eq!(postcard::to_allocvec(&last).unwrap()[0], EVENT_VARIANTS - 1);
    }

    fn tempdir() -> TempDir {
        TempDir::new()
    }

    /// A directory removed when dropped (the recorder crate has no
    /// dev-dependency for this).
    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> TempDir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let p = std::env::temp_dir().join(format!("rback-trace-test-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
