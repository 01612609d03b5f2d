//! The examples' shared glue: target parsing (magnet links, .torrent files, hashes) and the
//! embedded loopback tracker the offline demo announces to.

mod net;

use std::time::Duration;

use bt_tracker::InfoHash;
use net::glue::driver::Ended;
use net::glue::embedded::{EmbeddedTracker, sample_peers};
use net::glue::now;
use net::glue::target;
use net::{Peer, info_hash, sorted};
use sha1::{Digest, Sha1};

#[test]
fn magnet_hash_in_hex_and_base32_is_the_same_and_trackers_are_tiers() {
    let hex = "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=a%20name\
               &tr=udp%3A%2F%2Ft1.example%3A6969&tr=http://t2.example/announce";
    let b32 = "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK";
    let a = target::parse(hex).unwrap();
    let b = target::parse(b32).unwrap();
    assert_eq!(a.info_hash, b.info_hash);
    assert_eq!(
        a.info_hash,
        InfoHash::from_hex("c12fe1c06bba254a9dc9f519b335aa7c1367a88a").unwrap()
    );
    assert_eq!(a.name.as_deref(), Some("a name"));
    assert_eq!(
        a.tiers,
        vec![
            vec!["udp://t1.example:6969".to_owned()],
            vec!["http://t2.example/announce".to_owned()]
        ]
    );
    assert!(b.tiers.is_empty());
}

#[test]
fn bad_targets_get_a_clear_error() {
    let e = target::parse("magnet:?dn=nothing").unwrap_err();
    assert!(e.contains("xt=urn:btih:"), "{e}");
    let e = target::parse("magnet:?xt=urn:btih:1234").unwrap_err();
    assert!(e.contains("40 hex"), "{e}");
    let e = target::parse("no-such-file.torrent").unwrap_err();
    assert!(
        e.starts_with("cannot read the .torrent file \"no-such-file.torrent\": "),
        "{e}"
    );
}

#[test]
fn a_hash_of_the_wrong_length_and_a_missing_torrent_file_get_different_errors() {
    let hex39 = "c12fe1c06bba254a9dc9f519b335aa7c1367a88";
    assert_eq!(
        target::parse(hex39).unwrap_err(),
        format!(
            "{hex39:?} is not an info hash: it has 39 hex digits, an info hash has 40 hex digits (or 32 base32 letters)"
        )
    );
    let missing =
        std::env::temp_dir().join(format!("bt-tracker-missing-{}.torrent", std::process::id()));
    let e = target::parse(missing.to_str().unwrap()).unwrap_err();
    let want = format!(
        "cannot read the .torrent file {:?}: ",
        missing.to_str().unwrap()
    );
    assert!(e.starts_with(&want), "{e}");
    assert!(e.contains("No such file or directory"), "{e}");
}

#[test]
fn a_target_that_looks_like_a_hash_url_or_directory_is_told_what_is_wrong() {
    let not_hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88g";
    assert_eq!(
        target::parse(not_hex).unwrap_err(),
        format!(
            "{not_hex:?} is not an info hash: it has 40 characters but 'g' is not a hex digit (0-9, a-f)"
        )
    );
    let not_base32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1";
    assert_eq!(
        target::parse(not_base32).unwrap_err(),
        format!(
            "{not_base32:?} is not an info hash: it has 32 characters but '1' is not a base32 letter (A-Z, 2-7)"
        )
    );
    let url = "udp://tracker.example:6969/announce";
    assert_eq!(
        target::parse(url).unwrap_err(),
        format!(
            "{url:?} is a tracker URL, not a torrent: give an info hash first, then tracker URLs (or a magnet link or .torrent file)"
        )
    );
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    assert_eq!(
        target::parse(dir).unwrap_err(),
        format!("{dir:?} is a directory, not a .torrent file")
    );
    let e =
        target::parse("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88").unwrap_err();
    assert!(e.contains("it has 39 hex digits"), "{e}");
}

#[test]
fn a_tracker_url_without_a_scheme_is_refused_with_udp_suggested() {
    for (text, fixed) in [
        ("tracker.example:6969", "udp://tracker.example:6969"),
        (
            "tracker.example:6969/announce",
            "udp://tracker.example:6969/announce",
        ),
        ("[::1]:6969", "udp://[::1]:6969"),
    ] {
        assert_eq!(
            target::tracker_url(text).unwrap_err(),
            format!(
                "{text:?} has no scheme; write udp://, http:// or https:// before the host (for example {fixed})"
            )
        );
        assert!(target::tracker_url(fixed).is_ok(), "{fixed}");
    }
    // A URL with its scheme gets the library's own reason.
    let e = target::tracker_url("http:/tracker.example/announce").unwrap_err();
    assert!(!e.contains("no scheme"), "{e}");
    assert_eq!(
        target::tracker_url("udp://tracker.example:6969")
            .unwrap()
            .as_str(),
        "udp://tracker.example:6969"
    );
}

mod command_line {
    //! The announce example's arguments: options are options, never torrents or tracker URLs.

    use std::time::Duration;

    use super::net::glue::cli::{AnnounceArgs, parse_announce};

    const HASH: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    fn parse(args: &[&str]) -> Result<Option<AnnounceArgs>, String> {
        parse_announce(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn an_unknown_option_is_an_error_wherever_it_stands() {
        for args in [
            &["-v"][..],
            &[HASH, "-v"],
            &[HASH, "udp://t.example:1", "--verbose"],
            &["--scrap", HASH],
        ] {
            let flag = args.iter().find(|a| a.starts_with('-')).unwrap();
            let e = parse(args).unwrap_err();
            assert!(
                e.starts_with(&format!("unknown option {flag:?} ")),
                "{args:?}: {e}"
            );
        }
    }

    #[test]
    fn a_tracker_url_after_the_hash_must_have_its_scheme() {
        assert_eq!(
            parse(&[HASH, "tracker.example:6969"]).unwrap_err(),
            "\"tracker.example:6969\" has no scheme; write udp://, http:// or https:// before the host (for example udp://tracker.example:6969)"
        );
    }

    #[test]
    fn a_full_command_line_is_read_into_its_options() {
        let args = parse(&[
            HASH,
            "udp://t1.example:6969",
            "--scrape",
            "https://t2.example/announce",
            "--port",
            "7000",
            "--event",
            "completed",
            "--json",
            "--timeout",
            "5",
            "--numwant",
            "50",
            "--peer-id",
            "-XX0000-abcdefghijkl",
        ])
        .unwrap()
        .unwrap();
        let target = args.target.unwrap();
        assert_eq!(target.info_hash.to_string(), HASH);
        assert_eq!(
            target.tiers,
            [["udp://t1.example:6969"], ["https://t2.example/announce"]]
        );
        assert_eq!((args.port, args.numwant), (7000, 50));
        assert!(args.completed && args.scrape && args.json);
        assert_eq!(args.timeout, Duration::from_secs(5));
        assert_eq!(args.peer_id.map(|p| p.0), Some(*b"-XX0000-abcdefghijkl"));
        assert!(parse(&["--help"]).unwrap().is_none());
        let demo = parse(&[]).unwrap().unwrap();
        assert!(demo.target.is_none());
    }
}

#[test]
fn torrent_file_hash_is_sha1_of_the_raw_info_bytes_and_announce_list_wins() {
    // Unsorted keys inside `info`: re-encoding would change the hash, the raw bytes must be used.
    let info: &[u8] =
        b"d6:lengthi5e4:name3:abc12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
    let mut file =
        b"d8:announce20:http://a.example/ann13:announce-listll17:udp://b.example:1ee4:info"
            .to_vec();
    file.extend_from_slice(info);
    file.push(b'e');
    let path = std::env::temp_dir().join(format!("bt-tracker-glue-{}.torrent", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let parsed = target::parse(path.to_str().unwrap());
    std::fs::remove_file(&path).unwrap();
    let parsed = parsed.unwrap();
    assert_eq!(parsed.info_hash, InfoHash(Sha1::digest(info).into()));
    assert_eq!(parsed.name.as_deref(), Some("abc"));
    assert_eq!(parsed.tiers, vec![vec!["udp://b.example:1".to_owned()]]);
}

#[test]
fn a_torrent_file_that_is_not_bencode_is_refused_with_the_reason() {
    let path = std::env::temp_dir().join(format!(
        "bt-tracker-glue-bad-{}.torrent",
        std::process::id()
    ));
    std::fs::write(&path, b"d4:info").unwrap();
    let e = target::parse(path.to_str().unwrap()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(e.contains("not a valid .torrent file"), "{e}");
}

#[test]
fn the_embedded_tracker_serves_samples_and_announcers_over_udp_and_http() {
    let tracker = EmbeddedTracker::start(sample_peers()).unwrap();
    let hash = info_hash("embedded");
    let mut udp = Peer::new(&tracker.udp_url(), hash, 1, 0);
    assert_eq!(udp.announced().peers, sorted(sample_peers()));
    let mut http = Peer::new(&tracker.http_url(), hash, 2, 1000);
    let seen = http.announced();
    assert_eq!(
        seen.peers,
        sorted(sample_peers().into_iter().chain([udp.addr()]).collect())
    );
    assert_eq!((seen.seeders, seen.leechers), (Some(1), Some(1)));
    let scraped = udp.scrape().unwrap();
    assert_eq!((scraped.seeders, scraped.leechers), (Some(1), Some(1)));
    assert!(udp.stop());
    let mut late = Peer::new(&tracker.udp_url(), hash, 3, 1000);
    assert_eq!(
        late.announced().peers,
        sorted(sample_peers().into_iter().chain([http.addr()]).collect())
    );
    assert!(http.stop() && late.stop());
}

#[test]
fn an_interrupt_ends_a_run_at_once_but_never_cuts_the_stopped_announces_short() {
    // Ctrl-C in the announce example: the run ends, and `stopped` still goes out and is answered.
    let tracker = EmbeddedTracker::start(sample_peers()).unwrap();
    let mut peer = Peer::new(&tracker.udp_url(), info_hash("interrupted"), 1, 1000);
    peer.announced();
    let interrupter = peer.driver.interrupter();
    interrupter.interrupt();
    let until = now() + Duration::from_secs(20);
    let ended = peer
        .driver
        .run(until, |_, event| panic!("no event is due: {event:?}"));
    assert_eq!(ended, Ended::Interrupted);
    assert!(
        now() < until,
        "the interrupt, not the deadline, ended the run"
    );
    // A second Ctrl-C while stopping changes nothing: the tracker acknowledges `stopped`.
    interrupter.interrupt();
    assert!(
        peer.stop(),
        "stopped is sent and answered after an interrupt"
    );
}

#[test]
fn a_request_that_may_not_reach_internal_addresses_is_refused_after_resolution() {
    use bt_tracker::announce::TransportError;
    let deadline = net::glue::now() + std::time::Duration::from_secs(2);
    for url in ["http://localhost:9/announce", "http://127.0.0.1:9/announce"] {
        let e = net::glue::http::fetch(url, deadline, false).unwrap_err();
        assert_eq!(
            e.kind,
            TransportError::InternalAddress,
            "{url}: {}",
            e.detail
        );
    }
    // Allowed, the same URL gets as far as connecting (nothing listens on port 9).
    let e = net::glue::http::fetch("http://127.0.0.1:9/announce", deadline, true).unwrap_err();
    assert_eq!(e.kind, TransportError::ConnectionRefused, "{}", e.detail);
}

mod reports {
    //! The announce example's per-tracker report: every request made ends with an outcome in the
    //! text and the JSON, including the ones still unanswered when the run ends.

    use std::time::Duration;

    use bt_tracker::AnnounceEvent;
    use bt_tracker::announce::{
        Announced, Cause, Event, Failed, RequestId, RequestKind, Scraped, TrackerId, TrackerState,
        TransportError,
    };
    use serde_json::json;

    use crate::net::glue::report::{Asked, Outcome, Reports, Row};

    const T: TrackerId = TrackerId(0);
    const NO_ANSWER: &str = "no answer within --timeout 8 s";

    fn reports(asked: Asked) -> Reports {
        Reports::new([(T, "udp://t.example:6969/announce".to_owned())], asked)
    }

    fn scrape_asked() -> Asked {
        Asked {
            completed: false,
            scrape: true,
        }
    }

    fn announced(event: AnnounceEvent) -> Event {
        Event::Announced(Announced {
            id: RequestId(1),
            tracker: T,
            event,
            peers: vec!["192.0.2.8:6881".parse().unwrap()],
            interval: Duration::from_secs(1800),
            min_interval: Duration::from_secs(60),
            seeders: Some(1),
            leechers: Some(2),
            warning: None,
            external_ip: None,
        })
    }

    /// The snapshot's row of a tracker that answered `announced`'s reply.
    fn working() -> Row {
        Row {
            state: TrackerState::Working,
            peers: Some(1),
            seeders: Some(1),
            leechers: Some(2),
            interval: Some(Duration::from_secs(1800)),
            min_interval: Some(Duration::from_secs(60)),
            warning: None,
            error: None,
        }
    }

    /// `started` was answered: its event (the peer list) and the snapshot's row.
    fn started(r: &mut Reports) {
        r.record(&announced(AnnounceEvent::Started), None);
        r.apply(T, working());
    }

    fn failed(request: RequestKind, cause: Cause) -> Event {
        Event::Failed(Failed {
            id: RequestId(2),
            tracker: T,
            request,
            cause,
        })
    }

    #[test]
    fn the_status_line_is_drawn_from_the_machines_snapshot() {
        use bt_tracker::announce::{Announce, Config, Progress, Torrent};
        use bt_tracker::http::HttpResponse;
        use bt_tracker::{InfoHash, PeerId, TrackerUrl};
        use rand_core::SeedableRng;

        #[allow(clippy::disallowed_methods)] // an arbitrary origin for the machine's time
        let now = std::time::Instant::now();
        let url = "http://192.0.2.1:6969/announce";
        let torrent = Torrent {
            info_hash: InfoHash([1; 20]),
            peer_id: PeerId(*b"-BT0001-report000001"),
            port: 6881,
            progress: Progress {
                left: 1,
                ..Progress::default()
            },
            key: None,
        };
        let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(1);
        let mut a = Announce::new(Config::default(), torrent, tiers, &mut rng, now).unwrap();
        let request = a.poll_http_request().unwrap();
        let body = b"d8:completei1e10:incompletei2e8:intervali1800e12:min intervali60e\
                     5:peers6:\xc6\x33\x64\x07\x1a\xe1e";
        assert!(a.handle_http_response(now, request.id, &HttpResponse::new(200, None, body)));
        let mut r = Reports::new([(T, url.to_owned())], Asked::default());
        // Only the snapshot: no event recorded, and the line is whole.
        r.observe(a.trackers());
        assert_eq!(
            r.get(T).unwrap().summary(),
            format!("{url}: 1 peer, 1 seeder, 2 leechers, interval 1800 s (min 60 s)")
        );
        // A failure's cause comes from the snapshot, with the OS's text from the event.
        a.announce_now(now + Duration::from_secs(1800));
        a.handle_timeout(now + Duration::from_secs(1800));
        let request = a.poll_http_request().unwrap();
        let refused = TransportError::ConnectionRefused;
        assert!(a.handle_transport_error(now + Duration::from_secs(1800), request.id, refused));
        while let Some(event) = a.poll_event() {
            r.record(&event, Some("connect: Connection refused"));
        }
        r.observe(a.trackers());
        assert_eq!(
            r.get(T).unwrap().announce,
            Outcome::Failed(format!(
                "{} (connect: Connection refused)",
                Cause::Transport(refused)
            ))
        );
    }

    #[test]
    fn a_scrape_unanswered_when_the_run_ends_is_reported_as_not_answered() {
        let mut r = reports(scrape_asked());
        started(&mut r);
        assert!(!r.settled(), "the run must wait for the scrape");
        r.finish(NO_ANSWER);
        let report = r.get(T).unwrap();
        assert_eq!(report.scrape, Outcome::Failed(NO_ANSWER.to_owned()));
        assert_eq!(
            report.summary(),
            "udp://t.example:6969/announce: 1 peer, 1 seeder, 2 leechers, interval 1800 s \
             (min 60 s); scrape FAILED: no answer within --timeout 8 s"
        );
        let v = report.to_json();
        assert_eq!(v["ok"], json!(true), "the announce itself was answered");
        assert_eq!(v["scrape"], json!({ "ok": false, "error": NO_ANSWER }));
    }

    #[test]
    fn an_unanswered_announce_and_scrape_are_both_reported_in_text_and_json() {
        let mut r = reports(scrape_asked());
        r.finish(NO_ANSWER);
        let report = r.get(T).unwrap();
        assert_eq!(
            report.summary(),
            "udp://t.example:6969/announce: FAILED: no answer within --timeout 8 s; \
             scrape FAILED: no answer within --timeout 8 s"
        );
        let v = report.to_json();
        assert_eq!((&v["ok"], &v["error"]), (&json!(false), &json!(NO_ANSWER)));
        assert_eq!(v["scrape"], json!({ "ok": false, "error": NO_ANSWER }));
    }

    #[test]
    fn a_failed_scrape_is_reported_with_its_cause_in_text_and_json() {
        let mut r = reports(scrape_asked());
        started(&mut r);
        r.record(&failed(RequestKind::Scrape, Cause::ScrapeUnsupported), None);
        assert!(r.settled(), "a failed scrape has its outcome");
        r.finish(NO_ANSWER);
        let why = Cause::ScrapeUnsupported.to_string();
        let report = r.get(T).unwrap();
        assert!(
            report
                .summary()
                .ends_with(&format!("; scrape FAILED: {why}")),
            "{}",
            report.summary()
        );
        assert_eq!(
            report.to_json()["scrape"],
            json!({ "ok": false, "error": why })
        );
    }

    #[test]
    fn a_scrape_transport_failure_carries_the_os_detail() {
        let mut r = reports(scrape_asked());
        let cause = Cause::Transport(TransportError::ConnectionRefused);
        r.record(
            &failed(RequestKind::Scrape, cause.clone()),
            Some("connect to 127.0.0.1:9: Connection refused"),
        );
        let want = format!("{cause} (connect to 127.0.0.1:9: Connection refused)");
        assert_eq!(r.get(T).unwrap().scrape, Outcome::Failed(want.clone()));
        assert_eq!(
            r.get(T).unwrap().to_json()["scrape"],
            json!({ "ok": false, "error": want })
        );
    }

    #[test]
    fn an_answered_scrape_is_ok_with_its_counts() {
        let mut r = reports(scrape_asked());
        started(&mut r);
        r.record(
            &Event::Scraped(Scraped {
                id: RequestId(3),
                tracker: T,
                seeders: Some(4),
                completed: None,
                leechers: Some(0),
            }),
            None,
        );
        assert!(r.settled());
        let report = r.get(T).unwrap();
        assert!(
            report
                .summary()
                .ends_with("; scrape: 4 seeders, unknown completed, 0 leechers"),
            "{}",
            report.summary()
        );
        assert_eq!(
            report.to_json()["scrape"],
            json!({ "ok": true, "seeders": 4, "completed": null, "leechers": 0 })
        );
    }

    #[test]
    fn without_scrape_there_is_no_scrape_key_or_text() {
        let mut r = reports(Asked::default());
        started(&mut r);
        assert!(r.settled());
        r.finish(NO_ANSWER);
        let report = r.get(T).unwrap();
        assert!(!report.summary().contains("scrape"), "{}", report.summary());
        assert!(report.to_json().get("scrape").is_none());
    }

    #[test]
    fn cancellation_by_stop_keeps_the_reason_already_given() {
        let mut r = reports(scrape_asked());
        started(&mut r);
        r.finish(NO_ANSWER);
        r.record(&failed(RequestKind::Scrape, Cause::Cancelled), None);
        assert_eq!(
            r.get(T).unwrap().scrape,
            Outcome::Failed(NO_ANSWER.to_owned())
        );
    }

    #[test]
    fn an_unanswered_completed_is_reported_even_after_started_was_answered() {
        let asked = Asked {
            completed: true,
            scrape: false,
        };
        let mut r = reports(asked);
        started(&mut r);
        assert!(!r.settled(), "the run must wait for completed");
        r.finish(NO_ANSWER);
        let report = r.get(T).unwrap();
        assert!(report.ok());
        assert!(
            report
                .summary()
                .contains("; completed FAILED: no answer within --timeout 8 s"),
            "{}",
            report.summary()
        );
        assert_eq!(
            report.to_json()["completed"],
            json!({ "ok": false, "error": NO_ANSWER })
        );
    }

    #[test]
    fn a_failed_completed_settles_the_tracker_and_keeps_its_peers() {
        let asked = Asked {
            completed: true,
            scrape: false,
        };
        let mut r = reports(asked);
        started(&mut r);
        let completed = RequestKind::Announce(AnnounceEvent::Completed);
        r.record(&failed(completed, Cause::HttpStatus(500)), None);
        assert!(r.settled());
        let report = r.get(T).unwrap();
        assert!(report.ok(), "the started answer stays");
        assert_eq!(
            report.completed,
            Outcome::Failed(Cause::HttpStatus(500).to_string())
        );
    }

    #[test]
    fn a_stopped_is_reported_acknowledged_or_not_answered() {
        let mut r = reports(Asked::default());
        started(&mut r);
        r.finish(NO_ANSWER);
        r.stopping();
        assert_eq!(r.get(T).unwrap().stopped, Outcome::Pending);
        let mut acked = r.clone();
        acked.record(&announced(AnnounceEvent::Stopped), None);
        acked.finish(NO_ANSWER);
        assert!(
            acked
                .get(T)
                .unwrap()
                .summary()
                .ends_with("; stopped: acknowledged")
        );
        assert_eq!(
            acked.get(T).unwrap().to_json()["stopped"],
            json!({ "ok": true })
        );
        // The machine times a `stopped` out at its stop timeout.
        let stopped = RequestKind::Announce(AnnounceEvent::Stopped);
        let mut timed_out = r.clone();
        timed_out.record(&failed(stopped, Cause::Timeout), None);
        let why = "no answer before the stop timeout (stopped is not retried)";
        assert_eq!(
            timed_out.get(T).unwrap().stopped,
            Outcome::Failed(why.to_owned())
        );
        // And a `stopped` cut short by the end of the run is not answered.
        r.finish(NO_ANSWER);
        assert_eq!(
            r.get(T).unwrap().to_json()["stopped"],
            json!({ "ok": false, "error": NO_ANSWER })
        );
    }

    #[test]
    fn a_disabled_tracker_settles_and_its_open_requests_say_why() {
        let mut r = reports(scrape_asked());
        r.record(&failed(RequestKind::Scrape, Cause::Gone), None);
        let disabled = Row {
            state: TrackerState::Disabled,
            peers: None,
            seeders: None,
            leechers: None,
            interval: None,
            min_interval: None,
            warning: None,
            error: None,
        };
        r.apply(T, disabled);
        assert!(r.settled(), "nothing more can come from a disabled tracker");
        r.finish(NO_ANSWER);
        assert_eq!(
            r.get(T).unwrap().announce,
            Outcome::Failed("the tracker was disabled for this torrent before it answered".into())
        );
        r.stopping();
        assert_eq!(r.get(T).unwrap().stopped, Outcome::NotAsked);
    }
}

mod system_lookup_errors {
    use std::io;

    use bt_tracker::announce::DnsError;

    use super::net::glue::resolver::{answer, error_of};

    /// An error as std builds it from a getaddrinfo return code (`gai_strerror`'s text).
    fn gai(text: &str) -> io::Error {
        io::Error::other(format!("failed to lookup address information: {text}"))
    }

    #[test]
    fn a_name_that_does_not_exist_or_has_no_address_is_not_found() {
        for text in [
            "Name or service not known",                    // glibc EAI_NONAME
            "No address associated with hostname",          // glibc EAI_NODATA
            "nodename nor servname provided, or not known", // macOS EAI_NONAME
            "no address associated with nodename",          // BSD EAI_NODATA
            "Name does not resolve",                        // musl EAI_NONAME
            "Name has no usable address",                   // musl EAI_NODATA
        ] {
            assert_eq!(error_of(&gai(text)), DnsError::NotFound, "{text}");
            let found: io::Result<std::vec::IntoIter<std::net::SocketAddr>> = Err(gai(text));
            assert_eq!(answer(found), Err(DnsError::NotFound), "{text}");
        }
    }

    #[test]
    fn a_resolver_that_failed_is_never_reported_as_a_missing_name() {
        for text in [
            "Temporary failure in name resolution", // glibc EAI_AGAIN: no network
            "Non-recoverable failure in name resolution", // EAI_FAIL: SERVFAIL
            "System error",
            "Try again",
            "Address family for hostname not supported",
            "",
        ] {
            assert_eq!(error_of(&gai(text)), DnsError::Failed, "{text:?}");
        }
        // EAI_SYSTEM: std hands over the OS error itself.
        let os = io::Error::from_raw_os_error(101); // ENETUNREACH on Linux
        assert_eq!(error_of(&os), DnsError::Failed);
        assert_eq!(
            error_of(&io::Error::new(io::ErrorKind::TimedOut, "timed out")),
            DnsError::Failed
        );
    }

    #[test]
    fn an_answer_without_addresses_is_not_found_and_one_with_them_is_kept() {
        let none: io::Result<std::vec::IntoIter<std::net::SocketAddr>> = Ok(Vec::new().into_iter());
        assert_eq!(answer(none), Err(DnsError::NotFound));
        let addr: std::net::SocketAddr = "192.0.2.1:0".parse().unwrap();
        let some: io::Result<std::vec::IntoIter<std::net::SocketAddr>> = Ok(vec![addr].into_iter());
        assert_eq!(answer(some).map(|a| a.addresses), Ok(vec![addr.ip()]));
    }
}

#[test]
fn printed_counts_are_singular_for_one() {
    use net::glue::out::count;
    assert_eq!(count(1u32, "peer"), "1 peer");
    assert_eq!(count(0u32, "peer"), "0 peers");
    assert_eq!(count(20_000u64, "torrent"), "20000 torrents");
}
