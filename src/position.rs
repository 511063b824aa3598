//! Positions in a recording as users write them: the REPL's `goto` and
//! `rback checkpoint --at` take the same words, parsed here once
//! ([`GotoTarget`]).

use std::str::FromStr;

use anyhow::Result;

use recorder::timeline::{StopReason, Timeline};
use recorder::EventIdx;

/// What `goto` and `--at` accept, for usage lines.
pub const GOTO_USAGE: &str = "EVENT|start|end";

/// A place to go to in a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GotoTarget {
    /// The start of event N's interval: just after event N - 1.
    Event(EventIdx),
    /// The program's start: the start of event 1's interval.
    Start,
    /// The recording's last stop: just before the event that ends the
    /// program, reached by running forward with no breakpoints.
    End,
}

impl FromStr for GotoTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<GotoTarget, String> {
        match text {
            "start" => Ok(GotoTarget::Start),
            "end" => Ok(GotoTarget::End),
            n => n
                .parse()
                .map(|n| GotoTarget::Event(EventIdx(n)))
                .map_err(|_| format!("invalid event \"{n}\": expected a number, start or end")),
        }
    }
}

impl GotoTarget {
    /// Moves a timeline that no front end drives (no breakpoints, no
    /// symbols to reload at an exec) to this target. The REPL moves
    /// through its own primitives instead, which keep its state in step.
    pub fn go(self, timeline: &mut Timeline) -> Result<StopReason> {
        Ok(match self {
            GotoTarget::Event(n) => timeline.goto_event(n)?,
            GotoTarget::Start => timeline.goto_event(EventIdx(1))?,
            GotoTarget::End => loop {
                match timeline.cont()? {
                    StopReason::Signal(_) | StopReason::Exec => continue,
                    _ => break StopReason::Arrived,
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_start_and_end_parse_and_nothing_else_does() {
        assert_eq!("42".parse(), Ok(GotoTarget::Event(EventIdx(42))));
        assert_eq!("start".parse(), Ok(GotoTarget::Start));
        assert_eq!("end".parse(), Ok(GotoTarget::End));
        for bad in ["", "-1", "4x", "END", "last"] {
            let e = bad.parse::<GotoTarget>().unwrap_err();
            assert!(e.contains("expected a number, start or end"), "{bad}: {e}");
        }
    }
}
