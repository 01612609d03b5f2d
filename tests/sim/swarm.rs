//! A simulated UDP tracker for many torrents, built on the crate's tracker-side codecs. Its peers
//! and scrape counts are derived from each info hash, so a reply routed to the wrong torrent shows
//! up as wrong peers. It records what it saw per info hash and every connect it answered.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::udp::{
    AnnounceResponse, ConnectResponse, ErrorResponse, Reply, Request, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash};

/// The peers a swarm tracker returns for `hash`: two addresses no other hash gets.
pub fn peers_for(hash: &InfoHash) -> Vec<SocketAddr> {
    let b = hash.0;
    (0..2u8)
        .map(|k| {
            let ip = Ipv4Addr::new(10 + k, b[0], b[1], b[2]);
            SocketAddr::new(ip.into(), u16::from_be_bytes([b[3], b[4]]) | 1)
        })
        .collect()
}

/// The seeders a swarm tracker reports for `hash` in a scrape.
pub fn seeders_for(hash: &InfoHash) -> u32 {
    u32::from_be_bytes([0, 0, hash.0[1], hash.0[2]])
}

/// What the tracker saw of one info hash.
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
    pub interval: u32,
    /// How long a connection id is accepted.
    pub lifetime: Duration,
    /// Answer the next announce or scrape with an error reply.
    pub error_next: bool,
    next_id: u64,
    issued: HashMap<u64, Instant>,
    /// When each connect was answered.
    pub connects: Vec<Instant>,
    /// Info hashes per scrape packet received.
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
    pub fn new(addr: SocketAddr, interval: u32) -> Self {
        SwarmTracker {
            addr,
            interval,
            lifetime: Duration::from_secs(120),
            error_next: false,
            next_id: 0,
            issued: HashMap::new(),
            connects: Vec::new(),
            scrape_sizes: Vec::new(),
            seen: HashMap::new(),
            rate_limit: None,
            dropped: 0,
        }
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
        let out = vec![0u8; 2048];
        let (connection_id, txid) = match &request {
            Request::Connect(c) => {
                self.next_id += 1;
                self.issued.insert(self.next_id, now);
                self.connects.push(now);
                let reply = Reply::Connect(ConnectResponse {
                    transaction_id: c.transaction_id,
                    connection_id: self.next_id,
                });
                return encode(reply, &from, out);
            }
            Request::Announce(a) => (a.connection_id, a.transaction_id),
            Request::Scrape(s) => (s.connection_id, s.transaction_id),
        };
        let valid = self
            .issued
            .get(&connection_id)
            .is_some_and(|&at| now.duration_since(at) <= self.lifetime);
        if !valid || std::mem::take(&mut self.error_next) {
            let message: &[u8] = if valid {
                b"try again later"
            } else {
                b"Connection ID missmatch.\0"
            };
            let reply = Reply::Error(ErrorResponse {
                transaction_id: txid,
                message,
            });
            return encode(reply, &from, out);
        }
        match request {
            Request::Announce(a) => {
                let seen = self.seen.entry(a.info_hash).or_default();
                match a.event {
                    AnnounceEvent::Started => seen.started += 1,
                    AnnounceEvent::Completed => seen.completed += 1,
                    AnnounceEvent::Stopped => seen.stopped += 1,
                    _ => seen.regular += 1,
                }
                let peers = peers_for(&a.info_hash);
                let reply = Reply::Announce(AnnounceResponse {
                    transaction_id: txid,
                    interval: self.interval,
                    leechers: 1,
                    seeders: seeders_for(&a.info_hash),
                    peers: CompactPeers::from_addrs(&peers),
                });
                encode(reply, &from, out)
            }
            Request::Scrape(s) => {
                self.scrape_sizes.push(s.info_hashes.len());
                let rows: Vec<ScrapeStats> = s
                    .info_hashes
                    .iter()
                    .map(|h| {
                        self.seen.entry(h).or_default().scraped += 1;
                        ScrapeStats {
                            seeders: seeders_for(&h),
                            completed: 7,
                            leechers: 1,
                        }
                    })
                    .collect();
                let reply = Reply::Scrape(ScrapeResponse {
                    transaction_id: txid,
                    rows: rows[..].into(),
                });
                encode(reply, &from, out)
            }
            Request::Connect(_) => None,
        }
    }
}

fn encode(reply: Reply<'_>, to: &SocketAddr, mut out: Vec<u8>) -> Option<Vec<u8>> {
    let len = reply.encode(AddressFamily::of(to), &mut out).ok()?;
    out.truncate(len);
    Some(out)
}
