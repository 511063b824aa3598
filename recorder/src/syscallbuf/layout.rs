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
pub const BUFFERED: [u64; 22] = [
    0,   // read
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
];
