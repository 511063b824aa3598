//! Helpers shared by rback's end-to-end tests: compiling the tracees in
//! `tests/programs/` at test time, running `rback` with a deadline so that a
//! hang fails a test instead of the suite, and comparing a recording with its
//! replay byte for byte.
//!
//! The main types are [`Session`] (a scratch directory with its own
//! `RBACK_TRACE_DIR` and one trace path) and [`Output`] (what a process
//! printed and how it ended).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `rback` binary under test.
pub const RBACK: &str = env!("CARGO_BIN_EXE_rback");

/// How long any one process may run before the test fails as hung. Generous:
/// debug builds on a loaded two-core machine are slow, and a hang is a hang.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The environment variable `args_env.c` prints.
pub const GREETING_VAR: &str = "RBACK_TEST_GREETING";

// ---------------------------------------------------------------------------
// Test programs

/// The directory holding the tracees' sources.
pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

/// Compiles `tests/programs/NAME.c` with `gcc -g -O1` (once per test process)
/// and returns the executable.
pub fn c_program(name: &str) -> PathBuf {
    built(name, Lang::C)
}

/// Compiles `demos/NAME.c` with `gcc -g OPT -Wall`, as the demo scripts
/// do, and returns the executable.
pub fn demo_program(name: &str, opt: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demos")
        .join(format!("{name}.c"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rback-demos");
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run in parallel: build under a private name, rename into place.
    let tmp = dir.join(format!(
        ".{name}.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut gcc = Command::new("gcc");
    gcc.args(["-g", opt, "-Wall", "-o"]).arg(&tmp).arg(&src);
    let out = run(&mut gcc, None, Duration::from_secs(300));
    assert!(out.status.success(), "gcc failed on {}:\n{out:?}", src.display());
    let exe = dir.join(format!("{name}{opt}"));
    std::fs::rename(&tmp, &exe).unwrap();
    exe
}

/// Compiles `tests/programs/NAME.rs` with `rustc -g` (once per test process)
/// and returns the executable.
pub fn rust_program(name: &str) -> PathBuf {
    built(name, Lang::Rust)
}

/// Compiles `tests/programs/NAME.rs` with `rustc -g --test`: a test binary,
/// whose harness runs the tests on threads.
pub fn rust_test_program(name: &str) -> PathBuf {
    built(name, Lang::RustTest)
}

/// Compiles `tests/programs/NAME.cpp` with `g++ -g -O1`.
pub fn cpp_program(name: &str) -> PathBuf {
    built(name, Lang::Cpp)
}

#[derive(Clone, Copy, Debug)]
enum Lang {
    C,
    Cpp,
    Rust,
    RustTest,
}

fn built(name: &str, lang: Lang) -> PathBuf {
    type Cells = Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>;
    static BUILT: OnceLock<Cells> = OnceLock::new();
    // One cell per program, so that compiling one does not wait for another.
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| compile(name, lang)).clone()
}

fn compile(name: &str, lang: Lang) -> PathBuf {
    let ext = match lang {
        Lang::C => "c",
        Lang::Cpp => "cpp",
        Lang::Rust | Lang::RustTest => "rs",
    };
    let src = programs_dir().join(format!("{name}.{ext}"));
    assert!(src.is_file(), "no test program {}", src.display());
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rback-test-programs");
    std::fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
    let exe = cache.join(match lang {
        Lang::RustTest => format!("{name}-tests"),
        _ => name.to_string(),
    });
    // Other test binaries may compile the same program at the same time:
    // build under a private name, then rename into place atomically.
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = cache.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let (compiler, mut cmd) = match lang {
        Lang::C => {
            let mut c = Command::new("gcc");
            c.args(["-g", "-O1", "-Wall", "-o"]).arg(&tmp).arg(&src);
            ("gcc", c)
        }
        Lang::Cpp => {
            let mut c = Command::new("g++");
            c.args(["-g", "-O1", "-Wall", "-o"]).arg(&tmp).arg(&src);
            ("g++", c)
        }
        Lang::Rust | Lang::RustTest => {
            let mut c = Command::new("rustc");
            c.args(["-g", "--edition", "2021"]);
            if matches!(lang, Lang::RustTest) {
                c.arg("--test");
            }
            c.arg("-o").arg(&tmp).arg(&src);
            ("rustc", c)
        }
    };
    if let Err(e) = Command::new(compiler).arg("--version").output() {
        panic!(
            "cannot run {compiler} ({e}): the end-to-end tests compile their tracees at test \
             time; install {compiler}"
        );
    }
    let out = run(&mut cmd, None, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "{compiler} failed to compile {}:\n{out:?}",
        src.display()
    );
    std::fs::rename(&tmp, &exe).unwrap_or_else(|e| panic!("cannot rename {tmp:?}: {e}"));
    exe
}

/// A system program the tests need, at a fixed path: fails loudly when the
/// machine lacks it rather than skipping.
pub fn system_program(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.is_file(),
        "{path} is missing: this test records it, so the machine running the tests needs it"
    );
    p
}

// ---------------------------------------------------------------------------
// Running processes with a deadline

/// What a finished process printed, and how it ended.
#[derive(Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The exit code as a shell reports it (128 + N when killed by signal N).
    pub fn code(&self) -> i32 {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => unreachable!("a process either exits or is killed"),
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The lines of stderr.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr().lines().map(str::to_string).collect()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "status: {} (code {})", self.status, self.code())?;
        writeln!(f, "--- stdout ---\n{}", abbreviate(&self.stdout))?;
        write!(f, "--- stderr ---\n{}", abbreviate(&self.stderr))
    }
}

/// Long output, cut in the middle so assertion messages stay readable.
fn abbreviate(bytes: &[u8]) -> String {
    const KEEP: usize = 3000;
    let s = String::from_utf8_lossy(bytes);
    if s.len() <= 2 * KEEP {
        return s.into_owned();
    }
    let head: String = s.chars().take(KEEP).collect();
    let tail: String = {
        let v: Vec<char> = s.chars().collect();
        v[v.len().saturating_sub(KEEP)..].iter().collect()
    };
    format!("{head}\n[... {} bytes left out ...]\n{tail}", s.len() - 2 * KEEP)
}

/// Runs `cmd` with `stdin` as its standard input (`/dev/null` if `None`),
/// capturing stdout and stderr; fails the test if it runs past `timeout`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    spawn(cmd, stdin).finish(timeout)
}

/// Starts `cmd` like [`run`] but returns at once, for tests that act on the
/// process while it runs.
pub fn spawn(cmd: &mut Command, stdin: Option<&[u8]>) -> Running {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    start(cmd, stdin)
}

/// Starts `cmd` like [`spawn`] but keeps its stdin open for the test to
/// write to (the REPL reads commands from it).
pub fn spawn_interactive(cmd: &mut Command) -> (Running, std::process::ChildStdin) {
    let mut running = start(cmd.stdin(Stdio::piped()), None);
    let stdin = running.child.stdin.take().expect("stdin is piped");
    (running, stdin)
}

fn start(cmd: &mut Command, stdin: Option<&[u8]>) -> Running {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // The program may not read it all; a broken pipe is fine.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = Drain::start(child.stdout.take().expect("stdout is piped"));
    let err = Drain::start(child.stderr.take().expect("stderr is piped"));
    Running { child, out, err, what }
}

/// A process started by [`spawn`], its output being collected.
pub struct Running {
    pub child: Child,
    out: Drain,
    err: Drain,
    what: String,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&self.out.so_far()).into_owned()
    }

    /// Waits until stdout holds `text` (failing the test after `timeout`).
    pub fn wait_for_stdout(&self, text: &str, timeout: Duration) {
        self.wait_for_stdout_count(text, 1, timeout);
    }

    /// Waits until stdout holds `text` `times` times.
    pub fn wait_for_stdout_count(&self, text: &str, times: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.stdout_so_far().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "{text:?} never appeared {times} time(s) on stdout of {}:\n{}\n--- stderr ---\n{}",
                self.what,
                abbreviate(&self.out.so_far()),
                abbreviate(&self.err.so_far())
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to end (failing the test after `timeout`) and
    /// for its output pipes to close.
    pub fn finish(mut self, timeout: Duration) -> Output {
        let what = &self.what;
        let status = match wait_deadline(&mut self.child, timeout) {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "timed out after {timeout:?} (killed it): {what}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
                    abbreviate(&self.out.so_far()),
                    abbreviate(&self.err.so_far())
                );
            }
        };
        // Whatever the process started must be gone with it: a pipe that
        // stays open means a stray process still holds it.
        let grace = Instant::now() + Duration::from_secs(10);
        let stray = |name: &str, so_far: Vec<u8>| -> ! {
            panic!(
                "{what} ended ({status}) but its {name} stayed open: a process it started is still running\n--- {name} so far ---\n{}",
                abbreviate(&so_far)
            )
        };
        let stdout = self
            .out
            .finish(grace)
            .unwrap_or_else(|| stray("stdout", self.out.so_far()));
        let stderr = self
            .err
            .finish(grace)
            .unwrap_or_else(|| stray("stderr", self.err.so_far()));
        Output { status, stdout, stderr }
    }
}

/// A pipe read to its end on a thread, so that it can be abandoned.
struct Drain {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Drain {
    fn start(mut pipe: impl Read + Send + 'static) -> Drain {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = bytes.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(());
        });
        Drain { bytes, done }
    }

    /// Everything read, once the pipe is closed; `None` if it is still open
    /// at `deadline`.
    fn finish(&self, deadline: Instant) -> Option<Vec<u8>> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.done.recv_timeout(left).ok()?;
        Some(self.so_far())
    }

    fn so_far(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

/// Waits for `child` until `timeout`; `None` if it is still running then.
pub fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waitpid failed") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls until `path` exists, then returns its contents (written atomically
/// by the tracees: they rename a finished file into place).
pub fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {timeout:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` is gone: no longer in /proc, or a zombie (dead,
/// waiting only for whoever inherited it to reap it).
pub fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .is_some_and(|s| s.trim_start().starts_with('Z') || s.trim_start().starts_with('X')),
    }
}

// ---------------------------------------------------------------------------
// Recording and replaying

/// A scratch directory for one test: input files, an `RBACK_TRACE_DIR` of its
/// own (`traces/`) so nothing lands in the home directory, and the path of
/// the trace that [`Session::record`] writes (`trace/`).
pub struct Session {
    dir: tempfile::TempDir,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Session {
        let dir = tempfile::Builder::new()
            .prefix("rback-e2e-")
            .tempdir()
            .expect("cannot create a temporary directory");
        Session { dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file inside the scratch directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {p:?}: {e}"));
        p
    }

    /// This session's `RBACK_TRACE_DIR`.
    pub fn traces(&self) -> PathBuf {
        self.path("traces")
    }

    /// The trace [`Session::record`] writes.
    pub fn trace(&self) -> PathBuf {
        self.path("trace")
    }

    /// `rback` run in the scratch directory with this session's
    /// `RBACK_TRACE_DIR`, and its REPL history there too (not in $HOME).
    pub fn command(&self) -> Command {
        let mut c = Command::new(RBACK);
        c.env("RBACK_TRACE_DIR", self.traces())
            .env("RBACK_HISTORY", self.dir().join("history"))
            .env_remove("RUST_BACKTRACE")
            .current_dir(self.dir());
        c
    }

    /// `script` running the shell command line `command` (an rback one)
    /// with a terminal of its own, set up as [`Session::command`] is.
    pub fn in_terminal(&self, command: &str) -> Command {
        let mut c = Command::new("script");
        c.args(["-qfec", command, "/dev/null"])
            .env("RBACK_TRACE_DIR", self.traces())
            .env("RBACK_HISTORY", self.dir().join("history"))
            .env_remove("RUST_BACKTRACE")
            .current_dir(self.dir());
        c
    }

    /// Runs `rback ARGS` with no input.
    pub fn rback<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        run(self.command().args(args), None, TIMEOUT)
    }

    /// `rback record -o TRACE PROG ARGS` exactly as it ran: stderr still
    /// holds rback's own lines.
    pub fn record_raw(
        &self,
        prog: impl AsRef<OsStr>,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = self.command();
        cmd.arg("record").arg("-o").arg(self.trace()).arg(prog);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd, stdin, TIMEOUT)
    }

    /// Records a program that is expected to record successfully, and
    /// returns what the program itself printed: the `rback: trace saved`
    /// line is checked and removed from stderr.
    pub fn record_with(
        &self,
        prog: impl AsRef<OsStr>,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Output {
        let raw = self.record_raw(prog, args, stdin, env);
        strip_saved_line(raw, &self.trace())
    }

    /// Records with no input and the test's own environment.
    pub fn record(&self, prog: impl AsRef<OsStr>, args: &[&str]) -> Output {
        self.record_with(prog, args, None, &[])
    }

    /// `rback replay -a TRACE`, with `/dev/null` as input.
    pub fn replay(&self) -> Output {
        self.rback(&[OsStr::new("replay"), OsStr::new("-a"), self.trace().as_os_str()])
    }

    /// Records, replays, checks that the replay reproduced the recording
    /// exactly, and returns both.
    pub fn record_and_replay(&self, prog: impl AsRef<OsStr>, args: &[&str], stdin: Option<&[u8]>) -> (Output, Output) {
        let rec = self.record_with(prog, args, stdin, &[]);
        let rep = self.replay();
        assert_replay_matches(&rec, &rep);
        (rec, rep)
    }
}

/// Records `prog` in a fresh session, replays it and checks the replay
/// reproduced stdout, stderr and the exit status exactly.
pub fn record_and_replay(prog: impl AsRef<OsStr>, args: &[&str], stdin: Option<&[u8]>) -> (Output, Output) {
    Session::new().record_and_replay(prog, args, stdin)
}

/// Checks the `rback: trace saved to TRACE (N events)` line that ends a
/// successful recording's stderr and removes it, leaving the program's own.
pub fn strip_saved_line(mut out: Output, trace: &Path) -> Output {
    assert_no_panic(&out);
    let text = out.stderr();
    let prefix = format!("rback: trace saved to {} (", trace.display());
    let Some(start) = text.rfind(&prefix) else {
        panic!("the recording's stderr lacks `{prefix}N events)`:\n{out:?}")
    };
    let events = text[start + prefix.len()..]
        .strip_suffix(" events)\n")
        .unwrap_or_else(|| panic!("the recording's stderr does not end with `{prefix}N events)`:\n{out:?}"));
    assert!(
        events.parse::<u64>().is_ok_and(|n| n > 0),
        "bad event count {events:?} in:\n{out:?}"
    );
    assert_eq!(
        text.matches("rback:").count(),
        1,
        "rback printed more than its `trace saved` line:\n{out:?}"
    );
    out.stderr.truncate(start);
    out
}

/// The replay printed exactly what the program printed while recorded, on
/// the same streams, and ended with the same status.
pub fn assert_replay_matches(rec: &Output, rep: &Output) {
    assert_no_panic(rep);
    let same = rec.stdout == rep.stdout && rec.stderr == rep.stderr && rec.code() == rep.code();
    if same {
        return;
    }
    let first_difference = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()))
    };
    panic!(
        "the replay differs from the recording\n\
         stdout same: {} (lengths {} and {}, first difference at byte {})\n\
         stderr same: {}\nstatus: recorded {}, replayed {}\n\
         ===== recorded =====\n{rec:?}\n===== replayed =====\n{rep:?}",
        rec.stdout == rep.stdout,
        rec.stdout.len(),
        rep.stdout.len(),
        first_difference(&rec.stdout, &rep.stdout),
        rec.stderr == rep.stderr,
        rec.code(),
        rep.code(),
    );
}

/// No Rust panic message anywhere in what rback printed.
pub fn assert_no_panic(out: &Output) {
    for (name, text) in [("stdout", out.stdout()), ("stderr", out.stderr())] {
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "rback panicked (on {name}):\n{out:?}"
        );
    }
}

/// rback failed the way it promises to: exactly one line on stderr, starting
/// `rback: error:`, and exit status 1. Returns that line.
pub fn assert_one_error_line(out: &Output) -> String {
    assert_no_panic(out);
    let lines = out.stderr_lines();
    assert!(
        lines.len() == 1 && lines[0].starts_with("rback: error: "),
        "expected exactly one `rback: error:` line on stderr:\n{out:?}"
    );
    assert_eq!(out.code(), 1, "rback's errors exit with status 1:\n{out:?}");
    lines[0].clone()
}

/// The value after `label ` on the line of `text` starting with `label`.
pub fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
}

/// FNV-1a, 64 bits: the checksum the C tracees print.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// `n` deterministic pseudo-random bytes (xorshift64 from `seed`).
pub fn pseudo_random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Writes a copy of the trace `from` to `to` (a new directory, with the
/// same file copies), its events changed by `edit`: a trace as damage or
/// tampering would leave it, with valid checksums.
pub fn rewrite_trace(from: &Path, to: &Path, edit: impl FnOnce(&mut Vec<recorder::trace::Event>)) {
    use recorder::trace::{TraceLog, TraceWriter, FILES_DIR};
    let log = TraceLog::load(from).expect("the recorded trace loads");
    let mut events: Vec<_> = log.events().cloned().collect();
    edit(&mut events);
    std::fs::create_dir(to).unwrap();
    let mut writer = TraceWriter::create(to, &log.header).unwrap();
    for event in &events {
        writer.write_event(event).unwrap();
    }
    writer.finish(None).unwrap();
    let files = to.join(FILES_DIR);
    std::fs::create_dir(&files).unwrap();
    for entry in std::fs::read_dir(from.join(FILES_DIR)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), files.join(entry.file_name())).unwrap();
    }
}

/// Changes bytes an event wrote, for [`rewrite_trace`]'s edits (a loaded
/// trace's bytes are shared slices of its file: the change gives them a
/// copy of their own).
pub fn edit_bytes(bytes: &mut recorder::trace::TraceBytes, edit: impl FnOnce(&mut [u8])) {
    let mut copy = bytes.to_vec();
    edit(&mut copy);
    *bytes = copy.into();
}

/// What the program had written to its stdout before event `at` of the
/// trace.
pub fn stdout_before(trace: &Path, at: u64) -> Vec<u8> {
    use recorder::trace::{Event, Stream, TraceLog};
    let log = TraceLog::load(trace).unwrap();
    let mut out = Vec::new();
    for e in log.events().take(at as usize) {
        if let Event::Syscall(call) = e {
            if let Some(o) = call.output.as_ref().filter(|o| o.stream == Stream::Stdout) {
                out.extend_from_slice(&o.bytes);
            }
        }
    }
    out
}

/// The event after the `n`-th (from 1) syscall event that `pick` accepts:
/// an image taken at the start of its interval has made that call.
pub fn after_nth(trace: &Path, n: usize, pick: impl Fn(i64, &[u64; 6]) -> bool) -> u64 {
    use recorder::trace::{Event, TraceLog};
    let log = TraceLog::load(trace).unwrap();
    let (i, _) = log
        .events()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Syscall(call) if pick(call.nr, &call.args)))
        .nth(n - 1)
        .unwrap_or_else(|| panic!("the trace has fewer than {n} such calls"));
    i as u64 + 1
}
