//! `set var LVALUE = VALUE` and `set $REG = VALUE`: changing the replayed
//! program by hand. The change lives only in the process the timeline is
//! showing (the recording is never touched) until the next movement, which
//! starts again from the recorded state; `branch` and `checkpoint save`
//! take it along.

use anyhow::{anyhow, bail, Result};

use recorder::RemoteAddr;

use super::Repl;

impl Repl {
    /// `set var EXPR = EXPR`, and `set $REG = EXPR`.
    pub(super) fn cmd_set_var(&mut self, args: &str) -> Result<()> {
        let Some((lhs, rhs)) = args.split_once('=').filter(|(_, r)| !r.starts_with('=')) else {
            bail!("usage: set var NAME = VALUE");
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim());
        let value = self.evaluate_in(rhs, false)?;
        if let Some(reg) = lhs.strip_prefix('$') {
            let v = value.as_i64().ok_or_else(|| anyhow!("\"{rhs}\" is not an integer"))?;
            let mut regs = self.session.timeline.regs()?;
            *register(&mut regs, reg).ok_or_else(|| anyhow!("no register ${reg}"))? = v as u64;
            self.session.timeline.set_regs(&regs)?;
            return Ok(());
        }
        let target = self.evaluate_in(lhs, false)?;
        let addr = target.address().ok_or_else(|| {
            anyhow!("\"{lhs}\" is not something in memory (left operand of assignment is not an lvalue)")
        })?;
        let size = target.byte_size() as usize;
        let bytes = match (target.type_name().as_str(), size) {
            ("double", 8) => value
                .as_f64()
                .ok_or_else(|| anyhow!("\"{rhs}\" is not a number"))?
                .to_le_bytes()
                .to_vec(),
            ("float", 4) => (value.as_f64().ok_or_else(|| anyhow!("\"{rhs}\" is not a number"))? as f32)
                .to_le_bytes()
                .to_vec(),
            (_, 1 | 2 | 4 | 8) => {
                let v = value.as_i64().ok_or_else(|| anyhow!("\"{rhs}\" is not an integer"))?;
                v.to_le_bytes()[..size].to_vec()
            }
            (ty, _) => bail!("cannot assign to \"{lhs}\" of type {ty}: only numbers and pointers can be set"),
        };
        self.session.timeline.write_memory(RemoteAddr(addr), &bytes)?;
        Ok(())
    }
}

/// The general register named `name` (gdb's names).
fn register<'a>(r: &'a mut recorder::tracee::Regs, name: &str) -> Option<&'a mut u64> {
    Some(match name {
        "rax" => &mut r.rax,
        "rbx" => &mut r.rbx,
        "rcx" => &mut r.rcx,
        "rdx" => &mut r.rdx,
        "rsi" => &mut r.rsi,
        "rdi" => &mut r.rdi,
        "rbp" => &mut r.rbp,
        "rsp" | "sp" => &mut r.rsp,
        "r8" => &mut r.r8,
        "r9" => &mut r.r9,
        "r10" => &mut r.r10,
        "r11" => &mut r.r11,
        "r12" => &mut r.r12,
        "r13" => &mut r.r13,
        "r14" => &mut r.r14,
        "r15" => &mut r.r15,
        "rip" | "pc" => &mut r.rip,
        "eflags" => &mut r.eflags,
        _ => return None,
    })
}
