//! One torrent's announces: its trackers, tiers and lanes, driven through the shared [`Ctx`]. An
//! `Announce` is one session with a context of its own; a `Client` holds many sharing one.

use std::net::SocketAddr;
use std::time::Instant;

use rand_core::Rng;

use super::config::{Config, ConfigError, Progress, TierMode, Torrent, check_tracker};
use super::ctx::Ctx;
use super::event::{
    Announced, Cause, Event, Failed, HttpRequest, Origin, RequestId, RequestKind, Scraped,
    TorrentId, TrackerId, Transmit,
};
use super::http_exchange::HttpExchange;
use super::outcome::{Outcome, Retry, ScrapeCounts, Step, drop_self};
use super::policy::is_internal_tracker;
use super::schedule::{backoff, intervals, later};
use super::status::{TrackerState, TrackerStatus};
use super::tracker::{Exchange, Io, Lane, LaneState, Members, SLOTS, Tracker, sent_from, walk};
use super::udp_exchange::UdpExchange;
use super::window::Place;
use super::wire::RequestParams;
use crate::http::HttpResponse;
use crate::udp::{Reply, peek_transaction_id};
use crate::{AddressFamily, AnnounceEvent, Scheme, TrackerUrl};

const STARTED: RequestKind = RequestKind::Announce(AnnounceEvent::Started);
const STOPPED: RequestKind = RequestKind::Announce(AnnounceEvent::Stopped);
const COMPLETED: RequestKind = RequestKind::Announce(AnnounceEvent::Completed);

/// One torrent's state.
#[derive(Debug)]
pub(crate) struct Session {
    me: TorrentId,
    torrent: Torrent,
    key: u32,
    trackers: Vec<Tracker>,
    /// Tracker indices per tier, in the current order (shuffled once, then move-to-front).
    tiers: Vec<Vec<usize>>,
    lanes: Vec<Lane>,
    completed: bool,
    phase: Phase,
    /// The announces started now were asked for by the user (`announce_now`, `completed`): they
    /// go ahead of a start-up backlog in their endpoints' queues.
    urgent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Stopping { deadline: Instant },
    Stopped,
}

/// Checks a torrent's tiers: drops empty tiers and repeated URLs, and refuses an empty list, too
/// many trackers or a URL that cannot be announced to.
pub(crate) fn check_tiers(
    cfg: &Config,
    tiers: Vec<Vec<TrackerUrl>>,
) -> Result<Vec<Vec<TrackerUrl>>, ConfigError> {
    let mut seen: Vec<TrackerUrl> = Vec::new();
    let mut out = Vec::new();
    for tier in tiers {
        let mut list = Vec::new();
        for url in tier {
            if seen.iter().any(|u| u.as_str() == url.as_str()) {
                continue;
            }
            check_tracker(&url)?;
            seen.push(url.clone());
            list.push(url);
        }
        if !list.is_empty() {
            out.push(list);
        }
    }
    if seen.is_empty() {
        return Err(ConfigError::NoTrackers);
    }
    if seen.len() > cfg.max_trackers {
        return Err(ConfigError::TooManyTrackers {
            count: seen.len(),
            max: cfg.max_trackers,
        });
    }
    Ok(out)
}

impl Session {
    /// Creates the session from tiers that passed [`check_tiers`] and queues the first announce.
    pub(crate) fn new(
        ctx: &mut Ctx,
        me: TorrentId,
        torrent: Torrent,
        tiers: Vec<Vec<TrackerUrl>>,
        now: Instant,
    ) -> Self {
        let mut trackers = Vec::new();
        let mut tier_lists: Vec<Vec<usize>> = Vec::with_capacity(tiers.len());
        for (t, tier) in tiers.into_iter().enumerate() {
            let mut list = Vec::with_capacity(tier.len());
            for url in tier {
                list.push(trackers.len());
                trackers.push(Tracker::new(ctx.endpoints.intern(url), t));
            }
            for i in (1..list.len()).rev() {
                let j = (ctx.rng.next_u64() % (i as u64 + 1)) as usize;
                list.swap(i, j);
            }
            tier_lists.push(list);
        }
        // Pushed one by one: give back the growth slack (a tracker record is 168 bytes).
        trackers.shrink_to_fit();
        let key = torrent.key.unwrap_or_else(|| ctx.rng.next_u32());
        let idle = LaneState::Idle { due: now };
        let lane = |members| Lane {
            members,
            state: idle,
            failures: 0,
        };
        let lanes = match ctx.cfg.tier_mode {
            TierMode::OneTracker => vec![lane(Members::Tiers(0..tier_lists.len()))],
            TierMode::AllTiers => (0..tier_lists.len())
                .map(|t| lane(Members::Tiers(t..t + 1)))
                .collect(),
            TierMode::AllTrackers => (0..trackers.len()).map(|i| lane(Members::One(i))).collect(),
        };
        let mut session = Session {
            me,
            torrent,
            key,
            trackers,
            tiers: tier_lists,
            lanes,
            completed: false,
            phase: Phase::Running,
            urgent: false,
        };
        session.drive(ctx, now);
        session
    }

    /// Gives back what the session holds in the shared tables; call once it is stopped.
    pub(crate) fn release(&mut self, ctx: &mut Ctx) {
        for i in 0..self.trackers.len() {
            for kind in SLOTS {
                self.take(ctx, i, kind);
            }
            ctx.endpoints.endpoint(self.trackers[i].url).forget(self.me);
            ctx.endpoints.release(self.trackers[i].url);
        }
        self.trackers.clear();
    }

    // ----- inputs -----

    /// A datagram whose transaction id belongs to this torrent (or to nobody).
    pub(crate) fn handle_datagram(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some(txid) = peek_transaction_id(datagram) else {
            return false;
        };
        let Some((i, kind)) = self.find(|t, ex| match &ex.io {
            Io::Udp(u) => {
                u.txid == txid && !u.needs_txid && sent_from(ctx.endpoints.url(t.url), from)
            }
            Io::Http(_) => false,
        }) else {
            return false;
        };
        let now = ctx.advance(now);
        let reply = Reply::parse(datagram, AddressFamily::of(&from));
        let t = &mut self.trackers[i];
        let ep = ctx.endpoints.endpoint(t.url);
        let Some(Exchange {
            io: Io::Udp(udp), ..
        }) = t.slot(kind).as_deref_mut()
        else {
            return false;
        };
        let step = udp.on_reply(now, &ctx.cfg, reply, kind, ep, &mut ctx.woken);
        self.apply(ctx, i, kind, step, now)
    }

    pub(crate) fn handle_http_response(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: RequestId,
        response: &HttpResponse<'_>,
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some((i, kind)) = self.find(|_, ex| matches!(&ex.io, Io::Http(h) if h.id == id)) else {
            return false;
        };
        let now = ctx.advance(now);
        let info_hash = self.torrent.info_hash;
        let Some(Exchange {
            io: Io::Http(http), ..
        }) = self.trackers[i].slot(kind).as_deref_mut()
        else {
            return false;
        };
        let step = http.on_response(&ctx.cfg, response, kind, std::slice::from_ref(&info_hash));
        if let Step::Continue = step {
            // A redirect: the next hop gets its own id, so answers to this one become stale.
            http.id = ctx.request_id(self.me);
        }
        self.apply(ctx, i, kind, step, now)
    }

    pub(crate) fn handle_transport_error(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: RequestId,
        error: super::event::TransportError,
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some((i, kind)) = self.find(|_, ex| ex.current_id() == id) else {
            return false;
        };
        let now = ctx.advance(now);
        // A `started` that provably never reached the tracker leaves nothing to stop there.
        let t = &mut self.trackers[i];
        if t.slot(kind)
            .as_deref()
            .is_some_and(|ex| ex.owes_from_here && ex.never_delivered(error))
        {
            t.started_sent = false;
        }
        let step = Step::Done(Outcome::failed(Cause::Transport(error)));
        self.apply(ctx, i, kind, step, now)
    }

    // ----- commands -----

    pub(crate) fn set_progress(&mut self, progress: Progress) {
        self.torrent.progress = progress;
    }

    pub(crate) fn completed(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.phase != Phase::Running || self.completed {
            return;
        }
        self.completed = true;
        for t in &mut self.trackers {
            let starting = matches!(
                t.announce.as_deref(),
                Some(Exchange {
                    kind: RequestKind::Announce(AnnounceEvent::Started),
                    ..
                })
            );
            t.completed_pending = t.started || starting;
        }
        self.announce_now(ctx, now);
    }

    pub(crate) fn announce_now(&mut self, ctx: &mut Ctx, now: Instant) -> Option<Instant> {
        if self.phase != Phase::Running {
            return None;
        }
        let now = ctx.advance(now);
        for lane in &mut self.lanes {
            if let LaneState::Idle { due } = &mut lane.state {
                *due = (*due).min(now);
            }
        }
        // An announce already waiting for a place moves ahead of the start-up backlog.
        for t in &mut self.trackers {
            if let Some(ex) = t.announce.as_deref_mut() {
                let ep = ctx.endpoints.endpoint(t.url);
                let place = match &mut ex.io {
                    Io::Udp(u) => &mut u.place,
                    Io::Http(h) => &mut h.place,
                };
                if let Place::Queued(ticket) = place {
                    *ticket = ep.window.promote(*ticket);
                }
            }
        }
        self.urgent = true;
        self.drive(ctx, now);
        self.urgent = false;
        self.next_announce(now)
    }

    /// When the next announce goes out: at once for a lane whose announce is in flight or waits
    /// for a place in its endpoint's window (its rate-ceiling slot when it waits for one), the
    /// due time of a waiting lane; `None` when no lane will announce again.
    fn next_announce(&self, now: Instant) -> Option<Instant> {
        if self.phase != Phase::Running {
            return None;
        }
        (0..self.lanes.len())
            .filter_map(|l| match self.lanes[l].state {
                LaneState::Idle { due } => Some(due),
                LaneState::Busy { .. } => Some(
                    self.trackers
                        .iter()
                        .filter_map(|t| t.announce.as_deref())
                        .find(|ex| ex.lane == Some(l))
                        .and_then(Exchange::paced_until)
                        .unwrap_or(now),
                ),
                LaneState::Dead => None,
            })
            .min()
    }

    pub(crate) fn scrape(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = ctx.advance(now);
        for i in 0..self.trackers.len() {
            let t = &self.trackers[i];
            if !t.disabled && t.scrape.is_none() {
                self.start_exchange(ctx, i, RequestKind::Scrape, None, now);
            }
        }
        self.drive(ctx, now);
    }

    /// Cancels what is in flight (giving back places in the endpoints' windows) and sends
    /// `stopped` to every tracker that was sent `started`, answered or not. The shutdown deadline
    /// is [`Config::stop_timeout`] after the last of those `stopped` is admitted (and its rate
    /// slot, with a ceiling, came).
    pub(crate) fn stop(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = ctx.advance(now);
        self.phase = Phase::Stopping {
            deadline: later(now, ctx.cfg.stop_timeout),
        };
        for lane in &mut self.lanes {
            lane.state = LaneState::Dead;
        }
        for i in 0..self.trackers.len() {
            for kind in SLOTS {
                // A cancelled announce hands its place in the window to the `stopped` below.
                let hand_over = kind != RequestKind::Scrape && self.trackers[i].owes_stopped();
                let t = &mut self.trackers[i];
                let Some(ex) = t.slot(kind).take() else {
                    continue;
                };
                if hand_over {
                    ctx.forget_for_stopped(t.url, &ex.io);
                } else {
                    ctx.forget(t.url, &ex.io);
                }
                self.fail_event(ctx, i, ex.current_id(), ex.kind, Cause::Cancelled);
            }
        }
        let mut last_slot = now;
        for i in 0..self.trackers.len() {
            if self.trackers[i].owes_stopped() {
                let stopped = RequestKind::Announce(AnnounceEvent::Stopped);
                self.start_exchange(ctx, i, stopped, None, now);
                if let Some(ex) = &self.trackers[i].announce {
                    last_slot = last_slot.max(ex.paced_until().unwrap_or(now));
                }
            }
        }
        for i in 0..self.trackers.len() {
            ctx.settle(self.trackers[i].url);
        }
        self.phase = Phase::Stopping {
            deadline: later(last_slot, ctx.cfg.stop_timeout),
        };
        self.drive(ctx, now);
    }

    // ----- drains -----

    pub(crate) fn poll_transmit(&mut self, ctx: &Ctx, buf: &mut [u8]) -> Option<Transmit> {
        if self.phase == Phase::Stopped {
            return None;
        }
        for (i, t) in self.trackers.iter_mut().enumerate() {
            let url = ctx.endpoints.url(t.url);
            let origin = Origin::Tracker {
                torrent: self.me,
                tracker: TrackerId(i as u16),
            };
            let mut sent = None;
            let owed = t.started_sent;
            for ex in t.exchanges_mut() {
                let Io::Udp(udp) = &mut ex.io else { continue };
                let request = udp.request_pending();
                let params =
                    RequestParams::new(&ctx.cfg, &self.torrent, self.key, url, None, ex.kind);
                if let Some(len) = udp.write(buf, &params) {
                    let transmit = Transmit {
                        request: ex.id,
                        origin,
                        destination: url.socket_addr(),
                        len,
                    };
                    let started = request && ex.kind == STARTED;
                    ex.owes_from_here |= started && !owed;
                    sent = Some((transmit, started));
                    break;
                }
            }
            if let Some((transmit, started)) = sent {
                t.started_sent |= started;
                return Some(transmit);
            }
        }
        None
    }

    pub(crate) fn poll_http_request(&mut self) -> Option<HttpRequest> {
        if self.phase == Phase::Stopped {
            return None;
        }
        for (i, t) in self.trackers.iter_mut().enumerate() {
            let origin = Origin::Tracker {
                torrent: self.me,
                tracker: TrackerId(i as u16),
            };
            let mut out = None;
            let owed = t.started_sent;
            for ex in t.exchanges_mut() {
                if let Io::Http(http) = &mut ex.io
                    && let Some(request) = http.request(origin, ex.kind)
                {
                    ex.owes_from_here |= request.kind == STARTED && !owed;
                    out = Some(request);
                    break;
                }
            }
            if let Some(request) = out {
                t.started_sent |= request.kind == STARTED;
                return Some(request);
            }
        }
        None
    }

    /// In one pass: [`poll_timeout`](Self::poll_timeout), and whether a datagram and an HTTP
    /// request wait to be drained.
    pub(crate) fn status(&self) -> (Option<Instant>, bool, bool) {
        let (mut due, mut udp, mut http) = (None, false, false);
        let mut earliest = |at: Instant| due = Some(due.map_or(at, |d: Instant| d.min(at)));
        match self.phase {
            Phase::Stopped => return (None, false, false),
            // While a `stopped` waits for a place, the deadline waits too (it is moved when the
            // place comes).
            Phase::Stopping { deadline } if !self.stopped_queued() => earliest(deadline),
            Phase::Stopping { .. } => {}
            Phase::Running => {
                for lane in &self.lanes {
                    if let LaneState::Idle { due } = lane.state {
                        earliest(due);
                    }
                }
            }
        }
        for ex in self.trackers.iter().flat_map(Tracker::exchanges) {
            if let Some(at) = ex.due() {
                earliest(at);
            }
            match &ex.io {
                Io::Udp(u) => udp |= u.pending,
                Io::Http(h) => http |= h.pending,
            }
        }
        (due, udp, http)
    }

    /// The tracker of a request in flight.
    pub(crate) fn tracker_of(&self, request: RequestId) -> Option<TrackerId> {
        self.find(|_, ex| ex.current_id() == request)
            .map(|(i, _)| TrackerId(i as u16))
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.status().0
    }

    // ----- getters -----

    pub(crate) fn tracker_url<'c>(
        &self,
        ctx: &'c Ctx,
        tracker: TrackerId,
    ) -> Option<&'c TrackerUrl> {
        let t = self.trackers.get(usize::from(tracker.0))?;
        Some(ctx.endpoints.url(t.url))
    }

    /// The trackers a scrape may go to now (the session runs, the tracker is not disabled), with
    /// their URL indices.
    pub(crate) fn scrapable(&self) -> impl Iterator<Item = (TrackerId, u32)> + '_ {
        let running = self.phase == Phase::Running;
        self.trackers
            .iter()
            .enumerate()
            .filter(move |(_, t)| running && !t.disabled)
            .map(|(i, t)| (TrackerId(i as u16), t.url))
    }

    pub(crate) fn info_hash(&self) -> crate::InfoHash {
        self.torrent.info_hash
    }

    pub(crate) fn tiers(&self) -> impl Iterator<Item = Vec<TrackerId>> + '_ {
        self.tiers
            .iter()
            .map(|tier| tier.iter().map(|&i| TrackerId(i as u16)).collect())
    }

    /// A scrape of this torrent on tracker `id` was answered (by its own scrape, or a
    /// `Client`'s batch).
    pub(crate) fn record_scrape(&mut self, id: TrackerId, now: Instant, row: ScrapeCounts) {
        if let Some(t) = self.trackers.get_mut(usize::from(id.0)) {
            t.record
                .scraped(now, row.seeders, row.leechers, row.completed);
        }
    }

    /// A `Client`'s batched scrape found tracker `id` gone (410, `retry in: never`): it is
    /// disabled as if this torrent's own request had been told so.
    pub(crate) fn disable(&mut self, ctx: &mut Ctx, id: TrackerId) {
        if let Some(t) = self.trackers.get_mut(usize::from(id.0))
            && !t.disabled
        {
            t.disabled = true;
            ctx.push_event(self.me, Event::TrackerDisabled { tracker: id });
        }
    }

    /// Every tracker's status, in tier order.
    pub(crate) fn statuses<'a>(&'a self, ctx: &'a Ctx) -> impl Iterator<Item = TrackerStatus<'a>> {
        self.tiers
            .iter()
            .flatten()
            .map(move |&i| self.tracker_status(ctx, i))
    }

    fn tracker_status<'a>(&'a self, ctx: &'a Ctx, i: usize) -> TrackerStatus<'a> {
        let t = &self.trackers[i];
        let r = &t.record;
        let state = if t.disabled {
            TrackerState::Disabled
        } else if t.announce.is_some() && self.phase != Phase::Stopped {
            TrackerState::Updating
        } else if r.failures > 0 {
            TrackerState::NotWorking
        } else if r.last_announce.is_some() {
            TrackerState::Working
        } else {
            TrackerState::NotContacted
        };
        TrackerStatus {
            id: TrackerId(i as u16),
            url: ctx.endpoints.url(t.url),
            tier: t.tier,
            state,
            failures: r.failures,
            last_error: r.last_error(),
            message: r.message(),
            last_announce: r.last_announce,
            next_announce: self.next_announce_of(i),
            min_announce: t.min_next,
            peers: r.peers,
            counts: r.counts,
            has_tracker_id: t.tracker_id.is_some(),
        }
    }

    /// When tracker `i` is announced to next: its lane's due time, if the lane's walk will pick it
    /// then.
    fn next_announce_of(&self, i: usize) -> Option<Instant> {
        let t = &self.trackers[i];
        if self.phase != Phase::Running || t.disabled || t.announce.is_some() {
            return None;
        }
        self.lanes.iter().find_map(|lane| {
            let LaneState::Idle { due } = lane.state else {
                return None;
            };
            if !walk(&lane.members, &self.tiers).any(|j| j == i) {
                return None;
            }
            let first = walk(&lane.members, &self.tiers).find(|&j| self.trackers[j].available(due));
            (first == Some(i)).then_some(due)
        })
    }

    pub(crate) fn key(&self) -> u32 {
        self.key
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    // ----- internals -----

    /// The tracker and slot of the exchange in flight that `pred` picks.
    fn find(&self, pred: impl Fn(&Tracker, &Exchange) -> bool) -> Option<(usize, RequestKind)> {
        self.trackers
            .iter()
            .enumerate()
            .find_map(|(i, t)| t.exchanges().find(|ex| pred(t, ex)).map(|ex| (i, ex.kind)))
    }

    /// Puts an exchange in its slot and records its routes.
    fn put(&mut self, ctx: &mut Ctx, i: usize, ex: Exchange) {
        if let Io::Udp(u) = &ex.io {
            ctx.txids.insert(u.txid, self.me);
        }
        let kind = ex.kind;
        *self.trackers[i].slot(kind) = Some(Box::new(ex));
    }

    /// Takes an exchange out of its slot and forgets its routes (see [`Ctx::forget`]).
    fn take(&mut self, ctx: &mut Ctx, i: usize, kind: RequestKind) -> Option<Box<Exchange>> {
        let ex = self.trackers[i].slot(kind).take()?;
        ctx.forget(self.trackers[i].url, &ex.io);
        Some(ex)
    }

    /// Gives fresh transaction ids to UDP exchanges that started a new request.
    fn refresh_txids(&mut self, ctx: &mut Ctx) {
        for t in &mut self.trackers {
            for ex in t.exchanges_mut() {
                if let Io::Udp(u) = &mut ex.io {
                    ctx.refresh_txid(u, self.me);
                }
            }
        }
    }

    fn fail_event(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        id: RequestId,
        request: RequestKind,
        cause: Cause,
    ) {
        if let RequestKind::Announce(_) = request {
            self.trackers[i].record.failed(ctx.now, &cause);
        }
        let event = Event::Failed(Failed {
            id,
            tracker: TrackerId(i as u16),
            request,
            cause,
        });
        ctx.push_event(self.me, event);
    }

    /// Applies what a reply did to exchange `kind` of tracker `i`.
    fn apply(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        step: Step,
        now: Instant,
    ) -> bool {
        match step {
            Step::Ignored => return false,
            Step::Continue => {}
            Step::Done(outcome) => {
                if let Some(ex) = self.take(ctx, i, kind) {
                    self.finish(ctx, i, *ex, outcome, now);
                }
            }
        }
        self.drive(ctx, now);
        true
    }

    /// Starts an exchange with tracker `i` (its slot must be free).
    fn start_exchange(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        lane: Option<usize>,
        now: Instant,
    ) {
        let id = ctx.request_id(self.me);
        // `stopped`, `completed` and what the user asked for now go ahead of a start-up backlog.
        let urgent = self.urgent || matches!(kind, STOPPED | COMPLETED);
        let t = &self.trackers[i];
        let (url, ep) = ctx.endpoints.split(t.url);
        let io = match url.scheme() {
            Scheme::Udp => {
                let txid = ctx.unique_txid();
                let ep = ctx.endpoints.endpoint(t.url);
                Io::Udp(UdpExchange::start(
                    now,
                    &ctx.cfg,
                    ep,
                    (self.me, id),
                    (kind, urgent),
                    txid,
                ))
            }
            Scheme::Http | Scheme::Https => {
                let tracker_id = t.tracker_id.as_deref();
                let params =
                    RequestParams::new(&ctx.cfg, &self.torrent, self.key, url, tracker_id, kind);
                let Some(http_url) = params.http_url() else {
                    self.fail_event(ctx, i, id, kind, Cause::ScrapeUnsupported);
                    return;
                };
                let internal_ok = ctx.cfg.allow_internal_redirects || is_internal_tracker(url);
                let timeout = if kind == STOPPED {
                    ctx.cfg.stop_timeout
                } else {
                    ctx.cfg.http_timeout
                };
                Io::Http(HttpExchange::start(
                    id,
                    http_url,
                    (now, &ctx.cfg, ep, &mut ctx.http_all),
                    (urgent, self.me),
                    timeout,
                    internal_ok,
                ))
            }
        };
        let owes_from_here = false;
        self.put(
            ctx,
            i,
            Exchange {
                id,
                kind,
                lane,
                io,
                owes_from_here,
            },
        );
    }

    /// Fires every timer due at `now`, then starts the rounds that are due.
    pub(crate) fn drive(&mut self, ctx: &mut Ctx, now: Instant) {
        let now = ctx.advance(now);
        if let Phase::Stopping { deadline } = self.phase
            && now >= deadline
            && !self.stopped_queued()
        {
            for i in 0..self.trackers.len() {
                if let Some(ex) = self.take(ctx, i, RequestKind::Announce(AnnounceEvent::Regular)) {
                    self.fail_event(ctx, i, ex.current_id(), ex.kind, Cause::Timeout);
                }
            }
        }
        for i in 0..self.trackers.len() {
            for kind in SLOTS {
                let t = &mut self.trackers[i];
                let url = t.url;
                let Some(ex) = t.slot(kind).as_deref_mut() else {
                    continue;
                };
                let ep = ctx.endpoints.endpoint(url);
                let was_queued = ex.io.queued();
                let outcome = match &mut ex.io {
                    Io::Udp(udp) => {
                        udp.check_window(now, &ctx.cfg, ep);
                        udp.poke(now, &ctx.cfg, ep);
                        udp.on_timer(now, &ctx.cfg, ep)
                    }
                    Io::Http(http) => http.on_timer(now, &ctx.cfg, ep, &mut ctx.http_all),
                };
                if was_queued
                    && !ex.io.queued()
                    && ex.kind == STOPPED
                    && let Phase::Stopping { deadline } = &mut self.phase
                {
                    // Admitted now: the `stopped` gets its whole stop_timeout from its slot.
                    let slot = ex.paced_until().unwrap_or(now);
                    *deadline = (*deadline).max(later(slot, ctx.cfg.stop_timeout));
                }
                if let Some(outcome) = outcome
                    && let Some(ex) = self.take(ctx, i, kind)
                {
                    self.finish(ctx, i, *ex, outcome, now);
                }
            }
        }
        self.refresh_txids(ctx);
        if self.phase == Phase::Running {
            for l in 0..self.lanes.len() {
                if matches!(self.lanes[l].state, LaneState::Idle { due } if due <= now) {
                    self.walk_lane(ctx, l, 0, now);
                }
            }
        }
        self.finish_stop_if_done(ctx);
    }

    /// A `stopped` still waits for a place in its endpoint's window.
    fn stopped_queued(&self) -> bool {
        self.trackers
            .iter()
            .filter_map(|t| t.announce.as_deref())
            .any(|ex| ex.kind == STOPPED && ex.io.queued())
    }

    fn finish_stop_if_done(&mut self, ctx: &mut Ctx) {
        if let Phase::Stopping { .. } = self.phase
            && self.trackers.iter().all(|t| t.announce.is_none())
        {
            self.phase = Phase::Stopped;
            for i in 0..self.trackers.len() {
                self.take(ctx, i, RequestKind::Scrape);
            }
            ctx.push_event(self.me, Event::Stopped);
        }
    }

    /// Continues lane `l`'s round at position `from` of its walk: the first available tracker gets
    /// the announce; when none is left the round failed and the lane backs off.
    fn walk_lane(&mut self, ctx: &mut Ctx, l: usize, from: usize, now: Instant) {
        let members = self.lanes[l].members.clone();
        let next = walk(&members, &self.tiers)
            .enumerate()
            .skip(from)
            .find(|&(_, i)| self.trackers[i].available(now));
        if let Some((pos, i)) = next {
            let t = &self.trackers[i];
            let event = t.next_event();
            if let Some(not_before) = t.min_next.filter(|&m| m > now)
                && event == AnnounceEvent::Regular
            {
                self.lanes[l].state = LaneState::Idle { due: not_before };
                return;
            }
            self.start_exchange(ctx, i, RequestKind::Announce(event), Some(l), now);
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
        if from == 0 {
            // Nothing was tried: every tracker is cooling down (`retry in`). That is no failed
            // round, so it adds no backoff; the lane waits for the first one to come free.
            self.lanes[l].state = LaneState::Idle { due: first_free };
            return;
        }
        let lane = &mut self.lanes[l];
        lane.failures = lane.failures.saturating_add(1);
        let due = later(now, backoff(&ctx.cfg, lane.failures, &mut ctx.rng)).max(first_free);
        self.lanes[l].state = LaneState::Idle { due };
    }

    /// Applies the end of an exchange: event state, cool-downs, the event, and the lane's next step.
    fn finish(&mut self, ctx: &mut Ctx, i: usize, ex: Exchange, outcome: Outcome, now: Instant) {
        let id = TrackerId(i as u16);
        match outcome {
            Outcome::Announced(reply) => {
                let (interval, min_interval) =
                    intervals(&ctx.cfg, reply.interval, reply.min_interval);
                let t = &mut self.trackers[i];
                let event = match ex.kind {
                    RequestKind::Announce(e) => e,
                    RequestKind::Scrape => AnnounceEvent::Regular,
                };
                match event {
                    AnnounceEvent::Started => t.started = true,
                    AnnounceEvent::Completed => t.completed_pending = false,
                    AnnounceEvent::Stopped => {
                        t.started = false;
                        t.started_sent = false;
                    }
                    _ => {}
                }
                if let Some(tid) = reply.tracker_id {
                    t.tracker_id = Some(tid.into_boxed_slice());
                }
                t.retry_after = None;
                t.min_next = Some(later(now, min_interval));
                let owes_event = t.next_event() != AnnounceEvent::Regular;
                let tier = t.tier;
                let mut peers = reply.peers;
                let url = ctx.endpoints.url(t.url);
                drop_self(&mut peers, self.torrent.port, url, reply.external_ip);
                let warning = reply.warning.as_deref();
                t.record
                    .announced(now, peers.len(), reply.seeders, reply.leechers, warning);
                let event = Event::Announced(Announced {
                    id: ex.current_id(),
                    tracker: id,
                    event,
                    peers,
                    interval,
                    min_interval,
                    seeders: reply.seeders,
                    leechers: reply.leechers,
                    warning: reply.warning,
                    external_ip: reply.external_ip,
                });
                ctx.push_event(self.me, event);
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
            Outcome::Scraped(rows) => {
                let row = rows.first().copied().unwrap_or_default();
                self.record_scrape(id, now, row);
                ctx.push_event(self.me, scraped_event(ex.current_id(), id, row));
            }
            Outcome::Failed { cause, retry } => {
                let t = &mut self.trackers[i];
                // Disabled once: an announce and a scrape both answered 410 give one event.
                let disables = retry == Retry::Never && !t.disabled;
                match retry {
                    Retry::Backoff => {}
                    Retry::After(d) => t.retry_after = Some(later(now, d)),
                    Retry::Never => t.disabled = true,
                }
                self.fail_event(ctx, i, ex.current_id(), ex.kind, cause);
                if disables {
                    ctx.push_event(self.me, Event::TrackerDisabled { tracker: id });
                }
                if let (Some(l), Phase::Running) = (ex.lane, self.phase)
                    && let LaneState::Busy { pos } = self.lanes[l].state
                {
                    self.walk_lane(ctx, l, pos + 1, now);
                }
            }
        }
    }
}

/// The event for one torrent's row of a scrape reply.
pub(crate) fn scraped_event(id: RequestId, tracker: TrackerId, row: ScrapeCounts) -> Event {
    Event::Scraped(Scraped {
        id,
        tracker,
        seeders: row.seeders,
        completed: row.completed,
        leechers: row.leechers,
    })
}
