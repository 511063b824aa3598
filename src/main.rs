//! `rback`: the command line. Glue only: recording, replay and the trace
//! format live in the `recorder` crate.

mod debuginfo;
mod info;
// The REPL that drives a session is being written alongside it.
#[allow(dead_code)]
mod session;

use std::path::PathBuf;
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
    /// Replay a trace (default: the latest one).
    Replay {
        /// Autopilot: replay to the end with no debugger, reproducing the
        /// program's output and exit status.
        #[arg(short = 'a', long = "autopilot")]
        autopilot: bool,
        /// The trace directory.
        trace: Option<PathBuf>,
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
        Command::Replay { autopilot, trace } => {
            if !autopilot {
                return Err(anyhow!(
                    "interactive replay is not available in this version; use `rback replay -a` to replay to the end"
                ));
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
