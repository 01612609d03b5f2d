//! Interop with webtorrent's `bittorrent-tracker` (npm, pinned in `tests/interop/webtorrent`),
//! started on loopback ports (IPv4 and IPv6) by each test. Run by the interop harness: without node
//! and the pinned package the tests are reported as ignored.
//!
//! The HTTPS tests serve the same tracker through Node's `https` with a certificate signed by a CA
//! the test makes (`interop/tls.rs`), and announce through both of the examples' `https://` paths:
//! the blocking one (ureq) and the event loops' one (rustls's sans-IO session on a non-blocking
//! socket), each trusting the CA as `--ca-file` does.

mod interop;
mod net;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Once};
use std::time::Duration;

use bt_tracker::announce::{Announced, Config, Event, TrackerState, TransportError};
use bt_tracker::{AddressFamily, InfoHash};
use interop::tls::{ServerCert, localhost_cert, openssl_missing};
use interop::{Webtorrent, bep41_scenario, swarm_scenario, webtorrent_missing};
use net::glue::http::TransportFailure;
use net::glue::http_conn::HttpConn;
use net::glue::{self, now};
use net::{Peer, STEP, info_hash, sorted};

fn main() -> ExitCode {
    let code = interop::harness::run(trials![
        Some(webtorrent_missing) => [
            udp_announce_scrape_and_stopped_match_the_swarm,
            http_announce_scrape_and_stopped_match_the_swarm,
            udp_announce_url_with_path_and_query_is_accepted_bep41,
            http_over_ipv6_returns_the_ipv6_swarm,
            udp_over_ipv6_reads_the_trackers_ipv4_sized_entries_as_ipv4,
            http_scrape_reads_the_trackers_utf8_mangled_keys,
            udp_through_a_localhost_name_resolved_by_the_machine,
            http_through_a_localhost_name_resolved_by_the_machine,
            udp_dual_stack_through_localhost_announces_each_family_and_stops_both,
            http_dual_stack_through_localhost_announces_each_family_and_stops_both,
        ],
        Some(tls_tracker_missing) => [
            https_swarm_scenario_through_the_blocking_path_trusting_the_ca_file,
            https_announce_through_the_nonblocking_tls_session_trusting_the_ca_file,
            https_without_the_ca_file_fails_as_a_tls_error,
            https_to_a_name_the_certificate_does_not_cover_fails_as_a_tls_error,
        ],
    ]);
    interop::tls::remove_files();
    code
}

/// What the HTTPS tests miss: the tracker, or the `openssl` command that makes its certificate.
fn tls_tracker_missing() -> Option<String> {
    webtorrent_missing().or_else(openssl_missing)
}

fn sane_webtorrent_intervals(seen: &bt_tracker::announce::Announced) {
    // bittorrent-tracker asks for 600 s and sends no `min interval` (the machine's 60 s default).
    assert_eq!(seen.interval, Duration::from_secs(600));
    assert_eq!(seen.min_interval, Duration::from_secs(60));
}

fn udp_announce_scrape_and_stopped_match_the_swarm() {
    let tracker = Webtorrent::start();
    let seen = swarm_scenario(
        &format!("udp://127.0.0.1:{}", tracker.udp),
        info_hash("wt-udp"),
    );
    sane_webtorrent_intervals(&seen);
}

fn http_announce_scrape_and_stopped_match_the_swarm() {
    let tracker = Webtorrent::start();
    let seen = swarm_scenario(
        &format!("http://127.0.0.1:{}/announce", tracker.http),
        info_hash("wt-http"),
    );
    sane_webtorrent_intervals(&seen);
}

fn udp_announce_url_with_path_and_query_is_accepted_bep41() {
    let tracker = Webtorrent::start();
    let hash = info_hash("wt-bep41");
    let url = format!(
        "udp://127.0.0.1:{}/announce?passkey=0123456789abcdef",
        tracker.udp
    );
    bep41_scenario(&url, hash);
}

fn http_over_ipv6_returns_the_ipv6_swarm() {
    let tracker = Webtorrent::start();
    let hash = info_hash("wt-http6");
    let url = format!("http://[::1]:{}/announce", tracker.http6);
    let mut seeder = Peer::new(&url, hash, 1, 0);
    seeder.announced();
    let mut peer = Peer::new(&url, hash, 2, 1000);
    let seen = peer.announced();
    let want: SocketAddr = format!("[::1]:{}", seeder.port).parse().unwrap();
    assert_eq!(
        seen.peers,
        vec![want],
        "the IPv6 seeder, the announcer left out"
    );
    assert_eq!((seen.seeders, seen.leechers), (Some(1), Some(1)));
    assert!(peer.stop() && seeder.stop());
}

fn udp_over_ipv6_reads_the_trackers_ipv4_sized_entries_as_ipv4() {
    // bittorrent-tracker answers UDP over IPv6 with 6-byte IPv4 entries (never BEP 15's 18-byte
    // ones): they must come out as the IPv4 peers they are, not as invented IPv6 addresses.
    let tracker = Webtorrent::start();
    let hash = info_hash("wt-udp6");
    let mut v4 = Peer::new(&format!("udp://127.0.0.1:{}", tracker.udp), hash, 1, 0);
    v4.announced();
    let mut v6 = Peer::new(&format!("udp://[::1]:{}", tracker.udp6), hash, 2, 1000);
    let seen = v6.announced();
    assert_eq!(seen.peers, vec![v4.addr()]);
    assert_eq!((seen.seeders, seen.leechers), (Some(1), Some(1)));
    // An IPv6 peer cannot be written in those entries, so this tracker leaves it out.
    let mut late = Peer::new(&format!("udp://[::1]:{}", tracker.udp6), hash, 3, 1000);
    assert_eq!(late.announced().peers, vec![v4.addr()]);
    assert!(v4.stop() && v6.stop() && late.stop());
}

fn http_scrape_reads_the_trackers_utf8_mangled_keys() {
    // bittorrent-tracker re-encodes scrape keys as UTF-8, so a hash with bytes of 0x80 and above
    // comes back longer than 20 bytes; the counts must still be found.
    let tracker = Webtorrent::start();
    let hash = bt_tracker::InfoHash([0xC1; 20]);
    let url = format!("http://127.0.0.1:{}/announce", tracker.http);
    let mut seeder = Peer::new(&url, hash, 1, 0);
    seeder.announced();
    let mut leecher = Peer::new(&url, hash, 2, 1000);
    leecher.announced();
    let scraped = leecher.scrape().expect("the scrape succeeds");
    assert_eq!((scraped.seeders, scraped.leechers), (Some(1), Some(1)));
    assert!(leecher.stop() && seeder.stop());
}

/// The test CA, trusted by the blocking path (ureq) of this process as `--ca-file` makes it.
fn trust_the_test_ca(cert: &ServerCert) {
    static TRUSTED: Once = Once::new();
    TRUSTED.call_once(|| glue::http::trust_ca_file(&cert.ca).expect("the test CA loads"));
}

fn https_url(host: &str, tracker: &Webtorrent) -> String {
    let port = tracker.https.expect("started with TLS");
    format!("https://{host}:{port}/announce")
}

fn https_swarm_scenario_through_the_blocking_path_trusting_the_ca_file() {
    let cert = localhost_cert();
    trust_the_test_ca(cert);
    let tracker = Webtorrent::start_tls(cert);
    let seen = swarm_scenario(&https_url("localhost", &tracker), info_hash("wt-https"));
    sane_webtorrent_intervals(&seen);
}

/// One announce of `peer`'s machine carried out as the mio and game-loop examples do: a
/// non-blocking socket, rustls's sans-IO session trusting `ca` besides webpki's roots, the response
/// or the failure handed back to the machine. Returns the announce, or the failure.
fn nonblocking_announce(peer: &mut Peer, ca: Option<&Path>) -> Result<Announced, TransportFailure> {
    let config = Arc::new(glue::tls::client_config(ca).expect("the TLS configuration"));
    let announce = &mut peer.driver.announce;
    // The machine asks for the name (`localhost`) first; answered here as the examples' resolver
    // thread would.
    while let Some(query) = announce.poll_dns_query() {
        let result = glue::resolver::lookup(&query.host);
        assert!(announce.handle_dns_response(now(), query.id, result));
    }
    let request = announce.poll_http_request().expect("the started announce");
    let addr = request.addresses[0];
    let stream = TcpStream::connect(addr).expect("connects to the tracker");
    stream.set_nonblocking(true).expect("non-blocking");
    let mut conn = HttpConn::new(&request, stream, &config)?;
    let until = now() + STEP;
    let result = loop {
        if let Some(result) = conn.pump() {
            break result;
        }
        assert!(now() < until, "no answer over TLS within {STEP:?}");
        std::thread::sleep(Duration::from_millis(2));
    };
    match result {
        Ok(response) => assert!(announce.handle_http_response(now(), request.id, &response)),
        Err(failure) => {
            assert!(announce.handle_transport_error(now(), request.id, failure.kind));
            return Err(failure);
        }
    }
    while let Some(event) = announce.poll_event() {
        if let Event::Announced(a) = event {
            return Ok(a);
        }
    }
    panic!("the machine took the response but reported no announce");
}

fn https_announce_through_the_nonblocking_tls_session_trusting_the_ca_file() {
    let cert = localhost_cert();
    trust_the_test_ca(cert);
    let tracker = Webtorrent::start_tls(cert);
    let url = https_url("localhost", &tracker);
    let hash = info_hash("wt-https-mio");
    let mut seeder = Peer::new(&url, hash, 1, 0);
    seeder.announced();
    let mut peer = Peer::new(&url, hash, 2, 1000);
    let seen = nonblocking_announce(&mut peer, Some(&cert.ca)).expect("announced over TLS");
    assert_eq!(seen.peers, vec![seeder.addr()], "the seeder, over HTTPS");
    assert_eq!((seen.seeders, seen.leechers), (Some(1), Some(1)));
    sane_webtorrent_intervals(&seen);
    assert!(seeder.stop());
}

fn https_without_the_ca_file_fails_as_a_tls_error() {
    let cert = localhost_cert();
    let tracker = Webtorrent::start_tls(cert);
    let url = https_url("localhost", &tracker);
    let mut peer = Peer::new(&url, info_hash("wt-https-untrusted"), 1, 1000);
    let failure = nonblocking_announce(&mut peer, None).expect_err("an unknown CA is refused");
    assert_eq!(failure.kind, TransportError::Tls, "{}", failure.detail);
    assert!(
        failure.detail.contains("UnknownIssuer"),
        "{}",
        failure.detail
    );
    // The blocking path is not checked here: `--ca-file` is set for the whole process (one test
    // trusts the CA), so whether ureq trusts it would depend on the order the tests run in.
}

fn https_to_a_name_the_certificate_does_not_cover_fails_as_a_tls_error() {
    let cert = localhost_cert();
    let tracker = Webtorrent::start_tls(cert);
    // The certificate names localhost only; 127.0.0.1 is the same server under another name.
    let url = https_url("127.0.0.1", &tracker);
    let mut peer = Peer::new(&url, info_hash("wt-https-name"), 1, 1000);
    let failure = nonblocking_announce(&mut peer, Some(&cert.ca)).expect_err("wrong name");
    assert_eq!(failure.kind, TransportError::Tls, "{}", failure.detail);
    assert!(
        failure.detail.contains("not valid for name"),
        "{}",
        failure.detail
    );
}

// Issue 16: the machine asks for `localhost` itself (the driver answers its query on a resolver
// thread with the system resolver); the whole scenario runs through the resolved address.

fn udp_through_a_localhost_name_resolved_by_the_machine() {
    let tracker = Webtorrent::start();
    let seen = swarm_scenario(
        &format!("udp://localhost:{}", tracker.udp),
        info_hash("wt-udp-name"),
    );
    sane_webtorrent_intervals(&seen);
}

fn http_through_a_localhost_name_resolved_by_the_machine() {
    let tracker = Webtorrent::start();
    let seen = swarm_scenario(
        &format!("http://localhost:{}/announce", tracker.http),
        info_hash("wt-http-name"),
    );
    sane_webtorrent_intervals(&seen);
}

// Issue 16, BEP 7 dual-stack against a real tracker on both families: bittorrent-tracker listens
// on 127.0.0.1 and ::1 at the same ports, and a dual-stack peer's query for `localhost` is
// answered with both addresses. The tracker keys its peers by address, so it counts the dual-stack
// peer once per family: its counts show that each family announced, and stopped, on its own.

/// Seeders announce to `v4_url` and, when given, `v6_url` (the tracker's literal URLs); a
/// dual-stack leecher announces to `named` (the same tracker through `localhost`) and is driven
/// until both families have answered. Checks each family's status (Working, its own id and family,
/// the same URL), that the tracker counts the leecher once per family, and that `stopped` takes
/// both entries out. Returns each family's announce (IPv4, IPv6).
fn dual_stack_against_a_dual_stack_tracker(
    v4_url: &str,
    v6_url: Option<&str>,
    named: &str,
    hash: InfoHash,
) -> (Announced, Announced) {
    let mut seeder = Peer::new(v4_url, hash, 1, 0);
    seeder.announced();
    let mut seeder6 = v6_url.map(|url| Peer::new(url, hash, 2, 0));
    if let Some(seeder6) = &mut seeder6 {
        seeder6.announced();
    }
    let seeders = 1 + u32::from(seeder6.is_some());

    let mut config = Config::default();
    config.num_want = 50;
    let mut peer = Peer::dual_stack(named, hash, 3, 1000, config);
    let (v4, v6) = match peer.both_families() {
        (Ok(v4), Ok(v6), _) => (v4, v6),
        (v4, v6, _) => panic!("{named}: want both families answered, got {v4:?} and {v6:?}"),
    };
    assert_ne!(v4.tracker, v6.tracker, "{named}: one tracker id per family");
    for (family, seen) in [(AddressFamily::V4, &v4), (AddressFamily::V6, &v6)] {
        let status = peer
            .driver
            .announce
            .trackers()
            .find(|s| s.id == seen.tracker)
            .unwrap_or_else(|| panic!("{named}: no status for {family:?}"));
        assert_eq!(status.family, Some(family), "{named}");
        assert_eq!((status.state, status.failures), (TrackerState::Working, 0));
        assert_eq!(status.url.as_str(), named, "{named}: one URL, two families");
        assert_eq!(seen.seeders, Some(seeders), "{named}: {family:?} counts");
        sane_webtorrent_intervals(seen);
    }
    // Whichever family came second saw the first one's entry: the leecher counted once per family.
    assert_eq!(
        v4.leechers.max(v6.leechers),
        Some(2),
        "{named}: the second family's answer counts both of the leecher's entries"
    );
    let scraped = seeder.scrape().expect("scrape");
    assert_eq!(
        (scraped.seeders, scraped.leechers),
        (Some(seeders), Some(2)),
        "{named}: the tracker holds the leecher once per family"
    );

    assert_eq!(
        peer.stop_acknowledgements(),
        2,
        "{named}: each family sends stopped and the tracker acknowledges both"
    );
    let scraped = seeder.scrape().expect("scrape");
    assert_eq!(
        (scraped.seeders, scraped.leechers),
        (Some(seeders), Some(0)),
        "{named}: stopped took out both of the leecher's entries"
    );
    assert!(seeder.stop());
    if let Some(seeder6) = &mut seeder6 {
        assert!(seeder6.stop());
    }
    (v4, v6)
}

fn udp_dual_stack_through_localhost_announces_each_family_and_stops_both() {
    let tracker = Webtorrent::start();
    let hash = info_hash("wt-dual-udp");
    let (v4, v6) = dual_stack_against_a_dual_stack_tracker(
        &format!("udp://127.0.0.1:{}", tracker.udp),
        None,
        &format!("udp://localhost:{}", tracker.udp),
        hash,
    );
    // Over UDP this tracker writes IPv4 entries only, on either family (see
    // udp_over_ipv6_reads_the_trackers_ipv4_sized_entries_as_ipv4): both see the IPv4 seeder.
    let seeder = SocketAddr::from(([127, 0, 0, 1], 40_001));
    assert_eq!(v4.peers, vec![seeder]);
    assert_eq!(v6.peers, vec![seeder]);
}

fn http_dual_stack_through_localhost_announces_each_family_and_stops_both() {
    let tracker = Webtorrent::start();
    let hash = info_hash("wt-dual-http");
    let (v4, v6) = dual_stack_against_a_dual_stack_tracker(
        &format!("http://127.0.0.1:{}/announce", tracker.http),
        Some(&format!("http://[::1]:{}/announce", tracker.http6)),
        &format!("http://localhost:{}/announce", tracker.http),
        hash,
    );
    // Over HTTP it sends `peers` and `peers6`: each family sees both seeders, and never the
    // leecher's own entry of the other family (same peer id).
    let seeders = sorted(vec![
        SocketAddr::from(([127, 0, 0, 1], 40_001)),
        format!("[::1]:{}", 40_002).parse().unwrap(),
    ]);
    assert_eq!(sorted(v4.peers), seeders);
    assert_eq!(sorted(v6.peers), seeders);
}
