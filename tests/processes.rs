//! Programs with child processes: every process of the tree is recorded
//! into one trace and replayed; the debugger follows one process, the
//! first by default or the one `-p` names.

mod common;

use std::ffi::OsStr;

use common::*;

/// Records `prog ARGS` in `session`, then replays it three times, each
/// time checking stdout, stderr and the exit status against the recording.
fn record_and_replay_three_times(session: &Session, prog: impl AsRef<OsStr>, args: &[&str]) -> Output {
    let rec = session.record(prog, args);
    for _ in 0..3 {
        assert_replay_matches(&rec, &session.replay());
    }
    rec
}

fn info(session: &Session) -> String {
    let out = session.rback(&[OsStr::new("info"), session.trace().as_os_str()]);
    assert_eq!(out.code(), 0, "{out:?}");
    out.stdout()
}

/// Runs debugger `commands` in batch mode on the session's trace, with
/// `args` (say, `-p PID`) before them; returns what the user saw, after
/// checking the session ended well.
fn debug(session: &Session, args: &[&str], commands: &str) -> String {
    let script = session.write("commands.gdb", commands);
    let mut cmd = session.command();
    cmd.arg("replay")
        .args(args)
        .arg("--batch")
        .arg("-x")
        .arg(script)
        .arg(session.trace());
    let out = run(&mut cmd, None, TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
    out.stdout()
}

/// The ids `rback info` lists for the processes that are a child of another.
fn child_pids(session: &Session) -> Vec<String> {
    info(session)
        .lines()
        .filter(|l| l.contains(", child of "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn a_fork_is_recorded_and_replayed_with_both_processes_output() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("fork"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "before fork\nin the child\nafter fork: child exited with 7\n",
        "{rec:?}"
    );
    let info = info(&session);
    assert!(info.contains("processes: 2 ("), "{info}");
    assert!(info.contains("exited with status 7)"), "{info}");
}

/// Pipes, shared anonymous memory written in turns, vfork + exec, a child
/// killed by its parent, kill(0) to the whole group (which must not reach
/// rback), and an orphan that outlives its parent.
#[test]
fn processes_that_talk_to_each_other_replay_identically() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("processes"), &[]);
    assert_eq!(rec.code(), 3, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "pipe: 13 bytes: child says 42\n\
         shared counter: 847\n\
         vfork+exec: exit status 5\n\
         killed child: signal 15\n\
         child got SIGUSR1\n\
         parent got SIGUSR1\n\
         untraced child, status 9\n\
         parent done\n\
         orphan done\n",
        "{rec:?}"
    );
    let info = info(&session);
    assert!(info.contains("processes: 9 ("), "{info}");
    assert!(info.contains("sh -c exit 5 (from event"), "{info}");
    assert!(info.contains("killed by SIGTERM)"), "{info}");
}

#[test]
fn a_shell_pipeline_replays_its_output_and_status() {
    let session = Session::new();
    let rec = record_and_replay_three_times(
        &session,
        system_program("/bin/sh"),
        &["-c", "printf 'b\\na\\nc\\nd\\n' | sort | head -3; exit 4"],
    );
    assert_eq!(rec.code(), 4, "{rec:?}");
    assert_eq!(rec.stdout(), "a\nb\nc\n", "{rec:?}");
}

#[test]
fn python_subprocess_replays() {
    let session = Session::new();
    // Not the `python3` in PATH: a pyenv shim there is a script of its own.
    let rec = record_and_replay_three_times(
        &session,
        system_program("/usr/bin/python3"),
        &[
            "-c",
            "import subprocess; print(subprocess.run(['echo', 'from a child'], capture_output=True).stdout.decode().strip()); print(subprocess.call('exit 6', shell=True))",
        ],
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "from a child\n6\n", "{rec:?}");
}

/// gcc runs cc1, as, collect2 and ld as child processes; make runs gcc.
/// The object file is written while recording; replay writes nothing.
#[test]
fn make_running_gcc_replays_and_writes_nothing() {
    let session = Session::new();
    session.write(
        "hello.c",
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    );
    session.write("Makefile", "hello: hello.c\n\tgcc -o hello hello.c\n\t./hello\n");
    let mut cmd = session.command();
    cmd.arg("record")
        .arg("-o")
        .arg(session.trace())
        .arg(system_program("/usr/bin/make"))
        .arg("-C")
        .arg(session.dir());
    let rec = strip_saved_line(
        run(&mut cmd, None, std::time::Duration::from_secs(120)),
        &session.trace(),
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(
        rec.stdout().contains("gcc -o hello hello.c\n./hello\nhello\n"),
        "{rec:?}"
    );
    std::fs::remove_file(session.path("hello")).unwrap();
    assert_replay_matches(&rec, &session.replay());
    assert!(!session.path("hello").exists(), "replay must not write the program");
    let info = info(&session);
    for child in ["gcc -o hello hello.c", "cc1 ", "as ", "collect2 ", "ld ", "./hello"] {
        assert!(info.contains(child), "no {child} in\n{info}");
    }
}

/// The debugger follows the first process by default: a breakpoint after
/// the fork, values there, and going back across the fork.
#[test]
fn the_debugger_follows_the_parent_across_a_fork() {
    let session = Session::new();
    session.record(c_program("fork"), &[]);
    let text = debug(
        &session,
        &[],
        "break 19\ncontinue\ninfo threads\nprint status >> 8\nreverse-continue\n",
    );
    assert!(text.contains("Breakpoint 1, main () at fork.c:19"), "{text}");
    assert!(text.contains("$1 = 7\n"), "{text}");
    assert!(text.contains("No more reverse-execution history."), "{text}");
    // The child is not a thread of the parent.
    assert!(text.contains("* 1    Thread ") && !text.contains("\n  2 "), "{text}");
}

/// `-p PID` debugs a child process from its fork: its own code, its own
/// values, stepping back and forth, its end.
#[test]
fn replay_p_debugs_a_child_process() {
    let session = Session::new();
    session.record(c_program("fork"), &[]);
    let children = child_pids(&session);
    assert_eq!(children.len(), 1, "{}", info(&session));
    let text = debug(
        &session,
        &["-p", &children[0]],
        "break fork.c:12\ncontinue\ninfo threads\nprint pid\nnext\nnext\nreverse-next\ncontinue\n",
    );
    assert!(text.contains("Breakpoint 1, main () at fork.c:12"), "{text}");
    assert!(text.contains("$1 = 0\n"), "the child sees fork return 0: {text}");
    // Its first thread is thread 1, as gdb numbers a process's threads.
    assert!(text.contains("* 1    Thread "), "{text}");
    assert!(
        // (The child's line shows where its fflush writes it.)
        text.contains("13\t        fflush(stdout);\nin the child\n14\t        _exit(7);\n13\t"),
        "{text}"
    );
    assert!(
        text.contains("__GI__exit (status=") && text.contains("7) at _exit.c"),
        "{text}"
    );

    // -a -p: the child replayed alone, the others' output shown as recorded.
    let alone = session.rback(&[
        OsStr::new("replay"),
        OsStr::new("-a"),
        OsStr::new("-p"),
        OsStr::new(&children[0]),
        session.trace().as_os_str(),
    ]);
    assert_eq!(alone.code(), 0, "{alone:?}");
    assert_eq!(
        alone.stdout(),
        "before fork\nin the child\nafter fork: child exited with 7\n"
    );

    // A name both processes run is ambiguous; an unknown one is an error.
    for (what, says) in [
        ("fork", "2 processes run \"fork\""),
        ("nosuch", "no process runs \"nosuch\""),
    ] {
        let out = session.rback(&[
            OsStr::new("replay"),
            OsStr::new("-p"),
            OsStr::new(what),
            session.trace().as_os_str(),
        ]);
        assert_ne!(out.code(), 0, "{out:?}");
        let line = assert_one_error_line(&out);
        assert!(line.contains(says), "{line}");
    }
}

/// gdb's inferiors: `info inferiors` lists the recording's processes,
/// `set follow-fork-mode child` makes `continue` follow the child at its
/// fork, and `inferior N` switches, breakpoints included.
#[test]
fn inferiors_and_follow_fork_mode_child() {
    let session = Session::new();
    session.record(c_program("fork"), &[]);
    let script = session.write(
        "inferiors.gdb",
        "info inferiors\nbreak 12\nset follow-fork-mode child\ncontinue\ninfo inferiors\nprint pid\n\
         inferior 1\ninferior\nbreak fork.c:19\ncontinue\nprint status >> 8\ninferior 7\nset follow-fork-mode sideways\necho done\n",
    );
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg("--batch")
        .arg("-x")
        .arg(script)
        .arg(session.trace());
    let out = run(&mut cmd, None, TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let children = child_pids(&session);
    let child = &children[0];
    assert!(text.contains("* 1    process "), "{text}");
    assert!(text.contains(&format!("fork to child process {child}]")), "{text}");
    assert!(text.contains("Breakpoint 1, main () at fork.c:12"), "{text}");
    assert!(text.contains(&format!("* 2    process {child} ")), "{text}");
    assert!(text.contains("$1 = 0\n"), "{text}");
    assert!(text.contains("[Switching to inferior 1 [process "), "{text}");
    assert!(text.contains("[Current inferior is 1 [process "), "{text}");
    // Breakpoint 2 is set in the parent, which then runs to it.
    assert!(text.contains("Breakpoint 2, main () at fork.c:19"), "{text}");
    assert!(text.contains("$2 = 7\n"), "{text}");
    let errors = out.stderr();
    assert!(errors.contains("Inferior ID 7 not known."), "{errors}");
    assert!(errors.contains("Valid arguments are child, parent."), "{errors}");
}

/// `rback run` on a program that forks: the debugger follows the parent
/// while the recording goes on, the child's output shows when the replay
/// passes its turn, and going back and forth works.
#[test]
fn rback_run_follows_the_parent_of_a_fork_as_it_is_recorded() {
    let session = Session::new();
    let script = session.write(
        "live.gdb",
        "break fork.c:19\ncontinue\nprint status >> 8\nreverse-continue\ncontinue\ncontinue\n",
    );
    let out = session.rback(&[
        OsStr::new("run"),
        OsStr::new("--batch"),
        OsStr::new("-x"),
        script.as_os_str(),
        c_program("fork").as_os_str(),
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let child = text.find("in the child\n").expect("the child's output");
    let hit = text.find("Breakpoint 1, main () at fork.c:19").expect("the breakpoint");
    assert!(text.find("before fork\n").unwrap() < child && child < hit, "{text}");
    assert!(text.contains("$1 = 7\n"), "{text}");
    assert_eq!(text.matches("in the child\n").count(), 1, "shown once: {text}");
    assert!(text.contains("after fork: child exited with 7\n"), "{text}");
    assert!(text.contains("The program exited normally"), "{text}");
}

/// `unshare` into a user namespace (the uids the program then sees are
/// recorded like any other), and `clone3` with `CLONE_PIDFD`: replay makes
/// the child and gives the parent the recorded pidfd number.
#[test]
fn user_namespaces_and_pidfds_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("namespaces_pidfd"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    assert!(out.starts_with("unshare: 0, uid now "), "{out}");
    assert!(out.ends_with("pidfd valid, poll 1, child status 5\n"), "{out}");
}
