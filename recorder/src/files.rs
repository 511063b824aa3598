//! The trace's copies of the files the tracee executed or mapped.
//!
//! Replay must map exactly the bytes the recorded program saw, even after the
//! originals were rebuilt, changed or deleted, so each such file is copied
//! into `files/` under the BLAKE3 hash of its contents. A file mapped many
//! times (every library is mapped once per segment) is read once: copies are
//! remembered by inode and change time for the length of a recording.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::trace::{FileHash, FILES_DIR};
use crate::{Error, Result};

/// Identifies one version of a file without reading it.
type FileVersion = (u64, u64, u64, i64, i64, i64, i64);

pub struct FileStore {
    dir: PathBuf,
    known: HashMap<FileVersion, FileHash>,
    tmp_counter: u64,
}

impl FileStore {
    /// The store of the trace in `trace_dir`, created if missing.
    pub fn new(trace_dir: &Path) -> Result<FileStore> {
        let dir = trace_dir.join(FILES_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        Ok(FileStore {
            dir,
            known: HashMap::new(),
            tmp_counter: 0,
        })
    }

    /// Where the copy with this hash is.
    pub fn path(&self, hash: &FileHash) -> PathBuf {
        self.dir.join(&hash.0)
    }

    /// Copies the file at `path` into the store (once per version) and
    /// returns its hash. `path` may be a `/proc/PID/fd/N` or `/proc/PID/exe`
    /// link, which reaches the tracee's file even if it was deleted.
    pub fn capture(&mut self, path: &Path) -> Result<FileHash> {
        let context = || format!("cannot copy {} into the trace", path.display());
        let mut file = File::open(path).map_err(Error::io(context()))?;
        let m = file.metadata().map_err(Error::io(context()))?;
        let version = (
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        );
        if let Some(hash) = self.known.get(&version) {
            return Ok(hash.clone());
        }
        self.tmp_counter += 1;
        let tmp = self
            .dir
            .join(format!(".incoming-{}-{}", std::process::id(), self.tmp_counter));
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&tmp)
            .map_err(Error::io(context()))?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(Error::io(context()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(Error::io(context()))?;
        }
        drop(out);
        let hash = FileHash(hasher.finalize().to_hex().to_string());
        let dest = self.path(&hash);
        if dest.exists() {
            let _ = fs::remove_file(&tmp);
        } else {
            fs::rename(&tmp, &dest).map_err(Error::io(context()))?;
        }
        self.known.insert(version, hash.clone());
        Ok(hash)
    }
}

/// Checks that the copy of `hash` in `trace_dir` is there and intact.
pub fn verify(trace_dir: &Path, hash: &FileHash) -> Result<PathBuf> {
    let path = trace_dir.join(FILES_DIR).join(&hash.0);
    let bytes = fs::read(&path).map_err(Error::io(format!(
        "the trace lacks its copy of a file ({})",
        path.display()
    )))?;
    if blake3::hash(&bytes).to_hex().as_str() != hash.0 {
        return Err(Error::Program(format!(
            "the trace's copy {} is damaged (its contents changed)",
            path.display()
        )));
    }
    Ok(path)
}
