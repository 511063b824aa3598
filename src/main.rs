//! `rback`: the command line. Glue only: recording, replay and the trace
//! format live in the `recorder` crate.

mod debuginfo;
mod gdbserve;
mod info;
mod repl;
mod session;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};

use recorder::program;
use recorder::record::{record, RecordOptions};
use recorder::replay::{replay, ReplayOptions};

/// A record/replay and rollback debugger for Linux x86-64 programs that needs
/// no hardware performance counters.
#[derive(Parser)]
#[command(name = "rback", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program and record everything nondeterministic it does.
    Record {
        /// Where to write the trace (default: a new directory under
        /// $RBACK_TRACE_DIR or ~/.local/share/rback).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
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
        /// Serve the replay to gdb on a TCP port: ADDR is PORT or HOST:PORT
        /// (default: 127.0.0.1 on a free port). Prints the gdb command to run.
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
        /// Let --gdb listen on an address other than loopback.
        #[arg(long = "gdb-allow-remote", requires = "gdb")]
        gdb_allow_remote: bool,
        /// The trace directory.
        trace: Option<PathBuf>,
    },
    /// Debug a trace with stock gdb, already connected, forward and backward
    /// (default: the latest trace).
    Gdb {
        /// The trace directory.
        trace: Option<PathBuf>,
        /// Arguments for gdb (after `--`).
        #[arg(last = true)]
        gdb_args: Vec<String>,
    },
    /// Show what a trace holds (default: the latest one).
    Info { trace: Option<PathBuf> },
    /// List recorded traces, newest first.
    Ls,
}

fn main() -> ExitCode {
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
            program: prog,
            args,
        } => {
            let exe = program::resolve_program(&prog)?;
            let trace_dir = match output {
                Some(dir) => program::explicit_trace_dir(&dir)?,
                None => program::new_trace_dir(&program::trace_root(), &exe)?,
            };
            recorder::sys::ignore_terminal_signals();
            let outcome = record(&RecordOptions {
                program: prog,
                args,
                trace_dir: trace_dir.clone(),
            })?;
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
        Command::Replay {
            autopilot,
            script,
            batch,
            gdb,
            gdb_stdio,
            gdb_allow_remote,
            trace,
        } => {
            if gdb_stdio {
                gdbserve::serve_stdio(&trace_or_latest(trace)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(spec) = gdb {
                if autopilot {
                    return Err(anyhow!("--gdb and --autopilot exclude each other"));
                }
                // `--gdb TRACE`: what follows --gdb is the trace, not an
                // address, when it names a directory.
                let (spec, trace) = match (spec.as_str(), trace) {
                    ("", t) => (None, t),
                    (s, None) if Path::new(s).is_dir() => (None, Some(PathBuf::from(s))),
                    (s, t) => (Some(s.to_string()), t),
                };
                let addr = gdbserve::listen_address(spec.as_deref())?;
                gdbserve::serve_tcp(&trace_or_latest(trace)?, addr, gdb_allow_remote)?;
                return Ok(ExitCode::SUCCESS);
            }
            if !autopilot {
                let trace_dir = trace_or_latest(trace)?;
                repl::run(&trace_dir, script.as_deref(), batch)?;
                return Ok(ExitCode::SUCCESS);
            }
            let trace_dir = trace_or_latest(trace)?;
            let outcome = replay(&ReplayOptions {
                trace_dir,
                echo_output: true,
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
        Command::Gdb { trace, gdb_args } => {
            let code = gdbserve::run_gdb(&trace_or_latest(trace)?, &gdb_args)?;
            Ok(exit_code(code))
        }
        Command::Info { trace } => {
            let trace_dir = trace_or_latest(trace)?;
            print!("{}", info::describe(&trace_dir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls => {
            let root = program::trace_root();
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

fn trace_or_latest(trace: Option<PathBuf>) -> Result<PathBuf> {
    match trace {
        Some(t) => Ok(t),
        None => program::latest_trace(&program::trace_root()).context("no trace given"),
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}
