//! The trace's copies of the files the tracee executed or mapped.
//!
//! Replay must map exactly the bytes the recorded program saw, even after the
//! originals were rebuilt, changed or deleted, so each such file is copied
//! into `files/` under the BLAKE3 hash of its contents. A file mapped many
//! times (every library is mapped once per segment) is read once: copies are
//! remembered by inode and change time for the length of a recording.
//!
//! Recordings into one directory of traces share their copies through
//! hard links (`SharedCopies`), so a program recorded again costs no copy.
//!
//! A trace may come from someone else, so replay trusts none of it: a name
//! in the log is joined to `files/` only if it is a content hash
//! ([`copy_path`]), and a copy is used only as a regular file whose bytes
//! hash to its name ([`open_verified`]), never through a symlink, from a
//! FIFO or a device, or read past the size it had when opened.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::trace::{FileHash, FILES_DIR};
use crate::{Error, Result};

/// Identifies one version of a file without reading it.
type FileVersion = (u64, u64, u64, i64, i64, i64, i64);

pub struct FileStore {
    dir: PathBuf,
    known: HashMap<FileVersion, FileHash>,
    tmp_counter: u64,
    /// The copies earlier recordings made, shared through hard links.
    shared: Option<SharedCopies>,
}

/// Copies shared by the traces of one directory of traces (its
/// `.rback-files`), so that recording the same program again copies
/// nothing: a trace's copy is a hard link to the shared one, which keeps
/// every trace self-contained (deleting one deletes only its links). Kept
/// only in a directory of traces that is the user's own and closed to
/// others, since a trace links what it finds there (replay still checks
/// every copy's hash before use).
struct SharedCopies {
    dir: PathBuf,
    /// Which version of a file has which hash, as earlier recordings
    /// found (the `index` file: a line per copy).
    index: HashMap<FileVersion, FileHash>,
}

/// The name of the shared copies' directory beside the traces.
pub const SHARED_DIR: &str = ".rback-files";

impl SharedCopies {
    /// The shared copies for traces in `traces`, if that directory is the
    /// user's own and closed to others.
    fn open(traces: &Path) -> Option<SharedCopies> {
        let me = nix::unistd::geteuid().as_raw();
        let private =
            |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0);
        if !private(traces) {
            return None;
        }
        let dir = traces.join(SHARED_DIR);
        let _ = fs::DirBuilder::new().mode(0o700).create(&dir);
        if !private(&dir) {
            return None;
        }
        let text = fs::read_to_string(dir.join("index")).unwrap_or_default();
        let index = text.lines().filter_map(parse_index_line).collect();
        Some(SharedCopies { dir, index })
    }

    /// Links the shared copy of `version` into `files` as its hash's name.
    fn link_into(&self, version: &FileVersion, files: &Path) -> Option<FileHash> {
        let hash = self.index.get(version)?;
        let shared = self.dir.join(&hash.0);
        if !fs::symlink_metadata(&shared).is_ok_and(|m| m.is_file() && m.len() == version.2) {
            return None;
        }
        match fs::hard_link(&shared, files.join(&hash.0)) {
            Ok(()) => Some(hash.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Some(hash.clone()),
            // Another file system, say: copy as usual.
            Err(_) => None,
        }
    }

    /// Shares a copy just made: links it here and notes its version.
    fn share(&mut self, version: FileVersion, hash: &FileHash, copy: &Path) {
        let linked = match fs::hard_link(copy, self.dir.join(&hash.0)) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::AlreadyExists,
        };
        if !linked {
            return;
        }
        let (dev, ino, size, mtime, mtime_ns, ctime, ctime_ns) = version;
        let line = format!("{dev} {ino} {size} {mtime} {mtime_ns} {ctime} {ctime_ns} {}\n", hash.0);
        // One short append per line: recordings running at once interleave
        // whole lines.
        let appended = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(self.dir.join("index"))
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if appended.is_ok() {
            self.index.insert(version, hash.clone());
        }
    }
}

/// One line of the shared copies' index; `None` for anything malformed.
fn parse_index_line(line: &str) -> Option<(FileVersion, FileHash)> {
    let f: Vec<&str> = line.split(' ').collect();
    let [dev, ino, size, mtime, mtime_ns, ctime, ctime_ns, hash] = f.as_slice() else {
        return None;
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return None;
    }
    let version = (
        dev.parse().ok()?,
        ino.parse().ok()?,
        size.parse().ok()?,
        mtime.parse().ok()?,
        mtime_ns.parse().ok()?,
        ctime.parse().ok()?,
        ctime_ns.parse().ok()?,
    );
    Some((version, FileHash(hash.to_string())))
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
        let shared = trace_dir.parent().and_then(SharedCopies::open);
        Ok(FileStore {
            dir,
            known: HashMap::new(),
            tmp_counter: 0,
            shared,
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
        if let Some(hash) = self.shared.as_ref().and_then(|s| s.link_into(&version, &self.dir)) {
            self.known.insert(version, hash.clone());
            return Ok(hash);
        }
        self.tmp_counter += 1;
        let tmp = self
            .dir
            .join(format!(".incoming-{}-{}", std::process::id(), self.tmp_counter));
        let copied = copy_and_hash(&mut file, &tmp).and_then(|hash| {
            let dest = self.path(&hash);
            if dest.exists() {
                let _ = fs::remove_file(&tmp);
            } else {
                fs::rename(&tmp, &dest)?;
            }
            Ok(hash)
        });
        let hash = copied.map_err(|e| {
            // A partial copy is no use to anyone, and after a full disk it
            // holds the space the trailer needs.
            let _ = fs::remove_file(&tmp);
            copy_error(path, e)
        })?;
        if let Some(shared) = &mut self.shared {
            shared.share(version, &hash, &self.dir.join(&hash.0));
        }
        self.known.insert(version, hash.clone());
        Ok(hash)
    }
}

/// Copies `from` into a new file at `to` and returns the hash of the bytes.
/// Holes stay holes (found with `SEEK_DATA`/`SEEK_HOLE`): a sparse file or
/// a memfd with large holes costs the trace only its data.
fn copy_and_hash(from: &mut File, to: &Path) -> std::io::Result<FileHash> {
    use nix::unistd::{lseek, Whence};
    use std::io::{Seek, SeekFrom};
    use std::os::fd::AsRawFd;
    let mut out = OpenOptions::new().write(true).create_new(true).mode(0o700).open(to)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let len = from.metadata()?.len();
    let fd = from.as_raw_fd();
    // Everything before `at` is hashed, and copied where it is data.
    let mut at = 0u64;
    while at < len {
        // A file system that cannot tell data from holes makes it all data.
        let data = match lseek(fd, at as i64, Whence::SeekData) {
            Ok(d) => (d as u64).clamp(at, len),
            Err(nix::errno::Errno::ENXIO) => len,
            Err(_) => at,
        };
        // The hole before the data reads as zeros.
        buf.fill(0);
        let mut gap = data - at;
        while gap > 0 {
            let n = gap.min(buf.len() as u64) as usize;
            hasher.update(&buf[..n]);
            gap -= n as u64;
        }
        at = data;
        if at >= len {
            break;
        }
        let hole = lseek(fd, data as i64, Whence::SeekHole).map_or(len, |h| (h as u64).clamp(data, len));
        from.seek(SeekFrom::Start(data))?;
        out.seek(SeekFrom::Start(data))?;
        while at < hole {
            let n = from.read(&mut buf[..(hole - at).min(1 << 20) as usize])?;
            if n == 0 {
                // The file shrank while it was copied: the copy ends here.
                out.set_len(at)?;
                return Ok(FileHash(hasher.finalize().to_hex().to_string()));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            at += n as u64;
        }
    }
    // A hole at the end still counts in the length.
    out.set_len(at)?;
    Ok(FileHash(hasher.finalize().to_hex().to_string()))
}

/// Why `path` could not be copied into the trace, with a full disk or a
/// used-up quota said in words (and in one message, which the trailer
/// keeps whole).
fn copy_error(path: &Path, e: std::io::Error) -> Error {
    let context = format!("cannot copy {} into the trace", path.display());
    match e.raw_os_error() {
        Some(libc::ENOSPC) => Error::Program(format!("{context}: the disk is full ({e})")),
        Some(libc::EDQUOT) => Error::Program(format!("{context}: the disk quota is used up ({e})")),
        _ => Error::io(context)(e),
    }
}

/// Whether `name` is what the store names a copy by: a BLAKE3 hash as 64
/// lowercase hex digits. Anything else in a trace (a path, `..`, a name
/// with a slash) must never be joined to `files/`.
pub fn is_content_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where the copy named `hash` is in the trace in `trace_dir`, once `hash`
/// is known to be a content hash rather than a path.
pub fn copy_path(trace_dir: &Path, hash: &FileHash) -> Result<PathBuf> {
    if !is_content_hash(&hash.0) {
        return Err(Error::Program(format!(
            "the trace names a file copy {}, which is not a content hash (64 lowercase hex digits)",
            shown(&hash.0)
        )));
    }
    Ok(trace_dir.join(FILES_DIR).join(&hash.0))
}

/// A name from a trace as an error message may show it: quoted, escaped,
/// and cut short, so that a crafted one cannot fill the screen or start
/// new lines.
fn shown(name: &str) -> String {
    const MAX: usize = 80;
    let mut s: String = name.chars().take(MAX).collect();
    if s.len() < name.len() {
        s.push_str("...");
    }
    format!("{s:?}")
}

/// Opens the copy of `hash` in `trace_dir` and checks it: a regular file
/// (not a symlink, FIFO, device or directory) whose contents hash to
/// `hash`. Returns the open file, positioned at its start, and its path.
///
/// The file is opened with `O_NOFOLLOW | O_NONBLOCK` and checked with
/// `fstat` before a byte is read, so that a symlink fails to open, and a
/// FIFO or a device opens without blocking and is refused; a regular file
/// is read no further than the size `fstat` gave.
pub fn open_verified(trace_dir: &Path, hash: &FileHash) -> Result<(File, PathBuf)> {
    let path = copy_path(trace_dir, hash)?;
    let files = trace_dir.join(FILES_DIR);
    match fs::symlink_metadata(&files) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::Program(format!(
                "the trace's {} is not a directory (a symlink or another kind of file)",
                files.display()
            )))
        }
        Err(e) => {
            return Err(Error::io(format!(
                "the trace lacks its copy of a file ({})",
                path.display()
            ))(e))
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::Program(format!(
                "the trace's copy {} is a symbolic link, not a regular file",
                path.display()
            )),
            _ => Error::io(format!("the trace lacks its copy of a file ({})", path.display()))(e),
        })?;
    let meta = file
        .metadata()
        .map_err(Error::io(format!("cannot check the trace's copy {}", path.display())))?;
    let kind = meta.file_type();
    let not_regular = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else if !kind.is_file() {
        Some("not a file")
    } else {
        None
    };
    if let Some(what) = not_regular {
        return Err(Error::Program(format!(
            "the trace's copy {} is {what}, not a regular file",
            path.display()
        )));
    }
    let size = meta.len();
    let mut hasher = blake3::Hasher::new();
    let mut read = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let mut limited = (&file).take(size);
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(Error::io(format!("cannot read the trace's copy {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
    }
    if read != size || hasher.finalize().to_hex().as_str() != hash.0 {
        return Err(Error::Program(format!(
            "the trace's copy {} is damaged (its contents changed)",
            path.display()
        )));
    }
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(Error::io(format!("cannot read the trace's copy {}", path.display())))?;
    Ok((file, path))
}

/// Checks that the copy of `hash` in `trace_dir` is there and intact (see
/// [`open_verified`]) and returns its path.
pub fn verify(trace_dir: &Path, hash: &FileHash) -> Result<PathBuf> {
    open_verified(trace_dir, hash).map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A trace directory holding one good copy; returns it and its hash.
    fn trace_with_copy() -> (tempfile::TempDir, FileHash) {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("original");
        fs::write(&original, b"the bytes that ran").unwrap();
        let hash = FileStore::new(dir.path()).unwrap().capture(&original).unwrap();
        (dir, hash)
    }

    fn error_of(dir: &Path, hash: &FileHash) -> String {
        let started = Instant::now();
        let e = verify(dir, hash).expect_err("a bad copy must be refused").to_string();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert!(!e.contains('\n'), "not one line: {e}");
        e
    }

    #[test]
    fn a_full_disk_is_named_in_a_copy_error() {
        let full = copy_error(Path::new("/lib/x.so"), std::io::Error::from_raw_os_error(libc::ENOSPC)).to_string();
        assert!(
            full.contains("cannot copy /lib/x.so into the trace: the disk is full"),
            "{full}"
        );
        let quota = copy_error(Path::new("/x"), std::io::Error::from_raw_os_error(libc::EDQUOT)).to_string();
        assert!(quota.contains("quota is used up"), "{quota}");
        let other = copy_error(Path::new("/x"), std::io::Error::from_raw_os_error(libc::EIO)).to_string();
        assert!(
            !other.contains("disk") && other.starts_with("cannot copy /x into the trace: "),
            "{other}"
        );
    }

    /// A copy that fails half way (here: reading a directory fails after
    /// the partial file was created) leaves no `.incoming-*` behind.
    #[test]
    fn a_failed_copy_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileStore::new(dir.path()).unwrap();
        let e = store.capture(dir.path()).expect_err("a directory cannot be copied");
        assert!(e.to_string().starts_with("cannot copy "), "{e}");
        let left: Vec<_> = fs::read_dir(dir.path().join(FILES_DIR)).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn content_hashes_are_64_lowercase_hex_digits() {
        assert!(is_content_hash(&"0123456789abcdef".repeat(4)));
        assert!(!is_content_hash(&"0123456789ABCDEF".repeat(4)));
        assert!(!is_content_hash(&"a".repeat(63)));
        assert!(!is_content_hash(&"a".repeat(65)));
        assert!(!is_content_hash(&format!("../{}", "a".repeat(61))));
        assert!(!is_content_hash("/etc/shadow"));
        assert!(!is_content_hash(""));
    }

    #[test]
    fn a_good_copy_verifies_and_opens_at_its_start() {
        let (dir, hash) = trace_with_copy();
        let (mut file, path) = open_verified(dir.path(), &hash).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, b"the bytes that ran");
        assert_eq!(path, dir.path().join(FILES_DIR).join(&hash.0));
    }

    #[test]
    fn a_path_for_a_hash_is_refused_before_any_file_is_touched() {
        let (dir, _) = trace_with_copy();
        let e = error_of(dir.path(), &FileHash("../original".into()));
        assert!(e.contains("not a content hash") && e.contains("../original"), "{e}");
        let e = error_of(dir.path(), &FileHash(format!("x\n{}", "y".repeat(1000))));
        assert!(e.contains("not a content hash") && e.len() < 300, "{e}");
    }

    #[test]
    fn a_symlink_fifo_device_or_directory_in_place_of_a_copy_is_refused() {
        let (dir, hash) = trace_with_copy();
        let copy = dir.path().join(FILES_DIR).join(&hash.0);
        for what in ["symbolic link", "FIFO", "directory"] {
            fs::remove_file(&copy).or_else(|_| fs::remove_dir(&copy)).unwrap();
            match what {
                "symbolic link" => std::os::unix::fs::symlink("/dev/zero", &copy).unwrap(),
                "FIFO" => nix::unistd::mkfifo(&copy, nix::sys::stat::Mode::S_IRWXU).unwrap(),
                _ => fs::create_dir(&copy).unwrap(),
            }
            let e = error_of(dir.path(), &hash);
            assert!(e.contains(what) && e.contains(&hash.0), "{what}: {e}");
        }
    }

    #[test]
    fn a_copy_with_other_contents_or_size_is_damaged() {
        let (dir, hash) = trace_with_copy();
        let copy = dir.path().join(FILES_DIR).join(&hash.0);
        for contents in [
            &b"the bytes that ran, and more"[..],
            b"the bytes",
            b"THE BYTES THAT RAN",
        ] {
            fs::write(&copy, contents).unwrap();
            let e = error_of(dir.path(), &hash);
            assert!(e.contains("damaged") && e.contains(&hash.0), "{e}");
        }
    }
}
