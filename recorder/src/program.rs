//! Everything about a recording that is settled before the tracee starts:
//! whether the program can be recorded at all, the CPU's identity, and where
//! traces are kept.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::sys;
use crate::trace::CpuIdentity;
use crate::{Error, Result};

/// Finds `name` the way a shell would (a name without `/` is looked up in
/// `PATH`) and checks that it is something rback can record: an x86-64 ELF
/// executable or a `#!` script.
pub fn resolve_program(name: &str) -> Result<PathBuf> {
    let candidate = if name.contains('/') {
        PathBuf::from(name)
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Program(format!("cannot find program '{name}' (not in PATH)")))?
    };
    let meta = fs::metadata(&candidate).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Program(format!("no such file: '{name}'")),
        _ => Error::Program(format!("cannot access '{name}': {e}")),
    })?;
    if meta.is_dir() {
        return Err(Error::Program(format!("'{name}' is a directory, not a program")));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Error::Program(format!(
            "'{name}' is not executable (no execute permission)"
        )));
    }
    let mut head = [0u8; 5];
    let n = fs::File::open(&candidate)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::Program(format!("cannot read '{name}': {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"#!") {
        return Ok(candidate);
    }
    if !head.starts_with(b"\x7fELF") {
        return Err(Error::Program(format!(
            "'{name}' is not an ELF executable or a #! script"
        )));
    }
    if head.get(4) != Some(&2) {
        return Err(Error::Program(format!(
            "'{name}' is a 32-bit program; rback records x86-64 programs only"
        )));
    }
    Ok(candidate)
}

/// The CPUID answers a program may base decisions on, with the fields that
/// differ from core to core (APIC ids) masked out.
pub fn cpu_identity() -> CpuIdentity {
    let v = sys::cpuid(0, 0);
    let vendor: Vec<u8> = [v[1], v[3], v[2]].iter().flat_map(|r| r.to_le_bytes()).collect();
    let mut leaves = Vec::new();
    for (leaf, sub) in [
        (0u32, 0u32),
        (1, 0),
        (7, 0),
        (7, 1),
        (0xd, 0),
        (0xd, 1),
        (0x8000_0001, 0),
    ] {
        let mut r = sys::cpuid(leaf, sub);
        if leaf == 1 {
            // EBX[31:24] is the initial APIC id, EBX[23:16] varies with SMT.
            r[1] &= 0x0000_ffff;
        }
        if leaf == 0xd && sub == 0 {
            // EBX is the XSAVE area size for the *currently enabled* features.
            r[1] = 0;
        }
        leaves.push((leaf, sub, r));
    }
    CpuIdentity {
        vendor: String::from_utf8_lossy(&vendor).into_owned(),
        leaves,
    }
}

/// Where traces go: `$RBACK_TRACE_DIR`, else `~/.local/share/rback`
/// (`/tmp/.local/share/rback` without a home). An empty `RBACK_TRACE_DIR`
/// is an error rather than the current directory. If the directory exists,
/// it must pass [`check_trace_root`].
pub fn trace_root() -> Result<PathBuf> {
    let root = match std::env::var_os("RBACK_TRACE_DIR") {
        Some(dir) if dir.is_empty() => {
            return Err(Error::Program(
                "RBACK_TRACE_DIR is set but empty: name a directory for traces, or unset it".into(),
            ))
        }
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join(".local/share/rback"),
    };
    if root.exists() {
        check_trace_root(&root)?;
    }
    Ok(root)
}

/// Refuses a directory of traces that someone else could tamper with: one
/// not owned by the user rback runs as, or writable by its group or by
/// others. Whoever can write there can point `latest-trace` at a trace of
/// their making, or replace a trace directory to read what is recorded
/// next (a shared `/tmp/.local/share/rback`, say, made first by another
/// user).
pub fn check_trace_root(root: &Path) -> Result<()> {
    let meta = fs::metadata(root).map_err(Error::io(format!("cannot use {} for traces", root.display())))?;
    if !meta.is_dir() {
        return Err(Error::Program(format!(
            "cannot keep traces in {}: it is not a directory",
            root.display()
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Error::Program(format!(
            "refusing to use {} for traces: it belongs to uid {}, not to you (uid {me}); \
             set RBACK_TRACE_DIR to a directory of your own",
            root.display(),
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::Program(format!(
            "refusing to use {} for traces: others can write to it (mode {mode:04o}); \
             `chmod go-w` it or set RBACK_TRACE_DIR to another directory",
            root.display()
        )));
    }
    Ok(())
}

pub const LATEST_LINK: &str = "latest-trace";

/// Creates a fresh trace directory `<program>-<n>` under `root` (owner-only:
/// a trace holds everything the program read) and points `latest-trace` at it.
pub fn new_trace_dir(root: &Path, program: &Path) -> Result<PathBuf> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(Error::io(format!(
            "cannot create the trace directory {}",
            root.display()
        )))?;
    // It may have been there already, made by someone else.
    check_trace_root(root)?;
    let base = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    for n in 0.. {
        let dir = root.join(format!("{base}-{n}"));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let link = root.join(LATEST_LINK);
                let tmp = root.join(format!(".{LATEST_LINK}.{}", std::process::id()));
                let _ = fs::remove_file(&tmp);
                if std::os::unix::fs::symlink(dir.file_name().unwrap(), &tmp).is_ok() {
                    let _ = fs::rename(&tmp, &link);
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::io(format!(
                    "cannot create a trace directory in {}",
                    root.display()
                ))(e))
            }
        }
    }
    unreachable!("there is always a free trace name")
}

/// Creates an explicitly named trace directory (`rback record -o DIR`);
/// refuses to overwrite anything that is not an empty directory.
pub fn explicit_trace_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        let empty = fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty {
            return Err(Error::Program(format!(
                "{} already exists and is not an empty directory",
                dir.display()
            )));
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(Error::io(format!("cannot use {}", dir.display())))?;
        return Ok(dir.to_path_buf());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    Ok(dir.to_path_buf())
}

/// The trace `latest-trace` points to.
pub fn latest_trace(root: &Path) -> Result<PathBuf> {
    if root.exists() {
        check_trace_root(root)?;
    }
    let link = root.join(LATEST_LINK);
    let target = fs::read_link(&link).map_err(|_| {
        Error::Program(format!(
            "no traces yet in {} (record one with `rback record`)",
            root.display()
        ))
    })?;
    Ok(root.join(target))
}

/// All traces under `root`, newest first.
pub fn list_traces(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return vec![];
    };
    let mut traces: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter(|e| e.path().join(crate::trace::EVENTS_FILE).is_file())
        .map(|e| {
            (
                e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH),
                e.path(),
            )
        })
        .collect();
    traces.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    traces.into_iter().map(|(_, p)| p).collect()
}
