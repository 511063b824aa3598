//! What a playback shows: the `--show` subjects as the user wrote them, how
//! each is drawn, and the frames sampled from the recording.

use std::fmt;

use anyhow::{bail, Context, Result};
use recorder::timeline::Position;
use recorder::EventIdx;

/// How one `--show` is drawn (`--as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A picture for a 2-D array, hex for a memory region, text otherwise.
    Auto,
    /// The value printed as the REPL's `print` would.
    Value,
    /// A 2-D array (or a memory region cut into rows) as a picture.
    Grid,
    /// A 1-D numeric array as vertical bars.
    Bars,
    /// A number as a sparkline over time; a 1-D array as a sparkline of
    /// its elements.
    Spark,
    /// The bytes, as a hex dump.
    Hex,
}

impl Style {
    pub fn parse(s: &str) -> Result<Style> {
        Ok(match s {
            "auto" => Style::Auto,
            "value" => Style::Value,
            "grid" => Style::Grid,
            "bars" => Style::Bars,
            "spark" => Style::Spark,
            "hex" => Style::Hex,
            _ => bail!("unknown style `{s}` for --as (use grid, bars, spark, hex or value)"),
        })
    }
}

/// What a `--show` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A source expression, evaluated in the innermost frame.
    Expr(String),
    /// `mem:ADDR:LEN[:WIDTH]`: raw bytes at an address (a number, or an
    /// expression whose value is one), `WIDTH` bytes to a row.
    Memory { addr: String, len: usize, width: usize },
}

/// Raw regions are read in one piece; more than this is surely a typo.
pub const MAX_REGION: usize = 1 << 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Show {
    /// As the user wrote it, for the label.
    pub label: String,
    pub subject: Subject,
    pub style: Style,
}

impl Show {
    pub fn parse(spec: &str, style: Style) -> Result<Show> {
        let spec = spec.trim();
        if spec.is_empty() {
            bail!("--show needs an expression or mem:ADDR:LEN");
        }
        let subject = match spec.strip_prefix("mem:") {
            None => Subject::Expr(spec.to_string()),
            Some(rest) => {
                // The address may itself contain colons only in C++ names,
                // so the numbers are taken from the right.
                let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
                let (addr, len, width) = match parts.as_slice() {
                    [last, mid, first] => match (mid.parse::<usize>(), last.parse::<usize>()) {
                        (Ok(len), Ok(width)) => (first.to_string(), len, width),
                        _ => (format!("{first}:{mid}"), parse_len(last, spec)?, 16),
                    },
                    [len, addr] => (addr.to_string(), parse_len(len, spec)?, 16),
                    _ => bail!("`{spec}`: a memory region is mem:ADDR:LEN or mem:ADDR:LEN:WIDTH"),
                };
                if addr.trim().is_empty() {
                    bail!("`{spec}`: a memory region needs an address");
                }
                if len == 0 || len > MAX_REGION {
                    bail!("`{spec}`: the length must be 1 to {MAX_REGION} bytes");
                }
                if width == 0 {
                    bail!("`{spec}`: the row width must be at least 1 byte");
                }
                Subject::Memory { addr, len, width }
            }
        };
        Ok(Show {
            label: spec.to_string(),
            subject,
            style,
        })
    }
}

fn parse_len(s: &str, spec: &str) -> Result<usize> {
    s.parse()
        .with_context(|| format!("`{spec}`: the length `{s}` is not a number of bytes"))
}

/// Where `--at` samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// At each start of an interval in `first..=last`: after event N-1.
    Events { first: EventIdx, last: EventIdx },
    /// Each time execution reaches a location (FUNC, FILE:LINE, *ADDR).
    Location(String),
}

impl At {
    pub fn parse(spec: &str) -> Result<At> {
        let spec = spec.trim();
        if spec.is_empty() {
            bail!("--at needs FUNC, FILE:LINE or an event range A-B");
        }
        let range = spec.split_once("..").or_else(|| spec.split_once('-'));
        if let Some((a, b)) = range {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                if a == 0 || b < a {
                    bail!("event range `{spec}` is empty (events count from 1)");
                }
                return Ok(At::Events {
                    first: EventIdx(a),
                    last: EventIdx(b),
                });
            }
        }
        Ok(At::Location(spec.to_string()))
    }
}

/// One show's value in one frame. Two samples of the same state are equal,
/// which is what checking a re-materialized frame relies on.
#[derive(Clone, Debug, PartialEq)]
pub enum Sample {
    /// Shown as text only (a struct, a pointer, a string).
    Text(String),
    /// A number, which can also be drawn over time.
    Number { text: String, value: f64 },
    /// A 1-D array of numbers.
    Row { text: String, values: Vec<f64> },
    /// A 2-D array of numbers, row by row.
    Grid { text: String, rows: Vec<Vec<f64>> },
    /// Raw bytes read at `addr`.
    Bytes { addr: u64, bytes: Vec<u8>, width: usize },
    /// The show cannot be read here (out of scope, bad address): why.
    Unavailable(String),
}

impl Sample {
    pub fn number(&self) -> Option<f64> {
        match self {
            Sample::Number { value, .. } => Some(*value),
            _ => None,
        }
    }
}

/// One sampled moment of the recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Where it was sampled; going back to it replays to exactly here.
    pub position: Position,
    pub event: EventIdx,
    /// `file:line` (or `function+offset` without line information).
    pub location: String,
    /// One per `--show`, in order.
    pub samples: Vec<Sample>,
}

impl Frame {
    /// What a frame is headed by: its number (from 1), event and line.
    pub fn heading(&self, number: usize) -> String {
        format!("frame {number}  event {}  {}", self.event, self.location)
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Style::Auto => "auto",
            Style::Value => "value",
            Style::Grid => "grid",
            Style::Bars => "bars",
            Style::Spark => "spark",
            Style::Hex => "hex",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_regions_parse_with_and_without_width() {
        let s = Show::parse("mem:0x4010:64", Style::Auto).unwrap();
        assert_eq!(
            s.subject,
            Subject::Memory {
                addr: "0x4010".into(),
                len: 64,
                width: 16
            }
        );
        let s = Show::parse("mem:&grid:256:16", Style::Grid).unwrap();
        assert_eq!(
            s.subject,
            Subject::Memory {
                addr: "&grid".into(),
                len: 256,
                width: 16
            }
        );
        let s = Show::parse("mem:&ns::x:8", Style::Hex).unwrap();
        assert_eq!(
            s.subject,
            Subject::Memory {
                addr: "&ns::x".into(),
                len: 8,
                width: 16
            }
        );
    }

    #[test]
    fn bad_regions_are_refused() {
        for bad in [
            "mem:0x10",
            "mem::4",
            "mem:0x10:0",
            "mem:0x10:abc",
            "mem:0x10:4:0",
            "mem:0x10:999999",
            "",
        ] {
            assert!(Show::parse(bad, Style::Auto).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn event_ranges_and_locations() {
        assert_eq!(
            At::parse("3-10").unwrap(),
            At::Events {
                first: EventIdx(3),
                last: EventIdx(10)
            }
        );
        assert_eq!(
            At::parse("3..10").unwrap(),
            At::Events {
                first: EventIdx(3),
                last: EventIdx(10)
            }
        );
        assert!(At::parse("10-3").is_err());
        assert_eq!(At::parse("life.c:42").unwrap(), At::Location("life.c:42".into()));
        assert_eq!(At::parse("step").unwrap(), At::Location("step".into()));
        assert_eq!(At::parse("my-func").unwrap(), At::Location("my-func".into()));
    }

    #[test]
    fn styles_parse() {
        assert_eq!(Style::parse("grid").unwrap(), Style::Grid);
        assert!(Style::parse("pie").is_err());
    }
}
