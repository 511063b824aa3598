//! Who is at the other end of a TCP connection on this machine.
//!
//! The gdb server listens on loopback, where any local user can connect,
//! and whoever is served controls the replay and reads the replayed
//! program's memory. The kernel lists every TCP socket of the network
//! namespace with its owner's uid in `/proc/net/tcp` and `/proc/net/tcp6`
//! (see proc(5)); the client's socket is the one whose local address is the
//! accepted connection's peer address, and whose remote address is the
//! server's end. [`local_peer_uid`] finds it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The `st` column's value for `TCP_TIME_WAIT`: such a row is a remnant of
/// a closed socket, listed with uid 0 whoever owned it.
const TCP_TIME_WAIT: u8 = 0x06;

/// The uid owning the client socket of the connection that `server` (the
/// accepted socket's local address) has with `peer`, if that socket is on
/// this machine and still open.
pub fn local_peer_uid(peer: SocketAddr, server: SocketAddr) -> io::Result<Option<u32>> {
    let (peer, server) = (canonical(peer), canonical(server));
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = match std::fs::read_to_string(table) {
            Ok(t) => t,
            // A kernel without IPv6 has no tcp6.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("cannot read {table}: {e}"))),
        };
        for line in text.lines().skip(1) {
            let Some(row) = parse_row(line) else {
                continue;
            };
            if row.state != TCP_TIME_WAIT && canonical(row.local) == peer && canonical(row.remote) == server {
                return Ok(Some(row.uid));
            }
        }
    }
    Ok(None)
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as the
/// IPv4 address it is, so that both tables compare alike.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
    uid: u32,
}

/// One row of `/proc/net/tcp{,6}`:
/// `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...`.
fn parse_row(line: &str) -> Option<Row> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    Some(Row {
        local: parse_address(fields.get(1)?)?,
        remote: parse_address(fields.get(2)?)?,
        state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
        uid: fields.get(7)?.parse().ok()?,
    })
}

/// `ADDR:PORT` as the kernel prints it: the address as 32-bit words in the
/// machine's byte order, each in 8 hex digits (one word for IPv4, four for
/// IPv6), and the port as a plain hex number.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    if !addr.is_ascii() || addr.len() % 8 != 0 {
        return None;
    }
    for i in (0..addr.len()).step_by(8) {
        let word = u32::from_str_radix(&addr[i..i + 8], 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn rows_of_both_tables_parse() {
        let v4 = "   1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1";
        let row = parse_row(v4).unwrap();
        assert_eq!(row.local, "127.0.0.1:41668".parse().unwrap());
        assert_eq!(row.remote, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((row.state, row.uid), (1, 1000));
        let v6 = "   0: 00000000000000000000000001000000:0050 0000000000000000FFFF00000100007F:C001 01 \
                  00000000:00000000 00:00000000 00000000 65534        0 77 1";
        let row = parse_row(v6).unwrap();
        assert_eq!(row.local, "[::1]:80".parse().unwrap());
        assert_eq!(canonical(row.remote), "127.0.0.1:49153".parse().unwrap());
        assert_eq!(row.uid, 65534);
        assert!(parse_row("  sl  local_address rem_address   st tx_queue").is_none());
        assert!(parse_row("   2: 0100007F:XYZ 0100007F:1F90 01 0:0 0:0 0 0 0 0").is_none());
    }

    #[test]
    fn a_connection_from_this_process_belongs_to_its_uid() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, peer) = listener.accept().unwrap();
        let uid = local_peer_uid(peer, accepted.local_addr().unwrap()).unwrap();
        assert_eq!(uid, Some(nix::unistd::geteuid().as_raw()));
        let server = accepted.local_addr().unwrap();
        assert_eq!(local_peer_uid("127.0.0.1:1".parse().unwrap(), server).unwrap(), None);
    }
}
