//! What the checkpoints hold alone, and a cheap upper bound on it between
//! exact measures.
//!
//! The memory budget counts the pages each checkpoint (or other held
//! process) maps and no other process does: `Private_Dirty` in
//! `/proc/PID/smaps_rollup`. Reading that walks every page table, about
//! 200 ms per GiB of each checkpoint, which a reverse-stepi in a 1 GiB
//! program cannot afford at every stop.
//!
//! Held processes are frozen, so what they hold alone changes only when
//! another process that shares their pages drops its mapping of one: a
//! write that copies the page (a minor fault), an unmap, an exec, an exit.
//! [`MemoryLedger`] keeps, from the last exact measure, each process's
//! resident size and minor-fault count (`/proc/PID/stat`, two counters the
//! kernel keeps), and bounds the growth since by what those allow:
//!
//! - a process that existed then can have made private at most one page
//!   per fault since, plus every page it stopped mapping: the resident
//!   size it had, plus what it faulted in, minus what it has now (all of
//!   it once it is gone);
//! - a process forked since can have made private only pages it faulted
//!   in (two per fault: the one a copy replaced, and the copy itself if a
//!   later fork shared it and it then went): every page it inherited it
//!   mapped on top of the holders counted then, so its unmaps and its exit
//!   only give back what its fork took.
//!
//! A fault that brings in a transparent huge page is 512 pages, not one:
//! where the kernel makes huge pages for any anonymous memory, or a held
//! process had some at the last measure, every check is exact.

use std::collections::HashMap;

use nix::unistd::Pid;

use crate::kernel;

const PAGE: u64 = 4096;

/// A process's counters in `/proc/PID/stat`.
#[derive(Clone, Copy, Debug)]
struct Counters {
    /// When it started (clock ticks after boot): with the pid, names the
    /// process even after its pid was used again.
    start: u64,
    minor_faults: u64,
    /// Resident bytes.
    resident: u64,
}

/// The counters of a process: its start and faults from `/proc/PID/stat`,
/// its resident size from `statm` (the one `stat` shows leaves out pages
/// that `statm` and `status` count).
fn counters(pid: Pid) -> Option<Counters> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = kernel::proc_stat_fields(&stat)?;
    let field = |n: usize| fields.get(n - 3).copied();
    Some(Counters {
        minor_faults: field(10)?,
        start: field(22)?,
        resident: resident_or_none(pid)?,
    })
}

/// A process of the last exact measure: its counters then, and the
/// minor faults it had when last seen.
struct Known {
    then: Counters,
    faults_seen: u64,
}

/// The last exact measure of what the held processes hold alone, and what
/// bounds its growth since (see the module's comment).
#[derive(Default)]
pub(super) struct MemoryLedger {
    /// `None` until the first exact measure, and while only exact
    /// measures are to be trusted.
    measured: Option<u64>,
    known: HashMap<Pid, Known>,
    /// Growth from processes forked since the measure that have gone.
    gone_since: u64,
}

impl MemoryLedger {
    /// After an exact measure found `held_alone` with these processes
    /// alive (the held ones and the live one).
    pub(super) fn measured(&mut self, held_alone: u64, processes: impl Iterator<Item = Pid>, huge_pages_seen: bool) {
        self.known.clear();
        self.gone_since = 0;
        self.measured = None;
        if huge_pages_seen || huge_pages_for_all_memory() {
            return;
        }
        for pid in processes {
            let Some(then) = counters(pid) else {
                return;
            };
            self.known.insert(
                pid,
                Known {
                    then,
                    faults_seen: then.minor_faults,
                },
            );
        }
        self.measured = Some(held_alone);
    }

    /// A process forked since the measure is about to go (killed by the
    /// timeline): what its faults may have made private stays counted.
    pub(super) fn going(&mut self, pid: Pid) {
        let Some(now) = counters(pid) else {
            return;
        };
        match self.known.get_mut(&pid) {
            Some(k) if k.then.start == now.start => k.faults_seen = now.minor_faults,
            Some(_) | None => self.gone_since += 2 * PAGE * now.minor_faults,
        }
    }

    /// An upper bound on what the held processes hold alone now, with
    /// these processes alive; `None` when only an exact measure can tell.
    pub(super) fn bound(&mut self, processes: impl Iterator<Item = Pid>) -> Option<u64> {
        let measured = self.measured?;
        let mut growth = self.gone_since;
        let mut seen = Vec::new();
        for pid in processes {
            let now = counters(pid)?;
            match self.known.get_mut(&pid) {
                Some(k) if k.then.start == now.start => {
                    k.faults_seen = now.minor_faults;
                    let faulted = PAGE * now.minor_faults.saturating_sub(k.then.minor_faults);
                    let unmapped = (k.then.resident + faulted).saturating_sub(now.resident);
                    growth += 2 * faulted + unmapped;
                    seen.push(pid);
                }
                _ => growth += 2 * PAGE * now.minor_faults,
            }
        }
        for (pid, k) in &self.known {
            if !seen.contains(pid) {
                let faulted = PAGE * k.faults_seen.saturating_sub(k.then.minor_faults);
                growth += k.then.resident + 2 * faulted;
            }
        }
        Some(measured + growth)
    }
}

/// Whether the kernel backs any anonymous memory with huge pages (not
/// only what a program asked for with `madvise`).
fn huge_pages_for_all_memory() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").map_or(true, |s| s.contains("[always]"))
}

/// Resident bytes of a process (0 if it cannot be read): an upper bound
/// on what it holds alone, at no cost.
pub(super) fn resident(pid: Pid) -> u64 {
    resident_or_none(pid).unwrap_or(0)
}

fn resident_or_none(pid: Pid) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    Some(text.split_whitespace().nth(1)?.parse::<u64>().ok()? * PAGE)
}

/// What an exact measure of a process finds: the bytes only it maps
/// (`Private_Dirty`), and whether it maps transparent huge pages.
pub(super) struct Alone {
    pub(super) bytes: u64,
    pub(super) huge_pages: bool,
}

/// Walks the page tables of a process (through the kernel): what only it
/// maps (nothing, if it cannot be read).
pub(super) fn held_alone(pid: Pid) -> Alone {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let kib = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Alone {
        bytes: kib("Private_Dirty:") * 1024,
        huge_pages: kib("AnonHugePages:") > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that waits until its stdin closes, once it waits.
    fn waiting_child() -> std::process::Child {
        let child = std::process::Command::new("sh")
            .args(["-c", "read x"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stat = format!("/proc/{}/stat", child.id());
        while !std::fs::read_to_string(&stat).is_ok_and(|s| s.contains("(sh) S")) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        child
    }

    #[test]
    fn a_process_that_goes_counts_all_it_had() {
        if huge_pages_for_all_memory() {
            return;
        }
        let mut child = waiting_child();
        let pid = Pid::from_raw(child.id() as i32);
        let mut ledger = MemoryLedger::default();
        ledger.measured(1000, [pid].into_iter(), false);
        let had = resident(pid);
        assert!(had > 0);
        // While it is there and does nothing, little can have grown.
        let while_there = ledger.bound([pid].into_iter()).unwrap();
        assert!(while_there < 1000 + had, "{while_there}");
        drop(child.stdin.take());
        child.wait().unwrap();
        let after = ledger.bound(std::iter::empty()).unwrap();
        assert!(after >= 1000 + had, "{after} < 1000 + {had}");
    }

    #[test]
    fn no_bound_before_a_measure_or_with_huge_pages() {
        let mut ledger = MemoryLedger::default();
        assert_eq!(ledger.bound(std::iter::empty()), None);
        ledger.measured(0, std::iter::empty(), true);
        assert_eq!(ledger.bound(std::iter::empty()), None);
    }
}
