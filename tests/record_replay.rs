//! End to end: small C and Rust tracees, each recorded with `rback record`
//! and replayed with `rback replay -a`. Every tracee prints what it observed
//! (file contents, clocks, random bytes, signals, addresses), so a replay that
//! prints the same bytes and ends with the same status proves it reproduced
//! the recorded run rather than doing the I/O again.

mod common;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn replay_prints_recorded_file_after_it_is_changed_and_deleted() {
    let session = Session::new();
    let original = "first line\nsecond line: the original contents\n";
    let file = session.write("input.txt", original);
    let rec = session.record(c_program("cat_file"), &[s(&file)]);
    assert_eq!(
        rec.stdout(),
        format!("read {} bytes:\n{original}[end of file]\n", original.len())
    );
    assert_eq!(rec.stderr(), "cat_file: done\n");
    assert_eq!(rec.code(), 0);

    session.write("input.txt", "CHANGED after the recording, and longer than before\n");
    assert_replay_matches(&rec, &session.replay());
    fs::remove_file(&file).unwrap();
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn replay_prints_recorded_stdin_when_replayed_with_no_input() {
    let input = b"bytes from the test\x00\x01\xfe\xff through stdin, over 7-byte reads\n";
    let (rec, _) = record_and_replay(c_program("echo_stdin"), &[], Some(input));
    let out = rec.stdout();
    assert!(
        out.starts_with(&format!("read {} bytes from stdin in ", input.len())),
        "{rec:?}"
    );
    assert_eq!(field(&out, "hex:"), hex(input));
}

#[test]
fn replay_reproduces_pipe_and_pipe2_traffic() {
    let (rec, _) = record_and_replay(c_program("pipes"), &[], None);
    let out = rec.stdout();
    assert!(out.contains("wrote 20 read 20: hello through a pipe\n"), "{rec:?}");
    assert!(out.contains("empty non-blocking pipe2: read -1 (EAGAIN)\n"), "{rec:?}");
    assert!(out.contains("pipe2: read 14: second message\n"), "{rec:?}");
    assert!(out.contains("pipe2 flags: cloexec=1 nonblock=1\n"), "{rec:?}");
}

#[test]
fn replay_prints_recorded_clock_values_from_vdso_calls() {
    let session = Session::new();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let rec = session.record(c_program("clocks"), &[]);
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let out = rec.stdout();
    let realtime: f64 = field(&out, "realtime").parse().unwrap();
    let tod: f64 = field(&out, "gettimeofday").parse().unwrap();
    let time: u64 = field(&out, "time").parse().unwrap();
    assert!(
        before.as_secs_f64() - 0.01 <= realtime && realtime <= after.as_secs_f64() + 0.01,
        "the recorded program saw the real clock:\n{rec:?}"
    );
    assert!(realtime <= tod && tod <= after.as_secs_f64() + 0.01, "{rec:?}");
    assert!(time >= before.as_secs() && time <= after.as_secs(), "{rec:?}");
    let reads: u64 = field(&out, "clock reads in 2 ms:").parse().unwrap();
    assert!(reads >= 1, "{rec:?}");

    // Time has passed since: the replay must still print the recorded values.
    std::thread::sleep(Duration::from_millis(20));
    assert_replay_matches(&rec, &session.replay());

    // The vDSO was hidden, so the clock reads were real, recorded syscalls.
    let info = session.rback(&["info", s(&session.trace())]);
    assert_eq!(info.code(), 0, "{info:?}");
    let clock_gettime: u64 = field(&info.stdout(), "  clock_gettime").trim().parse().unwrap();
    assert!(clock_gettime >= reads + 2, "{info:?}");
}

#[test]
fn replay_prints_recorded_random_bytes() {
    let (rec, _) = record_and_replay(c_program("random"), &[], None);
    let out = rec.stdout();
    assert!(out.contains("getrandom returned 16\n"), "{rec:?}");
    assert!(out.contains("urandom read returned 16\n"), "{rec:?}");
    let a = field(&out, "getrandom:");
    let b = field(&out, "getrandom-nonblock:");
    let c = field(&out, "urandom:");
    for v in [a, b, c] {
        assert_eq!(v.len(), 32, "{rec:?}");
    }
    assert!(a != b && b != c && a != c, "16 random bytes repeated:\n{rec:?}");
}

#[test]
fn replay_prints_recorded_rdtsc_and_rdtscp_values() {
    let session = Session::new();
    let (rec, _) = session.record_and_replay(c_program("tsc"), &[], None);
    let out = rec.stdout();
    let a: u64 = field(&out, "rdtsc").parse().unwrap();
    let b: u64 = field(&out, "rdtscp").split(' ').next().unwrap().parse().unwrap();
    assert!(a > 0 && b >= a, "{rec:?}");
    let reads: u64 = field(&out, "rdtsc reads to see 1M cycles:").parse().unwrap();
    let info = session.rback(&["info", s(&session.trace())]).stdout();
    let trapped: u64 = field(&info, "rdtsc:").trim().parse().unwrap();
    assert!(trapped >= reads + 3, "every rdtsc is an event:\n{info}");
}

/// FNV-1a of `memory.c`'s `fill(p, n, seed)` pattern.
fn fill_fnv(n: usize, seed: usize) -> u64 {
    let bytes: Vec<u8> = (0..n).map(|i| (i.wrapping_mul(31) + seed + (i >> 12)) as u8).collect();
    fnv1a(&bytes)
}

#[test]
fn replay_maps_recorded_file_contents_after_the_file_changes_or_goes() {
    let session = Session::new();
    let v1: String = "mapped file, version one\n".repeat(400);
    let file = session.write("mapped.txt", &v1);
    let rec = session.record(c_program("memory"), &[s(&file)]);
    let out = rec.stdout();
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(
        out.starts_with(&format!(
            "file mapping: {} bytes, fnv {:016x}, starts \"mapped file, version one\"\n",
            v1.len(),
            fnv1a(v1.as_bytes())
        )),
        "{rec:?}"
    );
    let mut written = v1.clone().into_bytes();
    written[0] = b'X';
    assert!(
        out.contains(&format!("after a private write: fnv {:016x}\n", fnv1a(&written))),
        "{rec:?}"
    );
    assert!(
        out.contains(&format!("zeroed=1 fnv {:016x}\n", fill_fnv(1 << 20, 7))),
        "{rec:?}"
    );
    assert!(out.contains(" grew by 3145728, fnv "), "{rec:?}");
    assert!(out.contains("malloc of 67108864 bytes at 0x"), "{rec:?}");
    // The private write must not have reached the file.
    assert_eq!(fs::read_to_string(&file).unwrap(), v1);

    // Same size, other contents: a replay mapping the file itself would
    // print another checksum without failing.
    session.write("mapped.txt", "mapped file, version TWO\n".repeat(400));
    assert_replay_matches(&rec, &session.replay());
    fs::remove_file(&file).unwrap();
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn replay_of_null_pointer_write_ends_with_sigsegv_status() {
    let (rec, _) = record_and_replay(c_program("segv"), &[], None);
    assert_eq!(rec.code(), 128 + 11, "{rec:?}");
    assert_eq!(rec.stdout(), "about to write through NULL\n");
    assert_eq!(rec.stderr(), "segv: still alive\n");
}

#[test]
fn replay_delivers_sigalrm_that_interrupted_pause_and_read() {
    let (rec, _) = record_and_replay(c_program("alarm_pause"), &[], None);
    assert_eq!(
        rec.stdout(),
        "handler: SIGALRM\n\
         pause returned -1 (EINTR), alarms=1\n\
         handler: SIGALRM\n\
         read returned -1 (EINTR), alarms=2\n",
        "{rec:?}"
    );
}

#[test]
fn replay_delivers_interval_timer_ticks_between_the_same_sleeps() {
    let (rec, _) = record_and_replay(c_program("timer_ticks"), &[], None);
    let sleeps: u64 = field(&rec.stdout(), "sleeps before the 5th timer tick:")
        .parse()
        .unwrap();
    assert!(sleeps >= 5, "{rec:?}");
}

#[test]
fn replay_delivers_signals_a_program_sends_itself() {
    let (rec, _) = record_and_replay(c_program("self_signal"), &[], None);
    assert_eq!(
        rec.stdout(),
        "handler: SIGUSR1\n\
         after raise: usr1=1\n\
         after kill: usr2=1 from_self=1 si_user=1\n\
         blocked: usr1=1 pending=1\n\
         handler: SIGUSR1\n\
         unblocked: usr1=2\n",
        "{rec:?}"
    );
}

#[test]
fn replay_delivers_sigusr1_sent_by_another_process_at_the_recorded_point() {
    let session = Session::new();
    let pid_file = session.path("pid");
    let mut cmd = session.command();
    cmd.arg("record")
        .arg("-o")
        .arg(session.trace())
        .arg(c_program("usr1_from_outside"))
        .arg(&pid_file);
    let running = spawn(&mut cmd, None);
    let pid: i32 = wait_for_file(&pid_file, Duration::from_secs(60))
        .trim()
        .parse()
        .unwrap();
    // Let it go round its sleep loop a few times first.
    std::thread::sleep(Duration::from_millis(100));
    let kill = run(
        std::process::Command::new("kill").arg("-USR1").arg(pid.to_string()),
        None,
        TIMEOUT,
    );
    assert_eq!(kill.code(), 0, "cannot signal the tracee: {kill:?}");
    let rec = strip_saved_line(running.finish(TIMEOUT), &session.trace());
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(rec.stdout().starts_with("got SIGUSR1 (si_user=1) after "), "{rec:?}");
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn replay_exits_with_recorded_exit_code_42() {
    let (rec, _) = record_and_replay(c_program("exit_status"), &["exit42"], None);
    assert_eq!(rec.code(), 42, "{rec:?}");
    assert_eq!(rec.stdout(), "mode exit42\n");
    assert_eq!(rec.stderr(), "exit_status: ending by exit42\n");
}

#[test]
fn replay_of_program_killed_by_its_own_sigterm_exits_143() {
    let (rec, _) = record_and_replay(c_program("exit_status"), &["sigterm"], None);
    assert_eq!(rec.code(), 128 + 15, "{rec:?}");
    assert_eq!(rec.stdout(), "mode sigterm\n");
}

#[test]
fn replay_of_aborting_program_exits_134() {
    let (rec, _) = record_and_replay(c_program("exit_status"), &["abort"], None);
    assert_eq!(rec.code(), 128 + 6, "{rec:?}");
    assert_eq!(rec.stdout(), "mode abort\n");
}

#[test]
fn replay_prints_recorded_argv_and_env_when_replay_env_lacks_the_var() {
    let session = Session::new();
    let prog = c_program("args_env");
    let args = ["plain", "two words", "", "ünïcødé", "-v", "--long=x"];
    let rec = session.record_with(&prog, &args, None, &[(GREETING_VAR, "hello from the test")]);
    assert_eq!(
        rec.stdout(),
        "argc 7\n\
         argv[1] [plain]\n\
         argv[2] [two words]\n\
         argv[3] []\n\
         argv[4] [ünïcødé]\n\
         argv[5] [-v]\n\
         argv[6] [--long=x]\n\
         RBACK_TEST_GREETING hello from the test\n",
        "{rec:?}"
    );
    let mut replay = session.command();
    replay
        .env_remove(GREETING_VAR)
        .args(["replay", "-a"])
        .arg(session.trace());
    assert_replay_matches(&rec, &run(&mut replay, None, TIMEOUT));
    // Run for real in that environment, the program would say so.
    let mut native = std::process::Command::new(&prog);
    native.env_remove(GREETING_VAR);
    assert!(run(&mut native, None, TIMEOUT)
        .stdout()
        .contains("RBACK_TEST_GREETING (unset)\n"));
}

#[test]
fn replay_of_a_100_mib_read_matches_after_the_file_is_deleted() {
    let session = Session::new();
    let contents = pseudo_random_bytes(100 << 20, 0x5eed);
    let expected_fnv = fnv1a(&contents);
    let file = session.write("big.bin", &contents);
    drop(contents);
    let rec = session.record(c_program("big_read"), &[s(&file)]);
    let out = rec.stdout();
    assert!(out.starts_with(&format!("read {} bytes in ", 100 << 20)), "{rec:?}");
    assert!(out.ends_with(&format!(" calls, fnv {expected_fnv:016x}\n")), "{rec:?}");
    fs::remove_file(&file).unwrap();
    assert_replay_matches(&rec, &session.replay());
}

#[test]
fn replay_of_rust_std_program_reproduces_clock_hashmap_order_and_exit_7() {
    let session = Session::new();
    let file = session.write("greeting.txt", "hello from a file\n");
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let rec = session.record(rust_program("rust_std"), &[s(&file)]);
    assert_eq!(rec.code(), 7, "{rec:?}");
    assert_eq!(rec.stderr(), "rust_std: exiting with 7\n");
    let out = rec.stdout();
    assert!(out.starts_with("file: hello from a file\n"), "{rec:?}");
    let now: f64 = field(&out, "now:").parse().unwrap();
    assert!(now >= before.as_secs_f64() - 0.01, "{rec:?}");
    let mut keys: Vec<u32> = field(&out, "hashmap order:")
        .split(' ')
        .map(|k| k.parse().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, (0..16).collect::<Vec<_>>());
    fs::remove_file(&file).unwrap();
    assert_replay_matches(&rec, &session.replay());
}

/// With stdout and stderr one file (as on a terminal), rback tells them
/// apart by descriptor and the replay keeps their interleaving.
#[test]
fn replay_keeps_the_interleaving_of_stdout_and_stderr_sharing_one_file() {
    let session = Session::new();
    let prog = c_program("many_lines");
    let run_to_file = |name: &str, args: &[&std::ffi::OsStr]| -> (i32, String) {
        let path = session.path(name);
        let file = fs::File::create(&path).unwrap();
        let mut child = session
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let status = wait_deadline(&mut child, TIMEOUT).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("rback {args:?} timed out");
        });
        let code = status.code().expect("rback exits normally");
        (code, fs::read_to_string(&path).unwrap())
    };
    let trace = session.trace();
    let (rec_code, rec) = run_to_file(
        "recorded.txt",
        &["record".as_ref(), "-o".as_ref(), trace.as_os_str(), prog.as_os_str()],
    );
    let saved = format!("rback: trace saved to {} (", trace.display());
    let cut = rec.rfind(&saved).unwrap_or_else(|| panic!("no saved line:\n{rec}"));
    let rec = &rec[..cut];
    assert_eq!(rec_code, 0);
    assert!(
        rec.starts_with("line 0\nstderr at line 0\nline 1\n")
            && rec.contains("line 499\nline 500\nstderr at line 500\nline 501\n")
            && rec.ends_with("line 1999\n"),
        "{rec}"
    );
    let (rep_code, rep) = run_to_file("replayed.txt", &["replay".as_ref(), "-a".as_ref(), trace.as_os_str()]);
    assert_eq!(rep_code, 0, "{rep}");
    assert!(rep == rec, "replayed output differs:\n{rep}");
}

/// Every program in tests/programs is compiled by some test, so none rots
/// unnoticed (the idea of wasmtime's test-program list).
#[test]
fn every_test_program_is_used_by_a_test() {
    let mut sources = String::new();
    for entry in fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources += &fs::read_to_string(&path).unwrap();
        }
    }
    for entry in fs::read_dir(programs_dir()).unwrap() {
        let path = entry.unwrap().path();
        // tests/programs/parity holds the gdb-parity harness's programs,
        // which tests/gdb_parity.rs names scenario by scenario.
        if path.is_dir() {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let calls = match path.extension().and_then(|e| e.to_str()) {
            Some("c") => vec![format!("c_program(\"{stem}\")")],
            Some("cpp") => vec![format!("cpp_program(\"{stem}\")")],
            Some("rs") => vec![
                format!("rust_program(\"{stem}\")"),
                format!("rust_test_program(\"{stem}\")"),
            ],
            _ => panic!("unexpected file {} in tests/programs", path.display()),
        };
        let call = calls.join(" or ");
        assert!(
            calls.iter().any(|c| sources.contains(c)),
            "{} is not used by any test (no {call})",
            path.display()
        );
    }
}

/// A signal that comes while the program counts without syscalls, in a
/// loop whose state never repeats: it is placed by the program's state and
/// replayed at the same round, which the program prints. (How fast replay
/// runs such a loop is measured by bench/run.sh's count-signal workload.)
#[test]
fn signal_during_a_counting_loop_replays_at_the_same_round() {
    let session = Session::new();
    let rec = session.record(c_program("count_until_signal"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    assert!(out.starts_with("counting\nhandler ran after "), "{rec:?}");
    let rounds: u64 = out
        .trim_end()
        .trim_end_matches(" rounds")
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no round count in {rec:?}"));
    assert!(rounds > 1000, "{rec:?}");
    for _ in 0..2 {
        assert_replay_matches(&rec, &session.replay());
    }
}

/// A program that signals its own process group and its parent (which are
/// rback's under rback) and probes for syscalls that do not exist: rback
/// survives, records to the end, and replay prints the same.
#[test]
fn signals_to_the_group_and_the_parent_and_unknown_syscalls_do_not_stop_the_recording() {
    let session = Session::new();
    let rec = session.record(c_program("signal_group"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "kill(0, SIGUSR1) = 0, handler ran 1 time(s)\n\
         kill(parent, SIGTERM) = 0\n\
         syscall(-1) = -1 (Function not implemented)\n\
         syscall(1000) = -1 (Function not implemented)\n",
        "{rec:?}"
    );
    assert_replay_matches(&rec, &session.replay());
}

/// POSIX timers, signalfd with sigqueue, POSIX and System V message
/// queues, semaphores, process_vm_readv, kcmp and mincore: recorded, and
/// replayed with the same observations.
#[test]
fn timers_signalfd_message_queues_and_more_record_and_replay() {
    let session = Session::new();
    let rec = session.record(c_program("more_syscalls"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    for expected in [
        "timer fired 3 times, interval 2000000 ns\n",
        "signalfd read 128 bytes: signal 12, value 42\n",
        "mq: 22 bytes, priority 3: through a POSIX queue (max 4)\n",
        "msg: type 7, 32 bytes: through a System V queue (queue had 0)\n",
        "sem: value 2, all 2 0 0\n",
        "process_vm_readv 30: read through process_vm_readv\n",
        "kcmp of stdout with itself: 0\n",
        "mincore: 1 0\n",
    ] {
        assert!(out.contains(expected), "{expected:?} in {rec:?}");
    }
    assert_replay_matches(&rec, &session.replay());
}

/// /dev/zero mappings, sendmmsg, read-only clock_adjtime and adjtimex, the
/// program's own seccomp filters, one through `seccomp` and one through
/// `prctl` (their errors and SIGSYS win over rback's tracing, in replay
/// too), System V shared memory, writes through
/// /proc/self/mem and to a file the program maps shared, and execveat of a
/// descriptor.
#[test]
fn dev_zero_sendmmsg_clock_adjtime_seccomp_and_execveat_replay() {
    let session = Session::new();
    let rec = session.record(c_program("syscall_surface"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    for expected in [
        "/dev/zero: 0 z\n",
        "sendmmsg: 2 sent, lengths 3 5, first \"one\"\n",
        "recvmmsg: 2: \"three\" (5), \"four\" (4)\n",
        "capget: version given\n",
        "pty: number given, discipline 0\n",
        "mlock 0, madvise -1, pages 0 b\n",
        "same tick 1\n",
        &format!(
            "seccomp: installed 0, getppid -1, SIGSYS for syscall {}\n",
            libc::SYS_getpriority
        ),
        "prctl seccomp: installed 0, getsid -1 (ENOENT)\n",
        "shm: in a segment, size 10000, attached 1\n",
        "/proc/self/mem: 42 7\n",
        "shared file: through pwrite, through write\n",
        "execveat done\n",
    ] {
        assert!(out.contains(expected), "{expected:?} in {rec:?}");
    }
    for _ in 0..2 {
        assert_replay_matches(&rec, &session.replay());
    }
}

/// A mapped sparse file is stored sparse in the trace: its 1 GiB copy
/// takes about as much disk as its data (a gigabyte of zeros would make
/// every trace of such a program huge).
#[test]
fn a_mapped_sparse_file_stays_sparse_in_the_trace() {
    use std::os::unix::fs::MetadataExt;
    let session = Session::new();
    let file = session.path("sparse.bin");
    let rec = session.record(c_program("sparse_map"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "data 0 0\n", "{rec:?}");
    let files = session.trace().join("files");
    let copies: Vec<std::fs::Metadata> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .collect();
    let big = copies
        .iter()
        .find(|m| m.len() == 1 << 30)
        .expect("the copy of the sparse file");
    assert!(
        big.blocks() * 512 < 16 << 20,
        "the copy takes {} bytes",
        big.blocks() * 512
    );
    assert_replay_matches(&rec, &session.replay());
}

/// A program started under `nohup`, or as a background job of a shell
/// without job control, inherits SIGINT and SIGQUIT ignored; under rback,
/// which ignores them itself while it records, it inherits what rback
/// inherited, not rback's own choice and not the defaults (it got the
/// defaults before, and Ctrl-C then killed what natively went on).
#[test]
fn a_program_inherits_the_signals_rback_found_ignored() {
    let session = Session::new();
    let prog = c_program("inherited_signals");
    // coreutils' env sets the dispositions rback starts with (a shell's
    // `trap` cannot reset a signal that was ignored when it started).
    let record = |dispositions: &str| {
        let _ = std::fs::remove_dir_all(session.trace());
        let mut cmd = std::process::Command::new("env");
        cmd.arg(dispositions)
            .args([RBACK, "record", "-o"])
            .arg(session.trace())
            .arg(&prog)
            .current_dir(session.dir());
        let rec = run(&mut cmd, None, TIMEOUT);
        assert_eq!(rec.code(), 0, "{rec:?}");
        rec
    };
    let rec = record("--ignore-signal=HUP,INT,QUIT");
    assert_eq!(
        rec.stdout(),
        "SIGHUP ignored\nSIGINT ignored\nSIGQUIT ignored\n",
        "{rec:?}"
    );
    let rep = session.replay();
    assert_eq!(rep.stdout(), rec.stdout(), "{rep:?}");
    // Started with the defaults, it gets them, whatever rback does.
    let rec = record("--default-signal=HUP,INT,QUIT");
    assert_eq!(
        rec.stdout(),
        "SIGHUP default\nSIGINT default\nSIGQUIT default\n",
        "{rec:?}"
    );
}
