//! Issue 18, "API papercuts an integrator hit": the machines read a borrowed HTTP body in place,
//! hand out HTTP requests whose URL is already parsed (what `write_get_request` and a connect
//! need), write datagrams into a `Vec` that is never too small, and call the announce without an
//! event what BEP 3 calls it.

mod common;

use common::start;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Config, Event, HttpRequest, Progress, RequestKind, Torrent};
use bt_tracker::client::Client;
use bt_tracker::http::{
    AnnounceParams, HttpResponse, ResponseReader, announce_url, write_get_request,
};
use bt_tracker::udp::{self, Request};
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0100-integrator01"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

fn announce(url: &str, now: Instant) -> Announce {
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let mut rng = ChaCha12Rng::seed_from_u64(18);
    let mut a = Announce::new(Config::default(), torrent(1), tiers, &mut rng, now).unwrap();
    common::answer_dns(&mut a, now);
    a
}

// ----- the event of a regular announce -----

#[test]
fn a_regular_announce_is_named_regular_and_sent_as_udp_0_and_no_http_event() {
    let names = [
        (AnnounceEvent::Regular, "regular"),
        (AnnounceEvent::Started, "started"),
        (AnnounceEvent::Completed, "completed"),
        (AnnounceEvent::Stopped, "stopped"),
        (AnnounceEvent::Paused, "paused"),
    ];
    for (event, name) in names {
        assert_eq!(event.to_string(), name);
    }
    assert_eq!(AnnounceEvent::default(), AnnounceEvent::Regular);
    assert_eq!(AnnounceEvent::Regular.udp_code(), 0);
    assert_eq!(AnnounceEvent::from_udp_code(0), AnnounceEvent::Regular);
    assert_eq!(AnnounceEvent::Regular.http_value(), None);
    for text in [&b""[..], b"empty"] {
        assert_eq!(
            AnnounceEvent::from_http_value(text),
            Some(AnnounceEvent::Regular)
        );
    }
    let tracker = TrackerUrl::parse("http://t.example/announce").unwrap();
    let params = |event| AnnounceParams {
        info_hash: InfoHash([1; 20]),
        peer_id: PeerId([2; 20]),
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        corrupt: None,
        key: 0,
        event,
        numwant: 50,
        no_peer_id: false,
        supportcrypto: false,
        tracker_id: None,
        requirecrypto: false,
        redundant: None,
        ip: None,
    };
    let regular = announce_url(&tracker, &params(AnnounceEvent::Regular)).unwrap();
    assert!(!regular.contains("event="), "{regular}");
    let started = announce_url(&tracker, &params(AnnounceEvent::Started)).unwrap();
    assert!(started.contains("&event=started&"), "{started}");
}

// ----- borrowed HTTP bodies -----

/// An announce reply with one peer and `padding` bytes of a key the decoder skips.
fn padded_reply(padding: usize) -> Vec<u8> {
    let mut body = b"d8:intervali1800e5:peers6:\xc0\x00\x02\x01\x1a\xe1".to_vec();
    body.extend_from_slice(format!("7:padding{padding}:").as_bytes());
    body.resize(body.len() + padding, b'x');
    body.push(b'e');
    body
}

#[test]
fn a_borrowed_body_is_read_in_place_and_gives_the_event_an_owned_one_gives() {
    const PADDING: usize = 200_000;
    let body = padded_reply(PADDING);
    let now = start();
    let mut events = Vec::new();
    for borrowed in [true, false] {
        let mut a = announce("http://192.0.2.9/announce", now);
        let request = a.poll_http_request().expect("the started announce");
        let at = now + Duration::from_millis(5);
        let used = if borrowed {
            // As a caller holding `bytes::Bytes` does: lend the buffer.
            let response = HttpResponse::new(200, None, &body);
            let mut used = false;
            let info = allocation_counter::measure(|| {
                used = a.handle_http_response(at, request.id, &response)
            });
            assert!(
                info.bytes_total < PADDING as u64 / 4,
                "the body was copied: {info:?}"
            );
            used
        } else {
            let response = HttpResponse::new(200, None, &body).into_owned();
            a.handle_http_response(at, request.id, &response)
        };
        assert!(used);
        let Some(Event::Announced(announced)) = a.poll_event() else {
            panic!("an announce result");
        };
        assert_eq!(announced.peers, ["192.0.2.1:6881".parse().unwrap()]);
        events.push(announced);
    }
    assert_eq!(events[0], events[1]);
}

#[test]
fn a_borrowed_response_turns_owned_with_the_same_contents() {
    let location = String::from("http://t.example/elsewhere");
    let body = vec![1u8, 2, 3];
    let borrowed = HttpResponse::new(302, Some(&location), &body);
    let owned: HttpResponse<'static> = borrowed.clone().into_owned();
    drop((location, body));
    assert_eq!(owned.status, 302);
    assert_eq!(
        owned.location.as_deref(),
        Some("http://t.example/elsewhere")
    );
    assert_eq!(&owned.body[..], [1, 2, 3]);
}

#[test]
fn a_client_follows_a_redirect_given_as_a_borrowed_location() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(18);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = vec![vec![
        TrackerUrl::parse("http://192.0.2.9/announce").unwrap(),
    ]];
    client.add(now, torrent(2), tiers).unwrap();
    let first = client.poll_http_request().expect("the started announce");
    let header = String::from("/moved/announce?k=1");
    let response = HttpResponse::new(302, Some(&header), b"");
    assert!(client.handle_http_response(now, first.id, &response));
    let next = client.poll_http_request().expect("the redirected announce");
    assert_eq!(next.url.as_str(), "http://192.0.2.9/moved/announce?k=1");
    assert_eq!(next.url.path_and_query(), "/moved/announce?k=1");
}

// ----- parsed request URLs -----

/// Every HTTP request the machines hand out for tracker `url`: the announce, a scrape and a batched
/// scrape (when the tracker has a scrape URL), and a redirected announce.
fn requests_for(url: &str) -> Vec<HttpRequest> {
    let now = start();
    let mut out = Vec::new();
    let mut a = announce(url, now);
    let first = a.poll_http_request().expect("the started announce");
    a.scrape(now);
    out.extend(a.poll_http_request());
    let redirect = HttpResponse::new(307, Some("../other/announce?x=%7e"), b"");
    assert!(a.handle_http_response(now, first.id, &redirect));
    common::answer_dns(&mut a, now);
    out.extend(a.poll_http_request());
    out.push(first);

    let mut rng = ChaCha12Rng::seed_from_u64(18);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = || vec![vec![TrackerUrl::parse(url).unwrap()]];
    let ids = [
        client.add(now, torrent(3), tiers()).unwrap(),
        client.add(now, torrent(4), tiers()).unwrap(),
    ];
    common::answer_dns(&mut client, now);
    out.extend(std::iter::from_fn(|| client.poll_http_request()));
    for id in ids {
        assert!(client.scrape(now, id));
    }
    client.handle_timeout(now + Config::default().scrape_window);
    out.extend(std::iter::from_fn(|| client.poll_http_request()));
    out
}

#[test]
fn request_urls_come_parsed_exactly_as_their_text_parses() {
    let trackers = [
        "http://t.example/announce",
        "http://t.example/announce?passkey=abc&x=%7E",
        "http://t.example/announce?",
        "http://t.example/announce.php?k=1&",
        "https://t.example/announce/0123456789abcdef",
        "http://user:pw@t.example:8080/x/announce",
        "http://[2001:db8::1]:6969/announce",
        "https://t.example:443/announce",
        "http://трекер.example/announce?ключ=1",
        "http://t.example",
        "http://t.example?k=v",
        "http://192.0.2.1/tracker",
    ];
    for tracker in trackers {
        let requests = requests_for(tracker);
        let scrapes = requests
            .iter()
            .filter(|r| r.kind == RequestKind::Scrape)
            .count();
        let has_scrape_url = bt_tracker::http::scrape_url(&TrackerUrl::parse(tracker).unwrap());
        assert_eq!(
            scrapes,
            if has_scrape_url.is_some() { 2 } else { 0 },
            "{tracker}"
        );
        assert!(requests.len() >= 4, "{tracker}: {requests:?}");
        for request in requests {
            let url = &request.url;
            let reparsed = TrackerUrl::parse(url.as_str()).unwrap();
            assert_eq!(
                (url.scheme(), url.host(), url.port(), url.path_and_query()),
                (
                    reparsed.scheme(),
                    reparsed.host(),
                    reparsed.port(),
                    reparsed.path_and_query()
                ),
                "{tracker}"
            );
            assert_eq!(url, &reparsed, "{tracker}");
            assert_eq!(url.socket_addr(), reparsed.socket_addr(), "{tracker}");
            let (mut given, mut parsed) = (Vec::new(), Vec::new());
            write_get_request(url, "ua", &mut given);
            write_get_request(&reparsed, "ua", &mut parsed);
            assert_eq!(given, parsed, "{tracker}");
        }
    }
}

#[test]
fn a_scrape_request_url_names_the_scrape_path_and_every_hash() {
    let tracker = "http://user@t.example:8080/announce/secret?x=1";
    let requests = requests_for(tracker);
    let batch = requests
        .iter()
        .rev()
        .find(|r| r.kind == RequestKind::Scrape)
        .expect("the batched scrape");
    let url = &batch.url;
    assert_eq!((url.host(), url.port()), ("t.example", 8080));
    assert_eq!(url.origin(), "http://user@t.example:8080");
    let expected = format!(
        "/scrape/secret?x=1&info_hash={}&info_hash={}",
        "%03".repeat(20),
        "%04".repeat(20)
    );
    assert_eq!(url.path_and_query(), expected);
}

// ----- datagrams into a Vec -----

#[test]
fn poll_transmit_leaves_exactly_the_datagram_in_the_vec_whatever_it_held() {
    let now = start();
    let mut a = announce("udp://192.0.2.9:6969/announce", now);
    let mut buf = vec![0xAA; 4 * udp::MAX_REQUEST_LEN];
    let t = a.poll_transmit(&mut buf).expect("the connect");
    assert_eq!((t.len, buf.len()), (udp::CONNECT_LEN, udp::CONNECT_LEN));
    assert!(matches!(Request::parse(&buf), Ok(Request::Connect(_))));
    assert!(a.poll_transmit(&mut buf).is_none());
    assert!(buf.is_empty(), "no datagram, nothing in the buffer");
}

#[test]
fn the_largest_datagrams_fit_a_fresh_vec_and_a_reused_one_allocates_nothing() {
    let now = start();
    // BEP 41 URL data at its cap: the longest announce this crate writes.
    let path = format!("/{}", "a".repeat(udp::MAX_URL_DATA_LEN - 1));
    let mut a = announce(&format!("udp://192.0.2.9:6969{path}"), now);
    let mut buf = Vec::new();
    let connect = a.poll_transmit(&mut buf).expect("the connect");
    let txid = u32::from_be_bytes(buf[12..16].try_into().unwrap());
    let mut reply = vec![0, 0, 0, 0];
    reply.extend_from_slice(&txid.to_be_bytes());
    reply.extend_from_slice(&7u64.to_be_bytes());
    assert!(a.handle_datagram(now, connect.destination, &reply));
    let mut sent = None;
    let info = allocation_counter::measure(|| sent = a.poll_transmit(&mut buf));
    let sent = sent.expect("the announce");
    assert_eq!(sent.len, udp::MAX_ANNOUNCE_REQUEST_LEN);
    assert_eq!(buf.len(), sent.len);
    assert_eq!(info.count_total, 0, "a reused buffer: {info:?}");
    let Ok(Request::Announce(request)) = Request::parse(&buf) else {
        panic!("an announce")
    };
    assert_eq!(request.url_data.as_deref(), Some(path.as_bytes()));

    // A UDP scrape batch of 70 hashes, the Client's largest datagram. (The tracker answers the
    // announces and connects: the batch waits behind the start-up's announces in the window.)
    let mut rng = ChaCha12Rng::seed_from_u64(18);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = || vec![vec![TrackerUrl::parse("udp://192.0.2.9:6969").unwrap()]];
    let ids: Vec<_> = (0..70)
        .map(|n| client.add(now, torrent(n), tiers()).unwrap())
        .collect();
    let mut buf = Vec::new();
    let connect = client.poll_transmit(&mut buf).expect("one shared connect");
    let txid = u32::from_be_bytes(buf[12..16].try_into().unwrap());
    let mut reply = vec![0, 0, 0, 0];
    reply.extend_from_slice(&txid.to_be_bytes());
    reply.extend_from_slice(&7u64.to_be_bytes());
    assert!(client.handle_datagram(now, connect.destination, &reply));
    for id in &ids {
        assert!(client.scrape(now, *id));
    }
    let mut at = now;
    let mut scrape = None;
    for _ in 0..1000 {
        while let Some(t) = client.poll_transmit(&mut buf) {
            let txid = u32::from_be_bytes(buf[12..16].try_into().unwrap());
            let mut reply = Vec::new();
            match Request::parse(&buf) {
                Ok(Request::Scrape(s)) => {
                    assert_eq!(buf.len(), t.len);
                    scrape = Some(s.info_hashes.len());
                }
                Ok(Request::Announce(_)) => {
                    // action 1, interval 1800, no leechers, no seeders, no peers
                    reply.extend_from_slice(&1u32.to_be_bytes());
                    reply.extend_from_slice(&txid.to_be_bytes());
                    reply.extend_from_slice(&[0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
                }
                _ => {
                    reply.extend_from_slice(&[0, 0, 0, 0]);
                    reply.extend_from_slice(&txid.to_be_bytes());
                    reply.extend_from_slice(&7u64.to_be_bytes());
                }
            }
            if !reply.is_empty() {
                assert!(client.handle_datagram(at, t.destination, &reply));
            }
        }
        if scrape.is_some() {
            break;
        }
        at = client.poll_timeout().expect("something scheduled").max(at);
        client.handle_timeout(at);
    }
    assert_eq!(scrape, Some(70));
}

#[test]
fn a_response_reader_hands_out_an_owned_response_for_the_machine() {
    let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let mut reader = ResponseReader::new(1024);
    let response: HttpResponse<'static> = reader.feed(stream).unwrap().unwrap();
    assert_eq!(&response.body[..], b"hello");
    assert!(matches!(response.body, std::borrow::Cow::Owned(_)));
}
