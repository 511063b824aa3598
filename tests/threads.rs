//! Multi-threaded programs, end to end: recorded with one thread running at
//! a time, replayed with the same schedule. Each program prints something
//! that depends on how its threads interleaved (a share of the work, an
//! order of arrival, a clock read by each thread), and replay checks that
//! the replayed program writes the very bytes the recorded one wrote, so a
//! replay that followed another schedule would fail rather than print the
//! recorded output.

mod common;

use common::*;

/// Records `prog`, checks the recording with `check`, then replays it three
/// times: each replay must print exactly what the recording printed.
fn record_and_replay_three_times(prog: std::path::PathBuf, check: impl Fn(&str)) -> Session {
    let session = Session::new();
    let rec = session.record(&prog, &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    check(&rec.stdout());
    for _ in 0..3 {
        assert_replay_matches(&rec, &session.replay());
    }
    session
}

fn info(session: &Session) -> String {
    let out = session.rback(&[std::ffi::OsStr::new("info"), session.trace().as_os_str()]);
    assert_eq!(out.code(), 0, "{out:?}");
    out.stdout()
}

#[test]
fn racing_threads_on_an_unlocked_counter_replay_the_recorded_total() {
    let session = record_and_replay_three_times(c_program("threads_race"), |out| {
        // One thread runs at a time, so no increment is lost.
        assert!(out.starts_with("counter 4000000\n"), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("stamp ")).count(), 4, "{out}");
    });
    assert!(info(&session).contains("threads:   5 ("), "{}", info(&session));
}

#[test]
fn a_thread_spinning_on_a_flag_is_preempted_so_the_setter_runs() {
    let session = record_and_replay_three_times(c_program("threads_spin"), |out| {
        assert_eq!(out, "the flag was set\n");
    });
    // The spinner had to give up its turn at a point found by its state.
    assert!(info(&session).contains("threads:   2 ("), "{}", info(&session));
}

#[test]
fn producer_and_consumers_with_a_condition_variable_replay_their_shares() {
    record_and_replay_three_times(c_program("threads_condvar"), |out| {
        assert!(out.ends_with("total 4501500\n"), "{out}");
    });
}

#[test]
fn a_pool_of_eight_workers_replays_who_did_which_job() {
    record_and_replay_three_times(c_program("threads_pool"), |out| {
        assert!(out.contains("finished 64 jobs"), "{out}");
    });
}

#[test]
fn a_signal_sent_to_one_thread_runs_only_that_threads_handler() {
    record_and_replay_three_times(c_program("threads_signal"), |out| {
        assert_eq!(out, "handlers ran: 0 1 0\n");
    });
}

#[test]
fn rust_threads_and_channels_replay_their_order_of_arrival() {
    record_and_replay_three_times(rust_program("threads_rust"), |out| {
        assert!(out.starts_with("arrival order ["), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("worker ")).count(), 4, "{out}");
    });
}

#[test]
fn a_rust_test_binary_runs_its_tests_on_threads_and_replays() {
    record_and_replay_three_times(rust_test_program("threads_rust_tests"), |out| {
        assert!(out.contains("test result: ok. 4 passed; 0 failed"), "{out}");
    });
}

#[test]
fn cpp_std_thread_with_a_mutex_replays() {
    record_and_replay_three_times(cpp_program("threads_cpp"), |out| {
        assert!(out.starts_with("entries 80 hits 80 check "), "{out}");
    });
}

/// Runs a debugger script over the session's trace (`--batch -x`).
fn debug(session: &Session, extra: &[&str], script: &str) -> Output {
    let file = session.write("script.gdb", script);
    let mut cmd = session.command();
    cmd.arg("replay")
        .arg(session.trace())
        .args(extra)
        .arg("--batch")
        .arg("-x")
        .arg(file);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    out
}

#[test]
fn reverse_continue_lands_on_a_breakpoint_in_another_thread() {
    let session = Session::new();
    let rec = session.record(c_program("threads_race"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = debug(
        &session,
        &[],
        "break add\ncontinue\ncontinue\ncontinue\ncontinue\ncontinue\nreverse-continue\nprint arg\nreverse-continue\nprint arg\nthread\n",
    );
    let text = out.stdout();
    // Forward: the four threads, in the order the recording ran them (the
    // kernel's, which a loaded machine changes); the fifth continue runs to
    // the end.
    let hits: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("hit Breakpoint 1, add (arg=0x")?.1.split(')').next())
        .take(4)
        .collect();
    let mut sorted = hits.clone();
    sorted.sort();
    assert_eq!(sorted, ["0", "1", "2", "3"], "{out:?}");
    // Backward from the end: the last thread to reach `add`, then the one before.
    assert!(text.contains(&format!("$1 = (void *) 0x{}\n", hits[3])), "{out:?}");
    assert!(text.contains(&format!("$2 = (void *) 0x{}\n", hits[2])), "{out:?}");
    assert!(text.contains("[Current thread is "), "{out:?}");
    let switches = text
        .lines()
        .filter(|l| l.starts_with("[Switching to Thread 0x"))
        .count();
    assert!(switches >= 5, "each stop in another thread says so:\n{out:?}");
}

#[test]
fn a_watchpoint_on_a_variable_two_threads_write_stops_in_both_both_ways() {
    let session = Session::new();
    let rec = session.record(c_program("threads_shared"), &[]);
    assert!(rec.stdout().starts_with("last write "), "{rec:?}");
    let forward = debug(
        &session,
        &[],
        "watch shared\ncontinue\ncontinue\ncontinue\ncontinue\ncontinue\ncontinue\ninfo threads\n",
    );
    let text = forward.stdout();
    // Six writes, by two threads (values 11-13 by one, 21-23 by the other).
    let new_values: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("New value = ")).collect();
    assert_eq!(new_values.len(), 6, "{forward:?}");
    let mut sorted = new_values.clone();
    sorted.sort();
    assert_eq!(sorted, ["11", "12", "13", "21", "22", "23"], "{forward:?}");
    assert!(
        text.contains("Thread 2 \"threads_shared\" hit Hardware watchpoint 1: shared"),
        "{forward:?}"
    );
    assert!(
        text.contains("Thread 3 \"threads_shared\" hit Hardware watchpoint 1: shared"),
        "{forward:?}"
    );

    // From the end, backward: the same writes in the opposite order, each
    // reported with the value it overwrote as the new one.
    let backward = debug(
        &session,
        &[],
        &format!(
            "watch shared\n{}{}",
            "continue\n".repeat(7),
            "reverse-continue\n".repeat(6)
        ),
    );
    let back_new: Vec<String> = backward
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("New value = ").map(str::to_string))
        .collect();
    let mut expected: Vec<String> = std::iter::once("0".to_string())
        .chain(new_values.iter().map(|s| s.to_string()))
        .collect();
    expected.pop();
    expected.reverse();
    assert_eq!(back_new.len(), 6 + 6, "{backward:?}");
    assert_eq!(back_new[6..], expected[..], "{backward:?}");
}

#[test]
fn going_back_across_thread_switches_and_forward_again_finds_the_same_state() {
    let session = Session::new();
    let rec = session.record(c_program("threads_condvar"), &[]);
    assert!(rec.stdout().ends_with("total 4501500\n"), "{rec:?}");
    let events: u64 = {
        let info = session.rback(&[std::ffi::OsStr::new("info"), session.trace().as_os_str()]);
        let line = info
            .stdout()
            .lines()
            .find(|l| l.starts_with("events:"))
            .unwrap()
            .to_string();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let probe = "print head\nprint tail\nprint count\nprint $pc\nprint $sp\ninfo threads\n";
    let places = [events / 2, events / 4, events - 40, events / 3, events / 2, events - 40];
    let script: String = places.iter().map(|e| format!("goto {e}\n{probe}")).collect();
    // Close checkpoints: most are taken while four threads exist, and every
    // return to one of them re-creates the other threads in the copy.
    let out = debug(&session, &["--checkpoint-interval", "25"], &script);
    let blocks = probe_blocks(&out.stdout());
    assert_eq!(blocks.len(), places.len(), "{out:?}");
    assert_eq!(
        blocks[0], blocks[4],
        "the same place twice, from different sides:\n{out:?}"
    );
    assert_eq!(blocks[2], blocks[5], "{out:?}");
    assert!(
        blocks[0].iter().filter(|l| l.contains("Thread 0x")).count() >= 3,
        "{out:?}"
    );
    // And the program still runs to its recorded end from there.
    let end = debug(
        &session,
        &["--checkpoint-interval", "25"],
        &format!("goto {}\ngoto {}\ncontinue\n", events / 2, events / 4),
    );
    assert!(end.stdout().contains("No more reverse-execution history."), "{end:?}");
    assert!(!end.stderr().contains("diverged"), "{end:?}");
}

/// What each probe (five `print`s and `info threads`) showed: the printed
/// values without their history numbers, then the rows of the thread table.
fn probe_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix('$').and_then(|l| l.split_once(" = ")).map(|(_, v)| v) {
            if in_table {
                blocks.push(std::mem::take(&mut current));
                in_table = false;
            }
            current.push(value.to_string());
        } else if line.starts_with("  Id   Target Id") {
            in_table = true;
        } else if in_table && (line.starts_with("  ") || line.starts_with("* ")) {
            current.push(line.to_string());
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

#[test]
fn a_thread_counting_while_it_waits_for_another_is_preempted_by_state() {
    record_and_replay_three_times(c_program("threads_spin_count"), |out| {
        assert!(
            out.starts_with("counted ") && out.ends_with(" while waiting\n"),
            "{out}"
        );
    });
}

/// The `NAME = VALUE` lines of a playback's frames, in order.
fn frame_values(out: &Output, name: &str) -> Vec<String> {
    let prefix = format!("{name} = ");
    out.stdout()
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

#[test]
fn playback_follows_a_variable_that_two_threads_write_both_ways() {
    let session = Session::new();
    session.record(c_program("threads_shared"), &[]);
    let playback = |extra: &[&str]| {
        let mut cmd = session.command();
        cmd.arg("playback")
            .arg(session.trace())
            .args(["--at", "threads_shared.c:15", "--show", "shared", "--as", "value"])
            .args(extra);
        let out = run(&mut cmd, None, TIMEOUT);
        assert_no_panic(&out);
        assert_eq!(out.code(), 0, "{out:?}");
        frame_values(&out, "shared")
    };
    let forward = playback(&[]);
    let mut sorted = forward.clone();
    sorted.sort();
    assert_eq!(sorted, ["11", "12", "13", "21", "22", "23"], "{forward:?}");
    let mut backward = playback(&["--reverse"]);
    backward.reverse();
    assert_eq!(backward, forward);
}

#[test]
fn rback_run_debugs_a_threaded_program_as_it_is_recorded() {
    let session = Session::new();
    let script = session.write(
        "script.gdb",
        "break add\ncontinue\ncontinue\nreverse-continue\nprint arg\ncontinue\ncontinue\ncontinue\ncontinue\n",
    );
    let mut cmd = session.command();
    cmd.arg("run")
        .arg("-o")
        .arg(session.trace())
        .arg("--batch")
        .arg("-x")
        .arg(script)
        .arg(c_program("threads_race"));
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    let text = out.stdout();
    assert_eq!(text.matches(" hit Breakpoint 1, add (arg=0x").count(), 6, "{out:?}");
    assert!(text.contains("counter 4000000\n"), "{out:?}");
    // What was recorded along the way is a normal trace of the whole run.
    let rep = session.replay();
    assert_eq!(rep.code(), 0, "{rep:?}");
    assert!(rep.stdout().starts_with("counter 4000000\n"), "{rep:?}");
    let stamps = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("stamp "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(stamps(&rep.stdout()), stamps(&text), "{rep:?}");
}

#[test]
fn checkpoint_copies_of_a_thread_keep_its_alternate_signal_stack() {
    let session = record_and_replay_three_times(c_program("threads_altstack"), |out| {
        assert_eq!(out, "handler on the alternate stack: yes\n");
    });
    // A place where the main thread runs and the worker, which has its
    // signal stack by then, waits: a checkpoint there makes the worker
    // again in the copy.
    let log = recorder::trace::TraceLog::load(&session.trace()).unwrap();
    let main_pid = match log.get(recorder::EventIdx(0)) {
        Some(recorder::trace::Event::Exec(exec)) => exec.pid,
        _ => panic!("the trace starts with its exec"),
    };
    let altstack_set = log
        .events()
        .position(|e| matches!(e, recorder::trace::Event::Syscall(c) if c.nr == libc::SYS_sigaltstack))
        .expect("the worker sets its signal stack");
    let to_main = log
        .events()
        .enumerate()
        .skip(altstack_set)
        .find(|(_, e)| matches!(e, recorder::trace::Event::Switch(s) if s.to == main_pid))
        .map(|(i, _)| i + 1)
        .expect("the main thread gets a turn after that");
    // Back to that checkpoint from the end, then on through the signal,
    // whose handler says (checked against the recording) where it ran.
    let out = debug(
        &session,
        &[],
        &format!(
            "goto {to_main}\ncheckpoint worker-waits\ncontinue\ncontinue\nrestart worker-waits\ncontinue\ncontinue\n"
        ),
    );
    let err = out.stderr();
    assert!(!err.contains("diverged") && !err.contains("error"), "{out:?}");
    let text = out.stdout();
    assert_eq!(
        text.matches("Thread 2 \"threads_altstac\" received signal SIGUSR1")
            .count(),
        2,
        "{out:?}"
    );
    assert_eq!(text.matches("No more reverse-execution history.").count(), 2, "{out:?}");
}

#[test]
fn a_worker_that_exits_the_program_ends_every_thread_with_its_status() {
    let session = Session::new();
    let rec = session.record(c_program("threads_exit_group"), &[]);
    assert_eq!(rec.code(), 3, "{rec:?}");
    assert_eq!(rec.stdout(), "worker 2 ends the program\n");
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn the_main_thread_can_leave_before_the_others() {
    record_and_replay_three_times(c_program("threads_main_exits"), |out| {
        assert_eq!(out, "main leaves\nthe worker finished after main left\n");
    });
}

#[test]
fn a_thread_that_calls_execve_becomes_the_process_and_time_travel_crosses_the_exec() {
    let session = record_and_replay_three_times(c_program("threads_exec"), |out| {
        assert_eq!(out, "main starts a thread that execs\nexec from a thread\n");
    });
    let log = recorder::trace::TraceLog::load(&session.trace()).unwrap();
    let exec = log
        .events()
        .enumerate()
        .skip(1)
        .find(|(_, e)| matches!(e, recorder::trace::Event::Exec(_)))
        .map(|(i, _)| i)
        .expect("the worker's exec is recorded");
    // To the end and back; then to the new program's first instruction and
    // one instruction back, which is the old program's `syscall`.
    let out = debug(
        &session,
        &[],
        &format!("continue\nreverse-continue\ngoto {exec}\nreverse-stepi\nx/i $pc\nstepi\ninfo threads\ncontinue\n"),
    );
    assert!(!out.stderr().contains("error"), "{out:?}");
    let text = out.stdout();
    assert!(text.contains("<execve+") && text.contains(":\tsyscall"), "{out:?}");
    assert_eq!(text.matches("No more reverse-execution history.").count(), 3, "{out:?}");
}

#[test]
fn main_returning_while_threads_block_or_never_ran_replays_to_its_end() {
    let session = Session::new();
    let rec = session.record(c_program("threads_abandoned"), &[]);
    assert_eq!((rec.code(), rec.stdout().as_str()), (4, "main returns\n"), "{rec:?}");
    for _ in 0..3 {
        assert_replay_matches(&rec, &session.replay());
    }
}

#[test]
fn a_thread_joins_the_main_thread_after_it_left() {
    let session = Session::new();
    let rec = session.record(c_program("threads_join_main"), &[]);
    assert_eq!((rec.code(), rec.stdout().as_str()), (0, "joined main: 0\n"), "{rec:?}");
    for _ in 0..3 {
        assert_replay_matches(&rec, &session.replay());
    }
}
