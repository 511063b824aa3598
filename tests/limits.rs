//! What rback does not support yet, and what happens when it is stopped
//! from outside: each must end in a clear message, a trace that replays up
//! to where recording stopped, and no tracee left behind.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A signal that arrives while the tracee spins without syscalls, in a loop
/// whose state repeats: rback places it where the tracee stands, and replay
/// delivers it at the same point. The tracee spins forever unless the signal
/// lands, so a hang would show as a timeout.
#[test]
fn signal_during_syscall_free_spin_is_delivered_and_replayed() {
    let session = Session::new();
    let mut cmd = session.command();
    cmd.arg("record")
        .arg("-o")
        .arg(session.trace())
        .arg(c_program("spin_until_signal"));
    let rec = run(&mut cmd, None, Duration::from_secs(30));
    assert_eq!(rec.code(), 0, "{rec:?}");
    let rec = strip_saved_line(rec, &session.trace());
    assert_eq!(rec.stdout(), "spinning\nhandler ran\n", "{rec:?}");
    let mut replay = session.command();
    replay.args(["replay", "-a"]).arg(session.trace());
    assert_replay_matches(&rec, &run(&mut replay, None, Duration::from_secs(30)));
}

/// Starts recording `sleeper`, waits until it sleeps, and kills `rback
/// record` with SIGKILL. Returns what rback printed and the tracee's pid.
fn record_sleeper_and_kill_rback(session: &Session) -> (Output, u32) {
    let pid_file = session.path("pid");
    let mut cmd = session.command();
    cmd.arg("record")
        .arg("-o")
        .arg(session.trace())
        .arg(c_program("sleeper"))
        .arg(&pid_file);
    let mut running = spawn(&mut cmd, None);
    let tracee: u32 = wait_for_file(&pid_file, Duration::from_secs(60))
        .trim()
        .parse()
        .unwrap();
    assert!(!process_is_gone(tracee), "the tracee should be sleeping now");
    running.child.kill().expect("cannot kill rback record");
    let rec = running.finish(TIMEOUT);
    (rec, tracee)
}

#[test]
fn killing_rback_record_kills_the_tracee() {
    let session = Session::new();
    let (rec, tracee) = record_sleeper_and_kill_rback(&session);
    assert_eq!(rec.code(), 128 + 9, "{rec:?}");
    let deadline = Instant::now() + Duration::from_secs(1);
    while !process_is_gone(tracee) {
        assert!(
            Instant::now() < deadline,
            "tracee {tracee} still runs 1 s after rback record was killed:\n{}",
            std::fs::read_to_string(format!("/proc/{tracee}/status")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A recorder killed while its tracee blocks in a syscall must leave a trace
/// that replays everything the tracee did before blocking: the program's
/// output up to `sleeping`, then a line saying the trace ends early.
#[test]
fn trace_of_killed_recording_replays_everything_before_the_kill() {
    let session = Session::new();
    let (rec, _) = record_sleeper_and_kill_rback(&session);
    assert!(rec.stdout().ends_with("tick 24\nsleeping\n"), "{rec:?}");

    let rep = session.replay();
    assert_no_panic(&rep);
    assert_ne!(rep.code(), 0, "{rep:?}");
    let lines = rep.stderr_lines();
    assert!(
        lines.len() == 1 && lines[0].starts_with("rback: the trace ends after ") && lines[0].contains("cut short"),
        "{rep:?}"
    );
    assert!(
        rep.stdout().starts_with("started\n") && rec.stdout().starts_with(&rep.stdout()),
        "the replay prints a prefix of the recorded output:\n{rep:?}"
    );
    assert_eq!(
        rep.stdout(),
        rec.stdout(),
        "the replay stops before output the program wrote before it blocked"
    );

    let info = session.rback(&["info", s(&session.trace())]);
    assert_eq!(info.code(), 0, "{info:?}");
    assert!(
        info.stdout().contains("(ends early: the recording was cut short)"),
        "{info:?}"
    );
}
