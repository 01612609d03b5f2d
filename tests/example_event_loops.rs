//! The event-loop examples' glue (mio, tokio, game loop): the non-blocking HTTP request
//! (`examples/common/http_conn.rs`), the TLS roots and `--ca-file` (`tls.rs`), the resolver thread,
//! and their shared command line. The HTTPS path against a real TLS tracker is in
//! `tests/interop_webtorrent.rs`.

mod net;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bt_tracker::PeerId;
use bt_tracker::TrackerUrl;
use bt_tracker::announce::{
    Announce, Cause, Config, Event, Progress, RequestId, TierMode, Torrent, TransportError,
};
use bt_tracker::http::{DEFAULT_MAX_BODY_LEN, HttpResponse};
use net::glue::cli::parse_loop_args;
use net::glue::embedded::{EmbeddedTracker, sample_peers};
use net::glue::http::TransportFailure;
use net::glue::http_conn::{HttpConn, connect_nonblocking};
use net::glue::resolver::Resolver;
use net::glue::{now, tls};
use net::{Peer, STEP, info_hash};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// Carries out `peer`'s first HTTP request on a non-blocking connection to `addr`, pumping as a
/// tick would (bounded by [`STEP`]). Returns the request's id and outcome.
fn pump_request(
    peer: &mut Peer,
    addr: SocketAddr,
) -> (RequestId, Result<HttpResponse<'static>, TransportFailure>) {
    let config = Arc::new(tls::client_config(None).expect("the TLS configuration"));
    let request = peer
        .driver
        .announce
        .poll_http_request()
        .expect("the started announce");
    let stream = connect_nonblocking(addr).expect("a non-blocking connect starts");
    let mut conn = HttpConn::new(&request, stream, &config).expect("an http:// request");
    let until = now() + STEP;
    loop {
        if let Some(result) = conn.pump() {
            return (request.id, result);
        }
        assert!(now() < until, "no outcome within {STEP:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A one-connection HTTP server on loopback that reads the request and answers `reply`, then
/// closes. Returns its address.
fn one_shot_server(reply: impl FnOnce(&mut TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            reply(&mut stream);
        }
    });
    addr
}

#[test]
fn a_nonblocking_request_to_the_embedded_tracker_returns_its_peer_list() {
    let tracker = EmbeddedTracker::start(sample_peers()).expect("embedded tracker");
    let url = tracker.http_url();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut peer = Peer::new(&url, info_hash("nonblocking-http"), 1, 1000);
    let (id, response) = pump_request(&mut peer, addr);
    let response = response.expect("answered");
    assert_eq!(response.status, 200);
    let announce = &mut peer.driver.announce;
    assert!(announce.handle_http_response(now(), id, &response));
    let announced = std::iter::from_fn(|| announce.poll_event())
        .find_map(|e| match e {
            Event::Announced(a) => Some(a),
            _ => None,
        })
        .expect("the machine read the reply as an announce");
    let mut peers = announced.peers;
    peers.sort();
    let mut want = sample_peers();
    want.sort();
    assert_eq!(peers, want, "the embedded tracker's sample peers");
}

#[test]
fn a_response_cut_short_by_the_server_closing_is_a_reset_connection() {
    let addr = one_shot_server(|stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nd8:intervali");
    });
    let mut peer = Peer::new("http://127.0.0.1:9/announce", info_hash("cut"), 1, 1000);
    let e = pump_request(&mut peer, addr).1.expect_err("truncated");
    assert_eq!(e.kind, TransportError::ConnectionReset, "{}", e.detail);
}

#[test]
fn a_body_over_the_cap_is_refused_without_reading_it_all() {
    let addr = one_shot_server(|stream| {
        let len = DEFAULT_MAX_BODY_LEN * 4;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..len / chunk.len() {
            if stream.write_all(&chunk).is_err() {
                return; // the client hung up, as it should
            }
        }
    });
    let mut peer = Peer::new("http://127.0.0.1:9/announce", info_hash("huge"), 1, 1000);
    let e = pump_request(&mut peer, addr).1.expect_err("over the cap");
    assert_eq!(e.kind, TransportError::BadResponse, "{}", e.detail);
}

#[test]
fn a_refused_nonblocking_connect_is_reported_as_refused() {
    // A port that was listening a moment ago: nothing is there now.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut peer = Peer::new("http://127.0.0.1:9/announce", info_hash("refused"), 1, 1000);
    let e = pump_request(&mut peer, addr).1.expect_err("refused");
    assert_eq!(e.kind, TransportError::ConnectionRefused, "{}", e.detail);
}

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_with_its_path() {
    let missing = std::env::temp_dir().join(format!("bt-tracker-no-ca-{}.pem", std::process::id()));
    let e = tls::client_config(Some(&missing)).unwrap_err();
    assert!(
        e.starts_with(&format!("--ca-file {}: ", missing.display())),
        "{e}"
    );

    let empty =
        std::env::temp_dir().join(format!("bt-tracker-empty-ca-{}.pem", std::process::id()));
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let e = tls::client_config(Some(&empty)).unwrap_err();
    let _ = std::fs::remove_file(&empty);
    assert_eq!(
        e,
        format!(
            "--ca-file {}: no CERTIFICATE in the file (give the CA's certificate in PEM)",
            empty.display()
        )
    );
    // Without the option, webpki's roots are trusted.
    let roots = tls::root_certs(None).unwrap();
    assert!(roots.len() > 100, "{} roots", roots.len());
}

#[test]
fn a_damaged_pem_ca_file_is_refused_in_words_not_byte_lists() {
    let cases = [
        (
            "base64",
            "-----BEGIN CERTIFICATE-----\nMIIB!!!not base64!!!\n-----END CERTIFICATE-----\n",
            "base64 text is damaged",
        ),
        (
            "cut",
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n",
            "no `-----END CERTIFICATE-----` line",
        ),
        (
            "begin",
            "-----BEGIN CERTIFICATE\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
            "`-----BEGIN` line is malformed",
        ),
        (
            // Good PEM, good base64, but "hello world" is no certificate.
            "not-x509",
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
            "1 CERTIFICATE section is not a valid X.509 certificate",
        ),
    ];
    for (name, text, want) in cases {
        let path =
            std::env::temp_dir().join(format!("bt-tracker-{name}-ca-{}.pem", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let e = tls::client_config(Some(&path)).unwrap_err();
        // The same from the roots alone, which the blocking example hands to ureq.
        assert_eq!(tls::root_certs(Some(&path)).unwrap_err(), e, "{name}");
        let _ = std::fs::remove_file(&path);
        assert!(
            e.starts_with(&format!("--ca-file {}: ", path.display())),
            "{name}: {e}"
        );
        assert!(e.contains(want), "{name}: {e}");
        assert!(
            e.contains("give the CA's certificate in PEM"),
            "{name}: {e}"
        );
        assert!(!e.contains('['), "{name}: a byte list in {e}");
    }
}

/// The mio and game-loop examples parse webpki's roots only when an `https://` request needs
/// them: a run on `udp://` and `http://` trackers never holds the root store.
#[test]
fn the_tls_configuration_is_built_for_the_first_https_request_only() {
    let lazy = tls::LazyTlsConfig::new(None).expect("nothing to read");
    assert!(!lazy.is_built());
    let first_request = |url: &str| {
        let mut peer = Peer::new(url, info_hash("lazy tls"), 1, 1000);
        peer.driver
            .announce
            .poll_http_request()
            .expect("the started announce")
    };
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let plain = first_request("http://127.0.0.1:9/announce");
    HttpConn::new(&plain, connect_nonblocking(closed).unwrap(), &lazy).expect("http://");
    assert!(
        !lazy.is_built(),
        "an http:// request built the TLS configuration"
    );
    let secure = first_request("https://127.0.0.1:9/announce");
    HttpConn::new(&secure, connect_nonblocking(closed).unwrap(), &lazy).expect("https://");
    assert!(lazy.is_built());
    // With `--ca-file`, the file is read at once: a missing one is reported before any request.
    let missing =
        std::env::temp_dir().join(format!("bt-tracker-lazy-ca-{}.pem", std::process::id()));
    let e = tls::LazyTlsConfig::new(Some(&missing)).unwrap_err();
    assert!(
        e.starts_with(&format!("--ca-file {}: ", missing.display())),
        "{e}"
    );
}

#[test]
fn the_resolver_thread_answers_the_machines_queries_without_the_caller_waiting() {
    let (tx, answers) = std::sync::mpsc::channel();
    let resolver = Resolver::new(move |id, result| {
        let _ = tx.send((id, result));
    });
    let tiers = vec![
        vec![TrackerUrl::parse("udp://localhost:6969/announce").unwrap()],
        vec![TrackerUrl::parse("udp://no-such-host.invalid:6969/announce").unwrap()],
    ];
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTiers;
    let torrent = Torrent {
        info_hash: info_hash("resolver"),
        peer_id: PeerId(*b"-BT0100-resolver0001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    let mut rng = ChaCha12Rng::seed_from_u64(16);
    let mut announce = Announce::new(config, torrent, tiers, &mut rng, now()).unwrap();
    let mut asked = 0;
    while let Some(query) = announce.poll_dns_query() {
        resolver.ask(query);
        asked += 1;
    }
    assert_eq!(asked, 2, "one query per name");
    let until = now() + STEP;
    let mut answered = 0;
    while answered < 2 && now() < until {
        match answers.try_recv() {
            Ok((id, result)) => {
                assert!(announce.handle_dns_response(now(), id, result));
                answered += 1;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    assert_eq!(answered, 2, "both names answered within {STEP:?}");
    let mut buf = Vec::new();
    let sent = announce
        .poll_transmit(&mut buf)
        .expect("localhost's connect");
    assert!(sent.destination.ip().is_loopback(), "{sent:?}");
    assert_eq!(sent.destination.port(), 6969);
    assert!(
        announce.poll_transmit(&mut buf).is_none(),
        "nothing to the unknown name"
    );
    let failed = std::iter::from_fn(|| announce.poll_event()).find_map(|e| match e {
        Event::Failed(f) => Some(f.cause),
        _ => None,
    });
    assert!(matches!(failed, Some(Cause::Dns(_))), "{failed:?}");
}

#[test]
fn the_event_loop_examples_read_the_same_command_line() {
    let parse = |args: &[&str]| parse_loop_args(args.iter().map(|a| (*a).to_owned()));
    let args = parse(&[
        "--torrents",
        "7",
        "--tracker",
        "https://t.example/announce",
        "--ca-file",
        "ca.pem",
        "--until-answered",
        "--json",
        "--duration",
        "3",
    ])
    .unwrap()
    .unwrap();
    assert_eq!(args.torrents, 7);
    assert_eq!(args.trackers, ["https://t.example/announce"]);
    assert_eq!(
        args.ca_file.as_deref(),
        Some(std::path::Path::new("ca.pem"))
    );
    assert!(args.until_answered && args.json);
    assert_eq!(args.duration, Duration::from_secs(3));
    let e = parse(&["--ca-file"]).unwrap_err();
    assert_eq!(e, "--ca-file needs a value");
    let e = parse(&["-v"]).unwrap_err();
    assert!(e.starts_with("unknown option \"-v\" "), "{e}");
    assert!(parse(&["--help"]).unwrap().is_none());
    // The blocking example takes --ca-file too.
    let announce =
        net::glue::cli::parse_announce(["--ca-file".to_owned(), "ca.pem".to_owned()].into_iter())
            .unwrap()
            .unwrap();
    assert_eq!(
        announce.ca_file.as_deref(),
        Some(std::path::Path::new("ca.pem"))
    );
}
