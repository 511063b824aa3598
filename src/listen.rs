//! Where the gdb server listens (`--gdb`), and whom it serves.
//!
//! Whoever is served controls the replay and reads the replayed program's
//! memory, so by default the server listens on a Unix socket in a
//! directory only its user can enter ([`Listen::Unix`]); gdb connects with
//! `target extended-remote PATH`. On TCP ([`Listen::Tcp`]: loopback unless
//! `--gdb-allow-remote`) a connection is served only if its client socket
//! belongs to the same user (see [`crate::peer`]); any other connection is
//! closed before a byte is sent to it.
//!
//! One connection is served at a time (there is one replay), but new ones
//! are accepted and vetted on threads of their own: each must send a whole
//! packet within [`FIRST_PACKET_WITHIN`], so a client that connects and
//! says nothing, or half a packet, never keeps the next one waiting.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use gdbstub_server::Ended;

use crate::gdbserve::{Backend, MONITOR_HOOK};

/// How long a new connection may take to send its first whole packet
/// (gdb sends `qSupported` as soon as it connects) before it is closed.
const FIRST_PACKET_WITHIN: Duration = Duration::from_secs(10);

/// How long a packet may stay half sent before the connection is closed
/// (the socket's receive timeout; see `gdbstub_server`'s link). Between
/// packets a client may be silent for as long as it likes.
const STALLED_PACKET: Duration = Duration::from_secs(10);

/// The most a connection may send before its first whole packet.
const FIRST_PACKET_MAX: usize = 64 * 1024;

/// What `--gdb` asked for.
#[derive(Clone, Copy, Debug)]
pub enum Listen {
    /// A TCP address; `allow_remote` serves users other than rback's own.
    Tcp { addr: SocketAddr, allow_remote: bool },
    /// A Unix socket in a fresh directory only rback's user can enter.
    Unix,
}

/// Resolves what `--gdb` was given: nothing (a Unix socket; with
/// `allow_remote`, loopback TCP on a free port), a port, or HOST:PORT.
/// Refuses an address other than loopback unless `allow_remote`, and warns
/// whenever other users are let in.
pub fn listen_address(spec: Option<&str>, allow_remote: bool) -> Result<Listen> {
    let addr = match spec {
        None if !allow_remote => return Ok(Listen::Unix),
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(spec) => match spec.parse::<u16>() {
            Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
            Err(_) => spec
                .to_socket_addrs()
                .with_context(|| format!("`{spec}` is not an address to listen on (PORT or HOST:PORT)"))?
                .next()
                .ok_or_else(|| anyhow!("`{spec}` resolves to no address"))?,
        },
    };
    if !allow_remote {
        if !addr.ip().is_loopback() {
            bail!(
                "refusing to listen on {addr}: whoever connects can read and write the replayed program's memory; \
                 add --gdb-allow-remote to do it anyway"
            );
        }
        return Ok(Listen::Tcp { addr, allow_remote });
    }
    let who = if addr.ip().is_loopback() {
        "any local user"
    } else {
        "anyone who can reach it"
    };
    eprintln!(
        "rback: warning: --gdb-allow-remote: serving {addr} to {who}, not only to you; \
         whoever connects controls the replay and reads the replayed program's memory"
    );
    Ok(Listen::Tcp { addr, allow_remote })
}

/// A listening socket, open before the replay starts so that a port in
/// use costs nothing.
pub enum Door {
    Tcp {
        listener: TcpListener,
        allow_remote: bool,
    },
    Unix {
        listener: UnixListener,
        path: PathBuf,
        /// Removes the socket and its directory when rback ends.
        place: PrivateDir,
    },
}

impl Door {
    /// Listens as `listen` says. For a Unix socket, Ctrl-C (SIGINT),
    /// SIGTERM and SIGHUP are from now on taken by a thread that removes
    /// the socket before rback exits; call this before starting any thread
    /// that should not take them instead.
    pub fn open(listen: Listen) -> Result<Door> {
        match listen {
            Listen::Tcp { addr, allow_remote } => {
                let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
                Ok(Door::Tcp { listener, allow_remote })
            }
            Listen::Unix => {
                let place = PrivateDir::create()?;
                let path = place.0.join("socket");
                let listener =
                    UnixListener::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
                place.remove_on_signals(path.clone())?;
                Ok(Door::Unix { listener, path, place })
            }
        }
    }

    /// What gdb's `target extended-remote` takes to get here.
    fn target(&self) -> Result<String> {
        Ok(match self {
            Door::Tcp { listener, .. } => listener.local_addr()?.to_string(),
            Door::Unix { path, .. } => path.display().to_string(),
        })
    }
}

/// A directory of rback's own (mode 0700, made fresh, so nobody else made
/// it first) for the server's socket, under `$XDG_RUNTIME_DIR` if that is
/// the user's own, else the temporary directory. Removed when dropped.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> Result<PrivateDir> {
        let me = nix::unistd::geteuid().as_raw();
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .filter(|d| std::fs::metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0));
        let base = runtime.unwrap_or_else(std::env::temp_dir);
        for n in 0..1000 {
            let dir = base.join(format!("rback-gdb-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(PrivateDir(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot make a directory for the gdb socket in {}", base.display()))
                }
            }
        }
        bail!("cannot make a directory for the gdb socket in {}", base.display())
    }

    /// Takes Ctrl-C, SIGTERM and SIGHUP on a thread of their own, which
    /// removes the socket and this directory, then exits as the signal
    /// would have (status 128 + its number). The signals are blocked in
    /// this thread and so in every thread it starts from now on; the
    /// tracees start with none blocked.
    fn remove_on_signals(&self, socket: PathBuf) -> Result<()> {
        use nix::sys::signal::{SigSet, Signal};
        let mut set = SigSet::empty();
        for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            set.add(sig);
        }
        set.thread_block().context("cannot block signals")?;
        let dir = self.0.clone();
        std::thread::spawn(move || {
            if let Ok(sig) = set.wait() {
                let _ = std::fs::remove_file(&socket);
                let _ = std::fs::remove_dir(&dir);
                std::process::exit(128 + sig as i32);
            }
        });
        Ok(())
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection of either kind, as the serving loop uses it.
trait Conn: Read + Write + Send + Sized + 'static {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn try_clone(&self) -> io::Result<Self>;
    fn shutdown(&self);
}

impl Conn for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn try_clone(&self) -> io::Result<Self> {
        TcpStream::try_clone(self)
    }
    fn shutdown(&self) {
        let _ = TcpStream::shutdown(self, std::net::Shutdown::Both);
    }
}

impl Conn for UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, t)
    }
    fn try_clone(&self) -> io::Result<Self> {
        UnixStream::try_clone(self)
    }
    fn shutdown(&self) {
        let _ = UnixStream::shutdown(self, std::net::Shutdown::Both);
    }
}

/// A connection that passed its owner check and [`first_packet`]: the
/// bytes read so far, up to and including a whole packet, go to gdb's
/// session first.
struct Admitted<S> {
    stream: S,
    peer: String,
    first: Vec<u8>,
}

/// Serves gdb at `door`: one connection at a time, a new one after gdb
/// detaches, until gdb kills the program.
pub fn serve(backend: Backend, trace_dir: &Path, door: Door) -> Result<()> {
    let target = door.target()?;
    eprintln!(
        "rback: serving {} for gdb on {target}; connect with:",
        trace_dir.display()
    );
    eprintln!("  gdb -iex '{MONITOR_HOOK}' -ex 'target extended-remote {target}'");
    eprintln!("(the -iex part makes gdb refresh its view after `monitor goto` and `monitor restart`; Ctrl-C here stops serving)");
    match door {
        Door::Tcp { listener, allow_remote } => {
            let rx = accept_on_threads(move || {
                let (stream, peer) = listener.accept()?;
                let _ = stream.set_nodelay(true);
                let peer_name = peer.to_string();
                let admitted = allow_remote || admit_tcp(&stream, peer);
                Ok((stream, peer_name, admitted))
            });
            serve_admitted(backend, rx, &target)
        }
        Door::Unix { listener, place, .. } => {
            // The directory keeps everyone else out (but root, who could
            // as well trace rback itself).
            let mut n = 0;
            let rx = accept_on_threads(move || {
                let (stream, _) = listener.accept()?;
                n += 1;
                Ok((stream, format!("the socket (connection {n})"), true))
            });
            let served = serve_admitted(backend, rx, &target);
            // The socket goes as soon as nothing more is served on it.
            drop(place);
            served
        }
    }
}

/// Accepts connections with `accept` (which says who connected and whether
/// to serve them) on a thread, and reads each admitted one's first packet
/// on a thread of its own; what passes comes out of the channel.
fn accept_on_threads<S: Conn>(
    mut accept: impl FnMut() -> io::Result<(S, String, bool)> + Send + 'static,
) -> mpsc::Receiver<io::Result<Admitted<S>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || loop {
        let (stream, peer, admitted) = match accept() {
            Ok(accepted) => accepted,
            // A client that gave up before it was accepted.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => continue,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        // Not admitted: the stream is dropped, closing the connection
        // before a byte was sent on it.
        if !admitted {
            continue;
        }
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Some(first) = first_packet(&stream, &peer) {
                let _ = tx.send(Ok(Admitted { stream, peer, first }));
            }
        });
    });
    rx
}

fn serve_admitted<S: Conn>(
    mut backend: Backend,
    rx: mpsc::Receiver<io::Result<Admitted<S>>>,
    target: &str,
) -> Result<()> {
    loop {
        let Admitted { stream, peer, first } = rx
            .recv()
            .context("the gdb listener stopped")?
            .context("accepting a gdb connection")?;
        eprintln!("rback: gdb connected from {peer}");
        let reader = io::Cursor::new(first).chain(stream.try_clone()?);
        let ended = gdbstub_server::serve(reader, stream.try_clone()?, &mut backend);
        // The reader thread holds the socket until it is shut down.
        stream.shutdown();
        let ended = match ended {
            Ok(ended) => ended,
            // One client's garbage is no reason to stop serving the next.
            Err(e @ (gdbstub_server::ServeError::Protocol(_) | gdbstub_server::ServeError::Io(_))) => {
                eprintln!("rback: the connection from {peer} failed: {e}; waiting for the next one on {target}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match ended {
            Ended::Killed => {
                eprintln!("rback: gdb killed the program; stopping");
                return Ok(());
            }
            Ended::Detached => eprintln!("rback: gdb detached; waiting for the next connection on {target}"),
            Ended::ConnectionClosed => {
                eprintln!("rback: gdb went away; waiting for the next connection on {target}")
            }
        }
    }
}

/// Whether the TCP connection from `peer` comes from a socket of rback's
/// own user; says why not on stderr.
fn admit_tcp(stream: &TcpStream, peer: SocketAddr) -> bool {
    let me = nix::unistd::geteuid().as_raw();
    let owner = stream
        .local_addr()
        .and_then(|server| crate::peer::local_peer_uid(peer, server));
    let why = match owner {
        Ok(Some(uid)) if uid == me => return true,
        Ok(Some(uid)) => format!("its socket belongs to uid {uid}, not to uid {me}"),
        Ok(None) => "no socket on this machine owns it".to_string(),
        Err(e) => format!("its owner cannot be found ({e})"),
    };
    eprintln!(
        "rback: refused the gdb connection from {peer}: {why} (only the user running rback is served; \
         --gdb-allow-remote serves anyone)"
    );
    false
}

/// Reads from a new connection until it holds a whole packet, within
/// [`FIRST_PACKET_WITHIN`]; `None` (after a line on stderr, unless the
/// client left without a word) if it does not. Sets the receive timeout
/// that catches a packet stalled later on.
fn first_packet<S: Conn>(stream: &S, peer: &str) -> Option<Vec<u8>> {
    let deadline = Instant::now() + FIRST_PACKET_WITHIN;
    let mut first = Vec::new();
    let mut buf = [0u8; 4096];
    let mut reader = stream.try_clone().ok()?;
    let give_up = |why: &str| {
        eprintln!("rback: closed the gdb connection from {peer}: {why}");
        None
    };
    while !gdbstub_server::holds_whole_packet(&first) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return give_up(&format!("no whole packet within {} s", FIRST_PACKET_WITHIN.as_secs()));
        }
        match reader.read(&mut buf) {
            Ok(0) if first.is_empty() => return None,
            Ok(0) => return give_up("it left in the middle of its first packet"),
            Ok(n) => first.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return give_up(&e.to_string()),
        }
        if first.len() > FIRST_PACKET_MAX {
            return give_up(&format!("no whole packet in its first {FIRST_PACKET_MAX} bytes"));
        }
    }
    stream.set_read_timeout(Some(STALLED_PACKET)).ok()?;
    Some(first)
}
