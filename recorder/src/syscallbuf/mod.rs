//! The in-process syscall buffer, from the recorder's side.
//!
//! `rback record` loads a small library into the program (`LD_PRELOAD`,
//! source in `recorder/preload/syscallbuf.rs`) whose wrappers make cheap,
//! non-blocking syscalls without a ptrace stop and log each one, with the
//! bytes it wrote, into a buffer in the program's memory (`layout.rs`).
//! At every stop of the program the recorder takes the records it has not
//! taken yet ([`Buffers::take`]) and writes them as ordinary `Syscall`
//! events, before the event of the stop itself. Replay needs nothing of
//! this: its seccomp filter traps the library's calls like any other, so
//! the events come where replay meets them.
//!
//! Invariants the recorder keeps (see ARCHITECTURE.md):
//! - the buffer is taken at every stop of the running thread, so the
//!   records always belong to it and come before its next event;
//! - no thread switch and no signal placement happens while a record is
//!   being appended ([`Buffers::busy`]); records are never half-taken.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use crate::trace::{Inode, MemWrite, SyscallEvent};
use crate::tracee::Tracee;
use crate::{Error, EventIdx, RemoteAddr, Result};

#[allow(dead_code)]
pub(crate) mod layout {
    include!("layout.rs");
}

use layout::*;

/// The preload library, built by `recorder/build.rs`.
const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/librback_syscallbuf.so"));

/// Puts the preload library where the program's loader can read it and
/// returns its path, for `LD_PRELOAD`: beside the copies that the traces of
/// the user's directory of traces share (`files::SHARED_DIR`, which is the
/// user's own and closed to others), named by its hash, so that recordings
/// reuse it; or, if that directory cannot be used, in the trace itself.
pub(crate) fn install_library(trace_dir: &Path) -> Result<PathBuf> {
    if let Some(path) = trace_dir.parent().and_then(shared_library_path) {
        return Ok(path);
    }
    let path = trace_dir.join(LIBRARY_NAME);
    std::fs::write(&path, LIBRARY).map_err(Error::io(format!("cannot write {}", path.display())))?;
    Ok(path)
}

/// The library's file name, which is also its soname (see `build.rs`):
/// debuggers look for its copy in a trace by that name.
const LIBRARY_NAME: &str = "rback-syscallbuf.so";

/// The library's copy shared by the recordings into `traces` (the
/// directory of the trace being recorded, beside the files they share:
/// see `files::SharedCopies`), if that directory is the user's own and
/// closed to others.
fn shared_library_path(traces: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    let me = nix::unistd::geteuid().as_raw();
    let private =
        |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0);
    if !private(traces) {
        return None;
    }
    let dir = traces.join(crate::files::SHARED_DIR);
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if !private(&dir) {
        return None;
    }
    let hash = blake3::hash(LIBRARY).to_hex();
    let dir = dir.join(&hash.as_str()[..16]);
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if !private(&dir) {
        return None;
    }
    let path = dir.join(LIBRARY_NAME);
    if std::fs::read(&path).is_ok_and(|bytes| bytes == LIBRARY) {
        return Some(path);
    }
    // Written whole under another name, then renamed: a recording that
    // starts meanwhile sees the old file or the new one, never half of it.
    let temp = dir.join(format!(".{LIBRARY_NAME}.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&temp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, LIBRARY));
    if written.is_err() || std::fs::rename(&temp, &path).is_err() {
        let _ = std::fs::remove_file(&temp);
        return None;
    }
    Some(path)
}

/// How far the recorder has taken a process's buffer: records of
/// `generation` up to byte `taken`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cursor {
    generation: u64,
    taken: u64,
}

/// The buffers of the program's processes (one per address space: threads
/// share their process's).
#[derive(Default)]
pub(crate) struct Buffers {
    cursors: HashMap<Pid, Cursor>,
    /// A `vfork` child shares its parent's memory, and so its buffer, until
    /// it execs or exits: the parent's cursor follows the child's.
    vfork_parents: HashMap<Pid, Pid>,
    /// Processes under a seccomp filter of the program's (inherited by
    /// children, kept across exec): their library must not buffer.
    filtered: HashSet<Pid>,
    /// Where each process's library code is (its executable mappings, and
    /// the gadget's page).
    code: HashMap<Pid, Vec<(u64, u64)>>,
}

impl Buffers {
    /// The process mapped its buffer (the library's `mmap` at
    /// [`BUFFER_ADDR`] succeeded): `t` is its thread that did.
    pub(crate) fn register(&mut self, t: &Tracee) -> Result<()> {
        self.cursors.insert(t.tgid, Cursor::default());
        let mut code: Vec<(u64, u64)> = t
            .mappings()?
            .into_iter()
            .filter(|m| m.perms.contains('x') && m.path.ends_with(&format!("/{LIBRARY_NAME}")))
            .map(|m| (m.start, m.end))
            .collect();
        code.push((RBACK_PAGE_ADDR, RBACK_PAGE_ADDR + 4096));
        self.code.insert(t.tgid, code);
        Ok(())
    }

    /// Whether the process's thread that runs stands in the library's code.
    /// No point there can be named for replay: in `replay -a` a buffered
    /// call takes other paths through it than when it was recorded.
    pub(crate) fn in_library(&self, t: &Tracee, rip: u64) -> bool {
        self.code
            .get(&t.tgid)
            .is_some_and(|code| code.iter().any(|&(start, end)| (start..end).contains(&rip)))
    }

    /// The process and its children never buffer: the library's probe is
    /// answered with ENOMEM, as in a process under a seccomp filter of its
    /// own (a recording that starts from a checkpoint image).
    pub(crate) fn refuse(&mut self, process: Pid) {
        self.filtered.insert(process);
    }

    pub(crate) fn is_registered(&self, process: Pid) -> bool {
        self.cursors.contains_key(&process)
    }

    /// The process execs: its buffer is gone.
    pub(crate) fn forget(&mut self, process: Pid) {
        self.cursors.remove(&process);
        self.vfork_parents.remove(&process);
        self.code.remove(&process);
    }

    /// The process ended.
    pub(crate) fn ended(&mut self, process: Pid) {
        self.forget(process);
        self.filtered.remove(&process);
    }

    /// What the recorder answers instead of the kernel, if anything: the
    /// library's probe for the rback page fails (ENOMEM) in a process under
    /// a filter of the program's, so that its library never buffers.
    pub(crate) fn answer(&self, process: Pid, nr: i64, args: &[u64; 6]) -> Option<i64> {
        let probe = is_probe(nr, args) && args[2] != BUFFER_ADDR + AT_MARK;
        (probe && self.filtered.contains(&process)).then_some(-(libc::ENOMEM as i64))
    }

    /// The current thread is about to install a seccomp filter of the
    /// program's. The library turned itself off if the call came through
    /// libc's `syscall()` or `prctl()`; if not, buffered calls would take
    /// other paths in replay, so the recording stops here.
    pub(crate) fn before_filter(&mut self, t: &Tracee, event: EventIdx) -> Result<()> {
        self.filtered.insert(t.tgid);
        if self.is_registered(t.tgid) && t.read_u64(RemoteAddr(BUFFER_ADDR + AT_OFF))? == 0 {
            return Err(Error::Unsupported {
                event,
                what: "a seccomp filter installed without libc's syscall() or prctl()".into(),
                why: "rback's syscall buffer cannot step aside for it; record with --no-syscall-buffer".into(),
            });
        }
        Ok(())
    }

    /// `child` was forked from `parent`, after the parent's buffer was
    /// taken: the child's copy holds the same records, already taken.
    pub(crate) fn inherit(&mut self, parent: Pid, child: Pid, shares_memory: bool) {
        if self.filtered.contains(&parent) {
            self.filtered.insert(child);
        }
        if let Some(code) = self.code.get(&parent) {
            self.code.insert(child, code.clone());
        }
        if let Some(&cursor) = self.cursors.get(&parent) {
            self.cursors.insert(child, cursor);
            if shares_memory {
                self.vfork_parents.insert(child, parent);
            }
        }
    }

    /// Whether the process's thread that runs is appending a record.
    pub(crate) fn busy(&self, t: &Tracee) -> Result<bool> {
        if !self.is_registered(t.tgid) {
            return Ok(false);
        }
        Ok(t.read_u64(RemoteAddr(BUFFER_ADDR + AT_BUSY))? != 0)
    }

    /// Hands `each` the records the process appended since the last take,
    /// as events, in order. The buffer lives in the program's memory:
    /// everything is checked before it becomes an event (those before a
    /// damaged record have been handed over when the damage is found).
    pub(crate) fn take(&mut self, t: &Tracee, each: impl FnMut(SyscallEvent) -> Result<()>) -> Result<()> {
        let Some(cursor) = self.cursors.get(&t.tgid).copied() else {
            return Ok(());
        };
        let header = t.read_bytes(RemoteAddr(BUFFER_ADDR), 32)?;
        let word = |at: u64| u64::from_le_bytes(header[at as usize..at as usize + 8].try_into().unwrap());
        let (magic, generation, len) = (word(AT_MAGIC), word(AT_GENERATION), word(AT_LEN));
        let start = if generation == cursor.generation {
            cursor.taken
        } else if generation == cursor.generation.wrapping_add(1) {
            0
        } else {
            u64::MAX
        };
        if magic != MAGIC || len > BUFFER_SIZE - HEADER_SIZE || start > len {
            return Err(overwritten());
        }
        let bytes = t.read_bytes(RemoteAddr(BUFFER_ADDR + HEADER_SIZE + start), (len - start) as usize)?;
        parse_records(&bytes.into(), each)?;
        let cursor = Cursor { generation, taken: len };
        self.cursors.insert(t.tgid, cursor);
        if let Some(parent) = self.vfork_parents.get(&t.tgid) {
            self.cursors.insert(*parent, cursor);
        }
        Ok(())
    }
}

/// Whether syscall `nr` is the library's `mincore` of the rback page: its
/// probe at start, or the mark that it empties its buffer (`AT_MARK`).
fn is_probe(nr: i64, args: &[u64; 6]) -> bool {
    nr == libc::SYS_mincore && args[0] == RBACK_PAGE_ADDR
}

/// Whether syscall `nr` installs a seccomp filter.
pub(crate) fn installs_filter(nr: i64, args: &[u64; 6]) -> bool {
    const PR_SET_SECCOMP: u64 = 22;
    const SECCOMP_MODE_FILTER: u64 = 2;
    const SECCOMP_SET_MODE_FILTER: u64 = 1;
    (nr == libc::SYS_seccomp && args[0] == SECCOMP_SET_MODE_FILTER)
        || (nr == libc::SYS_prctl && args[0] == PR_SET_SECCOMP && args[1] == SECCOMP_MODE_FILTER)
}

fn overwritten() -> Error {
    Error::Program("the program overwrote rback's syscall buffer; record it again with --no-syscall-buffer".into())
}

/// Appends to `records` the record the library would have appended for
/// `call` (the inverse of [`parse_records`]), for `replay -a` to write
/// ahead of the program.
pub(crate) fn append_record(records: &mut Vec<u8>, call: &SyscallEvent) {
    let start = records.len();
    let words = [0, call.nr as u64]
        .into_iter()
        .chain(call.args)
        .chain([call.result as u64]);
    for word in words {
        records.extend_from_slice(&word.to_le_bytes());
    }
    for w in &call.writes {
        records.extend_from_slice(&w.addr.0.to_le_bytes());
        records.extend_from_slice(&(w.bytes.len() as u64).to_le_bytes());
        records.extend_from_slice(&w.bytes);
        records.resize(records.len().next_multiple_of(8), 0);
    }
    let size = (records.len() - start) as u64;
    records[start..start + 8].copy_from_slice(&size.to_le_bytes());
}

/// Writes the records of `calls` (all buffered, consecutive, next in the
/// replayed thread's process) into its buffer where the library will look
/// for them, and tells it how far they go (`AT_REPLAY_LIMIT`). Returns
/// where each record ends (offsets as `AT_LEN` counts them), or `None`:
/// nothing was written, because calls written ahead are still to be made,
/// or these would not fit (a damaged trace; the library then has them
/// replayed one by one).
/// If the library is about to empty the buffer (it made its mark, see
/// `AT_MARK`), the records go at its start. If it stopped in a call of its
/// own (`AT_BUSY`: the debugger's replay stops at each), that is `pending`,
/// the call just replayed, and the records go after the one it will append
/// for it; nothing is written when there is no such call.
pub(crate) fn write_ahead(
    t: &Tracee,
    calls: &[&SyscallEvent],
    pending: Option<&SyscallEvent>,
) -> Result<Option<Vec<u64>>> {
    let header = t.read_bytes(RemoteAddr(BUFFER_ADDR), HEADER_SIZE as usize)?;
    let word = |at: u64| u64::from_le_bytes(header[at as usize..at as usize + 8].try_into().unwrap());
    if word(AT_REPLAY_LIMIT) != 0 {
        // Written ahead already, and not all used yet.
        return Ok(None);
    }
    let mut len = if word(AT_MARK) != 0 { 0 } else { word(AT_LEN) };
    let mut records = Vec::new();
    if word(AT_BUSY) != 0 {
        let Some(pending) = pending.filter(|call| call.buffered) else {
            return Ok(None);
        };
        append_record(&mut records, pending);
        len += records.len() as u64;
        records.clear();
    }
    let mut ends = Vec::with_capacity(calls.len());
    for call in calls {
        append_record(&mut records, call);
        ends.push(len + records.len() as u64);
    }
    if len > BUFFER_SIZE || HEADER_SIZE + len + records.len() as u64 > BUFFER_SIZE {
        return Ok(None);
    }
    t.write_bytes(RemoteAddr(BUFFER_ADDR + HEADER_SIZE + len), &records)?;
    t.write_bytes(
        RemoteAddr(BUFFER_ADDR + AT_REPLAY_LIMIT),
        &(len + records.len() as u64).to_le_bytes(),
    )?;
    Ok(Some(ends))
}

/// How many of the records written ahead (ending at `ends`) the library
/// has used: all of them once it has put `AT_REPLAY_LIMIT` back to 0.
pub(crate) fn used_ahead(t: &Tracee, ends: &[u64]) -> Result<usize> {
    let header = t.read_bytes(RemoteAddr(BUFFER_ADDR), HEADER_SIZE as usize)?;
    let word = |at: u64| u64::from_le_bytes(header[at as usize..at as usize + 8].try_into().unwrap());
    if word(AT_REPLAY_LIMIT) == 0 {
        return Ok(ends.len());
    }
    Ok(ends.iter().take_while(|&&end| end <= word(AT_LEN)).count())
}

/// Turns records (see `layout.rs`) into syscall events, whose bytes are
/// slices of `records` (one copy of the buffer for a whole run of calls),
/// and hands each to `each` in turn.
fn parse_records(records: &bytes::Bytes, mut each: impl FnMut(SyscallEvent) -> Result<()>) -> Result<()> {
    let mut bytes: &[u8] = records;
    let word = |b: &[u8], i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
    let fixed = (RECORD_WORDS * 8) as usize;
    while !bytes.is_empty() {
        if bytes.len() < fixed {
            return Err(overwritten());
        }
        let size = word(bytes, 0);
        if size < fixed as u64 || size % 8 != 0 || size > bytes.len() as u64 {
            return Err(overwritten());
        }
        let (record, rest) = bytes.split_at(size as usize);
        let nr = word(record, 1);
        if !BUFFERED.contains(&nr) {
            return Err(overwritten());
        }
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = word(record, 2 + i);
        }
        let mut writes = Vec::new();
        let mut out = &record[fixed..];
        while !out.is_empty() {
            if out.len() < 16 {
                return Err(overwritten());
            }
            let (addr, len) = (word(out, 0), word(out, 1));
            if len > MAX_OUTPUT || 16 + len.next_multiple_of(8) > out.len() as u64 {
                return Err(overwritten());
            }
            writes.push(MemWrite {
                addr: RemoteAddr(addr),
                bytes: records.slice_ref(&out[16..16 + len as usize]).into(),
            });
            out = &out[16 + len.next_multiple_of(8) as usize..];
        }
        let result = word(record, 8) as i64;
        // A question's answer, exactly where the call asked for it (none
        // when it failed): replay writes these bytes back.
        let answer = |len: u64| match &writes[..] {
            [] => result < 0,
            [w] => result >= 0 && w.addr.0 == args[2] && w.bytes.len() as u64 == len,
            _ => false,
        };
        // Replay makes these again, or writes what they wrote: only those
        // the library buffers.
        let plain = match nr as i64 {
            libc::SYS_mprotect => plain_protection(args[0], args[1], args[2]),
            libc::SYS_madvise => plain_advice(args[0], args[1], args[2]),
            libc::SYS_rt_sigprocmask => args[1] == 0 || args[0] == libc::SIG_BLOCK as u64,
            libc::SYS_rt_sigaction => sigaction_question(&args) && answer(KERNEL_SIGACTION_SIZE),
            libc::SYS_ioctl => terminal_question(&args) && answer(KERNEL_TERMIOS_SIZE),
            libc::SYS_openat => plain_open(args[2]) && writes.is_empty(),
            _ => true,
        };
        let opened_file = (nr as i64 == libc::SYS_openat && result >= 0 && args[4..] != [0, 0]).then(|| Inode {
            dev: args[4],
            ino: args[5],
        });
        if !plain {
            return Err(overwritten());
        }
        each(SyscallEvent {
            nr: nr as i64,
            args,
            result,
            writes,
            output: None,
            mapped_file: None,
            memory: vec![],
            buffered: true,
            opened_file,
        })?;
        bytes = rest;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(records: &[u8]) -> Result<Vec<SyscallEvent>> {
        let mut events = vec![];
        parse_records(&bytes::Bytes::copy_from_slice(records), |call| {
            events.push(call);
            Ok(())
        })?;
        Ok(events)
    }

    fn record(nr: u64, result: i64, writes: &[(u64, &[u8])]) -> Vec<u8> {
        let mut r = vec![0u64, nr, 1, 2, 3, 4, 5, 6, result as u64]
            .into_iter()
            .flat_map(u64::to_le_bytes)
            .collect::<Vec<u8>>();
        for (addr, bytes) in writes {
            r.extend(addr.to_le_bytes());
            r.extend((bytes.len() as u64).to_le_bytes());
            r.extend(*bytes);
            r.resize(r.len().next_multiple_of(8), 0);
        }
        let size = r.len() as u64;
        r[..8].copy_from_slice(&size.to_le_bytes());
        r
    }

    #[test]
    fn records_become_events_with_their_writes() {
        let mut bytes = record(0, 3, &[(0x1000, b"abc")]);
        bytes.extend(record(110, 42, &[]));
        let events = parse(&bytes).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].nr, events[0].result, events[0].args[5]), (0, 3, 6));
        assert_eq!(events[0].writes[0].addr, RemoteAddr(0x1000));
        assert_eq!(&*events[0].writes[0].bytes, b"abc");
        assert_eq!((events[1].nr, events[1].result), (110, 42));
        assert!(events[1].writes.is_empty());
    }

    #[test]
    fn a_record_written_ahead_reads_back_as_its_event() {
        let mut bytes = record(0, 3, &[(0x1000, b"abc"), (0x2000, b"")]);
        bytes.extend(record(110, 42, &[]));
        let events = parse(&bytes).unwrap();
        let mut again = Vec::new();
        for event in &events {
            append_record(&mut again, event);
        }
        assert_eq!(again, bytes);
    }

    #[test]
    fn only_plain_protections_and_advice_are_buffered() {
        const PAGE: u64 = 4096;
        assert!(plain_protection(0x1000, PAGE, 3));
        assert!(plain_protection(0x1000, PAGE, 0));
        // PROT_EXEC, PROT_GROWSDOWN, a sign-extended negative value.
        assert!(!plain_protection(0x1000, PAGE, 5));
        assert!(!plain_protection(0x1000, PAGE, 0x0100_0001));
        assert!(!plain_protection(0x1000, PAGE, u64::MAX));
        // rback's buffer and page, even by one byte, even unaligned.
        assert!(!plain_protection(BUFFER_ADDR, 1, 1));
        assert!(!plain_protection(BUFFER_ADDR - PAGE, PAGE + 1, 1));
        assert!(!plain_protection(RBACK_PAGE_ADDR + 4095, 1, 1));
        assert!(!plain_protection(0, u64::MAX, 1));
        assert!(plain_protection(BUFFER_ADDR - PAGE, PAGE, 1));
        assert!(plain_protection(RBACK_PAGE_ADDR + PAGE, PAGE, 1));
        assert!(plain_protection(RBACK_PAGE_ADDR, 0, 1));
        for advice in [0, 1, 2, 3, 4, 14, 15, 16, 17] {
            assert!(plain_advice(0x1000, PAGE, advice), "{advice}");
        }
        for advice in [8, 9, 10, 11, 18, 19, 22, 23, 100, 102, 1 << 40] {
            assert!(!plain_advice(0x1000, PAGE, advice), "{advice}");
        }
        assert!(!plain_advice(BUFFER_ADDR, BUFFER_SIZE, 4));
        // A record the library would not have made.
        let mut exec = record(10, 0, &[]);
        exec[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
        exec[24..32].copy_from_slice(&PAGE.to_le_bytes());
        exec[32..40].copy_from_slice(&3u64.to_le_bytes());
        assert!(parse(&exec).is_ok());
        exec[32..40].copy_from_slice(&7u64.to_le_bytes());
        assert!(parse(&exec).is_err());
    }

    /// A record of `nr` with these arguments and result, and what it wrote.
    fn record_with(nr: u64, args: [u64; 6], result: i64, writes: &[(u64, &[u8])]) -> Vec<u8> {
        let mut r = record(nr, result, writes);
        for (i, a) in args.iter().enumerate() {
            r[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        r
    }

    #[test]
    fn only_questions_about_actions_and_terminals_are_buffered() {
        const AT: u64 = 0x7ffe_0000;
        let action = [0u8; KERNEL_SIGACTION_SIZE as usize];
        let termios = [0u8; KERNEL_TERMIOS_SIZE as usize];
        let sigaction = |args: [u64; 6], result: i64, writes: &[(u64, &[u8])]| {
            parse(&record_with(13, args, result, writes)).is_ok()
        };
        let question = [10, 0, AT, SIGSET_SIZE, 0, 0];
        assert!(sigaction(question, 0, &[(AT, &action)]));
        assert!(sigaction(question, -22, &[]));
        // A new action, another set size, the answer elsewhere, of another
        // size, missing, or written by a call that failed.
        assert!(!sigaction([10, AT + 64, AT, SIGSET_SIZE, 0, 0], 0, &[(AT, &action)]));
        assert!(!sigaction([10, 0, AT, 16, 0, 0], 0, &[(AT, &action)]));
        assert!(!sigaction(question, 0, &[(AT + 8, &action)]));
        assert!(!sigaction(question, 0, &[(AT, &action[..24])]));
        assert!(!sigaction(question, 0, &[]));
        assert!(!sigaction(question, 0, &[(AT, &action), (AT, &action)]));
        assert!(!sigaction(question, -22, &[(AT, &action)]));
        assert!(!sigaction([10, 0, 0, SIGSET_SIZE, 0, 0], -22, &[]));
        let ioctl = |args: [u64; 6], result: i64, writes: &[(u64, &[u8])]| {
            parse(&record_with(16, args, result, writes)).is_ok()
        };
        let tcgets = [1, TCGETS, AT, 0, 0, 0];
        assert!(ioctl(tcgets, 0, &[(AT, &termios)]));
        assert!(ioctl(tcgets, -(libc::ENOTTY as i64), &[]));
        // Any other request (TCSETS, TIOCGWINSZ), an answer of another
        // size or elsewhere.
        assert!(!ioctl([1, 0x5402, AT, 0, 0, 0], 0, &[]));
        assert!(!ioctl([1, 0x5413, AT, 0, 0, 0], 0, &[(AT, &termios[..8])]));
        assert!(!ioctl(tcgets, 0, &[(AT, &termios[..32])]));
        assert!(!ioctl(tcgets, 0, &[(AT - 8, &termios)]));
        assert!(!ioctl(tcgets, 0, &[]));
    }

    #[test]
    fn damaged_records_are_refused() {
        let good = record(0, 3, &[(0x1000, b"abc")]);
        // A call the library never buffers.
        assert!(parse(&record(59, 0, &[])).is_err());
        // Truncated, a size past the end, a size that is not a whole record.
        assert!(parse(&good[..good.len() - 8]).is_err());
        let mut long = good.clone();
        long[..8].copy_from_slice(&1000u64.to_le_bytes());
        assert!(parse(&long).is_err());
        let mut odd = good.clone();
        odd[..8].copy_from_slice(&13u64.to_le_bytes());
        assert!(parse(&odd).is_err());
        // A write longer than its record.
        let mut write = good;
        write[80..88].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(parse(&write).is_err());
    }
}
