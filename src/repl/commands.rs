//! The command table: gdb's names, their short forms, and `help`. A command
//! is found by its name, one of its aliases, or an unambiguous prefix of a
//! name, as gdb does; anything else is an error that suggests the nearest
//! name.

use anyhow::{anyhow, bail, Result};

use super::{progress, Repl};

type Handler = fn(&mut Repl, &str) -> Result<()>;

pub struct Command {
    pub name: &'static str,
    /// Short forms that win over prefix matching (`c`, `n`, `si`, `bt`).
    pub aliases: &'static [&'static str],
    /// Movements are what an empty line repeats.
    pub movement: bool,
    pub summary: &'static str,
    pub usage: &'static str,
    pub handler: Handler,
}

macro_rules! cmd {
    ($name:expr, [$($alias:expr),*], $movement:expr, $summary:expr, $usage:expr, $handler:expr) => {
        Command {
            name: $name,
            aliases: &[$($alias),*],
            movement: $movement,
            summary: $summary,
            usage: $usage,
            handler: $handler,
        }
    };
}

/// Refuses an argument to a command that takes none, in gdb's words,
/// rather than do what the command does without it.
fn no_arguments(name: &str, args: &str) -> Result<()> {
    if !args.trim().is_empty() {
        bail!("The \"{name}\" command does not take any arguments.");
    }
    Ok(())
}

/// gdb's `run ARGS` starts the program with new arguments; a recording
/// ran with its own, so rback refuses rather than ignore them.
fn fixed_arguments(name: &str, args: &str) -> Result<()> {
    if !args.trim().is_empty() {
        bail!(
            "\"{name}\" replays the recording from its start, with the arguments it was recorded with: it takes none"
        );
    }
    Ok(())
}

pub static COMMANDS: &[Command] = &[
    cmd!(
        "continue",
        ["c", "cont", "fg"],
        true,
        "Run forward until a breakpoint, a signal or the end of the recording.",
        "continue [N]",
        |r, a| r.cmd_continue(a, false)
    ),
    cmd!(
        "run",
        ["r"],
        true,
        "Run the recording again from its start to a breakpoint, a signal or the end (gdb's restart).",
        "run",
        |r, a| {
            fixed_arguments("run", a)?;
            r.cmd_run(None)
        }
    ),
    cmd!(
        "start",
        [],
        true,
        "Run the recording again from its start to main, with a temporary breakpoint there.",
        "start",
        |r, a| {
            fixed_arguments("start", a)?;
            r.cmd_run(Some("main"))
        }
    ),
    cmd!(
        "reverse-continue",
        ["rc"],
        true,
        "Run backward until a breakpoint or the start of the recording.",
        "reverse-continue [N]",
        |r, a| r.cmd_continue(a, true)
    ),
    cmd!(
        "step",
        ["s"],
        true,
        "Run forward to the next source line, entering calls that have line information.",
        "step [N]",
        |r, a| r.repeat(a, |r| r.cmd_step(false, false))
    ),
    cmd!(
        "next",
        ["n"],
        true,
        "Run forward to the next source line in this function, stepping over calls.",
        "next [N]",
        |r, a| r.repeat(a, |r| r.cmd_step(true, false))
    ),
    cmd!(
        "reverse-step",
        ["rs"],
        true,
        "Run backward to the start of the previous source line, entering calls.",
        "reverse-step [N]",
        |r, a| r.repeat(a, |r| r.cmd_step(false, true))
    ),
    cmd!(
        "reverse-next",
        ["rn"],
        true,
        "Run backward to the start of the previous source line, stepping over calls.",
        "reverse-next [N]",
        |r, a| r.repeat(a, |r| r.cmd_step(true, true))
    ),
    cmd!(
        "stepi",
        ["si"],
        true,
        "Execute one machine instruction.",
        "stepi [N]",
        |r, a| r.repeat(a, |r| r.cmd_stepi(false, false))
    ),
    cmd!(
        "nexti",
        ["ni"],
        true,
        "Execute one machine instruction, running over a call.",
        "nexti [N]",
        |r, a| r.repeat(a, |r| r.cmd_stepi(true, false))
    ),
    cmd!(
        "reverse-stepi",
        ["rsi"],
        true,
        "Go back one machine instruction.",
        "reverse-stepi [N]",
        |r, a| r.repeat(a, |r| r.cmd_stepi(false, true))
    ),
    cmd!(
        "reverse-nexti",
        ["rni"],
        true,
        "Go back one machine instruction, running back over a call.",
        "reverse-nexti [N]",
        |r, a| r.repeat(a, |r| r.cmd_stepi(true, true))
    ),
    cmd!(
        "finish",
        ["fin"],
        true,
        "Run until the selected function returns, and show its return value.",
        "finish",
        |r, a| {
            no_arguments("finish", a)?;
            r.cmd_finish(false)
        }
    ),
    cmd!(
        "reverse-finish",
        [],
        true,
        "Run backward to the call of the selected function.",
        "reverse-finish",
        |r, a| {
            // gdb's reverse-finish is its finish, run backward.
            no_arguments("finish", a)?;
            r.cmd_finish(true)
        }
    ),
    cmd!(
        "advance",
        [],
        true,
        "Run until LOCATION is reached in any frame, or the current frame returns.",
        "advance LOCATION",
        Repl::cmd_advance
    ),
    cmd!(
        "until",
        ["u"],
        true,
        "Run until a source line past the current one in this frame (or LOCATION, or the frame's return).",
        "until [LOCATION]",
        Repl::cmd_until
    ),
    cmd!(
        "break",
        ["b", "br"],
        false,
        "Set a breakpoint at a function, FILE:LINE, LINE or *ADDRESS.",
        "break LOCATION [if CONDITION]",
        |r, a| r.cmd_break(a, false)
    ),
    cmd!(
        "tbreak",
        ["tb"],
        false,
        "Set a breakpoint that is deleted when it first stops the program.",
        "tbreak LOCATION",
        |r, a| r.cmd_break(a, true)
    ),
    cmd!(
        "ignore",
        [],
        false,
        "Pass breakpoint N's next COUNT crossings without stopping.",
        "ignore N COUNT",
        Repl::cmd_ignore
    ),
    cmd!(
        "delete",
        ["d"],
        false,
        "Delete breakpoints by number (all of them with no argument).",
        "delete [N...]",
        Repl::cmd_delete
    ),
    cmd!(
        "disable",
        ["disa"],
        false,
        "Disable breakpoints by number (all of them with no argument).",
        "disable [N...]",
        |r, a| r.cmd_enable(a, false)
    ),
    cmd!(
        "enable",
        ["en"],
        false,
        "Enable breakpoints by number (all of them with no argument).",
        "enable [N...]",
        |r, a| r.cmd_enable(a, true)
    ),
    cmd!(
        "when",
        [],
        false,
        "Show the current event number and position in the recording.",
        "when",
        |r, a| {
            no_arguments("when", a)?;
            r.cmd_when()
        }
    ),
    cmd!(
        "goto",
        [],
        false,
        "Go to the start of an event's interval, or to the recording's start or end.",
        "goto EVENT|start|end",
        Repl::cmd_goto
    ),
    cmd!(
        "checkpoint",
        [],
        false,
        "Take a checkpoint here, to come back to with restart; or save the program here as an image for `rback restart`.",
        "checkpoint [NAME] | checkpoint save [--bundle] FILE",
        Repl::cmd_checkpoint_or_save
    ),
    cmd!(
        "branch",
        [],
        false,
        "Run the program for real from here, as a new process with what you changed; the recording stays here. With --record the branch is recorded as a trace of its own.",
        "branch [--close] [--record]",
        Repl::cmd_branch
    ),
    cmd!(
        "restart",
        [],
        false,
        "Go back (or forward) to a checkpoint.",
        "restart N|NAME",
        Repl::cmd_restart
    ),
    cmd!(
        "timeline",
        [],
        false,
        "Draw the recording: events, checkpoints and where you are.",
        "timeline",
        |r, a| {
            no_arguments("timeline", a)?;
            r.cmd_timeline()
        }
    ),
    cmd!(
        "backtrace",
        ["bt", "where"],
        false,
        "Show the call stack (with `full`, each frame's locals too).",
        "backtrace [full] [N|-N]",
        Repl::cmd_backtrace
    ),
    cmd!(
        "frame",
        ["f"],
        false,
        "Select and show a stack frame (the current one with no argument).",
        "frame [N | level N | function NAME]",
        Repl::cmd_frame
    ),
    cmd!(
        "thread",
        ["t"],
        false,
        "Show the current thread, look at thread N, or run a command in threads (thread apply all bt).",
        "thread [N | apply all|N... COMMAND]",
        Repl::cmd_thread
    ),
    cmd!("up", [], false, "Select the caller's frame.", "up [N]", |r, a| r
        .cmd_up_down(a, true)),
    cmd!(
        "down",
        ["do"],
        false,
        "Select the callee's frame.",
        "down [N]",
        |r, a| r.cmd_up_down(a, false)
    ),
    cmd!(
        "info",
        ["i"],
        false,
        "Show things: breakpoints, watchpoints, checkpoints, registers, frame, locals, args, display, line, symbol, address, source, sharedlibrary, proc mappings.",
        "info breakpoints|watchpoints|checkpoints|registers [REG...|general|float|sse|vector|system|all]|all-registers|frame|locals|args|display|line [LOC]|symbol ADDR|address NAME|sharedlibrary|proc mappings",
        Repl::cmd_info
    ),
    cmd!(
        "call",
        [],
        false,
        "Not possible in a replay: calling a function would run code the recording did not run.",
        "call EXPRESSION",
        |_, _| {
            bail!(
            "cannot call functions in the program: a replay runs only the code that was recorded (the recording is read-only)"
        )
        }
    ),
    cmd!(
        "print",
        ["p", "inspect"],
        false,
        "Evaluate an expression and show its value as $N (print/x for hex).",
        "print[/FMT] EXPRESSION",
        Repl::cmd_print
    ),
    cmd!(
        "ptype",
        [],
        false,
        "Show the type of an expression or a type, structs with their members.",
        "ptype EXPRESSION|TYPE",
        Repl::cmd_ptype
    ),
    cmd!(
        "whatis",
        [],
        false,
        "Show the type of an expression.",
        "whatis EXPRESSION",
        Repl::cmd_whatis
    ),
    cmd!(
        "display",
        ["disp"],
        false,
        "Show an expression's value at every stop (display/i $pc: the next instruction).",
        "display[/FMT] EXPRESSION",
        Repl::cmd_display
    ),
    cmd!(
        "undisplay",
        ["undisp"],
        false,
        "Stop showing displays by number (all of them with no argument).",
        "undisplay [N...]",
        Repl::cmd_undisplay
    ),
    cmd!(
        "watch",
        ["wa"],
        false,
        "Stop when an expression's memory is written with a new value (either direction).",
        "watch EXPRESSION",
        |r, a| r.cmd_watch(a, recorder::timeline::WatchKind::Write)
    ),
    cmd!(
        "rwatch",
        [],
        false,
        "Stop when an expression's memory is read.",
        "rwatch EXPRESSION",
        |r, a| r.cmd_watch(a, recorder::timeline::WatchKind::Read)
    ),
    cmd!(
        "awatch",
        [],
        false,
        "Stop when an expression's memory is read or written.",
        "awatch EXPRESSION",
        |r, a| r.cmd_watch(a, recorder::timeline::WatchKind::Access)
    ),
    cmd!(
        "x",
        [],
        false,
        "Examine memory: x/NFU ADDRESS (F: x d u o t c s i a; U: b h w g).",
        "x/NFU ADDRESS",
        Repl::cmd_x
    ),
    cmd!(
        "disassemble",
        ["disas"],
        false,
        "Disassemble the selected frame's function, another, or a range; => marks the current instruction. /r adds the bytes, /s source lines in address order, /m in line order.",
        "disassemble[/rsm] [FUNCTION|*ADDRESS|START,END|START,+LENGTH]",
        Repl::cmd_disassemble
    ),
    cmd!(
        "list",
        ["l"],
        false,
        "List source lines around the current line, a LINE, FILE:LINE or FUNCTION; again to go on.",
        "list [LOCATION]",
        Repl::cmd_list
    ),
    cmd!(
        "directory",
        ["dir"],
        false,
        "Look for source files in DIR too.",
        "directory DIR",
        Repl::cmd_directory
    ),
    cmd!(
        "set",
        [],
        false,
        "Set an option (set substitute-path FROM TO, set follow-fork-mode parent|child), or change the program here by hand (set var NAME = VALUE, set $REG = VALUE) until the next movement.",
        "set substitute-path FROM TO | set follow-fork-mode parent|child | set var NAME = VALUE | set $REG = VALUE",
        Repl::cmd_set
    ),
    cmd!(
        "inferior",
        [],
        false,
        "Follow another process of the recording, by its number in \"info inferiors\".",
        "inferior [N]",
        Repl::cmd_inferior
    ),
    cmd!(
        "echo",
        [],
        false,
        "Print text; C escapes such as \\n and \\t work, and no newline is added.",
        "echo TEXT",
        Repl::cmd_echo
    ),
    cmd!(
        "printf",
        [],
        false,
        "Print values with a C format: printf \"%d %s\\n\", n, name.",
        "printf \"FORMAT\", EXPRESSION...",
        Repl::cmd_printf
    ),
    cmd!(
        "output",
        [],
        false,
        "Print an expression's value with no newline and no $N.",
        "output[/FMT] EXPRESSION",
        Repl::cmd_output
    ),
    cmd!(
        "help",
        ["h"],
        false,
        "List the commands, or explain one.",
        "help [COMMAND]",
        Repl::cmd_help
    ),
    cmd!("quit", ["q", "exit"], false, "Leave rback.", "quit", |r, _| {
        r.quit = true;
        Ok(())
    }),
];

/// Finds a command by name, alias or unambiguous prefix.
pub fn lookup(word: &str) -> Result<&'static Command> {
    if let Some(c) = COMMANDS.iter().find(|c| c.name == word || c.aliases.contains(&word)) {
        return Ok(c);
    }
    let matches: Vec<&Command> = COMMANDS.iter().filter(|c| c.name.starts_with(word)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(match suggestion(word) {
            Some(s) => anyhow!("undefined command \"{word}\"; did you mean \"{s}\"? (try \"help\")"),
            None => anyhow!("undefined command \"{word}\" (try \"help\")"),
        }),
        many => {
            let names: Vec<&str> = many.iter().map(|c| c.name).collect();
            bail!("ambiguous command \"{word}\": {}", names.join(", "))
        }
    }
}

/// The command name (or alias) closest to `word`, if it is close enough to
/// be a typo.
fn suggestion(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
        .map(|name| (edit_distance(word, name), name))
        .filter(|(d, name)| *d <= 2.max(name.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Splits `x/4xw $sp` into `x`, `/4xw $sp`, and `bt 3` into `bt`, `3`.
pub fn split_command(line: &str) -> (&str, &str) {
    let end = line.find(|c: char| c.is_whitespace() || c == '/').unwrap_or(line.len());
    (&line[..end], line[end..].trim())
}

impl Repl {
    pub(super) fn execute(&mut self, line: &str) -> Result<()> {
        let (word, args) = split_command(line);
        let command = lookup(word)?;
        if !command.movement {
            return (command.handler)(self, args);
        }
        self.last_movement = Some(line.to_string());
        let start = self.session.timeline.position();
        let terminal = self.session.timeline.live_recording().and_then(|r| r.terminal());
        self.spinner = progress::Spinner::start(terminal);
        let result = (command.handler)(self, args);
        self.stop_spinner();
        self.retire_out_of_scope_watches();
        self.session.snapshot_watches();
        if result.is_err() {
            // A movement that failed half way may have left the program
            // anywhere (at a checkpoint, say): go back to where it began.
            if self.session.timeline.position() != start && self.session.timeline.goto_position(start).is_ok() {
                let _ = self.session.refresh();
                self.selected_frame = 0;
            }
        }
        result
    }

    fn cmd_help(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            println!("Commands (an empty line repeats the last movement):");
            for c in COMMANDS {
                let names = std::iter::once(c.name)
                    .chain(c.aliases.iter().copied())
                    .collect::<Vec<_>>()
                    .join(", ");
                println!("  {names:<32} {}", c.summary);
            }
            println!("Type \"help COMMAND\" for more about one.");
            return Ok(());
        }
        let c = lookup(args.split_whitespace().next().unwrap_or(args))?;
        println!("{}", c.summary);
        println!("Usage: {}", c.usage);
        if !c.aliases.is_empty() {
            println!("Short forms: {}", c.aliases.join(", "));
        }
        Ok(())
    }

    /// Runs a movement `N` times (gdb's `step 3`), stopping early at a
    /// breakpoint or an end of the recording.
    fn repeat(&mut self, args: &str, mut once: impl FnMut(&mut Repl) -> Result<bool>) -> Result<()> {
        let n = if args.is_empty() {
            1
        } else {
            args.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow!("invalid repeat count \"{args}\": expected a positive number"))?
        };
        // Like gdb, only where the last step ends is shown (or an early stop).
        let mut result = Ok(());
        for i in 0..n {
            // Ctrl-C between two of the movements would be lost by the
            // next one, which starts afresh.
            if i > 0 && self.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                self.quiet_steps = false;
                self.stop_spinner();
                println!("Interrupted after {i} of {n}.");
                let _ = self.print_selected_frame();
                break;
            }
            if let Some(spinner) = &self.spinner {
                spinner.progress(i, n);
            }
            self.quiet_steps = i + 1 < n;
            self.repeating = Some((i, n));
            match once(self) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.quiet_steps = false;
        self.repeating = None;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_prefixes() {
        assert_eq!(lookup("c").unwrap().name, "continue");
        assert_eq!(lookup("rsi").unwrap().name, "reverse-stepi");
        assert_eq!(lookup("bt").unwrap().name, "backtrace");
        assert_eq!(lookup("checkp").unwrap().name, "checkpoint");
        assert_eq!(lookup("reverse-fin").unwrap().name, "reverse-finish");
        assert!(lookup("re").err().unwrap().to_string().contains("ambiguous"));
    }

    #[test]
    fn unknown_commands_get_a_suggestion() {
        let e = lookup("contnue").err().unwrap().to_string();
        assert!(e.contains("did you mean \"continue\""), "{e}");
        let e = lookup("zzzzzzzzzz").err().unwrap().to_string();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn split() {
        assert_eq!(split_command("x/4xw $sp"), ("x", "/4xw $sp"));
        assert_eq!(split_command("bt  3 "), ("bt", "3"));
        assert_eq!(split_command("next"), ("next", ""));
    }
}
