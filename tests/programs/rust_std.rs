//! A Rust tracee using std: reads a file, prints the wall clock and a
//! HashMap's (randomly seeded) iteration order, writes to stderr, exits 7.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let path = std::env::args().nth(1).expect("usage: rust_std FILE");
    let text = std::fs::read_to_string(&path).expect("cannot read the file");
    print!("file: {text}");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    println!("now: {}.{:09}", now.as_secs(), now.subsec_nanos());
    let map: HashMap<u32, u32> = (0..16).map(|i| (i, i * i)).collect();
    let order: Vec<String> = map.keys().map(|k| k.to_string()).collect();
    println!("hashmap order: {}", order.join(" "));
    eprintln!("rust_std: exiting with 7");
    std::process::exit(7);
}
