//! Commands that print text a script chooses: `echo`.

use anyhow::{bail, Result};

use super::Repl;

impl Repl {
    /// `echo TEXT`: prints TEXT with C escapes (`\n`, `\t`, `\\`, `\"`,
    /// `\a`, `\e`) and no newline of its own, as gdb does. A backslash at the
    /// end keeps the spaces before it, which the line's trimming took.
    pub(super) fn cmd_echo(&mut self, args: &str) -> Result<()> {
        print!("{}", unescape(args)?);
        Ok(())
    }
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
    fn echo_text_takes_c_escapes() {
        assert_eq!(unescape(r"a\tb\n").unwrap(), "a\tb\n");
        assert_eq!(unescape(r#"say \"hi\"\\"#).unwrap(), "say \"hi\"\\");
        assert_eq!(unescape(r"trailing  \").unwrap(), "trailing  ");
        assert!(unescape(r"\q").is_err());
    }
}
