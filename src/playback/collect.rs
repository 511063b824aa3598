//! Sampling frames from a recording: moving the timeline to each place
//! `--at` names, forward with `cont` or backward with `reverse_cont`, and
//! reading every `--show` there.

use anyhow::{bail, Result};
use recorder::timeline::{Position, StopReason, Timeline};
use recorder::{EventIdx, RemoteAddr};

use super::model::{At, Frame, Sample, Show, Style, Subject, MAX_REGION};
use crate::session::{file_and_line, parse_address, Session};
use debuginfo::Value;

/// The part of the recording to sample (`--from`, `--to`, `--max-frames`).
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub from: Option<EventIdx>,
    pub to: Option<EventIdx>,
    pub max_frames: usize,
}

impl Range {
    fn contains(&self, event: EventIdx) -> bool {
        self.from.is_none_or(|f| event >= f) && self.to.is_none_or(|t| event <= t)
    }
}

/// What a collection found.
pub struct Collected {
    /// In recording order, whichever way they were collected.
    pub frames: Vec<Frame>,
    /// Whether `--max-frames` cut the collection short.
    pub truncated: bool,
}

pub struct Sampler<'a> {
    pub session: &'a mut Session,
    pub shows: &'a [Show],
}

impl Sampler<'_> {
    /// Samples every show where the timeline stands.
    pub fn sample_here(&mut self) -> Result<Frame> {
        self.session.refresh()?;
        let position = self.session.timeline.position();
        let pc = self.session.timeline.regs()?.rip;
        let location = match self.session.debug.symbolize(pc) {
            Some(loc) if loc.line.is_some() => file_and_line(&loc),
            Some(loc) => loc.symbol_with_offset().unwrap_or_else(|| format!("{pc:#x}")),
            None => format!("{pc:#x}"),
        };
        let samples = self.shows.iter().map(|s| self.sample(s)).collect();
        Ok(Frame {
            position,
            event: position.event,
            location,
            samples,
        })
    }

    /// Goes back (or forward) to a frame's position and samples it again.
    pub fn materialize(&mut self, position: Position) -> Result<Frame> {
        self.session.timeline.goto_position(position)?;
        self.sample_here()
    }

    fn sample(&self, show: &Show) -> Sample {
        match &show.subject {
            Subject::Memory { addr, len, width } => match self.address(addr) {
                Ok(a) => self.bytes(a, *len, *width),
                Err(why) => Sample::Unavailable(why),
            },
            Subject::Expr(expr) => match self.evaluate(expr) {
                Ok(value) => self.classify(&value, show.style),
                Err(why) => Sample::Unavailable(why),
            },
        }
    }

    fn bytes(&self, addr: u64, len: usize, width: usize) -> Sample {
        match self.session.timeline.read_memory(RemoteAddr(addr), len) {
            Ok(bytes) => Sample::Bytes { addr, bytes, width },
            Err(_) => Sample::Unavailable(format!("cannot read {len} bytes at {addr:#x}")),
        }
    }

    /// Evaluates `expr` in the innermost frame, as `print` would.
    fn evaluate(&self, expr: &str) -> Result<Value, String> {
        let frames = self.session.backtrace(1).map_err(|e| format!("{e:#}"))?;
        let frame = frames.first().ok_or_else(|| "no frame here".to_string())?;
        self.session
            .in_scope(frame, |scope| self.session.debug.evaluate(expr, scope))
    }

    /// What a value can be drawn as: arrays of arrays of numbers are grids,
    /// arrays of numbers rows, numbers numbers; anything else is text.
    fn classify(&self, value: &Value, style: Style) -> Sample {
        if style == Style::Hex {
            let Some(addr) = value.address() else {
                return Sample::Unavailable("not in memory, so no bytes to dump".into());
            };
            let len = usize::try_from(value.byte_size())
                .unwrap_or(MAX_REGION)
                .clamp(1, MAX_REGION);
            return self.bytes(addr, len, 16);
        }
        let text = value.to_string();
        if let Some(elements) = value.elements() {
            let rows: Option<Vec<Vec<f64>>> = elements
                .iter()
                .map(|e| e.elements()?.iter().map(number).collect())
                .collect();
            if let Some(rows) = rows.filter(|r| !r.is_empty() && r.iter().all(|row| !row.is_empty())) {
                return Sample::Grid { text, rows };
            }
            if let Some(values) = elements.iter().map(number).collect::<Option<Vec<f64>>>() {
                return Sample::Row { text, values };
            }
            return Sample::Text(text);
        }
        match number(value) {
            Some(v) => Sample::Number { text, value: v },
            None => Sample::Text(text),
        }
    }

    /// A region's address: a number (hex with `0x`), or an expression: a
    /// pointer's or integer's value, or where an array or struct lives.
    fn address(&self, spec: &str) -> Result<u64, String> {
        if let Ok(addr) = parse_address(spec.trim()) {
            return Ok(addr);
        }
        let value = self.evaluate(spec)?;
        let addr = match value.elements() {
            Some(_) => value.address(),
            None => value.as_i64().map(|a| a as u64).or(value.address()),
        };
        addr.ok_or_else(|| format!("`{spec}` is not an address"))
    }
}

/// A number worth drawing. A pointer is a place, not a quantity.
fn number(v: &Value) -> Option<f64> {
    if v.type_name().ends_with('*') {
        return None;
    }
    v.as_f64()
}

/// Moves with `go` (a continue either way) and samples each breakpoint
/// hit inside `range`, until the recording's end, a hit outside the range
/// or the frame limit; returns whether the limit cut it short.
fn sample_hits(
    sampler: &mut Sampler,
    range: Range,
    frames: &mut Vec<Frame>,
    go: fn(&mut Timeline) -> recorder::Result<StopReason>,
) -> Result<bool> {
    loop {
        match go(&mut sampler.session.timeline)? {
            StopReason::Breakpoint(_) => {
                let event = sampler.session.timeline.position().event;
                if !range.contains(event) {
                    return Ok(false);
                }
                if frames.len() == range.max_frames {
                    return Ok(true);
                }
                frames.push(sampler.sample_here()?);
            }
            StopReason::Signal(_) | StopReason::Exec => {}
            _ => return Ok(false),
        }
    }
}

/// Samples every place `at` names, going forward from the start (or `--from`).
pub fn forward(sampler: &mut Sampler, at: &At, range: Range) -> Result<Collected> {
    let mut frames = Vec::new();
    let mut truncated = false;
    match at {
        At::Events { first, last } => {
            let first = range.from.map_or(*first, |f| f.max(*first));
            let last = range.to.map_or(*last, |t| t.min(*last));
            for e in first.0..=last.0 {
                if frames.len() == range.max_frames {
                    truncated = true;
                    break;
                }
                sampler.session.timeline.goto_event(EventIdx(e))?;
                frames.push(sampler.sample_here()?);
            }
        }
        At::Location(spec) => {
            let addrs = set_breakpoints(sampler, spec)?;
            if let Some(from) = range.from {
                sampler.session.timeline.goto_event(from)?;
            }
            truncated = sample_hits(sampler, range, &mut frames, Timeline::cont)?;
            remove_breakpoints(sampler, &addrs);
        }
    }
    Ok(Collected { frames, truncated })
}

/// Samples every place `at` names going backward from the end (or `--to`):
/// each frame is found by `reverse_cont`, so it is the true state there,
/// reached by restoring a checkpoint and replaying.
pub fn backward(sampler: &mut Sampler, at: &At, range: Range) -> Result<Collected> {
    let mut frames = Vec::new();
    let mut truncated = false;
    match at {
        At::Events { first, last } => {
            let first = range.from.map_or(*first, |f| f.max(*first));
            let last = range.to.map_or(*last, |t| t.min(*last));
            for e in (first.0..=last.0).rev() {
                if frames.len() == range.max_frames {
                    truncated = true;
                    break;
                }
                sampler.session.timeline.goto_event(EventIdx(e))?;
                frames.push(sampler.sample_here()?);
            }
        }
        At::Location(spec) => {
            let addrs = set_breakpoints(sampler, spec)?;
            go_to_end(sampler, &addrs, range.to)?;
            truncated = sample_hits(sampler, range, &mut frames, Timeline::reverse_cont)?;
            remove_breakpoints(sampler, &addrs);
        }
    }
    frames.reverse();
    Ok(Collected { frames, truncated })
}

fn set_breakpoints(sampler: &mut Sampler, spec: &str) -> Result<Vec<RemoteAddr>> {
    let addrs = sampler.session.resolve_location(spec)?;
    if addrs.is_empty() {
        bail!("`{spec}` has no code to stop at");
    }
    for &a in &addrs {
        sampler.session.timeline.set_breakpoint(a);
    }
    Ok(addrs)
}

fn remove_breakpoints(sampler: &mut Sampler, addrs: &[RemoteAddr]) {
    for &a in addrs {
        sampler.session.timeline.remove_breakpoint(a);
    }
}

/// Moves to just after `to` (or the end of the recording) with the
/// breakpoints out of the way, so that going there costs no stops.
fn go_to_end(sampler: &mut Sampler, addrs: &[RemoteAddr], to: Option<EventIdx>) -> Result<()> {
    let timeline = &mut sampler.session.timeline;
    if let Some(to) = to {
        if timeline.goto_event(EventIdx(to.0 + 1)).is_ok() {
            return Ok(());
        }
    }
    remove_breakpoints(sampler, addrs);
    let timeline = &mut sampler.session.timeline;
    while let StopReason::Signal(_) | StopReason::Exec = timeline.cont()? {}
    for &a in addrs {
        timeline.set_breakpoint(a);
    }
    Ok(())
}
