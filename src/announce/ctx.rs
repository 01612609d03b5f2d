//! What the torrents of one machine share: configuration, randomness, the clock given by the
//! caller, request ids, the endpoint table, the routes of requests in flight and the event queue.
//! An `Announce` has one torrent; a `Client` has many.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::Rng;

use super::config::Config;
use super::endpoint::Endpoints;
use super::event::{Event, RequestId, TorrentId};

/// The shared state.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) rng: ChaCha12Rng,
    /// The latest `now` seen: time never goes backwards inside the machine.
    pub(crate) now: Instant,
    next_request: u64,
    pub(crate) endpoints: Endpoints,
    /// The torrent of every UDP transaction id in flight: no two requests share one.
    pub(crate) txids: HashMap<u32, TorrentId>,
    /// The torrent of every request in flight, by the id the caller knows it by.
    pub(crate) requests: HashMap<RequestId, TorrentId>,
    events: VecDeque<(TorrentId, Event)>,
    pub(crate) events_dropped: u64,
    /// Torrents with a request that waited for a connect which has now been answered.
    pub(crate) woken: Vec<TorrentId>,
}

impl Ctx {
    pub(crate) fn new(cfg: Config, rng: ChaCha12Rng, now: Instant) -> Self {
        Ctx {
            cfg,
            rng,
            now,
            next_request: 0,
            endpoints: Endpoints::default(),
            txids: HashMap::new(),
            requests: HashMap::new(),
            events: VecDeque::new(),
            events_dropped: 0,
            woken: Vec::new(),
        }
    }

    /// Moves the clock to `now` unless that is in the past, and returns the clock.
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    pub(crate) fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
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

    /// Queues an event, dropping the oldest beyond [`Config::max_queued_events`].
    pub(crate) fn push_event(&mut self, torrent: TorrentId, event: Event) {
        if self.events.len() >= self.cfg.max_queued_events {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back((torrent, event));
    }

    pub(crate) fn pop_event(&mut self) -> Option<(TorrentId, Event)> {
        self.events.pop_front()
    }
}
