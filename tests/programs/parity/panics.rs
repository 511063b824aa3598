// A panic from `unwrap` in the user's own function, caught so that the
// program ends normally.

fn parse_port(text: &str) -> u16 {
    let n: u16 = text.parse().unwrap();
    n + 1
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let ok = parse_port("8080");
    let caught = std::panic::catch_unwind(|| parse_port("eighty"));
    std::hint::black_box((ok, caught.is_err()));
}
