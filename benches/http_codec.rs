//! HTTP reply decoding, side by side in the same run with `serde_bencode` (the usual Rust approach:
//! decode the body into an owning struct), `bt_bencode` (serde, borrowing the `peers` string from the
//! body) and bendy's streaming `Decoder`. `cargo bench --bench http_codec`. Every entry decodes the
//! same body and visits every peer as a `SocketAddr` through the same consumer (`common::checksum`).
//! Which of these decoders meets PROTOCOL.md section 2 is checked in `tests/bencode_candidates.rs`.

mod common;

use std::hint::black_box;
use std::net::{IpAddr, SocketAddr};

use bt_tracker::http::{AnnounceResponse, PeerAddr, Peers};
use common::{checksum, compact_v4};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;

#[derive(Deserialize)]
struct CompactReply {
    interval: i64,
    #[serde(rename = "min interval")]
    _min_interval: Option<i64>,
    #[serde(rename = "complete")]
    _complete: Option<i64>,
    #[serde(rename = "incomplete")]
    _incomplete: Option<i64>,
    peers: serde_bytes::ByteBuf,
}

/// The same reply for `bt_bencode`, with `peers` borrowed from the body instead of copied.
#[derive(Deserialize)]
struct BorrowedCompactReply<'a> {
    interval: i64,
    #[serde(rename = "min interval")]
    _min_interval: Option<i64>,
    #[serde(rename = "complete")]
    _complete: Option<i64>,
    #[serde(rename = "incomplete")]
    _incomplete: Option<i64>,
    #[serde(borrow)]
    peers: &'a [u8],
}

#[derive(Deserialize)]
struct DictPeer {
    ip: String,
    port: i64,
    #[serde(rename = "peer id")]
    _peer_id: Option<serde_bytes::ByteBuf>,
}

#[derive(Deserialize)]
struct DictReply {
    interval: i64,
    peers: Vec<DictPeer>,
}

fn compact_body(n: u32) -> Vec<u8> {
    let mut body = format!(
        "d8:completei170e10:incompletei30e8:intervali1800e12:min intervali900e5:peers{}:",
        6 * n
    )
    .into_bytes();
    for i in 0..n {
        body.extend_from_slice(&[10, 1, (i >> 8) as u8, i as u8, 0x1a, 0xe1]);
    }
    body.push(b'e');
    body
}

fn dict_body(n: u32) -> Vec<u8> {
    let mut body = b"d8:intervali1800e5:peersl".to_vec();
    for i in 0..n {
        let ip = format!("10.1.{}.{}", i >> 8, i & 255);
        body.extend_from_slice(
            format!(
                "d2:ip{}:{ip}7:peer id20:-XX0001-abcdefghijkl4:porti{}ee",
                ip.len(),
                6881 + i
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(b"ee");
    body
}

fn compact(c: &mut Criterion) {
    let body = compact_body(200);
    let mut g = c.benchmark_group("http decode compact announce reply, 200 peers, iterate all");
    g.bench_function("bt_tracker", |b| {
        b.iter(|| {
            let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(black_box(&body))
            else {
                unreachable!()
            };
            s.peer_addrs()
                .fold(s.interval.unwrap_or(0) as u64, |acc, p| {
                    acc.wrapping_add(checksum(p))
                })
        })
    });
    g.bench_function("serde_bencode", |b| {
        b.iter(|| {
            let r: CompactReply = serde_bencode::from_bytes(black_box(&body)).unwrap();
            r.peers.chunks_exact(6).fold(r.interval as u64, |acc, e| {
                acc.wrapping_add(checksum(compact_v4(e)))
            })
        })
    });
    g.bench_function("bt_bencode", |b| {
        b.iter(|| {
            // No `end()`: bytes after the dictionary are ignored, as a tracker client must.
            let mut de = bt_bencode::Deserializer::from_slice(black_box(&body));
            let r = BorrowedCompactReply::deserialize(&mut de).unwrap();
            r.peers.chunks_exact(6).fold(r.interval as u64, |acc, e| {
                acc.wrapping_add(checksum(compact_v4(e)))
            })
        })
    });
    g.bench_function("bendy_streaming", |b| {
        b.iter(|| {
            let mut decoder = bendy::decoding::Decoder::new(black_box(&body));
            let Ok(Some(bendy::decoding::Object::Dict(mut dict))) = decoder.next_object() else {
                unreachable!()
            };
            let (mut interval, mut peers) = (0u64, &[][..]);
            while let Some((key, value)) = dict.next_pair().unwrap() {
                match (key, value) {
                    (b"interval", bendy::decoding::Object::Integer(n)) => {
                        interval = n.parse().unwrap()
                    }
                    (b"peers", bendy::decoding::Object::Bytes(b)) => peers = b,
                    _ => {}
                }
            }
            peers
                .chunks_exact(6)
                .fold(interval, |acc, e| acc.wrapping_add(checksum(compact_v4(e))))
        })
    });
    g.finish();
}

fn dict_form(c: &mut Criterion) {
    let body = dict_body(50);
    let mut g = c.benchmark_group("http decode dict-form announce reply, 50 peers, iterate all");
    g.bench_function("bt_tracker", |b| {
        b.iter(|| {
            let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(black_box(&body))
            else {
                unreachable!()
            };
            let Peers::Dicts(d) = s.peers else {
                unreachable!()
            };
            d.iter().fold(0u64, |acc, p| match p.addr {
                PeerAddr::Ip(a) => acc.wrapping_add(checksum(a)),
                PeerAddr::Host { port, .. } => acc.wrapping_add(u64::from(port)),
            })
        })
    });
    g.bench_function("serde_bencode", |b| {
        b.iter(|| {
            let r: DictReply = serde_bencode::from_bytes(black_box(&body)).unwrap();
            r.peers.iter().fold(r.interval as u64, |acc, p| {
                let ip: IpAddr = p.ip.parse().unwrap();
                acc.wrapping_add(checksum(SocketAddr::new(ip, p.port as u16)))
            })
        })
    });
    g.finish();
}

criterion_group!(benches, compact, dict_form);
criterion_main!(benches);
