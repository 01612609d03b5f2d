//! The sans-IO tracker (`bt_tracker::tracker`) against the crate's own client machine, in memory
//! with a virtual clock: the honest tracker and each misbehaviour a test can switch on, and what
//! an `Announce` sees of it. The real trackers' quirks are in `tracker_quirks.rs`.

mod machine;

use std::net::SocketAddr;
use std::time::Duration;

use bt_tracker::announce::{Cause, Event};
use bt_tracker::http::{AnnounceResponse, Peers, RetryIn, percent_encode};
use bt_tracker::tracker::{Behaviour, Redirect, Tracker, TrackerConfig};
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use machine::*;
use rand_chacha::ChaCha12Rng;
use rand_core::{Rng, SeedableRng};

// ----- the honest tracker -----

#[test]
fn an_honest_tracker_lists_the_other_announcers_with_their_counts_over_udp_and_http() {
    for mut link in [
        Link::udp(Behaviour::honest()),
        Link::http(Behaviour::honest()),
    ] {
        link.other_peer("192.0.2.1:6881", 1, 0, "started");
        link.other_peer("192.0.2.2:6882", 2, 500, "started");
        let seen = link.announced();
        assert_eq!(
            seen.peers,
            sorted(vec![addr("192.0.2.1:6881"), addr("192.0.2.2:6882")])
        );
        // The client itself is counted as a leecher.
        assert_eq!((seen.seeders, seen.leechers), (Some(1), Some(2)));
        assert_eq!(seen.interval, Duration::from_secs(1800));
        let scraped = link.scraped().expect("the scrape succeeds");
        assert_eq!((scraped.seeders, scraped.leechers), (Some(1), Some(2)));
    }
}

#[test]
fn numwant_caps_the_peers_given() {
    let mut config = client_config();
    config.num_want = 3;
    for scheme in ["udp", "http"] {
        let mut link = Link::new(
            scheme,
            V4_TRACKER,
            V4_CLIENT,
            TrackerConfig::default(),
            Behaviour::honest(),
            config.clone(),
        );
        for n in 1..=10u8 {
            link.other_peer(&format!("192.0.2.{n}:6881"), n, 1, "started");
        }
        assert_eq!(link.announced().peers.len(), 3, "{scheme}");
    }
}

#[test]
fn ipv6_announcers_get_ipv6_peers_over_udp_and_both_families_over_http() {
    for (scheme, want) in [
        ("udp", vec![addr("[2001:db8::1]:6881")]),
        (
            "http",
            vec![addr("192.0.2.1:6881"), addr("[2001:db8::1]:6881")],
        ),
    ] {
        let mut link = Link::new(
            scheme,
            V6_TRACKER,
            V6_CLIENT,
            TrackerConfig::default(),
            Behaviour::honest(),
            client_config(),
        );
        link.other_peer("192.0.2.1:6881", 1, 1, "started");
        link.other_peer("[2001:db8::1]:6881", 2, 1, "started");
        assert_eq!(link.announced().peers, want, "{scheme}");
    }
}

#[test]
fn stopped_removes_the_announcer_from_its_swarm() {
    for mut link in [
        Link::udp(Behaviour::honest()),
        Link::http(Behaviour::honest()),
    ] {
        link.announced();
        assert_eq!(link.tracker.swarm(&HASH).map(|s| s.leechers), Some(1));
        link.announce.stop(link.now);
        link.run(Duration::from_secs(60), |e| matches!(e, Event::Stopped));
        assert!(link.announce.is_stopped());
        assert_eq!(link.tracker.swarm(&HASH).map(|s| s.leechers), Some(0));
    }
}

#[test]
fn peers_that_stop_announcing_expire_after_the_peer_timeout() {
    let mut config = TrackerConfig::default();
    config.peer_timeout = Duration::from_secs(600);
    let mut link = Link::new(
        "http",
        V4_TRACKER,
        V4_CLIENT,
        config,
        Behaviour::honest(),
        client_config(),
    );
    link.other_peer("192.0.2.1:6881", 1, 1, "started");
    assert_eq!(link.announced().peers, vec![addr("192.0.2.1:6881")]);
    // The client re-announces every 1800 s; the other peer never again.
    link.wait(Duration::from_secs(1700));
    assert_eq!(link.announced().peers, Vec::<SocketAddr>::new());
}

#[test]
fn list_form_is_given_for_compact_0() {
    let mut tracker = Tracker::new(
        TrackerConfig::default(),
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(3),
        epoch(),
    );
    let target = |peer: &str, compact: u8| {
        format!(
            "/announce?info_hash={}&peer_id=-XX0001-abcdefghijk{peer}&port=6881&uploaded=0&downloaded=0&left=1&compact={compact}",
            percent_encode(&HASH.0)
        )
    };
    tracker.handle_http(epoch(), addr("[2001:db8::1]:1"), target("a", 1).as_bytes());
    let answer = tracker
        .handle_http(epoch(), addr("192.0.2.7:1"), target("b", 0).as_bytes())
        .unwrap();
    let AnnounceResponse::Success(reply) = AnnounceResponse::decode(&answer.body).unwrap() else {
        panic!("{:?}", String::from_utf8_lossy(&answer.body))
    };
    assert!(matches!(reply.peers, Peers::Dicts(_)), "{reply:?}");
    assert_eq!(
        reply.peer_addrs().collect::<Vec<_>>(),
        [addr("[2001:db8::1]:6881")]
    );
}

#[test]
fn swarms_and_peers_stay_within_their_caps() {
    let mut config = TrackerConfig::default();
    config.max_swarms = 3;
    config.max_peers_per_swarm = 2;
    config.include_announcer = true;
    let now = epoch();
    let mut tracker = Tracker::new(
        config,
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(4),
        now,
    );
    for swarm in 0..5u8 {
        for peer in 0..4u8 {
            let target = format!(
                "/announce?info_hash={}&peer_id=-XX0001-abcdefghijk{peer}&port={}&uploaded=0&downloaded=0&left=1",
                percent_encode(&[swarm; 20]),
                6000 + u16::from(peer),
            );
            let at = now + Duration::from_secs(u64::from(peer));
            tracker
                .handle_http(at, addr("192.0.2.7:1"), target.as_bytes())
                .unwrap();
        }
    }
    assert_eq!(tracker.swarm_count(), 3);
    for swarm in 0..3u8 {
        assert_eq!(tracker.swarm(&InfoHash([swarm; 20])).unwrap().leechers, 2);
    }
    assert_eq!(
        tracker.swarm(&InfoHash([4; 20])),
        None,
        "no room for a fourth swarm"
    );
}

#[test]
fn arbitrary_datagrams_and_targets_never_panic_and_queue_at_most_the_cap() {
    let mut rng = ChaCha12Rng::seed_from_u64(5);
    let mut behaviour = Behaviour::honest();
    behaviour.copies = u32::MAX;
    let mut tracker = Tracker::new(TrackerConfig::default(), behaviour, &mut rng, epoch());
    let mut buf = Vec::new();
    for i in 0..20_000u32 {
        let len = (rng.next_u32() % 200) as usize;
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        if i % 3 == 0 && len >= 16 {
            // A connect, so that some replies are queued.
            bytes[..8].copy_from_slice(&0x0417_2710_1980u64.to_be_bytes());
            bytes[8..12].copy_from_slice(&[0; 4]);
        }
        let from = SocketAddr::from(([192, 0, 2, (i % 250) as u8], 1));
        tracker.handle_datagram(epoch(), from, &bytes);
        let _ = tracker.handle_http(epoch(), from, &bytes);
    }
    let mut queued = 0;
    while tracker.poll_transmit(&mut buf).is_some() {
        queued += 1;
    }
    assert_eq!(queued, bt_tracker::tracker::MAX_QUEUED_DATAGRAMS);
}

// ----- misbehaviours -----

#[test]
fn a_silent_tracker_times_out_over_udp_and_http() {
    for mut link in [
        Link::udp(Behaviour::silent()),
        Link::http(Behaviour::silent()),
    ] {
        let start = link.now;
        assert_eq!(link.failed().cause, Cause::Timeout);
        assert!(
            link.tracker.swarm(&HASH).is_none(),
            "a silent tracker stores nothing"
        );
        // UDP: 3 sends 15, 30 and 60 s apart; HTTP: the 30 s deadline.
        assert!(link.now - start <= Duration::from_secs(105));
    }
}

#[test]
fn a_failure_text_fails_the_announce_with_that_text_and_retry_in_over_http() {
    let mut udp = Link::udp(Behaviour::failing(&b"torrent not registered"[..], None));
    assert_eq!(
        tracker_text(&udp.failed().cause),
        ("torrent not registered", None)
    );
    let mut http = Link::http(Behaviour::failing(
        "torrent not registered",
        Some(RetryIn::Minutes(5)),
    ));
    assert_eq!(
        tracker_text(&http.failed().cause),
        ("torrent not registered", Some(Duration::from_secs(300)))
    );
}

#[test]
fn retry_in_never_and_http_410_disable_the_tracker() {
    let mut gone = Behaviour::honest();
    gone.http_status = Some(410);
    for (behaviour, want) in [
        (
            Behaviour::failing("banned", Some(RetryIn::Never)),
            Cause::RetryNever {
                reason: "banned".to_owned(),
            },
        ),
        (gone, Cause::Gone),
    ] {
        let mut link = Link::http(behaviour);
        let events = link.run(Duration::from_secs(600), |e| {
            matches!(e, Event::TrackerDisabled { .. })
        });
        let failed = events.iter().find_map(|e| match e {
            Event::Failed(f) => Some(f.cause.clone()),
            _ => None,
        });
        assert_eq!(failed, Some(want));
        assert!(
            matches!(events.last(), Some(Event::TrackerDisabled { .. })),
            "{events:?}"
        );
    }
}

#[test]
fn http_500_with_an_html_page_is_an_http_status_failure() {
    let mut behaviour = Behaviour::honest();
    behaviour.http_status = Some(500);
    assert_eq!(Link::http(behaviour).failed().cause, Cause::HttpStatus(500));
}

#[test]
fn a_bencoded_body_under_an_error_status_is_read_for_its_failure_text_only() {
    // A failure with 400 (BitTornado-derived trackers): the text is reported.
    let mut failing = Behaviour::failing("not registered", None);
    failing.reply_status = Some(400);
    assert_eq!(
        tracker_text(&Link::http(failing).failed().cause),
        ("not registered", None)
    );
    // A normal reply with 500: peers under an error status are not taken.
    let mut broken = Behaviour::honest();
    broken.reply_status = Some(500);
    let mut link = Link::http(broken);
    assert_eq!(link.try_other_peer("192.0.2.1:6881", 1, 1, "started"), 500);
    assert_eq!(link.failed().cause, Cause::HttpStatus(500));
}

#[test]
fn the_8_byte_refusal_is_reported_as_refused() {
    let mut behaviour = Behaviour::honest();
    behaviour.refuse_announces = true;
    assert_eq!(Link::udp(behaviour).failed().cause, Cause::Refused);
}

#[test]
fn rotating_connection_ids_make_the_client_reconnect_once_per_request() {
    let mut behaviour = Behaviour::honest();
    behaviour.connection_ids = bt_tracker::tracker::ConnectionIds::Rotating;
    let mut link = Link::udp(behaviour);
    link.announced();
    let scraped = link
        .scraped()
        .expect("a reconnect after the refused id, then the scrape");
    assert_eq!(scraped.leechers, Some(1));
    let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
    // connect, announce; scrape with the cached id (refused), connect, scrape.
    assert_eq!(actions, [0, 1, 2, 0, 2]);
}

#[test]
fn connection_ids_expiring_before_the_clients_cache_are_renewed() {
    let mut config = TrackerConfig::default();
    config.connection_id_lifetime = Duration::from_secs(10);
    let mut link = Link::new(
        "udp",
        V4_TRACKER,
        V4_CLIENT,
        config,
        Behaviour::honest(),
        client_config(),
    );
    link.announced();
    link.wait(Duration::from_secs(30)); // the client keeps its id for 60 s
    assert!(link.scraped().is_ok());
    let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
    assert_eq!(actions, [0, 1, 2, 0, 2]);
}

#[test]
fn intervals_of_zero_and_u32_max_are_defaulted_and_clamped() {
    for (interval, want) in [(0u32, 1800u64), (u32::MAX, 7200)] {
        for scheme in ["udp", "http"] {
            let mut config = TrackerConfig::default();
            config.interval = interval;
            config.min_interval = None;
            let mut link = Link::new(
                scheme,
                V4_TRACKER,
                V4_CLIENT,
                config,
                Behaviour::honest(),
                client_config(),
            );
            assert_eq!(
                link.announced().interval,
                Duration::from_secs(want),
                "{scheme} interval {interval}"
            );
        }
    }
}

#[test]
fn a_flood_of_copies_ends_the_request_once() {
    let mut behaviour = Behaviour::honest();
    behaviour.copies = 50;
    let mut link = Link::udp(behaviour);
    link.other_peer("192.0.2.1:6881", 1, 1, "started");
    let events = link.run(Duration::from_secs(60), |_| false);
    let outcomes: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Announced(_) | Event::Failed(_)))
        .collect();
    assert_eq!(outcomes.len(), 1, "{events:?}");
    assert!(matches!(outcomes[0], Event::Announced(a) if a.peers == [addr("192.0.2.1:6881")]));
}

#[test]
fn a_slow_tracker_answers_at_its_delay_and_past_the_deadline_times_out() {
    // HTTP gives up at its 30 s deadline; UDP resends at 15 and 45 s and gives up at 105 s, so a
    // reply 40 s late still comes in time there.
    for (delay, udp_in_time, http_in_time) in
        [(5, true, true), (40, true, false), (120, false, false)]
    {
        let mut behaviour = Behaviour::honest();
        behaviour.delay = Duration::from_secs(delay);
        for (mut link, in_time) in [
            (Link::udp(behaviour.clone()), udp_in_time),
            (Link::http(behaviour.clone()), http_in_time),
        ] {
            let start = link.now;
            let outcome = link.outcome();
            if in_time {
                assert!(outcome.is_ok(), "{outcome:?}");
                // HTTP: one answer after the delay; UDP: connect and announce, each after it.
                let took = (link.now - start).as_secs();
                assert!(took == delay || took == 2 * delay, "{took} s");
            } else {
                assert_eq!(outcome.unwrap_err().cause, Cause::Timeout);
            }
        }
    }
}

#[test]
fn a_redirect_is_followed_to_the_real_path_and_a_loop_fails() {
    let mut behaviour = Behaviour::honest();
    behaviour.redirect = Some(Redirect::To("/real/announce".to_owned()));
    let mut link = Link::http(behaviour);
    assert_eq!(link.try_other_peer("192.0.2.1:6881", 1, 1, "started"), 302);
    assert!(link.tracker.swarm(&HASH).is_none());
    assert_eq!(link.announced().peers, Vec::<SocketAddr>::new());
    assert_eq!(link.tracker.swarm(&HASH).map(|s| s.leechers), Some(1));
    let mut behaviour = Behaviour::honest();
    behaviour.redirect = Some(Redirect::Loop);
    let cause = Link::http(behaviour).failed().cause;
    assert!(
        matches!(&cause, Cause::Redirect(why) if why.contains("more than 5 redirects")),
        "{cause:?}"
    );
}

#[test]
fn a_tracker_ignoring_numwant_gives_up_to_its_cap() {
    let mut config = TrackerConfig::default();
    config.max_numwant = 7;
    let mut client = client_config();
    client.num_want = 3;
    let mut behaviour = Behaviour::honest();
    behaviour.ignore_numwant = true;
    for scheme in ["udp", "http"] {
        let mut link = Link::new(
            scheme,
            V4_TRACKER,
            V4_CLIENT,
            config.clone(),
            behaviour.clone(),
            client.clone(),
        );
        for n in 1..=10u8 {
            link.other_peer(&format!("192.0.2.{n}:6881"), n, 1, "started");
        }
        assert_eq!(link.announced().peers.len(), 7, "{scheme}");
    }
}

#[test]
fn forgotten_connection_ids_make_the_client_reconnect_once() {
    let mut link = Link::udp(Behaviour::honest());
    link.announced();
    link.tracker.forget_connection_ids();
    assert!(link.scraped().is_ok());
    let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
    assert_eq!(actions, [0, 1, 2, 0, 2]);
}

#[test]
fn an_ipv4_mapped_source_is_served_as_ipv4_with_6_byte_entries() {
    use bt_tracker::AddressFamily;
    use bt_tracker::udp::{AnnounceRequest, ConnectRequest, Reply};
    let now = epoch();
    let mut tracker = Tracker::new(
        TrackerConfig::default(),
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(6),
        now,
    );
    let mut config = TrackerConfig::default();
    config.extra_peers = vec![addr("[::ffff:192.0.2.1]:6881"), addr("[2001:db8::1]:6881")];
    let mut tracker_with_extras = Tracker::new(
        config,
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(6),
        now,
    );
    let mapped = addr("[::ffff:198.51.100.9]:40001");
    for (tracker, want) in [
        (&mut tracker, vec![]),
        (&mut tracker_with_extras, vec![addr("192.0.2.1:6881")]),
    ] {
        let (mut request, mut reply) = ([0u8; 98], Vec::new());
        let n = ConnectRequest { transaction_id: 1 }
            .encode(&mut request)
            .unwrap();
        tracker.handle_datagram(now, mapped, &request[..n]);
        let _ = tracker.poll_transmit(&mut reply).unwrap();
        let Ok(Reply::Connect(c)) = Reply::parse(&reply, AddressFamily::V4) else {
            panic!("{reply:?}")
        };
        let announce = AnnounceRequest {
            connection_id: c.connection_id,
            transaction_id: 2,
            info_hash: HASH,
            peer_id: PeerId(*b"-XX0001-abcdefghijkl"),
            downloaded: 0,
            left: 1,
            uploaded: 0,
            event: bt_tracker::AnnounceEvent::Started,
            ip: None,
            key: 0,
            num_want: -1,
            port: 6881,
            url_data: None,
        };
        let n = announce.encode(&mut request).unwrap();
        tracker.handle_datagram(now, mapped, &request[..n]);
        let out = tracker.poll_transmit(&mut reply).unwrap();
        assert_eq!(out.len, 20 + 6 * want.len(), "IPv4 stride");
        let Ok(Reply::Announce(a)) = Reply::parse(&reply, AddressFamily::V4) else {
            panic!("{reply:?}")
        };
        assert_eq!(a.peers.iter().collect::<Vec<_>>(), want);
    }
}

#[test]
fn a_full_swarm_replaces_the_peer_that_announced_least_recently() {
    let mut config = TrackerConfig::default();
    config.max_peers_per_swarm = 2;
    config.include_announcer = true;
    let now = epoch();
    let mut tracker = Tracker::new(
        config,
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(7),
        now,
    );
    let mut announce = |peer: u8, at: u64| {
        let target = format!(
            "/announce?info_hash={}&peer_id=-XX0001-abcdefghijk{peer}&port={}&uploaded=0&downloaded=0&left=1",
            percent_encode(&HASH.0),
            6000 + u16::from(peer),
        );
        let from = addr("192.0.2.7:1");
        let answer = tracker
            .handle_http(now + Duration::from_secs(at), from, target.as_bytes())
            .unwrap();
        let AnnounceResponse::Success(reply) = AnnounceResponse::decode(&answer.body).unwrap()
        else {
            panic!("{:?}", String::from_utf8_lossy(&answer.body))
        };
        let mut ports: Vec<u16> = reply.peer_addrs().map(|p| p.port()).collect();
        ports.sort();
        ports
    };
    assert_eq!(announce(1, 0), [6001]);
    assert_eq!(announce(2, 1), [6001, 6002]);
    assert_eq!(announce(1, 2), [6001, 6002], "a refresh is not a new peer");
    // Peer 2 announced least recently (at 1 s; peer 1 refreshed at 2 s): it makes room.
    assert_eq!(announce(3, 3), [6001, 6003]);
}

#[test]
fn a_udp_reply_never_exceeds_one_datagram_whatever_max_numwant_says() {
    let mut config = TrackerConfig::default();
    config.max_numwant = u32::MAX;
    config.extra_peers = (0..20_000u32)
        .map(|i| SocketAddr::from((std::net::Ipv4Addr::from(0x0a00_0000 + i), 6881)))
        .collect();
    let mut behaviour = Behaviour::honest();
    behaviour.ignore_numwant = true;
    let mut link = Link::new(
        "udp",
        V4_TRACKER,
        V4_CLIENT,
        config,
        behaviour,
        client_config(),
    );
    let mut client = client_config();
    client.max_peers_per_reply = 20_000;
    link.announce = {
        let url = TrackerUrl::parse(&format!("udp://{V4_TRACKER}/announce")).unwrap();
        let torrent = bt_tracker::announce::Torrent {
            info_hash: HASH,
            peer_id: PeerId(*b"-BT0100-machine-0002"),
            port: 40001,
            progress: bt_tracker::announce::Progress::default(),
            key: None,
        };
        bt_tracker::Announce::new(
            client,
            torrent,
            vec![vec![url]],
            &mut ChaCha12Rng::seed_from_u64(2),
            link.now,
        )
        .unwrap()
    };
    // 10,914 peers of 6 bytes after the 20-byte header: 65,504 bytes.
    assert_eq!(link.announced().peers.len(), 10_914);
}

#[test]
fn a_udp_reply_lists_the_extra_peers_of_its_family_in_order_then_the_swarm_up_to_numwant() {
    use bt_tracker::AnnounceEvent::{Started, Stopped};
    use bt_tracker::udp::{AnnounceRequest, ConnectRequest, Reply};
    use bt_tracker::{AddressFamily, AnnounceEvent};
    let now = epoch();
    let mut config = TrackerConfig::default();
    config.extra_peers = vec![
        addr("192.0.2.1:1001"),
        addr("[2001:db8::1]:1002"),
        addr("[::ffff:192.0.2.3]:1003"),
        addr("[2001:db8::4]:1004"),
        addr("192.0.2.5:1005"),
    ];
    let mut tracker = Tracker::new(
        config,
        Behaviour::honest(),
        &mut ChaCha12Rng::seed_from_u64(8),
        now,
    );
    // One buffer for every reply, as a server loop keeps one.
    let mut reply = Vec::new();
    let mut announce = |from: &str, id: u8, num_want: i32, event: AnnounceEvent| {
        let from = addr(from);
        let family = AddressFamily::of(&from);
        let mut request = [0u8; 98];
        let n = ConnectRequest { transaction_id: 1 }
            .encode(&mut request)
            .unwrap();
        tracker.handle_datagram(now, from, &request[..n]);
        let t = tracker.poll_transmit(&mut reply).unwrap();
        let Ok(Reply::Connect(c)) = Reply::parse(&reply[..t.len], family) else {
            panic!("{reply:?}")
        };
        let n = AnnounceRequest {
            connection_id: c.connection_id,
            transaction_id: 2,
            info_hash: HASH,
            peer_id: PeerId([id; 20]),
            downloaded: 0,
            left: 1,
            uploaded: 0,
            event,
            ip: None,
            key: 0,
            num_want,
            port: 7000 + u16::from(id),
            url_data: None,
        }
        .encode(&mut request)
        .unwrap();
        tracker.handle_datagram(now, from, &request[..n]);
        let t = tracker.poll_transmit(&mut reply).unwrap();
        assert_eq!(t.len, reply.len());
        let Ok(Reply::Announce(a)) = Reply::parse(&reply, family) else {
            panic!("{reply:?}")
        };
        let peers = a.peers.iter().collect::<Vec<SocketAddr>>();
        assert!(tracker.poll_transmit(&mut reply).is_none());
        peers
    };
    let v4_extras = [
        addr("192.0.2.1:1001"),
        addr("192.0.2.3:1003"),
        addr("192.0.2.5:1005"),
    ];
    let v6_extras = [addr("[2001:db8::1]:1002"), addr("[2001:db8::4]:1004")];
    // Two peers of each family join the swarm.
    announce("198.51.100.1:1", 1, 50, Started);
    announce("198.51.100.2:1", 2, 50, Started);
    announce("[2001:db8:1::1]:1", 3, 50, Started);
    announce("[2001:db8:1::2]:1", 4, 50, Started);
    let v4_swarm = [addr("198.51.100.1:7001"), addr("198.51.100.2:7002")];
    let v6_swarm = [addr("[2001:db8:1::1]:7003"), addr("[2001:db8:1::2]:7004")];
    // The extras of the family first, in configured order, then the swarm (by peer id).
    let all_v4: Vec<SocketAddr> = [&v4_extras[..], &v4_swarm[..]].concat();
    let all_v6: Vec<SocketAddr> = [&v6_extras[..], &v6_swarm[..]].concat();
    assert_eq!(announce("198.51.100.9:1", 9, 50, Started), all_v4);
    assert_eq!(announce("[2001:db8:1::9]:1", 9, 50, Started), all_v6);
    // numwant cuts inside the extras, at their end, and inside the swarm.
    for k in 1..=5usize {
        let want = all_v4[..k].to_vec();
        assert_eq!(
            announce("198.51.100.9:1", 9, k as i32, Started),
            want,
            "{k}"
        );
        let want = all_v6[..k.min(4)].to_vec();
        assert_eq!(
            announce("[2001:db8:1::9]:1", 9, k as i32, Started),
            want,
            "{k}"
        );
    }
    // `stopped` is answered with no peers at all, not even the extras.
    assert_eq!(announce("198.51.100.9:1", 9, 50, Stopped), vec![]);
    assert_eq!(announce("[2001:db8:1::9]:1", 9, 50, Stopped), vec![]);
}

#[test]
fn a_peer_added_without_announcing_is_listed_counted_and_expires_like_an_announcer() {
    let mut config = TrackerConfig::default();
    config.peer_timeout = Duration::from_secs(600);
    config.max_swarms = 1;
    for scheme in ["udp", "http"] {
        let mut link = Link::new(
            scheme,
            V4_TRACKER,
            V4_CLIENT,
            config.clone(),
            Behaviour::honest(),
            client_config(),
        );
        let now = link.now;
        let (seeder, leecher) = (addr("[::ffff:192.0.2.7]:7007"), addr("192.0.2.8:7008"));
        assert!(
            link.tracker
                .add_peer(now, HASH, PeerId([7; 20]), seeder, true)
        );
        assert!(
            link.tracker
                .add_peer(now, HASH, PeerId([8; 20]), leecher, false)
        );
        // Beyond max_swarms nothing is stored.
        assert!(
            !link
                .tracker
                .add_peer(now, InfoHash([9; 20]), PeerId([9; 20]), leecher, false)
        );
        assert_eq!(link.tracker.swarm(&InfoHash([9; 20])), None, "{scheme}");
        let seen = link.announced();
        // Listed (the IPv4-mapped address as IPv4) and counted, the client as a leecher.
        assert_eq!(
            seen.peers,
            sorted(vec![addr("192.0.2.7:7007"), leecher]),
            "{scheme}"
        );
        assert_eq!(
            (seen.seeders, seen.leechers),
            (Some(1), Some(2)),
            "{scheme}"
        );
        // They never announce again: gone after the peer timeout, as announcers would be.
        link.wait(Duration::from_secs(1700));
        assert_eq!(link.announced().peers, Vec::<SocketAddr>::new(), "{scheme}");
        let stats = link.tracker.swarm(&HASH).unwrap();
        assert_eq!((stats.seeders, stats.leechers), (0, 1), "{scheme}");
    }
}

#[test]
fn a_connection_id_lifetime_set_while_running_applies_to_ids_issued_before() {
    let mut link = Link::udp(Behaviour::honest());
    link.announced();
    // Within the default 120 s the cached id is used.
    link.wait(Duration::from_secs(30));
    assert!(link.scraped().is_ok());
    // A zero lifetime accepts no id, not even one of this second: the cached id is refused, and
    // the reconnect's id is refused too, until the client gives the scrape up.
    let mut config = link.tracker.config().clone();
    config.connection_id_lifetime = Duration::ZERO;
    link.tracker.set_config(config);
    let _ = link.scraped();
    let actions: Vec<u32> = link.requests.iter().map(|r| r.0).collect();
    assert_eq!(
        &actions[..3],
        [0, 1, 2],
        "connect, announce, scrape with the id"
    );
    assert_eq!(
        actions[3..5],
        [2, 0],
        "the cached id refused, then a reconnect"
    );
    assert!(actions[5..].iter().all(|&a| a != 1), "{actions:?}");
    // Set back: ids are accepted again.
    let mut config = link.tracker.config().clone();
    config.connection_id_lifetime = Duration::from_secs(120);
    link.tracker.set_config(config);
    link.wait(Duration::from_secs(1));
    assert!(link.scraped().is_ok());
}
