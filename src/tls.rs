//! Thread-local variables of the libraries a program loads (glibc's
//! `errno`), found the way libthread_db finds them: libc describes its own
//! structures for debuggers (the `_thread_db_*` symbols, [`ThreadDb`]),
//! and a module's TLS block is reached from its `link_map` through the
//! thread's DTV, or at its static offset below the thread pointer.
//!
//! Both front ends use it: the gdb server answers gdb's `qGetTLSAddr`,
//! where gdb names the `link_map`; the REPL finds the `link_map` itself, in
//! the loader's list (`_r_debug`), for the debug info's
//! [`debuginfo::ThreadLocalStorage`].

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use debuginfo::{MappedFile, Memory};

/// Where libc keeps a field of one of its internal structures, as it
/// describes it for libthread_db (a `db_desc_t`: size in bits, element
/// count, offset).
#[derive(Clone, Copy)]
struct FieldDesc {
    size_bits: u32,
    offset: u32,
}

/// libc's description of the structures that lead to a TLS block.
#[derive(Clone, Copy)]
pub struct ThreadDb {
    l_tls_modid: FieldDesc,
    l_tls_offset: FieldDesc,
    pthread_dtvp: FieldDesc,
    dtv_dtv: FieldDesc,
    dtv_pointer_val: FieldDesc,
}

const THREAD_DB_SYMBOLS: [&str; 5] = [
    "_thread_db_link_map_l_tls_modid",
    "_thread_db_link_map_l_tls_offset",
    "_thread_db_pthread_dtvp",
    "_thread_db_dtv_dtv",
    "_thread_db_dtv_t_pointer_val",
];

/// Offsets in glibc's `struct r_debug` and `struct link_map` (`<link.h>`),
/// the part of them that is public ABI.
const R_DEBUG_R_MAP: u64 = 8;
const LINK_MAP_L_ADDR: u64 = 0;
const LINK_MAP_L_NEXT: u64 = 24;
/// A loader's list is short; a longer walk is a corrupt list.
const MAX_LINK_MAPS: usize = 4096;

impl ThreadDb {
    /// libc's descriptions, if `file` (mapped with load bias `bias`) is a
    /// libc that has them.
    pub fn from_file(file: &Path, bias: u64, mem: &dyn Memory) -> Result<Option<ThreadDb>> {
        let Some(values) = dynamic_symbols(file, &THREAD_DB_SYMBOLS) else {
            return Ok(None);
        };
        let mut descs = Vec::new();
        for v in values {
            let raw = mem
                .read(bias + v, 12)
                .ok_or_else(|| anyhow!("cannot read libc's thread debugging data"))?;
            let word = |i: usize| u32::from_le_bytes(raw[4 * i..4 * i + 4].try_into().expect("4 bytes"));
            descs.push(FieldDesc {
                size_bits: word(0),
                offset: word(2),
            });
        }
        Ok(Some(ThreadDb {
            l_tls_modid: descs[0],
            l_tls_offset: descs[1],
            pthread_dtvp: descs[2],
            dtv_dtv: descs[3],
            dtv_pointer_val: descs[4],
        }))
    }

    /// The address of the TLS block of the module whose `link_map` is at
    /// `link_map`, in the thread whose thread pointer is `fs_base`.
    pub fn block(&self, mem: &dyn Memory, fs_base: u64, link_map: u64) -> Result<u64> {
        let modid = read_field(mem, link_map, self.l_tls_modid)?;
        let dtv = read_field(mem, fs_base, self.pthread_dtvp)?;
        let slot = dtv + modid * u64::from(self.dtv_dtv.size_bits / 8);
        let block = read_field(mem, slot, self.dtv_pointer_val)?;
        // Unallocated (-1) or not yet set up: a module in the static TLS
        // block sits at its offset below the thread pointer (x86-64 puts
        // TLS under the thread control block).
        if block != u64::MAX && block != 0 {
            return Ok(block);
        }
        let static_offset = read_field(mem, link_map, self.l_tls_offset)?;
        if static_offset == 0 || static_offset > fs_base {
            bail!("the module's TLS block is not allocated yet");
        }
        Ok(fs_base - static_offset)
    }
}

/// libc's descriptions, from whichever of the files mapped now is libc.
/// `mapped` gives each mapping's start, file offset and the file to read.
pub fn find_thread_db<'a>(
    mapped: impl IntoIterator<Item = (u64, u64, &'a Path)>,
    mem: &dyn Memory,
) -> Result<Option<ThreadDb>> {
    for (start, offset, file) in mapped {
        // A library's first mapping, at file offset 0, starts at its bias.
        if offset != 0 {
            continue;
        }
        if let Some(db) = ThreadDb::from_file(file, start, mem)? {
            return Ok(Some(db));
        }
    }
    Ok(None)
}

/// Reads the field `d` of the structure at `base` (8 bytes at most).
fn read_field(mem: &dyn Memory, base: u64, d: FieldDesc) -> Result<u64> {
    let len = (d.size_bits / 8).clamp(1, 8) as usize;
    read_word(mem, base + u64::from(d.offset), len)
}

fn read_word(mem: &dyn Memory, addr: u64, len: usize) -> Result<u64> {
    let bytes = mem
        .read(addr, len)
        .ok_or_else(|| anyhow!("cannot read memory at {addr:#x}"))?;
    let mut raw = [0u8; 8];
    raw[..len].copy_from_slice(&bytes);
    Ok(u64::from_le_bytes(raw))
}

/// The values of the dynamic symbols `names` in an ELF file, if it defines
/// them all.
pub fn dynamic_symbols(file: &Path, names: &[&str]) -> Option<Vec<u64>> {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(file).ok()?;
    let elf = object::File::parse(&*bytes).ok()?;
    let table: HashMap<&str, u64> = elf
        .dynamic_symbols()
        .filter_map(|s| Some((s.name().ok()?, s.address())))
        .collect();
    names.iter().map(|n| table.get(n).copied()).collect()
}

/// The REPL's view of thread-local storage: the program's mappings and
/// memory where it stands, and the selected thread's pointer.
pub struct LoadedTls<'a> {
    pub mapped: &'a [MappedFile],
    pub mem: &'a dyn Memory,
    pub fs_base: u64,
}

impl LoadedTls<'_> {
    fn first_mappings(&self) -> impl Iterator<Item = (u64, u64, &Path)> {
        self.mapped.iter().map(|m| (m.start, m.offset, m.file.as_path()))
    }

    /// The `link_map` of the module loaded with bias `bias`, from the
    /// loader's list.
    fn link_map(&self, bias: u64) -> Result<u64> {
        let r_debug = self
            .first_mappings()
            .filter(|(_, offset, _)| *offset == 0)
            .find_map(|(start, _, file)| Some(start + dynamic_symbols(file, &["_r_debug"])?[0]))
            .ok_or_else(|| anyhow!("no dynamic loader is mapped"))?;
        let mut map = read_word(self.mem, r_debug + R_DEBUG_R_MAP, 8)?;
        for _ in 0..MAX_LINK_MAPS {
            if map == 0 {
                break;
            }
            if read_word(self.mem, map + LINK_MAP_L_ADDR, 8)? == bias {
                return Ok(map);
            }
            map = read_word(self.mem, map + LINK_MAP_L_NEXT, 8)?;
        }
        bail!("the module at {bias:#x} is not in the loader's list")
    }
}

impl debuginfo::ThreadLocalStorage for LoadedTls<'_> {
    fn block(&self, bias: u64) -> Result<u64, String> {
        let found = || -> Result<u64> {
            let db = find_thread_db(self.first_mappings(), self.mem)?
                .ok_or_else(|| anyhow!("no libc with thread debugging data is loaded"))?;
            db.block(self.mem, self.fs_base, self.link_map(bias)?)
        };
        found().map_err(|e| format!("Cannot access thread-local storage: {e}."))
    }
}
