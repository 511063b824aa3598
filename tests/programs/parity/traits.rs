// Rust values behind pointers: trait objects, Box, Rc, closures, tuples.
use std::rc::Rc;

trait Speak {
    fn speak(&self) -> u32;
}

struct Dog {
    barks: u32,
}

impl Speak for Dog {
    #[inline(never)]
    fn speak(&self) -> u32 {
        self.barks * 2
    }
}

#[inline(never)]
fn loudness(s: &dyn Speak) -> u32 {
    s.speak() + 1
}

#[inline(never)]
fn pair(a: i32, b: bool) -> (i32, bool) {
    (a + 1, !b)
}

fn main() {
    let boxed: Box<Dog> = Box::new(Dog { barks: 3 });
    let shared = Rc::new(Dog { barks: 5 });
    let also = Rc::clone(&shared);
    let add = |x: u32| x + boxed.barks;
    let t = pair(41, false);
    let l = loudness(&*boxed) + loudness(&*also);
    let total = add(l);
    std::hint::black_box((t, total, &shared));
}
