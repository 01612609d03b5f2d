//! The Client with `Config::default()` at scale: no event a caller needs is lost, every tracker
//! that was sent `started` gets `stopped` before the torrent's `Stopped`, and every output names
//! its torrent, readable until drained. Run with `--nocapture` for the figures.

mod sim;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Config, Event, Progress, Torrent, TorrentId, TrackerId};
use bt_tracker::client::Client;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use sim::client::{ClientSim, tracker_url};
use sim::net::Link;

fn torrent(n: u32) -> Torrent {
    let mut hash = [0u8; 20];
    hash[..4].copy_from_slice(&n.to_be_bytes());
    Torrent {
        info_hash: InfoHash(hash),
        peer_id: PeerId(*b"-BT0001-defaults0001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

/// `stop()` of `n` torrents added to one UDP tracker (nothing answered yet), then one drain: the
/// `Stopped` events that came out, and the events superseded.
fn stop_and_drain_once(n: u32) -> (usize, u64, usize) {
    let now = sim::epoch();
    let mut rng = ChaCha12Rng::seed_from_u64(n.into());
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let url = TrackerUrl::parse("udp://10.9.0.1:6969/announce").unwrap();
    let ids: Vec<TorrentId> = (0..n)
        .map(|k| {
            client
                .add(now, torrent(k), vec![vec![url.clone()]])
                .unwrap()
        })
        .collect();
    let mut buf = Vec::new();
    while client.poll_transmit(&mut buf).is_some() {}
    client.stop(now);
    let mut stopped: HashMap<TorrentId, usize> = HashMap::new();
    let mut events = 0;
    while let Some((id, event)) = client.poll_event() {
        events += 1;
        if event == Event::Stopped {
            *stopped.entry(id).or_default() += 1;
        }
    }
    assert!(
        stopped.values().all(|&c| c == 1),
        "a torrent got two Stopped"
    );
    assert!(ids.iter().all(|id| stopped.contains_key(id)));
    assert!(
        client.is_empty(),
        "every torrent is freed once its Stopped is drained"
    );
    (stopped.len(), client.events_superseded(), events)
}

#[test]
fn stop_of_a_hundred_thousand_torrents_drained_once_yields_one_stopped_each() {
    for n in [1_000, 10_000, 100_000] {
        let (stopped, superseded, events) = stop_and_drain_once(n);
        println!(
            "stop() of {n} torrents, drained once: {stopped} Stopped, {events} events, {superseded} superseded"
        );
        assert_eq!(stopped, n as usize);
        assert_eq!(superseded, 0);
    }
}

#[test]
fn ten_thousand_torrents_stopped_two_seconds_after_start_send_every_owed_stopped_first() {
    let mut sim = ClientSim::new(21, Config::default(), 2, Link::perfect());
    let ids: Vec<TorrentId> = (0..10_000)
        .map(|n| sim.add(n, vec![vec![tracker_url(n as usize % 2)]]))
        .collect();
    let start = sim.now;
    let two_s = start + Duration::from_secs(2);
    sim.run_until(two_s, |_| false);
    let started_before_stop = sim.started_sent.values().map(Vec::len).sum::<usize>();
    assert!(
        started_before_stop > 0 && started_before_stop < 10_000,
        "{started_before_stop}"
    );
    let stop_at = sim.now;
    sim.client.stop(sim.now);
    sim.drain();
    let limit = sim.now + Duration::from_secs(120);
    assert!(sim.run_until(limit, |s| s.done_count == ids.len()));
    // ClientSim records a violation when a torrent's Stopped comes before a stopped went to
    // every tracker it was sent started.
    assert!(
        sim.violations.is_empty(),
        "{:?}",
        &sim.violations[..sim.violations.len().min(3)]
    );
    let owed = sim.started_sent.values().map(Vec::len).sum::<usize>();
    assert_eq!(
        owed, started_before_stop,
        "no started went out after stop()"
    );
    let stopped = sim.stopped_sent.len();
    assert_eq!(stopped, owed, "one stopped per started sent");
    let last_stopped = sim.last_stopped_sent.unwrap().duration_since(stop_at);
    let done = sim.now.duration_since(stop_at);
    println!(
        "10,000 torrents, 2 trackers, stop() after 2 s: {owed} started sent, {stopped} stopped sent, last stopped {:.2} s after stop(), all Stopped after {:.2} s",
        last_stopped.as_secs_f64(),
        done.as_secs_f64()
    );
    assert!(sim.client.is_empty());
    assert_eq!(sim.client.events_superseded(), 0);
}

#[test]
fn a_removed_torrents_tracker_url_reads_until_its_stopped_is_drained() {
    let mut sim = ClientSim::new(22, Config::default(), 1, Link::perfect());
    let id = sim.add(1, vec![vec![tracker_url(0)]]);
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| s.tally(id).started == 1));
    assert!(sim.client.remove(sim.now, id));
    // Run without draining events: the stopped goes out and is answered.
    let mut pending = Vec::new();
    let end = sim.now + Duration::from_secs(10);
    let mut buf = Vec::new();
    while sim.now < end {
        while sim.client.poll_transmit(&mut buf).is_some() {}
        let next = sim.client.poll_timeout().unwrap_or(end).min(end);
        sim.now = next;
        sim.client.handle_timeout(next);
    }
    // Before its Stopped is drained, every event's tracker can still be named.
    while sim.client.contains(id) {
        assert_eq!(
            sim.client.tracker_url(id, TrackerId(0)),
            Some(&tracker_url(0))
        );
        let Some((torrent, event)) = sim.client.poll_event() else {
            break;
        };
        assert_eq!(torrent, id);
        pending.push(event);
    }
    assert_eq!(pending.last(), Some(&Event::Stopped));
    assert!(!sim.client.contains(id));
    assert_eq!(sim.client.tracker_url(id, TrackerId(0)), None);
}

#[test]
fn announce_now_says_when_min_interval_lets_the_announce_out() {
    let mut sim = ClientSim::new(23, Config::default(), 1, Link::perfect());
    let id = sim.add(1, vec![vec![tracker_url(0)]]);
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| s.tally(id).started == 1));
    let answered: Instant = sim.now;
    sim.now += Duration::from_secs(10);
    let at = sim.client.announce_now(sim.now, id);
    // The tracker sent no min interval: the default 60 s from the answer.
    let want = answered + Config::default().default_min_interval;
    assert!(
        at.is_some_and(|t| t >= want - Duration::from_millis(100) && t <= want),
        "{at:?}, want about {want:?}"
    );
    assert_eq!(sim.client.announce_now(sim.now, TorrentId(999)), None);
}
