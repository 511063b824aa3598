//! Time travel over a recording: moving forward and backward through a
//! replay, for the REPL and the gdb server alike.
//!
//! Time is cut into *intervals* by the events of the trace: interval `e`
//! is what the program runs between event `e - 1` and event `e`. Without
//! an instruction counter, a place inside an interval is named by what can
//! be found again exactly (DESIGN-NOTES §4): the n-th arrival at an
//! instruction address since the interval started, counted in the kernel by
//! a breakpoint counter, plus a number of single steps from there. See
//! [`Point`].
//!
//! Going back means restoring the nearest earlier checkpoint (a frozen fork
//! of the replayed program, taken at an interval start) and replaying
//! forward from it. The live replay only ever carries inserted breakpoints
//! while it runs; at every stop they are taken out again, so a checkpoint
//! forked at a stop never carries one.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::counter::{CounterStop, ExecCounter};
use crate::live::{Frontier, LiveRecording};
use crate::record::si_code;
use crate::replay::Follow;
use crate::replay::{ReplaySession, Step};
use crate::trace::{Event, SignalKind, TraceLog};
use crate::tracee::{FpState, Regs, Resume, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

/// `si_code` of the SIGTRAP an `int3` raises.
const SI_KERNEL: i32 = 0x80;
/// The debug register the timeline's counter may use when perf breakpoint
/// events are unavailable (0 places recorded signals).
const COUNTER_SLOT: usize = 1;
/// Events between automatic checkpoints.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 200;

/// How automatic checkpoints are spaced and capped.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointPolicy {
    /// A checkpoint after this many events since the last one...
    pub every_events: u64,
    /// ...or at the first event after the program used this much CPU
    /// time since the last one, whichever comes first: going back costs
    /// the replay from the checkpoint before, so that is what is bounded.
    pub every_cpu: Duration,
    /// The memory (anonymous proportional set size) all checkpoints
    /// together may hold; older automatic ones are thinned to stay under it.
    pub memory_budget: u64,
}

impl Default for CheckpointPolicy {
    fn default() -> CheckpointPolicy {
        CheckpointPolicy {
            every_events: DEFAULT_CHECKPOINT_INTERVAL,
            every_cpu: Duration::from_millis(250),
            memory_budget: 2 << 30,
        }
    }
}

/// How often (in events) the CPU time of the replayed program is read; a
/// read costs about as much as replaying a cheap event.
const CPU_CHECK_EVENTS: u64 = 16;
/// ...or when this much wall time passed since the last read.
const CPU_CHECK_AFTER: Duration = Duration::from_millis(20);
/// Automatic checkpoints kept at most; older ones are thinned out first.
const MAX_AUTO_CHECKPOINTS: usize = 48;
/// Anchors kept at most (they are cheap: forks of a process that differs
/// from the live one by a few dozen milliseconds of work).
const MAX_ANCHORS: usize = 512;
/// How many single steps a reverse step may take to find the previous
/// instruction, from the arrival before it.
/// (At 17-50 µs a step, this is a few seconds.)
const STEP_LIMIT: u64 = 200_000;
/// The debug registers user watchpoints use (0 places recorded signals,
/// `COUNTER_SLOT` counts arrivals).
const WATCH_SLOTS: [usize; 2] = [2, 3];

/// What access to watched memory stops the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// A write that changes the value (gdb's `watch`).
    Write,
    /// A read (gdb's `rwatch`). x86 cannot trap reads alone, so any access
    /// that leaves the value unchanged counts as one.
    Read,
    /// Any read or write (gdb's `awatch`).
    Access,
}

/// A hardware watchpoint: 1, 2, 4 or 8 bytes, aligned to their size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watch {
    pub addr: RemoteAddr,
    pub len: u8,
    pub kind: WatchKind,
}

impl Watch {
    fn stop(&self) -> StopReason {
        StopReason::Watchpoint {
            addr: self.addr,
            kind: self.kind,
        }
    }

    /// The DR7 bits that arm this watch in debug register `slot`: local
    /// enable, RW (01 write, 11 read or write) and LEN.
    fn dr7_bits(&self, slot: usize) -> u64 {
        let rw: u64 = match self.kind {
            WatchKind::Write => 0b01,
            WatchKind::Read | WatchKind::Access => 0b11,
        };
        let len: u64 = match self.len {
            1 => 0b00,
            2 => 0b01,
            8 => 0b10,
            _ => 0b11,
        };
        (1 << (2 * slot)) | (((len << 2) | rw) << (16 + 4 * slot))
    }
}

/// Stops a long movement from another thread (a Ctrl-C handler). A
/// program running freely gets a signal (SIGSTKFLT from rback, which the
/// timeline takes back) and the movement stops at the start of the interval
/// it was in: the only place there a position can be named. Other work
/// stops at the next event boundary or within 1024 single steps.
#[derive(Clone)]
pub struct Interrupter {
    flag: Arc<AtomicBool>,
    /// The live tracee while it runs freely, else 0.
    running: Arc<AtomicI32>,
}

impl Interrupter {
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let pid = self.running.load(Ordering::SeqCst);
        if pid != 0 {
            let pid = nix::unistd::Pid::from_raw(pid);
            // It may have stopped meanwhile: then the signal waits for the
            // next resume, and the replay drops it as not the program's.
            let _ = crate::sys::tgkill(pid, pid, crate::counter::COUNTER_SIGNAL);
        }
    }
}

/// A place inside an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// The interval's start, where the previous event left the program,
    /// then `steps` single steps.
    Start { steps: u64 },
    /// The `nth` arrival at `addr` (about to execute it) since the
    /// interval started, then `steps` single steps.
    Arrival { addr: RemoteAddr, nth: u64, steps: u64 },
    /// Just after the `nth` access since the interval started that
    /// triggered hardware watch `watch` (whether or not it changed the
    /// value), then `steps` single steps.
    Trigger { watch: Watch, nth: u64, steps: u64 },
    /// The interval's end: the event is next (the syscall instruction, the
    /// fault or the signal delivery), not yet replayed.
    End,
}

/// An exact, storable point in the recording's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The interval: the next event to happen. What users see as "when".
    pub event: EventIdx,
    pub point: Point,
}

impl Position {
    fn start(event: EventIdx) -> Position {
        Position {
            event,
            point: Point::Start { steps: 0 },
        }
    }

    fn arrival(event: EventIdx, addr: RemoteAddr, nth: u64, steps: u64) -> Position {
        Position {
            event,
            point: Point::Arrival { addr, nth, steps },
        }
    }

    fn with_steps(self, steps: u64) -> Position {
        let point = match self.point {
            Point::Start { .. } => Point::Start { steps },
            Point::Arrival { addr, nth, .. } => Point::Arrival { addr, nth, steps },
            Point::Trigger { watch, nth, .. } => Point::Trigger { watch, nth, steps },
            Point::End => Point::End,
        };
        Position { point, ..self }
    }
}

/// Why a movement stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Breakpoint(RemoteAddr),
    /// A single step (forward or backward) is done.
    Stepped,
    /// A signal is about to be delivered (forward) or was just before.
    Signal(i32),
    /// A watched location was accessed (and, for [`WatchKind::Write`],
    /// changed). Forward, the program stands just after the accessing
    /// instruction; backward, just before it, as gdb expects. A change made
    /// by a system call stops forward just after the call and backward
    /// just before it.
    Watchpoint {
        addr: RemoteAddr,
        kind: WatchKind,
    },
    /// The event or position asked for is reached.
    Arrived,
    StartOfRecording,
    EndOfRecording,
    /// An [`Interrupter`] stopped the movement, at an event boundary.
    Interrupted,
}

/// A breakpoint arrival or a reported watchpoint access seen while
/// scanning forward.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hit {
    at: Position,
    /// `None` for a breakpoint.
    watch: Option<Watch>,
}

impl Hit {
    fn breakpoint(at: Position) -> Hit {
        Hit { at, watch: None }
    }
}

/// Whether `event` happens at a count of executions from its interval's
/// start (an asynchronous signal or a preemption in a loop), which a
/// checkpoint in the middle of the interval would restart.
fn placed_by_count(event: Option<&Event>) -> bool {
    match event {
        Some(Event::Signal(s)) => s.at_execution.is_some(),
        Some(Event::Switch(s)) => matches!(
            s.left,
            crate::trace::Left::Preempted {
                at: crate::trace::Placement::Count(_),
                ..
            }
        ),
        _ => false,
    }
}

/// One thread of the program at the current position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// gdb's number for it: 1 for the first thread, then in the order the
    /// program made them.
    pub number: usize,
    /// Its id, as the program saw it while recording.
    pub tid: i32,
    /// It is the thread whose turn it is (the one that runs when the
    /// program moves).
    pub running: bool,
    /// It is the thread the front end looks at.
    pub selected: bool,
}

pub struct CheckpointInfo {
    pub id: usize,
    pub name: Option<String>,
    pub position: Position,
}

struct Checkpoint {
    id: usize,
    name: Option<String>,
    position: Position,
    /// The frozen copy; it never runs, it is only forked again.
    session: ReplaySession,
    /// For an *anchor* (an automatic checkpoint at an arrival inside a long
    /// stretch with no event), the arrival counts there since the
    /// interval's start: what a run from it needs to name positions.
    counts: Option<HashMap<RemoteAddr, u64>>,
}

/// Signals the live tracee every `ANCHOR_EVERY` while a long counted run
/// goes on, so that it leaves anchors behind; stops when dropped.
struct Ticker {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Run time between anchors: a run to a position from the anchor before it
/// costs at most this (plus counting).
const ANCHOR_EVERY: Duration = Duration::from_millis(25);

impl Ticker {
    fn start(running: Arc<AtomicI32>, tick: Arc<AtomicBool>, every: Duration) -> Ticker {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let pid = running.load(Ordering::SeqCst);
                if pid != 0 && !tick.swap(true, Ordering::SeqCst) {
                    let pid = nix::unistd::Pid::from_raw(pid);
                    let _ = crate::sys::tgkill(pid, pid, crate::counter::COUNTER_SIGNAL);
                }
            }
        });
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A checkpoint off the user's list, with the arrival and trigger counts
/// there (valid while the same breakpoints and watches are set).
struct StepCache {
    checkpoint: Checkpoint,
    breakpoints: BTreeSet<RemoteAddr>,
    watches: Vec<Watch>,
    arrivals: HashMap<RemoteAddr, u64>,
    triggers: HashMap<Watch, u64>,
}

/// What made a run inside an interval stop.
enum Halt {
    Breakpoint(RemoteAddr),
    /// A watch reported an access (the program is just after it).
    Watch(Watch),
    Stepped,
    /// The arrival that was asked for.
    Reached,
    /// The interval's event is next; its stop is held.
    Event,
    /// A long counted run was stopped to drop an anchor (only when
    /// `ticks_wanted`).
    Tick,
}

#[derive(Clone, Copy)]
enum Goal {
    /// Until a breakpoint or the interval's end.
    Breakpoint,
    /// Until the `nth` arrival at an address; breakpoints are only counted.
    Arrival(RemoteAddr, u64),
    /// Until just after the `nth` trigger of a watch.
    Trigger(Watch, u64),
    /// Until the interval's end; breakpoints are only counted.
    End,
}

pub struct Timeline {
    log: Arc<TraceLog>,
    live: ReplaySession,
    at: Position,
    /// The event's own stop when `at` is an interval's end.
    held: Option<Stop>,
    checkpoints: Vec<Checkpoint>,
    next_checkpoint_id: usize,
    policy: CheckpointPolicy,
    /// The live program's CPU time (ns) when it last passed a checkpoint.
    cpu_mark: u64,
    last_cpu_check: Instant,
    /// When the checkpoints' memory may be measured again.
    memory_check_after: Instant,
    breakpoints: BTreeSet<RemoteAddr>,
    /// Breakpoints written into the live tracee, with the bytes they hide.
    inserted: Vec<(RemoteAddr, u8)>,
    /// Arrivals at each breakpoint address since the interval's start.
    arrivals: HashMap<RemoteAddr, u64>,
    /// Whether `arrivals` is complete for every breakpoint (it is not after
    /// a breakpoint was added in the middle of an interval).
    arrivals_known: bool,
    /// Counting arrivals at one address, while a run needs it.
    counter: Option<ExecCounter>,
    /// The user's watchpoints.
    watches: Vec<Watch>,
    /// A watch a run needs armed whether or not the user has it: the one a
    /// `Point::Trigger` being reached names.
    goal_watch: Option<Watch>,
    /// The thread the front end looks at, when not the one whose turn it
    /// is (`thread N`); every movement selects the running thread again.
    selected: Option<i32>,
    /// Thread ids in the order the program made its threads (gdb numbers
    /// them so, from 1), and how much of the log was read to learn them.
    thread_order: std::sync::Mutex<(u64, Vec<i32>)>,
    /// What the watch slots of the thread `armed_on` hold (a fresh fork
    /// holds none; debug registers are per thread, and another thread's
    /// turn needs them programmed again).
    armed: Vec<Watch>,
    armed_on: Option<nix::unistd::Pid>,
    /// Triggers of each armed watch since the interval's start (complete
    /// when `arrivals_known` is).
    triggers: HashMap<Watch, u64>,
    /// The watched bytes as last seen, to tell a change from a rewrite.
    watch_values: HashMap<Watch, Vec<u8>>,
    /// The user watch the last single step reported, if any.
    stepped_watch: Option<Watch>,
    interrupted: Arc<AtomicBool>,
    /// While an interrupted movement settles on a position, further
    /// interrupts (a front end may repeat its own) must not cut that short.
    settling: bool,
    /// The live tracee's pid while it runs freely (see [`Interrupter`]).
    running: Arc<AtomicI32>,
    /// Set by the anchor ticker before it signals the live tracee.
    tick: Arc<AtomicBool>,
    /// Whether the current run stops for ticks (else they are dropped).
    ticks_wanted: bool,
    /// A hidden checkpoint where the last reverse step started stepping.
    step_cache: Option<StepCache>,
    /// Memory or registers were changed by hand; the live tracee is no
    /// longer the recording's and must be rebuilt before moving.
    scratch: bool,
    /// The program being recorded as the timeline follows it (`rback
    /// run`): going forward past the last recorded event records more.
    frontier: Option<LiveRecording>,
    /// Events before this one had their terminal output shown (a live
    /// recording shows it once, when the replay first gets there).
    shown_up_to: EventIdx,
}

impl Timeline {
    /// Opens a trace for time travel, at the start of the recording.
    pub fn open(trace_dir: &Path, checkpoint_interval: u64) -> Result<Timeline> {
        Timeline::open_with(
            trace_dir,
            CheckpointPolicy {
                every_events: checkpoint_interval,
                ..CheckpointPolicy::default()
            },
        )
    }

    /// Opens a trace with a given checkpoint policy.
    pub fn open_with(trace_dir: &Path, policy: CheckpointPolicy) -> Result<Timeline> {
        Timeline::open_process(trace_dir, policy, None)
    }

    /// Opens a trace following one of its processes (by its id while
    /// recording; `None`: the first), as gdb debugs one process at a time.
    pub fn open_process(trace_dir: &Path, policy: CheckpointPolicy, process: Option<i32>) -> Result<Timeline> {
        let log = Arc::new(TraceLog::load(trace_dir)?);
        Timeline::open_on(trace_dir, log, None, policy, process)
    }

    /// Follows a recording as it is made: the timeline starts at the
    /// program's start, and forward movements past the last recorded event
    /// let the live program go on.
    pub fn open_live(recording: LiveRecording, policy: CheckpointPolicy) -> Result<Timeline> {
        let never = AtomicBool::new(false);
        recording.reach(EventIdx(1), &never)?;
        let log = recording.log();
        let trace_dir = recording.trace_dir().to_path_buf();
        Timeline::open_on(&trace_dir, log, Some(recording), policy, None)
    }

    fn open_on(
        trace_dir: &Path,
        log: Arc<TraceLog>,
        frontier: Option<LiveRecording>,
        policy: CheckpointPolicy,
        process: Option<i32>,
    ) -> Result<Timeline> {
        // A debugger follows one process, the first unless told otherwise.
        let first = match log.get(EventIdx(0)) {
            Some(Event::Exec(exec)) => exec.pid,
            _ => 0,
        };
        let follow = Follow::Process(process.unwrap_or(first));
        let mut live = ReplaySession::start_from(trace_dir, log.clone(), false, follow)?;
        live.set_stop_at_boundaries(true);
        live.prepare()?;
        let mut timeline = Timeline {
            log,
            live,
            at: Position::start(EventIdx(1)),
            held: None,
            checkpoints: Vec::new(),
            next_checkpoint_id: 1,
            policy: CheckpointPolicy {
                every_events: policy.every_events.max(1),
                ..policy
            },
            cpu_mark: 0,
            last_cpu_check: Instant::now(),
            memory_check_after: Instant::now(),
            breakpoints: BTreeSet::new(),
            inserted: Vec::new(),
            arrivals: HashMap::new(),
            arrivals_known: true,
            counter: None,
            watches: Vec::new(),
            goal_watch: None,
            armed: Vec::new(),
            armed_on: None,
            selected: None,
            thread_order: std::sync::Mutex::new((0, Vec::new())),
            triggers: HashMap::new(),
            watch_values: HashMap::new(),
            stepped_watch: None,
            interrupted: Arc::new(AtomicBool::new(false)),
            settling: false,
            running: Arc::new(AtomicI32::new(0)),
            tick: Arc::new(AtomicBool::new(false)),
            ticks_wanted: false,
            step_cache: None,
            scratch: false,
            frontier,
            shown_up_to: EventIdx(1),
        };
        timeline.add_checkpoint(None)?;
        Ok(timeline)
    }

    pub fn position(&self) -> Position {
        self.at
    }

    /// The number of events in the recording (so far, for a live one).
    pub fn events(&self) -> EventIdx {
        self.log.len()
    }

    /// The recording being made as the timeline follows it, if it is one.
    pub fn live_recording(&self) -> Option<&LiveRecording> {
        self.frontier.as_ref()
    }

    pub fn log(&self) -> &TraceLog {
        &self.log
    }

    /// The program's threads here, in gdb's numbering.
    pub fn threads(&self) -> Vec<ThreadInfo> {
        let current = self.live.current_thread();
        let selected = self.selected.unwrap_or(current);
        let mut all: Vec<ThreadInfo> = self
            .live
            .thread_ids()
            .into_iter()
            .map(|tid| ThreadInfo {
                number: self.thread_number(tid),
                tid,
                running: tid == current,
                selected: tid == selected,
            })
            .collect();
        all.sort_by_key(|t| t.number);
        all
    }

    /// The thread the front end looks at (registers, frames).
    pub fn selected_thread(&self) -> ThreadInfo {
        let threads = self.threads();
        threads
            .iter()
            .find(|t| t.selected)
            .or_else(|| threads.first())
            .copied()
            .expect("a program has at least one thread")
    }

    /// Looks at thread `number` (gdb's number) until the next movement.
    pub fn select_thread(&mut self, number: usize) -> Result<ThreadInfo> {
        let Some(thread) = self.threads().into_iter().find(|t| t.number == number) else {
            return Err(Error::Program(format!("Invalid thread ID: {number}")));
        };
        self.selected = Some(thread.tid);
        Ok(ThreadInfo {
            selected: true,
            ..thread
        })
    }

    /// gdb's number for thread `tid`: its place in the order the program
    /// made its threads, from 1 for the first.
    fn thread_number(&self, tid: i32) -> usize {
        let mut order = self.thread_order.lock().unwrap_or_else(|e| e.into_inner());
        let (read, tids) = &mut *order;
        while *read < self.log.len().0 {
            match self.log.get(EventIdx(*read)) {
                Some(Event::Exec(exec)) if tids.is_empty() => tids.push(exec.pid),
                Some(Event::Syscall(call))
                    if matches!(call.nr, libc::SYS_clone | libc::SYS_clone3) && call.result > 0 =>
                {
                    tids.push(call.result as i32)
                }
                _ => {}
            }
            *read += 1;
        }
        tids.iter().position(|&t| t == tid).map_or(0, |i| i + 1)
    }

    /// The tracee of the thread the front end looks at.
    fn selected_tracee(&self) -> &Tracee {
        self.selected
            .and_then(|tid| self.live.thread(tid))
            .unwrap_or_else(|| self.live.tracee())
    }

    /// The program's registers here. At a syscall's end they are shown as
    /// the program sees them before the `syscall` instruction runs.
    pub fn regs(&self) -> Result<Regs> {
        if self.selected.is_some_and(|tid| tid != self.live.current_thread()) {
            return self.selected_tracee().regs();
        }
        let mut regs = self.live.tracee().regs()?;
        if self.held == Some(Stop::Seccomp) {
            regs.rip -= 2;
            regs.rax = regs.orig_rax;
        }
        Ok(regs)
    }

    pub fn read_memory(&self, addr: RemoteAddr, len: usize) -> Result<Vec<u8>> {
        let mut bytes = self.live.tracee().read_bytes(addr, len)?;
        self.live.hide_patches(addr.0, &mut bytes);
        Ok(bytes)
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        self.live.tracee().pid
    }

    /// The floating-point and vector registers here.
    pub fn fp_regs(&self) -> Result<FpState> {
        self.selected_tracee().fp_state()
    }

    /// The program's memory map here, as `/proc/PID/maps` shows it.
    pub fn mappings(&self) -> Result<String> {
        self.live.tracee().maps_text()
    }

    /// The program's auxiliary vector (raw `Elf64_auxv_t` pairs).
    pub fn auxv(&self) -> Result<Vec<u8>> {
        self.live.tracee().auxv()
    }

    /// The `siginfo_t` (raw) of the signal about to be delivered, when the
    /// program stands at a signal event.
    pub fn siginfo(&self) -> Result<Option<Vec<u8>>> {
        match self.held {
            Some(Stop::Signal(_)) => Ok(Some(self.live.tracee().siginfo()?.to_vec())),
            _ => Ok(None),
        }
    }

    /// Changes memory on a scratch copy: the recording is untouched and the
    /// next movement starts again from the recorded state here.
    pub fn write_memory(&mut self, addr: RemoteAddr, bytes: &[u8]) -> Result<()> {
        self.scratch = true;
        self.live.tracee().write_bytes(addr, bytes)
    }

    /// Changes registers on a scratch copy, like [`Timeline::write_memory`].
    pub fn set_regs(&mut self, regs: &Regs) -> Result<()> {
        if self.held.is_some() {
            return Err(Error::Program(
                "cannot change registers just before an event; step once first".into(),
            ));
        }
        self.scratch = true;
        self.live.tracee().set_regs(regs)
    }

    /// Whether memory or registers were changed by hand since the last
    /// movement (the next one throws the changes away).
    pub fn has_scratch_changes(&self) -> bool {
        self.scratch
    }

    /// A handle that stops the current or next long movement.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            flag: self.interrupted.clone(),
            running: self.running.clone(),
        }
    }

    /// Watches `len` bytes at `addr` (1, 2, 4 or 8, aligned to their size).
    /// At most two watches exist at once: the other debug registers count
    /// instructions and place signals.
    pub fn set_watchpoint(&mut self, addr: RemoteAddr, len: usize, kind: WatchKind) -> Result<()> {
        if !matches!(len, 1 | 2 | 4 | 8) || !addr.0.is_multiple_of(len as u64) {
            return Err(Error::Program(format!(
                "a hardware watchpoint covers 1, 2, 4 or 8 bytes aligned to their size, not {len} at {addr}"
            )));
        }
        let watch = Watch {
            addr,
            len: len as u8,
            kind,
        };
        if self.watches.contains(&watch) {
            return Ok(());
        }
        if self.watches.len() >= WATCH_SLOTS.len() {
            return Err(Error::Program(format!(
                "at most {} hardware watchpoints can be set at once",
                WATCH_SLOTS.len()
            )));
        }
        self.read_memory(addr, len)?;
        self.watches.push(watch);
        if !self.at_interval_start() {
            self.arrivals_known = false;
        }
        Ok(())
    }

    pub fn remove_watchpoint(&mut self, addr: RemoteAddr, len: usize, kind: WatchKind) {
        self.watches
            .retain(|w| !(w.addr == addr && usize::from(w.len) == len && w.kind == kind));
    }

    pub fn set_breakpoint(&mut self, addr: RemoteAddr) {
        if self.breakpoints.insert(addr) && self.at.point != (Point::Start { steps: 0 }) {
            self.arrivals_known = false;
        }
    }

    pub fn remove_breakpoint(&mut self, addr: RemoteAddr) {
        self.breakpoints.remove(&addr);
        self.arrivals.remove(&addr);
    }

    pub fn checkpoints(&self) -> Vec<CheckpointInfo> {
        self.checkpoints
            .iter()
            .map(|c| CheckpointInfo {
                id: c.id,
                name: c.name.clone(),
                position: c.position,
            })
            .collect()
    }

    /// Takes a checkpoint here, by hand. Returns its id.
    pub fn checkpoint(&mut self, name: Option<String>) -> Result<usize> {
        self.begin_movement()?;
        if self.at.point == Point::End {
            return Err(Error::Program(
                "cannot take a checkpoint just before an event; step once first".into(),
            ));
        }
        if self.at.point != (Point::Start { steps: 0 }) && self.next_event_is_placed_signal() {
            return Err(Error::Program(
                "cannot take a checkpoint here: a signal placed by count arrives later in this interval".into(),
            ));
        }
        self.add_checkpoint(name)
    }

    /// Goes back (or forward) to a checkpoint taken earlier.
    pub fn restart(&mut self, id_or_name: &str) -> Result<StopReason> {
        self.begin_movement()?;
        let i = self
            .checkpoints
            .iter()
            .position(|c| c.id.to_string() == id_or_name || c.name.as_deref() == Some(id_or_name))
            .ok_or_else(|| Error::Program(format!("no checkpoint {id_or_name}")))?;
        self.restore(i)?;
        Ok(StopReason::Arrived)
    }

    /// Goes to the start of interval `event`: just after event `event - 1`.
    pub fn goto_event(&mut self, event: EventIdx) -> Result<StopReason> {
        let result = self.goto_event_uninterrupted(event);
        self.settle(result)
    }

    fn goto_event_uninterrupted(&mut self, event: EventIdx) -> Result<StopReason> {
        self.begin_movement()?;
        let last = self.last_start();
        let live_ahead = event > last && self.frontier.is_some() && self.interval_exists(event)?;
        if event.0 < 1 || (event > last && !live_ahead) {
            // Events are numbered from 0 (the program's start); the last
            // position is just after the last event that did not end the
            // program, which is why it is not the count of events.
            return Err(Error::Program(format!(
                "event {event} is outside the recording: goto reaches events 1 to {last} of its {} \
                 (event 0 starts the program, the ones after {last} end it)",
                self.log.len()
            )));
        }
        // An exec is replayed with the execve before it: the program's
        // start after an exec is the interval after the exec event.
        let event = if matches!(self.log.get(event), Some(Event::Exec(_))) {
            EventIdx(event.0 + 1)
        } else {
            event
        };
        self.goto(Position::start(event), None)?;
        Ok(StopReason::Arrived)
    }

    /// Goes to a position stored earlier.
    pub fn goto_position(&mut self, target: Position) -> Result<StopReason> {
        let result = self.goto_position_uninterrupted(target);
        self.settle(result)
    }

    fn goto_position_uninterrupted(&mut self, target: Position) -> Result<StopReason> {
        self.begin_movement()?;
        let exists = target.event <= self.log.len() || self.interval_exists(target.event)?;
        if target.event.0 < 1 || !exists {
            return Err(Error::Program(format!("position {target:?} is outside the recording")));
        }
        self.goto(target, None)?;
        Ok(StopReason::Arrived)
    }

    pub fn stepi(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        self.snapshot_watch_values()?;
        if self.at.point != Point::End {
            if !self.interval_exists(self.at.event)? {
                return Ok(StopReason::EndOfRecording);
            }
            match self.step_once(None)? {
                // The instruction was a syscall (or faulted, or a signal
                // came first): the step is the event.
                Halt::Event => self.at.point = Point::End,
                _ => {
                    self.at_stepped()?;
                    return Ok(match self.stepped_watch.take() {
                        Some(w) => w.stop(),
                        None => StopReason::Stepped,
                    });
                }
            }
        }
        if let Some(reason) = self.leave_end()? {
            return Ok(reason);
        }
        Ok(match self.changed_watch()? {
            Some(w) => w.stop(),
            None => StopReason::Stepped,
        })
    }

    pub fn cont(&mut self) -> Result<StopReason> {
        let result = self.cont_uninterrupted();
        self.settle(result)
    }

    fn cont_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        self.snapshot_watch_values()?;
        if self.at.point == Point::End {
            if let Some(reason) = self.after_event()? {
                return Ok(reason);
            }
        } else if !self.arrivals_known {
            let here = self.at;
            self.goto(here, None)?;
        }
        loop {
            if !self.interval_exists(self.at.event)? {
                return Ok(StopReason::EndOfRecording);
            }
            if self.take_interrupt() {
                return Ok(StopReason::Interrupted);
            }
            match self.run_within(Goal::Breakpoint, None)? {
                Halt::Breakpoint(addr) => {
                    self.at = Position::arrival(self.at.event, addr, self.arrivals[&addr], 0);
                    return Ok(StopReason::Breakpoint(addr));
                }
                Halt::Watch(watch) => {
                    self.at = Position {
                        event: self.at.event,
                        point: Point::Trigger {
                            watch,
                            nth: self.triggers[&watch],
                            steps: 0,
                        },
                    };
                    return Ok(watch.stop());
                }
                Halt::Event => {
                    self.at.point = Point::End;
                    if let Some(Event::Signal(s)) = self.log.get(self.at.event) {
                        return Ok(StopReason::Signal(s.signo));
                    }
                    if let Some(reason) = self.after_event()? {
                        return Ok(reason);
                    }
                }
                Halt::Stepped | Halt::Reached | Halt::Tick => {
                    unreachable!("a free run stops at breakpoints and events only")
                }
            }
        }
    }

    /// Replays the held event during a continue; `Some` when the continue
    /// stops right after it.
    fn after_event(&mut self) -> Result<Option<StopReason>> {
        if let Some(reason) = self.leave_end()? {
            return Ok(Some(reason));
        }
        if let Some(w) = self.changed_watch()? {
            return Ok(Some(w.stop()));
        }
        Ok(self.breakpoint_here()?.map(StopReason::Breakpoint))
    }

    pub fn reverse_stepi(&mut self) -> Result<StopReason> {
        let result = self.reverse_stepi_uninterrupted();
        self.settle(result)
    }

    fn reverse_stepi_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        match self.previous(self.at)? {
            Some(p) => {
                self.goto(p, None)?;
                Ok(StopReason::Stepped)
            }
            None => Ok(StopReason::StartOfRecording),
        }
    }

    /// Goes back to the last breakpoint hit or watched access strictly
    /// before here. For an access, the program stops before the
    /// instruction that made it.
    pub fn reverse_cont(&mut self) -> Result<StopReason> {
        let result = self.reverse_cont_uninterrupted();
        self.settle(result)
    }

    fn reverse_cont_uninterrupted(&mut self) -> Result<StopReason> {
        self.begin_movement()?;
        let here = self.at;
        if let Some(hit) = self.last_hit_by_number()? {
            self.goto(hit, None)?;
            return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
        }
        let mut upper = here;
        // A few steps past a named point: look at those steps one by one,
        // so that what comes before can be counted up to that point.
        let steps = match here.point {
            Point::Start { steps } | Point::Arrival { steps, .. } | Point::Trigger { steps, .. } => steps,
            Point::End => 0,
        };
        let base = here.with_steps(0);
        if steps > 0 && steps <= 10_000 && self.can_count_hits(base) {
            self.goto(base, None)?;
            let mut last = self.breakpoint_here()?.map(|_| base);
            for k in 1..steps {
                if let Halt::Event = self.step_once(None)? {
                    return Err(Error::Program(
                        "internal error: a stored position lies past its event".into(),
                    ));
                }
                if self.breakpoint_here()?.is_some() {
                    last = Some(base.with_steps(k));
                }
            }
            self.at = base.with_steps(steps - 1);
            self.arrivals_known = false;
            if let Some(hit) = last {
                self.goto(hit, None)?;
                return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
            }
            upper = base;
        }
        loop {
            let Some(i) = self.checkpoint_before(upper) else {
                self.goto(Position::start(EventIdx(1)), None)?;
                return Ok(StopReason::StartOfRecording);
            };
            if self.take_interrupt() {
                return Ok(StopReason::Interrupted);
            }
            let from = self.checkpoints[i].position;
            if self.can_count_hits(upper) {
                if let Some(hit) = self.last_arrival_counted(i, upper)? {
                    self.goto(hit, None)?;
                    return Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)));
                }
                upper = from;
                continue;
            }
            self.restore(i)?;
            self.snapshot_watch_values()?;
            let mut hits = Vec::new();
            if self.breakpoint_here()?.is_some() {
                hits.push(Hit::breakpoint(self.at));
            }
            self.goto(upper, Some(&mut hits))?;
            // An access found at `upper` itself was made by the instruction
            // before it, so it is before here; a breakpoint at `upper` is not.
            hits.retain(|h| h.watch.is_some() || (h.at != upper && h.at != here));
            if let Some(&last) = hits.last() {
                return match last.watch {
                    None => {
                        self.goto(last.at, None)?;
                        Ok(StopReason::Breakpoint(RemoteAddr(self.regs()?.rip)))
                    }
                    Some(watch) => {
                        let before = self
                            .previous(last.at)?
                            .expect("an access happens after the recording's start");
                        self.goto(before, None)?;
                        Ok(watch.stop())
                    }
                };
            }
            upper = from;
        }
    }

    /// The last breakpoint hit before here in this interval, found from the
    /// arrival counts here (every arrival at a breakpoint is a hit) without
    /// a scan; `None` when that cannot tell (counts unknown, watches, more
    /// than two breakpoints, or no hit in this interval).
    fn last_hit_by_number(&mut self) -> Result<Option<Position>> {
        if !self.arrivals_known
            || self.held.is_some()
            || !self.watches.is_empty()
            || self.breakpoints.is_empty()
            || self.breakpoints.len() > 2
        {
            return Ok(None);
        }
        let event = self.at.event;
        let mut last = Vec::new();
        for &addr in &self.breakpoints {
            // An arrival standing here is here, not before.
            let n = self.executions_done(addr)?;
            if n > 0 {
                last.push((addr, n));
            }
        }
        Ok(match last[..] {
            [] => None,
            [(addr, n)] => Some(Position::arrival(event, addr, n, 0)),
            [a, b] => Some(self.later_arrival(event, a, b)?),
            _ => None,
        })
    }

    /// Which of arrival `a.1` at `a.0` and arrival `b.1` at `b.0` comes
    /// later in interval `event`: b's is after a's if fewer than `b.1`
    /// arrivals at `b.0` had happened by a's. Leaves the program at a's.
    fn later_arrival(
        &mut self,
        event: EventIdx,
        (a, na): (RemoteAddr, u64),
        (b, nb): (RemoteAddr, u64),
    ) -> Result<Position> {
        let at_a = Position::arrival(event, a, na, 0);
        self.goto(at_a, None)?;
        Ok(if self.arrivals.get(&b).copied().unwrap_or(0) >= nb {
            at_a
        } else {
            Position::arrival(event, b, nb, 0)
        })
    }

    /// Whether a reverse scan up to `upper` can count breakpoint arrivals
    /// in the kernel instead of stopping at each: one breakpoint, no
    /// watches, perf counters available, and `upper` reachable by a counter.
    fn can_count_hits(&self, upper: Position) -> bool {
        (1..=WATCH_SLOTS.len()).contains(&self.breakpoints.len())
            && self.watches.is_empty()
            && crate::counter::backend() == crate::counter::Backend::PerfBreakpoint
            && matches!(
                upper.point,
                Point::Start { steps: 0 } | Point::Arrival { steps: 0, .. } | Point::End
            )
    }

    /// The last breakpoint hit strictly before `upper`, after checkpoint
    /// `i`, found by counting the arrivals at each breakpoint (one or two):
    /// the program runs at full speed however often it passes them (a loop
    /// hit millions of times costs one replay, not millions of stops).
    fn last_arrival_counted(&mut self, i: usize, upper: Position) -> Result<Option<Position>> {
        let addrs: Vec<RemoteAddr> = self.breakpoints.iter().copied().collect();
        self.restore(i)?;
        let mut last: Option<(EventIdx, Vec<(RemoteAddr, u64)>)> = None;
        loop {
            let final_interval = self.at.event == upper.event;
            let goal = match upper.point {
                _ if !final_interval => Some(Goal::End),
                Point::Arrival { addr, nth, .. } => Some(Goal::Arrival(addr, nth)),
                Point::End => Some(Goal::End),
                _ => None,
            };
            if let Some(goal) = goal {
                let mut counters = Vec::new();
                for (&addr, slot) in addrs.iter().zip(WATCH_SLOTS) {
                    counters.push(ExecCounter::arm(self.pid(), addr, None, slot)?);
                }
                let halt = self.run_within_opts(goal, None, false);
                let mut counts = Vec::new();
                for counter in counters {
                    counts.push(counter.count());
                    counter.disarm()?;
                }
                let mut counts: Vec<(RemoteAddr, u64)> = addrs
                    .iter()
                    .copied()
                    .zip(counts.into_iter().collect::<Result<Vec<u64>>>()?)
                    .collect();
                match (goal, halt?) {
                    (Goal::End, Halt::Event) => self.at.point = Point::End,
                    (Goal::Arrival(at, nth), Halt::Reached) => {
                        self.at = Position::arrival(self.at.event, at, nth, 0);
                        // Stopped before arrival `nth`, which is `upper`
                        // itself, whether or not the count saw it.
                        for (addr, count) in &mut counts {
                            if *addr == at {
                                *count = (*count).min(nth - 1);
                            }
                        }
                    }
                    _ => return Err(Error::Program("internal error: a counted run stopped early".into())),
                }
                counts.retain(|(_, n)| *n > 0);
                if !counts.is_empty() {
                    last = Some((self.at.event, counts));
                }
            }
            if final_interval || self.is_final(self.at.event)? {
                break;
            }
            self.apply_held()?;
        }
        let Some((event, counts)) = last else {
            return Ok(None);
        };
        Ok(Some(match counts[..] {
            [(addr, n)] => Position::arrival(event, addr, n, 0),
            [a, b, ..] => self.later_arrival(event, a, b)?,
            [] => unreachable!("only intervals with hits are kept"),
        }))
    }

    /// Every movement starts from the recorded state: changes made by hand
    /// are thrown away first.
    fn begin_movement(&mut self) -> Result<()> {
        // Divergence is fatal: the program no longer computes what it did,
        // so no later position would be the recorded one.
        if let Some(what) = self.log.divergence() {
            return Err(Error::Program(format!("this session cannot move any more: {what}")));
        }
        self.interrupted.store(false, Ordering::SeqCst);
        self.selected = None;
        // The last movement's writes may have made checkpoints' shared
        // pages their own (no index into the checkpoints is held here).
        self.keep_memory_budget(false);
        if self.scratch {
            self.scratch = false;
            let here = self.at;
            let i = self
                .checkpoint_before_or_at(here)
                .expect("the first checkpoint is at the start of the recording");
            self.restore(i)?;
            self.goto(here, None)?;
        }
        Ok(())
    }

    /// Turns a run interrupted mid-interval into a stop at that interval's
    /// start, a position that exists.
    fn settle(&mut self, result: Result<StopReason>) -> Result<StopReason> {
        // What the movement made the checkpoints hold on their own, checked
        // before the user looks.
        self.keep_memory_budget(true);
        match result {
            Err(Error::Interrupted) => {
                self.take_interrupt();
                // The live tracee ran on from `at`: no shortcut from here.
                self.arrivals_known = false;
                self.settling = true;
                let settled = self.goto(Position::start(self.at.event), None);
                self.settling = false;
                self.take_interrupt();
                settled.map(|()| StopReason::Interrupted)
            }
            other => other,
        }
    }

    fn take_interrupt(&self) -> bool {
        self.interrupted.swap(false, Ordering::SeqCst)
    }

    // ---- positions ----

    /// The position one instruction before `p`, or `None` at the start of
    /// the recording.
    fn previous(&mut self, p: Position) -> Result<Option<Position>> {
        match p.point {
            Point::Start { steps } | Point::Arrival { steps, .. } | Point::Trigger { steps, .. } if steps > 0 => {
                Ok(Some(p.with_steps(steps - 1)))
            }
            Point::Start { .. } => {
                if p.event.0 <= 1 {
                    return Ok(None);
                }
                // An exec has no interval end of its own: it is replayed with
                // the execve before it.
                if matches!(self.log.get(EventIdx(p.event.0 - 1)), Some(Event::Exec(_))) {
                    return self.previous(Position::start(EventIdx(p.event.0 - 1)));
                }
                Ok(Some(Position {
                    event: EventIdx(p.event.0 - 1),
                    point: Point::End,
                }))
            }
            Point::End => {
                match self.log.get(p.event) {
                    // (One placed by state is an arrival like any other end.)
                    Some(Event::Signal(s)) if s.kind == SignalKind::Asynchronous && s.at_state.is_none() => match s
                        .at_execution
                    {
                        // Delivered at the interval's start: nothing ran.
                        None => return self.previous(Position::start(p.event)),
                        Some(n) => return self.previous(Position::arrival(p.event, RemoteAddr(s.regs.rip()), n, 0)),
                    },
                    _ => {}
                }
                // The end is an arrival at the instruction that causes the
                // event; count which one.
                if self.at != p {
                    self.goto(p, None)?;
                }
                let rip = RemoteAddr(self.regs()?.rip);
                let nth = self.count_arrivals_to_end(p.event, rip)?;
                self.previous(Position::arrival(p.event, rip, nth, 0))
            }
            Point::Arrival { addr, nth, .. } => {
                if nth == 1 {
                    if let Some(before) = self.before_first_arrival(p.event, addr)? {
                        return Ok(Some(before));
                    }
                }
                let base = if nth > 1 {
                    Position::arrival(p.event, addr, nth - 1, 0)
                } else {
                    Position::start(p.event)
                };
                self.goto(base, None)?;
                self.cache_steps_base()?;
                let mut steps = 0;
                if self.regs()?.rip != addr.0 || nth > 1 {
                    loop {
                        if let Some(e) = self.search_limit(steps) {
                            return Err(e);
                        }
                        match self.step_once(None)? {
                            Halt::Event => {
                                return Err(Error::Program(format!(
                                    "internal error: no arrival {nth} at {addr} in interval {}",
                                    p.event
                                )))
                            }
                            _ => steps += 1,
                        }
                        if self.live.tracee().regs()?.rip == addr.0 {
                            break;
                        }
                    }
                }
                // The live tracee ran ahead of any position; make it honest.
                self.at = base.with_steps(steps);
                self.arrivals_known = false;
                if steps == 0 {
                    return self.previous(Position::start(p.event));
                }
                Ok(Some(base.with_steps(steps - 1)))
            }
            Point::Trigger { watch, nth, .. } => {
                // The instruction before a trigger is the access itself:
                // step from the trigger before it until the watch fires.
                let base = if nth > 1 {
                    Position {
                        point: Point::Trigger {
                            watch,
                            nth: nth - 1,
                            steps: 0,
                        },
                        ..p
                    }
                } else {
                    Position::start(p.event)
                };
                self.goto(base, None)?;
                self.cache_steps_base()?;
                self.goal_watch = Some(watch);
                let found = self.step_until_trigger(watch, nth);
                self.goal_watch = None;
                let steps = found?;
                self.at = base.with_steps(steps);
                self.arrivals_known = false;
                Ok(Some(base.with_steps(steps - 1)))
            }
        }
    }

    /// Ends a single-stepping search `steps` past `self.at` (at a point
    /// with no steps of its own) when it is too long or interrupted,
    /// leaving the position honest.
    fn search_limit(&mut self, steps: u64) -> Option<Error> {
        let why = if steps >= STEP_LIMIT {
            format!(
                "the instruction before this one is more than {STEP_LIMIT} instructions after the \
                 last point rback can find again (the last event or breakpoint arrival); \
                 reverse stepping cannot reach it"
            )
        } else if steps % 1024 == 1023 && self.take_interrupt() {
            "interrupted".to_string()
        } else {
            return None;
        };
        self.at = self.at.with_steps(steps);
        self.arrivals_known = false;
        Some(Error::Program(why))
    }

    /// Keeps a fork of the live tracee, which stands on a point that took
    /// a long replay to reach: the reverse steps that follow (gdb makes a
    /// reverse-next of many) start from it instead.
    fn cache_steps_base(&mut self) -> Result<()> {
        if self.at_interval_start() && self.has_checkpoint_at(self.at) {
            return Ok(());
        }
        if self
            .step_cache
            .as_ref()
            .is_some_and(|c| c.checkpoint.position == self.at)
        {
            return Ok(());
        }
        self.step_cache = Some(StepCache {
            checkpoint: Checkpoint {
                id: 0,
                name: None,
                position: self.at,
                session: self.live.fork()?,
                counts: None,
            },
            breakpoints: self.breakpoints.clone(),
            watches: self.watches.clone(),
            arrivals: self.arrivals.clone(),
            triggers: self.triggers.clone(),
        });
        Ok(())
    }

    /// The position just before the first arrival at `addr` in interval
    /// `event`, when the interval is too long to single-step from its
    /// start (`None`: step from the start). A tick during the run to that
    /// arrival names an instruction R that ran shortly before; the last
    /// execution of R before the arrival is then a few steps from it (R is
    /// typically in the loop the stretch was spent in).
    fn before_first_arrival(&mut self, event: EventIdx, addr: RemoteAddr) -> Result<Option<Position>> {
        if placed_by_count(self.log.get(event)) || crate::counter::backend() != crate::counter::Backend::PerfBreakpoint
        {
            return Ok(None);
        }
        self.goto(Position::start(event), None)?;
        if self.regs()?.rip == addr.0 {
            return Ok(None);
        }
        // 1. Run to the arrival, remembering where the last tick stopped;
        // if none came, again with ticks an eighth of the run's time apart.
        let mut every = ANCHOR_EVERY;
        let mut last_tick = None;
        for _ in 0..5 {
            let started = Instant::now();
            last_tick = self.last_tick_before(event, addr, every)?;
            if last_tick.is_some() {
                break;
            }
            every = (started.elapsed() / 8).max(Duration::from_micros(20));
            self.goto(Position::start(event), None)?;
        }
        let Some(r) = last_tick.filter(|r| *r != addr) else {
            return Ok(None);
        };
        // 2. How often R ran before the arrival.
        self.goto(Position::start(event), None)?;
        let counter = ExecCounter::arm(self.pid(), r, None, WATCH_SLOTS[0])?;
        let run = self.run_within_opts(Goal::Arrival(addr, 1), None, false);
        let count = counter.count();
        counter.disarm()?;
        self.arrivals_known = false;
        match run? {
            Halt::Reached => {}
            _ => {
                return Err(Error::Program(format!(
                    "internal error: no arrival at {addr} in interval {event}"
                )))
            }
        }
        let count = count?;
        if count == 0 {
            return Ok(None);
        }
        // 3. From R's last run, step to the arrival.
        let base = Position::arrival(event, r, count, 0);
        self.goto(base, None)?;
        self.cache_steps_base()?;
        let mut steps = 0;
        while self.live.tracee().regs()?.rip != addr.0 {
            if let Some(e) = self.search_limit(steps) {
                return Err(e);
            }
            if let Halt::Event = self.step_once(None)? {
                return Err(Error::Program(format!(
                    "internal error: no arrival at {addr} in interval {event}"
                )));
            }
            steps += 1;
        }
        self.at = base.with_steps(steps);
        self.arrivals_known = false;
        if steps == 0 {
            return Ok(None);
        }
        Ok(Some(base.with_steps(steps - 1)))
    }

    /// Runs from the start of interval `event` to the first arrival at
    /// `addr` with a ticker `every` apart; the rip of the last tick.
    fn last_tick_before(&mut self, event: EventIdx, addr: RemoteAddr, every: Duration) -> Result<Option<RemoteAddr>> {
        let saved = std::mem::take(&mut self.breakpoints);
        let mut last_tick = None;
        let found = self.with_ticks(Some(every), |this| {
            this.counter = Some(ExecCounter::arm(this.pid(), addr, Some(1), COUNTER_SLOT)?);
            loop {
                match this.run_loop(Goal::Arrival(addr, 1), None)? {
                    Halt::Tick => {
                        let rip = this.live.tracee().regs()?.rip;
                        // The counter's signal may have merged into the tick's.
                        let counted = this.counter.as_ref().map_or(Ok(0), |c| c.count())?;
                        if rip == addr.0 && counted >= 1 {
                            return Ok(());
                        }
                        last_tick = Some(RemoteAddr(rip));
                    }
                    Halt::Reached => return Ok(()),
                    _ => {
                        return Err(Error::Program(format!(
                            "internal error: no arrival at {addr} in interval {event}"
                        )))
                    }
                }
            }
        });
        if let Some(counter) = self.counter.take() {
            counter.disarm()?;
        }
        self.breakpoints = saved;
        self.arrivals_known = false;
        found?;
        Ok(last_tick)
    }

    /// Runs `f` with the ticker signalling the live tracee every `every`
    /// (no ticker with `None`); stray ticks afterwards are dropped.
    fn with_ticks<T>(&mut self, every: Option<Duration>, f: impl FnOnce(&mut Timeline) -> Result<T>) -> Result<T> {
        let ticker = every.map(|every| Ticker::start(self.running.clone(), self.tick.clone(), every));
        self.ticks_wanted = ticker.is_some();
        let result = f(self);
        self.ticks_wanted = false;
        drop(ticker);
        self.tick.store(false, Ordering::SeqCst);
        result
    }

    /// Single-steps until `watch` has triggered `nth` times in this
    /// interval; returns the steps taken.
    fn step_until_trigger(&mut self, watch: Watch, nth: u64) -> Result<u64> {
        let mut steps = 0;
        while self.triggers.get(&watch).copied().unwrap_or(0) < nth {
            if let Some(e) = self.search_limit(steps) {
                return Err(e);
            }
            if let Halt::Event = self.step_once(None)? {
                return Err(Error::Program(format!(
                    "internal error: no trigger {nth} of the watch at {} in interval {}",
                    watch.addr, self.at.event
                )));
            }
            steps += 1;
        }
        Ok(steps)
    }

    /// How many times the program arrived at `addr` in interval `event`,
    /// up to and including the interval's end.
    fn count_arrivals_to_end(&mut self, event: EventIdx, addr: RemoteAddr) -> Result<u64> {
        self.goto(Position::start(event), None)?;
        self.counter = Some(ExecCounter::arm(self.pid(), addr, None, COUNTER_SLOT)?);
        let halt = self.run_loop(Goal::End, None);
        let counter = self.counter.take().expect("armed above");
        let count = counter.count();
        counter.disarm()?;
        match halt? {
            Halt::Event => self.at.point = Point::End,
            _ => unreachable!("a run to the end stops at the event"),
        }
        count
    }

    // ---- moving the live tracee ----

    /// Makes `target` the current position, replaying from the best
    /// checkpoint (or on from here when the target is in a later interval).
    /// Breakpoint arrivals passed on the way, before the target, are pushed
    /// to `hits` when given.
    fn goto(&mut self, target: Position, mut hits: Option<&mut Vec<Hit>>) -> Result<()> {
        let from_here = hits.is_some() || target.event > self.at.event;
        if !from_here {
            // A few single steps from here or from the step cache beat a
            // replay from the interval's start, when the arrival counts are
            // known there (`cont` comes here to recount them).
            if let (true, Some(steps)) = (self.arrivals_known, steps_between(self.at, target)) {
                self.steps_recording(steps, None)?;
                self.at = target;
                return Ok(());
            }
            let cached = self.step_cache.as_mut().and_then(|c| {
                let steps = steps_between(c.checkpoint.position, target)?;
                let counts_valid = c.breakpoints == self.breakpoints && c.watches == self.watches;
                counts_valid.then_some((c, steps))
            });
            if let Some((cached, steps)) = cached {
                let session = cached.checkpoint.session.fork()?;
                let position = cached.checkpoint.position;
                let (arrivals, triggers) = (cached.arrivals.clone(), cached.triggers.clone());
                self.restore_session(session, position)?;
                self.arrivals = arrivals;
                self.triggers = triggers;
                self.arrivals_known = true;
                self.steps_recording(steps, None)?;
                self.at = target;
                return Ok(());
            }
            if let Some(i) = self.anchor_for(target) {
                self.restore(i)?;
                self.arrivals = self.checkpoints[i].counts.clone().expect("an anchor has counts");
                self.arrivals_known = true;
            } else {
                let i = self
                    .checkpoint_before_or_at(target)
                    .expect("the first checkpoint is at the start of the recording");
                self.restore(i)?;
            }
        }
        while self.at.event < target.event {
            if self.at.point != Point::End {
                let recording = hits.is_some();
                match self.run_within_opts(Goal::End, hits.as_deref_mut(), recording)? {
                    Halt::Event => self.at.point = Point::End,
                    _ => unreachable!("a run to the end stops at the event"),
                }
            }
            if self.is_final(self.at.event)? {
                return Err(Error::Program(format!(
                    "event {} is past the end of the recording",
                    target.event
                )));
            }
            self.apply_held()?;
            if let Some(h) = hits.as_deref_mut() {
                if let Some(watch) = self.changed_watch()? {
                    h.push(Hit {
                        at: self.at,
                        watch: Some(watch),
                    });
                }
                if self.breakpoint_here()?.is_some() {
                    h.push(Hit::breakpoint(self.at));
                }
            }
        }
        match target.point {
            Point::Start { steps } => {
                self.steps_recording(steps, hits)?;
            }
            Point::Arrival { addr, nth, steps } => {
                let rip = RemoteAddr(self.live.tracee().regs()?.rip);
                // Already standing on it: the interval's start or an anchor.
                let here = rip == addr && (nth == 1 || self.arrivals.get(&addr) == Some(&nth));
                if !here {
                    match self.run_within(Goal::Arrival(addr, nth), hits.as_deref_mut())? {
                        Halt::Reached => {}
                        _ => {
                            return Err(Error::Program(format!(
                                "internal error: arrival {nth} at {addr} not found in interval {}",
                                target.event
                            )))
                        }
                    }
                }
                self.steps_recording(steps, hits)?;
            }
            Point::Trigger { watch, nth, steps } => {
                match self.run_within(Goal::Trigger(watch, nth), hits.as_deref_mut())? {
                    Halt::Reached => {}
                    _ => {
                        return Err(Error::Program(format!(
                            "internal error: trigger {nth} of the watch at {} not found in interval {}",
                            watch.addr, target.event
                        )))
                    }
                }
                self.steps_recording(steps, hits)?;
            }
            Point::End => match self.run_within(Goal::End, hits)? {
                Halt::Event => {}
                _ => unreachable!("a run to the end stops at the event"),
            },
        }
        self.at = target;
        self.arrivals_known = true;
        Ok(())
    }

    /// Single-steps `steps` times; arrivals on the way go to `hits`.
    fn steps_recording(&mut self, steps: u64, mut hits: Option<&mut Vec<Hit>>) -> Result<()> {
        for _ in 0..steps {
            if let Halt::Event = self.step_once(hits.as_deref_mut())? {
                return Err(Error::Program(
                    "internal error: a stored position lies past its interval's event".into(),
                ));
            }
        }
        // Arriving at a breakpoint by the last step is the target itself,
        // not a hit before it.
        if steps > 0 {
            if let Some(h) = hits {
                let here = RemoteAddr(self.live.tracee().regs()?.rip);
                if let Some(i) = h.iter().rposition(|hit| hit.watch.is_none()) {
                    if self.breakpoints.contains(&here)
                        && h[i].at.point
                            == (Point::Arrival {
                                addr: here,
                                nth: self.arrivals[&here],
                                steps: 0,
                            })
                    {
                        h.remove(i);
                    }
                }
            }
        }
        Ok(())
    }

    fn run_within(&mut self, goal: Goal, hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        self.run_within_opts(goal, hits, true)
    }

    /// Runs the live tracee inside the current interval toward `goal`.
    /// `use_breakpoints: false` runs without them (faster, and nothing is
    /// counted), for intervals that are only passed through.
    fn run_within_opts(&mut self, goal: Goal, hits: Option<&mut Vec<Hit>>, use_breakpoints: bool) -> Result<Halt> {
        if hits.is_none() && use_breakpoints && self.can_count_arrivals(goal) {
            return self.run_counted(goal);
        }
        let saved = std::mem::take(&mut self.breakpoints);
        let saved_watches = std::mem::take(&mut self.watches);
        if use_breakpoints {
            self.breakpoints = saved.clone();
            self.watches = saved_watches.clone();
        }
        if let Goal::Trigger(watch, _) = goal {
            self.goal_watch = Some(watch);
        }
        let result = match goal {
            // Resuming on `addr` counts the arrival that is there: the
            // counter sees every execution from the interval's start.
            Goal::Arrival(addr, nth) if !self.breakpoints.contains(&addr) && hits.is_none() => {
                self.run_to_arrival(addr, nth, &[], &[])
            }
            Goal::Arrival(addr, nth) if !self.breakpoints.contains(&addr) => {
                let left = nth - self.executions_done(addr)?;
                self.counter = Some(ExecCounter::arm(self.pid(), addr, Some(left), COUNTER_SLOT)?);
                let r = self.run_loop(goal, hits);
                self.counter.take().expect("armed above").disarm()?;
                r
            }
            _ => self.run_loop(goal, hits),
        };
        self.breakpoints = saved;
        self.watches = saved_watches;
        self.goal_watch = None;
        result
    }

    /// Whether a run toward `goal` can count breakpoint arrivals with perf
    /// counters instead of stopping at int3s: from the interval's start,
    /// no watches, and few enough breakpoints for the debug registers.
    fn can_count_arrivals(&self, goal: Goal) -> bool {
        let others = self
            .breakpoints
            .iter()
            .filter(|a| !matches!(goal, Goal::Arrival(g, _) if g == **a))
            .count();
        matches!(goal, Goal::Arrival(..) | Goal::End)
            && !self.breakpoints.is_empty()
            && others <= WATCH_SLOTS.len()
            && self.at_interval_start()
            && self.held.is_none()
            && self.watches.is_empty()
            && self.goal_watch.is_none()
            && crate::counter::backend() == crate::counter::Backend::PerfBreakpoint
    }

    /// A run toward `goal` at full speed however often it passes the
    /// breakpoints (a loop can arrive at one millions of times): the
    /// kernel counts the arrivals, so `arrivals` is complete afterwards.
    fn run_counted(&mut self, goal: Goal) -> Result<Halt> {
        let others: Vec<RemoteAddr> = self
            .breakpoints
            .iter()
            .copied()
            .filter(|a| !matches!(goal, Goal::Arrival(g, _) if g == *a))
            .collect();
        let mut counters = Vec::new();
        for (&addr, slot) in others.iter().zip(WATCH_SLOTS) {
            counters.push(ExecCounter::arm(self.pid(), addr, None, slot)?);
        }
        let saved = std::mem::take(&mut self.breakpoints);
        let result = match goal {
            Goal::Arrival(addr, nth) => self.run_to_arrival(addr, nth, &others, &counters),
            _ => self.run_loop(goal, None),
        };
        self.breakpoints = saved;
        let mut counts = Vec::new();
        for counter in counters {
            counts.push(counter.count());
            counter.disarm()?;
        }
        let halt = result?;
        // The counts start at the interval's start and include an arrival
        // there, as `arrivals` does.
        for (addr, count) in others.into_iter().zip(counts) {
            self.arrivals.insert(addr, count?);
        }
        if let Goal::Arrival(addr, nth) = goal {
            if self.breakpoints.contains(&addr) {
                self.arrivals.insert(addr, nth);
            }
        }
        Ok(halt)
    }

    /// A counted run to the `nth` arrival at `addr` that leaves anchors on
    /// the way (see [`Timeline::run_to_arrival_anchoring`]).
    fn run_to_arrival(
        &mut self,
        addr: RemoteAddr,
        nth: u64,
        others: &[RemoteAddr],
        counters: &[ExecCounter],
    ) -> Result<Halt> {
        // An anchor there would restart the count the signal placement
        // relies on (see `Timeline::checkpoint`).
        let every = (!self.next_event_is_placed_signal()).then_some(ANCHOR_EVERY);
        self.with_ticks(every, |this| this.run_to_arrival_anchoring(addr, nth, others, counters))
    }

    /// Runs to the `nth` arrival at `addr` with a counter, and on the way,
    /// each time the ticker fires, to the next arrival at `addr`, where it
    /// leaves an anchor: a checkpoint whose arrival counts (`addr`'s and
    /// those of `others`, counted by `counters`) are known, so that later
    /// runs to arrivals at `addr` start from the last anchor before them
    /// instead of from the interval's start.
    fn run_to_arrival_anchoring(
        &mut self,
        addr: RemoteAddr,
        nth: u64,
        others: &[RemoteAddr],
        counters: &[ExecCounter],
    ) -> Result<Halt> {
        let mut done = self.executions_done(addr)?;
        loop {
            let counter = ExecCounter::arm(self.pid(), addr, Some(nth - done), COUNTER_SLOT)?;
            self.counter = Some(counter);
            let halt = self.run_loop(Goal::Arrival(addr, nth), None);
            let counter = self.counter.take().expect("armed above");
            let ran = counter.count();
            counter.disarm()?;
            match halt? {
                Halt::Tick => done += ran?,
                other => return Ok(other),
            }
            // The counter's own signal can merge into the tick's (one
            // SIGSTKFLT pending at a time): then the goal is reached.
            if done + 1 >= nth {
                if done >= nth {
                    return Ok(Halt::Reached);
                }
                continue;
            }
            // The next arrival is named and near: put an anchor there.
            let counter = ExecCounter::arm(self.pid(), addr, Some(1), COUNTER_SLOT)?;
            self.counter = Some(counter);
            let halt = self.run_loop(Goal::Arrival(addr, done + 1), None);
            self.counter.take().expect("armed above").disarm()?;
            match halt? {
                Halt::Reached => {}
                Halt::Tick => continue,
                other => return Ok(other),
            }
            // Breakpoints are counted either by int3 (in `arrivals`) or, in a
            // counted run, by `counters`.
            let mut counts = self.arrivals.clone();
            for (&other, counter) in others.iter().zip(counters) {
                counts.insert(other, counter.count()?);
            }
            counts.insert(addr, done + 1);
            self.add_anchor(Position::arrival(self.at.event, addr, done + 1, 0), counts)?;
        }
    }

    /// How many times the instruction at `addr` has run in this interval,
    /// from `arrivals` (an arrival standing at `addr` has not run yet).
    fn executions_done(&self, addr: RemoteAddr) -> Result<u64> {
        let arrived = self.arrivals.get(&addr).copied().unwrap_or(0);
        let standing = self.live.tracee().regs()?.rip == addr.0 && arrived > 0;
        Ok(arrived - u64::from(standing))
    }

    fn add_anchor(&mut self, position: Position, counts: HashMap<RemoteAddr, u64>) -> Result<()> {
        let session = self.live.fork()?;
        let id = self.next_checkpoint_id;
        self.next_checkpoint_id += 1;
        let i = self
            .checkpoints
            .iter()
            .position(|c| c.position.event > position.event)
            .unwrap_or(self.checkpoints.len());
        self.checkpoints.insert(
            i,
            Checkpoint {
                id,
                name: None,
                position,
                session,
                counts: Some(counts),
            },
        );
        if self.checkpoints.iter().filter(|c| c.counts.is_some()).count() > MAX_ANCHORS {
            self.thin(|c| c.counts.is_some());
        }
        Ok(())
    }

    /// The anchor to start a run to `target` from: the last one at an
    /// earlier arrival at the same address in the same interval, with the
    /// counts of every breakpoint.
    fn anchor_for(&self, target: Position) -> Option<usize> {
        let Point::Arrival { addr, nth, .. } = target.point else {
            return None;
        };
        if !self.watches.is_empty() || self.goal_watch.is_some() {
            return None;
        }
        (0..self.checkpoints.len())
            .filter(|&i| {
                let c = &self.checkpoints[i];
                let Some(counts) = &c.counts else { return false };
                c.position.event == target.event
                    && matches!(c.position.point, Point::Arrival { addr: a, nth: k, steps: 0 } if a == addr && k <= nth)
                    && self.breakpoints.iter().all(|b| counts.contains_key(b))
            })
            .max_by_key(|&i| match self.checkpoints[i].position.point {
                Point::Arrival { nth, .. } => nth,
                _ => 0,
            })
    }

    fn at_interval_start(&self) -> bool {
        self.at.point == (Point::Start { steps: 0 })
    }

    fn run_loop(&mut self, goal: Goal, hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        let result = self.run_loop_published(goal, hits);
        self.running.store(0, Ordering::SeqCst);
        result
    }

    /// [`Timeline::run_loop`], which publishes the live pid while the
    /// program runs freely.
    fn run_loop_published(&mut self, goal: Goal, mut hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        loop {
            // Standing on a breakpoint's address: that arrival was already
            // seen, so execute the instruction before putting int3s back.
            let rip = RemoteAddr(self.live.tracee().regs()?.rip);
            if self.held.is_none() && self.breakpoints.contains(&rip) {
                match self.step_once(hits.as_deref_mut())? {
                    Halt::Event => return Ok(Halt::Event),
                    _ => {
                        let here = RemoteAddr(self.live.tracee().regs()?.rip);
                        if self.breakpoints.contains(&here) {
                            if let Some(h) = self.goal_met(goal, here) {
                                return Ok(h);
                            }
                        }
                        continue;
                    }
                }
            }
            self.sync_watches()?;
            self.insert_breakpoints()?;
            self.running.store(self.pid().as_raw(), Ordering::SeqCst);
            self.live.resume(Resume::Cont)?;
            loop {
                let stop = self.live.tracee().wait()?;
                match stop {
                    Stop::Signal(sig) if self.is_interrupt(sig)? => {
                        self.remove_breakpoints()?;
                        return Err(Error::Interrupted);
                    }
                    Stop::Signal(sig) if self.is_tick(sig)? => {
                        self.tick.store(false, Ordering::SeqCst);
                        if self.ticks_wanted {
                            self.remove_breakpoints()?;
                            return Ok(Halt::Tick);
                        }
                        self.live.resume(Resume::Cont)?;
                    }
                    Stop::Signal(sig) => {
                        let info = self.live.tracee().siginfo()?;
                        if sig == libc::SIGTRAP && si_code(&info) == SI_KERNEL {
                            let mut regs = self.live.tracee().regs()?;
                            let bp = RemoteAddr(regs.rip.wrapping_sub(1));
                            if self.inserted.iter().any(|(a, _)| *a == bp) {
                                self.remove_breakpoints()?;
                                regs.rip = bp.0;
                                self.live.tracee().set_regs(&regs)?;
                                self.arrive(bp, hits.as_deref_mut());
                                if let Some(h) = self.goal_met(goal, bp) {
                                    return Ok(h);
                                }
                                break;
                            }
                        }
                        let fired = if sig == libc::SIGTRAP && si_code(&info) == crate::replay::TRAP_HWBKPT {
                            self.take_triggers()?
                        } else {
                            Vec::new()
                        };
                        if !fired.is_empty() {
                            let reported = self.note_triggers(&fired, hits.as_deref_mut())?;
                            let halt = match (goal, reported) {
                                (Goal::Trigger(w, nth), _) if self.triggers.get(&w) == Some(&nth) => {
                                    Some(Halt::Reached)
                                }
                                (Goal::Breakpoint, Some(w)) => Some(Halt::Watch(w)),
                                _ => None,
                            };
                            if let Some(halt) = halt {
                                self.remove_breakpoints()?;
                                return Ok(halt);
                            }
                        }
                        match self.counter_stop(sig, &info)? {
                            Some(CounterStop::Counted) => {
                                self.live.resume(Resume::Cont)?;
                                continue;
                            }
                            Some(CounterStop::Reached) => {
                                self.remove_breakpoints()?;
                                return Ok(Halt::Reached);
                            }
                            None if !fired.is_empty() => {
                                self.live.resume(Resume::Cont)?;
                                continue;
                            }
                            None => {}
                        }
                        if self.live.is_signal_event(sig, si_code(&info)) {
                            self.remove_breakpoints()?;
                            self.held = Some(stop);
                            return Ok(Halt::Event);
                        }
                        self.pass_to_session(stop)?;
                    }
                    Stop::Seccomp => {
                        self.remove_breakpoints()?;
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    Stop::EventStop(_) if self.live.switch_armed() => {
                        self.remove_breakpoints()?;
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    other => self.pass_to_session(other)?,
                }
            }
        }
    }

    /// Whether a signal stop is the anchor ticker's.
    fn is_tick(&self, sig: i32) -> Result<bool> {
        if sig != crate::counter::COUNTER_SIGNAL || !self.tick.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let info = self.live.tracee().siginfo()?;
        Ok(si_code(&info) == libc::SI_TKILL)
    }

    /// Whether a signal stop is an [`Interrupter`]'s, sent by rback itself.
    fn is_interrupt(&self, sig: i32) -> Result<bool> {
        if sig != crate::counter::COUNTER_SIGNAL || self.settling || !self.interrupted.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let info = self.live.tracee().siginfo()?;
        Ok(si_code(&info) == libc::SI_TKILL)
    }

    fn counter_stop(&mut self, sig: i32, info: &crate::sys::SiginfoBytes) -> Result<Option<CounterStop>> {
        match self.counter.as_mut() {
            Some(c) => c.on_signal_stop(sig, info),
            None => Ok(None),
        }
    }

    /// Stops of the replay's own machinery (its signal placement, strays):
    /// the session deals with them and lets the tracee run on.
    fn pass_to_session(&mut self, stop: Stop) -> Result<()> {
        match self.live.handle(stop)? {
            Step::Continue => Ok(()),
            Step::Finished(_) => Err(Error::Program("the program ended in the middle of an interval".into())),
            Step::Boundary | Step::Located(_) => Err(Error::Program(format!(
                "internal error: unexpected replay step at {stop:?}"
            ))),
        }
    }

    fn goal_met(&self, goal: Goal, at: RemoteAddr) -> Option<Halt> {
        match goal {
            Goal::Breakpoint => Some(Halt::Breakpoint(at)),
            Goal::Arrival(addr, nth) if addr == at && self.arrivals.get(&addr) == Some(&nth) => Some(Halt::Reached),
            _ => None,
        }
    }

    /// Executes one instruction (breakpoints out). An event instead of an
    /// instruction (a syscall, a fault, a pending signal) is held.
    fn step_once(&mut self, mut hits: Option<&mut Vec<Hit>>) -> Result<Halt> {
        self.stepped_watch = None;
        self.sync_watches()?;
        self.live.resume(Resume::Step)?;
        loop {
            let stop = self.live.tracee().wait()?;
            match stop {
                Stop::Seccomp => {
                    self.held = Some(stop);
                    return Ok(Halt::Event);
                }
                Stop::Signal(sig) => {
                    let info = self.live.tracee().siginfo()?;
                    let code = si_code(&info);
                    let fired = if sig == libc::SIGTRAP {
                        self.take_triggers()?
                    } else {
                        Vec::new()
                    };
                    // The access was made by the instruction just executed.
                    if !fired.is_empty() {
                        self.stepped_watch = self.note_triggers(&fired, hits.as_deref_mut())?;
                    }
                    if let Some(CounterStop::Counted) = self.counter_stop(sig, &info)? {
                        // Stopped before an instruction, not after one.
                        self.live.resume(Resume::Step)?;
                        continue;
                    }
                    // A step that also fires a watch may report either code.
                    if sig == libc::SIGTRAP && (code != crate::replay::TRAP_HWBKPT || !fired.is_empty()) {
                        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
                        self.arrive(rip, hits);
                        return Ok(Halt::Stepped);
                    }
                    if self.live.is_signal_event(sig, code) {
                        self.held = Some(stop);
                        return Ok(Halt::Event);
                    }
                    self.pass_to_session(stop)?;
                }
                Stop::EventStop(_) if self.live.switch_armed() => {
                    self.held = Some(stop);
                    return Ok(Halt::Event);
                }
                other => self.pass_to_session(other)?,
            }
        }
    }

    /// Counts an arrival at `addr` if it is a breakpoint.
    fn arrive(&mut self, addr: RemoteAddr, hits: Option<&mut Vec<Hit>>) {
        if !self.breakpoints.contains(&addr) {
            return;
        }
        let n = self.arrivals.entry(addr).or_insert(0);
        *n += 1;
        if let Some(h) = hits {
            h.push(Hit::breakpoint(Position::arrival(self.at.event, addr, *n, 0)));
        }
    }

    fn at_stepped(&mut self) -> Result<()> {
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        self.at = match self.at.point {
            _ if self.arrivals_known && self.breakpoints.contains(&rip) => {
                Position::arrival(self.at.event, rip, self.arrivals[&rip], 0)
            }
            Point::Start { steps } => Position {
                point: Point::Start { steps: steps + 1 },
                ..self.at
            },
            Point::Arrival { addr, nth, steps } => Position::arrival(self.at.event, addr, nth, steps + 1),
            Point::Trigger { watch, nth, steps } => Position {
                point: Point::Trigger {
                    watch,
                    nth,
                    steps: steps + 1,
                },
                ..self.at
            },
            Point::End => unreachable!("stepping from an end replays the event"),
        };
        Ok(())
    }

    /// Replays the held event: the program moves to the next interval.
    fn apply_held(&mut self) -> Result<()> {
        if let Some(recording) = &self.frontier {
            if !recording.record_through(self.at.event, &self.interrupted)? {
                return Err(Error::Program("the program ended".into()));
            }
        }
        let stop = self.held.take().expect("an interval's end holds its event's stop");
        match self.live.handle(stop)? {
            Step::Boundary => {}
            Step::Finished(_) => return Err(Error::Program("the program ended".into())),
            Step::Continue | Step::Located(_) => {
                return Err(Error::Program(format!(
                    "internal error: event {} did not complete",
                    self.at.event
                )))
            }
        }
        self.show_live_output(self.at.event);
        // Usually one event; an execve's syscall and the exec it made are
        // replayed together.
        self.at = Position::start(self.live.next_event_index());
        self.arrivals.clear();
        self.triggers.clear();
        self.arrivals_known = true;
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        self.arrive(rip, None);
        if self.has_checkpoint_at(self.at) {
            self.cpu_mark = self.live_cpu_ns();
            return Ok(());
        }
        let last_auto = self
            .checkpoints
            .iter()
            .filter(|c| is_auto(c))
            .map(|c| c.position.event.0)
            .filter(|e| *e <= self.at.event.0)
            .max()
            .unwrap_or(0);
        let since = self.at.event.0 - last_auto;
        // The CPU time is read every few events, and after any event that
        // took long to reach (a long syscall-free stretch).
        let check_cpu = since.is_multiple_of(CPU_CHECK_EVENTS) || self.last_cpu_check.elapsed() >= CPU_CHECK_AFTER;
        let due = since >= self.policy.every_events
            || (check_cpu && {
                self.last_cpu_check = Instant::now();
                self.live_cpu_ns().saturating_sub(self.cpu_mark) >= self.policy.every_cpu.as_nanos() as u64
            });
        if due && self.live.can_fork() {
            self.add_checkpoint(None)?;
        }
        Ok(())
    }

    /// CPU time the live program has used, in ns (a fresh fork starts at
    /// zero); 0 when the kernel does not say.
    fn live_cpu_ns(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/schedstat", self.pid()))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The memory all checkpoints hold: the pages each holds alone (its
    /// private dirty pages), which is what dropping it would give back.
    /// Pages a checkpoint still shares with the live program or another
    /// checkpoint cost nothing more than the program itself.
    pub fn checkpoint_memory(&self) -> u64 {
        self.held_sessions().map(|s| private_memory(s.tracee().pid)).sum()
    }

    /// Every process the timeline keeps besides the live one: the
    /// checkpoints and the step cache's.
    fn held_sessions(&self) -> impl Iterator<Item = &ReplaySession> {
        self.checkpoints
            .iter()
            .map(|c| &c.session)
            .chain(self.step_cache.iter().map(|c| &c.checkpoint.session))
    }

    /// Keeps the checkpoints' memory under the budget, dropping the step
    /// cache, then anchors and automatic checkpoints (thinned, then the
    /// newest ones but the first) until it is. Resident sizes bound the
    /// private ones from above and cost nothing to read; the private size
    /// walks every page table (tens of milliseconds per GiB), so it is
    /// measured at most a fifth of the time while a movement runs (when a
    /// checkpoint is taken), and `every_time` a movement ends, before the
    /// user looks: the live program's writes are what make a checkpoint's
    /// shared pages its own.
    fn keep_memory_budget(&mut self, every_time: bool) {
        let budget = self.policy.memory_budget;
        let resident: u64 = self.held_sessions().map(|s| resident(s.tracee().pid)).sum();
        if resident <= budget || (!every_time && Instant::now() < self.memory_check_after) {
            return;
        }
        let started = Instant::now();
        while self.checkpoint_memory() > budget {
            if self.step_cache.take().is_some() || self.thin(|c| c.counts.is_some()) || self.thin(is_auto) {
                continue;
            }
            // Too few to thin: the newest automatic one goes, never the
            // first (the start of the recording).
            match (1..self.checkpoints.len())
                .rev()
                .find(|&i| is_auto(&self.checkpoints[i]))
            {
                Some(i) => {
                    self.checkpoints.remove(i);
                }
                None => break,
            }
        }
        self.memory_check_after = Instant::now() + started.elapsed() * 4;
    }

    /// Leaves an interval's end forward. `Some` when that is not possible.
    fn leave_end(&mut self) -> Result<Option<StopReason>> {
        if self.is_final(self.at.event)? {
            return Ok(Some(StopReason::EndOfRecording));
        }
        self.apply_held()?;
        Ok(None)
    }

    /// The breakpoint the tracee stands on, if any: at an interval's start
    /// that arrival is a hit.
    fn breakpoint_here(&self) -> Result<Option<RemoteAddr>> {
        let rip = RemoteAddr(self.live.tracee().regs()?.rip);
        Ok(self.breakpoints.contains(&rip).then_some(rip))
    }

    // ---- watchpoints ----

    /// Programs the watch slots of the live tracee with the user's watches
    /// (when the run uses them) and the goal's.
    fn sync_watches(&mut self) -> Result<()> {
        let mut want = self.watches.clone();
        if let Some(goal) = self.goal_watch {
            if !want.contains(&goal) {
                want.push(goal);
            }
        }
        if want.len() > WATCH_SLOTS.len() {
            return Err(Error::Program(
                "this position was found by a watchpoint; delete another watchpoint to return to it".into(),
            ));
        }
        let tracee = self.live.tracee();
        if want == self.armed && self.armed_on == Some(tracee.pid) {
            return Ok(());
        }
        let mut dr7 = tracee.debugreg(7)?;
        for slot in WATCH_SLOTS {
            dr7 &= !((0b11 << (2 * slot)) | (0b1111 << (16 + 4 * slot)));
        }
        // Disabled first: the kernel validates each slot as it changes.
        tracee.set_debugreg(7, dr7)?;
        for (watch, slot) in want.iter().zip(WATCH_SLOTS) {
            tracee.set_debugreg(slot, watch.addr.0)?;
            dr7 |= watch.dr7_bits(slot);
        }
        tracee.set_debugreg(7, dr7)?;
        self.armed_on = Some(tracee.pid);
        self.armed = want;
        Ok(())
    }

    /// The armed watches that caused the current SIGTRAP (their DR6 bits
    /// are cleared so the next trap starts clean).
    fn take_triggers(&mut self) -> Result<Vec<Watch>> {
        if self.armed.is_empty() {
            return Ok(Vec::new());
        }
        let tracee = self.live.tracee();
        let dr6 = tracee.debugreg(6)?;
        let fired: Vec<Watch> = self
            .armed
            .iter()
            .zip(WATCH_SLOTS)
            .filter(|(_, slot)| dr6 & (1 << slot) != 0)
            .map(|(w, _)| *w)
            .collect();
        if !fired.is_empty() {
            let mask = WATCH_SLOTS.iter().fold(0, |m, slot| m | (1 << slot));
            tracee.set_debugreg(6, dr6 & !mask)?;
        }
        Ok(fired)
    }

    /// Counts triggers; returns the user watch among them that reports the
    /// access (a changed value for `Write`, an unchanged one for `Read`).
    fn note_triggers(&mut self, fired: &[Watch], mut hits: Option<&mut Vec<Hit>>) -> Result<Option<Watch>> {
        let mut reported = None;
        for &watch in fired {
            let n = self.triggers.entry(watch).or_insert(0);
            *n += 1;
            let nth = *n;
            if !self.watches.contains(&watch) {
                continue;
            }
            let Ok(now) = self.read_memory(watch.addr, watch.len.into()) else {
                continue;
            };
            let changed = self.watch_values.get(&watch).is_some_and(|old| *old != now);
            self.watch_values.insert(watch, now);
            let report = match watch.kind {
                WatchKind::Write => changed,
                WatchKind::Read => !changed,
                WatchKind::Access => true,
            };
            if report {
                if let Some(h) = hits.as_deref_mut() {
                    h.push(Hit {
                        at: Position {
                            event: self.at.event,
                            point: Point::Trigger { watch, nth, steps: 0 },
                        },
                        watch: Some(watch),
                    });
                }
                reported = Some(watch);
            }
        }
        Ok(reported)
    }

    /// Remembers the watched values here, to compare later ones with.
    fn snapshot_watch_values(&mut self) -> Result<()> {
        self.watch_values.clear();
        for watch in self.watches.clone() {
            if let Ok(now) = self.read_memory(watch.addr, watch.len.into()) {
                self.watch_values.insert(watch, now);
            }
        }
        Ok(())
    }

    /// A write or access watch whose bytes an event (a system call's
    /// results, which no debug register sees) changed.
    fn changed_watch(&mut self) -> Result<Option<Watch>> {
        let mut changed = None;
        for watch in self.watches.clone() {
            if watch.kind == WatchKind::Read {
                continue;
            }
            let Ok(now) = self.read_memory(watch.addr, watch.len.into()) else {
                continue;
            };
            if self.watch_values.get(&watch).is_some_and(|old| *old != now) && changed.is_none() {
                changed = Some(watch);
            }
            self.watch_values.insert(watch, now);
        }
        Ok(changed)
    }

    fn insert_breakpoints(&mut self) -> Result<()> {
        for &addr in &self.breakpoints {
            // Not mapped here (a library the program loads later, going
            // back to before it was loaded): nothing there can run either.
            let Ok(old) = self.live.tracee().read_bytes(addr, 1) else {
                continue;
            };
            self.live.tracee().write_bytes(addr, &[0xcc])?;
            self.inserted.push((addr, old[0]));
        }
        Ok(())
    }

    fn remove_breakpoints(&mut self) -> Result<()> {
        for (addr, old) in std::mem::take(&mut self.inserted) {
            self.live.tracee().write_bytes(addr, &[old])?;
        }
        Ok(())
    }

    /// Whether replaying event `event` ends the program (nothing to stand
    /// on after it). A live program is let go on far enough to tell.
    fn is_final(&mut self, event: EventIdx) -> Result<bool> {
        if let Some(recording) = &self.frontier {
            recording.record_through(event, &self.interrupted)?;
            if self.log.get(event).is_some_and(crate::live::may_end_after) {
                recording.reach(EventIdx(event.0 + 1), &self.interrupted)?;
            }
        }
        Ok(self.is_final_recorded(event))
    }

    /// [`Timeline::is_final`] as far as the log knows now.
    fn is_final_recorded(&self, event: EventIdx) -> bool {
        // An event not recorded yet ends nothing while the program lives.
        let unknown_is_end = self.frontier.as_ref().is_none_or(|f| f.frontier() == Frontier::Ended);
        let ends = |e: EventIdx| match self.log.get(e) {
            Some(Event::Exit(_)) => true,
            // The followed process ends (the timeline follows one).
            Some(Event::Switch(s)) => matches!(s.left, crate::trace::Left::ProcessExited(_)),
            Some(_) => false,
            None => unknown_is_end,
        };
        ends(EventIdx(event.0 + 1)) || ends(event)
    }

    /// Whether the code before event `e` can be replayed: `e` is in the
    /// recording and is not the program's end. For a live recording this
    /// lets the program go on until it gets to `e`, which may take a while
    /// (Ctrl-C ends the wait).
    fn interval_exists(&mut self, e: EventIdx) -> Result<bool> {
        let Some(recording) = &self.frontier else {
            return Ok(e < self.log.len());
        };
        let known_before = e < self.log.len();
        if !recording.reach(e, &self.interrupted)? {
            return Ok(false);
        }
        if matches!(self.log.get(e), Some(Event::Exit(_))) {
            return Ok(false);
        }
        // The replay passed into this interval before its event was known:
        // raise or arm now what that event needs (a signal, say).
        if !known_before && e < self.log.len() && self.at == Position::start(e) && self.held.is_none() {
            self.live.prepare()?;
        }
        Ok(true)
    }

    /// Shows the terminal output of event `e` of a live recording, the first
    /// time the replay gets past it (the live program wrote nothing).
    fn show_live_output(&mut self, e: EventIdx) {
        if self.frontier.is_none() || e < self.shown_up_to {
            return;
        }
        self.shown_up_to = EventIdx(e.0 + 1);
        if let Some(Event::Syscall(call)) = self.log.get(e) {
            if let Some(output) = &call.output {
                crate::replay::echo(output);
            }
        }
    }

    /// The last interval whose start exists.
    fn last_start(&self) -> EventIdx {
        let mut e = EventIdx(1);
        while e.0 < self.log.len().0 && !self.is_final_recorded(e) {
            e.0 += 1;
        }
        e
    }

    fn next_event_is_placed_signal(&self) -> bool {
        placed_by_count(self.log.get(self.at.event))
    }

    // ---- checkpoints ----

    fn add_checkpoint(&mut self, name: Option<String>) -> Result<usize> {
        let session = self.live.fork()?;
        let id = self.next_checkpoint_id;
        self.next_checkpoint_id += 1;
        let cp = Checkpoint {
            id,
            name,
            position: self.at,
            session,
            counts: None,
        };
        let i = self
            .checkpoints
            .iter()
            .position(|c| c.position.event > cp.position.event)
            .unwrap_or(self.checkpoints.len());
        self.checkpoints.insert(i, cp);
        self.cpu_mark = self.live_cpu_ns();
        if self.checkpoints.iter().filter(|c| is_auto(c)).count() > MAX_AUTO_CHECKPOINTS {
            self.thin(is_auto);
        }
        self.keep_memory_budget(false);
        Ok(id)
    }

    /// Keeps recent history dense and old history sparse: among the
    /// checkpoints `which` picks, every other one in the older half goes
    /// (never the first). Returns whether any went.
    fn thin(&mut self, which: fn(&Checkpoint) -> bool) -> bool {
        let autos: Vec<usize> = (0..self.checkpoints.len())
            .filter(|&i| which(&self.checkpoints[i]))
            .collect();
        if autos.len() < 3 {
            return false;
        }
        let older = &autos[1..autos.len().div_ceil(2)];
        let doomed: Vec<usize> = older.iter().copied().skip(1).step_by(2).collect();
        let any = !doomed.is_empty();
        for i in doomed.into_iter().rev() {
            self.checkpoints.remove(i);
        }
        any
    }

    fn has_checkpoint_at(&self, p: Position) -> bool {
        self.checkpoints.iter().any(|c| c.position == p)
    }

    /// The latest checkpoint at an interval start at or before `p`.
    /// (Or any checkpoint in an earlier interval, where a run to the
    /// interval's end needs no counts.)
    fn checkpoint_before_or_at(&self, p: Position) -> Option<usize> {
        (0..self.checkpoints.len()).rev().find(|&i| {
            let c = self.checkpoints[i].position;
            (c.point == (Point::Start { steps: 0 }) && c.event <= p.event)
                || (c.event < p.event && c.point != Point::End)
        })
    }

    /// The latest checkpoint at an interval start strictly before `p`.
    fn checkpoint_before(&self, p: Position) -> Option<usize> {
        (0..self.checkpoints.len()).rev().find(|&i| {
            let c = self.checkpoints[i].position;
            c.point == (Point::Start { steps: 0 }) && (c.event < p.event || (c.event == p.event && c != p))
        })
    }

    fn restore(&mut self, i: usize) -> Result<()> {
        let session = self.checkpoints[i].session.fork()?;
        self.restore_session(session, self.checkpoints[i].position)
    }

    /// Makes a fresh fork of a checkpoint (at `position`) the live tracee.
    fn restore_session(&mut self, mut session: ReplaySession, position: Position) -> Result<()> {
        session.prepare()?;
        self.live = session;
        self.at = position;
        self.held = None;
        self.inserted.clear();
        self.arrivals.clear();
        // A fork inherits no debug registers, and starts its CPU time at 0.
        self.armed.clear();
        self.armed_on = None;
        self.cpu_mark = 0;
        self.triggers.clear();
        self.scratch = false;
        self.arrivals_known = self.at_interval_start();
        if self.arrivals_known {
            let rip = RemoteAddr(self.live.tracee().regs()?.rip);
            self.arrive(rip, None);
        }
        Ok(())
    }
}

/// The resident set size of a process in bytes (0 if it cannot be read).
fn resident(pid: nix::unistd::Pid) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// `Private_Dirty` of a process in bytes: the pages only it holds (0 if
/// it cannot be read).
fn private_memory(pid: nix::unistd::Pid) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Private_Dirty:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// How many single steps lead from `from` to `to`, when `to` is `from`
/// stepped on (same interval, same starting point).
fn steps_between(from: Position, to: Position) -> Option<u64> {
    if from.event != to.event {
        return None;
    }
    let (a, b) = match (from.point, to.point) {
        (Point::Start { steps: a }, Point::Start { steps: b }) => (a, b),
        (
            Point::Arrival { addr, nth, steps: a },
            Point::Arrival {
                addr: addr2,
                nth: nth2,
                steps: b,
            },
        ) if addr == addr2 && nth == nth2 => (a, b),
        (
            Point::Trigger { watch, nth, steps: a },
            Point::Trigger {
                watch: w2,
                nth: n2,
                steps: b,
            },
        ) if watch == w2 && nth == n2 => (a, b),
        _ => return None,
    };
    b.checked_sub(a)
}

/// An automatic checkpoint at an interval start (not an anchor, not named).
fn is_auto(c: &Checkpoint) -> bool {
    c.name.is_none() && c.counts.is_none()
}
