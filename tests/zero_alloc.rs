//! The hot paths allocate nothing: parsing replies and iterating their peers, and encoding requests,
//! checked with a counting global allocator (allocation-counter counts this thread only).

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
