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
                    let function = fs.cx.entry(fs.unit, fs.subprogram)?;
                    let frame_base = match function.attr_value(gimli::DW_AT_frame_base) {
                        Some(AttributeValue::Exprloc(e)) => operations(&fs.cx, fs.unit, &e),
                        _ => None,
                    };
                    return Ok(said(describe_location(&fs.cx, var.unit, &die, frame_base.as_deref())));
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
                return Ok(said(describe_location(&cx, *unit, &die, None)));
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
                // gdb names the function it found, fully: a C++ one with its
                // parameters (its symbol's name), a Rust one with its path.
                let full = match self.di.language_at(addr) {
                    Some("c++") => self.di.symbolize(addr).and_then(|l| l.symbol),
                    _ => None,
                }
                .unwrap_or_else(|| f.name.clone());
                return Ok(format!("Symbol \"{full}\" is a function at address {addr:#x}."));
            }
        }
        Err(format!("No symbol \"{name}\" in current context."))
    }
}

impl DebugInfo {
    /// A C++ function's name as gdb prints its symbol: its demangled
    /// symbol, or for one without a mangled name (`main`) its name and
    /// parameter types (`main()`), as gdb makes its physical name.
    pub(crate) fn cpp_symbol_name(&self, module: usize, f: &dwarf::FunctionInfo, symbol: &str) -> Option<String> {
        if symbol.contains('(') {
            return Some(symbol.to_string());
        }
        let cx = Cx::new(self, module)?;
        let ty = cx.resolve(f.unit, f.die, true, 0).ok()?;
        let params = ty.right.strip_prefix('(')?.split(')').next()?;
        let params = if params == "void" { "" } else { params };
        Some(format!("{symbol}({})", params.replace(" *", "*").replace(" &", "&")))
    }
}

/// The operations of a DWARF expression, with their offsets; `None` if
/// one does not decode.
fn operations(
    cx: &Cx,
    unit: usize,
    expr: &gimli::Expression<Reader>,
) -> Option<Vec<(usize, gimli::Operation<Reader>)>> {
    let encoding = cx.units[unit].encoding();
    let mut ops = Vec::new();
    let mut reader = expr.0.clone();
    let start = reader.len();
    while !reader.is_empty() {
        let offset = start - reader.len();
        ops.push((offset, gimli::Operation::parse(&mut reader, encoding).ok()?));
    }
    Some(ops)
}

/// What a variable's `DW_AT_location` says, in gdb's words. A local's
/// `DW_OP_fbreg` is said relative to its function's frame base when that
/// is a register (Rust's `$rsp`); gdb gives up on the CFA that gcc uses
/// and lists the expression.
fn describe_location(
    cx: &Cx,
    unit: usize,
    die: &Die,
    frame_base: Option<&[(usize, gimli::Operation<Reader>)]>,
) -> String {
    let expr = match die.attr_value(gimli::DW_AT_location) {
        Some(AttributeValue::Exprloc(e)) => e,
        Some(AttributeValue::LocationListsRef(_) | AttributeValue::SecOffset(_)) => {
            return "multi-location (a location list, which rback does not describe)".to_string();
        }
        None if die.attr_value(gimli::DW_AT_const_value).is_some() => return "constant".to_string(),
        _ => return "optimized out".to_string(),
    };
    let Some(ops) = operations(cx, unit, &expr) else {
        return "a variable with a DWARF expression rback cannot read".to_string();
    };
    let gpr = |r: gimli::Register| GPRS.get(usize::from(r.0));
    match ops.as_slice() {
        [(_, gimli::Operation::FrameOffset { offset })] => {
            let base = match frame_base {
                Some([(_, gimli::Operation::Register { register })]) => gpr(*register).map(|r| (*r, 0)),
                Some([(_, gimli::Operation::RegisterOffset { register, offset, .. })]) => {
                    gpr(*register).map(|r| (*r, *offset))
                }
                _ => None,
            };
            match base {
                Some((reg, base)) => format!("a variable at frame base reg ${reg} offset {base}+{offset}"),
                None => listed(&ops),
            }
        }
        [(_, gimli::Operation::Address { address })] => {
            format!("static storage at address {:#x}", address.wrapping_add(cx.bias))
        }
        [(_, gimli::Operation::Register { register })] if usize::from(register.0) < GPRS.len() => {
            format!("a variable in ${}", GPRS[usize::from(register.0)])
        }
        _ => listed(&ops),
    }
}

/// A location as its DWARF expression, listed as gdb lists it.
fn listed(ops: &[(usize, gimli::Operation<Reader>)]) -> String {
    let lines: Option<Vec<String>> = ops
        .iter()
        .map(|(at, op)| operation_text(op).map(|t| format!("  {at:>4}: {t}")))
        .collect();
    match lines {
        Some(lines) => format!("a complex DWARF expression:\n{}\n", lines.join("\n")),
        None => "a variable with a DWARF expression rback cannot list".to_string(),
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
