//! The deterministic simulation: one `Announce` against simulated trackers over a seeded in-memory
//! network, with a virtual clock that jumps to the next deadline or delivery. The network, the
//! trackers and the HTTP exchanges are the public kit's (`bt_tracker::sim::World` hosting
//! `bt_tracker::tracker::Tracker`s); this driver adds the scenarios and the recording. A run records
//! everything that crossed the machine's boundary in a [`Log`]; `checks` holds one function per
//! invariant of `reference/sansio.md` section 2.
#![allow(dead_code)]

pub mod checks;
pub mod client;
pub mod dns;
pub mod net;
pub mod swarm;
pub mod trackers;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Config, Event, HttpRequest, Progress, RequestId, TierMode, Torrent, TrackerId,
    TrackerState,
};
use bt_tracker::sim::{Delivery, World};
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use net::{Datagram, Link, chance, upto};
use trackers::{HttpBehaviour, UdpBehaviour, http_tracker, udp_tracker};

/// One instant shared by every run in the process, so two runs of a seed see the same times.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    #[allow(clippy::disallowed_methods)] // the one clock read: an arbitrary origin for virtual time
    *EPOCH.get_or_init(Instant::now)
}

/// A tracker in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    Udp(UdpBehaviour),
    Http(HttpBehaviour),
}

/// Everything a run depends on.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub config: Config,
    pub tiers: Vec<Vec<Spec>>,
    /// Both directions use it.
    pub link: Link,
    /// Probability that a reply is also forged from another address, with other peers.
    pub spoof: f64,
    /// Probability that a reply the client got is replayed 100 s later.
    pub replay: f64,
    /// UDP trackers live on IPv6 addresses.
    pub ipv6: bool,
    /// The tracker's `interval`.
    pub interval: u32,
    pub complete_at: Option<Duration>,
    pub scrape_at: Option<Duration>,
    /// `stop()` is called here (and at the end of the run if not before).
    pub stop_at: Duration,
    /// Call `handle_timeout` at random times before the deadline.
    pub early_timeouts: bool,
    /// Drain events after every input (off: the caller never drains them).
    pub drain_events: bool,
    /// Record the trackers' status snapshot after every drain.
    pub record_status: bool,
    /// Live edits and per-tracker commands from this time on: `announce_tracker` on tracker 0,
    /// `remove_tracker` of the last tracker 10 s later and adding its URL back to its tier 60 s
    /// after that (so its slot, and its id, are free again), `pause` at +200 s and `resume` at
    /// +400 s.
    pub edits_at: Option<Duration>,
}

const UDP_KINDS: [UdpBehaviour; 9] = [
    UdpBehaviour::Honest,
    UdpBehaviour::Silent,
    UdpBehaviour::ErrorReply,
    UdpBehaviour::Refuse8,
    UdpBehaviour::RotatingIds,
    UdpBehaviour::ExpiringIds,
    UdpBehaviour::IntervalZero,
    UdpBehaviour::IntervalHuge,
    UdpBehaviour::Flood,
];
const HTTP_KINDS: [HttpBehaviour; 10] = [
    HttpBehaviour::Honest,
    HttpBehaviour::Silent,
    HttpBehaviour::FailRetryIn,
    HttpBehaviour::FailNever,
    HttpBehaviour::Gone,
    HttpBehaviour::Redirect,
    HttpBehaviour::RedirectLoop,
    HttpBehaviour::ServerError,
    HttpBehaviour::IntervalZero,
    HttpBehaviour::Slow,
];

impl Scenario {
    /// A random scenario: 1 to 4 trackers in 1 to 3 tiers, any behaviours, any tier mode, loss up
    /// to 40 %, duplication, jitter, spoofing and replays, a run of 2 minutes to 3 hours.
    pub fn random(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let pick = |rng: &mut ChaCha8Rng, n: usize| (rng.next_u32() as usize) % n;
        let mut tiers = Vec::new();
        let n_tiers = 1 + pick(&mut rng, 3);
        for _ in 0..n_tiers {
            let mut tier = Vec::new();
            for _ in 0..1 + pick(&mut rng, 2) {
                // Half the trackers are honest, so most runs see peers.
                let honest = chance(&mut rng) < 0.5;
                tier.push(if chance(&mut rng) < 0.5 {
                    Spec::Udp(if honest {
                        UdpBehaviour::Honest
                    } else {
                        UDP_KINDS[pick(&mut rng, 9)]
                    })
                } else {
                    Spec::Http(if honest {
                        HttpBehaviour::Honest
                    } else {
                        HTTP_KINDS[pick(&mut rng, 10)]
                    })
                });
            }
            tiers.push(tier);
        }
        let mut config = Config::default();
        config.tier_mode = [
            TierMode::OneTracker,
            TierMode::AllTiers,
            TierMode::AllTrackers,
        ][pick(&mut rng, 3)];
        config.udp_max_attempts = 1 + pick(&mut rng, 4) as u32;
        config.max_peers_per_reply = 1000;
        let run = Duration::from_secs(120 + rng.next_u64() % (3 * 3600));
        let at = |rng: &mut ChaCha8Rng| (chance(rng) < 0.5).then(|| upto(rng, run));
        Scenario {
            seed,
            config,
            tiers,
            link: Link {
                loss: [0.0, 0.05, 0.1, 0.3, 0.4][pick(&mut rng, 5)],
                duplicate: 0.1 * chance(&mut rng),
                delay: Duration::from_millis(5 + rng.next_u64() % 200),
                jitter: Duration::from_millis(rng.next_u64() % 300),
            },
            spoof: 0.2 * chance(&mut rng),
            replay: 0.1 * chance(&mut rng),
            ipv6: chance(&mut rng) < 0.3,
            interval: [1800, 900, 60, 7][pick(&mut rng, 4)],
            complete_at: at(&mut rng),
            scrape_at: at(&mut rng),
            stop_at: run,
            early_timeouts: true,
            drain_events: true,
            record_status: false,
            edits_at: None,
        }
    }

    /// Every tracker honest, nothing lost.
    pub fn honest(seed: u64) -> Self {
        let mut s = Scenario::random(seed);
        for tier in &mut s.tiers {
            for spec in tier.iter_mut() {
                *spec = match spec {
                    Spec::Udp(_) => Spec::Udp(UdpBehaviour::Honest),
                    Spec::Http(_) => Spec::Http(HttpBehaviour::Honest),
                };
            }
        }
        s.link = Link::perfect();
        s.spoof = 0.0;
        s.replay = 0.0;
        s
    }
}

/// Something that crossed the machine's boundary, at a time relative to the start.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A datagram from `poll_transmit`.
    Sent {
        at: Duration,
        request: RequestId,
        tracker: TrackerId,
        to: Option<SocketAddr>,
        bytes: Vec<u8>,
    },
    /// A request from `poll_http_request`.
    HttpSent { at: Duration, request: HttpRequest },
    /// An event from `poll_event`.
    Event { at: Duration, event: Event },
    /// A datagram given to `handle_datagram`, whether it was used, and how many outputs followed.
    Delivered {
        at: Duration,
        from: SocketAddr,
        bytes: Vec<u8>,
        spoofed: bool,
        accepted: bool,
        outputs: usize,
    },
    /// An HTTP response or transport error given to the machine.
    HttpAnswered {
        at: Duration,
        request: RequestId,
        status: Option<u16>,
        accepted: bool,
        outputs: usize,
    },
    /// `handle_timeout` called before the deadline, and how many outputs followed.
    EarlyTimeout { at: Duration, outputs: usize },
    /// A command.
    Command { at: Duration, name: &'static str },
    /// The trackers' status after a full drain (scenarios with `record_status`).
    Status { at: Duration, rows: Vec<StatusRow> },
    /// `poll_timeout` after a full drain, and whether the drain followed `handle_timeout`.
    Drained {
        at: Duration,
        timeout: Option<Duration>,
        after_timeout: bool,
    },
}

/// One tracker's row of a status snapshot, with times relative to the start.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub id: TrackerId,
    pub state: TrackerState,
    pub failures: u32,
    pub last_announce: Option<Duration>,
    pub next_announce: Option<Duration>,
}

/// A run's record.
#[derive(Debug, Clone)]
pub struct Log {
    pub seed: u64,
    pub config: Config,
    pub records: Vec<Record>,
    /// The peers each honest tracker hands out, by tracker id.
    pub true_peers: Vec<Vec<SocketAddr>>,
    pub stopped_at: Option<Duration>,
    pub final_timeout: Option<Instant>,
    /// Outcomes superseded before they were drained.
    pub events_superseded: u64,
    /// Event queue length at the end when events were never drained.
    pub undrained: usize,
}

const CLIENT_V4: &str = "10.9.9.9:6881";
const CLIENT_V6: &str = "[fd00::9]:6881";
const MAX_STEPS: usize = 200_000;

/// The simulation of one scenario.
pub struct Sim {
    s: Scenario,
    pub now: Instant,
    pub announce: Announce,
    /// The trackers, the network and the HTTP exchanges in flight.
    world: World,
    /// Each tracker's URL, by tracker id.
    urls: Vec<TrackerUrl>,
    pub log: Log,
    commands: Vec<(Duration, &'static str)>,
    /// The next drain follows `handle_timeout`.
    after_timeout: bool,
}

impl Sim {
    pub fn new(s: &Scenario) -> Self {
        let start = epoch();
        let mut world = World::new(s.seed, s.link);
        world.set_spoof(s.spoof);
        let mut urls = Vec::new();
        let mut true_peers = Vec::new();
        let mut tiers = Vec::new();
        for tier in &s.tiers {
            let mut list = Vec::new();
            for spec in tier {
                let k = urls.len();
                let (addr, url, (tracker, peers)): (SocketAddr, _, _) = match spec {
                    Spec::Udp(b) => {
                        let addr: SocketAddr = if s.ipv6 {
                            format!("[fd00::{}]:6969", k + 1).parse().unwrap()
                        } else {
                            format!("10.0.0.{}:6969", k + 1).parse().unwrap()
                        };
                        let url = format!("udp://{addr}/announce?k={k}");
                        let made = udp_tracker(k, *b, s.interval, s.ipv6, world.rng(), start);
                        (addr, url, made)
                    }
                    Spec::Http(b) => {
                        let addr = format!("10.0.1.{}:80", k + 1).parse().unwrap();
                        let url = format!("http://{addr}/announce");
                        (
                            addr,
                            url,
                            http_tracker(k, *b, s.interval, world.rng(), start),
                        )
                    }
                };
                assert!(world.add_tracker(addr, tracker));
                true_peers.push(peers);
                let url = TrackerUrl::parse(&url).unwrap();
                urls.push(url.clone());
                list.push(url);
            }
            tiers.push(list);
        }
        let torrent = Torrent {
            info_hash: InfoHash([0xab; 20]),
            peer_id: PeerId(*b"-BT0001-simulation00"),
            port: 6881,
            progress: Progress {
                uploaded: 0,
                downloaded: 0,
                left: 1 << 20,
                ..Progress::default()
            },
            key: None,
        };
        let mut seed_rng = ChaCha8Rng::seed_from_u64(s.seed.wrapping_mul(31));
        let announce =
            Announce::new(s.config.clone(), torrent, tiers, &mut seed_rng, start).unwrap();
        let mut commands = vec![(s.stop_at, "stop")];
        commands.extend(s.complete_at.map(|t| (t, "completed")));
        commands.extend(s.scrape_at.map(|t| (t, "scrape")));
        if let Some(e) = s.edits_at {
            let secs = Duration::from_secs;
            commands.extend([
                (e, "announce_tracker"),
                (e + secs(10), "remove_last"),
                (e + secs(70), "add_back"),
                (e + secs(200), "pause"),
                (e + secs(400), "resume"),
            ]);
        }
        commands.sort();
        Sim {
            s: s.clone(),
            now: start,
            announce,
            world,
            urls,
            log: Log {
                seed: s.seed,
                config: s.config.clone(),
                records: Vec::new(),
                true_peers,
                stopped_at: None,
                final_timeout: None,
                events_superseded: 0,
                undrained: 0,
            },
            commands,
            after_timeout: false,
        }
    }

    fn at(&self) -> Duration {
        self.now - epoch()
    }

    /// Drains every output into the network, the HTTP trackers and the log; returns how many.
    pub fn drain(&mut self) -> usize {
        let mut outputs = 0;
        let mut buf = Vec::new();
        let at = self.at();
        while let Some(t) = self.announce.poll_transmit(&mut buf) {
            outputs += 1;
            let bytes = buf[..t.len].to_vec();
            self.log.records.push(Record::Sent {
                at,
                request: t.request,
                tracker: t
                    .origin
                    .tracker()
                    .expect("an Announce's requests name their tracker"),
                to: Some(t.destination),
                bytes: bytes.clone(),
            });
            let to = t.destination;
            let from: SocketAddr = if to.is_ipv6() { CLIENT_V6 } else { CLIENT_V4 }
                .parse()
                .unwrap();
            self.world.send_datagram(self.now, from, to, &bytes);
        }
        while let Some(request) = self.announce.poll_http_request() {
            outputs += 1;
            self.log.records.push(Record::HttpSent {
                at,
                request: request.clone(),
            });
            let from = CLIENT_V4.parse().unwrap();
            self.world.send_http(self.now, from, &request);
        }
        let timeout = self.announce.poll_timeout();
        let after_timeout = std::mem::take(&mut self.after_timeout);
        self.log.records.push(Record::Drained {
            at,
            timeout: timeout.map(|t| t - epoch()),
            after_timeout,
        });
        if self.s.drain_events {
            while let Some(event) = self.announce.poll_event() {
                outputs += 1;
                if event == Event::Stopped {
                    self.log.stopped_at = Some(at);
                }
                self.log.records.push(Record::Event { at, event });
            }
        }
        if self.s.record_status {
            let rel = |t: Option<Instant>| t.map(|t| t - epoch());
            let rows = self
                .announce
                .trackers()
                .map(|t| StatusRow {
                    id: t.id,
                    state: t.state,
                    failures: t.failures,
                    last_announce: rel(t.last_announce),
                    next_announce: rel(t.next_announce),
                })
                .collect();
            self.log.records.push(Record::Status { at, rows });
        }
        outputs
    }

    /// Drains, and writes the number of outputs into the input record just pushed (which stays
    /// before the outputs it caused).
    fn drain_into_last(&mut self) {
        let idx = self.log.records.len() - 1;
        let n = self.drain();
        if let Record::Delivered { outputs, .. }
        | Record::HttpAnswered { outputs, .. }
        | Record::EarlyTimeout { outputs, .. } = &mut self.log.records[idx]
        {
            *outputs = n;
        }
    }

    fn next_time(&self) -> Option<Instant> {
        let command = self.commands.first().map(|&(t, _)| epoch() + t);
        [
            self.announce.poll_timeout(),
            self.world.next_time(),
            command,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A datagram for the client (the world hands datagrams for a tracker to it).
    fn deliver(&mut self, d: Datagram) {
        let at = self.at();
        let accepted = self.announce.handle_datagram(self.now, d.from, &d.bytes);
        if accepted && chance(self.world.rng()) < self.s.replay {
            let at = self.now + Duration::from_secs(100);
            self.world.net_mut().inject(at, d.clone());
        }
        self.log.records.push(Record::Delivered {
            at,
            from: d.from,
            bytes: d.bytes,
            spoofed: d.spoofed,
            accepted,
            outputs: 0,
        });
        self.drain_into_last();
    }

    /// The last tracker's tier and URL, as built by [`Sim::new`].
    fn last_tracker(&self) -> (usize, TrackerUrl) {
        let tier = self.s.tiers.len() - 1;
        (tier, self.urls[self.urls.len() - 1].clone())
    }

    /// Runs until the machine stopped (or the step bound, which fails the run as a livelock).
    pub fn run(mut self) -> Log {
        self.drain();
        for _ in 0..MAX_STEPS {
            if self.announce.is_stopped() && self.world.is_idle() {
                break;
            }
            let Some(next) = self.next_time() else { break };
            if self.s.early_timeouts && chance(self.world.rng()) < 0.2 {
                // Halfway to the next thing that happens, so no delivery is made late.
                if let Some(deadline) = self.announce.poll_timeout() {
                    let early = self.now + (next - self.now) / 2;
                    if early > self.now && early < deadline {
                        self.now = early;
                        self.announce.handle_timeout(early);
                        self.log.records.push(Record::EarlyTimeout {
                            at: self.at(),
                            outputs: 0,
                        });
                        self.drain_into_last();
                    }
                }
            }
            self.now = self.now.max(next);
            while let Some(&(t, name)) = self.commands.first() {
                if epoch() + t > self.now {
                    break;
                }
                self.commands.remove(0);
                match name {
                    "stop" => self.announce.stop(self.now),
                    "completed" => {
                        self.announce.set_progress(Progress {
                            uploaded: 5,
                            downloaded: 1 << 20,
                            left: 0,
                            ..Progress::default()
                        });
                        self.announce.completed(self.now)
                    }
                    "announce_tracker" => {
                        let _ = self.announce.announce_tracker(self.now, TrackerId(0));
                    }
                    "remove_last" => {
                        let last = TrackerId(self.urls.len() as u16 - 1);
                        self.announce.remove_tracker(self.now, last);
                    }
                    "add_back" => {
                        let (tier, url) = self.last_tracker();
                        let got = self.announce.add_tracker(self.now, url, tier);
                        // Its slot is free again (its `stopped` ended long ago): same id.
                        if let Ok(id) = got {
                            assert_eq!(
                                usize::from(id.0),
                                self.urls.len() - 1,
                                "seed {}",
                                self.s.seed
                            );
                        }
                    }
                    "pause" => {
                        self.announce.pause(self.now);
                    }
                    "resume" => {
                        self.announce.resume(self.now);
                    }
                    _ => self.announce.scrape(self.now),
                }
                self.log.records.push(Record::Command {
                    at: self.at(),
                    name,
                });
                self.drain();
            }
            // Timers before late inputs (`Announce`'s rule): a deadline due now fires before
            // what arrives now.
            if self.announce.poll_timeout().is_some_and(|t| t <= self.now) {
                self.announce.handle_timeout(self.now);
                self.after_timeout = true;
                self.drain();
            }
            while let Some(delivery) = self.world.poll_delivery(self.now) {
                let (id, answer) = match delivery {
                    Delivery::Datagram(d) => {
                        self.deliver(d);
                        continue;
                    }
                    Delivery::Http { request, answer } => (request, answer),
                };
                let (status, accepted) = match &answer {
                    Ok(a) => (
                        Some(a.status),
                        self.announce
                            .handle_http_response(self.now, id, &a.response()),
                    ),
                    Err(e) => (None, self.announce.handle_transport_error(self.now, id, *e)),
                };
                self.log.records.push(Record::HttpAnswered {
                    at: self.at(),
                    request: id,
                    status,
                    accepted,
                    outputs: 0,
                });
                self.drain_into_last();
            }
        }
        assert!(
            self.announce.is_stopped() || !self.s.drain_events,
            "seed {}: livelock or no shutdown after {MAX_STEPS} steps",
            self.s.seed
        );
        self.log.final_timeout = self.announce.poll_timeout();
        self.log.events_superseded = self.announce.events_superseded();
        while self.announce.poll_event().is_some() {
            self.log.undrained += 1;
        }
        self.log
    }
}

/// Runs a scenario.
pub fn run(s: &Scenario) -> Log {
    Sim::new(s).run()
}

/// Runs `seeds` scenarios from `make` and applies `check` to each log; the message of the first
/// failure names the seed, so `make(seed)` reproduces it.
pub fn for_seeds(
    seeds: std::ops::Range<u64>,
    make: impl Fn(u64) -> Scenario,
    check: impl Fn(&Log) -> Result<(), String>,
) {
    for seed in seeds {
        let log = run(&make(seed));
        if let Err(e) = check(&log) {
            panic!("invariant broken with seed {seed} (reproduce with the same seed): {e}");
        }
    }
}
