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

/// What the debugger prints for the command file `script` on the
/// session's trace, which it must run through without an error.
/// The line of buffered_calls.c that holds `marker`.
fn buffered_calls_line(marker: &str) -> usize {
    let source = std::fs::read_to_string(programs_dir().join("buffered_calls.c")).unwrap();
    source.lines().position(|l| l.contains(marker)).unwrap() + 1
}

fn debugger_output(session: &Session, script: &std::path::Path) -> String {
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg(session.trace())
        .arg("--batch")
        .arg("-x")
        .arg(script);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    out.stdout()
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
    let stdout = debugger_output(&session, &script);
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

/// A reverse-continue to a breakpoint across long stretches of buffered
/// calls (one event each) flies over the stretches without a hit and
/// counts only the last one with hits interval by interval: it lands on
/// the last hit, and the next reverse-continue on the one before, as going
/// forward shows them. (It used to stop at every buffered call: 14 s from
/// the end of 200,000 events to main.)
#[test]
fn reverse_continue_flies_over_buffered_calls_to_the_last_hit() {
    let session = Session::new();
    let rec = session.record(buffered_calls(), &["marks"]);
    assert_eq!(rec.stdout(), "marks: 1\n", "{rec:?}");
    assert!(buffered_and_traced(&session.trace(), libc::SYS_getppid).0 >= 20_000);
    let script = session.write(
        "script.gdb",
        "break mark\ngoto end\nreverse-continue\nprint round\nreverse-continue\nprint round\n\
         continue\nprint round\ncontinue\n",
    );
    let stdout = debugger_output(&session, &script);
    let values: Vec<&str> = stdout.lines().filter(|l| l.starts_with('$')).collect();
    assert_eq!(values, ["$1 = 19000", "$2 = 18000", "$3 = 19000"], "{stdout}");
    assert!(stdout.trim_end().ends_with("_exit.c"), "{stdout}");
}

/// How many of the trace's `nr` calls went through the buffer, and how
/// many stopped in the recorder.
fn buffered_and_traced(trace: &std::path::Path, nr: i64) -> (usize, usize) {
    buffered_and_traced_of(trace, nr, |_| true)
}

/// [`buffered_and_traced`] for the `nr` calls whose arguments `pick` takes.
fn buffered_and_traced_of(trace: &std::path::Path, nr: i64, pick: impl Fn(&[u64; 6]) -> bool) -> (usize, usize) {
    use recorder::trace::{Event, TraceLog};
    let log = TraceLog::load(trace).unwrap();
    let calls = log.events().filter_map(|e| match e {
        Event::Syscall(call) if call.nr == nr && pick(&call.args) => Some(call.buffered),
        _ => None,
    });
    calls.fold(
        (0, 0),
        |(b, t), buffered| if buffered { (b + 1, t) } else { (b, t + 1) },
    )
}

/// Records `args` with `--check-memory 1` (a hash of memory at every
/// traced call, which replay compares), checks what the recording printed
/// and replays it twice.
fn record_checking_memory(session: &Session, args: &[&str], check: impl Fn(&Output)) -> Output {
    let mut cmd = session.command();
    cmd.args(["record", "--check-memory", "1", "-o"])
        .arg(session.trace())
        .arg(buffered_calls())
        .args(args);
    let rec = strip_saved_line(run(&mut cmd, None, TIMEOUT), &session.trace());
    check(&rec);
    for _ in 0..2 {
        assert_replay_matches(&rec, &session.replay());
    }
    rec
}

#[test]
fn readv_and_preadv_of_files_are_buffered_and_their_refusals_replay() {
    let session = Session::new();
    // Big enough that the reads fill the buffer several times over (the
    // library empties it after a traced mark), which memory checks see.
    let data = session.write("data", pseudo_random_bytes(150_000, 7));
    let args = ["readv", data.to_str().unwrap()];
    let rec = record_checking_memory(&session, &args, |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        // The last read of each round is partial; a bad array fails with
        // EFAULT, a bad buffer after a good one reads into the good one,
        // a count over 1024 fails with EINVAL.
        assert!(out.contains(" calls, 20 partial, "), "{out}");
        assert!(
            out.contains("bad array -1 errno 14, bad preadv -1 errno 14, bad buffer 7, too many -1 errno 22, none 0\n"),
            "{out}"
        );
    });
    // The bytes the library copied out are the file's: the program hashes
    // the same natively.
    let native = run(std::process::Command::new(buffered_calls()).args(args), None, TIMEOUT);
    assert_eq!(native.stdout(), rec.stdout());
    let (buffered, traced) = buffered_and_traced(&session.trace(), libc::SYS_readv);
    let calls: usize = field(&rec.stdout(), "readv:")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the number of reads");
    // Every read that got bytes, the 20 at the end of the file, the one
    // into a bad buffer and the one of no iovecs; only the refused array
    // and count stopped.
    assert_eq!(buffered, calls + 20 + 2, "{buffered} readv buffered");
    assert_eq!(traced, 2, "{traced} readv traced");
    let (buffered, traced) = buffered_and_traced(&session.trace(), libc::SYS_preadv);
    assert_eq!((buffered, traced), (308, 1));
    // The library's marks (a `mincore` naming its mark word): the buffer
    // was emptied, and the records that followed were checked in replay.
    let mark = 0x6fff_ff00_0000 + 48;
    let (_, marks) = buffered_and_traced_of(&session.trace(), libc::SYS_mincore, |a| a[2] == mark);
    assert!(marks >= 2, "{marks} marks");
}

#[test]
fn signal_masks_that_only_block_are_buffered_and_signals_come_where_unblocked() {
    let session = Session::new();
    let rec = record_checking_memory(&session, &["mask"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        assert!(out.starts_with("mask: 15 alarms after "), "{out}");
        assert!(
            out.contains("set all: SIGALRM 1 SIGTERM 1 signal 32 0 signal 33 0; bad how -1 errno 22\n"),
            "{out}"
        );
    });
    let (buffered, traced) = buffered_and_traced(&session.trace(), libc::SYS_rt_sigprocmask);
    let rounds: usize = rec
        .stdout()
        .split_whitespace()
        .nth(4)
        .and_then(|n| n.parse().ok())
        .expect("the number of rounds");
    // Each round's SIG_BLOCK is buffered; its unblock is not, nor are the
    // SIG_SETMASKs and the bad `how` at the end.
    assert_eq!(buffered, rounds, "{buffered} buffered, {rounds} rounds");
    assert!(traced >= rounds + 3, "{traced} traced, {rounds} rounds");
}

#[test]
fn protections_and_advice_are_buffered_and_made_again_in_replay() {
    let session = Session::new();
    record_checking_memory(&session, &["memory"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        assert!(
            rec.stdout().contains(", fails 0, unaligned -1 errno 22\n"),
            "{}",
            rec.stdout()
        );
    });
    // 600 plain protections in the loop, then the undoing of the
    // executable one and the unaligned one; the executable one stays
    // traced (the loader's own stay traced too: they never reach the
    // library). 600 plain advices; MADV_FREE stays traced.
    let trace = session.trace();
    let exec = |a: &[u64; 6]| a[2] & libc::PROT_EXEC as u64 != 0;
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_mprotect, |a| !exec(a)).0, 602);
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_mprotect, exec), (0, 1));
    let free = |a: &[u64; 6]| a[2] == libc::MADV_FREE as u64;
    assert_eq!(
        buffered_and_traced_of(&trace, libc::SYS_madvise, |a| !free(a)),
        (600, 0)
    );
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_madvise, free), (0, 1));
}

#[test]
fn a_call_made_again_that_gives_another_result_is_a_divergence_at_its_event() {
    // The trace says a buffered mprotect failed; replay makes it again and
    // it succeeds: `replay -a` (from the library's comparison) and the
    // debugger's replay must both stop there.
    let session = Session::new();
    let rec = session.record(buffered_calls(), &["memory"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let edited = session.path("edited");
    let mut at = 0;
    rewrite_trace(&session.trace(), &edited, |events| {
        use recorder::trace::Event;
        let (i, call) = events
            .iter_mut()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Event::Syscall(call) if call.nr == libc::SYS_mprotect && call.buffered => Some((i, call)),
                _ => None,
            })
            .nth(5)
            .expect("buffered mprotects");
        call.result = -(libc::EINVAL as i64);
        at = i;
    });
    let script = session.write("script.gdb", "continue\n");
    let batch = ["--batch", "-x", script.to_str().unwrap()];
    for mode in [&["-a"][..], &batch[..]] {
        let mut cmd = session.command();
        cmd.arg("replay").arg(&edited).args(mode);
        let out = run(&mut cmd, None, TIMEOUT);
        assert_no_panic(&out);
        let text = format!("{}{}", out.stdout(), out.stderr());
        assert!(text.contains(&format!("event {at}")), "{mode:?} at {at}: {text}");
        assert!(text.contains("mprotect"), "{mode:?}: {text}");
    }
}

#[test]
fn the_debugger_goes_back_across_a_buffered_madvise_that_dropped_a_page() {
    // In `memory`, the first round drops page 3 (MADV_DONTNEED, buffered)
    // between the lines marked "drop here" and "dropped": its first byte
    // (3 or 4 before) reads 0 after. Going back across the call must show
    // the byte again, and going forward must drop it again.
    let session = Session::new();
    let rec = session.record(buffered_calls(), &["memory"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let line = buffered_calls_line;
    let script = session.write(
        "script.gdb",
        format!(
            "break {}\nbreak {}\ncontinue\nprint arena[12288]\ncontinue\nprint arena[12288]\n\
             reverse-stepi 300\nprint arena[12288]\nstepi 300\nprint arena[12288]\n\
             reverse-continue\nprint arena[12288]\ncontinue\nprint arena[12288]\n",
            line("/* drop here */"),
            line("/* dropped */")
        ),
    );
    let stdout = debugger_output(&session, &script);
    let values: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('$'))
        .filter_map(|l| l.split(" = ").nth(1))
        .collect();
    assert_eq!(values.len(), 6, "{stdout}");
    let before = values[0];
    assert!(before == "3 '\\003'" || before == "4 '\\004'", "{stdout}");
    assert_eq!(
        values,
        [before, "0 '\\000'", before, "0 '\\000'", before, "0 '\\000'"],
        "{stdout}"
    );
}

#[test]
fn the_debugger_goes_back_across_a_buffered_readv_and_reads_again() {
    // `readv` reads the file's first bytes into `a`, `b` (1 byte in the
    // first round) and `c` between the lines marked "before readv" and
    // "after readv": c[100] is the file's byte 108, 0 before. Going back
    // across the call must show 0 again, and going forward the byte.
    let session = Session::new();
    let bytes = pseudo_random_bytes(20_000, 11);
    let byte = bytes[108];
    assert_ne!(byte, 0, "pick another seed");
    let data = session.write("data", bytes);
    let rec = session.record(buffered_calls(), &["readv", data.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let line = buffered_calls_line;
    let script = session.write(
        "script.gdb",
        format!(
            "break {}\nbreak {}\ncontinue\nprint/d c[100]\ncontinue\nprint/d c[100]\n\
             reverse-stepi 50\nstepi 50\nprint/d c[100]\n\
             reverse-continue\nprint/d c[100]\ncontinue\nprint/d c[100]\n",
            line("/* before readv */"),
            line("/* after readv */")
        ),
    );
    let stdout = debugger_output(&session, &script);
    let values: Vec<i64> = stdout
        .lines()
        .filter(|l| l.starts_with('$'))
        .filter_map(|l| l.split(" = ").nth(1)?.parse().ok())
        .collect();
    let byte = byte as i8 as i64;
    assert_eq!(values, [0, byte, byte, 0, byte], "{stdout}");
}

/// A stop at a buffered call's event is in rback's own page, where the
/// library makes the call: the debugger names that code instead of
/// showing `?? ()`, and refuses a breakpoint there (the library checks
/// the page's code, so an int3 in it would change what the program does).
#[test]
fn a_stop_at_a_buffered_call_names_rbacks_page_and_refuses_breakpoints_there() {
    use recorder::trace::{Event, TraceLog};
    let session = Session::new();
    let rec = session.record(c_program("clocks"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let log = TraceLog::load(&session.trace()).unwrap();
    let first_buffered = log
        .events()
        .position(|e| matches!(e, Event::Syscall(call) if call.buffered))
        .expect("a buffered call");
    let script = session.write("script.gdb", format!("goto {}\nbt 2\n", first_buffered + 1));
    let stdout = debugger_output(&session, &script);
    assert!(
        stdout.contains("#0  0x00006fffffff0022 in rback_buffered_syscall () from [rback page]\n"),
        "{stdout}"
    );
    assert!(stdout.contains("#1  "), "{stdout}");
    let script = session.write("break.gdb", "break *0x6fffffff0020\n");
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg(session.trace())
        .arg("--batch")
        .arg("-x")
        .arg(&script);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert!(
        out.stderr()
            .contains("cannot set a breakpoint at 0x6fffffff0020: it is in rback's own page"),
        "{out:?}"
    );
}

#[test]
fn questions_about_signal_actions_and_terminals_are_buffered_and_replay() {
    let session = Session::new();
    let rec = record_checking_memory(&session, &["questions"], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        // glibc refuses 0, its own signals and 65 itself; the handler set
        // for SIGUSR1 ran, and the answers after show it and SIG_IGN with
        // glibc's restorer, and its mask. (What the other signals start
        // with is inherited: `nohup` or a CI runner may ignore SIGHUP or
        // SIGPIPE. The native run below compares those.)
        assert!(out.starts_with("before: 0:-1/22 1:"), "{out}");
        assert!(out.contains(" 32:-1/22 33:-1/22 34:"), "{out}");
        assert!(out.contains(" 65:-1/22\n"), "{out}");
        assert!(
            out.contains("\nset 0 (was dfl) ignored 0 own -1? -1 errno 22, seen 10\n"),
            "{out}"
        );
        assert!(out.contains(" 2:ign/0x4000000/restorer/0/0/0xa5 "), "{out}");
        assert!(out.contains(" 10:on_usr1/0x14000000/restorer/1/0/0xa5 "), "{out}");
        assert!(out.contains("\nno answer 0\n"), "{out}");
        assert!(
            out.contains(
                "isatty: pipe 0 errno 25; pipe 0 errno 25; file 0 errno 25; closed 0 errno 9; \
                 pty master 1 errno 0; pty 1 errno 0;\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("SIGUSR1 flags 0x14000000, asked 130\n"), "{out}");
    });
    // The answers are glibc's, to the byte it shows: natively, the same.
    let native = run(
        std::process::Command::new(buffered_calls()).arg("questions"),
        None,
        TIMEOUT,
    );
    assert_eq!(native.stdout(), rec.stdout());
    let trace = session.trace();
    // 62 signals asked twice and SIGUSR1 once more went through the buffer;
    // the question with no answer, the actions set and the raise did not.
    let question = |a: &[u64; 6]| a[1] == 0 && a[2] != 0;
    assert_eq!(
        buffered_and_traced_of(&trace, libc::SYS_rt_sigaction, question),
        (125, 0)
    );
    assert_eq!(
        buffered_and_traced_of(&trace, libc::SYS_rt_sigaction, |a| !question(a)),
        (0, 3)
    );
    let tcgets = |a: &[u64; 6]| a[1] == libc::TCGETS;
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_ioctl, tcgets), (6, 0));
    // The pseudo-terminal's own requests stay traced.
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_ioctl, |a| !tcgets(a)).0, 0);
}

#[test]
fn the_debugger_replays_buffered_questions_and_goes_back_across_them() {
    // Line "answered" comes after the last questions: SIGUSR1's flags
    // (SA_RESTART and glibc's SA_RESTORER) and isatty's answers. Stepping
    // back and forward, and going back to the start of `questions`, before
    // every question and the handler, and forward again, must show them
    // again.
    let session = Session::new();
    let rec = session.record(buffered_calls(), &["questions"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let line = buffered_calls_line;
    let script = session.write(
        "script.gdb",
        format!(
            "break questions\nbreak {}\ncontinue\ncontinue\ncontinue\n\
             print usr1_now.sa_flags\nprint answers[3]\nprint answers[5]\n\
             reverse-stepi 200\nstepi 200\nprint usr1_now.sa_flags\nprint answers[5]\n\
             reverse-continue\nprint usr1_seen\ncontinue\ncontinue\nprint usr1_now.sa_flags\nprint answers[5]\n",
            line("/* answered */")
        ),
    );
    let stdout = debugger_output(&session, &script);
    let values: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('$'))
        .filter_map(|l| l.split(" = ").nth(1))
        .collect();
    assert_eq!(
        values,
        ["335544320", "0", "1", "335544320", "1", "0", "335544320", "1"],
        "{stdout}"
    );
}

#[test]
fn python_asks_about_signals_and_terminals_through_the_buffer() {
    // Not the `python3` in PATH: a pyenv shim there is a script of its own.
    let python = system_program("/usr/bin/python3");
    let session = Session::new();
    let (rec, _) = session.record_and_replay(&python, &["-c", "import os; print(os.isatty(1))"], None);
    assert_eq!(rec.code(), 0, "{rec:?}");
    // The test's stdout is a pipe.
    assert_eq!(rec.stdout(), "False\n", "{rec:?}");
    assert_replay_matches(&rec, &session.replay());
    // Its start asks about every signal it may handle (PyOS_getsig) and
    // whether its standard streams are terminals.
    let trace = session.trace();
    let (buffered, traced) = buffered_and_traced_of(&trace, libc::SYS_rt_sigaction, |a| a[1] == 0);
    assert!(buffered >= 60 && traced == 0, "{buffered} buffered, {traced} traced");
    let (buffered, traced) = buffered_and_traced_of(&trace, libc::SYS_ioctl, |a| a[1] == libc::TCGETS);
    assert!(buffered >= 3 && traced == 0, "{buffered} buffered, {traced} traced");
}

#[test]
fn both_replays_answer_a_buffered_question_with_the_recorded_bytes() {
    // The trace's last answer about SIGUSR1 is edited to say SA_NOCLDSTOP
    // too: `replay -a` (from the record written ahead) and the debugger's
    // replay (which traps the call) must both hand the program that, not
    // what the kernel would say now. The program then prints other flags
    // than it did while recording, which `replay -a` reports at its write
    // of everything it printed (at its exit, into a pipe); the debugger
    // shows them before that.
    let session = Session::new();
    let rec = session.record(buffered_calls(), &["questions"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let edited = session.path("edited");
    rewrite_trace(&session.trace(), &edited, |events| {
        use recorder::trace::Event;
        let call = events
            .iter_mut()
            .filter_map(|e| match e {
                Event::Syscall(call)
                    if call.nr == libc::SYS_rt_sigaction && call.buffered && call.args[0] == libc::SIGUSR1 as u64 =>
                {
                    Some(call)
                }
                _ => None,
            })
            .last()
            .expect("buffered questions about SIGUSR1");
        // The kernel's flags are the second word of its answer.
        edit_bytes(&mut call.writes[0].bytes, |b| b[8] |= libc::SA_NOCLDSTOP as u8);
    });
    let mut cmd = session.command();
    cmd.arg("replay").arg(&edited).arg("-a");
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr().contains(": expected write of \"before: "), "{out:?}");
    let source = std::fs::read_to_string(programs_dir().join("buffered_calls.c")).unwrap();
    let line = source.lines().position(|l| l.contains("/* answered */")).unwrap() + 1;
    let script = session.write(
        "script.gdb",
        format!("break {line}\ncontinue\ncontinue\nprint usr1_now.sa_flags\n"),
    );
    let mut cmd = session.command();
    cmd.arg("replay").arg(&edited).arg("--batch").arg("-x").arg(&script);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().contains("$1 = 335544321\n"), "{out:?}");
}

/// Opens that only read an existing regular file are buffered, by every
/// name libc has for them (and those that find no file); the trace names
/// the file each opened, symbolic links followed. Opens of a FIFO, of
/// /proc and /dev, for writing, creating or truncating, of a directory or
/// of a bad address stop as before. The recording and its replays print
/// what the program prints natively.
#[test]
fn opens_of_regular_files_for_reading_are_buffered_and_name_their_file() {
    use std::os::unix::fs::MetadataExt;
    let session = Session::new();
    let dir = session.path("opens");
    std::fs::create_dir(&dir).unwrap();
    let data = dir.join("data");
    std::fs::write(&data, "some data").unwrap();
    let native_dir = session.path("native");
    std::fs::create_dir(&native_dir).unwrap();
    std::fs::write(native_dir.join("data"), "some data").unwrap();
    let native = run(
        std::process::Command::new(buffered_calls()).args(["open", native_dir.to_str().unwrap()]),
        None,
        TIMEOUT,
    );
    let rec = record_checking_memory(&session, &["open", dir.to_str().unwrap()], |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
    });
    assert_eq!(rec.stdout(), native.stdout());
    let out = rec.stdout();
    for what in ["open", "openat", "link", "raw", "fortified"] {
        let line = format!("{what}: fd 4, read 9 \"some data\"");
        assert!(out.lines().any(|l| l.starts_with(&line)), "{out}");
    }
    assert!(out.contains("\nmissing: -1 errno 2\n"), "{out}");
    assert!(out.contains("\nbad address: -1 errno 14\n"), "{out}");
    let trace = session.trace();
    // Six buffered; the program's nine others (its directory's descriptor
    // among them) and the loader's stop.
    let (buffered, traced) = buffered_and_traced(&trace, libc::SYS_openat);
    assert_eq!(buffered, 6, "{buffered} buffered, {traced} traced");
    assert!(traced >= 9, "{buffered} buffered, {traced} traced");
    let file = std::fs::metadata(&data).unwrap();
    let log = recorder::trace::TraceLog::load(&trace).unwrap();
    let opened: Vec<_> = log
        .events()
        .filter_map(|e| match e {
            recorder::trace::Event::Syscall(c) if c.buffered && c.nr == libc::SYS_openat && c.result >= 0 => {
                Some(c.opened_file)
            }
            _ => None,
        })
        .collect();
    let inode = recorder::trace::Inode {
        dev: file.dev(),
        ino: file.ino(),
    };
    assert_eq!(opened, vec![Some(inode); 5]);
    // The debugger replays them too (stopping at each, for checkpoint
    // images to learn the path).
    let script = session.write(
        "script",
        "break report_open\ncontinue\ncontinue 5\nprint what\nprint fd\n",
    );
    let shown = debugger_output(&session, &script);
    assert!(shown.contains(" \"fortified\"\n$2 = 4\n"), "{shown}");
}

/// Programs that name their calls to syscall(2) rather than calling libc's
/// functions (Rust's standard library does for some) get them buffered
/// too, results and errors as the kernel gave them.
#[test]
fn calls_named_to_syscall_are_buffered_like_libcs_functions() {
    let session = Session::new();
    let data = session.write("data", pseudo_random_bytes(20_000, 11));
    let args = ["raw", data.to_str().unwrap()];
    let rec = record_checking_memory(&session, &args, |rec| {
        assert_eq!(rec.code(), 0, "{rec:?}");
        let out = rec.stdout();
        assert!(out.contains("raw: 5 reads, 20000 bytes, "), "{out}");
        assert!(out.contains("errors: -1 errno 9, -1 errno 14\n"), "{out}");
        assert!(
            out.contains("clocks: backwards 0, ids 0, gettimeofday 0, time agrees 1\n"),
            "{out}"
        );
        assert!(
            out.contains("wrote 22 7, read back 22: written by SYSCALL(2)\n"),
            "{out}"
        );
    });
    let native = run(std::process::Command::new(buffered_calls()).args(args), None, TIMEOUT);
    assert_eq!(native.stdout(), rec.stdout());
    let trace = session.trace();
    // Five reads with bytes and one at the end of the file; the read of a
    // bad descriptor stops (the library buffers reads of regular files
    // only), as do the loader's before the library is there.
    assert_eq!(buffered_and_traced(&trace, libc::SYS_read).0, 6);
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_read, |a| a[0] == 999), (0, 1));
    // (The loader's own preads stop, before the library is there.)
    assert_eq!(buffered_and_traced(&trace, libc::SYS_pread64).0, 3);
    assert_eq!(buffered_and_traced(&trace, libc::SYS_pwrite64), (1, 0));
    assert_eq!(buffered_and_traced(&trace, libc::SYS_clock_gettime).1, 0);
    assert!(buffered_and_traced(&trace, libc::SYS_clock_gettime).0 >= 2000);
    // Those libc and the loader make inside themselves, before the library
    // is there or without a function to call (glibc's getrandom for malloc,
    // the loader's mprotects and stats), still stop; the program's own are
    // all buffered.
    let buffered = [
        (libc::SYS_gettimeofday, 1),
        (libc::SYS_time, 1),
        (libc::SYS_access, 2),
        (libc::SYS_faccessat, 1),
        (libc::SYS_poll, 2),
        (libc::SYS_mprotect, 2),
    ];
    for (nr, count) in buffered {
        assert_eq!(buffered_and_traced(&trace, nr).0, count, "syscall {nr}");
    }
    let own_random = |a: &[u64; 6]| a[1] == 32;
    assert_eq!(buffered_and_traced_of(&trace, libc::SYS_getrandom, own_random), (1, 0));
}

/// With nothing to stop at, the debugger hands the program the buffered
/// calls on its way as `replay -a` does, without a stop each; it must
/// arrive in the state an event-by-event replay arrives in (a breakpoint
/// that is never hit keeps the debugger on that path).
#[test]
fn the_debugger_flies_over_buffered_calls_to_the_state_it_steps_to() {
    let session = Session::new();
    let data = session.write("data", pseudo_random_bytes(20_000, 5));
    let rec = session.record(buffered_calls(), &["mix", data.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let log = recorder::trace::TraceLog::load(&session.trace()).unwrap();
    let events = log.len().0;
    let buffered = log
        .events()
        .filter(|e| matches!(e, recorder::trace::Event::Syscall(c) if c.buffered))
        .count() as u64;
    assert!(buffered > events / 2, "{buffered} of {events} events buffered");
    // Places deep inside runs of buffered calls, and the state there: the
    // registers, the stack, and what the calls wrote.
    let look = "info registers rip rsp rax rdx\nx/24gx $sp\n";
    let mut script = String::new();
    for at in [events / 3, events / 2, events * 4 / 5] {
        script += &format!("goto {at}\nwhen\n{look}");
    }
    let flown = debugger_output(&session, &session.write("fly.gdb", &script));
    let stepped = debugger_output(
        &session,
        &session.write("step.gdb", format!("break questions\n{script}")),
    );
    let from_first_goto = |out: &str| out[out.find("Current event:").unwrap_or(0)..].to_string();
    let flown = from_first_goto(&flown);
    assert_eq!(flown.matches("Current event:").count(), 3, "{flown}");
    assert!(flown.matches("0x7ff").count() > 20, "{flown}");
    assert_eq!(flown, from_first_goto(&stepped));
}

/// With no breakpoint or watch, a reverse-continue from the end of a long
/// recording stops at its start, as gdb's does ("No more reverse-execution
/// history"), and a continue from there reaches the end again.
#[test]
fn a_reverse_continue_with_nothing_to_stop_at_goes_back_to_the_start() {
    let session = Session::new();
    let data = session.write("data", pseudo_random_bytes(20_000, 3));
    let rec = session.record(buffered_calls(), &["mix", data.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let script = session.write("back.gdb", "continue\nwhen\nreverse-continue\nwhen\ncontinue\nwhen\n");
    let out = debugger_output(&session, &script);
    let whens: Vec<&str> = out.lines().filter(|l| l.starts_with("Current event:")).collect();
    assert_eq!(whens.len(), 3, "{out}");
    assert_eq!(whens[1], "Current event: 1", "{out}");
    assert_eq!(whens[0], whens[2], "{out}");
    assert_eq!(out.matches("No more reverse-execution history.").count(), 3, "{out}");
}
