//! libstdc++'s types as gdb 13 prints them with the pretty printers it
//! loads by default (`/usr/share/gcc/python/libstdcxx`): `std::string` as
//! `"hello"`, `std::vector of length 3, capacity 4 = {1, 2, 3}`,
//! `std::unique_ptr<int> = {get() = 0x...}`, `std::shared_ptr<int> (use
//! count 1, weak count 0) = {get() = 0x...}`, `std::optional<int> =
//! {[contained value] = 5}`, `std::map with 2 elements = {[1] = 2, ...}`,
//! `std::set with 3 elements = {[0] = 1, ...}`, `std::unordered_map` and
//! `std::unordered_set` alike, and `std::__cxx11::list = {[0] = 1}`.
//!
//! A [`Pretty`] is made when a value is read (the evaluator follows the
//! container's pointers through `Memory` then) and kept with the value as
//! a note, so printing still needs no tracee. Its elements are [`Value`]s
//! of their own, printed in whatever format `print` asks for. Nothing here
//! trusts the container: at most 200 elements are read (gdb's `print
//! elements`; a map's key and value count as two), a tree or list is
//! walked a bounded number of steps, and containers nested in containers
//! share one budget of elements, so a corrupt length or a cycle gives a
//! short value, never a hang or a huge allocation.
//!
//! Rust's std types need nothing here: stock gdb does not load the Rust
//! toolchain's printers (`Missing auto-load script ... in section
//! .debug_gdb_scripts`) and prints them as raw structs, as rback does.

use std::cell::Cell;

use super::*;

/// What a pretty printer makes of one value.
#[derive(Debug)]
pub(super) struct Pretty {
    /// The type it was made for: a part of the value that starts at the
    /// same offset (`v._M_impl`) prints raw.
    pub(super) type_name: String,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// gdb's `string` display hint: the quoted text.
    Text(String),
    /// `HEAD = {CHILD, ...}`, or the head alone when there are no
    /// children; `more` adds gdb's `...` after the last one shown.
    Children {
        head: String,
        children: Vec<Child>,
        more: bool,
    },
}

#[derive(Clone, Debug)]
enum Child {
    /// An element of an array-like container: `1`.
    Element(Value),
    /// A named child: `get() = 0x4052a0`.
    Named(&'static str, Value),
    /// A map's entry: `[1] = "a"`.
    Entry(Value, Value),
    /// An element numbered as gdb's printers without a display hint
    /// number them (a set's, a list's): `[0] = 1`.
    Indexed(usize, Value),
    /// What could not be read, in gdb's words; nothing follows it.
    Error(String),
}

/// Elements of nested containers read for one value at most, on top of
/// each container's own 200: `vector<vector<vector<int>>>` stays cheap.
const NESTED_ELEMENTS: usize = 20_000;
/// Containers in containers deeper than this print raw.
const NESTING: u32 = 6;
/// Steps of a walk through a red-black tree, which a corrupt tree could
/// make go round for ever.
const TREE_STEPS: usize = 10_000;

thread_local! {
    /// How deep in nested containers the printer is, and how many more
    /// elements it may read: set by the outermost container.
    static NESTED: Cell<(u32, usize)> = const { Cell::new((0, 0)) };
    /// Set while a value is read for `print/r`: no printer applies.
    static RAW: Cell<bool> = const { Cell::new(false) };
}

impl DebugInfo {
    /// The value as `print/r` shows it, without pretty printers: its notes
    /// made again with every printer off, so that the members of a library
    /// type (a `char *` inside a `std::string`) are annotated as any
    /// struct's are. A value no printer touched is returned as it is.
    pub fn raw(&self, v: &Value, scope: &Scope) -> Value {
        if !v.notes.iter().any(|(_, n)| matches!(n, Note::Pretty(_))) {
            return v.clone();
        }
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: 0,
        };
        RAW.with(|r| r.set(true));
        let raw = ev.annotate(v.clone());
        RAW.with(|r| r.set(false));
        raw
    }
}

/// How a node-based container links its nodes.
#[derive(Clone, Copy)]
enum Links {
    /// A red-black tree, walked in order through parent links.
    Tree,
    /// A singly linked list ending in a null link.
    Hash,
    /// A ring through the container's header, walked as far as its size.
    List,
}

/// What a container's nodes hold.
enum Held {
    /// A map's `std::pair`, shown `[key] = value`.
    Pair(Type),
    /// An element, shown `[i] = element`.
    Element(Type),
}

/// The node after `node` in order in a red-black tree, as gdb's printer
/// finds it: the leftmost of the right subtree, else the first ancestor
/// reached from the left. `steps` counts the links followed, within
/// [`TREE_STEPS`], against a tree that links back into itself.
fn tree_successor(link: &dyn Fn(u64, u64) -> Result<u64, String>, node: u64, steps: &mut usize) -> Result<u64, String> {
    let (parent, left, right) = (8, 16, 24);
    let mut next = link(node, right)?;
    if next != 0 {
        while *steps < TREE_STEPS {
            *steps += 1;
            let l = link(next, left)?;
            if l == 0 {
                return Ok(next);
            }
            next = l;
        }
    } else {
        let mut at = node;
        let mut up = link(at, parent)?;
        while *steps < TREE_STEPS && at == link(up, right)? {
            *steps += 1;
            at = up;
            up = link(up, parent)?;
        }
        if *steps < TREE_STEPS {
            return Ok(if link(at, right)? != up { up } else { at });
        }
    }
    Err("the tree does not end".to_string())
}

impl Pretty {
    /// The value in a frame line, where gdb shows a container's head and
    /// `{...}` for its elements.
    pub(super) fn summary(&self) -> String {
        match &self.body {
            Body::Text(text) => text.clone(),
            Body::Children { head, children, more } if children.is_empty() && !more => head.clone(),
            Body::Children { head, .. } => format!("{head} = {{...}}"),
        }
    }

    pub(super) fn print(&self, out: &mut String, f: Format) {
        let (head, children, more) = match &self.body {
            Body::Text(text) => {
                out.push_str(text);
                return;
            }
            Body::Children { head, children, more } => (head, children, *more),
        };
        out.push_str(head);
        if children.is_empty() && !more {
            return;
        }
        out.push_str(" = {");
        for (i, child) in children.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match child {
                Child::Element(v) => out.push_str(&v.format(f)),
                Child::Named(name, v) => out.push_str(&format!("{name} = {}", v.format(f))),
                Child::Entry(k, v) => out.push_str(&format!("[{}] = {}", k.format(f), v.format(f))),
                Child::Indexed(i, v) => out.push_str(&format!("[{i}] = {}", v.format(f))),
                // gdb's printing stops at the error, which it reports
                // after what it had printed (without the closing brace).
                Child::Error(e) => {
                    out.push_str(e);
                    return;
                }
            }
        }
        if more {
            out.push_str("...");
        }
        out.push('}');
    }
}

/// The arguments of a template's name: `int` and `std::less<int>` of
/// `std::map<int, std::less<int> >`.
fn template_args(name: &str) -> Vec<&str> {
    let Some(open) = name.find('<') else {
        return Vec::new();
    };
    let inner = name[open + 1..]
        .trim_end()
        .strip_suffix('>')
        .unwrap_or(&name[open + 1..]);
    let mut args = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    args
}

/// Which of `kinds` (`std::map`) the type named `name` instantiates.
fn template_of(name: &str, kinds: &[&'static str]) -> Option<&'static str> {
    kinds
        .iter()
        .copied()
        .find(|k| name.strip_prefix(k).is_some_and(|r| r.starts_with('<')))
}

/// A template argument as gdb's libstdc++ type printers name it where the
/// printers apply them (`std::optional`'s): a vector without its default
/// allocator, `std::vector<int>`.
fn recognised(arg: &str) -> String {
    for (prefix, short) in [
        ("char", "std::string"),
        ("wchar_t", "std::wstring"),
        ("char8_t", "std::u8string"),
        ("char16_t", "std::u16string"),
        ("char32_t", "std::u32string"),
    ] {
        for template in ["std::__cxx11::basic_string", "std::basic_string"] {
            if arg == format!("{template}<{prefix}, std::char_traits<{prefix}>, std::allocator<{prefix}> >") {
                return short.to_string();
            }
        }
    }
    if template_of(arg, &["std::vector"]).is_some() {
        if let [elem, alloc] = template_args(arg)[..] {
            if alloc == format!("std::allocator<{elem}>") || alloc == format!("std::allocator<{elem} >") {
                return format!("std::vector<{}>", recognised(elem));
            }
        }
    }
    arg.to_string()
}

/// The type that an allocator among a container's template arguments
/// allocates: `std::pair<int const, int>` of a map's `std::allocator<...>`.
fn allocated(name: &str) -> Option<&str> {
    let alloc = template_args(name)
        .into_iter()
        .rev()
        .find(|a| a.starts_with("std::allocator<"))?;
    template_args(alloc).first().copied()
}

/// A member found by following `path` from `ty`, through base classes
/// and anonymous members: its type and offset.
fn path<'t>(ty: &'t Type, path: &[&str]) -> Option<(&'t Type, u64)> {
    let mut at = (ty, 0);
    for name in path {
        let (m, offset) = find_member(at.0, name, 0)?;
        at = (&m.ty, at.1 + offset);
    }
    Some(at)
}

/// The first member named `name` anywhere inside `ty` (depth first, bases
/// and members alike) whose type `want` accepts.
fn find_deep<'t>(ty: &'t Type, name: &str, want: fn(&Type) -> bool, depth: u32) -> Option<(&'t Type, u64)> {
    let Kind::Struct { members: Some(members) } = &ty.kind else {
        return None;
    };
    if depth > 8 {
        return None;
    }
    members
        .iter()
        .filter(|m| m.bits.is_none() && m.statik.is_none())
        .find_map(|m| {
            if m.name.as_deref() == Some(name) && want(&m.ty) {
                return Some((&m.ty, m.offset));
            }
            find_deep(&m.ty, name, want, depth + 1).map(|(t, o)| (t, m.offset + o))
        })
}

fn word(bytes: &[u8], offset: u64) -> Option<u64> {
    let at = usize::try_from(offset).ok()?;
    Some(read_int(bytes.get(at..at.checked_add(8)?)?, 8, false) as u64)
}

fn is_pointer(ty: &Type) -> bool {
    matches!(ty.kind, Kind::Pointer { .. })
}

fn elements(n: u64) -> String {
    if n == 1 {
        "1 element".to_string()
    } else {
        format!("{n} elements")
    }
}

impl Evaluator<'_> {
    /// What gdb's libstdc++ printer shows of the struct of type `ty` at
    /// `offset` in `bytes`, or `None` for a type it does not print (or a
    /// layout this libstdc++ does not have), which then prints raw.
    pub(super) fn pretty(&self, ty: &Type, bytes: &[u8], offset: u64, budget: &mut usize) -> Option<Pretty> {
        if RAW.with(Cell::get) {
            return None;
        }
        let name = ty.name();
        let start = usize::try_from(offset).ok()?;
        let own = bytes.get(start..start.checked_add(usize::try_from(ty.size).ok()?)?)?;
        let (depth, left) = NESTED.with(Cell::get);
        if depth >= NESTING {
            return None;
        }
        let left = if depth == 0 { NESTED_ELEMENTS } else { left };
        NESTED.with(|n| n.set((depth + 1, left)));
        *budget = budget.saturating_sub(1);
        let template = |kinds: &[&'static str]| template_of(&name, kinds);
        let body = if path(ty, &["_M_dataplus", "_M_p"]).is_some() {
            self.string(ty, own)
        } else if template(&["std::vector"]).is_some() || path(ty, &["_M_impl", "_M_end_of_storage"]).is_some() {
            // Also under a typedef's name (`element_type` of a `shared_ptr`).
            self.vector(ty, own)
        } else if template(&["std::unique_ptr"]).is_some() {
            self.unique_ptr(ty, &name, own)
        } else if let Some(kind) = template(&["std::shared_ptr", "std::weak_ptr"]) {
            self.shared_ptr(ty, kind, &name, own)
        } else if template(&["std::optional"]).is_some() {
            self.optional(ty, &name, own)
        } else if let Some(kind) = template(&["std::map", "std::multimap", "std::set", "std::multiset"]) {
            self.tree(ty, kind, &name, own)
        } else if let Some(kind) = template(&[
            "std::unordered_map",
            "std::unordered_multimap",
            "std::unordered_set",
            "std::unordered_multiset",
        ]) {
            self.hashtable(ty, kind, &name, own)
        } else if template(&["std::__cxx11::list", "std::list"]).is_some() {
            self.list(ty, &name, own)
        } else if template(&["std::deque"]).is_some() {
            self.deque(ty, &name, own)
        } else if template(&["std::tuple"]).is_some() {
            self.tuple(ty, &name, own)
        } else if template(&["std::variant"]).is_some() {
            self.variant(ty, &name, own)
        } else {
            None
        };
        let left = NESTED.with(Cell::get).1;
        NESTED.with(|n| n.set((depth, left)));
        body.map(|body| Pretty { type_name: name, body })
    }

    /// Takes one element from the shared budget; false when it is spent.
    fn take_element(&self) -> bool {
        NESTED.with(|n| {
            let (depth, left) = n.get();
            n.set((depth, left.saturating_sub(1)));
            left > 0
        })
    }

    /// A child value read from `bytes` at `offset`, with its own notes
    /// (and pretty printers), printed as a member is.
    fn child(&self, ty: &Type, addr: Option<u64>, bytes: &[u8], offset: u64) -> Option<Value> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(ty.size).ok()?)?;
        let mut v = self.annotate(Value {
            ty: ty.clone(),
            addr: addr.map(|a| a.wrapping_add(offset)),
            bytes: Some(bytes.get(start..end)?.to_vec()),
            notes: Vec::new(),
            bare: true,
            reference: None,
        });
        v.bare = true;
        Some(v)
    }

    /// A pointer's target type in full.
    fn pointee(&self, ptr: &Type) -> Option<Type> {
        let Kind::Pointer { target, full, .. } = &ptr.kind else {
            return None;
        };
        match full {
            Some(r) => Cx::new(self.di, r.module)?.full_type(r).ok(),
            None => Some((**target).clone()),
        }
    }

    /// `"hello"`; a wide string of ASCII characters with its prefix
    /// (`L"wide"`, `u"..."`, `U"..."`), any other left raw.
    fn string(&self, ty: &Type, own: &[u8]) -> Option<Body> {
        let (p_ty, p_at) = path(ty, &["_M_dataplus", "_M_p"])?;
        let (_, len_at) = path(ty, &["_M_string_length"])?;
        let Kind::Pointer { target, .. } = &p_ty.kind else {
            return None;
        };
        let prefix = match (target.size, target.name().as_str()) {
            (1, _) => "",
            (4, "wchar_t") => "L",
            (2, "char16_t") => "u",
            (4, "char32_t") => "U",
            _ => return None,
        };
        let (p, len) = (word(own, p_at)?, word(own, len_at)?);
        let shown = len.min(PRINT_MAX as u64);
        let Some(bytes) = self.scope.mem.read(p, (shown * target.size) as usize) else {
            return Some(Body::Text(format!("<error: {}>", memory_error(p))));
        };
        let chars: Vec<u8> = if target.size == 1 {
            bytes
        } else {
            bytes
                .chunks(target.size as usize)
                .map(|c| u8::try_from(read_int(c, target.size, false)).ok().filter(u8::is_ascii))
                .collect::<Option<_>>()?
        };
        Some(Body::Text(format!("{prefix}{}", format_string(&chars, len > shown))))
    }

    fn vector(&self, ty: &Type, own: &[u8]) -> Option<Body> {
        let (start_ty, start_at) = path(ty, &["_M_impl", "_M_start"])?;
        let (_, finish_at) = path(ty, &["_M_impl", "_M_finish"])?;
        let (_, end_at) = path(ty, &["_M_impl", "_M_end_of_storage"])?;
        if !is_pointer(start_ty) {
            return self.bit_vector(start_ty, start_at, finish_at, end_at, own);
        }
        let elem = self.pointee(start_ty)?;
        if elem.size == 0 || check_size(&elem).is_err() {
            return None;
        }
        let (start, finish, end) = (word(own, start_at)?, word(own, finish_at)?, word(own, end_at)?);
        let size = elem.size as i64;
        let len = (finish.wrapping_sub(start) as i64) / size;
        let capacity = (end.wrapping_sub(start) as i64) / size;
        let head = format!("std::vector of length {len}, capacity {capacity}");
        let count = len.max(0) as u64;
        let want = count.min(PRINT_MAX as u64);
        // Elements are read in blocks, each within gdb's value size.
        let per_block = (READ_MAX / elem.size).max(1);
        let (mut children, mut error, mut i) = (Vec::new(), None, 0);
        'read: while i < want {
            let n = per_block.min(want - i);
            let addr = start.wrapping_add(i.wrapping_mul(elem.size));
            let Some(block) = self.scope.mem.read(addr, (n * elem.size) as usize) else {
                error = Some(memory_error(addr));
                break;
            };
            for j in 0..n {
                if !self.take_element() {
                    break 'read;
                }
                match self.child(&elem, Some(addr), &block, j * elem.size) {
                    Some(v) => children.push(Child::Element(v)),
                    None => {
                        error = Some(memory_error(addr));
                        break 'read;
                    }
                }
                i += 1;
            }
        }
        let more = error.is_none() && i < count;
        children.extend(error.map(Child::Error));
        Some(Body::Children { head, children, more })
    }

    /// A `std::vector<bool>`: words of bits between two bit iterators (a
    /// word pointer and a bit offset), shown `true`/`false` one by one.
    fn bit_vector(&self, iter: &Type, start_at: u64, finish_at: u64, end_at: u64, own: &[u8]) -> Option<Body> {
        let (p_ty, p_at) = path(iter, &["_M_p"])?;
        let (_, bit_at) = path(iter, &["_M_offset"])?;
        let word_size = self.pointee(p_ty)?.size;
        if !matches!(word_size, 1 | 2 | 4 | 8) {
            return None;
        }
        let bits = 8 * word_size;
        let start = word(own, start_at + p_at)?;
        let finish = word(own, finish_at + p_at)?;
        let finish_bit = u64::from(
            u32::try_from(read_int(
                own.get(usize::try_from(finish_at + bit_at).ok()?..)?,
                4,
                false,
            ))
            .ok()?,
        );
        let end = word(own, end_at)?;
        let words = |to: u64| (to.wrapping_sub(start) as i64) / word_size as i64;
        let len = (bits as i64)
            .wrapping_mul(words(finish))
            .wrapping_add(finish_bit as i64);
        let capacity = (bits as i64).wrapping_mul(words(end));
        let head = format!("std::vector<bool> of length {len}, capacity {capacity}");
        let count = len.max(0) as u64;
        let want = count.min(PRINT_MAX as u64);
        let bool_ty = Type {
            lang: Lang::Cpp,
            ..Type::simple(
                "bool",
                1,
                Kind::Int {
                    signed: false,
                    char: false,
                    bool: true,
                },
            )
        };
        let (mut children, mut error) = (Vec::new(), None);
        // The words that hold the bits shown, read at once.
        let span = want.div_ceil(bits) * word_size;
        match self.scope.mem.read(start, span as usize) {
            None if want > 0 => error = Some(memory_error(start)),
            None => {}
            Some(block) => {
                for i in 0..want {
                    if !self.take_element() {
                        break;
                    }
                    let w = read_int(
                        &block[((i / bits) * word_size) as usize..][..word_size as usize],
                        word_size,
                        false,
                    );
                    let bit = [u8::from(w >> (i % bits) & 1 == 1)];
                    children.push(Child::Element(self.child(&bool_ty, None, &bit, 0)?));
                }
            }
        }
        let more = error.is_none() && (children.len() as u64) < count;
        children.extend(error.map(Child::Error));
        Some(Body::Children { head, children, more })
    }

    /// A `std::deque`: blocks of elements through a map of block pointers,
    /// walked from the start iterator to the finish iterator.
    fn deque(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let (iter, start_at) = path(ty, &["_M_impl", "_M_start"])?;
        let (_, finish_at) = path(ty, &["_M_impl", "_M_finish"])?;
        let (cur_ty, cur) = path(iter, &["_M_cur"])?;
        let (_, first) = path(iter, &["_M_first"])?;
        let (_, last) = path(iter, &["_M_last"])?;
        let (_, node) = path(iter, &["_M_node"])?;
        let elem = self.pointee(cur_ty)?;
        if elem.size == 0 || check_size(&elem).is_err() {
            return None;
        }
        let esize = elem.size as i64;
        let buffer = if esize < 512 { 512 / esize } else { 1 };
        let at = |iterator: u64, member: u64| word(own, iterator + member);
        let (s_cur, s_last, s_node) = (at(start_at, cur)?, at(start_at, last)?, at(start_at, node)?);
        let (f_cur, f_first, f_node) = (at(finish_at, cur)?, at(finish_at, first)?, at(finish_at, node)?);
        let delta_n = (f_node.wrapping_sub(s_node) as i64) / 8 - 1;
        let delta_s = (s_last.wrapping_sub(s_cur) as i64) / esize;
        let delta_e = (f_cur.wrapping_sub(f_first) as i64) / esize;
        let size = buffer.wrapping_mul(delta_n).wrapping_add(delta_s).wrapping_add(delta_e);
        let kind = &name[..name.find('<')?];
        let head = if size == 1 {
            format!("{kind} with 1 element")
        } else {
            format!("{kind} with {size} elements")
        };
        let (mut p, mut end, mut block) = (s_cur, s_last, s_node);
        let (mut children, mut error) = (Vec::new(), None);
        // Bounded by the elements gdb shows, not by the container's links.
        while p != f_cur && children.len() < PRINT_MAX && self.take_element() {
            match self
                .read(p, elem.size)
                .and_then(|b| self.child(&elem, Some(p), &b, 0).ok_or_else(|| memory_error(p)))
            {
                Ok(v) => children.push(Child::Element(v)),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
            p = p.wrapping_add(elem.size);
            if p == end {
                block = block.wrapping_add(8);
                match self.read(block, 8) {
                    Ok(b) => p = read_int(&b, 8, false) as u64,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
                end = p.wrapping_add(buffer as u64 * elem.size);
            }
        }
        let more = error.is_none() && p != f_cur;
        children.extend(error.map(Child::Error));
        Some(Body::Children { head, children, more })
    }

    /// A `std::tuple`: a chain of `_Tuple_impl` bases, each holding one
    /// element in a `_Head_base`, numbered from 1 as gdb's printer does.
    fn tuple(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let kind = &name[..name.find('<')?];
        let fields = |t: &Type| match &t.kind {
            Kind::Struct { members: Some(m) } => {
                Some(m.iter().filter(|m| m.statik.is_none()).cloned().collect::<Vec<_>>())
            }
            _ => None,
        };
        let top = fields(ty)?;
        if top.is_empty() {
            return Some(Body::Children {
                head: format!("empty {kind}"),
                children: Vec::new(),
                more: false,
            });
        }
        let mut head: Option<(Type, u64)> = match top.len() {
            1 => Some((top[0].ty.clone(), top[0].offset)),
            _ => Some((ty.clone(), 0)),
        };
        let mut children = Vec::new();
        while let Some((h, at)) = head.take() {
            let nodes = fields(&h)?;
            let (impl_ty, impl_at) = match &nodes[..] {
                [] => break,
                [only] => (only.ty.clone(), at + only.offset),
                [next, this] => {
                    head = Some((next.ty.clone(), at + next.offset));
                    (this.ty.clone(), at + this.offset)
                }
                _ => return None,
            };
            if children.len() >= PRINT_MAX || !self.take_element() {
                break;
            }
            let inner = fields(&impl_ty).unwrap_or_default();
            let v = match inner.first() {
                Some(m) if m.name.as_deref() == Some("_M_head_impl") => {
                    self.child(&m.ty, None, own, impl_at + m.offset)?
                }
                _ => self.child(&impl_ty, None, own, impl_at)?,
            };
            children.push(Child::Indexed(children.len() + 1, v));
        }
        Some(Body::Children {
            head: format!("{kind} containing"),
            children,
            more: head.is_some(),
        })
    }

    /// A `std::variant`: the alternative `_M_index` names, read from the
    /// start of its storage; a contained container's elements are the
    /// variant's own, as for `std::optional`.
    fn variant(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let kind = &name[..name.find('<')?];
        let alternatives = template_args(name);
        let names: Vec<String> = alternatives.iter().map(|a| recognised(a)).collect();
        let head = format!("{kind}<{}>", names.join(", "));
        let (index_ty, index_at) = find_deep(ty, "_M_index", |t| matches!(t.kind, Kind::Int { .. }), 0)?;
        let start = usize::try_from(index_at).ok()?;
        let index = read_int(own.get(start..start + index_ty.size as usize)?, index_ty.size, false) as u64;
        let Some(alternative) = alternatives.get(index as usize) else {
            return Some(Body::Children {
                head: format!("{head} [no contained value]"),
                children: Vec::new(),
                more: false,
            });
        };
        let (union, union_at) = find_deep(ty, "_M_u", |_| true, 0)?;
        let (_, storage_at) = path(union, &["_M_first", "_M_storage"])?;
        let alt_ty = self
            .named_type(&format!("struct {alternative}"))
            .or_else(|| self.named_type(&format!("class {alternative}")))
            .or_else(|| self.named_type(alternative))?;
        let value = self.child(&alt_ty, None, own, union_at + storage_at)?;
        if let Some(Body::Children {
            head: inner,
            children,
            more,
        }) = value.pretty().map(|p| &p.body)
        {
            return Some(Body::Children {
                head: format!("{head} [index {index}] containing {inner}"),
                children: children.clone(),
                more: *more,
            });
        }
        Some(Body::Children {
            head: format!("{head} [index {index}]"),
            children: vec![Child::Element(value)],
            more: false,
        })
    }

    /// The pointer a `std::unique_ptr` or `std::shared_ptr` holds, for
    /// `*p` and `p->m` as gdb's libstdc++ xmethods answer them.
    pub(super) fn smart_pointer(&self, v: &Value) -> Option<Value> {
        if v.ty.lang != Lang::Cpp {
            return None;
        }
        let name = v.ty.name();
        let (ty, at) = match template_of(&name, &["std::unique_ptr", "std::shared_ptr"])? {
            "std::unique_ptr" => find_deep(&v.ty, "_M_head_impl", is_pointer, 0)?,
            _ => path(&v.ty, &["_M_ptr"])?,
        };
        v.part(ty, at)
    }

    fn unique_ptr(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let (p_ty, at) = find_deep(ty, "_M_head_impl", is_pointer, 0)?;
        let head = format!("std::unique_ptr<{}>", template_args(name).first()?);
        let get = self.child(p_ty, None, own, at)?;
        Some(Body::Children {
            head,
            children: vec![Child::Named("get()", get)],
            more: false,
        })
    }

    fn shared_ptr(&self, ty: &Type, kind: &str, name: &str, own: &[u8]) -> Option<Body> {
        let (p_ty, p_at) = path(ty, &["_M_ptr"])?;
        let (pi_ty, pi_at) = path(ty, &["_M_refcount", "_M_pi"])?;
        let pi = word(own, pi_at)?;
        let state = if pi == 0 {
            "empty".to_string()
        } else {
            let counts = self.pointee(pi_ty)?;
            let (_, use_at) = path(&counts, &["_M_use_count"])?;
            let (_, weak_at) = path(&counts, &["_M_weak_count"])?;
            let count = |at: u64| {
                let addr = pi.wrapping_add(at);
                let bytes = self.scope.mem.read(addr, 4).ok_or_else(|| memory_error(addr))?;
                Ok::<i64, String>(read_int(&bytes, 4, true) as i64)
            };
            match (count(use_at), count(weak_at)) {
                (Ok(0), Ok(weak)) => format!("expired, weak count {weak}"),
                (Ok(uses), Ok(weak)) => format!("use count {uses}, weak count {}", weak - 1),
                (Err(e), _) | (_, Err(e)) => format!("<error: {e}>"),
            }
        };
        let head = format!("{kind}<{}> ({state})", template_args(name).first()?);
        Some(Body::Children {
            head,
            children: vec![Child::Named("get()", self.child(p_ty, None, own, p_at)?)],
            more: false,
        })
    }

    fn optional(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let (_, engaged_at) = path(ty, &["_M_payload", "_M_engaged"])?;
        let (value_ty, value_at) = path(ty, &["_M_payload", "_M_payload", "_M_value"])?;
        let head = format!("std::optional<{}>", recognised(template_args(name).first()?));
        if own.get(usize::try_from(engaged_at).ok()?)? == &0 {
            return Some(Body::Children {
                head: format!("{head} [no contained value]"),
                children: Vec::new(),
                more: false,
            });
        }
        let value = self.child(value_ty, None, own, value_at)?;
        // A contained container's elements are the optional's own.
        if let Some(Body::Children {
            head: inner,
            children,
            more,
        }) = value.pretty().map(|p| &p.body)
        {
            return Some(Body::Children {
                head: format!("{head} containing {inner}"),
                children: children.clone(),
                more: *more,
            });
        }
        Some(Body::Children {
            head,
            children: vec![Child::Named("[contained value]", value)],
            more: false,
        })
    }

    /// A `std::map`, `std::set` and their `multi` kinds: a red-black tree.
    fn tree(&self, ty: &Type, kind: &str, name: &str, own: &[u8]) -> Option<Body> {
        let (_, header_at) = path(ty, &["_M_t", "_M_impl", "_M_header"])?;
        let (_, count_at) = path(ty, &["_M_t", "_M_impl", "_M_node_count"])?;
        let (held, held_name) = self.held(kind, name)?;
        // The value follows the node's colour and three links.
        let value_at = self.storage_offset(&format!("std::_Rb_tree_node<{held_name}>"), 32);
        let count = word(own, count_at)?;
        let first = word(own, header_at + 16)?;
        let head = format!("{kind} with {}", elements(count));
        Some(self.nodes(head, Links::Tree, first, count, value_at, &held))
    }

    /// A `std::unordered_map` or `std::unordered_set` (and `multi` kinds):
    /// a list of nodes from `_M_before_begin`.
    fn hashtable(&self, ty: &Type, kind: &str, name: &str, own: &[u8]) -> Option<Body> {
        let (_, count_at) = path(ty, &["_M_h", "_M_element_count"])?;
        let (_, first_at) = path(ty, &["_M_h", "_M_before_begin", "_M_nxt"])?;
        let (held, held_name) = self.held(kind, name)?;
        // After the link to the next node (and before a cached hash code).
        let value_at = ["false", "true"]
            .iter()
            .map(|cached| self.storage_offset(&format!("std::__detail::_Hash_node<{held_name}, {cached}>"), 0))
            .find(|&o| o != 0)
            .unwrap_or(8);
        let count = word(own, count_at)?;
        let head = format!("{kind} with {}", elements(count));
        Some(self.nodes(head, Links::Hash, word(own, first_at)?, count, value_at, &held))
    }

    /// A `std::list`: a ring of nodes through its header, of known size.
    fn list(&self, ty: &Type, name: &str, own: &[u8]) -> Option<Body> {
        let (_, first_at) = path(ty, &["_M_impl", "_M_node", "_M_next"])?;
        let (_, count_at) = path(ty, &["_M_impl", "_M_node", "_M_size"])?;
        let (held, held_name) = self.held("list", name)?;
        let value_at = self.storage_offset(&format!("std::_List_node<{held_name}>"), 16);
        let count = word(own, count_at)?;
        let kind = &name[..name.find('<')?];
        if count == 0 {
            return Some(Body::Children {
                head: format!("empty {kind}"),
                children: Vec::new(),
                more: false,
            });
        }
        Some(self.nodes(
            kind.to_string(),
            Links::List,
            word(own, first_at)?,
            count,
            value_at,
            &held,
        ))
    }

    /// What the nodes of a container of kind `kind` named `name` hold: a
    /// map's pair or a set's or list's element, with its type's name.
    fn held<'n>(&self, kind: &str, name: &'n str) -> Option<(Held, &'n str)> {
        let held_name = allocated(name)?;
        let ty = self
            .named_type(&format!("struct {held_name}"))
            .or_else(|| self.named_type(&format!("class {held_name}")))
            .or_else(|| self.named_type(held_name))?;
        Some(if kind.ends_with("map") {
            (Held::Pair(ty), held_name)
        } else {
            (Held::Element(ty), held_name)
        })
    }

    /// Where a node type's `_M_storage` (the value) is, or `default`.
    fn storage_offset(&self, node: &str, default: u64) -> u64 {
        self.named_type(&format!("struct {node}"))
            .and_then(|node| path(&node, &["_M_storage"]).map(|(_, o)| o))
            .unwrap_or(default)
    }

    /// The children of a node-based container from its first node: at
    /// most gdb's 200 (a map's key and value are two), in at most
    /// [`TREE_STEPS`] steps through a tree.
    fn nodes(&self, head: String, links: Links, first: u64, count: u64, value_at: u64, held: &Held) -> Body {
        let link = |node: u64, which: u64| -> Result<u64, String> {
            let addr = node.wrapping_add(which);
            let bytes = self.scope.mem.read(addr, 8).ok_or_else(|| memory_error(addr))?;
            Ok(read_int(&bytes, 8, false) as u64)
        };
        let limit = match held {
            Held::Pair(_) => PRINT_MAX / 2,
            Held::Element(_) => PRINT_MAX,
        };
        let ends = |node: u64, shown: usize| match links {
            Links::Hash => node == 0,
            Links::Tree | Links::List => shown as u64 >= count,
        };
        let (mut node, mut children, mut steps, mut error) = (first, Vec::new(), 0, None);
        while !ends(node, children.len()) && children.len() < limit && self.take_element() {
            let addr = node.wrapping_add(value_at);
            let child = match held {
                Held::Pair(pair) => self.entry(pair, addr),
                Held::Element(elem) => self
                    .read(addr, elem.size)
                    .and_then(|b| self.child(elem, Some(addr), &b, 0).ok_or_else(|| memory_error(addr)))
                    .map(|v| Child::Indexed(children.len(), v)),
            };
            let next = child.and_then(|c| {
                children.push(c);
                match links {
                    Links::Hash | Links::List => link(node, 0),
                    Links::Tree if ends(node, children.len()) => Ok(node),
                    Links::Tree => tree_successor(&link, node, &mut steps),
                }
            });
            match next {
                Ok(n) => node = n,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let more = error.is_none() && !ends(node, children.len());
        children.extend(error.map(Child::Error));
        Body::Children { head, children, more }
    }

    /// A map's `std::pair` at `addr` as `[first] = second`.
    fn entry(&self, pair: &Type, addr: u64) -> Result<Child, String> {
        let bytes = self.read(addr, pair.size)?;
        let (first_ty, first_at) = path(pair, &["first"]).ok_or("no member first")?;
        let (second_ty, second_at) = path(pair, &["second"]).ok_or("no member second")?;
        let key = self.child(first_ty, Some(addr), &bytes, first_at);
        let value = self.child(second_ty, Some(addr), &bytes, second_at);
        match (key, value) {
            (Some(k), Some(v)) => Ok(Child::Entry(k, v)),
            _ => Err(memory_error(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{allocated, template_args};

    #[test]
    fn template_arguments_split_at_the_top_level() {
        assert_eq!(
            template_args("std::map<int, std::less<int>, std::allocator<std::pair<int const, int> > >"),
            vec!["int", "std::less<int>", "std::allocator<std::pair<int const, int> >"]
        );
        assert_eq!(
            template_args("std::unique_ptr<int, std::default_delete<int> >")[0],
            "int"
        );
        assert_eq!(
            template_args("std::optional<void (*)(int, int)>"),
            vec!["void (*)(int, int)"]
        );
        assert!(template_args("plain").is_empty());
        assert_eq!(
            allocated("std::unordered_map<int, int, std::hash<int>, std::equal_to<int>, std::allocator<std::pair<int const, int> > >"),
            Some("std::pair<int const, int>")
        );
    }
}
