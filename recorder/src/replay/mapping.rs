//! The address space as it was recorded: mappings made from the trace's
//! copies of files, System V segments laid in with their recorded
//! contents, and the state after an exec.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{shared, Follow, ReplaySession};
use crate::files;
use crate::statepoint;
use crate::trace::{ExecEvent, FileHash, MemWrite, SyscallEvent};
use crate::tracee::{errno_name, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

impl ReplaySession {
    /// Re-creates a recorded mapping in the tracee and returns what the
    /// injected `mmap` returned. File mappings come from the trace's copy,
    /// privately: replay must never write into the trace. Shared memory
    /// stays shared only when this replay runs every process: anonymous
    /// memory as the program asked, and a file mapped shared from the one
    /// copy of it that every process maps (see [`super::shared`]).
    /// Otherwise the only other sharers would be checkpoints, which must
    /// never see the live program's later writes.
    pub(super) fn map_like_recording(&mut self, ev: &SyscallEvent) -> Result<i64> {
        const PAGE: u64 = 4096;
        let a = ev.args;
        let mut flags = a[3] as i32;
        if flags & libc::MAP_FIXED == 0 {
            flags |= libc::MAP_FIXED_NOREPLACE;
        }
        let mut fd = u64::MAX;
        let mut file_len = None;
        if ev.mapped_file.is_none() && flags & libc::MAP_ANONYMOUS == 0 {
            // A mapping of /dev/zero is anonymous memory.
            flags |= libc::MAP_ANONYMOUS;
        }
        let asked_shared = flags & libc::MAP_SHARED != 0;
        let mut shared_file = asked_shared && ev.mapped_file.is_some() && self.follow == Follow::All;
        if let Some(hash) = &ev.mapped_file {
            let copy = self.verified(hash)?;
            let mut shared_copy = None;
            if shared_file {
                self.collect_shared_copies()?;
                self.files.look_ahead(&self.log);
                let len = a[5] + a[1].div_ceil(PAGE) * PAGE;
                shared_copy = self.files.copy_for(self.process, a[4] as i32, hash, &copy, len)?;
                shared_file = shared_copy.is_some();
            }
            let (path, access) = match shared_copy {
                Some((path, true)) => (path, libc::O_RDWR),
                Some((path, false)) => (path, libc::O_RDONLY),
                None => {
                    file_len = std::fs::metadata(&copy).ok().map(|m| m.len());
                    (copy, libc::O_RDONLY)
                }
            };
            let what = if shared_file {
                "rback's shared copy"
            } else {
                "the trace's copy"
            };
            fd = self.open_in_tracee(&path, access, what)?;
        }
        let shared_anonymous = flags & libc::MAP_ANONYMOUS != 0 && asked_shared;
        if !(shared_file || shared_anonymous && self.follow == Follow::All) {
            flags = (flags & !(libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE)) | libc::MAP_PRIVATE;
        }
        let got = self
            .tracee
            .inject_syscall(libc::SYS_mmap, [ev.result as u64, a[1], a[2], flags as u64, fd, a[5]])?;
        if fd != u64::MAX {
            self.tracee.inject_syscall(libc::SYS_close, [fd, 0, 0, 0, 0, 0])?;
        }
        // Only shared mappings: the dynamic loader reserves a library's
        // whole span with one private mapping of its file, longer than the
        // file, and maps the segments over it; that must stay as it was. (A
        // shared copy is already as long as every mapping of it.)
        if let (Some(len), true) = (file_len, got >= 0 && asked_shared) {
            self.cover_past_the_copy(got as u64, a[1], a[2], a[5], len)?;
        }
        Ok(got)
    }

    /// Drops the shared copies of files that no live process maps any
    /// more, once there are enough of them to be worth a look at every
    /// process's map. Keeps them all if a process's map cannot be read.
    fn collect_shared_copies(&mut self) -> Result<()> {
        if !self.files.wants_collection() {
            return Ok(());
        }
        let mut mapped = HashSet::new();
        let mut seen = HashSet::new();
        let threads = std::iter::once(&self.tracee).chain(self.others.iter().map(|t| &t.tracee));
        for tracee in threads {
            if !seen.insert(tracee.tgid) {
                continue;
            }
            let Ok(maps) = tracee.mappings() else {
                return Ok(());
            };
            mapped.extend(maps.iter().filter(|m| shared::is_copy(m)).map(|m| m.inode));
        }
        self.files.collect(&mapped);
        Ok(())
    }

    /// Writes what a recorded syscall wrote into the tracee's memory. A
    /// `write` to a file that the program maps shared changed the mapping,
    /// which may be read-only, and `/proc/PID/mem` writes into no
    /// read-only shared mapping: such bytes go into the shared copy itself.
    pub(super) fn write_recorded(&self, w: &MemWrite) -> Result<()> {
        self.write_recorded_into(&self.tracee, w)
    }

    /// [`ReplaySession::write_recorded`] into thread `tracee`, which may
    /// be another than the current one.
    fn write_recorded_into(&self, tracee: &Tracee, w: &MemWrite) -> Result<()> {
        let refused = match tracee.write_bytes(w.addr, &w.bytes) {
            Ok(()) => return Ok(()),
            Err(e) if self.files.any_copies() => e,
            Err(e) => return Err(e),
        };
        let end = w.addr.0 + w.bytes.len() as u64;
        let maps = tracee.mappings()?;
        let mut done = w.addr.0;
        for m in maps.iter().filter(|m| m.end > w.addr.0 && m.start < end) {
            if m.start > done {
                return Err(refused);
            }
            let upto = m.end.min(end);
            let bytes = &w.bytes[(done - w.addr.0) as usize..(upto - w.addr.0) as usize];
            if !self.files.write_through(m, done, bytes)? {
                tracee.write_bytes(RemoteAddr(done), bytes)?;
            }
            done = upto;
        }
        if done < end {
            return Err(refused);
        }
        Ok(())
    }

    /// Writes what a switch to thread `tracee` says other processes wrote
    /// into the memory its process shares with them (see
    /// `SwitchEvent::shared`). A replay that runs them all (`replay -a`)
    /// has mostly made those writes already, into memory that may be
    /// mapped read-only: only bytes that differ are written. What it has
    /// not made is what the kernel wrote for a call that was still
    /// blocked then (its event comes later): where such bytes cannot be
    /// written (shared memory this process maps read-only), the replay
    /// goes on as it is, and its checks catch any difference that follows.
    /// The debugger maps everything privately, so its writes always land.
    pub(super) fn write_shared(&self, tracee: &Tracee, writes: &[MemWrite]) -> Result<()> {
        for w in writes {
            if tracee
                .read_bytes(w.addr, w.bytes.len())
                .is_ok_and(|now| now[..] == w.bytes[..])
            {
                continue;
            }
            match self.write_recorded_into(tracee, w) {
                Err(_) if self.follow == Follow::All => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// The part of a file mapping past the end of the file as it was when
    /// mapped, which the program may use once the file grows (an
    /// `ftruncate` after the `mmap`), becomes anonymous memory: in replay,
    /// mapped from the copy, it would fault. Writes the recording saw
    /// there (`write` to a file mapped shared) land in it.
    fn cover_past_the_copy(&mut self, at: u64, len: u64, prot: u64, offset: u64, file_len: u64) -> Result<()> {
        const PAGE: u64 = 4096;
        let mapped = len.div_ceil(PAGE) * PAGE;
        let backed = file_len.saturating_sub(offset).div_ceil(PAGE) * PAGE;
        if backed >= mapped {
            return Ok(());
        }
        let flags = (libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let r = self
            .tracee
            .inject_syscall(libc::SYS_mmap, [at + backed, mapped - backed, prot, flags, u64::MAX, 0])?;
        if r < 0 {
            return Err(Error::Spawn(format!(
                "cannot map memory past the end of a mapped file's copy: {}",
                errno_name(r)
            )));
        }
        Ok(())
    }

    /// Maps, at the address a recorded `shmat` returned, memory with the
    /// segment's recorded contents: when this replay runs every process,
    /// the segment's one shared copy, which every attach of it in any
    /// process maps (see [`super::shared`]); privately otherwise (see
    /// [`ReplaySession::map_like_recording`]).
    pub(super) fn attach_like_recording(&mut self, ev: &SyscallEvent) -> Result<()> {
        let Some(contents) = ev.writes.first() else {
            return Err(self.diverged(self.next_event_index(), "a segment's contents".into(), "none".into()));
        };
        const SHM_RDONLY: u64 = 0o10000;
        const SHM_EXEC: u64 = 0o100000;
        let mut prot = libc::PROT_READ;
        if ev.args[2] & SHM_RDONLY == 0 {
            prot |= libc::PROT_WRITE;
        }
        if ev.args[2] & SHM_EXEC != 0 {
            prot |= libc::PROT_EXEC;
        }
        let len = contents.bytes.len() as u64;
        if self.follow == Follow::All {
            return self.attach_shared_copy(ev, &contents.bytes, prot);
        }
        let flags = libc::MAP_FIXED | libc::MAP_ANONYMOUS | libc::MAP_PRIVATE;
        // Mapped writable to be filled: writes through /proc/PID/mem reach
        // read-only private pages, but not read-only shared ones (the
        // kernel forces a write only where it can copy on write).
        let got = self.tracee.inject_syscall(
            libc::SYS_mmap,
            [
                ev.result as u64,
                len,
                (prot | libc::PROT_WRITE) as u64,
                flags as u64,
                u64::MAX,
                0,
            ],
        )?;
        if got != ev.result {
            return Err(self.diverged(
                self.next_event_index(),
                format!("shmat at {:#x}", ev.result),
                format!("a mapping there failing with {}", errno_name(got)),
            ));
        }
        self.tracee.write_bytes(contents.addr, &contents.bytes)?;
        if prot & libc::PROT_WRITE == 0 {
            let r = self
                .tracee
                .inject_syscall(libc::SYS_mprotect, [ev.result as u64, len, prot as u64, 0, 0, 0])?;
            if r != 0 {
                return Err(Error::Spawn(format!(
                    "cannot make an attached segment read-only: {}",
                    errno_name(r)
                )));
            }
        }
        Ok(())
    }

    /// Opens `path` (one of rback's files, `what` it is) in the tracee with
    /// `access`, by an injected `openat`: the tracee's new descriptor.
    fn open_in_tracee(&mut self, path: &Path, access: i32, what: &str) -> Result<u64> {
        let in_tracee = self
            .tracee
            .scratch(&CString::new(path.as_os_str().as_bytes()).unwrap().into_bytes_with_nul())?;
        let opened = self.tracee.inject_syscall(
            libc::SYS_openat,
            [libc::AT_FDCWD as u64, in_tracee.0, access as u64, 0, 0, 0],
        )?;
        if opened < 0 {
            return Err(Error::Spawn(format!(
                "the tracee cannot open {what} {}: {}",
                path.display(),
                errno_name(opened)
            )));
        }
        Ok(opened as u64)
    }

    /// Maps the shared copy of the segment a recorded `shmat` attached
    /// (its id is the call's first argument), filled with `contents`.
    fn attach_shared_copy(&mut self, ev: &SyscallEvent, contents: &[u8], prot: i32) -> Result<()> {
        self.collect_shared_copies()?;
        let path = self.files.copy_for_segment(ev.args[0] as i32, contents)?;
        let access = if prot & libc::PROT_WRITE != 0 {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        let opened = self.open_in_tracee(&path, access, "rback's shared copy")?;
        let flags = libc::MAP_FIXED | libc::MAP_SHARED;
        let len = contents.len() as u64;
        let got = self.tracee.inject_syscall(
            libc::SYS_mmap,
            [ev.result as u64, len, prot as u64, flags as u64, opened, 0],
        )?;
        self.tracee.inject_syscall(libc::SYS_close, [opened, 0, 0, 0, 0, 0])?;
        if got != ev.result {
            return Err(self.diverged(
                self.next_event_index(),
                format!("shmat at {:#x}", ev.result),
                format!("a mapping there failing with {}", errno_name(got)),
            ));
        }
        Ok(())
    }

    /// Unmaps what [`ReplaySession::attach_like_recording`] mapped at `at`.
    pub(super) fn detach_like_recording(&mut self, at: u64) -> Result<()> {
        let maps = self.tracee.mappings()?;
        let Some(m) = maps.iter().find(|m| m.start == at) else {
            return Err(self.diverged(
                self.next_event_index(),
                format!("an attached segment at {at:#x}"),
                "nothing mapped there".into(),
            ));
        };
        let r = self
            .tracee
            .inject_syscall(libc::SYS_munmap, [m.start, m.end - m.start, 0, 0, 0, 0])?;
        if r != 0 {
            return Err(Error::Spawn(format!(
                "cannot unmap a detached segment: {}",
                errno_name(r)
            )));
        }
        Ok(())
    }

    /// Puts the tracee in the state the recording found after an exec: the
    /// recorded stack (argv, environment, auxv, AT_RANDOM) at the recorded
    /// place, and the rback page.
    pub(super) fn apply_exec(&mut self, exec: &ExecEvent) -> Result<()> {
        self.tracee.reopen_mem()?;
        let mut regs = self.tracee.regs()?;
        let recorded = exec.regs.to_regs();
        if regs.rip != recorded.rip {
            return Err(self.diverged(
                self.next_event_index(),
                format!("the program to start at {:#x}", recorded.rip),
                format!("{:#x}", regs.rip),
            ));
        }
        if let Some((path, hash)) = &exec.interp {
            self.check_interp(path, hash)?;
        }
        // Clear what exec put below the recorded stack contents, then lay the
        // recorded contents over it.
        let lowest = regs.rsp.min(exec.stack.addr.0);
        if lowest < exec.stack.addr.0 {
            self.tracee
                .write_bytes(RemoteAddr(lowest), &vec![0u8; (exec.stack.addr.0 - lowest) as usize])?;
        }
        self.tracee.write_bytes(exec.stack.addr, &exec.stack.bytes)?;
        regs.rsp = recorded.rsp;
        self.tracee.set_regs(&regs)?;
        self.tid = exec.pid;
        self.tracee.install_rback_page()
    }

    /// The program restored from the trace's image (see `ExecEvent::image`)
    /// must stand where the recording's did, with the same registers.
    pub(super) fn apply_image_start(&mut self, exec: &ExecEvent) -> Result<()> {
        let mut regs = self.tracee.regs()?;
        let recorded = exec.regs.to_regs();
        // (The start is event 0, the image's restore.) No syscall is under
        // way in either (`orig_rax` is -1).
        regs.orig_rax = recorded.orig_rax;
        if regs != recorded {
            return Err(self.diverged(
                EventIdx(0),
                format!(
                    "the restored program to start at {:#x} with the recorded registers",
                    recorded.rip
                ),
                format!("{:#x} with other registers", regs.rip),
            ));
        }
        let recorded_memory = exec.image.as_ref().map(|start| &start.memory);
        let memory = statepoint::memory_hash(&statepoint::program_memory(&self.tracee, regs.rsp)?, None);
        if recorded_memory != Some(&memory) {
            return Err(self.diverged(
                EventIdx(0),
                "the restored program's memory as recorded".into(),
                "different memory (not the image the recording started from)".into(),
            ));
        }
        self.tid = exec.pid;
        Ok(())
    }

    /// The loader is mapped by the kernel from the path named in the
    /// program, not from the trace; make sure it is the recorded one.
    pub(super) fn check_interp(&mut self, path: &str, hash: &FileHash) -> Result<()> {
        let pid = self.tracee.pid;
        let maps = self.tracee.mappings()?;
        let here = maps
            .iter()
            .find(|m| m.path == path)
            .map(|m| format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end));
        let same = here
            .and_then(|p| std::fs::read(p).ok())
            .is_some_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == hash.0);
        if !same {
            return Err(Error::Program(format!(
                "the dynamic loader {path} changed since the recording; replaying with a changed loader is not supported yet"
            )));
        }
        Ok(())
    }

    pub(super) fn verified(&mut self, hash: &FileHash) -> Result<PathBuf> {
        if self.verified_files.contains(hash) {
            return Ok(self.trace_dir.join(crate::trace::FILES_DIR).join(&hash.0));
        }
        let path = files::verify(&self.trace_dir, hash)?;
        self.verified_files.insert(hash.clone());
        Ok(path)
    }
}
