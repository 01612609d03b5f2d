//! Glue shared by the benches.

use std::net::SocketAddr;

/// What a consumer does with each peer, identical for every crate compared: read its address and
/// port into a checksum, so no side pays for a forced store the other avoids.
#[inline(always)]
pub fn checksum(p: SocketAddr) -> u64 {
    match p {
        SocketAddr::V4(a) => u64::from(a.ip().to_bits()) ^ u64::from(a.port()),
        SocketAddr::V6(a) => (a.ip().to_bits() as u64) ^ u64::from(a.port()),
    }
}
