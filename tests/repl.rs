//! The interactive debugger, scripted: `rback replay TRACE --batch -x FILE`
//! and commands on stdin, checked on what a user would see.

mod common;

use common::{assert_no_panic, c_program, run, Output, Session, TIMEOUT};

/// Records `tests/programs/repl_demo.c` in a fresh session.
fn demo() -> Session {
    let s = Session::new();
    let rec = s.record(c_program("repl_demo"), &[]);
    assert!(rec.stdout().contains("total=35 f=120 counter=40"), "{rec:?}");
    s
}

/// Runs `script` with `-x` and `--batch`.
fn batch(s: &Session, script: &str) -> Output {
    let file = s.write("script.gdb", script);
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace()).arg("--batch").arg("-x").arg(file);
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    out
}

/// Runs the REPL with `input` on its (non-terminal) stdin.
fn piped(s: &Session, input: &str) -> Output {
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace());
    let out = run(&mut cmd, Some(input.as_bytes()), TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    out
}

/// The lines of stdout after the banner and the starting location.
fn lines(out: &Output) -> Vec<String> {
    out.stdout().lines().skip(2).map(str::to_string).collect()
}

/// Asserts that `wanted` occur in `out`'s stdout in this order, each as
/// the start of a line (or, with a leading space, anywhere in one).
fn assert_lines_in_order(out: &Output, wanted: &[&str]) {
    let all = lines(out);
    let mut from = 0;
    for w in wanted {
        // A leading space: anywhere in the line (after an address, say).
        let found = |l: &String| l.starts_with(w) || (w.starts_with(' ') && l.contains(w));
        match all[from..].iter().position(found) {
            Some(i) => from += i + 1,
            None => panic!("no line starting {w:?} (in order) in:\n{out:?}"),
        }
    }
}

fn count_lines_starting(out: &Output, prefix: &str) -> usize {
    lines(out).iter().filter(|l| l.starts_with(prefix)).count()
}

/// The number after `Current event:` in the n-th `when` output.
fn events(out: &Output) -> Vec<u64> {
    lines(out)
        .iter()
        .filter_map(|l| l.strip_prefix("Current event: ")?.parse().ok())
        .collect()
}

#[test]
fn breakpoints_continue_both_ways_and_count_hits() {
    let s = demo();
    let out = batch(
        &s,
        "break compute\ncontinue\nc\ninfo breakpoints\nreverse-continue\nrc\nrc\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1 at 0x",
            "Breakpoint 1, compute (",
            "12\t    int r = n * n;",
            "Breakpoint 1, compute (",
            "1       breakpoint     keep y   0x",
            "\tbreakpoint already hit 2 times",
            "Breakpoint 1, compute (",
            "No more reverse-execution history.",
        ],
    );
    // The last rc is at the start already: it says so again.
    assert_eq!(
        count_lines_starting(&out, "No more reverse-execution history."),
        2,
        "{out:?}"
    );
}

#[test]
fn tbreak_delete_disable_enable() {
    let s = demo();
    let out = batch(
        &s,
        "tbreak fact\nbreak compute\ndisable 2\ncontinue\ninfo breakpoints\nenable 2\nrc\ndelete 2\nc\nc\ninfo breakpoints\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Temporary breakpoint 1 at 0x",
            "Breakpoint 2 at 0x",
            // compute is disabled: the first stop is fact.
            "Temporary breakpoint 1, fact (",
            "2       breakpoint     keep n ",
            // Enabled again, going back finds its last hit.
            "Breakpoint 2, compute (",
            // With none left, continue runs to the signal, then the end.
            "Program received signal SIGUSR1",
            "No more reverse-execution history.",
            "No breakpoints.",
        ],
    );
}

#[test]
fn step_next_finish_until_and_instruction_steps() {
    let s = demo();
    let out = batch(
        &s,
        "break main\nc\nnext\nnext\nstep\nnext\nfinish\nnext\nnext\nuntil\nstepi\nreverse-stepi\nnexti\nreverse-nexti\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, main (",
            "39\t    signal(SIGUSR1, on_usr1);",
            "41\t    for (int i = 0; i < 5; i++) {",
            "42\t        total += compute(i);",
            "compute (",
            "12\t    int r = n * n;",
            "13\t    counter += r;",
            "Run till exit from #0  compute (",
            " in main () at repl_demo.c:42",
            "43\t        values[i] = total;",
            "41\t    for (int i = 0; i < 5; i++) {",
            // until does not go back round the loop.
            "45\t    talk();",
            "talk (",
            "main () at repl_demo.c:45",
            "46\t    int f = fact(5);",
            "45\t    talk();",
        ],
    );
}

#[test]
fn reverse_step_and_next_go_back_by_line() {
    let s = demo();
    let out = batch(
        &s,
        "break 43\nc\nc\nreverse-next\nreverse-step\nreverse-step\nreverse-step\nrs\nrs\nrs\nreverse-next\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, main (",
            "Breakpoint 1, main (",
            // Back over the call to its line's start,
            "42\t        total += compute(i);",
            // round the loop,
            "41\t    for (int i = 0; i < 5; i++) {",
            "43\t        values[i] = total;",
            // then into the previous call's last line, and up through it,
            "compute (",
            "14\t    return r + 1;",
            "13\t    counter += r;",
            "12\t    int r = n * n;",
            // and out of its entry to the caller's line.
            "main () at repl_demo.c:42",
            "41\t    for (int i = 0; i < 5; i++) {",
        ],
    );
}

#[test]
fn reverse_next_over_a_function_that_makes_syscalls() {
    let s = demo();
    let out = batch(&s, "break 46\nc\nwhen\nreverse-next\nwhen\nnext\nwhen\n");
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, main (",
            "46\t    int f = fact(5);",
            "45\t    talk();",
            "46\t    int f = fact(5);",
        ],
    );
    let e = events(&out);
    assert_eq!(e.len(), 3, "{out:?}");
    // talk() wrote and called getppid: going back over it crosses events,
    // and coming forward again returns to the same event.
    assert!(e[1] + 2 <= e[0], "{out:?}");
    assert_eq!(e[2], e[0], "{out:?}");
}

/// The frames of each `backtrace` printed, in order.
fn backtraces(out: &Output) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines(out) {
        if line.starts_with("#0  ") {
            all.extend(current.take());
            current = Some(vec![line]);
        } else if line.starts_with('#') {
            if let Some(c) = current.as_mut() {
                c.push(line);
            }
        } else {
            all.extend(current.take());
        }
    }
    all.extend(current);
    all
}

#[test]
fn reverse_finish_out_of_recursion() {
    let s = demo();
    let out = batch(
        &s,
        // Without the breakpoint: going back, it would stop each entry of fact.
        "break fact\nc\nc\nc\nc\ndelete\nbt\nreverse-finish\nbt\nreverse-finish\nreverse-finish\nbt\n",
    );
    let depth = |bt: &Vec<String>| bt.iter().filter(|l| l.contains(" fact (")).count();
    let bts = backtraces(&out);
    assert_eq!(bts.len(), 3, "{out:?}");
    // Four fact frames at the 4th hit; each reverse-finish leaves one.
    assert_eq!(depth(&bts[0]), 4, "{out:?}");
    assert_eq!(depth(&bts[1]), 3, "{out:?}");
    assert_eq!(depth(&bts[2]), 1, "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "Run back to call of #0  fact (",
            "21\t    return n * fact(n - 1);",
            "Run back to call of #0  ",
            "Run back to call of #0  ",
            "21\t    return n * fact(n - 1);",
        ],
    );
}

#[test]
fn backtrace_inside_a_signal_handler() {
    let s = demo();
    let out = batch(&s, "break on_usr1\ncontinue\ncontinue\nbacktrace\n");
    assert_lines_in_order(
        &out,
        &[
            "Program received signal SIGUSR1, User defined signal 1.",
            "Breakpoint 1, on_usr1 (",
            "34\t    counter += sig;",
            "#0  on_usr1 (",
            "#1  <signal handler called>",
        ],
    );
    let bt = out.stdout();
    let after = &bt[bt.find("<signal handler called>").unwrap()..];
    assert!(after.contains(" main () at repl_demo.c:47"), "{out:?}");
}

#[test]
fn frames_registers_memory_disassembly_and_source() {
    let s = demo();
    let out = batch(
        &s,
        "break compute\nc\nup\ninfo frame\ndown\nframe 1\nframe 0\ninfo registers rsp $pc\n\
         info registers\nx/4xw $sp\nx/2gx $sp\nx/8xb $pc\nx/2i $pc\nx/s 0\ndisassemble\nlist\nlist\nlist fact\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "#1  0x",
            "42\t        total += compute(i);",
            "Stack level 1, frame at 0x",
            " rip = 0x",
            " source language c.",
            " Saved registers:",
            "#0  compute (",
            "#1  0x",
            "#0  compute (",
            // In the order asked for.
            "rsp            0x",
            // An alias shows as typed, as in gdb.
            "pc             0x",
            "rax            0x",
            "eflags         0x",
            "0x7ff",
            "0x7ff",
            "0x5",
            "=> 0x",
            "   0x",
            "Dump of assembler code for function compute:",
            "End of assembler dump.",
            "7\tint counter;",
            "16\t",
            "17\t__attribute__((noinline)) int fact(int n)",
            "14\t    return r + 1;",
        ],
    );
    let text = out.stdout();
    assert!(text.contains("<compute+"), "{out:?}");
    assert_eq!(
        text.matches("\n=> 0x").count(),
        2,
        "x/i and disassemble each mark the pc once:\n{out:?}"
    );
    assert!(out.stderr().contains("cannot access memory at address 0x0"), "{out:?}");
}

#[test]
fn time_travel_commands() {
    let s = demo();
    let out = batch(
        &s,
        "break talk\nc\nwhen\ncheckpoint before-talk\ngoto start\nwhen\ninfo checkpoints\n\
         restart before-talk\nwhen\ngoto 5\nwhen\ntimeline\ngoto end\nc\n",
    );
    let e = events(&out);
    assert_eq!(e.len(), 4, "{out:?}");
    assert_eq!(e[1], 1, "{out:?}");
    assert_eq!(e[2], e[0], "restart came back to the checkpoint:\n{out:?}");
    assert_eq!(e[3], 5, "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, talk (",
            // The number depends on how many automatic checkpoints came
            // first: under cargo, LD_LIBRARY_PATH makes the loader probe
            // a hundred paths, which can take the program past event 200.
            " \"before-talk\" at event ",
            "  Id  Name        Event  Where",
            " before-talk ",
            "talk (",
            "event 1 |",
            "now: event 5",
            "No more reverse-execution history.",
        ],
    );
}

#[test]
fn libraries_and_mappings_use_the_original_names() {
    let s = demo();
    let out = batch(&s, "break main\nc\ninfo sharedlibrary\ninfo proc mappings\n");
    let text = out.stdout();
    assert!(text.contains("libc.so.6"), "{out:?}");
    assert!(text.contains("rback-test-programs/repl_demo"), "{out:?}");
    assert!(
        !text.contains("/files/"),
        "the trace's copies are shown by their original names:\n{out:?}"
    );
}

#[test]
fn help_and_bad_input_leave_the_session_usable() {
    let s = demo();
    let out = batch(
        &s,
        "help\nhelp rc\ncontnue\nbreak nosuch\nx/4x 0\nreverse-continue\ngoto 999999\nfrobnicate\n\
         info nothing\nframe 99\nx/4q $sp\ndelete 7\nbreak main if\nrun now\nfinish 2\nwhen 3\nignore\n\
         ignore 1\nlist\nbreak compute\ncontinue\n",
    );
    let err = out.stderr();
    for wanted in [
        "undefined command \"contnue\"; did you mean \"continue\"?",
        "Function \"nosuch\" not defined.",
        "cannot access memory at address 0x0",
        "event 999999 is outside the recording",
        "undefined command \"frobnicate\"",
        "undefined info command \"nothing\"",
        "No frame at level 99.",
        "invalid format letter 'q'",
        "no breakpoint number 7",
        "argument required (a condition after \"if\")",
        "\"run\" replays the recording from its start, with the arguments it was recorded with: it takes none",
        "The \"finish\" command does not take any arguments.",
        "The \"when\" command does not take any arguments.",
        "Argument required (a breakpoint number).",
        "Second argument (specified ignore-count) is missing.",
    ] {
        assert!(err.contains(wanted), "no {wanted:?} in:\n{out:?}");
    }
    // Every error is one line.
    assert_eq!(err.lines().count(), 15, "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "  continue, c, cont, fg",
            "Run backward until a breakpoint or the start of the recording.",
            "No more reverse-execution history.",
            // In the loader, before any line information: around main.
            "37\tint main(void)",
            "Breakpoint 1, compute (",
        ],
    );
}

/// The program's output shows where the replay first gets past the write
/// that made it, as under gdb (and rr), and not again when the debugger
/// goes back and forward over it.
#[test]
fn the_programs_output_shows_once_where_it_was_written() {
    let s = demo();
    let out = batch(
        &s,
        "break fact\ncontinue\nreverse-continue\ncontinue\ndelete\ncontinue\ncontinue\nreverse-continue\ncontinue\n\
         continue\n",
    );
    let stdout = out.stdout();
    assert_eq!(stdout.matches("talking 7\n").count(), 1, "{out:?}");
    assert_eq!(stdout.matches("total=35 f=120 counter=40\n").count(), 1, "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "talking 7",
            "Breakpoint 1, fact (",
            "Breakpoint 1, fact (",
            "Program received signal SIGUSR1, User defined signal 1.",
            "total=35 f=120 counter=40",
            "No more reverse-execution history.",
            "No more reverse-execution history.",
            "Program received signal SIGUSR1, User defined signal 1.",
            "No more reverse-execution history.",
        ],
    );
}

#[test]
fn commands_from_stdin_and_empty_line_repeats() {
    let s = demo();
    let out = piped(&s, "break compute\ncontinue\n\n\nquit\ninfo breakpoints\n");
    assert_eq!(count_lines_starting(&out, "Breakpoint 1, compute ("), 3, "{out:?}");
    // Nothing after quit runs.
    assert!(!out.stdout().contains("Num     Type"), "{out:?}");
}

#[test]
fn a_missing_script_is_one_error_line() {
    let s = demo();
    let mut cmd = s.command();
    cmd.arg("replay")
        .arg(s.trace())
        .arg("--batch")
        .arg("-x")
        .arg(s.path("nope.gdb"));
    let out = run(&mut cmd, None, TIMEOUT);
    let line = common::assert_one_error_line(&out);
    assert!(line.contains("nope.gdb"), "{line}");
}

#[test]
fn ctrl_c_interrupts_a_long_continue_and_the_session_goes_on() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let s = Session::new();
    let rec = s.record(c_program("repl_busy"), &[]);
    assert_eq!(rec.stdout(), "sum=40000\n", "{rec:?}");
    let mut child = s
        .command()
        .arg("replay")
        .arg(s.trace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start rback");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"break main\ncontinue\ncontinue\nwhen\ninfo breakpoints\n")
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    // The second continue crosses 40000 events: interrupt it once it runs.
    while !seen.iter().any(|l: &String| l.starts_with("Breakpoint 1, main (")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no breakpoint stop in time:\n{}", seen.join("\n"));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = common::wait_deadline(&mut child, TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("rback did not finish after the interrupt:\n{}", seen.join("\n"));
    });
    seen.extend(rx.iter());
    let text = seen.join("\n");
    assert!(status.success(), "{status}:\n{text}");
    assert!(text.contains("\nInterrupted.\n"), "{text}");
    assert!(!text.contains("No more reverse-execution history."), "{text}");
    let event: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Current event: "))
        .and_then(|e| e.parse().ok())
        .unwrap_or_else(|| panic!("no `when` output:\n{text}"));
    assert!(event > 1 && event < 40000, "{text}");
    // The session went on after the interrupt.
    assert!(text.contains("\tbreakpoint already hit 1 time"), "{text}");
}

#[test]
fn sources_that_moved_are_found_with_directory_and_substitute_path() {
    let s = Session::new();
    let build = s.path("build");
    std::fs::create_dir(&build).unwrap();
    let source = std::fs::read_to_string(common::programs_dir().join("repl_demo.c")).unwrap();
    std::fs::write(build.join("repl_demo.c"), &source).unwrap();
    let exe = s.path("demo");
    let cc = run(
        std::process::Command::new("gcc")
            .args(["-g", "-O1", "-o"])
            .arg(&exe)
            .arg(build.join("repl_demo.c")),
        None,
        TIMEOUT,
    );
    assert!(cc.status.success(), "{cc:?}");
    s.record(&exe, &[]);
    // The sources move after the build.
    std::fs::rename(&build, s.path("moved")).unwrap();
    let alt = s.path("alt");
    std::fs::create_dir(&alt).unwrap();
    std::fs::write(
        alt.join("repl_demo.c"),
        source.replace("int r = n * n;", "int r = n * n; /* alt */"),
    )
    .unwrap();
    let script = format!(
        "list compute\ndirectory {}\nlist compute\nset substitute-path {} {}\nlist compute\n",
        s.path("moved").display(),
        build.display(),
        alt.display()
    );
    let out = batch(&s, &script);
    assert!(out.stderr().contains("cannot find the source file"), "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "Source directories searched: ",
            "12\t    int r = n * n;",
            "12\t    int r = n * n; /* alt */",
        ],
    );
}

#[test]
fn a_rust_program() {
    let s = Session::new();
    let rec = s.record(common::rust_program("repl_rust"), &[]);
    assert_eq!(rec.stdout(), "v=10\n", "{rec:?}");
    let out = batch(&s, "break deep\nc\nc\nbt 3\ndelete\nfinish\nreverse-finish\n");
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1 at 0x",
            "Breakpoint 1, repl_rust::deep (",
            "4\t    if n == 0 {",
            "Breakpoint 1, repl_rust::deep (",
            "#0  repl_rust::deep (",
            "#1  0x",
            "#2  0x",
            "Run till exit from #0  repl_rust::deep (",
            " in repl_rust::deep (",
            "7\t    deep(n - 1) + 1",
            // Out of the outer call in turn, back to main's.
            "Run back to call of #0  ",
            " repl_rust::main (",
            "11\t    let v = deep(3);",
        ],
    );
    let bt = backtraces(&out);
    assert_eq!(bt.len(), 1, "{out:?}");
    assert!(bt[0][2].contains("repl_rust::main ("), "{out:?}");
}

#[test]
fn print_display_locals_args_and_value_history() {
    let s = demo();
    let out = batch(
        &s,
        "break compute\nc\nc\nprint n\np/x n + 30\np $1 * 2\np $\np values\np &values[1]\np *$\ninfo args\ninfo locals\n\
         display counter\ndisplay/x n\ninfo display\nfinish\nundisplay 2\nnext\nundisplay\nnext\np nosuch\np 1 +\nwhen\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, compute (n=n@entry=1) at repl_demo.c:12",
            "$1 = 1",
            "$2 = 0x1f",
            "$3 = 2",
            "$4 = 2",
            "$5 = {1, 0, 0, 0, 0, 0, 0, 0}",
            "$6 = (int *) 0x",
            "$7 = 0",
            "n = 1",
            "1: counter = 0",
            "2: /x n = 0x1",
            "1:   y  counter",
            "2:   y  /x n",
            "Run till exit from #0  compute (n=n@entry=1) at repl_demo.c:12",
            " in main () at repl_demo.c:42",
            "Value returned is $8 = 2",
            "1: counter = 1",
            "43\t        values[i] = total;",
            "1: counter = 1",
            "41\t    for (int i = 0; i < 5; i++) {",
        ],
    );
    let text = out.stdout();
    let after_undisplay = &text[text.rfind("43\t").unwrap()..];
    assert!(!after_undisplay.contains("2: /x n"), "{out:?}");
    assert!(!text[text.rfind("41\t").unwrap()..].contains("1: counter"), "{out:?}");
    assert!(
        out.stderr().contains("No symbol \"nosuch\" in current context."),
        "{out:?}"
    );
    assert_eq!(out.stderr().lines().count(), 2, "{out:?}");
}

#[test]
fn breakpoint_conditions() {
    let s = demo();
    let out = batch(
        &s,
        "break fact if n == 2\nc\np n\ninfo breakpoints\nbreak compute if nosuch > 1\nrc\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1 at 0x",
            "Breakpoint 1, fact (n=n@entry=2) at repl_demo.c:19",
            "$1 = 2",
            "1       breakpoint     keep y   0x",
            "\tstop only if n == 2",
            "\tbreakpoint already hit 1 time",
            // A condition that cannot be evaluated stops, and says why.
            "Breakpoint 2, compute (n=n@entry=4)",
        ],
    );
    assert!(
        out.stderr().contains("Error in testing condition for breakpoint 2"),
        "{out:?}"
    );
}

#[test]
fn watch_and_reverse_continue_find_where_an_element_was_written() {
    let s = demo();
    let out = batch(
        &s,
        "goto end\np values[3]\nwatch values[3]\nreverse-continue\np i\np total\ncontinue\ninfo breakpoints\n\
         rwatch counter\nawatch total\ndelete\nawatch counter\nrc\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "$1 = 18",
            "Hardware watchpoint 1: values[3]",
            // Going back, the stop is just before the write.
            "Hardware watchpoint 1: values[3]",
            "Old value = 18",
            "New value = 0",
            "main () at repl_demo.c:43",
            "43\t        values[i] = total;",
            // The iteration that wrote it.
            "$2 = 3",
            "$3 = 18",
            // Forward again, just after it.
            "Hardware watchpoint 1: values[3]",
            "Old value = 0",
            "New value = 18",
            "1       hw watchpoint  keep y                      values[3]",
            "\tbreakpoint already hit 2 times",
            "Hardware read watchpoint 2: counter",
            "Hardware access (read/write) watchpoint 3: counter",
            "Hardware access (read/write) watchpoint 3: counter",
            // Back to the last write, in compute (n=3).
            "Old value = 14",
            "New value = 5",
            "compute (n=n@entry=3) at repl_demo.c:13",
        ],
    );
    // total lives in a register: it cannot be watched.
    assert!(out.stderr().contains("cannot watch \"total\""), "{out:?}");
}

#[test]
fn print_a_struct_through_a_pointer_after_going_back() {
    let s = Session::new();
    let rec = s.record(c_program("repl_points"), &[]);
    assert_eq!(rec.stdout(), "20100 -40200 d\n", "{rec:?}");
    let out = batch(
        &s,
        "break 24\nc\np *last\np last->name\np pts[3].y / 2\nx/s last->name\nx/2dw &pts[1]\nbreak move\nrc\np *p\np p->x\nrc\nrc\nrc\nrc\np *p\np pts\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "$1 = {x = 20100, y = -40200, name = 0x",
            "$2 = 0x",
            "$3 = -20100",
            "0x",
            "0x",
            // The last call (i = 399), before it moved the point,
            "Breakpoint 2, move (p=p@entry=0x",
            "$4 = {x = 19701, y = -39402, name = 0x",
            "$5 = 19701",
            // and four calls earlier (i = 395).
            "$6 = {x = 19306, y = -38612, name = 0x",
            "$7 = {{x = ",
        ],
    );
    let text = out.stdout();
    assert!(text.contains(" \"d\"}"), "{out:?}");
    assert!(text.contains(":\t\"d\"\n"), "x/s shows the string:\n{out:?}");
    assert!(text.contains(":\t19900\t-39800\n"), "x/2dw shows pts[1]:\n{out:?}");
}

#[test]
fn replay_without_autopilot_opens_the_debugger_and_ends_at_end_of_input() {
    let s = demo();
    // stdin is /dev/null: the banner and where the program starts, then EOF.
    let out = s.rback(&[std::ffi::OsStr::new("replay"), s.trace().as_os_str()]);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout().starts_with("Replaying "), "{out:?}");
    assert_eq!(out.stdout().lines().count(), 2, "{out:?}");
    assert_eq!(out.stderr(), "", "{out:?}");
}

/// A breakpoint set in the middle of an interval (here `finish`'s, on the
/// return address) must count the arrivals before it, or the position of
/// the second return is taken for the first one's and going back from it
/// lands in the wrong call.
#[test]
fn second_finish_then_reverse_stepi_stays_in_the_second_call() {
    let s = demo();
    let out = batch(
        &s,
        "break compute\nc\ndelete\nfinish\ntbreak compute\nc\nfinish\nreverse-stepi\nfinish\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Value returned is $1 = 1",
            "Temporary breakpoint 2, compute (n=n@entry=1)",
            "Value returned is $2 = 2",
            "Run till exit from #0  ",
            "Value returned is $3 = 2",
        ],
    );
}

#[test]
fn a_watchpoint_on_a_local_ends_with_its_frame() {
    let s = demo();
    let out = batch(
        &s,
        "break talk\nc\nnext\nwatch buf[0]\ncontinue\ninfo breakpoints\nreverse-continue\nwatch buf[1]\nreverse-continue\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Hardware watchpoint 2: buf[0]",
            // fact's frame reuses talk's stack: that is not a change to buf.
            "Watchpoint 2 deleted because the program has left the block in",
            "which its expression is valid.",
            " in fact (",
            "1       breakpoint     keep y   0x",
            "Breakpoint 1, talk (",
            "Hardware watchpoint 3: buf[1]",
            // Going back before talk was called ends it too.
            "Watchpoint 3 deleted because the program has left the block in",
        ],
    );
    assert!(!out.stdout().contains("Old value"), "{out:?}");
    assert!(!out.stdout().contains("hw watchpoint"), "{out:?}");
}

/// A breakpoint in libc, set where libc is mapped, is found going back
/// from checkpoints taken before the loader mapped libc. `write` has two
/// locations, as in gdb: libc's (which printf's buffer flush calls inside
/// libc) and the syscall buffer's (which the program's own `write` calls).
#[test]
fn a_libc_breakpoint_set_at_the_end_is_found_going_back() {
    let s = demo();
    let out = batch(
        &s,
        "goto end\nbreak write\nreverse-continue\nbt 2\nreverse-continue\nbt 3\nreverse-continue\n",
    );
    assert!(out.stdout().contains(": write. (2 locations)\n"), "{out:?}");
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1 at 0x7",
            "Breakpoint 1.1, __GI___libc_write (fd=1, ",
            "#1 ",
            "Breakpoint 1.2, ",
            " in write () from rback-syscallbuf.so",
            " in talk () at repl_demo.c:28",
            "No more reverse-execution history.",
        ],
    );
}

#[test]
fn bad_checkpoint_options_are_one_error_line() {
    let s = demo();
    for (flag, says) in [
        ("--checkpoint-interval=0", "more than 0"),
        ("--checkpoint-interval=5x", "not a number of events or a time"),
        ("--checkpoint-memory=lots", "not a size"),
    ] {
        let out = s.rback(&[
            std::ffi::OsStr::new("replay"),
            std::ffi::OsStr::new(flag),
            s.trace().as_os_str(),
        ]);
        assert_eq!(out.code(), 2, "{flag}: {out:?}");
        assert!(out.stderr().contains(says), "{flag}: {out:?}");
    }
    // A checkpoint every 10 events, where the default takes one every 200.
    let script = s.write("cp.gdb", "goto end\ninfo checkpoints\n");
    let mut cmd = s.command();
    cmd.arg("replay")
        .arg("--checkpoint-interval=10")
        .arg("--batch")
        .arg("-x")
        .arg(script)
        .arg(s.trace());
    let out = run(&mut cmd, None, TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(count_lines_starting(&out, "  ") >= 10, "{out:?}");
}

/// Like `gdb -batch`, a script whose last command fails makes rback exit
/// non-zero (an error earlier on leaves the session going, and the exit
/// status to the commands after it).
#[test]
fn a_script_ending_in_a_bad_command_exits_non_zero() {
    let s = demo();
    for (script, code) in [
        ("frobnicate\n", 1),
        ("frobnicate\nwhen\n", 0),
        ("when\nprint nosuch\n", 1),
    ] {
        let file = s.write("bad.gdb", script);
        let mut cmd = s.command();
        cmd.arg("replay").arg(s.trace()).arg("--batch").arg("-x").arg(&file);
        let out = run(&mut cmd, None, TIMEOUT);
        assert_no_panic(&out);
        assert_eq!(out.code(), code, "{script:?}: {out:?}");
        let piped = run(
            s.command().arg("replay").arg(s.trace()),
            Some(script.as_bytes()),
            TIMEOUT,
        );
        assert_eq!(piped.code(), code, "{script:?} on stdin: {piped:?}");
    }
}

#[test]
fn run_and_start_go_back_to_the_start_and_on() {
    let s = demo();
    let out = batch(&s, "break compute\nrun\nc\nrun\nstart\nbt\n");
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, compute (n=n@entry=0) at repl_demo.c:12",
            "Breakpoint 1, compute (n=n@entry=1) at repl_demo.c:12",
            // Run again: from the start, the first call again.
            "Breakpoint 1, compute (n=n@entry=0) at repl_demo.c:12",
            "Temporary breakpoint 2 at 0x",
            "Temporary breakpoint 2, main () at repl_demo.c:",
            "#0  main () at repl_demo.c:",
        ],
    );
    assert!(out.stderr().is_empty(), "{out:?}");
}

#[test]
fn a_huge_step_count_shows_its_progress_and_stops_at_ctrl_c() {
    use std::io::Write;
    let s = demo();
    let command = format!("{} replay {}", common::RBACK, s.trace().display());
    let (running, mut keys) = common::spawn_interactive(&mut s.in_terminal(&command));
    keys.write_all(b"break main\n").unwrap();
    running.wait_for_stdout("Breakpoint 1 at ", TIMEOUT);
    keys.write_all(b"continue\n").unwrap();
    running.wait_for_stdout("Breakpoint 1, main", TIMEOUT);
    keys.write_all(b"stepi 99999999\n").unwrap();
    // The count shows how far it has got, on the spinner.
    running.wait_for_stdout(" of 99999999 done (Ctrl-C stops)", TIMEOUT);
    keys.write_all(b"\x03").unwrap();
    running.wait_for_stdout("Interrupted after ", TIMEOUT);
    keys.write_all(b"quit\n").unwrap();
    let out = running.finish(TIMEOUT);
    assert_no_panic(&out);
}

#[test]
fn call_is_refused_with_the_reason() {
    let s = demo();
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace());
    let out = run(&mut cmd, Some(b"break talk\ncontinue\ncall talk()\n"), TIMEOUT);
    assert_no_panic(&out);
    assert!(
        out.stderr()
            .contains("cannot call functions in the program: a replay runs only the code that was recorded"),
        "{out:?}"
    );
}

#[test]
fn exitcode_is_set_at_the_end_of_the_recording_and_void_before_it() {
    let s = Session::new();
    let rec = s.record_raw(c_program("exit_status"), &["exit42"], None, &[]);
    assert_eq!(rec.code(), 42, "{rec:?}");
    let out = batch(
        &s,
        "p $_exitcode\ncontinue\np $_exitcode\np $_exitcode + 1\nreverse-stepi\np $_exitcode\ncontinue\np $_exitcode\n",
    );
    assert_lines_in_order(&out, &["$1 = void", "$2 = 42", "$3 = 43", "$4 = void", "$5 = 42"]);
}

#[test]
fn reverse_stepi_onto_a_hot_loops_exit_names_it_by_the_call_that_follows() {
    // A syscall-free loop, then 20,000 calls in a loop and a call of done:
    // stepping back from done onto its call and onto the calls' loop exit,
    // which is named by that call ("the last arrival before it") instead
    // of by a count of the loop's rounds since the last event.
    let s = Session::new();
    let exe = s.path("shapes");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recorder/tests/programs/shapes.c");
    let mut gcc = std::process::Command::new("gcc");
    gcc.args(["-g", "-O1", "-no-pie", "-o"]).arg(&exe).arg(&src);
    let built = run(&mut gcc, None, TIMEOUT);
    assert!(built.status.success(), "{built:?}");
    let rec = s.record(&exe, &["spin", "20000000", "20000"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = batch(
        &s,
        "break done\ncontinue\nreverse-stepi\nreverse-stepi\nwhen\nx/i $pc\nreverse-stepi\nwhen\n\
         stepi\nstepi\nwhen\nstepi\n",
    );
    assert_lines_in_order(
        &out,
        &[
            "Breakpoint 1, done () at shapes.c:",
            "main (",
            "0x",
            "Position: the last arrival at 0x",
            "=> 0x",
            "0x",
            "Position: ",
            "0x",
            "56\t",
            "Position: ",
            "done () at shapes.c:",
        ],
    );
    let all = lines(&out);
    let positions: Vec<&String> = all.iter().filter(|l| l.starts_with("Position: ")).collect();
    // Named by the call that follows, at the instruction shown.
    let branch = positions[0]
        .strip_prefix("Position: the last arrival at ")
        .and_then(|rest| rest.split(' ').next())
        .expect("an address");
    let shown = all.iter().find(|l| l.starts_with("=> ")).expect("x/i's line");
    assert!(shown.starts_with(&format!("=> {branch} ")), "{shown} at {branch}");
    assert!(shown.contains(":\tj"), "a conditional jump: {shown}");
    assert!(positions[0].contains(" before arrival 1 at 0x"), "{positions:?}");
    // One step further back is the loop's round before, counted back from
    // the same call; forward again, the same name two steps on.
    for p in &positions[1..] {
        assert!(
            p.contains(&format!(
                " instructions past the last arrival but 1 at {branch} before arrival 1 at 0x"
            )),
            "{positions:?}"
        );
    }
}
