//! The Client simulation's UDP tracker: a `bt_tracker::tracker::Tracker` holding a swarm for every
//! torrent, with two peers of its own in each (see [`peers_for`]), so a reply routed to the wrong
//! torrent shows up as wrong peers and a scrape row given to the wrong torrent as the wrong number
//! of seeders. Around the machine it only watches: it records what it answered per info hash and
//! every connect, and can put a rate limit in front of it (a proxy dropping what is over the rate).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::tracker::{BadConnectionId, Behaviour, OPENTRACKER_BAD_ID, Tracker, TrackerConfig};
use bt_tracker::udp::{Reply, Request};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// The text of the error reply [`SwarmTracker::error_next`] asks for.
const TRY_AGAIN: &[u8] = b"try again later";

/// The peers a swarm tracker lists for `hash` (its swarm's members besides the client): two
/// addresses no other hash gets.
pub fn peers_for(hash: &InfoHash) -> Vec<SocketAddr> {
    let b = hash.0;
    (0..2u8)
        .map(|k| {
            let ip = Ipv4Addr::new(10 + k, b[0], b[1], b[2]);
            SocketAddr::new(ip.into(), u16::from_be_bytes([b[3], b[4]]) | 1)
        })
        .collect()
}

/// The seeders a swarm tracker reports for `hash` in a scrape: how many of the [`peers_for`]
/// peers seed (0, 1 or 2, changing from one torrent to the next; the client leeches).
pub fn seeders_for(hash: &InfoHash) -> u32 {
    u32::from(hash.0[3] % 3)
}

/// What the tracker answered of one info hash: announces by event, and scrapes (all zero for a
/// hash it was asked about and did not answer).
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    pub started: u32,
    pub regular: u32,
    pub completed: u32,
    pub stopped: u32,
    pub scraped: u32,
}

/// A swarm tracker.
#[derive(Debug)]
pub struct SwarmTracker {
    pub addr: SocketAddr,
    /// How long a connection id is accepted (the machine's `connection_id_lifetime`).
    pub lifetime: Duration,
    /// Answer the next announce or scrape that has a valid connection id with an error reply.
    pub error_next: bool,
    tracker: Tracker,
    /// When each connect was answered.
    pub connects: Vec<Instant>,
    /// Info hashes per scrape answered.
    pub scrape_sizes: Vec<usize>,
    pub seen: HashMap<InfoHash, Seen>,
    /// A slow tracker: at most this many requests a second (a token bucket holding `burst`),
    /// the rest dropped unanswered, as `startup_tracker proxy` does on loopback.
    pub rate_limit: Option<RateLimit>,
    /// Requests dropped by the rate limit.
    pub dropped: u64,
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
    tokens: f64,
    at: Option<Instant>,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimit {
            per_second,
            burst,
            tokens: f64::from(burst),
            at: None,
        }
    }

    /// Takes a token if one is left at `now`.
    fn take(&mut self, now: Instant) -> bool {
        let since = self
            .at
            .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        self.at = Some(now);
        self.tokens = (self.tokens + since * f64::from(self.per_second)).min(f64::from(self.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl SwarmTracker {
    /// A tracker on `addr` answering with this interval: opentracker's text for a connection id
    /// it does not accept, room for every torrent of a scale run, and peers that never expire
    /// (a run is hours of virtual time).
    pub fn new(addr: SocketAddr, interval: u32) -> Self {
        let mut config = TrackerConfig::default();
        config.interval = interval;
        config.max_swarms = 1 << 20;
        config.peer_timeout = Duration::from_secs(365 * 24 * 3600);
        let mut behaviour = Behaviour::honest();
        behaviour.bad_connection_id = BadConnectionId::Error(OPENTRACKER_BAD_ID.to_vec());
        let lifetime = config.connection_id_lifetime;
        // The secret of its connection ids, from its address: the same in every run.
        let mut rng = ChaCha12Rng::seed_from_u64(u64::from(addr.port()) ^ 0x5744_524d);
        SwarmTracker {
            addr,
            lifetime,
            error_next: false,
            tracker: Tracker::new(config, behaviour, &mut rng, super::epoch()),
            connects: Vec::new(),
            scrape_sizes: Vec::new(),
            seen: HashMap::new(),
            rate_limit: None,
            dropped: 0,
        }
    }

    /// The tracker machine inside.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The reply to a datagram, if any.
    pub fn handle(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
        let request = Request::parse(bytes).ok()?;
        if let Some(limit) = &mut self.rate_limit
            && !limit.take(now)
        {
            self.dropped += 1;
            return None;
        }
        if self.lifetime != self.tracker.config().connection_id_lifetime {
            let mut config = self.tracker.config().clone();
            config.connection_id_lifetime = self.lifetime;
            self.tracker.set_config(config);
        }
        // Each info hash's record is made with its swarm, so one look-up finds both.
        let tracker = &mut self.tracker;
        let mut announced = None;
        match &request {
            Request::Connect(_) => {}
            Request::Announce(a) => {
                let seen = self.seen.entry(a.info_hash).or_insert_with(|| {
                    populate(tracker, now, a.info_hash);
                    Seen::default()
                });
                announced = Some((seen, a.event));
            }
            Request::Scrape(s) => {
                for h in s.info_hashes.iter() {
                    self.seen.entry(h).or_insert_with(|| {
                        populate(tracker, now, h);
                        Seen::default()
                    });
                }
            }
        }
        let fail = self.error_next && !matches!(request, Request::Connect(_));
        if fail {
            let mut behaviour = tracker.behaviour().clone();
            behaviour.failure = Some((TRY_AGAIN.to_vec(), None));
            tracker.set_behaviour(behaviour);
        }
        tracker.handle_datagram(now, from, bytes);
        let mut out = Vec::new();
        let sent = tracker.poll_transmit(&mut out).is_some();
        if fail {
            let mut behaviour = tracker.behaviour().clone();
            behaviour.failure = None;
            tracker.set_behaviour(behaviour);
        }
        if !sent {
            return None;
        }
        match (Reply::parse(&out, AddressFamily::of(&from)), &request) {
            (Ok(Reply::Connect(_)), _) => self.connects.push(now),
            (Ok(Reply::Announce(_)), _) => {
                if let Some((seen, event)) = announced {
                    match event {
                        AnnounceEvent::Started => seen.started += 1,
                        AnnounceEvent::Completed => seen.completed += 1,
                        AnnounceEvent::Stopped => seen.stopped += 1,
                        _ => seen.regular += 1,
                    }
                }
            }
            (Ok(Reply::Scrape(_)), Request::Scrape(s)) => {
                self.scrape_sizes.push(s.info_hashes.len());
                for h in s.info_hashes.iter() {
                    self.seen.entry(h).or_default().scraped += 1;
                }
            }
            (Ok(Reply::Error(e)), _) if e.message == TRY_AGAIN => self.error_next = false,
            _ => {}
        }
        Some(out)
    }
}

/// Gives the new swarm of `hash` its two [`peers_for`] peers, [`seeders_for`] of them seeding.
fn populate(tracker: &mut Tracker, now: Instant, hash: InfoHash) {
    let seeders = seeders_for(&hash) as usize;
    for (k, addr) in peers_for(&hash).into_iter().enumerate() {
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(b"-SW0001-");
        id[8..12].copy_from_slice(&hash.0[..4]);
        id[12] = k as u8;
        tracker.add_peer(now, hash, PeerId(id), addr, k < seeders);
    }
}
