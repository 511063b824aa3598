// Rust threads and channels: workers send results through an mpsc channel,
// and a shared Mutex<Vec> records the order in which they got the lock.
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    let (tx, rx) = mpsc::channel();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for id in 0..4u64 {
        let tx = tx.clone();
        let order = Arc::clone(&order);
        handles.push(thread::spawn(move || {
            let mut acc = id;
            for round in 0..50u64 {
                acc = acc.wrapping_mul(6364136223846793005).wrapping_add(round);
                if round % 10 == 0 {
                    thread::sleep(Duration::from_micros(300));
                    order.lock().unwrap().push(id);
                }
            }
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
            tx.send((id, acc, nanos)).unwrap();
        }));
    }
    drop(tx);
    let mut results: Vec<(u64, u64, u32)> = rx.iter().collect();
    for h in handles {
        h.join().unwrap();
    }
    let arrival: Vec<u64> = results.iter().map(|r| r.0).collect();
    results.sort();
    println!("arrival order {arrival:?}");
    for (id, acc, nanos) in &results {
        println!("worker {id}: {acc:x} at {nanos}");
    }
    println!("lock order {:?}", order.lock().unwrap());
}
