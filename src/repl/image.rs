//! Checkpoint images from the REPL: `checkpoint save FILE` writes the
//! program here to a file that `rback restart` runs; `branch` runs the
//! program for real from here, with whatever was changed by hand (`set
//! var`, `set $rax`), and comes back to the same place in the recording.

use std::io::Write;

use anyhow::{bail, Result};

use recorder::image::Unopenable;

use super::Repl;

impl Repl {
    /// `checkpoint [NAME]`, or `checkpoint save [--bundle] FILE`.
    pub(super) fn cmd_checkpoint_or_save(&mut self, args: &str) -> Result<()> {
        match args.split_once(char::is_whitespace) {
            Some(("save", rest)) if !rest.trim().is_empty() => {
                let (bundle, file) = match rest.trim().strip_prefix("--bundle") {
                    Some(file) if file.starts_with(char::is_whitespace) => (true, file.trim()),
                    _ => (false, rest.trim()),
                };
                let file = std::path::Path::new(file);
                crate::image::save(&self.session.timeline, &self.session.trace_dir, file, bundle)?;
                Ok(())
            }
            _ if args == "save" => bail!("usage: checkpoint save [--bundle] FILE"),
            _ => self.cmd_checkpoint(args),
        }
    }

    /// `branch [--close] [--record]`: a descriptor that cannot be reopened
    /// becomes /dev/null, or with `--close` is closed; with `--record` the
    /// branch is recorded, as a trace of its own.
    pub(super) fn cmd_branch(&mut self, args: &str) -> Result<()> {
        let mut how = Unopenable::DevNull;
        let mut record = false;
        for word in args.split_whitespace() {
            match word {
                "--close" => how = Unopenable::Close,
                "--record" => record = true,
                other => bail!("branch takes no argument but --close and --record, not `{other}`"),
            }
        }
        let event = self.session.timeline.position().event;
        let recorded = if record { ", recorded" } else { "" };
        println!("Branching at event {event}: the program runs for real from here{recorded}.");
        std::io::stdout().flush()?;
        let (status, trace) = crate::image::branch(&self.session.timeline, &self.session.trace_dir, how, record)?;
        match trace {
            Some(trace) => println!(
                "[The branch {status}; it is recorded in {}; the recording is still at event {event}]",
                trace.display()
            ),
            None => println!("[The branch {status}; the recording is still at event {event}]"),
        }
        Ok(())
    }
}
