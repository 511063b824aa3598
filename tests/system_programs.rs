//! End to end with real programs from the system (coreutils, Python): they
//! make syscalls the small tracees do not, and users record them first.
//! Each is recorded, its inputs are changed, and the replay must still print
//! what the recorded run printed, while a fresh run prints something else.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn native(prog: &str, args: &[&str]) -> Output {
    run(Command::new(prog).args(args), None, TIMEOUT)
}

#[test]
fn replay_of_date_prints_the_recorded_date_a_second_later() {
    system_program("/usr/bin/date");
    let session = Session::new();
    // By name: rback finds it in PATH like a shell would.
    let rec = session.record("date", &["+%Y-%m-%d %H:%M:%S.%N"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    std::thread::sleep(Duration::from_millis(1100));
    let rep = session.replay();
    assert_replay_matches(&rec, &rep);
    let now = native("date", &["+%Y-%m-%d %H:%M:%S.%N"]);
    assert_ne!(now.stdout, rep.stdout, "the date has changed since");
}

#[test]
fn replay_of_python_prints_the_recorded_random_number_and_time() {
    // Not the `python3` in PATH: a pyenv shim there forks.
    let python = system_program("/usr/bin/python3");
    let session = Session::new();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let (rec, _) = session.record_and_replay(
        &python,
        &["-c", "import random,time; print(random.random(), time.time())"],
        None,
    );
    let out = rec.stdout();
    let fields: Vec<f64> = out.split_whitespace().map(|f| f.parse().unwrap()).collect();
    assert_eq!(fields.len(), 2, "{rec:?}");
    assert!((0.0..1.0).contains(&fields[0]), "{rec:?}");
    assert!(fields[1] >= before.as_secs_f64() - 0.01, "{rec:?}");
}

#[test]
fn replay_of_sha256sum_prints_the_hash_of_the_recorded_contents() {
    system_program("/usr/bin/sha256sum");
    let session = Session::new();
    let file = session.write("data.txt", "the recorded contents\n");
    let before = native("sha256sum", &[s(&file)]);
    let rec = session.record("sha256sum", &[s(&file)]);
    assert_eq!(rec.stdout, before.stdout, "{rec:?}");
    assert_eq!(rec.code(), 0);
    session.write("data.txt", "other contents\n");
    let rep = session.replay();
    assert_replay_matches(&rec, &rep);
    assert_ne!(native("sha256sum", &[s(&file)]).stdout, rep.stdout);
}

#[test]
fn replay_of_ls_la_lists_the_directory_as_it_was() {
    system_program("/usr/bin/ls");
    let session = Session::new();
    let dir = session.path("listed");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("recorded-a.txt"), "a").unwrap();
    fs::write(dir.join("recorded-b.txt"), "bb").unwrap();
    let rec = session.record("ls", &["-la", s(&dir)]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(rec.stdout().contains("recorded-a.txt\n"), "{rec:?}");
    fs::remove_file(dir.join("recorded-a.txt")).unwrap();
    fs::write(dir.join("added-later.txt"), "c").unwrap();
    let rep = session.replay();
    assert_replay_matches(&rec, &rep);
    assert!(!rep.stdout().contains("added-later"));
}

#[test]
fn replay_of_cat_prints_the_file_after_it_is_changed_and_deleted() {
    system_program("/usr/bin/cat");
    let session = Session::new();
    let text = "line one\nline two\n".repeat(1000);
    let file = session.write("cat-me.txt", &text);
    let rec = session.record("cat", &[s(&file)]);
    assert_eq!(rec.stdout(), text);
    session.write("cat-me.txt", "changed\n");
    assert_replay_matches(&rec, &session.replay());
    fs::remove_file(&file).unwrap();
    assert_replay_matches(&rec, &session.replay());
}

/// `cat` into a regular file tries copy_file_range/sendfile first, which
/// would copy without the bytes passing through the tracee.
#[test]
fn replay_of_cat_into_a_file_writes_the_recorded_contents() {
    system_program("/usr/bin/cat");
    let session = Session::new();
    let text = "copied by cat into a regular file\n".repeat(500);
    let file = session.write("source.txt", &text);
    let record_out = session.path("recorded.txt");
    let mut child = session
        .command()
        .arg("record")
        .arg("-o")
        .arg(session.trace())
        .args(["cat", s(&file)])
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(&record_out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_deadline(&mut child, TIMEOUT).expect("rback record timed out");
    assert!(status.success());
    assert_eq!(fs::read_to_string(&record_out).unwrap(), text);
    fs::remove_file(&file).unwrap();
    let replay_out = session.path("replayed.txt");
    let mut child = session
        .command()
        .args(["replay", "-a"])
        .arg(session.trace())
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(&replay_out).unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_deadline(&mut child, TIMEOUT).expect("rback replay timed out");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(err, "");
    assert_eq!(fs::read_to_string(&replay_out).unwrap(), text);
}
