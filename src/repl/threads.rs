//! Threads in the REPL, as gdb shows them: `info threads`, `thread N`,
//! `thread apply`, and the `[Switching to Thread ...]` line when a stop
//! lands in another thread than the last one shown.
//!
//! Threads are numbered as gdb numbers them (1 for the first, then in the
//! order the program made them) and named by the thread id the program saw
//! while recording. `thread N` only chooses what registers and frames show;
//! the next movement runs the program, and stops in whichever thread the
//! recording ran there.

use anyhow::{anyhow, bail, Result};
use recorder::timeline::ThreadInfo;

use super::Repl;

impl Repl {
    /// `Thread 0x7ffff7d8a740 (LWP 1234)`: the `pthread_t` (the thread's TLS
    /// base) and the thread id, as gdb names a thread.
    fn thread_target_id(&mut self, thread: &ThreadInfo) -> String {
        let fs_base = self.with_thread(thread.number, |r| Ok(r.session.timeline.regs()?.fs_base));
        match fs_base {
            Ok(base) if base != 0 => format!("Thread {base:#x} (LWP {})", thread.tid),
            _ => format!("LWP {}", thread.tid),
        }
    }

    /// The program's name as `/proc` would give it to gdb (15 bytes at most).
    fn thread_name(&self) -> String {
        self.session.timeline.log().header.comm()
    }

    /// Runs `f` with thread `number` selected, then selects the one that
    /// was before (and frame 0 again if it changed).
    fn with_thread<T>(&mut self, number: usize, f: impl FnOnce(&mut Repl) -> Result<T>) -> Result<T> {
        let before = self.session.timeline.selected_thread();
        if before.number == number {
            return f(self);
        }
        self.session.timeline.select_thread(number)?;
        let frame = std::mem::replace(&mut self.selected_frame, 0);
        let result = f(self);
        self.session.timeline.select_thread(before.number)?;
        self.selected_frame = frame;
        result
    }

    pub(super) fn info_threads(&mut self) -> Result<()> {
        let threads = self.session.timeline.threads();
        let name = self.thread_name();
        let mut rows = Vec::new();
        for t in &threads {
            let target = format!("{} \"{name}\"", self.thread_target_id(t));
            let frame = self.with_thread(t.number, |r| {
                let frames = r.session.backtrace(1)?;
                let frame = frames.first().ok_or_else(|| anyhow!("no stack"))?;
                let line = r.session.describe_frame(0, frame);
                // `#0  main () at t.c:3` without its `#0  `.
                Ok(line.get(4..).unwrap_or_default().to_string())
            });
            rows.push((t.selected, t.number, target, frame.unwrap_or_else(|e| format!("<{e}>"))));
        }
        let width = rows.iter().map(|r| r.2.len()).max().unwrap_or(9).max(9);
        println!("  Id   {:<width$} Frame ", "Target Id");
        for (selected, number, target, frame) in rows {
            let mark = if selected { '*' } else { ' ' };
            println!("{mark} {number:<4} {target:<width$} {frame}");
        }
        Ok(())
    }

    pub(super) fn cmd_thread(&mut self, args: &str) -> Result<()> {
        let args = args.trim();
        if let Some(rest) = args.strip_prefix("apply") {
            return self.thread_apply(rest.trim());
        }
        if args.is_empty() {
            let t = self.session.timeline.selected_thread();
            let target = self.thread_target_id(&t);
            println!("[Current thread is {} ({target})]", t.number);
            return Ok(());
        }
        let number: usize = args.parse().map_err(|_| anyhow!("Invalid thread ID: {args}"))?;
        let t = self.session.timeline.select_thread(number)?;
        self.selected_frame = 0;
        self.list_next = None;
        let target = self.thread_target_id(&t);
        println!("[Switching to thread {} ({target})]", t.number);
        self.print_selected_frame()
    }

    /// `thread apply all CMD`, `thread apply 1 3 CMD`: the command in each
    /// thread, highest number first for `all` as gdb does.
    fn thread_apply(&mut self, args: &str) -> Result<()> {
        let threads = self.session.timeline.threads();
        let (numbers, command): (Vec<usize>, &str) = if let Some(cmd) = args.strip_prefix("all") {
            (threads.iter().rev().map(|t| t.number).collect(), cmd.trim())
        } else {
            let mut numbers = Vec::new();
            let mut rest = args;
            while let Some((word, tail)) = rest.split_once(char::is_whitespace) {
                match word.parse::<usize>() {
                    Ok(n) => numbers.push(n),
                    Err(_) => break,
                }
                rest = tail.trim_start();
            }
            (numbers, rest)
        };
        if numbers.is_empty() || command.is_empty() {
            bail!("usage: thread apply all|ID... COMMAND");
        }
        let name = self.thread_name();
        for n in numbers {
            let Some(t) = threads.iter().find(|t| t.number == n).copied() else {
                println!("warning: Unknown thread {n}");
                continue;
            };
            let target = self.thread_target_id(&t);
            println!("\nThread {n} ({target} \"{name}\"):");
            self.with_thread(n, |r| {
                if let Err(e) = r.execute(command) {
                    println!("{}", crate::one_line(&e));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// `Thread 2 "prog" hit `: how gdb starts the report of a breakpoint
    /// or watchpoint in a program with several threads (nothing otherwise).
    pub(super) fn thread_hit_prefix(&self) -> String {
        if self.session.timeline.threads().len() < 2 {
            return String::new();
        }
        let t = self.session.timeline.selected_thread();
        format!("Thread {} \"{}\" hit ", t.number, self.thread_name())
    }

    /// A stop's report as gdb words it in a program with several threads:
    /// `Thread 2 "prog" hit Breakpoint 1, ...`, `Thread 2 "prog" received
    /// signal SIGUSR1, ...`.
    pub(super) fn with_thread_prefix(&self, stop: String) -> String {
        let prefix = self.thread_hit_prefix();
        if prefix.is_empty() {
            return stop;
        }
        if stop.starts_with("Breakpoint ") || stop.starts_with("Temporary breakpoint ") {
            return format!("{prefix}{stop}");
        }
        if let Some(rest) = stop.strip_prefix("Program received signal") {
            let t = self.session.timeline.selected_thread();
            return format!("Thread {} \"{}\" received signal{rest}", t.number, self.thread_name());
        }
        stop
    }

    /// Before a stop is shown: gdb's line when it is in another thread than
    /// the last stop shown (only for programs with several threads).
    pub(super) fn announce_thread(&mut self) {
        let t = self.session.timeline.selected_thread();
        // Before the first stop, gdb has the first thread selected.
        let changed = match self.last_thread.replace(t.tid) {
            Some(before) => before != t.tid,
            None => t.number != 1,
        };
        if changed && self.session.timeline.threads().len() > 1 {
            let target = self.thread_target_id(&t);
            println!("[Switching to {target}]");
        }
    }
}
