//! Source files: DWARF names them by the paths they had when the program
//! was compiled, which may not exist where rback runs. gdb's two remedies are
//! here: substitution rules (`set substitute-path FROM TO`) and extra
//! directories to look in (`directory DIR`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::DebugInfo;

#[derive(Default)]
pub(crate) struct SourceFinder {
    substitutions: Vec<(PathBuf, PathBuf)>,
    directories: Vec<PathBuf>,
    /// Files read so far, by the path DWARF gives (`None`: not found).
    cache: RefCell<HashMap<PathBuf, Option<Arc<[String]>>>>,
}

impl SourceFinder {
    /// Where a source file is found: the substitutions first, then the path
    /// itself, then each directory joined with ever shorter tails of the
    /// path (`/build/src/a.c` is tried as `DIR/build/src/a.c`, `DIR/src/a.c`,
    /// `DIR/a.c`).
    fn resolve(&self, file: &Path) -> Option<PathBuf> {
        let mut candidates = Vec::new();
        for (from, to) in &self.substitutions {
            if let Ok(rest) = file.strip_prefix(from) {
                candidates.push(to.join(rest));
            }
        }
        candidates.push(file.to_path_buf());
        let parts: Vec<_> = file
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        for dir in &self.directories {
            for skip in 0..parts.len() {
                candidates.push(parts[skip..].iter().fold(dir.clone(), |p, c| p.join(c)));
            }
        }
        candidates.into_iter().find(|c| c.is_file())
    }

    fn lines(&self, file: &Path) -> Option<Arc<[String]>> {
        if let Some(cached) = self.cache.borrow().get(file) {
            return cached.clone();
        }
        let text = self.resolve(file).and_then(|path| std::fs::read(path).ok());
        let lines: Option<Arc<[String]>> =
            text.map(|bytes| String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect());
        self.cache.borrow_mut().insert(file.to_path_buf(), lines.clone());
        lines
    }
}

impl DebugInfo {
    /// Look for source files under `to` where their path starts with `from`.
    pub fn add_substitution(&mut self, from: impl Into<PathBuf>, to: impl Into<PathBuf>) {
        self.sources.substitutions.push((from.into(), to.into()));
        self.sources.cache.borrow_mut().clear();
    }

    /// Look for source files in `dir` too.
    pub fn add_directory(&mut self, dir: impl Into<PathBuf>) {
        self.sources.directories.push(dir.into());
        self.sources.cache.borrow_mut().clear();
    }

    /// Where the source file that DWARF calls `file` is found, if anywhere.
    pub fn resolve_source(&self, file: &Path) -> Option<PathBuf> {
        self.sources.resolve(file)
    }

    /// Line `line` (from 1) of a source file named as DWARF names it,
    /// without its line ending.
    pub fn source_line(&self, file: &Path, line: u32) -> Option<String> {
        let lines = self.sources.lines(file)?;
        lines.get(usize::try_from(line).ok()?.checked_sub(1)?).cloned()
    }

    /// How many lines a source file has (for `list` to stop at its end).
    pub fn source_line_count(&self, file: &Path) -> Option<usize> {
        Some(self.sources.lines(file)?.len())
    }
}
