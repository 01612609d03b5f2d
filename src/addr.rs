//! The one form in which the crate reports and compares addresses.
//!
//! An IPv4 host can appear as `a.b.c.d` or as the IPv4-mapped IPv6 address `::ffff:a.b.c.d` (a
//! dual-stack socket reports IPv4 senders that way, some trackers write BEP 24 `external ip` or
//! `peers6` entries that way). Both name the same host, so the crate turns the second into the
//! first before it reports an address (peers, `external ip`, a tracker's socket address) or
//! compares two (matching a datagram's sender, leaving this client out of its own peer list,
//! judging whether an address is internal). Callers comparing addresses of their own should do
//! the same.

use std::net::{IpAddr, SocketAddr};

/// `ip` in canonical form: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes the IPv4
/// address `a.b.c.d`; every other address is returned unchanged (deprecated IPv4-compatible
/// `::a.b.c.d` and NAT64 `64:ff9b::/96` addresses stay IPv6, as they do in `std`).
///
/// ```
/// use std::net::IpAddr;
/// let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
/// assert_eq!(bt_tracker::canonical_ip(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
/// ```
#[inline]
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// `addr` with its IP in canonical form (see [`canonical_ip`]); the port is kept and an IPv6 flow
/// label or scope id is dropped along with the IPv6 form.
///
/// ```
/// use std::net::SocketAddr;
/// let mapped: SocketAddr = "[::ffff:127.0.0.1]:6969".parse().unwrap();
/// assert_eq!(bt_tracker::canonical_addr(mapped), "127.0.0.1:6969".parse().unwrap());
/// ```
#[inline]
pub fn canonical_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// Why `ip` can never be the destination of a tracker request or a peer connection: it names no
/// single host (unspecified, RFC 1122 "this network" 0.0.0.0/8, the limited broadcast address,
/// multicast). `None` for an address that can name one host, loopback and private ones included
/// (whether those may be reached is a policy: see
/// [`is_internal_address`](crate::announce::is_internal_address)). Judged in canonical form, so
/// `::ffff:255.255.255.255` is the broadcast address.
pub(crate) fn not_unicast(ip: IpAddr) -> Option<&'static str> {
    match canonical_ip(ip) {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address 0.0.0.0"),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => {
            Some("a \"this network\" address (0.0.0.0/8, a source address only, RFC 1122)")
        }
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address 255.255.255.255"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address (224.0.0.0/4)"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address ::"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address (ff00::/8)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_ipv4_mapped_addresses_become_ipv4() {
        for (given, canonical) in [
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::ffff:0.0.0.0", "0.0.0.0"),
            ("192.0.2.7", "192.0.2.7"),
            ("::1", "::1"),
            ("::", "::"),
            ("::192.0.2.7", "::192.0.2.7"), // IPv4-compatible: deprecated, left alone
            ("64:ff9b::c000:207", "64:ff9b::c000:207"), // NAT64: a different host
            ("::fffe:c000:207", "::fffe:c000:207"),
            ("2001:db8::ffff:c000:207", "2001:db8::ffff:c000:207"),
        ] {
            assert_eq!(canonical_ip(ip(given)), ip(canonical), "{given}");
        }
    }

    #[test]
    fn only_addresses_naming_no_single_host_are_not_unicast() {
        for never in [
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "::",
            "ff02::1",
            "ff0e::fb",
            "::ffff:255.255.255.255",
            "::ffff:0.0.0.0",
            "::ffff:224.0.0.1",
        ] {
            assert!(not_unicast(ip(never)).is_some(), "{never}");
        }
        for one_host in [
            "127.0.0.1",
            "10.0.0.255",
            "192.168.1.255",
            "1.0.0.0",
            "223.255.255.255",
            "240.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(not_unicast(ip(one_host)), None, "{one_host}");
        }
    }

    #[test]
    fn socket_addresses_keep_their_port() {
        let mapped: SocketAddr = "[::ffff:192.0.2.7]:6881".parse().unwrap();
        assert_eq!(canonical_addr(mapped), "192.0.2.7:6881".parse().unwrap());
        let v6: SocketAddr = "[2001:db8::1]:6881".parse().unwrap();
        assert_eq!(canonical_addr(v6), v6);
        let v4: SocketAddr = "192.0.2.7:1".parse().unwrap();
        assert_eq!(canonical_addr(v4), v4);
    }

    #[test]
    fn the_socket_form_agrees_with_the_ip_form() {
        fn same(bits: u128, low: u32, mapped: bool, port: u16) -> bool {
            let bits = if mapped {
                0xffff_0000_0000 | u128::from(low)
            } else {
                bits
            };
            let addr = SocketAddr::new(IpAddr::from(bits.to_be_bytes()), port);
            canonical_addr(addr) == SocketAddr::new(canonical_ip(addr.ip()), port)
        }
        quickcheck::QuickCheck::new()
            .tests(1000)
            .quickcheck(same as fn(u128, u32, bool, u16) -> bool);
    }
}
