//! One UDP re-announce round of an `Announce`, shared by `benches/announce_round_trip.rs` and the
//! instruction-count probe (`benches/probe/round_trip.rs`): a machine past its first announce, the
//! 50-peer reply, and the round (timer, announce out, reply in, event drained).
#![allow(dead_code)] // each user takes part of it

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Config, Event, Progress, Torrent};
use bt_tracker::udp;
use bt_tracker::{AddressFamily, CompactPeers, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// Peers in the reply.
pub const PEERS: usize = 50;
/// The interval the reply sets, in seconds.
pub const INTERVAL: u32 = 120;

/// The tracker's address, built once (not parsed per round: that would bill the harness's work to
/// the machine).
pub const TRACKER: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 6969));

/// An announce reply with `PEERS` peers; bytes 4..8 (the transaction id) are patched per use.
pub fn reply_template() -> Vec<u8> {
    let addrs: Vec<SocketAddr> = (0..PEERS)
        .map(|i| SocketAddr::from(([10, 1, 0, i as u8 + 1], 6881)))
        .collect();
    let resp = udp::AnnounceResponse {
        transaction_id: 0,
        interval: INTERVAL,
        leechers: 30,
        seeders: 20,
        peers: CompactPeers::from_addrs(&addrs),
    };
    let mut buf = vec![0u8; resp.encoded_len(AddressFamily::V4)];
    resp.encode(AddressFamily::V4, &mut buf).unwrap();
    buf
}

/// A machine past its first announce, with a connection id that stays valid, so each round is one
/// announce datagram and one reply.
pub fn warmed_up(now: Instant) -> Announce {
    let mut config = Config::default();
    config.connection_id_lifetime = Duration::from_secs(365 * 24 * 3600);
    let torrent = Torrent {
        info_hash: InfoHash([3; 20]),
        peer_id: PeerId(*b"-BT0100-bench0000000"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    };
    let tiers = vec![vec![
        TrackerUrl::parse("udp://192.0.2.1:6969/announce").unwrap(),
    ]];
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let mut a = Announce::new(config, torrent, tiers, &mut rng, now).unwrap();
    let mut buf = Vec::new();
    let first = a.poll_transmit(&mut buf).unwrap();
    assert_eq!(first.len, udp::CONNECT_LEN);
    connect(&mut a, now, &buf);
    let t = a.poll_transmit(&mut buf).unwrap();
    let mut reply = reply_template();
    reply[4..8].copy_from_slice(&buf[12..16]);
    assert!(t.len > udp::CONNECT_LEN && a.handle_datagram(now, TRACKER, &reply));
    assert!(matches!(a.poll_event(), Some(Event::Announced(_))));
    a
}

/// Answers the connect request in `buf`.
pub fn connect(a: &mut Announce, now: Instant, buf: &[u8]) {
    let response = udp::ConnectResponse {
        transaction_id: u32::from_be_bytes(buf[12..16].try_into().unwrap()),
        connection_id: 7,
    };
    let mut reply = [0u8; udp::CONNECT_LEN];
    response.encode(&mut reply).unwrap();
    assert!(a.handle_datagram(now, TRACKER, &reply));
}

/// One round: the timer fires, the announce goes out (into `buf`, reused as a caller would), its
/// reply comes back, the event is read.
pub fn round(a: &mut Announce, now: Instant, reply: &mut [u8], buf: &mut Vec<u8>) -> usize {
    a.handle_timeout(now);
    let mut t = a.poll_transmit(buf).expect("the announce is due");
    if t.len == udp::CONNECT_LEN {
        // Once a virtual year the connection id expires: reconnect (too rare to weigh).
        connect(a, now, buf);
        t = a
            .poll_transmit(buf)
            .expect("the announce follows the connect");
    }
    debug_assert!(
        t.len > udp::ANNOUNCE_REQUEST_LEN,
        "an announce with URL data"
    );
    reply[4..8].copy_from_slice(&buf[12..16]);
    assert!(a.handle_datagram(now, TRACKER, reply));
    let Some(Event::Announced(event)) = a.poll_event() else {
        unreachable!("the reply ends the announce")
    };
    let _ = black_box(a.poll_timeout());
    event.peers.len()
}
