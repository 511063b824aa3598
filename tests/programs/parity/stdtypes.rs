// Rust's std types, which stock gdb prints as raw structs: it does not
// load the toolchain's pretty printers named in .debug_gdb_scripts.
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

fn main() {
    let v: Vec<i32> = vec![1, 2, 3];
    let s = String::from("hello");
    let st: &str = "world";
    let some: Option<i32> = Some(5);
    let nothing: Option<i32> = None;
    let b = Box::new(7i64);
    let rc = Rc::new(9u8);
    let rc2 = Rc::clone(&rc);
    // A fixed hasher: the default one's keys are random in each run.
    let mut hm: HashMap<u32, u32, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    hm.insert(1, 10);
    let ok: Result<i32, String> = Ok(3);
    let err: Result<i32, String> = Err(String::from("bad"));
    let total = v.len()
        + s.len()
        + st.len()
        + some.unwrap_or(0) as usize
        + nothing.unwrap_or(0) as usize
        + *b as usize
        + *rc as usize
        + Rc::strong_count(&rc2)
        + hm.len()
        + ok.clone().unwrap_or(0) as usize
        + err.clone().err().map_or(0, |e| e.len());
    println!("{total}");
}
