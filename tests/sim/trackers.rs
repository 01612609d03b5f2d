//! Simulated UDP and HTTP trackers built on the crate's own tracker-side codecs, with misbehaviours
//! to switch on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::http::{
    AnnounceQuery, AnnounceSuccess, Failure, HttpResponse, Peers, RetryIn, ScrapeFile, ScrapeQuery,
    encode_scrape,
};
use bt_tracker::udp::{
    AnnounceResponse, ConnectResponse, ErrorResponse, Reply, Request, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, CompactPeers};

/// What a simulated UDP tracker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpBehaviour {
    /// Answers everything; connection ids valid 120 s.
    Honest,
    /// Never answers.
    Silent,
    /// Answers connects, refuses announces and scrapes with an error reply.
    ErrorReply,
    /// Answers connects, refuses announces with opentracker's 8-byte reply.
    Refuse8,
    /// Each connection id is accepted once; reuse gets "Connection ID missmatch".
    RotatingIds,
    /// Connection ids expire after 10 s (the client caches them for 60 s).
    ExpiringIds,
    /// Interval 0 in every reply.
    IntervalZero,
    /// Interval u32::MAX in every reply.
    IntervalHuge,
    /// 5,000 peers per reply (more than the client keeps).
    Flood,
}

/// What a simulated HTTP tracker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpBehaviour {
    /// Answers with compact peers.
    Honest,
    /// Never answers (the machine's deadline fires).
    Silent,
    /// `failure reason` with `retry in` 5 minutes.
    FailRetryIn,
    /// `failure reason` with `retry in: never`.
    FailNever,
    /// HTTP 410.
    Gone,
    /// A relative redirect to `/real/announce`, which answers honestly.
    Redirect,
    /// Redirects forever.
    RedirectLoop,
    /// HTTP 500 with an HTML body.
    ServerError,
    /// Interval 0 and min interval 0.
    IntervalZero,
    /// Answers after 40 s, past the machine's 30 s deadline.
    Slow,
}

/// Where the simulated trackers' peers come from: `index` picks a disjoint set per tracker.
pub fn peers_of(index: usize, n: usize) -> Vec<SocketAddr> {
    (0..n)
        .map(|k| {
            let k = k as u32;
            let ip = std::net::Ipv4Addr::from(0x0b00_0000 | ((index as u32) << 16) | (k + 1));
            SocketAddr::new(ip.into(), 1000 + (k % 60_000) as u16)
        })
        .collect()
}

/// A simulated UDP tracker.
#[derive(Debug)]
pub struct UdpTracker {
    pub addr: SocketAddr,
    pub behaviour: UdpBehaviour,
    pub peers: Vec<SocketAddr>,
    pub interval: u32,
    index: u64,
    next_id: u64,
    /// Issued connection ids and when.
    issued: HashMap<u64, Instant>,
}

impl UdpTracker {
    pub fn new(index: usize, addr: SocketAddr, behaviour: UdpBehaviour, interval: u32) -> Self {
        let n = if behaviour == UdpBehaviour::Flood {
            5000
        } else {
            5
        };
        UdpTracker {
            addr,
            behaviour,
            peers: peers_of(index, n),
            interval: match behaviour {
                UdpBehaviour::IntervalZero => 0,
                UdpBehaviour::IntervalHuge => u32::MAX,
                _ => interval,
            },
            index: index as u64,
            next_id: 0,
            issued: HashMap::new(),
        }
    }

    /// The reply to a datagram, if any.
    pub fn handle(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
        use UdpBehaviour::*;
        if self.behaviour == Silent {
            return None;
        }
        let request = Request::parse(bytes).ok()?;
        let family = AddressFamily::of(&from);
        let mut out = vec![0u8; 65_535];
        let (connection_id, txid) = match &request {
            Request::Connect(c) => {
                self.next_id += 1;
                let id = (self.index << 32) | self.next_id;
                self.issued.insert(id, now);
                let len = ConnectResponse {
                    transaction_id: c.transaction_id,
                    connection_id: id,
                }
                .encode(&mut out)
                .ok()?;
                out.truncate(len);
                return Some(out);
            }
            Request::Announce(a) => (a.connection_id, a.transaction_id),
            Request::Scrape(s) => (s.connection_id, s.transaction_id),
        };
        let lifetime = Duration::from_secs(if self.behaviour == ExpiringIds {
            10
        } else {
            120
        });
        let valid = self
            .issued
            .get(&connection_id)
            .is_some_and(|&at| now.duration_since(at) <= lifetime);
        if self.behaviour == RotatingIds {
            self.issued.remove(&connection_id);
        }
        let reply = if !valid {
            Reply::Error(ErrorResponse {
                transaction_id: txid,
                message: b"Connection ID missmatch.\0",
            })
        } else {
            match (&request, self.behaviour) {
                (_, ErrorReply) => Reply::Error(ErrorResponse {
                    transaction_id: txid,
                    message: b"Info hash not allowed",
                }),
                (Request::Announce(_), Refuse8) => Reply::AnnounceRefused {
                    transaction_id: txid,
                },
                (Request::Announce(_), _) => Reply::Announce(AnnounceResponse {
                    transaction_id: txid,
                    interval: self.interval,
                    leechers: 1,
                    seeders: 2,
                    peers: CompactPeers::from_addrs(&self.peers),
                }),
                _ => {
                    let rows = [ScrapeStats {
                        seeders: 2,
                        completed: 3,
                        leechers: 1,
                    }];
                    return encode(
                        Reply::Scrape(ScrapeResponse {
                            transaction_id: txid,
                            rows: rows[..].into(),
                        }),
                        family,
                        out,
                    );
                }
            }
        };
        encode(reply, family, out)
    }
}

fn encode(reply: Reply<'_>, family: AddressFamily, mut out: Vec<u8>) -> Option<Vec<u8>> {
    let len = reply.encode(family, &mut out).ok()?;
    out.truncate(len);
    Some(out)
}

/// A simulated HTTP tracker.
#[derive(Debug)]
pub struct HttpTracker {
    pub behaviour: HttpBehaviour,
    pub peers: Vec<SocketAddr>,
    pub interval: i64,
    pub min_interval: i64,
}

impl HttpTracker {
    pub fn new(index: usize, behaviour: HttpBehaviour, interval: i64) -> Self {
        let zero = behaviour == HttpBehaviour::IntervalZero;
        HttpTracker {
            behaviour,
            peers: peers_of(index, 5),
            interval: if zero { 0 } else { interval },
            min_interval: if zero { 0 } else { interval / 2 },
        }
    }

    /// The response to a GET of `url`, or `None` for no answer at all; the extra delay for slow
    /// answers comes with it.
    pub fn handle(&mut self, url: &str) -> Option<(HttpResponse<'static>, Duration)> {
        use HttpBehaviour::*;
        let (path, query) = url
            .split_once("://")?
            .1
            .split_once('/')?
            .1
            .split_once('?')?;
        let reply = |status, body: Vec<u8>| HttpResponse {
            status,
            location: None,
            body: body.into(),
        };
        let mut body = Vec::new();
        if path.starts_with("scrape") {
            let q = ScrapeQuery::parse(query.as_bytes()).ok()?;
            let files: Vec<_> = q
                .info_hashes
                .iter()
                .map(|h| {
                    (
                        *h,
                        ScrapeFile {
                            complete: 2,
                            incomplete: 1,
                            downloaded: 3,
                            downloaders: None,
                        },
                    )
                })
                .collect();
            encode_scrape(&files, None, &mut body);
            return Some((reply(200, body), Duration::ZERO));
        }
        // A query the tracker cannot parse gets no answer, as a real tracker drops it.
        AnnounceQuery::parse(query.as_bytes()).ok()?;
        let failure = |retry_in| Failure {
            reason: b"torrent not registered",
            retry_in,
            interval: None,
            min_interval: None,
        };
        let response = match self.behaviour {
            Silent => return None,
            FailRetryIn => {
                failure(Some(RetryIn::Minutes(5))).encode(&mut body);
                reply(200, body)
            }
            FailNever => {
                failure(Some(RetryIn::Never)).encode(&mut body);
                reply(200, body)
            }
            Gone => reply(410, b"gone".to_vec()),
            ServerError => reply(500, b"<html>oops</html>".to_vec()),
            Redirect | RedirectLoop
                if self.behaviour == RedirectLoop || !path.starts_with("real/") =>
            {
                HttpResponse {
                    status: 302,
                    location: Some(format!("/real/announce?{query}").into()),
                    body: Vec::new().into(),
                }
            }
            _ => {
                let v4: Vec<SocketAddr> = self.peers.clone();
                AnnounceSuccess {
                    interval: Some(self.interval),
                    min_interval: Some(self.min_interval),
                    warning: None,
                    tracker_id: Some(b"sim-id"),
                    complete: Some(2),
                    incomplete: Some(1),
                    downloaded: None,
                    peers: Peers::Compact(CompactPeers::from_addrs(&v4)),
                    peers6: CompactPeers::empty(),
                    external_ip: None,
                    crypto_flags: None,
                }
                .encode(&mut body)
                .ok()?;
                reply(200, body)
            }
        };
        let delay = if self.behaviour == Slow {
            Duration::from_secs(40)
        } else {
            Duration::ZERO
        };
        Some((response, delay))
    }
}
