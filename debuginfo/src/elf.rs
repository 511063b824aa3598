//! Modules and their ELF images: turning an address space's file mappings
//! into [`Module`]s with a load bias, reading a module's file, and finding
//! its separate debug file when the DWARF was stripped into one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use object::read::elf::{FileHeader, ProgramHeader};
use object::{Object, ObjectSection};

/// One loaded ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The path the program loaded it from, for display.
    pub name: String,
    /// The file to read (a copy in the trace, usually).
    pub file: PathBuf,
    /// Load address minus link address (0 for a non-PIE executable).
    pub bias: u64,
}

/// One file mapping of an address space, as in `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    pub start: u64,
    pub end: u64,
    /// The file offset mapped at `start`.
    pub offset: u64,
    /// The path the program mapped.
    pub name: String,
    /// The file to read for it (a copy in the trace, usually).
    pub file: PathBuf,
}

/// Parses `/proc/PID/maps` text into its file mappings; anonymous mappings
/// and pseudo-files (`[stack]`, `[vdso]`, ...) are left out. `file` is the
/// mapped path itself.
pub fn parse_proc_maps(text: &str) -> Vec<MappedFile> {
    let mut maps = Vec::new();
    for line in text.lines() {
        // start-end perms offset dev inode path; the path may hold spaces.
        let mut rest = line;
        let mut fields = [""; 5];
        for field in fields.iter_mut() {
            rest = rest.trim_start();
            let end = rest.find(' ').unwrap_or(rest.len());
            *field = &rest[..end];
            rest = &rest[end..];
        }
        let path = rest.trim();
        if path.is_empty() || path.starts_with('[') {
            continue;
        }
        let Some((start, end)) = fields[0].split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(offset)) = (
            u64::from_str_radix(start, 16),
            u64::from_str_radix(end, 16),
            u64::from_str_radix(fields[2], 16),
        ) else {
            continue;
        };
        maps.push(MappedFile {
            start,
            end,
            offset,
            name: path.to_string(),
            file: PathBuf::from(path),
        });
    }
    maps
}

/// Groups mappings by file and computes each file's bias from its mapping
/// with the lowest file offset and the `PT_LOAD` segment that covers it.
/// Files that are not ELF (locale archives, fonts, ...) are left out.
pub fn modules_from_mappings(maps: &[MappedFile]) -> Vec<Module> {
    let mut order: Vec<&Path> = Vec::new();
    let mut lowest: HashMap<&Path, &MappedFile> = HashMap::new();
    for m in maps {
        match lowest.get(m.file.as_path()) {
            None => {
                order.push(&m.file);
                lowest.insert(&m.file, m);
            }
            Some(prev) if m.offset < prev.offset => {
                lowest.insert(&m.file, m);
            }
            Some(_) => {}
        }
    }
    let mut modules = Vec::new();
    for file in order {
        let m = lowest[file];
        let Ok(segments) = read_segments_of(file) else {
            continue;
        };
        let page = !0xfffu64;
        let covering = segments
            .iter()
            .find(|s| s.offset & page <= m.offset && m.offset < s.offset + s.filesz.max(1))
            .or_else(|| segments.first());
        let Some(seg) = covering else {
            continue;
        };
        let link = seg.vaddr.wrapping_sub(seg.offset).wrapping_add(m.offset);
        modules.push(Module {
            name: m.name.clone(),
            file: m.file.clone(),
            bias: m.start.wrapping_sub(link),
        });
    }
    modules
}

/// A `PT_LOAD` segment, in link addresses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
}

/// The segments of an ELF file, reading only as much of it as they need.
fn read_segments_of(path: &Path) -> Result<Vec<Segment>, String> {
    let mut file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    (&mut file)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    match read_segments(&head) {
        Ok(segments) => Ok(segments),
        // Program headers past the first 64 KiB: unusual, but legal.
        Err(_) if head.len() == 64 * 1024 => read_segments(&fs::read(path).map_err(|e| e.to_string())?),
        Err(e) => Err(e),
    }
}

fn read_segments(data: &[u8]) -> Result<Vec<Segment>, String> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let phdrs = header.program_headers(endian, data).map_err(|e| e.to_string())?;
    Ok(phdrs
        .iter()
        .filter(|p| p.p_type(endian) == object::elf::PT_LOAD)
        .map(|p| Segment {
            vaddr: p.p_vaddr(endian),
            memsz: p.p_memsz(endian),
            offset: p.p_offset(endian),
            filesz: p.p_filesz(endian),
        })
        .collect())
}

/// A module's file, read whole, and its separate debug file if it has one.
pub(crate) struct Image {
    pub data: Vec<u8>,
    /// The file holding the DWARF when the module's own was stripped.
    pub debug: Option<(PathBuf, Vec<u8>)>,
    pub segments: Vec<Segment>,
}

impl Image {
    pub fn load(module: &Module) -> Result<Image, String> {
        let data = fs::read(&module.file).map_err(|e| e.to_string())?;
        let segments = read_segments(&data)?;
        let file = object::File::parse(&*data).map_err(|e| e.to_string())?;
        let debug = if file.section_by_name(".debug_info").is_some() {
            None
        } else {
            find_debug_file(&file, module)
        };
        drop(file);
        Ok(Image { data, debug, segments })
    }

    /// The module's file, parsed (cheap: only headers are read).
    pub fn object(&self) -> Option<object::File<'_>> {
        object::File::parse(&*self.data).ok()
    }

    pub fn debug_object(&self) -> Option<object::File<'_>> {
        object::File::parse(&*self.debug.as_ref()?.1).ok()
    }

    /// Whether a link address is inside one of the module's segments.
    pub fn contains(&self, link: u64) -> bool {
        self.segments
            .iter()
            .any(|s| s.vaddr <= link && link < s.vaddr + s.memsz)
    }

    /// Bytes of the file at a link address, as loaded (for code, which no
    /// relocation changes).
    pub fn bytes_at(&self, link: u64, len: usize) -> Option<&[u8]> {
        let s = self
            .segments
            .iter()
            .find(|s| s.vaddr <= link && link < s.vaddr + s.filesz)?;
        let start = usize::try_from(s.offset + (link - s.vaddr)).ok()?;
        let avail = usize::try_from(s.vaddr + s.filesz - link).ok()?;
        self.data.get(start..start + len.min(avail))
    }

    /// The uncompressed contents of a section, from the debug file for
    /// DWARF sections when there is one.
    pub fn section(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let from = |file: object::File<'_>| -> Option<Vec<u8>> {
            let section = file.section_by_name(name)?;
            Some(section.uncompressed_data().ok()?.into_owned())
        };
        if name.starts_with(".debug_") {
            if let Some(data) = self.debug_object().and_then(from) {
                return Some(Cow::Owned(data));
            }
        }
        let file = self.object()?;
        let section = file.section_by_name(name)?;
        section.uncompressed_data().ok()
    }

    /// A section's link address.
    pub fn section_address(&self, name: &str) -> Option<u64> {
        Some(self.object()?.section_by_name(name)?.address())
    }

    /// The name of the allocated section containing a link address.
    pub fn section_name_at(&self, link: u64) -> Option<String> {
        use object::{Object, ObjectSection};
        let file = self.object()?;
        let section = file
            .sections()
            .find(|s| s.address() != 0 && s.address() <= link && link < s.address() + s.size())?;
        Some(section.name().ok()?.to_string())
    }
}

/// Looks for the separate debug file of a stripped module the way gdb does:
/// by build ID under `/usr/lib/debug/.build-id`, then by `.gnu_debuglink`
/// next to the module (both its original path and the copy that is read).
fn find_debug_file(file: &object::File<'_>, module: &Module) -> Option<(PathBuf, Vec<u8>)> {
    let mut candidates = Vec::new();
    if let Ok(Some(id)) = file.build_id() {
        if id.len() >= 2 {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            candidates.push(PathBuf::from(format!(
                "/usr/lib/debug/.build-id/{}/{}.debug",
                &hex[..2],
                &hex[2..]
            )));
        }
    }
    if let Ok(Some((name, _crc))) = file.gnu_debuglink() {
        let name = String::from_utf8_lossy(name).into_owned();
        for dir in [Path::new(&module.name).parent(), module.file.parent()]
            .into_iter()
            .flatten()
        {
            candidates.push(dir.join(&name));
            candidates.push(dir.join(".debug").join(&name));
            if let Ok(rel) = dir.strip_prefix("/") {
                candidates.push(Path::new("/usr/lib/debug").join(rel).join(&name));
            }
        }
    }
    candidates.into_iter().find_map(|path| {
        if path == module.file {
            return None;
        }
        let data = fs::read(&path).ok()?;
        let has_dwarf = object::File::parse(&*data)
            .ok()?
            .section_by_name(".debug_info")
            .is_some();
        has_dwarf.then_some((path, data))
    })
}
