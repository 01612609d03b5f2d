//! Peer iterators have a fast `fold` beside `next` (one loop per part of the list): both must give
//! the same peers in the same order, for every kind of list and reply.

use std::net::SocketAddr;

use bt_tracker::http::AnnounceResponse;
use bt_tracker::{AddressFamily, CompactPeers};

fn by_next<I: Iterator<Item = SocketAddr>>(mut it: I) -> Vec<SocketAddr> {
    std::iter::from_fn(|| it.next()).collect()
}

fn by_fold<I: Iterator<Item = SocketAddr>>(it: I) -> Vec<SocketAddr> {
    it.fold(Vec::new(), |mut v, p| {
        v.push(p);
        v
    })
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn compact_lists_fold_and_next_agree() {
    let v4 = [10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0x1a, 0xe2, 99]; // ragged tail
    let mut v6 = [0u8; 36];
    v6[15] = 1;
    v6[16..18].copy_from_slice(&[0x1a, 0xe1]);
    v6[28..36].copy_from_slice(&[0xff, 0xff, 1, 2, 3, 4, 0, 80]); // an IPv4-mapped entry
    let addrs = [
        addr("1.2.3.4:5"),
        addr("[::ffff:5.6.7.8]:9"),
        addr("[2001:db8::1]:10"),
    ];
    let lists = [
        CompactPeers::new(&v4, AddressFamily::V4),
        CompactPeers::new(&v6, AddressFamily::V6),
        CompactPeers::from_addrs(&addrs),
        CompactPeers::empty(),
    ];
    let expected: [&[SocketAddr]; 4] = [
        &[addr("10.0.0.1:6881"), addr("10.0.0.2:6882")],
        &[addr("[::1]:6881"), addr("1.2.3.4:80")],
        &[
            addr("1.2.3.4:5"),
            addr("5.6.7.8:9"),
            addr("[2001:db8::1]:10"),
        ],
        &[],
    ];
    for (list, expected) in lists.iter().zip(expected) {
        assert_eq!(by_next(list.iter()), expected);
        assert_eq!(by_fold(list.iter()), expected);
        // A fold after some `next` calls continues where they stopped.
        let mut it = list.iter();
        let first = it.next();
        let rest = by_fold(it);
        assert_eq!(first.into_iter().chain(rest).collect::<Vec<_>>(), expected);
    }
}

#[test]
fn long_ipv4_lists_fold_and_next_agree_at_every_length() {
    // The IPv4 fold takes several entries per step: every length around a step must come out whole.
    for n in 0..=13u8 {
        let bytes: Vec<u8> = (1..=n).flat_map(|i| [10, 0, 0, i, 0, i]).collect();
        let list = CompactPeers::new(&bytes, AddressFamily::V4);
        let expected: Vec<SocketAddr> = (1..=n)
            .map(|i| SocketAddr::from(([10, 0, 0, i], u16::from(i))))
            .collect();
        assert_eq!(by_next(list.iter()), expected, "{n} entries");
        assert_eq!(by_fold(list.iter()), expected, "{n} entries");
    }
}

#[test]
fn reply_peer_addrs_fold_and_next_agree() {
    let mut peers6 = [0u8; 18];
    peers6[15] = 1;
    peers6[16..18].copy_from_slice(&[0, 1]);
    let compact = [
        &b"d8:intervali1800e5:peers12:\x0a\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x1a\xe26:peers618:"
            [..],
        &peers6,
        b"e",
    ]
    .concat();
    let dicts = [
        &b"d8:intervali1800e5:peersld2:ip8:10.0.0.14:porti6881eed2:ip4:host4:porti1eei5ed2:ip3:::14:porti2eee6:peers618:"[..],
        &peers6,
        b"e",
    ]
    .concat();
    let cases = [
        (
            compact,
            vec![
                addr("10.0.0.1:6881"),
                addr("10.0.0.2:6882"),
                addr("[::1]:1"),
            ],
        ),
        (
            dicts,
            vec![addr("10.0.0.1:6881"), addr("[::1]:2"), addr("[::1]:1")],
        ),
    ];
    for (body, expected) in cases {
        let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) else {
            panic!("{:?}", String::from_utf8_lossy(&body))
        };
        assert_eq!(by_next(s.peer_addrs()), expected);
        assert_eq!(by_fold(s.peer_addrs()), expected);
        let mut it = s.peer_addrs();
        let first = it.next();
        let rest = by_fold(it);
        assert_eq!(first.into_iter().chain(rest).collect::<Vec<_>>(), expected);
    }
}
