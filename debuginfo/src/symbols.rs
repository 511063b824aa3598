//! ELF symbol tables: the functions and data objects of `.symtab` and
//! `.dynsym` (and of the separate debug file's `.symtab`), plus synthesized
//! `name@plt` symbols for PLT stubs, as gdb shows them. This is what names
//! code that has no DWARF, such as a distribution's libc.

use std::borrow::Cow;
use std::collections::HashMap;

use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, RelocationTarget, SymbolKind};

use super::elf::Image;

/// A symbol, in link addresses.
#[derive(Clone, Debug)]
pub(crate) struct Symbol {
    pub addr: u64,
    pub size: u64,
    /// Demangled, without Rust's hash.
    pub name: String,
    /// As in the symbol table.
    pub raw: String,
    /// Lower is preferred among symbols at one address: global, weak, local.
    rank: u8,
}

#[derive(Default)]
pub(crate) struct SymbolTable {
    /// Sorted by address, then by preference.
    functions: Vec<Symbol>,
    objects: Vec<Symbol>,
}

impl SymbolTable {
    pub fn build(image: &Image) -> SymbolTable {
        let mut table = SymbolTable::default();
        if let Some(file) = image.object() {
            table.add_symbols(file.symbols());
            table.add_symbols(file.dynamic_symbols());
            table.add_plt(&file);
        }
        if let Some(debug) = image.debug_object() {
            table.add_symbols(debug.symbols());
        }
        for list in [&mut table.functions, &mut table.objects] {
            // Among aliases, `malloc` reads better than `__libc_malloc`.
            let underscores = |s: &Symbol| s.raw.len() - s.raw.trim_start_matches('_').len();
            list.sort_by(|a, b| {
                (a.addr, a.rank, underscores(a), &a.raw).cmp(&(b.addr, b.rank, underscores(b), &b.raw))
            });
            list.dedup_by(|a, b| a.addr == b.addr && a.raw == b.raw);
        }
        table
    }

    fn add_symbols<'data: 'file, 'file>(&mut self, symbols: impl Iterator<Item = object::Symbol<'data, 'file>>) {
        for sym in symbols {
            if sym.is_undefined() || sym.address() == 0 {
                continue;
            }
            let list = match sym.kind() {
                SymbolKind::Text => &mut self.functions,
                SymbolKind::Data | SymbolKind::Tls => &mut self.objects,
                _ => continue,
            };
            let Ok(raw) = sym.name() else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let rank = if sym.is_weak() {
                1
            } else if sym.is_global() {
                0
            } else {
                2
            };
            list.push(Symbol {
                addr: sym.address(),
                size: sym.size(),
                name: demangle(raw),
                raw: raw.to_string(),
                rank,
            });
        }
    }

    /// Names PLT stubs after the function they jump to. A stub is
    /// `[endbr64] [bnd] jmp *GOT(%rip)`; the GOT slot's dynamic relocation
    /// names the function. Reading the jumps works for `.plt` (lazy
    /// binding), `.plt.sec` (IBT) and `.plt.got` alike.
    fn add_plt(&mut self, file: &object::File<'_>) {
        let Some(relocations) = file.dynamic_relocations() else {
            return;
        };
        let Some(dynsym) = file.dynamic_symbol_table() else {
            return;
        };
        let mut slots = HashMap::new();
        for (offset, reloc) in relocations {
            if let RelocationTarget::Symbol(index) = reloc.target() {
                if let Ok(name) = dynsym.symbol_by_index(index).and_then(|s| s.name().map(str::to_string)) {
                    slots.insert(offset, name);
                }
            }
        }
        for section_name in [".plt", ".plt.sec", ".plt.got"] {
            let Some(section) = file.section_by_name(section_name) else {
                continue;
            };
            let Ok(data) = section.data() else {
                continue;
            };
            let base = section.address();
            let entry_size: u64 = if section_name == ".plt.got" && data.len() % 16 != 0 {
                8
            } else {
                16
            };
            let mut i = 0;
            while i + 6 <= data.len() {
                if data[i] == 0xff && data[i + 1] == 0x25 {
                    let disp = i32::from_le_bytes([data[i + 2], data[i + 3], data[i + 4], data[i + 5]]);
                    let next = base + i as u64 + 6;
                    let slot = next.wrapping_add(disp as i64 as u64);
                    if let Some(name) = slots.get(&slot) {
                        let addr = base + (i as u64 / entry_size) * entry_size;
                        self.functions.push(Symbol {
                            addr,
                            size: entry_size,
                            name: format!("{}@plt", demangle(name)),
                            raw: format!("{name}@plt"),
                            rank: 0,
                        });
                    }
                    i += 6;
                } else {
                    i += 1;
                }
            }
        }
    }

    pub fn functions(&self) -> &[Symbol] {
        &self.functions
    }

    /// The function symbol containing a link address. A symbol of size 0
    /// (hand-written assembly) is taken to reach up to the next one.
    pub fn function_at(&self, addr: u64) -> Option<&Symbol> {
        lookup(&self.functions, addr, true)
    }

    /// The data symbol containing a link address.
    pub fn object_at(&self, addr: u64) -> Option<&Symbol> {
        lookup(&self.objects, addr, false)
    }
}

fn lookup(list: &[Symbol], addr: u64, sizeless_extends: bool) -> Option<&Symbol> {
    let end = list.partition_point(|s| s.addr <= addr);
    let at = list[..end].last()?.addr;
    let first = list[..end].partition_point(|s| s.addr < at);
    let same = &list[first..end];
    // Prefer the best-ranked symbol that contains the address.
    if let Some(s) = same.iter().find(|s| s.size > 0 && addr < s.addr + s.size) {
        return Some(s);
    }
    if addr == at {
        return same.first();
    }
    if sizeless_extends && same.iter().all(|s| s.size == 0) {
        return same.first();
    }
    None
}

/// Demangles a Rust (legacy or v0) or C++ symbol; other names are returned
/// as they are. C++'s special names read as gdb (and c++filt) write them.
pub(crate) fn demangle(name: &str) -> String {
    let demangled = addr2line::demangle_auto(Cow::Borrowed(name), None).into_owned();
    gnu_special_name(&demangled).unwrap_or(demangled)
}

/// `vtable for X`, `VTT for X` and `non-virtual thunk to X` for the
/// demangler's `{vtable(X)}`, `{vtt(X)}` and `{virtual override
/// thunk({offset(N)}, X)}`.
fn gnu_special_name(demangled: &str) -> Option<String> {
    let inner = demangled.strip_prefix('{')?.strip_suffix(")}")?;
    if let Some(x) = inner.strip_prefix("vtable(") {
        return Some(format!("vtable for {x}"));
    }
    if let Some(x) = inner.strip_prefix("vtt(") {
        return Some(format!("VTT for {x}"));
    }
    let thunk = inner.strip_prefix("virtual override thunk(")?;
    let (offset, target) = thunk.split_once("}, ")?;
    let kind = if offset.starts_with("{offset(") {
        "non-virtual thunk to"
    } else {
        "virtual thunk to"
    };
    Some(format!("{kind} {target}"))
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn cpp_special_names_read_as_in_gdb() {
        assert_eq!(demangle("_ZTVN6shapes7DerivedE"), "vtable for shapes::Derived");
        assert_eq!(demangle("_ZTTN6shapes7DerivedE"), "VTT for shapes::Derived");
        assert_eq!(demangle("_ZTIN6shapes7DerivedE"), "typeinfo for shapes::Derived");
        assert_eq!(
            demangle("_ZThn16_N6shapes7Derived4areaEv"),
            "non-virtual thunk to shapes::Derived::area()"
        );
        assert_eq!(demangle("_ZN6shapes7Derived6scaledEv"), "shapes::Derived::scaled()");
    }
}
