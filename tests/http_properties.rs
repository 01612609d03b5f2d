//! quickcheck properties of the HTTP codec: replies and queries round-trip, our encodings are
//! canonical (bendy's strict decoder accepts them), no decoder panics on arbitrary bytes, and the
//! response reader gives the same result for every split of the same byte stream.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bt_tracker::http::{
    self, AnnounceParams, AnnounceQuery, AnnounceResponse, AnnounceSuccess, Failure, Peers,
    ResponseReader, RetryIn, ScrapeFile, ScrapeResponse,
};
use bt_tracker::{AnnounceEvent, CompactPeers, InfoHash, PeerId, TrackerUrl};
use quickcheck::{Arbitrary, Gen, QuickCheck};

fn qc() -> QuickCheck {
    QuickCheck::new().tests(1000)
}

fn bytes(g: &mut Gen, max: usize) -> Vec<u8> {
    let n = usize::arbitrary(g) % (max + 1);
    (0..n).map(|_| u8::arbitrary(g)).collect()
}

fn opt<T>(g: &mut Gen, f: impl FnOnce(&mut Gen) -> T) -> Option<T> {
    bool::arbitrary(g).then(|| f(g))
}

/// Owned material for an announce reply.
#[derive(Clone, Debug)]
struct Reply {
    ints: [Option<i64>; 5],
    warning: Option<Vec<u8>>,
    tracker_id: Option<Vec<u8>>,
    v4: Vec<SocketAddr>,
    v6: Vec<SocketAddr>,
    external_ip: Option<IpAddr>,
}

impl Arbitrary for Reply {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = usize::arbitrary(g) % 60;
        let m = usize::arbitrary(g) % 20;
        Reply {
            ints: [(); 5].map(|_| opt(g, i64::arbitrary)),
            warning: opt(g, |g| bytes(g, 40)),
            tracker_id: opt(g, |g| bytes(g, 20)),
            v4: (0..n)
                .map(|_| {
                    SocketAddr::new(
                        IpAddr::V4(Ipv4Addr::from(u32::arbitrary(g))),
                        u16::arbitrary(g),
                    )
                })
                .collect(),
            v6: (0..m)
                .map(|_| {
                    let ip = Ipv6Addr::from(u128::arbitrary(g) | 1 << 120); // never IPv4-mapped
                    SocketAddr::new(IpAddr::V6(ip), u16::arbitrary(g))
                })
                .collect(),
            external_ip: opt(g, |g| {
                if bool::arbitrary(g) {
                    IpAddr::V4(Ipv4Addr::from(u32::arbitrary(g)))
                } else {
                    IpAddr::V6(Ipv6Addr::from(u128::arbitrary(g)))
                }
            }),
        }
    }
}

impl Reply {
    fn view(&self) -> AnnounceSuccess<'_> {
        AnnounceSuccess {
            interval: self.ints[0],
            min_interval: self.ints[1],
            complete: self.ints[2],
            incomplete: self.ints[3],
            downloaded: self.ints[4],
            warning: self.warning.as_deref(),
            tracker_id: self.tracker_id.as_deref(),
            peers: Peers::Compact(CompactPeers::from_addrs(&self.v4)),
            peers6: CompactPeers::from_addrs(&self.v6),
            external_ip: self.external_ip,
            crypto_flags: None,
        }
    }
}

/// bendy's strict decoder accepts only canonical bencode: sorted keys, minimal integers.
fn canonical(body: &[u8]) -> bool {
    use bendy::decoding::{Decoder, Object};
    fn walk(o: Object<'_, '_>) -> Result<(), bendy::decoding::Error> {
        match o {
            Object::List(mut l) => {
                while let Some(item) = l.next_object()? {
                    walk(item)?;
                }
            }
            Object::Dict(mut d) => {
                while let Some((_, v)) = d.next_pair()? {
                    walk(v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut dec = Decoder::new(body).with_max_depth(10);
    matches!(dec.next_object().map(|o| o.map(walk)), Ok(Some(Ok(()))))
        && matches!(dec.next_object(), Ok(None))
}

#[test]
fn announce_success_round_trips_and_is_canonical() {
    fn prop(r: Reply) -> bool {
        let view = r.view();
        let mut body = Vec::new();
        view.encode(&mut body).unwrap();
        let Ok(AnnounceResponse::Success(back)) = AnnounceResponse::decode(&body) else {
            return false;
        };
        let same_peers =
            back.peer_addrs().collect::<Vec<_>>() == [r.v4.clone(), r.v6.clone()].concat();
        back.interval == view.interval
            && back.min_interval == view.min_interval
            && back.complete == view.complete
            && back.incomplete == view.incomplete
            && back.downloaded == view.downloaded
            && back.warning == view.warning
            && back.tracker_id == view.tracker_id
            && back.external_ip == view.external_ip
            && same_peers
            && canonical(&body)
    }
    qc().quickcheck(prop as fn(Reply) -> bool);
}

#[test]
fn failure_round_trips_and_is_canonical() {
    fn prop(
        reason: Vec<u8>,
        retry: Option<u32>,
        never: bool,
        interval: Option<i64>,
        min: Option<i64>,
    ) -> bool {
        let retry_in = if never {
            Some(RetryIn::Never)
        } else {
            retry.filter(|&m| m > 0).map(RetryIn::Minutes)
        };
        let f = Failure {
            reason: &reason,
            retry_in,
            interval,
            min_interval: min,
        };
        let mut body = Vec::new();
        f.encode(&mut body);
        AnnounceResponse::decode(&body) == Ok(AnnounceResponse::Failure(f)) && canonical(&body)
    }
    qc().quickcheck(prop as fn(Vec<u8>, Option<u32>, bool, Option<i64>, Option<i64>) -> bool);
}

#[test]
fn scrape_round_trips_and_is_canonical() {
    fn prop(rows: Vec<(u8, i64, i64, i64, Option<i64>)>, interval: Option<i64>) -> bool {
        let files: Vec<(InfoHash, ScrapeFile)> = rows
            .iter()
            .map(|&(h, c, i, d, dl)| {
                (
                    InfoHash([h; 20]),
                    ScrapeFile {
                        complete: c,
                        incomplete: i,
                        downloaded: d,
                        downloaders: dl,
                    },
                )
            })
            .collect();
        let mut body = Vec::new();
        http::encode_scrape(&files, interval, &mut body);
        let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(&body) else {
            return false;
        };
        let every_hash_found = files
            .iter()
            .all(|(h, _)| s.files.get(h) == files.iter().find(|(x, _)| x == h).map(|(_, f)| *f));
        every_hash_found && s.min_request_interval == interval && canonical(&body)
    }
    qc().quickcheck(prop as fn(Vec<(u8, i64, i64, i64, Option<i64>)>, Option<i64>) -> bool);
}

#[test]
fn announce_query_round_trips_through_the_url() {
    fn prop(
        ids: (Vec<u8>, Vec<u8>),
        port: u16,
        counts: (u64, u64, u64),
        key: u32,
        ev: u8,
        numwant: u32,
        tid: Option<Vec<u8>>,
    ) -> bool {
        let (hash, id) = ids;
        let (up, down, left) = counts;
        let mut h = [0u8; 20];
        let mut p = [0u8; 20];
        h.iter_mut()
            .zip(hash.iter().cycle())
            .for_each(|(d, s)| *d = *s);
        p.iter_mut()
            .zip(id.iter().cycle())
            .for_each(|(d, s)| *d = *s);
        let event = [
            AnnounceEvent::Regular,
            AnnounceEvent::Started,
            AnnounceEvent::Completed,
            AnnounceEvent::Stopped,
            AnnounceEvent::Paused,
        ][usize::from(ev % 5)];
        let params = AnnounceParams {
            info_hash: InfoHash(h),
            peer_id: PeerId(p),
            port,
            uploaded: up,
            downloaded: down,
            left,
            corrupt: None,
            key,
            event,
            numwant,
            no_peer_id: true,
            supportcrypto: false,
            tracker_id: tid.as_deref(),
            requirecrypto: false,
            redundant: None,
            ip: None,
        };
        let tracker = TrackerUrl::parse("http://t.example:8080/announce?passkey=a%20b").unwrap();
        let url = http::announce_url(&tracker, &params).unwrap();
        let q = AnnounceQuery::parse(url.as_bytes()).unwrap();
        q.info_hash == params.info_hash
            && q.peer_id == params.peer_id
            && (q.port, q.uploaded, q.downloaded, q.left) == (port, up, down, left)
            && q.event == event
            && q.numwant == Some(numwant)
            && q.compact == Some(true)
            && q.key == Some(format!("{key:08X}").into_bytes())
            && q.tracker_id == tid
    }
    qc().quickcheck(
        prop as fn((Vec<u8>, Vec<u8>), u16, (u64, u64, u64), u32, u8, u32, Option<Vec<u8>>) -> bool,
    );
}

/// Bytes biased towards bencode's alphabet.
#[derive(Clone, Debug)]
struct Body(Vec<u8>);

impl Arbitrary for Body {
    fn arbitrary(g: &mut Gen) -> Self {
        let alphabet = b"dlie0123456789:-peers";
        let n = usize::arbitrary(g) % 300;
        let mut v: Vec<u8> = (0..n)
            .map(|_| {
                if bool::arbitrary(g) {
                    *g.choose(alphabet).unwrap()
                } else {
                    u8::arbitrary(g)
                }
            })
            .collect();
        if bool::arbitrary(g) {
            v.insert(0, b'd');
        }
        Body(v)
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink().map(Body))
    }
}

#[test]
fn decoding_arbitrary_bodies_never_panics() {
    fn prop(b: Body) -> bool {
        if let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&b.0) {
            let _ = s.peer_addrs().count();
            if let Peers::Dicts(d) = s.peers {
                let _ = d.iter().count();
            }
        }
        if let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(&b.0) {
            let _ = s.files.iter().count();
        }
        let _ = AnnounceQuery::parse(&b.0);
        let _ = http::ScrapeQuery::parse(&b.0);
        true
    }
    qc().tests(20_000).quickcheck(prop as fn(Body) -> bool);
}

fn read_all(
    stream: &[u8],
    cuts: &[usize],
) -> Result<http::HttpResponse<'static>, http::FramingError> {
    let mut reader = ResponseReader::new(1 << 16);
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    points.push(stream.len());
    for end in points {
        if let Some(done) = reader.feed(&stream[start..end])? {
            return Ok(done);
        }
        start = end;
    }
    reader.finish()
}

/// Responses covering every body framing: Content-Length with bytes after it, chunked with an
/// extension and a trailer, HTTP/1.0 delimited by close, an interim 100, and a truncated body.
fn streams() -> [&'static [u8]; 5] {
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nd1:ai1ee....",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nd1:a\r\n4\r\ni1ee\r\n0\r\nX-Trailer: y\r\n\r\n",
        b"HTTP/1.0 302 Found\r\nLocation: http://x/announce?a=%25\r\n\r\nmoved",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
    ]
}

#[test]
fn response_reader_is_split_invariant() {
    fn prop(which: u8, cuts: Vec<usize>) -> bool {
        let stream = streams()[usize::from(which) % 5];
        read_all(stream, &cuts) == read_all(stream, &[])
    }
    qc().tests(3000)
        .quickcheck(prop as fn(u8, Vec<usize>) -> bool);
}

#[test]
fn response_reader_reads_every_framing() {
    let [length, chunked, close, interim, truncated] = streams();
    assert_eq!(&read_all(length, &[]).unwrap().body[..], b"d1:ai1ee");
    assert_eq!(&read_all(chunked, &[]).unwrap().body[..], b"d1:ai1ee");
    let redirect = read_all(close, &[]).unwrap();
    assert_eq!(
        (redirect.status, redirect.location.as_deref()),
        (302, Some("http://x/announce?a=%25"))
    );
    assert_eq!(&redirect.body[..], b"moved");
    assert_eq!(&read_all(interim, &[]).unwrap().body[..], b"abc");
    assert!(matches!(
        read_all(truncated, &[]),
        Err(http::FramingError::Truncated(_))
    ));
}
