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
