//! Glue shared by the benches.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// What a consumer does with each peer, identical for every crate compared: read its address and
/// port into a checksum, so no side pays for a forced store the other avoids.
#[inline(always)]
pub fn checksum(p: SocketAddr) -> u64 {
    match p {
        SocketAddr::V4(a) => u64::from(a.ip().to_bits()) ^ u64::from(a.port()),
        SocketAddr::V6(a) => (a.ip().to_bits() as u64) ^ u64::from(a.port()),
    }
}

/// One 6-byte compact IPv4 entry (BEP 23) as a `SocketAddr`, for the crates compared that hand out
/// the raw `peers` string.
#[inline(always)]
#[allow(dead_code)] // the UDP bench reads aquatic's own entry type
pub fn compact_v4(e: &[u8]) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(e[0], e[1], e[2], e[3]),
        u16::from_be_bytes([e[4], e[5]]),
    ))
}
