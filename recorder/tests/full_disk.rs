//! Writing a trace to a disk that fills up: the writer says the disk is
//! full, keeps every whole frame that reached the disk, and ends the file
//! with a trailer that says why, so the trace reads as stopped there, not
//! as damaged and not as the leftovers of a killed recorder.
//!
//! The disk is a small tmpfs mounted in the test's own temporary directory
//! (which needs root) and unmounted when the test ends, however it ends.

use std::path::{Path, PathBuf};
use std::process::Command;

use recorder::trace::{
    self, CpuIdentity, Event, ExecEvent, FileHash, Header, MemWrite, Next, Registers, SyscallEvent, TraceError,
    TraceReader, TraceWriter,
};
use recorder::RemoteAddr;

/// A tmpfs of `size` mounted at a new directory in `parent`, unmounted on
/// drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(parent: &Path, size: &str) -> Tmpfs {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test fills a small tmpfs that it mounts, which needs root"
        );
        let at = parent.join("small-disk");
        std::fs::create_dir(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&at)
            .status()
            .expect("mount runs");
        assert!(status.success(), "cannot mount a tmpfs at {}", at.display());
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Busy (a file still open): detach it now, the kernel frees it later.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn header() -> Header {
    Header {
        rback_version: "test".into(),
        program: "/p".into(),
        argv: vec!["/p".into()],
        cwd: "/".into(),
        start_time: 1,
        cpu: CpuIdentity {
            vendor: "GenuineTest".into(),
            leaves: vec![],
        },
    }
}

fn exec() -> Event {
    Event::Exec(Box::new(ExecEvent {
        exe_path: "/p".into(),
        exe: FileHash("0".repeat(64)),
        interp: None,
        argv: vec!["/p".into()],
        stack: MemWrite {
            addr: RemoteAddr(0x7fff_0000),
            bytes: vec![0; 64].into(),
        },
        regs: Registers([0; 27]),
        pid: 1,
        image: None,
    }))
}

/// A `read` that got `n` bytes.
fn read_of(n: usize, seed: u8) -> Event {
    Event::Syscall(Box::new(SyscallEvent {
        nr: 0,
        args: [3, 0x1000, n as u64, 0, 0, 0],
        result: n as i64,
        writes: vec![MemWrite {
            addr: RemoteAddr(0x1000),
            bytes: (0..n)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<u8>>()
                .into(),
        }],
        output: None,
        mapped_file: None,
        memory: vec![],
        buffered: false,
        opened_file: None,
    }))
}

/// The trace in `dir` read to its end: its events, and the trailer's
/// `stopped` if it has a trailer.
fn read_back(dir: &Path) -> (u64, Option<Option<String>>) {
    let mut r = TraceReader::open(dir).unwrap_or_else(|e| panic!("{e}"));
    let mut events = 0;
    loop {
        match r
            .next_item()
            .unwrap_or_else(|e| panic!("the trace reads as damaged: {e}"))
        {
            Next::Event(_) => events += 1,
            Next::End(t) => {
                assert_eq!(t.events, events);
                return (events, Some(t.stopped));
            }
            Next::EndsEarly => return (events, None),
        }
    }
}

#[test]
fn a_full_disk_stops_the_trace_with_a_trailer_that_says_so() {
    let scratch = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(scratch.path(), "256k");
    let dir = disk.0.join("trace");
    std::fs::create_dir(&dir).unwrap();

    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    w.write_event(&exec()).unwrap();
    let mut failure = None;
    for i in 0..200u8 {
        let event = read_of(10_000 + usize::from(i) * 37, i);
        // Flush each one, as the writer does every 100 ms.
        match w.write_event(&event).and_then(|_| w.flush()) {
            Ok(()) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("256 KiB fill up");
    assert!(matches!(failure, TraceError::NoSpace { .. }), "{failure:?}");
    let text = failure.to_string();
    assert!(
        text.contains("the disk is full") && text.contains("No space left on device"),
        "{text}"
    );
    // Nothing more goes into the file after a failure.
    let again = w.write_event(&read_of(10, 0)).unwrap_err().to_string();
    assert_eq!(again, text);
    let kept = w.events_written().0;
    assert!(kept > 10, "{kept}");

    // The recorder finishes with the failure as the reason it stopped. The
    // trailer fits after the last whole frame, or (when that frame filled
    // the last block) takes the place of the last event or two.
    w.finish(Some(text.clone())).expect("the trailer fits");
    let (events, trailer) = read_back(&dir);
    assert!(events <= kept && events + 2 >= kept, "{events} of {kept}");
    assert_eq!(trailer, Some(Some(text)));
    let c = trace::check(&dir, |_| {}).unwrap();
    assert!(c.is_sound(), "{c:?}");
}

/// The disk fills up at the very end, while the trailer is written: the
/// writer says so, and what it leaves reads as whole frames, never damage.
#[test]
fn a_disk_that_fills_at_the_trailer_leaves_whole_frames() {
    let scratch = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(scratch.path(), "256k");
    let dir = disk.0.join("trace");
    std::fs::create_dir(&dir).unwrap();

    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    w.write_event(&exec()).unwrap();
    for i in 0..5 {
        w.write_event(&read_of(1000, i)).unwrap();
    }
    w.flush().unwrap();
    // Fill what is left of the disk with another file.
    let mut filler = std::fs::File::create(disk.0.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);
    // Events that stay in the buffer until the trailer's flush (the flush
    // after 100 ms may come first on a slow machine: then it fails).
    let mut stopped = None;
    for i in 0..5 {
        if let Err(e) = w.write_event(&read_of(4000, i)) {
            stopped = Some(e.to_string());
            break;
        }
    }
    let result = w.finish(stopped.clone());
    match (&stopped, result) {
        (None, Err(e)) => assert!(e.to_string().contains("the disk is full"), "{e}"),
        (Some(_), Ok(())) => {}
        (Some(_), Err(e)) => assert!(e.to_string().contains("the disk is full"), "{e}"),
        (None, Ok(())) => panic!("a trailer after 20 KB on a full disk cannot have been written"),
    }
    let (events, trailer) = read_back(&dir);
    assert!((6..=11).contains(&events), "{events}");
    if let Some(stopped) = trailer {
        assert!(stopped.unwrap().contains("the disk is full"));
    }
}
