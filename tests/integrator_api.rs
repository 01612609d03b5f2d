//! Issue 18, "API papercuts an integrator hit": the announce without an event is called what BEP 3
//! calls it.

use bt_tracker::http::{AnnounceParams, announce_url};
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};

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
    };
    let regular = announce_url(&tracker, &params(AnnounceEvent::Regular)).unwrap();
    assert!(!regular.contains("event="), "{regular}");
    let started = announce_url(&tracker, &params(AnnounceEvent::Started)).unwrap();
    assert!(started.contains("&event=started&"), "{started}");
}
