//! Interop with opentracker (Debian package), started on a loopback port by each test. Run by the
//! interop harness: without opentracker the tests that need it are reported as ignored.

mod interop;
mod net;

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, ExitCode};
use std::time::Duration;

use bt_tracker::announce::{
    Announced, Cause, Config, Failed, RequestKind, TrackerState, TransportError,
};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash};
use interop::sockets::{self, Proto};
use interop::{
    Opentracker, bep41_scenario, opentracker_missing, spawn_opentracker, swarm_scenario,
};
use net::glue::now;
use net::{Peer, info_hash};

fn main() -> ExitCode {
    interop::harness::run(trials![
        Some(opentracker_missing) => [
            udp_announce_scrape_and_stopped_match_the_swarm,
            http_announce_scrape_and_stopped_match_the_swarm,
            udp_announce_url_with_path_and_query_is_accepted_bep41,
            an_unlisted_info_hash_is_refused_over_udp_and_http,
            start_up_leaves_ports_another_opentracker_joined_and_talks_to_its_own_child,
            trackers_started_at_once_get_ports_of_their_own_and_serve_only_their_whitelist,
            udp_dual_stack_through_localhost_gives_the_ipv4_swarm_and_an_ipv6_timeout,
            http_dual_stack_through_localhost_gives_the_ipv4_swarm_and_an_ipv6_refused_connection,
        ],
        None => [the_socket_table_tells_which_process_is_bound_to_an_address],
    ])
}

fn sane_opentracker_intervals(seen: &bt_tracker::announce::Announced) {
    // opentracker draws the interval from 1620..=1979 s and sends `min interval` = interval / 2
    // over HTTP; UDP has no min interval, so the machine's 60 s default applies.
    let interval = seen.interval.as_secs();
    assert!((1620..=1979).contains(&interval), "interval {interval} s");
    assert!(seen.min_interval >= Duration::from_secs(60) && seen.min_interval <= seen.interval);
}

fn udp_announce_scrape_and_stopped_match_the_swarm() {
    let hash = info_hash("ot-udp");
    let tracker = Opentracker::start(&[hash]);
    let seen = swarm_scenario(&format!("udp://127.0.0.1:{}/announce", tracker.udp), hash);
    sane_opentracker_intervals(&seen);
}

fn http_announce_scrape_and_stopped_match_the_swarm() {
    let hash = info_hash("ot-http");
    let tracker = Opentracker::start(&[hash]);
    let seen = swarm_scenario(&format!("http://127.0.0.1:{}/announce", tracker.http), hash);
    sane_opentracker_intervals(&seen);
    let (interval, min) = (seen.interval.as_secs(), seen.min_interval.as_secs());
    assert_eq!(min, interval / 2, "HTTP min interval is half the interval");
}

fn udp_announce_url_with_path_and_query_is_accepted_bep41() {
    let hash = info_hash("ot-bep41");
    let tracker = Opentracker::start(&[hash]);
    let url = format!(
        "udp://127.0.0.1:{}/announce?passkey=0123456789abcdef&x=%20y",
        tracker.udp
    );
    bep41_scenario(&url, hash);
}

fn an_unlisted_info_hash_is_refused_over_udp_and_http() {
    let tracker = Opentracker::start(&[info_hash("ot-listed")]);
    let hash = info_hash("ot-not-listed");
    // UDP: opentracker answers with a bare 8-byte announce reply.
    let mut udp = Peer::new(
        &format!("udp://127.0.0.1:{}/announce", tracker.udp),
        hash,
        1,
        0,
    );
    let failed = udp
        .next_announce()
        .expect_err("an unlisted hash must be refused");
    assert_eq!(failed.cause, Cause::Refused);
    // HTTP: a bencoded failure reason.
    let mut http = Peer::new(
        &format!("http://127.0.0.1:{}/announce", tracker.http),
        hash,
        2,
        0,
    );
    let failed = http
        .next_announce()
        .expect_err("an unlisted hash must be refused");
    assert!(
        matches!(&failed.cause, Cause::Tracker { reason, .. } if !reason.is_empty()),
        "{:?}",
        failed.cause
    );
}

/// One announce of `hash` (as peer `n`, a seeder) to `url`, and `stopped` after an answer.
fn announce_once(url: &str, hash: InfoHash, n: u16) -> Result<Announced, Failed> {
    let mut peer = Peer::new(url, hash, n, 0);
    let outcome = peer.next_announce();
    if outcome.is_ok() {
        peer.stop();
    }
    outcome
}

fn the_socket_table_tells_which_process_is_bound_to_an_address() {
    // Needs no tracker: the sockets are this test's own.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut wanted = vec![
        (Proto::Udp, udp.local_addr().unwrap()),
        (Proto::Tcp, tcp.local_addr().unwrap()),
    ];
    let udp6 = UdpSocket::bind("[::1]:0");
    if let Ok(udp6) = &udp6 {
        wanted.push((Proto::Udp, udp6.local_addr().unwrap()));
    }
    let me = std::process::id();
    assert_eq!(sockets::check_sole_owner(me, &wanted), Ok(()));
    let mine = sockets::sockets_of(me, Proto::Udp).unwrap();
    for (proto, addr) in &wanted {
        if *proto == Proto::Udp {
            assert!(mine.iter().any(|b| b.addr == *addr), "{addr} in {mine:?}");
        }
    }
    // Another process holds none of them.
    let mut other = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("start sleep");
    let e = sockets::check_sole_owner(other.id(), &wanted).unwrap_err();
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(
        e,
        format!(
            "pid {} has no UDP socket bound to {}",
            other.id(),
            wanted[0].1
        )
    );
}

fn start_up_leaves_ports_another_opentracker_joined_and_talks_to_its_own_child() {
    // Two test runs at once once started their opentrackers on one port: opentracker sets
    // SO_REUSEPORT, so both started, the kernel shared the port between them, and a test talked to
    // the other run's tracker ("Requested download is not authorized"). Here an intruder with an
    // empty whitelist joins the ports of the first start-up attempt.
    let hash = info_hash("ot-intruded");
    let mut intruder = None;
    let tracker = Opentracker::start_checked(&[hash], |first| {
        if intruder.is_none() {
            let joined = spawn_opentracker(&[], first.http, first.udp).expect("start the intruder");
            assert_eq!((joined.1, joined.2), (first.http, first.udp), "joined");
            intruder = Some(joined);
        }
    });
    let (mut intruder, http, udp) = intruder.expect("the check ran on the first attempt");
    assert_eq!(tracker.restarts.len(), 1, "{:?}", tracker.restarts);
    let want = format!(
        "attempt 1: TCP 127.0.0.1:{http} is also bound by pid {} (opentracker)",
        intruder.pid()
    );
    assert!(
        tracker.restarts[0].starts_with(&want),
        "{}",
        tracker.restarts[0]
    );
    intruder
        .check_running()
        .expect("the intruder still holds the first ports");
    assert!(tracker.http != http && tracker.udp != udp);
    assert_ne!(tracker.pid(), intruder.pid());

    // The tests talk to our child, which serves the hash over UDP and HTTP...
    let ours = |scheme: &str, port: u16| format!("{scheme}://127.0.0.1:{port}/announce");
    announce_once(&ours("udp", tracker.udp), hash, 1).expect("our tracker serves the hash");
    announce_once(&ours("http", tracker.http), hash, 2).expect("our tracker serves the hash");
    // ...while the intruder, the only one on the first ports now, refuses it.
    let refused = announce_once(&ours("udp", udp), hash, 3).expect_err("the intruder refuses");
    assert_eq!(refused.cause, Cause::Refused);
    let refused = announce_once(&ours("http", http), hash, 4).expect_err("the intruder refuses");
    assert!(
        matches!(&refused.cause, Cause::Tracker { reason, .. } if reason.contains("not authorized")),
        "{:?}",
        refused.cause
    );
}

fn trackers_started_at_once_get_ports_of_their_own_and_serve_only_their_whitelist() {
    // What two test runs at once do, four times over in one process.
    let hashes: Vec<InfoHash> = (0..4)
        .map(|k| info_hash(&format!("ot-at-once-{k}")))
        .collect();
    let trackers: Vec<Opentracker> = std::thread::scope(|s| {
        let starts: Vec<_> = hashes
            .iter()
            .map(|&h| s.spawn(move || Opentracker::start(&[h])))
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let ports: BTreeSet<u16> = trackers.iter().flat_map(|t| [t.http, t.udp]).collect();
    assert_eq!(ports.len(), 2 * trackers.len(), "distinct ports: {ports:?}");
    for (i, tracker) in trackers.iter().enumerate() {
        let url = format!("udp://127.0.0.1:{}/announce", tracker.udp);
        for (j, &hash) in hashes.iter().enumerate() {
            let outcome = announce_once(&url, hash, (1 + i * 4 + j) as u16);
            if i == j {
                outcome.unwrap_or_else(|f| panic!("tracker {i} refused its own hash: {}", f.cause));
            } else {
                let f = outcome.expect_err("another start's hash must be refused");
                assert_eq!(f.cause, Cause::Refused, "tracker {i}, hash {j}");
            }
        }
    }
}

// Issue 16, BEP 7 dual-stack against a real IPv4-only tracker: opentracker listens on 127.0.0.1
// only, and the machine's query for `localhost` is answered with both 127.0.0.1 and ::1 (handed in
// here, so the test does not depend on /etc/hosts). Nothing listens on ::1.

/// What one dual-stack peer saw of an IPv4-only tracker through `localhost`: the IPv4 family's
/// announce, the IPv6 family's failure, and how long both took.
struct DualStackOutcome {
    v4: Announced,
    v6: Failed,
    took: Duration,
}

/// The UDP retransmission of the dual-stack peer: sends at 0 and 0.25 s, timeout at 0.75 s, so the
/// IPv6 family's silence ends the test within a second instead of BEP 15's 105 s.
const SHORT_RTO: Duration = Duration::from_millis(250);

/// A seeder announces to `literal` (the tracker's 127.0.0.1 URL); a dual-stack leecher then
/// announces to `named` (the same tracker through `localhost`) and is driven until both families
/// have an outcome. Checks the IPv4 swarm and the status snapshot (V4 Working, V6 NotWorking with
/// the IPv6 failure as its last error, the IPv4 schedule untouched by it), stops both peers, and
/// returns what the leecher saw.
fn dual_stack_against_an_ipv4_only_tracker(
    literal: &str,
    named: &str,
    hash: InfoHash,
) -> DualStackOutcome {
    let mut seeder = Peer::new(literal, hash, 1, 0);
    seeder.announced();

    let mut config = Config::default();
    config.num_want = 50;
    config.udp_rto = SHORT_RTO;
    config.udp_max_attempts = 2;
    let started = now();
    let mut peer = Peer::dual_stack(named, hash, 2, 1000, config);
    let (v4, v6, ended) = peer.both_families();
    let took = ended - started;
    let (v4, v6) = match (v4, v6) {
        (Ok(v4), Err(v6)) => (v4, v6),
        outcomes => panic!("{named}: want an IPv4 answer and an IPv6 failure, got {outcomes:?}"),
    };

    assert_eq!(
        v4.peers,
        vec![seeder.addr()],
        "{named}: the IPv4 family gets the seeder"
    );
    assert_eq!((v4.seeders, v4.leechers), (Some(1), Some(1)), "{named}");
    sane_opentracker_intervals(&v4);

    let statuses: Vec<_> = peer.driver.announce.trackers().collect();
    assert_eq!(statuses.len(), 2, "{named}: one tracker per family");
    let status = |family| {
        statuses
            .iter()
            .find(|s| s.family == Some(family))
            .unwrap_or_else(|| panic!("{named}: no {family:?} tracker in {statuses:?}"))
    };
    let (s4, s6) = (status(AddressFamily::V4), status(AddressFamily::V6));
    assert_eq!((s4.id, s6.id), (v4.tracker, v6.tracker));
    assert_eq!((s4.state, s4.failures), (TrackerState::Working, 0));
    assert_eq!((s6.state, s6.failures), (TrackerState::NotWorking, 1));
    assert_eq!(s6.last_error.map(|(cause, _)| cause), Some(&v6.cause));
    assert!(s4.last_error.is_none(), "{named}: {:?}", s4.last_error);
    // The IPv6 failure left the IPv4 schedule alone: its next announce is its interval away.
    let next = s4.next_announce.expect("the IPv4 family's next announce");
    let last = s4.last_announce.expect("the IPv4 family's announce");
    assert_eq!(
        next - last,
        v4.interval,
        "{named}: the IPv4 re-announce period"
    );

    assert!(peer.stop(), "{named}: the IPv4 family acknowledges stopped");
    assert!(seeder.stop());
    DualStackOutcome { v4, v6, took }
}

fn udp_dual_stack_through_localhost_gives_the_ipv4_swarm_and_an_ipv6_timeout() {
    // Linux reports ICMP port unreachable only to connected UDP sockets (or with IP_RECVERR); the
    // driver's sockets are unconnected, so the IPv6 family hears nothing and times out after its
    // two sends: 0.25 s + 0.5 s.
    let hash = info_hash("ot-dual-udp");
    let tracker = Opentracker::start(&[hash]);
    let seen = dual_stack_against_an_ipv4_only_tracker(
        &format!("udp://127.0.0.1:{}/announce", tracker.udp),
        &format!("udp://localhost:{}/announce", tracker.udp),
        hash,
    );
    assert_eq!(seen.v6.cause, Cause::Timeout);
    assert_eq!(
        seen.v6.request,
        RequestKind::Announce(AnnounceEvent::Started)
    );
    assert!(
        seen.took >= 3 * SHORT_RTO && seen.took < Duration::from_secs(3),
        "the IPv6 timeout after 0.75 s, took {:?}",
        seen.took
    );
    assert_eq!(seen.v4.event, AnnounceEvent::Started);
}

fn http_dual_stack_through_localhost_gives_the_ipv4_swarm_and_an_ipv6_refused_connection() {
    // The IPv6 family's request carries ::1 only; the connection is refused at once.
    let hash = info_hash("ot-dual-http");
    let tracker = Opentracker::start(&[hash]);
    let seen = dual_stack_against_an_ipv4_only_tracker(
        &format!("http://127.0.0.1:{}/announce", tracker.http),
        &format!("http://localhost:{}/announce", tracker.http),
        hash,
    );
    assert_eq!(
        seen.v6.cause,
        Cause::Transport(TransportError::ConnectionRefused)
    );
    assert_eq!(
        seen.v6.request,
        RequestKind::Announce(AnnounceEvent::Started)
    );
    assert!(seen.took < Duration::from_secs(3), "took {:?}", seen.took);
    assert_eq!(seen.v4.event, AnnounceEvent::Started);
}
