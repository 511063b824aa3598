//! Hardware watchpoints ([`Watch`]): programming the debug registers,
//! telling which watch fired, and deciding whether an access is reported
//! (a changed value for a write watch, an unchanged one for a read).

use crate::{Error, RemoteAddr, Result};

use super::run::Hit;
use super::{Point, Position, StopReason, Timeline};

/// The debug registers user watchpoints use (0 places recorded signals,
/// `COUNTER_SLOT` counts arrivals).
pub(super) const WATCH_SLOTS: [usize; 2] = [2, 3];

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
    pub(super) fn stop(&self) -> StopReason {
        StopReason::Watchpoint {
            addr: self.addr,
            kind: self.kind,
        }
    }

    /// The DR7 bits that arm this watch in debug register `slot`: local
    /// enable, RW (01 write, 11 read or write) and LEN.
    pub(super) fn dr7_bits(&self, slot: usize) -> u64 {
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

impl Timeline {
    /// Programs the watch slots of the live tracee with the user's watches
    /// (when the run uses them) and the goal's.
    pub(super) fn sync_watches(&mut self) -> Result<()> {
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
    pub(super) fn take_triggers(&mut self) -> Result<Vec<Watch>> {
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
    pub(super) fn note_triggers(&mut self, fired: &[Watch], mut hits: Option<&mut Vec<Hit>>) -> Result<Option<Watch>> {
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
    pub(super) fn snapshot_watch_values(&mut self) -> Result<()> {
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
    pub(super) fn changed_watch(&mut self) -> Result<Option<Watch>> {
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
}
