//! A debugging session over one trace: the time-travel [`Timeline`] plus
//! the [`DebugInfo`] of whatever the replayed program has mapped at the
//! current position, and the user's numbered breakpoints and watchpoints
//! (one numbering, as in gdb). Front ends (the
//! REPL, playback) move the timeline and then call [`Session::refresh`], so
//! that symbols follow `exec` and `dlopen`.
//!
//! During replay the tracee maps the trace's copies of its binaries
//! (`TRACE/files/HASH`), so `/proc/PID/maps` names those copies and symbols
//! come from exactly the bytes that ran. Only the display names are
//! recovered: the executable and loader from the exec events, libraries from
//! their `DT_SONAME`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use recorder::live::{Frontier, LiveRecording};
use recorder::timeline::{CheckpointPolicy, Point, StopReason, Timeline, WatchKind};
use recorder::trace::{Event, ExitStatus, FILES_DIR};
use recorder::{EventIdx, RemoteAddr};

use debuginfo::{DebugInfo, Frame, Location, MappedFile};

/// A breakpoint the user set, by number.
#[derive(Clone, Debug)]
pub struct UserBreakpoint {
    pub number: usize,
    /// What the user typed to set it (`compute`, `t.c:7`, `*0x401136`).
    pub spec: String,
    pub addrs: Vec<RemoteAddr>,
    pub enabled: bool,
    /// A `tbreak`: deleted when it first stops the program.
    pub temporary: bool,
    /// How many times it was reached where its condition held (either
    /// direction), ignored crossings included, as gdb counts.
    pub hits: u64,
    /// How many more of those crossings pass without a stop (`ignore N
    /// COUNT`, `continue COUNT`).
    pub ignore: u64,
    /// `break f if COND`: stop only where COND is true.
    pub condition: Option<String>,
    /// For `watch`/`rwatch`/`awatch` (then `addrs` is empty): the memory
    /// watched. `spec` is the expression.
    pub watch: Option<WatchedMemory>,
}

#[derive(Clone, Debug)]
pub struct WatchedMemory {
    pub addr: RemoteAddr,
    pub len: usize,
    pub kind: WatchKind,
    /// The bytes there at the last stop the user saw, for "Old value".
    pub last: Vec<u8>,
}

pub struct Session {
    pub timeline: Timeline,
    pub debug: DebugInfo,
    pub trace_dir: PathBuf,
    pub breakpoints: Vec<UserBreakpoint>,
    next_breakpoint: usize,
    /// The file mappings `debug` was built from.
    mapped: Vec<MappedFile>,
    /// The display name of each trace copy (`files/HASH` -> `/usr/bin/x`).
    names: HashMap<PathBuf, String>,
    /// How many events `names` was learned from (a live recording grows).
    names_learned: u64,
    /// The display name of the program last exec'd: code of its own is
    /// shown without gdb's `from LIBRARY`.
    exe_name: Option<String>,
    /// How many inlined calls, innermost first, the stop is shown outside
    /// of (see [`Session::hide_inlined_calls_starting_here`]).
    pub hidden_inline: usize,
    /// `directory` and `set substitute-path`, kept to re-apply after a rebuild.
    directories: Vec<PathBuf>,
    substitutions: Vec<(PathBuf, PathBuf)>,
}

/// The tracee's memory, read through the timeline (which never leaves a
/// breakpoint in it at a stop, so the bytes are the program's own).
pub struct TimelineMemory<'a>(pub &'a Timeline);

impl debuginfo::Memory for TimelineMemory<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.0.read_memory(RemoteAddr(addr), len).ok()
    }
}

impl Session {
    /// Opens a trace at the start of the recording.
    pub fn open(trace_dir: &Path) -> Result<Session> {
        Session::open_with(trace_dir, CheckpointPolicy::default())
    }

    /// Opens a trace with a given checkpoint policy.
    pub fn open_with(trace_dir: &Path, policy: CheckpointPolicy) -> Result<Session> {
        Session::open_process(trace_dir, policy, None)
    }

    /// Opens a trace following one of its processes (`None`: the first).
    pub fn open_process(trace_dir: &Path, policy: CheckpointPolicy, process: Option<i32>) -> Result<Session> {
        // The replayed program maps the copies by absolute path.
        let trace_dir = &trace_dir
            .canonicalize()
            .with_context(|| format!("cannot open the trace {}", trace_dir.display()))?;
        let timeline = Timeline::open_process(trace_dir, policy, process)
            .with_context(|| format!("cannot replay {}", trace_dir.display()))?;
        Session::over(timeline, trace_dir)
    }

    /// Debugs a program as it is recorded (`rback run`): the session starts
    /// at the program's start, and going forward past what is recorded lets
    /// the program go on.
    pub fn open_live(recording: LiveRecording, policy: CheckpointPolicy) -> Result<Session> {
        let trace_dir = recording
            .trace_dir()
            .canonicalize()
            .with_context(|| format!("cannot open the trace {}", recording.trace_dir().display()))?;
        let timeline = Timeline::open_live(recording, policy).context("cannot follow the recording")?;
        Session::over(timeline, &trace_dir)
    }

    fn over(timeline: Timeline, trace_dir: &Path) -> Result<Session> {
        let mut session = Session {
            timeline,
            debug: DebugInfo::new(Vec::new()),
            trace_dir: trace_dir.to_path_buf(),
            breakpoints: Vec::new(),
            next_breakpoint: 1,
            mapped: Vec::new(),
            names: HashMap::new(),
            names_learned: 0,
            exe_name: None,
            hidden_inline: 0,
            directories: Vec::new(),
            substitutions: Vec::new(),
        };
        session.refresh()?;
        Ok(session)
    }

    /// Rebuilds the debug information if the program's file mappings
    /// changed since it was built (an exec, a `dlopen`). Cheap otherwise:
    /// call it after every movement.
    pub fn refresh(&mut self) -> Result<()> {
        self.hidden_inline = 0;
        self.learn_names();
        let pid = self.timeline.pid();
        let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .with_context(|| format!("cannot read the memory map of the replayed program (pid {pid})"))?;
        let mut mapped = debuginfo::parse_proc_maps(&text);
        for m in &mut mapped {
            m.name = self.display_name(&m.file);
        }
        if mapped == self.mapped {
            return Ok(());
        }
        // The program itself is the first file mapped: another one means an
        // exec (or another process of the recording), whose code is not at
        // the addresses the breakpoints were set at.
        let program = |maps: &[debuginfo::MappedFile]| maps.first().map(|m| m.file.clone());
        let exec_happened = !self.mapped.is_empty() && program(&mapped) != program(&self.mapped);
        let modules = debuginfo::modules_from_mappings(&mapped);
        let mut debug = DebugInfo::new(modules);
        for (start, end, name) in recorder::tracee::RBACK_PAGE_CODE {
            debug.name_code(debuginfo::NamedCode {
                range: recorder::tracee::RBACK_PAGE.0 + start..recorder::tracee::RBACK_PAGE.0 + end,
                module: "[rback page]".into(),
                function: name.into(),
            });
        }
        for dir in &self.directories {
            debug.add_directory(dir.clone());
        }
        for (from, to) in &self.substitutions {
            debug.add_substitution(from.clone(), to.clone());
        }
        self.debug = debug;
        self.mapped = mapped;
        if exec_happened {
            self.rebind_breakpoints();
        }
        Ok(())
    }

    /// Sets the breakpoints again in a new program, where what their specs
    /// name may be elsewhere or nowhere (then they wait, with no address,
    /// like gdb's pending breakpoints). A bare line number meant a line of
    /// the file the user looked at then, which says nothing here.
    fn rebind_breakpoints(&mut self) {
        let old: Vec<RemoteAddr> = self.breakpoints.iter().flat_map(|b| b.addrs.clone()).collect();
        for a in old {
            self.timeline.remove_breakpoint(a);
        }
        let specs: Vec<(usize, String)> = self
            .breakpoints
            .iter()
            .filter(|b| b.watch.is_none())
            .map(|b| (b.number, b.spec.clone()))
            .collect();
        for (number, spec) in specs {
            let bare_line = spec.chars().all(|c| c.is_ascii_digit());
            let addrs = if bare_line || spec.starts_with('*') {
                Vec::new()
            } else {
                self.resolve_location(&spec).unwrap_or_default()
            };
            if let Some(b) = self.breakpoints.iter_mut().find(|b| b.number == number) {
                b.addrs = addrs;
            }
        }
        self.sync_breakpoints();
    }

    /// Learns the recorded names of the programs and loaders that the
    /// events since the last call exec'd.
    fn learn_names(&mut self) {
        let files = self.trace_dir.join(FILES_DIR);
        let log = self.timeline.log();
        for event in log.events_from(self.names_learned) {
            self.names_learned += 1;
            if let Event::Exec(exec) = event {
                self.names.insert(files.join(&exec.exe.0), exec.exe_path.clone());
                self.exe_name = Some(exec.exe_path.clone());
                if let Some((path, hash)) = &exec.interp {
                    self.names.insert(files.join(&hash.0), path.clone());
                }
            }
        }
    }

    /// How a live program ended, for a continue that got to the end of its
    /// recording; `None` while it lives or for a recorded trace.
    fn live_ending(&self) -> Option<String> {
        let recording = self.timeline.live_recording()?;
        if recording.frontier() != Frontier::Ended {
            return None;
        }
        let log = self.timeline.log();
        let mut said = match log.events().last() {
            Some(Event::Exit(ExitStatus::Exited(0))) => "The program exited normally".to_string(),
            Some(Event::Exit(ExitStatus::Exited(code))) => format!("The program exited with code {code}"),
            Some(Event::Exit(status)) => format!("The program was {status}"),
            _ => "The program stopped".to_string(),
        };
        if let Some(why) = log.trailer().and_then(|t| t.stopped.as_deref()) {
            said.push_str(&format!(" (recording stopped: {why})"));
        }
        said.push_str(", and its recording ends here.\n");
        Some(said)
    }

    /// How the program ended, when the replay stands where it ended: at
    /// the end of the interval before its exit, or at the exit itself (a
    /// live program that has not ended has not exited).
    pub fn exited_here(&self) -> Option<ExitStatus> {
        let log = self.timeline.log();
        let at = self.timeline.position();
        let exit = |e: EventIdx| match log.get(e) {
            Some(Event::Exit(status)) => Some(*status),
            _ => None,
        };
        exit(at.event).or_else(|| {
            (at.point == Point::End)
                .then(|| exit(EventIdx(at.event.0 + 1)))
                .flatten()
        })
    }

    /// The name a mapped file is shown by: its original path when the trace
    /// says, else its soname, else the path itself.
    fn display_name(&mut self, file: &Path) -> String {
        if let Some(name) = self.names.get(file) {
            return name.clone();
        }
        let name = soname(file).unwrap_or_else(|| file.display().to_string());
        self.names.insert(file.to_path_buf(), name.clone());
        name
    }

    /// Whether `pc` starts a statement in the line table: where `step`
    /// and `next` may stop (see [`DebugInfo::is_statement`]).
    pub fn is_statement(&self, pc: u64) -> bool {
        self.debug.is_statement(pc)
    }

    /// The file mappings of the program here, as the debug info sees them.
    pub fn mapped_files(&self) -> &[MappedFile] {
        &self.mapped
    }

    /// `directory DIR`: look for source files there too.
    pub fn add_directory(&mut self, dir: PathBuf) {
        self.debug.add_directory(dir.clone());
        self.directories.push(dir);
    }

    /// `set substitute-path FROM TO`.
    pub fn add_substitution(&mut self, from: PathBuf, to: PathBuf) {
        self.debug.add_substitution(from.clone(), to.clone());
        self.substitutions.push((from, to));
    }

    pub fn registers(&self) -> Result<debuginfo::Registers> {
        Ok(debuginfo::Registers::from(self.timeline.regs()?))
    }

    pub fn memory(&self) -> impl debuginfo::Memory + '_ {
        TimelineMemory(&self.timeline)
    }

    /// Where the program stopped at the first instruction of inlined calls,
    /// gdb shows it in their caller, at the line of the call, as if the
    /// calls had not begun (its `skip_inline_frames`): `step` then goes
    /// into them one at a time without moving. A stop at a breakpoint the
    /// user set on an inlined function does show that function.
    pub fn hide_inlined_calls_starting_here(&mut self, reason: Option<StopReason>) {
        let Ok(pc) = self.pc() else {
            return;
        };
        let wanted: Vec<String> = match reason {
            Some(StopReason::Breakpoint(addr)) if addr.0 == pc => self
                .breakpoints
                .iter()
                .filter(|b| b.enabled && b.addrs.contains(&addr))
                .map(|b| b.spec.clone())
                .collect(),
            _ => Vec::new(),
        };
        self.hidden_inline = self
            .debug
            .inlined_calls_at(pc)
            .iter()
            .take_while(|(name, starts_here)| {
                *starts_here && !wanted.iter().any(|spec| debuginfo::function_name_matches(name, spec))
            })
            .count();
    }

    /// The call stack as the user sees it, innermost first, at most
    /// `limit` frames. Like gdb (`backtrace past-main off`), it ends at the
    /// program's main function: what calls `main` is the C library's
    /// business, and `finish` out of `main` is not meaningful.
    pub fn backtrace(&self, limit: usize) -> Result<Vec<Frame>> {
        let regs = self.registers()?;
        let mut frames = self
            .debug
            .backtrace(&regs, &self.memory(), limit.saturating_add(self.hidden_inline));
        let hidden = self.hidden_inline.min(frames.iter().take_while(|f| f.inlined).count());
        frames.drain(..hidden);
        frames.truncate(limit);
        if let Some(main) = frames.iter().position(|f| self.debug.is_main(f)) {
            // The frames main's own code stands for, inlined calls included.
            let cfa = frames[main].cfa;
            let end = frames[main..].iter().take_while(|f| f.cfa == cfa).count();
            frames.truncate(main + end);
        }
        Ok(frames)
    }

    /// The frame that called the machine frame whose CFA is `cfa`, found
    /// past `main` too (where [`Session::backtrace`] ends): where a run
    /// that leaves that frame returns to.
    pub fn caller_of(&self, cfa: u64) -> Result<Option<Frame>> {
        let regs = self.registers()?;
        let frames = self.debug.backtrace(&regs, &self.memory(), 64);
        Ok(frames.into_iter().skip_while(|f| f.cfa != cfa).find(|f| f.cfa != cfa))
    }

    /// The current instruction address.
    pub fn pc(&self) -> Result<u64> {
        Ok(self.timeline.regs()?.rip)
    }

    /// The code addresses a location names: `FUNC`, `FILE:LINE`, `LINE` (in
    /// the current source file) or `*ADDR`.
    pub fn resolve_location(&self, spec: &str) -> Result<Vec<RemoteAddr>> {
        let spec = spec.trim();
        if spec.is_empty() {
            bail!("no location given");
        }
        if let Some(addr) = spec.strip_prefix('*') {
            let addr = parse_address(addr.trim())?;
            return Ok(vec![RemoteAddr(addr)]);
        }
        let addrs = if let Ok(line) = spec.parse::<u32>() {
            let file = self
                .default_source_file()?
                .ok_or_else(|| anyhow!("no default source file to find line {line} in; use FILE:LINE"))?;
            let addrs = self.debug.line_addresses(&file.to_string_lossy(), line);
            if addrs.is_empty() {
                bail!("no code at line {line} of \"{}\"", base_name(&file));
            }
            addrs
        } else if let Some((file, line)) = spec
            .rsplit_once(':')
            .and_then(|(f, l)| Some((f, l.parse::<u32>().ok()?)))
        {
            let addrs = self.debug.line_addresses(file, line);
            if addrs.is_empty() {
                bail!("no code at line {line} of \"{file}\" (no such source file, or no code from that line on)");
            }
            addrs
        } else {
            let addrs = self.debug.function_address(spec);
            if addrs.is_empty() {
                bail!("Function \"{spec}\" not defined.");
            }
            addrs
        };
        Ok(addrs.into_iter().map(RemoteAddr).collect())
    }

    /// The source file a bare line number refers to: the current one, or
    /// before the program reaches code with line information, `main`'s.
    pub fn default_source_file(&self) -> Result<Option<PathBuf>> {
        if let Some((file, _)) = self.debug.line_at(self.pc()?) {
            return Ok(Some(file));
        }
        Ok(self
            .debug
            .function_address("main")
            .into_iter()
            .find_map(|a| self.debug.line_at(a))
            .map(|(file, _)| file))
    }

    /// Adds a numbered breakpoint at each address a location names, and
    /// returns its number.
    pub fn add_breakpoint(&mut self, spec: &str, temporary: bool, condition: Option<String>) -> Result<usize> {
        let addrs = self.resolve_location(spec)?;
        for &a in &addrs {
            Timeline::check_breakpoint_address(a)?;
        }
        let number = self.next_breakpoint;
        self.next_breakpoint += 1;
        for &a in &addrs {
            self.timeline.set_breakpoint(a);
        }
        self.breakpoints.push(UserBreakpoint {
            number,
            spec: spec.trim().to_string(),
            addrs,
            enabled: true,
            temporary,
            hits: 0,
            ignore: 0,
            condition,
            watch: None,
        });
        Ok(number)
    }

    /// Adds a numbered hardware watchpoint on `len` bytes at `addr`;
    /// `expr` is what the user asked to watch.
    pub fn add_watchpoint(&mut self, expr: &str, addr: RemoteAddr, len: usize, kind: WatchKind) -> Result<usize> {
        self.timeline.set_watchpoint(addr, len, kind)?;
        let last = self.timeline.read_memory(addr, len)?;
        let number = self.next_breakpoint;
        self.next_breakpoint += 1;
        self.breakpoints.push(UserBreakpoint {
            number,
            spec: expr.trim().to_string(),
            addrs: Vec::new(),
            enabled: true,
            temporary: false,
            hits: 0,
            ignore: 0,
            condition: None,
            watch: Some(WatchedMemory { addr, len, kind, last }),
        });
        Ok(number)
    }

    /// The first enabled watchpoint on `addr` of this kind.
    pub fn watchpoint_at(&self, addr: RemoteAddr, kind: WatchKind) -> Option<&UserBreakpoint> {
        self.breakpoints
            .iter()
            .find(|b| b.enabled && b.watch.as_ref().is_some_and(|w| w.addr == addr && w.kind == kind))
    }

    /// Remembers what every watched location holds now, for the next
    /// stop's "Old value".
    pub fn snapshot_watches(&mut self) {
        for b in &mut self.breakpoints {
            if let Some(w) = &mut b.watch {
                if let Ok(bytes) = self.timeline.read_memory(w.addr, w.len) {
                    w.last = bytes;
                }
            }
        }
    }

    /// Removes a user breakpoint, and its addresses from the timeline
    /// unless another enabled breakpoint shares them.
    pub fn delete_breakpoint(&mut self, number: usize) -> Result<()> {
        let i = self
            .breakpoints
            .iter()
            .position(|b| b.number == number)
            .ok_or_else(|| anyhow!("no breakpoint number {number}"))?;
        let removed = self.breakpoints.remove(i);
        for a in removed.addrs {
            self.timeline.remove_breakpoint(a);
        }
        if let Some(w) = removed.watch {
            self.timeline.remove_watchpoint(w.addr, w.len, w.kind);
        }
        self.sync_breakpoints();
        Ok(())
    }

    /// Takes over the breakpoints and watchpoints of `other`, a session on
    /// another process of the same recording (gdb's apply to every
    /// inferior), with their numbers.
    pub fn adopt_breakpoints(&mut self, other: &mut Session) {
        self.breakpoints = std::mem::take(&mut other.breakpoints);
        self.next_breakpoint = other.next_breakpoint;
        for b in self.breakpoints.iter().filter(|b| b.enabled) {
            if let Some(w) = &b.watch {
                // A watch this process cannot arm stays listed; it simply
                // never triggers here.
                let _ = self.timeline.set_watchpoint(w.addr, w.len, w.kind);
            }
        }
        self.sync_breakpoints();
    }

    pub fn set_enabled(&mut self, number: usize, enabled: bool) -> Result<()> {
        let b = self
            .breakpoints
            .iter_mut()
            .find(|b| b.number == number)
            .ok_or_else(|| anyhow!("no breakpoint number {number}"))?;
        if let Some(w) = &b.watch {
            if enabled && !b.enabled {
                self.timeline.set_watchpoint(w.addr, w.len, w.kind)?;
            } else if !enabled {
                self.timeline.remove_watchpoint(w.addr, w.len, w.kind);
            }
        }
        b.enabled = enabled;
        self.sync_breakpoints();
        Ok(())
    }

    /// Makes the timeline's breakpoints exactly the enabled user ones.
    pub fn sync_breakpoints(&mut self) {
        let all: Vec<RemoteAddr> = self.breakpoints.iter().flat_map(|b| b.addrs.clone()).collect();
        for a in all {
            self.timeline.remove_breakpoint(a);
        }
        for b in self.breakpoints.iter().filter(|b| b.enabled) {
            for &a in &b.addrs {
                self.timeline.set_breakpoint(a);
            }
        }
    }

    /// Whether an enabled user breakpoint sits at `addr`.
    pub fn is_user_breakpoint(&self, addr: RemoteAddr) -> bool {
        self.breakpoint_at(addr).is_some()
    }

    /// The first enabled user breakpoint at `addr`.
    pub fn breakpoint_at(&self, addr: RemoteAddr) -> Option<&UserBreakpoint> {
        self.breakpoints.iter().find(|b| b.enabled && b.addrs.contains(&addr))
    }

    /// What to print when the program stops, like gdb: the reason, then
    /// where the program stands (function, file and line) and that line of
    /// source.
    pub fn describe_stop(&self, reason: StopReason) -> String {
        let mut out = String::new();
        match reason {
            StopReason::Breakpoint(addr) => {
                if let Some(b) = self.breakpoint_at(addr) {
                    let kind = if b.temporary {
                        "Temporary breakpoint"
                    } else {
                        "Breakpoint"
                    };
                    // A breakpoint with several locations names the one hit.
                    match b.addrs.iter().position(|a| *a == addr).filter(|_| b.addrs.len() > 1) {
                        Some(i) => out.push_str(&format!("{kind} {}.{}, ", b.number, i + 1)),
                        None => out.push_str(&format!("{kind} {}, ", b.number)),
                    }
                    out.push_str(&self.describe_here(true));
                    return out;
                }
            }
            StopReason::Signal(signo) => {
                out.push_str(&format!(
                    "Program received signal {}, {}.\n",
                    signal_name(signo),
                    signal_description(signo)
                ));
            }
            StopReason::EndOfRecording if self.live_ending().is_some() => {
                out.push_str(&self.live_ending().unwrap_or_default());
            }
            StopReason::StartOfRecording | StopReason::EndOfRecording => {
                out.push_str("No more reverse-execution history.\n");
            }
            StopReason::Interrupted => out.push_str("Interrupted.\n"),
            StopReason::Exec => {}
            StopReason::Stepped | StopReason::Arrived | StopReason::Watchpoint { .. } => {}
        }
        out.push_str(&self.describe_here(true));
        out
    }

    /// Where the program stands: `func (args) at file:line` and the source
    /// line, with the address first when it is not at the start of a line
    /// (`show_pc_mid_line`) or there is no line information. As in gdb, a
    /// line starts at each statement row of the line table that gdb keeps
    /// (see `DebugInfo::is_line_start`), not only at the first of a run of
    /// rows for the same line.
    pub fn describe_here(&self, show_pc_mid_line: bool) -> String {
        let Ok(regs) = self.registers() else {
            return "The program is not running here.\n".to_string();
        };
        let frames = self.backtrace(1).unwrap_or_default();
        let frame = frames.first();
        let pc = regs.rip;
        let location = frame
            .and_then(|f| f.location.clone())
            .or_else(|| self.debug.symbolize(pc));
        // At an inlined call shown from its caller, the line is the call's.
        let at_line_start = self.debug.is_line_start(pc) || frame.is_some_and(|f| f.inline_depth > 0);
        let mut out = String::new();
        match &location {
            Some(loc) if loc.file.is_some() && loc.line.is_some() => {
                let prefix = if show_pc_mid_line && !at_line_start {
                    format!("{pc:#018x} in ")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "{prefix}{} at {}\n",
                    self.frame_signature(frame, loc),
                    file_and_line(loc)
                ));
                out.push_str(&self.source_text(loc));
            }
            Some(loc) => {
                out.push_str(&format!(
                    "{pc:#018x} in {}{}\n",
                    self.frame_signature(frame, loc),
                    self.library_suffix(loc)
                ));
            }
            None => out.push_str(&format!("{pc:#018x} in ?? ()\n")),
        }
        out
    }

    /// `LINE\tsource` for a location, or gdb's note when the file is missing.
    pub fn source_text(&self, loc: &Location) -> String {
        let (Some(file), Some(line)) = (&loc.file, loc.line) else {
            return String::new();
        };
        match self.debug.source_line(file, line) {
            Some(text) => format!("{line}\t{text}\n"),
            None => format!("{line}\tin {}\n", file.display()),
        }
    }

    /// `func (args)`: the function a frame is in, with its arguments where
    /// the debug information can give them.
    pub fn frame_signature(&self, frame: Option<&Frame>, loc: &Location) -> String {
        let name = debuginfo::without_parameters(loc.function.as_deref().unwrap_or("??"));
        let Some(frame) = frame else {
            return format!("{name} ()");
        };
        self.in_scope(frame, |scope| {
            format!("{name} ({})", self.debug.frame_args_summary(scope))
        })
    }

    /// Runs `f` with `frame` as the scope of names: the program's memory
    /// here, and its thread-local storage (the executable's, and the
    /// libraries', such as libc's `errno`) for the selected thread.
    pub fn in_scope<T>(&self, frame: &Frame, f: impl FnOnce(&debuginfo::Scope) -> T) -> T {
        let mem = self.memory();
        let fs_base = self.timeline.regs().ok().map(|r| r.fs_base);
        let tls = fs_base.map(|fs_base| crate::tls::LoadedTls {
            mapped: &self.mapped,
            mem: &mem,
            fs_base,
        });
        f(&debuginfo::Scope {
            frame,
            mem: &mem,
            fs_base,
            tls: tls.as_ref().map(|t| t as &dyn debuginfo::ThreadLocalStorage),
        })
    }

    /// gdb's frame line for `backtrace` and `frame N`:
    /// `#1  0x... in main () at t.c:12`.
    pub fn describe_frame(&self, n: usize, frame: &Frame) -> String {
        if frame.is_signal_frame {
            return format!("#{n:<2} <signal handler called>");
        }
        // A function that an inlined call sits in shows no address, as there
        // is no instruction of its own to show (gdb's frame_show_address).
        let at_line_start = n == 0 && self.debug.is_line_start(frame.pc);
        let pc_part = if at_line_start || frame.inline_depth > 0 {
            String::new()
        } else {
            format!("{:#018x} in ", frame.pc)
        };
        match &frame.location {
            Some(loc) => {
                let sig = self.frame_signature(Some(frame), loc);
                if loc.file.is_some() && loc.line.is_some() {
                    format!("#{n:<2} {pc_part}{sig} at {}", file_and_line(loc))
                } else {
                    format!("#{n:<2} {pc_part}{sig}{}", self.library_suffix(loc))
                }
            }
            None => format!("#{n:<2} {:#018x} in ?? ()", frame.pc),
        }
    }
}

impl Session {
    /// ` from libc.so.6` for code of a shared library without line
    /// information; nothing for the program's own, as gdb prints it.
    fn library_suffix(&self, loc: &Location) -> String {
        if self.exe_name.as_deref() == Some(loc.module.as_str()) {
            String::new()
        } else {
            format!(" from {}", loc.module)
        }
    }
}

/// `t.c:7`: the file's base name, as the programs' authors know it.
pub fn file_and_line(loc: &Location) -> String {
    match (&loc.file, loc.line) {
        (Some(f), Some(l)) => format!("{}:{l}", base_name(f)),
        _ => "??".to_string(),
    }
}

pub fn base_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

/// An address as typed: hex with `0x`, else decimal.
pub fn parse_address(text: &str) -> Result<u64> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed.map_err(|_| anyhow!("invalid address \"{text}\""))
}

/// The `DT_SONAME` of a shared library, for naming its trace copy.
fn soname(file: &Path) -> Option<String> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(file).ok()?;
    let elf = object::File::parse(&*data).ok()?;
    let dynamic = elf.section_by_name(".dynamic")?.data().ok()?;
    let dynstr = elf.section_by_name(".dynstr")?.data().ok()?;
    const DT_SONAME: u64 = 14;
    let entry = dynamic.chunks_exact(16).find_map(|e| {
        let tag = u64::from_le_bytes(e[..8].try_into().ok()?);
        let val = u64::from_le_bytes(e[8..].try_into().ok()?);
        (tag == DT_SONAME).then_some(val)
    })?;
    let name = dynstr.get(usize::try_from(entry).ok()?..)?;
    let end = name.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}

pub fn signal_name(signo: i32) -> String {
    nix::sys::signal::Signal::try_from(signo)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signo}"))
}

/// How gdb describes a signal it stops for (the last column of its `info
/// signals`).
fn signal_description(signo: i32) -> &'static str {
    match signo {
        libc::SIGSEGV => "Segmentation fault",
        libc::SIGABRT => "Aborted",
        libc::SIGFPE => "Arithmetic exception",
        libc::SIGILL => "Illegal instruction",
        libc::SIGBUS => "Bus error",
        libc::SIGTRAP => "Trace/breakpoint trap",
        libc::SIGINT => "Interrupt",
        libc::SIGTERM => "Terminated",
        libc::SIGKILL => "Killed",
        libc::SIGALRM => "Alarm clock",
        libc::SIGUSR1 => "User defined signal 1",
        libc::SIGUSR2 => "User defined signal 2",
        libc::SIGCHLD => "Child status changed",
        libc::SIGPIPE => "Broken pipe",
        libc::SIGHUP => "Hangup",
        libc::SIGQUIT => "Quit",
        libc::SIGSTOP => "Stopped (signal)",
        libc::SIGTSTP => "Stopped (user)",
        libc::SIGCONT => "Continued",
        libc::SIGTTIN => "Stopped (tty input)",
        libc::SIGTTOU => "Stopped (tty output)",
        libc::SIGURG => "Urgent I/O condition",
        libc::SIGIO => "I/O possible",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "File size limit exceeded",
        libc::SIGVTALRM => "Virtual timer expired",
        libc::SIGPROF => "Profiling timer expired",
        libc::SIGWINCH => "Window size changed",
        libc::SIGPWR => "Power fail/restart",
        libc::SIGSYS => "Bad system call",
        _ => "Signal",
    }
}
