// Recurses three levels deep, says "ready", then spins until killed: the
// tests stop it there and unwind. Markers in comments name lines.
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static SPIN: AtomicBool = AtomicBool::new(true);

#[inline(never)]
fn deep(n: u32) -> u32 {
    if n > 0 { // @rs_deep_first
        return deep(n - 1) + 1; // @rs_deep_call
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    while SPIN.load(Ordering::Relaxed) {} // @rs_deep_spin
    0
}

fn main() {
    let r = deep(3); // @rs_main_call
    std::process::exit(r as i32);
}
