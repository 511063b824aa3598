//! A bounded fuzz test of the trace reader: real traces (one recorded from
//! `/bin/true`, one written frame by frame with every kind of event),
//! mutated at random (flipped bits, set bytes, lengths rewritten to claim
//! anything up to 2^32, cuts, deleted and repeated ranges), then read with
//! `TraceLog::load` and walked with `trace::check`.
//!
//! Each read must end in a value or an error, never a panic; take well
//! under a second; and never hold more memory than a small multiple of the
//! file's size, whatever lengths the file claims. The mutator is a seeded
//! xorshift, so a failure names the seed and the mutations that caused it.
//! The whole test runs for a few seconds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use recorder::trace::{
    self, CpuIdentity, Event, ExecEvent, ExitStatus, FileHash, Header, Left, MemWrite, Output, Placement, Registers,
    SignalEvent, SignalKind, StatePoint, Stream, SwitchEvent, SyscallEvent, TraceLog, TraceWriter, Word, EVENTS_FILE,
};
use recorder::RemoteAddr;

/// Counts the bytes each thread holds, and the most it held since the last
/// [`reset_peak`], so that a read can be checked for what it allocated.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counting touches only const-initialized thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts measuring: returns what the thread holds now.
fn reset_peak() -> isize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    live
}

fn peak_since(base: isize) -> u64 {
    (PEAK.with(Cell::get) - base).max(0) as u64
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Where each frame of `bytes` starts, as far as the lengths say.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![];
    let mut at = 12;
    while at + 8 <= bytes.len() {
        starts.push(at);
        at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    starts
}

/// Changes `bytes` in one random way and says how.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let n = bytes.len();
    match rng.below(9) {
        0 => {
            let (i, bit) = (rng.below(n), rng.below(8));
            bytes[i] ^= 1 << bit;
            format!("flip bit {bit} of byte {i}")
        }
        1 => {
            let (i, v) = (rng.below(n), rng.next() as u8);
            bytes[i] = v;
            format!("set byte {i} to {v}")
        }
        2..=4 => {
            // A frame's length: anything, something that fits the file, or
            // a huge claim.
            let starts = frame_starts(bytes);
            let Some(&at) = starts.get(rng.below(starts.len())) else {
                return "no frame to change".into();
            };
            let len = match rng.below(4) {
                0 => rng.next() as u32,
                1 => (n - at - 8) as u32,
                2 => rng.below(n - at) as u32,
                _ => (1u32 << 31) - 1 - rng.below(16) as u32,
            };
            bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
            format!("length of the frame at {at} set to {len}")
        }
        5 => {
            let cut = rng.below(n);
            bytes.truncate(cut);
            format!("cut at {cut}")
        }
        6 => {
            let at = rng.below(n);
            let len = rng.below((n - at).min(64)) + 1;
            bytes.drain(at..(at + len).min(n));
            format!("delete {len} bytes at {at}")
        }
        7 => {
            let at = rng.below(n);
            let len = rng.below((n - at).min(256)) + 1;
            let piece = bytes[at..(at + len).min(n)].to_vec();
            let to = rng.below(n);
            bytes.splice(to..to, piece);
            format!("repeat {len} bytes from {at} at {to}")
        }
        _ => {
            let at = rng.below(n);
            let len = rng.below((n - at).min(32)) + 1;
            bytes[at..(at + len).min(n)].fill(0xff);
            format!("fill {len} bytes at {at} with ff")
        }
    }
}

/// Reads the trace in `dir` both ways and checks time and memory.
fn read_and_measure(dir: &Path, file_len: u64, what: &dyn Fn() -> String) {
    let allowed = 8 * file_len + (8 << 20);
    let started = Instant::now();
    let base = reset_peak();
    let loaded = TraceLog::load(dir);
    if let Err(e) = &loaded {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{}: {text:?}", what());
    }
    drop(loaded);
    let mut events = 0u64;
    let checked = trace::check(dir, |_| events += 1);
    if let Ok(c) = &checked {
        assert_eq!(c.events, events, "{}", what());
        for p in &c.problems {
            assert!(!p.to_string().contains('\n'), "{}: {p}", what());
        }
    }
    drop(checked);
    let peak = peak_since(base);
    let took = started.elapsed();
    assert!(
        peak <= allowed,
        "{}: reading a {file_len}-byte trace held {peak} bytes",
        what()
    );
    assert!(
        took < Duration::from_secs(2),
        "{}: reading a {file_len}-byte trace took {took:?}",
        what()
    );
}

fn header() -> Header {
    Header {
        rback_version: "fuzz".into(),
        program: "/p".into(),
        argv: vec!["/p".into(), "a".into()],
        cwd: "/".into(),
        start_time: 1,
        cpu: CpuIdentity {
            vendor: "GenuineFuzz".into(),
            leaves: vec![(0, 0, [1, 2, 3, 4]), (1, 0, [5, 6, 7, 8])],
        },
    }
}

/// A trace with every kind of event, written with `TraceWriter`.
fn write_every_kind(dir: &Path) {
    let hash = FileHash("ab".repeat(32));
    let point = StatePoint {
        word: Word::Memory(0x1000),
        value: 7,
        memory: vec![9; 32],
    };
    let events = vec![
        Event::Exec(Box::new(ExecEvent {
            exe_path: "/p".into(),
            exe: hash.clone(),
            interp: Some(("/lib/ld.so".into(), hash.clone())),
            argv: vec!["/p".into(), "a".into()],
            stack: MemWrite {
                addr: RemoteAddr(0x7ffd_0000),
                bytes: (0..300u32).map(|i| i as u8).collect::<Vec<u8>>().into(),
            },
            regs: Registers([3; 27]),
            pid: 100,
            image: None,
        })),
        Event::Syscall(Box::new(SyscallEvent {
            nr: 0,
            args: [3, 0x1000, 64, 0, 0, 0],
            result: 64,
            writes: vec![MemWrite {
                addr: RemoteAddr(0x1000),
                bytes: vec![0x5a; 64].into(),
            }],
            output: None,
            mapped_file: None,
            memory: vec![6; 32],
            buffered: false,
            opened_file: None,
        })),
        Event::Syscall(Box::new(SyscallEvent {
            nr: 9,
            args: [0, 4096, 1, 2, 3, 0],
            result: 0x7000_0000,
            writes: vec![],
            output: None,
            mapped_file: Some(hash),
            memory: vec![],
            buffered: false,
            opened_file: None,
        })),
        Event::Rdtsc {
            tsc: 1 << 40,
            aux: None,
        },
        Event::Signal(Box::new(SignalEvent {
            signo: 10,
            kind: SignalKind::Asynchronous,
            siginfo: vec![1; 128],
            regs: Registers([4; 27]),
            at_execution: Some(12),
            at_state: Some(Box::new(point.clone())),
        })),
        Event::Switch(Box::new(SwitchEvent {
            to: 101,
            process: 100,
            left: Left::Preempted {
                regs: Box::new(Registers([5; 27])),
                at: Placement::State(Box::new(point)),
            },
            shared: vec![MemWrite {
                addr: RemoteAddr(0x7000_1000),
                bytes: vec![1, 2, 3].into(),
            }],
        })),
        Event::Switch(Box::new(SwitchEvent {
            to: 100,
            process: 100,
            left: Left::AtSyscall { nr: 202 },
            shared: vec![],
        })),
        Event::Switch(Box::new(SwitchEvent {
            to: 102,
            process: 102,
            left: Left::InVfork,
            shared: vec![],
        })),
        Event::Switch(Box::new(SwitchEvent {
            to: 100,
            process: 100,
            left: Left::ProcessExited(ExitStatus::Killed {
                signo: 9,
                core_dumped: false,
            }),
            shared: vec![],
        })),
        Event::Syscall(Box::new(SyscallEvent {
            nr: 1,
            args: [1, 0x1000, 5, 0, 0, 0],
            result: 5,
            writes: vec![],
            output: Some(Output {
                stream: Stream::Stdout,
                bytes: b"hello".to_vec(),
            }),
            mapped_file: None,
            memory: vec![],
            buffered: false,
            opened_file: None,
        })),
        Event::Exit(ExitStatus::Killed {
            signo: 9,
            core_dumped: false,
        }),
    ];
    let mut w = TraceWriter::create(dir, &header()).unwrap();
    for e in &events {
        w.write_event(e).unwrap();
    }
    w.finish(Some("stopped for the test".into())).unwrap();
}

fn record_true(dir: &Path) {
    let outcome = recorder::record::record(&recorder::record::RecordOptions {
        program: "/bin/true".into(),
        args: vec![],
        trace_dir: dir.to_path_buf(),
        check_memory: None,
        syscall_buffer: true,
    })
    .expect("recording /bin/true works");
    assert!(outcome.error.is_none(), "recording /bin/true stopped early");
}

#[test]
fn mutated_traces_read_without_panic_hang_or_unbounded_allocation() {
    let scratch = tempfile::tempdir().unwrap();
    let written = scratch.path().join("written");
    let recorded = scratch.path().join("recorded");
    std::fs::create_dir(&written).unwrap();
    std::fs::create_dir(&recorded).unwrap();
    write_every_kind(&written);
    record_true(&recorded);
    let originals: Vec<(&Path, Vec<u8>)> = [written.as_path(), recorded.as_path()]
        .into_iter()
        .map(|dir| (dir, std::fs::read(dir.join(EVENTS_FILE)).unwrap()))
        .collect();
    for (dir, bytes) in &originals {
        let log = TraceLog::load(dir).expect("the unmutated trace reads");
        assert!(log.trailer().is_some());
        assert!(trace::check(dir, |_| {}).unwrap().is_sound());
        assert!(frame_starts(bytes).len() > 5);
    }

    // The measuring itself works.
    let base = reset_peak();
    drop(std::hint::black_box(vec![1u8; 1 << 20]));
    assert!(peak_since(base) >= 1 << 20);

    let started = Instant::now();
    let mut cases = 0u64;
    let mut seed = 0x5eed_u64;
    // At least this many cases, then more until the time is up.
    while cases < 300 || started.elapsed() < Duration::from_secs(3) {
        seed += 1;
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (dir, good) = &originals[rng.below(originals.len())];
        let mut bytes = good.clone();
        let mut done = vec![];
        for _ in 0..1 + rng.below(3) {
            if bytes.len() < 13 {
                break;
            }
            done.push(mutate(&mut bytes, &mut rng));
        }
        std::fs::write(dir.join(EVENTS_FILE), &bytes).unwrap();
        read_and_measure(dir, bytes.len() as u64, &|| format!("seed {seed}: {}", done.join(", ")));
        cases += 1;
        if cases > 100_000 {
            break;
        }
    }
    eprintln!("{cases} mutated traces read in {:?}", started.elapsed());
}

/// Every length a frame can claim, from 0 to 2^32 - 1 in big steps and
/// around the edges, in every frame of a trace: the reader allocates no
/// more than the file can hold.
#[test]
fn every_claimed_length_is_bounded_by_the_file() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    write_every_kind(dir);
    let good = std::fs::read(dir.join(EVENTS_FILE)).unwrap();
    let mut lengths: Vec<u32> = (0..32).map(|bit| 1u32 << bit).collect();
    lengths.extend([0, u32::MAX, (1 << 31) - 1, 1 << 31]);
    for &at in &frame_starts(&good) {
        let left = (good.len() - at - 8) as u32;
        for &len in lengths.iter().chain(&[left.saturating_sub(1), left, left + 1]) {
            let mut bytes = good.clone();
            bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
            std::fs::write(dir.join(EVENTS_FILE), &bytes).unwrap();
            read_and_measure(dir, bytes.len() as u64, &|| {
                format!("frame at {at} claiming {len} bytes")
            });
        }
    }
}
