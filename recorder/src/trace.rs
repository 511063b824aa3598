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
//! reader reports such a trace as ending early rather than as corrupt.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{EventIdx, RemoteAddr};

/// Bumped on every change to anything serialized in this module.
pub const FORMAT_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"RBACKTRC";
/// A frame larger than this is taken for corruption rather than allocated.
const MAX_FRAME: u32 = 1 << 31;
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
    #[error("trace {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
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
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
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
/// id as the program saw it while recording) runs next: from where it
/// stopped, or by ending the syscall it was left in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchEvent {
    pub to: i32,
    pub left: Left,
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
    move |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends frames to a trace's `events` file as the tracee runs.
pub struct TraceWriter {
    path: PathBuf,
    out: BufWriter<File>,
    last_flush: Instant,
    started: Instant,
    events: u64,
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
        let mut out = BufWriter::with_capacity(FLUSH_BYTES * 2, file);
        out.write_all(MAGIC).map_err(io_err(&path))?;
        out.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io_err(&path))?;
        let mut w = TraceWriter {
            path,
            out,
            last_flush: Instant::now(),
            started: Instant::now(),
            events: 0,
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

    pub fn events_written(&self) -> EventIdx {
        EventIdx(self.events)
    }

    pub fn write_event(&mut self, event: &Event) -> Result<EventIdx, TraceError> {
        self.frame_ref(event)?;
        let idx = EventIdx(self.events);
        self.events += 1;
        if let Some(log) = &self.mirror {
            log.push(event.clone());
        }
        if self.out.buffer().len() >= FLUSH_BYTES || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(idx)
    }

    /// Writes the trailer: the trace is complete, up to the program's end or
    /// to where recording had to stop (`stopped` says why).
    pub fn finish(mut self, stopped: Option<String>) -> Result<(), TraceError> {
        let trailer = Trailer {
            events: self.events,
            duration_ns: self.started.elapsed().as_nanos() as u64,
            stopped,
        };
        self.frame(&Frame::Trailer(trailer.clone()))?;
        self.flush()?;
        if let Some(log) = &self.mirror {
            log.end(trailer);
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), TraceError> {
        self.last_flush = Instant::now();
        self.out.flush().map_err(io_err(&self.path))
    }

    fn frame(&mut self, frame: &Frame) -> Result<(), TraceError> {
        let payload = postcard::to_allocvec(frame).expect("trace frames always serialize");
        self.raw_frame(&payload)
    }

    fn frame_ref(&mut self, event: &Event) -> Result<(), TraceError> {
        // `Frame::Event` is variant 1; postcard encodes the variant as a
        // varint, so the event's own encoding can follow a single byte.
        let mut payload = vec![1u8];
        postcard::to_io(event, &mut payload).expect("trace frames always serialize");
        self.raw_frame(&payload)
    }

    fn raw_frame(&mut self, payload: &[u8]) -> Result<(), TraceError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l < MAX_FRAME)
            .ok_or_else(|| TraceError::Io {
                path: self.path.clone(),
                source: io::Error::other("event too large for one frame"),
            })?;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&len.to_le_bytes());
        head[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.out.write_all(&head).map_err(io_err(&self.path))?;
        self.out.write_all(payload).map_err(io_err(&self.path))
    }
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

/// Reads a trace's frames in order.
pub struct TraceReader {
    path: PathBuf,
    input: BufReader<File>,
    offset: u64,
    len: u64,
    header: Header,
    next_event: EventIdx,
}

impl TraceReader {
    /// Opens the trace in `dir` and reads its header.
    pub fn open(dir: &Path) -> Result<TraceReader, TraceError> {
        if !dir.exists() {
            return Err(TraceError::NotFound(dir.to_path_buf()));
        }
        let path = dir.join(EVENTS_FILE);
        if !dir.is_dir() || !path.is_file() {
            return Err(TraceError::NotATrace(dir.to_path_buf()));
        }
        let file = File::open(&path).map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut start = [0u8; 12];
        if len < 12 || input.read_exact(&mut start).is_err() || &start[..8] != MAGIC {
            return Err(TraceError::NotATrace(dir.to_path_buf()));
        }
        let found = u32::from_le_bytes(start[8..].try_into().unwrap());
        if found != FORMAT_VERSION {
            return Err(TraceError::Version {
                path: dir.to_path_buf(),
                found,
                expected: FORMAT_VERSION,
            });
        }
        let mut reader = TraceReader {
            path,
            input,
            offset: 12,
            len,
            header: placeholder_header(),
            next_event: EventIdx(0),
        };
        match reader.frame()? {
            Some(Frame::Header(h)) => reader.header = h,
            Some(_) => return Err(reader.corrupt("the first frame is not a header")),
            None => return Err(reader.corrupt("the trace ends inside its header")),
        }
        Ok(reader)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The index the next event returned by [`TraceReader::next`] will have.
    pub fn next_index(&self) -> EventIdx {
        self.next_event
    }

    pub fn next_item(&mut self) -> Result<Next, TraceError> {
        match self.frame()? {
            None => Ok(Next::EndsEarly),
            Some(Frame::Event(e)) => {
                self.next_event.0 += 1;
                Ok(Next::Event(e))
            }
            Some(Frame::Trailer(t)) => {
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
            Some(Frame::Header(_)) => Err(self.corrupt("a second header")),
        }
    }

    fn corrupt(&self, why: &str) -> TraceError {
        TraceError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            why: why.to_string(),
        }
    }

    /// Reads one frame; `None` when the file ends before a whole frame.
    fn frame(&mut self) -> Result<Option<Frame>, TraceError> {
        let remaining = self.len - self.offset;
        if remaining < 8 {
            return Ok(None);
        }
        let mut head = [0u8; 8];
        self.input.read_exact(&mut head).map_err(io_err(&self.path))?;
        let len = u32::from_le_bytes(head[..4].try_into().unwrap());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
        if len >= MAX_FRAME {
            return Err(self.corrupt(&format!("a frame claims {len} bytes")));
        }
        if u64::from(len) > remaining - 8 {
            // A frame cut short by the end of the file is what a killed
            // recorder leaves behind; anything else is corruption.
            return Ok(None);
        }
        let mut payload = vec![0u8; len as usize];
        self.input.read_exact(&mut payload).map_err(io_err(&self.path))?;
        if crc32fast::hash(&payload) != crc {
            return Err(self.corrupt("checksum mismatch"));
        }
        let frame = postcard::from_bytes(&payload).map_err(|e| self.corrupt(&format!("undecodable frame: {e}")))?;
        self.offset += 8 + u64::from(len);
        Ok(Some(frame))
    }
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
        }
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
                    bytes: b"hello".to_vec(),
                }],
                output: None,
                mapped_file: None,
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
        bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
        std::fs::write(&p, bytes).unwrap();
        let err = TraceReader::open(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("version 7") && err.contains(&format!("version {FORMAT_VERSION}")),
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
