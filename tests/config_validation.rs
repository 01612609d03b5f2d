//! What construction refuses: every `Torrent` field a tracker refuses and every `Config` knob that
//! would make the machine misbehave, each with the exact error (the field, the valid range, what to
//! do), through `Announce::new` and `Client::new`/`Client::add` alike. And what it accepts: the
//! defaults, a typical torrent, the edges of every range.

mod common;

use common::start as now;
use std::time::Duration;

use bt_tracker::announce::{
    Announce, Config, ConfigError, HttpRequest, MAX_NUM_WANT, Progress, Torrent,
};
use bt_tracker::client::Client;
use bt_tracker::http::AnnounceQuery;
use bt_tracker::udp::{self, ConnectResponse, Request};
use bt_tracker::{AddressFamily, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const UDP: &str = "udp://127.0.0.1:6969/announce";
const HTTP: &str = "http://127.0.0.1:6969/announce";
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

fn rng() -> ChaCha12Rng {
    ChaCha12Rng::seed_from_u64(13)
}

fn tiers(url: &str) -> Vec<Vec<TrackerUrl>> {
    vec![vec![TrackerUrl::parse(url).unwrap()]]
}

/// A typical torrent: a leecher on port 6881.
fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([0x5a; 20]),
        peer_id: PeerId(*b"-BT0100-validation00"),
        port: 6881,
        progress: Progress {
            left: 1 << 30,
            ..Progress::default()
        },
        key: None,
    }
}

fn announce(config: Config, torrent: Torrent, url: &str) -> Result<Announce, ConfigError> {
    Announce::new(config, torrent, tiers(url), &mut rng(), now())
}

/// The default config with one change.
fn config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    edit(&mut config);
    config
}

/// The error for `config`, which `Announce::new` and `Client::new` must agree on.
fn refused(config: Config) -> ConfigError {
    let by_announce = announce(config.clone(), torrent(), UDP)
        .expect_err("Announce::new accepted a config it should refuse");
    let by_client = Client::new(config, &mut rng(), now())
        .expect_err("Client::new accepted a config it should refuse");
    assert_eq!(by_announce, by_client);
    by_announce
}

/// Both constructors accept `config`.
fn assert_accepted(config: Config) {
    if let Err(e) = announce(config.clone(), torrent(), UDP) {
        panic!("Announce::new refused {config:?}: {e}");
    }
    if let Err(e) = Client::new(config.clone(), &mut rng(), now()) {
        panic!("Client::new refused {config:?}: {e}");
    }
}

fn invalid(field: &'static str, rule: &'static str) -> ConfigError {
    ConfigError::Invalid { field, rule }
}

// ----- what is accepted -----

#[test]
fn the_default_config_and_a_typical_torrent_are_accepted_by_announce_and_client() {
    let mut a = announce(Config::default(), torrent(), UDP).expect("Announce::new");
    let mut buf = Vec::new();
    assert_eq!(
        a.poll_transmit(&mut buf).map(|t| t.len),
        Some(udp::CONNECT_LEN)
    );
    let mut client = Client::new(Config::default(), &mut rng(), now()).expect("Client::new");
    let id = client
        .add(now(), torrent(), tiers(UDP))
        .expect("Client::add");
    assert!(client.contains(id));
    assert_eq!(client.len(), 1);
}

#[test]
fn ports_1_and_65535_are_accepted() {
    for port in [1, 65535] {
        let t = Torrent { port, ..torrent() };
        assert!(
            announce(Config::default(), t.clone(), UDP).is_ok(),
            "{port}"
        );
        let mut client = Client::new(Config::default(), &mut rng(), now()).unwrap();
        assert!(client.add(now(), t, tiers(UDP)).is_ok(), "{port}");
    }
}

/// The first HTTP announce of an `Announce` on `torrent`, parsed as a tracker would.
fn first_http_announce(torrent: Torrent) -> AnnounceQuery {
    let mut a = announce(Config::default(), torrent, HTTP).expect("accepted");
    let HttpRequest { url, .. } = a.poll_http_request().expect("the started announce");
    let query = url.as_str().split_once('?').expect("a query").1;
    AnnounceQuery::parse(query.as_bytes()).expect("a well-formed announce query")
}

#[test]
fn an_all_zero_peer_id_and_info_hash_are_accepted_and_sent_as_given() {
    // Any 20 bytes are a peer id (BEP 3) and an info hash; opentracker tracks an all-zero hash.
    let t = Torrent {
        info_hash: InfoHash([0; 20]),
        peer_id: PeerId([0; 20]),
        ..torrent()
    };
    let q = first_http_announce(t.clone());
    assert_eq!((q.info_hash, q.peer_id), (t.info_hash, t.peer_id));
    let mut client = Client::new(Config::default(), &mut rng(), now()).unwrap();
    assert!(client.add(now(), t, tiers(UDP)).is_ok());
}

#[test]
fn every_key_is_accepted_and_sent_as_given() {
    for key in [0, u32::MAX] {
        let q = first_http_announce(Torrent {
            key: Some(key),
            ..torrent()
        });
        assert_eq!(q.key.as_deref(), Some(format!("{key:08X}").as_bytes()));
    }
}

const HUGE: Progress = Progress {
    uploaded: u64::MAX,
    downloaded: i64::MAX as u64 + 1,
    left: u64::MAX - 1,
    corrupt: Some(u64::MAX),
    redundant: Some(u64::MAX),
};

#[test]
fn progress_above_i64_max_is_sent_as_given_over_http() {
    let q = first_http_announce(Torrent {
        progress: HUGE,
        ..torrent()
    });
    assert_eq!(
        (q.uploaded, q.downloaded, q.left),
        (HUGE.uploaded, HUGE.downloaded, HUGE.left)
    );
}

#[test]
fn progress_above_i64_max_is_sent_as_i64_max_over_udp() {
    let t0 = now();
    let t = Torrent {
        progress: HUGE,
        ..torrent()
    };
    let mut a = Announce::new(Config::default(), t, tiers(UDP), &mut rng(), t0).unwrap();
    let mut buf = Vec::new();
    let connect = a.poll_transmit(&mut buf).expect("the connect");
    let Ok(Request::Connect(c)) = Request::parse(&buf[..connect.len]) else {
        panic!("not a connect");
    };
    let mut reply = [0u8; udp::CONNECT_LEN];
    ConnectResponse {
        transaction_id: c.transaction_id,
        connection_id: 77,
    }
    .encode(&mut reply)
    .unwrap();
    let tracker = connect.destination;
    assert!(a.handle_datagram(t0, tracker, &reply));
    let sent = a.poll_transmit(&mut buf).expect("the announce");
    let Ok(Request::Announce(r)) = Request::parse(&buf[..sent.len]) else {
        panic!("not an announce");
    };
    assert_eq!(
        (r.uploaded, r.downloaded, r.left),
        (i64::MAX, i64::MAX, i64::MAX)
    );
}

#[test]
fn the_edges_of_every_range_are_accepted() {
    assert_accepted(config(|c| c.num_want = 1));
    assert_accepted(config(|c| c.num_want = MAX_NUM_WANT));
    assert_accepted(config(|c| c.max_peers_per_reply = 1));
    assert_accepted(config(|c| c.max_redirects = 0));
    assert_accepted(config(|c| c.min_interval_floor = c.interval_ceiling));
    assert_accepted(config(|c| c.interval_floor = c.interval_ceiling));
    assert_accepted(config(|c| {
        c.udp_max_attempts = 9;
        c.udp_rto = YEAR / 256;
    }));
    assert_accepted(config(|c| {
        c.udp_max_attempts = 1;
        c.udp_rto = YEAR;
    }));
    assert_accepted(config(|c| c.max_scrape_batch = 1));
    assert_accepted(config(|c| c.max_scrape_batch = 100));
    assert_accepted(config(|c| c.retry_jitter_percent = 50));
    assert_accepted(config(|c| c.max_trackers = 65535));
    assert_accepted(config(|c| {
        c.tracker_rate = Some(1_000_000);
        c.tracker_burst = 1_000_000;
        c.tracker_window = 65_536;
        c.http_per_host = 1_024;
        c.http_max_in_flight = 65_536;
    }));
    // A default outside the floors is clamped like a tracker's value, not refused.
    assert_accepted(config(|c| {
        c.default_min_interval = Duration::from_secs(3600);
        c.default_interval = Duration::from_secs(1);
    }));
}

#[test]
fn max_num_want_peers_fit_one_udp_datagram_over_either_family() {
    // 65,527 bytes is the largest UDP payload over IPv6 (65,507 over IPv4).
    let v6 = udp::announce_reply_len(MAX_NUM_WANT as usize, AddressFamily::V6);
    assert_eq!(v6, 65_522);
    assert!(udp::announce_reply_len(MAX_NUM_WANT as usize + 1, AddressFamily::V6) > 65_527);
    assert!(udp::announce_reply_len(MAX_NUM_WANT as usize, AddressFamily::V4) <= 65_507);
}

#[test]
fn announce_reply_len_saturates_instead_of_overflowing() {
    assert_eq!(
        udp::announce_reply_len(usize::MAX, AddressFamily::V6),
        usize::MAX
    );
    assert_eq!(
        udp::announce_reply_len(usize::MAX / 6, AddressFamily::V4),
        usize::MAX
    );
}

// ----- Torrent fields refused -----

const PORT_0: &str = "Torrent::port must be 1 to 65535: trackers refuse port 0 or list this client as ip:0, which no peer can connect to; pass the TCP port this client accepts peers on";

#[test]
fn port_0_is_refused_by_announce_new_naming_the_field_and_range() {
    let err = announce(
        Config::default(),
        Torrent {
            port: 0,
            ..torrent()
        },
        UDP,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidTorrent { field: "port", .. }
    ));
    assert_eq!(err.to_string(), PORT_0);
}

#[test]
fn port_0_is_refused_by_client_add_which_then_holds_nothing() {
    let mut client = Client::new(Config::default(), &mut rng(), now()).unwrap();
    let err = client
        .add(
            now(),
            Torrent {
                port: 0,
                ..torrent()
            },
            tiers(UDP),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidTorrent { field: "port", .. }
    ));
    assert_eq!(err.to_string(), PORT_0);
    assert!(client.is_empty());
    let mut buf = Vec::new();
    assert!(client.poll_transmit(&mut buf).is_none());
    assert!(client.poll_http_request().is_none());
}

// ----- Config knobs refused -----

#[test]
fn num_want_0_is_refused() {
    let err = refused(config(|c| c.num_want = 0));
    assert_eq!(
        err.to_string(),
        "Config::num_want must be 1 to 3639: 0 asks every tracker for no peers at all (stopped asks for 0 by itself), and one UDP reply holds at most 3639 IPv6 peers"
    );
    assert!(matches!(
        err,
        ConfigError::Invalid {
            field: "num_want",
            ..
        }
    ));
}

#[test]
fn num_want_above_what_one_udp_reply_holds_is_refused() {
    for n in [MAX_NUM_WANT + 1, i32::MAX as u32, u32::MAX] {
        let err = refused(config(|c| c.num_want = n));
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    field: "num_want",
                    ..
                }
            ),
            "{n}"
        );
    }
}

#[test]
fn max_peers_per_reply_0_is_refused() {
    assert_eq!(
        refused(config(|c| c.max_peers_per_reply = 0)),
        invalid(
            "max_peers_per_reply",
            "must be at least 1: 0 drops every peer of every reply"
        )
    );
}

#[test]
fn min_interval_floor_above_interval_ceiling_is_refused() {
    let err = refused(config(|c| {
        c.min_interval_floor = c.interval_ceiling + Duration::from_secs(1)
    }));
    assert_eq!(
        err,
        invalid("min_interval_floor", "must not be above interval_ceiling")
    );
    assert_eq!(
        err.to_string(),
        "Config::min_interval_floor must not be above interval_ceiling"
    );
}

#[test]
fn interval_ceiling_below_interval_floor_is_refused() {
    assert_eq!(
        refused(config(
            |c| c.interval_floor = c.interval_ceiling + Duration::from_secs(1)
        )),
        invalid("interval_ceiling", "must not be below interval_floor")
    );
}

#[test]
fn udp_rto_whose_last_wait_exceeds_a_year_is_refused() {
    let rule = "times 2^(udp_max_attempts - 1), the wait after the last send, must be at most 365 days; lower udp_rto or udp_max_attempts";
    for (attempts, rto) in [
        (9, YEAR / 256 + Duration::from_nanos(1)),
        (3, YEAR / 4 + Duration::from_secs(1)),
        (2, YEAR),
    ] {
        let err = refused(config(|c| {
            c.udp_max_attempts = attempts;
            c.udp_rto = rto;
        }));
        assert_eq!(err, invalid("udp_rto", rule), "{attempts} sends of {rto:?}");
    }
}

#[test]
fn udp_max_attempts_outside_1_to_9_is_refused() {
    for n in [0, 10, u32::MAX] {
        assert_eq!(
            refused(config(|c| c.udp_max_attempts = n)),
            invalid(
                "udp_max_attempts",
                "must be 1 to 9 (BEP 15 retransmits at most 8 times)"
            ),
            "{n}"
        );
    }
}

#[test]
fn max_scrape_batch_outside_1_to_100_is_refused() {
    let rule = "must be 1 to 100: each info hash adds up to 71 bytes to a scrape URL, and servers need only take request lines of 8,000 bytes (RFC 9112)";
    for n in [0, 101, 10_000, usize::MAX] {
        assert_eq!(
            refused(config(|c| c.max_scrape_batch = n)),
            invalid("max_scrape_batch", rule),
            "{n}"
        );
    }
}

#[test]
fn max_scrape_batch_of_100_hashes_makes_a_url_under_8000_bytes() {
    // The worst case: every byte of every hash percent-encoded.
    let hashes = vec![InfoHash([0xff; 20]); 100];
    let url = bt_tracker::http::scrape_request_url("http://t.example/scrape", &hashes);
    assert_eq!(url.len(), "http://t.example/scrape".len() + 100 * 71);
    assert!(format!("GET {url} HTTP/1.1").len() < 8_000);
}

#[test]
fn retry_jitter_percent_above_50_is_refused() {
    assert_eq!(
        refused(config(|c| c.retry_jitter_percent = 51)),
        invalid("retry_jitter_percent", "must be at most 50")
    );
}

#[test]
fn tracker_rate_outside_1_to_a_million_is_refused() {
    for n in [0, 1_000_001] {
        assert_eq!(
            refused(config(|c| c.tracker_rate = Some(n))),
            invalid(
                "tracker_rate",
                "must be None or 1 to 1,000,000 requests per second"
            ),
            "{n}"
        );
    }
}

#[test]
fn tracker_window_outside_1_to_65536_is_refused() {
    for n in [0, 65_537] {
        assert_eq!(
            refused(config(|c| c.tracker_window = n)),
            invalid("tracker_window", "must be 1 to 65,536 exchanges in flight"),
            "{n}"
        );
    }
}

#[test]
fn http_max_in_flight_outside_1_to_65536_is_refused() {
    for n in [0, 65_537] {
        assert_eq!(
            refused(config(|c| c.http_max_in_flight = n)),
            invalid(
                "http_max_in_flight",
                "must be 1 to 65,536 requests in flight"
            ),
            "{n}"
        );
    }
}

#[test]
fn http_per_host_outside_1_to_1024_is_refused() {
    for n in [0, 1_025] {
        assert_eq!(
            refused(config(|c| c.http_per_host = n)),
            invalid("http_per_host", "must be 1 to 1,024 requests in flight"),
            "{n}"
        );
    }
}

#[test]
fn tracker_burst_outside_1_to_a_million_is_refused() {
    for n in [0, 1_000_001] {
        assert_eq!(
            refused(config(|c| c.tracker_burst = n)),
            invalid("tracker_burst", "must be 1 to 1,000,000"),
            "{n}"
        );
    }
}

#[test]
fn max_trackers_outside_1_to_65535_is_refused() {
    for n in [0, 65536] {
        assert_eq!(
            refused(config(|c| c.max_trackers = n)),
            invalid("max_trackers", "must be 1 to 65535"),
            "{n}"
        );
    }
}

#[test]
fn every_duration_of_zero_or_above_a_year_is_refused() {
    type Field = fn(&mut Config) -> &mut Duration;
    let fields: [(&str, Field); 12] = [
        ("default_interval", |c| &mut c.default_interval),
        ("default_min_interval", |c| &mut c.default_min_interval),
        ("min_interval_floor", |c| &mut c.min_interval_floor),
        ("interval_floor", |c| &mut c.interval_floor),
        ("interval_ceiling", |c| &mut c.interval_ceiling),
        ("udp_rto", |c| &mut c.udp_rto),
        ("connection_id_lifetime", |c| &mut c.connection_id_lifetime),
        ("http_timeout", |c| &mut c.http_timeout),
        ("stop_timeout", |c| &mut c.stop_timeout),
        ("max_backoff", |c| &mut c.max_backoff),
        ("max_retry_in", |c| &mut c.max_retry_in),
        ("scrape_window", |c| &mut c.scrape_window),
    ];
    for (name, field) in fields {
        for value in [
            Duration::ZERO,
            YEAR + Duration::from_nanos(1),
            Duration::MAX,
        ] {
            let err = refused(config(|c| *field(c) = value));
            assert_eq!(
                err,
                invalid(name, "must be more than zero and at most 365 days"),
                "{name} = {value:?}"
            );
        }
    }
}
