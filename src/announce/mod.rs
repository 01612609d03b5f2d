//! The Announce state machine: one torrent announcing to its trackers.
//!
//! See [`Announce`] for the method groups and the drain rule.

mod config;
mod event;
mod http_exchange;
mod outcome;
mod policy;
mod schedule;
mod tracker;
mod udp_exchange;
mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::{CryptoRng, Rng, SeedableRng};

pub use config::{Config, ConfigError, Progress, TierMode, Torrent};
pub use event::{
    Announced, Cause, Event, Failed, HttpRequest, RequestId, RequestKind, Scraped, TrackerId,
    Transmit, TransportError,
};
pub use outcome::MAX_TRACKER_ID_LEN;
pub use policy::is_internal_address;
use policy::is_internal_tracker;

use self::config::check_tracker;
use self::http_exchange::HttpExchange;
use self::outcome::{Outcome, Retry, Step, drop_self};
use self::schedule::{backoff, intervals, later};
use self::tracker::{Exchange, Io, Lane, LaneState, Members, SLOTS, Tracker, walk};
use self::udp_exchange::UdpExchange;
use self::wire::RequestParams;
use crate::http::HttpResponse;
use crate::udp::{MAX_REQUEST_LEN, Reply, peek_transaction_id};
use crate::{AddressFamily, AnnounceEvent, Scheme, TrackerUrl};

/// One torrent's announces to its trackers (BEP 12 tiers; one URL is one tier of one), as a
/// sans-IO state machine.
///
/// The machine never reads a clock, never does I/O and never draws randomness of its own: time
/// comes in as `now` on every call that changes state, bytes come in through the `handle_*` methods
/// and go out through the `poll_*` drains, and randomness (transaction ids, the `key`, tier
/// shuffles, jitter) comes from the RNG given to [`new`](Self::new).
///
/// # Method groups
///
/// - **Construct**: [`new`](Self::new) is the only method that returns an error (bad parameters).
/// - **Inputs** (never fail, never panic; anything unexpected is ignored or becomes an event):
///   [`handle_datagram`](Self::handle_datagram), [`handle_http_response`](Self::handle_http_response),
///   [`handle_transport_error`](Self::handle_transport_error), [`handle_timeout`](Self::handle_timeout)
///   (early or repeated calls do nothing).
/// - **Commands** (only queue work): [`set_progress`](Self::set_progress),
///   [`completed`](Self::completed), [`announce_now`](Self::announce_now),
///   [`scrape`](Self::scrape), [`stop`](Self::stop).
/// - **Drains** (pure; they neither read nor advance time):
///   [`poll_transmit`](Self::poll_transmit), [`poll_http_request`](Self::poll_http_request),
///   [`poll_timeout`](Self::poll_timeout), [`poll_event`](Self::poll_event).
/// - **Getters**: [`tracker_url`](Self::tracker_url), [`tiers`](Self::tiers), [`key`](Self::key),
///   [`is_stopped`](Self::is_stopped), [`events_dropped`](Self::events_dropped).
///
/// # The drain rule
///
/// After construction and after every input or command, drain in this order until each returns
/// `None`: `poll_transmit` (send each datagram), `poll_http_request` (start each request),
/// `poll_timeout` (arm one timer; call `handle_timeout` when it fires), `poll_event`.
///
/// ```
/// use std::time::Instant;
/// use bt_tracker::announce::{Announce, Config, Progress, Torrent};
/// use bt_tracker::{InfoHash, PeerId, TrackerUrl};
///
/// let torrent = Torrent {
///     info_hash: InfoHash([1; 20]),
///     peer_id: PeerId(*b"-BT0001-123456789012"),
///     port: 6881,
///     progress: Progress { left: 1000, ..Progress::default() },
///     key: None,
/// };
/// let tiers = vec![vec![TrackerUrl::parse("udp://127.0.0.1:6969/announce").unwrap()]];
/// // Seed from a CSPRNG in production (OsRng, getrandom); a fixed seed makes runs reproducible.
/// let mut rng = rand_chacha::ChaCha12Rng::from_seed([7; 32]);
/// # use rand_core::SeedableRng;
/// let now = Instant::now();
/// let mut announce = Announce::new(Config::default(), torrent, tiers, &mut rng, now).unwrap();
///
/// let mut buf = [0u8; bt_tracker::udp::MAX_REQUEST_LEN];
/// let transmit = announce.poll_transmit(&mut buf).unwrap(); // the connect request
/// assert_eq!(transmit.len, 16);
/// assert_eq!(transmit.destination, Some("127.0.0.1:6969".parse().unwrap()));
/// assert!(announce.poll_transmit(&mut buf).is_none());
/// assert_eq!(announce.poll_timeout(), Some(now + std::time::Duration::from_secs(15)));
/// ```
#[derive(Debug)]
pub struct Announce {
    cfg: Config,
    torrent: Torrent,
    key: u32,
    trackers: Vec<Tracker>,
    /// Tracker indices per tier, in the current order (shuffled once, then move-to-front).
    tiers: Vec<Vec<usize>>,
    lanes: Vec<Lane>,
    rng: ChaCha12Rng,
    events: VecDeque<Event>,
    events_dropped: u64,
    next_request: u64,
    completed: bool,
    /// The latest `now` seen: time never goes backwards inside the machine.
    now: Instant,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Stopping { deadline: Instant },
    Stopped,
}

impl Announce {
    /// Creates the machine and queues the first announce (`started`) per the tier mode.
    ///
    /// `tiers` is the BEP 12 announce list: empty tiers and repeated URLs are dropped, and each
    /// tier is shuffled once with the RNG. `rng` seeds the machine's own generator (ChaCha12): use a
    /// cryptographically secure one in production, since transaction ids and the `key` must be
    /// unguessable; a seeded one makes runs reproducible.
    ///
    /// Fails when there is no tracker, too many, a tracker URL that cannot be announced to (an HTTP
    /// URL that pre-fills `info_hash` and the like; UDP URL data over 1024 bytes), or a knob out of
    /// range.
    pub fn new<R: CryptoRng + ?Sized>(
        config: Config,
        torrent: Torrent,
        tiers: Vec<Vec<TrackerUrl>>,
        rng: &mut R,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut trackers: Vec<Tracker> = Vec::new();
        let mut tier_lists: Vec<Vec<usize>> = Vec::new();
        for tier in tiers {
            let mut list = Vec::new();
            for url in tier {
                if trackers.iter().any(|t| t.url.as_str() == url.as_str()) {
                    continue;
                }
                check_tracker(&url)?;
                list.push(trackers.len());
                trackers.push(Tracker::new(url, tier_lists.len()));
            }
            if !list.is_empty() {
                tier_lists.push(list);
            }
        }
        if trackers.is_empty() {
            return Err(ConfigError::NoTrackers);
        }
        if trackers.len() > config.max_trackers {
            return Err(ConfigError::TooManyTrackers {
                count: trackers.len(),
                max: config.max_trackers,
            });
        }
        let mut rng = ChaCha12Rng::from_rng(rng);
        for tier in &mut tier_lists {
            for i in (1..tier.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                tier.swap(i, j);
            }
        }
        let key = torrent.key.unwrap_or_else(|| rng.next_u32());
        let idle = LaneState::Idle { due: now };
        let lane = |members| Lane {
            members,
            state: idle,
            failures: 0,
        };
        let lanes = match config.tier_mode {
            TierMode::OneTracker => vec![lane(Members::Tiers(0..tier_lists.len()))],
            TierMode::AllTiers => (0..tier_lists.len())
                .map(|t| lane(Members::Tiers(t..t + 1)))
                .collect(),
            TierMode::AllTrackers => (0..trackers.len()).map(|i| lane(Members::One(i))).collect(),
        };
        let mut announce = Announce {
            cfg: config,
            torrent,
            key,
            trackers,
            tiers: tier_lists,
            lanes,
            rng,
            events: VecDeque::new(),
            events_dropped: 0,
            next_request: 0,
            completed: false,
            now,
            phase: Phase::Running,
        };
        announce.drive(now);
        Ok(announce)
    }

    // ----- inputs -----

    /// A datagram received from `from`. Returns `true` when it answered a request in flight and was
    /// used; anything else (another source, an unknown or stale transaction id, an unexpected
    /// action, a duplicate, a malformed datagram) is ignored and changes nothing.
    ///
    /// Give the whole datagram: receive into a buffer of at least
    /// [`udp::announce_reply_len`](crate::udp::announce_reply_len)`(num_want, family)` bytes, or a
    /// large reply is cut short.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some(txid) = peek_transaction_id(datagram) else {
            return false;
        };
        let Some((i, kind)) = self.find(|t, ex| match &ex.io {
            Io::Udp(u) => u.txid == txid && !u.needs_txid && t.sent_from(from),
            Io::Http(_) => false,
        }) else {
            return false;
        };
        let now = self.advance(now);
        let reply = Reply::parse(datagram, AddressFamily::of(&from));
        let (slot, conn, _) = self.trackers[i].split(kind);
        let Some(Exchange {
            io: Io::Udp(udp), ..
        }) = slot
        else {
            return false;
        };
        let step = udp.on_reply(now, &self.cfg, reply, kind, conn);
        self.apply(i, kind, step, now)
    }

    /// The caller's response to HTTP request `id` (any status; redirects included, unfollowed).
    /// Returns `true` when `id` was in flight; a response to a stale, timed-out or unknown id is
    /// ignored.
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        response: &HttpResponse,
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some((i, kind)) = self.find(|_, ex| matches!(&ex.io, Io::Http(h) if h.id == id)) else {
            return false;
        };
        let now = self.advance(now);
        let info_hash = self.torrent.info_hash;
        let Some(Exchange {
            io: Io::Http(http), ..
        }) = self.trackers[i].slot(kind)
        else {
            return false;
        };
        let step = http.on_response(&self.cfg, response, kind, &info_hash);
        if let Step::Continue = step {
            // A redirect: the next hop gets its own id, so answers to this one become stale.
            let next = self.request_id();
            if let Some(Exchange {
                io: Io::Http(http), ..
            }) = self.trackers[i].slot(kind)
            {
                http.id = next;
            }
        }
        self.apply(i, kind, step, now)
    }

    /// The caller could not carry out request `id` (DNS failure, connection refused or reset, TLS
    /// error, unreadable response). The request fails now and the machine fails over. Returns
    /// `true` when `id` was in flight.
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        id: RequestId,
        error: TransportError,
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some((i, kind)) = self.find(|_, ex| ex.current_id() == id) else {
            return false;
        };
        let now = self.advance(now);
        let step = Step::Done(Outcome::failed(Cause::Transport(error)));
        self.apply(i, kind, step, now)
    }

    /// Fires the timers due at `now`: retransmissions, request deadlines, scheduled announces,
    /// the shutdown deadline. Calls before the deadline from [`poll_timeout`](Self::poll_timeout)
    /// do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.drive(now);
    }

    // ----- commands -----

    /// Updates the counters sent with the next announces.
    pub fn set_progress(&mut self, progress: Progress) {
        self.torrent.progress = progress;
    }

    /// The download finished: every tracker that got `started` gets `completed` now (once, even if
    /// this is called again), without waiting for `min interval`.
    pub fn completed(&mut self, now: Instant) {
        if self.phase != Phase::Running || self.completed {
            return;
        }
        self.completed = true;
        for t in &mut self.trackers {
            let starting = matches!(
                t.announce,
                Some(Exchange {
                    kind: RequestKind::Announce(AnnounceEvent::Started),
                    ..
                })
            );
            t.completed_pending = t.started || starting;
        }
        self.announce_now(now);
    }

    /// Re-announces now on every lane that is waiting, still honouring each tracker's
    /// `min interval` for announces without an event.
    pub fn announce_now(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = self.advance(now);
        for lane in &mut self.lanes {
            if let LaneState::Idle { due } = &mut lane.state {
                *due = (*due).min(now);
            }
        }
        self.drive(now);
    }

    /// Scrapes this torrent on every tracker that is not disabled and not already scraping. HTTP
    /// trackers without a scrape URL answer with a [`Cause::ScrapeUnsupported`] failure.
    pub fn scrape(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = self.advance(now);
        for i in 0..self.trackers.len() {
            let t = &self.trackers[i];
            if !t.disabled && t.scrape.is_none() {
                self.start_exchange(i, RequestKind::Scrape, None, now);
            }
        }
        self.drive(now);
    }

    /// Shuts down: requests in flight are cancelled, every tracker that acknowledged `started` gets
    /// one `stopped` (num_want 0), and within [`Config::stop_timeout`] the machine emits
    /// [`Event::Stopped`], even when every tracker is dead. After that, nothing is sent and
    /// `poll_timeout` is `None`.
    pub fn stop(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = self.advance(now);
        let deadline = later(now, self.cfg.stop_timeout);
        self.phase = Phase::Stopping { deadline };
        for lane in &mut self.lanes {
            lane.state = LaneState::Dead;
        }
        for i in 0..self.trackers.len() {
            for kind in [
                RequestKind::Scrape,
                RequestKind::Announce(AnnounceEvent::None),
            ] {
                if let Some(ex) = self.trackers[i].slot(kind).take() {
                    self.fail_event(i, ex.id, ex.kind, Cause::Cancelled);
                }
            }
            let t = &self.trackers[i];
            if t.started && !t.disabled {
                let stopped = RequestKind::Announce(AnnounceEvent::Stopped);
                self.start_exchange(i, stopped, None, now);
            }
        }
        self.drive(now);
    }

    // ----- drains -----

    /// Writes the next datagram to send into `buf` and says where it goes.
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut [u8; MAX_REQUEST_LEN]) -> Option<Transmit> {
        if self.phase == Phase::Stopped {
            return None;
        }
        for (i, t) in self.trackers.iter_mut().enumerate() {
            for kind in SLOTS {
                let (slot, _, url) = t.split(kind);
                let Some(ex) = slot else { continue };
                let Io::Udp(udp) = &mut ex.io else { continue };
                let params =
                    RequestParams::new(&self.cfg, &self.torrent, self.key, url, None, ex.kind);
                if let Some(len) = udp.write(buf, &params) {
                    return Some(Transmit {
                        request: ex.id,
                        tracker: TrackerId(i as u16),
                        destination: url.socket_addr(),
                        len,
                    });
                }
            }
        }
        None
    }

    /// The next HTTP request to make.
    #[must_use]
    pub fn poll_http_request(&mut self) -> Option<HttpRequest> {
        if self.phase == Phase::Stopped {
            return None;
        }
        for (i, t) in self.trackers.iter_mut().enumerate() {
            for ex in t.exchanges_mut() {
                if let Io::Http(http) = &mut ex.io
                    && let Some(request) = http.request(TrackerId(i as u16), ex.kind)
                {
                    return Some(request);
                }
            }
        }
        None
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next. After a full drain it is `None`
    /// or later than the last `now` given; `None` once stopped (or when every tracker is disabled
    /// and nothing is in flight).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let exchanges = self
            .trackers
            .iter()
            .flat_map(Tracker::exchanges)
            .map(Exchange::due);
        let lanes = self.lanes.iter().filter_map(|l| match l.state {
            LaneState::Idle { due } => Some(due),
            _ => None,
        });
        match self.phase {
            Phase::Stopped => None,
            Phase::Stopping { deadline } => exchanges.chain([deadline]).min(),
            Phase::Running => exchanges.chain(lanes).min(),
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- getters -----

    /// The URL of a tracker (`None` for an id this machine does not have).
    pub fn tracker_url(&self, tracker: TrackerId) -> Option<&TrackerUrl> {
        self.trackers.get(usize::from(tracker.0)).map(|t| &t.url)
    }

    /// The tiers in their current order (shuffled once at construction, then the tracker that
    /// answered moved to the front of its tier).
    pub fn tiers(&self) -> impl Iterator<Item = Vec<TrackerId>> + '_ {
        self.tiers
            .iter()
            .map(|tier| tier.iter().map(|&i| TrackerId(i as u16)).collect())
    }

    /// The `key` sent to every tracker (store it to reuse across restarts).
    pub fn key(&self) -> u32 {
        self.key
    }

    /// [`Event::Stopped`] was emitted: the machine is finished.
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Events dropped because more than [`Config::max_queued_events`] were waiting to be drained.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    // ----- internals -----

    /// Moves the machine's clock to `now` unless that is in the past, and returns the clock.
    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    /// The tracker and slot of the exchange in flight that `pred` picks.
    fn find(&self, pred: impl Fn(&Tracker, &Exchange) -> bool) -> Option<(usize, RequestKind)> {
        self.trackers
            .iter()
            .enumerate()
            .find_map(|(i, t)| t.exchanges().find(|ex| pred(t, ex)).map(|ex| (i, ex.kind)))
    }

    /// A transaction id that no exchange of this machine has in flight (and never 0).
    fn unique_txid(&mut self) -> u32 {
        let mut txid = self.rng.next_u32();
        for _ in 0..16 {
            let taken = txid == 0
                || self
                    .find(|_, ex| matches!(&ex.io, Io::Udp(u) if u.txid == txid))
                    .is_some();
            if !taken {
                break;
            }
            txid = self.rng.next_u32();
        }
        txid
    }

    /// Gives fresh transaction ids to UDP exchanges that started a new request.
    fn refresh_txids(&mut self) {
        while let Some((i, kind)) = self.find(|_, ex| matches!(&ex.io, Io::Udp(u) if u.needs_txid))
        {
            let txid = self.unique_txid();
            if let Some(Exchange { io: Io::Udp(u), .. }) = self.trackers[i].slot(kind) {
                u.txid = txid;
                u.needs_txid = false;
            }
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.cfg.max_queued_events {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    fn fail_event(&mut self, i: usize, id: RequestId, request: RequestKind, cause: Cause) {
        self.push_event(Event::Failed(Failed {
            id,
            tracker: TrackerId(i as u16),
            request,
            cause,
        }));
    }

    /// Applies what a reply did to exchange `kind` of tracker `i`.
    fn apply(&mut self, i: usize, kind: RequestKind, step: Step, now: Instant) -> bool {
        match step {
            Step::Ignored => return false,
            Step::Continue => {}
            Step::Done(outcome) => {
                if let Some(ex) = self.trackers[i].slot(kind).take() {
                    self.finish(i, ex, outcome, now);
                }
            }
        }
        self.refresh_txids();
        self.drive(now);
        true
    }

    /// Starts an exchange with tracker `i` (its slot must be free).
    fn start_exchange(&mut self, i: usize, kind: RequestKind, lane: Option<usize>, now: Instant) {
        let id = self.request_id();
        let io = match self.trackers[i].url.scheme() {
            Scheme::Udp => {
                let txid = self.unique_txid();
                Io::Udp(UdpExchange::start(
                    now,
                    &self.cfg,
                    &self.trackers[i].conn,
                    txid,
                ))
            }
            Scheme::Http | Scheme::Https => {
                let t = &self.trackers[i];
                let tracker_id = t.tracker_id.as_deref();
                let params = RequestParams::new(
                    &self.cfg,
                    &self.torrent,
                    self.key,
                    &t.url,
                    tracker_id,
                    kind,
                );
                let Some(url) = params.http_url() else {
                    self.fail_event(i, id, kind, Cause::ScrapeUnsupported);
                    return;
                };
                let deadline = match self.phase {
                    Phase::Stopping { deadline } => deadline,
                    _ => later(now, self.cfg.http_timeout),
                };
                let internal_ok = self.cfg.allow_internal_redirects || is_internal_tracker(&t.url);
                Io::Http(HttpExchange::start(id, url, deadline, internal_ok))
            }
        };
        *self.trackers[i].slot(kind) = Some(Exchange { id, kind, lane, io });
    }

    /// Fires every timer due at `now`, then starts the rounds that are due.
    fn drive(&mut self, now: Instant) {
        let now = self.advance(now);
        if let Phase::Stopping { deadline } = self.phase
            && now >= deadline
        {
            for i in 0..self.trackers.len() {
                if let Some(ex) = self.trackers[i].announce.take() {
                    self.fail_event(i, ex.id, ex.kind, Cause::Timeout);
                }
            }
        }
        for i in 0..self.trackers.len() {
            for kind in SLOTS {
                let (slot, conn, _) = self.trackers[i].split(kind);
                let Some(ex) = slot.as_mut().filter(|ex| ex.due() <= now) else {
                    continue;
                };
                let outcome = match &mut ex.io {
                    Io::Udp(udp) => udp.on_timer(now, &self.cfg, conn),
                    Io::Http(_) => Some(Outcome::failed(Cause::Timeout)),
                };
                if let Some(outcome) = outcome
                    && let Some(ex) = slot.take()
                {
                    self.finish(i, ex, outcome, now);
                }
            }
        }
        self.refresh_txids();
        if self.phase == Phase::Running {
            for l in 0..self.lanes.len() {
                if matches!(self.lanes[l].state, LaneState::Idle { due } if due <= now) {
                    self.walk_lane(l, 0, now);
                }
            }
        }
        self.finish_stop_if_done();
    }

    fn finish_stop_if_done(&mut self) {
        if let Phase::Stopping { .. } = self.phase
            && self.trackers.iter().all(|t| t.announce.is_none())
        {
            self.phase = Phase::Stopped;
            for t in &mut self.trackers {
                t.scrape = None;
            }
            self.push_event(Event::Stopped);
        }
    }

    /// Continues lane `l`'s round at position `from` of its walk: the first available tracker gets
    /// the announce; when none is left the round failed and the lane backs off.
    fn walk_lane(&mut self, l: usize, from: usize, now: Instant) {
        let members = self.lanes[l].members.clone();
        let next = walk(&members, &self.tiers)
            .enumerate()
            .skip(from)
            .find(|&(_, i)| self.trackers[i].available(now));
        if let Some((pos, i)) = next {
            let t = &self.trackers[i];
            let event = t.next_event();
            if let Some(not_before) = t.min_next.filter(|&m| m > now)
                && event == AnnounceEvent::None
            {
                self.lanes[l].state = LaneState::Idle { due: not_before };
                return;
            }
            self.start_exchange(i, RequestKind::Announce(event), Some(l), now);
            self.lanes[l].state = LaneState::Busy { pos };
            return;
        }
        // The round failed. When every tracker that is not disabled asked for a pause, wait at
        // least until the first of them may be contacted; with none left, the lane is dead.
        let first_free = walk(&members, &self.tiers)
            .filter(|&i| !self.trackers[i].disabled)
            .map(|i| self.trackers[i].retry_after.unwrap_or(now))
            .min();
        let Some(first_free) = first_free else {
            self.lanes[l].state = LaneState::Dead;
            return;
        };
        let lane = &mut self.lanes[l];
        lane.failures = lane.failures.saturating_add(1);
        let due = later(now, backoff(&self.cfg, lane.failures, &mut self.rng)).max(first_free);
        self.lanes[l].state = LaneState::Idle { due };
    }

    /// Applies the end of an exchange: event state, cool-downs, the event, and the lane's next step.
    fn finish(&mut self, i: usize, ex: Exchange, outcome: Outcome, now: Instant) {
        let id = TrackerId(i as u16);
        match outcome {
            Outcome::Announced(reply) => {
                let (interval, min_interval) =
                    intervals(&self.cfg, reply.interval, reply.min_interval);
                let t = &mut self.trackers[i];
                let event = match ex.kind {
                    RequestKind::Announce(e) => e,
                    RequestKind::Scrape => AnnounceEvent::None,
                };
                match event {
                    AnnounceEvent::Started => t.started = true,
                    AnnounceEvent::Completed => t.completed_pending = false,
                    AnnounceEvent::Stopped => t.started = false,
                    _ => {}
                }
                if let Some(tid) = reply.tracker_id {
                    t.tracker_id = Some(tid.into_boxed_slice());
                }
                t.retry_after = None;
                t.min_next = Some(later(now, min_interval));
                let owes_event = t.next_event() != AnnounceEvent::None;
                let tier = t.tier;
                let mut peers = reply.peers;
                drop_self(&mut peers, self.torrent.port, &t.url, reply.external_ip);
                self.push_event(Event::Announced(Announced {
                    id: ex.id,
                    tracker: id,
                    event,
                    peers,
                    interval,
                    min_interval,
                    seeders: reply.seeders,
                    leechers: reply.leechers,
                    warning: reply.warning,
                    external_ip: reply.external_ip,
                }));
                if let Some(l) = ex.lane {
                    // BEP 12: the tracker that answered goes to the front of its tier.
                    if let Some(pos) = self.tiers[tier].iter().position(|&x| x == i) {
                        self.tiers[tier][..=pos].rotate_right(1);
                    }
                    let lane = &mut self.lanes[l];
                    lane.failures = 0;
                    let due = if owes_event {
                        now
                    } else {
                        later(now, interval)
                    };
                    lane.state = LaneState::Idle { due };
                }
            }
            Outcome::Scraped {
                seeders,
                completed,
                leechers,
            } => self.push_event(Event::Scraped(Scraped {
                id: ex.id,
                tracker: id,
                seeders,
                completed,
                leechers,
            })),
            Outcome::Failed { cause, retry } => {
                let t = &mut self.trackers[i];
                match retry {
                    Retry::Backoff => {}
                    Retry::After(d) => t.retry_after = Some(later(now, d)),
                    Retry::Never => t.disabled = true,
                }
                self.fail_event(i, ex.id, ex.kind, cause);
                if retry == Retry::Never {
                    self.push_event(Event::TrackerDisabled { tracker: id });
                }
                if let (Some(l), Phase::Running) = (ex.lane, self.phase)
                    && let LaneState::Busy { pos } = self.lanes[l].state
                {
                    self.walk_lane(l, pos + 1, now);
                }
            }
        }
    }
}
