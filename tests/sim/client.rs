//! The deterministic simulation of a [`Client`]: many torrents, swarm trackers on a seeded lossy
//! network, a virtual clock that jumps to the next deadline or delivery. Events are folded into
//! per-torrent tallies as they come (100,000 torrents do not keep their events), and every datagram
//! the client sends is checked: no transaction id is in flight for two requests at once.
//!
//! A few torrents can be watched ([`ClientSim::watch`]): each gets the live edits and per-tracker
//! commands the `Announce` simulation runs (announce to one tracker, scrape one tracker, remove a
//! tracker and add it back, pause, resume), and everything that crosses the client's boundary for
//! it is recorded in a [`Log`] of its own, with its `Client::trackers` snapshot after every drain
//! that touched it, so the `Announce` simulation's checks (`checks::status`, `checks::cadence`,
//! `checks::liveness`) apply to it unchanged ([`ClientSim::check_watched`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Config, DnsConfig, Event, HttpRequest, Origin, Progress, RequestId, Torrent, TorrentId,
    TrackerId,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::{ChaCha8Rng, ChaCha12Rng};
use rand_core::SeedableRng;

use super::dns::DnsModel;
use super::net::{Datagram, Link, Net};
use super::swarm::{SwarmTracker, peers_for, seeders_for};
use super::{Log, Record, StatusRow, epoch};

/// What one torrent saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Announces answered with exactly this torrent's peers, by event.
    pub started: u32,
    pub regular: u32,
    pub stopped: u32,
    /// Announces answered with peers that are not this torrent's (misrouted).
    pub wrong_peers: u32,
    /// Scrapes answered with this torrent's counts / with other counts.
    pub scraped: u32,
    pub wrong_scrape: u32,
    pub failed: u32,
    /// `Event::Stopped` arrived.
    pub done: bool,
}

/// A command the simulation gives one watched torrent, named as in the `Announce` simulation's
/// log (`checks` reads the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Command {
    /// `announce_tracker` to its first tracker.
    AnnounceTracker,
    /// `scrape_tracker` of its first tracker.
    ScrapeTracker,
    /// `remove_tracker` of its last tracker.
    RemoveLast,
    /// `add_tracker` of the removed URL, back into its tier (its id must come back with it).
    AddBack,
    Pause,
    Resume,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::AnnounceTracker => "announce_tracker",
            Command::ScrapeTracker => "scrape_tracker",
            Command::RemoveLast => "remove_last",
            Command::AddBack => "add_back",
            Command::Pause => "pause",
            Command::Resume => "resume",
        }
    }
}

/// A watched torrent: its own log, its last tracker (tier, URL, id), and its last snapshot.
struct Watched {
    log: Log,
    last: (usize, TrackerUrl, TrackerId),
    rows: Vec<StatusRow>,
}

/// An HTTP tracker played by a closure: the request in, the response out (after 10 ms).
pub type HttpHandler = Box<dyn FnMut(&HttpRequest) -> HttpResponse<'static>>;

/// The simulation.
pub struct ClientSim {
    pub client: Client,
    pub now: Instant,
    pub net: Net,
    pub link: Link,
    rng: ChaCha8Rng,
    pub addr: SocketAddr,
    pub trackers: Vec<SwarmTracker>,
    pub http: Option<HttpHandler>,
    http_queue: BTreeMap<(Instant, u64), (RequestId, HttpResponse<'static>)>,
    pub hashes: HashMap<TorrentId, InfoHash>,
    pub tally: HashMap<TorrentId, Tally>,
    /// Every connect the client sent, per destination.
    pub connects_sent: HashMap<SocketAddr, Vec<Instant>>,
    /// Every datagram the client sent: (time, destination, length).
    pub sent: Vec<(Instant, SocketAddr, usize)>,
    /// Torrents whose `stopped` announce left the client.
    pub stopped_sent: HashSet<(InfoHash, SocketAddr)>,
    /// The trackers each torrent's `started` announce went to.
    pub started_sent: HashMap<InfoHash, Vec<SocketAddr>>,
    /// When the last `stopped` left the client.
    pub last_stopped_sent: Option<Instant>,
    /// The transaction id each request last sent with, and who holds each id.
    txid_of: HashMap<RequestId, u32>,
    holder: HashMap<u32, RequestId>,
    in_flight: HashSet<RequestId>,
    /// Broken invariants, as messages.
    pub violations: Vec<String>,
    /// Torrents with at least `k + 1` started / regular answers, and with `Stopped`: progress a
    /// scale run checks in O(1) instead of scanning every tally.
    started_counts: Vec<usize>,
    regular_counts: Vec<usize>,
    pub done_count: usize,
    pub keep_sent: bool,
    seq: u64,
    /// The resolver the client's DNS queries go to, with its invariants.
    pub dns: DnsModel,
    dns_config: DnsConfig,
    /// A multi-homed tracker: replies to datagrams sent to the key come from the value.
    pub reply_from: HashMap<SocketAddr, SocketAddr>,
    /// UDP requests with a datagram sent and not yet answered or ended, and where they went.
    udp_outstanding: HashMap<RequestId, SocketAddr>,
    outstanding_per_tracker: HashMap<SocketAddr, usize>,
    /// The most UDP requests with a datagram unanswered at once, per tracker.
    pub peak_in_flight: HashMap<SocketAddr, usize>,
    /// Announce datagrams sent (kept with `keep_sent`): time, destination, event (BEP 15 code),
    /// info hash.
    pub announces: Vec<(Instant, SocketAddr, u32, InfoHash)>,
    /// HTTP requests handed out and not yet answered, and the most at once.
    http_live: usize,
    pub peak_http: usize,
    config: Config,
    /// Watched torrents (see the module docs), and those a drain touched.
    watched: BTreeMap<TorrentId, Watched>,
    touched: Vec<TorrentId>,
    /// Commands for watched torrents, by time.
    commands: BTreeMap<(Instant, u64), (TorrentId, Command)>,
}

/// The URL of swarm tracker `i`.
pub fn tracker_url(i: usize) -> TrackerUrl {
    TrackerUrl::parse(&format!("udp://10.9.0.{}:6969/announce", i + 1)).unwrap()
}

/// Torrent `n`'s info hash: distinct for every `n`.
pub fn hash_of(n: u32) -> InfoHash {
    let mut h = [0u8; 20];
    h[..4].copy_from_slice(&n.to_be_bytes());
    h[4] = 0x5a;
    h[19] = 1;
    InfoHash(h)
}

impl ClientSim {
    pub fn new(seed: u64, config: Config, trackers: usize, link: Link) -> Self {
        let now = epoch();
        let mut seed_rng = ChaCha12Rng::seed_from_u64(seed);
        let dns_config = config.dns.clone();
        let client = Client::new(config.clone(), &mut seed_rng, now).unwrap();
        ClientSim {
            client,
            now,
            net: Net::default(),
            link,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xc11e),
            addr: SocketAddr::new(Ipv4Addr::new(10, 9, 9, 9).into(), 6881),
            trackers: (0..trackers)
                .map(|i| {
                    let addr = tracker_url(i).socket_addr().unwrap();
                    SwarmTracker::new(addr, 1800)
                })
                .collect(),
            http: None,
            http_queue: BTreeMap::new(),
            hashes: HashMap::new(),
            tally: HashMap::new(),
            connects_sent: HashMap::new(),
            sent: Vec::new(),
            stopped_sent: HashSet::new(),
            started_sent: HashMap::new(),
            last_stopped_sent: None,
            txid_of: HashMap::new(),
            holder: HashMap::new(),
            in_flight: HashSet::new(),
            violations: Vec::new(),
            started_counts: Vec::new(),
            regular_counts: Vec::new(),
            done_count: 0,
            keep_sent: true,
            seq: 0,
            dns: DnsModel::default(),
            dns_config,
            reply_from: HashMap::new(),
            udp_outstanding: HashMap::new(),
            outstanding_per_tracker: HashMap::new(),
            peak_in_flight: HashMap::new(),
            announces: Vec::new(),
            http_live: 0,
            peak_http: 0,
            config,
            watched: BTreeMap::new(),
            touched: Vec::new(),
            commands: BTreeMap::new(),
        }
    }

    /// Watches a torrent added with `tiers`: its boundary is logged from now on, and from `edits_at`
    /// it gets the `Announce` simulation's edits and commands (see [`Command`]): announce to its
    /// first tracker, scrape it 5 s later, remove its last tracker at +10 s and add it back at
    /// +70 s, pause at +200 s, resume at +400 s.
    pub fn watch(&mut self, id: TorrentId, tiers: &[Vec<TrackerUrl>], edits_at: Duration) {
        let hash = self.hashes[&id];
        let count = tiers.iter().map(Vec::len).sum::<usize>();
        let tier = tiers.len() - 1;
        let url = tiers[tier].last().expect("a tier with a tracker").clone();
        let log = Log {
            seed: 0,
            config: self.config.clone(),
            records: Vec::new(),
            true_peers: vec![peers_for(&hash); count],
            stopped_at: None,
            final_timeout: None,
            events_superseded: 0,
            undrained: 0,
        };
        let last = (tier, url, TrackerId(count as u16 - 1));
        self.watched.insert(
            id,
            Watched {
                log,
                last,
                rows: Vec::new(),
            },
        );
        let at = self.now + edits_at;
        let secs = Duration::from_secs;
        for (after, command) in [
            (secs(0), Command::AnnounceTracker),
            (secs(5), Command::ScrapeTracker),
            (secs(10), Command::RemoveLast),
            (secs(70), Command::AddBack),
            (secs(200), Command::Pause),
            (secs(400), Command::Resume),
        ] {
            self.seq += 1;
            self.commands.insert((at + after, self.seq), (id, command));
        }
        self.touched.push(id);
        self.snapshot();
    }

    /// Stops the client (every torrent), logged as `stop` for the watched ones.
    pub fn stop(&mut self) {
        let at = self.now - epoch();
        for w in self.watched.values_mut() {
            w.log.records.push(Record::Command { at, name: "stop" });
        }
        self.client.stop(self.now);
        self.drain();
    }

    /// Applies `check` to every watched torrent's log; the first failure names the torrent.
    pub fn check_watched(&self, check: impl Fn(&Log) -> Result<(), String>) -> Result<(), String> {
        for (id, w) in &self.watched {
            check(&w.log).map_err(|e| format!("{id}: {e}"))?;
        }
        Ok(())
    }

    /// Watched torrents, the status snapshots recorded for them and the commands they were given.
    pub fn watched_counts(&self) -> (usize, usize, usize) {
        let count = |pick: fn(&Record) -> bool| {
            self.watched
                .values()
                .map(|w| w.log.records.iter().filter(|r| pick(r)).count())
                .sum()
        };
        (
            self.watched.len(),
            count(|r| matches!(r, Record::Status { .. })),
            count(|r| matches!(r, Record::Command { .. })),
        )
    }

    /// Runs the commands due now.
    fn run_commands(&mut self) {
        while let Some((&(at, seq), _)) = self.commands.first_key_value() {
            if at > self.now {
                break;
            }
            let (id, command) = self.commands.remove(&(at, seq)).unwrap();
            let now = self.now;
            let Some(w) = self.watched.get_mut(&id) else {
                continue;
            };
            let name = command.name();
            w.log.records.push(Record::Command {
                at: now - epoch(),
                name,
            });
            let (tier, url, last) = w.last.clone();
            let client = &mut self.client;
            match command {
                Command::AnnounceTracker => {
                    let _ = client.announce_tracker(now, id, TrackerId(0));
                }
                Command::ScrapeTracker => {
                    client.scrape_tracker(now, id, TrackerId(0));
                }
                Command::RemoveLast => {
                    client.remove_tracker(now, id, last);
                }
                Command::AddBack => match client.add_tracker(now, id, url, tier) {
                    // Its slot is free again (its `stopped` ended long ago): same id.
                    Ok(got) if got != last => self.violations.push(format!(
                        "{id}: the tracker added back got {got}, not {last}"
                    )),
                    Ok(_) => {}
                    Err(e) => self
                        .violations
                        .push(format!("{id}: adding the tracker back failed: {e}")),
                },
                Command::Pause => {
                    client.pause(now, id);
                }
                Command::Resume => {
                    client.resume(now, id);
                }
            }
            self.touched.push(id);
            self.drain();
        }
    }

    /// Logs what a datagram or HTTP request of `origin` was, for the watched torrents it is of.
    fn log_request(
        &mut self,
        origin: Origin,
        request: RequestId,
        record: impl Fn(TorrentId, TrackerId) -> Record,
    ) {
        let members: Vec<(TorrentId, TrackerId)> = match origin {
            Origin::Tracker { torrent, .. } if !self.watched.contains_key(&torrent) => return,
            Origin::Tracker { torrent, tracker } => vec![(torrent, tracker)],
            Origin::ScrapeBatch { .. } => self
                .client
                .batch_members(request)
                .map(|m| m.filter(|(t, _)| self.watched.contains_key(t)).collect())
                .unwrap_or_default(),
        };
        for (torrent, tracker) in members {
            if let Some(w) = self.watched.get_mut(&torrent) {
                w.log.records.push(record(torrent, tracker));
                self.touched.push(torrent);
            }
        }
    }

    /// Records the snapshot of each watched torrent a drain touched, when it changed.
    fn snapshot(&mut self) {
        let at = self.now - epoch();
        let rel = |t: Option<Instant>| t.map(|t| t - epoch());
        for id in std::mem::take(&mut self.touched) {
            let Some(w) = self.watched.get_mut(&id) else {
                continue;
            };
            let rows: Vec<StatusRow> = self
                .client
                .trackers(id)
                .map(|t| StatusRow {
                    id: t.id,
                    state: t.state,
                    failures: t.failures,
                    last_announce: rel(t.last_announce),
                    next_announce: rel(t.next_announce),
                })
                .collect();
            if rows != w.rows {
                w.rows.clone_from(&rows);
                w.log.records.push(Record::Status { at, rows });
            }
        }
    }

    /// Adds torrent `n` with these tiers.
    pub fn add(&mut self, n: u32, tiers: Vec<Vec<TrackerUrl>>) -> TorrentId {
        let torrent = Torrent {
            info_hash: hash_of(n),
            peer_id: PeerId(*b"-BT0001-simulation01"),
            port: 6881,
            progress: Progress {
                left: 1,
                ..Progress::default()
            },
            key: None,
        };
        let id = self.client.add(self.now, torrent, tiers).unwrap();
        self.hashes.insert(id, hash_of(n));
        self.tally.insert(id, Tally::default());
        self.drain();
        id
    }

    /// Torrents answered at least `n` times with `started`.
    pub fn torrents_started(&self, n: usize) -> usize {
        self.started_counts
            .get(n.wrapping_sub(1))
            .copied()
            .unwrap_or(0)
    }

    /// Torrents answered at least `n` times without an event.
    pub fn torrents_reannounced(&self, n: usize) -> usize {
        self.regular_counts
            .get(n.wrapping_sub(1))
            .copied()
            .unwrap_or(0)
    }

    pub fn tally(&self, id: TorrentId) -> Tally {
        self.tally.get(&id).copied().unwrap_or_default()
    }

    /// The drain rule: DNS queries, datagrams, HTTP requests, events.
    pub fn drain(&mut self) {
        while let Some(query) = self.client.poll_dns_query() {
            self.dns.ask(self.now, epoch(), &self.dns_config, query);
        }
        let mut buf = Vec::new();
        while let Some(t) = self.client.poll_transmit(&mut buf) {
            let bytes = buf[..t.len].to_vec();
            let to = t.destination;
            if self.dns.internal_answers.contains(&to.ip()) {
                self.violations.push(format!(
                    "a datagram went to {to}, an internal address a public name resolved to"
                ));
            }
            self.check_txid(t.request, &bytes);
            if !self.watched.is_empty() {
                let at = self.now - epoch();
                self.log_request(t.origin, t.request, |_, tracker| Record::Sent {
                    at,
                    request: t.request,
                    tracker,
                    to: Some(to),
                    bytes: bytes.clone(),
                });
            }
            let previous = self.udp_outstanding.insert(t.request, to);
            if previous != Some(to) {
                // A request that moved on to the tracker's next address left the first.
                if let Some(old) = previous
                    && let Some(n) = self.outstanding_per_tracker.get_mut(&old)
                {
                    *n = n.saturating_sub(1);
                }
                let n = self.outstanding_per_tracker.entry(to).or_default();
                *n += 1;
                let n = *n;
                if n > self.peak_in_flight.get(&to).copied().unwrap_or(0) {
                    // A new peak: first forget requests that ended without an event this
                    // simulation saw (an outcome superseded in the queue, a scrape dropped at
                    // stop), so only requests the client still has in flight count.
                    let client = &self.client;
                    self.udp_outstanding
                        .retain(|&r, _| client.request_url(r).is_some());
                    let n = self.udp_outstanding.values().filter(|&&d| d == to).count();
                    self.outstanding_per_tracker.insert(to, n);
                    let peak = self.peak_in_flight.entry(to).or_default();
                    *peak = (*peak).max(n);
                }
            }
            if t.len == 16 {
                self.connects_sent.entry(to).or_default().push(self.now);
            }
            if t.len >= 98 {
                let hash = InfoHash(bytes[16..36].try_into().unwrap());
                let event = u32::from_be_bytes(bytes[80..84].try_into().unwrap());
                if self.keep_sent {
                    self.announces.push((self.now, to, event, hash));
                }
                match event {
                    2 => {
                        let sent = self.started_sent.entry(hash).or_default();
                        if !sent.contains(&to) {
                            sent.push(to);
                        }
                    }
                    3 => {
                        self.stopped_sent.insert((hash, to));
                        self.last_stopped_sent = Some(self.now);
                    }
                    _ => {}
                }
            }
            if self.keep_sent {
                self.sent.push((self.now, to, t.len));
            }
            let d = Datagram {
                from: self.addr,
                to,
                bytes,
                spoofed: false,
            };
            self.net.send(self.now, &self.link, &mut self.rng, d);
        }
        while let Some(request) = self.client.poll_http_request() {
            self.in_flight.insert(request.id);
            if !self.watched.is_empty() {
                let at = self.now - epoch();
                self.log_request(request.origin, request.id, |torrent, tracker| {
                    // A batch's request, as the member's own.
                    let mut request = request.clone();
                    request.origin = Origin::Tracker { torrent, tracker };
                    Record::HttpSent { at, request }
                });
            }
            let Some(handler) = self.http.as_mut() else {
                continue;
            };
            let response = handler(&request);
            self.http_live += 1;
            self.peak_http = self.peak_http.max(self.http_live);
            self.seq += 1;
            let at = self.now + Duration::from_millis(10);
            self.http_queue
                .insert((at, self.seq), (request.id, response));
        }
        while let Some((id, event)) = self.client.poll_event() {
            if let Some(w) = self.watched.get_mut(&id) {
                let at = self.now - epoch();
                if event == Event::Stopped {
                    w.log.stopped_at = Some(at);
                }
                w.log.records.push(Record::Event {
                    at,
                    event: event.clone(),
                });
                self.touched.push(id);
            }
            self.on_event(id, event);
        }
        if !self.touched.is_empty() {
            self.snapshot();
        }
    }

    /// Runs until `done` holds or nothing is left to do before `limit`. Returns whether `done`
    /// held.
    pub fn run_until(&mut self, limit: Instant, done: impl Fn(&Self) -> bool) -> bool {
        for _ in 0..100_000_000u64 {
            if done(self) {
                return true;
            }
            let next = [
                self.client.poll_timeout(),
                self.net.next_delivery(),
                self.http_queue.keys().next().map(|&(at, _)| at),
                self.dns.next_answer(),
                self.commands.keys().next().map(|&(at, _)| at),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|&n| n <= limit) else {
                return done(self);
            };
            self.now = self.now.max(next);
            self.step();
        }
        false
    }

    /// Delivers everything due now and fires the client's timers.
    fn step(&mut self) {
        let now = self.now;
        self.run_commands();
        while let Some((id, result)) = self.dns.pop_due(now) {
            self.client.handle_dns_response(now, id, result);
            self.drain();
        }
        while let Some(d) = self.net.pop_due(now) {
            if d.to == self.addr {
                let used = self.client.handle_datagram(now, d.from, &d.bytes);
                if used && d.bytes.len() >= 8 {
                    let txid = u32::from_be_bytes(d.bytes[4..8].try_into().unwrap());
                    if let Some(&request) = self.holder.get(&txid) {
                        self.answered(request);
                    }
                }
                self.drain();
            } else if let Some(t) = self.trackers.iter_mut().find(|t| t.addr == d.to)
                && let Some(reply) = t.handle(now, d.from, &d.bytes)
            {
                let back = Datagram {
                    from: self.reply_from.get(&t.addr).copied().unwrap_or(t.addr),
                    to: d.from,
                    bytes: reply,
                    spoofed: false,
                };
                self.net.send(now, &self.link, &mut self.rng, back);
            }
        }
        while let Some((&key, _)) = self.http_queue.first_key_value() {
            if key.0 > now {
                break;
            }
            let (_, (id, response)) = self.http_queue.pop_first().unwrap();
            self.http_live -= 1;
            self.client.handle_http_response(now, id, &response);
            self.drain();
        }
        if self.client.poll_timeout().is_some_and(|due| due <= now) {
            self.client.handle_timeout(now);
            self.drain();
            if let Some(due) = self.client.poll_timeout()
                && due <= now
            {
                self.violations.push(format!(
                    "poll_timeout {due:?} not after now after handle_timeout"
                ));
            }
        }
    }

    fn check_txid(&mut self, request: RequestId, bytes: &[u8]) {
        let txid = u32::from_be_bytes(bytes[12..16].try_into().unwrap());
        if let Some(&other) = self.holder.get(&txid)
            && other != request
            && self.in_flight.contains(&other)
            && self.txid_of.get(&other) == Some(&txid)
        {
            self.violations.push(format!(
                "transaction id {txid:#x} sent for {request:?} while {other:?} had it in flight"
            ));
        }
        if let Some(old) = self.txid_of.insert(request, txid)
            && old != txid
        {
            self.holder.remove(&old);
        }
        self.holder.insert(txid, request);
        self.in_flight.insert(request);
    }

    /// A UDP request's datagram in flight was answered (or the request ended).
    fn answered(&mut self, id: RequestId) {
        if let Some(to) = self.udp_outstanding.remove(&id)
            && let Some(n) = self.outstanding_per_tracker.get_mut(&to)
        {
            // (Counts are recounted at each new peak; one may be stale until then.)
            *n = n.saturating_sub(1);
        }
    }

    fn ended(&mut self, id: RequestId) {
        self.answered(id);
        self.in_flight.remove(&id);
        if let Some(txid) = self.txid_of.remove(&id)
            && self.holder.get(&txid) == Some(&id)
        {
            self.holder.remove(&txid);
        }
    }

    fn on_event(&mut self, torrent: TorrentId, event: Event) {
        let Some(&hash) = self.hashes.get(&torrent) else {
            self.violations
                .push(format!("an event for unknown torrent {torrent:?}"));
            return;
        };
        let tally = self.tally.entry(torrent).or_default();
        if tally.done {
            self.violations
                .push(format!("{torrent:?} got {event:?} after Stopped"));
        }
        match event {
            Event::Announced(a) => {
                let mut peers = a.peers.clone();
                peers.sort();
                let mut want = peers_for(&hash);
                want.sort();
                if a.event == AnnounceEvent::Stopped {
                    tally.stopped += 1;
                } else if peers != want {
                    tally.wrong_peers += 1;
                } else if a.event == AnnounceEvent::Started {
                    tally.started += 1;
                    bump(&mut self.started_counts, tally.started);
                } else {
                    tally.regular += 1;
                    bump(&mut self.regular_counts, tally.regular);
                }
                self.ended(a.id);
            }
            Event::Scraped(s) => {
                if s.seeders == Some(seeders_for(&hash)) {
                    tally.scraped += 1;
                } else {
                    tally.wrong_scrape += 1;
                }
                self.ended(s.id);
            }
            Event::Failed(f) => {
                tally.failed += 1;
                self.ended(f.id);
            }
            Event::Stopped => {
                tally.done = true;
                self.done_count += 1;
                // Every tracker this torrent was sent `started` got its `stopped` first.
                for &to in self.started_sent.get(&hash).into_iter().flatten() {
                    if !self.stopped_sent.contains(&(hash, to)) {
                        self.violations.push(format!(
                            "{torrent:?} stopped before a stopped went to {to}, which was sent started"
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    /// The tracker URL of a torrent's tracker (for messages).
    pub fn url(&self, torrent: TorrentId, tracker: TrackerId) -> String {
        self.client
            .tracker_url(torrent, tracker)
            .map_or("?".into(), |u| u.to_string())
    }
}

/// The most instants within any 60-second window (they must be in order).
pub fn max_per_minute(times: &[Instant]) -> usize {
    let mut most = 0;
    let mut start = 0;
    for (end, &at) in times.iter().enumerate() {
        while at.duration_since(times[start]) >= Duration::from_secs(60) {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

/// Counts one more torrent that reached `n` answers.
fn bump(counts: &mut Vec<usize>, n: u32) {
    let k = n as usize - 1;
    if counts.len() <= k {
        counts.resize(k + 1, 0);
    }
    counts[k] += 1;
}
