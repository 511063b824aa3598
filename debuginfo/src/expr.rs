//! The expression language of `print`: a subset of C that is enough to
//! name variables and walk data structures (`p->next->val`, `a[i] + 1`,
//! `(long)x`), plus Rust's paths and tuple fields (`t.0`).
//!
//! Parsing is separate from evaluation so that a syntax error is reported
//! before anything is read from the tracee.

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// An integer literal, with whether it had a `u` suffix and an `l` one.
    Int {
        value: u64,
        unsigned: bool,
        long: bool,
    },
    /// A floating-point literal; `true` for a `float` (an `f` suffix).
    Float(f64, bool),
    Char(u8),
    /// A variable or function name; Rust paths keep their `::`.
    Ident(String),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `e.f`; also accepted on pointers, as gdb does.
    Field(Box<Expr>, String),
    /// `e->f`.
    Arrow(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Cast(TypeName, Box<Expr>),
    SizeOfType(TypeName),
    SizeOfValue(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Not,
    BitNot,
    Deref,
    AddrOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// gdb's artificial array: `a[1]@3`.
    At,
}

/// The type of a cast: `unsigned long`, `struct foo`, and how many `*`
/// follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeName {
    pub base: String,
    pub pointers: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int {
        value: u64,
        unsigned: bool,
        long: bool,
    },
    /// A floating-point literal; `true` for a `float` (an `f` suffix).
    Float(f64, bool),
    Char(u8),
    Ident(String),
    /// Punctuation, longest match first (`->` before `-`).
    Punct(&'static str),
}

const PUNCTS: [&str; 28] = [
    "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "!", "~", "&", "|", "^",
    "(", ")", "[", "]", ".", ",", "@",
];

/// Words that start a type in a cast.
const TYPE_WORDS: [&str; 14] = [
    "int", "long", "short", "char", "unsigned", "signed", "float", "double", "void", "_Bool", "bool", "struct",
    "union", "enum",
];

/// The tokens of `text`, and where each starts in it.
fn lex(text: &str) -> Result<(Vec<Token>, Vec<usize>), String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Each pass from here on makes one token or fails.
        starts.push(i);
        // After a `.`, digits name a tuple field (`t.0.1`), not a float.
        let after_dot = matches!(tokens.last(), Some(Token::Punct(".")));
        if c.is_ascii_digit() && after_dot {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            tokens.push(Token::Ident(text[start..i].to_string()));
            continue;
        }
        // `t.0` is a field, `.5` a number.
        let after_operand = matches!(
            tokens.last(),
            Some(Token::Ident(_) | Token::Punct(")") | Token::Punct("]"))
        );
        if c.is_ascii_digit() || (c == b'.' && !after_operand && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (token, len) = lex_number(&text[i..])?;
            tokens.push(token);
            i += len;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            loop {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                    i += 1;
                }
                // Rust paths: `core::option::Option`.
                if text[i..].starts_with("::")
                    && bytes.get(i + 2).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                {
                    i += 2;
                    continue;
                }
                break;
            }
            tokens.push(Token::Ident(text[start..i].to_string()));
            continue;
        }
        if c == b'\'' {
            // gdb's `'file.c'::name`: a name of that file's scope.
            if let Some(len) = file_scoped_name(&text[i..]) {
                tokens.push(Token::Ident(text[i..i + len].to_string()));
                i += len;
                continue;
            }
            let (value, len) = lex_char(&text[i..])?;
            tokens.push(Token::Char(value));
            i += len;
            continue;
        }
        match PUNCTS.iter().find(|p| text[i..].starts_with(**p)) {
            Some(p) => {
                tokens.push(Token::Punct(p));
                i += p.len();
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(format!("Invalid character '{ch}' in expression."));
            }
        }
    }
    Ok((tokens, starts))
}

/// The length of `'FILE'::name` (with further `::name`s) at the start of
/// `text`, if it is one: a quoted file name, not a character literal.
fn file_scoped_name(text: &str) -> Option<usize> {
    let close = text[1..].find('\'')? + 1;
    let file = &text[1..close];
    if file.len() < 2 || file.starts_with('\\') {
        return None;
    }
    let mut i = close + 1;
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut parts = 0;
    while text[i..].starts_with("::") && bytes.get(i + 2).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        i += 2;
        while bytes.get(i).copied().is_some_and(ident) {
            i += 1;
        }
        parts += 1;
    }
    (parts > 0).then_some(i)
}

fn lex_number(text: &str) -> Result<(Token, usize), String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let hex = text.starts_with("0x") || text.starts_with("0X");
    if hex {
        i = 2;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
    } else {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let mut float = false;
        if i < bytes.len() && bytes[i] == b'.' {
            float = true;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            let mut j = i + 1;
            if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                j += 1;
            }
            if j < bytes.len() && bytes[j].is_ascii_digit() {
                float = true;
                i = j;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        if float {
            let value: f64 = text[..i]
                .parse()
                .map_err(|_| format!("Invalid number \"{}\".", &text[..i]))?;
            let single = i < bytes.len() && matches!(bytes[i], b'f' | b'F');
            if i < bytes.len() && matches!(bytes[i], b'f' | b'F' | b'l' | b'L') {
                i += 1;
            }
            return Ok((Token::Float(value, single), i));
        }
    }
    let digits_end = i;
    let (mut unsigned, mut long) = (false, false);
    while i < bytes.len() {
        match bytes[i] {
            b'u' | b'U' => unsigned = true,
            b'l' | b'L' => long = true,
            _ => break,
        }
        i += 1;
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        let end = text[i..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .map_or(text.len(), |e| e + i);
        return Err(format!("Invalid number \"{}\".", &text[..end]));
    }
    let parsed = if hex {
        u64::from_str_radix(&text[2..digits_end], 16)
    } else if digits_end > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..digits_end], 8)
    } else {
        text[..digits_end].parse()
    };
    let value = parsed.map_err(|_| format!("Invalid number \"{}\".", &text[..i]))?;
    Ok((Token::Int { value, unsigned, long }, i))
}

fn lex_char(text: &str) -> Result<(u8, usize), String> {
    let bytes = text.as_bytes();
    let unmatched = || "Unmatched single quote.".to_string();
    let (value, len) = match bytes.get(1) {
        None | Some(b'\'') => return Err(unmatched()),
        Some(b'\\') => {
            let esc = *bytes.get(2).ok_or_else(unmatched)?;
            match esc {
                b'n' => (b'\n', 3),
                b't' => (b'\t', 3),
                b'r' => (b'\r', 3),
                b'a' => (7, 3),
                b'b' => (8, 3),
                b'f' => (12, 3),
                b'v' => (11, 3),
                b'e' => (27, 3),
                b'x' => {
                    let end = 3 + bytes[3..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
                    let v = u8::from_str_radix(&text[3..end], 16).map_err(|_| unmatched())?;
                    (v, end)
                }
                b'0'..=b'7' => {
                    let end = 2 + bytes[2..]
                        .iter()
                        .take(3)
                        .take_while(|b| (b'0'..=b'7').contains(b))
                        .count();
                    let v = u32::from_str_radix(&text[2..end], 8).map_err(|_| unmatched())?;
                    (v as u8, end)
                }
                other => (other, 3),
            }
        }
        Some(&c) => (c, 2),
    };
    if bytes.get(len) != Some(&b'\'') {
        return Err(if bytes[len..].contains(&b'\'') {
            "Invalid character constant.".to_string()
        } else {
            unmatched()
        });
    }
    Ok((value, len + 1))
}

/// Parses a whole expression. `is_type` says whether a name is a type
/// (a typedef such as `point_t`), which makes `(name)` a cast.
pub(crate) fn parse(text: &str, is_type: &dyn Fn(&str) -> bool) -> Result<Expr, String> {
    let (tokens, starts) = lex(text)?;
    if tokens.is_empty() {
        return Err("Argument required (expression to compute).".to_string());
    }
    let mut p = Parser {
        text,
        tokens,
        starts,
        pos: 0,
        nesting: 0,
        is_type,
    };
    let e = p.binary(0)?;
    if p.peek().is_some() {
        return Err(p.syntax_error());
    }
    // Evaluating and printing recurse over the tree; a long chain of
    // operators (`1+1+...+1`) is parsed by a loop but is as deep as it is
    // long.
    if depth(&e) > MAX_DEPTH {
        return Err(TOO_DEEP.to_string());
    }
    Ok(e)
}

/// How many nodes deep `e` is, counted without recursion.
fn depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut todo = vec![(e, 1)];
    while let Some((e, d)) = todo.pop() {
        deepest = deepest.max(d);
        match e {
            Expr::Int { .. } | Expr::Float(..) | Expr::Char(_) | Expr::Ident(_) | Expr::SizeOfType(_) => {}
            Expr::Unary(_, a) | Expr::Field(a, _) | Expr::Arrow(a, _) | Expr::Cast(_, a) | Expr::SizeOfValue(a) => {
                todo.push((a, d + 1))
            }
            Expr::Binary(_, a, b) | Expr::Index(a, b) => {
                todo.push((a, d + 1));
                todo.push((b, d + 1));
            }
        }
    }
    deepest
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    starts: Vec<usize>,
    pos: usize,
    is_type: &'a dyn Fn(&str) -> bool,
    /// Open parentheses and brackets, so that deeply nested input is an
    /// error instead of a stack overflow.
    nesting: u32,
}

const MAX_NESTING: u32 = 100;

/// The deepest expression tree accepted: evaluation recurses once per
/// level, and a debug build spends about 17 KiB of stack on each.
const MAX_DEPTH: usize = 100;

/// The most tokens parsed before giving up. Every node of the tree takes
/// at least one, so this bounds the tree (and the recursion that frees it)
/// while operator chains, parsed by loops, grow it.
const MAX_TOKENS: usize = 1000;

const TOO_DEEP: &str = "Expression too deeply nested.";

/// Binary operators by precedence level, loosest first.
const LEVELS: [&[(&str, BinOp)]; 10] = [
    &[("@", BinOp::At)],
    &[("||", BinOp::Or)],
    &[("&&", BinOp::And)],
    &[("|", BinOp::BitOr)],
    &[("^", BinOp::BitXor)],
    &[("&", BinOp::BitAnd)],
    &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
    &[("<", BinOp::Lt), ("<=", BinOp::Le), (">", BinOp::Gt), (">=", BinOp::Ge)],
    &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
    &[("+", BinOp::Add), ("-", BinOp::Sub)],
];
const MUL_LEVEL: [(&str, BinOp); 3] = [("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)];

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(q)) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Refuses to go on past [`MAX_TOKENS`].
    fn check_length(&self) -> Result<(), String> {
        if self.pos > MAX_TOKENS {
            return Err(format!("Expression too long (more than {MAX_TOKENS} tokens)."));
        }
        Ok(())
    }

    /// gdb's message, which quotes the text from where parsing stopped.
    fn syntax_error(&self) -> String {
        let rest = self.starts.get(self.pos).map_or("", |&at| &self.text[at..]);
        format!("A syntax error in expression, near `{rest}'.")
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        if level > LEVELS.len() {
            return self.unary();
        }
        let ops: &[(&str, BinOp)] = if level == LEVELS.len() {
            &MUL_LEVEL
        } else {
            LEVELS[level]
        };
        let mut left = self.binary(level + 1)?;
        'outer: loop {
            for (text, op) in ops {
                if self.eat(text) {
                    self.check_length()?;
                    let right = self.binary(level + 1)?;
                    left = Expr::Binary(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.nesting += 1;
        let e = self.unary_inner();
        self.nesting -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        // Deeply nested input must not overflow the stack.
        if self.nesting > MAX_NESTING {
            return Err(TOO_DEEP.to_string());
        }
        let op = match self.peek() {
            Some(Token::Punct("-")) => Some(UnOp::Neg),
            Some(Token::Punct("!")) => Some(UnOp::Not),
            Some(Token::Punct("~")) => Some(UnOp::BitNot),
            Some(Token::Punct("*")) => Some(UnOp::Deref),
            Some(Token::Punct("&")) => Some(UnOp::AddrOf),
            Some(Token::Punct("+")) => {
                self.pos += 1;
                return self.unary();
            }
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let operand = self.unary()?;
            return Ok(Expr::Unary(op, Box::new(operand)));
        }
        if matches!(self.peek(), Some(Token::Ident(w)) if w == "sizeof") {
            self.pos += 1;
            if self.is_cast() {
                self.pos += 1;
                let ty = self.type_name()?;
                if !self.eat(")") {
                    return Err(self.syntax_error());
                }
                return Ok(Expr::SizeOfType(ty));
            }
            let operand = self.unary()?;
            return Ok(Expr::SizeOfValue(Box::new(operand)));
        }
        if self.is_cast() {
            self.pos += 1;
            let ty = self.type_name()?;
            if !self.eat(")") {
                return Err(self.syntax_error());
            }
            let operand = self.unary()?;
            return Ok(Expr::Cast(ty, Box::new(operand)));
        }
        self.postfix()
    }

    fn is_cast(&self) -> bool {
        if !self.is_punct("(") {
            return false;
        }
        match self.tokens.get(self.pos + 1) {
            Some(Token::Ident(w)) if TYPE_WORDS.contains(&w.as_str()) => true,
            Some(Token::Ident(w)) => {
                matches!(self.tokens.get(self.pos + 2), Some(Token::Punct(")" | "*"))) && (self.is_type)(w)
            }
            _ => false,
        }
    }

    fn type_name(&mut self) -> Result<TypeName, String> {
        let mut words: Vec<String> = Vec::new();
        match self.peek() {
            // A typedef name stands alone.
            Some(Token::Ident(w)) if !TYPE_WORDS.contains(&w.as_str()) => {
                words.push(w.clone());
                self.pos += 1;
            }
            _ => {
                while let Some(Token::Ident(w)) = self.peek() {
                    let tagged = matches!(words.last().map(String::as_str), Some("struct" | "union" | "enum"));
                    if !TYPE_WORDS.contains(&w.as_str()) && !tagged {
                        break;
                    }
                    words.push(w.clone());
                    self.pos += 1;
                }
            }
        }
        let mut pointers = 0;
        while self.eat("*") {
            pointers += 1;
        }
        Ok(TypeName {
            base: words.join(" "),
            pointers,
        })
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            self.check_length()?;
            if self.eat(".") || self.is_punct("->") {
                let arrow = self.tokens[self.pos - 1] != Token::Punct(".");
                if arrow {
                    self.pos += 1;
                }
                let Some(Token::Ident(name)) = self.peek().cloned() else {
                    return Err(self.syntax_error());
                };
                self.pos += 1;
                e = if arrow {
                    Expr::Arrow(Box::new(e), name)
                } else {
                    Expr::Field(Box::new(e), name)
                };
            } else if self.eat("[") {
                self.nesting += 1;
                if self.nesting > MAX_NESTING {
                    return Err(TOO_DEEP.to_string());
                }
                let index = self.binary(0)?;
                self.nesting -= 1;
                if !self.eat("]") {
                    return Err(self.syntax_error());
                }
                e = Expr::Index(Box::new(e), Box::new(index));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let token = self.peek().cloned().ok_or_else(|| self.syntax_error())?;
        self.pos += 1;
        match token {
            Token::Int { value, unsigned, long } => Ok(Expr::Int { value, unsigned, long }),
            Token::Float(f, single) => Ok(Expr::Float(f, single)),
            Token::Char(c) => Ok(Expr::Char(c)),
            Token::Ident(name) => Ok(Expr::Ident(name)),
            Token::Punct("(") => {
                self.nesting += 1;
                if self.nesting > MAX_NESTING {
                    return Err(TOO_DEEP.to_string());
                }
                let e = self.binary(0)?;
                self.nesting -= 1;
                if !self.eat(")") {
                    return Err(self.syntax_error());
                }
                Ok(e)
            }
            Token::Punct(_) => {
                self.pos -= 1;
                Err(self.syntax_error())
            }
        }
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    /// The error parsing `text` gives, if any (a tree is too big to show).
    fn error(text: &str) -> Option<String> {
        parse(text, &|_| false).err()
    }

    #[test]
    fn operator_chains_are_bounded_without_deep_recursion() {
        let deep = Some(TOO_DEEP.to_string());
        let long = Some(format!("Expression too long (more than {MAX_TOKENS} tokens)."));
        let sum = |n: usize| vec!["1"; n].join("+");
        assert_eq!(error(&sum(MAX_DEPTH)), None);
        assert_eq!(error(&sum(MAX_DEPTH + 1)), deep);
        assert_eq!(error(&sum(10_000)), long);
        assert_eq!(error(&sum(1_000_000)), long);
        assert_eq!(error(&vec!["x"; 10_000].join(" * ")), long);
        assert_eq!(error(&format!("s{}", ".f".repeat(10_000))), long);
        assert_eq!(error(&format!("p{}", "->f".repeat(MAX_DEPTH))), deep);
        assert_eq!(error(&format!("a{}", "[0]".repeat(MAX_DEPTH))), deep);
        // Depth adds up through brackets.
        assert_eq!(error(&format!("({})*({})", sum(60), sum(60))), None);
        assert_eq!(error(&format!("({})+{}", sum(60), sum(60))), deep);
        // Unary operators and casts were bounded already.
        assert_eq!(error(&("-".repeat(5000) + "1")), deep);
        assert_eq!(error(&("(long)".repeat(5000) + "1")), deep);
    }
}
