//! A BitTorrent tracker as a sans-IO machine, for tests and simulations (cargo feature `tracker`).
//!
//! One [`Tracker`] serves UDP (BEP 15) and HTTP (BEP 3, 7, 23, 24, 31, 48) on top of the crate's
//! tracker-side codecs ([`udp::Request::parse`](crate::udp::Request::parse),
//! [`http::AnnounceQuery`](crate::http::AnnounceQuery), the reply encoders). Like the client
//! machine it owns no socket and no clock: datagrams (with their source address) and HTTP request
//! targets (with the client's address) go in with `now`; reply datagrams and HTTP answers come out,
//! each with the time it is due ([`TrackerTransmit::send_at`], [`HttpAnswer::send_at`]), which a
//! slow tracker puts in the future. The secret behind its connection ids comes from the caller's
//! RNG, so a seeded run is reproducible.
//!
//! What it does:
//! - keeps a swarm per info hash: `started` and regular announces add or refresh the peer,
//!   `stopped` removes it, `completed` counts; peers silent for
//!   [`TrackerConfig::peer_timeout`] expire;
//! - issues stateless connection ids keyed like aquatic's (issue time, client IP, secret; valid
//!   [`TrackerConfig::connection_id_lifetime`], 2 minutes by default) and checks them;
//! - answers announce and scrape with `numwant` honoured (default 50, capped at 200, 66 for
//!   UDP/IPv6) and `compact=0` answered in the list form; a scrape of an info hash no one
//!   announced reports zeros (UDP rows are positional; over HTTP as webtorrent does), a `stopped`
//!   announce gets the counts and no peers;
//! - serves both families: a UDP reply carries the peers of the request's family (an IPv4-mapped
//!   source is IPv4), an HTTP reply IPv4 peers in `peers` and IPv6 ones in `peers6`;
//! - misbehaves on request, per tracker: [`Behaviour`] (silence, failure texts with `retry in`,
//!   the 8-byte refusal, rotating or expiring connection ids, floods, delays, 410 and other
//!   statuses, redirects, and presets that act like opentracker, webtorrent's tracker, aquatic and
//!   torrust).
//!
//! Memory is bounded: at most [`TrackerConfig::max_swarms`] swarms of at most
//! [`TrackerConfig::max_peers_per_swarm`] peers, [`MAX_QUEUED_DATAGRAMS`] datagrams waiting, and
//! nothing per connection id. Interval values 0 and `u32::MAX` ([`TrackerConfig::interval`]) are
//! allowed, to test a client's clamping.
//!
//! ```
//! # #![allow(clippy::disallowed_methods)]
//! use std::time::Instant;
//! use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
//! use bt_tracker::udp::{AnnounceRequest, ConnectRequest, Reply};
//! use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId};
//! use rand_chacha::ChaCha12Rng;
//! use rand_core::SeedableRng;
//!
//! let now = Instant::now(); // a simulation passes its virtual time
//! let mut rng = ChaCha12Rng::seed_from_u64(7);
//! let mut tracker = Tracker::new(TrackerConfig::default(), Behaviour::honest(), &mut rng, now);
//! let client = "192.0.2.1:51413".parse()?;
//! let (mut request, mut reply) = ([0u8; 98], Vec::new());
//!
//! // Connect: the reply carries a connection id keyed to the client's address.
//! let n = ConnectRequest { transaction_id: 1 }.encode(&mut request)?;
//! tracker.handle_datagram(now, client, &request[..n]);
//! let out = tracker.poll_transmit(&mut reply).unwrap();
//! assert_eq!((out.to, out.send_at), (client, now));
//! let Reply::Connect(c) = Reply::parse(&reply, AddressFamily::V4)? else { panic!() };
//!
//! // Announce with it: the first peer of the swarm gets no peers but is counted.
//! let announce = AnnounceRequest {
//!     connection_id: c.connection_id,
//!     transaction_id: 2,
//!     info_hash: InfoHash([1; 20]),
//!     peer_id: PeerId(*b"-XX0001-abcdefghijkl"),
//!     downloaded: 0,
//!     left: 1000,
//!     uploaded: 0,
//!     event: AnnounceEvent::Started,
//!     ip: None,
//!     key: 9,
//!     num_want: -1,
//!     port: 6881,
//!     url_data: None,
//! };
//! let n = announce.encode(&mut request)?;
//! tracker.handle_datagram(now, client, &request[..n]);
//! let _ = tracker.poll_transmit(&mut reply).unwrap();
//! let Reply::Announce(a) = Reply::parse(&reply, AddressFamily::V4)? else { panic!() };
//! assert_eq!((a.interval, a.leechers, a.peers.len()), (1800, 1, 0));
//!
//! // HTTP: a request target in, an answer (status, body, due time) out.
//! let target = "/scrape?info_hash=%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01";
//! let answer = tracker.handle_http(now, client, target.as_bytes()).unwrap();
//! assert_eq!(answer.status, 200);
//! assert_eq!(tracker.swarm(&InfoHash([1; 20])).map(|s| s.leechers), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod behaviour;
mod config;
mod connection_id;
mod http;
mod swarm;
mod udp;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::CryptoRng;

pub use behaviour::{
    BadConnectionId, Behaviour, ConnectionIds, EXPIRED_ID, NOT_WHITELISTED, OPENTRACKER_BAD_ID,
    Redirect,
};
pub use config::{MAX_COPIES, MAX_HTTP_SCRAPE_HASHES, MAX_QUEUED_DATAGRAMS, TrackerConfig};
pub use http::HttpAnswer;
pub use swarm::SwarmStats;

use connection_id::Ids;
use swarm::{ExtraPeers, Swarms};

/// Spare reply buffers kept for reuse, so that a tracker answering steadily allocates nothing per
/// reply.
const SPARE_BUFFERS: usize = 8;

/// The largest spare buffer kept: room for the largest UDP payload.
const SPARE_CAPACITY: usize = 1 << 17;

/// The longest [`Behaviour::delay`] honoured (a longer one is cut to it), so that no due time can
/// overflow an `Instant`.
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A datagram the tracker wrote into the caller's buffer with [`Tracker::poll_transmit`]: send
/// `buf[..len]` to `to` at `send_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the datagram is in the buffer and must be sent"]
pub struct TrackerTransmit {
    /// The client: the source address of the request it answers.
    pub to: SocketAddr,
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// When it is due: the request's time, plus [`Behaviour::delay`] for a slow tracker.
    pub send_at: Instant,
}

#[derive(Debug)]
struct Queued {
    to: SocketAddr,
    send_at: Instant,
    bytes: Vec<u8>,
}

/// A UDP and HTTP tracker without I/O: see the [module docs](self).
///
/// Inputs never fail and never panic: a request it cannot read is dropped (UDP) or answered with a
/// `failure reason` (HTTP), as real trackers do.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    behaviour: Behaviour,
    ids: Ids,
    swarms: Swarms,
    queue: VecDeque<Queued>,
    /// [`TrackerConfig::extra_peers`], pre-written.
    extra: ExtraPeers,
    /// The swarm peers of the reply being built (kept to reuse its room).
    scratch: Vec<SocketAddr>,
    /// Emptied reply buffers to build the next replies in.
    spare: Vec<Vec<u8>>,
}

impl Tracker {
    /// A tracker with no swarms. `rng` draws the 32-byte secret of its connection ids (seed it for
    /// a reproducible run); `now` is the origin of their issue times.
    pub fn new<R: CryptoRng + ?Sized>(
        config: TrackerConfig,
        behaviour: Behaviour,
        rng: &mut R,
        now: Instant,
    ) -> Self {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        Tracker {
            extra: ExtraPeers::new(&config.extra_peers),
            config,
            behaviour,
            ids: Ids::new(secret, now),
            swarms: Swarms::new(u64::from_le_bytes(
                secret[24..].try_into().unwrap_or_default(),
            )),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// A datagram from `from` arrived at `now`: its reply (or a flood of copies, or nothing) is
    /// queued for [`poll_transmit`](Self::poll_transmit).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.answer_datagram(now, from, datagram);
    }

    /// The next reply datagram, written into `buf` (cleared first); `None` when none is waiting.
    /// Replies come out in the order they were queued.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<TrackerTransmit> {
        let mut q = self.queue.pop_front()?;
        // The reply's buffer goes to the caller and the caller's to the spares: no copy.
        std::mem::swap(buf, &mut q.bytes);
        if self.spare.len() < SPARE_BUFFERS && (1..=SPARE_CAPACITY).contains(&q.bytes.capacity()) {
            q.bytes.clear();
            self.spare.push(q.bytes);
        }
        Some(TrackerTransmit {
            to: q.to,
            len: buf.len(),
            send_at: q.send_at,
        })
    }

    /// An HTTP GET from `from` with this request target (`/announce?...`, `/scrape?...`; the
    /// absolute form `http://host/announce?...` is accepted too) arrived at `now`. Returns the
    /// answer, or `None` when the tracker does not answer (the caller holds the connection until
    /// its client gives up, or closes it).
    pub fn handle_http(
        &mut self,
        now: Instant,
        from: SocketAddr,
        target: &[u8],
    ) -> Option<HttpAnswer> {
        self.answer_http(now, from, target)
    }

    /// The behaviour in force.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Changes the behaviour from the next request on (swarms and connection ids are kept).
    pub fn set_behaviour(&mut self, behaviour: Behaviour) {
        self.behaviour = behaviour;
    }

    /// Stops accepting every connection id issued so far (a new secret), as if the tracker's key
    /// rotated or it restarted: each client's next announce or scrape with its cached id gets the
    /// [`Behaviour::bad_connection_id`] answer.
    pub fn forget_connection_ids(&mut self) {
        self.ids.rotate();
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Changes the settings from the next request on, as a tracker reconfigured while running
    /// (swarms and connection ids are kept). A shorter
    /// [`connection_id_lifetime`](TrackerConfig::connection_id_lifetime) refuses ids issued
    /// before it that are now too old; smaller caps apply to swarms and peers added from now on.
    pub fn set_config(&mut self, config: TrackerConfig) {
        self.extra = ExtraPeers::new(&config.extra_peers);
        self.config = config;
    }

    /// Puts a peer into the swarm of `info_hash` as if it had announced from `addr` at `now` with
    /// nothing left (`seeder`) or something left to download: it is listed to other announcers,
    /// counted by scrapes, and expires after [`TrackerConfig::peer_timeout`] unless added again.
    /// For a test that wants a populated swarm without announcing for every member. `addr` is
    /// stored in canonical form (an IPv4-mapped address is its IPv4 address).
    ///
    /// Returns false when nothing was stored: the tracker holds
    /// [`TrackerConfig::max_swarms`] swarms already, or keeps no peers
    /// ([`TrackerConfig::max_peers_per_swarm`] 0). Within the caps, a peer beyond a full swarm
    /// replaces the one that announced least recently, as an announce does.
    pub fn add_peer(
        &mut self,
        now: Instant,
        info_hash: crate::InfoHash,
        peer_id: crate::PeerId,
        addr: SocketAddr,
        seeder: bool,
    ) -> bool {
        let addr = crate::canonical_addr(addr);
        self.swarms
            .add_peer(now, &self.config, info_hash, peer_id, addr, seeder)
    }

    /// The counts of one swarm as they stand (peers past their timeout are dropped only when the
    /// swarm is next announced to or scraped); `None` when no one announced it. Reads without
    /// allocating, so a simulation can check every swarm after every step.
    pub fn swarm(&self, info_hash: &crate::InfoHash) -> Option<SwarmStats> {
        self.swarms.peek(info_hash)
    }

    /// Swarms held (at most [`TrackerConfig::max_swarms`]).
    pub fn swarm_count(&self) -> usize {
        self.swarms.len()
    }

    /// When an answer to a request at `now` is due.
    fn due(&self, now: Instant) -> Instant {
        now.checked_add(self.behaviour.delay.min(MAX_DELAY))
            .unwrap_or(now)
    }
}
