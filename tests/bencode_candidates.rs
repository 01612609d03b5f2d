//! Which bencode decoder reads tracker replies, checked against what PROTOCOL.md section 2 (lenient
//! mode) requires, so the decision recorded in CHANGELOG and in `src/bencode.rs` can be re-run.
//!
//! Candidates: our decoder (`AnnounceResponse::decode`) and `bt_bencode` 0.8 with borrowed serde
//! decoding, the fastest library measured in `benches/http_codec.rs`. `bt_bencode` is given its best
//! chance: a hand-written visitor that keeps the first occurrence of a key and skips unknown values
//! (serde's derive would reject duplicate keys, see below), driven through `Deserializer` directly
//! so that bytes after the dictionary are not an error.
//!
//! | requirement (PROTOCOL.md section 2)           | ours | bt_bencode 0.8                      |
//! |-----------------------------------------------|------|-------------------------------------|
//! | unsorted keys                                 | yes  | yes                                 |
//! | duplicate keys, first wins                    | yes  | only with a hand-written visitor    |
//! | integers with leading zeros                   | yes  | yes                                 |
//! | bytes after the top-level value ignored       | yes  | only without `from_slice`/`end()`   |
//! | structural damage is an error                 | yes  | yes                                 |
//! | integer outside i64 is an error               | yes  | yes (and rejects i64::MIN as well)  |
//! | depth capped (100)                            | yes  | **no cap**                          |
//! | no recursion: a megabyte of `l` is an error   | yes  | **stack overflow, process aborts**  |
//! | decoding and iterating allocates nothing      | yes  | yes                                 |
//! | no panic on arbitrary bytes                   | yes  | yes (within the stack, see above)   |
//!
//! Tests named `bt_bencode_...` that pin a shortcoming document the library as it is today: if one of
//! them starts failing after an upgrade, the library changed and the decision is worth revisiting.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::Command;

use bt_tracker::http::AnnounceResponse;
use bt_tracker::http::MAX_DEPTH;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// What a test compares: the fields both decoders read, peers as addresses.
#[derive(Debug, PartialEq)]
struct Seen {
    interval: Option<i64>,
    complete: Option<i64>,
    peers: Vec<SocketAddr>,
}

fn ours(body: &[u8]) -> Result<Seen, String> {
    match AnnounceResponse::decode(body) {
        Ok(AnnounceResponse::Success(s)) => Ok(Seen {
            interval: s.interval,
            complete: s.complete,
            peers: s.peer_addrs().collect(),
        }),
        Ok(AnnounceResponse::Failure(f)) => Err(format!("failure reply {:?}", f.reason_text())),
        Err(e) => Err(e.to_string()),
    }
}

/// The `bt_bencode` candidate's view of a reply, borrowing `peers` from the body.
#[derive(Debug, Default)]
struct Borrowed<'a> {
    interval: Option<i64>,
    complete: Option<i64>,
    peers: Option<&'a [u8]>,
}

impl<'de> Deserialize<'de> for Borrowed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ReplyVisitor;
        impl<'de> Visitor<'de> for ReplyVisitor {
            type Value = Borrowed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tracker reply dictionary")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Borrowed<'de>, A::Error> {
                let mut r = Borrowed::default();
                while let Some(key) = map.next_key::<&'de [u8]>()? {
                    match key {
                        b"interval" if r.interval.is_none() => r.interval = Some(map.next_value()?),
                        b"complete" if r.complete.is_none() => r.complete = Some(map.next_value()?),
                        b"peers" if r.peers.is_none() => r.peers = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(ReplyVisitor)
    }
}

fn bt_bencode_borrowed(body: &[u8]) -> Result<Borrowed<'_>, bt_bencode::Error> {
    // Not `bt_bencode::from_slice`: it calls `end()`, which rejects bytes after the dictionary.
    let mut de = bt_bencode::Deserializer::from_slice(body);
    Borrowed::deserialize(&mut de)
}

fn compact_v4(e: &[u8]) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(e[0], e[1], e[2], e[3]),
        u16::from_be_bytes([e[4], e[5]]),
    ))
}

fn theirs(body: &[u8]) -> Result<Seen, String> {
    let r = bt_bencode_borrowed(body).map_err(|e| e.to_string())?;
    Ok(Seen {
        interval: r.interval,
        complete: r.complete,
        peers: r
            .peers
            .unwrap_or(&[])
            .chunks_exact(6)
            .map(compact_v4)
            .collect(),
    })
}

const TWO_PEERS: &[u8] = b"\x0a\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x1a\xe2";

fn two_peers() -> Vec<SocketAddr> {
    vec![
        "10.0.0.1:6881".parse().unwrap(),
        "10.0.0.2:6882".parse().unwrap(),
    ]
}

fn body(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn expected(interval: i64, complete: i64) -> Result<Seen, String> {
    Ok(Seen {
        interval: Some(interval),
        complete: Some(complete),
        peers: two_peers(),
    })
}

#[test]
fn unsorted_keys_are_read_by_both() {
    // Ocelot and others write keys in their own order.
    let b = body(&[
        b"d5:peers12:",
        TWO_PEERS,
        b"8:intervali1800e8:completei170ee",
    ]);
    assert_eq!(ours(&b), expected(1800, 170));
    assert_eq!(theirs(&b), expected(1800, 170));
}

#[test]
fn duplicate_keys_keep_the_first_occurrence_in_both() {
    let b = body(&[
        b"d8:completei170e8:intervali1800e8:intervali60e5:peers12:",
        TWO_PEERS,
        b"8:completei1ee",
    ]);
    assert_eq!(ours(&b), expected(1800, 170));
    assert_eq!(theirs(&b), expected(1800, 170));
}

#[test]
fn bt_bencode_with_derived_structs_rejects_duplicate_keys() {
    // Why the candidate above uses a hand-written visitor: serde's derive errors on a repeated field.
    #[derive(Deserialize)]
    struct Derived<'a> {
        #[serde(rename = "interval")]
        _interval: i64,
        #[serde(borrow, rename = "peers")]
        _peers: &'a [u8],
    }
    let b = b"d8:intervali1800e8:intervali60e5:peers0:e";
    let mut de = bt_bencode::Deserializer::from_slice(b);
    let err = Derived::deserialize(&mut de).err().expect("rejected");
    assert!(err.to_string().contains("duplicate field"), "{err}");
}

#[test]
fn leading_zeros_in_integers_are_read_by_both() {
    let b = body(&[
        b"d8:completei00170e8:intervali0001800e5:peers12:",
        TWO_PEERS,
        b"e",
    ]);
    assert_eq!(ours(&b), expected(1800, 170));
    assert_eq!(theirs(&b), expected(1800, 170));
}

#[test]
fn leading_zeros_in_string_lengths_are_read_by_both() {
    // Not required by section 2 (only integers are named), recorded so a change is noticed.
    let b = body(&[
        b"d8:completei170e8:intervali1800e5:peers012:",
        TWO_PEERS,
        b"e",
    ]);
    assert_eq!(ours(&b), expected(1800, 170));
    assert_eq!(theirs(&b), expected(1800, 170));
}

#[test]
fn bytes_after_the_top_level_dict_are_ignored_by_both() {
    // aquatic_http ends its body with CRLF after the dictionary; misconfigured servers append HTML.
    for tail in [&b"\r\n"[..], b"<html>", b"e", b"d1:xi1ee"] {
        let b = body(&[
            b"d8:completei170e8:intervali1800e5:peers12:",
            TWO_PEERS,
            b"e",
            tail,
        ]);
        assert_eq!(ours(&b), expected(1800, 170), "tail {tail:?}");
        assert_eq!(theirs(&b), expected(1800, 170), "tail {tail:?}");
    }
}

#[test]
fn bt_bencode_from_slice_rejects_the_crlf_aquatic_http_sends() {
    // So a client using bt_bencode must build the `Deserializer` itself and skip `end()`.
    let b = body(&[b"d8:intervali1800e5:peers12:", TWO_PEERS, b"e\r\n"]);
    let err = bt_bencode::from_slice::<Borrowed<'_>>(&b).expect_err("rejected");
    assert!(err.to_string().contains("trailing data"), "{err}");
}

#[test]
fn structural_damage_is_an_error_in_both() {
    let damaged: &[&[u8]] = &[
        b"d8:intervali1800e5:peers99:abce",  // a length past the end
        b"d8:intervali18x0ee",               // a non-digit inside an integer
        b"d8:intervali1800",                 // a missing `e`
        b"d8:intervali1800e5:peers0:",       // the dictionary never closes
        b"di1ei2ee",                         // a key that is not a string
        b"d8:intervale",                     // a key without a value
        b"d8:intervalie5:peers0:e",          // an integer without digits
        b"d8:intervali1800e5:peersl1:ae",    // a list that never closes
        b"d8:intervali1800e5:peers1x:ae",    // a non-digit inside a length
        b"d8:intervali1800e5:peers-1:ae",    // a negative length
        b"d8:intervali1800e1:xq5:peers0:ee", // a byte that starts no value
    ];
    for b in damaged {
        assert!(
            ours(b).is_err(),
            "ours accepted {:?}",
            String::from_utf8_lossy(b)
        );
        assert!(
            theirs(b).is_err(),
            "bt_bencode accepted {:?}",
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn integers_outside_i64_are_an_error_in_both() {
    for n in [
        &b"9223372036854775808"[..],
        b"-9223372036854775809",
        b"18446744073709551616",
        b"99999999999999999999999999",
    ] {
        let b = body(&[b"d8:intervali", n, b"e5:peers0:e"]);
        assert!(ours(&b).is_err(), "ours read {n:?}");
        assert!(theirs(&b).is_err(), "bt_bencode read {n:?}");
    }
    let max = b"d8:intervali9223372036854775807e5:peers0:e";
    assert_eq!(ours(max).unwrap().interval, Some(i64::MAX));
    assert_eq!(theirs(max).unwrap().interval, Some(i64::MAX));
}

#[test]
fn bt_bencode_rejects_i64_min_which_ours_reads() {
    // Harmless for replies (no tracker sends it), but an error where a value is in range.
    let b = b"d8:intervali-9223372036854775808e5:peers0:e";
    assert_eq!(ours(b).unwrap().interval, Some(i64::MIN));
    assert!(theirs(b).is_err());
}

fn nested_in_unknown_key(depth: usize) -> Vec<u8> {
    body(&[
        b"d8:completei170e8:intervali1800e7:unknown",
        &vec![b'l'; depth],
        &vec![b'e'; depth],
        b"5:peers12:",
        TWO_PEERS,
        b"e",
    ])
}

#[test]
fn our_decoder_caps_nesting_at_max_depth() {
    // The top-level dictionary is one level, so an unknown value may nest MAX_DEPTH - 1 lists.
    assert_eq!(
        ours(&nested_in_unknown_key(MAX_DEPTH - 1)),
        expected(1800, 170)
    );
    let err = ours(&nested_in_unknown_key(MAX_DEPTH)).unwrap_err();
    assert!(err.contains("nest deeper than 100"), "{err}");
}

#[test]
fn bt_bencode_has_no_depth_cap() {
    // 1,000 levels is ten times libtorrent's cap and fits the test thread's stack.
    assert_eq!(theirs(&nested_in_unknown_key(1_000)), expected(1800, 170));
}

fn megabyte_of_l(key: &[u8]) -> Vec<u8> {
    body(&[b"d8:intervali1800e", key, &vec![b'l'; 1 << 20]])
}

#[test]
fn a_megabyte_of_l_is_an_error_for_our_decoder_on_the_test_thread() {
    for key in [&b"7:unknown"[..], b"5:peers", b"8:complete"] {
        let err = ours(&megabyte_of_l(key)).unwrap_err();
        assert!(err.contains("nest deeper than 100"), "{err}");
    }
    let err = ours(&vec![b'd'; 1 << 20]).unwrap_err();
    assert!(
        err.contains("not a string") || err.contains("deeper"),
        "{err}"
    );
}

/// Set in the child process that runs one of bt_bencode's deep inputs.
const CHILD: &str = "BENCODE_CANDIDATES_DEEP_CHILD";

#[test]
fn bt_bencode_overflows_the_stack_on_a_megabyte_of_l() {
    // A stack overflow aborts the whole process, so the input runs in a child: this test binary,
    // restarted on this one test with the key to use in the environment.
    if let Ok(key) = std::env::var(CHILD) {
        let result = bt_bencode_borrowed(&megabyte_of_l(key.as_bytes())).map(|r| r.interval);
        println!("bt_bencode returned {result:?}");
        return;
    }
    // An unknown key is skipped through serde's `IgnoredAny`, `peers` through `deserialize_bytes`:
    // two different recursive paths.
    for key in ["7:unknown", "5:peers"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "bt_bencode_overflows_the_stack_on_a_megabyte_of_l",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "key {key}: the child finished: {out:?}"
        );
        assert!(
            stderr.contains("has overflowed its stack"),
            "key {key}: {stderr}"
        );
    }
}

fn reply_with_200_peers() -> Vec<u8> {
    let mut b =
        b"d8:completei170e10:incompletei30e8:intervali1800e12:min intervali900e5:peers1200:"
            .to_vec();
    for i in 0..200u32 {
        b.extend_from_slice(&[10, 1, (i >> 8) as u8, i as u8, 0x1a, 0xe1]);
    }
    b.extend_from_slice(b"e\r\n");
    b
}

#[test]
fn decoding_and_iterating_200_peers_allocates_nothing_in_both() {
    let b = reply_with_200_peers();
    let mut ports = 0u64;
    let info = allocation_counter::measure(|| {
        if let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&b) {
            ports += s.peer_addrs().map(|p| u64::from(p.port())).sum::<u64>();
        }
    });
    assert_eq!((ports, info.count_total), (200 * 6881, 0), "ours: {info:?}");
    let mut ports = 0u64;
    let info = allocation_counter::measure(|| {
        if let Ok(r) = bt_bencode_borrowed(&b) {
            let peers = r.peers.unwrap_or(&[]).chunks_exact(6).map(compact_v4);
            ports += peers.map(|p| u64::from(p.port())).sum::<u64>();
        }
    });
    assert_eq!(
        (ports, info.count_total),
        (200 * 6881, 0),
        "bt_bencode: {info:?}"
    );
}

/// A small deterministic generator (xorshift64*), so a failing input can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bencode-shaped noise: mostly the bytes bencode is made of, so inputs get deep into the grammar,
/// or a valid reply with a few bytes changed, cut or repeated.
fn arbitrary_input(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"dlie0123456789:-0123456789:eedd";
    if rng.below(2) == 0 {
        let len = rng.below(300);
        (0..len)
            .map(|_| match rng.below(10) {
                0 => rng.next() as u8,
                _ => ALPHABET[rng.below(ALPHABET.len())],
            })
            .collect()
    } else {
        let mut b = valid.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(b.len());
            match rng.below(4) {
                0 => b[at] = ALPHABET[rng.below(ALPHABET.len())],
                1 => b[at] = rng.next() as u8,
                2 => b.truncate(at),
                _ => {
                    let piece = b[at..(at + rng.below(16)).min(b.len())].to_vec();
                    b.splice(at..at, piece);
                }
            }
            if b.is_empty() {
                break;
            }
        }
        b
    }
}

#[test]
fn arbitrary_bytes_never_panic_either_decoder() {
    let valid = body(&[
        b"d8:completei170e8:intervali1800e7:unknownld1:ai-1eee5:peers12:",
        TWO_PEERS,
        b"e",
    ]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ours_ok, mut theirs_ok) = (0, 0);
    for i in 0..200_000 {
        let input = arbitrary_input(&mut rng, &valid);
        let a = std::panic::catch_unwind(|| ours(&input).is_ok());
        let b = std::panic::catch_unwind(|| theirs(&input).is_ok());
        assert!(a.is_ok(), "ours panicked on input {i}: {input:?}");
        assert!(b.is_ok(), "bt_bencode panicked on input {i}: {input:?}");
        ours_ok += usize::from(a.unwrap());
        theirs_ok += usize::from(b.unwrap());
    }
    // The inputs reach past the first bytes: a good share still decodes.
    assert!(
        ours_ok > 10_000 && theirs_ok > 10_000,
        "{ours_ok} {theirs_ok}"
    );
}
