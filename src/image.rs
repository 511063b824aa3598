//! Checkpoint images from the command line, the REPL and the gdb server:
//! `rback checkpoint TRACE --at EVENT|start|end -o FILE`, `rback restart FILE`,
//! `checkpoint save FILE` and `branch`. Glue over `recorder::image`.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use recorder::image::{self, RestartOptions, Saved, Unopenable};
use recorder::program;
use recorder::record::{record_restart, RecordOutcome, RestartRecordOptions};
use recorder::timeline::{Point, Timeline};
use recorder::trace::ExitStatus;

use crate::position::GotoTarget;

/// Saves the program where `timeline` stands and says what was written;
/// with `bundle`, copies of the files it refers to go next to it.
pub fn save(timeline: &Timeline, trace_dir: &Path, out: &Path, bundle: bool) -> Result<Saved> {
    let saved = image::save(timeline, trace_dir, out).with_context(|| format!("cannot save {}", out.display()))?;
    println!("{}", describe_saved(timeline, out, &saved));
    if bundle {
        let dir = image::bundle(&saved, trace_dir, out)?;
        println!(
            "The {} files it maps are in {}: copy it along with the image",
            saved.files.len(),
            dir.display()
        );
    }
    for note in &saved.notes {
        eprintln!("rback: note: {note}");
    }
    Ok(saved)
}

/// `Saved event N to FILE: ...`, for whichever front end saved it.
pub fn describe_saved(timeline: &Timeline, out: &Path, saved: &Saved) -> String {
    let at = timeline.position();
    let just_before = if at.point == Point::End {
        " (just before it)"
    } else {
        ""
    };
    let threads = match saved.threads {
        1 => String::new(),
        n => format!("{n} threads, "),
    };
    format!(
        "Saved event {}{just_before} to {}: {threads}{} mappings, {} of {} pages stored, {}, in {} ms",
        at.event,
        out.display(),
        saved.regions,
        saved.stored,
        saved.pages,
        human_size(saved.bytes),
        saved.took.as_millis()
    )
}

/// `rback checkpoint TRACE --at EVENT|start|end -o FILE`.
pub fn checkpoint_trace(trace_dir: &Path, at: GotoTarget, out: &Path, bundle: bool) -> Result<()> {
    let mut timeline = Timeline::open(trace_dir, 200)?;
    // The timeline says which events exist, as it does for `goto`.
    at.go(&mut timeline)?;
    save(&timeline, trace_dir, out, bundle)?;
    Ok(())
}

/// Restarts an image and waits for the program to end.
pub fn restart(file: &Path, trace_dirs: Vec<PathBuf>, unopenable: Unopenable) -> Result<ExitStatus> {
    let restarted = image::restart(file, &RestartOptions { trace_dirs, unopenable })
        .with_context(|| format!("cannot restart {}", file.display()))?;
    for note in &restarted.notes {
        eprintln!("rback: note: {note}");
    }
    Ok(image::wait_for_exit(restarted.pid)?)
}

/// `rback restart FILE`: the program's own exit status becomes rback's.
pub fn restart_command(file: &Path, trace_dirs: Vec<PathBuf>, unopenable: Unopenable) -> Result<ExitCode> {
    // Ctrl-C is for the program, which is in the same process group.
    recorder::sys::ignore_terminal_signals();
    let status = restart(file, trace_dirs, unopenable)?;
    if let ExitStatus::Killed { .. } = status {
        eprintln!("rback: the restarted program was {status}");
    }
    Ok(ExitCode::from(status.shell_code().clamp(0, 255) as u8))
}

/// `rback restart --record FILE`: restarts the image under the recorder,
/// into `output` or a new directory among the traces. The recording's
/// outcome says how the program ended.
pub fn restart_recorded(
    file: &Path,
    trace_dirs: Vec<PathBuf>,
    unopenable: Unopenable,
    output: Option<PathBuf>,
    check_memory: Option<u64>,
) -> Result<(PathBuf, RecordOutcome)> {
    // The image names its program; the new trace is named after it.
    let header = image::format::ImageReader::open(file)
        .with_context(|| format!("cannot restart {}", file.display()))?
        .header()
        .clone();
    let existed = output.as_ref().is_some_and(|dir| dir.exists());
    // A new trace among the others becomes the latest; one never recorded
    // must give that back.
    let latest = match &output {
        None => Some(program::trace_root()?.join(program::LATEST_LINK)),
        Some(_) => None,
    };
    let was_latest = latest.as_ref().and_then(|link| std::fs::read_link(link).ok());
    let trace_dir = match output {
        Some(dir) => program::explicit_trace_dir(&dir)?,
        None => program::new_trace_dir(&program::trace_root()?, Path::new(&header.program))?,
    };
    let opts = RestartRecordOptions {
        image: file.to_path_buf(),
        restart: RestartOptions { trace_dirs, unopenable },
        trace_dir: trace_dir.clone(),
        check_memory,
    };
    let outcome = record_restart(&opts, |notes| {
        for note in notes {
            eprintln!("rback: note: {note}");
        }
    });
    match outcome {
        Ok(outcome) => Ok((trace_dir, outcome)),
        Err(e) => {
            // Nothing was recorded: leave no trace that cannot replay (and
            // an empty directory the user named, as it was).
            if existed {
                for entry in std::fs::read_dir(&trace_dir).into_iter().flatten().flatten() {
                    let _ = std::fs::remove_dir_all(entry.path()).or_else(|_| std::fs::remove_file(entry.path()));
                }
            } else {
                let _ = std::fs::remove_dir_all(&trace_dir);
            }
            if let Some(link) = &latest {
                let _ = std::fs::remove_file(link);
                if let Some(target) = was_latest {
                    let _ = std::os::unix::fs::symlink(target, link);
                }
            }
            Err(anyhow::Error::from(e).context(format!("cannot restart {} under the recorder", file.display())))
        }
    }
}

/// Runs the program for real from where `timeline` stands, with whatever
/// was changed by hand, and waits for it: gdb's "what if" as a process of
/// its own. The recording is untouched.
///
/// With `record`, the branch runs under the recorder and becomes a trace
/// of its own, which is returned with the status.
pub fn branch(
    timeline: &Timeline,
    trace_dir: &Path,
    unopenable: Unopenable,
    record: bool,
) -> Result<(ExitStatus, Option<PathBuf>)> {
    // A fresh directory only rback's user can enter: the image holds the
    // program's memory.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("rback-branch-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join("image");
    let result = image::save(timeline, trace_dir, &file)
        .map_err(anyhow::Error::from)
        .and_then(|saved| {
            for note in &saved.notes {
                eprintln!("rback: note: {note}");
            }
            if !record {
                return restart(&file, vec![trace_dir.to_path_buf()], unopenable).map(|status| (status, None));
            }
            let (recorded, outcome) = restart_recorded(&file, vec![trace_dir.to_path_buf()], unopenable, None, None)?;
            match (outcome.status, outcome.error) {
                (Some(status), _) => Ok((status, Some(recorded))),
                (None, error) => Err(anyhow::anyhow!(
                    "the branch's recording stopped after {} events ({}); the trace up to there is in {}",
                    outcome.events,
                    error.map_or_else(|| "no reason given".to_string(), |e| e.to_string()),
                    recorded.display()
                )),
            }
        });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `--unopenable devnull|close`.
pub fn parse_unopenable(text: &str) -> Result<Unopenable, String> {
    match text {
        "devnull" => Ok(Unopenable::DevNull),
        "close" => Ok(Unopenable::Close),
        _ => Err(format!("`{text}` is not devnull or close")),
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 10 << 10 => format!("{b} bytes"),
        b if b < 10 << 20 => format!("{} KiB", b >> 10),
        b => format!("{} MiB", b >> 20),
    }
}
