//! Variables and expressions: finding a name in the scope of a frame,
//! computing where its value lives from the DWARF location description,
//! reading it, and printing it the way gdb does (`{x = 1, y = 2}`,
//! `(int *) 0x4010 <g>`, `"abc", '\000' <repeats 5 times>`).
//!
//! A [`Value`] owns its bytes and a description of its type, so it can be
//! printed and kept after the tracee moves on. What printing needs beyond the
//! bytes (the string a `char *` points to, the symbol a pointer points into)
//! is looked up when the value is made and kept with it as notes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use gimli::{AttributeValue, EvaluationResult, Reader as _, UnitOffset};

use super::dwarf::{self, Reader};
use super::expr::{self, BinOp, Expr, TypeName, UnOp};
use super::{DebugInfo, Frame, Memory};

#[path = "values_address.rs"]
mod address;
#[path = "values_convenience.rs"]
mod convenience;
#[path = "values_pretty.rs"]
mod pretty;
#[path = "values_print.rs"]
mod print;
#[path = "values_ptype.rs"]
mod ptype;
#[path = "values_return.rs"]
mod returned;
#[path = "values_types.rs"]
mod types;

pub use convenience::{fp_registers, FpRegister, RegisterClass};
use pretty::Pretty;
use print::*;
pub use returned::ReturnRegisters;
use types::*;

/// The general registers by DWARF register number (the SysV x86-64 ABI's).
const GPRS: [&str; 16] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
];

/// Where an expression is evaluated: a frame of the tracee.
pub struct Scope<'a> {
    /// The selected frame (pc, cfa, registers).
    pub frame: &'a Frame,
    pub mem: &'a dyn Memory,
    /// The thread pointer, for thread-local variables.
    pub fs_base: Option<u64>,
    /// Where shared libraries' thread-local storage is (the executable's
    /// own is found from `fs_base` alone).
    pub tls: Option<&'a dyn ThreadLocalStorage>,
}

/// Finds the thread-local storage block of a shared library, which takes
/// the dynamic loader's structures in the tracee (its `link_map` list, the
/// thread's DTV) that the debug info does not model.
pub trait ThreadLocalStorage {
    /// The address of the TLS block, in the thread being looked at, of the
    /// module loaded with load bias `bias`; an error says why there is none.
    fn block(&self, bias: u64) -> Result<u64, String>;
}

/// How `print` shows numbers: gdb's `/x`, `/d`, `/u`, `/o`, `/t`, `/c`, `/a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Natural,
    Hex,
    Decimal,
    Unsigned,
    Octal,
    Binary,
    Char,
    Address,
}

/// gdb's `print elements` and `print repeats` defaults.
const PRINT_MAX: usize = 200;
const REPEAT_THRESHOLD: usize = 10;
/// gdb's `max-value-size`: bigger values are refused rather than read.
const READ_MAX: u64 = 65536;
/// Type graphs deeper than this are taken to be broken DWARF.
const TYPE_DEPTH: u32 = 64;
/// Marks the note of a Rust slice or `&str` (what it points to), kept
/// apart from the note of its data pointer at the same offset.
const SLICE_NOTE: u64 = 1 << 63;
/// Marks the symbol an integer's value is the address of, for `print/a`.
const ADDRESS_NOTE: u64 = 1 << 62;
const NOTE_FLAGS: u64 = SLICE_NOTE | ADDRESS_NOTE;

/// Something printing needs beyond a value's bytes, kept with the value.
#[derive(Clone, Debug)]
enum Note {
    /// Printed after a pointer (`"hello"`, `<g_pt+4>`), or in place of a
    /// Rust slice.
    Text(String),
    /// A libstdc++ container, as gdb's pretty printer shows it.
    Pretty(Rc<Pretty>),
    /// The value of a C++ static member, by its qualified name, or what
    /// gdb prints in its place.
    Static(String, Result<Rc<Value>, String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    C,
    /// C++: types are named without `struct`, with their namespaces.
    Cpp,
    Rust,
}

/// A type DIE, so that a pointer's target can be read in full only when
/// the pointer is followed (types that point to themselves are common).
#[derive(Clone, Debug, PartialEq, Eq)]
struct TypeRef {
    module: usize,
    unit: usize,
    offset: usize,
}

#[derive(Clone, Debug)]
struct Type {
    /// gdb's name, split where a declarator goes: `int (*)[3]` is
    /// `int (*` + `)[3]`, so that a pointer to it can be named.
    left: String,
    right: String,
    size: u64,
    kind: Kind,
    lang: Lang,
}

#[derive(Clone, Debug)]
enum Kind {
    Void,
    Int {
        signed: bool,
        /// Printed with its character: `65 'A'`.
        char: bool,
        bool: bool,
    },
    Float,
    Pointer {
        /// The target with its members left out (see [`TypeRef`]).
        target: Box<Type>,
        full: Option<TypeRef>,
        /// A C++ reference (`T &`, `T &&`), read through wherever it is used.
        reference: bool,
    },
    Struct {
        /// `None` for a declaration without a definition.
        members: Option<Vec<Member>>,
    },
    /// A Rust enum with data: the variant is chosen by a discriminant.
    Variants(Box<Variants>),
    Array {
        elem: Box<Type>,
        count: u64,
    },
    Enum {
        signed: bool,
        values: Vec<(String, i64)>,
        flag: bool,
    },
    Function,
    /// A C++ pointer to a member of `class` (`int H::*`), or to a method
    /// (`void (H::*)(H * const)`, a function pointer and an adjustment).
    MemberPointer {
        method: bool,
        class: Option<TypeRef>,
    },
    /// A register of single-bit flags, printed `[ ZF IF ]`.
    Flags(Vec<(&'static str, u64)>),
    /// A variable of `info locals` that could not be read, and why.
    Error(String),
}

#[derive(Clone, Debug)]
struct Variants {
    /// Byte offset and size of the discriminant; `None` when there is one variant.
    discr: Option<(u64, u64)>,
    /// Each variant's discriminant value (`None` for the one that takes
    /// every other value) and its struct.
    arms: Vec<(Option<u64>, Member)>,
}

impl Variants {
    fn active(&self, bytes: &[u8]) -> Option<&Member> {
        let Some((offset, size)) = self.discr else {
            return self.arms.first().map(|(_, m)| m);
        };
        let raw = bytes.get(offset as usize..(offset + size) as usize)?;
        let value = read_int(raw, size, false) as u64;
        let mask = if size >= 8 { !0 } else { (1u64 << (size * 8)) - 1 };
        self.arms
            .iter()
            .find(|(d, _)| d.is_some_and(|d| d & mask == value))
            .or_else(|| self.arms.iter().find(|(d, _)| d.is_none()))
            .map(|(_, m)| m)
    }
}

#[derive(Clone, Debug)]
struct Member {
    /// `None` for an anonymous struct or union member.
    name: Option<String>,
    offset: u64,
    /// Bit offset (from the start of `offset`, little-endian) and width of a bit field.
    bits: Option<(u64, u64)>,
    ty: Type,
    /// A C++ base class (`DW_TAG_inheritance`): nameless, its members are
    /// the derived struct's, and gdb prints it as `<Base> = {...}`.
    base: bool,
    /// A C++ static data member, by its qualified name (`geo::Shape::count`):
    /// not in the struct's bytes but a variable of its own, which gdb
    /// prints among the members as `static count = 3`.
    statik: Option<String>,
    /// A C++ virtual base class, whose place in the object the object's
    /// vtable holds, this many bytes before the vtable's address point
    /// (DWARF's `DW_OP_dup; DW_OP_deref; DW_OP_lit24; DW_OP_minus;
    /// DW_OP_deref; DW_OP_plus`). `offset` is set from it when a value
    /// of the type is read ([`Evaluator::place_virtual_bases`]).
    virtual_base: Option<u64>,
}

impl Type {
    fn name(&self) -> String {
        join_declarator(&self.left, &self.right)
    }

    fn simple(name: &str, size: u64, kind: Kind) -> Type {
        Type {
            left: name.to_string(),
            right: String::new(),
            size,
            kind,
            lang: Lang::C,
        }
    }

    fn int(name: &str, size: u64, signed: bool) -> Type {
        Type::simple(
            name,
            size,
            Kind::Int {
                signed,
                char: false,
                bool: false,
            },
        )
    }

    fn pointer_to(target: Type, full: Option<TypeRef>) -> Type {
        let (left, right) = pointer_declarator(&target);
        Type {
            left,
            right,
            size: 8,
            lang: target.lang,
            kind: Kind::Pointer {
                target: Box::new(target),
                full,
                reference: false,
            },
        }
    }

    fn is_char(&self) -> bool {
        matches!(self.kind, Kind::Int { char: true, .. }) && self.size == 1
    }
}

fn join_declarator(left: &str, right: &str) -> String {
    if right.is_empty() || left.ends_with('*') || left.ends_with('(') || right.starts_with(')') {
        format!("{left}{right}")
    } else {
        format!("{left} {right}")
    }
}

fn pointer_declarator(target: &Type) -> (String, String) {
    if target.lang == Lang::Rust {
        return (format!("*mut {}", target.name()), String::new());
    }
    if !target.right.is_empty() && matches!(target.kind, Kind::Array { .. } | Kind::Function) {
        (format!("{} (*", target.left), format!("){}", target.right))
    } else if target.left.ends_with('*') {
        (format!("{}*", target.left), target.right.clone())
    } else {
        (format!("{} *", target.left), target.right.clone())
    }
}

/// A value read from the tracee (or computed), with its type.
#[derive(Clone, Debug)]
pub struct Value {
    ty: Type,
    /// Where it lives, if it is in memory.
    addr: Option<u64>,
    /// `None` when the compiler left no way to find it: `<optimized out>`.
    bytes: Option<Vec<u8>>,
    /// What pointers inside the value point to, by byte offset: a string
    /// (`"hello"`) or a symbol (`<g_pt+4>`); and what a library type's
    /// pretty printer makes of the part at an offset.
    notes: Vec<(u64, Note)>,
    /// `print` shows a pointer's type before it, `info locals` does not.
    bare: bool,
    /// Read through a C++ reference of this type (`shapes::Base &`): the
    /// value is the referenced object, shown after `(T &) @ADDR: `.
    reference: Option<String>,
}

impl Value {
    /// Where it lives in memory, if it is an lvalue.
    pub fn address(&self) -> Option<u64> {
        self.addr
    }

    pub fn byte_size(&self) -> u64 {
        self.ty.size
    }

    /// Whether it is a function (its address is where its code starts).
    pub fn is_function(&self) -> bool {
        matches!(self.ty.kind, Kind::Function)
    }

    /// The type as gdb's `whatis` names it: `int`, `struct point *`, `char [6]`.
    pub fn type_name(&self) -> String {
        self.ty.name()
    }

    /// The type as the program declared it: a C++ reference's own type
    /// (`shapes::Base &`) rather than its object's.
    pub fn declared_type_name(&self) -> String {
        self.reference.clone().unwrap_or_else(|| self.ty.name())
    }

    /// Integers, characters, booleans, enums and pointers.
    pub fn as_i64(&self) -> Option<i64> {
        let bytes = self.bytes.as_deref()?;
        match &self.ty.kind {
            Kind::Int { signed, .. } => Some(read_int(bytes, self.ty.size, *signed) as i64),
            Kind::Enum { signed, .. } => Some(read_int(bytes, self.ty.size, *signed) as i64),
            Kind::Pointer { .. } => Some(read_int(bytes, 8, false) as i64),
            _ => None,
        }
    }

    /// Floating-point numbers, and integers converted.
    pub fn as_f64(&self) -> Option<f64> {
        match self.ty.kind {
            Kind::Float => read_float(self.bytes.as_deref()?, self.ty.size),
            _ => Some(self.as_i64()? as f64),
        }
    }

    /// Whether a breakpoint condition holds: non-zero numbers and non-null
    /// pointers are true.
    pub fn is_true(&self) -> Option<bool> {
        match self.ty.kind {
            Kind::Float => Some(self.as_f64()? != 0.0),
            _ => Some(self.as_i64()? != 0),
        }
    }

    /// The elements of an array.
    pub fn elements(&self) -> Option<Vec<Value>> {
        let Kind::Array { elem, count } = &self.ty.kind else {
            return None;
        };
        let count = if elem.size == 0 { 0 } else { *count };
        Some((0..count).map_while(|i| self.part(elem, i * elem.size)).collect())
    }

    /// A part of this value (a member or an element) at a byte offset, or
    /// `None` past what was read.
    fn part(&self, ty: &Type, offset: u64) -> Option<Value> {
        let bytes = match &self.bytes {
            Some(b) => Some(b.get(offset as usize..offset.checked_add(ty.size)? as usize)?.to_vec()),
            None => None,
        };
        Some(Value {
            ty: ty.clone(),
            addr: self.addr.map(|a| a + offset),
            bytes,
            notes: self
                .notes
                .iter()
                .filter(|(o, _)| {
                    let at = o & !NOTE_FLAGS;
                    at >= offset && at < offset + ty.size
                })
                .map(|(o, n)| (((o & !NOTE_FLAGS) - offset) | (o & NOTE_FLAGS), n.clone()))
                .collect(),
            bare: false,
            reference: None,
        })
    }

    /// What a libstdc++ pretty printer makes of the whole value.
    fn pretty(&self) -> Option<&Pretty> {
        self.notes.iter().find_map(|(o, n)| match n {
            Note::Pretty(p) if *o == 0 && p.type_name == self.ty.name() => Some(&**p),
            _ => None,
        })
    }

    /// The value as `print/FMT` shows it (without gdb's `$1 = `).
    pub fn format(&self, f: Format) -> String {
        let Some(bytes) = &self.bytes else {
            if self.addr.is_some() {
                return match check_size(&self.ty) {
                    Err(e) => format!("<error: {e}>"),
                    Ok(()) => "<unavailable>".to_string(),
                };
            }
            return "<optimized out>".to_string();
        };
        let mut out = String::new();
        // gdb's libstdc++ printers print a reference as its object.
        let printed = self.pretty().is_some();
        if let (Some(name), Some(addr), false) = (&self.reference, self.addr, printed) {
            if !self.bare && f == Format::Natural {
                out.push_str(&format!("({name}) "));
            }
            out.push_str(&format!("@{addr:#x}: "));
        }
        let p = Printer { notes: &self.notes, f };
        match (&self.ty.kind, f) {
            (Kind::Pointer { target, .. }, Format::Natural)
                if !self.bare && (!target.is_char() || self.ty.lang == Lang::Rust) =>
            {
                out.push_str(&format!("({}) ", self.ty.name()));
                p.value(&mut out, &self.ty, bytes, 0);
            }
            (Kind::Int { .. }, Format::Address) => {
                p.value(&mut out, &self.ty, bytes, 0);
                if let Some(note) = p.note(ADDRESS_NOTE) {
                    out.push(' ');
                    out.push_str(note);
                }
            }
            (Kind::Function, _) => {
                out.push_str(&format!("{{{}}} {:#x}", self.ty.name(), self.addr.unwrap_or(0)));
                if let Some(note) = p.note(0) {
                    out.push(' ');
                    out.push_str(note);
                }
            }
            _ => p.value(&mut out, &self.ty, bytes, 0),
        }
        out
    }

    fn scalar(ty: Type, raw: u64) -> Value {
        let size = ty.size.min(8) as usize;
        Value {
            ty,
            addr: None,
            bytes: Some(raw.to_le_bytes()[..size].to_vec()),
            notes: Vec::new(),
            bare: false,
            reference: None,
        }
    }

    fn float(ty: Type, x: f64) -> Value {
        let bytes = if ty.size == 4 {
            (x as f32).to_le_bytes().to_vec()
        } else {
            x.to_le_bytes().to_vec()
        };
        Value::unplaced(ty, bytes)
    }

    /// A value that lives in no memory of the program (a register, a
    /// computed result), with nothing noted about what it points to.
    fn unplaced(ty: Type, bytes: Vec<u8>) -> Value {
        Value {
            ty,
            addr: None,
            bytes: Some(bytes),
            notes: Vec::new(),
            bare: false,
            reference: None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str(&self.format(Format::Natural))
    }
}

/// Where a location description says a value is.
enum Loc {
    Memory(u64),
    Register(u16),
    Bytes(Vec<u8>),
    OptimizedOut,
}

/// One variable's DIE.
#[derive(Clone, Copy)]
struct VarDie {
    unit: usize,
    offset: UnitOffset,
}

/// The variables visible at a frame's pc, found in its function's DIEs.
struct FrameScope<'a> {
    cx: Cx<'a>,
    unit: usize,
    link_pc: u64,
    /// The out-of-line function, whose `DW_AT_frame_base` `DW_OP_fbreg` uses.
    subprogram: UnitOffset,
    /// Locals by block, innermost block first.
    blocks: Vec<Vec<VarDie>>,
    params: Vec<VarDie>,
}

impl DebugInfo {
    /// The value of a C-like expression in a frame, as gdb's `print` would
    /// compute it.
    pub fn evaluate(&self, expr: &str, scope: &Scope) -> Result<Value, String> {
        self.evaluate_with_history(expr, scope, &[], &[])
    }

    /// [`DebugInfo::evaluate`], where `$historyN` names the N-th value of
    /// `history` (gdb's `$N`, which the REPL rewrites so), and `$NAME` the
    /// value `convenience` gives for NAME (`$_siginfo`), before registers.
    pub fn evaluate_with_history(
        &self,
        expr: &str,
        scope: &Scope,
        history: &[Value],
        convenience: &[(String, Value)],
    ) -> Result<Value, String> {
        let ev = Evaluator {
            di: self,
            scope,
            history,
            convenience,
            frame: self.frame_scope(scope.frame),
            entry_depth: 0,
        };
        let parsed = expr::parse(expr, &|name| ev.named_type(name).is_some())?;
        let v = ev.eval(&parsed)?;
        check_size(&v.ty)?;
        Ok(v)
    }

    /// The local variables of a frame, innermost block first, as gdb's
    /// `info locals` lists them. Their pointers print without their type
    /// (`p = 0x4010 <g>`), as there.
    pub fn locals(&self, scope: &Scope) -> Result<Vec<(String, Value)>, String> {
        let fs = self
            .frame_scope(scope.frame)
            .ok_or_else(|| "No symbol table info available.".to_string())?;
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: 0,
        };
        let mut out = Vec::new();
        for var in fs.blocks.iter().flatten() {
            if let Some(pair) = ev.named_variable(&fs, *var)? {
                out.push(pair);
            }
        }
        Ok(out)
    }

    /// The parameters of a frame's function, as gdb's `info args` lists
    /// them (pointers print without their type, as for [`DebugInfo::locals`]).
    pub fn args(&self, scope: &Scope) -> Result<Vec<(String, Value)>, String> {
        let fs = self
            .frame_scope(scope.frame)
            .ok_or_else(|| "No symbol table info available.".to_string())?;
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: 0,
        };
        let mut out = Vec::new();
        for var in &fs.params {
            if let Some(pair) = ev.named_variable(&fs, *var)? {
                out.push(pair);
            }
        }
        Ok(out)
    }

    /// `n=5, p=0x7ffe... "text"`: the arguments as gdb shows them in a
    /// frame line. Values that cannot be read say why in place.
    ///
    /// Like gdb (`print entry-values default`), a parameter whose value at
    /// the function's entry is known from the caller's call site also shows
    /// that: `n=n@entry=3` when it is the same as now, `n=4, n@entry=3`
    /// when it changed, `n@entry=3` when the current value is lost.
    pub fn frame_args_summary(&self, scope: &Scope) -> String {
        let Ok(args) = self.args(scope) else {
            return String::new();
        };
        let entries = self.entry_values(scope);
        let mut parts = Vec::new();
        for (i, (name, v)) in args.iter().enumerate() {
            let entry = entries.get(i).cloned().flatten();
            match (entry, &v.bytes) {
                (Some(e), Some(now)) if Some(now) == e.bytes.as_ref() => {
                    parts.push(format!("{name}={name}@entry={}", summary(v)))
                }
                (Some(e), Some(_)) => {
                    parts.push(format!("{name}={}", summary(v)));
                    parts.push(format!("{name}@entry={}", summary(&e)));
                }
                (Some(e), None) => parts.push(format!("{name}@entry={}", summary(&e))),
                (None, _) => parts.push(format!("{name}={}", summary(v))),
            }
        }
        parts.join(", ")
    }

    /// Each parameter's value at the entry of its function, where the
    /// caller's call site says what it passed (see [`Evaluator::entry_value`]):
    /// for a parameter whose location at the entry is a register (the
    /// function's `DW_OP_regN`, or its location list's entry there), as gdb
    /// finds them. Inlined calls have no call site, so none there.
    fn entry_values(&self, scope: &Scope) -> Vec<Option<Value>> {
        let Some(fs) = self.frame_scope(scope.frame).filter(|_| !scope.frame.inlined) else {
            return Vec::new();
        };
        let Some(entry_pc) = fs
            .cx
            .di
            .modules
            .get(fs.cx.module)
            .and_then(|ms| ms.dwarf(self))
            .and_then(|d| d.functions().outer_at(fs.link_pc))
            .map(|(f, _)| f.entry)
        else {
            return Vec::new();
        };
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: 0,
        };
        let entry_value = |var: &VarDie| -> Option<Value> {
            let die = fs.cx.entry(var.unit, var.offset).ok()?;
            let ty = fs.cx.type_of(var.unit, &die, false).ok()?;
            // gdb shows no entry value for a C++ reference: it would want
            // the referenced object at the entry too (`DW_AT_call_data_value`).
            if ty.size == 0 || ty.size > 8 || matches!(ty.kind, Kind::Pointer { reference: true, .. }) {
                return None;
            }
            let expr = match die.attr_value(gimli::DW_AT_location)? {
                AttributeValue::Exprloc(e) => e,
                list => {
                    let mut entries = fs.cx.dwarf.attr_locations(&fs.cx.units[var.unit], list).ok()??;
                    loop {
                        let entry = entries.next().ok()??;
                        if entry.range.begin <= entry_pc && entry_pc < entry.range.end {
                            break entry.data;
                        }
                    }
                }
            };
            let raw = ev.entry_value(expr)?;
            let bytes = raw.to_le_bytes()[..ty.size as usize].to_vec();
            Some(ev.annotate(Value {
                ty,
                addr: None,
                bytes: Some(bytes),
                notes: Vec::new(),
                bare: true,
                reference: None,
            }))
        };
        // In the order of `args`, which leaves out nameless parameters.
        fs.params
            .iter()
            .filter(|var| {
                fs.cx
                    .entry(var.unit, var.offset)
                    .is_ok_and(|die| fs.cx.inherited_name(var.unit, &die).is_some())
            })
            .map(entry_value)
            .collect()
    }

    fn frame_scope(&self, frame: &Frame) -> Option<FrameScope<'_>> {
        let pc = frame.lookup_pc;
        let module = self.modules.iter().position(|m| {
            m.image(self)
                .is_some_and(|image| image.contains(pc.wrapping_sub(m.module.bias)))
        })?;
        let cx = Cx::new(self, module)?;
        let ms = &self.modules[module];
        let link_pc = ms.to_link(pc);
        let index = ms.dwarf(self)?.functions();
        let (outer, _) = index.outer_at(link_pc)?;
        // An inlined call's frame sees the variables of its own function.
        let chain = index.chain_at(link_pc);
        let inner = &index.functions[*chain.get(frame.inline_depth).or(chain.last())?];
        let unit = inner.unit;
        let mut levels = Vec::new();
        let mut params = Vec::new();
        collect_scope(&cx, unit, inner.die, link_pc, &mut levels, &mut params, 0);
        levels.reverse();
        Some(FrameScope {
            cx,
            unit: outer.unit,
            link_pc,
            subprogram: outer.die,
            blocks: levels,
            params,
        })
    }
}

/// A value as a frame line shows an argument: like `info args`, but a
/// struct or array as `...` (gdb's `print frame-arguments scalars`).
fn summary(v: &Value) -> String {
    if let Some(p) = v.pretty() {
        return p.summary();
    }
    match &v.ty.kind {
        Kind::Struct { .. } | Kind::Array { .. } | Kind::Variants(_) if v.bytes.is_some() => "...".to_string(),
        _ => v.to_string(),
    }
}

/// Walks a function's DIEs: its parameters, and its variables level by
/// level into the lexical blocks that contain `link_pc`.
fn collect_scope(
    cx: &Cx,
    unit: usize,
    offset: UnitOffset,
    link_pc: u64,
    levels: &mut Vec<Vec<VarDie>>,
    params: &mut Vec<VarDie>,
    depth: u32,
) {
    if depth > 64 {
        return;
    }
    let u = &cx.units[unit];
    let Ok(mut tree) = u.entries_tree(Some(offset)) else {
        return;
    };
    let Ok(root) = tree.root() else {
        return;
    };
    let mut vars = Vec::new();
    let mut inner_block = None;
    let mut children = root.children();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_variable => vars.push(VarDie {
                unit,
                offset: e.offset(),
            }),
            gimli::DW_TAG_formal_parameter if depth == 0 => params.push(VarDie {
                unit,
                offset: e.offset(),
            }),
            gimli::DW_TAG_lexical_block if inner_block.is_none() => {
                let contains = cx.dwarf.die_ranges(u, e).is_ok_and(|mut ranges| {
                    let mut found = false;
                    while let Ok(Some(r)) = ranges.next() {
                        found |= r.begin <= link_pc && link_pc < r.end;
                    }
                    found
                });
                // A block without addresses is code the compiler removed:
                // its variables are in scope nowhere.
                if contains {
                    inner_block = Some(e.offset());
                }
            }
            _ => {}
        }
    }
    levels.push(vars);
    if let Some(block) = inner_block {
        collect_scope(cx, unit, block, link_pc, levels, params, depth + 1);
    }
}

struct Evaluator<'a> {
    di: &'a DebugInfo,
    scope: &'a Scope<'a>,
    /// gdb's value history, for `$N` that is not a number (`p $1.x`).
    history: &'a [Value],
    /// Convenience variables by name, without the `$`.
    convenience: &'a [(String, Value)],
    frame: Option<FrameScope<'a>>,
    /// How many callers out entry values are being looked up.
    entry_depth: u32,
}

fn dwarf_error(e: gimli::Error) -> String {
    format!("cannot evaluate a DWARF expression: {e}")
}

fn memory_error(addr: u64) -> String {
    format!("Cannot access memory at address {addr:#x}")
}

impl<'a> Evaluator<'a> {
    fn read(&self, addr: u64, len: u64) -> Result<Vec<u8>, String> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > READ_MAX {
            return Err(format!("value requires {len} bytes, which is more than max-value-size"));
        }
        self.scope
            .mem
            .read(addr, len as usize)
            .ok_or_else(|| memory_error(addr))
    }

    /// A variable DIE with its name, or `None` for one without a name.
    fn named_variable(&self, fs: &FrameScope, var: VarDie) -> Result<Option<(String, Value)>, String> {
        let die = fs.cx.entry(var.unit, var.offset)?;
        let Some(name) = fs.cx.inherited_name(var.unit, &die) else {
            return Ok(None);
        };
        // One unreadable variable does not hide the others, as in gdb.
        let mut v = self
            .variable(&fs.cx, var.unit, &die, Some(fs))
            .and_then(|v| {
                check_size(&v.ty)?;
                Ok(v)
            })
            .unwrap_or_else(|e| Value {
                ty: Type::simple(
                    "<error>",
                    0,
                    Kind::Error(format!("<error reading variable {name} ({e})>")),
                ),
                addr: None,
                bytes: Some(Vec::new()),
                notes: Vec::new(),
                bare: false,
                reference: None,
            });
        v.bare = true;
        Ok(Some((name, v)))
    }

    /// Reads a variable given its DIE.
    fn variable(&self, cx: &Cx, unit: usize, die: &Die, fs: Option<&FrameScope>) -> Result<Value, String> {
        let ty = cx.type_of(unit, die, false)?;
        if let Some(value) = die.attr_value(gimli::DW_AT_const_value) {
            check_size(&ty)?;
            let bytes = match value {
                AttributeValue::Block(b) => b.to_slice().map_err(dwarf_error)?.into_owned(),
                AttributeValue::Sdata(v) => v.to_le_bytes().to_vec(),
                v => v.udata_value().unwrap_or(0).to_le_bytes().to_vec(),
            };
            let mut bytes = bytes;
            bytes.resize(ty.size as usize, 0);
            return Ok(self.annotate(Value {
                ty,
                addr: None,
                bytes: Some(bytes),
                notes: Vec::new(),
                bare: false,
                reference: None,
            }));
        }
        let loc = match die.attr_value(gimli::DW_AT_location) {
            None => Loc::OptimizedOut,
            Some(AttributeValue::Exprloc(e)) => self.location(cx, unit, e, fs)?,
            Some(v) => {
                let link_pc = fs.map(|f| f.link_pc);
                let mut found = None;
                if let (Some(link_pc), Ok(Some(mut list))) = (link_pc, cx.dwarf.attr_locations(&cx.units[unit], v)) {
                    while let Ok(Some(entry)) = list.next() {
                        if entry.range.begin <= link_pc && link_pc < entry.range.end {
                            found = Some(entry.data);
                            break;
                        }
                    }
                }
                match found {
                    Some(e) => self.location(cx, unit, e, fs)?,
                    None => Loc::OptimizedOut,
                }
            }
        };
        let v = self.value_at(ty, loc)?;
        self.through_reference(v)
    }

    /// A C++ reference's object, remembering the reference's type; any
    /// other value as it is.
    fn through_reference(&self, v: Value) -> Result<Value, String> {
        if !matches!(v.ty.kind, Kind::Pointer { reference: true, .. }) || v.bytes.is_none() {
            return Ok(v);
        }
        let name = v.ty.name();
        let mut object = self.deref(v)?;
        object.reference = Some(name);
        Ok(object)
    }

    fn value_at(&self, ty: Type, loc: Loc) -> Result<Value, String> {
        if let (Loc::Memory(addr), Err(_)) = (&loc, check_size(&ty)) {
            // Too big to read whole, but its parts can be: `big[3]`.
            return Ok(Value {
                ty,
                addr: Some(*addr),
                bytes: None,
                notes: Vec::new(),
                bare: false,
                reference: None,
            });
        }
        check_size(&ty)?;
        let v = match loc {
            Loc::Memory(addr) => {
                let bytes = self.read(addr, ty.size)?;
                Value {
                    ty,
                    addr: Some(addr),
                    bytes: Some(bytes),
                    notes: Vec::new(),
                    bare: false,
                    reference: None,
                }
            }
            Loc::Register(reg) => {
                let bytes = match self.scope.frame.register(reg) {
                    Some(v) if ty.size <= 8 => Some(v.to_le_bytes()[..ty.size as usize].to_vec()),
                    _ => None,
                };
                Value {
                    ty,
                    addr: None,
                    bytes,
                    notes: Vec::new(),
                    bare: false,
                    reference: None,
                }
            }
            Loc::Bytes(mut bytes) => {
                bytes.resize(ty.size as usize, 0);
                Value {
                    ty,
                    addr: None,
                    bytes: Some(bytes),
                    notes: Vec::new(),
                    bare: false,
                    reference: None,
                }
            }
            Loc::OptimizedOut => Value {
                ty,
                addr: None,
                bytes: None,
                notes: Vec::new(),
                bare: false,
                reference: None,
            },
        };
        Ok(self.annotate(v))
    }

    /// Runs a location expression.
    fn location(
        &self,
        cx: &Cx,
        unit: usize,
        expr: gimli::Expression<Reader>,
        fs: Option<&FrameScope>,
    ) -> Result<Loc, String> {
        let u = &cx.units[unit];
        let frame = self.scope.frame;
        let mut eval = expr.evaluation(u.encoding());
        let mut result = eval.evaluate().map_err(dwarf_error)?;
        loop {
            result = match result {
                EvaluationResult::Complete => break,
                EvaluationResult::RequiresMemory { address, size, .. } => {
                    let bytes = self.read(address, size as u64)?;
                    let v = read_int(&bytes, size as u64, false) as u64;
                    eval.resume_with_memory(gimli::Value::Generic(v))
                }
                EvaluationResult::RequiresRegister { register, .. } => match frame.register(register.0) {
                    Some(v) => eval.resume_with_register(gimli::Value::Generic(v)),
                    None => return Ok(Loc::OptimizedOut),
                },
                EvaluationResult::RequiresFrameBase => {
                    let Some(base) = fs.and_then(|fs| self.frame_base(fs)) else {
                        return Ok(Loc::OptimizedOut);
                    };
                    eval.resume_with_frame_base(base)
                }
                EvaluationResult::RequiresCallFrameCfa => eval.resume_with_call_frame_cfa(frame.cfa),
                EvaluationResult::RequiresTls(offset) => {
                    let addr = self.tls_address(cx, offset)?;
                    eval.resume_with_tls(addr)
                }
                EvaluationResult::RequiresRelocatedAddress(a) => {
                    eval.resume_with_relocated_address(a.wrapping_add(cx.bias))
                }
                EvaluationResult::RequiresIndexedAddress { index, relocate } => {
                    let a = cx.dwarf.address(u, index).map_err(dwarf_error)?;
                    eval.resume_with_indexed_address(if relocate { a.wrapping_add(cx.bias) } else { a })
                }
                EvaluationResult::RequiresBaseType(offset) => {
                    let die = cx.entry(unit, offset)?;
                    let vt = gimli::ValueType::from_entry(&die)
                        .map_err(dwarf_error)?
                        .unwrap_or(gimli::ValueType::Generic);
                    eval.resume_with_base_type(vt)
                }
                EvaluationResult::RequiresEntryValue(entry) => match self.entry_value(entry) {
                    Some(v) => eval.resume_with_entry_value(gimli::Value::Generic(v)),
                    None => return Ok(Loc::OptimizedOut),
                },
                _ => return Ok(Loc::OptimizedOut),
            }
            .map_err(dwarf_error)?;
        }
        let pieces = eval.result();
        if pieces.len() == 1 && pieces[0].size_in_bits.is_none() {
            return Ok(match &pieces[0].location {
                gimli::Location::Address { address } => Loc::Memory(*address),
                gimli::Location::Register { register } => Loc::Register(register.0),
                gimli::Location::Value { value } => Loc::Bytes(gimli_value_bytes(*value)),
                gimli::Location::Bytes { value } => Loc::Bytes(value.to_slice().map_err(dwarf_error)?.into_owned()),
                _ => Loc::OptimizedOut,
            });
        }
        // A value in pieces (registers, memory, constants) is put together
        // here; it no longer has one address.
        let mut bytes = Vec::new();
        for piece in &pieces {
            let len = piece.size_in_bits.map_or(8, |b| b.div_ceil(8)) as usize;
            let part = match &piece.location {
                gimli::Location::Address { address } => self.read(*address, len as u64)?,
                gimli::Location::Register { register } => match frame.register(register.0) {
                    Some(v) => v.to_le_bytes().to_vec(),
                    None => return Ok(Loc::OptimizedOut),
                },
                gimli::Location::Value { value } => gimli_value_bytes(*value),
                gimli::Location::Bytes { value } => value.to_slice().map_err(dwarf_error)?.into_owned(),
                _ => return Ok(Loc::OptimizedOut),
            };
            let mut part = part;
            part.resize(len, 0);
            bytes.extend_from_slice(&part);
        }
        Ok(Loc::Bytes(bytes))
    }

    /// The value a register had when the frame's function was entered
    /// (`DW_OP_entry_value`), from what the caller's call site says it
    /// passed there (`DW_AT_call_value`), as gdb finds it.
    fn entry_value(&self, entry: gimli::Expression<Reader>) -> Option<u64> {
        if self.entry_depth >= 4 {
            return None;
        }
        let mut r = entry.0.clone();
        let op = r.read_u8().ok()?;
        let reg = match op {
            0x50..=0x6f => (op - 0x50) as u16,
            0x90 => r.read_uleb128().ok()? as u16,
            _ => return None,
        };
        if !r.is_empty() {
            return None;
        }
        // The machine frame's caller: past the inlined calls of this one.
        // Enough for the machine frame's inlined calls and its caller.
        let frames = self.di.backtrace(&self.scope.frame.regs, self.scope.mem, 16);
        let own = frames.iter().position(|f| !f.inlined)?;
        // As gdb reads the caller's registers: those the call may have
        // changed are taken as they are in the callee.
        let caller = &frames.get(own + 1)?.with_same_values(&frames[own].regs);
        let module = self.di.modules.iter().position(|m| {
            m.image(self.di)
                .is_some_and(|image| image.contains(caller.lookup_pc.wrapping_sub(m.module.bias)))
        })?;
        let cx = Cx::new(self.di, module)?;
        let index = self.di.modules[module].dwarf(self.di)?.functions();
        let (function, _) = index.outer_at(caller.lookup_pc.wrapping_sub(cx.bias))?;
        let return_pc = caller.pc.wrapping_sub(cx.bias);
        let unit = function.unit;
        let mut tree = cx.units[unit].entries_tree(Some(function.die)).ok()?;
        let value = find_call_value(&cx, unit, tree.root().ok()?, return_pc, op, reg, 0)?;
        let scope = Scope {
            frame: caller,
            mem: self.scope.mem,
            fs_base: self.scope.fs_base,
            tls: self.scope.tls,
        };
        let ev = Evaluator {
            di: self.di,
            scope: &scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: self.entry_depth + 1,
        };
        let caller_scope = self.di.frame_scope(caller);
        match ev.location(&cx, unit, value, caller_scope.as_ref()).ok()? {
            // A value computed on the stack without `DW_OP_stack_value`
            // comes back as an address; that number is the value.
            Loc::Memory(v) => Some(v),
            Loc::Register(r) => caller.register(r),
            Loc::Bytes(b) => Some(read_int(&b, 8, false) as u64),
            Loc::OptimizedOut => None,
        }
    }

    fn frame_base(&self, fs: &FrameScope) -> Option<u64> {
        let die = fs.cx.entry(fs.unit, fs.subprogram).ok()?;
        let Some(AttributeValue::Exprloc(e)) = die.attr_value(gimli::DW_AT_frame_base) else {
            return None;
        };
        match self.location(&fs.cx, fs.unit, e, None).ok()? {
            Loc::Memory(a) => Some(a),
            Loc::Register(r) => self.scope.frame.register(r),
            Loc::Bytes(b) => Some(read_int(&b, 8, false) as u64),
            Loc::OptimizedOut => None,
        }
    }

    /// The address of a thread-local variable: x86-64 puts the executable's
    /// TLS block right below the thread pointer.
    fn tls_address(&self, cx: &Cx, offset: u64) -> Result<u64, String> {
        let no_tls = || "Cannot access thread-local variables in this context.".to_string();
        let fs_base = self.scope.fs_base.ok_or_else(no_tls)?;
        let ms = &self.di.modules[cx.module];
        if cx.module != 0 {
            let tls = self.scope.tls.ok_or_else(no_tls)?;
            return Ok(tls.block(ms.module.bias)?.wrapping_add(offset));
        }
        let image = ms.image(self.di).ok_or_else(no_tls)?;
        let (size, align) = tls_segment(image).ok_or_else(no_tls)?;
        let block = size.div_ceil(align.max(1)) * align.max(1);
        Ok(fs_base.wrapping_sub(block).wrapping_add(offset))
    }

    /// Adds to a value what its pointers point to.
    fn annotate(&self, mut v: Value) -> Value {
        if let Some(bytes) = v.bytes.take() {
            self.place_virtual_bases(&mut v.ty, &bytes, 0, 0);
            v.bytes = Some(bytes);
        }
        let mut notes = Vec::new();
        if let Some(bytes) = &v.bytes {
            let mut budget = PRINT_MAX * 4;
            self.notes_for(&v.ty, bytes, 0, &mut notes, &mut budget);
        }
        if matches!(v.ty.kind, Kind::Function) {
            if let Some(sym) = v.addr.and_then(|a| self.symbol_note(a)) {
                notes.push((0, Note::Text(sym)));
            }
        }
        if let Some(addr) = v.addr {
            flexible_notes(&v.ty, addr, 0, &mut notes, 0);
        }
        if let (Kind::Int { bool: false, .. }, Some(bytes)) = (&v.ty.kind, &v.bytes) {
            let n = read_int(bytes, v.ty.size, false) as u64;
            if let Some(sym) = self.symbol_note(n).filter(|_| n != 0) {
                notes.push((ADDRESS_NOTE, Note::Text(sym)));
            }
        }
        v.notes = notes;
        v
    }

    fn notes_for(&self, ty: &Type, bytes: &[u8], offset: u64, notes: &mut Vec<(u64, Note)>, budget: &mut usize) {
        if *budget == 0 {
            return;
        }
        match &ty.kind {
            Kind::Pointer { target, .. } => {
                *budget -= 1;
                let Some(raw) = bytes.get(offset as usize..offset as usize + 8) else {
                    return;
                };
                let p = read_int(raw, 8, false) as u64;
                if p == 0 {
                    return;
                }
                let note = if target.is_char() && ty.lang != Lang::Rust {
                    Some(self.c_string(p))
                } else {
                    self.symbol_note(p)
                };
                if let Some(n) = note {
                    notes.push((offset, Note::Text(n)));
                }
            }
            Kind::Struct { members: Some(members) } if ty.lang == Lang::Rust && is_slice(&ty.name()) => {
                *budget -= 1;
                if let Some(note) = self.slice_note(ty, members, bytes, offset, budget) {
                    notes.push((offset | SLICE_NOTE, Note::Text(note)));
                }
            }
            Kind::Struct { members: Some(members) } => {
                if ty.lang == Lang::Cpp {
                    if let Some(p) = self.pretty(ty, bytes, offset, budget) {
                        notes.push((offset, Note::Pretty(Rc::new(p))));
                        return;
                    }
                }
                for m in members {
                    if let Some(name) = &m.statik {
                        self.static_note(name, &m.ty, notes);
                    } else if m.bits.is_none() {
                        self.notes_for(&m.ty, bytes, offset + m.offset, notes, budget);
                    }
                }
            }
            Kind::Variants(variants) => {
                if let Some(arm) = variants.active(bytes.get(offset as usize..).unwrap_or(&[])) {
                    self.notes_for(&arm.ty, bytes, offset + arm.offset, notes, budget);
                }
            }
            Kind::MemberPointer { method, class } => {
                *budget -= 1;
                let Some(raw) = bytes.get(offset as usize..offset as usize + 8) else {
                    return;
                };
                let v = read_int(raw, 8, true) as i64;
                if let Some(note) = class.as_ref().and_then(|c| self.member_pointer_note(c, *method, v)) {
                    notes.push((offset, Note::Text(note)));
                }
            }
            Kind::Array { elem, count } if elem.size > 0 && contains_pointer(elem, 0) => {
                for i in 0..(*count).min(PRINT_MAX as u64) {
                    self.notes_for(elem, bytes, offset + i * elem.size, notes, budget);
                }
            }
            _ => {}
        }
    }

    /// Sets the offset of each virtual base class in a C++ value of type
    /// `ty` (at `offset` in `bytes`) from the vtable of the object that
    /// holds it, as gdb finds it.
    fn place_virtual_bases(&self, ty: &mut Type, bytes: &[u8], offset: u64, depth: u32) {
        if ty.lang != Lang::Cpp || depth > 8 {
            return;
        }
        let Kind::Struct { members: Some(members) } = &mut ty.kind else {
            return;
        };
        for m in members.iter_mut() {
            if let Some(n) = m.virtual_base {
                let vptr = bytes
                    .get(offset as usize..)
                    .and_then(|b| b.get(..8))
                    .map(|b| read_int(b, 8, false) as u64);
                let place = vptr
                    .and_then(|p| self.read(p.wrapping_sub(n), 8).ok())
                    .map(|b| read_int(&b, 8, true) as i64);
                if let Some(place) = place {
                    m.offset = place as u64;
                }
            }
            if m.statik.is_none() && m.bits.is_none() {
                self.place_virtual_bases(&mut m.ty, bytes, offset.wrapping_add(m.offset), depth + 1);
            }
        }
    }

    /// What a pointer to a member of `class` holding `v` points to, as gdb
    /// shows it: `&H::b` (the member at that offset), `&virtual H::v()`
    /// (the method in that vtable slot), `<H::go(int) const>` (the
    /// function at that address).
    fn member_pointer_note(&self, class: &TypeRef, method: bool, v: i64) -> Option<String> {
        let cx = Cx::new(self.di, class.module)?;
        let ty = cx.full_type(class).ok()?;
        let name = ty.name();
        if !method {
            let Kind::Struct { members: Some(members) } = &ty.kind else {
                return None;
            };
            let m = members
                .iter()
                .find(|m| m.statik.is_none() && !m.base && m.name.is_some() && m.offset == v as u64)?;
            return Some(format!("&{name}::{}", m.name.as_deref().unwrap_or("")));
        }
        if v & 1 == 0 {
            return self.symbol_note(v as u64);
        }
        // A virtual method: its slot in the vtable, from the class's DWARF.
        let slot = (v as u64 - 1) / 8;
        let mut tree = cx.units[class.unit].entries_tree(Some(UnitOffset(class.offset))).ok()?;
        let root = tree.root().ok()?;
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let Some(AttributeValue::Exprloc(expr)) = e.attr_value(gimli::DW_AT_vtable_elem_location) else {
                continue;
            };
            let mut r = expr.0.clone();
            if r.read_u8().ok()? != gimli::DW_OP_constu.0 || r.read_uleb128().ok()? != slot {
                continue;
            }
            let method_name = cx.name(class.unit, e)?;
            let (mut params, mut this_const) = (Vec::new(), false);
            let mut inner = child.children();
            while let Ok(Some(p)) = inner.next() {
                let p = p.entry();
                if p.tag() != gimli::DW_TAG_formal_parameter {
                    continue;
                }
                let ty = cx.type_of(class.unit, p, true).ok()?;
                if matches!(p.attr_value(gimli::DW_AT_artificial), Some(AttributeValue::Flag(true))) {
                    if let Kind::Pointer { target, .. } = &ty.kind {
                        this_const = target.left.starts_with("const ");
                    }
                } else {
                    params.push(ty.name());
                }
            }
            let constness = if this_const { " const" } else { "" };
            return Some(format!(
                "&virtual {name}::{method_name}({}){constness}",
                params.join(", ")
            ));
        }
        None
    }

    /// The value of the C++ static member `name` (of type `ty`), kept once
    /// per value. A static member of a struct type already being read
    /// higher up (a class with a static instance of itself) is not read
    /// again: gdb prints a note in its place.
    fn static_note(&self, name: &str, ty: &Type, notes: &mut Vec<(u64, Note)>) {
        thread_local! {
            /// The struct types of the static members being read.
            static READING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        }
        if notes.iter().any(|(_, n)| matches!(n, Note::Static(s, _) if s == name)) {
            return;
        }
        let is_struct = matches!(ty.kind, Kind::Struct { .. });
        let type_name = ty.name();
        if is_struct && READING.with(|r| r.borrow().contains(&type_name)) {
            let seen = "<same as static member of an already seen type>".to_string();
            notes.push((0, Note::Static(name.to_string(), Err(seen))));
            return;
        }
        if is_struct {
            READING.with(|r| r.borrow_mut().push(type_name));
        }
        let value = self
            .lookup(name)
            .map(|mut v| {
                v.bare = true;
                Rc::new(v)
            })
            .map_err(|_| "<optimized out>".to_string());
        if is_struct {
            READING.with(|r| r.borrow_mut().pop());
        }
        notes.push((0, Note::Static(name.to_string(), value)));
    }

    /// What a Rust slice or `&str` points to, as gdb shows it: `[1, 2]`, `"hi"`.
    fn slice_note(
        &self,
        ty: &Type,
        members: &[Member],
        bytes: &[u8],
        offset: u64,
        budget: &mut usize,
    ) -> Option<String> {
        let field = |name: &str| members.iter().find(|m| m.name.as_deref() == Some(name));
        let (data, length) = (field("data_ptr")?, field("length")?);
        let at = |m: &Member| {
            let start = (offset + m.offset) as usize;
            bytes.get(start..start + 8).map(|b| read_int(b, 8, false) as u64)
        };
        let (addr, len) = (at(data)?, at(length)?);
        if ty.name().ends_with("str") {
            let shown = len.min(PRINT_MAX as u64);
            return Some(match self.scope.mem.read(addr, shown as usize) {
                Some(chars) => format_string(&chars, len > shown),
                None if len == 0 => "\"\"".to_string(),
                None => format!("<error: {}>", memory_error(addr)),
            });
        }
        let Kind::Pointer { full: Some(r), .. } = &data.ty.kind else {
            return None;
        };
        let elem = Cx::new(self.di, r.module)?.full_type(r).ok()?;
        let shown = len.min(PRINT_MAX as u64);
        let array = Type {
            left: format!("[{}; {len}]", elem.name()),
            right: String::new(),
            size: elem.size.saturating_mul(shown),
            lang: Lang::Rust,
            kind: Kind::Array {
                elem: Box::new(elem),
                count: len,
            },
        };
        let Some(content) = self.scope.mem.read(addr, array.size.min(READ_MAX) as usize) else {
            return Some(format!("<error: {}>", memory_error(addr)));
        };
        let mut notes = Vec::new();
        self.notes_for(&array, &content, 0, &mut notes, budget);
        let value = Value {
            ty: array,
            addr: Some(addr),
            bytes: Some(content),
            notes,
            bare: false,
            reference: None,
        };
        Some(value.to_string())
    }

    /// `"hello"` for the string at `addr`, up to 200 characters.
    fn c_string(&self, addr: u64) -> String {
        let mut chars = Vec::new();
        let mut at = addr;
        while chars.len() < PRINT_MAX {
            // Read in small pieces so that a string at the end of a mapping
            // is not lost by reading past it.
            let chunk = 64 - (at % 64);
            let bytes = match self.scope.mem.read(at, chunk as usize) {
                Some(b) => b,
                None if chars.is_empty() => return format!("<error: {}>", memory_error(addr)),
                None => break,
            };
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                chars.extend_from_slice(&bytes[..nul]);
                return format_string(&chars, false);
            }
            chars.extend_from_slice(&bytes);
            at += chunk;
        }
        let truncated = chars.len() >= PRINT_MAX;
        chars.truncate(PRINT_MAX);
        format_string(&chars, truncated)
    }

    /// `<g_pt+4>` for an address inside a symbol.
    fn symbol_note(&self, addr: u64) -> Option<String> {
        let ms = self.di.module_at(addr)?;
        let link = ms.to_link(addr);
        let table = ms.symbols(self.di);
        let s = table.object_at(link).or_else(|| table.function_at(link))?;
        Some(match link - s.addr {
            0 => format!("<{}>", s.name),
            off => format!("<{}+{off}>", s.name),
        })
    }

    // ----- Expressions -----

    fn eval(&self, e: &Expr) -> Result<Value, String> {
        match e {
            Expr::Int { value, unsigned, long } => {
                let ty = if *long || *value > i32::MAX as u64 && !*unsigned || *value > u32::MAX as u64 {
                    if *unsigned || *value > i64::MAX as u64 {
                        Type::int("unsigned long", 8, false)
                    } else {
                        Type::int("long", 8, true)
                    }
                } else if *unsigned {
                    Type::int("unsigned int", 4, false)
                } else {
                    Type::int("int", 4, true)
                };
                Ok(Value::scalar(ty, *value))
            }
            Expr::Float(x, false) => Ok(Value::float(Type::simple("double", 8, Kind::Float), *x)),
            Expr::Float(x, true) => Ok(Value::float(Type::simple("float", 4, Kind::Float), *x)),
            Expr::Char(c) => Ok(Value::scalar(char_type(), *c as u64)),
            Expr::Ident(name) => self.lookup(name),
            Expr::Unary(op, operand) => self.unary(*op, operand),
            Expr::Binary(op, l, r) => {
                let l = self.eval(l)?;
                // `&&` and `||` do not evaluate what they do not need.
                if matches!(op, BinOp::And | BinOp::Or) {
                    let lt = truth(&l)?;
                    if (*op == BinOp::And && !lt) || (*op == BinOp::Or && lt) {
                        return Ok(self.truth_value(lt));
                    }
                    let rt = truth(&self.eval(r)?)?;
                    return Ok(self.truth_value(rt));
                }
                let r = self.eval(r)?;
                if *op == BinOp::At {
                    return self.repeat(l, r);
                }
                self.binary(*op, l, r)
            }
            Expr::Field(base, name) | Expr::Arrow(base, name) => {
                let mut v = self.eval(base)?;
                if let (Expr::Arrow(..), Some(p)) = (e, self.smart_pointer(&v)) {
                    v = p;
                }
                if let Kind::Pointer { target, .. } = &v.ty.kind {
                    if !matches!(target.kind, Kind::Struct { .. }) {
                        return Err(
                            "Attempt to extract a component of a value that is not a structure pointer.".to_string(),
                        );
                    }
                    // Read only the member, as gdb does: `p->y` with a bad `p`
                    // reports the member's address.
                    if let Some((ty, addr)) = self.member_through(&v, name)? {
                        return self.value_at(ty, Loc::Memory(addr));
                    }
                    v = self.deref(v)?;
                } else if matches!(e, Expr::Arrow(..)) && !matches!(v.ty.kind, Kind::Struct { .. }) {
                    return Err(format!(
                        "The -> operator must be applied to a pointer, not {}.",
                        v.type_name()
                    ));
                }
                self.field(&v, name)
            }
            Expr::Index(base, index) => {
                let b = self.eval(base)?;
                let i = self.eval(index)?;
                let i = integer(&i).ok_or("Argument to arithmetic operation not a number or boolean.")?;
                match &b.ty.kind {
                    Kind::Array { elem, .. } => {
                        let elem = (**elem).clone();
                        let offset = (i as u64).wrapping_mul(elem.size);
                        match b.addr {
                            Some(addr) => {
                                let loc = Loc::Memory(addr.wrapping_add(offset));
                                self.value_at(elem, loc)
                            }
                            None => b
                                .part(&elem, offset)
                                .ok_or_else(|| format!("no such vector element: {i}")),
                        }
                    }
                    Kind::Pointer { .. } => {
                        let p = self.pointer_add(b, i)?;
                        self.deref(p)
                    }
                    // `v[i]` of a `std::vector`, as gdb's libstdc++ xmethod
                    // reads it: the i-th element from `_M_start` (gdb without
                    // it would call `operator[]` in the program, which a
                    // recording cannot).
                    Kind::Struct { .. } if b.ty.lang == Lang::Cpp && b.type_name().starts_with("std::vector<") => {
                        let start = self.field(&self.field(&b, "_M_impl")?, "_M_start")?;
                        let p = self.pointer_add(start, i)?;
                        self.deref(p)
                    }
                    Kind::Struct { .. } if b.ty.lang == Lang::Rust && is_slice(&b.type_name()) => {
                        let len = self.field(&b, "length")?.as_i64().unwrap_or(0) as i128;
                        if i < 0 || i >= len {
                            return Err(format!("Index {i} is out of range for a slice of length {len}."));
                        }
                        let data = self.field(&b, "data_ptr")?;
                        let p = self.pointer_add(data, i)?;
                        self.deref(p)
                    }
                    _ => Err(format!("cannot subscript something of type `{}'", b.type_name())),
                }
            }
            Expr::Cast(ty, operand) => {
                let v = self.eval(operand)?;
                let ty = self.cast_type(ty)?;
                self.cast(v, ty)
            }
            Expr::SizeOfType(ty) => {
                let size = self.cast_type(ty)?.size;
                Ok(Value::scalar(Type::int("int", 4, true), size))
            }
            Expr::SizeOfValue(e) => {
                let size = self.eval(e)?.ty.size;
                Ok(Value::scalar(Type::int("int", 4, true), size))
            }
        }
    }

    /// The result of a comparison or logical operator: an `int` in C, a
    /// `bool` in Rust.
    fn truth_value(&self, x: bool) -> Value {
        // Rust's and C++'s comparisons are `bool`s, C's are `int`s.
        let lang = self.frame.as_ref().map(|f| f.cx.lang(f.unit));
        if let Some(lang @ (Lang::Rust | Lang::Cpp)) = lang {
            let ty = Type {
                lang,
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
            Value::scalar(ty, x as u64)
        } else {
            Value::scalar(Type::int("int", 4, true), x as u64)
        }
    }

    /// `$rip`, `$sp`, `$eax`, `$eflags`: the frame's registers, typed as gdb
    /// types them. Other `$` names are gdb's unset convenience variables.
    fn register(&self, name: &str) -> Value {
        let frame = self.scope.frame;
        let value = |ty: Type, reg: Option<u64>| match reg {
            Some(r) => Value {
                bytes: Some(r.to_le_bytes()[..ty.size as usize].to_vec()),
                ty,
                addr: None,
                notes: Vec::new(),
                bare: false,
                reference: None,
            },
            // A register the unwinder could not recover in an outer frame.
            None => Value {
                ty: Type {
                    kind: Kind::Error("<not saved>".to_string()),
                    ..ty
                },
                bytes: Some(Vec::new()),
                addr: None,
                notes: Vec::new(),
                bare: false,
                reference: None,
            },
        };
        let code = || {
            let function = Type {
                left: "void".to_string(),
                right: "()".to_string(),
                size: 1,
                kind: Kind::Function,
                lang: Lang::C,
            };
            Type::pointer_to(function, None)
        };
        let data = || Type::pointer_to(Type::simple("void", 1, Kind::Void), None);
        let v = match name {
            "pc" | "rip" => value(code(), Some(frame.pc)),
            "sp" | "rsp" => value(data(), frame.register(7)),
            "fp" | "rbp" => value(data(), frame.register(6)),
            "eflags" => {
                const FLAGS: [(&str, u64); 16] = [
                    ("CF", 1),
                    ("PF", 1 << 2),
                    ("AF", 1 << 4),
                    ("ZF", 1 << 6),
                    ("SF", 1 << 7),
                    ("TF", 1 << 8),
                    ("IF", 1 << 9),
                    ("DF", 1 << 10),
                    ("OF", 1 << 11),
                    ("NT", 1 << 14),
                    ("RF", 1 << 16),
                    ("VM", 1 << 17),
                    ("AC", 1 << 18),
                    ("VIF", 1 << 19),
                    ("VIP", 1 << 20),
                    ("ID", 1 << 21),
                ];
                let ty = Type::simple("i386_eflags", 4, Kind::Flags(FLAGS.to_vec()));
                value(ty, Some(frame.regs.eflags))
            }
            _ => {
                if let Some(i) = GPRS.iter().position(|r| *r == name) {
                    value(Type::int("int64_t", 8, true), frame.register(i as u16))
                } else if let Some(i) = GPRS
                    .iter()
                    .position(|r| format!("e{}", &r[1..]) == name || format!("{r}d") == name)
                {
                    value(Type::int("int", 4, true), frame.register(i as u16))
                } else {
                    value(Type::simple("void", 1, Kind::Void), Some(0))
                }
            }
        };
        self.annotate(v)
    }

    fn lookup(&self, name: &str) -> Result<Value, String> {
        let not_found = || format!("No symbol \"{name}\" in current context.");
        if let Some(n) = name.strip_prefix("$history").and_then(|n| n.parse::<usize>().ok()) {
            return n
                .checked_sub(1)
                .and_then(|i| self.history.get(i))
                .cloned()
                .ok_or_else(|| format!("History has not yet reached ${n}."));
        }
        if let Some((file, inner)) = name.strip_prefix('\'').and_then(|n| n.split_once("'::")) {
            return self.lookup_in_file(file, inner);
        }
        if let Some(register) = name.strip_prefix('$') {
            if let Some((_, v)) = self.convenience.iter().find(|(n, _)| n == register) {
                return Ok(self.annotate(v.clone()));
            }
            return Ok(self.register(register));
        }
        if let Some(fs) = &self.frame {
            for var in fs.blocks.iter().flatten().chain(&fs.params) {
                let die = fs.cx.entry(var.unit, var.offset)?;
                if fs.cx.inherited_name(var.unit, &die).as_deref() == Some(name) {
                    return self.variable(&fs.cx, var.unit, &die, Some(fs));
                }
            }
            // In a C++ method, the members of `*this` are in scope too.
            if name != "this" && fs.cx.lang(fs.unit) == Lang::Cpp {
                if let Ok(this) = self.lookup("this") {
                    if let Ok(Some((ty, addr))) = self.member_through(&this, name) {
                        return self.value_at(ty, Loc::Memory(addr));
                    }
                }
            }
        }
        if matches!(name, "true" | "false") {
            let ty = Type::simple(
                "bool",
                1,
                Kind::Int {
                    signed: false,
                    char: false,
                    bool: true,
                },
            );
            return Ok(Value::scalar(ty, (name == "true") as u64));
        }
        // Globals: the frame's module first, and in it the frame's unit
        // (a file's statics hide other files'), then the other modules.
        let first = self.frame.as_ref().map(|fs| (fs.cx.module, fs.unit));
        let mut modules: Vec<usize> = first.map(|(m, _)| m).into_iter().collect();
        modules.extend((0..self.di.modules.len()).filter(|m| Some(*m) != first.map(|(m, _)| m)));
        for module in modules {
            let Some(cx) = Cx::new(self.di, module) else {
                continue;
            };
            let index = global_index(self.di, module, &cx);
            let found = index.find(name);
            let pick = found
                .iter()
                .find(|(u, _)| Some((module, *u)) == first)
                .or(found.first());
            if let Some((unit, offset)) = pick {
                let die = cx.entry(*unit, *offset)?;
                return self.variable(&cx, *unit, &die, None);
            }
        }
        // Enumeration constants (`GREEN`), of their enum's type.
        for module in 0..self.di.modules.len() {
            let Some(cx) = Cx::new(self.di, module) else {
                continue;
            };
            let index = global_index(self.di, module, &cx);
            if let Some(&(unit, ty, value)) = index.enumerators.get(name).and_then(|v| v.first()) {
                let ty = cx.resolve(unit, ty, false, 0)?;
                return Ok(Value::scalar(ty, value as u64));
            }
        }
        // A type's name is not a value, even where a function (a C++
        // class's constructor) has the same name.
        if self.named_type(name).is_some() {
            return Err("Attempt to use a type name as an expression".to_string());
        }
        // Functions.
        for (module, ms) in self.di.modules.iter().enumerate() {
            let Some(d) = ms.dwarf(self.di) else {
                continue;
            };
            let Some(f) = d.functions().matching(name).find(|f| !f.inlined) else {
                continue;
            };
            return self.function_value(module, f);
        }
        Err(not_found())
    }

    /// A function as a value: `{int (int)} 0x401136 <twice>`.
    fn function_value(&self, module: usize, f: &dwarf::FunctionInfo) -> Result<Value, String> {
        let cx = Cx::new(self.di, module).ok_or("No symbol table is loaded.")?;
        let ty = cx.resolve(f.unit, f.die, true, 0)?;
        let v = Value {
            ty,
            addr: Some(self.di.modules[module].to_load(f.ranges[0].start)),
            bytes: Some(Vec::new()),
            notes: Vec::new(),
            bare: false,
            reference: None,
        };
        Ok(self.annotate(v))
    }

    /// `'file.c'::name`: a global or static variable, or a function, of the
    /// compilation units named `file` (or ending in `/file`).
    fn lookup_in_file(&self, file: &str, name: &str) -> Result<Value, String> {
        let mut file_known = false;
        for module in 0..self.di.modules.len() {
            let Some(cx) = Cx::new(self.di, module) else {
                continue;
            };
            let in_file = |unit: usize| {
                cx.units[unit]
                    .name
                    .as_ref()
                    .and_then(|n| n.to_string_lossy().ok())
                    .is_some_and(|n| n == file || n.ends_with(&format!("/{file}")))
            };
            if !(0..cx.units.len()).any(in_file) {
                continue;
            }
            file_known = true;
            let index = global_index(self.di, module, &cx);
            if let Some((unit, offset)) = index.find(name).into_iter().find(|(u, _)| in_file(*u)) {
                let die = cx.entry(unit, offset)?;
                return self.variable(&cx, unit, &die, None);
            }
            let functions = self.di.modules[module].dwarf(self.di).map(|d| d.functions());
            if let Some(f) = functions
                .iter()
                .flat_map(|index| index.matching(name))
                .find(|f| !f.inlined && in_file(f.unit))
            {
                return self.function_value(module, f);
            }
        }
        Err(if file_known {
            format!("No symbol \"{name}\" in specified context.")
        } else {
            format!("No symbol \"{file}\" in current context.")
        })
    }

    /// `v@n`: `n` objects like `v`, starting at `v`.
    fn repeat(&self, v: Value, n: Value) -> Result<Value, String> {
        let n = integer(&n).ok_or("Non-integral right operand for \"@\" operator.")?;
        let addr = v.addr.ok_or("Only values in memory can be extended with '@'.")?;
        if n <= 0 {
            return Err(format!("Invalid number {n} of repetitions."));
        }
        let count = n as u64;
        let ty = Type {
            left: v.ty.left.clone(),
            right: format!("[{count}]{}", v.ty.right),
            size: v.ty.size.saturating_mul(count),
            lang: v.ty.lang,
            kind: Kind::Array {
                elem: Box::new(v.ty),
                count,
            },
        };
        self.value_at(ty, Loc::Memory(addr))
    }

    fn unary(&self, op: UnOp, operand: &Expr) -> Result<Value, String> {
        let v = self.eval(operand)?;
        match op {
            UnOp::Deref => self.deref(v),
            UnOp::AddrOf => {
                let addr = v
                    .addr
                    .ok_or("Attempt to take address of value not located in memory.")?;
                let ty = Type::pointer_to(v.ty, None);
                Ok(self.annotate(Value::scalar(ty, addr)))
            }
            UnOp::Neg => {
                let v = promote(v)?;
                match v.ty.kind {
                    // As gdb computes it: `-0.0` prints 0 and a NaN keeps its sign.
                    Kind::Float => Ok(Value::float(v.ty.clone(), 0.0 - v.as_f64().unwrap_or(0.0))),
                    _ => Ok(Value::scalar(
                        v.ty.clone(),
                        integer(&v).unwrap_or(0).wrapping_neg() as u64,
                    )),
                }
            }
            UnOp::Not => Ok(self.truth_value(!truth(&v)?)),
            UnOp::BitNot => {
                let v = promote(v)?;
                match v.ty.kind {
                    Kind::Int { .. } => Ok(Value::scalar(v.ty.clone(), !integer(&v).unwrap_or(0) as u64)),
                    _ => Err("Argument to complement operation not an integer, boolean.".to_string()),
                }
            }
        }
    }

    fn deref(&self, v: Value) -> Result<Value, String> {
        match &v.ty.kind {
            Kind::Pointer { target, full, .. } => {
                let Some(bytes) = &v.bytes else {
                    return Err("value has been optimized out".to_string());
                };
                let addr = read_int(bytes, 8, false) as u64;
                let ty = match full {
                    Some(r) => Cx::new(self.di, r.module).ok_or("no debug information")?.full_type(r)?,
                    None => (**target).clone(),
                };
                if matches!(ty.kind, Kind::Void) {
                    return Err("Attempt to dereference a generic pointer.".to_string());
                }
                if matches!(ty.kind, Kind::Function) {
                    return Ok(self.annotate(Value {
                        ty,
                        addr: Some(addr),
                        bytes: Some(Vec::new()),
                        notes: Vec::new(),
                        bare: false,
                        reference: None,
                    }));
                }
                self.value_at(ty, Loc::Memory(addr))
            }
            Kind::Array { elem, .. } => {
                let elem = (**elem).clone();
                match v.addr {
                    Some(addr) => self.value_at(elem, Loc::Memory(addr)),
                    None => v.part(&elem, 0).ok_or_else(|| memory_error(0)),
                }
            }
            Kind::Function => Ok(v),
            Kind::Struct { .. } if self.smart_pointer(&v).is_some() => {
                let p = self.smart_pointer(&v).ok_or("no pointer")?;
                self.deref(p)
            }
            // gdb lets `*` turn a number into an address of an `int`.
            Kind::Int { .. } if v.bytes.is_some() => {
                let addr = integer(&v).unwrap_or(0) as u64;
                self.value_at(Type::int("int", 4, true), Loc::Memory(addr))
            }
            _ => Err("Attempt to take contents of a non-pointer value.".to_string()),
        }
    }

    /// The type and address of member `name` of the struct `p` points to,
    /// when it is a plain (not bit field) member.
    fn member_through(&self, p: &Value, name: &str) -> Result<Option<(Type, u64)>, String> {
        let Kind::Pointer { full, target, .. } = &p.ty.kind else {
            return Ok(None);
        };
        let Some(bytes) = &p.bytes else {
            return Ok(None);
        };
        let target = match full {
            Some(r) => Cx::new(self.di, r.module).ok_or("no debug information")?.full_type(r)?,
            None => (**target).clone(),
        };
        let addr = read_int(bytes, 8, false) as u64;
        Ok(find_member(&target, name, 0).map(|(m, offset)| (m.ty.clone(), addr.wrapping_add(offset))))
    }

    fn field(&self, v: &Value, name: &str) -> Result<Value, String> {
        if let Kind::Variants(variants) = &v.ty.kind {
            // A field of a Rust enum is one of its active variant's.
            let bytes = v.bytes.as_deref().ok_or("value has been optimized out")?;
            let arm = variants
                .active(bytes)
                .ok_or_else(|| format!("There is no member named {name}."))?;
            let inner = self.member(v, arm)?;
            return self.field(&inner, name);
        }
        let Kind::Struct { members } = &v.ty.kind else {
            return Err("Attempt to extract a component of a value that is not a structure.".to_string());
        };
        let members = members
            .as_ref()
            .ok_or_else(|| format!("There is no member named {name}."))?;
        let name = if v.ty.lang == Lang::Rust {
            name.strip_prefix("__").unwrap_or(name)
        } else {
            name
        };
        for m in members {
            match &m.name {
                Some(n) if n == name && m.statik.is_some() => return self.lookup(m.statik.as_deref().unwrap_or(n)),
                Some(n) if n == name => return self.member(v, m),
                None => {
                    // Members of anonymous structs and unions are the parent's.
                    if let Ok(inner) = self.member(v, m) {
                        if let Ok(found) = self.field(&inner, name) {
                            return Ok(found);
                        }
                    }
                }
                _ => {}
            }
        }
        Err(format!("There is no member named {name}."))
    }

    fn member(&self, v: &Value, m: &Member) -> Result<Value, String> {
        if let (None, Some(addr)) = (&v.bytes, v.addr) {
            // A value too big to read whole: read just the member.
            if let Some(bits) = m.bits {
                let len = 8.min(v.ty.size.saturating_sub(m.offset));
                let bytes = self.read(addr.wrapping_add(m.offset), len)?;
                let shifted = Member { offset: 0, ..m.clone() };
                return Ok(Value::scalar(m.ty.clone(), bit_field(&bytes, &shifted, bits)));
            }
            return self.value_at(m.ty.clone(), Loc::Memory(addr.wrapping_add(m.offset)));
        }
        if let Some(bits) = m.bits {
            let bytes = v.bytes.as_deref().ok_or("value has been optimized out")?;
            return Ok(Value::scalar(m.ty.clone(), bit_field(bytes, m, bits)));
        }
        v.part(&m.ty, m.offset).ok_or_else(|| memory_error(v.addr.unwrap_or(0)))
    }

    fn pointer_add(&self, p: Value, n: i128) -> Result<Value, String> {
        let size = self.target_size(&p)?;
        let addr = p.as_i64().unwrap_or(0) as u64;
        let ty = p.ty.clone();
        Ok(self.annotate(Value::scalar(ty, addr.wrapping_add((n as u64).wrapping_mul(size)))))
    }

    fn target_size(&self, p: &Value) -> Result<u64, String> {
        let Kind::Pointer { target, full, .. } = &p.ty.kind else {
            return Ok(1);
        };
        let ty = match full {
            Some(r) => Cx::new(self.di, r.module).ok_or("no debug information")?.full_type(r)?,
            None => (**target).clone(),
        };
        Ok(match ty.kind {
            Kind::Void | Kind::Function => 1,
            _ => ty.size.max(1),
        })
    }

    fn binary(&self, op: BinOp, l: Value, r: Value) -> Result<Value, String> {
        let l = decay(l);
        let r = decay(r);
        let lp = matches!(l.ty.kind, Kind::Pointer { .. });
        let rp = matches!(r.ty.kind, Kind::Pointer { .. });
        let int = |x: bool| self.truth_value(x);
        if lp || rp {
            match op {
                BinOp::Add if lp && !rp => return self.pointer_add(l, integer(&r).ok_or(NOT_NUMBER)?),
                BinOp::Add if rp && !lp => return self.pointer_add(r, integer(&l).ok_or(NOT_NUMBER)?),
                BinOp::Sub if lp && !rp => return self.pointer_add(l, -integer(&r).ok_or(NOT_NUMBER)?),
                BinOp::Sub if lp && rp => {
                    let size = self.target_size(&l)? as i64;
                    let diff = l.as_i64().unwrap_or(0).wrapping_sub(r.as_i64().unwrap_or(0)) / size;
                    return Ok(Value::scalar(Type::int("long", 8, true), diff as u64));
                }
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let a = l.as_i64().ok_or(NOT_NUMBER)? as u64;
                    let b = r.as_i64().ok_or(NOT_NUMBER)? as u64;
                    return Ok(int(compare(op, a.cmp(&b))));
                }
                _ => return Err(NOT_NUMBER.to_string()),
            }
        }
        let l = promote(l)?;
        let r = promote(r)?;
        if matches!(l.ty.kind, Kind::Float) || matches!(r.ty.kind, Kind::Float) {
            // The widest floating-point operand decides; integers convert to it.
            let float_size = |v: &Value| if matches!(v.ty.kind, Kind::Float) { v.ty.size } else { 0 };
            let ty = if float_size(&l).max(float_size(&r)) == 4 {
                Type::simple("float", 4, Kind::Float)
            } else {
                Type::simple("double", 8, Kind::Float)
            };
            let a = l.as_f64().ok_or(NOT_NUMBER)?;
            let b = r.as_f64().ok_or(NOT_NUMBER)?;
            let x = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let ord = a.partial_cmp(&b);
                    return Ok(int(match ord {
                        Some(o) => compare(op, o),
                        None => op == BinOp::Ne,
                    }));
                }
                _ => return Err("Integer only operation.".to_string()),
            };
            return Ok(Value::float(ty, x));
        }
        // The usual arithmetic conversions, on x86-64's sizes.
        let (lsigned, rsigned) = (is_signed(&l), is_signed(&r));
        let size = l.ty.size.max(r.ty.size);
        let signed = if l.ty.size == r.ty.size {
            lsigned && rsigned
        } else if l.ty.size > r.ty.size {
            lsigned
        } else {
            rsigned
        };
        let ty = match (size, signed) {
            (8, true) => Type::int("long", 8, true),
            (8, false) => Type::int("unsigned long", 8, false),
            (_, true) => Type::int("int", 4, true),
            (_, false) => Type::int("unsigned int", 4, false),
        };
        let a = integer(&l).ok_or(NOT_NUMBER)?;
        let b = integer(&r).ok_or(NOT_NUMBER)?;
        let bits = ty.size * 8;
        let wrap = |x: i128| read_int(&x.to_le_bytes(), ty.size, signed);
        let (a, b) = (wrap(a), wrap(b));
        let x = match op {
            BinOp::Add => a.wrapping_add(b),
            BinOp::Sub => a.wrapping_sub(b),
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::Div | BinOp::Rem if b == 0 => return Err("Division by zero".to_string()),
            BinOp::Div => a / b,
            BinOp::Rem => a % b,
            BinOp::Shl => a.wrapping_shl((b as u32) % bits as u32),
            BinOp::Shr => a >> ((b as u32) % bits as u32),
            BinOp::BitAnd => a & b,
            BinOp::BitOr => a | b,
            BinOp::BitXor => a ^ b,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                return Ok(int(compare(op, a.cmp(&b))));
            }
            BinOp::And | BinOp::Or | BinOp::At => return Err("Invalid binary operation on numbers.".to_string()),
        };
        Ok(Value::scalar(ty, x as u64))
    }

    fn cast_type(&self, name: &TypeName) -> Result<Type, String> {
        let base = match name.base.as_str() {
            "char" | "signed char" => char_type(),
            "unsigned char" => Type {
                left: "unsigned char".into(),
                ..Type::simple(
                    "",
                    1,
                    Kind::Int {
                        signed: false,
                        char: true,
                        bool: false,
                    },
                )
            },
            "short" | "short int" | "signed short" => Type::int("short", 2, true),
            "unsigned short" | "unsigned short int" => Type::int("unsigned short", 2, false),
            "int" | "signed" | "signed int" => Type::int("int", 4, true),
            "unsigned" | "unsigned int" => Type::int("unsigned int", 4, false),
            "long" | "long int" | "signed long" | "long long" | "long long int" => Type::int("long", 8, true),
            "unsigned long" | "unsigned long int" | "unsigned long long" => Type::int("unsigned long", 8, false),
            "float" => Type::simple("float", 4, Kind::Float),
            "double" => Type::simple("double", 8, Kind::Float),
            "_Bool" | "bool" => Type::simple(
                &name.base,
                1,
                Kind::Int {
                    signed: false,
                    char: false,
                    bool: true,
                },
            ),
            "void" => Type::simple("void", 1, Kind::Void),
            other => {
                if let Some((tag @ ("struct" | "union" | "enum"), n)) = other.split_once(' ') {
                    return self
                        .find_tagged_type(tag, n)
                        .map(|ty| (0..name.pointers).fold(ty, |t, _| Type::pointer_to(t, None)))
                        .ok_or_else(|| format!("No {tag} type named {n}."));
                }
                if let Some(ty) = self.named_type(other) {
                    return Ok((0..name.pointers).fold(ty, |t, _| Type::pointer_to(t, None)));
                }
                return Err(format!("No symbol \"{other}\" in current context."));
            }
        };
        let mut ty = base;
        for _ in 0..name.pointers {
            ty = Type::pointer_to(ty, None);
        }
        Ok(ty)
    }

    /// `struct foo`, `union u` or `enum e`, from any unit.
    fn find_tagged_type(&self, tag: &str, name: &str) -> Option<Type> {
        self.named_type(&format!("{tag} {name}"))
    }

    /// A type by the name a program gives it (a typedef, a base type,
    /// `struct point`), the frame's module first.
    fn named_type(&self, name: &str) -> Option<Type> {
        let first = self.frame.as_ref().map(|fs| fs.cx.module);
        let others = (0..self.di.modules.len()).filter(|m| Some(*m) != first);
        for module in first.into_iter().chain(others) {
            let Some(cx) = Cx::new(self.di, module) else {
                continue;
            };
            let index = global_index(self.di, module, &cx);
            if let Some(&(unit, offset)) = index.types.get(name).and_then(|v| v.first()) {
                return cx.resolve(unit, offset, false, 0).ok();
            }
        }
        None
    }

    fn cast(&self, v: Value, ty: Type) -> Result<Value, String> {
        let v = decay(v);
        match ty.kind {
            Kind::Float => {
                let x = v.as_f64().ok_or("Invalid cast.")?;
                Ok(Value::float(ty, x))
            }
            Kind::Int { .. } | Kind::Enum { .. } | Kind::Pointer { .. } => {
                let x = match v.ty.kind {
                    Kind::Float => v.as_f64().unwrap_or(0.0) as i64 as i128,
                    _ => integer(&v).ok_or("Invalid cast.")?,
                };
                let x = if matches!(ty.kind, Kind::Int { bool: true, .. }) {
                    (x != 0) as i128
                } else {
                    x
                };
                Ok(self.annotate(Value::scalar(ty, x as u64)))
            }
            Kind::Void => Ok(Value {
                ty,
                addr: None,
                bytes: Some(Vec::new()),
                notes: Vec::new(),
                bare: false,
                reference: None,
            }),
            _ => {
                if v.ty.size == ty.size {
                    Ok(self.annotate(Value { ty, ..v }))
                } else {
                    Err("Invalid cast.".to_string())
                }
            }
        }
    }
}

/// gdb's refusal of values bigger than `max-value-size` (also what keeps
/// a broken size in the DWARF from allocating without bound).
fn check_size(ty: &Type) -> Result<(), String> {
    if ty.size > READ_MAX {
        return Err(format!(
            "value requires {} bytes, which is more than max-value-size",
            ty.size
        ));
    }
    Ok(())
}

const NOT_NUMBER: &str = "Argument to arithmetic operation not a number or boolean.";

fn compare(op: BinOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinOp::Eq => o == Equal,
        BinOp::Ne => o != Equal,
        BinOp::Lt => o == Less,
        BinOp::Le => o != Greater,
        BinOp::Gt => o == Greater,
        _ => o != Less,
    }
}

fn char_type() -> Type {
    Type::simple(
        "char",
        1,
        Kind::Int {
            signed: true,
            char: true,
            bool: false,
        },
    )
}

fn is_signed(v: &Value) -> bool {
    matches!(
        v.ty.kind,
        Kind::Int { signed: true, .. } | Kind::Enum { signed: true, .. }
    )
}

/// An integer, character, boolean, enum or pointer as a number.
fn integer(v: &Value) -> Option<i128> {
    let bytes = v.bytes.as_deref()?;
    match &v.ty.kind {
        Kind::Int { signed, .. } | Kind::Enum { signed, .. } => Some(read_int(bytes, v.ty.size, *signed)),
        Kind::Pointer { .. } => Some(read_int(bytes, 8, false)),
        _ => None,
    }
}

fn truth(v: &Value) -> Result<bool, String> {
    v.is_true()
        .ok_or_else(|| format!("Cannot use a value of type `{}' as a condition.", v.type_name()))
}

/// An array in an expression is a pointer to its first element, a function
/// a pointer to itself.
fn decay(v: Value) -> Value {
    match (&v.ty.kind, v.addr) {
        (Kind::Array { elem, .. }, Some(addr)) => {
            let ty = Type::pointer_to((**elem).clone(), None);
            Value::scalar(ty, addr)
        }
        // A function is its address in arithmetic (`main+15`), as in C.
        (Kind::Function, Some(addr)) => {
            let ty = Type::pointer_to(v.ty.clone(), None);
            Value::scalar(ty, addr)
        }
        _ => v,
    }
}

/// C's integer promotions: what is smaller than `int` becomes `int`.
fn promote(v: Value) -> Result<Value, String> {
    if v.bytes.is_none() {
        return Err("value has been optimized out".to_string());
    }
    match v.ty.kind {
        Kind::Int { .. } | Kind::Enum { .. } if v.ty.size < 4 => {
            let x = integer(&v).unwrap_or(0);
            Ok(Value::scalar(Type::int("int", 4, true), x as u64))
        }
        Kind::Enum { signed, .. } => Ok(Value::scalar(
            Type::int(if signed { "int" } else { "unsigned int" }, v.ty.size, signed),
            integer(&v).unwrap_or(0) as u64,
        )),
        Kind::Int { .. } | Kind::Float => Ok(v),
        _ => Err(NOT_NUMBER.to_string()),
    }
}

/// The value of a bit field member of a struct's bytes, sign-extended if
/// its type is signed.
fn bit_field(bytes: &[u8], m: &Member, (bit, width): (u64, u64)) -> u64 {
    let raw = read_int(bytes.get(m.offset as usize..).unwrap_or(&[]), 8, false) as u64;
    let (bit, width) = (bit.min(63), width.clamp(1, 64));
    let mut v = raw >> bit;
    if width < 64 {
        v &= (1 << width) - 1;
        if matches!(m.ty.kind, Kind::Int { signed: true, .. }) && v >> (width - 1) & 1 == 1 {
            v |= !0 << width;
        }
    }
    v
}

/// A plain member by name, looking into anonymous members, with its offset.
fn find_member<'t>(ty: &'t Type, name: &str, depth: u32) -> Option<(&'t Member, u64)> {
    let Kind::Struct { members: Some(members) } = &ty.kind else {
        return None;
    };
    if depth > 8 {
        return None;
    }
    for m in members.iter().filter(|m| m.statik.is_none()) {
        match &m.name {
            Some(n) if n == name => return m.bits.is_none().then_some((m, m.offset)),
            None => {
                if let Some((inner, offset)) = find_member(&m.ty, name, depth + 1) {
                    return Some((inner, m.offset + offset));
                }
            }
            _ => {}
        }
    }
    None
}

/// Arrays without a bound (C's flexible array members) print as their
/// address, as gdb does.
fn flexible_notes(ty: &Type, base: u64, offset: u64, notes: &mut Vec<(u64, Note)>, depth: u32) {
    if depth > 8 {
        return;
    }
    match &ty.kind {
        Kind::Array { .. } if ty.right.starts_with("[]") => {
            notes.push((offset, Note::Text(format!("{:#x}", base.wrapping_add(offset)))));
        }
        Kind::Struct { members: Some(members) } => {
            for m in members.iter().filter(|m| m.statik.is_none()) {
                flexible_notes(&m.ty, base, offset + m.offset, notes, depth + 1);
            }
        }
        _ => {}
    }
}

/// Rust's fat pointers to a run of elements, which print what they point to.
fn is_slice(name: &str) -> bool {
    name.starts_with("&[") || name.starts_with("&mut [") || name == "&str" || name == "&mut str"
}

fn contains_pointer(ty: &Type, depth: u32) -> bool {
    if depth > 16 {
        return false;
    }
    match &ty.kind {
        Kind::Pointer { .. } => true,
        Kind::Struct { members: Some(m) } => m.iter().any(|m| contains_pointer(&m.ty, depth + 1)),
        Kind::Variants(v) => v.arms.iter().any(|(_, m)| contains_pointer(&m.ty, depth + 1)),
        Kind::Array { elem, .. } => contains_pointer(elem, depth + 1),
        _ => false,
    }
}

fn gimli_value_bytes(v: gimli::Value) -> Vec<u8> {
    match v {
        gimli::Value::Generic(x) | gimli::Value::U64(x) => x.to_le_bytes().to_vec(),
        gimli::Value::I8(x) => x.to_le_bytes().to_vec(),
        gimli::Value::U8(x) => x.to_le_bytes().to_vec(),
        gimli::Value::I16(x) => x.to_le_bytes().to_vec(),
        gimli::Value::U16(x) => x.to_le_bytes().to_vec(),
        gimli::Value::I32(x) => x.to_le_bytes().to_vec(),
        gimli::Value::U32(x) => x.to_le_bytes().to_vec(),
        gimli::Value::I64(x) => x.to_le_bytes().to_vec(),
        gimli::Value::F32(x) => x.to_le_bytes().to_vec(),
        gimli::Value::F64(x) => x.to_le_bytes().to_vec(),
    }
}

/// The variables with a static location of one module, by name.
#[derive(Default)]
struct GlobalIndex {
    /// Qualified name (`prog::COUNTER`, or just `g_int`) to (unit, DIE).
    by_name: HashMap<String, Vec<(usize, UnitOffset)>>,
    /// The last part of a qualified name to the qualified names.
    by_last: HashMap<String, Vec<String>>,
    /// Named types: typedefs and base types by name, structs, unions and
    /// enums as `struct point`.
    types: HashMap<String, Vec<(usize, UnitOffset)>>,
    /// Enumeration constants: (unit, the enum type's DIE, value).
    enumerators: HashMap<String, Vec<(usize, UnitOffset, i64)>>,
}

impl GlobalIndex {
    fn find(&self, name: &str) -> Vec<(usize, UnitOffset)> {
        if let Some(found) = self.by_name.get(name) {
            return found.clone();
        }
        let last = name.rsplit("::").next().unwrap_or(name);
        self.by_last
            .get(last)
            .into_iter()
            .flatten()
            .filter(|full| dwarf::name_matches(full, name))
            .flat_map(|full| self.by_name[full].iter().copied())
            .collect()
    }
}

type IndexKey = (std::path::PathBuf, u64, Option<std::time::SystemTime>);

thread_local! {
    /// Built once per module file: finding a global by walking all of a
    /// big program's DWARF takes long, and conditions evaluate often.
    static GLOBAL_INDEXES: RefCell<HashMap<IndexKey, Rc<GlobalIndex>>> = RefCell::new(HashMap::new());
}

/// What identifies a module's file for the caches: its path, size and
/// modification time (a rebuilt program at the same path is another file).
fn module_key(di: &DebugInfo, module: usize) -> IndexKey {
    let file = &di.modules[module].module.file;
    let meta = std::fs::metadata(file).ok();
    (
        file.clone(),
        meta.as_ref().map_or(0, |m| m.len()),
        meta.and_then(|m| m.modified().ok()),
    )
}

fn global_index(di: &DebugInfo, module: usize, cx: &Cx) -> Rc<GlobalIndex> {
    let key = module_key(di, module);
    if let Some(index) = GLOBAL_INDEXES.with(|c| c.borrow().get(&key).cloned()) {
        return index;
    }
    let mut index = GlobalIndex::default();
    for unit in 0..cx.units.len() {
        let Ok(mut tree) = cx.units[unit].entries_tree(None) else {
            continue;
        };
        if let Ok(root) = tree.root() {
            index_children(cx, unit, root, "", 0, &mut index);
        }
    }
    let index = Rc::new(index);
    GLOBAL_INDEXES.with(|c| c.borrow_mut().insert(key, Rc::clone(&index)));
    index
}

fn index_children(
    cx: &Cx,
    unit: usize,
    node: gimli::EntriesTreeNode<Reader>,
    prefix: &str,
    depth: u32,
    index: &mut GlobalIndex,
) {
    if depth > 16 {
        return;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_variable => {
                if e.attr_value(gimli::DW_AT_location).is_none() && e.attr_value(gimli::DW_AT_const_value).is_none() {
                    continue;
                }
                let Some(n) = cx.inherited_name(unit, e) else {
                    continue;
                };
                // A C++ static member's definition completes its declaration
                // in the class, whose scope names it (`geo::Shape::count`).
                let class_scope = cx
                    .reference(unit, e, gimli::DW_AT_specification)
                    .and_then(|(u, o)| cx.scope_prefixes(u).get(&o.0).cloned())
                    .filter(|p| !p.is_empty());
                let full = match class_scope {
                    Some(scope) => format!("{scope}::{n}"),
                    None if prefix.is_empty() => n.clone(),
                    None => format!("{prefix}::{n}"),
                };
                let entry = index.by_name.entry(full.clone()).or_default();
                if entry.is_empty() {
                    index.by_last.entry(n).or_default().push(full);
                }
                entry.push((unit, e.offset()));
            }
            gimli::DW_TAG_namespace => {
                let ns = cx.name(unit, e).unwrap_or_default();
                let inner = if prefix.is_empty() {
                    ns
                } else {
                    format!("{prefix}::{ns}")
                };
                index_children(cx, unit, child, &inner, depth + 1, index);
            }
            gimli::DW_TAG_typedef
            | gimli::DW_TAG_base_type
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type => {
                if matches!(e.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true))) {
                    continue;
                }
                if e.tag() == gimli::DW_TAG_enumeration_type {
                    // Its constants are names in the enclosing scope (C).
                    let ty = e.offset();
                    let mut constants = child.children();
                    while let Ok(Some(constant)) = constants.next() {
                        let c = constant.entry();
                        let (Some(n), Some(v)) = (cx.name(unit, c), c.attr_value(gimli::DW_AT_const_value)) else {
                            continue;
                        };
                        let value = match v {
                            AttributeValue::Sdata(v) => v,
                            AttributeValue::Udata(v) => v as i64,
                            v => v.sdata_value().unwrap_or(0),
                        };
                        // C++ names the constant of an `enum class` by its enum
                        // (`geo::Dir::East`); gdb 13 does not take that form
                        // for other enums.
                        let enum_die = cx.entry(unit, ty).ok();
                        let scoped_enum = enum_die.as_ref().is_some_and(|e| {
                            matches!(e.attr_value(gimli::DW_AT_enum_class), Some(AttributeValue::Flag(true)))
                        });
                        if cx.lang(unit) == Lang::Cpp && scoped_enum {
                            if let Some(enum_name) = enum_die.as_ref().and_then(|e| cx.name(unit, e)) {
                                let scoped = match prefix {
                                    "" => format!("{enum_name}::{n}"),
                                    p => format!("{p}::{enum_name}::{n}"),
                                };
                                index.enumerators.entry(scoped).or_default().push((unit, ty, value));
                            }
                        }
                        let full = if prefix.is_empty() { n } else { format!("{prefix}::{n}") };
                        index.enumerators.entry(full).or_default().push((unit, ty, value));
                    }
                    // The children were read: look at the type itself again.
                    let Ok(e) = cx.entry(unit, ty) else {
                        continue;
                    };
                    let Some(n) = cx.name(unit, &e) else {
                        continue;
                    };
                    let full = if prefix.is_empty() { n } else { format!("{prefix}::{n}") };
                    match cx.lang(unit) {
                        // C++ and Rust name a type without a keyword (`ptype geo::Dir`).
                        Lang::Cpp => index.types.entry(cpp_canonical(&full)).or_default().push((unit, ty)),
                        Lang::Rust => index.types.entry(full.clone()).or_default().push((unit, ty)),
                        Lang::C => {}
                    }
                    index.types.entry(format!("enum {full}")).or_default().push((unit, ty));
                    continue;
                }
                let Some(n) = cx.name(unit, e) else {
                    continue;
                };
                let tag = match e.tag() {
                    gimli::DW_TAG_structure_type => "struct ",
                    // Found by the libstdc++ printers (`std::list<std::string>`).
                    gimli::DW_TAG_class_type => "class ",
                    gimli::DW_TAG_union_type => "union ",
                    gimli::DW_TAG_enumeration_type => "enum ",
                    _ => "",
                };
                let full = if prefix.is_empty() { n } else { format!("{prefix}::{n}") };
                let offset = e.offset();
                if matches!(tag, "struct " | "class " | "union ") && cx.lang(unit) == Lang::Cpp {
                    // A class's typedefs and nested types (`geo::Flags::bits_t`).
                    index_nested_types(cx, unit, child, &full, depth + 1, index);
                }
                if !tag.is_empty() && cx.lang(unit) == Lang::Rust {
                    index.types.entry(full.clone()).or_default().push((unit, offset));
                }
                if !tag.is_empty() && cx.lang(unit) == Lang::Cpp {
                    // C++ names a class without its keyword, and as gdb
                    // names its integer types (`A<unsigned long>`).
                    index
                        .types
                        .entry(cpp_canonical(&full))
                        .or_default()
                        .push((unit, offset));
                }
                index
                    .types
                    .entry(format!("{tag}{full}"))
                    .or_default()
                    .push((unit, offset));
            }
            _ => {}
        }
    }
}

/// The types declared inside a C++ class (typedefs, nested classes and
/// enums), indexed by their qualified names without a keyword.
fn index_nested_types(
    cx: &Cx,
    unit: usize,
    node: gimli::EntriesTreeNode<Reader>,
    prefix: &str,
    depth: u32,
    index: &mut GlobalIndex,
) {
    if depth > 16 {
        return;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        let nested = matches!(
            e.tag(),
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type
        );
        if !nested && !matches!(e.tag(), gimli::DW_TAG_typedef | gimli::DW_TAG_enumeration_type) {
            continue;
        }
        if matches!(e.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true))) {
            continue;
        }
        let Some(n) = cx.name(unit, e) else {
            continue;
        };
        let full = format!("{prefix}::{n}");
        index
            .types
            .entry(cpp_canonical(&full))
            .or_default()
            .push((unit, e.offset()));
        if nested {
            index_nested_types(cx, unit, child, &full, depth + 1, index);
        }
    }
}

/// In a function's DIEs, the call site that returns to `return_pc`, and
/// the expression of the value it passes in register `reg` (written as the
/// one-byte `op`, or `DW_OP_regx`).
fn find_call_value(
    cx: &Cx,
    unit: usize,
    node: gimli::EntriesTreeNode<Reader>,
    return_pc: u64,
    op: u8,
    reg: u16,
    depth: u32,
) -> Option<gimli::Expression<Reader>> {
    if depth > 32 {
        return None;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site => {
                let at = e
                    .attr_value(gimli::DW_AT_call_return_pc)
                    .or_else(|| e.attr_value(gimli::DW_AT_low_pc))
                    .and_then(|v| cx.dwarf.attr_address(&cx.units[unit], v).ok().flatten());
                if at != Some(return_pc) {
                    continue;
                }
                let mut params = child.children();
                while let Ok(Some(param)) = params.next() {
                    let p = param.entry();
                    let Some(AttributeValue::Exprloc(loc)) = p.attr_value(gimli::DW_AT_location) else {
                        continue;
                    };
                    let mut r = loc.0.clone();
                    let matches = match r.read_u8() {
                        Ok(0x90) => r.read_uleb128().ok() == Some(reg as u64),
                        Ok(b) => b == op && op != 0x90,
                        Err(_) => false,
                    } && r.is_empty();
                    if !matches {
                        continue;
                    }
                    let value = p
                        .attr_value(gimli::DW_AT_call_value)
                        .or_else(|| p.attr_value(gimli::DW_AT_GNU_call_site_value));
                    if let Some(AttributeValue::Exprloc(v)) = value {
                        return Some(v);
                    }
                }
                return None;
            }
            gimli::DW_TAG_lexical_block | gimli::DW_TAG_inlined_subroutine => {
                if let Some(v) = find_call_value(cx, unit, child, return_pc, op, reg, depth + 1) {
                    return Some(v);
                }
            }
            _ => {}
        }
    }
    None
}

/// The size and alignment of a module's `PT_TLS` segment.
fn tls_segment(image: &super::elf::Image) -> Option<(u64, u64)> {
    use object::read::elf::ProgramHeader;
    let file = image.object()?;
    let object::File::Elf64(elf) = file else {
        return None;
    };
    let endian = elf.endian();
    for ph in elf.elf_program_headers() {
        if ph.p_type(endian) == object::elf::PT_TLS {
            return Some((ph.p_memsz(endian), ph.p_align(endian)));
        }
    }
    None
}
