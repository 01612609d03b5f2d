//! Issue 16: host names are the machine's. One DNS query per name for every torrent, answers and
//! failures cached with bounded lifetimes, the last good answer kept through failed refreshes,
//! addresses on every datagram and request, failover between a name's addresses, replies accepted
//! from any sibling address and never from a stranger, and the SSRF policy on resolved addresses.
//! Hostile resolvers too: dead and live addresses, loopback only, 1,000 addresses, no answer.

mod common;

use common::start;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, DnsAnswer, DnsError, DnsFailure, DnsQuery, Event, HttpRequest,
    MAX_DNS_ADDRESSES, Progress, Torrent, Transmit, TransportError,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use common::udp::connect_reply_with;
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent(n: u32) -> Torrent {
    let mut hash = [0u8; 20];
    hash[..4].copy_from_slice(&n.to_be_bytes());
    Torrent {
        info_hash: InfoHash(hash),
        peer_id: PeerId(*b"-BT0100-dns-00000001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

fn tiers(url: &str) -> Vec<Vec<TrackerUrl>> {
    vec![vec![TrackerUrl::parse(url).unwrap()]]
}

fn client(config: Config, now: Instant) -> Client {
    Client::new(config, &mut ChaCha12Rng::seed_from_u64(16), now).unwrap()
}

fn announce(url: &str, config: Config, now: Instant) -> Announce {
    let mut rng = ChaCha12Rng::seed_from_u64(16);
    Announce::new(config, torrent(1), tiers(url), &mut rng, now).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| ip(s)).collect()
}

fn answer(addresses: Vec<IpAddr>, ttl: Option<Duration>) -> Result<DnsAnswer, DnsError> {
    Ok(DnsAnswer { addresses, ttl })
}

fn queries(c: &mut Client) -> Vec<DnsQuery> {
    std::iter::from_fn(|| c.poll_dns_query()).collect()
}

/// Every datagram waiting, with its bytes.
fn transmits(c: &mut Client) -> Vec<(Transmit, Vec<u8>)> {
    let mut buf = Vec::new();
    std::iter::from_fn(|| c.poll_transmit(&mut buf).map(|t| (t, buf.clone()))).collect()
}

fn announce_transmits(a: &mut Announce) -> Vec<(Transmit, Vec<u8>)> {
    let mut buf = Vec::new();
    std::iter::from_fn(|| a.poll_transmit(&mut buf).map(|t| (t, buf.clone()))).collect()
}

fn events(c: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event().map(|(_, e)| e)).collect()
}

fn announce_reply(request: &[u8]) -> Vec<u8> {
    let mut r = 1u32.to_be_bytes().to_vec();
    r.extend_from_slice(&request[12..16]);
    for n in [1800u32, 0, 1] {
        r.extend_from_slice(&n.to_be_bytes());
    }
    r.extend_from_slice(&[198, 51, 100, 7, 0x1a, 0xe1]);
    r
}

fn failures(events: &[Event]) -> Vec<Cause> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Failed(f) => Some(f.cause.clone()),
            _ => None,
        })
        .collect()
}

const TRACKER: &str = "udp://tracker.example:6969/announce";

// ----- one query per name, cached -----

#[test]
fn a_thousand_torrents_on_one_name_over_udp_and_http_make_one_query() {
    let now = start();
    let mut c = client(Config::default(), now);
    for n in 0..1000 {
        let urls = vec![
            vec![TrackerUrl::parse(TRACKER).unwrap()],
            vec![TrackerUrl::parse("http://Tracker.Example./announce").unwrap()],
        ];
        c.add(now, torrent(n), urls).unwrap();
    }
    let asked = queries(&mut c);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].host, "tracker.example");
    assert!(
        transmits(&mut c).is_empty(),
        "nothing goes out before the name resolves"
    );
    assert!(c.handle_dns_response(now, asked[0].id, answer(ips(&["203.0.113.5"]), None)));
    assert!(!c.handle_dns_response(now, asked[0].id, answer(ips(&["203.0.113.6"]), None)));
    let sent = transmits(&mut c);
    assert_eq!(sent.len(), 1, "one connect shared by every torrent");
    assert_eq!(sent[0].0.destination, "203.0.113.5:6969".parse().unwrap());
    assert_eq!(c.dns_queries_made(), 1);
}

#[test]
fn an_ip_literal_tracker_asks_no_query() {
    let now = start();
    let mut a = announce("udp://192.0.2.1:6969", Config::default(), now);
    assert_eq!(a.poll_dns_query(), None);
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, "192.0.2.1:6969".parse().unwrap());
    assert_eq!(a.dns_queries_made(), 0);
}

#[test]
fn a_cached_name_is_not_asked_again_until_its_clamped_ttl_ends() {
    let now = start();
    let mut c = client(Config::default(), now);
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    // A TTL of 1 s is raised to DnsConfig::min_ttl (60 s).
    let ttl = Some(Duration::from_secs(1));
    assert!(c.handle_dns_response(now, q.id, answer(ips(&["203.0.113.5"]), ttl)));
    let later = now + Duration::from_secs(59);
    c.add(later, torrent(1), tiers(TRACKER)).unwrap();
    assert!(queries(&mut c).is_empty(), "cached for the clamped 60 s");
    let expired = now + Duration::from_secs(61);
    c.add(expired, torrent(2), tiers(TRACKER)).unwrap();
    let refresh = queries(&mut c);
    assert_eq!(refresh.len(), 1, "expired: refreshed once");
    // The refresh does not stall the request: it goes to the last good address at once.
    let sent = transmits(&mut c);
    assert!(
        sent.iter()
            .any(|(t, _)| t.destination == "203.0.113.5:6969".parse().unwrap()),
        "{sent:?}"
    );
}

#[test]
fn a_refresh_that_fails_keeps_the_last_good_addresses() {
    let now = start();
    let mut c = client(Config::default(), now);
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    let ttl = Some(Duration::from_secs(60));
    assert!(c.handle_dns_response(now, q.id, answer(ips(&["203.0.113.5"]), ttl)));
    let t1 = now + Duration::from_secs(61);
    c.add(t1, torrent(1), tiers(TRACKER)).unwrap();
    let refresh = queries(&mut c).remove(0);
    assert!(c.handle_dns_response(t1, refresh.id, Err(DnsError::Failed)));
    let t2 = t1 + Duration::from_secs(1);
    c.add(t2, torrent(2), tiers(TRACKER)).unwrap();
    assert!(queries(&mut c).is_empty(), "the failed refresh is cached");
    assert!(failures(&events(&mut c)).is_empty());
    let sent = transmits(&mut c);
    assert!(!sent.is_empty());
    for (t, _) in &sent {
        assert_eq!(t.destination, "203.0.113.5:6969".parse().unwrap());
    }
}

#[test]
fn a_failed_name_is_cached_and_its_lifetime_doubles() {
    let now = start();
    let mut c = client(Config::default(), now);
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    assert!(c.handle_dns_response(now, q.id, Err(DnsError::NotFound)));
    let causes = failures(&events(&mut c));
    assert_eq!(
        causes,
        vec![Cause::Dns(DnsFailure::Resolver(DnsError::NotFound))]
    );
    assert!(causes[0].to_string().contains("does not exist"));
    // Within 150 s: fails at once, no query.
    let t = now + Duration::from_secs(149);
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    assert!(queries(&mut c).is_empty());
    assert_eq!(failures(&events(&mut c)).len(), 1);
    // After it: one query; failing again doubles the lifetime to 300 s.
    let t = now + Duration::from_secs(151);
    c.add(t, torrent(2), tiers(TRACKER)).unwrap();
    let q = queries(&mut c);
    assert_eq!(q.len(), 1);
    assert!(c.handle_dns_response(t, q[0].id, Err(DnsError::Failed)));
    c.add(t + Duration::from_secs(299), torrent(3), tiers(TRACKER))
        .unwrap();
    assert!(queries(&mut c).is_empty(), "300 s after the second failure");
    c.add(t + Duration::from_secs(301), torrent(4), tiers(TRACKER))
        .unwrap();
    assert_eq!(queries(&mut c).len(), 1);
    assert_eq!(c.dns_queries_made(), 3);
}

#[test]
fn a_query_never_answered_fails_its_requests_at_the_deadline() {
    let now = start();
    let mut a = announce(TRACKER, Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    assert_eq!(q.deadline, now + Duration::from_secs(30));
    assert_eq!(a.poll_timeout(), Some(q.deadline));
    a.handle_timeout(q.deadline);
    let failed: Vec<Cause> = std::iter::from_fn(|| a.poll_event())
        .filter_map(|e| match e {
            Event::Failed(f) => Some(f.cause),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![Cause::Dns(DnsFailure::NoAnswer)]);
    assert!(failed[0].to_string().contains("did not answer"));
    // A late failure changes nothing: no event, nothing sent, the failure stays cached.
    assert!(!a.handle_dns_response(q.deadline, q.id, Err(DnsError::NotFound)));
    assert!(a.poll_event().is_none() && announce_transmits(&mut a).is_empty());
    assert_eq!(a.trackers().next().unwrap().failures, 1);
}

// ----- late answers -----

/// A client whose torrent 0 failed on `TRACKER` at the query's deadline; returns the query.
fn expired_query(c: &mut Client, now: Instant) -> DnsQuery {
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(c).remove(0);
    c.handle_timeout(q.deadline);
    assert_eq!(failures(&events(c)), vec![Cause::Dns(DnsFailure::NoAnswer)]);
    q
}

fn sent_to(c: &mut Client, addr: &str) -> usize {
    let addr: SocketAddr = addr.parse().unwrap();
    transmits(c)
        .iter()
        .filter(|(t, _)| t.destination == addr)
        .count()
}

#[test]
fn a_late_success_after_the_deadline_is_cached_and_replaces_the_failure() {
    let now = start();
    let mut c = client(Config::default(), now);
    let q = expired_query(&mut c, now);
    // Without the late answer a new torrent would fail at once for 150 s (the cached failure).
    let t = q.deadline + Duration::from_secs(5);
    assert!(c.handle_dns_response(t, q.id, answer(ips(&["203.0.113.5"]), None)));
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    assert!(queries(&mut c).is_empty(), "the late answer is cached");
    assert!(failures(&events(&mut c)).is_empty());
    assert_eq!(
        sent_to(&mut c, "203.0.113.5:6969"),
        1,
        "torrent 1 goes at once"
    );
    // Answering it twice does nothing.
    assert!(!c.handle_dns_response(t, q.id, answer(ips(&["203.0.113.6"]), None)));
    assert_eq!(c.dns_queries_made(), 1);
}

#[test]
fn a_late_success_wakes_the_requests_waiting_for_the_next_query() {
    let now = start();
    let mut c = client(Config::default(), now);
    let q1 = expired_query(&mut c, now);
    // After the failure's 150 s, torrent 1 asks again and waits for query 2.
    let t = q1.deadline + Duration::from_secs(151);
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    let q2 = queries(&mut c).remove(0);
    assert!(transmits(&mut c).is_empty());
    // Query 1's answer comes late, before query 2's: torrent 1 goes on with it.
    assert!(c.handle_dns_response(t, q1.id, answer(ips(&["203.0.113.5"]), None)));
    assert_eq!(sent_to(&mut c, "203.0.113.5:6969"), 1);
    // Query 2 is still the name's query in flight; its answer refreshes the cache.
    assert!(c.handle_dns_response(t, q2.id, answer(ips(&["203.0.113.6"]), None)));
    c.add(t, torrent(2), tiers(TRACKER)).unwrap();
    assert_eq!(sent_to(&mut c, "203.0.113.6:6969"), 1);
}

#[test]
fn a_late_answer_to_a_query_two_queries_ago_is_ignored() {
    let now = start();
    let mut c = client(Config::default(), now);
    let q1 = expired_query(&mut c, now);
    let t = q1.deadline + Duration::from_secs(151);
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    let q2 = queries(&mut c).remove(0);
    c.handle_timeout(q2.deadline);
    // Torrent 1, and torrent 0 on its retry, fail with query 2.
    let failed = failures(&events(&mut c));
    assert!(
        !failed.is_empty()
            && failed
                .iter()
                .all(|f| *f == Cause::Dns(DnsFailure::NoAnswer))
    );
    let late = q2.deadline + Duration::from_secs(1);
    assert!(!c.handle_dns_response(late, q1.id, answer(ips(&["203.0.113.5"]), None)));
    c.add(late, torrent(2), tiers(TRACKER)).unwrap();
    assert_eq!(
        failures(&events(&mut c)).len(),
        1,
        "still the cached failure"
    );
    // The latest query's late success is used.
    assert!(c.handle_dns_response(late, q2.id, answer(ips(&["203.0.113.6"]), None)));
    c.add(late, torrent(3), tiers(TRACKER)).unwrap();
    assert_eq!(sent_to(&mut c, "203.0.113.6:6969"), 1);
}

#[test]
fn an_answer_while_no_torrent_runs_still_answers_its_query() {
    // Found by the client_machine fuzz target: an answer that came while no torrent ran was
    // refused without answering its query, so a second answer to the same id was used later.
    let now = start();
    let mut c = client(Config::default(), now);
    let id = c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    c.remove(now, id);
    let _ = events(&mut c);
    // Nothing runs: not used, but answered.
    assert!(!c.handle_dns_response(now, q.id, answer(ips(&["203.0.113.5"]), None)));
    c.add(now, torrent(1), tiers(TRACKER)).unwrap();
    assert!(
        !c.handle_dns_response(now, q.id, Err(DnsError::NotFound)),
        "a second answer to one query was used"
    );
    // The first answer was cached for the torrent added later: no new query, sent at once.
    assert!(queries(&mut c).is_empty());
    assert_eq!(sent_to(&mut c, "203.0.113.5:6969"), 1);
    assert!(failures(&events(&mut c)).is_empty());
}

/// When a query's first answer comes, relative to its deadline.
#[derive(Clone, Copy, Debug)]
enum Timing {
    InTime,
    PastTheDeadlineBeforeTheTimeout,
    AfterTheTimeout,
}

#[test]
fn a_query_is_answered_at_most_once_whatever_its_first_answer_was() {
    // The fuzzer found a late failure that let a second, successful answer to the same id in.
    // Every first answer (success or failure; in time, late before the machine's timeout ran,
    // late after it) closes the id: a second answer is ignored and never reaches the wire.
    let failure = || Err(DnsError::NotFound);
    let success = || answer(ips(&["203.0.113.5"]), None);
    type Answer = fn() -> Result<DnsAnswer, DnsError>;
    let firsts: [(&str, Answer); 2] = [("failure", failure), ("success", success)];
    for timing in [
        Timing::InTime,
        Timing::PastTheDeadlineBeforeTheTimeout,
        Timing::AfterTheTimeout,
    ] {
        for (kind, first) in firsts {
            let now = start();
            let mut c = client(Config::default(), now);
            c.add(now, torrent(0), tiers(TRACKER)).unwrap();
            let q = queries(&mut c).remove(0);
            let t = match timing {
                Timing::InTime => now + Duration::from_secs(1),
                Timing::PastTheDeadlineBeforeTheTimeout => q.deadline + Duration::from_secs(1),
                Timing::AfterTheTimeout => {
                    c.handle_timeout(q.deadline);
                    q.deadline + Duration::from_secs(1)
                }
            };
            let _ = c.handle_dns_response(t, q.id, first());
            let _ = (events(&mut c), transmits(&mut c));
            let again = answer(ips(&["203.0.113.6"]), None);
            assert!(
                !c.handle_dns_response(t, q.id, again),
                "{timing:?} {kind}: a second answer to one query was used"
            );
            c.add(t, torrent(1), tiers(TRACKER)).unwrap();
            assert_eq!(
                sent_to(&mut c, "203.0.113.6:6969"),
                0,
                "{timing:?} {kind}: the second answer's address reached the wire"
            );
        }
    }
}

#[test]
fn late_answers_are_remembered_for_cached_names_only() {
    // 200 names each lose their query at the deadline; the cache keeps 8 names, so at most the
    // expired queries of 8 names can still be answered: what is remembered stays bounded.
    let now = start();
    let mut config = Config::default();
    config.dns.max_names = 8;
    let mut c = client(config, now);
    let mut expired = Vec::new();
    for k in 0..200u32 {
        let t = now + Duration::from_secs(31 * u64::from(k));
        let url = format!("udp://t{k}.example:6969/announce");
        c.add(t, torrent(k), tiers(&url)).unwrap();
        let q = queries(&mut c).remove(0);
        c.handle_timeout(q.deadline);
        expired.push(q);
    }
    let _ = events(&mut c);
    let end = now + Duration::from_secs(31 * 200);
    let used = expired
        .iter()
        .filter(|q| c.handle_dns_response(end, q.id, answer(ips(&["203.0.113.5"]), None)))
        .count();
    assert!((1..=8).contains(&used), "{used} late answers used");
}

#[test]
fn the_name_evicted_among_equal_lifetimes_is_the_same_in_every_client() {
    // Eight names fail in one `handle_timeout`, so their cache entries end at the same instant;
    // a ninth name evicts one of them. Which one decides whose late answer is still used, so it
    // must not depend on a hash map's per-instance order: every client picks the same one.
    let used_ids = |_: u32| {
        let now = start();
        let mut config = Config::default();
        config.dns.max_names = 8;
        let mut c = client(config, now);
        for k in 0..8u32 {
            c.add(now, torrent(k), tiers(&format!("udp://t{k}.example:6969")))
                .unwrap();
        }
        let expired = queries(&mut c);
        c.handle_timeout(expired[0].deadline);
        let _ = events(&mut c);
        let t = expired[0].deadline + Duration::from_secs(1);
        c.add(t, torrent(8), tiers("udp://t8.example:6969"))
            .unwrap();
        let _ = queries(&mut c);
        let used: Vec<String> = expired
            .iter()
            .filter(|q| c.handle_dns_response(t, q.id, answer(ips(&["203.0.113.5"]), None)))
            .map(|q| q.host.clone())
            .collect();
        assert_eq!(used.len(), 7, "one of the eight was evicted: {used:?}");
        used
    };
    let first = used_ids(0);
    for k in 1..6 {
        assert_eq!(used_ids(k), first, "client {k} evicted another name");
    }
    assert!(
        !first.contains(&"t0.example".to_owned()),
        "the first in byte order goes"
    );
}

// ----- several addresses -----

#[test]
fn udp_failover_reaches_the_second_address_after_one_rto() {
    let now = start();
    let mut a = announce(TRACKER, Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    let dead: SocketAddr = "203.0.113.1:6969".parse().unwrap();
    let live: SocketAddr = "203.0.113.2:6969".parse().unwrap();
    assert!(a.handle_dns_response(now, q.id, answer(vec![dead.ip(), live.ip()], None)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.destination, dead);
    let rto = Config::default().udp_rto;
    assert_eq!(a.poll_timeout(), Some(now + rto));
    a.handle_timeout(now + rto);
    let sent = announce_transmits(&mut a);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.destination, live, "moved on after one rto");
    let t = now + rto + Duration::from_millis(20);
    assert!(a.handle_datagram(t, live, &connect_reply_with(&sent[0].1, 9)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, live);
    assert!(a.handle_datagram(t, live, &announce_reply(&sent[0].1)));
    let peers: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        matches!(&peers[..], [Event::Announced(x)] if x.peers.len() == 1),
        "first peers 15 s after start with a dead first address: {peers:?}"
    );
}

#[test]
fn a_reply_from_a_sibling_address_is_accepted_and_from_a_stranger_not() {
    let now = start();
    let mut a = announce(TRACKER, Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    let addrs = ips(&["2001:db8::1", "2001:db8::2", "203.0.113.9"]);
    assert!(a.handle_dns_response(now, q.id, answer(addrs, None)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, "[2001:db8::1]:6969".parse().unwrap());
    let reply = connect_reply_with(&sent[0].1, 5);
    let stranger: SocketAddr = "[2001:db8::3]:6969".parse().unwrap();
    let wrong_port: SocketAddr = "[2001:db8::2]:6970".parse().unwrap();
    assert!(!a.handle_datagram(now, stranger, &reply), "a stranger");
    assert!(
        !a.handle_datagram(now, wrong_port, &reply),
        "a sibling on another port"
    );
    let sibling: SocketAddr = "[2001:db8::2]:6969".parse().unwrap();
    assert!(
        a.handle_datagram(now, sibling, &reply),
        "a multi-homed tracker's sibling"
    );
    let sent = announce_transmits(&mut a);
    assert!(sent[0].1.len() >= 98, "the announce follows the connect");
}

#[test]
fn connection_ids_are_kept_per_resolved_address() {
    let now = start();
    let mut c = client(Config::default(), now);
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    let first: SocketAddr = "203.0.113.1:6969".parse().unwrap();
    let second: SocketAddr = "203.0.113.2:6969".parse().unwrap();
    assert!(c.handle_dns_response(now, q.id, answer(vec![first.ip(), second.ip()], None)));
    let _ = transmits(&mut c);
    let t = now + Config::default().udp_rto;
    c.handle_timeout(t);
    let sent = transmits(&mut c);
    assert_eq!(sent[0].0.destination, second);
    assert!(c.handle_datagram(t, second, &connect_reply_with(&sent[0].1, 77)));
    let _ = transmits(&mut c);
    // A new torrent starts at the first address: the second's id is not used there.
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    let sent = transmits(&mut c);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.destination, first);
    assert_eq!(sent[0].1.len(), 16, "a connect: no id for this address");
}

#[test]
fn http_connection_refused_moves_to_the_next_address() {
    let now = start();
    let mut a = announce("http://tracker.example/announce", Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    let addrs = ips(&["203.0.113.1", "203.0.113.2"]);
    assert!(a.handle_dns_response(now, q.id, answer(addrs, None)));
    let first = a.poll_http_request().unwrap();
    let expected: Vec<SocketAddr> = vec![
        "203.0.113.1:80".parse().unwrap(),
        "203.0.113.2:80".parse().unwrap(),
    ];
    assert_eq!(first.addresses, expected);
    assert!(a.handle_transport_error(now, first.id, TransportError::ConnectionRefused));
    let second: HttpRequest = a.poll_http_request().expect("the next address");
    assert_ne!(second.id, first.id);
    assert_eq!(second.addresses, expected[1..]);
    assert_eq!(second.url, first.url);
    assert!(a.poll_event().is_none(), "no failure yet");
    assert!(a.handle_transport_error(now, second.id, TransportError::ConnectionRefused));
    let failed: Vec<Cause> = std::iter::from_fn(|| a.poll_event())
        .filter_map(|e| match e {
            Event::Failed(f) => Some(f.cause),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed,
        vec![Cause::Transport(TransportError::ConnectionRefused)]
    );
}

#[test]
fn an_answer_of_a_thousand_addresses_keeps_sixteen() {
    let now = start();
    let mut a = announce(TRACKER, Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    let many: Vec<IpAddr> = (0..1000u32)
        .map(|n| IpAddr::from([198, 18, (n >> 8) as u8, n as u8]))
        .collect();
    assert!(a.handle_dns_response(now, q.id, answer(many, None)));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        for (tr, _) in announce_transmits(&mut a) {
            seen.insert(tr.destination);
        }
        let Some(t) = a.poll_timeout() else { break };
        a.handle_timeout(t);
        if std::iter::from_fn(|| a.poll_event()).any(|e| matches!(e, Event::Failed(_))) {
            break;
        }
    }
    assert_eq!(seen.len(), MAX_DNS_ADDRESSES, "{seen:?}");
}

// ----- SSRF on resolved addresses -----

#[test]
fn a_public_name_resolving_to_loopback_only_is_refused_with_the_cause() {
    let now = start();
    for internal in ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00::1"] {
        // Addresses naming no single host (0.0.0.0, broadcast, multicast) are no address at all,
        // whatever allow_internal says: tests/url_policy.rs.
        let mut a = announce(TRACKER, Config::default(), now);
        let q = a.poll_dns_query().unwrap();
        assert!(a.handle_dns_response(now, q.id, answer(ips(&[internal]), None)));
        assert!(
            announce_transmits(&mut a).is_empty(),
            "{internal}: nothing sent"
        );
        let failed: Vec<Cause> = std::iter::from_fn(|| a.poll_event())
            .filter_map(|e| match e {
                Event::Failed(f) => Some(f.cause),
                _ => None,
            })
            .collect();
        assert_eq!(
            failed,
            vec![Cause::Dns(DnsFailure::InternalOnly)],
            "{internal}"
        );
        assert!(failed[0].to_string().contains("allow_internal"));
    }
}

#[test]
fn a_mixed_answer_keeps_only_the_public_addresses() {
    let now = start();
    let mut a = announce(TRACKER, Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    let addrs = ips(&["192.168.1.1", "203.0.113.4", "127.0.0.1"]);
    assert!(a.handle_dns_response(now, q.id, answer(addrs, None)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, "203.0.113.4:6969".parse().unwrap());
    // The internal ones are no siblings either.
    let loopback: SocketAddr = "127.0.0.1:6969".parse().unwrap();
    assert!(!a.handle_datagram(now, loopback, &connect_reply_with(&sent[0].1, 1)));
}

#[test]
fn localhost_and_configured_lan_names_may_resolve_internal() {
    let now = start();
    let mut a = announce("udp://localhost:6969", Config::default(), now);
    let q = a.poll_dns_query().unwrap();
    assert_eq!(q.host, "localhost");
    assert!(a.handle_dns_response(now, q.id, answer(ips(&["::1", "127.0.0.1"]), None)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, "[::1]:6969".parse().unwrap());

    let mut lan = Config::default();
    lan.dns.allow_internal = true;
    let mut a = announce("udp://nas.lan:6969", lan, now);
    let q = a.poll_dns_query().unwrap();
    assert!(a.handle_dns_response(now, q.id, answer(ips(&["192.168.1.9"]), None)));
    let sent = announce_transmits(&mut a);
    assert_eq!(sent[0].0.destination, "192.168.1.9:6969".parse().unwrap());
}

#[test]
fn a_redirect_to_a_name_resolving_internal_is_refused() {
    let now = start();
    let mut a = announce("http://tracker.example/announce", Config::default(), now);
    common::answer_dns(&mut a, now);
    let first = a.poll_http_request().unwrap();
    let moved = HttpResponse::new(302, Some("http://rebind.example/announce"), b"");
    assert!(a.handle_http_response(now, first.id, &moved));
    assert!(
        a.poll_http_request().is_none(),
        "the hop waits for its name"
    );
    let q = a.poll_dns_query().unwrap();
    assert_eq!(q.host, "rebind.example");
    assert!(a.handle_dns_response(now, q.id, answer(ips(&["10.1.2.3"]), None)));
    assert!(a.poll_http_request().is_none());
    let failed: Vec<Cause> = std::iter::from_fn(|| a.poll_event())
        .filter_map(|e| match e {
            Event::Failed(f) => Some(f.cause),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![Cause::Dns(DnsFailure::InternalOnly)]);
}

#[test]
fn a_name_that_turns_internal_on_refresh_gets_nothing_sent_there() {
    let now = start();
    let mut c = client(Config::default(), now);
    c.add(now, torrent(0), tiers(TRACKER)).unwrap();
    let q = queries(&mut c).remove(0);
    let ttl = Some(Duration::from_secs(60));
    assert!(c.handle_dns_response(now, q.id, answer(ips(&["203.0.113.5"]), ttl)));
    let _ = transmits(&mut c);
    let t = now + Duration::from_secs(61);
    c.add(t, torrent(1), tiers(TRACKER)).unwrap();
    let refresh = queries(&mut c).remove(0);
    assert!(c.handle_dns_response(t, refresh.id, answer(ips(&["127.0.0.1"]), ttl)));
    let t = t + Duration::from_secs(1);
    c.add(t, torrent(2), tiers(TRACKER)).unwrap();
    for (tr, _) in transmits(&mut c) {
        assert!(!tr.destination.ip().is_loopback(), "{tr:?}");
    }
    assert!(
        failures(&events(&mut c)).contains(&Cause::Dns(DnsFailure::InternalOnly)),
        "the rebound name is refused"
    );
}

// ----- scale -----

#[test]
fn a_hundred_thousand_torrents_on_one_dead_name_make_a_handful_of_queries() {
    let now = start();
    let mut c = client(Config::default(), now);
    let mut made = Vec::new();
    // Torrents arrive over an hour (one every 36 ms); the resolver fails every query.
    for n in 0..100_000u32 {
        let t = now + Duration::from_millis(36 * u64::from(n));
        c.add(t, torrent(n), tiers(TRACKER)).unwrap();
        for q in queries(&mut c) {
            made.push(t);
            assert!(c.handle_dns_response(t, q.id, Err(DnsError::Failed)));
        }
        if n % 1000 == 0 {
            while c.poll_event().is_some() {}
        }
    }
    // 150 s, 300 s, 600 s, 1200 s, then 1800 s each: 5 or 6 queries in an hour.
    eprintln!(
        "100,000 torrents, one dead name, one hour: {} queries",
        made.len()
    );
    assert!((4..=7).contains(&made.len()), "{} queries", made.len());
    assert_eq!(c.dns_queries_made(), made.len() as u64);
}

#[test]
fn a_hundred_thousand_torrents_on_one_live_name_make_one_query() {
    let now = start();
    let mut c = client(Config::default(), now);
    let mut asked = 0;
    for n in 0..100_000u32 {
        c.add(now, torrent(n), tiers(TRACKER)).unwrap();
        for q in queries(&mut c) {
            asked += 1;
            assert!(c.handle_dns_response(now, q.id, answer(ips(&["203.0.113.5"]), None)));
        }
    }
    eprintln!("100,000 torrents, one live name: {asked} queries");
    assert_eq!(asked, 1);
}

// ----- any answer, any order -----

/// Random answers (public, internal, both families, many, none, failures), stale and repeated
/// ids, and time jumps on a client with torrents on several names: nothing panics, at most one
/// query per name is in flight, and after a full drain the next deadline is ahead of `now`.
#[test]
fn random_answers_and_timings_keep_the_dns_invariants() {
    fn run(ops: Vec<(u8, u8, u16)>) -> bool {
        let names = [
            "udp://a.example:6969",
            "http://a.example/announce",
            "udp://b.example:80",
            "http://localhost:8080/announce",
            "udp://c.example:6969",
        ];
        let mut now = start();
        let mut c = client(Config::default(), now);
        let mut open: Vec<DnsQuery> = Vec::new();
        let mut stale = Vec::new();
        for (k, (op, n, ms)) in ops.into_iter().enumerate() {
            match op % 6 {
                0 => {
                    let url = names[usize::from(n) % names.len()];
                    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
                    c.add(now, torrent(k as u32), tiers).unwrap();
                }
                1 | 2 if !open.is_empty() => {
                    let q = open.remove(usize::from(n) % open.len());
                    let result = if op % 6 == 2 && n % 3 == 0 {
                        Err(DnsError::Failed)
                    } else {
                        let addresses = (0..u32::from(n) * 7)
                            .map(|i| match i % 4 {
                                0 => IpAddr::from([203, 0, 113, i as u8]),
                                1 => IpAddr::from([127, 0, 0, 1]),
                                2 => ip("2001:db8::1"),
                                _ => ip("::ffff:198.51.100.1"),
                            })
                            .collect();
                        answer(addresses, Some(Duration::from_secs(u64::from(ms))))
                    };
                    if !c.handle_dns_response(now, q.id, result) && q.deadline > now {
                        return false;
                    }
                    stale.push(q.id);
                }
                3 if !stale.is_empty() => {
                    let id = stale[usize::from(n) % stale.len()];
                    if c.handle_dns_response(now, id, Err(DnsError::NotFound)) {
                        return false;
                    }
                }
                4 => {
                    now += Duration::from_secs(u64::from(ms));
                }
                _ => {
                    now += Duration::from_millis(u64::from(ms) * 50);
                    c.handle_timeout(now);
                }
            }
            if let Some(due) = c.poll_timeout()
                && due <= now
            {
                c.handle_timeout(now);
            }
            while let Some(q) = c.poll_dns_query() {
                open.retain(|o| o.deadline > now);
                if open.iter().any(|o| o.host == q.host) {
                    return false;
                }
                open.push(q);
            }
            let _ = transmits(&mut c);
            while c.poll_http_request().is_some() {}
            let _ = events(&mut c);
            if c.poll_timeout().is_some_and(|due| due <= now) {
                return false;
            }
        }
        true
    }
    quickcheck::QuickCheck::new()
        .tests(300)
        .quickcheck(run as fn(Vec<(u8, u8, u16)>) -> bool);
}

#[test]
fn thousands_of_trackers_on_a_dead_name_fail_over_without_deep_recursion() {
    // Every tracker of the lane fails at once from the negative cache: the walk is a loop.
    let now = start();
    let mut config = Config::default();
    config.max_trackers = 20_000;
    let mut c = client(config, now);
    let one = vec![vec![TrackerUrl::parse("udp://dead.example:1/a").unwrap()]];
    c.add(now, torrent(0), one).unwrap();
    let q = queries(&mut c).remove(0);
    assert!(c.handle_dns_response(now, q.id, Err(DnsError::NotFound)));
    let _ = events(&mut c);
    let tier: Vec<TrackerUrl> = (0..20_000)
        .map(|n| TrackerUrl::parse(&format!("udp://dead.example:1/{n}")).unwrap())
        .collect();
    c.add(now, torrent(1), vec![tier]).unwrap();
    assert!(queries(&mut c).is_empty(), "the failure is cached");
    let failed = failures(&events(&mut c));
    assert_eq!(failed.len(), 20_000);
    assert!(
        failed
            .iter()
            .all(|f| *f == Cause::Dns(DnsFailure::Resolver(DnsError::NotFound)))
    );
}
