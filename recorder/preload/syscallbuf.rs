//! rback's preload library: the in-process syscall buffer.
//!
//! `rback record` puts this library in the program's `LD_PRELOAD`. Its
//! functions stand in for libc's wrappers of cheap, non-blocking syscalls
//! (clocks, ids, `stat`s, reads of regular files). Each makes its syscall
//! through the gadget in the rback page, which the recording's seccomp
//! filter lets through without a ptrace stop, and appends the result and
//! the bytes the kernel wrote to a buffer in the program's own memory. The
//! recorder turns those records into ordinary syscall events at the next
//! stop of the program (`recorder/src/syscallbuf`).
//!
//! Replay runs the same code: its filter traps the gadget like any other
//! syscall, so each buffered call is an event replay meets where recording
//! made it, and the buffer's contents come out the same, byte for byte.
//! That is why nothing here may depend on whether it runs under the
//! recorder or in replay.
//!
//! Built by `recorder/build.rs` with rustc alone (no std, no cargo), so
//! that the rback binary can carry it and write it out when it records.

#![no_std]
#![allow(clippy::missing_safety_doc)]

use core::arch::asm;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, Ordering};

include!("../src/syscallbuf/layout.rs");

const SYS_READ: u64 = 0;
const SYS_WRITE: u64 = 1;
const SYS_PWRITE64: u64 = 18;
const SYS_WRITEV: u64 = 20;
const SYS_CLOSE: u64 = 3;
const SYS_FACCESSAT: u64 = 269;
const SYS_FACCESSAT2: u64 = 439;
const SYS_FSTAT: u64 = 5;
const SYS_LSEEK: u64 = 8;
const SYS_PREAD64: u64 = 17;
const SYS_ACCESS: u64 = 21;
const SYS_MMAP: u64 = 9;
const SYS_MINCORE: u64 = 27;
const SYS_GETPID: u64 = 39;
const SYS_EXIT_GROUP: u64 = 231;
const SYS_GETTIMEOFDAY: u64 = 96;
const SYS_GETPPID: u64 = 110;
const SYS_GETTID: u64 = 186;
const SYS_TIME: u64 = 201;
const SYS_CLOCK_GETTIME: u64 = 228;
const SYS_NEWFSTATAT: u64 = 262;
const SYS_GETRANDOM: u64 = 318;
const SYS_STATX: u64 = 332;
const SYS_POLL: u64 = 7;
const SYS_EPOLL_WAIT: u64 = 232;
const SYS_READV: u64 = 19;
const SYS_PREADV: u64 = 295;
const SYS_RT_SIGPROCMASK: u64 = 14;
const SYS_MPROTECT: u64 = 10;
const SYS_MADVISE: u64 = 28;
const SYS_RT_SIGACTION: u64 = 13;
const SYS_IOCTL: u64 = 16;
const SYS_OPENAT: u64 = 257;
/// `UIO_MAXIOV`: the most iovecs a call takes.
const MAX_IOVECS: i32 = 1024;
/// `sizeof(struct pollfd)`.
const POLLFD_SIZE: u64 = 8;
/// `sizeof(struct epoll_event)` (packed on x86-64).
const EPOLL_EVENT_SIZE: u64 = 12;

const AT_FDCWD: i64 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const ENOENT: i64 = 2;
/// The open flags that make an open more than a look at an existing
/// file: O_WRONLY and O_RDWR (`O_ACCMODE`), O_CREAT, O_TRUNC, O_PATH and
/// O_TMPFILE (which includes O_DIRECTORY).
const OPEN_CHANGES: u64 = 0o3 | 0o100 | 0o1000 | 0o10000000 | 0o20000000;
/// `sizeof(struct stat)` on x86-64 (glibc's and the kernel's are the same).
const STAT_SIZE: u64 = 144;
/// `sizeof(struct statx)`.
const STATX_SIZE: u64 = 256;

#[link(name = "c")]
extern "C" {
    fn __errno_location() -> *mut i32;
    fn __chk_fail() -> !;
    /// glibc's own `sigaction` (its `sigaction` is an alias of it), which
    /// the library does not stand in for: calls it does not buffer go
    /// there, so that glibc checks them and sets its restorer as ever.
    fn __sigaction(sig: i32, act: *const u8, old: *mut u8) -> i32;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: exit_group takes no memory and does not return.
    unsafe { raw(SYS_EXIT_GROUP, [127, 0, 0, 0, 0, 0]) };
    loop {}
}

/// The buffer is mapped and the rback page holds the gadget.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether calls are buffered: under rback, and until the program installs
/// a seccomp filter of its own (see `AT_OFF`).
unsafe fn buffering() -> bool {
    ENABLED.load(Ordering::Relaxed) && get(AT_OFF) == 0
}

#[used]
#[link_section = ".init_array"]
static INIT: unsafe extern "C" fn(i32, *const *const u8, *const *const u8) = rback_init_on_own_stack;

/// The stack `init` runs on. The loader calls constructors about where
/// `main`'s frame will be, and what a constructor leaves on the stack is
/// what `main`'s uninitialized locals hold: on its own stack, the
/// library's leaves them as a run without it would.
static mut INIT_STACK: [u64; INIT_STACK_WORDS] = [0; INIT_STACK_WORDS];
const INIT_STACK_WORDS: usize = 2048;
/// The loader's stack pointer while `init` runs (not pushed: even that
/// word would show in `main`'s locals).
static mut INIT_CALLER_SP: u64 = 0;

extern "C" {
    fn rback_init_on_own_stack(argc: i32, argv: *const *const u8, envp: *const *const u8);
}

// Switches to `INIT_STACK` (16-byte aligned at its top, as a call needs)
// and calls `init` with the loader's arguments, which stay in their
// registers. Constructors run once, on the main thread, so one place for
// the caller's stack pointer is enough. The stack is cleared afterwards:
// `init` takes other paths in replay than in recording (see `call`), and
// what they leave there would be memory that differs between the two,
// which replay's memory checks compare (below the stack pointer, the
// program's own stack is not compared), and so are scratch registers (see
// `leave_no_trace`).
core::arch::global_asm!(
    ".pushsection .text.rback_init_on_own_stack,\"ax\",@progbits",
    ".p2align 4",
    ".type rback_init_on_own_stack,@function",
    "rback_init_on_own_stack:",
    "mov [rip + {saved}], rsp",
    "lea rax, [rip + {stack} + {size}]",
    "and rax, -16",
    "mov rsp, rax",
    "call {init}",
    "lea rdi, [rip + {stack}]",
    "mov ecx, {words}",
    "xor eax, eax",
    "rep stosq",
    "xor edx, edx",
    "xor esi, esi",
    "xor edi, edi",
    "xor r8d, r8d",
    "xor r9d, r9d",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xorps xmm0, xmm0",
    "xorps xmm1, xmm1",
    "xorps xmm2, xmm2",
    "xorps xmm3, xmm3",
    "xorps xmm4, xmm4",
    "xorps xmm5, xmm5",
    "xorps xmm6, xmm6",
    "xorps xmm7, xmm7",
    "xorps xmm8, xmm8",
    "xorps xmm9, xmm9",
    "xorps xmm10, xmm10",
    "xorps xmm11, xmm11",
    "xorps xmm12, xmm12",
    "xorps xmm13, xmm13",
    "xorps xmm14, xmm14",
    "xorps xmm15, xmm15",
    "mov rsp, [rip + {saved}]",
    "ret",
    ".size rback_init_on_own_stack, . - rback_init_on_own_stack",
    ".popsection",
    stack = sym INIT_STACK,
    size = const INIT_STACK_WORDS * 8,
    words = const INIT_STACK_WORDS,
    saved = sym INIT_CALLER_SP,
    init = sym init,
);

/// Runs before the program's own constructors. Buffers only under rback:
/// the rback page must be there (`mincore` fails on an unmapped page) with
/// the gadget in it, and the buffer's fixed address must be free. (The
/// recorder also answers this `mincore` with ENOMEM in a process that runs
/// under a seccomp filter of the program's.)
extern "C" fn init(_argc: i32, _argv: *const *const u8, envp: *const *const u8) {
    let mut resident = [0u8; 1];
    // SAFETY: mincore writes one byte per page, one page here.
    let found = unsafe {
        raw(
            SYS_MINCORE,
            [RBACK_PAGE_ADDR, 4096, resident.as_mut_ptr() as u64, 0, 0, 0],
        )
    };
    if found != 0 {
        return;
    }
    // SAFETY: the page is mapped (mincore said so) and readable.
    let code = unsafe { read_volatile((RBACK_PAGE_ADDR + GADGET_OFFSET) as *const [u8; 3]) };
    if code != GADGET_CODE {
        return;
    }
    const PROT_READ_WRITE: u64 = 3;
    // PRIVATE | ANONYMOUS | NORESERVE | FIXED_NOREPLACE
    const FLAGS: u64 = 0x02 | 0x20 | 0x4000 | 0x100000;
    // SAFETY: an anonymous mapping at an address nothing else uses.
    let at = unsafe {
        raw(
            SYS_MMAP,
            [BUFFER_ADDR, BUFFER_SIZE, PROT_READ_WRITE, FLAGS, u64::MAX, 0],
        )
    };
    if at as u64 != BUFFER_ADDR {
        return;
    }
    // SAFETY: the buffer was just mapped, writable; the library's own
    // headers are mapped, readable, where the linker's symbol says.
    unsafe {
        set(AT_MAGIC, MAGIC);
        learn_own_image();
    }
    ENABLED.store(true, Ordering::Relaxed);
    // SAFETY: envp is the loader's, NULL-terminated, of NUL-terminated
    // strings; the path is a NUL-terminated literal.
    unsafe {
        learn_output_files(envp);
        let mut st = [0u64; (STAT_SIZE / 8) as usize];
        let at = st.as_mut_ptr() as u64;
        let proc_mem = b"/proc/self/mem\0".as_ptr() as u64;
        if call(
            SYS_NEWFSTATAT,
            [AT_FDCWD as u64, proc_mem, at, 0, 0, 0],
            &[fixed(at, STAT_SIZE)],
        ) == 0
        {
            PROC_DEV.store(st[0], Ordering::Relaxed);
        }
    }
}

/// The device of /proc: a write to a file there (`/proc/PID/mem`) changes
/// a process's memory, which the recorder must see.
static PROC_DEV: AtomicU64 = AtomicU64::new(u64::MAX);
/// rback's own stdout and stderr, when they are regular files (device and
/// inode, from `OUTPUT_VAR`): what the program writes there is output that
/// replay shows again, which the recorder must see.
static OUTPUT_FILES: [AtomicU64; 4] = [const { AtomicU64::new(u64::MAX) }; 4];

/// Reads `RBACK_SYSCALLBUF_OUTPUT=DEV:INO[,DEV:INO]` from the environment.
unsafe fn learn_output_files(mut envp: *const *const u8) {
    let name = OUTPUT_VAR.as_bytes();
    while !envp.is_null() && !(*envp).is_null() {
        let var = *envp;
        envp = envp.add(1);
        if (0..name.len()).any(|i| *var.add(i) != name[i]) || *var.add(name.len()) != b'=' {
            continue;
        }
        let mut p = var.add(name.len() + 1);
        let mut slot = 0;
        let mut number: u64 = 0;
        loop {
            let c = *p;
            match c {
                b'0'..=b'9' => number = number.wrapping_mul(10).wrapping_add((c - b'0') as u64),
                b':' | b',' | 0 => {
                    if slot < OUTPUT_FILES.len() {
                        OUTPUT_FILES[slot].store(number, Ordering::Relaxed);
                    }
                    slot += 1;
                    number = 0;
                    if c == 0 {
                        return;
                    }
                }
                _ => return,
            }
            p = p.add(1);
        }
    }
}

/// A syscall made here, which the seccomp filter traps like any other.
unsafe fn raw(nr: u64, a: [u64; 6]) -> i64 {
    let r: i64;
    asm!(
        "syscall",
        inlateout("rax") nr as i64 => r,
        in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
        lateout("rcx") _, lateout("r11") _,
        options(nostack)
    );
    r
}

/// A syscall made from the gadget in the rback page (`syscall; ret`).
unsafe fn through_gadget(nr: u64, a: [u64; 6]) -> i64 {
    through(GADGET_OFFSET, nr, a)
}

/// A syscall made from the second gadget, which every replay runs without
/// a stop (see `RUN_GADGET_OFFSET`): the probe, and in `replay -a` the
/// calls made again.
unsafe fn through_run_gadget(nr: u64, a: [u64; 6]) -> i64 {
    through(RUN_GADGET_OFFSET, nr, a)
}

/// A syscall made from the `syscall; ret` at `offset` in the rback page.
/// The library is built without a red zone, so the `call` cannot clobber
/// anything below the stack pointer.
unsafe fn through(offset: u64, nr: u64, a: [u64; 6]) -> i64 {
    let r: i64;
    asm!(
        "call {gadget}",
        gadget = in(reg) RBACK_PAGE_ADDR + offset,
        inlateout("rax") nr as i64 => r,
        in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
        lateout("rcx") _, lateout("r11") _,
    );
    r
}

unsafe fn get(offset: u64) -> u64 {
    read_volatile((BUFFER_ADDR + offset) as *const u64)
}

unsafe fn set(offset: u64, value: u64) {
    write_volatile((BUFFER_ADDR + offset) as *mut u64, value)
}

/// Memory a call writes: `len` bytes at `addr`, or as many as the call's
/// result says (at most `len`): `unit` bytes for each one it counts; or,
/// with `unit` [`IN_ORDER`], the buffers of the `len` iovecs at `addr`,
/// which the result's bytes fill in order.
#[derive(Clone, Copy)]
struct Out {
    addr: u64,
    len: u64,
    /// 0 for a fixed length.
    unit: u64,
}

const IN_ORDER: u64 = u64::MAX;

const fn fixed(addr: u64, len: u64) -> Out {
    Out { addr, len, unit: 0 }
}

/// A read's buffer: the result is the number of bytes.
const fn by_result(addr: u64, max: u64) -> Out {
    Out {
        addr,
        len: max,
        unit: 1,
    }
}

/// An array of `size`-byte items, as many as the result says.
const fn items_by_result(addr: u64, max_items: u64, size: u64) -> Out {
    Out {
        addr,
        len: max_items * size,
        unit: size,
    }
}

/// The buffers of `count` iovecs at `iov`, which the kernel has said it
/// can read (`iovecs_readable`).
const fn iovecs(iov: u64, count: u64) -> Out {
    Out {
        addr: iov,
        len: count,
        unit: IN_ORDER,
    }
}

const fn padded(n: u64) -> u64 {
    n.saturating_add(7) & !7
}

/// Calls `f(address, most bytes)` for each piece of memory `out` names.
unsafe fn pieces(out: &Out, mut f: impl FnMut(u64, u64)) {
    if out.unit != IN_ORDER {
        return f(out.addr, out.len);
    }
    for i in 0..out.len {
        let entry = out.addr + 16 * i;
        // The program's array need not be aligned.
        let word = |at: u64| u64::from_ne_bytes(read_volatile(at as *const [u8; 8]));
        f(word(entry), word(entry + 8));
    }
}

/// Whether the kernel can read the `count` iovecs at `iov`, asked of the
/// kernel itself (see `IOVEC_PROBE`): an array the program got wrong must
/// give the call its error, not fault in here.
unsafe fn iovecs_readable(iov: u64, count: i32) -> bool {
    (0..=MAX_IOVECS).contains(&count) && through_run_gadget(IOVEC_PROBE, [0, iov, count as u64, 0, 0, 0]) == 0
}

/// Makes syscall `nr`, buffered when it can be. The record is appended
/// while `AT_BUSY` is set, from the read of `AT_LEN` to its update: the
/// recorder never switches threads or delivers a signal in between, so
/// the buffer has one writer at a time. A full buffer is emptied after a
/// traced call (see `AT_MARK`), at whose stop the recorder takes every
/// record.
///
/// The call takes other paths in `replay -a` (results from records written
/// ahead, or a traced call) than in the recording: see `leave_no_trace`.

unsafe fn call(nr: u64, a: [u64; 6], outs: &[Out]) -> i64 {
    if !buffering() {
        return raw(nr, a);
    }
    let mut output: u64 = 0;
    let mut needed = RECORD_WORDS * 8;
    for out in outs.iter().filter(|o| o.addr != 0) {
        pieces(out, |_, len| {
            output = output.saturating_add(len);
            needed = needed.saturating_add(16 + padded(len));
        });
    }
    if output > MAX_OUTPUT {
        return raw(nr, a);
    }
    set(AT_BUSY, 1);
    compiler_fence(Ordering::SeqCst);
    empty_if_marked();
    let mut len = get(AT_LEN);
    if len > BUFFER_SIZE - HEADER_SIZE {
        // The program wrote over the buffer: the recorder says so.
        set(AT_BUSY, 0);
        ENABLED.store(false, Ordering::Relaxed);
        return raw(nr, a);
    }
    if HEADER_SIZE + len + needed > BUFFER_SIZE {
        compiler_fence(Ordering::SeqCst);
        set(AT_BUSY, 0);
        // From here to the reset the word says that the buffer is to be
        // emptied: a signal handler that runs at the mark and makes a
        // buffered call empties it first (every record was taken at the
        // stop that delivered the signal), and replay knows where the
        // records it writes ahead go.
        set(AT_MARK, MARKED);
        raw(SYS_MINCORE, [RBACK_PAGE_ADDR, 4096, BUFFER_ADDR + AT_MARK, 0, 0, 0]);
        set(AT_BUSY, 1);
        compiler_fence(Ordering::SeqCst);
        empty_if_marked();
        len = get(AT_LEN);
        if HEADER_SIZE + len + needed > BUFFER_SIZE {
            // A handler filled it again: this call goes the traced way.
            set(AT_BUSY, 0);
            return raw(nr, a);
        }
    }
    let limit = get(AT_REPLAY_LIMIT);
    compiler_fence(Ordering::SeqCst);
    let record = BUFFER_ADDR + HEADER_SIZE + len;
    // Only `replay -a` sets a limit, when it wrote this call's record
    // ahead: the result is taken from it without entering the kernel (the
    // gadget would answer REPLAYED; a syscall and the seccomp filter cost
    // as much as the rest of a replayed call).
    if len < limit && get_at(record, 1) == nr {
        if EXECUTED_AGAIN.contains(&nr) {
            return made_again(record, len, limit, nr, a);
        }
        return replayed(record, len, limit);
    }
    let mut r = through_gadget(nr, a);
    compiler_fence(Ordering::SeqCst);
    if r == REPLAYED {
        // Replay did not write this one ahead: it replays the call itself.
        r = raw(nr, a);
    }
    let word = |i: u64, v: u64| write_volatile((record + 8 * i) as *mut u64, v);
    word(1, nr);
    for (i, v) in a.iter().enumerate() {
        word(2 + i as u64, *v);
    }
    word(8, r as u64);
    let mut size = RECORD_WORDS * 8;
    if r >= 0 {
        // What is left of the result for buffers filled in order: the
        // kernel wrote those bytes, so they are all readable.
        let mut left = r as u64;
        for out in outs.iter().filter(|o| o.addr != 0) {
            pieces(out, |addr, len| {
                let n = match out.unit {
                    0 => len,
                    IN_ORDER => {
                        let n = len.min(left);
                        left -= n;
                        if n == 0 {
                            return;
                        }
                        n
                    }
                    unit => (r as u64).saturating_mul(unit).min(len),
                };
                write_volatile((record + size) as *mut u64, addr);
                write_volatile((record + size + 8) as *mut u64, n);
                copy(addr, record + size + 16, n);
                // The padding too: replay writes zeros there (what is there
                // now is a record of the buffer's previous generation).
                for i in n..padded(n) {
                    write_volatile((record + size + 16 + i) as *mut u8, 0);
                }
                size += 16 + padded(n);
            });
        }
    }
    word(0, size);
    compiler_fence(Ordering::SeqCst);
    set(AT_LEN, len + size);
    compiler_fence(Ordering::SeqCst);
    set(AT_BUSY, 0);
    r
}

/// Defines a function that the program calls in libc's stead: its body
/// runs as a function of its own (never inlined, so that its frame is
/// below the caller's stack pointer once it returns), and the result comes
/// back through `leave_no_trace`.
macro_rules! libc_function {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            #[inline(never)]
            unsafe fn body($($arg: $ty),*) -> $ret $body
            leave_no_trace(body($($arg),*))
        }
    };
}

/// How far below the program's stack pointer the library's own frames may
/// reach: about 500 bytes today (`read`'s, then `call`'s, then the
/// gadget's return address), doubled for safety.
const OWN_STACK_REACH: usize = 1024;

/// Every function the program calls returns through here, with its
/// result. A call takes other paths in `replay -a` than when it was
/// recorded (results from records written ahead, made again, or a trap),
/// which leave other values in scratch registers and in the stack below
/// the program's stack pointer. Both would become the program's state: a
/// frame it pushes next holds that garbage in its uninitialized slots (and
/// glibc's lazy binding saves every vector register there), and replay's
/// checks of memory and of a point named by state compare them with the
/// recording. So the library clears both, and leaves the same state
/// whichever path it took.
#[inline(always)]
unsafe fn leave_no_trace<T>(result: T) -> T {
    // SAFETY: below the stack pointer is dead (the library is built without
    // a red zone, and its caller has none at a call), and only registers
    // the C ABI lets a callee clobber are written (xmm0-15 all are; their
    // upper halves, which SSE leaves alone, the library never writes).
    asm!(
        "lea rdi, [rsp - {reach}]",
        "mov ecx, {words}",
        "xor eax, eax",
        "rep stosq",
        "xor edx, edx",
        "xor esi, esi",
        "xor edi, edi",
        "xor r8d, r8d",
        "xor r9d, r9d",
        "xor r10d, r10d",
        "xor r11d, r11d",
        "xorps xmm0, xmm0",
        "xorps xmm1, xmm1",
        "xorps xmm2, xmm2",
        "xorps xmm3, xmm3",
        "xorps xmm4, xmm4",
        "xorps xmm5, xmm5",
        "xorps xmm6, xmm6",
        "xorps xmm7, xmm7",
        "xorps xmm8, xmm8",
        "xorps xmm9, xmm9",
        "xorps xmm10, xmm10",
        "xorps xmm11, xmm11",
        "xorps xmm12, xmm12",
        "xorps xmm13, xmm13",
        "xorps xmm14, xmm14",
        "xorps xmm15, xmm15",
        reach = const OWN_STACK_REACH,
        words = const OWN_STACK_REACH / 8,
        out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("rdi") _,
        out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
        out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
        out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
        out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
        options(nostack),
    );
    result
}

/// Copies `n` bytes from `from` to `to`, which do not overlap, with
/// `rep movsb` (as fast as `memcpy` for the 4 KiB of a typical read on
/// CPUs with fast string moves; a word-at-a-time loop cost file-io a
/// tenth more). Not libc's `memcpy`: it uses vector registers (on AVX-512
/// machines ones no SSE instruction clears, in `leave_no_trace`), which
/// would hold other bytes in replay, where the copy goes the other way,
/// than in the recording. `rep movsb` leaves only rcx, rsi and rdi
/// changed, the same way in both.
unsafe fn copy(from: u64, to: u64, n: u64) {
    asm!(
        "rep movsb",
        inout("rcx") n => _,
        inout("rsi") from => _,
        inout("rdi") to => _,
        options(nostack, preserves_flags),
    );
}

/// Empties the buffer if a mark (see `AT_MARK`) asked for it.
unsafe fn empty_if_marked() {
    if get(AT_MARK) != 0 {
        set(AT_GENERATION, get(AT_GENERATION).wrapping_add(1));
        set(AT_LEN, 0);
        set(AT_MARK, 0);
    }
}

unsafe fn get_at(record: u64, word: u64) -> u64 {
    read_volatile((record + 8 * word) as *const u64)
}

/// Takes the result of a call from the record replay wrote ahead at
/// `record` (offset `len`), and writes its bytes where the call wrote them.
unsafe fn replayed(record: u64, len: u64, limit: u64) -> i64 {
    let size = get_at(record, 0);
    let mut at = RECORD_WORDS * 8;
    while at < size {
        let (addr, n) = (get_at(record + at, 0), get_at(record + at, 1));
        copy(record + at + 16, addr, n);
        at += 16 + padded(n);
    }
    let r = get_at(record, 8) as i64;
    compiler_fence(Ordering::SeqCst);
    if len + size >= limit {
        set(AT_REPLAY_LIMIT, 0);
    }
    set(AT_LEN, len + size);
    compiler_fence(Ordering::SeqCst);
    set(AT_BUSY, 0);
    r
}

/// `replay -a` wrote the record of a call that changes kernel state replay
/// needs too (`EXECUTED_AGAIN`): the call is made again, through the
/// gadget that replay lets run, and must match its record (arguments,
/// result, the bytes it wrote); the record is then used as any written
/// ahead. A call that does not match leaves its record unused and is made
/// the traced way, where replay reports the divergence at that record.
unsafe fn made_again(record: u64, len: u64, limit: u64, nr: u64, a: [u64; 6]) -> i64 {
    let r = through_run_gadget(nr, a);
    let mut same = get_at(record, 8) as i64 == r && (0..6).all(|i| get_at(record, 2 + i) == a[i as usize]);
    let size = get_at(record, 0);
    let mut at = RECORD_WORDS * 8;
    while same && at < size {
        let (addr, n) = (get_at(record + at, 0), get_at(record + at, 1));
        // Byte by byte, not libc's `memcmp`: its vector registers would be
        // in use in replay and not in the recording, which the next signal
        // frame's saved state shows, in memory replay compares.
        same = (0..n)
            .all(|i| read_volatile((addr + i) as *const u8) == read_volatile((record + at + 16 + i) as *const u8));
        at += 16 + padded(n);
    }
    if !same {
        set(AT_BUSY, 0);
        return raw(nr, a);
    }
    replayed(record, len, limit)
}

/// libc's convention: -1 and errno for an error.
unsafe fn libc_result(r: i64) -> i64 {
    if (-4095..0).contains(&r) {
        *__errno_location() = -r as i32;
        return -1;
    }
    r
}

/// The device, inode and mode of `fd`'s file (a buffered `fstat`), while
/// calls are buffered.
unsafe fn file_identity(fd: i32) -> Option<(u64, u64, u32)> {
    if !buffering() {
        return None;
    }
    let mut st = [0u64; (STAT_SIZE / 8) as usize];
    let at = st.as_mut_ptr() as u64;
    if call(SYS_FSTAT, [fd as u64, at, 0, 0, 0, 0], &[fixed(at, STAT_SIZE)]) != 0 {
        return None;
    }
    // st_mode is the 32-bit word at byte 24.
    Some((st[0], st[1], (st[3] & 0xffff_ffff) as u32))
}

/// Only reads of regular files are buffered: they never wait for another
/// process, so a buffered call never blocks the recorder's schedule.
unsafe fn regular_file(fd: i32) -> bool {
    file_identity(fd).is_some_and(|(_, _, mode)| mode & S_IFMT == S_IFREG)
}

/// Whether a write to `fd` can be buffered: a regular file that is neither
/// rback's own output nor in /proc, while the process has mapped no file
/// shared (`AT_NO_WRITES`), so that writing it changes no memory. Replay
/// makes no write to a file: only the result is recorded.
unsafe fn writable_file(fd: i32) -> bool {
    if !buffering() || get(AT_NO_WRITES) != 0 {
        return false;
    }
    let Some((dev, ino, mode)) = file_identity(fd) else {
        return false;
    };
    let output = |i: usize| {
        OUTPUT_FILES[2 * i].load(Ordering::Relaxed) == dev && OUTPUT_FILES[2 * i + 1].load(Ordering::Relaxed) == ino
    };
    mode & S_IFMT == S_IFREG && dev != PROC_DEV.load(Ordering::Relaxed) && !output(0) && !output(1)
}

/// A write of any kind (`nr`, with arguments `a`) to `fd`: buffered where
/// `writable_file` allows it. It writes no memory of the program's.
unsafe fn write_call(nr: u64, fd: i32, a: [u64; 6]) -> isize {
    let r = if writable_file(fd) {
        call(nr, a, &[])
    } else {
        raw(nr, a)
    };
    libc_result(r) as isize
}

libc_function! {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize {
        write_call(SYS_WRITE, fd, [fd as u64, buf as u64, count as u64, 0, 0, 0])
    }
}

libc_function! {
    fn pwrite64(fd: i32, buf: *const u8, count: usize, offset: i64) -> isize {
        write_call(SYS_PWRITE64, fd, [fd as u64, buf as u64, count as u64, offset as u64, 0, 0])
    }
}

libc_function! {
    fn pwrite(fd: i32, buf: *const u8, count: usize, offset: i64) -> isize {
        pwrite64(fd, buf, count, offset)
    }
}

libc_function! {
    fn writev(fd: i32, iov: *const u8, count: i32) -> isize {
        write_call(SYS_WRITEV, fd, [fd as u64, iov as u64, count as u64, 0, 0, 0])
    }
}

libc_function! {
    /// `poll` that only looks (a zero timeout) never waits for another
    /// process, whatever its descriptors are: it is buffered, with the
    /// `revents` it writes. A call that may wait takes the traced path, where
    /// the recorder can run other threads meanwhile.
    fn poll(fds: *mut u8, nfds: u64, timeout: i32) -> i32 {
        let a = [fds as u64, nfds, timeout as u64, 0, 0, 0];
        let r = if timeout == 0 && nfds <= MAX_OUTPUT / POLLFD_SIZE {
            call(SYS_POLL, a, &[fixed(fds as u64, nfds * POLLFD_SIZE)])
        } else {
            raw(SYS_POLL, a)
        };
        libc_result(r) as i32
    }
}

libc_function! {
    fn __poll_chk(fds: *mut u8, nfds: u64, timeout: i32, fdslen: u64) -> i32 {
        if fdslen / POLLFD_SIZE < nfds {
            __chk_fail();
        }
        poll(fds, nfds, timeout)
    }
}

libc_function! {
    /// `epoll_wait` with a zero timeout, buffered for the same reason as
    /// `poll`'s, with the events it returns.
    fn epoll_wait(epfd: i32, events: *mut u8, max_events: i32, timeout: i32) -> i32 {
        let a = [epfd as u64, events as u64, max_events as u64, timeout as u64, 0, 0];
        let r = if timeout == 0 && max_events > 0 {
            call(
                SYS_EPOLL_WAIT,
                a,
                &[items_by_result(events as u64, max_events as u64, EPOLL_EVENT_SIZE)],
            )
        } else {
            raw(SYS_EPOLL_WAIT, a)
        };
        libc_result(r) as i32
    }
}

/// A file mapped shared shows what is written to it: from now on this
/// process's writes stop in the recorder, which records what they change.
unsafe fn before_mmap(flags: u64, fd: u64) {
    const MAP_SHARED: u64 = 0x01;
    const MAP_ANONYMOUS: u64 = 0x20;
    if ENABLED.load(Ordering::Relaxed) && flags & MAP_SHARED != 0 && flags & MAP_ANONYMOUS == 0 && fd as i32 >= 0 {
        set(AT_NO_WRITES, 1);
    }
}

libc_function! {
    fn mmap64(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, offset: i64) -> i64 {
        before_mmap(flags as u64, fd as u64);
        let a = [addr, len, prot as u64, flags as u64, fd as u64, offset as u64];
        libc_result(raw(SYS_MMAP, a))
    }
}

libc_function! {
    fn mmap(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, offset: i64) -> i64 {
        mmap64(addr, len, prot, flags, fd, offset)
    }
}

libc_function! {
    fn read(fd: i32, buf: *mut u8, count: usize) -> isize {
        let a = [fd as u64, buf as u64, count as u64, 0, 0, 0];
        let r = if regular_file(fd) {
            call(SYS_READ, a, &[by_result(buf as u64, count as u64)])
        } else {
            raw(SYS_READ, a)
        };
        libc_result(r) as isize
    }
}

libc_function! {
    fn __read_chk(fd: i32, buf: *mut u8, count: usize, buflen: usize) -> isize {
        if count > buflen {
            __chk_fail();
        }
        read(fd, buf, count)
    }
}

libc_function! {
    /// A `pread` never waits for another process: descriptors that could
    /// (pipes, sockets, terminals, eventfds) fail it with ESPIPE at once.
    fn pread64(fd: i32, buf: *mut u8, count: usize, offset: i64) -> isize {
        let a = [fd as u64, buf as u64, count as u64, offset as u64, 0, 0];
        libc_result(call(SYS_PREAD64, a, &[by_result(buf as u64, count as u64)])) as isize
    }
}

libc_function! {
    fn pread(fd: i32, buf: *mut u8, count: usize, offset: i64) -> isize {
        pread64(fd, buf, count, offset)
    }
}

libc_function! {
    fn __pread64_chk(fd: i32, buf: *mut u8, count: usize, offset: i64, buflen: usize) -> isize {
        if count > buflen {
            __chk_fail();
        }
        pread64(fd, buf, count, offset)
    }
}

libc_function! {
    fn __pread_chk(fd: i32, buf: *mut u8, count: usize, offset: i64, buflen: usize) -> isize {
        __pread64_chk(fd, buf, count, offset, buflen)
    }
}

libc_function! {
    /// `readv` of a regular file, buffered as `read` is, once the kernel
    /// said it can read the iovec array (see `IOVEC_PROBE`): the library
    /// reads the array to know how many bytes the call may write, and after
    /// it copies as many as the call read from the buffers, in order. An
    /// array the kernel cannot read, or a count it refuses, takes the traced
    /// path, which gives the program its error.
    fn readv(fd: i32, iov: *const u8, count: i32) -> isize {
        let a = [fd as u64, iov as u64, count as u64, 0, 0, 0];
        let r = if regular_file(fd) && iovecs_readable(iov as u64, count) {
            call(SYS_READV, a, &[iovecs(iov as u64, count as u64)])
        } else {
            raw(SYS_READV, a)
        };
        libc_result(r) as isize
    }
}

libc_function! {
    /// `preadv`, which never waits for another process (as `pread64`), is
    /// buffered as `readv` is. glibc passes the offset as two words, low
    /// then high; on x86-64 the high one is 0.
    fn preadv64(fd: i32, iov: *const u8, count: i32, offset: i64) -> isize {
        let a = [fd as u64, iov as u64, count as u64, offset as u64, 0, 0];
        let r = if buffering() && iovecs_readable(iov as u64, count) {
            call(SYS_PREADV, a, &[iovecs(iov as u64, count as u64)])
        } else {
            raw(SYS_PREADV, a)
        };
        libc_result(r) as isize
    }
}

libc_function! {
    fn preadv(fd: i32, iov: *const u8, count: i32, offset: i64) -> isize {
        preadv64(fd, iov, count, offset)
    }
}

/// The signals glibc uses itself (SIGCANCEL, 32, and SIGSETXID, 33), as
/// bits of a mask: its `pthread_sigmask` never lets a program block them.
const GLIBC_SIGNALS: u64 = 3 << 31;

/// `rt_sigprocmask` as glibc's `pthread_sigmask` makes it: a set that
/// names glibc's own signals is copied without them (glibc reads the set
/// the same way, so a bad pointer faults there too). Buffered, with the
/// old mask it writes, when it cannot unblock a signal (`SIG_BLOCK`, or
/// no set: a question); replay makes it again (see `EXECUTED_AGAIN`).
/// A call that may unblock one takes the traced path: a signal pending
/// then is delivered as the call returns, which inside the library would
/// be no point replay can find, and held back to a later point it could
/// be blocked again before that point comes, for as long as the program
/// keeps unblocking and blocking it. At a traced call's return it is
/// delivered on the spot. The recorder asks the kernel for the mask where
/// it needs it.
unsafe fn sigmask(how: i32, set: *const u64, old: *mut u64) -> i64 {
    const SIG_BLOCK: i32 = 0;
    let mut own = [0u64; 1];
    let mut set = set as u64;
    if set != 0 && read_volatile(set as *const u64) & GLIBC_SIGNALS != 0 {
        own[0] = read_volatile(set as *const u64) & !GLIBC_SIGNALS;
        set = own.as_mut_ptr() as u64;
    }
    let a = [how as u64, set, old as u64, 8, 0, 0];
    let r = if set == 0 || how == SIG_BLOCK {
        call(SYS_RT_SIGPROCMASK, a, &[fixed(old as u64, 8)])
    } else {
        raw(SYS_RT_SIGPROCMASK, a)
    };
    // The copy must live until the call is made.
    compiler_fence(Ordering::SeqCst);
    core::hint::black_box(&own);
    r
}

libc_function! {
    fn pthread_sigmask(how: i32, set: *const u64, old: *mut u64) -> i32 {
        // pthread_sigmask returns the error number itself.
        let r = sigmask(how, set, old);
        if r < 0 {
            -r as i32
        } else {
            0
        }
    }
}

libc_function! {
    fn sigprocmask(how: i32, set: *const u64, old: *mut u64) -> i32 {
        libc_result(sigmask(how, set, old)) as i32
    }
}

/// Where glibc's `struct sigaction` (x86-64) keeps what the kernel's holds.
const SA_MASK_AT: usize = 8;
/// `sizeof(sigset_t)` in glibc: 1024 signals, of which the kernel knows 64.
const GLIBC_SIGSET_SIZE: usize = 128;
const SA_FLAGS_AT: usize = 136;
const SA_RESTORER_AT: usize = 144;

libc_function! {
    /// A question (`sigaction(sig, NULL, &old)`) about a signal glibc lets
    /// the program have is buffered: Python asks about every signal as it
    /// starts. glibc refuses glibc's own signals (32 and 33) and numbers
    /// out of range without a syscall, and sets its restorer in new
    /// actions: every call but a question goes to glibc.
    ///
    /// The answer is written as glibc's `__libc_sigaction` writes it:
    /// handler, flags (as an `int`: the padding after them is left alone)
    /// and restorer, and the whole 128-byte mask. glibc copies the
    /// kernel's 8 bytes of mask followed by 120 bytes of its own
    /// uninitialized stack (glibc 2.36 to today's sources); here they are
    /// zeros, the empty rest of the set. Setting an action or testing a
    /// signal reads only the first 8 bytes; `sigisemptyset` and the like,
    /// which read all 128, see the kernel's set here, where glibc's
    /// garbage can make it look fuller.
    fn sigaction(sig: i32, act: *const u8, old: *mut u8) -> i32 {
        if !act.is_null() || old.is_null() || !(1..=64).contains(&sig) || GLIBC_SIGNALS & 1 << (sig - 1) != 0 || !buffering() {
            return __sigaction(sig, act, old);
        }
        let mut kernel = [0u64; (KERNEL_SIGACTION_SIZE / 8) as usize];
        let at = kernel.as_mut_ptr() as u64;
        let a = [sig as u64, 0, at, SIGSET_SIZE, 0, 0];
        let r = call(SYS_RT_SIGACTION, a, &[fixed(at, KERNEL_SIGACTION_SIZE)]);
        if r < 0 {
            return libc_result(r) as i32;
        }
        let [handler, flags, restorer, mask] = kernel;
        // Through the pointer as C code would, whatever its alignment.
        let put = |offset: usize, value: u64| (old.add(offset) as *mut u64).write_unaligned(value);
        put(0, handler);
        put(SA_MASK_AT, mask);
        for offset in (SA_MASK_AT + 8..SA_MASK_AT + GLIBC_SIGSET_SIZE).step_by(8) {
            put(offset, 0);
        }
        (old.add(SA_FLAGS_AT) as *mut i32).write_unaligned(flags as i32);
        put(SA_RESTORER_AT, restorer);
        0
    }
}

libc_function! {
    /// `isatty` asks the kernel for the terminal's settings (`TCGETS`, as
    /// glibc 2.36 does through its `tcgetattr`; glibc's current sources ask
    /// with `TCGETS2`, which every terminal answers alike): buffered,
    /// whatever `fd` is (see `terminal_question`). A refusal is the answer
    /// "no", with its errno.
    fn isatty(fd: i32) -> i32 {
        let mut termios = [0u32; (KERNEL_TERMIOS_SIZE / 4) as usize];
        let at = termios.as_mut_ptr() as u64;
        let a = [fd as u64, TCGETS, at, 0, 0, 0];
        (libc_result(call(SYS_IOCTL, a, &[fixed(at, KERNEL_TERMIOS_SIZE)])) == 0) as i32
    }
}

/// The library's own image (from its ELF header to the end of its last
/// segment): protections and advice about it stay traced.
static OWN_IMAGE: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

extern "C" {
    /// The library's ELF header, where its image starts (the linker defines
    /// this symbol, hidden, for each object it links).
    static __ehdr_start: u8;
}

/// Notes where the library's image lies, from its program headers.
unsafe fn learn_own_image() {
    const PT_LOAD: u32 = 1;
    let base = core::ptr::addr_of!(__ehdr_start) as u64;
    let phoff = read_volatile((base + 32) as *const u64);
    let phnum = read_volatile((base + 56) as *const u16) as u64;
    let mut end = base;
    for i in 0..phnum {
        // Each program header of a 64-bit ELF file is 56 bytes.
        let ph = base + phoff + 56 * i;
        if read_volatile(ph as *const u32) == PT_LOAD {
            let (vaddr, memsz) = (
                read_volatile((ph + 16) as *const u64),
                read_volatile((ph + 40) as *const u64),
            );
            end = end.max(base + vaddr + memsz);
        }
    }
    OWN_IMAGE[0].store(base, Ordering::Relaxed);
    OWN_IMAGE[1].store(end, Ordering::Relaxed);
}

/// Whether a call about `[addr, addr + len)` may change the library's own
/// image.
fn touches_own_image(addr: u64, len: u64) -> bool {
    overlaps(
        addr,
        len,
        OWN_IMAGE[0].load(Ordering::Relaxed),
        OWN_IMAGE[1].load(Ordering::Relaxed),
    )
}

libc_function! {
    /// Buffered when it only makes memory readable, writable or inaccessible
    /// and is not about rback's mappings or the library (see
    /// `plain_protection`); replay makes it again.
    fn mprotect(addr: u64, len: u64, prot: i32) -> i32 {
        let a = [addr, len, prot as u64, 0, 0, 0];
        let r = if plain_protection(addr, len, prot as u64) && !touches_own_image(addr, len) {
            call(SYS_MPROTECT, a, &[])
        } else {
            raw(SYS_MPROTECT, a)
        };
        libc_result(r) as i32
    }
}

libc_function! {
    /// Buffered for hints and `MADV_DONTNEED` (see `plain_advice`); replay
    /// makes it again, so pages it zeroed are zeroed in replay too.
    fn madvise(addr: u64, len: u64, advice: i32) -> i32 {
        let a = [addr, len, advice as u64, 0, 0, 0];
        let r = if plain_advice(addr, len, advice as u64) && !touches_own_image(addr, len) {
            call(SYS_MADVISE, a, &[])
        } else {
            raw(SYS_MADVISE, a)
        };
        libc_result(r) as i32
    }
}

libc_function! {
    fn lseek64(fd: i32, offset: i64, whence: i32) -> i64 {
        libc_result(call(SYS_LSEEK, [fd as u64, offset as u64, whence as u64, 0, 0, 0], &[]))
    }
}

libc_function! {
    fn lseek(fd: i32, offset: i64, whence: i32) -> i64 {
        lseek64(fd, offset, whence)
    }
}

libc_function! {
    fn getpid() -> i32 {
        call(SYS_GETPID, [0; 6], &[]) as i32
    }
}

libc_function! {
    fn getppid() -> i32 {
        call(SYS_GETPPID, [0; 6], &[]) as i32
    }
}

libc_function! {
    fn gettid() -> i32 {
        call(SYS_GETTID, [0; 6], &[]) as i32
    }
}

libc_function! {
    fn clock_gettime(clock: i32, tp: *mut u8) -> i32 {
        let a = [clock as u64, tp as u64, 0, 0, 0, 0];
        libc_result(call(SYS_CLOCK_GETTIME, a, &[fixed(tp as u64, 16)])) as i32
    }
}

libc_function! {
    fn __clock_gettime(clock: i32, tp: *mut u8) -> i32 {
        clock_gettime(clock, tp)
    }
}

libc_function! {
    fn gettimeofday(tv: *mut u8, tz: *mut u8) -> i32 {
        let a = [tv as u64, tz as u64, 0, 0, 0, 0];
        libc_result(call(SYS_GETTIMEOFDAY, a, &[fixed(tv as u64, 16), fixed(tz as u64, 8)])) as i32
    }
}

libc_function! {
    fn time(t: *mut i64) -> i64 {
        libc_result(call(SYS_TIME, [t as u64, 0, 0, 0, 0, 0], &[fixed(t as u64, 8)]))
    }
}

libc_function! {
    fn fstat(fd: i32, st: *mut u8) -> i32 {
        let a = [fd as u64, st as u64, 0, 0, 0, 0];
        libc_result(call(SYS_FSTAT, a, &[fixed(st as u64, STAT_SIZE)])) as i32
    }
}

libc_function! {
    fn fstat64(fd: i32, st: *mut u8) -> i32 {
        fstat(fd, st)
    }
}

libc_function! {
    fn fstatat(dirfd: i32, path: *const u8, st: *mut u8, flags: i32) -> i32 {
        let a = [dirfd as u64, path as u64, st as u64, flags as u64, 0, 0];
        libc_result(call(SYS_NEWFSTATAT, a, &[fixed(st as u64, STAT_SIZE)])) as i32
    }
}

libc_function! {
    fn fstatat64(dirfd: i32, path: *const u8, st: *mut u8, flags: i32) -> i32 {
        fstatat(dirfd, path, st, flags)
    }
}

libc_function! {
    fn stat(path: *const u8, st: *mut u8) -> i32 {
        fstatat(AT_FDCWD as i32, path, st, 0)
    }
}

libc_function! {
    fn stat64(path: *const u8, st: *mut u8) -> i32 {
        stat(path, st)
    }
}

libc_function! {
    fn lstat(path: *const u8, st: *mut u8) -> i32 {
        fstatat(AT_FDCWD as i32, path, st, AT_SYMLINK_NOFOLLOW as i32)
    }
}

libc_function! {
    fn lstat64(path: *const u8, st: *mut u8) -> i32 {
        lstat(path, st)
    }
}

libc_function! {
    fn statx(dirfd: i32, path: *const u8, flags: i32, mask: u32, buf: *mut u8) -> i32 {
        let a = [dirfd as u64, path as u64, flags as u64, mask as u64, buf as u64, 0];
        libc_result(call(SYS_STATX, a, &[fixed(buf as u64, STATX_SIZE)])) as i32
    }
}

libc_function! {
    fn getrandom(buf: *mut u8, count: usize, flags: u32) -> isize {
        let a = [buf as u64, count as u64, flags as u64, 0, 0, 0];
        libc_result(call(SYS_GETRANDOM, a, &[by_result(buf as u64, count as u64)])) as isize
    }
}

libc_function! {
    /// Closing a regular file never waits (a socket's may linger).
    fn close(fd: i32) -> i32 {
        let a = [fd as u64, 0, 0, 0, 0, 0];
        let r = if regular_file(fd) {
            call(SYS_CLOSE, a, &[])
        } else {
            raw(SYS_CLOSE, a)
        };
        libc_result(r) as i32
    }
}

libc_function! {
    fn __close(fd: i32) -> i32 {
        close(fd)
    }
}

libc_function! {
    fn faccessat(dirfd: i32, path: *const u8, mode: i32, flags: i32) -> i32 {
        let nr = if flags == 0 { SYS_FACCESSAT } else { SYS_FACCESSAT2 };
        let a = [dirfd as u64, path as u64, mode as u64, flags as u64, 0, 0];
        libc_result(call(nr, a, &[])) as i32
    }
}

libc_function! {
    fn access(path: *const u8, mode: i32) -> i32 {
        libc_result(call(SYS_ACCESS, [path as u64, mode as u64, 0, 0, 0, 0], &[])) as i32
    }
}

/// Whether `path` (a C string) begins with `prefix`. The caller must know
/// `path` readable up to its NUL.
unsafe fn starts_with(path: *const u8, prefix: &[u8]) -> bool {
    // SAFETY: the comparison stops at the first byte that differs, at the
    // NUL at the latest (no prefix holds one), so it reads no byte past
    // the string, which the caller knows readable.
    prefix.iter().enumerate().all(|(i, &c)| read_volatile(path.add(i)) == c)
}

/// An open of `path` (relative to `dirfd`), buffered when it only reads an
/// existing regular file outside /proc and /dev: such an open never waits
/// (a FIFO's waits for the other end, a device's may do anything), and
/// replay needs nothing of it but its result and the file it opened. A
/// buffered `newfstatat` of the path says which file that is (the record
/// carries its device and inode in the two arguments `openat` does not
/// use: replay makes the same look first, and passes the same words), or
/// that there is none (then the open fails as the look did, and both words
/// are 0). Nothing else runs in the program between the two calls but a
/// process outside the recording, which could make a FIFO of the path in
/// between: the open would then wait inside the library.
unsafe fn open_call(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i64 {
    // The mode is an argument only with O_CREAT or O_TMPFILE (glibc passes
    // 0 otherwise, and so the register may hold anything).
    let mode = if flags & (0o100 | 0o20000000) != 0 { mode } else { 0 };
    let a = [dirfd as i64 as u64, path as u64, flags as u32 as u64, mode as u64, 0, 0];
    if !buffering() || flags as u32 as u64 & OPEN_CHANGES != 0 {
        return raw(SYS_OPENAT, a);
    }
    let mut st = [0u64; (STAT_SIZE / 8) as usize];
    let at = st.as_mut_ptr() as u64;
    let looked = call(SYS_NEWFSTATAT, [a[0], a[1], at, 0, 0, 0], &[fixed(at, STAT_SIZE)]);
    let (dev, ino, kind) = match looked {
        0 => (st[0], st[1], (st[3] as u32) & S_IFMT),
        r if r == -ENOENT => (0, 0, S_IFREG),
        // A bad address among them: the library reads no path the kernel
        // has not read.
        _ => return raw(SYS_OPENAT, a),
    };
    // SAFETY: the kernel read the path up to its NUL for the look above
    // (ENOENT included), so it is readable that far.
    let special = starts_with(path, b"/proc/") || starts_with(path, b"/dev/");
    if kind != S_IFREG || special || (looked == 0 && dev == PROC_DEV.load(Ordering::Relaxed)) {
        return raw(SYS_OPENAT, a);
    }
    call(SYS_OPENAT, [a[0], a[1], a[2], a[3], dev, ino], &[])
}

libc_function! {
    /// `open`, `openat` and their 64-bit and fortified names: the mode is
    /// read from its register whether the caller passed one or not, as
    /// glibc's own functions do on x86-64.
    fn openat(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i32 {
        libc_result(open_call(dirfd, path, flags, mode)) as i32
    }
}

libc_function! {
    fn openat64(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i32 {
        openat(dirfd, path, flags, mode)
    }
}

libc_function! {
    fn open(path: *const u8, flags: i32, mode: u32) -> i32 {
        openat(AT_FDCWD as i32, path, flags, mode)
    }
}

libc_function! {
    fn open64(path: *const u8, flags: i32, mode: u32) -> i32 {
        openat(AT_FDCWD as i32, path, flags, mode)
    }
}

libc_function! {
    /// The fortified open of a constant flags word without O_CREAT.
    fn __open_2(path: *const u8, flags: i32) -> i32 {
        openat(AT_FDCWD as i32, path, flags, 0)
    }
}

libc_function! {
    fn __open64_2(path: *const u8, flags: i32) -> i32 {
        openat(AT_FDCWD as i32, path, flags, 0)
    }
}

libc_function! {
    fn __openat_2(dirfd: i32, path: *const u8, flags: i32) -> i32 {
        openat(dirfd, path, flags, 0)
    }
}

libc_function! {
    fn __openat64_2(dirfd: i32, path: *const u8, flags: i32) -> i32 {
        openat(dirfd, path, flags, 0)
    }
}

const SYS_PRCTL: u64 = 157;
const SYS_SECCOMP: u64 = 317;
const PR_SET_SECCOMP: u64 = 22;

/// The program is about to install a seccomp filter: no call is buffered
/// from now on, in this process and (the word is inherited) its children.
unsafe fn before_seccomp() {
    if ENABLED.load(Ordering::Relaxed) {
        set(AT_OFF, 1);
    }
}

libc_function! {
    /// libc's `syscall(2)`, which takes up to six arguments after the number
    /// (read as glibc's does: the unused ones are whatever the caller left).
    fn syscall(nr: i64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
        if nr as u64 == SYS_SECCOMP || (nr as u64 == SYS_PRCTL && a0 == PR_SET_SECCOMP) {
            before_seccomp();
        }
        if nr as u64 == SYS_MMAP {
            before_mmap(a3, a4);
        }
        // A call the library buffers through libc's function is buffered
        // when the program names it to syscall(2) too (Rust's standard
        // library, and programs that want a call glibc has no function for,
        // go this way). On x86-64 each of these functions passes its
        // arguments to the kernel as they are and reports as syscall(2)
        // does (-1 and errno), so the function stands in for the syscall.
        match nr as u64 {
            SYS_READ => read(a0 as i32, a1 as *mut u8, a2 as usize) as i64,
            SYS_WRITE => write(a0 as i32, a1 as *const u8, a2 as usize) as i64,
            SYS_PREAD64 => pread64(a0 as i32, a1 as *mut u8, a2 as usize, a3 as i64) as i64,
            SYS_PWRITE64 => pwrite64(a0 as i32, a1 as *const u8, a2 as usize, a3 as i64) as i64,
            SYS_READV => readv(a0 as i32, a1 as *const u8, a2 as i32) as i64,
            SYS_WRITEV => writev(a0 as i32, a1 as *const u8, a2 as i32) as i64,
            SYS_LSEEK => lseek64(a0 as i32, a1 as i64, a2 as i32),
            SYS_GETPID => getpid() as i64,
            SYS_GETPPID => getppid() as i64,
            SYS_GETTID => gettid() as i64,
            SYS_CLOCK_GETTIME => clock_gettime(a0 as i32, a1 as *mut u8) as i64,
            SYS_GETTIMEOFDAY => gettimeofday(a0 as *mut u8, a1 as *mut u8) as i64,
            SYS_TIME => time(a0 as *mut i64),
            SYS_FSTAT => fstat(a0 as i32, a1 as *mut u8) as i64,
            SYS_NEWFSTATAT => fstatat(a0 as i32, a1 as *const u8, a2 as *mut u8, a3 as i32) as i64,
            SYS_STATX => statx(a0 as i32, a1 as *const u8, a2 as i32, a3 as u32, a4 as *mut u8) as i64,
            SYS_GETRANDOM => getrandom(a0 as *mut u8, a1 as usize, a2 as u32) as i64,
            SYS_CLOSE => close(a0 as i32) as i64,
            SYS_OPENAT => openat(a0 as i32, a1 as *const u8, a2 as i32, a3 as u32) as i64,
            SYS_ACCESS => access(a0 as *const u8, a1 as i32) as i64,
            // The kernel's faccessat has no flags argument.
            SYS_FACCESSAT => faccessat(a0 as i32, a1 as *const u8, a2 as i32, 0) as i64,
            SYS_POLL => poll(a0 as *mut u8, a1, a2 as i32) as i64,
            SYS_EPOLL_WAIT => epoll_wait(a0 as i32, a1 as *mut u8, a2 as i32, a3 as i32) as i64,
            SYS_MPROTECT => mprotect(a0, a1, a2 as i32) as i64,
            SYS_MADVISE => madvise(a0, a1, a2 as i32) as i64,
            _ => libc_result(raw(nr as u64, [a0, a1, a2, a3, a4, a5])),
        }
    }
}

libc_function! {
    fn prctl(option: i32, a1: u64, a2: u64, a3: u64, a4: u64) -> i32 {
        if option as u64 == PR_SET_SECCOMP {
            before_seccomp();
        }
        libc_result(raw(SYS_PRCTL, [option as u64, a1, a2, a3, a4, 0])) as i32
    }
}
