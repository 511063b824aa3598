// More Rust types for ptype and whatis: a recursive generic enum, a union,
// function pointers and function names, nested tuples and arrays, unit.
#![allow(dead_code)]
pub enum Tree<T> { Leaf(T), Node(Box<Tree<T>>, Box<Tree<T>>), Nil }
pub union Bits { i: u32, f: f32 }
pub struct Wrap<'a> { r: &'a [u8], o: Option<&'a u8>, f: fn(i32) -> i32, t: (u8, (u16, u32)), a: [[u8; 2]; 3], u: () }
fn id(x: i32) -> i32 { x }
#[inline(never)]
fn look(t: &Tree<u8>, b: Bits, w: &Wrap) -> usize { std::hint::black_box((t, unsafe { b.i }, w)); 1 }
fn main() {
    let t = Tree::Node(Box::new(Tree::Leaf(1u8)), Box::new(Tree::Nil));
    let data = [1u8, 2];
    let w = Wrap { r: &data, o: Some(&data[0]), f: id, t: (1, (2, 3)), a: [[0; 2]; 3], u: () };
    println!("{}", look(&t, Bits { i: 3 }, &w));
}
