//! Looking at the program where it stands: frames, registers, memory
//! (`x`), disassembly, source listings, the loaded libraries and mappings.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::Repl;
use crate::session::{base_name, file_and_line, parse_address};
use debuginfo::{Format, FpRegister, Frame, Memory, RegisterClass};

/// What `x/NFU` asks for: how many units, in which format, of what size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XSpec {
    pub count: usize,
    pub format: char,
    pub size: usize,
}

/// gdb's `system` group: what the kernel keeps for the thread.
const SYSTEM_REGISTERS: [&str; 3] = ["fs_base", "gs_base", "orig_rax"];

/// A register `info registers` shows.
enum Shown<'a> {
    /// Its name as typed (`sp`, gdb's alias, shows as `sp`), its own name,
    /// its value.
    Int(&'a str, &'static str, u64),
    Fp(&'a FpRegister),
}

/// Where `disassemble` puts source lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceMode {
    None,
    /// `/s`.
    InAddressOrder,
    /// `/m`.
    InLineOrder,
}

/// `disassemble`'s modifiers.
#[derive(Clone, Copy, Debug)]
struct Disassembly {
    /// `/r` (or `/b`): the instruction bytes.
    raw: bool,
    source: SourceMode,
}

/// Splits `disassemble`'s modifiers (`/rs`, `/m`) from its arguments.
fn disassembly_modifiers(args: &str) -> Result<(Disassembly, &str)> {
    let mut how = Disassembly {
        raw: false,
        source: SourceMode::None,
    };
    let mut rest = args.trim();
    while let Some(m) = rest.strip_prefix('/') {
        let end = m.find(char::is_whitespace).unwrap_or(m.len());
        for c in m[..end].chars() {
            let wanted = match c {
                'r' | 'b' => {
                    how.raw = true;
                    continue;
                }
                's' => SourceMode::InAddressOrder,
                'm' => SourceMode::InLineOrder,
                _ => bail!("Invalid disassembly modifier."),
            };
            if how.source != SourceMode::None && how.source != wanted {
                bail!("Cannot specify both /m and /s.");
            }
            how.source = wanted;
        }
        rest = m[end..].trim_start();
    }
    Ok((how, rest))
}

/// How many lines `list` shows.
const LIST_LINES: u32 = 10;

impl Repl {
    fn frames(&self, limit: usize) -> Result<Vec<Frame>> {
        self.session.backtrace(limit)
    }

    fn selected(&self) -> Result<Frame> {
        let frames = self.frames(self.selected_frame + 1)?;
        frames
            .into_iter()
            .nth(self.selected_frame)
            .ok_or_else(|| anyhow!("no frame {} here", self.selected_frame))
    }

    /// gdb's `backtrace [full] [N | -N]`: the innermost N frames, or the
    /// outermost N, with each frame's locals under it with `full` (or
    /// `-full`). gdb's frame-filter qualifiers change nothing here (rback
    /// has no frame filters).
    pub(super) fn cmd_backtrace(&mut self, args: &str) -> Result<()> {
        let mut full = false;
        let mut count: Option<i64> = None;
        for word in args.split_whitespace() {
            match word {
                // The count comes last.
                other if count.is_some() => bail!("A syntax error in expression, near `{other}'."),
                "full" | "-full" => full = true,
                "no-filters" | "-no-filters" | "hide" | "-hide" => {}
                n => count = Some(n.parse().map_err(|_| anyhow!("invalid frame count \"{n}\""))?),
            }
        }
        // A stack deeper than this is taken as unwinding gone wrong. Only
        // the outermost frames need the whole stack unwound.
        const DEEPEST: usize = 256;
        let frames = self.frames(match count {
            Some(n) if n >= 0 => (n as usize).clamp(1, DEEPEST),
            _ => DEEPEST,
        })?;
        if frames.is_empty() {
            bail!("no stack");
        }
        let shown = match count {
            None => 0..frames.len(),
            Some(n) if n >= 0 => 0..frames.len().min(n as usize),
            Some(n) => frames.len().saturating_sub(n.unsigned_abs() as usize)..frames.len(),
        };
        for i in shown {
            println!("{}", self.session.describe_frame(i, &frames[i]));
            if full {
                self.print_frame_locals(i)?;
            }
        }
        Ok(())
    }

    /// Frame `level`'s locals as `backtrace full` shows them: indented
    /// under the frame, or "No locals.".
    fn print_frame_locals(&self, level: usize) -> Result<()> {
        let locals = self.with_scope_at(level, |scope| self.session.debug.locals(scope));
        match locals {
            Ok(locals) if locals.is_empty() => println!("No locals."),
            Ok(locals) => {
                for (name, v) in locals {
                    println!("        {name} = {}", v.format(debuginfo::Format::Natural));
                }
            }
            // (A frame without debug information.)
            Err(e) => println!("{e}"),
        }
        Ok(())
    }

    /// gdb's `frame [N]`, `frame level N` and `frame function NAME` (the
    /// innermost frame of that function).
    pub(super) fn cmd_frame(&mut self, args: &str) -> Result<()> {
        let mut words = args.split_whitespace();
        let level = match (words.next(), words.next()) {
            (None, _) => None,
            (Some("function"), Some(name)) => {
                if self.session.debug.function_address(name).is_empty() {
                    bail!("Function \"{name}\" not defined.");
                }
                let frames = self.frames(256)?;
                let found = frames.iter().position(|f| {
                    f.location
                        .as_ref()
                        .and_then(|l| l.function.as_deref())
                        .is_some_and(|f| f == name)
                });
                Some(found.ok_or_else(|| anyhow!("No frame for function \"{name}\"."))?)
            }
            (Some("function"), None) => bail!("Missing function name argument"),
            (Some("level"), None) => bail!("Missing argument 'level'"),
            (Some("level"), Some(n)) | (Some(n), None) => Some(
                n.parse::<usize>()
                    .map_err(|_| anyhow!("invalid frame number \"{n}\""))?,
            ),
            (Some(_), Some(_)) => bail!("invalid frame specification \"{args}\""),
        };
        if let Some(n) = level {
            let frames = self.frames(n + 1)?;
            if frames.len() <= n {
                bail!("No frame at level {n}.");
            }
            self.selected_frame = n;
        }
        self.print_selected_frame()
    }

    pub(super) fn cmd_up_down(&mut self, args: &str, up: bool) -> Result<()> {
        let by: usize = match args {
            "" => 1,
            n => n.parse().map_err(|_| anyhow!("invalid frame count \"{n}\""))?,
        };
        let target = if up {
            let frames = self.frames(self.selected_frame + by + 1)?;
            if self.selected_frame + 1 >= frames.len() {
                bail!("Initial frame selected; you cannot go up.");
            }
            (self.selected_frame + by).min(frames.len() - 1)
        } else {
            if self.selected_frame == 0 {
                bail!("Bottom (innermost) frame selected; you cannot go down.");
            }
            self.selected_frame.saturating_sub(by)
        };
        self.selected_frame = target;
        self.print_selected_frame()
    }

    /// gdb's `info source`: the source file of the selected frame, and
    /// what its compilation unit says of itself.
    fn info_source(&self) -> Result<()> {
        let Some((loc, file)) = self.selected().ok().and_then(|f| f.location).and_then(|l| {
            let file = l.file.clone()?;
            Some((l, file))
        }) else {
            println!("No current source file.");
            return Ok(());
        };
        let unit = self.session.debug.unit_at(loc.pc);
        let comp_dir = unit.as_ref().and_then(|u| u.comp_dir.as_ref());
        // Named as it was compiled: relative to the compilation directory
        // when it is in it.
        let named = comp_dir.and_then(|dir| file.strip_prefix(dir).ok()).unwrap_or(&file);
        println!("Current source file is {}", named.display());
        if let Some(dir) = comp_dir {
            println!("Compilation directory is {dir}");
        }
        if let Some(found) = self.session.debug.resolve_source(&file) {
            let found = std::fs::canonicalize(&found).unwrap_or(found);
            println!("Located in {}", found.display());
            if let Some(n) = self.session.debug.source_line_count(&file) {
                println!("Contains {n} lines.");
            }
        }
        if let Some(unit) = unit {
            println!("Source language is {}.", unit.language);
            if let Some(producer) = &unit.producer {
                println!("Producer is {producer}.");
            }
            println!("Compiled with DWARF {} debugging format.", unit.dwarf_version);
            if unit.macros {
                println!("Includes preprocessor macro info.");
            } else {
                println!("Does not include preprocessor macro info.");
            }
        }
        Ok(())
    }

    pub(super) fn print_selected_frame(&mut self) -> Result<()> {
        let frame = self.selected()?;
        println!("{}", self.session.describe_frame(self.selected_frame, &frame));
        if let Some(loc) = &frame.location {
            print!("{}", self.session.source_text(loc));
        }
        self.list_next = None;
        Ok(())
    }

    pub(super) fn cmd_info(&mut self, args: &str) -> Result<()> {
        let (what, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        let rest = rest.trim();
        let subs = [
            "breakpoints",
            "checkpoints",
            "registers",
            "all-registers",
            "frame",
            "sharedlibrary",
            "proc",
            "locals",
            "args",
            "display",
            "threads",
            "line",
            "symbol",
            "watchpoints",
            "inferiors",
            "address",
            "source",
        ];
        if what.is_empty() {
            bail!("\"info\" must be followed by one of: {}", subs.join(", "));
        }
        let aliases = [
            ("b", "breakpoints"),
            ("br", "breakpoints"),
            ("r", "registers"),
            ("reg", "registers"),
            ("f", "frame"),
        ];
        let sub = match aliases.iter().find(|(a, _)| *a == what) {
            Some((_, s)) => *s,
            None => {
                let m: Vec<&str> = subs.iter().copied().filter(|s| s.starts_with(what)).collect();
                match m.as_slice() {
                    [one] => *one,
                    [] => bail!("undefined info command \"{what}\"; try one of: {}", subs.join(", ")),
                    many => bail!("ambiguous info command \"{what}\": {}", many.join(", ")),
                }
            }
        };
        match sub {
            "breakpoints" => self.info_breakpoints(false),
            "watchpoints" => self.info_breakpoints(true),
            "address" => self.info_address(rest),
            "checkpoints" => self.info_checkpoints(),
            "registers" => self.info_registers(rest),
            "all-registers" => self.info_registers("all"),
            "frame" => self.info_frame(),
            "sharedlibrary" => self.info_sharedlibrary(),
            "locals" => self.info_locals(),
            "args" => self.info_args(),
            "display" => self.info_display(),
            "threads" => self.info_threads(),
            "inferiors" => self.info_inferiors(),
            "line" => self.info_line(rest),
            "source" => self.info_source(),
            "symbol" => self.info_symbol(rest),
            "proc" => match rest {
                "mappings" | "map" | "m" => self.info_mappings(),
                _ => bail!("usage: info proc mappings"),
            },
            _ => unreachable!("every name in subs is handled"),
        }
    }

    /// `info registers [REGISTER...|GROUP]`: the general registers, the
    /// ones named, or a group as gdb's groups go (`general`, `float`,
    /// `sse`, `vector`, `system`, `all`).
    fn info_registers(&self, which: &str) -> Result<()> {
        let general = self.general_registers()?;
        let fp = self.fp_registers()?;
        let in_class = |classes: &[RegisterClass]| -> Vec<Shown> {
            fp.iter()
                .filter(|r| classes.contains(&r.class))
                .map(Shown::Fp)
                .collect()
        };
        let ints = |names: &[&str]| -> Vec<Shown> {
            general
                .iter()
                .filter(|(n, _)| names.contains(n))
                .map(|(n, v)| Shown::Int(n, n, *v))
                .collect()
        };
        let gprs: Vec<&str> = general
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !SYSTEM_REGISTERS.contains(n))
            .collect();
        // Without AVX, the vector group holds the xmm registers.
        let has_ymm = fp.iter().any(|r| r.class == RegisterClass::Vector);
        let vector = if has_ymm {
            in_class(&[RegisterClass::Mxcsr, RegisterClass::Vector])
        } else {
            in_class(&[RegisterClass::Sse, RegisterClass::Mxcsr])
        };
        let shown: Vec<Shown> = match which.trim() {
            // As before these groups existed: the general registers with
            // the segment bases.
            "" => general
                .iter()
                .filter(|(n, _)| *n != "orig_rax")
                .map(|(n, v)| Shown::Int(n, n, *v))
                .collect(),
            "general" => ints(&gprs),
            "float" => in_class(&[RegisterClass::Float]),
            "sse" => in_class(&[RegisterClass::Sse, RegisterClass::Mxcsr]),
            "vector" => vector,
            "system" => ints(&SYSTEM_REGISTERS),
            "all" => {
                let mut all = ints(&gprs);
                all.extend(in_class(&[RegisterClass::Float]));
                all.extend(vector);
                all
            }
            names => {
                let mut shown = Vec::new();
                for typed in names.split_whitespace() {
                    let typed = typed.trim_start_matches('$');
                    let w = match typed {
                        "pc" => "rip",
                        "sp" => "rsp",
                        "fp" => "rbp",
                        other => other,
                    };
                    if let Some((n, v)) = general.iter().find(|(n, _)| *n == w) {
                        shown.push(Shown::Int(typed, n, *v));
                    } else if let Some(r) = fp.iter().find(|r| r.name == w) {
                        shown.push(Shown::Fp(r));
                    } else {
                        bail!("Invalid register `{typed}'");
                    }
                }
                shown
            }
        };
        // gdb pads the raw column to 19 and puts a space after it, so a
        // 64-bit value in hex (18 characters) still stands apart.
        for s in shown {
            match s {
                Shown::Int(shown_as, name, value) => {
                    let natural = match name {
                        "rip" => format!("{value:#x}{}", self.symbol_suffix(value)),
                        "eflags" => eflags_text(value),
                        "rbp" | "rsp" => format!("{value:#x}"),
                        _ => format!("{}", value as i64),
                    };
                    println!("{shown_as:<15}{:<19} {natural}", format!("{value:#x}"));
                }
                Shown::Fp(r) if r.is_x87() => {
                    println!(
                        "{:<15}{:<19} (raw {})",
                        r.name,
                        r.value.format(Format::Natural),
                        r.raw_hex()
                    );
                }
                Shown::Fp(r) => match r.bits() {
                    Some(bits) => {
                        let natural = r.value.format(Format::Natural);
                        println!("{:<15}{:<19} {natural}", r.name, format!("{bits:#x}"));
                    }
                    None => println!("{:<15}{}", r.name, r.value.format(Format::Hex)),
                },
            }
        }
        Ok(())
    }

    /// The general registers of the selected frame, by gdb's names and in
    /// its order, the system group's last.
    fn general_registers(&self) -> Result<Vec<(&'static str, u64)>> {
        let r = self.session.timeline.regs()?;
        let frame = self.selected()?;
        // In an outer frame, what the CFI recovered stands in for the
        // registers it describes.
        let (rip, rsp, rbp) = if self.selected_frame == 0 {
            (r.rip, r.rsp, r.rbp)
        } else {
            (frame.regs.rip, frame.regs.rsp, frame.regs.rbp)
        };
        Ok(vec![
            ("rax", r.rax),
            ("rbx", r.rbx),
            ("rcx", r.rcx),
            ("rdx", r.rdx),
            ("rsi", r.rsi),
            ("rdi", r.rdi),
            ("rbp", rbp),
            ("rsp", rsp),
            ("r8", r.r8),
            ("r9", r.r9),
            ("r10", r.r10),
            ("r11", r.r11),
            ("r12", r.r12),
            ("r13", r.r13),
            ("r14", r.r14),
            ("r15", r.r15),
            ("rip", rip),
            ("eflags", r.eflags),
            ("cs", r.cs),
            ("ss", r.ss),
            ("ds", r.ds),
            ("es", r.es),
            ("fs", r.fs),
            ("gs", r.gs),
            ("fs_base", r.fs_base),
            ("gs_base", r.gs_base),
            ("orig_rax", r.orig_rax),
        ])
    }

    /// The floating-point and vector registers of the selected thread (the
    /// same in every frame: no unwinder recovers them).
    pub(super) fn fp_registers(&self) -> Result<Vec<FpRegister>> {
        let fp = self.session.timeline.fp_regs()?;
        Ok(debuginfo::fp_registers(
            &fp.fxsave,
            fp.ymm_high.as_ref().map(|h| &h[..]),
        ))
    }

    /// ` <main+4>` for a code address with a symbol. Data addresses get
    /// none: the nearest function symbol before them would mislead.
    pub(super) fn symbol_suffix(&self, addr: u64) -> String {
        if !self
            .session
            .debug
            .function_range(addr)
            .is_some_and(|r| r.contains(&addr))
        {
            return String::new();
        }
        self.session
            .debug
            .symbolize(addr)
            .and_then(|l| l.symbol_with_offset())
            .map(|s| format!(" <{s}>"))
            .unwrap_or_default()
    }

    /// `x/NFU ADDRESS`.
    pub(super) fn cmd_x(&mut self, args: &str) -> Result<()> {
        let (fmt, rest) = match args.strip_prefix('/') {
            Some(f) => {
                let end = f.find(char::is_whitespace).unwrap_or(f.len());
                (&f[..end], f[end..].trim())
            }
            None => ("", args.trim()),
        };
        let x = self.x_spec(fmt)?;
        let addr = if rest.is_empty() {
            self.x_next
                .ok_or_else(|| anyhow!("argument required (starting display address)"))?
        } else {
            self.address_of(rest)?
        };
        let next = self.examine(x, addr)?;
        if !matches!(x.format, 'i' | 's') {
            self.x_size = x.size;
        }
        self.x_format = x.format;
        self.x_next = Some(next);
        Ok(())
    }

    /// `x`'s `/NFU` (`3i`, `4xb`), with what `x` last used for what it
    /// leaves out.
    pub(super) fn x_spec(&self, fmt: &str) -> Result<XSpec> {
        let digits: String = fmt.chars().take_while(|c| c.is_ascii_digit()).collect();
        let count: usize = if digits.is_empty() {
            1
        } else {
            digits.parse().map_err(|_| anyhow!("invalid count \"{digits}\""))?
        };
        let mut format = self.x_format;
        let mut size = self.x_size;
        let mut size_given = false;
        for c in fmt[digits.len()..].chars() {
            match c {
                'x' | 'd' | 'u' | 'o' | 't' | 'c' | 's' | 'i' | 'a' => format = c,
                'b' => (size, size_given) = (1, true),
                'h' => (size, size_given) = (2, true),
                'w' => (size, size_given) = (4, true),
                'g' => (size, size_given) = (8, true),
                _ => bail!("invalid format letter '{c}' in \"/{fmt}\" (formats: x d u o t c s i a; sizes: b h w g)"),
            }
        }
        if format == 'a' {
            size = 8;
        }
        if format == 'c' && !size_given {
            size = 1;
        }
        Ok(XSpec { count, format, size })
    }

    /// Prints what `x` shows of memory at `addr`; returns the address after
    /// it. `display/i` and `display/s` show their values this way too.
    pub(super) fn examine(&self, x: XSpec, addr: u64) -> Result<u64> {
        let XSpec { count, format, size } = x;
        let mem = self.session.memory();
        Ok(match format {
            'i' => {
                let pc = self.session.pc()?;
                let insns = self.session.debug.disassemble_count(&mem, addr, count);
                if insns.is_empty() {
                    bail!("cannot access memory at address {addr:#x}");
                }
                for i in &insns {
                    let mark = if i.address == pc { "=> " } else { "   " };
                    let sym = i.symbol.as_ref().map(|s| format!(" <{s}>")).unwrap_or_default();
                    println!("{mark}{:#x}{sym}:\t{}", i.address, i.text);
                }
                insns.last().map(|i| i.address + i.bytes.len() as u64).unwrap_or(addr)
            }
            's' => {
                let mut at = addr;
                for _ in 0..count {
                    let (text, len) = read_c_string(&mem, at)?;
                    println!("{at:#x}{}:\t{text}", self.symbol_suffix(at));
                    at += len;
                }
                at
            }
            _ => {
                let per_line = match (format, size) {
                    ('c', _) => 8,
                    (_, 1) | (_, 2) => 8,
                    (_, 4) => 4,
                    _ => 2,
                };
                let total = count * size;
                let bytes = mem
                    .read(addr, total)
                    .ok_or_else(|| anyhow!("cannot access memory at address {addr:#x}"))?;
                for (line_no, line) in bytes.chunks(per_line * size).enumerate() {
                    let at = addr + (line_no * per_line * size) as u64;
                    let items: Vec<String> = line
                        .chunks(size)
                        .map(|unit| {
                            let mut buf = [0u8; 8];
                            buf[..size].copy_from_slice(unit);
                            format_unit(u64::from_le_bytes(buf), size, format, self)
                        })
                        .collect();
                    println!("{at:#x}{}:\t{}", self.symbol_suffix(at), items.join("\t"));
                }
                addr + total as u64
            }
        })
    }

    /// An address as `x` and `disassemble` take it: a number, a register
    /// (`$sp`), a function, or an expression the values code understands.
    pub(super) fn address_of(&self, text: &str) -> Result<u64> {
        let text = text.trim();
        if let Ok(a) = parse_address(text) {
            return Ok(a);
        }
        if let Some(reg) = text.strip_prefix('$') {
            return self.register_value(reg);
        }
        // A function by name is its out-of-line copy, as gdb reads the
        // name, not a copy inlined somewhere.
        if let Some(a) = self
            .evaluate_in(text, false)
            .ok()
            .filter(|v| v.is_function())
            .and_then(|v| v.address())
        {
            return Ok(a);
        }
        if let Some(a) = self.session.debug.function_address(text).first() {
            // gdb's `x/i main` means the function's first byte, not the
            // breakpoint address after its prologue.
            return Ok(self.session.debug.function_range(*a).map_or(*a, |r| r.start));
        }
        self.expression_address(text)
    }

    /// A register of the selected frame by gdb's name (`pc`, `sp`, `rax`).
    pub(super) fn register_value(&self, reg: &str) -> Result<u64> {
        let frame = self.selected()?;
        let r = self.session.timeline.regs()?;
        let outer = self.selected_frame > 0;
        Ok(match reg {
            "pc" | "rip" => frame.pc,
            "sp" | "rsp" if outer => frame.regs.rsp,
            "fp" | "rbp" if outer => frame.regs.rbp,
            "sp" | "rsp" => r.rsp,
            "fp" | "rbp" => r.rbp,
            "rax" => r.rax,
            "rbx" => r.rbx,
            "rcx" => r.rcx,
            "rdx" => r.rdx,
            "rsi" => r.rsi,
            "rdi" => r.rdi,
            "r8" => r.r8,
            "r9" => r.r9,
            "r10" => r.r10,
            "r11" => r.r11,
            "r12" => r.r12,
            "r13" => r.r13,
            "r14" => r.r14,
            "r15" => r.r15,
            "eflags" => r.eflags,
            "fs_base" => r.fs_base,
            "gs_base" => r.gs_base,
            _ => bail!("invalid register \"${reg}\""),
        })
    }

    /// `disassemble[/rsm] [FUNCTION|*ADDRESS|START,END|START,+LENGTH]`.
    pub(super) fn cmd_disassemble(&mut self, args: &str) -> Result<()> {
        let (how, args) = disassembly_modifiers(args)?;
        let pc = self.session.pc()?;
        let frame = self.selected()?;
        let code_address = |text: &str| match text.trim().strip_prefix('*') {
            Some(a) => parse_address(a.trim()).or_else(|_| self.address_of(a)),
            None => self.address_of(text),
        };
        // A function's dump numbers its instructions from its start; a
        // range's names the symbol of each.
        let (range, function) = if let Some((from, to)) = args.split_once(',') {
            let start = code_address(from)?;
            let end = match to.trim().strip_prefix('+') {
                Some(len) => start.wrapping_add(self.address_of(len)?),
                None => code_address(to)?,
            };
            (start..end, None)
        } else {
            let around = if args.is_empty() {
                frame.lookup_pc
            } else {
                code_address(args)?
            };
            let range = self
                .session
                .debug
                .function_range(around)
                .ok_or_else(|| anyhow!("no function contains the address {around:#x}"))?;
            let name = self
                .session
                .debug
                .symbolize(range.start)
                .and_then(|l| l.symbol.or(l.function))
                .unwrap_or_else(|| "??".into());
            (range, Some(name))
        };
        let len = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX);
        let insns = self.session.debug.disassemble(&self.session.memory(), range.start, len);
        if insns.is_empty() && !range.is_empty() {
            bail!("cannot access memory at address {:#x}", range.start);
        }
        match &function {
            Some(name) => println!("Dump of assembler code for function {name}:"),
            None => println!("Dump of assembler code from {:#x} to {:#x}:", range.start, range.end),
        }
        let show = |i: &debuginfo::Instruction| {
            let mark = if i.address == pc { "=> " } else { "   " };
            let place = match function {
                Some(_) => format!(" <+{}>", i.address - range.start),
                None => self
                    .session
                    .debug
                    .symbolize(i.address)
                    .and_then(|l| Some(format!(" <{}+{}>", l.symbol?, l.offset?)))
                    .unwrap_or_default(),
            };
            let raw = if how.raw {
                let bytes: Vec<String> = i.bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("{:<19}\t", bytes.join(" "))
            } else {
                String::new()
            };
            println!("{mark}{:#018x}{place}:\t{raw}{}", i.address, i.text);
        };
        match how.source {
            SourceMode::None => insns.iter().for_each(show),
            SourceMode::InAddressOrder => self.disassemble_with_source(&insns, range.clone(), show),
            SourceMode::InLineOrder => self.disassemble_by_line(&insns, range.clone(), show),
        }
        println!("End of assembler dump.");
        Ok(())
    }

    /// `LINE\tsource` as `list` shows it, or gdb's note when the file is missing.
    fn print_source_line(&self, file: &Path, line: u32) {
        match self.session.debug.source_line(file, line) {
            Some(text) => println!("{line}\t{text}"),
            None => println!("{line}\tin {}", file.display()),
        }
    }

    /// `disassemble /s`: the instructions in address order, each run of
    /// them under its source line. As gdb does, a line is preceded by the
    /// lines before it that have no code of their own (declarations,
    /// comments), back to the last line shown, and a new file is named.
    fn disassemble_with_source(
        &self,
        insns: &[debuginfo::Instruction],
        range: std::ops::Range<u64>,
        show: impl Fn(&debuginfo::Instruction),
    ) {
        // Where the prologue is gone, the first instruction's line is not
        // the opening brace; gdb shows the lines from the first row's on.
        let first_row_line = self.session.debug.line_rows(range).first().map(|(_, _, l)| *l);
        // The lines some instruction is on, as gdb finds them: by each
        // instruction's address, not by every row of the line table.
        let with_code: std::collections::HashSet<(PathBuf, u32)> = insns
            .iter()
            .filter_map(|i| self.session.debug.line_entry(i.address))
            .map(|(_, f, l)| (f, l))
            .collect();
        let mut last: Option<(PathBuf, u32)> = None;
        let mut first = true;
        for i in insns {
            if let Some((_, file, line)) = self.session.debug.line_entry(i.address) {
                let same_file = last.as_ref().is_some_and(|(f, _)| *f == file);
                let last_line = last.as_ref().filter(|_| same_file).map_or(0, |(_, l)| *l);
                if line != last_line || !same_file {
                    let mut from = line;
                    if last_line != 0 && line > last_line + 1 {
                        while from - 1 > last_line && !with_code.contains(&(file.clone(), from - 1)) {
                            from -= 1;
                        }
                    } else if last.is_none() {
                        from = first_row_line.filter(|l| *l < line).unwrap_or(line);
                    }
                    if !first {
                        println!();
                    }
                    if !same_file {
                        println!("{}:", base_name(&file));
                    }
                    for n in from..=line {
                        self.print_source_line(&file, n);
                    }
                    first = false;
                }
                last = Some((file, line));
            }
            show(i);
        }
    }

    /// `disassemble /m`: gdb's older source-centric order, by source line
    /// rather than by address; each line's instructions follow it, lines
    /// without code are shown where they fall.
    fn disassemble_by_line(
        &self,
        insns: &[debuginfo::Instruction],
        range: std::ops::Range<u64>,
        show: impl Fn(&debuginfo::Instruction),
    ) {
        let rows = self.session.debug.line_rows(range.clone());
        // Only the lines of the file the range starts in, as gdb reads one
        // symbol table's lines.
        let Some(file) = self.session.debug.line_entry(range.start).map(|(_, f, _)| f) else {
            insns.iter().for_each(show);
            return;
        };
        let mut blocks: Vec<(u32, std::ops::Range<u64>)> = Vec::new();
        for (k, (addr, f, line)) in rows.iter().enumerate() {
            if *f != file {
                continue;
            }
            let end = rows.get(k + 1).map_or(range.end, |(a, _, _)| *a);
            blocks.push((*line, *addr..end));
        }
        blocks.sort_by_key(|(line, r)| (*line, r.start));
        let mut next_line = 0;
        for (k, (line, block)) in blocks.iter().enumerate() {
            if *line >= next_line {
                let from = if next_line == 0 { *line } else { next_line };
                for n in from..=*line {
                    self.print_source_line(&file, n);
                }
                next_line = line + 1;
            }
            insns.iter().filter(|i| block.contains(&i.address)).for_each(&show);
            if blocks.get(k + 1).is_none_or(|(l, _)| l > line) {
                println!();
            }
        }
    }

    pub(super) fn cmd_list(&mut self, args: &str) -> Result<()> {
        if let Some((from, to)) = args.split_once(',') {
            return self.list_range(from.trim(), to.trim());
        }
        if args == "-" {
            return self.list_before();
        }
        let (file, first) = if args.is_empty() {
            match self.list_next.clone() {
                Some(next) => next,
                None => self.list_here()?,
            }
        } else {
            let (file, line) = self.list_target(args)?;
            (file, line.saturating_sub(LIST_LINES / 2).max(1))
        };
        let count = self.session.debug.source_line_count(&file).ok_or_else(|| {
            anyhow!(
                "cannot find the source file {}; try \"directory\" or \"set substitute-path\"",
                file.display()
            )
        })?;
        if first as usize > count {
            bail!(
                "line number {first} out of range; \"{}\" has {count} lines",
                base_name(&file)
            );
        }
        let last = (first + LIST_LINES - 1).min(count as u32);
        for n in first..=last {
            let text = self.session.debug.source_line(&file, n).unwrap_or_default();
            println!("{n}\t{text}");
        }
        self.list_next = Some((file, last + 1));
        self.list_first = first;
        Ok(())
    }

    /// Where a plain `list` starts when nothing was listed since the last
    /// stop: around the selected frame's line, or (before the program
    /// reaches code with line information: in the loader, at the start)
    /// around main's, as gdb does.
    fn list_here(&self) -> Result<(PathBuf, u32)> {
        let frame = self.selected()?;
        let main = || {
            let addrs = self.session.debug.function_address("main");
            addrs.into_iter().find_map(|a| self.session.debug.line_at(a))
        };
        let (file, line) = frame
            .location
            .as_ref()
            .and_then(|l| Some((l.file.clone()?, l.line?)))
            .or_else(main)
            .ok_or_else(|| anyhow!("no source line information here"))?;
        Ok((file, line.saturating_sub(LIST_LINES / 2).max(1)))
    }

    /// gdb's `list -`: the ten lines before those last listed (before
    /// where a plain `list` would start, if nothing was listed yet).
    fn list_before(&mut self) -> Result<()> {
        let (file, before) = match &self.list_next {
            Some((file, _)) => (file.clone(), self.list_first),
            None => self.list_here()?,
        };
        if before <= 1 {
            bail!("Already at the start of {}.", file.display());
        }
        let first = before.saturating_sub(LIST_LINES).max(1);
        for n in first..before {
            let text = self.session.debug.source_line(&file, n).unwrap_or_default();
            println!("{n}\t{text}");
        }
        // A plain `list` goes on after these lines; another `list -`, before.
        self.list_next = Some((file, before));
        self.list_first = first;
        Ok(())
    }

    /// `list FROM,TO`, `list FROM,` (ten lines from FROM) and `list ,TO`
    /// (ten lines up to TO): FROM and TO are lines or locations, as gdb
    /// takes them; TO alone is a line of FROM's file.
    fn list_range(&mut self, from: &str, to: &str) -> Result<()> {
        let (file, first, last) = match (from.is_empty(), to.is_empty()) {
            (true, true) => bail!("usage: list FROM,TO"),
            (false, _) => {
                let (file, first) = self.list_target(from)?;
                let last = match to.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) if to.is_empty() => first + LIST_LINES - 1,
                    Err(_) => self.list_target(to)?.1,
                };
                (file, first, last)
            }
            (true, false) => {
                let (file, last) = self.list_target(to)?;
                (file, last.saturating_sub(LIST_LINES - 1).max(1), last)
            }
        };
        let count = self.session.debug.source_line_count(&file).ok_or_else(|| {
            anyhow!(
                "cannot find the source file {}; try \"directory\" or \"set substitute-path\"",
                file.display()
            )
        })? as u32;
        if first > count {
            bail!(
                "Line number {first} out of range; \"{}\" has {count} lines.",
                base_name(&file)
            );
        }
        let last = last.min(count);
        for n in first..=last {
            let text = self.session.debug.source_line(&file, n).unwrap_or_default();
            println!("{n}\t{text}");
        }
        self.list_next = Some((file, last + 1));
        self.list_first = first;
        Ok(())
    }

    /// The file and line `list ARG` centres on.
    fn list_target(&self, args: &str) -> Result<(PathBuf, u32)> {
        if let Ok(line) = args.parse::<u32>() {
            let frame = self.selected()?;
            let file = frame
                .location
                .as_ref()
                .and_then(|l| l.file.clone())
                .or_else(|| self.list_next.as_ref().map(|(f, _)| f.clone()))
                .or(self.session.default_source_file()?)
                .ok_or_else(|| anyhow!("no current source file"))?;
            return Ok((file, line));
        }
        let addrs = self.session.resolve_location(args)?;
        let addr = addrs.first().context("no code there")?;
        // A function is listed around its entry's line (gdb's), not the
        // line after its prologue, where a breakpoint on it goes.
        let function = (!args.starts_with('*'))
            .then(|| args.rsplit(':').next().unwrap_or(args))
            .filter(|f| f.parse::<u32>().is_err());
        let entry = function.and_then(|name| {
            let start = self.session.debug.function_range(addr.0)?.start;
            let here = self.session.debug.symbolize(start)?;
            (here.function.as_deref() == Some(name)).then_some(start)
        });
        let (file, line) = self
            .session
            .debug
            .line_at(entry.unwrap_or(addr.0))
            .ok_or_else(|| anyhow!("no line information for \"{args}\""))?;
        // For FILE:LINE centre on the line asked for, not the one with code.
        let line = match args.rsplit_once(':').and_then(|(_, l)| l.parse::<u32>().ok()) {
            Some(asked) => asked,
            None => line,
        };
        Ok((file, line))
    }

    /// `info frame`: the selected frame's addresses as gdb lists them:
    /// where it is and was called from, its neighbours' CFAs, its language,
    /// arguments, and where it saved its caller's registers.
    fn info_frame(&self) -> Result<()> {
        let level = self.selected_frame;
        let frames = self.frames(level + 2)?;
        let frame = frames.get(level).ok_or_else(|| anyhow!("No stack."))?;
        if frame.inlined {
            // gdb describes an inlined call's frame by the code around it,
            // in ways that have little to do with it; rback does not.
            bail!("info frame does not describe the frame of an inlined call yet");
        }
        let loc = frame.location.clone();
        println!("Stack level {level}, frame at {:#x}:", frame.cfa);
        let mut line = format!(" rip = {:#x}", frame.pc);
        if let Some(loc) = &loc {
            let name = debuginfo::without_parameters(loc.function.as_deref().unwrap_or("??"));
            match (&loc.file, loc.line) {
                (Some(f), Some(l)) => line.push_str(&format!(" in {name} ({}:{l})", base_name(f))),
                _ => line.push_str(&format!(" in {name}")),
            }
        }
        // The return address where the frame saved it, which is there for
        // `main` too, whose caller the backtrace leaves out.
        let saved_rip = frame
            .saved
            .iter()
            .find(|(reg, _)| *reg == 16)
            .and_then(|(_, at)| self.session.memory().read(*at, 8))
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .or(frames.get(level + 1).map(|caller| caller.pc));
        if let Some(rip) = saved_rip {
            line.push_str(&format!("; saved rip = {rip:#x}"));
        }
        println!("{line}");
        let mut neighbours = Vec::new();
        if let Some(caller) = frames.get(level + 1) {
            neighbours.push(format!("called by frame at {:#x}", caller.cfa));
        }
        if level > 0 {
            let inner = &self.frames(level)?[level - 1];
            neighbours.push(format!("caller of frame at {:#x}", inner.cfa));
        }
        if !neighbours.is_empty() {
            println!(" {}", neighbours.join(", "));
        }
        if let Some(lang) = self.session.debug.language_at(frame.lookup_pc) {
            println!(" source language {lang}.");
        }
        // gdb's frame base on x86-64: where the frame pointer would be saved.
        let base = frame.cfa - 16;
        let args = self.with_scope_at(level, |scope| Ok(self.session.debug.frame_args_summary(scope)))?;
        println!(" Arglist at {base:#x}, args: {args}");
        println!(" Locals at {base:#x}, Previous frame's sp is {:#x}", frame.cfa);
        if !frame.saved.is_empty() {
            // In gdb's register order: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip.
            const ORDER: [(u16, &str); 17] = [
                (0, "rax"),
                (3, "rbx"),
                (2, "rcx"),
                (1, "rdx"),
                (4, "rsi"),
                (5, "rdi"),
                (6, "rbp"),
                (7, "rsp"),
                (8, "r8"),
                (9, "r9"),
                (10, "r10"),
                (11, "r11"),
                (12, "r12"),
                (13, "r13"),
                (14, "r14"),
                (15, "r15"),
                (16, "rip"),
            ];
            let saved: Vec<String> = ORDER
                .iter()
                .filter_map(|(reg, name)| {
                    let (_, at) = frame.saved.iter().find(|(r, _)| r == reg)?;
                    Some(format!("{name} at {at:#x}"))
                })
                .collect();
            println!(" Saved registers:\n  {}", saved.join(", "));
        }
        Ok(())
    }

    /// `info symbol ADDR`: which symbol an address is in, and where.
    fn info_symbol(&self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("Argument required (address).");
        }
        let addr = self.expression_address(args)?;
        match self.session.debug.symbol_info(addr) {
            Some(text) => println!("{text}"),
            None => println!("No symbol matches {args}."),
        }
        Ok(())
    }

    /// `info line [LOCATION]`: the addresses of a source line's code, as
    /// gdb's line table has them (the selected frame's line without an
    /// argument; a function's opening line for a function).
    fn info_line(&self, args: &str) -> Result<()> {
        // With no argument after a `list`, gdb's default line is the first
        // one listed.
        let listed = match (&self.list_next, args.is_empty()) {
            (Some((file, _)), true) => format!("{}:{}", file.display(), self.list_first),
            _ => args.to_string(),
        };
        let args = listed.as_str();
        let at = |a: u64| {
            let symbol = self.session.debug.symbolize(a).and_then(|l| l.symbol_with_offset());
            match symbol {
                Some(s) => format!("{a:#x} <{s}>"),
                None => format!("{a:#x}"),
            }
        };
        // A line number, alone or after a file name: the line table's own
        // first address for it, with no prologue skipped.
        let line_spec = match args.rsplit_once(':') {
            Some((file, l)) => l.parse::<u32>().ok().map(|l| (Some(file.to_string()), l)),
            None => args.parse::<u32>().ok().map(|l| (None, l)),
        };
        let addr = if args.is_empty() {
            self.selected()?.lookup_pc
        } else if let Some((file, line)) = line_spec {
            let file = match file {
                Some(f) => f,
                None => self
                    .session
                    .default_source_file()?
                    .map(|f| f.to_string_lossy().into_owned())
                    .ok_or_else(|| anyhow!("no default source file"))?,
            };
            let shown = base_name(Path::new(&file));
            let (addr, exact) = self
                .session
                .debug
                .line_table_address(&file, line)
                .ok_or_else(|| anyhow!("Line {line} is out of range for \"{shown}\"."))?;
            if !exact {
                println!(
                    "Line {line} of \"{shown}\" is at address {} but contains no code.",
                    at(addr)
                );
                return Ok(());
            }
            addr
        } else {
            let addr = self.session.resolve_location(args)?.first().context("no code there")?.0;
            match self.session.debug.function_range(addr) {
                Some(f) if !args.starts_with('*') => f.start,
                _ => addr,
            }
        };
        let Some((range, file, line)) = self.session.debug.line_entry(addr) else {
            bail!("No line number information available for address {addr:#x}");
        };
        println!(
            "Line {line} of \"{}\" starts at address {} and ends at {}.",
            base_name(&file),
            at(range.start),
            at(range.end)
        );
        Ok(())
    }

    fn info_sharedlibrary(&self) -> Result<()> {
        let exe = self.session.debug.modules().next().map(|m| m.file.clone());
        let mut rows: Vec<(u64, u64, String)> = Vec::new();
        for module in self.session.debug.modules() {
            if Some(&module.file) == exe.as_ref() {
                continue;
            }
            let maps: Vec<_> = self
                .session
                .mapped_files()
                .iter()
                .filter(|m| m.file == module.file)
                .collect();
            let from = maps.iter().map(|m| m.start).min().unwrap_or(0);
            let to = maps.iter().map(|m| m.end).max().unwrap_or(0);
            rows.push((from, to, module.name.clone()));
        }
        if rows.is_empty() {
            println!("No shared libraries loaded at this time.");
            return Ok(());
        }
        println!("From                To                  Shared Object Library");
        for (from, to, name) in rows {
            println!("{from:#018x}  {to:#018x}  {name}");
        }
        Ok(())
    }

    fn info_mappings(&self) -> Result<()> {
        let pid = self.session.timeline.pid();
        let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .with_context(|| format!("cannot read the mappings of process {pid}"))?;
        println!("Mapped address spaces:\n");
        println!(
            "{:>18} {:>18} {:>10} {:>10}  {:<5} objfile",
            "Start Addr", "End Addr", "Size", "Offset", "Perms"
        );
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let (Some(range), Some(perms), Some(offset)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            let path = fields.nth(2).unwrap_or("");
            let Some((start, end)) = range.split_once('-') else {
                continue;
            };
            let (Ok(start), Ok(end), Ok(offset)) = (
                u64::from_str_radix(start, 16),
                u64::from_str_radix(end, 16),
                u64::from_str_radix(offset, 16),
            ) else {
                continue;
            };
            let name = self
                .session
                .mapped_files()
                .iter()
                .find(|m| m.file == Path::new(path))
                .map(|m| m.name.clone())
                .unwrap_or_else(|| path.to_string());
            println!(
                "{start:#18x} {end:#18x} {:#10x} {offset:#10x}  {perms:<5} {name}",
                end - start
            );
        }
        Ok(())
    }

    pub(super) fn cmd_directory(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("usage: directory DIR");
        }
        for dir in args.split(':').filter(|d| !d.is_empty()) {
            let path = PathBuf::from(dir);
            if !path.is_dir() {
                bail!("{dir}: no such directory");
            }
            self.session.add_directory(path);
        }
        println!("Source directories searched: {args}");
        Ok(())
    }

    pub(super) fn cmd_set(&mut self, args: &str) -> Result<()> {
        let mut words = args.split_whitespace();
        match words.next() {
            Some("substitute-path") => {
                let (Some(from), Some(to), None) = (words.next(), words.next(), words.next()) else {
                    bail!("usage: set substitute-path FROM TO");
                };
                self.session.add_substitution(PathBuf::from(from), PathBuf::from(to));
                Ok(())
            }
            Some("follow-fork-mode") => match (words.next(), words.next()) {
                (Some(mode), None) => self.set_follow_fork_mode(mode),
                _ => bail!("Requires an argument. Valid arguments are child, parent."),
            },
            Some("var" | "variable") => self.cmd_set_var(
                args.trim_start()
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, rest)| rest),
            ),
            Some(reg) if reg.starts_with('$') => self.cmd_set_var(args),
            Some(other) => {
                bail!("unknown setting \"{other}\" (rback knows: substitute-path, follow-fork-mode, var, $REG)")
            }
            None => bail!("usage: set substitute-path FROM TO"),
        }
    }

    /// A frame's place for messages: `main () at t.c:5`.
    pub(super) fn place(&self) -> String {
        let Ok(pc) = self.session.pc() else {
            return String::new();
        };
        match self.session.debug.symbolize(pc) {
            Some(loc) if loc.file.is_some() => format!(
                "{} () at {}",
                loc.function.as_deref().unwrap_or("??"),
                file_and_line(&loc)
            ),
            Some(loc) => format!("{pc:#x} in {} ()", loc.function.as_deref().unwrap_or("??")),
            None => format!("{pc:#x}"),
        }
    }
}

fn eflags_text(v: u64) -> String {
    let flags = [
        (0, "CF"),
        (2, "PF"),
        (4, "AF"),
        (6, "ZF"),
        (7, "SF"),
        (8, "TF"),
        (9, "IF"),
        (10, "DF"),
        (11, "OF"),
    ];
    let set: Vec<&str> = flags
        .iter()
        .filter(|(bit, _)| v & (1 << bit) != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("[ {} ]", set.join(" "))
}

fn format_unit(v: u64, size: usize, format: char, repl: &Repl) -> String {
    let bits = size * 8;
    let signed = if bits == 64 {
        v as i64
    } else {
        let shift = 64 - bits;
        ((v << shift) as i64) >> shift
    };
    match format {
        'x' => format!("{v:#0width$x}", width = size * 2 + 2),
        'd' => signed.to_string(),
        'u' => v.to_string(),
        'o' => format!("0{v:o}"),
        't' => format!("{v:0width$b}", width = bits),
        'c' => format!("{} {}", signed, char_literal(v as u8)),
        'a' => format!("{v:#x}{}", repl.symbol_suffix(v)),
        _ => format!("{v:#x}"),
    }
}

/// `'a'`, `'\n'`, `'\377'`, as gdb shows a char.
fn char_literal(b: u8) -> String {
    match b {
        b'\n' => "'\\n'".into(),
        b'\t' => "'\\t'".into(),
        b'\r' => "'\\r'".into(),
        0 => "'\\000'".into(),
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        32..=126 => format!("'{}'", b as char),
        _ => format!("'\\{b:03o}'"),
    }
}

/// A NUL-terminated string at `addr` as gdb's `x/s` shows it, and the
/// bytes it takes (with the NUL). Long strings are cut at 200 characters.
fn read_c_string(mem: &dyn Memory, addr: u64) -> Result<(String, u64)> {
    const LIMIT: usize = 200;
    let mut bytes = Vec::new();
    let mut at = addr;
    loop {
        let b = mem
            .read(at, 1)
            .ok_or_else(|| anyhow!("cannot access memory at address {at:#x}"))?[0];
        at += 1;
        if b == 0 {
            break;
        }
        bytes.push(b);
        if bytes.len() >= LIMIT {
            break;
        }
    }
    let mut text = String::from("\"");
    for &b in &bytes {
        match b {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            32..=126 => text.push(b as char),
            _ => text.push_str(&format!("\\{b:03o}")),
        }
    }
    text.push('"');
    if bytes.len() >= LIMIT {
        text.push_str("...");
    }
    Ok((text, at - addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory that is one buffer at 0x1000.
    struct Buffer(Vec<u8>);

    impl Memory for Buffer {
        fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            let start = usize::try_from(addr.checked_sub(0x1000)?).ok()?;
            self.0.get(start..start + len).map(<[u8]>::to_vec)
        }
    }

    #[test]
    fn flags_and_chars_as_gdb_shows_them() {
        assert_eq!(eflags_text(0x246), "[ PF ZF IF ]");
        assert_eq!(eflags_text(0), "[  ]");
        assert_eq!(char_literal(b'a'), "'a'");
        assert_eq!(char_literal(b'\n'), "'\\n'");
        assert_eq!(char_literal(0xff), "'\\377'");
    }

    #[test]
    fn c_strings_are_escaped_and_end_at_nul_or_unreadable_memory() {
        let mem = Buffer(b"hi \"you\"\n\x01\0next".to_vec());
        assert_eq!(
            read_c_string(&mem, 0x1000).unwrap(),
            ("\"hi \\\"you\\\"\\n\\001\"".to_string(), 11)
        );
        let e = read_c_string(&mem, 0x100b).unwrap_err().to_string();
        assert_eq!(e, "cannot access memory at address 0x100f");
    }
}
