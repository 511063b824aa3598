//! Packet-level tests of the protocol layer: raw gdb packets in, raw
//! replies out, against a fake timeline with no process behind it.
//!
//! The fake "program" is a straight line of instructions 4 bytes apart from
//! `CODE`; position i has rip = CODE + 4 * i. The instruction at position
//! `WRITER` writes `DATA`. Memory is one page at `DATA`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gdbstub_server::{
    serve, BackendError, Direction, Ended, InterruptHook, MonitorReply, Motion, Stop, TimeTravel, WatchKind, X86_64Regs,
};

const CODE: u64 = 0x40_1000;
const DATA: u64 = 0x60_0000;
const LAST: u64 = 20;
const WRITER: u64 = 12;

struct Fake {
    pos: u64,
    breakpoints: BTreeSet<u64>,
    watch: Option<(u64, u64, WatchKind)>,
    memory: Vec<u8>,
    scratch_regs: Option<X86_64Regs>,
    warning: Option<String>,
    /// Set while a continue runs forever, waiting for an interrupt.
    endless: bool,
    running: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
    exe: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            pos: 0,
            breakpoints: BTreeSet::new(),
            watch: None,
            memory: (0..4096u32).map(|i| i as u8).collect(),
            scratch_regs: None,
            warning: None,
            endless: false,
            running: Arc::new(AtomicBool::new(false)),
            interrupted: Arc::new(AtomicBool::new(false)),
            exe: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
        }
    }

    fn rip(&self) -> u64 {
        CODE + 4 * self.pos
    }

    fn watched(&self, pos: u64) -> Option<Stop> {
        let (addr, len, kind) = self.watch?;
        (pos == WRITER && kind != WatchKind::Read && addr <= DATA && DATA < addr + len)
            .then_some(Stop::Watchpoint { addr, kind })
    }

    fn moved(&mut self) {
        if self.scratch_regs.take().is_some() {
            self.warning = Some("register changes thrown away".into());
        }
    }
}

impl TimeTravel for Fake {
    fn resume(&mut self, dir: Direction, motion: Motion) -> Result<Stop, BackendError> {
        self.moved();
        if self.endless && dir == Direction::Forward {
            self.running.store(true, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(20);
            while !self.interrupted.swap(false, Ordering::SeqCst) {
                if Instant::now() > deadline {
                    return Err(BackendError::new("never interrupted"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            return Ok(Stop::Interrupted);
        }
        match (dir, motion) {
            (Direction::Forward, Motion::Step) if self.pos == LAST => Ok(Stop::EndOfRecording),
            (Direction::Forward, Motion::Step) => {
                self.pos += 1;
                Ok(Stop::Stepped)
            }
            (Direction::Backward, Motion::Step) if self.pos == 0 => Ok(Stop::StartOfRecording),
            (Direction::Backward, Motion::Step) => {
                self.pos -= 1;
                Ok(Stop::Stepped)
            }
            (Direction::Forward, Motion::Continue) => loop {
                if self.pos == LAST {
                    return Ok(Stop::EndOfRecording);
                }
                // Forward, a write is reported just after it.
                let w = self.watched(self.pos);
                self.pos += 1;
                if let Some(stop) = w {
                    return Ok(stop);
                }
                if self.breakpoints.contains(&self.rip()) {
                    return Ok(Stop::Breakpoint(self.rip()));
                }
            },
            (Direction::Backward, Motion::Continue) => loop {
                if self.pos == 0 {
                    return Ok(Stop::StartOfRecording);
                }
                self.pos -= 1;
                // Backward, it is reported just before it.
                if let Some(stop) = self.watched(self.pos) {
                    return Ok(stop);
                }
                if self.breakpoints.contains(&self.rip()) {
                    return Ok(Stop::Breakpoint(self.rip()));
                }
            },
        }
    }

    fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    fn has_avx(&self) -> bool {
        true
    }

    fn read_registers(&mut self) -> Result<X86_64Regs, BackendError> {
        if let Some(r) = &self.scratch_regs {
            return Ok(r.clone());
        }
        let mut r = X86_64Regs::default();
        r.core.rip = self.rip();
        r.core.rax = self.pos;
        r.core.orig_rax = u64::MAX;
        r.ymm_high = Some(vec![0x5a; 256]);
        Ok(r)
    }

    fn write_registers(&mut self, regs: &X86_64Regs) -> Result<(), BackendError> {
        self.scratch_regs = Some(regs.clone());
        Ok(())
    }

    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<usize, BackendError> {
        let Some(off) = addr.checked_sub(DATA).filter(|o| *o < 4096) else {
            return Ok(0);
        };
        let n = buf.len().min(4096 - off as usize);
        buf[..n].copy_from_slice(&self.memory[off as usize..off as usize + n]);
        Ok(n)
    }

    fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<(), BackendError> {
        let off = addr
            .checked_sub(DATA)
            .filter(|o| o + data.len() as u64 <= 4096)
            .ok_or_else(|| BackendError::new("not mapped"))?;
        self.memory[off as usize..off as usize + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn set_breakpoint(&mut self, addr: u64) -> Result<(), BackendError> {
        self.breakpoints.insert(addr);
        Ok(())
    }

    fn remove_breakpoint(&mut self, addr: u64) -> Result<(), BackendError> {
        self.breakpoints.remove(&addr);
        Ok(())
    }

    fn set_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<bool, BackendError> {
        if self.watch.is_some() {
            return Ok(false);
        }
        self.watch = Some((addr, len, kind));
        Ok(true)
    }

    fn remove_watchpoint(&mut self, _addr: u64, _len: u64, _kind: WatchKind) -> Result<(), BackendError> {
        self.watch = None;
        Ok(())
    }

    fn pid(&self) -> u32 {
        4242
    }

    fn auxv(&mut self) -> Result<Vec<u8>, BackendError> {
        // AT_ENTRY, then AT_NULL.
        let mut v = Vec::new();
        for x in [9u64, CODE, 0, 0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        Ok(v)
    }

    fn exec_file(&mut self) -> Result<PathBuf, BackendError> {
        Ok(self.exe.clone())
    }

    fn open_file(&mut self, path: &str) -> Result<Option<File>, BackendError> {
        if path == "/recorded/prog" {
            return File::open(&self.exe)
                .map(Some)
                .map_err(|e| BackendError::new(e.to_string()));
        }
        Ok(None)
    }

    fn monitor(&mut self, cmd: &str) -> Result<MonitorReply, BackendError> {
        match cmd.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["when"] => Ok(MonitorReply {
                text: format!("position {}\n", self.pos),
                moved: false,
            }),
            ["goto", n] => {
                self.pos = n.parse().map_err(|_| BackendError::new(format!("bad position {n}")))?;
                Ok(MonitorReply {
                    text: String::new(),
                    moved: true,
                })
            }
            _ => Err(BackendError::new(format!("unknown command `{cmd}`"))),
        }
    }

    fn restart(&mut self) -> Result<(), BackendError> {
        self.pos = 0;
        Ok(())
    }

    fn siginfo(&mut self) -> Result<Option<Vec<u8>>, BackendError> {
        // Only at the "crash", the last position; bytes that need escaping.
        Ok((self.pos == LAST).then(|| vec![11, 0, 0, 0, b'#', b'$', b'}', b'*']))
    }

    fn tls_address(&mut self, link_map: u64, offset: u64) -> Result<Option<u64>, BackendError> {
        match link_map {
            0x7000 => Ok(Some(0x7fff_0000 - 0x40 + offset)),
            _ => Err(BackendError::new("no such module")),
        }
    }

    fn interrupter(&mut self) -> Option<InterruptHook> {
        let flag = self.interrupted.clone();
        Some(Arc::new(move || flag.store(true, Ordering::SeqCst)))
    }
}

// ---------------------------------------------------------------------------
// The wire

fn packet(payload: &str) -> Vec<u8> {
    let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("${payload}#{sum:02x}").into_bytes()
}

fn hex(s: &[u8]) -> String {
    s.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Every packet's payload in `wire`, checksums verified; acks dropped.
fn replies(wire: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(wire).into_owned();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find('$') {
        let end = start + rest[start..].find('#').expect("a packet ends with #");
        let payload = &rest[start + 1..end];
        let sum = u8::from_str_radix(&rest[end + 1..end + 3], 16).unwrap();
        assert_eq!(
            sum,
            payload.bytes().fold(0u8, |a, b| a.wrapping_add(b)),
            "bad checksum on {payload}"
        );
        out.push(run_length_decoded(payload));
        rest = &rest[end + 3..];
    }
    out
}

/// Undoes gdb's run-length encoding: `X*c` is X followed by c - 29 more.
fn run_length_decoded(payload: &str) -> String {
    let b = payload.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'*' && i + 1 < b.len() {
            let last = out.chars().last().expect("a run repeats something");
            for _ in 0..(b[i + 1] - 29) {
                out.push(last);
            }
            i += 2;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends `payloads` (after switching acks off) and returns the replies to
/// them, in order, with how the session ended.
fn session(fake: &mut Fake, payloads: &[&str]) -> (Vec<String>, Ended) {
    let mut input = packet("QStartNoAckMode");
    input.insert(0, b'+');
    for p in payloads {
        input.extend(packet(p));
    }
    let sink = Sink::default();
    let ended = serve(std::io::Cursor::new(input), sink.clone(), fake).expect("the session fails");
    let wire = sink.0.lock().unwrap().clone();
    let mut r = replies(&wire);
    assert_eq!(r.remove(0), "OK", "QStartNoAckMode");
    (r, ended)
}

/// A host I/O reply `Fresult[,errno][;data]` as (result, errno or data),
/// numbers in hex without leading zeros.
fn host_io(reply: &str) -> (i64, &str) {
    let body = reply
        .strip_prefix('F')
        .unwrap_or_else(|| panic!("not a host I/O reply: {reply}"));
    let (num, rest) = body.split_at(body.find([',', ';']).unwrap_or(body.len()));
    let result = match num.strip_prefix('-') {
        Some(n) => -i64::from_str_radix(n, 16).unwrap(),
        None => i64::from_str_radix(num, 16).unwrap(),
    };
    let rest = rest.get(1..).unwrap_or("");
    let rest = if result < 0 { rest.trim_start_matches('0') } else { rest };
    (result, rest)
}

fn rip_of(g: &str) -> u64 {
    u64::from_le_bytes(unhex(&g[16 * 16..17 * 16]).try_into().unwrap())
}

// ---------------------------------------------------------------------------

#[test]
fn advertises_reverse_execution_and_the_features_gdb_needs() {
    let (r, ended) = session(
        &mut Fake::new(),
        &["qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"],
    );
    for feature in [
        "ReverseStep+",
        "ReverseContinue+",
        "qXfer:features:read+",
        "qXfer:auxv:read+",
        "qXfer:exec-file:read+",
        "swbreak+",
        "hwbreak+",
        "qXfer:siginfo:read+",
    ] {
        assert!(r[0].contains(feature), "qSupported lacks {feature}: {}", r[0]);
    }
    assert_eq!(ended, Ended::ConnectionClosed);
}

#[test]
fn registers_follow_the_described_layout() {
    let (r, _) = session(
        &mut Fake::new(),
        &[
            "qXfer:features:read:target.xml:0,800",
            "qXfer:features:read:target.xml:800,800",
            "qXfer:features:read:target.xml:1000,800",
            "qXfer:features:read:target.xml:1800,800",
            "qXfer:features:read:target.xml:2000,800",
            "qXfer:features:read:target.xml:2800,800",
            "?",
            "g",
        ],
    );
    let last = r.iter().position(|p| p.starts_with('l')).expect("the description ends");
    let xml: String = r[..=last].iter().map(|p| &p[1..]).collect();
    let r = &r[r.len() - 3..];
    assert!(xml.ends_with("</target>\n"), "{xml}");
    for reg in [
        "orig_rax",
        "fs_base",
        "gs_base",
        "ymm15h",
        "mxcsr",
        "st7",
        "i386:x86-64",
    ] {
        assert!(xml.contains(reg), "target.xml lacks {reg}");
    }
    assert!(
        r[1].starts_with('T') || r[1].starts_with('S'),
        "stop reply to ?: {}",
        r[1]
    );
    assert_eq!(r[2].len(), 2 * X86_64Regs::packet_len(true), "g packet length");
    assert_eq!(rip_of(&r[2]), CODE);
    assert!(r[2].ends_with(&"5a".repeat(256)), "ymm upper halves come last");
}

#[test]
fn breakpoints_and_steps_in_both_directions() {
    let mut fake = Fake::new();
    let bp = CODE + 4 * 7;
    let (r, _) = session(
        &mut fake,
        &[
            &format!("Z0,{bp:x},1"),
            "vCont;c",
            "g",
            "vCont;s:1",
            "g",
            "bs",
            "bs",
            "g",
            "bc",
            "bc",
            &format!("z0,{bp:x},1"),
            "vCont;c",
            "bs",
            "g",
        ],
    );
    assert_eq!(r[0], "OK");
    assert!(
        r[1].starts_with("T05") && r[1].contains("swbreak:"),
        "continue to a breakpoint: {}",
        r[1]
    );
    assert_eq!(rip_of(&r[2]), bp);
    assert!(r[3].starts_with("T05") || r[3].starts_with("S05"), "step: {}", r[3]);
    assert_eq!(rip_of(&r[4]), bp + 4);
    assert!(!r[5].contains("replaylog"), "a reverse step: {}", r[5]);
    assert_eq!(rip_of(&r[7]), bp - 4);
    // Backward from before the breakpoint: nothing until the start.
    assert!(
        r[8].contains("replaylog:begin"),
        "reverse-continue to the start: {}",
        r[8]
    );
    assert!(r[9].contains("replaylog:begin"), "and again: {}", r[9]);
    assert_eq!(r[10], "OK");
    assert!(r[11].contains("replaylog:end"), "continue to the end: {}", r[11]);
    assert!(!r[12].contains("replaylog"), "a reverse step from the end: {}", r[12]);
    assert_eq!(rip_of(&r[13]), CODE + 4 * (LAST - 1));
    assert_eq!(fake.pos, LAST - 1);
}

#[test]
fn a_reverse_watchpoint_stops_before_the_write() {
    let mut fake = Fake::new();
    let (r, _) = session(
        &mut fake,
        &[
            &format!("Z2,{DATA:x},4"),
            "vCont;c",
            "g",
            "vCont;c",
            "bc",
            "g",
            &format!("Z3,{:x},8", DATA + 64),
        ],
    );
    assert_eq!(r[0], "OK");
    assert!(r[1].contains(&format!("watch:{DATA:x}")), "forward: {}", r[1]);
    assert_eq!(
        rip_of(&r[2]),
        CODE + 4 * (WRITER + 1),
        "forward stops just after the write"
    );
    assert!(r[3].contains("replaylog:end"), "{}", r[3]);
    assert!(r[4].contains(&format!("watch:{DATA:x}")), "backward: {}", r[4]);
    assert_eq!(rip_of(&r[5]), CODE + 4 * WRITER, "backward stops just before the write");
    // A second watchpoint has no slot: gdb must hear an error, not OK.
    assert!(r[6].starts_with('E'), "no slot left: {}", r[6]);
}

#[test]
fn memory_and_register_writes_reach_the_backend_and_warn_on_moving() {
    let mut fake = Fake::new();
    let mut regs_hex = {
        let (r, _) = session(&mut Fake::new(), &["g"]);
        r[0].clone()
    };
    regs_hex.replace_range(0..16, "efbeadde00000000");
    let (r, _) = session(
        &mut fake,
        &[
            &format!("m{DATA:x},4"),
            &format!("M{DATA:x},2:abcd"),
            &format!("m{DATA:x},4"),
            "m10,4",
            &format!("G{regs_hex}"),
            "g",
            "vCont;s:1",
        ],
    );
    assert_eq!(r[0], "00010203");
    assert_eq!(r[1], "OK");
    assert_eq!(r[2], "abcd0203");
    assert!(r[3].starts_with('E'), "unmapped memory is an error: {}", r[3]);
    assert_eq!(r[4], "OK");
    assert!(r[5].starts_with("efbeadde00000000"), "the scratch rax: {}", &r[5][..16]);
    // The warning comes as console output before the stop reply.
    let warning = r[6].strip_prefix('O').expect("an O packet before the stop");
    assert_eq!(
        String::from_utf8(unhex(warning)).unwrap(),
        "rback: register changes thrown away\n"
    );
    assert!(r[7].starts_with('T') || r[7].starts_with('S'), "{}", r[7]);
}

#[test]
fn exec_file_auxv_and_host_files() {
    let mut fake = Fake::new();
    let (r, _) = session(
        &mut fake,
        &[
            "qXfer:exec-file:read::0,fff",
            "qXfer:auxv:read::0,fff",
            &format!("vFile:open:{},0,0", hex(b"/recorded/prog")),
            "vFile:pread:3,9,0",
            "vFile:close:3",
            &format!("vFile:open:{},0,0", hex(b"/no/such/file")),
            &format!("vFile:open:{},1,0", hex(b"/recorded/prog")),
        ],
    );
    assert_eq!(r[0][1..], fake.exe.display().to_string());
    assert!(r[1].starts_with('l') || r[1].starts_with('m'));
    assert_eq!(host_io(&r[2]), (3, ""));
    assert_eq!(
        host_io(&r[3]),
        (9, "[package]"),
        "host I/O reads the file gdb asked for"
    );
    assert_eq!(host_io(&r[4]), (0, ""));
    assert_eq!(host_io(&r[5]), (-1, "2"), "ENOENT");
    assert_eq!(host_io(&r[6]), (-1, "d"), "writing is refused (EACCES)");
}

#[test]
fn monitor_commands_and_detach() {
    let mut fake = Fake::new();
    let (r, ended) = session(
        &mut fake,
        &[
            &format!("qRcmd,{}", hex(b"when")),
            &format!("qRcmd,{}", hex(b"goto 9")),
            "g",
            &format!("qRcmd,{}", hex(b"fly away")),
            "D",
        ],
    );
    let text = |p: &str| String::from_utf8(unhex(p.strip_prefix('O').expect("console output"))).unwrap();
    assert_eq!(text(&r[0]), "position 0\n");
    assert_eq!(r[1], "OK");
    assert_eq!(r[2], "OK");
    assert_eq!(
        rip_of(&r[3]),
        CODE + 36,
        "registers after `monitor goto` are the new ones"
    );
    assert_eq!(text(&r[4]), "rback: unknown command `fly away`\n");
    assert_eq!(r[5], "OK");
    assert_eq!(r[6], "OK", "detach");
    assert_eq!(ended, Ended::Detached);
}

#[test]
fn ctrl_c_interrupts_a_running_continue() {
    let mut fake = Fake::new();
    fake.endless = true;
    let running = fake.running.clone();
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut input = vec![b'+'];
    input.extend(packet("QStartNoAckMode"));
    input.extend(packet("vCont;c"));
    ours.write_all(&input).unwrap();
    let sink = Sink::default();
    let out = sink.clone();
    let server = std::thread::spawn(move || {
        let ended = serve(theirs, out, &mut fake);
        (ended.map_err(|e| e.to_string()), fake.pos)
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !running.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the continue never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    ours.write_all(&[0x03]).unwrap();
    // gdb reads the stop reply, then goes away.
    loop {
        let wire = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
        if wire.contains("$T02") || wire.contains("$S02") {
            break;
        }
        assert!(Instant::now() < deadline, "no stop reply after the interrupt: {wire}");
        std::thread::sleep(Duration::from_millis(1));
    }
    ours.write_all(&packet("D")).unwrap();
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    let (ended, _) = server.join().unwrap();
    assert_eq!(ended, Ok(Ended::Detached));
    let r = replies(&sink.0.lock().unwrap());
    assert!(
        r[1].starts_with("T02") || r[1].starts_with("S02"),
        "SIGINT stop: {}",
        r[1]
    );
}

/// gdb sends its interrupt whenever Ctrl-C is pressed while it thinks the
/// program runs, which includes the moment between a stop and the resume
/// it makes at once (a breakpoint's ignore count, a `next`). One that
/// comes while nothing runs stops the next movement before it moves, as
/// gdbserver's SIGINT to a stopped inferior does; it used to be dropped,
/// and the program ran on.
#[test]
fn ctrl_c_between_movements_stops_the_next_one() {
    let mut fake = Fake::new();
    let mut input = vec![b'+'];
    input.extend(packet("QStartNoAckMode"));
    input.push(0x03);
    input.extend(packet("vCont;c"));
    input.extend(packet("vCont;s:1"));
    input.extend(packet("D"));
    let sink = Sink::default();
    let ended = serve(std::io::Cursor::new(input), sink.clone(), &mut fake).expect("the session fails");
    assert_eq!(ended, Ended::Detached);
    let r = replies(&sink.0.lock().unwrap());
    assert!(r[1].starts_with("T02"), "the continue stops at once with SIGINT: {r:?}");
    assert!(r[2].starts_with("T05"), "the step after it steps: {r:?}");
    assert_eq!(fake.pos, 1, "only the step moved");
}

#[test]
fn malformed_input_ends_the_session_with_a_clear_error() {
    let mut input = packet("vFile:pread:99,4,0");
    input.extend(packet("mzz,4"));
    let sink = Sink::default();
    let err = serve(std::io::Cursor::new(input), sink.clone(), &mut Fake::new())
        .expect_err("a malformed packet is a protocol error");
    let r = replies(&sink.0.lock().unwrap());
    assert_eq!(host_io(&r[0]), (-1, "9"), "EBADF for an unknown host file");
    let msg = err.to_string();
    assert!(msg.starts_with("gdb protocol:") && !msg.contains('\n'), "{msg}");
}

#[test]
fn siginfo_and_thread_local_addresses() {
    let mut fake = Fake::new();
    let (r, _) = session(
        &mut fake,
        &[
            "qXfer:siginfo:read::0,80",
            "vCont;c",
            "qXfer:siginfo:read::0,80",
            "qXfer:siginfo:read::4,2",
            "qGetTLSAddr:p1.1,10,7000",
            "qGetTLSAddr:p1.1,10,9999",
            "qGetTLSAddr:garbage",
            "g",
        ],
    );
    assert!(r[0].starts_with('E'), "no signal, no siginfo: {}", r[0]);
    assert!(r[1].contains("replaylog:end"), "{}", r[1]);
    assert_eq!(r[2], "l\u{b}\0\0\0}\u{3}}\u{4}}]}\n", "escaped binary, whole");
    assert_eq!(r[3], "m}\u{3}}\u{4}", "a window of it, more to come");
    assert_eq!(r[4], format!("{:x}", 0x7fff_0000u64 - 0x40 + 0x10));
    assert_eq!(r[5], "E01");
    assert_eq!(r[6], "E01");
    assert_eq!(
        rip_of(&r[7]),
        CODE + 4 * LAST,
        "gdbstub still in step after the link's own replies"
    );
}

#[test]
fn nags_from_a_waiting_gdb_do_not_end_the_session() {
    // gdb sends `-` while a slow reply is on its way, even in no-ack mode.
    let mut input = vec![b'+'];
    input.extend(packet("QStartNoAckMode"));
    input.extend(packet("qRcmd,7768656e"));
    input.extend(b"--");
    input.extend(packet("g"));
    let sink = Sink::default();
    let ended = serve(std::io::Cursor::new(input), sink.clone(), &mut Fake::new()).expect("the session fails");
    assert_eq!(ended, Ended::ConnectionClosed);
    let r = replies(&sink.0.lock().unwrap());
    assert_eq!(r.len(), 4, "OK, the monitor output and OK, the registers: {r:?}");
    assert_eq!(rip_of(&r[3]), CODE);
}

#[test]
fn kill_then_run_starts_the_recording_over() {
    let mut fake = Fake::new();
    let (r, ended) = session(&mut fake, &["vCont;s:1", "vCont;s:1", "vKill;1092", "vRun;", "g", "k"]);
    assert_eq!(r[2], "OK", "vKill ends the process only: {r:?}");
    assert!(
        r[3].starts_with('T') || r[3].starts_with('S'),
        "vRun stops at the start: {r:?}"
    );
    assert_eq!(rip_of(&r[4]), CODE);
    assert_eq!(ended, Ended::Killed, "a plain k ends the session");
}

/// Input that arrives in pieces, with read timeouts among them (a TCP
/// server sets a receive timeout on the socket), then ends.
struct Trickle(std::collections::VecDeque<Option<Vec<u8>>>);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.pop_front() {
            None => Ok(0),
            Some(None) => Err(std::io::ErrorKind::WouldBlock.into()),
            Some(Some(mut bytes)) => {
                let n = bytes.len().min(buf.len());
                if n < bytes.len() {
                    self.0.push_front(Some(bytes.split_off(n)));
                }
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
        }
    }
}

#[test]
fn a_read_timeout_between_packets_is_idleness_and_inside_one_ends_the_session() {
    let mut fake = Fake::new();
    let mut start = b"+".to_vec();
    start.extend(packet("QStartNoAckMode"));
    // Idle between packets: the session goes on and answers both.
    let idle = Trickle(
        [
            Some(start.clone()),
            None,
            None,
            Some(packet("m600000,4")),
            None,
            Some(packet("k")),
        ]
        .into_iter()
        .collect(),
    );
    let sink = Sink::default();
    let ended = serve(idle, sink.clone(), &mut fake).expect("the session fails");
    let wire = sink.0.lock().unwrap().clone();
    assert_eq!(
        replies(&wire)[..2],
        ["OK", "00010203"],
        "{}",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(ended, Ended::Killed);
    // Stalled halfway through a packet: the session ends there, and the
    // rest (which would kill the program) is never read.
    let mut half = packet("m600000,4");
    let rest = half.split_off(4);
    let stalled = Trickle(
        [Some(start), Some(half), None, Some(rest), Some(packet("k"))]
            .into_iter()
            .collect(),
    );
    let sink = Sink::default();
    let ended = serve(stalled, sink.clone(), &mut fake).expect("the session fails");
    assert_eq!(ended, Ended::ConnectionClosed);
    assert_eq!(replies(&sink.0.lock().unwrap()), ["OK"]);
}

// ---------------------------------------------------------------------------
// Hostile input

/// xorshift64: a deterministic source of noise, so that a failing case is
/// named by its seed and repeats.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A packet payload gdb could send, with arguments anywhere from sensible
/// to absurd; unless `clean`, sometimes plain noise.
fn hostile_payload(noise: &mut Noise, clean: bool) -> Vec<u8> {
    let addrs = [0, DATA, DATA + 4090, CODE, u64::MAX - 3, u64::MAX, noise.next()];
    let lens = [0, 1, 4, 4096, 0xffff_ffff, u64::MAX, noise.next() % 100_000];
    let (a, l) = (*noise.pick(&addrs), *noise.pick(&lens));
    let small = noise.below(40);
    let blob = hex(&noise.bytes(small));
    let text = match noise.below(if clean { 29 } else { 30 }) {
        0 => format!("m{a:x},{l:x}"),
        1 => format!("M{a:x},{l:x}:{blob}"),
        2 => "g".into(),
        3 => format!("G{blob}"),
        4 => format!("p{small:x}"),
        5 => format!("P{small:x}={blob}"),
        6 => format!("Z{},{a:x},{small:x}", noise.below(6)),
        7 => format!("z{},{a:x},{small:x}", noise.below(6)),
        8 => noise
            .pick(&["vCont;c", "vCont;s:1", "vCont;c:-1", "vCont;t", "vCont?", "vCont;x"])
            .to_string(),
        9 => noise
            .pick(&["bc", "bs", "c", "s", "?", "D", "vRun;", "R00", "!"])
            .to_string(),
        10 => format!("qXfer:auxv:read::{a:x},{l:x}"),
        11 => format!("qXfer:exec-file:read:{small:x}:{a:x},{l:x}"),
        12 => format!("qXfer:siginfo:read::{a:x},{l:x}"),
        13 => format!("qGetTLSAddr:{small:x},{a:x},{l:x}"),
        14 => format!(
            "qRcmd,{}",
            hex(noise
                .pick(&["goto 3", "goto", "when", "goto 99999999999999999999", ""])
                .as_bytes())
        ),
        15 => format!(
            "vFile:open:{},{small:x},0",
            hex(noise.pick(&["/recorded/prog", "/etc/passwd", ""]).as_bytes())
        ),
        16 => format!("vFile:pread:{small:x},{l:x},{a:x}"),
        17 => format!("vFile:close:{small:x}"),
        18 => format!("vFile:fstat:{small:x}"),
        19 => noise
            .pick(&[
                "Hg0",
                "Hc-1",
                "Hgp1.1",
                "T1",
                "Tp1.1",
                "qfThreadInfo",
                "qsThreadInfo",
                "qC",
            ])
            .to_string(),
        20 => noise
            .pick(&[
                "qAttached",
                "qAttached:1",
                "QStartNoAckMode",
                "qSupported:multiprocess+",
                "qOffsets",
            ])
            .to_string(),
        21 => "QNonStop:1".into(),
        22 => format!("vKill;{small:x}"),
        23 => format!("qXfer:features:read:target.xml:{a:x},{l:x}"),
        24 => format!("qXfer:libraries-svr4:read::{a:x},{l:x}"),
        25 => format!("vFile:setfs:{small}"),
        26 => format!("qSearch:memory:{a:x};{l:x};{blob}"),
        27 => format!("QPassSignals:{blob}"),
        // Raw binary after a command letter, escapes and all.
        28 => {
            let mut raw = format!("X{a:x},{small:x}:").into_bytes();
            for b in noise.bytes(small) {
                if matches!(b, b'#' | b'$' | b'}' | b'*') {
                    raw.push(b'}');
                    raw.push(b ^ 0x20);
                } else {
                    raw.push(b);
                }
            }
            return raw;
        }
        _ => String::from_utf8_lossy(&noise.bytes(small)).into_owned(),
    };
    text.into_bytes()
}

/// A whole session's worth of input: hostile packets with interrupts and
/// acks between them; unless `clean`, framed right or wrong, with noise.
/// (gdbstub ends a session at the first framing error, so clean sessions
/// are the ones that get far.)
fn hostile_session(noise: &mut Noise, clean: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..noise.below(60) {
        let payload = hostile_payload(noise, clean);
        let sum = payload.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        let framing = if clean {
            *noise.pick(&[1, 2, 5, 5, 5, 5, 5, 5])
        } else {
            noise.below(12)
        };
        match framing {
            0 => {
                let n = noise.below(20);
                wire.extend(noise.bytes(n));
            }
            1 => wire.push(0x03),
            2 => wire.extend(b"+-"),
            3 => {
                // A bad checksum.
                wire.push(b'$');
                wire.extend(&payload);
                wire.extend(format!("#{:02x}", sum.wrapping_add(1)).as_bytes());
            }
            4 => {
                // No end.
                wire.push(b'$');
                wire.extend(&payload);
            }
            _ => {
                wire.push(b'$');
                wire.extend(&payload);
                wire.extend(format!("#{sum:02x}").as_bytes());
            }
        }
    }
    wire
}

#[test]
fn hostile_input_ends_sessions_cleanly_without_panics_or_hangs() {
    let started = Instant::now();
    for seed in 1..=400u64 {
        let mut noise = Noise(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let wire = hostile_session(&mut noise, seed % 4 != 0);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let session = std::thread::spawn(move || {
            let mut fake = Fake::new();
            let ended = serve(std::io::Cursor::new(wire), Sink::default(), &mut fake);
            let _ = done_tx.send(());
            ended.map(|_| ()).map_err(|e| e.to_string())
        });
        assert!(
            done_rx.recv_timeout(Duration::from_secs(20)).is_ok() || session.is_finished(),
            "seed {seed}: the session hangs"
        );
        if let Err(panic) = session.join() {
            panic!("seed {seed}: the session panicked: {panic:?}");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}

/// Input that never ends and never closes a packet.
struct Endless;

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(b'a');
        if let Some(first) = buf.first_mut() {
            *first = b'$';
        }
        Ok(buf.len())
    }
}

#[test]
fn a_packet_that_never_ends_is_refused_before_it_fills_memory() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut fake = Fake::new();
        let ended = serve(Endless, Sink::default(), &mut fake);
        let _ = done_tx.send(ended.map_err(|e| e.to_string()));
    });
    let ended = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the session read an endless packet for 30 s");
    assert_eq!(ended, Ok(Ended::ConnectionClosed));
}
