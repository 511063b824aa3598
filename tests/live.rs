//! `rback run`: the program is recorded as the debugger goes forward, and
//! no further. Checked on what a user sees: the program's output and side
//! effects appear when the debugger gets to them, going back works while
//! the program is live, and what was recorded is a normal trace.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{assert_no_panic, c_program, process_is_gone, run, spawn_interactive, Output, Session, TIMEOUT};

/// `rback run -o TRACE --batch -x SCRIPT PROG ARGS`.
fn run_script(s: &Session, script: &str, prog: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let file = s.write("script.gdb", script);
    let mut cmd = s.command();
    cmd.arg("run")
        .arg("-o")
        .arg(s.trace())
        .arg("--batch")
        .arg("-x")
        .arg(file)
        .arg(prog)
        .args(args);
    let out = run(&mut cmd, stdin, TIMEOUT);
    assert_no_panic(&out);
    out
}

fn autopilot(s: &Session) -> Output {
    s.rback(&[
        std::ffi::OsStr::new("replay"),
        std::ffi::OsStr::new("-a"),
        s.trace().as_os_str(),
    ])
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn the_program_runs_only_as_far_as_the_debugger_has_gone() {
    let s = Session::new();
    let marker = s.path("marker");
    let mut cmd = s.command();
    cmd.arg("run")
        .arg("-o")
        .arg(s.trace())
        .arg(c_program("live_steps"))
        .arg(&marker);
    let (running, mut stdin) = spawn_interactive(&mut cmd);
    let mut say = |line: &str| writeln!(stdin, "{line}").unwrap();

    say("break step");
    say("continue");
    say("continue");
    say("continue");
    running.wait_for_stdout("step (i=i@entry=3)", TIMEOUT);
    // Paused before the third step: the program has printed two steps and
    // not made the file it makes after the third.
    std::thread::sleep(Duration::from_millis(300));
    let so_far = running.stdout_so_far();
    assert!(so_far.contains("step 2\n") && !so_far.contains("step 3\n"), "{so_far}");
    assert!(!marker.exists(), "the program ran ahead of the debugger");

    say("continue");
    running.wait_for_stdout("step (i=i@entry=4)", TIMEOUT);
    assert!(marker.exists(), "the third step's file was not made");

    // Back while the program is live, then forward again over what is
    // recorded, then on into the live program.
    say("reverse-continue");
    say("reverse-continue");
    say("print counter");
    running.wait_for_stdout("$1 = 1", TIMEOUT);
    say("continue");
    say("continue");
    say("continue");
    say("print counter");
    running.wait_for_stdout("$2 = 10", TIMEOUT);
    say("delete");
    say("continue");
    running.wait_for_stdout("The program exited normally, and its recording ends here.", TIMEOUT);
    say("reverse-stepi");
    say("when");
    running.wait_for_stdout("Current event", TIMEOUT);
    drop(stdin);
    let out = running.finish(TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    let stdout = out.stdout();
    // Each line of the program's output shown once, when first reached.
    for line in ["step 1\n", "step 2\n", "step 3\n", "step 4\n", "step 5\n", "done 15\n"] {
        assert_eq!(count(&stdout, line), 1, "{line:?} in {out:?}");
    }
    assert!(out.stderr().contains("the recording is in"), "{out:?}");

    // What was recorded is a normal, complete trace.
    let replayed = autopilot(&s);
    assert_eq!(replayed.code(), 0, "{replayed:?}");
    assert_eq!(replayed.stdout(), "step 1\nstep 2\nstep 3\nstep 4\nstep 5\ndone 15\n");
}

#[test]
fn quitting_early_kills_the_program_and_keeps_what_was_recorded() {
    let s = Session::new();
    let marker = s.path("marker");
    let out = run_script(
        &s,
        "break step\ncontinue\ncontinue\nprint counter\nquit\n",
        &c_program("live_steps"),
        &[marker.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().contains("$1 = 1"), "{out:?}");
    assert!(!marker.exists(), "the program went on after the debugger quit");
    // The trace replays up to where the session ended, and says so.
    let replayed = autopilot(&s);
    assert_eq!(replayed.stdout(), "step 1\n", "{replayed:?}");
    assert_ne!(replayed.code(), 0, "{replayed:?}");
    assert!(
        replayed
            .stderr()
            .contains("the debugging session ended here; rback killed the program"),
        "{replayed:?}"
    );
}

#[test]
fn the_live_program_reads_its_input_when_the_debugger_gets_there() {
    // With --batch the debugger takes its commands from the script, so
    // stdin is the program's.
    let s = Session::new();
    let out = run_script(
        &s,
        "break main\ncontinue\nnext\ndelete\ncontinue\n",
        &c_program("echo_stdin"),
        &[],
        Some(b"hello, live"),
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let stdout = out.stdout();
    assert!(stdout.contains("Breakpoint 1, "), "{out:?}");
    assert!(stdout.contains("text: hello, live"), "{out:?}");
    assert!(stdout.contains("The program exited normally"), "{out:?}");
    // Replayed without any input, the recording reads the same bytes.
    let replayed = autopilot(&s);
    assert_eq!(replayed.code(), 0, "{replayed:?}");
    assert!(replayed.stdout().contains("text: hello, live"), "{replayed:?}");
}

/// `rback run sleeper` told to continue: the live program has written its
/// pid (returned) and sleeps 30 s.
fn sleeping_live(s: &Session) -> (common::Running, std::process::ChildStdin, u32) {
    let pidfile = s.path("pid");
    let mut cmd = s.command();
    cmd.arg("run")
        .arg("-o")
        .arg(s.trace())
        .arg(c_program("sleeper"))
        .arg(&pidfile);
    let (running, mut stdin) = spawn_interactive(&mut cmd);
    writeln!(stdin, "continue").unwrap();
    let pid = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    (running, stdin, pid)
}

#[test]
fn ctrl_c_stops_waiting_for_a_sleeping_program_and_nothing_outlives_rback() {
    let s = Session::new();
    let (running, mut stdin, pid) = sleeping_live(&s);
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(running.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    running.wait_for_stdout("Interrupted.", Duration::from_secs(10));
    assert!(!process_is_gone(pid), "the live program should still be there");
    writeln!(stdin, "when").unwrap();
    running.wait_for_stdout("Current event", TIMEOUT);
    writeln!(stdin, "quit").unwrap();
    let out = running.finish(TIMEOUT);
    assert_no_panic(&out);
    assert!(process_is_gone(pid), "the live program outlived rback");
}

#[test]
fn killing_rback_kills_the_live_program() {
    let s = Session::new();
    let (running, _stdin, pid) = sleeping_live(&s);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(running.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // `finish` fails if anything rback started still holds its stdout.
    let _ = running.finish(TIMEOUT);
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !process_is_gone(pid) {
        assert!(std::time::Instant::now() < deadline, "the live program outlived rback");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_at_the_terminal_is_the_debuggers_not_the_programs() {
    // A real terminal (script(1) makes one) sends Ctrl-C's SIGINT to its
    // whole foreground process group: rback, and the live program too.
    // The program must not see it: it sleeps on, and the recording has no
    // SIGINT in it.
    let s = Session::new();
    let pidfile = s.path("pid");
    let command = format!(
        "{} run -o {} {} {}",
        common::RBACK,
        s.trace().display(),
        c_program("sleeper").display(),
        pidfile.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qfec", &command, "/dev/null"]).current_dir(s.dir());
    let (running, mut keys) = spawn_interactive(&mut cmd);
    keys.write_all(b"continue\n").unwrap();
    let pid: u32 = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    keys.write_all(b"\x03").unwrap();
    running.wait_for_stdout("Interrupted.", TIMEOUT);
    assert!(!process_is_gone(pid), "Ctrl-C reached the live program");
    keys.write_all(b"continue\n").unwrap();
    // A Ctrl-C that came before the continue began would only meet the
    // prompt: wait for the movement's spinner after the first stop.
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let so_far = running.stdout_so_far();
        let after_first = &so_far[so_far.find("Interrupted.").unwrap()..];
        if after_first.contains("(Ctrl-C stops)") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second continue never began:\n{so_far}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    keys.write_all(b"\x03").unwrap();
    running.wait_for_stdout_count("Interrupted.", 2, TIMEOUT);
    keys.write_all(b"quit\n").unwrap();
    let out = running.finish(TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(count(&out.stdout(), "Interrupted."), 2, "{out:?}");
    assert!(process_is_gone(pid), "the live program outlived rback");
    // Replayed, the program sleeps until the session ended; a recorded
    // SIGINT would have ended it first (status 130).
    let replayed = autopilot(&s);
    assert!(replayed.stdout().ends_with("sleeping\n"), "{replayed:?}");
    assert!(
        replayed.code() == 128 + 9 || replayed.stderr().contains("the debugging session ended here"),
        "{replayed:?}"
    );
}
