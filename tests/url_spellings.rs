//! Two spellings of one tracker are one tracker: `TrackerUrl` writes every spelling in one
//! canonical form, so equality, hashing, `as_str`, the endpoint table and duplicate removal agree.
//! Spellings that name different trackers (or that a tracker may read differently) stay apart.

mod common;

use common::start as test_now;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use bt_tracker::announce::{Announce, Config, Progress, Torrent};
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn url(text: &str) -> TrackerUrl {
    TrackerUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn hash(u: &TrackerUrl) -> u64 {
    let mut h = DefaultHasher::new();
    u.hash(&mut h);
    h.finish()
}

/// Each row: spellings of one tracker, and the canonical text they all give.
const SAME: &[(&[&str], &str)] = &[
    // The default port of http and https (RFC 3986 section 6.2.3).
    (
        &[
            "http://10.0.0.1/announce",
            "http://10.0.0.1:80/announce",
            "http://10.0.0.1:080/announce",
        ],
        "http://10.0.0.1/announce",
    ),
    (
        &[
            "https://t.example/announce",
            "https://t.example:443/announce",
        ],
        "https://t.example/announce",
    ),
    // Scheme and host case.
    (
        &[
            "HTTP://T.Example/announce",
            "http://t.example/announce",
            "Http://t.EXAMPLE:80/announce",
        ],
        "http://t.example/announce",
    ),
    (
        &[
            "UDP://H.example:6969/announce",
            "udp://h.example:6969/announce",
        ],
        "udp://h.example:6969/announce",
    ),
    // UDP: no path and `/` both send no BEP 41 URL data.
    (
        &[
            "udp://h.example:6969",
            "udp://h.example:6969/",
            "udp://h.example:06969/#x",
        ],
        "udp://h.example:6969",
    ),
    // UDP: a query without a path is sent as `/?...` (libtorrent prepends the `/`).
    (
        &["udp://h.example:6969?k=1", "udp://h.example:6969/?k=1"],
        "udp://h.example:6969/?k=1",
    ),
    // HTTP: an empty path is the request target `/`.
    (
        &[
            "http://t.example",
            "http://t.example/",
            "http://t.example:80",
        ],
        "http://t.example/",
    ),
    (
        &["http://t.example?k=1", "http://t.example/?k=1"],
        "http://t.example/?k=1",
    ),
    // A final root dot names the same host.
    (
        &[
            "udp://h.example.:6969/announce",
            "udp://h.example:6969/announce",
        ],
        "udp://h.example:6969/announce",
    ),
    (
        &["https://T.example./a", "https://t.example/a"],
        "https://t.example/a",
    ),
    // IPv6 literals: case, zero compression, leading zeros.
    (
        &[
            "udp://[2001:db8::1]:6969",
            "udp://[2001:DB8:0:0:0:0:0:1]:6969",
            "udp://[2001:0db8:0::0001]:6969/",
        ],
        "udp://[2001:db8::1]:6969",
    ),
    // An IPv4-mapped IPv6 literal is the IPv4 host.
    (
        &[
            "udp://[::ffff:1.2.3.4]:6969",
            "udp://[::FFFF:102:304]:6969",
            "udp://1.2.3.4:6969",
        ],
        "udp://1.2.3.4:6969",
    ),
    (
        &[
            "http://[::ffff:1.2.3.4]:80/announce",
            "http://1.2.3.4/announce",
        ],
        "http://1.2.3.4/announce",
    ),
    // WHATWG's IPv4 forms.
    (
        &["udp://0x7f.1:6969", "udp://127.0.0.1:6969"],
        "udp://127.0.0.1:6969",
    ),
    // Percent-escape case (RFC 3986 section 6.2.2.1), in path and query.
    (
        &[
            "http://t.example/a%2fb?pk=%c3%bc",
            "http://t.example/a%2Fb?pk=%C3%BC",
            "http://t.example/a%2Fb?pk=ü",
        ],
        "http://t.example/a%2Fb?pk=%C3%BC",
    ),
    (
        &[
            "udp://h.example:6969/announce?k=%ab",
            "udp://h.example:6969/announce?k=%AB",
        ],
        "udp://h.example:6969/announce?k=%AB",
    ),
    // An empty userinfo or password.
    (
        &[
            "http://@t.example/a",
            "http://:@t.example/a",
            "http://t.example/a",
        ],
        "http://t.example/a",
    ),
    (
        &["http://u:@t.example/a", "http://u@t.example/a"],
        "http://u@t.example/a",
    ),
    (
        &["udp://@h.example:6969", "udp://:@h.example:6969/"],
        "udp://h.example:6969",
    ),
    // The password is all after the first `:`: a password of colons is a password, and the
    // canonical text keeps it (quickcheck found `http://::@[::1]` losing it on a second parse).
    (&["http://::@[::1]"], "http://::@[::1]/"),
    (&["http://u::@t.example/a"], "http://u::@t.example/a"),
    (&["http://:p@t.example/a"], "http://:p@t.example/a"),
];

/// Pairs that name different trackers, or that a tracker may read differently: never merged.
const DIFFERENT: &[(&str, &str)] = &[
    ("http://t.example/announce", "https://t.example/announce"),
    (
        "http://t.example:8080/announce",
        "http://t.example/announce",
    ),
    (
        "https://t.example:80/announce",
        "https://t.example/announce",
    ),
    ("udp://h.example:6969/announce", "udp://h.example:6969"),
    (
        "udp://h.example:6969/announce",
        "udp://h.example:6970/announce",
    ),
    ("udp://h.example:6969", "http://h.example:6969/"),
    // The path's case and which bytes are escaped are the tracker's business.
    ("http://t.example/Announce", "http://t.example/announce"),
    ("http://t.example/a?pk=%41", "http://t.example/a?pk=A"),
    ("http://t.example/a?x=1&y=2", "http://t.example/a?y=2&x=1"),
    ("http://t.example/a", "http://t.example/a?"),
    // An IPv4-compatible address (::1.2.3.4) is an IPv6 address, not 1.2.3.4.
    ("udp://[::1.2.3.4]:6969", "udp://1.2.3.4:6969"),
    // Different credentials.
    ("http://u:p@t.example/a", "http://t.example/a"),
    ("http://::@t.example/a", "http://t.example/a"),
    ("http://u::@t.example/a", "http://u@t.example/a"),
    ("http://u:p@t.example/a", "http://u:q@t.example/a"),
];

#[test]
fn every_spelling_of_one_tracker_gives_one_canonical_text_and_compares_equal() {
    for (spellings, canonical) in SAME {
        let first = url(spellings[0]);
        for text in *spellings {
            let u = url(text);
            assert_eq!(u.as_str(), *canonical, "{text}");
            assert_eq!(u, first, "{text} vs {}", spellings[0]);
            assert_eq!(hash(&u), hash(&first), "{text}");
            // The canonical text is a fixed point.
            assert_eq!(url(u.as_str()), u, "{text}");
        }
    }
}

#[test]
fn spellings_of_different_trackers_stay_apart() {
    for (a, b) in DIFFERENT {
        assert_ne!(url(a), url(b), "{a} vs {b}");
        assert_ne!(url(a).as_str(), url(b).as_str(), "{a} vs {b}");
    }
}

#[test]
fn an_ipv4_mapped_literal_keeps_one_socket_address_and_host() {
    let u = url("udp://[::ffff:10.0.0.1]:6969/announce");
    assert_eq!(u.host(), "10.0.0.1");
    assert_eq!(u.socket_addr(), Some("10.0.0.1:6969".parse().unwrap()));
}

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([1; 20]),
        peer_id: PeerId(*b"-BT0100-spellings-01"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

#[test]
fn adding_another_spelling_of_a_listed_tracker_gives_the_listed_one() {
    let tiers = vec![
        vec![url("http://10.0.0.1/announce")],
        vec![url("udp://10.0.0.2:6969")],
    ];
    let mut rng = ChaCha12Rng::seed_from_u64(2);
    let now = test_now();
    let mut a = Announce::new(Config::default(), torrent(), tiers, &mut rng, now).unwrap();
    let listed: Vec<_> = a.trackers().map(|s| s.id).collect();
    for (text, index) in [
        ("http://10.0.0.1:80/announce", 0),
        ("HTTP://[::ffff:10.0.0.1]/announce", 0),
        ("udp://10.0.0.2:6969/", 1),
    ] {
        assert_eq!(
            a.add_tracker(now, url(text), 5),
            Ok(listed[index]),
            "{text}"
        );
    }
    assert_eq!(a.trackers().count(), 2);
}

#[test]
fn duplicate_spellings_in_a_tracker_list_become_one_tracker() {
    let spelled = |texts: &[&str]| texts.iter().map(|t| url(t)).collect::<Vec<_>>();
    let tiers = vec![
        spelled(&["udp://10.0.0.1:6969", "udp://10.0.0.1:6969/"]),
        spelled(&["udp://10.0.0.1:6969"]),
        spelled(&[
            "http://10.0.0.1/announce",
            "http://10.0.0.1:80/announce",
            "HTTP://10.0.0.1/announce",
            "http://[::ffff:10.0.0.1]/announce",
        ]),
        spelled(&["udp://t.example.:6969/a%2f", "udp://T.EXAMPLE:6969/a%2F"]),
    ];
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let a = Announce::new(Config::default(), torrent(), tiers, &mut rng, test_now()).unwrap();
    // The second tier held only a duplicate of the first: it is dropped, as an empty tier is.
    let mut urls: Vec<_> = a
        .trackers()
        .map(|s| (s.tier, s.url.as_str().to_owned()))
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            (0, "udp://10.0.0.1:6969".to_owned()),
            (1, "http://10.0.0.1/announce".to_owned()),
            (2, "udp://t.example:6969/a%2F".to_owned()),
        ]
    );
}
