//! The driving of a session's exchanges: starting them (after their host name resolves), firing
//! their timers, walking a lane's trackers, and applying an exchange's end to the session.

use std::time::Instant;

use super::ctx::Ctx;
use super::dns::{Addrs, Lookup};
use super::event::{Announced, Cause, Event, RequestId, RequestKind, TrackerId};
use super::http_exchange::HttpExchange;
use super::outcome::{Outcome, Retry, drop_self};
use super::places::Place;
use super::policy::is_internal_tracker;
use super::schedule::{backoff, intervals, later};
use super::session::{Phase, STOPPED, Session, scraped_event};
use super::tracker::{Exchange, Io, LaneState, Queued, SLOTS, walk};
use super::udp_exchange::{UdpExchange, UdpPhase};
use super::wire::RequestParams;
use crate::http::scrape_tracker_url;
use crate::{AnnounceEvent, Scheme};

const COMPLETED: RequestKind = RequestKind::Announce(AnnounceEvent::Completed);

impl Session {
    /// [`start_exchange`](Self::start_exchange) outside a lane's walk (per-tracker commands, edits,
    /// scheduled scrapes, `stopped`): a request whose name is known not to resolve ends at once
    /// with its `Failed` event.
    pub(super) fn start_or_fail(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        now: Instant,
    ) {
        if let Some((id, cause)) = self.start_exchange(ctx, i, kind, None, now) {
            self.fail_event(ctx, i, id, kind, cause);
        }
    }

    /// Starts an exchange with tracker `i` (its slot must be free): at once when the tracker's
    /// addresses are known, after its host name resolves otherwise. A name known not to resolve
    /// starts nothing: the request's id and cause are returned for the caller to report (a lane
    /// walks on to its next tracker without recursing).
    #[must_use = "a request that could not start must be reported with fail_event"]
    pub(super) fn start_exchange(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        lane: Option<usize>,
        now: Instant,
    ) -> Option<(RequestId, Cause)> {
        let id = ctx.request_id(self.me);
        let url = ctx.endpoints.url(self.trackers[i].url);
        if kind == RequestKind::Scrape
            && url.scheme() != Scheme::Udp
            && scrape_tracker_url(url).is_none()
        {
            self.fail_event(ctx, i, id, kind, Cause::ScrapeUnsupported);
            return None;
        }
        let family = self.trackers[i].family;
        let lookup = ctx
            .dns
            .addresses(&ctx.cfg.dns, url, self.me, now, false, family);
        let io = match lookup {
            Lookup::Ready(addrs) => self.open_io(ctx, i, kind, id, addrs, now),
            Lookup::Wait(deadline) => Io::Resolving(deadline),
            Lookup::Failed(f) => {
                let hold = ctx.dns.hold(url, f, now);
                if hold.is_some() {
                    self.trackers[i].set_retry_after(hold);
                }
                return Some((id, Cause::Dns(f)));
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
        None
    }

    /// The transport state of a new exchange with tracker `i` at `addrs`: it asks its endpoint's
    /// window for a place, and is built when admitted (at once, or by
    /// [`take_place`](Self::take_place) once a drain admits it).
    fn open_io(
        &self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        id: RequestId,
        addrs: Addrs,
        now: Instant,
    ) -> Io {
        // `stopped`, `completed` and what the user asked for now go ahead of a start-up backlog.
        let urgent = self.urgent || matches!(kind, STOPPED | COMPLETED);
        let url = self.trackers[i].url;
        let udp = ctx.endpoints.url(url).scheme() == Scheme::Udp;
        let txid = udp.then(|| ctx.unique_txid());
        let ep = ctx.endpoints.endpoint(url);
        let phase = txid.map(|t| (t, UdpExchange::first_phase(now, ep, &addrs)));
        let queued = match (ep.window.admit(&ctx.cfg, udp, self.me, urgent), phase) {
            (Place::Queued(ticket), _) => ticket,
            // Admitted at once (the steady state): built here, with the endpoint in hand.
            (Place::Admitted, Some((txid, phase))) => {
                let place = (txid, phase, Place::Admitted);
                let cx = (&ctx.cfg, ep);
                let udp = UdpExchange::with_place(now, cx, (self.me, id), kind, place, addrs);
                return Io::Udp(ctx.boxed_udp(udp));
            }
            (Place::Admitted, None) => {
                let q = (urgent, None, addrs);
                return self.admitted_io(ctx, i, (kind, id), q, now);
            }
        };
        Io::Queued(Queued {
            ticket: queued,
            urgent,
            udp: phase,
            addrs,
        })
    }

    /// The transport state of an exchange with tracker `i` its endpoint's window admitted.
    fn admitted_io(
        &self,
        ctx: &mut Ctx,
        i: usize,
        (kind, id): (RequestKind, RequestId),
        (urgent, udp, addrs): (bool, Option<(u32, UdpPhase)>, Addrs),
        now: Instant,
    ) -> Io {
        let t = &self.trackers[i];
        if let Some((txid, phase)) = udp {
            let ep = ctx.endpoints.endpoint(t.url);
            let place = (txid, phase, Place::Admitted);
            let cx = (&ctx.cfg, ep);
            let udp = UdpExchange::with_place(now, cx, (self.me, id), kind, place, addrs);
            return Io::Udp(ctx.boxed_udp(udp));
        }
        let (url, ep) = ctx.endpoints.split(t.url);
        let tracker_id = t.tracker_id();
        let params = RequestParams::new(&ctx.cfg, &self.torrent, self.key, url, tracker_id, kind)
            .tuned(&self.opts);
        // Checked by `start_exchange` for scrapes; announce URLs were checked by `new`.
        let http_url = params.http_url().unwrap_or_else(|| url.clone());
        let internal_ok = ctx.cfg.allow_internal_redirects || is_internal_tracker(url);
        let timeout = if kind == STOPPED {
            ctx.cfg.stop_timeout
        } else {
            ctx.cfg.http_timeout
        };
        let mut http = HttpExchange::with_place(
            id,
            http_url,
            (now, &ctx.cfg, ep, &mut ctx.http_all),
            (urgent, self.me, Place::Admitted),
            timeout,
            internal_ok,
            addrs,
        );
        http.family = t.family;
        Io::Http(Box::new(http))
    }

    /// A queued exchange of tracker `i` a drain admitted is built now (its request URL made
    /// from the torrent's state now). Returns whether it was.
    fn take_place(&mut self, ctx: &mut Ctx, i: usize, slot: RequestKind, now: Instant) -> bool {
        let url = self.trackers[i].url;
        let Some(ex) = self.trackers[i].slot(slot).as_deref_mut() else {
            return false;
        };
        let Io::Queued(q) = &ex.io else {
            return false;
        };
        if !ctx.endpoints.endpoint(url).window.admitted(q.ticket) {
            return false;
        }
        // `slot` names the slot; the exchange's own kind is the event it announces.
        let (id, request) = (ex.id, ex.kind);
        let Io::Queued(q) = std::mem::replace(&mut ex.io, Io::Resolving(now)) else {
            return false;
        };
        let io = self.admitted_io(ctx, i, (request, id), (q.urgent, q.udp, q.addrs), now);
        if let Some(ex) = self.trackers[i].slot(slot).as_deref_mut() {
            ex.io = io;
        }
        true
    }

    /// An exchange of tracker `i` waiting for a host name: the name resolved (the exchange
    /// starts), failed, or is still awaited. Returns the outcome that ends the exchange.
    fn resolve(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        now: Instant,
    ) -> Option<Outcome> {
        let url_ix = self.trackers[i].url;
        let family = self.trackers[i].family;
        let ex = self.trackers[i].slot(kind).as_deref_mut()?;
        let lookup = match &mut ex.io {
            Io::Resolving(_) => {
                let url = ctx.endpoints.url(url_ix);
                ctx.dns
                    .addresses(&ctx.cfg.dns, url, self.me, now, false, family)
            }
            Io::Http(h) => {
                return h.resolve_hop(&mut ctx.dns, &ctx.cfg.dns, (self.me, family), now);
            }
            _ => return None,
        };
        match lookup {
            Lookup::Ready(addrs) => {
                let (id, kind) = (ex.id, ex.kind);
                let io = self.open_io(ctx, i, kind, id, addrs, now);
                if let Some(txid) = io.txid() {
                    ctx.txids.insert(txid, self.me);
                }
                if let Some(ex) = self.trackers[i].slot(kind).as_deref_mut() {
                    ex.io = io;
                }
                None
            }
            Lookup::Wait(deadline) => {
                ex.io = Io::Resolving(deadline);
                None
            }
            Lookup::Failed(f) => {
                let hold = ctx.dns.hold(ctx.endpoints.url(url_ix), f, now);
                Some(Outcome::dns_failed(f, hold, now))
            }
        }
    }

    /// The timer of an HTTP exchange (after its hop may have resolved).
    fn http_timer(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        kind: RequestKind,
        now: Instant,
    ) -> Option<Outcome> {
        let url = self.trackers[i].url;
        match &mut self.trackers[i].slot(kind).as_deref_mut()?.io {
            Io::Http(http) => {
                let ep = ctx.endpoints.endpoint(url);
                http.on_timer(now, &ctx.cfg, ep, &mut ctx.http_all)
            }
            _ => None,
        }
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
            let t = &self.trackers[i];
            if t.announce.is_none() && t.scrape.is_none() {
                continue; // idle (most trackers, most of the time)
            }
            for kind in SLOTS {
                let Some(was_queued) = self.trackers[i]
                    .slot(kind)
                    .as_deref()
                    .map(|ex| ex.io.queued())
                else {
                    continue;
                };
                // Admitted by a drain since: built now, and it has seen its window this turn.
                let built = self.take_place(ctx, i, kind, now);
                let t = &mut self.trackers[i];
                let url = t.url;
                let Some(ex) = t.slot(kind).as_deref_mut() else {
                    continue;
                };
                let ep = ctx.endpoints.endpoint(url);
                let outcome = match &mut ex.io {
                    Io::Resolving(_) => self.resolve(ctx, i, kind, now),
                    Io::Queued(_) => None,
                    Io::Udp(udp) => {
                        if !built {
                            udp.check_window(now, &ctx.cfg, ep);
                        }
                        udp.poke(now, &ctx.cfg, ep);
                        udp.on_timer(now, &ctx.cfg, ep)
                    }
                    Io::Http(http) if http.resolving => self
                        .resolve(ctx, i, kind, now)
                        .or_else(|| self.http_timer(ctx, i, kind, now)),
                    Io::Http(_) if built => None,
                    Io::Http(http) => http.on_timer(now, &ctx.cfg, ep, &mut ctx.http_all),
                };
                if was_queued
                    && let Some(ex) = self.trackers[i].slot(kind).as_deref()
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
                    self.finish(ctx, i, &ex, outcome, now);
                    ctx.recycle(ex);
                }
            }
        }
        self.refresh_txids(ctx);
        if self.phase == Phase::Running {
            self.start_forced(ctx, now);
            self.start_due_scrapes(ctx, now);
            for l in 0..self.lanes.len() {
                if matches!(self.lanes[l].state, LaneState::Idle { due } if due <= now) {
                    self.walk_lane(ctx, l, 0, now);
                }
            }
        }
        self.finish_stop_if_done(ctx);
    }

    pub(super) fn finish_stop_if_done(&mut self, ctx: &mut Ctx) {
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
    pub(super) fn walk_lane(&mut self, ctx: &mut Ctx, l: usize, mut from: usize, now: Instant) {
        let members = self.lanes[l].members.clone();
        // A loop, not recursion: trackers whose name is known not to resolve fail at once, and
        // a lane may hold thousands of them.
        loop {
            let mut next = None;
            for (pos, i) in walk(&members, &self.tiers).enumerate().skip(from) {
                if self.trackers[i].available(now) || self.adoptable(i, now) {
                    next = Some((pos, i));
                    break;
                }
            }
            let Some((pos, i)) = next else { break };
            if self.adopt(i, l) {
                self.lanes[l].state = LaneState::Busy { pos };
                return;
            }
            let t = &self.trackers[i];
            let event = t.next_event();
            if let Some(not_before) = t.min_next.filter(|&m| m > now)
                && event == AnnounceEvent::Regular
            {
                self.lanes[l].state = LaneState::Idle { due: not_before };
                return;
            }
            self.lanes[l].state = LaneState::Busy { pos };
            let kind = RequestKind::Announce(event);
            match self.start_exchange(ctx, i, kind, Some(l), now) {
                None => return,
                Some((id, cause)) => {
                    self.fail_event(ctx, i, id, kind, cause);
                    from = pos + 1;
                }
            }
        }
        // The round failed. When every tracker that is not disabled asked for a pause, wait at
        // least until the first of them may be contacted; with none left, the lane is dead.
        let first_free = walk(&members, &self.tiers)
            .filter(|&i| !self.trackers[i].disabled && !self.trackers[i].removed)
            .map(|i| self.trackers[i].retry_after().unwrap_or(now))
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
    pub(super) fn finish(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        ex: &Exchange,
        outcome: Outcome,
        now: Instant,
    ) {
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
                    t.set_tracker_id(tid.into_boxed_slice());
                }
                t.set_retry_after(None);
                t.set_forced(None); // an answer satisfies a pending `announce_tracker`
                t.min_next = Some(later(now, min_interval));
                let owes_event = t.next_event() != AnnounceEvent::Regular;
                let tier = t.tier;
                let mut peers = reply.peers;
                let url = ctx.endpoints.url(t.url);
                drop_self(&mut peers, self.torrent.port, url, reply.external_ip);
                let warning = reply.warning.as_deref();
                t.record.announced(
                    now,
                    event,
                    peers.len(),
                    reply.seeders,
                    reply.leechers,
                    warning,
                );
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
                    if let Some(list) = self.tiers.get_mut(tier)
                        && let Some(pos) = list.iter().position(|&x| x == i)
                    {
                        list[..=pos].rotate_right(1);
                    }
                    let lane = &mut self.lanes[l];
                    lane.failures = 0;
                    let due = if owes_event {
                        now
                    } else {
                        later(now, interval)
                    };
                    lane.state = LaneState::Idle { due };
                } else if ex.kind != STOPPED {
                    self.answered_alone(i, owes_event, interval, now);
                }
            }
            Outcome::Scraped(rows) => {
                let row = rows.first().copied().unwrap_or_default();
                self.record_scrape(ctx, id, now, row);
                ctx.push_event(self.me, scraped_event(ex.current_id(), id, row));
            }
            Outcome::Failed { cause, retry } => {
                let t = &mut self.trackers[i];
                // Disabled once: an announce and a scrape both answered 410 give one event.
                let disables = retry == Retry::Never && !t.disabled;
                match retry {
                    Retry::Backoff => {}
                    Retry::After(d) => t.set_retry_after(Some(later(now, d))),
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
