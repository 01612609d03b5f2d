//! Interop with webtorrent's `bittorrent-tracker` (npm, pinned in `tests/interop/webtorrent`),
//! started on loopback ports (IPv4 and IPv6) by each test. Run by the interop harness: without node
//! and the pinned package the tests are reported as ignored.

mod interop;
mod net;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use interop::{Webtorrent, bep41_scenario, swarm_scenario, webtorrent_missing};
use net::{Peer, info_hash};

fn main() -> ExitCode {
    interop::harness::run(trials![
        Some(webtorrent_missing) => [
            udp_announce_scrape_and_stopped_match_the_swarm,
            http_announce_scrape_and_stopped_match_the_swarm,
            udp_announce_url_with_path_and_query_is_accepted_bep41,
            http_over_ipv6_returns_the_ipv6_swarm,
            udp_over_ipv6_reads_the_trackers_ipv4_sized_entries_as_ipv4,
            http_scrape_reads_the_trackers_utf8_mangled_keys,
            udp_through_a_localhost_name_resolved_by_the_machine,
            http_through_a_localhost_name_resolved_by_the_machine,
        ],
    ])
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
