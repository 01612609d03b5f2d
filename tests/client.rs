//! The many-torrent Client, one property per test, on the deterministic in-memory network with
//! swarm trackers (peers derived from each info hash, so a misrouted reply is caught).

mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use bt_tracker::announce::{Config, ConfigError, Event, TorrentId};
use bt_tracker::http::{HttpResponse, ScrapeFile, ScrapeQuery, encode_scrape};
use bt_tracker::{InfoHash, TrackerUrl};
use sim::client::{ClientSim, hash_of, max_per_minute, tracker_url};
use sim::net::Link;
use sim::swarm::seeders_for;

fn one_tier(url: TrackerUrl) -> Vec<Vec<TrackerUrl>> {
    vec![vec![url]]
}

/// A link with a small fixed delay and nothing lost.
fn clean() -> Link {
    Link {
        delay: Duration::from_millis(20),
        ..Link::perfect()
    }
}

fn add_many(sim: &mut ClientSim, n: u32, url: &TrackerUrl) -> Vec<TorrentId> {
    (0..n).map(|k| sim.add(k, one_tier(url.clone()))).collect()
}

fn all_started(sim: &ClientSim, ids: &[TorrentId]) -> bool {
    ids.iter().all(|&id| sim.tally(id).started >= 1)
}

#[test]
fn one_connect_serves_every_torrent_of_an_endpoint() {
    let mut sim = ClientSim::new(1, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 500, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    assert_eq!(sim.trackers[0].connects.len(), 1);
    for &id in &ids {
        assert_eq!(
            sim.tally(id).wrong_peers,
            0,
            "{id:?} got another torrent's peers"
        );
    }
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

#[test]
fn two_urls_on_one_endpoint_share_the_connection_id() {
    let mut sim = ClientSim::new(2, Config::default(), 1, clean());
    let a = TrackerUrl::parse("udp://10.9.0.1:6969/announce").unwrap();
    let b = TrackerUrl::parse("udp://10.9.0.1:6969/announce?passkey=x").unwrap();
    let ids = vec![sim.add(0, one_tier(a)), sim.add(1, one_tier(b))];
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    assert_eq!(sim.trackers[0].connects.len(), 1);
}

#[test]
fn a_request_waiting_for_a_connect_joins_it_instead_of_sending_its_own() {
    // The tracker is silent: only one torrent's connects go out, and both time out together.
    let mut sim = ClientSim::new(3, Config::default(), 0, clean());
    let ids = add_many(&mut sim, 2, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(200);
    assert!(sim.run_until(limit, |s| ids.iter().all(|&id| s.tally(id).failed >= 1)));
    let connects = &sim.connects_sent[&tracker_url(0).socket_addr().unwrap()];
    let attempts = Config::default().udp_max_attempts as usize;
    assert_eq!(
        connects.len(),
        attempts,
        "one connect per attempt, not one per torrent"
    );
}

#[test]
fn replies_are_routed_by_transaction_id_and_checked_against_the_source() {
    let mut sim = ClientSim::new(4, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 3, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    // A datagram with a live-looking header from a stranger changes nothing.
    let stranger: SocketAddr = "10.66.0.1:6969".parse().unwrap();
    let mut forged = vec![0u8; 20];
    forged[3] = 1; // action announce, transaction id 0
    assert!(!sim.client.handle_datagram(sim.now, stranger, &forged));
    assert!(!sim.client.handle_datagram(sim.now, stranger, &[1, 2, 3]));
    for &id in &ids {
        assert_eq!(sim.tally(id).wrong_peers, 0);
    }
}

#[test]
fn an_error_reply_drops_the_connection_id_for_every_torrent() {
    let mut sim = ClientSim::new(5, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 2, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    assert_eq!(sim.trackers[0].connects.len(), 1);
    // Within the connection id's lifetime (and so within the default min interval: `completed`
    // goes out all the same), the first torrent's next announce gets an error reply; its
    // reconnect then serves it.
    sim.now += Duration::from_secs(2);
    sim.trackers[0].error_next = true;
    sim.client.completed(sim.now, ids[0]);
    sim.drain();
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| s.tally(ids[0]).regular >= 1));
    assert_eq!(sim.trackers[0].connects.len(), 2);
    // The second torrent's id was dropped too: its announce starts with a connect of its own.
    let connects_before = sim.connects_sent.values().map(Vec::len).sum::<usize>();
    sim.trackers[0].lifetime = Duration::from_secs(0); // the old id would now be refused
    sim.client.completed(sim.now, ids[1]);
    sim.drain();
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| s.tally(ids[1]).regular >= 1
        || s.tally(ids[1]).failed >= 1));
    let connects_after = sim.connects_sent.values().map(Vec::len).sum::<usize>();
    assert!(connects_after > connects_before);
}

#[test]
fn removing_a_torrent_sends_stopped_and_frees_its_id() {
    let mut sim = ClientSim::new(6, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 2, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    assert!(sim.client.remove(sim.now, ids[0]));
    sim.drain();
    let limit = sim.now + Duration::from_secs(10);
    assert!(sim.run_until(limit, |s| s.tally(ids[0]).done));
    assert_eq!(sim.trackers[0].seen[&hash_of(0)].stopped, 1);
    assert_eq!(sim.tally(ids[0]).stopped, 1);
    assert!(!sim.client.contains(ids[0]));
    assert!(sim.client.contains(ids[1]));
    assert_eq!(sim.client.len(), 1);
    // The old id names nothing any more, even once its slot is reused.
    let again = sim.add(7, one_tier(tracker_url(0)));
    assert_ne!(again, ids[0]);
    assert_eq!(sim.client.announce_now(sim.now, ids[0]), None);
    assert!(!sim.client.remove(sim.now, ids[0]));
    assert!(
        sim.client
            .tracker_url(ids[0], bt_tracker::announce::TrackerId(0))
            .is_none()
    );
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

#[test]
fn udp_scrapes_are_batched_70_hashes_per_packet() {
    let mut sim = ClientSim::new(7, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 150, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    for &id in &ids {
        assert!(sim.client.scrape(sim.now, id));
        sim.drain();
    }
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| ids.iter().all(|&id| s.tally(id).scraped == 1)));
    assert_eq!(sim.trackers[0].scrape_sizes, vec![70, 70, 10]);
    assert!(ids.iter().all(|&id| sim.tally(id).wrong_scrape == 0));
}

#[test]
fn http_multi_scrape_halves_the_batch_when_the_tracker_answers_414() {
    let mut sim = ClientSim::new(8, Config::default(), 0, clean());
    let url = TrackerUrl::parse("http://10.9.1.1:8080/announce").unwrap();
    let sizes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = sizes.clone();
    sim.http = Some(Box::new(move |request| {
        let (_, query) = request
            .url
            .as_str()
            .split_once('?')
            .unwrap_or((request.url.as_str(), ""));
        if request.url.as_str().contains("/announce") {
            // Announces: no peers, a long interval.
            return HttpResponse {
                status: 200,
                location: None,
                body: b"d8:intervali1800e5:peers0:e".to_vec().into(),
            };
        }
        let hashes = ScrapeQuery::parse(query.as_bytes()).unwrap().info_hashes;
        seen.borrow_mut().push(hashes.len());
        if hashes.len() > 10 {
            return HttpResponse {
                status: 414,
                location: None,
                body: b"URI Too Long".to_vec().into(),
            };
        }
        let files: Vec<(InfoHash, ScrapeFile)> = hashes
            .iter()
            .map(|h| {
                let file = ScrapeFile {
                    complete: i64::from(seeders_for(h)),
                    incomplete: 1,
                    downloaded: 7,
                    downloaders: None,
                };
                (*h, file)
            })
            .collect();
        let mut body = Vec::new();
        encode_scrape(&files, None, &mut body);
        HttpResponse {
            status: 200,
            location: None,
            body: body.into(),
        }
    }));
    let ids: Vec<TorrentId> = (0..40).map(|k| sim.add(k, one_tier(url.clone()))).collect();
    let limit = sim.now + Duration::from_secs(5);
    sim.run_until(limit, |_| false);
    for &id in &ids {
        sim.client.scrape(sim.now, id);
        sim.drain();
    }
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| ids.iter().all(|&id| s.tally(id).scraped == 1)));
    assert_eq!(*sizes.borrow(), vec![40, 20, 10, 10, 10, 10]);
    assert!(ids.iter().all(|&id| sim.tally(id).failed == 0));
}

#[test]
fn announces_to_one_endpoint_stay_under_the_optional_rate_ceiling() {
    let mut config = Config::default();
    config.tracker_rate = Some(100);
    config.tracker_burst = 20;
    let mut sim = ClientSim::new(9, config, 1, clean());
    let ids = add_many(&mut sim, 1000, &tracker_url(0));
    let start = sim.now;
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    // Within any one second at most burst + rate exchanges get their slot. The ceiling paces each
    // once: the requests admitted while the first connect is in flight join it and go out together
    // when it is answered, so announces on the wire may exceed that by rate * the connect's round
    // trip (40 ms here: 4).
    let rtt = clean().delay * 2;
    let bound = 20 + 100 + (100 * rtt.as_millis() as usize).div_ceil(1000);
    let times: Vec<_> = sim
        .sent
        .iter()
        .filter(|&&(_, _, len)| len >= 98)
        .map(|&(at, _, _)| at)
        .collect();
    let mut start_ix = 0;
    for (end, &at) in times.iter().enumerate() {
        while at.duration_since(times[start_ix]) >= Duration::from_secs(1) {
            start_ix += 1;
        }
        assert!(
            end + 1 - start_ix <= bound,
            "{} announces within one second, more than {bound}",
            end + 1 - start_ix
        );
    }
    // So 1,000 announces took about (1000 - 20) / 100 s.
    let last = times.last().unwrap().duration_since(start);
    assert!(last >= Duration::from_secs(9), "all sent within {last:?}");
}

#[test]
fn commands_on_an_unknown_torrent_do_nothing() {
    let mut sim = ClientSim::new(10, Config::default(), 1, clean());
    let bogus = TorrentId(12345);
    assert_eq!(sim.client.announce_now(sim.now, bogus), None);
    assert!(!sim.client.scrape(sim.now, bogus));
    assert!(!sim.client.completed(sim.now, bogus));
    assert!(!sim.client.remove(sim.now, bogus));
    assert!(sim.client.key(bogus).is_none());
    assert_eq!(sim.client.tiers(bogus).count(), 0);
    let id = sim.add(
        1,
        vec![vec![tracker_url(0)], vec![tracker_url(0), tracker_url(1)]],
    );
    let tiers: Vec<usize> = sim.client.tiers(id).map(|t| t.len()).collect();
    assert_eq!(tiers, vec![1, 1], "the repeated URL is dropped");
    assert!(sim.client.remove(sim.now, id));
    sim.drain();
    let limit = sim.now + Duration::from_secs(10);
    assert!(sim.run_until(limit, |s| s.tally(id).done));
    assert!(sim.client.is_empty());
    assert!(sim.client.poll_timeout().is_none());
    assert!(!sim.client.contains(id));
}

#[test]
fn stop_removes_every_torrent_and_each_ends_with_stopped() {
    let mut sim = ClientSim::new(11, Config::default(), 2, clean());
    let ids: Vec<TorrentId> = (0..100)
        .map(|k| sim.add(k, one_tier(tracker_url(k as usize % 2))))
        .collect();
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    sim.client.stop(sim.now);
    sim.drain();
    let limit = sim.now + Duration::from_secs(10);
    assert!(sim.run_until(limit, |s| ids.iter().all(|&id| s.tally(id).done)));
    assert!(sim.client.is_empty());
    assert!(ids.iter().all(|&id| sim.tally(id).stopped == 1));
    assert!(sim.client.poll_timeout().is_none());
    let connects: Vec<usize> = sim
        .trackers
        .iter()
        .map(|t| max_per_minute(&t.connects))
        .collect();
    assert_eq!(connects, vec![1, 1]);
}

#[test]
fn a_torrent_removed_while_its_scrape_waits_gets_no_scrape_result() {
    let mut sim = ClientSim::new(12, Config::default(), 1, clean());
    let ids = add_many(&mut sim, 2, &tracker_url(0));
    let limit = sim.now + Duration::from_secs(60);
    assert!(sim.run_until(limit, |s| all_started(s, &ids)));
    sim.client.scrape(sim.now, ids[0]);
    sim.client.scrape(sim.now, ids[1]);
    sim.client.remove(sim.now, ids[0]);
    sim.drain();
    let limit = sim.now + Duration::from_secs(30);
    assert!(sim.run_until(limit, |s| s.tally(ids[1]).scraped == 1
        && s.tally(ids[0]).done));
    assert_eq!(sim.tally(ids[0]).scraped, 0);
    assert_eq!(sim.trackers[0].scrape_sizes, vec![1]);
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    let _ = Event::Stopped;
}

#[test]
fn the_same_seed_gives_the_same_run() {
    fn run() -> (Vec<(std::time::Instant, SocketAddr, usize)>, Vec<String>) {
        let link = Link {
            loss: 0.1,
            duplicate: 0.05,
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(30),
        };
        // 150 torrents per tracker: more than the default burst (50), so pacing is exercised.
        let mut sim = ClientSim::new(13, Config::default(), 2, link);
        let ids: Vec<TorrentId> = (0..300)
            .map(|k| {
                sim.add(
                    k,
                    vec![vec![tracker_url(k as usize % 2)], vec![tracker_url(1)]],
                )
            })
            .collect();
        let limit = sim.now + Duration::from_secs(120);
        sim.run_until(limit, |_| false);
        for &id in ids.iter().step_by(3) {
            sim.client.scrape(sim.now, id);
            sim.drain();
        }
        for &id in ids.iter().step_by(7) {
            sim.client.remove(sim.now, id);
            sim.drain();
        }
        let limit = sim.now + Duration::from_secs(120);
        sim.run_until(limit, |_| false);
        let tallies = ids
            .iter()
            .map(|id| format!("{:?}", sim.tally(*id)))
            .collect();
        (sim.sent, tallies)
    }
    let (first, second) = (run(), run());
    assert!(first.0.len() > 300, "{} datagrams", first.0.len());
    assert_eq!(first, second);
}

// ----- one torrent per info hash -----

fn plain_client() -> (bt_tracker::client::Client, std::time::Instant) {
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = std::time::Instant::now();
    let mut rng = <rand_chacha::ChaCha12Rng as rand_core::SeedableRng>::seed_from_u64(5);
    let client = bt_tracker::client::Client::new(Config::default(), &mut rng, now).unwrap();
    (client, now)
}

fn torrent_of(hash: u8) -> bt_tracker::announce::Torrent {
    bt_tracker::announce::Torrent {
        info_hash: InfoHash([hash; 20]),
        peer_id: bt_tracker::PeerId(*b"-BT0100-duplicates01"),
        port: 6881,
        progress: bt_tracker::announce::Progress::default(),
        key: None,
    }
}

fn literal_tier() -> Vec<Vec<TrackerUrl>> {
    one_tier(TrackerUrl::parse("udp://10.9.0.1:6969/announce").unwrap())
}

#[test]
fn a_second_torrent_with_an_info_hash_already_held_is_refused_naming_the_first() {
    let (mut client, now) = plain_client();
    let first = client.add(now, torrent_of(1), literal_tier()).unwrap();
    let err = client
        .add(now, torrent_of(1), literal_tier())
        .expect_err("one swarm, one torrent");
    assert_eq!(
        err,
        ConfigError::DuplicateInfoHash {
            info_hash: InfoHash([1; 20]),
            existing: first,
        }
    );
    let text = err.to_string();
    assert!(text.contains(&"01".repeat(20)), "{text}");
    assert!(text.contains(&first.to_string()), "{text}");
    assert!(client.add(now, torrent_of(2), literal_tier()).is_ok());
}

#[test]
fn a_hybrid_torrent_is_refused_when_either_hash_is_held_and_then_adds_nothing() {
    let (mut client, now) = plain_client();
    let held = client.add(now, torrent_of(1), literal_tier()).unwrap();
    // The v2 hash collides: nothing is added, so the v1 hash stays free.
    assert_eq!(
        client.add_hybrid(now, torrent_of(2), InfoHash([1; 20]), literal_tier()),
        Err(ConfigError::DuplicateInfoHash {
            info_hash: InfoHash([1; 20]),
            existing: held,
        })
    );
    // The v1 hash collides.
    assert_eq!(
        client.add_hybrid(now, torrent_of(1), InfoHash([3; 20]), literal_tier()),
        Err(ConfigError::DuplicateInfoHash {
            info_hash: InfoHash([1; 20]),
            existing: held,
        })
    );
    assert_eq!(
        client.len(),
        1,
        "a refused hybrid torrent adds neither swarm"
    );
    let ids = client
        .add_hybrid(now, torrent_of(2), InfoHash([3; 20]), literal_tier())
        .unwrap();
    // A hybrid torrent's v2 swarm holds its hash against a plain torrent too.
    assert_eq!(
        client.add(now, torrent_of(3), literal_tier()),
        Err(ConfigError::DuplicateInfoHash {
            info_hash: InfoHash([3; 20]),
            existing: ids.v2,
        })
    );
}

#[test]
fn a_removed_torrent_holds_its_info_hash_until_its_stopped_is_drained() {
    let (mut client, now) = plain_client();
    let first = client.add(now, torrent_of(1), literal_tier()).unwrap();
    assert!(client.remove(now, first));
    assert!(matches!(
        client.add(now, torrent_of(1), literal_tier()),
        Err(ConfigError::DuplicateInfoHash { existing, .. }) if existing == first
    ));
    let mut stopped = false;
    while let Some((id, event)) = client.poll_event() {
        stopped |= id == first && event == Event::Stopped;
    }
    assert!(stopped, "never sent started: stopped at once");
    let again = client.add(now, torrent_of(1), literal_tier()).unwrap();
    assert_ne!(again, first, "a new id for the new torrent");
}
