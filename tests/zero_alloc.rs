//! The hot paths allocate nothing: parsing replies and iterating their peers, and encoding requests,
//! checked with a counting global allocator (allocation-counter counts this thread only). A whole
//! re-announce round trip through the machine allocates exactly once (the event's peer list).

use std::net::SocketAddr;

use bt_tracker::udp::{
    self, AnnounceRequest, AnnounceResponse, Reply, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId};

fn announce_reply_bytes(peers: usize, family: AddressFamily) -> Vec<u8> {
    let addrs: Vec<SocketAddr> = (0..peers)
        .map(|i| match family {
            AddressFamily::V4 => SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 6881)),
            AddressFamily::V6 => SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16], 6881)),
        })
        .collect();
    let resp = AnnounceResponse {
        transaction_id: 1,
        interval: 1800,
        leechers: 3,
        seeders: 5,
        peers: CompactPeers::from_addrs(&addrs),
    };
    let mut buf = vec![0u8; resp.encoded_len(family)];
    resp.encode(family, &mut buf).unwrap();
    buf
}

#[test]
fn parsing_a_udp_announce_reply_and_iterating_200_peers_allocates_nothing() {
    for family in [AddressFamily::V4, AddressFamily::V6] {
        let bytes = announce_reply_bytes(200, family);
        let mut port_sum = 0u64;
        let info = allocation_counter::measure(|| {
            let Ok(Reply::Announce(a)) = Reply::parse(&bytes, family) else {
                return;
            };
            for peer in a.peers {
                port_sum += u64::from(peer.port());
            }
        });
        assert_eq!(port_sum, 200 * 6881, "all peers were iterated ({family:?})");
        assert_eq!(info.count_total, 0, "{family:?}: {info:?}");
    }
}

#[test]
fn parsing_a_udp_scrape_reply_and_error_text_allocates_nothing() {
    let rows = vec![
        ScrapeStats {
            seeders: 1,
            completed: 2,
            leechers: 3
        };
        74
    ];
    let mut buf = vec![0u8; 8 + 12 * 74];
    ScrapeResponse {
        transaction_id: 1,
        rows: rows[..].into(),
    }
    .encode(&mut buf)
    .unwrap();
    let error = b"\0\0\0\x03\0\0\0\x01Connection ID missmatch.\0";
    let mut total = 0u64;
    let info = allocation_counter::measure(|| {
        if let Ok(Reply::Scrape(s)) = Reply::parse(&buf, AddressFamily::V4) {
            total += s.rows.iter().map(|r| u64::from(r.leechers)).sum::<u64>();
        }
        if let Ok(Reply::Error(e)) = Reply::parse(error, AddressFamily::V4) {
            total += e.message_text().len() as u64;
        }
    });
    assert_eq!(total, 74 * 3 + 24);
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn encoding_udp_requests_allocates_nothing() {
    let req = AnnounceRequest {
        connection_id: 1,
        transaction_id: 2,
        info_hash: InfoHash([1; 20]),
        peer_id: PeerId([2; 20]),
        downloaded: 0,
        left: 100,
        uploaded: 0,
        event: AnnounceEvent::Started,
        ip: None,
        key: 3,
        num_want: 200,
        port: 6881,
        url_data: Some(std::borrow::Cow::Borrowed(b"/announce?passkey=abc")),
    };
    let mut buf = [0u8; udp::MAX_REQUEST_LEN];
    let mut len = 0;
    let info = allocation_counter::measure(|| {
        len = req.encode(&mut buf).unwrap();
    });
    assert_eq!(len, 98 + 2 + 21 + 1);
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn the_counting_allocator_sees_allocations() {
    // Guards the tests above: a counter that saw nothing would make them pass vacuously.
    let info = allocation_counter::measure(|| {
        std::hint::black_box(vec![0u8; 64]);
    });
    assert_eq!(info.count_total, 1);
}

#[test]
fn decoding_a_compact_http_reply_and_iterating_200_peers_allocates_nothing() {
    use bt_tracker::http::AnnounceResponse;
    let mut body =
        b"d8:completei170e10:incompletei30e8:intervali1800e12:min intervali900e5:peers1200:"
            .to_vec();
    for i in 0..200u32 {
        body.extend_from_slice(&[10, 1, (i >> 8) as u8, i as u8, 0x1a, 0xe1]);
    }
    body.push(b'e');
    let mut count = 0;
    let info = allocation_counter::measure(|| {
        if let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) {
            count += s.peer_addrs().filter(|p| p.port() == 6881).count();
        }
    });
    assert_eq!(count, 200);
    assert_eq!(info.count_total, 0, "{info:?}");
}

/// A UDP re-announce round trip through the machine (timer, announce datagram, reply, event)
/// allocates once: the event's peer list, which the caller owns. The exchange in flight and its
/// transport state are boxed (so an idle tracker holds no room for them, and a request waiting
/// for a place in its tracker's window holds a small record, not a whole exchange: issue 15's
/// start-up peak RSS), and the machine keeps the boxes of the exchange that ended last for the
/// next one, so a steady round trip reuses them. Issue 16's merge had made it four (the
/// tracker's address list per exchange, and the window's record of the datagram in flight), the
/// small queued record three (both boxes per admission).
#[test]
fn a_udp_re_announce_round_trip_allocates_only_the_peer_list() {
    use bt_tracker::announce::{Announce, Config, Event, Progress, Torrent};
    use bt_tracker::{TrackerUrl, client::Client};
    use rand_chacha::ChaCha12Rng;
    use rand_core::SeedableRng;
    use std::time::{Duration, Instant};

    const ROUNDS: u64 = 50;
    let tracker: SocketAddr = "192.0.2.1:6969".parse().unwrap();
    let torrent = Torrent {
        info_hash: InfoHash([3; 20]),
        peer_id: PeerId(*b"-BT0100-alloc0000000"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    };
    let tiers = || {
        vec![vec![
            TrackerUrl::parse("udp://192.0.2.1:6969/announce").unwrap(),
        ]]
    };
    let mut reply = announce_reply_bytes(50, AddressFamily::V4);
    reply[8..12].copy_from_slice(&1u32.to_be_bytes()); // interval 1 s
    let mut config = Config::default();
    config.connection_id_lifetime = Duration::from_secs(365 * 24 * 3600);
    config.interval_floor = Duration::from_secs(1);
    config.min_interval_floor = Duration::from_secs(1);
    config.default_min_interval = Duration::from_secs(1);
    let connect = |buf: &[u8]| {
        let mut r = vec![0, 0, 0, 0];
        r.extend_from_slice(&buf[12..16]);
        r.extend_from_slice(&7u64.to_be_bytes());
        r
    };
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    let start = Instant::now();
    let mut rng = ChaCha12Rng::seed_from_u64(1);

    // One Announce.
    let mut a = Announce::new(config.clone(), torrent.clone(), tiers(), &mut rng, start).unwrap();
    let mut buf = Vec::new();
    assert_eq!(a.poll_transmit(&mut buf).unwrap().len, udp::CONNECT_LEN);
    assert!(a.handle_datagram(start, tracker, &connect(&buf)));
    let mut now = start;
    let mut round = |a: &mut Announce, now: Instant, buf: &mut Vec<u8>| {
        a.handle_timeout(now);
        let t = a.poll_transmit(buf).expect("the announce is due");
        assert!(t.len > udp::CONNECT_LEN);
        reply[4..8].copy_from_slice(&buf[12..16]);
        assert!(a.handle_datagram(now, tracker, &reply));
        assert!(matches!(a.poll_event(), Some(Event::Announced(_))));
    };
    round(&mut a, now, &mut buf);
    let info = allocation_counter::measure(|| {
        for _ in 0..ROUNDS {
            now += Duration::from_secs(1);
            round(&mut a, now, &mut buf);
        }
    });
    assert_eq!(info.count_total, ROUNDS, "Announce: {info:?}");

    // The same torrent in a Client.
    let mut c = Client::new(config, &mut rng, start).unwrap();
    c.add(start, torrent, tiers()).unwrap();
    assert_eq!(c.poll_transmit(&mut buf).unwrap().len, udp::CONNECT_LEN);
    assert!(c.handle_datagram(start, tracker, &connect(&buf)));
    let mut now = start;
    let mut round = |c: &mut Client, now: Instant, buf: &mut Vec<u8>| {
        c.handle_timeout(now);
        let t = c.poll_transmit(buf).expect("the announce is due");
        assert!(t.len > udp::CONNECT_LEN);
        reply[4..8].copy_from_slice(&buf[12..16]);
        assert!(c.handle_datagram(now, tracker, &reply));
        assert!(matches!(c.poll_event(), Some((_, Event::Announced(_)))));
    };
    round(&mut c, now, &mut buf);
    let info = allocation_counter::measure(|| {
        for _ in 0..ROUNDS {
            now += Duration::from_secs(1);
            round(&mut c, now, &mut buf);
        }
    });
    assert_eq!(info.count_total, ROUNDS, "Client: {info:?}");
}
