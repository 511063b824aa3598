//! Tab completion: command names first, then function names for commands
//! that take a location, and file names for `directory`.

use std::path::PathBuf;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::Context;

use super::commands::{split_command, COMMANDS};
use debuginfo::DebugInfo;

#[derive(Default)]
pub struct Helper {
    /// Every function name, sorted; taken again when the modules change.
    symbols: Vec<String>,
    modules: Vec<PathBuf>,
    files: FilenameCompleter,
}

impl Helper {
    /// Catches up with the session's modules (cheap when they did not change).
    pub fn refresh(&mut self, debug: &DebugInfo) {
        let modules: Vec<PathBuf> = debug.modules().map(|m| m.file.clone()).collect();
        if modules != self.modules {
            self.symbols = debug.symbols_matching("");
            self.modules = modules;
        }
    }
}

/// Commands whose argument is a code location.
const TAKES_LOCATION: &[&str] = &["break", "tbreak", "until", "list", "disassemble", "x"];

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pair = |s: &str| Pair {
            display: s.to_string(),
            replacement: s.to_string(),
        };
        if start == 0 {
            let names = COMMANDS.iter().map(|c| c.name).filter(|n| n.starts_with(word));
            return Ok((0, names.map(pair).collect()));
        }
        let (command, _) = split_command(before.trim_start());
        let Ok(command) = super::commands::lookup(command) else {
            return Ok((pos, Vec::new()));
        };
        if command.name == "directory" || word.contains('/') {
            return self.files.complete(line, pos, ctx);
        }
        if TAKES_LOCATION.contains(&command.name) {
            let word = word.trim_start_matches('*');
            let offset = pos - word.len();
            let from = self.symbols.partition_point(|s| s.as_str() < word);
            let names = self.symbols[from..]
                .iter()
                .take_while(|s| s.starts_with(word))
                .take(500)
                .map(|s| pair(s));
            return Ok((offset, names.collect()));
        }
        if command.name == "info" {
            let subs = [
                "breakpoints",
                "checkpoints",
                "registers",
                "frame",
                "sharedlibrary",
                "proc",
                "locals",
                "args",
                "display",
            ];
            return Ok((
                start,
                subs.iter().filter(|s| s.starts_with(word)).map(|s| pair(s)).collect(),
            ));
        }
        if command.name == "help" {
            let names = COMMANDS.iter().map(|c| c.name).filter(|n| n.starts_with(word));
            return Ok((start, names.map(pair).collect()));
        }
        Ok((pos, Vec::new()))
    }
}

impl Hinter for Helper {
    type Hint = String;
}

impl Highlighter for Helper {}

impl Validator for Helper {}

impl rustyline::Helper for Helper {}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn complete(h: &Helper, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, pairs) = h.complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn commands_then_symbols_then_info_topics() {
        let h = Helper {
            symbols: vec!["compute".into(), "counter_bump".into(), "main".into()],
            ..Helper::default()
        };
        let (start, names) = complete(&h, "reverse-n");
        assert_eq!(
            (start, names),
            (0, vec!["reverse-next".to_string(), "reverse-nexti".to_string()])
        );
        assert_eq!(
            complete(&h, "break co"),
            (6, vec!["compute".to_string(), "counter_bump".to_string()])
        );
        assert_eq!(complete(&h, "b *ma"), (3, vec!["main".to_string()]));
        assert_eq!(complete(&h, "info che"), (5, vec!["checkpoints".to_string()]));
        assert_eq!(complete(&h, "step co").1, Vec::<String>::new());
    }
}
