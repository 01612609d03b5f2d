//! UDP codec edge cases, one by one: sizes at the limits, ragged and IPv6 peer sections, 74-hash
//! scrapes, long BEP 41 URL data, empty error text and the real-tracker quirks of PROTOCOL.md §10/§13.

mod common;

use std::borrow::Cow;

use bt_tracker::udp::{
    self, AnnounceRequest, EncodeError, ErrorResponse, InfoHashes, Reply, ReplyError, Request,
    RequestError, ScrapeRequest,
};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash};
use common::{example_peer_id, sha1_empty};

fn announce(url_data: Option<Cow<'static, [u8]>>) -> AnnounceRequest<'static> {
    AnnounceRequest {
        connection_id: 7,
        transaction_id: 9,
        info_hash: sha1_empty(),
        peer_id: example_peer_id(),
        downloaded: 1,
        left: 2,
        uploaded: 3,
        event: AnnounceEvent::Regular,
        ip: None,
        key: 4,
        num_want: 200,
        port: 6881,
        url_data,
    }
}

fn reply_header(action: u32, tid: u32) -> Vec<u8> {
    let mut v = action.to_be_bytes().to_vec();
    v.extend_from_slice(&tid.to_be_bytes());
    v
}

#[test]
fn announce_request_of_97_bytes_is_dropped_and_98_accepted() {
    let mut buf = [0u8; udp::MAX_REQUEST_LEN];
    let n = announce(None).encode(&mut buf).unwrap();
    assert_eq!(n, udp::ANNOUNCE_REQUEST_LEN);
    assert!(matches!(
        Request::parse(&buf[..n]),
        Ok(Request::Announce(_))
    ));
    assert_eq!(
        Request::parse(&buf[..n - 1]),
        Err(RequestError::TooShort {
            what: "announce",
            len: 97,
            min: 98
        })
    );
}

#[test]
fn requests_shorter_than_16_bytes_are_dropped() {
    assert!(matches!(
        Request::parse(&[0u8; 15]),
        Err(RequestError::TooShort { len: 15, .. })
    ));
}

#[test]
fn connect_request_without_protocol_id_is_rejected() {
    let mut d = [0u8; 16];
    d[15] = 1;
    assert_eq!(Request::parse(&d), Err(RequestError::BadProtocolId(0)));
}

#[test]
fn unknown_request_action_is_rejected() {
    let mut d = [0u8; 16];
    d[11] = 3;
    assert_eq!(Request::parse(&d), Err(RequestError::UnknownAction(3)));
}

#[test]
fn too_small_buffer_is_an_error_not_a_truncation() {
    let mut small = [0xAAu8; 97];
    assert_eq!(
        announce(None).encode(&mut small),
        Err(EncodeError::BufferTooSmall {
            needed: 98,
            available: 97
        })
    );
    assert!(small.iter().all(|&b| b == 0xAA), "nothing written on error");
}

#[test]
fn paused_is_sent_as_zero_and_read_back_from_libtorrents_four() {
    let mut req = announce(None);
    req.event = AnnounceEvent::Paused;
    let mut buf = [0u8; 128];
    let n = req.encode(&mut buf).unwrap();
    assert_eq!(&buf[80..84], &[0, 0, 0, 0]);
    buf[83] = 4;
    let Ok(Request::Announce(parsed)) = Request::parse(&buf[..n]) else {
        panic!()
    };
    assert_eq!(parsed.event, AnnounceEvent::Paused);
    buf[83] = 99;
    let Ok(Request::Announce(parsed)) = Request::parse(&buf[..n]) else {
        panic!()
    };
    assert_eq!(parsed.event, AnnounceEvent::Regular);
}

#[test]
fn url_data_longer_than_255_bytes_is_chunked_and_joined() {
    let data: Vec<u8> = (0..315).map(|i| b'a' + (i % 26) as u8).collect();
    let req = announce(Some(Cow::Owned(data.clone())));
    let mut buf = [0u8; udp::MAX_REQUEST_LEN];
    let n = req.encode(&mut buf).unwrap();
    // PROTOCOL.md §8: 02 ff <255 bytes> 02 3c <60 bytes>, then EndOfOptions.
    assert_eq!(&buf[98..100], &[0x02, 0xff]);
    assert_eq!(&buf[355..357], &[0x02, 0x3c]);
    assert_eq!(buf[n - 1], 0x00);
    assert_eq!(n, 98 + 2 + 255 + 2 + 60 + 1);
    let Ok(Request::Announce(parsed)) = Request::parse(&buf[..n]) else {
        panic!()
    };
    assert_eq!(parsed.url_data.as_deref(), Some(&data[..]));
}

#[test]
fn url_data_over_the_cap_is_refused() {
    let req = announce(Some(Cow::Owned(vec![b'x'; udp::MAX_URL_DATA_LEN + 1])));
    let mut buf = [0u8; 4096];
    assert_eq!(
        req.encode(&mut buf),
        Err(EncodeError::UrlDataTooLong {
            len: udp::MAX_URL_DATA_LEN + 1,
            max: udp::MAX_URL_DATA_LEN
        })
    );
    let at_cap = announce(Some(Cow::Owned(vec![b'x'; udp::MAX_URL_DATA_LEN])));
    assert_eq!(at_cap.encode(&mut buf), Ok(udp::MAX_ANNOUNCE_REQUEST_LEN));
}

#[test]
fn scrape_of_74_hashes_fits_and_75_is_refused() {
    let hashes: Vec<InfoHash> = (0..75u8).map(|i| InfoHash([i; 20])).collect();
    let mut buf = [0u8; udp::MAX_REQUEST_LEN];
    let req = |n: usize| ScrapeRequest {
        connection_id: 1,
        transaction_id: 2,
        info_hashes: InfoHashes::from(&hashes[..n]),
    };
    assert_eq!(req(74).encode(&mut buf), Ok(1496));
    assert_eq!(udp::MAX_SCRAPE_REQUEST_LEN, 1496);
    let Ok(Request::Scrape(parsed)) = Request::parse(&buf[..1496]) else {
        panic!()
    };
    assert_eq!(parsed.info_hashes.len(), 74);
    assert_eq!(parsed.info_hashes.iter().last(), Some(InfoHash([73; 20])));
    assert_eq!(
        req(75).encode(&mut buf),
        Err(EncodeError::TooManyInfoHashes { count: 75, max: 74 })
    );
    assert_eq!(req(0).encode(&mut buf), Err(EncodeError::NoInfoHashes));
}

#[test]
fn scrape_request_partial_trailing_hash_is_ignored_and_none_is_an_error() {
    let mut d = vec![0u8; 16 + 20 + 7];
    d[11] = 2;
    let Ok(Request::Scrape(parsed)) = Request::parse(&d) else {
        panic!()
    };
    assert_eq!(parsed.info_hashes.len(), 1);
    assert_eq!(
        Request::parse(&d[..16 + 19]),
        Err(RequestError::NoInfoHashes)
    );
}

#[test]
fn eight_byte_announce_reply_is_a_refusal() {
    let d = reply_header(1, 0xABCD);
    assert_eq!(
        Reply::parse(&d, AddressFamily::V4),
        Ok(Reply::AnnounceRefused {
            transaction_id: 0xABCD
        })
    );
    let mut d19 = d.clone();
    d19.resize(19, 0);
    assert_eq!(
        Reply::parse(&d19, AddressFamily::V4),
        Ok(Reply::AnnounceRefused {
            transaction_id: 0xABCD
        })
    );
}

#[test]
fn twenty_byte_announce_reply_has_no_peers() {
    let mut d = reply_header(1, 1);
    d.resize(20, 0);
    let Ok(Reply::Announce(a)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert!(a.peers.is_empty());
    assert_eq!(a.peers.trailing_bytes(), 0);
}

#[test]
fn replies_shorter_than_8_bytes_are_ignored() {
    assert_eq!(
        Reply::parse(&[0, 0, 0, 1, 0, 0, 0], AddressFamily::V4),
        Err(ReplyError::TooShort { len: 7 })
    );
    assert_eq!(udp::peek_transaction_id(&[0, 0, 0, 1, 0, 0, 0]), None);
    assert_eq!(
        udp::peek_transaction_id(&reply_header(1, 0x0102_0304)),
        Some(0x0102_0304)
    );
}

#[test]
fn truncated_connect_reply_is_reported() {
    let mut d = reply_header(0, 5);
    d.resize(15, 0);
    assert_eq!(
        Reply::parse(&d, AddressFamily::V4),
        Err(ReplyError::TruncatedConnect {
            transaction_id: 5,
            len: 15
        })
    );
}

#[test]
fn ragged_peer_section_yields_whole_entries_and_reports_the_rest() {
    let mut d = reply_header(1, 1);
    d.resize(20, 0);
    d.extend_from_slice(&[10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0x1a, 0xe2, 10, 0, 0]);
    let Ok(Reply::Announce(a)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(a.peers.len(), 2);
    assert_eq!(a.peers.trailing_bytes(), 3);
    let peers: Vec<String> = a.peers.iter().map(|p| p.to_string()).collect();
    assert_eq!(peers, ["10.0.0.1:6881", "10.0.0.2:6882"]);
}

#[test]
fn ipv6_exchange_uses_the_18_byte_stride() {
    let mut d = reply_header(1, 1);
    d.resize(20, 0);
    let mut entry = [0u8; 18];
    entry[0] = 0x20;
    entry[1] = 0x01;
    entry[15] = 1;
    entry[17] = 80;
    d.extend_from_slice(&entry);
    d.extend_from_slice(&entry);
    let Ok(Reply::Announce(v6)) = Reply::parse(&d, AddressFamily::V6) else {
        panic!()
    };
    assert_eq!(v6.peers.family(), Some(AddressFamily::V6));
    assert_eq!(
        v6.peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["[2001::1]:80", "[2001::1]:80"]
    );
    // The same bytes over IPv4 are six 6-byte entries: the family decides, never the bytes.
    let Ok(Reply::Announce(v4)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(v4.peers.len(), 6);
}

#[test]
fn webtorrent_six_byte_entries_over_ipv6_are_read_as_ipv4() {
    // bittorrent-tracker answers UDP over IPv6 with 6-byte IPv4 entries (REAL_TRACKERS.md).
    let mut d = reply_header(1, 1);
    d.resize(20, 0);
    d.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2]);
    let Ok(Reply::Announce(a)) = Reply::parse(&d, AddressFamily::V6) else {
        panic!()
    };
    assert_eq!(a.peers.family(), Some(AddressFamily::V4));
    let peers: Vec<String> = a.peers.iter().map(|p| p.to_string()).collect();
    assert_eq!(peers, ["127.0.0.1:6881", "127.0.0.2:6882"]);
}

#[test]
fn zero_length_error_message_is_empty_text() {
    let d = reply_header(3, 77);
    let Ok(Reply::Error(e)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(
        e,
        ErrorResponse {
            transaction_id: 77,
            message: b""
        }
    );
    assert_eq!(e.message_text(), "");
}

#[test]
fn error_message_is_lossy_utf8_without_trailing_nuls() {
    let mut d = reply_header(3, 1);
    d.extend_from_slice(b"bad \xff hash\0\0\0");
    let Ok(Reply::Error(e)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(e.message_text(), "bad \u{fffd} hash");
    let mut nuls = reply_header(3, 1);
    nuls.extend_from_slice(b"\0\0");
    let Ok(Reply::Error(e)) = Reply::parse(&nuls, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(e.message_text(), "");
}

#[test]
fn host_order_error_action_of_old_opentracker_is_an_unknown_action() {
    let mut d = vec![3, 0, 0, 0, 0, 0, 0, 42];
    d.extend_from_slice(b"Connection ID missmatch.\0");
    assert_eq!(
        Reply::parse(&d, AddressFamily::V4),
        Err(ReplyError::UnknownAction {
            action: 0x0300_0000,
            transaction_id: 42
        })
    );
}

#[test]
fn scrape_reply_with_fewer_rows_leaves_the_rest_unknown() {
    let mut d = reply_header(2, 1);
    d.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 42, 0, 0, 0, 3, 0, 0]);
    let Ok(Reply::Scrape(s)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.rows.trailing_bytes(), 2);
    assert_eq!(
        s.rows.get(0).map(|r| (r.seeders, r.completed, r.leechers)),
        Some((5, 42, 3))
    );
    assert_eq!(s.rows.get(1), None);
}

#[test]
fn longer_than_needed_connect_reply_is_accepted() {
    let mut d = reply_header(0, 1);
    d.extend_from_slice(&0x0417_2710_1980_u64.to_be_bytes());
    d.extend_from_slice(b"extra");
    let Ok(Reply::Connect(c)) = Reply::parse(&d, AddressFamily::V4) else {
        panic!()
    };
    // The protocol magic as a connection id is legal (webtorrent's tracker hands it out).
    assert_eq!(c.connection_id, udp::PROTOCOL_ID);
}

#[test]
fn receive_buffer_sizes_are_published() {
    assert_eq!(udp::announce_reply_len(200, AddressFamily::V4), 1220);
    assert_eq!(udp::announce_reply_len(200, AddressFamily::V6), 3620);
}
