//! Commands that print text a script chooses: `echo`, `printf` and
//! `output`.

use anyhow::{anyhow, bail, Result};

use super::Repl;
use debuginfo::{Memory, Value};

impl Repl {
    /// `output[/FMT] EXPR`: the value as `print` shows it, without `$N = `,
    /// a newline or a place in the history.
    pub(super) fn cmd_output(&mut self, args: &str) -> Result<()> {
        let (format, expr) = super::values::parse_format(args)?;
        if expr.is_empty() {
            bail!("Argument required (expression to compute).");
        }
        let v = self.evaluate_in(expr, false)?;
        print!("{}", v.format(format));
        Ok(())
    }

    /// `printf "FORMAT", ARG...`: C's conversions (`%d %i %u %x %X %o %c
    /// %s %f %e %g %p %%`, with flags, width, precision and length
    /// modifiers) applied to the values of the expressions.
    pub(super) fn cmd_printf(&mut self, args: &str) -> Result<()> {
        let mut parts = split_arguments(args).into_iter();
        let format = parts
            .next()
            .and_then(|f| f.strip_prefix('"')?.strip_suffix('"').map(str::to_string))
            .ok_or_else(|| anyhow!("Bad format string"))?;
        let format = unescape(&format)?;
        let mut values = Vec::new();
        for expr in parts {
            values.push(self.evaluate_in(&expr, false)?);
        }
        let out = render(&format, &values, &self.session.memory())?;
        print!("{out}");
        Ok(())
    }

    /// `echo TEXT`: prints TEXT with C escapes (`\n`, `\t`, `\\`, `\"`,
    /// `\a`, `\e`) and no newline of its own, as gdb does. A backslash at the
    /// end keeps the spaces before it, which the line's trimming took.
    pub(super) fn cmd_echo(&mut self, args: &str) -> Result<()> {
        print!("{}", unescape(args)?);
        Ok(())
    }
}

/// `"fmt", a, f(b, c)` split at the commas outside quotes and brackets.
fn split_arguments(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for c in args.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Applies a printf format to values, reading `%s` strings from `mem`.
fn render(format: &str, values: &[Value], mem: &dyn Memory) -> Result<String> {
    let mut out = String::new();
    let mut args = values.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = String::new();
        while let Some(&c) = chars.peek() {
            if "-+ #0123456789.".contains(c) {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        while chars.peek().is_some_and(|c| "hlLqjzt".contains(*c)) {
            chars.next();
        }
        let conversion = chars.next().ok_or_else(|| anyhow!("Bad format string"))?;
        let v = args.next().ok_or_else(|| anyhow!("Bad format string, missing '\"'"))?;
        let (flags, width, precision) = parse_spec(&spec);
        let body = match conversion {
            'd' | 'i' => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| anyhow!("Value can't be converted to integer."))?;
                let digits = n.unsigned_abs().to_string();
                let sign = if n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                format!("{sign}{}", zero_pad(&digits, precision))
            }
            'u' | 'x' | 'X' | 'o' => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| anyhow!("Value can't be converted to integer."))? as u64;
                let (digits, prefix) = match conversion {
                    'u' => (n.to_string(), ""),
                    'x' => (format!("{n:x}"), "0x"),
                    'X' => (format!("{n:X}"), "0X"),
                    _ => (format!("{n:o}"), "0"),
                };
                let prefix = if flags.contains('#') && n != 0 { prefix } else { "" };
                format!("{prefix}{}", zero_pad(&digits, precision))
            }
            'c' => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| anyhow!("Value can't be converted to integer."))?;
                char::from(n as u8).to_string()
            }
            'p' => format!("{:#x}", v.as_i64().unwrap_or(0) as u64),
            's' => {
                let text = string_of(v, mem)?;
                match precision {
                    Some(p) => text.chars().take(p).collect(),
                    None => text,
                }
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let x = v
                    .as_f64()
                    .ok_or_else(|| anyhow!("Value can't be converted to float."))?;
                float(x, conversion, precision.unwrap_or(6))
            }
            other => bail!("Unrecognized format specifier '{other}' in printf"),
        };
        let pad = width.saturating_sub(body.chars().count());
        if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && precision.is_none() && "diuxXofFeEgG".contains(conversion) {
            let (sign, digits) = match body.strip_prefix(['-', '+', ' ']) {
                Some(rest) => (&body[..1], rest),
                None => ("", body.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&body);
        }
    }
    Ok(out)
}

/// Flags, width and precision of a conversion (`-08.3`).
fn parse_spec(spec: &str) -> (String, usize, Option<usize>) {
    let flags: String = spec.chars().take_while(|c| "-+ #0".contains(*c)).collect();
    let rest = &spec[flags.len()..];
    let (width, precision) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p.parse().unwrap_or(0))),
        None => (rest, None),
    };
    (flags, width.parse().unwrap_or(0), precision)
}

fn zero_pad(digits: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) if p > digits.len() => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits.to_string(),
    }
}

/// C's `%f`, `%e` and `%g` of `x` with `precision`.
fn float(x: f64, conversion: char, precision: usize) -> String {
    let exponent = |s: String| -> String {
        // Rust writes `1.5e2`; C writes `1.5e+02`.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    };
    let text = match conversion.to_ascii_lowercase() {
        'f' => format!("{x:.precision$}"),
        'e' => exponent(format!("{x:.precision$e}")),
        _ => {
            let p = precision.max(1);
            let e = if x == 0.0 { 0 } else { x.abs().log10().floor() as i32 };
            if e < -4 || e >= p as i32 {
                let s = exponent(format!("{x:.*e}", p - 1));
                let (m, rest) = s.split_once('e').unwrap_or((&s, ""));
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{rest}")
            } else {
                let decimals = (p as i32 - 1 - e).max(0) as usize;
                let s = format!("{x:.decimals$}");
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
    };
    if conversion.is_ascii_uppercase() {
        text.to_uppercase()
    } else {
        text
    }
}

/// What `%s` prints for a value: the C string a pointer points to, or a
/// character array up to its first NUL.
fn string_of(v: &Value, mem: &dyn Memory) -> Result<String> {
    if let Some(elements) = v.elements() {
        let bytes: Vec<u8> = elements
            .iter()
            .map_while(|e| e.as_i64().map(|b| b as u8))
            .take_while(|b| *b != 0)
            .collect();
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    let addr = v
        .as_i64()
        .ok_or_else(|| anyhow!("Value can't be converted to integer."))? as u64;
    let mut bytes = Vec::new();
    while bytes.len() < 4096 {
        let Some(b) = mem.read(addr + bytes.len() as u64, 1) else {
            bail!("Cannot access memory at address {:#x}", addr + bytes.len() as u64);
        };
        if b[0] == 0 {
            break;
        }
        bytes.push(b[0]);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// TEXT with gdb's C escapes replaced by what they stand for.
fn unescape(text: &str) -> Result<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // A trailing backslash only marks where the text ends.
            None => {}
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('a') => out.push('\x07'),
            Some('e') => out.push('\x1b'),
            Some('r') => out.push('\r'),
            Some(c @ ('\\' | '"' | '\'' | ' ')) => out.push(c),
            Some(other) => bail!("unknown escape sequence \"\\{other}\" in \"{text}\""),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn printf_formats_as_c_does() {
        use super::{float, parse_spec, split_arguments};
        assert_eq!(
            split_arguments(r#""a, %d\n", f(1, 2), x[3]"#),
            [r#""a, %d\n""#, "f(1, 2)", "x[3]"]
        );
        assert_eq!(parse_spec("-08.3"), ("-0".to_string(), 8, Some(3)));
        assert_eq!(float(3.75, 'f', 6), "3.750000");
        assert_eq!(float(1500.0, 'e', 2), "1.50e+03");
        assert_eq!(float(0.0001234, 'g', 6), "0.0001234");
        assert_eq!(float(1234567.0, 'g', 6), "1.23457e+06");
        assert_eq!(float(2.5, 'g', 6), "2.5");
    }

    #[test]
    fn echo_text_takes_c_escapes() {
        assert_eq!(unescape(r"a\tb\n").unwrap(), "a\tb\n");
        assert_eq!(unescape(r#"say \"hi\"\\"#).unwrap(), "say \"hi\"\\");
        assert_eq!(unescape(r"trailing  \").unwrap(), "trailing  ");
        assert!(unescape(r"\q").is_err());
    }
}
