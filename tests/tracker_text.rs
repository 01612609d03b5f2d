//! Text a tracker sends (`failure reason`, `warning message`, a UDP error reply's message, a
//! redirect's `Location`) is kept and handed out at most `MAX_TRACKER_TEXT_LEN` bytes long, cut at
//! a UTF-8 character boundary, however much the tracker sent: in the event, in the failure cause,
//! in the tracker status, and in every torrent's copy behind a shared `Client` tracker.

mod common;

use common::start;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Cause, Config, Event, Progress, Torrent};
use bt_tracker::client::Client;
use bt_tracker::http::{AnnounceResponse, HttpResponse};
use bt_tracker::limits::MAX_TRACKER_TEXT_LEN;
use bt_tracker::udp::ErrorResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent(n: u32) -> Torrent {
    let mut hash = [0; 20];
    hash[..4].copy_from_slice(&n.to_be_bytes());
    Torrent {
        info_hash: InfoHash(hash),
        peer_id: PeerId(*b"-BT0001-textcap00001"),
        port: 6881,
        progress: Progress::default(),
        key: Some(1),
    }
}

fn http_machine(now: Instant) -> Announce {
    let url = TrackerUrl::parse("http://10.0.0.1/announce").unwrap();
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    Announce::new(
        Config::default(),
        torrent(0),
        vec![vec![url]],
        &mut rng,
        now,
    )
    .unwrap()
}

/// A text of `len` bytes whose characters are 3 bytes long ("€"), so a cut at the cap (1,024 is
/// not a multiple of 3) falls inside one.
fn euros(len: usize) -> String {
    "€".repeat(len / 3)
}

/// The longest prefix of `text` on a character boundary that fits the cap.
fn capped(text: &str) -> &str {
    let mut end = text.len().min(MAX_TRACKER_TEXT_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn reason(cause: &Cause) -> &str {
    match cause {
        Cause::Tracker { reason, .. } | Cause::RetryNever { reason } => reason,
        other => panic!("not a tracker refusal: {other:?}"),
    }
}

#[test]
fn a_megabyte_failure_reason_is_kept_and_reported_cut_to_the_cap_at_a_char_boundary() {
    let t0 = start();
    for retry_never in [false, true] {
        let mut a = http_machine(t0);
        let req = a.poll_http_request().unwrap();
        let text = euros(1_000_000);
        let extra = if retry_never { "8:retry in5:never" } else { "" };
        let body = format!("d14:failure reason{}:{text}{extra}e", text.len());
        a.handle_http_response(t0, req.id, &HttpResponse::new(200, None, body.as_bytes()));
        let Some(Event::Failed(f)) = a.poll_event() else {
            panic!("the refusal is a failure")
        };
        assert_eq!(reason(&f.cause), capped(&text));
        assert!(reason(&f.cause).len() <= MAX_TRACKER_TEXT_LEN);
        assert!(reason(&f.cause).len() > MAX_TRACKER_TEXT_LEN - 3);
        let status = a.trackers().next().unwrap();
        assert_eq!(status.message, Some(capped(&text)));
        assert_eq!(reason(status.last_error.unwrap().0), capped(&text));
    }
}

#[test]
fn a_megabyte_warning_message_is_kept_and_reported_cut_to_the_cap() {
    let t0 = start();
    let mut a = http_machine(t0);
    let req = a.poll_http_request().unwrap();
    let text = euros(1_000_000);
    let body = format!(
        "d8:intervali1800e5:peers0:15:warning message{}:{text}e",
        text.len()
    );
    a.handle_http_response(t0, req.id, &HttpResponse::new(200, None, body.as_bytes()));
    let Some(Event::Announced(ok)) = a.poll_event() else {
        panic!("a warning is a success")
    };
    assert_eq!(ok.warning.as_deref(), Some(capped(&text)));
    assert_eq!(a.trackers().next().unwrap().message, Some(capped(&text)));
}

#[test]
fn a_redirect_refused_for_a_huge_location_keeps_its_reason_under_the_cap() {
    let t0 = start();
    let mut a = http_machine(t0);
    let req = a.poll_http_request().unwrap();
    // Not a URL: the reason quotes it.
    let location = format!("http://[{}", "x".repeat(12_000));
    a.handle_http_response(t0, req.id, &HttpResponse::new(302, Some(&location), b""));
    let Some(Event::Failed(f)) = a.poll_event() else {
        panic!("a bad redirect fails")
    };
    let Cause::Redirect(why) = &f.cause else {
        panic!("{:?}", f.cause)
    };
    assert!(why.len() <= MAX_TRACKER_TEXT_LEN, "{} bytes", why.len());
    assert!(why.contains("is not a URL"), "{why}");
}

#[test]
fn the_codecs_text_views_are_cut_to_the_cap_and_keep_every_raw_byte() {
    // Invalid bytes grow by lossy decoding (one byte becomes a 3-byte U+FFFD): still capped.
    let bad = vec![0xFF; 5_000];
    let body = [b"d14:failure reason5000:".as_slice(), &bad, b"e"].concat();
    let Ok(AnnounceResponse::Failure(f)) = AnnounceResponse::decode(&body) else {
        panic!("a failure reply")
    };
    assert_eq!(f.reason.len(), 5_000);
    let text = f.reason_text();
    assert_eq!(text, "\u{FFFD}".repeat(MAX_TRACKER_TEXT_LEN / 3));
    // A short text is unchanged and borrowed.
    let short = ErrorResponse {
        transaction_id: 1,
        message: b"unregistered torrent\0",
    };
    assert!(matches!(
        short.message_text(),
        std::borrow::Cow::Borrowed("unregistered torrent")
    ));
    let long = euros(65_000);
    let udp = ErrorResponse {
        transaction_id: 1,
        message: long.as_bytes(),
    };
    assert_eq!(udp.message_text(), capped(&long));
}

/// Many torrents behind one UDP tracker that answers every announce with a 65 KB error reply: each
/// torrent's event, cause and status hold at most the cap (2,000 torrents held 386 MB before).
#[test]
fn a_shared_udp_tracker_s_huge_error_replies_cost_each_torrent_at_most_the_cap() {
    let t0 = start();
    let tracker: SocketAddr = "10.0.0.1:6969".parse().unwrap();
    let url = TrackerUrl::parse("udp://10.0.0.1:6969").unwrap();
    let mut c = Client::new(Config::default(), &mut ChaCha12Rng::seed_from_u64(1), t0).unwrap();
    let n = 50;
    for i in 0..n {
        c.add(t0, torrent(i), vec![vec![url.clone()]]).unwrap();
    }
    let text = "E".repeat(65_000);
    let mut buf = Vec::new();
    let mut failed = 0;
    let mut now = t0;
    for _ in 0..200 {
        let mut requests = Vec::new();
        while c.poll_transmit(&mut buf).is_some() {
            requests.push(buf.clone());
        }
        if requests.is_empty() {
            now += Duration::from_secs(1);
            c.handle_timeout(now);
        }
        for req in requests {
            let txid = &req[12..16];
            let reply = if req.len() == 16 {
                [&[0, 0, 0, 0], txid, &[7; 8]].concat()
            } else {
                [&[0, 0, 0, 3], txid, text.as_bytes()].concat()
            };
            c.handle_datagram(now, tracker, &reply);
        }
        while let Some((_, event)) = c.poll_event() {
            if let Event::Failed(f) = event {
                assert_eq!(reason(&f.cause), &text[..MAX_TRACKER_TEXT_LEN]);
                failed += 1;
            }
        }
        if failed == n {
            break;
        }
    }
    assert_eq!(failed, n);
    for id in c.torrents().collect::<Vec<_>>() {
        let status = c.trackers(id).next().unwrap();
        assert_eq!(status.message.map(str::len), Some(MAX_TRACKER_TEXT_LEN));
        assert_eq!(
            reason(status.last_error.unwrap().0).len(),
            MAX_TRACKER_TEXT_LEN
        );
    }
}
