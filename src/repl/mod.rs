//! The interactive time-travel debugger: `rback replay [TRACE]`.
//!
//! It reads commands with gdb's names and abbreviations, from the terminal
//! (rustyline: editing, persistent history, completion), from a script
//! (`-x FILE`) or from a non-terminal stdin, and runs them against a
//! [`Session`]. A command's failure is one line on stderr; the session goes on.
//!
//! - [`assign`]: `set var` and `set $REG`, changes by hand for `branch`.
//! - [`commands`]: the command table, lookup by abbreviation, `help`.
//! - [`movement`]: continue, step, next, finish and their reverse twins.
//! - [`examine`]: registers, memory, disassembly, source listings, frames.
//! - [`image`]: `checkpoint save FILE` and `branch` (checkpoint images).
//! - [`breakpoints`]: setting, listing, enabling and deleting breakpoints.
//! - [`text`]: printing what a script says: `echo`, `printf`, `output`.
//! - [`time`]: `when`, checkpoints, the `timeline` picture.
//! - [`values`]: expressions: `print`, `display`, conditions, locals, `watch`.
//! - [`watch`]: reporting watchpoint stops; watchpoints on locals end with their frame.
//! - [`complete`]: the rustyline helper for tab completion.
//! - [`progress`]: a spinner on a terminal while a movement runs long.
//!
//! Ctrl-C during a movement stops it (the timeline's `Interrupter`, and a
//! flag the REPL's own multi-step loops check).

mod assign;
mod breakpoints;
mod commands;
mod complete;
mod examine;
mod image;
mod inferiors;
mod movement;
mod progress;
mod text;
mod threads;
mod time;
mod values;
mod watch;

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::session::Session;

/// The prompt, as gdb's `(gdb) `.
const PROMPT: &str = "(rback) ";

/// The REPL's state on top of the session.
pub struct Repl {
    session: Session,
    /// The frame `frame N`/`up`/`down` selected (0: the innermost); back to
    /// 0 after every movement.
    selected_frame: usize,
    /// The last movement command, which an empty line repeats.
    last_movement: Option<String>,
    /// Where `list` with no argument continues: (file, next line to show).
    list_next: Option<(PathBuf, u32)>,
    /// The first line that listing showed (where `list -` ends).
    list_first: u32,
    /// `x`'s remembered format and unit size, and where it stopped.
    x_format: char,
    x_size: usize,
    x_next: Option<u64>,
    /// Where each checkpoint taken by hand was, for `info checkpoints`.
    checkpoint_places: HashMap<usize, String>,
    /// The type of each watchpoint's expression, by number, for printing
    /// its old and new values.
    watch_types: HashMap<usize, String>,
    /// The frame (see `frame_identity`) of each watchpoint on a local, by number.
    watch_scopes: HashMap<usize, (u64, Option<u64>)>,
    /// Inside `step N` and the like: no output for all but the last step.
    quiet_steps: bool,
    /// Inside `step N` and the like: how many steps are done, of how many.
    /// A Ctrl-C that lands inside a step says so too.
    repeating: Option<(u64, u64)>,
    /// gdb's value history: `$1`, `$2`, ...
    history: Vec<debuginfo::Value>,
    /// Expressions shown at every stop.
    displays: Vec<values::Display>,
    /// The spinner of the movement running, if it has one.
    spinner: Option<progress::Spinner>,
    /// `set follow-fork-mode`.
    follow_fork: inferiors::FollowFork,
    /// The thread of the last stop shown (see `announce_thread`).
    last_thread: Option<i32>,
    /// The breakpoint or watchpoint the last stop shown was at, and where
    /// (what `continue N` sets the ignore count of: gdb's stop bpstat).
    stop_breakpoint: Option<(usize, recorder::timeline::Position)>,
    /// Whether commands come from the terminal, where a question (gdb's
    /// "(y or n)") is asked; elsewhere it is answered yes, as gdb does.
    asks: bool,
    /// Set by `quit`.
    quit: bool,
    /// Whether the last command executed failed.
    last_failed: bool,
    /// Set by Ctrl-C: the REPL's own loops of many primitives check it
    /// between them (the timeline sees it inside one).
    interrupted: Arc<AtomicBool>,
}

/// Where the REPL's input comes from.
enum Input {
    Terminal(
        Box<rustyline::Editor<complete::Helper, rustyline::history::DefaultHistory>>,
        Option<PathBuf>,
    ),
    Lines(Box<dyn BufRead>),
}

/// How a REPL session ended, for rback's exit status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ended {
    Fine,
    /// Commands came from a script or a pipe, and the last one failed:
    /// like `gdb -batch`, rback then exits non-zero.
    LastCommandFailed,
}

/// Runs the REPL over a trace: `script` first (gdb's `-x`), then, unless
/// `batch`, commands from the terminal or stdin.
pub fn run(session: Session, script: Option<&Path>, batch: bool) -> Result<Ended> {
    let script_text = match script {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let mut repl = Repl {
        session,
        selected_frame: 0,
        last_movement: None,
        list_next: None,
        list_first: 1,
        x_format: 'x',
        x_size: 4,
        x_next: None,
        checkpoint_places: HashMap::new(),
        watch_types: HashMap::new(),
        history: Vec::new(),
        displays: Vec::new(),
        quiet_steps: false,
        watch_scopes: HashMap::new(),
        spinner: None,
        last_thread: None,
        stop_breakpoint: None,
        follow_fork: inferiors::FollowFork::default(),
        repeating: None,
        asks: false,
        quit: false,
        last_failed: false,
        interrupted: Arc::new(AtomicBool::new(false)),
    };
    catch_interrupts(repl.session.timeline.interrupter(), repl.interrupted.clone());
    repl.print_start();
    if let Some(text) = script_text {
        for line in text.lines() {
            repl.execute_line(line, false);
            if repl.quit {
                return Ok(repl.ended(false));
            }
        }
    }
    if batch {
        return Ok(repl.ended(false));
    }
    let terminal = std::io::stdin().is_terminal();
    repl.asks = terminal;
    let mut input = if terminal {
        terminal_input()?
    } else {
        Input::Lines(Box::new(std::io::stdin().lock()))
    };
    loop {
        let line = match &mut input {
            Input::Terminal(editor, history) => {
                if let Some(h) = editor.helper_mut() {
                    h.refresh(&repl.session.debug);
                }
                match editor.readline(PROMPT) {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                            if let Some(path) = history {
                                // History is a convenience: a full disk must not end the session.
                                let _ = editor.append_history(path);
                            }
                        }
                        line
                    }
                    // Ctrl-C at the prompt clears the line, as in gdb.
                    Err(rustyline::error::ReadlineError::Interrupted) => continue,
                    Err(rustyline::error::ReadlineError::Eof) => break,
                    Err(e) => return Err(e).context("cannot read from the terminal"),
                }
            }
            Input::Lines(reader) => {
                let mut line = String::new();
                if reader.read_line(&mut line).context("cannot read commands from stdin")? == 0 {
                    break;
                }
                line
            }
        };
        repl.execute_line(&line, true);
        if repl.quit {
            break;
        }
    }
    Ok(repl.ended(terminal))
}

/// Ctrl-C stops a long movement instead of killing rback: SIGINT is
/// blocked and a thread waits for it. The tracees are unaffected (their
/// signal mask is reset when they start), and at the prompt rustyline reads
/// Ctrl-C as a key.
fn catch_interrupts(interrupter: recorder::timeline::Interrupter, flag: Arc<AtomicBool>) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        while set.wait().is_ok() {
            flag.store(true, Ordering::SeqCst);
            interrupter.interrupt();
        }
    });
}

fn terminal_input() -> Result<Input> {
    let mut editor = rustyline::Editor::new().context("cannot set up line editing")?;
    editor.set_helper(Some(complete::Helper::default()));
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    Ok(Input::Terminal(Box::new(editor), history))
}

/// `$RBACK_HISTORY`, else `~/.local/share/rback/history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RBACK_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".local/share/rback/history"))
}

impl Repl {
    /// Erases the spinner, if any, before output.
    fn stop_spinner(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish();
        }
    }

    fn print_start(&mut self) {
        let last = self.session.timeline.events();
        if self.session.timeline.live_recording().is_some() {
            println!(
                "Recording live into {}: going forward runs the program on. Type \"help\" for commands.",
                self.session.trace_dir.display()
            );
        } else {
            println!(
                "Replaying {} ({} events). Type \"help\" for commands.",
                self.session.trace_dir.display(),
                last
            );
        }
        print!("{}", self.session.describe_here(true));
        let _ = std::io::stdout().flush();
    }

    /// Runs one line of input. `interactive`: an empty line repeats the last
    /// movement (a script's blank lines do nothing).
    fn execute_line(&mut self, line: &str, interactive: bool) {
        let line = line.trim();
        let line = if line.is_empty() {
            match (&self.last_movement, interactive) {
                (Some(last), true) => last.clone(),
                _ => return,
            }
        } else if line.starts_with('#') {
            return;
        } else {
            line.to_string()
        };
        self.interrupted.store(false, Ordering::SeqCst);
        let result = self.execute(&line);
        let _ = std::io::stdout().flush();
        self.last_failed = result.is_err();
        if let Err(e) = result {
            eprintln!("{}", crate::one_line(&e));
        }
    }

    /// gdb's `query`: asks `question` on the terminal and reads the answer;
    /// with commands from elsewhere, says it answered yes.
    fn confirm(&self, question: &str) -> bool {
        if !self.asks {
            println!("{question} (y or n) [answered Y; input not from terminal]");
            return true;
        }
        print!("{question} (y or n) ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(n) if n > 0 => answer.trim_start().starts_with(['y', 'Y']),
            _ => false,
        }
    }

    fn ended(&self, terminal: bool) -> Ended {
        if self.last_failed && !terminal {
            Ended::LastCommandFailed
        } else {
            Ended::Fine
        }
    }
}
