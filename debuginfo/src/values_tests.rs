//! Tests of `print`: values.c is run and stopped in `probe`, and each
//! expression must print what gdb 13 prints for it there (addresses, which
//! move with ASLR, are compared as `0x?`).

use super::*;
use crate::{Format, Scope};

/// Addresses of the tracee (long hex numbers) as `0x?`.
fn mask(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let digits = rest[at + 2..].chars().take_while(char::is_ascii_hexdigit).count();
        if digits >= 9 {
            out.push_str("0x?");
        } else {
            out.push_str(&rest[at..at + 2 + digits]);
        }
        rest = &rest[at + 2 + digits..];
    }
    out.push_str(rest);
    out
}

/// values.c stopped in its spin loop in `probe`.
fn stopped_in_probe() -> (Program, Stopped) {
    let p = build_c("values.c", &["-g", "-O0"]);
    let s = run_and_stop(&p.exe, &["ready"], "probe", p.line("probe_spin"));
    (p, s)
}

fn fs_base(s: &Stopped) -> u64 {
    let pid = Pid::from_raw(s.child.id() as i32);
    ptrace::getregs(pid).expect("PTRACE_GETREGS").fs_base
}

fn probe_frame(s: &Stopped) -> Frame {
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    frames
        .iter()
        .find(|f| function(f) == Some("probe"))
        .cloned()
        .unwrap_or_else(|| panic!("no probe frame:\n{}", describe(&frames)))
}

/// Evaluates each expression and collects every mismatch, so that one run
/// shows them all.
fn check_all(s: &Stopped, scope: &Scope, cases: &[(&str, Format, &str)]) {
    let mut wrong = Vec::new();
    for (expr, f, want) in cases {
        let got = match s.info.evaluate(expr, scope) {
            Ok(v) => mask(&v.format(*f)),
            Err(e) => format!("error: {e}"),
        };
        if got != *want {
            wrong.push(format!("p{} {expr}\n   got: {got}\n  want: {want}", suffix(*f)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ from gdb:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

fn suffix(f: Format) -> &'static str {
    match f {
        Format::Natural => "",
        Format::Hex => "/x",
        Format::Decimal => "/d",
        Format::Unsigned => "/u",
        Format::Octal => "/o",
        Format::Binary => "/t",
        Format::Char => "/c",
        Format::Address => "/a",
    }
}

#[test]
fn c_values_print_like_gdb() {
    let (_p, s) = stopped_in_probe();
    let frame = probe_frame(&s);
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: Some(fs_base(&s)),
        tls: None,
    };
    let cases: Vec<(&str, Format, &str)> = [
        ("g_int", "42"),
        ("g_neg", "-3"),
        ("g_uint", "4000000000"),
        ("g_char", "65 'A'"),
        ("g_nl", "10 '\\n'"),
        ("g_uchar", "200 '\\310'"),
        ("g_bool", "true"),
        ("g_double", "0.10000000000000001"),
        ("g_half", "3.5"),
        ("g_float", "0.100000001"),
        ("g_long", "-1234567890123"),
        ("g_short", "-7"),
        ("g_typedef", "99"),
        ("g_arr", "{1, 2, 3}"),
        ("g_zeros", "{0 <repeats 16 times>}"),
        ("g_rep", "{1, 2 <repeats 12 times>, 3}"),
        ("g_big", "{0, 0, 0, 0, 0, 1, 0 <repeats 294 times>}"),
        ("g_str", "\"abc\\000\\000\""),
        ("g_pad", "\"hi\", '\\000' <repeats 17 times>"),
        ("g_msg", "0x? \"hello\""),
        ("g_pt", "{x = 1, y = 2}"),
        (
            "g_line",
            "{a = {x = 1, y = 2}, b = {x = 3, y = 4}, label = 0x? \"diag\"}",
        ),
        ("g_bits", "{i = 1065353216, f = 1, b = \"\\000\\000\\200?\"}"),
        ("g_color", "GREEN"),
        ("g_flags", "(F_A | F_C)"),
        ("g_badflag", "(F_A | unknown: 0x4)"),
        ("g_badcolor", "(GREEN | BLUE | unknown: 0x4)"),
        ("g_ptr", "(int *) 0x? <g_int>"),
        ("g_null", "(int *) 0x0"),
        ("g_n1", "{val = 1, next = 0x? <g_n2>}"),
        ("*g_n1.next", "{val = 2, next = 0x0}"),
        ("g_n1.next->val", "2"),
        ("g_ptp", "(struct point *) 0x? <g_pt>"),
        ("*g_ptp", "{x = 1, y = 2}"),
        ("g_fn", "(int (*)(int)) 0x? <square>"),
        ("square", "{int (int)} 0x? <square>"),
        ("g_matrix", "{{1, 2, 3}, {4, 5, 6}}"),
        ("s_static", "5"),
        ("t_tls", "77"),
        ("&g_pt", "(struct point *) 0x? <g_pt>"),
        ("&g_pt.y", "(int *) 0x? <g_pt+4>"),
        ("g_arr[1]", "2"),
        ("g_ptr + 1", "(int *) 0x? <g_neg>"),
        ("10/3", "3"),
        ("1.5", "1.5"),
        ("'A'", "65 'A'"),
        ("0.1", "0.10000000000000001"),
        ("g_arr[0] == 1", "1"),
        ("!g_int", "0"),
        ("-g_int", "-42"),
        ("(long)g_int", "42"),
        ("(char)65", "65 'A'"),
        ("g_str[0]", "97 'a'"),
        ("&g_str", "(char (*)[6]) 0x? <g_str>"),
        ("g_ptr - g_ptr", "0"),
        ("g_half * 2", "7"),
        ("7 % 3", "1"),
        ("1 && 0", "0"),
        ("&g_arr", "(int (*)[3]) 0x? <g_arr>"),
        ("&g_matrix[1]", "(int (*)[3]) 0x? <g_matrix+12>"),
        ("s", "0x? \"hello\""),
        ("p", "(struct point *) 0x? <g_pt>"),
        ("*p", "{x = 1, y = 2}"),
        ("p->y", "2"),
        ("calls", "1"),
        ("local", "10"),
        ("inner", "11"),
        ("d", "5.5"),
        ("n", "5"),
        ("g_uint + 1", "4000000001"),
        ("g_char + 1", "66"),
        ("&g_arr[1]", "(int *) 0x? <g_arr+4>"),
        ("g_msg + 1", "0x? \"ello\""),
        ("*g_msg", "104 'h'"),
        ("(struct point *)g_ptr", "(struct point *) 0x? <g_int>"),
        ("1.0/3", "0.33333333333333331"),
        ("1e20", "1e+20"),
        ("100.0", "100"),
        ("1e-5", "1.0000000000000001e-05"),
        ("g_float * 1", "0.100000001"),
        ("(float)1/3", "0.333333343"),
        ("g_matrix[1]", "{4, 5, 6}"),
        ("g_matrix[1][2]", "6"),
        ("g_line.b", "{x = 3, y = 4}"),
        ("g_line.label", "0x? \"diag\""),
        ("g_bits.b", "\"\\000\\000\\200?\""),
        ("-g_half", "-3.5"),
        ("g_n1.next->next", "(struct node *) 0x0"),
        ("*g_fn", "{int (int)} 0x? <square>"),
        ("&square", "(int (*)(int)) 0x? <square>"),
        ("g_rep[13]", "3"),
        ("p->x + p->y * 10", "21"),
        ("(unsigned char)255", "255 '\\377'"),
        ("g_color == 1", "1"),
    ]
    .iter()
    .map(|(e, w)| (*e, Format::Natural, *w))
    .collect();
    check_all(&s, &scope, &cases);
}

#[test]
fn c_formats_and_errors_match_gdb() {
    let (_p, s) = stopped_in_probe();
    let frame = probe_frame(&s);
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: Some(fs_base(&s)),
        tls: None,
    };
    let cases: Vec<(&str, Format, &str)> = vec![
        ("*g_null", Format::Natural, "error: Cannot access memory at address 0x0"),
        ("foo", Format::Natural, "error: No symbol \"foo\" in current context."),
        (
            "&3",
            Format::Natural,
            "error: Attempt to take address of value not located in memory.",
        ),
        ("5/0", Format::Natural, "error: Division by zero"),
        ("g_pt.z", Format::Natural, "error: There is no member named z."),
        (
            "g_int.x",
            Format::Natural,
            "error: Attempt to extract a component of a value that is not a structure.",
        ),
        ("*g_int", Format::Natural, "error: Cannot access memory at address 0x2a"),
        (
            "g_arr[",
            Format::Natural,
            "error: A syntax error in expression, near `'.",
        ),
        ("1 +", Format::Natural, "error: A syntax error in expression, near `'."),
        ("(unsigned long)-1", Format::Natural, "18446744073709551615"),
        ("-5 / 2", Format::Natural, "-2"),
        ("-5 % 3", Format::Natural, "-2"),
        ("2147483648", Format::Natural, "2147483648"),
        ("0x7fffffff + 1", Format::Natural, "-2147483648"),
        ("g_uchar * 2", Format::Natural, "400"),
        ("1 < 2.0", Format::Natural, "1"),
        ("~0", Format::Natural, "-1"),
        ("1 << 4", Format::Natural, "16"),
        ("'\\n'", Format::Natural, "10 '\\n'"),
        ("'\\0'", Format::Natural, "0 '\\000'"),
        ("g_pt.x == 1 && g_pt.y == 2", Format::Natural, "1"),
        ("(void *)g_ptr", Format::Natural, "(void *) 0x? <g_int>"),
        ("(int)g_half", Format::Natural, "3"),
        ("(double)3", Format::Natural, "3"),
        (
            "*(void *)g_ptr",
            Format::Natural,
            "error: Attempt to dereference a generic pointer.",
        ),
        (
            "g_ptr->x",
            Format::Natural,
            "error: Attempt to extract a component of a value that is not a structure pointer.",
        ),
        ("p.x", Format::Natural, "1"),
        ("g_n1->val", Format::Natural, "1"),
        (
            "(struct nosuch *)g_ptr",
            Format::Natural,
            "error: No struct type named nosuch.",
        ),
        ("g_arr[1]@2", Format::Natural, "{2, 3}"),
        ("g_int", Format::Hex, "0x2a"),
        ("g_neg", Format::Hex, "0xfffffffd"),
        ("g_int", Format::Octal, "052"),
        ("g_int", Format::Binary, "101010"),
        ("g_int", Format::Char, "42 '*'"),
        ("g_uint", Format::Decimal, "-294967296"),
        ("g_neg", Format::Unsigned, "4294967293"),
        ("g_arr", Format::Hex, "{0x1, 0x2, 0x3}"),
        ("g_pt", Format::Hex, "{x = 0x1, y = 0x2}"),
        ("g_fn", Format::Address, "0x? <square>"),
        ("g_double", Format::Hex, "0x?"),
        ("g_char", Format::Hex, "0x41"),
        ("g_bool", Format::Hex, "0x1"),
        ("g_ptr", Format::Hex, "0x?"),
        ("g_str", Format::Hex, "{0x61, 0x62, 0x63, 0x0, 0x0, 0x0}"),
        (
            "g_str",
            Format::Char,
            "{97 'a', 98 'b', 99 'c', 0 '\\000', 0 '\\000', 0 '\\000'}",
        ),
        ("g_color", Format::Hex, "0x1"),
        ("g_flags", Format::Decimal, "9"),
        (
            "g_line",
            Format::Hex,
            "{a = {x = 0x1, y = 0x2}, b = {x = 0x3, y = 0x4}, label = 0x?}",
        ),
        ("g_ptr", Format::Address, "0x? <g_int>"),
        ("-1", Format::Hex, "0xffffffff"),
        ("0", Format::Octal, "0"),
        ("0", Format::Binary, "0"),
        ("65", Format::Char, "65 'A'"),
        ("g_char", Format::Unsigned, "65"),
        ("g_short", Format::Hex, "0xfff9"),
        ("g_short", Format::Binary, "1111111111111001"),
        ("(ulong_t)g_neg", Format::Natural, "18446744073709551613"),
        ("sizeof(ulong_t)", Format::Natural, "8"),
        ("sizeof(struct line)", Format::Natural, "24"),
        ("(enum color)2", Format::Natural, "BLUE"),
        ("(enum color)9", Format::Natural, "(GREEN | unknown: 0x8)"),
        ("sizeof g_arr", Format::Natural, "12"),
        ("sizeof(g_pt)", Format::Natural, "8"),
        ("(ulong_t *)g_ptr", Format::Natural, "(ulong_t *) 0x? <g_int>"),
        ("*(ulong_t *)g_ptr", Format::Natural, "18446744060824649770"),
        (
            "(ulong_t)",
            Format::Natural,
            "error: A syntax error in expression, near `'.",
        ),
        ("g_typedef + (ulong_t)1", Format::Natural, "100"),
        ("0.0/0", Format::Natural, "-nan(0x?)"),
        ("-(0.0/0)", Format::Natural, "-nan(0x?)"),
        ("1.0/0", Format::Natural, "inf"),
        ("-1.0/0", Format::Natural, "-inf"),
        ("(float)(0.0/0)", Format::Natural, "-nan(0x400000)"),
        ("-0.0", Format::Natural, "0"),
        ("1.5e300*1e10", Format::Natural, "inf"),
        ("123456789.0", Format::Natural, "123456789"),
        ("0.0001", Format::Natural, "0.0001"),
        ("1e16", Format::Natural, "10000000000000000"),
        ("1e17", Format::Natural, "1e+17"),
        ("(float)1e10", Format::Natural, "1e+10"),
        ("5e-324", Format::Natural, "4.9406564584124654e-324"),
        ("1/3.0f", Format::Natural, "0.333333343"),
        ("g_long * 0.5f", Format::Natural, "-6.17283977e+11"),
        ("g_float + 1", Format::Natural, "1.10000002"),
        ("(long)g_fn", Format::Address, "0x? <square>"),
        ("42", Format::Address, "0x2a"),
        ("g_int", Format::Address, "0x2a"),
        ("(long)&g_pt.y", Format::Address, "0x? <g_pt+4>"),
        ("(unsigned long)g_ptr", Format::Address, "0x? <g_int>"),
    ];
    check_all(&s, &scope, &cases);

    // Whatever is typed, the answer is a value or a one-line error.
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let negations = "-".repeat(5000) + "1";
    let bad = [
        "",
        "(",
        ")",
        "'",
        "''",
        "'ab'",
        "0x",
        "09",
        "1e",
        "12abc",
        "a..b",
        "g_pt.",
        "g_ptr->",
        "[1]",
        "\u{e9}",
        "é",
        "*",
        "&",
        "sizeof",
        "(int",
        "(struct) g_ptr",
        "(struct point) g_int",
        "g_arr[1",
        "g_int @ 0",
        "3 @ 2",
        "*0",
        "((struct point *)0)->y",
        "g_arr[-100000000000]",
        "*g_msg@-1",
        "g_pt + 1",
        "g_pt == g_pt",
        "-g_pt",
        "!g_pt",
        "g_fn * 2",
        "1 / 0.0 / g_pt",
        "99999999999999999999999",
        &deep,
        &negations,
    ];
    for expr in bad {
        if let Err(e) = s.info.evaluate(expr, &scope) {
            assert!(!e.is_empty() && !e.contains('\n'), "{expr:?} gave a bad error: {e:?}");
        }
    }
    for (expr, want) in [
        ("(struct point) g_int", "Invalid cast."),
        ("*0", "Cannot access memory at address 0x0"),
        ("((struct point *)0)->y", "Cannot access memory at address 0x4"),
        ("g_pt + 1", "Argument to arithmetic operation not a number or boolean."),
        (&deep, "Expression too deeply nested."),
    ] {
        assert_eq!(
            s.info.evaluate(expr, &scope).map(|v| v.to_string()),
            Err(want.to_string()),
            "{expr:.40}"
        );
    }
    // Big values are refused as gdb refuses them; 300 elements print 200.
    assert_eq!(
        s.info.evaluate("g_big[0]@100000", &scope).map(|v| v.to_string()),
        Err("value requires 400000 bytes, which is more than max-value-size".to_string())
    );
    let big = s.info.evaluate("g_big[5]@300", &scope).expect("g_big@");
    assert_eq!(big.to_string(), "{1, 0 <repeats 296 times>, 1, 0, 0}");
    assert_eq!(big.elements().map(|e| e.len()), Some(300));
}

/// Type names are spelled as gdb's `whatis` spells them.
#[test]
fn type_names_match_gdb_whatis() {
    let (_p, s) = stopped_in_probe();
    let frame = probe_frame(&s);
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let mut wrong = Vec::new();
    for (expr, want) in [
        ("&g_arr", "int (*)[3]"),
        ("g_fn", "int (*)(int)"),
        ("g_matrix", "int [2][3]"),
        ("g_typedef", "ulong_t"),
        ("&g_str", "char (*)[6]"),
        ("g_msg", "const char *"),
        ("square", "int (int)"),
        ("g_pt", "struct point"),
        ("g_bits", "union bits"),
        ("g_color", "enum color"),
        ("10/3", "int"),
        ("1.5", "double"),
        ("'a'", "char"),
        ("g_uint + 1", "unsigned int"),
        ("&g_matrix[1]", "int (*)[3]"),
        ("&g_fn", "int (**)(int)"),
        ("g_line.label", "const char *"),
        ("g_n1.next", "struct node *"),
        ("$pc", "void (*)()"),
        ("$sp", "void *"),
        ("g_big[0]@3", "int [3]"),
        ("sizeof(int)", "int"),
        ("g_char + 1", "int"),
        ("g_long * 2", "long"),
        ("g_ptr - g_ptr", "long"),
        ("(char)1", "char"),
        ("g_bool", "_Bool"),
        ("!g_int", "int"),
    ] {
        let got = s.info.evaluate(expr, &scope).map(|v| v.type_name());
        if got.as_deref() != Ok(want) {
            wrong.push(format!("whatis {expr}: got {got:?}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn listing(vars: &[(String, Value)]) -> String {
    vars.iter()
        .map(|(n, v)| format!("{n} = {}", mask(&v.to_string())))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn locals_args_and_frame_line_match_gdb() {
    let (_p, s) = stopped_in_probe();
    let frame = probe_frame(&s);
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let locals = s.info.locals(&scope).expect("info locals");
    assert_eq!(
        listing(&locals),
        "inner = 11\nd = 5.5\nhuge = <error reading variable huge (value requires 70000 bytes, which is more than \
         max-value-size)>\nlocal = 10\ncalls = 1"
    );
    // Too big to print, but its elements can be read.
    assert_eq!(
        s.info.evaluate("huge", &scope).map(|v| v.to_string()),
        Err("value requires 70000 bytes, which is more than max-value-size".to_string())
    );
    assert_eq!(
        s.info.evaluate("huge[0]", &scope).map(|v| v.to_string()),
        Ok("11 '\\v'".to_string())
    );
    let args = s.info.args(&scope).expect("info args");
    assert_eq!(listing(&args), "n = 5\np = 0x? <g_pt>\ns = 0x? \"hello\"");
    assert_eq!(
        mask(&s.info.frame_args_summary(&scope)),
        "n=5, p=0x? <g_pt>, s=0x? \"hello\""
    );
    // The values keep what a caller needs besides the text.
    let (_, p) = &args[1];
    assert_eq!(p.type_name(), "struct point *");
    assert_eq!(p.byte_size(), 8);
    assert!(
        p.address().is_some_and(|a| a < frame.cfa),
        "a parameter lives in the frame"
    );
    let arr = s.info.evaluate("g_arr", &scope).expect("g_arr");
    let elements: Vec<i64> = arr
        .elements()
        .expect("an array")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(elements, [1, 2, 3]);
    assert_eq!(s.info.evaluate("d", &scope).expect("d").as_f64(), Some(5.5));
    assert_eq!(
        s.info.evaluate("inner > 10", &scope).expect("cond").is_true(),
        Some(true)
    );
    assert_eq!(
        s.info.evaluate("g_null", &scope).expect("g_null").is_true(),
        Some(false)
    );
    // Registers, typed as gdb types them.
    let pc = s.info.evaluate("$pc", &scope).expect("$pc").to_string();
    assert!(pc.starts_with("(void (*)()) 0x") && pc.contains(" <probe+"), "{pc}");
    assert_eq!(
        s.info.evaluate("$rip", &scope).expect("$rip").as_i64(),
        Some(frame.pc as i64)
    );
    let sp = s.info.evaluate("$sp", &scope).expect("$sp");
    assert_eq!(
        (sp.type_name().as_str(), sp.as_i64()),
        ("void *", Some(frame.regs.rsp as i64))
    );
    assert_eq!(s.info.evaluate("$rsp == $sp", &scope).expect("==").to_string(), "1");
    let rax = s.info.evaluate("$rax", &scope).expect("$rax");
    assert_eq!(
        (rax.type_name().as_str(), rax.as_i64()),
        ("int64_t", Some(frame.regs.rax as i64))
    );
    let eax = s.info.evaluate("$eax", &scope).expect("$eax");
    assert_eq!(eax.as_i64(), Some(frame.regs.rax as u32 as i32 as i64));
    let flags = s.info.evaluate("$eflags", &scope).expect("$eflags");
    assert!(
        flags.to_string().starts_with("[ ") && flags.to_string().ends_with(" ]"),
        "{flags}"
    );
    assert_eq!(flags.format(Format::Hex), format!("{:#x}", frame.regs.eflags));
    assert_eq!(s.info.evaluate("$nosuch", &scope).expect("$nosuch").to_string(), "void");
    // Without the thread pointer, a thread-local variable cannot be found.
    assert_eq!(
        s.info.evaluate("t_tls", &scope).map(|v| v.to_string()),
        Err("Cannot access thread-local variables in this context.".to_string())
    );
}

#[test]
fn rust_values_print_like_gdb() {
    let p = build_rust("values.rs");
    let s = run_and_stop(&p.exe, &["ready"], "values::probe", p.line("rprobe_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let frame = frames
        .iter()
        .find(|f| function(f) == Some("values::probe"))
        .cloned()
        .unwrap_or_else(|| panic!("no probe frame:\n{}", describe(&frames)));
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let cases: Vec<(&str, Format, &str)> = vec![
        ("n", Format::Natural, "5"),
        ("p", Format::Natural, "(*mut values::Point) 0x?"),
        ("*p", Format::Natural, "values::Point {x: 1, y: 2}"),
        ("p.x", Format::Natural, "1"),
        (
            "shapes",
            Format::Natural,
            "&[values::Shape] [values::Shape::Empty, values::Shape::Circle(2)]",
        ),
        ("some", Format::Natural, "core::option::Option<i32>::Some(5)"),
        ("none", Format::Natural, "core::option::Option<i32>::None"),
        ("boxed", Format::Natural, "(*mut values::Point) 0x?"),
        ("*boxed", Format::Natural, "values::Point {x: 3, y: 4}"),
        ("boxed.x", Format::Natural, "3"),
        ("tuple", Format::Natural, "(1, -2, true)"),
        ("tuple.0", Format::Natural, "1"),
        ("tuple.1", Format::Natural, "-2"),
        ("pair", Format::Natural, "values::Pair (9, 2.5)"),
        ("pair.0", Format::Natural, "9"),
        ("arr", Format::Natural, "[1, 2, 3]"),
        ("arr[1]", Format::Natural, "2"),
        ("color", Format::Natural, "values::Color::Green"),
        ("circle", Format::Natural, "values::Shape::Circle(1.5)"),
        ("rect", Format::Natural, "values::Shape::Rect{w: 2, h: 3}"),
        ("empty", Format::Natural, "values::Shape::Empty"),
        ("ch", Format::Natural, "120 'x'"),
        ("s", Format::Natural, "\"hi\""),
        ("r", Format::Natural, "(*mut i32) 0x?"),
        ("*r", Format::Natural, "5"),
        ("COUNTER", Format::Natural, "7"),
        ("values::COUNTER", Format::Natural, "7"),
        ("n + 1", Format::Natural, "6"),
        ("n * 2 == 10", Format::Natural, "true"),
        ("shapes[1]", Format::Natural, "values::Shape::Circle(2)"),
        ("rect.w", Format::Natural, "2"),
        ("p.y + 1", Format::Natural, "3"),
        ("!true", Format::Natural, "false"),
        ("tuple.2", Format::Natural, "true"),
        ("1 == 1", Format::Natural, "true"),
        ("*r", Format::Natural, "5"),
        ("pair.1", Format::Natural, "2.5"),
        ("&n", Format::Natural, "(*mut i32) 0x?"),
        ("n", Format::Hex, "0x5"),
        (
            "opt_ref",
            Format::Natural,
            "core::option::Option<&values::Point>::Some(0x?)",
        ),
        (
            "opt_none",
            Format::Natural,
            "core::option::Option<&values::Point>::None",
        ),
        ("res", Format::Natural, "core::result::Result<i32, u8>::Err(3)"),
        (
            "nested",
            Format::Natural,
            "core::option::Option<core::option::Option<u8>>::Some(core::option::Option<u8>::None)",
        ),
        ("bytes", Format::Natural, "[1, 2, 3]"),
        ("big", Format::Natural, "-5"),
        ("strs", Format::Natural, "[\"a\", \"bc\"]"),
        ("zeros", Format::Natural, "[0 <repeats 12 times>]"),
        ("strs[1]", Format::Natural, "\"bc\""),
        (
            "*opt_ref",
            Format::Natural,
            "error: Attempt to take contents of a non-pointer value.",
        ),
    ];
    check_all(&s, &scope, &cases);
    for (expr, want) in [
        ("p", "*mut values::Point"),
        ("tuple", "(u8, i64, bool)"),
        ("arr", "[u16; 3]"),
        ("shapes", "&[values::Shape]"),
        ("s", "&str"),
        ("boxed", "*mut values::Point"),
        ("some", "core::option::Option<i32>"),
        ("ch", "char"),
        ("n", "i32"),
        ("pair", "values::Pair"),
        ("color", "values::Color"),
    ] {
        let got = s.info.evaluate(expr, &scope).map(|v| v.type_name());
        assert_eq!(got.as_deref(), Ok(want), "whatis {expr}");
    }
    let locals = s.info.locals(&scope).expect("info locals");
    let names: Vec<&str> = locals.iter().map(|(n, _)| n.as_str()).collect();
    // Each `let` opens a scope: the latest binding comes first, as in gdb.
    assert_eq!(
        names,
        [
            "zeros", "strs", "big", "bytes", "nested", "res", "opt_none", "opt_ref", "r", "v", "string", "s", "ch",
            "empty", "rect", "circle", "color", "arr", "pair", "tuple", "boxed", "none", "some"
        ]
    );
    assert_eq!(mask(&s.info.frame_args_summary(&scope)), "n=5, p=0x?, shapes=...");
}

/// Bit fields, anonymous members, arrays of strings and structs, escapes,
/// and an -O2 function whose variables are in registers or gone.
#[test]
fn optimized_code_and_more_types_match_gdb() {
    let p = build_c("values_o2.c", &["-g", "-O2"]);
    let s = run_and_stop(&p.exe, &["ready"], "work", p.line("work_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let frame = frames
        .iter()
        .find(|f| function(f) == Some("work"))
        .cloned()
        .unwrap_or_else(|| panic!("no work frame:\n{}", describe(&frames)));
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let cases: Vec<(&str, Format, &str)> = vec![
        ("g_bits", Format::Natural, "{a = 5, b = -3, c = 1}"),
        ("g_bits.b", Format::Natural, "-3"),
        ("g_anon", Format::Natural, "{tag = 7, {i = 9, f = 1.26116862e-44}, {lo = 1, hi = 2}}"),
        ("g_anon.f", Format::Natural, "1.26116862e-44"),
        ("g_anon.hi", Format::Natural, "2"),
        ("g_ops", Format::Natural, "{fn = 0x? <twice>, name = 0x? \"twice\"}"),
        ("g_ops.fn", Format::Natural, "(int (*)(int)) 0x? <twice>"),
        ("g_names", Format::Natural, "{0x? \"ab\", 0x0, 0x? \"cd\"}"),
        ("g_grid", Format::Natural, "{\"abc\", \"xy\\000\"}"),
        ("g_sign", Format::Natural, "NEG"),
        ("g_odd", Format::Natural, "5"),
        ("g_ld", Format::Natural, "1.5"),
        ("g_flagsv", Format::Natural, "{true, false, true}"),
        ("g_bytes", Format::Natural, "\"\\001\\002\\377\""),
        ("g_pts", Format::Natural, "{{x = 1, y = 2}, {x = 3, y = 4}}"),
        ("g_pp", Format::Natural, "(point_t *) 0x? <g_pts+8>"),
        ("*g_pp", Format::Natural, "{x = 3, y = 4}"),
        ("g_pp->y", Format::Natural, "4"),
        ("g_pts[1].x", Format::Natural, "3"),
        ("g_esc", Format::Natural, "\"a\\\"b\\\\c\\t\\001\""),
        ("g_dbl", Format::Natural, "{0.5, -2.25, 1e+100}"),
        ("g_holder", Format::Natural, "{n = 2, rest = 0x?}"),
        ("g_void", Format::Natural, "(void *) 0x? <g_pts>"),
        ("*g_void", Format::Natural, "error: Attempt to dereference a generic pointer."),
        ("g_many", Format::Natural, "{1 <repeats 11 times>, 2}"),
        ("g_long", Format::Natural, "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr\"..."),
        ("&g_pts[0]", Format::Natural, "(point_t *) 0x? <g_pts>"),
        ("g_names[0]", Format::Natural, "0x? \"ab\""),
        ("*g_names", Format::Natural, "0x? \"ab\""),
        ("g_names[1]", Format::Natural, "0x0"),
        ("g_bits.a + g_bits.b", Format::Natural, "2"),
        ("(char)300", Format::Natural, "44 ','"),
        ("(unsigned char)-1", Format::Natural, "255 '\\377'"),
        ("(short)-1", Format::Natural, "-1"),
        ("sizeof(int)", Format::Natural, "4"),
        ("n", Format::Natural, "4"),
        ("data", Format::Natural, "(int *) 0x?"),
        ("sum", Format::Natural, "<optimized out>"),
        ("i", Format::Natural, "error: No symbol \"i\" in current context."),
        ("*data@4", Format::Natural, "{1, 2, 3, 4}"),
        ("data[1]", Format::Natural, "2"),
        ("g_bytes", Format::Hex, "{0x1, 0x2, 0xff, 0x0}"),
        ("g_bytes", Format::Char, "{1 '\\001', 2 '\\002', 255 '\\377', 0 '\\000'}"),
    ];
    check_all(&s, &scope, &cases);
    let locals = s.info.locals(&scope).expect("info locals");
    assert_eq!(listing(&locals), "sum = <optimized out>");
}

/// Outer frames read their variables through their own CFA and the
/// registers the unwinder recovered.
#[test]
fn variables_of_outer_frames() {
    let p = build_c("deep.c", &["-g", "-O0"]);
    let s = run_and_stop(&p.exe, &["ready"], "deep", p.line("deep_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let deep: Vec<&Frame> = frames.iter().filter(|f| function(f) == Some("deep")).collect();
    assert_eq!(deep.len(), 4, "{}", describe(&frames));
    for (level, frame) in deep.iter().enumerate() {
        let scope = Scope {
            frame,
            mem: &s.mem,
            fs_base: None,
            tls: None,
        };
        assert_eq!(s.info.frame_args_summary(&scope), format!("n={level}"));
        let v = s.info.evaluate("n * 10 + 1", &scope).expect("n in an outer frame");
        assert_eq!(v.as_i64(), Some(level as i64 * 10 + 1));
        assert_eq!(
            s.info.evaluate("spin", &scope).map(|v| v.to_string()),
            Ok("1".to_string())
        );
        // Outer frames know their callee-saved registers, not the others.
        let rbx = s.info.evaluate("$rbx", &scope).expect("$rbx");
        assert_eq!(rbx.as_i64(), frame.register(3).map(|r| r as i64));
        let rax = s.info.evaluate("$rax", &scope).expect("$rax").to_string();
        if level > 0 {
            assert_eq!(rax, "<not saved>");
        }
    }
}

/// An inlined function's parameters and locals, found through its
/// abstract origin, with the frame base of the function it is inlined in.
#[test]
fn inlined_function_variables() {
    let p = build_c("values_inline.c", &["-g", "-O2"]);
    let s = run_and_stop(&p.exe, &["ready"], "spin_in", p.line("inline_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let frame = frames
        .iter()
        .find(|f| function(f) == Some("spin_in"))
        .cloned()
        .unwrap_or_else(|| panic!("no spin_in frame:\n{}", describe(&frames)));
    let scope = Scope {
        frame: &frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let cases = [
        ("x", Format::Natural, "5"),
        ("y", Format::Natural, "10"),
        ("argc", Format::Natural, "error: No symbol \"argc\" in current context."),
        ("x + y", Format::Natural, "15"),
    ];
    check_all(&s, &scope, &cases);
    assert_eq!(listing(&s.info.locals(&scope).expect("locals")), "y = 10");
    assert_eq!(s.info.frame_args_summary(&scope), "x=5");
}

/// Syntax errors say what gdb says, quoting the input from where it stops.
#[test]
fn syntax_errors_match_gdb() {
    let no_types = |_: &str| false;
    for (text, want) in [
        ("1 2", "A syntax error in expression, near `2'."),
        ("g_int g_neg  + 1", "A syntax error in expression, near `g_neg  + 1'."),
        ("(int", "A syntax error in expression, near `'."),
        (")", "A syntax error in expression, near `)'."),
        ("1 + * ", "A syntax error in expression, near `'."),
        ("g_pt.", "A syntax error in expression, near `'."),
        ("'ab'", "Invalid character constant."),
        ("'a", "Unmatched single quote."),
        ("12abc", "Invalid number \"12abc\"."),
        ("3 $", "A syntax error in expression, near `$'."),
        ("#", "Invalid character '#' in expression."),
    ] {
        assert_eq!(
            crate::expr::parse(text, &no_types).err().as_deref(),
            Some(want),
            "{text}"
        );
    }
}

/// Corrupt libstdc++ containers print short and soon: a red-black tree
/// whose walk loops, a vector and a list of 2^40 elements and a string of
/// 2^50 characters are cut at gdb's 200 elements, and say so.
#[test]
fn corrupt_containers_print_bounded() {
    let p = build_c("containers.cpp", &["-g", "-O0"]);
    let s = run_and_stop(&p.exe, &["ready"], "main", p.line("containers_spin"));
    let frames = s.info.backtrace(&s.regs, &s.mem, 64);
    let frame = frames
        .iter()
        .find(|f| function(f) == Some("main"))
        .unwrap_or_else(|| panic!("no main:\n{}", describe(&frames)));
    let scope = Scope {
        frame,
        mem: &s.mem,
        fs_base: None,
        tls: None,
    };
    let print = |expr: &str| {
        let started = std::time::Instant::now();
        let text = s.info.evaluate(expr, &scope).map(|v| v.to_string()).expect(expr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{expr} took {:?}",
            started.elapsed()
        );
        assert!(text.len() < 5000, "{expr} printed {} characters", text.len());
        text
    };
    let tree = print("tree");
    assert!(
        tree.starts_with("std::map with 3 elements = {[1] = 1, the tree does not end"),
        "{tree}"
    );
    let huge = print("huge");
    assert!(
        huge.starts_with("std::vector of length 1099511627776, capacity "),
        "{huge}"
    );
    assert!(huge.ends_with("...}") && huge.contains("{1, 2, 3, "), "{huge}");
    let endless = print("endless");
    assert!(endless.starts_with("\"text") && endless.ends_with("..."), "{endless}");
    let ring = print("ring");
    assert!(ring.starts_with("std::__cxx11::list = {[0] = 1, [1] = 2, "), "{ring}");
    assert!(ring.ends_with("...}") && ring.contains("[199] = "), "{ring}");
}
