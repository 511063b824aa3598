//! The byte stream to gdb, as gdbstub's `Connection`.
//!
//! The tracee runs on the thread that serves gdb (ptrace answers only the
//! thread that attached), so a long `continue` blocks that thread. A reader
//! thread therefore owns the incoming side: it passes packets on through a
//! channel and turns gdb's out-of-band interrupt byte into a call to the
//! backend's interrupt hook at once, while the serving thread is busy.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};

/// Calls that stop a running backend from another thread.
pub type InterruptHook = Arc<dyn Fn() + Send + Sync>;

/// gdb's interrupt request (Ctrl-C), sent outside any packet.
const INTERRUPT: u8 = 0x03;

pub(crate) struct Link<W: Write> {
    rx: Receiver<u8>,
    peeked: Option<u8>,
    out: W,
    pending: Vec<u8>,
    /// Whether the incoming side ended (gdb went away without detaching).
    pub(crate) closed: bool,
}

/// Where the reader thread is in gdb's framing: an interrupt byte only
/// counts between packets (inside binary data a 0x03 is just data).
#[derive(Clone, Copy)]
enum Framing {
    Between,
    InPacket { escaped: bool },
    Checksum(u8),
}

impl<W: Write> Link<W> {
    pub(crate) fn new(input: impl Read + Send + 'static, out: W, hook: Arc<Mutex<Option<InterruptHook>>>) -> Link<W> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut input = input;
            let mut buf = [0u8; 4096];
            let mut framing = Framing::Between;
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                for &b in &buf[..n] {
                    framing = match (framing, b) {
                        (Framing::Between, INTERRUPT) => {
                            let hook = hook.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            if let Some(h) = hook {
                                h();
                            }
                            Framing::Between
                        }
                        (Framing::Between, b'$') => Framing::InPacket { escaped: false },
                        (Framing::Between, _) => Framing::Between,
                        (Framing::InPacket { escaped: false }, b'}') => Framing::InPacket { escaped: true },
                        (Framing::InPacket { escaped: false }, b'#') => Framing::Checksum(2),
                        (Framing::InPacket { .. }, _) => Framing::InPacket { escaped: false },
                        (Framing::Checksum(1), _) => Framing::Between,
                        (Framing::Checksum(n), _) => Framing::Checksum(n - 1),
                    };
                    // The interrupt byte goes through as well: gdbstub, when
                    // idle, answers it with nothing, which is right for an
                    // interrupt that came after the target had stopped.
                    if tx.send(b).is_err() {
                        return;
                    }
                }
            }
        });
        Link {
            rx,
            peeked: None,
            out,
            pending: Vec::with_capacity(4096),
            closed: false,
        }
    }

    fn eof(&mut self) -> io::Error {
        self.closed = true;
        io::Error::new(io::ErrorKind::UnexpectedEof, "gdb closed the connection")
    }
}

impl<W: Write> gdbstub::conn::Connection for Link<W> {
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
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        self.out.flush()
    }
}

impl<W: Write> gdbstub::conn::ConnectionExt for Link<W> {
    fn read(&mut self) -> io::Result<u8> {
        if let Some(b) = self.peeked.take() {
            return Ok(b);
        }
        // Whatever was answered so far must reach gdb before waiting on it.
        gdbstub::conn::Connection::flush(self)?;
        match self.rx.recv() {
            Ok(b) => Ok(b),
            Err(_) => Err(self.eof()),
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.peeked.is_none() {
            match self.rx.try_recv() {
                Ok(b) => self.peeked = Some(b),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return Err(self.eof()),
            }
        }
        Ok(self.peeked)
    }
}

impl<W: Write> Link<W> {
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
