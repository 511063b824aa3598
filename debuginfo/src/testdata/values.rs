// Values of Rust types for the value tests: `probe` says "ready", then
// spins until killed, and the tests read its frame.
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static SPIN: AtomicBool = AtomicBool::new(true);
static mut COUNTER: u32 = 7;

#[derive(Debug, Clone, Copy)]
pub struct Point {
    x: i32,
    y: i32,
}

pub struct Pair(i32, f64);

#[derive(Clone, Copy)]
pub enum Shape {
    Circle(f64),
    Rect { w: u32, h: u32 },
    Empty,
}

#[derive(Clone, Copy)]
pub enum Color {
    Red,
    Green,
}

#[inline(never)]
fn probe(n: i32, p: &Point, shapes: &[Shape]) -> i32 {
    let some: Option<i32> = Some(5);
    let none: Option<i32> = None;
    let boxed = Box::new(Point { x: 3, y: 4 });
    let tuple = (1u8, -2i64, true);
    let pair = Pair(9, 2.5);
    let arr = [1u16, 2, 3];
    let color = Color::Green;
    let circle = Shape::Circle(1.5);
    let rect = Shape::Rect { w: 2, h: 3 };
    let empty = Shape::Empty;
    let ch = 'x';
    let s = "hi";
    let string = String::from("owned");
    let v = vec![10, 20, 30];
    let r = &n;
    let opt_ref: Option<&Point> = Some(p);
    let opt_none: Option<&Point> = None;
    let res: Result<i32, u8> = Err(3);
    let nested: Option<Option<u8>> = Some(None);
    let bytes = [1u8, 2, 3];
    let big: i128 = -5;
    let strs = ["a", "bc"];
    let zeros = [0u32; 12];
    println!("ready");
    std::io::stdout().flush().unwrap();
    while SPIN.load(Ordering::Relaxed) { // @rprobe_spin
    }
    let total = some.unwrap_or(0) + none.unwrap_or(0) + boxed.x + tuple.0 as i32 + pair.0 + arr[0] as i32;
    let extra = matches!(color, Color::Green) as i32 + matches!(circle, Shape::Circle(_)) as i32;
    let extra2 = matches!(rect, Shape::Rect { .. }) as i32 + matches!(empty, Shape::Empty) as i32;
    let extra3 = opt_ref.map_or(0, |p| p.x) + opt_none.map_or(0, |p| p.y) + res.unwrap_or(0) + nested.flatten().unwrap_or(0) as i32;
    let extra4 = bytes[0] as i32 + big as i32 + strs[1].len() as i32 + zeros[3] as i32;
    extra3 + extra4 + total + extra + extra2 + ch as i32 + s.len() as i32 + string.len() as i32 + v.len() as i32 + *r + p.x + shapes.len() as i32 + pair.1 as i32 + tuple.1 as i32 + tuple.2 as i32
}

fn main() {
    let p = Point { x: 1, y: 2 };
    let shapes = [Shape::Empty, Shape::Circle(2.0)];
    let r = probe(5, &p, &shapes);
    unsafe { COUNTER += r as u32 };
    std::process::exit(if unsafe { COUNTER } > 0 { 0 } else { 1 });
}
