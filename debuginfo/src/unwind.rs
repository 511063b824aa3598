//! Backtraces: unwinding the tracee's stack with DWARF call frame
//! information (`.eh_frame`, then `.debug_frame`), stepping through Linux
//! signal frames, and following the `rbp` chain where a module has no CFI.
//!
//! [`Registers`] is the register set a frame is described by; [`Frame`] is
//! one level of a backtrace with the registers recovered for it, so that
//! `frame N` can show (and later read variables from) an outer frame.

use std::collections::HashMap;

use gimli::{CfaRule, RegisterRule, UnwindSection};

use super::dwarf::Reader;
use super::elf::Image;
use super::{DebugInfo, Location, Memory};

/// The general-purpose registers, `rip` and `eflags`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub eflags: u64,
}

impl From<&libc::user_regs_struct> for Registers {
    fn from(r: &libc::user_regs_struct) -> Registers {
        Registers {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rbp: r.rbp,
            rsp: r.rsp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rip: r.rip,
            eflags: r.eflags,
        }
    }
}

impl From<libc::user_regs_struct> for Registers {
    fn from(r: libc::user_regs_struct) -> Registers {
        Registers::from(&r)
    }
}

/// DWARF register numbers for x86-64 (System V psABI, figure 3.36).
const RSP: u16 = 7;
const RIP: u16 = 16;
/// Registers a callee preserves: rbx, rbp, rsp, r12-r15. Without a CFI
/// rule they keep their value in the caller; the others are lost.
const CALLEE_SAVED: u32 = 1 << 3 | 1 << 6 | 1 << 7 | 1 << 12 | 1 << 13 | 1 << 14 | 1 << 15;
const ALL: u32 = (1 << 17) - 1;

impl Registers {
    /// A register by DWARF number (0-15 the GPRs in DWARF order, 16 rip).
    pub fn dwarf(&self, reg: u16) -> Option<u64> {
        Some(match reg {
            0 => self.rax,
            1 => self.rdx,
            2 => self.rcx,
            3 => self.rbx,
            4 => self.rsi,
            5 => self.rdi,
            6 => self.rbp,
            7 => self.rsp,
            8 => self.r8,
            9 => self.r9,
            10 => self.r10,
            11 => self.r11,
            12 => self.r12,
            13 => self.r13,
            14 => self.r14,
            15 => self.r15,
            16 => self.rip,
            _ => return None,
        })
    }

    fn set_dwarf(&mut self, reg: u16, value: u64) {
        let slot = match reg {
            0 => &mut self.rax,
            1 => &mut self.rdx,
            2 => &mut self.rcx,
            3 => &mut self.rbx,
            4 => &mut self.rsi,
            5 => &mut self.rdi,
            6 => &mut self.rbp,
            7 => &mut self.rsp,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            15 => &mut self.r15,
            16 => &mut self.rip,
            _ => return,
        };
        *slot = value;
    }
}

/// One level of a backtrace, innermost (the current one) first.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The frame's instruction address: where the tracee stands for the
    /// innermost frame and for one a signal interrupted, else a return address.
    pub pc: u64,
    /// The address `pc` is looked up at: `pc - 1` for a return address, so
    /// that a call at the end of a function finds that function.
    pub lookup_pc: u64,
    /// The canonical frame address: the caller's `rsp` before the call.
    pub cfa: u64,
    pub location: Option<Location>,
    /// The signal trampoline (`__restore_rt`), gdb's `<signal handler called>`:
    /// its caller is the code the signal interrupted.
    pub is_signal_frame: bool,
    /// The frame's registers. In outer frames only the callee-saved ones,
    /// `rsp` and `rip` are recovered; see [`Frame::register`].
    pub regs: Registers,
    known: u32,
    /// How many inlined calls this frame is out from the innermost function
    /// at `pc`: 0 for that function, 1 for the function it was inlined
    /// into, and so on. Frames of one machine frame share `pc`, `cfa` and
    /// registers; only the last of them has `inlined` false.
    pub inline_depth: usize,
    /// This frame's function was inlined: its caller is the next frame,
    /// in the same machine frame.
    pub inlined: bool,
    /// Where the machine frame saved its caller's registers: (DWARF
    /// register number, address).
    pub saved: Vec<(u16, u64)>,
}

impl Frame {
    /// This frame with each register it lost taken to hold what it holds in
    /// `inner`, the frame it called: gdb's rule for registers the CFI says
    /// nothing about ("same value"), which its entry values rely on.
    pub fn with_same_values(&self, inner: &Registers) -> Frame {
        let mut frame = self.clone();
        for reg in 0..=RIP {
            if frame.known & (1 << reg) == 0 {
                if let Some(v) = inner.dwarf(reg) {
                    frame.regs.set_dwarf(reg, v);
                }
            }
        }
        frame.known = ALL;
        frame
    }

    /// A register by DWARF number, if its value in this frame is known.
    pub fn register(&self, reg: u16) -> Option<u64> {
        if reg <= RIP && self.known & (1 << reg) != 0 {
            self.regs.dwarf(reg)
        } else {
            None
        }
    }
}

/// The CFI of a module: its FDEs by address, from each section it has.
#[derive(Default)]
pub(crate) struct Cfi {
    eh_frame: Option<CfiTable<gimli::EhFrame<Reader>>>,
    debug_frame: Option<CfiTable<gimli::DebugFrame<Reader>>>,
}

struct CfiTable<S: UnwindSection<Reader>> {
    section: S,
    bases: gimli::BaseAddresses,
    /// Sorted by start address.
    fdes: Vec<gimli::FrameDescriptionEntry<Reader>>,
}

impl Cfi {
    pub fn load(image: &Image) -> Cfi {
        let endian = gimli::RunTimeEndian::Little;
        let reader = |name: &str| -> Option<Reader> {
            let data = image.section(name)?;
            Some(gimli::EndianArcSlice::new(std::sync::Arc::from(&*data), endian))
        };
        let mut cfi = Cfi::default();
        if let (Some(data), Some(addr)) = (reader(".eh_frame"), image.section_address(".eh_frame")) {
            let mut bases = gimli::BaseAddresses::default().set_eh_frame(addr);
            if let Some(text) = image.section_address(".text") {
                bases = bases.set_text(text);
            }
            if let Some(got) = image.section_address(".got") {
                bases = bases.set_got(got);
            }
            if let Some(hdr) = image.section_address(".eh_frame_hdr") {
                bases = bases.set_eh_frame_hdr(hdr);
            }
            let mut section = gimli::EhFrame::from(data);
            section.set_address_size(8);
            cfi.eh_frame = Some(CfiTable::new(section, bases));
        }
        if let Some(data) = reader(".debug_frame") {
            let mut section = gimli::DebugFrame::from(data);
            section.set_address_size(8);
            cfi.debug_frame = Some(CfiTable::new(section, gimli::BaseAddresses::default()));
        }
        cfi
    }
}

impl<S: UnwindSection<Reader>> CfiTable<S>
where
    S::Offset: std::hash::Hash + Eq,
{
    fn new(section: S, bases: gimli::BaseAddresses) -> CfiTable<S> {
        let mut fdes = Vec::new();
        let mut cies = HashMap::new();
        let mut entries = section.entries(&bases);
        while let Ok(Some(entry)) = entries.next() {
            let gimli::CieOrFde::Fde(partial) = entry else {
                continue;
            };
            let fde = partial.parse(|section, bases, offset| {
                if let Some(cie) = cies.get(&offset) {
                    return Ok(Clone::clone(cie));
                }
                let cie = section.cie_from_offset(bases, offset)?;
                cies.insert(offset, cie.clone());
                Ok(cie)
            });
            // FDEs of code the linker removed start at 0.
            if let Ok(fde) = fde {
                if fde.initial_address() != 0 && fde.len() != 0 {
                    fdes.push(fde);
                }
            }
        }
        fdes.sort_by_key(|f| f.initial_address());
        CfiTable { section, bases, fdes }
    }

    fn fde_for(&self, addr: u64) -> Option<&gimli::FrameDescriptionEntry<Reader>> {
        let end = self.fdes.partition_point(|f| f.initial_address() <= addr);
        self.fdes[..end].iter().rev().take(4).find(|f| f.contains(addr))
    }

    /// Unwinds one frame with this table, or `None` if it has no FDE for
    /// `lookup` (a link address). `Failed` means there is one, but it could
    /// not be used.
    fn step(&self, lookup: u64, regs: &Registers, known: u32, mem: &dyn Memory) -> Option<CfiStep> {
        let fde = self.fde_for(lookup)?;
        let mut ctx = Box::new(gimli::UnwindContext::new());
        let Ok(row) = fde.unwind_info_for_address(&self.section, &self.bases, &mut ctx, lookup) else {
            return Some(CfiStep::Failed);
        };
        let encoding = fde.cie().encoding();
        let value = |reg: gimli::Register| -> Option<u64> {
            (reg.0 <= RIP && known & (1 << reg.0) != 0)
                .then(|| regs.dwarf(reg.0))
                .flatten()
        };
        let eval = |expr: &gimli::UnwindExpression<usize>, initial: Option<u64>| -> Option<u64> {
            let expr = expr.get(&self.section).ok()?;
            evaluate(expr, encoding, &value, mem, initial)
        };
        let cfa = match row.cfa().clone() {
            CfaRule::RegisterAndOffset { register, offset } => value(register).map(|v| v.wrapping_add(offset as u64)),
            CfaRule::Expression(expr) => eval(&expr, None),
        };
        // A CFA from a register this frame does not know (lost further in).
        let Some(cfa) = cfa else {
            return Some(CfiStep::Failed);
        };
        let mut caller = *regs;
        let mut saved = Vec::new();
        let mut caller_known = known & CALLEE_SAVED;
        caller.rsp = cfa;
        caller_known |= 1 << RSP;
        caller_known &= !(1 << RIP);
        for reg in 0..=RIP {
            let Some(rule) = row.register(gimli::Register(reg)) else {
                continue;
            };
            let recovered = match rule {
                RegisterRule::Undefined => None,
                RegisterRule::SameValue => value(gimli::Register(reg)),
                RegisterRule::Offset(n) => {
                    saved.push((reg, cfa.wrapping_add(n as u64)));
                    read_u64(mem, cfa.wrapping_add(n as u64))
                }
                RegisterRule::ValOffset(n) => Some(cfa.wrapping_add(n as u64)),
                RegisterRule::Register(other) => value(other),
                RegisterRule::Expression(expr) => eval(&expr, Some(cfa)).and_then(|addr| read_u64(mem, addr)),
                RegisterRule::ValExpression(expr) => eval(&expr, Some(cfa)),
                RegisterRule::Constant(c) => Some(c),
                RegisterRule::Architectural => None,
            };
            match recovered {
                Some(v) => {
                    caller.set_dwarf(reg, v);
                    caller_known |= 1 << reg;
                }
                None => caller_known &= !(1 << reg),
            }
        }
        let ra = fde.cie().return_address_register();
        if ra.0 != RIP {
            // Not an x86-64 CIE: nothing here knows how to read it.
            return Some(CfiStep::Failed);
        }
        if caller_known & (1 << RIP) == 0 {
            // `_start` marks its return address undefined: the outermost frame.
            return Some(CfiStep::Outermost { cfa });
        }
        Some(CfiStep::Caller {
            cfa,
            regs: caller,
            known: caller_known,
            signal: fde.is_signal_trampoline(),
            saved,
        })
    }
}

/// The outcome of unwinding one frame.
enum CfiStep {
    Caller {
        cfa: u64,
        regs: Registers,
        known: u32,
        /// The FDE is marked as a signal trampoline (augmentation `S`).
        signal: bool,
        /// Where this frame saved its caller's registers (DWARF number,
        /// address), as gdb's `info frame` lists them.
        saved: Vec<(u16, u64)>,
    },
    /// The frame has no caller (its return address is undefined).
    Outermost {
        cfa: u64,
    },
    Failed,
}

fn read_u64(mem: &dyn Memory, addr: u64) -> Option<u64> {
    let bytes = mem.read(addr, 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Runs a CFI expression; its result is an address (or, for a value
/// expression, the value itself).
fn evaluate(
    expr: gimli::Expression<Reader>,
    encoding: gimli::Encoding,
    register: &dyn Fn(gimli::Register) -> Option<u64>,
    mem: &dyn Memory,
    initial: Option<u64>,
) -> Option<u64> {
    let mut eval = expr.evaluation(encoding);
    eval.set_max_iterations(10_000);
    if let Some(v) = initial {
        eval.set_initial_value(v);
    }
    let mut state = eval.evaluate().ok()?;
    loop {
        state = match state {
            gimli::EvaluationResult::Complete => break,
            gimli::EvaluationResult::RequiresMemory { address, size, .. } => {
                let bytes = mem.read(address, usize::from(size))?;
                let mut buf = [0u8; 8];
                buf.get_mut(..bytes.len())?.copy_from_slice(&bytes);
                eval.resume_with_memory(gimli::Value::Generic(u64::from_le_bytes(buf)))
                    .ok()?
            }
            gimli::EvaluationResult::RequiresRegister { register: reg, .. } => {
                eval.resume_with_register(gimli::Value::Generic(register(reg)?)).ok()?
            }
            _ => return None,
        };
    }
    match eval.result().first()?.location {
        gimli::Location::Address { address } => Some(address),
        gimli::Location::Value { value } => value.to_u64(u64::MAX).ok(),
        _ => None,
    }
}

/// `mov $15,%rax; syscall`: `rt_sigreturn`, which is all glibc's (and
/// musl's) `__restore_rt` does. A handler returns into it.
const RESTORE_RT: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Whether `pc` is in the signal trampoline: at its start, or on its
/// `syscall` (a tracee stopped at the `rt_sigreturn` entry).
fn at_sigreturn(mem: &dyn Memory, pc: u64) -> bool {
    let at = |addr: u64| mem.read(addr, RESTORE_RT.len()).is_some_and(|b| b == RESTORE_RT);
    at(pc) || at(pc.wrapping_sub(7))
}

/// The registers the signal interrupted, from the `rt_sigframe` on the
/// stack. In the trampoline, `rsp` points just past the return address
/// slot, at `struct ucontext` (`uc_flags`, `uc_link`, `uc_stack`, then
/// `uc_mcontext` at 40, whose `gregs` follow the `REG_*` order of
/// <sys/ucontext.h>).
fn signal_frame_caller(mem: &dyn Memory, rsp: u64) -> Option<Registers> {
    let bytes = mem.read(rsp.checked_add(40)?, 18 * 8)?;
    let g = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    Some(Registers {
        r8: g(0),
        r9: g(1),
        r10: g(2),
        r11: g(3),
        r12: g(4),
        r13: g(5),
        r14: g(6),
        r15: g(7),
        rdi: g(8),
        rsi: g(9),
        rbp: g(10),
        rbx: g(11),
        rdx: g(12),
        rax: g(13),
        rcx: g(14),
        rsp: g(15),
        rip: g(16),
        eflags: g(17),
    })
}

/// Unwinds a frame of code without CFI by its frame pointer: `[rbp]` is the
/// caller's rbp and `[rbp+8]` the return address. At the first two
/// instructions of a function (before `mov %rsp,%rbp`), which only an
/// innermost frame can stand on, the return address is found from rsp.
fn frame_pointer_step(
    mem: &dyn Memory,
    regs: &Registers,
    exact: bool,
    code: Option<&[u8]>,
) -> Option<(u64, Registers, u32)> {
    let mut caller = *regs;
    let known = (1 << RSP) | (1 << 6) | (1 << RIP);
    let code = code.unwrap_or(&[]);
    let code = code.strip_prefix(&[0xf3, 0x0f, 0x1e, 0xfa][..]).unwrap_or(code);
    if exact && (code.first() == Some(&0x55) || code.first() == Some(&0xc3)) {
        // On `push %rbp` or `ret`: the return address is on top.
        caller.rip = read_u64(mem, regs.rsp)?;
        caller.rsp = regs.rsp + 8;
        return Some((caller.rsp, caller, known));
    }
    if exact && (code.starts_with(&[0x48, 0x89, 0xe5]) || code.starts_with(&[0x48, 0x8b, 0xec])) {
        // Between `push %rbp` and `mov %rsp,%rbp`.
        caller.rbp = read_u64(mem, regs.rsp)?;
        caller.rip = read_u64(mem, regs.rsp + 8)?;
        caller.rsp = regs.rsp + 16;
        return Some((caller.rsp, caller, known));
    }
    let rbp = regs.rbp;
    if rbp < regs.rsp || rbp & 7 != 0 {
        return None;
    }
    caller.rbp = read_u64(mem, rbp)?;
    caller.rip = read_u64(mem, rbp + 8)?;
    caller.rsp = rbp + 16;
    Some((caller.rsp, caller, known))
}

impl DebugInfo {
    /// The tracee's call stack, innermost frame first, at most `limit`
    /// frames. Each frame is unwound with the CFI of its module
    /// (`.eh_frame`, else `.debug_frame`), with the `rbp` chain where there
    /// is none, and through signal trampolines with the saved context. The
    /// walk stops at the outermost frame (`_start`), at a zero or unreadable
    /// return address, or when the stack stops growing towards older frames.
    /// An inlined call is a frame of its own, as in gdb: a machine frame
    /// whose pc is in code inlined N levels deep gives N + 1 frames (see
    /// [`Frame::inline_depth`]).
    pub fn backtrace(&self, regs: &Registers, mem: &dyn Memory, limit: usize) -> Vec<Frame> {
        let mut frames: Vec<Frame> = Vec::new();
        let mut regs = *regs;
        let mut known = ALL;
        // Whether `regs.rip` is where the tracee stands rather than a return
        // address: true for the innermost frame and a signal's victim.
        let mut exact = true;
        while frames.len() < limit {
            let pc = regs.rip;
            if pc == 0 {
                break;
            }
            let trampoline = at_sigreturn(mem, pc);
            let lookup = if exact || trampoline { pc } else { pc - 1 };
            let step = if trampoline {
                match signal_frame_caller(mem, regs.rsp) {
                    Some(caller) => CfiStep::Caller {
                        cfa: regs.rsp,
                        regs: caller,
                        known: ALL,
                        signal: true,
                        saved: Vec::new(),
                    },
                    None => CfiStep::Failed,
                }
            } else {
                self.unwind_one(lookup, &regs, known, exact, mem)
            };
            let (cfa, signal, saved) = match &step {
                CfiStep::Caller { cfa, signal, saved, .. } => (*cfa, *signal, saved.clone()),
                CfiStep::Outermost { cfa } => (*cfa, false, Vec::new()),
                CfiStep::Failed => (regs.rsp, false, Vec::new()),
            };
            let location = self.symbolize_at(pc, lookup);
            let levels = location.as_ref().map_or(0, |l| l.inlined_into.len());
            for depth in 0..=levels {
                if frames.len() >= limit {
                    break;
                }
                frames.push(Frame {
                    pc,
                    lookup_pc: lookup,
                    cfa,
                    location: location.as_ref().map(|l| l.inline_level(depth)),
                    is_signal_frame: signal && depth == levels,
                    regs,
                    known,
                    inline_depth: depth,
                    inlined: depth < levels,
                    saved: saved.clone(),
                });
            }
            let CfiStep::Caller {
                regs: caller,
                known: caller_known,
                ..
            } = step
            else {
                break;
            };
            // The stack grows down, so callers' frames lie higher; a signal
            // handler may run on an alternate stack, though.
            if !signal && caller.rsp <= regs.rsp {
                break;
            }
            if frames.iter().any(|f| f.pc == caller.rip && f.regs.rsp == caller.rsp) {
                break;
            }
            regs = caller;
            known = caller_known;
            exact = signal;
        }
        frames
    }

    /// Unwinds a frame that is not a signal trampoline: with the CFI of the
    /// module at `lookup` if it has some, else with the frame pointer.
    fn unwind_one(&self, lookup: u64, regs: &Registers, known: u32, exact: bool, mem: &dyn Memory) -> CfiStep {
        if let Some(ms) = self.module_at(lookup) {
            let cfi = ms.cfi(self);
            let link = ms.to_link(lookup);
            let step = cfi
                .eh_frame
                .as_ref()
                .and_then(|t| t.step(link, regs, known, mem))
                .or_else(|| cfi.debug_frame.as_ref().and_then(|t| t.step(link, regs, known, mem)));
            match step {
                // Unusable CFI: the frame pointer may still get further.
                Some(CfiStep::Failed) | None => {}
                Some(step) => return step,
            }
        }
        let code = mem.read(regs.rip, 8);
        match frame_pointer_step(mem, regs, exact, code.as_deref()) {
            Some((cfa, caller, caller_known)) => CfiStep::Caller {
                cfa,
                regs: caller,
                known: caller_known,
                signal: false,
                // The return address is always just below the CFA; rbp is
                // below it when the frame pointer was followed.
                saved: if caller.rbp != regs.rbp || cfa == regs.rbp + 16 {
                    vec![(6, cfa - 16), (RIP, cfa - 8)]
                } else {
                    vec![(RIP, cfa - 8)]
                },
            },
            None => CfiStep::Failed,
        }
    }
}
