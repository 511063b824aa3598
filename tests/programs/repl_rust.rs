// The REPL tests' Rust tracee: recursion to break in and step out of.
#[inline(never)]
fn deep(n: u64) -> u64 {
    if n == 0 {
        return 7;
    }
    deep(n - 1) + 1
}

fn main() {
    let v = deep(3);
    println!("v={v}");
}
