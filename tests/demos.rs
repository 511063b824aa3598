//! The demos in `demos/`, run end to end as `demos/README.md` shows them,
//! checking what each one shows.

mod common;

use std::path::Path;

use common::{assert_no_panic, assert_replay_matches, demo_program, run, Output, Session};

fn playback(s: &Session, args: &[&str]) -> Output {
    let mut cmd = s.command();
    cmd.arg("playback").arg(s.trace()).args(args);
    let out = run(&mut cmd, None, common::TIMEOUT);
    assert_no_panic(&out);
    assert!(out.status.success(), "playback failed:\n{out:?}");
    out
}

/// The frames printed without a terminal, each a block starting "frame N".
fn frames(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(str::trim_end)
        .filter(|b| b.starts_with("frame "))
        .map(str::to_string)
        .collect()
}

/// Plays `show` at `at` forward and with `--reverse`, checks the frames
/// backward are the frames forward in reverse order, and returns them.
fn forward_equals_backward(s: &Session, at: &str, show: &str, style: &str) -> Vec<String> {
    let forward = frames(&playback(s, &["--at", at, "--show", show, "--as", style]).stdout());
    let mut backward = frames(&playback(s, &["--at", at, "--show", show, "--as", style, "--reverse"]).stdout());
    backward.reverse();
    assert_eq!(
        forward, backward,
        "the frames backward are the frames forward, reversed"
    );
    forward
}

#[test]
fn life_plays_forward_and_back_to_the_first_generation() {
    let exe = demo_program("life", "-O0");
    let s = Session::new();
    let rec = s.record(&exe, &[]);
    assert!(rec.stdout().ends_with("generation 24:  8 alive\n"), "{rec:?}");
    let frames = forward_equals_backward(&s, "step", "grid", "grid");
    assert_eq!(frames.len(), 24);
    // The glider and the blinker: 8 live cells in every generation.
    for f in &frames {
        assert_eq!(f.matches("██").count(), 8, "{f}");
    }
    // The first frame is generation 0 as main() set it up.
    let first: Vec<&str> = frames[0].lines().skip(2).take(3).collect();
    assert_eq!(first[0].trim_end(), "  · ██· · · · · · · · · · · · · ·");
    assert_eq!(first[2].trim_end(), "  ██████· · · · · · · · · · · · ·");
}

#[test]
fn sort_plays_forward_and_backward() {
    let exe = demo_program("sort", "-O0");
    let s = Session::new();
    let rec = s.record(&exe, &[]);
    assert!(
        rec.stdout().ends_with("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"),
        "{rec:?}"
    );
    let frames = forward_equals_backward(&s, "pass_done", "values", "bars");
    assert_eq!(frames.len(), 11, "one frame per pass");
    assert_eq!(
        frames[10].lines().nth(1),
        Some("values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}")
    );
    // Bars: ten rows, the bottom one with a bar for each of the 16 numbers,
    // the top one only for 15 (not quite) and 16.
    let bottom = frames[10].lines().nth(11).unwrap();
    assert_eq!(bottom.chars().filter(|&c| c != ' ').count(), 16, "{}", frames[10]);
    assert_eq!(frames[10].lines().nth(2).unwrap().trim(), "▃ █");
}

#[test]
fn nondeterminism_replays_ten_times_the_same() {
    let exe = demo_program("nondeterminism", "-O1");
    let s = Session::new();
    let rec = s.record(&exe, &[]);
    assert!(rec.stdout().contains("sleeps before the 5th timer tick: "), "{rec:?}");
    for _ in 0..10 {
        assert_replay_matches(&rec, &s.replay());
    }
}

#[test]
fn the_corruption_is_found_by_watching_backward_from_the_crash() {
    let exe = demo_program("corrupt", "-O0");
    let s = Session::new();
    let rec = s.record_raw(&exe, &[], None, &[]);
    assert_eq!(rec.code(), 128 + 11, "corrupt.c crashes with SIGSEGV:\n{rec:?}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("demos/corrupt.rback");
    let mut cmd = s.command();
    cmd.arg("replay").arg(s.trace()).arg("-x").arg(&script).arg("--batch");
    let out = run(&mut cmd, None, common::TIMEOUT);
    assert_no_panic(&out);
    let text = out.stdout();
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("demos/corrupt.c")).unwrap();
    let line_of = |needle: &str| 1 + source.lines().position(|l| l.contains(needle)).unwrap();
    let crash = format!("corrupt.c:{}", line_of("sum += a->balance;"));
    let culprit = format!("corrupt.c:{}", line_of("bank.note[i] = text[i];"));
    assert!(
        text.contains("SIGSEGV") && text.contains(&crash),
        "runs to the crash in total():\n{out:?}"
    );
    let after_watch = &text[text.find("atchpoint").expect("a watchpoint is set")..];
    assert!(
        after_watch.contains(&culprit),
        "reverse-continue lands on the line that wrote the head:\n{out:?}"
    );
    assert!(after_watch.contains("set_note"), "{out:?}");
}
