//! The DWARF line table of a module, and the questions the REPL asks of it:
//! where to break for a function or a `file:line`, which line an address
//! is on, and which address range `step`/`next` must leave.
//!
//! The rules follow gdb's, so that rback stops where gdb users expect:
//! a function breakpoint goes after the prologue, a line without code moves
//! to the next line that has some, and only `is_stmt` rows are candidates.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use gimli::Reader as _;

use super::dwarf::{name_matches, ModuleDwarf, Reader};
use super::elf::Image;
use super::DebugInfo;

/// One row of a line program, in link addresses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub addr: u64,
    /// Index into [`LineTable::files`].
    pub file: u32,
    /// 0 means "no line" (compiler-generated code).
    pub line: u32,
    pub column: u32,
    pub is_stmt: bool,
    pub prologue_end: bool,
    /// Whether gdb keeps this row in its own line table. gdb drops a row
    /// that repeats the file and line of the row it kept before, when that
    /// line has had a non-zero discriminator (gdb's PR 17276): gcc marks the
    /// blocks of a loop's line that way, and gdb then treats their rows as
    /// the middle of the line, not new starts of it.
    pub kept: bool,
}

/// A run of contiguous code described by one line program sequence.
pub(crate) struct Sequence {
    pub start: u64,
    pub end: u64,
    /// In address order; several rows may share an address, and then the
    /// last of them is the one in effect there.
    pub rows: Vec<Row>,
}

impl Sequence {
    /// The row in effect at a link address: the last one at or before it,
    /// except that, like gdb, a statement row at the same address is
    /// preferred to a non-statement one after it (optimized code often puts
    /// several lines at one address, the last of them not a statement).
    fn row_at(&self, addr: u64) -> Option<usize> {
        let last = self.rows.partition_point(|r| r.addr <= addr).checked_sub(1)?;
        let rows = &self.rows;
        let mut i = last;
        while !rows[i].is_stmt && i > 0 && rows[i - 1].addr == rows[i].addr && rows[i - 1].line != 0 {
            i -= 1;
        }
        Some(if rows[i].is_stmt { i } else { last })
    }
}

pub(crate) struct LineTable {
    /// Full paths (compilation directory joined), one per distinct file.
    pub files: Vec<PathBuf>,
    /// Sorted by start.
    pub sequences: Vec<Sequence>,
}

impl LineTable {
    pub fn build(dwarf: &gimli::Dwarf<Reader>, units: &[gimli::Unit<Reader>]) -> LineTable {
        let mut files = Vec::new();
        let mut file_ids: HashMap<PathBuf, u32> = HashMap::new();
        let mut sequences = Vec::new();
        for unit in units {
            let Some(program) = unit.line_program.clone() else {
                continue;
            };
            let mut unit_files: HashMap<u64, u32> = HashMap::new();
            let mut rows = program.rows();
            let mut current: Vec<Row> = Vec::new();
            // gdb's state for `kept`: the line of the previous row, whether
            // that line has had a discriminator, the last kept position.
            let mut previous_line = 0u64;
            let mut discriminated = false;
            let mut last_kept: Option<(u64, u64)> = None;
            while let Ok(Some((header, row))) = rows.next_row() {
                let line = row.line().map_or(0, |l| l.get());
                if line != previous_line {
                    discriminated = row.discriminator() != 0;
                } else {
                    discriminated |= row.discriminator() != 0;
                }
                previous_line = line;
                let position = (row.file_index(), line);
                let kept = line != 0 && (last_kept != Some(position) || !discriminated);
                if kept {
                    last_kept = Some(position);
                }
                if row.end_sequence() {
                    last_kept = None;
                    // Code the linker removed keeps its rows at address 0.
                    if let Some(first) = current.first() {
                        if first.addr != 0 && first.addr < row.address() {
                            sequences.push(Sequence {
                                start: first.addr,
                                end: row.address(),
                                rows: std::mem::take(&mut current),
                            });
                        }
                    }
                    current.clear();
                    continue;
                }
                let file = *unit_files.entry(row.file_index()).or_insert_with(|| {
                    let path = file_path(dwarf, unit, header, row.file_index());
                    *file_ids.entry(path.clone()).or_insert_with(|| {
                        files.push(path);
                        (files.len() - 1) as u32
                    })
                });
                let column = match row.column() {
                    gimli::ColumnType::LeftEdge => 0,
                    gimli::ColumnType::Column(c) => u32::try_from(c.get()).unwrap_or(u32::MAX),
                };
                current.push(Row {
                    addr: row.address(),
                    file,
                    line: row.line().map_or(0, |l| u32::try_from(l.get()).unwrap_or(u32::MAX)),
                    column,
                    is_stmt: row.is_stmt(),
                    prologue_end: row.prologue_end(),
                    kept,
                });
            }
        }
        sequences.sort_by_key(|s| s.start);
        LineTable { files, sequences }
    }

    pub fn sequence_at(&self, addr: u64) -> Option<&Sequence> {
        let end = self.sequences.partition_point(|s| s.start <= addr);
        self.sequences[..end].iter().rev().take(8).find(|s| addr < s.end)
    }

    /// The source position of a link address (file, line, column), if a
    /// row with a line covers it.
    pub fn position_at(&self, addr: u64) -> Option<(&Path, u32, Option<u32>)> {
        let seq = self.sequence_at(addr)?;
        let row = seq.rows[seq.row_at(addr)?];
        if row.line == 0 {
            return None;
        }
        let column = (row.column != 0).then_some(row.column);
        Some((self.files[row.file as usize].as_path(), row.line, column))
    }

    /// For each file, whether it answers to `query` (a path or a suffix of
    /// one, on component boundaries: `deep.c`, `src/deep.c`).
    fn matching_files(&self, query: &str) -> Vec<bool> {
        self.files.iter().map(|f| path_matches(f, query)).collect()
    }
}

fn file_path(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &gimli::Unit<Reader>,
    header: &gimli::LineProgramHeader<Reader>,
    index: u64,
) -> PathBuf {
    let Some(file) = header.file(index) else {
        return PathBuf::from("??");
    };
    let string = |value: gimli::AttributeValue<Reader>| -> Option<String> {
        Some(
            dwarf
                .attr_string(unit, value)
                .ok()?
                .to_string_lossy()
                .ok()?
                .into_owned(),
        )
    };
    let mut path = PathBuf::new();
    if let Some(dir) = &unit.comp_dir {
        if let Ok(dir) = dir.to_string_lossy() {
            path.push(&*dir);
        }
    }
    // Directory 0 is the compilation directory. Pushing an absolute
    // directory or name replaces what came before.
    if file.directory_index() != 0 {
        if let Some(dir) = file.directory(header).and_then(string) {
            path.push(dir);
        }
    }
    if let Some(name) = string(file.path_name()) {
        path.push(name);
    }
    path
}

/// `query` is absolute and names `path`, or is relative and is a suffix of
/// it made of whole components. `.` components are ignored on both sides.
pub(crate) fn path_matches(path: &Path, query: &str) -> bool {
    let query = Path::new(query);
    fn parts(p: &Path) -> Vec<Component<'_>> {
        p.components().filter(|c| *c != Component::CurDir).collect()
    }
    let (path, query_parts) = (parts(path), parts(query));
    if query_parts.is_empty() {
        return false;
    }
    if query.is_absolute() {
        path == query_parts
    } else {
        path.ends_with(&query_parts)
    }
}

/// The address after a function's prologue, from the line table: the
/// first row marked `prologue_end` (LLVM sets it), else the first row whose
/// line differs from the function's opening line (gcc's case), else the
/// second address of a one-line function. `None` without line rows.
fn skip_prologue(lines: &LineTable, range: &Range<u64>) -> Option<u64> {
    let seq = lines.sequence_at(range.start)?;
    let first = seq.rows.partition_point(|r| r.addr < range.start);
    let rows: Vec<&Row> = seq.rows[first..].iter().take_while(|r| r.addr < range.end).collect();
    let opening = rows.first()?;
    if let Some(r) = rows.iter().find(|r| r.prologue_end) {
        return Some(r.addr);
    }
    // A different line at the entry address itself means the prologue is
    // empty (optimized code), and the entry is the answer.
    if let Some(r) = rows[1..]
        .iter()
        .find(|r| r.is_stmt && r.line != 0 && r.line != opening.line)
    {
        return Some(r.addr);
    }
    Some(
        rows.iter()
            .find(|r| r.addr > range.start && r.is_stmt)
            .map_or(range.start, |r| r.addr),
    )
}

/// The address after `[endbr64] push %rbp; mov %rsp,%rbp`, for code without
/// line information (what gdb's amd64 prologue analyzer recognizes).
fn skip_prologue_by_code(image: &Image, addr: u64) -> u64 {
    let Some(code) = image.bytes_at(addr, 8) else {
        return addr;
    };
    let mut i = 0;
    if code.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        i = 4;
    }
    if code.get(i) == Some(&0x55) {
        i += 1;
        let rest = &code[i..];
        if rest.starts_with(&[0x48, 0x89, 0xe5]) || rest.starts_with(&[0x48, 0x8b, 0xec]) {
            i += 3;
        }
    }
    addr + i as u64
}

/// Where to break for a DWARF function: after the prologue of an
/// out-of-line copy, at the entry of an inlined one.
fn breakpoint_address(d: &ModuleDwarf, image: Option<&Image>, f: &super::dwarf::FunctionInfo) -> u64 {
    if f.inlined {
        return f.entry;
    }
    let range = f
        .ranges
        .iter()
        .find(|r| r.contains(&f.entry))
        .cloned()
        .unwrap_or(f.entry..f.entry + 1);
    let after = skip_prologue(d.lines(), &range)
        .or_else(|| image.map(|image| skip_prologue_by_code(image, f.entry)))
        .unwrap_or(f.entry);
    // Like gdb, a prologue found by line numbers never ends inside code
    // inlined from elsewhere (gcc at -O2 starts a function with it): the
    // entry is the answer then. LLVM's own `prologue_end` mark stands.
    let marked = d
        .lines()
        .sequence_at(f.entry)
        .is_some_and(|seq| seq.rows.iter().any(|r| r.addr == after && r.prologue_end));
    let index = d.functions();
    let inlined = index.innermost_at(after).is_some_and(|i| index.functions[i].inlined);
    if inlined && !marked {
        f.entry
    } else {
        after
    }
}

impl DebugInfo {
    /// Where to break for a function, as gdb would: after the prologue, and
    /// at each inlined copy. `name` is the function's name, or its last
    /// components for a qualified one (`deep` finds `prog::deep`). The
    /// symbol tables are searched too: for aliases (libc's `malloc` is
    /// `__libc_malloc` in DWARF) and for functions without DWARF (so `main`
    /// in a Rust program finds both `prog::main` and the C `main` that calls it).
    pub fn function_address(&self, name: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for ms in &self.modules {
            let image = ms.image(self);
            let dwarf = ms.dwarf(self);
            if let Some(d) = dwarf {
                out.extend(
                    d.functions()
                        .matching(name)
                        .map(|f| ms.to_load(breakpoint_address(d, image, f))),
                );
            }
            for s in ms.symbols(self).functions() {
                if !(name_matches(&s.name, name) || s.raw == name) {
                    continue;
                }
                let described = dwarf.and_then(|d| Some((d, d.functions().outer_at(s.addr)?.0)));
                let addr = match described {
                    Some((d, f)) if f.entry == s.addr => breakpoint_address(d, image, f),
                    // A symbol inside a function (a label): take it as it is.
                    Some(_) => s.addr,
                    None => image.map_or(s.addr, |image| skip_prologue_by_code(image, s.addr)),
                };
                out.push(ms.to_load(addr));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Where to break for `file:line`, as gdb would. `file` is a path or a
    /// suffix of one (`deep.c`, `src/deep.c`). If `line` has no code, the
    /// nearest following line that has some is used. One address per
    /// function (or inlined copy) that has code for the line; a line that is
    /// a function's opening gets the address after its prologue.
    pub fn line_addresses(&self, file: &str, line: u32) -> Vec<u64> {
        let candidates = |lt: &LineTable, wanted: &[bool], keep: &mut dyn FnMut(&Row)| {
            for seq in &lt.sequences {
                for row in &seq.rows {
                    if row.is_stmt && wanted[row.file as usize] && row.line >= line {
                        keep(row);
                    }
                }
            }
        };
        let mut best: Option<u32> = None;
        for ms in &self.modules {
            if let Some(d) = ms.dwarf(self) {
                let wanted = d.lines().matching_files(file);
                if wanted.contains(&true) {
                    candidates(d.lines(), &wanted, &mut |row| {
                        best = Some(best.map_or(row.line, |b| b.min(row.line)))
                    });
                }
            }
        }
        let Some(best) = best else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ms in &self.modules {
            let Some(d) = ms.dwarf(self) else {
                continue;
            };
            let wanted = d.lines().matching_files(file);
            if !wanted.contains(&true) {
                continue;
            }
            let mut addrs = Vec::new();
            candidates(d.lines(), &wanted, &mut |row| {
                if row.line == best {
                    addrs.push(row.addr);
                }
            });
            addrs.sort_unstable();
            addrs.dedup();
            let index = d.functions();
            let mut per_block: HashMap<usize, u64> = HashMap::new();
            for addr in addrs {
                match index.innermost_at(addr) {
                    Some(block) => {
                        per_block.entry(block).or_insert(addr);
                    }
                    None => out.push(ms.to_load(addr)),
                }
            }
            for (block, addr) in per_block {
                let f = &index.functions[block];
                let addr = if !f.inlined && addr == f.entry {
                    breakpoint_address(d, ms.image(self), f)
                } else {
                    addr
                };
                out.push(ms.to_load(addr));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The first address of code for `file:line` in the line table, as
    /// `info line` gives it (no prologue skipped), and whether the line
    /// itself has code: if it has none, the address is that of the next
    /// line that has some.
    pub fn line_table_address(&self, file: &str, line: u32) -> Option<(u64, bool)> {
        let mut best: Option<(u32, u64)> = None;
        for ms in &self.modules {
            let Some(d) = ms.dwarf(self) else {
                continue;
            };
            let lines = d.lines();
            let wanted = lines.matching_files(file);
            for seq in &lines.sequences {
                for row in &seq.rows {
                    if row.is_stmt && row.kept && wanted[row.file as usize] && row.line >= line {
                        let candidate = (row.line, ms.to_load(row.addr));
                        if best.is_none_or(|b| candidate < b) {
                            best = Some(candidate);
                        }
                    }
                }
            }
        }
        best.map(|(l, addr)| (addr, l == line))
    }

    /// The source file and line of `pc` (the innermost, if inlined).
    pub fn line_at(&self, pc: u64) -> Option<(PathBuf, u32)> {
        let ms = self.module_at(pc)?;
        let d = ms.dwarf(self)?;
        let link = ms.to_link(pc);
        match d.lines().position_at(link) {
            Some((file, line, _)) => Some((file.to_path_buf(), line)),
            None => d.location(link),
        }
    }

    /// The line-table entry `pc` is in, as gdb's `info line` gives it: from
    /// the last row gdb keeps at or before `pc` to the next kept row after
    /// it (see [`Row::kept`]), with the row's file and line.
    pub fn line_entry(&self, pc: u64) -> Option<(Range<u64>, PathBuf, u32)> {
        let ms = self.module_at(pc)?;
        let d = ms.dwarf(self)?;
        let lines = d.lines();
        let link = ms.to_link(pc);
        let seq = lines.sequence_at(link)?;
        let kept: Vec<&Row> = seq.rows.iter().filter(|r| r.kept).collect();
        let i = kept.partition_point(|r| r.addr <= link).checked_sub(1)?;
        // Among rows at one address, a statement is the one gdb picks.
        let at = kept[i].addr;
        let row = kept[..=i]
            .iter()
            .rev()
            .take_while(|r| r.addr == at)
            .find(|r| r.is_stmt)
            .unwrap_or(&kept[i]);
        let end = kept[i + 1..].iter().find(|r| r.addr > at).map_or(seq.end, |r| r.addr);
        let file = lines.files[row.file as usize].clone();
        Some((ms.to_load(at)..ms.to_load(end), file, row.line))
    }

    /// Whether a line starts at `pc` as gdb sees it: a statement row that
    /// gdb keeps (see [`Row::kept`]) is there. Where the program stands
    /// anywhere else, gdb shows its address before the function's name.
    pub fn is_line_start(&self, pc: u64) -> bool {
        let Some(ms) = self.module_at(pc) else {
            return false;
        };
        let Some(d) = ms.dwarf(self) else {
            return false;
        };
        let link = ms.to_link(pc);
        let Some(seq) = d.lines().sequence_at(link) else {
            return false;
        };
        let first = seq.rows.partition_point(|r| r.addr < link);
        seq.rows[first..]
            .iter()
            .take_while(|r| r.addr == link)
            .any(|r| r.is_stmt && r.kept)
    }

    /// The rows of gdb's line table that start in `range` (load
    /// addresses), in address order: address, file and line. Rows without
    /// a line, and those gdb drops (see [`Row::kept`]), are left out; a
    /// row that repeats its predecessor's address and line too.
    pub fn line_rows(&self, range: Range<u64>) -> Vec<(u64, PathBuf, u32)> {
        let Some(ms) = self.module_at(range.start) else {
            return Vec::new();
        };
        let Some(d) = ms.dwarf(self) else {
            return Vec::new();
        };
        let lines = d.lines();
        let (start, end) = (ms.to_link(range.start), ms.to_link(range.end));
        let mut out: Vec<(u64, PathBuf, u32)> = Vec::new();
        for seq in lines.sequences.iter().filter(|s| s.start < end && start < s.end) {
            for r in seq.rows.iter().filter(|r| (start..end).contains(&r.addr)) {
                if r.line == 0 || !r.kept {
                    continue;
                }
                let addr = ms.to_load(r.addr);
                let file = &lines.files[r.file as usize];
                if out
                    .last()
                    .is_some_and(|(a, f, l)| *a == addr && f == file && *l == r.line)
                {
                    continue;
                }
                out.push((addr, file.clone(), r.line));
            }
        }
        out.sort_by_key(|(a, _, _)| *a);
        out
    }

    /// Whether `pc` starts a statement in the line table (an `is_stmt`
    /// row): where `step` and `next` may stop. Compilers also emit rows
    /// that are not statements, for instructions of a line scheduled among
    /// another line's; a debugger steps through those. Unlike
    /// [`DebugInfo::is_line_start`], this counts every statement row of
    /// every line program, the ones gdb drops from its own table too.
    pub fn is_statement(&self, pc: u64) -> bool {
        let Some(ms) = self.module_at(pc) else {
            return false;
        };
        let Some(d) = ms.dwarf(self) else {
            return false;
        };
        let set = ms.statements.get_or_init(|| {
            let mut set = std::collections::HashSet::new();
            for unit in d.units() {
                let Some(program) = unit.line_program.clone() else {
                    continue;
                };
                let mut rows = program.rows();
                while let Ok(Some((_, row))) = rows.next_row() {
                    if row.is_stmt() && !row.end_sequence() {
                        set.insert(row.address());
                    }
                }
            }
            set
        });
        set.contains(&ms.to_link(pc))
    }

    /// The contiguous address range around `pc` that belongs to the same
    /// source line, within `pc`'s function: `step` and `next` run until the
    /// tracee leaves it. Rows with line 0 that follow are included, as gdb
    /// steps through them. The same line may own other ranges further on
    /// (a loop's condition); ask again on landing in one.
    pub fn line_range(&self, pc: u64) -> Option<Range<u64>> {
        let ms = self.module_at(pc)?;
        let d = ms.dwarf(self)?;
        let link = ms.to_link(pc);
        let seq = d.lines().sequence_at(link)?;
        let i = seq.row_at(link)?;
        let rows = &seq.rows;
        let key = (rows[i].file, rows[i].line);
        let bounds = d.functions().outer_at(link).map_or(seq.start..seq.end, |(_, r)| r);
        let mut lo = i;
        while lo > 0 && (rows[lo - 1].file, rows[lo - 1].line) == key && rows[lo - 1].addr >= bounds.start {
            lo -= 1;
        }
        let mut hi = i + 1;
        while hi < rows.len()
            && ((rows[hi].file, rows[hi].line) == key || rows[hi].line == 0)
            && rows[hi].addr < bounds.end
        {
            hi += 1;
        }
        let end = rows.get(hi).map_or(seq.end, |r| r.addr).min(bounds.end);
        let start = rows[lo].addr.max(bounds.start);
        Some(ms.to_load(start)..ms.to_load(end))
    }

    /// The address ranges of the function `depth` levels out in the inline
    /// chain at `pc` (0: the innermost, inlined or not), as
    /// [`Frame::inline_depth`](super::Frame::inline_depth) counts.
    pub fn inline_ranges(&self, pc: u64, depth: usize) -> Vec<Range<u64>> {
        let Some(ms) = self.module_at(pc) else {
            return Vec::new();
        };
        let Some(d) = ms.dwarf(self) else {
            return Vec::new();
        };
        let index = d.functions();
        let chain = index.chain_at(ms.to_link(pc));
        let Some(&f) = chain.get(depth) else {
            return Vec::new();
        };
        index.functions[f]
            .ranges
            .iter()
            .map(|r| ms.to_load(r.start)..ms.to_load(r.end))
            .collect()
    }

    /// The inlined calls whose code `pc` is in, innermost first: each
    /// function's name, and whether its code begins at `pc` (its entry, or
    /// the start of one of its ranges), where gdb shows the stop in the
    /// caller, at the call, rather than in it.
    pub fn inlined_calls_at(&self, pc: u64) -> Vec<(String, bool)> {
        let Some(ms) = self.module_at(pc) else {
            return Vec::new();
        };
        let Some(d) = ms.dwarf(self) else {
            return Vec::new();
        };
        let link = ms.to_link(pc);
        let index = d.functions();
        index
            .chain_at(link)
            .iter()
            .map(|&i| &index.functions[i])
            .take_while(|f| f.inlined)
            .map(|f| {
                (
                    f.name.clone(),
                    f.entry == link || f.ranges.iter().any(|r| r.start == link),
                )
            })
            .collect()
    }

    /// The address range of the out-of-line function containing `pc` (the
    /// part of it that contains `pc`, if it was split, e.g. into `.cold`).
    pub fn function_range(&self, pc: u64) -> Option<Range<u64>> {
        let ms = self.module_at(pc)?;
        let link = ms.to_link(pc);
        if let Some((_, range)) = ms.dwarf(self).and_then(|d| d.functions().outer_at(link)) {
            return Some(ms.to_load(range.start)..ms.to_load(range.end));
        }
        let s = ms.symbols(self).function_at(link).filter(|s| s.size > 0)?;
        Some(ms.to_load(s.addr)..ms.to_load(s.addr + s.size))
    }
}
