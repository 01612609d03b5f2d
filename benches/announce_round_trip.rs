//! The cost of the state machine around the codec: one UDP re-announce round trip through an
//! `Announce` (timer fires, the announce datagram is written, the reply is matched and decoded, the
//! event is drained), side by side with the bare codec doing the same wire work in the same run
//! (write the 98-byte announce, parse the reply, collect its peers).
//!
//! The many-torrent `Client` does the same round for one torrent (its timer heap, transaction-id
//! routing and event tagging around the same work), alone and among 1,000 and 100,000 idle
//! torrents; and the wire part alone (`poll_transmit`, `handle_datagram`, `poll_event`), timed per
//! round with the clock reads that adds measured beside it.
//!
//! `cargo bench --bench announce_round_trip`.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

#[path = "common/client.rs"]
mod client;

use bt_tracker::announce::{Announce, Config, Event, Progress, Torrent};
use bt_tracker::udp::{self, AnnounceRequest, MAX_REQUEST_LEN, Reply};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId, TrackerUrl};
use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const PEERS: usize = 50;
const INTERVAL: u32 = 120;

/// The tracker's address, built once (not parsed per round: that would bill the harness's work to
/// the machine).
const TRACKER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 6969));

/// An announce reply with `PEERS` peers; bytes 4..8 (the transaction id) are patched per use.
fn reply_template() -> Vec<u8> {
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
fn warmed_up(now: Instant) -> Announce {
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
fn connect(a: &mut Announce, now: Instant, buf: &[u8]) {
    let mut reply = vec![0, 0, 0, 0];
    reply.extend_from_slice(&buf[12..16]);
    reply.extend_from_slice(&7u64.to_be_bytes());
    assert!(a.handle_datagram(now, TRACKER, &reply));
}

/// One round: the timer fires, the announce goes out (into `buf`, reused as a caller would), its
/// reply comes back, the event is read.
fn round(a: &mut Announce, now: Instant, reply: &mut [u8], buf: &mut Vec<u8>) -> usize {
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

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp re-announce round trip, 50 IPv4 peers");
    let template = reply_template();

    g.bench_function(
        "bare codec (write announce, parse reply, collect peers)",
        |b| {
            let mut reply = template.clone();
            let mut buf = [0u8; MAX_REQUEST_LEN];
            let mut txid = 0u32;
            b.iter(|| {
                txid = txid.wrapping_add(1);
                let n = AnnounceRequest {
                    connection_id: 7,
                    transaction_id: txid,
                    info_hash: InfoHash([3; 20]),
                    peer_id: PeerId(*b"-BT0100-bench0000000"),
                    downloaded: 0,
                    left: 1,
                    uploaded: 0,
                    event: AnnounceEvent::Regular,
                    ip: None,
                    key: 0x1234_5678,
                    num_want: 200,
                    port: 6881,
                    url_data: Some(b"/announce"[..].into()),
                }
                .encode(&mut buf)
                .unwrap();
                reply[4..8].copy_from_slice(&buf[12..16]);
                let Ok(Reply::Announce(r)) = Reply::parse(black_box(&reply), AddressFamily::V4)
                else {
                    unreachable!()
                };
                let peers: Vec<SocketAddr> = r.peers.iter().collect();
                black_box((n, peers.len()))
            })
        },
    );

    g.bench_function("Announce machine", |b| {
        // A starting point for the virtual clock; the machine never reads one.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut a = warmed_up(start);
        let mut reply = template.clone();
        let mut buf = Vec::new();
        let mut now = start;
        b.iter(|| {
            now += Duration::from_secs(u64::from(INTERVAL));
            black_box(round(&mut a, now, &mut reply, &mut buf))
        })
    });
    for idle in [0, 1_000, 100_000] {
        let name = format!("Client machine, one torrent among {idle} idle");
        g.bench_function(name, |b| {
            #[allow(clippy::disallowed_methods)]
            let start = Instant::now();
            let config = client::round_config();
            let (mut c, mut now) = client::idle_client(idle, config, start, 365 * 24 * 3600);
            let mut reply = template.clone();
            reply[8..12].copy_from_slice(&1u32.to_be_bytes()); // interval 1 s
            client::add_active(&mut c, now, &mut reply);
            let mut buf = Vec::new();
            b.iter(|| {
                now += Duration::from_secs(1);
                black_box(client::round(&mut c, now, &mut reply, &mut buf))
            })
        });
    }
    // The definition of the round trip: poll_transmit, handle_datagram, poll_event, with
    // the timer that triggers the announce left out of the timing. Timing each round separately
    // adds two clock reads to every measured round, so this figure is an upper bound.
    g.bench_function(
        "Client machine, one torrent, datagram out to event in (timer untimed)",
        |b| {
            #[allow(clippy::disallowed_methods)]
            let start = Instant::now();
            let (mut c, mut now) = client::idle_client(0, client::round_config(), start, 3600);
            let mut reply = template.clone();
            reply[8..12].copy_from_slice(&1u32.to_be_bytes());
            client::add_active(&mut c, now, &mut reply);
            let mut buf = Vec::new();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    now += Duration::from_secs(1);
                    c.handle_timeout(now);
                    #[allow(clippy::disallowed_methods)]
                    let t0 = Instant::now();
                    black_box(client::exchange(&mut c, now, &mut reply, &mut buf));
                    total += t0.elapsed();
                }
                total
            })
        },
    );
    g.bench_function("clock reads alone (the bias of the entry above)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                #[allow(clippy::disallowed_methods)]
                let t0 = Instant::now();
                total += black_box(t0).elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
