//! What the torrents of one machine share: configuration, randomness, the clock given by the
//! caller, request ids, the endpoint table, the routes of requests in flight and the event queue.
//! An `Announce` has one torrent; a `Client` has many.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::Rng;

use super::config::Config;
use super::dns::Dns;
use super::endpoint::Endpoints;
use super::event::{Event, RequestId, TorrentId, TrackerId};
use super::events::EventQueue;
use super::outcome::ScrapeCounts;
use super::places::{Place, Slots};
use super::schedule::clock;
use super::tracker::{Exchange, Io};
use super::udp_exchange::UdpExchange;

/// Bits of a request id below the owner's slot.
const SEQ_BITS: u32 = 40;
/// The slots a request id can name (24 bits); the highest is the Client's scrape batches.
pub(crate) const SLOT_MASK: u32 = (1 << (64 - SEQ_BITS)) - 1;

/// The slot of the torrent (or [`SLOT_MASK`] for the scrape batches) that owns request `id`.
pub(crate) fn owner_slot(id: RequestId) -> u32 {
    (id.0 >> SEQ_BITS) as u32
}

/// The shared state.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) rng: ChaCha12Rng,
    /// The latest `now` seen: time never goes backwards inside the machine.
    pub(crate) now: Instant,
    next_request: u64,
    pub(crate) endpoints: Endpoints,
    /// The DNS cache and the queries in flight, shared by every torrent.
    pub(crate) dns: Dns,
    /// The HTTP requests in flight across all hosts, and those waiting for a place among them.
    pub(crate) http_all: Slots,
    /// The torrent of every UDP transaction id in flight: no two requests share one.
    pub(crate) txids: HashMap<u32, TorrentId, OwnKeys>,
    pub(crate) events: EventQueue,
    /// Torrents with a request that waited for a connect which has now been answered.
    pub(crate) woken: Vec<TorrentId>,
    /// Rows of a `Client`'s batched scrapes, for the members' tracker status.
    pub(crate) batch_scraped: Vec<(TorrentId, TrackerId, ScrapeCounts)>,
    /// Members of a `Client`'s batched scrape whose tracker refused for good (410, `retry in:
    /// never`).
    pub(crate) batch_disabled: Vec<(TorrentId, TrackerId)>,
    /// The first `now`: scrape schedules are aligned to 10 s from it, for every torrent alike.
    pub(crate) origin: Instant,
    /// A `Client` batches scrapes: scheduled ones are handed to it here instead of being sent.
    pub(crate) batched_scrapes: bool,
    /// Scheduled scrapes for the `Client` to batch: torrent, tracker, URL index, info hash.
    pub(crate) scrape_wanted: Vec<(TorrentId, TrackerId, u32, crate::InfoHash)>,
    /// The boxes of the last exchange that ended, for the next one to reuse: a re-announce round
    /// trip then allocates only its event's peer list. One of each, because the steady state
    /// ends one exchange and starts the next (a burst allocates as before), so an idle machine
    /// holds at most these two boxes.
    spare: Option<Box<Exchange>>,
    spare_udp: Option<Box<UdpExchange>>,
}

impl Ctx {
    pub(crate) fn new(cfg: Config, rng: ChaCha12Rng, now: Instant) -> Self {
        let now = clock(now);
        Ctx {
            cfg,
            rng,
            now,
            next_request: 0,
            endpoints: Endpoints::default(),
            dns: Dns::default(),
            http_all: Slots::default(),
            txids: HashMap::default(),
            events: EventQueue::default(),
            woken: Vec::new(),
            batch_scraped: Vec::new(),
            batch_disabled: Vec::new(),
            origin: now,
            batched_scrapes: false,
            scrape_wanted: Vec::new(),
            spare: None,
            spare_udp: None,
        }
    }

    /// `ex`, boxed in the spare box when there is one.
    pub(crate) fn boxed(&mut self, ex: Exchange) -> Box<Exchange> {
        match self.spare.take() {
            Some(mut b) => {
                *b = ex;
                b
            }
            None => Box::new(ex),
        }
    }

    /// `udp`, boxed in the spare box when there is one.
    pub(crate) fn boxed_udp(&mut self, udp: UdpExchange) -> Box<UdpExchange> {
        match self.spare_udp.take() {
            Some(mut b) => {
                *b = udp;
                b
            }
            None => Box::new(udp),
        }
    }

    /// An exchange that ended (already forgotten, see [`forget`](Self::forget)) leaves its boxes
    /// for the next one.
    pub(crate) fn recycle(&mut self, mut ex: Box<Exchange>) {
        if let Io::Udp(udp) = std::mem::replace(&mut ex.io, Io::Resolving(self.now)) {
            self.spare_udp = Some(udp);
        }
        self.spare = Some(ex);
    }

    /// Moves the clock to `now` unless that is in the past, and returns the clock (which stops
    /// short of the largest `Instant`: see [`clock`]).
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.at(now);
        self.now
    }

    /// The clock [`advance`](Self::advance) would move to, without moving it.
    pub(crate) fn at(&self, now: Instant) -> Instant {
        // Most inputs of a turn come at the clock's time: no need to look at the end of time.
        if now <= self.now {
            self.now
        } else {
            clock(now)
        }
    }

    /// A new request id for `owner`: its slot in the top 24 bits, a sequence number below (never
    /// repeated, so a stale id never names a later request, even in a reused slot).
    pub(crate) fn request_id(&mut self, owner: TorrentId) -> RequestId {
        self.next_request += 1;
        let slot = owner.0 & u64::from(SLOT_MASK);
        RequestId(slot << SEQ_BITS | (self.next_request & ((1 << SEQ_BITS) - 1)))
    }

    /// A transaction id that no request has in flight (and never 0).
    pub(crate) fn unique_txid(&mut self) -> u32 {
        loop {
            let txid = self.rng.next_u32();
            if txid != 0 && !self.txids.contains_key(&txid) {
                return txid;
            }
        }
    }

    /// Gives `udp` a fresh transaction id, routed to `owner`, when it started a new request.
    pub(crate) fn refresh_txid(&mut self, udp: &mut UdpExchange, owner: TorrentId) {
        if udp.needs_txid {
            self.txids.remove(&udp.txid);
            udp.txid = self.unique_txid();
            udp.needs_txid = false;
            self.txids.insert(udp.txid, owner);
        }
    }

    /// Queues an event (see [`EventQueue`] for what supersedes what).
    pub(crate) fn push_event(&mut self, torrent: TorrentId, event: Event) {
        self.events.push(torrent, event);
    }

    pub(crate) fn pop_event(&mut self) -> Option<(TorrentId, Event)> {
        self.events.pop()
    }

    /// An exchange to URL `url` is dropped (finished, cancelled, or its owner removed): its
    /// transaction id stops routing, it leaves its endpoint's queue or gives its place in the
    /// window back (the next in line are admitted and woken), and requests that joined a connect
    /// it leads wake up.
    pub(crate) fn forget(&mut self, url: u32, io: &Io) {
        self.leave(url, io, false);
    }

    /// As [`forget`](Self::forget), for an announce cancelled by `stop`: its place in the window
    /// goes to the `stopped` started next on the endpoint (call [`settle`](Self::settle) after).
    pub(crate) fn forget_for_stopped(&mut self, url: u32, io: &Io) {
        self.leave(url, io, true);
    }

    fn leave(&mut self, url: u32, io: &Io, hand_over: bool) {
        let ep = self.endpoints.endpoint(url);
        let cfg = &self.cfg;
        match io {
            // Waiting for a name: the cache wakes a torrent that no longer waits, which is harmless.
            Io::Resolving(_) => {}
            // Never sent: it leaves the queue (or gives back the place a drain gave it).
            Io::Queued(q) => {
                let udp = q.udp.is_some();
                let place = Place::Queued(q.ticket);
                ep.window
                    .leave((cfg, udp), place, None, hand_over, &mut self.woken);
                if let Some(txid) = io.txid() {
                    self.txids.remove(&txid);
                }
            }
            Io::Udp(u) => {
                let woken = &mut self.woken;
                ep.window
                    .leave((cfg, true), u.place, u.send, hand_over, woken);
                ep.abandon_connect(u.request(), woken);
                self.txids.remove(&u.txid);
            }
            Io::Http(h) => {
                let woken = &mut self.woken;
                ep.window
                    .leave((cfg, false), h.place, None, hand_over, woken);
                if let Some(global) = h.global {
                    self.http_all.leave(cfg.http_max_in_flight, global, woken);
                }
            }
        }
    }

    /// Gives back the places handed over to `stopped` announces that did not take them.
    pub(crate) fn settle(&mut self, url: u32) {
        let udp = self.endpoints.url(url).scheme() == crate::Scheme::Udp;
        let ep = self.endpoints.endpoint(url);
        ep.window.settle(&self.cfg, udp, &mut self.woken);
    }
}

/// Hashing for keys this machine picks itself (random transaction ids, sequential request ids):
/// nobody outside can choose them to collide, so one multiply replaces SipHash.
pub(crate) type OwnKeys = BuildHasherDefault<OwnKeyHasher>;

/// The hasher of [`OwnKeys`] (Fibonacci hashing, high bits spread for the table's control bytes).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OwnKeyHasher(u64);

impl Hasher for OwnKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}
