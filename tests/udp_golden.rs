//! Every worked UDP hex dump of PROTOCOL.md section 11, encoded and parsed byte for byte.

mod common;

use std::borrow::Cow;
use std::net::SocketAddr;

use bt_tracker::udp::{
    AnnounceRequest, AnnounceResponse, ConnectRequest, ConnectResponse, ErrorResponse, InfoHashes,
    Reply, Request, ScrapeRequest, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash};
use common::{example_peer_id, hex, sha1_empty};

const CONNECT_REQUEST: &str = "0000  00 00 04 17 27 10 19 80 00 00 00 00 12 34 56 78";
const CONNECT_RESPONSE: &str = "0000  00 00 00 00 12 34 56 78 c0 ff ee 00 11 22 33 44";
const ANNOUNCE_REQUEST: &str = "
0000  c0 ff ee 00 11 22 33 44 00 00 00 01 0a 0b 0c 0d
0010  da 39 a3 ee 5e 6b 4b 0d 32 55 bf ef 95 60 18 90
0020  af d8 07 09 2d 52 53 30 30 30 31 2d 61 62 63 64
0030  65 66 67 68 69 6a 6b 6c 00 00 00 00 00 00 00 00
0040  00 00 00 00 00 0f 42 40 00 00 00 00 00 00 00 00
0050  00 00 00 02 00 00 00 00 de ad be ef ff ff ff ff
0060  1a e1";
const URL_DATA_TAIL: &str = "02 0d 2f 61 6e 6e 6f 75 6e 63 65 3f 6b 3d 76";
const ANNOUNCE_RESPONSE_V4: &str = "
0000  00 00 00 01 0a 0b 0c 0d 00 00 07 08 00 00 00 03
0010  00 00 00 05 c0 00 02 01 1a e1 c6 33 64 07 c8 d5";
const ANNOUNCE_RESPONSE_V6: &str = "
0000  00 00 00 01 0a 0b 0c 0d 00 00 07 08 00 00 00 03
0010  00 00 00 05 20 01 0d b8 00 00 00 00 00 00 00 00
0020  00 00 00 01 1a e1";
const SCRAPE_REQUEST: &str = "
0000  c0 ff ee 00 11 22 33 44 00 00 00 02 00 00 0b 0b
0010  da 39 a3 ee 5e 6b 4b 0d 32 55 bf ef 95 60 18 90
0020  af d8 07 09 01 02 03 04 05 06 07 08 09 0a 0b 0c
0030  0d 0e 0f 10 11 12 13 14";
const SCRAPE_RESPONSE: &str = "
0000  00 00 00 02 00 00 0b 0b 00 00 00 05 00 00 00 2a
0010  00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00";
const ERROR_RESPONSE: &str = "
0000  00 00 00 03 0a 0b 0c 0d 43 6f 6e 6e 65 63 74 69
0010  6f 6e 20 49 44 20 6d 69 73 73 6d 61 74 63 68 2e
0020  00";

fn example_announce(url_data: Option<&'static [u8]>) -> AnnounceRequest<'static> {
    AnnounceRequest {
        connection_id: 0xC0FF_EE00_1122_3344,
        transaction_id: 0x0a0b_0c0d,
        info_hash: sha1_empty(),
        peer_id: example_peer_id(),
        downloaded: 0,
        left: 1_000_000,
        uploaded: 0,
        event: AnnounceEvent::Started,
        ip: None,
        key: 0xDEAD_BEEF,
        num_want: -1,
        port: 6881,
        url_data: url_data.map(Cow::Borrowed),
    }
}

fn second_hash() -> InfoHash {
    let mut h = [0u8; 20];
    for (i, b) in h.iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    InfoHash(h)
}

fn encode_with(
    f: impl FnOnce(&mut [u8]) -> Result<usize, bt_tracker::udp::EncodeError>,
) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    let n = f(&mut buf).expect("encodes");
    buf[..n].to_vec()
}

#[test]
fn connect_request_matches_dump_both_ways() {
    let bytes = hex(CONNECT_REQUEST);
    let req = ConnectRequest {
        transaction_id: 0x1234_5678,
    };
    assert_eq!(encode_with(|b| req.encode(b)), bytes);
    assert_eq!(Request::parse(&bytes).unwrap(), Request::Connect(req));
}

#[test]
fn connect_response_matches_dump_both_ways() {
    let bytes = hex(CONNECT_RESPONSE);
    let resp = ConnectResponse {
        transaction_id: 0x1234_5678,
        connection_id: 0xC0FF_EE00_1122_3344,
    };
    assert_eq!(encode_with(|b| resp.encode(b)), bytes);
    assert_eq!(
        Reply::parse(&bytes, AddressFamily::V4).unwrap(),
        Reply::Connect(resp)
    );
}

#[test]
fn announce_request_matches_dump_both_ways() {
    let bytes = hex(ANNOUNCE_REQUEST);
    assert_eq!(bytes.len(), 98);
    let req = example_announce(None);
    assert_eq!(encode_with(|b| req.encode(b)), bytes);
    assert_eq!(Request::parse(&bytes).unwrap(), Request::Announce(req));
}

#[test]
fn announce_request_with_url_data_matches_dump_plus_end_marker() {
    // PROTOCOL.md shows the 113 bytes up to the URLData option; we also write EndOfOptions (0x00),
    // which BEP 41 allows and the issue asks for.
    let mut expected = hex(ANNOUNCE_REQUEST);
    expected.extend(hex(URL_DATA_TAIL));
    assert_eq!(expected.len(), 113);
    let req = example_announce(Some(b"/announce?k=v"));
    let encoded = encode_with(|b| req.encode(b));
    assert_eq!(&encoded[..113], &expected[..]);
    assert_eq!(&encoded[113..], &[0x00]);
    // The dump itself (no end marker) parses, and so does ours.
    assert_eq!(
        Request::parse(&expected).unwrap(),
        Request::Announce(req.clone())
    );
    assert_eq!(Request::parse(&encoded).unwrap(), Request::Announce(req));
}

#[test]
fn ipv4_announce_response_matches_dump_both_ways() {
    let bytes = hex(ANNOUNCE_RESPONSE_V4);
    let peers: [SocketAddr; 2] = [
        "192.0.2.1:6881".parse().unwrap(),
        "198.51.100.7:51413".parse().unwrap(),
    ];
    let resp = AnnounceResponse {
        transaction_id: 0x0a0b_0c0d,
        interval: 1800,
        leechers: 3,
        seeders: 5,
        peers: CompactPeers::from_addrs(&peers),
    };
    assert_eq!(encode_with(|b| resp.encode(AddressFamily::V4, b)), bytes);
    let Reply::Announce(parsed) = Reply::parse(&bytes, AddressFamily::V4).unwrap() else {
        panic!("not an announce reply");
    };
    assert_eq!(
        (parsed.interval, parsed.leechers, parsed.seeders),
        (1800, 3, 5)
    );
    assert_eq!(parsed.peers.iter().collect::<Vec<_>>(), peers);
    assert_eq!(parsed.peers.trailing_bytes(), 0);
}

#[test]
fn ipv6_announce_response_matches_dump_both_ways() {
    let bytes = hex(ANNOUNCE_RESPONSE_V6);
    let peers: [SocketAddr; 1] = ["[2001:db8::1]:6881".parse().unwrap()];
    let resp = AnnounceResponse {
        transaction_id: 0x0a0b_0c0d,
        interval: 1800,
        leechers: 3,
        seeders: 5,
        peers: CompactPeers::from_addrs(&peers),
    };
    assert_eq!(encode_with(|b| resp.encode(AddressFamily::V6, b)), bytes);
    let Reply::Announce(parsed) = Reply::parse(&bytes, AddressFamily::V6).unwrap() else {
        panic!("not an announce reply");
    };
    assert_eq!(parsed.peers.iter().collect::<Vec<_>>(), peers);
}

#[test]
fn scrape_request_matches_dump_both_ways() {
    let bytes = hex(SCRAPE_REQUEST);
    let hashes = [sha1_empty(), second_hash()];
    let req = ScrapeRequest {
        connection_id: 0xC0FF_EE00_1122_3344,
        transaction_id: 0x0b0b,
        info_hashes: InfoHashes::from(&hashes[..]),
    };
    assert_eq!(encode_with(|b| req.encode(b)), bytes);
    assert_eq!(Request::parse(&bytes).unwrap(), Request::Scrape(req));
}

#[test]
fn scrape_response_matches_dump_both_ways() {
    let bytes = hex(SCRAPE_RESPONSE);
    let rows = [
        ScrapeStats {
            seeders: 5,
            completed: 42,
            leechers: 3,
        },
        ScrapeStats::default(),
    ];
    let resp = ScrapeResponse {
        transaction_id: 0x0b0b,
        rows: rows[..].into(),
    };
    assert_eq!(encode_with(|b| resp.encode(b)), bytes);
    let Reply::Scrape(parsed) = Reply::parse(&bytes, AddressFamily::V4).unwrap() else {
        panic!("not a scrape reply");
    };
    assert_eq!(parsed.rows.iter().collect::<Vec<_>>(), rows);
}

#[test]
fn opentracker_error_response_matches_dump_both_ways() {
    let bytes = hex(ERROR_RESPONSE);
    assert_eq!(bytes.len(), 33);
    let resp = ErrorResponse {
        transaction_id: 0x0a0b_0c0d,
        message: b"Connection ID missmatch.\0",
    };
    assert_eq!(encode_with(|b| resp.encode(b)), bytes);
    let Reply::Error(parsed) = Reply::parse(&bytes, AddressFamily::V4).unwrap() else {
        panic!("not an error reply");
    };
    assert_eq!(parsed.message_text(), "Connection ID missmatch.");
    assert_eq!(parsed.message, b"Connection ID missmatch.\0");
}
