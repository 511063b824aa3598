//! The processes of a recording, read from its events without replaying
//! them: who made whom, what each ran, and how each ended.
//!
//! Every event belongs to the thread whose turn it is, and a `Switch` names
//! the process of the thread it gives the turn to, so one pass over the log
//! tells the tree. `rback info` lists it, and a replay that follows one
//! process (`replay::Follow`) learns from it which ancestors it must run to
//! get there.

use std::collections::HashMap;

use crate::trace::{Event, ExitStatus, Left, TraceLog};
use crate::EventIdx;

/// One process of a recording, by its id while recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    /// The process that made it (`None`: the program's first process).
    pub parent: Option<i32>,
    /// The event of the `fork`/`vfork`/`clone` that made it (event 0 for
    /// the first process).
    pub born_at: EventIdx,
    /// What it ran: the executable and argv of its last `exec` (a child
    /// that never execs runs its parent's program).
    pub exe_path: String,
    pub argv: Vec<String>,
    /// How it ended, if the recording says.
    pub ended: Option<ExitStatus>,
    /// Whether the recording saw it end.
    pub gone: bool,
}

/// The process tree of a recording, in the order the processes were made.
#[derive(Clone, Debug, Default)]
pub struct ProcessTree {
    pub processes: Vec<Process>,
}

/// Builds a [`ProcessTree`] one event at a time, for readers that stream a
/// trace (`rback info`).
#[derive(Default)]
pub struct TreeReader {
    pub tree: ProcessTree,
    /// Tasks made so far that have not had a turn yet: id -> (maker, event).
    made: HashMap<i32, (i32, EventIdx)>,
    /// The process whose turn it is.
    current: Option<i32>,
}

impl TreeReader {
    /// Takes event `at` into account.
    pub fn see(&mut self, at: EventIdx, event: &Event) {
        let tree = &mut self.tree;
        match event {
            Event::Exec(exec) => {
                if self.current.is_none() {
                    self.current = Some(exec.pid);
                    tree.processes.push(Process {
                        pid: exec.pid,
                        parent: None,
                        born_at: at,
                        exe_path: String::new(),
                        argv: vec![],
                        ended: None,
                        gone: false,
                    });
                }
                if let Some(p) = tree.latest_mut(exec.pid) {
                    p.exe_path = exec.exe_path.clone();
                    p.argv = exec.argv.clone();
                }
            }
            Event::Syscall(call) if makes_tasks(call.nr) && call.result > 0 => {
                if let Some(maker) = self.current {
                    self.made.insert(call.result as i32, (maker, at));
                }
            }
            Event::Switch(switch) => {
                if let (Left::ProcessExited(status), Some(pid)) = (&switch.left, self.current) {
                    if let Some(p) = tree.latest_mut(pid) {
                        p.ended = Some(*status);
                        p.gone = true;
                    }
                }
                let known = tree.latest(switch.process).is_some_and(|p| !p.gone);
                if !known {
                    let (parent, born_at) = match self.made.remove(&switch.process) {
                        Some((maker, at)) => (Some(maker), at),
                        None => (None, at),
                    };
                    let like_parent = parent.and_then(|p| tree.latest(p)).cloned();
                    tree.processes.push(Process {
                        pid: switch.process,
                        parent,
                        born_at,
                        exe_path: like_parent.as_ref().map(|p| p.exe_path.clone()).unwrap_or_default(),
                        argv: like_parent.map(|p| p.argv).unwrap_or_default(),
                        ended: None,
                        gone: false,
                    });
                }
                self.current = Some(switch.process);
            }
            Event::Exit(status) => {
                // The status is the first process's; the last one to end,
                // if another, ended too (its own status is not recorded).
                if let Some(p) = self.current.and_then(|pid| tree.latest_mut(pid)) {
                    p.gone = true;
                }
                if let Some(root) = tree.processes.first_mut() {
                    root.ended = Some(*status);
                    root.gone = true;
                }
            }
            _ => {}
        }
    }
}

/// Syscalls that may make a child process.
fn makes_tasks(nr: i64) -> bool {
    matches!(
        nr,
        libc::SYS_clone | libc::SYS_clone3 | libc::SYS_fork | libc::SYS_vfork
    )
}

impl ProcessTree {
    /// Reads the tree from the events a log holds so far.
    pub fn of(log: &TraceLog) -> ProcessTree {
        let mut reading = TreeReader::default();
        for (i, event) in log.events().enumerate() {
            reading.see(EventIdx(i as u64), event);
        }
        reading.tree
    }

    /// The latest process with this id (ids may be reused after an end).
    pub fn latest(&self, pid: i32) -> Option<&Process> {
        self.processes.iter().rev().find(|p| p.pid == pid)
    }

    fn latest_mut(&mut self, pid: i32) -> Option<&mut Process> {
        self.processes.iter_mut().rev().find(|p| p.pid == pid)
    }

    /// The first process of the program.
    pub fn root(&self) -> Option<&Process> {
        self.processes.first()
    }

    /// `pid` and the processes that made it, up to the first one.
    pub fn lineage(&self, pid: i32) -> Vec<i32> {
        let mut chain = vec![];
        let mut next = Some(pid);
        while let Some(p) = next.and_then(|p| self.latest(p)) {
            if chain.contains(&p.pid) {
                break;
            }
            chain.push(p.pid);
            next = p.parent;
        }
        chain
    }

    /// Finds a process by id or by program name (the last component of
    /// its executable or its argv[0]); a name must be unambiguous.
    pub fn find(&self, what: &str) -> Result<&Process, String> {
        if let Ok(pid) = what.parse::<i32>() {
            return self
                .latest(pid)
                .ok_or_else(|| format!("no process {pid} in this recording (see `rback info`)"));
        }
        let name_of = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        let matching: Vec<&Process> = self
            .processes
            .iter()
            .filter(|p| name_of(&p.exe_path) == what || p.argv.first().is_some_and(|a| name_of(a) == what))
            .collect();
        match matching.as_slice() {
            [] => Err(format!("no process runs {what:?} in this recording (see `rback info`)")),
            [one] => Ok(one),
            many => Err(format!(
                "{} processes run {what:?} ({}); name one by its id",
                many.len(),
                many.iter().map(|p| p.pid.to_string()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// The events that a replay following one process runs itself
/// (`replay::Follow::Process`): those of each process on the way from the
/// first one, from its birth up to the fork that makes the next (which
/// ends its part), then those of the followed process from its birth on.
/// The replay passes over every other event in the step that reaches the
/// next one it runs.
#[derive(Clone, Debug, Default)]
pub struct FollowedRuns {
    /// (process, first event, last event) of each stretch, the first
    /// process's first.
    stretches: Vec<(i32, EventIdx, EventIdx)>,
}

impl FollowedRuns {
    /// The stretches of a replay that follows `pid` (and, for a live
    /// recording whose tree is not known yet, of the first process alone).
    pub fn of(tree: &ProcessTree, pid: i32) -> FollowedRuns {
        let mut lineage = tree.lineage(pid);
        lineage.reverse();
        let born = |p: i32| tree.latest(p).map_or(EventIdx(0), |p| p.born_at);
        let stretches = lineage
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let last = match lineage.get(i + 1) {
                    Some(&next) => born(next),
                    None => EventIdx(u64::MAX),
                };
                (p, born(p), last)
            })
            .collect();
        FollowedRuns { stretches }
    }

    /// Whether event `e`, which belongs to `process`, is one the replay
    /// runs.
    pub fn runs(&self, process: i32, e: EventIdx) -> bool {
        self.stretches
            .iter()
            .any(|&(p, first, last)| p == process && first <= e && e <= last)
    }
}

/// The process of the recording in `trace_dir` that `what` names (an id or
/// a program name), for `rback replay -p`.
pub fn resolve(trace_dir: &std::path::Path, what: &str) -> crate::Result<i32> {
    let log = TraceLog::load(trace_dir)?;
    let tree = ProcessTree::of(&log);
    tree.find(what).map(|p| p.pid).map_err(crate::Error::Program)
}

/// Which process each event belongs to, read as far as a log goes and
/// extended as it grows (a live recording): the turns, as the events at
/// which a process's turn begins.
#[derive(Default)]
pub struct ProcessTurns {
    /// How many events have been read.
    read: u64,
    /// (first event of a turn, its process), in order.
    turns: Vec<(u64, i32)>,
}

impl ProcessTurns {
    /// The process event `e` belongs to: a `Switch` belongs to the process
    /// whose turn it ends.
    pub fn process_at(&mut self, log: &TraceLog, e: EventIdx) -> Option<i32> {
        while self.read < log.len().0 {
            match log.get(EventIdx(self.read)) {
                Some(Event::Exec(exec)) if self.turns.is_empty() => self.turns.push((self.read, exec.pid)),
                Some(Event::Switch(switch)) => self.turns.push((self.read + 1, switch.process)),
                _ => {}
            }
            self.read += 1;
        }
        let i = self.turns.partition_point(|&(first, _)| first <= e.0);
        i.checked_sub(1).map(|i| self.turns[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, parent: Option<i32>, born_at: u64) -> Process {
        Process {
            pid,
            parent,
            born_at: EventIdx(born_at),
            exe_path: String::new(),
            argv: vec![],
            ended: None,
            gone: false,
        }
    }

    #[test]
    fn a_followed_grandchild_runs_after_its_ancestors_forks_and_no_one_else() {
        let tree = ProcessTree {
            processes: vec![
                process(10, None, 0),
                process(11, Some(10), 5),
                process(13, Some(10), 7),
                process(12, Some(11), 9),
            ],
        };
        let runs = FollowedRuns::of(&tree, 12);
        // The first process up to its fork of 11, then 11 up to its fork
        // of 12, then 12 to the end; 13 never.
        assert!(runs.runs(10, EventIdx(0)) && runs.runs(10, EventIdx(5)));
        assert!(!runs.runs(10, EventIdx(6)) && !runs.runs(10, EventIdx(20)));
        assert!(runs.runs(11, EventIdx(6)) && runs.runs(11, EventIdx(9)));
        assert!(!runs.runs(11, EventIdx(10)));
        assert!(runs.runs(12, EventIdx(10)) && runs.runs(12, EventIdx(u64::MAX - 1)));
        assert!(!runs.runs(13, EventIdx(8)));
        let first = FollowedRuns::of(&tree, 10);
        assert!(first.runs(10, EventIdx(0)) && first.runs(10, EventIdx(1000)));
        assert!(!first.runs(11, EventIdx(6)));
    }
}
