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
        statik: None,
        virtual_base: None,
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
        Some(Value::unplaced(siginfo_type(), raw.to_vec()))
    }

    /// An `int` that lives nowhere in the program (`$_exitcode`).
    pub fn int(v: i32) -> Value {
        Value::unplaced(int(), v.to_le_bytes().to_vec())
    }
}

/// The group of a floating-point or vector register, as gdb's `info
/// registers GROUP` selects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterClass {
    /// `st0`..`st7` and the x87 control registers (`float`).
    Float,
    /// `xmm0`..`xmm15` (`sse`).
    Sse,
    /// `mxcsr`: in `sse` and `vector`.
    Mxcsr,
    /// `ymm0`..`ymm15` (`vector`).
    Vector,
}

/// A floating-point or vector register, named and typed as gdb shows it
/// for an x86-64 target with AVX (the layout rback's gdb server describes).
pub struct FpRegister {
    pub name: String,
    pub class: RegisterClass,
    pub value: Value,
}

impl FpRegister {
    /// Its bits, as an integer where they fit (not `xmm`, `ymm`).
    pub fn bits(&self) -> Option<u64> {
        let bytes = self.value.bytes.as_deref()?;
        (bytes.len() <= 8).then(|| read_int(bytes, bytes.len() as u64, false) as u64)
    }

    /// Whether it is an x87 data register (`st0`), shown with its raw bytes.
    pub fn is_x87(&self) -> bool {
        self.value.ty.size == 10
    }

    /// An x87 register's raw bytes as gdb shows them: `0x` and 20 hex
    /// digits, most significant first.
    pub fn raw_hex(&self) -> String {
        let bytes = self.value.bytes.as_deref().unwrap_or_default();
        let digits: String = bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
        format!("0x{digits}")
    }
}

fn scalar_float(name: &str, size: u64) -> Type {
    Type::simple(name, size, Kind::Float)
}

/// gdb's vector types (`v4f`: four floats), arrays printed as arrays.
fn vector(name: &str, elem: Type, count: u64) -> Type {
    Type {
        left: name.to_string(),
        right: String::new(),
        size: elem.size * count,
        lang: Lang::C,
        kind: Kind::Array {
            elem: Box::new(elem),
            count,
        },
    }
}

/// gdb's `union vec128` (an `xmm` register) or `vec256` (a `ymm`), as the
/// x86-64 AVX target description declares them.
fn vector_union(bytes: u64) -> Type {
    let n = |size: u64| bytes / size;
    // The xmm registers' lane types are the target description's (`v4f`);
    // gdb builds the ymm pseudo-registers' itself and names their lanes by
    // element type and count (`int32_t __attribute__ ((vector_size(8)))`).
    let lanes = |size: u64, prefix: &str, suffix: &str| {
        if bytes == 16 {
            format!("v{}{prefix}{}", n(size), suffix)
        } else {
            let elem = match (prefix, suffix) {
                ("", "bf16") => "bfloat16".to_string(),
                ("", "f") => "float".to_string(),
                ("", "d") => "double".to_string(),
                _ => format!("int{suffix}_t"),
            };
            format!("{elem} __attribute__ ((vector_size({})))", n(size))
        }
    };
    let mut members = vec![member(
        &format!("v{}_bfloat16", n(2)),
        0,
        vector(&lanes(2, "", "bf16"), scalar_float("bfloat16", 2), n(2)),
    )];
    if bytes == 32 {
        members.push(member(
            "v16_half",
            0,
            vector("half __attribute__ ((vector_size(16)))", scalar_float("half", 2), 16),
        ));
    }
    members.extend([
        member(
            &format!("v{}_float", n(4)),
            0,
            vector(&lanes(4, "", "f"), scalar_float("float", 4), n(4)),
        ),
        member(
            &format!("v{}_double", n(8)),
            0,
            vector(&lanes(8, "", "d"), scalar_float("double", 8), n(8)),
        ),
        member(
            &format!("v{}_int8", n(1)),
            0,
            vector(&lanes(1, "i", "8"), Type::int("int8_t", 1, true), n(1)),
        ),
        member(
            &format!("v{}_int16", n(2)),
            0,
            vector(&lanes(2, "i", "16"), Type::int("int16_t", 2, true), n(2)),
        ),
        member(
            &format!("v{}_int32", n(4)),
            0,
            vector(&lanes(4, "i", "32"), Type::int("int32_t", 4, true), n(4)),
        ),
        member(
            &format!("v{}_int64", n(8)),
            0,
            vector(&lanes(8, "i", "64"), Type::int("int64_t", 8, true), n(8)),
        ),
    ]);
    if bytes == 16 {
        members.push(member("uint128", 0, Type::int("uint128_t", 16, false)));
    } else {
        members.push(member(
            "v2_int128",
            0,
            vector(
                "int128_t __attribute__ ((vector_size(2)))",
                Type::int("int128_t", 16, true),
                2,
            ),
        ));
    }
    let name = if bytes == 16 {
        "union vec128"
    } else {
        "union builtin_type_vec256i"
    };
    aggregate(name, bytes, members)
}

/// MXCSR's flags as gdb names them (`i386_mxcsr`).
const MXCSR_FLAGS: [(&str, u64); 14] = [
    ("IE", 1),
    ("DE", 1 << 1),
    ("ZE", 1 << 2),
    ("OE", 1 << 3),
    ("UE", 1 << 4),
    ("PE", 1 << 5),
    ("DAZ", 1 << 6),
    ("IM", 1 << 7),
    ("DM", 1 << 8),
    ("ZM", 1 << 9),
    ("OM", 1 << 10),
    ("UM", 1 << 11),
    ("PM", 1 << 12),
    ("FZ", 1 << 15),
];

/// The x87 tag word gdb shows (`ftag`): two bits a register, rebuilt from
/// the FXSAVE image's abridged tags (one bit: empty or not) and each
/// register's contents, as the full `fstenv` word would have them.
fn full_tag_word(fxsave: &[u8]) -> u64 {
    let fsw = u16::from_le_bytes([fxsave[2], fxsave[3]]);
    let top = usize::from((fsw >> 11) & 7);
    let abridged = fxsave[4];
    let mut tags = 0u64;
    for physical in 0..8 {
        let tag = if abridged & (1 << physical) == 0 {
            3
        } else {
            // FXSAVE stores the registers in stack order: st(i) is
            // physical register (top + i) mod 8.
            let st = (physical + 8 - top) % 8;
            let reg = &fxsave[32 + 16 * st..42 + 16 * st];
            let mantissa = u64::from_le_bytes(reg[..8].try_into().expect("8 bytes"));
            let exponent = u16::from_le_bytes([reg[8], reg[9]]) & 0x7fff;
            match exponent {
                0x7fff => 2,
                0 if mantissa == 0 => 1,
                0 => 2,
                _ if mantissa >> 63 == 0 => 2,
                _ => 0,
            }
        };
        tags |= tag << (2 * physical);
    }
    tags
}

/// The floating-point and vector registers in gdb's order (`st0`..`st7`,
/// `fctrl`..`fop`, `xmm0`..`xmm15`, `mxcsr`, `ymm0`..`ymm15`), from a
/// 512-byte FXSAVE image and, with AVX, the upper halves of the `ymm`
/// registers (16 bytes each).
pub fn fp_registers(fxsave: &[u8], ymm_high: Option<&[u8]>) -> Vec<FpRegister> {
    let mut out = Vec::new();
    if fxsave.len() < 512 {
        return out;
    }
    let le = |at: usize, len: usize| read_int(&fxsave[at..at + len], len as u64, false) as u64;
    let mut push = |name: String, class, value| out.push(FpRegister { name, class, value });
    for i in 0..8 {
        let raw = fxsave[32 + 16 * i..42 + 16 * i].to_vec();
        push(
            format!("st{i}"),
            RegisterClass::Float,
            Value::unplaced(scalar_float("i387_ext", 10), raw),
        );
    }
    let control = [
        ("fctrl", le(0, 2)),
        ("fstat", le(2, 2)),
        ("ftag", full_tag_word(fxsave)),
        // With 64-bit FXSAVE, gdb splits the instruction and operand
        // pointers into a "segment" (their high half) and an offset.
        ("fiseg", le(12, 4)),
        ("fioff", le(8, 4)),
        ("foseg", le(20, 4)),
        ("fooff", le(16, 4)),
        ("fop", le(6, 2) & 0x7ff),
    ];
    for (name, v) in control {
        let bytes = (v as u32).to_le_bytes().to_vec();
        push(name.to_string(), RegisterClass::Float, Value::unplaced(int(), bytes));
    }
    for i in 0..16 {
        let low = fxsave[160 + 16 * i..176 + 16 * i].to_vec();
        push(
            format!("xmm{i}"),
            RegisterClass::Sse,
            Value::unplaced(vector_union(16), low),
        );
    }
    let mxcsr = Type::simple("i386_mxcsr", 4, Kind::Flags(MXCSR_FLAGS.to_vec()));
    push(
        "mxcsr".to_string(),
        RegisterClass::Mxcsr,
        Value::unplaced(mxcsr, fxsave[24..28].to_vec()),
    );
    if let Some(high) = ymm_high.filter(|h| h.len() >= 256) {
        for i in 0..16 {
            let mut bytes = fxsave[160 + 16 * i..176 + 16 * i].to_vec();
            bytes.extend_from_slice(&high[16 * i..16 * i + 16]);
            push(
                format!("ymm{i}"),
                RegisterClass::Vector,
                Value::unplaced(vector_union(32), bytes),
            );
        }
    }
    out
}
