//! Checkpoints: frozen forks of the replay at interval starts (automatic,
//! by [`CheckpointPolicy`], or by hand) and *anchors* at arrivals inside
//! long syscall-free stretches; restoring one; thinning them and keeping
//! the memory they hold alone under the budget.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::replay::ReplaySession;
use crate::{EventIdx, RemoteAddr, Result};

use super::memory::{held_alone, resident, Alone};
use super::{Point, Position, Timeline};

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
pub(super) const CPU_CHECK_EVENTS: u64 = 16;
/// ...or when this much wall time passed since the last read.
pub(super) const CPU_CHECK_AFTER: Duration = Duration::from_millis(20);
/// Automatic checkpoints kept at most; older ones are thinned out first.
const MAX_AUTO_CHECKPOINTS: usize = 48;
/// Anchors kept at most (they are cheap: forks of a process that differs
/// from the live one by a few dozen milliseconds of work).
const MAX_ANCHORS: usize = 512;

/// While a movement runs, the checkpoints' memory is looked at no more
/// often than this (and the exact measure no more than a fifth of the
/// time); every movement's end looks at it again.
const CHEAP_CHECKS_EVERY: Duration = Duration::from_millis(50);

/// Run time between snapshots: a reverse step right after a continue
/// replays at most this (twice), plus what the fork costs.
pub(super) const SNAPSHOT_EVERY: Duration = Duration::from_millis(10);
/// Snapshots kept at most: only the last ones before a stop are useful.
const MAX_SNAPSHOTS: usize = 2;
/// A snapshot's fork may cost at most this share of the run between two.
const SNAPSHOT_SHARE: u32 = 10;

/// A fork of the live program where a tick stopped a long free run (a
/// `cont` across a syscall-free stretch). Unlike a checkpoint it stands at
/// no named position, only at a known point in the order of the
/// interval's arrivals: `arrivals` holds, for every breakpoint set then,
/// how many arrivals at it the interval had seen. A run to a later arrival
/// at one of them can start here instead of at the interval's start, so a
/// reverse step right after a long continue replays milliseconds, not the
/// whole stretch.
pub(super) struct Snapshot {
    pub(super) session: ReplaySession,
    pub(super) event: EventIdx,
    pub(super) arrivals: HashMap<RemoteAddr, u64>,
}

pub struct CheckpointInfo {
    pub id: usize,
    pub name: Option<String>,
    pub position: Position,
}

pub(super) struct Checkpoint {
    pub(super) id: usize,
    pub(super) name: Option<String>,
    pub(super) position: Position,
    /// The frozen copy; it never runs, it is only forked again.
    pub(super) session: ReplaySession,
    /// For an *anchor* (an automatic checkpoint at an arrival inside a long
    /// stretch with no event), the arrival counts there since the
    /// interval's start: what a run from it needs to name positions.
    pub(super) counts: Option<HashMap<RemoteAddr, u64>>,
}

impl Timeline {
    pub(super) fn add_checkpoint(&mut self, name: Option<String>) -> Result<usize> {
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
    pub(super) fn thin(&mut self, which: fn(&Checkpoint) -> bool) -> bool {
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

    pub(super) fn has_checkpoint_at(&self, p: Position) -> bool {
        self.checkpoints.iter().any(|c| c.position == p)
    }

    /// The latest checkpoint at an interval start at or before `p`.
    /// (Or any checkpoint in an earlier interval, where a run to the
    /// interval's end needs no counts.)
    pub(super) fn checkpoint_before_or_at(&self, p: Position) -> Option<usize> {
        (0..self.checkpoints.len()).rev().find(|&i| {
            let c = self.checkpoints[i].position;
            (c.point == (Point::Start { steps: 0 }) && c.event <= p.event)
                || (c.event < p.event && c.point != Point::End)
        })
    }

    /// The latest checkpoint at an interval start strictly before `p`.
    pub(super) fn checkpoint_before(&self, p: Position) -> Option<usize> {
        (0..self.checkpoints.len()).rev().find(|&i| {
            let c = self.checkpoints[i].position;
            c.point == (Point::Start { steps: 0 }) && (c.event < p.event || (c.event == p.event && c != p))
        })
    }

    pub(super) fn restore(&mut self, i: usize) -> Result<()> {
        #[cfg(test)]
        self.restored.push(self.checkpoints[i].position);
        let session = self.checkpoints[i].session.fork()?;
        self.restore_session(session, self.checkpoints[i].position)
    }

    /// Makes a fresh fork of a checkpoint (at `position`) the live tracee.
    pub(super) fn restore_session(&mut self, mut session: ReplaySession, position: Position) -> Result<()> {
        session.prepare()?;
        self.memory_ledger.going(self.live.tracee().pid);
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

    pub(super) fn add_anchor(&mut self, position: Position, counts: HashMap<RemoteAddr, u64>) -> Result<()> {
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
    pub(super) fn anchor_for(&self, target: Position) -> Option<usize> {
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

    /// CPU time the live program has used, in ns (a fresh fork starts at
    /// zero); 0 when the kernel does not say.
    pub(super) fn live_cpu_ns(&self) -> u64 {
        // The process's CPU clock (the kernel names it by the process's
        // id, not a thread's): one syscall, where reading the thread's
        // /proc/PID/schedstat took a tenth of a fly over buffered calls.
        use nix::time::{clock_gettime, ClockId};
        ClockId::pid_cpu_clock_id(self.live.tracee().tgid)
            .and_then(clock_gettime)
            .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
            .unwrap_or(0)
    }

    /// The memory all checkpoints hold: the pages each holds alone (its
    /// private dirty pages), which is what dropping it would give back.
    /// Pages a checkpoint still shares with the live program or another
    /// checkpoint cost nothing more than the program itself.
    pub fn checkpoint_memory(&self) -> u64 {
        self.held_sessions().map(|s| held_alone(s.tracee().pid).bytes).sum()
    }

    /// The held processes and the live one.
    fn owned_processes(&self) -> Vec<Pid> {
        self.held_sessions()
            .map(|s| s.tracee().pid)
            .chain([self.live.tracee().pid])
            .collect()
    }

    /// Every process the timeline keeps besides the live one: the
    /// checkpoints and the step cache's.
    pub(super) fn held_sessions(&self) -> impl Iterator<Item = &ReplaySession> {
        self.checkpoints
            .iter()
            .map(|c| &c.session)
            .chain(self.step_cache.iter().map(|c| &c.checkpoint.session))
            .chain(self.snapshots.iter().map(|s| &s.session))
            .chain(self.approach.iter().map(|a| a.session()))
    }

    /// Keeps the checkpoints' memory under the budget, dropping the step
    /// cache, then anchors and automatic checkpoints (thinned, then the
    /// newest ones but the first) until it is. The exact measure walks
    /// every page table (about 200 ms per GiB of each checkpoint), so it is
    /// made only when the cheap bounds (resident sizes, and the
    /// [`super::memory::MemoryLedger`]'s) allow more than the budget: at most a fifth of
    /// the time while a movement runs (when a checkpoint is taken), and
    /// `every_time` a movement ends, before the user looks.
    pub(super) fn keep_memory_budget(&mut self, every_time: bool) {
        let started = Instant::now();
        if !every_time && started < self.memory_check_after {
            return;
        }
        // Even the cheap bounds read two files per checkpoint: a search
        // that takes a checkpoint every few events must not spend its time
        // on them either.
        self.memory_check_after = started + CHEAP_CHECKS_EVERY;
        let budget = self.policy.memory_budget;
        let resident: u64 = self.held_sessions().map(|s| resident(s.tracee().pid)).sum();
        if resident <= budget {
            return;
        }
        let owned = self.owned_processes();
        if self.memory_ledger.bound(owned.into_iter()).is_some_and(|b| b <= budget) {
            return;
        }
        loop {
            let measures: Vec<Alone> = self.held_sessions().map(|s| held_alone(s.tracee().pid)).collect();
            let alone: u64 = measures.iter().map(|m| m.bytes).sum();
            if alone <= budget || !self.give_back_memory() {
                let huge_pages = measures.iter().any(|m| m.huge_pages);
                let owned = self.owned_processes();
                self.memory_ledger.measured(alone, owned.into_iter(), huge_pages);
                break;
            }
        }
        self.memory_check_after = Instant::now() + (started.elapsed() * 4).max(CHEAP_CHECKS_EVERY);
    }

    /// Drops one thing that holds memory: a snapshot, the approach, the
    /// step cache, half the anchors or automatic checkpoints, or the
    /// newest of them but the first (the start of the recording). Returns
    /// whether anything went.
    fn give_back_memory(&mut self) -> bool {
        if self.snapshots.pop().is_some()
            || self.approach.take().is_some()
            || self.step_cache.take().is_some()
            || self.thin(|c| c.counts.is_some())
            || self.thin(is_auto)
        {
            return true;
        }
        match (1..self.checkpoints.len())
            .rev()
            .find(|&i| is_auto(&self.checkpoints[i]) || self.checkpoints[i].counts.is_some())
        {
            Some(i) => {
                self.checkpoints.remove(i);
                true
            }
            None => false,
        }
    }

    /// Forks the live program as a [`Snapshot`], when the arrival counts
    /// here are known and the last fork's cost is small against the time
    /// since (a checkpoint of a large program costs milliseconds).
    pub(super) fn take_snapshot(&mut self) -> Result<()> {
        if !self.arrivals_known || !self.snapshot_due() {
            return Ok(());
        }
        let arrivals = self
            .breakpoints
            .iter()
            .map(|&b| (b, self.arrivals.get(&b).copied().unwrap_or(0)))
            .collect();
        self.push_snapshot(arrivals)
    }

    /// Forks the live program as a [`Snapshot`] with these arrival counts.
    pub(super) fn push_snapshot(&mut self, arrivals: HashMap<RemoteAddr, u64>) -> Result<()> {
        let started = Instant::now();
        let session = self.live.fork()?;
        self.last_snapshot = Some((Instant::now(), started.elapsed()));
        self.snapshots.push(Snapshot {
            session,
            event: self.at.event,
            arrivals,
        });
        if self.snapshots.len() > MAX_SNAPSHOTS {
            self.snapshots.remove(0);
        }
        Ok(())
    }

    /// Whether a snapshot may be taken now: the last fork's cost is small
    /// against the time since, and nothing placed by count follows.
    pub(super) fn snapshot_due(&self) -> bool {
        if self.next_event_is_placed_signal() || !self.live.can_fork() {
            return false;
        }
        self.last_snapshot
            .is_none_or(|(when, cost)| when.elapsed() >= cost * SNAPSHOT_SHARE)
    }

    /// The latest snapshot a run to `target`, an arrival, can start from:
    /// in its interval, before it, with the counts of every breakpoint.
    /// Returns it with its count of arrivals at the target's address.
    pub(super) fn snapshot_for(&self, target: Position) -> Option<(usize, u64)> {
        let Point::Arrival { addr, nth, .. } = target.point else {
            return None;
        };
        if !self.watches.is_empty() || self.goal_watch.is_some() {
            return None;
        }
        (0..self.snapshots.len())
            .filter_map(|i| {
                let s = &self.snapshots[i];
                let count = *s.arrivals.get(&addr)?;
                let usable = s.event == target.event
                    && count < nth
                    && self.breakpoints.iter().all(|b| s.arrivals.contains_key(b));
                usable.then_some((i, count))
            })
            .max_by_key(|&(_, count)| count)
    }

    /// The latest snapshot in interval `event` from before any arrival at
    /// `addr`.
    pub(super) fn snapshot_before_first(&self, event: EventIdx, addr: RemoteAddr) -> Option<usize> {
        (0..self.snapshots.len())
            .rev()
            .find(|&i| self.snapshots[i].event == event && self.snapshots[i].arrivals.get(&addr) == Some(&0))
    }

    /// Makes a fork of snapshot `i` the live program. Its place has no name:
    /// `self.at` becomes `before`, a position that the caller knows comes
    /// later in the same interval and must run to.
    pub(super) fn restore_snapshot(&mut self, i: usize, before: Position) -> Result<()> {
        let session = self.snapshots[i].session.fork()?;
        let arrivals = self.snapshots[i].arrivals.clone();
        self.restore_session(session, before)?;
        self.arrivals = arrivals;
        self.arrivals_known = true;
        Ok(())
    }
}

/// An automatic checkpoint at an interval start (not an anchor, not named).
pub(super) fn is_auto(c: &Checkpoint) -> bool {
    c.name.is_none() && c.counts.is_none()
}
