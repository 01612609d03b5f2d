//! Interop with opentracker (Debian package), started on a loopback port by each test.

mod interop;
mod net;

use std::time::Duration;

use bt_tracker::announce::Cause;
use interop::{Opentracker, bep41_scenario, swarm_scenario};
use net::{Peer, info_hash};

fn sane_opentracker_intervals(seen: &bt_tracker::announce::Announced) {
    // opentracker draws the interval from 1620..=1979 s and sends `min interval` = interval / 2
    // over HTTP; UDP has no min interval, so the machine's 60 s default applies.
    let interval = seen.interval.as_secs();
    assert!((1620..=1979).contains(&interval), "interval {interval} s");
    assert!(seen.min_interval >= Duration::from_secs(60) && seen.min_interval <= seen.interval);
}

#[test]
fn udp_announce_scrape_and_stopped_match_the_swarm() {
    let hash = info_hash("ot-udp");
    let Some(tracker) = Opentracker::start(&[hash]) else {
        return;
    };
    let seen = swarm_scenario(&format!("udp://127.0.0.1:{}/announce", tracker.port), hash);
    sane_opentracker_intervals(&seen);
}

#[test]
fn http_announce_scrape_and_stopped_match_the_swarm() {
    let hash = info_hash("ot-http");
    let Some(tracker) = Opentracker::start(&[hash]) else {
        return;
    };
    let seen = swarm_scenario(&format!("http://127.0.0.1:{}/announce", tracker.port), hash);
    sane_opentracker_intervals(&seen);
    let (interval, min) = (seen.interval.as_secs(), seen.min_interval.as_secs());
    assert_eq!(min, interval / 2, "HTTP min interval is half the interval");
}

#[test]
fn udp_announce_url_with_path_and_query_is_accepted_bep41() {
    let hash = info_hash("ot-bep41");
    let Some(tracker) = Opentracker::start(&[hash]) else {
        return;
    };
    let url = format!(
        "udp://127.0.0.1:{}/announce?passkey=0123456789abcdef&x=%20y",
        tracker.port
    );
    bep41_scenario(&url, hash);
}

#[test]
fn an_unlisted_info_hash_is_refused_over_udp_and_http() {
    let Some(tracker) = Opentracker::start(&[info_hash("ot-listed")]) else {
        return;
    };
    let hash = info_hash("ot-not-listed");
    // UDP: opentracker answers with a bare 8-byte announce reply.
    let mut udp = Peer::new(
        &format!("udp://127.0.0.1:{}/announce", tracker.port),
        hash,
        1,
        0,
    );
    let failed = udp
        .next_announce()
        .expect_err("an unlisted hash must be refused");
    assert_eq!(failed.cause, Cause::Refused);
    // HTTP: a bencoded failure reason.
    let mut http = Peer::new(
        &format!("http://127.0.0.1:{}/announce", tracker.port),
        hash,
        2,
        0,
    );
    let failed = http
        .next_announce()
        .expect_err("an unlisted hash must be refused");
    assert!(
        matches!(&failed.cause, Cause::Tracker { reason, .. } if !reason.is_empty()),
        "{:?}",
        failed.cause
    );
}
