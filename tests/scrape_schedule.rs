//! The optional scrape schedule (`Config::scrape_interval`, issue 17): off by default; when on,
//! every tracker is scraped each interval, skipped when its latest announce reply carried the
//! counts, held back by BEP 48 `flags.min_request_interval`, with due times rounded up to 10 s so a
//! `Client` batches the scrapes of many torrents.

mod common;

use common::start;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Config, ConfigError, HttpRequest, Progress, RequestKind, Torrent,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const S: fn(u64) -> Duration = Duration::from_secs;

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0001-scrapes00001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(1),
    }
}

fn tiers() -> Vec<Vec<TrackerUrl>> {
    vec![vec![TrackerUrl::parse("http://10.0.0.1/announce").unwrap()]]
}

/// Peers, a 2-hour interval, and no counts.
const NO_COUNTS: &[u8] = b"d8:intervali7200e5:peers0:e";
/// The same with seeders and leechers.
const COUNTS: &[u8] = b"d8:completei4e10:incompletei2e8:intervali7200e5:peers0:e";

fn with_schedule() -> Config {
    let mut config = Config::default();
    config.scrape_interval = Some(S(1800));
    config
}

fn machine(config: Config, now: Instant) -> Announce {
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    Announce::new(config, torrent(1), tiers(), &mut rng, now).unwrap()
}

fn answer(a: &mut Announce, at: Instant, r: &HttpRequest, body: &[u8]) {
    assert!(a.handle_http_response(at, r.id, &HttpResponse::new(200, None, body)));
}

fn scrape_body(hash: u8, flags: &str) -> Vec<u8> {
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&[hash; 20]);
    body.extend_from_slice(b"d8:completei1e10:downloadedi9e10:incompletei1eee");
    body.extend_from_slice(flags.as_bytes());
    body.push(b'e');
    body
}

#[test]
fn no_scrape_is_scheduled_by_default() {
    let now = start();
    let mut a = machine(Config::default(), now);
    let r = a.poll_http_request().unwrap();
    answer(&mut a, now, &r, NO_COUNTS);
    assert_eq!(a.poll_timeout(), Some(now + S(7200)));
}

#[test]
fn a_scrape_goes_out_every_interval_when_announces_carry_no_counts() {
    let now = start();
    let mut a = machine(with_schedule(), now);
    let r = a.poll_http_request().unwrap();
    answer(&mut a, now, &r, NO_COUNTS);
    assert_eq!(a.poll_timeout(), Some(now + S(1800)));
    a.handle_timeout(now + S(1800));
    let s = a.poll_http_request().unwrap();
    assert_eq!(s.kind, RequestKind::Scrape);
    answer(&mut a, now + S(1801), &s, &scrape_body(1, ""));
    // The next one is an interval after the answer, rounded up to 10 s from the start.
    assert_eq!(a.poll_timeout(), Some(now + S(3610)));
    assert_eq!(
        a.trackers().next().unwrap().counts.unwrap().completed,
        Some(9)
    );
}

#[test]
fn a_tracker_whose_announce_reply_carried_the_counts_is_not_scraped() {
    let now = start();
    let mut a = machine(with_schedule(), now);
    let r = a.poll_http_request().unwrap();
    answer(&mut a, now + S(5), &r, COUNTS);
    // Due at 1800 s; the counts of 5 s are fresher than an interval: skipped, next after 1805 s.
    a.handle_timeout(now + S(1800));
    assert!(a.poll_http_request().is_none());
    assert_eq!(a.poll_timeout(), Some(now + S(1810)));
    a.handle_timeout(now + S(1810));
    assert_eq!(
        a.poll_http_request().map(|r| r.kind),
        Some(RequestKind::Scrape)
    );
}

#[test]
fn min_request_interval_holds_the_next_scheduled_scrape_back() {
    let now = start();
    let mut a = machine(with_schedule(), now);
    let r = a.poll_http_request().unwrap();
    answer(&mut a, now, &r, NO_COUNTS);
    // A manual scrape answered with flags.min_request_interval = 5000 s.
    a.scrape(now + S(100));
    let s = a.poll_http_request().unwrap();
    let flags = "5:flagsd20:min_request_intervali5000ee";
    answer(&mut a, now + S(100), &s, &scrape_body(1, flags));
    assert_eq!(a.poll_timeout(), Some(now + S(5100)));
    a.handle_timeout(now + S(5100));
    assert_eq!(
        a.poll_http_request().map(|r| r.kind),
        Some(RequestKind::Scrape)
    );
}

#[test]
fn a_paused_torrent_is_still_scraped_on_schedule() {
    let now = start();
    let mut a = machine(with_schedule(), now);
    let r = a.poll_http_request().unwrap();
    answer(&mut a, now, &r, NO_COUNTS);
    assert!(a.pause(now + S(10)));
    let stopped = a.poll_http_request().unwrap();
    answer(&mut a, now + S(10), &stopped, NO_COUNTS);
    assert_eq!(a.poll_timeout(), Some(now + S(1800)));
    a.handle_timeout(now + S(1800));
    assert_eq!(
        a.poll_http_request().map(|r| r.kind),
        Some(RequestKind::Scrape)
    );
}

#[test]
fn a_client_batches_the_scheduled_scrapes_of_torrents_added_seconds_apart() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(2);
    let mut client = Client::new(with_schedule(), &mut rng, now).unwrap();
    let a = client.add(now + S(1), torrent(1), tiers()).unwrap();
    let b = client.add(now + S(7), torrent(2), tiers()).unwrap();
    for _ in 0..2 {
        let r = client.poll_http_request().unwrap();
        let body = HttpResponse::new(200, None, NO_COUNTS);
        assert!(client.handle_http_response(now + S(8), r.id, &body));
    }
    // Both are due at 1810 s (1801 and 1807 rounded up to 10 s): one batch of two.
    assert_eq!(client.poll_timeout(), Some(now + S(1810)));
    client.handle_timeout(now + S(1810));
    let window = now + S(1810) + Config::default().scrape_window;
    assert_eq!(client.poll_timeout(), Some(window));
    client.handle_timeout(window);
    let batch = client.poll_http_request().unwrap();
    assert_eq!(batch.kind, RequestKind::Scrape);
    assert_eq!(batch.url.as_str().matches("info_hash=").count(), 2);
    let members: Vec<_> = client
        .batch_members(batch.id)
        .unwrap()
        .map(|m| m.0)
        .collect();
    assert_eq!(members, [a, b]);
    assert!(client.poll_http_request().is_none());
}

#[test]
fn a_scrape_interval_under_a_minute_is_refused() {
    let mut config = Config::default();
    config.scrape_interval = Some(S(59));
    let mut rng = ChaCha12Rng::seed_from_u64(3);
    let err = Announce::new(config, torrent(1), tiers(), &mut rng, start()).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            field: "scrape_interval",
            ..
        }
    ));
}
