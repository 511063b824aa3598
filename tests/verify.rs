//! Damage, truncation and a full disk, each reported as what it is:
//! `rback info --verify` on sound and damaged traces, replay and `info` of a
//! trace with one flipped bit in a frame length, and recording onto a disk
//! that fills up (a small tmpfs mounted in the test's own directory, which
//! needs root, and unmounted however the test ends).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Where each frame of an `events` file starts.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![];
    let mut at = 12;
    while at + 8 <= bytes.len() {
        starts.push(at);
        at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    starts
}

fn verify(session: &Session, trace: &Path) -> Output {
    let out = session.rback(&["info", "--verify", s(trace)]);
    assert_no_panic(&out);
    out
}

/// The lines of `out`'s stdout, the last one (the summary) apart.
fn report(out: &Output) -> (Vec<String>, String) {
    let mut lines: Vec<String> = out.stdout().lines().map(str::to_string).collect();
    let summary = lines.pop().unwrap_or_default();
    assert!(summary.starts_with("verify: "), "{out:?}");
    (lines, summary)
}

#[test]
fn info_verify_finds_a_recorded_trace_sound() {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    let out = verify(&session, &session.trace());
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stderr(), "");
    let (lines, summary) = report(&out);
    assert!(lines.is_empty(), "{out:?}");
    assert!(
        summary.starts_with(&format!("verify: {} is sound: ", s(&session.trace()))) && summary.contains("complete"),
        "{out:?}"
    );
}

/// One flipped bit makes a frame's length run past the end of the file.
/// Replay, `info` and `info --verify` all call that damage at that frame,
/// not a recording cut short.
#[test]
fn a_flipped_bit_in_a_frame_length_is_corruption_not_an_early_end() {
    let session = Session::new();
    session.record(c_program("many_lines"), &[]);
    let events = session.trace().join("events");
    let mut bytes = fs::read(&events).unwrap();
    let starts = frame_starts(&bytes);
    let at = starts[starts.len() / 2];
    bytes[at + 2] ^= 0x10;
    fs::write(&events, &bytes).unwrap();
    let expect = format!("is corrupt at byte {at}: a frame claims ");

    let rep = session.replay();
    let line = assert_one_error_line(&rep);
    assert!(line.contains(&expect) && !line.contains("killed"), "{rep:?}");
    assert_eq!(rep.stdout(), "", "nothing of a damaged trace is replayed");

    let info = session.rback(&["info", s(&session.trace())]);
    let line = assert_one_error_line(&info);
    assert!(line.contains(&expect) && line.contains("info --verify"), "{info:?}");
    assert_eq!(info.stdout(), "");

    let out = verify(&session, &session.trace());
    assert_eq!(out.code(), 1, "{out:?}");
    let (lines, summary) = report(&out);
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].starts_with("bad: trace ")
            && lines[0].contains(&expect)
            && lines[0].contains(&format!(
                "a valid frame follows at byte {}",
                starts[starts.len() / 2 + 1]
            )),
        "{out:?}"
    );
    assert!(
        summary.contains("has 1 problem: ") && summary.contains("1 damaged frame;"),
        "{out:?}"
    );
}

#[test]
fn info_verify_says_a_cut_trace_ends_early() {
    let session = Session::new();
    session.record(c_program("many_lines"), &[]);
    let events = session.trace().join("events");
    let bytes = fs::read(&events).unwrap();
    fs::write(&events, &bytes[..bytes.len() / 2]).unwrap();
    let out = verify(&session, &session.trace());
    assert_eq!(out.code(), 1, "{out:?}");
    let (lines, _) = report(&out);
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].contains("ends early") && lines[0].contains("killed") && !lines[0].contains("corrupt"),
        "{out:?}"
    );
    let info = session.rback(&["info", s(&session.trace())]);
    assert_eq!(info.code(), 0, "{info:?}");
    assert!(field(&info.stdout(), "events:").contains("ends early"), "{info:?}");
}

/// Each copy in `files/` that the log names is checked: a changed one, a
/// missing one and a symlink each get a line; a file no event names and a
/// partial copy get a warning.
#[test]
fn info_verify_names_each_bad_copy_and_warns_of_strays() {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    let files = session.trace().join("files");
    let mut copies: Vec<PathBuf> = fs::read_dir(&files).unwrap().map(|e| e.unwrap().path()).collect();
    copies.sort();
    assert!(copies.len() >= 3, "{copies:?}");
    let mut changed = fs::read(&copies[0]).unwrap();
    changed[100] ^= 1;
    fs::write(&copies[0], changed).unwrap();
    fs::remove_file(&copies[1]).unwrap();
    fs::remove_file(&copies[2]).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &copies[2]).unwrap();
    fs::write(files.join(".incoming-1-1"), "half a copy").unwrap();
    fs::write(files.join("stray"), "nobody names me").unwrap();

    let out = verify(&session, &session.trace());
    assert_eq!(out.code(), 1, "{out:?}");
    let (lines, summary) = report(&out);
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let line_for = |what: &str| {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line about {what}:\n{out:?}"))
    };
    assert!(line_for(&name(&copies[0])).contains("damaged"), "{out:?}");
    assert!(line_for(&name(&copies[1])).contains("lacks its copy"), "{out:?}");
    assert!(line_for(&name(&copies[2])).contains("symbolic link"), "{out:?}");
    assert!(line_for(".incoming-1-1").starts_with("warning: "), "{out:?}");
    assert!(line_for("stray").starts_with("warning: "), "{out:?}");
    assert_eq!(lines.len(), 5, "{out:?}");
    assert!(summary.contains("has 3 problems (2 warnings)"), "{out:?}");
}

#[test]
fn info_verify_of_something_else_is_one_error_line() {
    let session = Session::new();
    let out = verify(&session, &session.path("no-such-trace"));
    assert!(assert_one_error_line(&out).contains("no trace at"), "{out:?}");
    let dir = session.path("random");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("events"), pseudo_random_bytes(1000, 3)).unwrap();
    let out = verify(&session, &dir);
    assert!(assert_one_error_line(&out).contains("not an rback trace"), "{out:?}");
}

/// A tmpfs of `size` at `at`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf, size: u64) -> Tmpfs {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test records onto a small tmpfs that it mounts, which needs root"
        );
        fs::create_dir(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&at)
            .status()
            .expect("mount runs");
        assert!(status.success(), "cannot mount a tmpfs at {}", at.display());
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn incoming_left(trace: &Path) -> Vec<String> {
    fs::read_dir(trace.join("files"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".incoming-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The disk fills up while a library is copied into the trace: the error
/// says so, the partial copy is gone, and the trace says why it stopped.
#[test]
fn a_disk_that_fills_while_copying_a_file_is_named_and_cleaned_up() {
    let session = Session::new();
    let disk = Tmpfs::mount(session.path("small-disk"), 1 << 20);
    let trace = disk.0.join("trace");
    let mut cmd = session.command();
    cmd.arg("record").arg("-o").arg(&trace).arg(c_program("args_env"));
    let out = run(&mut cmd, None, TIMEOUT);
    let line = assert_one_error_line(&out);
    assert!(
        line.contains("into the trace: the disk is full") && line.contains("No space left on device"),
        "{out:?}"
    );
    assert_eq!(
        incoming_left(&trace),
        Vec::<String>::new(),
        "a partial copy was left behind"
    );
    let v = verify(&session, &trace);
    assert_eq!(v.code(), 0, "the trace is whole up to where it stopped: {v:?}");
}

/// The disk fills up while the event log is written: the error says so,
/// and the trace ends with a trailer that says so too, so replay reports
/// that the recording stopped for a full disk, not that rback was killed.
#[test]
fn a_disk_that_fills_while_writing_events_stops_the_trace_and_says_why() {
    let session = Session::new();
    let input = session.write("input", pseudo_random_bytes(2 << 20, 7));
    let prog = c_program("big_read");
    // As much room as the copies of the files take, and a little more: not
    // enough for the 2 MiB that the program reads.
    session.record(&prog, &[s(&input)]);
    let pages: u64 = fs::read_dir(session.trace().join("files"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len().div_ceil(4096))
        .sum();
    let disk = Tmpfs::mount(session.path("small-disk"), (pages + 64) * 4096);
    let trace = disk.0.join("trace");
    let mut cmd = session.command();
    cmd.arg("record").arg("-o").arg(&trace).arg(&prog).arg(&input);
    let out = run(&mut cmd, None, TIMEOUT);
    let line = assert_one_error_line(&out);
    assert!(
        line.contains("cannot write trace ") && line.contains("the disk is full"),
        "{out:?}"
    );
    assert_eq!(incoming_left(&trace), Vec::<String>::new());

    let rep = session.rback(&["replay", "-a", s(&trace)]);
    assert_no_panic(&rep);
    assert_eq!(rep.code(), 1, "{rep:?}");
    let last = rep.stderr_lines().pop().unwrap_or_default();
    assert!(
        last.starts_with("rback: the trace ends after ")
            && last.contains("recording stopped there")
            && last.contains("the disk is full")
            && !last.contains("killed"),
        "{rep:?}"
    );
    let info = session.rback(&["info", s(&trace)]);
    assert_eq!(info.code(), 0, "{info:?}");
    assert!(field(&info.stdout(), "events:").ends_with("(complete)"), "{info:?}");
    let v = verify(&session, &trace);
    assert_eq!(v.code(), 0, "{v:?}");
}
