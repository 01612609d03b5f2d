//! The simulation's trackers: `bt_tracker::tracker::Tracker`s with the misbehaviours the scenarios
//! pick, each handing out its own peers (no two trackers share one), so the checks know which
//! peers are true.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::http::RetryIn;
use bt_tracker::tracker::{
    BadConnectionId, Behaviour, ConnectionIds, OPENTRACKER_BAD_ID, Redirect as Redirection,
    Tracker, TrackerConfig,
};
use rand_chacha::ChaCha8Rng;

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

/// Where the simulated trackers' peers come from: `index` picks a disjoint set per tracker, in
/// the family of `ipv6`.
pub fn peers_of(index: usize, n: usize, ipv6: bool) -> Vec<SocketAddr> {
    (0..n)
        .map(|k| {
            let k = k as u32;
            let low = ((index as u32) << 16) | (k + 1);
            let ip: IpAddr = if ipv6 {
                Ipv6Addr::new(0xfd0b, 0, 0, 0, 0, 0, (low >> 16) as u16, low as u16).into()
            } else {
                Ipv4Addr::from(0x0b00_0000 | low).into()
            };
            SocketAddr::new(ip, 1000 + (k % 60_000) as u16)
        })
        .collect()
}

/// The settings every simulated tracker shares: this interval, `min interval` half of it, these
/// peers listed first (the client is the only announcer, so they are all it gets), and the
/// misbehaviour's own settings.
fn config(interval: u32, peers: Vec<SocketAddr>) -> TrackerConfig {
    let mut c = TrackerConfig::default();
    c.interval = interval;
    c.min_interval = Some(interval / 2);
    c.extra_peers = peers;
    c.tracker_id = Some(b"sim-id".to_vec());
    c
}

/// A simulated UDP tracker, `index` of the scenario, and the peers it hands out.
pub fn udp_tracker(
    index: usize,
    behaviour: UdpBehaviour,
    interval: u32,
    ipv6: bool,
    rng: &mut ChaCha8Rng,
    now: Instant,
) -> (Tracker, Vec<SocketAddr>) {
    use UdpBehaviour::*;
    let n = if behaviour == Flood { 5000 } else { 5 };
    let peers = peers_of(index, n, ipv6);
    let interval = match behaviour {
        IntervalZero => 0,
        IntervalHuge => u32::MAX,
        _ => interval,
    };
    let mut c = config(interval, peers.clone());
    // opentracker's answer to an id it did not issue.
    let mut b = Behaviour::honest();
    b.bad_connection_id = BadConnectionId::Error(OPENTRACKER_BAD_ID.to_vec());
    match behaviour {
        Silent => b.silent = true,
        ErrorReply => b.failure = Some((b"Info hash not allowed".to_vec(), None)),
        Refuse8 => b.refuse_announces = true,
        RotatingIds => b.connection_ids = ConnectionIds::Rotating,
        ExpiringIds => c.connection_id_lifetime = Duration::from_secs(10),
        Flood => {
            b.ignore_numwant = true;
            c.max_numwant = 5000;
            c.max_numwant_v6 = 5000;
        }
        Honest | IntervalZero | IntervalHuge => {}
    }
    (Tracker::new(c, b, rng, now), peers)
}

/// A simulated HTTP tracker, `index` of the scenario, and the peers it hands out.
pub fn http_tracker(
    index: usize,
    behaviour: HttpBehaviour,
    interval: u32,
    rng: &mut ChaCha8Rng,
    now: Instant,
) -> (Tracker, Vec<SocketAddr>) {
    use HttpBehaviour::*;
    let peers = peers_of(index, 5, false);
    let interval = if behaviour == IntervalZero {
        0
    } else {
        interval
    };
    let c = config(interval, peers.clone());
    let fail = |retry_in| Behaviour::failing(&b"torrent not registered"[..], Some(retry_in));
    let mut b = match behaviour {
        Silent => Behaviour::silent(),
        FailRetryIn => fail(RetryIn::Minutes(5)),
        FailNever => fail(RetryIn::Never),
        _ => Behaviour::honest(),
    };
    match behaviour {
        Gone => b.http_status = Some(410),
        ServerError => b.http_status = Some(500),
        Redirect => b.redirect = Some(Redirection::Under("/real".into())),
        RedirectLoop => b.redirect = Some(Redirection::Loop),
        Slow => b.delay = Duration::from_secs(40),
        _ => {}
    }
    (Tracker::new(c, b, rng, now), peers)
}
