//! Every example of PROTOCOL.md sections 3, 4 and 6, including the scrape-URL table, and the
//! `/announce/<passkey>` form of scrape URLs beside it.

mod common;

use std::net::SocketAddr;

use bt_tracker::http::{
    self, AnnounceParams, AnnounceResponse, DictPeer, PeerAddr, Peers, RetryIn, ScrapeFile,
    ScrapeResponse,
};
use bt_tracker::{AnnounceEvent, PeerId, TrackerUrl};
use common::{example_peer_id, hex, sha1_empty};

fn params(event: AnnounceEvent) -> AnnounceParams<'static> {
    AnnounceParams {
        info_hash: sha1_empty(),
        peer_id: example_peer_id(),
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 1_000_000,
        corrupt: Some(0),
        key: 0xDEAD_BEEF,
        event,
        numwant: 50,
        no_peer_id: true,
        supportcrypto: true,
        tracker_id: None,
        requirecrypto: false,
        redundant: None,
        ip: None,
    }
}

#[test]
fn info_hash_is_percent_encoded_like_transmission() {
    assert_eq!(
        http::percent_encode(&sha1_empty().0),
        "%DA9%A3%EE%5EkK%0D2U%BF%EF%95%60%18%90%AF%D8%07%09"
    );
    // The escape-everything form that other clients send decodes to the same bytes.
    let everything = "%DA%39%A3%EE%5E%6B%4B%0D%32%55%BF%EF%95%60%18%90%AF%D8%07%09";
    assert_eq!(
        http::percent_decode(everything.as_bytes()).unwrap(),
        sha1_empty().0
    );
}

#[test]
fn announce_url_with_passkey_matches_the_full_request_example() {
    let tracker =
        TrackerUrl::parse("http://tracker.example.org:6969/announce?passkey=abc").unwrap();
    let url = http::announce_url(&tracker, &params(AnnounceEvent::Started)).unwrap();
    assert_eq!(
        url,
        "http://tracker.example.org:6969/announce?passkey=abc&info_hash=%DA9%A3%EE%5EkK%0D2U%BF%EF%95%60%18%90%AF%D8%07%09&peer_id=-RS0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=1000000&corrupt=0&key=DEADBEEF&event=started&numwant=50&compact=1&no_peer_id=1&supportcrypto=1"
    );
    let mut request = Vec::new();
    http::write_get_request(
        &TrackerUrl::parse(&url).unwrap(),
        "bt-tracker/0.1",
        &mut request,
    );
    let text = String::from_utf8(request).unwrap();
    assert!(
        text.starts_with("GET /announce?passkey=abc&info_hash=%DA9%A3"),
        "{text}"
    );
    assert!(
        text.contains("&supportcrypto=1 HTTP/1.1\r\nHost: tracker.example.org:6969\r\n"),
        "{text}"
    );
    assert!(text.ends_with(
        "User-Agent: bt-tracker/0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    ));
}

#[test]
fn compact_v4_and_v6_reply_example_decodes() {
    let mut body =
        b"d8:completei5e10:incompletei3e8:intervali1800e12:min intervali900e5:peers12:".to_vec();
    body.extend(hex("c0 00 02 01 1a e1 c6 33 64 07 c8 d5"));
    body.extend_from_slice(b"6:peers618:");
    body.extend(hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 1a e1"));
    body.push(b'e');
    assert_eq!(body.len(), 118);
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) else {
        panic!()
    };
    assert_eq!(
        (s.complete, s.incomplete, s.interval, s.min_interval),
        (Some(5), Some(3), Some(1800), Some(900))
    );
    let peers: Vec<SocketAddr> = s.peer_addrs().collect();
    let expected: Vec<SocketAddr> = ["192.0.2.1:6881", "198.51.100.7:51413", "[2001:db8::1]:6881"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(peers, expected);
    // The tracker-side encoder writes the same canonical bytes back.
    let mut out = Vec::new();
    s.encode(&mut out).unwrap();
    assert_eq!(out, body);
}

#[test]
fn list_form_reply_example_decodes() {
    let body =
        b"d8:intervali1800e5:peersld2:ip9:192.0.2.17:peer id20:-XX0001-abcdefghijkl4:porti6881eeee";
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(body) else {
        panic!()
    };
    let Peers::Dicts(d) = s.peers else {
        panic!("list form expected")
    };
    let peers: Vec<DictPeer> = d.iter().collect();
    assert_eq!(
        peers,
        [DictPeer {
            addr: PeerAddr::Ip("192.0.2.1:6881".parse().unwrap()),
            peer_id: Some(PeerId(*b"-XX0001-abcdefghijkl"))
        }]
    );
}

#[test]
fn failure_examples_decode_with_retry_in() {
    let never = b"d14:failure reason25:Torrent is not registered8:retry in5:nevere";
    let Ok(AnnounceResponse::Failure(f)) = AnnounceResponse::decode(never) else {
        panic!()
    };
    assert_eq!(
        (f.reason_text().as_ref(), f.retry_in),
        ("Torrent is not registered", Some(RetryIn::Never))
    );
    let five = b"d14:failure reason10:Overloaded8:retry ini5ee";
    let Ok(AnnounceResponse::Failure(f)) = AnnounceResponse::decode(five) else {
        panic!()
    };
    assert_eq!(
        (f.reason, f.retry_in),
        (&b"Overloaded"[..], Some(RetryIn::Minutes(5)))
    );
    let mut out = Vec::new();
    f.encode(&mut out);
    assert_eq!(out, five);
}

#[test]
fn scrape_url_table_of_section_6_1() {
    let table = [
        ("http://t.example/announce", Some("http://t.example/scrape")),
        (
            "http://t.example/x/announce",
            Some("http://t.example/x/scrape"),
        ),
        (
            "http://t.example/announce.php",
            Some("http://t.example/scrape.php"),
        ),
        (
            "http://t.example/announce?passkey=k",
            Some("http://t.example/scrape?passkey=k"),
        ),
        ("http://t.example/a", None),
        ("http://t.example/announce/", None),
        ("http://t.example/x%064announce", None),
        (
            "http://t.example/announce?x=2/4",
            Some("http://t.example/scrape?x=2/4"),
        ),
    ];
    for (announce, scrape) in table {
        let url = TrackerUrl::parse(announce).unwrap();
        assert_eq!(http::scrape_url(&url).as_deref(), scrape, "{announce}");
    }
}

/// The passkey form beside section 6.1's rule: torrust-tracker's private mode and UNIT3D-style
/// trackers announce at `/announce/<key>` and scrape at `/scrape/<key>`. The rule: the BEP 48
/// last-segment rule first; otherwise, when the last segment is not empty and the segment
/// directly before it is exactly `announce`, that segment becomes `scrape`. Nothing else changes:
/// no unescaping, no case folding, never the host, always the query.
#[test]
fn scrape_url_of_announce_slash_passkey_trackers() {
    let table = [
        // The torrust form, over https with a 32-character key and a port.
        (
            "https://t.example:7070/announce/YZSl4lMZupRuOpSRC3krIKR5BPB14nrJ",
            Some("https://t.example:7070/scrape/YZSl4lMZupRuOpSRC3krIKR5BPB14nrJ"),
        ),
        // UNIT3D: a hex passkey.
        (
            "https://t.example/announce/0123456789abcdef0123456789abcdef",
            Some("https://t.example/scrape/0123456789abcdef0123456789abcdef"),
        ),
        // Under a prefix: only the segment before the last one is rewritten.
        (
            "http://t.example/x/announce/k",
            Some("http://t.example/x/scrape/k"),
        ),
        // The query stays, even when it holds `/announce/`.
        (
            "http://t.example/announce/k?a=/announce/b",
            Some("http://t.example/scrape/k?a=/announce/b"),
        ),
        // A percent-encoded key is kept verbatim, `%2F` included (it is not a separator).
        (
            "http://t.example/announce/k%2Fx",
            Some("http://t.example/scrape/k%2Fx"),
        ),
        // The host is never rewritten, even when it says `announce`.
        (
            "http://announce.example/announce/k",
            Some("http://announce.example/scrape/k"),
        ),
        ("http://announce.example/k", None),
        // BEP 48 wins: a last segment starting with `announce` is the one rewritten, also when the
        // segment before it is `announce` too, or the key itself starts with `announce`.
        (
            "http://t.example/announce/announce",
            Some("http://t.example/announce/scrape"),
        ),
        (
            "http://t.example/announce/announcekey",
            Some("http://t.example/announce/scrapekey"),
        ),
        // A key that merely contains `announce` is a key.
        (
            "http://t.example/announce/keyannounce",
            Some("http://t.example/scrape/keyannounce"),
        ),
        // A trailing slash leaves an empty last segment: unsupported, as `/announce/` is.
        ("http://t.example/announce/k/", None),
        ("http://t.example/announce//k", None),
        // Only the segment directly before the last one may be `announce`.
        ("http://t.example/announce/a/b", None),
        // It must be exactly `announce`: no suffix, no other case, no escapes.
        ("http://t.example/announce.php/k", None),
        ("http://t.example/announcements/k", None),
        ("http://t.example/Announce/k", None),
        ("http://t.example/%61nnounce/k", None),
        // The query is not the path.
        ("http://t.example/a?x=/announce/k", None),
        // UDP trackers scrape at the announce endpoint over UDP.
        ("udp://t.example:6969/announce/k", None),
    ];
    for (announce, scrape) in table {
        let url = TrackerUrl::parse(announce).unwrap();
        assert_eq!(http::scrape_url(&url).as_deref(), scrape, "{announce}");
    }
}

/// The machine and the client both scrape a passkey tracker at its `/scrape/<key>` URL instead of
/// failing with `Cause::ScrapeUnsupported`.
#[test]
fn announce_and_client_scrape_a_passkey_tracker_at_scrape_slash_key() {
    use bt_tracker::announce::{Announce, Config, Progress, RequestKind, Torrent};
    use bt_tracker::client::Client;
    use rand_core::SeedableRng;

    let tracker = "https://t.example/announce/0123456789abcdef";
    let expected = format!(
        "https://t.example/scrape/0123456789abcdef?info_hash={}",
        http::percent_encode(sha1_empty().as_bytes())
    );
    let torrent = Torrent {
        info_hash: sha1_empty(),
        peer_id: example_peer_id(),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    let tiers = || vec![vec![TrackerUrl::parse(tracker).unwrap()]];
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = std::time::Instant::now();
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(48);

    let mut a = Announce::new(Config::default(), torrent.clone(), tiers(), &mut rng, now).unwrap();
    common::answer_dns(&mut a, now);
    let started = a.poll_http_request().expect("the started announce");
    assert!(matches!(started.kind, RequestKind::Announce(_)));
    a.scrape(now);
    let scrape = a
        .poll_http_request()
        .expect("a scrape request, not ScrapeUnsupported");
    assert_eq!(
        (scrape.kind, scrape.url.as_str()),
        (RequestKind::Scrape, expected.as_str())
    );

    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let id = client.add(now, torrent, tiers()).unwrap();
    common::answer_dns(&mut client, now);
    assert!(client.poll_http_request().is_some());
    assert!(client.scrape(now, id));
    let window_closed = now + Config::default().scrape_window;
    client.handle_timeout(window_closed);
    let batch = client.poll_http_request().expect("the batched scrape");
    assert_eq!(
        (batch.kind, batch.url.as_str()),
        (RequestKind::Scrape, expected.as_str())
    );
}

#[test]
fn scrape_reply_example_decodes_and_reencodes() {
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&sha1_empty().0);
    body.extend_from_slice(b"d8:completei5e10:downloadedi42e10:incompletei3eeee");
    assert_eq!(body.len(), 82);
    let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(&body) else {
        panic!()
    };
    let file = ScrapeFile {
        complete: 5,
        incomplete: 3,
        downloaded: 42,
        downloaders: None,
    };
    assert_eq!(s.files.get(&sha1_empty()), Some(file));
    let mut out = Vec::new();
    http::encode_scrape(&[(sha1_empty(), file)], None, &mut out);
    assert_eq!(out, body);
}

#[test]
fn scrape_request_url_repeats_info_hash() {
    let url = http::scrape_request_url(
        "http://t.example/scrape?passkey=k",
        &[sha1_empty(), sha1_empty()],
    );
    let h = "%DA9%A3%EE%5EkK%0D2U%BF%EF%95%60%18%90%AF%D8%07%09";
    assert_eq!(
        url,
        format!("http://t.example/scrape?passkey=k&info_hash={h}&info_hash={h}")
    );
    let parsed = http::ScrapeQuery::parse(url.as_bytes()).unwrap();
    assert_eq!(parsed.info_hashes, [sha1_empty(), sha1_empty()]);
}

#[test]
fn every_optional_parameter_goes_in_libtorrents_order_with_transmissions_requirecrypto() {
    // PROTOCOL.md section 3.2: libtorrent's order, `requirecrypto` after `supportcrypto`
    // (Transmission), BEP 21 `paused`, `ip` last and percent-encoded (`:` of IPv6 is reserved).
    let tracker = TrackerUrl::parse("http://tracker.example.org:6969/announce").unwrap();
    let p = AnnounceParams {
        corrupt: Some(12),
        requirecrypto: true,
        redundant: Some(34),
        tracker_id: Some(b"t 1"),
        ip: Some("2001:db8::1".parse().unwrap()),
        ..params(AnnounceEvent::Paused)
    };
    assert_eq!(
        http::announce_url(&tracker, &p).unwrap(),
        "http://tracker.example.org:6969/announce?info_hash=%DA9%A3%EE%5EkK%0D2U%BF%EF%95%60%18%90%AF%D8%07%09&peer_id=-RS0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=1000000&corrupt=12&key=DEADBEEF&event=paused&numwant=50&compact=1&no_peer_id=1&supportcrypto=1&requirecrypto=1&redundant=34&trackerid=t%201&ip=2001%3Adb8%3A%3A1"
    );
    let v4 = AnnounceParams {
        ip: Some("203.0.113.9".parse().unwrap()),
        corrupt: None,
        ..params(AnnounceEvent::Regular)
    };
    let url = http::announce_url(&tracker, &v4).unwrap();
    assert!(url.ends_with("&supportcrypto=1&ip=203.0.113.9"), "{url}");
    assert!(!url.contains("corrupt"), "{url}");
}
