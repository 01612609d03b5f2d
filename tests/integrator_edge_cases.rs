//! Edge cases of shutdown, events, pacing and identity, found by driving the machines as a new user
//! and an integrator would: a `started` that never reached its tracker owes no `stopped`, one
//! tracker is disabled once, `retry in` is not a failed round, a `stopped` sends its own
//! datagrams, batches follow their members, events name the request the caller holds, and the
//! window keeps urgent traffic first and requests in flight under its cap.

mod common;
mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, Event, HttpRequest, Origin, Progress, RequestKind, Torrent, TorrentId,
    TrackerId, TransportError,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::udp::{AnnounceResponse, Request};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId, TrackerUrl};
use common::udp::{connect_reply, datagrams};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use sim::client::{ClientSim, hash_of, tracker_url};
use sim::net::Link;

const UDP: &str = "udp://127.0.0.1:6969/announce";
const HTTP: &str = "http://127.0.0.1:8080/announce";
const STARTED: RequestKind = RequestKind::Announce(AnnounceEvent::Started);
const STOPPED: RequestKind = RequestKind::Announce(AnnounceEvent::Stopped);

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0001-reviewer0001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(7),
    }
}

fn announce_with(config: Config, url: &str, now: Instant) -> Announce {
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let mut rng = ChaCha12Rng::seed_from_u64(13);
    Announce::new(config, torrent(1), tiers, &mut rng, now).unwrap()
}

fn announce(url: &str, now: Instant) -> Announce {
    announce_with(Config::default(), url, now)
}

fn event_of(bytes: &[u8]) -> Option<AnnounceEvent> {
    match Request::parse(bytes) {
        Ok(Request::Announce(a)) => Some(a.event),
        _ => None,
    }
}

/// An empty announce reply (interval 1800 s) to an announce datagram.
fn announce_reply(request: &[u8]) -> Vec<u8> {
    let Ok(Request::Announce(a)) = Request::parse(request) else {
        panic!("not an announce")
    };
    let mut out = [0u8; 64];
    let n = AnnounceResponse {
        transaction_id: a.transaction_id,
        interval: 1800,
        leechers: 1,
        seeders: 0,
        peers: CompactPeers::new(&[], AddressFamily::V4),
    }
    .encode(AddressFamily::V4, &mut out)
    .unwrap();
    out[..n].to_vec()
}

fn tracker_addr() -> SocketAddr {
    "127.0.0.1:6969".parse().unwrap()
}

fn http_requests(a: &mut Announce) -> Vec<HttpRequest> {
    std::iter::from_fn(|| a.poll_http_request()).collect()
}

fn events(a: &mut Announce) -> Vec<Event> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn gone() -> HttpResponse<'static> {
    HttpResponse::new(410, None, &[])
}

// ----- shutdown -----

/// Finding 1 (HTTP): the caller reports that the `started` GET could not even connect. The tracker
/// never saw it, so it cannot list this peer; `stop()` still sends it a `stopped`.
#[test]
fn an_http_started_whose_connection_was_refused_owes_no_stopped() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    assert_eq!(started.kind, STARTED);
    assert!(a.handle_transport_error(now, started.id, TransportError::ConnectionRefused));
    a.stop(now);
    let after: Vec<RequestKind> = http_requests(&mut a).iter().map(|r| r.kind).collect();
    assert_eq!(
        after,
        [],
        "a stopped to a tracker that never got the started"
    );
}

/// Finding 1 (UDP): the `started` datagram's send failed (the caller reports it, as the mio example
/// does for a host that does not resolve); `stop()` still owes the tracker a `stopped`.
#[test]
fn a_udp_started_whose_send_failed_owes_no_stopped() {
    let now = sim::epoch();
    let mut a = announce(UDP, now);
    let sent = datagrams(|b| a.poll_transmit(b));
    assert!(a.handle_datagram(now, tracker_addr(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|b| a.poll_transmit(b));
    assert_eq!(event_of(&sent[0].1), Some(AnnounceEvent::Started));
    assert!(a.handle_transport_error(now, sent[0].0.request, TransportError::ConnectionRefused));
    a.stop(now);
    let after: Vec<Option<AnnounceEvent>> = datagrams(|b| a.poll_transmit(b))
        .iter()
        .map(|(_, b)| event_of(b))
        .collect();
    assert_eq!(after, [], "a stopped to a tracker whose started never left");
}

/// What holds: a `started` that timed out is owed a `stopped` (it may have arrived), and `stop()`
/// twice is one shutdown.
#[test]
fn a_timed_out_started_is_owed_a_stopped_and_a_second_stop_changes_nothing() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    a.handle_timeout(started.deadline);
    let t = started.deadline;
    let evs = events(&mut a);
    assert!(
        matches!(&evs[..], [Event::Failed(f)] if f.cause == Cause::Timeout),
        "{evs:?}"
    );
    a.stop(t);
    a.stop(t);
    let after: Vec<RequestKind> = http_requests(&mut a).iter().map(|r| r.kind).collect();
    assert_eq!(after, [STOPPED]);
}

/// What holds: `stop()` during a redirect of `started` sends `stopped` (the first hop went out).
#[test]
fn stop_during_a_redirect_of_started_sends_stopped() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    let redirect = HttpResponse {
        status: 302,
        location: Some("http://127.0.0.1:8081/announce2".into()),
        body: Default::default(),
    };
    assert!(a.handle_http_response(now, started.id, &redirect));
    // The second hop is queued but the caller stops before making it.
    a.stop(now);
    let after: Vec<HttpRequest> = http_requests(&mut a);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].kind, STOPPED);
    assert!(
        after[0]
            .url
            .as_str()
            .starts_with("http://127.0.0.1:8080/announce?")
    );
}

// ----- events -----

/// Finding 2: an announce and a scrape in flight to one HTTP tracker both answered 410 give two
/// `TrackerDisabled` for that tracker, so one torrent with one tracker has 5 events waiting, more
/// than the documented `3 * trackers + 1`.
#[test]
fn one_tracker_is_disabled_once_even_when_announce_and_scrape_both_get_410() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    a.scrape(now);
    let scrape = a.poll_http_request().unwrap();
    assert_eq!(scrape.kind, RequestKind::Scrape);
    assert!(a.handle_http_response(now, started.id, &gone()));
    assert!(a.handle_http_response(now, scrape.id, &gone()));
    a.stop(now);
    let evs = events(&mut a);
    let disabled = evs
        .iter()
        .filter(|e| matches!(e, Event::TrackerDisabled { .. }))
        .count();
    assert!(evs.len() <= 3 + 1, "{} events waiting: {evs:?}", evs.len());
    assert_eq!(disabled, 1, "{evs:?}");
}

/// What holds: a removed torrent whose only tracker was disabled (410) after `started` is sent no
/// `stopped` and ends at once; the Client frees it when the `Stopped` is drained.
#[test]
fn remove_after_410_sends_nothing_and_frees_the_torrent() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(3);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = vec![vec![TrackerUrl::parse(HTTP).unwrap()]];
    let id = client.add(now, torrent(1), tiers).unwrap();
    let started = client.poll_http_request().unwrap();
    assert!(client.handle_http_response(now, started.id, &gone()));
    assert!(client.remove(now, id));
    assert!(client.poll_http_request().is_none());
    let evs: Vec<Event> = std::iter::from_fn(|| client.poll_event().map(|(_, e)| e)).collect();
    assert_eq!(evs.last(), Some(&Event::Stopped), "{evs:?}");
    assert!(client.is_empty());
    assert_eq!(client.poll_timeout(), None);
}

// ----- pacing -----

/// The torrents (by info hash) in the order their first `started` datagram went out after
/// `from`, with the time, and the time of every `stopped` datagram after `from`.
fn first_starts_and_stops(
    sim: &ClientSim,
    from: Instant,
) -> (Vec<(Instant, InfoHash)>, Vec<Instant>) {
    let mut seen = std::collections::HashSet::new();
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    for &(at, _, event, hash) in &sim.announces {
        match event {
            2 if seen.insert(hash) && at >= from => starts.push((at, hash)),
            3 if at >= from => stops.push(at),
            _ => {}
        }
    }
    (starts, stops)
}

/// Finding 3a, with the window: removing torrents during a start-up backlog queues their
/// `stopped` ahead of the backlog, and the endpoint never has more requests unanswered than the
/// window's cap (the fixed pacer's urgent clock let twice its rate through).
#[test]
fn removing_torrents_during_a_backlog_sends_stopped_first_within_the_window() {
    let cfg = Config::default();
    let mut sim = ClientSim::new(31, cfg.clone(), 1, Link::perfect());
    let ids: Vec<TorrentId> = (0..2_000)
        .map(|n| sim.add(n, vec![vec![tracker_url(0)]]))
        .collect();
    let t0 = sim.now;
    // Slow start from 16 on a 40 ms round trip: a few hundred answered after 0.3 s.
    sim.run_until(t0 + Duration::from_millis(300), |_| false);
    let at = sim.now;
    let answered: Vec<TorrentId> = ids
        .iter()
        .copied()
        .filter(|&id| sim.tally(id).started == 1)
        .collect();
    assert!(
        answered.len() > 100 && answered.len() < 1_500,
        "{}",
        answered.len()
    );
    for &id in &answered {
        sim.client.remove(at, id);
    }
    sim.drain();
    assert!(sim.run_until(at + Duration::from_secs(30), |s| {
        ids.iter()
            .all(|&id| s.tally(id).started == 1 || s.tally(id).done)
    }));
    let (starts, stops) = first_starts_and_stops(&sim, at);
    assert_eq!(
        stops.len(),
        answered.len(),
        "one stopped per removed torrent"
    );
    let last_stop = *stops.last().unwrap();
    // No torrent of the backlog started while a stopped still waited.
    assert!(
        starts.iter().all(|&(t, _)| t >= last_stop),
        "a started went out at {:?}, before the last stopped at {last_stop:?}",
        starts.first().map(|&(t, _)| t)
    );
    let peak = sim.peak_in_flight[&tracker_url(0).socket_addr().unwrap()];
    assert!(peak <= cfg.tracker_window as usize, "{peak} in flight");
    // The window did fill: the cap, not luck, bounded it.
    assert!(
        peak > cfg.tracker_window as usize / 2,
        "only {peak} in flight"
    );
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

/// Finding 3b, with the window: an exchange cancelled while it waits for a place just leaves the
/// queue (it sends nothing and gives nobody a second place); the rest of the backlog keeps its
/// order ahead of torrents added later, and requests in flight stay within the window.
#[test]
fn cancelled_waiting_exchanges_leave_the_queue_and_the_window_holds() {
    let cfg = Config::default();
    let mut sim = ClientSim::new(32, cfg.clone(), 1, Link::perfect());
    let ids: Vec<TorrentId> = (0..1_000)
        .map(|n| sim.add(n, vec![vec![tracker_url(0)]]))
        .collect();
    let at = sim.now;
    // The first 16 were admitted (one connect, the rest joined it); 50..500 wait in the queue.
    for &id in &ids[50..500] {
        sim.client.remove(at, id);
    }
    sim.drain();
    let later_ids: Vec<TorrentId> = (1_000..1_450)
        .map(|n| sim.add(n, vec![vec![tracker_url(0)]]))
        .collect();
    assert!(sim.run_until(at + Duration::from_secs(30), |s| {
        ids[500..]
            .iter()
            .chain(&later_ids)
            .all(|&id| s.tally(id).started == 1)
    }));
    // The cancelled ones sent nothing, so they owe no stopped and got their Stopped at once.
    for n in 50..500 {
        assert!(
            !sim.started_sent.contains_key(&hash_of(n)),
            "torrent {n} sent started"
        );
        assert!(sim.tally(ids[n as usize]).done);
    }
    // Order: every torrent left of the first backlog started no later than any added after it.
    let (starts, _) = first_starts_and_stops(&sim, at);
    let when = |n: u32| starts.iter().find(|&&(_, h)| h == hash_of(n)).unwrap().0;
    let backlog_last = (500..1_000).map(when).max().unwrap();
    let later_first = (1_000..1_450).map(when).min().unwrap();
    assert!(
        backlog_last <= later_first,
        "{backlog_last:?} > {later_first:?}"
    );
    let peak = sim.peak_in_flight[&tracker_url(0).socket_addr().unwrap()];
    assert!(peak <= cfg.tracker_window as usize, "{peak} in flight");
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

// ----- extreme knobs -----

/// Finding 4: with a `stop_timeout` shorter than `udp_max_attempts` nanoseconds (accepted by
/// `Config` validation), a UDP `stopped`'s wait between sends is zero: after a full drain
/// `poll_timeout` is `now`, not later, and every resend goes out in the same instant.
#[test]
fn a_tiny_stop_timeout_still_gives_a_poll_timeout_after_now() {
    let now = sim::epoch();
    let mut cfg = Config::default();
    cfg.stop_timeout = Duration::from_nanos(2);
    let mut a = announce_with(cfg, UDP, now);
    let sent = datagrams(|b| a.poll_transmit(b));
    assert!(a.handle_datagram(now, tracker_addr(), &connect_reply(&sent[0].1)));
    assert_eq!(datagrams(|b| a.poll_transmit(b)).len(), 1, "the started");
    a.stop(now);
    assert_eq!(datagrams(|b| a.poll_transmit(b)).len(), 1, "the stopped");
    let _ = events(&mut a);
    let next = a.poll_timeout();
    assert!(
        next.is_none_or(|t| t > now),
        "{next:?} is not after {now:?}"
    );
}

/// What holds: the largest accepted knobs neither panic nor stall.
#[test]
fn extreme_accepted_knobs_run_a_start_and_a_stop() {
    let now = sim::epoch();
    let mut big = Config::default();
    big.tracker_rate = Some(1_000_000);
    big.tracker_burst = 1_000_000;
    big.tracker_window = 65_536;
    big.udp_max_attempts = 9;
    let mut small = Config::default();
    small.tracker_rate = Some(1);
    small.tracker_burst = 1;
    small.tracker_window = 1;
    small.http_per_host = 1;
    small.stop_timeout = Duration::from_millis(1);
    for cfg in [big, small] {
        let mut rng = ChaCha12Rng::seed_from_u64(9);
        let mut client = Client::new(cfg, &mut rng, now).unwrap();
        let tiers = || vec![vec![TrackerUrl::parse(UDP).unwrap()]];
        for n in 0..20 {
            client.add(now, torrent(n), tiers()).unwrap();
        }
        let mut t = now;
        let mut buf = Vec::new();
        for _ in 0..10_000 {
            while client.poll_transmit(&mut buf).is_some() {}
            while client.poll_event().is_some() {}
            if client.is_empty() {
                break;
            }
            if t >= now + Duration::from_secs(30) && client.len() == 20 {
                client.stop(t);
                continue;
            }
            let Some(next) = client.poll_timeout() else {
                break;
            };
            assert!(next >= t);
            t = next.max(t);
            client.handle_timeout(t);
        }
        assert!(client.is_empty(), "{} torrents left", client.len());
    }
}

// ----- scale -----

/// What holds: 100,000 torrents that all announced, stopped at once with defaults: every Stopped
/// comes, `poll_timeout` is never in the past after a drain, and the stop lasts about one round
/// trip per window's worth of torrents (the window at its cap the whole time: nothing is lost).
#[test]
fn stop_of_a_hundred_thousand_started_torrents_with_defaults_ends_every_torrent() {
    let mut sim = ClientSim::new(33, Config::default(), 1, Link::perfect());
    sim.keep_sent = false;
    let n = 100_000;
    for k in 0..n {
        sim.add(k, vec![vec![tracker_url(0)]]);
    }
    let limit = sim.now + Duration::from_secs(600);
    assert!(sim.run_until(limit, |s| s.torrents_started(1) == n as usize));
    let at = sim.now;
    sim.client.stop(at);
    sim.drain();
    let limit = at + Duration::from_secs(600);
    assert!(sim.run_until(limit, |s| s.done_count == n as usize));
    assert!(
        sim.violations.is_empty(),
        "{:?}",
        &sim.violations[..3.min(sim.violations.len())]
    );
    assert_eq!(sim.stopped_sent.len(), n as usize);
    let took = sim.now.duration_since(at).as_secs_f64();
    let rtt = (Link::perfect().delay * 2).as_secs_f64();
    let expect = f64::from(n) / f64::from(Config::default().tracker_window) * rtt;
    assert!(
        took > expect - 0.5 && took < expect + 1.0,
        "{took} s, not {expect} s"
    );
    assert!(sim.client.is_empty());
}

// ----- identity -----

/// What holds: every request names its torrent and tracker; a batch lists its members.
#[test]
fn every_output_names_its_torrent_and_tracker() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(4);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let udp = TrackerUrl::parse(UDP).unwrap();
    let http = TrackerUrl::parse(HTTP).unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = client
            .add(now, torrent(n), vec![vec![udp.clone()], vec![http.clone()]])
            .unwrap();
        ids.push(id);
    }
    let want_tracker = |client: &Client, origin: Origin, url: &TrackerUrl| {
        let (torrent, tracker) = (origin.torrent().unwrap(), origin.tracker().unwrap());
        assert!(ids.contains(&torrent));
        assert_eq!(client.tracker_url(torrent, tracker), Some(url));
    };
    let sent = datagrams(|b| client.poll_transmit(b));
    assert_eq!(sent.len(), 1, "one connect");
    want_tracker(&client, sent[0].0.origin, &udp);
    assert!(client.handle_datagram(now, tracker_addr(), &connect_reply(&sent[0].1)));
    for (t, _) in datagrams(|b| client.poll_transmit(b)) {
        want_tracker(&client, t.origin, &udp);
    }
    for id in &ids {
        client.scrape(now, *id);
    }
    let later = now + Duration::from_secs(2);
    client.handle_timeout(later);
    let sent = datagrams(|b| client.poll_transmit(b));
    let batch = sent
        .iter()
        .find(|(t, _)| matches!(t.origin, Origin::ScrapeBatch { .. }))
        .expect("a batched scrape");
    assert_eq!(batch.0.origin, Origin::ScrapeBatch { members: 3 });
    let mut members: Vec<(TorrentId, TrackerId)> =
        client.batch_members(batch.0.request).unwrap().collect();
    members.sort();
    let mut want: Vec<(TorrentId, TrackerId)> = ids
        .iter()
        .map(|&id| {
            let tracker = (0..2)
                .map(TrackerId)
                .find(|&t| client.tracker_url(id, t) == Some(&udp))
                .unwrap();
            (id, tracker)
        })
        .collect();
    want.sort();
    assert_eq!(members, want);
    assert_eq!(TorrentId(5 | 1 << 32).to_string(), "torrent #5.1");
}

// ----- more shutdown and announce_now -----

/// What holds: `remove()`, then `stop()` twice, sends one `stopped` per torrent and ends each
/// torrent once; `stop()` while `completed` is in flight cancels it and still sends `stopped`.
#[test]
fn remove_then_stop_twice_sends_one_stopped_per_torrent() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(5);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let ids: Vec<TorrentId> = (0..3)
        .map(|n| {
            let tiers = vec![vec![TrackerUrl::parse(HTTP).unwrap()]];
            client.add(now, torrent(n), tiers).unwrap()
        })
        .collect();
    let started: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    assert_eq!(started.len(), 3);
    // Torrent 0's started is answered, then it completes: its completed is in flight.
    let ok = HttpResponse::new(200, None, b"d8:intervali1800e5:peers0:e");
    let first = started
        .iter()
        .find(|r| r.origin.torrent() == Some(ids[0]))
        .unwrap();
    assert!(client.handle_http_response(now, first.id, &ok));
    assert!(client.completed(now, ids[0]));
    let completed = client.poll_http_request().unwrap();
    assert_eq!(
        completed.kind,
        RequestKind::Announce(AnnounceEvent::Completed)
    );
    assert!(client.remove(now, ids[1]));
    client.stop(now);
    client.stop(now);
    let stopped: Vec<TorrentId> = std::iter::from_fn(|| client.poll_http_request())
        .filter(|r| r.kind == STOPPED)
        .filter_map(|r| r.origin.torrent())
        .collect();
    let mut sorted = stopped.clone();
    sorted.sort();
    assert_eq!(sorted, ids);
    let evs: Vec<(TorrentId, Event)> = std::iter::from_fn(|| client.poll_event()).collect();
    let cancelled = evs
        .iter()
        .filter(|(_, e)| matches!(e, Event::Failed(f) if f.cause == Cause::Cancelled))
        .count();
    assert_eq!(
        cancelled, 3,
        "torrent 0's completed, the others' started: {evs:?}"
    );
}

/// Finding 5: `announce_now` while the only tracker asked to be left alone (`retry in`) counts a
/// failed round each time it is called, though nothing was sent: each call pushes the next
/// announce later (here 5 calls move it past the tracker's 5 minutes).
#[test]
fn announce_now_during_retry_in_does_not_push_the_announce_later() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    let busy = HttpResponse::new(200, None, b"d14:failure reason4:busy8:retry ini5ee");
    assert!(a.handle_http_response(now, started.id, &busy));
    let first = a.poll_timeout().unwrap();
    assert_eq!(first, now + Duration::from_secs(300));
    let answers: Vec<Option<Instant>> = (0..6).map(|_| a.announce_now(now)).collect();
    assert!(
        answers.iter().all(|&t| t == Some(first)),
        "announce_now answered {:?} s after now",
        answers
            .iter()
            .map(|t| t.map(|t| t.duration_since(now).as_secs()))
            .collect::<Vec<_>>()
    );
}

/// Finding 6: a batched scrape answered 410 (or `retry in: never`) ends each member with a
/// `Gone` failure but disables nothing: the members keep announcing and scraping there, where
/// `Announce::scrape` would disable the tracker and say so with `TrackerDisabled`.
#[test]
fn a_batched_scrape_answered_410_disables_the_tracker_for_its_members() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(6);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = vec![vec![TrackerUrl::parse(HTTP).unwrap()]];
    let id = client.add(now, torrent(1), tiers).unwrap();
    let _started = client.poll_http_request().unwrap();
    assert!(client.scrape(now, id));
    let t = now + Duration::from_secs(1);
    client.handle_timeout(t);
    let batch = client.poll_http_request().unwrap();
    assert_eq!(batch.kind, RequestKind::Scrape);
    assert!(client.handle_http_response(t, batch.id, &gone()));
    let evs: Vec<Event> = std::iter::from_fn(|| client.poll_event().map(|(_, e)| e)).collect();
    assert!(
        evs.contains(&Event::TrackerDisabled {
            tracker: TrackerId(0)
        }),
        "{evs:?}"
    );
}

// ----- URLs -----

/// What holds: random tracker URLs built from awkward pieces parse without panicking, come out as
/// ASCII, and parse back to themselves; a scrape URL derived from one is ASCII too.
#[test]
fn tracker_urls_are_ascii_and_parse_back_to_themselves() {
    use rand_core::Rng;
    let schemes = ["udp://", "http://", "https://", "UDP://", "HtTp://"];
    let users = ["", "u@", "u:p@", "ü@", "a%zz@", "a@b@"];
    let hosts = [
        "трекер.example",
        "ТРЕКЕР.example",
        "%D1%82%D1%80%D0%B5%D0%BA%D0%B5%D1%80.example",
        "127.1",
        "0x7f.1",
        "[::ffff:127.0.0.1]",
        "[2001:DB8::1]",
        "tracker.example.",
        "Tracker.Example",
        "xn--e1aaowdh.example",
        "ａｂｃ.example",
    ];
    let ports = ["", ":", ":6969", ":06969", ":80", ":443"];
    let paths = [
        "",
        "/",
        "/announce",
        "/announce/KEY",
        "/announce/ключ",
        "/a b",
        "/announce?passkey=%zz&x=ü",
        "/announce/k?x={|}",
        "/%41nnounce",
        "?x=1",
    ];
    let mut rng = ChaCha12Rng::seed_from_u64(77);
    let pick = |rng: &mut ChaCha12Rng, xs: &[&'static str]| xs[rng.next_u32() as usize % xs.len()];
    let mut parsed = 0;
    for _ in 0..20_000 {
        let text = format!(
            "{}{}{}{}{}",
            pick(&mut rng, &schemes),
            pick(&mut rng, &users),
            pick(&mut rng, &hosts),
            pick(&mut rng, &ports),
            pick(&mut rng, &paths)
        );
        let Ok(url) = TrackerUrl::parse(&text) else {
            continue;
        };
        parsed += 1;
        assert!(url.as_str().is_ascii(), "{text:?} gave {:?}", url.as_str());
        assert!(url.host().is_ascii(), "{text:?} gave host {:?}", url.host());
        let again = TrackerUrl::parse(url.as_str()).unwrap_or_else(|e| {
            panic!(
                "{text:?} gave {:?}, which does not parse: {e}",
                url.as_str()
            )
        });
        assert_eq!(again, url, "{text:?}");
        if let Some(scrape) = bt_tracker::http::scrape_url(&url) {
            assert!(scrape.is_ascii(), "{scrape:?}");
        }
    }
    assert!(parsed > 5_000, "{parsed}");
}

/// Finding 7: a UDP `stopped` that joins another torrent's connect in flight counts each of its
/// short waits (`stop_timeout / udp_max_attempts`) as a send while that connect's leader waits
/// BEP 15's 15 s. If the connect reply is lost, the `stopped` times out at `stop_timeout` without
/// one datagram of its own: the tracker that was sent `started` never gets `stopped`.
#[test]
fn a_stopped_that_joined_a_lost_connect_still_sends_its_own() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(8);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = || vec![vec![TrackerUrl::parse(UDP).unwrap()]];
    let a = client.add(now, torrent(1), tiers()).unwrap();
    let b = client.add(now, torrent(2), tiers()).unwrap();
    let sent = datagrams(|buf| client.poll_transmit(buf));
    assert!(client.handle_datagram(now, tracker_addr(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|buf| client.poll_transmit(buf));
    assert_eq!(sent.len(), 2, "both started");
    for (_, bytes) in &sent {
        assert!(client.handle_datagram(now, tracker_addr(), &announce_reply(bytes)));
    }
    // Past the connection id's 60 s: b re-announces and leads a new connect, which is lost.
    let t = now + Duration::from_secs(61);
    client.handle_timeout(t);
    let _ = datagrams(|buf| client.poll_transmit(buf));
    assert!(client.announce_now(t, b).is_some());
    let connect = datagrams(|buf| client.poll_transmit(buf));
    assert_eq!(connect.len(), 1);
    assert_eq!(connect[0].0.origin.torrent(), Some(b));
    // a is removed while that connect is in flight: it owes its tracker a stopped.
    assert!(client.remove(t, a));
    let mut from_a = 0;
    let mut clock = t;
    let mut stopped = false;
    for _ in 0..100 {
        from_a += datagrams(|buf| client.poll_transmit(buf))
            .iter()
            .filter(|(x, _)| x.origin.torrent() == Some(a))
            .count();
        while let Some((id, e)) = client.poll_event() {
            stopped |= id == a && e == Event::Stopped;
        }
        if stopped {
            break;
        }
        let Some(next) = client.poll_timeout() else {
            break;
        };
        clock = next.max(clock);
        client.handle_timeout(clock);
    }
    assert!(stopped);
    assert!(from_a > 0, "a's Stopped came without a datagram from a");
}

/// Finding 8 (API): events name an HTTP exchange by its first hop's id, but after a redirect the
/// caller holds the later hop's id only, and nothing links the two: a `Cancelled` (or `Timeout`)
/// for a redirected request names no request the caller has open.
#[test]
fn the_event_ending_a_redirected_request_names_the_hop_the_caller_holds() {
    let now = sim::epoch();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    let redirect = HttpResponse {
        status: 307,
        location: Some("/announce2".into()),
        body: Default::default(),
    };
    assert!(a.handle_http_response(now, started.id, &redirect));
    let hop = a.poll_http_request().unwrap();
    assert_ne!(hop.id, started.id);
    a.stop(now);
    let cancelled: Vec<_> = events(&mut a)
        .into_iter()
        .filter_map(|e| match e {
            Event::Failed(f) if f.cause == Cause::Cancelled => Some(f.id),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, [hop.id]);
}

/// Finding 9 (nit): a batched scrape whose members were all removed is still sent (and retried)
/// after `stop()`: traffic for torrents the caller no longer has.
#[test]
fn nothing_but_stopped_is_sent_after_stop() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(10);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let tiers = vec![vec![TrackerUrl::parse(UDP).unwrap()]];
    let id = client.add(now, torrent(1), tiers).unwrap();
    let sent = datagrams(|b| client.poll_transmit(b));
    assert!(client.handle_datagram(now, tracker_addr(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|b| client.poll_transmit(b));
    assert!(client.handle_datagram(now, tracker_addr(), &announce_reply(&sent[0].1)));
    assert!(client.scrape(now, id));
    let t = now + Duration::from_secs(1);
    client.handle_timeout(t);
    client.stop(t);
    let kinds: Vec<&str> = datagrams(|b| client.poll_transmit(b))
        .iter()
        .map(|(_, b)| match Request::parse(b) {
            Ok(Request::Announce(a)) if a.event == AnnounceEvent::Stopped => "stopped",
            Ok(Request::Scrape(_)) => "scrape",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["stopped"]);
}

/// What holds: after `stop()`, a caller that never drains events keeps every torrent counted in
/// `len()`, with nothing left to do (`poll_timeout` is `None`); one drain frees them all.
#[test]
fn undrained_stopped_keeps_torrents_counted_until_drained() {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(11);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    for n in 0..3 {
        let tiers = vec![vec![TrackerUrl::parse(HTTP).unwrap()]];
        client.add(now, torrent(n), tiers).unwrap();
    }
    let _started: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    client.stop(now);
    let ok = HttpResponse::new(200, None, b"d8:intervali1800e5:peers0:e");
    let stopped: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    assert_eq!(stopped.len(), 3);
    for r in &stopped {
        assert!(client.handle_http_response(now, r.id, &ok));
    }
    assert_eq!(client.len(), 3);
    assert_eq!(client.poll_timeout(), None);
    let stops = std::iter::from_fn(|| client.poll_event())
        .filter(|(_, e)| *e == Event::Stopped)
        .count();
    assert_eq!(stops, 3);
    assert!(client.is_empty());
}
