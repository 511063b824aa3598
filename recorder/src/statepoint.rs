//! Points in a thread's own code found by state, at native speed.
//!
//! An asynchronous event (a signal, a preemption) that comes while a thread
//! computes without syscalls lands at an arbitrary instruction X. Without
//! an instruction counter, replay cannot count its way there; counting
//! executions of X with a debug register costs a trap each, far too slow
//! for a loop that runs millions of times. So the point is named by the
//! program's state instead (DESIGN-NOTES §4a): the first execution of X
//! after the previous event with exactly the recorded registers and
//! writable memory. Two executions in the same state have the same future,
//! so the first one is as good as the recorded one.
//!
//! Recording ([`crate::record`]) moves the thread on a few instructions to
//! an X that is at least as long as a `jmp rel32`, lets it come round X
//! twice more, and keeps a *word* that changes each time round (a loop
//! counter, in a register or in memory) with its value at the point, and a
//! hash of writable memory. Replay ([`Stub`]) patches X with a jump to a
//! few instructions of its own that compare the word with the recorded
//! value without touching the flags or the stack, run the displaced
//! instruction and jump back; only a match traps to rback, which then
//! compares registers and the memory hash.

use iced_x86::code_asm::{self, AsmRegister64, CodeAssembler};
use iced_x86::{BlockEncoderOptions, Decoder, DecoderOptions, FlowControl, Instruction};

use crate::trace::{StatePoint, Word};
use crate::tracee::{Mapping, Regs, Tracee};
use crate::{Error, RemoteAddr, Result};

/// The length of `jmp rel32`, the patch at X.
const JMP_LEN: usize = 5;
/// The longest x86 instruction.
const MAX_INSN_LEN: usize = 15;
/// The stub's mapping: two pages, within a `jmp rel32` of X: its code,
/// then the registers it saves.
const STUB_LEN: u64 = 8192;
/// How far after the stub's code it keeps the registers it saves: on the
/// next page.
const SAVE_SLOTS_AT: usize = 4096;
/// How far from X the stub may be (a `rel32` reaches ±2 GiB).
const STUB_REACH: u64 = 0x6000_0000;
const STUB_STEP: u64 = 0x10_0000;

/// The registers a word may be in, by index in `trace::Registers`, in the
/// order they are preferred: general registers, then the stack pointer.
const WORD_REGISTERS: [usize; 16] = [10, 5, 11, 12, 13, 14, 9, 8, 7, 6, 3, 2, 1, 0, 4, 19];

fn asm_register(index: u8) -> Option<AsmRegister64> {
    use code_asm::registers::gpr64::*;
    Some(match index {
        0 => r15,
        1 => r14,
        2 => r13,
        3 => r12,
        4 => rbp,
        5 => rbx,
        6 => r11,
        7 => r10,
        8 => r9,
        9 => r8,
        10 => rax,
        11 => rcx,
        12 => rdx,
        13 => rsi,
        14 => rdi,
        19 => rsp,
        _ => return None,
    })
}

/// Decodes the instruction at `ip` from `code` (its bytes, up to 15).
fn decode(code: &[u8], ip: u64) -> Option<Instruction> {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let insn = decoder.decode();
    (!insn.is_invalid()).then_some(insn)
}

/// Whether the instruction at `ip` can be replaced by a jump to a stub: it
/// is as long as the jump (so that the patch covers no other instruction's
/// start, which a branch could target), and relocating it changes nothing
/// the program can see (no call, which would push the stub's address, no
/// return, interrupt or indirect branch).
pub(crate) fn is_patchable(code: &[u8], ip: u64) -> bool {
    let Some(insn) = decode(code, ip) else {
        return false;
    };
    insn.len() >= JMP_LEN
        && matches!(
            insn.flow_control(),
            FlowControl::Next | FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
        )
}

/// The instruction bytes at `ip`, as many as can be read (up to 15).
pub(crate) fn code_at(tracee: &Tracee, ip: u64) -> Vec<u8> {
    (JMP_LEN..=MAX_INSN_LEN)
        .rev()
        .find_map(|n| tracee.read_bytes(RemoteAddr(ip), n).ok())
        .unwrap_or_default()
}

/// One look at the thread at X: registers and writable memory.
pub(crate) struct Sample {
    pub regs: Regs,
    pub memory: Vec<(u64, Vec<u8>)>,
}

/// The word to check for, from three consecutive visits of X: one that
/// moves by the same non-zero step each time round (a counter) if there is
/// one, else any that differs between the last two; its value at the last.
pub(crate) fn choose_word(samples: &[Sample; 3]) -> Option<(Word, u64)> {
    let regs: Vec<[u64; 27]> = samples
        .iter()
        .map(|s| crate::trace::Registers::from(&s.regs).0)
        .collect();
    let mut changed = None;
    for &i in &WORD_REGISTERS {
        let (a, b, c) = (regs[0][i], regs[1][i], regs[2][i]);
        if b != c {
            if b.wrapping_sub(a) == c.wrapping_sub(b) {
                return Some((Word::Register(i as u8), c));
            }
            changed.get_or_insert((Word::Register(i as u8), c));
        }
    }
    let [m0, m1, m2] = [&samples[0].memory, &samples[1].memory, &samples[2].memory];
    for ((a, b), c) in m0.iter().zip(m1).zip(m2) {
        if a.0 != b.0 || b.0 != c.0 || a.1.len() != b.1.len() || b.1.len() != c.1.len() {
            continue;
        }
        for at in (0..c.1.len().saturating_sub(7)).step_by(8) {
            let word = |m: &[u8]| u64::from_le_bytes(m[at..at + 8].try_into().unwrap());
            let (x, y, z) = (word(&a.1), word(&b.1), word(&c.1));
            if y != z {
                let w = Word::Memory(c.0 + at as u64);
                if y.wrapping_sub(x) == z.wrapping_sub(y) {
                    return Some((w, z));
                }
                changed.get_or_insert((w, z));
            }
        }
    }
    changed
}

/// The writable memory of the program, as its state: the stack below the
/// thread's red zone (`sp` is its stack pointer) reads as zeros. That part
/// is dead, and it holds what the kernel left there, like the XSAVE
/// header of an old signal frame, whose bits say which registers were in
/// use by the processor's reckoning, not the program's.
///
/// The same header in live signal frames (a handler running, or one on an
/// alternate stack) is left out too: a frame's FPU area is found by the
/// magic number the kernel writes into it (`FP_XSTATE_MAGIC1` in the
/// software-reserved bytes of the legacy area, 464 bytes into the 64-byte
/// aligned area), and its `xstate_bv` (512 bytes in) reads as zero.
pub(crate) fn program_memory(tracee: &Tracee, sp: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    Ok(program_view(tracee.writable_memory()?, sp))
}

/// [`program_memory`] of writable memory already read (of a process known
/// only by pid, say).
pub(crate) fn program_view(mut memory: Vec<(u64, Vec<u8>)>, sp: u64) -> Vec<(u64, Vec<u8>)> {
    const RED_ZONE: u64 = 128;
    let dead_end = sp.saturating_sub(RED_ZONE);
    for (start, bytes) in &mut memory {
        let end = *start + bytes.len() as u64;
        if *start <= sp && sp < end && dead_end > *start {
            bytes[..(dead_end - *start) as usize].fill(0);
        }
        forget_xsave_headers(*start, bytes);
    }
    memory
}

/// Zeroes what a signal frame holds of the kernel's and the processor's
/// bookkeeping rather than the program's, in `bytes` (which start at
/// address `start`): `xstate_bv` in the FPU area, and the sigcontext's
/// `err`, `trapno` and `cr2`, the last fault's error code, trap number
/// (a debug trap while recording, rback's `int3` in replay) and address.
/// The sigcontext is found below the FPU area by its `fpstate` field,
/// which holds that area's address.
fn forget_xsave_headers(start: u64, bytes: &mut [u8]) {
    const FP_XSTATE_MAGIC1: [u8; 4] = 0x4650_5853u32.to_le_bytes();
    const MAGIC_AT: u64 = 464;
    const XSTATE_BV_AT: u64 = 512;
    /// Offsets in `struct sigcontext` (x86-64) of `err`, `trapno`, `cr2`
    /// and `fpstate`.
    const ERR: u64 = 152;
    const TRAPNO: u64 = 160;
    const CR2: u64 = 176;
    const FPSTATE: u64 = 184;
    /// How far below its FPU area a frame's sigcontext may be.
    const FRAME_REACH: u64 = 2048;
    let end = start + bytes.len() as u64;
    let zero = |bytes: &mut [u8], at: u64| {
        if at >= start && at + 8 <= end {
            bytes[(at - start) as usize..(at - start) as usize + 8].fill(0);
        }
    };
    // The first address of the form 64k + 464 at or after `start`.
    let mut at = (start.saturating_sub(MAGIC_AT).div_ceil(64) * 64) + MAGIC_AT;
    while at + 4 <= end {
        let i = (at - start) as usize;
        if bytes[i..i + 4] == FP_XSTATE_MAGIC1 {
            let fpstate = at - MAGIC_AT;
            zero(bytes, fpstate + XSTATE_BV_AT);
            let mut field = fpstate.saturating_sub(FRAME_REACH).max(start) & !7;
            while field + 8 <= fpstate.min(end) {
                let j = (field - start) as usize;
                if u64::from_le_bytes(bytes[j..j + 8].try_into().unwrap()) == fpstate {
                    let context = field - FPSTATE;
                    for offset in [ERR, TRAPNO, CR2] {
                        zero(bytes, context + offset);
                    }
                }
                field += 8;
            }
        }
        at += 64;
    }
}

/// BLAKE3 of writable memory, mapping by mapping, leaving out the mapping
/// that starts at `skip` (replay's stub).
pub(crate) fn memory_hash(memory: &[(u64, Vec<u8>)], skip: Option<u64>) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new();
    for (start, bytes) in memory {
        if Some(*start) == skip {
            continue;
        }
        hasher.update(&start.to_le_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().as_bytes().to_vec()
}

/// A free page within a `jmp rel32` of `x`, below it if possible.
fn stub_site(maps: &[Mapping], x: u64) -> Option<u64> {
    let free = |at: u64| at >= 0x10000 && !maps.iter().any(|m| at < m.end && m.start < at + STUB_LEN);
    let page = x & !0xfff;
    let mut offset = STUB_STEP;
    while offset < STUB_REACH {
        if let Some(below) = page.checked_sub(offset).filter(|&at| free(at)) {
            return Some(below);
        }
        if let Some(above) = page.checked_add(offset).filter(|&at| free(at)) {
            return Some(above);
        }
        offset += STUB_STEP;
    }
    None
}

/// The check replay runs in the tracee at every execution of X while it
/// looks for a point: X jumps here, and only an execution with the
/// recorded word traps (at `trap`, an `int3`) to rback.
#[derive(Clone, Debug)]
pub(crate) struct Stub {
    pub x: u64,
    /// X's own bytes, put back when the search ends.
    original: Vec<u8>,
    /// Where the stub's page is.
    pub base: u64,
    /// The address just after the stub's `int3`: a trap with rip here is a
    /// candidate for the point.
    pub trap: u64,
}

impl Stub {
    /// Maps the stub near `x` and patches `x` to jump to it. The tracee
    /// must be stopped where syscalls can be injected.
    pub(crate) fn install(tracee: &mut Tracee, x: u64, point: &StatePoint) -> Result<Stub> {
        let code = code_at(tracee, x);
        let insn = decode(&code, x).filter(|_| is_patchable(&code, x)).ok_or_else(|| {
            Error::Program(format!(
                "the recorded point {x:#x} is not an instruction rback can patch"
            ))
        })?;
        let base = stub_site(&tracee.mappings()?, x)
            .ok_or_else(|| Error::Program(format!("no free page near {x:#x} for a state check")))?;
        let got = tracee.inject_syscall(
            libc::SYS_mmap,
            [
                base,
                STUB_LEN,
                (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                u64::MAX,
                0,
            ],
        )?;
        if got as u64 != base {
            return Err(Error::Program(format!(
                "cannot map a state check at {base:#x}: {}",
                crate::tracee::errno_name(got)
            )));
        }
        let (bytes, trap) = assemble(base, x, insn, point)?;
        tracee.write_bytes(RemoteAddr(base), &bytes)?;
        tracee.write_bytes(RemoteAddr(x), &jump(x, base, insn.len()))?;
        Ok(Stub {
            x,
            original: code[..insn.len()].to_vec(),
            base,
            trap,
        })
    }

    /// Puts X's own bytes back, for a moment (see `patch`) or for good.
    pub(crate) fn unpatch(&self, tracee: &Tracee) -> Result<()> {
        tracee.write_bytes(RemoteAddr(self.x), &self.original)
    }

    /// Patches X again to jump to the stub.
    pub(crate) fn patch(&self, tracee: &Tracee) -> Result<()> {
        tracee.write_bytes(RemoteAddr(self.x), &jump(self.x, self.base, self.original.len()))
    }

    /// Shows X's own bytes in `bytes`, read from `addr`, where the patch is.
    pub(crate) fn hide(&self, addr: u64, bytes: &mut [u8]) {
        for (i, original) in self.original.iter().enumerate() {
            let at = self.x + i as u64;
            if at >= addr && at < addr + bytes.len() as u64 {
                bytes[(at - addr) as usize] = *original;
            }
        }
    }

    /// Puts X back and unmaps the stub.
    pub(crate) fn remove(&self, tracee: &mut Tracee) -> Result<()> {
        self.unpatch(tracee)?;
        let r = tracee.inject_syscall(libc::SYS_munmap, [self.base, STUB_LEN, 0, 0, 0, 0])?;
        if r != 0 {
            return Err(Error::Program(format!(
                "cannot unmap the state check at {:#x}: {}",
                self.base,
                crate::tracee::errno_name(r)
            )));
        }
        Ok(())
    }
}

/// `jmp rel32` from `x` to `to`, padded with `int3` to `len` bytes (the
/// padding is never run: the stub jumps back past it).
fn jump(x: u64, to: u64, len: usize) -> Vec<u8> {
    let mut patch = vec![0xcc; len];
    patch[0] = 0xe9;
    let rel = (to as i64 - (x as i64 + JMP_LEN as i64)) as i32;
    patch[1..JMP_LEN].copy_from_slice(&rel.to_le_bytes());
    patch
}

/// The stub's code at `base`, and the address after its `int3`. It saves
/// rcx and rdx in its own page (never on the stack: the red zone below rsp
/// may hold the program's data), computes word - value with `lea` and tests
/// it with `jrcxz`, neither of which touches the flags.
fn assemble(base: u64, x: u64, displaced: Instruction, point: &StatePoint) -> Result<(Vec<u8>, u64)> {
    use code_asm::registers::gpr64::{rcx, rdx};
    use code_asm::{ptr, qword_ptr};
    let back = x + displaced.len() as u64;
    let word_register = match point.word {
        Word::Register(i) => {
            Some(asm_register(i).ok_or_else(|| Error::Program(format!("register {i} cannot be a state word")))?)
        }
        Word::Memory(_) => None,
    };
    let asm = || -> std::result::Result<(Vec<u8>, u64), iced_x86::IcedError> {
        let mut a = CodeAssembler::new(64)?;
        let mut save_rcx = a.create_label();
        let mut save_rdx = a.create_label();
        let mut found = a.create_label();
        let mut after_trap = a.create_label();
        a.mov(qword_ptr(save_rcx), rcx)?;
        match (point.word, word_register) {
            (_, Some(reg)) => a.mov(rcx, reg)?,
            (Word::Memory(addr), None) => {
                a.mov(rcx, addr)?;
                a.mov(rcx, qword_ptr(rcx))?;
            }
            (Word::Register(_), None) => unreachable!("checked above"),
        }
        a.mov(qword_ptr(save_rdx), rdx)?;
        a.mov(rdx, point.value.wrapping_neg())?;
        a.lea(rcx, ptr(rcx + rdx))?;
        a.mov(rdx, qword_ptr(save_rdx))?;
        a.jrcxz(found)?;
        a.mov(rcx, qword_ptr(save_rcx))?;
        a.add_instruction(displaced)?;
        a.jmp(back)?;
        a.set_label(&mut found)?;
        a.mov(rcx, qword_ptr(save_rcx))?;
        a.int3()?;
        a.set_label(&mut after_trap)?;
        a.add_instruction(displaced)?;
        a.jmp(back)?;
        // The saved registers live on another page than the code: a store
        // near an instruction being run makes the processor throw away its
        // pipeline (self-modifying code), at every round of the program's
        // loop (26x slower on AMD EPYC with both in one cache line; 2 KiB
        // apart in one page still cost a third more than another page).
        a.db(&[0xcc; SAVE_SLOTS_AT])?;
        a.set_label(&mut save_rcx)?;
        a.dq(&[0])?;
        a.set_label(&mut save_rdx)?;
        a.dq(&[0])?;
        let result = a.assemble_options(base, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
        let trap = result.label_ip(&after_trap)?;
        Ok((result.inner.code_buffer, trap))
    };
    asm().map_err(|e| Error::Program(format!("cannot assemble a state check for {x:#x}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs_with(rax: u64, rbx: u64) -> Regs {
        // SAFETY-free: a plain-data struct of integers.
        let mut r: Regs = crate::trace::Registers([0; 27]).to_regs();
        r.rax = rax;
        r.rbx = rbx;
        r
    }

    fn sample(rax: u64, rbx: u64, mem: u64) -> Sample {
        Sample {
            regs: regs_with(rax, rbx),
            memory: vec![(0x1000, [7u64, mem].iter().flat_map(|w| w.to_le_bytes()).collect())],
        }
    }

    #[test]
    fn a_counter_is_preferred_to_a_word_that_only_changes() {
        // rax toggles, rbx counts by 3.
        let s = [sample(1, 10, 5), sample(2, 13, 5), sample(1, 16, 5)];
        assert_eq!(choose_word(&s), Some((Word::Register(5), 16)));
        // Only memory counts.
        let s = [sample(1, 1, 5), sample(1, 1, 6), sample(1, 1, 7)];
        assert_eq!(choose_word(&s), Some((Word::Memory(0x1008), 7)));
        // Nothing changes: a spin loop, found by count instead.
        let s = [sample(1, 1, 5), sample(1, 1, 5), sample(1, 1, 5)];
        assert_eq!(choose_word(&s), None);
    }

    #[test]
    fn only_long_enough_plain_instructions_are_patched() {
        // add qword [rip+0x2ee5], 1
        assert!(is_patchable(&[0x48, 0x83, 0x05, 0xe5, 0x2e, 0x00, 0x00, 0x01], 0x1000));
        // mov eax, [rip+0x10]: 6 bytes
        assert!(is_patchable(&[0x8b, 0x05, 0x10, 0x00, 0x00, 0x00], 0x1000));
        // add eax, 1: 3 bytes
        assert!(!is_patchable(&[0x83, 0xc0, 0x01], 0x1000));
        // call rel32
        assert!(!is_patchable(&[0xe8, 0x00, 0x00, 0x00, 0x00], 0x1000));
    }

    #[test]
    fn the_stub_relocates_a_rip_relative_instruction_and_returns_after_it() {
        let point = StatePoint {
            word: Word::Register(10),
            value: 1234,
            memory: vec![0; 32],
        };
        // mov eax, [rip+0x10] at 0x5000: reads 0x5016.
        let insn = decode(&[0x8b, 0x05, 0x10, 0x00, 0x00, 0x00], 0x5000).unwrap();
        let (code, trap) = assemble(0x1000_0000, 0x5000, insn, &point).unwrap();
        assert!(trap > 0x1000_0000 && trap < 0x1000_0000 + code.len() as u64);
        assert_eq!(code[(trap - 1 - 0x1000_0000) as usize], 0xcc, "the trap is an int3");
        let mut decoder = Decoder::with_ip(64, &code, 0x1000_0000, DecoderOptions::NONE);
        let mut loads = 0;
        let mut jumps_back = 0;
        for insn in decoder.iter() {
            if insn.is_ip_rel_memory_operand() && insn.ip_rel_memory_address() == 0x5016 {
                loads += 1;
            }
            if insn.flow_control() == FlowControl::UnconditionalBranch && insn.near_branch_target() == 0x5006 {
                jumps_back += 1;
            }
        }
        assert_eq!(
            (loads, jumps_back),
            (2, 2),
            "both paths run the load and return after it"
        );
    }
}
