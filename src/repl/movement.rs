//! Moving through the recording: by breakpoint, by instruction and by
//! source line, forward and backward.
//!
//! Everything is built from the timeline's four primitives (`cont`, `stepi`
//! and their reverse twins) plus internal breakpoints that are not the
//! user's. Running over a call uses a breakpoint at the return address
//! checked against the stack pointer, so a recursive call that returns to
//! the same address in a deeper frame does not count. Running back over a
//! call uses a breakpoint at the callee's entry checked the same way.

use anyhow::{anyhow, bail, Result};

use recorder::timeline::{StopReason, WatchKind};
use recorder::{EventIdx, RemoteAddr};

use super::breakpoints::parse_count;
use super::Repl;
use crate::position::{GotoTarget, GOTO_USAGE};
use debuginfo::{Memory, Registers};

/// The most instructions a backward walk out of a function without symbols
/// may take, one reverse step each, before giving up.
const WALK_LIMIT: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Primitive {
    Cont,
    ReverseCont,
    Stepi,
    ReverseStepi,
}

/// Where a multi-step movement was when it began, to decide how to print
/// where it ends.
struct Origin {
    function: Option<u64>,
    cfa: Option<u64>,
    /// The function of the frame shown as #0 (an inlined call's, or the
    /// caller of inlined calls shown from outside).
    shown: Option<String>,
}

/// Signals gdb neither stops for nor prints by default (`info signals`:
/// SIGALRM, SIGURG, SIGIO, SIGVTALRM, SIGPROF, SIGCHLD, SIGWINCH): a
/// continue passes them to the program and goes on.
fn is_quiet_signal(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGALRM | libc::SIGURG | libc::SIGIO | libc::SIGVTALRM | libc::SIGPROF | libc::SIGCHLD | libc::SIGWINCH
    )
}

impl Repl {
    /// One timeline primitive, then the session catches up with the maps.
    fn primitive(&mut self, p: Primitive) -> Result<StopReason> {
        if self.interrupted.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Ok(StopReason::Interrupted);
        }
        let reason = loop {
            let tl = &mut self.session.timeline;
            let reason = match p {
                Primitive::Cont => tl.cont(),
                Primitive::ReverseCont => tl.reverse_cont(),
                Primitive::Stepi => tl.stepi(),
                Primitive::ReverseStepi => tl.reverse_stepi(),
            }?;
            // gdb's default `handle` table: these pass silently.
            match reason {
                // A new program: breakpoints follow it (see `Session::refresh`).
                StopReason::Exec => self.session.refresh()?,
                StopReason::Signal(sig)
                    if is_quiet_signal(sig) && !matches!(p, Primitive::Stepi | Primitive::ReverseStepi) => {}
                other => break other,
            }
        };
        self.session.refresh()?;
        self.session.hide_inlined_calls_starting_here(Some(reason));
        self.selected_frame = 0;
        self.list_next = None;
        self.x_next = None;
        Ok(reason)
    }

    fn regs(&self) -> Result<Registers> {
        self.session.registers()
    }

    fn read_u64(&self, addr: u64) -> Result<u64> {
        let bytes = self
            .session
            .memory()
            .read(addr, 8)
            .ok_or_else(|| anyhow!("cannot access memory at address {addr:#x}"))?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("read 8 bytes")))
    }

    /// The canonical frame address of the innermost frame.
    fn cfa(&self) -> Option<u64> {
        self.session.backtrace(1).ok()?.first().map(|f| f.cfa)
    }

    fn origin(&self) -> Result<Origin> {
        let pc = self.regs()?.rip;
        let shown = self.session.backtrace(1).ok().and_then(|frames| {
            let loc = frames.into_iter().next()?.location?;
            loc.function
        });
        Ok(Origin {
            function: self.session.debug.function_range(pc).map(|r| r.start),
            cfa: self.cfa(),
            shown,
        })
    }

    /// Counts a hit of a user breakpoint at `addr` if its condition holds;
    /// `false` means run on.
    fn user_hit(&mut self, addr: RemoteAddr) -> Result<bool> {
        let Some(bp) = self.session.breakpoint_at(addr) else {
            return Ok(true);
        };
        let number = bp.number;
        if let Some(cond) = bp.condition.clone() {
            match self.condition_holds(&cond) {
                Ok(false) => return Ok(false),
                Ok(true) => {}
                Err(e) => {
                    self.stop_spinner();
                    eprintln!(
                        "Error in testing condition for breakpoint {number}: {}",
                        crate::one_line(&e)
                    );
                }
            }
        }
        let Some(bp) = self.session.breakpoints.iter_mut().find(|b| b.number == number) else {
            return Ok(true);
        };
        bp.hits += 1;
        if bp.ignore > 0 {
            bp.ignore -= 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// A watchpoint stop that its ignore count passes over: counted as a
    /// hit, its value remembered for the next stop's "Old value".
    fn watch_ignored(&mut self, addr: RemoteAddr, kind: WatchKind) -> bool {
        let Some(number) = self.session.watchpoint_at(addr, kind).map(|w| w.number) else {
            return false;
        };
        let Some(w) = self.session.breakpoints.iter_mut().find(|b| b.number == number) else {
            return false;
        };
        if w.ignore == 0 {
            return false;
        }
        w.ignore -= 1;
        w.hits += 1;
        self.session.snapshot_watches();
        true
    }

    /// Prints a stop gdb's way, then retires a temporary breakpoint that caused it.
    fn report(&mut self, reason: StopReason) {
        self.stop_spinner();
        let at = match reason {
            StopReason::Breakpoint(addr) => self.session.breakpoint_at(addr),
            StopReason::Watchpoint { addr, kind } => self.session.watchpoint_at(addr, kind),
            _ => None,
        };
        self.stop_breakpoint = at.map(|b| (b.number, self.session.timeline.position()));
        self.announce_thread();
        if let StopReason::Watchpoint { addr, kind } = reason {
            // Another frame reusing a returned frame's stack is no change
            // to what was watched.
            if !self.retire_out_of_scope_watches() {
                self.report_watch(addr, kind);
            }
            print!("{}", self.session.describe_here(true));
            self.show_displays();
            return;
        }
        let stop = match self.repeating {
            Some((done, of)) if reason == StopReason::Interrupted => {
                format!(
                    "Interrupted after {done} of {of}.\n{}",
                    self.session.describe_here(true)
                )
            }
            _ => self.session.describe_stop(reason),
        };
        print!("{}", self.with_thread_prefix(stop));
        if let StopReason::Breakpoint(addr) = reason {
            if let Some(bp) = self.session.breakpoint_at(addr).filter(|b| b.temporary) {
                let n = bp.number;
                let _ = self.session.delete_breakpoint(n);
            }
        }
        self.show_displays();
    }

    /// Prints where a line or instruction step ended: just the source line
    /// when still in the same function and frame, else the whole location.
    fn report_step(&mut self, origin: &Origin) -> Result<()> {
        if self.quiet_steps {
            return Ok(());
        }
        self.stop_spinner();
        let here = self.origin()?;
        let pc = self.regs()?.rip;
        // The frame shown as #0: the innermost, or the caller of inlined
        // calls that start here.
        let shown = self.session.backtrace(1)?.into_iter().next();
        let loc = shown.as_ref().and_then(|f| f.location.clone());
        let same = here.function.is_some()
            && here.function == origin.function
            && here.cfa == origin.cfa
            && here.shown == origin.shown;
        match loc.filter(|l| same && l.line.is_some()) {
            Some(loc) => {
                let at_start = self.session.debug.is_line_start(pc) || shown.is_some_and(|f| f.inline_depth > 0);
                if !at_start {
                    print!("{pc:#018x}\t");
                }
                print!("{}", self.session.source_text(&loc));
            }
            None => print!("{}", self.session.describe_here(true)),
        }
        self.show_displays();
        Ok(())
    }

    /// `continue [N]` (`reverse-continue [N]`): with N, the breakpoint the
    /// program stopped at is passed N-1 more times, as gdb's `continue N`
    /// sets its ignore count. Like gdb, it says so only at the terminal.
    pub(super) fn cmd_continue(&mut self, args: &str, reverse: bool) -> Result<()> {
        if !args.is_empty() {
            let count = parse_count(args)?;
            let here = self.session.timeline.position();
            match self.stop_breakpoint.filter(|(_, at)| *at == here) {
                Some((number, _)) => self.set_ignore_count(number, count.saturating_sub(1))?,
                None if self.asks => println!("Not stopped at any breakpoint; argument ignored."),
                None => {}
            }
        }
        let p = if reverse {
            Primitive::ReverseCont
        } else {
            Primitive::Cont
        };
        loop {
            let from = self.session.timeline.position().event;
            let reason = self.primitive(p)?;
            if !reverse && self.follow_forked_child(from)? {
                // gdb goes on running the child it now follows.
                continue;
            }
            if let StopReason::Breakpoint(addr) = reason {
                if !self.user_hit(addr)? {
                    continue;
                }
            }
            if let StopReason::Watchpoint { addr, kind } = reason {
                if self.watch_ignored(addr, kind) {
                    continue;
                }
            }
            self.report(reason);
            return Ok(());
        }
    }

    /// Runs until one of `addrs` is reached where `want` holds, with them
    /// as internal breakpoints. `Some(reason)` when something else stopped
    /// the program first: a user breakpoint, a signal, an end.
    fn run_to(
        &mut self,
        reverse: bool,
        addrs: &[RemoteAddr],
        want: &dyn Fn(&Registers) -> bool,
    ) -> Result<Option<StopReason>> {
        for &a in addrs {
            self.session.timeline.set_breakpoint(a);
        }
        let result = self.run_to_inner(reverse, addrs, want);
        for &a in addrs {
            self.session.timeline.remove_breakpoint(a);
        }
        self.session.sync_breakpoints();
        result
    }

    fn run_to_inner(
        &mut self,
        reverse: bool,
        addrs: &[RemoteAddr],
        want: &dyn Fn(&Registers) -> bool,
    ) -> Result<Option<StopReason>> {
        let p = if reverse {
            Primitive::ReverseCont
        } else {
            Primitive::Cont
        };
        loop {
            let reason = self.primitive(p)?;
            match reason {
                StopReason::Breakpoint(addr) => {
                    if addrs.contains(&addr) && want(&self.regs()?) {
                        return Ok(None);
                    }
                    if self.session.is_user_breakpoint(addr) && self.user_hit(addr)? {
                        return Ok(Some(reason));
                    }
                }
                other => return Ok(Some(other)),
            }
        }
    }

    /// A stop at a user breakpoint that a single step forward arrived at:
    /// gdb keeps its breakpoints in while it steps, so a step that reaches
    /// one ends there as a breakpoint stop (if its condition holds).
    fn stepped_onto_breakpoint(&mut self) -> Result<Option<StopReason>> {
        let pc = RemoteAddr(self.regs()?.rip);
        if self.session.is_user_breakpoint(pc) && self.user_hit(pc)? {
            let reason = StopReason::Breakpoint(pc);
            self.session.hide_inlined_calls_starting_here(Some(reason));
            return Ok(Some(reason));
        }
        Ok(None)
    }

    /// Whether the instruction just run (forward) was a call: the stack
    /// grew by the return address, which points just past the old pc.
    fn entered_call(&self, before: &Registers, now: &Registers) -> Result<bool> {
        if now.rsp != before.rsp.wrapping_sub(8) {
            return Ok(false);
        }
        let ret = self.read_u64(now.rsp)?;
        Ok(ret > before.rip && ret <= before.rip + 15 && now.rip != ret)
    }

    /// Whether the instruction just undone (backward) was a return: we now
    /// stand on a `ret` whose return address is where we were.
    fn undid_return(&self, before: &Registers, now: &Registers) -> Result<bool> {
        Ok(now.rsp == before.rsp.wrapping_sub(8) && self.read_u64(now.rsp)? == before.rip)
    }

    /// The call instruction that returns to `ret`: the one instruction
    /// that decodes as a call ending exactly there (x86 calls are 2 to 7
    /// bytes long).
    fn call_site(&self, ret: u64) -> Option<u64> {
        let mem = self.session.memory();
        (2..=7u64).find_map(|len| {
            let start = ret.checked_sub(len)?;
            let insn = self
                .session
                .debug
                .disassemble_count(&mem, start, 1)
                .into_iter()
                .next()?;
            (insn.mnemonic.starts_with("call") && insn.bytes.len() as u64 == len).then_some(start)
        })
    }

    /// From inside a callee whose frame's CFA is `callee_cfa` and that
    /// returns to `ret`, goes back to the call instruction in its caller.
    /// The breakpoint goes on the call site rather than the callee's entry:
    /// the caller's code is there from an earlier checkpoint on, where a
    /// library the callee lives in may not be mapped yet.
    fn back_to_call(&mut self, callee_cfa: u64, ret: u64) -> Result<Option<StopReason>> {
        if let Some(call) = self.call_site(ret) {
            return self.run_to(true, &[RemoteAddr(call)], &|regs| regs.rsp == callee_cfa);
        }
        let pc = self.regs()?.rip;
        if let Some(range) = self.session.debug.function_range(pc) {
            if pc != range.start {
                let entry = [RemoteAddr(range.start)];
                if let Some(r) = self.run_to(true, &entry, &|regs| regs.rsp == callee_cfa - 8)? {
                    return Ok(Some(r));
                }
            }
        }
        // At the entry (or anywhere without symbols): step back to the
        // call, through a PLT stub if there is one.
        for _ in 0..WALK_LIMIT {
            if self.regs()?.rsp >= callee_cfa {
                return Ok(None);
            }
            let r = self.primitive(Primitive::ReverseStepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
        }
        bail!("could not find the call of this function within {WALK_LIMIT} instructions")
    }

    /// `stepi`, `nexti` and their reverse twins. `Ok(false)`: stopped early.
    pub(super) fn cmd_stepi(&mut self, over_calls: bool, reverse: bool) -> Result<bool> {
        let origin = self.origin()?;
        let before = self.regs()?;
        let stopped = if reverse {
            let r = self.primitive(Primitive::ReverseStepi)?;
            if r != StopReason::Stepped {
                Some(r)
            } else if over_calls && self.undid_return(&before, &self.regs()?)? {
                self.back_to_call(before.rsp, before.rip)?
            } else {
                None
            }
        } else {
            let call = over_calls
                .then(|| {
                    let insn = self
                        .session
                        .debug
                        .disassemble_count(&self.session.memory(), before.rip, 1);
                    insn.into_iter()
                        .next()
                        .filter(|i| i.mnemonic.starts_with("call"))
                        .map(|i| i.address + i.bytes.len() as u64)
                })
                .flatten();
            match call {
                Some(next) => self.run_to(false, &[RemoteAddr(next)], &|regs| regs.rsp == before.rsp)?,
                None => {
                    let r = self.primitive(Primitive::Stepi)?;
                    (r != StopReason::Stepped).then_some(r)
                }
            }
        };
        match stopped {
            Some(reason) => {
                self.report(reason);
                Ok(false)
            }
            None => {
                self.report_step(&origin)?;
                Ok(true)
            }
        }
    }

    /// `step`, `next`, `reverse-step`, `reverse-next`.
    pub(super) fn cmd_step(&mut self, over_calls: bool, reverse: bool) -> Result<bool> {
        if !over_calls && !reverse && self.session.hidden_inline > 0 {
            // At the start of an inlined call shown from its caller, `step`
            // goes into it without running anything, as in gdb.
            self.session.hidden_inline -= 1;
            self.selected_frame = 0;
            if !self.quiet_steps {
                self.stop_spinner();
                print!("{}", self.session.describe_here(true));
                self.show_displays();
            }
            return Ok(true);
        }
        let origin = self.origin()?;
        let stopped = if reverse {
            self.reverse_line(over_calls)?
        } else {
            self.forward_line(over_calls, None)?
        };
        match stopped {
            Some(reason) => {
                self.report(reason);
                Ok(false)
            }
            None => {
                self.report_step(&origin)?;
                Ok(true)
            }
        }
    }

    /// Steps forward to the start of another source line. `until_past`:
    /// for `until`, lines at or before this address in the same frame (a
    /// loop's jump back) do not count.
    fn forward_line(&mut self, over_calls: bool, until_past: Option<u64>) -> Result<Option<StopReason>> {
        let pc = self.regs()?.rip;
        let Some(mut range) = self.session.debug.line_range(pc) else {
            bail!("no line information here; use stepi, or finish to get out of this function");
        };
        let mut line = self.session.debug.line_at(pc).map(|(_, l)| l);
        let mut frame_cfa = self.cfa().ok_or_else(|| anyhow!("cannot find the current frame"))?;
        loop {
            let before = self.regs()?;
            let r = self.primitive(Primitive::Stepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
            if let Some(r) = self.stepped_onto_breakpoint()? {
                return Ok(Some(r));
            }
            let now = self.regs()?;
            if self.entered_call(&before, &now)? {
                let has_lines = self.session.debug.line_range(now.rip).is_some();
                if !over_calls && has_lines {
                    // Into the callee, past its prologue: where a
                    // breakpoint on the function would stop.
                    return self.past_prologue(now.rip);
                }
                let ret = self.read_u64(now.rsp)?;
                let want = now.rsp + 8;
                if let Some(r) = self.run_to(false, &[RemoteAddr(ret)], &|regs| regs.rsp == want)? {
                    return Ok(Some(r));
                }
            }
            let now = self.regs()?;
            if range.contains(&now.rip) {
                continue;
            }
            if now.rsp > frame_cfa.wrapping_sub(8) {
                // Returned into the caller, in the middle of the line of
                // the call: go on to the start of another line there, as
                // gdb does. The call's line is that of the instruction
                // before the return address.
                let Some(r) = self.session.debug.line_range(now.rip) else {
                    return Ok(None);
                };
                let call_line = self.session.debug.line_at(now.rip - 1).map(|(_, l)| l);
                let here = self.session.debug.line_at(now.rip).map(|(_, l)| l);
                frame_cfa = self.cfa().unwrap_or(now.rsp + 8);
                if self.session.is_statement(now.rip) && here != call_line {
                    return Ok(None);
                }
                range = r;
                line = call_line;
                continue;
            }
            let Some(r) = self.session.debug.line_range(now.rip) else {
                return Ok(None);
            };
            let new_line = self.session.debug.line_at(now.rip).map(|(_, l)| l);
            if let Some(limit) = until_past {
                if now.rip <= limit {
                    range = r;
                    continue;
                }
            }
            // Only a statement of another line stops the step: coming
            // back to the start of the same line (a loop's condition,
            // placed after its body) does not, as in gdb.
            if self.session.is_statement(now.rip) && new_line != line {
                return Ok(None);
            }
            // Landing in the middle of another line makes it the line
            // being stepped, as gdb refreshes its step range there.
            range = r;
            line = new_line;
        }
    }

    /// The address `break FUNCTION` would use for the function entered at
    /// `entry`, when it lies past the entry (there is a prologue).
    fn prologue_end(&self, entry: u64) -> Option<u64> {
        let range = self.session.debug.function_range(entry);
        let name = self
            .session
            .debug
            .symbolize(entry)
            .and_then(|l| l.outer_function().map(str::to_string));
        let target = name.and_then(|n| {
            self.session
                .debug
                .function_address(&n)
                .into_iter()
                .find(|a| range.as_ref().is_some_and(|r| r.contains(a)))
        });
        target.filter(|t| *t > entry)
    }

    /// From a function's entry, steps through its prologue to the address
    /// `break FUNCTION` would use.
    fn past_prologue(&mut self, entry: u64) -> Result<Option<StopReason>> {
        let range = self.session.debug.function_range(entry);
        let Some(target) = self.prologue_end(entry) else {
            return Ok(None);
        };
        for _ in 0..WALK_LIMIT {
            let pc = self.regs()?.rip;
            if pc == target || !range.as_ref().is_some_and(|r| r.contains(&pc)) {
                return Ok(None);
            }
            let r = self.primitive(Primitive::Stepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Steps backward to the start of the previous source line: back
    /// through the line until the instruction before its first one, then
    /// forward again to that first one (a stored position, so a call just
    /// before it is not re-entered).
    fn reverse_line(&mut self, over_calls: bool) -> Result<Option<StopReason>> {
        let pc = self.regs()?.rip;
        let Some(mut range) = self.session.debug.line_range(pc) else {
            bail!("no line information here; use reverse-stepi, or reverse-finish to get out of this function");
        };
        let mut frame_cfa = self.cfa().ok_or_else(|| anyhow!("cannot find the current frame"))?;
        // In the middle of a line, the first stop is that line's start.
        let mut seeking = !self.session.is_statement(pc);
        loop {
            let before = self.regs()?;
            let before_position = self.session.timeline.position();
            let r = self.primitive(Primitive::ReverseStepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
            let now = self.regs()?;
            if self.undid_return(&before, &now)? {
                let callee_cfa = before.rsp;
                match self.session.debug.line_range(now.rip) {
                    Some(r) if !over_calls => {
                        range = r;
                        frame_cfa = callee_cfa;
                        seeking = true;
                        continue;
                    }
                    _ => {
                        if let Some(r) = self.back_to_call(callee_cfa, before.rip)? {
                            return Ok(Some(r));
                        }
                    }
                }
            }
            let now = self.regs()?;
            // Landing exactly on a statement that starts its line: what ran
            // before it belongs to another line, so this is the stop.
            // A function's opening (its prologue's line) is never the
            // stop: from its first line, gdb goes back out to the line that
            // called it.
            if self.session.is_statement(now.rip)
                && self
                    .session
                    .debug
                    .line_range(now.rip)
                    .is_some_and(|r| r.start == now.rip)
                && !self.at_function_entry(now.rip)
            {
                return Ok(None);
            }
            if range.contains(&now.rip) && now.rsp < frame_cfa {
                continue;
            }
            if seeking && self.session.is_statement(before.rip) && !self.at_function_entry(before.rip) {
                // One instruction before the line's start: back onto it.
                self.session.timeline.goto_position(before_position)?;
                self.session.refresh()?;
                self.session.hide_inlined_calls_starting_here(None);
                return Ok(None);
            }
            if now.rsp >= frame_cfa {
                // Back out of the function's entry into the caller's call.
                frame_cfa = self.cfa().unwrap_or(now.rsp + 8);
            }
            match self.session.debug.line_range(now.rip) {
                Some(r) => {
                    range = r;
                    seeking = true;
                }
                None => return Ok(None),
            }
        }
    }

    /// Whether `pc` is the first instruction of a function with symbols
    /// and a prologue: its line is the function's opening, which gdb does
    /// not stop at going backward. (Without a prologue the entry is the
    /// first line of the body, a stop like any other.)
    fn at_function_entry(&self, pc: u64) -> bool {
        self.session.debug.function_range(pc).is_some_and(|r| r.start == pc) && self.prologue_end(pc).is_some()
    }

    /// `finish` and `reverse-finish`.
    pub(super) fn cmd_finish(&mut self, reverse: bool) -> Result<()> {
        let frames = self.session.backtrace(self.selected_frame + 2)?;
        let Some(frame) = frames.get(self.selected_frame) else {
            bail!("no frame {} here", self.selected_frame);
        };
        let Some(caller) = frames.get(self.selected_frame + 1) else {
            let name = if reverse { "reverse-finish" } else { "finish" };
            bail!("\"{name}\" not meaningful in the outermost frame.");
        };
        let title = self.session.describe_frame(self.selected_frame, frame);
        if frame.inlined && reverse {
            // Back to before the inlined call's first instruction.
            let ranges = self.session.debug.inline_ranges(frame.pc, frame.inline_depth);
            println!("Run back to call of {title}");
            match self.run_back_out_of(&ranges, frame.cfa)? {
                Some(r) => self.report(r),
                None => {
                    self.stop_spinner();
                    print!("{}", self.session.describe_here(true));
                    self.show_displays();
                }
            }
            return Ok(());
        }
        if frame.inlined {
            // An inlined call has no return to wait for: run until the
            // program leaves its code, in the same machine frame, as gdb
            // does. gdb shows no value for it.
            let ranges = self.session.debug.inline_ranges(frame.pc, frame.inline_depth);
            println!("Run till exit from {title}");
            let mut stopped = self.run_out_of(&ranges, frame.cfa)?;
            if stopped.is_none() && !self.session.is_statement(self.regs()?.rip) {
                // Out in the middle of a line: on to the start of the
                // next, as gdb steps out of an inlined call.
                stopped = self.forward_line(true, None)?;
            }
            match stopped {
                Some(r) => self.report(r),
                None => {
                    self.stop_spinner();
                    print!("{}", self.session.describe_here(true));
                    self.show_displays();
                }
            }
            return Ok(());
        }
        let (frame_cfa, return_to) = (frame.cfa, caller.pc);
        if reverse {
            println!("Run back to call of {title}");
            let stopped = self.back_to_call(frame_cfa, return_to)?;
            match stopped {
                Some(r) => self.report(r),
                None => {
                    self.stop_spinner();
                    print!("{}", self.session.describe_here(true));
                    self.show_displays();
                }
            }
            return Ok(());
        }
        println!("Run till exit from {title}");
        let callee_pc = frame.pc;
        match self.run_to(false, &[RemoteAddr(return_to)], &|regs| regs.rsp == frame_cfa)? {
            Some(r) => self.report(r),
            None => {
                self.stop_spinner();
                print!("{}", self.session.describe_here(true));
                self.print_return_value(callee_pc);
                self.show_displays();
            }
        }
        Ok(())
    }

    /// Steps forward, over calls, until the program is outside `ranges`
    /// or has returned from the machine frame whose CFA is `cfa`.
    fn run_out_of(&mut self, ranges: &[std::ops::Range<u64>], cfa: u64) -> Result<Option<StopReason>> {
        loop {
            let before = self.regs()?;
            let r = self.primitive(Primitive::Stepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
            if let Some(r) = self.stepped_onto_breakpoint()? {
                return Ok(Some(r));
            }
            let now = self.regs()?;
            if self.entered_call(&before, &now)? {
                let ret = self.read_u64(now.rsp)?;
                let want = now.rsp + 8;
                if let Some(r) = self.run_to(false, &[RemoteAddr(ret)], &|regs| regs.rsp == want)? {
                    return Ok(Some(r));
                }
            }
            let now = self.regs()?;
            if !ranges.iter().any(|r| r.contains(&now.rip)) || now.rsp >= cfa {
                return Ok(None);
            }
        }
    }

    /// Steps backward, back over calls, until the program is outside
    /// `ranges` in the machine frame whose CFA is `cfa`, or has left it.
    fn run_back_out_of(&mut self, ranges: &[std::ops::Range<u64>], cfa: u64) -> Result<Option<StopReason>> {
        loop {
            let before = self.regs()?;
            let r = self.primitive(Primitive::ReverseStepi)?;
            if r != StopReason::Stepped {
                return Ok(Some(r));
            }
            let now = self.regs()?;
            if self.undid_return(&before, &now)? {
                if let Some(r) = self.back_to_call(before.rsp, before.rip)? {
                    return Ok(Some(r));
                }
            }
            let now = self.regs()?;
            if !ranges.iter().any(|r| r.contains(&now.rip)) || now.rsp >= cfa {
                return Ok(None);
            }
        }
    }

    /// `until`: with no argument, `next` that does not stop on going back
    /// (a loop's jump to its condition); with a location, run there or
    /// until the current frame returns.
    pub(super) fn cmd_until(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            let origin = self.origin()?;
            let pc = self.regs()?.rip;
            match self.forward_line(true, Some(pc))? {
                Some(r) => self.report(r),
                None => self.report_step(&origin)?,
            }
            return Ok(());
        }
        self.run_to_location(args)
    }

    /// `advance LOCATION`: as `until LOCATION`, which also stops there in
    /// any frame; a location is required.
    pub(super) fn cmd_advance(&mut self, args: &str) -> Result<()> {
        if args.trim().is_empty() {
            bail!("Argument required (a location).");
        }
        self.run_to_location(args.trim())
    }

    /// Runs to `location`, in whatever frame it is reached, or until the
    /// current frame returns to its caller.
    fn run_to_location(&mut self, location: &str) -> Result<()> {
        let mut addrs = self.session.resolve_location(location)?;
        let frames = self.session.backtrace(2)?;
        let frame_cfa = frames.first().map(|f| f.cfa);
        // `main` is the last frame shown, but it returns somewhere too.
        let caller = match (frames.get(1), frame_cfa) {
            (Some(caller), _) => Some(caller.clone()),
            (None, Some(cfa)) => self.session.caller_of(cfa)?,
            (None, None) => None,
        };
        if let (Some(cfa), Some(caller)) = (frame_cfa, caller) {
            addrs.push(RemoteAddr(caller.pc));
            let targets = addrs.clone();
            let ret = caller.pc;
            let stopped = self.run_to(false, &targets, &|regs| regs.rip != ret || regs.rsp == cfa)?;
            match stopped {
                Some(r) => self.report(r),
                None => {
                    self.stop_spinner();
                    print!("{}", self.session.describe_here(true));
                    self.show_displays();
                }
            }
        } else {
            match self.run_to(false, &addrs, &|_| true)? {
                Some(r) => self.report(r),
                None => print!("{}", self.session.describe_here(true)),
            }
        }
        Ok(())
    }

    /// `run` and `start`: the program has already run, so running it again
    /// is going back to the start of the recording and on from there (with
    /// `start`, to a temporary breakpoint on `main`). Like gdb's, not
    /// repeated by an empty line.
    pub(super) fn cmd_run(&mut self, to: Option<&str>) -> Result<()> {
        self.last_movement = None;
        if let Some(function) = to {
            self.cmd_break(function, true)?;
        }
        self.goto_event(EventIdx(1))?;
        self.cmd_continue("", false)
    }

    pub(super) fn cmd_goto(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("usage: goto {GOTO_USAGE}");
        }
        let reason = match args.parse().map_err(|e: String| anyhow!(e))? {
            GotoTarget::Start => self.goto_event(EventIdx(1))?,
            GotoTarget::End => {
                // Run forward with no breakpoints at all to the last stop.
                let addrs: Vec<RemoteAddr> = self.session.breakpoints.iter().flat_map(|b| b.addrs.clone()).collect();
                for a in &addrs {
                    self.session.timeline.remove_breakpoint(*a);
                }
                let result = (|| loop {
                    match self.primitive(Primitive::Cont)? {
                        StopReason::Signal(_) => continue,
                        r => return Ok::<_, anyhow::Error>(r),
                    }
                })();
                self.session.sync_breakpoints();
                result?;
                StopReason::Arrived
            }
            GotoTarget::Event(n) => self.goto_event(n)?,
        };
        self.report(reason);
        Ok(())
    }

    pub(super) fn goto_event(&mut self, event: EventIdx) -> Result<StopReason> {
        let r = self.session.timeline.goto_event(event)?;
        self.session.refresh()?;
        self.session.hide_inlined_calls_starting_here(None);
        self.selected_frame = 0;
        self.list_next = None;
        Ok(r)
    }

    pub(super) fn cmd_restart(&mut self, args: &str) -> Result<()> {
        if args.is_empty() {
            bail!("usage: restart N|NAME (see \"info checkpoints\")");
        }
        let r = self.session.timeline.restart(args)?;
        self.session.refresh()?;
        self.session.hide_inlined_calls_starting_here(None);
        self.selected_frame = 0;
        self.list_next = None;
        self.report(r);
        Ok(())
    }
}
