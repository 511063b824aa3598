//! `rback playback` end to end: the demo programs in `demos/` are compiled,
//! recorded once per test, and played back; the tests read the frames that
//! rback prints (or writes as asciicast and GIF, or draws on a terminal) and
//! check them against what the programs do.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{assert_no_panic, assert_one_error_line, run, Output, Session};

/// Compiles `demos/NAME.c` with `gcc -g -O0` (no optimization: the demos'
/// variables must be readable at every line) and returns the executable.
fn demo(name: &str) -> PathBuf {
    common::demo_program(name, "-O0")
}

/// A session holding a recording of `demos/NAME.c`.
fn recorded(name: &str) -> Session {
    let s = Session::new();
    s.record(demo(name), &[]);
    s
}

/// `rback playback TRACE ARGS`, which must succeed.
fn playback(s: &Session, args: &[&str]) -> Output {
    let out = playback_raw(s, args);
    assert_no_panic(&out);
    assert!(out.status.success(), "playback failed:\n{out:?}");
    out
}

fn playback_raw(s: &Session, args: &[&str]) -> Output {
    let mut cmd = s.command();
    cmd.arg("playback").arg(s.trace()).args(args);
    run(&mut cmd, None, common::TIMEOUT)
}

/// The frames printed without a terminal, each a block starting "frame N".
fn frames(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(str::trim_end)
        .filter(|b| b.starts_with("frame "))
        .map(str::to_string)
        .collect()
}

/// The address of a global in a PIE demo as it runs under rback, which
/// turns address space randomization off (so the base is fixed).
fn global_address(exe: &Path, symbol: &str) -> u64 {
    let out = run(Command::new("nm").arg(exe), None, Duration::from_secs(60));
    let text = out.stdout();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(symbol))
        .unwrap_or_else(|| panic!("no {symbol} in nm's output:\n{text}"));
    0x5555_5555_4000 + u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap()
}

/// A session with life.c recorded, and `--show` for its grid as raw bytes.
fn life() -> (Session, String) {
    let exe = demo("life");
    let s = Session::new();
    s.record(&exe, &[]);
    let grid = format!("mem:{:#x}:256:16", global_address(&exe, "grid"));
    (s, grid)
}

/// The event number in a frame's heading.
fn event_of(frame: &str) -> u64 {
    frame.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// The live cells of a grid picture (the lines after the label), as
/// (row, column) pairs.
fn live_cells(frame: &str) -> Vec<(usize, usize)> {
    let mut cells = Vec::new();
    for (r, line) in frame.lines().skip(2).enumerate() {
        let chars: Vec<char> = line.chars().skip(2).collect();
        for (c, pair) in chars.chunks(2).enumerate() {
            if pair[0] == '█' {
                cells.push((r, c));
            }
        }
    }
    cells
}

#[test]
fn grid_frames_show_the_program_s_true_state_at_each_call() {
    let (s, grid) = life();
    let out = playback(&s, &["--at", "step", "--show", &grid, "--as", "grid"]);
    let frames = frames(&out.stdout());
    assert_eq!(frames.len(), 24, "life.c calls step() 24 times:\n{out:?}");
    for (i, f) in frames.iter().enumerate() {
        assert!(
            f.starts_with(&format!("frame {}  event ", i + 1)) && f.lines().next().unwrap().ends_with("life.c:26"),
            "bad heading:\n{f}"
        );
    }
    // The first frame is the grid main() set up; a glider moves one cell
    // down and right every four generations.
    let glider = [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)];
    let blinker = [(9, 11), (9, 12), (9, 13)];
    let first = live_cells(&frames[0]);
    assert_eq!(first, [&glider[..3], &glider[3..], &blinker[..]].concat());
    let moved: Vec<(usize, usize)> = live_cells(&frames[4]).into_iter().filter(|&(r, _)| r < 8).collect();
    let expected: Vec<(usize, usize)> = glider.iter().map(|&(r, c)| (r + 1, c + 1)).collect();
    assert_eq!(moved, expected, "frame 5:\n{}", frames[4]);
}

#[test]
fn reverse_continue_finds_the_same_frames_backward() {
    let (s, grid) = life();
    let forward = frames(&playback(&s, &["--at", "step", "--show", &grid]).stdout());
    let backward = frames(&playback(&s, &["--at", "step", "--show", &grid, "--reverse"]).stdout());
    assert_eq!(forward.len(), 24);
    let mut reversed = backward.clone();
    reversed.reverse();
    assert_eq!(forward, reversed, "--reverse plays the same frames, last first");
    assert!(backward[0].starts_with("frame 24  "));
}

#[test]
fn rewinding_replays_each_frame_again_and_it_matches() {
    let (s, grid) = life();
    let to = event_of(&frames(&playback(&s, &["--at", "step", "--show", &grid, "--max-frames", "4"]).stdout())[3]);
    let out = playback(
        &s,
        &["--at", "step", "--show", &grid, "--rewind", "--to", &to.to_string()],
    );
    let text = out.stdout();
    let (forward, rewind) = text.split_once("-- rewinding --").expect("a rewinding marker");
    let forward = frames(forward);
    let mut rewind = frames(rewind);
    assert_eq!(forward.len(), 4, "{out:?}");
    assert_eq!(rewind.len(), forward.len() - 1);
    rewind.reverse();
    assert_eq!(forward[..forward.len() - 1], rewind[..]);
}

#[test]
fn event_ranges_and_limits_choose_the_frames() {
    let (s, grid) = life();
    let all = frames(&playback(&s, &["--at", "step", "--show", &grid]).stdout());
    let (e3, e6) = (event_of(&all[2]), event_of(&all[5]));
    let some = frames(
        &playback(
            &s,
            &[
                "--at",
                "step",
                "--show",
                &grid,
                "--from",
                &e3.to_string(),
                "--to",
                &e6.to_string(),
            ],
        )
        .stdout(),
    );
    assert!(some.len() >= 4, "{some:?}");
    assert!(some.iter().all(|f| (e3..=e6).contains(&event_of(f))));
    assert_eq!(
        &some[0][some[0].find('\n').unwrap()..],
        &all[2][all[2].find('\n').unwrap()..]
    );

    // An event range samples at interval starts.
    let range = format!("{e3}-{}", e3 + 2);
    let by_event = frames(&playback(&s, &["--at", &range, "--show", &grid]).stdout());
    let events: Vec<u64> = by_event.iter().map(|f| event_of(f)).collect();
    assert_eq!(events, [e3, e3 + 1, e3 + 2]);

    let out = playback(&s, &["--at", "step", "--show", &grid, "--max-frames", "2"]);
    assert_eq!(frames(&out.stdout()).len(), 2);
    assert_eq!(
        out.stderr(),
        "rback: stopped sampling after 2 frames (--max-frames); these are the first ones\n"
    );
}

#[test]
fn asciicast_and_gif_files_hold_every_frame() {
    let (s, grid) = life();
    let to = event_of(&frames(&playback(&s, &["--at", "step", "--show", &grid, "--max-frames", "3"]).stdout())[2]);
    let cast = s.path("life.cast");
    let gif = s.path("life.gif");
    let out = playback(
        &s,
        &[
            "--at",
            "step",
            "--show",
            &grid,
            "--to",
            &to.to_string(),
            "--rewind",
            "--fps",
            "5",
            "--cast",
            cast.to_str().unwrap(),
            "--gif",
            gif.to_str().unwrap(),
        ],
    );
    assert_eq!(out.stdout(), "", "with output files, nothing is printed");
    let n = out
        .stderr()
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert_eq!(n, 5, "three frames forward, two back:\n{out:?}");

    let text = std::fs::read_to_string(&cast).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(r#"{"version": 2, "width": "#), "{}", lines[0]);
    assert_eq!(lines.len(), n + 1);
    assert!(
        lines[2].starts_with(r#"[0.200, "o", "\u001b[H\u001b[2Jframe 2  event "#),
        "{}",
        lines[2]
    );

    let mut decoder = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(&gif).unwrap())
        .unwrap();
    let mut count = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!(frame.delay, 20);
        count += 1;
    }
    assert_eq!(count, n);
}

#[test]
fn the_terminal_player_steps_back_to_the_true_state() {
    let (s, grid) = life();
    // `script` gives rback a terminal; the keys are right, right, left, quit.
    let cmd = format!(
        "{} playback {} --at step --show {grid} --paused",
        common::RBACK,
        s.trace().display()
    );
    let out = run(&mut s.in_terminal(&cmd), Some(b"\x1b[C\x1b[C\x1b[Dq"), common::TIMEOUT);
    assert!(out.status.success(), "{out:?}");
    let text = out.stdout();
    // The terminal is put back after the last screen.
    let text = text
        .strip_suffix("\x1b[0m\x1b[?25h\r\n")
        .expect("the cursor is shown again at the end");
    let screens: Vec<&str> = text.split("\x1b[H\x1b[2J").skip(1).collect();
    let headings: Vec<&str> = screens.iter().map(|s| &s[..s.find("  event").unwrap()]).collect();
    assert_eq!(headings, ["frame 1", "frame 2", "frame 3", "frame 2"], "{out:?}");
    assert_eq!(screens[1], screens[3], "going back shows the same frame");
    assert!(!text.contains("differs"), "{out:?}");
    assert!(screens[0].contains("paused"), "{}", screens[0]);
}

#[test]
fn bad_playback_requests_fail_with_one_line() {
    let (s, grid) = life();
    let cases: &[(&[&str], &str)] = &[
        (&["--at", "no_such_function", "--show", &grid], "no_such_function"),
        (&["--at", "step", "--show", &grid, "--fps", "0"], "--fps"),
        (&["--at", "step", "--show", &grid, "--as", "pie"], "pie"),
        (&["--at", "step", "--show", "mem:0x10"], "mem:ADDR:LEN"),
        (
            &["--at", "step", "--show", &grid, "--from", "9", "--to", "3"],
            "--from 9",
        ),
        (&["--at", "step", "--show", &grid, "--from", "100000"], "event 100000"),
        (&["--at", "5-2", "--show", &grid], "empty"),
        (&["--at", "step", "--show", &grid, "--reverse", "--rewind"], "--rewind"),
        (
            &[
                "--at", "step", "--show", &grid, "--show", "x", "--as", "grid", "--as", "hex", "--as", "value",
            ],
            "3 --as",
        ),
    ];
    for (args, needle) in cases {
        let out = playback_raw(&s, args);
        let line = assert_one_error_line(&out);
        assert!(line.contains(needle), "{args:?}: expected `{needle}` in: {line}");
    }
    let mut cmd = s.command();
    cmd.args(["playback", "/nonexistent/trace", "--at", "main", "--show", "x"]);
    assert_one_error_line(&run(&mut cmd, None, common::TIMEOUT));
}

#[test]
fn an_unreadable_region_is_shown_as_such_not_an_error() {
    let s = recorded("life");
    let out = playback(&s, &["--at", "step", "--show", "mem:0x10:4", "--max-frames", "1"]);
    let f = frames(&out.stdout());
    assert_eq!(f.len(), 1);
    assert!(f[0].ends_with("mem:0x10:4: <cannot read 4 bytes at 0x10>"), "{}", f[0]);
}

#[test]
fn a_source_line_can_be_the_place_to_sample() {
    let (s, grid) = life();
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("demos/life.c")).unwrap();
    let line = 1 + source.lines().position(|l| l.contains("printf(\"generation")).unwrap();
    let at = format!("life.c:{line}");
    let out = playback(&s, &["--at", &at, "--show", &grid, "--as", "grid", "--max-frames", "2"]);
    let f = frames(&out.stdout());
    assert_eq!(f.len(), 2);
    assert!(f[0].lines().next().unwrap().ends_with(&format!("  {at}")), "{}", f[0]);
    // Sampled after step(): the glider has moved on from main()'s setup.
    assert_ne!(live_cells(&f[0])[..3], [(0, 1), (1, 2), (2, 0)]);
}

#[test]
fn expressions_are_drawn_as_bars_sparklines_and_text() {
    let s = recorded("sort");
    let out = playback(
        &s,
        &[
            "--at",
            "pass_done",
            "--show",
            "values",
            "--as",
            "bars",
            "--show",
            "swaps",
            "--as",
            "spark",
            "--show",
            "pass",
            "--as",
            "value",
        ],
    );
    let f = frames(&out.stdout());
    assert_eq!(f.len(), 11, "sort.c makes 11 passes:\n{out:?}");
    let first: Vec<&str> = f[0].lines().collect();
    assert!(first[0].ends_with("sort.c:16"), "{}", first[0]);
    assert_eq!(
        first[1],
        "values = {3, 11, 7, 1, 13, 9, 5, 15, 2, 12, 8, 14, 4, 10, 6, 16}"
    );
    // Ten rows of bars: 16 reaches the top row, 3 only the bottom ones.
    assert_eq!(first[2].trim_end(), "                ▃               █");
    assert_eq!(first[11].chars().nth(2), Some('█'));
    assert_eq!(first[12], "swaps: █  13");
    assert_eq!(first[13], "pass = 1");
    let last: Vec<&str> = f[10].lines().collect();
    assert_eq!(
        last[1],
        "values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}"
    );
    let spark = last[12].strip_prefix("swaps: ").unwrap();
    assert_eq!(spark.chars().count(), "▇▇▆▆▅▄▃▂▂▁▁  0".chars().count(), "{spark}");
    assert!(
        spark.starts_with('█') && spark.ends_with("▁  0"),
        "the swaps per pass fall to 0: {spark}"
    );
    assert_eq!(last[13], "pass = 11");
}

#[test]
fn a_region_s_address_can_be_an_expression() {
    let (s, grid) = life();
    let by_number = frames(&playback(&s, &["--at", "step", "--show", &grid, "--as", "grid"]).stdout());
    let by_name = frames(&playback(&s, &["--at", "step", "--show", "mem:&grid:256:16", "--as", "grid"]).stdout());
    let by_value = frames(&playback(&s, &["--at", "step", "--show", "grid"]).stdout());
    let picture = |f: &String| f.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(by_number.len(), 24);
    assert_eq!(
        by_number.iter().map(picture).collect::<Vec<_>>(),
        by_name.iter().map(picture).collect::<Vec<_>>()
    );
    assert_eq!(
        by_number.iter().map(picture).collect::<Vec<_>>(),
        by_value.iter().map(picture).collect::<Vec<_>>()
    );
}

#[test]
fn an_expression_that_cannot_be_read_is_shown_as_such() {
    let s = recorded("sort");
    let out = playback(
        &s,
        &[
            "--at",
            "pass_done",
            "--show",
            "no_such_variable",
            "--show",
            "values[2] * 10",
            "--max-frames",
            "1",
        ],
    );
    let f = frames(&out.stdout());
    let lines: Vec<&str> = f[0].lines().collect();
    assert_eq!(
        lines[1],
        "no_such_variable: <No symbol \"no_such_variable\" in current context.>"
    );
    assert_eq!(lines[2], "values[2] * 10 = 70");
    assert!(
        out.stderr().starts_with(
            "rback: `no_such_variable` could not be read in any frame: No symbol \"no_such_variable\" in current context.\n"
        ),
        "{out:?}"
    );
}
