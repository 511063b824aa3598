//! The time-travel engine end to end: a C program is compiled, recorded
//! with `rback record`, and travelled through with the recorder's API.

use std::path::{Path, PathBuf};
use std::process::Command;

use recorder::timeline::{Position, StopReason, Timeline, WatchKind};
use recorder::RemoteAddr;

struct Recorded {
    _dir: tempfile::TempDir,
    trace: PathBuf,
    tick: RemoteAddr,
    counter: RemoteAddr,
}

fn symbol(binary: &Path, name: &str) -> RemoteAddr {
    let out = Command::new("nm").arg(binary).output().expect("nm runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .unwrap_or_else(|| panic!("{name} not in nm output"));
    RemoteAddr(u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap())
}

fn record_tick_loop() -> Recorded {
    let (dir, bin, trace) = record_program("tick_loop");
    Recorded {
        tick: symbol(&bin, "tick"),
        counter: symbol(&bin, "counter"),
        trace,
        _dir: dir,
    }
}

/// Compiles `tests/programs/NAME.c` (not position-independent, so `nm`
/// gives run-time addresses) and records it; returns the scratch directory,
/// the binary and the trace.
fn record_program(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    record_program_with(name, &[])
}

fn record_program_with(name: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{name}.c"));
    let bin = dir.path().join(name);
    let st = Command::new("gcc")
        .args(["-g", "-O1", "-no-pie", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let trace = dir.path().join("trace");
    std::fs::create_dir(&trace).unwrap();
    let outcome = recorder::record::record(&recorder::record::RecordOptions {
        program: bin.display().to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        trace_dir: trace.clone(),
        check_memory: None,
        syscall_buffer: true,
    })
    .unwrap();
    assert!(outcome.error.is_none(), "recording failed: {:?}", outcome.error);
    (dir, bin, trace)
}

fn read_u64(t: &Timeline, addr: RemoteAddr) -> u64 {
    u64::from_le_bytes(t.read_memory(addr, 8).unwrap().try_into().unwrap())
}

fn snapshot(t: &Timeline, r: &Recorded) -> (u64, u64, u64) {
    let regs = t.regs().unwrap();
    (regs.rip, regs.rsp, read_u64(t, r.counter))
}

#[test]
fn breakpoints_forward_and_backward_see_the_recorded_values() {
    let r = record_tick_loop();
    for interval in [1, 7] {
        let mut t = Timeline::open(&r.trace, interval).unwrap();
        t.set_breakpoint(r.tick);
        // tick(i) adds i: on entry to call i the counter is the sum of 0..i.
        let mut seen = vec![];
        let mut signals = 0;
        while seen.len() < 40 {
            match t.cont().unwrap() {
                StopReason::Breakpoint(a) if a == r.tick => seen.push(read_u64(&t, r.counter)),
                // The program raises SIGUSR1 four times; like gdb, rback
                // stops before delivering it.
                StopReason::Signal(10) => signals += 1,
                other => panic!("unexpected stop {other:?} after {} hits", seen.len()),
            }
        }
        assert_eq!(signals, 3);
        let sums: Vec<u64> = (0..40u64).map(|i| (0..i).sum()).collect();
        assert_eq!(seen, sums);
        assert_eq!(t.cont().unwrap(), StopReason::Signal(10));
        assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
        // Back through every call, newest first.
        for i in (0..40u64).rev() {
            assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(r.tick), "call {i}");
            assert_eq!(read_u64(&t, r.counter), (0..i).sum::<u64>(), "call {i}");
        }
        assert_eq!(t.reverse_cont().unwrap(), StopReason::StartOfRecording);
    }
}

#[test]
fn reverse_stepi_retraces_forward_steps_exactly() {
    let r = record_tick_loop();
    let mut t = Timeline::open(&r.trace, 5).unwrap();
    t.set_breakpoint(r.tick);
    for _ in 0..9 {
        t.cont().unwrap();
    }
    t.remove_breakpoint(r.tick);
    // Forward across the getpid syscall, the raise and the handler, until
    // three events have passed.
    let mut states = vec![(t.position(), snapshot(&t, &r))];
    let mut crossings = vec![];
    while crossings.len() < 3 {
        assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
        let before = states.last().unwrap().0;
        if t.position().event != before.event {
            crossings.push(states.len());
        }
        states.push((t.position(), snapshot(&t, &r)));
        assert!(states.len() < 50_000, "no events in 50000 steps");
    }
    for _ in 0..10 {
        t.stepi().unwrap();
        states.push((t.position(), snapshot(&t, &r)));
    }
    let back_to = crossings[0].saturating_sub(10);
    for (pos, state) in states[back_to..].iter().rev().skip(1) {
        assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
        assert_eq!(snapshot(&t, &r), *state, "expected {pos:?}, now {:?}", t.position());
    }
}

#[test]
fn goto_event_and_stored_positions_come_back_to_the_same_state() {
    let r = record_tick_loop();
    let mut t = Timeline::open(&r.trace, 3).unwrap();
    let last = t.events().0;
    let mut marks: Vec<(Position, (u64, u64, u64))> = vec![];
    for e in [1, last / 2, 5, last - 2, 2] {
        t.goto_event(recorder::EventIdx(e)).unwrap();
        for _ in 0..3 {
            t.stepi().unwrap();
        }
        marks.push((t.position(), snapshot(&t, &r)));
    }
    for (pos, state) in marks.iter().rev() {
        t.goto_position(*pos).unwrap();
        assert_eq!(snapshot(&t, &r), *state, "{pos:?}");
    }
    assert!(t.goto_event(recorder::EventIdx(last + 5)).is_err());
}

#[test]
fn write_watchpoint_stops_at_each_change_forward_and_before_it_backward() {
    let (_dir, bin, trace) = record_program("watch_target");
    let value = symbol(&bin, "value");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_watchpoint(value, 8, WatchKind::Write).unwrap();
    // Forward: stores of an unchanged value are not reported.
    let mut forward = vec![];
    loop {
        match t.cont().unwrap() {
            StopReason::Watchpoint { addr, kind } => {
                assert_eq!((addr, kind), (value, WatchKind::Write));
                forward.push(read_u64(&t, value));
            }
            StopReason::EndOfRecording => break,
            other => panic!("unexpected stop {other:?}"),
        }
    }
    assert_eq!(forward, (1..=9).collect::<Vec<u64>>());
    // Backward: each stop is just before the store, so the old value shows;
    // one step forward performs the store again.
    let mut backward = vec![];
    loop {
        match t.reverse_cont().unwrap() {
            StopReason::Watchpoint { .. } => {
                let before = read_u64(&t, value);
                backward.push(before);
                let at = t.position();
                assert_eq!(
                    t.stepi().unwrap(),
                    StopReason::Watchpoint {
                        addr: value,
                        kind: WatchKind::Write
                    }
                );
                assert_eq!(read_u64(&t, value), before + 1);
                t.goto_position(at).unwrap();
                assert_eq!(read_u64(&t, value), before);
            }
            StopReason::StartOfRecording => break,
            other => panic!("unexpected stop {other:?}"),
        }
    }
    assert_eq!(backward, (0..=8).rev().collect::<Vec<u64>>());
}

#[test]
fn watchpoint_sees_memory_a_system_call_wrote() {
    let (_dir, bin, trace) = record_program("watch_target");
    let buf = symbol(&bin, "buf");
    let mut t = Timeline::open(&trace, 3).unwrap();
    t.set_watchpoint(buf, 8, WatchKind::Write).unwrap();
    assert_eq!(
        t.cont().unwrap(),
        StopReason::Watchpoint {
            addr: buf,
            kind: WatchKind::Write
        }
    );
    assert_eq!(&t.read_memory(buf, 5).unwrap(), b"hello");
    let after_read = t.position();
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
    // Backward it stops just before the read, which the next step replays.
    assert_eq!(
        t.reverse_cont().unwrap(),
        StopReason::Watchpoint {
            addr: buf,
            kind: WatchKind::Write
        }
    );
    assert_eq!(t.read_memory(buf, 5).unwrap(), vec![0; 5]);
    t.stepi().unwrap();
    assert_eq!(t.position(), after_read);
    assert_eq!(&t.read_memory(buf, 5).unwrap(), b"hello");
    assert_eq!(
        t.reverse_cont().unwrap(),
        StopReason::Watchpoint {
            addr: buf,
            kind: WatchKind::Write
        }
    );
    assert_eq!(t.reverse_cont().unwrap(), StopReason::StartOfRecording);
}

#[test]
fn scratch_writes_are_thrown_away_when_time_moves() {
    let (_dir, bin, trace) = record_program("watch_target");
    let value = symbol(&bin, "value");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_watchpoint(value, 8, WatchKind::Write).unwrap();
    t.cont().unwrap();
    t.cont().unwrap();
    assert_eq!(read_u64(&t, value), 2);
    let here = t.position();
    t.write_memory(value, &77u64.to_le_bytes()).unwrap();
    assert!(t.has_scratch_changes());
    assert_eq!(read_u64(&t, value), 77);
    t.goto_position(here).unwrap();
    assert!(!t.has_scratch_changes());
    assert_eq!(read_u64(&t, value), 2);
    assert_eq!(
        t.cont().unwrap(),
        StopReason::Watchpoint {
            addr: value,
            kind: WatchKind::Write
        }
    );
    assert_eq!(read_u64(&t, value), 3);
}

#[test]
fn registers_maps_and_auxv_of_the_replayed_program() {
    let (_dir, _bin, trace) = record_program("watch_target");
    let t = Timeline::open(&trace, 5).unwrap();
    let fp = t.fp_regs().unwrap();
    // MXCSR's power-on default.
    assert_eq!(u32::from_le_bytes(fp.fxsave[24..28].try_into().unwrap()), 0x1f80);
    // The program runs from the trace's own copy of the binary.
    let maps = t.mappings().unwrap();
    assert!(maps.contains(&trace.join("files").display().to_string()), "{maps}");
    let auxv = t.auxv().unwrap();
    assert!(auxv.len() >= 16 && auxv.len().is_multiple_of(16));
    assert!(t.siginfo().unwrap().is_none());
}

#[test]
fn reverse_continue_finds_the_last_of_fifty_thousand_breakpoint_hits_in_one_interval() {
    // Each counted execution costs a debug exception (about 15 µs in these
    // VMs, see bench/README.md), so the test keeps the loop modest; the
    // benchmark runs millions.
    let n: u64 = 50_000;
    let (_dir, bin, trace) = record_program_with("shapes", &["loop", &n.to_string()]);
    let step = symbol(&bin, "step");
    let total = symbol(&bin, "total");
    let mut t = Timeline::open(&trace, 5).unwrap();
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
    assert_eq!(read_u64(&t, total), n * (n + 1) / 2);
    t.set_breakpoint(step);
    // On entry to call i the total is the sum of 1..i.
    for i in [n, n - 1, n - 2] {
        assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(step));
        assert_eq!(read_u64(&t, total), (i - 1) * i / 2, "call {i}");
    }
    let deep = t.position();
    // Stepping back and forth inside the long syscall-free stretch.
    let before = snapshot_regs(&t);
    for _ in 0..5 {
        assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    }
    for _ in 0..5 {
        assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
    }
    assert_eq!(snapshot_regs(&t), before);
    assert_eq!(t.position(), deep);
    assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(step));
    assert_eq!(read_u64(&t, total), (n - 2) * (n - 1) / 2);
}

fn snapshot_regs(t: &Timeline) -> (u64, u64, u64, u64) {
    let r = t.regs().unwrap();
    (r.rip, r.rsp, r.rbp, r.rdi)
}

#[test]
fn recursion_is_retraced_frame_by_frame_in_both_directions() {
    let (_dir, bin, trace) = record_program_with("shapes", &["recurse", "20"]);
    let fact = symbol(&bin, "fact");
    let depth = symbol(&bin, "depth");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_breakpoint(fact);
    let mut forward = vec![];
    while let StopReason::Breakpoint(_) = t.cont().unwrap() {
        forward.push((t.regs().unwrap().rsp, read_u64(&t, depth), t.position()));
    }
    assert_eq!(forward.len(), 20);
    assert!(forward.windows(2).all(|w| w[1].0 < w[0].0), "each call is deeper");
    let mut backward = vec![];
    while let StopReason::Breakpoint(_) = t.reverse_cont().unwrap() {
        backward.push((t.regs().unwrap().rsp, read_u64(&t, depth), t.position()));
    }
    backward.reverse();
    assert_eq!(backward, forward);
}

/// A tiny deterministic generator, so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn property_random_positions_reverse_then_forward_and_fresh_replay_agree() {
    let r = record_tick_loop();
    let mut t = Timeline::open(&r.trace, 4).unwrap();
    let last = t.events().0;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for case in 0..12 {
        let event = 1 + rng.below(last - 2);
        t.goto_event(recorder::EventIdx(event)).unwrap();
        for _ in 0..rng.below(40) {
            if t.stepi().unwrap() != StopReason::Stepped {
                break;
            }
        }
        let here = t.position();
        let state = (snapshot(&t, &r), t.read_memory(r.counter.offset(8), 64 * 8).unwrap());
        // N steps back then N forward come back to the same state.
        let n = 1 + rng.below(25);
        let mut back = 0;
        while back < n && t.reverse_stepi().unwrap() == StopReason::Stepped {
            back += 1;
        }
        let behind = t.position();
        let behind_state = snapshot(&t, &r);
        for _ in 0..back {
            t.stepi().unwrap();
        }
        let again = (snapshot(&t, &r), t.read_memory(r.counter.offset(8), 64 * 8).unwrap());
        assert_eq!(again, state, "case {case}: {n} steps back and forth from {here:?}");
        assert_eq!(t.position(), here, "case {case}");
        // The position reached backward is the one a fresh replay reaches.
        let mut fresh = Timeline::open(&r.trace, 1000).unwrap();
        fresh.goto_position(behind).unwrap();
        assert_eq!(
            snapshot(&fresh, &r),
            behind_state,
            "case {case}: fresh replay to {behind:?}"
        );
    }
}

#[test]
fn property_reverse_continue_finds_the_hit_a_forward_scan_remembers() {
    let r = record_tick_loop();
    let mut t = Timeline::open(&r.trace, 6).unwrap();
    t.set_breakpoint(r.tick);
    // Forward: every hit's position and state, in order.
    let mut hits = vec![];
    loop {
        match t.cont().unwrap() {
            StopReason::Breakpoint(_) => hits.push((t.position(), snapshot(&t, &r))),
            StopReason::Signal(_) => {}
            StopReason::EndOfRecording => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..10 {
        // From a random hit plus some steps, reverse-continue lands on the
        // last hit strictly before.
        let k = 1 + rng.below(hits.len() as u64 - 1) as usize;
        t.goto_position(hits[k].0).unwrap();
        let steps = rng.below(3);
        for _ in 0..steps {
            t.stepi().unwrap();
        }
        let expect = if steps == 0 { &hits[k - 1] } else { &hits[k] };
        assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(r.tick), "case {case}");
        assert_eq!(snapshot(&t, &r), expect.1, "case {case}: from hit {k} + {steps} steps");
    }
}

#[test]
fn a_one_gib_heap_is_checkpointed_and_travelled_within_the_memory_budget() {
    let (_dir, bin, trace) = record_program_with("shapes", &["heap", "1024"]);
    let touch = symbol(&bin, "touch");
    let total = symbol(&bin, "total");
    let policy = recorder::timeline::CheckpointPolicy {
        every_events: 20,
        memory_budget: 1 << 30,
        ..Default::default()
    };
    let mut t = Timeline::open_with(&trace, policy).unwrap();
    t.set_breakpoint(touch);
    let mut totals = vec![];
    while let StopReason::Breakpoint(_) = t.cont().unwrap() {
        totals.push(read_u64(&t, total));
    }
    assert_eq!(totals.len(), 200);
    assert!(t.checkpoints().len() >= 5, "checkpoints were taken along the way");
    assert!(t.checkpoint_memory() <= 1 << 30, "{} bytes held", t.checkpoint_memory());
    for want in totals.iter().rev().take(30) {
        assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(touch));
        assert_eq!(read_u64(&t, total), *want);
    }
}

#[test]
fn reverse_stepi_right_after_a_long_syscall_free_stretch_finds_the_previous_instruction() {
    // The system call after a long loop runs once in its interval: the
    // instruction before it is found from where a tick saw the loop, not
    // by single-stepping the whole loop.
    let (_dir, bin, trace) = record_program_with("shapes", &["loop", "300000"]);
    let total = symbol(&bin, "total");
    let mut t = Timeline::open(&trace, 5).unwrap();
    let mut after_loop = None;
    for e in 2..t.events().0 {
        t.goto_event(recorder::EventIdx(e)).unwrap();
        if read_u64(&t, total) == 300_000 * 300_001 / 2 {
            after_loop = Some(e);
            break;
        }
    }
    assert!(after_loop.is_some(), "an event right after the loop");
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let at_syscall = t.position();
    if recorder::counter::backend() == recorder::counter::Backend::DebugRegister {
        // Without perf counters there are no ticks to find the loop by.
        let err = t.reverse_stepi().unwrap_err().to_string();
        assert!(err.contains("reverse stepping cannot reach it"), "{err}");
        t.goto_position(at_syscall).unwrap();
        return;
    }
    let syscall_regs = snapshot_regs(&t);
    // Several instructions back, into the loop's last iteration, and forward again.
    let mut states = vec![syscall_regs];
    for _ in 0..12 {
        assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
        states.push(snapshot_regs(&t));
    }
    for state in states.iter().rev().skip(1) {
        assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
        assert_eq!(snapshot_regs(&t), *state);
    }
    t.goto_position(at_syscall).unwrap();
    assert_eq!(snapshot_regs(&t), syscall_regs);
}

#[test]
fn a_shared_mapping_is_not_shared_with_checkpoints() {
    // Were the MAP_SHARED page shared between the live process and its
    // checkpoints, going back would show later values.
    let (_dir, bin, trace) = record_program_with("shapes", &["shared", "30"]);
    let mark = symbol(&bin, "mark");
    let mut t = Timeline::open(&trace, 3).unwrap();
    t.set_breakpoint(mark);
    let mut page = None;
    for i in 1..=30u64 {
        assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(mark));
        let p = RemoteAddr(t.regs().unwrap().rdi);
        page = Some(p);
        assert_eq!(read_u64(&t, p), i - 1);
    }
    let page = page.unwrap();
    for i in (1..30u64).rev() {
        assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(mark));
        assert_eq!(read_u64(&t, page), i - 1, "call {i}");
    }
}

#[test]
fn stepping_off_a_breakpoint_the_way_gdb_does_keeps_reverse_continue_exact() {
    // gdb takes a breakpoint out, steps past it and puts it back before
    // every continue.
    let r = record_tick_loop();
    let mut t = Timeline::open(&r.trace, 4).unwrap();
    t.set_breakpoint(r.tick);
    let mut hits = vec![];
    for _ in 0..12 {
        loop {
            t.remove_breakpoint(r.tick);
            t.stepi().unwrap();
            t.set_breakpoint(r.tick);
            match t.cont().unwrap() {
                StopReason::Breakpoint(_) => break,
                StopReason::Signal(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
        hits.push(read_u64(&t, r.counter));
    }
    for want in hits.iter().rev().skip(1) {
        t.remove_breakpoint(r.tick);
        t.stepi().unwrap();
        t.reverse_stepi().unwrap();
        t.set_breakpoint(r.tick);
        assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(r.tick));
        assert_eq!(read_u64(&t, r.counter), *want);
    }
}

#[test]
fn an_interrupt_stops_a_syscall_free_stretch_at_its_start() {
    // About a second of native work with no system call in it.
    let (_dir, bin, trace) = record_program_with("shapes", &["loop", "300000000"]);
    let total = symbol(&bin, "total");
    let mut t = Timeline::open(&trace, 5).unwrap();
    let interrupter = t.interrupter();
    let started = std::time::Instant::now();
    let ctrl_c = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(150));
        interrupter.interrupt();
    });
    assert_eq!(t.cont().unwrap(), StopReason::Interrupted);
    ctrl_c.join().unwrap();
    let took = started.elapsed();
    // Where a position exists: the start of the loop's interval.
    let at = t.position();
    assert_eq!(at.point, recorder::timeline::Point::Start { steps: 0 });
    assert_eq!(read_u64(&t, total), 0);
    assert!(took.as_secs_f64() < 0.9 * full_run(&trace), "took {took:?}");
    // And time goes on from there.
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
    assert_eq!(read_u64(&t, total), 300_000_000u64 * 300_000_001 / 2);
}

#[test]
fn interrupts_repeated_until_the_movement_ends_still_settle_on_a_position() {
    // gdb's server repeats an interrupt until the movement returns, since
    // one that comes before the movement begins is forgotten. Those that
    // come while the movement settles must not cut the settling short.
    let (_dir, bin, trace) = record_program_with("shapes", &["loop", "300000000"]);
    let total = symbol(&bin, "total");
    // Sparse checkpoints: settling replays the whole start-up again.
    let mut t = Timeline::open(&trace, 1000).unwrap();
    let interrupter = t.interrupter();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ctrl_c = std::thread::spawn({
        let done = done.clone();
        move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                interrupter.interrupt();
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    });
    let stop = t.cont();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    ctrl_c.join().unwrap();
    assert_eq!(stop.unwrap(), StopReason::Interrupted);
    assert_eq!(t.position().point, recorder::timeline::Point::Start { steps: 0 });
    assert_eq!(read_u64(&t, total), 0);
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
}

/// Seconds an uninterrupted continue to the end takes.
fn full_run(trace: &Path) -> f64 {
    let mut t = Timeline::open(trace, 5).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
    started.elapsed().as_secs_f64()
}

#[test]
fn reverse_steps_inside_a_long_loop_start_from_anchors_and_stay_exact() {
    let (_dir, bin, trace) = record_program_with("shapes", &["loop", "100000"]);
    let step = symbol(&bin, "step");
    let total = symbol(&bin, "total");
    let mut t = Timeline::open(&trace, 5).unwrap();
    let mut e = 0;
    for i in 2..t.events().0 {
        t.goto_event(recorder::EventIdx(i)).unwrap();
        if read_u64(&t, total) != 0 {
            e = i - 1;
            break;
        }
    }
    let before = t.checkpoints().len();
    let deep = Position {
        event: recorder::EventIdx(e),
        point: recorder::timeline::Point::Arrival {
            addr: step,
            nth: 90_000,
            steps: 0,
        },
    };
    t.goto_position(deep).unwrap();
    assert_eq!(read_u64(&t, total), 89_999 * 90_000 / 2);
    // The run there left anchors inside the loop's interval.
    let anchors = t
        .checkpoints()
        .iter()
        .filter(|c| c.position.event.0 == e && matches!(c.position.point, recorder::timeline::Point::Arrival { .. }))
        .count();
    assert!(anchors > 0 && t.checkpoints().len() > before, "{anchors} anchors");
    // Forward 40 steps (several iterations), then back: each state again.
    let mut states = vec![snapshot_regs(&t)];
    for _ in 0..40 {
        t.stepi().unwrap();
        states.push(snapshot_regs(&t));
    }
    for state in states.iter().rev().skip(1) {
        assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
        assert_eq!(snapshot_regs(&t), *state);
    }
    assert_eq!(t.position(), deep);
    // Anchors and a fresh replay agree on a position between two of them.
    let mid = Position {
        point: recorder::timeline::Point::Arrival {
            addr: step,
            nth: 45_000,
            steps: 3,
        },
        ..deep
    };
    t.goto_position(mid).unwrap();
    let via_anchor = (snapshot_regs(&t), read_u64(&t, total));
    let mut fresh = Timeline::open(&trace, 1000).unwrap();
    fresh.goto_position(mid).unwrap();
    assert_eq!((snapshot_regs(&fresh), read_u64(&fresh, total)), via_anchor);
}

#[test]
fn reverse_stepi_after_a_long_loop_and_many_calls_steps_back_to_the_call_and_before() {
    // A syscall-free stretch: a loop of a few hundred million rounds, then
    // twenty thousand calls of step(), then done(). The instruction before
    // done's first arrival is its call: it is found and reached without
    // counting the loop's rounds (which would take an hour), from a snapshot
    // the continue left on its way.
    let m: u64 = 20_000;
    let (_dir, bin, trace) = record_program_with("shapes", &["spin", "300000000", &m.to_string()]);
    let done = symbol(&bin, "done");
    let total = symbol(&bin, "total");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_breakpoint(done);
    assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(done));
    let at_done = snapshot_regs(&t);
    let sum = read_u64(&t, total);
    assert!(
        sum.wrapping_sub(m * (m + 1) / 2) <= 1,
        "the loop's bit plus the calls' sum"
    );
    let ret = read_u64(&t, RemoteAddr(at_done.1));
    if recorder::counter::backend() == recorder::counter::Backend::DebugRegister {
        // Without perf counters the step back is found by single steps from
        // the interval's start, which is too far.
        let err = t.reverse_stepi().unwrap_err().to_string();
        assert!(err.contains("reverse stepping cannot reach it"), "{err}");
        return;
    }
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let at_call = snapshot_regs(&t);
    assert_eq!(at_call.0, ret - 5, "on the call of done");
    assert_eq!(at_call.1, at_done.1 + 8, "before the call pushed its return address");
    assert_eq!(read_u64(&t, total), sum);
    let call = t.position();
    assert!(matches!(
        call.point,
        recorder::timeline::Point::Arrival { addr, nth: 1, steps: 0 } if addr.0 == ret - 5
    ));
    // Once more: into the last round of the calls' loop, which ran twenty
    // thousand times (counted, with a bounded cost).
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let before_call = snapshot_regs(&t);
    assert_eq!(before_call.1, at_call.1);
    // The loop's exit branch, right before the call, in its last round.
    assert!(
        before_call.0 < at_call.0 && at_call.0 - before_call.0 <= 6,
        "{before_call:x?}"
    );
    // Named by the arrival it comes right before (its last run before the
    // call's first arrival), not by a count of its runs since the last
    // event, which would cost a debug exception per round of the loop.
    let branch = t.position();
    assert_eq!(
        branch.point,
        recorder::timeline::Point::Before {
            addr: RemoteAddr(before_call.0),
            back: 1,
            until: RemoteAddr(at_call.0),
            until_nth: 1,
            steps: 0
        }
    );
    // Once more, into the loop's last round: the instruction before its
    // exit branch (the loop's test), the same stack.
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let before_branch = snapshot_regs(&t);
    let test = t.position();
    assert!(before_branch.0 < before_call.0, "{before_branch:x?}");
    assert_eq!(before_branch.1, at_call.1);
    // And forward again through the same states.
    assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
    assert_eq!(snapshot_regs(&t), before_call);
    assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
    assert_eq!(snapshot_regs(&t), at_call);
    assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
    assert_eq!(snapshot_regs(&t), at_done);
    // The stored positions name the same places in a fresh replay, which
    // finds them from the interval's start.
    let mut fresh = Timeline::open(&trace, 1000).unwrap();
    fresh.goto_position(call).unwrap();
    assert_eq!(snapshot_regs(&fresh), at_call);
    fresh.goto_position(test).unwrap();
    assert_eq!(snapshot_regs(&fresh), before_branch);
    assert_eq!(read_u64(&fresh, total), sum);
    fresh.goto_position(branch).unwrap();
    assert_eq!(snapshot_regs(&fresh), before_call);
    // The same place counted from the interval's start: the branch ran
    // once a round, and once more if the loop is entered at its test.
    let counted = (1..=2)
        .map(|extra| Position {
            event: branch.event,
            point: recorder::timeline::Point::Arrival {
                addr: RemoteAddr(before_call.0),
                nth: m + extra - 1,
                steps: 0,
            },
        })
        .find(|&p| {
            fresh.goto_position(p).unwrap();
            fresh.stepi().unwrap();
            snapshot_regs(&fresh) == at_call
        });
    let Some(Position {
        point: recorder::timeline::Point::Arrival { nth: last, .. },
        ..
    }) = counted
    else {
        panic!("the branch's last run, counted, does not lead to the call");
    };
    // Far back, past the runs counted from the place found near the call:
    // the same run as counted from the interval's start, the same state.
    let back = m / 2;
    t.goto_position(Position {
        point: recorder::timeline::Point::Before {
            addr: RemoteAddr(before_call.0),
            back,
            until: RemoteAddr(at_call.0),
            until_nth: 1,
            steps: 0,
        },
        ..branch
    })
    .unwrap();
    fresh
        .goto_position(Position {
            event: branch.event,
            point: recorder::timeline::Point::Arrival {
                addr: RemoteAddr(before_call.0),
                nth: last - back + 1,
                steps: 0,
            },
        })
        .unwrap();
    let state = |t: &Timeline| (snapshot_regs(t), t.regs().unwrap().rbx, read_u64(t, total));
    assert_eq!(state(&t), state(&fresh));
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    assert_eq!(fresh.reverse_stepi().unwrap(), StopReason::Stepped);
    assert_eq!(state(&t), state(&fresh));
}

#[test]
fn an_interrupt_stops_a_long_reverse_step_search_at_the_start_of_its_interval() {
    // Going to a place named before done's call in a fresh replay, with no
    // snapshot near, replays the interval from its start (a few hundred
    // million rounds of the first loop): long enough to interrupt, and it
    // must say so.
    if recorder::counter::backend() == recorder::counter::Backend::DebugRegister {
        eprintln!("no perf breakpoint counters here: this search is refused, not run (see the test above)");
        return;
    }
    let (_dir, bin, trace) = record_program_with("shapes", &["spin", "300000000", "20000"]);
    let done = symbol(&bin, "done");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_breakpoint(done);
    assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(done));
    let event = t.position().event;
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let branch = t.position();
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_breakpoint(done);
    t.goto_event(event).unwrap();
    let interrupter = t.interrupter();
    let ctrl_c = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        interrupter.interrupt();
    });
    assert_eq!(t.goto_position(branch).unwrap(), StopReason::Interrupted);
    ctrl_c.join().unwrap();
    assert_eq!(
        t.position(),
        Position {
            event,
            point: recorder::timeline::Point::Start { steps: 0 }
        }
    );
    assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(done));
}
