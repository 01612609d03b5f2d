//! Issue 16, BEP 7 dual-stack (`Config::families = Families::Both`): a tracker named by a host name
//! is announced to over each family separately, with the same key and peer id, each family with
//! its own connection id, event state and schedule; one family's failure never undoes the other's
//! success.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, DnsAnswer, DnsFailure, Event, Families, Progress, Torrent,
    TrackerState, Transmit,
};
use bt_tracker::{AddressFamily, InfoHash, PeerId, TrackerUrl};
use common::udp::{announce_reply, connect_reply_with};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const V4: &str = "203.0.113.5:6969";
const V6: &str = "[2001:db8::5]:6969";

fn start() -> Instant {
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn dual(url: &str, now: Instant) -> Announce {
    let mut config = Config::default();
    config.families = Families::Both;
    let torrent = Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-dualstack001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    };
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let mut rng = ChaCha12Rng::seed_from_u64(7);
    Announce::new(config, torrent, tiers, &mut rng, now).unwrap()
}

/// Answers the one DNS query with `ips`.
fn resolve(a: &mut Announce, now: Instant, ips: &[IpAddr]) {
    let q = a
        .poll_dns_query()
        .expect("one query for the name, both families");
    assert!(a.poll_dns_query().is_none());
    let answer = DnsAnswer {
        addresses: ips.to_vec(),
        ttl: None,
    };
    assert!(a.handle_dns_response(now, q.id, Ok(answer)));
}

fn transmits(a: &mut Announce) -> Vec<(Transmit, Vec<u8>)> {
    let mut buf = Vec::new();
    std::iter::from_fn(|| a.poll_transmit(&mut buf).map(|t| (t, buf.clone()))).collect()
}

fn sent_to(sent: &[(Transmit, Vec<u8>)], to: SocketAddr) -> &[u8] {
    &sent
        .iter()
        .find(|(t, _)| t.destination == to)
        .expect("sent")
        .1
}

fn family_of(a: &Announce, event: &Event) -> Option<AddressFamily> {
    let tracker = match event {
        Event::Announced(x) => x.tracker,
        Event::Failed(f) => f.tracker,
        _ => return None,
    };
    a.trackers().find(|s| s.id == tracker)?.family
}

/// Connects and announces over both families; returns the two announce datagrams.
fn both_started(a: &mut Announce, now: Instant) -> (Vec<u8>, Vec<u8>) {
    resolve(a, now, &[addr(V4).ip(), addr(V6).ip()]);
    let sent = transmits(a);
    assert_eq!(sent.len(), 2, "a connect per family");
    let (c4, c6) = (
        sent_to(&sent, addr(V4)).to_vec(),
        sent_to(&sent, addr(V6)).to_vec(),
    );
    assert!(a.handle_datagram(now, addr(V4), &connect_reply_with(&c4, 0x44)));
    assert!(a.handle_datagram(now, addr(V6), &connect_reply_with(&c6, 0x66)));
    let sent = transmits(a);
    assert_eq!(sent.len(), 2, "an announce per family");
    (
        sent_to(&sent, addr(V4)).to_vec(),
        sent_to(&sent, addr(V6)).to_vec(),
    )
}

#[test]
fn each_family_is_announced_with_its_own_connection_id_and_the_same_key() {
    let now = start();
    let mut a = dual("udp://tracker.example:6969/announce", now);
    let (a4, a6) = both_started(&mut a, now);
    assert_eq!(u64::from_be_bytes(a4[0..8].try_into().unwrap()), 0x44);
    assert_eq!(u64::from_be_bytes(a6[0..8].try_into().unwrap()), 0x66);
    assert_eq!(a4[36..56], a6[36..56], "the same peer id");
    assert_eq!(a4[88..92], a6[88..92], "the same key");
    assert_eq!(a4[88..92], a.key().to_be_bytes());
    assert_eq!(a4[80..84], 2u32.to_be_bytes(), "started over IPv4");
    assert_eq!(a6[80..84], 2u32.to_be_bytes(), "started over IPv6");
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&a4)));
    assert!(a.handle_datagram(now, addr(V6), &announce_reply(&a6)));
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    let families: Vec<_> = events.iter().map(|e| family_of(&a, e)).collect();
    assert_eq!(
        families,
        vec![Some(AddressFamily::V4), Some(AddressFamily::V6)]
    );
    assert!(events.iter().all(|e| matches!(e, Event::Announced(_))));
}

#[test]
fn an_ipv4_only_tracker_gives_the_ipv4_result_and_a_clear_ipv6_failure() {
    let now = start();
    let mut a = dual("udp://tracker.example:6969/announce", now);
    resolve(&mut a, now, &[addr(V4).ip()]);
    let failed: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    let [Event::Failed(f)] = &failed[..] else {
        panic!("{failed:?}")
    };
    assert_eq!(
        f.cause,
        Cause::Dns(DnsFailure::NoAddressOfFamily(AddressFamily::V6))
    );
    assert!(
        f.cause.to_string().contains("no IPv6 address"),
        "{}",
        f.cause
    );
    let sent = transmits(&mut a);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.destination, addr(V4));
    assert!(a.handle_datagram(now, addr(V4), &connect_reply_with(&sent[0].1, 1)));
    let sent = transmits(&mut a);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&sent[0].1)));
    let status: Vec<_> = a.trackers().map(|s| (s.family, s.state)).collect();
    assert_eq!(
        status,
        vec![
            (Some(AddressFamily::V4), TrackerState::Working),
            (Some(AddressFamily::V6), TrackerState::NotWorking),
        ]
    );
}

#[test]
fn one_familys_failure_never_undoes_the_others_success() {
    let now = start();
    let mut a = dual("udp://tracker.example:6969/announce", now);
    let (a4, _a6) = both_started(&mut a, now);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&a4)));
    // IPv6 never answers its announce: it times out and backs off, again and again.
    let mut t = now;
    let mut v4_sent = 0;
    let mut v6_failed = 0;
    // Every deadline before IPv4's own re-announce, due at 1,800 s.
    let until = now + Duration::from_secs(1700);
    while t < until {
        let Some(next) = a.poll_timeout().filter(|&n| n < until) else {
            break;
        };
        t = next;
        a.handle_timeout(t);
        for (tr, _) in transmits(&mut a) {
            v4_sent += usize::from(tr.destination == addr(V4));
        }
        for e in std::iter::from_fn(|| a.poll_event()).collect::<Vec<_>>() {
            v6_failed += usize::from(
                matches!(e, Event::Failed(_)) && family_of(&a, &e) == Some(AddressFamily::V6),
            );
        }
        let v4 = a.trackers().find(|s| s.family == Some(AddressFamily::V4));
        assert_eq!(v4.map(|s| s.state), Some(TrackerState::Working), "at {t:?}");
    }
    assert!(v6_failed >= 2, "IPv6 failed {v6_failed} times");
    assert_eq!(
        v4_sent, 0,
        "IPv4 waits for its own interval whatever IPv6 does"
    );
    let v4 = a
        .trackers()
        .find(|s| s.family == Some(AddressFamily::V4))
        .unwrap();
    assert_eq!(v4.next_announce, Some(now + Duration::from_secs(1800)));
}

#[test]
fn stop_sends_stopped_over_each_family_that_was_started() {
    let now = start();
    let mut a = dual("udp://tracker.example:6969/announce", now);
    let (a4, a6) = both_started(&mut a, now);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&a4)));
    assert!(a.handle_datagram(now, addr(V6), &announce_reply(&a6)));
    while a.poll_event().is_some() {}
    a.stop(now);
    let sent = transmits(&mut a);
    let mut stopped: Vec<SocketAddr> = sent
        .iter()
        .filter(|(_, b)| b.len() >= 98 && b[80..84] == 3u32.to_be_bytes())
        .map(|(t, _)| t.destination)
        .collect();
    stopped.sort();
    let mut want = vec![addr(V4), addr(V6)];
    want.sort();
    assert_eq!(stopped, want);
}

#[test]
fn an_ip_literal_tracker_is_announced_over_its_own_family_only() {
    let now = start();
    let mut a = dual("udp://203.0.113.5:6969/announce", now);
    assert!(a.poll_dns_query().is_none());
    let sent = transmits(&mut a);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.destination, addr(V4));
    assert_eq!(a.trackers().count(), 1);
}
