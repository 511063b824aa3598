//! `rback info`, `rback ls`, and the default trace (`latest-trace` under
//! `RBACK_TRACE_DIR`) that commands without a TRACE argument use.

mod common;

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

#[test]
fn info_names_the_program_event_count_and_syscalls() {
    let session = Session::new();
    let prog = c_program("random");
    let rec = session.record(&prog, &[]);
    let info = session.rback(&["info", s(&session.trace())]);
    assert_eq!(info.code(), 0, "{info:?}");
    assert_eq!(info.stderr(), "");
    let out = info.stdout();
    assert_eq!(field(&out, "program:").trim(), s(&prog), "{out}");
    let events: u64 = field(&out, "events:")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(field(&out, "events:").ends_with("(complete)"), "{out}");
    assert!(events > 3, "{out}");
    assert_eq!(field(&out, "exit:").trim(), "exited with status 0", "{out}");
    let getrandom: u64 = field(&out, "  getrandom").trim().parse().unwrap();
    // The program's two calls, and any the C library makes itself.
    assert!(getrandom >= 2, "{out}");
    assert!(out.contains("  openat "), "{out}");
    assert_eq!(rec.code(), 0);
}

#[test]
fn info_event_count_matches_what_record_reported() {
    let session = Session::new();
    let raw = session.record_raw(c_program("pipes"), &[], None, &[]);
    let saved = raw.stderr();
    let reported: u64 = saved
        .rsplit_once(" (")
        .and_then(|(_, r)| r.strip_suffix(" events)\n"))
        .unwrap_or_else(|| panic!("{raw:?}"))
        .parse()
        .unwrap();
    let info = session.rback(&["info", s(&session.trace())]).stdout();
    assert!(
        field(&info, "events:").trim().starts_with(&format!("{reported} ")),
        "record said {reported} events:\n{info}"
    );
}

#[test]
fn ls_lists_traces_newest_first_and_replay_defaults_to_the_latest() {
    let session = Session::new();
    let empty = session.rback(&["ls"]);
    assert_eq!(empty.code(), 0, "{empty:?}");
    assert_eq!(empty.stdout(), "");
    assert!(empty.stderr().starts_with("rback: no traces in "), "{empty:?}");

    // Without -o, traces are named after the program, under RBACK_TRACE_DIR.
    let record = |prog: &std::path::Path, args: &[&str]| {
        let mut cmd = session.command();
        cmd.arg("record").arg(prog).args(args);
        run(&mut cmd, None, TIMEOUT)
    };
    let first = record(&c_program("exit_status"), &["exit42"]);
    assert_eq!(first.code(), 42, "{first:?}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = record(&c_program("args_env"), &["second-trace"]);
    assert_eq!(second.code(), 0, "{second:?}");
    let traces = session.traces();
    assert!(
        second.stderr().starts_with(&format!(
            "rback: trace saved to {}",
            traces.join("args_env-0").display()
        )),
        "{second:?}"
    );
    assert!(traces.join("exit_status-0/events").is_file());

    let ls = session.rback(&["ls"]);
    assert_eq!(ls.code(), 0, "{ls:?}");
    let lines: Vec<String> = ls.stdout().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{ls:?}");
    assert!(
        lines[0].starts_with("args_env-0 ") && lines[0].ends_with("second-trace"),
        "{ls:?}"
    );
    assert!(
        lines[1].starts_with("exit_status-0 ") && lines[1].ends_with("exit42"),
        "{ls:?}"
    );

    // No TRACE: the latest one.
    let rep = session.rback(&["replay", "-a"]);
    assert_no_panic(&rep);
    assert_eq!(rep.code(), 0, "{rep:?}");
    assert!(rep.stdout().contains("argv[1] [second-trace]\n"), "{rep:?}");
    let info = session.rback(&["info"]).stdout();
    assert!(field(&info, "command:").ends_with("args_env second-trace"), "{info}");
}

#[test]
fn replay_without_traces_says_there_are_none() {
    let session = Session::new();
    let out = session.rback(&["replay", "-a"]);
    let line = assert_one_error_line(&out);
    assert!(line.contains("no traces yet"), "{out:?}");
}

/// Recording a program again into the same directory of traces copies none
/// of its files: the second trace's copies are hard links to the shared
/// ones, and it still replays on its own once the first trace and the
/// shared copies are gone. A directory of traces others can write to is
/// not used for sharing.
#[test]
fn recordings_share_their_file_copies_through_hard_links() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let session = Session::new();
    let traces = session.path("traces");
    std::fs::create_dir(&traces).unwrap();
    std::fs::set_permissions(&traces, std::fs::Permissions::from_mode(0o700)).unwrap();
    let prog = c_program("exit_status");
    let record = |name: &str| {
        let mut cmd = session.command();
        cmd.arg("record")
            .arg("-o")
            .arg(traces.join(name))
            .arg(&prog)
            .arg("exit42");
        run(&mut cmd, None, TIMEOUT)
    };
    record("first");
    record("second");
    let copies = |name: &str| -> Vec<std::fs::Metadata> {
        std::fs::read_dir(traces.join(name).join("files"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap())
            .collect()
    };
    let (first, second) = (copies("first"), copies("second"));
    assert!(!second.is_empty());
    for copy in &second {
        assert!(
            first.iter().any(|f| f.ino() == copy.ino()),
            "every copy of the second trace is the first's, linked"
        );
    }
    std::fs::remove_dir_all(traces.join("first")).unwrap();
    std::fs::remove_dir_all(traces.join(".rback-files")).unwrap();
    let mut replay = session.command();
    replay.args(["replay", "-a"]).arg(traces.join("second"));
    let out = run(&mut replay, None, TIMEOUT);
    assert_eq!((out.code(), out.stdout().as_str()), (42, "mode exit42\n"), "{out:?}");

    // Others may write here: no sharing.
    std::fs::set_permissions(&traces, std::fs::Permissions::from_mode(0o777)).unwrap();
    record("third");
    assert!(!traces.join(".rback-files").exists());
    assert!(copies("third").iter().all(|c| c.nlink() == 1));
}
