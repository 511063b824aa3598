//! `rback info` and `rback ls`: what a trace holds, read without replaying;
//! `rback info --verify`: whether all of it is sound.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use recorder::image::format::ImageReader;
use recorder::process::TreeReader;
use recorder::trace::{Event, FileHash, Next, TraceReader, FILES_DIR};

/// The full `rback info` report.
pub fn describe(dir: &Path) -> Result<String> {
    let mut reader = TraceReader::open(dir)?;
    let header = reader.header().clone();
    let mut syscalls: BTreeMap<String, u64> = BTreeMap::new();
    let (mut rdtsc, mut signals, mut execs) = (0u64, 0u64, 0u64);
    let (mut tasks, mut switches) = (1u64, 0u64);
    // Calls made through the syscall buffer, without a stop each.
    let mut buffered = 0u64;
    let mut exit = None;
    let mut from_image = None;
    let mut tree = TreeReader::default();
    let (complete, duration) = loop {
        let at = reader.next_index();
        let item = reader.next_item()?;
        if let Next::Event(event) = &item {
            tree.see(at, event);
        }
        match item {
            Next::Event(Event::Syscall(s)) => {
                if matches!(
                    s.nr,
                    libc::SYS_clone | libc::SYS_clone3 | libc::SYS_fork | libc::SYS_vfork
                ) && s.result > 0
                {
                    tasks += 1;
                }
                buffered += s.buffered as u64;
                *syscalls.entry(recorder::syscalls::name(s.nr)).or_default() += 1
            }
            Next::Event(Event::Switch(_)) => switches += 1,
            Next::Event(Event::Rdtsc { .. }) => rdtsc += 1,
            Next::Event(Event::Signal(_)) => signals += 1,
            Next::Event(Event::Exec(exec)) => {
                if let Some(start) = exec.image.as_ref().filter(|_| at.0 == 0) {
                    from_image = Some(start.copy.clone());
                    // The threads the image held, which no clone made here.
                    tasks += start.threads.len() as u64;
                }
                execs += 1
            }
            Next::Event(Event::Exit(status)) => exit = Some(status),
            Next::End(t) => break (true, Some(t.duration_ns)),
            Next::EndsEarly => break (false, None),
        }
    };
    let events = reader.next_index();
    let (events_size, files_size, files) = sizes(dir);
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "trace:     {}", dir.display())?;
    writeln!(w, "program:   {}", header.program)?;
    writeln!(w, "command:   {}", header.argv.join(" "))?;
    writeln!(w, "cwd:       {}", header.cwd)?;
    writeln!(
        w,
        "recorded:  {} by rback {}",
        utc(header.start_time),
        header.rback_version
    )?;
    writeln!(w, "cpu:       {}", header.cpu.vendor)?;
    if let Some(image) = from_image {
        writeln!(w, "starts:    from {}", image_origin(dir, &image))?;
    }
    let state = if complete {
        "complete"
    } else {
        "ends early: the recording was cut short"
    };
    writeln!(w, "events:    {events} ({state})")?;
    let processes = &tree.tree.processes;
    let threads = tasks.saturating_sub(processes.len().saturating_sub(1) as u64);
    if threads > 1 && processes.len() <= 1 {
        writeln!(w, "threads:   {threads} ({switches} switches between them)")?;
    }
    if processes.len() > 1 {
        writeln!(w, "threads:   {threads}")?;
        writeln!(
            w,
            "processes: {} ({switches} switches between threads)",
            processes.len()
        )?;
        for p in processes {
            let parent = p.parent.map(|pp| format!(", child of {pp}")).unwrap_or_default();
            let ended = match (p.ended, p.gone) {
                (Some(status), _) => status.to_string(),
                (None, true) => "ended".into(),
                (None, false) => "its end is not recorded".into(),
            };
            let mut command = p.argv.join(" ");
            if command.chars().count() > 60 {
                command = command.chars().take(57).collect::<String>() + "...";
            }
            writeln!(
                w,
                "  {:>7}  {command} (from event {}{parent}; {ended})",
                p.pid, p.born_at.0
            )?;
        }
    }
    if let Some(ns) = duration {
        writeln!(w, "duration:  {:.3} s", ns as f64 / 1e9)?;
    }
    match exit {
        Some(status) => writeln!(w, "exit:      {status}")?,
        None => writeln!(w, "exit:      not recorded")?,
    }
    writeln!(
        w,
        "size:      {} (events {}, {} captured files {})",
        human(events_size + files_size),
        human(events_size),
        files,
        human(files_size)
    )?;
    writeln!(w, "execs:     {execs}")?;
    writeln!(w, "signals:   {signals}")?;
    writeln!(w, "rdtsc:     {rdtsc}")?;
    let total: u64 = syscalls.values().sum();
    writeln!(w, "syscalls:  {total} ({buffered} buffered)")?;
    let mut by_count: Vec<_> = syscalls.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (name, n) in by_count {
        writeln!(w, "  {name:<20} {n:>8}")?;
    }
    Ok(out)
}

/// `rback info --verify`: checks every frame of the trace in `dir` (see
/// `recorder::trace::check`) and every file copy its events name (see
/// `recorder::files::verify`), and warns of files in `files/` that no
/// event names. Returns the report, a line per problem or warning and then
/// a summary line, and whether the trace is sound: its frames whole, valid
/// and complete, and every copy it names intact.
pub fn verify(dir: &Path) -> Result<(String, bool)> {
    let mut named = BTreeSet::new();
    let mut images = BTreeSet::new();
    let frames = recorder::trace::check(dir, |event| named_copies(event, &mut named, &mut images))?;
    let mut out = String::new();
    let w = &mut out;
    let (mut problems, mut warnings) = (0, 0);
    for p in named_by_images(dir, &images, &mut named) {
        writeln!(w, "bad: {p}")?;
        problems += 1;
    }
    for p in &frames.problems {
        writeln!(w, "bad: {p}")?;
        problems += 1;
    }
    if let Some(at) = frames.ends_early {
        writeln!(
            w,
            "bad: trace {} ends early, at byte {at} after {} events: the recording was cut short (rback was killed or crashed), and replay stops there",
            dir.join(recorder::trace::EVENTS_FILE).display(),
            frames.events
        )?;
        problems += 1;
    }
    let mut intact = 0;
    for hash in &named {
        match recorder::files::verify(dir, &FileHash(hash.clone())) {
            Ok(_) => intact += 1,
            Err(e) => {
                writeln!(w, "bad: {e}")?;
                problems += 1;
            }
        }
    }
    let files = dir.join(FILES_DIR);
    match std::fs::read_dir(&files) {
        Ok(entries) => {
            let mut unnamed: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !named.contains(name))
                .collect();
            unnamed.sort();
            for name in unnamed {
                let why = if name.starts_with(".incoming-") {
                    "is a partial copy that an interrupted recording left; nothing uses it"
                } else {
                    "is named by no event of the trace; nothing uses it"
                };
                writeln!(w, "warning: {} {why}", files.join(&name).display())?;
                warnings += 1;
            }
        }
        // Each copy the events name was reported missing above.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            writeln!(w, "bad: cannot list {}: {e}", files.display())?;
            problems += 1;
        }
    }
    let sound = problems == 0 && frames.is_sound();
    let warned = match warnings {
        0 => String::new(),
        1 => " (1 warning)".into(),
        n => format!(" ({n} warnings)"),
    };
    let copies = format!("{intact} of {} file copies intact", named.len());
    if sound {
        writeln!(
            w,
            "verify: {} is sound{warned}: {} events, complete; {copies}",
            dir.display(),
            frames.events
        )?;
    } else {
        let mut events = format!("{} events read intact", frames.events);
        if frames.damaged > 0 {
            let s = if frames.damaged == 1 { "" } else { "s" };
            write!(events, ", {} damaged frame{s}", frames.damaged)?;
        }
        if frames.unreadable_rest {
            events.push_str(", the rest unreadable");
        }
        writeln!(
            w,
            "verify: {} has {problems} problem{}{warned}: {events}; {copies}",
            dir.display(),
            if problems == 1 { "" } else { "s" }
        )?;
    }
    Ok((out, sound))
}

/// What the trace's copy of the image it starts from says of itself.
fn image_origin(dir: &Path, image: &FileHash) -> String {
    let header =
        recorder::files::verify(dir, image).and_then(|path| ImageReader::open(&path).map(|r| r.header().clone()));
    match header {
        Ok(h) => format!(
            "a checkpoint image of {}, saved at event {} of the trace {}",
            h.program, h.event, h.trace_dir
        ),
        Err(e) => format!("a checkpoint image that cannot be read: {e}"),
    }
}

/// The copies in `files/` that the trace's copies of checkpoint images
/// (`images`, a recording that starts from one) name; a problem for each
/// image that cannot be read.
fn named_by_images(dir: &Path, images: &BTreeSet<String>, named: &mut BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for image in images {
        // A damaged or missing copy is reported with the others.
        let Ok(path) = recorder::files::verify(dir, &FileHash(image.clone())) else {
            continue;
        };
        match ImageReader::open(&path) {
            Ok(reader) => named.extend(reader.header().files.iter().map(|f| f.hash.0.clone())),
            Err(e) => problems.push(format!("the image the trace starts from cannot be read: {e}")),
        }
    }
    problems
}

/// Adds the copies in `files/` that `event` names to `named`.
fn named_copies(event: &Event, named: &mut BTreeSet<String>, images: &mut BTreeSet<String>) {
    match event {
        Event::Exec(exec) => {
            if let Some(start) = &exec.image {
                named.insert(start.copy.0.clone());
                images.insert(start.copy.0.clone());
            }
            named.insert(exec.exe.0.clone());
            if let Some((_, interp)) = &exec.interp {
                named.insert(interp.0.clone());
            }
        }
        Event::Syscall(s) => {
            if let Some(file) = &s.mapped_file {
                named.insert(file.0.clone());
            }
        }
        _ => {}
    }
}

/// One line for `rback ls`.
pub fn summary_line(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match TraceReader::open(dir) {
        Ok(r) => {
            let h = r.header();
            let (e, f, _) = sizes(dir);
            format!(
                "{name:<24} {}  {:>9}  {}",
                utc(h.start_time),
                human(e + f),
                h.argv.join(" ")
            )
        }
        Err(e) => format!("{name:<24} (unreadable: {e})"),
    }
}

fn sizes(dir: &Path) -> (u64, u64, usize) {
    let events = std::fs::metadata(dir.join(recorder::trace::EVENTS_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let (mut bytes, mut count) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(dir.join(FILES_DIR)) {
        for e in entries.flatten() {
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            count += 1;
        }
    }
    (events, bytes, count)
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (civil-from-days).
fn utc(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(human(10), "10 B");
        assert_eq!(human(1536), "1.5 KiB");
    }
}
