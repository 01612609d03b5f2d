//! Which process holds a socket, read from Linux's `/proc`: the interop tests check that the tracker
//! they started is the only process bound to the addresses they talk to.
//!
//! opentracker sets `SO_REUSEPORT`, so a second opentracker given the same port (another test run
//! that picked it too) starts without error and the kernel spreads connections and datagrams over
//! both. Only the socket tables show it.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        })
    }
}

/// A bound socket: a listening TCP socket, or a UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub proto: Proto,
    pub addr: SocketAddr,
    pub inode: u64,
}

/// Every listening TCP socket or every UDP socket of this network namespace, IPv4 and IPv6.
pub fn bound(proto: Proto) -> io::Result<Vec<Bound>> {
    let (v4, v6) = match proto {
        Proto::Tcp => ("/proc/net/tcp", "/proc/net/tcp6"),
        Proto::Udp => ("/proc/net/udp", "/proc/net/udp6"),
    };
    let mut out = Vec::new();
    for table in [v4, v6] {
        let text = match std::fs::read_to_string(table) {
            Ok(text) => text,
            // A kernel without IPv6 has no `*6` table.
            Err(e) if e.kind() == io::ErrorKind::NotFound && table == v6 => continue,
            Err(e) => return Err(e),
        };
        out.extend(
            text.lines()
                .skip(1)
                .filter_map(|line| parse_row(proto, line)),
        );
    }
    Ok(out)
}

/// One row of `/proc/net/{tcp,udp}[6]`: `sl local_address rem_address st .. uid timeout inode`.
/// TCP rows count only in state `0A` (LISTEN); accepted connections share the local port.
fn parse_row(proto: Proto, line: &str) -> Option<Bound> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
    if proto == Proto::Tcp && *state != "0A" {
        return None;
    }
    let (ip, port) = local.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // Each 32-bit group of the address is printed in host byte order.
    let group = |i: usize| {
        let hex = ip.get(i * 8..i * 8 + 8)?;
        u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes)
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(group(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&group(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(Bound {
        proto,
        addr: SocketAddr::new(ip, port),
        inode: inode.parse().ok()?,
    })
}

/// The inodes of the sockets process `pid` has open.
pub fn socket_inodes(pid: u32) -> io::Result<HashSet<u64>> {
    let mut inodes = HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // An fd closed while we list is not ours to worry about.
        let Ok(target) = fd.and_then(|fd| std::fs::read_link(fd.path())) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse().ok())
        {
            inodes.insert(inode);
        }
    }
    Ok(inodes)
}

/// The sockets of `proto` process `pid` has bound (TCP: listening).
pub fn sockets_of(pid: u32, proto: Proto) -> io::Result<Vec<Bound>> {
    let mine = socket_inodes(pid)?;
    Ok(bound(proto)?
        .into_iter()
        .filter(|b| mine.contains(&b.inode))
        .collect())
}

/// `pid 1234 (opentracker)`, or `an unknown process` when no process has the socket open (it is
/// closing, or another network namespace's).
fn holder(inode: u64) -> String {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return "an unknown process".to_owned();
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if socket_inodes(pid).is_ok_and(|s| s.contains(&inode)) {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            return format!("pid {pid} ({})", name.trim());
        }
    }
    "an unknown process".to_owned()
}

/// Checks that process `pid` has each of `wanted` bound and that no other socket is bound to the
/// same protocol, address and port (as `SO_REUSEPORT` allows): whatever answers there is `pid`.
pub fn check_sole_owner(pid: u32, wanted: &[(Proto, SocketAddr)]) -> Result<(), String> {
    let mine = socket_inodes(pid).map_err(|e| {
        format!("cannot list the sockets of pid {pid} in /proc/{pid}/fd: {e} (run the tests as the user that starts the trackers)")
    })?;
    for &(proto, addr) in wanted {
        let table =
            bound(proto).map_err(|e| format!("cannot read the {proto} socket table: {e}"))?;
        let on_addr: Vec<&Bound> = table.iter().filter(|b| b.addr == addr).collect();
        if !on_addr.iter().any(|b| mine.contains(&b.inode)) {
            return Err(format!("pid {pid} has no {proto} socket bound to {addr}"));
        }
        if let Some(other) = on_addr.iter().find(|b| !mine.contains(&b.inode)) {
            return Err(format!(
                "{proto} {addr} is also bound by {}, so it may answer instead of pid {pid}",
                holder(other.inode)
            ));
        }
    }
    Ok(())
}
