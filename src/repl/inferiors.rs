//! The processes of a recording as gdb's inferiors: `info inferiors`,
//! `inferior N`, and `set follow-fork-mode parent|child`.
//!
//! The session follows one process at a time (its timeline replays that
//! one, see `recorder::replay::Follow`). Switching to another reopens the
//! session on it and goes to the same moment of the recording, or to the
//! process's first moment if it did not exist yet. Breakpoints and
//! watchpoints go along, as gdb's apply to every inferior.

use anyhow::{bail, Result};
use recorder::process::{Process, ProcessTree};
use recorder::EventIdx;

use super::Repl;
use crate::session::Session;

/// What `continue` does when the followed process makes a child process:
/// stay with the parent (gdb's default) or go on in the child.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FollowFork {
    #[default]
    Parent,
    Child,
}

impl Repl {
    fn process_tree(&self) -> ProcessTree {
        ProcessTree::of(self.session.timeline.log())
    }

    pub(super) fn info_inferiors(&self) -> Result<()> {
        let tree = self.process_tree();
        let followed = self.session.timeline.followed_process();
        println!("  Num  Description       Executable        ");
        for (i, p) in tree.processes.iter().enumerate() {
            let mark = if p.pid == followed { '*' } else { ' ' };
            let description = format!("process {}", p.pid);
            println!("{mark} {:<4} {description:<17} {} ", i + 1, p.exe_path);
        }
        Ok(())
    }

    pub(super) fn cmd_inferior(&mut self, args: &str) -> Result<()> {
        let tree = self.process_tree();
        let followed = self.session.timeline.followed_process();
        if args.is_empty() {
            let (n, p) = numbered(&tree, followed)?;
            println!("[Current inferior is {n} [process {}] ({})]", p.pid, p.exe_path);
            return Ok(());
        }
        let Ok(n) = args.parse::<usize>() else {
            bail!("Invalid inferior number \"{args}\" (see \"info inferiors\")");
        };
        let Some(p) = n.checked_sub(1).and_then(|i| tree.processes.get(i)) else {
            bail!("Inferior ID {n} not known.");
        };
        println!("[Switching to inferior {n} [process {}] ({})]", p.pid, p.exe_path);
        let here = self.session.timeline.position().event;
        self.follow_process(p, here)?;
        print!("{}", self.session.describe_here(true));
        Ok(())
    }

    pub(super) fn set_follow_fork_mode(&mut self, mode: &str) -> Result<()> {
        self.follow_fork = match mode {
            "parent" => FollowFork::Parent,
            "child" => FollowFork::Child,
            _ => bail!("Requires an argument. Valid arguments are child, parent."),
        };
        Ok(())
    }

    /// With `follow-fork-mode child`: if the followed process made a child
    /// process between events `from` and here, the session follows the
    /// first such child from its first moment, and says so as gdb does.
    /// Returns whether it did.
    pub(super) fn follow_forked_child(&mut self, from: EventIdx) -> Result<bool> {
        if self.follow_fork != FollowFork::Child {
            return Ok(false);
        }
        let to = self.session.timeline.position().event;
        let parent = self.session.timeline.followed_process();
        let tree = self.process_tree();
        let Some(child) = tree
            .processes
            .iter()
            .find(|p| p.parent == Some(parent) && from <= p.born_at && p.born_at < to)
        else {
            return Ok(false);
        };
        println!("[Attaching after process {parent} fork to child process {}]", child.pid);
        self.follow_process(child, child.born_at)?;
        Ok(true)
    }

    /// Reopens the session on process `p`, at event `at` if it exists
    /// then, else at its first moment, keeping the user's breakpoints.
    fn follow_process(&mut self, p: &Process, at: EventIdx) -> Result<()> {
        if self.session.timeline.live_recording().is_some() {
            bail!("Switching processes is not supported while the program is being recorded (rback run); replay the trace once it is done.");
        }
        let policy = self.session.timeline.policy();
        let mut session = Session::open_process(&self.session.trace_dir, policy, Some(p.pid))?;
        session.adopt_breakpoints(&mut self.session);
        // Its first moment is the interval after the fork that made it
        // (where a new session on it starts); a moment after its end is
        // its last.
        let previous = std::mem::replace(&mut self.session, session);
        if at > p.born_at && self.goto_event(at).is_err() {
            if let Err(e) = self.cmd_goto("end") {
                let mut previous = previous;
                previous.adopt_breakpoints(&mut self.session);
                self.session = previous;
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The inferior number of process `pid` and the process.
fn numbered(tree: &ProcessTree, pid: i32) -> Result<(usize, &Process)> {
    match tree.processes.iter().position(|p| p.pid == pid) {
        Some(i) => Ok((i + 1, &tree.processes[i])),
        None => bail!("The followed process {pid} is not in the recording's process tree."),
    }
}
