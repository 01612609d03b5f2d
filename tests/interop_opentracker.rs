//! Interop with opentracker (Debian package), started on a loopback port by each test. Run by the
//! interop harness: without opentracker the tests that need it are reported as ignored.

mod interop;
mod net;

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, ExitCode};
use std::time::Duration;

use bt_tracker::InfoHash;
use bt_tracker::announce::{Announced, Cause, Failed};
use interop::sockets::{self, Proto};
use interop::{
    Opentracker, bep41_scenario, opentracker_missing, spawn_opentracker, swarm_scenario,
};
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
