//! What rback relies on about the Linux kernel and x86-64, in one place:
//! signal codes and the `siginfo_t` layout, the resume flag, the debug
//! registers, and what `rdtsc`/`rdtscp` look like and leave in registers.
//! Numbers the `libc` crate has are used from there; these are the ones it
//! lacks on this target.

use crate::tracee::Regs;

/// `si_code` of a signal the kernel sent itself (a trapped `rdtsc`, an
/// `int3`, Ctrl-C at the terminal).
pub const SI_KERNEL: i32 = 0x80;
/// `si_code` of a SIGTRAP from a hardware (debug-register) breakpoint.
pub const TRAP_HWBKPT: i32 = 4;
/// The resume flag in EFLAGS: set by the kernel at an instruction-breakpoint
/// stop so that resuming does not hit the same breakpoint again.
pub const EFLAGS_RF: u64 = 0x10000;
/// Debug status register: bit i says breakpoint i caused the current trap.
/// The kernel gives ptrace a per-trap view of it, not the hardware's sticky
/// bits.
pub const DR6: usize = 6;
/// Debug control register: enable bits and the type/length of every slot.
pub const DR7: usize = 7;
/// How many debug-register slots x86 has.
pub const DR_SLOTS: usize = 4;

/// The length of the `syscall` instruction.
pub const SYSCALL_INSN_LEN: u64 = 2;

/// The kernel's internal results for a call a signal interrupted
/// (`-ERESTARTSYS` to `-ERESTART_RESTARTBLOCK`): the program sees them only
/// if a handler runs and the call may not restart; otherwise the kernel
/// makes the call again (the last one through `restart_syscall`).
pub const ERESTARTSYS: i64 = -512;
pub const ERESTART_RESTARTBLOCK: i64 = -516;

/// Whether `result` is one of those.
pub fn restarts(result: i64) -> bool {
    (ERESTART_RESTARTBLOCK..=ERESTARTSYS).contains(&result)
}

/// `si_signo` of a `siginfo_t` as bytes.
pub fn signo_of(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[..4].try_into().unwrap())
}

/// `si_code` of a `siginfo_t` as bytes.
pub fn si_code(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[8..12].try_into().unwrap())
}

/// `si_pid` of a `siginfo_t` as bytes (for signals sent by a process).
pub fn si_pid(info: &[u8]) -> i32 {
    i32::from_le_bytes(info[16..20].try_into().unwrap())
}

/// A fault raised by the instruction itself (or a seccomp filter's SIGSYS
/// for the syscall it made): it happens again, at the same instruction,
/// when replay runs the same code.
pub fn is_synchronous(sig: i32, code: i32) -> bool {
    matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP | libc::SIGSYS
    ) && code > 0
}

/// A signal whose default action stops the process (a group stop).
pub fn is_stop_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// Whether a `siginfo_t` says a process sent the signal (`kill`,
/// `tgkill`, `sigqueue`), so that `si_pid` names it.
pub fn sent_by_process(info: &[u8]) -> bool {
    matches!(si_code(info), libc::SI_USER | libc::SI_TKILL | libc::SI_QUEUE)
}

/// The signal's name (`SIGUSR1`), or `signal N` for one nix does not name.
pub fn signal_name(signo: i32) -> String {
    nix::sys::signal::Signal::try_from(signo)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signo}"))
}

/// If `code` starts with `rdtsc` (2 bytes) or `rdtscp` (3), its length.
pub fn tsc_length(code: &[u8]) -> Option<u64> {
    match code {
        [0x0f, 0x31, ..] => Some(2),
        [0x0f, 0x01, 0xf9, ..] => Some(3),
        _ => None,
    }
}

/// Registers after an `rdtsc` (`len` 2) or `rdtscp` (3, with `aux`) that
/// read `tsc`: edx:eax, ecx for `rdtscp`, and the next instruction.
pub fn apply_tsc(regs: &mut Regs, tsc: u64, aux: Option<u32>, len: u64) {
    regs.rax = tsc & 0xffff_ffff;
    regs.rdx = tsc >> 32;
    if let Some(aux) = aux {
        regs.rcx = aux as u64;
    }
    regs.rip += len;
}

/// The numeric fields of `/proc/PID/stat` from field 3 on (proc(5)), so
/// that field n is at `n - 3`. The command name (field 2) may hold spaces
/// and parentheses: fields are counted from the last ')'.
pub fn proc_stat_fields(stat: &str) -> Option<Vec<u64>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}
