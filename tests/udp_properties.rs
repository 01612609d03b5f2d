//! quickcheck properties of the UDP codec: every message round-trips through encode and parse in both
//! directions, and no parser panics on arbitrary bytes.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bt_tracker::udp::{
    self, AnnounceRequest, AnnounceResponse, ConnectRequest, ConnectResponse, ErrorResponse,
    InfoHashes, Reply, Request, ScrapeRequest, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId};
use quickcheck::{Arbitrary, Gen, QuickCheck};

fn qc() -> QuickCheck {
    QuickCheck::new().tests(2000)
}

fn bytes20(g: &mut Gen) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.iter_mut().for_each(|b| *b = u8::arbitrary(g));
    out
}

fn event(g: &mut Gen) -> AnnounceEvent {
    *g.choose(&[
        AnnounceEvent::Regular,
        AnnounceEvent::Completed,
        AnnounceEvent::Started,
        AnnounceEvent::Stopped,
    ])
    .unwrap()
}

fn peer(g: &mut Gen, family: AddressFamily) -> SocketAddr {
    let ip = match family {
        AddressFamily::V4 => IpAddr::V4(Ipv4Addr::from(u32::arbitrary(g))),
        AddressFamily::V6 => {
            // Not IPv4-mapped, so the address reads back exactly as written.
            let mut v = u128::arbitrary(g);
            if Ipv6Addr::from(v).to_ipv4_mapped().is_some() {
                v ^= 1 << 100;
            }
            IpAddr::V6(Ipv6Addr::from(v))
        }
    };
    SocketAddr::new(ip, u16::arbitrary(g))
}

/// An announce request with owned URL data.
#[derive(Clone, Debug)]
struct AnyAnnounce(AnnounceRequest<'static>);

impl Arbitrary for AnyAnnounce {
    fn arbitrary(g: &mut Gen) -> Self {
        let url_data = if bool::arbitrary(g) {
            let len = usize::arbitrary(g) % (udp::MAX_URL_DATA_LEN + 1);
            Some(Cow::Owned((0..len).map(|_| u8::arbitrary(g)).collect()))
        } else {
            None
        };
        let ip = u32::arbitrary(g);
        AnyAnnounce(AnnounceRequest {
            connection_id: u64::arbitrary(g),
            transaction_id: u32::arbitrary(g),
            info_hash: InfoHash(bytes20(g)),
            peer_id: PeerId(bytes20(g)),
            downloaded: i64::arbitrary(g),
            left: i64::arbitrary(g),
            uploaded: i64::arbitrary(g),
            event: event(g),
            ip: (ip != 0).then(|| Ipv4Addr::from(ip)),
            key: u32::arbitrary(g),
            num_want: i32::arbitrary(g),
            port: u16::arbitrary(g),
            url_data,
        })
    }
}

#[derive(Clone, Debug)]
struct Hashes(Vec<InfoHash>);

impl Arbitrary for Hashes {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = 1 + usize::arbitrary(g) % udp::MAX_SCRAPE_HASHES;
        Hashes((0..n).map(|_| InfoHash(bytes20(g))).collect())
    }
}

#[derive(Clone, Debug)]
struct Peers(AddressFamily, Vec<SocketAddr>);

impl Arbitrary for Peers {
    fn arbitrary(g: &mut Gen) -> Self {
        let family = if bool::arbitrary(g) {
            AddressFamily::V4
        } else {
            AddressFamily::V6
        };
        let n = usize::arbitrary(g) % 250;
        Peers(family, (0..n).map(|_| peer(g, family)).collect())
    }
}

fn encode(f: impl FnOnce(&mut [u8]) -> Result<usize, udp::EncodeError>) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let n = f(&mut buf).expect("encodes");
    buf.truncate(n);
    buf
}

#[test]
fn connect_request_round_trips() {
    fn prop(tid: u32) -> bool {
        let req = ConnectRequest {
            transaction_id: tid,
        };
        Request::parse(&encode(|b| req.encode(b))) == Ok(Request::Connect(req))
    }
    qc().quickcheck(prop as fn(u32) -> bool);
}

#[test]
fn announce_request_round_trips() {
    fn prop(a: AnyAnnounce) -> bool {
        let bytes = encode(|b| a.0.encode(b));
        bytes.len() == a.0.encoded_len() && Request::parse(&bytes) == Ok(Request::Announce(a.0))
    }
    qc().quickcheck(prop as fn(AnyAnnounce) -> bool);
}

#[test]
fn scrape_request_round_trips() {
    fn prop(cid: u64, tid: u32, h: Hashes) -> bool {
        let req = ScrapeRequest {
            connection_id: cid,
            transaction_id: tid,
            info_hashes: InfoHashes::from(&h.0[..]),
        };
        Request::parse(&encode(|b| req.encode(b))) == Ok(Request::Scrape(req))
    }
    qc().quickcheck(prop as fn(u64, u32, Hashes) -> bool);
}

#[test]
fn connect_response_round_trips() {
    fn prop(tid: u32, cid: u64) -> bool {
        let resp = ConnectResponse {
            transaction_id: tid,
            connection_id: cid,
        };
        Reply::parse(&encode(|b| resp.encode(b)), AddressFamily::V4) == Ok(Reply::Connect(resp))
    }
    qc().quickcheck(prop as fn(u32, u64) -> bool);
}

#[test]
fn announce_response_round_trips_in_both_families() {
    fn prop(tid: u32, interval: u32, leechers: u32, seeders: u32, p: Peers) -> bool {
        let Peers(family, addrs) = p;
        let resp = AnnounceResponse {
            transaction_id: tid,
            interval,
            leechers,
            seeders,
            peers: CompactPeers::from_addrs(&addrs),
        };
        let bytes = encode(|b| resp.encode(family, b));
        match Reply::parse(&bytes, family) {
            Ok(Reply::Announce(parsed)) => {
                parsed == resp && parsed.peers.iter().collect::<Vec<_>>() == addrs
            }
            _ => false,
        }
    }
    qc().quickcheck(prop as fn(u32, u32, u32, u32, Peers) -> bool);
}

#[test]
fn scrape_response_round_trips() {
    fn prop(tid: u32, rows: Vec<(u32, u32, u32)>) -> bool {
        let rows: Vec<ScrapeStats> = rows
            .into_iter()
            .map(|(s, c, l)| ScrapeStats {
                seeders: s,
                completed: c,
                leechers: l,
            })
            .collect();
        let resp = ScrapeResponse {
            transaction_id: tid,
            rows: rows[..].into(),
        };
        Reply::parse(&encode(|b| resp.encode(b)), AddressFamily::V4) == Ok(Reply::Scrape(resp))
    }
    qc().quickcheck(prop as fn(u32, Vec<(u32, u32, u32)>) -> bool);
}

#[test]
fn error_response_round_trips() {
    fn prop(tid: u32, message: Vec<u8>) -> bool {
        let resp = ErrorResponse {
            transaction_id: tid,
            message: &message,
        };
        Reply::parse(&encode(|b| resp.encode(b)), AddressFamily::V6) == Ok(Reply::Error(resp))
    }
    qc().quickcheck(prop as fn(u32, Vec<u8>) -> bool);
}

#[test]
fn refusal_round_trips() {
    fn prop(tid: u32) -> bool {
        let refusal = Reply::AnnounceRefused {
            transaction_id: tid,
        };
        Reply::parse(
            &encode(|b| refusal.encode(AddressFamily::V4, b)),
            AddressFamily::V4,
        ) == Ok(refusal)
    }
    qc().quickcheck(prop as fn(u32) -> bool);
}

/// Datagrams that start like real messages more often than uniform bytes would.
#[derive(Clone, Debug)]
struct Datagram(Vec<u8>);

impl Arbitrary for Datagram {
    fn arbitrary(g: &mut Gen) -> Self {
        let len = usize::arbitrary(g) % 1600;
        let mut bytes: Vec<u8> = (0..len).map(|_| u8::arbitrary(g)).collect();
        // Plant a plausible action (0..4) at offset 3 or 11 half of the time.
        if bool::arbitrary(g) {
            let at = if bool::arbitrary(g) { 3 } else { 11 };
            if let Some(b) = bytes.get_mut(at) {
                *b = u8::arbitrary(g) % 5;
            }
            if at == 3 {
                bytes.iter_mut().take(3).for_each(|b| *b = 0);
            } else {
                bytes.iter_mut().skip(8).take(3).for_each(|b| *b = 0);
            }
        }
        Datagram(bytes)
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink().map(Datagram))
    }
}

#[test]
fn parsing_arbitrary_requests_never_panics() {
    fn prop(d: Datagram) -> bool {
        if let Ok(Request::Scrape(s)) = Request::parse(&d.0) {
            assert_eq!(s.info_hashes.iter().count(), s.info_hashes.len());
        }
        true
    }
    qc().tests(20_000).quickcheck(prop as fn(Datagram) -> bool);
}

#[test]
fn parsing_arbitrary_replies_never_panics() {
    fn prop(d: Datagram) -> bool {
        for family in [AddressFamily::V4, AddressFamily::V6] {
            match Reply::parse(&d.0, family) {
                Ok(Reply::Announce(a)) => {
                    assert_eq!(a.peers.iter().count(), a.peers.len());
                }
                Ok(Reply::Scrape(s)) => {
                    assert_eq!(s.rows.iter().count(), s.rows.len());
                }
                Ok(Reply::Error(e)) => {
                    let _ = e.message_text();
                }
                _ => {}
            }
        }
        true
    }
    qc().tests(20_000).quickcheck(prop as fn(Datagram) -> bool);
}
