//! The byte stream to gdb, as gdbstub's `Connection`.
//!
//! The tracee runs on the thread that serves gdb (ptrace answers only the
//! thread that attached), so a long `continue` blocks that thread. A reader
//! thread therefore owns the incoming side: it passes packets on through a
//! channel and turns gdb's out-of-band interrupt byte into a call to the
//! backend's interrupt hook at once, while the serving thread is busy.
//!
//! A client is not trusted to behave like gdb: the channel holds a bounded
//! number of reads, a packet longer than [`MAX_PAYLOAD`] ends the link, and
//! so does a packet left half sent when the input's read times out.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

/// Calls that stop a running backend from another thread.
pub type InterruptHook = Arc<dyn Fn() + Send + Sync>;

/// gdb's interrupt request (Ctrl-C), sent outside any packet.
const INTERRUPT: u8 = 0x03;

/// Whether a movement of the backend runs, and an interrupt that came
/// while none did. gdb sends its interrupt whenever the user presses
/// Ctrl-C while it thinks the program runs, which includes the moment
/// between a stop and the resume it makes at once (a breakpoint with an
/// ignore count, a `next` over a call): an interrupt that came then stops
/// the next movement as soon as it starts, as gdbserver's SIGINT to a
/// stopped inferior does, instead of being lost.
#[derive(Default)]
pub(crate) struct Movements {
    /// (a movement runs, an interrupt waits for the next one)
    state: Mutex<(bool, bool)>,
}

impl Movements {
    /// Interrupts the running movement with `hook`, or keeps the
    /// interrupt for the next one.
    pub(crate) fn interrupt(&self, hook: &InterruptHook) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            (true, _) => hook(),
            (false, _) => state.1 = true,
        }
    }

    /// A movement starts; `false` if an interrupt was waiting for it (then
    /// taken), which stops it before it moves.
    pub(crate) fn start(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = true;
        !std::mem::take(&mut state.1)
    }

    pub(crate) fn end(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 = false;
    }
}

/// Answers a packet gdbstub does not know (its payload), or `None` to let
/// gdbstub answer it.
pub(crate) type ExtraPackets<'b> = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>> + 'b>;

/// Packets the link answers itself, through [`ExtraPackets`].
const EXTRA: [&[u8]; 2] = [b"qGetTLSAddr:", b"qXfer:siginfo:read:"];
/// What the link adds to gdbstub's `qSupported` reply for them.
const EXTRA_FEATURES: &str = ";qXfer:siginfo:read+";

/// The longest packet payload accepted (escapes counted twice). gdb sends
/// at most the `PacketSize` gdbstub advertises (4096); a client that sends
/// more, or never ends a packet, is cut off rather than buffered.
const MAX_PAYLOAD: usize = 64 * 1024;

/// How many reads the reader thread may be ahead of the serving thread
/// (each at most 4 KiB): while the tracee runs, nothing is taken off the
/// channel, and a client that keeps sending must not fill memory.
const READS_IN_FLIGHT: usize = 64;

pub(crate) struct Link<'b, W: Write> {
    rx: Receiver<Vec<u8>>,
    /// The bytes of the last read taken off the channel, and how many of
    /// them are used.
    chunk: Vec<u8>,
    used: usize,
    /// Bytes of a packet read whole and passed on to gdbstub.
    inbuf: VecDeque<u8>,
    out: W,
    pending: Vec<u8>,
    extra: ExtraPackets<'b>,
    /// gdb acknowledges packets until no-ack mode starts.
    acks: bool,
    /// The next reply is to `qSupported`.
    amend_supported: bool,
}

/// Where the reader thread is in gdb's framing: an interrupt byte only
/// counts between packets (inside binary data a 0x03 is just data).
#[derive(Clone, Copy)]
enum Framing {
    Between,
    InPacket { escaped: bool },
    Checksum(u8),
}

impl Framing {
    /// Where the framing is after byte `b`.
    fn after(self, b: u8) -> Framing {
        match (self, b) {
            (Framing::Between, b'$') => Framing::InPacket { escaped: false },
            (Framing::Between, _) => Framing::Between,
            (Framing::InPacket { escaped: false }, b'}') => Framing::InPacket { escaped: true },
            (Framing::InPacket { escaped: false }, b'#') => Framing::Checksum(2),
            (Framing::InPacket { .. }, _) => Framing::InPacket { escaped: false },
            (Framing::Checksum(1), _) => Framing::Between,
            (Framing::Checksum(n), _) => Framing::Checksum(n - 1),
        }
    }
}

/// Whether `bytes`, the start of what a client sent, hold a whole packet
/// (`$`, payload, `#`, two checksum digits). A server that must not wait
/// forever on a client reads until this holds, with a deadline.
pub fn holds_whole_packet(bytes: &[u8]) -> bool {
    let mut framing = Framing::Between;
    for &b in bytes {
        let next = framing.after(b);
        if matches!((framing, next), (Framing::Checksum(1), Framing::Between)) {
            return true;
        }
        framing = next;
    }
    false
}

impl<'b, W: Write> Link<'b, W> {
    pub(crate) fn new(
        input: impl Read + Send + 'static,
        out: W,
        hook: Arc<Mutex<Option<InterruptHook>>>,
        extra: ExtraPackets<'b>,
    ) -> Link<'b, W> {
        let (tx, rx) = mpsc::sync_channel(READS_IN_FLIGHT);
        std::thread::spawn(move || {
            let mut input = input;
            let mut buf = [0u8; 4096];
            let mut framing = Framing::Between;
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // A read that times out (a TCP server sets a receive
                    // timeout) is fine between packets, where gdb may sit
                    // at its prompt for hours. Inside a packet it means the
                    // client stalled halfway: the link ends, so that the
                    // server can serve someone else.
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        match framing {
                            Framing::Between => continue,
                            _ => return,
                        }
                    }
                    Err(_) => return,
                };
                for &b in &buf[..n] {
                    if let (Framing::Between, INTERRUPT) = (framing, b) {
                        let hook = hook.lock().unwrap_or_else(|e| e.into_inner()).clone();
                        if let Some(h) = hook {
                            h();
                        }
                    }
                    framing = framing.after(b);
                }
                // The interrupt byte goes through as well: gdbstub, when
                // idle, answers it with nothing (the interrupt itself
                // waits in `Movements` for the next movement).
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        Link {
            rx,
            chunk: Vec::new(),
            used: 0,
            inbuf: VecDeque::new(),
            out,
            pending: Vec::with_capacity(4096),
            extra,
            acks: true,
            amend_supported: false,
        }
    }

    fn eof() -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, "gdb closed the connection")
    }

    fn next_raw(&mut self) -> io::Result<u8> {
        while self.used == self.chunk.len() {
            self.chunk = self.rx.recv().map_err(|_| Self::eof())?;
            self.used = 0;
        }
        self.used += 1;
        Ok(self.chunk[self.used - 1])
    }

    /// Reads the rest of a packet after its `$`: payload, `#`, checksum.
    fn rest_of_packet(&mut self) -> io::Result<(Vec<u8>, [u8; 2])> {
        let mut payload = Vec::new();
        loop {
            if payload.len() > MAX_PAYLOAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("gdb sent a packet longer than {MAX_PAYLOAD} bytes"),
                ));
            }
            let b = self.next_raw()?;
            match b {
                b'#' => break,
                b'}' => {
                    payload.push(b);
                    payload.push(self.next_raw()?);
                }
                _ => payload.push(b),
            }
        }
        Ok((payload, [self.next_raw()?, self.next_raw()?]))
    }

    /// Adds the link's own features to gdbstub's `qSupported` reply.
    fn amend(&mut self) {
        let Some(start) = self.pending.iter().position(|&b| b == b'$') else {
            return;
        };
        let Some(end) = self.pending[start..].iter().position(|&b| b == b'#').map(|e| start + e) else {
            return;
        };
        let mut payload = self.pending[start + 1..end].to_vec();
        payload.extend_from_slice(EXTRA_FEATURES.as_bytes());
        let mut packet = framed(&payload);
        let tail = self.pending.split_off((end + 3).min(self.pending.len()));
        self.pending.truncate(start);
        self.pending.append(&mut packet);
        self.pending.extend(tail);
        self.amend_supported = false;
    }
}

/// `$payload#checksum`.
fn framed(payload: &[u8]) -> Vec<u8> {
    let sum = payload.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let mut p = Vec::with_capacity(payload.len() + 4);
    p.push(b'$');
    p.extend_from_slice(payload);
    p.extend_from_slice(format!("#{sum:02x}").as_bytes());
    p
}

/// Escapes binary data for a packet (`#`, `$`, `}` and `*`).
pub(crate) fn escaped(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        if matches!(b, b'#' | b'$' | b'}' | b'*') {
            out.push(b'}');
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}

impl<W: Write> gdbstub::conn::Connection for Link<'_, W> {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.pending.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.amend_supported {
            self.amend();
        }
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        self.out.flush()
    }
}

impl<W: Write> gdbstub::conn::ConnectionExt for Link<'_, W> {
    fn read(&mut self) -> io::Result<u8> {
        loop {
            if let Some(b) = self.inbuf.pop_front() {
                return Ok(b);
            }
            // Whatever was answered so far must reach gdb before waiting on it.
            gdbstub::conn::Connection::flush(self)?;
            let b = self.next_raw()?;
            // gdb sends `-` while a reply is slow to come (a long `monitor
            // goto`), even in no-ack mode; gdbstub would take it for a
            // corrupted packet and end the session. Packets here cannot be
            // corrupted (pipes and TCP), so a NAK only means "still
            // waiting", and the reply on its way answers it.
            if b == b'-' {
                continue;
            }
            if b != b'$' {
                return Ok(b);
            }
            let (payload, sum) = self.rest_of_packet()?;
            if EXTRA.iter().any(|p| payload.starts_with(p)) {
                if let Some(reply) = (self.extra)(&payload) {
                    if self.acks {
                        self.pending.push(b'+');
                    }
                    let packet = framed(&reply);
                    self.pending.extend_from_slice(&packet);
                    continue;
                }
            }
            if payload.starts_with(b"qSupported") {
                self.amend_supported = true;
            }
            if payload == b"QStartNoAckMode" {
                self.acks = false;
            }
            self.inbuf.push_back(b'$');
            self.inbuf.extend(payload);
            self.inbuf.push_back(b'#');
            self.inbuf.extend(sum);
        }
    }

    // gdbstub does not peek; a peek must not bypass the packet handling.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.inbuf.front().copied())
    }
}

impl<W: Write> Link<'_, W> {
    /// Sends a console-output (`O`) packet: text gdb prints while it waits
    /// for the target to stop.
    pub(crate) fn console(&mut self, text: &str) -> io::Result<()> {
        let mut payload = String::from("O");
        for b in text.bytes() {
            payload += &format!("{b:02x}");
        }
        let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        let packet = format!("${payload}#{sum:02x}");
        gdbstub::conn::Connection::write_all(self, packet.as_bytes())?;
        gdbstub::conn::Connection::flush(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_packet_needs_its_two_checksum_digits() {
        assert!(holds_whole_packet(b"+$qSupported:multiprocess+#c6"));
        assert!(holds_whole_packet(b"$#00trailing"));
        assert!(!holds_whole_packet(b"+$qSupported:multiprocess+#c"));
        assert!(!holds_whole_packet(b"+$qSupported"));
        assert!(!holds_whole_packet(b"+++\x03"));
        assert!(!holds_whole_packet(b""));
        // An escaped `#` is payload, not the end.
        assert!(!holds_whole_packet(b"$X}#00"));
        assert!(holds_whole_packet(b"$X}#00#12"));
    }
}
