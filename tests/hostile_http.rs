//! HTTP trackers that misbehave on purpose, on loopback, against the machine driven through the
//! examples' socket glue (raw `TcpStream` with the crate's HTTP/1.1 framing, 1 MiB body cap).
//! Each test states the outcome a careful client gives, checks it comes by the configured deadline,
//! and bounds the heap the whole exchange used. Where a misbehaviour is one of the tracker
//! machine's (`bt_tracker::tracker::Behaviour`: silence, failure texts, redirect loops, a reply
//! under status 500), the machine serves it; framing and body damage stays hand-written.
//! (https-to-http redirects are refused before any socket is involved: `tests/url_policy.rs`.)

mod hostile;
mod net;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use bt_tracker::announce::{Announced, Cause, Config, Failed, TransportError};
use bt_tracker::tracker::{Behaviour, Redirect, TrackerConfig};
use hostile::{
    failed_within, http_tracker, machine, machine_http_tracker, peers, quick_config, scenario,
};
use net::glue::embedded::write_response;
use net::glue::now;
use net::{Peer, info_hash};

/// Peak heap growth of an HTTP scenario, client and hostile tracker together: the 1 MiB body cap,
/// the reader's buffers and the body vector's growth stay well inside it, whatever the tracker
/// sends (50 MiB bodies included).
const HTTP_HEAP_BOUND: usize = 4 << 20;

/// A compact announce body with `n` peers and the given extra keys (sorted bencode).
fn body(n: usize, extra: &str) -> Vec<u8> {
    let mut compact = Vec::new();
    for p in peers(n) {
        let std::net::SocketAddr::V4(v4) = p else {
            unreachable!()
        };
        compact.extend_from_slice(&v4.ip().octets());
        compact.extend_from_slice(&v4.port().to_be_bytes());
    }
    let mut out = format!("d{extra}5:peers{}:", compact.len()).into_bytes();
    out.extend_from_slice(&compact);
    out.push(b'e');
    out
}

/// Runs one announce against a tracker answering every connection with `answer`.
fn announce_with(
    name: &str,
    config: Config,
    answer: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static,
) -> (Result<Announced, Failed>, Duration, usize) {
    announce_with_server(name, config, move || http_tracker(answer))
}

/// Runs one announce against the tracker `server` starts (inside the scenario).
fn announce_with_server(
    name: &str,
    config: Config,
    server: impl FnOnce() -> hostile::Server,
) -> (Result<Announced, Failed>, Duration, usize) {
    let ((outcome, took), heap) = scenario(name, || {
        let server = server();
        let url = format!("http://{}/announce", server.addr);
        let start = now();
        let mut peer = Peer::with_config(&url, info_hash(name), 1, 1, config);
        let outcome = peer.next_announce();
        (outcome, now().duration_since(start))
    });
    assert!(heap < HTTP_HEAP_BOUND, "{name}: {heap} bytes");
    (outcome, took, heap)
}

fn failure(name: &str, answer: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static) -> Cause {
    failure_from(name, move || http_tracker(answer))
}

/// The cause an announce to the tracker `server` starts fails with, by the deadline.
fn failure_from(name: &str, server: impl FnOnce() -> hostile::Server) -> Cause {
    let config = quick_config();
    let deadline = config.http_timeout;
    let (outcome, took, _) = announce_with_server(name, config, server);
    assert!(took <= deadline + hostile::SLACK, "{name}: took {took:?}");
    outcome.expect_err(name).cause
}

fn success(name: &str, answer: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static) -> Announced {
    let (outcome, _, _) = announce_with(name, quick_config(), answer);
    outcome.unwrap_or_else(|f| panic!("{name}: {}", f.cause))
}

#[test]
fn a_negative_or_string_interval_falls_back_to_the_default() {
    for (name, extra) in [("neg", "8:intervali-5e"), ("str", "8:interval4:1800")] {
        let seen = success(name, move |s, _| {
            write_response(s, "200 OK", "", &body(2, extra))
        });
        assert_eq!(seen.interval, Duration::from_secs(1800), "{name}");
        assert_eq!(seen.peers, peers(2), "{name}");
    }
}

#[test]
fn a_failure_reason_fails_the_announce_with_or_without_peers() {
    for with_peers in [false, true] {
        let cause = if with_peers {
            failure("failure", move |s, _| {
                write_response(s, "200 OK", "", &body(3, "14:failure reason6:banned"))
            })
        } else {
            // The tracker machine's failure reply: `d14:failure reason6:bannede`.
            let failing = Behaviour::failing("banned", None);
            failure_from("failure", || {
                machine_http_tracker(machine(TrackerConfig::default(), failing))
            })
        };
        assert_eq!(
            cause,
            Cause::Tracker {
                reason: "banned".to_owned(),
                retry_in: None
            }
        );
    }
}

#[test]
fn invalid_bencode_is_a_bad_reply() {
    for bad in [
        &b"d8:intervali1800e5:peers"[..],
        b"<html>oops</html>",
        b"",
        b"i42e",
    ] {
        let cause = failure("invalid", move |s, _| write_response(s, "200 OK", "", bad));
        assert!(matches!(cause, Cause::BadReply(_)), "{bad:?}: {cause:?}");
    }
}

#[test]
fn a_megabyte_of_nesting_is_refused_without_recursion() {
    // A dictionary whose value opens a megabyte of lists (inside the 1 MiB body cap).
    let cause = failure("nesting", |s, _| {
        let mut b = b"d8:interval".to_vec();
        b.resize(1 << 20, b'l');
        write_response(s, "200 OK", "", &b);
    });
    assert!(
        matches!(&cause, Cause::BadReply(why) if why.contains("deep")),
        "{cause:?}"
    );
}

/// Writes `len` bytes of body from a small buffer (the tracker side must not hold 50 MiB either).
fn stream_body(s: &mut TcpStream, len: usize) {
    let chunk = [b'x'; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        if s.write_all(&chunk[..n]).is_err() {
            return; // the client hung up: expected once it has seen enough
        }
        left -= n;
    }
}

#[test]
fn fifty_megabyte_bodies_are_refused_at_the_cap_with_or_without_content_length() {
    let cause = failure("50MiB-length", |s, _| {
        let _ = s.write_all(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 50 << 20).as_bytes(),
        );
        stream_body(s, 50 << 20);
    });
    assert_eq!(cause, Cause::Transport(TransportError::BadResponse));
    let cause = failure("50MiB-close", |s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        stream_body(s, 50 << 20);
    });
    assert_eq!(cause, Cause::Transport(TransportError::BadResponse));
}

#[test]
fn a_chunked_body_is_read() {
    let seen = success("chunked", |s, _| {
        let b = body(3, "8:intervali900e");
        let (head, tail) = b.split_at(7);
        let _ = write!(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let _ = write!(s, "{:x};ext=1\r\n", head.len());
        let _ = s.write_all(head);
        let _ = write!(s, "\r\n{:x}\r\n", tail.len());
        let _ = s.write_all(tail);
        let _ = s.write_all(b"\r\n0\r\nX-Trailer: y\r\n\r\n");
    });
    assert_eq!(seen.peers, peers(3));
    assert_eq!(seen.interval, Duration::from_secs(900));
}

fn drip(s: &mut TcpStream, every: Duration) {
    let b = body(2, "");
    let response = [
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", b.len()).into_bytes(),
        b,
    ]
    .concat();
    for byte in response {
        if s.write_all(&[byte]).is_err() {
            return;
        }
        std::thread::sleep(every);
    }
}

#[test]
fn a_slow_drip_succeeds_within_the_deadline_and_times_out_past_it() {
    let mut patient = quick_config();
    patient.http_timeout = Duration::from_secs(8);
    // About 60 bytes at 20 ms each: 1.2 s, inside the 8 s deadline.
    let (outcome, _, _) = announce_with("drip-ok", patient, |s, _| {
        drip(s, Duration::from_millis(20))
    });
    assert_eq!(outcome.expect("a slow but timely reply").peers, peers(2));
    // 100 ms a byte: 6 s, past the 2 s deadline.
    let cause = failure("drip-late", |s, _| drip(s, Duration::from_millis(100)));
    assert_eq!(cause, Cause::Timeout);
}

#[test]
fn a_tracker_that_never_answers_times_out_at_the_deadline() {
    // The tracker machine does not answer; its socket glue holds the connection until the client
    // gives up.
    let (outcome, took, _) = announce_with_server("silent", quick_config(), || {
        machine_http_tracker(machine(TrackerConfig::default(), Behaviour::silent()))
    });
    let failed = failed_within(outcome, now() - took, quick_config().http_timeout);
    assert_eq!(failed.cause, Cause::Timeout);
    assert!(
        took >= quick_config().http_timeout,
        "not before the deadline: {took:?}"
    );
}

#[test]
fn a_connection_closed_or_reset_before_the_response_is_a_reset() {
    let cause = failure("closed", |_, _| {}); // the stream is dropped: FIN, no response
    assert_eq!(cause, Cause::Transport(TransportError::ConnectionReset));
    let cause = failure("half-response", |s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
    });
    assert_eq!(cause, Cause::Transport(TransportError::ConnectionReset));
    let cause = failure("reset", |s, _| {
        // SO_LINGER 0: closing sends a TCP reset instead of a FIN.
        let _ = socket2::SockRef::from(&*s).set_linger(Some(Duration::ZERO));
    });
    assert_eq!(cause, Cause::Transport(TransportError::ConnectionReset));
}

#[test]
fn content_length_shorter_than_the_body_reads_just_that_and_larger_is_refused() {
    // The announce dict, then garbage the Content-Length does not cover.
    let seen = success("short-length", |s, _| {
        let b = body(2, "");
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", b.len());
        let _ = s.write_all(&b);
        let _ = s.write_all(b"garbage that is not part of the body");
    });
    assert_eq!(seen.peers, peers(2));
    // Larger than what comes, then the close: cut short.
    let cause = failure("long-length", |s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nd8:intervali1800ee");
    });
    assert_eq!(cause, Cause::Transport(TransportError::ConnectionReset));
    // Absurdly larger than the cap: refused at the head, nothing allocated for it.
    let cause = failure("absurd-length", |s, _| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nd8:intervali1800ee",
        );
    });
    assert_eq!(cause, Cause::Transport(TransportError::BadResponse));
}

#[test]
fn redirect_loops_and_redirects_without_location_fail_with_the_reason() {
    // The tracker machine redirects every request to its own target.
    let mut looping = Behaviour::honest();
    looping.redirect = Some(Redirect::Loop);
    let cause = failure_from("loop", || {
        machine_http_tracker(machine(TrackerConfig::default(), looping))
    });
    assert!(
        matches!(&cause, Cause::Redirect(why) if why.contains("more than 5 redirects")),
        "{cause:?}"
    );
    let cause = failure("no-location", |s, _| {
        write_response(s, "301 Moved Permanently", "", b"")
    });
    assert!(
        matches!(&cause, Cause::Redirect(why) if why.contains("without a Location")),
        "{cause:?}"
    );
}

#[test]
fn http_500_with_a_valid_looking_body_is_an_http_error() {
    // The tracker machine's normal reply (three peers), sent with status 500.
    let mut config = TrackerConfig::default();
    config.extra_peers = peers(3);
    let mut broken = Behaviour::honest();
    broken.reply_status = Some(500);
    let cause = failure_from("500", || machine_http_tracker(machine(config, broken)));
    assert_eq!(cause, Cause::HttpStatus(500));
}

#[test]
fn gzip_sent_unasked_is_inflated() {
    let seen = success("gzip", |s, _| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body(4, "")).unwrap();
        let gz = gz.finish().unwrap();
        write_response(s, "200 OK", "Content-Encoding: gzip\r\n", &gz);
    });
    assert_eq!(seen.peers, peers(4));
}
