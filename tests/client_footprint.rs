//! What an idle torrent costs inside a `Client`: the heap bytes the client holds once 100,000
//! torrents have announced and wait for their next interval, counted exactly by a counting
//! allocator and divided by the number of torrents. Deterministic, so asserted as a bound (the
//! issue's target: at most 1 KiB per torrent); run with `--nocapture` to see the figures.

#[path = "../benches/common/client.rs"]
mod idle;

use std::time::Instant;

use bt_tracker::announce::Config;

fn bytes_per_torrent(n: u32) -> (f64, u64) {
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    let start = Instant::now();
    let mut held = None;
    let info = allocation_counter::measure(|| {
        held = Some(idle::idle_client(n, Config::default(), start, 1800).0)
    });
    drop(held);
    (
        info.bytes_current as f64 / f64::from(n),
        info.count_current as u64,
    )
}
#[test]
fn an_idle_torrent_in_a_client_of_100k_holds_well_under_1_kib() {
    let (small, small_allocs) = bytes_per_torrent(1_000);
    let (large, large_allocs) = bytes_per_torrent(100_000);
    eprintln!(
        "idle torrent in a Client: {small:.0} heap bytes each with 1,000 torrents ({small_allocs} allocations held), {large:.0} bytes each with 100,000 ({large_allocs} allocations held)"
    );
    // The target is 1 KiB. Measured: 702 bytes (main at b406cae); 532 once the rarely
    // used per-tracker state was boxed, the status record packed and the torrent table's spare
    // capacity reduced to a pointer per slot; 565 with the index of info hashes that refuses a
    // duplicate torrent (`ConfigError::DuplicateInfoHash`: a 24-byte entry per torrent in a map
    // sized to a power of two, 33 bytes a torrent at 100,000).
    assert!(large <= 580.0, "{large:.0} bytes per idle torrent");
}

/// A client of `n` idle torrents, each announcing to one UDP and one HTTP tracker (four of each
/// shared by all, `TierMode::AllTrackers`: the start-up benchmark's set-up), every announce
/// answered with two peers and a 30-minute interval.
fn idle_dual_client(n: u32, start: Instant) -> bt_tracker::client::Client {
    use bt_tracker::TrackerUrl;
    use bt_tracker::announce::{Event, TierMode};
    use bt_tracker::http::HttpResponse;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut client = bt_tracker::client::Client::new(config, &mut rng, start).unwrap();
    let body = b"d8:intervali1800e5:peers12:\x0a\x01\x00\x01\x1a\xe1\x0a\x01\x00\x02\x1a\xe1e";
    let mut now = start;
    let mut announced = 0;
    let drain = |client: &mut bt_tracker::client::Client, now: Instant, announced: &mut usize| loop {
        let mut answered = idle::drain(client, now, 1800);
        let requests: Vec<_> = std::iter::from_fn(|| client.poll_http_request()).collect();
        for r in &requests {
            assert!(client.handle_http_response(now, r.id, &HttpResponse::new(200, None, body)));
        }
        while let Some((_, event)) = client.poll_event() {
            answered += usize::from(matches!(event, Event::Announced(_)));
        }
        *announced += answered;
        if requests.is_empty() && answered == 0 {
            return;
        }
    };
    for k in 0..n {
        let udp = TrackerUrl::parse(&format!("udp://10.7.0.{}:6969/announce", k % 4 + 1)).unwrap();
        let http = TrackerUrl::parse(&format!("http://10.8.0.{}/announce", k % 4 + 1)).unwrap();
        client
            .add(now, idle::torrent(k), vec![vec![udp], vec![http]])
            .unwrap();
        drain(&mut client, now, &mut announced);
    }
    while announced < 2 * n as usize {
        let next = client.poll_timeout().expect("announces are scheduled");
        assert!(
            next < start + std::time::Duration::from_secs(1000),
            "not idle in time"
        );
        now = now.max(next);
        client.handle_timeout(now);
        drain(&mut client, now, &mut announced);
    }
    client
}

#[test]
fn an_idle_torrent_with_a_udp_and_an_http_tracker_holds_well_under_1_kib() {
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    let start = Instant::now();
    let n = 100_000;
    let mut held = None;
    let info = allocation_counter::measure(|| held = Some(idle_dual_client(n, start)));
    drop(held);
    let per = info.bytes_current as f64 / f64::from(n);
    let allocs = info.count_current as f64 / f64::from(n);
    eprintln!(
        "idle torrent in a Client, one UDP and one HTTP tracker: {per:.0} heap bytes each in {allocs:.1} allocations ({n} torrents)"
    );
    // The target is 1 KiB. Measured: 1,007 bytes in 5 allocations (main at b406cae); 740
    // in 6 (the session is boxed in its slot) after the same changes; 773 with the info-hash index.
    assert!(per <= 790.0, "{per:.0} bytes per idle torrent");
}

/// What a torrent costs at the start-up peak: `n` torrents just added to a `Client`, each with one
/// UDP and one HTTP tracker shared by all (the start-up benchmark's set-up), every announce asked
/// for and almost all of them waiting for a place in their tracker's window.
fn backlog_bytes_per_torrent(n: u32, start: Instant) -> f64 {
    use bt_tracker::TrackerUrl;
    use bt_tracker::announce::TierMode;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let mut held = None;
    let info = allocation_counter::measure(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut client = bt_tracker::client::Client::new(config, &mut rng, start).unwrap();
        let udp = TrackerUrl::parse("udp://10.7.0.1:6969/announce").unwrap();
        let http = TrackerUrl::parse("http://10.8.0.1/announce").unwrap();
        for k in 0..n {
            let tiers = vec![vec![udp.clone()], vec![http.clone()]];
            client.add(start, idle::torrent(k), tiers).unwrap();
        }
        held = Some(client);
    });
    drop(held);
    info.bytes_current as f64 / f64::from(n)
}

#[test]
fn a_request_waiting_for_a_window_place_holds_a_small_record_not_an_exchange() {
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    let start = Instant::now();
    let n = 100_000;
    let per = backlog_bytes_per_torrent(n, start);
    eprintln!(
        "torrent in a Client's start-up backlog, one UDP and one HTTP tracker: {per:.0} heap bytes each ({n} torrents)"
    );
    // The idle figure above (773 bytes) plus what the two waiting announces hold. Measured:
    // 1,609 bytes (main at cbdbaa1: each waiting request held a whole boxed exchange of 256
    // bytes, and an HTTP one its request URL of about 240 more); 1,086 once a waiting request
    // holds a record of 112 bytes until admitted; 1,041 with one-word queue tickets.
    assert!(per <= 1060.0, "{per:.0} bytes per torrent in the backlog");
}
