// Rust values and calls: floats, structs, enums, Vec, Option, closures.

#[derive(Debug, Clone, Copy)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug)]
enum Shape {
    Circle(f64),
    Rect { w: u32, h: u32 },
    Empty,
}

#[inline(never)]
fn area(s: &Shape) -> f64 {
    match s {
        Shape::Circle(r) => 3.14 * r * r,
        Shape::Rect { w, h } => (w * h) as f64,
        Shape::Empty => 0.0,
    }
}

#[inline(never)]
fn scale(p: Point, k: i32) -> Point {
    Point { x: p.x * k, y: p.y * k }
}

#[inline(never)]
fn mean(v: &[f64]) -> f64 {
    let sum: f64 = v.iter().sum();
    sum / v.len() as f64
}

#[inline(never)]
fn first_even(v: &[i64]) -> Option<i64> {
    v.iter().copied().find(|x| x % 2 == 0)
}

fn main() {
    let shapes = vec![Shape::Circle(1.5), Shape::Rect { w: 2, h: 3 }, Shape::Empty];
    let mut total = 0.0;
    for s in &shapes {
        total += area(s);
    }
    let p = scale(std::hint::black_box(Point { x: 1, y: -2 }), 3);
    let m = mean(std::hint::black_box(&[1.5, 2.25, 4.0]));
    let e = first_even(std::hint::black_box(&[3, 5, 8, 9]));
    let name = String::from("parity");
    std::hint::black_box((total, p, m, e, &name));
}
