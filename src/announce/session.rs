//! One torrent's announces: its trackers, tiers and lanes, driven through the shared [`Ctx`]. An
//! `Announce` is one session with a context of its own; a `Client` holds many sharing one.

use std::net::SocketAddr;
use std::time::Instant;

use rand_core::Rng;

use super::config::{Config, ConfigError, Progress, TierMode, Torrent, check_tracker};
use super::ctx::Ctx;
use super::dns::Families;
use super::event::{
    Cause, Event, Failed, HttpRequest, Origin, RequestId, RequestKind, Scraped, TorrentId,
    TrackerId, Transmit, TransportError,
};
use super::outcome::{Outcome, ScrapeCounts, Step};
use super::places::Place;
use super::schedule::later;
use super::tracker::{Exchange, Io, Lane, LaneState, Members, SLOTS, Tracker};
use super::wire::{RequestParams, WireOpts};
use crate::http::HttpResponse;
use crate::udp::{Reply, peek_transaction_id};
use crate::{AddressFamily, AnnounceEvent, TrackerUrl};

const STARTED: RequestKind = RequestKind::Announce(AnnounceEvent::Started);
pub(super) const STOPPED: RequestKind = RequestKind::Announce(AnnounceEvent::Stopped);

/// One torrent's state.
#[derive(Debug)]
pub(crate) struct Session {
    pub(super) me: TorrentId,
    pub(crate) torrent: Torrent,
    pub(super) key: u32,
    pub(super) trackers: Vec<Tracker>,
    /// Tracker indices per tier, in the current order (shuffled once, then move-to-front).
    pub(super) tiers: Vec<Vec<usize>>,
    pub(super) lanes: Vec<Lane>,
    completed: bool,
    pub(super) phase: Phase,
    /// [`pause`](Self::pause) was called and not undone by [`resume`](Self::resume): no lane
    /// announces.
    pub(crate) paused: bool,
    /// What the caller changed since construction (`numwant`, BEP 21 partial seed).
    pub(crate) opts: WireOpts,
    /// The announces started now were asked for by the user (`announce_now`, `completed`): they
    /// go ahead of a start-up backlog in their endpoints' queues.
    pub(super) urgent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
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
        // One pass per family announced over separately (BEP 7 dual-stack: IPv4, then IPv6, each
        // family's trackers in tiers and lanes of their own); one pass otherwise.
        let families = ctx.cfg.families;
        let passes: &[Option<AddressFamily>] = match families {
            Families::Both => &[Some(AddressFamily::V4), Some(AddressFamily::V6)],
            _ => families.split(None),
        };
        let mut groups = Vec::with_capacity(passes.len());
        for &family in passes {
            let first = tier_lists.len();
            for tier in &tiers {
                let mut list = Vec::with_capacity(tier.len());
                for url in tier {
                    let literal = url.socket_addr().map(|a| AddressFamily::of(&a));
                    if !families.split(literal).contains(&family) {
                        continue;
                    }
                    list.push(trackers.len());
                    let mut tracker =
                        Tracker::new(ctx.endpoints.intern(url.clone()), tier_lists.len());
                    tracker.family = family;
                    trackers.push(tracker);
                }
                // Dual-stack keeps a family's empty tier (an IP literal of the other family), so
                // tier k of each family's group is tier k of the list (edits rely on it).
                if list.is_empty() && families != Families::Both {
                    continue;
                }
                for i in (1..list.len()).rev() {
                    let j = (ctx.rng.next_u64() % (i as u64 + 1)) as usize;
                    list.swap(i, j);
                }
                tier_lists.push(list);
            }
            groups.push(first..tier_lists.len());
        }
        drop(tiers);
        // Pushed one by one: give back the growth slack (a tracker record is 168 bytes).
        trackers.shrink_to_fit();
        let key = torrent.key.unwrap_or_else(|| ctx.rng.next_u32());
        let idle = LaneState::Idle { due: now };
        let lane = |members| Lane {
            members,
            state: idle,
            failures: 0,
        };
        let mut lanes: Vec<Lane> = match ctx.cfg.tier_mode {
            TierMode::OneTracker => groups
                .into_iter()
                .filter(|g| !g.is_empty())
                .map(|g| lane(Members::Tiers(g)))
                .collect(),
            TierMode::AllTiers => (0..tier_lists.len())
                .map(|t| lane(Members::Tiers(t..t + 1)))
                .collect(),
            TierMode::AllTrackers => (0..trackers.len()).map(|i| lane(Members::One(i))).collect(),
        };
        // Collected through a filter: give back the slack (one lane is the common case).
        lanes.shrink_to_fit();
        let mut session = Session {
            me,
            torrent,
            key,
            trackers,
            tiers: tier_lists,
            lanes,
            completed: false,
            phase: Phase::Running,
            paused: false,
            opts: WireOpts::default(),
            urgent: false,
        };
        session.schedule_scrapes(ctx, now);
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
        let Some((i, kind)) = self.find(|_, ex| match &ex.io {
            Io::Udp(u) => u.txid == txid && !u.needs_txid && u.sent_from(from),
            _ => false,
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
        error: TransportError,
    ) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        let Some((i, kind)) = self.find(|_, ex| ex.current_id() == id) else {
            return false;
        };
        let now = ctx.advance(now);
        // Refused by one of the tracker's addresses: the next one gets the request.
        let t = &mut self.trackers[i];
        let url = t.url;
        if fails_over(error)
            && let Some(ex) = t.slot(kind).as_deref_mut()
        {
            let moved = match &mut ex.io {
                Io::Udp(u) => {
                    let ep = ctx.endpoints.endpoint(url);
                    ep.abandon_connect(u.request(), &mut ctx.woken);
                    u.fail_over(now, &ctx.cfg, ep)
                }
                Io::Http(h) => {
                    let moved = h.fail_over();
                    if moved {
                        h.id = ctx.request_id(self.me);
                    }
                    moved
                }
                Io::Resolving(_) | Io::Queued(_) => false,
            };
            if moved {
                return self.apply(ctx, i, kind, Step::Continue, now);
            }
        }
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
                    // Waiting for its name: it asks for a place once resolved, as an urgent one
                    // when it is a `completed` (an `announce_now` gets no priority then).
                    Io::Resolving(_) => continue,
                    Io::Queued(q) => {
                        q.ticket = ep.window.promote(q.ticket);
                        continue;
                    }
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

    pub(crate) fn scrape(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let now = ctx.advance(now);
        for i in 0..self.trackers.len() {
            let t = &self.trackers[i];
            if !t.disabled && !t.removed && t.scrape.is_none() && !self.scrape_elsewhere(i) {
                self.start_or_fail(ctx, i, RequestKind::Scrape, now);
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
                // A `stopped` already in flight (after `pause` or a removal) is kept.
                let stopping = self.trackers[i]
                    .announce
                    .as_ref()
                    .is_some_and(|e| e.kind == STOPPED);
                if kind != RequestKind::Scrape && stopping {
                    continue;
                }
                // A cancelled announce hands its place in the window to the `stopped` below.
                let hand_over = kind != RequestKind::Scrape
                    && self.trackers[i].owes_stopped()
                    && !self.trackers[i].removed;
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
            let t = &self.trackers[i];
            if t.owes_stopped() && !t.removed && t.announce.is_none() {
                self.start_or_fail(ctx, i, STOPPED, now);
            }
            if let Some(ex) = &self.trackers[i].announce {
                last_slot = last_slot.max(ex.paced_until().unwrap_or(now));
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
                    RequestParams::new(&ctx.cfg, &self.torrent, self.key, url, None, ex.kind)
                        .tuned(&self.opts);
                if let Some(len) = udp.write(buf, &params) {
                    let transmit = Transmit {
                        request: ex.id,
                        origin,
                        destination: udp.destination(),
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

    /// The tracker of a request in flight.
    pub(crate) fn tracker_of(&self, request: RequestId) -> Option<TrackerId> {
        self.find(|_, ex| ex.current_id() == request)
            .map(|(i, _)| TrackerId(i as u16))
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
            .filter(move |&(i, t)| {
                running && !t.disabled && !t.removed && !self.scrape_elsewhere(i)
            })
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
    pub(crate) fn record_scrape(
        &mut self,
        ctx: &Ctx,
        id: TrackerId,
        now: Instant,
        row: ScrapeCounts,
    ) {
        if let Some(t) = self.trackers.get_mut(usize::from(id.0))
            && !t.removed
        {
            t.record
                .scraped(now, row.seeders, row.leechers, row.completed);
            self.scraped(ctx, usize::from(id.0), now, row);
        }
    }

    /// A `Client`'s batched scrape found tracker `id` gone (410, `retry in: never`): it is
    /// disabled as if this torrent's own request had been told so.
    pub(crate) fn disable(&mut self, ctx: &mut Ctx, id: TrackerId) {
        if let Some(t) = self.trackers.get_mut(usize::from(id.0))
            && !t.disabled
            && !t.removed
        {
            t.disabled = true;
            ctx.push_event(self.me, Event::TrackerDisabled { tracker: id });
        }
    }

    pub(crate) fn key(&self) -> u32 {
        self.key
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    // ----- internals -----

    /// Tracker `i` is the IPv6 side of a dual-stack tracker: its scrape goes out over the IPv4
    /// side (the counts are the tracker's, whatever the family).
    fn scrape_elsewhere(&self, i: usize) -> bool {
        let t = &self.trackers[i];
        t.family == Some(AddressFamily::V6)
            && self
                .trackers
                .iter()
                .any(|o| o.url == t.url && o.family == Some(AddressFamily::V4))
    }

    /// The tracker and slot of the exchange in flight that `pred` picks.
    fn find(&self, pred: impl Fn(&Tracker, &Exchange) -> bool) -> Option<(usize, RequestKind)> {
        self.trackers
            .iter()
            .enumerate()
            .find_map(|(i, t)| t.exchanges().find(|ex| pred(t, ex)).map(|ex| (i, ex.kind)))
    }

    /// Puts an exchange in its slot and records its routes.
    pub(super) fn put(&mut self, ctx: &mut Ctx, i: usize, ex: Exchange) {
        if let Some(txid) = ex.io.txid() {
            ctx.txids.insert(txid, self.me);
        }
        let kind = ex.kind;
        *self.trackers[i].slot(kind) = Some(ctx.boxed(ex));
    }

    /// Takes an exchange out of its slot and forgets its routes (see [`Ctx::forget`]).
    pub(super) fn take(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
    ) -> Option<Box<Exchange>> {
        let ex = self.trackers[i].slot(kind).take()?;
        ctx.forget(self.trackers[i].url, &ex.io);
        Some(ex)
    }

    /// Gives fresh transaction ids to UDP exchanges that started a new request.
    pub(super) fn refresh_txids(&mut self, ctx: &mut Ctx) {
        for t in &mut self.trackers {
            for slot in [&mut t.announce, &mut t.scrape] {
                if let Some(Exchange { io: Io::Udp(u), .. }) = slot.as_deref_mut() {
                    ctx.refresh_txid(u, self.me);
                }
            }
        }
    }

    pub(super) fn fail_event(
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
                    self.finish(ctx, i, &ex, outcome, now);
                    ctx.recycle(ex);
                }
            }
        }
        self.drive(ctx, now);
        true
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

/// A transport error on one of a tracker's addresses that the next address may not have: the
/// connection was refused (or ICMP port unreachable), or the address could not be reached.
pub(crate) fn fails_over(error: TransportError) -> bool {
    matches!(
        error,
        TransportError::ConnectionRefused | TransportError::Other
    )
}
