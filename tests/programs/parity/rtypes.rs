// Rust types as ptype and whatis show them: structs, tuple structs, unit
// structs, enums (C-like and with data), tuples, slices, arrays,
// references, raw pointers, generics.
#![allow(dead_code)]

#[derive(Debug, Clone, Copy)]
pub struct Point {
    x: i32,
    y: f64,
}

pub struct Wrapper(u8, Point);

pub struct Unit;

#[derive(Clone, Copy)]
pub enum Color {
    Red,
    Green = 5,
    Blue,
}

pub enum Shape {
    Circle(f64),
    Rect { w: u32, h: u32 },
    Empty,
}

pub struct Pair<T> {
    a: T,
    b: T,
}

mod inner {
    pub struct Deep {
        pub v: Vec<i32>,
    }
}

#[inline(never)]
fn use_all(p: &Point, s: &[i32], t: (i32, char, bool), sh: &Shape, w: &Wrapper, c: Color, pr: &Pair<u16>, d: &inner::Deep, arr: [u8; 3], raw: *const Point, m: &mut i64, u: Unit, st: &str, o: Option<i32>) -> i64 {
    let r = p.x as i64 + s.len() as i64 + t.0 as i64 + w.0 as i64 + c as i64 + pr.a as i64 + d.v.len() as i64 + arr[0] as i64 + raw as i64 % 2 + *m + st.len() as i64 + o.unwrap_or(0) as i64;
    let _ = (sh, u);
    r
}

fn main() {
    let p = Point { x: 1, y: 2.5 };
    let v = vec![1, 2, 3];
    let sh = Shape::Rect { w: 3, h: 4 };
    let w = Wrapper(7, p);
    let pr = Pair { a: 1u16, b: 2 };
    let d = inner::Deep { v: vec![4] };
    let mut m = 9i64;
    let total = use_all(&p, &v[..], (5, 'x', true), &sh, &w, Color::Green, &pr, &d, [1, 2, 3], &p, &mut m, Unit, "hi", Some(3));
    println!("{total}");
}
