//! Types from DWARF: [`Cx`] reads type DIEs of one module into the owned
//! [`Type`] descriptions values carry, with gdb's names for them (C
//! declarators like `int (*)[3]`, Rust paths like `core::option::Option<i32>`).

use super::*;

/// The prefix of each type DIE of a unit, by offset.
type Prefixes = Rc<HashMap<usize, String>>;

thread_local! {
    /// [`Cx::scope_prefixes`] by module file and unit.
    static SCOPE_PREFIXES: RefCell<HashMap<(IndexKey, usize), Prefixes>> = RefCell::new(HashMap::new());
}

/// The DWARF of one module, with the unit the lookup is in.
#[derive(Clone, Copy)]
pub(super) struct Cx<'a> {
    pub(super) di: &'a DebugInfo,
    pub(super) module: usize,
    pub(super) dwarf: &'a gimli::Dwarf<Reader>,
    pub(super) units: &'a [gimli::Unit<Reader>],
    pub(super) bias: u64,
}

pub(super) type Die = gimli::DebuggingInformationEntry<Reader>;

impl<'a> Cx<'a> {
    pub(super) fn new(di: &'a DebugInfo, module: usize) -> Option<Cx<'a>> {
        let ms = &di.modules[module];
        let d = ms.dwarf(di)?;
        Some(Cx {
            di,
            module,
            dwarf: &d.dwarf,
            units: d.units(),
            bias: ms.module.bias,
        })
    }

    pub(super) fn entry(&self, unit: usize, offset: UnitOffset) -> Result<Die, String> {
        self.units[unit]
            .entry(offset)
            .map_err(|e| format!("cannot read DWARF: {e}"))
    }

    pub(super) fn lang(&self, unit: usize) -> Lang {
        let u = &self.units[unit];
        match u
            .entry(u.header.root_offset())
            .ok()
            .and_then(|e| e.attr_value(gimli::DW_AT_language))
        {
            Some(AttributeValue::Language(gimli::DW_LANG_Rust)) => Lang::Rust,
            Some(AttributeValue::Language(
                gimli::DW_LANG_C_plus_plus
                | gimli::DW_LANG_C_plus_plus_03
                | gimli::DW_LANG_C_plus_plus_11
                | gimli::DW_LANG_C_plus_plus_14,
            )) => Lang::Cpp,
            _ => Lang::C,
        }
    }

    pub(super) fn string(&self, unit: usize, value: AttributeValue<Reader>) -> Option<String> {
        let s = self.dwarf.attr_string(&self.units[unit], value).ok()?;
        Some(s.to_string_lossy().ok()?.into_owned())
    }

    pub(super) fn name(&self, unit: usize, die: &Die) -> Option<String> {
        self.string(unit, die.attr_value(gimli::DW_AT_name)?)
    }

    /// A DIE reference in `attr` of `die`, as (unit index, offset).
    pub(super) fn reference(&self, unit: usize, die: &Die, attr: gimli::DwAt) -> Option<(usize, UnitOffset)> {
        match die.attr_value(attr)? {
            AttributeValue::UnitRef(o) => Some((unit, o)),
            AttributeValue::DebugInfoRef(o) => self
                .units
                .iter()
                .enumerate()
                .find_map(|(i, u)| Some((i, o.to_unit_offset(&u.header)?))),
            _ => None,
        }
    }

    /// An attribute of a DIE or of the DIE it is a concrete copy of
    /// (`DW_AT_abstract_origin`) or completes (`DW_AT_specification`).
    pub(super) fn inherited(&self, unit: usize, die: &Die, attr: gimli::DwAt) -> Option<(usize, Die)> {
        let mut current = (unit, die.clone());
        for _ in 0..8 {
            if current.1.attr_value(attr).is_some() {
                return Some(current);
            }
            let next = self
                .reference(current.0, &current.1, gimli::DW_AT_abstract_origin)
                .or_else(|| self.reference(current.0, &current.1, gimli::DW_AT_specification))?;
            current = (next.0, self.entry(next.0, next.1).ok()?);
        }
        None
    }

    pub(super) fn inherited_name(&self, unit: usize, die: &Die) -> Option<String> {
        let (u, d) = self.inherited(unit, die, gimli::DW_AT_name)?;
        self.name(u, &d)
    }

    pub(super) fn type_of(&self, unit: usize, die: &Die, shallow: bool) -> Result<Type, String> {
        match self.inherited(unit, die, gimli::DW_AT_type) {
            Some((u, d)) => match self.reference(u, &d, gimli::DW_AT_type) {
                Some((tu, to)) => self.resolve(tu, to, shallow, 0),
                None => Ok(Type::simple("void", 1, Kind::Void)),
            },
            None => Ok(Type::simple("void", 1, Kind::Void)),
        }
    }

    /// The type a DIE describes. `shallow` leaves out the members of
    /// structs (a pointer's target).
    pub(super) fn resolve(&self, unit: usize, offset: UnitOffset, shallow: bool, depth: u32) -> Result<Type, String> {
        if depth > TYPE_DEPTH {
            return Err("Type nesting too deep in the debug information.".to_string());
        }
        let die = self.entry(unit, offset)?;
        let lang = self.lang(unit);
        let name = self.name(unit, &die);
        let size = die.attr_value(gimli::DW_AT_byte_size).and_then(|v| v.udata_value());
        let target = |shallow: bool| -> Result<Type, String> {
            match self.reference(unit, &die, gimli::DW_AT_type) {
                Some((u, o)) => self.resolve(u, o, shallow, depth + 1),
                None => Ok(Type {
                    lang,
                    ..Type::simple("void", 1, Kind::Void)
                }),
            }
        };
        let mut ty = match die.tag() {
            gimli::DW_TAG_base_type => {
                let encoding = match die.attr_value(gimli::DW_AT_encoding) {
                    Some(AttributeValue::Encoding(e)) => e,
                    _ => gimli::DW_ATE_signed,
                };
                let size = size.unwrap_or(0);
                let kind = match encoding {
                    gimli::DW_ATE_float => Kind::Float,
                    gimli::DW_ATE_boolean => Kind::Int {
                        signed: false,
                        char: false,
                        bool: true,
                    },
                    gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char | gimli::DW_ATE_UTF => Kind::Int {
                        signed: encoding == gimli::DW_ATE_signed_char,
                        char: true,
                        bool: false,
                    },
                    gimli::DW_ATE_signed => Kind::Int {
                        signed: true,
                        char: size == 1 && lang != Lang::Rust,
                        bool: false,
                    },
                    _ => Kind::Int {
                        signed: false,
                        char: size == 1 && lang != Lang::Rust,
                        bool: false,
                    },
                };
                let name = name.as_deref().unwrap_or("?");
                match lang {
                    Lang::Cpp => Type::simple(&cpp_canonical(name), size, kind),
                    _ => Type::simple(name, size, kind),
                }
            }
            gimli::DW_TAG_ptr_to_member_type => {
                let class_ref = self.reference(unit, &die, gimli::DW_AT_containing_type);
                let class = match class_ref {
                    Some((u, o)) => self.resolve(u, o, true, depth + 1)?.name(),
                    None => "?".to_string(),
                };
                let target = target(true)?;
                let method = matches!(target.kind, Kind::Function);
                let (left, right) = if method {
                    (format!("{} ({class}::*", target.left), format!("){}", target.right))
                } else {
                    (format!("{} {class}::*", target.left), target.right.clone())
                };
                Type {
                    left,
                    right,
                    size: size.unwrap_or(if method { 16 } else { 8 }),
                    lang,
                    kind: Kind::MemberPointer {
                        method,
                        class: class_ref.map(|(u, o)| TypeRef {
                            module: self.module,
                            unit: u,
                            offset: o.0,
                        }),
                    },
                }
            }
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => {
                let full = self.reference(unit, &die, gimli::DW_AT_type).map(|(u, o)| TypeRef {
                    module: self.module,
                    unit: u,
                    offset: o.0,
                });
                // gdb calls every Rust pointer `*mut T`, whatever DWARF names it.
                let mut target = target(true)?;
                target.lang = lang;
                let reference = match die.tag() {
                    gimli::DW_TAG_reference_type => Some("&"),
                    gimli::DW_TAG_rvalue_reference_type => Some("&&"),
                    _ => None,
                };
                let mut ty = Type::pointer_to(target, full);
                ty.size = size.unwrap_or(8);
                if let (Some(sign), Kind::Pointer { target, reference, .. }) = (reference, &mut ty.kind) {
                    *reference = true;
                    ty.left = format!("{} {sign}", target.name());
                    ty.right.clear();
                }
                ty
            }
            gimli::DW_TAG_typedef => {
                let mut ty = target(shallow)?;
                ty.left = match (name, lang) {
                    // `std::string`, as gdb names a C++ typedef.
                    (Some(n), Lang::Cpp) => self.qualified(unit, offset, &n),
                    (n, _) => n.unwrap_or_default(),
                };
                ty.right.clear();
                ty
            }
            gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type | gimli::DW_TAG_restrict_type => {
                let word = match die.tag() {
                    gimli::DW_TAG_const_type => "const",
                    gimli::DW_TAG_volatile_type => "volatile",
                    _ => "restrict",
                };
                let mut ty = target(shallow)?;
                if matches!(ty.kind, Kind::Pointer { .. }) {
                    ty.left = format!("{} {word}", ty.left);
                } else if !matches!(ty.kind, Kind::Array { .. }) {
                    ty.left = format!("{word} {}", ty.left);
                }
                ty
            }
            gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_interface_type => {
                let keyword = match die.tag() {
                    gimli::DW_TAG_union_type => "union",
                    gimli::DW_TAG_class_type => "class",
                    _ => "struct",
                };
                let display = match (&name, lang) {
                    (Some(n), Lang::Rust | Lang::Cpp) => self.qualified(unit, offset, n),
                    (Some(n), _) => format!("{keyword} {n}"),
                    (None, _) => format!("{keyword} {{...}}"),
                };
                let declaration = matches!(
                    die.attr_value(gimli::DW_AT_declaration),
                    Some(AttributeValue::Flag(true))
                );
                let kind = if shallow || declaration {
                    Kind::Struct { members: None }
                } else {
                    match self.members(unit, offset, depth)? {
                        (_, Some(variants)) => Kind::Variants(Box::new(variants)),
                        (members, None) => Kind::Struct { members: Some(members) },
                    }
                };
                Type::simple(&display, size.unwrap_or(0), kind)
            }
            gimli::DW_TAG_array_type => self.array(unit, offset, &die, shallow, depth, lang)?,
            gimli::DW_TAG_enumeration_type => self.enumeration(unit, offset, &die, name, size, depth, lang)?,
            gimli::DW_TAG_subroutine_type | gimli::DW_TAG_subprogram => {
                // A method defined out of its class has its return type on
                // the declaration it completes.
                let ret = match die.tag() {
                    gimli::DW_TAG_subprogram => {
                        let mut ret = self.type_of(unit, &die, true)?;
                        ret.lang = lang;
                        ret
                    }
                    _ => target(true)?,
                };
                let mut params = Vec::new();
                let mut tree = self.units[unit]
                    .entries_tree(Some(offset))
                    .map_err(|e| format!("cannot read DWARF: {e}"))?;
                let root = tree.root().map_err(|e| format!("cannot read DWARF: {e}"))?;
                let mut children = root.children();
                while let Ok(Some(child)) = children.next() {
                    let child = child.entry();
                    match child.tag() {
                        gimli::DW_TAG_formal_parameter => {
                            let artificial = matches!(
                                child.attr_value(gimli::DW_AT_artificial),
                                Some(AttributeValue::Flag(true))
                            );
                            if !artificial || lang != Lang::Rust {
                                let mut param = self.type_of(unit, child, true)?;
                                // gdb makes a C++ method's `this` a const
                                // pointer (GCC leaves the const out of
                                // class declarations, PR debug/43053).
                                let this = artificial && lang == Lang::Cpp && params.is_empty();
                                if this && matches!(param.kind, Kind::Pointer { .. }) && !param.left.ends_with(" const")
                                {
                                    param.left.push_str(" const");
                                }
                                params.push(param.name());
                            }
                        }
                        gimli::DW_TAG_unspecified_parameters => params.push("...".to_string()),
                        _ => {}
                    }
                }
                // Every C++ function has a prototype; DWARF says so only in C.
                let prototyped = lang == Lang::Cpp
                    || matches!(
                        die.attr_value(gimli::DW_AT_prototyped),
                        Some(AttributeValue::Flag(true))
                    );
                if lang == Lang::Rust {
                    // gdb's Rust name: `fn (i32) -> i32`, `fn ()` for unit.
                    let returns = match ret.kind {
                        Kind::Void => String::new(),
                        _ => format!(" -> {}", ret.name()),
                    };
                    return Ok(Type {
                        left: format!("fn ({}){returns}", params.join(", ")),
                        right: String::new(),
                        size: 1,
                        kind: Kind::Function,
                        lang,
                    });
                }
                let list = if params.is_empty() && prototyped {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                Type {
                    left: ret.left.clone(),
                    right: format!("({list}){}", ret.right),
                    size: 1,
                    kind: Kind::Function,
                    lang,
                }
            }
            gimli::DW_TAG_unspecified_type => Type::simple(name.as_deref().unwrap_or("void"), 0, Kind::Void),
            other => return Err(format!("unsupported type in the debug information ({other})")),
        };
        ty.lang = lang;
        Ok(ty)
    }

    /// A Rust type's name with the namespaces and types it is declared in:
    /// `core::option::Option<i32>`, as gdb names it.
    /// In C++, the integer types in it are named as gdb names them
    /// (`std::allocator<unsigned long>` for DWARF's `long unsigned int`).
    pub(super) fn qualified(&self, unit: usize, offset: UnitOffset, name: &str) -> String {
        let prefixes = self.scope_prefixes(unit);
        let full = match prefixes.get(&offset.0) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}::{name}"),
            _ => name.to_string(),
        };
        match self.lang(unit) {
            Lang::Cpp => cpp_canonical(&full),
            _ => full,
        }
    }

    /// The enclosing namespaces and types of every type DIE of a unit
    /// (`core::option` for `Option<i32>`), found in one walk of the unit
    /// and kept: DIEs do not point to their parents.
    pub(super) fn scope_prefixes(&self, unit: usize) -> Prefixes {
        let key = (module_key(self.di, self.module), unit);
        if let Some(found) = SCOPE_PREFIXES.with(|c| c.borrow().get(&key).cloned()) {
            return found;
        }
        let mut prefixes = HashMap::new();
        let mut stack: Vec<(isize, Option<String>)> = Vec::new();
        let mut entries = self.units[unit].entries();
        while let Ok(Some(e)) = entries.next_dfs() {
            let depth = e.depth();
            while stack.last().is_some_and(|(d, _)| *d >= depth) {
                stack.pop();
            }
            let scope_name = match e.tag() {
                gimli::DW_TAG_namespace
                | gimli::DW_TAG_structure_type
                | gimli::DW_TAG_class_type
                | gimli::DW_TAG_union_type
                | gimli::DW_TAG_enumeration_type => self.name(unit, e),
                _ => None,
            };
            // And C++ static members declared in a class, for their definitions.
            let in_class = matches!(e.tag(), gimli::DW_TAG_variable | gimli::DW_TAG_member)
                && matches!(e.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)));
            if e.tag() != gimli::DW_TAG_namespace && scope_name.is_some()
                || matches!(e.tag(), gimli::DW_TAG_typedef | gimli::DW_TAG_enumeration_type)
                || in_class
            {
                let parts: Vec<&str> = stack.iter().filter_map(|(_, n)| n.as_deref()).collect();
                prefixes.insert(e.offset().0, parts.join("::"));
            }
            stack.push((depth, scope_name));
        }
        let prefixes = Rc::new(prefixes);
        SCOPE_PREFIXES.with(|c| c.borrow_mut().insert(key, Rc::clone(&prefixes)));
        prefixes
    }

    /// The members of a struct, or the variants of a Rust enum.
    pub(super) fn members(
        &self,
        unit: usize,
        offset: UnitOffset,
        depth: u32,
    ) -> Result<(Vec<Member>, Option<Variants>), String> {
        let mut members = Vec::new();
        let mut variants = None;
        let mut tree = self.units[unit]
            .entries_tree(Some(offset))
            .map_err(|e| format!("cannot read DWARF: {e}"))?;
        let root = tree.root().map_err(|e| format!("cannot read DWARF: {e}"))?;
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let m = child.entry();
            if m.tag() == gimli::DW_TAG_variant_part {
                let discr = self.reference(unit, m, gimli::DW_AT_discr);
                let mut parts = Variants {
                    discr: None,
                    arms: Vec::new(),
                };
                if let Some((u, o)) = discr {
                    let d = self.entry(u, o)?;
                    let at = d
                        .attr_value(gimli::DW_AT_data_member_location)
                        .and_then(|v| v.udata_value())
                        .unwrap_or(0);
                    let size = self.type_of(u, &d, true)?.size;
                    parts.discr = Some((at, size));
                }
                let mut arms = child.children();
                while let Ok(Some(arm)) = arms.next() {
                    if arm.entry().tag() != gimli::DW_TAG_variant {
                        continue;
                    }
                    let value = arm.entry().attr_value(gimli::DW_AT_discr_value).and_then(|v| match v {
                        AttributeValue::Sdata(x) => Some(x as u64),
                        v => v.udata_value(),
                    });
                    let mut inner = arm.children();
                    while let Ok(Some(m)) = inner.next() {
                        let m = m.entry();
                        if m.tag() == gimli::DW_TAG_member {
                            if let Some(member) = self.member(unit, m, depth)? {
                                parts.arms.push((value, member));
                            }
                        }
                    }
                }
                variants = Some(parts);
                continue;
            }
            let declared = matches!(m.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)));
            let is_static = m.tag() == gimli::DW_TAG_variable || m.tag() == gimli::DW_TAG_member && declared;
            if is_static && self.lang(unit) == Lang::Cpp {
                if let (Some(name), Some((u, o))) = (self.name(unit, m), self.reference(unit, m, gimli::DW_AT_type)) {
                    let class = self.entry(unit, offset)?;
                    let qualified = self
                        .name(unit, &class)
                        .map(|c| format!("{}::{name}", self.qualified(unit, offset, &c)));
                    members.push(Member {
                        name: Some(name),
                        offset: 0,
                        bits: None,
                        ty: self.resolve(u, o, true, depth + 1)?,
                        base: false,
                        statik: qualified,
                        virtual_base: None,
                    });
                }
                continue;
            }
            if m.tag() != gimli::DW_TAG_member && m.tag() != gimli::DW_TAG_inheritance {
                continue;
            }
            if let Some(mut member) = self.member(unit, m, depth)? {
                if m.tag() == gimli::DW_TAG_inheritance {
                    member.name = None;
                    member.base = true;
                }
                members.push(member);
            }
        }
        Ok((members, variants))
    }

    pub(super) fn member(&self, unit: usize, m: &Die, depth: u32) -> Result<Option<Member>, String> {
        {
            // Static members live elsewhere.
            if matches!(m.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true))) {
                return Ok(None);
            }
            let ty = match self.reference(unit, m, gimli::DW_AT_type) {
                Some((u, o)) => self.resolve(u, o, false, depth + 1)?,
                None => return Ok(None),
            };
            let location = m.attr_value(gimli::DW_AT_data_member_location);
            let virtual_base = match &location {
                Some(AttributeValue::Exprloc(e)) => vtable_offset(e),
                _ => None,
            };
            let mut byte_offset = match location {
                Some(AttributeValue::Exprloc(e)) => constant_offset(&e).unwrap_or(0),
                Some(v) => v.udata_value().unwrap_or(0),
                None => 0,
            };
            let mut bits = None;
            if let Some(width) = m.attr_value(gimli::DW_AT_bit_size).and_then(|v| v.udata_value()) {
                let bit = m
                    .attr_value(gimli::DW_AT_data_bit_offset)
                    .and_then(|v| v.udata_value())
                    .unwrap_or(0);
                byte_offset += bit / 8;
                bits = Some((bit % 8, width));
            }
            let mut name = self.name(unit, m);
            if self.lang(unit) == Lang::Rust {
                // Tuple fields are `__0`, `__1`.
                name = name.map(|n| n.strip_prefix("__").map(str::to_string).unwrap_or(n));
            }
            Ok(Some(Member {
                name,
                offset: byte_offset,
                bits,
                ty,
                base: false,
                statik: None,
                virtual_base,
            }))
        }
    }

    pub(super) fn array(
        &self,
        unit: usize,
        offset: UnitOffset,
        die: &Die,
        shallow: bool,
        depth: u32,
        lang: Lang,
    ) -> Result<Type, String> {
        let elem = match self.reference(unit, die, gimli::DW_AT_type) {
            Some((u, o)) => self.resolve(u, o, shallow, depth + 1)?,
            None => Type::simple("void", 1, Kind::Void),
        };
        let mut counts = Vec::new();
        let mut tree = self.units[unit]
            .entries_tree(Some(offset))
            .map_err(|e| format!("cannot read DWARF: {e}"))?;
        let root = tree.root().map_err(|e| format!("cannot read DWARF: {e}"))?;
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let s = child.entry();
            if s.tag() != gimli::DW_TAG_subrange_type {
                continue;
            }
            let count = if let Some(c) = s.attr_value(gimli::DW_AT_count).and_then(|v| v.udata_value()) {
                Some(c)
            } else {
                let lower = s
                    .attr_value(gimli::DW_AT_lower_bound)
                    .and_then(|v| v.udata_value())
                    .unwrap_or(0);
                s.attr_value(gimli::DW_AT_upper_bound)
                    .and_then(|v| v.sdata_value().or_else(|| v.udata_value().map(|u| u as i64)))
                    .map(|u| (u + 1 - lower as i64).max(0) as u64)
            };
            counts.push(count);
        }
        if counts.is_empty() {
            counts.push(None);
        }
        let mut ty = elem;
        for count in counts.iter().rev() {
            let (left, right) = match lang {
                Lang::Rust => (format!("[{}; {}]", ty.name(), count.unwrap_or(0)), String::new()),
                Lang::C | Lang::Cpp => (
                    ty.left.clone(),
                    match count {
                        Some(c) => format!("[{c}]{}", ty.right),
                        None => format!("[]{}", ty.right),
                    },
                ),
            };
            ty = Type {
                left,
                right,
                size: ty.size.saturating_mul(count.unwrap_or(0)),
                lang,
                kind: Kind::Array {
                    elem: Box::new(ty),
                    count: count.unwrap_or(0),
                },
            };
        }
        Ok(ty)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn enumeration(
        &self,
        unit: usize,
        offset: UnitOffset,
        die: &Die,
        name: Option<String>,
        size: Option<u64>,
        depth: u32,
        lang: Lang,
    ) -> Result<Type, String> {
        let signed_base = match self.reference(unit, die, gimli::DW_AT_type) {
            Some((u, o)) => matches!(
                self.resolve(u, o, true, depth + 1)?.kind,
                Kind::Int { signed: true, .. }
            ),
            None => false,
        };
        let mut values = Vec::new();
        let mut tree = self.units[unit]
            .entries_tree(Some(offset))
            .map_err(|e| format!("cannot read DWARF: {e}"))?;
        let root = tree.root().map_err(|e| format!("cannot read DWARF: {e}"))?;
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_enumerator {
                continue;
            }
            let value = match e.attr_value(gimli::DW_AT_const_value) {
                Some(AttributeValue::Sdata(v)) => v,
                Some(AttributeValue::Udata(v)) => v as i64,
                Some(v) => v.sdata_value().unwrap_or(0),
                None => 0,
            };
            values.push((self.name(unit, e).unwrap_or_default(), value));
        }
        let signed = signed_base || values.iter().any(|(_, v)| *v < 0);
        // gdb's test: no negative values and no two sharing a bit.
        let mut mask = 0u64;
        let mut flag = !signed && lang != Lang::Rust;
        for (_, v) in &values {
            if *v < 0 || mask & *v as u64 != 0 {
                flag = false;
            }
            mask |= *v as u64;
        }
        let display = match (&name, lang) {
            (Some(n), Lang::Rust | Lang::Cpp) => self.qualified(unit, offset, n),
            (Some(n), Lang::C) => format!("enum {n}"),
            (None, _) => "enum {...}".to_string(),
        };
        if lang == Lang::Cpp {
            // gdb names a C++ enumerator with its scope: the enclosing
            // namespace of a plain enum (`std::_S_red`), the type of an
            // `enum class` (`Color::Red`).
            let scoped = matches!(
                die.attr_value(gimli::DW_AT_enum_class),
                Some(AttributeValue::Flag(true))
            );
            let scope = match (&name, scoped) {
                (Some(_), true) => Some(display.clone()),
                (Some(n), false) => display.strip_suffix(&format!("::{n}")).map(str::to_string),
                // An anonymous enum's constants are named in the scope it is in.
                (None, _) => self
                    .scope_prefixes(unit)
                    .get(&offset.0)
                    .filter(|p| !p.is_empty())
                    .cloned(),
            };
            if let Some(scope) = scope {
                for (constant, _) in &mut values {
                    *constant = format!("{scope}::{constant}");
                }
            }
        }
        Ok(Type::simple(
            &display,
            size.unwrap_or(4),
            Kind::Enum { signed, values, flag },
        ))
    }

    pub(super) fn full_type(&self, r: &TypeRef) -> Result<Type, String> {
        self.resolve(r.unit, UnitOffset(r.offset), false, 0)
    }
}

/// A C++ name with its integer types written as gdb writes them after
/// canonicalising C++ names: `long unsigned int` is `unsigned long`,
/// `short int` is `short`, `long long int` is `long long`.
pub(super) fn cpp_canonical(name: &str) -> String {
    const WORDS: [&str; 5] = ["long", "short", "unsigned", "signed", "int"];
    let mut out = String::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut String| {
        if run.iter().any(|w| *w == "long" || *w == "short") {
            let unsigned = run.contains(&"unsigned");
            let rest: Vec<&str> = run
                .iter()
                .copied()
                .filter(|w| *w != "int" && *w != "unsigned" && *w != "signed")
                .collect();
            if unsigned {
                out.push_str("unsigned ");
            }
            out.push_str(&rest.join(" "));
        } else {
            out.push_str(&run.join(" "));
        }
        run.clear();
    };
    let mut rest = name;
    while !rest.is_empty() {
        let word_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if word_len > 0 {
            let word = &rest[..word_len];
            if WORDS.contains(&word) {
                run.push(word);
            } else {
                flush(&mut run, &mut out);
                out.push_str(word);
            }
            rest = &rest[word_len..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        // A space between two words of one type name stays in the run.
        let joins = c == ' '
            && !run.is_empty()
            && rest[1..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .is_some_and(|w| WORDS.contains(&w));
        if !joins {
            flush(&mut run, &mut out);
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut run, &mut out);
    out
}

/// A `DW_OP_plus_uconst N` member location.
pub(super) fn constant_offset(e: &gimli::Expression<Reader>) -> Option<u64> {
    let mut r = e.0.clone();
    if r.read_u8().ok()? != gimli::DW_OP_plus_uconst.0 {
        return None;
    }
    r.read_uleb128().ok()
}

/// The vtable offset of a virtual base's location: `N` of `DW_OP_dup;
/// DW_OP_deref; DW_OP_lit<N> (or DW_OP_constu N); DW_OP_minus;
/// DW_OP_deref; DW_OP_plus`, the only form GCC and Clang emit.
pub(super) fn vtable_offset(e: &gimli::Expression<Reader>) -> Option<u64> {
    let mut r = e.0.clone();
    let mut op = || r.read_u8().ok();
    if op()? != gimli::DW_OP_dup.0 || op()? != gimli::DW_OP_deref.0 {
        return None;
    }
    let mut r2 = e.0.clone();
    r2.skip(2usize).ok()?;
    let n = match r2.read_u8().ok()? {
        lit if (gimli::DW_OP_lit0.0..=gimli::DW_OP_lit31.0).contains(&lit) => u64::from(lit - gimli::DW_OP_lit0.0),
        c if c == gimli::DW_OP_constu.0 => r2.read_uleb128().ok()?,
        _ => return None,
    };
    let rest = [r2.read_u8().ok()?, r2.read_u8().ok()?, r2.read_u8().ok()?];
    (rest == [gimli::DW_OP_minus.0, gimli::DW_OP_deref.0, gimli::DW_OP_plus.0] && r2.is_empty()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::cpp_canonical;

    #[test]
    fn cpp_integer_names_are_gdbs() {
        assert_eq!(cpp_canonical("long unsigned int"), "unsigned long");
        assert_eq!(cpp_canonical("long int"), "long");
        assert_eq!(cpp_canonical("short unsigned int"), "unsigned short");
        assert_eq!(cpp_canonical("long long int"), "long long");
        assert_eq!(cpp_canonical("unsigned int"), "unsigned int");
        assert_eq!(cpp_canonical("unsigned char"), "unsigned char");
        assert_eq!(
            cpp_canonical("std::iterator<std::random_access_iterator_tag, bool, long int, bool*, bool&>"),
            "std::iterator<std::random_access_iterator_tag, bool, long, bool*, bool&>"
        );
        assert_eq!(
            cpp_canonical("std::allocator<long unsigned int>"),
            "std::allocator<unsigned long>"
        );
        assert_eq!(cpp_canonical("geo::long_name<int>"), "geo::long_name<int>");
    }
}
