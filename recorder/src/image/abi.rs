//! The kernel and x86-64 facts that checkpoint images depend on, stated
//! once: address-space limits, the layouts of the structures that injected
//! syscalls take, and where `/proc/PID/stat` keeps the memory layout.

use crate::image::format::Layout;

/// The page size images are cut in (x86-64's base page).
pub const PAGE: u64 = 4096;

/// The end of the user address space with 4-level paging (`TASK_SIZE_MAX`
/// in arch/x86/include/asm/page_64_types.h): nothing is ever mapped above.
pub const USER_END: u64 = (1 << 47) - PAGE;

/// The segment selectors of 64-bit user code and stack (`__USER_CS`,
/// `__USER_DS`). `PTRACE_SETREGS` refuses other values with EIO.
pub const USER_CS: u64 = 0x33;
pub const USER_SS: u64 = 0x2b;

/// Signals are 1 to 64 (`_NSIG`); a signal set is 8 bytes (`_NSIG / 8`),
/// the size `rt_sigaction` and `rt_sigprocmask` insist on.
pub const NSIG: i32 = 64;
pub const SIGSET_SIZE: u64 = 8;

/// `struct itimerval`: interval, then value, each seconds and microseconds.
pub const ITIMERVAL_SIZE: usize = 32;

/// `struct itimerspec`: interval, then value, each seconds and
/// nanoseconds.
pub const ITIMERSPEC_SIZE: usize = 32;

/// `sizeof(struct sigevent)` on x86-64: the value (8 bytes), the signal,
/// the notification, then a union whose first int is the thread id that
/// `SIGEV_THREAD_ID` names.
pub const SIGEVENT_SIZE: usize = 64;

/// The clocks `timer_create` takes by number (clock_gettime(2)):
/// REALTIME, MONOTONIC, PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID, BOOTTIME,
/// REALTIME_ALARM, BOOTTIME_ALARM and TAI. The negative ids of other
/// processes' and threads' CPU clocks name a process id, which a restart
/// would not have.
pub const POSIX_TIMER_CLOCKS: [i32; 8] = [0, 1, 2, 3, 7, 8, 9, 11];

/// `si_code` of a POSIX timer's signal, whose `siginfo_t` holds the
/// timer's id at [`SI_TIMERID_OFFSET`] (`si_timerid`, the union's first
/// int after the three header ints and their padding).
pub const SI_TIMER: i32 = -2;
pub const SI_CODE_OFFSET: usize = 8;
pub const SI_TIMERID_OFFSET: usize = 16;

/// `prctl(PR_TIMER_CREATE_RESTORE_IDS, ON|OFF)` (Linux 6.15): while on,
/// `timer_create` makes the timer with the id that its `timer_t` holds,
/// instead of the next one.
pub const PR_TIMER_CREATE_RESTORE_IDS: u64 = 77;
pub const PR_TIMER_CREATE_RESTORE_IDS_OFF: u64 = 0;
pub const PR_TIMER_CREATE_RESTORE_IDS_ON: u64 = 1;

/// `struct clone_args` as `clone3` first took it (`CLONE_ARGS_SIZE_VER0`):
/// flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size
/// and tls, 8 bytes each; `set_tid` and its size follow in later versions.
pub const CLONE_ARGS_SIZE: usize = 64;
pub const CLONE_ARGS_SIZE_WITH_SET_TID: usize = 80;

/// `arch_prctl`'s request that sets the calling thread's `fs` base, where
/// glibc puts the first thread's thread control block.
pub const ARCH_SET_FS: u64 = 0x1002;

/// `sizeof(siginfo_t)`.
pub const SIGINFO_SIZE: usize = 128;

/// `struct kernel_sigaction` on x86-64 (what `rt_sigaction` reads and
/// writes, unlike libc's `struct sigaction`): handler, flags, restorer, mask.
pub const SIGACTION_SIZE: usize = 32;

/// `sizeof(stack_t)`: `ss_sp`, `ss_flags` (an int, padded), `ss_size`.
pub const STACK_T_SIZE: usize = 24;

/// `RLIM_NLIMITS`: resources are numbered below this.
pub const RLIMITS: u32 = 16;

/// The most the kernel keeps of an auxiliary vector (`sizeof
/// mm->saved_auxv`: `2 * AT_VECTOR_SIZE` longs, with AT_VECTOR_SIZE 3 + 22
/// + 1 on x86-64); `PR_SET_MM_MAP` refuses a longer one.
pub const AUXV_MAX: usize = 2 * 26 * 8;

/// `rseq`'s flag that unregisters the calling thread's area.
pub const RSEQ_FLAG_UNREGISTER: u64 = 1;

/// `close_range`'s "to the last descriptor".
pub const CLOSE_ALL: u64 = u32::MAX as u64;

/// `struct prctl_mm_map` (include/uapi/linux/prctl.h), for
/// `prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map)`: the process's
/// memory layout as `/proc/PID/stat` shows it, its auxiliary vector and its
/// executable. Needs `CAP_SYS_RESOURCE` (or `CAP_CHECKPOINT_RESTORE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmMap {
    pub layout: Layout,
    pub auxv: u64,
    pub auxv_size: u32,
    /// A descriptor of the new `/proc/PID/exe`, or `u32::MAX` for none.
    pub exe_fd: u32,
}

/// `sizeof(struct prctl_mm_map)`.
pub const MM_MAP_SIZE: usize = 104;

impl MmMap {
    pub fn to_bytes(self) -> Vec<u8> {
        let l = self.layout;
        let mut out = Vec::with_capacity(MM_MAP_SIZE);
        for v in [
            l.start_code,
            l.end_code,
            l.start_data,
            l.end_data,
            l.start_brk,
            l.brk,
            l.start_stack,
            l.arg_start,
            l.arg_end,
            l.env_start,
            l.env_end,
            self.auxv,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.auxv_size.to_le_bytes());
        out.extend_from_slice(&self.exe_fd.to_le_bytes());
        debug_assert_eq!(out.len(), MM_MAP_SIZE);
        out
    }
}

/// The memory layout fields of `/proc/PID/stat` (proc(5): fields 26-28 and
/// 45-51), with `brk` left to the caller (the file does not show it).
pub fn mm_layout_from_stat(stat: &str) -> Option<Layout> {
    let fields = crate::kernel::proc_stat_fields(stat)?;
    let field = |n: usize| fields.get(n - 3).copied();
    Some(Layout {
        start_code: field(26)?,
        end_code: field(27)?,
        start_stack: field(28)?,
        start_data: field(45)?,
        end_data: field(46)?,
        start_brk: field(47)?,
        arg_start: field(48)?,
        arg_end: field(49)?,
        env_start: field(50)?,
        env_end: field(51)?,
        ..Layout::default()
    })
}

/// The blocked-signal mask of a thread from `/proc/PID/status` (`SigBlk`).
pub fn blocked_from_status(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// File status flags that `F_SETFL` can change (fs/fcntl.c `SETFL_MASK`).
pub const SETFL_MASK: i32 = libc::O_APPEND | libc::O_NONBLOCK | libc::O_DIRECT | libc::O_NOATIME | libc::O_ASYNC;

/// Flags that only mean something when a file is first opened: a reopen
/// must not create or truncate it again.
pub const OPEN_ONLY_FLAGS: i32 = libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_NOCTTY;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        // A name with a space and a parenthesis, then fields 3 to 52.
        let mut stat = String::from("1234 (a b) c) S");
        for n in 4..=52 {
            stat.push_str(&format!(" {}", n * 10));
        }
        let m = mm_layout_from_stat(&stat).unwrap();
        assert_eq!((m.start_code, m.end_code, m.start_stack), (260, 270, 280));
        assert_eq!((m.start_data, m.start_brk, m.env_end), (450, 470, 510));
    }

    #[test]
    fn mm_map_has_the_kernels_size() {
        assert_eq!(MmMap::default().to_bytes().len(), MM_MAP_SIZE);
    }
}
