//! Measures the time-travel engine on a trace: the cost of a checkpoint, of
//! a reverse-stepi near the end, of a reverse-continue from the end to a
//! breakpoint, and the memory the automatic checkpoints hold by then.
//! Run by bench/timeline.sh; usage: timeline_bench TRACE_DIR BREAK_ADDR_HEX
//!
//! Two single cases, each from a fresh timeline:
//! `timeline_bench --step-back TRACE_DIR BREAK_ADDR_HEX`: continue to the
//! breakpoint's first hit, then reverse-stepi twice, then ten more; and
//! `timeline_bench --last-hit TRACE_DIR BREAK_ADDR_HEX`: continue to the
//! end, then reverse-continue to the breakpoint's last hit.

use std::time::Instant;

use recorder::timeline::{CheckpointPolicy, StopReason, Timeline};
use recorder::RemoteAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 {
        return single_case(&args[1], std::path::Path::new(&args[2]), &args[3]);
    }
    if args.len() != 3 {
        return Err("usage: timeline_bench TRACE_DIR BREAK_ADDR_HEX".into());
    }
    let bp = RemoteAddr(u64::from_str_radix(args[2].trim_start_matches("0x"), 16)?);
    let mut t = Timeline::open_with(std::path::Path::new(&args[1]), CheckpointPolicy::default())?;
    let last = t.events().0;

    // Forward to the end, taking automatic checkpoints on the way.
    let started = Instant::now();
    assert_eq!(t.cont()?, StopReason::EndOfRecording);
    let forward = started.elapsed();
    let autos = t.checkpoints().len();
    let memory = t.checkpoint_memory();

    t.goto_event(recorder::EventIdx(last.saturating_sub(3).max(1)))?;
    let rounds = 20;
    let started = Instant::now();
    let mut taken = vec![];
    for _ in 0..rounds {
        taken.push(t.checkpoint(None)?);
    }
    let checkpoint = started.elapsed() / rounds;

    for _ in 0..5 {
        t.stepi()?;
    }
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(t.reverse_stepi()?, StopReason::Stepped);
    }
    let reverse_stepi = started.elapsed() / 5;

    assert_eq!(t.cont()?, StopReason::EndOfRecording);
    t.set_breakpoint(bp);
    let started = Instant::now();
    let reason = t.reverse_cont()?;
    let reverse_cont = started.elapsed();
    // Again from that hit, and reverse steps there (inside whatever loop
    // the breakpoint is in).
    let started = Instant::now();
    let again = t.reverse_cont()?;
    let reverse_cont_again = started.elapsed();
    let started = Instant::now();
    for _ in 0..5 {
        t.reverse_stepi()?;
    }
    let reverse_stepi_there = started.elapsed() / 5;

    println!(
        "{last} events; replay to the end {:.0} ms with {autos} checkpoints holding {:.1} MiB; \
         checkpoint {:.3} ms; reverse-stepi {:.1} ms; reverse-continue from the end {:.1} ms ({reason:?}), \
         then again {:.1} ms ({again:?}) and reverse-stepi there {:.1} ms",
        forward.as_secs_f64() * 1e3,
        memory as f64 / (1 << 20) as f64,
        checkpoint.as_secs_f64() * 1e3,
        reverse_stepi.as_secs_f64() * 1e3,
        reverse_cont.as_secs_f64() * 1e3,
        reverse_cont_again.as_secs_f64() * 1e3,
        reverse_stepi_there.as_secs_f64() * 1e3,
    );
    Ok(())
}

fn single_case(case: &str, trace: &std::path::Path, bp: &str) -> Result<(), Box<dyn std::error::Error>> {
    let bp = RemoteAddr(u64::from_str_radix(bp.trim_start_matches("0x"), 16)?);
    let mut t = Timeline::open_with(trace, CheckpointPolicy::default())?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    match case {
        "--step-back" => {
            t.set_breakpoint(bp);
            let started = Instant::now();
            assert_eq!(t.cont()?, StopReason::Breakpoint(bp));
            let forward = started.elapsed();
            let started = Instant::now();
            assert_eq!(t.reverse_stepi()?, StopReason::Stepped);
            let first = started.elapsed();
            let started = Instant::now();
            assert_eq!(t.reverse_stepi()?, StopReason::Stepped);
            let second = started.elapsed();
            // And on, back through the loop's rounds one instruction at a
            // time (the slowest of ten).
            let mut slowest = std::time::Duration::ZERO;
            for _ in 0..10 {
                let started = Instant::now();
                assert_eq!(t.reverse_stepi()?, StopReason::Stepped);
                slowest = slowest.max(started.elapsed());
            }
            println!(
                "continue to the breakpoint {:.0} ms, reverse-stepi {:.1} ms, another {:.1} ms, \
                 10 more at most {:.1} ms each",
                ms(forward),
                ms(first),
                ms(second),
                ms(slowest)
            );
        }
        "--last-hit" => {
            let started = Instant::now();
            assert_eq!(t.cont()?, StopReason::EndOfRecording);
            let forward = started.elapsed();
            t.set_breakpoint(bp);
            let started = Instant::now();
            assert_eq!(t.reverse_cont()?, StopReason::Breakpoint(bp));
            let last = started.elapsed();
            let started = Instant::now();
            assert_eq!(t.reverse_cont()?, StopReason::Breakpoint(bp));
            let again = started.elapsed();
            println!(
                "continue to the end {:.0} ms, reverse-continue to the last hit {:.0} ms, to the one before {:.1} ms",
                ms(forward),
                ms(last),
                ms(again)
            );
        }
        other => return Err(format!("unknown case {other}").into()),
    }
    Ok(())
}
