//! Checkpoint images: `rback checkpoint`, `rback restart`, and the REPL's
//! `checkpoint save` and `branch`, checked on what the restarted program
//! prints and how it ends.

mod common;

use std::path::Path;

use common::{
    after_nth, assert_no_panic, assert_one_error_line, c_program, run, stdout_before, Output, Session, TIMEOUT,
};

fn checkpoint(s: &Session, at: u64, image: &Path) {
    let out = checkpoint_at(s, &at.to_string(), image);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().contains(&format!("Saved event {at} to")), "{out:?}");
}

/// `rback checkpoint TRACE --at AT -o IMAGE`, as it ended.
fn checkpoint_at(s: &Session, at: &str, image: &Path) -> Output {
    let out = s.rback(&[
        "checkpoint".as_ref(),
        s.trace().as_os_str(),
        // (With `=`, so that a value like "-3" is one.)
        format!("--at={at}").as_ref(),
        "-o".as_ref(),
        image.as_os_str(),
    ]);
    assert_no_panic(&out);
    out
}

fn restart(s: &Session, image: &Path, extra: &[&str]) -> Output {
    let mut cmd = s.command();
    cmd.arg("restart").arg(image).args(extra);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    out
}

/// What was left to print after `at`, and the check that the recording
/// printed what came before.
fn rest_of(rec: &Output, trace: &Path, at: u64) -> Vec<u8> {
    let before = stdout_before(trace, at);
    assert!(rec.stdout.starts_with(&before), "{rec:?}");
    assert!(
        rec.stdout.len() > before.len(),
        "nothing left to print after event {at}"
    );
    rec.stdout[before.len()..].to_vec()
}

fn is_stdout_write(nr: i64, args: &[u64; 6]) -> bool {
    nr == libc::SYS_write && args[0] == 1
}

#[test]
fn restart_from_the_middle_prints_the_rest_of_the_output() {
    let s = Session::new();
    let rec = s.record(c_program("image_lines"), &[]);
    assert_eq!(rec.code(), 7);
    let at = after_nth(&s.trace(), 10, is_stdout_write);
    let image = s.path("lines.img");
    checkpoint(&s, at, &image);
    // A small C program makes a small image (its 8 MiB of blocks are a
    // byte repeated, which compresses to little).
    let meta = std::fs::metadata(&image).unwrap();
    assert!(meta.len() < 200 << 10, "the image is {} bytes", meta.len());
    // It holds the program's memory: its owner's only.
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
    // Nothing to say, unless another process took the recorded pid.
    assert!(
        out.stderr_lines()
            .iter()
            .all(|l| l.starts_with("rback: note: the program's process id was")),
        "{out:?}"
    );
}

#[test]
fn restart_of_a_copied_image_works_after_the_binary_is_deleted() {
    let s = Session::new();
    let bin = s.path("lines");
    std::fs::copy(c_program("image_lines"), &bin).unwrap();
    let rec = s.record(&bin, &[]);
    let at = after_nth(&s.trace(), 3, is_stdout_write);
    let image = s.path("first.img");
    checkpoint(&s, at, &image);
    let elsewhere = s.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let copy = elsewhere.join("copy.img");
    std::fs::copy(&image, &copy).unwrap();
    std::fs::remove_file(&image).unwrap();
    std::fs::remove_file(&bin).unwrap();
    // The file-backed pages come from the trace's copies of the binaries.
    let out = restart(&s, &copy, &[]);
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
    // Without the trace the image cannot be completed, and says where to look.
    std::fs::rename(s.trace(), s.path("moved-trace")).unwrap();
    let e = assert_one_error_line(&restart(&s, &copy, &[]));
    assert!(e.contains("--trace"), "{e}");
    let out = restart(&s, &copy, &["--trace", s.path("moved-trace").to_str().unwrap()]);
    assert_eq!(out.stdout, rest_of(&rec, &s.path("moved-trace"), at), "{out:?}");
}

#[test]
fn an_open_file_is_read_on_from_its_offset_and_a_pipe_is_replaced() {
    let s = Session::new();
    let data: String = (0..10).map(|i| format!("[data {i:02}]\n")).collect();
    let file = s.write("data.txt", &data);
    let rec = s.record(c_program("image_read_file"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(rec.stdout().contains("pipe write: 1"), "{rec:?}");
    // After the fourth read of the file (descriptor 5: the pipe has 3 and 4).
    let at = after_nth(&s.trace(), 4, |nr, a| nr == libc::SYS_read && a[0] == 5);
    let image = s.path("read.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    let rest = rest_of(&rec, &s.trace(), at);
    assert_eq!(out.stdout, rest, "{out:?}");
    assert!(String::from_utf8_lossy(&rest).starts_with("piece 3: "), "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(
        out.stderr()
            .contains("descriptor 4 (a pipe) cannot be reopened: /dev/null stands in"),
        "{out:?}"
    );
    // Closed instead, the pipe's write fails.
    let out = restart(&s, &image, &["--unopenable", "close"]);
    assert!(out.stdout().ends_with("pipe write: -1\n"), "{out:?}");
    assert!(
        out.stderr()
            .contains("descriptor 4 (a pipe) cannot be reopened: closed"),
        "{out:?}"
    );
}

#[test]
fn a_damaged_image_is_a_one_line_error() {
    let s = Session::new();
    s.record(c_program("image_lines"), &[]);
    let at = after_nth(&s.trace(), 2, is_stdout_write);
    let image = s.path("good.img");
    checkpoint(&s, at, &image);
    let good = std::fs::read(&image).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x20;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("flipped.img", flipped, "checksum mismatch"),
        (
            "cut.img",
            good[..good.len() - 100].to_vec(),
            "is not a usable rback image",
        ),
        ("empty.img", vec![], "is not an rback image"),
        (
            "text.img",
            b"hello, this is not an image".to_vec(),
            "is not an rback image",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = s.write(name, bytes);
        let line = assert_one_error_line(&restart(&s, &path, &[]));
        assert!(line.contains(says), "{name}: {line}");
    }
    let e = assert_one_error_line(&restart(&s, &s.path("missing.img"), &[]));
    assert!(e.contains("missing.img"), "{e}");
}

#[test]
fn branch_after_going_back_with_a_changed_variable_takes_the_other_path() {
    let s = Session::new();
    let rec = s.record(c_program("image_branch"), &[]);
    assert!(rec.stdout().ends_with("ran every step\n"), "{rec:?}");
    let image = s.path("branch.img");
    let script = format!(
        "break step\ngoto end\n{}set var stop_at = 3\nbranch\ncheckpoint save {}\nwhen\n",
        // From the end back to step(3): its fifth hit going backward.
        "reverse-continue\n".repeat(5),
        image.display()
    );
    let file = s.write("script.gdb", script);
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace()).arg("--batch").arg("-x").arg(file);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let branch = text
        .split_once("the program runs for real from here.\n")
        .unwrap_or_else(|| panic!("{out:?}"))
        .1;
    assert!(
        branch.starts_with("step 3\nleft the loop early at 3\n[The branch exited with status 3;"),
        "{out:?}"
    );
    // The recording is where it was.
    assert!(text.contains("Current event: "), "{out:?}");
    // The image saved with the change takes the other path too.
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), "step 3\nleft the loop early at 3\n", "{out:?}");
    assert_eq!(out.code(), 3, "{out:?}");
}

#[test]
fn gdb_saves_an_image_with_its_change_through_monitor() {
    let s = Session::new();
    s.record(c_program("image_branch"), &[]);
    let image = s.path("from-gdb.img");
    let save = format!("monitor checkpoint save {}", image.display());
    let out = s.rback(&[
        "gdb",
        s.trace().to_str().unwrap(),
        "--",
        "-batch",
        "-nx",
        "-ex",
        "break step",
        "-ex",
        "continue",
        "-ex",
        "continue",
        "-ex",
        "set var stop_at = 1",
        "-ex",
        &save,
    ]);
    assert_no_panic(&out);
    assert!((out.stdout() + &out.stderr()).contains("Saved event "), "{out:?}");
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), "step 1\nleft the loop early at 1\n", "{out:?}");
    assert_eq!(out.code(), 3, "{out:?}");
}

#[test]
fn a_blocked_pending_signal_is_delivered_when_the_restarted_program_unblocks_it() {
    let s = Session::new();
    let rec = s.record(c_program("self_signal"), &[]);
    assert!(rec.stdout().ends_with("unblocked: usr1=2\n"), "{rec:?}");
    // After the second raise: SIGUSR1 is blocked and pending. Replay raises
    // a signal only where it is delivered, so the image learns it from the
    // log.
    let at = after_nth(&s.trace(), 2, |nr, _| nr == libc::SYS_tgkill);
    let image = s.path("pending.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    let rest = rest_of(&rec, &s.trace(), at);
    assert!(
        String::from_utf8_lossy(&rest).contains("handler: SIGUSR1\nunblocked: usr1=2"),
        "{rest:?}"
    );
    assert_eq!(out.stdout, rest, "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    // Just after kill(getpid(), SIGUSR2), before its delivery: the handler
    // still finds the sender is the process itself, which has the
    // recorded process id again.
    let at = after_nth(&s.trace(), 1, |nr, _| nr == libc::SYS_kill);
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert!(
        out.stdout().starts_with("after kill: usr2=1 from_self=1 si_user=1\n"),
        "{out:?}"
    );
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
}

#[test]
fn a_bundled_image_restarts_without_its_trace() {
    let s = Session::new();
    let rec = s.record(c_program("image_lines"), &[]);
    let at = after_nth(&s.trace(), 5, is_stdout_write);
    let rest = rest_of(&rec, &s.trace(), at);
    let image = s.path("bundled.img");
    let out = s.rback(&[
        "checkpoint".as_ref(),
        s.trace().as_os_str(),
        "--at".as_ref(),
        at.to_string().as_ref(),
        "-o".as_ref(),
        image.as_os_str(),
        "--bundle".as_ref(),
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().contains("bundled.img.files: copy it along"), "{out:?}");
    // Elsewhere: the image and its bundle, and no trace anywhere.
    let elsewhere = s.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(&image, elsewhere.join("moved.img")).unwrap();
    std::fs::rename(s.path("bundled.img.files"), elsewhere.join("moved.img.files")).unwrap();
    std::fs::remove_dir_all(s.trace()).unwrap();
    let out = restart(&s, &elsewhere.join("moved.img"), &[]);
    assert_eq!(out.stdout, rest, "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
}

#[test]
fn an_armed_alarm_is_armed_again_and_interrupts_the_restarted_pause() {
    let s = Session::new();
    let rec = s.record(c_program("alarm_pause"), &[]);
    assert!(rec.stdout().ends_with("alarms=2\n"), "{rec:?}");
    // Just after the first alarm(1), before pause(): without the timer the
    // restarted program would pause forever.
    let at = after_nth(&s.trace(), 1, |nr, _| nr == libc::SYS_alarm);
    let image = s.path("alarm.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(
        out.stderr()
            .contains("armed again for its whole 1.000 s: how much of it had passed is not recorded"),
        "{out:?}"
    );
}

#[test]
fn checkpoint_at_start_and_end_goes_where_goto_goes() {
    let s = Session::new();
    let rec = s.record(c_program("image_lines"), &[]);
    assert_eq!(rec.code(), 7, "{rec:?}");
    // At the start, the restarted program prints everything.
    let image = s.path("start.img");
    let out = checkpoint_at(&s, "start", &image);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().starts_with("Saved event 1 to"), "{out:?}");
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout, rec.stdout, "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
    // At the end, just before exit_group: nothing is left but the exit.
    let image = s.path("end.img");
    let out = checkpoint_at(&s, "end", &image);
    assert_eq!(out.code(), 0, "{out:?}");
    let saved = out.stdout();
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), "", "{out:?}");
    assert_eq!(out.code(), 7, "{out:?}");
    // The debugger's `goto end` stands at the same event.
    let script = s.write("end.gdb", "goto end\nwhen\n");
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace()).arg("--batch").arg("-x").arg(script);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
    let event = common::field(&out.stdout(), "Current event:").to_string();
    assert!(
        saved.starts_with(&format!("Saved event {event} (just before it) to")),
        "{saved} / {out:?}"
    );
    // What goto refuses, --at refuses in one line.
    for (bad, says) in [
        ("later", "invalid event \"later\""),
        ("", "invalid event \"\""),
        ("-3", "invalid event \"-3\""),
        ("0", "outside the recording"),
        ("100000", "outside the recording"),
    ] {
        let line = assert_one_error_line(&checkpoint_at(&s, bad, &s.path("bad.img")));
        assert!(line.contains(says), "{bad}: {line}");
    }
    assert!(!s.path("bad.img").exists());
}

#[test]
fn posix_timers_are_made_again_with_their_ids_and_the_armed_one_fires() {
    let s = Session::new();
    let rec = s.record(c_program("image_posix_timer"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(
        rec.stdout()
            .ends_with("three ticks: 1, value 42, from tick: 1\nidle armed: 1, spare unarmed: 1, all deleted: 1\n"),
        "{rec:?}"
    );
    // Just after "tick" is armed, before its first signal: without it the
    // restarted program would wait its 5 s and print "three ticks: 0".
    let at = after_nth(&s.trace(), 2, |nr, _| nr == libc::SYS_timer_settime);
    let image = s.path("timers.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    let stderr = out.stderr();
    assert!(
        stderr.contains("is armed again for its whole 0.300 s")
            && stderr.contains("is armed again for its whole 100.000 s"),
        "{out:?}"
    );
    // After the ticks, "tick" is disarmed but still there; so are the others.
    let at = after_nth(&s.trace(), 3, |nr, _| nr == libc::SYS_timer_settime);
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout, rest_of(&rec, &s.trace(), at), "{out:?}");
    assert!(!out.stderr().contains("0.300 s"), "{out:?}");
}

#[test]
fn threads_are_made_again_with_their_ids_tls_and_join_words() {
    let s = Session::new();
    let rec = s.record(c_program("image_threads"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    // Just after "both waiting" (an unbuffered printf: its text, then its
    // newline): both workers wait for their turn, in pthread_cond_wait.
    let at = after_nth(&s.trace(), 2, is_stdout_write);
    let image = s.path("threads.img");
    let saved = checkpoint_at(&s, &at.to_string(), &image);
    assert!(
        saved.stdout().starts_with(&format!("Saved event {at} to ")) && saved.stdout().contains(": 3 threads, "),
        "{saved:?}"
    );
    let out = restart(&s, &image, &[]);
    let rest = rest_of(&rec, &s.trace(), at);
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "worker 1: tls 100, same id 1\njoined worker 1: 10\nworker 2: tls 200, same id 1\njoined worker 2: 20\n"
    );
    assert_eq!(out.stdout, rest, "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    // From the debugger, stopped in the second worker as it starts: the
    // thread whose turn it is is not the first, and the third is just born.
    let image = s.path("worker.img");
    let refused = s.path("refused.img");
    let script = format!(
        "break worker\ncontinue\ncontinue\nthread 1\ncheckpoint save {}\nthread 3\ncheckpoint save {}\n",
        refused.display(),
        image.display()
    );
    let file = s.write("threads.gdb", script);
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace()).arg("--batch").arg("-x").arg(file);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    let text = out.stdout() + &out.stderr();
    assert!(text.contains("select thread 3 first"), "{out:?}");
    assert!(!refused.exists());
    assert!(text.contains("Saved event "), "{out:?}");
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), String::from_utf8_lossy(&rec.stdout), "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
}

#[test]
fn a_sigev_thread_timer_reaches_glibcs_helper_thread_after_restart() {
    let s = Session::new();
    let rec = s.record(c_program("image_thread_timer"), &[]);
    assert_eq!(rec.stdout(), "armed\nfired with 7\n", "{rec:?}");
    // Armed, with glibc's helper thread waiting for the timer's signal.
    let at = after_nth(&s.trace(), 1, |nr, _| nr == libc::SYS_timer_settime);
    let image = s.path("thread-timer.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), "armed\nfired with 7\n", "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
}

#[test]
fn a_signal_pending_in_a_worker_is_handled_by_that_worker_after_restart() {
    let s = Session::new();
    let rec = s.record(c_program("image_thread_signal"), &[]);
    assert_eq!(rec.stdout(), "handled in the worker: 1\njoined\n", "{rec:?}");
    // Just after pthread_kill: SIGUSR1 waits in the worker, which blocks it.
    let at = after_nth(&s.trace(), 1, |nr, _| nr == libc::SYS_tgkill);
    let image = s.path("thread-signal.img");
    checkpoint(&s, at, &image);
    let out = restart(&s, &image, &[]);
    assert_eq!(out.stdout(), "handled in the worker: 1\njoined\n", "{out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
}
