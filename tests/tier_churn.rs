//! Live tracker edits keep the tier list as long as the trackers listed, however long they go on:
//! a tier a removal leaves empty goes away and the later tiers move up (keeping their trackers and
//! schedule), so `add_tracker` at a new last tier then `remove_tracker`, round after round, never
//! grows the list (it grew by one empty tier a round, each edit walking them all).

mod common;

use common::start;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Config, Event, Families, Progress, RequestKind, TierMode, Torrent, TrackerId,
};
use bt_tracker::http::HttpResponse;
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([9; 20]),
        peer_id: PeerId(*b"-BT0001-tierchurn001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(1),
    }
}

fn url(n: u32) -> TrackerUrl {
    TrackerUrl::parse(&format!(
        "http://10.{}.{}.{}/announce",
        n >> 16,
        (n >> 8) & 255,
        n & 255
    ))
    .unwrap()
}

fn machine(config: Config, tiers: Vec<Vec<TrackerUrl>>, now: Instant) -> Announce {
    Announce::new(
        config,
        torrent(),
        tiers,
        &mut ChaCha12Rng::seed_from_u64(1),
        now,
    )
    .unwrap()
}

/// Drains everything, answering every HTTP request with an empty success.
fn drain_answering(a: &mut Announce, now: Instant) {
    while a.poll_dns_query().is_some() {}
    let mut buf = Vec::new();
    while a.poll_transmit(&mut buf).is_some() {}
    let requests: Vec<_> = std::iter::from_fn(|| a.poll_http_request()).collect();
    for r in requests {
        let ok = HttpResponse::new(200, None, b"d8:intervali1800e5:peers0:e");
        a.handle_http_response(now, r.id, &ok);
    }
    while a.poll_event().is_some() {}
}

fn configs() -> Vec<Config> {
    let mut out = Vec::new();
    for mode in [
        TierMode::OneTracker,
        TierMode::AllTiers,
        TierMode::AllTrackers,
    ] {
        for families in [Families::V4, Families::Both] {
            let mut c = Config::default();
            c.tier_mode = mode;
            c.families = families;
            out.push(c);
        }
    }
    out
}

const ROUNDS: u32 = 3_000;

#[test]
fn adding_at_a_new_last_tier_then_removing_never_grows_the_tier_list() {
    let t0 = start();
    for config in configs() {
        let what = format!("{:?} {:?}", config.tier_mode, config.families);
        // Under BEP 7 dual-stack `tiers()` lists each family's tiers.
        let groups = if config.families == Families::Both {
            2
        } else {
            1
        };
        let mut a = machine(config, vec![vec![url(0)]], t0);
        drain_answering(&mut a, t0);
        let mut now = t0;
        for i in 1..=ROUNDS {
            now += Duration::from_millis(10);
            let id = a.add_tracker(now, url(i), usize::MAX).unwrap();
            assert_eq!(a.tiers().count(), 2 * groups, "{what}: round {i}");
            assert!(a.remove_tracker(now, id), "{what}: round {i}");
            assert_eq!(a.tiers().count(), groups, "{what}: round {i}");
            drain_answering(&mut a, now);
            a.handle_timeout(now);
            drain_answering(&mut a, now);
        }
        let tiers: Vec<_> = a.trackers().map(|s| (s.id, s.tier)).collect();
        assert_eq!(tiers, [(TrackerId(0), 0)], "{what}");
    }
}

#[test]
fn adding_a_new_last_tier_and_removing_the_one_before_keeps_one_tier() {
    let t0 = start();
    for config in configs() {
        let what = format!("{:?} {:?}", config.tier_mode, config.families);
        // Under BEP 7 dual-stack `tiers()` lists each family's tiers.
        let groups = if config.families == Families::Both {
            2
        } else {
            1
        };
        let max = config.max_trackers;
        let mut a = machine(config, vec![vec![url(0)]], t0);
        drain_answering(&mut a, t0);
        let mut now = t0;
        let mut previous = TrackerId(0);
        for i in 1..=ROUNDS {
            now += Duration::from_millis(10);
            let id = a.add_tracker(now, url(i), usize::MAX).unwrap();
            assert!(a.remove_tracker(now, previous), "{what}: round {i}");
            previous = id;
            let tiers = a.tiers().count();
            assert!(
                tiers == groups && tiers <= max,
                "{what}: round {i}: {tiers} tiers"
            );
            drain_answering(&mut a, now);
            a.handle_timeout(now);
            drain_answering(&mut a, now);
        }
        let status: Vec<_> = a.trackers().map(|s| (s.id, s.tier)).collect();
        assert_eq!(status, [(previous, 0)], "{what}");
    }
}

/// In all-tiers mode each tier has a lane of its own: closing an empty tier moves the later
/// tiers' lanes up with their schedule, so a tier that just announced is not asked again.
#[test]
fn removing_a_tracker_closes_its_empty_tier_and_later_tiers_keep_their_schedule() {
    let t0 = start();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTiers;
    let mut a = machine(config, vec![vec![url(1)], vec![url(2)], vec![url(3)]], t0);
    drain_answering(&mut a, t0);
    let before: Vec<_> = a.trackers().map(|s| (s.id, s.next_announce)).collect();
    assert!(before.iter().all(|(_, due)| due.is_some()), "{before:?}");
    let now = t0 + Duration::from_secs(10);
    assert!(a.remove_tracker(now, TrackerId(0)));
    let requests: Vec<_> = std::iter::from_fn(|| a.poll_http_request())
        .map(|r| (r.origin.tracker(), r.kind))
        .collect();
    // Only the removed tracker's `stopped`: tiers 2 and 3 were answered 10 s ago.
    assert_eq!(
        requests,
        [(
            Some(TrackerId(0)),
            RequestKind::Announce(AnnounceEvent::Stopped)
        )]
    );
    let after: Vec<_> = a
        .trackers()
        .map(|s| (s.id, s.tier, s.next_announce))
        .collect();
    assert_eq!(
        after,
        [
            (TrackerId(1), 0, before[1].1),
            (TrackerId(2), 1, before[2].1)
        ]
    );
    assert!(!std::iter::from_fn(|| a.poll_event()).any(|e| matches!(e, Event::Failed(_))));
}

/// A tracker added, announced to and removed, round after round, with no event drained: each
/// removed tracker's outcome waits and its id stays in use until it is drained, so the queue
/// holds an outcome per id in use (not per tracker listed: one is listed throughout), nothing
/// owed is dropped, and each edit stays as cheap as the slots and the queue are long.
#[test]
fn churned_trackers_outcomes_all_arrive_within_three_events_per_id_in_use() {
    const STEPS: u32 = 2_000;
    let t0 = start();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let mut a = machine(config, vec![vec![url(0)]], t0);
    drain_answering(&mut a, t0);
    let ok = HttpResponse::new(200, None, b"d8:intervali1800e5:peers0:e");
    let refused = HttpResponse::new(500, None, b"");
    let mut added = Vec::new();
    for n in 1..=STEPS {
        let id = a.add_tracker(t0, url(n), 0).unwrap();
        let started: Vec<_> = std::iter::from_fn(|| a.poll_http_request()).collect();
        assert_eq!(started.len(), 1, "step {n}");
        assert!(a.remove_tracker(t0, id));
        // Every other tracker's `stopped` is answered, the rest fail (HTTP 500).
        let stopped: Vec<_> = std::iter::from_fn(|| a.poll_http_request()).collect();
        assert_eq!(stopped.len(), 1, "step {n}");
        let reply = if n % 2 == 0 { &ok } else { &refused };
        assert!(a.handle_http_response(t0, stopped[0].id, reply));
        added.push(id);
    }
    assert_eq!(a.trackers().count(), 1);
    // No id was free for reuse: each removed tracker's outcome waited.
    let mut ids = added.clone();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), STEPS as usize);
    let events: Vec<_> = std::iter::from_fn(|| a.poll_event()).collect();
    let in_use = STEPS as usize + 1;
    assert!(events.len() <= 3 * in_use + 1, "{} events", events.len());
    // Each removed tracker's last outcome arrives: its `stopped` answered or failed (it took
    // the place of its `started`'s `Cancelled`, which still waited).
    for (n, id) in (1..=STEPS).zip(&added) {
        let last: Vec<_> = events
            .iter()
            .filter(|e| match e {
                Event::Announced(x) => x.tracker == *id,
                Event::Failed(f) => f.tracker == *id,
                _ => false,
            })
            .collect();
        let stopped = RequestKind::Announce(AnnounceEvent::Stopped);
        match last[..] {
            [Event::Announced(x)] => assert!(n % 2 == 0 && x.event == AnnounceEvent::Stopped),
            [Event::Failed(f)] => assert!(n % 2 == 1 && f.request == stopped, "{f:?}"),
            _ => panic!("step {n}: {last:?}"),
        }
    }
    assert_eq!(a.events_superseded(), u64::from(STEPS));
    // Drained, the ids are free again: the next tracker takes the lowest removed one.
    assert_eq!(a.add_tracker(t0, url(STEPS + 1), 0), Ok(TrackerId(1)));
}
