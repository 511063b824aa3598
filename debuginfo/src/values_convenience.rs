//! Values of gdb's convenience variables that describe the program's state
//! rather than its variables: `$_siginfo` (the signal it stopped for, typed
//! as gdb types it on x86-64 Linux) and `$_exitcode`. The front end builds
//! them from the tracee and hands them to the evaluator by name.

use super::*;

/// The size of the kernel's `siginfo_t`.
const SIGINFO_SIZE: u64 = 128;

fn member(name: &str, offset: u64, ty: Type) -> Member {
    Member {
        name: Some(name.to_string()),
        offset,
        bits: None,
        ty,
        base: false,
    }
}

/// A struct or union type; `name` as gdb names it (`struct siginfo`, or
/// `struct {...}` for an anonymous one).
fn aggregate(name: &str, size: u64, members: Vec<Member>) -> Type {
    Type::simple(name, size, Kind::Struct { members: Some(members) })
}

fn int() -> Type {
    Type::int("int", 4, true)
}

fn uint() -> Type {
    Type::int("unsigned int", 4, false)
}

fn long() -> Type {
    Type::int("long", 8, true)
}

fn void_ptr() -> Type {
    Type::pointer_to(Type::simple("void", 1, Kind::Void), None)
}

/// gdb's `struct siginfo` for amd64 Linux (`linux_get_siginfo_type`): the
/// kernel's layout, with the union of what each kind of signal carries.
fn siginfo_type() -> Type {
    let sigval = || {
        aggregate(
            "sigval_t",
            8,
            vec![member("sival_int", 0, int()), member("sival_ptr", 0, void_ptr())],
        )
    };
    let pid = || Type::int("__pid_t", 4, true);
    let uid = || Type::int("__uid_t", 4, false);
    let clock = || Type::int("__clock_t", 8, true);
    let pad = Type {
        left: "int".to_string(),
        right: "[28]".to_string(),
        size: 112,
        lang: Lang::C,
        kind: Kind::Array {
            elem: Box::new(int()),
            count: 28,
        },
    };
    let anonymous = |size, members| aggregate("struct {...}", size, members);
    let fields = aggregate(
        "union {...}",
        112,
        vec![
            member("_pad", 0, pad),
            member(
                "_kill",
                0,
                anonymous(8, vec![member("si_pid", 0, pid()), member("si_uid", 4, uid())]),
            ),
            member(
                "_timer",
                0,
                anonymous(
                    16,
                    vec![
                        member("si_tid", 0, int()),
                        member("si_overrun", 4, int()),
                        member("si_sigval", 8, sigval()),
                    ],
                ),
            ),
            member(
                "_rt",
                0,
                anonymous(
                    16,
                    vec![
                        member("si_pid", 0, pid()),
                        member("si_uid", 4, uid()),
                        member("si_sigval", 8, sigval()),
                    ],
                ),
            ),
            member(
                "_sigchld",
                0,
                anonymous(
                    32,
                    vec![
                        member("si_pid", 0, pid()),
                        member("si_uid", 4, uid()),
                        member("si_status", 8, int()),
                        member("si_utime", 16, clock()),
                        member("si_stime", 24, clock()),
                    ],
                ),
            ),
            member(
                "_sigfault",
                0,
                anonymous(
                    32,
                    vec![
                        member("si_addr", 0, void_ptr()),
                        member("_addr_lsb", 8, Type::int("short", 2, true)),
                        member(
                            "_addr_bnd",
                            16,
                            anonymous(
                                16,
                                vec![member("_lower", 0, void_ptr()), member("_upper", 8, void_ptr())],
                            ),
                        ),
                    ],
                ),
            ),
            member(
                "_sigpoll",
                0,
                anonymous(16, vec![member("si_band", 0, long()), member("si_fd", 8, int())]),
            ),
            member(
                "_sigsys",
                0,
                anonymous(
                    16,
                    vec![
                        member("_call_addr", 0, void_ptr()),
                        member("_syscall", 8, int()),
                        member("_arch", 12, uint()),
                    ],
                ),
            ),
        ],
    );
    aggregate(
        "struct siginfo",
        SIGINFO_SIZE,
        vec![
            member("si_signo", 0, int()),
            member("si_errno", 4, int()),
            member("si_code", 8, int()),
            member("_sifields", 16, fields),
        ],
    )
}

impl Value {
    /// `$_siginfo`: a raw `siginfo_t` as gdb shows it. `None` when `raw` is
    /// not one (too short).
    pub fn siginfo(raw: &[u8]) -> Option<Value> {
        let raw = raw.get(..SIGINFO_SIZE as usize)?;
        Some(Value {
            ty: siginfo_type(),
            addr: None,
            bytes: Some(raw.to_vec()),
            notes: Vec::new(),
            bare: false,
            reference: None,
        })
    }

    /// An `int` that lives nowhere in the program (`$_exitcode`).
    pub fn int(v: i32) -> Value {
        Value {
            ty: int(),
            addr: None,
            bytes: Some(v.to_le_bytes().to_vec()),
            notes: Vec::new(),
            bare: false,
            reference: None,
        }
    }
}
