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
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[path = "common/announce.rs"]
mod announce;
#[path = "common/client.rs"]
mod client;

use announce::{INTERVAL, reply_template, round, warmed_up};
use bt_tracker::udp::{AnnounceRequest, MAX_REQUEST_LEN, Reply};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId};
use criterion::{Criterion, criterion_group, criterion_main};

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
