//! The Client at scale, in the deterministic simulation: 100,000 torrents across four UDP swarm
//! trackers (two tiers each, announced to both), over a lossy network, through a full cycle:
//! start, announce, re-announce after the interval, stop. One torrent in a thousand gets the live
//! edits and per-tracker commands of the `Announce` simulation meanwhile, and its
//! `Client::trackers` snapshot is checked against its events after every step. Run with
//! `--nocapture` for the figures.

mod sim;

use std::time::Duration;

use bt_tracker::announce::{Config, TierMode, TorrentId};
use sim::checks;
use sim::client::{ClientSim, hash_of, max_per_minute, tracker_url};
use sim::net::Link;

const TORRENTS: u32 = 100_000;
const TRACKERS: usize = 4;
/// One torrent in this many is watched: edited, and its snapshot checked after every step.
const WATCH_EVERY: u32 = 1000;

#[test]
fn a_hundred_thousand_torrents_announce_reannounce_and_stop_through_one_socket() {
    // The defaults (the window, stop_timeout, the event queue); only the tier walk is the scenario's.
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTiers;
    let link = Link {
        loss: 0.05,
        duplicate: 0.01,
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(20),
    };
    let mut sim = ClientSim::new(42, config, TRACKERS, link);
    sim.keep_sent = false;
    let start = sim.now;
    let ids: Vec<TorrentId> = (0..TORRENTS)
        .map(|n| {
            let first = n as usize % TRACKERS;
            let second = (first + 1 + (n as usize / TRACKERS) % (TRACKERS - 1)) % TRACKERS;
            let tiers = vec![vec![tracker_url(first)], vec![tracker_url(second)]];
            let id = sim.add(n, tiers.clone());
            if n % WATCH_EVERY == 0 {
                // Edits from 260 s (once every torrent started) to about 960 s (the last resume),
                // so each re-announces after its interval before the second round's limit.
                let edits_at = Duration::from_secs(260 + 3 * u64::from(n / WATCH_EVERY));
                sim.watch(id, &tiers, edits_at);
            }
            id
        })
        .collect();
    assert_eq!(sim.client.len(), TORRENTS as usize);

    // Start: every torrent gets its own peers from both of its trackers.
    let limit = start + Duration::from_secs(1500);
    let all = ids.len();
    let started = sim.run_until(limit, |s| s.torrents_started(2) == all);
    let first_round = sim.now.duration_since(start);
    let missing = ids.iter().filter(|&&id| sim.tally(id).started < 2).count();
    assert!(
        started,
        "{missing} torrents lack an answer from both trackers"
    );

    // Re-announce after the tracker's interval (1800 s).
    let limit = start + Duration::from_secs(1800 + 1500);
    let again = sim.run_until(limit, |s| s.torrents_reannounced(2) == all);
    let missing = ids.iter().filter(|&&id| sim.tally(id).regular < 2).count();
    assert!(
        again,
        "{missing} torrents did not re-announce to both trackers"
    );
    let second_round = sim.now.duration_since(start);

    // Stop: every torrent sends `stopped` to both trackers and ends with `Stopped`.
    sim.stop();
    let stop_at = sim.now;
    let limit = sim.now + Duration::from_secs(400);
    let stopped = sim.run_until(limit, |s| s.done_count == all);
    assert!(stopped, "not every torrent emitted Stopped");
    assert!(sim.client.is_empty());
    assert_eq!(sim.client.poll_timeout(), None);
    let stop_took = sim.now.duration_since(stop_at);

    let mut stop_missing = 0;
    for n in 0..TORRENTS {
        let first = n as usize % TRACKERS;
        let second = (first + 1 + (n as usize / TRACKERS) % (TRACKERS - 1)) % TRACKERS;
        for t in [first, second] {
            let to = tracker_url(t).socket_addr().unwrap();
            if !sim.stopped_sent.contains(&(hash_of(n), to)) {
                stop_missing += 1;
            }
        }
    }
    assert_eq!(stop_missing, 0, "stopped announces never sent");
    let received: u32 = sim
        .trackers
        .iter()
        .flat_map(|t| t.seen.values())
        .map(|s| s.stopped.min(1))
        .sum();
    let wanted = 2 * TORRENTS;
    // 5 % loss each way and three attempts: about 0.1 % may never arrive.
    assert!(
        received >= wanted - wanted / 200,
        "{received} of {wanted} stopped received"
    );

    for &id in &ids {
        let tally = sim.tally(id);
        assert_eq!(tally.wrong_peers, 0, "{id:?} got another torrent's peers");
    }
    assert!(
        sim.violations.is_empty(),
        "{:?}",
        &sim.violations[..5.min(sim.violations.len())]
    );
    // The watched torrents: their snapshot agreed with their events after every step, and the
    // edits kept the `Announce` simulation's invariants.
    let watched = sim.check_watched(|log| {
        checks::status(log)?;
        checks::cadence(log)?;
        checks::liveness(log, true)
    });
    assert_eq!(watched, Ok(()));
    let (watched, snapshots, commands) = sim.watched_counts();
    assert_eq!(
        commands,
        watched * 7,
        "six edits and commands, and stop, each"
    );

    // Connects: a handful per endpoint per minute, not one per torrent.
    let mut connects = Vec::new();
    for t in 0..TRACKERS {
        let to = tracker_url(t).socket_addr().unwrap();
        let sent = &sim.connects_sent[&to];
        connects.push((sent.len(), max_per_minute(sent)));
    }
    for &(_, per_minute) in &connects {
        assert!(per_minute <= 10, "{connects:?} (total, most per minute)");
    }
    // The window: no tracker ever had more requests unanswered than its cap.
    let cap = Config::default().tracker_window as usize;
    for (to, &peak) in &sim.peak_in_flight {
        assert!(
            peak <= cap,
            "{to}: {peak} requests in flight, the cap is {cap}"
        );
    }
    let announces: u32 = sim
        .trackers
        .iter()
        .flat_map(|t| t.seen.values())
        .map(|s| s.started + s.regular + s.stopped)
        .sum();
    println!(
        "{TORRENTS} torrents, {TRACKERS} trackers, 5% loss: all started by {:.0} s, all re-announced by {:.0} s, stop took {:.0} s; {announces} announces received; connects per tracker (total, most in a minute): {connects:?}; stopped received {received} of {wanted}; {watched} torrents edited, {snapshots} of their snapshots checked",
        first_round.as_secs_f64(),
        second_round.as_secs_f64(),
        stop_took.as_secs_f64(),
    );
}
