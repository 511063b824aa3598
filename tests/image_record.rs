//! Recorded restarts: `rback restart --record IMAGE` and the REPL's
//! `branch --record` run a checkpoint image under the recorder, and the
//! result is a trace of its own that starts from the image: `replay -a`
//! reproduces it, the debugger goes back to its first moment, and a
//! damaged or mismatched image inside it is refused in one line.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{
    after_nth, assert_no_panic, assert_one_error_line, c_program, rewrite_trace, run, stdout_before, strip_saved_line,
    Output, Session, TIMEOUT,
};
use recorder::trace::{Event, FileHash, TraceLog, FILES_DIR};

/// The event after the `n`-th (from 1) write to stdout: an image taken at
/// the start of its interval has printed `n` times.
fn after_nth_stdout_write(trace: &Path, n: usize) -> u64 {
    after_nth(trace, n, |nr, args| nr == libc::SYS_write && args[0] == 1)
}

/// `rback checkpoint TRACE --at AT -o IMAGE`, which must work.
fn checkpoint(s: &Session, trace: &Path, at: u64, image: &Path) {
    let out = s.rback(&[
        "checkpoint".as_ref(),
        trace.as_os_str(),
        format!("--at={at}").as_ref(),
        "-o".as_ref(),
        image.as_os_str(),
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
}

/// `rback restart --record [-o TRACE] IMAGE`, as it ended; with the
/// replayed program's memory checked against the recording's at every
/// syscall, so that a restored program that differs in replay is a
/// divergence at its first syscall, not at its first output.
fn restart_recorded(s: &Session, image: &Path, trace: Option<&Path>) -> Output {
    let mut cmd = s.command();
    cmd.arg("restart").arg("--record").arg("--check-memory=1");
    if let Some(trace) = trace {
        cmd.arg("-o").arg(trace);
    }
    cmd.arg(image);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    out
}

fn replay_all(s: &Session, trace: &Path) -> Output {
    s.rback(&["replay".as_ref(), "-a".as_ref(), trace.as_os_str()])
}

/// The REPL on `trace` with `script`, in batch mode.
fn repl(s: &Session, trace: &Path, script: &str) -> Output {
    let file = s.write("script.gdb", script);
    let mut cmd = s.command();
    cmd.arg("replay").arg(trace).arg("--batch").arg("-x").arg(file);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    out
}

/// The values `print` showed, in order (`$N = VALUE` lines).
fn printed(out: &Output) -> Vec<String> {
    out.stdout()
        .lines()
        .filter(|l| l.starts_with('$'))
        .filter_map(|l| l.split_once(" = ").map(|(_, v)| v.to_string()))
        .collect()
}

/// The image a trace of a restarted program starts from, in its `files/`.
fn image_copy(trace: &Path) -> PathBuf {
    let log = TraceLog::load(trace).unwrap();
    let Some(Event::Exec(exec)) = log.events().next() else {
        panic!("the trace does not start with an exec");
    };
    let start = exec.image.as_ref().expect("the trace starts from an image");
    trace.join(FILES_DIR).join(&start.copy.0)
}

/// A copy of `from` at `to` whose first event names `image` as the image
/// it starts from.
fn with_image(from: &Path, to: &Path, image: FileHash) {
    rewrite_trace(from, to, |events| match events.first_mut() {
        Some(Event::Exec(exec)) => exec.image.as_mut().expect("the trace starts from an image").copy = image,
        _ => panic!("the trace does not start with an exec"),
    });
}

#[test]
fn a_recorded_restart_replays_the_rest_of_the_run_exactly() {
    let s = Session::new();
    let rec = s.record(c_program("image_lines"), &[]);
    assert_eq!(rec.code(), 7, "{rec:?}");
    let at = after_nth_stdout_write(&s.trace(), 10);
    let image = s.path("lines.img");
    checkpoint(&s, &s.trace(), at, &image);
    let before = stdout_before(&s.trace(), at);
    assert!(rec.stdout.starts_with(&before), "{rec:?}");
    let rest = rec.stdout[before.len()..].to_vec();
    assert!(String::from_utf8_lossy(&rest).starts_with("round 10: "), "{rest:?}");

    let trace = s.path("restarted");
    let out = restart_recorded(&s, &image, Some(&trace));
    let out = strip_saved_line(out, &trace);
    assert_eq!(out.stdout, rest, "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
    // The image the recording starts from is in the trace, with the files
    // it maps: the original trace is not needed any more.
    fs::remove_dir_all(s.trace()).unwrap();
    fs::remove_file(&image).unwrap();
    assert!(image_copy(&trace).is_file());
    let rep = replay_all(&s, &trace);
    assert_no_panic(&rep);
    assert_eq!(rep.stdout, rest, "{rep:?}");
    assert_eq!(rep.stderr(), "", "{rep:?}");
    assert_eq!(rep.code(), 7, "{rep:?}");
    let verify = s.rback(&["info", "--verify", trace.to_str().unwrap()]);
    assert_eq!(verify.code(), 0, "{verify:?}");
    assert!(!verify.stdout().contains("warning"), "{verify:?}");
}

#[test]
fn a_recorded_restart_is_listed_and_described_among_the_traces() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let at = after_nth_stdout_write(&s.trace(), 2);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), at, &image);
    // Without -o, a new trace among the others, as `rback record` makes.
    let out = restart_recorded(&s, &image, None);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(
        out.stdout(),
        "step 2\nstep 3\nstep 4\nstep 5\nstep 6\nstep 7\nran every step\n"
    );
    let ls = s.rback(&["ls"]);
    assert_eq!(ls.stdout().lines().count(), 1, "{ls:?}");
    let info = s.rback(&["info"]);
    assert_eq!(info.code(), 0, "{info:?}");
    let text = info.stdout();
    let starts = common::field(&text, "starts:");
    assert!(
        starts.contains("checkpoint image") && starts.contains(&format!("event {at} ")),
        "{info:?}"
    );
    let rep = s.rback(&["replay", "-a"]);
    assert_eq!(rep.stdout(), out.stdout(), "{rep:?}");
    assert_eq!(rep.code(), 0, "{rep:?}");
}

#[test]
fn the_debugger_goes_back_to_the_first_moment_of_a_recorded_restart() {
    let s = Session::new();
    let rec = s.record(c_program("image_branch"), &[]);
    assert!(rec.stdout().ends_with("ran every step\n"), "{rec:?}");
    // After "step 2" is written: step(2) is returning, i is 3 next.
    let at = after_nth_stdout_write(&s.trace(), 3);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), at, &image);
    let trace = s.path("restarted");
    let out = restart_recorded(&s, &image, Some(&trace));
    assert_eq!(
        out.stdout(),
        "step 3\nstep 4\nstep 5\nstep 6\nstep 7\nran every step\n",
        "{out:?}"
    );

    let script = "break step\ncontinue\nprint i\ncontinue\nprint i\ncontinue\nprint i\n\
                  reverse-continue\nprint i\nreverse-continue\nprint i\nreverse-stepi\nreverse-continue\nwhen\n\
                  goto 1\ncontinue\nprint i\nprint stop_at\ngoto end\nreverse-continue\nprint i\n";
    let out = repl(&s, &trace, script);
    assert_eq!(out.code(), 0, "{out:?}");
    // Forward to step(5), back to step(3), the restarted run's first call,
    // and to its first moment, which has no earlier hit.
    assert_eq!(printed(&out), ["3", "4", "5", "4", "3", "3", "-1", "7"], "{out:?}");
    let text = out.stdout();
    assert!(text.contains("No more reverse-execution history."), "{out:?}");
    assert!(text.contains("Current event: 1\n"), "{out:?}");
}

#[test]
fn a_recorded_branch_takes_the_other_path_and_replays_it() {
    let s = Session::new();
    let rec = s.record(c_program("image_branch"), &[]);
    assert!(rec.stdout().ends_with("ran every step\n"), "{rec:?}");
    let script = format!(
        "break step\ngoto end\n{}set var stop_at = 3\nbranch --record\nwhen\nprint stop_at\n",
        // From the end back to step(3): its fifth hit going backward.
        "reverse-continue\n".repeat(5),
    );
    let out = repl(&s, &s.trace(), &script);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let branch = text
        .split_once("the program runs for real from here, recorded.\n")
        .unwrap_or_else(|| panic!("{out:?}"))
        .1;
    assert!(
        branch.starts_with("step 3\nleft the loop early at 3\n[The branch exited with status 3; it is recorded in "),
        "{out:?}"
    );
    let trace = PathBuf::from(
        branch
            .split_once("it is recorded in ")
            .and_then(|(_, rest)| rest.split_once("; the recording is still"))
            .unwrap_or_else(|| panic!("{out:?}"))
            .0,
    );
    assert!(
        trace.starts_with(s.traces()),
        "{trace:?} is not among the session's traces"
    );
    // The recording stays where it was, with the change.
    assert_eq!(printed(&out), ["3"], "{out:?}");

    let rep = replay_all(&s, &trace);
    assert_no_panic(&rep);
    assert_eq!(rep.stdout(), "step 3\nleft the loop early at 3\n", "{rep:?}");
    assert_eq!(rep.code(), 3, "{rep:?}");
    // The branch's trace is debugged like any: its first moment has the
    // changed variable, and its run takes the early way out.
    // It starts where the branch was made, at the breakpoint in step(3).
    let out = repl(
        &s,
        &trace,
        "print stop_at\nprint i\nbreak 16\ncontinue\nprint i\nreverse-continue\nprint i\nwhen\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(printed(&out), ["3", "3", "3", "3"], "{out:?}");
    let text = out.stdout();
    assert!(text.contains("Breakpoint 1, main () at image_branch.c:16"), "{out:?}");
    assert!(
        text.contains("No more reverse-execution history.") && text.contains("Current event: 1\n"),
        "{out:?}"
    );
}

#[test]
fn a_damaged_or_mismatched_image_in_a_trace_is_refused_in_one_line() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 3), &image);
    let trace = s.path("restarted");
    let out = restart_recorded(&s, &image, Some(&trace));
    assert_eq!(out.code(), 0, "{out:?}");
    let copy = image_copy(&trace);

    // Another image, of another moment, named by its own hash: intact, but
    // not the one the recording started from.
    let other = s.path("other.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 5), &other);
    let other_hash = recorder::files::FileStore::new(&s.path("scratch"))
        .unwrap()
        .capture(&other)
        .unwrap();
    let mismatched = s.path("mismatched");
    with_image(&trace, &mismatched, other_hash.clone());
    fs::copy(&other, mismatched.join(FILES_DIR).join(&other_hash.0)).unwrap();
    // (Its registers are those of the first: only memory tells the two
    // apart, which replay checks before the program runs.)
    let out = replay_all(&s, &mismatched);
    let e = assert_one_error_line(&out);
    assert!(e.contains("diverged at event 0") && e.contains("memory"), "{e}");
    assert_eq!(out.stdout(), "", "{out:?}");

    // A file of the trace that is no image (the program's copy).
    let log = TraceLog::load(&trace).unwrap();
    let Some(Event::Exec(exec)) = log.events().next() else {
        panic!("no first exec")
    };
    let not_an_image = s.path("not-an-image");
    with_image(&trace, &not_an_image, exec.exe.clone());
    let e = assert_one_error_line(&replay_all(&s, &not_an_image));
    assert!(e.contains(&exec.exe.0), "{e}");

    // The trace's copy of the image, damaged (a new file: the copy may be a
    // hard link to the traces' shared copies).
    let mut bytes = fs::read(&copy).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::remove_file(&copy).unwrap();
    fs::write(&copy, &bytes).unwrap();
    let e = assert_one_error_line(&replay_all(&s, &trace));
    assert!(
        e.contains("damaged") && e.contains(&copy.file_name().unwrap().to_string_lossy().to_string()),
        "{e}"
    );
    let out = repl(&s, &trace, "when\n");
    let e = assert_one_error_line(&out);
    assert!(e.contains("damaged"), "{e}");
    let verify = s.rback(&["info", "--verify", trace.to_str().unwrap()]);
    assert_eq!(verify.code(), 1, "{verify:?}");
    assert!(
        verify.stdout().contains("bad: ") && verify.stdout().contains("damaged"),
        "{verify:?}"
    );

    // Cut short: no longer the copy its name says either.
    bytes.truncate(middle);
    fs::remove_file(&copy).unwrap();
    fs::write(&copy, &bytes).unwrap();
    let e = assert_one_error_line(&replay_all(&s, &trace));
    assert!(e.contains("damaged"), "{e}");
}

#[test]
fn a_branch_of_a_recorded_restart_is_recorded_too() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 3), &image);
    let trace = s.path("restarted");
    assert_eq!(restart_recorded(&s, &image, Some(&trace)).code(), 0);
    // In the restarted run, at step(4): what if the loop left there?
    let out = repl(
        &s,
        &trace,
        "break step\ncontinue\ncontinue\nset var stop_at = 4\nbranch --record\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let (_, branch) = text
        .split_once("the program runs for real from here, recorded.\n")
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        branch.starts_with("step 4\nleft the loop early at 4\n[The branch exited with status 3; it is recorded in "),
        "{out:?}"
    );
    let second = PathBuf::from(
        branch
            .split_once("it is recorded in ")
            .and_then(|(_, rest)| rest.split_once("; the recording is still"))
            .unwrap_or_else(|| panic!("{out:?}"))
            .0,
    );
    let rep = replay_all(&s, &second);
    assert_eq!(rep.stdout(), "step 4\nleft the loop early at 4\n", "{rep:?}");
    assert_eq!(rep.code(), 3, "{rep:?}");
    let info = s.rback(&["info", second.to_str().unwrap()]);
    assert!(
        info.stdout().contains(&format!("of the trace {}", trace.display())),
        "{info:?}"
    );
}

#[test]
fn an_image_saved_from_a_recorded_restart_keeps_the_files_the_first_image_had() {
    let s = Session::new();
    let data: String = (0..10).map(|i| format!("[data {i:02}]\n")).collect();
    let file = s.write("data.txt", &data);
    let rec = s.record(c_program("image_read_file"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let is_file_read = |nr: i64, a: &[u64; 6]| nr == libc::SYS_read && a[0] == 5;
    let image = s.path("first.img");
    checkpoint(&s, &s.trace(), after_nth(&s.trace(), 2, is_file_read), &image);
    let trace = s.path("restarted");
    let out = restart_recorded(&s, &image, Some(&trace));
    assert!(out.stdout().starts_with("piece 1: "), "{out:?}");
    // Two reads into the restarted run, the file descriptor and its offset
    // come from the first image and the reads the new trace recorded.
    let at = after_nth(&trace, 2, is_file_read);
    let second = s.path("second.img");
    checkpoint(&s, &trace, at, &second);
    let mut cmd = s.command();
    cmd.arg("restart").arg(&second);
    let again = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&again);
    let before = stdout_before(&trace, at);
    assert!(out.stdout.starts_with(&before), "{out:?}");
    assert_eq!(again.stdout, out.stdout[before.len()..], "{again:?}");
    assert!(again.stdout().starts_with("piece 3: "), "{again:?}");
    assert_eq!(again.code(), 0, "{again:?}");
}

/// Records `program` (with `args`), saves it at `at(trace)`, restarts that
/// under the recorder, and checks that the restarted run printed the rest
/// of the recorded output and that `replay -a` of its trace reproduces it
/// exactly. Returns the restarted run's output.
fn restart_recorded_and_replay(s: &Session, program: &str, args: &[&str], at: impl Fn(&Path) -> u64) -> Output {
    let rec = s.record(c_program(program), args);
    let at = at(&s.trace());
    let image = s.path("moment.img");
    checkpoint(s, &s.trace(), at, &image);
    let before = stdout_before(&s.trace(), at);
    assert!(rec.stdout.starts_with(&before), "{rec:?}");
    let trace = s.path("restarted");
    let out = restart_recorded(s, &image, Some(&trace));
    assert_eq!(out.stdout, rec.stdout[before.len()..], "{out:?}");
    assert_eq!(out.code(), rec.code(), "{out:?}");
    let rep = replay_all(s, &trace);
    assert_no_panic(&rep);
    assert_eq!(rep.stdout, out.stdout, "{rep:?}");
    assert_eq!(rep.stderr(), "", "{rep:?}");
    assert_eq!(rep.code(), out.code(), "{rep:?}");
    out
}

#[test]
fn a_recorded_restart_reads_on_from_an_open_files_offset_and_replays_without_it() {
    let s = Session::new();
    let data: String = (0..10).map(|i| format!("[data {i:02}]\n")).collect();
    let file = s.write("data.txt", &data);
    // After the fourth read of the file (descriptor 5: the pipe has 3 and 4).
    let out = restart_recorded_and_replay(&s, "image_read_file", &[file.to_str().unwrap()], |t| {
        after_nth(t, 4, |nr, a| nr == libc::SYS_read && a[0] == 5)
    });
    assert!(out.stdout().starts_with("piece 3: "), "{out:?}");
    // The replay read nothing: the file can go.
    fs::remove_file(&file).unwrap();
    let rep = replay_all(&s, &s.path("restarted"));
    assert_eq!(rep.stdout, out.stdout, "{rep:?}");
}

#[test]
fn a_pending_signal_and_an_armed_alarm_are_recorded_where_the_restarted_run_got_them() {
    let s = Session::new();
    // After the second raise: SIGUSR1 is blocked and pending, delivered
    // when the program unblocks it.
    let out = restart_recorded_and_replay(&s, "self_signal", &[], |t| {
        after_nth(t, 2, |nr, _| nr == libc::SYS_tgkill)
    });
    assert!(out.stdout().contains("handler: SIGUSR1\nunblocked: usr1=2"), "{out:?}");
    // Just after alarm(1), before pause(): the timer armed again wakes it.
    let s = Session::new();
    let out = restart_recorded_and_replay(&s, "alarm_pause", &[], |t| {
        after_nth(t, 1, |nr, _| nr == libc::SYS_alarm)
    });
    assert!(out.stdout().ends_with("alarms=2\n"), "{out:?}");
}

#[test]
fn a_posix_timer_made_again_fires_in_the_recorded_restart_and_its_replay() {
    let s = Session::new();
    let out = restart_recorded_and_replay(&s, "image_posix_timer", &[], |t| {
        after_nth(t, 2, |nr, _| nr == libc::SYS_timer_settime)
    });
    assert!(
        out.stdout().contains("three ticks: 1, value 42, from tick: 1\n"),
        "{out:?}"
    );
}

#[test]
fn gdb_debugs_a_recorded_restart_backward_with_the_images_libraries() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 3), &image);
    let trace = s.path("restarted");
    assert_eq!(restart_recorded(&s, &image, Some(&trace)).code(), 0);
    let mut args = vec!["gdb", trace.to_str().unwrap(), "--", "-batch", "-nx"];
    for command in [
        "break image_branch.c:8",
        "continue",
        "continue",
        "print i",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "bt 1",
    ] {
        args.extend(["-ex", command]);
    }
    let out = s.rback(&args);
    assert_no_panic(&out);
    let text = out.stdout() + &out.stderr();
    assert!(text.contains("$1 = 4\n") && text.contains("$2 = 3\n"), "{out:?}");
    assert!(text.contains("No more reverse-execution history."), "{out:?}");
    // The first moment is inside libc's write, whose copy only the image
    // names: gdb gets its symbols from the trace all the same.
    assert!(text.contains("#0  0x") && text.contains("write"), "{out:?}");
}

#[test]
fn a_recorded_restart_that_starts_other_programs_replays_them() {
    let s = Session::new();
    let script = s.write("script.sh", "#!/bin/sh\necho \"script got $1\"\nexit 12\n");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // After the program printed what posix_spawn's child exited with (its
    // third write to stdout; the second is that child's): from there it
    // runs system() (a shell), popen both ways and execs a script, each a
    // program that the restarted process's children exec (with ASLR off,
    // as in any recording, so replay finds them where they ran). An image
    // holds one process: one saved before the program waited for its
    // spawned child would find no child to wait for.
    let out = restart_recorded_and_replay(&s, "spawn_family", &["./script.sh"], |t| after_nth_stdout_write(t, 3));
    assert_eq!(
        out.stdout(),
        "from system\n\
         system: 3\n\
         popen read: one\n\
         popen read: two\n\
         pclose: 6\n\
         pclose of a writer: 2\n\
         script got arg1\n\
         script: 12\n",
        "{out:?}"
    );
}

#[test]
fn a_recorded_restart_of_three_threads_replays_and_debugs_each_thread() {
    let s = Session::new();
    // After "worker 1" is written: worker 2 and main wait in
    // pthread_cond_wait and pthread_join, made again by the restart.
    let out = restart_recorded_and_replay(&s, "image_threads", &[], |t| after_nth_stdout_write(t, 3));
    assert_eq!(
        out.stdout(),
        "joined worker 1: 10\nworker 2: tls 200, same id 1\njoined worker 2: 20\n",
        "{out:?}"
    );
    let trace = s.path("restarted");
    let info = s.rback(&["info", trace.to_str().unwrap()]);
    assert!(
        common::field(&info.stdout(), "threads:").trim_start().starts_with("3 "),
        "{info:?}"
    );
    let out = repl(
        &s,
        &trace,
        "info threads\nbreak image_threads.c:27\ncontinue\nprint n\nprint mine\nreverse-continue\nwhen\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    // The threads the image held are there from the first moment, numbered
    // as the program made them.
    assert!(text.contains("\n  3    Thread "), "{out:?}");
    assert!(
        text.contains("Thread 3 \"image_threads\" hit Breakpoint 1, worker (arg=0x2)"),
        "{out:?}"
    );
    assert_eq!(printed(&out), ["2", "200"], "{out:?}");
    assert!(
        text.contains("No more reverse-execution history.") && text.contains("Current event: 1\n"),
        "{out:?}"
    );
}

#[test]
fn a_signal_pending_in_a_worker_is_recorded_where_that_worker_gets_it() {
    let s = Session::new();
    let out = restart_recorded_and_replay(&s, "image_thread_signal", &[], |t| {
        after_nth(t, 1, |nr, _| nr == libc::SYS_tgkill)
    });
    assert_eq!(out.stdout(), "handled in the worker: 1\njoined\n", "{out:?}");
}

#[test]
fn an_exec_after_the_start_that_names_an_image_is_refused_in_one_line() {
    let s = Session::new();
    let script = s.write("script.sh", "#!/bin/sh\necho \"script got $1\"\nexit 12\n");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    s.record(c_program("spawn_family"), &["./script.sh"]);
    let crafted = s.path("crafted");
    rewrite_trace(&s.trace(), &crafted, |events| {
        let later = events
            .iter_mut()
            .skip(1)
            .find_map(|e| match e {
                Event::Exec(exec) => Some(exec),
                _ => None,
            })
            .expect("a later exec");
        later.image = Some(recorder::trace::ImageStart {
            copy: later.exe.clone(),
            threads: vec![],
            memory: vec![],
        });
    });
    let e = assert_one_error_line(&replay_all(&s, &crafted));
    assert!(e.contains("starts from a checkpoint image"), "{e}");
    let verify = s.rback(&["info", "--verify", crafted.to_str().unwrap()]);
    assert_eq!(verify.code(), 1, "{verify:?}");
    assert!(verify.stdout().contains("starts from a checkpoint image"), "{verify:?}");
}

#[test]
fn a_restart_that_cannot_be_recorded_says_why_in_one_line_and_leaves_no_trace() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let image = s.path("steps.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 3), &image);
    assert_eq!(restart_recorded(&s, &image, None).code(), 0);
    let listed = s.rback(&["ls"]).stdout();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let latest = fs::read_link(s.traces().join("latest-trace")).unwrap();
    // The copies of the files it maps went with the trace.
    fs::remove_dir_all(s.trace()).unwrap();
    let e = assert_one_error_line(&restart_recorded(&s, &image, None));
    assert!(e.contains("--trace"), "{e}");
    assert_eq!(s.rback(&["ls"]).stdout(), listed);
    assert_eq!(fs::read_link(s.traces().join("latest-trace")).unwrap(), latest);
    // An empty directory named with -o stays, empty.
    let named = s.path("named");
    fs::create_dir(&named).unwrap();
    assert_one_error_line(&restart_recorded(&s, &image, Some(&named)));
    assert_eq!(fs::read_dir(&named).unwrap().count(), 0);
    // Not an image at all.
    let e = assert_one_error_line(&restart_recorded(&s, &s.write("junk.img", "junk"), None));
    assert!(e.contains("junk.img"), "{e}");
}

#[test]
fn a_damaged_image_is_refused_before_a_recorded_restart_runs() {
    let s = Session::new();
    s.record(c_program("image_lines"), &[]);
    let image = s.path("lines.img");
    checkpoint(&s, &s.trace(), after_nth_stdout_write(&s.trace(), 10), &image);
    // A byte of its pages, past the header that names what they are.
    let mut bytes = fs::read(&image).unwrap();
    let at = bytes.len() * 3 / 4;
    bytes[at] ^= 0x01;
    let damaged = s.write("damaged.img", &bytes);
    let out = restart_recorded(&s, &damaged, None);
    let e = assert_one_error_line(&out);
    assert!(e.contains("damaged.img") && !e.contains("/files/"), "{e}");
    assert_eq!(out.stdout(), "", "the program must not run:\n{out:?}");
    assert_eq!(s.rback(&["ls"]).stdout(), "");
    assert!(
        fs::symlink_metadata(s.traces().join("latest-trace")).is_err(),
        "a latest-trace link to nothing"
    );
}
