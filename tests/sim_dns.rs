//! Issue 16 in the client simulation: trackers named by host names, a seeded resolver (slow
//! answers, failures, several A and AAAA records, answers that change, a name that turns internal)
//! and the invariants the resolver model checks on every query: at most one query per name in
//! flight, no query for a name whose answer or failure is cached, nothing sent to an internal
//! address a public name resolved to, and every datagram checked by the client simulation's own
//! invariants (transaction ids, stopped before Stopped).

mod sim;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bt_tracker::TrackerUrl;
use bt_tracker::announce::Config;
use sim::client::ClientSim;
use sim::dns::NameModel;
use sim::net::Link;
use sim::swarm::SwarmTracker;

const NAME: &str = "tracker.example";

fn url() -> Vec<Vec<TrackerUrl>> {
    vec![vec![
        TrackerUrl::parse(&format!("udp://{NAME}:6969/announce")).unwrap(),
    ]]
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A simulation with no IP-literal trackers and one swarm tracker at `live`.
fn sim(seed: u64, live: SocketAddr, name: NameModel) -> ClientSim {
    let mut s = ClientSim::new(seed, Config::default(), 0, Link::perfect());
    s.trackers.push(SwarmTracker::new(live, 1800));
    s.dns.names.insert(NAME.to_owned(), name);
    s.keep_sent = false;
    s
}

fn clean(s: &ClientSim) {
    assert!(
        s.violations.is_empty(),
        "{:?}",
        &s.violations[..s.violations.len().min(5)]
    );
    assert!(s.dns.violations.is_empty(), "{:?}", s.dns.violations);
}

#[test]
fn a_hundred_thousand_torrents_make_one_query_per_cache_lifetime() {
    let live = addr("198.51.100.1:6969");
    let mut s = sim(1, live, NameModel::resolves(vec![live.ip()]));
    let n = 100_000u32;
    for k in 0..n {
        s.add(k, url());
    }
    let epoch = s.now;
    assert!(
        s.run_until(epoch + Duration::from_secs(3600), |s| s.torrents_started(1)
            == n as usize)
    );
    assert_eq!(s.dns.queries_for(NAME), 1, "one query for every torrent");
    // Two more hours: every torrent re-announces every 30 min; the answer (no TTL: 1 h) is
    // refreshed about once an hour, without stalling anyone.
    let done = s.run_until(epoch + Duration::from_secs(3 * 3600), |s| {
        s.torrents_reannounced(4) == n as usize
    });
    assert!(done, "re-announced {}", s.torrents_reannounced(4));
    let queries = s.dns.queries_for(NAME);
    eprintln!("100,000 torrents, one name, 3 h simulated: {queries} DNS queries");
    assert!((2..=4).contains(&queries), "{queries} queries");
    clean(&s);
}

#[test]
fn a_hundred_thousand_torrents_on_a_dead_name_make_a_handful_of_queries() {
    let mut s = sim(2, addr("198.51.100.1:6969"), NameModel::dead());
    let n = 100_000u32;
    for k in 0..n {
        s.add(k, url());
    }
    let epoch = s.now;
    s.run_until(epoch + Duration::from_secs(3600), |_| false);
    let queries = s.dns.queries_for(NAME);
    eprintln!("100,000 torrents, one dead name, 1 h simulated: {queries} DNS queries");
    // 150 s, then doubling to 30 min: at most 6 in an hour, however many torrents retry.
    assert!((3..=7).contains(&queries), "{queries} queries");
    assert_eq!(s.torrents_started(1), 0);
    clean(&s);
}

#[test]
fn failover_reaches_the_second_address_of_a_slow_dual_stack_answer() {
    let live = addr("198.51.100.1:6969");
    let mut name = NameModel::resolves(vec![ip("2001:db8::dead"), live.ip()]);
    name.delay = Duration::from_secs(5);
    let mut s = sim(3, live, name);
    for k in 0..50 {
        s.add(k, url());
    }
    let epoch = s.now;
    assert!(
        s.run_until(epoch + Duration::from_secs(120), |s| s.torrents_started(1)
            == 50)
    );
    let dead = addr("[2001:db8::dead]:6969");
    assert!(
        s.connects_sent.contains_key(&dead),
        "tried the first address"
    );
    assert!(
        s.connects_sent.contains_key(&live),
        "and moved on to the second"
    );
    assert_eq!(s.dns.queries_for(NAME), 1);
    clean(&s);
}

#[test]
fn a_reply_from_a_sibling_address_is_accepted_and_from_a_stranger_not() {
    let live = addr("198.51.100.1:6969");
    let sibling = addr("198.51.100.2:6969");
    let mut s = sim(4, live, NameModel::resolves(vec![live.ip(), sibling.ip()]));
    s.reply_from.insert(live, sibling);
    for k in 0..20 {
        s.add(k, url());
    }
    let epoch = s.now;
    assert!(
        s.run_until(epoch + Duration::from_secs(60), |s| s.torrents_started(1)
            == 20)
    );
    clean(&s);

    let mut s = sim(5, live, NameModel::resolves(vec![live.ip(), sibling.ip()]));
    s.reply_from.insert(live, addr("198.51.100.66:6969"));
    for k in 0..20 {
        s.add(k, url());
    }
    let epoch = s.now;
    s.run_until(epoch + Duration::from_secs(600), |_| false);
    assert_eq!(
        s.torrents_started(1),
        0,
        "a stranger's replies are never accepted"
    );
    clean(&s);
}

#[test]
fn a_name_that_turns_internal_gets_nothing_sent_to_its_internal_address() {
    let live = addr("198.51.100.1:6969");
    let mut name = NameModel::resolves(vec![live.ip()]);
    name.ttl = Some(Duration::from_secs(600));
    // After 20 minutes the name points at loopback (DNS rebinding).
    name.answers.push((
        Duration::from_secs(1200),
        vec![ip("127.0.0.1"), ip("10.0.0.7")],
    ));
    let mut s = sim(6, live, name);
    for k in 0..200 {
        s.add(k, url());
    }
    let epoch = s.now;
    s.run_until(epoch + Duration::from_secs(3 * 3600), |_| false);
    assert_eq!(s.torrents_started(1), 200);
    assert!(
        !s.dns.internal_answers.is_empty(),
        "the name did turn internal"
    );
    assert!(s.dns.queries_for(NAME) >= 2);
    clean(&s);
}

#[test]
fn a_resolver_that_never_answers_fails_each_round_at_the_deadline_with_bounded_queries() {
    let mut name = NameModel::resolves(vec![ip("198.51.100.1")]);
    name.silent = true;
    let mut s = sim(7, addr("198.51.100.1:6969"), name);
    for k in 0..1000 {
        s.add(k, url());
    }
    let epoch = s.now;
    s.run_until(epoch + Duration::from_secs(3600), |_| false);
    let queries = s.dns.queries_for(NAME);
    eprintln!("1,000 torrents, a silent resolver, 1 h simulated: {queries} DNS queries");
    assert!((3..=8).contains(&queries), "{queries} queries");
    let failed: u32 = s.tally.values().map(|t| t.failed).sum();
    assert!(
        failed >= 1000,
        "every torrent's announce failed at the deadline: {failed}"
    );
    clean(&s);
}
