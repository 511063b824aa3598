//! The program's process state that replay does not reproduce for real,
//! rebuilt from the log: its open files (path, flags, offset), working
//! directory, signal handlers and break. Replay emulates `openat`, `read`
//! and `chdir`, so the replayed process has none of the program's files
//! open and sits in rback's directory; this module folds the events before
//! a position into what the program saw, using the paths and actions that
//! replay observed ([`super::SyscallInputs`]).

use std::collections::BTreeMap;

use crate::image::abi::{SETFL_MASK, SIGACTION_SIZE};
use crate::image::format::{FdKind, OpenFile, SigAction};
use crate::trace::{Event, SyscallEvent, TraceLog};
use crate::EventIdx;

/// An open file description as the program's calls left it.
#[derive(Clone, Debug)]
struct Description {
    what: Source,
    flags: i32,
    offset: u64,
}

#[derive(Clone, Debug)]
enum Source {
    Path(String),
    /// One of the descriptors the program started with.
    Inherited(i32),
    /// Not reopenable by path: what it is.
    Other(String),
}

/// The fold's state after some prefix of the log.
#[derive(Clone, Debug)]
pub struct History {
    descriptions: Vec<Description>,
    /// Descriptor number to (description, close-on-exec).
    fds: BTreeMap<i32, (usize, bool)>,
    pub cwd: String,
    actions: BTreeMap<i32, [u8; SIGACTION_SIZE]>,
    /// The last break the program set or asked for.
    pub brk: Option<u64>,
    /// Calls whose inputs replay had not seen (so their effect is unknown).
    pub unseen: usize,
}

impl History {
    /// The state before event `upto`: after events `0..upto`.
    pub fn before(log: &TraceLog, upto: EventIdx) -> History {
        let mut h = History {
            descriptions: Vec::new(),
            fds: BTreeMap::new(),
            cwd: log.header.cwd.clone(),
            actions: BTreeMap::new(),
            brk: None,
            unseen: 0,
        };
        for fd in 0..3 {
            h.add(
                fd,
                Description {
                    what: Source::Inherited(fd),
                    flags: libc::O_RDWR,
                    offset: 0,
                },
                false,
            );
        }
        for (i, event) in log.events().take(upto.0 as usize).enumerate() {
            match event {
                Event::Exec(_) => h.exec(),
                Event::Syscall(call) if call.result >= 0 => {
                    let input = log.inputs().get(EventIdx(i as u64));
                    h.syscall(call, input);
                }
                _ => {}
            }
        }
        h
    }

    fn add(&mut self, fd: i32, d: Description, cloexec: bool) {
        self.descriptions.push(d);
        self.fds.insert(fd, (self.descriptions.len() - 1, cloexec));
    }

    fn other(&mut self, fd: i64, what: &str, cloexec: bool) {
        self.add(
            fd as i32,
            Description {
                what: Source::Other(what.to_string()),
                flags: 0,
                offset: 0,
            },
            cloexec,
        );
    }

    fn dup(&mut self, old: u64, new: i64, cloexec: bool) {
        if let Some(&(d, _)) = self.fds.get(&(old as i32)) {
            self.fds.insert(new as i32, (d, cloexec));
        }
    }

    fn description(&mut self, fd: u64) -> Option<&mut Description> {
        let (d, _) = *self.fds.get(&(fd as i32))?;
        self.descriptions.get_mut(d)
    }

    fn advance(&mut self, fd: u64, by: i64) {
        if let Some(d) = self.description(fd) {
            d.offset = d.offset.saturating_add(by as u64);
        }
    }

    /// A path as the program named it, relative to `dirfd` (`AT_FDCWD`:
    /// the working directory).
    fn resolve(&self, dirfd: i64, path: &str) -> Option<String> {
        if path.starts_with('/') {
            return Some(path.to_string());
        }
        let base = if dirfd as i32 == libc::AT_FDCWD {
            self.cwd.clone()
        } else {
            let (d, _) = self.fds.get(&(dirfd as i32))?;
            match &self.descriptions[*d].what {
                Source::Path(p) => p.clone(),
                _ => return None,
            }
        };
        Some(format!("{}/{path}", base.trim_end_matches('/')))
    }

    /// `execve` closes close-on-exec descriptors and resets caught signals.
    fn exec(&mut self) {
        self.fds.retain(|_, (_, cloexec)| !*cloexec);
        self.actions
            .retain(|_, a| u64::from_le_bytes(a[..8].try_into().unwrap()) == libc::SIG_IGN as u64);
        self.brk = None;
    }

    fn syscall(&mut self, call: &SyscallEvent, input: Option<Vec<u8>>) {
        let a = call.args;
        let r = call.result;
        let path = input.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
        let opened = |h: &mut History, dirfd: i64, flags: i32| {
            let resolved = path.as_deref().and_then(|p| h.resolve(dirfd, p));
            let what = match resolved {
                Some(p) => Source::Path(p),
                None => {
                    h.unseen += 1;
                    Source::Other("a file whose name replay did not see".into())
                }
            };
            h.add(
                r as i32,
                Description {
                    what,
                    flags: flags & !libc::O_CLOEXEC,
                    offset: 0,
                },
                flags & libc::O_CLOEXEC != 0,
            );
        };
        match call.nr {
            libc::SYS_open => opened(self, libc::AT_FDCWD as i64, a[1] as i32),
            libc::SYS_openat => opened(self, a[0] as i64, a[2] as i32),
            libc::SYS_creat => opened(
                self,
                libc::AT_FDCWD as i64,
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
            ),
            libc::SYS_close => {
                self.fds.remove(&(a[0] as i32));
            }
            libc::SYS_close_range => {
                let (first, last) = (a[0] as u32 as i32, a[1].min(i32::MAX as u64) as i32);
                let cloexec_only = a[2] & libc::CLOSE_RANGE_CLOEXEC as u64 != 0;
                if cloexec_only {
                    for (_, (_, c)) in self.fds.range_mut(first..=last) {
                        *c = true;
                    }
                } else {
                    self.fds.retain(|fd, _| !(first..=last).contains(fd));
                }
            }
            libc::SYS_dup => self.dup(a[0], r, false),
            libc::SYS_dup2 => self.dup(a[0], r, false),
            libc::SYS_dup3 => self.dup(a[0], r, a[2] as i32 & libc::O_CLOEXEC != 0),
            libc::SYS_fcntl => match a[1] as i32 {
                libc::F_DUPFD => self.dup(a[0], r, false),
                libc::F_DUPFD_CLOEXEC => self.dup(a[0], r, true),
                libc::F_SETFD => {
                    if let Some((_, c)) = self.fds.get_mut(&(a[0] as i32)) {
                        *c = a[2] as i32 & libc::FD_CLOEXEC != 0;
                    }
                }
                libc::F_SETFL => {
                    if let Some(d) = self.description(a[0]) {
                        d.flags = (d.flags & !SETFL_MASK) | (a[2] as i32 & SETFL_MASK);
                    }
                }
                _ => {}
            },
            libc::SYS_read | libc::SYS_write | libc::SYS_readv | libc::SYS_writev => self.advance(a[0], r),
            libc::SYS_lseek => {
                if let Some(d) = self.description(a[0]) {
                    d.offset = r as u64;
                }
            }
            libc::SYS_sendfile => {
                if a[2] == 0 {
                    self.advance(a[1], r);
                }
                self.advance(a[0], r);
            }
            libc::SYS_copy_file_range => {
                if a[1] == 0 {
                    self.advance(a[0], r);
                }
                if a[3] == 0 {
                    self.advance(a[2], r);
                }
            }
            libc::SYS_pipe | libc::SYS_pipe2 | libc::SYS_socketpair => {
                let (at, what) = if call.nr == libc::SYS_socketpair {
                    (a[3], "a socket")
                } else {
                    (a[0], "a pipe")
                };
                let cloexec = match call.nr {
                    libc::SYS_pipe2 => a[1] as i32 & libc::O_CLOEXEC != 0,
                    libc::SYS_socketpair => a[1] as i32 & libc::SOCK_CLOEXEC != 0,
                    _ => false,
                };
                if let Some(w) = call.writes.iter().find(|w| w.addr.0 == at && w.bytes.len() >= 8) {
                    for half in w.bytes[..8].chunks(4) {
                        let fd = i32::from_le_bytes(half.try_into().unwrap());
                        self.other(fd as i64, what, cloexec);
                    }
                }
            }
            nr => {
                if let Some((what, cloexec)) = new_descriptor(nr, &a) {
                    self.other(r, what, cloexec);
                }
            }
        }
        match call.nr {
            libc::SYS_chdir => match path.as_deref().and_then(|p| self.resolve(libc::AT_FDCWD as i64, p)) {
                Some(p) => self.cwd = p,
                None => self.unseen += 1,
            },
            libc::SYS_fchdir => {
                if let Some(Source::Path(p)) = self.description(a[0]).map(|d| d.what.clone()) {
                    self.cwd = p;
                }
            }
            libc::SYS_rt_sigaction => {
                if let Some(bytes) = input.as_deref().and_then(|b| <[u8; SIGACTION_SIZE]>::try_from(b).ok()) {
                    self.actions.insert(a[0] as i32, bytes);
                } else if a[1] != 0 {
                    self.unseen += 1;
                }
            }
            libc::SYS_brk => self.brk = Some(r as u64),
            _ => {}
        }
    }

    /// The descriptor table: each open file once, its duplicates pointing
    /// at the lowest descriptor that shares it.
    pub fn open_files(&self) -> Vec<OpenFile> {
        let mut owner: BTreeMap<usize, i32> = BTreeMap::new();
        self.fds
            .iter()
            .map(|(&fd, &(d, cloexec))| {
                let desc = &self.descriptions[d];
                let what = if let Some(&of) = owner.get(&d) {
                    FdKind::Dup { of }
                } else {
                    owner.insert(d, fd);
                    match &desc.what {
                        Source::Path(path) => FdKind::File {
                            path: path.clone(),
                            flags: desc.flags,
                            offset: desc.offset,
                        },
                        Source::Inherited(from) => FdKind::Inherited { from: *from },
                        Source::Other(what) => FdKind::Unopenable { what: what.clone() },
                    }
                };
                OpenFile { fd, cloexec, what }
            })
            .collect()
    }

    /// The signal actions the program set (those it left alone are the
    /// default).
    pub fn signal_actions(&self) -> Vec<SigAction> {
        self.actions
            .iter()
            .map(|(&signo, a)| {
                let word = |i: usize| u64::from_le_bytes(a[8 * i..8 * i + 8].try_into().unwrap());
                SigAction {
                    signo,
                    handler: word(0),
                    flags: word(1),
                    restorer: word(2),
                    mask: word(3),
                }
            })
            .collect()
    }
}

/// Syscalls that return a new descriptor for something other than a file
/// by path, and whether it is close-on-exec.
fn new_descriptor(nr: i64, a: &[u64; 6]) -> Option<(&'static str, bool)> {
    let flag = |i: usize, bit: i32| a[i] as i32 & bit != 0;
    Some(match nr {
        libc::SYS_socket => ("a socket", flag(1, libc::SOCK_CLOEXEC)),
        libc::SYS_accept => ("a socket", false),
        libc::SYS_accept4 => ("a socket", flag(3, libc::SOCK_CLOEXEC)),
        libc::SYS_eventfd => ("an eventfd", false),
        libc::SYS_eventfd2 => ("an eventfd", flag(1, libc::EFD_CLOEXEC)),
        libc::SYS_epoll_create => ("an epoll instance", false),
        libc::SYS_epoll_create1 => ("an epoll instance", flag(0, libc::EPOLL_CLOEXEC)),
        libc::SYS_timerfd_create => ("a timerfd", flag(1, libc::TFD_CLOEXEC)),
        libc::SYS_signalfd if a[0] as i32 == -1 => ("a signalfd", false),
        libc::SYS_signalfd4 if a[0] as i32 == -1 => ("a signalfd", flag(3, libc::SFD_CLOEXEC)),
        libc::SYS_memfd_create => ("a memfd", flag(1, libc::MFD_CLOEXEC as i32)),
        libc::SYS_inotify_init => ("an inotify instance", false),
        libc::SYS_inotify_init1 => ("an inotify instance", flag(0, libc::IN_CLOEXEC)),
        libc::SYS_mq_open => ("a message queue", flag(1, libc::O_CLOEXEC)),
        libc::SYS_pidfd_open => ("a pidfd", true),
        _ => return None,
    })
}
