//! UDP trackers that misbehave on purpose, on loopback, against the machine driven through the
//! examples' socket glue. Each test states the outcome a careful client gives, checks that it
//! comes by the configured deadline, and bounds the heap the whole exchange used. Where a
//! misbehaviour is one of the tracker machine's (`bt_tracker::tracker::Behaviour`), the machine
//! serves it; byte-level damage (truncation, wrong transaction ids, spoofed sources, stale replays)
//! stays hand-written.

mod hostile;
mod net;

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bt_tracker::announce::Cause;
use bt_tracker::tracker::{BadConnectionId, Behaviour, OPENTRACKER_BAD_ID, TrackerConfig};
use bt_tracker::udp::Request;
use hostile::{
    announce_reply, connect_reply, error_reply, failed_within, honest, machine,
    machine_udp_tracker, peers, quick_config, scenario, seed_swarm, txid, udp_tracker,
};
use net::glue::now;
use net::{Peer, info_hash};

/// Peak heap growth of a UDP scenario, client and hostile tracker together: three 64 KiB receive
/// buffers (about 200 KiB) and, for the largest datagram, its copy and the capped peer list (about
/// 600 KiB in all).
const UDP_HEAP_BOUND: usize = 1 << 20;

fn url(server: &hostile::Server) -> String {
    format!("udp://{}/announce", server.addr)
}

/// The silent-tracker deadline of `quick_config`: sends at 0 and 200 ms, given up at 600 ms.
const UDP_DEADLINE: Duration = Duration::from_millis(600);

#[test]
fn replies_with_the_wrong_transaction_id_are_ignored_until_the_timeout() {
    let (failed, heap) = scenario(
        "replies_with_the_wrong_transaction_id_are_ignored_until_the_timeout",
        || {
            let server = udp_tracker(|s, from, req| {
                let _ = s.send_to(&connect_reply(txid(req).wrapping_add(1), 7), from);
            });
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-txid"), 1, 1, quick_config());
            let start = now();
            failed_within(peer.next_announce(), start, UDP_DEADLINE)
        },
    );
    assert_eq!(failed.cause, Cause::Timeout);
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn replies_from_another_port_are_ignored_and_the_real_one_is_used() {
    let (seen, heap) = scenario(
        "replies_from_another_port_are_ignored_and_the_real_one_is_used",
        || {
            let liar = UdpSocket::bind("127.0.0.1:0").unwrap();
            let server = udp_tracker(move |s, from, req| {
                // A spoofed reply with other peers arrives first, from the tracker's host but
                // another port; the tracker's own reply follows.
                if let Some(bogus) = honest(req, 99, &peers(3)[2..]) {
                    let _ = liar.send_to(&bogus, from);
                }
                let _ = s.send_to(&honest(req, 7, &peers(2)).unwrap(), from);
            });
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-port"), 1, 1, quick_config());
            peer.announced()
        },
    );
    assert_eq!(seen.peers, peers(2));
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn truncated_replies_of_every_kind_give_the_careful_outcome() {
    // (what the tracker sends to the announce, the outcome)
    enum Want {
        Timeout,
        Refused,
        Peers(usize),
        Tracker(&'static str),
    }
    /// What the tracker sends to a request with this transaction id.
    type Cut = fn(u32) -> Vec<u8>;
    let cases: [(&str, Cut, Want); 6] = [
        (
            "a connect reply cut to 15 bytes",
            |t| connect_reply(t, 7)[..15].to_vec(),
            Want::Timeout,
        ),
        (
            "an announce reply cut to 12 bytes",
            |t| announce_reply(t, 1800, &peers(2))[..12].to_vec(),
            Want::Refused,
        ),
        (
            "an announce reply with 2.5 peers",
            |t| announce_reply(t, 1800, &peers(3))[..35].to_vec(),
            Want::Peers(2),
        ),
        (
            "an error reply of just its header",
            |t| error_reply(t, b""),
            Want::Tracker(""),
        ),
        (
            "a reply of 4 bytes",
            |t| t.to_be_bytes().to_vec(),
            Want::Timeout,
        ),
        ("an empty datagram", |_| Vec::new(), Want::Timeout),
    ];
    for (what, cut, want) in cases {
        let connected = cut(0).len() != 15;
        let (outcome, heap) = scenario(what, || {
            let server = udp_tracker(move |s, from, req| {
                let reply = match Request::parse(req) {
                    Ok(Request::Connect(c)) if connected => connect_reply(c.transaction_id, 7),
                    _ => cut(txid(req)),
                };
                let _ = s.send_to(&reply, from);
            });
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-cut"), 1, 1, quick_config());
            let start = now();
            let outcome = peer.next_announce();
            (outcome, now().duration_since(start))
        });
        let (outcome, took) = outcome;
        assert!(took <= UDP_DEADLINE + hostile::SLACK, "{what}: {took:?}");
        match (want, outcome) {
            (Want::Timeout, Err(f)) => assert_eq!(f.cause, Cause::Timeout, "{what}"),
            (Want::Refused, Err(f)) => assert_eq!(f.cause, Cause::Refused, "{what}"),
            (Want::Tracker(text), Err(f)) => assert!(
                matches!(&f.cause, Cause::Tracker { reason, .. } if reason == text),
                "{what}: {:?}",
                f.cause
            ),
            (Want::Peers(n), Ok(a)) => assert_eq!(a.peers, peers(n), "{what}"),
            (_, other) => panic!("{what}: unexpected {other:?}"),
        }
        assert!(heap < UDP_HEAP_BOUND, "{what}: {heap} bytes");
    }
}

#[test]
fn error_replies_with_binary_or_empty_text_fail_with_that_text() {
    for (message, text) in [
        (
            &b"\xff\xfe\x00binary\x00"[..],
            "\u{fffd}\u{fffd}\u{0}binary",
        ),
        (&b""[..], ""),
        (
            &b"Connection ID missmatch.\x00"[..],
            "Connection ID missmatch.",
        ),
    ] {
        let (failed, heap) = scenario(
            "error_replies_with_binary_or_empty_text_fail_with_that_text",
            || {
                let failing = Behaviour::failing(message, None);
                let (server, _) = machine_udp_tracker(machine(TrackerConfig::default(), failing));
                let mut peer =
                    Peer::with_config(&url(&server), info_hash("u-err"), 1, 1, quick_config());
                peer.next_announce()
                    .expect_err("an error reply fails the announce")
            },
        );
        assert_eq!(
            failed.cause,
            Cause::Tracker {
                reason: text.to_owned(),
                retry_in: None
            }
        );
        assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
    }
}

#[test]
fn duplicate_and_stale_replies_are_used_once() {
    let ((first, scraped), heap) = scenario("duplicate_and_stale_replies_are_used_once", || {
        let old = std::sync::Mutex::new(Vec::<Vec<u8>>::new());
        let server = udp_tracker(move |s, from, req| {
            let Some(reply) = honest(req, 7, &peers(4)) else {
                return;
            };
            // Every reply three times, then every reply sent so far again (stale ones).
            for _ in 0..3 {
                let _ = s.send_to(&reply, from);
            }
            let mut old = old.lock().unwrap();
            for stale in old.iter() {
                let _ = s.send_to(stale, from);
            }
            old.push(reply);
        });
        let mut peer = Peer::with_config(&url(&server), info_hash("u-dup"), 1, 1, quick_config());
        let first = peer.announced();
        (first, peer.scrape())
    });
    assert_eq!(first.peers, peers(4));
    let scraped = scraped.expect("the scrape after duplicates succeeds");
    assert_eq!(
        (scraped.seeders, scraped.completed, scraped.leechers),
        (Some(2), Some(3), Some(1))
    );
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn a_huge_reply_is_read_whole_and_capped_at_max_peers_per_reply() {
    // 65,507 bytes: the largest IPv4 UDP payload, 10,914 peers.
    let n = (65_507 - 20) / 6;
    // A tracker that gives every peer it has, whatever numwant says. Its peer list is made before
    // the scenario: the heap measured is the exchange's (the hand-written server made the list per
    // reply, as the machine makes its reply's list).
    let mut config = TrackerConfig::default();
    config.extra_peers = peers(n);
    config.max_numwant = n as u32;
    let mut behaviour = Behaviour::honest();
    behaviour.ignore_numwant = true;
    let tracker = machine(config, behaviour);
    let (seen, heap) = scenario(
        "a_huge_reply_is_read_whole_and_capped_at_max_peers_per_reply",
        || {
            let (server, _) = machine_udp_tracker(tracker);
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-huge"), 1, 1, quick_config());
            peer.announced()
        },
    );
    let cap = quick_config().max_peers_per_reply;
    assert_eq!(
        seen.peers,
        peers(cap),
        "the first {cap} peers, in the tracker's order"
    );
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn a_connection_id_that_expires_at_the_tracker_is_renewed_once() {
    let ((connects, scraped), heap) = scenario(
        "a_connection_id_that_expires_at_the_tracker_is_renewed_once",
        || {
            // The tracker's ids are keyed; two seeders are in the swarm already.
            let mut behaviour = Behaviour::honest();
            behaviour.bad_connection_id = BadConnectionId::Error(OPENTRACKER_BAD_ID.to_vec());
            let tracker = machine(TrackerConfig::default(), behaviour);
            seed_swarm(&tracker, info_hash("u-rotate"), 2);
            let (server, received) = machine_udp_tracker(std::sync::Arc::clone(&tracker));
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-rotate"), 1, 1, quick_config());
            peer.announced();
            // The tracker forgets the id (as if its key rotated); the client's cached id is now stale.
            tracker.lock().unwrap().forget_connection_ids();
            let scraped = peer.scrape();
            (received.connects.load(Ordering::Relaxed), scraped)
        },
    );
    let scraped = scraped.expect("one reconnect after the stale-id error, then the scrape");
    assert_eq!(scraped.seeders, Some(2));
    assert_eq!(
        connects, 2,
        "one connect for the announce, one after the id was refused"
    );
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn intervals_of_zero_one_and_u32_max_are_defaulted_or_clamped() {
    // 0 means "not given" (the 1800 s default); 1 s is raised to the 120 s floor; u32::MAX s is
    // cut to the 2 h ceiling.
    for (sent, want) in [(0u32, 1800u64), (1, 120), (u32::MAX, 7200)] {
        let (seen, _) = scenario(
            "intervals_of_zero_one_and_u32_max_are_defaulted_or_clamped",
            || {
                let mut config = TrackerConfig::default();
                config.interval = sent;
                config.extra_peers = peers(1);
                let (server, _) = machine_udp_tracker(machine(config, Behaviour::honest()));
                let mut peer =
                    Peer::with_config(&url(&server), info_hash("u-int"), 1, 1, quick_config());
                peer.announced()
            },
        );
        assert_eq!(seen.interval, Duration::from_secs(want), "interval {sent}");
    }
}

#[test]
fn a_silent_tracker_times_out_after_the_configured_sends() {
    let ((failed, sends), heap) = scenario("silent", || {
        let (server, count) =
            machine_udp_tracker(machine(TrackerConfig::default(), Behaviour::silent()));
        let mut peer =
            Peer::with_config(&url(&server), info_hash("u-silent"), 1, 1, quick_config());
        let start = now();
        let failed = failed_within(peer.next_announce(), start, UDP_DEADLINE);
        (failed, count.datagrams.load(Ordering::Relaxed))
    });
    assert_eq!(failed.cause, Cause::Timeout);
    assert_eq!(
        sends,
        quick_config().udp_max_attempts,
        "one connect per attempt, no more"
    );
    assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
}

#[test]
fn a_truncated_scrape_reply_keeps_whole_rows_only() {
    for (cut, want) in [(8 + 12 + 5, Some(2)), (8 + 7, None)] {
        let (scraped, heap) = scenario("scrape-cut", || {
            let server = udp_tracker(move |s, from, req| {
                let mut reply = honest(req, 7, &peers(1)).unwrap();
                if let Ok(Request::Scrape(_)) = Request::parse(req) {
                    reply.resize(cut, 0xAA);
                }
                let _ = s.send_to(&reply, from);
            });
            let mut peer =
                Peer::with_config(&url(&server), info_hash("u-scut"), 1, 1, quick_config());
            peer.scrape()
        });
        let scraped = scraped.expect("a short scrape reply is still a reply");
        assert_eq!(
            scraped.seeders, want,
            "{cut} bytes: a partial row is unknown, not zero"
        );
        assert!(heap < UDP_HEAP_BOUND, "{heap} bytes");
    }
}
