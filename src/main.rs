//! `rback`: the command line. Glue only: recording, replay and the trace
//! format live in the `recorder` crate, the program's debug information in
//! `debuginfo`, gdb's protocol in `gdbstub-server`.

mod gdbserve;
mod image;
mod info;
mod listen;
mod peer;
mod playback;
mod position;
mod repl;
mod session;
mod tls;

use gdbserve::Backend;
use session::Session;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};

use recorder::live::LiveRecording;
use recorder::program;
use recorder::record::{record, RecordOptions};
use recorder::replay::{replay, Follow, ReplayOptions};
use recorder::timeline::{CheckpointPolicy, OutputTo};

// A loaded trace is a few small allocations per event; mimalloc backs them
// with transparent huge pages (glibc's heap faults in every 4 KiB page) and
// frees them faster. See the commit that brought it for the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A record/replay and rollback debugger for Linux x86-64 programs that needs
/// no hardware performance counters.
#[derive(Parser)]
#[command(name = "rback", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How the debugger spaces and caps its automatic checkpoints.
#[derive(Args, Clone, Default)]
struct CheckpointArgs {
    /// Take an automatic checkpoint every N events, or after TIME of the
    /// program's CPU time such as 100ms or 2s (default: every 200 events or
    /// 250ms, whichever comes first). Closer checkpoints make going back
    /// faster and cost memory.
    #[arg(long = "checkpoint-interval", value_name = "N|TIME", value_parser = parse_interval)]
    checkpoint_interval: Option<Interval>,
    /// The memory all checkpoints together may hold beyond the program's
    /// own (the pages only they keep), like 512M or 4G (default: 2G). They
    /// are thinned to stay under it: going back gets slower, never fails.
    #[arg(long = "checkpoint-memory", value_name = "SIZE", value_parser = parse_size)]
    checkpoint_memory: Option<u64>,
}

#[derive(Clone, Copy)]
enum Interval {
    Events(u64),
    CpuTime(Duration),
}

impl CheckpointArgs {
    fn policy(&self) -> CheckpointPolicy {
        let mut policy = CheckpointPolicy::default();
        match self.checkpoint_interval {
            // One measure chosen: the other no longer triggers.
            Some(Interval::Events(n)) => {
                policy.every_events = n;
                policy.every_cpu = Duration::MAX;
            }
            Some(Interval::CpuTime(t)) => {
                policy.every_cpu = t;
                policy.every_events = u64::MAX;
            }
            None => {}
        }
        if let Some(bytes) = self.checkpoint_memory {
            policy.memory_budget = bytes;
        }
        policy
    }

    /// The same options as command-line arguments, for a server rback
    /// starts for gdb.
    fn to_args(&self) -> Vec<String> {
        let mut args = vec![];
        match self.checkpoint_interval {
            Some(Interval::Events(n)) => args.push(format!("--checkpoint-interval={n}")),
            Some(Interval::CpuTime(t)) => args.push(format!("--checkpoint-interval={}ms", t.as_millis())),
            None => {}
        }
        if let Some(bytes) = self.checkpoint_memory {
            args.push(format!("--checkpoint-memory={bytes}"));
        }
        args
    }
}

/// `"512M"` as `(512, "M")`; `None` without a leading number.
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    Some((digits.parse().ok()?, unit))
}

fn parse_interval(text: &str) -> Result<Interval, String> {
    let bad = || format!("`{text}` is not a number of events or a time like 100ms or 2s");
    let (n, unit) = number_and_unit(text).ok_or_else(bad)?;
    if n == 0 {
        return Err("the checkpoint interval must be more than 0".into());
    }
    match unit {
        "" => Ok(Interval::Events(n)),
        "ms" => Ok(Interval::CpuTime(Duration::from_millis(n))),
        "s" => Ok(Interval::CpuTime(Duration::from_secs(n))),
        _ => Err(bad()),
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size like 512M or 4G");
    let (n, unit) = number_and_unit(text).ok_or_else(bad)?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    n.checked_shl(shift).filter(|v| v >> shift == n).ok_or_else(bad)
}

#[derive(Subcommand)]
enum Command {
    /// Run a program and record everything nondeterministic it does.
    Record {
        /// Where to write the trace (default: a new directory under
        /// $RBACK_TRACE_DIR or ~/.local/share/rback).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
        /// Keep a hash of the program's writable memory at every N-th
        /// syscall, which replay compares: a divergence is then noticed
        /// where memory first differs, not only where the output does.
        #[arg(long = "check-memory", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        check_memory: Option<u64>,
        /// Trap every syscall, rather than letting rback's library inside
        /// the program log the cheap ones (clocks, ids, stats, reads of
        /// files) without a stop: slower, for a program that the library
        /// gets in the way of.
        #[arg(long = "no-syscall-buffer")]
        no_syscall_buffer: bool,
        /// The program to record.
        program: String,
        /// Its arguments (put `--` before them if they start with `-`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Replay a trace (default: the latest one) in the time-travel debugger,
    /// or to the end with -a.
    Replay {
        /// Autopilot: replay to the end with no debugger, reproducing the
        /// program's output and exit status.
        #[arg(short = 'a', long = "autopilot")]
        autopilot: bool,
        /// Run the debugger commands in FILE first.
        #[arg(short = 'x', long = "command", value_name = "FILE", conflicts_with = "autopilot")]
        script: Option<PathBuf>,
        /// Exit after the commands of -x instead of reading more.
        #[arg(long = "batch", conflicts_with = "autopilot")]
        batch: bool,
        /// Serve the replay to gdb, by default on a Unix socket in a
        /// directory only you can enter; ADDR (PORT or HOST:PORT) listens on
        /// TCP instead. Prints the gdb command to run. Only connections
        /// from the user running rback are served.
        #[arg(
            long = "gdb",
            value_name = "ADDR",
            num_args = 0..=1,
            default_missing_value = "",
            conflicts_with_all = ["script", "batch"]
        )]
        gdb: Option<String>,
        /// Serve the replay to gdb over stdin and stdout, for
        /// `target extended-remote | rback replay --gdb-stdio TRACE`.
        #[arg(long = "gdb-stdio", conflicts_with_all = ["gdb", "autopilot", "script", "batch"])]
        gdb_stdio: bool,
        /// Serve --gdb on TCP to anyone who can connect: other local users,
        /// and other hosts if ADDR is not loopback (default ADDR: 127.0.0.1
        /// on a free port). Without it, only connections from the user
        /// running rback are served.
        #[arg(long = "gdb-allow-remote", requires = "gdb")]
        gdb_allow_remote: bool,
        /// Follow this process of a program that has several (its id while
        /// recording, or its program's name; `rback info` lists them), as
        /// gdb follows one; by default the first. With -a, replay only it.
        #[arg(short = 'p', long = "process", value_name = "PID|NAME")]
        process: Option<String>,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
        /// The trace directory.
        trace: Option<PathBuf>,
    },
    /// Record a program and debug it at once: the debugger starts at the
    /// program's start, and the program runs only as far as the debugger
    /// goes forward; going back works at any time. With --gdb, gdb drives
    /// it the same way.
    Run {
        /// Where to write the trace (default: a new directory under
        /// $RBACK_TRACE_DIR or ~/.local/share/rback).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
        /// Run the debugger commands in FILE first.
        #[arg(short = 'x', long = "command", value_name = "FILE")]
        script: Option<PathBuf>,
        /// Exit after the commands of -x instead of reading more.
        #[arg(long = "batch")]
        batch: bool,
        /// Serve the recording to gdb instead, on a Unix socket only you can
        /// reach, or on TCP loopback at ADDR (PORT or HOST:PORT), serving
        /// only your own user.
        #[arg(
            long = "gdb",
            value_name = "ADDR",
            num_args = 0..=1,
            default_missing_value = "",
            require_equals = true,
            conflicts_with_all = ["script", "batch"]
        )]
        gdb: Option<String>,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
        /// The program to record.
        program: String,
        /// Its arguments (put `--` before them if they start with `-`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Debug a trace with stock gdb, already connected, forward and backward
    /// (default: the latest trace).
    Gdb {
        /// Debug this process of a program that has several (its id while
        /// recording, or its program's name); by default the first.
        #[arg(short = 'p', long = "process", value_name = "PID|NAME")]
        process: Option<String>,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
        /// The trace directory.
        trace: Option<PathBuf>,
        /// Arguments for gdb (after `--`).
        #[arg(last = true)]
        gdb_args: Vec<String>,
    },
    /// Show what a trace holds (default: the latest one).
    Info {
        /// Check the whole trace instead: every frame of its event log and
        /// every file copy, a line per problem; exit status 1 unless it is
        /// sound.
        #[arg(long)]
        verify: bool,
        trace: Option<PathBuf>,
    },
    /// Save the program at a position of a recording as a checkpoint
    /// image, which `rback restart` runs for real.
    Checkpoint {
        trace: PathBuf,
        /// Where the image is taken, as `goto` in the debugger takes it: the
        /// start of event EVENT's interval, the program's start, or the
        /// recording's last stop (just before the program ends).
        #[arg(long, value_name = "EVENT|start|end")]
        at: String,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// Also put the trace's copies of the files the image maps in
        /// FILE.files, so that the two restart without the trace.
        #[arg(long)]
        bundle: bool,
    },
    /// Run a checkpoint image as a live program from the moment it was
    /// saved; rback waits for it and exits with its status.
    Restart {
        image: PathBuf,
        /// A trace whose file copies the image's mappings refer to, when
        /// the one it was saved from is elsewhere (repeatable).
        #[arg(long = "trace", value_name = "DIR")]
        traces: Vec<PathBuf>,
        /// What stands in for a descriptor that cannot be reopened (a pipe,
        /// a socket, a file that is gone): devnull or close.
        #[arg(long, value_name = "HOW", default_value = "devnull", value_parser = image::parse_unopenable)]
        unopenable: recorder::image::Unopenable,
        /// Run it under the recorder: the rest of the run becomes a trace of
        /// its own, which replays and debugs (backward too) like any other.
        #[arg(long)]
        record: bool,
        /// With --record: where to write the trace (default: a new
        /// directory under $RBACK_TRACE_DIR or ~/.local/share/rback).
        #[arg(short = 'o', long = "output", value_name = "DIR", requires = "record")]
        output: Option<PathBuf>,
        /// With --record: keep a hash of the program's writable memory at
        /// every N-th syscall, which replay compares (as `rback record`'s).
        #[arg(long = "check-memory", value_name = "N", requires = "record", value_parser = clap::value_parser!(u64).range(1..))]
        check_memory: Option<u64>,
    },
    /// List recorded traces, newest first.
    Ls,
    /// Play values or memory through a recording like a film: sample each
    /// --show every time execution reaches --at.
    Playback {
        /// The trace directory (default: the latest one).
        trace: Option<PathBuf>,
        /// Where to sample: FUNC, FILE:LINE, *ADDR, or an event range A-B.
        #[arg(long, value_name = "WHERE")]
        at: String,
        /// What to sample: an expression, or mem:ADDR:LEN[:WIDTH] for raw
        /// bytes. Repeat for several.
        #[arg(long = "show", value_name = "EXPR", required = true)]
        show: Vec<String>,
        /// How to draw: grid, bars, spark, hex or value (once for all
        /// shows, or once per show).
        #[arg(long = "as", value_name = "STYLE")]
        style: Vec<String>,
        /// Frames per second.
        #[arg(long, default_value_t = playback::DEFAULT_FPS)]
        fps: f64,
        /// Sample backward from the end with reverse-continue and play
        /// from the last frame to the first.
        #[arg(long)]
        reverse: bool,
        /// After playing forward, rewind to the first frame, each frame
        /// replayed again from a checkpoint.
        #[arg(long)]
        rewind: bool,
        /// Sample from this event on.
        #[arg(long, value_name = "EVENT")]
        from: Option<u64>,
        /// Sample up to this event.
        #[arg(long, value_name = "EVENT")]
        to: Option<u64>,
        /// Stop sampling after this many frames.
        #[arg(long, value_name = "N", default_value_t = playback::DEFAULT_MAX_FRAMES)]
        max_frames: usize,
        /// Write an asciicast v2 recording of the playback.
        #[arg(long, value_name = "FILE")]
        cast: Option<PathBuf>,
        /// Write an animated GIF of the playback.
        #[arg(long, value_name = "FILE")]
        gif: Option<PathBuf>,
        /// In a terminal, start paused (step with the arrow keys).
        #[arg(long)]
        paused: bool,
    },
}

fn main() -> ExitCode {
    // Before rback changes them: what the programs it starts inherit.
    recorder::sys::terminal_signals_ignored_at_start();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rback: error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// An error and its causes on one line, as "outer: inner".
fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Record {
            output,
            check_memory,
            no_syscall_buffer,
            program: prog,
            args,
        } => {
            let (trace_dir, outcome) = record_program(output, prog, args, check_memory, !no_syscall_buffer)?;
            recorded_outcome(&trace_dir, outcome)
        }
        Command::Run {
            output,
            script,
            batch,
            gdb,
            checkpoints,
            program: prog,
            args,
        } => {
            let listen = match &gdb {
                Some(spec) => Some(listen::listen_address(
                    (!spec.is_empty()).then_some(spec.as_str()),
                    false,
                )?),
                None => None,
            };
            if let Some(path) = &script {
                // Read before the program starts, so a typo costs nothing.
                std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
            }
            let exe = program::resolve_program(&prog)?;
            let trace_dir = match output {
                Some(dir) => program::explicit_trace_dir(&dir)?,
                None => program::new_trace_dir(&program::trace_root()?, &exe)?,
            };
            // Listening comes first: the recorder's thread must start with
            // the signals that a Unix socket's cleanup takes blocked.
            let door = listen.map(listen::Door::open).transpose()?;
            let opts = RecordOptions {
                program: prog,
                args,
                trace_dir: trace_dir.clone(),
                check_memory: None,
                syscall_buffer: false,
            };
            // The REPL reads the terminal the program reads: they take
            // turns, as with gdb. gdb reaches the server from elsewhere.
            let recording = if door.is_some() {
                LiveRecording::start(opts)?
            } else {
                LiveRecording::start_at_terminal(opts)?
            };
            if let Some(door) = door {
                let backend = gdbserve::Backend::live(recording, checkpoints.policy())?;
                listen::serve(backend, &trace_dir, door)?;
                eprintln!("rback: the recording is in {}", trace_dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let session = Session::open_live(recording, checkpoints.policy())?;
            let ended = repl::run(session, script.as_deref(), batch)?;
            eprintln!("rback: the recording is in {}", trace_dir.display());
            Ok(repl_exit(ended))
        }
        Command::Replay {
            autopilot,
            script,
            batch,
            gdb,
            gdb_stdio,
            gdb_allow_remote,
            process,
            checkpoints,
            trace,
        } => {
            let policy = checkpoints.policy();
            // `--gdb TRACE`: what follows --gdb is the trace, not an
            // address, when it names a directory.
            let (gdb, trace) = match (gdb, trace) {
                (Some(s), None) if !s.is_empty() && Path::new(&s).is_dir() => {
                    (Some(String::new()), Some(PathBuf::from(s)))
                }
                other => other,
            };
            let trace = trace_or_latest(trace)?;
            let process = match process {
                Some(what) => Some(recorder::process::resolve(&trace, &what)?),
                None => None,
            };
            if gdb_stdio {
                gdbserve::serve_stdio(&trace, policy, process)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(spec) = gdb {
                if autopilot {
                    return Err(anyhow!("--gdb and --autopilot exclude each other"));
                }
                let listen = listen::listen_address((!spec.is_empty()).then_some(spec.as_str()), gdb_allow_remote)?;
                let door = listen::Door::open(listen)?;
                let backend = Backend::open(&trace, policy, process, OutputTo::Streams)?;
                listen::serve(backend, &trace, door)?;
                return Ok(ExitCode::SUCCESS);
            }
            if !autopilot {
                let mut session = Session::open_process(&trace, policy, process)?;
                session.timeline.show_program_output(OutputTo::Streams);
                return Ok(repl_exit(repl::run(session, script.as_deref(), batch)?));
            }
            let outcome = replay(&ReplayOptions {
                trace_dir: trace,
                echo_output: true,
                follow: process.map_or(Follow::All, Follow::Process),
            })?;
            match outcome.status {
                Some(status) => Ok(exit_code(status.shell_code())),
                None => {
                    let why = outcome.cut_short.unwrap_or_default();
                    eprintln!(
                        "rback: the trace ends after {} events, before the program did: {why}",
                        outcome.events
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Gdb {
            process,
            checkpoints,
            trace,
            gdb_args,
        } => {
            let mut server_args = checkpoints.to_args();
            if let Some(what) = process {
                server_args.push(format!("--process={what}"));
            }
            let code = gdbserve::run_gdb(&trace_or_latest(trace)?, &gdb_args, &server_args)?;
            Ok(exit_code(code))
        }
        Command::Checkpoint {
            trace,
            at,
            output,
            bundle,
        } => {
            let at = at.parse().map_err(|e: String| anyhow!(e))?;
            image::checkpoint_trace(&trace, at, &output, bundle)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Restart {
            image: file,
            traces,
            unopenable,
            record: false,
            ..
        } => image::restart_command(&file, traces, unopenable),
        Command::Restart {
            image: file,
            traces,
            unopenable,
            record: true,
            output,
            check_memory,
        } => {
            recorder::sys::ignore_terminal_signals();
            let (trace_dir, outcome) = image::restart_recorded(&file, traces, unopenable, output, check_memory)?;
            recorded_outcome(&trace_dir, outcome)
        }
        Command::Info { verify, trace } => {
            let trace_dir = trace_or_latest(trace)?;
            if verify {
                let (report, sound) = info::verify(&trace_dir)?;
                print!("{report}");
                return Ok(if sound { ExitCode::SUCCESS } else { ExitCode::from(1) });
            }
            let report = info::describe(&trace_dir).map_err(|e| match e.downcast_ref::<recorder::TraceError>() {
                Some(recorder::TraceError::Corrupt { .. }) => anyhow!(
                    "{}; `rback info --verify {}` lists every problem",
                    one_line(&e),
                    trace_dir.display()
                ),
                _ => e,
            })?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Playback {
            trace,
            at,
            show,
            style,
            fps,
            reverse,
            rewind,
            from,
            to,
            max_frames,
            cast,
            gif,
            paused,
        } => {
            playback::run(&playback::Options {
                trace_dir: trace_or_latest(trace)?,
                at,
                shows: show,
                styles: style,
                fps,
                reverse,
                rewind,
                from,
                to,
                max_frames,
                cast,
                gif,
                paused,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls => {
            let root = program::trace_root()?;
            let traces = program::list_traces(&root);
            if traces.is_empty() {
                eprintln!("rback: no traces in {}", root.display());
            }
            for t in traces {
                println!("{}", info::summary_line(&t));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `rback record` (and `restart --record`) says and exits with once
/// the program ended: the program's status, or an error that says where
/// the trace is.
fn recorded_outcome(trace_dir: &Path, outcome: recorder::record::RecordOutcome) -> Result<ExitCode> {
    if let Some(err) = outcome.error {
        return Err(anyhow!(err).context(format!(
            "recording stopped after {} events (the trace up to there is in {})",
            outcome.events,
            trace_dir.display()
        )));
    }
    eprintln!(
        "rback: trace saved to {} ({} events)",
        trace_dir.display(),
        outcome.events
    );
    Ok(exit_code(outcome.status.map(|s| s.shell_code()).unwrap_or(1)))
}

/// Records `prog` into `output` (or a new trace directory).
fn record_program(
    output: Option<PathBuf>,
    prog: String,
    args: Vec<String>,
    check_memory: Option<u64>,
    syscall_buffer: bool,
) -> Result<(PathBuf, recorder::record::RecordOutcome)> {
    let exe = program::resolve_program(&prog)?;
    let trace_dir = match output {
        Some(dir) => program::explicit_trace_dir(&dir)?,
        None => program::new_trace_dir(&program::trace_root()?, &exe)?,
    };
    recorder::sys::ignore_terminal_signals();
    let outcome = record(&RecordOptions {
        program: prog,
        args,
        trace_dir: trace_dir.clone(),
        check_memory,
        syscall_buffer,
    })?;
    Ok((trace_dir, outcome))
}

fn trace_or_latest(trace: Option<PathBuf>) -> Result<PathBuf> {
    match trace {
        Some(t) => Ok(t),
        None => program::latest_trace(&program::trace_root()?).context("no trace given"),
    }
}

fn repl_exit(ended: repl::Ended) -> ExitCode {
    match ended {
        repl::Ended::Fine => ExitCode::SUCCESS,
        repl::Ended::LastCommandFailed => ExitCode::from(1),
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}
