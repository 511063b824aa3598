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
    // foreground process group: the live program's own group while it
    // sleeps (it has the terminal while it makes a syscall), rback's when
    // it is stopped. Either way the program must not see it: it sleeps
    // on, and the recording has no SIGINT in it.
    let s = Session::new();
    let pidfile = s.path("pid");
    let pidfile_arg = pidfile.display().to_string();
    let mut at = AtTerminal::start(&s, &c_program("sleeper"), &[&pidfile_arg]);
    at.command_at_prompt(1, "continue");
    let pid: u32 = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    wait_until_blocked_with_the_terminal(&at, pid);
    std::thread::sleep(Duration::from_millis(300));
    at.type_keys("\x03");
    at.running().wait_for_stdout("Interrupted.", TIMEOUT);
    assert!(!process_is_gone(pid), "Ctrl-C reached the live program");
    // A Ctrl-C that came before the continue began would only meet the
    // prompt: wait until the program sleeps again.
    at.command_at_prompt(2, "continue");
    wait_until_blocked_with_the_terminal(&at, pid);
    std::thread::sleep(Duration::from_millis(300));
    at.type_keys("\x03");
    at.running().wait_for_stdout_count("Interrupted.", 2, TIMEOUT);
    at.command_at_prompt(3, "quit");
    let out = at.finish();
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

/// `rback run -o TRACE PROG ARGS` at a terminal that script(1) makes, the
/// test typing at it; killed (and with it rback and the program) if the
/// test fails half way.
struct AtTerminal {
    running: Option<common::Running>,
    keys: std::process::ChildStdin,
}

impl AtTerminal {
    fn start(s: &Session, prog: &std::path::Path, args: &[&str]) -> AtTerminal {
        let mut command = format!("{} run -o {} {}", common::RBACK, s.trace().display(), prog.display());
        for arg in args {
            command.push(' ');
            command.push_str(arg);
        }
        let (running, keys) = spawn_interactive(&mut s.in_terminal(&command));
        AtTerminal {
            running: Some(running),
            keys,
        }
    }

    fn running(&self) -> &common::Running {
        self.running.as_ref().expect("still running")
    }

    fn type_keys(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).unwrap();
    }

    /// Waits for the `n`th debugger prompt, then types `line`.
    fn command_at_prompt(&mut self, n: usize, line: &str) {
        self.running().wait_for_stdout_count("(rback) ", n, TIMEOUT);
        self.type_keys(&format!("{line}\n"));
    }

    fn screen(&self) -> String {
        self.running().stdout_so_far()
    }

    fn finish(mut self) -> Output {
        let out = self.running.take().unwrap().finish(TIMEOUT);
        assert_no_panic(&out);
        out
    }
}

impl Drop for AtTerminal {
    fn drop(&mut self) {
        if let Some(running) = &mut self.running {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}

/// Each of `wanted` is on the screen, after the one before.
fn assert_in_order(screen: &str, wanted: &[&str]) {
    let mut from = 0;
    for w in wanted {
        match screen[from..].find(w) {
            Some(i) => from += i + w.len(),
            None => panic!("no {w:?} (in order) on the screen:\n{screen}"),
        }
    }
}

/// `/proc/PID/stat` after the command name: the state letter, then the
/// numbers: ppid, pgrp, session, tty_nr, tpgid (the foreground group of
/// its terminal), ...
fn stat(pid: u32) -> (char, Vec<i64>) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, fields)) = stat.rsplit_once(')') else {
        return ('?', vec![]);
    };
    let mut fields = fields.split_whitespace();
    let state = fields.next().and_then(|f| f.chars().next()).unwrap_or('?');
    (state, fields.map(|f| f.parse().unwrap_or(-1)).collect())
}

/// The process group of `pid`, and the foreground group of its terminal.
fn group_and_foreground(pid: u32) -> (i64, i64) {
    let (_, numbers) = stat(pid);
    (
        numbers.get(1).copied().unwrap_or(-1),
        numbers.get(4).copied().unwrap_or(-1),
    )
}

/// Waits until the live program `pid` waits inside a syscall (its read or
/// sleep: state S; parked at a syscall's entry it is in a tracing stop),
/// then checks that it has the terminal meanwhile: it is in a process
/// group of its own, the terminal's foreground group.
fn wait_until_blocked_with_the_terminal(at: &AtTerminal, pid: u32) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while stat(pid).0 != 'S' {
        assert!(
            std::time::Instant::now() < deadline,
            "the program never blocked:\n{}",
            at.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        group_and_foreground(pid),
        (pid as i64, pid as i64),
        "the program waits without the terminal (its group, the foreground group)"
    );
}

#[test]
fn at_the_terminal_the_next_line_after_ctrl_c_is_the_debuggers() {
    // gdb's terminal handoff: the program reads the terminal while it runs
    // and rback reads it once the program stops. Ctrl-C in the program's
    // read stops it for the debugger, and the line typed next is a
    // debugger command, not the program's input.
    let s = Session::new();
    let pidfile = s.path("pid");
    let pidfile_arg = pidfile.display().to_string();
    let mut at = AtTerminal::start(&s, &c_program("live_prompt"), &[&pidfile_arg]);
    at.command_at_prompt(1, "continue");
    let pid: u32 = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    at.running().wait_for_stdout("name? ", TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    // Longer than the spinner's delay: the program's prompt stays as it is.
    std::thread::sleep(Duration::from_millis(800));
    at.type_keys("alice\n");
    at.running().wait_for_stdout("hello, alice (1)", TIMEOUT);
    at.running().wait_for_stdout_count("name? ", 2, TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    std::thread::sleep(Duration::from_millis(300));
    at.type_keys("\x03");
    at.running().wait_for_stdout("Interrupted.", TIMEOUT);
    at.command_at_prompt(2, "print answers");
    at.running().wait_for_stdout("$1 = 1", TIMEOUT);
    let (group, foreground) = group_and_foreground(pid);
    assert!(
        group == pid as i64 && foreground != group,
        "the program kept the terminal"
    );
    at.command_at_prompt(3, "continue");
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("bob\n");
    at.running().wait_for_stdout("hello, bob (2)", TIMEOUT);
    at.running().wait_for_stdout_count("name? ", 3, TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    // Ctrl-D: the program's read ends, and so does the program.
    at.type_keys("\x04");
    at.running().wait_for_stdout("bye after 2", TIMEOUT);
    at.command_at_prompt(4, "quit");
    let out = at.finish();
    let screen = out.stdout();
    assert_in_order(
        &screen,
        &[
            "name? alice",
            "hello, alice (1)",
            "name? ^CInterrupted.",
            "(rback) ",
            "print answers",
            "$1 = 1",
            "continue",
            "bob",
            "hello, bob (2)",
            "bye after 2",
            "The program exited normally",
        ],
    );
    assert!(
        !screen.contains("hello, print"),
        "the program read the debugger's line:\n{screen}"
    );
    assert!(
        !screen.contains("(Ctrl-C stops)"),
        "the spinner drew while the program waited:\n{screen}"
    );
    assert!(process_is_gone(pid), "the live program outlived rback");
    // Replayed, the program read what the user typed for it, and no SIGINT.
    let replayed = autopilot(&s);
    assert_eq!(
        replayed.stdout(),
        "name? hello, alice (1)\nname? hello, bob (2)\nname? bye after 2\n",
        "{replayed:?}"
    );
    assert_eq!(replayed.code(), 0, "{replayed:?}");
}

#[test]
fn at_the_terminal_the_program_has_its_modes_while_it_runs_and_rback_its_own() {
    // The program turns echo and output processing off, as a password
    // prompt does, and is stopped in its read: rback's lines still end in
    // "\r\n" (its own modes are back), and what the user types for the
    // program is not echoed (the program's modes are back when it reads).
    let s = Session::new();
    let pidfile = s.path("pid");
    let pidfile_arg = pidfile.display().to_string();
    let mut at = AtTerminal::start(&s, &c_program("live_prompt"), &[&pidfile_arg, "secret"]);
    at.command_at_prompt(1, "continue");
    let pid: u32 = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    at.running().wait_for_stdout("name? ", TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("alice\n");
    at.running().wait_for_stdout("hello, alice (1)", TIMEOUT);
    at.running().wait_for_stdout_count("name? ", 2, TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    std::thread::sleep(Duration::from_millis(300));
    at.type_keys("\x03");
    at.running().wait_for_stdout("Interrupted.", TIMEOUT);
    at.command_at_prompt(2, "print answers");
    at.running().wait_for_stdout("$1 = 1", TIMEOUT);
    at.command_at_prompt(3, "continue");
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("bob\n");
    at.running().wait_for_stdout("hello, bob (2)", TIMEOUT);
    at.running().wait_for_stdout_count("name? ", 3, TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("\x03");
    at.running().wait_for_stdout_count("Interrupted.", 2, TIMEOUT);
    at.command_at_prompt(4, "quit");
    let out = at.finish();
    let screen = out.stdout();
    assert!(
        screen.contains("Interrupted.\r\n"),
        "rback's output lost its modes: {screen:?}"
    );
    assert!(
        screen.contains("$1 = 1\r\n"),
        "rback's output lost its modes: {screen:?}"
    );
    assert_eq!(count(&screen, "alice"), 1, "the program's input was echoed: {screen:?}");
    assert_eq!(count(&screen, "bob"), 1, "the program's input was echoed: {screen:?}");
    assert!(process_is_gone(pid), "the live program outlived rback");
}

/// The processes in process group `group`.
fn processes_in_group(group: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| group_and_foreground(pid).0 == group as i64)
        .collect()
}

#[test]
fn at_the_terminal_ctrl_c_in_an_event_loops_wait_stops_the_program_for_the_debugger() {
    // epoll_wait is not restarted after a signal: it fails with EINTR and
    // the program waits again, so nothing in the recording shows the
    // Ctrl-C. It must still stop the program for the debugger.
    let s = Session::new();
    let pidfile = s.path("pid");
    let pidfile_arg = pidfile.display().to_string();
    let mut at = AtTerminal::start(&s, &c_program("live_prompt"), &[&pidfile_arg, "epoll"]);
    at.command_at_prompt(1, "continue");
    let pid: u32 = common::wait_for_file(&pidfile, TIMEOUT).trim().parse().unwrap();
    at.running().wait_for_stdout("name? ", TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    std::thread::sleep(Duration::from_millis(300));
    at.type_keys("\x03");
    at.running().wait_for_stdout("Interrupted.", TIMEOUT);
    at.command_at_prompt(2, "print answers");
    at.running().wait_for_stdout("$1 = 0", TIMEOUT);
    at.command_at_prompt(3, "continue");
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("bob\n");
    at.running().wait_for_stdout("hello, bob (1)", TIMEOUT);
    at.running().wait_for_stdout_count("name? ", 2, TIMEOUT);
    wait_until_blocked_with_the_terminal(&at, pid);
    at.type_keys("\x03");
    at.running().wait_for_stdout_count("Interrupted.", 2, TIMEOUT);
    at.command_at_prompt(4, "quit");
    let out = at.finish();
    let screen = out.stdout();
    assert!(
        !screen.contains("hello, print"),
        "the program read the debugger's line:\n{screen}"
    );
    assert!(process_is_gone(pid), "the live program outlived rback");
    // Nothing rback started stays in the program's group (rback's relay
    // of Ctrl-C stood there).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !processes_in_group(pid).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "left in the program's group: {:?}",
            processes_in_group(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn at_the_terminal_the_spinner_shows_until_the_program_runs() {
    // The spinner stays off once the program has had the terminal in a
    // movement, but not before: a long replay of code before any syscall
    // shows it, and Ctrl-C (rback's, the program not having the terminal)
    // stops it.
    let s = Session::new();
    let pidfile = s.path("pid");
    let pidfile_arg = pidfile.display().to_string();
    let mut at = AtTerminal::start(&s, &c_program("live_prompt"), &[&pidfile_arg, "spin"]);
    at.command_at_prompt(1, "break main");
    at.command_at_prompt(2, "continue");
    at.running().wait_for_stdout("Breakpoint 1, main", TIMEOUT);
    at.command_at_prompt(3, "stepi 99999999");
    at.running()
        .wait_for_stdout(" of 99999999 done (Ctrl-C stops)", TIMEOUT);
    at.type_keys("\x03");
    at.running().wait_for_stdout("Interrupted after ", TIMEOUT);
    at.command_at_prompt(4, "quit");
    at.finish();
    assert!(!pidfile.exists(), "the program ran past its loop");
}

/// `rback run --help` describes what `--gdb` does: gdb drives the live
/// program like the REPL does (it used to say the program was recorded to
/// its end first, which it never was).
#[test]
fn run_help_says_gdb_drives_the_live_program() {
    let s = Session::new();
    let out = s.rback(&["run", "--help"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let help = out.stdout().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("With --gdb, gdb drives it the same way"), "{help}");
    assert!(!help.contains("to its end first"), "{help}");
}
