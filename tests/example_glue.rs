//! The examples' shared glue: target parsing (magnet links, .torrent files, hashes) and the
//! embedded loopback tracker the offline demo announces to.

mod net;

use bt_tracker::InfoHash;
use net::glue::embedded::{EmbeddedTracker, sample_peers};
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
    assert!(e.contains("not a magnet link"), "{e}");
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
