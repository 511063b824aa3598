//! The x86-64 Linux register set as gdb's `g`/`G` packets carry it, and the
//! target description that tells gdb the layout.
//!
//! gdbstub_arch's x86-64 arch stops at SSE; gdb on Linux also expects
//! `orig_rax` (syscall restarts), `fs_base`/`gs_base` (TLS) and, on CPUs
//! that have it, the upper halves of the AVX registers. So rback describes
//! its own layout, in the order gdb's own amd64-linux descriptions use.

use gdbstub::arch::{Arch, Registers};

/// The general registers, as ptrace's `user_regs_struct` names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreRegs {
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
    pub cs: u64,
    pub ss: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub orig_rax: u64,
}

/// Size of the `fxsave` area: x87, MXCSR and the sixteen XMM registers.
pub const FXSAVE_LEN: usize = 512;
/// Size of the upper halves of ymm0-ymm15.
pub const YMM_HIGH_LEN: usize = 256;

/// Everything gdb sees as registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X86_64Regs {
    pub core: CoreRegs,
    /// The `fxsave` image (`FXSAVE_LEN` bytes).
    pub fxsave: Vec<u8>,
    /// ymm0h-ymm15h (`YMM_HIGH_LEN` bytes), when the description includes
    /// AVX. `None` there sends them as unavailable.
    pub ymm_high: Option<Vec<u8>>,
    /// Whether the target description includes AVX: it fixes the packet's
    /// length whether or not the values could be read.
    pub avx: bool,
}

impl Default for X86_64Regs {
    fn default() -> Self {
        X86_64Regs {
            core: CoreRegs::default(),
            fxsave: vec![0; FXSAVE_LEN],
            ymm_high: None,
            avx: false,
        }
    }
}

// Offsets in the fxsave image (Intel SDM vol. 1, table 10-2, 64-bit format).
const FX_FCW: usize = 0;
const FX_FSW: usize = 2;
const FX_FTW: usize = 4;
const FX_FOP: usize = 6;
const FX_FIP: usize = 8;
const FX_FDP: usize = 16;
const FX_MXCSR: usize = 24;
const FX_ST0: usize = 32;
const FX_XMM0: usize = 160;

/// Bytes of the general and segment registers at the packet's start.
const CORE_INT_LEN: usize = 17 * 8 + 7 * 4;
/// Bytes of st0-st7, the x87 control registers, xmm0-xmm15 and mxcsr.
const FP_LEN: usize = 8 * 10 + 8 * 4 + 16 * 16 + 4;

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// gdb wants the full x87 tag word (two bits per register); fxsave keeps
/// only one "in use" bit per register, so the kind is worked out from the
/// value, as the FPU would have tagged it.
fn full_tag_word(fx: &[u8]) -> u32 {
    let abridged = fx[FX_FTW];
    let top = (le16(fx, FX_FSW) >> 11) & 7;
    let mut tags = 0u32;
    for phys in 0..8u16 {
        let tag = if abridged & (1 << phys) == 0 {
            3 // empty
        } else {
            // Physical register `phys` is st((phys - top) mod 8).
            let st = usize::from((phys + 8 - top) & 7);
            let r = &fx[FX_ST0 + 16 * st..FX_ST0 + 16 * st + 10];
            let mantissa = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let exponent = le16(r, 8) & 0x7fff;
            match exponent {
                0x7fff => 2,
                0 if mantissa == 0 => 1,
                0 => 2,
                _ if mantissa >> 63 == 1 => 0,
                _ => 2,
            }
        };
        tags |= tag << (2 * phys);
    }
    tags
}

fn abridged_tag_word(full: u32) -> u8 {
    (0..8)
        .filter(|i| (full >> (2 * i)) & 3 != 3)
        .fold(0u8, |acc, i| acc | (1 << i))
}

impl X86_64Regs {
    fn gprs(&self) -> [u64; 17] {
        let c = &self.core;
        [
            c.rax, c.rbx, c.rcx, c.rdx, c.rsi, c.rdi, c.rbp, c.rsp, c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14,
            c.r15, c.rip,
        ]
    }

    fn set_gprs(&mut self, v: [u64; 17]) {
        let c = &mut self.core;
        [
            c.rax, c.rbx, c.rcx, c.rdx, c.rsi, c.rdi, c.rbp, c.rsp, c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14,
            c.r15, c.rip,
        ] = v;
    }

    /// Whether the x87, SSE and AVX state gdb sees is the same in both
    /// (fxsave bytes gdb cannot see may differ).
    pub fn same_vector_state(&self, other: &X86_64Regs) -> bool {
        let visible = |r: &X86_64Regs| {
            let mut bytes = Vec::new();
            r.gdb_serialize(|b| bytes.push(b));
            // From st0 to mxcsr, then the AVX halves if any.
            let fp = CORE_INT_LEN..CORE_INT_LEN + FP_LEN;
            let ymm = Self::packet_len(false)..bytes.len();
            (bytes[fp].to_vec(), bytes[ymm].to_vec())
        };
        visible(self) == visible(other)
    }

    /// The number of bytes of a `g` packet for this layout.
    pub fn packet_len(avx: bool) -> usize {
        let linux = 8 + 2 * 8;
        CORE_INT_LEN + FP_LEN + linux + if avx { YMM_HIGH_LEN } else { 0 }
    }
}

impl Registers for X86_64Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.core.rip
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let mut put = |bytes: &[u8]| bytes.iter().for_each(|b| write_byte(Some(*b)));
        for r in self.gprs() {
            put(&r.to_le_bytes());
        }
        let c = &self.core;
        for r in [c.eflags, c.cs, c.ss, c.ds, c.es, c.fs, c.gs] {
            put(&(r as u32).to_le_bytes());
        }
        let fx = &self.fxsave;
        for i in 0..8 {
            put(&fx[FX_ST0 + 16 * i..FX_ST0 + 16 * i + 10]);
        }
        // fctrl fstat ftag fiseg fioff foseg fooff fop
        let x87 = [
            u32::from(le16(fx, FX_FCW)),
            u32::from(le16(fx, FX_FSW)),
            full_tag_word(fx),
            u32::from(le16(fx, FX_FIP + 4)),
            le32(fx, FX_FIP),
            u32::from(le16(fx, FX_FDP + 4)),
            le32(fx, FX_FDP),
            u32::from(le16(fx, FX_FOP) & 0x7ff),
        ];
        for r in x87 {
            put(&r.to_le_bytes());
        }
        put(&fx[FX_XMM0..FX_XMM0 + 256]);
        put(&fx[FX_MXCSR..FX_MXCSR + 4]);
        put(&c.orig_rax.to_le_bytes());
        put(&c.fs_base.to_le_bytes());
        put(&c.gs_base.to_le_bytes());
        if self.avx {
            match &self.ymm_high {
                Some(y) if y.len() == YMM_HIGH_LEN => put(y),
                _ => (0..YMM_HIGH_LEN).for_each(|_| write_byte(None)),
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        // gdbstub deserializes into a default value, so the layout is told
        // by the length.
        self.avx = match bytes.len() {
            n if n == Self::packet_len(false) => false,
            n if n == Self::packet_len(true) => true,
            _ => return Err(()),
        };
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let mut gprs = [0u64; 17];
        for g in &mut gprs {
            *g = u64::from_le_bytes(take(8).try_into().map_err(|_| ())?);
        }
        self.set_gprs(gprs);
        let mut seg = [0u64; 7];
        for s in &mut seg {
            *s = u64::from(u32::from_le_bytes(take(4).try_into().map_err(|_| ())?));
        }
        let c = &mut self.core;
        [c.eflags, c.cs, c.ss, c.ds, c.es, c.fs, c.gs] = seg;
        let fx = &mut self.fxsave;
        fx.resize(FXSAVE_LEN, 0);
        for i in 0..8 {
            fx[FX_ST0 + 16 * i..FX_ST0 + 16 * i + 10].copy_from_slice(take(10));
        }
        let mut x87 = [0u32; 8];
        for r in &mut x87 {
            *r = u32::from_le_bytes(take(4).try_into().map_err(|_| ())?);
        }
        let [fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop] = x87;
        fx[FX_FCW..FX_FCW + 2].copy_from_slice(&(fctrl as u16).to_le_bytes());
        fx[FX_FSW..FX_FSW + 2].copy_from_slice(&(fstat as u16).to_le_bytes());
        fx[FX_FTW] = abridged_tag_word(ftag);
        fx[FX_FOP..FX_FOP + 2].copy_from_slice(&((fop & 0x7ff) as u16).to_le_bytes());
        fx[FX_FIP..FX_FIP + 4].copy_from_slice(&fioff.to_le_bytes());
        fx[FX_FIP + 4..FX_FIP + 6].copy_from_slice(&(fiseg as u16).to_le_bytes());
        fx[FX_FDP..FX_FDP + 4].copy_from_slice(&fooff.to_le_bytes());
        fx[FX_FDP + 4..FX_FDP + 6].copy_from_slice(&(foseg as u16).to_le_bytes());
        fx[FX_XMM0..FX_XMM0 + 256].copy_from_slice(take(256));
        fx[FX_MXCSR..FX_MXCSR + 4].copy_from_slice(take(4));
        let mut tail = [0u64; 3];
        for t in &mut tail {
            *t = u64::from_le_bytes(take(8).try_into().map_err(|_| ())?);
        }
        [self.core.orig_rax, self.core.fs_base, self.core.gs_base] = tail;
        if self.avx {
            self.ymm_high = Some(take(YMM_HIGH_LEN).to_vec());
        }
        Ok(())
    }
}

/// The architecture rback describes to gdb (see the module comment).
pub enum X86_64Linux {}

impl Arch for X86_64Linux {
    type Usize = u64;
    type Registers = X86_64Regs;
    type BreakpointKind = usize;
    // `p`/`P` are not offered: gdb falls back to `g`/`G`.
    type RegId = ();
}

/// The target description for this layout: gdb's standard feature names,
/// so that gdb's amd64-linux support recognises every register by name.
pub fn target_xml(avx: bool) -> String {
    let mut x = String::from(
        r#"<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386:x86-64</architecture>
<osabi>GNU/Linux</osabi>
<feature name="org.gnu.gdb.i386.core">
<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
<field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
<field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
<field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
<field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
<field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/>
<field name="ID" start="21" end="21"/>
</flags>
"#,
    );
    let gprs = [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    ];
    for name in gprs {
        let ty = match name {
            "rbp" | "rsp" => "data_ptr",
            _ => "int64",
        };
        x += &format!("<reg name=\"{name}\" bitsize=\"64\" type=\"{ty}\"/>\n");
    }
    x += "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n";
    x += "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n";
    for name in ["cs", "ss", "ds", "es", "fs", "gs"] {
        x += &format!("<reg name=\"{name}\" bitsize=\"32\" type=\"int32\"/>\n");
    }
    for i in 0..8 {
        x += &format!("<reg name=\"st{i}\" bitsize=\"80\" type=\"i387_ext\"/>\n");
    }
    for name in ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"] {
        x += &format!("<reg name=\"{name}\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n");
    }
    x += r#"</feature>
<feature name="org.gnu.gdb.i386.sse">
<vector id="v8bf16" type="bfloat16" count="8"/>
<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128">
<field name="v8_bfloat16" type="v8bf16"/><field name="v4_float" type="v4f"/>
<field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>
<field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/>
<field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/>
</union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/>
<field name="ZE" start="2" end="2"/><field name="OE" start="3" end="3"/>
<field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/>
<field name="DM" start="8" end="8"/><field name="ZM" start="9" end="9"/>
<field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
</flags>
"#;
    for i in 0..16 {
        x += &format!("<reg name=\"xmm{i}\" bitsize=\"128\" type=\"vec128\"/>\n");
    }
    x += "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n</feature>\n";
    x += "<feature name=\"org.gnu.gdb.i386.linux\">\n<reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>\n</feature>\n";
    x += "<feature name=\"org.gnu.gdb.i386.segments\">\n<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>\n<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n</feature>\n";
    if avx {
        x += "<feature name=\"org.gnu.gdb.i386.avx\">\n";
        for i in 0..16 {
            x += &format!("<reg name=\"ymm{i}h\" bitsize=\"128\" type=\"uint128\"/>\n");
        }
        x += "</feature>\n";
    }
    x += "</target>\n";
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(avx: bool) -> X86_64Regs {
        let mut r = X86_64Regs {
            avx,
            ..Default::default()
        };
        r.core.rax = 0x1122_3344_5566_7788;
        r.core.rip = 0x4000_1234;
        r.core.eflags = 0x246;
        r.core.fs_base = 0x7fff_0000;
        r.core.orig_rax = u64::MAX;
        // st0 = 1.0 with top = 7 in physical register 7.
        r.fxsave[FX_FSW..FX_FSW + 2].copy_from_slice(&(7u16 << 11).to_le_bytes());
        r.fxsave[FX_FTW] = 0x80;
        r.fxsave[FX_ST0..FX_ST0 + 8].copy_from_slice(&(1u64 << 63).to_le_bytes());
        r.fxsave[FX_ST0 + 8..FX_ST0 + 10].copy_from_slice(&0x3fffu16.to_le_bytes());
        r.fxsave[FX_XMM0] = 0xab;
        r.fxsave[FX_MXCSR..FX_MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        if avx {
            r.ymm_high = Some((0..YMM_HIGH_LEN).map(|i| i as u8).collect());
        }
        r
    }

    fn serialize(r: &X86_64Regs) -> Vec<Option<u8>> {
        let mut out = Vec::new();
        r.gdb_serialize(|b| out.push(b));
        out
    }

    #[test]
    fn round_trips_with_and_without_avx() {
        for avx in [false, true] {
            let r = sample(avx);
            let bytes: Vec<u8> = serialize(&r).into_iter().map(|b| b.unwrap()).collect();
            assert_eq!(bytes.len(), X86_64Regs::packet_len(avx));
            let mut back = X86_64Regs::default();
            back.gdb_deserialize(&bytes).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn tag_word_marks_a_valid_st0_and_empty_rest() {
        let r = sample(false);
        // Physical register 7 valid (00), all others empty (11).
        assert_eq!(full_tag_word(&r.fxsave), 0x3fff);
        assert_eq!(abridged_tag_word(0x3fff), 0x80);
    }

    #[test]
    fn layout_puts_rip_and_orig_rax_where_gdb_numbers_them() {
        let bytes = serialize(&sample(false));
        let rip = &bytes[16 * 8..17 * 8];
        assert_eq!(rip, 0x4000_1234u64.to_le_bytes().map(Some));
        let orig_rax_at = X86_64Regs::packet_len(false) - 24;
        assert_eq!(&bytes[orig_rax_at..orig_rax_at + 8], [Some(0xff); 8]);
    }

    #[test]
    fn unreadable_avx_halves_are_sent_as_unavailable() {
        let mut r = sample(true);
        r.ymm_high = None;
        let bytes = serialize(&r);
        assert_eq!(bytes.len(), X86_64Regs::packet_len(true));
        assert!(bytes[bytes.len() - YMM_HIGH_LEN..].iter().all(Option::is_none));
    }

    #[test]
    fn vector_state_ignores_what_gdb_cannot_see() {
        let a = sample(true);
        let mut b = a.clone();
        b.core.rax = 1;
        b.fxsave[28] = 0xff; // MXCSR_MASK: not in gdb's view
        assert!(a.same_vector_state(&b));
        b.fxsave[FX_XMM0 + 3] ^= 1;
        assert!(!a.same_vector_state(&b));
        let mut c = a.clone();
        c.ymm_high.as_mut().unwrap()[0] ^= 1;
        assert!(!a.same_vector_state(&c));
    }

    #[test]
    fn a_short_g_packet_is_refused() {
        let mut r = X86_64Regs::default();
        assert!(r.gdb_deserialize(&[0; 10]).is_err());
    }
}
