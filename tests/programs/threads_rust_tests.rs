// A Rust test binary (built with `rustc --test`): its harness runs the tests
// on threads of its own.
#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    #[test]
    fn adds() {
        assert_eq!(2 + 2, 4);
    }

    #[test]
    fn reads_the_clock() {
        assert!(SystemTime::now() > SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn spawns_a_thread_of_its_own() {
        let h = std::thread::spawn(|| (1..=10).sum::<u32>());
        assert_eq!(h.join().unwrap(), 55);
    }

    #[test]
    fn sorts() {
        let mut v = vec![3, 1, 2];
        v.sort();
        assert_eq!(v, [1, 2, 3]);
    }
}
