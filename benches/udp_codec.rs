//! UDP codec speed, side by side with `aquatic_udp_protocol` in the same run.
//!
//! `cargo bench --bench udp_codec`. Each group has a `bt_tracker` and an `aquatic` entry doing the same
//! work from the same inputs: parsing includes iterating every peer or row into std types.

mod common;

use std::hint::black_box;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroU16;

use aquatic_udp_protocol as aq;
use bt_tracker::udp::{
    self, AnnounceRequest, AnnounceResponse, Reply, ScrapeResponse, ScrapeStats,
};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId};
use common::checksum;
use criterion::{Criterion, criterion_group, criterion_main};

fn announce_reply(peers: usize) -> Vec<u8> {
    let addrs: Vec<SocketAddr> = (0..peers)
        .map(|i| SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 6881 + i as u16)))
        .collect();
    let resp = AnnounceResponse {
        transaction_id: 7,
        interval: 1800,
        leechers: 30,
        seeders: 170,
        peers: CompactPeers::from_addrs(&addrs),
    };
    let mut buf = vec![0u8; resp.encoded_len(AddressFamily::V4)];
    resp.encode(AddressFamily::V4, &mut buf).unwrap();
    buf
}

fn scrape_reply(rows: usize) -> Vec<u8> {
    let stats: Vec<ScrapeStats> = (0..rows as u32)
        .map(|i| ScrapeStats {
            seeders: i,
            completed: 2 * i,
            leechers: 3 * i,
        })
        .collect();
    let resp = ScrapeResponse {
        transaction_id: 7,
        rows: stats[..].into(),
    };
    let mut buf = vec![0u8; resp.encoded_len()];
    resp.encode(&mut buf).unwrap();
    buf
}

fn parse_announce_reply(c: &mut Criterion) {
    let bytes = announce_reply(200);
    let mut g = c.benchmark_group("udp parse announce reply, 200 IPv4 peers, iterate all");
    g.bench_function("bt_tracker", |b| {
        b.iter(|| {
            let Ok(Reply::Announce(a)) = Reply::parse(black_box(&bytes), AddressFamily::V4) else {
                unreachable!()
            };
            let mut acc = a.interval as u64;
            for p in a.peers {
                acc = acc.wrapping_add(checksum(p));
            }
            acc
        })
    });
    g.bench_function("aquatic", |b| {
        b.iter(|| {
            let Ok(aq::Response::AnnounceIpv4(a)) =
                aq::Response::parse_bytes(black_box(&bytes), true)
            else {
                unreachable!()
            };
            let mut acc = a.fixed.announce_interval.0.get() as u64;
            for p in &a.peers {
                let addr = SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(p.ip_address),
                    p.port.0.get(),
                ));
                acc = acc.wrapping_add(checksum(addr));
            }
            acc
        })
    });
    g.finish();
}

fn encode_announce_request(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp encode announce request (98 bytes)");
    let mut buf = [0u8; udp::MAX_REQUEST_LEN];
    g.bench_function("bt_tracker", |b| {
        b.iter(|| {
            let req = AnnounceRequest {
                connection_id: black_box(0xC0FF_EE00_1122_3344),
                transaction_id: black_box(0x0a0b_0c0d),
                info_hash: InfoHash(black_box([0xda; 20])),
                peer_id: PeerId(black_box(*b"-RS0001-abcdefghijkl")),
                downloaded: black_box(0),
                left: black_box(1_000_000),
                uploaded: black_box(0),
                event: AnnounceEvent::Started,
                ip: None,
                key: black_box(0xDEAD_BEEF),
                num_want: black_box(-1),
                port: black_box(6881),
                url_data: None,
            };
            req.encode(&mut buf).unwrap()
        })
    });
    g.bench_function("aquatic", |b| {
        b.iter(|| {
            let req = aq::AnnounceRequest {
                connection_id: aq::ConnectionId::new(black_box(0xC0FF_EE00_1122_3344u64 as i64)),
                action_placeholder: Default::default(),
                transaction_id: aq::TransactionId::new(black_box(0x0a0b_0c0d)),
                info_hash: aq::InfoHash(black_box([0xda; 20])),
                peer_id: aq::PeerId(black_box(*b"-RS0001-abcdefghijkl")),
                bytes_downloaded: aq::NumberOfBytes::new(black_box(0)),
                bytes_left: aq::NumberOfBytes::new(black_box(1_000_000)),
                bytes_uploaded: aq::NumberOfBytes::new(black_box(0)),
                event: aq::AnnounceEvent::Started.into(),
                ip_address: aq::Ipv4AddrBytes([0; 4]),
                key: aq::PeerKey::new(black_box(0xDEAD_BEEFu32 as i32)),
                peers_wanted: aq::NumberOfPeers::new(black_box(-1)),
                port: aq::Port::new(NonZeroU16::new(black_box(6881)).unwrap()),
            };
            let mut out = &mut buf[..];
            req.write_bytes(&mut out).unwrap();
            out.flush().unwrap();
            udp::MAX_REQUEST_LEN - out.len()
        })
    });
    g.finish();
}

fn parse_scrape_reply(c: &mut Criterion) {
    let bytes = scrape_reply(74);
    let mut g = c.benchmark_group("udp parse scrape reply, 74 rows, iterate all");
    g.bench_function("bt_tracker", |b| {
        b.iter(|| {
            let Ok(Reply::Scrape(s)) = Reply::parse(black_box(&bytes), AddressFamily::V4) else {
                unreachable!()
            };
            s.rows.iter().fold(0u64, |acc, r| {
                acc + u64::from(r.seeders + r.completed + r.leechers)
            })
        })
    });
    g.bench_function("aquatic", |b| {
        b.iter(|| {
            let Ok(aq::Response::Scrape(s)) = aq::Response::parse_bytes(black_box(&bytes), true)
            else {
                unreachable!()
            };
            s.torrent_stats.iter().fold(0u64, |acc, r| {
                acc + (r.seeders.0.get() + r.completed.0.get() + r.leechers.0.get()) as u64
            })
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    parse_announce_reply,
    encode_announce_request,
    parse_scrape_reply
);
criterion_main!(benches);
