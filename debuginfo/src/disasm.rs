//! Disassembly with capstone, in AT&T syntax like gdb's default, with
//! gdb's annotations: `<func+off>` after a call or jump target and
//! `# 0xaddr <symbol>` after a `%rip`-relative operand.

use capstone::arch::x86::{ArchMode, ArchSyntax, X86OperandType, X86Reg};
use capstone::arch::{ArchOperand, BuildsCapstone, BuildsCapstoneSyntax};
use capstone::{Capstone, InsnGroupType, RegId};

use super::{DebugInfo, Memory};

/// One decoded instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub address: u64,
    pub bytes: Vec<u8>,
    pub mnemonic: String,
    pub operands: String,
    /// What gdb prints: `call   0x401136 <deep>`, `lea    0xe9f(%rip),%rax        # 0x402004`.
    pub text: String,
    /// The instruction's own place, `main+4`, if a symbol covers it.
    pub symbol: Option<String>,
    /// The target of a direct call or jump.
    pub target: Option<u64>,
}

/// The longest x86 instruction.
const MAX_INSN: usize = 15;

impl DebugInfo {
    /// The instructions in `[start, start + len)`; the last one may run past
    /// the end. Stops early where memory cannot be read or does not decode.
    /// The bytes come from `mem`: a caller that has inserted breakpoints must
    /// show the original bytes through it.
    pub fn disassemble(&self, mem: &dyn Memory, start: u64, len: usize) -> Vec<Instruction> {
        let mut out = self.decode(mem, start, len + MAX_INSN, usize::MAX);
        out.retain(|i| i.address < start + len as u64);
        out
    }

    /// `count` instructions from `start` (gdb's `x/Ni`).
    pub fn disassemble_count(&self, mem: &dyn Memory, start: u64, count: usize) -> Vec<Instruction> {
        self.decode(mem, start, count * MAX_INSN, count)
    }

    fn decode(&self, mem: &dyn Memory, start: u64, len: usize, count: usize) -> Vec<Instruction> {
        let code = read_prefix(mem, start, len);
        let Ok(cs) = Capstone::new()
            .x86()
            .mode(ArchMode::Mode64)
            .syntax(ArchSyntax::Att)
            .detail(true)
            .build()
        else {
            return Vec::new();
        };
        let Ok(insns) = cs.disasm_count(&code, start, count.min(code.len())) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for insn in insns.iter() {
            let (mnemonic, operands) = match insn.bytes() {
                // The two-byte nop, which objdump spells as what it is.
                [0x66, 0x90] => ("xchg".to_string(), "%ax,%ax".to_string()),
                _ => gdb_style(insn.mnemonic().unwrap_or(""), insn.op_str().unwrap_or("")),
            };
            let mut text = if operands.is_empty() {
                mnemonic.clone()
            } else {
                format!("{mnemonic:<6} {operands}")
            };
            let mut target = None;
            if let Ok(detail) = cs.insn_detail(insn) {
                let branch = detail.groups().iter().any(|g| {
                    u32::from(g.0) == InsnGroupType::CS_GRP_JUMP || u32::from(g.0) == InsnGroupType::CS_GRP_CALL
                });
                let next = insn.address() + insn.len() as u64;
                // Only x86 is built into capstone (see Cargo.toml).
                for ArchOperand::X86Operand(op) in detail.arch_detail().operands() {
                    match op.op_type {
                        X86OperandType::Imm(v) if branch => {
                            target = Some(v as u64);
                            if let Some(label) = self.code_label(v as u64) {
                                text.push_str(&format!(" <{label}>"));
                            }
                        }
                        X86OperandType::Mem(m) if m.base() == RegId(X86Reg::X86_REG_RIP as u16) => {
                            let addr = next.wrapping_add(m.disp() as u64);
                            text.push_str(&format!("        # {addr:#x}"));
                            if let Some(label) = self.data_label(addr) {
                                text.push_str(&format!(" <{label}>"));
                            }
                        }
                        _ => {}
                    }
                }
            }
            out.push(Instruction {
                address: insn.address(),
                bytes: insn.bytes().to_vec(),
                mnemonic,
                operands,
                text,
                symbol: self.code_label(insn.address()),
                target,
            });
        }
        out
    }

    /// `func+off` for a code address.
    fn code_label(&self, addr: u64) -> Option<String> {
        self.symbolize(addr)?.symbol_with_offset()
    }

    /// `name+off` for a data (or code) address.
    fn data_label(&self, addr: u64) -> Option<String> {
        let ms = self.module_at(addr)?;
        let link = ms.to_link(addr);
        let symbols = ms.symbols(self);
        // Only a symbol that really contains the address: a sizeless code
        // symbol before some `.rodata` says nothing about it.
        let s = symbols
            .object_at(link)
            .or_else(|| symbols.function_at(link).filter(|s| link < s.addr + s.size))?;
        Some(match link - s.addr {
            0 => s.name.clone(),
            off => format!("{}+{off}", s.name),
        })
    }
}

/// As many bytes from `start` as can be read, up to `len`: a read that
/// crosses into an unmapped page still yields the bytes before it.
fn read_prefix(mem: &dyn Memory, start: u64, len: usize) -> Vec<u8> {
    if let Some(bytes) = mem.read(start, len) {
        return bytes;
    }
    // Read a page at a time, and near the failure ever smaller pieces, down
    // to single bytes.
    let mut out = Vec::new();
    let mut addr = start;
    let mut chunk = (0x1000 - (addr & 0xfff)) as usize;
    while out.len() < len {
        chunk = chunk.min(len - out.len());
        match mem.read(addr, chunk) {
            Some(bytes) => {
                out.extend(bytes);
                addr += chunk as u64;
                chunk = 0x1000;
            }
            None if chunk > 1 => chunk /= 2,
            None => break,
        }
    }
    out
}

/// Rewrites capstone's AT&T text the way gdb (through objdump's printer)
/// shows it: operands separated by `,` alone, numbers in hex (`$0x3`,
/// `-0x4(%rbp)`; a scale stays decimal), and no size suffix where a
/// register operand already gives the size (`mov %rsp,%rbp`, but
/// `movl $0x0,-0x4(%rbp)`), nor on `call`, `ret`, `jmp`, `push`, `pop`
/// and `leave`, which have only one size in 64-bit code.
pub(super) fn gdb_style(mnemonic: &str, op_str: &str) -> (String, String) {
    let operands = explicit_scale(&hex_numbers(&op_str.replace(", ", ",")));
    const ALWAYS: [&str; 6] = ["call", "ret", "jmp", "push", "pop", "leave"];
    const SIZED: [&str; 24] = [
        "mov", "add", "sub", "and", "or", "xor", "cmp", "test", "lea", "inc", "dec", "neg", "not", "shl", "shr", "sar",
        "sal", "imul", "adc", "sbb", "xchg", "rol", "ror", "xadd",
    ];
    let base = mnemonic.strip_suffix(['b', 'w', 'l', 'q']);
    let has_register = top_level_operands(&operands).any(|op| op.starts_with('%') && !op.contains(':'));
    // `movq %rax,%xmm0` keeps its suffix: without it, it would read as a
    // general-register move.
    let vector = top_level_operands(&operands).any(|op| op.starts_with("%xmm") || op.starts_with("%mm"));
    let general = top_level_operands(&operands)
        .any(|op| op.starts_with('%') && !op.contains(':') && !op.starts_with("%xmm") && !op.starts_with("%mm"));
    let mnemonic = match base {
        Some(base) if mnemonic.ends_with('q') && ALWAYS.contains(&base) => base,
        Some(base) if has_register && !vector && (SIZED.contains(&base) || base.starts_with("cmov")) => base,
        // An integer converted to floating point: the register names the size.
        Some(base) if general && matches!(base, "cvtsi2sd" | "cvtsi2ss") => base,
        _ => mnemonic,
    };
    (mnemonic.to_string(), operands)
}

/// Memory operands with an index register and its scale written out, as
/// gdb (objdump) writes them: `(%rdx,%rax,1)` where capstone leaves the
/// scale 1 out (`(%rdx,%rax)`).
fn explicit_scale(operands: &str) -> String {
    let mut out = String::with_capacity(operands.len() + 4);
    let mut rest = operands;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..=open]);
        let inside = &rest[open + 1..close];
        out.push_str(inside);
        let parts: Vec<&str> = inside.split(',').collect();
        if parts.len() == 2 && parts[1].starts_with('%') {
            out.push_str(",1");
        }
        out.push(')');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The operands of an AT&T operand list (commas inside parentheses do not
/// separate operands).
fn top_level_operands(operands: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0;
    operands
        .split(move |c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            c == ',' && depth == 0
        })
        .filter(|s| !s.is_empty())
}

/// Decimal numbers outside parentheses (immediates, displacements) in hex.
fn hex_numbers(operands: &str) -> String {
    let bytes = operands.as_bytes();
    let mut out = String::with_capacity(operands.len() + 8);
    let mut depth = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        let starts_number =
            c.is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if !starts_number {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = bytes[i..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |n| i + n);
        let token = &operands[i..end];
        match token.parse::<u64>() {
            Ok(n) if depth == 0 => out.push_str(&format!("{n:#x}")),
            _ => out.push_str(token),
        }
        i = end;
    }
    out
}
