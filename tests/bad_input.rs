//! Bad input from the user: programs rback cannot record and traces it
//! cannot replay. Each must end in exactly one `rback: error: ...` line on
//! stderr and a non-zero status, never a panic; a trace that merely ends
//! early replays what it has and says so.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn make_executable(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// `rback record PROG` must refuse with one error line mentioning `expect`,
/// and leave no trace behind.
fn assert_record_refuses(session: &Session, prog: &str, expect: &str) {
    let out = session.record_raw(prog, &[], None, &[]);
    let line = assert_one_error_line(&out);
    assert!(line.contains(expect), "expected {expect:?} in:\n{out:?}");
    assert_eq!(out.stdout(), "");
    assert!(
        !session.trace().join("events").exists(),
        "a refused recording left a trace"
    );
}

#[test]
fn record_of_missing_file_is_one_error_line() {
    let session = Session::new();
    let missing = session.path("no-such-program");
    assert_record_refuses(&session, s(&missing), "no such file");
}

#[test]
fn record_of_name_not_in_path_is_one_error_line() {
    let session = Session::new();
    assert_record_refuses(&session, "rback-no-such-program-anywhere", "not in PATH");
}

#[test]
fn record_of_directory_is_one_error_line() {
    let session = Session::new();
    let dir = session.path("a-directory");
    fs::create_dir(&dir).unwrap();
    assert_record_refuses(&session, s(&dir), "is a directory");
}

#[test]
fn record_of_non_executable_file_is_one_error_line() {
    let session = Session::new();
    let file = session.path("not-executable");
    fs::copy(c_program("args_env"), &file).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    assert_record_refuses(&session, s(&file), "not executable");
}

#[test]
fn record_of_executable_text_file_without_shebang_is_one_error_line() {
    let session = Session::new();
    let file = session.write("plain-text", "just some text, no #! line\n");
    make_executable(&file);
    assert_record_refuses(&session, s(&file), "not an ELF executable or a #! script");
}

#[test]
fn record_of_32_bit_elf_is_one_error_line() {
    let session = Session::new();
    // An ELF32 header for i386 (EI_CLASS = 1): enough for rback to refuse
    // it, and independent of a multilib compiler.
    let mut elf = vec![0u8; 52];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 1; // ELFCLASS32
    elf[5] = 1; // little endian
    elf[6] = 1; // EV_CURRENT
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&3u16.to_le_bytes()); // EM_386
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    elf[40..42].copy_from_slice(&52u16.to_le_bytes()); // e_ehsize
    let file = session.write("elf32", elf);
    make_executable(&file);
    assert_record_refuses(&session, s(&file), "32-bit");
}

#[test]
fn record_into_non_empty_output_dir_is_one_error_line() {
    let session = Session::new();
    fs::create_dir(session.trace()).unwrap();
    fs::write(session.trace().join("precious"), "keep me").unwrap();
    let out = session.record_raw(c_program("args_env"), &[], None, &[]);
    let line = assert_one_error_line(&out);
    assert!(line.contains("not an empty directory"), "{out:?}");
    assert_eq!(out.stdout(), "", "the program must not run");
    assert_eq!(fs::read_to_string(session.trace().join("precious")).unwrap(), "keep me");
}

fn replay(session: &Session, trace: &Path) -> Output {
    session.rback(&["replay", "-a", s(trace)])
}

#[test]
fn replay_of_missing_dir_is_one_error_line() {
    let session = Session::new();
    let out = replay(&session, &session.path("no-such-trace"));
    let line = assert_one_error_line(&out);
    assert!(line.contains("no trace at"), "{out:?}");
}

#[test]
fn replay_of_empty_dir_is_one_error_line() {
    let session = Session::new();
    let dir = session.path("empty");
    fs::create_dir(&dir).unwrap();
    let out = replay(&session, &dir);
    let line = assert_one_error_line(&out);
    assert!(line.contains("not an rback trace"), "{out:?}");
}

/// A trace directory whose `events` file holds `bytes`.
fn fake_trace(session: &Session, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = session.path(name);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("events"), bytes).unwrap();
    dir
}

#[test]
fn replay_of_random_bytes_as_events_is_one_error_line() {
    let session = Session::new();
    let dir = fake_trace(&session, "random", &pseudo_random_bytes(4096, 1));
    let out = replay(&session, &dir);
    let line = assert_one_error_line(&out);
    assert!(line.contains("not an rback trace"), "{out:?}");
}

#[test]
fn replay_of_random_bytes_after_a_valid_magic_and_version_is_one_error_line() {
    let session = Session::new();
    // The real magic and version, from a real trace.
    session.record(c_program("args_env"), &[]);
    let real = fs::read(session.trace().join("events")).unwrap();
    for seed in 1..=8 {
        let mut bytes = real[..12].to_vec();
        bytes.extend(pseudo_random_bytes(4096, seed));
        let dir = fake_trace(&session, &format!("garbage-{seed}"), &bytes);
        let out = replay(&session, &dir);
        assert_one_error_line(&out);
        assert_eq!(out.stdout(), "", "{out:?}");
        let info = session.rback(&["info", s(&dir)]);
        assert_one_error_line(&info);
    }
}

#[test]
fn replay_of_trace_cut_in_half_prints_a_prefix_then_says_it_ends_early() {
    let session = Session::new();
    let rec = session.record(c_program("many_lines"), &[]);
    let events = session.trace().join("events");
    let bytes = fs::read(&events).unwrap();
    fs::write(&events, &bytes[..bytes.len() / 2]).unwrap();

    let rep = session.replay();
    assert_no_panic(&rep);
    assert_ne!(rep.code(), 0, "{rep:?}");
    assert!(
        !rep.stdout.is_empty() && rep.stdout.len() < rec.stdout.len() && rec.stdout.starts_with(&rep.stdout),
        "the replay must print a proper prefix of the recorded output:\n{rep:?}"
    );
    let stderr = rep.stderr();
    let (program_part, last) = stderr
        .trim_end_matches('\n')
        .rsplit_once('\n')
        .unwrap_or(("", stderr.trim_end_matches('\n')));
    assert!(
        rec.stderr().starts_with(program_part),
        "replayed stderr is not a prefix of the recorded one:\n{rep:?}"
    );
    assert!(
        last.starts_with("rback: the trace ends after ") && last.contains("before the program did"),
        "{rep:?}"
    );
    assert_eq!(stderr.matches("rback:").count(), 1, "{rep:?}");
}

#[test]
fn replay_of_trace_with_other_format_version_names_both_versions() {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    let events = session.trace().join("events");
    let mut bytes = fs::read(&events).unwrap();
    assert_eq!(&bytes[..8], b"RBACKTRC");
    let current = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let other = current + 1000;
    bytes[8..12].copy_from_slice(&other.to_le_bytes());
    fs::write(&events, bytes).unwrap();
    let out = session.replay();
    let line = assert_one_error_line(&out);
    assert!(
        line.contains(&format!("version {other}")) && line.contains(&format!("version {current}")),
        "{out:?}"
    );
}

#[test]
fn replay_of_trace_missing_its_file_copies_is_one_error_line() {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    fs::remove_dir_all(session.trace().join("files")).unwrap();
    let out = session.replay();
    let line = assert_one_error_line(&out);
    assert!(line.contains("lacks its copy"), "{out:?}");
    assert_eq!(out.stdout(), "");
}

#[test]
fn replay_of_trace_with_damaged_file_copy_is_one_error_line() {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    for entry in fs::read_dir(session.trace().join("files")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
        fs::write(&path, bytes).unwrap();
    }
    let out = session.replay();
    let line = assert_one_error_line(&out);
    assert!(line.contains("damaged"), "{out:?}");
    assert_eq!(out.stdout(), "");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let session = Session::new();
    let out = session.rback(&["frobnicate"]);
    assert_no_panic(&out);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(out.stderr().contains("frobnicate"), "{out:?}");
    assert_eq!(out.stdout(), "");
}
