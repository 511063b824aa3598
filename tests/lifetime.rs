//! No tracee or checkpoint outlives rback, however rback ends: a `quit`,
//! the end of its input, Ctrl-C, SIGTERM and SIGKILL. The replayed program
//! and every checkpoint share rback's stdout, so `Running::finish` fails a
//! test if any of them is still alive once rback is gone.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{c_program, spawn_interactive, Running, Session, TIMEOUT};

/// A REPL over a recording with several checkpoints taken (automatic ones
/// while going to the end, one by hand, and the step cache).
fn debugging(s: &Session) -> (Running, std::process::ChildStdin) {
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace());
    let (running, mut stdin) = spawn_interactive(&mut cmd);
    stdin
        .write_all(b"goto end\ncheckpoint\nreverse-stepi\nreverse-stepi\nwhen\n")
        .unwrap();
    running.wait_for_stdout("Current event", TIMEOUT);
    (running, stdin)
}

fn recorded() -> Session {
    let s = Session::new();
    let rec = s.record(c_program("many_lines"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    s
}

fn kill(running: &Running, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(running.pid() as i32), sig).unwrap();
}

#[test]
fn quit_leaves_no_process_behind() {
    let s = recorded();
    let (running, mut stdin) = debugging(&s);
    stdin.write_all(b"quit\n").unwrap();
    let out = running.finish(TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
}

#[test]
fn end_of_input_leaves_no_process_behind() {
    let s = recorded();
    let (running, stdin) = debugging(&s);
    drop(stdin);
    let out = running.finish(TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
}

#[test]
fn ctrl_c_then_end_of_input_leaves_no_process_behind() {
    let s = recorded();
    let (running, stdin) = debugging(&s);
    kill(&running, nix::sys::signal::Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(200));
    drop(stdin);
    let out = running.finish(TIMEOUT);
    assert!(out.code() == 0 || out.code() == 130, "{out:?}");
}

#[test]
fn sigterm_leaves_no_process_behind() {
    let s = recorded();
    let (running, _stdin) = debugging(&s);
    kill(&running, nix::sys::signal::Signal::SIGTERM);
    let out = running.finish(TIMEOUT);
    assert_eq!(out.code(), 143, "{out:?}");
}

#[test]
fn sigkill_of_rback_leaves_no_process_behind() {
    let s = recorded();
    let (running, _stdin) = debugging(&s);
    kill(&running, nix::sys::signal::Signal::SIGKILL);
    let out = running.finish(TIMEOUT);
    assert_eq!(out.code(), 137, "{out:?}");
}
