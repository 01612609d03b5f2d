//! Error messages a person reads say each thing once and repeat at most `MAX_ECHO_CHARS`
//! characters of what they were given: a message that wraps another one does not say the other's
//! words again, and a 2 KB tracker URL is not printed whole.

mod common;

use common::start;
use std::time::Instant;

use bt_tracker::announce::{Announce, Cause, Config, Event, Progress, Torrent};
use bt_tracker::client::Client;
use bt_tracker::http::{HttpResponse, check_tracker_query};
use bt_tracker::limits::MAX_ECHO_CHARS;
use bt_tracker::udp::Reply;
use bt_tracker::{AddressFamily, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([4; 20]),
        peer_id: PeerId(*b"-BT0001-errortext001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    }
}

fn url(s: &str) -> TrackerUrl {
    TrackerUrl::parse(s).unwrap()
}

fn machine(tracker: &str, now: Instant) -> Announce {
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    Announce::new(
        Config::default(),
        torrent(),
        vec![vec![url(tracker)]],
        &mut rng,
        now,
    )
    .unwrap()
}

/// The failure of an HTTP announce answered with `body`.
fn http_failure(body: &'static [u8]) -> Cause {
    let now = start();
    let mut a = machine("http://10.0.0.1/announce", now);
    let r = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, r.id, &HttpResponse::new(200, None, body)));
    match a.poll_event() {
        Some(Event::Failed(f)) => f.cause,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_reply_message_says_what_is_wrong_once() {
    for (body, words) in [
        (&b"<html>hello</html>"[..], "bencoded dictionary"),
        (b"d8:intervali1800e5:peers", "bencode"),
        (b"d8:intervali18x0ee", "bencode"),
    ] {
        let cause = http_failure(body);
        assert!(matches!(cause, Cause::BadReply(_)), "{cause:?}");
        let text = cause.to_string();
        assert_eq!(text.matches("the tracker's reply").count(), 1, "{text}");
        assert_eq!(text.matches(words).count(), 1, "{text}");
    }
    // A UDP reply with an unknown action (old opentracker's error action in host byte order).
    let datagram = [3, 0, 0, 0, 0, 0, 0, 9, b'x'];
    let text = Reply::parse(&datagram, AddressFamily::V4)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("the tracker's reply to transaction"),
        "{text}"
    );
}

/// An error's message shows at most `MAX_ECHO_CHARS` characters of the text it names, cut with
/// `…`, quoted or not as the message had it.
fn assert_echo_cut(text: &str, long: &str) {
    let shown: String = long.chars().take(MAX_ECHO_CHARS).collect();
    assert!(text.contains(&format!("{shown}…")), "{text}");
    let more: String = long.chars().take(MAX_ECHO_CHARS + 1).collect();
    assert!(!text.contains(&more), "{text}");
}

#[test]
fn an_error_echoes_at_most_a_hundred_characters_of_a_long_url() {
    let now = start();
    let long = format!("udp://10.0.0.1:6969/{}", "a".repeat(2_000));
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let built = Announce::new(
        Config::default(),
        torrent(),
        vec![vec![url(&long)]],
        &mut rng,
        now,
    );
    let text = built.err().unwrap().to_string();
    assert_echo_cut(&text, &long);
    assert!(text.contains("2001 bytes"), "{text}");
    let mut a = machine("udp://10.0.0.2:6969", now);
    let text = a.add_tracker(now, url(&long), 0).unwrap_err().to_string();
    assert_echo_cut(&text, &long);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let t = client
        .add(now, torrent(), vec![vec![url("udp://10.0.0.2:6969")]])
        .unwrap();
    let replaced = client.replace_trackers(now, t, vec![vec![url(&long)]]);
    assert_echo_cut(&replaced.unwrap_err().to_string(), &long);

    // Every way a URL is refused, at any length.
    let tail = "b".repeat(2_000);
    for bad in [
        format!("ftp://tracker.example/{tail}"),
        format!("tracker.example:6969/{tail}"),
        format!("udp://tracker.example/{tail}"),
        format!("udp://tracker.example:0/{tail}"),
        format!("udp://u:p@tracker.example:6969/{tail}"),
        format!("http://tracker.example/a b{tail}"),
        format!("http://xn--a/{tail}"),
        format!("udp://0.0.0.0:6969/{tail}"),
    ] {
        let text = TrackerUrl::parse(&bad).unwrap_err().to_string();
        assert!(text.chars().count() < 600, "{bad:.30}: {text}");
        assert!(text.contains('…'), "{text}");
    }
    let text = check_tracker_query(&url(&format!("udp://10.0.0.1:6969/{tail}")))
        .unwrap_err()
        .to_string();
    assert!(text.contains('…') && text.chars().count() < 300, "{text}");
}

#[test]
fn a_refused_url_is_named_once_in_its_message() {
    let now = start();
    let mut a = machine("http://10.0.0.1/announce", now);
    let spelled = "http://10.0.0.2/announce?info_hash=x";
    let text = a.add_tracker(now, url(spelled), 0).unwrap_err().to_string();
    assert_eq!(text.matches(spelled).count(), 1, "{text}");
    assert!(text.contains("\"info_hash\""), "{text}");
}
