//! The in-process syscall buffer: cheap calls recorded without a stop each,
//! replayed as ordinary events. Each program prints (or exits with) values
//! that depend on the buffered calls' results, so a replay that handed back
//! other results, or lost track of which call is which, fails.

mod common;

use common::*;

fn buffered_calls() -> std::path::PathBuf {
    c_program("buffered_calls")
}

/// Records `args` of the test program, checks the recording printed what
/// `check` wants, and replays it twice.
fn record_and_replay_twice(session: &Session, args: &[&str], check: impl Fn(&Output)) -> Output {
    let rec = session.record(buffered_calls(), args);
    check(&rec);
    for _ in 0..2 {
        assert_replay_matches(&rec, &session.replay());
    }
    rec
}

#[test]
fn clocks_ids_stats_and_reads_go_through_the_buffer_and_replay() {
    let session = Session::new();
    let data = session.write("data", (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>());
    let rec = record_and_replay_twice(&session, &["mix", data.to_str().unwrap()], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        // The library ran: its buffer is mapped in the program.
        assert!(out.starts_with("buffer mapped: yes\n"), "{out}");
        assert!(out.contains("clock: moved, backwards 0, ids 0\n"), "{out}");
        assert!(out.contains(", random 32 bytes, "), "{out}");
        assert!(out.contains("pipe 14 \"through a pipe\"\n"), "{out}");
        assert!(out.contains("access: 0 -1 0 0, stat of nothing: -1\n"), "{out}");
    });
    // The file's hash is the program's own, not a replayed artefact: the
    // same program run natively computes the same.
    let native = run(
        std::process::Command::new(buffered_calls()).args(["mix", data.to_str().unwrap()]),
        None,
        TIMEOUT,
    );
    let hash = |out: &str| out.lines().find(|l| l.starts_with("file hash")).map(str::to_owned);
    assert_eq!(hash(&rec.stdout()), hash(&native.stdout()));
    assert!(native.stdout().starts_with("buffer mapped: no\n"));
}

#[test]
fn signals_that_arrive_during_buffered_calls_are_delivered_where_recorded() {
    let session = Session::new();
    record_and_replay_twice(&session, &["signal"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        assert!(rec.stdout().starts_with("20 ticks after "), "{}", rec.stdout());
    });
}

#[test]
fn threads_spinning_on_buffered_calls_are_preempted_and_replay_their_counts() {
    let session = Session::new();
    record_and_replay_twice(&session, &["threads"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        assert_eq!(out.lines().filter(|l| l.starts_with("thread ")).count(), 4, "{out}");
        assert!(out.ends_with("threads done\n"), "{out}");
    });
}

#[test]
fn forked_and_spawned_processes_buffer_their_own_calls() {
    let session = Session::new();
    record_and_replay_twice(&session, &["fork"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        assert!(out.contains("child: sum "), "{out}");
        assert!(out.contains("child status 0\n"), "{out}");
        // The spawned copy (vfork-like posix_spawn, then exec) maps its own.
        assert!(out.contains("buffer mapped: yes\n"), "{out}");
        assert!(out.ends_with("spawned status 0\n"), "{out}");
    });
}

#[test]
fn a_program_that_closes_and_dup2s_over_every_descriptor_still_records() {
    let session = Session::new();
    let data = session.write("data", vec![b'x'; 4096]);
    record_and_replay_twice(&session, &["fds", data.to_str().unwrap()], |rec| {
        assert_eq!(rec.code(), 42, "{rec:?}");
    });
}

#[test]
fn writes_to_files_are_buffered_but_output_and_shared_mappings_are_not() {
    // Recorded with stdout going to a regular file, which the library must
    // recognise as rback's own output (replay shows it again), even through
    // a copy of the descriptor; the file mapped shared at the end shows the
    // bytes the last write put there, in replay too.
    let session = Session::new();
    let data = session.path("written");
    let out_file = session.path("recorded-output");
    let mut cmd = session.command();
    // `run` captures stdout through a pipe: a shell sends it to the file.
    let rback = cmd.get_program().to_owned();
    cmd = std::process::Command::new("/bin/sh");
    cmd.envs(session.command().get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(session.dir())
        .arg("-c")
        .arg("out=$1; shift; exec \"$@\" > \"$out\"")
        .arg("sh")
        .arg(&out_file)
        .arg(rback)
        .arg("record")
        .arg("-o")
        .arg(session.trace())
        .arg(buffered_calls())
        .arg("write")
        .arg(&data);
    let rec = run(&mut cmd, None, TIMEOUT);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let recorded = std::fs::read_to_string(&out_file).unwrap();
    assert!(recorded.starts_with("straight to stdout\n"), "{recorded}");
    assert!(recorded.contains("through a copy of stdout\n"), "{recorded}");
    assert!(recorded.contains("the mapping shows MAPPED\n"), "{recorded}");
    for _ in 0..2 {
        let rep = session.replay();
        assert_eq!(rep.code(), 0, "{rep:?}");
        assert_eq!(rep.stdout(), recorded);
    }
}

#[test]
fn polls_that_only_look_are_buffered_and_replay_what_they_saw() {
    // How many times each loop looked before the child's write is the
    // recording's alone; replay must print the same numbers.
    let session = Session::new();
    record_and_replay_twice(&session, &["poll"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        assert!(out.contains("poll looked more than once, revents 0x1\n"), "{out}");
        assert!(
            out.contains("epoll_wait looked more than once, 1 event 0x1 data 0x1234\n"),
            "{out}"
        );
    });
}

#[test]
fn without_the_buffer_the_program_sees_no_library_and_replays_the_same() {
    let session = Session::new();
    let data = session.write("data", b"some bytes to read\n".repeat(100));
    let mut cmd = session.command();
    cmd.args(["record", "--no-syscall-buffer", "-o"])
        .arg(session.trace())
        .arg(buffered_calls())
        .args(["mix", data.to_str().unwrap()]);
    let rec = strip_saved_line(run(&mut cmd, None, TIMEOUT), &session.trace());
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(rec.stdout().starts_with("buffer mapped: no\n"), "{}", rec.stdout());
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn the_debugger_goes_back_across_thousands_of_buffered_clock_reads() {
    // clocks.c reads the clock, prints it (line 14), then reads it for 2 ms
    // in a loop (thousands of buffered calls, each an event in the trace)
    // and prints how many (line 25). Going back from there to line 14 must
    // show the value it showed going forward.
    let session = Session::new();
    let rec = session.record(c_program("clocks"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let script = session.write(
        "script.gdb",
        "break 14\nbreak 25\ncontinue\nprint rt.tv_nsec\ncontinue\nprint reads\n\
         reverse-stepi\nreverse-stepi\nstepi\nstepi\nreverse-continue\nprint rt.tv_nsec\n",
    );
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg(session.trace())
        .arg("--batch")
        .arg("-x")
        .arg(script);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    let stdout = out.stdout();
    let values: Vec<&str> = stdout.lines().filter(|l| l.starts_with("$")).collect();
    assert_eq!(values.len(), 3, "{stdout}");
    let value = |l: &str| l.split(" = ").nth(1).map(str::to_owned);
    assert_eq!(value(values[0]), value(values[2]), "{stdout}");
    let reads: u64 = value(values[1]).unwrap().parse().unwrap();
    let recorded = rec.stdout();
    assert!(
        recorded.contains(&format!("clock reads in 2 ms: {reads}\n")),
        "{recorded}\n{stdout}"
    );
    assert!(reads > 100, "{stdout}");
    assert_eq!(stdout.matches("Breakpoint 1, main").count(), 2, "{stdout}");
    assert!(!stdout.to_lowercase().contains("error"), "{stdout}");
}
