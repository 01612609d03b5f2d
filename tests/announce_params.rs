//! What the machine puts in its announces when the caller enables it: BEP 21 partial seeds
//! (`event=paused` over HTTP, event 0 over UDP), `supportcrypto` / `requirecrypto`, `corrupt` and
//! `redundant` from `Progress`, and `ip` (PROTOCOL.md sections 1, 3.2 and 16).

mod common;

use common::start;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Config, Progress, RequestKind, Torrent};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::udp::{self, ConnectResponse, Request};
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent(progress: Progress) -> Torrent {
    Torrent {
        info_hash: InfoHash([3; 20]),
        peer_id: PeerId(*b"-BT0001-params000001"),
        port: 6881,
        progress,
        key: Some(0xAB),
    }
}

fn tiers(url: &str) -> Vec<Vec<TrackerUrl>> {
    vec![vec![TrackerUrl::parse(url).unwrap()]]
}

const HTTP: &str = "http://10.0.0.1/announce";
const OK: &[u8] = b"d8:intervali1800e5:peers0:e";
const INTERVAL: Duration = Duration::from_secs(1800);

fn left(n: u64) -> Progress {
    Progress {
        left: n,
        ..Progress::default()
    }
}

#[test]
fn a_partial_seed_sends_paused_on_every_http_announce_without_an_event() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let mut a = Announce::new(
        Config::default(),
        torrent(left(9)),
        tiers(HTTP),
        &mut rng,
        now,
    )
    .unwrap();
    a.set_partial_seed(true);
    // `started` wins over `paused`.
    let r = a.poll_http_request().unwrap();
    assert!(
        r.url.as_str().contains("&event=started&"),
        "{}",
        r.url.as_str()
    );
    assert!(a.handle_http_response(now, r.id, &HttpResponse::new(200, None, OK)));
    let mut t = now;
    for _ in 0..2 {
        t += INTERVAL;
        a.handle_timeout(t);
        let r = a.poll_http_request().unwrap();
        assert!(
            r.url.as_str().contains("&event=paused&"),
            "{}",
            r.url.as_str()
        );
        assert!(a.handle_http_response(t, r.id, &HttpResponse::new(200, None, OK)));
    }
    // No longer a partial seed: no event again.
    a.set_partial_seed(false);
    t += INTERVAL;
    a.handle_timeout(t);
    let r = a.poll_http_request().unwrap();
    assert!(!r.url.as_str().contains("event="), "{}", r.url.as_str());
    // `stopped` still says stopped.
    a.set_partial_seed(true);
    assert!(a.handle_http_response(t, r.id, &HttpResponse::new(200, None, OK)));
    a.stop(t);
    let r = a.poll_http_request().unwrap();
    assert!(
        r.url.as_str().contains("&event=stopped&"),
        "{}",
        r.url.as_str()
    );
}

#[test]
fn a_partial_seed_sends_event_0_over_udp_never_the_nonstandard_4() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(2);
    let tiers = tiers("udp://10.0.0.2:6969/announce");
    let mut a = Announce::new(Config::default(), torrent(left(9)), tiers, &mut rng, now).unwrap();
    a.set_partial_seed(true);
    let mut buf = Vec::new();
    let answer = |a: &mut Announce, at: Instant, buf: &mut Vec<u8>| -> Vec<u8> {
        let sent = a.poll_transmit(buf).unwrap();
        let Ok(Request::Connect(c)) = Request::parse(buf) else {
            return buf.clone();
        };
        let mut reply = [0u8; udp::CONNECT_LEN];
        ConnectResponse {
            transaction_id: c.transaction_id,
            connection_id: 5,
        }
        .encode(&mut reply)
        .unwrap();
        assert!(a.handle_datagram(at, sent.destination, &reply));
        let _announce = a.poll_transmit(buf).unwrap();
        buf.clone()
    };
    let started = answer(&mut a, now, &mut buf);
    // BEP 15 layout: the event is the u32 at offset 80.
    assert_eq!(&started[80..84], &[0, 0, 0, 2]);
    let Ok(Request::Announce(r)) = Request::parse(&started) else {
        panic!()
    };
    let mut reply = vec![0u8; 20];
    reply[..4].copy_from_slice(&1u32.to_be_bytes());
    reply[4..8].copy_from_slice(&r.transaction_id.to_be_bytes());
    reply[8..12].copy_from_slice(&1800u32.to_be_bytes());
    assert!(a.handle_datagram(now, "10.0.0.2:6969".parse().unwrap(), &reply));
    let t = now + INTERVAL;
    a.handle_timeout(t);
    let regular = answer(&mut a, t, &mut buf);
    assert_eq!(&regular[80..84], &[0, 0, 0, 0]);
    assert_eq!(&started[..8], &regular[..8], "same connection id");
}

#[test]
fn crypto_ip_corrupt_and_redundant_are_sent_when_the_caller_enables_them() {
    let now = start();
    let mut config = Config::default();
    config.requirecrypto = true;
    config.announce_ip = Some("203.0.113.9".parse().unwrap());
    let progress = Progress {
        left: 5,
        corrupt: Some(0),
        redundant: Some(17),
        ..Progress::default()
    };
    let mut rng = ChaCha12Rng::seed_from_u64(3);
    let mut client = Client::new(config, &mut rng, now).unwrap();
    client.add(now, torrent(progress), tiers(HTTP)).unwrap();
    let r = client.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Started));
    assert!(
        r.url.as_str().ends_with(
            "&left=5&corrupt=0&key=000000AB&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&requirecrypto=1&redundant=17&ip=203.0.113.9"
        ),
        "{}",
        r.url.as_str()
    );
    // Off by default: none of them.
    let mut rng = ChaCha12Rng::seed_from_u64(4);
    let mut a = Announce::new(
        Config::default(),
        torrent(left(5)),
        tiers(HTTP),
        &mut rng,
        now,
    )
    .unwrap();
    let url = a.poll_http_request().unwrap().url;
    for name in ["corrupt", "redundant", "crypto", "&ip="] {
        assert!(!url.as_str().contains(name), "{name} in {}", url.as_str());
    }
}
