//! Files that the processes of a `replay -a` share, as they shared them
//! while recording.
//!
//! Replay does not open the program's files (their opens are emulated), so
//! it keeps its own account of which file each descriptor of each process
//! names ([`Files`]): opens, `memfd_create`, dups, closes, forks and execs,
//! and the names that `link`, `rename` and `unlink` give and take. A file
//! is named by the path it was opened by, made absolute against the
//! process's working directory, with `.` and `..` taken lexically; only
//! an open for reading and writing adds a name, others look names up.
//!
//! Each file that the program maps `MAP_SHARED` gets one [`Copy`]: a
//! memfd of rback's, filled from the trace's copy of the file, that every
//! such mapping of the file maps, in whichever process, and that forks
//! inherit. So what one process writes there, the others read, in the
//! recorded order (recording ran one thread at a time). At each later
//! mapping the copy is brought to what the recording found in the file at
//! that moment, if that differs from what it was last loaded with (a
//! `write` or `ftruncate` that replay emulates changed the file). A copy
//! that no process maps any more is dropped ([`Files::collect`]): the
//! next mapping of its file makes a new one from the trace.
//!
//! A read-only shared mapping maps the copy too, so that it shows what
//! mappings made later write, in its own process or another; but a file
//! that no open anywhere in the recording opened for writing
//! ([`Files::look_ahead`] reads the trace ahead for them) cannot change,
//! and while it has no copy it is mapped from the trace's copy privately,
//! as the debugger maps every file: a program that reads many files
//! through shared mappings (`memmap2`'s `Mmap`, as ripgrep does) would
//! otherwise hold a copy of each in memory.
//!
//! Descriptors sent over a socket (`SCM_RIGHTS`, as Python's forkserver
//! hands its children theirs) are matched to the message that receives
//! them by the order they were sent in, their number and the first bytes
//! of the message: replay knows no socket's other end.
//!
//! What this account does not follow: a file reached by two different
//! names by opens the recording found no inode for, a descriptor taken
//! with `pidfd_getfd` or sent with `sendmmsg`, and a file written by a
//! process that has not mapped it while another has. Such a file is its
//! own copy per name or per mapping.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::trace::{Event, FileHash, Inode, SyscallEvent, TraceLog};
use crate::tracee::{Mapping, Tracee};
use crate::{Error, RemoteAddr, Result};

/// The name a shared copy shows in `/proc/PID/maps`.
const COPY_NAME: &str = "rback-shared";

/// How many copies, or how many bytes in them, call for dropping those
/// that nothing maps, at least.
const COLLECT_AT: (usize, u64) = (64, 256 << 20);

/// Whether `mapping` (a line of a tracee's `/proc/PID/maps`) maps a shared
/// copy.
pub(super) fn is_copy(mapping: &Mapping) -> bool {
    mapping.path.starts_with(&format!("/memfd:{COPY_NAME}"))
}

/// One file as the replayed program knows it, whatever names and
/// descriptors reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileId(u64);

/// What a descriptor names.
#[derive(Clone, Debug)]
struct Open {
    file: FileId,
    /// The path it was opened by (for `fchdir` and `openat` relative to it).
    path: Option<PathBuf>,
    /// Opened for writing too: a shared mapping of it may be made writable.
    writable: bool,
    cloexec: bool,
}

#[derive(Clone, Debug, Default)]
struct Process {
    cwd: PathBuf,
    fds: HashMap<i32, Open>,
}

/// The one memory every shared mapping of a file maps in replay.
#[derive(Clone, Debug)]
struct Copy {
    memfd: Arc<File>,
    inode: u64,
    size: u64,
    /// The recorded contents it was last filled with.
    loaded: Option<FileHash>,
}

impl Copy {
    /// Makes the copy at least `len` bytes long, and notes its size: its
    /// path as the tracee can open it (rback's descriptor under `/proc`).
    fn at_least(&mut self, len: u64) -> std::io::Result<PathBuf> {
        self.size = self.memfd.metadata()?.len();
        if self.size < len {
            self.memfd.set_len(len)?;
            self.size = len;
        }
        Ok(PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.memfd.as_raw_fd()
        )))
    }
}

/// The descriptors and names of every replayed process, and the shared
/// copies of the files they map shared.
#[derive(Clone, Debug, Default)]
pub(super) struct Files {
    processes: HashMap<i32, Process>,
    names: HashMap<PathBuf, FileId>,
    /// The files the recording named by inode (see `SyscallEvent::opened_file`).
    inodes: HashMap<Inode, FileId>,
    /// The inode of each file in `inodes`.
    inode_of: HashMap<FileId, Inode>,
    /// The inodes that some open of the recording, at any point of it,
    /// opened for writing, of the events looked at so far
    /// ([`Files::look_ahead`]): the only files known by inode that the
    /// recorded processes could change.
    opened_for_writing: HashSet<Inode>,
    /// How many of the trace's events [`Files::look_ahead`] has looked at.
    looked_at: u64,
    /// System V segments by their recorded ids: each has a copy, as a
    /// file does, that every attach maps.
    segments: HashMap<i32, FileId>,
    copies: HashMap<FileId, Copy>,
    /// Descriptors sent with `SCM_RIGHTS` and not received yet: the first
    /// bytes of their message's data, and their files.
    in_flight: VecDeque<(Vec<u8>, Vec<Option<FileId>>)>,
    /// How many copies, and how many bytes in them, call for dropping
    /// those that nothing maps any more ([`Files::collect`]).
    collect_at: (usize, u64),
    next: u64,
    /// The working directory of a process not seen before.
    start_cwd: PathBuf,
}

impl Files {
    pub(super) fn new(cwd: &str) -> Files {
        Files {
            start_cwd: PathBuf::from(cwd),
            collect_at: COLLECT_AT,
            ..Files::default()
        }
    }

    fn fresh(&mut self) -> FileId {
        self.next += 1;
        FileId(self.next)
    }

    fn process(&mut self, pid: i32) -> &mut Process {
        let cwd = &self.start_cwd;
        self.processes.entry(pid).or_insert_with(|| Process {
            cwd: cwd.clone(),
            fds: HashMap::new(),
        })
    }

    /// The file named `path`, which becomes known now if it was not.
    fn named(&mut self, path: &Path) -> FileId {
        if let Some(id) = self.names.get(path) {
            return *id;
        }
        let id = self.fresh();
        self.names.insert(path.to_path_buf(), id);
        id
    }

    /// A process made by a fork of `parent`: a copy of its descriptors.
    pub(super) fn forked(&mut self, parent: i32, child: i32) {
        let copy = self.process(parent).clone();
        self.processes.insert(child, copy);
    }

    /// A process that ended.
    pub(super) fn ended(&mut self, pid: i32) {
        self.processes.remove(&pid);
    }

    /// Follows what a recorded syscall of process `pid` (the one whose
    /// turn it is, stopped at its entry) did to descriptors and names.
    /// Paths are read from the tracee, whose memory is as recorded.
    pub(super) fn note(&mut self, pid: i32, tracee: &Tracee, ev: &SyscallEvent) {
        if ev.result < 0 {
            return;
        }
        let a = ev.args;
        let fd = |i: usize| a[i] as i32;
        let path = |i: usize| tracee.read_cstring(RemoteAddr(a[i]), 4096).ok();
        let result = ev.result as i32;
        let inode = ev.opened_file;
        match ev.nr {
            libc::SYS_open => self.opened(pid, (libc::AT_FDCWD, path(0)), a[1] as i32, result, inode),
            libc::SYS_creat => self.opened(pid, (libc::AT_FDCWD, path(0)), libc::O_WRONLY, result, inode),
            libc::SYS_openat => self.opened(pid, (fd(0), path(1)), a[2] as i32, result, inode),
            libc::SYS_openat2 => {
                let flags = tracee.read_u64(RemoteAddr(a[2])).unwrap_or(libc::O_RDWR as u64);
                self.opened(pid, (fd(0), path(1)), flags as i32, result, inode)
            }
            libc::SYS_memfd_create => {
                let file = self.fresh();
                let open = Open {
                    file,
                    path: None,
                    writable: true,
                    cloexec: a[1] as u32 & libc::MFD_CLOEXEC != 0,
                };
                self.process(pid).fds.insert(result, open);
            }
            libc::SYS_dup => self.dup(pid, fd(0), result, false),
            libc::SYS_dup2 if fd(0) != result => self.dup(pid, fd(0), result, false),
            libc::SYS_dup3 => self.dup(pid, fd(0), result, a[2] as i32 & libc::O_CLOEXEC != 0),
            libc::SYS_fcntl => match a[1] as i32 {
                libc::F_DUPFD => self.dup(pid, fd(0), result, false),
                libc::F_DUPFD_CLOEXEC => self.dup(pid, fd(0), result, true),
                libc::F_SETFD => {
                    if let Some(open) = self.process(pid).fds.get_mut(&fd(0)) {
                        open.cloexec = a[2] as i32 & libc::FD_CLOEXEC != 0;
                    }
                }
                _ => {}
            },
            libc::SYS_close => {
                self.process(pid).fds.remove(&fd(0));
            }
            libc::SYS_close_range => {
                let (first, last) = (a[0] as u32, a[1] as u32);
                let cloexec = a[2] as u32 & libc::CLOSE_RANGE_CLOEXEC != 0;
                let fds = &mut self.process(pid).fds;
                if cloexec {
                    for (_, open) in fds.iter_mut().filter(|(n, _)| (first..=last).contains(&(**n as u32))) {
                        open.cloexec = true;
                    }
                } else {
                    fds.retain(|n, _| !(first..=last).contains(&(*n as u32)));
                }
            }
            libc::SYS_sendmsg => {
                if let Some((data, fds)) = message(tracee, a[1], ev.result as u64) {
                    let table = &self.process(pid).fds;
                    let files: Vec<Option<FileId>> = fds.iter().map(|n| table.get(n).map(|o| o.file)).collect();
                    if !files.is_empty() {
                        self.in_flight.push_back((data, files));
                    }
                }
            }
            // Descriptors whose file this account cannot know.
            libc::SYS_pidfd_getfd | libc::SYS_open_by_handle_at => {
                self.process(pid).fds.remove(&result);
            }
            libc::SYS_execve | libc::SYS_execveat => self.exec(pid),
            libc::SYS_chdir => {
                if let Some(dir) = self.resolve(pid, libc::AT_FDCWD, path(0)) {
                    self.process(pid).cwd = dir;
                }
            }
            libc::SYS_fchdir => {
                if let Some(dir) = self.process(pid).fds.get(&fd(0)).and_then(|o| o.path.clone()) {
                    self.process(pid).cwd = dir;
                }
            }
            libc::SYS_link => self.link(pid, (libc::AT_FDCWD, path(0)), (libc::AT_FDCWD, path(1)), 0),
            libc::SYS_linkat => self.link(pid, (fd(0), path(1)), (fd(2), path(3)), a[4] as i32),
            libc::SYS_rename => self.rename(pid, (libc::AT_FDCWD, path(0)), (libc::AT_FDCWD, path(1)), 0),
            libc::SYS_renameat => self.rename(pid, (fd(0), path(1)), (fd(2), path(3)), 0),
            libc::SYS_renameat2 => self.rename(pid, (fd(0), path(1)), (fd(2), path(3)), a[4] as u32),
            libc::SYS_unlink => self.unlink(pid, libc::AT_FDCWD, path(0)),
            libc::SYS_rmdir => self.unlink(pid, libc::AT_FDCWD, path(0)),
            libc::SYS_unlinkat => self.unlink(pid, fd(0), path(1)),
            _ => {}
        }
    }

    /// Follows what a recorded syscall of process `pid` left in its memory,
    /// once replay has written it there: descriptors received.
    pub(super) fn note_after(&mut self, pid: i32, tracee: &Tracee, ev: &SyscallEvent) {
        if ev.nr != libc::SYS_recvmsg || ev.result < 0 {
            return;
        }
        let Some((data, fds)) = message(tracee, ev.args[1], ev.result as u64) else {
            return;
        };
        if fds.is_empty() {
            return;
        }
        let sent = self
            .in_flight
            .iter()
            .position(|(d, f)| *d == data && f.len() == fds.len())
            .and_then(|i| self.in_flight.remove(i));
        let files = sent.map(|(_, f)| f).unwrap_or_else(|| vec![None; fds.len()]);
        let cloexec = ev.args[2] as i32 & libc::MSG_CMSG_CLOEXEC != 0;
        let table = &mut self.process(pid).fds;
        for (fd, file) in fds.into_iter().zip(files) {
            match file {
                Some(file) => {
                    let open = Open {
                        file,
                        path: None,
                        writable: true,
                        cloexec,
                    };
                    table.insert(fd, open);
                }
                None => {
                    table.remove(&fd);
                }
            }
        }
    }

    /// `path` relative to `dirfd` of process `pid`, absolute and with `.`
    /// and `..` taken out, if it can be known.
    fn resolve(&mut self, pid: i32, dirfd: i32, path: Option<Vec<u8>>) -> Option<PathBuf> {
        let path = PathBuf::from(OsStr::from_bytes(&path?));
        let base = if path.is_absolute() {
            PathBuf::from("/")
        } else if dirfd == libc::AT_FDCWD {
            self.process(pid).cwd.clone()
        } else {
            self.process(pid).fds.get(&dirfd)?.path.clone()?
        };
        let mut out = PathBuf::from("/");
        for part in base.join(path).components() {
            match part {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(name) => out.push(name),
                _ => {}
            }
        }
        Some(out)
    }

    /// The descriptor that `/proc/PID/fd/N`, `/proc/self/fd/N`,
    /// `/proc/thread-self/fd/N` or `/dev/fd/N` reopens, as (process, fd).
    fn reopened(pid: i32, path: &Path) -> Option<(i32, i32)> {
        let parts: Vec<&str> = path.iter().skip(1).map(|p| p.to_str()).collect::<Option<_>>()?;
        match parts.as_slice() {
            ["dev", "fd", n] => Some((pid, n.parse().ok()?)),
            ["proc", "self" | "thread-self", "fd", n] => Some((pid, n.parse().ok()?)),
            ["proc", p, "fd", n] => Some((p.parse().ok()?, n.parse().ok()?)),
            _ => None,
        }
    }

    /// Descriptor `fd` of process `pid` names what `path` (relative to
    /// `dirfd`) led to, which the recording saw was `inode` (traces
    /// before format 8 do not say).
    fn opened(&mut self, pid: i32, (dirfd, path): (i32, Option<Vec<u8>>), flags: i32, fd: i32, inode: Option<Inode>) {
        let path = self.resolve(pid, dirfd, path);
        let reopened = path
            .as_deref()
            .and_then(|p| Self::reopened(pid, p))
            .and_then(|(p, n)| self.processes.get(&p)?.fds.get(&n).map(|o| o.file));
        let read_write = flags & libc::O_ACCMODE == libc::O_RDWR;
        let file = match (reopened, inode, &path) {
            (Some(file), _, _) => file,
            // The kernel's name for the file: one file whatever path
            // reached it (a symlink, a hard link, a read-only open before
            // any for writing). An inode number is used again only once
            // its file is gone, and no mapping holds it then.
            (None, Some(inode), _) => match self.inodes.get(&inode) {
                Some(file) => *file,
                None => {
                    let file = self.fresh();
                    self.inodes.insert(inode, file);
                    self.inode_of.insert(file, inode);
                    file
                }
            },
            // O_TMPFILE makes a file with no name, in the directory named.
            (None, None, _) if flags & libc::O_TMPFILE == libc::O_TMPFILE => self.fresh(),
            (None, None, Some(p)) if read_write => self.named(p),
            // Only a descriptor open for reading and writing can map a
            // file for others to see its writes, so only such opens add
            // names: a program that reads a great many files (a compiler,
            // a search) does not fill the account with theirs.
            (None, None, Some(p)) => match self.names.get(p) {
                Some(file) => *file,
                None => self.fresh(),
            },
            (None, None, None) => self.fresh(),
        };
        // Names still follow opens for reading and writing, for what
        // `link` and `rename` do to them.
        if let (Some(_), true, Some(p)) = (inode, read_write, &path) {
            self.names.insert(p.clone(), file);
        }
        let open = Open {
            file,
            path,
            writable: flags & libc::O_ACCMODE != libc::O_RDONLY,
            cloexec: flags & libc::O_CLOEXEC != 0,
        };
        self.process(pid).fds.insert(fd, open);
    }

    /// An exec closes the close-on-exec descriptors.
    fn exec(&mut self, pid: i32) {
        self.process(pid).fds.retain(|_, open| !open.cloexec);
    }

    fn dup(&mut self, pid: i32, old: i32, new: i32, cloexec: bool) {
        let fds = &mut self.process(pid).fds;
        match fds.get(&old).cloned() {
            Some(open) => {
                fds.insert(new, Open { cloexec, ..open });
            }
            None => {
                fds.remove(&new);
            }
        }
    }

    fn link(&mut self, pid: i32, old: (i32, Option<Vec<u8>>), new: (i32, Option<Vec<u8>>), flags: i32) {
        let Some(to) = self.resolve(pid, new.0, new.1) else {
            return;
        };
        let file = if flags & libc::AT_EMPTY_PATH != 0 && old.1.as_deref().is_some_and(|p| p.is_empty()) {
            // linkat(fd, "", ..., AT_EMPTY_PATH): a name for an open file
            // (an O_TMPFILE one, typically).
            self.process(pid).fds.get(&old.0).map(|o| o.file)
        } else {
            self.resolve(pid, old.0, old.1).map(|from| self.named(&from))
        };
        match file {
            Some(file) => self.names.insert(to, file),
            None => self.names.remove(&to),
        };
    }

    fn rename(&mut self, pid: i32, old: (i32, Option<Vec<u8>>), new: (i32, Option<Vec<u8>>), flags: u32) {
        let (Some(from), Some(to)) = (self.resolve(pid, old.0, old.1), self.resolve(pid, new.0, new.1)) else {
            return;
        };
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        // A directory's rename moves every name under it.
        let moved: Vec<(PathBuf, PathBuf)> = self
            .names
            .keys()
            .filter_map(|p| {
                if let Ok(rest) = p.strip_prefix(&from) {
                    Some((p.clone(), to.join(rest)))
                } else if exchange {
                    p.strip_prefix(&to).ok().map(|rest| (p.clone(), from.join(rest)))
                } else {
                    None
                }
            })
            .collect();
        if !exchange {
            self.names.retain(|p, _| !p.starts_with(&to));
        }
        let ids: Vec<(PathBuf, FileId)> = moved
            .into_iter()
            .filter_map(|(old, new)| self.names.remove(&old).map(|id| (new, id)))
            .collect();
        self.names.extend(ids);
    }

    fn unlink(&mut self, pid: i32, dirfd: i32, path: Option<Vec<u8>>) {
        if let Some(path) = self.resolve(pid, dirfd, path) {
            self.names.remove(&path);
        }
    }

    /// Looks at the events of `log` not looked at yet for the opens that
    /// opened a file for writing (see [`Files::may_change`]). Replay
    /// calls it before it maps a file shared, so that a file mapped
    /// read-only now and opened for writing later, by any process, is
    /// known to change.
    pub(super) fn look_ahead(&mut self, log: &TraceLog) {
        for event in log.events_from(self.looked_at) {
            self.looked_at += 1;
            let Event::Syscall(ev) = event else {
                continue;
            };
            if let Some(inode) = ev.opened_for_writing() {
                self.opened_for_writing.insert(inode);
            }
        }
    }

    /// Whether the recorded processes could change `file` through a
    /// descriptor: it is known by an inode that some open of the
    /// recording opened for writing (of the events
    /// [`Files::look_ahead`] looked at), or by no inode at all (a memfd,
    /// a file this account met only by name). A file that no process of
    /// the recording could write shows what the recording mapped of it
    /// in a private mapping of the trace's copy as well as in a shared
    /// copy.
    fn may_change(&self, file: FileId) -> bool {
        match self.inode_of.get(&file) {
            Some(inode) => self.opened_for_writing.contains(inode),
            None => true,
        }
    }

    /// The shared copy that a recorded `mmap` of descriptor `fd` of process
    /// `pid` maps: its path as the tracee can open it (rback's descriptor
    /// under `/proc`) and whether the program's descriptor was writable.
    /// Every shared mapping of a file maps its copy, read-only ones too,
    /// so that they show what other mappings write later; `None` for a
    /// file that has no copy and that nothing can change
    /// ([`Files::may_change`]), which is mapped privately (see the
    /// module's documentation). The copy holds `contents` (the trace's
    /// copy of the file as the recording mapped it, whose hash is `hash`)
    /// and is at least `len` bytes long, so that the part of the mapping
    /// past the end of the file (which the program may use once it grows
    /// the file) is in it.
    pub(super) fn copy_for(
        &mut self,
        pid: i32,
        fd: i32,
        hash: &FileHash,
        contents: &Path,
        len: u64,
    ) -> Result<Option<(PathBuf, bool)>> {
        let (file, writable) = match self.process(pid).fds.get(&fd) {
            Some(open) => (open.file, open.writable),
            // A descriptor this account does not know: a copy of its own,
            // which forks still inherit.
            None => (self.fresh(), true),
        };
        if !writable && !self.copies.contains_key(&file) && !self.may_change(file) {
            return Ok(None);
        }
        let copy = self.copy_of(file)?;
        let fill = |e: std::io::Error| Error::io("cannot fill a shared copy of a mapped file")(e);
        if copy.loaded.as_ref() != Some(hash) {
            let source = File::open(contents).map_err(fill)?;
            let memfd = &*copy.memfd;
            let before = memfd.metadata().map_err(fill)?.len();
            // Emptied first: what the file no longer holds reads as zeros.
            memfd.set_len(0).map_err(fill)?;
            let now = copy_data(&source, memfd).map_err(fill)?;
            memfd.set_len(now.max(before)).map_err(fill)?;
            copy.loaded = Some(hash.clone());
        }
        let path = copy.at_least(len).map_err(fill)?;
        Ok(Some((path, writable)))
    }

    /// The shared copy that an attach of System V segment `id` maps, as
    /// [`Files::copy_for`] gives a file's: it holds `contents`, what the
    /// recording found in the segment at this attach. Another attach that
    /// maps the copy already sees the same bytes (replay made the writes
    /// the recording saw), so writing them again changes nothing for it.
    pub(super) fn copy_for_segment(&mut self, id: i32, contents: &[u8]) -> Result<PathBuf> {
        let file = match self.segments.get(&id) {
            Some(file) => *file,
            None => {
                let file = self.fresh();
                self.segments.insert(id, file);
                file
            }
        };
        let copy = self.copy_of(file)?;
        let fill = |e: std::io::Error| Error::io("cannot fill the shared copy of a System V segment")(e);
        copy.memfd.write_all_at(contents, 0).map_err(fill)?;
        copy.at_least(contents.len() as u64).map_err(fill)
    }

    /// The copy of `file`, made empty if it has none.
    fn copy_of(&mut self, file: FileId) -> Result<&mut Copy> {
        use std::collections::hash_map::Entry;
        let vacant = match self.copies.entry(file) {
            Entry::Occupied(copy) => return Ok(copy.into_mut()),
            Entry::Vacant(vacant) => vacant,
        };
        let fd = nix::sys::memfd::memfd_create(
            &std::ffi::CString::new(COPY_NAME).unwrap(),
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )
        .map_err(|e| Error::io("cannot make a shared copy of a mapped file")(e.into()))?;
        let memfd = File::from(fd);
        let inode = memfd
            .metadata()
            .map_err(Error::io("cannot inspect a shared copy"))?
            .ino();
        Ok(vacant.insert(Copy {
            memfd: Arc::new(memfd),
            inode,
            size: 0,
            loaded: None,
        }))
    }

    /// Whether enough copies exist, or bytes in them, that those nothing
    /// maps should be dropped.
    pub(super) fn wants_collection(&self) -> bool {
        let bytes: u64 = self.copies.values().map(|c| c.size).sum();
        self.copies.len() >= self.collect_at.0 || bytes >= self.collect_at.1
    }

    /// Drops the copies whose inode is not in `mapped` (the copies some
    /// live process maps), and sets how many more call for the next
    /// collection.
    pub(super) fn collect(&mut self, mapped: &HashSet<u64>) {
        self.copies.retain(|_, c| mapped.contains(&c.inode));
        let bytes: u64 = self.copies.values().map(|c| c.size).sum();
        self.collect_at = (COLLECT_AT.0.max(2 * self.copies.len()), COLLECT_AT.1.max(2 * bytes));
    }

    /// Writes `bytes` at `at` in the shared copy that `mapping` (of the
    /// tracee) maps, if it maps one; returns whether it did. For writes
    /// `/proc/PID/mem` refuses: a read-only shared mapping, which the
    /// recording saw change through a `write` to its file.
    pub(super) fn write_through(&self, mapping: &Mapping, at: u64, bytes: &[u8]) -> Result<bool> {
        if !is_copy(mapping) {
            return Ok(false);
        }
        let Some(copy) = self.copies.values().find(|c| c.inode == mapping.inode) else {
            return Ok(false);
        };
        copy.memfd
            .write_all_at(bytes, mapping.offset + (at - mapping.start))
            .map_err(Error::io("cannot write into a shared copy of a mapped file"))?;
        Ok(true)
    }

    /// Whether any shared copy exists.
    pub(super) fn any_copies(&self) -> bool {
        !self.copies.is_empty()
    }
}

/// Copies the data of `from` into the empty `to` at the same offsets, and
/// returns `from`'s length. Holes (found with `SEEK_DATA`/`SEEK_HOLE`)
/// are left as holes, which a memfd keeps without memory: a large sparse
/// file mapped shared costs replay only its data.
fn copy_data(from: &File, to: &File) -> std::io::Result<u64> {
    use nix::unistd::{lseek, Whence};
    let len = from.metadata()?.len();
    let fd = from.as_raw_fd();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        // A file system that cannot tell data from holes makes it all data.
        at = match lseek(fd, at as i64, Whence::SeekData) {
            Ok(d) => (d as u64).clamp(at, len),
            Err(nix::errno::Errno::ENXIO) => len,
            Err(_) => at,
        };
        let hole = lseek(fd, at as i64, Whence::SeekHole).map_or(len, |h| (h as u64).clamp(at, len));
        while at < hole {
            let n = from.read_at(&mut buf[..(hole - at).min(1 << 20) as usize], at)?;
            if n == 0 {
                // The copy in the trace is never shorter than its length;
                // stop rather than loop if it is.
                return Ok(at);
            }
            to.write_all_at(&buf[..n], at)?;
            at += n as u64;
        }
    }
    Ok(len)
}

/// The first bytes of the data of the message that the `msghdr` at `hdr`
/// in the tracee describes (`len` bytes of data), and the descriptors of
/// its `SCM_RIGHTS` control messages.
fn message(tracee: &Tracee, hdr: u64, len: u64) -> Option<(Vec<u8>, Vec<i32>)> {
    const PREFIX: u64 = 16;
    let raw = tracee
        .read_bytes(RemoteAddr(hdr), std::mem::size_of::<libc::msghdr>())
        .ok()?;
    let word = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (iov, iovlen) = (word(&raw, 16), word(&raw, 24));
    let (control, controllen) = (word(&raw, 32), word(&raw, 40));
    let header = std::mem::size_of::<libc::cmsghdr>();
    let mut fds = vec![];
    if control != 0 && controllen as usize >= header {
        let c = tracee
            .read_bytes(RemoteAddr(control), controllen.min(4096) as usize)
            .ok()?;
        let mut at = 0;
        while at + header <= c.len() {
            let clen = word(&c, at) as usize;
            let level = i32::from_le_bytes(c[at + 8..at + 12].try_into().unwrap());
            let kind = i32::from_le_bytes(c[at + 12..at + 16].try_into().unwrap());
            if clen < header || at + clen > c.len() {
                break;
            }
            if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
                fds.extend(
                    c[at + header..at + clen]
                        .chunks_exact(4)
                        .map(|b| i32::from_le_bytes(b.try_into().unwrap())),
                );
            }
            at += clen.next_multiple_of(8);
        }
    }
    let mut data = vec![];
    if iovlen > 0 && len > 0 {
        let first = tracee.read_bytes(RemoteAddr(iov), 16).ok()?;
        let (base, size) = (word(&first, 0), word(&first, 8));
        data = tracee
            .read_bytes(RemoteAddr(base), size.min(len).min(PREFIX) as usize)
            .ok()?;
    }
    Some((data, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CREATE: i32 = libc::O_RDWR | libc::O_CREAT;

    fn p(path: &str) -> Option<Vec<u8>> {
        Some(path.as_bytes().to_vec())
    }

    fn file(files: &Files, pid: i32, fd: i32) -> FileId {
        files.processes[&pid].fds[&fd].file
    }

    #[test]
    fn a_name_given_by_link_leads_to_the_file_made_under_another() {
        // sem_open: a temporary name, link() to the real one, unlink().
        let mut files = Files::new("/");
        files.opened(1, (libc::AT_FDCWD, p("/dev/shm/sem.tmp")), CREATE, 3, None);
        files.forked(1, 2);
        files.link(
            1,
            (libc::AT_FDCWD, p("/dev/shm/sem.tmp")),
            (libc::AT_FDCWD, p("/dev/shm/sem.x")),
            0,
        );
        files.unlink(1, libc::AT_FDCWD, p("/dev/shm/sem.tmp"));
        files.opened(2, (libc::AT_FDCWD, p("/dev/shm/sem.x")), libc::O_RDWR, 5, None);
        assert_eq!(file(&files, 1, 3), file(&files, 2, 5));
        assert_eq!(
            file(&files, 2, 3),
            file(&files, 2, 5),
            "the fork's copy of the descriptor"
        );
        files.opened(2, (libc::AT_FDCWD, p("/dev/shm/sem.tmp")), CREATE, 6, None);
        assert_ne!(
            file(&files, 2, 6),
            file(&files, 2, 5),
            "a new file under the removed name"
        );
    }

    #[test]
    fn paths_are_absolute_and_follow_renamed_directories() {
        let mut files = Files::new("/tmp/a");
        files.opened(1, (libc::AT_FDCWD, p("../b/./f")), CREATE, 3, None);
        files.opened(1, (libc::AT_FDCWD, p("/tmp/b/f")), libc::O_RDONLY, 4, None);
        assert_eq!(file(&files, 1, 3), file(&files, 1, 4));
        files.opened(
            1,
            (libc::AT_FDCWD, p("/tmp/b")),
            libc::O_RDONLY | libc::O_DIRECTORY,
            5,
            None,
        );
        files.opened(1, (5, p("f")), libc::O_RDONLY, 6, None);
        assert_eq!(file(&files, 1, 3), file(&files, 1, 6), "openat relative to a directory");
        files.rename(1, (libc::AT_FDCWD, p("/tmp/b")), (libc::AT_FDCWD, p("/tmp/c")), 0);
        files.opened(1, (libc::AT_FDCWD, p("/tmp/c/f")), libc::O_RDONLY, 7, None);
        files.opened(1, (libc::AT_FDCWD, p("/tmp/b/f")), CREATE, 8, None);
        assert_eq!(file(&files, 1, 3), file(&files, 1, 7));
        assert_ne!(file(&files, 1, 3), file(&files, 1, 8));
    }

    #[test]
    fn only_opens_for_reading_and_writing_add_names() {
        let mut files = Files::new("/");
        for (fd, name) in [(3, "/usr/include/stdio.h"), (4, "/usr/include/stdio.h")] {
            files.opened(1, (libc::AT_FDCWD, p(name)), libc::O_RDONLY, fd, None);
        }
        assert!(files.names.is_empty());
        assert_ne!(file(&files, 1, 3), file(&files, 1, 4));
        files.opened(1, (libc::AT_FDCWD, p("/dev/shm/x")), CREATE, 5, None);
        files.opened(1, (libc::AT_FDCWD, p("/dev/shm/x")), libc::O_RDONLY, 6, None);
        assert_eq!(file(&files, 1, 5), file(&files, 1, 6));
    }

    #[test]
    fn the_recorded_inode_makes_two_names_one_file() {
        // A symlink read-only first, then the real name for writing, then
        // a hard link: one inode, one file. Another inode is another file.
        let mut files = Files::new("/");
        let x = Some(Inode { dev: 8, ino: 42 });
        files.opened(1, (libc::AT_FDCWD, p("/tmp/link")), libc::O_RDONLY, 3, x);
        files.opened(1, (libc::AT_FDCWD, p("/tmp/x")), CREATE, 4, x);
        files.opened(2, (libc::AT_FDCWD, p("/tmp/hard")), libc::O_RDWR, 5, x);
        let y = Some(Inode { dev: 8, ino: 43 });
        files.opened(2, (libc::AT_FDCWD, p("/tmp/x")), libc::O_RDWR, 6, y);
        let first = file(&files, 1, 3);
        assert_eq!([file(&files, 1, 4), file(&files, 2, 5)], [first, first]);
        assert_ne!(file(&files, 2, 6), first);
        // Names still follow the opens for writing (for link and rename).
        assert_eq!(files.names[Path::new("/tmp/x")], file(&files, 2, 6));
    }

    #[test]
    fn a_read_only_shared_mapping_maps_a_copy_of_a_file_the_recording_writes() {
        use crate::trace::Header;
        let (x, y, m) = (
            Inode { dev: 8, ino: 42 },
            Inode { dev: 8, ino: 43 },
            Inode { dev: 1, ino: 7 },
        );
        let log = TraceLog::growing(Header::for_tests("/"));
        // x and y opened read-only; x opened for writing later on.
        for (flags, fd, inode) in [(libc::O_RDONLY, 3, x), (libc::O_RDONLY, 4, y), (libc::O_RDWR, 5, x)] {
            log.push(Event::Syscall(Box::new(SyscallEvent {
                nr: libc::SYS_openat,
                args: [libc::AT_FDCWD as u64, 0, flags as u64, 0, 0, 0],
                result: fd,
                writes: vec![],
                output: None,
                mapped_file: None,
                memory: vec![],
                buffered: false,
                opened_file: Some(inode),
            })));
        }
        let mut files = Files::new("/");
        files.opened(1, (libc::AT_FDCWD, p("/tmp/x")), libc::O_RDONLY, 3, Some(x));
        files.opened(1, (libc::AT_FDCWD, p("/tmp/y")), libc::O_RDONLY, 4, Some(y));
        // A memfd (known by no inode), reopened read-only through /proc.
        let memfd = Open {
            file: files.fresh(),
            path: None,
            writable: true,
            cloexec: false,
        };
        files.process(1).fds.insert(6, memfd);
        files.opened(1, (libc::AT_FDCWD, p("/proc/self/fd/6")), libc::O_RDONLY, 7, Some(m));
        files.look_ahead(&log);

        let fd = nix::sys::memfd::memfd_create(c"contents", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC).unwrap();
        let contents = File::from(fd);
        contents.write_all_at(b"contents", 0).unwrap();
        let path = PathBuf::from(format!("/proc/self/fd/{}", contents.as_raw_fd()));
        let hash = FileHash("0".repeat(64));
        let read_only_copy = |files: &mut Files, fd| {
            files
                .copy_for(1, fd, &hash, &path, 4096)
                .unwrap()
                .map(|(_, writable)| !writable)
        };
        assert_eq!(read_only_copy(&mut files, 3), Some(true), "x is written later");
        assert_eq!(read_only_copy(&mut files, 4), None, "nothing writes y");
        assert_eq!(read_only_copy(&mut files, 7), Some(true), "the memfd");
    }

    #[test]
    fn proc_fd_links_reopen_the_descriptors_file() {
        let mut files = Files::new("/");
        files.opened(1, (libc::AT_FDCWD, p("/tmp/x")), CREATE, 3, None);
        files.opened(1, (libc::AT_FDCWD, p("/proc/self/fd/3")), libc::O_RDWR, 4, None);
        files.opened(1, (libc::AT_FDCWD, p("/dev/fd/3")), libc::O_RDWR, 5, None);
        files.opened(2, (libc::AT_FDCWD, p("/proc/1/fd/3")), libc::O_RDWR, 6, None);
        let x = file(&files, 1, 3);
        assert_eq!([file(&files, 1, 4), file(&files, 1, 5), file(&files, 2, 6)], [x, x, x]);
    }

    #[test]
    fn a_sparse_file_fills_its_copy_with_its_data_alone() {
        let mut sparse = tempfile::tempfile().unwrap();
        sparse.set_len(1 << 30).unwrap();
        sparse.write_all_at(b"data", 1 << 29).unwrap();
        sparse.flush().unwrap();
        let fd = nix::sys::memfd::memfd_create(c"test", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC).unwrap();
        let memfd = File::from(fd);
        assert_eq!(copy_data(&sparse, &memfd).unwrap(), 1 << 30);
        let mut word = [0u8; 4];
        memfd.read_exact_at(&mut word, 1 << 29).unwrap();
        assert_eq!(&word, b"data");
        assert!(memfd.metadata().unwrap().blocks() * 512 < 1 << 20);
    }

    #[test]
    fn dups_closes_and_execs_change_the_table() {
        let mut files = Files::new("/");
        files.opened(1, (libc::AT_FDCWD, p("/tmp/x")), CREATE | libc::O_CLOEXEC, 3, None);
        files.dup(1, 3, 7, false);
        assert_eq!(file(&files, 1, 3), file(&files, 1, 7));
        files.dup(1, 9, 7, false);
        assert!(
            !files.processes[&1].fds.contains_key(&7),
            "a dup of an unknown descriptor"
        );
        files.dup(1, 3, 8, false);
        files.exec(1);
        assert!(!files.processes[&1].fds.contains_key(&3));
        assert!(files.processes[&1].fds.contains_key(&8));
    }
}
