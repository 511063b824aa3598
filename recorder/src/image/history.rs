//! The program's process state that replay does not reproduce for real,
//! rebuilt from the log: its open files (path, flags, offset), working
//! directory, signal handlers, timers and break. Replay emulates `openat`,
//! `read`, `chdir` and `timer_create`, so the replayed process has none of
//! the program's files open or timers armed, and sits in rback's directory;
//! this module folds the events before a position into what the program
//! saw, using the paths and actions that replay observed
//! ([`super::SyscallInputs`]).

use std::collections::BTreeMap;

use crate::image::abi::{
    ARCH_SET_FS, CLONE_ARGS_SIZE, ITIMERSPEC_SIZE, ITIMERVAL_SIZE, SETFL_MASK, SIGACTION_SIZE, SIGEVENT_SIZE,
    SI_CODE_OFFSET, SI_TIMER, SI_TIMERID_OFFSET,
};
use crate::image::format::{FdKind, ImageHeader, OpenFile, Pending, PosixTimer, SigAction, ThreadWords, Timer};
use crate::timeline::{Point, Position};
use crate::trace::{Event, SignalEvent, SignalKind, SyscallEvent, TraceLog};
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

/// A thread as the calls that made and set it up describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadFacts {
    /// Its process's id (as recorded).
    pub process: i32,
    /// Its `fs` base as `CLONE_SETTLS` or `arch_prctl` set it (else its
    /// maker's), which tells replayed threads apart: replay does not give
    /// them their recorded ids, but reproduces their registers.
    pub tls: Option<u64>,
    pub words: ThreadWords,
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
    /// Interval timers armed, by kind (`ITIMER_*`).
    timers: BTreeMap<i32, Timer>,
    /// POSIX timers that exist, by id.
    posix_timers: BTreeMap<i32, PosixTimer>,
    /// Threads by id (as recorded), with what the calls that made and set
    /// them up said; and the thread whose turn it is.
    threads: BTreeMap<i32, ThreadFacts>,
    current: i32,
    /// Calls whose inputs replay had not seen (so their effect is unknown).
    pub unseen: usize,
}

/// What a recording that starts from a checkpoint image started with: the
/// image's header and the ids its other threads had in the recording
/// (`trace::ImageStart::threads`).
pub struct Start<'a> {
    pub image: &'a ImageHeader,
    pub threads: &'a [i32],
}

impl History {
    /// The state before event `upto`: after events `0..upto`.
    pub fn before(log: &TraceLog, upto: EventIdx) -> History {
        History::before_from(log, upto, None)
    }

    /// [`History::before`] for a log that may start from an image (`start`):
    /// its first event then leaves what the image held, as the restart made
    /// it again.
    pub fn before_from(log: &TraceLog, upto: EventIdx, start: Option<Start>) -> History {
        let mut h = History {
            descriptions: Vec::new(),
            fds: BTreeMap::new(),
            cwd: log.header.cwd.clone(),
            actions: BTreeMap::new(),
            brk: None,
            timers: BTreeMap::new(),
            posix_timers: BTreeMap::new(),
            threads: BTreeMap::new(),
            current: 0,
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
                Event::Exec(exec) if i == 0 && exec.image.is_some() => match &start {
                    Some(start) => h.restarted(start, exec.pid),
                    None => h.unseen += 1,
                },
                Event::Exec(exec) => {
                    h.exec();
                    // Only the thread that made the exec is left, under the
                    // process's id, with nothing set up yet.
                    h.threads.clear();
                    h.current = exec.pid;
                    h.threads.insert(
                        exec.pid,
                        ThreadFacts {
                            process: exec.pid,
                            tls: None,
                            words: ThreadWords::default(),
                        },
                    );
                }
                Event::Switch(switch) => {
                    h.current = switch.to;
                    h.threads.entry(switch.to).or_insert(ThreadFacts {
                        process: switch.process,
                        tls: None,
                        words: ThreadWords::default(),
                    });
                }
                Event::Syscall(call) if call.result >= 0 => {
                    let input = log.inputs().get(EventIdx(i as u64));
                    h.syscall(call, input, i as u64);
                }
                Event::Signal(s) if s.kind == SignalKind::Asynchronous => h.expired(s.signo, &s.siginfo),
                _ => {}
            }
        }
        h
    }

    /// What a restart of `start.image` made again in process `pid`: the
    /// image's descriptors (a file the restart could not reopen was
    /// `/dev/null` or closed, which the trace does not say: it is taken to
    /// be the image's file), working directory, signal actions, break,
    /// timers and threads.
    fn restarted(&mut self, start: &Start, pid: i32) {
        let image = start.image;
        self.descriptions.clear();
        self.fds.clear();
        for f in &image.fds {
            let what = match &f.what {
                FdKind::Dup { of } => {
                    if let Some(&(d, _)) = self.fds.get(of) {
                        self.fds.insert(f.fd, (d, f.cloexec));
                    }
                    continue;
                }
                FdKind::Inherited { from } => (Source::Inherited(*from), libc::O_RDWR, 0),
                FdKind::File { path, flags, offset } => (Source::Path(path.clone()), *flags, *offset),
                FdKind::Unopenable { what } => (Source::Other(what.clone()), 0, 0),
            };
            let (what, flags, offset) = what;
            self.add(f.fd, Description { what, flags, offset }, f.cloexec);
        }
        self.cwd = image.cwd.clone();
        self.actions.clear();
        for a in &image.actions {
            let mut act = [0u8; SIGACTION_SIZE];
            for (i, w) in [a.handler, a.flags, a.restorer, a.mask].iter().enumerate() {
                act[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
            }
            self.actions.insert(a.signo, act);
        }
        self.brk = Some(image.layout.brk);
        self.timers = image.timers.iter().map(|t| (t.which, *t)).collect();
        self.posix_timers = image.posix_timers.iter().map(|t| (t.id, *t)).collect();
        self.threads.clear();
        let facts = |regs: &crate::trace::Registers, words: ThreadWords| ThreadFacts {
            process: pid,
            tls: Some(regs.to_regs().fs_base),
            words,
        };
        self.threads.insert(pid, facts(&image.regs, image.words));
        for (thread, &tid) in image.threads.iter().zip(start.threads) {
            self.threads.insert(tid, facts(&thread.regs, thread.words));
        }
        self.current = pid;
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

    /// `execve` closes close-on-exec descriptors, resets caught signals and
    /// deletes POSIX timers (interval timers stay).
    fn exec(&mut self) {
        self.posix_timers.clear();
        self.fds.retain(|_, (_, cloexec)| !*cloexec);
        self.actions
            .retain(|_, a| u64::from_le_bytes(a[..8].try_into().unwrap()) == libc::SIG_IGN as u64);
        self.brk = None;
    }

    /// A timer's signal came: a one-shot timer is done. A POSIX timer's
    /// says which one it is (`SI_TIMER`, with its id); an interval timer's
    /// comes from the kernel.
    fn expired(&mut self, signo: i32, siginfo: &[u8]) {
        let int_at = |at: usize| {
            siginfo
                .get(at..at + 4)
                .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
        };
        if int_at(SI_CODE_OFFSET) == Some(SI_TIMER) {
            if let Some(t) = int_at(SI_TIMERID_OFFSET).and_then(|id| self.posix_timers.get_mut(&id)) {
                if t.interval_ns == 0 {
                    t.value_ns = 0;
                }
            }
            return;
        }
        let which = match signo {
            libc::SIGALRM => libc::ITIMER_REAL,
            libc::SIGVTALRM => libc::ITIMER_VIRTUAL,
            libc::SIGPROF => libc::ITIMER_PROF,
            _ => return,
        };
        if self.timers.get(&which).is_some_and(|t| t.interval_us == 0) {
            self.timers.remove(&which);
        }
    }

    fn set_timer(&mut self, which: i32, interval_us: u64, value_us: u64, at: u64) {
        if value_us == 0 {
            self.timers.remove(&which);
        } else {
            let timer = Timer {
                which,
                interval_us,
                value_us,
                set_at: at,
            };
            self.timers.insert(which, timer);
        }
    }

    /// The interval timers armed.
    pub fn timers(&self) -> Vec<Timer> {
        self.timers.values().copied().collect()
    }

    /// A thread or process made by `clone` (arguments in registers:
    /// flags, stack, parent_tid, child_tid, tls) or `clone3` (in the
    /// `clone_args` that replay saw it read).
    fn cloned(&mut self, call: &SyscallEvent, input: Option<&[u8]>) {
        let (flags, child_tid, tls) = if call.nr == libc::SYS_clone {
            (call.args[0], call.args[3], call.args[4])
        } else {
            let Some(b) = input.filter(|b| b.len() == CLONE_ARGS_SIZE) else {
                self.unseen += 1;
                return;
            };
            let word = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
            (word(0), word(2), word(7))
        };
        let parent = self.threads.get(&self.current).cloned();
        let made = call.result as i32;
        let thread = flags & libc::CLONE_THREAD as u64 != 0;
        let facts = ThreadFacts {
            process: match (&parent, thread) {
                (Some(p), true) => p.process,
                _ => made,
            },
            tls: if flags & libc::CLONE_SETTLS as u64 != 0 {
                Some(tls)
            } else {
                parent.and_then(|p| p.tls)
            },
            words: ThreadWords {
                clear_tid: if flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
                    child_tid
                } else {
                    0
                },
                ..ThreadWords::default()
            },
        };
        self.threads.insert(made, facts);
    }

    /// What the calls said of thread `tid` (its id as recorded).
    pub fn thread(&self, tid: i32) -> Option<&ThreadFacts> {
        self.threads.get(&tid)
    }

    /// The POSIX timers that exist, armed or not, by increasing id.
    pub fn posix_timers(&self) -> Vec<PosixTimer> {
        self.posix_timers.values().copied().collect()
    }

    /// `timer_create(clock, sevp, &id)`: the id is what the call wrote,
    /// the `sigevent` what replay saw it read (none: `SIGALRM` with the
    /// id as its value).
    fn timer_created(&mut self, call: &SyscallEvent, input: Option<&[u8]>, at: u64) {
        let a = call.args;
        let written = call.writes.iter().find(|w| w.addr.0 == a[2] && w.bytes.len() >= 4);
        let Some(id) = written.map(|w| i32::from_le_bytes(w.bytes[..4].try_into().unwrap())) else {
            self.unseen += 1;
            return;
        };
        let int = |b: &[u8], i: usize| i32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let (sigval, signo, notify, tid) = match input {
            _ if a[1] == 0 => (id as u64, libc::SIGALRM, libc::SIGEV_SIGNAL, 0),
            Some(b) if b.len() == SIGEVENT_SIZE => (
                u64::from_le_bytes(b[..8].try_into().unwrap()),
                int(b, 8),
                int(b, 12),
                int(b, 16),
            ),
            _ => {
                self.unseen += 1;
                return;
            }
        };
        let timer = PosixTimer {
            id,
            clock: a[0] as i32,
            notify,
            signo,
            sigval,
            tid,
            flags: 0,
            interval_ns: 0,
            value_ns: 0,
            set_at: at,
        };
        self.posix_timers.insert(id, timer);
    }

    /// `timer_settime(id, flags, &new, old)`.
    fn timer_set(&mut self, a: &[u64; 6], input: Option<&[u8]>, at: u64) {
        let Some(b) = input.filter(|b| b.len() == ITIMERSPEC_SIZE) else {
            self.unseen += 1;
            return;
        };
        let Some(t) = self.posix_timers.get_mut(&(a[0] as i32)) else {
            return;
        };
        let word = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
        let ns = |sec: u64, nsec: u64| sec.saturating_mul(1_000_000_000).saturating_add(nsec);
        t.flags = a[1] as i32 & libc::TIMER_ABSTIME;
        t.interval_ns = ns(word(0), word(1));
        t.value_ns = ns(word(2), word(3));
        t.set_at = at;
    }

    fn syscall(&mut self, call: &SyscallEvent, input: Option<Vec<u8>>, at: u64) {
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
            libc::SYS_alarm => self.set_timer(libc::ITIMER_REAL, 0, a[0].saturating_mul(1_000_000), at),
            libc::SYS_timer_create => self.timer_created(call, input.as_deref(), at),
            libc::SYS_clone | libc::SYS_clone3 if r > 0 => self.cloned(call, input.as_deref()),
            libc::SYS_set_tid_address => {
                if let Some(t) = self.threads.get_mut(&self.current) {
                    t.words.clear_tid = a[0];
                }
            }
            libc::SYS_set_robust_list => {
                if let Some(t) = self.threads.get_mut(&self.current) {
                    (t.words.robust_list, t.words.robust_len) = (a[0], a[1]);
                }
            }
            libc::SYS_arch_prctl if a[0] == ARCH_SET_FS => {
                if let Some(t) = self.threads.get_mut(&self.current) {
                    t.tls = Some(a[1]);
                }
            }
            libc::SYS_timer_settime => self.timer_set(&a, input.as_deref(), at),
            // A timer's signal taken by waiting for it (glibc's
            // `SIGEV_THREAD` helper thread does) is not delivered: the
            // siginfo the call wrote says which timer it was.
            libc::SYS_rt_sigtimedwait if r > 0 => {
                let info = call.writes.iter().find(|w| w.addr.0 == a[1] && w.addr.0 != 0);
                if let Some(w) = info {
                    self.expired(r as i32, &w.bytes);
                }
            }
            libc::SYS_timer_delete => {
                self.posix_timers.remove(&(a[0] as i32));
            }
            libc::SYS_setitimer if a[1] != 0 => match input.as_deref() {
                Some(b) if b.len() == ITIMERVAL_SIZE => {
                    let word = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
                    let us = |sec: u64, usec: u64| sec.saturating_mul(1_000_000).saturating_add(usec);
                    self.set_timer(a[0] as i32, us(word(0), word(1)), us(word(2), word(3)), at);
                }
                _ => self.unseen += 1,
            },
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

/// Syscalls that change the blocked-signal mask: a signal blocked before
/// one of them and delivered right after it was pending meanwhile.
const MASK_CALLS: [i64; 7] = [
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigsuspend,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
];

/// The signals pending at `at`, where it is thread `running`'s turn and
/// `blocked` gives each thread's mask: the log has a signal when it is
/// delivered, not when it is sent, and replay raises it only then. Pending
/// are a signal delivered right here (the next event, with nothing of the
/// program's to run before it) and each signal that a thread's next change
/// of its mask lets through at once, if it blocked it here and the program
/// did not send it meanwhile. A signal sent from outside after `at` but
/// before that change counts too, which changes nothing: it is delivered at
/// the same place.
pub fn pending_at(log: &TraceLog, at: Position, running: i32, blocked: impl Fn(i32) -> u64) -> Vec<Pending> {
    fn unplaced(e: Option<&Event>) -> Option<&SignalEvent> {
        match e {
            Some(Event::Signal(s))
                if s.kind == SignalKind::Asynchronous && s.at_execution.is_none() && s.at_state.is_none() =>
            {
                Some(s)
            }
            _ => None,
        }
    }
    let pending = |s: &SignalEvent, tid: i32| Pending {
        tid,
        signo: s.signo,
        siginfo: s.siginfo.clone(),
    };
    let mut out = Vec::new();
    let next = log.get(at.event);
    let here = match (at.point, next) {
        (Point::End, Some(Event::Signal(s))) if s.kind == SignalKind::Asynchronous => Some(&**s),
        (Point::Start { steps: 0 }, e) => unplaced(e),
        _ => None,
    };
    out.extend(here.map(|s| pending(s, running)));
    // Whose turn it is from here on, the threads whose mask changed, and
    // the signals the program sent.
    let mut current = running;
    let mut changed = Vec::new();
    let mut sent = 0u64;
    let bit = |signo: i32| {
        if (1..=64).contains(&signo) {
            1u64 << (signo - 1)
        } else {
            0
        }
    };
    for (k, e) in log.events_from(at.event.0).enumerate() {
        match e {
            Event::Switch(s) => current = s.to,
            Event::Exec(_) | Event::Exit(_) => break,
            Event::Syscall(c) if c.result >= 0 => {
                if let Some(signo) = sent_signal(c) {
                    sent |= bit(signo);
                } else if MASK_CALLS.contains(&c.nr) && !changed.contains(&current) {
                    changed.push(current);
                    let mut i = at.event.0 + k as u64 + 1;
                    while let Some(s) = unplaced(log.get(EventIdx(i))) {
                        let was_blocked = blocked(current) & bit(s.signo) != 0;
                        let known = out.iter().any(|p| p.signo == s.signo && p.tid == current);
                        if was_blocked && !known && sent & bit(s.signo) == 0 {
                            out.push(pending(s, current));
                        }
                        i += 1;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The signal a call sends to the program or one of its threads.
fn sent_signal(c: &SyscallEvent) -> Option<i32> {
    let a = c.args;
    match c.nr {
        libc::SYS_kill | libc::SYS_tkill | libc::SYS_rt_sigqueueinfo => Some(a[1] as i32),
        libc::SYS_tgkill | libc::SYS_rt_tgsigqueueinfo => Some(a[2] as i32),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{ExecEvent, FileHash, Header, MemWrite, Registers};
    use crate::RemoteAddr;

    /// A call: number, arguments, result, and what replay saw it read.
    type Call<'a> = (i64, [u64; 6], i64, Option<&'a [u8]>);

    /// A log of these calls after an exec, with the program started in
    /// `/home/u`.
    fn log(calls: &[Call]) -> TraceLog {
        let log = TraceLog::growing(Header::for_tests("/home/u"));
        log.push(Event::Exec(Box::new(ExecEvent {
            exe_path: "/bin/p".into(),
            exe: FileHash("0".repeat(64)),
            interp: None,
            argv: vec![],
            stack: MemWrite {
                addr: RemoteAddr(0),
                bytes: Default::default(),
            },
            regs: Registers([0; 27]),
            pid: 1,
            image: None,
        })));
        for (i, &(nr, args, result, input)) in calls.iter().enumerate() {
            let writes = match nr {
                libc::SYS_pipe2 => vec![MemWrite {
                    addr: RemoteAddr(args[0]),
                    bytes: [7i32.to_le_bytes(), 8i32.to_le_bytes()].concat().into(),
                }],
                _ => vec![],
            };
            log.push(Event::Syscall(Box::new(SyscallEvent {
                nr,
                args,
                result,
                writes,
                output: None,
                mapped_file: None,
                memory: vec![],
                buffered: false,
                opened_file: None,
            })));
            if let Some(bytes) = input {
                log.inputs().keep(EventIdx(i as u64 + 1), bytes.to_vec());
            }
        }
        log
    }

    fn all(log: &TraceLog) -> History {
        History::before(log, log.len())
    }

    const AT_FDCWD: u64 = libc::AT_FDCWD as u64;

    #[test]
    fn files_keep_their_path_flags_and_offset_through_dups_and_seeks() {
        let log = log(&[
            (
                libc::SYS_openat,
                [AT_FDCWD, 0, libc::O_RDWR as u64, 0, 0, 0],
                3,
                Some(b"data.txt"),
            ),
            (libc::SYS_read, [3, 0, 100, 0, 0, 0], 100, None),
            (libc::SYS_dup, [3, 0, 0, 0, 0, 0], 4, None),
            (libc::SYS_read, [4, 0, 20, 0, 0, 0], 20, None),
            (libc::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0], 5, Some(b"/etc/gone")),
            (libc::SYS_lseek, [5, 9, 0, 0, 0, 0], 9, None),
            (libc::SYS_close, [5, 0, 0, 0, 0, 0], 0, None),
            (libc::SYS_close, [0, 0, 0, 0, 0, 0], 0, None),
        ]);
        let fds = all(&log).open_files();
        let kinds: Vec<(i32, FdKind)> = fds.into_iter().map(|f| (f.fd, f.what)).collect();
        assert_eq!(
            kinds,
            vec![
                (1, FdKind::Inherited { from: 1 }),
                (2, FdKind::Inherited { from: 2 }),
                (
                    3,
                    FdKind::File {
                        path: "/home/u/data.txt".into(),
                        flags: libc::O_RDWR,
                        offset: 120
                    }
                ),
                (4, FdKind::Dup { of: 3 }),
            ]
        );
    }

    #[test]
    fn exec_closes_cloexec_descriptors_and_chdir_moves_relative_paths() {
        let log = log(&[
            (libc::SYS_chdir, [0; 6], 0, Some(b"sub")),
            (
                libc::SYS_openat,
                [AT_FDCWD, 0, libc::O_CLOEXEC as u64, 0, 0, 0],
                3,
                Some(b"a"),
            ),
            (libc::SYS_openat, [AT_FDCWD, 0, 0, 0, 0, 0], 4, Some(b"b")),
            (libc::SYS_pipe2, [0x1000, 0, 0, 0, 0, 0], 0, None),
            (
                libc::SYS_fcntl,
                [4, libc::F_SETFD as u64, libc::FD_CLOEXEC as u64, 0, 0, 0],
                0,
                None,
            ),
        ]);
        let h = all(&log);
        assert_eq!(h.cwd, "/home/u/sub");
        let fds = h.open_files();
        assert!(fds.iter().any(|f| f.fd == 3 && f.cloexec));
        assert!(fds
            .iter()
            .any(|f| f.fd == 7 && f.what == FdKind::Unopenable { what: "a pipe".into() }));
        // An exec now would close 3 and 4.
        log.push(log.get(EventIdx(0)).unwrap().clone());
        let after: Vec<i32> = all(&log).open_files().iter().map(|f| f.fd).collect();
        assert_eq!(after, vec![0, 1, 2, 7, 8]);
    }

    #[test]
    fn an_alarm_is_armed_until_its_signal_comes() {
        let log = log(&[(libc::SYS_alarm, [5, 0, 0, 0, 0, 0], 0, None)]);
        let timers = all(&log).timers();
        assert_eq!(timers.len(), 1);
        assert_eq!(
            (timers[0].which, timers[0].value_us, timers[0].set_at),
            (libc::ITIMER_REAL, 5_000_000, 1)
        );
        log.push(Event::Signal(Box::new(SignalEvent {
            signo: libc::SIGALRM,
            kind: SignalKind::Asynchronous,
            siginfo: vec![0; 128],
            regs: Registers([0; 27]),
            at_execution: None,
            at_state: None,
        })));
        assert!(all(&log).timers().is_empty());
    }

    #[test]
    fn posix_timers_keep_their_ids_and_settings_until_deleted_or_exec() {
        let mut sev = [0u8; SIGEVENT_SIZE];
        sev[..8].copy_from_slice(&42u64.to_le_bytes());
        sev[8..12].copy_from_slice(&libc::SIGUSR2.to_le_bytes());
        let mut spec = [0u8; ITIMERSPEC_SIZE];
        spec[16..24].copy_from_slice(&2u64.to_le_bytes());
        spec[24..32].copy_from_slice(&500u64.to_le_bytes());
        let log = log(&[
            (libc::SYS_timer_create, [1, 0x2000, 0x3000, 0, 0, 0], 0, Some(&sev)),
            (libc::SYS_timer_create, [0, 0, 0x3000, 0, 0, 0], 0, None),
            (libc::SYS_timer_settime, [5, 1, 0x4000, 0, 0, 0], 0, Some(&spec)),
            (libc::SYS_timer_delete, [6, 0, 0, 0, 0, 0], 0, None),
        ]);
        // The ids the kernel wrote: 5, then 6.
        let mut events: Vec<Event> = log.events().cloned().collect();
        for (i, id) in [(1, 5i32), (2, 6)] {
            if let Event::Syscall(call) = &mut events[i] {
                call.writes.push(MemWrite {
                    addr: RemoteAddr(0x3000),
                    bytes: id.to_le_bytes().to_vec().into(),
                });
            }
        }
        let rebuilt = TraceLog::growing(log.header.clone());
        for (i, e) in events.into_iter().enumerate() {
            rebuilt.push(e);
            if let Some(bytes) = log.inputs().get(EventIdx(i as u64)) {
                rebuilt.inputs().keep(EventIdx(i as u64), bytes);
            }
        }
        let log = rebuilt;
        // Before the delete, both; the second as the kernel makes it
        // without a sigevent.
        let timers = History::before(&log, EventIdx(4)).posix_timers();
        assert_eq!(timers.len(), 2);
        assert_eq!((timers[1].id, timers[1].signo, timers[1].sigval), (6, libc::SIGALRM, 6));
        let t = all(&log).posix_timers();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].id, t[0].clock, t[0].signo, t[0].sigval, t[0].flags),
            (5, 1, libc::SIGUSR2, 42, libc::TIMER_ABSTIME)
        );
        assert_eq!((t[0].interval_ns, t[0].value_ns, t[0].set_at), (0, 2_000_000_500, 3));
        // Its signal disarms it (one-shot), and leaves an alarm alone.
        log.push(Event::Syscall(Box::new(SyscallEvent {
            nr: libc::SYS_alarm,
            args: [9, 0, 0, 0, 0, 0],
            result: 0,
            writes: vec![],
            output: None,
            mapped_file: None,
            memory: vec![],
            buffered: false,
            opened_file: None,
        })));
        let mut siginfo = vec![0u8; 128];
        siginfo[0..4].copy_from_slice(&libc::SIGALRM.to_le_bytes());
        siginfo[SI_CODE_OFFSET..SI_CODE_OFFSET + 4].copy_from_slice(&SI_TIMER.to_le_bytes());
        siginfo[SI_TIMERID_OFFSET..SI_TIMERID_OFFSET + 4].copy_from_slice(&5i32.to_le_bytes());
        log.push(Event::Signal(Box::new(SignalEvent {
            signo: libc::SIGALRM,
            kind: SignalKind::Asynchronous,
            siginfo,
            regs: Registers([0; 27]),
            at_execution: None,
            at_state: None,
        })));
        let h = all(&log);
        assert_eq!(h.posix_timers()[0].value_ns, 0);
        assert_eq!(h.timers().len(), 1);
        // Armed again, its signal taken by sigwaitinfo disarms it too.
        log.push(log.get(EventIdx(3)).unwrap().clone());
        log.inputs().keep(EventIdx(7), spec.to_vec());
        assert_eq!(all(&log).posix_timers()[0].value_ns, 2_000_000_500);
        let Some(Event::Signal(s)) = log.get(EventIdx(6)) else {
            panic!("no signal event")
        };
        log.push(Event::Syscall(Box::new(SyscallEvent {
            nr: libc::SYS_rt_sigtimedwait,
            args: [0x6000, 0x6100, 0, 8, 0, 0],
            result: libc::SIGALRM as i64,
            writes: vec![MemWrite {
                addr: RemoteAddr(0x6100),
                bytes: s.siginfo.clone().into(),
            }],
            output: None,
            mapped_file: None,
            memory: vec![],
            buffered: false,
            opened_file: None,
        })));
        assert_eq!(all(&log).posix_timers()[0].value_ns, 0);
        assert_eq!(all(&log).timers().len(), 1);
        // An exec deletes POSIX timers.
        log.push(log.get(EventIdx(0)).unwrap().clone());
        assert!(all(&log).posix_timers().is_empty());
    }

    #[test]
    fn threads_are_known_by_the_tls_and_words_their_calls_gave_them() {
        let mut args = [0u8; CLONE_ARGS_SIZE];
        let flags = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SETTLS | libc::CLONE_CHILD_CLEARTID) as u64;
        for (i, w) in [(0, flags), (2, 0x7000_02d0), (7, 0x7000_0000)] {
            args[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        let log = log(&[
            (libc::SYS_arch_prctl, [ARCH_SET_FS, 0x5000, 0, 0, 0, 0], 0, None),
            (libc::SYS_set_tid_address, [0x52d0, 0, 0, 0, 0, 0], 1, None),
            (libc::SYS_clone3, [0x9000, 88, 0, 0, 0, 0], 2, Some(&args)),
        ]);
        log.push(Event::Switch(Box::new(crate::trace::SwitchEvent {
            to: 2,
            process: 1,
            left: crate::trace::Left::AtSyscall { nr: libc::SYS_futex },
            shared: vec![],
        })));
        log.push(Event::Syscall(Box::new(SyscallEvent {
            nr: libc::SYS_set_robust_list,
            args: [0x7000_02e0, 24, 0, 0, 0, 0],
            result: 0,
            writes: vec![],
            output: None,
            mapped_file: None,
            memory: vec![],
            buffered: false,
            opened_file: None,
        })));
        let h = all(&log);
        let first = h.thread(1).unwrap();
        assert_eq!(
            (first.process, first.tls, first.words.clear_tid),
            (1, Some(0x5000), 0x52d0)
        );
        let second = h.thread(2).unwrap();
        assert_eq!((second.process, second.tls), (1, Some(0x7000_0000)));
        assert_eq!(
            second.words,
            ThreadWords {
                clear_tid: 0x7000_02d0,
                robust_list: 0x7000_02e0,
                robust_len: 24
            }
        );
        // The clone3 replay did not see made a thread nobody can describe.
        log.inputs().keep(EventIdx(3), vec![]);
        assert_eq!(all(&log).thread(2).map(|t| t.tls), Some(None));
    }

    #[test]
    fn signal_actions_come_from_what_replay_saw() {
        let mut act = [0u8; SIGACTION_SIZE];
        act[..8].copy_from_slice(&0x401000u64.to_le_bytes());
        act[8..16].copy_from_slice(&(libc::SA_RESTART as u64).to_le_bytes());
        let log = log(&[
            (
                libc::SYS_rt_sigaction,
                [libc::SIGUSR1 as u64, 0x2000, 0, 8, 0, 0],
                0,
                Some(&act),
            ),
            (
                libc::SYS_rt_sigaction,
                [libc::SIGINT as u64, 0x2000, 0, 8, 0, 0],
                0,
                None,
            ),
            (libc::SYS_brk, [0x5000, 0, 0, 0, 0, 0], 0x5000, None),
        ]);
        let h = all(&log);
        let actions = h.signal_actions();
        assert_eq!(actions.len(), 1);
        assert_eq!((actions[0].signo, actions[0].handler), (libc::SIGUSR1, 0x401000));
        // The SIGINT action replay did not see is counted, not guessed.
        assert_eq!(h.unseen, 1);
        assert_eq!(h.brk, Some(0x5000));
        // Before those calls, nothing was set.
        assert!(History::before(&log, EventIdx(1)).signal_actions().is_empty());
    }
}
