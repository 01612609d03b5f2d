//! Credentials in a tracker URL, one rule for every output: an `http(s)://user:password@host`
//! URL keeps them for the HTTP client (`as_str`) and the raw-stream writer (`Authorization: Basic`,
//! as libtorrent and curl send them); everything a person reads (`Display`, `Debug`, errors,
//! refused redirects) shows the password as `xxxxx`; a `udp://` URL, which cannot carry them, is
//! refused with what to do.

mod common;

use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, ConfigError, Event, HttpRequest, Progress, Torrent,
};
use bt_tracker::http::{HttpResponse, check_tracker_query, write_get_request};
use bt_tracker::{InfoHash, PeerId, TrackerUrl, TrackerUrlError};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const SECRET: &str = "s3cr3t-pw";

fn url(text: &str) -> TrackerUrl {
    TrackerUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn announce(text: &str) -> Result<Announce, ConfigError> {
    let torrent = Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-credentials1"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = Instant::now();
    let mut a = Announce::new(
        Config::default(),
        torrent,
        vec![vec![url(text)]],
        &mut ChaCha12Rng::seed_from_u64(1),
        now,
    )?;
    common::answer_dns(&mut a, now);
    Ok(a)
}

fn request_head(request_url: &TrackerUrl) -> String {
    let mut out = Vec::new();
    write_get_request(request_url, "bt-tracker-test", &mut out);
    String::from_utf8(out).unwrap()
}

/// Answers the first request with a redirect to `location`: the next request, or the cause.
fn redirect(from: &str, location: &str) -> Result<HttpRequest, Cause> {
    let mut a = announce(from).unwrap();
    let first = a.poll_http_request().expect("the first announce");
    let response = HttpResponse::new(302, Some(location), &[][..]);
    let at = first.deadline - Duration::from_secs(1);
    assert!(a.handle_http_response(at, first.id, &response));
    common::answer_dns(&mut a, at);
    if let Some(next) = a.poll_http_request() {
        return Ok(next);
    }
    while let Some(event) = a.poll_event() {
        if let Event::Failed(f) = event {
            return Err(f.cause);
        }
    }
    panic!("a redirect either continues or fails")
}

#[test]
fn udp_urls_with_credentials_are_refused_with_what_to_do() {
    for (text, shown) in [
        (
            "udp://user:s3cr3t-pw@10.0.0.1:6969/announce?k=1",
            "udp://user:xxxxx@10.0.0.1:6969/announce?k=1",
        ),
        ("udp://user@t.example:6969", "udp://user@t.example:6969"),
        (
            "UDP://u:s3cr3t-pw@T.example:6969/",
            "UDP://u:xxxxx@T.example:6969/",
        ),
    ] {
        let e = TrackerUrl::parse(text).expect_err(text);
        assert_eq!(e, TrackerUrlError::UdpUserinfo(shown.to_owned()), "{text}");
        let message = e.to_string();
        assert!(!message.contains(SECRET), "{message}");
        assert!(message.contains("remove the part before '@'"), "{message}");
        assert!(message.contains("passkey"), "{message}");
    }
}

#[test]
fn http_credentials_reach_the_http_client_and_the_raw_request_as_basic_auth() {
    for (text, origin) in [
        (
            "http://user:s3cr3t-pw@10.0.0.1/announce",
            "http://user:s3cr3t-pw@10.0.0.1",
        ),
        (
            "https://user:s3cr3t-pw@10.0.0.1:443/announce",
            "https://user:s3cr3t-pw@10.0.0.1",
        ),
    ] {
        let mut a = announce(text).unwrap();
        let request = a.poll_http_request().expect("the first announce");
        // What reqwest or curl is given: they send the userinfo as basic auth themselves.
        assert!(
            request
                .url
                .as_str()
                .starts_with(&format!("{origin}/announce?info_hash=")),
            "{}",
            request.url.as_str()
        );
        let head = request_head(&request.url);
        assert!(head.starts_with("GET /announce?info_hash="), "{head}");
        assert!(head.contains("\r\nHost: 10.0.0.1\r\n"), "{head}");
        // base64("user:s3cr3t-pw")
        assert!(
            head.contains("\r\nAuthorization: Basic dXNlcjpzM2NyM3QtcHc=\r\n"),
            "{head}"
        );
    }
}

#[test]
fn basic_auth_credentials_are_percent_decoded_before_encoding() {
    for (text, credentials) in [
        // "us@r:p:ss w"
        ("http://us%40r:p%3Ass%20w@t.example/a", "dXNAcjpwOnNzIHc="),
        // A user name alone: "token:"
        ("http://token@t.example/a", "dG9rZW46"),
        // Non-ASCII, percent-encoded by the parser as UTF-8: "üser:п"
        ("http://üser:п@t.example/a", "w7xzZXI60L8="),
    ] {
        let head = request_head(&url(text));
        assert!(
            head.contains(&format!("\r\nAuthorization: Basic {credentials}\r\n")),
            "{text}: {head}"
        );
    }
    let head = request_head(&url("http://t.example/a"));
    assert!(!head.contains("Authorization"), "{head}");
}

#[test]
fn a_password_shows_only_through_as_str() {
    let u = url("http://user:s3cr3t-pw@t.example/announce");
    assert_eq!(u.as_str(), "http://user:s3cr3t-pw@t.example/announce");
    assert_eq!(u.to_string(), "http://user:xxxxx@t.example/announce");
    assert_eq!(
        format!("{u:?}"),
        "TrackerUrl(\"http://user:xxxxx@t.example/announce\")"
    );
    let mut a = announce("http://user:s3cr3t-pw@10.0.0.1/announce").unwrap();
    let request = a.poll_http_request().unwrap();
    let debug = format!("{request:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("user:xxxxx@10.0.0.1"), "{debug}");
    for s in a.trackers() {
        assert!(!format!("{s:?}").contains(SECRET));
    }
}

#[test]
fn errors_about_a_url_with_a_password_do_not_show_it() {
    let parse_errors = [
        "http://user:s3cr3t-pw@t.example/a b",
        "user:s3cr3t-pw@t.example:6969",
        "http://user:s3cr3t-pw@[fe80::1%25eth0]/a",
        "http://user:s3cr3t-pw@255.255.255.255/a",
        "http://user:s3cr3t-pw@t.example:0/a",
        "ftp://user:s3cr3t-pw@t.example/a",
    ];
    for text in parse_errors {
        let message = TrackerUrl::parse(text).expect_err(text).to_string();
        assert!(!message.contains(SECRET), "{message}");
        assert!(message.contains("user:xxxxx@"), "{message}");
    }
    let prefilled = "http://user:s3cr3t-pw@t.example/a?info_hash=x";
    let message = check_tracker_query(&url(prefilled))
        .unwrap_err()
        .to_string();
    assert!(!message.contains(SECRET), "{message}");
    let message = announce(prefilled).expect_err(prefilled).to_string();
    assert!(!message.contains(SECRET), "{message}");
    assert!(message.contains("user:xxxxx@t.example"), "{message}");
}

#[test]
fn refused_redirects_do_not_show_a_password() {
    for (from, location) in [
        (
            "https://user:s3cr3t-pw@tracker.example/announce",
            "http://user:s3cr3t-pw@tracker.example/announce",
        ),
        (
            "http://tracker.example/announce",
            "http://user:s3cr3t-pw@127.0.0.1/admin",
        ),
        (
            "http://tracker.example/announce",
            "http://user:s3cr3t-pw@255.255.255.255/x",
        ),
    ] {
        let cause = redirect(from, location).expect_err(location);
        let text = format!("{cause:?} {cause}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("user:xxxxx@"), "{text}");
    }
}

#[test]
fn credentials_follow_a_relative_redirect_but_not_one_to_an_absolute_url() {
    let from = "http://user:s3cr3t-pw@tracker.example/announce";
    let same = redirect(from, "/v2/announce").unwrap();
    assert_eq!(
        same.url.as_str(),
        "http://user:s3cr3t-pw@tracker.example/v2/announce"
    );
    let other = redirect(from, "http://mirror.example/announce").unwrap();
    assert_eq!(other.url.as_str(), "http://mirror.example/announce");
    assert!(!request_head(&other.url).contains("Authorization"));
}
