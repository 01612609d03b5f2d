//! Once a torrent is stopped (its `Stopped` came), every input about it is ignored, changes
//! nothing and returns `false`: a DNS answer, a datagram, an HTTP response, a transport error,
//! each for a request of its own, late. (`handle_dns_response` returned `true` after `Stopped`
//! though nothing would use the answer.)

mod common;

use common::start;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Config, DnsAnswer, DnsQueryId, EditError, Event, HybridAnnounce, Progress, RequestId,
    TierMode, Torrent, TrackerId, TransportError,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0001-afterstop001"),
        port: 6881,
        progress: Progress::default(),
        key: Some(1),
    }
}

/// A host-name UDP tracker (its announce waits for a DNS answer) and an HTTP tracker at an
/// address, both announced to at once.
fn tiers() -> Vec<Vec<TrackerUrl>> {
    ["udp://tracker.example:6969", "http://10.0.0.2/announce"]
        .iter()
        .map(|u| vec![TrackerUrl::parse(u).unwrap()])
        .collect()
}

fn config() -> Config {
    let mut c = Config::default();
    c.tier_mode = TierMode::AllTrackers;
    c
}

fn answer() -> DnsAnswer {
    DnsAnswer {
        addresses: vec![IpAddr::from([10, 0, 0, 1])],
        ttl: Some(Duration::from_secs(600)),
    }
}

const OK: &[u8] = b"d8:intervali1800e5:peers0:e";

/// What the caller saw of a torrent's requests while it ran.
#[derive(Default)]
struct Seen {
    dns: Vec<DnsQueryId>,
    http: Vec<RequestId>,
}

/// The inputs a caller may still hold after `Stopped`, each late: every one must be ignored.
fn late_inputs_are_ignored(
    seen: &Seen,
    now: Instant,
    mut dns: impl FnMut(Instant, DnsQueryId, DnsAnswer) -> bool,
    mut http: impl FnMut(Instant, RequestId, &HttpResponse<'_>) -> bool,
    mut transport: impl FnMut(Instant, RequestId) -> bool,
    mut datagram: impl FnMut(Instant, SocketAddr, &[u8]) -> bool,
) {
    assert!(!seen.dns.is_empty() && !seen.http.is_empty());
    for &q in &seen.dns {
        assert!(!dns(now, q, answer()), "the answer to {q:?} is not used");
    }
    for &r in &seen.http {
        assert!(!http(now, r, &HttpResponse::new(200, None, OK)), "{r:?}");
        assert!(!transport(now, r), "{r:?}");
    }
    let from: SocketAddr = "10.0.0.1:6969".parse().unwrap();
    assert!(!datagram(
        now,
        from,
        &[0, 0, 0, 0, 0, 0, 0, 1, 7, 7, 7, 7, 7, 7, 7, 7]
    ));
}

#[test]
fn after_stopped_an_announce_ignores_every_late_input() {
    let t0 = start();
    let mut a = Announce::new(
        config(),
        torrent(1),
        tiers(),
        &mut ChaCha12Rng::seed_from_u64(1),
        t0,
    )
    .unwrap();
    let mut seen = Seen::default();
    seen.dns
        .extend(std::iter::from_fn(|| a.poll_dns_query()).map(|q| q.id));
    let started = a.poll_http_request().unwrap();
    seen.http.push(started.id);
    assert!(a.handle_http_response(t0, started.id, &HttpResponse::new(200, None, OK)));
    a.stop(t0);
    let mut stopped_came = false;
    for _ in 0..10 {
        for r in std::iter::from_fn(|| a.poll_http_request()).collect::<Vec<_>>() {
            seen.http.push(r.id);
            assert!(a.handle_http_response(t0, r.id, &HttpResponse::new(200, None, OK)));
        }
        stopped_came |= std::iter::from_fn(|| a.poll_event()).any(|e| e == Event::Stopped);
    }
    assert!(stopped_came && a.is_stopped());
    let a = std::cell::RefCell::new(a);
    late_inputs_are_ignored(
        &seen,
        t0,
        |now, q, ans| a.borrow_mut().handle_dns_response(now, q, Ok(ans)),
        |now, r, resp| a.borrow_mut().handle_http_response(now, r, resp),
        |now, r| {
            a.borrow_mut()
                .handle_transport_error(now, r, TransportError::ConnectionReset)
        },
        |now, from, d| a.borrow_mut().handle_datagram(now, from, d),
    );
    let mut a = a.into_inner();
    // The commands that say whether they did anything say no.
    let url = TrackerUrl::parse("http://10.0.0.3/announce").unwrap();
    assert_eq!(a.announce_now(t0), None);
    assert_eq!(a.announce_tracker(t0, TrackerId(1)), None);
    assert!(!a.scrape_tracker(t0, TrackerId(1)));
    assert!(!a.pause(t0) && !a.resume(t0));
    assert!(!a.remove_tracker(t0, TrackerId(1)));
    assert_eq!(a.add_tracker(t0, url, 0), Err(EditError::Stopped));
    a.completed(t0);
    a.scrape(t0);
    a.handle_timeout(t0 + Duration::from_secs(3600));
    assert_eq!(a.poll_event(), None);
    assert_eq!(a.poll_dns_query().map(|q| q.id), None);
    assert_eq!(a.poll_http_request().map(|r| r.id), None);
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn after_stopped_a_hybrid_announce_ignores_every_late_input() {
    let t0 = start();
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let mut a = HybridAnnounce::new(
        config(),
        torrent(1),
        InfoHash([2; 20]),
        tiers(),
        &mut rng,
        t0,
    )
    .unwrap();
    let mut seen = Seen::default();
    seen.dns
        .extend(std::iter::from_fn(|| a.poll_dns_query()).map(|q| q.id));
    for r in std::iter::from_fn(|| a.poll_http_request()).collect::<Vec<_>>() {
        seen.http.push(r.id);
        assert!(a.handle_http_response(t0, r.id, &HttpResponse::new(200, None, OK)));
    }
    a.stop(t0);
    let mut stopped = 0;
    for _ in 0..10 {
        for r in std::iter::from_fn(|| a.poll_http_request()).collect::<Vec<_>>() {
            seen.http.push(r.id);
            a.handle_http_response(t0, r.id, &HttpResponse::new(200, None, OK));
        }
        stopped += std::iter::from_fn(|| a.poll_event())
            .filter(|(_, e)| *e == Event::Stopped)
            .count();
    }
    assert!(stopped >= 1 && a.is_stopped());
    let a = std::cell::RefCell::new(a);
    late_inputs_are_ignored(
        &seen,
        t0,
        |now, q, ans| a.borrow_mut().handle_dns_response(now, q, Ok(ans)),
        |now, r, resp| a.borrow_mut().handle_http_response(now, r, resp),
        |now, r| {
            a.borrow_mut()
                .handle_transport_error(now, r, TransportError::ConnectionReset)
        },
        |now, from, d| a.borrow_mut().handle_datagram(now, from, d),
    );
}

/// A removed torrent's late inputs are ignored too; a DNS answer is used only while a torrent
/// of the client still waits for the name.
#[test]
fn after_a_removed_torrent_stopped_the_client_ignores_its_late_inputs() {
    let t0 = start();
    let mut c = Client::new(config(), &mut ChaCha12Rng::seed_from_u64(1), t0).unwrap();
    let id = c.add(t0, torrent(1), tiers()).unwrap();
    let mut seen = Seen::default();
    seen.dns
        .extend(std::iter::from_fn(|| c.poll_dns_query()).map(|q| q.id));
    let started = c.poll_http_request().unwrap();
    seen.http.push(started.id);
    assert!(c.handle_http_response(t0, started.id, &HttpResponse::new(200, None, OK)));
    assert!(c.remove(t0, id));
    let mut stopped_came = false;
    for _ in 0..10 {
        for r in std::iter::from_fn(|| c.poll_http_request()).collect::<Vec<_>>() {
            seen.http.push(r.id);
            assert!(c.handle_http_response(t0, r.id, &HttpResponse::new(200, None, OK)));
        }
        stopped_came |= std::iter::from_fn(|| c.poll_event()).any(|(_, e)| e == Event::Stopped);
    }
    assert!(stopped_came && !c.contains(id));
    let c = std::cell::RefCell::new(c);
    late_inputs_are_ignored(
        &seen,
        t0,
        |now, q, ans| c.borrow_mut().handle_dns_response(now, q, Ok(ans)),
        |now, r, resp| c.borrow_mut().handle_http_response(now, r, resp),
        |now, r| {
            c.borrow_mut()
                .handle_transport_error(now, r, TransportError::ConnectionReset)
        },
        |now, from, d| c.borrow_mut().handle_datagram(now, from, d),
    );
    let mut c = c.into_inner();
    assert!(!c.completed(t0, id) && !c.scrape(t0, id));
    assert_eq!(c.announce_now(t0, id), None);
    assert_eq!(c.announce_tracker(t0, id, TrackerId(1)), None);
    assert!(!c.scrape_tracker(t0, id, TrackerId(1)));
    assert!(!c.pause(t0, id) && !c.resume(t0, id));
    assert!(!c.remove_tracker(t0, id, TrackerId(1)));
    assert!(!c.remove(t0, id));
    assert!(c.poll_event().is_none() && c.poll_http_request().is_none());
}
