//! Issue 16, BEP 7 dual-stack (`Config::families = Families::Both`): a tracker named by a host name
//! is announced to over each family separately, with the same key and peer id, each family with
//! its own connection id, event state and schedule; one family's failure never undoes the other's
//! success.

mod common;

use common::start;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, DnsAnswer, DnsFailure, EditError, Event, Families, Progress, TierMode,
    Torrent, TrackerId, TrackerState, TrackerStatus, Transmit,
};
use bt_tracker::client::Client;
use bt_tracker::{AddressFamily, InfoHash, PeerId, TrackerUrl};
use common::udp::{announce_reply, connect_reply_with};
use quickcheck::Arbitrary;
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const V4: &str = "203.0.113.5:6969";
const V6: &str = "[2001:db8::5]:6969";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn dual(url: &str, now: Instant) -> Announce {
    dual_with(Config::default(), &[&[url]], now)
}

fn dual_config() -> Config {
    let mut config = Config::default();
    config.families = Families::Both;
    config
}

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-dualstack001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

fn url_tiers(tiers: &[&[&str]]) -> Vec<Vec<TrackerUrl>> {
    tiers
        .iter()
        .map(|t| t.iter().map(|u| TrackerUrl::parse(u).unwrap()).collect())
        .collect()
}

/// A dual-stack machine over `tiers`, with `config`'s other knobs.
fn dual_with(mut config: Config, tiers: &[&[&str]], now: Instant) -> Announce {
    config.families = Families::Both;
    let mut rng = ChaCha12Rng::seed_from_u64(7);
    Announce::new(config, torrent(), url_tiers(tiers), &mut rng, now).unwrap()
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

/// [`both_started`], with both families' `started` answered and the events drained.
fn both_announced(a: &mut Announce, now: Instant) {
    let (a4, a6) = both_started(a, now);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&a4)));
    assert!(a.handle_datagram(now, addr(V6), &announce_reply(&a6)));
    while a.poll_event().is_some() {}
}

/// [`both_started`], with only the IPv4 `started` answered and the events drained; returns the
/// IPv6 `started`, still in flight.
fn v4_announced(a: &mut Announce, now: Instant) -> Vec<u8> {
    let (a4, a6) = both_started(a, now);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&a4)));
    while a.poll_event().is_some() {}
    a6
}

/// The UDP `stopped` announces among `sent`, by destination, sorted.
fn stopped_to(sent: &[(Transmit, Vec<u8>)]) -> Vec<SocketAddr> {
    let mut to: Vec<SocketAddr> = sent
        .iter()
        .filter(|(_, b)| b.len() >= 98 && b[80..84] == 3u32.to_be_bytes())
        .map(|(t, _)| t.destination)
        .collect();
    to.sort();
    to
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

/// Runs `a` until `end` on a name with one address, `only`: every datagram to it answered, every
/// DNS query (the first one included) answered with it alone and no TTL (cached an hour). Returns
/// when each failure of the other family came, and when each query was answered.
fn run_one_family(
    a: &mut Announce,
    now: Instant,
    end: Instant,
    only: SocketAddr,
) -> (Vec<Instant>, Vec<Instant>) {
    let missing = match AddressFamily::of(&only) {
        AddressFamily::V4 => AddressFamily::V6,
        AddressFamily::V6 => AddressFamily::V4,
    };
    let (mut failures, mut queries) = (Vec::new(), Vec::new());
    let mut t = now;
    for _ in 0..10_000 {
        while let Some(q) = a.poll_dns_query() {
            queries.push(t);
            let answer = DnsAnswer {
                addresses: vec![only.ip()],
                ttl: None,
            };
            assert!(a.handle_dns_response(t, q.id, Ok(answer)));
        }
        for (sent, datagram) in transmits(a) {
            assert_eq!(sent.destination, only, "nothing goes to the other family");
            let reply = if datagram.len() == 16 {
                connect_reply_with(&datagram, 0x44)
            } else {
                announce_reply(&datagram)
            };
            assert!(a.handle_datagram(t, only, &reply));
        }
        while let Some(event) = a.poll_event() {
            if let Event::Failed(f) = &event {
                assert_eq!(family_of(a, &event), Some(missing), "{f:?}");
                assert_eq!(f.cause, Cause::Dns(DnsFailure::NoAddressOfFamily(missing)));
                failures.push(t);
            }
        }
        match a.poll_timeout() {
            Some(next) if next <= end => {
                t = t.max(next);
                a.handle_timeout(t);
            }
            _ => return (failures, queries),
        }
    }
    panic!("not idle by {end:?}")
}

#[test]
fn a_name_without_one_family_fails_that_side_once_per_cached_answer_not_once_per_backoff_step() {
    let hour = Duration::from_secs(3600);
    for only in [addr(V4), addr(V6)] {
        let now = start();
        let mut a = dual("udp://tracker.example:6969/announce", now);
        let (failures, queries) = run_one_family(&mut a, now, now + hour * 3 + hour / 2, only);
        // The answer is good for an hour and cannot gain an address of the other family before it
        // expires; that side asks again only then, and waits for the new answer rather than
        // failing on the old one. (On the failure backoff alone, 17 s, 55 s, 117 s ... it failed
        // nine times in the first hour.)
        let secs = |list: &[Instant]| -> Vec<u64> {
            list.iter()
                .map(|t| t.duration_since(now).as_secs())
                .collect()
        };
        assert_eq!(
            secs(&queries),
            [0, 3600, 7200, 10800],
            "{only}: a query per hour"
        );
        assert_eq!(
            secs(&failures),
            secs(&queries),
            "{only}: a failure per answer"
        );
        // The failing side says when it tries again: when the answer expires.
        let family = AddressFamily::of(&only);
        let other = a.trackers().find(|s| s.family != Some(family)).unwrap();
        assert_eq!(other.state, TrackerState::NotWorking, "{only}");
        assert_eq!(other.next_announce, Some(now + hour * 4), "{only}");
        let working = a.trackers().find(|s| s.family == Some(family)).unwrap();
        assert_eq!(working.state, TrackerState::Working, "{only}");
    }
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
    both_announced(&mut a, now);
    a.stop(now);
    let sent = transmits(&mut a);
    let mut want = vec![addr(V4), addr(V6)];
    want.sort();
    assert_eq!(stopped_to(&sent), want);
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

// ----- tracker-list edits under dual-stack (one URL is one row of the user's list) -----

const A: &str = "udp://tracker.example:6969/announce";
const B: &str = "udp://backup.example:6969/announce";
const C: &str = "udp://new.example:6969/announce";

/// One row of the snapshot: (url, tier, family).
type Row = (String, usize, Option<AddressFamily>);

/// The rows of a snapshot (an `Announce`'s or a `Client` torrent's `trackers()`).
fn rows<'a>(snapshot: impl Iterator<Item = TrackerStatus<'a>>) -> Vec<Row> {
    snapshot
        .map(|s| (s.url.as_str().to_owned(), s.tier, s.family))
        .collect()
}

fn rows_of(a: &Announce) -> Vec<Row> {
    rows(a.trackers())
}

fn ids_of(a: &Announce, url: &str) -> Vec<TrackerId> {
    a.trackers()
        .filter(|s| s.url.as_str() == url)
        .map(|s| s.id)
        .collect()
}

fn row(url: &str, tier: usize, v6: bool) -> Row {
    let family = if v6 {
        AddressFamily::V6
    } else {
        AddressFamily::V4
    };
    (url.to_owned(), tier, Some(family))
}

/// The rows dual-stack lists for `list` of (url, tier): every IPv4 row in order, then every IPv6
/// row.
fn per_family(list: &[(&str, usize)]) -> Vec<Row> {
    [false, true]
        .into_iter()
        .flat_map(|v6| list.iter().map(move |&(url, tier)| row(url, tier, v6)))
        .collect()
}

#[test]
fn add_tracker_under_dual_stack_lists_the_url_once_per_family_in_the_tier_given() {
    let now = start();
    let mut a = dual_with(Config::default(), &[&[A]], now);
    let id = a
        .add_tracker(now, TrackerUrl::parse(B).unwrap(), 0)
        .unwrap();
    assert_eq!(rows_of(&a), per_family(&[(A, 0), (B, 0)]));
    let b_ids = ids_of(&a, B);
    assert_eq!(b_ids.len(), 2);
    assert_eq!(b_ids[0], id, "the IPv4 tracker's id is returned");
    assert_ne!(b_ids[0], b_ids[1], "each family has an id of its own");
    // Listed already: the same id, nothing added.
    assert_eq!(a.add_tracker(now, TrackerUrl::parse(B).unwrap(), 3), Ok(id));
    // A tier past the last is a new last tier, in both families.
    a.add_tracker(now, TrackerUrl::parse(C).unwrap(), 9)
        .unwrap();
    assert_eq!(rows_of(&a), per_family(&[(A, 0), (B, 0), (C, 1)]));
    assert_eq!(a.tiers().count(), 4, "two tiers per family");
}

#[test]
fn the_tracker_cap_counts_a_dual_stack_url_once() {
    let now = start();
    let mut config = Config::default();
    config.max_trackers = 2;
    let mut a = dual_with(config, &[&[A]], now);
    a.add_tracker(now, TrackerUrl::parse(B).unwrap(), 0)
        .unwrap();
    assert_eq!(a.trackers().count(), 4, "two URLs, four trackers");
    assert_eq!(
        a.add_tracker(now, TrackerUrl::parse(C).unwrap(), 0),
        Err(EditError::TooManyTrackers { count: 3, max: 2 })
    );
    let three = url_tiers(&[&[A, B, C]]);
    assert_eq!(
        a.replace_trackers(now, three),
        Err(EditError::TooManyTrackers { count: 3, max: 2 })
    );
    let two = url_tiers(&[&[C], &[A]]);
    assert_eq!(a.replace_trackers(now, two), Ok(()));
    assert_eq!(a.trackers().count(), 4);
}

#[test]
fn removing_a_dual_stack_url_stops_both_families_even_with_one_announce_in_flight() {
    let now = start();
    let mut a = dual(A, now);
    // IPv4 answered; the IPv6 `started` is still in flight.
    v4_announced(&mut a, now);
    let ids = ids_of(&a, A);
    let v6_id = ids[1];
    assert!(
        a.remove_tracker(now, v6_id),
        "either family's id removes the URL"
    );
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        matches!(&events[..], [Event::Failed(f)] if f.tracker == v6_id && f.cause == Cause::Cancelled),
        "{events:?}"
    );
    // Each family was sent `started`: each gets its `stopped`, with its own connection id.
    let sent = transmits(&mut a);
    let mut want = vec![addr(V4), addr(V6)];
    want.sort();
    assert_eq!(stopped_to(&sent), want);
    assert_eq!(
        u64::from_be_bytes(sent_to(&sent, addr(V6))[0..8].try_into().unwrap()),
        0x66
    );
    assert_eq!(a.trackers().count(), 0, "the row is gone at once");
    assert!(!a.remove_tracker(now, ids[0]), "already removed");
}

#[test]
fn removing_a_dual_stack_url_sends_nothing_over_a_family_never_contacted() {
    let now = start();
    let mut a = dual(A, now);
    resolve(&mut a, now, &[addr(V4).ip()]); // no IPv6 address: that family fails unsent
    let sent = transmits(&mut a);
    assert!(a.handle_datagram(now, addr(V4), &connect_reply_with(&sent[0].1, 1)));
    let sent = transmits(&mut a);
    assert!(a.handle_datagram(now, addr(V4), &announce_reply(&sent[0].1)));
    while a.poll_event().is_some() {}
    assert!(a.remove_tracker(now, ids_of(&a, A)[0]));
    assert_eq!(stopped_to(&transmits(&mut a)), vec![addr(V4)]);
}

#[test]
fn replace_trackers_under_dual_stack_keeps_both_families_state_for_a_url_that_stays() {
    let now = start();
    let mut a = dual_with(Config::default(), &[&[A], &[B]], now);
    let a6 = v4_announced(&mut a, now);
    let a_ids = ids_of(&a, A);
    let later = now + Duration::from_secs(5);
    // B was never contacted and goes; A moves to tier 1; C is new in tier 0. The IPv6 `started`
    // to A is still in flight and stays so.
    a.replace_trackers(later, url_tiers(&[&[C], &[A]])).unwrap();
    assert_eq!(rows_of(&a), per_family(&[(C, 0), (A, 1)]));
    assert_eq!(ids_of(&a, A), a_ids, "ids stay");
    assert!(a.poll_event().is_none(), "nothing of A was cancelled");
    let states: Vec<_> = a
        .trackers()
        .filter(|s| s.url.as_str() == A)
        .map(|s| (s.state, s.last_announce))
        .collect();
    assert_eq!(
        states,
        vec![
            (TrackerState::Working, Some(now)),
            (TrackerState::Updating, None),
        ]
    );
    let q = a.poll_dns_query().expect("the new URL is asked for");
    assert_eq!(q.host, "new.example");
    let sent = transmits(&mut a);
    assert!(
        sent.iter().all(|(t, _)| t.destination != addr(V4)),
        "A keeps its IPv4 schedule"
    );
    // The IPv6 reply to A's `started` still lands.
    assert!(a.handle_datagram(later, addr(V6), &announce_reply(&a6)));
    let v6 = a.trackers().find(|s| s.id == a_ids[1]).unwrap();
    assert_eq!(v6.state, TrackerState::Working);
}

#[test]
fn a_tier_added_under_dual_stack_in_all_tiers_mode_leaves_the_other_tiers_schedules() {
    let now = start();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTiers;
    let mut a = dual_with(config, &[&[A]], now);
    both_announced(&mut a, now);
    a.add_tracker(now, TrackerUrl::parse(B).unwrap(), 1)
        .unwrap();
    // The new tier's lanes (one per family) are due now; A's keep their interval.
    let q = a.poll_dns_query().expect("the new tier is announced to");
    assert_eq!(q.host, "backup.example");
    let next: Vec<_> = a
        .trackers()
        .filter(|s| s.url.as_str() == A)
        .map(|s| s.next_announce)
        .collect();
    let due = Some(now + Duration::from_secs(1800));
    assert_eq!(next, vec![due, due]);
    assert_eq!(rows_of(&a), per_family(&[(A, 0), (B, 1)]));
}

#[test]
fn client_tracker_edits_under_dual_stack_keep_both_families_in_step() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(9);
    let mut client = Client::new(dual_config(), &mut rng, now).unwrap();
    let t = client.add(now, torrent(), url_tiers(&[&[A]])).unwrap();
    let rows_c = |c: &Client| rows(c.trackers(t));
    let b = client
        .add_tracker(now, t, TrackerUrl::parse(B).unwrap(), 1)
        .unwrap();
    assert_eq!(rows_c(&client), per_family(&[(A, 0), (B, 1)]));
    assert!(client.remove_tracker(now, t, b));
    assert_eq!(rows_c(&client), per_family(&[(A, 0)]));
    client
        .replace_trackers(now, t, url_tiers(&[&[C, A]]))
        .unwrap();
    assert_eq!(rows_c(&client), per_family(&[(C, 0), (A, 0)]));
}

/// One step of the edit property: an edit, or time passing (DNS answered, datagrams drained,
/// nothing answered, so exchanges stay in flight and time out).
#[derive(Debug, Clone)]
enum EditStep {
    Add { url: u8, tier: u8 },
    Remove { url: u8, family: bool },
    Replace(Vec<Vec<u8>>),
    Wait { secs: u8 },
}

impl Arbitrary for EditStep {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        let url = |g: &mut quickcheck::Gen| u8::arbitrary(g) % 6;
        match u8::arbitrary(g) % 4 {
            0 => EditStep::Add {
                url: url(g),
                tier: u8::arbitrary(g) % 4,
            },
            1 => EditStep::Remove {
                url: url(g),
                family: bool::arbitrary(g),
            },
            2 => {
                let tiers = usize::arbitrary(g) % 4;
                EditStep::Replace(
                    (0..tiers)
                        .map(|_| (0..usize::arbitrary(g) % 3).map(|_| url(g)).collect())
                        .collect(),
                )
            }
            _ => EditStep::Wait {
                secs: u8::arbitrary(g),
            },
        }
    }
}

fn edit_url(k: u8) -> String {
    format!("udp://t{k}.example:6969/announce")
}

/// After every edit under dual-stack, the snapshot lists each URL of the user's list once per
/// family, both rows in the URL's tier of the list, and nothing else.
#[test]
fn the_snapshot_under_dual_stack_follows_the_users_list_through_any_edits() {
    fn prop(steps: Vec<EditStep>) -> bool {
        let mut now = start();
        let mut a = dual_with(Config::default(), &[&[&edit_url(0)]], now);
        let mut model: Vec<Vec<String>> = vec![vec![edit_url(0)]];
        for step in steps {
            match step {
                EditStep::Add { url, tier } => {
                    let u = edit_url(url);
                    let got = a.add_tracker(now, TrackerUrl::parse(&u).unwrap(), tier.into());
                    assert!(got.is_ok(), "{got:?}");
                    if !model.iter().flatten().any(|m| *m == u) {
                        let t = usize::from(tier).min(model.len());
                        if t == model.len() {
                            model.push(Vec::new());
                        }
                        model[t].push(u);
                    }
                }
                EditStep::Remove { url, family } => {
                    let u = edit_url(url);
                    let ids = ids_of(&a, &u);
                    let listed = model.iter().flatten().any(|m| *m == u);
                    let id = ids
                        .get(usize::from(family))
                        .copied()
                        .unwrap_or(TrackerId(999));
                    assert_eq!(a.remove_tracker(now, id), listed, "{u}");
                    for tier in &mut model {
                        tier.retain(|m| *m != u);
                    }
                    // A tier the removal empties goes; the later ones move up.
                    model.retain(|tier| !tier.is_empty());
                }
                EditStep::Replace(list) => {
                    let mut seen = Vec::new();
                    let mut tiers = Vec::new();
                    for tier in list {
                        let t: Vec<String> = tier
                            .into_iter()
                            .map(edit_url)
                            .filter(|u| {
                                let new = !seen.contains(u);
                                seen.push(u.clone());
                                new
                            })
                            .collect();
                        if !t.is_empty() {
                            tiers.push(t);
                        }
                    }
                    let urls = tiers
                        .iter()
                        .map(|t| t.iter().map(|u| TrackerUrl::parse(u).unwrap()).collect())
                        .collect();
                    assert_eq!(a.replace_trackers(now, urls), Ok(()));
                    model = tiers;
                }
                EditStep::Wait { secs } => {
                    now += Duration::from_secs(secs.into());
                    a.handle_timeout(now);
                    while let Some(q) = a.poll_dns_query() {
                        let answer = DnsAnswer {
                            addresses: vec![addr(V4).ip(), addr(V6).ip()],
                            ttl: None,
                        };
                        a.handle_dns_response(now, q.id, Ok(answer));
                    }
                    transmits(&mut a);
                    while a.poll_event().is_some() {}
                }
            }
            let listed: Vec<(&str, usize)> = model
                .iter()
                .enumerate()
                .flat_map(|(t, tier)| tier.iter().map(move |u| (u.as_str(), t)))
                .collect();
            let mut want = per_family(&listed);
            let mut got = rows_of(&a);
            let key = |r: &Row| (r.0.clone(), r.1, r.2 == Some(AddressFamily::V6));
            want.sort_by_key(key);
            got.sort_by_key(key);
            if got != want || a.tiers().count() != 2 * model.len() {
                eprintln!("model {model:?}\nwant {want:?}\ngot {got:?}");
                return false;
            }
            let ids: Vec<TrackerId> = a.trackers().map(|s| s.id).collect();
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != ids.len() {
                return false;
            }
        }
        true
    }
    quickcheck::QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<EditStep>) -> bool);
}

/// A user who names the IPv6 tracker of a dual-stack URL gets its scrape over IPv6 from an
/// `Announce` (scheduled scrapes go over IPv4 only); a `Client` batches scrapes per URL over the
/// IPv4 tracker, so naming the IPv6 one is refused (`false`) and the IPv4 id scrapes the URL.
#[test]
fn scrape_tracker_on_the_ipv6_side_scrapes_over_ipv6_alone_and_a_client_refuses_it() {
    let now = start();
    let mut a = dual(A, now);
    both_announced(&mut a, now);
    let ids: Vec<_> = a.trackers().map(|s| (s.id, s.family)).collect();
    let (v4, v6) = (TrackerId(0), TrackerId(1));
    assert_eq!(
        ids,
        [(v4, Some(AddressFamily::V4)), (v6, Some(AddressFamily::V6))]
    );
    assert!(a.scrape_tracker(now, v6));
    let sent: Vec<_> = transmits(&mut a)
        .into_iter()
        .map(|(t, _)| t.destination)
        .collect();
    assert_eq!(sent, [addr(V6)]);

    let mut rng = ChaCha12Rng::seed_from_u64(9);
    let mut client = Client::new(dual_config(), &mut rng, now).unwrap();
    let t = client.add(now, torrent(), url_tiers(&[&[A]])).unwrap();
    let families: Vec<_> = client.trackers(t).map(|s| (s.id, s.family)).collect();
    assert_eq!(families, ids);
    assert!(!client.scrape_tracker(now, t, v6));
    assert!(client.scrape_tracker(now, t, v4));
}

/// Under dual-stack each family has a tier per tier of the list, empty where none of the tier's
/// URLs is announced over that family (an IP literal of the other one): so a family may have more
/// tiers than trackers, never more than the URLs listed.
#[test]
fn each_family_numbers_its_tiers_as_given_keeping_a_tier_without_its_trackers() {
    let now = start();
    let a = dual_with(
        Config::default(),
        &[&[A], &["udp://203.0.113.9:6969/announce"]],
        now,
    );
    let tiers: Vec<_> = a.tiers().collect();
    assert_eq!(
        tiers,
        [
            vec![TrackerId(0)],
            vec![TrackerId(1)],
            vec![TrackerId(2)],
            vec![]
        ]
    );
    let v6 = a.trackers().filter(|s| s.family == Some(AddressFamily::V6));
    assert_eq!(
        v6.map(|s| (s.id, s.tier)).collect::<Vec<_>>(),
        [(TrackerId(2), 0)]
    );
}
