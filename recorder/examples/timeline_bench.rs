//! Measures the time-travel engine on a trace: the cost of a checkpoint, of
//! a reverse-stepi near the end, of a reverse-continue from the end to a
//! breakpoint, and the memory the automatic checkpoints hold by then.
//! Run by bench/timeline.sh; usage: timeline_bench TRACE_DIR BREAK_ADDR_HEX

use std::time::Instant;

use recorder::timeline::{CheckpointPolicy, StopReason, Timeline};
use recorder::RemoteAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
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
