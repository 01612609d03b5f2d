//! URL safety (SSRF): which addresses a tracker may send this client to.
//!
//! Anyone can put any tracker URL in a magnet link, and any tracker can answer with a redirect. A
//! client that follows blindly can be made to send GET requests into the network it sits in (a
//! router's admin page, a cloud metadata service). The machine refuses redirects that lead from a
//! public tracker to a loopback, private or link-local address; a tracker that is itself on such
//! an address (a LAN tracker, a test) may redirect within it. Host names are resolved by the
//! machine itself (see [`DnsConfig`](super::DnsConfig)), and the rule applies to the addresses they
//! resolve to: a tracker's public name (anything but `localhost`) or a redirect hop's name that
//! resolves only to such addresses fails with
//! [`DnsFailure::InternalOnly`](super::DnsFailure::InternalOnly), and the internal addresses of a
//! mixed answer are skipped, unless [`DnsConfig::allow_internal`](super::DnsConfig::allow_internal)
//! (the tracker's own name) or `Config::allow_internal_redirects` (redirect hops) says otherwise.
//! A name that re-resolves to an internal address later (DNS rebinding) is refused the same way.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{TrackerUrl, canonical_ip};

/// A loopback, private (RFC 1918, RFC 4193), link-local, unspecified, broadcast or multicast
/// address: one that reaches this machine or its local network (or a group) rather than one host
/// on the internet, so never a public tracker's address. The address is judged in canonical form
/// ([`canonical_ip`]): an IPv4-mapped IPv6 address as the IPv4 address it carries.
pub fn is_internal_address(ip: IpAddr) -> bool {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
}

/// `localhost`, a name under `.localhost` (RFC 6761), with or without the root dot.
pub(crate) fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether the host of a parsed URL (a redirect's `Location`) is internal: an internal IP literal
/// or a localhost name.
pub(crate) fn is_internal_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal_address(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => is_localhost_name(name),
        None => false,
    }
}

/// Whether a tracker is itself on an internal address, by the same rule.
pub(crate) fn is_internal_tracker(url: &TrackerUrl) -> bool {
    url.socket_addr().map_or_else(
        || is_localhost_name(url.host()),
        |a| is_internal_address(a.ip()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_loopback_private_link_local_and_unspecified() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::",
            "::ffff:192.168.0.1",
        ] {
            assert!(is_internal_address(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "172.32.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn localhost_names_are_internal_hosts() {
        for (url, internal) in [
            ("http://localhost/x", true),
            ("http://LOCALHOST./x", true),
            ("http://a.localhost:80/x", true),
            ("http://[::1]:80/x", true),
            ("http://tracker.example/x", false),
            ("http://8.8.8.8/x", false),
        ] {
            assert_eq!(
                is_internal_host(&url::Url::parse(url).unwrap()),
                internal,
                "{url}"
            );
        }
    }
}
