//! The crate under turmoil (a deterministic simulation framework of tokio's): real
//! `turmoil::net` sockets, tokio's virtual clock, turmoil's seeded network, against the crate's
//! own sans-IO tracker (`bt_tracker::tracker`).
//!
//! A run is one turmoil `Sim` with a fixed seed: a host "tracker" (`turmoil/tracker_host.rs`:
//! the `Tracker` machine on a UDP socket and a TCP listener) and client hosts `peer0`, `peer1`,
//! ... (`turmoil/peer_host.rs`: a `Client` with the same torrents on each host, half of them on
//! the tracker's `udp://tracker:6969/announce`, half on `http://tracker:8080/announce`, the name
//! resolved through turmoil's resolver). Each host stops its client at a fixed virtual time and
//! ends when every torrent's `Stopped` came out. No real network, no wall clock: a run takes a
//! fraction of a second and replays identically from its seed.

#[path = "turmoil/peer_host.rs"]
mod peer_host;
#[path = "turmoil/tracker_host.rs"]
mod tracker_host;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bt_tracker::AnnounceEvent;
use bt_tracker::announce::{Cause, Event, RequestId, RequestKind, TransportError};
use bt_tracker::tracker::SwarmStats;
use peer_host::{Peer, PeerRecord, info_hash, port};

/// The host's virtual time (tokio's paused clock, which turmoil advances) as the `Instant` the
/// machines take.
pub fn virtual_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Every line the hosts wrote, in the order the simulation ran them (one thread).
#[derive(Debug, Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    /// Appends a line.
    pub fn line(&self, line: String) {
        self.0.borrow_mut().push(line);
    }
}

/// A scenario: its hosts, its network, its seed.
#[derive(Debug, Clone)]
struct Scenario {
    seed: u64,
    /// Client hosts.
    peers: usize,
    /// Torrents per host (the same info hashes on each).
    torrents: usize,
    /// When each host stops its client (virtual time since it started).
    stop_at: Duration,
    /// turmoil's per-message chance that a healthy link breaks, and that a broken one heals.
    fail_rate: f64,
    repair_rate: f64,
    /// A host cut off from the tracker (both ways) over a span of virtual time.
    partition: Option<Partition>,
}

#[derive(Debug, Clone, Copy)]
struct Partition {
    peer: usize,
    from: Duration,
    until: Duration,
}

impl Scenario {
    /// Three hosts of four torrents each on a clean network, stopped after one regular announce
    /// (the tracker's interval is 120 s).
    fn clean(seed: u64) -> Self {
        Scenario {
            seed,
            peers: 3,
            torrents: 4,
            stop_at: Duration::from_secs(150),
            fail_rate: 0.0,
            repair_rate: 1.0,
            partition: None,
        }
    }

    /// As `clean`, with 2 % of messages breaking their link (a broken link heals with 50 % per
    /// message; a TCP connection caught in it stalls until its deadline), `peer0` cut off from
    /// the tracker for its first 60 s (its UDP `started` sends at 0, 15 and 45 s are lost and
    /// time out at 105 s; its HTTP connects are refused at 0 and about 17 s), and a later stop
    /// to leave room for the retries' backoff (17, 55, 117 s).
    fn troubled(seed: u64) -> Self {
        Scenario {
            fail_rate: 0.02,
            repair_rate: 0.5,
            partition: Some(Partition {
                peer: 0,
                from: Duration::ZERO,
                until: Duration::from_secs(60),
            }),
            stop_at: Duration::from_secs(300),
            ..Scenario::clean(seed)
        }
    }
}

/// What a run left.
struct Run {
    log: Vec<String>,
    peers: Vec<PeerRecord>,
    /// The tracker's swarm of each torrent at the end.
    swarms: Vec<Option<SwarmStats>>,
}

fn run(s: &Scenario) -> Run {
    let mut sim = turmoil::Builder::new()
        .rng_seed(s.seed)
        .simulation_duration(Duration::from_secs(30 * 60))
        .tick_duration(Duration::from_millis(50))
        .fail_rate(s.fail_rate)
        .repair_rate(s.repair_rate)
        .build();
    let log = Log::default();
    let tracker = tracker_host::Shared::default();
    let (seed, shared) = (s.seed, Rc::clone(&tracker));
    sim.host("tracker", move || {
        tracker_host::serve(seed, Rc::clone(&shared))
    });
    if let Some(p) = s.partition {
        let log = log.clone();
        sim.client("chaos", async move {
            let peer = format!("peer{}", p.peer);
            tokio::time::sleep(p.from).await;
            turmoil::partition(peer.as_str(), "tracker");
            log.line(format!("chaos {:?} partition {peer} from tracker", p.from));
            tokio::time::sleep(p.until - p.from).await;
            turmoil::repair(peer.as_str(), "tracker");
            log.line(format!("chaos {:?} repair {peer} to tracker", p.until));
            Ok(())
        });
    }
    let records: Vec<Rc<RefCell<PeerRecord>>> = (0..s.peers).map(|_| Rc::default()).collect();
    for (index, record) in records.iter().enumerate() {
        let peer = Peer {
            index,
            torrents: s.torrents,
            seed: s.seed,
            stop_at: s.stop_at,
        };
        sim.client(
            format!("peer{index}"),
            peer.run(Rc::clone(record), log.clone()),
        );
    }
    if let Err(e) = sim.run() {
        panic!("seed {}: the simulation failed: {e}", s.seed);
    }
    let swarms = {
        let guard = tracker.borrow();
        let machine = guard.as_ref().expect("the tracker host started");
        (0..s.torrents)
            .map(|k| machine.swarm(&info_hash(k)))
            .collect()
    };
    let peers = records.iter().map(|r| r.take()).collect();
    let log = log.0.borrow().clone();
    Run { log, peers, swarms }
}

/// The request an outcome event ends.
fn outcome_id(event: &Event) -> Option<RequestId> {
    match event {
        Event::Announced(a) => Some(a.id),
        Event::Scraped(s) => Some(s.id),
        Event::Failed(f) => Some(f.id),
        _ => None,
    }
}

/// Checks what holds in every run: each host's loop ended with every torrent stopped, each
/// torrent's last event is its one `Stopped`, nothing was superseded, and every request handed
/// out (UDP exchange or HTTP request) ended in exactly one outcome event of its own torrent.
fn check_nothing_lost(run: &Run, s: &Scenario) {
    for (i, peer) in run.peers.iter().enumerate() {
        assert!(peer.finished, "seed {}: peer{i} never finished", s.seed);
        assert_eq!(peer.superseded, 0, "peer{i}: an outcome was superseded");
        assert_eq!(peer.events.len(), s.torrents);
        for (k, events) in peer.events.iter().enumerate() {
            let stops = events.iter().filter(|(_, e)| *e == Event::Stopped).count();
            assert_eq!(stops, 1, "peer{i} torrent {k}: {events:?}");
            assert_eq!(
                events.last().map(|(_, e)| e),
                Some(&Event::Stopped),
                "peer{i} torrent {k} ends with its Stopped"
            );
        }
        assert!(!peer.requests.is_empty());
        for (id, k, kind) in &peer.requests {
            let ends: Vec<&Event> = peer
                .events
                .get(*k)
                .unwrap_or_else(|| panic!("peer{i}: request {id:?} of no torrent"))
                .iter()
                .map(|(_, e)| e)
                .filter(|e| outcome_id(e) == Some(*id))
                .collect();
            assert_eq!(
                ends.len(),
                1,
                "seed {}: peer{i} torrent {k}: request {id:?} ({kind:?}) must end in exactly one outcome, got {ends:?}",
                s.seed
            );
            if let (Some(kind), Event::Failed(f)) = (kind, ends[0]) {
                assert_eq!(f.request, *kind, "an HTTP request's failure names its kind");
            }
        }
        // And no outcome for a request never handed out.
        let handed: BTreeSet<RequestId> = peer.requests.iter().map(|(id, _, _)| *id).collect();
        for events in &peer.events {
            for id in events.iter().filter_map(|(_, e)| outcome_id(e)) {
                assert!(handed.contains(&id), "peer{i}: outcome of unknown {id:?}");
            }
        }
    }
}

/// The announce replies of one torrent that carried this event.
fn announced(events: &[(Duration, Event)], event: AnnounceEvent) -> Vec<(Duration, &[SocketAddr])> {
    events
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Announced(a) if a.event == event => Some((*at, a.peers.as_slice())),
            _ => None,
        })
        .collect()
}

/// The other hosts' listening addresses for torrent `k`, as the tracker lists them.
fn other_peers(run: &Run, me: usize, k: usize) -> BTreeSet<SocketAddr> {
    run.peers
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != me)
        .map(|(j, p)| SocketAddr::new(p.ip.expect("host address"), port(j, k)))
        .collect()
}

#[test]
fn every_torrent_gets_started_answered_with_the_other_hosts_as_peers_and_stopped_acknowledged() {
    let s = Scenario::clean(1);
    let run = run(&s);
    check_nothing_lost(&run, &s);
    for (i, peer) in run.peers.iter().enumerate() {
        for (k, events) in peer.events.iter().enumerate() {
            let failures: Vec<_> = events
                .iter()
                .filter(|(_, e)| matches!(e, Event::Failed(_)))
                .collect();
            assert!(failures.is_empty(), "peer{i} torrent {k}: {failures:?}");
            assert!(
                matches!(&events[0].1, Event::Announced(a) if a.event == AnnounceEvent::Started),
                "peer{i} torrent {k} begins with its answered started: {:?}",
                events[0]
            );
            // Every peer listed is another host's torrent k, and by the regular announce at
            // 120 s each host has seen all the others (the last host to start sees them at once).
            let seen: BTreeSet<SocketAddr> = [AnnounceEvent::Started, AnnounceEvent::Regular]
                .into_iter()
                .flat_map(|e| announced(events, e))
                .flat_map(|(_, peers)| peers.iter().copied())
                .collect();
            assert_eq!(seen, other_peers(&run, i, k), "peer{i} torrent {k}");
            let stopped = announced(events, AnnounceEvent::Stopped);
            assert_eq!(
                stopped.len(),
                1,
                "peer{i} torrent {k}: stopped acknowledged"
            );
            assert!(stopped[0].0 >= s.stop_at);
        }
    }
    // Every host stopped every torrent: the tracker's swarms are empty.
    let empty = SwarmStats {
        seeders: 0,
        leechers: 0,
        completed: 0,
    };
    for (k, swarm) in run.swarms.iter().enumerate() {
        assert_eq!(swarm.as_ref(), Some(&empty), "swarm of torrent {k}");
    }
}

#[test]
fn the_same_seed_replays_the_same_event_log() {
    let s = Scenario::troubled(7);
    let first = run(&s);
    let again = run(&s);
    let stopped = first
        .log
        .iter()
        .filter(|l| l.ends_with(": Stopped"))
        .count();
    assert_eq!(
        stopped,
        s.peers * s.torrents,
        "the log records every torrent's end"
    );
    assert_eq!(first.log, again.log);
    // The log follows the seed: another seed loses other datagrams and draws other jitter.
    assert_ne!(first.log, run(&Scenario::troubled(8)).log);
}

#[test]
fn under_loss_and_a_partition_every_announce_ends_answered_or_failed_and_every_torrent_stops() {
    for seed in [3, 4] {
        let s = Scenario::troubled(seed);
        let partition = s.partition.expect("a partition");
        let run = run(&s);
        check_nothing_lost(&run, &s);
        // The loss was felt beyond the partition: some other host's announce failed too.
        let failed_elsewhere = run
            .peers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != partition.peer)
            .flat_map(|(_, p)| p.events.iter().flatten())
            .any(|(at, e)| *at < s.stop_at && matches!(e, Event::Failed(_)));
        assert!(
            failed_elsewhere,
            "seed {seed}: no loss outside the partition"
        );
        for (i, peer) in run.peers.iter().enumerate() {
            for (k, events) in peer.events.iter().enumerate() {
                let name = format!("seed {seed}: peer{i} torrent {k}");
                for (at, event) in events {
                    let Event::Failed(f) = event else { continue };
                    // A lost datagram or a broken connection ends as a timeout or a transport
                    // error, a request still in flight at the stop as cancelled: never as a bad
                    // reply or a tracker's refusal.
                    let expected = match &f.cause {
                        Cause::Timeout
                        | Cause::Transport(
                            TransportError::ConnectionRefused | TransportError::ConnectionReset,
                        ) => true,
                        Cause::Cancelled => *at >= s.stop_at,
                        _ => false,
                    };
                    assert!(expected, "{name}: {f:?} at {at:?}");
                }
                // Every torrent got its started answered before the stop, the cut-off host's
                // only after the partition healed.
                let started = announced(events, AnnounceEvent::Started);
                assert_eq!(started.len(), 1, "{name}: {events:?}");
                assert!(started[0].0 < s.stop_at, "{name}");
                if i == partition.peer {
                    assert!(started[0].0 >= partition.until, "{name}: {started:?}");
                    let failed_first = events.iter().any(|(at, e)| {
                        *at < started[0].0
                            && matches!(e, Event::Failed(f)
                                if f.request == RequestKind::Announce(AnnounceEvent::Started))
                    });
                    assert!(
                        failed_first,
                        "{name}: the partition failed its first started"
                    );
                }
                // The stop ends acknowledged or timed out, just before the torrent's end.
                let n = events.len();
                assert!(n >= 2, "{name}");
                let last = &events[n - 2].1;
                let acknowledged =
                    matches!(last, Event::Announced(a) if a.event == AnnounceEvent::Stopped);
                let timed_out = matches!(last, Event::Failed(f)
                    if f.request == RequestKind::Announce(AnnounceEvent::Stopped)
                        && f.cause == Cause::Timeout);
                assert!(acknowledged || timed_out, "{name}: {last:?}");
            }
        }
    }
}
