//! How an exchange ended, before the machine applies it (lifecycle, scheduling, events), and the
//! peer-list hygiene both transports share.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::dns::DnsFailure;
use super::event::Cause;
use super::policy::is_localhost_name;
use crate::{CompactPeers, TrackerUrl, canonical_addr, canonical_ip};

/// The end of one exchange, transport-independent.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An announce reply with peers.
    Announced(AnnounceReply),
    /// A scrape reply: one row per requested info hash, in request order (`None` counts: the
    /// tracker does not know that torrent).
    Scraped(Vec<ScrapeCounts>),
    /// A failure, with what it implies for the next attempt to this tracker.
    Failed { cause: Cause, retry: Retry },
}

impl Outcome {
    /// A failure that only calls for the usual backoff.
    pub(crate) fn failed(cause: Cause) -> Self {
        Outcome::Failed {
            cause,
            retry: Retry::Backoff,
        }
    }

    /// A failed lookup: the usual backoff, or no retry before `hold` (see
    /// [`Dns::hold`](super::dns::Dns::hold)).
    pub(crate) fn dns_failed(failure: DnsFailure, hold: Option<Instant>, now: Instant) -> Self {
        Outcome::Failed {
            cause: Cause::Dns(failure),
            retry: hold.map_or(Retry::Backoff, |t| {
                Retry::After(t.saturating_duration_since(now))
            }),
        }
    }
}

/// What a reply did to an exchange.
#[derive(Debug)]
pub(crate) enum Step {
    /// Not a reply this exchange waits for: nothing changed.
    Ignored,
    /// Accepted; the exchange goes on (a UDP connect reply or reconnect, an HTTP redirect).
    Continue,
    /// Accepted; the exchange is over.
    Done(Outcome),
}

/// What a scrape says about one torrent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScrapeCounts {
    pub(crate) seeders: Option<u32>,
    pub(crate) completed: Option<u32>,
    pub(crate) leechers: Option<u32>,
    /// BEP 48 `flags.min_request_interval`: no scrape of this tracker before this long.
    pub(crate) min_request_interval: Option<Duration>,
}

/// When a failed tracker may be contacted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// After the round's failure backoff.
    Backoff,
    /// Not before this long (BEP 31 `retry in`, or an `interval` sent with the failure).
    After(Duration),
    /// Never (HTTP 410, `retry in: never`).
    Never,
}

/// The parts of an announce reply the machine keeps.
#[derive(Debug, Default)]
pub(crate) struct AnnounceReply {
    pub(crate) interval: Option<i64>,
    pub(crate) min_interval: Option<i64>,
    pub(crate) seeders: Option<u32>,
    pub(crate) leechers: Option<u32>,
    pub(crate) peers: Vec<SocketAddr>,
    pub(crate) warning: Option<String>,
    pub(crate) external_ip: Option<IpAddr>,
    pub(crate) tracker_id: Option<Vec<u8>>,
}

/// The longest `tracker id` echoed back; a longer one is ignored rather than stored.
pub const MAX_TRACKER_ID_LEN: usize = 256;

/// A count as the event gives it: negative or oversized values are treated as not sent.
pub(crate) fn count(value: Option<i64>) -> Option<u32> {
    value.and_then(|n| u32::try_from(n).ok())
}

/// Peers fit to connect to: ports 0 and 1 and unspecified, broadcast and multicast addresses
/// dropped, addresses in canonical form (IPv4-mapped IPv6 written as IPv4), at most `max` kept (in
/// the tracker's order), then sorted (IPv4 first) and deduplicated.
///
/// Port 1 is the placeholder of clients that cannot accept connections (libtorrent drops such
/// peers unconditionally, libtorrent#7329): dialling it only wastes a connection attempt.
pub(crate) fn usable_peers(peers: impl Iterator<Item = SocketAddr>, max: usize) -> Vec<SocketAddr> {
    // Sized up front: the lower size hint of a compact list is its length. A plain loop, so the
    // cost does not hinge on the compiler inlining an iterator chain.
    let mut out: Vec<SocketAddr> = Vec::with_capacity(peers.size_hint().0.min(max));
    for peer in peers {
        if out.len() >= max {
            break;
        }
        if let Some(peer) = usable(peer) {
            out.push(peer);
        }
    }
    // Sorted on a cheap integer key first (IPv4 peers never tie unless equal); full order breaks ties.
    out.sort_unstable_by(|a, b| sort_key(a).cmp(&sort_key(b)).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// An IPv4 peer's address and port in one integer; every IPv6 peer gets the same, largest key.
#[inline]
fn sort_key(peer: &SocketAddr) -> u64 {
    match peer {
        SocketAddr::V4(a) => (u64::from(a.ip().to_bits()) << 16) | u64::from(a.port()),
        SocketAddr::V6(_) => u64::MAX,
    }
}

/// [`usable_peers`] of a compact list. An IPv4 wire list (the common UDP reply) is filtered, sorted
/// and deduplicated as integers straight from its bytes: same result, a fraction of the cost.
pub(crate) fn usable_compact(peers: &CompactPeers<'_>, max: usize) -> Vec<SocketAddr> {
    let Some(entries) = peers.v4_entries() else {
        return usable_peers(peers.iter(), max);
    };
    let wanted = entries.len().min(max);
    // The keys of a typical reply fit a small stack buffer; a longer one gets a heap buffer.
    let mut stack = [0u64; 64];
    let mut heap = Vec::new();
    let keys: &mut [u64] = if wanted <= stack.len() {
        &mut stack[..wanted]
    } else {
        heap.resize(wanted, 0);
        &mut heap
    };
    let mut n = 0;
    for e in entries {
        if n >= wanted {
            break;
        }
        let ip = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let port = u16::from_be_bytes([e[4], e[5]]);
        // Ports 0 and 1, 0.0.0.0/8, multicast (224.0.0.0/4) and broadcast, as in `usable`.
        if port <= 1 || ip >> 24 == 0 || ip >> 28 == 0xe || ip == u32::MAX {
            continue;
        }
        keys[n] = (u64::from(ip) << 16) | u64::from(port);
        n += 1;
    }
    let keys = &mut keys[..n];
    keys.sort_unstable();
    let mut out = Vec::with_capacity(n);
    let mut last = None;
    for &k in keys.iter() {
        if last != Some(k) {
            out.push(SocketAddr::from((
                Ipv4Addr::from_bits((k >> 16) as u32),
                k as u16,
            )));
            last = Some(k);
        }
    }
    out
}

/// The peer as this client would dial it (in canonical form), or `None` when it cannot be dialled.
#[inline]
fn usable(peer: SocketAddr) -> Option<SocketAddr> {
    let peer = canonical_addr(peer);
    let ip = peer.ip();
    let unusable = peer.port() <= 1 || crate::addr::not_unicast(ip).is_some();
    (!unusable).then_some(peer)
}

/// Removes this client from `peers`: its announced `port` at the address the tracker reported (BEP
/// 24 `external ip`) or, for a tracker on a loopback address, at a loopback address. Trackers list
/// the announcer among the peers (opentracker and bittorrent-tracker both do); connecting to
/// oneself is wasted work. Every address is compared in canonical form, so `::ffff:192.0.2.7` is
/// `192.0.2.7` and a tracker at `[::ffff:127.0.0.1]` is on loopback.
pub(crate) fn drop_self(
    peers: &mut Vec<SocketAddr>,
    port: u16,
    tracker: &TrackerUrl,
    external_ip: Option<IpAddr>,
) {
    let tracker_on_loopback = tracker.socket_addr().map_or_else(
        || is_localhost_name(tracker.host()),
        |a| canonical_ip(a.ip()).is_loopback(),
    );
    if external_ip.is_none() && !tracker_on_loopback {
        return;
    }
    let external_ip = external_ip.map(canonical_ip);
    peers.retain(|peer| {
        let ip = canonical_ip(peer.ip());
        peer.port() != port
            || !(Some(ip) == external_ip || (tracker_on_loopback && ip.is_loopback()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_peers_are_dropped_and_duplicates_merged() {
        let addrs = [
            "10.0.0.1:6881",
            "[::ffff:10.0.0.1]:6881",
            "10.0.0.2:0",
            "0.0.0.0:1",
            "0.1.2.3:6881",
            "[::ffff:255.255.255.255]:6881",
            "255.255.255.255:1",
            "224.0.0.1:1",
            "[::]:1",
            "[ff02::1]:1",
            "[2001:db8::1]:51413",
            "10.0.0.3:1",
            "[::ffff:10.0.0.4]:1",
            "[2001:db8::2]:1",
            "10.0.0.3:2",
        ];
        let peers = usable_peers(addrs.iter().map(|a| a.parse().unwrap()), 20);
        let want: Vec<SocketAddr> = ["10.0.0.1:6881", "10.0.0.3:2", "[2001:db8::1]:51413"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(peers, want);
    }

    #[test]
    fn peer_cap_counts_usable_entries_in_tracker_order() {
        let addrs = ["10.0.0.9:2", "10.0.0.0:0", "10.0.0.5:2", "10.0.0.1:2"];
        let peers = usable_peers(addrs.iter().map(|a| a.parse().unwrap()), 2);
        assert_eq!(
            peers,
            vec!["10.0.0.5:2".parse().unwrap(), "10.0.0.9:2".parse().unwrap()]
        );
    }

    #[test]
    fn the_ipv4_fast_path_keeps_the_same_peers_as_the_generic_one() {
        fn same(bytes: Vec<u8>, max: u8) -> bool {
            // Few distinct byte values: many duplicates, ports 0, 1 and 256, 0.0.0.0, multicast
            // (224.x), reserved (240.x) and broadcast entries.
            let bytes: Vec<u8> = bytes
                .iter()
                .map(|b| [0, 1, 224, 240, 255][usize::from(b % 5)])
                .collect();
            let peers = CompactPeers::new(&bytes, crate::AddressFamily::V4);
            let max = usize::from(max);
            usable_compact(&peers, max) == usable_peers(peers.iter(), max)
        }
        quickcheck::QuickCheck::new()
            .tests(2000)
            .quickcheck(same as fn(Vec<u8>, u8) -> bool);
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn self_is_dropped_at_the_external_ip_or_on_loopback_only() {
        let remote = TrackerUrl::parse("udp://192.0.2.7:6969").unwrap();
        let mut peers = addrs(&["127.0.0.1:6881", "198.51.100.1:6881", "198.51.100.1:1"]);
        drop_self(&mut peers, 6881, &remote, "198.51.100.1".parse().ok());
        assert_eq!(peers, addrs(&["127.0.0.1:6881", "198.51.100.1:1"]));

        let local = TrackerUrl::parse("http://127.0.0.1:6969/announce").unwrap();
        let mut peers = addrs(&[
            "127.0.0.1:6881",
            "[::1]:6881",
            "127.0.0.1:6882",
            "10.0.0.1:6881",
        ]);
        drop_self(&mut peers, 6881, &local, None);
        assert_eq!(peers, addrs(&["127.0.0.1:6882", "10.0.0.1:6881"]));
    }

    #[test]
    fn self_is_recognised_in_ipv4_mapped_form_on_either_side() {
        // The tracker reports the external ip IPv4-mapped; the peer list holds it as IPv4.
        let remote = TrackerUrl::parse("udp://192.0.2.1:6969").unwrap();
        let mut peers = addrs(&["192.0.2.7:6881", "192.0.2.8:6881"]);
        drop_self(&mut peers, 6881, &remote, "::ffff:192.0.2.7".parse().ok());
        assert_eq!(peers, addrs(&["192.0.2.8:6881"]));

        // The other way round: a mapped peer entry, an IPv4 external ip.
        let mut peers = addrs(&["[::ffff:192.0.2.7]:6881", "192.0.2.8:6881"]);
        drop_self(&mut peers, 6881, &remote, "192.0.2.7".parse().ok());
        assert_eq!(peers, addrs(&["192.0.2.8:6881"]));

        // A tracker URL with an IPv4-mapped loopback host is on loopback.
        let mapped_loopback = TrackerUrl::parse("udp://[::ffff:127.0.0.1]:6969").unwrap();
        let mut peers = addrs(&["127.0.0.1:6881", "[::1]:6881", "192.0.2.8:6881"]);
        drop_self(&mut peers, 6881, &mapped_loopback, None);
        assert_eq!(peers, addrs(&["192.0.2.8:6881"]));
    }

    #[test]
    fn ipv6_lists_give_mapped_entries_as_ipv4() {
        // Two 18-byte entries: ::ffff:192.0.2.8 port 6881, and 2001:db8::1 port 6881.
        let mut bytes = [0u8; 36];
        bytes[10..12].copy_from_slice(&[0xff, 0xff]);
        bytes[12..18].copy_from_slice(&[192, 0, 2, 8, 0x1a, 0xe1]);
        bytes[18..20].copy_from_slice(&[0x20, 0x01]);
        bytes[20..22].copy_from_slice(&[0x0d, 0xb8]);
        bytes[33..36].copy_from_slice(&[1, 0x1a, 0xe1]);
        let peers = CompactPeers::new(&bytes, crate::AddressFamily::V6);
        assert_eq!(
            usable_compact(&peers, 10),
            addrs(&["192.0.2.8:6881", "[2001:db8::1]:6881"])
        );
    }
}
