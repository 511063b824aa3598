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
//!
//! This module holds the [`Timeline`] type and its inspecting surface; its
//! parts live in submodules: `movement` (the movements front ends ask for),
//! `positions` (naming points and stepping back), `run` (running the live
//! replay inside an interval), `intervals` (event boundaries and a live
//! recording's frontier), `watchpoints` and `checkpoints` (with anchors and
//! the memory budget).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::counter::{CpuClock, ExecCounter};
use crate::live::LiveRecording;
use crate::replay::{Follow, ReplaySession};
use crate::trace::{Event, TraceLog};
use crate::tracee::{FpState, Regs, Stop, Tracee};
use crate::{Error, EventIdx, RemoteAddr, Result};

use self::checkpoints::{Checkpoint, Snapshot};
use self::positions::{Approach, StepCache};
use self::watchpoints::WATCH_SLOTS;

mod checkpoints;
mod intervals;
mod memory;
mod movement;
mod positions;
mod run;
#[cfg(test)]
mod tests;
mod watchpoints;

pub use checkpoints::{CheckpointInfo, CheckpointPolicy, DEFAULT_CHECKPOINT_INTERVAL};
pub use positions::{Point, Position};
pub use watchpoints::{Watch, WatchKind};

/// The debug register the timeline's counter may use when perf breakpoint
/// events are unavailable (0 places recorded signals).
const COUNTER_SLOT: usize = 1;

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
    /// A continue forward passed an exec: the program's code is another
    /// now, and breakpoints set by address in the old one would land in
    /// the middle of its instructions. The front end sets them again (or
    /// not) and continues.
    Exec,
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
    /// How many events `fly` replays between looks at the CPU time: more
    /// while the events it passes cost little CPU each (buffered calls
    /// take a microsecond there), so that it stops less often for a look
    /// than the checkpoint policy could need one.
    fly_stride: u64,
    /// `fly` stopped to look at the CPU time: the boundary looks.
    cpu_check_due: bool,
    /// When the checkpoints' memory may be measured again.
    memory_check_after: Instant,
    /// Bounds what the checkpoints hold alone between exact measures.
    memory_ledger: memory::MemoryLedger,
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
    /// Stops a run after a given CPU time of the program, while a run
    /// needs it (a `Halt::Tick`): how a place near an arrival is found.
    alarm: Option<CpuClock>,
    /// A fork just before an arrival, found by cutting the run to it
    /// shorter and shorter: counting from there is cheap (see `Approach`).
    approach: Option<Approach>,
    /// How many times an address ran before an arrival, counted from the
    /// interval's start, by (interval, address, arrival's address, its
    /// number): what a `Point::Before` out of its approach's reach is.
    runs_before: HashMap<(EventIdx, RemoteAddr, RemoteAddr, u64), u64>,
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
    thread_order: std::sync::Mutex<ThreadOrder>,
    /// A continue passed an exec since it last said so (`StopReason::Exec`).
    exec_passed: bool,
    /// Which process each event belongs to, as far as it was asked.
    process_turns: std::sync::Mutex<crate::process::ProcessTurns>,
    /// Which of those events the replay runs; it passes over the others.
    followed_runs: crate::process::FollowedRuns,
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
    ticker: run::Ticker,
    /// A hidden checkpoint where the last reverse step started stepping.
    step_cache: Option<StepCache>,
    /// Forks left by the last long free runs (see [`Snapshot`]), oldest
    /// first.
    snapshots: Vec<Snapshot>,
    /// When the last snapshot was taken and what its fork cost, to keep
    /// snapshots to a small share of a run's time.
    last_snapshot: Option<(Instant, std::time::Duration)>,
    /// The positions of the checkpoints restored, in order (for tests that
    /// check where a replay started).
    #[cfg(test)]
    restored: Vec<Position>,
    /// How many times the replay stopped at an interval's start (for tests
    /// that check it does not stop at each).
    #[cfg(test)]
    boundaries: u64,
    /// Memory or registers were changed by hand; the live tracee is no
    /// longer the recording's and must be rebuilt before moving.
    scratch: bool,
    /// The program being recorded as the timeline follows it (`rback
    /// run`): going forward past the last recorded event records more.
    frontier: Option<LiveRecording>,
    /// Whether and where the program's terminal output is shown, once,
    /// when the replay first gets past it: always for a live recording (the
    /// live program writes nothing), and where the user watches the replay
    /// (`show_program_output`).
    show_output: Option<OutputTo>,
    /// Events before this one had their terminal output shown.
    shown_up_to: EventIdx,
}

/// Where the program's terminal output goes when a timeline shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputTo {
    /// To rback's stdout or stderr, as the program wrote it.
    Streams,
    /// All to rback's stderr (its stdout is a gdb connection).
    Stderr,
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
    /// A child process's timeline starts where it begins, just after the
    /// fork that made it (rr's `-f`).
    pub fn open_process(trace_dir: &Path, policy: CheckpointPolicy, process: Option<i32>) -> Result<Timeline> {
        let log = Arc::new(TraceLog::load(trace_dir)?);
        let born_at = process
            .and_then(|pid| crate::process::ProcessTree::of(&log).latest(pid).map(|p| p.born_at))
            .filter(|at| at.0 > 0);
        let mut timeline = Timeline::open_on(trace_dir, log, None, policy, process)?;
        if let Some(at) = born_at {
            timeline.goto_event(EventIdx(at.0 + 1))?;
        }
        Ok(timeline)
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
        let followed = process.unwrap_or(first);
        let follow = Follow::Process(followed);
        let followed_runs = crate::process::FollowedRuns::of(&crate::process::ProcessTree::of(&log), followed);
        let mut live = ReplaySession::start_from(trace_dir, log.clone(), false, follow)?;
        live.set_stop_at_boundaries(true);
        let interrupted = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicI32::new(0));
        let tick = Arc::new(AtomicBool::new(false));
        if let Some(recording) = &frontier {
            live.set_feed(recording.feed(interrupted.clone()));
        }
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
            fly_stride: checkpoints::CPU_CHECK_EVENTS,
            cpu_check_due: false,
            memory_check_after: Instant::now(),
            memory_ledger: memory::MemoryLedger::default(),
            breakpoints: BTreeSet::new(),
            inserted: Vec::new(),
            arrivals: HashMap::new(),
            arrivals_known: true,
            counter: None,
            alarm: None,
            approach: None,
            runs_before: HashMap::new(),
            watches: Vec::new(),
            goal_watch: None,
            armed: Vec::new(),
            armed_on: None,
            selected: None,
            thread_order: std::sync::Mutex::new(ThreadOrder::default()),
            process_turns: std::sync::Mutex::new(crate::process::ProcessTurns::default()),
            followed_runs,
            exec_passed: false,
            triggers: HashMap::new(),
            watch_values: HashMap::new(),
            stepped_watch: None,
            interrupted,
            settling: false,
            running: running.clone(),
            tick: tick.clone(),
            ticks_wanted: false,
            ticker: run::Ticker::new(running, tick),
            step_cache: None,
            snapshots: Vec::new(),
            last_snapshot: None,
            #[cfg(test)]
            restored: Vec::new(),
            #[cfg(test)]
            boundaries: 0,
            scratch: false,
            show_output: frontier.is_some().then_some(OutputTo::Streams),
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

    /// Shows the program's terminal output on rback's own stdout and
    /// stderr from now on, each write once, the first time the replay gets
    /// past it, as the program wrote it while recorded (a debugger of a
    /// live program shows it then). Going back and forward again does not
    /// show it again.
    pub fn show_program_output(&mut self, to: OutputTo) {
        self.show_output = Some(to);
        self.shown_up_to = self.shown_up_to.max(self.at.event);
    }

    /// The recording being made as the timeline follows it, if it is one.
    pub fn live_recording(&self) -> Option<&LiveRecording> {
        self.frontier.as_ref()
    }

    /// The process this timeline follows (its id while recording).
    pub fn followed_process(&self) -> i32 {
        self.live.followed_process()
    }

    /// The checkpoint policy it was opened with.
    pub fn policy(&self) -> CheckpointPolicy {
        self.policy
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

    /// gdb's number for thread `tid`: its place in the order its process
    /// made its threads, from 1 for the process's first.
    fn thread_number(&self, tid: i32) -> usize {
        let mut order = self.thread_order.lock().unwrap_or_else(|e| e.into_inner());
        let order = &mut *order;
        while order.read < self.log.len().0 {
            match self.log.get(EventIdx(order.read)) {
                Some(Event::Exec(exec)) if order.current.is_none() => {
                    order.current = Some(exec.pid);
                    // A recording that starts from an image starts with its
                    // threads.
                    for &tid in exec.image.iter().flat_map(|start| &start.threads) {
                        order.made.push((exec.pid, tid));
                    }
                }
                Some(Event::Switch(switch)) => {
                    order.current = Some(switch.process);
                    order.processes.insert(switch.process);
                }
                Some(Event::Syscall(call))
                    if matches!(
                        call.nr,
                        libc::SYS_clone | libc::SYS_clone3 | libc::SYS_fork | libc::SYS_vfork
                    ) && call.result > 0 =>
                {
                    if let Some(maker) = order.current {
                        order.made.push((maker, call.result as i32));
                    }
                }
                _ => {}
            }
            order.read += 1;
        }
        // The threads of the process tid is in: its first (the process's
        // id), then those it made, leaving out the child processes.
        let process = self.live.process_of(tid).unwrap_or(tid);
        let threads = std::iter::once(process).chain(
            order
                .made
                .iter()
                .filter(|(maker, made)| *maker == process && !order.processes.contains(made))
                .map(|(_, made)| *made),
        );
        threads.into_iter().position(|t| t == tid).map_or(0, |i| i + 1)
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

    /// Whether a breakpoint may go at `addr`: not in the memory rback
    /// keeps in the program (its page and the syscall buffer), whose code
    /// the program's syscall buffer library reads and would see changed.
    pub fn check_breakpoint_address(addr: RemoteAddr) -> Result<()> {
        let (start, end) = crate::syscallbuf::layout::RBACK_REGION;
        if (start..end).contains(&addr.0) {
            return Err(Error::Program(format!(
                "cannot set a breakpoint at {:#x}: it is in rback's own page, whose code the program checks",
                addr.0
            )));
        }
        Ok(())
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
}

/// What the log says so far about who made which thread (for gdb's thread
/// numbers, `Timeline::thread_number`).
#[derive(Default)]
struct ThreadOrder {
    /// How many events have been read.
    read: u64,
    /// The process whose turn it is at `read`.
    current: Option<i32>,
    /// (maker's process, the id a clone, fork or vfork returned), in order.
    made: Vec<(i32, i32)>,
    /// The processes that have had a turn.
    processes: std::collections::HashSet<i32>,
}
