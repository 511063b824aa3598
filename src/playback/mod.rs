//! `rback playback`: a value or a block of memory played forward and
//! backward through a recording like a film.
//!
//! Each time execution reaches `--at`, every `--show` is sampled into a
//! [`Frame`](model::Frame) that remembers its exact position in the
//! recording. The frames are then drawn ([`render`]) and played in a
//! terminal ([`player`]), printed one after another, or written as an
//! asciicast ([`cast`]) or an animated GIF ([`gif_out`]).

mod cast;
mod collect;
mod gif_out;
mod model;
mod player;
mod render;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use recorder::EventIdx;

use crate::session::Session;
use collect::{Range, Sampler};
use model::{At, Frame, Show, Style};
use render::{render, Canvas};

/// Frames per second when `--fps` is not given.
pub const DEFAULT_FPS: f64 = 4.0;
/// Frames sampled at most when `--max-frames` is not given: enough for any
/// demo, few enough that a breakpoint in a hot loop does not run for ages.
pub const DEFAULT_MAX_FRAMES: usize = 1000;

pub struct Options {
    pub trace_dir: PathBuf,
    pub at: String,
    pub shows: Vec<String>,
    /// `--as`: none, one for all shows, or one per show.
    pub styles: Vec<String>,
    pub fps: f64,
    pub reverse: bool,
    pub rewind: bool,
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub max_frames: usize,
    pub cast: Option<PathBuf>,
    pub gif: Option<PathBuf>,
    pub paused: bool,
}

/// Checks the options before anything is replayed, so that a typo costs
/// nothing.
fn parse(opts: &Options) -> Result<(At, Vec<Show>, Range)> {
    if !(opts.fps.is_finite() && opts.fps > 0.0 && opts.fps <= 60.0) {
        bail!("--fps must be more than 0 and at most 60");
    }
    if opts.shows.is_empty() {
        bail!("nothing to show: give at least one --show EXPR");
    }
    if opts.max_frames == 0 {
        bail!("--max-frames must be at least 1");
    }
    if opts.reverse && opts.rewind {
        bail!("--reverse and --rewind do not go together: --rewind already plays backward after forward");
    }
    let styles: Vec<Style> = opts.styles.iter().map(|s| Style::parse(s)).collect::<Result<_>>()?;
    let style_of = |i: usize| match styles.len() {
        0 => Ok(Style::Auto),
        1 => Ok(styles[0]),
        n if n == opts.shows.len() => Ok(styles[i]),
        n => bail!(
            "{n} --as styles for {} --show expressions: give one style for all, or one per --show",
            opts.shows.len()
        ),
    };
    let shows = opts
        .shows
        .iter()
        .enumerate()
        .map(|(i, s)| Show::parse(s, style_of(i)?))
        .collect::<Result<Vec<_>>>()?;
    if let (Some(f), Some(t)) = (opts.from, opts.to) {
        if f > t {
            bail!("--from {f} is after --to {t}");
        }
    }
    if opts.from == Some(0) || opts.to == Some(0) {
        bail!("events count from 1");
    }
    let range = Range {
        from: opts.from.map(EventIdx),
        to: opts.to.map(EventIdx),
        max_frames: opts.max_frames,
    };
    Ok((At::parse(&opts.at)?, shows, range))
}

pub fn run(opts: &Options) -> Result<()> {
    let (at, shows, range) = parse(opts)?;
    let mut session = Session::open(&opts.trace_dir)?;
    let mut sampler = Sampler {
        session: &mut session,
        shows: &shows,
    };
    let collected = if opts.reverse {
        collect::backward(&mut sampler, &at, range)?
    } else {
        collect::forward(&mut sampler, &at, range)?
    };
    let frames = collected.frames;
    if frames.is_empty() {
        bail!("the program never reached `{}`{}", opts.at, range_note(opts));
    }
    // A typo in an expression should not pass for a film of errors.
    for (k, show) in shows.iter().enumerate() {
        if let Some(model::Sample::Unavailable(why)) = frames[0].samples.get(k) {
            if frames
                .iter()
                .all(|f| matches!(f.samples[k], model::Sample::Unavailable(_)))
            {
                eprintln!("rback: `{}` could not be read in any frame: {why}", show.label);
            }
        }
    }
    if collected.truncated {
        eprintln!(
            "rback: stopped sampling after {} frames (--max-frames); these are the {} ones",
            frames.len(),
            if opts.reverse { "last" } else { "first" },
        );
    }

    // Play order, as indices into `frames` (which is in recording order).
    let forward: Vec<usize> = (0..frames.len()).collect();
    let order: Vec<usize> = if opts.reverse {
        forward.iter().rev().copied().collect()
    } else if opts.rewind {
        forward
            .iter()
            .copied()
            .chain(forward.iter().rev().skip(1).copied())
            .collect()
    } else {
        forward
    };

    let files = opts.cast.is_some() || opts.gif.is_some();
    // The player needs a terminal both ways: to draw and to read keys.
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() && !files {
        let player = player::PlayerOptions {
            fps: opts.fps,
            reverse: opts.reverse,
            paused: opts.paused,
            rewind: opts.rewind,
        };
        return player::play(&frames, &shows, &player, &mut |f| sampler.materialize(f.position));
    }

    // Every frame played backward is re-materialized: the rewind shows the
    // state the recording really had there, and must match the first pass.
    let mut played: Vec<Canvas> = Vec::with_capacity(order.len());
    let mut out = std::io::stdout().lock();
    for (n, &i) in order.iter().enumerate() {
        let rewinding = n >= frames.len();
        let canvas = if rewinding {
            let fresh = sampler.materialize(frames[i].position)?;
            check_same(&frames[i], &fresh, i)?;
            let mut view = frames.clone();
            view[i] = fresh;
            render(&view, i, &shows)
        } else {
            render(&frames, i, &shows)
        };
        if !files {
            let marker = if n == frames.len() { "-- rewinding --\n\n" } else { "" };
            match writeln!(out, "{marker}{}", canvas.plain()) {
                // Whoever read the frames (`| head`) has seen enough.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
        }
        played.push(canvas);
    }
    drop(out);
    let title = format!("rback playback --at {} --show {}", opts.at, opts.shows.join(" --show "));
    if let Some(path) = &opts.cast {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        std::fs::write(path, cast::asciicast(&played, opts.fps, &title, now))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("rback: wrote {} frames to {}", played.len(), path.display());
    }
    if let Some(path) = &opts.gif {
        let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        gif_out::write_gif(std::io::BufWriter::new(file), &played, opts.fps)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("rback: wrote {} frames to {}", played.len(), path.display());
    }
    Ok(())
}

fn check_same(first: &Frame, again: &Frame, i: usize) -> Result<()> {
    if first != again {
        bail!(
            "frame {} (event {}) came out different when replayed again: {:?} then {:?}",
            i + 1,
            first.event,
            first.samples,
            again.samples
        );
    }
    Ok(())
}

fn range_note(opts: &Options) -> String {
    match (opts.from, opts.to) {
        (None, None) => String::new(),
        (Some(f), None) => format!(" from event {f} on"),
        (None, Some(t)) => format!(" up to event {t}"),
        (Some(f), Some(t)) => format!(" between events {f} and {t}"),
    }
}
