// The syscall buffer's layout, shared word for word by the recorder and the
// preload library that runs inside the tracee (each `include!`s this file:
// the library is built on its own, without the recorder's crate).
//
// The buffer is one anonymous private mapping at `BUFFER_ADDR`, made by the
// library with a traced `mmap` (so replay makes it too). It starts with a
// header of `HEADER_SIZE` bytes (the words at the `AT_*` offsets), followed
// by records. A record is `RECORD_WORDS` words (`size` in bytes of the whole
// record, `nr`, six arguments, `result`), then, for each piece of memory
// the call wrote, its address, its length and its bytes padded to 8.

/// The rback page: `syscall; int3` at its start for rback's own injected
/// calls, and the library's gadget at `GADGET_OFFSET`.
pub const RBACK_PAGE_ADDR: u64 = 0x6fff_ffff_0000;
/// `syscall; ret`: the one place whose syscalls the recording's seccomp
/// filter lets through untraced besides rback's own injections.
pub const GADGET_OFFSET: u64 = 32;
pub const GADGET_CODE: [u8; 3] = [0x0f, 0x05, 0xc3];
/// A second `syscall; ret`, whose calls run in replay too, without a stop:
/// the library's probe of an iovec array ([`IOVEC_PROBE`]) in every replay, and
/// in `replay -a` the calls it makes again ([`EXECUTED_AGAIN`]) after the
/// first gadget answered [`REPLAYED`].
pub const RUN_GADGET_OFFSET: u64 = 48;
/// `process_vm_readv(0, iov, count, NULL, 0, 0)`: the kernel reads and
/// checks the iovec array (EFAULT if it cannot, EINVAL for a bad count or
/// lengths), then returns 0 before it looks for a process, as no remote
/// memory is named. It changes nothing, so its answer is the same in
/// recording and replay, and it is never an event: the library learns from
/// it that it may read the program's array without faulting.
pub const IOVEC_PROBE: u64 = 310;
/// Buffered calls that change kernel state replay must have too (the
/// signal mask, protections, page contents): `replay -a` makes them again
/// through the second gadget instead of taking the recorded result, and
/// the library compares the two. The debugger's replay traps them like any
/// other and makes them at their stop, as for a traced call.
pub const EXECUTED_AGAIN: [u64; 3] = [
    14, // rt_sigprocmask
    10, // mprotect
    28, // madvise
];

pub const BUFFER_ADDR: u64 = 0x6fff_ff00_0000;
pub const BUFFER_SIZE: u64 = 1 << 20;
pub const HEADER_SIZE: u64 = 64;
pub const MAGIC: u64 = u64::from_le_bytes(*b"rbackbf1");

/// Header words (byte offsets).
pub const AT_MAGIC: u64 = 0;
/// Bumped by the library each time it empties the buffer, which it does
/// only after a traced call at which the recorder took every record.
pub const AT_GENERATION: u64 = 8;
/// Bytes of records after the header.
pub const AT_LEN: u64 = 16;
/// Non-zero while the library appends a record (from reading `AT_LEN` to
/// writing it back): the recorder never switches threads or places a
/// signal there.
pub const AT_BUSY: u64 = 24;
/// Non-zero once the program installed a seccomp filter of its own: its
/// verdict would then win over the recording's "let the gadget through" but
/// not over replay's "trap", so the library makes no more buffered calls.
pub const AT_OFF: u64 = 32;
/// Replay only (`replay -a`): the records from `AT_LEN` up to this offset
/// were written by rback from the trace, and the gadget does not run the
/// calls (it returns [`REPLAYED`]); the library takes their results from
/// them and puts the word back to 0 once it has used the last one, so the
/// buffer's bytes are the recording's again where replay can compare them.
pub const AT_REPLAY_LIMIT: u64 = 40;
/// What the gadget returns in a replay that fills the buffer ahead: no
/// syscall returns it (errno values stop at 4095, and none is that high).
pub const REPLAYED: i64 = -4095;
/// A full buffer is emptied after a traced call that names this word:
/// `mincore(RBACK_PAGE_ADDR, 4096, BUFFER_ADDR + AT_MARK)`, at whose stop
/// the recorder takes every record, and which replay recognises (the
/// records that follow go at the buffer's start).
pub const AT_MARK: u64 = 48;
/// What the library puts in `AT_MARK` from just before the mark to the
/// reset (`mincore` then writes its low byte): replay writes records
/// ahead at the buffer's start while it is set.
pub const MARKED: u64 = 0x100;
/// Non-zero once the process mapped a file shared: its writes to files are
/// no longer buffered (they may change its memory, which the recorder
/// records only for calls it traps).
pub const AT_NO_WRITES: u64 = 56;

/// The environment variable through which the recorder names its own
/// stdout and stderr when they are regular files (`DEV:INO[,DEV:INO]`):
/// writes there are output, which replay shows, so they are never buffered.
pub const OUTPUT_VAR: &str = "RBACK_SYSCALLBUF_OUTPUT";

pub const RECORD_WORDS: u64 = 9;
/// The largest output a buffered call may have (a larger read takes the
/// traced path), so that a record always fits an empty buffer.
pub const MAX_OUTPUT: u64 = 256 * 1024;

/// Every syscall the library buffers. The recorder refuses a record of any
/// other call: the buffer lives in the program's memory, which the program
/// can overwrite.
pub const BUFFERED: [u64; 30] = [
    0,   // read
    19,  // readv
    295, // preadv
    1,   // write
    18,  // pwrite64
    20,  // writev
    3,   // close
    8,   // lseek
    17,  // pread64
    39,  // getpid
    110, // getppid
    186, // gettid
    228, // clock_gettime
    96,  // gettimeofday
    201, // time
    5,   // fstat
    262, // newfstatat
    332, // statx
    318, // getrandom
    21,  // access
    269, // faccessat
    439, // faccessat2
    7,   // poll (zero timeout)
    232, // epoll_wait (zero timeout)
    14,  // rt_sigprocmask (SIG_BLOCK, or no set)
    10,  // mprotect (see `plain_protection`)
    28,  // madvise (see `plain_advice`)
    13,  // rt_sigaction (questions only, see `sigaction_question`)
    16,  // ioctl (`TCGETS` only, see `terminal_question`)
    257, // openat (of an existing regular file, to read: see `plain_open`)
];

/// The open flags of a buffered `openat`: none of O_WRONLY, O_RDWR,
/// O_CREAT, O_TRUNC, O_PATH, O_TMPFILE. Its record carries the opened
/// file's device and inode as the call's fifth and sixth arguments (both
/// 0 when there was no file), which the kernel does not read.
pub fn plain_open(flags: u64) -> bool {
    flags & (0o3 | 0o100 | 0o1000 | 0o10000000 | 0o20000000) == 0
}

/// `sizeof(struct sigaction)` as the kernel takes it on x86-64 (handler,
/// flags, restorer, then the mask of 64 signals): what a question to
/// `rt_sigaction` writes.
pub const KERNEL_SIGACTION_SIZE: u64 = 32;
/// The signal set size `rt_sigaction` insists on (64 signals).
pub const SIGSET_SIZE: u64 = 8;
/// `ioctl(fd, TCGETS, &termios)`, `isatty`'s question.
pub const TCGETS: u64 = 0x5401;
/// The kernel's `struct termios`, which `TCGETS` writes.
pub const KERNEL_TERMIOS_SIZE: u64 = 36;

/// Whether `rt_sigaction(args...)` is one the library buffers: a question
/// (no new action), with the set size glibc passes, its answer written in
/// the library's own `struct sigaction` at `args[2]`. Replay makes
/// `rt_sigaction`s again (they set handlers it needs): a record of one
/// that set a handler would make replay change what the recording never
/// did.
pub const fn sigaction_question(args: &[u64; 6]) -> bool {
    args[1] == 0 && args[2] != 0 && args[3] == SIGSET_SIZE
}

/// Whether `ioctl(args...)` is one the library buffers: `TCGETS` into a
/// buffer at `args[2]` (`isatty`). It writes the terminal's settings and
/// nothing else, and never waits: a terminal answers from the settings it
/// holds, and files, pipes, sockets and drivers that are no terminal
/// refuse a request they do not know at once (`ENOTTY`).
pub const fn terminal_question(args: &[u64; 6]) -> bool {
    args[1] == TCGETS && args[2] != 0
}

/// rback's own fixed mappings, from the buffer up to the end of the rback
/// page.
pub const RBACK_REGION: (u64, u64) = (BUFFER_ADDR, RBACK_PAGE_ADDR + 4096);

/// Whether `mprotect(addr, len, prot)` may be buffered: it only makes
/// memory readable, writable or inaccessible (no `PROT_EXEC`, no
/// `PROT_GROWSDOWN`/`GROWSUP`, no other bit), and not rback's own
/// mappings. The library also keeps changes to its own image traced.
/// rback keeps no model of protections (it reads `/proc/PID/maps` where it
/// needs them), so such a change needs no stop; code that becomes
/// executable (JITs, loaders) stays a traced event all the same.
pub const fn plain_protection(addr: u64, len: u64, prot: u64) -> bool {
    const PROT_READ_WRITE: u64 = 3;
    prot & !PROT_READ_WRITE == 0 && !overlaps(addr, len, RBACK_REGION.0, RBACK_REGION.1)
}

/// Whether `madvise(addr, len, advice)` may be buffered: the advice is a
/// hint (`NORMAL`, `RANDOM`, `SEQUENTIAL`, `WILLNEED`, `HUGEPAGE`,
/// `NOHUGEPAGE`, `DONTDUMP`, `DODUMP`) or `DONTNEED`, whose zeroed pages
/// replay gets by making the call again, and it is not about rback's own
/// mappings. `FREE` (whether its pages are zeroed depends on the machine's
/// memory pressure), `REMOVE` (changes files and shared memory),
/// `DONTFORK`/`DOFORK`/`WIPEONFORK`/`KEEPONFORK` (change what a fork, and
/// so a checkpoint, copies), guard pages, populating, poisoning and any
/// advice unknown here stay traced.
pub const fn plain_advice(addr: u64, len: u64, advice: u64) -> bool {
    matches!(advice, 0..=4 | 14..=17) && !overlaps(addr, len, RBACK_REGION.0, RBACK_REGION.1)
}

/// Whether `[addr, addr + len)`, rounded out to whole pages as the kernel
/// does, meets `[start, end)`. A length that wraps meets everything.
pub const fn overlaps(addr: u64, len: u64, start: u64, end: u64) -> bool {
    let first = addr & !4095;
    let Some(last) = addr.checked_add(len) else {
        return true;
    };
    let Some(last) = last.checked_add(4095) else {
        return true;
    };
    let last = last & !4095;
    first < last && first < end && last > start
}
