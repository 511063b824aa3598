//! Debug information for the REPL: source lines, function names, backtraces,
//! breakpoint addresses and disassembly, for C, C++ and Rust programs.
//!
//! Everything here works from the copies of the binaries that a trace
//! stores, so nothing assumes a file is where the program loaded it from. It
//! knows nothing of tracees or ptrace either: a [`DebugInfo`] is built from
//! a list of loaded [`Module`]s (see [`modules_from_mappings`]), and the few
//! things that need the tracee's state take a [`Memory`] and [`Registers`].
//!
//! All addresses in the public API are *load* addresses, as the tracee sees
//! them. Inside, each module converts them to *link* addresses (what its ELF
//! headers and DWARF say) by subtracting the module's bias; names with `link`
//! in them hold link addresses.
//!
//! - [`elf`]: mappings to modules, ELF images and their separate debug files.
//! - [`symbols`]: ELF symbol tables (`.symtab`, `.dynsym`, PLT stubs).
//! - [`dwarf`]: per-module DWARF (an `addr2line` context and a function index).
//! - [`lines`]: the line table: breakpoints by line or function, stepping ranges.
//! - [`unwind`]: backtraces with DWARF CFI, through signal frames.
//! - [`disasm`]: AT&T disassembly, annotated like gdb's.
//! - [`source`]: finding source files whose paths moved.
//!
//! A `DebugInfo` parses lazily: a module's DWARF, symbols and CFI are read the
//! first time a question needs them, then cached. It uses interior
//! mutability for that, so it is `Send` but not `Sync`.

mod disasm;
mod dwarf;
mod elf;
mod expr;
mod lines;
mod source;
mod symbols;
mod unwind;
mod values;

#[cfg(test)]
mod tests;

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use disasm::Instruction;
pub use elf::{modules_from_mappings, parse_proc_maps, MappedFile, Module};
pub use unwind::{Frame, Registers};
pub use values::{fp_registers, Format, FpRegister, RegisterClass, ReturnRegisters, Scope, ThreadLocalStorage, Value};

/// A function's name as gdb shows it in a frame line: a C++ name without
/// its parameter list and qualifiers (`ns::S::f` for `ns::S::f(int) const`).
/// Rust's generic arguments may hold parentheses (`call_once<fn()>`), but
/// never end the name with one.
pub fn without_parameters(name: &str) -> &str {
    let trimmed = name.strip_suffix(" const").unwrap_or(name);
    if trimmed.ends_with(')') {
        dwarf::strip_parameters(trimmed)
    } else {
        name
    }
}

/// Whether a function's (demangled) name answers to what a user typed
/// (`deep` for `prog::deep`), as `break` matches names.
pub fn function_name_matches(full: &str, query: &str) -> bool {
    dwarf::name_matches(full, query)
}

/// Read access to the tracee's memory.
pub trait Memory {
    /// `len` bytes at `addr`, or `None` if any of them cannot be read.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// A compilation unit as `info source` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitFacts {
    pub comp_dir: Option<String>,
    pub producer: Option<String>,
    /// gdb's name for it: `c`, `c++`, `rust`, `asm`.
    pub language: &'static str,
    pub dwarf_version: u16,
    /// Whether it carries preprocessor macro information.
    pub macros: bool,
}

/// What is known about one code address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The address this describes (for a caller's frame, the return address).
    pub pc: u64,
    /// The module's original path, for display.
    pub module: String,
    /// The innermost function at `pc`: an inlined function if `pc` is in
    /// inlined code. Demangled, without Rust's hash suffix.
    pub function: Option<String>,
    /// The source position of `pc` in `function`.
    pub file: Option<PathBuf>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The functions `function` is inlined into, innermost first, each with
    /// the position of the inlined call. Empty when `pc` is not inlined code.
    pub inlined_into: Vec<InlinedCall>,
    /// The symbol (or, without one, the out-of-line function) that contains
    /// `pc`, and `pc`'s offset from its start: gdb's `<main+4>`.
    pub symbol: Option<String>,
    pub offset: Option<u64>,
}

/// One level of an inline chain: a function, and the position in it of the
/// call that was inlined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlinedCall {
    pub function: Option<String>,
    pub file: Option<PathBuf>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    /// The out-of-line function that contains `pc` (the last of the inline
    /// chain, or `function` itself).
    pub fn outer_function(&self) -> Option<&str> {
        match self.inlined_into.last() {
            Some(call) => call.function.as_deref(),
            None => self.function.as_deref(),
        }
    }

    /// The location as seen from the `depth`-th function of its inline
    /// chain (0: `function` itself): that function, at the position of the
    /// inlined call it holds, and the functions it is inlined into.
    pub fn inline_level(&self, depth: usize) -> Location {
        let Some(call) = depth.checked_sub(1).and_then(|i| self.inlined_into.get(i)) else {
            return self.clone();
        };
        Location {
            function: call.function.clone(),
            file: call.file.clone(),
            line: call.line,
            column: call.column,
            inlined_into: self.inlined_into[depth..].to_vec(),
            ..self.clone()
        }
    }

    /// `name+offset` (or just `name` at offset 0), as gdb shows an address.
    pub fn symbol_with_offset(&self) -> Option<String> {
        let symbol = self.symbol.as_ref()?;
        Some(match self.offset {
            Some(0) | None => symbol.clone(),
            Some(off) => format!("{symbol}+{off}"),
        })
    }
}

/// Code that no module's file describes but that has a name to show, as
/// gdb names code by its symbol: rback's own page in the tracee.
#[derive(Clone, Debug)]
pub struct NamedCode {
    pub range: std::ops::Range<u64>,
    /// Shown as a library's name is (`from [rback page]`).
    pub module: String,
    pub function: String,
}

/// The debug information of all the modules of one address space.
pub struct DebugInfo {
    modules: Vec<ModuleState>,
    named_code: Vec<NamedCode>,
    sources: source::SourceFinder,
    /// Modules that could not be read, said once each (see [`DebugInfo::warnings`]).
    warnings: RefCell<Vec<String>>,
}

/// One module and what has been parsed of it so far.
struct ModuleState {
    module: Module,
    image: OnceCell<Option<elf::Image>>,
    symbols: OnceCell<symbols::SymbolTable>,
    dwarf: OnceCell<Option<dwarf::ModuleDwarf>>,
    cfi: OnceCell<unwind::Cfi>,
    /// The link addresses of the line programs' statement rows (see
    /// [`DebugInfo::is_statement`]).
    statements: OnceCell<std::collections::HashSet<u64>>,
}

impl DebugInfo {
    pub fn new(modules: Vec<Module>) -> DebugInfo {
        DebugInfo {
            modules: modules
                .into_iter()
                .map(|module| ModuleState {
                    module,
                    image: OnceCell::new(),
                    symbols: OnceCell::new(),
                    dwarf: OnceCell::new(),
                    cfi: OnceCell::new(),
                    statements: OnceCell::new(),
                })
                .collect(),
            named_code: Vec::new(),
            sources: source::SourceFinder::default(),
            warnings: RefCell::new(Vec::new()),
        }
    }

    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter().map(|m| &m.module)
    }

    /// Problems met while loading modules (unreadable files, bad DWARF), in
    /// the order they were found. Each is reported once; the module is then
    /// used with whatever could be read of it.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.borrow().clone()
    }

    fn warn(&self, message: String) {
        self.warnings.borrow_mut().push(message);
    }

    /// Names code outside every module (see [`NamedCode`]).
    pub fn name_code(&mut self, code: NamedCode) {
        self.named_code.push(code);
    }

    /// A named piece of code's location: its name and the offset into it,
    /// and nothing more (it has no lines).
    fn named_code_at(&self, pc: u64, lookup: u64) -> Option<Location> {
        let code = self.named_code.iter().find(|c| c.range.contains(&lookup))?;
        Some(Location {
            pc,
            module: code.module.clone(),
            function: Some(code.function.clone()),
            file: None,
            line: None,
            column: None,
            inlined_into: Vec::new(),
            symbol: Some(code.function.clone()),
            offset: Some(pc - code.range.start),
        })
    }

    /// The module whose loaded segments contain `pc`.
    fn module_at(&self, pc: u64) -> Option<&ModuleState> {
        self.modules.iter().find(|m| {
            m.image(self)
                .is_some_and(|image| image.contains(pc.wrapping_sub(m.module.bias)))
        })
    }

    /// Function name, source position and inline chain of `pc`.
    pub fn symbolize(&self, pc: u64) -> Option<Location> {
        self.symbolize_at(pc, pc)
    }

    /// Describes `pc`, looking it up at `lookup`: for a return address the
    /// lookup is `pc - 1`, which is still inside the call instruction, because
    /// a call can be the last instruction of its function.
    fn symbolize_at(&self, pc: u64, lookup: u64) -> Option<Location> {
        let Some(ms) = self.module_at(lookup) else {
            return self.named_code_at(pc, lookup);
        };
        let link = ms.to_link(lookup);
        let mut location = Location {
            pc,
            module: ms.module.name.clone(),
            function: None,
            file: None,
            line: None,
            column: None,
            inlined_into: Vec::new(),
            symbol: None,
            offset: None,
        };
        let dwarf = ms.dwarf(self);
        if let Some(d) = dwarf {
            let frames = d.frames(link);
            if let Some((innermost, callers)) = frames.split_first() {
                location.function = innermost.function.clone();
                // The line table's own answer, which follows gdb's choice
                // among rows that share an address.
                match d.lines().position_at(link) {
                    Some((file, line, column)) => {
                        location.file = Some(file.to_path_buf());
                        location.line = Some(line);
                        location.column = column;
                    }
                    None => {
                        location.file = innermost.file.clone();
                        location.line = innermost.line;
                        location.column = innermost.column;
                    }
                }
                location.inlined_into = callers
                    .iter()
                    .map(|f| InlinedCall {
                        function: f.function.clone(),
                        file: f.file.clone(),
                        line: f.line,
                        column: f.column,
                    })
                    .collect();
                // The index's names, which are gdb's (see
                // `dwarf::rust_paths`), where its chain matches.
                let index = d.functions();
                let chain = index.chain_at(link);
                if chain.len() == frames.len() {
                    let name = |i: usize| Some(index.functions[chain[i]].name.clone());
                    location.function = name(0);
                    for (i, call) in location.inlined_into.iter_mut().enumerate() {
                        call.function = name(i + 1);
                    }
                }
            }
        }
        let outer = dwarf.and_then(|d| d.functions().outer_at(link));
        let symbol = ms.symbols(self).function_at(link).map(|s| (s.name.clone(), s.addr));
        // gdb names code by its DWARF function where one starts at the
        // symbol's address: a C function gcc cloned (`apply.constprop.0`)
        // shows as `apply`. (C++ and Rust symbols already carry the names
        // gdb prints.)
        let module = self.modules.iter().position(|m| std::ptr::eq(m, ms));
        let language = self.language_at(lookup);
        let symbol = match (symbol, outer) {
            (Some((_, start)), Some((f, range))) if range.start == start && language == Some("c") => {
                Some((f.name.clone(), start))
            }
            // A C++ function with no mangled name (`main`) is shown with
            // its parameters, as every other C++ symbol is.
            (Some((name, start)), Some((f, range))) if range.start == start && language == Some("c++") => {
                let full = module.and_then(|m| self.cpp_symbol_name(m, f, &name));
                Some((full.unwrap_or(name), start))
            }
            (Some(s), _) => Some(s),
            (None, outer) => outer.map(|(f, range)| (f.name.clone(), range.start)),
        };
        if let Some((name, start)) = symbol {
            location.offset = Some(ms.to_link(pc).wrapping_sub(start));
            if location.function.is_none() {
                location.function = Some(name.clone());
            }
            location.symbol = Some(name);
        }
        Some(location)
    }

    /// Function names (from DWARF and the symbol tables) that start with
    /// `prefix`, sorted, for tab completion.
    pub fn symbols_matching(&self, prefix: &str) -> Vec<String> {
        let mut names = BTreeSet::new();
        for ms in &self.modules {
            if let Some(d) = ms.dwarf(self) {
                for f in &d.functions().functions {
                    if f.name.starts_with(prefix) {
                        names.insert(f.name.clone());
                    }
                }
            }
            for s in ms.symbols(self).functions() {
                if s.name.starts_with(prefix) {
                    names.insert(s.name.clone());
                }
            }
        }
        names.into_iter().collect()
    }

    /// gdb's `info symbol` answer for an address: `square + 16 in section
    /// .text of /path/prog`. `None` when no symbol covers it.
    pub fn symbol_info(&self, addr: u64) -> Option<String> {
        let ms = self.module_at(addr)?;
        let link = ms.to_link(addr);
        let symbols = ms.symbols(self);
        // A function symbol without a size (`_fini`) does not reach into the
        // data after it.
        let sym = symbols.object_at(link).or_else(|| {
            symbols
                .function_at(link)
                .filter(|s| s.addr == link || link < s.addr + s.size)
        })?;
        let section = ms.image(self)?.section_name_at(link)?;
        let mut out = match link - sym.addr {
            0 => format!("{} in section {section}", sym.name),
            off => format!("{} + {off} in section {section}", sym.name),
        };
        // gdb names the file whenever there is more than one, as there is
        // once the loader has mapped anything.
        if self.modules.len() > 1 {
            out.push_str(&format!(" of {}", ms.module.name));
        }
        Some(out)
    }

    /// The source language of the code at `pc`, as gdb's `info frame`
    /// names it (`c`, `c++`, `rust`).
    pub fn language_at(&self, pc: u64) -> Option<&'static str> {
        self.unit_at(pc).map(|u| u.language)
    }

    /// What the compilation unit of the code at `pc` says of itself, for
    /// `info source`.
    pub fn unit_at(&self, pc: u64) -> Option<UnitFacts> {
        let ms = self.module_at(pc)?;
        let d = ms.dwarf(self)?;
        let (f, _) = d.functions().outer_at(ms.to_link(pc))?;
        let unit = &d.units()[f.unit];
        let root = unit.entry(unit.header.root_offset()).ok()?;
        let text = |at: gimli::DwAt| {
            let value = root.attr_value(at)?;
            let s = d.dwarf.attr_string(unit, value).ok()?;
            Some(String::from_utf8_lossy(&s).into_owned())
        };
        let language = match root.attr_value(gimli::DW_AT_language) {
            Some(gimli::AttributeValue::Language(gimli::DW_LANG_Rust)) => "rust",
            Some(gimli::AttributeValue::Language(
                gimli::DW_LANG_C_plus_plus
                | gimli::DW_LANG_C_plus_plus_03
                | gimli::DW_LANG_C_plus_plus_11
                | gimli::DW_LANG_C_plus_plus_14,
            )) => "c++",
            Some(gimli::AttributeValue::Language(gimli::DW_LANG_Mips_Assembler)) => "asm",
            Some(_) => "c",
            None => return None,
        };
        Some(UnitFacts {
            comp_dir: text(gimli::DW_AT_comp_dir),
            producer: text(gimli::DW_AT_producer),
            language,
            dwarf_version: unit.header.version(),
            macros: root.attr_value(gimli::DW_AT_macros).is_some()
                || root.attr_value(gimli::DW_AT_macro_info).is_some()
                || root.attr_value(gimli::DW_AT_GNU_macros).is_some(),
        })
    }

    /// Whether a frame is in the program's main function (see
    /// [`dwarf::FunctionInfo::main`]), where gdb's backtraces end.
    pub fn is_main(&self, frame: &Frame) -> bool {
        let Some(ms) = self.module_at(frame.lookup_pc) else {
            return false;
        };
        let link = ms.to_link(frame.lookup_pc);
        ms.dwarf(self).and_then(|d| d.functions().outer_at(link)).map_or_else(
            || ms.symbols(self).function_at(link).is_some_and(|s| s.raw == "main"),
            |(f, _)| f.main,
        )
    }
}

impl ModuleState {
    fn to_link(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.module.bias)
    }

    fn to_load(&self, addr: u64) -> u64 {
        addr.wrapping_add(self.module.bias)
    }

    fn image(&self, di: &DebugInfo) -> Option<&elf::Image> {
        self.image
            .get_or_init(|| match elf::Image::load(&self.module) {
                Ok(image) => Some(image),
                Err(e) => {
                    di.warn(format!(
                        "cannot read {} ({}): {e}",
                        self.module.name,
                        self.module.file.display()
                    ));
                    None
                }
            })
            .as_ref()
    }

    fn symbols(&self, di: &DebugInfo) -> &symbols::SymbolTable {
        self.symbols
            .get_or_init(|| self.image(di).map(symbols::SymbolTable::build).unwrap_or_default())
    }

    fn dwarf(&self, di: &DebugInfo) -> Option<&dwarf::ModuleDwarf> {
        self.dwarf
            .get_or_init(|| match dwarf::ModuleDwarf::load(self.image(di)?) {
                Ok(d) => d,
                Err(e) => {
                    di.warn(format!("cannot read the DWARF of {}: {e}", self.module.name));
                    None
                }
            })
            .as_ref()
    }

    fn cfi(&self, di: &DebugInfo) -> &unwind::Cfi {
        self.cfi
            .get_or_init(|| self.image(di).map(unwind::Cfi::load).unwrap_or_default())
    }
}
