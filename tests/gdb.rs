//! Stock gdb against rback's gdb server: recorded C programs debugged
//! forward and backward in batch mode, asserting on what gdb prints.
//!
//! gdb talks to `rback replay --gdb-stdio TRACE` over a pipe (`target
//! extended-remote | ...`), except where the TCP server or `rback gdb`
//! itself is under test.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// What `rback gdb` sets up too: after a `monitor` command that moves in
/// time, gdb must drop its cached registers and frames.
const MONITOR_HOOK: &str = r#"python gdb.execute("define hookpost-monitor\nmaintenance flush register-cache\nend")"#;

/// gdb gives up on a reply after 2 s by default, too soon for a loaded
/// machine running many tests at once.
const SLOW_MACHINE: &str = "set remotetimeout 60";

/// Records `prog` (one of `tests/programs`, compiled) in a fresh session.
fn recorded(prog: std::path::PathBuf, args: &[&str]) -> Session {
    let session = Session::new();
    session.record(prog, args);
    session
}

/// The line of `tests/programs/NAME.c` that carries `MARK:marker`.
fn line_of(name: &str, marker: &str) -> usize {
    let src = std::fs::read_to_string(programs_dir().join(format!("{name}.c"))).unwrap();
    let tag = format!("MARK:{marker} ");
    1 + src
        .lines()
        .position(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("no MARK:{marker} in {name}.c"))
}

/// `gdb -batch` connected to the session's trace over a pipe, running
/// `commands` in order. Checks that neither gdb nor rback went wrong in a
/// way that the commands' output would hide.
fn gdb(session: &Session, commands: &[&str]) -> Output {
    gdb_on_process(session, None, commands)
}

/// [`gdb`] on one process of the trace (`replay -p`), or on the first.
fn gdb_on_process(session: &Session, process: Option<&str>, commands: &[&str]) -> Output {
    let follow = process.map(|p| format!("-p {p} ")).unwrap_or_default();
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-iex", MONITOR_HOOK, "-iex", SLOW_MACHINE, "-ex"])
        .arg(format!(
            "target extended-remote | {RBACK} replay --gdb-stdio {follow}{}",
            session.trace().display()
        ))
        .env("RBACK_TRACE_DIR", session.traces())
        .current_dir(session.dir());
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert!(!out.stderr().contains("rback: error"), "the server failed:\n{out:?}");
    out
}

/// The values of gdb's `$N = VALUE` lines, in order.
fn printed_values(out: &Output) -> Vec<String> {
    out.stdout()
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('$')?;
            let (n, v) = rest.split_once(" = ")?;
            n.parse::<u32>().ok()?;
            Some(v.to_string())
        })
        .collect()
}

fn assert_contains(out: &Output, needle: &str) {
    assert!(out.stdout().contains(needle), "gdb's output lacks {needle:?}:\n{out:?}");
}

/// The stdout lines of gdb, from the first containing `from`.
fn after<'a>(out: &'a str, from: &str) -> &'a str {
    let at = out.find(from).unwrap_or_else(|| panic!("no {from:?} in:\n{out}"));
    &out[at..]
}

/// The program's output shows on the server's stderr (gdb's terminal;
/// its stdout is gdb's connection) where the replay first passes the
/// write, and not again after gdb goes back and forward over it.
#[test]
fn the_programs_output_shows_once_on_gdbs_terminal() {
    let session = recorded(c_program("repl_demo"), &[]);
    let out = gdb(
        &session,
        &[
            "break fact",
            "continue",
            "reverse-continue",
            "continue",
            "delete",
            "continue",
            "continue",
        ],
    );
    let err = out.stderr();
    assert_eq!(err.matches("talking 7\n").count(), 1, "{out:?}");
    assert_eq!(err.matches("total=35 f=120 counter=40\n").count(), 1, "{out:?}");
    assert!(!out.stdout().contains("talking 7"), "{out:?}");
}

#[test]
fn breakpoints_forward_and_reverse_continue_to_the_last_hit() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(
        &s,
        &[
            "break bump",
            "info inferiors",
            "continue",
            "continue",
            "continue",
            "print by",
            "reverse-continue",
            "print by",
            "reverse-continue",
            "print by",
            "reverse-continue",
            "delete",
            "continue",
            "reverse-continue",
            "info inferiors",
        ],
    );
    let text = out.stdout();
    // Going back replaces the process behind the scenes; gdb must not see it.
    let pids: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("* 1"))
        .map(|l| l.split_whitespace().nth(3).unwrap_or(""))
        .collect();
    assert!(
        pids.len() == 2 && pids[0] == pids[1] && !pids[0].is_empty(),
        "a stable pid: {pids:?}\n{out:?}"
    );
    assert_eq!(printed_values(&out), ["2", "1", "0"], "{out:?}");
    assert_eq!(text.matches("Breakpoint 1, bump").count(), 5, "{out:?}");
    // Back before the first hit there is nothing left: the start.
    let tail = after(&text, "$3 = 0");
    assert!(tail.contains("No more reverse-execution history."), "{out:?}");
    // Without breakpoints, forward runs to the end and back to the start.
    let ends = after(tail, "No more reverse-execution history.");
    assert_eq!(ends.matches("No more reverse-execution history.").count(), 3, "{out:?}");
}

#[test]
fn reverse_stepi_retraces_forward_stepi() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(
        &s,
        &[
            "break fact",
            "continue",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "reverse-stepi",
            "print/x $pc",
            "reverse-stepi",
            "print/x $pc",
            "reverse-stepi",
            "print/x $pc",
        ],
    );
    let pcs = printed_values(&out);
    assert_eq!(pcs.len(), 7, "{out:?}");
    assert_eq!(pcs[4], pcs[2], "one reverse-stepi undoes the last stepi:\n{out:?}");
    assert_eq!(pcs[5], pcs[1], "{out:?}");
    assert_eq!(pcs[6], pcs[0], "{out:?}");
    let distinct: std::collections::BTreeSet<_> = pcs[..4].iter().collect();
    assert_eq!(distinct.len(), 4, "each stepi moved:\n{out:?}");
}

/// `tests/programs/NAME.c` built with `gcc -g -O1 -static`, recorded in a
/// fresh session. (With libc linked in, every address gdb may put a
/// breakpoint on exists from the recording's first instruction.)
fn recorded_static(name: &str) -> Session {
    let session = Session::new();
    let exe = session.path(name);
    let src = programs_dir().join(format!("{name}.c"));
    let out = run(
        Command::new("gcc")
            .args(["-g", "-O1", "-static", "-o"])
            .arg(&exe)
            .arg(&src),
        None,
        TIMEOUT,
    );
    assert!(
        out.status.success(),
        "gcc -static failed (is libc.a installed?):\n{out:?}"
    );
    session.record(&exe, &[]);
    session
}

#[test]
fn reverse_next_and_reverse_step_walk_back_over_lines() {
    let s = recorded_static("gdb_recursion");
    let print = line_of("gdb_recursion", "print");
    let call_fact = line_of("gdb_recursion", "call_fact");
    let out = gdb(
        &s,
        &[
            &format!("break {print}"),
            "continue",
            "python import time; t0 = time.time()",
            "reverse-next",
            "python print('REVERSE-NEXT-SECONDS %.3f' % (time.time() - t0))",
            "info line *$pc",
            "next",
            "reverse-step",
            "bt 1",
            "print n",
        ],
    );
    let text = out.stdout();
    // reverse-next over the printf line lands on the call to fact, having
    // stepped over fact's whole recursion backward.
    let after_rnext = after(&text, "REVERSE-NEXT-SECONDS");
    assert!(
        after_rnext.contains(&format!("Line {call_fact} of")),
        "reverse-next should reach line {call_fact}:\n{out:?}"
    );
    let secs = text
        .lines()
        .find_map(|l| l.strip_prefix("REVERSE-NEXT-SECONDS "))
        .unwrap();
    eprintln!("gdb reverse-next over one line (stepping back over fact(5)): {secs} s");
    // reverse-step from the line after the call goes into fact's last
    // return: the outermost call, n == 5.
    assert!(
        after_rnext.contains("#0  0x"),
        "reverse-step stops inside a line (its return):\n{out:?}"
    );
    assert!(
        after_rnext.contains(" in fact (n="),
        "reverse-step enters fact:\n{out:?}"
    );
    assert_eq!(printed_values(&out).last().map(String::as_str), Some("5"), "{out:?}");
}

#[test]
fn reverse_finish_climbs_out_of_recursion() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let recurse = line_of("gdb_recursion", "recurse");
    let out = gdb(
        &s,
        &[
            "break fact if n == 1",
            "continue",
            "bt",
            "delete",
            "reverse-finish",
            "print n",
            "reverse-finish",
            "print n",
            "reverse-finish",
            "print n",
        ],
    );
    let text = out.stdout();
    assert!(text.matches("fact (n=").count() >= 5, "{out:?}");
    assert_eq!(
        printed_values(&out),
        ["2", "3", "4"],
        "each reverse-finish is one frame up:\n{out:?}"
    );
    assert!(
        text.contains(&format!("{recurse}\t")),
        "stops on the recursive call's line:\n{out:?}"
    );
}

#[test]
fn a_reverse_watchpoint_finds_the_write_that_corrupted_a_variable() {
    let s = recorded(c_program("gdb_corrupt"), &[]);
    let print = line_of("gdb_corrupt", "print");
    let bad_write = line_of("gdb_corrupt", "bad_write");
    let set_balance = line_of("gdb_corrupt", "set_balance");
    let out = gdb(
        &s,
        &[
            &format!("break {print}"),
            "continue",
            "print acct.balance",
            "watch acct.balance",
            "reverse-continue",
            "print i",
            "info line *$pc",
            "reverse-continue",
            "info line *$pc",
        ],
    );
    let text = out.stdout();
    assert_eq!(&printed_values(&out)[..2], ["28", "4"], "{out:?}");
    let first = after(
        &text,
        "Hardware watchpoint 2: acct.balance\n\nOld value = 28\nNew value = 100",
    );
    assert!(
        first.contains(&format!("{bad_write}\t")),
        "stopped at the bad write:\n{out:?}"
    );
    let second = after(first, "Old value = 100\nNew value = 0");
    assert!(
        second.contains(&format!("Line {set_balance} of")),
        "then at the assignment of 100:\n{out:?}"
    );
}

#[test]
fn a_crash_shows_in_gdb_and_reverse_stepi_leads_to_its_predecessor() {
    let s = recorded(c_program("segv"), &[]);
    let out = gdb(
        &s,
        &[
            "continue",
            "print $_siginfo.si_signo",
            "print $_siginfo._sifields._sigfault.si_addr",
            "x/i $pc",
            "print/x $pc",
            "reverse-stepi",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "continue",
            "continue",
        ],
    );
    let text = out.stdout();
    assert!(
        text.contains("Program received signal SIGSEGV, Segmentation fault."),
        "{out:?}"
    );
    assert!(text.contains("movl   $0x2a,0x0"), "the faulting instruction:\n{out:?}");
    let values = printed_values(&out);
    assert_eq!(values[..2], ["11", "(void *) 0x0"], "$_siginfo at the crash:\n{out:?}");
    let pcs = &values[2..];
    assert_ne!(pcs[1], pcs[0], "reverse-stepi moved back:\n{out:?}");
    assert_eq!(pcs[2], pcs[0], "stepi returns to the faulting instruction:\n{out:?}");
    let tail = after(&text, &format!("$5 = {}", pcs[2]));
    assert!(
        tail.contains("Program received signal SIGSEGV"),
        "the crash again:\n{out:?}"
    );
    assert!(
        tail.contains("No more reverse-execution history."),
        "then the end:\n{out:?}"
    );
}

/// gdb on a child that its parent stops with SIGSTOP and later wakes with
/// SIGCONT stops for each, as when it follows the child natively: "Program
/// received signal SIGSTOP, Stopped (signal)." then "SIGCONT, Continued.",
/// and `$_siginfo` names the signal. A reverse-stepi from the SIGCONT is
/// back at the SIGSTOP; a reverse-continue goes to the start, and the same
/// stops come again on the way forward.
#[test]
fn a_childs_sigstop_and_sigcont_stop_gdb_in_turn() {
    let s = recorded(c_program("stopped_child"), &[]);
    let info = s.rback(&["info", s.trace().to_str().unwrap()]);
    let child = info
        .stdout()
        .lines()
        .filter(|l| l.contains("(from event "))
        .nth(1)
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| panic!("no second process in:\n{info:?}"));
    let out = gdb_on_process(
        &s,
        Some(&child),
        &[
            "continue",
            "print $_siginfo.si_signo",
            "continue",
            "print $_siginfo.si_signo",
            "reverse-stepi",
            "print $_siginfo.si_signo",
            "reverse-continue",
            "continue",
            "continue",
            "continue",
        ],
    );
    let text = out.stdout();
    let stops: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Program received signal") || l.starts_with("No more reverse-execution history"))
        .collect();
    assert_eq!(
        stops,
        [
            "Program received signal SIGSTOP, Stopped (signal).",
            "Program received signal SIGCONT, Continued.",
            "No more reverse-execution history.",
            "Program received signal SIGSTOP, Stopped (signal).",
            "Program received signal SIGCONT, Continued.",
            "No more reverse-execution history.",
        ],
        "{out:?}"
    );
    assert_eq!(printed_values(&out), ["19", "18", "19"], "{out:?}");
}

#[test]
fn a_breakpoint_in_a_shared_library_is_hit() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(
        &s,
        &[
            "break main",
            "continue",
            "info sharedlibrary",
            "break puts",
            "continue",
            "bt 2",
        ],
    );
    let text = out.stdout();
    let libs = after(&text, "Shared Object Library");
    let libc = libs
        .lines()
        .find(|l| l.contains("libc.so"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        libc.contains("Yes"),
        "libc's symbols are loaded (from the trace): {libc}\n{out:?}"
    );
    assert!(text.contains("Breakpoint 2, ") && text.contains("puts"), "{out:?}");
    assert!(text.contains("\"done\""), "puts(\"done\") is the call hit:\n{out:?}");
    assert!(text.contains("in main () at"), "called from main:\n{out:?}");
}

#[test]
fn reverse_continue_finds_the_last_of_many_hits() {
    let s = recorded(c_program("gdb_many_hits"), &["200000"]);
    let print = line_of("gdb_many_hits", "print");
    let out = gdb(
        &s,
        &[
            &format!("break {print}"),
            "continue",
            "break tick",
            "reverse-continue",
            "print i",
            "reverse-continue",
            "print i",
        ],
    );
    assert_eq!(printed_values(&out), ["199999", "199998"], "{out:?}");
}

#[test]
fn monitor_commands_move_in_time_and_gdb_follows() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(
        &s,
        &[
            "break bump",
            "continue",
            "monitor when",
            "monitor checkpoint here",
            "print/x $pc",
            "monitor goto 3",
            "print/x $pc",
            "monitor restart here",
            "print/x $pc",
            "print by",
            "monitor info checkpoints",
            "monitor no-such-command",
            "monitor goto 999999",
        ],
    );
    let text = out.stdout() + &out.stderr();
    assert!(text.contains("Current event "), "{out:?}");
    assert!(text.contains("Now at event 3 of"), "{out:?}");
    assert!(text.contains("\"here\": event"), "{out:?}");
    assert!(text.contains("unknown monitor command `no-such-command`"), "{out:?}");
    assert!(text.contains("event 999999 is outside the recording"), "{out:?}");
    let v = printed_values(&out);
    assert_ne!(v[1], v[0], "gdb sees the registers after `monitor goto`:\n{out:?}");
    assert_eq!(v[2], v[0], "and after `monitor restart`:\n{out:?}");
    assert_eq!(v[3], "0", "{out:?}");
}

#[test]
fn writes_from_gdb_are_scratch_and_thrown_away_with_a_warning() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(
        &s,
        &[
            "break bump if by == 3",
            "continue",
            "print counter",
            "set var counter = 77",
            "print counter",
            "set var $r12 = 1234",
            "print $r12",
            "set var $xmm0.v4_int32[0] = 5",
            "stepi",
            "print counter",
            "print $r12 == 1234",
        ],
    );
    // The step ran `counter += by` on the recorded 3, not on the 77.
    assert_eq!(printed_values(&out), ["3", "77", "1234", "6", "0"], "{out:?}");
    assert!(
        out.stderr().contains("Could not write registers"),
        "vector registers cannot be changed:\n{out:?}"
    );
    let text = out.stdout() + &out.stderr();
    assert!(text.contains("were thrown away"), "a warning on moving:\n{out:?}");
}

#[test]
fn info_proc_mappings_names_the_recorded_files() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let out = gdb(&s, &["break main", "continue", "info proc mappings"]);
    let exe = c_program("gdb_recursion");
    let stdout = out.stdout();
    let maps = after(&stdout, "Mapped address spaces:");
    assert!(
        maps.contains(&*exe.to_string_lossy()),
        "the program by its path:\n{out:?}"
    );
    assert!(maps.contains("libc.so.6"), "{out:?}");
    assert!(!maps.contains("/files/"), "no trace-internal names:\n{out:?}");
}

#[test]
fn rback_gdb_starts_gdb_already_connected() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let trace = s.trace();
    let out = s.rback(&[
        "gdb",
        trace.to_str().unwrap(),
        "--",
        "-batch",
        "-nx",
        "-ex",
        "break bump",
        "-ex",
        "continue",
        "-ex",
        "monitor goto 2",
    ]);
    assert_no_panic(&out);
    assert!(out.stdout().contains("Breakpoint 1, bump (by="), "{out:?}");
    assert!((out.stdout() + &out.stderr()).contains("Now at event 2 of"), "{out:?}");
}

/// A free loopback port (the listener is closed again at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_tcp_server_serves_one_gdb_after_another_until_interrupted() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let port = free_port();
    let trace = s.trace();
    let server = spawn(
        s.command().args(["replay", "--gdb"]).arg(port.to_string()).arg(&trace),
        None,
    );
    wait_for_port(port);
    let remote = format!("target extended-remote 127.0.0.1:{port}");
    let gdb_tcp = |cmds: &[&str]| {
        let mut cmd = Command::new("gdb");
        cmd.args(["-batch", "-nx", "-iex", SLOW_MACHINE, "-ex", &remote]);
        for c in cmds {
            cmd.arg("-ex").arg(c);
        }
        run(&mut cmd, None, TIMEOUT)
    };
    let first = gdb_tcp(&["break bump", "continue", "continue", "print by", "detach"]);
    assert_eq!(printed_values(&first), ["1"], "{first:?}");
    // A client that sends garbage is dropped; the server carries on.
    {
        use std::io::{Read, Write};
        let mut junk = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let payload = "mzz,4";
        let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        junk.write_all(format!("+${payload}#{sum:02x}").as_bytes()).unwrap();
        let mut rest = Vec::new();
        let _ = junk.read_to_end(&mut rest);
    }
    // The second connection finds the program where the first left it;
    // `kill` then `starti` (or `run`) start the recording over.
    let second = gdb_tcp(&["print by", "kill", "starti", "monitor when"]);
    assert_eq!(printed_values(&second), ["1"], "{second:?}");
    assert!(
        (second.stdout() + &second.stderr()).contains("Current event 1 of"),
        "{second:?}"
    );
    // Ctrl-C ends the server, and the replay with it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = server.finish(TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 128 + 2, "{out:?}");
    let err = out.stderr();
    assert!(
        err.contains(&format!("-ex 'target extended-remote 127.0.0.1:{port}'")),
        "{out:?}"
    );
    assert!(err.contains("gdb detached; waiting for the next connection"), "{out:?}");
    assert!(err.contains("failed: gdb protocol:"), "{out:?}");
}

/// `rback run --gdb`: gdb debugs the program as it is recorded. The
/// program gets only as far as gdb has gone, and gdb can go back.
#[test]
fn run_gdb_serves_the_program_as_it_is_recorded() {
    let s = Session::new();
    let marker = s.path("marker");
    let port = free_port();
    let server = spawn(
        s.command()
            .arg("run")
            .arg(format!("--gdb=127.0.0.1:{port}"))
            .arg("-o")
            .arg(s.trace())
            .arg(c_program("live_steps"))
            .arg(&marker),
        None,
    );
    wait_for_port(port);
    let remote = format!("target extended-remote 127.0.0.1:{port}");
    let gdb_tcp = |cmds: &[&str]| {
        let mut cmd = Command::new("gdb");
        cmd.args(["-batch", "-nx", "-iex", SLOW_MACHINE, "-ex", &remote]);
        for c in cmds {
            cmd.arg("-ex").arg(c);
        }
        run(&mut cmd, None, TIMEOUT)
    };
    let first = gdb_tcp(&[
        "break step",
        "continue",
        "continue",
        "continue",
        "reverse-continue",
        "print counter",
        "detach",
    ]);
    assert_eq!(printed_values(&first), ["1"], "{first:?}");
    assert!(!marker.exists(), "the program ran ahead of gdb");
    let second = gdb_tcp(&[
        "break step",
        "continue",
        "continue",
        "continue",
        "print counter",
        "kill",
    ]);
    assert_eq!(printed_values(&second), ["10"], "{second:?}");
    assert!(marker.exists(), "the program did not get to its third step");
    // Ctrl-C ends the server, and the program with it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = server.finish(TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 128 + 2, "{out:?}");
    // The program's output, shown as gdb got to it, once each.
    assert_eq!(out.stdout(), "step 1\nstep 2\nstep 3\nstep 4\n", "{out:?}");
}

#[test]
fn bad_gdb_requests_are_one_error_line() {
    let s = recorded(c_program("gdb_recursion"), &[]);
    let trace = s.trace();
    let t = trace.to_str().unwrap();
    let missing = s.path("no-such-trace");
    let m = missing.to_str().unwrap();

    let public = assert_one_error_line(&s.rback(&["replay", "--gdb", "0.0.0.0:0", t]));
    assert!(public.contains("--gdb-allow-remote"), "{public}");
    let bad_addr = assert_one_error_line(&s.rback(&["replay", "--gdb", "not an address", t]));
    assert!(bad_addr.contains("not an address to listen on"), "{bad_addr}");
    assert_one_error_line(&s.rback(&["replay", "--gdb-stdio", m]));
    assert_one_error_line(&s.rback(&["gdb", m]));
}

#[test]
fn the_trace_is_loaded_from_its_own_copy_of_the_program() {
    // The binary on disk changes after recording; gdb must still see the
    // recorded one (its symbols and code), read through the server.
    let s = Session::new();
    let exe = s.path("prog");
    std::fs::copy(c_program("gdb_recursion"), &exe).unwrap();
    s.record(&exe, &[]);
    std::fs::write(&exe, b"not a program any more").unwrap();
    let out = gdb(&s, &["break fact", "continue", "bt 1"]);
    assert_contains(&out, "Breakpoint 1, fact (n=n@entry=5)");
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may hold anything but the last ')'.
        let after_comm = &stat[stat.rfind(')').unwrap() + 1..];
        if after_comm.split_whitespace().nth(1) == Some(&pid.to_string()) {
            kids.push(child);
        }
    }
    kids
}

/// Interactive gdb connected to a replay of `s`'s trace, reading commands
/// from a pipe, with its output lines (stdout and stderr) as they come.
struct InteractiveGdb {
    gdb: std::process::Child,
    input: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    deadline: Instant,
}

impl InteractiveGdb {
    fn start(s: &Session) -> InteractiveGdb {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let mut gdb = Command::new("gdb")
            .args(["-q", "-nx", "-iex", SLOW_MACHINE, "-ex"])
            .arg(format!(
                "target extended-remote | {RBACK} replay --gdb-stdio {}",
                s.trace().display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run gdb");
        let input = gdb.stdin.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(gdb.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(gdb.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut g = InteractiveGdb {
            gdb,
            input,
            lines,
            seen: Vec::new(),
            deadline: Instant::now() + TIMEOUT,
        };
        g.say("echo READY\\n");
        g.wait_for("READY");
        g
    }

    fn say(&mut self, cmd: &str) {
        use std::io::Write;
        writeln!(self.input, "{cmd}").unwrap();
    }

    /// The next line gdb prints within `wait`, failing the test once the
    /// whole session has taken longer than `TIMEOUT`.
    fn next_line(&mut self, wait: Duration) -> Option<String> {
        assert!(
            Instant::now() < self.deadline,
            "gdb stalled; it printed:\n{}",
            self.seen.join("\n")
        );
        let line = self.lines.recv_timeout(wait).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    fn wait_for(&mut self, text: &str) {
        while !self.next_line(TIMEOUT).is_some_and(|l| l.contains(text)) {}
    }

    /// Ctrl-C at gdb's terminal.
    fn interrupt(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.gdb.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
    }
}

/// A failed test must not leave gdb running, nor the server it started
/// (which ends when gdb goes).
impl Drop for InteractiveGdb {
    fn drop(&mut self) {
        let _ = self.gdb.kill();
        let _ = self.gdb.wait();
    }
}

#[test]
fn ctrl_c_interrupts_a_continue_and_killing_gdb_leaves_no_process_behind() {
    let s = recorded(c_program("gdb_busy"), &["100000"]);
    let mut g = InteractiveGdb::start(&s);
    // The continue replays 100000 traced syscalls, for seconds. gdb loses
    // a Ctrl-C that comes while it handles a stop of its own (it reads the
    // libraries' symbols at the first one), so the test waits past that.
    // If the continue ran out of history first (gdb then sits at its
    // prompt, where Ctrl-C may print "Quit" or nothing), go back to the
    // start and try again; after a "Quit" that came before gdb resumed,
    // try again. One Ctrl-C per movement: a second one makes gdb ask a
    // question.
    'interrupting: loop {
        g.say("continue");
        g.wait_for("Continuing.");
        std::thread::sleep(Duration::from_millis(1500));
        g.interrupt();
        let mut ran_out = false;
        loop {
            match g.next_line(Duration::from_secs(1)) {
                Some(line) if line.contains("Program received signal SIGINT") => break 'interrupting,
                Some(line) if line.contains("Quit") => break,
                Some(line) => ran_out |= line.contains("No more reverse-execution history"),
                None if ran_out => break,
                None => {}
            }
        }
        if ran_out {
            g.say("reverse-continue");
            g.wait_for("No more reverse-execution history");
        }
    }
    // The replay stops at one of the loop's syscalls, in syscall(), called
    // from main.
    g.say("bt");
    g.wait_for(" main ");

    // gdb dies without a goodbye: the server and every process it made
    // (the replayed program, its checkpoints) must go too.
    let gdb_pid = g.gdb.id();
    let server: Vec<u32> = children_of(gdb_pid);
    let mut doomed = server.clone();
    for p in &server {
        doomed.extend(children_of(*p));
        for q in children_of(*p) {
            doomed.extend(children_of(q));
        }
    }
    assert!(doomed.len() >= 2, "gdb's server and the replay: {doomed:?}");
    g.gdb.kill().unwrap();
    g.gdb.wait().unwrap();
    for p in doomed {
        while !process_is_gone(p) {
            assert!(Instant::now() < g.deadline, "process {p} outlived gdb");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A breakpoint with an ignore count: gdb resumes the program itself at
/// each hit, and most of the time goes to gdb's own handling of the stops,
/// where its Ctrl-C used to reach the server while nothing ran, or as a
/// movement ended at a hit, and be dropped, so the continue went on
/// through every hit (the second way failed CI about once in five runs).
/// The interrupt now waits for the next movement, which it stops at once.
#[test]
fn ctrl_c_stops_a_continue_over_ignored_breakpoint_hits() {
    let s = recorded(c_program("gdb_many_hits"), &["200000"]);
    let mut g = InteractiveGdb::start(&s);
    // Past the loader first, whose stops gdb also handles itself.
    g.say("break main");
    g.say("continue");
    g.wait_for("Breakpoint 1, main");
    g.say("break tick");
    g.say("ignore 2 10000000");
    g.say("continue");
    g.wait_for("Continuing.");
    std::thread::sleep(Duration::from_millis(1500));
    g.interrupt();
    let stopped = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < stopped,
            "no stop 20 s after Ctrl-C; gdb printed:\n{}",
            g.seen.join("\n")
        );
        if g.next_line(Duration::from_secs(1))
            .is_some_and(|l| l.contains("Program received signal SIGINT"))
        {
            break;
        }
    }
    g.say("info breakpoints");
    g.wait_for("ignore next");
    let hits: u64 = g
        .seen
        .iter()
        .rev()
        .take_while(|l| !l.contains("Num     Type"))
        .find(|l| l.contains("already hit"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.parse().ok()))
        .unwrap_or(0);
    g.say("kill");
    g.say("quit");
    let _ = g.gdb.wait();
    assert!(
        hits < 200_000,
        "the continue stopped among the hits, not after them: {hits}"
    );
}

#[test]
fn thread_local_variables_and_errno() {
    let s = recorded(c_program("gdb_tls"), &[]);
    let print = line_of("gdb_tls", "print");
    let out = gdb(
        &s,
        &[
            &format!("break {print}"),
            "continue",
            "print tls_counter",
            "print errno",
        ],
    );
    assert_eq!(printed_values(&out), ["42", "9"], "{out:?}");
}

#[test]
fn write_and_read_watchpoints_going_forward() {
    let s = recorded(c_program("gdb_corrupt"), &[]);
    let print = line_of("gdb_corrupt", "print");
    let out = gdb(
        &s,
        &[
            "break main",
            "continue",
            "watch acct.balance",
            "continue",
            "continue",
            "delete",
            "rwatch acct.balance",
            "continue",
            "info line *$pc",
        ],
    );
    let text = out.stdout();
    let first = after(&text, "Old value = 0\nNew value = 100");
    let second = after(first, "Old value = 100\nNew value = 28");
    // Forward, gdb reports a write just after the writing instruction:
    // still in fill's loop.
    assert!(second.contains("fill (n="), "{out:?}");
    let read = after(second, "Hardware read watchpoint 3: acct.balance\n\nValue = 28");
    assert!(
        read.contains(&format!("Line {print} of")),
        "read by the printf:\n{out:?}"
    );
}

#[test]
fn a_rust_program_forward_and_back() {
    let s = Session::new();
    let input = s.write("input.txt", "hello gdb\n");
    s.record(rust_program("rust_std"), &[input.to_str().unwrap()]);
    let out = gdb(
        &s,
        &[
            "break rust_std.rs:11",
            "continue",
            "print text.vec.len",
            "continue",
            "reverse-continue",
            "print text.vec.len",
            "reverse-stepi",
            "bt 1",
        ],
    );
    let text = out.stdout();
    assert_eq!(printed_values(&out), ["10", "10"], "{out:?}");
    assert_eq!(text.matches("Breakpoint 1, rust_std::main ()").count(), 2, "{out:?}");
    assert!(
        after(&text, "$2 = 10").contains("rust_std.rs:10"),
        "one instruction back is line 10:\n{out:?}"
    );
}

#[test]
fn gdb_sees_the_threads_and_reverse_continues_into_another_one() {
    let session = recorded(c_program("threads_race"), &[]);
    let out = gdb(
        &session,
        &[
            "break add",
            "continue",
            "continue",
            "info threads",
            "print arg",
            "continue",
            "continue",
            "reverse-continue",
            "print arg",
            "reverse-continue",
            "print arg",
            "thread apply all bt 1",
        ],
    );
    // Each stop names its thread: four workers forward (in the order the
    // recording ran them), then the same hits again backward, latest first.
    let text = out.stdout();
    let hits: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Thread ") && l.contains(" hit Breakpoint 1, add (arg=0x"))
        .collect();
    assert_eq!(hits.len(), 6, "{out:?}");
    let arg_of = |hit: &str| {
        let rest = hit.split("add (arg=").nth(1).unwrap_or_default();
        rest.split(')').next().unwrap_or_default().to_string()
    };
    let args: Vec<String> = hits.iter().map(|h| arg_of(h)).collect();
    let mut first_four = args[..4].to_vec();
    first_four.sort();
    assert_eq!(first_four, ["0x0", "0x1", "0x2", "0x3"], "{out:?}");
    assert_eq!(args[4], args[2], "{out:?}");
    assert_eq!(args[5], args[1], "{out:?}");
    // The second stop is in another thread than the first.
    let thread_of = |l: &str| l.split_whitespace().nth(1).map(str::to_string);
    assert_ne!(thread_of(hits[0]), thread_of(hits[1]), "{out:?}");
    // `info threads` lists the threads alive there, the stopped one marked.
    let table = after(&text, "Target Id").to_string();
    let rows: Vec<&str> = table
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  ") || l.starts_with("* "))
        .collect();
    assert!((3..=5).contains(&rows.len()), "{out:?}");
    // qThreadExtraInfo: the program's name and which thread runs.
    assert!(
        rows.iter()
            .any(|l| l.starts_with("* ") && l.contains("(threads_race, running)")),
        "{out:?}"
    );
    assert!(rows.iter().any(|l| l.contains("(threads_race, waiting)")), "{out:?}");
    let stopped_here = format!("add (arg={})", args[1]);
    assert!(
        rows.iter().any(|l| l.starts_with("* ") && l.contains(&stopped_here)),
        "{out:?}"
    );
    let expected: Vec<String> = [&args[1], &args[4], &args[5]]
        .iter()
        .map(|a| format!("(void *) {a}"))
        .collect();
    assert_eq!(printed_values(&out), expected, "{out:?}");
    assert_contains(&out, "\nThread 1 (Thread ");
}

#[test]
fn a_function_call_from_gdb_is_refused_and_the_replay_stays_put() {
    let session = recorded(c_program("threads_race"), &[]);
    let out = gdb(
        &session,
        &[
            "break add",
            "continue",
            "set unwindonsignal on",
            "print add((void *) 7)",
            "print arg",
            "continue",
            "print arg",
        ],
    );
    // Refused with a reason, without running the replay on...
    let all = format!("{}{}", out.stdout(), out.stderr());
    assert!(
        all.contains("cannot run code that the recording did not run"),
        "{out:?}"
    );
    // ...so the program is where it was, and goes on as recorded.
    let values = printed_values(&out);
    assert_eq!(values.len(), 2, "{out:?}");
    assert_ne!(values[0], values[1], "{out:?}");
    assert_eq!(
        out.stdout().matches(" hit Breakpoint 1, add (arg=0x").count(),
        2,
        "{out:?}"
    );
}
