//! gdb's `ptype`: a type written out as C declares it, a struct or union
//! with its members (anonymous ones expanded in place), an enum with its
//! constants. For C; C++ classes and Rust types are written as their name.

use super::*;

impl DebugInfo {
    /// `ptype` of a value: its type, with a struct (or the struct a pointer
    /// points to) written out member by member.
    pub fn ptype(&self, v: &Value) -> String {
        self.ptype_of(&v.ty)
    }

    /// `ptype TYPE`: what `ptype` of a pointer to TYPE (a value the REPL
    /// makes with a cast) shows for what it points to.
    pub fn ptype_target(&self, pointer: &Value) -> Option<String> {
        let Kind::Pointer { target, full, .. } = &pointer.ty.kind else {
            return None;
        };
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
