//! Issue 13 part 5: peers announcing port 1, the placeholder of clients that cannot accept
//! connections (libtorrent drops them, libtorrent#7329), are left out of `Announced::peers` like
//! port 0, over UDP (the IPv4 fast path and the IPv6 path) and HTTP alike.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use bt_tracker::announce::{Announce, Announced, Config, Event, Progress, Torrent};
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn announce(url: &str) -> (Announce, Instant) {
    let torrent = Torrent {
        info_hash: InfoHash([3; 20]),
        peer_id: PeerId(*b"-BT0100-hygiene-0001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = Instant::now();
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let a = Announce::new(
        Config::default(),
        torrent,
        tiers,
        &mut ChaCha12Rng::seed_from_u64(5),
        now,
    )
    .unwrap();
    let mut a = a;
    common::answer_dns(&mut a, now);
    (a, now)
}

fn announced(a: &mut Announce) -> Announced {
    loop {
        match a.poll_event().expect("an announce result") {
            Event::Announced(x) => return x,
            Event::Failed(f) => panic!("the announce failed: {f:?}"),
            _ => continue,
        }
    }
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

/// Announces over UDP to `tracker` and answers with `peers` (in the tracker's family).
fn udp_peers(tracker: &str, peers: &[u8]) -> Vec<SocketAddr> {
    let (mut a, now) = announce(&format!("udp://{tracker}"));
    let from: SocketAddr = tracker.parse().unwrap();
    let mut buf = Vec::new();
    let t = a.poll_transmit(&mut buf).expect("a connect");
    let mut reply = 0u32.to_be_bytes().to_vec();
    reply.extend_from_slice(&buf[12..16]);
    reply.extend_from_slice(&42u64.to_be_bytes());
    assert!(a.handle_datagram(now, from, &reply), "{t:?}");
    let t = a.poll_transmit(&mut buf).expect("an announce");
    assert_eq!(t.destination, from);
    let mut reply = 1u32.to_be_bytes().to_vec();
    reply.extend_from_slice(&buf[12..16]);
    for n in [1800u32, 0, 0] {
        reply.extend_from_slice(&n.to_be_bytes());
    }
    reply.extend_from_slice(peers);
    assert!(a.handle_datagram(now, from, &reply));
    announced(&mut a).peers
}

#[test]
fn udp_peers_announcing_port_1_are_dropped() {
    // The input: 192.0.2.20:1 and 192.0.2.21:6881.
    let peers = [
        0xc0, 0x00, 0x02, 0x14, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x15, 0x1a, 0xe1,
    ];
    assert_eq!(
        udp_peers("192.0.2.1:6969", &peers),
        addrs(&["192.0.2.21:6881"])
    );
}

#[test]
fn ports_0_and_1_are_dropped_and_port_2_kept_over_ipv6_and_http() {
    let mut peers = Vec::new();
    for (last, port) in [(1u8, 0u16), (2, 1), (3, 2)] {
        peers.extend_from_slice(&[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last,
        ]);
        peers.extend_from_slice(&port.to_be_bytes());
    }
    assert_eq!(
        udp_peers("[2001:db8::53]:6969", &peers),
        addrs(&["[2001:db8::3]:2"])
    );

    let (mut a, now) = announce("http://tracker.example/announce");
    let request = a.poll_http_request().expect("the started announce");
    let body = b"d8:intervali1800e5:peersld2:ip9:192.0.2.74:porti1eed2:ip9:192.0.2.84:porti2eeee";
    let response = HttpResponse {
        status: 200,
        location: None,
        body: body.to_vec().into(),
    };
    assert!(a.handle_http_response(now, request.id, &response));
    assert_eq!(announced(&mut a).peers, addrs(&["192.0.2.8:2"]));
}
