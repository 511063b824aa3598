//! Replay notices when it does not compute what the recording did. Traces
//! are edited here the way damage or tampering would edit them (with valid
//! checksums, so the reader accepts them), and replay must stop with one
//! line naming the event instead of printing believable output.

mod common;

use std::path::Path;

use common::*;
use recorder::trace::{Event, TraceLog};

/// Rewrites the trace at `from` into `to` (a new directory with the same
/// copied files), passing each event through `edit`; `None` drops it.
fn rewrite(from: &Path, to: &Path, mut edit: impl FnMut(usize, Event) -> Option<Event>) {
    rewrite_trace(from, to, |events| {
        *events = std::mem::take(events)
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| edit(i, e))
            .collect();
    });
}

fn replay(session: &Session, trace: &Path) -> Output {
    session.rback(&[
        std::ffi::OsStr::new("replay"),
        std::ffi::OsStr::new("-a"),
        trace.as_os_str(),
    ])
}

/// The error line of a replay that diverged: after what the replayed
/// program wrote to stderr before the divergence, one `rback: error:` line
/// and exit status 1.
fn assert_diverged(out: &Output) -> String {
    assert_no_panic(out);
    assert_eq!(out.code(), 1, "a diverged replay must fail:\n{out:?}");
    let lines = out.stderr_lines();
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("rback: error: ")).collect();
    assert_eq!(errors.len(), 1, "{out:?}");
    assert_eq!(lines.last(), Some(errors[0]), "the error comes last:\n{out:?}");
    assert!(errors[0].contains("diverged at event"), "{out:?}");
    errors[0].clone()
}

fn recorded_cat(session: &Session) -> std::path::PathBuf {
    let file = session.write("input.txt", "1 2 3 4\n");
    let rec = session.record(c_program("cat_file"), &[file.to_str().unwrap()]);
    assert_eq!(rec.stdout(), "read 8 bytes:\n1 2 3 4\n[end of file]\n", "{rec:?}");
    session.trace()
}

#[test]
fn edited_output_bytes_are_a_divergence_not_believable_output() {
    let session = Session::new();
    let trace = recorded_cat(&session);
    let edited = session.path("edited");
    let mut changed = 0;
    rewrite(&trace, &edited, |_, mut e| {
        if let Event::Syscall(call) = &mut e {
            if let Some(out) = &mut call.output {
                if let Some(at) = out.bytes.windows(3).position(|w| w == b"2 3") {
                    out.bytes[at] = b'9';
                    changed += 1;
                }
            }
        }
        Some(e)
    });
    assert_eq!(changed, 1);
    let out = replay(&session, &edited);
    let line = assert_diverged(&out);
    assert!(line.contains("write"), "{line}");
    assert!(
        !out.stdout().contains("9 3"),
        "the edited bytes must not be shown:\n{out:?}"
    );
}

#[test]
fn edited_read_data_is_a_divergence_where_the_program_shows_it() {
    let session = Session::new();
    let trace = recorded_cat(&session);
    let edited = session.path("edited");
    let mut changed = 0;
    rewrite(&trace, &edited, |_, mut e| {
        if let Event::Syscall(call) = &mut e {
            if call.nr == libc::SYS_read && call.result == 8 {
                edit_bytes(&mut call.writes[0].bytes, |b| b[2] = b'7');
                changed += 1;
            }
        }
        Some(e)
    });
    assert_eq!(changed, 1);
    let line = assert_diverged(&replay(&session, &edited));
    assert!(
        line.contains("1 7 3 4"),
        "the message shows what the replayed program wrote: {line}"
    );
}

#[test]
fn a_dropped_event_is_a_divergence() {
    let session = Session::new();
    let trace = recorded_cat(&session);
    let log = TraceLog::load(&trace).unwrap();
    let open_at = log
        .events()
        .position(|e| matches!(e, Event::Syscall(c) if c.nr == libc::SYS_openat && c.result >= 0 && c.result < 10 && c.args[1] != 0))
        .expect("the program opens its input");
    let last_open = log
        .events()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Syscall(c) if c.nr == libc::SYS_openat))
        .map(|(i, _)| i)
        .last()
        .unwrap();
    assert!(open_at <= last_open);
    let edited = session.path("edited");
    rewrite(&trace, &edited, |i, e| (i != last_open).then_some(e));
    let line = assert_diverged(&replay(&session, &edited));
    assert!(line.contains(&format!("event {last_open}")), "{line}");
}

#[test]
fn after_a_divergence_the_debugger_refuses_to_move() {
    let session = Session::new();
    let trace = recorded_cat(&session);
    let edited = session.path("edited");
    rewrite(&trace, &edited, |_, mut e| {
        if let Event::Syscall(call) = &mut e {
            if call.nr == libc::SYS_read && call.result == 8 {
                edit_bytes(&mut call.writes[0].bytes, |b| b[0] = b'5');
            }
        }
        Some(e)
    });
    let mut cmd = session.command();
    cmd.arg("replay").arg(&edited);
    let out = run(&mut cmd, Some(b"continue\nreverse-continue\ncontinue\n"), TIMEOUT);
    assert_no_panic(&out);
    let err = out.stderr();
    assert!(err.contains("diverged at event"), "{out:?}");
    let refusals = err
        .lines()
        .filter(|l| l.contains("this session cannot move any more"))
        .count();
    assert_eq!(refusals, 2, "every later movement is refused:\n{out:?}");
}

#[test]
fn with_check_memory_a_divergence_is_caught_where_memory_first_differs() {
    let session = Session::new();
    let file = session.write("input.txt", "1 2 3 4\n");
    let trace = session.path("checked");
    let mut cmd = session.command();
    cmd.args(["record", "--check-memory", "1", "-o"])
        .arg(&trace)
        .arg(c_program("cat_file"))
        .arg(&file);
    let rec = run(&mut cmd, None, TIMEOUT);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(replay(&session, &trace).code(), 0, "an untouched trace replays");
    let edited = session.path("edited");
    rewrite(&trace, &edited, |_, mut e| {
        if let Event::Syscall(call) = &mut e {
            if call.nr == libc::SYS_read && call.result == 8 {
                edit_bytes(&mut call.writes[0].bytes, |b| b[2] = b'7');
            }
        }
        Some(e)
    });
    // The next traced syscall after the read already sees memory that
    // differs, before anything is written. (The calls right after it, the
    // read that finds the end of the file and the close, go through the
    // syscall buffer, whose calls carry no hash: the next one that stops
    // notices.)
    let line = assert_diverged(&replay(&session, &edited));
    assert!(
        line.contains("expected memory as recorded at the entry of syscall "),
        "{line}"
    );
    let log = TraceLog::load(&trace).unwrap();
    let edited_read = log
        .events()
        .position(|e| matches!(e, Event::Syscall(c) if c.nr == libc::SYS_read && c.result == 8))
        .unwrap();
    let at: usize = line["rback: error: replay diverged at event ".len()..]
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        edited_read < at && at <= edited_read + 8,
        "edited {edited_read}: {line}"
    );
}
