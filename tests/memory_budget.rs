//! The checkpoint memory budget holds: whatever the program rewrites, the
//! memory that checkpoints hold on their own (beyond the live program's)
//! stays under `--checkpoint-memory`, measured from outside the way a user
//! would (`/proc/PID/smaps_rollup` of rback's child processes), through
//! forward and reverse movements.

mod common;

use std::io::Write;

use common::*;

/// `Private_Dirty` of a process, in bytes.
fn private_dirty(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("Private_Dirty:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The children of process `pid` (all its threads').
fn children(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        all.extend(list.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    all
}

/// What the checkpoints hold beyond the live program: all of rback's
/// children's private memory but the largest (the live program's own).
fn checkpoint_held(rback: u32) -> u64 {
    let mut sizes: Vec<u64> = children(rback).into_iter().map(private_dirty).collect();
    sizes.sort();
    sizes.pop();
    sizes.iter().sum()
}

#[test]
fn checkpoints_stay_under_their_memory_budget_through_reverse_movements() {
    let session = Session::new();
    let rec = session.record(c_program("big_rewrites"), &[]);
    assert!(rec.stdout().ends_with("round 11: 12\n"), "{rec:?}");
    let src = std::fs::read_to_string(programs_dir().join("big_rewrites.c")).unwrap();
    let line = 1 + src.lines().position(|l| l.contains("MARK:round")).unwrap();
    let budget: u64 = 32 << 20;
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg(session.trace())
        .args(["--checkpoint-memory", "32M", "--checkpoint-interval", "1"]);
    let (running, mut keys) = spawn_interactive(&mut cmd);
    let rback = running.pid();
    let mut worst = 0;
    let mut step = |keys: &mut std::process::ChildStdin, command: &str, wait_for: &str, times: usize| {
        keys.write_all(command.as_bytes()).unwrap();
        running.wait_for_stdout_count(wait_for, times, TIMEOUT);
        worst = worst.max(checkpoint_held(rback));
    };
    step(
        &mut keys,
        &format!("break big_rewrites.c:{line}\n"),
        "Breakpoint 1 at",
        1,
    );
    // Forward through every round (a checkpoint at every event), then back
    // and forth across them.
    for n in 1..=12 {
        step(&mut keys, "continue\n", "Breakpoint 1, main", n);
    }
    for n in 13..=20 {
        step(&mut keys, "reverse-continue\n", "Breakpoint 1, main", n);
    }
    for n in 21..=24 {
        step(&mut keys, "continue\n", "Breakpoint 1, main", n);
    }
    keys.write_all(b"quit\n").unwrap();
    let out = running.finish(TIMEOUT);
    assert_no_panic(&out);
    // The budget, and 10% over it at most (measured between movements).
    assert!(
        worst <= budget + budget / 10,
        "checkpoints held {} MiB beyond the program's own memory (budget 32 MiB)",
        worst >> 20
    );
}
