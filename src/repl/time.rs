//! Commands about time itself: `when`, `checkpoint`, `info checkpoints`,
//! `timeline`.

use anyhow::{bail, Result};

use recorder::timeline::{Point, Position};

use super::Repl;

/// The width of `timeline`'s bar, in characters.
const BAR: usize = 60;

impl Repl {
    pub(super) fn cmd_when(&mut self) -> Result<()> {
        let p = self.session.timeline.position();
        println!("Current event: {}", p.event);
        println!("Position: {}", describe_position(p));
        Ok(())
    }

    pub(super) fn cmd_checkpoint(&mut self, args: &str) -> Result<()> {
        let name = (!args.is_empty()).then(|| args.to_string());
        if let Some(n) = &name {
            if n.parse::<usize>().is_ok() {
                bail!("a checkpoint name cannot be a number (restart takes numbers as ids)");
            }
            if self
                .session
                .timeline
                .checkpoints()
                .iter()
                .any(|c| c.name.as_deref() == Some(n))
            {
                bail!("there is already a checkpoint named \"{n}\"");
            }
        }
        let id = self.session.timeline.checkpoint(name.clone())?;
        let place = self.place();
        let label = name.map(|n| format!(" \"{n}\"")).unwrap_or_default();
        println!(
            "Checkpoint {id}{label} at event {}, {place}",
            self.session.timeline.position().event
        );
        self.checkpoint_places.insert(id, place);
        Ok(())
    }

    pub(super) fn info_checkpoints(&self) -> Result<()> {
        let here = self.session.timeline.position();
        println!("  Id  Name        Event  Where");
        for c in self.session.timeline.checkpoints() {
            let mark = if c.position == here { '*' } else { ' ' };
            let place = match self.checkpoint_places.get(&c.id) {
                Some(p) => p.clone(),
                None => format!("automatic, {}", describe_position(c.position)),
            };
            println!(
                "{mark} {:<3} {:<11} {:<6} {place}",
                c.id,
                c.name.as_deref().unwrap_or("-"),
                c.position.event.0
            );
        }
        Ok(())
    }

    pub(super) fn cmd_timeline(&mut self) -> Result<()> {
        let events = self.session.timeline.events().0.max(1);
        let here = self.session.timeline.position();
        let column = |e: u64| {
            ((e.saturating_sub(1) as usize) * (BAR - 1) / (events.saturating_sub(1).max(1) as usize)).min(BAR - 1)
        };
        let mut bar = vec!['-'; BAR];
        for c in self.session.timeline.checkpoints() {
            bar[column(c.position.event.0)] = 'C';
        }
        bar[column(here.event.0)] = '*';
        let bar: String = bar.into_iter().collect();
        println!("event 1 |{bar}| event {events}");
        println!("now: event {} ({})", here.event, describe_position(here));
        println!("* = you are here, C = checkpoint");
        Ok(())
    }
}

/// A position in words.
pub fn describe_position(p: Position) -> String {
    let prev = p.event.0.saturating_sub(1);
    match p.point {
        Point::Start { steps: 0 } => format!("just after event {prev}"),
        Point::Start { steps } => format!("{steps} instructions after event {prev}"),
        Point::Arrival { addr, nth, steps: 0 } => format!("arrival {nth} at {addr} after event {prev}"),
        Point::Arrival { addr, nth, steps } => {
            format!("{steps} instructions past arrival {nth} at {addr} after event {prev}")
        }
        Point::Trigger { watch, nth, steps } => {
            let past = if steps > 0 {
                format!("{steps} instructions past ")
            } else {
                String::new()
            };
            format!("{past}access {nth} to {} after event {prev}", watch.addr)
        }
        Point::Before {
            addr,
            back,
            until,
            until_nth,
            steps,
        } => {
            let past = if steps > 0 {
                format!("{steps} instructions past ")
            } else {
                String::new()
            };
            let which = match back {
                1 => "the last arrival".to_string(),
                n => format!("the last arrival but {}", n - 1),
            };
            format!("{past}{which} at {addr} before arrival {until_nth} at {until} after event {prev}")
        }
        Point::End => format!("just before event {}", p.event),
    }
}
