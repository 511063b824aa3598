//! `info address NAME`: where a variable or function lives, said as gdb 13
//! says it. A local whose location is relative to a frame base that is
//! the CFA (what gcc emits on x86-64) is shown, as gdb shows it, as the
//! DWARF expression itself.

use super::*;

impl DebugInfo {
    /// gdb's `info address NAME` in the frame `scope` gives.
    pub fn describe_address(&self, name: &str, scope: &Scope) -> Result<String, String> {
        let ev = Evaluator {
            di: self,
            scope,
            history: &[],
            convenience: &[],
            frame: self.frame_scope(scope.frame),
            entry_depth: 0,
        };
        ev.describe_address(name)
    }
}

impl Evaluator<'_> {
    fn describe_address(&self, name: &str) -> Result<String, String> {
        let said = |what: String| format!("Symbol \"{name}\" is {what}.");
        if let Some(fs) = &self.frame {
            for var in fs.blocks.iter().flatten().chain(&fs.params) {
                let die = fs.cx.entry(var.unit, var.offset)?;
                if fs.cx.inherited_name(var.unit, &die).as_deref() == Some(name) {
                    return Ok(said(describe_location(&fs.cx, var.unit, &die)));
                }
            }
        }
        for module in 0..self.di.modules.len() {
            let Some(cx) = Cx::new(self.di, module) else {
                continue;
            };
            let index = global_index(self.di, module, &cx);
            if let Some((unit, offset)) = index.find(name).first() {
                let die = cx.entry(*unit, *offset)?;
                return Ok(said(describe_location(&cx, *unit, &die)));
            }
            if index.enumerators.contains_key(name) {
                return Ok(said("constant".to_string()));
            }
        }
        for (module, ms) in self.di.modules.iter().enumerate() {
            let Some(d) = ms.dwarf(self.di) else {
                continue;
            };
            if let Some(f) = d.functions().matching(name).find(|f| !f.inlined) {
                let addr = self.di.modules[module].to_load(f.ranges[0].start);
                return Ok(said(format!("a function at address {addr:#x}")));
            }
        }
        Err(format!("No symbol \"{name}\" in current context."))
    }
}

/// What a variable's `DW_AT_location` says, in gdb's words.
fn describe_location(cx: &Cx, unit: usize, die: &Die) -> String {
    let expr = match die.attr_value(gimli::DW_AT_location) {
        Some(AttributeValue::Exprloc(e)) => e,
        Some(AttributeValue::LocationListsRef(_) | AttributeValue::SecOffset(_)) => {
            return "multi-location (a location list, which rback does not describe)".to_string();
        }
        None if die.attr_value(gimli::DW_AT_const_value).is_some() => return "constant".to_string(),
        _ => return "optimized out".to_string(),
    };
    let encoding = cx.units[unit].encoding();
    let mut ops = Vec::new();
    let mut reader = expr.0.clone();
    let start = reader.len();
    while !reader.is_empty() {
        let offset = start - reader.len();
        match gimli::Operation::parse(&mut reader, encoding) {
            Ok(op) => ops.push((offset, op)),
            Err(_) => return "a variable with a DWARF expression rback cannot read".to_string(),
        }
    }
    match ops.as_slice() {
        [(_, gimli::Operation::Address { address })] => {
            format!("static storage at address {:#x}", address.wrapping_add(cx.bias))
        }
        [(_, gimli::Operation::Register { register })] if usize::from(register.0) < GPRS.len() => {
            format!("a variable in ${}", GPRS[usize::from(register.0)])
        }
        _ => match ops
            .iter()
            .map(|(at, op)| operation_text(op).map(|t| format!("  {at:>4}: {t}")))
            .collect::<Option<Vec<_>>>()
        {
            Some(lines) => format!("a complex DWARF expression:\n{}\n", lines.join("\n")),
            None => "a variable with a DWARF expression rback cannot list".to_string(),
        },
    }
}

/// One DWARF operation as gdb lists it (`DW_OP_fbreg -96`,
/// `DW_OP_breg6 -8 [$rbp]`); `None` for those this does not know.
fn operation_text(op: &gimli::Operation<Reader>) -> Option<String> {
    use gimli::Operation as Op;
    Some(match op {
        Op::FrameOffset { offset } => format!("DW_OP_fbreg {offset}"),
        Op::RegisterOffset {
            register,
            offset,
            base_type,
        } if base_type.0 == 0 && usize::from(register.0) < GPRS.len() => {
            format!("DW_OP_breg{} {offset} [${}]", register.0, GPRS[usize::from(register.0)])
        }
        Op::CallFrameCFA => "DW_OP_call_frame_cfa".to_string(),
        Op::PlusConstant { value } => format!("DW_OP_plus_uconst {value}"),
        Op::Deref { space: false, .. } => "DW_OP_deref".to_string(),
        _ => return None,
    })
}
