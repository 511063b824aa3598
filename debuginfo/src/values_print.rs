//! Printing values as gdb 13 prints them: numbers in each `print/FMT`
//! format, characters and strings with gdb's escapes and repeat blocks,
//! arrays with the 200-element limit, C and Rust structs, enums and flags.
//! [`Printer`] works on a value's bytes and notes alone, never the tracee.

use super::*;

pub(super) fn read_int(bytes: &[u8], size: u64, signed: bool) -> i128 {
    let size = (size as usize).min(16).min(bytes.len());
    let mut buf = [0u8; 16];
    buf[..size].copy_from_slice(&bytes[..size]);
    let raw = u128::from_le_bytes(buf);
    if size == 0 {
        return 0;
    }
    let bits = size * 8;
    if signed && bits < 128 && raw >> (bits - 1) & 1 == 1 {
        (raw | (!0u128 << bits)) as i128
    } else {
        raw as i128
    }
}

/// A bfloat16 (the high half of an IEEE single) as a double.
pub(super) fn bfloat16_to_f64(bits: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(bits) << 16))
}

/// An IEEE half-precision number as a double.
pub(super) fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        0x1f if fraction == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

pub(super) fn read_float(bytes: &[u8], size: u64) -> Option<f64> {
    match size {
        4 => Some(f32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as f64),
        8 => Some(f64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)),
        // x87 extended precision, as `long double` is on x86-64.
        10 | 16 => {
            let mantissa = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
            let se = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
            let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
            let exp = (se & 0x7fff) as i32;
            if exp == 0x7fff {
                return Some(if mantissa << 1 == 0 {
                    sign * f64::INFINITY
                } else {
                    f64::NAN
                });
            }
            Some(sign * (mantissa as f64) * 2f64.powi(exp - 16383 - 63))
        }
        _ => None,
    }
}

/// `%.*g`, as gdb prints floating-point numbers (with 9 significant digits
/// for `float` and 17 for `double`, enough to read back the same number).
pub(super) fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        let sign = if x.is_sign_negative() { "-" } else { "" };
        return format!("{sign}nan(0x{:x})", x.to_bits() & ((1 << 52) - 1));
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{x:.decimals$}")).to_string()
    }
}

/// `%.*Lg` of an x87 extended-precision number (`long double`), digit for
/// digit as glibc prints it: from the exact decimal expansion of its 64-bit
/// mantissa times a power of two, rounded half to even. (Through `f64` it
/// would lose the last three digits gdb shows.)
pub(super) fn format_x87_g(bytes: &[u8], precision: usize) -> Option<String> {
    let mantissa = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let se = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
    let sign = if se & 0x8000 != 0 { "-" } else { "" };
    let biased = i64::from(se & 0x7fff);
    if biased == 0x7fff || precision == 0 {
        return Some(format_g(read_float(bytes, 10)?, precision.max(1)));
    }
    if mantissa == 0 {
        return Some(format!("{sign}0"));
    }
    // value = mantissa * 2^e = big * 10^-k, big an integer in base 10^9.
    let e = if biased == 0 {
        1 - 16383 - 63
    } else {
        biased - 16383 - 63
    };
    let mut big: Vec<u64> = vec![
        mantissa % 1_000_000_000,
        mantissa / 1_000_000_000 % 1_000_000_000,
        mantissa / 1_000_000_000_000_000_000,
    ];
    let multiply = |big: &mut Vec<u64>, by: u64| {
        let mut carry = 0;
        for limb in big.iter_mut() {
            let v = *limb * by + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            big.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    };
    let k = if e >= 0 {
        for _ in 0..e {
            multiply(&mut big, 2);
        }
        0
    } else {
        for _ in 0..-e {
            multiply(&mut big, 5);
        }
        -e
    };
    while big.len() > 1 && big.last() == Some(&0) {
        big.pop();
    }
    let mut digits = format!("{}", big.last().copied().unwrap_or(0));
    for limb in big.iter().rev().skip(1) {
        digits.push_str(&format!("{limb:09}"));
    }
    let mut digits: Vec<u8> = digits.into_bytes().iter().map(|d| d - b'0').collect();
    let mut exp10 = digits.len() as i64 - 1 - k;
    if digits.len() > precision {
        let rest = &digits[precision..];
        let half = rest[0] > 5 || rest[0] == 5 && (rest[1..].iter().any(|&d| d != 0) || digits[precision - 1] % 2 == 1);
        digits.truncate(precision);
        if half {
            let mut i = precision;
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    digits.truncate(precision);
                    exp10 += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    Some(if exp10 < -4 || exp10 >= precision as i64 {
        let (first, rest) = text.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp10 < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp10.abs())
    } else if exp10 < 0 {
        format!("{sign}0.{}{text}", "0".repeat((-exp10 - 1) as usize))
    } else {
        let point = exp10 as usize + 1;
        if text.len() <= point {
            format!("{sign}{text}{}", "0".repeat(point - text.len()))
        } else {
            format!("{sign}{}.{}", &text[..point], &text[point..])
        }
    })
}

pub(super) fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A character as gdb writes it inside quotes (`quote` is the quote that
/// needs escaping).
pub(super) fn escape_char(out: &mut String, c: u8, quote: u8) {
    match c {
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        b'\r' => out.push_str("\\r"),
        7 => out.push_str("\\a"),
        8 => out.push_str("\\b"),
        12 => out.push_str("\\f"),
        11 => out.push_str("\\v"),
        27 => out.push_str("\\033"),
        b'\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c as char);
        }
        0x20..=0x7e => out.push(c as char),
        c => out.push_str(&format!("\\{c:03o}")),
    }
}

pub(super) fn char_literal(c: u8) -> String {
    let mut s = String::from("'");
    escape_char(&mut s, c, b'\'');
    s.push('\'');
    s
}

/// A run of characters as gdb prints a string: quoted pieces and runs of
/// more than ten equal characters (`"hi", '\000' <repeats 17 times>`),
/// `...` after the first 200 characters.
pub(super) fn format_string(chars: &[u8], truncated: bool) -> String {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut i = 0;
    let mut things = 0;
    while i < chars.len() && things < PRINT_MAX {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        if run > REPEAT_THRESHOLD {
            if in_quotes {
                out.push_str("\", ");
                in_quotes = false;
            } else if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(&format!("{} <repeats {run} times>", char_literal(c)));
            i += run;
            things += REPEAT_THRESHOLD;
        } else {
            if !in_quotes {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                out.push('"');
                in_quotes = true;
            }
            escape_char(&mut out, c, b'"');
            i += 1;
            things += 1;
        }
    }
    if in_quotes {
        out.push('"');
    }
    if out.is_empty() {
        out.push_str("\"\"");
    }
    if i < chars.len() || truncated {
        out.push_str("...");
    }
    out
}

pub(super) struct Printer<'a> {
    pub(super) notes: &'a [(u64, Note)],
    pub(super) f: Format,
}

impl Printer<'_> {
    pub(super) fn note(&self, offset: u64) -> Option<&str> {
        self.notes.iter().find_map(|(o, n)| match n {
            Note::Text(t) if *o == offset => Some(t.as_str()),
            _ => None,
        })
    }

    /// The value of the static member `qualified`, read with the value.
    fn static_value(&self, qualified: &str) -> Option<Result<&Value, &str>> {
        self.notes.iter().find_map(|(_, n)| match n {
            Note::Static(name, v) if name == qualified => Some(v.as_deref().map_err(String::as_str)),
            _ => None,
        })
    }

    /// The pretty printer's view of the struct of type `ty` at `offset`
    /// (not of a part of it that starts there, like `v._M_impl`).
    pub(super) fn pretty(&self, offset: u64, ty: &Type) -> Option<&Pretty> {
        self.notes.iter().find_map(|(o, n)| match n {
            Note::Pretty(p) if *o == offset && p.type_name == ty.name() => Some(&**p),
            _ => None,
        })
    }

    pub(super) fn value(&self, out: &mut String, ty: &Type, bytes: &[u8], offset: u64) {
        let Some(here) = bytes.get(offset as usize..) else {
            out.push_str("<unavailable>");
            return;
        };
        match &ty.kind {
            Kind::Void => out.push_str("void"),
            Kind::Error(e) => out.push_str(e),
            Kind::Flags(flags) => {
                let v = read_int(here, ty.size, false) as u64;
                if self.f != Format::Natural {
                    self.number(out, v as i128, ty.size, false);
                    return;
                }
                out.push('[');
                for (name, bit) in flags {
                    if v & bit != 0 {
                        out.push(' ');
                        out.push_str(name);
                    }
                }
                out.push_str(" ]");
            }
            Kind::Int { signed, char, bool } => {
                let v = read_int(here, ty.size, *signed);
                match self.f {
                    Format::Natural if *bool => out.push_str(match v {
                        0 => "false",
                        1 => "true",
                        _ => "",
                    }),
                    Format::Natural if *char && ty.size == 1 => {
                        out.push_str(&format!("{v} {}", char_literal(v as u8)));
                    }
                    // C++'s wide characters, with their literal's prefix.
                    Format::Natural if ty.lang == Lang::Cpp && wide_prefix(ty).is_some() && (0..128).contains(&v) => {
                        let prefix = wide_prefix(ty).unwrap_or_default();
                        out.push_str(&format!("{v} {prefix}{}", char_literal(v as u8)));
                    }
                    Format::Natural if *char => out.push_str(&rust_char(v as u32)),
                    _ => self.number(out, v, ty.size, *signed),
                }
                if *bool && self.f == Format::Natural && v > 1 {
                    out.push_str(&v.to_string());
                }
            }
            Kind::Float => match self.f {
                Format::Natural => {
                    // gdb prints DECIMAL_DIG digits of each format: 4 for
                    // bfloat16, 5 for IEEE half.
                    let half = ty.size == 2;
                    let bfloat = half && ty.left == "bfloat16";
                    let x = match (half, bfloat) {
                        (true, true) => bfloat16_to_f64(read_int(here, 2, false) as u16),
                        (true, false) => half_to_f64(read_int(here, 2, false) as u16),
                        _ => read_float(here, ty.size).unwrap_or(f64::NAN),
                    };
                    let digits = match ty.size {
                        2 if bfloat => 4,
                        2 => 5,
                        4 => 9,
                        8 => 17,
                        _ => 21,
                    };
                    if ty.size > 8 {
                        out.push_str(&format_x87_g(here, digits).unwrap_or_else(|| format_g(x, digits)));
                    } else if x.is_nan() && ty.size == 4 {
                        // The payload as the float holds it.
                        let bits = read_int(here, 4, false) as u32;
                        let sign = if bits >> 31 != 0 { "-" } else { "" };
                        out.push_str(&format!("{sign}nan({:#x})", bits & 0x7f_ffff));
                    } else {
                        out.push_str(&format_g(x, digits));
                    }
                }
                Format::Char => {
                    let x = read_float(here, ty.size).unwrap_or(0.0);
                    self.number(out, x as i128, 1, true);
                }
                _ => self.number(out, read_int(here, ty.size, false), ty.size, false),
            },
            Kind::Enum { signed, values, flag } => {
                let v = read_int(here, ty.size, *signed) as i64;
                if self.f != Format::Natural {
                    self.number(out, v as i128, ty.size, *signed);
                } else if let Some((name, _)) = values.iter().find(|(_, e)| *e == v) {
                    if ty.lang == Lang::Rust {
                        out.push_str(&ty.name());
                        out.push_str("::");
                    }
                    out.push_str(name);
                } else if *flag {
                    out.push_str(&flag_enum(values, v as u64));
                } else {
                    out.push_str(&v.to_string());
                }
            }
            Kind::MemberPointer { method, .. } => {
                let v = read_int(here, 8, true) as i64;
                let note = self.note(offset);
                match (self.f, *method) {
                    (Format::Natural, false) if v == -1 => out.push_str("NULL"),
                    (Format::Natural, true) if v == 0 => out.push_str("NULL"),
                    // `&H::b`, `&virtual H::v()`.
                    (Format::Natural, false) => out.push_str(note.unwrap_or(&v.to_string())),
                    (Format::Natural, true) if v & 1 == 1 && note.is_some() => out.push_str(note.unwrap_or_default()),
                    (Format::Natural, true) => {
                        out.push_str(&format!("({}) {:#x}", ty.name(), v as u64));
                        if let Some(note) = note {
                            out.push(' ');
                            out.push_str(note);
                        }
                    }
                    (_, method) => self.number(out, v as i128, 8, !method),
                }
            }
            Kind::Pointer { reference: true, .. } if matches!(self.f, Format::Natural | Format::Hex) => {
                // A C++ reference inside a value shows where it refers,
                // as gdb does without `set print deref-refs`.
                out.push_str(&format!("@{:#x}", read_int(here, 8, false) as u64));
            }
            Kind::Pointer { .. } => {
                let v = read_int(here, 8, false) as u64;
                match self.f {
                    Format::Natural | Format::Address | Format::Hex => {
                        if self.f == Format::Hex {
                            out.push_str(&format!("{v:#x}"));
                            return;
                        }
                        out.push_str(&format!("{v:#x}"));
                        if let Some(note) = self.note(offset) {
                            out.push(' ');
                            out.push_str(note);
                        }
                    }
                    _ => self.number(out, v as i128, 8, false),
                }
            }
            Kind::Function => out.push_str(&format!("{{{}}}", ty.name())),
            Kind::Struct { members: None } => out.push_str("<incomplete type>"),
            Kind::Struct { members: Some(members) } if ty.lang == Lang::Rust => {
                self.rust_struct(out, ty, members, bytes, offset, false);
            }
            Kind::Variants(variants) => match variants.active(here) {
                Some(arm) => match &arm.ty.kind {
                    Kind::Struct { members: Some(members) } => {
                        self.rust_struct(out, &arm.ty, members, bytes, offset + arm.offset, true)
                    }
                    _ => out.push_str(&arm.ty.name()),
                },
                None => out.push_str(&format!("{}::<unknown variant>", ty.name())),
            },
            Kind::Struct { .. } if self.pretty(offset, ty).is_some() => {
                if let Some(p) = self.pretty(offset, ty) {
                    p.print(out, self.f);
                }
            }
            Kind::Struct { members: Some(members) } => {
                out.push('{');
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if m.base {
                        out.push_str(&format!("<{}> = ", m.ty.name()));
                    }
                    if let Some(qualified) = &m.statik {
                        out.push_str(&format!("static {} = ", m.name.as_deref().unwrap_or("")));
                        match self.static_value(qualified) {
                            Some(Ok(v)) => out.push_str(&v.format(self.f)),
                            Some(Err(text)) => out.push_str(text),
                            None => out.push_str("<optimized out>"),
                        }
                        continue;
                    }
                    if let Some(name) = &m.name {
                        out.push_str(name);
                        out.push_str(" = ");
                    }
                    self.member(out, m, bytes, offset);
                }
                // gdb says so of a struct with no data of its own, after
                // its base classes if it has some.
                if members.iter().all(|m| m.base) {
                    if !members.is_empty() {
                        out.push_str(", ");
                    }
                    out.push_str("<No data fields>");
                }
                out.push('}');
            }
            Kind::Array { .. } if ty.right.starts_with("[]") && self.note(offset).is_some() => {
                out.push_str(self.note(offset).unwrap_or_default());
            }
            Kind::Array { elem, count } => self.array(out, ty.lang, elem, *count, bytes, offset),
        }
    }

    /// A struct member; bit fields are taken out of their bytes.
    pub(super) fn member(&self, out: &mut String, m: &Member, bytes: &[u8], offset: u64) {
        match m.bits {
            Some(bits) => {
                let here = bytes.get(offset as usize..).unwrap_or(&[]);
                let v = bit_field(here, m, bits);
                let size = m.ty.size.min(8) as usize;
                self.value(out, &m.ty, &v.to_le_bytes()[..size], 0);
            }
            None => self.value(out, &m.ty, bytes, offset + m.offset),
        }
    }

    /// A Rust struct, tuple or enum variant as gdb prints them:
    /// `vals::Point {x: 1, y: 2}`, `(1, true)`, `vals::Pair (9, 2.5)`,
    /// `Option<i32>::Some(5)`, `Shape::Rect{w: 2, h: 3}`, and a slice or
    /// `&str` by what it points to.
    pub(super) fn rust_struct(
        &self,
        out: &mut String,
        ty: &Type,
        members: &[Member],
        bytes: &[u8],
        offset: u64,
        variant: bool,
    ) {
        let name = ty.name();
        if let Some(note) = self.note(offset | SLICE_NOTE) {
            if !name.ends_with("str") {
                out.push_str(&name);
                out.push(' ');
            }
            out.push_str(note);
            return;
        }
        let tuple = !members.is_empty()
            && members
                .iter()
                .all(|m| m.name.as_deref().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())));
        if !name.starts_with('(') {
            out.push_str(&name);
        }
        if members.is_empty() {
            return;
        }
        out.push_str(match (tuple, variant, name.starts_with('(')) {
            (_, _, true) => "(",
            (true, true, _) => "(",
            (true, false, _) => " (",
            (false, true, _) => "{",
            (false, false, _) => " {",
        });
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if !tuple {
                out.push_str(m.name.as_deref().unwrap_or("?"));
                out.push_str(": ");
            }
            self.member(out, m, bytes, offset);
        }
        out.push(if tuple { ')' } else { '}' });
    }

    pub(super) fn array(&self, out: &mut String, lang: Lang, elem: &Type, count: u64, bytes: &[u8], offset: u64) {
        let size = elem.size as usize;
        let available = if size == 0 {
            0
        } else {
            ((bytes.len() as u64).saturating_sub(offset) / elem.size).min(count) as usize
        };
        let element = |i: usize| &bytes[offset as usize + i * size..offset as usize + (i + 1) * size];
        if elem.is_char() && matches!(self.f, Format::Natural) {
            let mut chars: Vec<u8> = (0..available).map(|i| element(i)[0]).collect();
            // gdb leaves out one terminating NUL of a char array.
            if chars.last() == Some(&0) {
                chars.pop();
            }
            out.push_str(&format_string(&chars, (available as u64) < count));
            return;
        }
        let (open, close) = match lang {
            Lang::C | Lang::Cpp => ('{', '}'),
            Lang::Rust => ('[', ']'),
        };
        out.push(open);
        let mut i = 0;
        let mut things = 0;
        while i < available && things < PRINT_MAX {
            if i > 0 {
                out.push_str(", ");
            }
            let run = (i..available).take_while(|&j| element(j) == element(i)).count();
            self.value(out, elem, bytes, offset + (i * size) as u64);
            if run > REPEAT_THRESHOLD {
                out.push_str(&format!(" <repeats {run} times>"));
                i += run;
                things += REPEAT_THRESHOLD;
            } else {
                i += 1;
                things += 1;
            }
        }
        if (i as u64) < count {
            out.push_str("...");
        }
        out.push(close);
    }

    pub(super) fn number(&self, out: &mut String, v: i128, size: u64, signed: bool) {
        let bits = (size.clamp(1, 16) * 8) as u32;
        let mask = if bits >= 128 { !0u128 } else { (1u128 << bits) - 1 };
        let unsigned = (v as u128) & mask;
        match self.f {
            Format::Hex | Format::Address => out.push_str(&format!("{unsigned:#x}")),
            Format::Octal if unsigned == 0 => out.push('0'),
            Format::Octal => out.push_str(&format!("0{unsigned:o}")),
            Format::Binary => out.push_str(&format!("{unsigned:b}")),
            Format::Unsigned => out.push_str(&unsigned.to_string()),
            Format::Decimal => out.push_str(&read_int(&unsigned.to_le_bytes(), size, true).to_string()),
            Format::Char => {
                let c = unsigned as u8;
                let shown = if signed { c as i8 as i32 } else { c as i32 };
                out.push_str(&format!("{shown} {}", char_literal(c)));
            }
            Format::Natural if signed => out.push_str(&v.to_string()),
            Format::Natural => out.push_str(&unsigned.to_string()),
        }
    }
}

pub(super) fn rust_char(c: u32) -> String {
    match char::from_u32(c) {
        Some(ch) if !ch.is_control() && ch != '\'' && ch != '\\' => format!("{c} '{ch}'"),
        _ if c < 0x80 => format!("{c} {}", char_literal(c as u8)),
        _ => format!("{c} '\\u{{{c:x}}}'"),
    }
}

/// A value of a flag enum that is not one of its enumerators, as gdb
/// decomposes it: `(F_A | F_C)`, `(F_A | unknown: 0x4)`.
pub(super) fn flag_enum(values: &[(String, i64)], mut v: u64) -> String {
    let mut parts = Vec::new();
    for (name, e) in values {
        let e = *e as u64;
        if e != 0 && v & e == e {
            parts.push(name.clone());
            v &= !e;
        }
    }
    if v != 0 {
        parts.push(format!("unknown: {v:#x}"));
    }
    if parts.is_empty() {
        return "0".to_string();
    }
    format!("({})", parts.join(" | "))
}

/// The prefix of a C++ wide character literal of type `ty`: `L'w'`,
/// `u'c'`, `U'c'`.
fn wide_prefix(ty: &Type) -> Option<&'static str> {
    match strip_qualifiers(&ty.left) {
        "wchar_t" => Some("L"),
        "char16_t" => Some("u"),
        "char32_t" => Some("U"),
        _ => None,
    }
}

fn strip_qualifiers(name: &str) -> &str {
    let mut rest = name;
    while let Some(r) = rest.strip_prefix("const ").or_else(|| rest.strip_prefix("volatile ")) {
        rest = r;
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::format_x87_g;

    /// An x87 extended number from its mantissa and biased exponent.
    fn x87(mantissa: u64, exponent: u16) -> Vec<u8> {
        let mut bytes = mantissa.to_le_bytes().to_vec();
        bytes.extend_from_slice(&exponent.to_le_bytes());
        bytes
    }

    #[test]
    fn long_doubles_print_all_of_their_digits() {
        // 1/3, 1, 2.5, -0.75, 2^70, and 1.5 * 2^-80.
        let one = 1u64 << 63;
        assert_eq!(
            format_x87_g(&x87(0xaaaa_aaaa_aaaa_aaab, 0x3ffd), 21).unwrap(),
            "0.333333333333333333342"
        );
        assert_eq!(format_x87_g(&x87(one, 0x3fff), 21).unwrap(), "1");
        assert_eq!(format_x87_g(&x87(0xa000_0000_0000_0000, 0x4000), 21).unwrap(), "2.5");
        assert_eq!(format_x87_g(&x87(0xc000_0000_0000_0000, 0xbffe), 21).unwrap(), "-0.75");
        assert_eq!(
            format_x87_g(&x87(one, 0x3fff + 70), 21).unwrap(),
            "1.18059162071741130342e+21"
        );
        assert_eq!(
            format_x87_g(&x87(0xc000_0000_0000_0000, 0x3fff - 80), 21).unwrap(),
            "1.24077091882954151231e-24"
        );
        assert_eq!(format_x87_g(&x87(0, 0), 21).unwrap(), "0");
    }
}
