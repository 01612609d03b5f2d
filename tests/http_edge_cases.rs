//! HTTP codec edge cases: hostile bodies, sloppy trackers, caps and content encodings.

use std::io::Write;

use bt_tracker::TrackerUrl;
use bt_tracker::http::{
    self, AnnounceResponse, BodyError, DecodeErrorKind, FramingError, PeerAddr, Peers,
    ResponseReader, RetryIn, ScrapeResponse, UrlError,
};

fn kind(body: &[u8]) -> DecodeErrorKind {
    match AnnounceResponse::decode(body) {
        Err(BodyError::Bencode(e)) => e.kind,
        other => panic!("expected a bencode error, got {other:?}"),
    }
}

#[test]
fn hostile_bodies_are_errors_not_panics() {
    let megabyte_of_l = vec![b'l'; 1 << 20];
    assert!(matches!(
        AnnounceResponse::decode(&megabyte_of_l),
        Err(BodyError::NotADictionary { .. })
    ));
    let mut deep = b"d1:a".to_vec();
    deep.extend(vec![b'l'; 1 << 20]);
    assert_eq!(kind(&deep), DecodeErrorKind::TooDeep);
    assert_eq!(
        kind(b"d8:intervali99999999999999999999ee"),
        DecodeErrorKind::IntegerOverflow
    );
    assert_eq!(kind(b"d5:peers999:abce"), DecodeErrorKind::LengthPastEnd);
    assert_eq!(kind(b"d8:interval"), DecodeErrorKind::UnexpectedEnd);
}

#[test]
fn non_dictionary_tops_say_what_they_are() {
    let err = AnnounceResponse::decode(b"<html><title>Invalid Request</title></html>").unwrap_err();
    assert!(err.to_string().contains("HTML page"), "{err}");
    assert!(matches!(
        AnnounceResponse::decode(b"li1ee"),
        Err(BodyError::NotADictionary { .. })
    ));
    assert!(matches!(
        AnnounceResponse::decode(b""),
        Err(BodyError::NotADictionary { .. })
    ));
}

#[test]
fn failure_reason_wins_even_with_peers_and_intervals() {
    let body = b"d8:intervali1800e12:min intervali900e5:peers6:\x01\x02\x03\x04\x00\x5014:failure reason6:bannede";
    let Ok(AnnounceResponse::Failure(f)) = AnnounceResponse::decode(body) else {
        panic!()
    };
    assert_eq!(
        (f.reason, f.interval, f.min_interval),
        (&b"banned"[..], Some(1800), Some(900))
    );
}

#[test]
fn unsorted_duplicate_keys_trailing_garbage_and_missing_peers_are_accepted() {
    let body = b"d8:intervali0600e8:intervali5e8:completei2ee<garbage>";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(body) else {
        panic!()
    };
    assert_eq!((s.interval, s.complete), (Some(600), Some(2)));
    assert_eq!(s.peer_addrs().count(), 0, "missing peers means no peers");
}

#[test]
fn ragged_compact_peers_keep_whole_entries() {
    let body = b"d5:peers8:\x0a\x00\x00\x01\x1a\xe1\x0a\x00e";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(body) else {
        panic!()
    };
    let Peers::Compact(c) = s.peers else { panic!() };
    assert_eq!((c.len(), c.trailing_bytes()), (1, 2));
    assert_eq!(
        s.peer_addrs().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["10.0.0.1:6881"]
    );
}

#[test]
fn list_form_peers_skip_bad_entries_and_keep_host_names() {
    let body = b"d5:peersl\
        d2:ip8:10.0.0.14:porti6881ee\
        d2:ip8:10.0.0.24:porti0ee\
        d2:ip8:10.0.0.34:porti65536ee\
        d2:ip8:10.0.0.44:porti-1ee\
        d4:porti80ee\
        d2:ip14:peer.example.n4:porti51413ee\
        d2:ip7:bad ip!4:porti1ee\
        i5e\
        d2:ip3:::14:porti1ee\
        ee";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(body) else {
        panic!()
    };
    let Peers::Dicts(d) = s.peers else { panic!() };
    let addrs: Vec<PeerAddr> = d.iter().map(|p| p.addr).collect();
    assert_eq!(
        addrs,
        [
            PeerAddr::Ip("10.0.0.1:6881".parse().unwrap()),
            PeerAddr::Host {
                name: "peer.example.n",
                port: 51413
            },
            PeerAddr::Ip("[::1]:1".parse().unwrap()),
        ]
    );
    assert_eq!(
        s.peer_addrs().count(),
        2,
        "host names are left to the caller"
    );
}

#[test]
fn retry_in_accepts_integers_digit_strings_and_never_only() {
    let read = |v: &str| {
        let body = format!("d14:failure reason1:x8:retry in{v}e");
        match AnnounceResponse::decode(body.as_bytes()).unwrap() {
            AnnounceResponse::Failure(f) => f.retry_in,
            _ => panic!(),
        }
    };
    assert_eq!(read("i30e"), Some(RetryIn::Minutes(30)));
    assert_eq!(read("1:5"), Some(RetryIn::Minutes(5)));
    assert_eq!(read("5:never"), Some(RetryIn::Never));
    assert_eq!(read("i0e"), None);
    assert_eq!(read("i-5e"), None);
    assert_eq!(read("4:soon"), None);
    assert_eq!(read("i99999999999e"), Some(RetryIn::Minutes(u32::MAX)));
}

#[test]
fn external_ip_accepts_4_or_16_bytes_only() {
    let v4 = b"d11:external ip4:\x7f\x00\x00\x01e";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(v4) else {
        panic!()
    };
    assert_eq!(s.external_ip, Some("127.0.0.1".parse().unwrap()));
    let v6 = b"d11:external ip16:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01e";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(v6) else {
        panic!()
    };
    assert_eq!(s.external_ip, Some("::1".parse().unwrap()));
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(b"d11:external ip3:abce")
    else {
        panic!()
    };
    assert_eq!(s.external_ip, None);
}

#[test]
fn scrape_ignores_keys_that_are_not_hashes_and_reads_both_failure_spellings() {
    let body = b"d5:filesd21:aaaaaaaaaaaaaaaaaaaaad8:completei1ee20:bbbbbbbbbbbbbbbbbbbbd10:incompletei4e8:completei2eee5:flagsd20:min_request_intervali900eee";
    let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(body) else {
        panic!()
    };
    let files: Vec<_> = s.files.iter().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].0.0, files[0].1.complete, files[0].1.incomplete),
        ([b'b'; 20], 2, 4)
    );
    assert_eq!(
        s.files.get(&bt_tracker::InfoHash([b'a'; 20])),
        None,
        "unknown, not zero"
    );
    assert_eq!(s.min_request_interval, Some(900));
    let Ok(ScrapeResponse::Failure(f)) = ScrapeResponse::decode(b"d14:failure_reason4:nopee")
    else {
        panic!()
    };
    assert_eq!(f.reason, b"nope");
}

#[test]
fn scrape_recovers_webtorrent_keys_mangled_into_utf8() {
    // bittorrent-tracker writes each hash byte as a Latin-1 character in UTF-8: 0xC1 becomes C3 81.
    let hash = bt_tracker::InfoHash::from_hex("c12fe1c06bba254a9dc9f519b335aa7c1367a88a").unwrap();
    let mangled: String = hash.0.iter().map(|&b| char::from(b)).collect();
    assert!(mangled.len() > 20);
    let mut body = format!("d5:filesd{}:", mangled.len()).into_bytes();
    body.extend_from_slice(mangled.as_bytes());
    body.extend_from_slice(b"d8:completei3e10:downloadedi5e10:incompletei7eeee");
    let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(&body) else {
        panic!()
    };
    let file = s.files.get(&hash).expect("the mangled key names the hash");
    assert_eq!((file.complete, file.downloaded, file.incomplete), (3, 5, 7));
    // A key with a character above U+00FF is not a mangled hash.
    let body = "d5:filesd21:\u{100}aaaaaaaaaaaaaaaaaaad8:completei1eeee";
    let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(body.as_bytes()) else {
        panic!()
    };
    assert_eq!(s.files.iter().count(), 0);
}

#[test]
fn tracker_urls_that_prefill_announce_parameters_are_refused() {
    let url = TrackerUrl::parse("http://t.example/announce?passkey=x&INFO_HASH=abc").unwrap();
    let err = http::check_tracker_query(&url).unwrap_err();
    assert!(matches!(&err, UrlError::ReservedParameter { name, .. } if name == "INFO_HASH"));
    assert!(err.to_string().contains("remove it"));
    let udp = TrackerUrl::parse("udp://t.example:1/announce").unwrap();
    assert!(matches!(
        http::check_tracker_query(&udp),
        Err(UrlError::NotHttp(_))
    ));
    assert!(
        http::check_tracker_query(&TrackerUrl::parse("http://t/announce?passkey=1").unwrap())
            .is_ok()
    );
}

#[test]
fn query_errors_name_the_parameter() {
    let e = http::AnnounceQuery::parse(b"info_hash=abc&peer_id=x").unwrap_err();
    assert!(
        e.to_string()
            .contains("\"info_hash\" must decode to exactly 20 bytes, it decodes to 3"),
        "{e}"
    );
    let full = "info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb&port=1&uploaded=0&downloaded=0";
    let e = http::AnnounceQuery::parse(full.as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), "the required parameter \"left\" is missing");
    let e = http::AnnounceQuery::parse(format!("{full}&left=-1").as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"left\" has the invalid value \"-1\""),
        "{e}"
    );
    let e =
        http::AnnounceQuery::parse(format!("{full}&left=1&event=bogus").as_bytes()).unwrap_err();
    assert!(e.to_string().contains("\"event\""), "{e}");
    let e = http::ScrapeQuery::parse(b"info_hash=%zz").unwrap_err();
    assert!(e.to_string().contains("\"info_hash\""), "{e}");
    // `+` is a literal byte in binary parameters, never a space.
    let q = http::ScrapeQuery::parse(b"info_hash=++++++++++++++++++++").unwrap();
    assert_eq!(q.info_hashes[0].0, [b'+'; 20]);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_bodies_are_inflated_even_unasked() {
    let body = gzip(b"d8:intervali1800ee");
    let mut stream = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    stream.extend(&body);
    let resp = ResponseReader::new(1 << 20).feed(&stream).unwrap().unwrap();
    assert_eq!(&resp.body[..], b"d8:intervali1800ee");
}

#[test]
fn gzip_bomb_is_stopped_at_the_decoded_cap() {
    let bomb = gzip(&vec![b'l'; 50 << 20]); // 50 MiB inflated, ~50 KiB on the wire
    assert!(bomb.len() < 100_000);
    let err = http::decode_content(Some("gzip"), bomb, 1 << 20).unwrap_err();
    assert_eq!(err, FramingError::BodyTooLarge { limit: 1 << 20 });
    assert!(matches!(
        http::decode_content(Some("gzip"), b"not gzip".to_vec(), 100),
        Err(FramingError::BadCompression(_))
    ));
    assert!(
        matches!(http::decode_content(Some("br"), vec![], 100), Err(FramingError::UnsupportedEncoding(e)) if e == "br")
    );
}

#[test]
fn advertised_length_over_the_cap_fails_before_the_body_arrives() {
    let mut reader = ResponseReader::new(1 << 20);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n";
    assert_eq!(
        reader.feed(head),
        Err(FramingError::BodyTooLarge { limit: 1 << 20 })
    );
    assert_eq!(reader.feed(b"more"), Err(FramingError::Finished));
}

#[test]
fn unbounded_bodies_fail_at_the_cap() {
    let mut reader = ResponseReader::new(1000);
    assert_eq!(reader.feed(b"HTTP/1.0 200 OK\r\n\r\n"), Ok(None));
    assert_eq!(reader.feed(&[b'x'; 999]), Ok(None));
    assert_eq!(
        reader.feed(&[b'x'; 2]),
        Err(FramingError::BodyTooLarge { limit: 1000 })
    );
    let mut chunked = ResponseReader::new(1000);
    let r = chunked.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n");
    assert_eq!(r, Err(FramingError::BodyTooLarge { limit: 1000 }));
}

#[test]
fn oversized_or_malformed_heads_are_errors() {
    let mut reader = ResponseReader::new(1000);
    let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(20_000));
    assert_eq!(
        reader.feed(long.as_bytes()),
        Err(FramingError::HeadTooLarge)
    );
    let mut bad = ResponseReader::new(1000);
    assert!(matches!(
        bad.feed(b"HTTP/1.1 2x0 OK\r\n\r\n"),
        Err(FramingError::BadHead(_))
    ));
    let mut conflict = ResponseReader::new(1000);
    let r = conflict.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(r, Err(FramingError::BadHead(_))));
    let mut chunk = ResponseReader::new(1000);
    let r = chunk.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    assert_eq!(r, Err(FramingError::BadChunk("chunk size is not hex")));
}

#[test]
fn request_bytes_bracket_ipv6_hosts_and_omit_default_ports() {
    let mut out = Vec::new();
    http::write_get_request(
        &TrackerUrl::parse("http://[::1]:8080?x=1").unwrap(),
        "a\r\nInjected: 1",
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("GET /?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: aInjected: 1\r\n"),
        "{text}"
    );
    let mut out = Vec::new();
    http::write_get_request(
        &TrackerUrl::parse("https://t.example:443/announce").unwrap(),
        "x",
        &mut out,
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("\r\nHost: t.example\r\n")
    );
}
