//! What a syscall wrote that replay must write again: its output buffers
//! per the syscall table, memory changed through files (`/proc/PID/mem`,
//! a file mapped shared), a pidfd, an attached System V segment; and
//! output for rback's own terminal, and the files mappings come from.

use std::path::{Path, PathBuf};

use super::{clone_request, Recorder};
use crate::scheduler::PendingCall;
use crate::syscalls::{self, Echo, Len, Out};
use crate::trace::{MemWrite, Output, Stream};
use crate::tracee::Tracee;
use crate::{Error, EventIdx, RemoteAddr, Result};

impl Recorder {
    /// The tracee memory a successful syscall wrote, per the table.
    pub(super) fn outputs(
        &self,
        info: &syscalls::SyscallInfo,
        args: &[u64; 6],
        result: i64,
        capacity: &[u64; 6],
        request: Option<(usize, usize)>,
    ) -> Result<Vec<MemWrite>> {
        let t = &self.tracee;
        let mut writes = vec![];
        let mut push = |addr: u64, len: u64| -> Result<()> {
            if addr != 0 && len > 0 {
                writes.push(MemWrite {
                    addr: RemoteAddr(addr),
                    bytes: read_written(t, RemoteAddr(addr), len as usize)?.into(),
                });
            }
            Ok(())
        };
        let result = result as u64;
        for out in info.outs {
            match *out {
                Out::Buf { ptr, len } => {
                    let n = match len {
                        Len::Fixed(n) => n as u64,
                        Len::Result => result,
                        Len::ResultTimes(k) => result * k as u64,
                        Len::ArgTimes(i, k) => args[i] * k as u64,
                        Len::Arg(i) => args[i],
                        Len::FdSet(i) => args[i].div_ceil(64) * 8,
                        Len::CapacityAt(i) => capacity[i],
                        Len::Pages(i) => args[i].div_ceil(4096),
                        Len::ResultPlus(n) => result + n as u64,
                    };
                    push(args[ptr], n)?;
                }
                Out::Iov { iov, count } => {
                    for (base, len) in scatter(t, args[iov], args[count], result)? {
                        push(base, len)?;
                    }
                }
                Out::MsgHdr { ptr } => {
                    for (base, len) in received_message(t, args[ptr], result)? {
                        push(base, len)?;
                    }
                }
                Out::MmsgHdrs { ptr } => {
                    for i in 0..result.min(1024) {
                        let at = args[ptr] + i * MMSGHDR;
                        let received = t.read_u64(RemoteAddr(at + MSGHDR))? & 0xffff_ffff;
                        for (base, len) in received_message(t, at, received)? {
                            push(base, len)?;
                        }
                        push(at + MSGHDR, 4)?;
                    }
                }
                Out::ByRequest => {
                    if let Some((ptr, len)) = request {
                        push(args[ptr], len as u64)?;
                    }
                }
            }
        }
        Ok(writes)
    }

    /// Where a `write` or `pwrite64` that wrote `len` bytes put them in the
    /// program's memory: all of them if its file is the program's own
    /// `/proc/PID/mem`, the parts a shared mapping of its file shows if it
    /// is a mapped file.
    pub(super) fn memory_written_through_files(&self, call: &PendingCall, len: u64) -> Result<Vec<(RemoteAddr, u64)>> {
        if !matches!(call.nr, libc::SYS_write | libc::SYS_pwrite64) {
            return Ok(vec![]);
        }
        let (pid, fd) = (self.tracee.pid, call.args[0] as i32);
        let Ok(file) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) else {
            return Ok(vec![]);
        };
        let offset = if call.nr == libc::SYS_pwrite64 {
            Some(call.args[3])
        } else {
            // A write starts where the file position was: where it is now,
            // less what was written.
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("pos:"))?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .and_then(|pos| pos.checked_sub(len))
        };
        let Some(offset) = offset else {
            return Ok(vec![]);
        };
        if file == Path::new(&format!("/proc/{}/mem", self.tracee.tgid)) {
            return Ok(vec![(RemoteAddr(offset), len)]);
        }
        let Ok(meta) = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")) else {
            return Ok(vec![]);
        };
        use std::os::unix::fs::MetadataExt;
        if !meta.is_file() {
            return Ok(vec![]);
        }
        let path = file.to_string_lossy();
        let written = offset..offset + len;
        Ok(self
            .tracee
            .mappings()?
            .iter()
            .filter(|m| m.perms.as_bytes().get(3) == Some(&b's') && m.inode == meta.ino() && m.path == path)
            .filter_map(|m| {
                let shown = m.offset..m.offset + (m.end - m.start);
                let (from, to) = (written.start.max(shown.start), written.end.min(shown.end));
                (from < to).then(|| (RemoteAddr(m.start + (from - m.offset)), to - from))
            })
            .collect())
    }

    /// The pidfd a `clone` with `CLONE_PIDFD` stored for the parent: replay
    /// makes the call too, and puts the recorded number in its place.
    pub(super) fn pidfd_written(&self, call: &PendingCall) -> Result<Option<MemWrite>> {
        let Some(request) = clone_request(&self.tracee, call.nr, &call.args)? else {
            return Ok(None);
        };
        if request.flags & libc::CLONE_PIDFD as u64 == 0 || request.pidfd == 0 {
            return Ok(None);
        }
        let at = RemoteAddr(request.pidfd);
        Ok(Some(MemWrite {
            addr: at,
            bytes: self.tracee.read_bytes(at, 4)?.into(),
        }))
    }

    /// The contents of the System V shared memory segment just attached at
    /// `at`, for replay to lay into its own mapping there.
    pub(super) fn attached_segment(&self, at: RemoteAddr) -> Result<Vec<MemWrite>> {
        let maps = self.tracee.mappings()?;
        let Some(segment) = maps.iter().find(|m| m.start == at.0) else {
            return Err(Error::Spawn(format!("no mapping at {at} after shmat")));
        };
        Ok(vec![MemWrite {
            addr: at,
            bytes: self
                .tracee
                .read_bytes(at, (segment.end - segment.start) as usize)?
                .into(),
        }])
    }

    /// Output for rback's own stdout/stderr, which replay writes again.
    pub(super) fn output(&self, echo: Echo, args: &[u64; 6], result: i64) -> Result<Option<Output>> {
        let bytes = match echo {
            Echo::None | Echo::Opaque => return Ok(None),
            Echo::Buf | Echo::Iov => {
                let Some(stream) = self.stream_of(args[0] as i32) else {
                    return Ok(None);
                };
                let bytes = if echo == Echo::Buf {
                    self.tracee.read_bytes(RemoteAddr(args[1]), result as usize)?
                } else {
                    let mut all = Vec::with_capacity(result as usize);
                    for (base, len) in scatter(&self.tracee, args[1], args[2], result as u64)? {
                        all.extend(self.tracee.read_bytes(RemoteAddr(base), len as usize)?);
                    }
                    all
                };
                (stream, bytes)
            }
        };
        Ok(Some(Output {
            stream: bytes.0,
            bytes: bytes.1,
        }))
    }

    /// Everything a write to one of rback's streams asks to write, or
    /// `None` for another file or a buffer it cannot read (the kernel then
    /// gives the program its error).
    pub(super) fn whole_output(&self, echo: Echo, args: &[u64; 6]) -> Result<Option<Output>> {
        if self.stream_of(args[0] as i32).is_none() {
            return Ok(None);
        }
        let total = match echo {
            Echo::Buf => args[2],
            _ => {
                let Ok(raw) = self
                    .tracee
                    .read_bytes(RemoteAddr(args[1]), (args[2].min(1024) * 16) as usize)
                else {
                    return Ok(None);
                };
                raw.chunks_exact(16)
                    .map(|iov| u64::from_le_bytes(iov[8..].try_into().unwrap()))
                    .sum()
            }
        };
        if total > isize::MAX as u64 {
            return Ok(None);
        }
        Ok(self.output(echo, args, total as i64).ok().flatten())
    }

    /// Which of rback's streams the tracee's `fd` is, if either.
    pub(super) fn stream_of(&self, fd: i32) -> Option<Stream> {
        let meta = std::fs::metadata(format!("/proc/{}/fd/{fd}", self.tracee.pid)).ok()?;
        use std::os::unix::fs::MetadataExt;
        let id = (meta.dev(), meta.ino());
        let matching: Vec<Stream> = self.stdio.iter().filter(|(_, i)| *i == id).map(|(s, _)| *s).collect();
        match matching.as_slice() {
            [] => None,
            [one] => Some(*one),
            // stdout and stderr are one file (a terminal): go by the fd.
            _ => Some(if fd == 2 { Stream::Stderr } else { Stream::Stdout }),
        }
    }

    /// Copies the file behind a successful `mmap` into the trace.
    pub(super) fn mapped_file(&mut self, args: &[u64; 6], event: EventIdx) -> Result<Option<crate::trace::FileHash>> {
        let flags = args[3] as i32;
        if flags & libc::MAP_ANONYMOUS != 0 {
            return Ok(None);
        }
        self.memory_through_files |= flags & libc::MAP_SHARED != 0;
        let link = PathBuf::from(format!("/proc/{}/fd/{}", self.tracee.pid, args[4] as i32));
        let target = std::fs::read_link(&link).unwrap_or_default();
        let meta = std::fs::metadata(&link).map_err(Error::io("cannot inspect a mapped file"))?;
        if !meta.is_file() {
            if target == Path::new("/dev/zero") {
                return Ok(None);
            }
            return Err(Error::Unsupported {
                event,
                what: format!("mmap of {}", target.display()),
                why: "only regular files and anonymous memory can be mapped".into(),
            });
        }
        Ok(Some(self.store.capture(&link)?))
    }
}

/// Splits `total` bytes over an iovec array in tracee memory.
pub(crate) fn scatter(t: &Tracee, iov: u64, count: u64, total: u64) -> Result<Vec<(u64, u64)>> {
    let raw = t.read_bytes(RemoteAddr(iov), (count.min(1024) * 16) as usize)?;
    let mut left = total;
    let mut parts = vec![];
    for chunk in raw.chunks_exact(16) {
        if left == 0 {
            break;
        }
        let base = u64::from_le_bytes(chunk[..8].try_into().unwrap());
        let len = u64::from_le_bytes(chunk[8..].try_into().unwrap()).min(left);
        parts.push((base, len));
        left -= len;
    }
    Ok(parts)
}

/// `sizeof(struct msghdr)` and `sizeof(struct mmsghdr)` (a msghdr, then
/// its `msg_len`).
const MSGHDR: u64 = std::mem::size_of::<libc::msghdr>() as u64;
const MMSGHDR: u64 = std::mem::size_of::<libc::mmsghdr>() as u64;

/// What a received message filled in, for the `msghdr` at `hdr` and
/// `received` bytes of data: the header (the kernel updates its lengths
/// and flags), the sender's address, the data and the control messages.
fn received_message(t: &Tracee, hdr: u64, received: u64) -> Result<Vec<(u64, u64)>> {
    let raw = t.read_bytes(RemoteAddr(hdr), MSGHDR as usize)?;
    let field = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
    let (name, namelen) = (field(0), field(8) & 0xffff_ffff);
    let (iov, iovlen) = (field(16), field(24));
    let (control, controllen) = (field(32), field(40));
    let mut parts = vec![(hdr, MSGHDR), (name, namelen)];
    parts.extend(scatter(t, iov, iovlen, received)?);
    parts.push((control, controllen));
    Ok(parts)
}

/// `len` bytes the kernel wrote at `at`, or as many of them as are mapped:
/// a length the table gives as a bound (a struct for the newest version of
/// a call) may run past what the program gave the kernel, which then wrote
/// less.
fn read_written(t: &Tracee, at: RemoteAddr, len: usize) -> Result<Vec<u8>> {
    match t.read_bytes(at, len) {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let to_page_end = (4096 - (at.0 % 4096) as usize).min(len);
            if to_page_end < len {
                if let Ok(bytes) = t.read_bytes(at, to_page_end) {
                    return Ok(bytes);
                }
            }
            Err(e)
        }
    }
}
