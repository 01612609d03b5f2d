//! The tracker status snapshot (`Announce::trackers`, `Client::trackers`): what a client's tracker
//! tab draws, field by field, as requests are answered, fail and are scraped.

mod common;

use common::start;
use std::time::Duration;

use bt_tracker::announce::{
    Announce, Cause, Config, CountsSource, HttpRequest, Progress, Torrent, TrackerState,
    TrackerStatus,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const HASH: [u8; 20] = [7; 20];

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash(HASH),
        peer_id: PeerId(*b"-BT0001-status000001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(1),
    }
}

fn urls(list: &[&str]) -> Vec<Vec<TrackerUrl>> {
    list.iter()
        .map(|u| vec![TrackerUrl::parse(u).unwrap()])
        .collect()
}

fn ok(body: &[u8]) -> HttpResponse<'_> {
    HttpResponse::new(200, None, body)
}

/// An announce reply with one peer, 5 seeders, 3 leechers, a warning and a tracker id.
const ANSWER: &[u8] = b"d8:intervali1800e8:completei5e10:incompletei3e15:warning message4:slow10:tracker id2:t15:peers6:\x0a\x00\x00\x01\x1a\xe1e";

fn statuses(a: &Announce) -> Vec<TrackerStatus<'_>> {
    a.trackers().collect()
}

#[test]
fn a_tracker_goes_from_not_contacted_to_updating_to_working_with_its_reply_fields() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let tiers = urls(&["http://10.0.0.1/announce"]);
    let mut a = Announce::new(Config::default(), torrent(), tiers, &mut rng, now).unwrap();
    // The started announce is queued: in flight as far as the tracker list is concerned.
    assert_eq!(statuses(&a)[0].state, TrackerState::Updating);
    let request: HttpRequest = a.poll_http_request().unwrap();
    let later = now + Duration::from_secs(2);
    assert!(a.handle_http_response(later, request.id, &ok(ANSWER)));
    let s = statuses(&a)[0];
    assert_eq!(s.state, TrackerState::Working);
    assert_eq!(s.url.as_str(), "http://10.0.0.1/announce");
    assert_eq!(s.tier, 0);
    assert_eq!(s.failures, 0);
    assert_eq!(s.last_error, None);
    assert_eq!(s.message, Some("slow"));
    assert_eq!(s.last_announce, Some(later));
    assert_eq!(s.next_announce, Some(later + Duration::from_secs(1800)));
    assert_eq!(s.min_announce, Some(later + Duration::from_secs(60)));
    assert_eq!(s.peers, Some(1));
    let counts = s.counts.unwrap();
    assert_eq!((counts.seeders, counts.leechers), (Some(5), Some(3)));
    assert_eq!((counts.source, counts.at), (CountsSource::Announce, later));
    assert!(s.has_tracker_id);
}

#[test]
fn failures_count_up_with_the_cause_and_text_then_a_410_disables() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(2);
    let tiers = urls(&["http://10.0.0.1/announce"]);
    let mut a = Announce::new(Config::default(), torrent(), tiers, &mut rng, now).unwrap();
    let r = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, r.id, &ok(b"d14:failure reason8:overloade")));
    let s = statuses(&a)[0];
    assert_eq!(s.state, TrackerState::NotWorking);
    assert_eq!(s.failures, 1);
    assert_eq!(s.message, Some("overload"));
    assert!(matches!(s.last_error, Some((Cause::Tracker { .. }, at)) if at == now));
    // The next round is the backoff's: shown as the next announce.
    let next = s.next_announce.unwrap();
    assert_eq!(a.poll_timeout(), Some(next));
    a.handle_timeout(next);
    let r = a.poll_http_request().unwrap();
    let gone = HttpResponse::new(410, None, &[]);
    assert!(a.handle_http_response(next, r.id, &gone));
    let s = statuses(&a)[0];
    assert_eq!(s.state, TrackerState::Disabled);
    assert_eq!(s.failures, 2);
    assert_eq!(s.last_error.map(|(c, _)| c.clone()), Some(Cause::Gone));
    assert_eq!(s.next_announce, None);
}

#[test]
fn tiers_are_listed_in_order_and_only_the_tracker_asked_next_shows_a_next_announce() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(3);
    let tiers = urls(&["http://10.0.0.1/announce", "http://10.0.0.2/announce"]);
    let mut a = Announce::new(Config::default(), torrent(), tiers, &mut rng, now).unwrap();
    let r = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, r.id, &ok(ANSWER)));
    let s = statuses(&a);
    assert_eq!(s.iter().map(|t| t.tier).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(s[0].state, TrackerState::Working);
    assert!(s[0].next_announce.is_some());
    // BEP 12: the second tier is only asked when the first fails.
    assert_eq!(s[1].state, TrackerState::NotContacted);
    assert_eq!(s[1].next_announce, None);
}

#[test]
fn a_clients_batched_scrape_gives_each_member_its_counts() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(4);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let id = client
        .add(now, torrent(), urls(&["http://10.0.0.1/announce"]))
        .unwrap();
    assert_eq!(client.torrents().collect::<Vec<_>>(), [id]);
    let started = client.poll_http_request().unwrap();
    assert!(client.handle_http_response(now, started.id, &ok(ANSWER)));
    assert!(client.scrape(now, id));
    let at = now + Config::default().scrape_window;
    client.handle_timeout(at);
    let scrape = client.poll_http_request().unwrap();
    let mut body = b"d5:filesd20:".to_vec();
    body.extend_from_slice(&HASH);
    body.extend_from_slice(b"d8:completei9e10:downloadedi40e10:incompletei2eeee");
    assert!(client.handle_http_response(at, scrape.id, &ok(&body)));
    let s: Vec<TrackerStatus<'_>> = client.trackers(id).collect();
    let counts = s[0].counts.unwrap();
    assert_eq!(
        (counts.seeders, counts.leechers, counts.completed),
        (Some(9), Some(2), Some(40))
    );
    assert_eq!((counts.source, counts.at), (CountsSource::Scrape, at));
    assert_eq!(s[0].state, TrackerState::Working);
}

/// The reply to `stopped` as many trackers send it: no peers, zero counts.
const STOPPED_ANSWER: &[u8] = b"d8:intervali1800e8:completei0e10:incompletei0e5:peers0:e";

#[test]
fn the_reply_to_stopped_keeps_the_last_peers_and_counts_of_the_swarm() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(5);
    let tiers = urls(&["http://10.0.0.1/announce"]);
    let mut a = Announce::new(Config::default(), torrent(), tiers, &mut rng, now).unwrap();
    let started = a.poll_http_request().unwrap();
    assert!(a.handle_http_response(now, started.id, &ok(ANSWER)));
    let later = now + Duration::from_secs(30);
    a.stop(later);
    let stopped = a.poll_http_request().unwrap();
    assert!(stopped.url.as_str().contains("event=stopped"));
    assert!(a.handle_http_response(later, stopped.id, &ok(STOPPED_ANSWER)));
    assert!(a.is_stopped());
    let s = statuses(&a)[0];
    assert_eq!(s.peers, Some(1));
    let counts = s.counts.unwrap();
    assert_eq!((counts.seeders, counts.leechers), (Some(5), Some(3)));
    // Still the started reply's counts, and they say how old they are.
    assert_eq!((counts.source, counts.at), (CountsSource::Announce, now));
    // The stopped reply was an answer all the same.
    assert_eq!(
        (s.state, s.last_announce),
        (TrackerState::Working, Some(later))
    );
}

#[test]
fn a_paused_torrent_shows_paused_on_every_tracker_until_it_resumes() {
    let now = start();
    let mut rng = ChaCha12Rng::seed_from_u64(6);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let id = client
        .add(
            now,
            torrent(),
            urls(&["http://10.0.0.1/announce", "http://10.0.0.2/announce"]),
        )
        .unwrap();
    let started = client.poll_http_request().unwrap();
    assert!(client.handle_http_response(now, started.id, &ok(ANSWER)));
    assert!(client.trackers(id).all(|s| !s.paused));
    let at = now + Duration::from_secs(10);
    assert!(client.pause(at, id));
    // While the pause's `stopped` is in flight the answered tracker is updating, and paused.
    let s: Vec<TrackerStatus<'_>> = client.trackers(id).collect();
    assert!(
        s.iter().all(|s| s.paused && s.next_announce.is_none()),
        "{s:?}"
    );
    assert_eq!(s[0].state, TrackerState::Updating);
    let stopped = client.poll_http_request().unwrap();
    assert!(stopped.url.as_str().contains("event=stopped"));
    assert!(client.handle_http_response(at, stopped.id, &ok(STOPPED_ANSWER)));
    let s: Vec<TrackerStatus<'_>> = client.trackers(id).collect();
    assert!(
        s.iter().all(|s| s.paused && s.next_announce.is_none()),
        "{s:?}"
    );
    assert_eq!(
        (s[0].state, s[0].peers, s[0].counts.map(|c| c.seeders)),
        (TrackerState::Working, Some(1), Some(Some(5)))
    );
    assert_eq!(s[1].state, TrackerState::NotContacted);
    let resumed = at + Duration::from_secs(10);
    assert!(client.resume(resumed, id));
    let s: Vec<TrackerStatus<'_>> = client.trackers(id).collect();
    assert!(s.iter().all(|s| !s.paused), "{s:?}");
}
