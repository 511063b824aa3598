//! The terminal player: plays the frames as an animation and takes keys.
//!
//! Every frame it puts on screen is re-materialized first: the player asks
//! for the frame's recorded position again (going back restores a
//! checkpoint and replays), samples it and draws that. The frame sampled on
//! the first pass is only the reference it is checked against, so a
//! mismatch is shown instead of hidden.
//!
//! Raw mode and key polling use termios and poll(2) through `nix`, which
//! rback already depends on, rather than a terminal library.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, SetArg, Termios};

use super::model::{Frame, Show};
use super::render::render;

const MIN_FPS: f64 = 0.25;
const MAX_FPS: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Pause,
    Forward,
    Back,
    Reverse,
    Faster,
    Slower,
    Quit,
}

/// The keys in a chunk of terminal input, in order.
fn keys(bytes: &[u8]) -> Vec<Key> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let key = match bytes[i] {
            b'\x1b' if bytes.get(i + 1) == Some(&b'[') && i + 2 < bytes.len() => {
                i += 2;
                match bytes[i] {
                    b'C' => Some(Key::Forward),
                    b'D' => Some(Key::Back),
                    _ => None,
                }
            }
            b' ' | b'p' => Some(Key::Pause),
            b'l' | b'.' => Some(Key::Forward),
            b'h' | b',' => Some(Key::Back),
            b'r' => Some(Key::Reverse),
            b'+' | b'=' => Some(Key::Faster),
            b'-' | b'_' => Some(Key::Slower),
            // Ctrl-C and Ctrl-D arrive as bytes in raw mode.
            b'q' | b'Q' | 3 | 4 | b'\x1b' => Some(Key::Quit),
            _ => None,
        };
        out.extend(key);
        i += 1;
    }
    out
}

/// Puts the terminal back the way it was, however the player ends.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).context("cannot read the terminal's settings")?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).context("cannot put the terminal in raw mode")?;
        // Hide the cursor while frames are drawn.
        print!("\x1b[?25l");
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        print!("\x1b[0m\x1b[?25h\r\n");
        let _ = std::io::stdout().flush();
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Waits up to `timeout` (forever if `None`) for keys.
fn read_keys(timeout: Option<Duration>) -> Result<Vec<Key>> {
    let stdin = std::io::stdin();
    let timeout = match timeout {
        None => PollTimeout::NONE,
        Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
    };
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(Vec::new()),
        Ok(_) => {}
        Err(e) => return Err(e).context("cannot wait for keys"),
    }
    let mut buf = [0u8; 64];
    let n = nix::unistd::read(stdin.as_raw_fd(), &mut buf).context("cannot read keys")?;
    if n == 0 {
        // The terminal is gone: nothing more will come.
        return Ok(vec![Key::Quit]);
    }
    Ok(keys(&buf[..n]))
}

pub struct PlayerOptions {
    pub fps: f64,
    /// Start at the last frame and play backward.
    pub reverse: bool,
    pub paused: bool,
    /// Turn back at the last frame instead of stopping there.
    pub rewind: bool,
}

/// Plays `frames` (recording order) until the user quits.
/// `materialize` goes back to a frame's position and samples it anew.
pub fn play(
    frames: &[Frame],
    shows: &[Show],
    opts: &PlayerOptions,
    materialize: &mut dyn FnMut(&Frame) -> Result<Frame>,
) -> Result<()> {
    let _raw = RawMode::enter()?;
    let last = frames.len() - 1;
    let mut fps = opts.fps;
    let mut backward = opts.reverse;
    let mut playing = !opts.paused;
    let mut i = if backward { last } else { 0 };
    let mut shown = frames.to_vec();
    let mut queue = VecDeque::new();
    loop {
        let fresh = materialize(&frames[i])?;
        let differs = fresh != frames[i];
        shown[i] = fresh;
        let mut screen = String::from("\x1b[H\x1b[2J");
        screen.push_str(&render(&shown, i, shows).ansi());
        if differs {
            screen.push_str("\x1b[0;31mthis frame differs from the one sampled on the first pass\x1b[0m\r\n");
        }
        screen.push_str(&format!(
            "\x1b[0;90m{} {} fps {fps:.2}  frame {}/{}   space pause  \u{2190}/\u{2192} step  r reverse  +/- speed  q quit\x1b[0m\r\n",
            if playing { "playing" } else { "paused " },
            if backward { "\u{25c0}" } else { "\u{25b6}" },
            i + 1,
            frames.len()
        ));
        print!("{screen}");
        std::io::stdout().flush()?;

        let shown_at = Instant::now();
        let period = Duration::from_secs_f64(1.0 / fps);
        // Keys that came together are still taken one at a time, each
        // followed by a redraw, so that stepping three times shows three
        // frames.
        let key = loop {
            if let Some(key) = queue.pop_front() {
                break Some(key);
            }
            let timeout = playing.then(|| period.saturating_sub(shown_at.elapsed()));
            queue.extend(read_keys(timeout)?);
            if queue.is_empty() && playing && shown_at.elapsed() >= period {
                break None;
            }
        };
        match key {
            // Time for the next frame; at either end, stop there.
            None => match (backward, i) {
                (true, 0) => playing = false,
                (true, _) => i -= 1,
                (false, _) if i == last && opts.rewind && last > 0 => {
                    backward = true;
                    i -= 1;
                }
                (false, _) if i == last => playing = false,
                (false, _) => i += 1,
            },
            Some(Key::Quit) => return Ok(()),
            Some(Key::Pause) => playing = !playing,
            Some(Key::Forward) => {
                playing = false;
                i = (i + 1).min(last);
            }
            Some(Key::Back) => {
                playing = false;
                i = i.saturating_sub(1);
            }
            Some(Key::Reverse) => {
                backward = !backward;
                playing = true;
            }
            Some(Key::Faster) => fps = (fps * 1.5).min(MAX_FPS),
            Some(Key::Slower) => fps = (fps / 1.5).max(MIN_FPS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_arrow_sequences() {
        assert_eq!(
            keys(b" \x1b[C\x1b[Dr+-q"),
            [
                Key::Pause,
                Key::Forward,
                Key::Back,
                Key::Reverse,
                Key::Faster,
                Key::Slower,
                Key::Quit
            ]
        );
        assert_eq!(keys(b"\x1b"), [Key::Quit]);
        assert_eq!(keys(b"x\x1b[A"), []);
    }
}
