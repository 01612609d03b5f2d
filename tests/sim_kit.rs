//! The simulation kit (`bt_tracker::sim`) on its own: the seeded network's loss, duplication,
//! jitter, ordering and cap, and the world's routing of datagrams and HTTP exchanges to its
//! trackers (with forgeries and the failures of an exchange).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    HttpRequest, Origin, RequestId, RequestKind, TorrentId, TrackerId, TransportError,
};
use bt_tracker::sim::{Datagram, Delivery, Link, MAX_IN_FLIGHT, Net, World};
use bt_tracker::tracker::{Behaviour, Redirect, Tracker, TrackerConfig};
use bt_tracker::udp::{ConnectRequest, Reply};
use bt_tracker::{AddressFamily, TrackerUrl};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// An arbitrary origin for virtual time (the one clock read, in a test).
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn datagram(n: u8) -> Datagram {
    Datagram {
        from: addr("10.0.0.1:1"),
        to: addr("10.0.0.2:2"),
        bytes: vec![n],
        spoofed: false,
    }
}

fn link(loss: f64, duplicate: f64, jitter_ms: u64) -> Link {
    Link {
        loss,
        duplicate,
        delay: Duration::from_millis(50),
        jitter: Duration::from_millis(jitter_ms),
    }
}

/// Sends 1,000 datagrams at `t0` and returns the payloads in delivery order.
fn deliveries(l: Link, seed: u64) -> Vec<u8> {
    let t0 = origin();
    let (mut net, mut rng) = (Net::new(), ChaCha8Rng::seed_from_u64(seed));
    for n in 0..1000u32 {
        net.send(t0, &l, &mut rng, datagram(n as u8));
    }
    assert_eq!(net.pop_due(t0 + Duration::from_millis(49)), None, "early");
    let mut out = Vec::new();
    while let Some(d) = net.pop_due(t0 + Duration::from_secs(10)) {
        out.push(d.bytes[0]);
    }
    out
}

#[test]
fn a_perfect_link_delivers_everything_once_in_order_after_its_delay() {
    let got = deliveries(link(0.0, 0.0, 0), 1);
    let want: Vec<u8> = (0..1000u32).map(|n| n as u8).collect();
    assert_eq!(got, want);
}

#[test]
fn loss_and_duplication_happen_at_about_their_rates_and_jitter_reorders() {
    let lossy = deliveries(link(0.3, 0.0, 0), 2).len();
    assert!(
        (620..=780).contains(&lossy),
        "{lossy} of 1000 after 30 % loss"
    );
    let doubled = deliveries(link(0.0, 0.2, 0), 3).len();
    assert!(
        (1130..=1270).contains(&doubled),
        "{doubled} after 20 % duplication"
    );
    let jittered = deliveries(link(0.0, 0.0, 100), 4);
    assert_eq!(jittered.len(), 1000);
    assert!(
        jittered
            .windows(2)
            .any(|w| w[1] < w[0] && w[0] - w[1] < 128)
    );
    assert_eq!(deliveries(link(1.0, 0.5, 100), 5), Vec::<u8>::new());
}

#[test]
fn the_same_seed_gives_the_same_deliveries_and_another_seed_others() {
    let l = link(0.2, 0.1, 80);
    assert_eq!(deliveries(l, 9), deliveries(l, 9));
    assert_ne!(deliveries(l, 9), deliveries(l, 10));
}

#[test]
fn the_network_holds_at_most_its_cap_and_counts_what_it_dropped() {
    let t0 = origin();
    let mut net = Net::new();
    for _ in 0..MAX_IN_FLIGHT + 5 {
        net.inject(t0, datagram(0));
    }
    assert_eq!((net.len(), net.overflowed()), (MAX_IN_FLIGHT, 5));
}

#[test]
fn a_delay_past_what_an_instant_holds_drops_the_datagram_without_a_panic() {
    let t0 = origin();
    let (mut net, mut rng) = (Net::new(), ChaCha8Rng::seed_from_u64(0));
    let far = Link {
        delay: Duration::MAX,
        jitter: Duration::MAX,
        ..Link::perfect()
    };
    net.send(t0, &far, &mut rng, datagram(1));
    assert!(net.is_empty());
}

#[test]
fn a_world_whose_link_delay_overflows_an_instant_drops_datagrams_and_exchanges_without_a_panic() {
    let t0 = origin();
    let mut world = world_with_tracker(4, Behaviour::honest(), t0);
    world.set_link(Link {
        delay: Duration::MAX,
        jitter: Duration::MAX,
        ..Link::perfect()
    });
    world.set_spoof(1.0);
    world.send_datagram(t0, addr("10.9.9.9:6881"), addr("10.0.0.1:6969"), &connect());
    let url = "http://10.0.0.1:6969/scrape?info_hash=aaaaaaaaaaaaaaaaaaaa";
    world.send_http(
        t0,
        addr("10.9.9.9:6881"),
        &http_request(url, "10.0.0.1:6969"),
    );
    assert!(world.is_idle());
    assert_eq!(world.next_time(), None);
}

fn connect() -> Vec<u8> {
    let mut buf = [0u8; 16];
    let n = ConnectRequest { transaction_id: 7 }
        .encode(&mut buf)
        .unwrap();
    buf[..n].to_vec()
}

fn world_with_tracker(seed: u64, behaviour: Behaviour, t0: Instant) -> World {
    let mut world = World::new(seed, Link::perfect());
    let tracker = Tracker::new(TrackerConfig::default(), behaviour, world.rng(), t0);
    assert!(world.add_tracker(addr("10.0.0.1:6969"), tracker));
    world
}

#[test]
fn a_datagram_to_a_tracker_is_answered_back_over_the_link() {
    let t0 = origin();
    let mut world = world_with_tracker(1, Behaviour::honest(), t0);
    let me = addr("10.9.9.9:6881");
    world.send_datagram(t0, me, addr("10.0.0.1:6969"), &connect());
    // 20 ms there (taken by the tracker on the way), 20 ms back.
    assert_eq!(world.next_time(), Some(t0 + Duration::from_millis(20)));
    assert_eq!(world.poll_delivery(t0 + Duration::from_millis(20)), None);
    let back = t0 + Duration::from_millis(40);
    assert_eq!(world.next_time(), Some(back));
    let Some(Delivery::Datagram(d)) = world.poll_delivery(back) else {
        panic!("the connect reply")
    };
    assert_eq!(
        (d.from, d.to, d.spoofed),
        (addr("10.0.0.1:6969"), me, false)
    );
    assert!(matches!(
        Reply::parse(&d.bytes, AddressFamily::V4),
        Ok(Reply::Connect(c)) if c.transaction_id == 7
    ));
    assert!(world.is_idle());
}

#[test]
fn a_forged_reply_comes_first_from_the_next_port_and_is_marked() {
    let t0 = origin();
    let mut world = world_with_tracker(2, Behaviour::honest(), t0);
    world.set_spoof(1.0);
    world.send_datagram(t0, addr("10.9.9.9:6881"), addr("10.0.0.1:6969"), &connect());
    let _ = world.poll_delivery(t0 + Duration::from_millis(20));
    let later = t0 + Duration::from_secs(1);
    let Some(Delivery::Datagram(first)) = world.poll_delivery(later) else {
        panic!("the forgery")
    };
    let Some(Delivery::Datagram(real)) = world.poll_delivery(later) else {
        panic!("the real reply")
    };
    assert_eq!((first.from, first.spoofed), (addr("10.0.0.1:6970"), true));
    assert_eq!((real.from, real.spoofed), (addr("10.0.0.1:6969"), false));
}

fn http_request(url: &str, to: &str) -> HttpRequest {
    HttpRequest {
        id: RequestId(5),
        origin: Origin::Tracker {
            torrent: TorrentId::ANNOUNCE,
            tracker: TrackerId(0),
        },
        url: TrackerUrl::parse(url).unwrap(),
        addresses: vec![addr(to)],
        kind: RequestKind::Scrape,
        deadline: origin() + Duration::from_secs(30),
        may_reach_internal: true,
    }
}

#[test]
fn an_http_exchange_ends_in_the_trackers_answer_or_a_refusal_one_round_trip_later() {
    let t0 = origin();
    let mut world = world_with_tracker(3, Behaviour::honest(), t0);
    let me = addr("10.9.9.9:6881");
    let scrape = "http://10.0.0.1:6969/scrape?info_hash=%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01%01";
    world.send_http(t0, me, &http_request(scrape, "10.0.0.1:6969"));
    world.send_http(t0, me, &http_request(scrape, "10.0.0.3:80"));
    let rtt = t0 + Duration::from_millis(40);
    assert_eq!(world.next_time(), Some(rtt));
    let Some(Delivery::Http {
        request,
        answer: Ok(a),
    }) = world.poll_delivery(rtt)
    else {
        panic!("the scrape answer")
    };
    assert_eq!((request, a.status), (RequestId(5), 200));
    assert!(a.body.starts_with(b"d5:filesd20:"));
    assert_eq!(
        world.poll_delivery(rtt),
        Some(Delivery::Http {
            request: RequestId(5),
            answer: Err(TransportError::ConnectionRefused)
        })
    );
}

#[test]
fn a_lost_http_request_is_reset_or_never_answered() {
    let t0 = origin();
    let (mut reset, mut nothing) = (0, 0);
    for seed in 0..200 {
        let mut world = world_with_tracker(seed, Behaviour::honest(), t0);
        world.set_link(Link {
            loss: 1.0,
            ..Link::perfect()
        });
        let url = "http://10.0.0.1:6969/scrape?info_hash=aaaaaaaaaaaaaaaaaaaa";
        world.send_http(t0, addr("10.9.9.9:1"), &http_request(url, "10.0.0.1:6969"));
        match world.poll_delivery(t0 + Duration::from_secs(1)) {
            Some(Delivery::Http {
                answer: Err(TransportError::ConnectionReset),
                ..
            }) => reset += 1,
            None => nothing += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        reset > 60 && nothing > 60,
        "{reset} resets, {nothing} silences"
    );
}

#[test]
fn a_redirect_under_a_prefix_keeps_each_requests_own_path_and_query() {
    let t0 = origin();
    let mut b = Behaviour::honest();
    b.redirect = Some(Redirect::Under("/real/".into()));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut t = Tracker::new(TrackerConfig::default(), b, &mut rng, t0);
    let me = addr("10.9.9.9:6881");
    let scrape = t
        .handle_http(t0, me, b"http://h/scrape?info_hash=x")
        .unwrap();
    assert_eq!(
        (scrape.status, scrape.location.as_deref()),
        (302, Some("/real/scrape?info_hash=x"))
    );
    let announce = t.handle_http(t0, me, b"/announce?a=1").unwrap();
    assert_eq!(announce.location.as_deref(), Some("/real/announce?a=1"));
    // Under the prefix it is answered (here: a failure for the bad query, status 200).
    let there = t.handle_http(t0, me, b"/real/scrape?info_hash=x").unwrap();
    assert_eq!((there.status, there.location), (200, None));
}
