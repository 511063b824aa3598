//! Values: `print`, `display`, `info locals`/`info args`, breakpoint
//! conditions, `finish`'s return value, watchpoints on expressions, and
//! expressions used as addresses. The evaluation itself is the debug
//! info's (`DebugInfo::evaluate`); this adds gdb's value history (`$1`,
//! `$`, `$$`) by substituting numbers into the expression text.

use std::cell::Cell;

use anyhow::{anyhow, bail, Result};

use recorder::timeline::WatchKind;
use recorder::trace::ExitStatus;
use recorder::RemoteAddr;

use super::examine::XSpec;
use super::watch::watch_title;
use super::Repl;
use debuginfo::{Format, ReturnRegisters, Scope, Value};

/// An expression shown at every stop (`display`).
pub struct Display {
    pub number: usize,
    pub expr: String,
    pub format: Format,
    /// `display/i` and `display/s` show memory as `x` does, at the address
    /// the expression gives.
    pub examine: Option<XSpec>,
}

impl Repl {
    /// Evaluates `expr` in the selected frame (`frame0`: in the innermost).
    pub(super) fn evaluate_in(&self, expr: &str, frame0: bool) -> Result<Value> {
        let expr = self.substitute_dollars(expr)?;
        let level = if frame0 { 0 } else { self.selected_frame };
        let convenience = self.convenience_variables(&expr);
        self.with_scope_at(level, |scope| {
            self.session
                .debug
                .evaluate_with_history(&expr, scope, &self.history, &convenience)
        })
    }

    /// gdb's convenience variables that describe the program's state:
    /// `$_siginfo` where it stopped for a signal, `$_exitcode` where it
    /// exited (the end of its recording). Elsewhere they are void, as
    /// in gdb.
    fn convenience_variables(&self, expr: &str) -> Vec<(String, Value)> {
        let mut vars = Vec::new();
        // The floating-point and vector registers (`$xmm0`, `$st0`) cost
        // a read of the thread's state: only for expressions with a `$`.
        if expr.contains('$') {
            if let Ok(fp) = self.fp_registers() {
                vars.extend(fp.into_iter().map(|r| (r.name, r.value)));
            }
        }
        if let Some(info) = self
            .session
            .timeline
            .siginfo()
            .ok()
            .flatten()
            .and_then(|raw| Value::siginfo(&raw))
        {
            vars.push(("_siginfo".to_string(), info));
        }
        if let Some(ExitStatus::Exited(code)) = self.session.exited_here() {
            vars.push(("_exitcode".to_string(), Value::int(code)));
        }
        vars
    }

    fn with_scope<T>(&self, f: impl FnOnce(&Scope) -> Result<T, String>) -> Result<T> {
        self.with_scope_at(self.selected_frame, f)
    }

    /// Runs `f` with frame `level` as the scope of names.
    pub(super) fn with_scope_at<T>(&self, level: usize, f: impl FnOnce(&Scope) -> Result<T, String>) -> Result<T> {
        let frames = self.session.backtrace(level + 1)?;
        let frame = frames.get(level).ok_or_else(|| anyhow!("no frame {level} here"))?;
        self.session.in_scope(frame, f).map_err(|e| anyhow!(e))
    }

    /// Replaces `$N`, `$`, `$$`, `$$N` (value history) with numbers,
    /// which is all the evaluator needs of them.
    fn substitute_dollars(&self, expr: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = expr;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(after.len());
            let name = &after[..len];
            out.push_str(&self.dollar_value(name)?);
            rest = &after[len..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The history number an expression is, if it is only `$`, `$N`, `$$`
    /// or `$$N`.
    fn history_index(&self, expr: &str) -> Result<Option<usize>> {
        let Some(name) = expr.trim().strip_prefix('$') else {
            return Ok(None);
        };
        let history = name.is_empty() || name.bytes().all(|b| b.is_ascii_digit() || b == b'$');
        if !history || name.len() > 1 && name[1..].contains('$') {
            return Ok(None);
        }
        self.history_number(name)
    }

    fn dollar_value(&self, name: &str) -> Result<String> {
        let Some(i) = self.history_number(name)? else {
            // Registers (`$pc`, `$rax`) are the evaluator's.
            return Ok(format!("${name}"));
        };
        if i == 0 || i > self.history.len() {
            bail!("History has not yet reached ${i}.");
        }
        // The evaluator takes the value itself, with its type and bytes.
        Ok(format!("$history{i}"))
    }

    /// The history number `$NAME` stands for (`$`, `$N`, `$$`, `$$N`), or
    /// `None` when it is not a history reference (a register).
    fn history_number(&self, name: &str) -> Result<Option<usize>> {
        let n = self.history.len();
        Ok(if name.is_empty() {
            Some(n)
        } else if name == "$" {
            Some(n.saturating_sub(1))
        } else if let Some(back) = name.strip_prefix('$') {
            let back: usize = back
                .parse()
                .map_err(|_| anyhow!("invalid history reference \"$${back}\""))?;
            Some(n.saturating_sub(back))
        } else if name.bytes().all(|b| b.is_ascii_digit()) {
            Some(
                name.parse()
                    .map_err(|_| anyhow!("invalid history reference \"${name}\""))?,
            )
        } else {
            None
        })
    }

    pub(super) fn cmd_print(&mut self, args: &str) -> Result<()> {
        let (format, raw, expr) = parse_print_format(args)?;
        if args.starts_with('/') {
            LAST_FORMAT.with(|f| f.set(format));
        }
        let v = if expr.is_empty() {
            // gdb's bare `print` shows the last value again.
            self.history
                .last()
                .cloned()
                .ok_or_else(|| anyhow!("no values in the history yet"))?
        } else if let Some(i) = self.history_index(expr)? {
            // A history value by itself is shown again whatever it holds;
            // in expressions only numbers and pointers can stand for one.
            i.checked_sub(1)
                .and_then(|i| self.history.get(i))
                .cloned()
                .ok_or_else(|| anyhow!("History has not yet reached ${i}."))?
        } else {
            self.evaluate_in(expr, false)?
        };
        if !raw {
            return self.record_value(v, format);
        }
        // `print/r` shows the value without pretty printers; the history
        // keeps the value itself, which `print $` shows pretty again.
        let shown = self.with_scope(|scope| Ok(self.session.debug.raw(&v, scope)))?;
        self.history.push(v);
        println!("${} = {}", self.history.len(), shown.format(format));
        Ok(())
    }

    /// `whatis EXPR`: the type of the expression's value, as declared
    /// (a reference keeps its `&`).
    pub(super) fn cmd_whatis(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("usage: whatis EXPRESSION|TYPE");
        }
        let name = match self.evaluate_in(args, false) {
            Ok(v) => v.declared_type_name(),
            // A type name is its own answer, once it is known to exist,
            // except that a typedef gives the type it names.
            Err(e) => match self.session.debug.whatis_named(args) {
                Some(name) => name,
                None => match self.evaluate_in(&format!("({args} *)0"), false) {
                    Ok(_) => args.split_whitespace().collect::<Vec<_>>().join(" "),
                    Err(_) => return Err(e),
                },
            },
        };
        println!("type = {name}");
        Ok(())
    }

    /// `ptype EXPR` or `ptype TYPE`: the type written out, a struct with
    /// its members.
    pub(super) fn cmd_ptype(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("usage: ptype EXPRESSION|TYPE");
        }
        // `ptype /o`: a C++ class with the offsets and sizes of its members.
        if let Some(rest) = args.strip_prefix("/o") {
            let rest = rest.trim();
            let text = match self.evaluate_in(rest, false) {
                Ok(v) => self.session.debug.ptype_offsets(Some(&v), None),
                Err(_) => self.session.debug.ptype_offsets(None, Some(rest)),
            };
            if let Some(text) = text {
                println!("{text}");
                return Ok(());
            }
            return self.cmd_ptype(rest);
        }
        let text = match self.evaluate_in(args, false) {
            Ok(v) => self.session.debug.ptype(&v),
            // A type name: a C++ type by its name, else what a pointer to
            // it points to.
            Err(e) => match self.session.debug.ptype_named(args) {
                Some(text) => text,
                None => match self.evaluate_in(&format!("({args} *)0"), false) {
                    Ok(p) => self.session.debug.ptype_target(&p).ok_or(e)?,
                    Err(_) => return Err(e),
                },
            },
        };
        println!("type = {text}");
        Ok(())
    }

    fn record_value(&mut self, v: Value, format: Format) -> Result<()> {
        self.history.push(v.clone());
        println!("${} = {}", self.history.len(), v.format(format));
        Ok(())
    }

    pub(super) fn cmd_display(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            self.show_displays();
            return Ok(());
        }
        // gdb shows memory, as `x` does, for the formats only `x` has.
        let examine = match args.strip_prefix('/') {
            Some(f) => {
                let letters = &f[..f.find(char::is_whitespace).unwrap_or(f.len())];
                if letters.contains(['i', 's']) {
                    let mut x = self.x_spec(letters)?;
                    x.size = 1;
                    Some(x)
                } else {
                    None
                }
            }
            None => None,
        };
        let (format, expr) = match examine {
            Some(_) => (
                Format::Natural,
                args[args.find(char::is_whitespace).unwrap_or(args.len())..].trim(),
            ),
            None => parse_format(args)?,
        };
        if expr.is_empty() {
            bail!("usage: display[/FMT] EXPRESSION");
        }
        if let Some(x) = examine {
            // Checked now, as gdb does, so that a typo is not a display.
            self.evaluate_in(expr, true)?;
            if x.format == 'i' && x.count == 0 {
                bail!("invalid count 0");
            }
        }
        let number = self.displays.last().map_or(1, |d| d.number + 1);
        self.displays.push(Display {
            number,
            expr: expr.to_string(),
            format,
            examine,
        });
        self.show_display(self.displays.len() - 1);
        Ok(())
    }

    pub(super) fn cmd_undisplay(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            if self.confirm("Delete all auto-display expressions?") {
                self.displays.clear();
            }
            return Ok(());
        }
        for word in args.split_whitespace() {
            let n: usize = word.parse().map_err(|_| anyhow!("invalid display number \"{word}\""))?;
            let i = self
                .displays
                .iter()
                .position(|d| d.number == n)
                .ok_or_else(|| anyhow!("no display number {n}"))?;
            self.displays.remove(i);
        }
        Ok(())
    }

    /// `N: EXPR = VALUE` for every display, after a stop.
    pub(super) fn show_displays(&mut self) {
        for i in 0..self.displays.len() {
            self.show_display(i);
        }
    }

    fn show_display(&self, i: usize) {
        let d = &self.displays[i];
        if let Some(x) = d.examine {
            // gdb puts a one-line examination after the expression, more
            // (or an instruction) on the lines below.
            let gap = if x.count != 1 || x.format == 'i' { "\n" } else { "  " };
            let shown = self.expression_address(&d.expr).map(|addr| {
                print!("{}: x/{}{} {}{gap}", d.number, count_text(x.count), x.format, d.expr);
                self.examine(x, addr)
            });
            match shown {
                Ok(Ok(_)) => {}
                Err(e) if crate::one_line(&e).starts_with("No symbol ") => {}
                Ok(Err(e)) | Err(e) => println!(
                    "{}: x/{} {} = <error: {}>",
                    d.number,
                    x.format,
                    d.expr,
                    crate::one_line(&e)
                ),
            }
            return;
        }
        let slash = format_suffix(d.format);
        match self.evaluate_in(&d.expr, true) {
            Ok(v) => println!("{}: {slash}{} = {}", d.number, d.expr, v.format(d.format)),
            // A display of a local is shown only where the local is in
            // scope, as gdb ties it to the block it was made in.
            Err(e) if crate::one_line(&e).starts_with("No symbol ") => {}
            Err(e) => println!("{}: {slash}{} = <error: {}>", d.number, d.expr, crate::one_line(&e)),
        }
    }

    pub(super) fn info_display(&mut self) -> Result<()> {
        if self.displays.is_empty() {
            println!("There are no auto-display expressions now.");
            return Ok(());
        }
        println!("Auto-display expressions now in effect:\nNum Enb Expression");
        for d in &self.displays {
            match d.examine {
                Some(x) => println!("{}:   y  /{}b{} {}", d.number, x.count, x.format, d.expr),
                None => println!("{}:   y  {}{}", d.number, format_suffix(d.format), d.expr),
            }
        }
        Ok(())
    }

    /// `info address NAME`: where a variable or function lives.
    pub(super) fn info_address(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            bail!("Argument required.");
        }
        let said = self.with_scope(|scope| self.session.debug.describe_address(name, scope))?;
        println!("{said}");
        Ok(())
    }

    pub(super) fn info_locals(&mut self) -> Result<()> {
        let locals = self.with_scope(|scope| self.session.debug.locals(scope))?;
        if locals.is_empty() {
            println!("No locals.");
        }
        for (name, v) in locals {
            println!("{name} = {}", v.format(Format::Natural));
        }
        Ok(())
    }

    pub(super) fn info_args(&mut self) -> Result<()> {
        let args = self.with_scope(|scope| self.session.debug.args(scope))?;
        if args.is_empty() {
            println!("No arguments.");
        }
        for (name, v) in args {
            println!("{name} = {}", v.format(Format::Natural));
        }
        Ok(())
    }

    pub(super) fn check_condition_syntax(&self, cond: &str) -> Result<()> {
        if cond.trim().is_empty() {
            bail!("argument required (a condition after \"if\")");
        }
        Ok(())
    }

    /// Whether a breakpoint's condition holds where the program stands.
    pub(super) fn condition_holds(&self, cond: &str) -> Result<bool> {
        let v = self.evaluate_in(cond, true)?;
        v.is_true()
            .ok_or_else(|| anyhow!("the condition \"{cond}\" is not a number or a pointer"))
    }

    /// An address from an expression: a pointer's or number's value, else
    /// where an lvalue (an array, a function) lives.
    pub(super) fn expression_address(&self, text: &str) -> Result<u64> {
        let v = self.evaluate_in(text, false)?;
        if let Some(x) = v.as_i64() {
            return Ok(x as u64);
        }
        v.address()
            .ok_or_else(|| anyhow!("\"{text}\" is neither a number nor something in memory"))
    }

    /// `Value returned is $N = ...` after `finish` out of the function
    /// containing `callee_pc`, read where the ABI returns it (see
    /// `DebugInfo::return_value`). Nothing for a `void` function.
    pub(super) fn print_return_value(&mut self, callee_pc: u64) {
        let (Ok(regs), Ok(fp)) = (self.session.timeline.regs(), self.session.timeline.fp_regs()) else {
            return;
        };
        // ST0 is at byte 32 of the FXSAVE image, XMM0 and XMM1 at 160 and 176.
        let low = |at: usize| -> [u8; 8] { fp.fxsave[at..at + 8].try_into().expect("8 bytes") };
        let returned = ReturnRegisters {
            rax: regs.rax,
            rdx: regs.rdx,
            xmm0: low(160),
            xmm1: low(176),
            st0: fp.fxsave[32..42].try_into().expect("10 bytes"),
        };
        let value = self.with_scope_at(0, |scope| {
            Ok(self.session.debug.return_value(callee_pc, &returned, scope))
        });
        if let Ok(Some(v)) = value {
            self.history.push(v.clone());
            println!(
                "Value returned is ${} = {}",
                self.history.len(),
                v.format(Format::Natural)
            );
        }
    }

    /// `watch`, `rwatch`, `awatch`.
    pub(super) fn cmd_watch(&mut self, args: &str, kind: WatchKind) -> Result<()> {
        let expr = args.trim();
        if expr.is_empty() {
            bail!("argument required (an expression to watch)");
        }
        let v = self.evaluate_in(expr, false)?;
        let addr = v
            .address()
            .ok_or_else(|| anyhow!("cannot watch \"{expr}\": it is not in memory"))?;
        let len = v.byte_size() as usize;
        // A local (on the stack, below the selected frame's CFA) is only
        // meaningful while that frame exists.
        let frames = self.session.backtrace(self.selected_frame + 1)?;
        let scope = frames
            .get(self.selected_frame)
            .filter(|f| {
                let rsp = self.session.timeline.regs().map(|r| r.rsp).unwrap_or(0);
                addr < f.cfa && addr >= rsp.saturating_sub(128)
            })
            .map(|f| self.frame_identity(f));
        let number = self.session.add_watchpoint(expr, RemoteAddr(addr), len, kind)?;
        self.watch_types.insert(number, v.type_name());
        if let Some(cfa) = scope {
            self.watch_scopes.insert(number, cfa);
        }
        println!("{} {number}: {expr}", watch_title(kind));
        Ok(())
    }
}

/// `/x EXPR` into the format and the expression.
pub(super) fn parse_format(args: &str) -> Result<(Format, &str)> {
    match parse_print_format(args)? {
        (_, true, _) => bail!("invalid print format \"/r\" here (only print takes it)"),
        (format, false, expr) => Ok((format, expr)),
    }
}

/// `print`'s format letters: one of x, d, u, o, t, c, a, s, and `r` (raw:
/// without pretty printers) before or after it.
pub(super) fn parse_print_format(args: &str) -> Result<(Format, bool, &str)> {
    let Some(rest) = args.strip_prefix('/') else {
        return Ok((Format::Natural, false, args.trim()));
    };
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let letters = &rest[..end];
    let raw = letters.contains('r');
    let format = match letters.replacen('r', "", 1).as_str() {
        // gdb's `print/r` without a letter takes the last format `print`
        // was given (`decode_format`'s default), not the natural one.
        "" if raw => LAST_FORMAT.with(Cell::get),
        "x" => Format::Hex,
        "d" => Format::Decimal,
        "u" => Format::Unsigned,
        "o" => Format::Octal,
        "t" => Format::Binary,
        "c" => Format::Char,
        "a" => Format::Address,
        // gdb's "as a string if possible": what it prints of strings and
        // character arrays anyway, and of every other value as it is.
        "s" => Format::Natural,
        _ => bail!("invalid print format \"/{letters}\" (use x, d, u, o, t, c, a, s or r)"),
    };
    Ok((format, raw, rest[end..].trim()))
}

thread_local! {
    /// The format of the last `print/FMT`, gdb's `last_format`, which a
    /// later `print/r` without a letter uses.
    static LAST_FORMAT: Cell<Format> = const { Cell::new(Format::Natural) };
}

/// `x/2i` shows its count, `x/i` does not.
fn count_text(count: usize) -> String {
    if count == 1 {
        String::new()
    } else {
        count.to_string()
    }
}

fn format_suffix(f: Format) -> &'static str {
    match f {
        Format::Natural => "",
        Format::Hex => "/x ",
        Format::Decimal => "/d ",
        Format::Unsigned => "/u ",
        Format::Octal => "/o ",
        Format::Binary => "/t ",
        Format::Char => "/c ",
        Format::Address => "/a ",
    }
}
