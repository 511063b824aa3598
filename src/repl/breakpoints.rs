//! `break`, `tbreak`, `delete`, `disable`, `enable`, `info breakpoints`.

use anyhow::{anyhow, bail, Result};

use super::Repl;

impl Repl {
    pub(super) fn cmd_break(&mut self, args: &str, temporary: bool) -> Result<()> {
        let (location, condition) = split_condition(args);
        let offset = (location.starts_with(['+', '-']))
            .then(|| location.parse::<i64>().ok())
            .flatten();
        let location = if location.is_empty() {
            // gdb's plain `break`: here, in the selected frame.
            let frames = self.session.backtrace(self.selected_frame + 1)?;
            let frame = frames
                .get(self.selected_frame)
                .ok_or_else(|| anyhow!("no frame selected"))?;
            format!("*{:#x}", frame.pc)
        } else if let Some(offset) = offset {
            // gdb's `break +N` / `break -N`: N lines after or before the
            // selected frame's line, in its file (not line N).
            let frames = self.session.backtrace(self.selected_frame + 1)?;
            let (file, line) = frames
                .get(self.selected_frame)
                .and_then(|f| f.location.as_ref())
                .and_then(|l| Some((l.file.clone()?, l.line?)))
                .ok_or_else(|| anyhow!("No default source file."))?;
            let line = (line as i64 + offset).max(1);
            format!("{}:{line}", file.display())
        } else {
            location.to_string()
        };
        if let Some(cond) = &condition {
            self.check_condition_syntax(cond)?;
        }
        let number = self.session.add_breakpoint(&location, temporary, condition)?;
        let bp = self
            .session
            .breakpoints
            .iter()
            .find(|b| b.number == number)
            .expect("just added");
        let kind = if temporary {
            "Temporary breakpoint"
        } else {
            "Breakpoint"
        };
        match bp.addrs.as_slice() {
            [one] => println!("{kind} {number} at {:#x}{}", one.0, self.where_is(one.0)),
            // gdb names the first location and repeats what was typed.
            many => println!(
                "{kind} {number} at {:#x}: {}. ({} locations)",
                many[0].0,
                bp.spec,
                many.len()
            ),
        }
        Ok(())
    }

    /// `: file t.c, line 7.` for a code address, as gdb says where a
    /// breakpoint went.
    fn where_is(&self, addr: u64) -> String {
        match self.session.debug.line_at(addr) {
            Some((file, line)) => format!(": file {}, line {line}.", crate::session::base_name(&file)),
            None => String::new(),
        }
    }

    pub(super) fn cmd_delete(&mut self, args: &str) -> Result<()> {
        let numbers = self.breakpoint_numbers(args)?;
        for n in numbers {
            self.session.delete_breakpoint(n)?;
        }
        Ok(())
    }

    pub(super) fn cmd_enable(&mut self, args: &str, enabled: bool) -> Result<()> {
        for n in self.breakpoint_numbers(args)? {
            self.session.set_enabled(n, enabled)?;
        }
        Ok(())
    }

    /// `ignore N COUNT`: breakpoint (or watchpoint) N passes its next
    /// COUNT crossings without stopping.
    pub(super) fn cmd_ignore(&mut self, args: &str) -> Result<()> {
        let mut words = args.split_whitespace();
        let number = words
            .next()
            .ok_or_else(|| anyhow!("Argument required (a breakpoint number)."))?;
        let number: usize = number
            .parse()
            .map_err(|_| anyhow!("invalid breakpoint number \"{number}\""))?;
        let count = words
            .next()
            .ok_or_else(|| anyhow!("Second argument (specified ignore-count) is missing."))?;
        if let Some(extra) = words.next() {
            bail!("unexpected \"{extra}\" after the ignore count");
        }
        self.set_ignore_count(number, parse_count(count)?)
    }

    /// Sets breakpoint `number`'s ignore count, and says so as gdb does at
    /// the terminal (nothing in a script).
    pub(super) fn set_ignore_count(&mut self, number: usize, count: u64) -> Result<()> {
        let b = self
            .session
            .breakpoints
            .iter_mut()
            .find(|b| b.number == number)
            .ok_or_else(|| anyhow!("No breakpoint number {number}."))?;
        b.ignore = count;
        if self.asks {
            match count {
                0 => println!("Will stop next time breakpoint {number} is reached."),
                1 => println!("Will ignore next crossing of breakpoint {number}."),
                n => println!("Will ignore next {n} crossings of breakpoint {number}."),
            }
        }
        Ok(())
    }

    /// The numbers an argument list names; all breakpoints for none.
    fn breakpoint_numbers(&self, args: &str) -> Result<Vec<usize>> {
        if args.is_empty() {
            return Ok(self.session.breakpoints.iter().map(|b| b.number).collect());
        }
        let mut out = Vec::new();
        for word in args.split_whitespace() {
            let n: usize = word
                .parse()
                .map_err(|_| anyhow!("invalid breakpoint number \"{word}\""))?;
            if !self.session.breakpoints.iter().any(|b| b.number == n) {
                bail!("no breakpoint number {n}");
            }
            out.push(n);
        }
        Ok(out)
    }

    /// `info breakpoints`, or with `watch_only` `info watchpoints`: the
    /// same table, of the watchpoints alone.
    pub(super) fn info_breakpoints(&self, watch_only: bool) -> Result<()> {
        let shown: Vec<_> = self
            .session
            .breakpoints
            .iter()
            .filter(|b| !watch_only || b.watch.is_some())
            .collect();
        if shown.is_empty() {
            println!(
                "{}",
                if watch_only {
                    "No watchpoints."
                } else {
                    "No breakpoints."
                }
            );
            return Ok(());
        }
        let kind_of = |b: &&crate::session::UserBreakpoint| match b.watch.as_ref().map(|w| w.kind) {
            Some(recorder::timeline::WatchKind::Write) => "hw watchpoint",
            Some(recorder::timeline::WatchKind::Read) => "read watchpoint",
            Some(recorder::timeline::WatchKind::Access) => "acc watchpoint",
            None => "breakpoint",
        };
        // gdb widens the type column to its longest entry, 14 at least.
        let tw = shown.iter().map(|b| kind_of(b).len()).max().unwrap_or(0).max(14);
        println!("Num     {:<tw$} Disp Enb Address            What", "Type");
        for b in &shown {
            let disp = if b.temporary { "del " } else { "keep" };
            let enb = if b.enabled { 'y' } else { 'n' };
            let kind = kind_of(b);
            if b.watch.is_some() {
                println!(
                    "{:<7} {kind:<tw$} {disp} {enb}                      {}",
                    b.number, b.spec
                );
            } else {
                match b.addrs.as_slice() {
                    [one] => println!(
                        "{:<7} {kind:<tw$} {disp} {enb}   {:#018x} {}",
                        b.number,
                        one.0,
                        self.describe_code(one.0)
                    ),
                    many => {
                        println!(
                            "{:<7} {kind:<tw$} {disp} {enb}   <MULTIPLE>         {}",
                            b.number, b.spec
                        );
                        for (i, a) in many.iter().enumerate() {
                            println!(
                                "{:<7} {:<w$}     {:#018x} {}",
                                format!("{}.{}", b.number, i + 1),
                                "",
                                a.0,
                                self.describe_code(a.0),
                                w = tw + 4
                            );
                        }
                    }
                }
            }
            if let Some(cond) = &b.condition {
                println!("\tstop only if {cond}");
            }
            match b.hits {
                0 => {}
                1 => println!("\tbreakpoint already hit 1 time"),
                n => println!("\tbreakpoint already hit {n} times"),
            }
            if b.ignore > 0 {
                println!("\tignore next {} hits", b.ignore);
            }
        }
        Ok(())
    }

    /// `in compute at t.c:7`.
    pub(super) fn describe_code(&self, addr: u64) -> String {
        match self.session.debug.symbolize(addr) {
            Some(loc) => {
                let func = loc.function.clone().unwrap_or_else(|| "??".into());
                if loc.file.is_some() {
                    format!("in {func} at {}", crate::session::file_and_line(&loc))
                } else {
                    format!("<{}>", loc.symbol_with_offset().unwrap_or(func))
                }
            }
            None => String::new(),
        }
    }
}

/// `compute if n > 3` into the location and the condition.
fn split_condition(args: &str) -> (&str, Option<String>) {
    let args = args.trim();
    // `break f if` with nothing after: an empty condition, refused later.
    if let Some(location) = args.strip_suffix(" if").or_else(|| (args == "if").then_some("")) {
        return (location.trim(), Some(String::new()));
    }
    if let Some(cond) = args.strip_prefix("if ") {
        return ("", Some(cond.trim().to_string()));
    }
    match args.find(" if ") {
        Some(i) => (args[..i].trim(), Some(args[i + 4..].trim().to_string())),
        None => (args, None),
    }
}

/// A count of crossings (`ignore`, `continue N`): a negative one is 0, as
/// in gdb.
pub(super) fn parse_count(word: &str) -> Result<u64> {
    let n: i64 = word
        .trim()
        .parse()
        .map_err(|_| anyhow!("invalid count \"{}\": expected a number", word.trim()))?;
    Ok(n.max(0) as u64)
}
