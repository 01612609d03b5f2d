//! The tracker's settings and its fixed caps.

use std::net::SocketAddr;
use std::time::Duration;

/// Datagrams waiting for [`Tracker::poll_transmit`](super::Tracker::poll_transmit). A reply that
/// would go beyond it is dropped, as an overloaded tracker drops it; drain after every input and
/// it is never reached (a flood queues at most [`MAX_COPIES`] per request).
pub const MAX_QUEUED_DATAGRAMS: usize = 1024;

/// The most copies of one reply a flooding tracker sends ([`Behaviour::copies`](super::Behaviour::copies)
/// is capped to it).
pub const MAX_COPIES: u32 = 256;

/// Info hashes answered per HTTP scrape (opentracker's `OT_MAXMULTISCRAPE_COUNT`, PROTOCOL.md
/// section 15); the rest are left out of `files`.
pub const MAX_HTTP_SCRAPE_HASHES: usize = 64;

/// Settings of a [`Tracker`](super::Tracker). Defaults follow PROTOCOL.md section 15 ("our tracker
/// defaults"); start from [`TrackerConfig::default`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerConfig {
    /// `interval` in every announce reply, in seconds. 0 and `u32::MAX` are allowed (a test of a
    /// client's clamping sends them). Default 1800.
    pub interval: u32,
    /// HTTP `min interval`, in seconds (UDP has no such field); `None` leaves it out. Default 900.
    pub min_interval: Option<u32>,
    /// A peer that has not announced for this long is dropped from its swarm (checked lazily, when
    /// its swarm is next announced to or scraped). Default 45 min (opentracker).
    pub peer_timeout: Duration,
    /// Peers given when the announce names no `numwant` (HTTP) or `num_want <= 0` (UDP). Default 50.
    pub default_numwant: u32,
    /// Most peers given per reply over HTTP and UDP/IPv4. Default 200 (opentracker; 20 + 200 * 6
    /// bytes fit one datagram). A UDP reply never carries more than fit 65,507 bytes (10,914
    /// IPv4 or 3,638 IPv6 peers), whatever this says.
    pub max_numwant: u32,
    /// Most peers given per UDP/IPv6 reply. Default 66 (opentracker; 20 + 66 * 18 bytes).
    pub max_numwant_v6: u32,
    /// Swarms (info hashes) kept. A new info hash beyond it is answered (with
    /// [`extra_peers`](Self::extra_peers) and zero counts) but not stored, unless a swarm whose
    /// peers all expired can make room. Default 10,000.
    pub max_swarms: usize,
    /// Peers kept per swarm. A new peer beyond it replaces the one that announced least
    /// recently. Default 1,000.
    pub max_peers_per_swarm: usize,
    /// How long a UDP connection id is accepted after it was issued, in whole seconds (an id is
    /// accepted until its age in whole seconds exceeds this). Zero accepts no id at all: every
    /// announce and scrape gets the [`Behaviour::bad_connection_id`](super::Behaviour::bad_connection_id)
    /// answer. Default 120 s (BEP 15).
    pub connection_id_lifetime: Duration,
    /// List the announcer in its own peer list (opentracker and webtorrent do; aquatic does not).
    /// Default `false`.
    pub include_announcer: bool,
    /// Peers listed first in every swarm's replies (for a demo tracker whose swarms should never
    /// look empty; they count toward `numwant` and are never counted as seeders or leechers).
    /// Default none.
    pub extra_peers: Vec<SocketAddr>,
    /// Send BEP 24 `external ip` (the announcer's address as seen) in HTTP replies. Default `true`.
    pub send_external_ip: bool,
    /// Send this `tracker id` in HTTP announce replies. Default none.
    pub tracker_id: Option<Vec<u8>>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            interval: 1800,
            min_interval: Some(900),
            peer_timeout: Duration::from_secs(45 * 60),
            default_numwant: 50,
            max_numwant: 200,
            max_numwant_v6: 66,
            max_swarms: 10_000,
            max_peers_per_swarm: 1_000,
            connection_id_lifetime: Duration::from_secs(120),
            include_announcer: false,
            extra_peers: Vec::new(),
            send_external_ip: true,
            tracker_id: None,
        }
    }
}
