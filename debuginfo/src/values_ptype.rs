//! gdb's `ptype`: a type written out as C declares it, a struct or union
//! with its members (anonymous ones expanded in place), an enum with its
//! constants. A C++ class is written from its DWARF as gdb 13's
//! `c_type_print_base_struct_union` writes it ([`CppWriter`]): its base
//! classes, template arguments, data members (static ones too) under
//! access labels where they are needed, then its methods and typedefs.
//! Rust types are written as their name.

use super::*;

impl DebugInfo {
    /// `ptype` of a value: its type, with a struct (or the struct a pointer
    /// points to) written out member by member.
    pub fn ptype(&self, v: &Value) -> String {
        if v.ty.lang == Lang::Rust {
            if let Some(text) = rust_written(&v.ty, self.rust_union(&v.ty.name())) {
                return text;
            }
        }
        if v.ty.lang == Lang::Cpp {
            // A C++ reference is read through: its own type is in `reference`.
            let declared = v.reference.clone().unwrap_or_else(|| v.ty.name());
            if let Some(text) = self.cpp_ptype(&v.ty, &declared, 0) {
                return text;
            }
            if let Some(reference) = &v.reference {
                return reference.clone();
            }
        }
        self.ptype_of(&v.ty)
    }

    /// `whatis TYPE` of a C++ type named directly (`geo::Square`,
    /// `class geo::Square`, `geo::Box<int, 2>`), which gdb answers with
    /// the type's name, one level of typedef taken off (`whatis
    /// geo::length_t` is `int`). `None` when no C++ type has that name.
    pub fn whatis_named(&self, name: &str) -> Option<String> {
        let (module, unit, offset) = self
            .cpp_type_die(&type_key(name))
            .or_else(|| self.type_die(name.trim(), Lang::Rust))?;
        let cx = Cx::new(self, module)?;
        let die = cx.entry(unit, offset).ok()?;
        if die.tag() == gimli::DW_TAG_typedef {
            return Some(cx.type_of(unit, &die, true).ok()?.name());
        }
        Some(cx.resolve(unit, offset, true, 0).ok()?.name())
    }

    /// `ptype TYPE` of a C++ type named directly, typedefs followed to
    /// the type they name. `None` when no C++ type has that name.
    pub fn ptype_named(&self, name: &str) -> Option<String> {
        if let Some((module, unit, offset)) = self.type_die(name.trim(), Lang::Rust) {
            let ty = Cx::new(self, module)?.resolve(unit, offset, false, 0).ok()?;
            let union = self.rust_union(&ty.name());
            return Some(rust_written(&ty, union).unwrap_or_else(|| ty.name()));
        }
        let (module, unit, offset) = self.cpp_type_die(&type_key(name))?;
        let cx = Cx::new(self, module)?;
        let ty = cx.resolve(unit, offset, false, 0).ok()?;
        let w = CppWriter { cx, unit };
        match w.type_body(offset, 0) {
            Some(body) => Some(body),
            None => Some(self.cpp_ptype(&ty, &ty.name(), 0).unwrap_or_else(|| ty.name())),
        }
    }

    /// A C++ type written out as gdb's `ptype` does, when it is (or points
    /// to) a class, struct, union or enum found by its name, or is a
    /// typedef; `declared` is the type's name as declared (`const
    /// geo::Square *`, `geo::Shape &`).
    fn cpp_ptype(&self, ty: &Type, declared: &str, depth: u32) -> Option<String> {
        if depth > 4 {
            return None;
        }
        // A function's return type is written without its typedefs.
        if let Kind::Function = ty.kind {
            let (cv, bare) = strip_cv(&ty.left);
            let ret = self.typedef_target(bare)?;
            return Some(format!("{cv}{}", join_declarator(&ret.name(), &ty.right)));
        }
        // A typedef is written as the type it names, all typedefs gone.
        let (cv, bare) = strip_cv(declared);
        if let Some(t) = self.typedef_target(bare) {
            let inner = self.cpp_ptype(&t, &t.name(), depth + 1).unwrap_or_else(|| t.name());
            return Some(format!("{cv}{inner}"));
        }
        let mut base = ty;
        loop {
            match &base.kind {
                Kind::Pointer { target, .. } => base = target,
                Kind::Array { elem, .. } => base = elem,
                _ => break,
            }
        }
        // The declarator around the type: ` *` of a pointer, ` &` of a
        // reference, `[3]` of an array.
        let rest = declared.strip_prefix(base.left.as_str())?;
        let space = if rest.is_empty() || rest.starts_with(' ') {
            ""
        } else {
            " "
        };
        let (cv, bare) = strip_cv(&base.left);
        if let Some(t) = self.typedef_target(bare) {
            let inner = self.cpp_ptype(&t, &t.name(), depth + 1).unwrap_or_else(|| t.name());
            return Some(format!("{cv}{inner}{space}{rest}"));
        }
        if !matches!(base.kind, Kind::Struct { .. } | Kind::Enum { .. }) {
            return None;
        }
        let (module, unit, offset) = self.cpp_type_die(bare)?;
        let cx = Cx::new(self, module)?;
        let body = CppWriter { cx, unit }.type_body(offset, 0)?;
        Some(format!("{cv}{body}{space}{rest}"))
    }

    /// The type a C++ typedef named `name` names, through every typedef.
    fn typedef_target(&self, name: &str) -> Option<Type> {
        let (module, unit, offset) = self.cpp_type_die(name)?;
        let cx = Cx::new(self, module)?;
        let (mut unit, mut offset) = (unit, offset);
        let mut die = cx.entry(unit, offset).ok()?;
        if die.tag() != gimli::DW_TAG_typedef {
            return None;
        }
        for _ in 0..16 {
            if die.tag() != gimli::DW_TAG_typedef {
                break;
            }
            (unit, offset) = cx.reference(unit, &die, gimli::DW_AT_type)?;
            die = cx.entry(unit, offset).ok()?;
        }
        cx.resolve(unit, offset, false, 0).ok()
    }

    /// The DIE of the C++ type named `name` (a class, struct, union, enum
    /// or typedef of a C++ unit), in any module.
    fn cpp_type_die(&self, name: &str) -> Option<(usize, usize, UnitOffset)> {
        self.type_die(name, Lang::Cpp)
    }

    /// `ptype /o` of a C++ struct, class or union (a value's type, or the
    /// type named `name`): its data members with their offsets and sizes
    /// in a column before them, holes and padding marked, as gdb writes
    /// it. The whole line, `/* offset      |    size */  type = ...`;
    /// `None` for other types.
    pub fn ptype_offsets(&self, v: Option<&Value>, name: Option<&str>) -> Option<String> {
        // A C struct is indexed with its keyword (`struct point`).
        let (module, unit, mut offset) = match (v, name) {
            (Some(v), _) if v.ty.lang == Lang::Cpp && v.reference.is_none() => {
                let full = v.ty.name();
                self.cpp_type_die(strip_cv(&full).1)?
            }
            (Some(v), _) if v.ty.lang == Lang::C => {
                let full = v.ty.name();
                self.type_die(strip_cv(&full).1, Lang::C)?
            }
            (None, Some(name)) => self
                .cpp_type_die(&type_key(name))
                .or_else(|| self.type_die(&name.split_whitespace().collect::<Vec<_>>().join(" "), Lang::C))?,
            _ => return None,
        };
        let cx = Cx::new(self, module)?;
        let mut die = cx.entry(unit, offset).ok()?;
        let mut unit = unit;
        for _ in 0..16 {
            if die.tag() != gimli::DW_TAG_typedef {
                break;
            }
            (unit, offset) = cx.reference(unit, &die, gimli::DW_AT_type)?;
            die = cx.entry(unit, offset).ok()?;
        }
        if !matches!(
            die.tag(),
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type
        ) {
            return None;
        }
        let mut layout = Layout {
            base_bits: 0,
            end_bits: 0,
        };
        let body = CppWriter { cx, unit }.class(offset, &die, 0, Some(&mut layout));
        Some(format!("/* offset      |    size */  type = {body}"))
    }

    /// Whether the Rust type named `name` is a union: the type model
    /// does not keep Rust's keywords, its DWARF does.
    fn rust_union(&self, name: &str) -> bool {
        self.type_die(name, Lang::Rust).is_some_and(|(module, unit, offset)| {
            Cx::new(self, module)
                .and_then(|cx| cx.entry(unit, offset).ok())
                .is_some_and(|die| die.tag() == gimli::DW_TAG_union_type)
        })
    }

    /// The DIE of the type named `name` in a unit of language `lang`.
    fn type_die(&self, name: &str, lang: Lang) -> Option<(usize, usize, UnitOffset)> {
        (0..self.modules.len()).find_map(|module| {
            let cx = Cx::new(self, module)?;
            let index = global_index(self, module, &cx);
            index
                .types
                .get(name)?
                .iter()
                .find(|(unit, _)| cx.lang(*unit) == lang)
                .map(|&(unit, offset)| (module, unit, offset))
        })
    }

    /// `ptype TYPE`: what `ptype` of a pointer to TYPE (a value the REPL
    /// makes with a cast) shows for what it points to.
    pub fn ptype_target(&self, pointer: &Value) -> Option<String> {
        let Kind::Pointer { target, full, .. } = &pointer.ty.kind else {
            return None;
        };
        if target.lang == Lang::Cpp {
            if let Some(text) = self.cpp_ptype(target, &target.name(), 0) {
                return Some(text);
            }
        }
        let target = full
            .as_ref()
            .and_then(|r| Cx::new(self, r.module)?.full_type(r).ok())
            .unwrap_or_else(|| (**target).clone());
        Some(self.ptype_of(&target))
    }

    fn ptype_of(&self, ty: &Type) -> String {
        match &ty.kind {
            Kind::Pointer { target, full, .. } => {
                let target = full
                    .as_ref()
                    .and_then(|r| Cx::new(self, r.module)?.full_type(r).ok())
                    .unwrap_or_else(|| (**target).clone());
                if matches!(target.kind, Kind::Struct { members: Some(_) } | Kind::Enum { .. }) && ty.lang == Lang::C {
                    let suffix = ty.left.strip_prefix(&target.left).unwrap_or(" *").trim_start();
                    return format!("{} {suffix}{}", written(&target, 0), ty.right);
                }
                ty.name()
            }
            Kind::Struct { members: Some(_) } | Kind::Enum { .. } if ty.lang == Lang::C => {
                format!("{}{}", written(ty, 0), if ty.right.is_empty() { "" } else { " " }) + &ty.right
            }
            Kind::Array { elem, .. }
                if ty.lang == Lang::C && matches!(elem.kind, Kind::Struct { members: Some(_) }) =>
            {
                format!("{} {}", written(elem.as_ref(), 0), ty.right)
            }
            _ => ty.name(),
        }
    }
}

/// A struct, union or enum type written out, its members indented by
/// `indent` levels of four spaces more than the braces.
fn written(ty: &Type, indent: usize) -> String {
    let pad = "    ".repeat(indent);
    match &ty.kind {
        Kind::Struct { members: Some(members) } => {
            let mut out = format!("{} {{\n", ty.left);
            for m in members {
                let name = m.name.clone().unwrap_or_default();
                let bits = m.bits.map(|(_, w)| format!(" : {w}")).unwrap_or_default();
                // An anonymous struct or union is written where it is.
                let anonymous = m.ty.left.ends_with("{...}");
                let declared = if anonymous {
                    let inner = written(&m.ty, indent + 1);
                    let inner = inner.replacen("{...} {", "{", 1);
                    join_declarator(&inner, &format!("{name}{}", m.ty.right))
                } else {
                    join_declarator(&m.ty.left, &format!("{name}{}", m.ty.right))
                };
                out.push_str(&format!("{pad}    {}{bits};\n", declared.trim_end()));
            }
            out.push_str(&format!("{pad}}}"));
            out
        }
        Kind::Enum { values, .. } => {
            let mut next = 0i64;
            let constants: Vec<String> = values
                .iter()
                .map(|(name, v)| {
                    let text = if *v == next {
                        name.clone()
                    } else {
                        format!("{name} = {v}")
                    };
                    next = v + 1;
                    text
                })
                .collect();
            format!("{} {{{}}}", ty.left, constants.join(", "))
        }
        _ => ty.name(),
    }
}

/// A Rust struct, tuple struct or enum written out as gdb 13's Rust
/// `ptype` writes it (`rust_print_struct_def`): one field or variant a
/// line, each followed by a comma; a variant as `Circle(f64)` or
/// `Rect{w: u32, h: u32}`; a tuple and a unit struct by their name.
/// `None` for other types.
fn rust_written(ty: &Type, union: bool) -> Option<String> {
    let name = ty.name();
    let tuple_struct = |members: &[Member]| {
        !members.is_empty()
            && members
                .iter()
                .all(|m| m.name.as_deref().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
    };
    match &ty.kind {
        Kind::Struct { members: Some(members) } => {
            if name.starts_with('(') {
                return Some(name);
            }
            let tuple = tuple_struct(members);
            let keyword = if union { "union" } else { "struct" };
            let mut out = format!("{keyword} {name}");
            if members.is_empty() {
                return Some(out);
            }
            out.push_str(if tuple { " (" } else { " {" });
            for m in members {
                out.push_str("\n  ");
                if !tuple {
                    out.push_str(&format!("{}: ", m.name.as_deref().unwrap_or("")));
                }
                out.push_str(&format!("{},", m.ty.name()));
            }
            out.push_str(if tuple { "\n)" } else { "\n}" });
            Some(out)
        }
        Kind::Variants(variants) => {
            let mut out = format!("enum {name} {{");
            for (_, arm) in &variants.arms {
                out.push_str(&format!("\n  {}", arm.name.as_deref().unwrap_or("")));
                if let Kind::Struct { members: Some(fields) } = &arm.ty.kind {
                    if tuple_struct(fields) {
                        let types: Vec<String> = fields.iter().map(|f| f.ty.name()).collect();
                        out.push_str(&format!("({})", types.join(", ")));
                    } else if !fields.is_empty() {
                        let named: Vec<String> = fields
                            .iter()
                            .map(|f| format!("{}: {}", f.name.as_deref().unwrap_or(""), f.ty.name()))
                            .collect();
                        out.push_str(&format!("{{{}}}", named.join(", ")));
                    }
                }
                out.push(',');
            }
            out.push_str("\n}");
            Some(out)
        }
        Kind::Enum { values, .. } => {
            let mut out = format!("enum {name} {{\n");
            for (constant, _) in values {
                let short = constant
                    .strip_prefix(name.as_str())
                    .and_then(|c| c.strip_prefix("::"))
                    .unwrap_or(constant);
                out.push_str(&format!("  {short},\n"));
            }
            out.push('}');
            Some(out)
        }
        _ => None,
    }
}

/// The name a C++ type is indexed by, from what a user typed: without a
/// `class`, `struct`, `union` or `enum` keyword, spaces as gdb writes them
/// (`geo::Box<int, 2>`, `std::vector<int, std::allocator<int> >`).
fn type_key(name: &str) -> String {
    let name = name.trim();
    let name = ["class ", "struct ", "union ", "enum "]
        .iter()
        .find_map(|k| name.strip_prefix(k))
        .unwrap_or(name)
        .trim();
    let mut out = String::new();
    for c in name.chars() {
        match c {
            ' ' => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            ',' => {
                out.truncate(out.trim_end().len());
                out.push_str(", ");
            }
            '>' => {
                // `A<B<int> >`: gdb keeps a space between two closing brackets.
                if out.trim_end().ends_with('>') {
                    out.truncate(out.trim_end().len());
                    out.push(' ');
                } else {
                    out.truncate(out.trim_end().len());
                }
                out.push('>');
            }
            '<' => {
                out.truncate(out.trim_end().len());
                out.push('<');
            }
            c => {
                if out.ends_with('<') && c == ' ' {
                    continue;
                }
                out.push(c);
            }
        }
    }
    let out = out.replace("< ", "<").replace(",  ", ", ");
    cpp_canonical(out.trim())
}

/// A type's name as gdb's printer canonicalises it inside a class: the
/// whole name, else each of its template arguments (outermost first, at
/// any depth), written as the template parameter that stands for it
/// (`std::_Deque_base<_Tp, _Alloc>` for `std::_Deque_base<int,
/// std::allocator<int> >`). Class typedefs do not take part: gdb finds
/// those only for a declaration's own type ([`CppWriter::declaration`]).
fn substitute(name: &str, locals: &[Local]) -> String {
    let (cv, bare) = strip_cv(name.trim());
    if let Some(l) = locals.iter().find(|l| l.template && l.stands_for == bare) {
        return format!("{cv}{}", l.name);
    }
    if !bare.contains('<') || !locals.iter().any(|l| l.template) {
        return name.trim().to_string();
    }
    let mut out = cv;
    let mut depth = 0usize;
    let mut args: Vec<String> = Vec::new();
    let mut arg = String::new();
    for c in bare.chars() {
        match c {
            '<' if depth == 0 => {
                depth = 1;
                out.push('<');
            }
            '<' => {
                depth += 1;
                arg.push(c);
            }
            ',' if depth == 1 => args.push(std::mem::take(&mut arg)),
            '>' if depth == 1 => {
                depth = 0;
                args.push(std::mem::take(&mut arg));
                let written: Vec<String> = args.drain(..).map(|a| substitute(&a, locals)).collect();
                let list = written.join(", ");
                out.push_str(&list);
                // `A<B<int> >`: gdb keeps a space between closing brackets.
                if list.ends_with('>') {
                    out.push(' ');
                }
                out.push('>');
            }
            '>' => {
                depth = depth.saturating_sub(1);
                arg.push(c);
            }
            c if depth == 0 => out.push(c),
            c => arg.push(c),
        }
    }
    out
}

/// `const ` and `volatile ` at the start of a type's name, and the rest.
fn strip_cv(name: &str) -> (String, &str) {
    let mut cv = String::new();
    let mut rest = name;
    loop {
        if let Some(r) = rest.strip_prefix("const ") {
            cv.push_str("const ");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("volatile ") {
            cv.push_str("volatile ");
            rest = r;
        } else {
            return (cv, rest);
        }
    }
}

/// The width of `ptype /o`'s column of offsets and sizes
/// (`/* offset      |    size */ `).
const OFFSET_COLUMN: usize = 27;

/// Where `ptype /o` is in a struct, as gdb's `print_offset_data`: the
/// bit offset of the struct in the outermost one, and the bit where the
/// last member written ended (0 before the first: a vtable pointer is
/// no hole).
struct Layout {
    base_bits: u64,
    end_bits: u64,
}

impl Layout {
    /// The column for a member at bit `bit_pos` of its struct, of `size`
    /// bytes (`bits` wide for a bit field), after a line for the hole
    /// before it if there is one.
    fn field(&mut self, in_union: bool, bit_pos: u64, size: u64, bits: Option<u64>) -> String {
        if in_union {
            // Members of a union have no offsets of their own.
            return format!("/*                {size:>6} */");
        }
        let mut out = self.hole(bit_pos, "hole");
        let at = self.base_bits + bit_pos;
        match bits {
            Some(_) => out.push_str(&format!("/* {:>6}:{:>2}  ", at / 8, at % 8)),
            None => out.push_str(&format!("/* {:>6}     ", at / 8)),
        }
        out.push_str(&format!(" |  {size:>6} */"));
        self.end_bits = bit_pos + bits.unwrap_or(size * 8);
        out
    }

    /// gdb's `maybe_print_hole`: the bits and bytes between the last
    /// member and `bit_pos`.
    fn hole(&self, bit_pos: u64, what: &str) -> String {
        let mut out = String::new();
        if self.end_bits > 0 && self.end_bits < bit_pos {
            let hole = bit_pos - self.end_bits;
            if !hole.is_multiple_of(8) {
                out.push_str(&format!("/* XXX {:>2}-bit {what:<7}   */\n", hole % 8));
            }
            if hole / 8 > 0 {
                out.push_str(&format!("/* XXX {:>2}-byte {what:<7}   */\n", hole / 8));
            }
        }
        out
    }
}

/// Access to a member, as DWARF's `DW_AT_accessibility` says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Access {
    Public,
    Protected,
    Private,
}

impl Access {
    fn label(self) -> &'static str {
        match self {
            Access::Public => "public:",
            Access::Protected => "protected:",
            Access::Private => "private:",
        }
    }
}

/// Writes C++ types from one unit's DWARF the way gdb 13's C++ type
/// printer does.
struct CppWriter<'a> {
    cx: Cx<'a>,
    unit: usize,
}

/// A name a type is written as inside a class: a template parameter
/// (`T` for `int`) or one of the class's typedefs, which gdb's printer
/// puts in place of the type they stand for.
struct Local {
    name: String,
    stands_for: String,
    /// A template parameter, rather than a typedef of the class.
    template: bool,
}

impl CppWriter<'_> {
    fn die(&self, offset: UnitOffset) -> Option<Die> {
        self.cx.entry(self.unit, offset).ok()
    }

    fn flag(die: &Die, attr: gimli::DwAt) -> bool {
        matches!(die.attr_value(attr), Some(AttributeValue::Flag(true)))
    }

    /// The children of a DIE, in order.
    fn children(&self, offset: UnitOffset) -> Vec<Die> {
        let mut out = Vec::new();
        let Ok(mut tree) = self.cx.units[self.unit].entries_tree(Some(offset)) else {
            return out;
        };
        let Ok(root) = tree.root() else {
            return out;
        };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            out.push(child.entry().clone());
        }
        out
    }

    fn access(die: &Die, default: Access) -> Access {
        match die.attr_value(gimli::DW_AT_accessibility) {
            Some(AttributeValue::Accessibility(gimli::DW_ACCESS_public)) => Access::Public,
            Some(AttributeValue::Accessibility(gimli::DW_ACCESS_protected)) => Access::Protected,
            Some(AttributeValue::Accessibility(gimli::DW_ACCESS_private)) => Access::Private,
            _ => default,
        }
    }

    /// The type `die` refers to (its `DW_AT_type`), by name; `void` when
    /// there is none.
    fn type_of(&self, die: &Die) -> Option<Type> {
        match self.cx.reference(self.unit, die, gimli::DW_AT_type) {
            Some((u, o)) => self.cx.resolve(u, o, true, 0).ok(),
            None => Some(Type {
                lang: Lang::Cpp,
                ..Type::simple("void", 1, Kind::Void)
            }),
        }
    }

    /// A type as a member or parameter declares it, with `name` in its
    /// declarator (`T items[2]`, `const char *name`). As in gdb's
    /// `c_print_type_1`, a type that a local name stands for (a template
    /// parameter or a class typedef) is written as that name; otherwise
    /// its innermost type's name is canonicalised with the template
    /// parameters ([`substitute`]).
    fn declaration(&self, ty: &Type, name: &str, locals: &[Local]) -> String {
        let named = ty.right.is_empty() && !ty.left.ends_with(['*', '&', '(']);
        if named {
            let (cv, bare) = strip_cv(&ty.left);
            if let Some(l) = locals.iter().find(|l| l.stands_for == bare) {
                return join_declarator(&format!("{cv}{}", l.name), name).trim_end().to_string();
            }
        }
        let mut base = ty;
        loop {
            match &base.kind {
                Kind::Pointer { target, .. } => base = target,
                Kind::Array { elem, .. } => base = elem,
                _ => break,
            }
        }
        let left = match ty.left.strip_prefix(base.left.as_str()) {
            Some(rest) => format!("{}{rest}", substitute(&base.left, locals)),
            None => ty.left.clone(),
        };
        let text = if left.ends_with('&') {
            format!("{left}{name}{}", ty.right)
        } else {
            join_declarator(&left, &format!("{name}{}", ty.right))
        };
        text.trim_end().to_string()
    }

    /// A struct, class, union or enum DIE written out in full (gdb's
    /// `show > 0`), its members indented by `level` spaces more than the
    /// outermost braces; a typedef is followed to its type. `None` for
    /// other types.
    fn type_body(&self, offset: UnitOffset, level: usize) -> Option<String> {
        let mut offset = offset;
        let mut die = self.die(offset)?;
        for _ in 0..16 {
            if die.tag() != gimli::DW_TAG_typedef {
                break;
            }
            let (u, o) = self.cx.reference(self.unit, &die, gimli::DW_AT_type)?;
            if u != self.unit {
                return CppWriter { cx: self.cx, unit: u }.type_body(o, level);
            }
            offset = o;
            die = self.die(offset)?;
        }
        match die.tag() {
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
                Some(self.class(offset, &die, level, None))
            }
            gimli::DW_TAG_enumeration_type => self.enumeration(offset, &die),
            _ => None,
        }
    }

    fn enumeration(&self, offset: UnitOffset, die: &Die) -> Option<String> {
        let ty = self.cx.resolve(self.unit, offset, false, 0).ok()?;
        let Kind::Enum { values, .. } = &ty.kind else {
            return None;
        };
        let mut out = String::from("enum ");
        if Self::flag(die, gimli::DW_AT_enum_class) {
            out.push_str("class ");
        }
        if self.cx.name(self.unit, die).is_some() {
            out.push_str(&ty.left);
            out.push(' ');
        }
        // gdb names the underlying type when DWARF gives one.
        if let Some(underlying) = self.cx.reference(self.unit, die, gimli::DW_AT_type) {
            let u = self.cx.resolve(underlying.0, underlying.1, true, 0).ok()?;
            out.push_str(&format!(": {} ", u.name()));
        }
        let mut last = 0i64;
        let constants: Vec<String> = values
            .iter()
            .map(|(name, v)| {
                let text = if *v == last {
                    name.clone()
                } else {
                    format!("{name} = {v}")
                };
                last = v.wrapping_add(1);
                text
            })
            .collect();
        out.push_str(&format!("{{{}}}", constants.join(", ")));
        Some(out)
    }

    /// A class written out as gdb's `c_type_print_base_struct_union` does.
    fn class(&self, offset: UnitOffset, die: &Die, level: usize, mut layout: Option<&mut Layout>) -> String {
        let keyword = match die.tag() {
            gimli::DW_TAG_union_type => "union",
            gimli::DW_TAG_class_type => "class",
            _ => "struct",
        };
        let declared_class = die.tag() == gimli::DW_TAG_class_type;
        let default = if declared_class {
            Access::Private
        } else {
            Access::Public
        };
        let own_name = self.cx.name(self.unit, die);
        let mut out = format!("{keyword} ");
        if let Some(n) = &own_name {
            out.push_str(&self.cx.qualified(self.unit, offset, n));
            out.push(' ');
        }
        let children = self.children(offset);
        let mut locals = Vec::new();
        // Template arguments that are types: `[with T = int] `.
        let mut with = Vec::new();
        for c in &children {
            if c.tag() == gimli::DW_TAG_template_type_parameter {
                let (Some(name), Some(ty)) = (self.cx.name(self.unit, c), self.type_of(c)) else {
                    continue;
                };
                with.push(format!("{name} = {}", ty.name()));
                locals.push(Local {
                    name,
                    stands_for: strip_cv(&ty.name()).1.to_string(),
                    template: true,
                });
            }
        }
        if !with.is_empty() {
            out.push_str(&format!("[with {}] ", with.join(", ")));
        }
        let bases: Vec<&Die> = children
            .iter()
            .filter(|c| c.tag() == gimli::DW_TAG_inheritance)
            .collect();
        for (i, b) in bases.iter().enumerate() {
            out.push_str(if i == 0 { ": " } else { ", " });
            let access = match Self::access(b, default) {
                Access::Public => "public",
                Access::Protected => "protected",
                Access::Private => "private",
            };
            let virtual_ = match b.attr_value(gimli::DW_AT_virtuality) {
                Some(AttributeValue::Virtuality(v)) if v != gimli::DW_VIRTUALITY_none => " virtual",
                _ => "",
            };
            let name = self
                .type_of(b)
                .map(|t| substitute(&t.name(), &locals))
                .unwrap_or_default();
            out.push_str(&format!("{access}{virtual_} {name}"));
        }
        if !bases.is_empty() {
            out.push(' ');
        }
        out.push_str("{\n");
        // In the body, the class's own typedefs and its bases' also stand
        // for types (not in the names of its bases, written before).
        self.typedef_locals(offset, &mut locals, 0);

        let is_field = |c: &Die| {
            c.tag() == gimli::DW_TAG_member
                || c.tag() == gimli::DW_TAG_variable && c.attr_value(gimli::DW_AT_name).is_some()
        };
        let fields: Vec<&Die> = children.iter().filter(|c| is_field(c)).collect();
        let methods: Vec<&Die> = children
            .iter()
            .filter(|c| c.tag() == gimli::DW_TAG_subprogram)
            .collect();
        let typedefs: Vec<&Die> = children.iter().filter(|c| c.tag() == gimli::DW_TAG_typedef).collect();
        let pad = " ".repeat(level);
        // `ptype /o` puts each line after a column of offsets and sizes.
        let column = if layout.is_some() {
            " ".repeat(OFFSET_COLUMN)
        } else {
            String::new()
        };
        if fields.is_empty() && bases.is_empty() && methods.is_empty() && typedefs.is_empty() {
            let incomplete = Self::flag(die, gimli::DW_AT_declaration);
            let what = if incomplete {
                "<incomplete type>"
            } else {
                "<no data fields>"
            };
            out.push_str(&format!("{column}{pad}    {what}\n"));
        }
        // gdb's `need_access_label_p`: a class needs labels when anything
        // in it is not private, a struct when anything is not public.
        // gdb makes artificial members (a vtable pointer) private.
        let accesses = fields.iter().chain(&methods).chain(&typedefs).map(|c| {
            match c.tag() == gimli::DW_TAG_member && Self::flag(c, gimli::DW_AT_artificial) {
                true => Access::Private,
                false => Self::access(c, default),
            }
        });
        let need_labels = if declared_class {
            accesses.into_iter().any(|a| a != Access::Private)
        } else {
            accesses.into_iter().any(|a| a != Access::Public)
        };
        let mut section: Option<Access> = None;
        let label = |out: &mut String, access: Access, section: &mut Option<Access>| {
            if *section != Some(access) {
                *section = Some(access);
                out.push_str(&format!("{column}{pad}  {}\n", access.label()));
            }
        };
        for f in &fields {
            if Self::flag(f, gimli::DW_AT_artificial) {
                continue;
            }
            if need_labels {
                label(&mut out, Self::access(f, default), &mut section);
            }
            let is_static = f.tag() == gimli::DW_TAG_variable || Self::flag(f, gimli::DW_AT_declaration);
            let name = self.cx.name(self.unit, f).unwrap_or_default();
            let ty = match self.cx.reference(self.unit, f, gimli::DW_AT_type) {
                Some((u, o)) => self.cx.resolve(u, o, true, 0).ok(),
                None => None,
            };
            let Some(ty) = ty else {
                continue;
            };
            let anonymous = self
                .cx
                .reference(self.unit, f, gimli::DW_AT_type)
                .filter(|(u, _)| *u == self.unit)
                .and_then(|(_, o)| Some((o, self.die(o)?)))
                .filter(|(_, d)| {
                    matches!(
                        d.tag(),
                        gimli::DW_TAG_structure_type
                            | gimli::DW_TAG_class_type
                            | gimli::DW_TAG_union_type
                            | gimli::DW_TAG_enumeration_type
                    ) && self.cx.name(self.unit, d).is_none()
                });
            let size = ty.size;
            // Its line's offset and size for `ptype /o` (a static member
            // has none), and where an expanded struct's members start.
            let mut inner = None;
            let prefix = match layout.as_deref_mut() {
                None => String::new(),
                Some(_) if is_static => " ".repeat(OFFSET_COLUMN),
                Some(l) => {
                    let bit_size = f.attr_value(gimli::DW_AT_bit_size).and_then(|v| v.udata_value());
                    let bit_pos = f
                        .attr_value(gimli::DW_AT_data_bit_offset)
                        .and_then(|v| v.udata_value())
                        .or_else(|| {
                            f.attr_value(gimli::DW_AT_data_member_location)
                                .and_then(|v| v.udata_value())
                                .map(|b| b * 8)
                        })
                        .unwrap_or(0);
                    let line = l.field(die.tag() == gimli::DW_TAG_union_type, bit_pos, size, bit_size);
                    inner = Some(Layout {
                        base_bits: l.base_bits + bit_pos,
                        end_bits: l.end_bits.wrapping_sub(size * 8),
                    });
                    line
                }
            };
            // With `/o`, a member of a struct type is written out too.
            let expanded = match (&inner, self.cx.reference(self.unit, f, gimli::DW_AT_type)) {
                (Some(_), Some((u, o))) if u == self.unit && anonymous.is_none() => self
                    .die(o)
                    .filter(|d| {
                        matches!(
                            d.tag(),
                            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type
                        )
                    })
                    .map(|d| (o, d)),
                _ => None,
            };
            let declared = match anonymous.or(expanded) {
                // An anonymous struct, union or enum is written where it is.
                Some((o, d)) => {
                    let body = match d.tag() {
                        gimli::DW_TAG_enumeration_type => self.enumeration(o, &d).unwrap_or_default(),
                        _ => self.class(o, &d, level + 4, inner.as_mut()),
                    };
                    if name.is_empty() {
                        body
                    } else {
                        format!("{body} {name}")
                    }
                }
                None => self.declaration(&ty, &name, &locals),
            };
            let bits = f
                .attr_value(gimli::DW_AT_bit_size)
                .and_then(|v| v.udata_value())
                .filter(|_| !is_static)
                .map(|w| format!(" : {w}"))
                .unwrap_or_default();
            let word = if is_static { "static " } else { "" };
            out.push_str(&format!("{prefix}{pad}    {word}{declared}{bits};\n"));
        }
        if let Some(l) = layout {
            // `ptype /o` leaves methods and typedefs out. gdb's
            // `print_offset_data::finish`: the padding at the end,
            // the size, and the closing brace under the column.
            let size = die
                .attr_value(gimli::DW_AT_byte_size)
                .and_then(|v| v.udata_value())
                .unwrap_or(0);
            out.push_str(&l.hole(size * 8, "padding"));
            out.push_str(&format!("\n{column}{pad}    /* total size (bytes): {size:>4} */\n"));
            let lead = if level == 0 { "  " } else { "" };
            out.push_str(&format!("{column}{lead}{pad}}}"));
            return out;
        }
        let shown: Vec<&&Die> = methods
            .iter()
            .filter(|m| !Self::flag(m, gimli::DW_AT_artificial))
            .collect();

        if !shown.is_empty() && section.is_some() {
            out.push('\n');
        }
        // Methods of one name together, in the order names first appear.
        let mut order: Vec<String> = Vec::new();
        for m in &shown {
            let name = self.cx.name(self.unit, m).unwrap_or_default();
            if !order.contains(&name) {
                order.push(name);
            }
        }
        let unqualified = own_name.as_deref().unwrap_or("");
        let class_stem = unqualified.split('<').next().unwrap_or("");
        for name in &order {
            for m in shown
                .iter()
                .filter(|m| self.cx.name(self.unit, m).as_deref() == Some(name.as_str()))
            {
                label(&mut out, Self::access(m, default), &mut section);
                let written = self.method(m, &cpp_canonical(name), class_stem, &locals);
                out.push_str(&format!("{pad}    {written};\n"));
            }
        }
        if !typedefs.is_empty() {
            if !fields.is_empty() || !bases.is_empty() || !methods.is_empty() {
                out.push('\n');
            }
            for t in &typedefs {
                if need_labels {
                    label(&mut out, Self::access(t, default), &mut section);
                }
                let name = self.cx.name(self.unit, t).unwrap_or_default();
                let target = self.type_of(t).map(|ty| self.declaration(&ty, &name, &locals));
                out.push_str(&format!("{pad}    typedef {};\n", target.unwrap_or(name)));
            }
        }
        out.push_str(&format!("{pad}}}"));
        out
    }

    /// The typedefs declared in a class and its bases, as names that
    /// stand for their types.
    fn typedef_locals(&self, offset: UnitOffset, locals: &mut Vec<Local>, depth: u32) {
        if depth > 8 {
            return;
        }
        for c in self.children(offset) {
            match c.tag() {
                gimli::DW_TAG_typedef => {
                    if let Some(name) = self.cx.name(self.unit, &c) {
                        let stands_for = self.cx.qualified(self.unit, c.offset(), &name);
                        locals.push(Local {
                            name,
                            stands_for,
                            template: false,
                        });
                    }
                }
                gimli::DW_TAG_inheritance => {
                    if let Some((u, o)) = self.cx.reference(self.unit, &c, gimli::DW_AT_type) {
                        if u == self.unit {
                            self.typedef_locals(o, locals, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A method as gdb's `cp_type_print_method_args` writes it:
    /// `virtual int area(void) const`, `Square(int)`, `static T make(void)`.
    fn method(&self, m: &Die, name: &str, class_stem: &str, locals: &[Local]) -> String {
        let mut out = String::new();
        let params: Vec<Die> = self
            .children(m.offset())
            .into_iter()
            .filter(|c| {
                matches!(
                    c.tag(),
                    gimli::DW_TAG_formal_parameter | gimli::DW_TAG_unspecified_parameters
                )
            })
            .collect();
        let this = params
            .first()
            .filter(|p| p.tag() == gimli::DW_TAG_formal_parameter && Self::flag(p, gimli::DW_AT_artificial));
        if m.attr_value(gimli::DW_AT_vtable_elem_location).is_some() {
            out.push_str("virtual ");
        } else if this.is_none() {
            out.push_str("static ");
        }
        let constructor = name == class_stem || name.starts_with('~');
        let conversion = name
            .strip_prefix("operator ")
            .is_some_and(|r| !r.starts_with("new") && !r.starts_with("delete"));
        if !constructor && !conversion {
            let ret = self.type_of(m).map(|t| self.declaration(&t, "", locals));
            out.push_str(&ret.unwrap_or_default());
            out.push(' ');
        }
        let mut args = Vec::new();
        let mut varargs = false;
        for p in &params {
            if p.tag() == gimli::DW_TAG_unspecified_parameters {
                varargs = true;
            } else if !Self::flag(p, gimli::DW_AT_artificial) {
                args.push(
                    self.type_of(p)
                        .map(|t| self.declaration(&t, "", locals))
                        .unwrap_or_default(),
                );
            }
        }
        let list = match (args.is_empty(), varargs) {
            (true, true) => "...".to_string(),
            (true, false) => "void".to_string(),
            (false, true) => format!("{}, ...", args.join(", ")),
            (false, false) => args.join(", "),
        };
        out.push_str(&format!("{name}({list})"));
        // The qualifiers of the object `this` points to.
        if let Some(Kind::Pointer { target, .. }) = this.and_then(|t| self.type_of(t)).map(|t| t.kind) {
            let (cv, _) = strip_cv(&target.left);
            for word in ["const", "volatile"] {
                if cv.split_whitespace().any(|w| w == word) {
                    out.push_str(&format!(" {word}"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{substitute, type_key, Local};

    #[test]
    fn type_names_are_keyed_as_gdb_writes_them() {
        assert_eq!(type_key("class geo::Square"), "geo::Square");
        assert_eq!(type_key("geo::Box<int,2>"), "geo::Box<int, 2>");
        assert_eq!(
            type_key(" std::vector<std::vector<int>>"),
            "std::vector<std::vector<int> >"
        );
        assert_eq!(
            type_key("std::allocator<long unsigned int>"),
            "std::allocator<unsigned long>"
        );
    }

    #[test]
    fn template_parameters_replace_whole_arguments_outermost_first() {
        let locals = [
            Local {
                name: "_Tp".to_string(),
                stands_for: "int".to_string(),
                template: true,
            },
            Local {
                name: "_Alloc".to_string(),
                stands_for: "std::allocator<int>".to_string(),
                template: true,
            },
            Local {
                name: "size_type".to_string(),
                stands_for: "unsigned long".to_string(),
                template: false,
            },
        ];
        assert_eq!(
            substitute("std::_Deque_base<int, std::allocator<int> >", &locals),
            "std::_Deque_base<_Tp, _Alloc>"
        );
        assert_eq!(substitute("const int", &locals), "const _Tp");
        assert_eq!(substitute("std::less<long>", &locals), "std::less<long>");
        // Class typedefs stand only for a declaration's own type.
        assert_eq!(
            substitute("std::pair<unsigned long, int>", &locals),
            "std::pair<unsigned long, _Tp>"
        );
    }
}
