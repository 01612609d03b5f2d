//! The event-loop examples' torrents (mio, tokio, game loop): what they announce (magnet links and
//! `.torrent` files, or synthetic torrents on the embedded tracker or the `--tracker` URLs), the
//! one [`Client`] that holds them all, and the tally of its events that the summary prints.

use super::out::{count, tell};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use bt_tracker::announce::{
    Cause, Config, Event, Progress, RequestKind, TierMode, Torrent, TorrentId, TrackerId,
};
use bt_tracker::client::Client;
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, Scheme, TrackerUrl};

use super::cli::LoopArgs;
use super::embedded::{EmbeddedTracker, sample_peers};
use super::{now, os_rng, random_peer_id, target};

/// One torrent: its name and what it has learnt. A run holds one per torrent (the start-up
/// benchmark's peak RSS counts them), so it is kept small.
#[derive(Debug)]
pub struct Swarm {
    /// Its name.
    pub name: Name,
    /// Every peer the trackers gave.
    pub peers: BTreeSet<SocketAddr>,
    /// Trackers that acknowledged `started` (a torrent has a few: a list, not a set).
    pub started: Vec<TrackerId>,
    /// Trackers it announces to: UDP, HTTP(S).
    pub trackers: [u32; 2],
}

/// A torrent's name: from the magnet link or file, or synthetic torrent `k`'s, made when shown.
#[derive(Debug)]
pub enum Name {
    Given(Box<str>),
    Synthetic(usize),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Given(name) => f.write_str(name),
            Name::Synthetic(k) => write!(f, "synthetic #{k}"),
        }
    }
}

/// 0 for a UDP tracker, 1 for HTTP(S): the summary's per-transport counts.
fn transport(url: &TrackerUrl) -> usize {
    usize::from(url.scheme() != Scheme::Udp)
}

/// Every torrent of the run and what happened to them.
#[derive(Debug)]
pub struct Fleet {
    /// When the run started (the JSON summary's times count from it).
    pub start: Instant,
    /// The torrents by the client's id.
    pub swarms: HashMap<TorrentId, Swarm>,
    /// Per-request lines only for a handful of torrents; thousands would flood the terminal.
    pub verbose: bool,
    /// Announces answered, `stopped` ones left out.
    pub announced: usize,
    /// Requests that failed (cancelled ones left out).
    pub failed: usize,
    /// Requests still in flight when `stop` came (the client ends them as cancelled).
    pub unanswered: usize,
    /// `stopped` announces acknowledged.
    pub stopped_acks: usize,
    /// `stopped` acknowledged by a tracker whose `started` was still unanswered at `stop` (it may
    /// have listed this client all the same, so it is sent `stopped` too).
    pub stopped_after_unanswered: usize,
    /// Torrents not added yet.
    pending: Pending,
    /// The run's torrents, added or not.
    pub count: usize,
    /// The peer id and port every torrent announces.
    peer_id: PeerId,
    port: u16,
    /// `stopped` announces that failed (given up after `Config::stop_timeout`, or refused): the
    /// torrent still ends with `Event::Stopped`.
    pub stopped_failed: usize,
    /// UDP datagrams written to the socket, when the loop counts them: connects, announces
    /// (every send and resend; the summary's duplicates are these less the answered ones).
    pub udp_sent: Option<[usize; 2]>,
    /// (torrent, tracker) pairs per transport (UDP, HTTP), of the torrents added so far.
    pub expected: [usize; 2],
    /// Pairs whose `started` was acknowledged per transport, when the last one of each was, and
    /// when every pair was.
    pub started_pairs: [usize; 2],
    last_started: [Option<Instant>; 2],
    all_started: Option<Instant>,
}

/// The torrents not added to the client yet: the command line's, or synthetic ones, made when
/// added (so that a run of a million takes no memory and no time before its first frame).
#[derive(Debug)]
enum Pending {
    /// The command line's torrents, in order.
    Given(std::vec::IntoIter<Spec>),
    /// Synthetic torrents `next..count`, all on the same tiers.
    Synthetic {
        next: usize,
        count: usize,
        tiers: Vec<Vec<TrackerUrl>>,
    },
}

impl Pending {
    fn next(&mut self) -> Option<Spec> {
        match self {
            Pending::Given(specs) => specs.next(),
            Pending::Synthetic { next, count, tiers } => {
                let k = *next;
                if k >= *count {
                    return None;
                }
                *next += 1;
                let mut hash = [0u8; 20];
                hash[..8].copy_from_slice(&(k as u64).to_be_bytes());
                Some((Name::Synthetic(k), InfoHash(hash), tiers.clone()))
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Pending::Given(specs) => specs.len() == 0,
            Pending::Synthetic { next, count, .. } => next >= count,
        }
    }
}

/// The run's client with every torrent added, and the embedded tracker when the run uses it (it
/// serves until dropped). The mio and tokio examples add them all before their loop starts.
pub fn start(args: &LoopArgs) -> Result<(Client, Fleet, Option<EmbeddedTracker>), String> {
    let (mut client, mut fleet, embedded) = prepare(args)?;
    fleet.add_pending(&mut client, None);
    Ok((client, fleet, embedded))
}

/// The run's client with no torrent added yet ([`Fleet::add_pending`] adds them), and the embedded
/// tracker when the run uses it. Prints on stderr what the synthetic torrents announce to.
pub fn prepare(args: &LoopArgs) -> Result<(Client, Fleet, Option<EmbeddedTracker>), String> {
    let start = now();
    let mut embedded = None;
    let (pending, count) = if args.targets.is_empty() {
        let tiers: Vec<Vec<String>> = if args.trackers.is_empty() {
            let tracker = EmbeddedTracker::start(sample_peers()).map_err(|e| e.to_string())?;
            let tiers = vec![vec![tracker.udp_url()], vec![tracker.http_url()]];
            embedded = Some(tracker);
            tiers
        } else {
            args.trackers.iter().map(|t| vec![t.clone()]).collect()
        };
        tell(format_args!(
            "{} on {}",
            count(args.torrents as u64, "synthetic torrent"),
            tiers.concat().join(", ")
        ));
        let tiers = target::usable_tiers(&tiers);
        let (next, count) = (0, args.torrents);
        (Pending::Synthetic { next, count, tiers }, count)
    } else {
        let specs = torrent_specs(args)?;
        let count = specs.len();
        (Pending::Given(specs.into_iter()), count)
    };
    let mut rng = os_rng();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let peer_id = random_peer_id(&mut rng);
    let client = Client::new(config, &mut rng, now()).map_err(|e| e.to_string())?;
    let fleet = Fleet {
        start,
        verbose: count <= 10,
        swarms: HashMap::new(),
        pending,
        count,
        peer_id,
        port: args.port,
        announced: 0,
        failed: 0,
        unanswered: 0,
        stopped_acks: 0,
        stopped_after_unanswered: 0,
        stopped_failed: 0,
        udp_sent: None,
        expected: [0; 2],
        started_pairs: [0; 2],
        last_started: [None; 2],
        all_started: None,
    };
    Ok((client, fleet, embedded))
}

/// A torrent to add: its name, info hash and tiers of tracker URLs.
type Spec = (Name, InfoHash, Vec<Vec<TrackerUrl>>);

/// The torrents of the command line (read by [`target::parse_targets`]: magnet links and
/// `.torrent` files with their own trackers, info hashes with the tracker URLs given after them),
/// a torrent without any given the `--tracker` URLs.
fn torrent_specs(args: &LoopArgs) -> Result<Vec<Spec>, String> {
    let mut specs = Vec::new();
    for t in &args.targets {
        let name = t.name.clone().unwrap_or_else(|| t.info_hash.to_string());
        let mut tiers = t.tiers.clone();
        match (tiers.is_empty(), args.trackers.is_empty()) {
            (true, false) => tiers.extend(args.trackers.iter().map(|t| vec![t.clone()])),
            (true, true) => {
                return Err(format!(
                    "{name} has no tracker: give tracker URLs after the info hash, or --tracker URL"
                ));
            }
            (false, false) => {
                return Err(format!(
                    "--tracker is for synthetic torrents and bare info hashes: {name} names its own trackers"
                ));
            }
            (false, true) => {}
        }
        let name = Name::Given(name.into_boxed_str());
        specs.push((name, t.info_hash, target::usable_tiers(&tiers)));
    }
    Ok(specs)
}

impl Fleet {
    /// Adds the torrents not added yet to `client`: all of them with no `until`, or as many as
    /// fit before `until` (at least one, so that every call makes progress). Returns how many were
    /// added. A torrent the client refuses is reported on stderr and skipped.
    pub fn add_pending(&mut self, client: &mut Client, until: Option<Instant>) -> usize {
        let mut added = 0;
        while let Some((name, info_hash, tiers)) = self.pending.next() {
            let torrent = Torrent {
                info_hash,
                peer_id: self.peer_id,
                port: self.port,
                progress: Progress {
                    left: 1 << 30,
                    ..Progress::default()
                },
                key: None,
            };
            let mut trackers = [0; 2];
            tiers
                .iter()
                .flatten()
                .for_each(|u| trackers[transport(u)] += 1);
            match client.add(now(), torrent, tiers) {
                Ok(id) => {
                    let swarm = Swarm {
                        name,
                        peers: BTreeSet::new(),
                        started: Vec::new(),
                        trackers,
                    };
                    self.expected[0] += trackers[0] as usize;
                    self.expected[1] += trackers[1] as usize;
                    self.swarms.insert(id, swarm);
                }
                Err(e) => tell(format_args!("skipping {name}: {e}")),
            }
            added += 1;
            if until.is_some_and(|t| now() >= t) {
                break;
            }
        }
        added
    }

    /// Whether every torrent of the run has been added.
    pub fn all_added(&self) -> bool {
        self.pending.is_empty()
    }

    /// Drains the client's events into the tally.
    pub fn drain_events(&mut self, client: &mut Client) {
        while let Some((torrent, event)) = client.poll_event() {
            self.record(client, torrent, event);
        }
    }

    /// Counts one event of `torrent` (the client still knows its trackers' URLs).
    pub fn record(&mut self, client: &Client, torrent: TorrentId, event: Event) {
        let Some(swarm) = self.swarms.get_mut(&torrent) else {
            return;
        };
        // A torrent's tracker URLs read until its `Stopped` is drained: every event names one.
        // Display, not `as_str`: a password in the URL shows as `xxxxx`.
        let url = |t| {
            client
                .tracker_url(torrent, t)
                .map_or("?".to_owned(), |u| u.to_string())
        };
        match event {
            Event::Announced(a) if a.event == AnnounceEvent::Stopped => {
                self.stopped_acks += 1;
                if !swarm.started.contains(&a.tracker) {
                    self.stopped_after_unanswered += 1;
                }
            }
            Event::Announced(a) => {
                self.announced += 1;
                if a.event == AnnounceEvent::Started && !swarm.started.contains(&a.tracker) {
                    swarm.started.push(a.tracker);
                    let kind = client.tracker_url(torrent, a.tracker).map_or(0, transport);
                    self.started_pairs[kind] += 1;
                    self.last_started[kind] = Some(now());
                }
                if self.verbose {
                    tell(format_args!(
                        "{}: {} from {}",
                        swarm.name,
                        count(a.peers.len() as u64, "peer"),
                        url(a.tracker)
                    ));
                }
                swarm.peers.extend(a.peers);
            }
            Event::Failed(f) => {
                if f.cause == Cause::Cancelled {
                    self.unanswered += 1;
                } else {
                    self.failed += 1;
                    if f.request == RequestKind::Announce(AnnounceEvent::Stopped) {
                        self.stopped_failed += 1;
                    }
                }
                if self.verbose {
                    tell(format_args!(
                        "{}: {}: {}",
                        swarm.name,
                        url(f.tracker),
                        f.cause
                    ));
                }
            }
            _ => {}
        }
    }

    /// `true` once, when every torrent's `started` has been answered by each of its trackers.
    pub fn just_all_started(&mut self) -> bool {
        if self.all_started.is_none()
            && self.pending.is_empty()
            && self.started_pairs == self.expected
        {
            self.all_started = Some(now());
            return true;
        }
        false
    }

    /// Prints the tracker tables of the first torrents, from the client's status snapshot.
    pub fn print_status(&self, client: &Client, now: Instant) {
        for torrent in client.torrents().take(5) {
            let name = self
                .swarms
                .get(&torrent)
                .map_or("?".into(), |s| s.name.to_string());
            let rows = super::status::table(client.trackers(torrent), now);
            eprint!("{name} ({torrent}):\n{rows}");
        }
    }

    /// Prints the summary (one line, or one JSON object) and says whether any announce was
    /// answered.
    pub fn report(&self, json: bool) -> bool {
        let secs = |t: Instant| t.duration_since(self.start).as_secs_f64();
        if json {
            let at = |t: Option<Instant>| t.map_or("null".into(), |t| format!("{:.6}", secs(t)));
            let by = |k: usize| {
                at(self.last_started[k].filter(|_| self.started_pairs[k] == self.expected[k]))
            };
            let sent = |k: usize| self.udp_sent.map_or("null".into(), |s| s[k].to_string());
            super::out::say(format_args!(
                "{{\"torrents\": {}, \"expected\": {}, \"started_acked\": {}, \"all_started_s\": {}, \"udp_started_s\": {}, \"http_started_s\": {}, \"failed\": {}, \"stopped_failed\": {}, \"unanswered\": {}, \"stopped_acked\": {}, \"udp_connects_sent\": {}, \"udp_announces_sent\": {}, \"done_s\": {:.6}}}",
                self.swarms.len(),
                self.expected[0] + self.expected[1],
                self.started_pairs[0] + self.started_pairs[1],
                at(self.all_started),
                by(0),
                by(1),
                self.failed,
                self.stopped_failed,
                self.unanswered,
                self.stopped_acks,
                sent(0),
                sent(1),
                secs(now())
            ));
        } else {
            let with_peers = self.swarms.values().filter(|s| !s.peers.is_empty()).count();
            let total: usize = self.swarms.values().map(|s| s.peers.len()).sum();
            super::out::say(format_args!(
                "{}, {} answered, {} failed, {} unanswered when stopping, {} with peers ({} in all), {} stopped acknowledged ({} after a started unanswered at stop), in {:.2} s",
                count(self.swarms.len() as u64, "torrent"),
                count(self.announced as u64, "announce"),
                count(self.failed as u64, "request"),
                self.unanswered,
                count(with_peers as u64, "torrent"),
                count(total as u64, "peer"),
                self.stopped_acks,
                self.stopped_after_unanswered,
                secs(now())
            ));
        }
        self.announced > 0
    }
}
