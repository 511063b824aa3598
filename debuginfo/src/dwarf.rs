//! One module's DWARF: the `gimli::Dwarf`, an `addr2line` context for
//! addresses to source positions and inline chains, the parsed units, and a
//! function index (every `DW_TAG_subprogram` and `DW_TAG_inlined_subroutine`
//! with code, by name and by address) for breakpoints and variables.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use gimli::{AttributeValue, Reader as _, UnitOffset};

use super::elf::Image;
use super::lines::LineTable;

/// How DWARF is read here: sections copied out of the file into shared
/// buffers, so that a module's DWARF owns its data.
pub(crate) type Reader = gimli::EndianArcSlice<gimli::RunTimeEndian>;

pub(crate) struct ModuleDwarf {
    pub dwarf: Arc<gimli::Dwarf<Reader>>,
    context: addr2line::Context<Reader>,
    units: OnceCell<Vec<gimli::Unit<Reader>>>,
    functions: OnceCell<FunctionIndex>,
    lines: OnceCell<LineTable>,
}

/// One frame of an `addr2line` answer, owned.
pub(crate) struct DwarfFrame {
    pub function: Option<String>,
    pub file: Option<PathBuf>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl ModuleDwarf {
    /// `Ok(None)` when the module has no DWARF at all.
    pub fn load(image: &Image) -> Result<Option<ModuleDwarf>, String> {
        match image.section(".debug_info") {
            Some(data) if !data.is_empty() => {}
            _ => return Ok(None),
        }
        let endian = match image.object().map(|f| object::Object::is_little_endian(&f)) {
            Some(false) => gimli::RunTimeEndian::Big,
            _ => gimli::RunTimeEndian::Little,
        };
        let load = |id: gimli::SectionId| -> Result<Reader, String> {
            let data: Arc<[u8]> = match image.section(id.name()) {
                Some(Cow::Borrowed(b)) => Arc::from(b),
                Some(Cow::Owned(v)) => Arc::from(v),
                None => Arc::from(&[][..]),
            };
            Ok(gimli::EndianArcSlice::new(data, endian))
        };
        let dwarf = Arc::new(gimli::Dwarf::load(load)?);
        let context = addr2line::Context::from_arc_dwarf(Arc::clone(&dwarf)).map_err(|e| e.to_string())?;
        Ok(Some(ModuleDwarf {
            dwarf,
            context,
            units: OnceCell::new(),
            functions: OnceCell::new(),
            lines: OnceCell::new(),
        }))
    }

    /// The inline chain at a link address, innermost first; the last frame
    /// is the out-of-line function. Empty when DWARF says nothing of it.
    pub fn frames(&self, link_pc: u64) -> Vec<DwarfFrame> {
        let mut out = Vec::new();
        let Ok(mut frames) = self.context.find_frames(link_pc).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(frame)) = frames.next() {
            let (file, line, column) = match frame.location {
                Some(l) => (l.file.map(PathBuf::from), l.line, l.column.filter(|&c| c != 0)),
                None => (None, None, None),
            };
            out.push(DwarfFrame {
                function: frame
                    .function
                    .as_ref()
                    .and_then(|n| n.demangle().ok())
                    .map(Cow::into_owned),
                file,
                line,
                column,
            });
        }
        out
    }

    /// The innermost source position of a link address.
    pub fn location(&self, link_pc: u64) -> Option<(PathBuf, u32)> {
        let location = self.context.find_location(link_pc).ok()??;
        Some((PathBuf::from(location.file?), location.line?))
    }

    /// The compilation units, in section order. Units that fail to parse
    /// are left out.
    pub fn units(&self) -> &[gimli::Unit<Reader>] {
        self.units.get_or_init(|| {
            let mut units = Vec::new();
            let mut headers = self.dwarf.units();
            while let Ok(Some(header)) = headers.next() {
                if let Ok(unit) = self.dwarf.unit(header) {
                    units.push(unit);
                }
            }
            units
        })
    }

    pub fn functions(&self) -> &FunctionIndex {
        self.functions
            .get_or_init(|| FunctionIndex::build(&self.dwarf, self.units()))
    }

    pub fn lines(&self) -> &LineTable {
        self.lines.get_or_init(|| LineTable::build(&self.dwarf, self.units()))
    }
}

/// A function with code: a `DW_TAG_subprogram`, or an inlined copy of one.
pub(crate) struct FunctionInfo {
    /// Qualified and demangled where the DWARF allows (`prog::deep`,
    /// `ns::f(int)`), else the plain `DW_AT_name`.
    pub name: String,
    /// Link addresses.
    pub ranges: Vec<Range<u64>>,
    /// Where it is entered: `DW_AT_low_pc`/`DW_AT_entry_pc`, else its lowest address.
    pub entry: u64,
    /// Index into [`ModuleDwarf::units`].
    pub unit: usize,
    pub die: UnitOffset,
    pub inlined: bool,
    /// The program's main function, where gdb ends a backtrace: the
    /// subprogram marked `DW_AT_main_subprogram` (Rust's `crate::main`),
    /// or C's `main`.
    pub main: bool,
}

pub(crate) struct FunctionIndex {
    pub functions: Vec<FunctionInfo>,
    /// Ranges of out-of-line functions, sorted by start: (range, index).
    outer: Vec<(Range<u64>, usize)>,
    /// Ranges of inlined copies, sorted by start.
    inlined: Vec<(Range<u64>, usize)>,
}

impl FunctionIndex {
    fn build(dwarf: &gimli::Dwarf<Reader>, units: &[gimli::Unit<Reader>]) -> FunctionIndex {
        let mut functions = Vec::new();
        for (unit_index, unit) in units.iter().enumerate() {
            let language = match unit
                .entry(unit.header.root_offset())
                .map(|e| e.attr_value(gimli::DW_AT_language))
            {
                Ok(Some(AttributeValue::Language(lang))) => Some(lang),
                _ => None,
            };
            let rust_names = match language {
                Some(gimli::DW_LANG_Rust) => rust_paths(dwarf, unit),
                _ => HashMap::new(),
            };
            let mut entries = unit.entries();
            while let Ok(Some(entry)) = entries.next_dfs() {
                let inlined = match entry.tag() {
                    gimli::DW_TAG_subprogram => false,
                    gimli::DW_TAG_inlined_subroutine => true,
                    _ => continue,
                };
                let mut ranges = Vec::new();
                if let Ok(mut iter) = dwarf.die_ranges(unit, entry) {
                    while let Ok(Some(r)) = iter.next() {
                        // Code removed by the linker keeps its DWARF at address 0.
                        if r.begin < r.end && r.begin != 0 {
                            ranges.push(r.begin..r.end);
                        }
                    }
                }
                if ranges.is_empty() {
                    continue;
                }
                ranges.sort_by_key(|r| r.start);
                let lowest = ranges[0].start;
                let entry_attr = if inlined {
                    gimli::DW_AT_entry_pc
                } else {
                    gimli::DW_AT_low_pc
                };
                let entry_pc = entry
                    .attr_value(entry_attr)
                    .and_then(|v| dwarf.attr_address(unit, v).ok().flatten())
                    .filter(|&a| ranges.iter().any(|r| r.contains(&a)))
                    .unwrap_or(lowest);
                // A Rust function is named by its place in the DWARF tree,
                // as gdb names it (`std::panicking::rust_panic`, where the
                // symbol says `__rustc::rust_panic`), unless it is generic.
                let origin = match entry.attr_value(gimli::DW_AT_abstract_origin) {
                    Some(AttributeValue::UnitRef(o)) => o,
                    _ => entry.offset(),
                };
                let name = rust_names
                    .get(&origin)
                    .cloned()
                    .or_else(|| die_name(dwarf, units, unit_index, entry.offset(), language, 0))
                    .unwrap_or_else(|| "??".to_string());
                let main = !inlined
                    && (matches!(
                        entry.attr_value(gimli::DW_AT_main_subprogram),
                        Some(AttributeValue::Flag(true))
                    ) || name == "main");
                functions.push(FunctionInfo {
                    main,
                    name,
                    ranges,
                    entry: entry_pc,
                    unit: unit_index,
                    die: entry.offset(),
                    inlined,
                });
            }
        }
        let mut outer = Vec::new();
        let mut inlined = Vec::new();
        for (i, f) in functions.iter().enumerate() {
            let list = if f.inlined { &mut inlined } else { &mut outer };
            list.extend(f.ranges.iter().map(|r| (r.clone(), i)));
        }
        outer.sort_by_key(|(r, _)| (r.start, r.end));
        inlined.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
        FunctionIndex {
            functions,
            outer,
            inlined,
        }
    }

    /// The out-of-line function containing a link address, and the range of
    /// it that does.
    pub fn outer_at(&self, addr: u64) -> Option<(&FunctionInfo, Range<u64>)> {
        let (index, range) = self.outer_index_at(addr)?;
        Some((&self.functions[index], range))
    }

    fn outer_index_at(&self, addr: u64) -> Option<(usize, Range<u64>)> {
        let end = self.outer.partition_point(|(r, _)| r.start <= addr);
        // Ranges of different functions do not overlap, but a few entries
        // (duplicates the linker folded) may share a start: look at the last few.
        self.outer[..end]
            .iter()
            .rev()
            .take(8)
            .find(|(r, _)| r.contains(&addr))
            .map(|(r, i)| (*i, r.clone()))
    }

    /// The innermost function (out-of-line or inlined) containing a link
    /// address: an index into `functions`.
    pub fn innermost_at(&self, addr: u64) -> Option<usize> {
        let (outer_index, range) = self.outer_index_at(addr)?;
        let end = self.inlined.partition_point(|(r, _)| r.start <= addr);
        // Among the inlined ranges that start inside this function and
        // contain the address, the one that starts last is the innermost;
        // for equal starts, the shorter one (sorted after).
        self.inlined[..end]
            .iter()
            .rev()
            .take_while(|(r, _)| r.start >= range.start)
            .filter(|(r, _)| r.contains(&addr))
            .max_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)))
            .map(|(_, i)| *i)
            .or(Some(outer_index))
    }

    /// The functions containing a link address, innermost first: the
    /// inlined copies nested there, then the out-of-line function. Indices
    /// into `functions`.
    pub fn chain_at(&self, addr: u64) -> Vec<usize> {
        let Some((outer_index, range)) = self.outer_index_at(addr) else {
            return Vec::new();
        };
        let unit = self.functions[outer_index].unit;
        let end = self.inlined.partition_point(|(r, _)| r.start <= addr);
        let mut chain: Vec<usize> = self.inlined[..end]
            .iter()
            .rev()
            .take_while(|(r, _)| r.start >= range.start)
            .filter(|(r, i)| r.contains(&addr) && self.functions[*i].unit == unit)
            .map(|(_, i)| *i)
            .collect();
        // A nested DIE comes after its parent in the unit: the deepest
        // inlined copy has the highest offset.
        chain.sort_by_key(|i| std::cmp::Reverse(self.functions[*i].die.0));
        chain.dedup();
        chain.push(outer_index);
        chain
    }

    /// The functions whose name is `name`, or ends with `::name` (so `deep`
    /// finds Rust's `prog::deep`, like gdb's wild matching). A C++ parameter
    /// list is ignored.
    pub fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FunctionInfo> + 'a {
        self.functions.iter().filter(move |f| name_matches(&f.name, name))
    }
}

/// The names of a Rust unit's non-generic functions by DIE, with the
/// namespaces and types they are declared in: `std::panicking::rust_panic`,
/// `prog::main::{closure#0}`, `core::ops::function::impls::{impl#2}::f`.
/// A function with type parameters is left out (gdb adds their names,
/// `unwrap<u16, ...>`, which takes the type machinery to write).
fn rust_paths(dwarf: &gimli::Dwarf<Reader>, unit: &gimli::Unit<Reader>) -> HashMap<UnitOffset, String> {
    let mut names = HashMap::new();
    let mut generic = Vec::new();
    // (depth, scope name, the function it is if it is one)
    let mut stack: Vec<(isize, Option<String>, Option<UnitOffset>)> = Vec::new();
    let mut entries = unit.entries();
    while let Ok(Some(entry)) = entries.next_dfs() {
        let depth = entry.depth();
        while stack.last().is_some_and(|(d, _, _)| *d >= depth) {
            stack.pop();
        }
        let name = entry
            .attr_value(gimli::DW_AT_name)
            .and_then(|v| dwarf.attr_string(unit, v).ok())
            .and_then(|s| s.to_string_lossy().ok().map(Cow::into_owned));
        match entry.tag() {
            gimli::DW_TAG_subprogram => {
                if let Some(name) = &name {
                    let mut path: Vec<&str> = stack.iter().filter_map(|(_, n, _)| n.as_deref()).collect();
                    path.push(name);
                    names.insert(entry.offset(), path.join("::"));
                }
                stack.push((depth, None, Some(entry.offset())));
            }
            gimli::DW_TAG_template_type_parameter | gimli::DW_TAG_template_value_parameter => {
                if let Some((_, _, Some(f))) = stack.last() {
                    generic.push(*f);
                }
            }
            gimli::DW_TAG_namespace
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type => stack.push((depth, name, None)),
            _ => stack.push((depth, None, None)),
        }
    }
    for f in generic {
        names.remove(&f);
    }
    names
}

/// Whether a (demangled) function name answers to what the user typed.
pub(crate) fn name_matches(full: &str, query: &str) -> bool {
    let full = strip_parameters(full);
    // A C++ ABI tag (`make_name[abi:cxx11]`) is not part of what is typed.
    let untagged;
    let full = match full.find("[abi:") {
        Some(i) if full.ends_with(']') && !query.contains("[abi:") => {
            untagged = format!(
                "{}{}",
                &full[..i],
                &full[full[i..].find(']').map_or(full.len(), |j| i + j + 1)..]
            );
            untagged.as_str()
        }
        _ => full,
    };
    full == query
        || (full.len() > query.len() + 2 && full.ends_with(query) && full[..full.len() - query.len()].ends_with("::"))
}

/// `ns::f(int) const` -> `ns::f`.
pub(crate) fn strip_parameters(name: &str) -> &str {
    let Some(close) = name.rfind(')') else {
        return name;
    };
    let mut depth = 0;
    for (i, c) in name[..=close].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    // "(anonymous namespace)::f" has no parameter list.
                    return if i == 0 { name } else { &name[..i] };
                }
            }
            _ => {}
        }
    }
    name
}

/// A function DIE's name: its linkage name demangled, else the name of the
/// DIE it completes (`DW_AT_abstract_origin`, `DW_AT_specification`), else
/// its `DW_AT_name`.
fn die_name(
    dwarf: &gimli::Dwarf<Reader>,
    units: &[gimli::Unit<Reader>],
    unit_index: usize,
    offset: UnitOffset,
    language: Option<gimli::DwLang>,
    depth: u32,
) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let unit = &units[unit_index];
    let entry = unit.entry(offset).ok()?;
    let string = |value: AttributeValue<Reader>| -> Option<String> {
        Some(
            dwarf
                .attr_string(unit, value)
                .ok()?
                .to_string_lossy()
                .ok()?
                .into_owned(),
        )
    };
    for attr in [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name] {
        if let Some(raw) = entry.attr_value(attr).and_then(string) {
            return Some(addr2line::demangle_auto(Cow::Owned(raw), language).into_owned());
        }
    }
    for attr in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        let target = match entry.attr_value(attr) {
            Some(AttributeValue::UnitRef(o)) => Some((unit_index, o)),
            Some(AttributeValue::DebugInfoRef(o)) => units.iter().enumerate().find_map(|(i, u)| {
                let local = o.to_unit_offset(&u.header)?;
                Some((i, local))
            }),
            _ => None,
        };
        if let Some((target_unit, target_offset)) = target {
            if let Some(name) = die_name(dwarf, units, target_unit, target_offset, language, depth + 1) {
                return Some(name);
            }
        }
    }
    entry.attr_value(gimli::DW_AT_name).and_then(string)
}
