//! Checks of where the timeline starts its replays, which its public
//! surface does not show: each would still land on the right place
//! without the shortcut it pins, only seconds later.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Point, Position, StopReason, Timeline};
use crate::{EventIdx, RemoteAddr};

/// Compiles `tests/programs/shapes.c` and records it with `args`; returns
/// the scratch directory, the trace and the address of `name` in it.
fn record_shapes(args: &[&str], name: &str) -> (tempfile::TempDir, PathBuf, RemoteAddr) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/shapes.c");
    let bin = dir.path().join("shapes");
    let st = Command::new("gcc")
        .args(["-g", "-O1", "-no-pie", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new("nm").arg(&bin).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .unwrap_or_else(|| panic!("{name} not in nm output"));
    let addr = RemoteAddr(u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap());
    let trace = dir.path().join("trace");
    std::fs::create_dir(&trace).unwrap();
    let outcome = crate::record::record(&crate::record::RecordOptions {
        program: bin.display().to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        trace_dir: trace.clone(),
        check_memory: None,
        syscall_buffer: true,
    })
    .unwrap();
    assert!(outcome.error.is_none(), "recording failed: {:?}", outcome.error);
    (dir, trace, addr)
}

#[test]
fn reverse_continue_to_the_last_of_many_hits_goes_there_from_an_anchor_of_its_counting_run() {
    // Counting the hits costs a debug exception each; the run that counts
    // them leaves anchors, so going to the last one replays a short
    // stretch instead of counting them all a second time.
    if crate::counter::backend() != crate::counter::Backend::PerfBreakpoint {
        eprintln!("no perf breakpoint counters here: reverse-continue scans with int3s instead");
        return;
    }
    let n: u64 = 20_000;
    let (_dir, trace, step) = record_shapes(&["loop", &n.to_string()], "step");
    let mut t = Timeline::open(&trace, 5).unwrap();
    assert_eq!(t.cont().unwrap(), StopReason::EndOfRecording);
    t.set_breakpoint(step);
    t.restored.clear();
    assert_eq!(t.reverse_cont().unwrap(), StopReason::Breakpoint(step));
    let Position {
        event,
        point: Point::Arrival { addr, nth, steps: 0 },
    } = t.position()
    else {
        panic!("not at an arrival: {:?}", t.position());
    };
    assert_eq!((addr, nth), (step, n));
    let last = *t.restored.last().expect("the counting run restored a checkpoint");
    assert!(
        matches!(last.point, Point::Arrival { addr, nth, steps: 0 } if addr == step && nth > 1 && nth <= n)
            && last.event == event,
        "the last replay started at {last:?}, not at an anchor in interval {event}"
    );
    // The anchor's counts are right: the program there is at call n.
    let regs = t.regs().unwrap();
    assert_eq!(regs.rdi, n, "step's argument");
    assert!(event > EventIdx(1));
}

#[test]
fn stepping_back_onto_a_loop_exit_names_it_by_the_call_it_precedes_and_replays_no_checkpoint() {
    // After a continue to done and a step back onto its call, the next step
    // back lands on the calls' loop exit, which ran once a round. It is
    // named by the call's arrival that it precedes and reached from a place
    // found just before that arrival: neither the rounds nor the interval
    // before them are replayed from a checkpoint.
    if crate::counter::backend() != crate::counter::Backend::PerfBreakpoint {
        eprintln!("no perf breakpoint counters here: such a step back is refused (see recorder/tests/timeline.rs)");
        return;
    }
    let m: u64 = 5_000;
    let (_dir, trace, done) = record_shapes(&["spin", "200000000", &m.to_string()], "done");
    let mut t = Timeline::open(&trace, 5).unwrap();
    t.set_breakpoint(done);
    assert_eq!(t.cont().unwrap(), StopReason::Breakpoint(done));
    let event = t.position().event;
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let call = t.regs().unwrap().rip;
    t.restored.clear();
    assert_eq!(t.reverse_stepi().unwrap(), StopReason::Stepped);
    let Position {
        event: at,
        point:
            Point::Before {
                addr,
                back: 1,
                until,
                until_nth: 1,
                steps: 0,
            },
    } = t.position()
    else {
        panic!("not named by the call: {:?}", t.position());
    };
    assert_eq!((at, until.0), (event, call));
    assert!(addr.0 < call && call - addr.0 <= 6, "{:?}", t.position());
    assert!(t.restored.is_empty(), "replays started at {:?}", t.restored);
    assert_eq!(t.stepi().unwrap(), StopReason::Stepped);
    assert_eq!(t.regs().unwrap().rip, call);
    // The same place counted from the interval's start is the loop's
    // last round.
    let counted = t.counted_from_start(Position {
        event,
        point: Point::Before {
            addr,
            back: 1,
            until,
            until_nth: 1,
            steps: 0,
        },
    });
    assert!(
        matches!(counted, Ok(Position { point: Point::Arrival { addr: a, nth, steps: 0 }, .. })
            if a == addr && (nth == m || nth == m + 1)),
        "{counted:?}"
    );
}

#[test]
fn a_continue_with_nothing_to_stop_at_replays_events_without_stopping_at_each() {
    // With no breakpoint or watch, a continue lets the replay run events
    // back to back, as `rback replay -a` does, stopping only where an
    // automatic checkpoint may be due: the same checkpoints, the same end.
    let n: u64 = 400;
    let (_dir, trace, mark) = record_shapes(&["shared", &n.to_string()], "mark");
    let mut flying = Timeline::open(&trace, 50).unwrap();
    assert_eq!(flying.cont().unwrap(), StopReason::EndOfRecording);
    let events = flying.events().0;
    assert!(events > n, "{events} events");
    assert!(
        flying.boundaries < events / 4,
        "{} stops at interval starts for {events} events",
        flying.boundaries
    );
    // A breakpoint that never hits makes every boundary a stop.
    let mut stepping = Timeline::open(&trace, 50).unwrap();
    stepping.set_breakpoint(RemoteAddr(1));
    assert_eq!(stepping.cont().unwrap(), StopReason::EndOfRecording);
    assert!(stepping.boundaries >= n, "{} stops", stepping.boundaries);
    let at = |t: &Timeline| t.checkpoints().iter().map(|c| c.position).collect::<Vec<_>>();
    assert_eq!(at(&flying), at(&stepping));
    assert_eq!(flying.position(), stepping.position());
    // The checkpoints taken on the way are good to go back to.
    flying.set_breakpoint(mark);
    for i in [n, n - 1] {
        assert_eq!(flying.reverse_cont().unwrap(), StopReason::Breakpoint(mark));
        assert_eq!(flying.regs().unwrap().rsi, i, "mark's second argument");
    }
}

#[test]
fn single_steps_lead_from_a_backward_name_only_to_the_same_name_further_on() {
    let at = |back, steps| Position {
        event: EventIdx(3),
        point: Point::Before {
            addr: RemoteAddr(0x10),
            back,
            until: RemoteAddr(0x20),
            until_nth: 1,
            steps,
        },
    };
    let between = super::positions::steps_between;
    assert_eq!(between(at(1, 2), at(1, 5)), Some(3));
    assert_eq!(between(at(1, 5), at(1, 2)), None);
    // Another run of the same instruction, or the same run named forward.
    assert_eq!(between(at(1, 0), at(2, 3)), None);
    assert_eq!(
        between(at(1, 0), Position::arrival(EventIdx(3), RemoteAddr(0x10), 1, 3)),
        None
    );
    assert_eq!(at(2, 0).with_steps(7), at(2, 7));
    assert_eq!(at(2, 7).point.steps(), 7);
}
