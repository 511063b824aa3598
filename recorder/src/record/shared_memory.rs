//! Memory a process shares with others (its `MAP_SHARED` mappings and
//! System V segments), and what others wrote into it while it waited for
//! its turn.
//!
//! A replay that follows one process (the debugger) runs no other process
//! once that one exists, and maps everything privately, so that its
//! checkpoints are copies: a write that another process made into memory
//! the followed one shares would be lost, and the followed process would
//! read stale values (and diverge at its next call that depends on them).
//! So whenever the turn goes to a process from another one, the recorder
//! compares the shared memory of the process whose turn begins with what
//! it held when that process's turn last ended, and records the bytes that
//! differ in the switch (`SwitchEvent::shared`): the replay writes them in
//! there. They are whatever changed them: another process of the
//! recording, the kernel for one, or a process outside the recording.
//!
//! Only processes that have mapped memory shared are looked at (a flag set
//! at the `mmap` or `shmat`, inherited at a fork, dropped at an exec), and
//! only at switches between processes, so a pipeline of processes that
//! share nothing costs nothing. A file mapped shared and read-only is left
//! out unless the recording opened it for writing (a search tool maps the
//! files it reads this way, often large ones): only a process outside the
//! recording could change it.

use std::collections::{HashMap, HashSet};

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use crate::syscallbuf::layout::RBACK_REGION;
use crate::trace::{Inode, MemWrite};
use crate::tracee::{parse_maps_line, Mapping};
use crate::RemoteAddr;

const PAGE: usize = 4096;

/// How much shared memory one process may have for the recorder to look
/// at it at every switch (it reads it twice per switch): beyond this the
/// process is left alone, and a replay that follows it does not see what
/// other processes write there (README, limits).
pub(crate) const SHARED_LIMIT: u64 = 64 << 20;

/// The processes that have mapped memory shared, and what the recorder
/// knows of that memory.
#[derive(Default)]
pub(super) struct SharedMemory {
    processes: HashMap<Pid, Known>,
    /// Counts the calls that may have changed which memory is mapped
    /// shared, or which of it is looked at: `/proc/PID/maps` is read again
    /// only after one (reading it at every switch cost more than the
    /// switch).
    maps_generation: u64,
    /// The inode numbers of the files the recording opened for writing
    /// (whatever their device: a collision costs a look, not a miss).
    written_files: HashSet<u64>,
}

enum Known {
    /// What it held when the process's turn last ended.
    Held(Snapshot),
    /// Not known (it could not be read): all of it is recorded at the
    /// process's next turn.
    Unknown,
    /// More than [`SHARED_LIMIT`]: not looked at.
    TooLarge,
}

/// The shared mappings of a process, with what could be read of them.
#[derive(Default)]
struct Snapshot {
    /// In address order, as `/proc/PID/maps` lists them.
    regions: Vec<Region>,
    /// The `maps_generation` the regions were found in.
    generation: u64,
}

struct Region {
    start: u64,
    bytes: Vec<u8>,
    /// Per page: whether it could be read (a file mapping past the end of
    /// its file, a device's memory cannot).
    readable: Vec<bool>,
}

impl SharedMemory {
    /// Process `tgid` made syscall `nr` with `args`, which succeeded (in
    /// its own turn, which ends later with a look at its shared memory).
    /// A call that maps or unmaps memory may change which memory is
    /// shared; a `vfork` child changes its parent's mappings, so any
    /// process's call counts.
    pub(super) fn called(&mut self, tgid: Pid, nr: i64, args: &[u64; 6]) {
        let shares = match nr {
            libc::SYS_mmap => args[3] as i32 & libc::MAP_SHARED != 0,
            libc::SYS_shmat => true,
            libc::SYS_munmap | libc::SYS_mremap | libc::SYS_shmdt => false,
            _ => return,
        };
        self.maps_generation += 1;
        if shares {
            self.processes.entry(tgid).or_insert(Known::Unknown);
        }
    }

    /// A process of the program opened `file` for writing: the read-only
    /// shared mappings of it are looked at from now on.
    pub(super) fn opened_for_writing(&mut self, file: Inode) {
        if self.written_files.insert(file.ino) {
            self.maps_generation += 1;
        }
    }

    /// Process `parent`, stopped at a fork, made process `child`, which
    /// starts with a copy of its memory, and with the same memory shared.
    pub(super) fn forked(&mut self, parent: Pid, child: Pid) {
        if let Some(known) = self.processes.get(&parent) {
            let copy = self.read(parent, known);
            self.processes.insert(child, copy);
        }
    }

    /// Process `tgid` exec'd (its mappings are gone) or ended.
    pub(super) fn forget(&mut self, tgid: Pid) {
        self.processes.remove(&tgid);
    }

    /// The turn goes from process `departing` to process `arriving`: keeps
    /// what the first's shared memory holds now, and returns what in the
    /// second's differs from when its own turn last ended.
    pub(super) fn switched(&mut self, departing: Pid, arriving: Pid) -> Vec<MemWrite> {
        if let Some(known) = self.processes.get(&departing) {
            let now = self.read(departing, known);
            self.processes.insert(departing, now);
        }
        let Some(before) = self.processes.remove(&arriving) else {
            return vec![];
        };
        let now = self.read(arriving, &before);
        let changed = match (&now, before) {
            (Known::Held(now), Known::Held(before)) => now.changes_since(&before),
            // Not known before: all of it.
            (Known::Held(now), _) => now.changes_since(&Snapshot::default()),
            _ => vec![],
        };
        self.processes.insert(arriving, now);
        changed
    }

    /// Whether another process of the recording may change shared mapping
    /// `m`: a writable one, anonymous memory, a System V segment or a
    /// memfd (named but deleted files, which no open names), or a file the
    /// recording opened for writing.
    fn may_change(&self, m: &Mapping) -> bool {
        let unnamed = !m.path.starts_with('/') || m.path.starts_with("/memfd:") || m.path.ends_with(" (deleted)");
        m.perms.as_bytes().get(1) == Some(&b'w') || unnamed || self.written_files.contains(&m.inode)
    }

    /// The shared memory of process `tgid` now, which was `known`: its
    /// mappings are looked up again only if they may have changed since.
    fn read(&self, tgid: Pid, known: &Known) -> Known {
        let ranges: Vec<(u64, u64)> = match known {
            Known::TooLarge => return Known::TooLarge,
            Known::Held(s) if s.generation == self.maps_generation => s
                .regions
                .iter()
                .map(|r| (r.start, r.start + r.bytes.len() as u64))
                .collect(),
            _ => {
                let Ok(maps) = std::fs::read_to_string(format!("/proc/{tgid}/maps")) else {
                    return Known::Unknown;
                };
                maps.lines()
                    .filter_map(parse_maps_line)
                    .filter(|m| m.perms.as_bytes().get(3) == Some(&b's') && self.may_change(m))
                    .filter(|m| m.end <= RBACK_REGION.0 || m.start >= RBACK_REGION.1)
                    .map(|m| (m.start, m.end))
                    .collect()
            }
        };
        if ranges.iter().map(|(s, e)| e - s).sum::<u64>() > SHARED_LIMIT {
            return Known::TooLarge;
        }
        let regions = ranges
            .into_iter()
            .map(|(start, end)| Region::read(tgid, start, (end - start) as usize))
            .collect();
        Known::Held(Snapshot {
            regions,
            generation: self.maps_generation,
        })
    }
}

impl Snapshot {
    /// The page at `addr` as this snapshot holds it, if it was read.
    fn page(&self, addr: u64) -> Option<&[u8]> {
        let i = self.regions.partition_point(|r| r.start + r.bytes.len() as u64 <= addr);
        let r = self.regions.get(i).filter(|r| r.start <= addr)?;
        let page = (addr - r.start) as usize / PAGE;
        r.readable[page].then(|| &r.bytes[page * PAGE..(page + 1) * PAGE])
    }

    /// The bytes of this snapshot that differ from `before`: each page's
    /// run from its first changed byte to its last (whole pages that were
    /// not in `before`), runs that meet joined into one write.
    fn changes_since(&self, before: &Snapshot) -> Vec<MemWrite> {
        // (Joined as plain vectors: a run of many changed pages is built
        // once, not copied again at every page.)
        let mut runs: Vec<(u64, Vec<u8>)> = vec![];
        for r in &self.regions {
            for (page, now) in r.bytes.chunks_exact(PAGE).enumerate() {
                if !r.readable[page] {
                    continue;
                }
                let addr = r.start + (page * PAGE) as u64;
                let (from, to) = match before.page(addr) {
                    Some(old) if old == now => continue,
                    Some(old) => {
                        let first = now.iter().zip(old).position(|(a, b)| a != b).unwrap_or(0);
                        let last = now.iter().zip(old).rposition(|(a, b)| a != b).unwrap_or(PAGE - 1);
                        (first, last + 1)
                    }
                    None => (0, PAGE),
                };
                let at = addr + from as u64;
                match runs.last_mut() {
                    Some((start, bytes)) if *start + bytes.len() as u64 == at => {
                        bytes.extend_from_slice(&now[from..to])
                    }
                    _ => runs.push((at, now[from..to].to_vec())),
                }
            }
        }
        runs.into_iter()
            .map(|(at, bytes)| MemWrite {
                addr: RemoteAddr(at),
                bytes: bytes.into(),
            })
            .collect()
    }
}

impl Region {
    /// `len` bytes of process `tgid`'s memory at `start`, read in one go
    /// up to the first page that cannot be read, then on from the page
    /// after it.
    fn read(tgid: Pid, start: u64, len: usize) -> Region {
        let mut bytes = vec![0u8; len];
        let mut readable = vec![false; len / PAGE];
        let mut at = 0;
        while at < len {
            let remote = [RemoteIoVec {
                base: start as usize + at,
                len: len - at,
            }];
            let got = process_vm_readv(tgid, &mut [std::io::IoSliceMut::new(&mut bytes[at..])], &remote).unwrap_or(0);
            let whole = got / PAGE * PAGE;
            readable[at / PAGE..(at + whole) / PAGE].fill(true);
            // The page it stopped in is skipped (a short read inside one
            // page is not had again whole).
            at += whole + PAGE;
        }
        Region { start, bytes, readable }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A region: its start, the bytes set in it (offset, value), its pages.
    type Spec<'a> = (u64, &'a [(usize, u8)], usize);

    fn snapshot(regions: &[Spec]) -> Snapshot {
        Snapshot {
            regions: regions
                .iter()
                .map(|&(start, set, pages)| {
                    let mut bytes = vec![0u8; pages * PAGE];
                    for &(i, v) in set {
                        bytes[i] = v;
                    }
                    Region {
                        start,
                        bytes,
                        readable: vec![true; pages],
                    }
                })
                .collect(),
            generation: 0,
        }
    }

    fn runs(writes: &[MemWrite]) -> Vec<(u64, usize)> {
        writes.iter().map(|w| (w.addr.0, w.bytes.len())).collect()
    }

    #[test]
    fn only_changed_bytes_are_written_and_runs_that_meet_are_joined() {
        let before = snapshot(&[(0x10000, &[], 3)]);
        let now = snapshot(&[(
            0x10000,
            &[(5, 1), (9, 2), (PAGE - 1, 3), (PAGE, 4), (2 * PAGE + 7, 5)],
            3,
        )]);
        let changes = now.changes_since(&before);
        assert_eq!(
            runs(&changes),
            vec![(0x10000 + 5, PAGE - 5 + 1), (0x10000 + 2 * PAGE as u64 + 7, 1)]
        );
        assert_eq!(changes[0].bytes[0], 1);
        assert_eq!(changes[0].bytes[4], 2);
        assert_eq!(*changes[0].bytes.last().unwrap(), 4);
        assert!(now.changes_since(&now).is_empty());
    }

    #[test]
    fn pages_not_seen_before_are_written_whole() {
        let before = snapshot(&[(0x10000, &[], 1)]);
        let now = snapshot(&[(0x10000, &[], 1), (0x20000, &[], 2)]);
        assert_eq!(runs(&now.changes_since(&before)), vec![(0x20000, 2 * PAGE)]);
    }

    #[test]
    fn unreadable_pages_are_skipped() {
        let before = snapshot(&[(0x10000, &[], 2)]);
        let mut now = snapshot(&[(0x10000, &[(1, 1), (PAGE + 1, 1)], 2)]);
        now.regions[0].readable[0] = false;
        assert_eq!(runs(&now.changes_since(&before)), vec![(0x10000 + PAGE as u64 + 1, 1)]);
    }

    #[test]
    fn read_only_files_are_looked_at_only_once_opened_for_writing() {
        let mapping = |perms: &str, inode: u64, path: &str| Mapping {
            start: 0x1000,
            end: 0x2000,
            perms: perms.into(),
            offset: 0,
            inode,
            path: path.into(),
        };
        let mut shared = SharedMemory::default();
        assert!(shared.may_change(&mapping("rw-s", 7, "/tmp/data")));
        assert!(shared.may_change(&mapping("r--s", 8, "/dev/zero (deleted)")));
        assert!(shared.may_change(&mapping("r--s", 9, "/SYSV00000000 (deleted)")));
        assert!(shared.may_change(&mapping("r--s", 10, "/memfd:ring (deleted)")));
        let file = mapping("r--s", 11, "/usr/share/big.index");
        assert!(!shared.may_change(&file));
        let before = shared.maps_generation;
        shared.opened_for_writing(Inode { dev: 1, ino: 11 });
        assert!(shared.may_change(&file));
        // The mappings are looked up again.
        assert!(shared.maps_generation > before);
    }

    #[test]
    fn a_region_reads_what_is_mapped_and_skips_what_is_not() {
        let me = nix::unistd::getpid();
        let data = vec![9u8; 4 * PAGE];
        let start = (data.as_ptr() as u64).div_ceil(PAGE as u64) * PAGE as u64;
        let region = Region::read(me, start, 3 * PAGE);
        assert_eq!(region.readable, vec![true; 3]);
        assert!(region.bytes.iter().all(|&b| b == 9));
        // The lowest pages of the address space are never mapped.
        let hole = Region::read(me, 0x1000, 2 * PAGE);
        assert_eq!(hole.readable, vec![false; 2]);
    }
}
