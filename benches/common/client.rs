//! A client full of idle torrents, for the Client benches and the footprint test: a stateless
//! tracker answers at once, and the torrents are driven until every one has announced. Plus one
//! active torrent on a tracker of its own, to time re-announce rounds among the idle ones.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Config, Event, Progress, Torrent};
use bt_tracker::client::Client;
use bt_tracker::udp::{
    AnnounceResponse, CONNECT_LEN, ConnectResponse, MAX_REQUEST_LEN, Reply, Request,
};
use bt_tracker::{AddressFamily, CompactPeers, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// Trackers the torrents are spread over.
pub const TRACKERS: u32 = 4;

/// The URL of idle tracker `t`.
pub fn url(t: u32) -> TrackerUrl {
    TrackerUrl::parse(&format!("udp://10.7.0.{}:6969/announce", t + 1)).unwrap()
}

/// A tracker that keeps nothing: a connect gets id 1, an announce two peers and `interval`.
pub fn respond(bytes: &[u8], interval: u32) -> Option<Vec<u8>> {
    let peers: [SocketAddr; 2] = [
        "10.1.0.1:6881".parse().unwrap(),
        "10.1.0.2:6881".parse().unwrap(),
    ];
    let reply = match Request::parse(bytes).ok()? {
        Request::Connect(c) => Reply::Connect(ConnectResponse {
            transaction_id: c.transaction_id,
            connection_id: 1,
        }),
        Request::Announce(a) => Reply::Announce(AnnounceResponse {
            transaction_id: a.transaction_id,
            interval,
            leechers: 1,
            seeders: 1,
            peers: CompactPeers::from_addrs(&peers),
        }),
        Request::Scrape(_) => return None,
    };
    let mut out = vec![0u8; 256];
    let len = reply.encode(AddressFamily::V4, &mut out).ok()?;
    out.truncate(len);
    Some(out)
}

/// Drains the client, answering every datagram at once; returns the announces answered.
pub fn drain(client: &mut Client, now: Instant, interval: u32) -> usize {
    let mut buf = Vec::with_capacity(MAX_REQUEST_LEN);
    let mut announced = 0;
    loop {
        let mut replies = Vec::new();
        while let Some(t) = client.poll_transmit(&mut buf) {
            if let Some(reply) = respond(&buf, interval) {
                let to = t.destination;
                replies.push((to, reply));
            }
        }
        while let Some((_, event)) = client.poll_event() {
            announced += usize::from(matches!(event, Event::Announced(_)));
        }
        if replies.is_empty() {
            return announced;
        }
        for (from, reply) in replies {
            client.handle_datagram(now, from, &reply);
        }
    }
}

/// Torrent `k` of a bench client.
pub fn torrent(k: u32) -> Torrent {
    let mut hash = [0u8; 20];
    hash[..4].copy_from_slice(&k.to_be_bytes());
    Torrent {
        info_hash: InfoHash(hash),
        peer_id: PeerId(*b"-BT0001-footprint001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

/// A client with `n` torrents (one tracker each, four trackers), all announced and idle: the
/// stateless tracker sends `interval` (seconds), so nothing is due for that long. Also returns
/// the virtual time reached (pacing spreads the first announces out).
pub fn idle_client(n: u32, config: Config, start: Instant, interval: u32) -> (Client, Instant) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut client = Client::new(config, &mut rng, start).unwrap();
    let mut now = start;
    let mut announced = 0;
    for k in 0..n {
        client
            .add(now, torrent(k), vec![vec![url(k % TRACKERS)]])
            .unwrap();
        announced += drain(&mut client, now, interval);
    }
    while announced < n as usize {
        let next = client.poll_timeout().expect("announces are scheduled");
        assert!(next < start + Duration::from_secs(1000), "not idle in time");
        now = now.max(next);
        client.handle_timeout(now);
        announced += drain(&mut client, now, interval);
    }
    let idle_until = now + Duration::from_secs(u64::from(interval) / 2);
    assert!(client.poll_timeout().is_none_or(|next| next > idle_until));
    (client, now)
}

/// The active torrent's tracker.
pub const ACTIVE: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::new(192, 0, 2, 1),
    6969,
));

/// A config for timing rounds: a connection id that never expires, and 1-second intervals
/// allowed, so each round is one announce and one reply a virtual second apart.
pub fn round_config() -> Config {
    let mut config = Config::default();
    config.connection_id_lifetime = Duration::from_secs(365 * 24 * 3600);
    config.interval_ceiling = Duration::from_secs(365 * 24 * 3600);
    config.interval_floor = Duration::from_secs(1);
    config.min_interval_floor = Duration::from_secs(1);
    config.default_min_interval = Duration::from_secs(1);
    config
}

/// Adds the active torrent, answers its connect and first announce with `reply` (whose
/// interval the rounds follow), and drains it.
pub fn add_active(client: &mut Client, now: Instant, reply: &mut [u8]) {
    let tiers = vec![vec![
        TrackerUrl::parse("udp://192.0.2.1:6969/announce").unwrap(),
    ]];
    client.add(now, torrent(u32::MAX), tiers).unwrap();
    let mut buf = Vec::new();
    let t = client.poll_transmit(&mut buf).unwrap();
    assert_eq!(t.len, bt_tracker::udp::CONNECT_LEN);
    connect(client, now, &buf);
    let announce = client.poll_transmit(&mut buf).unwrap();
    assert!(announce.len > bt_tracker::udp::CONNECT_LEN);
    reply[4..8].copy_from_slice(&buf[12..16]);
    assert!(client.handle_datagram(now, ACTIVE, reply));
    assert!(matches!(
        client.poll_event(),
        Some((_, Event::Announced(_)))
    ));
}

/// Answers the connect request in `buf`.
fn connect(client: &mut Client, now: Instant, buf: &[u8]) {
    let response = ConnectResponse {
        transaction_id: u32::from_be_bytes(buf[12..16].try_into().unwrap()),
        connection_id: 7,
    };
    let mut reply = [0u8; CONNECT_LEN];
    response.encode(&mut reply).unwrap();
    assert!(client.handle_datagram(now, ACTIVE, &reply));
}

/// One round of the active torrent: its timer fires, the announce goes out (into `buf`, reused as
/// a caller would), the reply comes back, the event is read, the next deadline is asked for.
/// Returns the peers received.
pub fn round(client: &mut Client, now: Instant, reply: &mut [u8], buf: &mut Vec<u8>) -> usize {
    client.handle_timeout(now);
    let peers = exchange(client, now, reply, buf);
    let _ = std::hint::black_box(client.poll_timeout());
    peers
}

/// The wire part of a round, once the timer fired: the announce goes out, the reply comes back,
/// the event is read.
pub fn exchange(client: &mut Client, now: Instant, reply: &mut [u8], buf: &mut Vec<u8>) -> usize {
    let t = client.poll_transmit(buf).expect("the announce is due");
    debug_assert!(t.len > bt_tracker::udp::CONNECT_LEN);
    reply[4..8].copy_from_slice(&buf[12..16]);
    assert!(client.handle_datagram(now, ACTIVE, reply));
    let Some((_, Event::Announced(event))) = client.poll_event() else {
        unreachable!("the reply ends the announce")
    };
    event.peers.len()
}
