//! The value a function returned, read where the System V x86-64 ABI puts
//! it (psABI 3.2.3): integers and pointers in rax then rdx, `float` and
//! `double` in xmm0 then xmm1, a small struct split into eightbytes that
//! go to either, and anything bigger than 16 bytes (or holding an x87
//! `long double`) in memory the caller passed, whose address comes back in
//! rax. This is what `finish` shows as gdb's "Value returned".

use super::*;

/// The registers a return value can be in, as they are just after the return.
pub struct ReturnRegisters {
    pub rax: u64,
    pub rdx: u64,
    /// The low 8 bytes of xmm0 and xmm1.
    pub xmm0: [u8; 8],
    pub xmm1: [u8; 8],
    /// The x87 stack's top, st(0), where a `long double` comes back.
    pub st0: [u8; 10],
}

/// How an eightbyte of a small aggregate is returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Nothing in it yet (padding, or an empty struct).
    Empty,
    Integer,
    Sse,
    /// An x87 `long double`: returned in st0.
    X87,
}

impl Class {
    fn merge(self, other: Class) -> Class {
        match (self, other) {
            (a, b) if a == b => a,
            (Class::Empty, b) => b,
            (a, Class::Empty) => a,
            (Class::X87, _) | (_, Class::X87) => Class::X87,
            (Class::Integer, _) | (_, Class::Integer) => Class::Integer,
            _ => Class::Sse,
        }
    }
}

/// Classifies each byte range of `ty` at `offset` into `classes` (one per
/// eightbyte). `false` when the type has a part the ABI sends to memory
/// or that is not understood.
fn classify(ty: &Type, offset: u64, classes: &mut [Class; 2], depth: u32) -> bool {
    if depth > TYPE_DEPTH {
        return false;
    }
    match &ty.kind {
        Kind::Void => true,
        Kind::Int { .. } | Kind::Enum { .. } | Kind::Pointer { .. } => leaf(ty, offset, Class::Integer, classes),
        Kind::Float if ty.size > 8 => leaf(ty, offset, Class::X87, classes),
        Kind::Float => leaf(ty, offset, Class::Sse, classes),
        Kind::Array { elem, count } => (0..*count).all(|i| classify(elem, offset + i * elem.size, classes, depth + 1)),
        Kind::Struct { members: Some(members) } => {
            members.iter().filter(|m| m.statik.is_none()).all(|m| match m.bits {
                // A bit field shares its bytes with its neighbours: integers.
                Some(_) => leaf(&m.ty, offset + m.offset, Class::Integer, classes),
                None => classify(&m.ty, offset + m.offset, classes, depth + 1),
            })
        }
        Kind::Variants(v) => {
            v.arms
                .iter()
                .all(|(_, m)| classify(&m.ty, offset + m.offset, classes, depth + 1))
                && v.discr.is_none_or(|(at, size)| {
                    classify(&Type::int("discriminant", size, false), offset + at, classes, depth + 1)
                })
        }
        _ => false,
    }
}

/// Marks the eightbytes a scalar of `ty` at `offset` covers as `class`;
/// `false` if it reaches past the second.
fn leaf(ty: &Type, offset: u64, class: Class, classes: &mut [Class; 2]) -> bool {
    let first = (offset / 8) as usize;
    let last = ((offset + ty.size.max(1) - 1) / 8) as usize;
    for c in classes.iter_mut().take(last + 1).skip(first) {
        *c = c.merge(class);
    }
    last < 2
}

/// Whether the type a function returns is a C++ class the ABI passes by
/// reference (psABI: not trivially copyable), which comes back in memory
/// however small it is.
fn passed_by_reference(cx: &Cx, unit: usize, function: &Die) -> bool {
    if cx.lang(unit) != Lang::Cpp {
        return false;
    }
    match cx.reference(unit, function, gimli::DW_AT_type) {
        Some((u, offset)) => not_trivially_copyable(cx, u, offset, 0),
        None => false,
    }
}

/// A class with a destructor or a copy or move constructor of its own, a
/// virtual function table, or a base or member that is so (gdb's rule, from
/// the class's member DIEs: gcc 12 does not write
/// `DW_AT_calling_convention`). Typedefs and qualifiers are looked through.
fn not_trivially_copyable(cx: &Cx, unit: usize, offset: UnitOffset, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let Ok(die) = cx.entry(unit, offset) else {
        return false;
    };
    match die.tag() {
        gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => {
            return match cx.reference(unit, &die, gimli::DW_AT_type) {
                Some((u, o)) => not_trivially_copyable(cx, u, o, depth + 1),
                None => false,
            };
        }
        gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {}
        _ => return false,
    }
    let class = cx.name(unit, &die).unwrap_or_default();
    let Ok(mut tree) = cx.units[unit].entries_tree(Some(offset)) else {
        return false;
    };
    let Ok(root) = tree.root() else {
        return false;
    };
    let mut children = root.children();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        let artificial = matches!(e.attr_value(gimli::DW_AT_artificial), Some(AttributeValue::Flag(true)));
        let name = cx.name(unit, e).unwrap_or_default();
        match e.tag() {
            gimli::DW_TAG_subprogram if !artificial => {
                if name.starts_with('~') {
                    return true;
                }
                if name == class {
                    // A constructor whose one parameter is a reference (to
                    // this class: copy or move).
                    let mut params = Vec::new();
                    let mut args = child.children();
                    while let Ok(Some(p)) = args.next() {
                        let p = p.entry();
                        let hidden = matches!(p.attr_value(gimli::DW_AT_artificial), Some(AttributeValue::Flag(true)));
                        if p.tag() == gimli::DW_TAG_formal_parameter && !hidden {
                            params.push(cx.reference(unit, p, gimli::DW_AT_type));
                        }
                    }
                    if let [Some((u, o))] = params.as_slice() {
                        let is_reference = cx.entry(*u, *o).is_ok_and(|t| {
                            matches!(
                                t.tag(),
                                gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type
                            )
                        });
                        if is_reference {
                            return true;
                        }
                    }
                }
            }
            gimli::DW_TAG_member if name.starts_with("_vptr") => return true,
            gimli::DW_TAG_inheritance | gimli::DW_TAG_member => {
                let is_static = matches!(e.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)));
                if !is_static {
                    if let Some((u, o)) = cx.reference(unit, e, gimli::DW_AT_type) {
                        if not_trivially_copyable(cx, u, o, depth + 1) {
                            return true;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    false
}

impl DebugInfo {
    /// The value the function containing `pc` returns, given the registers
    /// just after it returned (`scope` reads the memory a pointer in it
    /// points to); `None` for a `void` function, one whose type
    /// is unknown, or a value rback cannot find (a struct holding a `long
    /// double`, which goes to memory, is found; a complex one is not).
    pub fn return_value(&self, pc: u64, regs: &ReturnRegisters, scope: &Scope) -> Option<Value> {
        let module = self.modules.iter().position(|m| {
            m.image(self)
                .is_some_and(|image| image.contains(pc.wrapping_sub(m.module.bias)))
        })?;
        let cx = Cx::new(self, module)?;
        let index = self.modules[module].dwarf(self)?.functions();
        let (function, _) = index.outer_at(pc.wrapping_sub(cx.bias))?;
        let die = cx.entry(function.unit, function.die).ok()?;
        let ty = cx.type_of(function.unit, &die, false).ok()?;
        if matches!(ty.kind, Kind::Void) || ty.size == 0 {
            return None;
        }
        if matches!(ty.kind, Kind::Float) && ty.size > 8 {
            // A `long double` alone: the 80 bits of st(0), padded.
            let mut bytes = regs.st0.to_vec();
            bytes.resize(ty.size as usize, 0);
            return Some(Value::unplaced(ty, bytes));
        }
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: None,
            entry_depth: 0,
        };
        let mut classes = [Class::Empty; 2];
        let in_registers = ty.size <= 16
            && !passed_by_reference(&cx, function.unit, &die)
            && classify(&ty, 0, &mut classes, 0)
            && !classes.contains(&Class::X87);
        if !in_registers {
            // In memory the caller provided; rax says where.
            // Annotated like any value in memory: a `std::unique_ptr`
            // returned there prints through its printer.
            let bytes = scope.mem.read(regs.rax, ty.size as usize)?;
            return Some(ev.annotate(Value {
                ty,
                addr: Some(regs.rax),
                bytes: Some(bytes),
                notes: Vec::new(),
                bare: false,
                reference: None,
            }));
        }
        let mut ints = [regs.rax.to_le_bytes(), regs.rdx.to_le_bytes()].into_iter();
        let mut sses = [regs.xmm0, regs.xmm1].into_iter();
        let mut bytes = Vec::new();
        for class in classes.iter().take(ty.size.div_ceil(8) as usize) {
            let eightbyte = match class {
                Class::Sse => sses.next()?,
                _ => ints.next()?,
            };
            bytes.extend_from_slice(&eightbyte);
        }
        bytes.truncate(ty.size as usize);
        Some(ev.annotate(Value::unplaced(ty, bytes)))
    }
}
