//! Tracker URLs that are not ASCII (issue 13, part 4; Transmission#8420): every host, URL, request
//! line and BEP 41 URL data the crate hands out is ASCII, with international names in IDNA form and
//! everything else percent-encoded in uppercase hex, whatever the tracker URL or `Location` held.

mod common;

use common::start as test_now;
use std::time::Instant;

use bt_tracker::announce::{Announce, Cause, Config, Event, HttpRequest, Progress, Torrent};
use bt_tracker::http::{
    AnnounceParams, HttpResponse, announce_url, scrape_request_url, scrape_url, write_get_request,
};
use bt_tracker::udp::{ConnectResponse, Reply, Request};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId, TrackerUrl, TrackerUrlError};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// `трекер` in IDNA form.
const IDNA_HOST: &str = "xn--e1aaowdh.example";
/// `/аннонс?ключ=значение` percent-encoded as UTF-8 with uppercase hex.
const ENCODED_PATH: &str = "/%D0%B0%D0%BD%D0%BD%D0%BE%D0%BD%D1%81?%D0%BA%D0%BB%D1%8E%D1%87=%D0%B7%D0%BD%D0%B0%D1%87%D0%B5%D0%BD%D0%B8%D0%B5";

fn url(text: &str) -> TrackerUrl {
    TrackerUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-ascii-000001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    }
}

fn announce(tiers: Vec<Vec<TrackerUrl>>, now: Instant) -> Announce {
    let mut a = Announce::new(
        Config::default(),
        torrent(),
        tiers,
        &mut ChaCha12Rng::seed_from_u64(1),
        now,
    )
    .unwrap();
    common::answer_dns(&mut a, now);
    a
}

// ----- the host -----

#[test]
fn unicode_host_is_looked_up_in_idna_form_for_every_scheme() {
    for (text, origin) in [
        (
            "udp://трекер.example:6969/announce",
            "udp://xn--e1aaowdh.example:6969",
        ),
        (
            "http://трекер.example/announce",
            "http://xn--e1aaowdh.example",
        ),
        (
            "https://трекер.example/announce",
            "https://xn--e1aaowdh.example",
        ),
    ] {
        let u = url(text);
        assert_eq!(u.host(), IDNA_HOST, "{text}");
        assert_eq!(u.origin(), origin, "{text}");
        assert_eq!(u.as_str(), format!("{origin}/announce"), "{text}");
        assert_eq!(u.to_string(), u.as_str(), "{text}");
        assert_eq!(u.socket_addr(), None, "{text}");
    }
}

#[test]
fn every_spelling_of_a_unicode_host_gives_the_same_ascii_host() {
    for text in [
        "udp://ТРЕКЕР.example:6969",
        "udp://ТрЕкЕр.EXAMPLE:6969",
        "udp://трекер。example:6969",
        "udp://трекер．example:6969",
        "udp://%D1%82%D1%80%D0%B5%D0%BA%D0%B5%D1%80.example:6969",
        "udp://%d1%82%d1%80%d0%b5%d0%ba%d0%b5%d1%80.example:6969",
        "udp://xn--e1aaowdh.example:6969",
        "udp://XN--E1AAOWDH.example:6969",
    ] {
        let u = url(text);
        assert_eq!(u.host(), IDNA_HOST, "{text}");
        assert_eq!(u.as_str(), "udp://xn--e1aaowdh.example:6969", "{text}");
    }
    // The same decoding and IDNA as http, which the url crate applies itself.
    assert_eq!(
        url("http://%D1%82%D1%80%D0%B5%D0%BA%D0%B5%D1%80.example/a").host(),
        IDNA_HOST
    );
}

#[test]
fn two_spellings_of_one_tracker_are_announced_to_once() {
    let now = test_now();
    let a = announce(
        vec![
            vec![url("udp://ТРЕКЕР.example:6969")],
            vec![url("udp://xn--e1aaowdh.example:6969")],
        ],
        now,
    );
    let tiers: Vec<_> = a.tiers().collect();
    assert_eq!(tiers.len(), 1, "{tiers:?}");
    assert_eq!(tiers[0].len(), 1, "{tiers:?}");
    assert_eq!(
        a.tracker_url(tiers[0][0]).unwrap().as_str(),
        "udp://xn--e1aaowdh.example:6969"
    );
}

#[test]
fn a_trailing_root_dot_is_dropped_after_idna() {
    let u = url("udp://трекер.example.:6969/announce");
    assert_eq!(u.host(), "xn--e1aaowdh.example");
    assert_eq!(u.as_str(), "udp://xn--e1aaowdh.example:6969/announce");
}

#[test]
fn ip_literals_are_written_canonically_for_every_scheme() {
    // WHATWG's IPv4 forms, as http already read them.
    let u = url("udp://0x7f.1:6969/announce");
    assert_eq!(u.host(), "127.0.0.1");
    assert_eq!(u.socket_addr(), Some("127.0.0.1:6969".parse().unwrap()));
    assert_eq!(u.as_str(), "udp://127.0.0.1:6969/announce");
    let u = url("http://[2001:DB8:0::1]:08080/a");
    assert_eq!(u.host(), "2001:db8::1");
    assert_eq!(u.as_str(), "http://[2001:db8::1]:8080/a");
    assert_eq!(url("HTTP://T.Example:/a").as_str(), "http://t.example/a");
}

#[test]
fn hosts_no_resolver_can_look_up_are_refused_with_the_reason() {
    let long_label = format!("udp://{}.example:6969", "a".repeat(64));
    let long_name = format!("http://{}a/", "abcdefghi.".repeat(26)); // 261 bytes
    for (text, reason) in [
        ("udp://xn--a.example:6969", "international domain name"),
        ("http://xn--a.example/announce", "international domain name"),
        (long_label.as_str(), "DNS allows 63"),
        (long_name.as_str(), "DNS allows 253"),
        ("udp://a..example:6969", "empty label"),
        ("https://.example/", "empty label"),
        ("udp://[fe80::1%25eth0]:6969", "zone ids"),
        ("http://[fe80::1%eth0]/", "zone ids"),
        ("udp://1.2.3.999:6969", "IPv4"),
    ] {
        let err = TrackerUrl::parse(text).expect_err(text);
        assert!(
            matches!(&err, TrackerUrlError::InvalidHost { reason: r, .. } if r.contains(reason)),
            "{text}: {err:?}"
        );
        assert!(err.to_string().contains("correct the host name"), "{err}");
    }
    // 63 bytes is the largest label DNS carries.
    let label_63 = format!("udp://{}.example:6969", "a".repeat(63));
    assert_eq!(url(&label_63).host().len(), 63 + ".example".len());
}

// ----- userinfo, path and query -----

#[test]
fn userinfo_is_kept_and_percent_encoded() {
    let u = url("http://üser:пасс@трекер.example/announce");
    assert_eq!(
        u.as_str(),
        "http://%C3%BCser:%D0%BF%D0%B0%D1%81%D1%81@xn--e1aaowdh.example/announce"
    );
    assert_eq!(u.host(), IDNA_HOST);
    assert_eq!(u.path_and_query(), "/announce");
    // WHATWG splits at the last `@`; the earlier one is data.
    assert_eq!(
        url("https://a@b@t.example/").as_str(),
        "https://a%40b@t.example/"
    );
}

#[test]
fn path_and_query_are_percent_encoded_with_uppercase_hex() {
    let u = url("udp://t.example:6969/аннонс?ключ=значение");
    assert_eq!(u.path_and_query(), ENCODED_PATH);
    assert_eq!(u.as_str(), format!("udp://t.example:6969{ENCODED_PATH}"));
    // The same path over http gives the same bytes.
    assert_eq!(
        url("http://t.example/аннонс?ключ=значение").path_and_query(),
        ENCODED_PATH
    );
}

#[test]
fn ascii_that_may_not_appear_raw_is_encoded_and_escapes_are_kept_with_uppercase_hex() {
    let u = url("http://t.example/a{b}|^`\"<>[]?pk=%2f%2F%41+x;y=1&z=100%&q=%zz&r=a'b!*(),$:@/?");
    assert_eq!(
        u.path_and_query(),
        "/a%7Bb%7D%7C%5E%60%22%3C%3E%5B%5D?pk=%2F%2F%41+x;y=1&z=100%25&q=%25zz&r=a'b!*(),$:@/?"
    );
}

#[test]
fn the_ascii_form_parses_back_to_itself() {
    for text in [
        "udp://ТРЕКЕР.example:6969/аннонс?ключ=значение",
        "http://üser:пасс@трекер.example:8080/a{b}?z=100%",
        "https://[2001:DB8::1]/announce",
    ] {
        let u = url(text);
        assert_eq!(url(u.as_str()), u, "{text}");
    }
}

// ----- every output site -----

fn params() -> AnnounceParams<'static> {
    AnnounceParams {
        info_hash: InfoHash([0xAB; 20]),
        peer_id: PeerId(*b"-BT0100-ascii-000001"),
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 5,
        corrupt: None,
        key: 0x1234_ABCD,
        event: AnnounceEvent::Started,
        numwant: 50,
        no_peer_id: false,
        supportcrypto: false,
        tracker_id: None,
        requirecrypto: false,
        redundant: None,
        ip: None,
    }
}

#[test]
fn http_announce_url_is_ascii() {
    let expected_prefix = format!("http://{IDNA_HOST}{ENCODED_PATH}&info_hash=%AB%AB");
    let built = announce_url(
        &url("http://трекер.example/аннонс?ключ=значение"),
        &params(),
    )
    .unwrap();
    assert!(built.starts_with(&expected_prefix), "{built}");
    assert!(built.is_ascii(), "{built}");
    // And the machine hands out the same form.
    let now = test_now();
    let mut a = announce(
        vec![vec![url("http://трекер.example/аннонс?ключ=значение")]],
        now,
    );
    let request = a.poll_http_request().unwrap();
    assert!(
        request.url.as_str().starts_with(&format!(
            "http://{IDNA_HOST}{ENCODED_PATH}&info_hash=%07%07"
        )),
        "{}",
        request.url
    );
    assert!(request.url.as_str().is_ascii(), "{}", request.url);
}

#[test]
fn scrape_url_is_ascii() {
    let base = scrape_url(&url("https://трекер.example/путь/announce?ключ=1")).unwrap();
    assert_eq!(
        base,
        format!("https://{IDNA_HOST}/%D0%BF%D1%83%D1%82%D1%8C/scrape?%D0%BA%D0%BB%D1%8E%D1%87=1")
    );
    let request = scrape_request_url(&base, &[InfoHash([0xAB; 20])]);
    assert!(request.is_ascii(), "{request}");
}

#[test]
fn get_request_line_and_host_header_are_ascii() {
    let mut out = Vec::new();
    write_get_request(
        &url("http://трекер.example:8080/аннонс?ключ=значение"),
        "bt-tracker-test",
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(&format!(
            "GET {ENCODED_PATH} HTTP/1.1\r\nHost: {IDNA_HOST}:8080\r\n"
        )),
        "{text}"
    );
    assert!(text.is_ascii(), "{text}");
}

#[test]
fn bep41_url_data_is_percent_encoded_as_an_http_tracker_would_get_it() {
    let now = test_now();
    let tracker: std::net::SocketAddr = "127.0.0.1:6969".parse().unwrap();
    let mut a = announce(
        vec![vec![url("udp://127.0.0.1:6969/аннонс?ключ=значение")]],
        now,
    );
    let mut buf = Vec::new();
    let connect = a.poll_transmit(&mut buf).unwrap();
    let Ok(Request::Connect(c)) = Request::parse(&buf[..connect.len]) else {
        panic!("expected a connect request");
    };
    let mut reply = [0u8; 64];
    let len = Reply::Connect(ConnectResponse {
        transaction_id: c.transaction_id,
        connection_id: 42,
    })
    .encode(AddressFamily::V4, &mut reply)
    .unwrap();
    assert!(a.handle_datagram(now, tracker, &reply[..len]));
    let sent = a.poll_transmit(&mut buf).unwrap();
    let Ok(Request::Announce(request)) = Request::parse(&buf[..sent.len]) else {
        panic!("expected an announce request");
    };
    assert_eq!(
        request.url_data.as_deref(),
        Some(ENCODED_PATH.as_bytes()),
        "{:?}",
        request.url_data.as_deref().map(String::from_utf8_lossy)
    );
}

/// Answers the first request of an announce to `from` with a redirect to `location`; returns the
/// next request, or the failure cause.
fn redirect(from: &str, location: &str) -> Result<HttpRequest, Cause> {
    let now = test_now();
    let mut a = announce(vec![vec![url(from)]], now);
    let first = a.poll_http_request().expect("the first announce");
    let response = HttpResponse {
        status: 302,
        location: Some(location.to_owned().into()),
        body: Vec::new().into(),
    };
    assert!(a.handle_http_response(now, first.id, &response));
    common::answer_dns(&mut a, now);
    if let Some(next) = a.poll_http_request() {
        return Ok(next);
    }
    loop {
        match a.poll_event().expect("a redirect continues or fails") {
            Event::Failed(f) => return Err(f.cause),
            _ => continue,
        }
    }
}

#[test]
fn redirect_to_a_unicode_location_is_ascii() {
    for (location, expected) in [
        (
            "http://трекер.example/аннонс?ключ=значение#фрагмент",
            format!("http://{IDNA_HOST}{ENCODED_PATH}"),
        ),
        (
            "/аннонс?ключ=значение",
            format!("http://t.example{ENCODED_PATH}"),
        ),
        (
            "//ТРЕКЕР.example:8080/a b?c d|{}",
            format!("http://{IDNA_HOST}:8080/a%20b?c%20d%7C%7B%7D"),
        ),
        ("/x?a\\b", "http://t.example/x?a%5Cb".to_owned()),
    ] {
        let next = redirect("http://t.example/announce", location)
            .unwrap_or_else(|c| panic!("{location}: {c:?}"));
        assert_eq!(next.url.as_str(), expected, "{location}");
        // Parsing its text again gives the same URL.
        assert_eq!(url(next.url.as_str()), next.url);
    }
}

#[test]
fn redirect_to_a_host_idna_refuses_fails_with_the_reason() {
    let cause = redirect("http://t.example/announce", "http://xn--a.example/").unwrap_err();
    assert!(
        matches!(&cause, Cause::Redirect(why) if why.contains("xn--a.example")),
        "{cause:?}"
    );
}

// ----- property: whatever the text, what comes out is ASCII -----

/// Text shaped like a tracker URL, with arbitrary Unicode in every part.
#[derive(Debug, Clone)]
struct UrlText(String);

fn piece(g: &mut Gen, max: usize) -> String {
    const SPECIAL: &[char] = &[
        'т', 'Р', 'ß', 'ü', 'İ', '。', '．', '｡', '：', '／', '\u{200b}', '\u{ad}', '\u{301}',
        '\u{202e}', '😀', '中', '%', '@', ':', '[', ']', '.', '-', '{', '|', '^', '"', '<', '?',
        '/', '&', '=', '+', '#', '\u{fffd}', '\u{ffff}', 'x', 'n', '1', '0',
    ];
    let len = usize::arbitrary(g) % (max + 1);
    (0..len)
        .map(|_| match u8::arbitrary(g) % 4 {
            // Whitespace and controls are refused: keep one in four so most inputs parse.
            0 => match char::arbitrary(g) {
                c if (c.is_whitespace() || c.is_control()) && u8::arbitrary(g) % 4 != 0 => 'é',
                c => c,
            },
            1 => char::from(b'!' + u8::arbitrary(g) % 94),
            _ => *g.choose(SPECIAL).unwrap(),
        })
        .collect()
}

/// A host name of letters from several scripts, digits and separators (most of them valid).
fn host_name(g: &mut Gen) -> String {
    const CHARS: &[char] = &[
        'a', 'z', 'Q', '7', '-', 'т', 'Р', 'ё', 'ß', 'ü', 'İ', 'ς', '中', 'ｱ', 'Ａ', 'é',
        '\u{301}', '\u{200d}', '.', '。', '．', '｡', '%', 'D', '1',
    ];
    let labels = 1 + usize::arbitrary(g) % 4;
    let mut name = String::new();
    for i in 0..labels {
        if i > 0 {
            name.push('.');
        }
        let len = 1 + usize::arbitrary(g) % 10;
        name.extend((0..len).map(|_| *g.choose(CHARS).unwrap()));
    }
    name
}

impl Arbitrary for UrlText {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 8 == 0 {
            return UrlText(String::arbitrary(g));
        }
        let scheme = *g
            .choose(&["udp://", "http://", "https://", "UDP://", "hTTps://"])
            .unwrap();
        let mut s = scheme.to_owned();
        if bool::arbitrary(g) && bool::arbitrary(g) {
            s.push_str(&piece(g, 6));
            s.push('@');
        }
        match u8::arbitrary(g) % 6 {
            0 => s.push_str("[2001:db8::1]"),
            1 => s.push_str(&format!("{}.{}", u8::arbitrary(g), u8::arbitrary(g))),
            2 => s.push_str("xn--e1aaowdh.example"),
            3 => s.push_str(&piece(g, 12)),
            _ => s.push_str(&host_name(g)),
        }
        if s.starts_with(['u', 'U']) || bool::arbitrary(g) {
            s.push_str(&format!(":{}", u16::arbitrary(g)));
        }
        if u8::arbitrary(g) % 8 != 0 {
            s.push(*g.choose(&['/', '/', '?']).unwrap());
        }
        s.push_str(&piece(g, 20));
        UrlText(s)
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink().map(UrlText))
    }
}

/// Every output of a parsed URL is ASCII, and the ASCII form parses back to the same URL.
fn outputs_are_ascii(text: &UrlText) -> bool {
    let Ok(u) = TrackerUrl::parse(&text.0) else {
        return true;
    };
    let mut get = Vec::new();
    write_get_request(&u, "ua", &mut get);
    let http = announce_url(&u, &params()).unwrap_or_default();
    let scrape = scrape_url(&u).unwrap_or_default();
    [u.as_str(), u.host(), u.path_and_query(), u.origin()]
        .iter()
        .all(|s| s.is_ascii())
        && u.to_string().is_ascii()
        && get.is_ascii()
        && http.is_ascii()
        && scrape.is_ascii()
        && TrackerUrl::parse(u.as_str()).ok().as_ref() == Some(&u)
}

#[test]
fn parsing_never_panics_and_every_output_of_a_parsed_url_is_ascii() {
    QuickCheck::new()
        .tests(5000)
        .quickcheck((|t: UrlText| outputs_are_ascii(&t)) as fn(UrlText) -> bool);
    // The generator must produce URLs that parse, or the property checks nothing.
    let mut g = Gen::new(30);
    let parsed = (0..2000)
        .filter(|_| TrackerUrl::parse(&UrlText::arbitrary(&mut g).0).is_ok())
        .count();
    assert!(parsed > 600, "only {parsed} of 2000 generated inputs parse");
}

#[test]
fn a_redirect_to_any_unicode_location_is_ascii_or_refused() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static FOLLOWED: AtomicUsize = AtomicUsize::new(0);
    fn prop(location: UrlText) -> bool {
        match redirect("http://t.example/announce", &location.0) {
            Ok(next) => {
                FOLLOWED.fetch_add(1, Ordering::Relaxed);
                next.url.as_str().is_ascii() && !next.url.as_str().contains('#')
            }
            Err(Cause::Redirect(_)) => true,
            Err(_) => false,
        }
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(UrlText) -> bool);
    // Most generated locations must be followed, or the property checks little.
    let followed = FOLLOWED.load(Ordering::Relaxed);
    assert!(
        followed > 100,
        "only {followed} of 500 redirects were followed"
    );
}
