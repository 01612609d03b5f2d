//! Per-tracker commands, live changes and live tracker-list edits (issue 17): announce to one
//! tracker, scrape one tracker, change port / numwant / peer id, pause and resume, add / remove /
//! replace trackers, on `Announce` and on `Client`, with the status snapshot following at once.

mod common;

use common::start;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, EditError, Event, Families, HttpRequest, Progress, RequestKind,
    TierMode, Torrent, TorrentId, TrackerId, TrackerState,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0001-edits0000001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(1),
    }
}

fn url(n: u8) -> TrackerUrl {
    TrackerUrl::parse(&format!("http://10.0.0.{n}/announce")).unwrap()
}

/// One tracker per tier, in the order given (one-tracker tiers are never shuffled).
fn tiers(ns: &[u8]) -> Vec<Vec<TrackerUrl>> {
    ns.iter().map(|&n| vec![url(n)]).collect()
}

const OK: &[u8] = b"d8:intervali1800e5:peers0:e";

fn ok() -> HttpResponse<'static> {
    HttpResponse::new(200, None, OK)
}

fn machine(ns: &[u8], config: Config, now: Instant) -> Announce {
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    Announce::new(config, torrent(), tiers(ns), &mut rng, now).unwrap()
}

fn requests(a: &mut Announce) -> Vec<HttpRequest> {
    std::iter::from_fn(|| a.poll_http_request()).collect()
}

fn events(a: &mut Announce) -> Vec<Event> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn tracker_of(r: &HttpRequest) -> TrackerId {
    r.origin.tracker().unwrap()
}

/// A machine whose first tracker answered its `started`, at `now`.
fn started(ns: &[u8], now: Instant) -> Announce {
    let mut a = machine(ns, Config::default(), now);
    let r = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, r.id, &ok()));
    events(&mut a);
    a
}

#[test]
fn announce_tracker_reaches_a_backup_tier_now_with_started_and_leaves_the_tier_schedule() {
    let now = start();
    let mut a = started(&[1, 2], now);
    let next = a.trackers().next().unwrap().next_announce;
    assert_eq!(a.announce_tracker(now, TrackerId(1)), Some(now));
    let r = requests(&mut a);
    assert_eq!(r.len(), 1);
    assert_eq!(tracker_of(&r[0]), TrackerId(1));
    assert_eq!(r[0].kind, RequestKind::Announce(AnnounceEvent::Started));
    assert!(r[0].url.as_str().contains("event=started"));
    assert_eq!(a.trackers().nth(1).unwrap().state, TrackerState::Updating);
    assert!(a.handle_http_response(now, r[0].id, &ok()));
    // The first tier's schedule is untouched, and the backup does not move ahead of it.
    let s: Vec<_> = a.trackers().collect();
    assert_eq!(s[0].next_announce, next);
    assert_eq!(s[1].state, TrackerState::Working);
    assert_eq!(
        a.tiers().collect::<Vec<_>>(),
        [vec![TrackerId(0)], vec![TrackerId(1)]]
    );
}

#[test]
fn announce_tracker_without_an_event_waits_for_min_interval() {
    let now = start();
    let mut a = started(&[1], now);
    let min = now + Duration::from_secs(60);
    assert_eq!(a.announce_tracker(now, TrackerId(0)), Some(min));
    assert!(a.poll_http_request().is_none());
    assert_eq!(a.trackers().next().unwrap().next_announce, Some(min));
    assert_eq!(a.poll_timeout(), Some(min));
    a.handle_timeout(min);
    let r = a.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Regular));
    assert!(a.handle_http_response(min, r.id, &ok()));
    // Its answer counts as the tier's round: the next one is an interval later, not sooner.
    assert_eq!(a.poll_timeout(), Some(min + Duration::from_secs(1800)));
}

#[test]
fn announce_tracker_refuses_unknown_removed_and_paused() {
    let now = start();
    let mut a = started(&[1, 2], now);
    assert_eq!(a.announce_tracker(now, TrackerId(9)), None);
    assert!(a.remove_tracker(now, TrackerId(1)));
    assert_eq!(a.announce_tracker(now, TrackerId(1)), None);
    assert!(a.pause(now));
    assert_eq!(a.announce_tracker(now, TrackerId(0)), None);
}

#[test]
fn scrape_tracker_scrapes_that_tracker_alone() {
    let now = start();
    let mut a = started(&[1, 2], now);
    assert!(a.scrape_tracker(now, TrackerId(1)));
    let r = requests(&mut a);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].kind, tracker_of(&r[0])),
        (RequestKind::Scrape, TrackerId(1))
    );
    assert!(
        r[0].url
            .as_str()
            .starts_with("http://10.0.0.2/scrape?info_hash=")
    );
    // Already scraping, unknown: refused.
    assert!(!a.scrape_tracker(now, TrackerId(1)));
    assert!(!a.scrape_tracker(now, TrackerId(5)));
}

#[test]
fn set_port_reannounces_with_the_new_port_once_min_interval_allows() {
    let now = start();
    let mut a = started(&[1], now);
    assert_eq!(a.set_port(now, 0), Err(EditError::InvalidPort));
    let t = now + Duration::from_secs(61);
    a.set_port(t, 7000).unwrap();
    let r = a.poll_http_request().unwrap();
    assert!(r.url.as_str().contains("&port=7000&"), "{}", r.url.as_str());
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Regular));
}

#[test]
fn numwant_and_peer_id_changes_are_carried_by_the_next_announce() {
    let now = start();
    let mut a = started(&[1], now);
    assert_eq!(
        a.set_num_want(0),
        Err(EditError::InvalidNumWant { num_want: 0 })
    );
    assert!(a.set_num_want(3640).is_err());
    a.set_num_want(33).unwrap();
    a.set_peer_id(PeerId(*b"-BT0001-newid0000001"));
    let t = now + Duration::from_secs(1800);
    a.handle_timeout(t);
    let r = a.poll_http_request().unwrap();
    let u = r.url.as_str();
    assert!(u.contains("&numwant=33&"), "{u}");
    assert!(u.contains("peer_id=-BT0001-newid0000001&"), "{u}");
    assert!(u.contains("&key=00000001&"), "the key stays: {u}");
}

#[test]
fn pause_sends_stopped_where_started_went_and_resume_sends_started_again() {
    let now = start();
    let mut a = started(&[1, 2], now);
    assert!(a.pause(now));
    assert!(a.is_paused());
    assert!(!a.pause(now));
    let r = requests(&mut a);
    // Only tracker 0 was sent `started`.
    assert_eq!(r.len(), 1);
    assert_eq!(tracker_of(&r[0]), TrackerId(0));
    assert_eq!(r[0].kind, RequestKind::Announce(AnnounceEvent::Stopped));
    assert!(r[0].url.as_str().contains("numwant=0"));
    assert!(a.handle_http_response(now, r[0].id, &ok()));
    // Paused: nothing is scheduled, nothing is announced, the tab shows no next announce.
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(a.announce_now(now), None);
    assert!(a.trackers().all(|s| s.next_announce.is_none()));
    // Completing while paused owes no `completed`: the next `started` says left=0.
    a.completed(now);
    let t = now + Duration::from_secs(3600);
    a.handle_timeout(t);
    assert!(a.poll_http_request().is_none());
    assert!(a.resume(t));
    assert!(!a.resume(t));
    let r = requests(&mut a);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, RequestKind::Announce(AnnounceEvent::Started));
    assert!(!a.is_paused());
}

#[test]
fn resume_cancels_a_stopped_still_in_flight_and_stop_keeps_one() {
    let now = start();
    let mut a = started(&[1], now);
    assert!(a.pause(now));
    let stopped = a.poll_http_request().unwrap();
    events(&mut a);
    assert!(a.resume(now));
    let got = events(&mut a);
    assert!(
        matches!(&got[..], [Event::Failed(f)] if f.id == stopped.id && f.cause == Cause::Cancelled)
    );
    let r = a.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Started));
    // Pause again, then stop while that `stopped` is in flight: it is not sent twice.
    assert!(a.handle_http_response(now, r.id, &ok()));
    assert!(a.pause(now));
    let stopped = a.poll_http_request().unwrap();
    a.stop(now);
    assert!(a.poll_http_request().is_none());
    assert!(a.handle_http_response(now, stopped.id, &ok()));
    assert!(a.is_stopped());
}

#[test]
fn add_tracker_appends_to_a_tier_or_makes_a_new_one_and_the_snapshot_shows_it() {
    let now = start();
    let mut a = started(&[1], now);
    let id = a.add_tracker(now, url(2), 0).unwrap();
    assert_eq!(id, TrackerId(1));
    // A URL already listed keeps its id.
    assert_eq!(a.add_tracker(now, url(2), 5), Ok(TrackerId(1)));
    let id3 = a.add_tracker(now, url(3), 99).unwrap();
    let s: Vec<_> = a.trackers().map(|s| (s.id, s.tier, s.state)).collect();
    assert_eq!(
        s,
        [
            (TrackerId(0), 0, TrackerState::Working),
            (TrackerId(1), 0, TrackerState::NotContacted),
            (id3, 1, TrackerState::NotContacted),
        ]
    );
    // BEP 12 one-tracker mode: the working tracker stays the one asked; nothing is sent now.
    assert!(a.poll_http_request().is_none());
}

#[test]
fn add_tracker_in_all_trackers_mode_announces_to_it_at_once() {
    let now = start();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let mut a = machine(&[1], config, now);
    let r = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, r.id, &ok()));
    let id = a.add_tracker(now, url(2), 0).unwrap();
    let r = requests(&mut a);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (tracker_of(&r[0]), r[0].kind),
        (id, RequestKind::Announce(AnnounceEvent::Started))
    );
}

#[test]
fn the_tracker_cap_is_enforced_with_an_error_that_says_what_to_do() {
    let now = start();
    let mut config = Config::default();
    config.max_trackers = 2;
    let mut a = machine(&[1, 2], config, now);
    let err = a.add_tracker(now, url(3), 0).unwrap_err();
    assert_eq!(err, EditError::TooManyTrackers { count: 3, max: 2 });
    assert!(err.to_string().contains("remove one first"));
    let three = vec![vec![url(1), url(2), url(3)]];
    assert!(matches!(
        a.replace_trackers(now, three),
        Err(EditError::TooManyTrackers { count: 3, max: 2 })
    ));
    // Nothing changed.
    assert_eq!(a.trackers().count(), 2);
    let bad = TrackerUrl::parse("http://10.0.0.4/announce?info_hash=x").unwrap();
    assert!(matches!(
        a.add_tracker(now, bad, 0),
        Err(EditError::BadTrackerUrl { .. })
    ));
}

#[test]
fn remove_tracker_cancels_its_request_sends_stopped_and_others_keep_their_ids() {
    let now = start();
    let mut a = started(&[1, 2, 3], now);
    assert!(a.scrape_tracker(now, TrackerId(0)));
    let scrape = a.poll_http_request().unwrap();
    assert!(a.remove_tracker(now, TrackerId(0)));
    assert!(!a.remove_tracker(now, TrackerId(0)));
    let got = events(&mut a);
    assert!(
        matches!(&got[..], [Event::Failed(f)] if f.id == scrape.id && f.cause == Cause::Cancelled)
    );
    let r = requests(&mut a);
    // Its `stopped`, then (BEP 12) the next tier takes over with `started`.
    let kinds: Vec<_> = r.iter().map(|r| (tracker_of(r), r.kind)).collect();
    assert_eq!(
        kinds,
        [
            (TrackerId(0), RequestKind::Announce(AnnounceEvent::Stopped)),
            (TrackerId(1), RequestKind::Announce(AnnounceEvent::Started)),
        ]
    );
    // Tier 0 is empty now: it goes, and the later tiers move up.
    let ids: Vec<_> = a.trackers().map(|s| (s.id, s.tier)).collect();
    assert_eq!(ids, [(TrackerId(1), 0), (TrackerId(2), 1)]);
    // The removed tracker's `stopped` answer still names it.
    assert!(a.handle_http_response(now, r[0].id, &ok()));
    assert!(
        matches!(&events(&mut a)[..], [Event::Announced(x)] if x.tracker == TrackerId(0) && x.event == AnnounceEvent::Stopped)
    );
    // Its slot is free again: a tracker added now gets id 0.
    assert_eq!(a.add_tracker(now, url(4), 0), Ok(TrackerId(0)));
}

#[test]
fn a_removed_trackers_id_is_not_reused_while_its_outcome_waits_to_be_drained() {
    // Found by the announce_machine fuzz target: with its `stopped` answered but not drained, the
    // removed tracker's slot took a new tracker, whose first outcome then replaced the waiting
    // `stopped` outcome under the same id. Every outcome is drained, whatever the caller edits
    // in between.
    let now = start();
    let mut a = started(&[1, 2, 3], now);
    assert!(a.remove_tracker(now, TrackerId(0)));
    let stopped = requests(&mut a).remove(0);
    assert_eq!(tracker_of(&stopped), TrackerId(0));
    assert!(a.handle_http_response(now, stopped.id, &ok()));
    // The outcome waits: id 0 is not free, the new tracker takes a new id.
    let fresh = a.add_tracker(now, url(4), 0).unwrap();
    assert_eq!(fresh, TrackerId(3));
    assert_eq!(a.announce_tracker(now, fresh), Some(now));
    for r in requests(&mut a) {
        assert!(a.handle_http_response(now, r.id, &ok()));
    }
    let announced: Vec<_> = events(&mut a)
        .iter()
        .filter_map(|e| match e {
            Event::Announced(x) => Some((x.tracker, x.event)),
            _ => None,
        })
        .collect();
    assert!(
        announced.contains(&(TrackerId(0), AnnounceEvent::Stopped)),
        "the removed tracker's stopped outcome was lost: {announced:?}"
    );
    assert!(
        announced.contains(&(fresh, AnnounceEvent::Started)),
        "{announced:?}"
    );
    // Drained, id 0 is free again.
    assert_eq!(a.add_tracker(now, url(5), 0), Ok(TrackerId(0)));
}

#[test]
fn a_removed_tracker_never_sent_started_gets_nothing() {
    let now = start();
    let mut a = started(&[1, 2], now);
    assert!(a.remove_tracker(now, TrackerId(1)));
    assert!(a.poll_http_request().is_none());
    assert!(events(&mut a).is_empty());
    assert_eq!(a.trackers().count(), 1);
}

#[test]
fn replace_trackers_keeps_the_state_and_id_of_urls_that_stay() {
    let now = start();
    let mut a = started(&[1, 2], now);
    let before = a.trackers().next().unwrap();
    let (last, next) = (before.last_announce, before.next_announce);
    a.replace_trackers(now, vec![vec![url(3)], vec![url(1), url(3)], vec![]])
        .unwrap();
    let s: Vec<_> = a.trackers().collect();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].id, s[0].tier), (TrackerId(1), 0)); // tracker 1's slot, reused for url 3
    assert_eq!(s[0].url.as_str(), "http://10.0.0.3/announce");
    assert_eq!(s[0].state, TrackerState::Updating); // its `started` is queued
    assert_eq!(
        (s[1].id, s[1].tier, s[1].state),
        (TrackerId(0), 1, TrackerState::Working)
    );
    assert_eq!(s[1].last_announce, last);
    // No `stopped` (url 2 was never sent `started`), and url 1 keeps its `started` state: the
    // first tier is asked now (BEP 12 walks from the top) with `started`.
    let r = requests(&mut a);
    assert_eq!(
        r.iter()
            .map(|r| (tracker_of(r), r.kind))
            .collect::<Vec<_>>(),
        [(TrackerId(1), RequestKind::Announce(AnnounceEvent::Started))]
    );
    assert!(next.is_some());
    // An empty list is allowed: nothing is announced until a tracker is added.
    let mut b = started(&[1], now);
    b.replace_trackers(now, vec![]).unwrap();
    assert_eq!(b.trackers().count(), 0);
    let r = requests(&mut b);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, RequestKind::Announce(AnnounceEvent::Stopped));
    assert!(b.handle_http_response(now, r[0].id, &ok()));
    assert_eq!(b.poll_timeout(), None);
    b.add_tracker(now, url(5), 0).unwrap();
    assert_eq!(
        b.poll_http_request().map(|r| r.kind),
        Some(RequestKind::Announce(AnnounceEvent::Started))
    );
}

#[test]
fn edits_after_stop_are_refused() {
    let now = start();
    let mut a = started(&[1], now);
    a.stop(now);
    assert_eq!(a.add_tracker(now, url(2), 0), Err(EditError::Stopped));
    assert_eq!(
        a.replace_trackers(now, tiers(&[2])),
        Err(EditError::Stopped)
    );
    assert!(!a.remove_tracker(now, TrackerId(0)));
    assert_eq!(a.set_port(now, 1), Err(EditError::Stopped));
    assert_eq!(a.set_num_want(10), Err(EditError::Stopped));
    assert!(!a.pause(now));
    assert!(!a.scrape_tracker(now, TrackerId(0)));
}

#[test]
fn client_commands_and_edits_name_the_torrent_and_refuse_a_removed_one() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(5);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let id = client.add(now, torrent(), tiers(&[1])).unwrap();
    let r = client.poll_http_request().unwrap();
    assert!(client.handle_http_response(now, r.id, &ok()));
    let added = client.add_tracker(now, id, url(2), 1).unwrap();
    assert_eq!(client.trackers(id).count(), 2);
    assert_eq!(client.announce_tracker(now, id, added), Some(now));
    let r = client.poll_http_request().unwrap();
    assert_eq!(r.origin.tracker(), Some(added));
    // A batched scrape of the added tracker, cancelled by its removal.
    assert!(client.scrape_tracker(now, id, added));
    assert!(client.remove_tracker(now, id, added));
    let got: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    let cancelled = got
        .iter()
        .filter(|(_, e)| matches!(e, Event::Failed(f) if f.cause == Cause::Cancelled))
        .count();
    assert_eq!(cancelled, 2, "{got:?}"); // its announce and its scrape
    assert!(client.pause(now, id));
    assert!(client.is_paused(id));
    let r = client.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Stopped));
    assert!(client.resume(now, id));
    client.set_num_want(id, 10).unwrap();
    assert!(client.set_peer_id(id, PeerId([1; 20])));
    assert!(client.remove(now, id));
    assert!(!client.pause(now, id));
    assert_eq!(client.announce_tracker(now, id, TrackerId(0)), None);
    assert_eq!(
        client.add_tracker(now, id, url(3), 0),
        Err(EditError::Stopped)
    );
    assert!(!client.scrape_tracker(now, id, TrackerId(0)));
    assert!(!client.remove_tracker(now, id, TrackerId(0)));
}

/// A `Client` (`Config::default()`, generator seeded with `seed`) holding two torrents, info
/// hashes 7 and 8, on the HTTP tracker of `tiers(&[1])`; with the start time.
fn two_torrents(seed: u64) -> (Client, TorrentId, TorrentId, Instant) {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let a = client.add(now, torrent(), tiers(&[1])).unwrap();
    let other = Torrent {
        info_hash: InfoHash([8; 20]),
        ..torrent()
    };
    let b = client.add(now, other, tiers(&[1])).unwrap();
    (client, a, b, now)
}

/// `EditError::Stopped` is the error after `Client::remove` or `stop` while the torrent is still
/// held (its `Stopped` not drained); `UnknownTorrent` is for an id the client does not hold.
#[test]
fn a_client_torrent_being_removed_refuses_edits_as_stopped_and_a_drained_one_as_unknown() {
    let (mut client, a, b, now) = two_torrents(5);
    let edits = |c: &mut Client, t: TorrentId| {
        vec![
            c.set_port(now, t, 7).err(),
            c.set_num_want(t, 5).err(),
            c.add_tracker(now, t, url(3), 0).err(),
            c.replace_trackers(now, t, tiers(&[2])).err(),
        ]
    };
    assert!(client.remove(now, a));
    assert!(client.contains(a));
    assert_eq!(edits(&mut client, a), vec![Some(EditError::Stopped); 4]);
    client.stop(now);
    assert!(client.contains(b));
    assert_eq!(edits(&mut client, b), vec![Some(EditError::Stopped); 4]);
    // Answered and drained: the ids name nothing any more.
    while let Some(r) = client.poll_http_request() {
        client.handle_http_response(now, r.id, &ok());
    }
    let stopped = std::iter::from_fn(|| client.poll_event())
        .filter(|(_, e)| *e == Event::Stopped)
        .count();
    assert_eq!(stopped, 2);
    for t in [a, b] {
        assert!(!client.contains(t));
        assert_eq!(
            edits(&mut client, t),
            vec![Some(EditError::UnknownTorrent); 4]
        );
    }
}

#[test]
fn a_hybrid_torrent_announces_each_swarm_with_the_same_peer_id_and_key() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(6);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let v2 = InfoHash::from_v2(&[0x22; 32]);
    let t = Torrent {
        key: None,
        ..torrent()
    };
    let ids = client.add_hybrid(now, t, v2, tiers(&[1])).unwrap();
    assert_eq!(client.hybrid_partner(ids.v1), Some(ids.v2));
    assert_eq!(client.hybrid_partner(ids.v2), Some(ids.v1));
    assert_eq!(client.key(ids.v1), client.key(ids.v2));
    let r: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    assert_eq!(r.len(), 2);
    let key = format!("&key={:08X}&", client.key(ids.v1).unwrap());
    for (req, hash) in r.iter().zip(["info_hash=%07%07", "info_hash=%22%22"]) {
        let u = req.url.as_str();
        assert!(u.contains(hash), "{u}");
        assert!(u.contains("peer_id=-BT0001-edits0000001&"), "{u}");
        assert!(u.contains(&key), "{u}");
    }
    // Each swarm answers on its own: peers per swarm, each its own torrent.
    assert!(client.handle_http_response(now, r[1].id, &ok()));
    let (who, e) = client.poll_event().unwrap();
    assert!(matches!(e, Event::Announced(_)) && who == ids.v2);
    // The same hash twice is refused.
    let same = client.add_hybrid(now, torrent(), InfoHash([7; 20]), tiers(&[1]));
    assert!(same.is_err());
    assert_eq!(client.hybrid_partner(TorrentId(99)), None);
}

#[test]
fn removing_a_tracker_mid_batch_cancels_only_that_torrents_row() {
    let (mut client, a, b, now) = two_torrents(7);
    for _ in 0..2 {
        let r = client.poll_http_request().unwrap();
        assert!(client.handle_http_response(now, r.id, &ok()));
    }
    while client.poll_event().is_some() {}
    assert!(client.scrape(now, a) && client.scrape(now, b));
    let at = now + Config::default().scrape_window;
    client.handle_timeout(at);
    let batch = client.poll_http_request().unwrap();
    assert_eq!(batch.url.as_str().matches("info_hash=").count(), 2);
    assert!(client.remove_tracker(at, a, TrackerId(0)));
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&[7; 20]);
    body.extend_from_slice(b"d8:completei1e10:downloadedi2e10:incompletei3ee20:");
    body.extend_from_slice(&[8; 20]);
    body.extend_from_slice(b"d8:completei4e10:downloadedi5e10:incompletei6eeee");
    assert!(client.handle_http_response(at, batch.id, &HttpResponse::new(200, None, &body)));
    let got: Vec<_> = std::iter::from_fn(|| client.poll_event())
        .filter(|(_, e)| !matches!(e, Event::Announced(_)))
        .collect();
    assert!(
        matches!(&got[..], [(t, Event::Failed(f)), (u, Event::Scraped(s))]
        if *t == a && f.cause == Cause::Cancelled && f.id == batch.id
        && *u == b && s.seeders == Some(4)),
        "{got:?}"
    );
    // The removed tracker's row changed nothing; b's status has its counts.
    assert_eq!(client.trackers(a).count(), 0);
    let counts = client.trackers(b).next().unwrap().counts.unwrap();
    assert_eq!(counts.completed, Some(5));
}

#[test]
fn an_answer_before_a_held_back_announce_tracker_satisfies_it() {
    let now = start();
    let mut a = started(&[1], now);
    let min = now + Duration::from_secs(60);
    assert_eq!(a.announce_tracker(now, TrackerId(0)), Some(min));
    // `completed` goes out at once (an event beats min interval) and is answered.
    a.completed(now + Duration::from_secs(10));
    let r = a.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Completed));
    assert!(a.handle_http_response(now + Duration::from_secs(10), r.id, &ok()));
    // No second announce at the old min interval: the next is the interval's.
    assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(10 + 1800)));
}

#[test]
fn announce_tracker_waits_for_retry_in() {
    let now = start();
    let mut a = machine(&[1], Config::default(), now);
    let r = a.poll_http_request().unwrap();
    let body = b"d14:failure reason4:busy8:retry ini5ee";
    assert!(a.handle_http_response(now, r.id, &HttpResponse::new(200, None, body)));
    let at = now + Duration::from_secs(300);
    assert_eq!(a.announce_tracker(now, TrackerId(0)), Some(at));
    assert!(a.poll_http_request().is_none());
    a.handle_timeout(at);
    let r = a.poll_http_request().unwrap();
    assert_eq!(r.kind, RequestKind::Announce(AnnounceEvent::Started));
}

#[test]
fn a_tracker_added_under_one_family_is_announced_over_that_family_only() {
    let now = start();
    for family in [AddressFamily::V4, AddressFamily::V6] {
        let mut config = Config::default();
        config.families = if family == AddressFamily::V4 {
            Families::V4
        } else {
            Families::V6
        };
        let mut a = machine(&[1], config, now);
        let added = TrackerUrl::parse("http://tracker.example/announce").unwrap();
        let id = a.add_tracker(now, added, 0).unwrap();
        let s = a.trackers().find(|s| s.id == id).unwrap();
        assert_eq!(s.family, Some(family), "added");
        let replaced = a
            .replace_trackers(now, vec![vec![url(1), url(4)]])
            .map(|()| a.trackers().map(|s| s.family).collect::<Vec<_>>());
        assert_eq!(replaced, Ok(vec![Some(family), Some(family)]), "replaced");
    }
}
