//! The sans-IO tracker's presets that act like real trackers (REAL_TRACKERS.md: opentracker,
//! webtorrent's bittorrent-tracker, aquatic, torrust) against the crate's own client machine, in
//! memory with a virtual clock: what an `Announce` sees of each quirk.

mod machine;

use std::time::Duration;

use bt_tracker::InfoHash;
use bt_tracker::announce::Cause;
use bt_tracker::http::percent_encode;
use bt_tracker::tracker::{Behaviour, TrackerConfig};
use machine::*;

// ----- real trackers' quirks (REAL_TRACKERS.md) -----

#[test]
fn opentracker_refuses_hashes_off_its_whitelist_with_8_bytes_over_udp_and_a_text_over_http() {
    let other = InfoHash([0x22; 20]);
    let mut udp = Link::udp(Behaviour::opentracker([other]));
    assert_eq!(udp.failed().cause, Cause::Refused);
    let mut http = Link::http(Behaviour::opentracker([other]));
    assert_eq!(
        tracker_text(&http.failed().cause),
        (bt_tracker::tracker::NOT_WHITELISTED, None)
    );
    // A listed hash is served; opentracker lists the announcer too (the client cannot tell itself
    // from others here: the tracker is not on loopback and UDP has no `external ip`).
    let mut config = TrackerConfig::default();
    config.include_announcer = true;
    let mut listed = Link::new(
        "udp",
        V4_TRACKER,
        V4_CLIENT,
        config,
        Behaviour::opentracker([HASH]),
        client_config(),
    );
    listed.other_peer("192.0.2.1:6881", 1, 1, "started");
    assert_eq!(
        listed.announced().peers,
        [addr("192.0.2.1:6881"), addr(V4_CLIENT)]
    );
}

#[test]
fn opentrackers_connection_id_error_makes_the_client_reconnect_in_either_byte_order() {
    for behaviour in [Behaviour::opentracker([HASH]), Behaviour::old_opentracker()] {
        let mut config = TrackerConfig::default();
        config.connection_id_lifetime = Duration::from_secs(10);
        let mut link = Link::new(
            "udp",
            V4_TRACKER,
            V4_CLIENT,
            config,
            behaviour.clone(),
            client_config(),
        );
        link.announced();
        link.wait(Duration::from_secs(30));
        // The stale id gets the error reply; the client reconnects at once and scrapes.
        let scraped = link.scraped();
        assert_eq!(scraped.expect("{behaviour:?}").leechers, Some(1));
        let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
        assert_eq!(actions, [0, 1, 2, 0, 2], "{behaviour:?}");
    }
}

#[test]
fn webtorrents_magic_connection_id_and_6_byte_entries_over_ipv6_give_ipv4_peers() {
    let mut link = Link::new(
        "udp",
        V6_TRACKER,
        V6_CLIENT,
        TrackerConfig::default(),
        Behaviour::webtorrent(),
        client_config(),
    );
    // Two IPv4 peers are 12 bytes: a multiple of 6, not of 18, so they read as IPv4.
    link.other_peer("192.0.2.1:6881", 1, 1, "started");
    link.other_peer("192.0.2.2:6881", 2, 1, "started");
    link.other_peer("[2001:db8::1]:6881", 3, 1, "started");
    let seen = link.announced();
    assert_eq!(seen.peers, [addr("192.0.2.1:6881"), addr("192.0.2.2:6881")]);
    assert!(link.requests.contains(&(1, bt_tracker::udp::PROTOCOL_ID)));
}

#[test]
fn webtorrents_mangled_scrape_keys_are_read_back_as_the_hash() {
    let mut link = Link::http(Behaviour::webtorrent());
    link.announced();
    let scraped = link.scraped().expect("the scrape succeeds");
    assert_eq!(scraped.leechers, Some(1));
    // On the wire, each byte 0xE9 of the hash became the two bytes of U+00E9.
    let target = format!("/scrape?info_hash={}", percent_encode(&HASH.0));
    let answer = link
        .tracker
        .handle_http(link.now, link.client, target.as_bytes())
        .unwrap();
    assert!(
        answer.body.windows(3).any(|w| w == b"40:"),
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let bt_tracker::http::ScrapeResponse::Success(s) =
        bt_tracker::http::ScrapeResponse::decode(&answer.body).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.files.get(&HASH).map(|f| f.incomplete), Some(1));
    assert_eq!(s.min_request_interval, Some(600));
}

#[test]
fn aquatic_is_silent_on_a_stale_connection_id_so_the_client_connects_again_after_one_timeout() {
    let mut config = TrackerConfig::default();
    config.connection_id_lifetime = Duration::from_secs(10);
    let mut link = Link::new(
        "udp",
        V4_TRACKER,
        V4_CLIENT,
        config,
        Behaviour::aquatic(),
        client_config(),
    );
    link.announced();
    link.wait(Duration::from_secs(30));
    let start = link.now;
    let scraped = link
        .scraped()
        .expect("the resend after the timeout connects");
    assert_eq!(scraped.leechers, Some(1));
    // The scrape with the stale id goes unanswered: the window sends it again at its probe
    // timeouts (six early repeats, the in-memory round trip being tiny), then at the BEP 15
    // timeout (15 s) the client drops the cached id, which came from an earlier connect and may
    // be stale, and connects again, well before the id's own 60 s lifetime ends.
    let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
    assert_eq!(actions, [0, 1, 2, 2, 2, 2, 2, 2, 2, 0, 2]);
    assert_eq!(link.now - start, Duration::from_secs(15));
}

#[test]
fn aquatics_crlf_after_the_body_is_ignored() {
    let mut link = Link::http(Behaviour::aquatic());
    link.other_peer("192.0.2.1:6881", 1, 1, "started");
    assert_eq!(link.announced().peers, [addr("192.0.2.1:6881")]);
    let target = format!("/scrape?info_hash={}", percent_encode(&HASH.0));
    let answer = link
        .tracker
        .handle_http(link.now, link.client, target.as_bytes())
        .unwrap();
    assert!(answer.body.ends_with(b"e\r\n"));
    assert_eq!(
        link.scraped().expect("the scrape succeeds").leechers,
        Some(2)
    );
}

#[test]
fn torrust_rewrites_loopback_announcers_to_its_external_ip() {
    for (external, want) in [
        ("0.0.0.0", vec![]),
        ("192.0.2.50", vec![addr("192.0.2.50:7000")]),
    ] {
        let mut link = Link::new(
            "udp",
            "127.0.0.1:6969",
            "127.0.0.1:40001",
            TrackerConfig::default(),
            Behaviour::torrust(external.parse().unwrap()),
            client_config(),
        );
        link.other_peer("127.0.0.1:7000", 1, 1, "started");
        assert_eq!(link.announced().peers, want, "external ip {external}");
    }
}
