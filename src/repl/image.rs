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

    /// `branch [--close]`: a descriptor that cannot be reopened becomes
    /// /dev/null, or with `--close` is closed.
    pub(super) fn cmd_branch(&mut self, args: &str) -> Result<()> {
        let how = match args.trim() {
            "" => Unopenable::DevNull,
            "--close" => Unopenable::Close,
            other => bail!("branch takes no argument but --close, not `{other}`"),
        };
        let event = self.session.timeline.position().event;
        println!("Branching at event {event}: the program runs for real from here.");
        std::io::stdout().flush()?;
        let status = crate::image::branch(&self.session.timeline, &self.session.trace_dir, how)?;
        println!("[The branch {status}; the recording is still at event {event}]");
        Ok(())
    }
}
