//! Tests against real programs: the C and Rust programs in `testdata/` are
//! compiled at test time (gcc, rustc), then either read statically (module
//! bias 0, link addresses) or run, stopped with ptrace where they spin, and
//! unwound through `/proc/PID/mem`. Markers in the sources' comments
//! (`@name`) name the lines the tests expect.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::ptrace;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::elf::Image;
use super::*;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata");

/// A test program built into its own temporary directory.
struct Program {
    dir: tempfile::TempDir,
    exe: PathBuf,
    source: PathBuf,
}

impl Program {
    /// The source line that carries `@marker`.
    fn line(&self, marker: &str) -> u32 {
        line_of(&self.source, marker)
    }

    /// The program as the only module, unrelocated: addresses are link addresses.
    fn static_info(&self) -> DebugInfo {
        DebugInfo::new(vec![self.module()])
    }

    fn module(&self) -> Module {
        Module {
            name: self.exe.display().to_string(),
            file: self.exe.clone(),
            bias: 0,
        }
    }
}

fn line_of(source: &Path, marker: &str) -> u32 {
    let text = fs::read_to_string(source).expect("read test source");
    let tag = format!("@{marker}");
    for (i, line) in text.lines().enumerate() {
        if let Some(at) = line.find(&tag) {
            let next = line[at + tag.len()..].chars().next();
            if !next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                return i as u32 + 1;
            }
        }
    }
    panic!("no marker @{marker} in {}", source.display());
}

fn run_tool(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}, which the debuginfo tests need to build their programs: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build_c(name: &str, flags: &[&str]) -> Program {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join(name);
    fs::copy(Path::new(TESTDATA).join(name), &source).expect("copy test source");
    let exe = dir.path().join(name.trim_end_matches(".c").trim_end_matches(".cpp"));
    let compiler = if name.ends_with(".cpp") { "g++" } else { "gcc" };
    run_tool(
        Command::new(compiler).args(flags).arg("-o").arg(&exe).arg(&source),
        compiler,
    );
    Program { dir, exe, source }
}

fn build_rust(name: &str) -> Program {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join(name);
    fs::copy(Path::new(TESTDATA).join(name), &source).expect("copy test source");
    let exe = dir.path().join(name.trim_end_matches(".rs"));
    run_tool(
        Command::new("rustc")
            .args(["-g", "-C", "opt-level=0", "-o"])
            .arg(&exe)
            .arg(&source),
        "rustc",
    );
    Program { dir, exe, source }
}

fn has_section(exe: &Path, name: &str) -> bool {
    use object::Object;
    let data = fs::read(exe).expect("read exe");
    object::File::parse(&*data)
        .expect("parse exe")
        .section_by_name(name)
        .is_some()
}

/// The tracee's memory, through `/proc/PID/mem`.
struct ProcMem(fs::File);

impl Memory for ProcMem {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0; len];
        self.0.read_exact_at(&mut buf, addr).ok()?;
        Some(buf)
    }
}

/// A module's file, as loaded, standing in for memory (for static tests).
struct FileMem(Image);

impl Memory for FileMem {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let bytes = self.0.bytes_at(addr, len)?;
        (bytes.len() == len).then(|| bytes.to_vec())
    }
}

/// A test program stopped with ptrace where it spins. Killed when dropped.
struct Stopped {
    child: Child,
    regs: Registers,
    mem: ProcMem,
    info: DebugInfo,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn expect_line(out: &mut BufReader<ChildStdout>, want: &str) {
    let mut line = String::new();
    out.read_line(&mut line).expect("read the test program's output");
    assert_eq!(line.trim_end(), want, "the test program said something unexpected");
}

/// Runs `exe`, reads the lines it must print, then stops it with
/// `PTRACE_SEIZE` + `PTRACE_INTERRUPT` once it spins in `function` at
/// `line` (some frame of the backtrace is there). A tracee found elsewhere
/// (still on its way to the loop on a loaded machine) is let go and stopped
/// again a little later.
fn run_and_stop(exe: &Path, says: &[&str], function: &str, line: u32) -> Stopped {
    let mut child = Command::new(exe)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn test program");
    let pid = Pid::from_raw(child.id() as i32);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    // From here on, a panic kills the child through Stopped's drop.
    let mut s = Stopped {
        child,
        regs: Registers::default(),
        mem: ProcMem(fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/PID/mem")),
        info: DebugInfo::new(Vec::new()),
    };
    for want in says {
        expect_line(&mut out, want);
    }
    let mut last = String::new();
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(100));
        ptrace::seize(pid, ptrace::Options::empty()).expect("PTRACE_SEIZE the test program");
        ptrace::interrupt(pid).expect("PTRACE_INTERRUPT");
        waitpid(pid, None).expect("wait for the interrupt stop");
        s.regs = Registers::from(ptrace::getregs(pid).expect("PTRACE_GETREGS"));
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).expect("read /proc/PID/maps");
        s.info = DebugInfo::new(modules_from_mappings(&parse_proc_maps(&maps)));
        let frames = s.info.backtrace(&s.regs, &s.mem, 64);
        if frames
            .iter()
            .any(|f| self::function(f) == Some(function) && self::line(f) == Some(line))
        {
            return s;
        }
        last = describe(&frames);
        ptrace::detach(pid, None).expect("PTRACE_DETACH");
    }
    panic!("the test program never got to {function} at line {line}; last seen:\n{last}");
}

fn describe(frames: &[Frame]) -> String {
    let mut s = String::new();
    for (i, f) in frames.iter().enumerate() {
        let loc = f.location.as_ref();
        s.push_str(&format!(
            "#{i} {:#x} cfa={:#x}{} {} at {}:{}\n",
            f.pc,
            f.cfa,
            if f.is_signal_frame {
                " <signal handler called>"
            } else {
                ""
            },
            loc.and_then(|l| l.function.clone()).unwrap_or_else(|| "??".into()),
            loc.and_then(|l| l.file.as_ref())
                .map_or("??".into(), |p| p.display().to_string()),
            loc.and_then(|l| l.line).unwrap_or(0),
        ));
    }
    s
}

fn function(frame: &Frame) -> Option<&str> {
    frame.location.as_ref()?.function.as_deref()
}

fn line(frame: &Frame) -> Option<u32> {
    frame.location.as_ref()?.line
}

/// Checks the frames of deep.c / prog.rs: the spin in `deep`, three
/// recursive calls, then `main`.
fn check_recursion(frames: &[Frame], deep: &str, main: &str, spin: u32, call: u32, main_call: u32) {
    let bt = describe(frames);
    let first = frames
        .iter()
        .position(|f| function(f) == Some(deep))
        .unwrap_or_else(|| panic!("no {deep}:\n{bt}"));
    assert_eq!(
        line(&frames[first]),
        Some(spin),
        "innermost {deep} is not at its spin loop:\n{bt}"
    );
    for f in &frames[first + 1..first + 4] {
        assert_eq!(function(f), Some(deep), "expected a recursive call:\n{bt}");
        assert_eq!(line(f), Some(call), "recursive call on the wrong line:\n{bt}");
        assert_eq!(f.lookup_pc, f.pc - 1, "a caller is looked up at its return address - 1");
    }
    let m = &frames[first + 4];
    assert_eq!(function(m), Some(main), "expected {main} after the recursion:\n{bt}");
    assert_eq!(line(m), Some(main_call), "{main} is on the wrong line:\n{bt}");
    assert!(
        m.register(6).is_some() && m.register(7) == Some(m.regs.rsp),
        "rbp and rsp are recovered"
    );
    for pair in frames.windows(2) {
        // An inlined call's frame shares its machine frame's CFA.
        assert!(
            pair[1].cfa > pair[0].cfa || pair[0].inlined && pair[1].cfa == pair[0].cfa,
            "the CFA grows towards older frames:\n{bt}"
        );
    }
    assert!(frames.len() < 64, "the walk did not stop at the outermost frame:\n{bt}");
}

#[test]
fn c_backtrace_shows_the_recursion_with_lines() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let s = run_and_stop(&p.exe, &["ready"], "deep", p.line("deep_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    check_recursion(
        &frames,
        "deep",
        "main",
        p.line("deep_spin"),
        p.line("deep_call"),
        p.line("main_call"),
    );
    assert_eq!(frames[0].pc, s.regs.rip);
    assert_eq!(
        frames[0].lookup_pc, frames[0].pc,
        "the innermost frame is looked up at pc itself"
    );
    assert!(s.info.warnings().is_empty(), "{:?}", s.info.warnings());
}

#[test]
fn c_backtrace_goes_through_a_signal_handler() {
    let p = build_c("signal.c", &["-g", "-O0"]);
    let s = run_and_stop(&p.exe, &["ready", "in handler"], "handler", p.line("handler_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let bt = describe(&frames);
    assert_eq!(function(&frames[0]), Some("handler"), "{bt}");
    assert_eq!(line(&frames[0]), Some(p.line("handler_spin")), "{bt}");
    assert!(frames[1].is_signal_frame, "frame 1 is the signal trampoline:\n{bt}");
    assert_eq!(function(&frames[2]), Some("main"), "{bt}");
    assert_eq!(line(&frames[2]), Some(p.line("main_wait")), "{bt}");
    assert_eq!(
        frames[2].lookup_pc, frames[2].pc,
        "an interrupted frame is looked up at its pc:\n{bt}"
    );
    assert!(
        frames
            .iter()
            .skip(3)
            .any(|f| f.location.as_ref().is_some_and(|l| l.module.contains("libc"))),
        "{bt}"
    );
}

#[test]
fn backtrace_uses_debug_frame_without_eh_frame() {
    let p = build_c(
        "deep.c",
        &["-g", "-O0", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"],
    );
    assert!(
        has_section(&p.exe, ".debug_frame"),
        "gcc was expected to emit .debug_frame instead"
    );
    let s = run_and_stop(&p.exe, &["ready"], "deep", p.line("deep_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    check_recursion(
        &frames,
        "deep",
        "main",
        p.line("deep_spin"),
        p.line("deep_call"),
        p.line("main_call"),
    );
}

#[test]
fn backtrace_follows_frame_pointers_without_cfi() {
    let p = build_c(
        "deep.c",
        &["-g", "-O0", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"],
    );
    run_tool(
        Command::new("objcopy")
            .args(["--remove-section", ".debug_frame"])
            .arg(&p.exe),
        "objcopy",
    );
    assert!(!has_section(&p.exe, ".debug_frame"));
    let s = run_and_stop(&p.exe, &["ready"], "deep", p.line("deep_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    check_recursion(
        &frames,
        "deep",
        "main",
        p.line("deep_spin"),
        p.line("deep_call"),
        p.line("main_call"),
    );
}

#[test]
fn rust_backtrace_has_demangled_names_and_lines() {
    let p = build_rust("prog.rs");
    let s = run_and_stop(&p.exe, &["ready"], "prog::deep", p.line("rs_deep_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    check_recursion(
        &frames,
        "prog::deep",
        "prog::main",
        p.line("rs_deep_spin"),
        p.line("rs_deep_call"),
        p.line("rs_main_call"),
    );
    // Through the standard library's frames to the C `main` and libc.
    let bt = describe(&frames);
    assert!(frames.iter().any(|f| function(f) == Some("main")), "{bt}");
}

#[test]
fn rust_function_breakpoint_is_after_the_prologue() {
    let p = build_rust("prog.rs");
    let info = p.static_info();
    let addrs = info.function_address("deep");
    assert_eq!(addrs, info.function_address("prog::deep"));
    assert_eq!(addrs.len(), 1, "{addrs:x?}");
    let start = info.function_range(addrs[0]).expect("function range").start;
    assert!(addrs[0] > start, "the breakpoint is past the prologue");
    let loc = info.symbolize(addrs[0]).expect("symbolize");
    assert_eq!(loc.function.as_deref(), Some("prog::deep"));
    assert_eq!(loc.line, Some(p.line("rs_deep_first")));
    assert!(loc.file.as_ref().is_some_and(|f| f.ends_with("prog.rs")));
    let bp = info.line_addresses("prog.rs", p.line("rs_main_call"));
    assert_eq!(bp.len(), 1);
    assert_eq!(info.line_at(bp[0]).map(|l| l.1), Some(p.line("rs_main_call")));
}

#[test]
fn function_breakpoint_is_after_the_prologue() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let main = info.function_address("main");
    assert_eq!(main.len(), 1, "{main:x?}");
    let range = info.function_range(main[0]).expect("main's range");
    assert!(main[0] > range.start && main[0] < range.end);
    assert_eq!(info.line_at(main[0]).map(|l| l.1), Some(p.line("main_call")));
    let deep = info.function_address("deep");
    assert_eq!(deep.len(), 1);
    assert_eq!(info.line_at(deep[0]).map(|l| l.1), Some(p.line("deep_first")));
    assert!(info.function_address("no_such_function").is_empty());
}

#[test]
fn line_breakpoints_map_to_the_line() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let call = p.line("main_call");
    let addrs = info.line_addresses("deep.c", call);
    assert_eq!(addrs.len(), 1, "{addrs:x?}");
    assert_eq!(info.line_at(addrs[0]).map(|l| l.1), Some(call));
    // A path suffix works; another directory does not.
    let dir = p.dir.path().file_name().unwrap().to_str().unwrap();
    assert_eq!(info.line_addresses(&format!("{dir}/deep.c"), call), addrs);
    assert_eq!(info.line_addresses(&p.source.display().to_string(), call), addrs);
    assert!(info.line_addresses("elsewhere/deep.c", call).is_empty());
    assert!(info.line_addresses("deep.h", call).is_empty());
    // A line without code moves to the next one with code.
    let spin = info.line_addresses("deep.c", p.line("deep_spin"));
    assert!(!spin.is_empty());
    assert_eq!(info.line_addresses("deep.c", p.line("blank_before_spin")), spin);
    // The opening brace of a function gets the post-prologue address.
    assert_eq!(
        info.line_addresses("deep.c", p.line("main_open")),
        info.function_address("main")
    );
}

#[test]
fn symbolize_gives_function_file_line_and_offset() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let addr = info.function_address("main")[0];
    let loc = info.symbolize(addr).expect("symbolize main");
    assert_eq!(loc.function.as_deref(), Some("main"));
    assert_eq!(loc.symbol.as_deref(), Some("main"));
    assert_eq!(loc.line, Some(p.line("main_call")));
    assert_eq!(loc.file.as_deref(), Some(p.source.as_path()));
    assert_eq!(loc.module, p.exe.display().to_string());
    let start = info.function_range(addr).unwrap().start;
    assert_eq!(loc.offset, Some(addr - start));
    assert_eq!(loc.symbol_with_offset(), Some(format!("main+{}", addr - start)));
    assert!(loc.inlined_into.is_empty());
    assert!(
        info.symbolize(0xdead_0000_0000).is_none(),
        "an address outside every module"
    );
}

#[test]
fn line_range_covers_one_line_of_one_function() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let call = p.line("main_call");
    let addr = info.line_addresses("deep.c", call)[0];
    let range = info.line_range(addr + 1).expect("line range");
    assert!(
        range.contains(&addr) && range.contains(&(addr + 1)),
        "{range:x?} {addr:#x}"
    );
    for a in range.clone() {
        assert_eq!(info.line_at(a).map(|l| l.1), Some(call), "{a:#x} in {range:x?}");
    }
    assert_ne!(info.line_at(range.end).map(|l| l.1), Some(call));
    let function = info.function_range(addr).expect("function range");
    assert!(function.start <= range.start && range.end <= function.end);
}

#[test]
fn inlined_code_is_symbolized_with_its_inline_chain() {
    let p = build_c("inline.c", &["-g", "-O2"]);
    let info = p.static_info();
    let body = info.line_addresses("inline.c", p.line("helper_body"));
    assert!(!body.is_empty(), "no code for helper's body");
    let loc = info.symbolize(body[0]).expect("symbolize");
    assert_eq!(loc.function.as_deref(), Some("helper"), "{loc:?}");
    assert_eq!(loc.line, Some(p.line("helper_body")));
    assert_eq!(loc.inlined_into.len(), 1, "{loc:?}");
    assert_eq!(loc.inlined_into[0].function.as_deref(), Some("main"));
    assert_eq!(loc.inlined_into[0].line, Some(p.line("main_helper")));
    assert_eq!(loc.outer_function(), Some("main"));
    assert_eq!(loc.symbol.as_deref(), Some("main"));
    // `break helper` stops at the inlined copy, inside main.
    let helper = info.function_address("helper");
    assert!(!helper.is_empty());
    let main = info
        .function_range(info.function_address("main")[0])
        .expect("main's range");
    assert!(helper.iter().all(|a| main.contains(a)), "{helper:x?} not in {main:x?}");
    // The innermost function DIE there is the inlined call's.
    let ms = info.module_at(body[0]).expect("the module");
    let dwarf = ms.dwarf(&info).expect("its DWARF");
    let index = dwarf.functions();
    let f = &index.functions[index.innermost_at(ms.to_link(body[0])).expect("a function")];
    assert!(f.inlined);
    let entry = dwarf.units()[f.unit].entry(f.die).expect("DIE");
    assert_eq!(entry.tag(), gimli::DW_TAG_inlined_subroutine);
}

#[test]
fn disassembly_names_call_targets() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let mem = FileMem(Image::load(&p.module()).expect("load image"));
    let main = info.function_range(info.function_address("main")[0]).unwrap();
    let insns = info.disassemble(&mem, main.start, (main.end - main.start) as usize);
    let text: Vec<&str> = insns.iter().map(|i| i.text.as_str()).collect();
    assert!(insns.last().is_some_and(|i| i.address < main.end));
    assert_eq!(insns[0].address, main.start);
    assert_eq!(insns[0].symbol.as_deref(), Some("main"));
    assert_eq!(insns[1].symbol, Some(format!("main+{}", insns[1].address - main.start)));
    let deep = info.function_range(info.function_address("deep")[0]).unwrap();
    let call = insns
        .iter()
        .find(|i| i.target == Some(deep.start))
        .unwrap_or_else(|| panic!("no call to deep: {text:#?}"));
    assert_eq!(call.text, format!("call   {:#x} <deep>", deep.start), "{text:#?}");
    assert!(text.contains(&"push   %rbp"), "{text:#?}");
    // deep calls into libc through the PLT.
    let deep_insns = info.disassemble(&mem, deep.start, (deep.end - deep.start) as usize);
    assert!(
        deep_insns
            .iter()
            .any(|i| i.text.starts_with("call") && i.text.ends_with("@plt>")),
        "{:#?}",
        deep_insns.iter().map(|i| &i.text).collect::<Vec<_>>()
    );
    let counted = info.disassemble_count(&mem, main.start, 3);
    assert_eq!(counted, insns[..3].to_vec());
}

#[test]
fn source_lines_are_found_through_substitutions_and_directories() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let call = p.line("main_call");
    let info = p.static_info();
    let file = info.line_at(info.line_addresses("deep.c", call)[0]).expect("line").0;
    assert!(info.source_line(&file, call).expect("source line").contains("deep(3)"));
    assert_eq!(info.source_line(&file, 100_000), None);
    assert_eq!(info.source_line(&file, 0), None);
    // Move the source away: only the remedies find it.
    let moved = tempfile::tempdir().expect("temp dir");
    fs::rename(&p.source, moved.path().join("deep.c")).expect("move source");
    let mut info = p.static_info();
    assert_eq!(info.source_line(&file, call), None);
    info.add_substitution(p.dir.path(), moved.path());
    assert!(info
        .source_line(&file, call)
        .expect("found by substitution")
        .contains("deep(3)"));
    let mut info = p.static_info();
    info.add_directory(moved.path());
    assert!(info
        .source_line(&file, call)
        .expect("found in a directory")
        .contains("deep(3)"));
    assert_eq!(info.resolve_source(&file), Some(moved.path().join("deep.c")));
}

#[test]
fn modules_from_mappings_compute_the_bias() {
    let pie = build_c("deep.c", &["-g", "-O0", "-pie", "-fPIE"]);
    let map = |start: u64, offset: u64, path: &Path| MappedFile {
        start,
        end: start + 0x1000,
        offset,
        name: format!("/original{}", path.display()),
        file: path.to_path_buf(),
    };
    let base = 0x5555_5555_4000;
    let modules = modules_from_mappings(&[
        map(base + 0x1000, 0x1000, &pie.exe),
        map(base, 0, &pie.exe),
        map(base + 0x2000, 0x2000, &pie.exe),
    ]);
    assert_eq!(modules.len(), 1);
    assert_eq!(modules[0].bias, base);
    assert_eq!(modules[0].name, format!("/original{}", pie.exe.display()));
    // Only the text mapped: the bias comes from the segment that covers it.
    let modules = modules_from_mappings(&[map(base + 0x1000, 0x1000, &pie.exe)]);
    assert_eq!(modules[0].bias, base);

    let fixed = build_c("deep.c", &["-g", "-O0", "-no-pie"]);
    let modules = modules_from_mappings(&[map(0x400000, 0, &fixed.exe)]);
    assert_eq!(modules[0].bias, 0);

    // Non-ELF files are left out.
    let modules = modules_from_mappings(&[map(0x7000_0000, 0, &fixed.source)]);
    assert!(modules.is_empty());

    // A biased module answers in load addresses.
    let info = DebugInfo::new(vec![Module {
        name: "deep".into(),
        file: pie.exe.clone(),
        bias: base,
    }]);
    let unbiased = pie.static_info().function_address("main")[0];
    assert_eq!(info.function_address("main"), vec![unbiased + base]);
    assert_eq!(info.line_at(unbiased + base).map(|l| l.1), Some(pie.line("main_call")));
}

#[test]
fn proc_maps_text_is_parsed() {
    let text = "\
555555554000-555555555000 r--p 00000000 08:01 123 /usr/bin/my prog
555555555000-555555556000 r-xp 00001000 08:01 123 /usr/bin/my prog
7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0                          [vvar]
7ffff7ff0000-7ffff7ff1000 rw-p 00000000 00:00 0 
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
";
    let maps = parse_proc_maps(text);
    assert_eq!(maps.len(), 2);
    assert_eq!(maps[1].start, 0x5555_5555_5000);
    assert_eq!(maps[1].end, 0x5555_5555_6000);
    assert_eq!(maps[1].offset, 0x1000);
    assert_eq!(maps[1].name, "/usr/bin/my prog");
    assert_eq!(maps[1].file, PathBuf::from("/usr/bin/my prog"));
}

#[test]
fn symbols_complete_by_prefix() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let info = p.static_info();
    let names = info.symbols_matching("de");
    assert!(names.contains(&"deep".to_string()), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("de")));
    assert!(info.symbols_matching("mai").contains(&"main".to_string()));
}

#[test]
fn code_without_dwarf_is_named_by_the_symbol_table() {
    let p = build_c("deep.c", &["-O0"]);
    let info = p.static_info();
    let addrs = info.function_address("deep");
    assert_eq!(addrs.len(), 1);
    let loc = info.symbolize(addrs[0]).expect("symbolize");
    assert_eq!(loc.function.as_deref(), Some("deep"));
    assert_eq!(loc.line, None);
    // Past `[endbr64] push %rbp; mov %rsp,%rbp`.
    assert!(matches!(loc.offset, Some(4) | Some(8)), "{loc:?}");
    let range = info.function_range(addrs[0]).expect("the symbol's size gives a range");
    assert_eq!(range.start, addrs[0] - loc.offset.unwrap());
}

#[test]
fn disassembly_text_is_spelled_like_gdb() {
    let cases = [
        ("pushq", "%rbp", "push", "%rbp"),
        ("movq", "%rsp, %rbp", "mov", "%rsp,%rbp"),
        ("movl", "$3, %edi", "mov", "$0x3,%edi"),
        ("movl", "$0, -4(%rbp)", "movl", "$0x0,-0x4(%rbp)"),
        ("movl", "%eax, -0x14(%rbp)", "mov", "%eax,-0x14(%rbp)"),
        ("leaq", "(%rax,%rdx,4), %rcx", "lea", "(%rax,%rdx,4),%rcx"),
        ("callq", "*0x2fe2(%rip)", "call", "*0x2fe2(%rip)"),
        ("retq", "", "ret", ""),
        ("movq", "%fs:0x28, %rax", "mov", "%fs:0x28,%rax"),
        ("addq", "$8, %r8", "add", "$0x8,%r8"),
        ("movzbl", "%al, %eax", "movzbl", "%al,%eax"),
        // objdump writes the scale 1 that capstone leaves out.
        ("leal", "(%rdx,%rax), %ebx", "lea", "(%rdx,%rax,1),%ebx"),
        ("movl", "(,%rax), %ebx", "mov", "(,%rax,1),%ebx"),
        ("movl", "8(%rbp), %ebx", "mov", "0x8(%rbp),%ebx"),
        ("movq", "%rax, %xmm0", "movq", "%rax,%xmm0"),
        ("cmovnsl", "%edi, %eax", "cmovns", "%edi,%eax"),
        ("cvtsi2sdl", "%eax, %xmm1", "cvtsi2sd", "%eax,%xmm1"),
        ("cvtsi2sdl", "0x10(%rbp), %xmm1", "cvtsi2sdl", "0x10(%rbp),%xmm1"),
    ];
    for (mnemonic, operands, want_mnemonic, want_operands) in cases {
        assert_eq!(
            disasm::gdb_style(mnemonic, operands),
            (want_mnemonic.to_string(), want_operands.to_string()),
            "{mnemonic} {operands}"
        );
    }
}

/// The REPL may hand a `DebugInfo` to another thread (it is not `Sync`).
#[test]
fn debug_info_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<DebugInfo>();
}

// The value tests reuse the helpers above.
#[path = "values_tests.rs"]
mod values_tests;
